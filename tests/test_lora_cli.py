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


# ----------------------------------------------------------------- reviewer's bugs, fixed


def _header_length(path) -> int:
    return int.from_bytes(path.read_bytes()[:8], "little")


def _save_with_header_length(path, length: int) -> None:
    """A valid svdkit-written safetensors file whose header is exactly ``length`` bytes."""
    tensors = {"fc.weight": np.arange(4, dtype=np.float32).reshape(2, 2)}
    pad = 0
    for _ in range(3):  # the header grows by one byte a pad character, padded to 8
        save_safetensors(path, tensors, {"format": "pt", "pad": "x" * pad})
        pad += length - _header_length(path)
    assert _header_length(path) == length


@pytest.mark.parametrize("length", [896, 0x4B50])  # first bytes 0x80, and b"PK"
def test_safetensors_whose_header_length_looks_like_pickle_is_read(tmp_path, length):
    path = tmp_path / "m.safetensors"
    _save_with_header_length(path, length)
    assert path.read_bytes()[:2] in (b"\x80\x03", b"PK")
    assert Checkpoint(path).read("fc.weight").tolist() == [[0.0, 1.0], [2.0, 3.0]]
    # the content sniffing still refuses real pickle and zip files, whatever their name
    for head in (b"\x80\x04K\x01.", b"PK\x03\x04" + b"\x00" * 64):
        path.write_bytes(head)
        with pytest.raises(FileFormatError, match="pickle"):
            Checkpoint(path)


def _raw_safetensors(path, header: dict, nbytes: int = 16) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + b"\x00" * nbytes)


_GOOD_ENTRY = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ({"__metadata__": "abc", "w": _GOOD_ENTRY}, "__metadata__"),
        ({"__metadata__": [1, 2], "w": _GOOD_ENTRY}, "__metadata__"),
        ({"__metadata__": {"format": 1}, "w": _GOOD_ENTRY}, "format"),
        ({"w": {**_GOOD_ENTRY, "shape": [-2, -2]}}, "shape"),
        ({"w": {**_GOOD_ENTRY, "shape": [2.0, 2]}}, "shape"),
        ({"w": {**_GOOD_ENTRY, "shape": "22"}}, "shape"),
        ({"w": {**_GOOD_ENTRY, "dtype": 4}}, "dtype"),
        ({"w": {**_GOOD_ENTRY, "dtype": "F33"}}, "F33"),
        ({"w": {**_GOOD_ENTRY, "data_offsets": [16]}}, "data_offsets"),
        ({"w": {**_GOOD_ENTRY, "data_offsets": [-16, 0]}}, "data_offsets"),
        ({"w": {"dtype": "F32", "shape": [2, 2]}}, "data_offsets"),
        ({"w": [1, 2]}, "JSON object"),
    ],
)
def test_malformed_safetensors_headers_are_file_format_errors(tmp_path, header, field):
    path = tmp_path / "bad.safetensors"
    _raw_safetensors(path, header)
    with pytest.raises(FileFormatError, match=r"bad\.safetensors") as info:
        Checkpoint(path)
    assert field in str(info.value)
    if "__metadata__" not in header:
        assert "'w'" in str(info.value)


def _adapter_for(W: np.ndarray, name: str, rank: int = 2) -> Adapter:
    from svdkit.lora.adapter import LoraModule

    rng = np.random.default_rng(1)
    A = rng.standard_normal((rank, W.shape[1])).astype(np.float32)
    B = rng.standard_normal((W.shape[0], rank)).astype(np.float32)
    return Adapter({name: LoraModule(name, "linear", A=A, B=B, alpha=rank)})


def test_merge_keeps_a_sharded_base_s_own_index_name(tmp_path):
    rng = np.random.default_rng(3)
    tensors = {f"blocks.{i}.proj.weight": rng.standard_normal((6, 4)).astype(np.float32)
               for i in range(4)}
    base = tmp_path / "unet"
    base.mkdir()
    weight_map = {}
    for shard, names in enumerate((list(tensors)[:2], list(tensors)[2:])):
        fname = f"diffusion_pytorch_model-0000{shard + 1}-of-00002.safetensors"
        save_safetensors(base / fname, {n: tensors[n] for n in names})
        weight_map.update(dict.fromkeys(names, fname))
    index_name = "diffusion_pytorch_model.safetensors.index.json"
    (base / index_name).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    (base / "config.json").write_text("{}")
    _adapter_for(tensors["blocks.3.proj.weight"], "blocks.3.proj").save(tmp_path / "ad")
    want = tensors["blocks.3.proj.weight"] + Adapter.load(tmp_path / "ad").modules[
        "blocks.3.proj"].delta(dtype=np.float32)
    run = CliRunner()
    for given in (base / index_name, base):
        out = tmp_path / "merged"
        res = run.invoke(app, ["lora", "merge", str(given), str(tmp_path / "ad"), "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert (out / index_name).is_file()
        assert not (out / "model.safetensors.index.json").exists()
        merged = Checkpoint(out)
        assert merged.index_path == out / index_name
        assert len(merged.files) == 2
        np.testing.assert_allclose(merged.read("blocks.3.proj.weight"), want, atol=1e-5)
        assert np.array_equal(merged.read("blocks.0.proj.weight"), tensors["blocks.0.proj.weight"])


def _hidden(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith("."))


def test_outputs_never_replace_a_file_or_a_foreign_directory(pair):
    from svdkit.errors import SvdkitError

    d, W, _ = pair
    run = CliRunner()
    base_bytes = (d / "base.safetensors").read_bytes()
    res = run.invoke(app, ["lora", "extract", str(d / "base.safetensors"),
                           str(d / "tuned.safetensors"), "-o", str(d / "base.safetensors"),
                           "--rank", "2"])
    assert isinstance(res.exception, FileFormatError), res.output
    assert "base.safetensors" in str(res.exception)
    assert (d / "base.safetensors").read_bytes() == base_bytes
    # the library call refuses too, and leaves no renamed-aside orphan behind
    with pytest.raises(FileFormatError):
        _adapter_for(W, "fc").save(d / "base.safetensors")
    assert (d / "base.safetensors").read_bytes() == base_bytes
    assert _hidden(d) == []

    res = run.invoke(app, ["lora", "extract", str(d / "base.safetensors"),
                           str(d / "tuned.safetensors"), "-o", str(d / "ad"), "--rank", "2"])
    assert res.exit_code == 0, res.output
    (d / "notes.txt").write_text("keep me")
    (d / "existing_dir.safetensors").mkdir()
    (d / "docs").mkdir()
    (d / "docs" / "thesis.tex").write_text("keep me too")
    for output in ("notes.txt", "existing_dir.safetensors", "docs", "notes.txt/merged"):
        res = run.invoke(app, ["lora", "merge", str(d / "base.safetensors"), str(d / "ad"),
                               "-o", str(d / output)])
        assert isinstance(res.exception, SvdkitError), (output, res.output)
        assert output.split("/")[0] in str(res.exception)
    res = run.invoke(app, ["lora", "extract", str(d / "base.safetensors"),
                           str(d / "tuned.safetensors"), "-o", str(d / "docs"), "--rank", "2"])
    assert isinstance(res.exception, FileFormatError), res.output
    res = run.invoke(app, ["lora", "pissa", str(d / "base.safetensors"), "-o", str(d / "p"),
                           "--residual", str(d / "notes.txt"), "--rank", "2"])
    assert isinstance(res.exception, FileFormatError), res.output
    assert not (d / "p").exists()
    assert (d / "notes.txt").read_text() == "keep me"
    assert (d / "docs" / "thesis.tex").read_text() == "keep me too"
    assert list((d / "existing_dir.safetensors").iterdir()) == []
    assert _hidden(d) == []
    # an earlier output of the same kind is still replaced
    for _ in range(2):
        res = run.invoke(app, ["lora", "extract", str(d / "base.safetensors"),
                               str(d / "tuned.safetensors"), "-o", str(d / "ad"), "--rank", "1"])
        assert res.exit_code == 0, res.output
        res = run.invoke(app, ["lora", "merge", str(d / "base.safetensors"), str(d / "ad"),
                               "-o", str(d / "merged")])
        assert res.exit_code == 0, res.output
    assert Adapter.load(d / "ad").modules["fc"].r == 1
    assert Checkpoint(d / "merged").names == ["fc.weight", "norm.weight"]
    assert _hidden(d) == []


def test_extract_dtype_is_a_float_storage_type(pair):
    from svdkit.errors import SvdkitError

    d, _, _ = pair
    run = CliRunner()
    args = ["lora", "extract", str(d / "base.safetensors"), str(d / "tuned.safetensors"),
            "-o", str(d / "ad"), "--rank", "2", "--dtype"]
    for code in ("i32", "U8", "F8_E4M3", "bool"):
        res = run.invoke(app, [*args, code])
        assert isinstance(res.exception, SvdkitError), res.output
        assert "--dtype" in str(res.exception) and "BF16" in str(res.exception)
        assert not (d / "ad").exists()
    for code, want in (("bf16", "BF16"), ("F64", "F64"), ("f16", "F16")):
        res = run.invoke(app, [*args, code])
        assert res.exit_code == 0, res.output
        stored = Checkpoint(d / "ad" / "adapter_model.safetensors")
        assert stored.dtype("base_model.model.fc.lora_A.weight") == want


def test_analyse_options_and_output_paths_are_checked_first(pair):
    from svdkit.errors import SvdkitError

    d, _, _ = pair
    (d / "adir").mkdir()
    run = CliRunner()
    args = ["lora", "analyse", str(d / "base.safetensors"), str(d / "tuned.safetensors")]
    for extra, words in (
        (["--max-rank", "0"], "--max-rank"),
        (["--energy", "2"], "--energy"),
        (["--energy", "0"], "--energy"),
        (["--figure", str(d / "f.xyz")], ".xyz"),
        (["--figure", str(d / "adir")], "adir"),
        (["--json", str(d / "adir")], "adir"),
    ):
        res = run.invoke(app, [*args, *extra])
        assert isinstance(res.exception, SvdkitError), (extra, res.output)
        assert words in str(res.exception)
        assert "LoRA spectra" not in res.output  # refused before any work
    assert list((d / "adir").iterdir()) == []
    # (a missing folder of --figure / --json is created, as -o's is: tests/test_review_lora_cli2)
    assert sorted(p.name for p in d.iterdir()) == ["adir", "base.safetensors", "tuned.safetensors"]
    res = run.invoke(app, [*args, "--max-rank", "1", "--energy", "1", "--json", str(d / "r.json")])
    assert res.exit_code == 0, res.output
    assert json.loads((d / "r.json").read_text())[0]["computed"] == 1
    assert _hidden(d) == []
