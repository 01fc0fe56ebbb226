"""Shared ground for the numeric-engine tests.

Three things live here, exposed through pytest hooks and fixtures (never imported
by the test modules, so that another ``conftest.py`` elsewhere cannot shadow them):

* the **table of cases** (``linalg_case``): square, tall, wide, complex,
  rank-deficient, ill-conditioned, 1×1, 1×n, n×1, identity and zero matrices,
  each with its exact rank (known by construction) and, where known, its exact
  singular values. Every test that takes a ``linalg_case`` argument runs on all
  of them (``pytest_generate_tests``).
* the **tolerance model** (fixture ``num``): every bound is a first-order
  backward-error bound — a multiple ``SAFETY`` of ``max(m, n) · eps`` times the
  size of what is compared (``‖A‖₂``, ``‖A‖₂ ‖A⁺‖₂``, …) — never a magic number.
* **hypothesis strategies** for matrices (fixture ``mats``): real and complex,
  integer-valued and float, rank-deficient by construction ``C @ D`` and
  ill-conditioned by construction ``U diag(logspace) Vᴴ``, shapes up to 8×8
  including 1×1, 1×n and n×1.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.linalg
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

EPS = float(np.finfo(np.float64).eps)

#: Safety factor on top of the first-order error bounds (the constants of the
#: textbook bounds are modest polynomials in the dimension; 100 covers them for
#: the sizes used here while staying ten orders of magnitude below any real error).
SAFETY = 100.0

#: The slack of the sign rule (svdkit.linalg.signs), restated here on purpose:
#: the tests re-derive the pivot independently instead of calling svdkit.
PIVOT_SLACK = 1e-10


# --------------------------------------------------------------------------------------
# The table of cases
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A matrix of the table with what is known about it by construction."""

    name: str
    A: np.ndarray
    rank: int
    sigma: np.ndarray | None = None  # exact singular values, when known

    @property
    def m(self) -> int:
        return self.A.shape[0]

    @property
    def n(self) -> int:
        return self.A.shape[1]

    @property
    def p(self) -> int:
        return min(self.A.shape)

    @property
    def square(self) -> bool:
        return self.m == self.n

    @property
    def complex(self) -> bool:
        return bool(np.iscomplexobj(self.A))

    @property
    def full_rank(self) -> bool:
        return self.rank == self.p

    def __repr__(self) -> str:  # shows in pytest's ids and failure messages
        return f"Case({self.name}, {self.m}×{self.n}, rank {self.rank})"


def _orthogonal(rng: np.random.Generator, n: int, complex_: bool = False) -> np.ndarray:
    z = rng.standard_normal((n, n))
    if complex_:
        z = z + 1j * rng.standard_normal((n, n))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))  # Haar-distributed, deterministic per seed


def _gaussian_ints(rng: np.random.Generator, shape, complex_: bool = False) -> np.ndarray:
    """Small integer entries: products of such matrices are exact in floating point."""
    a = rng.integers(-4, 5, size=shape).astype(float)
    if complex_:
        a = a + 1j * rng.integers(-4, 5, size=shape)
    return a


def _full_rank_ints(rng, shape, complex_=False):
    while True:
        a = _gaussian_ints(rng, shape, complex_)
        if np.linalg.matrix_rank(a) == min(shape):
            return a


def _build_cases() -> list[Case]:
    rng = np.random.default_rng(20250915)
    cases: list[Case] = []
    add = cases.append

    add(Case("square_4x4", rng.standard_normal((4, 4)), 4))
    add(Case("tall_6x3", rng.standard_normal((6, 3)), 3))
    add(Case("wide_3x5", rng.standard_normal((3, 5)), 3))
    add(
        Case(
            "complex_square_4x4", rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4)), 4
        )
    )
    add(Case("complex_tall_5x3", rng.standard_normal((5, 3)) + 1j * rng.standard_normal((5, 3)), 3))
    add(Case("complex_wide_2x4", rng.standard_normal((2, 4)) + 1j * rng.standard_normal((2, 4)), 2))
    add(Case("integer_3x3_rank2", np.arange(1.0, 10.0).reshape(3, 3), 2))
    c, d = _full_rank_ints(rng, (6, 2)), _full_rank_ints(rng, (2, 4))
    add(Case("tall_6x4_rank2", c @ d, 2))
    c, d = _full_rank_ints(rng, (3, 1)), _full_rank_ints(rng, (1, 5))
    add(Case("wide_3x5_rank1", c @ d, 1))
    c, d = _full_rank_ints(rng, (4, 2), True), _full_rank_ints(rng, (2, 4), True)
    add(Case("complex_4x4_rank2", c @ d, 2))
    c = _full_rank_ints(rng, (5, 3), True)
    add(Case("complex_tall_5x4_rank3", c[:, [0, 1, 2, 0]], 3))  # a repeated column
    h = scipy.linalg.hilbert(8)
    add(Case("hilbert_8x8", h, 8))
    sig = np.logspace(0, -12, 6)
    u, v = _orthogonal(rng, 8)[:, :6], _orthogonal(rng, 6)
    add(Case("illcond_8x6_logspace", (u * sig) @ v.T, 6, sig))
    sig = np.logspace(0, -10, 5)
    u, v = _orthogonal(rng, 5, True), _orthogonal(rng, 5, True)
    add(Case("complex_illcond_5x5", (u * sig) @ v.conj().T, 5, sig))
    add(Case("one_by_one", np.array([[-3.0]]), 1, np.array([3.0])))
    add(Case("one_by_one_complex", np.array([[3.0 - 4.0j]]), 1, np.array([5.0])))
    add(Case("one_by_one_zero", np.zeros((1, 1)), 0, np.zeros(1)))
    row = np.array([[1.0, -2.0, 2.0, 0.0, 4.0]])
    add(Case("row_1x5", row, 1, np.array([5.0])))
    add(Case("column_4x1", np.array([[2.0], [0.0], [-1.0], [2.0]]), 1, np.array([3.0])))
    add(Case("identity_4", np.eye(4), 4, np.ones(4)))
    add(Case("zero_3x4", np.zeros((3, 4)), 0, np.zeros(3)))
    add(Case("diagonal_signed_3x3", np.diag([3.0, -2.0, 0.5]), 3, np.array([3.0, 2.0, 0.5])))
    return cases


CASES = _build_cases()


def pytest_generate_tests(metafunc):
    if "linalg_case" in metafunc.fixturenames:
        metafunc.parametrize("linalg_case", CASES, ids=[c.name for c in CASES])


# --------------------------------------------------------------------------------------
# The tolerance model and independent checks
# --------------------------------------------------------------------------------------


def _arr(A) -> np.ndarray:
    a = np.asarray(A)
    return a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)


def _dim(A) -> int:
    a = np.asarray(A)
    return max(a.shape) if a.ndim else 1


def unit(A) -> float:
    """``SAFETY · max(m, n) · eps``: the relative accuracy a backward-stable method promises."""
    return SAFETY * _dim(A) * EPS


def atol(A) -> float:
    """``SAFETY · max(m, n) · eps · ‖A‖₂``: the absolute size of a backward error of ``A``."""
    a = _arr(A)
    return unit(a) * (float(np.linalg.norm(a, 2)) if a.size else 0.0)


def cond(A) -> float:
    """``‖A‖₂ ‖A⁺‖₂`` computed by NumPy, counting only σ above NumPy's rank threshold."""
    s = np.linalg.svd(_arr(A), compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 1.0
    keep = s[s > max(_arr(A).shape) * EPS * s[0]]
    return float(keep[0] / keep[-1])


def det_tol(A) -> float:
    """Ipsen & Rehman (2008): ``|det(A+E) − det A| ≤ ∏(σᵢ + ‖E‖₂) − ∏σᵢ``.

    With ``‖E‖₂`` the backward error of a stable method (``atol(A)``), this
    bounds the error of a determinant computed by LU or as a product of
    eigenvalues — singular matrices included.
    """
    a = _arr(A)
    s = np.linalg.svd(a, compute_uv=False)
    e = atol(a) if s.size and s[0] > 0 else 0.0
    return float(np.prod(s + e) - np.prod(s))


def balancing_cond(A) -> float:
    """``κ(D)`` of LAPACK's balancing ``D⁻¹AD`` (gebal), which ``geev`` applies first.

    The eigenpairs are backward stable for the balanced matrix; mapped back to A,
    residuals can grow by up to ``κ(D) = max dᵢ / min dᵢ``.
    """
    _, (scale, _) = scipy.linalg.matrix_balance(_arr(A), separate=True)
    return float(scale.max() / scale.min())


def pivot(v: np.ndarray) -> complex:
    """The sign rule's pivot of one vector, re-derived from its statement."""
    mags = np.abs(v)
    if mags.max() == 0:
        return 1.0
    eligible = np.flatnonzero(mags >= mags.max() * (1 - PIVOT_SLACK))
    return v[eligible[0]]


def assert_sign_rule(vectors: np.ndarray, what: str = "vectors") -> None:
    """Each column's pivot is real and positive (to rounding)."""
    for j in range(vectors.shape[1]):
        col = vectors[:, j]
        if not np.any(col):
            continue
        p = complex(pivot(col))
        assert p.real > 0, f"{what}[:, {j}]: pivot {p} is not positive"
        assert abs(p.imag) <= 4 * EPS * abs(p), f"{what}[:, {j}]: pivot {p} is not real"


def assert_orthonormal(Q: np.ndarray, what: str = "Q") -> None:
    """``QᴴQ = I`` to ``SAFETY · max(m, n) · eps``."""
    k = Q.shape[1]
    loss = np.linalg.norm(Q.conj().T @ Q - np.eye(k)) if k else 0.0
    assert loss <= unit(Q), f"{what} is not orthonormal: ‖QᴴQ − I‖_F = {loss:.2e}"


def assert_close(x, y, tol: float, what: str = "value") -> None:
    """``‖x − y‖ ≤ tol`` (Frobenius / Euclidean / absolute), with the gap in the message."""
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == y.shape, f"{what}: shape {x.shape} != {y.shape}"
    gap = float(np.linalg.norm((x - y).ravel())) if x.size else 0.0
    assert gap <= tol, f"{what}: ‖x − y‖ = {gap:.3e} > tol {tol:.3e}"


def numpy_rank(A) -> int:
    """NumPy's ``matrix_rank``, the same rule as svdkit's, for an independent count."""
    return int(np.linalg.matrix_rank(_arr(A)))


def projector(Q: np.ndarray) -> np.ndarray:
    """Orthogonal projector ``QQᴴ`` onto the span of orthonormal columns ``Q``."""
    return Q @ Q.conj().T


def row_space_basis(A) -> np.ndarray:
    """An orthonormal basis of R(Aᴴ) from NumPy's SVD and NumPy's rank (independent of svdkit)."""
    a = _arr(A)
    r = numpy_rank(a)
    _, _, vh = np.linalg.svd(a)
    return vh[:r].conj().T


@pytest.fixture(scope="session")
def num():
    """The tolerance model and the independent checks (see the module docstring)."""
    return SimpleNamespace(
        EPS=EPS,
        SAFETY=SAFETY,
        unit=unit,
        atol=atol,
        cond=cond,
        det_tol=det_tol,
        balancing_cond=balancing_cond,
        pivot=pivot,
        assert_sign_rule=assert_sign_rule,
        assert_orthonormal=assert_orthonormal,
        assert_close=assert_close,
        numpy_rank=numpy_rank,
        projector=projector,
        row_space_basis=row_space_basis,
        cases=CASES,
    )


# --------------------------------------------------------------------------------------
# Hypothesis strategies
# --------------------------------------------------------------------------------------

_dims = st.integers(1, 8)
_shapes = st.tuples(_dims, _dims)
_small_ints = st.integers(-5, 5).map(float)
# Floats of moderate range; magnitudes below 1e-8 become 0 so that squares and
# products of entries stay far from underflow (the tolerance model is relative
# to ‖A‖, it knows nothing of subnormals).
_floats = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False).map(
    lambda x: 0.0 if abs(x) < 1e-8 else x
)


def _dense(shape, elements, complex_: bool):
    real = hnp.arrays(np.float64, shape, elements=elements)
    if not complex_:
        return real
    return st.tuples(real, hnp.arrays(np.float64, shape, elements=elements)).map(
        lambda ri: ri[0] + 1j * ri[1]
    )


@st.composite
def general_matrices(draw, shape=None, complex_=None, integer=None):
    """Any matrix: real or complex, integer-valued or float, up to 8×8."""
    shape = draw(_shapes) if shape is None else shape
    complex_ = draw(st.booleans()) if complex_ is None else complex_
    integer = draw(st.booleans()) if integer is None else integer
    return draw(_dense(shape, _small_ints if integer else _floats, complex_))


@st.composite
def rank_deficient(draw, shape=None, complex_=None):
    """``B = C @ D`` with a small inner dimension ``k < min(m, n)`` and integer factors.

    Integer factors make the product exact, so its rank is exactly ``rank C ∧ rank D``.
    Returns ``(B, k, exact)``: ``exact`` is True when C and D both have full rank
    ``k``, so that ``rank B = k`` exactly; otherwise only ``rank B ≤ k`` is known.
    """
    m, n = draw(st.tuples(st.integers(2, 8), st.integers(2, 8))) if shape is None else shape
    complex_ = draw(st.booleans()) if complex_ is None else complex_
    k = draw(st.integers(1, min(m, n) - 1))
    c = draw(_dense((m, k), st.integers(-3, 3).map(float), complex_))
    d = draw(_dense((k, n), st.integers(-3, 3).map(float), complex_))
    return c @ d, k, numpy_rank(c) == k and numpy_rank(d) == k


@st.composite
def ill_conditioned(draw, shape=None, complex_=None):
    """``U diag(logspace(0, −e, p)) Vᴴ`` with Haar ``U``, ``V`` and ``e`` up to 12.

    Returns ``(A, sigma)`` with the exact singular values ``sigma`` (descending).
    """
    m, n = draw(_shapes) if shape is None else shape
    complex_ = draw(st.booleans()) if complex_ is None else complex_
    e = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    p = min(m, n)
    sigma = np.logspace(0, -e, p)
    u = _orthogonal(rng, m, complex_)[:, :p]
    v = _orthogonal(rng, n, complex_)[:, :p]
    return (u * sigma) @ v.conj().T, sigma


@st.composite
def any_matrix(draw):
    """One of the three families above, as a bare matrix."""
    family = draw(st.sampled_from(["general", "rank_deficient", "ill_conditioned"]))
    if family == "general":
        return draw(general_matrices())
    if family == "rank_deficient":
        return draw(rank_deficient())[0]
    return draw(ill_conditioned())[0]


@pytest.fixture(scope="session")
def mats():
    """Hypothesis strategies for matrices (draw them with ``st.data()``)."""
    return SimpleNamespace(
        general=general_matrices,
        rank_deficient=rank_deficient,
        ill_conditioned=ill_conditioned,
        any=any_matrix,
        floats=_floats,
        small_ints=_small_ints,
        dense=_dense,
    )


@pytest.fixture(scope="module")
def dask_client():
    """A dask.distributed client on an in-process LocalCluster (one worker, two threads),
    one per test module."""
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    )
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()
