"""Review: transcendental entries the engine cannot trust are refused; hopeless fields fast.

1. ``[[√π, π], [1, √π]]`` is singular, but the field ``ZZ(π, √π)`` that SymPy builds
   takes ``π`` and ``√π`` for independent unknowns: rank 2 and an inverse full of
   ``zoo``. The same for ``sin²1 + cos²1``, ``log 2`` next to ``log 4`` (a raw
   ``ValueError``) and ``∛π`` next to ``π``. Only one transcendental number, π or e,
   is now taken as an indeterminate; anything else is a ``NotAlgebraicError``.
2. The SVD and spectra of entries whose eigenvector field would be too large ran for
   minutes (a factorisation over the entries' field) before the quick refusal; the
   refusal now comes first, the characteristic polynomial is factored only over fields
   of a bounded degree, and radicals other than square roots count in the degree.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import svdkit.exact as ex
from svdkit.errors import SingularMatrixError, SvdkitError
from svdkit.exact import _field, spectral
from svdkit.exact._field import (
    MAX_FIELD_DEGREE,
    MAX_TOWER_DEGREE,
    MAX_TOWER_DEGREE_RADICALS,
    Field,
    radical_degree,
)
from svdkit.exact.format import LAMBDA
from svdkit.explain import explain

SQRT_PI = "[[sqrt(pi), pi], [1, sqrt(pi)]]"  # row 1 = √π · row 2
FIVE_ROOTS = "[[sqrt(2)+sqrt(3), sqrt(5)], [sqrt(5), sqrt(7)+sqrt(11)]]"
SIX_ROOTS = "[[sqrt(2)+sqrt(3), sqrt(5)], [sqrt(5), sqrt(7)+sqrt(11)+sqrt(13)]]"
CUBE_ROOTS = "[[2^(1/3), 1], [1, 3^(1/3)]]"
#: M + Mᴴ for M = [[√2, √3, √5], [√7, √11, √13], [1, 2, 3]]
HERMITIAN_SIX = (
    "[[2*sqrt(2), sqrt(3) + sqrt(7), 1 + sqrt(5)], [sqrt(3) + sqrt(7), 2*sqrt(11), "
    "2 + sqrt(13)], [1 + sqrt(5), 2 + sqrt(13), 6]]"
)

UNTRUSTED = [
    (ex.as_exact(SQRT_PI), "sqrt(pi)"),
    (sp.Matrix([[sp.sin(1) ** 2 + sp.cos(1) ** 2, 1], [1, 1]]), "sin(1)"),
    (sp.Matrix([[sp.log(2), 1], [sp.log(4), 2]]), "log(2)"),
    (ex.as_exact("[[pi^(1/3), pi], [1, pi^(2/3)]]"), "pi**(1/3)"),
    (sp.Matrix([[sp.E, sp.pi], [1, 1]]), "e, π"),
]


@pytest.mark.parametrize(("A", "named"), UNTRUSTED)
@pytest.mark.parametrize("fn", ["rank", "rref", "subspaces", "inv", "pinv"])
def test_untrusted_transcendentals_are_refused(A, named, fn):
    with pytest.raises(ex.NotAlgebraicError) as err:
        getattr(ex, fn)(A)
    message = str(err.value)
    assert named in message and "numeric engine" in message


@pytest.mark.parametrize(("A", "named"), UNTRUSTED)
def test_untrusted_transcendentals_are_refused_by_lstsq_and_bareiss(A, named):
    with pytest.raises(ex.NotAlgebraicError, match="transcendental"):
        ex.lstsq(A, [1, 1])
    with pytest.raises(ex.NotAlgebraicError, match="transcendental"):
        ex.det(A, "bareiss")


def test_sympy_errors_do_not_leak():
    """``log 4`` is not in ``ZZ(log 2)`` to SymPy: a ValueError, now a svdkit error first."""
    with pytest.raises(SvdkitError):
        ex.rank([[sp.log(2), 1], [sp.log(4), 2]])


def test_the_leibniz_determinant_of_sqrt_pi_stays_zero():
    assert ex.det(SQRT_PI).value == 0


def test_explain_gives_no_exact_rank_of_two():
    measures = explain(SQRT_PI).section("measures")
    assert "rank_exact" not in [f.key for f in measures.facts]
    assert measures.fact("rank") == 1


def test_pi_alone_still_computes():
    assert int(ex.rank("[[pi, 1], [1, pi]]")) == 2
    assert int(ex.rank("[[pi, pi^2], [1, pi]]")) == 1
    assert int(ex.rank("[[1/pi, i], [pi^(-2), i/pi]]")) == 1
    X = ex.inv("[[pi, 1], [1, pi]]").matrix
    assert sp.simplify(X * sp.Matrix([[sp.pi, 1], [1, sp.pi]])) == sp.eye(2)
    with pytest.raises(SingularMatrixError):
        ex.inv("[[pi, pi^2], [1, pi]]")
    assert int(ex.rank([[sp.E, 1], [sp.E**2, sp.E]])) == 1


def test_inv_never_returns_complex_infinity():
    for A, _ in UNTRUSTED:
        try:
            X = ex.inv(A).matrix
        except SvdkitError:
            continue
        assert not X.has(sp.zoo)  # pragma: no cover - a failure here is the bug


# --------------------------------------------------------------------------- item 2


@pytest.fixture
def no_membership_test(monkeypatch):
    """Make the slow exact steps fail: a refusal must come before them."""

    def fail(*args, **kwargs):
        raise AssertionError("the slow step ran before the refusal")

    factor_list = sp.Poly.factor_list

    def factor(poly, *args, **kwargs):
        if poly.gens == (LAMBDA,):  # the characteristic polynomial
            fail()
        return factor_list(poly, *args, **kwargs)  # pragma: no cover - SymPy's own use

    monkeypatch.setattr(Field, "contains", fail)
    monkeypatch.setattr(Field, "_from_sympy", fail)
    monkeypatch.setattr(sp.Poly, "factor_list", factor)


@pytest.mark.parametrize("fn", ["svd", "eigh"])
def test_five_roots_are_refused_before_any_membership_test(fn, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the membership test ran before the refusal")

    monkeypatch.setattr(Field, "contains", fail)
    with pytest.raises(ex.NotAlgebraicError) as err:
        getattr(ex, fn)(FIVE_ROOTS)
    message = str(err.value)
    assert "degree at least 64" in message and f"stops at degree {MAX_TOWER_DEGREE}" in message


@pytest.mark.parametrize("fn", ["svd", "eigh"])
def test_cube_roots_are_refused_before_any_membership_test(fn, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the membership test ran before the refusal")

    monkeypatch.setattr(Field, "contains", fail)
    with pytest.raises(ex.NotAlgebraicError) as err:
        getattr(ex, fn)(CUBE_ROOTS)
    message = str(err.value)
    assert f"stops at degree {MAX_TOWER_DEGREE_RADICALS}" in message
    assert "other than square roots" in message


@pytest.mark.parametrize(
    ("fn", "text"),
    [("eigh", SIX_ROOTS), ("eigh", HERMITIAN_SIX), ("definiteness", HERMITIAN_SIX)],
)
def test_large_characteristic_polynomials_are_refused_before_factoring(
    fn, text, no_membership_test
):
    with pytest.raises(ex.NotAlgebraicError) as err:
        getattr(ex, fn)(text)
    message = str(err.value)
    assert f"degree × field degree = {spectral.MAX_FACTOR_DEGREE}" in message


def test_the_factor_bound_is_checked_before_the_coefficient_field_is_built(monkeypatch):
    real = Field.of.__func__

    def of(cls, exprs):
        if len(exprs) == 4:  # the coefficients of a cubic: the field to refuse
            raise AssertionError("the coefficients' field was built before the refusal")
        return real(cls, exprs)

    monkeypatch.setattr(Field, "of", classmethod(of))
    with pytest.raises(ex.NotAlgebraicError, match="degree × field degree"):
        ex.eigh(HERMITIAN_SIX)


def test_a_cube_root_next_to_a_square_root_still_computes():
    r = ex.eigh("[[2^(1/3), 1], [1, sqrt(2)]]")
    assert r.exact
    gap = (r.reconstruct() - ex.as_exact("[[2^(1/3), 1], [1, sqrt(2)]]")).evalf(30)
    assert max(abs(x) for x in gap) < 1e-25


def test_radical_degree_counts_other_radicals():
    assert radical_degree([sp.cbrt(2), sp.cbrt(3)]) == 9
    assert radical_degree([sp.cbrt(2), sp.cbrt(4), sp.sqrt(2)]) == 6
    assert radical_degree([sp.root(2, 4), sp.sqrt(2)]) == 4
    assert radical_degree([sp.root(2, 4), sp.sqrt(3)]) == 8
    exprs = [sp.cbrt(2) + sp.sqrt(3)]
    assert radical_degree(exprs) == Field.of(exprs).degree == 6


def test_four_cube_roots_are_refused_before_the_field_is_built(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the field was built before the refusal")

    monkeypatch.setattr(_field, "construct_domain", fail)
    with pytest.raises(ex.NotAlgebraicError) as err:
        ex.rank("[[2^(1/3), 3^(1/3)], [5^(1/3), 7^(1/3)]]")
    message = str(err.value)
    assert "degree at least 81" in message and f"stops at degree {MAX_FIELD_DEGREE}" in message
    assert "2**(1/3)" in message


@pytest.mark.parametrize("p", [10**30, 1e308, 10**4, 101, Fraction(3, 1000) + 1])
def test_exact_vector_norm_refuses_an_out_of_reach_p_at_once(p):
    """A huge p (10**30) hung: the terms |xᵢ|^p were written out exactly."""
    with pytest.raises(SvdkitError, match="p <= 100"):
        ex.norm([3, 4], ord=p)


@pytest.mark.parametrize("p", [3, 100, Fraction(5, 2)])
def test_exact_vector_norm_with_a_reachable_p(p):
    value = ex.norm([3, 4], ord=p).value
    assert float(value) == pytest.approx(float(np.linalg.norm([3.0, 4.0], float(p))), rel=1e-12)
