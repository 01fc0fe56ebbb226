"""What every figure of :mod:`svdkit.plot` shares: words, numbers, a canvas, checks.

* **Words**: every word drawn in a figure comes from
  the message catalogue ``svdkit/explain/locales/<lang>.json`` (keys ``plot.*``,
  ``{placeholders}`` filled by :func:`t`).
* **Numbers** are written the way the language writes them: ``3.46`` and
  ``(0.58, −0.82)`` in English, ``3,46`` and ``(0,58 ; −0,82)`` in French, with
  a true minus sign.
* **Canvas**: a :class:`matplotlib.figure.Figure` bound to an Agg canvas, never
  pyplot, so that no global state (the current figure, the backend) changes.
* **Checks**: a real matrix, a known language; failures are
  :class:`~svdkit.SvdkitError` subclasses.

matplotlib is imported only inside the functions that draw, so that
``import svdkit.plot`` works (and says what to install) without it.
"""

from __future__ import annotations

import decimal
import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from svdkit.errors import StructureError, SvdkitError
from svdkit.explain import messages

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = [
    "AXIS_COLOURS",
    "LANGUAGES",
    "MAX_ENTRY",
    "MIN_ENTRY",
    "FigureRangeError",
    "catalogue",
    "draw_arrow",
    "draw_matrix",
    "fmt_matrix",
    "fmt_num",
    "fmt_product",
    "fmt_vec",
    "localise_ticks",
    "new_figure",
    "require_drawable",
    "require_real",
    "stored_matrix",
    "stored_precision",
    "stored_svd",
    "t",
]

#: The languages of the figures.
LANGUAGES = messages.LANGUAGES

#: One colour per index i (σᵢ, uᵢ, vᵢ, eᵢ, qᵢ, λᵢ), the same in every figure.
AXIS_COLOURS = ("#c0392b", "#1f5fa8", "#1e8449")

MINUS = "\u2212"


def catalogue(lang: str = "en") -> dict[str, str]:
    """The words of the figures in ``lang`` (``"en"`` or ``"fr"``).

    Examples
    --------
    >>> print(catalogue("fr")["plot.spectrum.energy_axis"])  # mathtext; {{ }}: str.format
    énergie cumulée $\\sum_{{j \\leq k}} \\sigma_j^2 \\,/\\, \\|A\\|_F^2$
    """
    return messages.catalogue(messages.check_language(lang, " for a figure"))


def t(key: str, lang: str = "en", **values: Any) -> str:
    """The text ``key`` in ``lang`` with its ``{placeholders}`` filled in.

    Examples
    --------
    >>> t("plot.orth.rotation", "fr", name="U", det="+1")
    'U est une rotation (det U = +1)'
    """
    return catalogue(lang)[key].format(**values)


def fmt_num(x: float, lang: str = "en", digits: int = 3, zeros: bool = True) -> str:
    """``x`` with ``digits`` significant digits (integers exactly), as ``lang`` writes it.

    ``zeros`` keeps the trailing zeros (``1.40``, to line up with ``2.57``).

    Examples
    --------
    >>> fmt_num(3.0), fmt_num(-2.0), fmt_num(5.464985704219043), fmt_num(0.3659, "fr")
    ('3', '−2', '5.46', '0,366')
    >>> fmt_num(1.396), fmt_num(123.7), fmt_num(2.5e-7), fmt_num(2.9999999999999996)
    ('1.40', '124', '2.50e−07', '3')
    >>> fmt_num(float("inf")), fmt_num(float("-inf"))
    ('∞', '−∞')
    """
    x = float(x)
    if x == 0:
        x = 0.0  # no "−0"
    if not math.isfinite(x):  # (round(inf) raises)
        text = "nan" if math.isnan(x) else ("-∞" if x < 0 else "∞")
    elif x == 0 or (round(x) != 0 and abs(x - round(x)) <= 1e-9 * abs(x) and abs(x) < 1e15):
        text = str(round(x))
    else:
        text = f"{x:#.{digits}g}" if zeros else f"{x:.{digits}g}"
        if "e" not in text:
            text = text.rstrip(".")
    return _localised(text, lang)


def _localised(text: str, lang: str) -> str:
    """``text`` with a true minus sign, and a decimal comma in French."""
    text = text.replace("-", MINUS)
    if lang == "fr":
        text = text.replace(".", ",")
    return text


def fmt_product(a: float, b: float, lang: str = "en", digits: int = 3, zeros: bool = True) -> str:
    """``a·b`` as :func:`fmt_num` writes it, also when the product leaves the float range.

    A quantity kept in scaled form (``‖A‖_F = σ₁·√(Σ(σᵢ/σ₁)²)``, or ``(c‖A‖_F)·(1/c)``
    with ``c`` a power of two) can be finite factor by factor and overflow as one
    float (``‖A‖_F = 2e308``); it is then written from the exact product of the two
    factors, with ``digits`` significant digits and a decimal exponent. A product in
    the subnormal range is written the same way, at full precision.

    Examples
    --------
    >>> fmt_product(1.4142135623730951e308, 1.4142135623730951, digits=4)
    '2.000e+308'
    >>> fmt_product(3.0, 0.5), fmt_product(2.0 ** -1074, 0.5 ** 10, "fr")
    ('1.50', '4,82e−327')
    """
    a, b = float(a), float(b)
    x = a * b  # (a Python float product: inf or a rounded subnormal, never an error)
    factors = math.isfinite(a) and math.isfinite(b) and a != 0 and b != 0
    if not (factors and (not math.isfinite(x) or abs(x) < sys.float_info.min)):
        return fmt_num(x, lang, digits, zeros)  # one float holds it (or a factor is 0, ∞)
    with decimal.localcontext() as ctx:
        ctx.prec = 40  # the exact product of two doubles has at most 34 significant digits
        ctx.Emax, ctx.Emin = decimal.MAX_EMAX, decimal.MIN_EMIN
        exact = decimal.Decimal(a) * decimal.Decimal(b)
        text = f"{exact:.{max(digits, 1) - 1}e}"
    mantissa, exponent = text.split("e")
    if not zeros and "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    sign, power = (exponent[0], exponent[1:]) if exponent[0] in "+-" else ("+", exponent)
    text = f"{mantissa}e{sign}{power.zfill(2)}"
    return _localised(text, lang)


def fmt_vec(v: np.ndarray, lang: str = "en", decimals: int = 2) -> str:
    """A short vector with fixed decimals: ``(0.71, −0.71)``, in French ``(0,71 ; −0,71)``.

    The spaces are no-break spaces, so that a wrapped caption keeps a vector whole.

    Examples
    --------
    >>> fmt_vec(np.array([0.7071, -0.7071])), fmt_vec(np.array([0.5, 1.0]), "fr")
    ('(0.71,\xa0−0.71)', '(0,50\xa0;\xa01,00)')
    """
    sep = "\u00a0;\u00a0" if lang == "fr" else ",\u00a0"  # no-break: never wrapped apart
    parts = []
    for x in np.asarray(v, dtype=float).ravel():
        text = f"{x:.{decimals}f}"
        if float(text) == 0:
            text = text.lstrip("-")
        text = text.replace("-", MINUS)
        parts.append(text.replace(".", ",") if lang == "fr" else text)
    return "(" + sep.join(parts) + ")"


def fmt_matrix(a: np.ndarray, lang: str = "en") -> str:
    """A small matrix as monospaced lines between tall brackets.

    Draw it with a monospaced font (``family="monospace"``) so that the columns
    align; :func:`draw_matrix` does that and writes ``A =`` in front.

    Examples
    --------
    >>> print(fmt_matrix(np.array([[1.0, 2, 3], [4, 5, 6]])))
    ⎡1  2  3⎤
    ⎣4  5  6⎦
    >>> print(fmt_matrix(np.array([[3.0, -2.5]]), "fr"))
    [3  −2,5]
    """
    a = np.asarray(a)
    m, n = a.shape
    cells = [[fmt_num(a[i, j], lang, 4, zeros=False) for j in range(n)] for i in range(m)]
    widths = [max(len(cells[i][j]) for i in range(m)) for j in range(n)]
    rows = ["  ".join(cells[i][j].rjust(widths[j]) for j in range(n)) for i in range(m)]
    if m == 1:
        brackets = [("[", "]")]
    else:
        brackets = [("⎡", "⎤")] + [("⎢", "⎥")] * (m - 2) + [("⎣", "⎦")]
    return "\n".join(
        f"{left}{row}{right}" for row, (left, right) in zip(rows, brackets, strict=True)
    )


def draw_matrix(
    fig: Figure, x: float, y: float, a: np.ndarray, lang: str, size: float = 11
) -> None:
    """Write ``A = [matrix]`` on ``fig``, its left edge at ``(x, y)`` (figure fraction)."""
    from matplotlib.text import Annotation

    name = fig.text(x, y, "A =", ha="left", va="center", fontsize=size, gid="svdkit:matrix-name")
    block = Annotation(
        fmt_matrix(a, lang),
        xy=(1.0, 0.5),
        xycoords=name,
        xytext=(5, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        family="DejaVu Sans Mono",
        fontsize=size,
        linespacing=1.0,
        gid="svdkit:matrix",
    )
    fig.add_artist(block)


def draw_arrow(
    ax: Axes, tip: ArrayLike, colour: str, *, lw: float, head: float, **kwargs: Any
) -> None:
    """Draw an arrow from the origin to ``tip`` in a 2-D axes, with a filled ``-|>`` head.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw, in data coordinates.
    tip : array_like, shape (2,)
        The arrow's end point.
    colour : str
        Its colour.
    lw : float
        The shaft's line width (points).
    head : float
        The head's size (matplotlib's ``mutation_scale``).
    **kwargs
        Passed on to :meth:`~matplotlib.axes.Axes.annotate` (``zorder``, …).
    """
    ax.annotate(
        "",
        xy=tip,
        xytext=(0.0, 0.0),
        arrowprops={
            "arrowstyle": "-|>",
            "color": colour,
            "lw": lw,
            "shrinkA": 0,
            "shrinkB": 0,
            "mutation_scale": head,
        },
        **kwargs,
    )


def _localised_label(text: str, lang: str) -> str:
    """A tick label or offset as matplotlib writes it, with ``lang``'s decimal mark and a
    true minus sign (inside mathtext ``$…$`` the comma is ``{,}``: no space after it)."""
    parts = text.split("$")
    for i, part in enumerate(parts):
        comma = "{,}" if i % 2 else ","
        parts[i] = part.replace("-", MINUS).replace(".", comma if lang == "fr" else ".")
    return "$".join(parts)


def _localising(inner: Any, lang: str) -> Any:
    """A matplotlib ``Formatter`` that writes what ``inner`` writes (its digits, its
    offset ``1e−12``, its scientific notation), as ``lang`` writes numbers.

    Every other attribute is ``inner``'s: its setters (``set_useOffset``,
    ``set_scientific``, ``set_powerlimits``…) reach it, so that ``ax.ticklabel_format``
    works on a French figure as on an English one. ``inner`` is an attribute of the
    formatter (not shared through a closure), and its class lives in this module, so
    that a copy (``copy.deepcopy``) of a figure has its own formatters and a figure
    can be pickled as matplotlib's figures can."""
    return _localised_class()(inner, lang)


def _localised_class() -> type:
    """The class of :func:`_localising`'s formatters, made once (matplotlib is imported
    only when a figure is drawn). Found by pickle as ``_Localised`` in this module
    (through the module's ``__getattr__``)."""
    cls = globals().get("_Localised")
    if cls is not None:
        return cls
    from matplotlib.ticker import Formatter

    class _Localised(Formatter):
        def __init__(self, inner: Any, lang: str) -> None:
            self.inner = inner
            self.lang = lang

        def __getattr__(self, name: str) -> Any:
            # (called only for what _Localised lacks. Never for special names, nor for
            # its own attributes, absent while copy or pickle builds an instance: that
            # would ask for self.inner again, without end)
            if name.startswith("__") or name in ("inner", "lang"):
                raise AttributeError(name)
            return getattr(self.inner, name)

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return _localised_label(self.inner(x, pos), self.lang)

        def format_ticks(self, values: Any) -> list[str]:
            return [_localised_label(text, self.lang)
                    for text in self.inner.format_ticks(values)]

        def set_locs(self, locs: Any) -> None:
            self.inner.set_locs(locs)

        def get_offset(self) -> str:
            return _localised_label(self.inner.get_offset(), self.lang)

        def format_data(self, value: float) -> str:
            return _localised_label(self.inner.format_data(value), self.lang)

        def format_data_short(self, value: float) -> str:
            return _localised_label(self.inner.format_data_short(value), self.lang)

    _Localised.__module__ = __name__
    _Localised.__qualname__ = "_Localised"
    globals()["_Localised"] = _Localised
    return _Localised


def __getattr__(name: str) -> Any:
    # (the formatters' class, made on first use: pickle finds it by its name here)
    if name == "_Localised":
        return _localised_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def localise_ticks(fig: Figure, lang: str) -> None:
    """Write the tick labels of every linear axis as ``lang`` writes numbers (``0,25`` in French).

    The labels are matplotlib's own (the same digits, offset such as ``1e−12`` and
    scientific notation as in English, at any scale), with only the decimal mark and
    the minus sign of ``lang``. English keeps matplotlib's labels as they are; log-scale
    axes keep theirs (powers of ten).
    """
    if lang == "en":
        return
    for ax in fig.axes:
        bar = getattr(ax, "_colorbar", None)
        if bar is not None:  # a colorbar sets its own formatter again when it draws
            if not hasattr(bar.formatter, "inner"):
                bar.formatter = _localising(bar.formatter, lang)
            continue
        axes = [ax.xaxis, ax.yaxis] + ([ax.zaxis] if hasattr(ax, "zaxis") else [])
        for axis in axes:
            current = axis.get_major_formatter()
            if axis.get_scale() == "linear" and not hasattr(current, "inner"):
                axis.set_major_formatter(_localising(current, lang))


#: The largest entry magnitude ``svd_geometry`` and ``quadratic_form`` draw: their axis
#: limits, level curves and aspect computations need room below the largest float.
MAX_ENTRY = 1e300

#: The smallest largest entry magnitude they draw (a nonzero A): matplotlib takes an axis
#: range below about 2e−287 as empty and draws ``[−0.05, 0.05]`` instead (its
#: ``nonsingular`` rule), so that the picture of a tinier A is blank.
MIN_ENTRY = 1e-280


class FigureRangeError(SvdkitError):
    """A finite matrix a figure cannot draw at its scale (entries beyond :data:`MAX_ENTRY`,
    a nonzero A below :data:`MIN_ENTRY`, σ₁ beyond the largest float).

    Its message is English; :meth:`text` gives it in any language of the figures, from
    the message ``key`` (``plot.range.*``) and its ``values``, as
    :func:`svdkit.plot.save_figures` says it when it skips the figure.

    Attributes
    ----------
    key : str
        The message key in ``svdkit/explain/locales/<lang>.json``.
    values : dict
        Its placeholders; a float is written as the language writes numbers.
    """

    def __init__(self, key: str, **values: Any) -> None:
        self.key = key
        self.values = values
        super().__init__(self.text("en"))

    def text(self, lang: str = "en") -> str:
        """The message in ``lang``.

        Examples
        --------
        >>> err = FigureRangeError("plot.range.too_large", what="svd_geometry", top=1e301)
        >>> print(err.text("fr").split(" ; ")[1].split(". ")[0])
        A a un coefficient de valeur absolue 1e+301
        """
        shown = {
            k: fmt_num(v, lang, 3, zeros=False) if isinstance(v, float) else v
            for k, v in self.values.items()
        }
        return t(self.key, lang, **shown)


def require_drawable(a: np.ndarray, what: str) -> None:
    """Refuse, before any drawing, a matrix whose entries exceed :data:`MAX_ENTRY`, or a
    nonzero one whose entries all stay below :data:`MIN_ENTRY`."""
    top = float(np.max(np.abs(a))) if a.size else 0.0
    if top > MAX_ENTRY:
        raise FigureRangeError("plot.range.too_large", what=what, top=top)
    if 0 < top < MIN_ENTRY:
        raise FigureRangeError("plot.range.too_small", what=what, top=top)


def stored_precision(source: object, a: np.ndarray) -> np.dtype | None:
    """The precision ``source`` was stored in where coarser than ``a``'s (float32 data,
    a float32 ``.npy`` file), else None: the zero rule's eps is that precision's."""
    from svdkit.linalg.svd import _stored_precision

    return _stored_precision(source, a)


def stored_svd(source: object, a: np.ndarray, full: bool = False):
    """``svd(a)`` that decides ranks with the stored precision of ``source`` (as
    :func:`svdkit.rank` and the report do)."""
    from dataclasses import replace

    from svdkit.linalg.svd import svd

    return replace(svd(a, full=full), precision=stored_precision(source, a))


def matrix_of(A: Any, what: str) -> Any:
    """``A`` itself, or the matrix an :class:`svdkit.SVD` result was computed from.

    The pictures of a matrix draw ``A`` (its own SVD is computed inside): an SVD result
    passed in stands for its matrix where it holds one as an array, in the precision it
    was stored in (float32 data stays float32: the zero rule's eps is that precision's).
    Without one (a result built from ``U, s, Vh``, or from a file or an operator) the
    error says so, not NumPy's message about a ragged sequence.
    """
    from svdkit.linalg.svd import SVD

    if not isinstance(A, SVD):
        return A
    held = A.matrix
    if not isinstance(held, np.ndarray):
        raise SvdkitError(
            f"{what}: A is an svdkit.SVD result that does not hold its matrix as an array; "
            f"pass the matrix itself ({what} draws A and computes its SVD)"
        )
    precision = A.precision
    if precision is not None and np.dtype(precision).itemsize < held.dtype.itemsize:
        return held.astype(precision)  # (exact: the SVD widened the stored values)
    return held


def stored_matrix(source: object, a: np.ndarray) -> np.ndarray:
    """``a`` in the precision ``source`` was stored in (exact: ``a`` widened it), so that
    what takes it (:func:`svdkit.definiteness`, the figures) uses that precision's eps."""
    precision = stored_precision(source, a)
    return a if precision is None else a.astype(precision)


def require_real(a: np.ndarray, what: str, why: str | None = None) -> np.ndarray:
    """Refuse a complex matrix: the pictures live in real space.

    ``why`` is the figure's own reason (what it pictures, what to pass instead); the
    default is that of ``svd_geometry`` (the unit circle or sphere and its image).
    """
    if np.iscomplexobj(a):
        m, n = a.shape
        if why is None:
            why = (
                "The picture is for real matrices (the unit circle of ℝ² or sphere of ℝ³ "
                "and its image); the unit sphere of ℂⁿ has real dimension 2n − 1 and cannot "
                "be drawn this way. Pass the real or imaginary part (A.real, A.imag) to "
                "picture it."
            )
        raise StructureError(
            f"{what} draws real matrices only; A is a complex {m}×{n} matrix. {why}"
        )
    return a


def new_figure(width: float, height: float) -> Figure:
    """A :class:`~matplotlib.figure.Figure` on an Agg canvas (no pyplot, no global state)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the installation
        from svdkit.errors import MissingDependencyError

        raise MissingDependencyError(
            "svdkit.plot needs matplotlib: pip install 'svdkit[plot]'"
        ) from err
    fig = Figure(figsize=(width, height), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    return fig
