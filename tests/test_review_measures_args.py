"""Review: arguments of svdkit's measures (norm's p, slogdet's digits, distance's metric)."""

import numpy as np
import pytest

import svdkit
from svdkit import SvdkitError


@pytest.mark.parametrize("p", [10**30, 2**64, 1e308, 10**4])
def test_vector_norm_with_a_huge_p_is_the_largest_entry(p):
    x = np.array([3.0, -4.0, 1.0])
    assert svdkit.norm(x, ord=p) == pytest.approx(4.0, rel=1e-12)


def test_vector_norm_with_an_ordinary_p_is_numpys():
    x = np.array([3.0, -4.0, 1.0])
    for p in (1, 2, 3, 2.5, 7):
        assert svdkit.norm(x, ord=p) == pytest.approx(np.linalg.norm(x, p), rel=1e-14)


@pytest.mark.parametrize("digits", [-1, 0, 18, 2.5, True, 10**30, "6", None])
def test_slogdet_text_refuses_bad_digits(digits):
    with pytest.raises(SvdkitError, match="digits must be an integer from 1 to 17"):
        svdkit.slogdet([[2.0, 0.0], [0.0, 3.0]]).text(digits)


@pytest.mark.parametrize("digits", [1, 6, 17, np.int64(3)])
def test_slogdet_text_reads_back_the_determinant(digits):
    d = svdkit.slogdet([[2.0, 1.0], [1.0, 3.0]])
    assert float(d.text(digits)) == pytest.approx(5.0, rel=10.0 ** (1 - digits))


def test_distance_names_each_metric_once():
    with pytest.raises(SvdkitError) as err:
        svdkit.distance([1.0], [2.0], metric=None)
    names = str(err.value).split("one of ")[1].split(";")[0].split(", ")
    assert sorted(names) == sorted(set(names)) and "hamming" in names


@pytest.mark.parametrize("norm2", [-1.0, float("nan"), "abc", True, [1.0], 1j])
def test_eig_residual_refuses_a_bad_norm2(norm2):
    with pytest.raises(SvdkitError, match="norm2 must be"):
        svdkit.eig([[2.0, 1.0], [0.0, 3.0]]).residual(norm2=norm2)


def test_eig_residual_with_a_known_or_unusable_norm2_is_the_same():
    A = np.array([[2.0, 1.0], [0.0, 3.0]])
    e = svdkit.eig(A)
    sigma1 = float(np.linalg.norm(A, 2))
    expected = e.residual()
    for norm2 in (sigma1, np.float64(sigma1), 0.0, float("inf"), None):
        assert e.residual(norm2=norm2) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_det_just_past_the_float_range_is_inf():
    """Found by the random extremes test: a permutation matrix with rows scaled by
    2^(−901, 905, 1020) has det 2^1024 (just past float64); exp(logabsdet) rounded
    1024·ln 2 down and gave the largest float instead of inf."""
    base = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=float)
    A = np.ldexp(base, np.array([-901, 905, 1020])[:, None])
    assert svdkit.det(A) == np.inf
    assert svdkit.det(-A) == -np.inf
    assert svdkit.slogdet(A).logabsdet == pytest.approx(1024 * np.log(2), rel=1e-15)
