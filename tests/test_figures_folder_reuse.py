"""A ``--figures`` folder used again: the figures of an earlier matrix that this run
removes are named (by ``save_figures`` and by the CLI), and a user's file is refused
only under a name this matrix's figures will take — the same rule for the CLI and for
``save_figures``."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tests.cli_support import error_line, run_svdkit

SYM = "[[3,0],[0,-2]]"  # svd_geometry, quadratic_form, spectrum
ROW = "[[1,2,3,4]]"  # spectrum only
NONSYM = "[[1,2],[3,4]]"  # svd_geometry, spectrum


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _flat(text: str) -> str:
    return " ".join(text.split())


# -- 2. removals are reported ---------------------------------------------------------


def test_save_figures_names_the_files_it_removes(tmp_path):
    from svdkit.plot.save import FigureRemovedWarning, save_figures

    first = save_figures([[3, 0], [0, -2]], tmp_path, formats="svg")
    assert first.removed == []
    with pytest.warns(FigureRemovedWarning) as record:
        second = save_figures([[1, 2, 3, 4]], tmp_path, formats="svg")
    assert [p.name for p in second] == ["spectrum.svg"]  # still a list of the files written
    assert isinstance(second, list) and second == [tmp_path / "spectrum.svg"]
    assert second.removed == [tmp_path / "svd_geometry.svg", tmp_path / "quadratic_form.svg"]
    assert not any(p.exists() for p in second.removed)
    assert _names(tmp_path) == {"spectrum.svg"}
    removed = [str(w.message) for w in record if w.category is FigureRemovedWarning]
    assert removed == [
        f"removed 2 figure files of an earlier matrix from {tmp_path}/: "
        "svd_geometry.svg, quadratic_form.svg"
    ]


def test_save_figures_says_nothing_when_nothing_is_removed(tmp_path):
    from svdkit.plot.save import FigureRemovedWarning, save_figures

    save_figures([[1, 2, 3, 4]], tmp_path, formats="svg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = save_figures([[3, 0], [0, -2]], tmp_path, formats="svg")  # more figures
    assert len(again) == 3 and again.removed == []
    assert not [w for w in caught if issubclass(w.category, FigureRemovedWarning)]


def test_save_figures_removal_note_in_french(tmp_path):
    from svdkit.plot.save import FigureRemovedWarning, save_figures

    save_figures([[3, 0], [0, -2]], tmp_path, formats="png")
    (tmp_path / "svd_geometry.png").unlink()  # one file left to remove
    with pytest.warns(FigureRemovedWarning) as record:
        done = save_figures([[1, 2, 3, 4]], tmp_path, formats="png", lang="fr")
    assert [p.name for p in done.removed] == ["quadratic_form.png"]
    (message,) = [str(w.message) for w in record if w.category is FigureRemovedWarning]
    assert message == (
        f"1 fichier de figure d'une matrice précédente retiré de {tmp_path}/ : quadratic_form.png"
    )


def test_removal_is_not_a_skipped_figure(tmp_path):
    # the notes about skipped figures keep their count; the removal is told apart
    from svdkit.plot.save import FigureRemovedWarning, FigureSkippedWarning

    assert not issubclass(FigureRemovedWarning, FigureSkippedWarning)
    assert issubclass(FigureRemovedWarning, UserWarning)


@pytest.mark.parametrize(
    "lang, line",
    [
        (
            "en",
            "removed 4 figure files of an earlier matrix from {figs}/: svd_geometry.png, "
            "svd_geometry.svg, quadratic_form.png, quadratic_form.svg",
        ),
        (
            "fr",
            "4 fichiers de figures d'une matrice précédente retirés de {figs}/ : "
            "svd_geometry.png, svd_geometry.svg, quadratic_form.png, quadratic_form.svg",
        ),
    ],
)
def test_cli_says_which_figures_it_removed(tmp_path, capsys, monkeypatch, lang, line):
    run = run_svdkit(capsys, monkeypatch)
    monkeypatch.chdir(tmp_path)  # a short path: rich wraps the lines at 80 columns
    figs = Path("figs3")
    code, _, err = run("explain", SYM, "--no-steps", "--figures", figs, "-o", tmp_path / "a.md")
    assert code == 0, err
    assert len(_names(figs)) == 6
    assert "removed" not in err and "retiré" not in err
    code, _, err = run(
        "explain", ROW, "--no-steps", "--figures", figs, "-o", tmp_path / "b.md", "--lang", lang
    )
    assert code == 0, err
    assert _names(figs) == {"spectrum.png", "spectrum.svg"}
    flat = _flat(err)
    assert line.format(figs=figs) in flat, flat
    assert "2 " in flat and ("written" in flat or "écrits" in flat)
    assert "Warning" not in err  # a line of its own, not a Python warning


# -- 3. a user's file: refused only under a name this matrix's figures take -------------


def test_cli_leaves_a_users_file_no_figure_takes(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    monkeypatch.chdir(tmp_path)  # a short path: rich wraps the notes at 80 columns
    figs = Path("figs2")
    figs.mkdir()
    mine = figs / "svd_geometry.svg"
    mine.write_text("<svg>mine</svg>")
    report = tmp_path / "r4.md"
    code, _, err = run("explain", ROW, "--no-steps", "--figures", figs, "-o", report)
    assert code == 0, err
    assert mine.read_text() == "<svg>mine</svg>"
    assert _names(figs) == {"svd_geometry.svg", "spectrum.png", "spectrum.svg"}
    flat = _flat(err)
    assert "refusing" not in flat
    assert f"note: '{mine}' is not a figure svdkit wrote: left in place" in flat, flat
    assert report.exists()


@pytest.mark.parametrize(
    "matrix, mine",
    [
        (SYM, "svd_geometry.svg"),
        (SYM, "quadratic_form.png"),
        (NONSYM, "svd_geometry.png"),
        (ROW, "spectrum.svg"),
    ],
)
def test_cli_refuses_a_users_file_a_figure_would_replace(
    tmp_path, capsys, monkeypatch, matrix, mine
):
    run = run_svdkit(capsys, monkeypatch)
    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / mine).write_bytes(b"my own picture")
    report = tmp_path / "r.md"
    code, out, err = run("explain", matrix, "--no-steps", "--figures", figs, "-o", report)
    line = error_line(code, err)
    assert f"'{figs / mine}' exists and is not a figure svdkit wrote: refusing" in line
    # refused before anything is written: no report, no figure
    assert not report.exists() and out == ""
    assert _names(figs) == {mine} and (figs / mine).read_bytes() == b"my own picture"


@pytest.mark.parametrize(
    "matrix, mine",
    [
        (ROW, "svd_geometry.svg"),
        (ROW, "quadratic_form.png"),
        (NONSYM, "quadratic_form.svg"),
        (NONSYM, "svd_geometry.png"),
        (SYM, "quadratic_form.png"),
        ("[[1j,0],[0,1]]", "svd_geometry.png"),
        (ROW, "spectrum.png"),
    ],
)
def test_cli_and_save_figures_decide_alike(tmp_path, capsys, monkeypatch, matrix, mine):
    from svdkit.errors import FileFormatError
    from svdkit.plot.save import save_figures

    run = run_svdkit(capsys, monkeypatch)
    results = []
    for place in ("cli", "api"):
        figs = tmp_path / place
        figs.mkdir()
        (figs / mine).write_bytes(b"my own picture")
        if place == "cli":
            code, _, err = run("explain", matrix, "--no-steps", "--figures", figs,
                               "-o", tmp_path / "r.md")
            assert code in (0, 2) and "Traceback" not in err
            ok = code == 0
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    save_figures(matrix, figs)  # (matrix text, as the CLI reads it)
                    ok = True
                except FileFormatError:
                    ok = False
        assert (figs / mine).read_bytes() == b"my own picture"
        results.append((ok, _names(figs)))
    assert results[0] == results[1]
