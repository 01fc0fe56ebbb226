"""What every exact function does first: read the matrix, check its shape, find its field."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sympy as sp

from svdkit.errors import ShapeError, StructureError
from svdkit.exact._convert import as_exact
from svdkit.exact._field import Field, is_zero_expr

__all__ = ["prepare", "require_hermitian", "shape_text"]


def shape_text(shape: tuple[int, int]) -> str:
    """``(2, 3)`` → ``'2×3'``."""
    return "×".join(str(d) for d in shape)


def prepare(
    A: Any, what: str, *, square: bool = False, name: str = "A", field: bool = True
) -> tuple[sp.Matrix, Field | None]:
    """The exact matrix, its shape checked, and the field of its entries (unless ``field``).

    Nested square roots are denested first where SymPy can (``√(5 − 2√6)`` is
    ``√3 − √2``): as typed, the nested root enters the number field as one more
    generator, and the eigenvalue work on ``[[√3, √(5 − 2√6)], [√(5 − 2√6), 1]]`` took
    30 s against 1.5 s. Entries that are zero written otherwise
    (``∛(2 + √5) − (1 + √5)/2``) are replaced by ``0``, so that every formula shown
    (a determinant's terms, a trace) agrees with the rank, which sees the zero.
    """
    M = _zeros_written_out(_denested(as_exact(A, name=name)))
    if square and M.rows != M.cols:
        raise ShapeError(f"{what} needs a square matrix; {name} is {shape_text(M.shape)}")
    return M, (Field.of(list(M)) if field else None)


def _nested_root(x: sp.Expr) -> bool:
    """Whether ``x`` has a square root whose radicand holds another root."""
    return any(
        p.exp == sp.S.Half and p.base.has(sp.Pow)
        and any(q.exp.is_Rational and not q.exp.is_Integer for q in p.base.atoms(sp.Pow))
        for p in x.atoms(sp.Pow)
    )


def _denested(M: sp.Matrix) -> sp.Matrix:
    """``M`` with its nested square roots denested (:func:`sympy.sqrtdenest`)."""
    return _rewritten(M, _nested_root, sp.sqrtdenest)


def _zeros_written_out(M: sp.Matrix) -> sp.Matrix:
    """``M`` with each algebraic entry that is exactly zero (:func:`is_zero_expr`) as ``0``."""
    return _rewritten(M, _written_zero, lambda x: sp.Integer(0))


def _rewritten(
    M: sp.Matrix, picked: Callable[[sp.Expr], bool], rewrite: Callable[[sp.Expr], sp.Expr]
) -> sp.Matrix:
    """``M`` with ``rewrite(x)`` for each irrational entry ``x`` that ``picked(x)``;
    ``M`` itself (no copy) when there is none."""
    keys = [k for k, x in enumerate(M) if not x.is_Rational and picked(x)]
    if not keys:
        return M
    M = M.copy()
    for k in keys:
        M[k] = rewrite(M[k])
    return M


@functools.lru_cache(maxsize=4096)
def _written_zero(x: sp.Expr) -> bool:
    """Whether the entry ``x`` is an algebraic number that is exactly zero.

    Remembered per entry: a minimal polynomial can take a second (``∛(2 + √5) −
    (1 + √5)/2``), and every exact function, each analysis of ``svdkit explain``,
    prepares the same entries again.
    """
    return not x.has(sp.Float) and bool(x.is_algebraic) and is_zero_expr(x)


def require_hermitian(M: sp.Matrix, F: Field, what: str, name: str = "A", hint: str = "") -> None:
    """Raise :class:`StructureError` unless ``M = Mᴴ`` exactly, naming the first faulty pair
    (0-based indices, as the numeric engine's :func:`svdkit.linalg.structure.require_hermitian`
    names them; values as :func:`~svdkit.exact.format.to_text` writes them)."""
    from svdkit.exact.format import to_text

    n = M.rows
    for i in range(n):
        for j in range(i, n):
            a, b = M[i, j], M[j, i]
            if not is_zero_expr(a - sp.conjugate(b)):
                kind = "symmetric" if F.real else "Hermitian"
                if i == j:
                    detail = (
                        f"the diagonal entry {name}[{i},{i}] = {to_text(a)} is not real"
                    )
                elif F.real:
                    detail = (
                        f"{name}[{i},{j}] = {to_text(a)} "
                        f"but {name}[{j},{i}] = {to_text(b)}"
                    )
                else:
                    detail = (
                        f"{name}[{i},{j}] = {to_text(a)} "
                        f"but conj({name}[{j},{i}]) = {to_text(sp.conjugate(b))}"
                    )
                raise StructureError(
                    f"{what} needs a {kind} matrix; {detail} (0-based indices)"
                    + (f". {hint}" if hint else "")
                )
