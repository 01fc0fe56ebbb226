"""Review of the numeric engine at extreme scales, and of the one energy rank rule.

Regressions for what an earlier review left:

* ``is_normal`` with an explicit ``tol`` formed ``AAᴴ`` of a ``1e200``-sized
  matrix (``OverflowError`` from ``‖A‖_F²``, then ``inf − inf``), and of a
  ``1e-200``-sized one (``1e-400`` underflows: any non-normal matrix passed
  ``tol=0``); ``is_orthonormal`` overflowed alike; ``is_symmetric``,
  ``is_hermitian``, ``is_diagonal`` and ``require_hermitian`` raised a raw
  ``ValueError`` or said ``True`` near ``1e308`` (``A − Aᵀ`` and ``‖A‖_F``
  overflowed). An explicit ``tol`` stays an absolute threshold on the defect of
  ``A`` as given, compared exactly;
* a determinant beyond float64 (``det(1e200 · A)``) and the Sylvester minors were
  only ``±inf`` or ``0`` in the numeric API: ``slogdet`` and the minors'
  ``log_abs`` now hold them at any size, the explanations print ``1e+601``, and
  the Sylvester signs (from eigenvalues, never from the products) are right;
* the energy rank rule existed twice (``svdkit.lowrank``'s ``Target`` and
  ``svdkit.lora.rank.energy_rank``); the Target took ``k = 0`` for an error bound
  just below 1 (the rank-0 approximation leaves out all of ``‖A‖_F``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import svdkit
from svdkit.errors import ShapeError, StructureError
from svdkit.linalg.structure import (
    hermitian_defect,
    is_diagonal,
    is_hermitian,
    is_normal,
    is_orthonormal,
    is_symmetric,
    require_hermitian,
)


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# a non-normal matrix with ‖NNᵀ − NᵀN‖_F = ‖[[1, 1], [1, −1]]‖_F = 2 exactly
N = np.array([[1.0, 1.0], [0.0, 2.0]])
# normal matrices whose two products are computed as the same numbers (defect exactly 0)
P = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # cyclic permutation
S = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])  # SPD, minors 4, 11, 18
H = np.array([[2.0, 1j, 0.0], [-1j, 3.0, 1 + 1j], [0.0, 1 - 1j, 1.0]])  # Hermitian
R = np.array([[0.0, -1.0], [1.0, 0.0]])  # a rotation
INDEFINITE = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])  # minors 1, −3, −9

SCALES = [1e150, 1e-150, 1e200, 1e-200]
EPS = float(np.finfo(float).eps)


# ----------------------------------------------------------------------------- is_normal


@pytest.mark.parametrize("c", [*SCALES, 1e300, 2.0**-600])
@pytest.mark.parametrize("M", [P, 1j * P, R], ids=["permutation", "iP", "rotation"])
def test_is_normal_with_an_explicit_tol_is_true_at_any_scale(c, M):
    """Normal matrices whose products are exact (one term per entry): a defect of 0,
    within tol = 0, although AAᴴ is 1e400 (1e600) or 1e-400."""
    assert is_normal(c * M, tol=0.0) is True
    assert is_normal(c * M, tol=1.0) is True
    assert is_normal(c * M) is True


@pytest.mark.parametrize("c", [*SCALES, 1e300, 2.0**-600])
@pytest.mark.parametrize("M", [S, H], ids=["spd", "hermitian"])
def test_is_normal_of_hermitian_matrices_at_any_scale(c, M):
    """Their products agree to rounding, eps·c²·‖M‖²: within a tol of that size
    where it is a float (c = 1e±150), and by the default rule at every scale."""
    assert is_normal(c * M) is True
    size = c * c * float(np.sum(np.abs(M) ** 2))
    if 1e-300 < size < 1e306:
        assert is_normal(c * M, tol=1e-12 * size) is True


@pytest.mark.parametrize("c", SCALES)
def test_is_normal_with_an_explicit_tol_is_an_absolute_threshold_on_the_defect(c):
    """‖(cN)(cN)ᵀ − (cN)ᵀ(cN)‖_F = 2c²: within a tol above it, not below, at every
    scale, although 2c² is 2e400 or 2e-400 (outside float64) for c = 1e±200."""
    A = c * N
    assert is_normal(A) is False  # the default rule
    defect = 2 * c * c  # inf or 0 for c = 1e±200
    if 0 < defect < math.inf:
        assert is_normal(A, tol=defect * 0.99) is False
        assert is_normal(A, tol=defect * 1.01) is True
    elif defect == math.inf:  # 2e400 exceeds every float tol
        assert is_normal(A, tol=1e308) is False
        assert is_normal(A, tol=float(np.finfo(float).max)) is False
    else:  # 2e-400 is not zero, and is below every positive float tol
        assert is_normal(A, tol=0.0) is False
        assert is_normal(A, tol=5e-324) is True
        assert is_normal(A, tol=1e-300) is True


@pytest.mark.parametrize("k", [-700, -300, 300, 500])
def test_is_normal_compares_tol_exactly_with_the_unscaled_defect(k):
    """With c = 2^k the defect 2c² = 2^(2k+1) is exact: a tol equal to it holds, the
    next float below does not (where 2^(2k+1) is a float; beyond, the sign of 2k+1
    decides)."""
    A = np.ldexp(N, k)
    e = 2 * k + 1
    if -1074 <= e <= 1023:
        tol = math.ldexp(1.0, e)
        assert is_normal(A, tol=tol) is True
        assert is_normal(A, tol=math.nextafter(tol, 0.0)) is False
    elif e > 1023:
        assert is_normal(A, tol=float(np.finfo(float).max)) is False
    else:
        assert is_normal(A, tol=0.0) is False
        assert is_normal(A, tol=5e-324) is True


# ----------------------------------------------------------------------------- siblings


@pytest.mark.parametrize("c", [1e150, 1e-150, 1e200, 1e-200])
def test_is_orthonormal_with_an_explicit_tol_at_any_scale(c):
    """‖(cQ)ᴴ(cQ) − I‖_F = |c² − 1|·√3 for an orthogonal 3 × 3 Q: 1.7e300 at 1e150,
    1e400 (more than any float) at 1e200, and √3 (AᴴA ≈ 0) for tiny c."""
    Q = P  # orthogonal
    A = c * Q
    assert is_orthonormal(A) is False
    if c > 1:
        defect = (c * c) * math.sqrt(3) if c * c < math.inf else math.inf
        if defect < math.inf:
            assert is_orthonormal(A, tol=defect * 1.01) is True
            assert is_orthonormal(A, tol=defect * 0.99) is False
        else:
            assert is_orthonormal(A, tol=float(np.finfo(float).max)) is False
    else:
        assert is_orthonormal(A, tol=1.74) is True  # √3 = 1.732…
        assert is_orthonormal(A, tol=1.73) is False


def test_is_orthonormal_at_the_largest_scales():
    """‖(cI₃)ᴴ(cI₃) − I‖_F = (c² − 1)·√3: 7.8e307 for c = 2^511 (within the largest
    float), beyond every float from c = 2^512 on."""
    big = float(np.finfo(float).max)
    assert is_orthonormal(2.0**511 * np.eye(3), tol=big) is True
    assert is_orthonormal(2.0**511 * np.eye(3), tol=7.7e307) is False
    for c in (2.0**512, 2.0**600, 1e308):
        assert is_orthonormal(c * np.eye(3), tol=big) is False
        assert is_orthonormal(c * np.eye(3)) is False


@pytest.mark.parametrize("c", [1e200, 1e-200, 1e308, 1e-308])
def test_linear_identities_are_scale_safe(c):
    """A − Aᵀ and ‖A‖_F overflow near 1e308 (inf − inf, a threshold of inf): the
    predicates answer as for A, with the default rule and with a tol in A's units."""
    sym = c * np.array([[1.0, 1.0], [1.0, 1.0]])
    skew = c * np.array([[1.0, 1.0], [-1.0, 1.0]])
    assert is_symmetric(sym) is True and is_hermitian(sym) is True
    assert is_symmetric(skew) is False and is_hermitian(skew) is False
    assert is_symmetric(sym, tol=0.0) is True
    assert is_symmetric(skew, tol=0.0) is False
    # the defect of skew is ‖A − Aᵀ‖_F = 2√2·c (2.8e308 for c = 1e308: beyond every float)
    # and its off-diagonal part has the norm √2·c
    big = float(np.finfo(float).max)
    for predicate, size in ((is_symmetric, 2 * math.sqrt(2)), (is_diagonal, math.sqrt(2))):
        if size * c * 1.01 < big:
            assert predicate(skew, tol=size * c * 1.01) is True
            assert predicate(skew, tol=size * c * 0.99) is False
        else:
            assert predicate(skew, tol=big) is (size * c <= big)
    assert is_diagonal(c * np.eye(2)) is True and is_diagonal(skew) is False


@pytest.mark.parametrize("c", [1e200, 1e308, 1e-308])
def test_require_hermitian_is_scale_safe(c):
    require_hermitian(c * np.array([[0.5, 1.0], [1.0, 0.25]]), "f")  # no error
    with pytest.raises(StructureError, match=r"A\[0,1\] = .* but A\[1,0\]"):
        require_hermitian(c * np.array([[1.0, 1.0], [-1.0, 1.0]]), "f")
    defect, thr, worst = hermitian_defect(c * np.array([[0.25, 0.5], [0.75, 1.0]]))
    assert worst == (0, 1)
    # in A's units (subnormal, so to fewer digits, for c = 1e-308)
    rel = 1e-15 if c > 1e-300 else 1e-6
    assert defect == pytest.approx(math.sqrt(2) / 4 * c, rel=rel, abs=0)  # |0.5c − 0.75c|·√2
    if c > 1e-300:
        assert thr == pytest.approx(2 * EPS * 2 * math.sqrt(1.875) * c, rel=1e-15, abs=0)


# ----------------------------------------------------------------------------- slogdet


def _exact_logdet(M: np.ndarray, c: float) -> float:
    """log|det(c·M)| = log|det M| + n·log c, det M of a small integer matrix exact."""
    return math.log(abs(round(float(np.linalg.det(M))))) + M.shape[0] * math.log(c)


@pytest.mark.parametrize("c", SCALES)
def test_slogdet_keeps_the_determinant_where_det_overflows(c):
    from svdkit import SlogDet, slogdet

    for M, sign in ((S, 1.0), (INDEFINITE, -1.0), (-S, -1.0)):
        r = slogdet(c * M)
        assert isinstance(r, SlogDet)
        assert r.sign == sign
        assert r.logabsdet == pytest.approx(_exact_logdet(M, c), rel=1e-14)
        s, logabs = r  # unpacks in NumPy's order
        assert (s, logabs) == (r.sign, r.logabsdet)
        assert (s, logabs) == tuple(float(x) for x in np.linalg.slogdet(c * M))
        d = svdkit.det(c * M)  # what NumPy's det gives: inf or 0 beyond float64
        if c >= 1e150:
            assert d == sign * math.inf and r.value == d
        elif c <= 1e-150:
            assert d == 0.0 and r.value == 0.0
    assert str(slogdet(1e200 * S)) == "1.8e+601"
    assert str(slogdet(1e-200 * INDEFINITE)) == "-9e-600"


def test_slogdet_edge_cases():
    from svdkit import slogdet

    assert tuple(slogdet([[1, 2], [2, 4]])) == (0.0, -math.inf)
    assert str(slogdet([[0.0]])) == "0" and slogdet([[0.0]]).value == 0.0
    r = slogdet([[1j * 1e200, 0], [0, 1e200]])
    assert r.sign == 1j and r.value == svdkit.det([[1j * 1e200, 0], [0, 1e200]])
    assert str(r) == "(0+1j)×1e+400"
    assert slogdet([[2.0]]).value == svdkit.det([[2.0]]) == 2.0
    assert str(slogdet([[999999.99]])) == "1e+06"  # the mantissa's carry
    with pytest.raises(ShapeError, match="slogdet"):
        slogdet(np.ones((2, 3)))


# ----------------------------------------------------------------------------- Sylvester


LEADING = {"spd": (S, [4, 11, 18]), "indefinite": (INDEFINITE, [1, -3, -9])}


@pytest.mark.parametrize("c", SCALES)
@pytest.mark.parametrize("name", ["spd", "indefinite"])
def test_sylvester_signs_and_logs_hold_the_minors_at_any_scale(c, name):
    M, minors = LEADING[name]
    r = svdkit.definiteness(c * M)
    want = svdkit.Kind.POSITIVE_DEFINITE if name == "spd" else svdkit.Kind.INDEFINITE
    assert r.kind == want
    assert [str(x.kind) for x in r.criteria] == [str(want)] * 4
    syl = r.sylvester
    assert syl.leading_signs.tolist() == [int(np.sign(d)) for d in minors]
    expected_logs = [math.log(abs(d)) + k * math.log(c) for k, d in enumerate(minors, start=1)]
    np.testing.assert_allclose(syl.leading_log_abs, expected_logs, rtol=1e-13)
    # leading_minors stay float64 (inf or 0 beyond its range); sign and log hold them
    for k, d in enumerate(minors, start=1):
        value = syl.leading_minors[k - 1]
        exact = d * c**k if abs(math.log10(c)) * k < 300 else None
        if exact is not None:
            assert value == pytest.approx(exact, rel=1e-13, abs=0)
    for m in syl.principal_minors:
        sign, logabs = m.slogdet
        sub = (c * M)[np.ix_(m.indices, m.indices)]
        ref_sign, ref_log = np.linalg.slogdet(sub)
        assert sign == m.sign == ref_sign
        assert logabs == pytest.approx(float(ref_log), rel=1e-13)
    # the explanation prints the minors, never inf or a 0 for a non-zero minor
    text = syl.explanation
    assert "inf" not in text
    if name == "spd":
        exponent = round(math.log10(c))
        assert f"D3 = 1.8e{3 * exponent + 1:+03d}" in text


def test_sylvester_beyond_the_all_minors_limit_uses_signs_and_logs():
    """n = 13 > ALL_MINORS_MAX_N: leading minors only, from eigenvalues; 1e200·I₁₃ has
    the minors 1e200ᵏ, all positive, up to 1e2600."""
    r = svdkit.definiteness(1e200 * np.eye(13))
    syl = r.sylvester
    assert syl.principal_minors is None and syl.kind == svdkit.Kind.POSITIVE_DEFINITE
    assert syl.leading_signs.tolist() == [1] * 13
    np.testing.assert_allclose(syl.leading_log_abs, np.arange(1, 14) * math.log(1e200))
    assert "inf" not in syl.explanation


# ----------------------------------------------------------------------------- energy rank


def _target_rank(s: np.ndarray, total: float, eps: float) -> int:
    """The rank truncated_svd's energy mode takes, every value of the spectrum given."""
    from svdkit.lowrank._common import Target

    t = Target(1, s.size, rank_tol=eps, rank_norm="energy", fro=math.sqrt(total), full=s.size)
    done, k = t.decide(s, s.size)
    assert done
    return k


def _lora_rank(s: np.ndarray, total: float, eps: float) -> int | None:
    """svdkit.lora's rule for the error bound eps (RankRule(error=eps) where 0 <= eps < 1)."""
    from svdkit.lora.rank import RankRule, energy_rank

    k = energy_rank(s, total, 1.0 - eps**2, tail=eps**2)
    if 0 <= eps < 1:
        assert RankRule(error=eps).select(s, total) == k
    return k


_S4 = np.array([4.0, 2.0, 1.0, 1.0])  # energies 16, 4, 1, 1 of 22; left out: 22, 6, 2, 1, 0
_THIRDS = np.array([0.1, 0.1, 0.1])  # total 0.03 in float: rounding at every sum
_TIE = math.sqrt(2 / 22)  # leaves out 2 of 22 at k = 2: a tie

ENERGY_CASES = [
    # (spectrum, total, ε, the smallest k with ‖A − A_k‖_F ≤ ε ‖A‖_F, by hand)
    (_S4, 22.0, 0.0, 4),  # ε = 0: every non-zero value
    (np.array([2.0, 1.0, 0.0, 0.0]), 5.0, 0.0, 2),  # ε = 0 with exact zeros: the rank
    (_S4, 22.0, 1.0, 0),  # ε = 1: A_0 = 0 is within ‖A‖_F
    (_S4, 22.0, 2.0, 0),  # ε > 1
    (_S4, 22.0, math.nextafter(1.0, 0.0), 1),  # just below 1: A_0 leaves out all of ‖A‖_F
    (_S4, 22.0, 1 - 1e-15, 1),
    (_S4, 22.0, math.sqrt(6 / 22), 1),  # a tie at k = 1
    (_S4, 22.0, _TIE, 2),  # a tie at k = 2
    (_S4, 22.0, math.nextafter(_TIE, 0.0), 2),  # one ulp below: rounding, still met
    (_S4, 22.0, _TIE * (1 - 1e-12), 3),  # clearly below: not met at 2
    (_S4, 22.0, math.sqrt(1 / 22), 3),  # a tie at k = 3
    (np.array([1.0, 1.0, 1.0, 1.0]), 4.0, math.sqrt(0.5), 2),  # the docstring's tie
    (np.array([4.0, 3.0]), 25.0, 0.6, 1),  # 3² = 0.36 · 25 exactly
    (_THIRDS, float(np.sum(_THIRDS**2)), math.sqrt(1 / 3), 2),  # float sums at the threshold
    (_THIRDS, float(np.sum(_THIRDS**2)), math.sqrt(2 / 3), 1),
    (np.array([1.0, 1e-9, 0.0]), 1.0 + 1e-18, 1e-10, 2),  # below √eps: no cancellation
    (np.array([0.0, 0.0]), 0.0, 0.5, 0),  # the zero matrix
    (np.array([0.0, 0.0]), 0.0, 0.0, 0),
]


@pytest.mark.parametrize(("s", "total", "eps", "expected"), ENERGY_CASES)
def test_the_energy_rank_rule_is_one_and_the_same(s, total, eps, expected):
    from svdkit.lowrank.rank import energy_tail_rank

    assert energy_tail_rank(s, total, eps**2) == expected
    assert _target_rank(s, total, eps) == expected
    assert _lora_rank(s, total, eps) == expected


def test_lora_energy_keeps_some_energy_for_any_positive_fraction():
    """energy=1e-20 asks for Σ_{i≤k} σᵢ² ≥ 1e-20 · total: k = 0 keeps nothing, so 1
    (1 − 1e-20 rounds to 1: the allowance is the whole total, yet k = 0 fails)."""
    from svdkit.lora.rank import RankRule, energy_rank

    assert energy_rank(_S4, 22.0, 1e-20) == 1
    assert RankRule(energy=1e-20).select(_S4, 22.0) == 1
    assert energy_rank(np.zeros(0), 22.0, 1e-20) is None  # no values: s is too short
    assert energy_rank(_S4, 22.0, 0.0) == 0


def test_incomplete_spectra_wait_for_the_values_not_computed():
    from svdkit.lowrank.rank import energy_tail_rank

    # σ₃, σ₄ not computed: 2 of 22 may lie beyond, so 0.1 · 22 is met at 2 but not 0.01
    assert energy_tail_rank(_S4[:2], 22.0, 0.1, complete=False) == 2
    assert energy_tail_rank(_S4[:2], 22.0, 0.01, complete=False) is None
    # a remainder at the rounding level: none with every value given, unknown else
    s = np.array([1.0])
    assert energy_tail_rank(s, 1.0 + 1e-15, 1e-20) == 1
    assert energy_tail_rank(s, 1.0 + 1e-15, 1e-20, complete=False) is None


@pytest.mark.parametrize("method", ["lapack", "krylov", "randomized"])
def test_truncated_svd_energy_rank_just_below_one_is_not_zero(method):
    """rank_tol = 1 − 1e-15 (allowed: rank_tol < 1): the rank-0 approximation has the
    relative error 1 > rank_tol, so k = 1 — it was 0."""
    from svdkit.lowrank import truncated_svd

    D = np.diag([1.0, 0.5, 1e-3, 1e-4] + [0.0] * 96)
    r = truncated_svd(D, rank_tol=1 - 1e-15, rank_norm="energy", method=method)
    assert r.k == 1 and r.s.tolist() == pytest.approx([1.0])


@pytest.mark.parametrize(
    ("A", "kind"),
    [([[1.5e308]], "positive definite"), ([[1e308, 0.0], [0.0, 1e308]], "positive definite"),
     ([[1e308, 1e308], [1e308, -1e308]], "indefinite"),
     ([[-1e308, 0.0], [0.0, -1.7e308]], "negative definite")],
)
def test_definiteness_and_cholesky_near_the_largest_float(A, kind):
    # (A + Aᴴ)/2 overflowed to inf first: a raw "array must not contain infs or NaNs"
    # out of solve_triangular, or OverflowError, for finite, valid input
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = svdkit.definiteness(A)
        assert d.kind == kind
        if kind == "positive definite":
            L = np.asarray(svdkit.cholesky(A))
            a = np.asarray(A)
            assert np.all(np.isfinite(L))
            # L Lᵀ = A, measured at A's scale (halved, so that the products stay finite)
            half = np.ldexp(L, -512) @ np.ldexp(L, -512).T
            np.testing.assert_allclose(half, np.ldexp(a, -1024), rtol=1e-15, atol=0)


def test_distance_names_a_metric_that_is_not_a_string():
    for bad in (None, 2, ["euclidean"]):
        with pytest.raises(svdkit.SvdkitError, match="metric must be a name"):
            svdkit.distance([1, 2], [3, 4], bad)
