"""Review round 3 of svdkit.plot: bar heights on a log axis, French ticks at any scale,
reproducible SVG, the figure mark read from the metadata, the threshold of ``tol``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from plot_support import EN, FR

from svdkit.errors import StructureError, SvdkitError
from svdkit.plot import quadratic_form, save_figures, spectrum, svd_geometry
from svdkit.plot.save import FIGURE_MARK, FigureRemovedWarning, _marked


def _bars(fig):
    (bars,) = fig.axes[0].containers
    assert {bar.get_gid() for bar in bars} == {"svdkit:bars"}
    return bars


# ----- 1. log-axis bars end at σ


@pytest.mark.parametrize(
    "s", [[100.0, 1.0], [100.0, 2e-5], [3.0, 1e-300, 0.0], [1e308, 1e-12], [5e-320, 1e-323]]
)
def test_log_bars_end_exactly_at_sigma(s):
    fig = spectrum(s)
    assert fig.axes[0].get_yscale() == "log"
    bottom = fig.axes[0].get_ylim()[0]
    for sigma, bar in zip(sorted(s, reverse=True), _bars(fig), strict=True):
        if sigma == 0:
            assert not np.isfinite(bar.get_height())  # not drawn: marked at the bottom
            continue
        assert bar.get_y() == pytest.approx(bottom, rel=1e-15)
        assert bar.get_y() + bar.get_height() == pytest.approx(sigma, rel=1e-12)


def test_a_sigma_counted_as_zero_stays_below_the_threshold_line():
    a = np.array([[1.0, 1.0], [1.0, 1.0 + 2.3e-16]])
    fig = spectrum(a)
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "svdkit:threshold"]
    thr = line.get_ydata()[0]
    s = np.linalg.svd(a, compute_uv=False)
    assert 0 < s[1] <= thr  # counted as zero
    assert "rank 1" in "".join(t.get_text() for t in fig.axes[0].texts)
    top = _bars(fig)[1]
    assert top.get_y() + top.get_height() == pytest.approx(s[1], rel=1e-12) and s[1] <= thr


# ----- 2. French ticks: English's digits, with a decimal comma


def _ticks(fig, ax, axis="y"):
    fig.canvas.draw()
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    getter = ax.yaxis if axis == "y" else ax.xaxis
    return [t.get_text() for t in labels], getter.get_offset_text().get_text()


@pytest.mark.parametrize("scale", [1e-12, 1e-10, 1.0, 1e12, 3.3e-9])
def test_french_spectrum_ticks_are_the_english_ones_with_a_comma(scale):
    s = [1.3 * scale, 1.0 * scale]
    en_fig, fr_fig = spectrum(s), spectrum(s, lang="fr")
    en, en_off = _ticks(en_fig, en_fig.axes[0])
    fr, fr_off = _ticks(fr_fig, fr_fig.axes[0])
    assert fr == [x.replace(".", ",") for x in en]
    assert fr_off == en_off.replace(".", ",")
    assert len(set(fr)) == len(fr)  # every tick its own label
    # the labels read back (with the offset) give the tick values
    ticks = fr_fig.axes[0].get_yticks()
    factor = float(fr_off.replace("−", "-").replace(",", ".")) if fr_off else 1.0
    values = [float(x.replace("−", "-").replace(",", ".")) * factor for x in fr]
    assert np.allclose(values, ticks, rtol=1e-9, atol=1e-9 * abs(ticks).max())


@pytest.mark.parametrize("scale", [1e-12, 1.0, 1e12])
def test_french_ticks_of_the_pictures_at_small_scales(scale):
    a = scale * np.array([[2.0, -1.0], [-1.0, 3.0]])
    for draw in (svd_geometry, quadratic_form):
        en_fig, fr_fig = draw(a), draw(a, lang="fr")
        for en_ax, fr_ax in zip(en_fig.axes, fr_fig.axes, strict=True):
            if en_ax.get_yscale() != "linear":
                continue
            en, en_off = _ticks(en_fig, en_ax)
            fr, fr_off = _ticks(fr_fig, fr_ax)
            assert fr == [x.replace(".", ",") for x in en]
            assert fr_off == en_off.replace(".", ",")
            assert not any("." in x for x in fr)


def test_french_tick_minus_is_a_true_minus():
    fig = svd_geometry([[2.0, 1.0], [-1.0, 3.0]], lang="fr")
    labels = [x for ax in fig.axes for x in _ticks(fig, ax)[0]]
    assert any(x.startswith("−") for x in labels) and not any("-" in x for x in labels)


# ----- 3. SVG reproducible


def test_svg_files_are_byte_identical_across_calls(tmp_path):
    import matplotlib as mpl

    before = mpl.rcParams["svg.hashsalt"]
    a = [[2.0, 1.0], [1.0, 3.0]]
    first = save_figures(a, tmp_path / "one", formats="svg")
    second = save_figures(a, tmp_path / "two", formats="svg")
    for p, q in zip(first, second, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name
    assert mpl.rcParams["svg.hashsalt"] == before  # the user's settings untouched


# ----- 4. the mark is the file's Creator metadata, nothing else


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_figures_of_svdkit_carry_the_mark(tmp_path, fmt):
    paths = save_figures([[1.0, 2.0], [2.0, 1.0]], tmp_path, formats=fmt)
    assert len(paths) == 3 and all(_marked(path) for path in paths)


def test_files_merely_mentioning_the_mark_are_not_svdkits(tmp_path):
    texts = {
        "svg": '<svg xmlns="http://www.w3.org/2000/svg"><text>compare with '
        f"{FIGURE_MARK}</text></svg>",
        "png": f"not a png: {FIGURE_MARK}",
        "pdf": f"%PDF-1.4\n% made by hand, unlike {FIGURE_MARK}\n/Creator ({FIGURE_MARK})",
    }
    for fmt, text in texts.items():
        path = tmp_path / f"quadratic_form.{fmt}"
        path.write_text(text)
        assert not _marked(path), fmt
    with warnings.catch_warnings():
        warnings.simplefilter("error", FigureRemovedWarning)
        warnings.simplefilter("ignore", UserWarning)
        result = save_figures([[1.0, 2.0, 3.0]], tmp_path, formats=("png", "svg", "pdf"))
    assert result.removed == []
    for fmt, text in texts.items():
        assert (tmp_path / f"quadratic_form.{fmt}").read_text() == text
    # and under a name the matrix gets, it is refused, not replaced
    mine = tmp_path / "spectrum.svg"
    mine.unlink()
    mine.write_text(f"<svg><desc>made by hand, not by {FIGURE_MARK}</desc></svg>")
    with pytest.raises(SvdkitError, match="not a figure svdkit wrote"):
        save_figures([[1.0, 2.0, 3.0]], tmp_path, formats="svg")
    assert FIGURE_MARK in mine.read_text()


def test_png_with_the_mark_in_another_chunk_is_not_svdkits(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data)
        )

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    end = chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    other = tmp_path / "other.png"
    other.write_bytes(head + chunk(b"tEXt", b"Comment\x00" + FIGURE_MARK.encode()) + end)
    assert not _marked(other)
    marked = tmp_path / "marked.png"
    marked.write_bytes(head + chunk(b"tEXt", b"Creator\x00" + FIGURE_MARK.encode()) + end)
    assert _marked(marked)


# ----- 5. tol on a linear axis is shown


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_linear_spectrum_shows_the_given_threshold(lang):
    words = EN if lang == "en" else FR
    fig = spectrum([[1.0, 0.0], [0.0, 0.5]], lang=lang, tol=0.6)
    assert fig.axes[0].get_yscale() == "linear"
    label = words["plot.spectrum.threshold_given"].format(tol="0,600" if lang == "fr" else "0.600")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == label]
    assert line.get_ydata()[0] == 0.6
    assert label in [h.get_label() for h in fig.legends[0].legend_handles]
    plain = spectrum([[1.0, 0.0], [0.0, 0.5]], lang=lang)
    assert not [ln for ln in plain.axes[0].get_lines() if ln.get_label().startswith(label[:8])]


# ----- 6. quadratic_form's own refusal of a complex A


def test_quadratic_form_refuses_complex_with_its_own_words():
    h = np.array([[2.0, 1j], [-1j, 2.0]])
    with pytest.raises(StructureError) as err:
        quadratic_form(h)
    text = str(err.value)
    assert "quadratic_form" in text and "unit circle" not in text and "A.imag" not in text
    assert "[[Re H, −Im H], [Im H, Re H]]" in text and "A.real" in text
    # what it says: xᴴHx = [u; v]ᵀ M [u; v] for x = u + iv, M real symmetric of order 4
    m = np.block([[h.real, -h.imag], [h.imag, h.real]])
    rng = np.random.default_rng(0)
    for _ in range(5):
        u, v = rng.standard_normal(2), rng.standard_normal(2)
        x, w = u + 1j * v, np.concatenate([u, v])
        assert np.vdot(x, h @ x).real == pytest.approx(w @ m @ w, rel=1e-12)
        # on real x the form is that of A.real
        assert np.vdot(u, h @ u).real == pytest.approx(u @ h.real @ u, rel=1e-12)
    assert np.array_equal(m, m.T)
    quadratic_form(h.real)  # the hint works


# ----- 7. save_figures validates tol before creating anything


@pytest.mark.parametrize("tol", [-1, float("nan"), "1e-3"])
def test_save_figures_bad_tol_leaves_no_folder(tmp_path, tol):
    out = tmp_path / "figs" / "deep"
    with pytest.raises(SvdkitError, match="tol"):
        save_figures([[1.0, 2.0], [3.0, 4.0]], out, tol=tol)
    assert not (tmp_path / "figs").exists()


# ----- 8. tol with 1-D singular values


def test_spectrum_of_values_uses_tol():
    fig = spectrum([3.0, 1.0, 0.2], tol=1.5)
    label = EN["plot.spectrum.threshold_given"].format(tol="1.50")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == label]
    assert line.get_ydata()[0] == 1.5
    assert label in [h.get_label() for h in fig.legends[0].legend_handles]
    with pytest.raises(SvdkitError, match="tol"):
        spectrum([3.0, 1.0], tol=-1)


# ----- 9. bytes formats


@pytest.mark.parametrize("formats", [b"svg", (b"svg",), bytearray(b"png")])
def test_bytes_formats_are_refused_by_name(tmp_path, formats):
    with pytest.raises(SvdkitError, match="bytes") as err:
        save_figures([[1.0, 2.0]], tmp_path / "f", formats=formats)
    assert "115" not in str(err.value)
    assert not (tmp_path / "f").exists()

