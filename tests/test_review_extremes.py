"""Review of matrices at the edges of float64's range, and of the JSON report's exact values.

Each test pins a defect found by using the library the way a learner would:
``explain "1e80 1; 1 1"`` lost its exact part to a float overflow, the JSON
report wrote λ as ``lambda`` (which ``sympy.sympify`` cannot read back), and the
matrix of four entries 1e308 had rank 0, determinant 2e600 and energy (0, 0).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import svdkit
import svdkit.exact
from svdkit.explain import explain, render
from svdkit.linalg.measures import scaled_singular_values

ONES_1E308 = np.full((2, 2), 1e308)
SIGNS_1E308 = np.array([[1e308, 1e308], [1e308, -1e308]])


# ---------------------------------------------------------------- exact part, huge entries


def test_exact_svd_of_a_matrix_with_a_1e80_entry_is_computed_and_right():
    """The exact sign test raised a float overflow (1e80 to the field's degree)."""
    a = np.array([[1e80, 1.0], [1.0, 1.0]])
    report = explain(a)  # a lost exact part is a RuntimeWarning: an error in this suite
    assert report.section("svd").fact("singular_values_exact")
    dec = svdkit.exact.svd(svdkit.exact.as_exact(a))
    # A = U Σ Vᴴ and UᴴU = I at 300 digits (entries of size 1e80: a float SVD is off by 1e64)
    gap = (dec.reconstruct() - dec.matrix).evalf(300)
    assert max(abs(x) for x in gap) < sp.Float("1e-200")
    gap = (dec.U.H * dec.U - sp.eye(2)).evalf(300)
    assert max(abs(x) for x in gap) < sp.Float("1e-200")
    s = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose([float(sp.N(v, 300)) for v in dec.s], s, rtol=1e-12)


# ---------------------------------------------------------------- JSON exact values


def test_json_characteristic_polynomials_read_back_with_sympify():
    """docs/explain-json.md: every value is SymPy syntax that ``sympify`` reads back."""
    a = [[2, -1], [-1, 2]]
    data = json.loads(render(explain(a), "json"))
    polys = [
        step["values"]["poly"]
        for section in data["sections"]
        for step in section["steps"]
        if "poly" in step["values"]
    ]
    assert polys, "no characteristic polynomial step in the report"
    lam = sp.Symbol("lamda")
    gram = sp.Matrix(a).T * sp.Matrix(a)
    expected = {sp.expand((lam * sp.eye(2) - m).det()) for m in (sp.Matrix(a), gram)}
    read = {sp.expand(sp.sympify(text)) for text in polys}
    assert read == expected
    # and λ is still λ for a reader of the text and the LaTeX
    texts = [s["text"] for sec in data["sections"] for s in sec["steps"] if "poly" in s["values"]]
    assert all("λ" in t and "lamda" not in t for t in texts)
    formulas = [
        s["formula"] for sec in data["sections"] for s in sec["steps"] if "poly" in s["values"]
    ]
    assert any(f and r"\lambda" in f for f in formulas)


# ---------------------------------------------------------------- rank, cond past 1e308


def test_rank_and_cond_when_sigma1_overflows():
    """σ₁ = 2e308 overflows; the rank rule is scale-free and must not see ∞."""
    assert svdkit.rank(ONES_1E308) == 1
    assert svdkit.svd(ONES_1E308).rank() == 1
    assert svdkit.rank(SIGNS_1E308) == 2
    # σ₁ = σ₂ = √2·1e308: the condition number is 1
    assert svdkit.cond(SIGNS_1E308) == pytest.approx(1.0, rel=1e-14)
    assert svdkit.cond(ONES_1E308) == math.inf
    # an absolute tol is still compared with σ itself: σ₁ = 2e308 > 1.5e308
    assert svdkit.rank(ONES_1E308, tol=1.5e308) == 1
    assert svdkit.rank(ONES_1E308, tol=1e300) == 1


@settings(max_examples=40, deadline=None)
@given(
    a=st.lists(st.floats(-4, 4), min_size=6, max_size=6),
    drop=st.booleans(),
    exponent=st.integers(1000, 1023),
)
def test_scaled_singular_values_are_the_singular_values_times_a_power_of_two(a, drop, exponent):
    """``σ(A) = 2^e · σ(A·2^−e)``; rank is unchanged by a power-of-two scaling."""
    base = np.array(a).reshape(3, 2)
    if drop:
        base[:, 1] = 2 * base[:, 0]  # rank ≤ 1
    big = np.ldexp(base, exponent - 3)  # entries up to 4·2^(e−3) < 2^1023: finite
    s, e = scaled_singular_values(big)
    reference = np.linalg.svd(base, compute_uv=False)
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(
            np.ldexp(s, e - exponent + 3), reference, rtol=1e-12, atol=1e-12 * reference[0]
        )
    assert svdkit.rank(big) == svdkit.rank(base)


# ---------------------------------------------------------------- det, slogdet past 1e308


def test_det_of_a_singular_matrix_of_1e308_entries_is_zero():
    """LU multiplied by 1/1e308, a subnormal: NumPy's det says 2e600 for a singular matrix."""
    assert svdkit.det(ONES_1E308) == 0.0
    assert svdkit.slogdet(ONES_1E308).sign == 0.0
    r = svdkit.slogdet(SIGNS_1E308)  # det = −2e616
    assert r.sign == -1.0
    assert r.logabsdet == pytest.approx(math.log(2) + 2 * math.log(1e308), rel=1e-14)
    # a row of huge and a row of tiny entries: the small entry is not flushed to zero
    assert svdkit.det([[1e308, 0], [0, 1e-300]]) == pytest.approx(1e8, rel=1e-14)


_EXTREME = st.one_of(st.integers(-1070, -901), st.integers(901, 1020))


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(st.integers(-4, 4), min_size=9, max_size=9),
    k=st.lists(_EXTREME, min_size=3, max_size=3),
)
def test_slogdet_of_rows_scaled_to_the_ends_of_the_range(a, k):
    """``det(diag(2^kᵢ) A) = 2^Σkᵢ det A`` for rows near 1e±300 (exact in binary)."""
    base = np.array(a, dtype=float).reshape(3, 3)
    scaled = np.ldexp(base, np.array(k)[:, None])
    assert np.array_equal(np.ldexp(scaled, -np.array(k)[:, None]), base)  # nothing rounded
    exact = int(sp.Matrix(3, 3, a).det())
    got = svdkit.slogdet(scaled)
    if exact == 0:
        assert got.sign == 0 or got.logabsdet < math.log(1e-12) + sum(k) * math.log(2)
        return
    assert got.sign == np.sign(exact)
    assert got.logabsdet == pytest.approx(math.log(abs(exact)) + sum(k) * math.log(2), abs=1e-9)
    value = svdkit.det(scaled)  # 0 or ±inf beyond the range, else the value itself
    size = math.log2(abs(exact)) + sum(k)
    if -1020 < size < 1020:  # a normal float
        assert value == pytest.approx(math.ldexp(exact, sum(k)), rel=1e-12)
    elif size >= 1024:
        assert value == math.copysign(math.inf, exact)
    elif size < -1075:
        assert value == 0.0


# ---------------------------------------------------------------- the explain report


def test_explain_a_matrix_of_1e308_entries_is_consistent_and_quiet():
    """rank 0 beside 'rank (exact) 1', det 2e600, energy (0, 0), and five overflow warnings."""
    with warnings.catch_warnings():  # NumPy's overflow warnings too, not only svdkit's
        warnings.simplefilter("error")
        report = explain(ONES_1E308, steps=False)
        text = render(report, "markdown")
    measures = report.section("measures")
    assert measures.fact("rank") == 1
    assert measures.fact("determinant") == 0
    # the rule's threshold 2·eps·σ₁ ≈ 8.9e292 is a float, though σ₁ is not
    assert report.tolerance == pytest.approx(4 * np.finfo(float).eps * 1e308, rel=1e-12)
    np.testing.assert_allclose(report.section("svd").fact("energy"), [1.0, 1.0])
    energy_line = next(line for line in text.splitlines() if "energy" in line)
    assert "(1, 1)" in energy_line, energy_line
    assert not any(n.id == "rank_eigenvalues" for n in report.notes)


# ---------------------------------------------------------------- the input as given


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [
        ("terminal", "⎡ 1e−20  1 ⎤"),
        ("markdown", r"1 \cdot 10^{-20} & 1"),
        ("latex", r"\begin{bmatrix}1 \cdot 10^{-20} & 1"),
        ("html", "<msup><mn>10</mn><mn>−20</mn></msup>"),
    ],
)
def test_the_input_matrix_is_shown_as_given_not_rounded_to_the_threshold(fmt, shown):
    """A learner typed 1e-20: the box of A showed 0 (the threshold 7e−16 applies to
    computed values, not to the data)."""
    report = explain([[1e-20, 1], [1, 1]], steps=False)
    out = render(report, fmt)
    assert shown in out


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
def test_eig_residual_given_the_known_norm_is_the_residual(scale):
    """explain hands σ₁ of its SVD to ``Eig.residual`` (a second SVD of A was its cost)."""
    a = scale * np.random.default_rng(3).standard_normal((30, 30))
    e = svdkit.eig(a)
    sigma1 = svdkit.svd(a).s[0]
    assert e.residual(norm2=sigma1) == pytest.approx(e.residual(), rel=1e-12)
    # and it is the residual: ‖A V − V Λ‖ / ‖A‖₂, computed here directly at scale 1
    if scale == 1.0:
        direct = np.linalg.norm(a @ e.vectors - e.vectors * e.values, axis=0).max()
        assert e.residual(norm2=sigma1) == pytest.approx(direct / sigma1, rel=1e-10)


def test_explain_factorises_on_one_blas_thread(monkeypatch):
    """OpenBLAS's threads made a 400×400 report take 17.7 s instead of 0.19 s on a
    two-core machine with one core busy; the report's factorisations run on one."""
    from threadpoolctl import threadpool_info

    import svdkit.explain.computed as computed

    seen = []
    real_svd = computed.linalg.svd

    def spy(*args, **kwargs):
        seen.append([lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"])
        return real_svd(*args, **kwargs)

    monkeypatch.setattr(computed.linalg, "svd", spy)
    a = np.random.default_rng(0).standard_normal((40, 40))
    report = explain(a, steps=False)
    assert seen and all(threads and set(threads) == {1} for threads in seen)
    np.testing.assert_allclose(
        report.section("svd").fact("singular_values"), np.linalg.svd(a, compute_uv=False)
    )


@pytest.mark.parametrize(
    ("matrix", "kind"),
    [
        ([[1.5e308, 1e308], [1e308, -1e308]], "indefinite"),  # λ ≈ +1.85e308 (overflows), −1.35e308
        ([[1.5e308, 1e308], [1e308, 1e308]], "positive definite"),
        ([[1e308, 1e308], [1e308, 1e308]], "positive semidefinite"),
        ([[-1e308, 0], [0, -1e308]], "negative definite"),
    ],
)
def test_definiteness_when_an_eigenvalue_overflows(matrix, kind):
    """Every eigenvalue counted zero (threshold ∞): 'positive semidefinite', inertia
    (0, 2, 0), for an indefinite matrix; the four criteria disagreed."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = svdkit.definiteness(np.array(matrix))
    assert str(r.kind) == kind
    assert {str(c.kind) for c in r.criteria} == {kind}
    # the same decision as on the matrix scaled by an exact power of two
    assert str(svdkit.definiteness(np.ldexp(np.array(matrix), -1000)).kind) == kind
    w = r.quadratic_form.negative_witness
    if w is not None:  # its form, measured without overflow, is negative
        assert w.value < 0 and np.isfinite(w.value)


@pytest.mark.parametrize("n", [30, 60])
def test_the_determinant_of_a_full_rank_matrix_never_prints_zero(n):
    """det A printed 0 beside 'rank 30, invertible: yes': its zero threshold τ·σ₁ⁿ⁻¹
    was 1e22 for |det A| = 1.8e14 (a Gaussian 30×30)."""
    a = np.random.default_rng(1).standard_normal((n, n))
    report = explain(a, steps=False)
    assert report.section("measures").fact("rank") == n
    out = render(report, "markdown")
    line = next(row for row in out.splitlines() if "det A" in row and "|" in row)
    shown = float(line.split("|")[2].strip().replace("−", "-"))
    assert shown == pytest.approx(np.linalg.det(a), rel=1e-5), line
    # a singular matrix's determinant still prints as 0
    singular = render(explain([[1, 2], [2, 4]], steps=False), "markdown")
    assert any("det A" in row and "| 0 |" in row for row in singular.splitlines())
