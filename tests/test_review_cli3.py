"""Review of the command line (3): typer's usage errors are one ``error:`` line, as svdkit's."""

import pytest
from cli_support import error_line, run_svdkit


@pytest.mark.parametrize(
    "args, message, command",
    [
        (["svd", "m.npy", "-k", "abc", "-o", "o.npz"], "Invalid value for '-k'", "svdkit svd"),
        (["svd", "--bogus"], "No such option: --bogus", "svdkit svd"),
        (["explain", "--format", "xyz", "1"], "'xyz' is not one of", "svdkit explain"),
        (["lsi", "eval", "idx"], "Missing option '--queries'", "svdkit lsi eval"),
        (["lsi", "bogus"], "No such command 'bogus'", "svdkit lsi"),
        (["bogus"], "No such command 'bogus'", "svdkit"),
    ],
)
def test_usage_errors_are_one_error_line(capsys, monkeypatch, args, message, command):
    code, out, err = run_svdkit(capsys, monkeypatch)(*args)
    line = error_line(code, err)
    assert message in line and f"(see '{command} --help')" in line
    assert err.count("\n") == 1 and "╭" not in err and "Usage:" not in err
    assert out == ""
    assert "Value error," not in line and ".;" not in line


@pytest.mark.parametrize("args", [[], ["lsi"], ["lora"]])
def test_a_group_without_its_command_prints_its_help_and_exits_2(capsys, monkeypatch, args):
    code, out, err = run_svdkit(capsys, monkeypatch)(*args)
    assert code == 2
    assert "Usage: svdkit" in out + err and "Commands" in out + err
    assert "error:" not in err and "Traceback" not in err


def test_help_and_version_still_exit_0(capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("svdkit ")
    code, out, _ = run("svd", "--help")
    assert code == 0 and "Usage: svdkit svd" in out


def test_a_command_that_runs_still_exits_0(capsys, monkeypatch):
    code, out, err = run_svdkit(capsys, monkeypatch)("explain", "[[2, 0], [0, 3]]", "--no-steps")
    assert code == 0 and "rank" in out.lower() and err == ""


def test_figures_summary_line_is_in_the_reports_language(capsys, monkeypatch, tmp_path):
    run = run_svdkit(capsys, monkeypatch)
    for lang, words in (
        ("fr", "fichiers de figures écrits dans"),
        ("en", "figure files written to"),
    ):
        folder = tmp_path / lang
        code, _, err = run(
            "explain",
            "[[1, 2], [3, 4]]",
            "-l",
            lang,
            "-o",
            tmp_path / f"r.{lang}.md",
            "--figures",
            folder,
        )
        assert code == 0
        summary = " ".join(err.split())
        assert words in summary and "svd_geometry.png" in summary
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            n.strip(",") for n in summary.split(": ", 1)[1].split()
        )


def test_explain_figures_without_matplotlib_fails_before_writing(capsys, monkeypatch, tmp_path):
    """`--figures` without matplotlib is refused up front: no report written, no folder."""
    import sys

    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    report, folder = tmp_path / "r.md", tmp_path / "figs"
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "explain", "[[2, 1], [1, 2]]", "--no-steps", "-o", report, "--figures", folder
    )
    assert "svdkit[plot]" in error_line(code, err)
    assert not report.exists() and not folder.exists()


@pytest.mark.parametrize("kind", ["mtx", "npz"])
def test_explain_refuses_a_huge_sparse_file_from_its_header(capsys, monkeypatch, tmp_path, kind):
    """A 100000×200000 sparse file of two entries: the CLI's advice, not Python's."""
    import scipy.io
    import scipy.sparse as sp

    S = sp.coo_matrix(([1.0, 2.0], ([0, 99999], [0, 199999])), shape=(100000, 200000))
    path = tmp_path / f"big.{kind}"
    if kind == "mtx":
        scipy.io.mmwrite(str(path), S)
    else:
        sp.save_npz(path, S.tocsr())
    line = error_line(*run_svdkit(capsys, monkeypatch)("explain", path)[::2])
    assert "100000×200000" in line and f"svdkit svd {path} -k K" in line
    assert "sparse=True" not in line


def test_explain_reads_a_dense_npz_with_an_array_named_shape(capsys, monkeypatch, tmp_path):
    import numpy as np

    path = tmp_path / "m.npz"
    np.savez(path, shape=np.array([[5000.0, 2.0], [1.0, 3.0]]))
    code, out, err = run_svdkit(capsys, monkeypatch)("explain", path, "--no-steps")
    assert code == 0, err
    assert "2×2" in out
