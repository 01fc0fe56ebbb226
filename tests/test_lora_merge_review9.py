"""Review 9 of ``svdkit lora merge``: the head of a tied base (a LoRA of the embedding
saved with its base table, a kept ``lm_head``), the tie note, ``--conv1d`` names of the
base, the resized-vocabulary hint, the index's ``total_parameters``, a non-UTF-8
adapter config."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from svdkit.errors import FileFormatError, MissingTensorError, ShapeError, SvdkitError
from svdkit.lora import Adapter, Checkpoint, LoraModule, merge, save_safetensors
from tests.cli_support import error_line, run_svdkit
from tests.lora_support import write_tied_base

RNG = np.random.default_rng(9)
V, D = 10, 4
EPS32 = np.finfo(np.float32).eps


def _lora(name: str, out: int, inn: int, kind: str = "linear", alpha: float = 2.0) -> LoraModule:
    if kind == "embedding":  # (B A)ᵀ: A [r, vocab], B [dim, r]
        A = RNG.standard_normal((2, out)).astype(np.float32)
        B = RNG.standard_normal((inn, 2)).astype(np.float32)
    else:
        A = RNG.standard_normal((2, inn)).astype(np.float32)
        B = RNG.standard_normal((out, 2)).astype(np.float32)
    return LoraModule(name, kind, A=A, B=B, alpha=alpha)


def _expected(W: np.ndarray, m: LoraModule) -> np.ndarray:
    """``W + s·B A`` in float64 (``(B A)ᵀ`` for an embedding)."""
    d = m.scale() * (m.B.astype(np.float64) @ m.A.astype(np.float64))
    return W.astype(np.float64) + (d.T if m.transposed else d)


def _close(got: np.ndarray, want: np.ndarray) -> bool:
    return float(np.max(np.abs(got.astype(np.float64) - want))) <= 4 * EPS32 * float(
        np.max(np.abs(want)))


def _tied_base(d, sharded: bool = False, parameters: bool = False):
    return write_tied_base(d, RNG, V, D, sharded, parameters)


# ------------------------------ 1. a LoRA of the tied embedding, its base table saved too
@pytest.mark.parametrize("through_files", [False, True])
def test_lora_of_tied_embedding_with_saved_base_layer_is_merged_into_the_shared_table(
        tmp_path, caplog, through_files):
    base, E, _ = _tied_base(tmp_path)
    m = _lora("model.embed_tokens", V, D, kind="embedding")
    # PEFT's save_embedding_layers: the table is saved as 'base_layer.weight'
    ad = Adapter({m.name: m}, saved={"model.embed_tokens.weight": E.copy()})
    if through_files:
        ad.save(tmp_path / "ad")
        ad = Adapter.load(tmp_path / "ad")
        assert "model.embed_tokens" in ad.modules and "model.embed_tokens.weight" in ad.saved
    bare = Adapter({m.name: m})
    with caplog.at_level(logging.WARNING):
        out = merge(base, ad, tmp_path / "out")
        out_bare = merge(base, bare, tmp_path / "out_bare")
    want = _expected(E, m)
    for o in (out, out_bare):
        ck = Checkpoint(o)
        assert "lm_head.weight" not in ck  # the head is the shared, merged table
        assert _close(ck.read("model.embed_tokens.weight"), want)
        assert json.loads((o / "config.json").read_text())["tie_word_embeddings"] is True
    # the same model either way
    assert np.array_equal(Checkpoint(out).read("model.embed_tokens.weight"),
                          Checkpoint(out_bare).read("model.embed_tokens.weight"))
    assert "keeps whole" not in caplog.text and "merge_and_unload" in caplog.text


# ------------------------------------------------- 2. a kept lm_head of a tied base
@pytest.mark.parametrize("keep_embedding", [False, True])
@pytest.mark.parametrize("sharded", [False, True])
def test_kept_head_of_tied_base_is_written_as_its_own_tensor(
        tmp_path, caplog, keep_embedding, sharded):
    base, E, W = _tied_base(tmp_path, sharded, parameters=True)
    H = (E - 0.25).astype(np.float32)
    E2 = (E + 0.5).astype(np.float32)
    m = _lora("model.layers.0.q_proj", D, D)
    saved = {"lm_head.weight": H}
    if keep_embedding:
        saved["model.embed_tokens.weight"] = E2
    with caplog.at_level(logging.WARNING):
        out = merge(base, Adapter({m.name: m}, saved=saved), tmp_path / "out")
    ck = Checkpoint(out)
    assert np.array_equal(ck.read("lm_head.weight"), H)
    assert np.array_equal(ck.read("model.embed_tokens.weight"), E2 if keep_embedding else E)
    assert _close(ck.read("model.layers.0.q_proj.weight"), _expected(W, m))
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is False
    if sharded:  # 6. the index lists it, in bytes and in parameters
        index = json.loads((out / "model.safetensors.index.json").read_text())
        assert index["weight_map"]["lm_head.weight"] == "model-00001-of-00002.safetensors"
        assert set(index["weight_map"]) == set(ck.names)
        assert index["metadata"]["total_size"] == 2 * E.nbytes + W.nbytes
        assert index["metadata"]["total_parameters"] == 2 * E.size + W.size
    assert "keeps the head whole" in caplog.text and "tie_word_embeddings: false" in caplog.text


def test_kept_head_of_tied_base_resized_gets_the_hint(tmp_path):
    base, _, _ = _tied_base(tmp_path)
    ad = Adapter({}, saved={"lm_head.weight": np.ones((V + 2, D), np.float32)})
    with pytest.raises(ShapeError, match=rf"vocab {V} → {V + 2}.*resize the base first"):
        merge(base, ad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_kept_head_of_width_no_table_has_names_the_tie(tmp_path):
    base, _, _ = _tied_base(tmp_path)
    ad = Adapter({}, saved={"lm_head.weight": np.ones((V, D + 1), np.float32)})
    with pytest.raises(MissingTensorError, match=r"ties its output head"):
        merge(base, ad, tmp_path / "out")


# ------------------------------------------------------------- 3. the tie note
def test_tie_note_for_a_file_base_says_no_config_is_written(tmp_path, caplog):
    base, E, _ = _tied_base(tmp_path)
    ad = Adapter({}, saved={"model.embed_tokens.weight": (E + 0.5).astype(np.float32)})
    with caplog.at_level(logging.WARNING):
        out = merge(base / "model.safetensors", ad, tmp_path / "out")
    assert not (out / "config.json").exists()
    assert np.array_equal(Checkpoint(out).read("lm_head.weight"), E)
    assert "copied config.json" not in caplog.text
    assert "no config.json is written" in caplog.text
    assert "ties the head to the new table again" not in caplog.text


# --------------------------------------------------------------- 4. --conv1d names
def _gpt2_case(d):
    save_safetensors(d / "base.safetensors", {
        "h.0.attn.c_attn.weight": RNG.standard_normal((4, 12)).astype(np.float32),
        "h.0.attn.c_proj.weight": RNG.standard_normal((4, 4)).astype(np.float32),
        "h.0.mlp.c_fc.weight": RNG.standard_normal((4, 16)).astype(np.float32),
    })
    m = _lora("h.0.attn.c_attn", 12, 4)
    return Adapter({m.name: m}, config={"fan_in_fan_out": True}), m


def test_conv1d_names_of_the_base_the_adapter_does_not_target_are_accepted(tmp_path):
    ad, m = _gpt2_case(tmp_path)
    out = merge(tmp_path / "base.safetensors", ad, tmp_path / "out.safetensors",
                fan_in_fan_out=["c_attn", "c_proj", "c_fc"])
    W = Checkpoint(tmp_path / "base.safetensors").read("h.0.attn.c_attn.weight")
    d = m.scale() * (m.B.astype(np.float64) @ m.A.astype(np.float64))
    assert _close(Checkpoint(out).read("h.0.attn.c_attn.weight"), W.astype(np.float64) + d.T)


def test_conv1d_typos_are_still_refused_in_plural(tmp_path, capsys, monkeypatch):
    ad, _ = _gpt2_case(tmp_path)
    with pytest.raises(SvdkitError, match=r"'c_projj', 'c_ff' match none"):
        merge(tmp_path / "base.safetensors", ad, tmp_path / "out.safetensors",
              fan_in_fan_out=["c_attn", "c_projj", "c_ff"])
    ad.save(tmp_path / "ad")
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "merge", tmp_path / "base.safetensors", tmp_path / "ad",
                       "-o", tmp_path / "out", "--conv1d", "([")
    line = error_line(code, err)
    assert "--conv1d" in line and "regular expression" in line
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------- 5. resized-vocabulary hint
def _untied_base(d):
    (d / "base").mkdir()
    save_safetensors(d / "base/model.safetensors", {
        "model.embed_tokens.weight": np.zeros((V, D), np.float32),
        "lm_head.weight": np.zeros((V, D), np.float32),
    })
    (d / "base/config.json").write_text(json.dumps(
        {"model_type": "llama", "tie_word_embeddings": False, "vocab_size": V}))
    return d / "base"


def test_resized_hint_for_peft_wrapper_names(tmp_path):
    base = _untied_base(tmp_path)
    big = np.ones((V + 2, D), np.float32)
    # as PEFT 0.21 saves modules_to_save after resize_token_embeddings
    ad = Adapter({}, saved={"lm_head.modules_to_save.weight": big,
                            "lm_head.original_module.weight": big, "lm_head.weight": big})
    with pytest.raises(ShapeError, match=rf"vocab {V} → {V + 2}"):
        merge(base, ad, tmp_path / "out")


def test_resized_hint_for_trainable_tokens(tmp_path):
    base = _untied_base(tmp_path)
    ad = Adapter({}, saved={
        "model.embed_tokens.token_adapter.trainable_tokens_delta": np.ones((2, D), np.float32),
    }, config={"trainable_token_indices": [V, V + 1]})
    with pytest.raises(ShapeError, match=rf"do not fit.*at least {V + 2} tokens.*"
                       r"resize the base.*len\(tokenizer\)") as err:
        merge(base, ad, tmp_path / "out")
    assert f"resize_token_embeddings({V + 2})" not in str(err.value)  # (a guess, not said)


# ------------------------------------------------------- 7. a non-UTF-8 adapter config
def test_non_utf8_adapter_config_is_a_file_format_error(tmp_path):
    Adapter({"fc": _lora("fc", 3, 3)}).save(tmp_path / "ad")
    (tmp_path / "ad/adapter_config.json").write_bytes(b'{"r": 2, "x": "\xff"}')
    with pytest.raises(FileFormatError, match=r"adapter_config\.json.*not UTF-8"):
        Adapter.load(tmp_path / "ad")


def test_kept_embedding_of_sharded_tied_base_counts_the_head_parameters(tmp_path):
    base, E, W = _tied_base(tmp_path, sharded=True, parameters=True)
    ad = Adapter({}, saved={"model.embed_tokens.weight": (E + 0.5).astype(np.float32)})
    out = merge(base, ad, tmp_path / "out")
    assert np.array_equal(Checkpoint(out).read("lm_head.weight"), E)
    meta = json.loads((out / "model.safetensors.index.json").read_text())["metadata"]
    assert meta == {"total_size": 2 * E.nbytes + W.nbytes,
                    "total_parameters": 2 * E.size + W.size}
