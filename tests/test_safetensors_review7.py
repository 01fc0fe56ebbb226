"""Review of ``svdkit.lora.safetensors_io`` (seventh round): files the reference reader
refuses are refused, and what svdkit writes is what it was given.

* the writer never truncates or wraps a value into an integer or bool dtype;
* JSON nested too deeply (a header, an index, ``adapter_config.json``) is a
  FileFormatError naming the file, not a ``RecursionError``;
* shapes NumPy cannot hold (over 64 dimensions, 2**64 entries) are refused by name;
* overlapping offsets, gaps, trailing bytes and duplicate names are refused;
* tensors of the newer dtypes (``F8_E8M0``, ``C64``, ``F4``…) are copied byte for byte
  by a merge and refused only when read as numbers;
* ``"__metadata__"`` is no tensor name;
* a shard holding a tensor its index does not list is named.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import lora_support
import numpy as np
import pytest

from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lora import Adapter, Checkpoint, save_safetensors
from svdkit.lora.adapter import LoraModule
from svdkit.lora.merge import merge
from svdkit.lora.safetensors_io import OpaqueTensor, SafetensorsFile, SafetensorsWriter

DEEP = "[" * 5000 + "]" * 5000
EYE = np.eye(3, dtype="<f4")


def raw_file(path: Path, header: dict | str, data: bytes) -> Path:
    """A safetensors file of ``header`` (a dict, or JSON text as it is) and ``data``."""
    text = header if isinstance(header, str) else json.dumps(header)
    h = text.encode("utf-8")
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)
    return path


def entry(code: str, shape: list, begin: int, end: int) -> dict:
    return {"dtype": code, "shape": shape, "data_offsets": [begin, end]}


def small_adapter(path: Path) -> Path:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((1, 3)).astype(np.float32)
    B = rng.standard_normal((3, 1)).astype(np.float32)
    Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=1)}).save(path)
    return path


# 1: the writer's casts


@pytest.mark.parametrize(
    ("values", "code"),
    [
        (np.array([1.5, 2.0]), "I64"),
        (np.array([np.nan]), "I32"),
        (np.array([-1.0]), "U8"),
        (np.array([2.0**64]), "U64"),
        (np.array([256.0]), "U8"),
        (np.array([2.0]), "BOOL"),
        (np.array([300], dtype=np.int64), "I8"),
        (np.array([2**24 + 1], dtype=np.int64), "F32"),
    ],
)
def test_writer_refuses_inexact_casts(tmp_path, values, code):
    path = tmp_path / "w.safetensors"
    with pytest.raises(SvdkitError, match=rf"tensor 'x' holds .*which {code} does not hold"):
        with SafetensorsWriter(path, {"x": (code, values.shape)}) as w:
            w.write("x", values)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # (no temporary file left)


def test_writer_keeps_exact_casts(tmp_path):
    path = tmp_path / "w.safetensors"
    layout = {"i": ("I8", (3,)), "b": ("BOOL", (2,)), "f": ("F32", (2,))}
    with SafetensorsWriter(path, layout) as w:
        w.write("i", np.array([-128.0, 0.0, 127.0]))
        w.write("b", np.array([0.0, 1.0]))
        w.write("f", np.array([2**24, -3], dtype=np.int64))
    ck = Checkpoint(path)
    assert ck.read("i").tolist() == [-128, 0, 127] and ck.dtype("i") == "I8"
    assert ck.read("b").tolist() == [False, True]
    assert ck.read("f").tolist() == [2.0**24, -3.0]


def test_merge_refuses_truncating_a_saved_tensor(tmp_path):
    # a saved (modules_to_save) F32 tensor over an I64 base tensor: 1.5 is never written as 1
    base = tmp_path / "base"
    base.mkdir()
    save_safetensors(base / "model.safetensors", {"fc.weight": EYE, "emb": np.arange(2)})
    ad = small_adapter(tmp_path / "ad")
    a = Adapter.load(ad)
    a.saved["emb"] = np.array([1.5, 2.0], dtype=np.float32)
    a.save(tmp_path / "ad2")
    # (merge's own check, or the writer's: either names the tensor, the value and the dtype)
    with pytest.raises(SvdkitError, match=r"'emb'.*(I64.*1\.5|1\.5.*I64)"):
        merge(base, tmp_path / "ad2", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# 3: deeply nested JSON


def test_deep_header_is_named(tmp_path):
    text = '{"fc.weight":' + json.dumps(entry("F32", [3, 3], 0, 36)) + ',"x":' + DEEP + "}"
    path = raw_file(tmp_path / "deep.safetensors", text, EYE.tobytes())
    with pytest.raises(FileFormatError, match=r"deep\.safetensors'.*nested too deeply"):
        Checkpoint(path)


def test_deep_index_is_named(tmp_path):
    save_safetensors(tmp_path / "m-1.safetensors", {"fc.weight": EYE})
    (tmp_path / "model.safetensors.index.json").write_text(
        '{"metadata":' + DEEP + ',"weight_map":{"fc.weight":"m-1.safetensors"}}'
    )
    with pytest.raises(FileFormatError, match=r"index\.json': its JSON is nested too deeply"):
        Checkpoint(tmp_path)


def test_deep_adapter_config_is_named(tmp_path):
    ad = small_adapter(tmp_path / "ad")
    cfg = (ad / "adapter_config.json").read_text()
    (ad / "adapter_config.json").write_text(cfg.rstrip()[:-1] + ', "x": ' + DEEP + "}")
    with pytest.raises(FileFormatError, match=r"adapter_config\.json'.*nested too deeply"):
        Adapter.load(ad)


# 4: shapes NumPy cannot hold


@pytest.mark.parametrize(
    ("shape", "why"),
    [
        ([1] * 65, "65 dimensions"),
        ([2**64, 0], "beyond the largest array"),
        ([2**60, 0], "beyond the largest array"),  # (F64: 2**63 bytes)
        ([2**62, 2**62, 0], "beyond the largest array"),
    ],
)
def test_shapes_numpy_cannot_hold_are_refused(tmp_path, shape, why):
    header = {"fc.weight": entry("F32", [3, 3], 0, 36), "x": entry("F64", shape, 36, 36)}
    path = raw_file(tmp_path / "s.safetensors", header, EYE.tobytes())
    with pytest.raises(FileFormatError, match=rf"bad header entry for tensor 'x'.*{why}"):
        Checkpoint(path)


def test_largest_shapes_numpy_holds_still_read(tmp_path):
    header = {
        "a": entry("F64", [1] * 64, 0, 8),
        "z": entry("F64", [2**60 - 1, 0], 8, 8),
    }
    path = raw_file(tmp_path / "s.safetensors", header, np.array([2.5]).tobytes())
    ck = Checkpoint(path)
    assert ck.read("a").reshape(-1).tolist() == [2.5]
    assert ck.read("z").shape == (2**60 - 1, 0)


# 5: the header covers the data exactly, names once


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        (  # b inside a's bytes
            {"a": entry("F32", [4], 0, 16), "b": entry("F32", [1], 4, 8)},
            bytes(16),
            r"'b' begins at byte 4.*end at 16: it overlaps",
        ),
        (  # a gap between a and b
            {"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)},
            bytes(12),
            r"'b' begins at byte 8.*leaves 4 bytes unused",
        ),
        (  # bytes after the last tensor
            {"a": entry("F32", [1], 0, 4)},
            bytes(8),
            r"the tensors end at byte 4 of the data, but it holds 8 bytes",
        ),
        (  # the data does not start at 0
            {"a": entry("F32", [1], 4, 8)},
            bytes(8),
            r"'a' begins at byte 4.*end at 0",
        ),
    ],
)
def test_offsets_must_tile_the_data(tmp_path, header, data, message):
    path = raw_file(tmp_path / "c.safetensors", header, data)
    with pytest.raises(FileFormatError, match=message):
        SafetensorsFile(path)


def test_duplicate_names_are_refused(tmp_path):
    a = json.dumps(entry("F32", [1], 0, 4))
    text = '{"a":' + a + ',"a":' + a + "}"
    path = raw_file(tmp_path / "d.safetensors", text, bytes(4))
    with pytest.raises(FileFormatError, match=r"header names 'a' twice"):
        Checkpoint(path)


def test_offsets_out_of_header_order_still_read(tmp_path):
    # the header lists b (the data's second tensor) first; zero-size tensors anywhere
    header = {
        "b": entry("F32", [1], 4, 8),
        "e": entry("F32", [0], 4, 4),
        "a": entry("F32", [1], 0, 4),
        "z": entry("I8", [2, 0], 8, 8),
    }
    path = raw_file(tmp_path / "o.safetensors", header, np.array([1.0, 2.0], "<f4").tobytes())
    ck = Checkpoint(path)
    assert (ck.read("a").tolist(), ck.read("b").tolist()) == ([1.0], [2.0])
    assert ck.read("e").shape == (0,) and ck.read("z").shape == (2, 0)


def test_files_svdkit_writes_and_the_real_model_still_read(tmp_path):
    tensors = {
        "w": np.arange(6, dtype=np.float32).reshape(2, 3),
        "empty": np.zeros((0, 4), np.float16),
        "s": np.array(3, dtype=np.int64),
        "b": np.array([True, False]),
    }
    save_safetensors(tmp_path / "m.safetensors", tensors)
    ck = Checkpoint(tmp_path / "m.safetensors")
    assert all(np.array_equal(ck.read(n, None), a) for n, a in tensors.items())
    real = Checkpoint(lora_support.minilm_dir())
    assert len(real.names) > 10
    name = real.names[0]
    assert real.read(name).shape == real.shape(name)


# 6: the newer dtypes are copied, not read


@pytest.mark.parametrize(
    ("code", "shape", "nbytes"),
    [("F8_E8M0", [2], 2), ("C64", [1], 8), ("F4", [2, 3], 3), ("F6_E2M3", [4], 3)],
)
def test_newer_dtypes_are_copied_byte_for_byte(tmp_path, code, shape, nbytes):
    payload = bytes(range(101, 101 + nbytes))
    header = {"fc.weight": entry("F32", [3, 3], 0, 36), "fc.scales": entry(code, shape, 36,
                                                                           36 + nbytes)}
    base = tmp_path / "base"
    base.mkdir()
    raw_file(base / "model.safetensors", header, EYE.tobytes() + payload)
    ck = Checkpoint(base)
    assert ck.dtype("fc.scales") == code and ck.shape("fc.scales") == tuple(shape)
    t = ck.tensor("fc.scales")
    assert isinstance(t, OpaqueTensor)
    with pytest.raises(FileFormatError, match=rf"'fc\.scales' is stored as {code}.*not read"):
        ck.read("fc.scales")
    with pytest.raises(FileFormatError, match=rf"'fc\.scales' is stored as {code}"):
        ck.read("fc.scales", np.float32)
    ad = small_adapter(tmp_path / "ad")
    merge(base, ad, tmp_path / "out")
    out = Checkpoint(tmp_path / "out")
    sf = out.files["model.safetensors"]
    _, _, begin, end = sf.entries["fc.scales"]
    data = (tmp_path / "out" / "model.safetensors").read_bytes()[sf.data_start:]
    assert out.dtype("fc.scales") == code and data[begin:end] == payload
    a = Adapter.load(ad).modules["fc"]
    expected = EYE + a.delta(False, dtype=np.float64)
    assert np.max(np.abs(out.read("fc.weight") - expected)) < 1e-6


def test_reference_reader_reads_the_copied_tensor(tmp_path):
    from safetensors import safe_open  # (the reference reader)

    header = {"fc.weight": entry("F32", [3, 3], 0, 36), "fc.scales": entry("F8_E8M0", [4],
                                                                           36, 40)}
    base = tmp_path / "base"
    base.mkdir()
    raw_file(base / "model.safetensors", header, EYE.tobytes() + b"\x7f\x80\x01\xfe")
    merge(base, small_adapter(tmp_path / "ad"), tmp_path / "out")
    with safe_open(tmp_path / "out" / "model.safetensors", "np") as f:
        assert set(f.keys()) == {"fc.weight", "fc.scales"}
        assert f.get_slice("fc.scales").get_dtype() == "F8_E8M0"


def test_writer_refuses_numbers_for_an_opaque_slot(tmp_path):
    path = tmp_path / "w.safetensors"
    with pytest.raises(FileFormatError, match=r"declared C64\[1\].*only copies"):
        with SafetensorsWriter(path, {"c": ("C64", (1,))}) as w:
            w.write("c", np.zeros(1, np.float64))
    assert not path.exists()


# 7: the reserved name


def test_metadata_is_no_tensor_name(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(FileFormatError, match=r"'__metadata__'.*reserves"):
        save_safetensors(path, {"__metadata__": np.ones((2, 2), np.float32)})
    assert list(tmp_path.iterdir()) == []


# 9: a shard's tensors the index does not list


def test_shard_holding_an_unlisted_tensor_is_named(tmp_path):
    save_safetensors(tmp_path / "m-1.safetensors", {"fc.weight": EYE, "extra": EYE})
    save_safetensors(tmp_path / "m-2.safetensors", {"fc.bias": np.zeros(3, np.float32)})
    index = {"weight_map": {"fc.weight": "m-1.safetensors", "fc.bias": "m-2.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(FileFormatError, match=r"shard m-1\.safetensors holds 'extra', which "
                       r"the index does not list"):
        Checkpoint(tmp_path)


def test_shard_holding_a_tensor_mapped_elsewhere_is_named(tmp_path):
    index = {"weight_map": {"fc.weight": "m-1.safetensors", "y": "m-2.safetensors"}}
    save_safetensors(tmp_path / "m-1.safetensors", {"fc.weight": EYE})
    save_safetensors(tmp_path / "m-2.safetensors", {"y": EYE, "fc.weight": 2 * EYE})
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(FileFormatError, match=r"shard m-2\.safetensors holds 'fc\.weight', "
                       r"which the index maps to m-1\.safetensors"):
        Checkpoint(tmp_path)


def test_extract_compares_newer_dtypes_by_bytes(tmp_path):
    from svdkit.lora import RankRule, extract

    rng = np.random.default_rng(1)
    W = rng.standard_normal((8, 6)).astype("<f4")
    U = np.outer(rng.standard_normal(8), rng.standard_normal(6)).astype("<f4")
    header = {"fc.weight": entry("F32", [8, 6], 0, 192), "s": entry("F8_E8M0", [2], 192, 194)}
    raw_file(tmp_path / "b.safetensors", header, W.tobytes() + b"\x01\x02")
    raw_file(tmp_path / "same.safetensors", header, (W + U).tobytes() + b"\x01\x02")
    raw_file(tmp_path / "diff.safetensors", header, (W + U).tobytes() + b"\x01\x03")
    same = extract(tmp_path / "b.safetensors", tmp_path / "same.safetensors", RankRule(rank=1))
    diff = extract(tmp_path / "b.safetensors", tmp_path / "diff.safetensors", RankRule(rank=1))
    assert same.report.extras_listed == [] and diff.report.extras_listed == ["s"]
    m = diff.adapter.modules["fc"]
    assert np.max(np.abs(m.delta(False, dtype=np.float64) - U)) < 1e-5 * np.max(np.abs(U))
