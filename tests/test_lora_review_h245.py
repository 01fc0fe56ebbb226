"""Review of cd19464: tied heads, PiSSA's head target, analyse's kept tensors, resize's
config and the lora_bias message.

* A stored head is untied only where the base's config ties it (as
  :func:`~svdkit.lora.modules.ties_word_embeddings` decides: a config without the key,
  beside a stored head, does not) and the adapter changes the head or its table.
* ``pissa --target lm_head`` on a tied base without a stored head says it is tied.
* analyse leaves out PEFT's copy of an embedding's base table saved with its LoRA.
* ``Adapter.load`` of a ``lora_bias`` adapter says how to read it (Python and CLI).
* resize keeps ``layers_to_transform``, ``layers_pattern`` and ``peft_version``.
* T5's tie also scales its decoder's output: an untie of a base without a stored head
  is refused, as with one.

(The stored/not-stored head rule for an embedding LoRA is
``test_merge_of_an_embedding_lora_keeps_the_stored_head_tied`` in
``test_lora_merge_pissa_h231.py``.)
"""

from __future__ import annotations

import json
import logging
import warnings

import lora_support
import numpy as np
import pytest
import torch

from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lora import Adapter, Checkpoint, LoraModule, RankRule, analyse_adapter, merge, pissa
from svdkit.lora.resize import resize
from svdkit.lora.safetensors_io import save_safetensors

V, D = 64, 32
IDS = torch.tensor([[1, 5, 9, 17, 33, 60, 2, 40]])


def _llama(path, tie, store_head=False, drop_key=False, stale_head=False):
    """:func:`lora_support.tiny_llama` of this module's sizes."""
    return lora_support.tiny_llama(path, V, D, tie=tie, store_head=store_head,
                                   drop_key=drop_key, stale_head=stale_head)


def _load(path):
    from transformers import LlamaForCausalLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LlamaForCausalLM.from_pretrained(str(path)).eval()


def _logits(model) -> np.ndarray:
    with torch.no_grad():
        return model(IDS).logits.float().numpy()


def _peft(tmp_path, base, name="ad", **kwargs):
    """A PEFT LoRA of ``base`` with random (trained) factors, saved to ``tmp_path/name``."""
    from peft import LoraConfig, get_peft_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = get_peft_model(_load(base), LoraConfig(init_lora_weights=False, **kwargs))
        pm.save_pretrained(str(tmp_path / name))
    return tmp_path / name


def _merged_by_peft(base, adapter):
    from peft import PeftModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PeftModel.from_pretrained(_load(base), str(adapter)).merge_and_unload().eval()


# --------------------------------------------------------------- #2 untied, untouched


def test_merge_of_an_untied_base_without_the_key_leaves_its_config(tmp_path, caplog):
    """An untied Llama whose config leaves the key out (its default, untied) and stores
    its own head: a LoRA of q_proj gives no tie note and no rewritten config."""
    base = _llama(tmp_path / "base", tie=False, drop_key=True)
    assert "lm_head.weight" in Checkpoint(base)
    ad = _peft(tmp_path, base, r=2, target_modules=["q_proj"])
    with caplog.at_level(logging.WARNING):
        out = merge(base, ad, tmp_path / "merged")
    assert "tie" not in caplog.text
    assert "tie_word_embeddings" not in json.loads((out / "config.json").read_text())
    np.testing.assert_allclose(_logits(_load(out)), _logits(_merged_by_peft(base, ad)),
                               rtol=0, atol=2e-5)


def test_merge_that_touches_neither_head_nor_table_keeps_a_tied_config(tmp_path, caplog):
    """A tied-flag base whose stored head differs from its table (stale): an adapter of
    q_proj changes neither, so the config stays as the base's, with no note."""
    base = _llama(tmp_path / "base", tie=True, store_head=True, stale_head=True)
    name = "model.layers.0.self_attn.q_proj"
    rng = np.random.default_rng(0)
    ad = Adapter({name: LoraModule(name, "linear", A=rng.standard_normal((2, D)),
                                   B=rng.standard_normal((D, 2)), alpha=2.0)})
    with caplog.at_level(logging.WARNING):
        out = merge(base, ad, tmp_path / "merged")
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is True
    assert "tie" not in caplog.text


# ------------------------------------------------------------- #3 pissa of a tied head


def test_pissa_of_a_tied_head_without_a_stored_one_says_it_is_tied(tmp_path):
    base = _llama(tmp_path / "base", tie=True)
    assert "lm_head.weight" not in Checkpoint(base)
    with pytest.raises(SvdkitError, match="ties to its input embedding table") as err:
        pissa(base, tmp_path / "ad", tmp_path / "res", RankRule(rank=2),
              targets=["q_proj", "lm_head"])
    assert "matches no module" not in str(err.value)
    assert not (tmp_path / "ad").exists() and not (tmp_path / "res").exists()


# ------------------------------------------------------ #4 analyse: PEFT's table copy


def test_analyse_leaves_out_the_base_table_saved_with_an_embedding_lora(tmp_path):
    base = _llama(tmp_path / "base", tie=False)
    ad = _peft(tmp_path, base, r=2, target_modules=["embed_tokens", "q_proj"],
               modules_to_save=["lm_head"])
    loaded = Adapter.load(ad)
    assert "model.embed_tokens.weight" in loaded.saved  # (PEFT's base_layer copy)
    an = analyse_adapter(ad)
    assert an.kept_whole == ["lm_head.weight"]
    assert not any("embed_tokens.weight" in line for line in an.left_out())


# ------------------------------------------------------------ #5 lora_bias message


def test_lora_bias_refusal_names_the_python_flag_and_the_cli(tmp_path):
    rng = np.random.default_rng(3)
    Adapter({"fc": LoraModule("fc", "linear", A=rng.standard_normal((2, 6)),
                              B=rng.standard_normal((4, 2)), alpha=2.0,
                              bias=rng.standard_normal(4))}).save(tmp_path / "ad")
    with pytest.raises(FileFormatError) as err:
        resize(Adapter.load(tmp_path / "ad"), RankRule(rank=1))
    message = str(err.value)
    assert "Adapter.load(directory, lora_bias=True)" in message
    assert "svdkit lora resize" in message
    assert "merge_and_unload" in message


# ------------------------------------------------------------- #6 resize's config


def test_resize_keeps_layers_to_transform_and_peft_version(tmp_path):
    base = _llama(tmp_path / "base", tie=False)
    ad = _peft(tmp_path, base, r=4, target_modules=["q_proj", "v_proj"],
               layers_to_transform=[1], layers_pattern="layers")
    before = json.loads((ad / "adapter_config.json").read_text())
    small, _ = resize(Adapter.load(ad), RankRule(rank=4))
    small.save(tmp_path / "small")
    after = json.loads((tmp_path / "small" / "adapter_config.json").read_text())
    for key in ("layers_to_transform", "layers_pattern", "peft_version"):
        assert after[key] == before[key], key
    from peft import PeftModel

    def peft_logits(adapter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm = PeftModel.from_pretrained(_load(base), str(adapter)).eval()
        layers = {n.split(".layers.")[1].split(".")[0]
                  for n, _ in pm.named_parameters() if "lora_A" in n}
        return _logits(pm), layers

    want, layers = peft_logits(ad)
    got, new_layers = peft_logits(tmp_path / "small")
    assert layers == new_layers == {"1"}
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5)


# -------------------------------------------------- #7 T5 without a stored head


def _t5_like(path, store_head):
    rng = np.random.default_rng(7)
    path.mkdir()
    E = rng.standard_normal((V, D)).astype(np.float32)
    tensors = {"shared.weight": E, "decoder.block.0.layer.0.SelfAttention.q.weight":
               rng.standard_normal((D, D)).astype(np.float32)}
    if store_head:
        tensors["lm_head.weight"] = E.copy()
    save_safetensors(path / "model.safetensors", tensors)
    (path / "config.json").write_text(json.dumps(
        {"model_type": "t5", "tie_word_embeddings": True, "vocab_size": V,
         "is_encoder_decoder": True, "architectures": ["T5ForConditionalGeneration"]}))
    return path


def test_t5_untie_without_a_stored_head_is_refused(tmp_path):
    """A kept ``lm_head`` of a T5 that stores no head would be written untied, which also
    turns off T5's output scaling: refused, nothing written."""
    base = _t5_like(tmp_path / "base", store_head=False)
    rng = np.random.default_rng(8)
    head = Adapter({"decoder.block.0.layer.0.SelfAttention.q": LoraModule(
        "decoder.block.0.layer.0.SelfAttention.q", "linear", A=rng.standard_normal((2, D)),
        B=rng.standard_normal((D, 2)), alpha=2.0)},
        saved={"lm_head.weight": rng.standard_normal((V, D)).astype(np.float32)})
    with pytest.raises(SvdkitError, match="d_model"):
        merge(base, head, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


@pytest.mark.parametrize("store_head", [True, False])
def test_t5_lora_of_the_shared_table_keeps_the_tie(tmp_path, store_head):
    """A LoRA of ``shared`` changes the one tensor: no untie, so no refusal, stored head
    or not; a stored head is written as the merged table."""
    base = _t5_like(tmp_path / "base", store_head)
    rng = np.random.default_rng(9)
    ad = Adapter({"shared": LoraModule("shared", "embedding", A=rng.standard_normal((2, V)),
                                       B=rng.standard_normal((D, 2)), alpha=2.0)})
    out = merge(base, ad, tmp_path / "merged")
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is True
    ck = Checkpoint(out)
    table = ck.read("shared.weight")
    assert not np.array_equal(table, Checkpoint(base).read("shared.weight"))
    if store_head:
        assert np.array_equal(ck.read("lm_head.weight"), table)
    else:
        assert "lm_head.weight" not in ck
