"""The exact part of ``svdkit explain`` is sized before it starts (h_exact D2, D3): numbers
of thousands of bits or radicals of a large field leave the report numeric, with a step
saying why, instead of minutes of work; JSON prints exact values beyond Python's
4300-digit limit; the exact norm's docstring names what svdkit.norm takes."""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import sympy as sp

import svdkit.exact as ex
from svdkit.explain import explain, render
from svdkit.explain.exact_steps import MAX_EXACT_WORK, exact_budget
from svdkit.explain.render_json import encode_exact
from tests.cli_support import run_svdkit


def _steps(report, section: str) -> list[str]:
    return [s.key for s in report.section(section).steps]


def _facts(report, section: str) -> dict:
    return {f.key: f.value for f in report.section(section).facts}


# --------------------------------------------------------------- D2: bits


def test_huge_rational_entries_leave_the_report_numeric_quickly():
    start = time.perf_counter()
    report = explain("[[1e-1000, 1], [1, 1]]")  # a minute before
    elapsed = time.perf_counter() - start
    assert elapsed < 20
    assert "exact.omitted_bits" in _steps(report, "measures")
    step = next(s for s in report.section("measures").steps if s.key == "exact.omitted_bits")
    assert step.values["bits"] == (10**1000).bit_length() and step.values["limit"] == 2048
    for sec in report.sections:
        assert not any(f.key.endswith("_exact") for f in sec.facts), sec.id
    # the numeric facts stand: σ of [[ε, 1], [1, 1]] (≈ [[0, 1], [1, 1]]): φ and 1/φ
    s = np.asarray(_facts(report, "svd")["singular_values"], dtype=float)
    phi = (1 + 5**0.5) / 2
    assert np.allclose(s, [phi, 1 / phi], rtol=1e-12)


def test_the_terminal_text_says_why_the_exact_part_is_missing(capsys, monkeypatch):
    code, out, err = run_svdkit(capsys, monkeypatch)("explain", "[[1e-2000, 1], [1, 1]]")
    assert code == 0, err
    text = " ".join(out.split())
    assert "The exact derivations are left out" in text
    assert "6644 bits" in text and "(exact)" not in text


def test_a_common_scale_costs_nothing_and_stays_exact():
    # diag(1e-2200, 1e-2200) is 10⁻²²⁰⁰·I: 1 bit once scaled, exact as before
    report = explain("[[1e-2200, 0], [0, 1e-2200]]")
    assert exact_budget(ex.as_exact("[[1e-2200, 0], [0, 1e-2200]]")) == (True, True, None)
    assert sp.sympify(report.section("measures").fact("determinant_exact")
                      .replace("10⁴⁴⁰⁰", "10**4400")) == sp.Rational(1, 10**4400)
    assert not any(s.startswith("exact.omitted") for sec in report.sections
                   for s in _steps(report, sec.id))


def test_eigenvalue_work_has_a_lower_bit_budget_than_elimination():
    report = explain("[[1e-400, 1], [1, 1]]")  # 1329 bits: rank, det exact; σ numeric
    measures = _facts(report, "measures")
    assert measures["rank_exact"] == "2"
    # det = 10⁻⁴⁰⁰ − 1 exactly
    assert sp.sympify(measures["determinant_exact"].replace("−", "-").replace("10⁴⁰⁰", "10**400")
                      ) == sp.Rational(1, 10**400) - 1
    assert "exact.omitted_spectral_bits" in _steps(report, "svd")
    assert "singular_values_exact" not in _facts(report, "svd")
    # of exact rank 1, as wide, the one σ = ‖A‖_F is exact
    rank_one = explain("[[1e-300, 1e300], [2e-300, 2e300]]")  # 1993 bits
    assert "singular_values_exact" in _facts(rank_one, "svd")
    assert not any(s.startswith("exact.omitted") for s in _steps(rank_one, "svd"))


def test_the_bit_budget_shrinks_with_the_order():
    # a 6×6 of 30-digit integers (100 bits): 8 s of elimination and 650 kB of text before
    rows = [[10**29 + 7**(i + 6 * j) for j in range(6)] for i in range(6)]
    M = sp.Matrix(rows)
    ok, spectral, step = exact_budget(M)
    assert (ok, spectral, step.key) == (False, False, "exact.omitted_bits")
    assert step.values["limit"] == MAX_EXACT_WORK // 6**3
    # small integers at 6×6 stay exact
    assert exact_budget(sp.Matrix(6, 6, lambda i, j: (i + 2 * j) % 7 - 3))[:2] == (True, False)


# --------------------------------------------------------------- D3: radical degree


def test_many_independent_square_roots_leave_the_report_numeric():
    primes = [2, 3, 5, 7, 11, 13]
    # 4×4 over QQ(√2, …, √13): degree 64 (a 6×6 of them took four minutes)
    text = "[" + ", ".join(
        "[" + ", ".join(f"{(i + j) % 3 - 1} + sqrt({primes[(i + 2 * j) % 6]})"
                        for j in range(4)) + "]" for i in range(4)) + "]"
    start = time.perf_counter()
    report = explain(text)
    assert time.perf_counter() - start < 20
    step = next(s for s in report.section("measures").steps if s.key == "exact.omitted_degree")
    assert step.values["degree"] >= 64 and step.values["limit"] == 8
    assert "rank_exact" not in _facts(report, "measures")
    assert _facts(report, "measures")["rank"] == np.linalg.matrix_rank(report.matrix)


def test_a_few_square_roots_stay_exact():
    report = explain("[[1, sqrt(2)], [sqrt(2), 3]]")
    facts = _facts(report, "measures")
    assert facts["rank_exact"] == "2" and facts["determinant_exact"] == "1"
    assert "singular_values_exact" in _facts(report, "svd")


def test_the_french_report_says_it_too():
    text = render(explain("[[1e-1000, 1], [1, 1]]", lang="fr"), "markdown")
    assert "Les calculs exacts sont omis" in text


# --------------------------------------------------------------- JSON beyond 4300 digits


def test_json_writes_exact_values_beyond_python_s_digit_limit():
    limit = sys.get_int_max_str_digits()
    big = sp.Integer(7) ** 6000  # 5071 digits
    text = encode_exact(sp.Matrix([[big, sp.Rational(1, 10**4400)]]))
    sys.set_int_max_str_digits(0)
    try:
        assert sp.Integer(text[0][0]) == big
        assert sp.Rational(text[0][1]) == sp.Rational(1, 10**4400)
    finally:
        sys.set_int_max_str_digits(limit)
    assert sys.get_int_max_str_digits() == limit  # restored after printing


def test_json_report_of_a_long_determinant_is_valid():
    report = explain("[[1e-2200, 0], [0, 1e-2200]]")
    doc = json.loads(render(report, "json"))
    measures = next(s for s in doc["sections"] if s["id"] == "measures")
    values = [v for step in measures["steps"] if step["key"].startswith("det.")
              for v in step["values"].values()]
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert sp.Rational(1, 10**4400) in {sp.sympify(v) for v in values}
    finally:
        sys.set_int_max_str_digits(limit)


# --------------------------------------------------------------- norms docstring


def test_exact_norm_docstring_matches_svdkit_norm():
    import svdkit
    import svdkit.exact.norms as norms

    doc = " ".join(norms.__doc__.split())
    assert "as svdkit.norm refuses them" not in doc and ":func:`svdkit.norm` gives them" in doc
    # what it says: svdkit.norm takes NumPy's orders, the exact engine refuses them
    a = [[1.0, 2.0], [3.0, 4.0]]
    assert svdkit.norm(a, -2) == np.linalg.norm(a, -2)
    assert svdkit.norm([3.0, 0.0, 4.0], 0) == 2.0
    from svdkit.errors import SvdkitError

    for order in (-1, -2, 0):
        try:
            ex.norm([[1, 2], [3, 4]], order)
        except SvdkitError:
            continue
        raise AssertionError(f"exact norm took ord={order}")
