"""svdkit.plot: the figures are read back from their artists and checked against NumPy.

Every geometric claim of a figure is checked on the data of the artists it draws
(``Line2D``/``Line3D`` data, patches), against singular values and vectors that
NumPy computes independently: the first panels are unit circles (spheres), the
third is an axis-aligned ellipse (ellipsoid) with semi-axes σᵢ, the last has the
semi-axes ±σᵢuᵢ; the quadratic form's surface is xᵀAx; the spectrum's energy
curve is the cumulative energy. The words come from the JSON catalogues.
"""

from __future__ import annotations

import json
import string
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from matplotlib.figure import Figure

import svdkit
from svdkit.plot import (
    FigureSkippedWarning,
    quadratic_form,
    quadratic_form_gallery,
    save_figures,
    spectrum,
    svd_geometry,
)

LOCALES = Path(svdkit.__file__).parent / "explain" / "locales"


def _plot_words(lang: str) -> dict[str, str]:
    words = json.loads((LOCALES / f"{lang}.json").read_text("utf-8"))
    return {k: v for k, v in words.items() if k.startswith("plot.")}


EN, FR = _plot_words("en"), _plot_words("fr")

#: Rounding of the drawn data relative to σ₁ (the data are products of a few orthogonal
#: matrices and the unit vectors; generous against ~1e-15).
REL = 1e-11

PANELS = ("svdkit:panel:S", "svdkit:panel:VtS", "svdkit:panel:SVtS", "svdkit:panel:AS")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- reading back


def panel(fig: Figure, label: str):
    found = [ax for ax in fig.axes if ax.get_label() == label]
    assert len(found) == 1, f"{label}: {len(found)} axes"
    return found[0]


def data(line) -> np.ndarray:
    """The points of a Line2D (k, 2) or Line3D (k, 3)."""
    if hasattr(line, "get_data_3d"):
        return np.column_stack([np.asarray(c, dtype=float) for c in line.get_data_3d()])
    return np.asarray(line.get_xydata(), dtype=float)


def points(ax, gid: str) -> np.ndarray:
    """All the points of the lines with ``gid`` in ``ax``, stacked (k, d)."""
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    assert lines, f"no line {gid!r} in {ax.get_label()}"
    return np.concatenate([data(ln) for ln in lines])


def tip(ax, i: int) -> np.ndarray:
    """The tip of the i-th principal axis (1-based) drawn in ``ax``."""
    return points(ax, f"svdkit:axis-{i}")[-1]


def numpy_svd(A):
    U, s, Vh = np.linalg.svd(np.asarray(A, dtype=float))
    return U, s, Vh


def all_text(fig: Figure) -> str:
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return "\n".join(x for x in texts if isinstance(x, str))


def assert_parallel(x: np.ndarray, y: np.ndarray, tol: float, what: str) -> None:
    """``x = ±y``."""
    gap = min(np.linalg.norm(x - y), np.linalg.norm(x + y))
    assert gap <= tol, f"{what}: {x} is not ±{y} (gap {gap:.2e})"


# --------------------------------------------------------------------------- svd_geometry: plane

SQUARE_2 = {
    "notes_diag": [[3.0, 0.0], [0.0, -2.0]],
    "symmetric": [[2.0, 1.0], [1.0, 3.0]],
    "general": [[1.0, 2.0], [3.0, 4.0]],
    "rotation": [[0.0, -1.0], [1.0, 0.0]],
    "rank_one": [[1.0, 2.0], [2.0, 4.0]],
    "near_equal": [[2.0, 0.1], [-0.1, 2.0]],
}


def check_plane_figure(A) -> None:
    """All the geometric claims of a 2-column, 2-row figure."""
    A = np.asarray(A, dtype=float)
    U, s, _ = numpy_svd(A)
    tol = REL * max(1.0, s[0])
    fig = svd_geometry(A)
    assert [ax.get_label() for ax in fig.axes[:4]] == list(PANELS)
    S, VtS, SVtS, AS = (panel(fig, p) for p in PANELS)

    # S and Vᵀ·S are unit circles; Vᵀ·S is an orthogonal image of S, point by point
    X = points(S, "svdkit:image")
    Y1 = points(VtS, "svdkit:image")
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-12, rtol=0)
    assert np.allclose(np.linalg.norm(Y1, axis=1), 1.0, atol=1e-12, rtol=0)
    assert X.shape[0] >= 360 and np.ptp(np.arctan2(X[:, 1], X[:, 0])) > 6.2  # the whole circle
    Q = np.linalg.lstsq(X, Y1, rcond=None)[0].T  # the map X → Vᵀ X, recovered from the data
    assert np.allclose(Q.T @ Q, np.eye(2), atol=1e-10)
    word = EN["plot.orth.rotation" if np.linalg.det(Q) > 0 else "plot.orth.reflection"]
    title = VtS.get_title().splitlines()[1]
    if not np.allclose(Q, np.eye(2), atol=1e-12):
        assert title == word.format(name="Vᵀ", det="+1" if np.linalg.det(Q) > 0 else "−1")

    # Σ·Vᵀ·S: an ellipse along the axes with semi-axes σ₁, σ₂
    Y2 = points(SVtS, "svdkit:image")
    assert np.max(np.abs(Y2[:, 0])) == pytest.approx(s[0], abs=tol)
    assert np.max(np.abs(Y2[:, 1])) == pytest.approx(s[1], abs=tol)
    if s[1] > 1e-8:
        assert np.allclose((Y2[:, 0] / s[0]) ** 2 + (Y2[:, 1] / s[1]) ** 2, 1.0, atol=1e-10)
    for i in (1, 2):
        expected = np.zeros(2)
        expected[i - 1] = s[i - 1]
        assert np.allclose(tip(SVtS, i), expected, atol=tol), f"σ{i}e{i}"

    # A·S: the image of the same points, semi-axes ±σᵢuᵢ
    Y3 = points(AS, "svdkit:image")
    assert np.allclose(Y3, X @ A.T, atol=tol)
    radii = np.linalg.norm(Y3, axis=1)
    assert radii.max() == pytest.approx(s[0], abs=tol)
    assert radii.min() == pytest.approx(s[1], abs=tol)
    if s[0] - s[1] > 1e-6 * s[0]:  # distinct: the directions are determined up to sign
        # the radius is flat at its extremes (r(θ) ≈ σ₁(1 − cθ²)): a point whose radius
        # differs from the extreme's by rounding only may be θ ~ √(eps / c) away from it
        flat = s[0] * np.sqrt(4 * np.finfo(float).eps / (1 - (s[1] / s[0]) ** 2))
        assert_parallel(
            Y3[np.argmax(radii)], s[0] * U[:, 0], 1e-9 * s[0] + flat, "longest semi-axis"
        )
        if s[1] > 1e-8:
            assert_parallel(Y3[np.argmin(radii)], s[1] * U[:, 1], 1e-9 * s[0] + flat, "shortest")
        for i in (1, 2):
            assert_parallel(tip(AS, i), s[i - 1] * U[:, i - 1], tol, f"σ{i}u{i}")
    for i in (1, 2):
        assert np.linalg.norm(tip(AS, i)) == pytest.approx(s[i - 1], abs=tol)
    # the followed point is the same point in every panel
    x0 = points(S, "svdkit:marked")[0]
    assert np.allclose(points(AS, "svdkit:marked")[0], A @ x0, atol=tol)
    assert np.allclose(np.linalg.norm(points(VtS, "svdkit:marked")[0]), 1.0)


@pytest.mark.parametrize("name", SQUARE_2)
def test_plane_geometry(name):
    check_plane_figure(SQUARE_2[name])


@settings(max_examples=12, deadline=None)
@given(hnp.arrays(np.float64, (2, 2), elements=st.floats(-10, 10, allow_subnormal=False)))
def test_plane_geometry_random(A):
    if np.linalg.norm(A) < 1e-3:
        A = A + np.eye(2)
    check_plane_figure(A)


def test_notes_example_1_titles():
    """[[3, 0], [0, −2]]: Vᵀ = diag(1, −1) is a reflection, U = I."""
    fig = svd_geometry([[3, 0], [0, -2]])
    VtS, AS = panel(fig, PANELS[1]), panel(fig, PANELS[3])
    assert VtS.get_title().splitlines()[1] == EN["plot.orth.reflection"].format(name="Vᵀ", det="−1")
    assert AS.get_title().splitlines()[1] == EN["plot.orth.identity"].format(name="U", det="+1")
    assert "σ₁ = 3, σ₂ = 2" in all_text(fig)


def test_rotation_is_said():
    fig = svd_geometry([[0, -2], [1, 0]])  # Vᵀ or U turns the plane
    titles = [panel(fig, p).get_title() for p in PANELS[1::2]]
    assert any("rotation" in x for x in titles)


# --------------------------------------------------------------------------- other shapes


@pytest.mark.parametrize(
    "A", [[[0, 3], [-2, 0], [0, 0]], [[1, 2], [0, 1], [1, -1]]], ids=["notes_example_2", "tall"]
)
def test_three_by_two_ellipse_in_space(A):
    A = np.asarray(A, dtype=float)
    U, s, _ = numpy_svd(A)
    tol = REL * s[0]
    fig = svd_geometry(A)
    S, SVtS, AS = panel(fig, PANELS[0]), panel(fig, PANELS[2]), panel(fig, PANELS[3])
    assert S.name != "3d" and SVtS.name == "3d" and AS.name == "3d"
    X = points(S, "svdkit:image")
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-12)
    Y2 = points(SVtS, "svdkit:image")
    assert np.allclose(Y2[:, 2], 0.0, atol=tol)  # Σ (3×2) puts the plane at x₃ = 0
    assert np.allclose((Y2[:, 0] / s[0]) ** 2 + (Y2[:, 1] / s[1]) ** 2, 1.0, atol=1e-10)
    Y3 = points(AS, "svdkit:image")
    assert Y3.shape[1] == 3
    assert np.allclose(Y3, X @ A.T, atol=tol)
    assert np.allclose(Y3 @ U[:, 2], 0.0, atol=tol)  # in the plane of u₁, u₂
    radii = np.linalg.norm(Y3, axis=1)
    assert radii.max() == pytest.approx(s[0], abs=tol)
    assert radii.min() == pytest.approx(s[1], abs=tol)
    for i in (1, 2):
        assert_parallel(tip(AS, i), s[i - 1] * U[:, i - 1], tol, f"σ{i}u{i}")


def test_one_row_segment():
    A = np.array([[3.0, 4.0]])
    fig = svd_geometry(A)
    Y = points(panel(fig, PANELS[3]), "svdkit:image")
    assert np.allclose(Y[:, 1], 0.0)
    assert Y[:, 0].max() == pytest.approx(5.0, abs=1e-12)
    assert Y[:, 0].min() == pytest.approx(-5.0, abs=1e-12)
    assert np.allclose(tip(panel(fig, PANELS[3]), 1), [5.0, 0.0])
    assert EN["plot.panel.AS.segment"] in panel(fig, PANELS[3]).get_title()


SQUARE_3 = {
    "general": [[2.0, 1.0, 0.0], [0.0, 1.5, 0.5], [1.0, 0.0, 1.0]],
    "diagonal": [[3.0, 0.0, 0.0], [0.0, -2.0, 0.0], [0.0, 0.0, 1.0]],
    "rank_two": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
}


@pytest.mark.parametrize("name", SQUARE_3)
def test_sphere_to_ellipsoid(name):
    A = np.asarray(SQUARE_3[name])
    U, s, _ = numpy_svd(A)
    tol = REL * s[0]
    fig = svd_geometry(A)
    S, VtS, SVtS, AS = (panel(fig, p) for p in PANELS)
    assert all(ax.name == "3d" for ax in (S, VtS, SVtS, AS))
    W = points(S, "svdkit:wire")
    assert W.shape[1] == 3
    assert np.allclose(np.linalg.norm(W, axis=1), 1.0, atol=1e-12)
    assert np.allclose(np.linalg.norm(points(VtS, "svdkit:wire"), axis=1), 1.0, atol=1e-12)
    # Σ·Vᵀ·S: an ellipsoid along the axes, semi-axes σᵢ
    Y2 = points(SVtS, "svdkit:wire")
    assert np.allclose(np.max(np.abs(Y2), axis=0), s, atol=tol)
    if s[2] > 1e-8 * s[0]:
        assert np.allclose(np.sum((Y2 / s) ** 2, axis=1), 1.0, atol=1e-10)
    # A·S: extreme radii σ₁ and σ₃, at ±σ₁u₁ and ±σ₃u₃
    Y3 = points(AS, "svdkit:wire")
    assert np.allclose(Y3, W @ A.T, atol=tol)
    radii = np.linalg.norm(Y3, axis=1)
    assert radii.max() == pytest.approx(s[0], abs=tol)
    assert radii.min() == pytest.approx(s[2], abs=tol)
    if s[0] - s[1] > 1e-6 * s[0]:
        assert_parallel(Y3[np.argmax(radii)], s[0] * U[:, 0], 1e-9 * s[0], "longest")
    for i in (1, 2, 3):
        assert np.linalg.norm(tip(AS, i)) == pytest.approx(s[i - 1], abs=tol)
        if s[i - 1] > 1e-8 * s[0]:
            assert_parallel(tip(AS, i), s[i - 1] * U[:, i - 1], tol, f"σ{i}u{i}")


def test_notes_default_filled_ellipse():
    """A = [[1, 2, 3], [4, 5, 6]]: the sphere of ℝ³ onto a filled ellipse of ℝ²."""
    A = np.array([[1.0, 2, 3], [4, 5, 6]])
    U, s, Vh = numpy_svd(A)
    tol = REL * s[0]
    fig = svd_geometry(A)
    S, VtS, SVtS, AS = (panel(fig, p) for p in PANELS)
    assert S.name == "3d" and VtS.name == "3d" and SVtS.name != "3d" and AS.name != "3d"
    assert np.allclose(np.linalg.norm(points(S, "svdkit:wire"), axis=1), 1.0, atol=1e-12)
    # the boundary of Σ·Vᵀ·S: an ellipse along the axes with semi-axes σ₁, σ₂
    B2 = points(SVtS, "svdkit:boundary")
    assert np.allclose((B2[:, 0] / s[0]) ** 2 + (B2[:, 1] / s[1]) ** 2, 1.0, atol=1e-10)
    # the boundary of A·S: semi-axes σ₁, σ₂ along ±u₁, ±u₂
    B = points(AS, "svdkit:boundary")
    c = B @ U  # coordinates in the basis u₁, u₂
    assert np.allclose((c[:, 0] / s[0]) ** 2 + (c[:, 1] / s[1]) ** 2, 1.0, atol=1e-10)
    radii = np.linalg.norm(B, axis=1)
    assert radii.max() == pytest.approx(s[0], abs=tol)
    assert radii.min() == pytest.approx(s[1], abs=tol)
    assert_parallel(B[np.argmax(radii)], s[0] * U[:, 0], 1e-9 * s[0], "σ₁u₁")
    assert_parallel(B[np.argmin(radii)], s[1] * U[:, 1], 1e-9 * s[0], "σ₂u₂")
    for i in (1, 2):
        assert_parallel(tip(AS, i), s[i - 1] * U[:, i - 1], tol, f"σ{i}u{i}")
    # filled: the polygon is the boundary, and every image of the sphere lies inside it
    filled = [p for p in AS.patches if p.get_gid() == "svdkit:filled"]
    assert len(filled) == 1 and filled[0].get_fill()
    inside = points(AS, "svdkit:wire") @ U
    assert np.all((inside[:, 0] / s[0]) ** 2 + (inside[:, 1] / s[1]) ** 2 <= 1 + 1e-10)
    # v₃ spans the null space and the caption says the ball's image is the filled ellipse
    assert np.allclose(A @ Vh[2], 0.0, atol=tol)
    captions = all_text(fig)
    assert EN["plot.caption.SVtS.filled"].format(s1="9.51", s2="0.773") in captions.replace(
        "\n", " "
    ).replace("\u00a0", " ")
    assert "ball" in EN["plot.caption.SVtS.filled"]


def test_same_limits_and_equal_aspect():
    for A in ([[1, 2], [3, 4]], [[2, 1, 0], [0, 1.5, 0.5], [1, 0, 1]]):
        fig = svd_geometry(A)
        limits = set()
        for ax in fig.axes[:4]:
            lims = [ax.get_xlim(), ax.get_ylim()] + ([ax.get_zlim()] if ax.name == "3d" else [])
            for lo, hi in lims:
                assert lo == pytest.approx(-hi)
                limits.add(round(hi, 12))
            if ax.name == "3d":
                assert np.allclose(ax.get_box_aspect(), ax.get_box_aspect()[0])
            else:
                assert ax.get_aspect() == 1.0
        assert len(limits) == 1, f"panels with different limits {limits}"


def test_limits_of_a_rectangular_matrix():
    """ℝⁿ → ℝᵐ with m ≠ n: the two panels of each space share their limits."""
    for A in ([[1, 2, 3], [4, 5, 6]], [[0, 3], [-2, 0], [0, 0]], [[3, 4]]):
        fig = svd_geometry(A)
        s1 = np.linalg.svd(np.asarray(A, dtype=float), compute_uv=False)[0]
        S, VtS, SVtS, AS = (panel(fig, p) for p in PANELS)
        assert S.get_xlim() == VtS.get_xlim() and S.get_xlim()[1] == pytest.approx(1.15)
        assert SVtS.get_xlim() == AS.get_xlim() and AS.get_xlim()[1] == pytest.approx(1.15 * s1)


def test_rank_deficiency_is_said():
    fig = svd_geometry([[1, 2], [2, 4]])
    caption = [x for x in fig.texts if x.get_gid() == "svdkit:caption"][2].get_text()
    expected = EN["plot.caption.rank"].format(rank=1, zero="σ₂")
    assert expected.replace(" = ", "\u00a0=\u00a0") in caption.replace("\n", " ")


def test_geometry_errors():
    with pytest.raises(svdkit.StructureError, match="real matrices"):
        svd_geometry([[1j, 0], [0, 1]])
    with pytest.raises(svdkit.ShapeError, match="2×4"):
        svd_geometry(np.ones((2, 4)))
    with pytest.raises(svdkit.ShapeError, match="4×2"):
        svd_geometry(np.ones((4, 2)))
    with pytest.raises(svdkit.ShapeError, match="column"):
        svd_geometry([[1.0], [2.0]])
    with pytest.raises(svdkit.SvdkitError, match="language"):
        svd_geometry([[1, 0], [0, 1]], lang="de")
    with pytest.raises(svdkit.NonFiniteError):
        svd_geometry([[1, np.nan], [0, 1]])


# --------------------------------------------------------------------------- quadratic_form


def form(A, x, y):
    A = np.asarray(A, dtype=float)
    P = np.stack([x, y])
    return np.einsum("ik,ij,jk->k", P, A, P)


KINDS = [
    ([[2, 1], [1, 3]], "positive_definite"),
    ([[1, 1], [1, 1]], "positive_semidefinite"),
    ([[1, 2], [2, 1]], "indefinite"),
    ([[-2, 1], [1, -2]], "negative_definite"),
    ([[0, 0], [0, -1]], "negative_semidefinite"),
]


@pytest.mark.parametrize(("A", "kind"), KINDS, ids=[k for _, k in KINDS])
def test_quadratic_form(A, kind):
    fig = quadratic_form(A)
    surface = panel(fig, "svdkit:quadratic:surface")
    contours = panel(fig, "svdkit:quadratic:contours")
    mesh = points(surface, "svdkit:mesh")
    assert mesh.shape[0] > 100
    assert np.allclose(mesh[:, 2], form(A, mesh[:, 0], mesh[:, 1]), atol=1e-12)
    assert np.abs(mesh[:, :2]).max() == pytest.approx(1.0)  # over the square [−1, 1]²
    lam = np.linalg.eigvalsh(np.asarray(A, dtype=float))
    for i in (1, 2):
        curve = points(surface, f"svdkit:eigen-{i}")
        assert np.allclose(curve[:, 2], form(A, curve[:, 0], curve[:, 1]), atol=1e-12)
        d = points(contours, f"svdkit:eigen-{i}")[-1]
        Ad = np.asarray(A, dtype=float) @ d
        assert np.allclose(Ad, (d @ Ad) / (d @ d) * d, atol=1e-12), "not an eigenvector"
    # λ₁ ≤ λ₂ labelled in that order, as the report (svdkit explain) numbers them
    d1 = points(contours, "svdkit:eigen-1")[-1]
    assert (d1 @ np.asarray(A) @ d1) / (d1 @ d1) == pytest.approx(lam.min())
    # the title states the definiteness, in the catalogue's words
    verdict = next(x for x in fig.texts if x.get_gid() == "svdkit:verdict").get_text()
    expected = EN["plot.quadratic.verdict"].format(
        kind=EN[f"plot.kind.{kind}"], shape=EN[f"plot.quadratic.shape.{kind}"]
    )
    assert verdict.splitlines()[0] == expected
    assert str(svdkit.definiteness(A).kind) == EN[f"plot.kind.{kind}"]
    # the level q = 0 (where it is a line) is where xᵀAx = 0
    if kind in ("indefinite", "positive_semidefinite", "negative_semidefinite"):
        zero = points(contours, "svdkit:zero-level")
        assert np.allclose(form(A, zero[:, 0], zero[:, 1]), 0.0, atol=1e-12)
        assert len([ln for ln in contours.get_lines() if ln.get_gid() == "svdkit:zero-level"]) == (
            2 if kind == "indefinite" else 1
        )


def test_quadratic_form_french():
    fig = quadratic_form([[1, 2], [2, 1]], lang="fr")
    verdict = next(x for x in fig.texts if x.get_gid() == "svdkit:verdict").get_text()
    assert verdict.splitlines()[0] == FR["plot.quadratic.verdict"].format(
        kind="indéfinie", shape=FR["plot.quadratic.shape.indefinite"]
    )
    assert panel(fig, "svdkit:quadratic:contours").get_title() == FR["plot.quadratic.contours"]
    assert fig._suptitle.get_text() == "La forme quadratique q(x) = xᵀAx"


def test_quadratic_form_gallery():
    fig = quadratic_form_gallery()
    titles = [ax.get_title() for ax in fig.axes if ax.name == "3d"]
    assert titles == [
        EN["plot.kind.positive_definite"],
        EN["plot.kind.positive_semidefinite"],
        EN["plot.kind.indefinite"],
        EN["plot.kind.negative_definite"],
    ]
    from svdkit.plot.quadratic import GALLERY

    for k, A in enumerate(GALLERY, start=1):
        mesh = points(panel(fig, f"svdkit:quadratic:surface:{k}"), "svdkit:mesh")
        assert np.allclose(mesh[:, 2], form(A, mesh[:, 0], mesh[:, 1]), atol=1e-12)
        assert str(svdkit.definiteness(A).kind) == titles[k - 1]
    fr = quadratic_form_gallery(lang="fr")
    assert [ax.get_title() for ax in fr.axes if ax.name == "3d"] == [
        "définie positive",
        "semi-définie positive",
        "indéfinie",
        "définie négative",
    ]


def test_quadratic_form_errors():
    with pytest.raises(svdkit.ShapeError, match="2×2"):
        quadratic_form(np.eye(3))
    with pytest.raises(svdkit.StructureError, match="symmetric"):
        quadratic_form([[1, 2], [3, 4]])
    with pytest.raises(svdkit.StructureError, match="real"):
        quadratic_form([[1, 1j], [-1j, 1]])


# --------------------------------------------------------------------------- spectrum


def energy_curve(fig):
    lines = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "svdkit:energy"]
    assert len(lines) == 1
    return lines[0]


def reach(energy: np.ndarray, target: float) -> int:
    """The smallest k with energy ≥ target, by a plain loop."""
    for k, e in enumerate(energy, start=1):
        if e >= target - 1e-12:
            return k
    raise AssertionError("never reached")


@pytest.mark.parametrize(
    "A",
    [
        [[1, 2, 3], [4, 5, 6]],
        np.arange(1.0, 13.0).reshape(3, 4),
        np.random.default_rng(1).standard_normal((30, 20)),
        np.random.default_rng(2).standard_normal((5, 4)) + 1j,
        np.diag(np.logspace(0, -8, 9)),
    ],
    ids=["notes", "rank_two", "random", "complex", "logspace"],
)
def test_spectrum_energy(A):
    s = np.linalg.svd(np.asarray(A), compute_uv=False)
    fig = spectrum(A)
    curve = energy_curve(fig)
    expected = np.cumsum(s**2) / np.sum(np.abs(np.asarray(A)) ** 2)
    assert np.allclose(curve.get_ydata(), expected, rtol=1e-12, atol=1e-14)
    assert curve.get_ydata()[-1] == 1.0
    assert np.array_equal(curve.get_xdata(), np.arange(1, s.size + 1))
    for target in (0.90, 0.95, 0.99):
        marks = [
            ln
            for ax in fig.axes
            for ln in ax.get_lines()
            if ln.get_gid() == f"svdkit:reach-{round(100 * target)}"
        ]
        assert len(marks) == 1
        assert marks[0].get_xdata()[0] == reach(expected, target)
        assert marks[0].get_ydata()[0] >= target - 1e-12
    spans_decades = s[s > 0].max() / s[s > 0].min() >= 100
    assert fig.axes[0].get_yscale() == ("log" if spans_decades else "linear")


def test_spectrum_of_values():
    fig = spectrum([1.0, 3.0, 2.0])  # any order: sorted
    curve = energy_curve(fig)
    assert np.allclose(curve.get_ydata(), np.array([9, 13, 14]) / 14)
    info = next(x for x in fig.axes[0].texts if x.get_gid() == "svdkit:info").get_text()
    assert info.startswith(EN["plot.spectrum.info.values"].format(p=3, fro="3.742"))
    assert spectrum(svdkit.svd([[3, 0], [0, 4]])).axes[0].get_title() == EN["plot.spectrum.title"]
    with pytest.raises(svdkit.SvdkitError, match=">= 0"):
        spectrum([1.0, -1.0])


def test_spectrum_extreme_values():
    curve = energy_curve(spectrum([1e300, 1e299]))  # σᵢ² overflows; the energy does not
    assert np.allclose(curve.get_ydata(), [100 / 101, 1.0])
    fig = spectrum([1e150, 1e-150])
    assert fig.axes[0].get_yscale() == "log"


def test_spectrum_zero_matrix_has_no_energy():
    fig = spectrum(np.zeros((3, 2)))
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "svdkit:energy"]
    assert EN["plot.spectrum.no_energy"] in all_text(fig)


def test_spectrum_french():
    en, fr = spectrum([[1, 2, 3], [4, 5, 6]]), spectrum([[1, 2, 3], [4, 5, 6]], lang="fr")
    assert fr.axes[0].get_title() == FR["plot.spectrum.title"] != en.axes[0].get_title()
    assert fr.axes[1].get_ylabel() == FR["plot.spectrum.energy_axis"].format()
    assert "énergie cumulée" in fr.axes[1].get_ylabel()
    fr.canvas.draw()
    labels = [t.get_text() for t in fr.axes[1].get_yticklabels()]
    assert "0,2" in labels and "0.2" not in labels  # numbers written the French way


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_spectrum_formulas_are_mathtext_not_literal_subscripts(lang):
    """‖A‖_F was drawn as the characters "_F": the formulas are matplotlib mathtext."""
    from matplotlib.mathtext import MathTextParser

    words = EN if lang == "en" else FR
    parser = MathTextParser("path")
    for key in ("plot.spectrum.energy_axis", "plot.spectrum.info.matrix"):
        text = words[key].replace("{{", "{").replace("}}", "}")  # (str.format's braces)
        assert text.count("$") == 2 and "_F" not in text.replace(text[text.index("$") :], ""), text
        formula = text[text.index("$") : text.rindex("$") + 1]
        parser.parse(formula, dpi=72)  # raises on a formula mathtext cannot read
    fig = spectrum([[1, 2, 3], [4, 5, 6]], lang=lang)
    label = fig.axes[1].get_ylabel()
    assert label == words["plot.spectrum.energy_axis"].format() and label.count("$") == 2
    fig.canvas.draw()  # the whole figure renders (mathtext included)


# --------------------------------------------------------------------------- words


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogues():
    assert EN.keys() == FR.keys()
    assert all(key.startswith("plot.") for key in EN)
    for key in EN:
        assert EN[key].strip() and FR[key].strip(), key
        assert placeholders(EN[key]) == placeholders(FR[key]), key
    differ = [k for k in EN if EN[k] != FR[k]]
    assert len(differ) >= 0.9 * len(EN)
    french = " ".join(FR.values())
    for word in (
        "valeurs singulières",
        "énergie cumulée",
        "forme quadratique",
        "définie positive",
        "semi-définie positive",
        "indéfinie",
        "sphère unité",
        "cercle unité",
        "ellipse",
        "rotation",
        "réflexion",
        "étirement",
        "demi-axes",
        "noyau",
        "boule unité",
    ):
        assert word in french, word


def test_french_geometry_words_come_from_the_catalogue():
    en, fr = svd_geometry([[1, 2], [3, 4]]), svd_geometry([[1, 2], [3, 4]], lang="fr")
    for ax_en, ax_fr in zip(en.axes[:4], fr.axes[:4], strict=True):
        assert ax_en.get_title() != ax_fr.get_title()
    S = panel(fr, PANELS[0])
    assert S.get_title() == f"{FR['plot.panel.S.circle']}\n{FR['plot.panel.S.sub']}"
    assert fr._suptitle.get_text() == FR["plot.geometry.title.circle"]
    text = all_text(fr).replace("\n", " ")
    assert "5,46" in text and "5.46" not in text  # σ₁ the French way


@pytest.mark.parametrize(
    "make",
    [
        lambda lang: svd_geometry([[1, 2], [3, 4]], lang),
        lambda lang: svd_geometry([[1, 2, 3], [4, 5, 6]], lang),
        lambda lang: svd_geometry([[2, 1, 0], [0, 1.5, 0.5], [1, 0, 1]], lang),
        lambda lang: svd_geometry([[1, 2], [0, 1], [1, -1]], lang),
        lambda lang: svd_geometry([[1, 2, 2]], lang),
        lambda lang: quadratic_form([[1, 2], [2, 1]], lang),
        lambda lang: quadratic_form_gallery(lang),
        lambda lang: spectrum(np.diag(np.logspace(0, -20, 8)), lang),
    ],
    ids=["2x2", "2x3", "3x3", "3x2", "1x3", "quadratic", "gallery", "spectrum"],
)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_glyph_renders(make, lang, tmp_path):
    """Rendering raises no warning at all (a missing glyph would be one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = make(lang)
        fig.savefig(tmp_path / "f.png", dpi=40)


# --------------------------------------------------------------------------- save_figures


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE
    assert head[12:16] == b"IHDR"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_save_figures(tmp_path):
    out = tmp_path / "new" / "figures"
    paths = save_figures([[2, 1], [1, 3]], out)
    assert [p.name for p in paths] == [
        "svd_geometry.png",
        "svd_geometry.svg",
        "quadratic_form.png",
        "quadratic_form.svg",
        "spectrum.png",
        "spectrum.svg",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp
    for p in paths:
        assert p.stat().st_size > 10_000, p
        if p.suffix == ".png":
            width, height = png_size(p)
            assert width > 1000 and height > 500
        else:
            root = ET.parse(p).getroot()
            assert root.tag.endswith("svg")
            assert root.get("width") and root.get("viewBox")


@pytest.mark.parametrize(
    ("A", "names"),
    [
        ([[1, 2, 3], [4, 5, 6]], ["svd_geometry", "spectrum"]),
        ([[1, 2], [3, 4]], ["svd_geometry", "spectrum"]),
        ([[1j, 0], [0, 1]], ["spectrum"]),
        (np.ones((5, 5)), ["spectrum"]),
        (np.ones((2, 4)), ["spectrum"]),
    ],
)
def test_save_figures_chooses(tmp_path, A, names):
    if np.iscomplexobj(A):  # the geometry it does not draw is named in a note
        with pytest.warns(FigureSkippedWarning, match="svd_geometry skipped: A is complex"):
            paths = save_figures(A, tmp_path, formats=("svg",))
    else:
        paths = save_figures(A, tmp_path, formats=("svg",))
    assert [p.stem for p in paths] == names


def test_save_figures_is_atomic(tmp_path, monkeypatch):
    path = save_figures([[1, 2], [3, 4]], tmp_path, formats=("png",))[0]
    before = path.read_bytes()

    def broken(self, fname, **kwargs):
        fname.write(b"half a file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_figures([[1, 2], [3, 4]], tmp_path, formats=("png",))
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spectrum.png", "svd_geometry.png"]


def test_save_figures_errors(tmp_path):
    with pytest.raises(svdkit.SvdkitError, match="format"):
        save_figures([[1, 0], [0, 1]], tmp_path, formats=("bmp",))
    with pytest.raises(svdkit.SvdkitError, match="language"):
        save_figures([[1, 0], [0, 1]], tmp_path, lang="es")
    with pytest.raises(svdkit.RaggedError):
        save_figures([[1, 0], [0]], tmp_path)
    assert not list(tmp_path.iterdir())


def test_no_global_state():
    """``import svdkit`` loads no matplotlib; drawing never loads pyplot nor sets a backend."""
    code = (
        "import sys, svdkit\n"
        "assert 'matplotlib' not in sys.modules\n"
        "import matplotlib\n"
        "backend = matplotlib.rcParams._get_backend_or_none()\n"
        "from svdkit.plot import svd_geometry, spectrum, quadratic_form\n"
        "svd_geometry([[1, 2], [3, 4]]).savefig('/dev/null', format='png')\n"
        "spectrum([3, 2, 1]); quadratic_form([[1, 0], [0, 2]])\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "assert matplotlib.rcParams._get_backend_or_none() == backend\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
