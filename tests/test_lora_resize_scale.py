"""resize decides its rank on values scaled by a power of two: the rules are scale-free.

The sums of ``σᵢ²`` of an adapter whose delta is of order 1e-200 underflowed to 0 (and
of order 1e200 overflowed): the energy and error rules then saw no spectrum.
"""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.lora import RankRule
from svdkit.lora.adapter import Adapter, LoraModule
from svdkit.lora.resize import resize


def _adapter(scale: float) -> Adapter:
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((40, 8)))
    V, _ = np.linalg.qr(rng.standard_normal((30, 8)))
    s = 0.6 ** np.arange(8)
    B = U * np.sqrt(s) * np.sqrt(scale)
    A = (V * np.sqrt(s)).T * np.sqrt(scale)
    return Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=8.0)})


@pytest.mark.parametrize("rule", [RankRule(energy=0.9), RankRule(error=0.05),
                                  RankRule(energy=1.0), RankRule(error=0.0)])
@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_resize_rules_do_not_depend_on_the_scale(rule, scale):
    _, ref = resize(_adapter(1.0), rule, dtype=np.float64)
    _, got = resize(_adapter(scale), rule, dtype=np.float64)
    assert got[0].rank == ref[0].rank
    assert got[0].energy_kept == pytest.approx(ref[0].energy_kept, rel=1e-12)
    assert got[0].relative_error == pytest.approx(ref[0].relative_error, rel=1e-9, abs=1e-15)
