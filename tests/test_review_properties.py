"""Review property tests: identities that must hold, on hypothesis-generated matrices.

What ``test_properties.py`` and ``test_exact_properties.py`` do not already cover:

* every matrix family (general, rank-deficient ``C @ D`` with thin integer factors,
  ill-conditioned ``U diag(logspace(0, −e)) Vᴴ`` with ``e ≤ 12``) is also drawn
  *scaled* by ``1e±100`` — the tolerance rule is relative, so every identity
  must hold at any scale;
* the sign rule is deterministic and the same for the thin, full and truncated
  SVD (for well separated singular values);
* the rank with an explicit ``tol`` counts exactly the σ above it;
* subspaces are compared with NumPy's (span checks through projectors);
* the norm inequalities; det and trace against the eigenvalues;
* definiteness against the eigenvalues, scale invariance and ``−A``; Cholesky;
* the exact engine on ``Fraction`` and Gaussian-integer entries against the
  numeric one: rank, σ² as the eigenvalues of AᴴA, Penrose exactly (with ``ᴴ``),
  det within rounding, and the documented "fewest negative entries" sign rule.

Tolerances follow the first-order model of ``conftest.py``:
``SAFETY · max(m, n) · eps`` relative to the size of what is compared.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from conftest import _dense, _orthogonal  # (tests/ is on sys.path under pytest)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import svdkit
import svdkit.exact as ex
from svdkit import NotPositiveDefiniteError

EPS = float(np.finfo(np.float64).eps)
SAFETY = 100.0
PIVOT_SLACK = 1e-10

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
EXACT_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------

_floats = st.floats(-10, 10, allow_nan=False, allow_infinity=False, allow_subnormal=False).map(
    lambda x: 0.0 if abs(x) < 1e-6 else x
)
_shapes = st.sampled_from([(1, 1), (1, 4), (4, 1), (3, 3), (5, 2), (2, 5), (4, 4), (6, 3)])


@st.composite
def matrices(draw, shape=None, scaled=True, families=("general", "deficient", "illcond")):
    """``(A, scale)``: a general, rank-deficient or ill-conditioned matrix times ``scale``."""
    m, n = draw(_shapes) if shape is None else shape
    complex_ = draw(st.booleans())
    family = draw(st.sampled_from(families))
    if family == "deficient" and min(m, n) < 2:
        family = "general"
    if family == "general":
        A = draw(_dense((m, n), _floats, complex_))
    elif family == "deficient":
        k = draw(st.integers(1, min(m, n) - 1))
        ints = st.integers(-3, 3).map(float)
        A = draw(_dense((m, k), ints, complex_)) @ draw(_dense((k, n), ints, complex_))
    else:
        e = draw(st.integers(1, 12))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        p = min(m, n)
        u = _orthogonal(rng, m, complex_)[:, :p]
        v = _orthogonal(rng, n, complex_)[:, :p]
        A = (u * np.logspace(0, -e, p)) @ v.conj().T
    scale = draw(st.sampled_from([1.0, 1e100, 1e-100])) if scaled else 1.0
    return A * scale, scale


def unit(A) -> float:
    return SAFETY * max(np.shape(A)) * EPS


def atol(A) -> float:
    return unit(A) * (float(np.linalg.norm(A / _s(A), 2)) * _s(A) if np.size(A) else 0.0)


def _s(A) -> float:
    """A power-of-ten-ish scale of A (so that NumPy's norm of A/s neither under- nor overflows)."""
    big = float(np.abs(A).max()) if np.size(A) else 0.0
    return big if big > 0 else 1.0


def sigma(A) -> np.ndarray:
    """NumPy's singular values (computed on A/s, scaled back: gesdd is scale-safe anyway)."""
    return np.linalg.svd(A / _s(A), compute_uv=False) * _s(A)


def gap(x, y) -> float:
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == y.shape, (x.shape, y.shape)
    return float(np.linalg.norm((x - y).ravel())) if x.size else 0.0


def pivot(v: np.ndarray):
    mags = np.abs(v)
    return v[np.flatnonzero(mags >= mags.max() * (1 - PIVOT_SLACK))[0]]


def assert_sign_rule(Q: np.ndarray, what: str) -> None:
    for j in range(Q.shape[1]):
        col = Q[:, j]
        if not np.any(col):
            continue
        p = complex(pivot(col))
        assert p.real > 0 and abs(p.imag) <= 4 * EPS * abs(p), f"{what}[:, {j}] pivot {p}"


def assert_orthonormal(Q: np.ndarray, what: str) -> None:
    k = Q.shape[1]
    loss = np.linalg.norm(Q.conj().T @ Q - np.eye(k)) if k else 0.0
    assert loss <= unit(Q), f"{what}: ‖QᴴQ − I‖ = {loss:.2e}"


def separated(s: np.ndarray, thr: float) -> bool:
    """Whether the σ above ``thr`` are simple with a clear relative gap (vectors unique)."""
    big = s[s > 1e3 * thr]
    if big.size != s.size:
        return False
    return bool(big.size < 2 or np.min(-np.diff(big)) > 1e-4 * big[0])


def vector_tol(A, s: np.ndarray) -> float:
    """Perturbation bound of singular vectors: ``unit · σ₁ / gap`` (Wedin), the gap
    including the distance to 0 of the smallest σ when U or V has more rows than p."""
    gaps = list(-np.diff(s))
    if A.shape[0] != A.shape[1]:
        gaps.append(s[-1])
    g = min(gaps) if gaps else s[0]
    return 10 * unit(A) * s[0] / g


# --------------------------------------------------------------------------------------
# SVD: thin, full, truncated; sign rule; determinism; Eckart–Young
# --------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_svd_all_forms_at_any_scale(data):
    A, _ = data.draw(matrices(), label="A")
    m, n = A.shape
    p = min(m, n)
    tol = atol(A)
    thin = svdkit.svd(A)
    full = svdkit.svd(A, full=True)
    s_np = sigma(A)
    assert np.all(thin.s >= 0) and np.all(np.diff(thin.s) <= 0)
    assert gap(thin.s, s_np) <= tol
    assert gap(full.s, thin.s) <= tol
    assert gap((thin.U * thin.s) @ thin.Vh, A) <= tol
    assert gap(full.U @ full.Sigma @ full.Vh, A) <= tol
    for Q, what in ((thin.U, "U"), (thin.V, "V"), (full.U, "U full"), (full.V, "V full")):
        assert_orthonormal(Q, what)
    assert_sign_rule(thin.U, "U")
    assert_sign_rule(full.U, "U full")
    assert_sign_rule(full.V[:, p:], "V completion")
    # Deterministic: a second run gives the same bits.
    again = svdkit.svd(A)
    assert np.array_equal(again.U, thin.U) and np.array_equal(again.Vh, thin.Vh)
    assert np.array_equal(again.s, thin.s)
    # Truncated: the k leading triplets, best rank-k (Eckart–Young).
    k = data.draw(st.integers(0, p), label="k")
    t = svdkit.svd(A, k)
    assert t.U.shape == (m, k) and t.s.shape == (k,) and t.Vh.shape == (k, n)
    assert gap(t.s, thin.s[:k]) <= tol
    E = A - t.reconstruct()
    e2 = np.linalg.norm(E / _s(A), 2) * _s(A)
    ef = np.linalg.norm(E / _s(A)) * _s(A)
    assert abs(e2 - (s_np[k] if k < p else 0.0)) <= tol
    assert abs(ef - np.sqrt(np.sum((s_np[k:] / _s(A)) ** 2)) * _s(A)) <= tol * np.sqrt(p)
    # The same sign rule for every form: where the vectors are unique, they agree.
    thr = max(m, n) * EPS * (s_np[0] if p else 0.0)
    if p and separated(s_np, thr):
        vtol = vector_tol(A, s_np)
        assert gap(full.U[:, :p], thin.U) <= vtol
        assert gap(full.Vh[:p], thin.Vh) <= vtol
        assert gap(t.U, thin.U[:, :k]) <= vtol
        assert gap(t.Vh, thin.Vh[:k]) <= vtol
        # …and with NumPy's vectors once NumPy's are put under the sign rule.
        u_np, _, vh_np = np.linalg.svd(A / _s(A), full_matrices=False)
        c = np.array([np.conj(pivot(u_np[:, j])) / abs(pivot(u_np[:, j])) for j in range(p)])
        assert gap(u_np * c, thin.U) <= vtol
        assert gap(vh_np * np.conj(c)[:, None], thin.Vh) <= vtol
    res = thin.residuals()
    assert res.reconstruction <= unit(A) and res.max_triplet <= tol


@SETTINGS
@given(data=st.data())
def test_svd_of_negated_and_transposed(data):
    """σ(−A) = σ(Aᴴ) = σ(A), and the sign rule still holds on every factor."""
    A, _ = data.draw(matrices(), label="A")
    tol = atol(A)
    s = svdkit.svd(A).s
    for B in (-A, A.conj().T, A.T):
        r = svdkit.svd(B)
        assert gap(r.s, s) <= tol
        assert gap((r.U * r.s) @ r.Vh, B) <= tol
        assert_sign_rule(r.U, "U")


# --------------------------------------------------------------------------------------
# pinv, lstsq, rank
# --------------------------------------------------------------------------------------


def _kappa(A) -> float:
    s = sigma(A)
    if not s.size or s[0] == 0:
        return 1.0
    keep = s[s > max(A.shape) * EPS * s[0]]
    return float(keep[0] / keep[-1])


@SETTINGS
@given(data=st.data())
def test_pinv_penrose_at_any_scale(data):
    A, _ = data.draw(matrices(), label="A")
    X = svdkit.pinv(A)
    assert X.shape == A.shape[::-1]
    u, k = unit(A), _kappa(A)
    nA = np.linalg.norm(A / _s(A), 2) * _s(A)
    nX = np.linalg.norm(X * _s(A), 2) / _s(A)
    assert gap(A @ X @ A, A) <= u * k * nA
    assert gap(X @ A @ X, X) <= u * k * nX
    assert gap((A @ X).conj().T, A @ X) <= u * k
    assert gap((X @ A).conj().T, X @ A) <= u * k
    assert gap(X * _s(A), np.linalg.pinv(A / _s(A))) <= u * k * k * nX * _s(A)


@SETTINGS
@given(data=st.data())
def test_lstsq_residual_orthogonal_to_range(data):
    A, scale = data.draw(matrices(), label="A")
    m = A.shape[0]
    b = data.draw(_dense((m,), _floats, np.iscomplexobj(A)), label="b") * scale
    r = svdkit.lstsq(A, b)
    res = A @ r.x - b
    S = svdkit.subspaces(A)
    nb = np.linalg.norm(b / scale) * scale
    nA = np.linalg.norm(A / _s(A), 2) * _s(A)
    nx = np.linalg.norm(r.x * _s(A)) / _s(A)
    tol = unit(A) * _kappa(A) * (nb + nA * nx)
    assert np.linalg.norm(S.column.conj().T @ res) <= tol  # residual ⟂ R(A)
    assert abs(r.residuals - np.linalg.norm(res / scale) * scale) <= tol
    assert r.rank == S.rank == svdkit.rank(A)
    # x lies in R(Aᴴ) (minimum norm): it has no component along N(A).
    assert np.linalg.norm(S.null.conj().T @ r.x) <= unit(A) * _kappa(A) * max(nx, 1e-300)
    assert gap(r.x, svdkit.pinv(A) @ b) <= unit(A) * _kappa(A) * max(nx, nb / nA if nA else 0)


@SETTINGS
@given(data=st.data())
def test_rank_counts_sigma_above_threshold(data):
    A, _ = data.draw(matrices(), label="A")
    m, n = A.shape
    s = sigma(A)
    thr = max(m, n) * EPS * s[0]
    # Borderline σ (within a factor 1e3 of the threshold) may go either way: rounding.
    assume(not np.any((s > thr / 1e3) & (s < thr * 1e3)))
    r = int(np.count_nonzero(s > thr))
    dec = svdkit.svd(A)
    assert svdkit.rank(A) == dec.rank() == svdkit.subspaces(A).rank == r
    assert svdkit.lstsq(A, np.zeros(m)).rank == r
    # An explicit tol halfway (geometrically) between two σ counts the σ above it.
    if s[0] > 0:
        j = data.draw(st.integers(0, s.size), label="cut")
        hi = s[j - 1] if j > 0 else s[0] * 10
        lo = s[j] if j < s.size else 0.0
        assume(hi > 10 * lo)
        tol = float(np.sqrt(hi * lo)) if lo > 0 else hi / 10
        assert svdkit.rank(A, tol=tol) == dec.rank(tol) == j
        assert svdkit.subspaces(A, tol=tol).rank == j
        assert svdkit.lstsq(A, np.zeros(m), tol=tol).rank == j
        assert gap(svdkit.pinv(A, tol=tol), dec.pinv(tol)) == 0.0


# --------------------------------------------------------------------------------------
# The four fundamental subspaces
# --------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_subspaces_at_any_scale(data):
    A, _ = data.draw(matrices(), label="A")
    m, n = A.shape
    S = svdkit.subspaces(A)
    r = S.rank
    assert S.dimensions == {"column": r, "null": n - r, "row": r, "left_null": m - r}
    for name in ("column", "null", "row", "left_null"):
        assert_orthonormal(getattr(S, name), name)
    tol, u = atol(A), unit(A)
    assert gap(A @ S.null, np.zeros((m, n - r))) <= tol
    assert gap(A.conj().T @ S.left_null, np.zeros((n, m - r))) <= tol
    assert gap(S.column.conj().T @ S.left_null, np.zeros((r, m - r))) <= u
    assert gap(S.row.conj().T @ S.null, np.zeros((r, n - r))) <= u
    # They complete each other: P_R(A) + P_N(Aᴴ) = I, P_R(Aᴴ) + P_N(A) = I.
    P = S.column @ S.column.conj().T + S.left_null @ S.left_null.conj().T
    assert gap(P, np.eye(m)) <= u
    P = S.row @ S.row.conj().T + S.null @ S.null.conj().T
    assert gap(P, np.eye(n)) <= u
    # Span checks: A's columns lie in R(A), its rows in R(Aᴴ).
    assert gap(S.column @ (S.column.conj().T @ A), A) <= tol
    assert gap((A @ S.row) @ S.row.conj().T, A) <= tol
    # Same spaces as NumPy's (projectors agree) when the rank split is clear.
    s = sigma(A)
    thr = max(m, n) * EPS * s[0]
    if r == int(np.count_nonzero(s > thr)) and (r == s.size or s[r] < thr / 1e3) and r > 0:
        k = _kappa(A)
        u_np, _, vh_np = np.linalg.svd(A / _s(A))
        Ur, Vr = u_np[:, :r], vh_np[:r].conj().T
        assert gap(S.column @ S.column.conj().T, Ur @ Ur.conj().T) <= u * k
        assert gap(S.row @ S.row.conj().T, Vr @ Vr.conj().T) <= u * k


# --------------------------------------------------------------------------------------
# Norms
# --------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_norms_and_their_inequalities(data):
    A, scale = data.draw(matrices(), label="A")
    m, n = A.shape
    u = unit(A)
    N = {o: svdkit.norm(A, o) for o in ("fro", 2, "nuc", 1, np.inf)}
    for o, v in N.items():
        ref = np.linalg.norm(A / scale, o) * scale
        assert abs(v - ref) <= u * ref, (o, v, ref)
        assert v >= 0 and np.isfinite(v)
    assert svdkit.norm(A) == N["fro"]
    s = sigma(A)
    r = max(int(np.count_nonzero(s > max(m, n) * EPS * s[0])), 1)
    f2, fF, fN, f1, fI = N[2], N["fro"], N["nuc"], N[1], N[np.inf]
    le = lambda a, b: a <= b * (1 + u)  # noqa: E731
    assert le(f2, fF) and le(fF, np.sqrt(r) * f2)
    assert le(fF, fN) and le(fN, np.sqrt(r) * fF) and le(fN, r * f2)
    assert le(f2, np.sqrt(f1) * np.sqrt(fI))
    assert le(fI / np.sqrt(n), f2) and le(f2, np.sqrt(m) * fI)
    assert le(f1 / np.sqrt(m), f2) and le(f2, np.sqrt(n) * f1)
    assert le(np.abs(A).max(), f2)
    # Homogeneity (a power of two: exact) and the norms of Aᴴ.
    assert svdkit.norm(-4 * A, 2) == pytest.approx(4 * f2, rel=u)
    assert svdkit.norm(A.conj().T, 1) == pytest.approx(fI, rel=u)
    assert svdkit.norm(A.conj().T, "nuc") == pytest.approx(fN, rel=u)


# --------------------------------------------------------------------------------------
# det, trace, eig, eigh
# --------------------------------------------------------------------------------------

_square = st.sampled_from([(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)])


@SETTINGS
@given(data=st.data())
def test_det_trace_against_eigenvalues(data):
    A, _ = data.draw(matrices(shape=data.draw(_square, label="n")), label="A")
    n = A.shape[0]
    d = svdkit.det(A)
    sign, logabs = np.linalg.slogdet(A / _s(A))
    logabs += n * np.log(_s(A))
    lam = svdkit.eig(A).values
    if -650 < logabs < 650:  # det representable, and far from overflow/underflow
        ref = sign * np.exp(logabs)
        s = sigma(A)
        e = atol(A)
        dtol = float(np.prod((s + e) / _s(A)) - np.prod(s / _s(A))) * _s(A) ** n
        assert abs(d - ref) <= 2 * dtol + 1e-300
        lam_scaled = lam / _s(A)
        assert abs(np.prod(lam_scaled) * _s(A) ** n - d) <= 4 * dtol * np.sqrt(n) + 1e-300
    t = svdkit.trace(A)
    assert t == np.trace(A)
    assert abs(np.sum(lam) - t) <= n * atol(A) * 10


@SETTINGS
@given(data=st.data())
def test_eig_eigh_reconstruction_at_any_scale(data):
    A, _ = data.draw(matrices(shape=data.draw(_square, label="n")), label="A")
    n = A.shape[0]
    r = svdkit.eig(A)
    assert r.residual() <= unit(A) * 1e4
    assert_sign_rule(r.vectors, "eig vectors")
    for H in ((A + A.conj().T) / 2, (A / _s(A)).conj().T @ A):
        H = (H + H.conj().T) / 2
        h = svdkit.eigh(H)
        assert np.all(np.diff(h.values) >= 0)
        assert_orthonormal(h.vectors, "Q")
        assert_sign_rule(h.vectors, "Q")
        assert gap(h.reconstruct(), H) <= atol(H) if H.any() else True
        assert h.residual() <= unit(H)
        assert abs(np.sum(h.values) - svdkit.trace(H).real) <= n * atol(H)
    # λ(AᴴA/‖A‖) = σ²/‖A‖
    assert gap(h.values, np.sort(sigma(A) ** 2 / _s(A))) <= atol(H) * np.sqrt(n) * 10


# --------------------------------------------------------------------------------------
# Definiteness and Cholesky
# --------------------------------------------------------------------------------------

_KIND_OF = {
    (True, False, False): "positive definite",
    (True, True, False): "positive semidefinite",
    (False, False, True): "negative definite",
    (False, True, True): "negative semidefinite",
}


def _kind(values: np.ndarray, thr: float) -> str:
    pos = bool(np.any(values > thr))
    neg = bool(np.any(values < -thr))
    zero = bool(np.any(np.abs(values) <= thr))
    if pos and neg:
        return "indefinite"
    if not pos and not neg:
        return "positive semidefinite"  # the zero matrix (documented)
    return _KIND_OF[(pos, zero, neg)]


@st.composite
def hermitian(draw):
    """``(H, λ)``: ``Q diag(λ) Qᴴ`` with λ zero or of size ≥ 1e-3 · max|λ| (never borderline).

    Zero eigenvalues come from an *exactly* singular construction: ``H = C D Cᴴ``
    with an integer ``C`` of full column rank ``k < n`` and an integer diagonal ``D``.
    """
    n = draw(st.integers(1, 5))
    complex_ = draw(st.booleans())
    scale = draw(st.sampled_from([1.0, 1e100, 1e-100]))
    if draw(st.booleans()) and n >= 2:
        k = draw(st.integers(1, n - 1))
        C = draw(_dense((n, k), st.integers(-3, 3).map(float), complex_))
        assume(np.linalg.matrix_rank(C) == k)
        D = np.array(
            draw(st.lists(st.sampled_from([-3.0, -1.0, 1.0, 2.0]), min_size=k, max_size=k))
        )
        H = (C * D) @ C.conj().T
    else:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        Q = _orthogonal(rng, n, complex_)
        mags = np.array(draw(st.lists(st.floats(1e-3, 1.0), min_size=n, max_size=n)))
        signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
        H = (Q * (mags * signs)) @ Q.conj().T
    H = (H + H.conj().T) / 2
    return H * scale


@SETTINGS
@given(H=hermitian())
def test_definiteness_matches_eigenvalues_and_scales(H):
    d = svdkit.definiteness(H)
    values = np.linalg.eigvalsh(H / _s(H))
    thr = H.shape[0] * EPS * np.abs(values).max()
    assert str(d.kind) == _kind(values, thr)
    assert [str(c.kind) for c in d.criteria if c.kind is not None] == [str(d.kind)] * len(
        [c for c in d.criteria if c.kind is not None]
    )
    neg = {
        "positive definite": "negative definite",
        "negative definite": "positive definite",
        "positive semidefinite": "negative semidefinite",
        "negative semidefinite": "positive semidefinite",
        "indefinite": "indefinite",
    }
    if np.any(H):
        assert str(svdkit.definiteness(-H).kind) == neg[str(d.kind)]
    for c in (1e100, 1e-100, 0.5**60):
        assert svdkit.definiteness(H * c).kind is d.kind
    assert d.is_positive_definite == (str(d.kind) == "positive definite")
    # Cholesky: exists (positive diagonal, A = L Lᴴ) exactly when A is positive definite.
    if d.is_positive_definite:
        L = svdkit.cholesky(H)
        assert np.allclose(L, np.tril(L), atol=0)
        assert np.all(np.diag(L).real > 0) and np.all(np.diag(L).imag == 0)
        assert gap(L @ L.conj().T, H) <= atol(H)
    else:
        with pytest.raises(NotPositiveDefiniteError):
            svdkit.cholesky(H)
    if d.is_positive_semidefinite:
        L = svdkit.cholesky(H, semidefinite=True)
        assert gap(L @ L.conj().T, H) <= atol(H) * 10
        assert np.all(np.diag(L).real >= 0)


# --------------------------------------------------------------------------------------
# The exact engine against the numeric one
# --------------------------------------------------------------------------------------


@st.composite
def exact_inputs(draw):
    """``(input, sympy Matrix, numpy array)`` with int, Fraction or Gaussian-integer entries."""
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["int", "fraction", "gaussian"]))
    if kind == "int":
        rows = [[draw(st.integers(-5, 5)) for _ in range(n)] for _ in range(m)]
        M = sp.Matrix(rows)
    elif kind == "fraction":
        rows = [
            [Fraction(draw(st.integers(-4, 4)), draw(st.integers(1, 4))) for _ in range(n)]
            for _ in range(m)
        ]
        M = sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in r] for r in rows])
    else:
        pairs = [
            [(draw(st.integers(-2, 2)), draw(st.integers(-2, 2))) for _ in range(n)]
            for _ in range(m)
        ]
        M = sp.Matrix([[a + b * sp.I for a, b in r] for r in pairs])
        rows = M
    if draw(st.booleans()) and min(m, n) >= 2:  # rank deficient: a row twice another
        M = M.copy()
        M[m - 1, :] = M[0, :] * 2
        if kind == "gaussian":
            rows = M
        else:
            rows = [[Fraction(int(x.p), int(x.q)) for x in M.row(i)] for i in range(m)]
    a = np.array(M.evalf(), dtype=complex if kind == "gaussian" else float)
    return rows, M, a


def _zero(e) -> bool:
    return sp.simplify(sp.expand(e)) == 0


@EXACT_SETTINGS
@given(exact_inputs())
def test_exact_agrees_with_numeric(inp):
    rows, M, a = inp
    m, n = M.shape
    r = ex.rank(rows).value
    assert r == M.rank() == svdkit.rank(a)
    P = ex.pinv(rows).matrix
    assert (M * P * M - M).expand() == sp.zeros(m, n)
    assert (P * M * P - P).expand() == sp.zeros(n, m)
    assert ((M * P).H - M * P).expand() == sp.zeros(m, m)
    assert ((P * M).H - P * M).expand() == sp.zeros(n, n)
    assert gap(np.array(P.evalf(), dtype=complex), svdkit.pinv(a)) <= 1e-9
    res = ex.svd(rows)
    s2 = sorted((x**2 for x in res.s), key=lambda e: -float(sp.re(sp.N(e))))
    lam = (M.H * M).eigenvals(multiple=True)
    lam = sorted(lam, key=lambda e: -float(sp.re(sp.N(e))))
    for x, y in zip(s2, lam, strict=False):  # σᵢ² are the p largest eigenvalues of AᴴA
        assert abs(complex(sp.N(x - y, 30))) < 1e-20
    assert all(abs(complex(sp.N(y))) < 1e-20 for y in lam[len(s2) :])
    assert gap(np.array([float(sp.N(x)) for x in res.s]), svdkit.svd(a).s) <= 1e-9
    assert res.rank == r
    if m == n:
        d = ex.det(rows).value
        assert _zero(d - M.det())
        dn = svdkit.det(a)
        assert abs(complex(sp.N(d)) - dn) <= 1e-12 * max(1.0, np.prod(sigma(a)) * 10)
        assert _zero(ex.trace(rows).value - M.trace())


@EXACT_SETTINGS
@given(exact_inputs(), st.booleans())
def test_exact_svd_identities_and_sign_rule(inp, full):
    """Exact SVD of int, Fraction and Gaussian-integer matrices; the documented sign rule
    (svdkit/exact/singular.py, step 5: fewest negative entries in (uᵢ, vᵢ), a tie going
    to the numeric rule; complex: the numeric rule; completions on their own)."""
    rows, M, a = inp
    r = ex.svd(rows, full=full)
    again = ex.svd(rows, full=full)
    assert r.U == again.U and r.Vh == again.Vh  # deterministic
    U = np.array(r.U.evalf(30), dtype=complex)
    Vh = np.array(r.Vh.evalf(30), dtype=complex)
    s = np.array([float(sp.N(x)) for x in r.s])
    assert gap(U @ np.array(r.Sigma.evalf(30), dtype=complex) @ Vh, a) <= 1e-12
    assert gap(U.conj().T @ U, np.eye(U.shape[1])) <= 1e-12
    assert gap(Vh @ Vh.conj().T, np.eye(Vh.shape[0])) <= 1e-12
    assert gap(s, svdkit.svd(a).s) <= 1e-9
    V = Vh.conj().T
    tiny = 1e-20
    if not all(x.is_real for x in M):
        assert_sign_rule(U[:, : r.rank], "exact U")
        return
    U, V = U.real, V.real

    def check(vectors, lead, what):
        both = np.concatenate(vectors)
        neg, pos = int(np.sum(both < -tiny)), int(np.sum(both > tiny))
        assert neg <= pos, f"{what}: {neg} negative entries > {pos} positive"
        if neg == pos and np.any(np.abs(lead) > tiny):
            assert pivot(lead) > 0, what

    for i in range(r.rank):
        check([U[:, i], V[:, i]], U[:, i], f"pair {i}")
    for j in range(r.rank, U.shape[1]):
        check([U[:, j]], U[:, j], f"U completion {j}")
    for j in range(r.rank, V.shape[1]):
        check([V[:, j]], V[:, j], f"V completion {j}")


# --------------------------------------------------------------------------------------
# Concrete cases: ties of the sign rule, the same answer from every input form
# --------------------------------------------------------------------------------------


def test_sign_rule_ties_are_deterministic_across_forms_and_methods():
    """``±1/√2`` pivots tie: the rule takes the first; lists, text, Fractions, arrays agree."""
    A = [[1, 1], [1, -1]]
    forms = (A, np.array(A, float), "[[1, 1], [1, -1]]", [[Fraction(x) for x in r] for r in A])
    results = [svdkit.svd(f) for f in forms] + [svdkit.svd(f, full=True) for f in forms]
    for r in results:
        assert np.array_equal(r.U, results[0].U) and np.array_equal(r.Vh, results[0].Vh)
        assert_sign_rule(r.U, "U")
    assert np.array_equal(svdkit.svd(A, 1).U, results[0].U[:, :1])


def test_scaled_identities_on_a_fixed_matrix():
    """The same matrix at 1, 1e100 and 1e-100: ranks, kinds and relative results agree."""
    B = np.array([[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]])
    for c in (1.0, 1e100, 1e-100):
        A = B * c
        assert svdkit.rank(A) == 3 and str(svdkit.definiteness(A).kind) == "positive definite"
        L = svdkit.cholesky(A)
        assert gap(L @ L.T / c, B) <= 1e-14
        assert gap(svdkit.pinv(A) * c, np.linalg.inv(B)) <= 1e-13
        assert svdkit.cond(A) == pytest.approx(np.linalg.cond(B), rel=1e-12)
    assert svdkit.det(B) == pytest.approx(4.0, rel=1e-13)
    assert svdkit.det(B * 2.0**-300) == pytest.approx(4.0 * 2.0**-900, rel=1e-13)
