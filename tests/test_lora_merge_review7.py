"""Review 7 of ``svdkit lora merge``: quantised bases, a kept embedding of a tied base,
deeply nested config files, ``--conv1d`` patterns, resized vocabularies."""

from __future__ import annotations

import json
import logging

import ml_dtypes
import numpy as np
import pytest

from svdkit.errors import FileFormatError, ShapeError, SvdkitError
from svdkit.lora import Adapter, Checkpoint, LoraModule, merge, save_safetensors
from tests.cli_support import error_line, run_svdkit
from tests.lora_support import write_tied_base

RNG = np.random.default_rng(7)


def _lora(name: str, out: int, inn: int, kind: str = "linear", alpha: float = 2.0) -> LoraModule:
    A = RNG.standard_normal((2, inn)).astype(np.float32)
    B = RNG.standard_normal((out, 2)).astype(np.float32)
    if kind == "embedding":  # (B A)ᵀ: A [r, vocab], B [dim, r]
        A = RNG.standard_normal((2, out)).astype(np.float32)
        B = RNG.standard_normal((inn, 2)).astype(np.float32)
    return LoraModule(name, kind, A=A, B=B, alpha=alpha)


def _expected(W: np.ndarray, m: LoraModule) -> np.ndarray:
    """``W + s·B A`` in float64 (``(B A)ᵀ`` for an embedding)."""
    d = m.scale() * (m.B.astype(np.float64) @ m.A.astype(np.float64))
    return W.astype(np.float64) + (d.T if m.transposed else d)


# ----------------------------------------------------------------- 1. quantised bases
def _fp8_base(d, config: bool):
    (d / "base").mkdir()
    Wtrue = RNG.standard_normal((4, 4)) * 0.01
    s = np.float32(np.abs(Wtrue).max() / 448)
    wq = (Wtrue / s).astype(ml_dtypes.float8_e4m3fn)
    save_safetensors(d / "base/model.safetensors",
                     {"fc.weight": wq, "fc.weight_scale_inv": np.array([[s]], np.float32)})
    if config:
        (d / "base/config.json").write_text(json.dumps({
            "model_type": "llama",
            "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]},
        }))
    return d / "base"


@pytest.mark.parametrize("config", [True, False])
def test_fp8_base_with_scales_is_refused(tmp_path, config):
    base = _fp8_base(tmp_path, config)
    ad = Adapter({"fc": _lora("fc", 4, 4)})
    with pytest.raises(FileFormatError, match=r"'fc'.*quantis.*dequantise"):
        merge(base, ad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_int8_base_is_refused_without_config(tmp_path):
    wq = RNG.integers(-127, 128, (4, 4)).astype(np.int8)
    save_safetensors(tmp_path / "base.safetensors",
                     {"fc.weight": wq, "fc.SCB": np.full(4, 0.5, np.float32)})
    ad = Adapter({"fc": _lora("fc", 4, 4)})
    with pytest.raises(FileFormatError, match=r"'fc'.*I8"):
        merge(tmp_path / "base.safetensors", ad, tmp_path / "out.safetensors")


def test_integer_weight_without_scales_is_refused(tmp_path):
    save_safetensors(tmp_path / "base.safetensors", {"fc.weight": np.eye(3, dtype=np.int32)})
    ad = Adapter({"fc": _lora("fc", 3, 3)})
    with pytest.raises(FileFormatError, match=r"'fc'.*I32"):
        merge(tmp_path / "base.safetensors", ad, tmp_path / "out.safetensors")


def test_quantization_config_is_refused_cli(tmp_path, capsys, monkeypatch):
    (tmp_path / "base").mkdir()
    save_safetensors(tmp_path / "base/model.safetensors",
                     {"fc.weight": np.eye(3, dtype=np.float32)})
    (tmp_path / "base/config.json").write_text(json.dumps(
        {"quantization_config": {"quant_method": "bitsandbytes", "load_in_8bit": True}}))
    Adapter({"fc": _lora("fc", 3, 3)}).save(tmp_path / "ad")
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "merge", tmp_path / "base", tmp_path / "ad",
                       "-o", tmp_path / "out")
    line = error_line(code, err)
    assert "bitsandbytes" in line and "'fc'" in line and "dequantise" in line
    assert not (tmp_path / "out").exists()


def test_saved_tensor_truncated_to_integers_is_refused(tmp_path):
    W = np.eye(3, dtype=np.float32)
    save_safetensors(tmp_path / "base.safetensors",
                     {"fc.weight": W, "ids": np.zeros((2, 3), np.int64)})
    m = _lora("fc", 3, 3)
    bad = Adapter({"fc": m}, saved={"ids": np.array([[1.5, 2, 3], [4, 5, 6]], np.float32)})
    with pytest.raises(SvdkitError, match=r"'ids'.*I64.*1\.5"):
        merge(tmp_path / "base.safetensors", bad, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()
    # exact integers in a float array are written as they are
    ok = Adapter({"fc": m}, saved={"ids": np.array([[1, 2, 3], [4, 5, -6]], np.float32)})
    ck = Checkpoint(merge(tmp_path / "base.safetensors", ok, tmp_path / "out.safetensors"))
    assert ck.dtype("ids") == "I64"
    assert ck.read("ids").tolist() == [[1, 2, 3], [4, 5, -6]]
    got = ck.read("fc.weight").astype(np.float64)
    want = _expected(W, m)
    assert np.max(np.abs(got - want)) <= 4 * np.finfo(np.float32).eps * np.max(np.abs(want))


# ------------------------------------------------- 2. a kept embedding of a tied base
V, D = 10, 4


def _tied_base(d, sharded: bool = False):
    return write_tied_base(d, RNG, V, D, sharded)


@pytest.mark.parametrize("sharded", [False, True])
def test_kept_embedding_of_tied_base_keeps_the_original_head(tmp_path, caplog, sharded):
    base, E, W = _tied_base(tmp_path, sharded)
    E2 = (E + 0.5).astype(np.float32)
    m = _lora("model.layers.0.q_proj", D, D)
    ad = Adapter({m.name: m}, saved={"model.embed_tokens.weight": E2})
    with caplog.at_level(logging.WARNING):
        out = merge(base, ad, tmp_path / "out")
    ck = Checkpoint(out)
    # PEFT's model: the new table for the lookup, the original one as the head
    assert np.array_equal(ck.read("model.embed_tokens.weight"), E2)
    assert np.array_equal(ck.read("lm_head.weight"), E)
    got = ck.read("model.layers.0.q_proj.weight").astype(np.float64)
    want = _expected(W, m)
    assert np.max(np.abs(got - want)) <= 4 * np.finfo(np.float32).eps * np.max(np.abs(want))
    config = json.loads((out / "config.json").read_text())
    assert config["tie_word_embeddings"] is False and config["vocab_size"] == V
    if sharded:
        index = json.loads((out / "model.safetensors.index.json").read_text())
        assert index["weight_map"]["lm_head.weight"] == "model-00001-of-00002.safetensors"
        assert index["metadata"]["total_size"] == 2 * E.nbytes + W.nbytes
        assert set(index["weight_map"]) == set(ck.names)
    assert "lm_head.weight" in caplog.text and "tie_word_embeddings" in caplog.text
    # the base is untouched
    assert json.loads((base / "config.json").read_text())["tie_word_embeddings"] is True


def test_kept_embedding_with_ensure_weight_tying_stays_tied(tmp_path):
    base, E, _ = _tied_base(tmp_path)
    E2 = (E + 0.5).astype(np.float32)
    ad = Adapter({}, saved={"model.embed_tokens.weight": E2},
                 config={"ensure_weight_tying": True})
    out = merge(base, ad, tmp_path / "out")
    ck = Checkpoint(out)
    assert "lm_head.weight" not in ck
    assert np.array_equal(ck.read("model.embed_tokens.weight"), E2)
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is True


def test_kept_embedding_of_tied_base_to_one_file_says_to_untie(tmp_path, caplog):
    base, E, _ = _tied_base(tmp_path)
    E2 = (E + 0.5).astype(np.float32)
    ad = Adapter({}, saved={"model.embed_tokens.weight": E2})
    with caplog.at_level(logging.WARNING):
        out = merge(base, ad, tmp_path / "out.safetensors")
    ck = Checkpoint(out)
    assert np.array_equal(ck.read("lm_head.weight"), E)
    assert "tie_word_embeddings" in caplog.text and "false" in caplog.text


def test_lora_of_tied_embedding_notes_the_head_changes(tmp_path, caplog):
    base, E, _ = _tied_base(tmp_path)
    m = _lora("model.embed_tokens", V, D, kind="embedding")
    with caplog.at_level(logging.WARNING):
        out = merge(base, Adapter({m.name: m}), tmp_path / "out")
    ck = Checkpoint(out)
    got = ck.read("model.embed_tokens.weight").astype(np.float64)
    want = _expected(E, m)
    assert np.max(np.abs(got - want)) <= 4 * np.finfo(np.float32).eps * np.max(np.abs(want))
    assert "lm_head.weight" not in ck
    assert "head" in caplog.text and "merge_and_unload" in caplog.text


# ------------------------------------------------------------ 3. deeply nested JSON
def test_deeply_nested_config_json_is_a_file_format_error(tmp_path):
    (tmp_path / "base").mkdir()
    save_safetensors(tmp_path / "base/model.safetensors",
                     {"fc.weight": np.eye(3, dtype=np.float32)})
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "base/config.json").write_text('{"model_type": "llama", "x": ' + deep + "}")
    ad = Adapter({"fc": _lora("fc", 3, 3)}, config={"fan_in_fan_out": False})
    with pytest.raises(FileFormatError, match=r"config\.json.*nested too deeply"):
        merge(tmp_path / "base", ad, tmp_path / "out")


# ------------------------------------------------------------------ 8. --conv1d typos
def _conv1d_case(d):
    save_safetensors(d / "base.safetensors", {"fc.weight": np.eye(3, dtype=np.float32)})
    return Adapter({"fc": _lora("fc", 3, 3)}, config={"fan_in_fan_out": False})


@pytest.mark.parametrize("pattern", ["([", "fcc", "no_such_module"])
def test_conv1d_pattern_that_is_bad_or_matches_nothing_is_refused(tmp_path, pattern):
    ad = _conv1d_case(tmp_path)
    with pytest.raises(SvdkitError, match=re_escape(pattern)):
        merge(tmp_path / "base.safetensors", ad, tmp_path / "out.safetensors",
              fan_in_fan_out=[pattern])
    assert not (tmp_path / "out.safetensors").exists()


def re_escape(s: str) -> str:
    import re

    return re.escape(repr(s))


def test_conv1d_typo_cli(tmp_path, capsys, monkeypatch):
    _conv1d_case(tmp_path).save(tmp_path / "ad")
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "merge", tmp_path / "base.safetensors", tmp_path / "ad",
                       "-o", tmp_path / "out", "--conv1d", "fcc")
    line = error_line(code, err)
    assert "--conv1d" in line and "'fcc'" in line and "'fc'" in line
    code, _, err = run("lora", "merge", tmp_path / "base.safetensors", tmp_path / "ad",
                       "-o", tmp_path / "out", "--conv1d", "([")
    line = error_line(code, err)
    assert "--conv1d" in line and "'(['" in line and "regular expression" in line


# ---------------------------------------------------------------- 10. resized vocab
def test_resized_vocabulary_hint(tmp_path):
    (tmp_path / "base").mkdir()
    save_safetensors(tmp_path / "base/model.safetensors", {
        "model.embed_tokens.weight": np.zeros((50, 16), np.float32),
        "lm_head.weight": np.zeros((50, 16), np.float32),
    })
    ad = Adapter({}, saved={"model.embed_tokens.weight": np.ones((52, 16), np.float32),
                            "lm_head.weight": np.ones((52, 16), np.float32)})
    with pytest.raises(ShapeError, match=r"resize_token_embeddings \(vocab 50 → 52\).*resize "
                                         r"the base first"):
        merge(tmp_path / "base", ad, tmp_path / "out")
    m = _lora("model.embed_tokens", 52, 16, kind="embedding")
    with pytest.raises(ShapeError, match=r"vocab 50 → 52"):
        merge(tmp_path / "base", Adapter({m.name: m}), tmp_path / "out")
    # a width that differs is no resized vocabulary
    ad = Adapter({}, saved={"lm_head.weight": np.ones((50, 8), np.float32)})
    with pytest.raises(ShapeError) as err:
        merge(tmp_path / "base", ad, tmp_path / "out")
    assert "resize_token_embeddings" not in str(err.value)


@pytest.mark.parametrize("config", [True, False])
def test_pissa_refuses_a_quantised_base_by_name(tmp_path, config):
    # the SVD of FP8 codes is not that of the weight they encode with their scales
    from svdkit.lora import RankRule, pissa

    base = _fp8_base(tmp_path, config)
    with pytest.raises(FileFormatError, match=r"'fc'.*quantis.*dequantise"):
        pissa(base, tmp_path / "ad", tmp_path / "res", RankRule(rank=2))
    assert not (tmp_path / "ad").exists() and not (tmp_path / "res").exists()
