"""Review of inverses at the ends of float64's range: ``pinv``, ``lstsq`` and ``inv``.

Each test pins a defect found by a user review:

* ``pinv`` and ``lstsq`` of a finite matrix whose σ₁ overflows (``1e308 · ones``)
  came out zero (``1/inf``), although ``A⁺ = 2.5e-309 · ones`` is a float;
* ``pinv(diag(1e-310, 1e-310))`` held NaN off the diagonal (``inf · 0``);
* ``inv`` refused well-conditioned matrices of entries ``1e308`` (their 1-norm
  overflows, and ``gecon`` answers ``rcond = 0``) and ``diag(1e-308, 1e-307)``.

The checks are identities — the four Penrose conditions, ``A A⁻¹ = I``, the
normal equations of least squares — computed where they are floats: a product
with entries past 1e308 is checked on ``A · 2^−e`` (the scaling is exact).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.linalg import lapack

import svdkit
from svdkit.errors import SingularMatrixError

EPS = float(np.finfo(np.float64).eps)

#: Relative tolerance of the identities: the textbook first-order bounds, a
#: modest multiple of n·eps·cond, with room for the few bits a subnormal result
#: (``2.5e-309``) keeps fewer.
REL = 1e-12


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` with overflow, invalid (inf·0) and division warnings errors; an
    underflow to a subnormal or 0 is the true value rounded, as ever."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            return fn(*args, **kwargs)


def _scale(x, e: int) -> np.ndarray:
    """``x · 2^e`` exactly, real or complex (``2^e`` itself need not be a float)."""
    x = np.asarray(x)
    if np.iscomplexobj(x):
        return np.ldexp(x.real, e) + 1j * np.ldexp(x.imag, e)
    return np.ldexp(x, e)


def _close(x: np.ndarray, y: np.ndarray, scale: float) -> bool:
    return bool(np.max(np.abs(x - y), initial=0.0) <= REL * scale)


def assert_penrose(a: np.ndarray, p: np.ndarray, e: int = 0) -> None:
    """The four Moore–Penrose conditions for ``p = a⁺``, on ``a · 2^−e`` and ``p · 2^e``
    (``(a 2^−e)⁺ = 2^e a⁺``), so that no product leaves the float range."""
    a, p = _scale(a, -e), _scale(p, e)
    assert np.isfinite(a).all() and np.isfinite(p).all()
    na, npn = np.linalg.norm(a, 2), np.linalg.norm(p, 2)
    ap, pa = a @ p, p @ a
    assert _close(ap @ a, a, na * npn * na)  # A A⁺ A = A
    assert _close(p @ a @ p, p, npn * na * npn)  # A⁺ A A⁺ = A⁺
    assert _close(ap.conj().T, ap, na * npn)  # (A A⁺)ᴴ = A A⁺
    assert _close(pa.conj().T, pa, na * npn)  # (A⁺ A)ᴴ = A⁺ A


# ---------------------------------------------------------------- pinv: σ₁ overflows

HUGE = [
    np.full((2, 2), 1e308),
    np.full((2, 3), 1e308),
    np.full((3, 2), -1e308),
    np.array([[1e308, 1e308, 0.0], [1e308, 1e308, 0.0], [0.0, 0.0, 3e300]]),
    1e308 * np.array([[1.0, 1j], [1j, -1.0]]),  # complex, rank 1, σ₁ = 2e308
    np.array([[1.7e308, -1.5e308], [1.6e308, 1.7e308]]),  # rank 2, σ₁ ≈ 2.3e308
    np.array([[1.5e308, 1.5e308, 0.0], [1e308, -1e308, 1e308]]),  # full row rank
    np.array([[1.5e308, 1.5e308, 0.0], [1e308, -1e308, 1e308]]).T,  # full column rank
]


@pytest.mark.parametrize("a", HUGE, ids=lambda a: f"{a.shape[0]}x{a.shape[1]}")
def test_pinv_when_sigma1_overflows_is_the_pseudo_inverse(a):
    """σ₁ = inf made 1/σ₁ = 0 and A⁺ = 0; A⁺ = 2^−e (A 2^−e)⁺ is a float."""
    assert np.isposinf(np.linalg.svd(a, compute_uv=False)[0])
    for p in (_quiet(svdkit.pinv, a), _quiet(svdkit.svd(a).pinv)):
        assert p.shape == a.shape[::-1]
        assert np.any(p != 0)
        assert_penrose(a, p, e=1024)
    # of full rank, A⁺ is the one-sided inverse
    if svdkit.rank(a) < min(a.shape):
        return
    if a.shape[0] > a.shape[1]:
        left = _quiet(svdkit.left_inverse, a)
        assert _close(left @ a, np.eye(a.shape[1]), 1.0)
    if a.shape[0] < a.shape[1]:
        right = _quiet(svdkit.right_inverse, a)
        assert _close(a @ right, np.eye(a.shape[0]), 1.0)


def test_pinv_of_ones_1e308_has_its_known_value():
    """``(c·J)⁺ = J / (c·m·n)`` for the m×n matrix of ones J: 2.5e-309 and 1.67e-309."""
    np.testing.assert_allclose(svdkit.pinv(np.full((2, 2), 1e308)), 2.5e-309, rtol=1e-12)
    np.testing.assert_allclose(svdkit.pinv(np.full((2, 3), 1e308)), 1e-308 / 6, rtol=1e-12)


def test_pinv_tol_keeps_its_meaning_in_the_units_of_a():
    """An absolute ``tol`` compares σ itself, not σ · 2^−e: σ = (2e308, 3e300, 0)."""
    a = HUGE[3]
    full = svdkit.pinv(a, tol=1e299)  # keeps σ₂ = 3e300
    assert full[2, 2] == pytest.approx(1 / 3e300, rel=1e-14)
    assert_penrose(a, full, e=1024)
    cut = svdkit.svd(a).pinv(tol=1e301)  # drops it: the pseudo-inverse of the rank-1 part
    assert cut[2, 2] == 0.0
    np.testing.assert_allclose(cut[:2, :2], 2.5e-309, rtol=1e-12)
    assert svdkit.svd(a).rank(tol=1e301) == 1 and svdkit.svd(a).rank(tol=1e299) == 2


def test_pinv_of_a_truncated_svd_whose_sigma1_overflows():
    """``svd(A, k).pinv()`` is the pseudo-inverse of the k leading triplets."""
    a = HUGE[3]
    p = svdkit.svd(a, 1).pinv()
    assert p[2, 2] == 0.0
    np.testing.assert_allclose(p[:2, :2], 2.5e-309, rtol=1e-12)


# ---------------------------------------------------------------- pinv: 1/σ overflows


def test_pinv_of_subnormal_diagonal_has_no_nan():
    """``diag(1e-310, 1e-310)⁺ = diag(1e310, 1e310)``: ±inf on the diagonal, exactly
    0 off it (V / σ held inf, and inf · 0 gave NaN)."""
    for a, sign in ((np.diag([1e-310, 1e-310]), 1), (np.diag([-1e-310, -2e-310]), -1)):
        p = _quiet(svdkit.pinv, a)
        assert not np.isnan(p).any()
        assert p[0, 1] == 0.0 and p[1, 0] == 0.0
        assert np.all(np.diag(p) == sign * np.inf)
    p = _quiet(svdkit.pinv, 1j * np.diag([1e-310, 1e-310]))  # (i·t)⁺ = −i/t
    assert not np.isnan(p.real).any() and not np.isnan(p.imag).any()
    assert np.all(p.imag.diagonal() == -np.inf) and p[0, 1] == 0


def test_pinv_whose_one_over_sigma_overflows_but_entries_do_not():
    """``c·[[1, 1], [1, −1]]``, c = 3e-309: ``1/σ = 1/(c√2) ≈ 2.4e308`` overflows, the
    entries of ``A⁺ = A⁻¹ = [[1, 1], [1, −1]] / 2c ≈ 1.7e308`` do not."""
    a = 3e-309 * np.array([[1.0, 1.0], [1.0, -1.0]])
    p = _quiet(svdkit.pinv, a)
    np.testing.assert_allclose(p, np.array([[1.0, 1.0], [1.0, -1.0]]) / 6e-309, rtol=1e-12)
    assert_penrose(a, p, e=-1020)
    assert _close(a @ p, np.eye(2), 1.0)


def test_pinv_with_tol_zero_keeps_an_overflowing_term_without_nan():
    """``tol=0`` keeps σ₂ = 1e-320: ``A⁺ = diag(1, 1e320)`` is ``diag(1, inf)``."""
    p = _quiet(svdkit.pinv, [[1.0, 0.0], [0.0, 1e-320]], tol=0)
    assert p.tolist() == [[1.0, 0.0], [0.0, np.inf]]


# ---------------------------------------------------------------- lstsq


def assert_normal_equations(a: np.ndarray, x: np.ndarray, b: np.ndarray, e: int) -> None:
    """``Aᴴ(Ax − b) = 0``, checked on ``A 2^−e`` and ``b 2^−e`` (same x)."""
    a, b = _scale(a, -e), _scale(b, -e)
    gradient = a.conj().T @ (a @ x - b)
    na = np.linalg.norm(a, 2)
    assert np.linalg.norm(gradient) <= REL * na * (na * np.linalg.norm(x) + np.linalg.norm(b))


def test_lstsq_when_sigma1_overflows():
    """``lstsq(1e308·J, [1e308, 1e308])`` gave x = [0, 0]; the solution is [0.5, 0.5]."""
    a, b = np.full((2, 2), 1e308), np.array([1e308, 1e308])
    r = _quiet(svdkit.lstsq, a, b)
    np.testing.assert_allclose(r.x, [0.5, 0.5], rtol=1e-14)
    assert r.rank == 1
    assert_normal_equations(a, r.x, b, 1024)
    assert np.isfinite(r.residuals) and r.residuals <= 1e-14 * 2e308  # b lies in range(A)


@pytest.mark.parametrize(
    "a, b",
    [
        (HUGE[1], np.array([1e308, -1e308])),
        (HUGE[2], np.array([1e308, 5e307, -1e308])),
        (HUGE[5], np.array([[1.7e308, 1.0], [-1.7e308, 2.0]])),  # b near the largest float
        (HUGE[4], np.array([1e308, 1e308j])),
    ],
    ids=["wide", "tall", "full-rank-two-columns", "complex"],
)
def test_lstsq_when_sigma1_overflows_solves_the_normal_equations(a, b):
    """x is the minimum-norm least-squares solution: the normal equations hold, and
    x = A⁺b lies in the row space of A (x = A⁺A x)."""
    r = _quiet(svdkit.lstsq, a, b)
    x = r.x.reshape(a.shape[1], -1)
    assert np.isfinite(x).all() and np.any(x != 0)
    assert_normal_equations(a, x, b.reshape(a.shape[0], -1), 1024)
    pa = _scale(svdkit.pinv(a), 1024) @ _scale(a, -1024)  # the projector onto row(A)
    assert _close(pa @ x, x, np.abs(x).max())
    assert np.all(np.isfinite(r.residuals))


def test_lstsq_whose_coefficient_overflows_has_no_nan():
    """``tol=0`` keeps σ₂ = 1e-310; ``x = [1e310, 0]`` is ``[inf, 0]``, and the
    second right-hand side has the representable solution [1, 1]."""
    a = [[1e-310, 0.0], [0.0, 1.0]]
    r = _quiet(svdkit.lstsq, a, [1.0, 0.0], tol=0)
    assert r.x.tolist() == [np.inf, 0.0] and r.rank == 2
    r = _quiet(svdkit.lstsq, a, [[1.0, 1e-310], [0.0, 1.0]], tol=0)
    assert not np.isnan(r.x).any()
    assert r.x[:, 0].tolist() == [np.inf, 0.0]
    np.testing.assert_allclose(r.x[:, 1], [1.0, 1.0], rtol=1e-14)
    assert not np.isnan(r.residuals).any()


# ---------------------------------------------------------------- inv


def _old_inv(a: np.ndarray) -> np.ndarray:
    """The LU inverse on the matrix as given (getrf, getri): ordinary matrices must
    come out of svdkit.inv bit for bit as this."""
    getrf, getri = lapack.get_lapack_funcs(("getrf", "getri"), (a,))
    lu, piv, _ = getrf(a)
    lwork, _ = lapack.get_lapack_funcs(("getri_lwork",), (a,))[0](a.shape[0])
    return getri(lu, piv, lwork=int(np.real(lwork)))[0]


@pytest.mark.parametrize(
    "a",
    [
        1e308 * np.array([[1.0, 0.5], [0.5, 1.5]]),  # cond₂ ≈ 2.6, ‖A‖₁ = 2e308
        1e308 * np.array([[1.0, 1.0], [1.0, -1.0]]),  # cond₂ = 1
        np.array([[1e-308, 0.0], [0.0, 1e-307]]),
        3e-309 * np.array([[1.0, 1.0], [1.0, -1.0]]),  # subnormal entries, inverse ≈ 1.7e308
        1e308 * np.array([[1.0, 1j], [0.5j, 1.0]]),
        np.diag([1.5e308, -1.7e308, 1.2e308]) + 1e307,
    ],
    ids=["spd-1e308", "hadamard-1e308", "diag-1e-308", "subnormal", "complex-1e308", "3x3"],
)
def test_inv_of_well_conditioned_matrices_at_the_ends_of_the_range(a):
    """``A A⁻¹ = A⁻¹ A = I``: these were refused as numerically singular."""
    x = _quiet(svdkit.inv, a)
    assert np.isfinite(x).all()
    n = a.shape[0]
    cond = np.linalg.cond(_scale(a, -1000))
    tol = 100 * n * EPS * cond
    assert np.max(np.abs(a @ x - np.eye(n))) <= tol
    assert np.max(np.abs(x @ a - np.eye(n))) <= tol


def test_inv_of_tiny_diagonal_is_numpys():
    np.testing.assert_allclose(
        svdkit.inv([[1e-308, 0.0], [0.0, 1e-307]]), np.diag([1e308, 1e307]), rtol=2 * EPS
    )


def test_inv_whose_entries_overflow_is_inf_without_nan():
    """``diag(1e-310, 1)⁻¹ = diag(1e310, 1)``: cond = 1e310 is refused; but
    ``1e-310 · I`` has cond 1 and its inverse is ``inf · I`` (0 off the diagonal)."""
    x = _quiet(svdkit.inv, 1e-310 * np.eye(2))
    assert x.tolist() == [[np.inf, 0.0], [0.0, np.inf]]
    with pytest.raises(SingularMatrixError):
        svdkit.inv(np.diag([1e-310, 1.0]))


@pytest.mark.parametrize(
    "a",
    [
        np.full((2, 2), 1e308),
        np.full((3, 3), -1e-309),
        1e308 * np.array([[1.0, 1.0], [1.0, 1.0 + 1e-15]]),  # numerically singular
        np.diag([1e308, 1e-308]),  # cond = 1e616
    ],
    ids=["ones-1e308", "ones-1e-309", "near-singular-1e308", "diag-1e308-1e-308"],
)
def test_inv_still_refuses_singular_matrices_at_the_ends_of_the_range(a):
    with pytest.raises(SingularMatrixError):
        svdkit.inv(a)


def test_inv_of_ordinary_matrices_is_unchanged_bit_for_bit():
    rng = np.random.default_rng(7)
    for a in (
        rng.standard_normal((5, 5)),
        1e300 * rng.standard_normal((4, 4)),
        1e-250 * rng.standard_normal((3, 3)),
        rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4)),
    ):
        np.testing.assert_array_equal(svdkit.inv(a), _old_inv(a))


def test_cond_1_of_matrices_inv_refused_is_finite():
    """``cond(A, 1) = ‖A‖₁ ‖A⁻¹‖₁`` called inv, which refused these: it was inf."""
    assert svdkit.cond([[1e-308, 0.0], [0.0, 1e-307]], 1) == pytest.approx(10.0, rel=1e-12)
    hadamard = 1e-308 * np.array([[1.0, 1.0], [1.0, -1.0]])  # ‖A‖₁ ‖A⁻¹‖₁ = 2e-308 · 1e308
    assert svdkit.cond(hadamard, 1) == pytest.approx(2.0, rel=1e-12)
    assert svdkit.cond(hadamard, np.inf) == pytest.approx(2.0, rel=1e-12)
