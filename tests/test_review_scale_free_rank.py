"""Review fixes: one scale-free rank decision in every public function; a file name
with surrounding whitespace; the first bad JSON entry in reading order."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import svdkit
from svdkit.errors import ParseError
from svdkit.explain import explain, render
from svdkit.inputs.files import names_matrix_file, stored_dtype


def _facts(A) -> dict:
    doc = json.loads(render(explain(A, steps=False), "json"))
    return {section["id"]: section["facts"] for section in doc["sections"]}


def _subnormal_case():
    rng = np.random.default_rng(0)
    B = rng.standard_normal((6, 4)) @ rng.standard_normal((4, 5))
    B[0, 0] += 1e-14
    A = B * 1e-310  # entries subnormal; A · 2^1074 is exact
    return A, np.ldexp(A, 1074)


def test_subnormal_matrix_rank_agrees_everywhere():
    A, X = _subnormal_case()
    assert svdkit.rank(X) == svdkit.rank(A) == 5
    dec = svdkit.svd(A)
    assert dec.rank() == 5
    # the σ are A's own (scaled back), the decision made on the scaled ones
    assert dec.s[-1] < 1e-320  # σ₅ underflows in A's units
    np.testing.assert_allclose(np.ldexp(dec.s[:4], 1074), svdkit.svd(X).s[:4], rtol=1e-9)
    assert np.isfinite(svdkit.cond(A))
    assert svdkit.cond(A) == pytest.approx(svdkit.cond(X), rel=1e-9)
    sub = svdkit.subspaces(A)
    assert sub.rank == 5 and sub.null.shape[1] == 0
    assert svdkit.svd(A, full=True).rank() == 5


def test_subnormal_matrix_explain_and_pinv_keep_every_term():
    A, X = _subnormal_case()
    facts = _facts(A)
    assert facts["measures"]["rank"] == 5
    assert facts["measures"]["nullity"] == 0
    assert facts["subspaces"]["rank"] == 5
    cond = facts["measures"]["cond"]
    assert cond != "inf" and float(cond) == pytest.approx(svdkit.cond(X), rel=1e-6)
    # A⁺ = 2^1074 · X⁺ overflows; on a matrix whose A⁺ is finite, compare term counts
    Y = np.ldexp(X, -1000)  # max |y| ≈ 2^-1000: scaled SVD, A⁺ ≈ 2^1000
    P = svdkit.pinv(Y)
    assert np.isfinite(P).all()
    # (a pinv of 4 terms would differ from X⁺ by v₅ σ₅⁻¹ u₅ᴴ, the largest term)
    np.testing.assert_allclose(np.ldexp(P, -1000), svdkit.pinv(X), rtol=1e-8, atol=0)


def test_lstsq_on_a_tiny_matrix_uses_the_scaled_rank():
    A, _ = _subnormal_case()
    assert svdkit.lstsq(A, np.ones(6) * 1e-310).rank == 5
    # an integer matrix times 2^-1070 (exact, subnormal entries): x = G⁺ b to κ·eps
    G = np.array([[3, 1, 0, 2], [1, -2, 1, 0], [0, 1, 4, -1], [2, 0, -1, 3], [1, 1, 1, 1]])
    x = np.array([1.0, -2.0, 3.0, 4.0])
    Y, b = np.ldexp(G.astype(float), -1070), np.ldexp((G @ x).astype(float), -1070)
    sol = svdkit.lstsq(Y, b)
    assert sol.rank == 4
    np.testing.assert_allclose(sol.x, x, rtol=1e-12)
    assert sol.residuals == 0.0 or sol.residuals < 1e-320
    dec = svdkit.svd(Y)
    np.testing.assert_allclose(dec.scaled_s, np.ldexp(svdkit.svd(G).s, -dec.exponent - 1070))
    np.testing.assert_array_equal(dec.s, np.ldexp(dec.scaled_s, dec.exponent))


def _matrices(draw):
    m = draw(st.integers(1, 5))
    n = draw(st.integers(1, 5))
    r = draw(st.integers(0, min(m, n)))
    d = draw(st.integers(0, 40))
    complex_ = draw(st.booleans())
    ints = st.integers(-3, 3)

    def block(p, q):
        re = np.array(draw(st.lists(ints, min_size=p * q, max_size=p * q)), float)
        if complex_:
            im = np.array(draw(st.lists(ints, min_size=p * q, max_size=p * q)), float)
            return (re + 1j * im).reshape(p, q)
        return re.reshape(p, q)

    # a product of small integer factors (rank at most r), plus, when d > 0, 2^−d times
    # a small integer matrix: nearly rank r, σ_min/σ₁ ≈ 2^−d far above the rule's
    # threshold. Every entry is an integer multiple of 2^−d of at most 46 bits, so
    # A0 · 2^k is exact for k ≥ d − 1074, and its small σ underflow there.
    A0 = block(m, r) @ block(r, n) if r else np.zeros((m, n), complex if complex_ else float)
    if d:
        A0 = A0 + np.ldexp(block(m, n).real, -d)
    if not np.any(A0):
        A0[0, 0] = 1.0
    return A0, d


matrices = st.composite(_matrices)()


def _times(A0: np.ndarray, k: int) -> np.ndarray:
    """``A0 · 2^k``, part by part (exact: see :func:`_matrices`)."""
    if not np.iscomplexobj(A0):
        return np.ldexp(A0, k)
    A = np.ldexp(A0.real, k) + 1j * np.ldexp(A0.imag, k)
    assert np.array_equal(np.ldexp(A.imag, -k), A0.imag)
    return A


@settings(max_examples=80, deadline=None)
@given(case=matrices, k=st.one_of(st.integers(-1074, -1000), st.integers(-1074, 1000)))
def test_rank_is_scale_free_in_every_function(case, k):
    A0, d = case
    k = max(k, d - 1074)
    A = _times(A0, k)
    assert np.array_equal(np.ldexp(A.real, -k), A0.real)  # the scaling is exact
    expected = svdkit.rank(A0)
    assert svdkit.rank(A) == expected
    assert svdkit.svd(A).rank() == expected
    assert svdkit.svd(A, full=True).rank() == expected
    assert svdkit.subspaces(A).null.shape[1] == A.shape[1] - expected
    assert np.isinf(svdkit.cond(A)) == (expected < min(A.shape))
    if -900 <= k:  # A⁺ = 2^−k A0⁺ is a matrix of floats
        P, P0 = svdkit.pinv(A), svdkit.pinv(A0)
        assert np.isfinite(P).all()
        # (LAPACK sees A0 and A0·2^k scaled differently: A0⁺'s rounding is κ·eps)
        s0 = svdkit.svd(A0).s[:expected]
        kappa = float(s0[0] / s0[-1]) if expected else 1.0
        atol = (1e-12 + 64 * np.finfo(float).eps * kappa) * np.abs(P0).max()
        np.testing.assert_allclose(_times(P, k), P0, rtol=0, atol=atol)


@settings(max_examples=20, deadline=None)
@given(case=matrices, k=st.sampled_from([-1074, -1060, -1030, -700, -450, 0, 430, 1000]))
def test_explain_rank_is_scale_free(case, k):
    A0, d = case
    A = _times(A0, max(k, d - 1074))
    expected = svdkit.rank(A0)
    facts = _facts(A)
    assert facts["measures"]["rank"] == expected
    assert facts["subspaces"]["rank"] == expected
    assert (facts["measures"]["cond"] == "inf") == (expected < min(A.shape))


# -- 6: a file name with surrounding whitespace ------------------------------------


@pytest.mark.parametrize("tail", ["\n", "\r\n", "  ", " \t\n"])
def test_npy_name_with_surrounding_whitespace_is_read(tmp_path, tail):
    path = tmp_path / "a.npy"
    np.save(path, np.diag([1.0, 2.0, 0.0]).astype(np.float32))
    name = str(path) + tail
    assert names_matrix_file(name)
    assert names_matrix_file(" " + name)
    np.testing.assert_array_equal(svdkit.as_matrix(name), np.diag([1.0, 2.0, 0.0]))
    assert svdkit.rank(name) == 2
    assert svdkit.svd(name).rank() == 2
    assert stored_dtype(name) == np.float32


def test_multi_line_text_ending_in_npy_is_still_text():
    assert not names_matrix_file("a.npy\nb.npy")
    assert not names_matrix_file("1 2; 3 4\n")


# -- 8: the first bad JSON entry in reading order ------------------------------------


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        ('[[1, "2"], [3, true]]', 1, 2),
        ('[[1, true], [3, "x"]]', 1, 2),
        ('[[1, 2], [null, "x"]]', 2, 1),
        ('[[1, 2], ["x", null]]', 2, 1),
        ('[1, "a", false]', 2, 1),
        ('[1, false, "a"]', 2, 1),
    ],
)
def test_json_names_the_first_bad_entry(tmp_path, text, row, column):
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ParseError) as info:
        svdkit.load(path)
    assert f"row {row}, column {column}" in str(info.value)
    if "is the text" not in str(info.value):  # (as_matrix's own error has no attributes)
        assert (info.value.row, info.value.column) == (row, column)


def test_json_refused_number_and_literal_in_reading_order(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("[[1, true], [3, 1e999]]")
    with pytest.raises(ParseError, match="row 1, column 2 is true"):
        svdkit.load(path)
    path.write_text("[[1, 1e999], [true, 3]]")
    with pytest.raises(svdkit.NonFiniteError, match="row 1, column 2: '1e999'"):
        svdkit.load(path)
    path.write_text("[[1, 2], [3, [1e999]]]")  # deeper than an entry: the 3-D error
    with pytest.raises(svdkit.ShapeError, match="row 2, column 2 is itself a list"):
        svdkit.load(path)
