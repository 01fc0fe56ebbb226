"""Review of what ``svdkit.lora`` takes in (hunt-types #4, #7, #8, #9).

* ``save_safetensors`` raised torch's raw errors for a bf16 ``state_dict`` or an
  ``nn.Parameter``, refused a big-endian array as having "no safetensors code", and
  wrote a masked array's hidden values as data; its dtype errors named no tensor;
* ``Checkpoint.read`` rounded F64 tensors to float32 and integer tensors through
  float32 (``2**24 + 1`` → ``2**24``) by default, though it said "floats are widened
  exactly"; ``analyse_pair`` and ``pissa`` read F64 weights in float32;
* ``LoraModule`` took complex, text and object factors (``delta`` dropped the
  imaginary part);
* ``lora_scale(rslora="no")`` and every other flag took any truthy string as True.
"""

from __future__ import annotations

import json
import struct

import ml_dtypes
import numpy as np
import pytest
import torch

from svdkit.errors import FileFormatError, NonFiniteError, SvdkitError
from svdkit.lora import (
    Adapter,
    Checkpoint,
    LoraModule,
    RankRule,
    analyse_pair,
    extract,
    lora_scale,
    merge,
    pissa,
    save_safetensors,
)
from svdkit.lora.modules import check_fan_in_fan_out
from svdkit.lora.safetensors_io import SafetensorsWriter


def _roundtrip(tmp_path, tensors):
    path = tmp_path / "m.safetensors"
    save_safetensors(path, tensors)
    return Checkpoint(path)


def _header(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


# ----------------------------------------------------------------- #4 save_safetensors


def test_torch_bf16_is_written_bit_for_bit(tmp_path):
    # values a float32 → bfloat16 rounding would change (subnormals, -0, a NaN payload)
    bits = np.array([0x3F80, 0x0001, 0x8000, 0x7FC1, 0xFF81, 0x7F7F, 0x3F81, 0xC2F7], np.uint16)
    t = torch.from_numpy(bits.view(np.int16).copy()).view(torch.bfloat16).reshape(2, 4)
    ck = _roundtrip(tmp_path, {"w": t})
    assert ck.dtype("w") == "BF16"
    stored = ck.read("w", None)
    assert stored.dtype == np.dtype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(stored.view(np.uint16), bits.reshape(2, 4))
    # the default read widens exactly: the same values as torch's own float32
    np.testing.assert_array_equal(
        ck.read("w")[np.isfinite(ck.read("w"))], t.float().numpy()[np.isfinite(ck.read("w"))]
    )


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32, torch.float64])
def test_torch_parameter_non_contiguous_is_written_exactly(tmp_path, dtype):
    base = torch.randn(5, 7, dtype=torch.float64).to(dtype)
    p = torch.nn.Parameter(base.t())  # requires grad, and a transposed (strided) view
    assert p.requires_grad and not p.is_contiguous()
    ck = _roundtrip(tmp_path, {"w": p})
    assert ck.shape("w") == (7, 5)
    want = p.detach().to(torch.float64).numpy()
    np.testing.assert_array_equal(ck.read("w", np.float64), want)


def test_torch_integer_and_bool_tensors(tmp_path):
    ids = torch.tensor([2**40 + 1, -3], dtype=torch.int64)
    mask = torch.tensor([True, False])
    ck = _roundtrip(tmp_path, {"ids": ids, "mask": mask})
    assert (ck.dtype("ids"), ck.dtype("mask")) == ("I64", "BOOL")
    assert ck.read("ids").tolist() == [2**40 + 1, -3]
    assert ck.read("mask").tolist() == [True, False]


def test_the_writer_takes_torch_tensors_too(tmp_path):
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3).to(torch.bfloat16)
    with SafetensorsWriter(tmp_path / "w.safetensors", {"w": ("BF16", (2, 3))}) as w:
        w.write("w", torch.nn.Parameter(t))
    assert Checkpoint(tmp_path / "w.safetensors").read("w").tolist() == [
        [0.0, 1.0, 2.0], [3.0, 4.0, 5.0],
    ]


@pytest.mark.parametrize(("dtype", "code"), [(">f4", "F32"), (">f8", "F64"), (">i8", "I64"),
                                             (">u2", "U16"), (">f2", "F16")])
def test_big_endian_arrays_are_written_little_endian(tmp_path, dtype, code):
    a = (np.arange(6).reshape(2, 3) * 3 - 5 if dtype != ">u2" else np.arange(6).reshape(2, 3))
    a = (a + (0.25 if dtype[1] == "f" else 0)).astype(dtype)
    ck = _roundtrip(tmp_path, {"w": a})
    assert ck.dtype("w") == code
    np.testing.assert_array_equal(ck.read("w", None), a)
    # the buffer holds the little-endian bytes the format defines
    _, data = _header(tmp_path / "m.safetensors")
    little = a.astype(a.dtype.newbyteorder("<"))
    assert data[: a.nbytes] == little.tobytes()


def test_masked_entry_is_refused_by_name(tmp_path):
    a = np.ma.array(np.arange(6.0).reshape(2, 3), mask=[[0, 0, 0], [0, 0, 1]])
    with pytest.raises(NonFiniteError, match=r"tensor 'layer\.w'.*masked.*\(1, 2\).*mask"):
        save_safetensors(tmp_path / "m.safetensors", {"ok": np.ones(2), "layer.w": a})
    assert not (tmp_path / "m.safetensors").exists()


def test_masked_array_that_masks_nothing_is_its_data(tmp_path):
    a = np.ma.array(np.arange(6.0).reshape(2, 3), mask=False)
    assert _roundtrip(tmp_path, {"w": a}).read("w").tolist() == a.data.tolist()


@pytest.mark.parametrize(
    "value",
    [np.ones((2, 2), complex), np.array(["a", "b"]), np.array([1.0, None], dtype=object),
     torch.ones(2, dtype=torch.complex64)],
)
def test_unstorable_dtypes_name_the_tensor(tmp_path, value):
    with pytest.raises(FileFormatError, match=r"tensor 'layer\.w'.*no safetensors code"):
        save_safetensors(tmp_path / "m.safetensors", {"layer.w": value})


# ----------------------------------------------------------------- #8 Checkpoint.read


@pytest.fixture
def mixed(tmp_path):
    w64 = np.array([[1 + 2**-40, 0.1], [np.pi, -1e-300]])
    ids = np.array([2**24 + 1, 123456789, -(2**62) - 1], dtype=np.int64)
    small = np.array([3, -7, 255], dtype=np.int64)
    half = np.array([1.5, -0.0, 6e-8], dtype=np.float16)
    bf = np.array([1.0078125, 3e38], dtype=np.float32).astype(ml_dtypes.bfloat16)
    tensors = {"w64": w64, "ids": ids, "small": small, "half": half, "bf": bf,
               "flags": np.array([True, False])}
    return _roundtrip(tmp_path, tensors), tensors


def test_default_read_rounds_nothing(mixed):
    ck, t = mixed
    assert ck.read("w64").dtype == np.float64
    np.testing.assert_array_equal(ck.read("w64"), t["w64"])
    assert ck.read("ids").dtype == np.int64 and ck.read("ids").tolist() == t["ids"].tolist()
    assert ck.read("flags").dtype == np.bool_
    for name in ("half", "bf"):
        got = ck.read(name)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got.astype(np.float64), t[name].astype(np.float64))


def test_integer_read_as_a_dtype_that_cannot_hold_it_is_refused(mixed):
    ck, _ = mixed
    with pytest.raises(SvdkitError, match=r"tensor 'ids' \(I64\) holds 16777217.*float32"):
        ck.read("ids", np.float32)
    with pytest.raises(SvdkitError, match=r"tensor 'ids' \(I64\) holds -4611686018427387905"):
        ck.read("ids", np.float64)  # 2**62 + 1 has no float64 either
    with pytest.raises(SvdkitError, match=r"tensor 'ids'.*int32"):
        ck.read("ids", np.int32)
    with pytest.raises(SvdkitError, match=r"tensor 'small'.*255.*int8"):
        ck.read("small", np.int8)
    with pytest.raises(SvdkitError, match=r"tensor 'ids'.*float16"):
        ck.read("ids", np.float16)


def test_integer_read_as_a_dtype_that_holds_it(mixed):
    ck, t = mixed
    got = ck.read("small", np.float32)
    assert got.dtype == np.float32 and got.tolist() == t["small"].tolist()
    assert ck.read("small", np.int16).tolist() == t["small"].tolist()
    assert ck.read("flags", np.float32).tolist() == [1.0, 0.0]


def test_explicit_narrowing_of_a_float_is_what_was_asked(mixed):
    ck, t = mixed
    got = ck.read("w64", np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, t["w64"].astype(np.float32))
    with pytest.raises(SvdkitError, match="would truncate"):
        ck.read("w64", np.int64)


def _f64_pair(tmp_path, base_dtype=np.float64):
    rng = np.random.default_rng(3)
    W = 1.0 + rng.standard_normal((12, 9))
    D = 1e-9 * (rng.standard_normal((12, 2)) @ rng.standard_normal((2, 9)))
    save_safetensors(tmp_path / "base.safetensors", {"fc.weight": W.astype(base_dtype)})
    save_safetensors(tmp_path / "tuned.safetensors", {"fc.weight": W + D})
    return W.astype(base_dtype).astype(np.float64), D


def test_analyse_pair_of_float64_checkpoints_works_in_float64(tmp_path):
    W, D = _f64_pair(tmp_path)
    a = analyse_pair(tmp_path / "base.safetensors", tmp_path / "tuned.safetensors")
    s = a.modules[0].s
    true = np.linalg.svd((W + D) - W, compute_uv=False)
    # float32 would have rounded W + D to W: a delta of pure rounding noise
    assert np.allclose(s[:2], true[:2], rtol=1e-6)
    assert s[2] < 1e-6 * s[0]


def test_extract_with_one_float64_checkpoint_works_in_float64(tmp_path):
    # the base is float32, the tuned model float64: ΔW is formed in float64
    W, _ = _f64_pair(tmp_path, base_dtype=np.float32)
    ex = extract(tmp_path / "base.safetensors", tmp_path / "tuned.safetensors",
                 RankRule(rank=9))
    m = ex.adapter.modules["fc"]
    delta = Checkpoint(tmp_path / "tuned.safetensors").read("fc.weight") - W
    assert m.A.dtype == np.float64
    err = np.linalg.norm(m.delta() - delta) / np.linalg.norm(delta)
    assert err < 1e-9


def test_pissa_of_a_float64_checkpoint_works_in_float64(tmp_path):
    rng = np.random.default_rng(5)
    W = rng.standard_normal((8, 6)) + 1e3
    save_safetensors(tmp_path / "base.safetensors", {"fc.weight": W})
    ad, res = pissa(tmp_path / "base.safetensors", tmp_path / "ad", tmp_path / "res",
                    RankRule(rank=2), dtype=np.float64)
    U, s, Vh = np.linalg.svd(W)
    best = (U[:, :2] * s[:2]) @ Vh[:2]
    BA = ad.modules["fc"].delta()
    # float32 reading rounds W (entries ~1e3) by ~3e-5: far above this bound
    assert np.linalg.norm(BA - best) / np.linalg.norm(best) < 1e-11
    R = Checkpoint(res).read("fc.weight")
    assert R.dtype == np.float64
    assert np.linalg.norm(R + BA - W) / np.linalg.norm(W) < 1e-14


# ----------------------------------------------------------------- #9 LoraModule


A = np.random.default_rng(0).standard_normal((2, 6))
B = np.random.default_rng(1).standard_normal((8, 2))


@pytest.mark.parametrize(
    ("bad", "what"),
    [(A + 1j * A, "complex"), (A.astype(str), "text"), (A.astype(object), "Python objects"),
     (A.astype("S8"), "bytes")],
)
@pytest.mark.parametrize("side", ["A", "B"])
def test_lora_module_refuses_non_real_factors(bad, what, side):
    kwargs = {"A": A, "B": B}
    kwargs[side] = bad if side == "A" else _as_b(bad)
    with pytest.raises(SvdkitError, match=rf"module 'q': {side} has dtype .*\({what}\)"):
        LoraModule("q", "linear", alpha=2.0, **kwargs)


def _as_b(bad):
    """A factor of B's shape [8, 2] in ``bad``'s dtype."""
    return np.resize(bad, (8, 2))


def test_lora_module_refuses_a_masked_entry():
    with pytest.raises(NonFiniteError, match=r"module 'q': B is a masked array.*\(0, 1\)"):
        LoraModule("q", "linear", A=A, B=np.ma.array(B, mask=np.eye(8, 2)[:, ::-1]), alpha=2.0)


@pytest.mark.parametrize(
    "cast",
    [np.float16, np.int8, ml_dtypes.bfloat16, lambda x: x.astype(">f4"),
     lambda x: np.ma.array(x, mask=False)],
)
def test_lora_module_takes_real_factors(cast):
    a = A.astype(cast) if isinstance(cast, type) else cast(A)
    m = LoraModule("q", "linear", A=a, B=B, alpha=2.0)
    assert type(m.A) is np.ndarray
    want = 1.0 * (B @ np.asarray(a, dtype=np.float64))
    np.testing.assert_array_equal(m.delta(), want)


# ----------------------------------------------------------------- #7 flags


@pytest.mark.parametrize("value", ["no", "False", "", 0, 1, None, 1.0])
def test_lora_scale_takes_only_a_bool(value):
    with pytest.raises(SvdkitError, match=r"rslora must be True or False; got"):
        lora_scale(16, 8, rslora=value)


def test_lora_scale_takes_numpy_bools():
    assert lora_scale(16, 8, rslora=np.bool_(False)) == 2.0
    assert lora_scale(16, 4, rslora=np.bool_(True)) == 8.0
    m = LoraModule("q", "linear", A=A, B=B, alpha=4.0)
    with pytest.raises(SvdkitError, match="rslora must be True or False; got 'no'"):
        m.delta(rslora="no")
    assert m.scale(np.True_) == 4.0 / np.sqrt(2)


def test_adapter_use_rslora_takes_only_a_bool():
    with pytest.raises(SvdkitError, match="use_rslora must be True or False; got 'false'"):
        Adapter(use_rslora="false")
    ad = Adapter(use_rslora=np.bool_(True))
    assert ad.use_rslora is True
    assert ad.peft_config()["use_rslora"] is True


@pytest.mark.parametrize(
    ("call", "flag"),
    [
        (lambda p: extract(p / "b", p / "t", RankRule(rank=1), rslora="no"), "rslora"),
        (lambda p: extract(p / "b", p / "t", RankRule(rank=1), progress="no"), "progress"),
        (lambda p: extract(p / "b", p / "t", RankRule(rank=1), tighten="False"), "tighten"),
        (lambda p: analyse_pair(p / "b", p / "t", progress="no"), "progress"),
        (lambda p: merge(p / "b", p / "a", p / "out", progress="no"), "progress"),
        (lambda p: pissa(p / "b", p / "a", p / "r", RankRule(rank=1), progress="no"),
         "progress"),
        (lambda p: merge(p / "b", p / "a", p / "out", fan_in_fan_out=1), "fan_in_fan_out"),
    ],
)
def test_flags_of_the_public_functions_refuse_strings_first(tmp_path, call, flag):
    # checked before any checkpoint is opened (none exists here)
    with pytest.raises(SvdkitError, match=rf"^{flag} must be True"):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fan_in_fan_out_takes_numpy_bools():
    assert check_fan_in_fan_out(np.bool_(True)) is True
    assert check_fan_in_fan_out(np.False_) is False


def test_explicit_narrowing_that_overflows_is_refused(tmp_path):
    ck = _roundtrip(tmp_path, {"w": np.array([1.0, 1e6, -3.0], np.float32)})
    with pytest.raises(SvdkitError, match=r"tensor 'w' \(F32\).*beyond what float16 holds"):
        ck.read("w", np.float16)
    assert ck.read("w", ml_dtypes.bfloat16).astype(np.float32)[0] == 1.0


@pytest.mark.parametrize(
    "value",
    [torch.zeros(2, dtype=torch.float8_e4m3fnuz), torch.zeros(2, device="meta")],
)
def test_torch_tensors_without_storable_values_name_the_tensor(tmp_path, value):
    with pytest.raises(FileFormatError, match=r"^tensor 'layer\.w': the values of this torch"):
        save_safetensors(tmp_path / "m.safetensors", {"layer.w": value})
    assert list(tmp_path.iterdir()) == []


def test_torch_float8_is_written_bit_for_bit(tmp_path):
    t = torch.tensor([1.0, 448.0, -0.0, 2.0**-9]).to(torch.float8_e4m3fn)
    ck = _roundtrip(tmp_path, {"w": t})
    assert ck.dtype("w") == "F8_E4M3"
    np.testing.assert_array_equal(
        ck.read("w", None).view(np.uint8), t.view(torch.uint8).numpy()
    )
    assert ck.read("w").tolist() == [1.0, 448.0, -0.0, 2.0**-9]
