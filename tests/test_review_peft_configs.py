"""svdkit.lora against real PEFT adapters whose config changes what a merge means.

Each test builds a tiny torch model, makes an adapter with ``get_peft_model`` +
``save_pretrained``, and checks that svdkit either does what PEFT does (its merge
equals ``merge_and_unload()``, its resized adapter loads back in PEFT to the same
model) or refuses with an svdkit error naming the config field: PiSSA-style inits
that change the base, ``fan_in_fan_out`` / transformers' ``Conv1D``, BD-LoRA,
Activated LoRA, embeddings named like linear layers and back, a resize to rank 0
with ``bias="lora_only"``, a tied head, ``nn.MultiheadAttention`` and folders of
several adapters.
"""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest
import torch
from cli_support import error_line, run_svdkit
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import save_file
from torch import nn
from transformers.pytorch_utils import Conv1D

from svdkit.errors import FileFormatError, MissingFileError, MissingTensorError, ShapeError
from svdkit.lora import Adapter, Checkpoint, RankRule, extract, pissa, resize
from svdkit.lora.merge import merge
from svdkit.lora.modules import is_embedding, weight_layouts


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(16, 16)
        self.v = nn.Linear(16, 24)

    def forward(self, x):
        return self.v(self.q(x))


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Block() for _ in range(2)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class WithConv1D(nn.Module):
    """transformers' Conv1D (weight [in, out]) under names that are not GPT-2's."""

    def __init__(self):
        super().__init__()
        self.proj = Conv1D(16, 16)  # square
        self.up = Conv1D(24, 16)  # weight [16, 24]
        self.head = nn.Linear(24, 4)

    def forward(self, x):
        return self.head(self.up(self.proj(x)))


def _state(model):
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def _save_base(model, path):
    save_file(_state(model), str(path))
    return path


def _make_adapter(model, config, directory, seed=1):
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = get_peft_model(copy.deepcopy(model), config)
    with torch.no_grad():
        for _, p in pm.named_parameters():
            if p.requires_grad:
                p.add_(0.1 * torch.randn_like(p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm.save_pretrained(str(directory))
    return json.loads((directory / "adapter_config.json").read_text())


def _peft_merged(model, directory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = PeftModel.from_pretrained(copy.deepcopy(model), str(directory))
        merged = pm.merge_and_unload()
    return {k: v.detach().double().numpy() for k, v in merged.state_dict().items()}


def _read(path):
    ck = Checkpoint(path)
    return {n: np.asarray(ck.read(n, np.float64)) for n in ck.names}


def _max_diff(got, ref, names=None):
    names = sorted(got) if names is None else names
    return max(float(np.max(np.abs(got[n] - ref[n]))) for n in names)


# ---------------------------------------------------------------- 1. base-changing inits
@pytest.mark.parametrize("init", ["pissa", "olora"])
def test_base_changing_init_is_refused_by_merge_and_resize(tmp_path, init):
    torch.manual_seed(0)
    model = Stack()
    base = _save_base(model, tmp_path / "base.safetensors")
    cfg = _make_adapter(model, LoraConfig(target_modules=["q"], r=2, init_lora_weights=init),
                        tmp_path / "ad")
    assert cfg["init_lora_weights"] == init
    ref = _peft_merged(model, tmp_path / "ad")
    plain = {k: v.double().numpy() for k, v in _state(model).items()}
    # PEFT merges into the residual it rebuilds, not into W + s·B A: the two differ
    ad = Adapter.load(tmp_path / "ad")
    naive = plain["layers.0.q.weight"] + ad.modules["layers.0.q"].delta()
    assert np.max(np.abs(naive - ref["layers.0.q.weight"])) > 1e-2
    with pytest.raises(FileFormatError, match=r"init_lora_weights is '" + init + "'.*merge.*"
                       "path_initial_model_for_weight_conversion"):
        merge(base, tmp_path / "ad", tmp_path / "merged")
    assert not (tmp_path / "merged").exists()
    with pytest.raises(FileFormatError, match=r"init_lora_weights.*resize"):
        resize(ad, RankRule(rank=2))
    # read and written back unchanged, the field is kept (PEFT then rebuilds the residual)
    ad.save(tmp_path / "copy")
    back = json.loads((tmp_path / "copy" / "adapter_config.json").read_text())
    assert back["init_lora_weights"] == init
    got = _peft_merged(model, tmp_path / "copy")
    assert _max_diff(got, ref) < 1e-5


def test_init_that_keeps_the_base_still_merges_like_peft(tmp_path):
    torch.manual_seed(0)
    model = Stack()
    base = _save_base(model, tmp_path / "base.safetensors")
    _make_adapter(model, LoraConfig(target_modules=["q", "v"], r=2,
                                    init_lora_weights="gaussian"), tmp_path / "ad")
    ref = _peft_merged(model, tmp_path / "ad")
    got = _read(merge(base, tmp_path / "ad", tmp_path / "merged.safetensors"))
    assert _max_diff(got, ref) < 1e-5


# ---------------------------------------------------------------- 2. GPT-2, flag false
def test_gpt2_adapter_saved_with_fan_in_fan_out_false_merges_like_peft(tmp_path):
    from transformers import GPT2Config, GPT2ForSequenceClassification

    torch.manual_seed(0)
    g = GPT2ForSequenceClassification(GPT2Config(
        n_embd=16, n_layer=1, n_head=2, vocab_size=50, n_positions=32, num_labels=16,
        pad_token_id=0, bos_token_id=0, eos_token_id=0))
    g.save_pretrained(tmp_path / "base")
    cfg = _make_adapter(g, LoraConfig(target_modules=["attn.c_proj", "score"],
                                      fan_in_fan_out=True, r=2, init_lora_weights=False),
                        tmp_path / "ad")
    assert cfg["fan_in_fan_out"] is False  # PEFT's last wrapped layer was the Linear head
    ref = _peft_merged(g, tmp_path / "ad")
    got = _read(merge(tmp_path / "base", tmp_path / "ad", tmp_path / "merged"))
    # (the square c_proj [16, 16] needs (B A)ᵀ: B A would differ by ~1)
    assert _max_diff(got, ref) < 1e-5


# ---------------------------------------------------------------- 3. Conv1D, other names
def test_custom_conv1d_square_is_refused_then_explicit_option_matches_peft(tmp_path):
    torch.manual_seed(0)
    model = WithConv1D()
    base = _save_base(model, tmp_path / "base.safetensors")
    cfg = _make_adapter(model, LoraConfig(target_modules=["proj", "up"], fan_in_fan_out=True,
                                          r=2, init_lora_weights=False), tmp_path / "ad")
    assert cfg["fan_in_fan_out"] is True
    ref = _peft_merged(model, tmp_path / "ad")
    with pytest.raises(ShapeError, match=r"'proj'.*Conv1D.*fan_in_fan_out"):
        merge(base, tmp_path / "ad", tmp_path / "m0")
    for option in (True, ["proj", "up"], "proj|up"):
        got = _read(merge(base, tmp_path / "ad", tmp_path / "m.safetensors",
                          fan_in_fan_out=option))
        assert _max_diff(got, ref) < 1e-5
    # the non-square one ([16, 24] = (B A)ᵀ) needs no help: only 'up' targeted
    _make_adapter(model, LoraConfig(target_modules=["up"], fan_in_fan_out=True, r=2,
                                    init_lora_weights=False), tmp_path / "up")
    got = _read(merge(base, tmp_path / "up", tmp_path / "up.safetensors"))
    assert _max_diff(got, _peft_merged(model, tmp_path / "up")) < 1e-5
    # an explicit answer the base contradicts is named
    with pytest.raises(ShapeError, match=r"'up'.*Conv1D"):
        merge(base, tmp_path / "ad", tmp_path / "m1", fan_in_fan_out=False)


def test_merge_cli_conv1d_option(tmp_path, capsys, monkeypatch):
    torch.manual_seed(0)
    model = WithConv1D()
    base = _save_base(model, tmp_path / "base.safetensors")
    _make_adapter(model, LoraConfig(target_modules=["proj"], fan_in_fan_out=True, r=2,
                                    init_lora_weights=False), tmp_path / "ad")
    ref = _peft_merged(model, tmp_path / "ad")
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "merge", str(base), str(tmp_path / "ad"), "-o",
                       str(tmp_path / "m0.safetensors"))
    assert code != 0 and "fan_in_fan_out" in error_line(code, err)
    code, _, err = run("lora", "merge", str(base), str(tmp_path / "ad"), "-o",
                       str(tmp_path / "m.safetensors"), "--conv1d", "proj")
    assert code == 0, err
    assert _max_diff(_read(tmp_path / "m.safetensors"), ref) < 1e-5


def test_extract_explicit_fan_in_fan_out_covers_conv1d_with_other_names(tmp_path):
    torch.manual_seed(0)
    model = WithConv1D()
    base = _save_base(model, tmp_path / "base.safetensors")
    tuned = copy.deepcopy(model)
    with torch.no_grad():
        tuned.proj.weight.add_(0.05 * torch.randn_like(tuned.proj.weight))
        tuned.up.weight.add_(0.05 * torch.randn_like(tuned.up.weight))
    tuned_path = _save_base(tuned, tmp_path / "tuned.safetensors")
    ex = extract(base, tuned_path, RankRule(rank=16), fan_in_fan_out=True)
    assert {m.kind for m in ex.adapter.modules.values()} == {"conv1d"}
    ex.adapter.save(tmp_path / "ad")
    assert json.loads((tmp_path / "ad" / "adapter_config.json").read_text())["fan_in_fan_out"]
    got = _peft_merged(model, tmp_path / "ad")
    want = {k: v.double().numpy() for k, v in _state(tuned).items()}
    assert _max_diff(got, want) < 1e-5


def test_weight_layouts_rules():
    square = {"proj": (8, 8)}
    assert weight_layouts(square, square, flag=False, model="llama") == set()
    with pytest.raises(ShapeError, match=r"'proj'"):
        weight_layouts(square, square, flag=True, model=None)
    # flag false, but another module is a Conv1D by its shape: ambiguous
    products = {"proj": (8, 8), "up": (12, 8)}
    with pytest.raises(ShapeError, match=r"'proj'"):
        weight_layouts(products, {"proj": (8, 8), "up": (8, 12)}, flag=False, model=None)
    assert weight_layouts(products, {"proj": (8, 8), "up": (8, 12)}, flag=False, model=None,
                          fan_in_fan_out=["up"]) == {"up"}
    # GPT-2's names in a GPT-2 model, whatever the flag; its Linear head stays Linear
    gpt2 = {"h.0.attn.c_proj": (8, 8), "lm_head": (8, 8)}
    assert weight_layouts(gpt2, gpt2, flag=False, model="gpt2") == {"h.0.attn.c_proj"}
    # the same without a config.json: the name alone does not tell (a Linear named c_proj)
    with pytest.raises(ShapeError, match=r"'h\.0\.attn\.c_proj'.*no config\.json"):
        weight_layouts(gpt2, gpt2, flag=False, model=None)
    assert weight_layouts(gpt2, gpt2, flag=False, model=None,
                          fan_in_fan_out="c_proj") == {"h.0.attn.c_proj"}


# ---------------------------------------------------------------- 4, 6. BD-LoRA, aLoRA
def test_bdlora_adapter_is_refused(tmp_path):
    torch.manual_seed(0)
    model = Stack()
    cfg = _make_adapter(model, LoraConfig(
        target_modules=["q"], r=4, init_lora_weights=False,
        use_bdlora={"target_modules_bd_a": ["q"], "target_modules_bd_b": [], "nblocks": 2}),
        tmp_path / "ad")
    assert cfg["use_bdlora"]
    with pytest.raises(FileFormatError, match=r"BD-LoRA.*use_bdlora.*not supported"):
        Adapter.load(tmp_path / "ad")


def test_activated_lora_merge_is_refused_and_resize_keeps_it(tmp_path):
    torch.manual_seed(0)
    model = Stack()
    base = _save_base(model, tmp_path / "base.safetensors")
    _make_adapter(model, LoraConfig(target_modules=["q"], r=2, init_lora_weights=False),
                  tmp_path / "ad")
    path = tmp_path / "ad" / "adapter_config.json"
    cfg = json.loads(path.read_text())
    cfg.update(alora_invocation_tokens=[5, 6], task_type="CAUSAL_LM")
    path.write_text(json.dumps(cfg))
    with pytest.raises(FileFormatError, match=r"Activated LoRA.*alora_invocation_tokens"):
        merge(base, tmp_path / "ad", tmp_path / "merged")
    small, _ = resize(Adapter.load(tmp_path / "ad"), RankRule(rank=1))
    assert small.peft_config()["alora_invocation_tokens"] == [5, 6]


# ---------------------------------------------------------------- 5. embedding by name
class Named(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_emb = nn.Embedding(30, 16)  # an nn.Embedding without "embed" in its name
        self.x_embedder = nn.Linear(16, 12)  # a Linear with "embed" in its name
        self.fc = nn.Linear(12, 12)

    def forward(self, ids):
        return self.fc(self.x_embedder(self.tok_emb(ids)))


def _named_pair(tmp_path):
    torch.manual_seed(0)
    model = Named()
    tuned = copy.deepcopy(model)
    with torch.no_grad():
        for p in tuned.parameters():
            if p.ndim == 2:
                p.add_(0.05 * torch.randn_like(p))
    base = _save_base(model, tmp_path / "base.safetensors")
    return model, tuned, base, _save_base(tuned, tmp_path / "tuned.safetensors")


def test_embedding_guess_by_name_matches_peft(tmp_path):
    model, tuned, base, tuned_path = _named_pair(tmp_path)
    ex = extract(base, tuned_path, RankRule(rank=16))
    kinds = {n: m.kind for n, m in ex.adapter.modules.items()}
    assert kinds == {"tok_emb": "embedding", "x_embedder": "linear", "fc": "linear"}
    ex.adapter.save(tmp_path / "ad")
    got = _peft_merged(model, tmp_path / "ad")
    want = {k: v.double().numpy() for k, v in _state(tuned).items()}
    assert _max_diff(got, want) < 1e-5
    # PiSSA leaves the nn.Embedding alone: residual + adapter in PEFT is the base again
    _, res = pissa(base, tmp_path / "pa", tmp_path / "res.safetensors", RankRule(rank=2))
    rm = copy.deepcopy(model)
    rm.load_state_dict({n: torch.tensor(v, dtype=torch.float32)
                        for n, v in _read(res).items()})
    got = _peft_merged(rm, tmp_path / "pa")
    want = {k: v.double().numpy() for k, v in _state(model).items()}
    assert _max_diff(got, want) < 1e-5


def test_embedding_overrides(tmp_path):
    _, _, base, tuned_path = _named_pair(tmp_path)
    ex = extract(base, tuned_path, RankRule(rank=2), embedding_modules=["fc"],
                 linear_modules=["tok_emb"])
    kinds = {n: m.kind for n, m in ex.adapter.modules.items()}
    assert kinds == {"tok_emb": "linear", "x_embedder": "linear", "fc": "embedding"}
    assert is_embedding("rwkv.emb") and is_embedding("model.pos_emb")
    assert not is_embedding("context_embedder") and not is_embedding("x_embedder")
    assert not is_embedding("tok_emb", linear_modules=["tok_emb"])
    ad, _ = pissa(base, tmp_path / "pa", tmp_path / "res.safetensors", RankRule(rank=2),
                  linear_modules=["tok_emb"])
    assert "tok_emb" in ad.modules


# ---------------------------------------------------------------- 7. rank 0 + bias
def test_resize_to_rank_zero_with_lora_only_bias_loads_in_peft(tmp_path):
    torch.manual_seed(0)
    model = Stack()
    _make_adapter(model, LoraConfig(target_modules=["q", "v"], bias="lora_only", r=2,
                                    init_lora_weights=False), tmp_path / "ad")
    ad = Adapter.load(tmp_path / "ad")
    ad.modules["layers.0.q"].B[:] = 0  # a module that never trained
    small, report = resize(ad, RankRule(energy=0.9))
    assert {r.name: r.rank for r in report}["layers.0.q"] == 0
    zero = small.modules["layers.0.q"]
    assert zero.r == 1 and not np.any(zero.delta())
    small.save(tmp_path / "small")
    cfg = json.loads((tmp_path / "small" / "adapter_config.json").read_text())
    assert cfg["modules_to_save"] is None and "layers.0.q" in cfg["target_modules"]
    got = _peft_merged(model, tmp_path / "small")
    # the bias trained with the module is applied; its weight is the base's
    bias = ad.saved["layers.0.q.bias"]
    assert np.allclose(got["layers.0.q.bias"], bias, atol=1e-6)
    assert np.allclose(got["layers.0.q.weight"], model.layers[0].q.weight.detach().numpy())
    want = {n: m.delta() for n, m in small.modules.items()}
    for name, delta in want.items():
        before = dict(model.named_parameters())[f"{name}.weight"].detach().double().numpy()
        assert np.allclose(got[f"{name}.weight"] - before, delta, atol=1e-5)


# ---------------------------------------------------------------- 8, 9, 10. messages
def test_tied_lm_head_merge_names_the_tie(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    g = GPT2LMHeadModel(GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=50,
                                   n_positions=32, bos_token_id=0, eos_token_id=0))
    g.save_pretrained(tmp_path / "base")
    _make_adapter(g, LoraConfig(target_modules=["lm_head"], r=2, init_lora_weights=False),
                  tmp_path / "ad")
    with pytest.raises(MissingTensorError,
                       match=r"ties its output head.*'transformer\.wte\.weight'"):
        merge(tmp_path / "base", tmp_path / "ad", tmp_path / "merged")


def test_multihead_attention_merge_names_the_layer_type(tmp_path):
    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(16, 2)

    torch.manual_seed(0)
    model = G()
    base = _save_base(model, tmp_path / "base.safetensors")
    _make_adapter(model, LoraConfig(target_modules=["attn"], r=2, init_lora_weights=False),
                  tmp_path / "ad")
    with pytest.raises(MissingTensorError, match=r"nn.MultiheadAttention.*'attn'.*not support"):
        merge(base, tmp_path / "ad", tmp_path / "merged")


def test_folder_of_several_adapters_lists_them(tmp_path, capsys, monkeypatch):
    torch.manual_seed(0)
    model = Stack()
    for name in ("other", "third"):
        (tmp_path / "ad" / name).mkdir(parents=True)
        _make_adapter(model, LoraConfig(target_modules=["q"], r=2), tmp_path / "ad" / name)
    with pytest.raises(MissingFileError, match=r"adapters in other/, third/ .*give one"):
        Adapter.load(tmp_path / "ad")
    code, _, err = run_svdkit(capsys, monkeypatch)("lora", "analyse", str(tmp_path / "ad"))
    assert "other/, third/" in error_line(code, err)
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "lora", "resize", str(tmp_path / "ad"), "-o", str(tmp_path / "out"), "--rank", "1")
    assert "other/, third/" in error_line(code, err)


def test_extract_notes_only_the_weak_embedding_guesses(tmp_path):
    # `tok_emb` is taken for a table by its abbreviation: the report says so and how
    # to override it; `embed_tokens` is a table in every model that has it: no note
    rng = np.random.default_rng(0)
    for name, noted in (("tok_emb", True), ("model.embed_tokens", False)):
        base = {f"{name}.weight": torch.from_numpy(rng.standard_normal((40, 8)).astype("f4"))}
        tuned = {k: v + 0.1 * torch.outer(torch.randn(40), torch.randn(8)) for k, v in base.items()}
        for folder, weights in (("base", base), ("tuned", tuned)):
            (tmp_path / name / folder).mkdir(parents=True)
            save_file(weights, str(tmp_path / name / folder / "model.safetensors"))
        ex = extract(tmp_path / name / "base", tmp_path / name / "tuned", RankRule(rank=1))
        assert ex.adapter.modules[name].kind == "embedding"
        notes = [n for n in ex.report.notes if "by their names" in n]
        assert bool(notes) == noted
        if noted:
            # (Python's name here; the command line's --not-embedding NAME in
            # test_review_lora_flags.py)
            assert "tok_emb" in notes[0] and "linear_modules=['NAME']" in notes[0]
