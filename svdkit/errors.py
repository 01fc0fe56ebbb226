"""One exception family for svdkit.

Every bad input ends here, with a message a person can act on: it names the
row, column, token, shape or file at fault. All of them are ``ValueError``
subclasses, so code that already catches ``ValueError`` keeps working.

Examples
--------
>>> import svdkit
>>> try:
...     svdkit.as_matrix("1 2; 3")
... except svdkit.SvdkitError as err:
...     print(type(err).__name__)
RaggedError
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ConvergenceError",
    "EmptyInputError",
    "FileFormatError",
    "MissingDependencyError",
    "MissingFileError",
    "MissingTensorError",
    "NonFiniteError",
    "NotPositiveDefiniteError",
    "ParseError",
    "RaggedError",
    "RankError",
    "ShapeError",
    "SingularMatrixError",
    "StructureError",
    "SvdkitError",
]
# (check_bool and require_instance are helpers for svdkit's own modules, not exported)


class SvdkitError(ValueError):
    """Base class of every error svdkit raises on purpose.

    ``param`` is the argument at fault, by its Python name (``"rank_tol"``), when the
    error is about one: the command line names its option (:mod:`svdkit._naming`).
    """

    param: str | None = None

    def __init__(self, *args: object, param: str | None = None) -> None:
        super().__init__(*args)
        if param is not None:
            self.param = param

    def with_message(self, message: str) -> SvdkitError:
        """This error again (its type and attributes: ``param``, ``result``, …) saying
        ``message``."""
        try:
            new = type(self)(message)
        except TypeError:  # (a subclass whose constructor takes more than a message)
            new = SvdkitError(message)
        new.__dict__.update(self.__dict__)
        return new


class ParseError(SvdkitError):
    """Text that is not a matrix: an unknown token, a misplaced bracket."""


class RaggedError(SvdkitError):
    """Rows of different lengths."""


class EmptyInputError(SvdkitError):
    """No entries at all (or a dimension of length zero)."""


class NonFiniteError(SvdkitError):
    """A NaN or an infinity among the entries."""


class ShapeError(SvdkitError):
    """Dimensions that do not suit the function (not square, not 2-D, mismatched)."""


class FileFormatError(SvdkitError):
    """A file whose content is not what its name says, or an unknown extension."""


class MissingFileError(SvdkitError, FileNotFoundError):
    """A file that does not exist (also a ``FileNotFoundError``).

    Its text is the message it was given, also where ``errno``, ``strerror`` and
    ``filename`` are set for code that reads them (an ``OSError`` would print
    ``[Errno 2] …`` instead).
    """

    def __str__(self) -> str:
        if len(self.args) == 1 and isinstance(self.args[0], str):
            return self.args[0]
        return super().__str__()


class MissingDependencyError(SvdkitError, ImportError):
    """An optional package that a feature needs and that is not installed (names the
    extra to install; also an ``ImportError``)."""


class MissingTensorError(SvdkitError):
    """A tensor that a checkpoint or an adapter should hold and does not (names it)."""


class StructureError(SvdkitError):
    """A matrix without the structure the function needs (e.g. not symmetric)."""


class SingularMatrixError(SvdkitError, np.linalg.LinAlgError):
    """A matrix that is singular (or numerically so) where an inverse is needed."""


class RankError(SvdkitError, np.linalg.LinAlgError):
    """A rectangular matrix without the full rank a one-sided inverse needs."""


class NotPositiveDefiniteError(SvdkitError, np.linalg.LinAlgError):
    """Cholesky factorisation of a matrix that is not positive (semi)definite.

    ``pivot`` is the 1-based step of the factorisation that failed, when known.
    """

    def __init__(
        self, message: str, pivot: int | None = None, *, param: str | None = None
    ) -> None:
        super().__init__(message, param=param)
        self.pivot = pivot


class ConvergenceError(SvdkitError, np.linalg.LinAlgError):
    """An iterative method that did not reach the requested accuracy."""


def require_instance(
    value: object, kind: type, name: str, maker: str, article: str = "a"
) -> None:
    """Raise :class:`SvdkitError` unless ``value`` is a ``kind``: the message names the
    argument ``name``, what makes a ``kind`` (``maker``) and the type it got
    (``article``: "a" or "an", as the class name is read).

    Examples
    --------
    >>> require_instance(None, int, "count", "len(x) gives one", "an")
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: count must be an int (len(x) gives one); got NoneType
    """
    if not isinstance(value, kind):
        raise SvdkitError(
            f"{name} must be {article} {kind.__name__} ({maker}); got {type(value).__name__}"
        )


def check_bool(value: object, name: str) -> bool:
    """``value`` as a ``bool`` when it is ``True`` or ``False`` (a NumPy bool too); any
    other value is refused with an :class:`SvdkitError` naming the argument ``name``.

    The one check of svdkit's on/off arguments. A string above all is refused:
    ``"False"`` or ``"no"``, read from a config file, an environment variable or
    ``argparse``, is truthy and would silently mean ``True``; ``0``, ``1`` and ``None``
    are refused too (``None`` is no "default" here).

    Examples
    --------
    >>> check_bool(np.bool_(True), "full")
    True
    >>> check_bool("False", "symmetrize")
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: symmetrize must be True or False; got 'False'
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = repr(value)
    shown = text if len(text) <= 60 else f"a {type(value).__name__}"
    raise SvdkitError(f"{name} must be True or False; got {shown}", param=name)
