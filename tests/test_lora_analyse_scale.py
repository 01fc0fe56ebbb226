"""analyse is scale-free: energies, ranks and ratios of a delta (or an adapter) of any
magnitude are those of the same delta scaled to 1.

``‖ΔW‖_F²`` of a float64 delta of entries near 1e-300 underflowed to 0 (every energy 1,
recommended rank 1) and of one near 1e200 overflowed (energies 0, NaN norms).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from svdkit.lora import save_safetensors
from svdkit.lora.adapter import Adapter, LoraModule
from svdkit.lora.analyse import analyse_adapter, analyse_pair


def _pair(tmp_path, scale: float):
    rng = np.random.default_rng(5)
    U, _ = np.linalg.qr(rng.standard_normal((48, 24)))
    V, _ = np.linalg.qr(rng.standard_normal((32, 24)))
    D = (U * 0.7 ** np.arange(24)) @ V.T * scale
    W = np.zeros((48, 32))
    save_safetensors(tmp_path / f"b{scale:g}.safetensors", {"fc.weight": W})
    save_safetensors(tmp_path / f"t{scale:g}.safetensors", {"fc.weight": W + D})
    return tmp_path / f"b{scale:g}.safetensors", tmp_path / f"t{scale:g}.safetensors"


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200])
def test_analyse_pair_does_not_depend_on_the_scale(tmp_path, scale):
    ref = analyse_pair(*_pair(tmp_path, 1.0), energy=0.95)
    got = analyse_pair(*_pair(tmp_path, scale), energy=0.95)
    (r,), (g,) = ref.rows(), got.rows()
    assert g["recommended_rank"] == r["recommended_rank"]
    assert g["stable_rank"] == pytest.approx(r["stable_rank"], rel=1e-9)
    assert g["sigma_1"] == pytest.approx(r["sigma_1"] * scale, rel=1e-9)
    assert g["fro"] == pytest.approx(r["fro"] * scale, rel=1e-9)
    curve_r, curve_g = ref.modules[0].energy_curve(), got.modules[0].energy_curve()
    assert np.allclose(curve_g, curve_r, rtol=1e-9, atol=0)
    json.dumps(got.rows(), allow_nan=False)  # no NaN, no inf


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_analyse_adapter_does_not_depend_on_the_scale(scale):
    rng = np.random.default_rng(6)
    B, A = rng.standard_normal((40, 8)), rng.standard_normal((8, 30))

    def adapter(c: float) -> Adapter:
        f = math.sqrt(c)
        return Adapter({"fc": LoraModule("fc", "linear", A=A * f, B=B * f, alpha=8.0)})

    (r,), (g,) = analyse_adapter(adapter(1.0)).rows(), analyse_adapter(adapter(scale)).rows()
    assert g["recommended_rank"] == r["recommended_rank"]
    assert g["stable_rank"] == pytest.approx(r["stable_rank"], rel=1e-9)
    assert g["fro"] == pytest.approx(r["fro"] * scale, rel=1e-9)
