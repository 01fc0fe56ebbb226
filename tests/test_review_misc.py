"""Review fixes: output permissions, LoRA excess at the rounding level, bool ``tol``."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import svdkit
from svdkit._files import make_temp_dir, make_temp_file, new_directory_mode
from svdkit.cli.main import app
from svdkit.errors import SvdkitError
from svdkit.linalg.tolerance import zero_threshold
from svdkit.lora import save_safetensors
from svdkit.lora.factor import Quality, factor_delta, noise_floor

runner = CliRunner()


@contextlib.contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _modes(root: Path) -> dict[str, int]:
    """Mode bits of ``root`` and of everything under it, by relative path."""
    paths = [root, *root.rglob("*")] if root.is_dir() else [root]
    return {str(p.relative_to(root.parent)): stat.S_IMODE(p.stat().st_mode) for p in paths}


def _assert_public(root: Path) -> None:
    modes = _modes(root)
    assert modes
    for name, mode in modes.items():
        want = 0o755 if (root.parent / name).is_dir() else 0o644
        assert mode == want, f"{name}: {oct(mode)} instead of {oct(want)}"


@pytest.fixture
def lora_pair(tmp_path):
    """A 64×48 float32 base and a tuned copy with a rank-4 delta of 1 % of its size."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((64, 48)).astype(np.float32)
    D = 0.01 * (rng.standard_normal((64, 4)) @ rng.standard_normal((4, 48)))
    save_safetensors(tmp_path / "base.safetensors", {"model.layers.0.q_proj.weight": W})
    tuned = {"model.layers.0.q_proj.weight": (W + D).astype(np.float32)}
    save_safetensors(tmp_path / "tuned.safetensors", tuned)
    return tmp_path


# --------------------------------------------------------------------------- 1. permissions


def test_temporary_outputs_follow_the_umask(tmp_path):
    with _umask(0o022):
        assert new_directory_mode(tmp_path) == 0o755
        d = make_temp_dir(tmp_path, prefix=".x.")
        fd, f = make_temp_file(tmp_path, prefix=".y.")
        os.close(fd)
        assert stat.S_IMODE(d.stat().st_mode) == 0o755
        assert stat.S_IMODE(f.stat().st_mode) == 0o644
    with _umask(0o077):
        d = make_temp_dir(tmp_path, prefix=".x.")
        fd, f = make_temp_file(tmp_path, prefix=".y.")
        os.close(fd)
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    # the probes leave nothing behind
    assert sorted(p.name[:3] for p in tmp_path.iterdir()) == [".x.", ".x.", ".y.", ".y."]
    assert not any((tmp_path / p.name).is_dir() and any(p.iterdir()) for p in tmp_path.iterdir())


def test_lora_outputs_are_not_owner_only(lora_pair):
    d = lora_pair
    base, tuned = str(d / "base.safetensors"), str(d / "tuned.safetensors")
    with _umask(0o022):
        _ok(["lora", "extract", base, tuned, "-o", str(d / "ad"), "--rank", "4"])
        _ok(["lora", "resize", str(d / "ad"), "-o", str(d / "small"), "--rank", "2"])
        _ok(["lora", "merge", base, str(d / "ad"), "-o", str(d / "merged")])
        _ok(["lora", "merge", base, str(d / "ad"), "-o", str(d / "merged.safetensors")])
        _ok(["lora", "pissa", base, "-o", str(d / "p"), "--residual", str(d / "res"),
             "--rank", "4"])  # fmt: skip
        # replacing an earlier output gives the same modes
        _ok(["lora", "extract", base, tuned, "-o", str(d / "ad"), "--rank", "3"])
    for out in ("ad", "small", "merged", "merged.safetensors", "p", "res"):
        _assert_public(d / out)
    assert (d / "ad" / "adapter_model.safetensors").is_file()
    assert (d / "ad" / "svdkit_report.json").is_file()


def test_lsi_index_is_not_owner_only(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    topics = ["car engine petrol road", "apple banana fruit juice", "river boat water sea"]
    for i in range(12):
        (corpus / f"d{i}.txt").write_text(f"{topics[i % 3]} note{i}\n", encoding="utf-8")
    with _umask(0o022):
        _ok(["lsi", "index", str(corpus), "-o", str(tmp_path / "idx"), "-k", "2"])
    _assert_public(tmp_path / "idx")
    assert (tmp_path / "idx" / "U.npy").is_file()


# --------------------------------------------------------------------------- 2. LoRA excess


def test_extract_shows_no_excess_when_the_optimum_is_rounding(lora_pair):
    # rank 4 delta asked at rank 16: the optimum error is the float32 rounding of
    # W + ΔW (~1e-6 of ‖ΔW‖_F); a percentage of it is noise, shown as "—" / null
    d = lora_pair
    out = _ok(["lora", "extract", str(d / "base.safetensors"), str(d / "tuned.safetensors"),
               "-o", str(d / "ad"), "--rank", "16"])  # fmt: skip
    row = next(line for line in out.splitlines() if "64×48" in line)
    assert "—" in row and "%" not in row
    module = json.loads((d / "ad" / "svdkit_report.json").read_text())["modules"][0]
    assert module["rank"] == 16
    assert module["excess"] is None
    assert module["relative_error"] < 1e-5


def test_excess_is_kept_for_an_optimum_above_rounding():
    rng = np.random.default_rng(1)
    d = rng.standard_normal((64, 4)) @ rng.standard_normal((4, 48))
    d += 1e-2 * np.linalg.norm(d) / np.sqrt(d.size) * rng.standard_normal(d.shape)
    for dtype in (np.float32, np.float64):
        q = factor_delta(d.astype(dtype), 4).quality
        assert q.floor == pytest.approx(noise_floor(q.fro, dtype))
        assert q.excess is not None and 0.0 <= q.excess < 0.005


def test_quality_excess_is_none_at_or_below_the_noise_floor():
    floor = noise_floor(1.0, np.float32)
    assert floor == pytest.approx(100 * np.finfo(np.float32).eps)
    assert noise_floor(2.0, np.int64) == pytest.approx(200 * np.sqrt(np.finfo(np.float64).eps))
    assert Quality(16, 1.0, 1.0, 2e-6, 1e-6, floor).excess is None
    assert Quality(4, 1.0, 0.9, 0.011, 0.01, floor).excess == pytest.approx(0.1)
    assert Quality(4, 1.0, 0.9, 2e-6, 1e-6).excess == pytest.approx(1.0)  # no floor given


# --------------------------------------------------------------------------- 4. tol=True


@pytest.mark.parametrize("tol", [True, False, np.True_])
def test_a_bool_tol_is_refused(tol):
    with pytest.raises(SvdkitError, match=r"tol must be a finite number >= 0; got"):
        zero_threshold((3, 3), 1.0, tol=tol)
    with pytest.raises(SvdkitError, match=r"tol must be a finite number >= 0"):
        svdkit.rank(0.5 * np.eye(3), tol=tol)


def test_numeric_tol_still_accepted():
    assert zero_threshold((3, 3), 1.0, tol=1) == 1.0
    assert zero_threshold((3, 3), 1.0, tol=np.float32(0.25)) == 0.25
    assert svdkit.rank(0.5 * np.eye(3), tol=0.1) == 3


def test_failed_report_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import json

    from svdkit.lora.extract import ExtractionReport, write_report

    report = ExtractionReport()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(tmp_path / "svdkit_report.json", report)
    assert list(tmp_path.iterdir()) == []


def test_convergence_error_counts_the_triplets_asked_not_those_computed():
    # one Krylov step of 8 columns holds 8 Ritz triplets; 10 were asked: the error
    # said "did not certify 8 of 8"
    from svdkit.errors import ConvergenceError
    from svdkit.lowrank import truncated_svd

    X = np.random.default_rng(0).standard_normal((300, 200))
    with pytest.raises(ConvergenceError) as info:
        truncated_svd(X, 10, method="krylov", max_iter=1, block=8)
    msg = str(info.value)
    assert "computed only 8 of the 10 singular triplets asked" in msg
    assert info.value.result.k == 8
