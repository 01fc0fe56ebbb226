"""The exact engine: integers, fractions and radicals, with the steps of every computation.

Every function has the name of its numeric twin in :mod:`svdkit` and returns a
frozen result object holding exact SymPy values (never floats) and, with
``steps=True``, the derivation as :class:`~svdkit.exact.steps.Step` objects
(a catalogue key, its values, a formula, intermediate matrices — no sentences:
those live in the message catalogues, in English and French).

========================  ==========================================================
function                  what
========================  ==========================================================
:func:`as_exact`          anything → exact SymPy ``Matrix`` (text parsed exactly; no floats)
:func:`det`               Leibniz (``n ≤ 6``) or Bareiss
:func:`trace`             ``Σ aᵢᵢ``
:func:`rank`, :func:`rref`  Gauss–Jordan
:func:`inv`               Gauss–Jordan on ``[A | I]``
:func:`pinv`              Moore–Penrose by a full-rank factorisation
:func:`lstsq`             minimum-norm least squares ``x = A⁺b``
:func:`eigh`              ``A = QΛQᴴ`` with exact eigenvalues where they have closed forms
:func:`svd`               the notes' method: eigenvalues of ``AᴴA``, ``uᵢ = Avᵢ/σᵢ``, …
:func:`subspaces`         the four fundamental subspaces, simple and orthonormal bases
:func:`definiteness`      the kind and the four criteria, decided exactly
:func:`norm`              Frobenius, spectral, nuclear, 1 and ∞ norms
========================  ==========================================================

Matrices of more than :data:`MAX_ENTRIES` entries (500×500) are refused with a
:class:`~svdkit.errors.ShapeError` pointing to the numeric functions, before any
entry is read.

SymPy (and python-flint) are imported when this package is first used, not by
``import svdkit``. Without SymPy (the ``exact`` extra) that first use raises
:class:`~svdkit.errors.MissingDependencyError` (``pip install 'svdkit[exact]'``).

Examples
--------
>>> import svdkit.exact as ex
>>> from svdkit.exact.format import to_text
>>> r = ex.svd([[3, 0], [0, -2]])
>>> print(to_text(r.U), to_text(r.s), to_text(r.Vh))
[[1, 0], [0, 1]] (3, 2) [[1, 0], [0, −1]]
>>> print(ex.det("[[1/2, 1], [1, 2]]"), ex.rank([[1, 2], [2, 4]]))
0 1
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "MAX_ENTRIES",
    "RREF",
    "SVD",
    "Definiteness",
    "Det",
    "Eigh",
    "InexactInputError",
    "Inverse",
    "Lstsq",
    "Norm",
    "NotAlgebraicError",
    "PseudoInverse",
    "Rank",
    "Step",
    "Subspaces",
    "Trace",
    "as_exact",
    "definiteness",
    "det",
    "eigh",
    "format",
    "inv",
    "lstsq",
    "norm",
    "pinv",
    "rank",
    "rref",
    "subspaces",
    "svd",
    "trace",
]

_HOMES = {
    "MAX_ENTRIES": "_convert",
    "as_exact": "_convert",
    "InexactInputError": "_convert",
    "NotAlgebraicError": "_convert",
    "Step": "steps",
    "det": "elimination",
    "trace": "elimination",
    "rank": "elimination",
    "rref": "elimination",
    "inv": "elimination",
    "Det": "elimination",
    "Trace": "elimination",
    "Rank": "elimination",
    "RREF": "elimination",
    "Inverse": "elimination",
    "pinv": "inverses",
    "lstsq": "inverses",
    "PseudoInverse": "inverses",
    "Lstsq": "inverses",
    "eigh": "spectral",
    "Eigh": "spectral",
    "svd": "singular",
    "SVD": "singular",
    "subspaces": "fundamental",
    "Subspaces": "fundamental",
    "definiteness": "definite",
    "Definiteness": "definite",
    "norm": "norms",
    "Norm": "norms",
}


#: What :func:`__getattr__` raises when SymPy (or mpmath, which comes with it) is missing.
_MISSING_SYMPY = "svdkit.exact needs SymPy: pip install 'svdkit[exact]'"

_ENGINE_PACKAGES = ("sympy", "mpmath")


def _missing_engine_package(err: ImportError) -> bool:
    """Whether ``err`` (or an import error it arose from) is SymPy or mpmath not being found.

    SymPy reports a missing mpmath as a plain ``ImportError`` raised while handling
    the ``ModuleNotFoundError``: the chain is searched.
    """
    seen: BaseException | None = err
    while seen is not None:
        name = getattr(seen, "name", None)
        if isinstance(seen, ImportError) and name and name.split(".")[0] in _ENGINE_PACKAGES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _load(module: str) -> Any:
    """Import ``svdkit.exact.<module>``; SymPy missing is a :class:`MissingDependencyError`."""
    try:
        return importlib.import_module(f"svdkit.exact.{module}")
    except ImportError as err:
        if not _missing_engine_package(err):
            raise
        from svdkit.errors import MissingDependencyError

        raise MissingDependencyError(_MISSING_SYMPY) from err


def __getattr__(name: str) -> Any:
    # Lazy: svdkit.exact.steps is imported by the report model, which must not pay
    # for SymPy; everything else loads on first use (SymPy missing: MissingDependencyError).
    if name == "format":
        return _load("format")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'svdkit.exact' has no attribute {name!r}")
    value = getattr(_load(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
