"""Review 11 of ``svdkit lora merge``: untying the head of a tied encoder-decoder (its
``encoder``/``decoder`` ``embed_tokens``), ``ensure_weight_tying`` with a kept head alone
or a LoRA of the embedding (PEFT's tied ``lm_head`` twin), quantised-base false
positives, the trainable-tokens hint, several token tables, PEFT's token-adapter copy
of a tied head, the ``--conv1d`` typo check's cost."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pytest

from svdkit.errors import FileFormatError, MissingTensorError, SvdkitError
from svdkit.lora import Adapter, Checkpoint, LoraModule, merge, save_safetensors
from svdkit.lora.modules import _refuse_unmatched
from tests.lora_support import write_tied_base

RNG = np.random.default_rng(11)
V, D = 10, 4
EPS32 = np.finfo(np.float32).eps


def _embedding_lora(name: str, alpha: float = 2.0) -> LoraModule:
    """A LoRA of an embedding: ``(B A)ᵀ`` with A ``[r, vocab]``, B ``[dim, r]``."""
    A = RNG.standard_normal((2, V)).astype(np.float32)
    B = RNG.standard_normal((D, 2)).astype(np.float32)
    return LoraModule(name, "embedding", A=A, B=B, alpha=alpha)


def _twin(m: LoraModule, name: str = "lm_head") -> LoraModule:
    """PEFT's tied head LoRA of the embedding LoRA ``m`` (``ensure_weight_tying``)."""
    return LoraModule(name, "linear", A=m.B.T.copy(), B=m.A.T.copy(), alpha=m.alpha)


def _bart_base(d, three_tables: bool = False):
    """A BART-like base as transformers 5 saves it: only ``model.shared.weight`` of the
    three tied tables (all three with ``three_tables``: older checkpoints)."""
    (d / "base").mkdir()
    E = RNG.standard_normal((V, D)).astype(np.float32)
    W = RNG.standard_normal((D, D)).astype(np.float32)
    tensors = {"model.shared.weight": E,
               "model.encoder.layers.0.self_attn.q_proj.weight": W,
               "model.encoder.embed_positions.weight": RNG.standard_normal((V + 2, D))
               .astype(np.float32)}
    if three_tables:
        tensors["model.encoder.embed_tokens.weight"] = E.copy()
        tensors["model.decoder.embed_tokens.weight"] = E.copy()
    save_safetensors(d / "base/model.safetensors", tensors)
    (d / "base/config.json").write_text(json.dumps({
        "model_type": "bart", "architectures": ["BartForConditionalGeneration"],
        "is_encoder_decoder": True, "tie_word_embeddings": True, "vocab_size": V,
        "d_model": D,
    }))
    return d / "base", E


# ------------------------------------------- 1. a kept head of a tied encoder-decoder
@pytest.mark.parametrize("three_tables", [False, True])
def test_kept_head_of_tied_bart_writes_the_embeddings_it_unties(tmp_path, three_tables):
    base, E = _bart_base(tmp_path, three_tables)
    H = (E - 0.25).astype(np.float32)
    out = merge(base, Adapter({}, saved={"lm_head.weight": H}), tmp_path / "out")
    ck = Checkpoint(out)
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is False
    assert np.array_equal(ck.read("lm_head.weight"), H)
    # the flag unties encoder/decoder embed_tokens from shared too: stored as its values
    for name in ("model.shared.weight", "model.encoder.embed_tokens.weight",
                 "model.decoder.embed_tokens.weight"):
        assert np.array_equal(ck.read(name), E), name
    assert len(ck.names) == len(Checkpoint(base).names) + 1 + (0 if three_tables else 2)


def test_lora_of_shared_with_kept_head_writes_the_merged_table_to_its_partners(tmp_path):
    base, E = _bart_base(tmp_path)
    m = _embedding_lora("model.shared")
    H = (E + 1.0).astype(np.float32)
    out = merge(base, Adapter({m.name: m}, saved={"lm_head.weight": H}), tmp_path / "out")
    ck = Checkpoint(out)
    want = E.astype(np.float64) + m.scale() * (m.B.astype(np.float64) @ m.A).T
    shared = ck.read("model.shared.weight")
    assert np.max(np.abs(shared - want)) <= 4 * EPS32 * np.max(np.abs(want))
    for part in ("encoder", "decoder"):
        assert np.array_equal(ck.read(f"model.{part}.embed_tokens.weight"), shared)
    assert np.array_equal(ck.read("lm_head.weight"), H)


def test_kept_head_of_encoder_decoder_with_unknown_tie_is_refused(tmp_path):
    (tmp_path / "base").mkdir()
    E = RNG.standard_normal((V, D)).astype(np.float32)
    save_safetensors(tmp_path / "base/model.safetensors", {"model.embed_tokens.weight": E})
    (tmp_path / "base/config.json").write_text(json.dumps({
        "model_type": "other", "is_encoder_decoder": True, "tie_word_embeddings": True,
        "vocab_size": V}))
    with pytest.raises(FileFormatError, match=r"encoder-decoder.*'model\.embed_tokens\.weight'"):
        merge(tmp_path / "base", Adapter({}, saved={"lm_head.weight": E + 1}), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --------------------------- 3. ensure_weight_tying with a kept head alone: never dropped
def test_tying_kept_head_alone_is_written_into_the_shared_table(tmp_path, caplog):
    base, E, W = write_tied_base(tmp_path, RNG, V, D)
    H = (E - 0.5).astype(np.float32)
    ad = Adapter({}, saved={"lm_head.weight": H},
                 config={"ensure_weight_tying": True, "modules_to_save": ["lm_head"]})
    with caplog.at_level(logging.WARNING):
        out = merge(base, ad, tmp_path / "out")
    ck = Checkpoint(out)
    assert "lm_head.weight" not in ck
    assert np.array_equal(ck.read("model.embed_tokens.weight"), H)
    assert np.array_equal(ck.read("model.layers.0.q_proj.weight"), W)
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is True
    assert "ensure_weight_tying" in caplog.text


def test_tying_kept_head_and_table_that_differ_are_refused(tmp_path):
    base, E, _ = write_tied_base(tmp_path, RNG, V, D)
    ad = Adapter({}, saved={"lm_head.weight": E + 1, "model.embed_tokens.weight": E + 2},
                 config={"ensure_weight_tying": True})
    with pytest.raises(SvdkitError, match=r"ensure_weight_tying.*differ"):
        merge(base, ad, tmp_path / "out")


def test_tying_kept_head_and_equal_table_merge_once(tmp_path):
    base, E, _ = write_tied_base(tmp_path, RNG, V, D)
    T = (E + 2).astype(np.float32)
    ad = Adapter({}, saved={"lm_head.weight": T.copy(), "model.embed_tokens.weight": T},
                 config={"ensure_weight_tying": True})
    ck = Checkpoint(merge(base, ad, tmp_path / "out"))
    assert "lm_head.weight" not in ck and np.array_equal(ck.read("model.embed_tokens.weight"), T)


# -------------------- 2. ensure_weight_tying with a LoRA of the embedding: the head's twin
@pytest.mark.parametrize("through_files", [False, True])
def test_tying_lora_twin_of_head_is_merged_once(tmp_path, caplog, through_files):
    base, E, _ = write_tied_base(tmp_path, RNG, V, D)
    m = _embedding_lora("model.embed_tokens")
    ad = Adapter({m.name: m, "lm_head": _twin(m)}, config={"ensure_weight_tying": True})
    if through_files:
        ad.save(tmp_path / "ad")
        ad = Adapter.load(tmp_path / "ad")
    with caplog.at_level(logging.WARNING):
        out = merge(base, ad, tmp_path / "out")
    ck = Checkpoint(out)
    want = E.astype(np.float64) + m.scale() * (m.B.astype(np.float64) @ m.A).T
    got = ck.read("model.embed_tokens.weight")
    assert np.max(np.abs(got - want)) <= 4 * EPS32 * np.max(np.abs(want))  # once, not twice
    assert "lm_head.weight" not in ck
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is True
    assert "twin" in caplog.text


def test_tying_lora_head_that_is_no_twin_is_still_refused(tmp_path):
    base, _, _ = write_tied_base(tmp_path, RNG, V, D)
    m = _embedding_lora("model.embed_tokens")
    other = _twin(m)
    other = LoraModule("lm_head", "linear", A=other.A, B=other.B + 1, alpha=other.alpha)
    ad = Adapter({m.name: m, "lm_head": other}, config={"ensure_weight_tying": True})
    with pytest.raises(MissingTensorError, match=r"'lm_head'.*ties its output head"):
        merge(base, ad, tmp_path / "out")


# ----------------------------------------------------- 6. quantised-base false positives
def test_float_weight_with_a_weight_scale_parameter_is_not_quantised(tmp_path):
    (tmp_path / "base").mkdir()
    W = RNG.standard_normal((D, D)).astype(np.float32)
    save_safetensors(tmp_path / "base/model.safetensors", {
        "fc.weight": W, "norm.weight": np.ones(D, np.float32),
        "norm.weight_scale": np.ones(1, np.float32)})
    kept = (np.arange(D) + 2.0).astype(np.float32)
    ck = Checkpoint(merge(tmp_path / "base", Adapter({}, saved={"norm.weight": kept}),
                          tmp_path / "out"))
    assert np.array_equal(ck.read("norm.weight"), kept)


def test_module_the_quantization_config_skips_is_merged(tmp_path):
    (tmp_path / "base").mkdir()
    W = RNG.standard_normal((D, D)).astype(np.float32)
    save_safetensors(tmp_path / "base/model.safetensors", {
        "fc.weight": np.zeros((D, D), np.int8), "fc.SCB": np.ones(D, np.float32),
        "lm_head.weight": W})
    (tmp_path / "base/config.json").write_text(json.dumps({"quantization_config": {
        "quant_method": "bitsandbytes", "llm_int8_skip_modules": ["lm_head"]}}))
    ck = Checkpoint(merge(tmp_path / "base", Adapter({}, saved={"lm_head.weight": W + 1}),
                          tmp_path / "out"))
    assert np.array_equal(ck.read("lm_head.weight"), W + 1)
    # the converted module is still refused, with the adding wording
    lora = LoraModule("fc", "linear", A=np.ones((1, D)), B=np.ones((D, 1)), alpha=1)
    with pytest.raises(FileFormatError, match=r"module 'fc'.*quantization_config.*adding"):
        merge(tmp_path / "base", Adapter({"fc": lora}), tmp_path / "out2")


def test_kept_quantised_module_message_says_replacing_not_adding(tmp_path):
    (tmp_path / "base").mkdir()
    save_safetensors(tmp_path / "base/model.safetensors", {
        "fc.weight": np.zeros((D, D), np.int8), "fc.weight_scale": np.ones(1, np.float32)})
    ad = Adapter({}, saved={"fc.weight": np.ones((D, D), np.int8)})
    with pytest.raises(FileFormatError, match=r"module 'fc'.*quantised.*in place of") as err:
        merge(tmp_path / "base", ad, tmp_path / "out")
    assert "scale·B·A" not in str(err.value)


# ------------------------------------------------------- 5. several same-shape tables
def test_several_token_tables_kept_head_ambiguity_is_named(tmp_path):
    (tmp_path / "base").mkdir()
    E = RNG.standard_normal((V, D)).astype(np.float32)
    save_safetensors(tmp_path / "base/model.safetensors", {
        "a.embed_tokens.weight": E, "b.embed_tokens.weight": E.copy()})
    (tmp_path / "base/config.json").write_text(json.dumps({
        "tie_word_embeddings": True, "vocab_size": V}))
    with pytest.raises(MissingTensorError, match=r"several token tables.*'a\.embed_tokens\.weight'"
                       r".*'b\.embed_tokens\.weight'.*cannot be told"):
        merge(tmp_path / "base", Adapter({}, saved={"lm_head.weight": E}), tmp_path / "out")


# ------------------------- 7. PEFT's token-adapter copy of a tied head: named by its key
def test_token_adapter_copy_of_tied_head_is_named_by_its_file_key(tmp_path):
    base, E, _ = write_tied_base(tmp_path, RNG, V, D)
    rows = RNG.standard_normal((2, D)).astype(np.float32)
    saved = {"model.embed_tokens.token_adapter.trainable_tokens_delta": rows,
             "lm_head.token_adapter.weight": (E + 1).astype(np.float32)}
    config = {"trainable_token_indices": {"embed_tokens": [1, 3]}}
    (tmp_path / "ad").mkdir()  # as PEFT 0.21 saves it
    pre = "base_model.model."
    save_safetensors(tmp_path / "ad/adapter_model.safetensors", {
        pre + "model.embed_tokens.token_adapter.trainable_tokens_delta": rows,
        pre + "lm_head.token_adapter.base_layer.weight": saved["lm_head.token_adapter.weight"],
        pre + "model.layers.0.q_proj.lora_A.weight": np.zeros((1, D), np.float32),
        pre + "model.layers.0.q_proj.lora_B.weight": np.zeros((D, 1), np.float32)})
    (tmp_path / "ad/adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "r": 1, "lora_alpha": 1, "target_modules": ["q_proj"],
        "modules_to_save": ["lm_head"], **config}))
    with pytest.raises(MissingTensorError,
                       match=r"'base_model\.model\.lm_head\.token_adapter\.base_layer\.weight'"):
        merge(base, tmp_path / "ad", tmp_path / "out")
    # a copy equal to the tied table is PEFT's copy of the base: the tokens are merged
    saved["lm_head.token_adapter.weight"] = E.copy()
    ck = Checkpoint(merge(base, Adapter({}, saved=saved, config=config), tmp_path / "out"))
    want = E.copy()
    want[[1, 3]] = rows
    assert np.array_equal(ck.read("model.embed_tokens.weight"), want)
    assert "lm_head.weight" not in ck


# ---------------------------------------------------------- 9. the typo check is linear
def test_refuse_unmatched_is_not_quadratic():
    def cost(n: int) -> float:
        modules = [f"h.{i}.attn.c_attn" for i in range(n)]
        t = time.perf_counter()
        _refuse_unmatched(["c_attn"], modules, modules + [f"h.{i}.mlp.c_fc" for i in range(n)])
        return time.perf_counter() - t

    cost(100)
    assert cost(6000) < 0.3  # (quadratic, a set of the modules per base module: about 2 s)
