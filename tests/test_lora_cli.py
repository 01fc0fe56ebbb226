"""``svdkit lora …`` end to end on small safetensors files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from svdkit.cli.main import app
from svdkit.errors import FileFormatError
from svdkit.lora import Adapter, Checkpoint, save_safetensors


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((64, 48)).astype(np.float32)
    D = (rng.standard_normal((64, 3)) @ rng.standard_normal((3, 48))).astype(np.float32)
    ln = np.ones(48, np.float32)
    save_safetensors(tmp_path / "base.safetensors", {"fc.weight": W, "norm.weight": ln})
    save_safetensors(tmp_path / "tuned.safetensors", {"fc.weight": W + D, "norm.weight": 2 * ln})
    return tmp_path, W, D


def test_extract_resize_merge_analyse(pair):
    d, W, D = pair
    run = CliRunner()
    res = run.invoke(app, ["lora", "extract", str(d / "base.safetensors"),
                           str(d / "tuned.safetensors"), "-o", str(d / "ad"), "--energy", "0.999"])
    assert res.exit_code == 0, res.output
    assert "norm.weight" in res.output
    report = json.loads((d / "ad" / "svdkit_report.json").read_text())
    assert report["modules"][0]["rank"] == 3
    res = run.invoke(app, ["lora", "resize", str(d / "ad"), "-o", str(d / "small"), "--rank", "1"])
    assert res.exit_code == 0, res.output
    assert Adapter.load(d / "small").modules["fc"].r == 1
    res = run.invoke(app, ["lora", "merge", str(d / "base.safetensors"), str(d / "ad"),
                           "-o", str(d / "merged.safetensors")])
    assert res.exit_code == 0, res.output
    merged = Checkpoint(d / "merged.safetensors")
    np.testing.assert_allclose(merged.read("fc.weight"), W + D, atol=1e-4)
    assert np.array_equal(merged.read("norm.weight"), 2 * np.ones(48, np.float32))
    res = run.invoke(app, ["lora", "analyse", str(d / "base.safetensors"),
                           str(d / "tuned.safetensors"), "--figure", str(d / "f.png"),
                           "--json", str(d / "rows.json")])
    assert res.exit_code == 0, res.output
    assert json.loads((d / "rows.json").read_text())[0]["recommended_rank"] <= 3
    assert (d / "f.png").stat().st_size > 1000
    res = run.invoke(app, ["lora", "analyse", str(d / "ad"), "--json", str(d / "ad.json")])
    assert res.exit_code == 0, res.output
    assert json.loads((d / "ad.json").read_text())[0]["effective_rank"] is not None
    res = run.invoke(app, ["lora", "pissa", str(d / "base.safetensors"), "-o", str(d / "p"),
                           "--residual", str(d / "res.safetensors"), "--rank", "4"])
    assert res.exit_code == 0, res.output
    assert Adapter.load(d / "p").modules["fc"].r == 4


def test_bad_inputs_are_svdkit_errors(pair):
    d, _, _ = pair
    (d / "model.bin").write_bytes(b"\x80\x04K\x01.")
    run = CliRunner()
    res = run.invoke(app, ["lora", "extract", str(d / "base.safetensors"), str(d / "model.bin"),
                           "-o", str(d / "ad"), "--rank", "2"])
    assert isinstance(res.exception, FileFormatError)
    res = run.invoke(app, ["lora", "extract", str(d / "base.safetensors"),
                           str(d / "tuned.safetensors"), "-o", str(d / "ad")])
    assert "exactly one of --rank, --energy, --error" in str(res.exception)
    assert not (d / "ad").exists()
