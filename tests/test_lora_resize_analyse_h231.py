"""resize and analyse: defects #2, #3, #4, #6, #7 and #9 of the h231 LoRA report.

* #2 ``analyse BASE TUNED --energy 1`` on a complete float32 spectrum gave "> 32";
* #3 resize dropped ``revision`` / ``lora_dropout`` and flipped ``inference_mode``;
* #4 PEFT's ``lora_bias=True`` adapters were refused with a terse message (now read by
  resize and analyse, refused by name by merge);
* #6 resize of an untrained adapter blamed its output; modules dropped at rank 0 had no note;
* #7 ``analyse ADAPTER`` said nothing of tensors kept whole or trainable tokens;
* #9 resize stored both factors in lora_A's dtype.
"""

from __future__ import annotations

import json

import ml_dtypes
import numpy as np
import pytest
import torch
from cli_support import last_error_line, run_svdkit

from svdkit.errors import EmptyInputError, FileFormatError
from svdkit.lora import Adapter, LoraModule, RankRule, analyse_adapter, analyse_pair
from svdkit.lora.analyse import ModuleSpectrum
from svdkit.lora.merge import merge
from svdkit.lora.resize import resize
from svdkit.lora.safetensors_io import save_safetensors

run = pytest.fixture(run_svdkit)


def _llama(tmp_path, bias=False):
    """A tiny Llama base directory (two layers, hidden 32) and its class."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      attention_bias=bias)
    d = tmp_path / "base"
    LlamaForCausalLM(cfg).eval().save_pretrained(d, safe_serialization=True)
    return d, LlamaForCausalLM


def _peft_adapter(tmp_path, base, cls, name="ad", trained=True, **kwargs):
    from peft import LoraConfig, get_peft_model

    pm = get_peft_model(cls.from_pretrained(str(base)), LoraConfig(**kwargs))
    if trained:
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for n, p in pm.named_parameters():
                if "lora_" in n:
                    p.copy_(0.3 * torch.randn(p.shape, generator=g))
    pm.save_pretrained(str(tmp_path / name))
    return tmp_path / name


def _logits(cls, base, adapter_dir):
    from peft import PeftModel

    pm = PeftModel.from_pretrained(cls.from_pretrained(str(base)), str(adapter_dir)).eval()
    ids = torch.arange(12).reshape(2, 6)
    with torch.no_grad():
        return pm(input_ids=ids).logits.double().numpy()


# ----------------------------------------------------------------------------- #2


def _pair(tmp_path, W, D):
    save_safetensors(tmp_path / "base.safetensors", {"fc.weight": W})
    save_safetensors(tmp_path / "tuned.safetensors", {"fc.weight": W + D})
    return tmp_path / "base.safetensors", tmp_path / "tuned.safetensors"


@pytest.mark.parametrize("energy", [1.0, 0.9999999, 1 - 3e-8])
def test_analyse_pair_complete_float32_spectrum_always_gives_a_rank(tmp_path, energy):
    for seed in range(12):
        rng = np.random.default_rng(seed)
        W = rng.standard_normal((32, 32)).astype(np.float32)
        D = (rng.standard_normal((32, 8)) @ rng.standard_normal((8, 32))).astype(np.float32)
        an = analyse_pair(*_pair(tmp_path, W, D), energy=energy)
        row = an.rows()[0]
        assert row["recommended_rank"] is not None, (seed, energy)
        assert 8 <= row["recommended_rank"] <= 32
        assert "> 32" not in " ".join(str(c) for c in an.table().columns[-1]._cells)


def test_analyse_pair_energy_one_gives_the_numerical_rank_of_a_float32_delta(tmp_path):
    # an exactly rank-4 float32 delta (small integers: W + D and its difference exact):
    # in float64, as extract factors it for energy 1, its rank is 4 — not 32
    rng = np.random.default_rng(0)
    W = rng.integers(-8, 8, (32, 32)).astype(np.float32)
    D = (rng.integers(-3, 4, (32, 4)) @ rng.integers(-3, 4, (4, 32))).astype(np.float32)
    an = analyse_pair(*_pair(tmp_path, W, D), energy=1.0)
    assert an.rows()[0]["recommended_rank"] == 4


def test_complete_spectrum_whose_sum_falls_short_of_the_exact_norm_still_gives_a_rank():
    # float32 values whose Σσ² is 2e-7 below the exact ‖ΔW‖_F²: the shortfall is rounding
    s = np.array([3.0, 2.0, 1.0, 0.5])
    fro2 = float(np.sum(s**2)) * (1 + 2e-7)
    sp = ModuleSpectrum("fc", (4, 4), s, fro2, complete=True)
    assert sp.recommended_rank(1.0) == 4
    part = ModuleSpectrum("fc", (8, 8), s, fro2 * 2, complete=False)
    assert part.recommended_rank(1.0) is None  # a leading part only: more are needed


# ----------------------------------------------------------------------------- #3


def test_resize_keeps_the_config_fields_it_does_not_change(tmp_path, run):
    base, cls = _llama(tmp_path)
    ad = _peft_adapter(tmp_path, base, cls, r=4, lora_alpha=8, lora_dropout=0.1,
                       revision="abc123def", target_modules=["q_proj", "v_proj"])
    cfg = json.loads((ad / "adapter_config.json").read_text())
    cfg["inference_mode"] = False  # (as saved by a training run)
    (ad / "adapter_config.json").write_text(json.dumps(cfg))
    code, _, err = run("lora", "resize", ad, "-o", tmp_path / "small", "--rank", "2")
    assert code == 0, err
    new = json.loads((tmp_path / "small" / "adapter_config.json").read_text())
    assert new["revision"] == "abc123def"
    assert new["lora_dropout"] == 0.1
    assert new["inference_mode"] is False
    assert new["r"] == 2
    changed = {k for k in cfg if cfg[k] != new.get(k)}
    # only what resize recomputes (target_modules: full names for PEFT's short ones)
    assert changed <= {"r", "lora_alpha", "rank_pattern", "alpha_pattern", "target_modules",
                       "peft_version"}, changed
    _logits(cls, base, tmp_path / "small")  # PEFT loads it


# ----------------------------------------------------------------------------- #4


def test_lora_bias_adapter_resized_keeps_its_output_in_peft(tmp_path):
    base, cls = _llama(tmp_path, bias=True)
    ad = _peft_adapter(tmp_path, base, cls, r=4, lora_alpha=8, lora_bias=True,
                       target_modules=["q_proj", "v_proj"])
    before = _logits(cls, base, ad)
    adapter = Adapter.load(ad, lora_bias=True)
    assert all(m.bias is not None for m in adapter.modules.values())
    new, report = resize(adapter, RankRule(rank=4))  # the scale goes from 2 to 1
    assert all(r.relative_error < 1e-6 for r in report)
    new.save(tmp_path / "same")
    cfg = json.loads((tmp_path / "same" / "adapter_config.json").read_text())
    assert cfg["lora_bias"] is True and cfg["lora_alpha"] == 4
    after = _logits(cls, base, tmp_path / "same")
    assert np.max(np.abs(after - before)) <= 1e-5 * np.max(np.abs(before))
    # a lower rank: the bias (scale · bias) is unchanged, the delta truncated
    small, _ = resize(adapter, RankRule(rank=2), alpha=3.0)
    for name, m in small.modules.items():
        old = adapter.modules[name]
        np.testing.assert_allclose(m.scale() * m.bias.astype(np.float64),
                                   old.scale() * old.bias.astype(np.float64), rtol=1e-6)


def test_lora_bias_is_refused_by_name_where_it_is_not_handled(tmp_path):
    base, cls = _llama(tmp_path, bias=True)
    ad = _peft_adapter(tmp_path, base, cls, r=4, lora_alpha=8, lora_bias=True,
                       target_modules=["q_proj"])
    with pytest.raises(FileFormatError, match="lora_bias=True"):
        Adapter.load(ad)
    with pytest.raises(FileFormatError, match="lora_bias=True"):
        merge(base, ad, tmp_path / "merged")
    with pytest.raises(FileFormatError, match="lora_bias=True"):
        merge(base, Adapter.load(ad, lora_bias=True), tmp_path / "merged")
    an = analyse_adapter(ad)
    assert an.lora_biases == sorted(an.lora_biases) and len(an.lora_biases) == 2
    assert any("lora_B bias" in line for line in an.left_out())


# ----------------------------------------------------------------------------- #6


def test_resize_of_an_untrained_adapter_says_why_nothing_remains(tmp_path, run):
    base, cls = _llama(tmp_path)
    ad = _peft_adapter(tmp_path, base, cls, trained=False, r=4, lora_alpha=8,
                       target_modules=["q_proj"])
    with pytest.raises(EmptyInputError, match="untrained adapter"):
        resize(Adapter.load(ad), RankRule(rank=2))
    code, _, err = run("lora", "resize", ad, "-o", tmp_path / "out", "--rank", "2")
    line = last_error_line(code, err)
    assert "ΔW" in line and "untrained" in line and "'" + str(tmp_path / "out") not in line
    assert not (tmp_path / "out").exists()


def test_resize_notes_the_modules_it_leaves_out_at_rank_0(tmp_path, run):
    base, cls = _llama(tmp_path)
    ad = _peft_adapter(tmp_path, base, cls, trained=False, r=4, lora_alpha=8,
                       target_modules=["q_proj", "k_proj"])
    from safetensors.numpy import load_file, save_file

    t = load_file(ad / "adapter_model.safetensors")
    for k in t:
        if "q_proj.lora_B" in k:
            t[k] = np.random.default_rng(0).standard_normal(t[k].shape).astype(t[k].dtype)
    save_file(t, ad / "adapter_model.safetensors", metadata={"format": "pt"})
    code, out, err = run("lora", "resize", ad, "-o", tmp_path / "out", "--rank", "2")
    assert code == 0, err
    text = " ".join(out.split())
    assert "note: left out of the adapter (rank 0" in text
    assert "model.layers.0.self_attn.k_proj" in text and "model.layers.1.self_attn.k_proj" in text
    assert "q_proj," not in text.split("note:")[1].split(";")[0]


# ----------------------------------------------------------------------------- #7


def test_analyse_adapter_names_tensors_kept_whole_and_trainable_tokens(tmp_path, run):
    rng = np.random.default_rng(0)
    m = LoraModule("layers.0.q", "linear", A=rng.standard_normal((2, 6)),
                   B=rng.standard_normal((6, 2)), alpha=2.0)
    ad = Adapter({"layers.0.q": m}, saved={
        "lm_head.weight": np.ones((10, 6), np.float32),
        "embed_tokens.token_adapter.trainable_tokens_delta": np.ones((2, 6), np.float32),
    }, config={"trainable_token_indices": [1, 5]})
    an = analyse_adapter(ad)
    assert an.kept_whole == ["lm_head.weight"]
    assert an.token_rows == ["embed_tokens (2 rows)"]
    lines = an.left_out()
    assert any("kept whole" in ln and "lm_head.weight" in ln for ln in lines)
    assert any("trainable tokens" in ln and "embed_tokens (2 rows)" in ln for ln in lines)
    ad.save(tmp_path / "ad")
    code, out, err = run("lora", "analyse", tmp_path / "ad")
    assert code == 0, err
    text = " ".join(out.split())
    assert "lm_head.weight" in text and "embed_tokens (2 rows)" in text


# ----------------------------------------------------------------------------- #9


def test_resize_keeps_the_wider_factor_dtype_and_rounds_nothing_away():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 6)).astype(ml_dtypes.bfloat16)
    B = rng.standard_normal((8, 4)).astype(np.float32)
    new, rep = resize(Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=4.0)}),
                      RankRule(rank=4))
    m = new.modules["fc"]
    assert m.A.dtype == np.float32 and m.B.dtype == np.float32
    assert rep[0].relative_error < 1e-6


def test_resize_keeps_8_bit_float_factors(tmp_path):
    rng = np.random.default_rng(0)
    f8 = np.dtype(ml_dtypes.float8_e4m3fn)
    A = rng.standard_normal((4, 6)).astype(f8)
    B = rng.standard_normal((8, 4)).astype(f8)
    new, rep = resize(Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=4.0)}),
                      RankRule(rank=4))
    assert new.modules["fc"].A.dtype == f8 and new.modules["fc"].B.dtype == f8
    assert rep[0].relative_error < 0.2  # (E4M3's rounding, reported)
    back = Adapter.load(new.save(tmp_path / "ad"))
    assert back.modules["fc"].A.dtype == f8


def test_storage_dtype_holds_both_factors():
    from svdkit.lora.resize import storage_dtype

    bf16 = np.dtype(ml_dtypes.bfloat16)
    assert storage_dtype(bf16, np.float16) == np.float32
    assert storage_dtype(bf16, bf16) == bf16
    assert storage_dtype(np.float64, np.float32) == np.float64
