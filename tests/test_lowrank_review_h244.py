"""Review of the lowrank edges (0acc129): what a wrapper passes on, what ``auto`` spends
on an operator without adjoint, the dot test at extreme scales, rank_by_tolerance's
names.

* ``rank_norm="spectral"`` without ``rank_tol`` — the documented default, passed on by
  a wrapper with its own defaults — was refused; only ``"energy"`` is.
* ``method="auto"`` on a LinearOperator with only ``matvec`` densified it by ``n``
  products at any size (4000×3000: 3000 products, 32 s); it does so only where a dense
  array of that size would take LAPACK, and is refused, naming ``method='lapack'``,
  elsewhere.
* The dot test squared entries of size 1e-170 to 0 (and of 1e160 to inf): a wrong
  adjoint got through and the run never converged. The products are scaled by a
  power of two first.
* ``rank_by_tolerance``'s errors began with ``rank_tol=…``, not its own ``eps=…``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator

from svdkit.errors import ConvergenceError, SvdkitError
from svdkit.lowrank import as_operator, choose_method, rank_by_tolerance, truncated_svd

# ------------------------------------------------------------------------------ rank_norm


def _wrapper(A, k, rank_tol=None, rank_norm="spectral"):
    """A third-party wrapper: its own defaults, passed on as they are."""
    return truncated_svd(A, k, rank_tol=rank_tol, rank_norm=rank_norm, method="krylov")


def test_rank_norm_spectral_without_rank_tol_is_the_default():
    A = np.random.default_rng(0).standard_normal((60, 40))
    r = _wrapper(A, 3)
    plain = truncated_svd(A, 3, method="krylov")
    np.testing.assert_array_equal(r.s, plain.s)
    assert r.converged and r.rank_norm is None and r.rank_tol is None
    # the norm that would be silently ignored is still named
    with pytest.raises(SvdkitError, match="rank_norm='energy' needs rank_tol"):
        _wrapper(A, 3, rank_norm="energy")
    # and with rank_tol the norm chooses k, as before
    assert _wrapper(A, None, rank_tol=0.5, rank_norm="energy").rank_norm == "energy"


# ------------------------------------------------------------------------------ auto, no adjoint


def _matvec_only(A: np.ndarray, calls: list[int]) -> LinearOperator:
    def matvec(v):
        calls[0] += 1
        return A @ v

    return LinearOperator(A.shape, matvec=matvec, dtype=A.dtype)


def test_auto_does_not_densify_a_large_operator_without_adjoint():
    A = np.random.default_rng(0).standard_normal((300, 200))  # 60000 entries > 2¹⁴
    calls = [0]
    L = _matvec_only(A, calls)
    assert choose_method(as_operator(L), 5, 1e-6) == "krylov"
    with pytest.raises(SvdkitError, match="no adjoint product") as info:
        truncated_svd(L, 5)
    assert "method='lapack'" in str(info.value)
    assert calls[0] == 0  # refused before any product
    # asked for by name, it runs (n products)
    r = truncated_svd(L, 5, method="lapack")
    assert r.converged and calls[0] == 200
    np.testing.assert_allclose(r.s, np.linalg.svd(A, compute_uv=False)[:5], rtol=1e-12)


@pytest.mark.parametrize(("shape", "k"), [((120, 100), 3), ((300, 200), 101)])
def test_auto_densifies_an_operator_without_adjoint_where_a_dense_array_takes_lapack(shape, k):
    A = np.random.default_rng(1).standard_normal(shape)
    assert choose_method(as_operator(A), k, 1e-6) == "lapack"  # the dense rule
    calls = [0]
    r = truncated_svd(_matvec_only(A, calls), k)
    assert r.method == "lapack" and r.converged and "method auto → lapack" in r.notes
    assert calls[0] == shape[1]
    np.testing.assert_allclose(r.s, np.linalg.svd(A, compute_uv=False)[:k], rtol=1e-12)


def test_auto_in_rank_mode_refuses_a_large_operator_without_adjoint():
    A = np.random.default_rng(2).standard_normal((300, 200))
    calls = [0]
    with pytest.raises(SvdkitError, match="no adjoint product"):
        truncated_svd(_matvec_only(A, calls), rank_tol=0.5)
    assert calls[0] == 0


# ------------------------------------------------------------------------------ dot test scale


SCALES = [1e-300, 1e-200, 1e-170, 1e160, 1e200, 1e300]


def _operator(A: np.ndarray, wrong: bool) -> LinearOperator:
    perm = np.random.default_rng(5).permutation(A.shape[0])

    def rmatvec(y):
        return A.conj().T @ (y[perm] if wrong else y)

    return LinearOperator(A.shape, matvec=lambda v: A @ v, rmatvec=rmatvec, dtype=A.dtype)


@pytest.mark.parametrize("scale", SCALES)
def test_a_wrong_adjoint_is_named_at_any_scale(scale):
    A = np.random.default_rng(3).standard_normal((120, 80)) * scale
    # (max_iter: before, the run went on to a ConvergenceError after 2500 iterations)
    with pytest.raises(SvdkitError, match="is not the adjoint of its matvec") as info:
        truncated_svd(_operator(A, wrong=True), 3, method="krylov", max_iter=5)
    assert not isinstance(info.value, ConvergenceError)
    msg = str(info.value)
    # the inner products quoted at the operator's own scale, not the scaled ones
    exponent = int(np.floor(np.log10(scale)))
    assert any(f"e{exponent + d:+03d}" in msg for d in (0, 1, 2)), msg


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_an_honest_adjoint_passes_at_any_scale(scale, dtype):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((120, 80)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        A = A + 1j * rng.standard_normal((120, 80))
    A = A * scale
    r = truncated_svd(_operator(A, wrong=False), 3, method="krylov")
    assert r.converged
    exact = np.linalg.svd(A / scale, compute_uv=False)[:3]
    np.testing.assert_allclose(r.s / scale, exact, rtol=1e-6)


def test_a_complex_transpose_without_conjugate_is_named_when_tiny():
    rng = np.random.default_rng(6)
    A = (rng.standard_normal((90, 60)) + 1j * rng.standard_normal((90, 60))) * 1e-200
    L = LinearOperator(A.shape, matvec=lambda v: A @ v, rmatvec=lambda y: A.T @ y, dtype=A.dtype)
    with pytest.raises(SvdkitError, match="is not the adjoint"):
        truncated_svd(L, 2, method="krylov", max_iter=5)


# ------------------------------------------------------------------------------ eps


@pytest.mark.parametrize("norm", ["spectral", "energy"])
def test_rank_by_tolerance_errors_name_eps_in_both_halves(norm):
    A = np.random.default_rng(0).standard_normal((60, 40))
    with pytest.raises(ConvergenceError) as info:
        rank_by_tolerance(A, 1e-6, norm, k=3)
    msg = str(info.value)
    assert msg == (
        f"eps=1e-06 ({norm}) needs more than the k=3 triplets allowed; raise k or loosen eps"
    )
    assert "rank_tol" not in msg and "rank_tol" not in info.value.finding
    assert info.value.result.k == 3  # the work is kept
