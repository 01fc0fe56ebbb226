"""Defects found by the exact-engine and documentation hunts (h_exact D1, D2, D4, D5;
h_docs 4): long integers printed, trial division without primality tests, zeros written
otherwise, the definiteness hint for complex matrices, the --stop-words-file message."""

from __future__ import annotations

import sys

import pytest
import sympy as sp

import svdkit.exact as ex
from svdkit.errors import StructureError
from svdkit.exact._field import _trial_factors, radical_degree
from svdkit.exact.format import to_latex, to_mathml, to_text
from tests.cli_support import error_line, run_svdkit

# ∛(2 + √5) = (1 + √5)/2 (the golden ratio cubed is 2 + √5): this entry is exactly 0
HIDDEN_ZERO = "(2+sqrt(5))^(1/3) - (1+sqrt(5))/2"


# --------------------------------------------------------------- D1: long integers


def test_a_determinant_beyond_4300_digits_prints_exactly():
    d = ex.det("[[1e-2200, 0], [0, 1e-2200]]")
    assert d.value == sp.Rational(1, 10**4400)
    assert to_text(d.value) == "1/10⁴⁴⁰⁰"
    assert "4400" in to_latex(d.value)
    assert "4400" in to_mathml(d.value) or "1" + "0" * 4400 in to_mathml(d.value)


def test_a_long_integer_without_trailing_zeros_prints_all_its_digits():
    n = 7**6000  # 5071 digits, over Python's 4300-digit str limit
    limit = sys.get_int_max_str_digits()
    text = to_text(sp.Integer(n) * sp.sqrt(2))
    assert text.endswith("√2") and len(text) == 5071 + 2
    assert text[:-2] == _digits(n)
    assert to_text(-n) == "−" + _digits(n)
    # the limit is restored after printing
    assert sys.get_int_max_str_digits() == limit


def _digits(n: int) -> str:
    """n's digits, computed without str (by divmod), to check the printer against."""
    out = []
    while n:
        n, r = divmod(n, 10**1000)
        out.append(f"{r:0>1000}" if n else format(r, "d"))
    return "".join(reversed(out))


def test_explain_report_with_a_huge_exact_determinant_renders():
    from svdkit.explain import explain, render

    report = explain("[[1e-2200, 0], [0, 1e-2200]]")
    text = render(report, "terminal")
    assert "1/10⁴⁴⁰⁰" in text


# --------------------------------------------------------------- D2: trial division


def test_trial_factors_never_tests_a_cofactor_for_primality(monkeypatch):
    import sympy.ntheory.factor_ as factor_mod
    import sympy.ntheory.primetest as primetest

    def refuse(*args, **kwargs):
        raise AssertionError("a primality test on a huge cofactor (minutes)")

    monkeypatch.setattr(factor_mod, "isprime", refuse)
    monkeypatch.setattr(primetest, "isprime", refuse)
    big = 10**1000 + 453  # no prime factor below 10⁵ is needed to be known here
    got = _trial_factors(2**3 * 99991**2 * big)
    rest = 1
    for p, k in got.items():
        rest *= p**k
    assert rest == 2**3 * 99991**2 * big  # the factors multiply back
    assert got[2] == 3 and got[99991] == 2
    # a cofactor is one key unless it is a perfect power (review of 61cd0b2)
    assert _trial_factors(3 * 100003**2) == {3: 1, 100003: 2}
    assert _trial_factors(360) == {2: 3, 3: 2, 5: 1}
    assert _trial_factors(1) == {} and _trial_factors(97) == {97: 1}
    root = sp.Pow(sp.Integer(big), sp.S.Half, evaluate=False)  # as the engine builds it
    assert radical_degree([root, sp.sqrt(2)]) == 4


# --------------------------------------------------------------- D4: zeros written otherwise


@pytest.mark.parametrize("method", ["leibniz", "bareiss"])
def test_det_of_a_matrix_with_a_hidden_zero_is_zero(method):
    d = ex.det(f"[[{HIDDEN_ZERO}, 1], [0, 1]]", method=method, steps=True)
    assert d.value == 0
    assert ex.rank(f"[[{HIDDEN_ZERO}, 1], [0, 1]]").value == 1


def test_leibniz_counts_only_non_zero_terms():
    d = ex.det(f"[[{HIDDEN_ZERO}, 1], [0, 1]]", method="leibniz", steps=True)
    last = d.steps[-1]
    assert last.key == "det.leibniz_sum"
    assert last.values["value"] == 0 and last.values["nonzero"] == 0


def test_leibniz_sum_of_non_zero_terms_that_cancel_is_zero():
    # w·1 − φ·1 with w = ∛(2 + √5) = φ: both terms non-zero, the sum exactly 0
    A = "[[(2+sqrt(5))^(1/3), (1+sqrt(5))/2], [1, 1]]"
    d = ex.det(A, method="leibniz", steps=True)
    assert d.value == 0
    assert d.steps[-1].values["nonzero"] == 2
    assert ex.det(A, method="bareiss").value == 0


def test_trace_of_a_zero_written_otherwise_is_zero():
    assert ex.trace(f"[[{HIDDEN_ZERO}, 0], [0, 0]]").value == 0
    assert ex.trace("[[(2+sqrt(5))^(1/3), 0], [0, -(1+sqrt(5))/2]]").value == 0
    t = ex.trace("[[sqrt(2), 0], [0, 1]]").value
    assert t == 1 + sp.sqrt(2)


# --------------------------------------------------------------- D5: definiteness hint


def test_definiteness_hint_for_a_complex_matrix_names_the_hermitian_part():
    with pytest.raises(StructureError) as info:
        ex.definiteness("[[1, i], [i, 1]]")
    msg = str(info.value)
    assert "(A + Aᴴ)/2" in msg and "Re(xᴴAx)" in msg and "Aᵀ" not in msg
    assert "A[0,1] = i" in msg and "conj(A[1,0]) = −i" in msg  # to_text's i, not SymPy's I
    assert "0-based" in msg
    r = ex.definiteness("[[1, i], [i, 1]]", symmetrize=True)
    assert "positive definite" in str(r.kind)


def test_definiteness_hint_for_a_real_matrix_names_the_symmetric_part():
    with pytest.raises(StructureError) as info:
        ex.definiteness("[[1, 2], [3, 1]]")
    msg = str(info.value)
    assert "(A + Aᵀ)/2" in msg and "xᵀAx" in msg
    assert "A[0,1] = 2 but A[1,0] = 3" in msg


# --------------------------------------------------------------- h_docs 4: stop words


def test_stop_words_file_with_char_analyzer_names_the_option_typed(
        tmp_path, capsys, monkeypatch):
    corpus = tmp_path / "zh.jsonl"
    corpus.write_text('{"id":"z1","text":"我喜欢吃苹果"}\n{"id":"z2","text":"苹果很好吃"}\n',
                      encoding="utf-8")
    stop = tmp_path / "stop.txt"
    stop.write_text("le\nla\n", encoding="utf-8")
    run = run_svdkit(capsys, monkeypatch)
    code, _out, err = run("lsi", "index", str(corpus), "-o", str(tmp_path / "idx"), "-k", "1",
                         "--analyzer", "char", "--stop-words-file", str(stop))
    line = error_line(code, err)
    assert "--stop-words-file applies to the word analyzer only" in line
    assert "--analyzer char" in line and "leave it out" in line
    assert "--stop-words " not in line and "--stop-words at" not in line


def test_stop_words_list_with_char_analyzer_in_python_names_the_argument():
    from svdkit.errors import SvdkitError
    from svdkit.lsi import TextOptions

    with pytest.raises(SvdkitError, match=r"stop_words apply to the word analyzer only; "
                                          r"analyzer='char'.*leave stop_words at 'english'"):
        TextOptions(stop_words=["le"], analyzer="char")
