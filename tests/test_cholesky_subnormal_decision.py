"""One decision at every scale: A and A·2^k (exact) get the same rank, definiteness and
Cholesky decisions, down among the subnormals (review D1).

The matrices are integer matrices times a power of two, so every A·2^k down to 2^-1074 is
exact; the rule (``n · eps · max |λᵢ|``) is scale-free, so nothing may change with ``k``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import svdkit
from svdkit.errors import NotPositiveDefiniteError

EPS = float(np.finfo(float).eps)

#: the two matrices of the review (entries ≈ 1e-316 at k = -1074): positive definite
#: (λ = 8.2e-2, 1.8e8 at k = 0) and indefinite (λ = -6.1e-2, 1.9e8)
PD_NEAR_SINGULAR = [[77119541, 91059053], [91059053, 107518160]]
INDEFINITE_NEAR_SINGULAR = [[138319145, 85192183], [85192183, 52470741]]


def _scaled(K, k: int) -> np.ndarray:
    A = np.ldexp(np.asarray(K, dtype=float), k)
    assert np.array_equal(np.ldexp(A, -k), np.asarray(K, dtype=float))  # exact
    return A


def _decisions(A: np.ndarray) -> dict:
    """Every decision the API makes about A, and the factors, checked against each other."""
    d = svdkit.definiteness(A)
    out = {
        "rank": svdkit.rank(A),
        "kind": d.kind,
        "inertia": d.inertia,
        "criteria": tuple(c.kind for c in d.criteria),
    }
    factors = {}
    for semidefinite in (False, True):
        try:
            factors[semidefinite] = svdkit.cholesky(A, semidefinite=semidefinite)
        except NotPositiveDefiniteError as err:
            factors[semidefinite] = None
            assert "-0 < -0" not in str(err)
            assert "(-0 <" not in str(err)
    out["cholesky"] = factors[False] is not None
    out["cholesky_semidefinite"] = factors[True] is not None
    for c in d.criteria:
        assert "-0 < -0" not in c.explanation
    # the promises of svdkit.linalg.cholesky and svdkit.linalg.definiteness (Sylvester's
    # criterion may be undecided, None: it computes all principal minors only for small n)
    quadratic, eigen, chol, sylvester = out["criteria"]
    assert quadratic == eigen == chol == d.kind, (d.kind, out["criteria"])
    assert sylvester in (d.kind, None), (d.kind, out["criteria"])
    n_pos, _, n_neg = d.inertia
    assert n_pos + n_neg == out["rank"]
    assert out["cholesky"] == d.is_positive_definite
    assert out["cholesky_semidefinite"] == d.is_positive_semidefinite
    _check_factors(A, factors)
    return out


def _check_factors(A: np.ndarray, factors: dict) -> None:
    """``A = L Lᵀ`` to within rounding, measured on A and L scaled to entries near 1."""
    e = int(np.frexp(np.max(np.abs(A)))[1]) if A.any() else 0
    e -= e % 2  # even, so that L scales by 2^(e/2) exactly
    As = np.ldexp(A, -e)
    n = A.shape[0]
    for semidefinite, L in factors.items():
        if L is None:
            continue
        Ls = np.ldexp(L, -e // 2)
        assert np.array_equal(np.tril(Ls), Ls)
        assert (np.diagonal(Ls) >= 0).all()
        if not semidefinite:
            assert (np.diagonal(Ls) > 0).all()
        residual = np.linalg.norm(As - Ls @ Ls.T)
        # definite: backward stable; semidefinite: a dropped pivot may cost up to √thr
        bound = 64 * n * EPS * max(1.0, np.linalg.norm(As))
        if semidefinite:
            bound = max(bound, 4 * n * np.sqrt(n * EPS) * max(1.0, np.linalg.norm(As)))
        assert residual <= bound, (semidefinite, residual, bound)


@pytest.mark.parametrize(
    ("K", "kind", "rank"),
    [
        (PD_NEAR_SINGULAR, svdkit.Kind.POSITIVE_DEFINITE, 2),
        (INDEFINITE_NEAR_SINGULAR, svdkit.Kind.INDEFINITE, 2),
    ],
)
@pytest.mark.parametrize("k", [-1074, -1060, -1050, -1040, -1000, -900, -26, 0, 900, 990])
def test_review_matrices_same_decision_at_every_scale(K, kind, rank, k):
    got = _decisions(_scaled(K, k))
    assert got["kind"] == kind
    assert got["rank"] == rank
    assert got["cholesky"] == (kind == svdkit.Kind.POSITIVE_DEFINITE)


def test_review_indefinite_message_names_real_numbers():
    A = _scaled(INDEFINITE_NEAR_SINGULAR, -1074)
    with pytest.raises(NotPositiveDefiniteError) as info:
        svdkit.cholesky(A, semidefinite=True)
    text = str(info.value)
    assert "-0 <" not in text and "< -0" not in text
    assert "e-3" in text  # the pivot and its threshold, beyond the float range, in digits
    d = svdkit.definiteness(A)
    assert d.cholesky.kind == svdkit.Kind.INDEFINITE
    assert "-0 <" not in d.cholesky.explanation


def test_review_pd_eigenvalues_keep_their_side_of_the_threshold():
    """λ_min of the first matrix is below 2^-1074 in A's units; it is shown as the float
    nearest it on its side of the threshold, so the counts read off the values stand."""
    A = _scaled(PD_NEAR_SINGULAR, -1074)
    d = svdkit.definiteness(A)
    values, thr = d.eigenvalues.values, d.tol_used
    assert d.eigenvalues.inertia == (2, 0, 0)
    assert (values > thr).all()
    # the reference, at k = 0, scaled: λ_min = 8.18e-2 · 2^-1074 is about 4e-325
    ref = np.linalg.eigvalsh(np.asarray(PD_NEAR_SINGULAR, dtype=float))
    assert values[1] == pytest.approx(np.ldexp(ref[1], -1074), rel=1e-6)
    assert 0 < values[0] <= 2 * np.ldexp(1.0, -1074)


@st.composite
def _integer_matrices(draw):
    """Small symmetric integer matrices: random, near singular (``B Bᵀ`` plus a small
    integer perturbation, rank-deficient ones included) or indefinite, with entries
    below 2^44 so that A·2^k is exact for every k from -1074 to the top of the range."""
    n = draw(st.integers(1, 4))
    how = draw(st.sampled_from(["random", "gram", "gram+", "gram-", "2x2"]))
    if how == "2x2":
        # [[a, b], [b, c]] with b² within a few units of ac: λ_min ≈ det/(a + c), far
        # below the entries (the review's matrices are of this kind)
        a, c = draw(st.integers(1, 2**27)), draw(st.integers(1, 2**27))
        b = math.isqrt(a * c) + draw(st.integers(-1, 2))
        sign = draw(st.sampled_from([1, -1]))
        return sign * np.array([[a, b], [b, c]], dtype=float)
    ints = st.integers(-(2**20), 2**20)
    if how == "random":
        M = np.array(draw(st.lists(ints, min_size=n * n, max_size=n * n)), dtype=np.int64)
        M = M.reshape(n, n)
        K = np.triu(M) + np.triu(M, 1).T
    else:
        r = draw(st.integers(1, n))
        B = np.array(draw(st.lists(ints, min_size=n * r, max_size=n * r)), dtype=np.int64)
        B = B.reshape(n, r)
        K = B @ B.T
        if how != "gram":
            i = draw(st.integers(0, n - 1))
            K[i, i] += draw(st.integers(1, 3)) * (1 if how == "gram+" else -1)
    assert np.abs(K).max() < 2**44
    return K.astype(float)


@settings(max_examples=60, deadline=None)
@given(K=_integer_matrices(), data=st.data())
def test_decisions_are_scale_free(K, data):
    if not K.any():
        return  # the zero matrix: nothing to scale
    reference = _decisions(K)
    top = 1023 - int(np.frexp(np.abs(K).max())[1]) - 2  # n·max|aᵢⱼ| stays finite
    ks = [-1074, data.draw(st.integers(-1074, -1000)), data.draw(st.integers(-1074, top)), top]
    for k in ks:
        got, want = _decisions(_scaled(K, k)), dict(reference)
        # Sylvester's criterion may be undecided (None) where its minors leave the float
        # range; where it decides, it decides alike
        if None in (got["criteria"][3], want["criteria"][3]):
            got["criteria"], want["criteria"] = got["criteria"][:3], want["criteria"][:3]
        assert got == want, k
