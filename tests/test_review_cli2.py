"""The command line as a Unix user meets it: outputs written through links and into
devices, modes kept, unique temporary files; non-UTF-8 locales, a full disk, closed
or vanished standard streams; tables that never cut values; files without an
extension. Each runs the real ``svdkit`` executable (or the in-process entry point).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_support import run_svdkit

from svdkit._files import write_file

SVDKIT = Path(sys.executable).parent / "svdkit"
MATRIX = "1 2; 3 4"


def _run(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} | kwargs
    return subprocess.run([str(SVDKIT), *map(str, args)], env=full_env, timeout=180,
                          check=False, **streams)


@pytest.fixture
def cli(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


# ------------------------------------------------------------------ output files


def test_an_output_through_a_link_replaces_the_file_it_names(cli, tmp_path):
    target = tmp_path / "target.json"
    target.write_text('{"schema": "svdkit.explain"}')  # an earlier report: replaced
    link = tmp_path / "link.json"
    link.symlink_to(target)
    code, _, err = cli("explain", MATRIX, "-f", "json", "-o", link)
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == target
    assert json.loads(target.read_text())["schema"] == "svdkit.explain"


def test_an_output_into_a_device_writes_into_it(cli, tmp_path):
    """``-o /dev/null`` made /dev/null a regular file (run as root: for the whole system)."""
    code, _, err = cli("explain", MATRIX, "-f", "json", "-o", "/dev/null")
    assert code == 0, err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not [p for p in Path("/dev").iterdir() if p.name.startswith(".null.")]


def test_write_file_keeps_the_mode_and_leaves_nothing_behind(tmp_path):
    out = tmp_path / "report.json"
    write_file(out, lambda f: f.write(b"1"))
    out.chmod(0o600)
    write_file(out, lambda f: f.write(b"2"))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text() == "2"

    def failing(f):
        f.write(b"half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_file(out, failing)
    assert out.read_text() == "2" and sorted(p.name for p in tmp_path.iterdir()) == [
        "report.json"]


def test_rewritten_outputs_keep_their_mode_and_a_users_tmp_file(cli, tmp_path):
    report = tmp_path / "report.json"
    cli("explain", MATRIX, "-f", "json", "-o", report)
    report.chmod(0o600)
    mine = tmp_path / ".report.json.tmp"  # the name the temporary file always had
    mine.write_text("my notes")
    code, _, err = cli("explain", MATRIX, "-f", "json", "-o", report)
    assert code == 0, err
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert mine.read_text() == "my notes"
    np.save(tmp_path / "m.npy", np.eye(5)[:, :3] @ np.ones((3, 3)))
    out = tmp_path / "out.npz"
    cli("svd", tmp_path / "m.npy", "-k", "1", "-o", out)
    out.chmod(0o640)
    code, _, err = cli("svd", tmp_path / "m.npy", "-k", "2", "-o", out)
    assert code == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


# ------------------------------------------------------------------ standard streams


def test_a_latin1_locale_prints_help_reports_and_valid_json():
    env = {"PYTHONIOENCODING": "latin-1", "LC_ALL": "C", "PYTHONUTF8": "0"}
    for args in (["explain", "--help"], ["svd", "--help"], ["explain", MATRIX]):
        proc = _run(*args, env=env)
        assert proc.returncode == 0, proc.stderr.decode("latin-1")
        assert b"Traceback" not in proc.stderr
    proc = _run("explain", MATRIX, "-f", "json", env=env)
    assert proc.returncode == 0
    data = json.loads(proc.stdout.decode("latin-1"))  # σ as \\u03c3: JSON's own escape
    utf8 = json.loads(_run("explain", MATRIX, "-f", "json").stdout.decode("utf-8"))
    assert data == utf8


def test_a_full_disk_is_one_error_line():
    with open("/dev/full", "wb") as full:
        proc = _run("explain", MATRIX, "-f", "json", stdout=full)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.startswith("error: ") and "No space left on device" in err


@pytest.mark.parametrize(("closed", "args", "says"), [
    (1, ["explain", MATRIX], "standard output is closed"),
    (0, ["explain", "-"], "standard input is closed"),
])
def test_closed_standard_streams_are_one_error_line(closed, args, says):
    proc = _run(*args, preexec_fn=lambda: os.close(closed))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err and says in err


def test_matrix_text_too_long_for_a_file_name_is_matrix_text(cli):
    """A one-line matrix of 256 to 4095 characters made ``Path.is_dir`` raise "File name
    too long": a traceback."""
    matrix = "; ".join(" ".join(str((i * 7 + j) % 11) for j in range(20)) for i in range(20))
    assert 255 < len(matrix) < 4096
    code, out, err = cli("explain", matrix, "-f", "json", "--no-steps")
    assert code == 0, err
    assert json.loads(out)["sections"][0]["facts"]["shape"] == [20, 20]


def test_a_reader_that_goes_away_ends_the_command_quietly():
    matrix = "; ".join(" ".join(str((i * 7 + j) % 11) for j in range(60)) for i in range(60))
    proc = subprocess.Popen([str(SVDKIT), "explain", matrix, "-f", "json", "--no-steps"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert proc.stdout.read(100)  # (the report is far larger than a pipe's buffer)
    proc.stdout.close()
    _, err = proc.communicate(timeout=180)
    assert proc.returncode in (0, 1) and err == b""  # (click ends it, as `head` expects)


# ------------------------------------------------------------------ tables and inputs


def test_lsi_tables_keep_rank_score_and_id_whole(cli, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    long = "reports_2024_quarterly_automotive_engine_failure_analysis_part_{}.txt"
    for i in range(4):
        (corpus / long.format(i)).write_text(f"car engine motor petrol road {i}")
        (corpus / f"h{i}.txt").write_text(f"doctor patient medicine hospital {i}")
    code, _, err = cli("lsi", "index", corpus, "-o", tmp_path / "idx", "-k", "2")
    assert code == 0, err
    monkeypatch.setenv("COLUMNS", "50")
    code, out, err = cli("lsi", "query", tmp_path / "idx", "car engine", "-n", "3")
    assert code == 0, err
    assert "…" not in out
    rows = [line for line in out.splitlines() if re.match(r"^│ \d ", line)]
    assert [r.split("│")[1].strip() for r in rows] == ["1", "2", "3"]
    assert all(re.fullmatch(r"-?\d\.\d{4}", r.split("│")[2].strip()) for r in rows)
    ids = "".join(line.split("│")[3].strip() for line in out.splitlines() if "│" in line
                  and not line.startswith("┃"))
    assert long.format(0) in ids or long.format(1) in ids


def test_lora_tables_keep_the_method_whole(cli, tmp_path, monkeypatch):
    from svdkit.lora import save_safetensors

    rng = np.random.default_rng(0)
    names = [f"model.layers.{i}.self_attn.{p}_proj.weight" for i in range(2) for p in "qv"]
    base = {n: rng.standard_normal((64, 64)).astype(np.float32) for n in names}
    tuned = {n: w + rng.standard_normal((64, 4)).astype(np.float32)
             @ rng.standard_normal((4, 64)).astype(np.float32) for n, w in base.items()}
    save_safetensors(tmp_path / "b.safetensors", base)
    save_safetensors(tmp_path / "t.safetensors", tuned)
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = cli("lora", "extract", tmp_path / "b.safetensors",
                         tmp_path / "t.safetensors", "-o", tmp_path / "ad", "--rank", "4")
    assert code == 0, err
    table = out[out.index("LoRA extraction"):]
    assert "…" not in table
    report = json.loads((tmp_path / "ad" / "extraction_report.json").read_text()) if (
        tmp_path / "ad" / "extraction_report.json").exists() else None
    methods = {m["method"] for m in report["modules"]} if report else {"krylov"}
    # whole, or left out to keep the module names readable, and said so (the report
    # has it: svdkit_report.json)
    assert any(m in table for m in methods) or "left out at this width" in table


def test_a_file_without_an_extension_is_read_as_matrix_text(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("mymatrix").write_text("1 2\n3 4\n")
    code, out, err = cli("explain", "mymatrix", "-f", "json", "--no-steps")
    assert code == 0, err
    assert json.loads(out)["sections"][0]["facts"]["matrix"] == [[1.0, 2.0], [3.0, 4.0]]
    proc = _run("explain", "/dev/stdin", "-f", "json", "--no-steps", input=b"5 6\n7 8\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sections"][0]["facts"]["matrix"] == [[5.0, 6.0],
                                                                         [7.0, 8.0]]


def test_matrix_text_beside_a_file_of_that_name_stays_the_matrix(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("2").write_text("some notes\n")
    code, out, err = cli("explain", "2", "-f", "json", "--no-steps")
    assert code == 0, err
    assert json.loads(out)["sections"][0]["facts"]["matrix"] == [[2.0]]


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_json_on_a_narrow_encoding_is_valid_json(encoding, lang):
    """backslashreplace wrote ``\\xd7`` on an ASCII stream: no JSON escape."""
    proc = _run("explain", MATRIX, "-f", "json", "-l", lang, env={"PYTHONIOENCODING": encoding})
    assert proc.returncode == 0
    data = json.loads(proc.stdout.decode(encoding))
    utf8 = json.loads(_run("explain", MATRIX, "-f", "json", "-l", lang).stdout.decode())
    assert data == utf8


def test_an_output_link_loop_is_one_error_line(cli, tmp_path):
    (tmp_path / "l1.json").symlink_to(tmp_path / "l2.json")
    (tmp_path / "l2.json").symlink_to(tmp_path / "l1.json")
    code, _, err = cli("explain", MATRIX, "-f", "json", "-o", tmp_path / "l1.json")
    assert code == 2 and "loop" in err and "Traceback" not in err


def test_figures_that_cannot_be_drawn_are_notes_not_warnings(cli, tmp_path):
    code, _, err = cli("explain", "1e305 0; 0 1", "--no-steps", "--figures", tmp_path / "f")
    assert code == 0, err
    flat = " ".join(err.split())
    assert flat.count("note: svd_geometry skipped: ") + flat.count(
        "note: quadratic_form skipped: ") == 2 and "Warning" not in err
    assert "save_figures" not in err  # (a Python name means nothing on the command line)
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["spectrum.png",
                                                                  "spectrum.svg"]
