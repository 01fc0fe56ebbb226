"""The exact engine's limit on the degree of its number field (``MAX_FIELD_DEGREE``).

Each independent square root doubles the degree of the field the exact engine
computes in, and the cost with it (a 3×3 rank: 2 s with six roots, 26 s with
seven, minutes with eight). Beyond degree 64 the engine refuses at once with an
error that names the roots; ``svdkit explain`` then keeps those sections numeric.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import svdkit.exact as ex
from svdkit.exact._field import MAX_FIELD_DEGREE, Field, radical_degree
from svdkit.explain import explain

PRIMES = [2, 3, 5, 7, 11, 13, 17, 19]


def _matrix(roots: list[sp.Expr]) -> sp.Matrix:
    return sp.Matrix(3, 3, lambda i, j: roots[(3 * i + j) % len(roots)] + i + 2 * j)


@settings(max_examples=40, deadline=None)
@given(
    chosen=st.lists(st.sampled_from(PRIMES), min_size=0, max_size=8, unique=True),
    squares=st.lists(st.integers(1, 6), min_size=8, max_size=8),
    negative=st.booleans(),
)
def test_degree_counts_independent_square_roots(chosen, squares, negative):
    """``2ʳ`` for ``r`` independent square-free radicands, whatever square factors and
    products of them appear besides (products add nothing)."""
    roots = [sp.sqrt(p * q**2) for p, q in zip(chosen, squares, strict=False)]
    products = [sp.sqrt(a * b) for a, b in itertools.combinations(chosen[:4], 2)]
    extra = [sp.I] if negative else []
    degree = radical_degree(roots + products + extra)
    assert degree == 2 ** (len(chosen) + (1 if negative else 0))


def test_degree_of_the_field_sympy_builds():
    """The bound is the true degree for square roots (SymPy's primitive element)."""
    exprs = [sp.sqrt(2) + sp.sqrt(3), sp.sqrt(6), sp.Rational(1, 2)]
    F = Field.of(exprs)
    assert radical_degree(exprs) == F.K.mod.degree() == 4


def test_seven_roots_are_refused_by_name():
    M = _matrix([sp.sqrt(p) for p in PRIMES[:7]])
    with pytest.raises(ex.NotAlgebraicError) as err:
        ex.rank(M)
    text = str(err.value)
    assert "degree at least 128" in text and f"stops at degree {MAX_FIELD_DEGREE}" in text
    assert "sqrt(2), sqrt(3), sqrt(5)" in text and "numeric engine" in text


def test_six_roots_among_more_radicals_are_computed():
    """Nine distinct radicals but six independent ones: degree 64, computed exactly."""
    roots = [sp.sqrt(p) for p in PRIMES[:6]] + [sp.sqrt(6), sp.sqrt(10), sp.sqrt(15)]
    M = _matrix(roots)
    assert radical_degree(list(M)) == 64
    numeric = np.array([[float(x) for x in row] for row in M.tolist()])
    assert int(ex.rank(M)) == int(np.linalg.matrix_rank(numeric)) == 3


def test_explain_keeps_a_refused_field_numeric():
    """The report is still made, its rank numeric (as for entries mixing π and radicals),
    where the exact rank of seven roots took minutes."""
    text = "[[sqrt(2), sqrt(3), sqrt(5)], [sqrt(7), sqrt(11), sqrt(13)], [sqrt(17), 1, 2]]"
    report = explain(text)
    measures = report.section("measures")
    assert "rank_exact" not in [f.key for f in measures.facts]
    assert measures.fact("rank") == 3
    six = explain("[[sqrt(2), sqrt(3), sqrt(5)], [sqrt(7), sqrt(11), sqrt(13)], [1, 1, 2]]")
    assert six.section("measures").fact("rank_exact") == "3"
