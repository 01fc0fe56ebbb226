"""The exact API used directly: lstsq in a field of six square roots computes in that
field (it converted A⁺ back through SymPy's field isomorphism, 25–29 s against 2 s
for pinv), its steps keep their order, and a transcendental entry is named.
"""

from __future__ import annotations

import pytest
import sympy as sp

import svdkit.exact as ex
from svdkit.exact import NotAlgebraicError

SIX_ROOTS = [[sp.sqrt(2), sp.sqrt(3), sp.sqrt(5)], [sp.sqrt(7), sp.sqrt(11), sp.sqrt(13)],
             [1, 2, 3]]


def test_lstsq_in_a_field_of_six_roots_is_the_pseudo_inverse_times_b():
    A, b = sp.Matrix(SIX_ROOTS), sp.Matrix([1, 0, 1])
    r = ex.lstsq(A, b)
    x = r.x
    assert r.rank == 3
    assert ((A * x - b).evalf(60)).norm() < sp.Float("1e-50")  # invertible: Ax = b


@pytest.mark.parametrize(("A", "b"), [([[1, 0], [0, 1], [1, 1]], [1, 1, 0]),
                                      ([[1, 1], [1, 1]], [2, 0]),
                                      ([[0, 0], [0, 0]], [1, 2]),
                                      ([[sp.sqrt(2), 1], [2, sp.sqrt(2)], [1, 0]], [1, 0, 1])])
def test_lstsq_is_minimal_norm_and_its_steps_keep_their_order(A, b):
    r = ex.lstsq(A, b, steps=True)
    M, v = sp.Matrix(A), sp.Matrix(b)
    x = r.x
    assert sp.simplify(x - M.pinv() * v) == sp.zeros(*x.shape)
    keys = [s.key for s in r.steps]
    assert keys[0] == "lstsq.normal_equations"
    assert keys[1] in ("lstsq.unique", "lstsq.min_norm")
    assert keys[2] == "pinv.rank"
    assert keys.index("lstsq.solution") > max(i for i, k in enumerate(keys)
                                               if k.startswith("pinv."))


@pytest.mark.parametrize(("entry", "named"), [(sp.E, "e is transcendental"),
                                              (sp.pi, "π is transcendental"),
                                              (sp.E + sp.pi, "e and π are transcendental")])
def test_a_transcendental_entry_is_named(entry, named):
    with pytest.raises(NotAlgebraicError, match=named):
        ex.svd([[entry]])
