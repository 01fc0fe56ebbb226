"""The notes and criteria of one report do not contradict each other.

Near the zero threshold a report could say two things at once: an undecided
Sylvester criterion ("by its principal minors A would be positive semidefinite")
beside Note 000 ("semidefiniteness needs every principal minor"); the C.4 note's
"normal" wording (rank = number of non-zero eigenvalues) for a conjugate pair no
threshold can split; Note 003's "for this matrix they differ" for a real symmetric
A; the n > 12 reason for an n > 200 matrix; "D2 = −3.7e−16" beside "all minors
≥ 0"; and a minimum of xᴴAx below λ_min.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import svdkit
from svdkit.explain import explain
from svdkit.linalg.definiteness import ALL_MINORS_MAX_N, LEADING_MINORS_MAX_N

# symmetric, λ = (−6.84e−16, −9.6e−18, 1), threshold 6.66e−16: indefinite by its
# eigenvalues, and every principal minor is >= 0 at the tolerance
UNDECIDED = np.array([
    [0.895418746328158, 0.07718855896541366, -0.2961181207172421],
    [0.07718855896541366, 0.006653952309563581, -0.025526527242633677],
    [-0.2961181207172421, -0.025526527242633677, 0.09792730136227819],
])

# real, non-symmetric, normal to rounding: λ = 1 and 1.5e−16 ± 6.73e−16i (equal |λ|),
# σ = (1, 7.81e−16, 6.63e−16), threshold 6.66e−16: rank 2
NORMAL_PAIR = np.array([
    [0.10239324533238504, -0.2816259815231439, 0.11223045564289896],
    [-0.2816259815231434, 0.7745939999402373, -0.30868259058124214],
    [0.11223045564290018, -0.3086825905812417, 0.12301275472737759],
])


def _notes(matrix, lang: str) -> dict:
    return {n.id: n for n in explain(matrix, lang=lang, steps=False).notes}


def _numbers(text: str) -> list[float]:
    found = re.findall(r"[−-]?\d+(?:\.\d+)?(?:e[−+-]?\d+)?", text.replace("\u2212", "-"))
    return [float(x) for x in found]


# ------------------------------------------------------------------ D3: Note 000 vs Sylvester


def test_undecided_sylvester_does_not_flag_the_notes_claim():
    d = svdkit.definiteness(UNDECIDED)
    sy = d.sylvester
    assert str(d.kind) == "indefinite"
    assert sy.kind is None  # undecided at this tolerance
    # every principal minor is >= 0 at the tolerance: none refutes PSD ...
    assert sy.principal_minors is not None and all(m.sign >= 0 for m in sy.principal_minors)
    assert sy.refutes_psd is None
    # ... so checking every principal minor would not have shown it: the claim is not
    # what misleads here
    assert sy.notes_leading_minor_claim is True
    assert sy.notes_claim_misleads is False and sy.note is None and d.note is None


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_undecided_report_has_no_note_000(lang):
    report = explain(UNDECIDED, lang=lang, steps=False)
    s = report.section("definiteness").fact("criteria")["sylvester"]
    assert s["kind"] is None and s["minors_kind"] == "positive semidefinite"
    assert "sylvester_psd" not in {n.id for n in report.notes}


def test_note_000_kept_where_a_minor_refutes_psd():
    # the notes' own counterexample and a larger one with leading minors all 0
    for A in ([[0, 0], [0, -1]], np.diag([1.0, 0.0, -1.0])):
        sy = svdkit.definiteness(A).sylvester
        assert sy.refutes_psd is not None and sy.refutes_psd.sign < 0
        assert sy.notes_claim_misleads is True
        assert "sylvester_psd" in _notes(A, "en") and "sylvester_psd" in _notes(A, "fr")


def test_note_000_kept_where_not_every_minor_is_computed():
    # n = 13 > ALL_MINORS_MAX_N: leading minors 0 and a non-negative diagonal, yet the
    # minor on rows {2, 3} is 1 − 4 < 0; the full criterion (not computed) would show it
    n = ALL_MINORS_MAX_N + 1
    A = np.zeros((n, n))
    A[1:3, 1:3] = [[1, 2], [2, 1]]
    d = svdkit.definiteness(A)
    assert str(d.kind) == "indefinite" and d.sylvester.principal_minors is None
    assert np.all(d.sylvester.leading_signs == 0)
    assert d.sylvester.notes_claim_misleads is True


# ----------------------------------------------------------------- D4: C.4 and a conjugate pair


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_rank_note_for_a_conjugate_pair_does_not_claim_the_counts_agree(lang):
    report = explain(NORMAL_PAIR, lang=lang, steps=False)
    rank = report.section("measures").fact("rank")
    lam = np.linalg.eigvals(NORMAL_PAIR)
    mags = np.sort(np.abs(lam))[::-1]
    assert rank == 2
    # the two small |λ| are equal (a conjugate pair): no threshold makes 2 non-zero
    assert mags[1] == mags[2]
    assert report.section("structure").fact("normal")
    note = {n.id: n for n in report.notes}["rank_eigenvalues"]
    assert note.values.get("case") == "normal_tie"
    text = note.text
    assert "exact arithmetic" not in text and "arithmétique exacte" not in text
    assert ("the same modulus" if lang == "en" else "le même module") in text
    assert f"rank {rank} is its number" not in text and f"rang {rank} est son" not in text
    # the numbers it gives: σ either side of the threshold, the pair's modulus
    sigma = np.linalg.svd(NORMAL_PAIR, compute_uv=False)
    thr = report.tolerance
    assert sigma[1] > thr >= sigma[2]
    for key, value in (("sigma_in", sigma[1]), ("sigma_out", sigma[2]), ("modulus", mags[1])):
        assert _numbers(note.values[key])[0] == pytest.approx(value, rel=1e-5)
        assert note.values[key] in text


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_rank_note_normal_wording_has_no_exact_arithmetic_claim(lang):
    # 1j·H: normal, a cut of |λ| gives the rank (the existing "normal" case)
    H = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]])
    lam, Q = np.linalg.eigh(H)
    lam[0] = 7e-16 * np.max(np.abs(lam))  # near the threshold, one side or the other
    H = (Q * lam) @ Q.T
    notes = _notes(1j * H, lang)
    if "rank_eigenvalues" in notes:
        assert notes["rank_eigenvalues"].values.get("case") == "normal"
        text = notes["rank_eigenvalues"].text
        assert "exact arithmetic" not in text and "arithmétique exacte" not in text


# ------------------------------------------------------------- D6: Note 003 on a symmetric A


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_pinv_note_never_says_values_differ_for_symmetric(lang):
    report = explain(UNDECIDED, lang=lang, steps=False)
    assert report.section("structure").fact("symmetric")
    notes = {n.id: n for n in report.notes}
    assert "pinv_order" not in notes
    # a non-symmetric square matrix keeps it
    assert _notes([[1, 2], [3, 4]], lang)["pinv_order"].values["case"] == "values"


# --------------------------------------------------------------- D7: the reason for n > 200


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_reason_for_n_above_leading_limit(lang):
    n = LEADING_MINORS_MAX_N + 1
    rng = np.random.default_rng(0)
    B = rng.standard_normal((n, n - 3))
    A = B @ B.T
    report = explain(A, lang=lang, steps=False)
    s = report.section("definiteness").fact("criteria")["sylvester"]
    assert s["kind"] is None and s["leading_minors"] is None
    assert str(LEADING_MINORS_MAX_N) in s["reason"]
    assert f"n > {ALL_MINORS_MAX_N}" not in s["reason"]
    assert ("leading" if lang == "en" else "dominants") in s["reason"]
    assert s["reason"] in s["explanation"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_reason_for_n_above_all_minors_limit_names_the_constant(lang):
    n = ALL_MINORS_MAX_N + 1
    A = np.zeros((n, n))
    A[1:3, 1:3] = [[1, 2], [2, 1]]  # leading minors all 0; the minor on {2, 3} is −3
    assert svdkit.definiteness(A).sylvester.kind is None
    s = explain(A, lang=lang, steps=False).section("definiteness").fact("criteria")["sylvester"]
    assert s["leading_minors"] is not None
    assert f"n > {ALL_MINORS_MAX_N}" in s["reason"] or f"n ≤ {ALL_MINORS_MAX_N}" in s["reason"]


# ------------------------------------------------------- D8: numbers that contradict the words


def test_api_sylvester_text_prints_minors_within_threshold_as_zero():
    sy = svdkit.definiteness(UNDECIDED).sylvester
    lead = re.findall(r"D(\d) = ([^,\s)]+)", sy.explanation)
    assert len(lead) == 3
    for k, value in lead:
        sign = int(sy.leading_signs[int(k) - 1])
        if sign == 0:
            assert value == "0", sy.explanation
        else:
            assert np.sign(float(value)) == sign
    assert "principal minors are >= 0" in sy.explanation
    # no negative number printed among the leading minors said to be >= 0
    assert not any(float(v) < 0 for _, v in lead)


def test_quadratic_form_values_within_eigenvalue_range():
    d = svdkit.definiteness(UNDECIDED)
    q, lam = d.quadratic_form, d.eigenvalues.values
    lo, hi = float(lam[0]), float(lam[-1])
    for w in (q.minimizer, q.maximizer, q.positive_witness, q.negative_witness, q.zero_witness):
        if w is None:
            continue
        norm2 = float(np.vdot(w.x, w.x).real)
        # [λ_min‖x‖², λ_max‖x‖²], and [λ_min, λ_max] for ‖x‖ = 1 to rounding
        assert min(lo, lo * norm2) <= w.value <= max(hi, hi * norm2), (w.label, w.value)
        # still the form's value to rounding
        assert abs(w.value - float(w.x @ UNDECIDED @ w.x)) <= 1e-14
    assert q.minimizer.value == pytest.approx(lo, rel=1e-12, abs=0)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_explain_quadratic_form_range_is_lambda_range(lang):
    report = explain(UNDECIDED, lang=lang, steps=False)
    crit = report.section("definiteness").fact("criteria")
    lam = crit["eigenvalues"]["values"]
    q = crit["quadratic_form"]
    assert q["minimum"] == lam[0] and q["maximum"] == lam[-1]
    for w in q["witnesses"]:
        assert lam[0] <= w["value"] <= lam[-1]
    nums = _numbers(q["explanation"])
    assert min(nums) >= float(f"{lam[0]:.6g}")
