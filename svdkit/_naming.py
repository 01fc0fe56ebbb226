"""How an error names an argument: as Python spells it, or as the command line does.

A validator builds its message with :func:`arg` (``rank_tol``) and :func:`kw`
(``method='lapack'``), or a template through :func:`spell` (``"raise {k} or use
{method:krylov}"``). Called from Python, they give the Python names; inside a
command of ``svdkit`` (:func:`speaks_flags`, which every command is wrapped in) they
give the option the user typed: ``--rank-tol``, ``--method krylov``, ``-k``. Names
are spelled where the message is built, never found again in a finished message:
``rank``, ``energy``, ``tol``, ``k`` and ``n`` are ordinary words too.

Examples
--------
>>> f"{arg('rank_tol')} must be in [1e-14, 1)", kw("method", "lapack")
('rank_tol must be in [1e-14, 1)', "method='lapack'")
>>> with spelled_as({"rank_tol": "--rank-tol", "method": "--method"}):
...     f"{arg('rank_tol')} must be in [1e-14, 1)", kw("method", "lapack")
('--rank-tol must be in [1e-14, 1)', '--method lapack')
>>> spell("raise {k} or use {method:krylov}")
"raise k or use method='krylov'"
"""

from __future__ import annotations

import functools
import math
import numbers
import string
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = [
    "PYTHON",
    "arg",
    "check_real",
    "flag",
    "flags_of",
    "got",
    "kw",
    "range_error",
    "speaks_flags",
    "spell",
    "spelled_as",
]

#: No option names: every argument spelled as Python names it.
PYTHON: Mapping[str, str] = MappingProxyType({})

#: The running command's options, Python parameter name → option (``"rank_tol"`` →
#: ``"--rank-tol"``); None outside a command (Python spelling).
_FLAGS: ContextVar[Mapping[str, str] | None] = ContextVar("svdkit_flags", default=None)

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def spelled_as(flags: Mapping[str, str]) -> Iterator[None]:
    """Within the block, :func:`arg`, :func:`kw` and :func:`spell` name each argument
    of ``flags`` (Python name → option) by its option; others keep their Python
    name. :data:`PYTHON` restores Python's spelling inside a command (for a library
    call whose arguments are not the command's own)."""
    token = _FLAGS.set(flags)
    try:
        yield
    finally:
        _FLAGS.reset(token)


def flag(name: str) -> str | None:
    """The option that stands for the argument ``name`` now, or None (Python)."""
    flags = _FLAGS.get()
    return None if flags is None else flags.get(name)


def arg(name: str) -> str:
    """The argument ``name`` as the caller spells it: ``rank_tol`` or ``--rank-tol``."""
    return flag(name) or name


def got(value: Any) -> str:
    """A value as an error quotes it: ``repr`` for Python; on the command line as it
    could have been typed (``-1``, not ``-1.0``; ``abc``, not ``'abc'``). A number
    longer than 40 characters (``10**400``) is clipped with ``…``, as svdkit's other
    messages clip long numbers.

    >>> got(10**400)
    '100000000000000000000000000000000000000…'
    """
    if _FLAGS.get() is None or isinstance(value, bool):
        return _clipped(value, repr(value))
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return _clipped(value, str(value))


def _clipped(value: Any, text: str) -> str:
    """``text``, the spelling of ``value``, clipped to 40 characters where ``value`` is
    a number (a message quotes the digits of ``10**400``, not all 401 of them)."""
    if not isinstance(value, numbers.Number):
        return text
    from svdkit.inputs.expr import clip

    return clip(text)


def kw(name: str, value: Any, fmt: str = "", *, typed: str | None = None) -> str:
    """The argument ``name`` given ``value``: ``method='lapack'`` in Python,
    ``--method lapack`` on the command line. ``fmt`` formats the value (``"g"``);
    ``typed`` is how the command line writes it when that differs (``none``)."""
    option = flag(name)
    if option is None:
        return f"{name}={format(value, fmt) if fmt else _clipped(value, repr(value))}"
    shown = typed if typed is not None else (format(value, fmt) if fmt else got(value))
    return f"{option} {shown}"


class _Named:
    """``{name}`` (:func:`arg`) or ``{name:value}`` (:func:`kw`) in a template."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __format__(self, value: str) -> str:
        return kw(self.name, value) if value else arg(self.name)


class _Names(dict):
    def __missing__(self, key: str) -> _Named:
        return _Named(key)


def spell(template: str) -> str:
    """``template`` with ``{name}`` spelled by :func:`arg` and ``{name:value}`` by
    :func:`kw` (the value a string: ``{method:lapack}``)."""
    return string.Formatter().vformat(template, (), _Names())


def check_real(value: Any, name: str, low: float, high: float | None = None) -> float:
    """``value`` as a float in ``[low, high)`` (``[low, ∞)`` without ``high``), else an
    :class:`~svdkit.errors.SvdkitError` naming ``name`` (:func:`arg`): the one check of
    a tolerance-like option (``tol``, ``rank_tol``), one wording for each fault.

    >>> check_real(float("nan"), "tol", 1e-14, 1.0)
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: tol must be a finite number; got nan
    >>> check_real(-1, "tol", 0.0)
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: tol must be a finite number >= 0; got -1
    """
    if not _finite(value) or not low <= value < (math.inf if high is None else high):
        raise range_error(value, name, low, high)
    return float(value)


def _finite(value: Any) -> bool:
    """A real number (not a bool), finite as a float (np.bool_ is no numbers.Real)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # (an int too large for a float)
        return False


def range_error(value: Any, name: str, low: float, high: float | None = None) -> Any:
    """The :class:`~svdkit.errors.SvdkitError` of :func:`check_real` for ``value``
    (for a caller that converts the value its own way first)."""
    from svdkit.errors import SvdkitError

    if high is None:
        text = f"{arg(name)} must be a finite number >= {low:g}; got {got(value)}"
    elif _finite(value):
        text = f"{arg(name)} must be in [{low:g}, {high:g}); got {got(value)}"
    else:
        text = f"{arg(name)} must be a finite number; got {got(value)}"
    return SvdkitError(text, param=name)


# ------------------------------------------------------------------ the command line


def flags_of(command: Callable[..., Any]) -> dict[str, str]:
    """Python name → option of a typer ``command`` function's options, as typer makes
    them: its long option (``--rank-tol``; ``--name-with-dashes`` when none is
    declared), or its only or short one for a one-letter name (``-k``, ``-n``).
    Arguments (``typer.Argument``, no default) have no option."""
    import inspect
    import typing

    from typer.models import ArgumentInfo, OptionInfo

    hints = typing.get_type_hints(command, include_extras=True)
    flags = {}
    for name, parameter in inspect.signature(command).parameters.items():
        infos = [parameter.default, *getattr(hints.get(name), "__metadata__", ())]
        if any(isinstance(i, ArgumentInfo) for i in infos):
            continue
        option = next((i for i in infos if isinstance(i, OptionInfo)), None)
        if option is None and parameter.default is inspect.Parameter.empty:
            continue  # (typer makes it an argument)
        # (typer.Option("-n") in Annotated: the first declaration is in ``default``)
        declared = [getattr(option, "default", None), *(getattr(option, "param_decls", None) or ())]
        decls = [
            d.split("/")[0].strip() for d in declared if isinstance(d, str) and d.startswith("-")
        ] or ["--" + name.replace("_", "-")]
        long = [d for d in decls if d.startswith("--") and len(d) > 3]
        flags[name] = long[0] if long else min(decls, key=len)
    return flags


def speaks_flags(func: F | None = None, /, **aliases: str) -> Any:
    """Decorate a typer command so that, while it runs, errors name its options as
    typed (:func:`spelled_as` its :func:`flags_of`). ``aliases`` name the option of a
    Python argument the command calls by another name (``lora_alpha="alpha"``: its
    parameter, or an option itself: ``n_components="-k"``).

    An :class:`~svdkit.errors.SvdkitError` about an argument (``param``) whose message
    does not name its option yet gets ``(option --flag)`` appended.
    """

    def wrap(command: F) -> F:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            from svdkit.errors import SvdkitError

            flags = flags_of(command)
            for name, alias in aliases.items():
                option = alias if alias.startswith("-") else flags.get(alias)
                if option is not None:
                    flags[name] = option
            with spelled_as(flags):
                try:
                    return command(*args, **kwargs)
                except SvdkitError as err:
                    option = flags.get(err.param) if err.param else None
                    if option is None or option in str(err):
                        raise
                    raise err.with_message(f"{err} (option {option})") from None

        return run  # type: ignore[return-value]

    return wrap if func is None else wrap(func)
