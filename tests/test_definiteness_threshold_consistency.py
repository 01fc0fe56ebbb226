"""One zero decision near the threshold: definiteness, rank and Cholesky agree.

For a Hermitian ``H`` the eigenvalues and the singular values are the same numbers
up to sign (``σᵢ = |λᵢ|``), but ``eigvalsh`` and ``svdvals`` round differently: an
eigenvalue within rounding of the zero threshold could be counted zero by one and
non-zero by the other. svdkit decides once: ``definiteness`` counts exactly
``svdkit.rank(H)`` eigenvalues non-zero (with the same ``tol``), and the Cholesky
factorisations follow ``definiteness`` (PD ⇔ ``cholesky`` succeeds, PSD ⇔
``cholesky(semidefinite=True)`` succeeds).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svdkit
from svdkit.errors import NotPositiveDefiniteError
from svdkit.linalg.cholesky import cholesky_attempt

EPS = float(np.finfo(np.float64).eps)

#: the example of the report: exactly positive definite (det ≈ 9.8e-16 > 0, λ_min ≈ 1.3e-15,
#: about twice the threshold 6.7e-16), whose last Cholesky pivot the pivot rule refused
H_EXAMPLE = np.array(
    [
        [0.9697846434918805, 0.03400971727958723, -0.13325438576266918],
        [0.03400971727958723, 0.4542895542795644, 0.36552465642202425],
        [-0.13325438576266918, 0.36552465642202425, 0.32077601441937004],
    ]
)

#: random SPD matrices Q diag(λ) Qᵀ with λ_min within 0.3–3 thresholds of 0 on which
#: eigvalsh and svdvals land on opposite sides of the same threshold (rank(H) == n but
#: definiteness said PSD, or rank(H) == n − 1 but definiteness said PD)
STRADDLING = [
    [
        [0.7666894374582665, 0.25428113175539885, 0.15059456323581039, -0.11778076084502986],
        [0.25428113175539885, 0.39372066061655364, -0.2546634629800648, 0.19327383898734163],
        [0.15059456323581039, -0.2546634629800648, 0.8472991348954797, 0.19681717604071441],
        [-0.11778076084502986, 0.19327383898734163, 0.19681717604071441, 0.5813881004346434],
    ],
    [
        [
            0.8293306234735623,
            0.24075754590987974,
            -0.0445397045835771,
            -0.054088236640940035,
            -0.017195295613190272,
        ],
        [
            0.24075754590987974,
            0.17661971902650936,
            0.1569380890449833,
            -0.1500046934526443,
            -0.18837661062656363,
        ],
        [
            -0.0445397045835771,
            0.1569380890449833,
            0.7777024795247093,
            0.024784533459332903,
            0.009964214277176626,
        ],
        [
            -0.054088236640940035,
            -0.1500046934526443,
            0.024784533459332903,
            0.7883398670287497,
            0.006159901065768204,
        ],
        [
            -0.017195295613190272,
            -0.18837661062656363,
            0.009964214277176626,
            0.006159901065768204,
            0.7598290390799787,
        ],
    ],
    [
        [0.2367866832236657, -0.12163249248283876, -0.3865062824859897],
        [-0.12163249248283876, 0.7949805776931982, 0.11249369902075587],
        [-0.3865062824859897, 0.11249369902075587, 0.6410010828144321],
    ],
    [
        [0.19870640228887554, 0.10882972324532192, 0.11546849640042706, -0.34199854647284644],
        [0.10882972324532192, 0.9538334322592164, 0.02856417568579754, -1.5740888016963824e-05],
        [0.11546849640042706, 0.02856417568579754, 0.8482701626482131, 0.03803090705487033],
        [-0.34199854647284644, -1.5740888016963824e-05, 0.03803090705487033, 0.7042141380088286],
    ],
]


def _check_one_decision(H: np.ndarray, tol: float | None = None) -> svdkit.Definiteness:
    """Every agreement the module promises, on one Hermitian H."""
    n = H.shape[0]
    d = svdkit.definiteness(H, tol=tol)
    values, thr = d.eigenvalues.values, d.tol_used
    n_pos, n_zero, n_neg = d.inertia
    # the eigenvalues counted non-zero are the numerical rank, by the singular values
    r = svdkit.rank(H, tol=tol)
    assert n_pos + n_neg == r, (d.inertia, r, values, thr)
    assert n_zero == n - r
    # the counts are the threshold's: |λ| <= tol_used exactly for the zero ones
    assert int(np.count_nonzero(np.abs(values) <= thr)) == n_zero
    assert int(np.count_nonzero(values > thr)) == n_pos
    # …and the zero ones are the n − rank smallest in |λ|
    if 0 < n_zero < n:
        a = np.sort(np.abs(values))
        assert a[n_zero - 1] <= thr < a[n_zero]
    # one result, one verdict: the quadratic form, the eigenvalues and Cholesky say the
    # kind; Sylvester's minors say it too, or (only where an indefinite A's negative or
    # positive eigenvalue shows in no minor beyond the threshold) decline, saying why
    assert [str(c.kind) for c in d.criteria[:3]] == [str(d.kind)] * 3
    s = d.sylvester
    if s.kind is None:
        assert d.kind == "indefinite", s.reason
        assert "by its eigenvalues" in s.reason and s.explanation == f"undecided: {s.reason}"
        assert s.refutes_psd is None or s.refutes_nsd is None
    else:
        assert s.kind == d.kind
    assert (svdkit.cond(H, tol=tol) == np.inf) == (r < n)
    # Cholesky follows definiteness: PD ⇔ cholesky, PSD ⇔ cholesky(semidefinite=True)
    scale = float(np.abs(H).max())
    for M, pd, psd in (
        (H, d.is_positive_definite, d.is_positive_semidefinite),
        (-H, d.is_negative_definite, d.is_negative_semidefinite),
    ):
        for semidefinite, expected in ((False, pd), (True, psd)):
            attempt = cholesky_attempt(M, semidefinite=semidefinite, tol=tol)
            assert attempt.succeeded == expected, (semidefinite, str(d.kind), values, thr)
            if expected:
                L = svdkit.cholesky(M, semidefinite=semidefinite, tol=tol)
                assert np.array_equal(L, np.tril(L))
                diag = np.diagonal(L)
                assert np.all(diag.imag == 0)
                assert np.all(diag.real > 0) if not semidefinite else np.all(diag.real >= 0)
                # A = L Lᴴ to rounding (√thr where a semidefinite column was dropped)
                bound = 50 * n * EPS * scale if not semidefinite else 10 * np.sqrt(n * EPS) * scale
                if tol is not None and semidefinite:
                    bound = max(bound, n * tol)  # a dropped column costs up to the tolerance
                assert np.abs(L @ L.conj().T - M).max() <= bound
            else:
                with pytest.raises(NotPositiveDefiniteError):
                    svdkit.cholesky(M, semidefinite=semidefinite, tol=tol)
    return d


def test_the_report_example_is_positive_definite_everywhere():
    d = _check_one_decision(H_EXAMPLE)
    assert d.is_positive_definite and svdkit.rank(H_EXAMPLE) == 3
    L = svdkit.cholesky(H_EXAMPLE)
    assert np.abs(L @ L.T - H_EXAMPLE).max() <= 4 * EPS


@pytest.mark.parametrize("index", range(len(STRADDLING)))
def test_eigenvalues_and_singular_values_straddling_the_threshold_decide_once(index):
    H = np.array(STRADDLING[index])
    d = _check_one_decision(H)
    # the smallest eigenvalue is the one near the threshold; the rest are in [0.5, 1]
    assert d.inertia[0] >= H.shape[0] - 1 and d.inertia[2] == 0


def test_a_moved_threshold_is_explained():
    # rank 4 by the singular values, λ_min 7.8e-16 below the rule's 8.9e-16 by eigvalsh:
    # the threshold moves below λ_min (by rounding), and the explanation says so
    H = np.array(STRADDLING[0])
    d = svdkit.definiteness(H)
    nominal = 4 * EPS * float(np.max(np.abs(d.eigenvalues.values)))
    assert d.is_positive_definite and svdkit.rank(H) == 4
    assert d.tol_used < d.eigenvalues.values[0] <= nominal
    assert "numerical rank" in d.eigenvalues.explanation
    assert abs(d.tol_used - nominal) <= 4 * EPS  # a move of rounding size, no more


def test_an_unmoved_threshold_is_the_rule():
    d = svdkit.definiteness(np.diag([4.0, -2.0, 1.0]))
    assert d.tol_used == 3 * EPS * 4.0
    assert "numerical rank" not in d.eigenvalues.explanation
    assert svdkit.definiteness(np.diag([1.0, 1e-10]), tol=1e-8).tol_used == 1e-8


def _unitary(rng: np.random.Generator, n: int, complex_: bool) -> np.ndarray:
    G = rng.standard_normal((n, n))
    if complex_:
        G = G + 1j * rng.standard_normal((n, n))
    Q, R = np.linalg.qr(G)
    return Q * (np.diagonal(R) / np.abs(np.diagonal(R)))


@st.composite
def borderline_hermitian(draw, tol: float | None = None):
    """``Q diag(λ) Qᴴ``, n 2–8, real or complex: ``|λ|`` in [0.5, 1] (λ₁ = ±1) except
    1 to n − 1 eigenvalues at ``±c · thr``, ``c`` in 0.3–3, on both sides of zero
    (``thr = n · eps`` without ``tol``, else ``tol``)."""
    n = draw(st.integers(2, 8))
    complex_ = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(1, n - 1))
    lam = rng.uniform(0.5, 1.0, n) * rng.choice([-1.0, 1.0], n)
    lam[0] = np.sign(lam[0])
    thr = n * EPS if tol is None else tol
    lam[n - k :] = thr * rng.uniform(0.3, 3.0, k) * rng.choice([-1.0, 1.0], k)
    Q = _unitary(rng, n, complex_)
    H = (Q * lam) @ Q.conj().T
    return H / 2 + H.conj().T / 2


_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@_SETTINGS
@given(H=borderline_hermitian())
def test_borderline_hermitian_matrices_decide_once(H):
    _check_one_decision(H)


@_SETTINGS
@given(H=borderline_hermitian(tol=1e-15))
def test_borderline_hermitian_matrices_decide_once_with_tol(H):
    _check_one_decision(H, tol=1e-15)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_positive_borderline_matrices_agree_with_rank(seed):
    # the report's experiment: SPD matrices with λ_min = n·eps·(0.3..3) (331 of 2000
    # disagreed); eigenvalues and singular values must be counted alike on every one
    rng = np.random.default_rng(seed)
    for _ in range(150):
        n = int(rng.integers(3, 8))
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        lam = np.sort(rng.uniform(0.5, 1, n))[::-1]
        lam[0] = 1.0
        lam[-1] = n * EPS * rng.uniform(0.3, 3)
        H = (Q * lam) @ Q.T
        H = (H + H.T) / 2
        d = svdkit.definiteness(H)
        r = svdkit.rank(H)
        assert d.is_positive_definite == (r == n)
        assert d.is_positive_semidefinite
        assert cholesky_attempt(H).succeeded == (r == n)
        assert cholesky_attempt(H, semidefinite=True).succeeded


#: eigenvalues −1, 2.5e-16 (zero) and 7.0e-16 (just above the threshold 6.7e-16):
#: indefinite, but every minor that could show the positive eigenvalue is zero by the rule
INDEFINITE_AT_THE_THRESHOLD = np.array(
    [
        [-0.03353975452395428 + 0j, -0.06069298489553201 + 0.05604630933220303j,
         0.12337605727413234 - 0.10182514756496797j],
        [-0.06069298489553201 - 0.05604630933220303j, -0.20348470947859257 + 0j,
         0.39341328182376734 + 0.021905363872086414j],
        [0.12337605727413234 + 0.10182514756496797j, 0.39341328182376734 - 0.021905363872086414j,
         -0.7629755359974519 + 0j],
    ]
)  # fmt: skip


def test_sylvester_declines_where_no_minor_shows_an_eigenvalue_at_the_threshold():
    # it said "negative semidefinite" beside three criteria saying "indefinite"
    H = INDEFINITE_AT_THE_THRESHOLD
    d = _check_one_decision(H)
    assert d.kind == "indefinite" and d.inertia == (1, 1, 1)
    s = d.sylvester
    assert s.kind is None
    assert "negative semidefinite" in s.reason and "indefinite by its eigenvalues" in s.reason
    assert s.refutes_psd is not None and s.refutes_nsd is None
    # no principal minor of the wrong sign for NSD exists at this threshold
    assert all(m.sign in (0, -1 if m.order % 2 else 1) for m in s.principal_minors)


def test_sylvester_takes_the_eigenvalues_side_where_the_minors_allow_both():
    # eigenvalues −1.5, 0.9, 0.9 with tol = 1: negative semidefinite (0.9 is zero);
    # the diagonal is 0.1 (zero) and every 2 × 2 minor has the eigenvalue 0.9 (zero),
    # so no minor refutes PSD or NSD; it said "positive semidefinite"
    F = np.exp(2j * np.pi * np.outer(range(3), range(3)) / 3) / np.sqrt(3)
    H = (F * np.array([-1.5, 0.9, 0.9])) @ F.conj().T
    H = H / 2 + H.conj().T / 2
    d = _check_one_decision(H, tol=1.0)
    assert d.kind == "negative semidefinite" and d.inertia == (0, 2, 1)
    assert [str(c.kind) for c in d.criteria] == ["negative semidefinite"] * 4
    assert d.sylvester.refutes_psd is None and d.sylvester.refutes_nsd is None
    assert svdkit.rank(H, tol=1.0) == 1
