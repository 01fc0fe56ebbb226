"""The four fundamental subspaces, exactly: simple bases and orthonormal ones.

For an m×n matrix A of rank r (notes 000, §3):

==========  ==========================  ==========================================  =========
field       space                       simple basis (by hand)                      dimension
==========  ==========================  ==========================================  =========
column      R(A), image                 the pivot columns of A                      r
null        N(A), kernel                one vector per free variable of the RREF    n − r
row         R(Aᴴ), co-image             the non-zero rows of the RREF (conjugated)  r
left_null   N(Aᴴ), co-kernel            the null space of Aᴴ, from its RREF         m − r
==========  ==========================  ==========================================  =========

The orthonormal bases are those simple bases after Gram–Schmidt and
normalisation (exact, with square roots). The orthogonality relations
R(A) ⊥ N(Aᴴ) and R(Aᴴ) ⊥ N(A) are checked exactly, and r + (n − r) = n is the
rank–nullity theorem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from svdkit.errors import check_bool
from svdkit.exact._common import prepare
from svdkit.exact._field import (
    Field,
    Vec,
    conj_transpose,
    dot,
    gram_schmidt,
    inv_sqrt_expr,
    nullspace,
    nullspace_from_rref,
    primitive,
    rows_of,
    rref_rows,
    to_matrix,
)
from svdkit.exact._precision import serialized
from svdkit.exact._record import Recorder
from svdkit.exact._results import ExactResult

__all__ = ["Subspaces", "subspaces"]


@dataclass(frozen=True, eq=False)
class Subspaces(ExactResult):
    """Bases (as columns) of the four fundamental subspaces, exactly.

    Attributes
    ----------
    column, null, row, left_null : sympy.Matrix
        Orthonormal bases of R(A) (m×r), N(A) (n×(n−r)), R(Aᴴ) (n×r) and
        N(Aᴴ) (m×(m−r)): the names of :func:`svdkit.subspaces`.
    column_basis, null_basis, row_basis, left_null_basis : sympy.Matrix
        The simple bases found by hand (pivot columns, free variables, rows of
        the RREF), before Gram–Schmidt.
    rank : int
        r.
    pivots : tuple of int
        0-based pivot columns of A.
    """

    column: sp.Matrix
    null: sp.Matrix
    row: sp.Matrix
    left_null: sp.Matrix
    column_basis: sp.Matrix
    null_basis: sp.Matrix
    row_basis: sp.Matrix
    left_null_basis: sp.Matrix
    rank: int
    pivots: tuple[int, ...]

    def __str__(self) -> str:
        from svdkit.exact.format import to_text

        return "\n".join(
            f"{label} = {to_text(getattr(self, name))}"
            for label, name in (
                ("R(A)", "column"),
                ("N(A)", "null"),
                ("R(Aᴴ)", "row"),
                ("N(Aᴴ)", "left_null"),
            )
        )

    @property
    def dimensions(self) -> dict[str, int]:
        """``{"column": r, "null": n − r, "row": r, "left_null": m − r}``."""
        return {name: getattr(self, name).cols for name in ("column", "null", "row", "left_null")}


def _cols(F: Field, vectors: list[Vec], n: int) -> sp.Matrix:
    if not vectors:
        return sp.zeros(n, 0)
    return sp.Matrix([[F.to_sympy(v[i]) for v in vectors] for i in range(n)])


def _orthonormal(F: Field, vectors: list[Vec], n: int) -> sp.Matrix:
    if not vectors:
        return sp.zeros(n, 0)
    cols = []
    for w in gram_schmidt(F, vectors):
        inv = inv_sqrt_expr(F.to_sympy(dot(F, w, w)))
        cols.append([F.to_sympy(x) * inv for x in w])
    return sp.Matrix(n, len(cols), lambda i, j: cols[j][i])


@serialized
def subspaces(A: Any, *, steps: bool = False) -> Subspaces:
    """The four fundamental subspaces of A, with simple and orthonormal bases.

    Parameters
    ----------
    A : matrix-like
        Any m×n matrix.
    steps : bool
        Record the reduced echelon forms of A and Aᴴ, each basis, the
        orthonormalisation, the dimensions and the orthogonality checks.

    Returns
    -------
    Subspaces

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> from svdkit.exact.format import to_text
    >>> sub = ex.subspaces([[1, 2, 3], [4, 5, 6]])
    >>> sub.dimensions
    {'column': 2, 'null': 1, 'row': 2, 'left_null': 0}
    >>> print(to_text(sub.null_basis), to_text(sub.null))
    [[1], [−2], [1]] [[√6/6], [−√6/3], [√6/6]]
    """
    steps = check_bool(steps, "steps")
    M, F = prepare(A, "subspaces")
    F.require_decidable("subspaces")
    m, n = M.shape
    rec = Recorder(steps)
    rows = rows_of(F, M)
    R, piv = rref_rows(F, rows, n)
    r = len(piv)
    rec.add(
        "subspaces.rref",
        {"rank": r, "pivots": tuple(p + 1 for p in piv)},
        matrices={"A": M, "R": to_matrix(F, R)},
    )
    col = [[row[j] for row in rows] for j in piv]  # the pivot columns of A, as they are
    null = [primitive(F, v) for v in nullspace_from_rref(F, R, piv, n)]
    row = [primitive(F, [F.conj(x) for x in R[i]]) for i in range(r)]
    AH = conj_transpose(F, rows, n)
    left = [primitive(F, v) for v in nullspace(F, AH, m)]
    bases = {"column": col, "null": null, "row": row, "left_null": left}
    sizes = {"column": m, "null": n, "row": n, "left_null": m}
    simple = {k: _cols(F, v, sizes[k]) for k, v in bases.items()}
    rec.add(
        "subspaces.column",
        {"dimension": r, "pivots": tuple(p + 1 for p in piv)},
        matrices={"R(A)": simple["column"]},
    )
    rec.add("subspaces.null", {"dimension": n - r}, matrices={"N(A)": simple["null"]})
    T = "ᵀ" if F.real else "ᴴ"
    rec.add("subspaces.row", {"dimension": r, "T": T}, matrices={f"R(A{T})": simple["row"]})
    if rec.on:
        RH, _ = rref_rows(F, AH, m)
        rec.add(
            "subspaces.left_null",
            {"dimension": m - r, "T": T},
            matrices={f"rref(A{T})": to_matrix(F, RH), f"N(A{T})": simple["left_null"]},
        )
    ortho = {k: _orthonormal(F, v, sizes[k]) for k, v in bases.items()}
    if rec.on:
        for k, label in (
            ("column", "R(A)"),
            ("null", "N(A)"),
            ("row", f"R(A{T})"),
            ("left_null", f"N(A{T})"),
        ):
            if bases[k]:
                rec.add(
                    "subspaces.orthonormal",
                    {"space": label, "dimension": len(bases[k])},
                    matrices={label: ortho[k]},
                )
        rec.add(
            "subspaces.dimensions",
            {"m": m, "n": n, "rank": r, "nullity": n - r, "corank": m - r, "T": T},
        )
        ok1 = all(F.is_zero(dot(F, u, v)) for u in col for v in left)
        ok2 = all(F.is_zero(dot(F, u, v)) for u in row for v in null)
        if not (ok1 and ok2):  # pragma: no cover - a theorem
            raise ArithmeticError("the fundamental subspaces are not orthogonal")
        rec.add(
            "subspaces.orthogonality", {"m": m, "n": n, "T": T, "field": "ℝ" if F.real else "ℂ"}
        )
    return Subspaces(
        ortho["column"],
        ortho["null"],
        ortho["row"],
        ortho["left_null"],
        simple["column"],
        simple["null"],
        simple["row"],
        simple["left_null"],
        r,
        tuple(piv),
        steps=rec.steps(),
    )
