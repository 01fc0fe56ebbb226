"""Review: the ``lora analyse`` figure and the documented ``svdkit.lora`` names.

* a file is replaced only when svdkit's mark is its ``Creator`` (not the words anywhere);
* :meth:`Analysis.draw` leaves pyplot and the backend alone;
* :meth:`Analysis.figure` creates the folder and names the path in its errors;
* every module is in the legend (``_orig_mod.…``, ``$`` in a name);
* exact zeros are marked, not drawn at an invented 1e-12; an all-zero delta is said;
* an invalid ``MPLBACKEND`` gives an ``error:`` line;
* the names docs/lora.md imports work; ``analyse ADAPTER`` refuses pair-only options.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import cli_support
import numpy as np
import pytest

from svdkit.errors import FileFormatError
from svdkit.lora import Adapter, LoraModule, save_safetensors
from svdkit.lora.analyse import (
    FIGURE_MARK,
    MARKED_FIGURE_FORMATS,
    Analysis,
    ModuleSpectrum,
    written_by_analyse,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run(capsys, monkeypatch):
    return cli_support.run_svdkit(capsys, monkeypatch)


@pytest.fixture
def pair(tmp_path):
    """``(base, tuned)`` safetensors files: a 12×8 matrix with a rank-2 change."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((12, 8))
    D = rng.standard_normal((12, 2)) @ rng.standard_normal((2, 8))
    base, tuned = tmp_path / "base.safetensors", tmp_path / "tuned.safetensors"
    save_safetensors(base, {"fc.weight": W})
    save_safetensors(tuned, {"fc.weight": W + D})
    return base, tuned


def _spectrum(name, s, shape=(8, 6)):
    s = np.asarray(s, dtype=np.float64)
    return ModuleSpectrum(name, shape, s, float(np.sum(s**2)), complete=True)


def _analysis(*mods):
    return Analysis(modules=list(mods))


# ------------------------------------------------------------- 1. the mark


def _user_files(directory: Path) -> dict[str, bytes]:
    """A user's files of every marked format that hold the words elsewhere than as the
    ``Creator`` (a caption, a title, a subject, a longer creator)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, f"then run {FIGURE_MARK} on the deltas")
    files = {
        "mine.svg": (
            '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="60"><text x="5" '
            f'y="30">My pipeline: train, then run {FIGURE_MARK}</text></svg>\n'
        ).encode(),
        "mine.eps": (
            "%!PS-Adobe-3.0 EPSF-3.0\n%%Title: " + FIGURE_MARK + "\n%%Creator: inkscape\n"
            "%%BoundingBox: 0 0 10 10\n%%EndComments\n% " + FIGURE_MARK + "\nshowpage\n"
        ).encode(),
        "mine.ps": (
            f"%!PS-Adobe-3.0\n%%Creator: {FIGURE_MARK} fork v2\n%%EndComments\nshowpage\n"
        ).encode(),
        "late.ps": (  # the words as a DSC line, but after the header
            f"%!PS-Adobe-3.0\n%%Creator: me\n%%EndComments\n%%Creator: {FIGURE_MARK}\n"
        ).encode(),
    }
    for name, meta in (("mine.png", {"Description": FIGURE_MARK}),
                       ("mine.pdf", {"Subject": FIGURE_MARK})):
        fig.savefig(directory / name, metadata=meta)
        files[name] = (directory / name).read_bytes()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return files


def test_a_user_file_that_merely_mentions_the_command_is_not_taken_for_svdkits(tmp_path):
    files = _user_files(tmp_path)
    for name, data in files.items():
        assert FIGURE_MARK.encode() in data, name  # the words are there …
        assert not written_by_analyse(tmp_path / name), name  # … but not as the Creator


def test_the_cli_refuses_to_replace_such_a_file_and_leaves_it_as_it_was(tmp_path, pair, run):
    files = _user_files(tmp_path)
    for name, data in files.items():
        code, _, err = run("lora", "analyse", *pair, "--figure", tmp_path / name)
        line = cli_support.error_line(code, err)
        assert "is not a file svdkit lora analyse wrote" in line, line
        assert (tmp_path / name).read_bytes() == data, name


@pytest.mark.parametrize("fmt", MARKED_FIGURE_FORMATS)
def test_a_figure_analyse_wrote_is_recognised_and_replaced(tmp_path, pair, run, fmt):
    out = tmp_path / f"an.{fmt}"
    for _ in range(2):  # (the second run replaces the first's figure)
        code, _, err = run("lora", "analyse", *pair, "--figure", out)
        assert code == 0, err
        assert written_by_analyse(out)
    # and an explain --figures mark is not analyse's
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    FigureCanvasAgg(fig)
    other = tmp_path / f"other.{fmt}"
    fig.savefig(other, metadata={"Creator": "svdkit explain --figures"})
    assert not written_by_analyse(other)


# ------------------------------------------------- 2. no pyplot, no backend


def test_draw_and_figure_leave_pyplot_and_the_backend_alone(tmp_path, monkeypatch):
    import matplotlib
    import matplotlib.pyplot as plt

    def no_use(*args, **kwargs):
        raise AssertionError("matplotlib.use called: the caller's backend would change")

    monkeypatch.setattr(matplotlib, "use", no_use)
    before = plt.get_fignums()
    an = _analysis(_spectrum("fc", [3.0, 1.0, 0.5]))
    for _ in range(25):
        fig = an.draw()
        assert fig.canvas.manager is None  # not a pyplot figure
    an.figure(tmp_path / "a.png")
    assert plt.get_fignums() == before


# ------------------------------------------------------- 3. figure() errors


def test_figure_creates_a_missing_folder_as_the_cli_does(tmp_path):
    an = _analysis(_spectrum("fc", [3.0, 1.0]))
    out = an.figure(tmp_path / "new" / "sub" / "spectra.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written_by_analyse(out)


def test_figure_names_the_path_not_a_temporary_file(tmp_path):
    an = _analysis(_spectrum("fc", [3.0, 1.0]))
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(FileFormatError, match=r"dir\.png.* is a directory") as err:
        an.figure(tmp_path / "dir.png")
    assert ".tmp" not in str(err.value)
    assert (tmp_path / "dir.png").is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    with pytest.raises(FileFormatError) as err:
        an.figure(blocker / "spectra.png")  # a folder under a file
    assert "svdkit-mode" not in str(err.value) and ".tmp" not in str(err.value)
    assert str(blocker) in str(err.value)
    assert blocker.read_text() == "mine"
    if os.path.isdir("/proc"):
        with pytest.raises(FileFormatError, match=r"cannot write '/proc/spectra\.png'") as err:
            an.figure("/proc/spectra.png")
        assert "svdkit-mode" not in str(err.value)


# ------------------------------------------------------------ 4. the legend


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for lg in fig.legends for t in lg.get_texts()]


def test_every_module_is_in_the_legend_underscores_and_dollars_included(tmp_path):
    names = ["_orig_mod.layers.0.q_proj", "_orig_mod.layers.0.v_proj", "a$x$.b", "c$"]
    an = _analysis(*(_spectrum(n, [3.0, 1.0 + i]) for i, n in enumerate(names)))
    fig = an.draw()
    assert len(fig.axes[0].get_lines()) == 4
    texts = _legend_texts(fig)
    assert texts == names
    for lg in fig.legends:
        for t in lg.get_texts():
            assert not t.get_parse_math()  # a name is drawn as written, not as mathtext
    an.figure(tmp_path / "a.png")  # (a '$…$' name is not parsed: drawing succeeds)


def test_grouped_legend_names_underscore_types(tmp_path):
    mods = [_spectrum(f"layers.{i}._q", [3.0, 1.0]) for i in range(30)]
    mods += [_spectrum(f"layers.{i}.v", [2.0, 1.0]) for i in range(30)]
    fig = _analysis(*mods).draw()
    assert _legend_texts(fig) == ["_q (30 modules)", "v (30 modules)"]


# ------------------------------------------------------------- 5. the zeros


def test_exact_zeros_are_marked_not_drawn_at_an_invented_floor():
    an = _analysis(_spectrum("fc", [3.0, 1.0, 3e-14, 0.0, 0.0]))
    fig = an.draw()
    ax1 = fig.axes[0]
    curve = ax1.get_lines()[0]
    y = np.asarray(curve.get_ydata(), dtype=float)
    ratio = np.array([1.0, 1.0 / 3.0, 1e-14, np.nan, np.nan])
    # positive values as they are (1e-14 not raised), zeros left out of the log axis
    np.testing.assert_allclose(y[:3], ratio[:3], rtol=1e-15)
    assert np.isnan(y[3:]).all()
    assert 1e-12 not in y.tolist()
    # the zeros are marked at the axis bottom, at their indices, and named in the legend
    marks = [ln for ln in ax1.get_lines() if ln.get_gid() == "svdkit:zeros"]
    assert len(marks) == 1
    np.testing.assert_array_equal(marks[0].get_xdata(), [4, 5])
    bottom = ax1.get_ylim()[0]
    assert bottom < 1e-14  # the smallest positive ratio is on the axis
    assert all(bottom <= v < 10 * bottom for v in marks[0].get_ydata())
    assert _legend_texts(fig)[0] == "fc"
    assert any("= 0" in t for t in _legend_texts(fig)[1:]), _legend_texts(fig)


def test_an_all_zero_delta_gives_a_figure_that_says_so(tmp_path):
    zero = ModuleSpectrum("fc", (8, 6), np.zeros(4), 0.0, complete=True)
    fig = _analysis(zero, ModuleSpectrum("fd", (8, 6), np.zeros(4), 0.0, complete=True)).draw()
    notes = [t.get_text() for t in fig.texts] + [t.get_text() for a in fig.axes for t in a.texts]
    assert any("zero" in n and "nothing to draw" in n for n in notes), notes
    # and one zero module among others is named in the legend as having no curve
    fig = _analysis(zero, _spectrum("fd", [2.0, 1.0])).draw()
    assert _legend_texts(fig) == ["fd"]
    notes = [t.get_text() for t in fig.texts] + [t.get_text() for a in fig.axes for t in a.texts]
    assert any("fc" in n and "zero" in n for n in notes), notes


# ------------------------------------------------------------ 6. MPLBACKEND


def test_an_invalid_mplbackend_gives_an_error_line(tmp_path, pair):
    env = dict(os.environ, MPLBACKEND="nonsense", COLUMNS="80")
    code = "import sys; from svdkit.cli.main import main; sys.argv[0] = 'svdkit'; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "lora", "analyse", *map(str, pair),
         "--figure", str(tmp_path / "a.png")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    line = cli_support.error_line(done.returncode, done.stderr)
    assert "MPLBACKEND" in line and "nonsense" in line, line
    assert not (tmp_path / "a.png").exists()


# ---------------------------------------------------- 7. documented names


def test_the_names_docs_lora_imports_work():
    import svdkit.lora as lora
    from svdkit.lora.extract import ExtractionReport
    from svdkit.lora.merge import write_like
    from svdkit.lora.pissa import PissaModule, pissa_notes
    from svdkit.lora.resize import ResizeReport

    for obj in (ExtractionReport, write_like, PissaModule, pissa_notes, ResizeReport):
        assert getattr(lora, obj.__name__) is obj
        assert obj.__name__ in lora.__all__
    text = (ROOT / "docs" / "lora.md").read_text(encoding="utf-8")
    # no dotted name through a function that shadows its module
    assert not re.search(r"svdkit\.lora\.(pissa|merge|resize|extract)\.[A-Za-z_]", text)
    imports = re.findall(r"^(?:>>> )?(from svdkit\.lora[\w.]* import [\w, ]+)$", text, re.M)
    imports += re.findall(r"`(from svdkit\.lora[\w.]* import [\w, ]+)`", text)
    assert imports
    for line in imports:  # each as Python runs it: the module, then each name from it
        module, _, names = line.removeprefix("from ").partition(" import ")
        found = importlib.import_module(module)  # (the module, not a function over it)
        for name in names.split(","):
            assert hasattr(found, name.strip()), line


def test_docs_name_the_lora_extras_packages():
    text = (ROOT / "docs" / "lora.md").read_text(encoding="utf-8")
    install = text[text.index("Install:"):text.index("## ")]
    assert "`safetensors`," not in install
    assert "ml_dtypes" in install


# ------------------------------------------- 8. analyse ADAPTER, pair options


@pytest.mark.parametrize("option", [["--tol", "1e-3"], ["--tol", "0.001"],
                                    ["--on-mismatch", "skip"], ["--tol", "1e-4"],
                                    ["--on-mismatch", "error"]])
def test_analyse_adapter_refuses_pair_options_at_any_value(tmp_path, run, option):
    rng = np.random.default_rng(0)
    ad = Adapter({"fc": LoraModule("fc", "linear", A=rng.standard_normal((2, 6)),
                                   B=rng.standard_normal((8, 2)), alpha=2.0)})
    ad.save(tmp_path / "ad")
    code, _, err = run("lora", "analyse", tmp_path / "ad", *option)
    line = cli_support.error_line(code, err)
    assert f"{option[0]} applies to a (BASE, TUNED) pair" in line, line
    code, _, err = run("lora", "analyse", tmp_path / "ad")
    assert code == 0, err
