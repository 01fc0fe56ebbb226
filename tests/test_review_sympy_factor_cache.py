"""SymPy 1.14's factor cache raises on a cofactor ``factorint``'s limit leaves
(sympy/sympy#28621): the exact engine keeps it to prime factors while it runs."""

from __future__ import annotations

import numpy as np
import sympy
from sympy.ntheory import factor_ as sympy_factor

import svdkit.exact as ex
from svdkit.exact._precision import primes_only_factor_cache


def test_exact_svd_of_huge_entries_is_computed():
    r = ex.svd("[[1e300, 1], [0, 1e300]]")
    a = sympy.Matrix([[sympy.Integer(10) ** 300, 1], [0, sympy.Integer(10) ** 300]])
    # σ₁σ₂ = |det A| and σ₁² + σ₂² = ‖A‖_F², exactly
    s = list(r.s)
    assert sympy.simplify(s[0] * s[1] - abs(a.det())) == 0
    assert sympy.simplify(s[0] ** 2 + s[1] ** 2 - sum(x**2 for x in a)) == 0
    assert np.isclose(float(s[0]), 1e300, rtol=1e-12)


def test_the_cache_keeps_only_primes_and_is_put_back():
    with primes_only_factor_cache():
        with primes_only_factor_cache():  # nested: each block puts back what it found
            r = sympy.sqrt(989034254522489566) * sympy.sqrt(989034254830458946)
        assert "add" in sympy_factor.factor_cache.__dict__
    assert "add" not in sympy_factor.factor_cache.__dict__
    assert sympy.expand(r**2) == 989034254522489566 * 989034254830458946
    for n, p in list(sympy_factor.factor_cache._cache.items()):
        assert n % p == 0 and sympy.isprime(p)
