"""Review of the exact engine (svdkit.exact) and the numeric API (svdkit.linalg)
against SymPy, NumPy and SciPy: behaviour beyond tests/test_review_properties_audit.py."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import sympy.polys.numberfields.subfield as subfield

import svdkit
import svdkit.exact as ex


def _radical_matrix(n: int, radicals: list[int]) -> list[list[sp.Expr]]:
    """A symmetric n×n matrix of integer multiples of the square roots ``radicals``."""
    rows = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            c = (7 * i + 3 * j + 1) % 19 - 9 or 5
            rows[i][j] = rows[j][i] = c * sp.sqrt(radicals[(i * n + j) % len(radicals)])
    return rows


@pytest.fixture
def number_field_conversions(monkeypatch):
    """Counts SymPy's field isomorphisms (``from_sympy`` of each number: PSLQ and
    factoring at the field's degree, ~1 s per entry in QQ<√2+√3+√5+√7>, which made a
    6×6 det with four radicals take 30–40 s)."""
    calls = []
    real = subfield.field_isomorphism

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(subfield, "field_isomorphism", counting)
    return calls


def test_number_field_entries_are_not_converted_one_by_one(number_field_conversions):
    A = _radical_matrix(4, [2, 3, 5])
    d = ex.det(A)
    assert sp.simplify(d.value - sp.Matrix(A).det()) == 0
    r = ex.rank(A)
    assert r.value == sp.Matrix(A).rank(simplify=True)
    X = ex.inv(A).matrix
    assert sp.simplify(X * sp.Matrix(A) - sp.eye(4)) == sp.zeros(4)
    # the entries and their radicals come from construct_domain; none goes through PSLQ
    assert len(number_field_conversions) <= 3


def test_characteristic_polynomial_coefficients_not_converted_one_by_one(
    number_field_conversions,
):
    A = _radical_matrix(3, [2, 3])
    r = ex.eigh(A)
    M = sp.Matrix(A)
    numeric = np.linalg.eigvalsh(np.array(M.evalf(30).tolist(), dtype=float))
    got = sorted(float(sp.re(sp.N(v))) for v in r.values)
    np.testing.assert_allclose(got, numeric, rtol=1e-10, atol=1e-10)
    kind = ex.definiteness(A).kind
    assert kind == svdkit.definiteness(np.array(M.evalf(30).tolist(), dtype=float)).kind
    assert len(number_field_conversions) <= 6


@pytest.mark.parametrize("z", [1.5j, 0.5 - 2j, np.complex128(1 + 0.25j)])
def test_complex_float_entry_is_named_as_a_complex_number(z):
    with pytest.raises(ex.InexactInputError) as info:
        ex.as_exact([[1, z]])
    message = str(info.value)
    assert "row 1, column 2" in message
    assert "complex" in message and repr(complex(z)) in message
    # the text it suggests parses to the same number
    suggested = message.split("('")[1].split("'")[0]
    assert ex.as_exact(f"[[{suggested}]]")[0, 0] == sp.nsimplify(complex(z))


def test_integer_valued_complex_entries_are_still_exact():
    assert ex.as_exact(np.array([[1j, 2 - 3j]])) == sp.Matrix([[sp.I, 2 - 3 * sp.I]])


@pytest.mark.parametrize("ord_", [np.int64(1), np.float64(3), np.int32(4), np.float32(1.5)])
def test_vector_norm_takes_numpy_scalar_orders(ord_):
    v = [1.0, -2.0, 3.0]
    assert svdkit.norm(v, ord_) == pytest.approx(np.linalg.norm(v, ord_), rel=1e-14)
    # as the matrix branch already did
    assert svdkit.norm([[1, 2], [3, 4]], np.int64(1)) == 6.0


def test_vector_norm_numpy_p_order_does_not_overflow():
    assert svdkit.norm([1e300, 1e300], np.float64(3)) == pytest.approx(2 ** (1 / 3) * 1e300)
