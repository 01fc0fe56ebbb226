"""Review of the ``lora analyse`` figure fixes (second pass).

1. a lone finite point of a curve (a rank-1 spectrum ``[σ₁, 0, …]``, a spectrum of one
   value) is drawn with a marker, on both panels;
2. the figure follows the user's matplotlib style (a dark one included): its background,
   and the marks and lines that were black, take the style's colours;
3. the σᵢ/σ₁ axis label stays on the canvas (a panel that spans about a decade);
4. :meth:`Analysis.figure` replaces only a file svdkit wrote, as ``--figure`` does, and
   refuses formats that carry no mark;
5. a matplotlib that fails to start is blamed on ``MPLBACKEND`` only when that is why;
6. the figure of :meth:`Analysis.draw` says how to show it when ``fig.show()`` is called.
"""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from svdkit.errors import FileFormatError, MissingDependencyError, SvdkitError
from svdkit.lora.analyse import (
    MARKED_FIGURE_FORMATS,
    Analysis,
    ModuleSpectrum,
    written_by_analyse,
)

ROOT = Path(__file__).resolve().parents[1]


def _spectrum(name, s, shape=(8, 6)):
    s = np.asarray(s, dtype=np.float64)
    return ModuleSpectrum(name, shape, s, float(np.sum(s**2)), complete=True)


def _analysis(*mods):
    return Analysis(modules=list(mods), energy=0.9)


def _curves(ax):
    """The modules' curves of a panel (not the zero marks, nor the target line)."""
    return [ln for ln in ax.get_lines() if ln.get_gid() not in ("svdkit:zeros", "svdkit:target")]


def _marked_indices(line) -> set[int]:
    """The indices of ``line``'s points drawn with a marker."""
    if line.get_marker() in (None, "None", "", " "):
        return set()
    every = line.get_markevery()
    n = len(np.atleast_1d(line.get_xdata()))
    if every is None:
        return set(range(n))
    return {int(i) for i in np.atleast_1d(every)}


def _lone(y) -> set[int]:
    """The indices of finite points with no finite neighbour."""
    f = np.isfinite(np.asarray(y, dtype=float))
    left = np.r_[False, f[:-1]]
    right = np.r_[f[1:], False]
    return {int(i) for i in np.flatnonzero(f & ~left & ~right)}


# ---------------------------------------------------------- 1. lone points


@pytest.mark.parametrize("values", [[1.4, 0, 0, 0, 0, 0, 0, 0], [2.5], [3.0, 0.0, 1.0, 0.0]])
def test_a_lone_finite_point_is_drawn_with_a_marker_on_both_panels(values):
    an = _analysis(_spectrum("emb", values), _spectrum("fc", [3.0, 1.0, 0.5, 0.25]))
    fig = an.draw()
    ax1, ax2 = fig.axes[:2]
    for ax in (ax1, ax2):
        curves = _curves(ax)
        assert len(curves) == 2, [c.get_label() for c in curves]
        for line in curves:
            y = np.asarray(line.get_ydata(), dtype=float)
            lone = _lone(y)
            assert lone <= _marked_indices(line), (ax.get_title(), y, line.get_markevery())
            # a curve of two or more joined points needs no marker
            if not lone:
                assert _marked_indices(line) == set()
    # the lone σ₁ = 1 of "emb" is on the spectra panel, inside its limits
    y = np.asarray(_curves(ax1)[0].get_ydata(), dtype=float)
    low, high = ax1.get_ylim()
    assert y[0] == 1.0 and low < 1.0 < high
    # and drawn: the rendered panel holds the curve's colour at σ₁'s place
    fig.canvas.draw()
    colour = np.array(to_rgba(_curves(ax1)[0].get_color())[:3]) * 255
    x_px, y_px = ax1.transData.transform((1.0, 1.0))
    img = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(float)
    h = img.shape[0]
    r, c = int(np.rint(h - y_px)), int(np.rint(x_px))
    patch = img[max(r - 3, 0):r + 4, max(c - 3, 0):c + 4]
    assert np.min(np.abs(patch - colour).sum(axis=2)) < 120, patch


# ------------------------------------------------------------- 2. the style


def test_the_figure_follows_a_dark_style(tmp_path):
    import matplotlib.style

    dark = matplotlib.style.library["dark_background"]
    an = _analysis(_spectrum("fc", [3.0, 1.0, 0.0]), _spectrum("fd", [2.0, 1.5, 0.5]))
    with matplotlib.rc_context(dark):
        fig = an.draw()
        out = an.figure(tmp_path / "dark.png")
    assert to_rgba(fig.get_facecolor())[:3] == (0.0, 0.0, 0.0)
    fg = to_rgba(dark["text.color"])
    # the zero marks' legend handle and the energy target line: the style's text colour
    handles = fig.legends[0].legend_handles
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    zero_handle = handles[next(i for i, t in enumerate(texts) if "= 0" in t)]
    assert to_rgba(zero_handle.get_color()) == fg
    target = [ln for ln in fig.axes[1].get_lines() if ln.get_gid() == "svdkit:target"]
    assert len(target) == 1 and to_rgba(target[0].get_color()) == fg
    # the saved file too: black around the panels, as the style says
    import matplotlib.image as mimg

    img = mimg.imread(out)
    assert np.allclose(img[2, 2, :3], 0.0), img[2, 2]
    # and without a style: a white background, black marks (matplotlib's defaults)
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        fig = an.draw()
    assert to_rgba(fig.get_facecolor())[:3] == (1.0, 1.0, 1.0)


# ---------------------------------------------------------- 3. the y label


@pytest.mark.parametrize("values", [
    [1.0, 0.8, 0.5, 0.0],  # zeros, the rest within a decade
    [1.0, 0.8, 0.5],  # no zeros, within a decade
    [1.0, 0.95],
    [1.0, 1e-300, 0.0],  # long tick labels (10⁻³⁰⁰)
    [1.0, 5e-324],
])
def test_the_spectrum_axis_label_stays_on_the_canvas(values):
    fig = _analysis(_spectrum("fc", values, shape=(4, 4))).draw()
    renderer = fig.canvas.get_renderer()
    ax1 = fig.axes[0]
    label = ax1.yaxis.label.get_window_extent(renderer)
    assert label.x0 >= 0, label
    # the tick labels lie right of the axis label, on the canvas, and do not overlap it
    for tick in ax1.yaxis.get_ticklabels(which="both"):
        if tick.get_visible() and tick.get_text():
            box = tick.get_window_extent(renderer)
            assert box.x0 >= label.x1 - 0.5, (tick.get_text(), box, label)
    # the panel spans at least two decades: only powers of ten are labelled
    low, high = ax1.get_ylim()
    assert np.log10(high) - np.log10(low) >= 2


# ---------------------------------------------------------- 4. figure(path)


def test_figure_refuses_to_replace_a_file_svdkit_did_not_write(tmp_path):
    an = _analysis(_spectrum("fc", [3.0, 1.0]))
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\nthe user's photo")
    with pytest.raises(FileFormatError, match=r"exists and is not a file svdkit lora "
                                              r"analyse wrote: refusing to replace it"):
        an.figure(photo)
    assert photo.read_bytes() == b"\x89PNG\r\n\x1a\nthe user's photo"
    # the rule is the one --figure applies (the same function, the same words)
    from svdkit.lora.analyse import check_figure_output

    with pytest.raises(FileFormatError, match=r"--figure '.*photo\.png' exists and is not"):
        check_figure_output(photo, "--figure")
    # its own figure is replaced, in every marked format
    for fmt in MARKED_FIGURE_FORMATS:
        out = tmp_path / f"a.{fmt}"
        an.figure(out)
        first = out.stat().st_mtime_ns
        assert written_by_analyse(out)
        an.figure(out)
        assert written_by_analyse(out) and out.stat().st_mtime_ns >= first


@pytest.mark.parametrize("name", ["a.jpg", "a.tif", "a.webp", "a.svgz", "a.raw"])
def test_figure_refuses_formats_that_carry_no_mark(tmp_path, name):
    an = _analysis(_spectrum("fc", [3.0, 1.0]))
    with pytest.raises(FileFormatError, match=r"\.png, \.pdf, \.svg, \.ps, \.eps"):
        an.figure(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_figure_refuses_a_symlink_to_a_users_file(tmp_path):
    an = _analysis(_spectrum("fc", [3.0, 1.0]))
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"mine")
    link = tmp_path / "link.png"
    link.symlink_to(mine)
    with pytest.raises(FileFormatError, match="refusing to replace"):
        an.figure(link)
    assert link.is_symlink() and mine.read_bytes() == b"mine"


# ------------------------------------------------------------ 5. MPLBACKEND


def _start(tmp_path, init: str, backend: str | None) -> str:
    """The error of ``_matplotlib('--figure')`` with a matplotlib whose ``__init__`` is
    ``init`` (a broken install, simulated ahead of the real one on the path)."""
    pkg = tmp_path / "fake" / "matplotlib"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(init)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "fake"), str(ROOT)])
    if backend is not None:
        env["MPLBACKEND"] = backend
    code = ("from svdkit.lora.analyse import _matplotlib\n"
            "try:\n    _matplotlib('--figure')\n"
            "except Exception as e:\n    print(type(e).__name__ + ': ' + str(e))\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_broken_matplotlib_is_not_blamed_on_a_valid_mplbackend(tmp_path):
    init = "raise RuntimeError('Could not find the matplotlib data files')\n"
    for backend in ("agg", None):
        said = _start(tmp_path, init, backend)
        assert "MPLBACKEND" not in said, said
        assert "RuntimeError: Could not find the matplotlib data files" in said, said


def test_an_import_error_inside_matplotlib_is_not_called_not_installed(tmp_path):
    said = _start(tmp_path, "import kiwisolver_svdkit_missing\n", None)
    assert said.startswith("MissingDependencyError"), said
    assert "installed but fails to import" in said and "kiwisolver_svdkit_missing" in said
    assert "pip install" not in said or "reinstall" in said, said


def test_an_unknown_mplbackend_is_still_named(tmp_path, monkeypatch):
    # matplotlib's own refusal of the value, as matplotlib raises it at import
    init = ("raise ValueError(\"Key backend: 'nonsense' is not a valid value for backend; "
            "supported values are ['agg']\")\n")
    said = _start(tmp_path, init, "nonsense")
    assert "MPLBACKEND is 'nonsense'" in said, said


def test_matplotlib_not_installed_says_pip_install(monkeypatch):
    from svdkit.lora.analyse import _matplotlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'svdkit\[plot\]'"):
        _matplotlib("--figure")


# ------------------------------------------------------------ 6. fig.show()


def test_draw_gives_a_figure_whose_show_says_how_to_show_it(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = plt.get_fignums()
    fig = _analysis(_spectrum("fc", [3.0, 1.0, 0.5])).draw()
    assert isinstance(fig, Figure) and fig.canvas.manager is None
    with pytest.raises(SvdkitError, match=r"savefig") as err:
        fig.show()
    assert not isinstance(err.value, AttributeError)
    assert "plt.figure(fig)" in str(err.value)
    assert plt.get_fignums() == before
    # a copy and a pickle of it work, as a matplotlib figure's do
    twin = copy.deepcopy(fig)
    again = pickle.loads(pickle.dumps(fig))
    for f in (twin, again):
        assert [a.get_title() for a in f.axes] == [a.get_title() for a in fig.axes]
    fig.savefig(tmp_path / "a.png")
    assert (tmp_path / "a.png").stat().st_size > 1000
    assert plt.get_fignums() == before


def test_docs_say_how_to_show_the_figure():
    text = (ROOT / "docs" / "lora.md").read_text(encoding="utf-8")
    assert "plt.figure(fig)" in text and "fig.savefig" in text
    assert "refusing to replace" in text or "replaces only" in text or "only a file" in text
