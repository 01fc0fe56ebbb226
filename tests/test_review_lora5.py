"""Review of ``svdkit.lora`` (fifth round): outputs never lost, layers PEFT builds by class.

* ``analyse --json`` / ``--figure`` follow the output rules of the other commands: never
  an input (or a file inside one), never an existing file svdkit did not write;
* a re-run of ``merge`` / ``pissa --residual`` replaces only the files it wrote or
  copied there (listed in its shards' mark), and names the others when it refuses;
* ``merge`` copies what the base needs to load: ``chat_template.jinja``,
  sentence-transformers' module folders (``1_Pooling/``), extra chat templates;
* T5's / MPNet's ``relative_attention_bias`` is an ``nn.Embedding``: ``lora_embedding_A/B``;
* only GPT-2's ``Conv1D`` names are ``Conv1D``: a linear ``score`` head is ``nn.Linear``;
* PEFT's LoRA of ``nn.Conv2d`` / ``nn.Conv1d`` is merged, resized and analysed.
"""

from __future__ import annotations

import json
import shutil
import warnings

import cli_support
import lora_support
import numpy as np
import pytest

from svdkit.errors import FileFormatError, ShapeError
from svdkit.lora import Adapter, Checkpoint, RankRule, extract, save_safetensors
from svdkit.lora.adapter import LoraModule
from svdkit.lora.analyse import analyse_adapter, written_by_analyse
from svdkit.lora.merge import FILES_KEY, merge
from svdkit.lora.modules import conv1d_modules, is_embedding
from svdkit.lora.pissa import pissa
from svdkit.lora.resize import resize


@pytest.fixture
def run(capsys, monkeypatch):
    return cli_support.run_svdkit(capsys, monkeypatch)


@pytest.fixture
def pair(tmp_path):
    """``(dir, base, tuned)``: directories of a 40×24 matrix with a rank-2 change and a
    ``config.json``."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((40, 24)).astype(np.float32)
    D = (0.1 * rng.standard_normal((40, 2)) @ rng.standard_normal((2, 24))).astype(np.float32)
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    for d, w in ((base, W), (tuned, W + D)):
        d.mkdir()
        save_safetensors(d / "model.safetensors", {"fc.weight": w}, {"format": "pt"})
        (d / "config.json").write_text('{"model_type": "custom"}')
    return tmp_path, base, tuned


def _files(directory):
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*")) if p.is_file()
    }


# ------------------------------------------------------- 1. analyse's outputs


def test_analyse_outputs_never_replace_an_input_or_a_file_svdkit_did_not_write(pair, run):
    d, base, tuned = pair
    code, _, err = run("lora", "extract", base, tuned, "-o", d / "ad", "--rank", "2")
    assert code == 0, err
    inputs = {**_files(base), **{"t/" + k: v for k, v in _files(tuned).items()}}
    adapter = _files(d / "ad")
    refused = [
        (("lora", "analyse", base, tuned, "--json", tuned / "model.safetensors"), "tuned"),
        (("lora", "analyse", base, tuned, "--json", base / "config.json"), "base"),
        (("lora", "analyse", base / "model.safetensors", tuned / "model.safetensors",
          "--json", base / "model.safetensors"), "would replace the base"),
        (("lora", "analyse", d / "ad", "--json", d / "ad" / "adapter_config.json"), "adapter"),
        (("lora", "analyse", d / "ad", "--figure", d / "ad" / "spectra.png"), "adapter"),
    ]
    for args, words in refused:
        msg = cli_support.error_line(*run(*args)[::2])
        assert words in msg, msg
    assert {**_files(base), **{"t/" + k: v for k, v in _files(tuned).items()}} == inputs
    assert _files(d / "ad") == adapter
    # a file of the user's, whatever its name, is never replaced
    (d / "notes.json").write_text('{"accuracy": 0.91}')
    (d / "rows.json").write_text('[{"module": "fc", "mine": true}]')
    (d / "plot.png").write_bytes(b"\x89PNG my own figure")
    (d / "plot.svg").write_text("<svg>drawn by hand</svg>")
    mine = {n: (d / n).read_bytes() for n in ("notes.json", "rows.json", "plot.png", "plot.svg")}
    for option, name in (("--json", "notes.json"), ("--json", "rows.json"),
                         ("--figure", "plot.png"), ("--figure", "plot.svg")):
        code, out, err = run("lora", "analyse", base, tuned, option, d / name)
        msg = cli_support.error_line(code, err)
        assert name in msg and "not a file svdkit lora analyse wrote" in msg, msg
        assert "LoRA spectra" not in out  # refused before any work
    assert {n: (d / n).read_bytes() for n in mine} == mine
    # svdkit's own outputs are replaced, run after run
    for energy in ("0.5", "0.99"):
        for args in (("lora", "analyse", base, tuned), ("lora", "analyse", d / "ad")):
            code, _, err = run(*args, "--energy", energy, "--json", d / "out.json",
                               "--figure", d / "out.png")
            assert code == 0, err
            code, _, err = run(*args, "--figure", d / "out.svg")
            assert code == 0, err
    assert json.loads((d / "out.json").read_text())[0]["module"] == "fc"
    assert all(written_by_analyse(d / n) for n in ("out.json", "out.png", "out.svg"))
    assert not any(written_by_analyse(d / n) for n in mine)
    assert not written_by_analyse(tuned / "model.safetensors")


# ------------------------------------------------------- 2. merge's re-runs


def test_a_merge_rerun_replaces_only_what_it_wrote_and_names_the_rest(pair, run):
    d, base, tuned = pair
    ad = extract(base, tuned, RankRule(rank=2)).adapter.save(d / "ad")
    merged = d / "merged"
    code, _, err = run("lora", "merge", base, ad, "-o", merged)
    assert code == 0, err
    assert sorted(p.name for p in merged.iterdir()) == ["config.json", "model.safetensors"]
    # what merge copied may be replaced (an edited config.json is the base's again)
    (merged / "config.json").write_text("{}")
    code, _, err = run("lora", "merge", base, ad, "-o", merged)
    assert code == 0, err
    assert (merged / "config.json").read_text() == '{"model_type": "custom"}'
    # the user's files, named like side files or not, are never removed
    (merged / "eval_results.json").write_text('{"accuracy": 0.91}')
    (merged / "NOTES.md").write_text("my notes")
    (merged / "train_log.txt").write_text("loss 0.1")
    (merged / "runs").mkdir()
    (merged / "runs" / "events").write_text("x")
    before = _files(merged)
    code, _, err = run("lora", "merge", base, ad, "-o", merged)
    msg = cli_support.error_line(code, err)
    for name in ("eval_results.json", "NOTES.md", "train_log.txt", "runs/"):
        assert name in msg, msg
    assert "refusing to replace" in msg
    assert _files(merged) == before
    with pytest.raises(FileFormatError, match="eval_results"):
        merge(base, ad, merged)
    # the files it may replace are those its shards list as written with them
    meta = Checkpoint(merged).metadata
    assert json.loads(meta[FILES_KEY]) == ["model.safetensors", "config.json"]
    # pissa's residual is written by the same writer, under the same rule
    res = d / "residual"
    pissa(base, d / "pa", res, RankRule(rank=1))
    (res / "NOTES.md").write_text("mine")
    shutil.rmtree(d / "pa")
    with pytest.raises(FileFormatError, match=r"NOTES\.md"):
        pissa(base, d / "pa", res, RankRule(rank=1))
    assert (res / "NOTES.md").read_text() == "mine"
    (res / "NOTES.md").unlink()
    pissa(base, d / "pa2", res, RankRule(rank=1))  # its own files alone: replaced


# ------------------------------------------------------- 5. what the base needs to load


def test_merge_copies_the_chat_template_and_sentence_transformers_folders(pair):
    d, base, tuned = pair
    (base / "chat_template.jinja").write_text("{{ messages }}")
    (base / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "x.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "x.Normalize"},
        {"idx": 3, "name": "3", "path": "../outside", "type": "x"},
    ]))
    (base / "1_Pooling").mkdir()
    (base / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 24}')
    (base / "additional_chat_templates").mkdir()
    (base / "additional_chat_templates" / "tools.jinja").write_text("{{ tools }}")
    (base / "onnx").mkdir()  # another runtime's copy of the base weights: not the merge
    (base / "onnx" / "model.onnx").write_bytes(b"base weights")
    (d / "outside").mkdir()
    (d / "outside" / "secret.json").write_text("{}")
    ad = extract(base, tuned, RankRule(rank=2)).adapter.save(d / "ad")
    wanted = ["1_Pooling/config.json", "additional_chat_templates/tools.jinja",
              "chat_template.jinja", "config.json", "model.safetensors", "modules.json"]
    residual = pissa(base, d / "pa", d / "res", RankRule(rank=1))[1]
    for out in (merge(base, ad, d / "merged"), residual):
        got = _files(out)
        assert sorted(got) == wanted
        assert all(got[n] == (base / n).read_bytes() for n in wanted if n != "model.safetensors")
        assert sorted(json.loads(Checkpoint(out).metadata[FILES_KEY])) == wanted
    # a re-run replaces them all: they are its own
    merge(base, ad, d / "merged")
    # a file the user adds inside a copied folder is not
    (d / "merged" / "1_Pooling" / "mine.txt").write_text("x")
    with pytest.raises(FileFormatError, match=r"1_Pooling/mine\.txt"):
        merge(base, ad, d / "merged")


def test_merged_real_minilm_loads_as_the_sentence_transformers_model(tmp_path):
    from sentence_transformers import SentenceTransformer

    base = tmp_path / "base"
    shutil.copytree(lora_support.minilm_dir(), base)
    assert (base / "1_Pooling").is_dir()
    name = "encoder.layer.0.attention.self.query"
    rng = np.random.default_rng(0)
    ad = Adapter({name: LoraModule(name, "linear", A=rng.standard_normal((1, 384)) * 0.01,
                                   B=rng.standard_normal((384, 1)), alpha=1.0)})
    out = merge(base, ad, tmp_path / "merged")
    kinds = [type(m).__name__ for m in SentenceTransformer(str(base), device="cpu")]
    assert kinds == ["Transformer", "Pooling", "Normalize"]
    assert [type(m).__name__ for m in SentenceTransformer(str(out), device="cpu")] == kinds


# ------------------------------------------------------- 3. T5's relative_attention_bias


def test_t5_relative_attention_bias_is_an_embedding_lora_that_peft_loads(tmp_path):
    import torch
    from transformers import T5Config, T5Model

    assert is_embedding("encoder.block.0.layer.0.SelfAttention.relative_attention_bias")
    assert is_embedding("encoder.relative_attention_bias")  # MPNet's
    torch.manual_seed(0)
    cfg = T5Config(vocab_size=32, d_model=8, d_kv=4, d_ff=16, num_layers=1, num_heads=2,
                   relative_attention_num_buckets=8)
    model = T5Model(cfg)
    model.save_pretrained(tmp_path / "base")
    bias = model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias
    assert isinstance(bias, torch.nn.Embedding)
    with torch.no_grad():
        bias.weight += 0.5 * torch.randn(8, 2)
    model.save_pretrained(tmp_path / "tuned")
    name = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias"
    ex = extract(tmp_path / "base", tmp_path / "tuned", RankRule(rank=2))
    m = ex.adapter.modules[name]
    assert m.kind == "embedding" and m.A.shape == (2, 8) and m.B.shape == (2, 2)
    out = ex.adapter.save(tmp_path / "ad")
    keys = Checkpoint(out / "adapter_model.safetensors").names
    assert f"base_model.model.{name}.lora_embedding_A" in keys
    merged = lora_support.peft_load_and_merge(T5Model, tmp_path / "base", out)
    want = bias.weight.detach().numpy()
    assert np.abs(merged[name + ".weight"] - want).max() < 1e-5


# ------------------------------------------------------- 4. GPT-2's linear heads


def _gpt2_classifier(tmp_path):
    import torch
    from transformers import GPT2Config, GPT2ForSequenceClassification

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=40, n_embd=16, n_layer=1, n_head=2, n_positions=8,
                     num_labels=3, pad_token_id=0)
    model = GPT2ForSequenceClassification(cfg).eval()
    model.save_pretrained(tmp_path / "base")
    return model


def test_a_gpt2_linear_head_is_not_taken_for_a_conv1d(tmp_path):
    import torch
    from transformers import GPT2ForSequenceClassification

    assert conv1d_modules(["score", "lm_head", "qa_outputs", "classifier"]) == set()
    assert conv1d_modules(["h.0.attn.c_attn", "score"]) == {"h.0.attn.c_attn"}
    model = _gpt2_classifier(tmp_path)
    with torch.no_grad():  # a linear probe: only the nn.Linear head [3, 16] changed
        model.score.weight += 0.1 * torch.randn(3, 1) @ torch.randn(1, 16)
    model.save_pretrained(tmp_path / "tuned")
    ex = extract(tmp_path / "base", tmp_path / "tuned", RankRule(rank=1))
    m = ex.adapter.modules["score"]
    assert (m.kind, m.A.shape, m.B.shape) == ("linear", (1, 16), (3, 1))
    out = ex.adapter.save(tmp_path / "ad")
    merged = lora_support.peft_load_and_merge(GPT2ForSequenceClassification, tmp_path / "base",
                                              out)
    assert np.abs(merged["score.weight"] - model.score.weight.detach().numpy()).max() < 1e-6
    # a fan_in_fan_out adapter holding only that head reads it back as nn.Linear
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["fan_in_fan_out"] is False
    cfg["fan_in_fan_out"] = True
    (out / "adapter_config.json").write_text(json.dumps(cfg))
    assert Adapter.load(out).modules["score"].kind == "linear"
    merged = Checkpoint(merge(tmp_path / "base", out, tmp_path / "merged")).read("score.weight")
    assert np.abs(merged - model.score.weight.detach().numpy()).max() < 1e-6


def test_a_targeted_gpt2_head_beside_changed_conv1d_layers(tmp_path):
    import torch
    from transformers import GPT2ForSequenceClassification

    model = _gpt2_classifier(tmp_path)
    with torch.no_grad():
        model.score.weight += 0.1 * torch.randn(3, 1) @ torch.randn(1, 16)
        model.transformer.h[0].attn.c_attn.weight += 0.01
    model.save_pretrained(tmp_path / "tuned")
    ex = extract(tmp_path / "base", tmp_path / "tuned", RankRule(rank=1), targets=["score"],
                 extras="list")
    assert {n: m.kind for n, m in ex.adapter.modules.items()} == {"score": "linear"}
    out = ex.adapter.save(tmp_path / "ad")
    merged = lora_support.peft_load_and_merge(GPT2ForSequenceClassification, tmp_path / "base",
                                              out)
    assert np.abs(merged["score.weight"] - model.score.weight.detach().numpy()).max() < 1e-6


# ------------------------------------------------------- 6. PEFT's LoRA of convolutions


def _conv_net():
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 6, 3)
            self.conv1 = nn.Conv1d(4, 5, 2)
            self.fc = nn.Linear(8, 8)

    torch.manual_seed(0)
    return Net()


def _state(model):
    return {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}


def test_peft_conv_lora_is_merged_resized_and_analysed(tmp_path, run):
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    net = _conv_net()
    base_sd = _state(net)
    save_safetensors(tmp_path / "base.safetensors", base_sd, {"format": "pt"})
    pm = get_peft_model(net, LoraConfig(r=2, lora_alpha=4, target_modules=["conv", "conv1", "fc"]))
    lora_support.randomise_trainable(pm)
    pm.save_pretrained(str(tmp_path / "ad"))
    want = _state(pm.merge_and_unload())
    ad = Adapter.load(tmp_path / "ad")
    assert ad.modules["conv"].kind == "conv" and ad.modules["conv"].weight_shape == (6, 3, 3, 3)
    assert ad.modules["conv1"].weight_shape == (5, 4, 2)
    # merge: PEFT's merge_and_unload, weight by weight
    out = merge(tmp_path / "base.safetensors", tmp_path / "ad", tmp_path / "merged")
    ck = Checkpoint(out)
    for name in ("conv.weight", "conv1.weight", "fc.weight"):
        assert np.abs(ck.read(name) - want[name]).max() < 1e-6, name
    # resize: the best rank-1 kernel of the flattened delta, in PEFT's conv layout
    small, report = resize(ad, RankRule(rank=1))
    conv = small.modules["conv"]
    assert conv.A.shape == (1, 3, 3, 3) and conv.B.shape == (6, 1, 1, 1)
    delta = (want["conv.weight"] - base_sd["conv.weight"]).reshape(6, -1).astype(np.float64)
    U, s, Vh = np.linalg.svd(delta)
    best = (s[0] * np.outer(U[:, 0], Vh[0])).reshape(6, 3, 3, 3)
    assert np.abs(conv.delta() - best).max() < 1e-5
    assert [r.rank for r in report] == [1, 1, 1]
    small.save(tmp_path / "small")
    fresh = _conv_net()
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in base_sd.items()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = PeftModel.from_pretrained(fresh, str(tmp_path / "small"))
    assert not [str(w.message) for w in caught if "keys" in str(w.message).lower()]
    peft_small = _state(loaded.merge_and_unload())
    assert np.abs(peft_small["conv.weight"] - base_sd["conv.weight"] - best).max() < 1e-5
    # analyse: the exact spectrum of the flattened kernel delta
    an = analyse_adapter(tmp_path / "ad")
    row = next(r for r in an.rows() if r["module"] == "conv")
    assert row["shape"] == [6, 3, 3, 3]
    assert abs(row["sigma_1"] - s[0]) < 1e-5 * s[0]
    # the commands the review ran
    for args in (("merge", tmp_path / "base.safetensors", tmp_path / "ad", "-o", tmp_path / "m2"),
                 ("resize", tmp_path / "ad", "-o", tmp_path / "s2", "--rank", "1"),
                 ("analyse", tmp_path / "ad")):
        code, _, err = run("lora", *args)
        assert code == 0, err


def test_conv_lora_factors_not_in_peft_layout_are_a_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ShapeError, match="convolution LoRA"):
        LoraModule("conv", "conv", A=rng.standard_normal((2, 3, 3, 3)),
                   B=rng.standard_normal((6, 2, 3, 3)), alpha=2.0)  # lora_B not 1×1
    with pytest.raises(ShapeError, match="grouped"):
        LoraModule("conv", "conv", A=rng.standard_normal((2, 3, 3, 3)),
                   B=rng.standard_normal((6, 1, 1, 1)), alpha=2.0)


@pytest.mark.parametrize("command", ["merge", "extract"])
def test_the_current_directory_is_refused_as_an_output_before_the_work(pair, run, monkeypatch,
                                                                      command):
    """Writing replaces the whole output directory: '.' (the current one) ended in a raw
    OSError after the work; it is refused up front, with nothing written."""
    d, base, tuned = pair
    ad = extract(base, tuned, RankRule(rank=2)).adapter.save(d / "ad")
    here = d / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    args = [base, ad] if command == "merge" else [base, tuned, "--rank", "2"]
    msg = cli_support.error_line(*run("lora", command, *args, "-o", ".")[::2])
    assert "current directory" in msg
    assert list(here.iterdir()) == []


def test_a_merge_over_an_output_of_an_earlier_svdkit_replaces_its_side_files(pair, run):
    """Outputs written before the shards listed their files (a mark, no list) were refused:
    their config.json was taken for a user's file."""
    from svdkit.lora.safetensors_io import SafetensorsFile

    d, base, tuned = pair
    ad = extract(base, tuned, RankRule(rank=2)).adapter.save(d / "ad")
    merged = d / "merged"
    code, _, err = run("lora", "merge", base, ad, "-o", merged)
    assert code == 0, err
    shard = merged / "model.safetensors"
    meta = SafetensorsFile(shard).metadata
    assert json.loads(meta[FILES_KEY]) == ["model.safetensors", "config.json"]
    # as the earlier svdkit wrote it: the mark, no list
    W = Checkpoint(shard).read("fc.weight")
    save_safetensors(shard, {"fc.weight": W}, {"format": "pt", "svdkit": "lora merge"})
    code, _, err = run("lora", "merge", base, ad, "-o", merged)
    assert code == 0, err
    (merged / "NOTES").mkdir()  # a folder: never an earlier svdkit's
    save_safetensors(shard, {"fc.weight": W}, {"format": "pt", "svdkit": "lora merge"})
    code, _, err = run("lora", "merge", base, ad, "-o", merged)
    assert "NOTES/" in cli_support.error_line(code, err)


@pytest.mark.parametrize("suffix", [".jpg", ".tiff", ".webp"])
def test_analyse_figures_are_in_formats_that_carry_the_mark(pair, run, suffix):
    d, base, tuned = pair
    msg = cli_support.error_line(*run("lora", "analyse", base, tuned, "--figure",
                                      d / f"fig{suffix}")[::2])
    assert suffix in msg and ".png" in msg
    assert not (d / f"fig{suffix}").exists()
    for _ in range(2):  # a re-run replaces svdkit's own figure
        code, _, err = run("lora", "analyse", base, tuned, "--figure", d / "fig.png")
        assert code == 0, err
