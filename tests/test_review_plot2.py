"""Review of svdkit.plot (2): float32, null-space captions, huge entries, reused folders."""

import io
import re
import warnings

import numpy as np
import pytest
from plot_support import EN, FR, PANELS, panel

import svdkit
from svdkit.plot import FigureRangeError, quadratic_form, save_figures, spectrum, svd_geometry
from svdkit.plot.save import FigureSkippedWarning

A32 = np.diag([1.0, 1e-14]).astype(np.float32)


def _captions(fig):
    return [
        x.get_text().replace("\n", " ").replace("\u00a0", " ")
        for x in fig.texts
        if x.get_gid() == "svdkit:caption"
    ]


def test_float32_geometry_and_quadratic_form_use_the_stored_precision():
    assert svdkit.rank(A32) == 1
    geo = " ".join(x.get_text() for x in svd_geometry(A32).texts)
    assert "of rank 1" in geo and "of rank 2" not in geo
    verdict = next(x for x in quadratic_form(A32).texts if x.get_gid() == "svdkit:verdict")
    assert "positive semidefinite" in verdict.get_text()


@pytest.mark.parametrize("as_file", [False, True])
def test_save_figures_keeps_float32_precision(tmp_path, as_file):
    source = A32
    if as_file:
        source = tmp_path / "a.npy"
        np.save(source, A32)
    paths = save_figures(source, tmp_path / "figs", formats="svg")
    text = {p.stem: p.read_text() for p in paths}
    assert "rank 1" in text["svd_geometry"] and "rank 2" not in text["svd_geometry"]
    assert "positive semidefinite" in text["quadratic_form"]
    assert "rank 1" in text["spectrum"] and "4.44e−16" not in text["spectrum"]


@pytest.mark.parametrize(
    "A, null",
    [
        ([[1, 2, 3], [2, 4, 6]], "v₂, v₃"),
        (np.zeros((2, 3)), "v₁, v₂, v₃"),
        (np.zeros((1, 2)), "v₁, v₂"),
        (np.zeros((1, 3)), "v₁, v₂, v₃"),
        ([[1, 2], [2, 4]], "v₂"),
        ([[1, 2], [2, 4], [0, 0]], "v₂"),
        ([[1, 1, 1], [1, 1, 1], [1, 1, 1]], "v₂, v₃"),
        ([[1, 0, 0], [0, 1, 0], [0, 0, 0]], "v₃"),
    ],
)
def test_null_space_captions_name_every_null_vector(A, null):
    A = np.asarray(A, dtype=float)
    rank = np.linalg.matrix_rank(A)
    for lang, word in (("en", "spanned by"), ("fr", "engendré par")):
        caps = _captions(svd_geometry(A, lang=lang))
        assert f"{word} {null} (" in caps[2]
        assert "v₃ spans" not in caps[2] and "v₃ engendre" not in caps[2]
    en = _captions(svd_geometry(A))
    image = {0: "the single point 0", 1: "the segment from", 2: "a filled ellipse"}[rank]
    assert image in en[3]
    if rank == 1:
        assert "filled ellipse" not in en[2] + en[3]
        two = "two points" in en[2]
        assert two == (A.shape[1] == 2) and ("whole circle" in en[2]) == (A.shape[1] == 3)


def test_full_rank_wide_caption_still_names_v3():
    caps = _captions(svd_geometry([[1, 2, 3], [4, 5, 6]]))
    assert "v₃ spans the null space" in caps[2]


@pytest.mark.parametrize("A", [[[1e305, 0], [0, 1]], [1e305, 1.0], [[1e308, 0], [0, 1]]])
def test_spectrum_draws_huge_values(A):
    fig = spectrum(A)
    fig.savefig(io.BytesIO(), format="png")
    ticks = fig.axes[0].get_yticks()
    assert np.all(np.isfinite(ticks)) and len(ticks) <= 14


@pytest.mark.parametrize(
    "draw, A", [(quadratic_form, [[5e307, 0], [0, 1]]), (svd_geometry, [[1e308, 0], [0, 1]])]
)
def test_huge_entries_give_a_clear_error(draw, A):
    with pytest.raises(FigureRangeError, match="1e300"):
        draw(A)
    assert issubclass(FigureRangeError, svdkit.SvdkitError)


def test_save_figures_skips_huge_figures_with_a_warning(tmp_path):
    with pytest.warns(FigureSkippedWarning) as record:
        paths = save_figures([[1e305, 0], [0, 1]], tmp_path, formats="svg")
    assert [p.name for p in paths] == ["spectrum.svg"]
    ours = [str(w.message) for w in record if issubclass(w.category, FigureSkippedWarning)]
    assert sorted(m.split()[0] for m in ours) == ["quadratic_form", "svd_geometry"]
    assert all("1e300" in m for m in ours)


def test_reused_folder_keeps_only_this_matrix_figures_and_is_documented(tmp_path):
    # (was: the earlier figures were kept; they are of another matrix, and svdkit's own
    # marked files, so they are removed now — docs_behaviour tests the user's files)
    first = save_figures([[2, 1], [1, 3]], tmp_path, formats="svg")
    assert len(first) == 3
    # (removed, and said: a FigureRemovedWarning names the files, as .removed lists them)
    from svdkit.plot.save import FigureRemovedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("always", FigureRemovedWarning)
        with pytest.warns(FigureRemovedWarning, match="svd_geometry.svg, quadratic_form.svg"):
            second = save_figures([[1, 2, 3, 4]], tmp_path, formats="svg")
    assert [p.name for p in second] == ["spectrum.svg"]
    assert [p.name for p in second.removed] == ["svd_geometry.svg", "quadratic_form.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spectrum.svg"]
    doc = save_figures.__doc__
    assert re.search(r"is\s+removed", doc) and re.search(r"never\s+removed", doc)


@pytest.mark.parametrize(
    "A, kind",
    [
        ([[1, 2], [2, 4]], "segment"),
        ([[1, 2, 3], [2, 4, 6]], "segment"),
        ([[1, 2], [2, 4], [0, 0]], "segment"),
        ([[1, 0, 0], [0, 1, 0], [0, 0, 0]], "filled"),
        (np.zeros((2, 2)), "point"),
        (np.zeros((1, 3)), "point"),
    ],
)
def test_rank_deficient_panel_titles_name_the_image(A, kind):
    """A rank-1 2×2 maps the circle onto a segment: the titles must not say "ellipse"."""
    for lang, texts in (("en", EN), ("fr", FR)):
        fig = svd_geometry(A, lang=lang)
        sigma, image = (panel(fig, p).get_title() for p in PANELS[2:])
        assert sigma.splitlines()[0] == texts[f"plot.panel.SVtS.flat.{kind}"]
        assert image.splitlines()[0] == texts[f"plot.panel.AS.flat.{kind}"]
        if kind != "filled":
            assert "ellips" not in sigma + image
    sub = panel(svd_geometry(A), PANELS[2]).get_title().splitlines()[1]
    assert ("rank" in sub) == (kind != "point")


def test_full_rank_panel_titles_keep_the_shape_names():
    fig = svd_geometry([[1, 2, 3], [4, 5, 6]])
    assert panel(fig, PANELS[3]).get_title().splitlines()[0] == EN["plot.panel.AS.filled"]
    fig = svd_geometry([[2, 1], [1, 3]])
    assert panel(fig, PANELS[3]).get_title().splitlines()[0] == EN["plot.panel.AS.ellipse"]


@pytest.mark.parametrize("A, null", [([[3, 4]], "v₂"), ([[1, 2, 2]], "v₂ and v₃")])
def test_full_rank_row_caption_names_the_null_space(A, null):
    """A full-rank 1×n still has a null space (of dimension n − 1): the Σ caption names it."""
    en, fr = (_captions(svd_geometry(A, lang=lang))[2] for lang in ("en", "fr"))
    assert f"{null} span" in en and "null space" in en
    assert f"{null.replace('and', 'et')} engendr" in fr and "noyau" in fr
