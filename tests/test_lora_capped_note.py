"""The "raise max_rank" advice of extract and resize names only modules the cap stopped.

An ``--error`` bound below what the stored factors can reach (float32 rounding) is
missed at every rank; where the rank is already the whole spectrum (extract: the short
side of the delta; resize: the adapter's own rank, which resize never raises), a
``--max-rank`` at or above it lowered nothing, and raising it cannot help: the note
must blame the rounding, not the cap. Where the cap did lower the rank, it says so.
"""

from __future__ import annotations

import numpy as np
from cli_support import run_svdkit

from svdkit.lora import RankRule, extract, save_safetensors


def _pair(tmp_path, m: int = 24, n: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n)).astype(np.float32)
    # a full-rank delta, σᵢ = 0.7^i: every rank leaves out a tail above float32 rounding
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    D = (U * 0.7 ** np.arange(n)) @ V.T
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": W})
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": (W + D).astype(np.float32)})
    return tmp_path / "b.safetensors", tmp_path / "t.safetensors"


def test_extract_cap_at_the_short_side_is_not_blamed(tmp_path):
    base, tuned = _pair(tmp_path)
    ex = extract(base, tuned, RankRule(error=1e-9, max_rank=16))
    (m,) = ex.report.modules
    assert m.rank == 16 and m.relative_error > 1e-9  # the whole spectrum, still missed
    (note,) = [n for n in ex.report.notes if "not met" in n]
    assert "raise max_rank" not in note and "caps" not in note
    assert "F64" in note  # the rounding to F32 is the cause: a wider dtype is advised


def test_extract_cap_that_lowered_the_rank_is_blamed(tmp_path):
    base, tuned = _pair(tmp_path)
    ex = extract(base, tuned, RankRule(error=1e-3, max_rank=4))
    (m,) = ex.report.modules
    assert m.rank == 4 and m.relative_error > 1e-3  # 0.7^4 of the spectrum is left out
    (note,) = [n for n in ex.report.notes if "not met" in n]
    assert "max_rank=4 caps their rank: raise max_rank" in note


def test_resize_cap_at_the_adapter_rank_is_not_blamed(tmp_path, capsys, monkeypatch):
    base, tuned = _pair(tmp_path)
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "extract", base, tuned, "--rank", "8", "-o", tmp_path / "ad")
    assert code == 0, err
    # resize cannot raise a rank-8 adapter's rank: a cap of 8 stops nothing
    code, out, err = run("lora", "resize", tmp_path / "ad", "--error", "1e-12",
                         "--max-rank", "8", "-o", tmp_path / "ad2")
    assert code == 0, err
    note = " ".join(out[out.index("note:"):].split())
    assert "not met" in note
    assert "raise --max-rank" not in note and "caps" not in note
    # a cap below the adapter's rank does stop it
    code, out, err = run("lora", "resize", tmp_path / "ad", "--error", "1e-3",
                         "--max-rank", "2", "-o", tmp_path / "ad3")
    assert code == 0, err
    note = " ".join(out[out.index("note:"):].split())
    assert "--max-rank 2 caps their rank: raise --max-rank" in note
