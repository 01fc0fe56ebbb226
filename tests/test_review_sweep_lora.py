"""Review sweep (lora): integer reads that wrap, PiSSA's base, the ``--error`` note, analyse.

* ``Checkpoint.read(name, dtype)`` refuses every integer value the target dtype does
  not hold — a signed/unsigned wrap survives a round trip, so values are compared;
* a PiSSA adapter names its residual in ``base_model_name_or_path`` and ``merge``
  refuses to add it to the original base (the principal part twice);
* ``extract`` and ``resize`` word an unmet ``--error`` the same way, with the actual
  cause (the cap, or the rounding where a wider dtype exists), in the caller's names;
* ``lora analyse`` on a folder of several adapters says so cleanly.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lora import Adapter, Checkpoint, LoraModule, RankRule, save_safetensors
from svdkit.lora.extract import extract
from svdkit.lora.merge import merge
from svdkit.lora.pissa import pissa
from svdkit.lora.rank import unmet_note
from svdkit.lora.resize import resize
from tests.cli_support import error_line, run_svdkit

# ---------------------------------------------------------------- 1. integer reads


@pytest.fixture
def ints(tmp_path):
    t = {
        "u8": np.array([0, 7, 255], np.uint8),
        "i64": np.array([3, -1], np.int64),
        "i32": np.array([-1, 5], np.int32),
        "u64": np.array([1, 2**64 - 1], np.uint64),
        "i64max": np.array([2**63 - 1], np.int64),
        "small": np.array([0, 1, 127], np.int64),
        "flags": np.array([True, False]),
        "exact": np.array([2**53, -(2**53)], np.int64),
    }
    save_safetensors(tmp_path / "ints.safetensors", t)
    return Checkpoint(tmp_path / "ints.safetensors"), t


@pytest.mark.parametrize(
    ("name", "dtype", "value"),
    [
        ("u8", np.int8, 255),  # 255 → −1 → 255: a round trip keeps it
        ("i64", np.uint64, -1),  # −1 → 2**64 − 1 → −1
        ("i32", np.uint32, -1),
        ("u64", np.int64, 2**64 - 1),
        ("u64", np.float64, 2**64 - 1),  # rounds to 2**64, beyond uint64
        ("i64max", np.float64, 2**63 - 1),  # rounds to 2**63, beyond int64
        ("i64max", np.float32, 2**63 - 1),
        ("small", np.bool_, 127),
        ("i64", np.bool_, 3),  # the first value bool does not hold
    ],
)
def test_read_refuses_a_value_the_dtype_does_not_hold(ints, name, dtype, value):
    ck, _ = ints
    with pytest.raises(SvdkitError, match=rf"tensor '{name}' \(\w+\) holds {value}, which "):
        ck.read(name, dtype)


@pytest.mark.parametrize(
    ("name", "dtype"),
    [("u8", np.int16), ("u8", np.uint64), ("u8", np.float16), ("small", np.int8),
     ("small", np.uint8), ("flags", np.int8), ("flags", np.uint64), ("exact", np.float64),
     ("i64", np.int8)],
)
def test_read_converts_what_the_dtype_holds_exactly(ints, name, dtype):
    ck, t = ints
    got = ck.read(name, dtype)
    assert got.dtype == np.dtype(dtype)
    assert [int(v) for v in got.tolist()] == [int(v) for v in t[name].tolist()]


# ---------------------------------------------------------------- 2. PiSSA's base


@pytest.fixture
def pissa_pair(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(5)
    W = {f"layers.{i}.fc.weight": rng.standard_normal((24, 16)).astype(np.float32)
         for i in range(2)}
    (tmp_path / "base").mkdir()
    save_safetensors(tmp_path / "base" / "model.safetensors", W, {"format": "pt"})
    ad, res = pissa("base", "pissa", "residual", RankRule(rank=4))
    return tmp_path, W, ad, res


def test_pissa_config_names_the_residual(pissa_pair):
    tmp, _, ad, _ = pissa_pair
    cfg = json.loads((tmp / "pissa" / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == "residual"
    mark = Adapter.load(tmp / "pissa").pissa_mark
    assert mark == ad.pissa_mark and mark["residual"] == "residual"
    # the norms recorded are those of the weight and of the residual as written
    ck, res = Checkpoint(tmp / "base"), Checkpoint(tmp / "residual")
    name = mark["tensor"]
    assert np.isclose(mark["norm_base"], np.linalg.norm(ck.read(name)), rtol=1e-6)
    assert np.isclose(mark["norm_residual"], np.linalg.norm(res.read(name)), rtol=1e-5)
    assert mark["norm_residual"] < 0.95 * mark["norm_base"]


def test_merge_of_pissa_into_the_original_base_is_refused(pissa_pair):
    tmp, _, ad, _ = pissa_pair
    for adapter in ("pissa", ad):  # the directory, or the Adapter pissa returned
        with pytest.raises(FileFormatError, match=r"PiSSA adapter.*'residual'.*'base' holds"):
            merge("base", adapter, "wrong")
    assert not (tmp / "wrong").exists()


def test_merge_of_pissa_into_its_residual_gives_w_back(pissa_pair):
    _, W, _, _ = pissa_pair
    out = merge("residual", "pissa", "merged")
    ck = Checkpoint(out)
    for name, w in W.items():
        assert np.linalg.norm(ck.read(name) - w) / np.linalg.norm(w) < 1e-6


def test_merge_of_pissa_into_a_residual_cast_to_bf16_is_allowed(pissa_pair):
    import ml_dtypes

    tmp, W, _, _ = pissa_pair
    res = Checkpoint(tmp / "residual")
    (tmp / "res16").mkdir()
    save_safetensors(
        tmp / "res16" / "model.safetensors",
        {n: res.read(n).astype(ml_dtypes.bfloat16) for n in res.names}, {"format": "pt"},
    )
    ck = Checkpoint(merge("res16", "pissa", "merged16"))
    for name, w in W.items():
        assert np.linalg.norm(ck.read(name) - w) / np.linalg.norm(w) < 1e-2


def test_resized_pissa_adapter_keeps_the_mark(pissa_pair):
    tmp, _, ad, _ = pissa_pair
    small, _ = resize(Adapter.load(tmp / "pissa"), RankRule(rank=2))
    assert small.pissa_mark == ad.pissa_mark
    small.save(tmp / "small")
    with pytest.raises(FileFormatError, match="PiSSA adapter"):
        merge("base", tmp / "small", "wrong")
    merge("residual", tmp / "small", "fine")


def test_cli_merge_of_pissa_into_the_base_is_one_error_line(pissa_pair, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    line = error_line(*run("lora", "merge", "base", "pissa", "-o", "m")[::2])
    assert "PiSSA adapter" in line and "Merge it into its residual" in line


def test_adapter_without_a_mark_is_not_checked(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((8, 6)).astype(np.float32)
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": W})
    ad = Adapter({"fc": LoraModule("fc", "linear", A=rng.standard_normal((2, 6)),
                                   B=rng.standard_normal((8, 2)), alpha=2.0)})
    assert ad.pissa_mark is None
    ad.save(tmp_path / "ad")
    assert Adapter.load(tmp_path / "ad").pissa_mark is None
    ck = Checkpoint(merge(tmp_path / "b.safetensors", tmp_path / "ad", tmp_path / "m.safetensors"))
    np.testing.assert_allclose(ck.read("fc.weight"), W + ad.modules["fc"].delta(), atol=1e-5)


# ---------------------------------------------------------------- 4. the --error note


def _pair(tmp_path):
    rng = np.random.default_rng(1)
    base, tuned = {}, {}
    for i in range(3):
        w = rng.standard_normal((32, 24)).astype(np.float32)
        d = 0.05 * rng.standard_normal((32, 4)) @ rng.standard_normal((4, 24))
        base[f"l{i}.fc.weight"], tuned[f"l{i}.fc.weight"] = w, (w + d).astype(np.float32)
    for name, t in (("base", base), ("tuned", tuned)):
        (tmp_path / name).mkdir()
        save_safetensors(tmp_path / name / "model.safetensors", t, {"format": "pt"})
    return tmp_path / "base", tmp_path / "tuned"


def _notes(text: str) -> list[str]:
    """The "is not met" notes, one line each (printed with soft_wrap)."""
    return [line.removeprefix("note: ") for line in text.splitlines()
            if line.startswith("note: ") and "is not met" in line]


def test_cli_note_names_the_cap_alone_the_same_in_extract_and_resize(tmp_path, capsys,
                                                                      monkeypatch):
    base, tuned = _pair(tmp_path)
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "extract", base, tuned, "-o", tmp_path / "a", "--rank", "8")
    assert code == 0, err
    code, out1, err1 = run("lora", "extract", base, tuned, "-o", tmp_path / "e",
                           "--error", "0.001", "--max-rank", "2")
    assert code == 0, err1
    code, out2, err2 = run("lora", "resize", tmp_path / "a", "-o", tmp_path / "r",
                           "--error", "0.001", "--max-rank", "2")
    assert code == 0, err2
    (n1,), (n2,) = _notes(out1 + err1), _notes(out2 + err2)
    for note in (n1, n2):
        assert note.startswith("--error 0.001 is not met by the factors as stored for 3 of 3 "
                               "modules (marked '!', worst ")
        assert "--max-rank 2 caps their rank: raise --max-rank or ask a looser --error" in note
        assert "dtype" not in note and "F32" not in note and "rounding" not in note
        assert "error=" not in note and "max_rank" not in note
    # one wording: the same sentence but for the worst error's last digits
    assert n1.split("worst")[0] == n2.split("worst")[0]
    assert n1.split(")", 1)[1] == n2.split(")", 1)[1]


def test_python_note_uses_python_names(tmp_path):
    base, tuned = _pair(tmp_path)
    ex = extract(base, tuned, RankRule(error=0.001, max_rank=2))
    (note,) = [n for n in ex.report.notes if "is not met" in n]
    assert note.startswith("error=0.001 is not met")
    assert note.endswith("max_rank=2 caps their rank: raise max_rank or ask a looser error")


def test_note_advises_a_wider_dtype_only_where_one_exists():
    def note(codes, capped=()):
        return unmet_note(1e-4, dict.fromkeys(codes, 0.01), 5, max_rank=3,
                          capped=list(capped), codes=codes)

    bf = note({"a": "BF16"})
    assert "rounding them to BF16 alone costs more than the bound: store them in a wider " \
           "dtype (dtype='F32') or ask a looser error" in bf
    assert "dtype='F64'" in note({"a": "F32"})
    f64 = note({"a": "F64"})
    assert "dtype" not in f64.split(";", 1)[1] and f64.endswith(": ask a looser error")
    both = note({"a": "F16", "b": "F16"}, capped=["a"])
    assert ("max_rank=3 caps the rank of 1 of them, and rounding the other 1 to F16 alone "
            "costs more than the bound: raise max_rank, store them in a wider dtype "
            "(dtype='F32') or ask a looser error") in both


# ---------------------------------------------------------------- 8. analyse, several adapters


def test_analyse_of_a_folder_of_adapters_says_so_cleanly(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    ad = Adapter({"fc": LoraModule("fc", "linear", A=rng.standard_normal((2, 6)),
                                   B=rng.standard_normal((8, 2)), alpha=2.0)})
    for sub in ("one", "two"):
        ad.save(tmp_path / "multi" / sub)
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "analyse", tmp_path / "multi")
    line = error_line(code, err)
    assert line.endswith("holds PEFT adapters in one/, two/ (save_pretrained of several "
                         "adapters writes one folder each): give one of them")
    assert "give one:" not in line and "BASE TUNED" not in line
    # the same words as merge's
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": np.ones((8, 6), np.float32)})
    code, _, err = run("lora", "merge", tmp_path / "b.safetensors", tmp_path / "multi",
                       "-o", tmp_path / "m")
    assert "holds PEFT adapters in one/, two/" in error_line(code, err)


def test_module_bar_is_drawn_on_a_terminal_only(monkeypatch, capfd):
    # a redirected stderr (a file, a CI log) gets no bar: its last frame stayed behind
    from svdkit.lora.extract import module_progress

    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    with module_progress(True, 2, "extracting") as advance:
        advance("q_proj")
        advance("v_proj")
    assert capfd.readouterr().err == ""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    with module_progress(True, 2, "extracting") as advance:
        advance("q_proj")
        advance("v_proj")
    err = capfd.readouterr().err
    assert "extracting" in err and "2/2" in err
