"""The derivations of svdkit.exact: step keys, their catalogues (en, fr), and their content.

Every step is data — a catalogue key, values, a formula, matrices — and every key
used must have a sentence in the ``en`` and ``fr`` catalogues with the same
placeholders, each filled by the step's values.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
import sympy as sp

import svdkit
import svdkit.exact as ex
from svdkit.exact.format import step_text, to_latex, to_mathml, to_text
from svdkit.exact.steps import Step
from svdkit.explain.render_text import template

LOCALES = Path(svdkit.__file__).parent / "explain" / "locales"


STEP_PREFIXES = (
    "det.", "trace.", "rref.", "rank.", "inv.", "pinv.", "lstsq.", "eigh.", "svd.",
    "subspaces.", "definiteness.", "norm.",
)


def _catalogue(lang: str) -> dict[str, str]:
    """The step sentences of the ``lang`` catalogue (the keys of the exact engine)."""
    words = json.loads((LOCALES / f"{lang}.json").read_text("utf-8"))
    return {k: v for k, v in words.items() if k.startswith(STEP_PREFIXES)}


EN, FR = _catalogue("en"), _catalogue("fr")


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


#: Calls that together take every branch that records a step.
CALLS = {
    "det_1x1": lambda: ex.det([[5]], steps=True),
    "det_2x2": lambda: ex.det([[1, 2], [3, 4]], steps=True),
    "det_3x3": lambda: ex.det([[1, 2, 3], [4, 5, 6], [7, 8, 10]], steps=True),
    "det_swap": lambda: ex.det([[0, 1, 2], [1, 0, 3], [4, 5, 6]], "bareiss", steps=True),
    "det_zero_column": lambda: ex.det([[0, 1, 2], [0, 0, 3], [0, 5, 6]], "bareiss", steps=True),
    "det_4x4": lambda: ex.det([[2, 1, 0, 0], [1, 2, 1, 0], [0, 1, 2, 1], [0, 0, 1, 2]], steps=True),
    "trace": lambda: ex.trace([[4, 2], [3, 4]], steps=True),
    "rref": lambda: ex.rref([[0, 2, 4], [1, 1, 1], [2, 2, 2]], steps=True),
    "rank": lambda: ex.rank([[1, 2], [2, 4]], steps=True),
    "inv": lambda: ex.inv([[0, 2], [1, 1]], steps=True),
    "pinv_zero": lambda: ex.pinv([[0, 0], [0, 0]], steps=True),
    "pinv_square": lambda: ex.pinv([[1, 2], [3, 4]], steps=True),
    "pinv_tall": lambda: ex.pinv([[1, 3], [1, 2], [3, 1]], steps=True),
    "pinv_wide": lambda: ex.pinv([[-2, 3, 0], [1, -1, 0]], steps=True),
    "pinv_rank1": lambda: ex.pinv([[1, 2], [2, 4]], steps=True),
    "lstsq_unique": lambda: ex.lstsq([[1, 0], [0, 1], [1, 1]], [1, 1, 0], steps=True),
    "lstsq_min_norm": lambda: ex.lstsq([[1, 1], [1, 1]], [2, 2], steps=True),
    "eigh": lambda: ex.eigh([[2, 1], [1, 2]], steps=True),
    "eigh_repeated": lambda: ex.eigh([[1, 1, 1], [1, 1, 1], [1, 1, 1]], steps=True),
    "eigh_numeric": lambda: ex.eigh([[1, 2, 0], [2, 3, 1], [0, 1, 5]], steps=True),
    "eigh_complex": lambda: ex.eigh("[[2, i], [-i, 2]]", steps=True),
    "svd_insa_1": lambda: ex.svd([[3, 0], [0, -2]], steps=True),
    "svd_insa_2": lambda: ex.svd([[0, 3], [-2, 0], [0, 0]], full=True, steps=True),
    "svd_wide_full": lambda: ex.svd([[1, 2, 3], [4, 5, 6]], full=True, steps=True),
    "svd_rank1": lambda: ex.svd([[1, 1], [1, 1]], full=True, steps=True),
    "svd_repeated": lambda: ex.svd([[2, 0], [0, 2]], steps=True),
    "svd_numeric": lambda: ex.svd([[1, 2, 0], [2, 3, 1], [0, 1, 5]], steps=True),
    "svd_complex": lambda: ex.svd("[[1, i], [0, 1]]", steps=True),
    "subspaces": lambda: ex.subspaces([[1, 2, 3], [2, 4, 6]], steps=True),
    "norm_vector_2": lambda: ex.norm([1, 2, 3], steps=True),
    "norm_vector_1": lambda: ex.norm([1, -2, 3], 1, steps=True),
    "norm_vector_inf": lambda: ex.norm([1, -2, 3], "inf", steps=True),
    "norm_vector_p": lambda: ex.norm([1, -2, 3], 3, steps=True),
    "norm_fro": lambda: ex.norm([[1, 2], [3, 4]], steps=True),
    "norm_2": lambda: ex.norm([[1, 2], [3, 4]], 2, steps=True),
    "norm_2_numeric": lambda: ex.norm([[1, 2, 0], [2, 3, 1], [0, 1, 5]], 2, steps=True),
    "norm_nuc": lambda: ex.norm([[1, 2], [3, 4]], "nuc", steps=True),
    "norm_1": lambda: ex.norm([[1, 2], [3, 4]], 1, steps=True),
    "norm_inf": lambda: ex.norm([[1, 2], [3, 4]], "inf", steps=True),
    "def_pd": lambda: ex.definiteness([[2, -1], [-1, 2]], steps=True),
    "def_notes_claim": lambda: ex.definiteness([[0, 0], [0, -1]], steps=True),
    "def_psd": lambda: ex.definiteness([[1, 1], [1, 1]], steps=True),
    "def_zero_form": lambda: ex.definiteness([[0, 0], [0, 0]], steps=True),
    "def_indefinite": lambda: ex.definiteness([[5, 4], [4, 3]], steps=True),
    "def_nd": lambda: ex.definiteness([[-2, 1], [1, -2]], steps=True),
    "def_pair_pivot": lambda: ex.definiteness([[0, 1], [1, 0]], steps=True),
    "def_zero_pivot": lambda: ex.definiteness([[1, 0, 1], [0, 0, 0], [1, 0, 1]], steps=True),
    "def_zero_column": lambda: ex.definiteness([[0, 1], [1, 1]], steps=True),
    "def_numeric": lambda: ex.definiteness([[1, 2, 0], [2, 3, 1], [0, 1, 5]], steps=True),
    "def_large": lambda: ex.definiteness(sp.diag(*([1] * 10 + [0])), steps=True),
    "def_symmetrized": lambda: ex.definiteness([[1, 2], [3, 4]], symmetrize=True, steps=True),
}


def _singular_inverse_steps() -> tuple[Step, ...]:
    with pytest.raises(svdkit.SingularMatrixError) as info:
        ex.inv([[1, 2], [2, 4]], steps=True)
    return info.value.steps


@pytest.fixture(scope="module")
def recorded() -> dict[str, tuple[Step, ...]]:
    out = {name: call().steps for name, call in CALLS.items()}
    out["inv_singular"] = _singular_inverse_steps()
    return out


def test_catalogues_have_the_same_keys_and_placeholders():
    assert EN.keys() == FR.keys()
    for key in EN:
        assert placeholders(EN[key]) == placeholders(FR[key]), key
        assert EN[key] != FR[key] or not EN[key].strip(), f"{key} is not translated"


def test_keys_are_namespaced_by_function():
    prefixes = {
        "det",
        "trace",
        "rref",
        "rank",
        "inv",
        "pinv",
        "lstsq",
        "eigh",
        "svd",
        "subspaces",
        "definiteness",
        "norm",
    }
    for key in EN:
        assert key.split(".")[0] in prefixes, key


def test_every_step_key_has_a_sentence_with_its_values(recorded):
    used = set()
    for name, steps in recorded.items():
        assert steps, f"{name} recorded no step"
        for step in steps:
            assert isinstance(step, Step)
            used.add(step.key)
            assert step.key in EN and step.key in FR, f"{name}: {step.key} has no sentence"
            missing = placeholders(EN[step.key]) - set(step.values)
            assert not missing, f"{name}: {step.key} lacks the values {missing}"
            for lang in (EN, FR):  # every placeholder filled (a missing one raises KeyError)
                text = step_text(step, lang[step.key], catalogue=lang)
                assert text and "Kind." not in text
    unused = {k for k in EN if not k.startswith("definiteness.kind.")} - used
    assert not unused, f"sentences no call uses: {sorted(unused)}"


def test_step_values_format_in_every_output(recorded):
    for steps in recorded.values():
        for step in steps:
            for value in step.values.values():
                text = to_text(value)
                assert isinstance(text, str) and "sqrt" not in text and "**" not in text
            for M in step.matrices.values():
                assert isinstance(to_text(M), str)
                assert isinstance(to_latex(M), str)
                assert isinstance(to_mathml(M), str)
            if step.formula is not None:
                assert isinstance(to_text(step.formula), str)
                assert isinstance(to_latex(step.formula), str)


def test_steps_are_empty_unless_asked():
    A = [[2, 1], [1, 2]]
    for f in (
        ex.det,
        ex.trace,
        ex.rank,
        ex.rref,
        ex.inv,
        ex.pinv,
        ex.eigh,
        ex.svd,
        ex.subspaces,
        ex.definiteness,
        ex.norm,
    ):
        assert f(A).steps == ()
        assert f(A, steps=True).steps


def test_kinds_are_translated():
    step = ex.definiteness([[1, 2], [2, 1]], steps=True).steps[-1]
    assert step.key == "definiteness.agree"
    assert "indefinite" in step_text(step, EN[step.key], catalogue=EN)
    assert "indéfinie" in step_text(step, FR[step.key], catalogue=FR)


def test_leibniz_steps_3x3():
    A = sp.Matrix([[2, -1, 3], [0, 4, 1], [5, 2, -2]])
    r = ex.det(A, steps=True)
    terms = [s for s in r.steps if s.key == "det.leibniz_term"]
    assert len(terms) == 6
    assert sum(s.values["value"] for s in terms) == r.value == A.det()
    perms = [s.values["permutation"] for s in terms]
    assert sorted(perms) == sorted(set(perms)) and len(set(perms)) == 6
    for s in terms:
        perm = s.values["permutation"]
        sigma = sp.combinatorics.Permutation([p - 1 for p in perm])
        assert s.values["signature"] == sigma.signature()
        assert s.values["factors"] == tuple(A[i, perm[i] - 1] for i in range(3))
        assert s.values["value"] == s.values["signature"] * sp.Mul(*s.values["factors"])
    assert r.steps[-1].key == "det.leibniz_sum" and r.steps[-1].values["value"] == A.det()


def test_notes_2x2_leibniz_is_ad_minus_bc():
    r = ex.det([[1, 2], [3, 4]], steps=True)
    terms = [s.values for s in r.steps if s.key == "det.leibniz_term"]
    assert [(t["permutation"], t["signature"], t["value"]) for t in terms] == [
        ((1, 2), 1, 4),
        ((2, 1), -1, -6),
    ]


def test_bareiss_steps_record_swaps_and_pivots():
    A = sp.Matrix([[0, 1, 2], [1, 0, 3], [4, 5, 6]])
    r = ex.det(A, "bareiss", steps=True)
    keys = r.step_keys()
    assert keys[0] == "det.bareiss" and keys[-1] == "det.bareiss_result"
    swap = next(s for s in r.steps if s.key == "det.bareiss_swap")
    assert (swap.values["row_a"], swap.values["row_b"], swap.values["sign"]) == (1, 2, -1)
    assert r.steps[-1].values["value"] == A.det() == r.value
    assert r.steps[-1].values["last"] == -A.det()  # one swap: det = −(last pivot)


def test_rref_steps_replay_to_the_result():
    A = sp.Matrix([[0, 2, 4], [1, 1, 1], [2, 2, 2]])
    r = ex.rref(A, steps=True)
    M = A.copy()
    for s in r.steps:
        v = s.values
        if s.key == "rref.swap":
            a, b = v["row_a"] - 1, v["row_b"] - 1
            M[a, :], M[b, :] = M[b, :], M[a, :]
        elif s.key == "rref.scale":
            M[v["row"] - 1, :] *= v["factor"]
        elif s.key == "rref.eliminate":
            M[v["row"] - 1, :] -= v["factor"] * M[v["pivot_row"] - 1, :]
        if s.key.startswith("rref.") and s.key not in ("rref.start", "rref.result"):
            assert s.matrices["A ∼"] == M, s.key  # row-equivalent to A, not A
    assert M == r.matrix == A.rref()[0]


def test_inverse_steps_end_with_the_check():
    r = ex.inv([[2, 1], [1, 1]], steps=True)
    assert r.step_keys()[0] == "inv.augment" and r.step_keys()[-1] == "inv.check"
    assert r.steps[-2].matrices["A⁻¹"] == r.matrix


def test_svd_steps_follow_the_notes():
    r = ex.svd([[0, 3], [-2, 0], [0, 0]], full=True, steps=True)
    keys = r.step_keys()
    for key in (
        "svd.gram",
        "svd.char_poly",
        "svd.factor",
        "svd.root",
        "svd.rank",
        "svd.sigma",
        "svd.eigenspace",
        "svd.v",
        "svd.u",
        "svd.complete_u",
        "svd.u_null",
        "svd.result",
        "svd.check",
    ):
        assert key in keys, key
    assert keys.index("svd.gram") < keys.index("svd.char_poly") < keys.index("svd.sigma")
    assert keys.index("svd.sigma") < keys.index("svd.v") < keys.index("svd.u")
    assert keys.index("svd.u") < keys.index("svd.complete_u") < keys.index("svd.check")
    gram = next(s for s in r.steps if s.key == "svd.gram")
    assert gram.matrices["AᵀA"] == sp.Matrix([[4, 0], [0, 9]])
    sigmas = [s.values["sigma"] for s in r.steps if s.key == "svd.sigma"]
    assert sigmas == [3, 2]
    # the sign choices and why: pair 2 is a tie (one negative entry either way), broken by the
    # numeric rule (u₂'s largest entry positive), which flips it; no other vector is flipped
    signs = [s for s in r.steps if s.key.startswith("svd.sign_")]
    assert [(s.key, s.values["target"], s.values["sign"]) for s in signs] == [
        ("svd.sign_fewest", "(u₁, v₁)", 1),
        ("svd.sign_tie", "(u₂, v₂)", -1),
        ("svd.sign_fewest_own", "u₃", 1),
    ]


def test_svd_sign_steps_count_negatives():
    r = ex.svd([[-1, 0], [0, -2]], steps=True)  # both pairs: 1 negative, or 1 after flipping
    assert r.U == sp.Matrix([[0, 1], [1, 0]]) and r.Vh == sp.Matrix([[0, -1], [-1, 0]])
    r = ex.svd([[-1], [-2]], steps=True)  # u = (−1, −2)/√5, v = 1: flipping leaves 1 negative
    first = next(s for s in r.steps if s.key.startswith("svd.sign_"))
    assert first.key == "svd.sign_fewest"
    assert (first.values["negatives"], first.values["after"], first.values["sign"]) == (2, 1, -1)
    assert first.values["other"] == 2  # the sign rejected: u as computed, 2 negatives
    notes = ex.svd([[1, 2, 3], [4, 5, 6]], steps=True)  # u₁, v₁ positive: kept, 5 if flipped
    kept = next(s for s in notes.steps if s.key.startswith("svd.sign_"))
    values = kept.values
    assert (values["sign"], values["negatives"], values["after"], values["other"]) == (1, 0, 0, 5)
    sentence = step_text(kept, template("en", kept.key))
    assert "fewest negative entries in U and V (0, against 5 with the opposite sign)" in sentence
    assert r.U == sp.Matrix([1, 2]) / sp.sqrt(5) and r.Vh == sp.Matrix([[-1]])
    r = ex.svd([[-1, -1], [-1, -1]], steps=True)  # 2 negatives either way: the numeric rule
    first = next(s for s in r.steps if s.key.startswith("svd.sign_"))
    assert first.key == "svd.sign_tie" and first.values["sign"] == -1


def test_eigh_steps():
    r = ex.eigh([[2, 1], [1, 2]], steps=True)
    keys = r.step_keys()
    assert keys[:4] == ("eigh.start", "eigh.char_poly", "eigh.factor", "eigh.root")
    assert keys[-1] == "eigh.check"
    cp = next(s for s in r.steps if s.key == "eigh.char_poly")
    assert to_text(cp.values["poly"]) == "λ² − 4λ + 3"
    # the check's formula uses the sentence's transpose: QΛQᵀ for a real matrix
    # (it said QΛQᴴ under "Check: QΛQᵀ = A")
    check = r.steps[-1]
    assert check.values["T"] == "ᵀ" and str(check.formula.lhs) == "QΛQᵀ"
    hermitian = ex.eigh([[2, 1j], [-1j, 2]], steps=True).steps[-1]
    assert hermitian.values["T"] == "ᴴ" and str(hermitian.formula.lhs) == "QΛQᴴ"


def test_definiteness_steps_explain_each_criterion():
    r = ex.definiteness([[2, -1], [-1, 2]], steps=True)
    keys = r.step_keys()
    for key in (
        "definiteness.descartes",
        "definiteness.eigenvalues",
        "definiteness.quadratic_form",
        "definiteness.cholesky_definite",
        "definiteness.cholesky_pivot",
        "definiteness.cholesky_factor",
        "definiteness.leading_minor",
        "definiteness.sylvester_pd",
        "definiteness.agree",
    ):
        assert key in keys, key
    descartes = next(s for s in r.steps if s.key == "definiteness.descartes")
    assert descartes.values["signs"] == ("+", "−", "+")
    assert (descartes.values["positive"], descartes.values["negative"]) == (2, 0)


def test_lstsq_steps_include_the_pseudo_inverse():
    r = ex.lstsq([[1, 1], [1, 1]], [2, 0], steps=True)
    keys = r.step_keys()
    assert keys[0] == "lstsq.normal_equations" and "lstsq.min_norm" in keys
    assert "pinv.formula" in keys and keys[-1] == "lstsq.residual"


def test_shifted_matrix_and_characteristic_polynomial_are_named_for_what_they_are():
    svd_steps = ex.svd([[1, 2], [3, 4]], steps=True).steps
    eigh_steps = ex.eigh([[2, 1], [1, 2]], steps=True).steps
    svd_space = next(s for s in svd_steps if s.key == "svd.eigenspace")
    eigh_space = next(s for s in eigh_steps if s.key == "eigh.eigenspace")
    assert "AᵀA − λI" in svd_space.matrices and "A − λI" not in svd_space.matrices
    assert "A − λI" in eigh_space.matrices
    # the shifted matrix is singular: λ is an eigenvalue of what is shifted
    assert svd_space.matrices["AᵀA − λI"].det().equals(0)
    poly = next(s for s in svd_steps if s.key == "svd.char_poly").formula
    assert to_text(poly.lhs) == "p(λ)"
    assert to_latex(poly.lhs) == r"p{\left(\lambda \right)}"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_lone_completion_vector_sign_is_explained_by_its_own_entries(lang):
    # v₂, v₃ of a 1×3 matrix complete V (σ = 0): no u partner, signed on their own
    r = ex.svd([[-1, -4, 0]], full=True, steps=True)
    signs = {s.values["target"]: s for s in r.steps if s.key.startswith("svd.sign_")}
    lone = [signs[t] for t in ("v₂", "v₃")]
    assert [s.key for s in lone] == ["svd.sign_tie_own", "svd.sign_fewest_own"]
    tie = step_text(lone[0], template(lang, lone[0].key))
    assert ("u vector" not in tie) and ("vecteur u" not in tie)
    assert ("its own first largest entry" in tie) if lang == "en" else ("son propre" in tie)
    # and what it says holds: v₂'s first entry of largest modulus is positive
    v2 = [float(x) for x in r.Vh.row(1)]
    big = max(abs(x) for x in v2)
    assert next(x for x in v2 if abs(x) == big) > 0
