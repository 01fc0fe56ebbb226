"""Review of ``svdkit.lora`` against adapters written by PEFT itself.

Each test builds a tiny transformers model, wraps it with ``peft.get_peft_model``,
gives the LoRA factors (and whatever else PEFT trains) random values, saves the
adapter with ``save_pretrained`` and compares svdkit's merge / resize with PEFT's
own ``merge_and_unload``.
"""

from __future__ import annotations

import json

import ml_dtypes
import numpy as np
import pytest
import torch
from lora_support import peft_adapter, peft_load_and_merge

from svdkit.lora import Adapter, Checkpoint, LoraModule, RankRule, resize
from svdkit.lora.merge import merge


def _max_diff(ck: Checkpoint, state: dict) -> float:
    return max(float(np.abs(ck.read(n) - state[n]).max()) for n in ck.names if n in state)


def test_peft_adapter_on_embed_tokens_and_lm_head_merges_and_resizes(tmp_path):
    # PEFT saves the base weight of a LoRA'd embed_tokens / lm_head with the adapter
    # ("…base_layer.weight"): merge refused it ("saved tensor … is not in the base")
    # and resize wrote modules_to_save ["lm_head.base_layer", …]
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=False)
    LlamaForCausalLM(cfg).save_pretrained(str(tmp_path / "llama"))
    want = peft_adapter(LlamaForCausalLM, tmp_path / "llama", tmp_path / "ad", r=4, lora_alpha=8,
                         target_modules=["embed_tokens", "q_proj", "lm_head"])
    names = Checkpoint(tmp_path / "ad" / "adapter_model.safetensors").names
    assert "base_model.model.lm_head.base_layer.weight" in names

    merged = Checkpoint(merge(tmp_path / "llama", tmp_path / "ad", tmp_path / "merged"))
    assert _max_diff(merged, want) <= 1e-6

    small, _ = resize(Adapter.load(tmp_path / "ad"), RankRule(rank=4))
    out = small.save(tmp_path / "resized")
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["modules_to_save"] is None
    assert "base_model.model.model.embed_tokens.base_layer.weight" in Checkpoint(
        out / "adapter_model.safetensors").names
    got = peft_load_and_merge(LlamaForCausalLM, tmp_path / "llama", out)
    assert max(float(np.abs(got[k] - want[k]).max()) for k in want) <= 1e-6


def test_peft_bias_all_adapter_resizes_to_an_adapter_peft_loads(tmp_path):
    # bias="all" saves every bias of the model: resize took each bias's module for
    # modules_to_save (LayerNorms without their weight) and PEFT's load died (KeyError)
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=48, max_position_embeddings=32)
    BertModel(cfg).save_pretrained(str(tmp_path / "bert"))
    want = peft_adapter(BertModel, tmp_path / "bert", tmp_path / "ad", r=4, lora_alpha=8,
                         target_modules=["query"], bias="all")
    merged = Checkpoint(merge(tmp_path / "bert", tmp_path / "ad", tmp_path / "merged"))
    assert _max_diff(merged, want) <= 1e-6

    small, _ = resize(Adapter.load(tmp_path / "ad"), RankRule(rank=4))
    out = small.save(tmp_path / "resized")
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["bias"] == "all" and config["modules_to_save"] is None
    got = peft_load_and_merge(BertModel, tmp_path / "bert", out)
    assert max(float(np.abs(got[k] - want[k]).max()) for k in want) <= 1e-6


def test_resize_keeps_the_dtype_of_a_half_precision_adapter(tmp_path):
    # a bf16 (or fp16) adapter came back from resize as float32, twice the file
    rng = np.random.default_rng(0)
    for dtype, code in ((ml_dtypes.bfloat16, "BF16"), (np.float16, "F16")):
        m = LoraModule("fc", "linear", A=rng.standard_normal((6, 20)).astype(dtype),
                       B=rng.standard_normal((30, 6)).astype(dtype), alpha=12.0)
        small, _ = resize(Adapter({"fc": m}), RankRule(rank=3))
        assert small.modules["fc"].A.dtype == np.dtype(dtype)
        assert small.modules["fc"].B.dtype == np.dtype(dtype)
        out = small.save(tmp_path / code)
        ck = Checkpoint(out / "adapter_model.safetensors")
        assert {ck.dtype(n) for n in ck.names} == {code}
        U, s, Vh = np.linalg.svd(m.delta())
        best = (U[:, :3] * s[:3]) @ Vh[:3]
        eps = float(ml_dtypes.finfo(dtype).eps)
        assert np.abs(Adapter.load(out).modules["fc"].delta() - best).max() <= 8 * eps * s[0]


def test_extract_reports_the_error_of_the_factors_as_stored(tmp_path):
    # with half-precision factors the report gave the float32 SVD's error (3e-8 on an
    # exactly rank-4 delta) while the stored bf16 adapter was 2e-3 off
    from svdkit.lora import extract, save_safetensors

    rng = np.random.default_rng(0)
    W = rng.standard_normal((64, 48)).astype(np.float32)
    D = (rng.standard_normal((64, 4)) @ rng.standard_normal((4, 48))).astype(np.float32)
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": W})
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": W + D})
    true = (W + D).astype(np.float64) - W
    for dtype in (ml_dtypes.bfloat16, np.float16):
        ex = extract(tmp_path / "b.safetensors", tmp_path / "t.safetensors", RankRule(rank=4),
                     dtype=dtype)
        m = ex.adapter.modules["fc"]
        assert m.A.dtype == np.dtype(dtype) and m.B.dtype == np.dtype(dtype)
        actual = np.linalg.norm(m.delta() - true) / np.linalg.norm(true)
        assert actual > 1e-4
        assert ex.report.modules[0].relative_error == pytest.approx(actual, rel=1e-4)


def test_target_parameters_adapter_is_refused(tmp_path):
    # PEFT's LoRA on raw parameters (MoE experts) was read as a module's LoRA: merge
    # failed on a missing tensor, resize wrote target_modules PEFT would apply elsewhere
    from svdkit.errors import FileFormatError

    rng = np.random.default_rng(0)
    lm = LoraModule("mlp.experts", "linear", A=rng.standard_normal((2, 6)).astype(np.float32),
                    B=rng.standard_normal((4, 2)).astype(np.float32), alpha=2.0)  # fmt: skip
    ad = Adapter(modules={lm.name: lm})
    out = ad.save(tmp_path / "ad")
    Adapter.load(out)  # a plain adapter loads
    cfg = json.loads((out / "adapter_config.json").read_text())
    cfg["target_parameters"] = ["mlp.experts.gate_up_proj"]
    (out / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(FileFormatError, match="target_parameters"):
        Adapter.load(out)
