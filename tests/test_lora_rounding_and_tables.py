"""Float64 → BF16/F8 rounded once (not through float32's nearest), and the tables'
"rel. error" readable below 5e-5.

ml_dtypes casts float64 to bfloat16 and to the 8-bit floats through float32: a value
just off a midpoint of the target is rounded twice and can go the wrong way
(``1 + 2**-8 + 2**-30`` → ``1.0``, where the nearest bfloat16 is ``1.0078125``).
:func:`svdkit.lora.safetensors_io.round_to` rounds once; PiSSA's residual of a BF16
base, factors stored as BF16, the writer and :meth:`Checkpoint.read` use it. The
tables of extract, resize and pissa printed every error below 5e-5 as ``0.0000``.
"""

from __future__ import annotations

import re

import ml_dtypes
import numpy as np
import pytest
from cli_support import run_svdkit

from svdkit.lora import Adapter, Checkpoint, RankRule, pissa, save_safetensors
from svdkit.lora._cells import error_cell
from svdkit.lora.adapter import store_factors
from svdkit.lora.safetensors_io import SafetensorsWriter, round_to

NARROW = [ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2, np.float16]


def _finite_values(dtype) -> tuple[np.ndarray, np.ndarray]:
    """Every finite value of the 8- or 16-bit float ``dtype`` (``-0`` left out), sorted,
    as float64, with its bit pattern."""
    dt = np.dtype(dtype)
    pats = np.arange(2 ** (8 * dt.itemsize))
    with np.errstate(invalid="ignore"):
        vals = pats.astype(np.uint16 if dt.itemsize == 2 else np.uint8).view(dt).astype(np.float64)
    keep = np.isfinite(vals) & ~((vals == 0) & np.signbit(vals))
    order = np.argsort(vals[keep])
    return vals[keep][order], pats[keep][order]


def _nearest(x: np.ndarray, dtype) -> np.ndarray:
    """The exact nearest value of ``dtype`` to each float64 ``x`` (ties to the even bit
    pattern), found between its two neighbours: their midpoint (9 significant bits at
    most) is a float64, so each comparison is exact. ``x`` within ``dtype``'s range."""
    vals, pats = _finite_values(dtype)
    j = np.searchsorted(vals, x)
    hit = (j < vals.size) & (vals[np.minimum(j, vals.size - 1)] == x)
    lo_i, hi_i = np.maximum(j - 1, 0), np.minimum(j, vals.size - 1)
    lo, hi = vals[lo_i], vals[hi_i]
    mid = lo / 2 + hi / 2
    tie_lo = pats[lo_i] % 2 == 0
    out = np.where(x < mid, lo, np.where(x > mid, hi, np.where(tie_lo, lo, hi)))
    out = np.where(hit, x, out)
    return np.where(out == 0, np.copysign(0.0, x), out)


def _adversarial(dtype, rng: np.random.Generator) -> np.ndarray:
    """Midpoints of ``dtype`` (normal, subnormal, near its largest value), exactly and
    nudged by a few float64 ulps or by 2**-30 relative, both signs; and random values."""
    vals, _ = _finite_values(dtype)
    pos = vals[vals >= 0]
    mids = pos[:-1] / 2 + pos[1:] / 2
    pick = np.concatenate([mids[:200], mids[-200:], rng.choice(mids, 2000)])
    nudged = [pick, np.nextafter(pick, np.inf), np.nextafter(pick, 0),
              pick * (1 + 2.0**-30), pick * (1 - 2.0**-30)]
    x = np.concatenate(nudged)
    top = float(pos[-1])
    x = np.concatenate([x, rng.uniform(0, top, 3000), np.exp(rng.uniform(-100, np.log(top), 3000))])
    x = x[x <= top]
    return np.concatenate([x, -x])


@pytest.mark.parametrize("dtype", NARROW, ids=lambda t: np.dtype(t).name)
def test_round_to_is_the_nearest_value(dtype):
    x = _adversarial(dtype, np.random.default_rng(0))
    got = round_to(x, dtype)
    assert got.dtype == np.dtype(dtype) and got.shape == x.shape
    want = _nearest(x, dtype)
    wide = got.astype(np.float64)
    assert np.array_equal(wide, want)
    assert np.array_equal(np.signbit(wide), np.signbit(want))  # (-0 stays -0)
    # a 2-D, non-contiguous, big-endian float64 input: the same values
    x2 = x[: 2 * (x.size // 2)].reshape(2, -1).T.astype(">f8")
    assert np.array_equal(round_to(x2, dtype).astype(np.float64), want[: x2.size].reshape(2, -1).T)


def test_round_to_fixes_the_double_rounding_of_ml_dtypes():
    x = np.array([1 + 2**-8 + 2**-30, 1 + 2**-4 + 2**-30])
    assert x[:1].astype(ml_dtypes.bfloat16).astype(np.float64)[0] == 1.0  # the plain cast's
    assert round_to(x[:1], ml_dtypes.bfloat16).astype(np.float64)[0] == 1 + 2**-7
    assert round_to(x[1:], ml_dtypes.float8_e4m3fn).astype(np.float64)[0] == 1.125


@pytest.mark.parametrize("dtype", NARROW, ids=lambda t: np.dtype(t).name)
def test_round_to_keeps_overflow_inf_and_nan_as_the_cast_does(dtype):
    top = float(ml_dtypes.finfo(dtype).max)
    x = np.array([np.inf, -np.inf, np.nan, 4 * top, -4 * top, 1e300, top])
    with np.errstate(over="ignore", invalid="ignore"):
        plain = x.astype(dtype).astype(np.float64)
    got = round_to(x, dtype).astype(np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(plain))
    assert np.array_equal(got[~np.isnan(got)], plain[~np.isnan(plain)])
    assert got[-1] == top


def test_round_to_leaves_other_casts_to_numpy():
    x = np.random.default_rng(1).standard_normal(50)
    assert round_to(x, np.float64) is x
    assert np.array_equal(round_to(x, np.float32), x.astype(np.float32))
    x32 = x.astype(np.float32)
    assert np.array_equal(round_to(x32, ml_dtypes.bfloat16), x32.astype(ml_dtypes.bfloat16))


def test_bf16_pissa_residual_is_the_nearest_bf16_of_w_minus_ba(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((1024, 1024)).astype(ml_dtypes.bfloat16)
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": W})
    ad, res = pissa(tmp_path / "b.safetensors", tmp_path / "a", tmp_path / "r.safetensors",
                    RankRule(rank=16))
    R = Checkpoint(res).read("fc.weight", None)
    assert R.dtype == np.dtype(ml_dtypes.bfloat16)
    exact = W.astype(np.float64) - ad.modules["fc"].delta(dtype=np.float64)  # factors as stored
    want = _nearest(exact.ravel(), ml_dtypes.bfloat16).reshape(exact.shape)
    # the case is exercised: a cast through float32 misses some of these entries
    assert np.any(exact.astype(ml_dtypes.bfloat16).astype(np.float64) != want)
    assert np.array_equal(R.astype(np.float64), want)


def _midpoint_matrix(shape) -> np.ndarray:
    """Values just above bfloat16 midpoints: each one's plain cast rounds down, wrongly."""
    rng = np.random.default_rng(2)
    above = 1 + rng.integers(0, 128, shape) / 128 + 2.0**-8 + 2.0**-30
    return np.ldexp(above, rng.integers(-4, 4, shape)) * rng.choice([-1.0, 1.0], shape)


def test_bf16_factors_and_the_writer_and_read_round_once(tmp_path):
    A, B = _midpoint_matrix((3, 8)), _midpoint_matrix((6, 3))
    sA, sB = store_factors("fc", A, B, ml_dtypes.bfloat16, 1.0)
    for got, x in ((sA, A), (sB, B)):
        want = _nearest(x.ravel(), ml_dtypes.bfloat16).reshape(x.shape)
        assert np.array_equal(got.astype(np.float64), want)
        assert not np.array_equal(x.astype(ml_dtypes.bfloat16).astype(np.float64), want)

    want = _nearest(A.ravel(), ml_dtypes.bfloat16).reshape(A.shape)
    with SafetensorsWriter(tmp_path / "w.safetensors", {"t": ("BF16", A.shape)}) as w:
        w.write("t", A)
    assert np.array_equal(Checkpoint(tmp_path / "w.safetensors").read("t"), want)

    save_safetensors(tmp_path / "f64.safetensors", {"t": A})
    got = Checkpoint(tmp_path / "f64.safetensors").read("t", ml_dtypes.bfloat16)
    assert got.dtype == np.dtype(ml_dtypes.bfloat16)
    assert np.array_equal(got.astype(np.float64), want)


# ------------------------------------------------------------------ the "rel. error" cells


def test_error_cell():
    assert error_cell(0.0) == "0"
    assert error_cell(0.01234) == "0.0123"
    assert error_cell(1e-3) == "0.0010"
    assert error_cell(4.56e-6) == "4.56e-06"
    assert error_cell(3.2e-12) == "3.20e-12"
    assert error_cell(float("inf")) == "inf"


def _cell(out: str, module: str = "fc") -> tuple[float, bool]:
    """The "rel. error" cell of ``module``'s row (the last number of the row that is
    followed by nothing but an optional '!'), as a number, and whether it is marked '!'."""
    row = next(line for line in out.splitlines() if re.match(rf"│ {module}\s", line))
    cells = [c.strip() for c in row.strip("│").split("│")]
    text = next(c for c in reversed(cells) if re.match(r"^[0-9.e+-]+( !)?$", c))
    return float(text.split()[0]), text.endswith("!")


@pytest.fixture
def pair(tmp_path):
    """A base and a tuned model whose delta has two large directions and a tiny third."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((48, 32)).astype(np.float32)
    U = np.linalg.qr(rng.standard_normal((48, 3)))[0]
    V = np.linalg.qr(rng.standard_normal((32, 3)))[0]
    D = (U * [1.0, 0.5, 2e-6]) @ V.T
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": W})
    tuned = (W.astype(np.float64) + D).astype(np.float32)
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": tuned})
    return tmp_path, W, tuned.astype(np.float64) - W.astype(np.float64)


def test_extract_and_resize_tables_show_a_small_error(pair, capsys, monkeypatch):
    d, _, D = pair
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "extract", d / "b.safetensors", d / "t.safetensors",
                         "--rank", "2", "--dtype", "F64", "-o", d / "ad")
    assert code == 0, err
    shown, marked = _cell(out)
    delta = Adapter.load(d / "ad").modules["fc"].delta(dtype=np.float64)
    rel = np.linalg.norm(D - delta) / np.linalg.norm(D)
    assert 1e-7 < rel < 1e-5 and not marked
    assert shown == pytest.approx(rel, rel=1e-2)

    code, out, err = run("lora", "extract", d / "b.safetensors", d / "t.safetensors",
                         "--rank", "3", "--dtype", "F64", "-o", d / "ad3")
    assert code == 0, err
    code, out, err = run("lora", "resize", d / "ad3", "--rank", "2", "-o", d / "ad2")
    assert code == 0, err
    shown, marked = _cell(out)
    before = Adapter.load(d / "ad3").modules["fc"].delta(dtype=np.float64)
    after = Adapter.load(d / "ad2").modules["fc"].delta(dtype=np.float64)
    rel = np.linalg.norm(before - after) / np.linalg.norm(before)
    assert 1e-7 < rel < 1e-5 and not marked
    assert shown == pytest.approx(rel, rel=1e-2)


def test_pissa_table_shows_the_error_above_an_unmet_bound(pair, capsys, monkeypatch):
    d, W, _ = pair
    run = run_svdkit(capsys, monkeypatch)
    # float32 factors cannot reach 1e-9: the table marks the module, with its error
    code, out, err = run("lora", "pissa", d / "b.safetensors", "--error", "1e-9",
                         "-o", d / "p", "--residual", d / "r.safetensors")
    assert code == 0, err
    shown, marked = _cell(out)
    delta = Adapter.load(d / "p").modules["fc"].delta(dtype=np.float64)
    W64 = W.astype(np.float64)
    rel = np.linalg.norm(W64 - delta) / np.linalg.norm(W64)
    assert marked and 1e-9 < rel < 1e-5
    assert shown == pytest.approx(rel, rel=1e-2)
