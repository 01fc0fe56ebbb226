"""Defects found by the review of 61cd0b2 (exact engine): prime-power cofactors of trial
division, ``repr`` of results and steps beyond 4300 digits, Python's digit limit lifted
only when a value needs it and never over a limit the application set."""

from __future__ import annotations

import sys

import mpmath
import sympy as sp

import svdkit.exact as ex
import svdkit.exact.format as fmt
from svdkit.exact._field import _trial_factors, radical_degree
from svdkit.exact.format import long_integers, to_text

Q, R = 100003, 100019  # primes just above the 10⁵ trial-division bound


# --------------------------------------------------------------- 2: prime-power cofactors


def test_a_cofactor_that_is_a_prime_power_is_factored_as_one():
    assert _trial_factors(3 * Q**2) == {3: 1, Q: 2}
    assert _trial_factors(Q**6) == {Q: 6}  # a square of a cube
    assert _trial_factors(2**5 * (Q * R) ** 3) == {2: 5, Q * R: 3}
    p = int(sp.nextprime(10**30))
    assert _trial_factors(7 * p**2) == {7: 1, p: 2}
    assert _trial_factors(p**2 * Q) == {p**2 * Q: 1}  # not a power: one cofactor


def test_cube_roots_of_prime_power_cofactors_keep_their_true_degree():
    roots = [sp.cbrt(3 * Q**2), sp.cbrt(9 * Q), sp.cbrt(5 * R**2), sp.cbrt(25 * R)]
    # ∛(3q²)·∛(9q) = 3q: the field is QQ(∛(3q), ∛(5r)), of degree 9
    assert sp.simplify(roots[0] * roots[1] - 3 * Q) == 0
    assert radical_degree(roots) == 9
    text = f"[[(3*{Q}^2)^(1/3), (9*{Q})^(1/3)], [(5*{R}^2)^(1/3), (25*{R})^(1/3)]]"
    assert ex.rank(text).value == 2
    d = ex.det(text).value
    mpmath.mp.dps = 60
    a = [[mpmath.cbrt(3 * Q**2), mpmath.cbrt(9 * Q)], [mpmath.cbrt(5 * R**2), mpmath.cbrt(25 * R)]]
    expected = a[0][0] * a[1][1] - a[0][1] * a[1][0]
    assert abs(sp.N(d, 50) - sp.Float(str(expected), 50)) < 1e-35 * abs(expected)
    mpmath.mp.dps = 15


def test_square_roots_sharing_a_large_cofactor_are_not_counted_twice():
    # √(3qr)·√(5q)·√(15r) = 15qr: only two of the three are independent (degree 4);
    # trial division leaves qr, q and r as three unrelated "primes" (8)
    roots = [sp.sqrt(3 * Q * R), sp.sqrt(5 * Q), sp.sqrt(15 * R)]
    assert sp.expand(roots[0] * roots[1] * roots[2]) == 15 * Q * R
    assert radical_degree(roots) == 4
    # each alone, and with an unrelated square root
    assert radical_degree([roots[0]]) == 2
    assert radical_degree([roots[0], roots[1], sp.sqrt(7)]) == 8


def test_large_cofactors_with_a_common_power_are_split_into_a_coprime_base():
    big = 10**40 + 3  # no factor below 10⁵ needed; the degree only depends on the shares
    a = sp.Pow(sp.Integer(3 * big**2 * Q), sp.Rational(1, 3), evaluate=False)
    b = sp.Pow(sp.Integer(big * Q**2), sp.Rational(1, 3), evaluate=False)
    # a·b = ∛(3·big³·q³) = big·q·∛3: QQ(a, b) = QQ(∛3, b), of degree 9 unless b ∈ QQ(∛3)
    assert radical_degree([a, b]) == 9
    assert radical_degree([a, b, sp.cbrt(3)]) == 9


# --------------------------------------------------------------- 3: repr beyond 4300 digits


def test_repr_of_a_result_beyond_4300_digits():
    d = ex.det("[[1e-2200, 0], [0, 1e-2200]]")
    text = repr(d)
    assert text.startswith("Det(value=1/1" + "0" * 20) and text.endswith(")")
    assert text.count("0") >= 4400
    t = ex.trace("[[1e4400, 0], [0, 1]]")
    assert repr(t) == "Trace(value=1" + "0" * 4399 + "1)"


def test_repr_of_steps_beyond_4300_digits():
    d = ex.det("[[1e-2200, 1], [1, 1e-2200]]", steps=True)
    assert d.value == sp.Rational(1, 10**4400) - 1
    shown = [repr(s) for s in d.steps]
    assert shown and all(s.startswith("Step(key='det.") for s in shown)
    assert any("9" * 4400 in s for s in shown)  # the sum −(10⁴⁴⁰⁰ − 1)/10⁴⁴⁰⁰, whole
    assert str(d.steps[0]) == repr(d.steps[0])


def test_repr_of_results_still_reads_as_the_dataclass_repr():
    assert repr(ex.rank("[[1, 2], [2, 4]]")) == "Rank(value=1, pivots=(0,))"
    inv = ex.inv("[[2, 0], [0, 4]]")
    assert repr(inv) == f"Inverse(matrix={inv.matrix!r})"
    assert inv.matrix == sp.Matrix([[sp.Rational(1, 2), 0], [0, sp.Rational(1, 4)]])
    assert "steps" not in repr(ex.det("[[1, 2], [3, 4]]", steps=True))


# --------------------------------------------------------------- 4: the digit limit


def test_printing_ordinary_values_never_touches_the_digit_limit(monkeypatch):
    calls = []
    monkeypatch.setattr(sys, "set_int_max_str_digits", lambda n: calls.append(n))
    x = sp.sqrt(2) / 3 + 1
    assert to_text(x) == "1 + √2/3"
    fmt.to_latex(x), fmt.to_mathml(x), repr(ex.rank("[[1, 2], [3, 4]]"))
    d = ex.det("[[1, 2], [3, 4]]", steps=True)
    [repr(s) for s in d.steps]
    assert calls == []


def test_a_long_value_lifts_the_limit_and_restores_it():
    limit = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(5000)
        assert to_text(sp.Integer(7) ** 6000)[-4:] == str(7**6000 % 10**4).zfill(4)
        assert sys.get_int_max_str_digits() == 5000
        # an application limit below 4300 is respected: 1000-digit values print too
        sys.set_int_max_str_digits(640)
        with long_integers(sp.Integer(3) ** 2000):
            assert len(str(3**2000)) == 955
        assert sys.get_int_max_str_digits() == 640
        with long_integers(sp.Integer(3)):
            assert sys.get_int_max_str_digits() == 640  # nothing long: left alone
    finally:
        sys.set_int_max_str_digits(limit)


def test_a_limit_the_application_sets_while_printing_stays():
    limit = sys.get_int_max_str_digits()
    try:
        with long_integers(10**5000):
            assert sys.get_int_max_str_digits() == 0
            sys.set_int_max_str_digits(640)  # the application, meanwhile
        assert sys.get_int_max_str_digits() == 640  # not reverted to the saved limit
        sys.set_int_max_str_digits(limit)
        with long_integers(10**5000):
            sys.set_int_max_str_digits(700)
            with long_integers(10**5000):  # a printer coming in lifts it again
                assert len(str(10**5000)) == 5001
        assert sys.get_int_max_str_digits() == 700  # the application's, after the last
    finally:
        sys.set_int_max_str_digits(limit)


# --------------------------------------------------------------- 5: the zero test, once per entry


def test_an_entry_is_tested_for_a_hidden_zero_once(monkeypatch):
    import svdkit.exact._common as common

    calls = []
    real = common.is_zero_expr

    def counting(x):
        calls.append(x)
        return real(x)

    monkeypatch.setattr(common, "is_zero_expr", counting)
    common._written_zero.cache_clear()
    hidden = "(2+sqrt(5))^(1/3) - (1+sqrt(5))/2"  # exactly 0
    text = f"[[{hidden}, sqrt(2)], [sqrt(2), {hidden}]]"
    assert ex.rank(text).value == 2
    assert ex.det(text).value == -2  # the hidden zeros are zeros: 0·0 − √2·√2
    assert ex.trace(text).value == 0
    assert len(calls) == 2  # the hidden zero and √2, each once for the three functions
    common._written_zero.cache_clear()


def test_a_printer_that_comes_in_while_another_lifted_keeps_the_limit_lifted():
    limit = sys.get_int_max_str_digits()
    first, second = long_integers(10**5000), long_integers(7**6000)
    first.__enter__()  # one thread prints a long value
    second.__enter__()  # another comes in: the limit is already lifted, yet it counts
    first.__exit__(None, None, None)  # the first is done before the second
    try:
        assert sys.get_int_max_str_digits() == 0
        assert len(str(7**6000)) == 5071
    finally:
        second.__exit__(None, None, None)
    assert sys.get_int_max_str_digits() == limit
