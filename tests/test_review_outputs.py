"""Outputs lose nothing: ownership, outputs of several files, descriptors, write errors.

The ten defects of the output-safety review, each in its own section.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from cli_support import error_line, run_svdkit

from svdkit._files import write_file
from svdkit.errors import FileFormatError
from svdkit.lora import Adapter, Checkpoint, LoraModule, RankRule, merge, pissa, save_safetensors
from svdkit.lora.extract import extract

RNG = np.random.default_rng(7)
W0 = RNG.standard_normal((16, 12)).astype(np.float32)
W1 = RNG.standard_normal((16, 12)).astype(np.float32)


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.fixture
def fx(tmp_path):
    """A base directory, its fine-tune, a single-file base and an adapter of rank 1."""
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    weights = {"layer.0.q.weight": W0, "layer.1.q.weight": W1}
    save_safetensors(base / "model.safetensors", weights)
    (base / "config.json").write_text(json.dumps({"model_type": "bert"}))
    delta = {k: 0.1 * np.outer(RNG.standard_normal(16), RNG.standard_normal(12)) for k in weights}
    save_safetensors(tuned / "model.safetensors",
                     {k: (v + delta[k]).astype(np.float32) for k, v in weights.items()})
    (tuned / "config.json").write_text(json.dumps({"model_type": "bert"}))
    save_safetensors(tmp_path / "base.safetensors", weights)
    ad = Adapter({"layer.0.q": LoraModule("layer.0.q", "linear", A=RNG.standard_normal((1, 12)),
                                          B=RNG.standard_normal((16, 1)), alpha=1.0)})
    ad.save(tmp_path / "adapter")
    return tmp_path


# 1. a merge or a residual never replaces an adapter, svdkit's own included


def test_merge_refuses_an_svdkit_adapter_directory(fx):
    other = fx / "adapterB"
    ex = extract(fx / "base", fx / "tuned", RankRule(rank=1))
    ex.adapter.save(other)
    before = _snapshot(other)
    with pytest.raises(FileFormatError, match="adapter"):
        merge(fx / "base", fx / "adapter", other)
    with pytest.raises(FileFormatError, match="adapter"):
        pissa(fx / "base", fx / "pissa", other, RankRule(rank=1))
    with pytest.raises(FileFormatError, match="adapter"):  # its weights file, alone
        merge(fx / "base.safetensors", fx / "adapter", other / "adapter_model.safetensors")
    assert _snapshot(other) == before
    assert not (fx / "pissa").exists()


def test_cli_merge_refuses_an_adapter_directory(fx, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "extract", fx / "base", fx / "tuned", "-o", fx / "adB", "-r", "1")
    assert code == 0, err
    before = _snapshot(fx / "adB")
    for out in (fx / "adB", fx / "adB" / "adapter_model.safetensors"):
        code, _, err = run("lora", "merge", fx / "base.safetensors", fx / "adapter", "-o", out)
        assert "adapter" in error_line(code, err)
    code, _, err = run("lora", "pissa", fx / "base", "-o", fx / "pi", "--residual", fx / "adB",
                       "-r", "1")
    assert "adapter" in error_line(code, err)
    assert _snapshot(fx / "adB") == before


def test_an_adapter_mark_vouches_for_no_checkpoint(fx):
    """The adapter's marked weights renamed model.safetensors beside a config.json: no
    checkpoint svdkit wrote (before, any mark vouched for the top-level .json files)."""
    out = fx / "notckpt"
    out.mkdir()
    (fx / "adapter" / "adapter_model.safetensors").rename(out / "model.safetensors")
    (out / "config.json").write_text('{"mine": 1}')
    with pytest.raises(FileFormatError, match="lora adapter"):
        merge(fx / "base", Adapter({"layer.0.q": LoraModule(
            "layer.0.q", "linear", A=np.ones((1, 12)), B=np.ones((16, 1)), alpha=1.0)}), out)
    assert (out / "config.json").read_text() == '{"mine": 1}'


def test_merged_output_is_replaced_by_a_rerun(fx):
    out = fx / "merged"
    merge(fx / "base", fx / "adapter", out)
    merge(fx / "base", fx / "adapter", out)  # svdkit's own checkpoint: replaced
    m = Adapter.load(fx / "adapter").modules["layer.0.q"]
    got = Checkpoint(out).read("layer.0.q.weight")
    assert np.abs(got - (W0 + m.delta())).max() < 1e-5
    assert _hidden(fx) == []


# 2. an output of several files is replaced as one


def _pair_error(adapter_dir: Path, residual: Path) -> float:
    ad = Adapter.load(adapter_dir)
    R = Checkpoint(residual).read("layer.0.q.weight", np.float64)
    return float(np.linalg.norm(W0 - (R + ad.modules["layer.0.q"].delta())) / np.linalg.norm(W0))


def test_pissa_failure_keeps_the_earlier_pair(fx, monkeypatch):
    merge_mod = importlib.import_module("svdkit.lora.merge")

    pissa(fx / "base", fx / "pi", fx / "res", RankRule(rank=2))
    before = _snapshot(fx / "pi"), _snapshot(fx / "res")
    assert _pair_error(fx / "pi", fx / "res") < 1e-6

    real = merge_mod.SafetensorsWriter.write

    def full_disk(self, name, array):
        if name == "layer.1.q.weight":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, name, array)

    monkeypatch.setattr(merge_mod.SafetensorsWriter, "write", full_disk)
    with pytest.raises(FileFormatError, match=r"cannot write .*res.*No space left"):
        pissa(fx / "base", fx / "pi", fx / "res", RankRule(rank=4))
    assert (_snapshot(fx / "pi"), _snapshot(fx / "res")) == before
    assert Adapter.load(fx / "pi").modules["layer.0.q"].r == 2
    assert _pair_error(fx / "pi", fx / "res") < 1e-6
    assert _hidden(fx) == []


def test_swap_in_puts_everything_back_when_one_move_fails(tmp_path):
    from svdkit._files import swap_in

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    new_a = tmp_path / ".a.new"
    new_a.mkdir()
    (new_a / "f").write_text("new a")
    missing = tmp_path / ".b.new"  # never made: its move fails
    with pytest.raises(OSError):
        swap_in([(new_a, tmp_path / "a"), (missing, tmp_path / "b.txt")])
    assert (tmp_path / "a" / "f").read_text() == "old a"
    assert (tmp_path / "b.txt").read_text() == "old b"
    assert (new_a / "f").read_text() == "new a"  # back where the caller made it
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.new", "a", "b.txt"]


def test_extract_report_failure_keeps_the_old_adapter_and_report(fx, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "extract", fx / "base", fx / "tuned", "-o", fx / "adX", "-r", "2")
    assert code == 0, err
    before = _snapshot(fx / "adX")
    assert set(before) == {"adapter_config.json", "adapter_model.safetensors",
                           "svdkit_report.json"}
    extract_mod = importlib.import_module("svdkit.lora.extract")

    def no_space(path, report):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(extract_mod, "write_report", no_space)
    code, _, err = run("lora", "extract", fx / "base", fx / "tuned", "-o", fx / "adX", "-r", "1")
    line = error_line(code, err[err.index("error: "):])  # (after the progress bar)
    assert f"cannot write '{fx / 'adX'}'" in line and "No space left" in line
    assert _snapshot(fx / "adX") == before
    assert _hidden(fx) == []


# 3. /dev/stdout, /dev/fd/N: written into the descriptor, never renamed over


@pytest.mark.parametrize("form", ["/dev/fd/{}", "/proc/self/fd/{}", "link"])
def test_write_file_writes_into_a_descriptor(tmp_path, form):
    log = tmp_path / "results.log"
    log.write_text("old line\n")
    inode = log.stat().st_ino
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        target = form.format(fd) if form != "link" else tmp_path / "out"
        if form == "link":
            target.symlink_to(f"/dev/fd/{fd}")
        write_file(target, lambda f: f.write(b"new line\n"))
        os.write(fd, b"after\n")  # what the shell writes next lands in the same file
    finally:
        os.close(fd)
    assert log.read_text() == "old line\nnew line\nafter\n"
    assert log.stat().st_ino == inode
    assert _hidden(tmp_path) == []


def test_cli_explain_to_dev_fd_appends(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    log = tmp_path / "log"
    log.write_text("kept\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        code, _, err = run("explain", "[[1,2],[3,4]]", "-f", "json", "-o", f"/dev/fd/{fd}")
    finally:
        os.close(fd)
    assert code == 0, err
    text = log.read_text()
    assert text.startswith("kept\n")
    assert json.loads(text[len("kept\n"):])["schema"] == "svdkit.explain"


# 4. explain -o: never over a file that is not its report; unknown suffixes refused


def test_explain_refuses_to_replace_a_matrix(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    data = tmp_path / "data.npy"
    np.save(data, np.eye(3))
    before = data.read_bytes()
    code, _, err = run("explain", "[[1,2],[3,4]]", "-f", "json", "-o", data)
    assert "not a report svdkit explain wrote" in error_line(code, err)
    assert data.read_bytes() == before


@pytest.mark.parametrize("name", ["report.pdf", "data.npy", "noext"])
def test_explain_unknown_suffix_is_refused(tmp_path, capsys, monkeypatch, name):
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("explain", "[[1,2],[3,4]]", "-o", tmp_path / name)
    line = error_line(code, err)
    assert ".json" in line and ".txt" in line and "--format" in line
    assert not (tmp_path / name).exists()


def test_explain_txt_is_terminal_text_and_a_report_is_replaced(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    out = tmp_path / "r.txt"
    for matrix in ("[[1,2],[3,4]]", "[[5,6],[7,9]]"):  # the second run replaces the first
        code, stdout, err = run("explain", matrix, "-o", out)
        assert code == 0, err
        assert stdout == ""
    text = out.read_text()
    assert text.startswith("svdkit explain") and "╭" in text and "9" in text
    code, _, err = run("explain", "[[1]]", "-f", "json", "-o", out)  # -f: any suffix
    assert code == 0, err
    assert json.loads(out.read_text())["schema"] == "svdkit.explain"


def test_explain_dash_is_standard_output(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    monkeypatch.chdir(tmp_path)
    code, out, err = run("explain", "[[1,2],[3,4]]", "-f", "json", "-o", "-")
    assert code == 0, err
    assert json.loads(out)["schema"] == "svdkit.explain"
    assert not (tmp_path / "-").exists()


# 5. the library refuses an output over its own inputs


def test_merge_and_pissa_api_refuse_their_base(fx):
    merged = fx / "merged"
    merge(fx / "base", fx / "adapter", merged)  # a checkpoint svdkit wrote: replaceable
    before = _snapshot(merged)
    with pytest.raises(FileFormatError, match="base"):
        merge(merged, fx / "adapter", merged)
    with pytest.raises(FileFormatError, match="base"):
        pissa(merged, fx / "pi", merged, RankRule(rank=1))
    with pytest.raises(FileFormatError, match="adapter"):
        merge(fx / "base", fx / "adapter", fx / "adapter" / "sub")
    assert _snapshot(merged) == before
    assert not (fx / "pi").exists()


# 6. save_safetensors: no temporary file left, errors name the path


def test_save_safetensors_failure_in_close_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    save_safetensors(path, {"w": W0})
    before = path.read_bytes()
    st = importlib.import_module("svdkit.lora.safetensors_io")

    def fsync(fd):
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(st.os, "fsync", fsync)
    with pytest.raises(FileFormatError, match=r"cannot write .*model\.safetensors.*too large"):
        save_safetensors(path, {"w": W1})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_save_safetensors_refuses_a_directory_and_a_device(tmp_path):
    (tmp_path / "d.safetensors").mkdir()
    with pytest.raises(FileFormatError, match="is a directory"):
        save_safetensors(tmp_path / "d.safetensors", {"w": W0})
    with pytest.raises(FileFormatError, match="not a regular file"):
        save_safetensors("/dev/null", {"w": W0})
    assert Path("/dev/null").is_char_device()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.safetensors"]


# 7. save_figures: checked before drawing, a user's file never replaced


def test_save_figures_checks_before_drawing(tmp_path):
    from svdkit.plot import save_figures

    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileFormatError, match="not a directory"):
        save_figures([[1, 2], [3, 4]], tmp_path / "afile")
    with pytest.raises(FileFormatError, match="is a file"):
        save_figures([[1, 2], [3, 4]], tmp_path / "afile" / "sub")
    figd = tmp_path / "figd"
    (figd / "spectrum.png").mkdir(parents=True)
    with pytest.raises(FileFormatError, match=r"spectrum\.png.*not a regular file"):
        save_figures([[1, 2], [3, 4]], figd)
    assert sorted(p.name for p in figd.iterdir()) == ["spectrum.png"]  # nothing drawn
    (figd / "spectrum.png").rmdir()
    (figd / "spectrum.png").write_bytes(b"my own picture")
    with pytest.raises(FileFormatError, match="not a figure svdkit wrote"):
        save_figures([[1, 2], [3, 4]], figd)
    assert (figd / "spectrum.png").read_bytes() == b"my own picture"
    (figd / "spectrum.png").unlink()
    first = save_figures([[1, 2], [3, 4]], figd)
    again = save_figures([[1, 2], [3, 4]], figd)  # its own files: replaced
    assert first == again and all(p.stat().st_size > 0 for p in again)


def test_cli_figures_same_as_output_refused_before_writing(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    same = tmp_path / "same.json"
    code, out, err = run("explain", "[[1,2],[3,4]]", "-o", same, "--figures", same)
    assert "--figures" in error_line(code, err)
    assert not same.exists() and out == ""


# 8. write failures name the path


def test_merge_write_failure_names_the_output(fx, monkeypatch):
    merge_mod = importlib.import_module("svdkit.lora.merge")

    def too_large(self, name, array):
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(merge_mod.SafetensorsWriter, "write", too_large)
    with pytest.raises(FileFormatError, match=r"cannot write '.*merged': File too large"):
        merge(fx / "base", fx / "adapter", fx / "merged")
    assert not (fx / "merged").exists() and _hidden(fx) == []


def test_adapter_save_write_failure_names_the_directory(fx, monkeypatch):
    st = importlib.import_module("svdkit.lora.safetensors_io")

    before = _snapshot(fx / "adapter")

    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(st.os, "fsync", fsync)
    with pytest.raises(FileFormatError, match=r"cannot write '.*adapter': No space left"):
        Adapter.load(fx / "adapter").save(fx / "adapter")
    assert _snapshot(fx / "adapter") == before and _hidden(fx) == []


# 9. a single-file checkpoint through a symbolic link: the link kept


def test_single_file_merge_writes_through_a_link(fx):
    (fx / "store").mkdir()
    merge(fx / "base.safetensors", fx / "adapter", fx / "store" / "m.safetensors")
    link = fx / "m.safetensors"
    link.symlink_to(fx / "store" / "m.safetensors")
    ad = Adapter({"layer.1.q": LoraModule("layer.1.q", "linear", A=np.ones((1, 12)),
                                          B=np.ones((16, 1)), alpha=1.0)})
    merge(fx / "base.safetensors", ad, link)
    assert link.is_symlink()
    got = Checkpoint(fx / "store" / "m.safetensors").read("layer.1.q.weight")
    assert np.abs(got - (W1 + 1.0)).max() < 1e-6
    assert _hidden(fx / "store") == [] and _hidden(fx) == []


# 10. analyse --json: devices written into, '-' is standard output


def test_analyse_json_to_devices_and_dash(fx, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    monkeypatch.chdir(fx)
    code, _, err = run("lora", "analyse", fx / "adapter", "--json", "/dev/null")
    assert code == 0, err
    code, out, err = run("lora", "analyse", fx / "adapter", "--json", "-")
    assert code == 0, err
    rows = json.loads(out)  # the JSON alone on standard output (the table on stderr)
    assert [r["module"] for r in rows] == ["layer.0.q"] and "layer.0.q" in err
    assert not (fx / "-").exists()


def test_a_real_picture_of_a_figures_name_is_never_replaced(tmp_path):
    # a user's own PNG/SVG named like a figure is an image of its format, as a figure
    # of an svdkit from before the mark is: only the mark vouches for a file
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from svdkit.plot import save_figures

    figd = tmp_path / "figd"
    figd.mkdir()
    fig = plt.figure()
    fig.savefig(figd / "spectrum.png", metadata={"Software": None})
    plt.close(fig)
    mine = (figd / "spectrum.png").read_bytes()
    with pytest.raises(FileFormatError, match="not a figure svdkit wrote"):
        save_figures([[1, 2], [3, 4]], figd)
    assert (figd / "spectrum.png").read_bytes() == mine
    assert sorted(p.name for p in figd.iterdir()) == ["spectrum.png"]
