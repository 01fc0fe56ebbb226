"""Definiteness by the notes' four criteria, and the Cholesky factorisations behind criterion 3.

Every result is checked against evidence recomputed here from the matrix: the
witness vectors' quadratic forms, ``L Lᴴ`` against A, the minors against
NumPy's determinants, the kind against the eigenvalues' signs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from svdkit.errors import NotPositiveDefiniteError, ShapeError, StructureError
from svdkit.linalg.cholesky import CholeskyAttempt, cholesky, cholesky_attempt
from svdkit.linalg.definiteness import (
    ALL_MINORS_MAX_N,
    Definiteness,
    Kind,
    definiteness,
)

EPS = float(np.finfo(float).eps)
PD, PSD, ND, NSD, INDEF = (
    Kind.POSITIVE_DEFINITE,
    Kind.POSITIVE_SEMIDEFINITE,
    Kind.NEGATIVE_DEFINITE,
    Kind.NEGATIVE_SEMIDEFINITE,
    Kind.INDEFINITE,
)
MIRROR = {PD: ND, PSD: NSD, ND: PD, NSD: PSD, INDEF: INDEF}

# ----------------------------------------------------------------------------- helpers


def quad(A, x) -> float:
    """``Re(xᴴAx)`` computed here, independently of svdkit."""
    A = np.asarray(A, dtype=complex)
    x = np.asarray(x, dtype=complex)
    return float(np.real(np.conj(x) @ A @ x))


def expected_kind(A) -> Kind:
    """The kind by the eigenvalues, with a generous gap around zero (test-side rule)."""
    lam = np.linalg.eigvalsh(np.asarray(A))
    gap = 1e-9 * max(1.0, float(np.max(np.abs(lam))))
    pos, neg = np.sum(lam > gap), np.sum(lam < -gap)
    zero = lam.size - pos - neg
    if neg == 0 and zero == 0:
        return PD
    if pos == 0 and zero == 0:
        return ND
    if neg == 0:
        return PSD
    if pos == 0:
        return NSD
    return INDEF


def det_tol(sub: np.ndarray) -> float:
    """Ipsen & Rehman (2008): ``|det(S + E) − det S| <= ∏(σᵢ + ‖E‖) − ∏σᵢ``.

    ``‖E‖ = 100·k·eps·σ₁``, the backward error of a stable method with a safety factor.
    """
    sv = np.linalg.svd(sub, compute_uv=False)
    e = 100 * sub.shape[0] * EPS * sv[0]
    return float(np.prod(sv + e) - np.prod(sv))


def check_evidence(r: Definiteness, A) -> None:
    """Every criterion that decides agrees with ``kind``, and its evidence holds up."""
    A = np.asarray(A)
    H = r.matrix
    n = H.shape[0]
    scale = max(1.0, float(np.max(np.abs(H))))
    small = 1e3 * n * EPS * scale

    # kind and booleans
    assert r.kind in set(Kind)
    assert r.is_positive_definite == (r.kind == PD)
    assert r.is_negative_definite == (r.kind == ND)
    assert r.is_indefinite == (r.kind == INDEF)
    assert r.is_positive_semidefinite == (r.kind in (PD, PSD))
    zero_matrix = r.eigenvalues.n_zero == n
    assert r.is_negative_semidefinite == (r.kind in (ND, NSD) or zero_matrix)
    assert sum(r.inertia) == n

    for c in r.criteria:
        assert c.name in ("quadratic form", "eigenvalues", "cholesky", "sylvester")
        assert isinstance(c.explanation, str) and c.explanation
        if c.kind is not None:
            assert c.kind == r.kind, f"{c.name}: {c.kind} != {r.kind}: {c.explanation}"
    names = ["quadratic form", "eigenvalues", "cholesky", "sylvester"]
    assert [c.name for c in r.criteria] == names

    # 2. eigenvalues: ascending, the inertia counts them
    lam = r.eigenvalues.values
    assert np.all(np.diff(lam) >= 0)
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(H), atol=small)
    thr = r.eigenvalues.threshold
    assert r.eigenvalues.n_positive == np.sum(lam > thr)
    assert r.eigenvalues.n_negative == np.sum(lam < -thr)

    # 1. quadratic form: witnesses give the claimed sign when recomputed here
    qf = r.quadratic_form
    for w, sign in ((qf.positive_witness, 1), (qf.negative_witness, -1), (qf.zero_witness, 0)):
        if w is None:
            continue
        assert w.sign == sign
        value = quad(H, w.x)
        assert abs(value - w.value) <= small * max(1.0, float(np.vdot(w.x, w.x).real))
        assert np.any(w.x != 0)
        if sign == 0:
            assert abs(value) <= small * float(np.vdot(w.x, w.x).real)
            if r.kind in (PSD, NSD):  # a zero of a semidefinite form is in the kernel
                assert np.linalg.norm(H @ w.x) <= np.sqrt(small * scale) * np.linalg.norm(w.x)
        else:
            assert sign * value > 0
            if np.iscomplexobj(A) and np.iscomplexobj(H):
                assert quad(A, w.x) == pytest.approx(value, abs=small)
    has_pos, has_neg = lam[-1] > thr, lam[0] < -thr
    assert (qf.positive_witness is not None) == has_pos
    assert (qf.negative_witness is not None) == has_neg
    if r.kind in (PSD, NSD) and not zero_matrix:
        assert qf.zero_witness is not None
    for w, target in ((qf.minimizer, lam[0]), (qf.maximizer, lam[-1])):
        assert np.linalg.norm(w.x) == pytest.approx(1.0)
        assert quad(H, w.x) == pytest.approx(target, abs=small)
    if r.kind == INDEF:
        assert qf.positive_witness is not None and qf.negative_witness is not None

    # 3. Cholesky: L is lower triangular, its diagonal real and >= 0, and L Lᴴ = ±A
    ch = r.cholesky
    if ch.factor is not None:
        L = ch.factor
        assert np.allclose(L, np.tril(L))
        d = np.diagonal(L)
        assert np.all(np.abs(d.imag) == 0) and np.all(d.real >= 0)
        target = -H if ch.negated else H
        assert np.linalg.norm(L @ L.conj().T - target) <= np.sqrt(small * scale) * n
        assert ch.negated == (r.kind in (ND, NSD))
        if r.kind in (PD, ND):
            assert np.all(d.real > 0)
    else:
        assert r.kind == INDEF and ch.kind == INDEF
    assert isinstance(ch.pd_attempt, CholeskyAttempt)
    assert (ch.pivot is None) == (r.kind == PD)
    if ch.pivot is not None:
        assert 1 <= ch.pivot <= n

    # 4. Sylvester: the minors are determinants, recomputed here
    sy = r.sylvester
    if sy.leading_minors is not None:
        for k in range(1, n + 1):
            sub = H[:k, :k]
            ref = float(np.real(np.linalg.det(sub)))
            assert abs(sy.leading_minors[k - 1] - ref) <= det_tol(sub)
            if abs(ref) > det_tol(sub):  # clearly non-zero: the sign is right
                assert sy.leading_signs[k - 1] == np.sign(ref)
        claim = bool(np.all(sy.leading_signs >= 0))
        assert sy.notes_leading_minor_claim == claim
        # (not where every principal minor is >= 0 at the tolerance: no minor shows it)
        shown = sy.principal_minors is None or sy.refutes_psd is not None
        assert sy.notes_claim_misleads == (claim and r.kind not in (PD, PSD) and shown)
        assert (sy.note is not None) == sy.notes_claim_misleads
    if n <= ALL_MINORS_MAX_N:
        assert sy.principal_minors is not None
        assert len(sy.principal_minors) == 2**n - 1
        assert sy.kind is not None
        signs = {m.indices: m.sign for m in sy.principal_minors}
        if r.kind in (PD, PSD):
            assert all(s >= 0 for s in signs.values())
        if r.kind in (ND, NSD):
            assert all(s in (0, (-1) ** len(i)) for i, s in signs.items())
        if r.kind == INDEF:
            assert sy.refutes_psd is not None and sy.refutes_nsd is not None
            assert sy.refutes_psd.sign == -1
            assert sy.refutes_nsd.sign == -((-1) ** sy.refutes_nsd.order)


# ----------------------------------------------------------------------------- the notes' examples

KNOWN = [
    # (name, A, kind, inertia (pos, zero, neg), leading minors, notes' claim misleads)
    ("identity", np.eye(3), PD, (3, 0, 0), [1, 1, 1], False),
    ("tridiagonal", [[2, -1], [-1, 2]], PD, (2, 0, 0), [2, 3], False),
    ("ones", [[1, 1], [1, 1]], PSD, (1, 1, 0), [1, 0], False),
    ("notes_counterexample", [[0, 0], [0, -1]], NSD, (0, 1, 1), [0, 0], True),
    ("indefinite", [[1, 2], [2, 1]], INDEF, (1, 0, 1), [1, -3], False),
    ("minus_identity", -np.eye(2), ND, (0, 0, 2), [-1, 1], False),
    ("zero", np.zeros((2, 2)), PSD, (0, 2, 0), [0, 0], False),
    ("complex_hermitian", [[2, 1j], [-1j, 2]], PD, (2, 0, 0), [2, 3], False),
    ("minus_ones", [[-1, -1], [-1, -1]], NSD, (0, 1, 1), [-1, 0], False),
    ("indefinite_3x3_misleads", np.diag([1.0, 0.0, -1.0]), INDEF, (1, 1, 1), [1, 0, 0], True),
]


@pytest.mark.parametrize(("name", "A", "kind", "inertia", "leading", "misleads"), KNOWN)
def test_known_matrices(name, A, kind, inertia, leading, misleads):
    r = definiteness(A)
    assert r.kind == kind
    assert r.inertia == inertia
    assert all(c.kind == kind for c in r.criteria), [(c.name, c.kind) for c in r.criteria]
    np.testing.assert_allclose(r.sylvester.leading_minors, leading, atol=1e-12)
    assert r.sylvester.notes_claim_misleads is misleads
    assert r.symmetrized is False
    check_evidence(r, A)


def test_notes_counterexample_is_flagged():
    r = definiteness([[0, 0], [0, -1]])
    sy = r.sylvester
    # the notes' "generalised Sylvester": leading minors 0, 0 are >= 0, read as PSD ...
    assert sy.notes_leading_minor_claim is True
    assert list(sy.leading_signs) == [0, 0]
    # ... but the matrix is not PSD
    assert not r.is_positive_semidefinite
    assert r.eigenvalues.values[0] == pytest.approx(-1.0)
    assert sy.notes_claim_misleads is True
    assert sy.refutes_psd is not None and sy.refutes_psd.indices == (1,)
    assert sy.refutes_psd.value == pytest.approx(-1.0)
    assert "ALL principal minors" in sy.note and "rows/columns {2}" in sy.note
    assert r.note == sy.note
    # all principal minors are consistent with NSD: orders 1 -> {0, -1}, order 2 -> 0
    assert {m.indices: m.sign for m in sy.principal_minors} == {(0,): 0, (1,): -1, (0, 1): 0}


def test_claim_does_not_mislead_for_psd():
    r = definiteness([[1, 1], [1, 1]])
    assert r.sylvester.notes_leading_minor_claim is True
    assert r.sylvester.notes_claim_misleads is False and r.note is None


def test_zero_matrix_is_both_semidefinite():
    r = definiteness(np.zeros((3, 3)))
    assert r.kind == PSD and str(r.kind) == "positive semidefinite"
    assert r.is_positive_semidefinite and r.is_negative_semidefinite
    assert not (r.is_positive_definite or r.is_negative_definite or r.is_indefinite)
    assert r.cholesky.factor is not None and not np.any(r.cholesky.factor)


def test_kind_values_are_exact_strings():
    assert [k.value for k in Kind] == [
        "positive definite",
        "positive semidefinite",
        "negative definite",
        "negative semidefinite",
        "indefinite",
    ]
    assert Kind("indefinite") is Kind.INDEFINITE
    assert isinstance(Kind.INDEFINITE, str) and Kind.INDEFINITE == "indefinite"
    assert f"{Kind.POSITIVE_DEFINITE}" == "positive definite"


def test_simple_integer_witnesses_are_preferred():
    qf = definiteness([[1, 2], [2, 1]]).quadratic_form
    assert qf.positive_witness.label == "e1" and qf.positive_witness.value == 1.0
    assert qf.negative_witness.label == "e1 - e2"
    assert qf.negative_witness.x.tolist() == [1.0, -1.0]
    assert qf.negative_witness.value == -2.0
    z = definiteness([[1, 1], [1, 1]]).quadratic_form.zero_witness
    assert z.label == "e1 - e2" and z.value == 0.0
    z = definiteness([[0, 0], [0, -1]]).quadratic_form.zero_witness
    assert z.label == "e1" and z.value == 0.0


def test_complex_witness_uses_imaginary_unit():
    A = np.array([[1, 2j], [-2j, 1]])  # eigenvalues −1, 3; eᵢ ± eⱼ give 1, 1, 2, 2
    r = definiteness(A)
    assert r.kind == INDEF
    w = r.quadratic_form.negative_witness
    assert w.label == "e1 + i·e2"
    assert w.x.tolist() == [1, 1j]
    assert quad(A, w.x) == pytest.approx(-2.0) and w.value == pytest.approx(-2.0)
    check_evidence(r, A)


def test_eigenvector_fallback_witness():
    # every eᵢ and eᵢ ± eⱼ gives a positive value, yet the form takes a negative one
    A = np.array([[2.0, 1.9, 1.9], [1.9, 2.0, -1.9], [1.9, -1.9, 2.0]])
    r = definiteness(A)
    assert r.kind == INDEF
    w = r.quadratic_form.negative_witness
    assert "eigenvector" in w.label
    assert quad(A, w.x) < 0 and w.value == pytest.approx(r.eigenvalues.values[0])
    check_evidence(r, A)


def test_minimiser_is_recomputed_from_A():
    r = definiteness([[2, -1], [-1, 2]])
    lo = r.quadratic_form.minimizer
    assert lo.value == pytest.approx(1.0)
    assert np.allclose(np.abs(lo.x), [2**-0.5, 2**-0.5])
    assert r.quadratic_form.maximizer.value == pytest.approx(3.0)


# ----------------------------------------------------------------------------- input errors


def test_non_symmetric_is_refused_with_a_hint():
    with pytest.raises(StructureError) as err:
        definiteness([[1, 2], [3, 4]])
    msg = str(err.value)
    assert "A[0,1] = 2 but A[1,0] = 3" in msg
    assert "symmetrize=True" in msg and "symmetric" in msg


def test_non_hermitian_complex_is_refused():
    with pytest.raises(StructureError, match="Hermitian"):
        definiteness([[2, 1j], [1j, 2]])


def test_symmetrize_analyses_the_symmetric_part():
    A = np.array([[1.0, 4.0], [0.0, 1.0]])  # xᵀAx = x₁² + 4x₁x₂ + x₂², as [[1,2],[2,1]]
    r = definiteness(A, symmetrize=True)
    assert r.symmetrized is True
    np.testing.assert_array_equal(r.matrix, [[1.0, 2.0], [2.0, 1.0]])
    assert r.kind == INDEF
    w = r.quadratic_form.negative_witness
    assert quad(A, w.x) == pytest.approx(w.value) and w.value < 0  # the same form as A's
    check_evidence(r, A)


def test_symmetrize_complex_gives_real_part_of_form():
    A = np.array([[2.0, 1.0 + 1j], [0.0, 2.0]])
    r = definiteness(A, symmetrize=True)
    np.testing.assert_allclose(r.matrix, (A + A.conj().T) / 2)
    for w in (r.quadratic_form.minimizer, r.quadratic_form.maximizer):
        assert np.real(np.conj(w.x) @ A @ w.x) == pytest.approx(w.value)


def test_non_square_is_a_shape_error():
    with pytest.raises(ShapeError, match="2×3"):
        definiteness(np.ones((2, 3)))
    with pytest.raises(ShapeError):
        definiteness(np.ones((2, 3)), symmetrize=True)


def test_tolerance_override():
    A = np.diag([1.0, 1e-10])
    assert definiteness(A).kind == PD
    r = definiteness(A, tol=1e-8)
    assert r.kind == PSD and r.tol_used == 1e-8
    assert all(c.kind == PSD for c in r.criteria), [(c.name, c.kind) for c in r.criteria]
    B = np.diag([1.0, -1e-10])
    assert definiteness(B).kind == INDEF
    assert definiteness(B, tol=1e-8).kind == PSD
    # a tiny asymmetry passes the symmetry check only with a tolerance that allows it
    C = np.array([[2.0, 1.0], [1.0 + 1e-9, 2.0]])
    with pytest.raises(StructureError):
        definiteness(C)
    assert definiteness(C, tol=1e-6).kind == PD


def test_default_threshold_follows_the_tolerance_rule():
    r = definiteness(np.diag([4.0, -2.0, 1.0]))
    assert r.tol_used == pytest.approx(3 * EPS * 4.0)


def test_large_n_sylvester_limits():
    n = ALL_MINORS_MAX_N + 1
    r = definiteness(np.eye(n) * 2)
    assert r.kind == PD and r.sylvester.kind == PD
    assert r.sylvester.principal_minors is None
    # rank-deficient PSD: not decidable from the leading minors alone
    v = np.arange(1.0, n + 1)
    r = definiteness(np.outer(v, v))
    assert r.kind == PSD and r.sylvester.kind is None
    assert "principal minors" in r.sylvester.reason
    check_evidence(r, np.outer(v, v))
    # indefinite: refuted from the diagonal and leading minors
    d = np.ones(n)
    d[-1] = -1
    r = definiteness(np.diag(d))
    assert r.sylvester.kind == INDEF
    check_evidence(r, np.diag(d))


def test_minor_zero_rule_is_not_hadamard():
    # det = 22441 but 7·eps·∏‖rowᵢ‖ ≈ 24110: Hadamard's bound would call it zero
    u = np.array([0, 0, 1, 4, 5, 9, 9.0])
    A = np.eye(7) + 110 * np.outer(u, u)
    r = definiteness(A)
    assert r.kind == PD and r.sylvester.kind == PD
    assert r.sylvester.leading_minors[-1] == pytest.approx(22441)
    assert list(r.sylvester.leading_signs) == [1] * 7
    check_evidence(r, A)


# ----------------------------------------------------------------------------- Cholesky


def test_cholesky_definite():
    A = np.array([[4.0, 2.0], [2.0, 5.0]])
    L = cholesky(A)
    np.testing.assert_allclose(L, [[2, 0], [1, 2]])
    np.testing.assert_allclose(L @ L.T, A)


def test_cholesky_complex():
    A = np.array([[2, 1j], [-1j, 2]])
    L = cholesky(A)
    assert np.allclose(L, np.tril(L)) and np.all(np.diagonal(L).real > 0)
    np.testing.assert_allclose(L @ L.conj().T, A, atol=1e-14)


def test_cholesky_failure_names_the_pivot():
    with pytest.raises(NotPositiveDefiniteError) as err:
        cholesky([[1, 2], [2, 1]])
    assert err.value.pivot == 2
    assert str(err.value) == (
        "A is not positive definite: the leading minor of order 2 is not positive "
        "(pivot 2 of the Cholesky factorisation)"
    )
    with pytest.raises(NotPositiveDefiniteError) as err:
        cholesky(-np.eye(3))
    assert err.value.pivot == 1
    assert isinstance(err.value, np.linalg.LinAlgError)


def test_cholesky_refuses_numerically_zero_pivot():
    A = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-17]])  # singular to rounding
    with pytest.raises(NotPositiveDefiniteError) as err:
        cholesky(A)
    assert err.value.pivot == 2
    L = cholesky([[1.0, 0.0], [0.0, 1e-300]], tol=0.0)  # tol=0 accepts any positive pivot
    assert L[1, 1] == pytest.approx(1e-150)


def test_cholesky_input_errors():
    with pytest.raises(ShapeError, match="2×3"):
        cholesky(np.ones((2, 3)))
    with pytest.raises(StructureError, match=r"A\[0,1\] = 2 but A\[1,0\] = 3"):
        cholesky([[5, 2], [3, 5]])
    with pytest.raises(StructureError, match="not real"):
        cholesky([[1 + 1j, 0], [0, 1]])


def test_semidefinite_cholesky():
    L = cholesky([[1, 1], [1, 1]], semidefinite=True)
    np.testing.assert_allclose(L, [[1, 0], [1, 0]])
    L = cholesky(np.zeros((2, 2)), semidefinite=True)
    assert not np.any(L)
    A = np.array([[0.0, 0.0, 0.0], [0.0, 4.0, 2.0], [0.0, 2.0, 1.0]])
    L = cholesky(A, semidefinite=True)
    np.testing.assert_allclose(L @ L.T, A, atol=1e-14)
    np.testing.assert_allclose(np.diagonal(L), [0, 2, 0], atol=1e-14)
    with pytest.raises(NotPositiveDefiniteError):
        cholesky(A)  # not definite


def test_semidefinite_cholesky_threshold_grows_with_the_leading_block():
    # the third pivot is exactly 0 but computes to about −1e-14, beyond n·eps·max aᵢᵢ ≈ 8.7e-15;
    # Higham's factor (1 + ‖w‖)², w = A₁₁⁻¹a₁₃ = (2, −4), accepts it as zero
    B = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    A = B.T @ B
    L = cholesky(A, semidefinite=True)
    assert L[2, 2] == 0.0
    np.testing.assert_allclose(L @ L.T, A, atol=1e-12)
    r = definiteness(A)
    assert r.kind == PSD and r.cholesky.kind == PSD
    with pytest.raises(NotPositiveDefiniteError) as err:
        cholesky(A)
    assert err.value.pivot == 3


def test_semidefinite_cholesky_failures():
    with pytest.raises(NotPositiveDefiniteError, match="negative") as err:
        cholesky([[0, 0], [0, -1]], semidefinite=True)
    assert err.value.pivot == 2
    with pytest.raises(NotPositiveDefiniteError, match="entry below it in row 2") as err:
        cholesky([[0, 1], [1, 5]], semidefinite=True)
    assert err.value.pivot == 1
    r = cholesky_attempt([[0, 1], [1, 5]], semidefinite=True)
    assert not r.succeeded and not r and r.factor is None and r.pivot == 1
    assert r.semidefinite and "zero" in r.reason


def test_cholesky_attempt_success():
    r = cholesky_attempt([[4, 2], [2, 5]])
    assert r.succeeded and r.pivot is None and r.reason is None
    assert r.threshold == pytest.approx(2 * EPS * 5)


# ----------------------------------------------------------------------------- hypothesis

ints = st.integers(-3, 3).map(float)


@st.composite
def products(draw):
    """``B = C D`` with integer ``C`` (n×r), ``D`` (r×n), ``r <= n <= 6``: rank(B) <= r."""
    n = draw(st.integers(1, 6))
    r = draw(st.integers(1, n))
    C = draw(hnp.arrays(np.float64, (n, r), elements=ints))
    D = draw(hnp.arrays(np.float64, (r, n), elements=ints))
    return C @ D


@st.composite
def hermitian_ints(draw):
    n = draw(st.integers(1, 6))
    M = draw(hnp.arrays(np.float64, (n, n), elements=st.integers(-4, 4).map(float)))
    if draw(st.booleans()):
        N = draw(hnp.arrays(np.float64, (n, n), elements=st.integers(-4, 4).map(float)))
        M = M + 1j * N
    return M + M.conj().T


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(products())
def test_gram_matrices_are_psd(B):
    A = B.T @ B  # exact in floating point: integer entries
    full = np.linalg.matrix_rank(B) == B.shape[0]
    r = definiteness(A)
    assert r.kind == (PD if full else PSD)
    assert r.is_positive_semidefinite
    check_evidence(r, A)
    L = cholesky(A, semidefinite=True)
    assert np.linalg.norm(L @ L.T - A) <= 1e-6 * max(1.0, np.linalg.norm(A))
    if full:
        L = cholesky(A)
        assert np.linalg.norm(L @ L.T - A) <= 1e3 * EPS * max(1.0, np.linalg.norm(A))


@SETTINGS
@given(products())
def test_negated_gram_matrices_are_nsd(B):
    A = -(B.T @ B)
    full = np.linalg.matrix_rank(B) == B.shape[0]
    r = definiteness(A)
    zero = not np.any(B)
    assert r.kind == (ND if full else (PSD if zero else NSD))
    assert r.is_negative_semidefinite
    check_evidence(r, A)
    if not zero:
        with pytest.raises(NotPositiveDefiniteError):
            cholesky(A, semidefinite=True)


@SETTINGS
@given(products())
def test_shifted_gram_matrices(B):
    A = B.T @ B
    n = A.shape[0]
    full = np.linalg.matrix_rank(B) == n
    # + I: always positive definite
    r = definiteness(A + np.eye(n))
    assert r.kind == PD
    check_evidence(r, A + np.eye(n))
    # − I/2: a zero eigenvalue becomes −1/2, the largest (≥ 1 when B ≠ 0) stays positive
    S = A - np.eye(n) / 2
    r = definiteness(S)
    if not np.any(B):
        assert r.kind == ND
    elif not full:
        assert r.kind == INDEF
    check_evidence(r, S)
    # − (trace + 1) I: below every eigenvalue, negative definite
    S = A - (np.trace(A) + 1) * np.eye(n)
    r = definiteness(S)
    assert r.kind == ND
    check_evidence(r, S)


@SETTINGS
@given(hermitian_ints())
def test_criteria_agree_on_any_hermitian(A):
    r = definiteness(A)
    assert r.kind == expected_kind(A)
    check_evidence(r, A)
    assert definiteness(-A).kind == MIRROR[r.kind] or not np.any(A)


@SETTINGS
@given(hermitian_ints(), st.data())
def test_principal_minors_are_determinants(A, data):
    r = definiteness(A)
    minors = r.sylvester.principal_minors
    m = data.draw(st.sampled_from(minors))
    sub = A[np.ix_(m.indices, m.indices)]
    ref = float(np.real(np.linalg.det(sub)))
    assert abs(m.value - ref) <= det_tol(sub)
    if abs(ref) > det_tol(sub):
        assert m.sign == np.sign(ref)
    assert m.order == len(m.indices)
    n = A.shape[0]
    assert {mm.indices for mm in minors} == {
        c for k in range(1, n + 1) for c in itertools.combinations(range(n), k)
    }
