"""The singular value spectrum and its cumulative energy, for choosing a truncation rank.

By Eckart–Young the best rank-``k`` approximation ``Aₖ`` keeps the energy
``‖Aₖ‖_F² / ‖A‖_F² = Σᵢ≤ₖ σᵢ² / Σᵢ σᵢ²`` and leaves the relative error
``‖A − Aₖ‖_F / ‖A‖_F = √(1 − energy)``. :func:`spectrum` draws the singular
values (bars, or a line when there are many; a log scale when they span two
decades or more) and, on a second axis, the cumulative energy, with a marker at
the smallest ``k`` that keeps 90 %, 95 % and 99 % of it.

Reading the figure back: the energy curve is the ``Line2D`` with the id
``svdkit:energy`` (x = ``1 … p``, y = the cumulative energy); the markers of the
targets have the ids ``svdkit:reach-90``, ``svdkit:reach-95``,
``svdkit:reach-99``. The bars (``svdkit:bars``) end at σᵢ, on a log axis too (each rises
from the axis bottom: ``get_y() + get_height()`` is σᵢ to rounding, an ulp or so; a σᵢ
equal to the smallest subnormal, 5e−324, lies on the bottom of a log axis, which cannot
go lower, with no bar); the zero threshold, where drawn, is the dashed line
``svdkit:threshold``, inside the axis (the y-range is widened to hold it: a ``tol`` above
σ₁ or below the smallest σ).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from svdkit.errors import SvdkitError
from svdkit.inputs import as_matrix, as_vector
from svdkit.linalg.svd import SVD
from svdkit.linalg.tolerance import rule_dtype, zero_threshold
from svdkit.plot._common import (
    MAX_ENTRY,
    MIN_ENTRY,
    FigureRangeError,
    catalogue,
    fmt_num,
    fmt_product,
    localise_ticks,
    new_figure,
    stored_svd,
    t,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ["TARGETS", "cumulative_energy", "smallest_rank", "spectrum"]

#: The energy fractions marked on the curve.
TARGETS = (0.90, 0.95, 0.99)

#: A target counts as reached when the energy is within this (relative) rounding of it.
REACH_SLACK = 1e-12

#: More singular values than this are drawn as a line rather than bars.
MAX_BARS = 60

BAR_COLOUR = "#4f7fb8"
ENERGY_COLOUR = "#c8570c"
TARGET_STYLES = (("#1e8449", "D", 11), ("#7d3c98", "s", 8.5), ("#b7950b", "^", 7))


def cumulative_energy(s: ArrayLike) -> np.ndarray:
    """``Σᵢ≤ₖ σᵢ² / Σᵢ σᵢ²`` for ``k = 1 … p``; the last entry is exactly 1.

    All zeros (the zero matrix) give zeros: there is no energy to share.

    Examples
    --------
    >>> cumulative_energy([3, 2, 1]).round(4).tolist()
    [0.6429, 0.9286, 1.0]
    """
    s = np.abs(np.asarray(s, dtype=float))
    top = float(s.max()) if s.size else 0.0
    if top == 0:
        return np.zeros_like(s)
    c = np.cumsum((s / top) ** 2)  # scaled: no overflow for σ near 1e300
    return c / c[-1]


def smallest_rank(energy: np.ndarray, target: float) -> int:
    """The smallest ``k`` with ``energy[k − 1] >= target`` (to a relative ``1e-12``).

    Examples
    --------
    >>> smallest_rank(cumulative_energy([3, 2, 1]), 0.9)
    2
    """
    reached = np.flatnonzero(energy >= target * (1 - REACH_SLACK))
    return int(reached[0]) + 1 if reached.size else 0


def _require_finite(s: np.ndarray) -> None:
    """Refuse σ beyond the float range (σ₁ of a finite A past 1.8e308): no axis holds them."""
    if not np.all(np.isfinite(s)):
        raise FigureRangeError("plot.range.spectrum_overflow", what="spectrum")


def _whole_fro(r: SVD) -> tuple[float, float]:
    """``(c‖A‖_F, c)`` of the matrix a truncated SVD came from (one pass over it)."""
    from svdkit.lowrank.operators import as_operator, scaled_fro_norm

    op = getattr(r, "operator", None)
    if op is None:
        if r.matrix is None:
            raise SvdkitError(
                f"spectrum: this SVD holds {r.s.size} of the min(m, n) = {min(r.shape)} "
                "singular values and not its matrix, so ‖A‖_F and the energy shares are "
                "unknown; pass the matrix, or the whole SVD"
            )
        op = as_operator(r.matrix)
    try:
        fro, c = scaled_fro_norm(op, probe=True)  # type: ignore[misc]
    finally:
        op.close()
    return float(fro), float(c)


def _truncated(A_or_s: object) -> bool:
    """Whether ``A_or_s`` is a truncated SVD: the k leading values of a larger spectrum."""
    return isinstance(A_or_s, SVD) and A_or_s.s.size < min(A_or_s.shape)


def _values(
    A_or_s: ArrayLike | str | SVD, tol: float | None = None
) -> tuple[np.ndarray, tuple[int, int] | None, int | None, float | None]:
    """(σ descending, the matrix's shape, its rank, its zero threshold) from the input;
    the rank is None for a truncated SVD (unknown: at least the count above the
    threshold)."""
    if isinstance(A_or_s, SVD):
        r = A_or_s
    elif not isinstance(A_or_s, str) and np.ndim(A_or_s) == 1:
        s = as_vector(A_or_s, name="s")
        if np.iscomplexobj(s) or np.any(s < 0):
            raise SvdkitError(
                "spectrum: singular values are real and >= 0; got "
                f"{np.asarray(A_or_s).tolist()!r} (pass a 2-D matrix to take its singular values)"
            )
        _require_finite(s)
        # tol applies to σ as given: the figure draws it (checked as for a matrix); with
        # no matrix there is no tolerance rule, so no threshold without tol
        thr = None if tol is None else zero_threshold(s.shape, 0.0, np.float64, tol)
        return np.sort(s)[::-1], None, None, thr
    else:
        a = as_matrix(A_or_s)  # (a str is matrix text here, never a file name)
        # float32 data, or a float32 file: the rule's eps is the stored precision's, as
        # svdkit.rank and svdkit.svd(A).rank() take it
        r = stored_svd(A_or_s, a)
    shape = r.shape
    s = r.s
    _require_finite(s)
    dtype = rule_dtype(r.precision, s.dtype)  # an SVD passed in: its own precision
    thr = zero_threshold(shape, float(s[0]) if s.size else 0.0, dtype, tol)
    # a truncated SVD: the k leading values of A, not A's whole spectrum; its rank is
    # unknown (the energy shares need the whole ‖A‖_F: _whole_fro)
    return s, shape, None if _truncated(r) else r.rank(tol), thr


def _decade_ticks(ax, bottom: float, top: float) -> None:
    """Ticks at whole decades inside ``[bottom, top]`` (at most about 12): matplotlib's
    LogLocator places ticks beyond the limits, which overflow for values near 1e300."""
    from matplotlib.ticker import FixedLocator, NullLocator

    lo, hi = int(np.ceil(np.log10(bottom))), int(np.floor(np.log10(top)))
    if hi - lo <= 12:
        return  # matplotlib's own ticks (with minor ones) stay finite here
    stride = int(np.ceil((hi - lo) / 10))
    ax.yaxis.set_major_locator(FixedLocator([10.0**k for k in range(lo, hi + 1, stride)]))
    ax.yaxis.set_minor_locator(NullLocator())


def _linear_ticks(ax, top: float) -> None:
    """Ticks ``0, step, 2·step …`` up to ``top`` on a linear axis whose top is near the
    largest float: matplotlib's MaxNLocator multiplies its steps past it (overflow)."""
    from matplotlib.ticker import FixedLocator

    if top <= MAX_ENTRY:
        return  # matplotlib's own ticks stay finite here
    decade = 10.0 ** (np.floor(np.log10(top)) - 1)  # (≤ top / 10: finite)
    step = next(m * decade for m in (1, 2, 2.5, 5, 10, 20, 25, 50) if top / (m * decade) <= 8)
    count = int(top // step)
    ax.yaxis.set_major_locator(FixedLocator([k * step for k in range(count + 1)]))


def _threshold_line(ax, thr: float, given: bool, lang: str):
    """The dashed zero threshold ``thr`` (``tol`` when ``given``), labelled for the legend."""
    return ax.axhline(
        thr,
        color="0.35",
        ls="--",
        lw=1.0,
        zorder=1,
        label=t("plot.spectrum.threshold" + ("_given" if given else ""), lang,
                tol=fmt_num(thr, lang)),
        gid="svdkit:threshold",
    )


def spectrum(
    A_or_s: ArrayLike | str | SVD, lang: str = "en", *, tol: float | None = None
) -> Figure:
    """Draw the singular values and their cumulative energy, with the 90/95/99 % ranks.

    Bars ``σᵢ`` (a line beyond 60 values; a log scale when the positive values span
    two decades or more, or σ₁ is below 1e−280, zeros then marked at the bottom), and
    on a second axis the cumulative energy ``Σᵢ≤ₖ σᵢ² / ‖A‖_F²`` with a marker at the
    smallest ``k`` that reaches 90 %, 95 % and 99 %: keeping ``k`` triplets then
    leaves the relative error ``√(1 − energy)``.

    Parameters
    ----------
    A_or_s : array_like, str, SVD
        A matrix (anything :func:`svdkit.as_matrix` accepts, real or complex), an
        :class:`svdkit.SVD`, or a 1-D sequence of singular values (any order;
        they are sorted in descending order). A truncated SVD (fewer than
        ``min(m, n)`` values: :func:`svdkit.lowrank.truncated_svd`,
        :meth:`svdkit.SVD.truncate`) is drawn as the ``k`` leading values of A: the
        energy is their share of the whole ``‖A‖_F²`` (one pass over its matrix), the
        whole energy (100 %) is a dashed line, and the targets beyond the ``k`` values
        are said to be so; A's rank is not stated (it is not known). ``‖A‖_F`` is
        written also where it passes the largest float while σ₁ does not
        (``[[1e308, 1e308], [1e308, −1e308]]``: ``‖A‖_F = 2.000e+308``).
    lang : {"en", "fr"}
        Language of every word in the figure.
    tol : float, optional
        Absolute zero threshold replacing the tolerance rule (as ``svdkit explain
        --tol``): the rank and the zero threshold the figure states are decided with it,
        and the threshold is drawn (a dashed line named in the legend, ``svdkit:threshold``)
        on a linear axis as on a log one, the y-range widened to hold it (a ``tol``
        above σ₁ or below the smallest σ; on a linear axis, which always starts at 0,
        a ``tol`` below 1e−280 is not widened to and lies on the axis bottom). With 1-D
        singular values it is drawn the same way (there is no tolerance rule without a
        matrix: no line without ``tol``).

    Returns
    -------
    matplotlib.figure.Figure
        On an Agg canvas (no pyplot).

    Raises
    ------
    SvdkitError
        Invalid input; a negative or complex singular value; a truncated SVD that does
        not hold its matrix (``‖A‖_F`` unknown).
    FigureRangeError
        A singular value beyond the largest float (σ₁ of a finite A near 1e308
        overflows): scale A by a power of two to draw it.

    Examples
    --------
    >>> from svdkit.plot import spectrum
    >>> fig = spectrum([4.0, 2.0, 1.0, 0.5])
    >>> curve = next(l for l in fig.axes[1].get_lines() if l.get_gid() == "svdkit:energy")
    >>> curve.get_ydata().round(4).tolist()
    [0.7529, 0.9412, 0.9882, 1.0]
    """
    catalogue(lang)
    s, shape, rank, thr = _values(A_or_s, tol)
    p = s.size
    whole = _whole_fro(A_or_s) if _truncated(A_or_s) else None  # (c‖A‖_F, c)
    if whole is None:
        energy = cumulative_energy(s)
        has_energy = bool(p and energy[-1] == 1.0)
    else:  # the k leading values of a truncated SVD: shares of the whole ‖A‖_F²
        fro_c, c = whole
        energy = np.cumsum((s * c / fro_c) ** 2) if fro_c > 0 else np.zeros_like(s)
        energy = np.minimum(energy, 1.0)  # (rounding: the shares of a part stay ≤ 1)
        has_energy = bool(p and fro_c > 0)
    x = np.arange(1, p + 1)

    fig = new_figure(10.5, 6.6)
    fig.subplots_adjust(left=0.09, right=0.9, top=0.8, bottom=0.24)
    ax = fig.add_subplot(1, 1, 1)
    ax2 = ax.twinx()  # drawn over ax: the energy curve over the bars

    positive = s[s > 0]
    log = bool(positive.size and np.log10(positive.max()) - np.log10(positive.min()) >= 2)
    # σ₁ below MIN_ENTRY: a linear axis that small is empty to matplotlib; a log one is not
    log = log or bool(positive.size and positive.max() < MIN_ENTRY)
    # the zero threshold drawn on a log axis: a given tol, or the rule's when it lies
    # within three decades of the smallest σ (further down it would stretch the axis)
    log_line = bool(
        log and thr is not None and thr > 0 and (tol is not None or positive.min() <= 1e3 * thr)
    )
    # the range holds the threshold drawn (a tol above σ₁ or below the smallest σ too)
    low, high = float(positive.min()) if log else 0.0, float(s.max()) if p else 0.0
    if thr is not None and (log_line or (not log and tol is not None)):
        low = min(low, thr) if log else low
        # (on a linear axis only a tol of at least MIN_ENTRY: a range below it is empty to
        # matplotlib, which would draw −0.05 … 0.05; a tinier tol lies on the axis bottom)
        if log or thr >= MIN_ENTRY:
            high = max(high, thr)
    if log:
        ax.set_yscale("log")
        # (10^−324 is 0 as a float: the smallest subnormal then, and a σ equal to it
        # lies on the axis bottom, with no bar)
        bottom = max(10 ** np.floor(np.log10(low) - 0.3), 5e-324)
    else:
        bottom = 0.0
    handles = []
    if p <= MAX_BARS:
        # on the log axis each bar rises from the axis bottom and ends at σᵢ: its height
        # is σᵢ − bottom (a bar of height σᵢ would end at σᵢ + bottom, up to 50 % higher)
        bars = ax.bar(
            x,
            np.where(s > 0, s - bottom, np.nan) if log else s,
            width=0.68,
            bottom=bottom if log else 0.0,
            color=BAR_COLOUR,
            alpha=0.85,
            zorder=2,
            label=t("plot.spectrum.bars", lang),
            gid="svdkit:bars",
        )
        handles.append(bars)
    else:
        (line,) = ax.plot(
            x,
            np.where(s > 0, s, np.nan) if log else s,
            color=BAR_COLOUR,
            lw=1.6,
            marker="." if p <= 300 else None,
            zorder=2,
            label=t("plot.spectrum.bars", lang),
            gid="svdkit:bars",
        )
        handles.append(line)
    if log:
        with np.errstate(over="ignore"):
            top = 10 ** np.ceil(np.log10(high) + 0.15)
        top = min(float(top), float(np.finfo(float).max))  # σ₁ near 1e308: the largest float
        with np.errstate(over="ignore"):  # (matplotlib's log transform, at the largest float)
            ax.set_ylim(bottom, top)
        _decade_ticks(ax, bottom, top)
        zeros = x[s <= 0]
        if zeros.size:
            (z,) = ax.plot(
                zeros,
                np.full(zeros.size, bottom * 1.25),
                ls="none",
                marker="v",
                ms=8,
                color="black",
                zorder=4,
                label=t("plot.spectrum.zero", lang),
            )
            handles.append(z)
        if log_line:
            handles.append(_threshold_line(ax, thr, tol is not None, lang))
    else:
        top = high if high > 0 else 1.0  # (σ₁, or a given tol above it)
        # below the largest float by more than matplotlib's 1e-10 tick slack, which it
        # adds to the top when it draws (a σ₁ closer to it is clipped by under 1e-9)
        top = min(1.08 * top, float(np.finfo(float).max) * (1 - 1e-9))
        with np.errstate(over="ignore"):  # (matplotlib's pending autoscale: σ₁ + 5 % margin)
            ax.set_ylim(0, top)
        _linear_ticks(ax, top)
        # a given tol decides the rank stated: it is drawn (and named in the legend)
        # here too; the rule's threshold, ~1e−16·σ₁, would be a line on the axis
        if thr is not None and tol is not None:
            handles.append(_threshold_line(ax, thr, True, lang))
    ax.set_ylabel(
        t("plot.spectrum.ylabel_log" if log else "plot.spectrum.ylabel", lang), color=BAR_COLOUR
    )
    ax.tick_params(axis="y", colors=BAR_COLOUR)
    ax.set_xlabel(t("plot.spectrum.xlabel", lang))
    ax.set_xlim(0.3, p + 0.7)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(max(p, 1), 12)))
    ax.grid(True, axis="y", color="0.92", zorder=0)

    ks: list[int] = []
    if has_energy:
        (curve,) = ax2.plot(
            x,
            energy,
            color=ENERGY_COLOUR,
            lw=2.2,
            marker="o" if p <= MAX_BARS else None,
            ms=4.5,
            zorder=3,
            label=t("plot.spectrum.energy", lang),
            gid="svdkit:energy",
        )
        handles.append(curve)
        ks = [smallest_rank(energy, target) for target in TARGETS]
        if whole is not None:
            # 100 %: the whole ‖A‖_F², of which the σ beyond the k computed are unseen
            tail = ax2.axhline(
                1.0,
                color=ENERGY_COLOUR,
                lw=1.2,
                ls="--",
                zorder=1,
                label=t("plot.spectrum.tail", lang, p=p),
                gid="svdkit:whole-energy",
            )
            handles.append(tail)
        for target, k, (colour, marker, size) in zip(TARGETS, ks, TARGET_STYLES, strict=True):
            if k == 0:  # not reached by the k leading values of a truncated SVD
                ax2.axhline(target, color=colour, lw=0.8, ls=":", zorder=1)
                continue
            ax2.axhline(target, color=colour, lw=0.8, ls=":", zorder=1)
            ax2.plot([k, k], [0, energy[k - 1]], color=colour, lw=0.9, ls=":", zorder=1)
            # targets reached at the same k share one legend entry: "90 %, 95 % … from k = 1"
            same = [g for g, kk in zip(TARGETS, ks, strict=True) if kk == k]
            pcts = ", ".join(
                t("plot.spectrum.percent", lang, p=fmt_num(100 * g, lang)) for g in same
            )
            (mark,) = ax2.plot(
                [k],
                [energy[k - 1]],
                ls="none",
                marker=marker,
                ms=size,
                mfc=colour,
                mec="white",
                mew=1.0,
                zorder=5,
                label=t("plot.spectrum.reach", lang, pct=pcts, k=k),
                gid=f"svdkit:reach-{round(100 * target)}",
            )
            if target == same[0]:
                handles.append(mark)
    else:
        ax2.text(
            0.5,
            0.5,
            t("plot.spectrum.no_energy", lang),
            transform=ax2.transAxes,
            ha="center",
            va="center",
            fontsize=12,
            color=ENERGY_COLOUR,
        )
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel(t("plot.spectrum.energy_axis", lang), color=ENERGY_COLOUR)
    ax2.tick_params(axis="y", colors=ENERGY_COLOUR)

    # ----- words
    top = float(s.max()) if p else 0.0
    if whole is not None:
        fro_c, c = whole
        fro = fmt_product(fro_c, 1.0 / c, lang, 4)  # (c a power of two: 1/c exact)
        share = fmt_num(100 * float(energy[-1]) if p else 0.0, lang, 3)
        info = t(
            "plot.spectrum.info.partial" + ("_one" if p == 1 else ""),
            lang,
            p=p,
            m=shape[0],
            n=shape[1],
            fro=fro,
            share=t("plot.spectrum.percent", lang, p=share),
        )
    else:
        # ‖A‖_F = σ₁·√(Σ(σᵢ/σ₁)²), written from its two factors: it passes the largest
        # float where σ₁ does not ([[1e308, 1e308], [1e308, −1e308]]: σ₁ = 1.41e308,
        # ‖A‖_F = 2e308)
        scaled = float(np.sqrt(np.sum((s / top) ** 2))) if top else 0.0
        fro = fmt_product(top, scaled, lang, 4)
        if shape is not None:
            info = t(
                "plot.spectrum.info.matrix", lang, m=shape[0], n=shape[1], rank=rank, fro=fro
            )
        else:
            info = t("plot.spectrum.info.values" + ("_one" if p == 1 else ""), lang, p=p, fro=fro)
    if ks:
        pcts = ", ".join(
            t("plot.spectrum.percent", lang, p=fmt_num(100 * g, lang)) for g in TARGETS
        )
        shown = [str(k) if k else t("plot.spectrum.beyond", lang, p=p) for k in ks]
        info += "\n" + t("plot.spectrum.summary", lang, pcts=pcts, ks=", ".join(shown))
    pad = 44 + 16 * (info.count("\n") - 1)  # (a truncated SVD's words take three lines)
    ax.set_title(t("plot.spectrum.title", lang), fontsize=14, fontweight="bold", pad=pad)
    ax.text(
        0.5,
        1.02,
        info,
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=10.5,
        linespacing=1.5,
        gid="svdkit:info",
    )
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=2,
        fontsize=9.5,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )
    localise_ticks(fig, lang)
    return fig
