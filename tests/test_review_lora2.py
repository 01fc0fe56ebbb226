"""Review of ``svdkit.lora`` merge against PEFT: trainable tokens, and a model's prefix.

Each test builds a tiny transformers model, wraps it with ``peft.get_peft_model``,
gives the trainable parameters random values, saves the adapter and compares
svdkit's merged checkpoint with PEFT's own ``merge_and_unload()``.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from lora_support import peft_adapter, peft_load_and_merge

from svdkit.errors import MissingTensorError
from svdkit.lora import Adapter, Checkpoint, RankRule, resize, save_safetensors
from svdkit.lora.merge import merge


def _tiny_bert_config():
    from transformers import BertConfig

    return BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=48, max_position_embeddings=32)








def _max_diff(ck: Checkpoint, state: dict, prefix: str = "") -> float:
    """Largest difference between the checkpoint and ``state`` (keys ``prefix + name``)."""
    common = [n for n in ck.names if prefix + n in state]
    assert len(common) == len(ck.names), sorted(set(ck.names) - {c for c in common})
    return max(float(np.abs(ck.read(n) - state[prefix + n]).max()) for n in common)


def test_trainable_tokens_merge_replace_rows_as_peft_and_resize_keeps_them(tmp_path):
    # merge refused the adapter: "the adapter's saved tensor
    # '…word_embeddings.token_adapter.trainable_tokens_delta' is not in the base";
    # resize wrote modules_to_save ["embeddings.word_embeddings.token_adapter"]
    from transformers import BertModel

    torch.manual_seed(0)
    BertModel(_tiny_bert_config()).save_pretrained(str(tmp_path / "bert"))
    want = peft_adapter(BertModel, tmp_path / "bert", tmp_path / "ad", r=4, lora_alpha=8,
                         target_modules=["query"],
                         trainable_token_indices={"word_embeddings": [3, 5, 7]})
    merged = Checkpoint(merge(tmp_path / "bert", tmp_path / "ad", tmp_path / "merged"))
    assert _max_diff(merged, want) <= 1e-6
    base = Checkpoint(tmp_path / "bert").read("embeddings.word_embeddings.weight")
    emb = merged.read("embeddings.word_embeddings.weight")
    changed = np.flatnonzero(np.any(emb != base, axis=1)).tolist()
    assert changed == [3, 5, 7]  # those rows replaced, no others touched

    small, _ = resize(Adapter.load(tmp_path / "ad"), RankRule(rank=2))
    out = small.save(tmp_path / "resized")
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["modules_to_save"] is None
    assert config["trainable_token_indices"] == {"word_embeddings": [3, 5, 7]}
    got = peft_load_and_merge(BertModel, tmp_path / "bert", out)
    assert np.array_equal(got["embeddings.word_embeddings.weight"],
                          want["embeddings.word_embeddings.weight"])
    again = Checkpoint(merge(tmp_path / "bert", out, tmp_path / "merged2"))
    assert _max_diff(again, got) <= 1e-6


def test_trainable_tokens_of_a_tied_embedding_also_replace_a_stored_lm_head(tmp_path):
    # a list of indices (the input embedding) on a model whose lm_head is tied to it;
    # the base stores lm_head.weight as well: PEFT's merged head has the new rows too
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True)
    LlamaForCausalLM(cfg).save_pretrained(str(tmp_path / "llama"))
    ck = Checkpoint(tmp_path / "llama")
    tensors = {n: ck.tensor(n) for n in ck.names}
    tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"].copy()
    save_safetensors(tmp_path / "llama" / "model.safetensors", tensors, {"format": "pt"})

    want = peft_adapter(LlamaForCausalLM, tmp_path / "llama", tmp_path / "ad", r=4,
                         lora_alpha=8, target_modules=["q_proj"],
                         trainable_token_indices=[3, 5])
    merged = Checkpoint(merge(tmp_path / "llama", tmp_path / "ad", tmp_path / "merged"))
    assert "lm_head.weight" in merged
    assert _max_diff(merged, want) <= 1e-6
    assert np.array_equal(merged.read("lm_head.weight"), merged.read("model.embed_tokens.weight"))
    assert not np.array_equal(merged.read("lm_head.weight")[3], tensors["lm_head.weight"][3])


def _bert_pair(tmp_path):
    """A ``BertForSequenceClassification`` checkpoint (``bert.…``, ``classifier.…``) and its
    ``BertModel`` (``embeddings.…``, ``encoder.…``)."""
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    cls = BertForSequenceClassification(_tiny_bert_config())
    cls.save_pretrained(str(tmp_path / "cls"))
    cls.bert.save_pretrained(str(tmp_path / "bare"))
    assert "bert.encoder.layer.0.attention.self.query.weight" in Checkpoint(tmp_path / "cls")
    assert "encoder.layer.0.attention.self.query.weight" in Checkpoint(tmp_path / "bare")
    return tmp_path / "cls", tmp_path / "bare"


def test_adapter_of_a_task_model_merges_into_the_bare_model_and_back(tmp_path, caplog):
    # MissingTensorError: the adapter's module 'bert.encoder…query' has no
    # 'bert.encoder…query.weight' in the base
    from transformers import BertForSequenceClassification, BertModel

    cls_dir, bare_dir = _bert_pair(tmp_path)
    # an adapter trained on the task model, merged into the bare model: "bert." removed
    want = peft_adapter(BertForSequenceClassification, cls_dir, tmp_path / "ad_cls", r=4,
                         lora_alpha=8, target_modules=["query", "value"])
    with caplog.at_level(logging.WARNING, logger="svdkit.lora.merge"):
        merged = Checkpoint(merge(bare_dir, tmp_path / "ad_cls", tmp_path / "m1"))
    assert "'bert.' removed from" in caplog.text
    assert _max_diff(merged, want, prefix="bert.") <= 1e-6

    # an adapter trained on the bare model, merged into the task model: "bert." added
    caplog.clear()
    want = peft_adapter(BertModel, bare_dir, tmp_path / "ad_bare", r=4, lora_alpha=8,
                         target_modules=["query"],
                         trainable_token_indices={"word_embeddings": [1, 2]})
    with caplog.at_level(logging.WARNING, logger="svdkit.lora.merge"):
        merged = Checkpoint(merge(cls_dir, tmp_path / "ad_bare", tmp_path / "m2"))
    assert "'bert.' added to" in caplog.text
    want = {"bert." + k: v for k, v in want.items()}
    cls = Checkpoint(cls_dir)
    want["classifier.weight"] = cls.read("classifier.weight")
    want["classifier.bias"] = cls.read("classifier.bias")
    assert _max_diff(merged, want) <= 1e-6


def test_adapter_that_no_single_prefix_maps_is_still_refused(tmp_path):
    from transformers import BertForSequenceClassification

    cls_dir, bare_dir = _bert_pair(tmp_path)
    # the task model's classifier, saved with the adapter, has no place in the bare model
    peft_adapter(BertForSequenceClassification, cls_dir, tmp_path / "ad", r=4, lora_alpha=8,
                  target_modules=["query"], modules_to_save=["classifier"])
    with pytest.raises(MissingTensorError, match="classifier"):
        merge(bare_dir, tmp_path / "ad", tmp_path / "m")
    assert not (tmp_path / "m").exists()
