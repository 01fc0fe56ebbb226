"""Review h10: complex entries whose modulus overflows (|1.5e308 + 1.5e308j| = inf while
both parts are finite) are scaled at every call site in svdkit.linalg.

Each public function is run on such a matrix M and on M · 2^−2 (whose entries have finite
moduli), and the two results must agree once scaled back: never NaN, never 0 for a non-zero
result, never a foreign exception.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import svdkit
from svdkit.errors import SingularMatrixError, SvdkitError
from svdkit.linalg.measures import entry_exponent, times_power_of_two
from svdkit.linalg.residuals import column_norms

Z = 1.5e308 + 1.5e308j  # |Z| = 2.1e308: past the largest float, both parts finite
LN2 = math.log(2.0)


def _random_huge(seed: int, n: int) -> np.ndarray:
    """An n × n complex matrix with entries near 2^1024 · 0.5 and one whose modulus overflows."""
    rng = np.random.default_rng(seed)
    b = rng.uniform(-0.5, 0.5, (n, n)) + 1j * rng.uniform(-0.5, 0.5, (n, n))
    b[rng.integers(n), rng.integers(n)] = 0.75 - 0.75j
    return times_power_of_two(b, 1024)


MATRICES = {
    "report": np.array([[Z, 1.0], [2.0, 1e308 - 1e308j]]),
    "diag": np.array([[Z, 0.0], [0.0, 1.0]]),
    "triangular": np.array([[Z, 3.0], [0.0, 1e-10]]),
    "random3": _random_huge(0, 3),
    "random4": _random_huge(1, 4),
}
HERMITIAN = {
    "indefinite": np.array([[1e308, Z], [np.conj(Z), 1e308]]),
    "zero-diagonal": np.array([[0.0, Z], [np.conj(Z), 0.0]]),
    "mixed": np.array([[1.0, 0.0, Z], [0.0, 2.0, 1.0], [np.conj(Z), 1.0, -1e300]]),
}


@pytest.fixture(autouse=True)
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _overflowing(m: np.ndarray) -> None:
    assert np.isfinite(m).all() and np.isinf(np.abs(m)).any()


def _no_nan(x) -> None:
    assert not np.isnan(np.asarray(x, dtype=complex)).any()


def _close(got, want, rtol: float = 1e-10, scale: float = 0.0) -> None:
    """Agreement to rounding, relative to the largest finite entry (or ``scale``, where
    larger); infs must match."""
    got, want = np.asarray(got, dtype=complex), np.asarray(want, dtype=complex)
    _no_nan(got)
    _no_nan(want)
    for part in (np.real, np.imag):
        g, w = part(got), part(want)
        assert np.array_equal(np.isinf(g), np.isinf(w)), (got, want)
        assert np.array_equal(g[np.isinf(g)], w[np.isinf(w)])
        fin = np.isfinite(w)
        if fin.any():
            scale = max(scale, np.abs(got[np.isfinite(got)]).max(initial=0.0), np.abs(w[fin]).max())
            assert np.abs(g[fin] - w[fin]).max() <= rtol * scale, (got, want)


def _quarter(m: np.ndarray) -> np.ndarray:
    q = times_power_of_two(m, -2)
    assert np.isfinite(np.abs(q)).all()
    return q


def test_entry_exponent_per_axis():
    m = np.array([[Z, 1.0], [0.0, 0.0], [3.0, -0.25j]])
    assert entry_exponent(m) == 1025
    assert entry_exponent(m, axis=1).tolist() == [1025, 0, 2]
    assert entry_exponent(m, axis=0).tolist() == [1025, 1]
    for e, row in zip(entry_exponent(m, axis=1), m, strict=True):
        assert np.abs(times_power_of_two(row, -e)).max() < 1.0
    assert entry_exponent(np.zeros((0, 3)), axis=0).tolist() == [0, 0, 0]


@pytest.mark.parametrize("name", sorted(MATRICES))
def test_slogdet_and_det(name):
    m = MATRICES[name]
    _overflowing(m)
    n = m.shape[0]
    got, ref = svdkit.slogdet(m), svdkit.slogdet(_quarter(m))
    assert abs(ref.sign) == pytest.approx(1.0)  # all of them non-singular
    assert got.sign == pytest.approx(ref.sign, abs=1e-12)
    assert got.logabsdet == pytest.approx(ref.logabsdet + 2 * n * LN2, rel=1e-13)
    d = svdkit.det(m)
    _no_nan(d)
    assert d != 0
    if got.logabsdet < 709.78:
        _close(d, ref.sign * math.exp(got.logabsdet), 1e-12)
    else:
        assert np.isinf(np.abs(np.complex128(d)))


def test_det_of_the_report_matrix():
    r = svdkit.slogdet(MATRICES["report"])
    assert r.sign == pytest.approx(1.0) and r.logabsdet == pytest.approx(1419.4910295730003)
    _close(svdkit.det(MATRICES["diag"]), Z, 1e-15)


@pytest.mark.parametrize("name", sorted(MATRICES))
def test_inv(name):
    m = MATRICES[name]
    try:
        ref = times_power_of_two(svdkit.inv(_quarter(m)), -2)
    except SingularMatrixError:  # cond(diag(Z, 1)) = 2e308: numerically singular
        with pytest.raises(SingularMatrixError):
            svdkit.inv(m)
        return
    got = svdkit.inv(m)
    _close(got, ref, 1e-8)
    # the identity, on M · 2^−1025 (M·X itself may overflow in its partial sums)
    e = entry_exponent(m)
    eye = times_power_of_two(m, -e) @ times_power_of_two(got, e)
    np.testing.assert_allclose(eye, np.eye(m.shape[0]), atol=1e-6)


@pytest.mark.parametrize("name", sorted(MATRICES))
def test_eig(name):
    m = MATRICES[name]
    got = svdkit.eig(m)
    ref = svdkit.eig(_quarter(m))
    key = np.argsort(np.abs(times_power_of_two(ref.values, -2)))
    order = np.argsort(np.abs(times_power_of_two(got.values, -4)))
    with np.errstate(over="ignore"):
        _close(got.values[order], times_power_of_two(ref.values, 2)[key])
    assert np.count_nonzero(got.values) == np.count_nonzero(ref.values)
    res = got.residual()
    if np.isfinite(got.values).all():
        assert res < 1e-12
    else:  # an eigenvalue past the largest float
        assert res == np.inf


def test_eig_of_the_diagonal():
    values = np.sort_complex(svdkit.eig(MATRICES["diag"]).values)
    _close(values, [1.0, Z], 1e-15)


@pytest.mark.parametrize("name", sorted(HERMITIAN))
def test_eigh(name):
    h = HERMITIAN[name]
    _overflowing(h)
    got, ref = svdkit.eigh(h), svdkit.eigh(_quarter(h))
    # (λ small beside ‖A‖ = 2e308 are rounding noise: agreement relative to ‖A‖)
    with np.errstate(over="ignore"):
        _close(got.values, times_power_of_two(ref.values, 2), scale=1e308)
    assert got.orthogonality() < 1e-14
    # ‖A‖₂ >= |hᵢⱼ| > the largest float: some eigenvalue is inf, and so Q Λ Qᴴ and the residual
    assert np.isinf(got.values).any() and got.residual() == np.inf


@pytest.mark.parametrize("name", sorted(MATRICES) + sorted(HERMITIAN))
def test_svd_rank_cond(name):
    m = {**MATRICES, **HERMITIAN}[name]
    q = _quarter(m)
    got, ref = svdkit.svd(m), svdkit.svd(q)
    with np.errstate(over="ignore"):
        _close(got.s, times_power_of_two(ref.s, 2))
    assert svdkit.rank(m) == svdkit.rank(q) == got.rank()
    c, cq = svdkit.cond(m), svdkit.cond(q)
    assert c == pytest.approx(cq, rel=1e-10) or (math.isinf(c) and math.isinf(cq))


@pytest.mark.parametrize("name", sorted(MATRICES) + sorted(HERMITIAN))
@pytest.mark.parametrize("ord", [None, "fro", 2, "nuc", 1, np.inf])
def test_matrix_norms(name, ord):
    m = {**MATRICES, **HERMITIAN}[name]
    got, ref = svdkit.norm(m, ord), svdkit.norm(_quarter(m), ord)
    assert not math.isnan(got)
    with np.errstate(over="ignore"):
        want = float(np.ldexp(ref, 2))
    assert got == pytest.approx(want, rel=1e-13) or (math.isinf(got) and math.isinf(want))


@pytest.mark.parametrize("ord", [None, 1, 2, 3, 2.5, 50, 2000, np.inf])
@pytest.mark.parametrize("v", [[Z, 1.0], [Z, -Z, 1e-300], [1e-300j, Z * 1e-308, 1.0]])
def test_vector_norms(v, ord):
    v = np.array(v)
    got = svdkit.norm(v, ord)
    scale = 4.0 if np.isinf(np.abs(v)).any() else 1.0
    ref = svdkit.norm(v / scale, ord)
    assert not math.isnan(got)
    with np.errstate(over="ignore"):
        want = ref * scale
    assert got == pytest.approx(want, rel=1e-13) or (math.isinf(got) and math.isinf(want))


def test_cosine_and_distance():
    assert svdkit.cosine([Z, 1.0], [1.0, 0.0]) == pytest.approx(math.sqrt(0.5), rel=1e-14)
    assert svdkit.cosine([Z, 1.0], [Z, 0.0]) == pytest.approx(1.0, rel=1e-14)
    u, v = np.array([Z, 1.0, -3.0]), np.array([1.0, Z * 0.5, 2.0])
    assert svdkit.cosine(u, v) == pytest.approx(svdkit.cosine(u / 4, v / 4), rel=1e-14)
    x, y = np.array([Z * 0.25, 1.0]), np.array([-Z * 0.25, 0.0])  # x − y = [Z/2, 1]
    for metric in ("euclidean", "manhattan", "chebyshev"):
        got = svdkit.distance(x, y, metric)
        assert got == pytest.approx(4 * svdkit.distance(x / 4, y / 4, metric), rel=1e-14)
    with np.errstate(over="ignore"):
        assert svdkit.distance([Z, 0.0], [0.0, 0.0]) == pytest.approx(abs(Z / 4) * 4, rel=1e-14)


@pytest.mark.parametrize("name", sorted(MATRICES) + sorted(HERMITIAN))
def test_pinv(name):
    m = {**MATRICES, **HERMITIAN}[name]
    got = svdkit.pinv(m)
    ref = times_power_of_two(svdkit.pinv(_quarter(m)), -2)
    _close(got, ref, 1e-8)


@pytest.mark.parametrize(
    "a",
    [
        np.eye(2),
        np.array([[2.0, 1.0], [1.0, 3.0]]),
        np.array([[2.0, 1.0], [1.0, 3.0]]) * 1e300,
        np.array([[2.0, 1.0], [1.0, 3.0]]) * 1e-300,
        np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
    ],
)
def test_lstsq_with_an_overflowing_b(a):
    b = np.zeros(a.shape[0], dtype=complex)
    b[0], b[1] = Z, 1.0
    got = svdkit.lstsq(a, b)
    ref = svdkit.lstsq(a, b / 4)
    with np.errstate(over="ignore"):
        _close(got.x, times_power_of_two(ref.x, 2), 1e-12)
        want_res = ref.residuals * 4
    assert math.isfinite(got.residuals)
    assert got.residuals == pytest.approx(want_res, rel=1e-6, abs=1e-14 * 1.5e308)
    # several right-hand sides: the scaled column does not disturb the others
    bb = np.stack([b, np.arange(1.0, a.shape[0] + 1)], axis=1)
    two = svdkit.lstsq(a, bb)
    _no_nan(two.x)
    assert np.isfinite(two.residuals).all()
    _close(two.x[:, 0], got.x, 1e-14)
    assert two.residuals[1] == pytest.approx(svdkit.lstsq(a, bb[:, 1]).residuals, abs=1e-12)


def test_lstsq_with_an_overflowing_matrix():
    a = MATRICES["random3"]
    b = np.array([1.0, Z, -2j])
    got, ref = svdkit.lstsq(a, b), svdkit.lstsq(_quarter(a), b)
    _close(got.x, times_power_of_two(ref.x, -2), 1e-8)
    assert got.residuals == pytest.approx(ref.residuals, abs=1e-12 * 1.5e308)


def test_column_norms():
    x = np.array([[Z, 1.0], [1.0, 0.0]])
    got = column_norms(x)
    assert np.isinf(got[0]) and got[1] == 1.0
    y = np.array([[Z / 2, 0.0], [Z / 2, 0.0]])  # |Z/2| · √2 = 1.5e308: finite
    assert column_norms(y)[0] == pytest.approx(1.5e308, rel=1e-15)
    assert column_norms(y)[1] == 0.0


@pytest.mark.parametrize("name", sorted(HERMITIAN))
def test_definiteness(name):
    h = HERMITIAN[name]
    got, ref = svdkit.definiteness(h), svdkit.definiteness(_quarter(h))
    assert got.kind == ref.kind == "indefinite"


def test_definiteness_refuses_a_non_hermitian_one_clearly():
    with pytest.raises(SvdkitError, match="Hermitian"):
        svdkit.definiteness(MATRICES["diag"])
    with pytest.raises(SvdkitError, match="Hermitian"):
        svdkit.definiteness(np.array([[1.0, Z], [Z, 1.0]]))  # complex symmetric
    sym = svdkit.definiteness(MATRICES["diag"], symmetrize=True)
    assert sym.kind == svdkit.definiteness(_quarter(MATRICES["diag"]), symmetrize=True).kind


@pytest.mark.parametrize("name", sorted(HERMITIAN))
def test_cholesky_refuses_clearly(name):
    # a Hermitian matrix with |hᵢⱼ| > max hᵢᵢ is never positive (semi)definite
    for semidefinite in (False, True):
        with pytest.raises(SvdkitError):
            svdkit.cholesky(HERMITIAN[name], semidefinite=semidefinite)
