"""The course notes' missing Figure 2: the quadratic form ``q(x) = xᵀAx`` of a 2×2 symmetric A.

The notes (§5) characterise a positive definite matrix by ``xᵀAx > 0`` for every
``x ≠ 0``. In the plane this is a shape: the surface ``z = xᵀAx`` is a bowl
(positive definite), a valley (positive semidefinite), a saddle (indefinite), a
ridge (negative semidefinite) or a dome (negative definite). In the eigenbasis
``x = a q₁ + b q₂`` the form is ``λ₁a² + λ₂b²``, so the eigenvectors ``qᵢ`` are
the axes of the level curves and the eigenvalues ``λᵢ`` their curvatures.

:func:`quadratic_form` draws the surface next to its level curves, with the
eigenvector directions; the title states the definiteness found by
:func:`svdkit.definiteness`. :func:`quadratic_form_gallery` sets four canonical
cases side by side.

Reading the figure back: the surface panel is labelled
``svdkit:quadratic:surface`` and the level-curve panel
``svdkit:quadratic:contours`` (``ax.get_label()``; in the gallery with the
suffix ``:1`` … ``:4``). The surface's mesh lines are ``Line3D`` artists with
the id ``svdkit:mesh`` (their z data is ``xᵀAx``); ``svdkit:eigen-1`` and
``svdkit:eigen-2`` are the eigenvector directions (``Line2D`` from ``−qᵢ`` to
``qᵢ`` in the contour panel, the parabola ``t ↦ λᵢt²`` along ``qᵢ`` on the
surface).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from svdkit.errors import ShapeError
from svdkit.inputs import as_matrix
from svdkit.linalg.definiteness import Definiteness, definiteness
from svdkit.linalg.eigen import eigh
from svdkit.linalg.structure import require_hermitian
from svdkit.plot._common import (
    AXIS_COLOURS,
    catalogue,
    draw_arrow,
    draw_matrix,
    fmt_num,
    localise_ticks,
    matrix_of,
    new_figure,
    require_drawable,
    require_real,
    stored_matrix,
    t,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["GALLERY", "quadratic_form", "quadratic_form_gallery"]

#: The gallery's matrices: positive definite, positive semidefinite, indefinite, negative definite.
GALLERY = (
    ((2.0, 1.0), (1.0, 2.0)),
    ((1.0, 1.0), (1.0, 1.0)),
    ((1.0, 2.0), (2.0, 1.0)),
    ((-2.0, 1.0), (1.0, -2.0)),
)

GRID = 81  # points per side of the square [−1, 1]²
MESH_EVERY = 10  # a mesh line every 10 grid points (every 0.25)
COLOURMAP = "RdBu_r"  # q > 0 red, q < 0 blue, q = 0 white
VIEW = {"elev": 24, "azim": -60}

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _kind_key(d: Definiteness) -> str:
    """``plot.kind.<key>``: the zero form is both positive and negative semidefinite."""
    return "zero_form" if d.is_zero_form else str(d.kind).replace(" ", "_")


#: Why a complex A is refused, and what to do instead (the real form of xᴴHx).
_COMPLEX_WHY = (
    "The surface xᵀAx is drawn over ℝ² for a real symmetric 2×2 matrix. For a Hermitian "
    "H, xᴴHx with x = u + iv is the real quadratic form of the real symmetric 4×4 matrix "
    "[[Re H, −Im H], [Im H, Re H]] in (u, v), which has no surface over the plane; "
    "svdkit.definiteness(H) states its definiteness. On real x, xᴴHx = xᵀ(Re H)x: pass "
    "A.real to picture the form there."
)


def _check(A: ArrayLike | str, what: str) -> np.ndarray:
    A = matrix_of(A, what)
    a = require_real(as_matrix(A), what, _COMPLEX_WHY)
    if a.shape != (2, 2):
        raise ShapeError(
            f"{what} draws the quadratic form of a 2×2 matrix (a surface over the plane); "
            f"A is {a.shape[0]}×{a.shape[1]}. Use svdkit.definiteness for any order."
        )
    # the message names the two entries with the digits that tell them apart, and
    # ‖A − Aᵀ‖_F against the tolerance when the asymmetry is at rounding level
    require_hermitian(
        a,
        what,
        hint="The form xᵀAx depends only on the symmetric part (A + Aᵀ)/2: pass that to "
        "picture it.",
    )
    require_drawable(a, what)
    # float32 data (or a float32 file) keeps its precision: definiteness then decides
    # with float32's eps, as the report does (the symmetric part of a symmetric float32
    # matrix is exact in float32)
    return stored_matrix(A, a / 2 + a.T / 2)  # (a + aᵀ could overflow near 1e308)


def _inline(a: np.ndarray, lang: str) -> str:
    """``[2 1; 1 2]``: rows separated by semicolons (space-separated entries, any language)."""
    sep = " ; " if lang == "fr" else "; "
    rows = [" ".join(fmt_num(x, lang, 4, zeros=False) for x in row) for row in a]
    return "[" + sep.join(rows) + "]"


def _form(a: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``xᵀAx`` on a grid (``A`` symmetric)."""
    return a[0, 0] * x * x + 2 * a[0, 1] * x * y + a[1, 1] * y * y


def _shape_key(d: Definiteness) -> str:
    return "zero" if d.is_zero_form else str(d.kind).replace(" ", "_")


def _zero_set(d: Definiteness, lam: np.ndarray, q: np.ndarray) -> list[np.ndarray]:
    """The lines where ``xᵀAx = 0`` across the square, each (2, 2): two for an indefinite
    A, the null direction for a semidefinite one, none for a definite (or zero) A.

    In the eigenbasis ``x = a q₁ + b q₂`` the form is ``λ₁a² + λ₂b²``; it vanishes on
    ``a √|λ₁| = ± b √|λ₂|`` when the signs differ, along ``qᵢ`` when ``λᵢ = 0``.
    """
    n_pos, n_zero, n_neg = d.inertia
    if n_zero == 2:
        return []
    if n_pos and n_neg:
        root = np.sqrt(np.abs(lam))
        dirs = [root[1] * q[:, 0] + s * root[0] * q[:, 1] for s in (1.0, -1.0)]
    elif n_zero == 1:
        dirs = [q[:, 0] if abs(lam[0]) < abs(lam[1]) else q[:, 1]]
    else:
        return []
    lines = []
    for v in dirs:
        v = v / np.max(np.abs(v))  # reaches the square's edge at ±v
        lines.append(np.stack([-v, v], axis=1))
    return lines


def _texts(
    a: np.ndarray, lang: str, tol: float | None = None
) -> tuple[Definiteness, str, str, np.ndarray, np.ndarray, np.ndarray]:
    """(definiteness, verdict line, eigenvalue line, λ ascending, q as columns, the
    matrix drawn).

    Ascending, as the report numbers them (``svdkit explain``'s λ and Q): ``q₁`` of
    the figure is the report's eigenvector 1. An eigenvalue the definiteness counts as
    zero (``|λ| <= d.tol_used``: rounding, or below ``tol``) is written and drawn as
    0, as the report writes it: the matrix drawn is then ``Q diag(λ) Qᵀ`` with those
    zeros, so that the surface, the level 0 and the words agree.
    """
    d = definiteness(a, tol=tol)
    e = eigh(a)
    lam, q = e.values, e.vectors
    zeroed = (np.abs(lam) <= d.tol_used) & (lam != 0)
    drawn = np.asarray(a, dtype=float)
    if zeroed.any():
        lam = np.where(zeroed, 0.0, lam)
        drawn = (q * lam) @ q.T
        drawn = (drawn + drawn.T) / 2
    verdict = t(
        "plot.quadratic.verdict",
        lang,
        kind=t(f"plot.kind.{_kind_key(d)}", lang),
        shape=t(f"plot.quadratic.shape.{_shape_key(d)}", lang),
    )
    eigen = t("plot.quadratic.eigen", lang, l1=fmt_num(lam[0], lang), l2=fmt_num(lam[1], lang))
    if tol is not None and zeroed.any():  # the drawing is not A's own form: say so
        eigen += "\n" + t("plot.quadratic.zeroed", lang, tol=fmt_num(tol, lang, zeros=False))
    return d, verdict, eigen, lam, q, drawn


def _draw(
    ax3: Axes,
    ax2: Axes,
    a: np.ndarray,
    lam: np.ndarray,
    q: np.ndarray,
    lang: str,
    colorbar: bool,
    d: Definiteness,
) -> None:
    """The surface in ``ax3`` and the level curves in ``ax2``."""
    from matplotlib.colors import Normalize
    from matplotlib.ticker import MaxNLocator

    u = np.linspace(-1.0, 1.0, GRID)
    X, Y = np.meshgrid(u, u)
    Z = _form(a, X, Y)
    vmax = float(np.max(np.abs(Z))) or 1.0
    norm = Normalize(-vmax, vmax)  # symmetric: q = 0 is white whatever the kind
    lo, hi = float(Z.min()), float(Z.max())
    if hi - lo <= 1e-12 * vmax:
        lo, hi = -vmax, vmax
    levels = MaxNLocator(12).tick_values(lo, hi)
    zero_lines = _zero_set(d, lam, q)

    # ----- surface
    zmin, zmax = min(float(Z.min()), 0.0), max(float(Z.max()), 0.0)
    span = (zmax - zmin) or 1.0
    floor = zmin - 0.35 * span
    ax3.computed_zorder = False
    ax3.contourf(
        X,
        Y,
        Z,
        levels=levels,
        zdir="z",
        offset=floor,
        cmap=COLOURMAP,
        norm=norm,
        alpha=0.7,
        zorder=0,
    )
    ax3.plot_surface(
        X,
        Y,
        Z,
        cmap=COLOURMAP,
        norm=norm,
        rstride=2,
        cstride=2,
        linewidth=0,
        antialiased=True,
        alpha=0.92,
        zorder=1,
    )
    for k in range(0, GRID, MESH_EVERY):
        ax3.plot(X[k], Y[k], Z[k], color="0.25", lw=0.5, alpha=0.6, gid="svdkit:mesh", zorder=2)
        ax3.plot(
            X[:, k], Y[:, k], Z[:, k], color="0.25", lw=0.5, alpha=0.6, gid="svdkit:mesh", zorder=2
        )
    for i in range(2):
        d = q[:, i]
        tt = np.linspace(-1.0, 1.0, 101) / np.max(np.abs(d))  # stays in the square
        ax3.plot(
            tt * d[0],
            tt * d[1],
            lam[i] * tt**2,
            color=AXIS_COLOURS[i],
            lw=2.4,
            gid=f"svdkit:eigen-{i + 1}",
            zorder=3,
        )
    for line in zero_lines:
        ax3.plot(
            line[0],
            line[1],
            np.zeros_like(line[0]),
            color="black",
            lw=1.6,
            gid="svdkit:zero-level",
            zorder=3,
        )
    ax3.set_zlim(floor, zmax + 0.05 * span)
    ax3.set_xlim(-1, 1)
    ax3.set_ylim(-1, 1)
    ax3.set_box_aspect((1, 1, 0.8), zoom=1.1)
    ax3.view_init(**VIEW)
    ax3.set_xlabel("x₁", labelpad=-4)
    ax3.set_ylabel("x₂", labelpad=-4)
    ax3.set_zlabel("z", labelpad=-4)
    ax3.tick_params(labelsize=7, pad=-2)
    for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis):
        axis.set_major_locator(MaxNLocator(5))
        axis.set_pane_color((0.97, 0.97, 0.97, 1.0))

    # ----- level curves
    filled = ax2.contourf(X, Y, Z, levels=levels, cmap=COLOURMAP, norm=norm)
    ax2.contour(X, Y, Z, levels=levels, colors="0.3", linewidths=0.5, negative_linestyles="solid")
    for k, line in enumerate(zero_lines):
        ax2.plot(line[0], line[1], color="black", lw=1.8, gid="svdkit:zero-level")
        d = line[:, -1] - line[:, 0]
        angle = float(np.degrees(np.arctan2(d[1], d[0])))
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        at = line[:, 0] + (0.16 if k == 0 else 0.84) * d
        ax2.text(
            at[0],
            at[1],
            t("plot.quadratic.zero_level", lang),
            rotation=angle,
            rotation_mode="anchor",
            ha="center",
            va="bottom",
            fontsize=8.5,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
        )
    for i in range(2):
        d = q[:, i] * 0.92
        colour = AXIS_COLOURS[i]
        ax2.plot(
            [-d[0], d[0]],
            [-d[1], d[1]],
            color=colour,
            lw=1.2,
            ls=(0, (4, 3)),
            gid=f"svdkit:eigen-{i + 1}",
        )
        draw_arrow(ax2, d, colour, lw=2.2, head=14)
        j = str(i + 1).translate(_SUB)
        ax2.annotate(
            f"q{j} (λ{j} = {fmt_num(lam[i], lang)})",
            xy=0.55 * d,
            xytext=(6, 6),
            textcoords="offset points",
            color=colour,
            fontsize=9.5,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    ax2.set_xlim(-1, 1)
    ax2.set_ylim(-1, 1)
    ax2.set_aspect("equal", adjustable="box")
    ax2.set_xlabel("x₁", labelpad=1)
    ax2.set_ylabel("x₂", labelpad=1)
    ax2.tick_params(labelsize=8)
    if colorbar:
        bar = ax2.figure.colorbar(filled, ax=ax2, shrink=0.85, pad=0.03)
        bar.set_label(t("plot.quadratic.colorbar", lang))
        bar.ax.tick_params(labelsize=8)


def quadratic_form(A: ArrayLike | str, lang: str = "en", *, tol: float | None = None) -> Figure:
    """Draw the quadratic form ``q(x) = xᵀAx`` of a 2×2 real symmetric matrix.

    Left, the surface ``z = xᵀAx`` over the square ``[−1, 1]²`` (its level curves
    projected below it, the parabolas ``λᵢt²`` along the eigenvectors drawn on
    it); right, the level curves ``xᵀAx = c`` (red positive, blue negative, the
    level 0 in black) with the eigenvector directions ``qᵢ`` and their
    eigenvalues. The title states the definiteness (:func:`svdkit.definiteness`):
    positive definite (a bowl), positive semidefinite (a valley), indefinite (a
    saddle), negative semidefinite (a ridge) or negative definite (a dome).

    Parameters
    ----------
    A : array_like, str or SVD
        A real symmetric 2×2 matrix, or an :class:`svdkit.SVD` that holds it
        (``svdkit.svd(A)``; one without its matrix is refused).
    lang : {"en", "fr"}
        Language of every word in the figure.
    tol : float, optional
        Absolute zero threshold replacing the tolerance rule (as ``svdkit explain
        --tol``): the definiteness the figure states is decided with it. An
        eigenvalue counted as zero (rounding noise, or ``|λ| <= tol``) is written and
        drawn as 0, as the report writes it: the surface and level curves are then those
        of ``Q diag(λ) Qᵀ`` (with ``tol``, the figure says so).

    Returns
    -------
    matplotlib.figure.Figure
        On an Agg canvas (no pyplot).

    Raises
    ------
    ShapeError
        A is not 2×2.
    StructureError
        A is complex (the message gives the real symmetric form of ``xᴴHx`` for a
        Hermitian H, ``[[Re H, −Im H], [Im H, Re H]]`` of order 4, and suggests
        ``A.real``, whose form is ``xᴴHx`` on real x), or not symmetric (the message
        names two differing entries with the digits that tell them apart).
    FigureRangeError
        An entry beyond 1e300 in magnitude, or a nonzero A whose entries all stay
        below 1e−280 (matplotlib's axes hold no range that small): scale A by a power
        of two to draw it.

    Examples
    --------
    >>> from svdkit.plot import quadratic_form
    >>> fig = quadratic_form([[2, 1], [1, 3]])
    >>> verdict = next(x for x in fig.texts if x.get_gid() == "svdkit:verdict")
    >>> print(verdict.get_text())
    A is positive definite: a bowl, q(x) > 0 for every x ≠ 0
    eigenvalues λ₁ = 1.38, λ₂ = 3.62
    >>> fig = quadratic_form([[1, 2], [2, 1]], lang="fr")
    >>> verdict = next(x for x in fig.texts if x.get_gid() == "svdkit:verdict")
    >>> print(verdict.get_text().splitlines()[0].replace("\xa0", " "))  # a no-break space
    A est indéfinie : une selle, q prend les deux signes
    """
    catalogue(lang)
    a = _check(A, "quadratic_form")
    d, verdict, eigen, lam, q, drawn = _texts(a, lang, tol)
    a = np.asarray(a, dtype=float)

    fig = new_figure(13.0, 6.4)
    fig.subplots_adjust(left=0.02, right=0.97, bottom=0.08, top=0.78, wspace=0.12)
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax2 = fig.add_subplot(1, 2, 2)
    ax3.set_label("svdkit:quadratic:surface")
    ax2.set_label("svdkit:quadratic:contours")
    _draw(ax3, ax2, drawn, lam, q, lang, colorbar=True, d=d)
    ax3.set_title(t("plot.quadratic.surface", lang), fontsize=11, pad=0)
    ax2.set_title(t("plot.quadratic.contours", lang), fontsize=11)
    fig.suptitle(t("plot.quadratic.title", lang), fontsize=14, fontweight="bold", y=0.975)
    fig.text(
        0.5,
        0.915,
        f"{verdict}\n{eigen}",
        ha="center",
        va="top",
        fontsize=12,
        linespacing=1.5,
        gid="svdkit:verdict",
    )
    draw_matrix(fig, 0.03, 0.91, a, lang, size=11)
    localise_ticks(fig, lang)
    return fig


def quadratic_form_gallery(lang: str = "en") -> Figure:
    """Four canonical quadratic forms side by side: each surface above its level curves.

    The matrices (:data:`GALLERY`) are ``[2 1; 1 2]`` (positive definite, a
    bowl), ``[1 1; 1 1]`` (positive semidefinite, a valley along ``(1, −1)``),
    ``[1 2; 2 1]`` (indefinite, a saddle) and ``[−2 1; 1 −2]`` (negative
    definite, a dome). Each column is titled with its definiteness.

    Parameters
    ----------
    lang : {"en", "fr"}
        Language of every word in the figure.

    Returns
    -------
    matplotlib.figure.Figure
        On an Agg canvas (no pyplot).

    Examples
    --------
    >>> from svdkit.plot import quadratic_form_gallery
    >>> fig = quadratic_form_gallery()
    >>> [ax.get_title() for ax in fig.axes if ax.name == "3d"]
    ['positive definite', 'positive semidefinite', 'indefinite', 'negative definite']
    """
    catalogue(lang)
    fig = new_figure(18.0, 9.8)
    fig.subplots_adjust(left=0.03, right=0.97, bottom=0.05, top=0.84, wspace=0.18, hspace=0.12)
    fig.suptitle(t("plot.quadratic.gallery.title", lang), fontsize=14, fontweight="bold", y=0.975)
    for col, rows in enumerate(GALLERY):
        a = np.array(rows)
        d, _, eigen, lam, q, drawn = _texts(a, lang)
        ax3 = fig.add_subplot(2, 4, col + 1, projection="3d")
        ax2 = fig.add_subplot(2, 4, col + 5)
        ax3.set_label(f"svdkit:quadratic:surface:{col + 1}")
        ax2.set_label(f"svdkit:quadratic:contours:{col + 1}")
        _draw(ax3, ax2, drawn, lam, q, lang, colorbar=False, d=d)
        shape = t(f"plot.quadratic.shape.{_shape_key(d)}", lang)
        ax3.set_title(
            t(f"plot.kind.{_kind_key(d)}", lang), fontsize=12.5, fontweight="bold", pad=58
        )
        ax3.text2D(
            0.5,
            1.0,
            f"A = {_inline(a, lang)}\n{shape}\n{eigen}",
            transform=ax3.transAxes,
            ha="center",
            va="bottom",
            fontsize=10.5,
            linespacing=1.45,
            gid="svdkit:kind-detail",
        )
    localise_ticks(fig, lang)
    return fig
