"""The course notes' missing Figure 1: the unit sphere mapped to an ellipse, step by step.

``A = U Σ Vᵀ`` acts on the unit sphere ``S`` of ℝⁿ in three steps (INSA notes,
§3.1–3.3): ``Vᵀ`` preserves the sphere (``‖Vᵀx‖ = ‖x‖``, it only moves its
points; ``vᵢ ↦ eᵢ``), ``Σ`` stretches it along the coordinate axes (``eᵢ ↦
σᵢeᵢ``), and ``U`` rotates or reflects the result (``σᵢeᵢ ↦ σᵢuᵢ``). The image
``A·S`` is a hyperellipse whose semi-axes are ``σᵢuᵢ``. (The pictures are for real
matrices, where ``Vᴴ = Vᵀ``; the figures write ``Vᵀ``, as the notes do.)

:func:`svd_geometry` draws the four stages ``S``, ``Vᵀ·S``, ``Σ·Vᵀ·S`` and
``U·Σ·Vᵀ·S = A·S`` side by side, with an equal aspect ratio in every panel (an
ellipse looks like one). A square A maps ℝⁿ to itself: all four panels share
the same limits, so that the stretch shows, while σ₁ lies within
``[1/SHARED_SCALE, SHARED_SCALE]`` (1/8 to 8). Otherwise (a rectangular A, or σ₁
far from 1) the two panels in ℝⁿ (``S``, ``Vᵀ·S``) share theirs (±1.15) and the two
in ℝᵐ theirs (±1.15 σ₁), with a note ``svdkit:own-scale`` giving that scale: neither
the circle nor its image is then a dot. Singular values the rank counts as zero
(rounding noise, or at most ``tol``) are written and drawn as 0, as the report
writes them. Every point keeps its
colour through the steps (a hue around the circle; a colour from its position on
the sphere), and a star follows one point ``x₀``.

Shapes (A is m×n, real):

=====  =====  ==============================================================
n      m      what is drawn
=====  =====  ==============================================================
2      2      circle → circle → ellipse → ellipse, in the plane
2      3      circle → circle → an ellipse in ℝ³ (3-D panels)
2      1      circle → circle → a segment of ℝ
3      3      sphere → sphere → ellipsoid → ellipsoid (3-D panels)
3      2      sphere → sphere → a *filled* ellipse (the image of the unit ball;
              ``v₃`` spans the null space) → the filled ellipse, turned by U
3      1      sphere → sphere → a segment of ℝ
=====  =====  ==============================================================

Reading the figure back (for tests and tools): the panels are the figure's
first four axes, labelled ``svdkit:panel:S``, ``svdkit:panel:VtS``,
``svdkit:panel:SVtS`` and ``svdkit:panel:AS`` (``ax.get_label()``). In each,
the artists carry these ids (``artist.get_gid()``):

* ``svdkit:image``: the image of the unit circle (a ``Line2D``, or ``Line3D``
  in a 3-D panel) — the circle, the ellipse, the segment; it passes exactly
  through the images of ``±vᵢ``;
* ``svdkit:wire``: for a sphere, its meridians and parallels (``Line3D``, or
  their flattened images as ``Line2D``), parametrised in the frame of ``V``:
  they pass exactly through every ``±vᵢ`` (the poles are ``±v₃``);
* ``svdkit:boundary`` (``Line2D``) and ``svdkit:filled`` (a polygon): the
  filled ellipse of a 2×3 matrix and its boundary;
* ``svdkit:axis-1``, ``svdkit:axis-2``, ``svdkit:axis-3``: the whole
  principal axis from ``−w`` to ``w``, where ``w`` is ``vᵢ``, ``eᵢ``,
  ``σᵢeᵢ``, ``σᵢuᵢ`` in the four panels (its last point is the arrow's tip);
* ``svdkit:marked``: the followed point ``x₀``, ``Vᵀx₀``, ``ΣVᵀx₀``, ``Ax₀``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from svdkit.errors import ShapeError
from svdkit.inputs import as_matrix
from svdkit.plot._common import (
    AXIS_COLOURS,
    catalogue,
    draw_arrow,
    draw_matrix,
    fmt_num,
    fmt_vec,
    localise_ticks,
    matrix_of,
    new_figure,
    require_drawable,
    require_real,
    stored_svd,
    t,
)
from svdkit.plot._orthogonal import OrthogonalAction, describe_orthogonal

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["PANELS", "svd_geometry"]

#: The labels of the four panels, in order.
PANELS = ("svdkit:panel:S", "svdkit:panel:VtS", "svdkit:panel:SVtS", "svdkit:panel:AS")
#: what the unit circle (sphere) becomes under a matrix of rank 0, 1 or 2 below full rank
FLAT_KINDS = ("point", "segment", "filled")

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
CIRCLE_POINTS = 720
SURFACE_LAT, SURFACE_LON = 37, 73  # 5° steps
WIRE_MERIDIANS = 12  # every 30°: includes φ = 0°, 90°, 180°, 270° (±v₁, ±v₂)
WIRE_PARALLELS = (30, 60, 90, 120, 150)  # colatitudes (degrees); 90° is the equator
CURVE_COLOURMAP = "hsv"
VIEW = {"elev": 22, "azim": -58}
#: A square A's four panels share their limits while 1/SHARED_SCALE <= σ₁ <= SHARED_SCALE.
SHARED_SCALE = 8.0


def _sub(i: int) -> str:
    return str(i).translate(SUB)


# ----------------------------------------------------------------------------- sampling


def _circle_angles(special: list[np.ndarray]) -> np.ndarray:
    """Angles around the circle: a regular grid plus the exact angles of ``special`` vectors."""
    base = np.linspace(0.0, 2 * np.pi, CIRCLE_POINTS + 1)
    extra = np.array([np.arctan2(v[1], v[0]) % (2 * np.pi) for v in special])
    out = np.sort(np.concatenate([base, extra]))
    keep = np.concatenate([[True], np.diff(out) > 1e-12])
    return out[keep]


def _sphere_grid(V: np.ndarray, lat: int, lon: int) -> np.ndarray:
    """Points ``V w``, ``w`` on a latitude–longitude grid (poles ``±e₃``); shape (3, lat, lon)."""
    theta = np.linspace(0.0, np.pi, lat)[:, None]
    phi = np.linspace(0.0, 2 * np.pi, lon)[None, :]
    w = np.stack(
        [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta) + 0 * phi]
    )
    return np.einsum("ij,jab->iab", V, w)


def _sphere_wire(V: np.ndarray) -> list[np.ndarray]:
    """Meridians and parallels of the sphere in the frame of ``V``, each (3, k)."""
    lines = []
    theta = np.linspace(0.0, np.pi, 91)
    for k in range(WIRE_MERIDIANS):
        phi = 2 * np.pi * k / WIRE_MERIDIANS
        w = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
        lines.append(V @ w)
    phi = np.linspace(0.0, 2 * np.pi, 181)
    for colat in WIRE_PARALLELS:
        th = np.radians(colat)
        w = np.stack(
            [np.sin(th) * np.cos(phi), np.sin(th) * np.sin(phi), np.full_like(phi, np.cos(th))]
        )
        lines.append(V @ w)
    return lines


def _position_colours(x: np.ndarray) -> np.ndarray:
    """RGBA from a point's position on the unit sphere: ``(x + 1)/2`` as red, green, blue."""
    rgb = np.clip((np.moveaxis(x, 0, -1) + 1.0) / 2.0, 0.0, 1.0)
    rgb = 0.15 + 0.8 * rgb  # keep away from black and white
    alpha = np.ones((*rgb.shape[:-1], 1))
    return np.concatenate([rgb, alpha], axis=-1)


# ----------------------------------------------------------------------------- words


def _orth_texts(action: OrthogonalAction, name: str, lang: str) -> tuple[str, str]:
    """(title line, caption detail) for what the orthogonal step ``name`` does."""
    sign = "+1" if action.det > 0 else "−1"
    short = t(f"plot.orth.{action.kind}", lang, name=name, det=sign)
    n_axis = None if action.axis is None else fmt_vec(action.axis, lang)
    angle = fmt_num(action.angle, lang, 3)
    dim = 3 if action.axis is not None and action.axis.size == 3 else 2
    if action.kind in ("identity", "point"):
        detail = t(f"plot.orth.detail.{action.kind}", lang)
    elif action.axis is not None and action.axis.size == 1:
        detail = t("plot.orth.detail.flip", lang)
    else:
        detail = t(f"plot.orth.detail.{action.kind}{dim}", lang, angle=angle, axis=n_axis)
    return short, detail


# ----------------------------------------------------------------------------- drawing helpers


def _setup_2d(ax: Axes, lim: float, line: bool) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal", adjustable="box")
    ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
    if line:
        ax.set_yticks([])
        ax.set_xlabel("x₁")
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
    else:
        ax.axvline(0.0, color="0.85", lw=0.8, zorder=0)
        ax.set_xlabel("x₁", labelpad=1)
        ax.set_ylabel("x₂", labelpad=1)
        ax.grid(True, color="0.93", lw=0.6)
    ax.tick_params(labelsize=8)


def _setup_3d(ax: Axes, lim: float) -> None:
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_zlim(-lim, lim)
    ax.set_box_aspect((1, 1, 1), zoom=1.2)
    ax.view_init(**VIEW)
    ax.computed_zorder = False  # arrows and labels over the (translucent) surface, by zorder
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_pane_color((0.97, 0.97, 0.97, 1.0))
    ax.set_xlabel("x₁", labelpad=-6)
    ax.set_ylabel("x₂", labelpad=-6)
    ax.set_zlabel("x₃", labelpad=-6)
    from matplotlib.ticker import MaxNLocator

    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    ax.tick_params(labelsize=7, pad=-2)


def _axis_line(
    ax: Axes, tip: np.ndarray, colour: str, i: int, *, alpha: float, zorder: float
) -> None:
    """Draw the ``i``-th principal axis, the dashed segment ``[−tip, tip]``, in 2-D or 3-D.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        A 2-D axes, or a 3-D one for a 3-vector ``tip``.
    tip : numpy.ndarray, shape (2,) or (3,)
        One end of the segment; the other is ``−tip``.
    colour : str
        Its colour.
    i : int
        The axis' 1-based index (the line's id is ``svdkit:axis-i``).
    alpha, zorder : float
        Its opacity and drawing order.
    """
    ax.plot(
        *([-c, c] for c in tip),
        ls=(0, (4, 3)),
        lw=1.0,
        color=colour,
        alpha=alpha,
        gid=f"svdkit:axis-{i}",
        zorder=zorder,
    )


def _arrow_2d(ax: Axes, tip: np.ndarray, colour: str, label: str, i: int, lim: float) -> None:
    """The principal axis ``[−tip, tip]`` (dashed) and an arrow ``0 → tip`` with its label."""
    tip = np.asarray(tip, dtype=float)
    _axis_line(ax, tip, colour, i, alpha=0.7, zorder=3)
    length = float(np.hypot(*tip))
    if length > 1e-9 * lim:
        draw_arrow(ax, tip, colour, lw=2.0, head=13, zorder=5)
        d = tip / length
    else:
        d = np.array([1.0, 1.0]) / np.sqrt(2) if i == 1 else np.array([-1.0, 1.0]) / np.sqrt(2)
    box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8}
    if float(np.max(np.abs(tip))) <= 0.72 * lim:  # room outside the tip
        offset = 7 * d
    else:  # near the frame: beside the tip, on the side away from the other axes, inwards
        normal = np.array([-d[1], d[0]]) * (1 if i % 2 else -1)
        offset = 9 * normal - 3 * d
        d = normal - 0.8 * d
    ha = "left" if d[0] > 0.35 else ("right" if d[0] < -0.35 else "center")
    va = "bottom" if d[1] > 0.35 else ("top" if d[1] < -0.35 else "center")
    ax.annotate(
        label,
        xy=tip,
        xytext=offset,
        textcoords="offset points",
        ha=ha,
        va=va,
        fontsize=10.5,
        color=colour,
        fontweight="bold",
        zorder=6,
        bbox=box,
    )


def _values_box(ax: Axes, lines: list[str], top: float) -> None:
    """Coloured lines (one per index), centred under the panel, their top at ``top``
    (figure fraction): below the axis label, where they never hide the drawing."""
    from matplotlib.offsetbox import AnchoredOffsetbox, TextArea, VPacker

    areas = [
        TextArea(text, textprops={"color": AXIS_COLOURS[i], "fontsize": 9, "fontweight": "bold"})
        for i, text in enumerate(lines)
    ]
    pos = ax.get_position()
    box = AnchoredOffsetbox(
        loc="upper center",
        child=VPacker(children=areas, align="left", pad=0, sep=2),
        pad=0.3,
        borderpad=0.0,
        frameon=True,
        bbox_to_anchor=(pos.x0 + pos.width / 2, top),
        bbox_transform=ax.figure.transFigure,
    )
    box.patch.set(facecolor="white", edgecolor="0.8")
    box.set_gid("svdkit:values")
    ax.add_artist(box)


def _arrow_3d(ax: Axes, tip: np.ndarray, colour: str, label: str, i: int, lim: float) -> None:
    """The principal axis ``[−tip, tip]`` (dashed) and an arrow ``0 → tip`` with its label.

    Scale-free, as :func:`_arrow_2d`: the length is ``math.hypot`` (``‖tip‖`` by
    ``np.linalg.norm`` squares the entries, and overflows past about 1e154 or
    underflows below 1e-154, where the figure still draws), every ratio is taken
    before it is multiplied, and the quiver gets the unit direction and the length
    apart (Matplotlib's ``quiver`` turns its head with ``np.linalg.norm`` of ``U, V``).
    """
    tip = np.asarray(tip, dtype=float)
    _axis_line(ax, tip, colour, i, alpha=0.8, zorder=4)
    length = math.hypot(*tip)
    if length > 1e-9 * lim:
        ax.quiver(
            0,
            0,
            0,
            *(tip / length),
            length=length,
            color=colour,
            lw=2.2,
            arrow_length_ratio=min(0.35, 0.13 * (lim / length)),
            zorder=5,
        )
        where = tip + (0.1 * lim) * (tip / length)
    else:
        where = np.array([0.1, 0.1, 0.1 * i]) * lim
    ax.text(
        *where,
        label,
        color=colour,
        fontsize=10,
        fontweight="bold",
        ha="center",
        va="center",
        zorder=10,
        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
    )


def _gradient_2d(ax: Axes, y: np.ndarray, colours: np.ndarray, lw: float = 3.2) -> None:
    from matplotlib.collections import LineCollection

    pts = y.T[:, None, :]
    segs = np.concatenate([pts[:-1], pts[1:]], axis=1)
    ax.add_collection(LineCollection(segs, colors=colours[:-1], linewidths=lw, zorder=2))


def _gradient_3d(ax: Axes, y: np.ndarray, colours: np.ndarray, lw: float = 3.0) -> None:
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    pts = y.T[:, None, :]
    segs = np.concatenate([pts[:-1], pts[1:]], axis=1)
    ax.add_collection3d(Line3DCollection(segs, colors=colours[:-1], linewidths=lw))


def _marked(ax: Axes, p: np.ndarray, label: str | None, lim: float) -> None:
    p = np.asarray(p, dtype=float)
    style = {"marker": "*", "ms": 15, "mfc": "black", "mec": "white", "mew": 1.0, "ls": "none"}
    if p.size == 3:
        ax.plot([p[0]], [p[1]], [p[2]], gid="svdkit:marked", zorder=12, **style)
        if label:
            ax.text(p[0], p[1], p[2] + 0.09 * lim, label, fontsize=10, ha="center")
    else:
        xy = (p[0], p[1] if p.size > 1 else 0.0)
        ax.plot([xy[0]], [xy[1]], gid="svdkit:marked", zorder=12, **style)
        if label:
            ax.annotate(
                label,
                xy=xy,
                xytext=(6, -6),
                textcoords="offset points",
                fontsize=10,
                ha="left",
                va="top",
                zorder=12,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
            )


# ----------------------------------------------------------------------------- the figure


def svd_geometry(A: ArrayLike | str, lang: str = "en", *, tol: float | None = None) -> Figure:
    """Draw how ``A = U Σ Vᵀ`` maps the unit circle (sphere) to an ellipse, step by step.

    Four panels with consistent limits (all the same for a square A with σ₁ between
    1/8 and 8) and an equal aspect ratio: ``S`` (the unit
    circle or sphere, with the right singular vectors ``vᵢ``); ``Vᵀ·S`` (still
    the unit sphere; the title says whether ``Vᵀ`` is a rotation or a
    reflection, ``det Vᵀ = ±1``); ``Σ·Vᵀ·S`` (an axis-aligned ellipse, semi-axes
    ``σᵢeᵢ``); ``U·Σ·Vᵀ·S = A·S`` (the ellipse with semi-axes ``σᵢuᵢ``,
    labelled with their lengths). Points keep their colour from panel to panel
    and a star follows one point. The module docstring lists the shapes drawn
    and the artist ids to read the data back.

    Parameters
    ----------
    A : array_like, str or SVD
        A real m×n matrix with n = 2 or 3 columns and m ≤ 3 rows (anything
        :func:`svdkit.as_matrix` accepts), or an :class:`svdkit.SVD` that holds
        its matrix (``svdkit.svd(A)``): A is drawn. One without it is refused.
    lang : {"en", "fr"}
        Language of every word in the figure.
    tol : float, optional
        Absolute zero threshold replacing the tolerance rule (as ``svdkit explain
        --tol``): the rank the figure states is decided with it, and the singular
        values it counts as zero are written and drawn as 0 (the figure then says so).

    Returns
    -------
    matplotlib.figure.Figure
        On an Agg canvas (no pyplot): save it with ``fig.savefig(path)``.

    Raises
    ------
    StructureError
        A is complex: the picture is for real matrices.
    ShapeError
        A has not 2 or 3 columns, or more than 3 rows.
    FigureRangeError
        An entry beyond 1e300 in magnitude, or a nonzero A whose entries all stay
        below 1e−280 (matplotlib's axes hold no range that small): scale A by a power
        of two to draw it.
    SvdkitError
        Invalid input (see :func:`svdkit.as_matrix`) or an unknown ``lang``.

    Examples
    --------
    >>> import numpy as np
    >>> from svdkit.plot import svd_geometry
    >>> fig = svd_geometry([[3, 0], [0, -2]])
    >>> last = fig.axes[3]
    >>> last.get_label()
    'svdkit:panel:AS'
    >>> ellipse = next(l for l in last.get_lines() if l.get_gid() == "svdkit:image")
    >>> radii = np.hypot(*ellipse.get_xydata().T)
    >>> float(radii.max()), float(radii.min())  # σ₁ and σ₂
    (3.0, 2.0)
    >>> print(fig.axes[1].get_title().splitlines()[1])
    Vᵀ is a reflection (det Vᵀ = −1)
    """
    catalogue(lang)  # an unknown language fails before any work
    A = matrix_of(A, "svd_geometry")
    a = require_real(as_matrix(A), "svd_geometry")
    m, n = a.shape
    if n not in (2, 3):
        raise ShapeError(
            f"svd_geometry needs a matrix with 2 or 3 columns: it draws the unit circle of ℝ² "
            f"or the unit sphere of ℝ³ and its image; A is {m}×{n}. Use svdkit.plot.spectrum "
            "for the singular values of any matrix."
        )
    if m > 3:
        raise ShapeError(
            f"svd_geometry draws A·S in ℝᵐ with m ≤ 3; A is {m}×{n}, so its image lies in "
            f"ℝ{_sup(m)} and cannot be drawn. Use svdkit.plot.spectrum for the singular values."
        )
    require_drawable(a, "svd_geometry")
    # float32 data (or a float32 file): the rank is decided with float32's eps, as
    # svdkit.rank and the report decide it
    r = stored_svd(A, a, full=True)
    U, s, Vh = r.U, r.s, r.Vh
    V = Vh.T
    p = s.size
    rank = r.rank(tol)
    # σᵢ the rank counts as zero (rounding, or at most tol) are written and drawn as 0,
    # as the report writes them: the words (rank, segment, "σ₂ = 0") and the picture
    # then agree; the image drawn is that of U Σ Vᵀ with those zeros
    zeroed = bool(np.any(s[rank:] > 0))
    s = np.where(np.arange(p) < rank, s, 0.0)
    Sigma = np.zeros((m, n))
    Sigma[np.arange(p), np.arange(p)] = s
    s1 = float(s[0])
    # A square A maps ℝⁿ to itself: one scale for all four panels, so that the stretch
    # shows, while σ₁ is within SHARED_SCALE of 1 (else the circle or the ellipse would
    # be a dot). Otherwise the domain ℝⁿ (S, Vᵀ·S) and the codomain ℝᵐ (Σ·Vᵀ·S, A·S)
    # each have their own limits, and a note gives the codomain's scale.
    shared = m == n and 1 / SHARED_SCALE <= s1 <= SHARED_SCALE
    lim_in = 1.15 * max(1.0, s1) if shared else 1.15
    lim_out = lim_in if shared else (1.15 * s1 if s1 > 0 else 1.15)
    lims = (lim_in, lim_in, lim_out, lim_out)
    maps = (np.eye(n), Vh, Sigma @ Vh, U @ Sigma @ Vh if zeroed else a)
    dims = (n, n, m, m)
    shape = "circle" if n == 2 else "sphere"

    # ----- words
    v_action, u_action = describe_orthogonal(Vh), describe_orthogonal(U)
    v_short, v_detail = _orth_texts(v_action, "Vᵀ", lang)
    u_short, u_detail = _orth_texts(u_action, "U", lang)
    if m == 1:
        image = "segment"
    elif n == 3 and m == 2:
        image = "filled"
    elif n == 2 and m == 3:
        image = "ellipse3"
    else:
        image = "ellipse" if n == 2 else "ellipsoid"
    svals = {f"s{i + 1}": fmt_num(s[i], lang) for i in range(p)}
    sep = "\u00a0; " if lang == "fr" else ", "  # "5,46, 0,37" would read as four numbers
    titles = [
        (t(f"plot.panel.S.{shape}", lang), t("plot.panel.S.sub", lang)),
        (t(f"plot.panel.VtS.{shape}", lang), v_short),
        (t(f"plot.panel.SVtS.{image}", lang), t(f"plot.panel.SVtS.sub.{image}", lang, n=n)),
        (t(f"plot.panel.AS.{image}", lang), u_short),
    ]
    captions = [
        t(f"plot.caption.S.{shape}", lang),
        t(f"plot.caption.VtS.{shape}", lang, detail=v_detail),
        t(f"plot.caption.SVtS.{image}" + (f".{shape}" if m == 1 else ""), lang, **svals),
        t(f"plot.caption.AS.{image}", lang, detail=u_detail, **svals),
    ]
    if rank < p:
        # the titles name what A·S is, not what a matrix of this shape and full rank
        # would give: a rank-1 2×2 maps the circle onto a segment, not an ellipse
        kind = FLAT_KINDS[rank]
        sub = (
            t("plot.panel.SVtS.sub.flat.point", lang)
            if rank == 0
            else t("plot.panel.SVtS.sub.flat", lang, m=m, n=n, rank=rank)
        )
        titles[2:] = [
            (t(f"plot.panel.SVtS.flat.{kind}", lang), sub),
            (t(f"plot.panel.AS.flat.{kind}", lang), u_short),
        ]
        captions[2:] = _flat_captions(rank, n, shape, s, u_detail, lang, sep)
    # ----- layout, in inches: header, titles, panels, captions (as long as they need)
    wrapped = [_wrap(c) for c in captions]
    lines = max(c.count("\n") + 1 for c in wrapped)
    header, titles_h, panel_h, labels_h = 0.85, 0.5, 3.75, 0.42
    values_h = n * 0.19 + 0.2
    captions_h = lines * 0.18 + 0.15
    height = header + titles_h + panel_h + labels_h + values_h + captions_h
    fig = new_figure(18.0, height)
    fig.subplots_adjust(
        left=0.035,
        right=0.972,
        top=1 - (header + titles_h) / height,
        bottom=(labels_h + values_h + captions_h) / height,
        wspace=0.48,
    )
    axes = []
    for k, (d, lim) in enumerate(zip(dims, lims, strict=True)):
        ax = fig.add_subplot(1, 4, k + 1, projection="3d" if d == 3 else None)
        ax.set_label(PANELS[k])
        if d == 3:
            _setup_3d(ax, lim)
        else:
            _setup_2d(ax, lim, line=d == 1)
        axes.append(ax)
    _keep_labels_inside(fig, axes[0])

    x0 = V.sum(axis=1) / np.sqrt(n)  # halfway between the vᵢ: never on an arrow
    if n == 2:
        tt = _circle_angles([V[:, 0], -V[:, 0], V[:, 1], -V[:, 1], x0])
        X = np.stack([np.cos(tt), np.sin(tt)])
        colours = _curve_colours(tt)
    else:
        grid = _sphere_grid(V, SURFACE_LAT, SURFACE_LON)
        wire = _sphere_wire(V)

    for k, (ax, M, d, lim) in enumerate(zip(axes, maps, dims, lims, strict=True)):
        if n == 2:
            _draw_circle_image(ax, M, d, X, colours, V, lim)
        else:
            _draw_sphere_image(ax, M, d, grid, wire, V, lim)
        _marked(ax, M @ x0, {0: "x₀", 3: "Ax₀"}.get(k), lim)
        draw = _arrow_3d if d == 3 else _arrow_2d
        for i in range(n if k < 2 else p):
            tip = M @ V[:, i]
            if d == 1:
                tip = np.array([tip[0], 0.0])
            j = i + 1
            if k == 0:
                label = f"v{_sub(j)}"
            elif k == 1:
                label = f"e{_sub(j)}"
            elif k == 2:
                label = f"σ{_sub(j)}e{_sub(j)}"
            else:
                label = f"σ{_sub(j)}u{_sub(j)}"
            draw(ax, tip, AXIS_COLOURS[i], label, j, lim)
        if k == 0:
            box = [f"v{_sub(i + 1)} = {fmt_vec(V[:, i], lang)}" for i in range(n)]
        elif k == 2:
            box = [f"σ{_sub(i + 1)} = {fmt_num(s[i], lang)}" for i in range(p)]
        elif k == 3:
            box = [
                f"σ{j} = {fmt_num(s[i], lang)}{sep}u{j} = {fmt_vec(U[:, i], lang)}"
                for i, j in ((i, _sub(i + 1)) for i in range(p))
            ]
        else:
            box = []
        if box:
            _values_box(ax, box, (values_h + captions_h - 0.05) / height)
        if k >= 2 and d == 2:
            _unit_reference(ax)
        if k >= 2 and lim != lims[0]:  # the codomain on its own scale: say which
            note = t("plot.geometry.own_scale", lang, s1=fmt_num(s1, lang))
            (ax.text2D if d == 3 else ax.text)(
                0.02,
                0.02,
                note,
                transform=ax.transAxes,
                ha="left",
                va="bottom",
                fontsize=7.5,
                color="0.3",
                zorder=7,
                gid="svdkit:own-scale",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )

    for ax, (title, sub), caption in zip(axes, titles, wrapped, strict=True):
        ax.set_title(f"{title}\n{sub}", fontsize=10.5, pad=4 if ax.name != "3d" else -2)
        pos = ax.get_position()
        fig.text(
            pos.x0 + pos.width / 2,
            captions_h / height,
            caption,
            ha="center",
            va="top",
            multialignment="left",
            fontsize=9,
            linespacing=1.35,
            gid="svdkit:caption",
        )
    renderer = fig.canvas.get_renderer()
    boxes = []
    for ax in axes:
        ax.apply_aspect()
        boxes.append(ax.get_tightbbox(renderer).transformed(fig.transFigure.inverted()))
    for k, op in enumerate(("Vᵀ", "Σ", "U")):
        left, right = axes[k].get_position(), axes[k + 1].get_position()
        x0, x1 = max(left.x1, boxes[k].x1), min(right.x0, boxes[k + 1].x0)
        if x1 <= x0:  # the labels fill the gap: centre on the gap between the panels
            x0, x1 = left.x1, right.x0
        _operator_arrow(fig, x0, x1, (left.y0 + left.y1) / 2, op)

    values = sep.join(f"σ{_sub(i + 1)} = {fmt_num(s[i], lang, 4)}" for i in range(p))
    fig.suptitle(
        t(f"plot.geometry.title.{shape}", lang),
        x=0.5,
        y=1 - 0.12 / height,
        va="top",
        fontsize=14,
        fontweight="bold",
    )
    info = t("plot.geometry.info", lang, m=m, n=n, rank=rank, values=values)
    if zeroed and tol is not None:  # σ > 0 drawn as 0: not A's own picture, say so
        info += "; " + t("plot.geometry.zeroed", lang, tol=fmt_num(tol, lang, zeros=False))
    fig.text(
        0.5,
        1 - 0.62 / height,
        info,
        ha="center",
        va="center",
        fontsize=10.5,
    )
    draw_matrix(fig, 0.035, 1 - 0.5 / height, a, lang, size=10.5)
    localise_ticks(fig, lang)
    return fig


def _keep_labels_inside(fig: Figure, ax: Axes, margin: float = 0.006) -> None:
    """Widen the figure's left margin until the first panel's tick and axis labels
    (their tight box, measured) lie inside the figure."""
    renderer = fig.canvas.get_renderer()
    ax.apply_aspect()
    x0 = ax.get_tightbbox(renderer).transformed(fig.transFigure.inverted()).x0
    if x0 < margin:
        fig.subplots_adjust(left=fig.subplotpars.left + margin - x0)


def _flat_captions(
    rank: int, n: int, shape: str, s: np.ndarray, u_detail: str, lang: str, sep: str
) -> list[str]:
    """The Σ and U captions of a rank-deficient A (rank < min(m, n)).

    The null space is spanned by ``v_{r+1}, …, v_n``; the image of the circle (sphere)
    is the point 0 (rank 0), a segment (rank 1: each inner point the image of two
    points of the circle, or of a circle of the sphere) or a filled ellipse (rank 2 of a
    3-column A: each inner point the image of two points of the sphere).
    """
    p = s.size
    zero = ", ".join(f"σ{_sub(i + 1)}" for i in range(rank, p))
    null = ", ".join(f"v{_sub(i + 1)}" for i in range(rank, n))
    kind = FLAT_KINDS[rank]
    values = sep.join(f"σ{_sub(i + 1)} = {fmt_num(s[i], lang)}" for i in range(p))
    sigma = " ".join(
        (
            t("plot.caption.SVtS.stretch", lang, values=values),
            t("plot.caption.rank", lang, rank=rank, zero=zero),
            t("plot.caption.null", lang, null=null),
            t(f"plot.caption.squash.{kind}.{shape}", lang),
        )
    )
    image = t(f"plot.caption.image.{kind}", lang)
    return [sigma, t("plot.caption.AS.flat", lang, detail=u_detail, image=image)]


def _wrap(caption: str, width: int = 47) -> str:
    """Wrap a caption, never between a symbol and its value (``σ₁ = 3`` stays whole)."""
    return textwrap.fill(caption.replace(" = ", "\u00a0=\u00a0"), width)


def _sup(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _curve_colours(tt: np.ndarray) -> np.ndarray:
    from matplotlib import colormaps

    return colormaps[CURVE_COLOURMAP](tt / (2 * np.pi))


def _unit_reference(ax: Axes) -> None:
    """A light dashed unit circle, for scale."""
    u = np.linspace(0, 2 * np.pi, 181)
    ax.plot(np.cos(u), np.sin(u), color="0.6", lw=0.8, ls=(0, (2, 2)), zorder=1)


def _operator_arrow(fig: Figure, x0: float, x1: float, y: float, op: str) -> None:
    from matplotlib.patches import FancyArrowPatch

    mid = (x0 + x1) / 2
    half = min(0.018, (x1 - x0) * 0.36)
    fig.add_artist(
        FancyArrowPatch(
            (mid - half, y),
            (mid + half, y),
            transform=fig.transFigure,
            arrowstyle="-|>",
            mutation_scale=18,
            lw=1.6,
            color="0.25",
        )
    )
    fig.text(
        mid, y + 0.025, op, ha="center", va="bottom", fontsize=14, fontweight="bold", color="0.2"
    )


def _draw_circle_image(
    ax: Axes, M: np.ndarray, d: int, X: np.ndarray, colours: np.ndarray, V: np.ndarray, lim: float
) -> None:
    """The image ``M·S`` of the unit circle in a panel of dimension ``d``."""
    Y = M @ X
    if d == 3:
        from mpl_toolkits.mplot3d.art3d import Poly3DCollection

        ax.add_collection3d(
            Poly3DCollection([Y.T], facecolors=[(0.55, 0.65, 0.8, 0.18)], edgecolors="none")
        )
        _gradient_3d(ax, Y, colours)
        ax.plot(*Y, color="0.2", lw=0.6, gid="svdkit:image")
    elif d == 2:
        ax.fill(Y[0], Y[1], color=(0.55, 0.65, 0.8, 0.15), zorder=1)
        _gradient_2d(ax, Y, colours)
        ax.plot(Y[0], Y[1], color="0.2", lw=0.6, gid="svdkit:image", zorder=2.5)
    else:
        _segment(ax, M, V, lambda w: _curve_colours(np.arctan2(w[1], w[0]) % (2 * np.pi)))
        ax.plot(Y[0], np.zeros_like(Y[0]), color="0.2", lw=0.6, gid="svdkit:image", zorder=2.5)


def _segment(ax: Axes, M: np.ndarray, V: np.ndarray, colour_of: Callable) -> None:
    """A 1-row map: the image is a segment, each point hit twice; colour it by the half circle
    from v₁ through v₂ to −v₁, whose image runs over the segment once."""
    tt = np.linspace(0.0, np.pi, 361)
    W = np.outer(V[:, 0], np.cos(tt)) + np.outer(V[:, 1], np.sin(tt))
    y = (M @ W)[0]
    _gradient_2d(ax, np.stack([y, np.zeros_like(y)]), colour_of(W), lw=7)


def _draw_sphere_image(
    ax: Axes,
    M: np.ndarray,
    d: int,
    grid: np.ndarray,
    wire: list[np.ndarray],
    V: np.ndarray,
    lim: float,
) -> None:
    """The image ``M·S`` of the unit sphere in a panel of dimension ``d``."""
    n_lat = grid.shape[1]
    colours = _position_colours(grid)
    face = 0.25 * (colours[:-1, :-1] + colours[1:, :-1] + colours[:-1, 1:] + colours[1:, 1:])
    Y = np.einsum("ij,jab->iab", M, grid)
    if d == 3:
        face[..., 3] = 0.55
        ax.plot_surface(
            *Y,
            facecolors=face,
            shade=False,
            linewidth=0,
            antialiased=False,
            rstride=1,
            cstride=1,
            zorder=1,
        )
        for line in wire:
            ax.plot(*(M @ line), color="0.3", lw=0.5, alpha=0.45, gid="svdkit:wire", zorder=2)
    elif d == 2:
        from matplotlib.collections import PolyCollection
        from matplotlib.patches import Polygon

        # the hemisphere w₃ >= 0 (in the frame of V) covers the filled ellipse once
        half = slice(0, (n_lat + 1) // 2)
        Yh, fh = Y[:, half], face[: (n_lat - 1) // 2]
        quads = np.stack(
            [Yh[:, :-1, :-1], Yh[:, 1:, :-1], Yh[:, 1:, 1:], Yh[:, :-1, 1:]], axis=-1
        )  # (2, lat, lon, 4)
        quads = np.moveaxis(quads, 0, -1).reshape(-1, 4, 2)
        fcol = fh.reshape(-1, 4)
        ax.add_collection(
            PolyCollection(quads, facecolors=fcol, edgecolors=fcol, linewidths=0.3, zorder=1)
        )
        for line in wire:
            y = M @ line
            ax.plot(y[0], y[1], color="0.35", lw=0.35, alpha=0.4, gid="svdkit:wire", zorder=2)
        phi = np.linspace(0.0, 2 * np.pi, 361)
        equator = M @ (np.outer(V[:, 0], np.cos(phi)) + np.outer(V[:, 1], np.sin(phi)))
        ax.add_patch(
            Polygon(
                equator.T,
                closed=True,
                fc=(0.55, 0.65, 0.8, 0.25),
                ec="none",
                gid="svdkit:filled",
                zorder=0.5,
            )
        )
        ax.plot(equator[0], equator[1], color="0.15", lw=1.6, gid="svdkit:boundary", zorder=2.6)
    else:
        _segment(ax, M, V, lambda w: _position_colours(w))
        for line in wire:
            y = (M @ line)[0]
            ax.plot(y, np.zeros_like(y), color="0.2", lw=0.6, gid="svdkit:wire", zorder=2.5)
