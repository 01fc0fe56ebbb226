"""merge and PiSSA: a tied base that stores its head, explicit PiSSA targets, and a
sharded base written to one ``.safetensors`` file.

* A Llama whose config says ``tie_word_embeddings: true`` and whose checkpoint stores
  ``lm_head.weight`` too (equal to the table, as many exports do): a merged head LoRA,
  or PiSSA's residual head ``W − B·A``, makes the written head differ from the table.
  The copied config is then untied, so the output loads to the tensors written even in
  a loader that honours the flag (``tie_weights()``, as transformers 4 and vLLM tie),
  and the logits are the PEFT model's; where the head stays the table, it stays tied.
* ``pissa --target`` names each target that selects nothing PiSSA factors.
* ``merge``/``pissa`` of a sharded base into one ``.safetensors`` file: every tensor, as
  the directory output holds it.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import cli_support
import lora_support
import numpy as np
import pytest

from svdkit.errors import SvdkitError
from svdkit.lora import Adapter, Checkpoint, LoraModule, RankRule, merge, pissa
from svdkit.lora.safetensors_io import MARK_KEY, SafetensorsFile, save_safetensors

V, D = 64, 32


@pytest.fixture
def run(capsys, monkeypatch):
    return cli_support.run_svdkit(capsys, monkeypatch)


def _tiny_llama(path: Path, store_head: bool = True) -> Path:
    """A 2-layer Llama with tied embeddings, saved by transformers; ``store_head`` adds
    an ``lm_head.weight`` equal to the table to its checkpoint (the config still ties)."""
    lora_support.tiny_llama(path, V, D, tie=True, store_head=store_head)
    assert json.loads((path / "config.json").read_text())["tie_word_embeddings"] is True
    return path


def _load(path: Path, tie: bool = False):
    """The model transformers loads from ``path`` (``tie``: then ``tie_weights()``, which
    ties the head to the table when the config says so, as loaders that honour it do)."""
    from transformers import LlamaForCausalLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LlamaForCausalLM.from_pretrained(str(path)).eval()
    if tie:
        model.tie_weights()
    return model


def _logits(model) -> np.ndarray:
    import torch

    ids = torch.tensor([[1, 5, 9, 17, 33, 60, 2, 40]])
    with torch.no_grad():
        return model(ids).logits.float().numpy()


def _head_adapter(rng: np.random.Generator) -> Adapter:
    return Adapter({
        "lm_head": LoraModule("lm_head", "linear", A=rng.standard_normal((2, D)),
                              B=rng.standard_normal((V, 2)), alpha=2.0),
        "model.layers.0.self_attn.q_proj": LoraModule(
            "model.layers.0.self_attn.q_proj", "linear", A=rng.standard_normal((2, D)),
            B=rng.standard_normal((D, 2)), alpha=2.0),
    })


def _config(path: Path) -> dict:
    return json.loads((path / "config.json").read_text())


# ------------------------------------------------------------------ #1 tied, stored head


def test_merge_of_head_lora_unties_a_tied_base_that_stores_its_head(tmp_path, caplog):
    """The merged head ``W + s·B·A`` differs from the table: the config is untied, and
    the merged model, even re-tied by ``tie_weights()``, gives the PEFT model's logits."""
    from peft import PeftModel

    base = _tiny_llama(tmp_path / "base")
    ad = _head_adapter(np.random.default_rng(0))
    ad.save(tmp_path / "ad")
    with caplog.at_level(logging.WARNING):
        out = merge(base, tmp_path / "ad", tmp_path / "merged")
    assert _config(out)["tie_word_embeddings"] is False
    assert "tie_word_embeddings: false" in caplog.text
    ck = Checkpoint(out)
    E = ck.read("model.embed_tokens.weight")
    assert np.array_equal(E, Checkpoint(base).read("model.embed_tokens.weight"))
    assert not np.array_equal(ck.read("lm_head.weight"), E)
    peft_model = PeftModel.from_pretrained(_load(base), str(tmp_path / "ad")).eval()
    want = _logits(peft_model)
    for tie in (False, True):
        got = _logits(_load(out, tie=tie))
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-5)
    # (the base re-tied is the same model: its head was the table)
    assert not np.allclose(_logits(_load(base, tie=True)), want, atol=1e-3)


def test_merge_into_a_tied_stored_head_keeps_the_tie_when_the_head_stays(tmp_path, caplog):
    """A LoRA of q_proj only: head and table are written equal, the config stays tied,
    with no note."""
    base = _tiny_llama(tmp_path / "base")
    rng = np.random.default_rng(1)
    name = "model.layers.0.self_attn.q_proj"
    ad = Adapter({name: LoraModule(name, "linear", A=rng.standard_normal((2, D)),
                                   B=rng.standard_normal((D, 2)), alpha=2.0)})
    with caplog.at_level(logging.WARNING):
        out = merge(base, ad, tmp_path / "merged")
    assert _config(out)["tie_word_embeddings"] is True
    assert "tie_word_embeddings" not in caplog.text
    ck = Checkpoint(out)
    assert np.array_equal(ck.read("lm_head.weight"), ck.read("model.embed_tokens.weight"))


def test_merge_of_an_embedding_lora_keeps_the_stored_head_tied(tmp_path, caplog):
    """A LoRA of the table only: head and table are one tensor in the tied model, so the
    stored head is written as the merged table and the config stays tied, noted — the
    same model as without a stored head, and PEFT's ``merge_and_unload``'s."""
    from peft import PeftModel

    rng = np.random.default_rng(2)
    name = "model.embed_tokens"
    Adapter({name: LoraModule(name, "embedding", A=rng.standard_normal((2, V)),
                              B=rng.standard_normal((D, 2)), alpha=2.0)}).save(tmp_path / "ad")
    got = {}
    for stored in (True, False):
        base = _tiny_llama(tmp_path / f"base{stored}", store_head=stored)
        with caplog.at_level(logging.WARNING):
            out = merge(base, tmp_path / "ad", tmp_path / f"merged{stored}")
        assert _config(out)["tie_word_embeddings"] is True
        ck = Checkpoint(out)
        if stored:
            assert "stored head is written equal to the merged table" in caplog.text
            assert np.array_equal(ck.read("lm_head.weight"), ck.read(f"{name}.weight"))
        got[stored] = _logits(_load(out, tie=True))
        np.testing.assert_array_equal(_logits(_load(out)), got[stored])
    want = _logits(PeftModel.from_pretrained(_load(tmp_path / "baseTrue"),
                                             str(tmp_path / "ad")).merge_and_unload().eval())
    for stored in (True, False):
        np.testing.assert_allclose(got[stored], want, rtol=0, atol=2e-5)


def test_merge_to_one_file_notes_the_untie(tmp_path, caplog):
    """A ``.safetensors`` output has no config: the note says to load it untied."""
    base = _tiny_llama(tmp_path / "base")
    with caplog.at_level(logging.WARNING):
        merge(base, _head_adapter(np.random.default_rng(3)), tmp_path / "m.safetensors")
    assert "no config.json is written with it" in caplog.text
    assert "tie_word_embeddings: false" in caplog.text


def test_pissa_of_the_head_unties_the_residual_and_loads_to_the_original(tmp_path, caplog):
    """PiSSA of lm_head: the residual head ``W − B·A`` differs from the table, so the
    residual's config is untied, and residual + adapter, even re-tied by
    ``tie_weights()``, give the original model's logits (not the principal part twice)."""
    from peft import PeftModel

    base = _tiny_llama(tmp_path / "base")
    with caplog.at_level(logging.WARNING):
        pissa(base, tmp_path / "ad", tmp_path / "res", RankRule(rank=4),
              targets=["lm_head", "q_proj"])
    assert _config(tmp_path / "res")["tie_word_embeddings"] is False
    assert "tie_word_embeddings: false" in caplog.text
    want = _logits(_load(base))
    for tie in (False, True):
        residual = _load(tmp_path / "res", tie=tie)
        got = _logits(PeftModel.from_pretrained(residual, str(tmp_path / "ad")).eval())
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_pissa_not_of_the_head_keeps_the_tie(tmp_path):
    base = _tiny_llama(tmp_path / "base")
    pissa(base, tmp_path / "ad", tmp_path / "res", RankRule(rank=4), targets=["q_proj"])
    assert _config(tmp_path / "res")["tie_word_embeddings"] is True


# ------------------------------------------------------------------ #5 pissa's targets


def _small_base(d: Path) -> Path:
    rng = np.random.default_rng(0)
    save_safetensors(d / "model.safetensors", {
        "model.embed_tokens.weight": rng.standard_normal((V, D)).astype(np.float32),
        "model.layers.0.q_proj.weight": rng.standard_normal((D, D)).astype(np.float32),
        "model.layers.0.v_proj.weight": rng.standard_normal((D, D)).astype(np.float32),
        "model.norm.weight": np.ones(D, np.float32),
    })
    return d


@pytest.mark.parametrize("extra, why", [
    ("v_prj", "'v_prj' matches no module of the base"),
    ("embed_tokens", "'model.embed_tokens' is an embedding table"),
    ("norm", "'model.norm' is 1-D"),
])
def test_pissa_names_each_target_that_selects_nothing_it_factors(tmp_path, extra, why):
    d = tmp_path / "base"
    d.mkdir()
    base = _small_base(d)
    with pytest.raises(SvdkitError, match="targets") as err:
        pissa(base, tmp_path / "ad", tmp_path / "res", RankRule(rank=2),
              targets=["q_proj", extra])
    assert why in str(err.value)
    assert not (tmp_path / "ad").exists() and not (tmp_path / "res").exists()


def test_pissa_cli_names_the_unmatched_target(tmp_path, run):
    d = tmp_path / "base"
    d.mkdir()
    base = _small_base(d)
    code, _, err = run("lora", "pissa", base, "-o", tmp_path / "ad", "--residual",
                              tmp_path / "res", "--rank", "2", "--target", "q_proj",
                              "--target", "v_prj")
    line = cli_support.error_line(code, err)
    assert "--target" in line and "'v_prj'" in line
    # a target matching chosen modules and an embedding too is no error
    code, _, err = run("lora", "pissa", base, "-o", tmp_path / "ad", "--residual",
                              tmp_path / "res", "--rank", "2", "--target", r".*(proj|embed_tokens)")
    assert code == 0, err
    assert sorted(Adapter.load(tmp_path / "ad").modules) == [
        "model.layers.0.q_proj", "model.layers.0.v_proj"]


# ------------------------------------------------------------------ #8 sharded → one file


def _sharded(d: Path) -> Path:
    rng = np.random.default_rng(4)
    tensors = {f"model.layers.{i}.q_proj.weight": rng.standard_normal((D, D)).astype(np.float32)
               for i in range(3)}
    tensors["model.norm.weight"] = np.ones(D, np.float32)
    files = {"model-00001-of-00002.safetensors": ["model.layers.0.q_proj.weight",
                                                  "model.layers.1.q_proj.weight"],
             "model-00002-of-00002.safetensors": ["model.layers.2.q_proj.weight",
                                                  "model.norm.weight"]}
    d.mkdir()
    for f, names in files.items():
        save_safetensors(d / f, {n: tensors[n] for n in names})
    (d / "model.safetensors.index.json").write_text(json.dumps({
        "metadata": {"total_size": sum(t.nbytes for t in tensors.values())},
        "weight_map": {n: f for f, names in files.items() for n in names}}))
    return d


def test_merge_of_a_sharded_base_into_one_file(tmp_path):
    base = _sharded(tmp_path / "base")
    rng = np.random.default_rng(5)
    name = "model.layers.2.q_proj"
    ad = Adapter({name: LoraModule(name, "linear", A=rng.standard_normal((2, D)),
                                   B=rng.standard_normal((D, 2)), alpha=4.0)})
    one = merge(base, ad, tmp_path / "one.safetensors")
    many = merge(base, ad, tmp_path / "dir")
    a, b = Checkpoint(one), Checkpoint(many)
    assert a.names == b.names and len(b.files) == 2 and len(a.files) == 1
    for n in b.names:
        assert np.array_equal(a.read(n), b.read(n)), n
    W = Checkpoint(base).read(f"{name}.weight")
    np.testing.assert_allclose(a.read(f"{name}.weight"), W + 2.0 * ad.modules[name].B
                               @ ad.modules[name].A, rtol=0, atol=1e-5)
    assert SafetensorsFile(one).metadata[MARK_KEY] == "lora merge"
    merge(base, ad, tmp_path / "one.safetensors")  # (replaces its own output)


def test_pissa_of_a_sharded_base_into_one_file(tmp_path):
    base = _sharded(tmp_path / "base")
    ad, res = pissa(base, tmp_path / "ad", tmp_path / "res.safetensors", RankRule(rank=3))
    ck, orig = Checkpoint(res), Checkpoint(base)
    assert ck.names == orig.names
    for n, m in ad.modules.items():
        np.testing.assert_allclose(ck.read(f"{n}.weight") + m.delta(), orig.read(f"{n}.weight"),
                                   rtol=0, atol=1e-5)
    assert np.array_equal(ck.read("model.norm.weight"), orig.read("model.norm.weight"))


def test_merge_cli_writes_a_sharded_base_to_one_file(tmp_path, run):
    base = _sharded(tmp_path / "base")
    rng = np.random.default_rng(6)
    name = "model.layers.0.q_proj"
    Adapter({name: LoraModule(name, "linear", A=rng.standard_normal((2, D)),
                              B=rng.standard_normal((D, 2)), alpha=2.0)}).save(tmp_path / "ad")
    code, _, err = run("lora", "merge", base, tmp_path / "ad", "-o",
                              tmp_path / "one.safetensors")
    assert code == 0, err
    assert Checkpoint(tmp_path / "one.safetensors").names == Checkpoint(base).names


def test_t5_head_changed_apart_from_its_table_is_refused(tmp_path):
    """T5 v1.0's ``tie_word_embeddings`` also scales the decoder's output: untying its
    head would change the model, so a head written apart from ``shared`` is refused (by
    merge and PiSSA, before anything is written); other modules still work."""
    rng = np.random.default_rng(7)
    d = tmp_path / "base"
    d.mkdir()
    E = rng.standard_normal((V, D)).astype(np.float32)
    save_safetensors(d / "model.safetensors", {
        "shared.weight": E, "lm_head.weight": E.copy(),
        "decoder.block.0.layer.0.SelfAttention.q.weight":
            rng.standard_normal((D, D)).astype(np.float32)})
    (d / "config.json").write_text(json.dumps(
        {"model_type": "t5", "tie_word_embeddings": True, "vocab_size": V,
         "is_encoder_decoder": True}))
    head = Adapter({"lm_head": LoraModule("lm_head", "linear", A=rng.standard_normal((2, D)),
                                          B=rng.standard_normal((V, 2)), alpha=2.0)})
    with pytest.raises(SvdkitError, match="d_model"):
        merge(d, head, tmp_path / "merged")
    with pytest.raises(SvdkitError, match="d_model"):
        pissa(d, tmp_path / "ad", tmp_path / "res", RankRule(rank=2))
    assert not any(p.exists() for p in (tmp_path / "merged", tmp_path / "ad", tmp_path / "res"))
    pissa(d, tmp_path / "ad", tmp_path / "res", RankRule(rank=2), targets=["q"])
    assert _config(tmp_path / "res")["tie_word_embeddings"] is True
