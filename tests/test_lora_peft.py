"""LoRA extraction on the real all-MiniLM-L6-v2 checkpoint, loaded back by PEFT.

The fine-tuned model is the real checkpoint plus a synthetic delta of realistic
spectrum (see ``lora_pair`` in ``lora_support.py``): every attention and MLP
matrix gets a rank-8 update with decaying singular values plus a small
full-rank tail, the word embeddings a rank-4 update on 300 rows, one LayerNorm
and one bias change. The adapter svdkit extracts is loaded with
``peft.PeftModel.from_pretrained`` on the real BERT architecture and its
outputs compared with svdkit's own merge (float tolerance) and with the tuned
model (close, as the rank covers the update).
"""

from __future__ import annotations

import json

import lora_support
import numpy as np
import pytest
import torch

from svdkit.lora import Adapter, Checkpoint, RankRule, extract
from svdkit.lora.merge import merge

lora_pair = lora_support.lora_pair


def _model(path):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(path), local_files_only=True)
    model.eval()
    return model


def _outputs(model, batch):
    with torch.no_grad():
        return model(**batch).last_hidden_state.double().numpy()


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 8000, (3, 24), generator=g)
    ids[:, 0] = 101
    # a few tokens whose embedding rows the synthetic fine-tune changed
    ids[:, 5:9] = torch.arange(2000, 2004)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


@pytest.mark.parametrize("rank", [8, 16])
def test_peft_loads_adapter_and_matches_svdkit_merge(lora_pair, tmp_path, batch, rank):
    from peft import PeftModel

    base_dir, tuned_dir = lora_pair
    ex = extract(base_dir, tuned_dir, RankRule(rank=rank))
    out = ex.adapter.save(tmp_path / "adapter")
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and cfg["r"] == rank
    assert "embeddings.word_embeddings" in cfg["target_modules"]
    assert cfg["modules_to_save"] == ["encoder.layer.0.output.LayerNorm"]
    assert cfg["bias"] == "lora_only"
    # 36 linear modules and the word embeddings; rank 4 for the embeddings (rank_pattern)
    assert len(ex.report.modules) == 37
    assert "encoder.layer.1.attention.self.query.bias" in ex.report.extras_saved

    peft_model = PeftModel.from_pretrained(_model(base_dir), str(out))
    peft_model.eval()
    merged = merge(base_dir, out, tmp_path / "merged")
    y_peft = _outputs(peft_model, batch)
    y_merge = _outputs(_model(merged), batch)
    y_tuned = _outputs(_model(tuned_dir), batch)
    scale = np.abs(y_tuned).max()
    # PEFT's forward (x Wᵀ + scale·x Aᵀ Bᵀ) and the merged weights agree to float32 rounding
    assert np.abs(y_peft - y_merge).max() <= 1e-4 * scale
    # the adapter is the delta up to its small full-rank tail
    y_base = _outputs(_model(base_dir), batch)
    moved = np.abs(y_tuned - y_base).max()
    assert moved > 1e-2 * scale  # the fine-tune changed the outputs
    assert np.abs(y_merge - y_tuned).max() <= 0.1 * moved


def test_merge_reproduces_tuned_weights_within_truncation(lora_pair, tmp_path):
    base_dir, tuned_dir = lora_pair
    ex = extract(base_dir, tuned_dir, RankRule(energy=0.99))
    merged = Checkpoint(merge(base_dir, ex.adapter, tmp_path / "m"))
    base, tuned = Checkpoint(base_dir), Checkpoint(tuned_dir)
    for rep in ex.report.modules:
        key = f"{rep.name}.weight"
        d_true = tuned.read(key, np.float64) - base.read(key, np.float64)
        d_merged = merged.read(key, np.float64) - base.read(key, np.float64)
        err = np.linalg.norm(d_true - d_merged) / np.linalg.norm(d_true)
        # the report's relative error is the error of the merged weights (up to float32)
        assert err == pytest.approx(rep.relative_error, rel=1e-3, abs=1e-5)
        assert rep.energy_kept >= 0.99 * (1 - 1e-6)
    for name in ex.report.extras_saved:
        assert np.array_equal(merged.read(name), tuned.read(name))
    loaded = Adapter.load(ex.adapter.save(tmp_path / "a"))
    assert set(loaded.modules) == set(ex.adapter.modules)


def test_per_module_ranks_folded_alpha_and_peft_merge_agree(lora_pair, tmp_path, batch):
    from peft import PeftModel

    base_dir, tuned_dir = lora_pair
    ex = extract(base_dir, tuned_dir, RankRule(energy=0.995), alpha=16)
    ranks = {m.name: m.rank for m in ex.report.modules}
    assert ranks["embeddings.word_embeddings"] == 4  # the update there is rank 4
    assert len(set(ranks.values())) > 1
    out = ex.adapter.save(tmp_path / "adapter")
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["lora_alpha"] == 16 and cfg["alpha_pattern"] == {}
    assert cfg["rank_pattern"] == {n: r for n, r in ranks.items() if r != cfg["r"]}
    peft_model = PeftModel.from_pretrained(_model(base_dir), str(out))
    state = peft_model.merge_and_unload().state_dict()
    merged = Checkpoint(merge(base_dir, out, tmp_path / "merged"))
    for name in merged.names:
        if name not in state:  # a non-persistent buffer of BERT, not a parameter
            assert name == "embeddings.position_ids"
            continue
        want = state[name].double().numpy()
        np.testing.assert_allclose(merged.read(name, np.float64), want, rtol=0, atol=2e-6,
                                   err_msg=name)
    # what PEFT itself writes, svdkit reads back: same modules, same ΔW
    reloaded = PeftModel.from_pretrained(_model(base_dir), str(out))
    reloaded.save_pretrained(str(tmp_path / "resaved"))
    back = Adapter.load(tmp_path / "resaved")
    assert set(back.modules) == set(ex.adapter.modules)
    for name, m in ex.adapter.modules.items():
        np.testing.assert_allclose(back.modules[name].delta(), m.delta(), atol=1e-6)


finetuned_pair = lora_support.finetuned_pair


def test_real_finetune_round_trip_through_peft(finetuned_pair, tmp_path, batch):
    """3 real SGD steps of full fine-tuning: every matrix, norm and bias moved."""
    from peft import PeftModel

    base_dir, tuned_dir = finetuned_pair
    ex = extract(base_dir, tuned_dir, RankRule(energy=0.999))
    # every changed matrix is a LoRA module (36 linear + 3 embeddings), all within the bound
    assert len(ex.report.modules) == 39
    for m in ex.report.modules:
        assert m.energy_kept >= 0.999 * (1 - 1e-9)
        assert m.relative_error <= np.sqrt(1 - 0.999) * (1 + 1e-3)
    # every changed norm and bias is kept, none only listed
    assert ex.report.extras_listed == []
    assert len(ex.report.extras_saved) == 62
    out = ex.adapter.save(tmp_path / "adapter")
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert "embeddings.LayerNorm" in cfg["modules_to_save"] and cfg["bias"] == "lora_only"
    peft_model = PeftModel.from_pretrained(_model(base_dir), str(out))
    peft_model.eval()
    y_peft = _outputs(peft_model, batch)
    y_merge = _outputs(_model(merge(base_dir, out, tmp_path / "merged")), batch)
    y_tuned = _outputs(_model(tuned_dir), batch)
    y_base = _outputs(_model(base_dir), batch)
    scale = np.abs(y_tuned).max()
    assert np.abs(y_peft - y_merge).max() <= 1e-4 * scale
    moved = np.abs(y_tuned - y_base).max()
    assert moved > 1e-2 * scale
    assert np.abs(y_merge - y_tuned).max() <= 0.01 * moved  # measured 0.04 %


def test_a_linear_head_named_embed_out_gets_linear_lora_factors(tmp_path):
    """GPT-NeoX / Pythia call their output head ``embed_out`` (an ``nn.Linear``) and
    their input table ``embed_in``: the head gets ``lora_A``/``lora_B`` that PEFT
    loads onto the Linear (with ``lora_embedding_*`` it would drop them, warning
    only), the table ``lora_embedding_A``/``B``; PEFT's merge equals the tuned
    weights, whose deltas are of the extracted rank."""
    import warnings

    from peft import PeftModel
    from safetensors.numpy import save_file

    class NeoxLike(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_in = torch.nn.Embedding(100, 32)
            self.embed_out = torch.nn.Linear(32, 100, bias=False)

        def forward(self, x):
            return self.embed_out(self.embed_in(x))

    torch.manual_seed(0)
    base = {k: v.detach().numpy().copy() for k, v in NeoxLike().state_dict().items()}
    rng = np.random.default_rng(21)
    tuned = {
        k: v + 0.3 * rng.standard_normal((v.shape[0], 2)) @ rng.standard_normal((2, v.shape[1]))
        for k, v in base.items()
    }
    tuned = {k: v.astype(np.float32) for k, v in tuned.items()}
    save_file(base, str(tmp_path / "base.safetensors"))
    save_file(tuned, str(tmp_path / "tuned.safetensors"))
    ex = extract(tmp_path / "base.safetensors", tmp_path / "tuned.safetensors", RankRule(rank=2))
    out = ex.adapter.save(tmp_path / "adapter")
    from safetensors.numpy import load_file

    names = set(load_file(str(out / "adapter_model.safetensors")))
    assert "base_model.model.embed_out.lora_A.weight" in names
    assert "base_model.model.embed_in.lora_embedding_A" in names
    model = NeoxLike()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in base.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing adapter key is only a warning in PEFT
        merged = PeftModel.from_pretrained(model, str(out)).merge_and_unload().state_dict()
    for key, want in tuned.items():
        assert np.allclose(merged[key].numpy(), want, atol=1e-5), key


def _gpt2_pair(tmp_path, rank=2):
    """A tiny GPT-2 (its linear layers are ``Conv1D``, weights stored ``[in, out]``)
    saved with its ``config.json``, and the same with a rank-``rank`` update added to
    every ``Conv1D`` weight."""
    from safetensors.numpy import load_file, save_file
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=100, n_positions=16, n_embd=32, n_layer=1, n_head=2)
    model = GPT2LMHeadModel(cfg)
    base_dir, tuned_dir = tmp_path / "gpt2-base", tmp_path / "gpt2-tuned"
    model.save_pretrained(base_dir, safe_serialization=True)
    model.save_pretrained(tuned_dir, safe_serialization=True)
    weights = load_file(str(base_dir / "model.safetensors"))
    rng = np.random.default_rng(7)
    tuned = dict(weights)
    for name, w in weights.items():
        if name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
            up = rng.standard_normal((w.shape[0], rank)) @ rng.standard_normal((rank, w.shape[1]))
            tuned[name] = (w + 0.2 * up).astype(w.dtype)
    save_file(tuned, str(tuned_dir / "model.safetensors"), metadata={"format": "pt"})
    return base_dir, tuned_dir, weights, tuned, GPT2LMHeadModel


def test_gpt2_conv1d_adapter_loads_in_peft_and_merges_to_the_tuned_weights(tmp_path):
    """GPT-2's ``c_attn`` (32×96 stored ``[in, out]``), ``c_proj`` and ``c_fc``: the
    deltas are factored transposed, the config says ``fan_in_fan_out`` (found from
    ``config.json``), PEFT loads the factors on the ``Conv1D`` layers (a size
    mismatch, or a silently transposed square ``c_proj``, before) and its merge,
    svdkit's merge and the tuned model agree."""
    import warnings

    from peft import PeftModel

    base_dir, tuned_dir, _, tuned_w, GPT2 = _gpt2_pair(tmp_path)
    ex = extract(base_dir, tuned_dir, RankRule(rank=2))
    kinds = {m.kind for m in ex.adapter.modules.values()}
    assert kinds == {"conv1d"} and len(ex.adapter.modules) == 4
    out = ex.adapter.save(tmp_path / "adapter")
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["fan_in_fan_out"] is True
    back = Adapter.load(out)
    assert {m.kind for m in back.modules.values()} == {"conv1d"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        peft_model = PeftModel.from_pretrained(GPT2.from_pretrained(base_dir), str(out))
    assert not [w for w in caught if "missing" in str(w.message) or "fan_in" in str(w.message)]
    merged = peft_model.merge_and_unload().state_dict()
    for name, want in tuned_w.items():
        if name in merged:
            assert np.allclose(merged[name].numpy(), want, atol=1e-5), name
    ours = merge(base_dir, out, tmp_path / "merged")
    ours_ck = Checkpoint(ours)
    for name, want in tuned_w.items():
        assert np.allclose(ours_ck.read(name, np.float64), want, atol=1e-5), name


def test_gpt2_conv1d_layout_can_be_forced_off_and_pissa_follows_it(tmp_path):
    """``fan_in_fan_out=False`` factors the stored matrices as they are (the old,
    wrong layout for PEFT: the square ``c_proj`` loads transposed); PiSSA on a
    GPT-2 base factors ``Wᵀ`` and its residual plus the adapter is the base."""
    from svdkit.lora.pissa import pissa

    base_dir, tuned_dir, base_w, _, _ = _gpt2_pair(tmp_path)
    plain = extract(base_dir, tuned_dir, RankRule(rank=2), fan_in_fan_out=False)
    assert {m.kind for m in plain.adapter.modules.values()} == {"linear"}
    ad, residual = pissa(base_dir, tmp_path / "pissa", tmp_path / "residual", RankRule(rank=4))
    assert {m.kind for m in ad.modules.values()} == {"conv1d"}
    res = Checkpoint(residual)
    for name, m in ad.modules.items():
        w = base_w[f"{name}.weight"].astype(np.float64)
        assert m.delta().shape == w.shape
        assert np.allclose(res.read(f"{name}.weight", np.float64) + m.delta(), w, atol=1e-5)


def _tied_llama_pair(tmp_path):
    """A tiny Llama with ``tie_word_embeddings`` (the checkpoint stores no ``lm_head``),
    and the same with a rank-5 update of the embedding and rank-3 updates elsewhere."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=100, hidden_size=64, intermediate_size=128,
                      num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                      tie_word_embeddings=True)
    model = LlamaForCausalLM(cfg).eval()
    base_dir, tuned_dir = tmp_path / "llama-base", tmp_path / "llama-tuned"
    model.save_pretrained(base_dir, safe_serialization=True)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2:
                r = 5 if "embed" in name else 3
                p += 0.02 * torch.randn(p.shape[0], r, generator=g) @ torch.randn(
                    r, p.shape[1], generator=g
                )
    model.save_pretrained(tuned_dir, safe_serialization=True)
    assert "lm_head.weight" not in Checkpoint(base_dir)
    return base_dir, tuned_dir, LlamaForCausalLM


@pytest.mark.parametrize("embeddings", ["lora", "save"])
def test_tied_head_changes_with_the_embedding_in_peft(tmp_path, embeddings):
    """The head of a tied model is its embedding: PEFT put the LoRA (or the kept copy)
    on the embedding's lookup only, and its logits differed from the tuned model's by
    3.8 where svdkit's merge matched them. The config now asks ``ensure_weight_tying``
    (and a kept embedding is saved as the head's copy too, which PEFT then needs)."""
    import warnings

    from peft import PeftModel

    base_dir, tuned_dir, Llama = _tied_llama_pair(tmp_path)
    ex = extract(base_dir, tuned_dir, RankRule(energy=1 - 1e-9), embeddings=embeddings)
    assert any("tied to 'model.embed_tokens'" in n for n in ex.report.notes)
    out = ex.adapter.save(tmp_path / "adapter")
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["ensure_weight_tying"] is True
    if embeddings == "lora":
        assert cfg["rank_pattern"] == {"model.embed_tokens": 5}
    else:
        assert cfg["modules_to_save"] == ["lm_head", "model.embed_tokens"]
    x = torch.randint(0, 100, (2, 7), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want = Llama.from_pretrained(tuned_dir).eval()(x).logits.numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PEFT's notes on tied weights)
            peft_model = PeftModel.from_pretrained(Llama.from_pretrained(base_dir), str(out))
        got = peft_model.eval()(x).logits.numpy()
        merged_dir = merge(base_dir, out, tmp_path / "merged")
        assert "lm_head.weight" not in Checkpoint(merged_dir)  # still tied, still one weight
        ours = Llama.from_pretrained(merged_dir).eval()(x).logits.numpy()
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= 1e-5 * scale
    assert np.abs(ours - want).max() <= 1e-5 * scale


def test_a_tied_embedding_peft_cannot_tie_is_reported(tmp_path):
    """GPT-2's head is tied to ``transformer.wte``, which PEFT does not tie adapters to:
    the report says that the head will not see the change in PEFT. A config without
    ``tie_word_embeddings`` (GPT-2's own) ties, as transformers does, when the model has
    a head and the checkpoint no ``lm_head.weight``."""
    from safetensors.numpy import load_file, save_file

    from svdkit.lora.modules import ties_word_embeddings

    base_dir, tuned_dir, weights, tuned, _ = _gpt2_pair(tmp_path)
    rng = np.random.default_rng(3)
    w = weights["transformer.wte.weight"]
    tuned["transformer.wte.weight"] = (w + 0.1 * np.outer(rng.standard_normal(100),
                                                          rng.standard_normal(32))).astype(w.dtype)
    save_file(tuned, str(tuned_dir / "model.safetensors"), metadata={"format": "pt"})
    for folder in (base_dir, tuned_dir):
        cfg = json.loads((folder / "config.json").read_text())
        cfg.pop("tie_word_embeddings", None)
        (folder / "config.json").write_text(json.dumps(cfg))
    assert ties_word_embeddings(Checkpoint(tuned_dir))
    ex = extract(base_dir, tuned_dir, RankRule(rank=2))
    assert "transformer.wte" in ex.adapter.modules
    assert "ensure_weight_tying" not in ex.adapter.peft_config()
    [note] = ex.report.notes
    assert "tied to 'transformer.wte'" in note and "svdkit lora merge" in note
    # an untied model with a head of its own: nothing to say
    untied = load_file(str(tuned_dir / "model.safetensors"))
    untied["lm_head.weight"] = untied["transformer.wte.weight"].copy()
    save_file(untied, str(tuned_dir / "model.safetensors"), metadata={"format": "pt"})
    assert not ties_word_embeddings(Checkpoint(tuned_dir))
