"""Audit property tests: the public numerical API against the shape classes the other
property files leave out.

``test_properties.py``, ``test_review_properties.py``, ``test_exact_properties.py`` and
``test_lowrank_properties.py`` cover svd / pinv / lstsq / inv / det / trace / rank /
norms / cond (2-norm) / cosine / distance / subspaces / eig / eigh / definiteness on
float64 and complex128 matrices up to 8×8, and truncated_svd on 40…140-sized
matrices. What they do not cover, and this file does:

* **empty-ish** inputs (0×n, n×0, 0×0, empty vectors) for every public matrix
  function, numeric, exact and large-scale: a clear ``SvdkitError``, never a LAPACK
  traceback nor a silent answer;
* :func:`svdkit.slogdet` (no property test at all): against ``det``, against
  ``Σ log σᵢ``, multiplicativity, exact power-of-two scaling far beyond float64;
  ``det`` and ``slogdet`` agree on exactly singular integer matrices;
* :func:`svdkit.cond` in the 1, ∞, Frobenius and nuclear norms (and its equivalences);
* **float32 / complex64** input: the documented upcast (the result *is* the float64
  result of the upcast matrix) and the identities on it;
* vector p-norms for p ∉ {1, 2, ∞}, large p included (against an overflow- and
  underflow-free evaluation, monotone in p, Hölder, Minkowski);
* ``eig`` on normal matrices (``σᵢ = |λᵢ|``), ``Eig.reconstruct``, ``eig`` vs ``eigh``,
  ``is_diagonalizable`` on distinct eigenvalues;
* the ``is_*`` predicates on the factors of decompositions (``U``, ``V`` orthonormal,
  rectangular ``Σ`` diagonal, ``AᴴA`` Hermitian and normal), complex symmetric vs
  Hermitian, sparse vs dense;
* definiteness of **ill-conditioned** (κ up to 1e12, with exact zero eigenvalues)
  Hermitian matrices and of the symmetrised part of non-symmetric ones, with every
  witness recomputed; the definite and semidefinite Cholesky on them;
* pinv identities beyond Penrose (``(A⁺)ᴴ = (Aᴴ)⁺``, ``(A⁺)⁺ = A``, ``(cA)⁺ = A⁺/c``)
  and lstsq with a matrix right-hand side;
* sparse input (``svd(A, k)`` through ARPACK, ``trace``, ``norm``) against dense;
* the exact engine on **complex (Gaussian-integer) and Fraction** input for subspaces,
  eigh, definiteness, inv, lstsq, norms, rref; ``det(AB) = det A det B`` and
  ``Tr(AB) = Tr(BA)`` exactly;
* :func:`svdkit.lowrank.truncated_svd` on **tiny and awkward** shapes (1×1, 1×n, n×1,
  wide, ``k = 0`` and ``k = min(m, n)``), float32 / complex64, rank-deficient,
  κ ≈ 1e12 and zero matrices, every method, certificate recomputed independently
  (and the Rayleigh identity for the error); :func:`rank_by_tolerance` is the
  smallest rank meeting its tolerance; :func:`as_operator`'s block products for every
  input kind (dense, Fortran, single, CSR, CSC, LinearOperator, ``.npy``);
* LoRA: :func:`svdkit.lora.resize.factor_spectrum` is the thin SVD of ``scale · B A``
  for any rank (``r > min(out, in)`` included), :func:`analyse_adapter`'s spectra and
  ranks, :func:`resize` is Eckart–Young; LSI: every indexed document folds in onto
  its own vector (``W V = U Σ``), and the recorded reconstruction error is recomputed.

Tolerances follow the first-order model of ``conftest.py``: ``SAFETY · max(m, n) · eps``
relative to the size of what is compared (times κ where the quantity is sensitive).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sps
import sympy as sp
from conftest import _dense, _orthogonal  # (tests/ is on sys.path under pytest)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_exact_properties import assert_four_subspaces

import svdkit
import svdkit.exact as ex
from svdkit import EmptyInputError, NotPositiveDefiniteError, ShapeError, SvdkitError
from svdkit.errors import ConvergenceError
from svdkit.lowrank import rank_by_tolerance, truncated_svd

EPS = float(np.finfo(np.float64).eps)
SAFETY = 100.0
PIVOT_SLACK = 1e-10


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# --------------------------------------------------------------------------------------
# Strategies and independent checks
# --------------------------------------------------------------------------------------

_floats = st.floats(-10, 10, allow_nan=False, allow_infinity=False, allow_subnormal=False).map(
    lambda x: 0.0 if abs(x) < 1e-6 else x
)
_ints = st.integers(-3, 3).map(float)
#: 1×1, a row, a column, square, tall, wide.
_shapes = st.sampled_from(
    [(1, 1), (1, 2), (2, 1), (1, 5), (5, 1), (2, 2), (3, 3), (4, 4), (5, 3), (3, 5), (2, 6)]
)
_square = st.sampled_from([(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)])


@st.composite
def matrices(draw, shape=None, complex_=None, families=("general", "deficient", "illcond", "zero")):
    """A general, rank-deficient (``C @ D``, integer factors), ill-conditioned
    (``U diag(logspace(0, −e)) Vᴴ``, ``e ≤ 12``) or zero matrix."""
    m, n = draw(_shapes) if shape is None else shape
    complex_ = draw(st.booleans()) if complex_ is None else complex_
    family = draw(st.sampled_from(families))
    if family == "deficient" and min(m, n) < 2:
        family = "general"
    if family == "general":
        return draw(_dense((m, n), _floats, complex_))
    if family == "deficient":
        k = draw(st.integers(1, min(m, n) - 1))
        return draw(_dense((m, k), _ints, complex_)) @ draw(_dense((k, n), _ints, complex_))
    if family == "illcond":
        e = draw(st.integers(1, 12))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        p = min(m, n)
        u = _orthogonal(rng, m, complex_)[:, :p]
        v = _orthogonal(rng, n, complex_)[:, :p]
        return (u * np.logspace(0, -e, p)) @ v.conj().T
    return np.zeros((m, n), complex if complex_ else float)


def unit(A) -> float:
    return SAFETY * max(np.shape(A) or (1,)) * EPS


def sigma(A) -> np.ndarray:
    return np.linalg.svd(np.asarray(A, dtype=np.result_type(A, np.float64)), compute_uv=False)


def atol(A) -> float:
    s = sigma(A)
    return unit(A) * (float(s[0]) if s.size else 0.0)


def kappa(A) -> float:
    """κ over the σ above NumPy's rank threshold (1 for the zero matrix)."""
    s = sigma(A)
    if not s.size or s[0] == 0:
        return 1.0
    keep = s[s > max(np.shape(A)) * EPS * s[0]]
    return float(keep[0] / keep[-1])


def np_rank(A) -> int:
    s = sigma(A)
    return int(np.count_nonzero(s > max(np.shape(A)) * EPS * s[0])) if s.size and s[0] else 0


def gap(x, y) -> float:
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == y.shape, (x.shape, y.shape)
    return float(np.linalg.norm((x - y).ravel())) if x.size else 0.0


def assert_orthonormal(Q: np.ndarray, what: str) -> None:
    k = Q.shape[1]
    loss = np.linalg.norm(Q.conj().T @ Q - np.eye(k)) if k else 0.0
    assert loss <= unit(Q), f"{what}: ‖QᴴQ − I‖ = {loss:.2e}"


def assert_sign_rule(Q: np.ndarray, what: str) -> None:
    for j in range(Q.shape[1]):
        col = Q[:, j]
        mags = np.abs(col)
        if not mags.max():
            continue
        p = complex(col[np.flatnonzero(mags >= mags.max() * (1 - PIVOT_SLACK))[0]])
        assert p.real > 0 and abs(p.imag) <= 4 * EPS * abs(p), f"{what}[:, {j}] pivot {p}"


def clear_rank(A) -> bool:
    """No σ within a factor 1e3 of the rank threshold (the rank is not a coin toss)."""
    s = sigma(A)
    if not s.size or s[0] == 0:
        return True
    thr = max(np.shape(A)) * EPS * s[0]
    return not np.any((s > thr / 1e3) & (s < thr * 1e3))


# --------------------------------------------------------------------------------------
# Empty-ish input: a clear SvdkitError from every public matrix function
# --------------------------------------------------------------------------------------


def _rows(A) -> int:
    return A.shape[0] if hasattr(A, "shape") else len(A)


_NUMERIC_NAMES = """svd pinv rank norm cond det slogdet trace eig eigh inv left_inverse
    right_inverse subspaces definiteness cholesky is_diagonal is_diagonalizable is_hermitian
    is_normal is_orthonormal is_symmetric""".split()
_NUMERIC = {name: getattr(svdkit, name) for name in _NUMERIC_NAMES} | {
    "svd k=0": lambda A: svdkit.svd(A, 0),
    "svd full": lambda A: svdkit.svd(A, full=True),
    "lstsq": lambda A: svdkit.lstsq(A, np.zeros(_rows(A))),
    "truncated_svd": lambda A: truncated_svd(A, 0),
    "rank_by_tolerance": lambda A: rank_by_tolerance(A, 0.1),
}
_EXACT_NAMES = "det trace rank rref inv pinv eigh svd subspaces definiteness norm".split()
_EXACT = {name: getattr(ex, name) for name in _EXACT_NAMES} | {
    "lstsq": lambda A: ex.lstsq(A, [[0]] * _rows(A)),
}
_EMPTY_SHAPES = st.sampled_from([(0, 0), (0, 1), (1, 0), (0, 4), (4, 0), (0, 3), (3, 0)])


@_settings(30)
@given(
    shape=_EMPTY_SHAPES,
    name=st.sampled_from(sorted(_NUMERIC)),
    form=st.sampled_from(["dense", "complex", "float32", "sparse", "list"]),
)
def test_empty_inputs_raise_a_clear_error(shape, name, form):
    A = np.zeros(shape, {"complex": complex, "float32": np.float32}.get(form, float))
    if form == "sparse":
        A = sps.csr_matrix(A)
    elif form == "list":
        A = A.tolist()
    with pytest.raises(SvdkitError, match="empty"):
        _NUMERIC[name](A)


@_settings(12)
@given(shape=_EMPTY_SHAPES, name=st.sampled_from(sorted(_EXACT)))
def test_exact_empty_inputs_raise_a_clear_error(shape, name):
    with pytest.raises(SvdkitError):
        _EXACT[name](np.zeros(shape, dtype=int))


def test_empty_vectors_raise_a_clear_error():
    for call in (
        lambda: svdkit.cosine([], []),
        lambda: svdkit.distance([], []),
        lambda: svdkit.norm(np.zeros(0)),
        lambda: svdkit.norm(np.zeros(0), 3),
    ):
        with pytest.raises(EmptyInputError):
            call()


# --------------------------------------------------------------------------------------
# slogdet
# --------------------------------------------------------------------------------------


@_settings(80)
@given(data=st.data())
def test_slogdet_against_det_and_singular_values(data):
    A = data.draw(matrices(shape=data.draw(_square, label="n")), label="A")
    n = A.shape[0]
    r = svdkit.slogdet(A)
    sign, logabs = r  # unpacks in NumPy's order
    assert (sign, logabs) == (r.sign, r.logabsdet)
    assert isinstance(logabs, float)
    assert isinstance(sign, complex) == bool(np.iscomplexobj(A))
    s = sigma(A)
    e = atol(A)
    d = svdkit.det(A)
    dtol = float(np.prod(s + e) - np.prod(s))  # Ipsen–Rehman: LU's error on det
    if sign == 0:
        assert logabs == -np.inf and r.value == 0 and r.text() == "0"
        assert s[-1] <= e  # only a (numerically) singular matrix has a zero pivot
        assert abs(d) <= 2 * dtol
        return
    assert abs(abs(sign) - 1) <= 4 * EPS
    if not np.iscomplexobj(A):
        assert sign in (1.0, -1.0)
    # |det A| = ∏σᵢ: log|det(A + E)| − Σ log σᵢ ∈ [Σ log(1 − e/σᵢ), Σ log(1 + e/σᵢ)] (Weyl).
    if s[-1] > 2 * e:
        lo = float(np.sum(np.log1p(-e / s)))
        hi = float(np.sum(np.log1p(e / s)))
        ref = float(np.sum(np.log(s)))
        assert ref + 2 * lo - 1e-12 <= logabs <= ref + 2 * hi + 1e-12, (logabs, ref, lo, hi)
    # value = sign · e^logabs is det (both within the Ipsen–Rehman bound of LU's
    # backward error), and log10abs is log|det| / ln 10
    assert abs(r.value - d) <= 2 * dtol + abs(d) * abs(logabs) * 4 * EPS + 1e-300
    assert r.log10abs == pytest.approx(logabs / math.log(10), rel=1e-15, abs=1e-300)
    # Scaling by 2^k is exact for LU: (sign, log) → (sign, log + n k ln 2), far beyond float64
    k = data.draw(st.sampled_from([-600, -300, 300, 600]), label="k")
    rs = svdkit.slogdet(
        np.ldexp(A.real, k) + (1j * np.ldexp(A.imag, k) if np.iscomplexobj(A) else 0)
    )
    assert rs.sign == sign
    assert abs(rs.logabsdet - (logabs + n * k * math.log(2))) <= 1e-12 * (abs(logabs) + n * abs(k))
    assert np.isfinite(rs.logabsdet)
    mantissa_text = rs.text()
    assert ("e+" in mantissa_text) if k > 0 else ("e-" in mantissa_text)


@_settings(60)
@given(data=st.data())
def test_det_and_slogdet_agree_on_exact_singularity(data):
    """An integer matrix with a row a multiple of another is exactly singular: det and
    slogdet (documented: ``slogdet(A).value`` is "the determinant as det gives it")
    must agree on it — both 0, or both non-zero within rounding, never one of each."""
    n = data.draw(st.integers(2, 4), label="n")
    complex_ = data.draw(st.booleans(), label="complex")
    A = data.draw(_dense((n, n), st.integers(-5, 5).map(float), complex_), label="A")
    i, j = data.draw(st.permutations(range(n)), label="rows")[:2]
    c = data.draw(st.sampled_from([1.0, -1.0, 2.0, 3.0, 0.5]), label="c")
    A[j] = c * A[i]
    d, r = svdkit.det(A), svdkit.slogdet(A)
    assert abs(d) <= 2 * (np.prod(sigma(A) + atol(A)) - np.prod(sigma(A)))  # ≈ 0 anyway
    assert (d == 0) == (r.sign == 0), f"det(A) = {d!r} but slogdet(A) = {r!r}"
    assert d == r.value or abs(d - r.value) <= 2 * (np.prod(sigma(A) + atol(A)) - np.prod(sigma(A)))


@_settings(60)
@given(data=st.data())
def test_slogdet_is_multiplicative(data):
    shape = data.draw(_square, label="n")
    complex_ = data.draw(st.booleans(), label="complex")
    A = data.draw(matrices(shape, complex_, ("general", "illcond")), label="A")
    B = data.draw(matrices(shape, complex_, ("general", "illcond")), label="B")
    assume(kappa(A) < 1e6 and kappa(B) < 1e6 and np_rank(A) == np_rank(B) == shape[0])
    n = shape[0]
    a, b, ab = svdkit.slogdet(A), svdkit.slogdet(B), svdkit.slogdet(A @ B)
    # log|det| moves by ≤ Σ δσᵢ/σᵢ ≤ n ‖E‖/σₙ; forming AB costs ‖E‖ ≈ eps ‖A‖‖B‖ and
    # σₙ(AB) ≥ σₙ(A)σₙ(B): κ(A)κ(B)
    tol = unit(A) * n * (kappa(A) + kappa(B) + kappa(A) * kappa(B))
    assert abs(ab.logabsdet - (a.logabsdet + b.logabsdet)) <= tol
    assert abs(complex(ab.sign) - complex(a.sign) * complex(b.sign)) <= tol
    # det(Aᴴ) = conj(det A), det(A⁻¹) = 1 / det A
    h = svdkit.slogdet(A.conj().T)
    assert abs(h.logabsdet - a.logabsdet) <= unit(A) * n * kappa(A)
    assert abs(complex(h.sign) - np.conj(complex(a.sign))) <= unit(A) * n * kappa(A)
    i = svdkit.slogdet(np.linalg.inv(A))
    assert abs(i.logabsdet + a.logabsdet) <= unit(A) * n * kappa(A) ** 2
    assert abs(complex(i.sign) * complex(a.sign) - 1) <= unit(A) * n * kappa(A) ** 2


# --------------------------------------------------------------------------------------
# cond in every norm
# --------------------------------------------------------------------------------------

_COND_ORDS = (1, np.inf, "fro", "nuc", 2)


@_settings(80)
@given(data=st.data())
def test_cond_in_every_norm(data):
    A = data.draw(matrices(shape=data.draw(_square, label="n")), label="A")
    n = A.shape[0]
    k2 = kappa(A)
    full = np_rank(A) == n and clear_rank(A)
    if np_rank(A) < n and clear_rank(A) and k2 < 1e10:
        # exactly singular by construction (integer factors) or zero: inf in every norm
        for o in _COND_ORDS:
            assert svdkit.cond(A, o) == np.inf, o
        return
    assume(full and k2 < 1e12)
    c = {o: svdkit.cond(A, o) for o in _COND_ORDS}
    Ainv = np.linalg.inv(A)
    u = unit(A) * k2
    for o in _COND_ORDS:
        ref = np.linalg.norm(A, o) * np.linalg.norm(Ainv, o)
        assert abs(c[o] - ref) <= u * ref, (o, c[o], ref)
        assert c[o] >= 1 - u
        # κ(cA) = κ(A), κ(A⁻¹) = κ(A)
        assert svdkit.cond(-3.0 * A, o) == pytest.approx(c[o], rel=u)
        if k2 < 1e6:
            assert svdkit.cond(Ainv, o) == pytest.approx(c[o], rel=u * k2)
    assert c[2] == pytest.approx(k2, rel=u)
    # κ₁(A) = κ∞(Aᴴ); κ_F ≥ n (Cauchy–Schwarz on Σσᵢ² Σσᵢ⁻²); norm equivalences
    assert svdkit.cond(A.conj().T, np.inf) == pytest.approx(c[1], rel=u)
    le = lambda x, y: x <= y * (1 + u)  # noqa: E731
    assert le(n, c["fro"]) and le(c[2], c["fro"]) and le(c["fro"], n * c[2])
    assert le(c[2], c["nuc"]) and le(c["nuc"], n * n * c[2])
    assert le(c[1] / n, c[2]) and le(c[2], n * c[1])
    assert le(c[np.inf] / n, c[2]) and le(c[2], n * c[np.inf])


@_settings(20)
@given(data=st.data())
def test_cond_of_a_rectangular_matrix(data):
    shape = data.draw(st.sampled_from([(2, 3), (4, 1), (1, 3), (5, 2)]), label="shape")
    A = data.draw(matrices(shape=shape), label="A")
    m, n = A.shape
    s = sigma(A)
    if np_rank(A) == min(m, n) and clear_rank(A):
        assert svdkit.cond(A) == pytest.approx(s[0] / s[-1], rel=unit(A) * kappa(A))
    elif clear_rank(A):
        assert svdkit.cond(A) == np.inf
    for o in (1, np.inf, "fro", "nuc"):
        with pytest.raises(ShapeError):
            svdkit.cond(A, o)


# --------------------------------------------------------------------------------------
# float32 / complex64 input: the documented upcast, and the identities on it
# --------------------------------------------------------------------------------------


@_settings(60)
@given(data=st.data())
def test_single_precision_input_is_the_upcast_matrix(data):
    A64 = data.draw(matrices(), label="A")
    A = A64.astype(np.complex64 if np.iscomplexobj(A64) else np.float32)
    B = A.astype(np.result_type(A.dtype, np.float64))  # exact
    m, n = A.shape
    r, rb = svdkit.svd(A), svdkit.svd(B)
    assert r.U.dtype == rb.U.dtype and r.s.dtype == np.float64
    for x, y in ((r.U, rb.U), (r.s, rb.s), (r.Vh, rb.Vh)):
        assert np.array_equal(x, y)
    tol = atol(B)
    assert gap((r.U * r.s) @ r.Vh, B) <= tol
    assert_orthonormal(r.U, "U")
    assert_orthonormal(r.V, "V")
    assert_sign_rule(r.U, "U")
    # the same decomposition; its decisions at the data's precision (rule_dtype): the
    # rule's eps is float32's, the threshold max(m, n)·eps₃₂·σ₁
    thr32 = max(m, n) * float(np.finfo(np.float32).eps) * float(rb.s[0])
    assert svdkit.rank(A) == svdkit.rank(B, tol=thr32) == svdkit.subspaces(A).rank
    X = svdkit.pinv(A)
    assert X.dtype == rb.U.dtype and np.array_equal(X, svdkit.pinv(B, tol=thr32))
    u, k = unit(B), kappa(B)
    assert gap(B @ X @ B, B) <= u * k * sigma(B)[0] + 1e-300
    assert gap((B @ X).conj().T, B @ X) <= u * k
    for o in ("fro", 2, "nuc", 1, np.inf):
        assert svdkit.norm(A, o) == svdkit.norm(B, o)
    assert svdkit.cond(A) == (np.inf if rb.s[-1] <= thr32 else svdkit.cond(B))
    if m == n:
        assert svdkit.det(A) == svdkit.det(B)
        assert svdkit.slogdet(A).logabsdet == svdkit.slogdet(B).logabsdet
        assert svdkit.trace(A) == svdkit.trace(B)
        e = svdkit.eig(A)
        assert np.array_equal(e.values, svdkit.eig(B).values)
        assert e.residual() <= unit(B) * 1e4
        H = (A + A.conj().T) / 2  # stays single precision
        assert H.dtype == A.dtype
        h = svdkit.eigh(H)
        assert h.values.dtype == np.float64
        Hb = H.astype(B.dtype)
        assert gap(h.reconstruct(), Hb) <= atol(Hb)
        lam = float(np.abs(np.linalg.eigvalsh(Hb)).max())
        thr_h = n * float(np.finfo(np.float32).eps) * lam
        assert str(svdkit.definiteness(H).kind) == str(svdkit.definiteness(Hb, tol=thr_h).kind)


@_settings(40)
@given(data=st.data())
def test_single_precision_vectors(data):
    n = data.draw(st.integers(1, 6), label="n")
    complex_ = data.draw(st.booleans(), label="complex")
    u64 = data.draw(_dense((n,), _floats, complex_), label="u")
    v64 = data.draw(_dense((n,), _floats, complex_), label="v")
    dt = np.complex64 if complex_ else np.float32
    u, v = u64.astype(dt), v64.astype(dt)
    ub = u.astype(np.complex128 if complex_ else np.float64)
    vb = v.astype(ub.dtype)
    for p in (1, 2, np.inf, 3):
        assert svdkit.norm(u, p) == pytest.approx(np.linalg.norm(ub, p), rel=1e-14)
    for metric in ("euclidean", "manhattan", "chebyshev"):
        assert svdkit.distance(u, v, metric) == svdkit.distance(ub, vb, metric)
    if np.any(ub) and np.any(vb):
        assert svdkit.cosine(u, v) == svdkit.cosine(ub, vb)


# --------------------------------------------------------------------------------------
# Vector p-norms
# --------------------------------------------------------------------------------------


def _p_norm(v: np.ndarray, p: float) -> float:
    """``‖v‖_p = M (Σ (|vᵢ|/M)^p)^(1/p)``, ``M = max |vᵢ|``: the largest term is 1, so the
    sum neither underflows to 0 nor overflows, for any p (NumPy's sum of |vᵢ|^p does both)."""
    a = np.abs(v)
    M = float(a.max()) if a.size else 0.0
    if M == 0 or p == np.inf:
        return M
    return M * float(np.sum((a / M) ** p)) ** (1 / p)


_P = st.one_of(st.floats(1.0, 8.0), st.sampled_from([1.5, 3.0, 100.0, 1e3, 2e3, 1e5, 1e16]))


@_settings(60)
@given(data=st.data(), p=_P, q=_P)
def test_vector_p_norms_monotone_and_hoelder(data, p, q):
    n = data.draw(st.integers(1, 8), label="n")
    complex_ = data.draw(st.booleans(), label="complex")
    v = data.draw(_dense((n,), _floats, complex_), label="v")
    w = data.draw(_dense((n,), _floats, complex_), label="w")
    scale = data.draw(st.sampled_from([1.0, 1e150, 1e-150]), label="scale")
    v = v * scale
    u = unit(v) * 10
    pstar = p / (p - 1) if p > 1 else np.inf  # Hölder conjugate (huge for p near 1)
    # ‖x‖_p against an independent evaluation, for every p: ‖x‖_∞ ≤ ‖x‖_p ≤ n^(1/p) ‖x‖_∞,
    # so a non-zero vector never has norm 0 (nor inf), however large p is
    for x in (v, w):
        for r in (p, q, pstar):
            got, ref = svdkit.norm(x, r), _p_norm(x, r)
            assert abs(got - ref) <= u * ref, f"‖{x.tolist()}‖_{r} = {got}, expected {ref}"
    nv = svdkit.norm(v, p)
    assert np.isfinite(nv) and (nv == 0) == (not np.any(v))
    # monotone: p ≤ q ⇒ ‖v‖_∞ ≤ ‖v‖_q ≤ ‖v‖_p ≤ n^(1/p − 1/q) ‖v‖_q
    lo, hi = min(p, q), max(p, q)
    a, b = svdkit.norm(v, lo), svdkit.norm(v, hi)
    vmax = svdkit.norm(v, np.inf)
    assert vmax == float(np.abs(v).max())
    assert vmax <= b * (1 + u) and b <= a * (1 + u)
    assert a <= n ** (1 / lo - 1 / hi) * b * (1 + u)
    assert nv <= n ** (1 / p) * vmax * (1 + u)
    # Hölder: |⟨v, w⟩| ≤ ‖v‖_p ‖w‖_p* with 1/p + 1/p* = 1
    lhs = abs(np.vdot(v / scale, w))
    assert lhs <= svdkit.norm(v / scale, p) * svdkit.norm(w, pstar) * (1 + u) + 1e-300
    # Minkowski
    assert svdkit.norm(v + w * scale, p) <= (nv + svdkit.norm(w * scale, p)) * (1 + u)


# --------------------------------------------------------------------------------------
# eig: normal matrices, reconstruction, eig vs eigh, diagonalisability
# --------------------------------------------------------------------------------------


@st.composite
def normal_matrices(draw):
    """``Q diag(λ) Qᴴ`` with Haar Q and complex (or real) λ: a normal matrix, λ known."""
    n = draw(st.integers(1, 5))
    complex_ = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    Q = _orthogonal(rng, n, True)
    re = np.array(draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n)))
    im = np.array(draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n))) if complex_ else 0
    lam = re + 1j * im
    return (Q * lam) @ Q.conj().T, lam


@_settings(60)
@given(Al=normal_matrices())
def test_normal_matrices_have_sigma_equal_to_abs_lambda(Al):
    A, lam = Al
    n = A.shape[0]
    assert svdkit.is_normal(A)
    assert svdkit.is_diagonalizable(A)
    s = svdkit.svd(A).s
    assert gap(s, np.sort(np.abs(lam))[::-1]) <= atol(A) * 10
    r = svdkit.eig(A)
    assert gap(np.sort_complex(r.values), np.sort_complex(lam)) <= atol(A) * 10 * n or (
        # a cluster of close eigenvalues may order differently: compare as multisets by σ
        gap(np.sort(np.abs(r.values)), np.sort(np.abs(lam))) <= atol(A) * 10 * n
    )
    assert gap(A @ r.vectors, r.vectors * r.values) <= atol(A) * 10 * n
    assert (
        abs(np.prod(r.values) - svdkit.det(A)) <= (np.prod(s + atol(A)) - np.prod(s)) * 4 + 1e-300
    )
    # distinct eigenvalues: the unit eigenvectors of a normal matrix are orthonormal
    d = np.abs(lam[:, None] - lam[None, :]) + np.eye(n) * 1e9
    if d.min() > 1e-3 * max(1.0, np.abs(lam).max()):
        loss = np.linalg.norm(r.vectors.conj().T @ r.vectors - np.eye(n))
        assert loss <= unit(A) * np.abs(lam).max() / d.min() * 10
        assert gap(r.reconstruct(), A) <= atol(A) * 10 * n * np.abs(lam).max() / d.min()


@_settings(60)
@given(data=st.data())
def test_eig_reconstruct_and_diagonalizable(data):
    A = data.draw(matrices(shape=data.draw(_square, label="n"), families=("general", "illcond")))
    n = A.shape[0]
    r = svdkit.eig(A)
    vals = r.values
    # distinct eigenvalues (by a margin) ⇒ diagonalisable and V Λ V⁻¹ = A
    sep = min((abs(vals[i] - vals[j]) for i in range(n) for j in range(i)), default=np.inf)
    nA = sigma(A)[0]
    assume(sep > 1e-4 * nA)
    assert svdkit.is_diagonalizable(A)
    kV = float(np.linalg.cond(r.vectors))
    assert gap(r.reconstruct(), A) <= atol(A) * kV * 100
    assert r.residual() <= unit(A) * 1e4
    # eig of the Hermitian part: real, equal to eigh's (both ascending)
    H = (A + A.conj().T) / 2
    e, h = svdkit.eig(H), svdkit.eigh(H)
    assert np.isrealobj(e.values) or np.all(np.abs(e.values.imag) <= atol(H) * 10)
    assert gap(np.sort(np.real(e.values)), h.values) <= atol(H) * 10 * n
    assert abs(np.sum(h.values) - svdkit.trace(H).real) <= atol(H) * n


# --------------------------------------------------------------------------------------
# Structure predicates on the factors of decompositions
# --------------------------------------------------------------------------------------


@_settings(80)
@given(data=st.data())
def test_predicates_on_decomposition_factors(data):
    A = data.draw(matrices(), label="A")
    m, n = A.shape
    p = min(m, n)
    thin = svdkit.svd(A)
    full = svdkit.svd(A, full=True)
    assert svdkit.is_orthonormal(thin.U) and svdkit.is_orthonormal(thin.V)
    assert svdkit.is_orthonormal(full.U) and svdkit.is_orthonormal(full.V)
    assert svdkit.is_orthonormal(full.U.conj().T) and svdkit.is_orthonormal(full.Vh)
    if m > p:  # Uᴴ is wide (p × m, p < m): a wide matrix never has orthonormal columns
        assert not svdkit.is_orthonormal(thin.U.conj().T)
    assert svdkit.is_diagonal(full.Sigma) and svdkit.is_diagonal(thin.Sigma)
    assert svdkit.is_normal(full.U) and svdkit.is_diagonalizable(full.U)
    G = A.conj().T @ A
    assert svdkit.is_hermitian(G) and svdkit.is_normal(G) and svdkit.is_diagonalizable(G)
    assert svdkit.is_hermitian(A + A.conj().T) if m == n else not svdkit.is_hermitian(A)
    if m == n:
        S = A + A.T
        assert svdkit.is_symmetric(S)
        if np.iscomplexobj(A) and np.abs(S.imag).max() > 1e-3 * max(np.abs(S).max(), 1e-300):
            assert not svdkit.is_hermitian(S)  # complex symmetric with a non-real part
        K = A - A.conj().T  # skew-Hermitian: normal
        assert svdkit.is_normal(K)
        Q = full.U @ full.Vh  # the unitary polar factor
        assert svdkit.is_orthonormal(Q) and svdkit.is_normal(Q)
        # sparse input answers as dense does
        for f in (svdkit.is_symmetric, svdkit.is_hermitian, svdkit.is_diagonal):
            assert f(sps.csr_matrix(S)) == f(S)
            assert f(sps.csr_matrix(A)) == f(A)
    else:
        assert not svdkit.is_symmetric(A) and not svdkit.is_normal(A)
        assert not svdkit.is_diagonalizable(A)
    # a diagonal matrix is diagonal, with any one off-diagonal entry it is not
    D = np.zeros((m, n), A.dtype)
    D[np.arange(p), np.arange(p)] = np.diagonal(A)
    assert svdkit.is_diagonal(D)
    if m > 1 or n > 1:
        i, j = (0, 1) if n > 1 else (1, 0)
        D[i, j] = 1.0 + np.abs(D).max()
        assert not svdkit.is_diagonal(D)


# --------------------------------------------------------------------------------------
# Definiteness: ill-conditioned Hermitian matrices and symmetrised parts
# --------------------------------------------------------------------------------------


def _kind_of(values: np.ndarray, thr: float) -> str:
    pos, neg = bool(np.any(values > thr)), bool(np.any(values < -thr))
    zero = bool(np.any(np.abs(values) <= thr))
    if pos and neg:
        return "indefinite"
    if pos:
        return "positive semidefinite" if zero else "positive definite"
    if neg:
        return "negative semidefinite" if zero else "negative definite"
    return "positive semidefinite"


def _check_witnesses(d, H: np.ndarray) -> None:
    """Every witness's value is Re(xᴴHx) recomputed, with the sign its role says."""
    q = d.quadratic_form
    for w, want in (
        (q.positive_witness, 1),
        (q.negative_witness, -1),
        (q.zero_witness, 0),
        (q.minimizer, None),
        (q.maximizer, None),
    ):
        if w is None:
            continue
        x = w.x
        value = float(np.real(np.vdot(x, H @ x)))
        nx2 = float(np.vdot(x, x).real)
        assert abs(w.value - value) <= unit(H) * sigma(H)[0] * nx2 * 10 + 1e-300, w.label
        if want is not None:
            assert w.sign == want, (w.label, w.sign, want)
            if want:
                assert np.sign(value) == want, (w.label, value)
    kind = str(d.kind)
    assert (q.positive_witness is not None) == (
        kind in ("positive definite", "indefinite")
        or (kind == "positive semidefinite" and np.any(d.eigenvalues.values > d.tol_used))
    )
    assert (q.negative_witness is not None) == (
        kind in ("negative definite", "indefinite")
        or (kind == "negative semidefinite" and np.any(d.eigenvalues.values < -d.tol_used))
    )
    assert q.minimizer.value == pytest.approx(d.eigenvalues.values[0], abs=atol(H) * 10)
    assert q.maximizer.value == pytest.approx(d.eigenvalues.values[-1], abs=atol(H) * 10)


@st.composite
def ill_conditioned_hermitian(draw):
    """``Q diag(±logspace(0, −e)) Qᴴ`` with ``e ≤ 12``: κ up to 1e12, far from singular
    for the rule (``n·eps ≈ 1e-15``); some eigenvalues exactly 0 (rounding-level in H)."""
    n = draw(st.integers(1, 5))
    complex_ = draw(st.booleans())
    e = draw(st.integers(0, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mags = np.logspace(0, -e, n)
    zeros = draw(st.integers(0, n - 1))
    if zeros:
        mags[-zeros:] = 0.0
    signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
    Q = _orthogonal(rng, n, complex_)
    H = (Q * (mags * signs)) @ Q.conj().T
    return (H + H.conj().T) / 2, mags * signs


@_settings(80)
@given(Hl=ill_conditioned_hermitian())
def test_definiteness_of_ill_conditioned_hermitian_matrices(Hl):
    H, lam = Hl
    d = svdkit.definiteness(H)
    expected = _kind_of(lam, 0.0)
    assert str(d.kind) == expected
    assert d.inertia == (int(np.sum(lam > 0)), int(np.sum(lam == 0)), int(np.sum(lam < 0)))
    assert gap(d.eigenvalues.values, np.sort(lam)) <= atol(H) * 10
    # every criterion that decides agrees with the eigenvalues
    for c in d.criteria:
        if c.kind is not None:
            assert str(c.kind) == expected, (c.name, str(c.kind), expected)
    _check_witnesses(d, H)
    if d.is_positive_definite:
        L = svdkit.cholesky(H)
        assert np.array_equal(L, np.tril(L)) and np.all(np.diag(L).real > 0)
        assert gap(L @ L.conj().T, H) <= atol(H)
    else:
        with pytest.raises(NotPositiveDefiniteError):
            svdkit.cholesky(H)
    if d.is_negative_definite:
        L = svdkit.cholesky(-H)
        assert gap(L @ L.conj().T, -H) <= atol(H)
    # semidefinite (unpivoted) Cholesky exists exactly for PSD; dropping a zero pivot's
    # column costs up to √(threshold) (module docstring), hence the √eps-sized bound
    n = H.shape[0]
    loose = 10 * n * np.sqrt(n * EPS) * sigma(H)[0]
    for M, semi in ((H, d.is_positive_semidefinite), (-H, d.is_negative_semidefinite)):
        if semi:
            L = svdkit.cholesky(M, semidefinite=True)
            assert np.array_equal(L, np.tril(L)) and np.all(np.diag(L).real >= 0)
            assert gap(L @ L.conj().T, M) <= loose
        else:
            with pytest.raises(NotPositiveDefiniteError):
                svdkit.cholesky(M, semidefinite=True)


@_settings(60)
@given(data=st.data())
def test_definiteness_of_the_symmetrised_part(data):
    A = data.draw(matrices(shape=data.draw(_square, label="n"), families=("general", "deficient")))
    H = (A + A.conj().T) / 2
    d = svdkit.definiteness(A, symmetrize=True)
    assert d.symmetrized
    assert gap(d.matrix, H) <= unit(A) * np.abs(A).max()
    values = np.linalg.eigvalsh(H)
    big = np.abs(values).max() if values.size else 0.0
    thr = A.shape[0] * EPS * big
    assume(not np.any((np.abs(values) > thr / 1e3) & (np.abs(values) < thr * 1e3)))
    assert str(d.kind) == _kind_of(values, thr)
    _check_witnesses(d, H)
    # xᴴAx has real part xᴴHx: the witnesses hold for A itself
    for w in (d.quadratic_form.positive_witness, d.quadratic_form.negative_witness):
        if w is not None:
            qa = float(np.real(np.vdot(w.x, A @ w.x)))
            assert np.sign(qa) == w.sign
    if svdkit.is_hermitian(A):
        assert str(svdkit.definiteness(A).kind) == str(d.kind)


# --------------------------------------------------------------------------------------
# pinv beyond Penrose; lstsq with several right-hand sides
# --------------------------------------------------------------------------------------


@_settings(80)
@given(data=st.data())
def test_pinv_adjoint_involution_and_scaling(data):
    A = data.draw(matrices(), label="A")
    assume(clear_rank(A))
    X = svdkit.pinv(A)
    k = kappa(A)
    nX = sigma(X)[0] if X.any() else 0.0
    u = unit(A)
    # (Aᴴ)⁺ = (A⁺)ᴴ, (Aᵀ)⁺ = (A⁺)ᵀ
    assert gap(svdkit.pinv(A.conj().T), X.conj().T) <= u * k * nX * 10
    assert gap(svdkit.pinv(A.T), X.T) <= u * k * nX * 10
    # (cA)⁺ = A⁺ / c
    c = data.draw(st.sampled_from([-2.0, 0.5, 1e3, 1j, 3 - 4j]), label="c")
    assert gap(svdkit.pinv(c * A), X / c) <= u * k * nX * 10 / abs(c)
    # (A⁺)⁺ = A when the rank is clear (κ small enough that A⁺ has the same rank)
    if k < 1e6:
        assert gap(svdkit.pinv(X), A) <= u * k * k * sigma(A)[0] * 10
        assert svdkit.rank(X) == svdkit.rank(A)
    # A⁺ = A⁻¹ for an invertible matrix; AA⁺ is the projector onto R(A)
    r = svdkit.rank(A)
    P = A @ X
    assert gap(P @ P, P) <= u * k * 10
    assert abs(np.trace(P).real - r) <= u * k * 10
    if A.shape[0] == A.shape[1] == r and k < 1e10:
        assert gap(X, svdkit.inv(A)) <= u * k * k * nX * 10


@_settings(60)
@given(data=st.data())
def test_lstsq_with_several_right_hand_sides(data):
    A = data.draw(matrices(), label="A")
    m, n = A.shape
    q = data.draw(st.integers(1, 3), label="q")
    B = data.draw(_dense((m, q), _floats, np.iscomplexobj(A)), label="B")
    r = svdkit.lstsq(A, B)
    assert r.x.shape == (n, q) and r.residuals.shape == (q,)
    k, u = kappa(A), unit(A)
    nA = sigma(A)[0]
    R = A @ r.x - B
    s = sigma(A)
    s_r = s[np_rank(A) - 1] if np_rank(A) else np.inf  # ‖A⁺‖ = 1/σ_r

    def xtol(x, b):  # first-order error of x = A⁺b: κ‖x‖ + ‖A⁺‖‖b‖ (the latter when x ≈ 0)
        return u * k * (np.linalg.norm(x) + np.linalg.norm(b) / s_r) + 1e-300

    for j in range(q):
        one = svdkit.lstsq(A, B[:, j])
        size = nA * np.linalg.norm(one.x) + np.linalg.norm(B[:, j])  # rounding of Ax − b
        assert gap(one.x, r.x[:, j]) <= xtol(one.x, B[:, j])
        assert abs(one.residuals - r.residuals[j]) <= u * k * size + 1e-300
        assert abs(r.residuals[j] - np.linalg.norm(R[:, j])) <= u * size + 1e-300
    tol = u * k * nA * (nA * np.linalg.norm(r.x) + np.linalg.norm(B)) + 1e-300
    assert np.linalg.norm(A.conj().T @ R) <= tol  # normal equations, every column
    assert gap(r.x, svdkit.pinv(A) @ B) <= xtol(r.x, B) * 10
    assert r.rank == svdkit.rank(A) and np.array_equal(r.s, svdkit.svd(A).s)


# --------------------------------------------------------------------------------------
# Sparse input against dense
# --------------------------------------------------------------------------------------


@_settings(40)
@given(data=st.data())
def test_sparse_input_matches_dense(data):
    shape = data.draw(st.sampled_from([(3, 3), (4, 6), (6, 4), (5, 5), (2, 7)]), label="shape")
    complex_ = data.draw(st.booleans(), label="complex")
    A = data.draw(matrices(shape, complex_, ("general", "deficient", "illcond")), label="A")
    A = np.where(np.abs(A) < 0.3 * np.abs(A).max(), 0, A) if A.any() else A  # sparsify
    S = sps.csr_matrix(A)
    m, n = shape
    p = min(m, n)
    for o in ("fro", 1, np.inf, 2, "nuc"):
        assert svdkit.norm(S, o) == pytest.approx(svdkit.norm(A, o), rel=unit(A), abs=1e-300)
    if m == n:
        assert svdkit.trace(S) == svdkit.trace(A)
    kmax = p - 2 if complex_ else p - 1
    assume(kmax >= 1)
    k = data.draw(st.integers(1, kmax), label="k")
    r = svdkit.svd(S, k)
    s = sigma(A)
    assume(s[0] > 0 and s[k - 1] > 1e-8 * s[0])
    assert r.U.shape == (m, k) and r.s.shape == (k,) and r.Vh.shape == (k, n)
    tol = 1e-8 * s[0]
    assert gap(r.s, s[:k]) <= tol * np.sqrt(k)
    assert np.all(np.diff(r.s) <= 0)
    assert_sign_rule(r.U, "U (sparse)")
    for Q in (r.U, r.V):
        assert np.linalg.norm(Q.conj().T @ Q - np.eye(k)) <= 1e-10
    right = np.linalg.norm(A @ r.V - r.U * r.s, axis=0)
    left = np.linalg.norm(A.conj().T @ r.U - r.V * r.s, axis=0)
    assert right.max() <= tol and left.max() <= tol
    res = r.residuals()  # from the sparse matrix it holds
    assert gap(res.right, right) <= 1e3 * EPS * s[0] * np.sqrt(k)
    assert gap(res.left, left) <= 1e3 * EPS * s[0] * np.sqrt(k)


# --------------------------------------------------------------------------------------
# The exact engine on complex and Fraction input
# --------------------------------------------------------------------------------------


@st.composite
def exact_matrices(draw, shape=None, hermitian=False):
    """``(rows, sympy Matrix, numpy array)``: Gaussian-integer or Fraction entries."""
    m, n = shape if shape is not None else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if hermitian:
        n = m
    kind = draw(st.sampled_from(["gaussian", "fraction"]))
    if kind == "gaussian":
        M = sp.Matrix(
            m, n, [draw(st.integers(-2, 2)) + draw(st.integers(-2, 2)) * sp.I for _ in range(m * n)]
        )
    else:
        M = sp.Matrix(
            m,
            n,
            [sp.Rational(draw(st.integers(-4, 4)), draw(st.integers(1, 3))) for _ in range(m * n)],
        )
    if hermitian:
        M = M + M.H
    if draw(st.booleans()) and min(m, n) >= 2 and not hermitian:  # rank deficient
        M = M.copy()
        M[m - 1, :] = M[0, :] * (1 + sp.I if kind == "gaussian" else sp.Rational(-1, 2))
    if kind == "fraction":
        rows = [[Fraction(int(x.p), int(x.q)) for x in M.row(i)] for i in range(m)]
    else:
        rows = M
    a = np.array(M.evalf(), dtype=complex if kind == "gaussian" else float)
    return rows, M, a


def _zero(e) -> bool:
    e = sp.expand(e)
    if e == 0:
        return True
    if abs(complex(sp.N(e, 40))) > 1e-25:
        return False
    return sp.simplify(sp.radsimp(e)) == 0


def _exact_equal(X, Y) -> bool:
    return X.shape == Y.shape and all(_zero(a - b) for a, b in zip(X, Y, strict=True))


def _close(X, Y, tol=1e-30) -> bool:
    return X.shape == Y.shape and all(
        abs(complex(sp.N(a - b, 50))) <= tol for a, b in zip(X, Y, strict=True)
    )


@_settings(15)
@given(inp=exact_matrices())
def test_exact_subspaces_inverse_lstsq_on_complex_and_fractions(inp):
    rows, M, a = inp
    m, n = M.shape
    r = M.rank()
    S = ex.subspaces(rows)
    assert_four_subspaces(M, S, _exact_equal)
    # rref: reduced echelon form, pivots = rank, same row space (R = E M)
    R = ex.rref(rows)
    assert len(R.pivots) == r == ex.rank(rows).value == svdkit.rank(a)
    for i, j in enumerate(R.pivots):
        assert R.matrix[i, j] == 1
        assert all(R.matrix[t, j] == 0 for t in range(m) if t != i)
        assert all(R.matrix[i, t] == 0 for t in range(j))
    assert all(R.matrix[i, t] == 0 for i in range(r, m) for t in range(n))
    # lstsq: the normal equations with ᴴ, minimum norm (x ∈ R(Aᴴ))
    b = sp.Matrix(
        [
            (-1) ** i * (i + 1) + (sp.I if i == 0 and not all(x.is_real for x in M) else 0)
            for i in range(m)
        ]
    )
    sol = ex.lstsq(rows, b)
    assert (M.H * (M * sol.x - b)).expand() == sp.zeros(n, 1)
    if S.null.cols:
        assert _exact_equal(S.null.H * sol.x, sp.zeros(S.null.cols, 1))
    num = svdkit.lstsq(a, np.array(b.evalf(), dtype=complex)[:, 0])
    assert gap(np.array(sol.x.evalf(), dtype=complex)[:, 0], num.x) <= 1e-9
    if m == n:
        if r == n:
            X = ex.inv(rows).matrix
            assert (M * X).expand() == sp.eye(n) == (X * M).expand()
            assert (X - ex.pinv(rows).matrix).expand() == sp.zeros(n, n)
        else:
            with pytest.raises(svdkit.SingularMatrixError):
                ex.inv(rows)


@_settings(15)
@given(inp=exact_matrices(shape=(2, 2)), inp2=exact_matrices(shape=(2, 2)))
def test_exact_det_trace_are_multiplicative_and_cyclic(inp, inp2):
    rows, M, a = inp
    rows2, N, _ = inp2
    dM, dN = ex.det(rows).value, ex.det(rows2).value
    assert _zero(ex.det(M * N).value - dM * dN)
    assert _zero(ex.det(M.H).value - sp.conjugate(dM))
    assert _zero(ex.trace(M * N).value - ex.trace(N * M).value)
    assert _zero(ex.trace(M).value - sum(M[i, i] for i in range(2)))
    assert abs(complex(sp.N(dM)) - svdkit.det(a)) <= 1e-12 * max(1.0, float(np.prod(sigma(a))))
    if dM != 0:
        assert _zero(ex.det(ex.inv(rows).matrix).value * dM - 1)


@_settings(12)
@given(inp=exact_matrices(shape=(2, 2), hermitian=True))
def test_exact_eigh_and_definiteness_on_complex_hermitian(inp):
    rows, M, a = inp
    r = ex.eigh(rows)
    vals = np.array([float(sp.re(sp.N(v))) for v in r.values])
    assert gap(vals, np.linalg.eigvalsh(a)) <= 1e-9
    if r.exact:
        assert _exact_equal(r.vectors.H * r.vectors, sp.eye(2))
        assert _exact_equal(r.vectors * r.Lambda * r.vectors.H, M)
        for k, value in enumerate(r.values):
            q = r.vectors[:, k]
            assert _exact_equal(M * q, value * q)
    else:
        assert _close(r.vectors * r.Lambda * r.vectors.H, M)
    d = ex.definiteness(rows)
    assert d.kind is svdkit.definiteness(a).kind
    assert [c.kind for c in d.criteria if c.kind is not None] == [d.kind] * len(
        [c for c in d.criteria if c.kind is not None]
    )
    L = d.cholesky.factor
    if L is not None:
        assert _exact_equal(L * L.H, -M if d.cholesky.negated else M)
    for w in (
        d.quadratic_form.positive_witness,
        d.quadratic_form.negative_witness,
        d.quadratic_form.zero_witness,
    ):
        if w is not None:
            value = sp.expand((w.x.H * M * w.x)[0])
            assert _zero(value - w.value) and sp.sign(sp.re(value)) == w.sign


@_settings(10)
@given(inp=exact_matrices(shape=(2, 2)))
def test_exact_definiteness_of_the_symmetrised_part(inp):
    rows, M, a = inp
    H = (M + M.H) / 2
    d = ex.definiteness(rows, symmetrize=True)
    assert d.kind is svdkit.definiteness(a, symmetrize=True).kind
    assert d.kind is ex.definiteness(H).kind
    lam = [complex(sp.N(v, 30)) for v in H.eigenvals(multiple=True)]
    assert all(abs(v.imag) < 1e-25 for v in lam)
    pos, neg = any(v.real > 1e-25 for v in lam), any(v.real < -1e-25 for v in lam)
    kind = str(d.kind)
    assert (kind == "indefinite") == (pos and neg)
    assert kind.startswith("positive") == (not neg) or kind == "indefinite"


@_settings(15)
@given(inp=exact_matrices())
def test_exact_norms_on_complex_and_fractions(inp):
    rows, M, a = inp
    got = {o: ex.norm(rows, o).value for o in (None, 2, "nuc", 1, "inf")}
    for o, np_o in ((None, "fro"), (2, 2), ("nuc", "nuc"), (1, 1), ("inf", np.inf)):
        assert float(sp.N(got[o], 30)) == pytest.approx(
            np.linalg.norm(a, np_o), rel=1e-12, abs=1e-12
        )
    assert _zero(got[None] ** 2 - sum(abs(x) ** 2 for x in M))
    assert float(sp.N(got[1] - ex.norm(M.H, "inf").value, 30)) == pytest.approx(0, abs=1e-25)
    assert float(sp.N(got[2], 30)) <= float(sp.N(got[None], 30)) + 1e-25
    assert float(sp.N(got[None], 30)) <= float(sp.N(got["nuc"], 30)) + 1e-25


# --------------------------------------------------------------------------------------
# truncated_svd on tiny and awkward shapes; rank_by_tolerance
# --------------------------------------------------------------------------------------

_METHODS = ("auto", "krylov", "gram", "randomized", "dash", "lapack")


@_settings(120)
@given(data=st.data())
def test_truncated_svd_certificate_on_awkward_shapes(data):
    A = data.draw(matrices(), label="A")
    single = data.draw(st.booleans(), label="single")
    if single:
        A = A.astype(np.complex64 if np.iscomplexobj(A) else np.float32)
    sparse = data.draw(st.booleans(), label="sparse") and not single
    m, n = A.shape
    p = min(m, n)
    k = data.draw(st.sampled_from([0, 1, p, data.draw(st.integers(0, p))]), label="k")
    method = data.draw(st.sampled_from(_METHODS), label="method")
    tol = data.draw(st.sampled_from([1e-6, 1e-10]), label="tol")
    dense = A.astype(np.result_type(A.dtype, np.float64))
    try:
        r = truncated_svd(sps.csr_matrix(A) if sparse else A, k, tol=tol, method=method, seed=1)
    except ConvergenceError as err:
        # subspace iteration may fail to certify a flat spectrum; it must then be honest
        assert method in ("randomized", "dash"), str(err)
        res = err.result
        right = np.linalg.norm(dense @ res.V - res.U * res.s, axis=0)
        left = np.linalg.norm(dense.conj().T @ res.U - res.V * res.s, axis=0)
        assert np.any(np.maximum(right, left) > 0.5 * tol * sigma(dense)[0])
        return
    s = sigma(dense)
    s1 = s[0]
    assert r.U.shape == (m, k) and r.s.shape == (k,) and r.Vh.shape == (k, n)
    assert r.converged and r.k == k and r.tol == tol
    assert np.all(r.s >= 0) and np.all(np.diff(r.s) <= 0)
    slack = unit(dense) * s1
    # the certificate, recomputed independently
    right = np.linalg.norm(dense @ r.V - r.U * r.s, axis=0)
    left = np.linalg.norm(dense.conj().T @ r.U - r.V * r.s, axis=0)
    assert np.all(right <= tol * s1 + slack), right
    assert np.all(left <= tol * s1 + slack), left
    assert np.all(np.abs(r.residuals_right - right) <= slack + 1e-6 * right)
    assert np.all(np.abs(r.residuals_left - left) <= slack + 1e-6 * left)
    if k:
        assert r.relative_residuals.max() <= tol * (1 + 1e-9) + unit(dense)
    # σ within the certified residual of the exact ones (Weyl), orthonormal factors, sign rule
    assert np.all(np.abs(r.s - s[:k]) <= 2 * tol * s1 + slack)
    for Q in (r.U, r.V):
        assert np.linalg.norm(Q.conj().T @ Q - np.eye(k)) <= 1e-12 * max(1, k)
    assert_sign_rule(r.U, "U")
    # the approximation error: direct, by the Rayleigh identity, and by residuals()
    E = dense - (r.U * r.s) @ r.Vh
    err = float(np.linalg.norm(E))
    fro2 = float(np.sum(s**2))
    via = fro2 - 2 * float(np.sum(r.s * r.rayleigh)) + float(np.sum(r.s**2))
    assert abs(max(via, 0.0) - err**2) <= 10 * tol * fro2 * max(k, 1) + slack * s1
    best = float(np.sqrt(np.sum(s[k:] ** 2)))
    assert abs(err - best) <= 10 * tol * s1 * np.sqrt(max(k, 1)) + slack * np.sqrt(p)
    rec = r.residuals().reconstruction
    full = float(np.linalg.norm(dense))
    assert abs(rec - (err / full if full > 0 else err)) <= 1e-6 + unit(dense)
    # same seed, same bits
    again = truncated_svd(sps.csr_matrix(A) if sparse else A, k, tol=tol, method=method, seed=1)
    assert np.array_equal(again.s, r.s) and np.array_equal(again.U, r.U)


@_settings(40)
@given(data=st.data())
def test_operator_products_of_every_input_kind(data):
    """``as_operator``: the block products are A X, Aᴴ Y, AᴴA X, AAᴴ Y, whatever holds A."""
    import os
    import tempfile

    from scipy.sparse.linalg import aslinearoperator

    from svdkit.lowrank import as_operator

    A = data.draw(matrices(families=("general", "deficient", "illcond")), label="A")
    kind = data.draw(
        st.sampled_from(["dense", "fortran", "single", "csr", "csc", "linop", "npy"]), label="kind"
    )
    m, n = A.shape
    single = kind == "single"
    if single:
        A = A.astype(np.complex64 if np.iscomplexobj(A) else np.float32)
    dense = A.astype(np.result_type(A.dtype, np.float64))
    b = data.draw(st.integers(1, 3), label="b")
    rng = np.random.default_rng(b)
    X = rng.standard_normal((n, b))
    Y = rng.standard_normal((m, b)) + (
        1j * rng.standard_normal((m, b)) if np.iscomplexobj(A) else 0
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.npy")
        source = {
            "dense": A,
            "fortran": np.asfortranarray(A),
            "single": A,
            "csr": sps.csr_matrix(A),
            "csc": sps.csc_matrix(A),
            "linop": aslinearoperator(A),
            "npy": path,
        }[kind]
        if kind == "npy":
            np.save(path, A)
        op = as_operator(source)
        try:
            assert op.shape == (m, n)
            e = (float(np.finfo(np.float32).eps) if single else EPS) * SAFETY * max(m, n)
            nA = sigma(dense)[0]
            tol = e * nA
            assert gap(np.asarray(op.matmat(X)), dense @ X) <= tol * np.linalg.norm(X)
            assert gap(op.rmatmat(Y), dense.conj().T @ Y) <= tol * np.linalg.norm(Y)
            assert gap(op.gram(X), dense.conj().T @ (dense @ X)) <= tol * nA * np.linalg.norm(X)
            assert gap(np.asarray(op.cogram(Y)), dense @ (dense.conj().T @ Y)) <= (
                tol * nA * np.linalg.norm(Y)
            )
            assert gap(op.adjoint().matmat(Y), dense.conj().T @ Y) <= tol * np.linalg.norm(Y)
            G = op.gram_matrix()
            assert gap(G, dense.conj().T @ dense) <= tol * nA * np.sqrt(n)
            assert gap(op.cogram_matrix(), dense @ dense.conj().T) <= tol * nA * np.sqrt(m)
            f = op.fro_norm()
            if f is not None:
                assert f == pytest.approx(np.linalg.norm(dense), rel=e, abs=1e-300)
        finally:
            op.close()


@st.composite
def spectra(draw):
    """A matrix with known, well separated singular values (ratios ≥ 3)."""
    m = draw(st.integers(8, 30))
    n = draw(st.integers(8, 30))
    p = min(m, n)
    rank = draw(st.integers(1, p))
    ratios = np.array(
        draw(st.lists(st.sampled_from([3.0, 5.0, 10.0]), min_size=rank, max_size=rank))
    )
    s = np.cumprod(np.concatenate([[1.0], 1.0 / ratios[:-1]]))
    complex_ = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    u = _orthogonal(rng, m, complex_)[:, :rank]
    v = _orthogonal(rng, n, complex_)[:, :rank]
    return (u * s) @ v.conj().T, np.concatenate([s, np.zeros(p - rank)])


@_settings(30)
@given(As=spectra(), data=st.data())
def test_rank_by_tolerance_is_the_smallest_rank(As, data):
    A, s = As
    norm = data.draw(st.sampled_from(["spectral", "energy"]), label="norm")
    if norm == "spectral":
        errs = np.append(s[1:], 0.0) / s[0]  # error of rank k+1 … is σ_{k+2}/σ₁
        errs = np.concatenate([[1.0], errs])  # rank 0: σ₁/σ₁
    else:
        tail = np.sqrt(np.cumsum((s**2)[::-1])[::-1]) / np.sqrt(np.sum(s**2))
        errs = np.append(tail, 0.0)  # errs[k] = ‖A − A_k‖_F / ‖A‖_F
    # a tolerance well away from every achievable error (no coin toss at the boundary)
    cuts = sorted({float(x) for x in errs if 0 < x < 1})
    candidates = [
        c * 1.5
        for c in cuts
        if 1e-12 < c * 1.5 < 1 and all(abs(np.log(c * 1.5 / e)) > 0.2 for e in cuts)
    ]
    assume(candidates)
    eps = data.draw(st.sampled_from(candidates), label="eps")
    want = int(np.flatnonzero(errs <= eps)[0])
    r = rank_by_tolerance(A, eps, norm, tol=1e-10, seed=0)
    assert r.k == want, (r.k, want, eps, errs)
    assert r.rank_tol == eps and r.rank_norm == norm
    assert np.allclose(r.s, s[:want], atol=1e-8)
    E = A - (r.U * r.s) @ r.Vh
    if norm == "spectral":
        assert np.linalg.norm(E, 2) <= eps * s[0] * (1 + 1e-8)
    else:
        assert np.linalg.norm(E) <= eps * np.linalg.norm(A) * (1 + 1e-8)


# --------------------------------------------------------------------------------------
# LoRA: exact spectra of scale · B A; LSI: the triplet identity W V = U Σ
# --------------------------------------------------------------------------------------


@_settings(40)
@given(data=st.data())
def test_lora_factor_spectrum_and_analysis_of_any_rank(data):
    from svdkit.lora import Adapter, LoraModule, RankRule, analyse_adapter, resize
    from svdkit.lora.resize import factor_spectrum

    out = data.draw(st.integers(1, 7), label="out")
    inp = data.draw(st.integers(1, 7), label="in")
    r = data.draw(st.integers(1, 9), label="r")  # r > min(out, in) allowed (PEFT allows it)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    B = rng.standard_normal((out, r))
    A = rng.standard_normal((r, inp))
    how = data.draw(st.sampled_from(["general", "zero B", "dependent", "float32"]), label="B")
    if how == "zero B":  # PEFT's initialisation
        B[:] = 0
    elif how == "dependent" and r >= 2:
        B[:, -1] = B[:, 0] - 2 * B[:, 1 % r]
    elif how == "float32":
        A, B = A.astype(np.float32), B.astype(np.float32)
    rslora = data.draw(st.booleans(), label="rslora")
    alpha = data.draw(st.sampled_from([1.0, 8.0, 16.0]), label="alpha")
    module = LoraModule("fc", "linear", A=A, B=B, alpha=alpha)
    D = module.delta(rslora)
    scale = module.scale(rslora)
    assert scale == pytest.approx(alpha / (math.sqrt(r) if rslora else r))
    ref = sigma(D)
    tol = unit(D) * r * float(np.linalg.norm(B, 2) * np.linalg.norm(A, 2) * scale + 1e-300)
    # the thin SVD of scale · B A: U (out × p), s (p), Vh (p × in), U Σ Vh = ΔW
    U, s, Vh = factor_spectrum(B, A, scale)
    p = s.size
    assert U.shape == (out, p) and Vh.shape == (p, inp), (U.shape, s.shape, Vh.shape)
    assert p <= min(out, inp, r) or np.all(s[min(out, inp, r) :] <= tol)
    assert gap((U * s) @ Vh, D) <= tol
    assert_orthonormal(U, "U")
    assert_orthonormal(Vh.conj().T, "V")
    q = min(p, ref.size)
    assert gap(s[:q], ref[:q]) <= tol
    # analyse_adapter: the same spectrum, ‖ΔW‖_F², energies, ranks
    ad = Adapter({"fc": module}, use_rslora=rslora)
    an = analyse_adapter(ad, energy=0.9)
    ms = an.modules[0]
    assert ms.shape == (out, inp) and ms.complete
    assert gap(ms.s[:q], ref[:q]) <= tol
    assert ms.fro2 == pytest.approx(float(np.linalg.norm(D) ** 2), rel=unit(D), abs=float(tol) ** 2)
    curve = ms.energy_curve()
    assert np.all(np.diff(curve) >= -unit(D)) and curve[-1] == pytest.approx(1.0, abs=unit(D))
    rank = np_rank(D)
    if ref[0] > 0:
        assert 1 - unit(D) <= ms.stable_rank <= rank * (1 + unit(D))
        assert 1 - unit(D) <= ms.effective_rank <= max(rank, 1) * (1 + 1e-9) + 1e-9 * p
        k = ms.recommended_rank(0.9)
        e = np.cumsum(ref**2) / np.sum(ref**2)
        assert e[k - 1] >= 0.9 - unit(D) and (k == 1 or e[k - 2] < 0.9 + unit(D))
    # resize to every rank: the best rank-k approximation (Eckart–Young)
    k = data.draw(st.integers(1, max(1, min(out, inp, r))), label="k")
    if not np.any(D):  # an untrained adapter: nothing would remain, said by name
        from svdkit.errors import EmptyInputError

        with pytest.raises(EmptyInputError, match="untrained adapter"):
            resize(ad, RankRule(rank=k))
        return
    small, report = resize(ad, RankRule(rank=k))
    kk = report[0].rank
    if kk:
        got = small.modules["fc"].delta(rslora)
        best = float(np.sqrt(np.sum(ref[kk:] ** 2)))
        assert abs(np.linalg.norm(got - D) - best) <= 1e-5 * max(ref[0], 1e-300) * np.sqrt(k)


_WORDS = ("apple", "banana", "cherry", "grape", "lemon", "mango", "olive", "peach", "plum", "kiwi")


@_settings(12)
@given(
    docs=st.lists(
        st.lists(st.sampled_from(_WORDS), min_size=1, max_size=8).map(" ".join),
        min_size=2,
        max_size=8,
    ),
    weighting=st.sampled_from(["tfidf", "log_entropy", "count"]),
    scaling=st.sampled_from([0.0, 0.5, 1.0]),
    k=st.integers(1, 10),
)
def test_lsi_documents_fold_in_onto_their_own_vectors(docs, weighting, scaling, k):
    """``Vᵀ w = Σ u`` for every indexed document (a singular-triplet identity): the
    latent vector of a document's own text is its row of ``U Σ^p`` (cosine 1)."""
    from svdkit.lsi import build_index

    k = min(k, len(docs), len({w for d in docs for w in d.split()}))
    try:
        index = build_index(docs, k=k, weighting=weighting, scaling=scaling, tol=1e-10)
    except EmptyInputError:  # log-entropy of identical documents: nothing to index
        assume(False)
    W = index.weigh(index.counts).toarray()
    s_ref = sigma(W)
    assert index.k <= min(k, *W.shape)
    assert gap(index.s, s_ref[: index.k]) <= 1e-8 * s_ref[0]
    assert_orthonormal(index.V, "V")
    # the recorded reconstruction error is ‖W − U Σ Vᵀ‖_F / ‖W‖_F (computed through
    # ‖W‖² − 2 tr(ΣUᵀWV) + ‖UΣ‖²: its floor is √(eps)-sized, not eps-sized)
    E = W - (index.U * index.s) @ index.V.T
    assert index.svd["reconstruction_error"] == pytest.approx(
        np.linalg.norm(E) / np.linalg.norm(W), abs=np.sqrt(unit(W))
    )
    Q = index.query_vectors(docs)  # unit rows, or zero for noise-level ones
    D = index.doc_vectors.astype(np.float64)
    for j in range(len(docs)):
        z = index.U[j] * index.s**scaling
        if np.linalg.norm(z) > 1e-6 * np.max(index.s**scaling):
            assert float(Q[j] @ D[j]) == pytest.approx(1.0, abs=1e-5), j
    S = index.scores(docs)
    assert gap(S, Q.astype(np.float32) @ index.doc_vectors.T) <= 1e-5 * S.size
