"""Fixes from the LoRA round-trip hunt: PiSSA on F8 weights (the residual rounded once
to the nearest F8 value), an F16 extraction whose tiny module's factors underflow,
missed ``--energy`` targets marked and noted, and the CLI's ``--dtype`` spellings."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from svdkit.lora import Checkpoint, RankRule, pissa, save_safetensors
from tests.cli_support import run_svdkit

F8 = [("F8_E4M3", ml_dtypes.float8_e4m3fn), ("F8_E5M2", ml_dtypes.float8_e5m2)]


def _nearest(x: float, dt) -> float:
    """The nearest value of the F8 ``dt`` to ``x`` (ties to even), by brute force."""
    info = ml_dtypes.finfo(dt)
    values = np.arange(256, dtype=np.uint8).view(dt).astype(np.float64)
    values = values[np.isfinite(values) & (np.abs(values) <= float(info.max))]
    d = np.abs(values - x)
    best = values[d == d.min()]
    if len(best) > 1:  # a tie: the even one (its lowest mantissa bit clear)
        codes = np.asarray(best, dtype=dt).view(np.uint8)
        best = best[(codes & 1) == 0]
    return float(best[0])


@pytest.mark.parametrize(("code", "dt"), F8)
def test_pissa_factors_f8_weights(tmp_path, code, dt):
    rng = np.random.default_rng(0)
    W8 = rng.standard_normal((24, 16)).astype(dt)
    base = tmp_path / "f8.safetensors"
    save_safetensors(base, {"a.weight": W8, "b.weight": rng.standard_normal((24, 16))
                            .astype(np.float32)})
    rows = []
    ad, res = pissa(base, tmp_path / "ad", tmp_path / "res.safetensors", RankRule(rank=4),
                    report=rows)
    assert sorted(r.name for r in rows) == ["a", "b"]
    assert sorted(ad.modules) == ["a", "b"]
    R = Checkpoint(res)
    assert R.dtype("a.weight") == code
    W = W8.astype(np.float64)
    delta = ad.modules["a"].delta().astype(np.float64)
    stored = R.read("a.weight", np.float64)
    # every residual entry is the nearest F8 value of W − B·A (rounded once, from float64)
    exact = W - np.asarray(ad.modules["a"].B, np.float64) @ np.asarray(ad.modules["a"].A,
                                                                     np.float64)
    want = np.array([_nearest(x, dt) for x in exact.ravel()]).reshape(exact.shape)
    assert np.array_equal(stored, want)
    # the residual plus the adapter gives W back to within F8's rounding of the residual
    eps = float(ml_dtypes.finfo(dt).eps)
    assert np.linalg.norm(stored + delta - W) <= eps * np.linalg.norm(exact)


def test_pissa_all_f8_model_is_factored(tmp_path, capsys, monkeypatch):
    W8 = np.random.default_rng(1).standard_normal((24, 16)).astype(ml_dtypes.float8_e4m3fn)
    base = tmp_path / "f8.safetensors"
    save_safetensors(base, {"a.weight": W8})
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "lora", "pissa", base, "-o", tmp_path / "ad", "--residual", tmp_path / "r.safetensors",
        "--rank", "4")
    assert code == 0, err
    assert Checkpoint(tmp_path / "r.safetensors").dtype("a.weight") == "F8_E4M3"


def test_pissa_f8_e4m3_residual_overflow_is_refused_by_name(tmp_path):
    from svdkit.errors import SvdkitError

    rng = np.random.default_rng(0)
    W = (448 * np.sign(rng.standard_normal((16, 12)))).astype(ml_dtypes.float8_e4m3fn)
    base = tmp_path / "ov.safetensors"
    save_safetensors(base, {"a.weight": W})
    with pytest.raises(SvdkitError, match=r"overflows F8_E4M3"):
        pissa(base, tmp_path / "ad", tmp_path / "r.safetensors", RankRule(rank=1))
    assert not (tmp_path / "ad").exists() and not (tmp_path / "r.safetensors").exists()


def _one_ulp_pair(tmp_path):
    rng = np.random.default_rng(0)
    Wq = rng.standard_normal((32, 24)).astype(np.float32)
    Wk = rng.standard_normal((32, 24)).astype(np.float32)
    Tq = Wq + (0.01 * rng.standard_normal((32, 4)) @ rng.standard_normal((4, 24))).astype(
        np.float32)
    Wk[3, 5] = np.float32(1e-3)
    Tk = Wk.copy()
    Tk[3, 5] = np.nextafter(Wk[3, 5], np.float32(1.0))  # one float32 ulp: ΔW ≈ 1.2e-10
    base, tuned = tmp_path / "base.safetensors", tmp_path / "tuned.safetensors"
    save_safetensors(base, {"q.weight": Wq, "k.weight": Wk})
    save_safetensors(tuned, {"q.weight": Tq, "k.weight": Tk})
    return base, tuned


def test_f16_extract_leaves_a_barely_changed_module_out_with_a_note(tmp_path, capsys,
                                                                   monkeypatch):
    # k's delta (one float32 ulp of one entry, 1.2e-10) has factors below F16's normal
    # range; alpha and split are the defaults: k is left out with a note (as pissa keeps
    # such a module whole), and q, the real fine-tune, is extracted
    import json

    from svdkit.lora import Adapter

    base, tuned = _one_ulp_pair(tmp_path)
    code, out, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", base, tuned, "-o", tmp_path / "ad", "--rank", "8", "--dtype", "F16")
    assert code == 0, err
    text = " ".join(out.split())
    assert "left out of the adapter (rank 0): k; their factors would underflow F16" in text
    # (a smaller --alpha enlarges the factors: a cure too, at scale 1)
    assert "--dtype (F32 or F64)" in text and "smaller --alpha" in text
    ad = Adapter.load(tmp_path / "ad")
    assert sorted(ad.modules) == ["q"] and ad.modules["q"].A.dtype == np.float16
    D = (Checkpoint(tuned).read("q.weight", np.float64)
         - Checkpoint(base).read("q.weight", np.float64))
    rel = np.linalg.norm(D - ad.modules["q"].delta().astype(np.float64)) / np.linalg.norm(D)
    assert rel < 1e-2  # F16's rounding of a rank-4 delta kept at rank 8
    report = json.loads((tmp_path / "ad" / "svdkit_report.json").read_text())
    k = next(m for m in report["modules"] if m["name"] == "k")
    assert (k["rank"], k["relative_error"], k["energy_kept"]) == (0, 1.0, 0.0)
    assert any(n.startswith("left out of the adapter") for n in report["notes"])
    # under --error the module misses the bound: marked, and named by its own note only
    code, out, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", base, tuned, "-o", tmp_path / "ad2", "--error", "0.01",
        "--dtype", "F16")
    assert code == 0, err
    text = " ".join(out.split())
    assert "!" in _row(out, "k") and "marked '!': the bound is missed" in text
    assert "is not met" not in text


def test_f16_extract_of_only_tiny_modules_says_why(tmp_path, capsys, monkeypatch):
    base, tuned = _one_ulp_pair(tmp_path)
    save_safetensors(tuned, {"q.weight": Checkpoint(base).read("q.weight"),
                             "k.weight": Checkpoint(tuned).read("k.weight")})
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", base, tuned, "-o", tmp_path / "ad", "--rank", "8", "--dtype", "F16")
    text = " ".join(err.split())
    assert code == 2 and "1 module left out" in text and "would underflow F16" in text
    assert not (tmp_path / "ad").exists()


def test_underflow_message_names_the_real_cause():
    from svdkit.errors import SvdkitError
    from svdkit.lora.adapter import store_factors

    A, B = np.full((1, 3), 1e-6), np.full((4, 1), 1e-6)
    with pytest.raises(SvdkitError) as err:  # scale 1: the delta is tiny
        store_factors("k", A, B, np.float16, 1.0)
    text = str(err.value)
    assert "delta is too small for float16" in text and "(F32 or F64)" in text
    # a smaller alpha (a scale below 1) enlarges the factors: a cure at scale 1 too
    assert "smaller alpha" in text and "split" not in text
    with pytest.raises(SvdkitError) as err:  # a large scale: alpha is the cause
        store_factors("k", A, B, np.float16, 1e6)
    assert "alpha is too large" in str(err.value) and "split" not in str(err.value)


def test_huge_alpha_underflow_still_refused(tmp_path, capsys, monkeypatch):
    base, tuned = _one_ulp_pair(tmp_path)
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", base, tuned, "-o", tmp_path / "ad", "--rank", "8",
        "--alpha", "1e300")
    assert code == 2 and "alpha is too large" in " ".join(err.split())


def _spectrum_pair(tmp_path, m=48, n=40):
    """A float32 pair whose delta has a slowly decaying spectrum (every value counts)."""
    rng = np.random.default_rng(3)
    W = rng.standard_normal((m, n)).astype(np.float32)
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = 0.9 ** np.arange(n)
    D = ((U * s) @ V.T).astype(np.float32)
    base, tuned = tmp_path / "b.safetensors", tmp_path / "t.safetensors"
    save_safetensors(base, {"q.weight": W})
    save_safetensors(tuned, {"q.weight": W + D})
    return base, tuned


def _row(out, name):
    return next(line for line in out.splitlines() if line.strip("│ ").startswith(name))


@pytest.mark.parametrize("extra", [("--dtype", "BF16"), ("--max-rank", "8")])
def test_extract_missed_energy_is_marked_and_noted(tmp_path, capsys, monkeypatch, extra):
    from svdkit.lora import Adapter

    base, tuned = _spectrum_pair(tmp_path)
    target = 0.9999999
    code, out, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", base, tuned, "-o", tmp_path / "ad", "--energy", str(target), *extra)
    assert code == 0, err
    text = " ".join(out.split())
    # the energy the stored factors keep, measured here, is below the target
    ad = Adapter.load(tmp_path / "ad")
    D = (Checkpoint(tuned).read("q.weight", np.float64)
         - Checkpoint(base).read("q.weight", np.float64))
    rel = np.linalg.norm(D - ad.modules["q"].delta().astype(np.float64)) / np.linalg.norm(D)
    assert 1 - rel**2 < target
    row = _row(out, "q")
    assert "1.0000" not in row and "!" in row
    assert f"--energy {target} is not met" in text and "least kept " in text
    if extra[0] == "--max-rank":
        assert "--max-rank 8 caps their rank" in text
    else:
        assert "rounding them to BF16" in text and "least kept 1 − " in text


def test_extract_met_energy_is_not_marked(tmp_path, capsys, monkeypatch):
    base, tuned = _spectrum_pair(tmp_path)
    code, out, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", base, tuned, "-o", tmp_path / "ad", "--energy", "0.99")
    assert code == 0, err
    assert "!" not in _row(out, "q") and "is not met" not in out


def test_resize_and_pissa_missed_energy_marked(tmp_path, capsys, monkeypatch):
    base, tuned = _spectrum_pair(tmp_path)
    run = run_svdkit(capsys, monkeypatch)
    assert run("lora", "extract", base, tuned, "-o", tmp_path / "ad", "--rank", "30")[0] == 0
    code, out, err = run("lora", "resize", tmp_path / "ad", "-o", tmp_path / "rs",
                         "--energy", "0.99999", "--max-rank", "8")
    assert code == 0, err
    text = " ".join(out.split())
    assert "!" in _row(out, "q") and "--energy 0.99999 is not met" in text
    assert "--max-rank 8 caps" in text
    code, out, err = run("lora", "pissa", tuned, "-o", tmp_path / "p", "--residual",
                         tmp_path / "r.safetensors", "--energy", "0.99999", "--max-rank", "4")
    assert code == 0, err
    text = " ".join((out + err).split())
    assert "!" in _row(out, "q") and "--energy 0.99999 is not met" in text


@pytest.mark.parametrize(("name", "code"), [("bfloat16", "BF16"), ("float16", "F16"),
                                            ("fp16", "F16"), ("half", "F16"),
                                            ("float32", "F32"), ("BFloat16", "BF16"),
                                            ("f16", "F16"), ("bf16", "BF16")])
def test_cli_dtype_takes_the_api_names(name, code):
    from svdkit.cli.lora_command import _factor_dtype
    from svdkit.lora._args import check_float_dtype
    from svdkit.lora.safetensors_io import dtype_code

    dt = _factor_dtype(name)
    assert dtype_code(dt) == code
    if name.islower() and name != "f16":  # the API reads the same names alike
        assert check_float_dtype(name) == dt


@pytest.mark.parametrize("name", ["f8", "f4", "int8", "F8_E4M3", "float128"])
def test_cli_dtype_refuses_numpy_char_codes_and_others(name):
    from svdkit.cli.lora_command import _factor_dtype
    from svdkit.errors import SvdkitError

    with pytest.raises(SvdkitError, match=r"--dtype .*stored as one of F32, F16, BF16, F64"):
        _factor_dtype(name)


def test_cli_extract_dtype_bfloat16(tmp_path, capsys, monkeypatch):
    from svdkit.lora import Adapter

    base, tuned = _spectrum_pair(tmp_path)
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", base, tuned, "-o", tmp_path / "ad", "--rank", "4",
        "--dtype", "bfloat16")
    assert code == 0, err
    assert Adapter.load(tmp_path / "ad").modules["q"].A.dtype == ml_dtypes.bfloat16
