"""Spectra of LoRA deltas: energy curves, effective rank, the rank each module needs.

For a (base, tuned) pair each module's ``ΔW`` is decomposed by
:func:`svdkit.lowrank.truncated_svd` (all of it, or its ``max_rank`` leading
triplets); for an adapter, exactly and cheaply through QR of the factors
(:func:`svdkit.lora.resize.factor_spectrum`). Per module:

* ``energy(k) = Σ_{i≤k} σᵢ² / ‖ΔW‖_F²`` against the exact ``‖ΔW‖_F²``;
* ``stable_rank = ‖ΔW‖_F² / σ₁²`` (needs σ₁ only);
* ``effective_rank = exp(H(p))``, ``pᵢ = σᵢ / Σσⱼ`` (Roy & Vetterli, 2007), when
  the whole spectrum is known;
* ``recommended_rank(e)``: the smallest ``k`` with ``energy(k) ≥ e`` (``None``
  when the computed part of the spectrum does not reach it).

Examples
--------
>>> import numpy as np
>>> sp = ModuleSpectrum("fc", (4, 4), np.array([3.0, 1.0, 0.0, 0.0]), 10.0, complete=True)
>>> sp.recommended_rank(0.9), sp.stable_rank, round(sp.effective_rank, 3)
(1, 1.1111111111111112, 1.755)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svdkit._words import counted
from svdkit.errors import EmptyInputError, FileFormatError, SvdkitError
from svdkit.lora._args import (
    check_bool,
    check_count,
    check_fraction,
    check_path,
    check_targets,
)
from svdkit.lora.adapter import Adapter, as_adapter, token_module
from svdkit.lora.extract import module_progress, read_delta, work_dtype
from svdkit.lora.factor import frobenius2, pow2_exponent, pow2_scaled
from svdkit.lora.modules import Pairing, pair_checkpoints
from svdkit.lora.rank import energy_rank
from svdkit.lora.safetensors_io import Checkpoint, as_checkpoint

__all__ = [
    "FIGURE_MARK",
    "ROW_KEYS",
    "Analysis",
    "ModuleSpectrum",
    "analyse_adapter",
    "analyse_pair",
    "check_figure_output",
    "written_by_analyse",
]

#: Axis labels of :meth:`Analysis.figure`, in matplotlib mathtext:
#: ``σᵢ / σ₁`` and ``Σ_{i≤k} σᵢ² / ‖ΔW‖_F²``.
SPECTRUM_LABEL = r"$\sigma_i \,/\, \sigma_1$"
ENERGY_LABEL = r"$\sum_{i \leq k} \sigma_i^2 \,/\, \|\Delta W\|_F^2$"


#: The ``Creator`` svdkit writes into the figures it saves (:meth:`Analysis.figure`), by
#: which :func:`written_by_analyse` knows one: in the formats that carry it.
FIGURE_MARK = "svdkit lora analyse"
#: The figure formats whose files carry :data:`FIGURE_MARK` (matplotlib's ``metadata``).
MARKED_FIGURE_FORMATS = ("png", "pdf", "svg", "ps", "eps")
#: The figure formats without transparency: :meth:`Analysis.figure` draws them opaque.
OPAQUE_FORMATS = ("ps", "eps")
#: The keys of each row of :meth:`Analysis.rows` (``--json``).
ROW_KEYS = (
    "module", "shape", "sigma_1", "fro", "stable_rank", "effective_rank",
    "recommended_rank", "computed",
)
#: Files larger than this are not read to look for svdkit's mark (analyse writes less).
_MARK_READ_LIMIT = 64 << 20


def written_by_analyse(path: str | os.PathLike) -> bool:
    """Whether the file ``path`` is one ``analyse`` wrote, which it may replace.

    A JSON list of :meth:`Analysis.rows` (objects with exactly :data:`ROW_KEYS`), or a
    figure whose ``Creator`` is :data:`FIGURE_MARK` (formats
    :data:`MARKED_FIGURE_FORMATS`), read where :meth:`Analysis.figure` writes it: a PNG's
    ``tEXt`` chunk, a PDF's ``/Info`` dictionary, an SVG's ``<metadata>``, the
    ``%%Creator:`` line of a PostScript header. A file that merely holds the words
    elsewhere (a caption, a title, a note) is not svdkit's, nor is a figure in another
    format (it carries no mark). Anything else — a model, an adapter's config, a user's
    file — is not.
    """
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > _MARK_READ_LIMIT:
            return False
        if path.suffix.lower() != ".json":
            return _figure_creator(path) == FIGURE_MARK
        data = path.read_bytes()
    except (OSError, ValueError):
        return False
    import json

    try:
        rows = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(rows, list) and all(
        isinstance(r, dict) and set(r) == set(ROW_KEYS) for r in rows
    )


def _figure_creator(path: Path) -> str | None:
    """The ``Creator`` of the figure file ``path``, by its format (its suffix), where
    :meth:`Analysis.figure` writes it; ``None`` for another format or none found."""
    from svdkit.plot.save import _pdf_creator, _png_creator, _svg_creator

    read = {"png": _png_creator, "svg": _svg_creator, "pdf": _pdf_creator,
            "ps": _ps_creator, "eps": _ps_creator}.get(path.suffix[1:].lower())
    if read is None:
        return None
    with open(path, "rb") as handle:
        return read(handle)


def _ps_creator(handle) -> str | None:
    """The ``%%Creator:`` of a PostScript file's header comments (DSC): the lines after
    ``%!PS-Adobe`` up to ``%%EndComments`` or the first line that is no ``%%`` comment."""
    lines = handle.read(1 << 16).split(b"\n")
    if not lines[0].startswith(b"%!PS-Adobe"):
        return None
    for line in lines[1:]:
        line = line.rstrip(b"\r")
        if line == b"%%EndComments" or not line.startswith(b"%%"):
            return None
        if line.startswith(b"%%Creator:"):
            return line[len(b"%%Creator:"):].strip().decode("latin-1")
    return None


def _matplotlib(who: str) -> None:
    """Import matplotlib, or raise an svdkit error saying why it cannot be (``who``, the
    option or method, begins it): not installed; installed but failing to import (a
    missing or broken dependency of it, named); an ``MPLBACKEND`` it does not know (named
    only when matplotlib refused that value: svdkit needs no backend); or whatever else
    stops it, named."""
    from svdkit.errors import MissingDependencyError

    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        if err.name == "matplotlib":  # (the package itself is missing)
            raise MissingDependencyError(
                f"{who} needs matplotlib (pip install 'svdkit[plot]')"
            ) from err
        raise MissingDependencyError(
            f"{who} needs matplotlib, which is installed but fails to import: "
            f"{type(err).__name__}: {err} (repair it: pip install --force-reinstall "
            "matplotlib)"
        ) from err
    except Exception as err:  # (whatever matplotlib raises when it starts)
        raise SvdkitError(f"{who}: matplotlib cannot start: {_start_failure(err)}") from err


def _start_failure(err: Exception) -> str:
    """Why matplotlib failed to start: its refusal of the ``MPLBACKEND`` value (a
    ``ValueError`` naming the key ``backend``), said as such, or ``err`` itself."""
    backend = os.environ.get("MPLBACKEND")
    if backend is not None and isinstance(err, ValueError) and "backend" in str(err):
        return (f"the environment variable MPLBACKEND is {backend!r}, not a backend it knows "
                "(svdkit draws without one: unset MPLBACKEND, or set it to 'agg')")
    return f"{type(err).__name__}: {err}"


def check_figure_output(path: Path, who: str | None = None) -> None:
    """Refuse a figure path ``analyse`` may not write: the rule of
    :meth:`Analysis.figure` and ``svdkit lora analyse --figure`` alike.

    The format (the extension) must be one that carries :data:`FIGURE_MARK`
    (:data:`MARKED_FIGURE_FORMATS`), so that a later run knows the file for svdkit's,
    and an existing file is replaced only when svdkit wrote it
    (:func:`written_by_analyse`); a symbolic link is judged by the file it names. A
    device, a FIFO or a descriptor (``/dev/stdout``) is written into, never replaced:
    it has no owner to check.

    Parameters
    ----------
    path : pathlib.Path
        The figure's path.
    who : str, optional
        What begins the message (``"--figure"``); none by default.

    Raises
    ------
    FileFormatError
        Another format, or an existing file (or directory) svdkit did not write.
    """
    from svdkit._files import written_through

    lead = f"{who} " if who else ""
    if path.suffix[1:].lower() not in MARKED_FIGURE_FORMATS:
        raise FileFormatError(
            f"{lead}'{path}': unsupported figure format {path.suffix or '(no extension)'!r} "
            f"(use one of {', '.join('.' + f for f in MARKED_FIGURE_FORMATS)}: formats "
            "that record that svdkit wrote the file, so that a re-run may replace it)"
        )
    if written_through(path):  # /dev/stdout, a FIFO: written into, not replaced
        return
    if (path.exists() or path.is_symlink()) and not written_by_analyse(path):
        raise FileFormatError(
            f"{lead}'{path}' exists and is not a file svdkit lora analyse wrote: refusing "
            "to replace it; choose another path, or remove it first"
        )


def _figure_class() -> type:
    """The class of :meth:`Analysis.draw`'s figures, made once (matplotlib is imported
    only when a figure is drawn): a :class:`~matplotlib.figure.Figure` whose ``show()``
    says how to show it, where matplotlib's raises an ``AttributeError`` for a figure
    pyplot does not manage. Found by pickle as ``_AnalysisFigure`` in this module
    (through the module's ``__getattr__``)."""
    cls = globals().get("_AnalysisFigure")
    if cls is not None:
        return cls
    from matplotlib.figure import Figure

    class _AnalysisFigure(Figure):
        def show(self, warn: bool = True) -> None:
            if self.canvas.manager is not None:  # (handed to pyplot: plt.figure(fig))
                return super().show(warn)
            raise SvdkitError(SHOW_HINT)

    _AnalysisFigure.__module__ = __name__
    _AnalysisFigure.__qualname__ = "_AnalysisFigure"
    globals()["_AnalysisFigure"] = _AnalysisFigure
    return _AnalysisFigure


def __getattr__(name: str) -> Any:
    # (the figures' class, made on first use: pickle finds it by its name here)
    if name == "_AnalysisFigure":
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: What ``show()`` of a figure of :meth:`Analysis.draw` says.
SHOW_HINT = (
    "Analysis.draw's figure is on its own Agg canvas, not managed by pyplot (svdkit "
    "leaves pyplot and the backend alone), so it has no window to show: in Jupyter, "
    "display it (a cell's last value, or IPython.display.display(fig)); save it with "
    "fig.savefig(path) or Analysis.figure(path); or hand it to pyplot yourself, "
    "plt.figure(fig) then plt.show() (matplotlib 3.11 or later adopts a figure so)"
)


def _lone(y: np.ndarray) -> list[int]:
    """The indices of the finite points of ``y`` with no finite neighbour: a line does
    not draw them (a rank-1 spectrum ``[σ₁, 0, …]`` on a log axis, a spectrum of one
    value), so :meth:`Analysis.draw` gives them a marker."""
    finite = np.isfinite(y)
    left = np.r_[False, finite[:-1]]
    right = np.r_[finite[1:], False]
    return np.flatnonzero(finite & ~left & ~right).tolist()


def _marked(y: np.ndarray) -> dict[str, Any]:
    """The marker keywords of a curve whose lone points (:func:`_lone`) need one."""
    lone = _lone(y)
    return {"marker": "o", "ms": 3, "markevery": lone} if lone else {}


def _keep_on_canvas(fig: Any, ax: Any, pad: float = 4.0) -> None:
    """Move the left edge of ``ax`` right where its labels (the y label, the tick
    labels, long ones such as ``10⁻³⁰⁰``) would begin left of the canvas (``pad``
    pixels kept)."""
    box = ax.yaxis.get_tightbbox(fig.canvas.get_renderer())  # (not the curves: cheap)
    if box is None or box.x0 >= pad:
        return
    shift = (pad - box.x0) / fig.bbox.width
    pos = ax.get_position()
    ax.set_position((pos.x0 + shift, pos.y0, pos.width - shift, pos.height))


#: The energy panel of :meth:`Analysis.draw` has a log rank axis when a spectrum is
#: longer than this.
LOG_RANKS_ABOVE = 64

#: Up to this many modules, :meth:`Analysis.draw` draws each with its own style and
#: names it in the legend; beyond, one style per module type (``q_proj``).
LEGEND_MODULES = 40


@dataclass(frozen=True)
class ModuleSpectrum:
    """Singular values of one module's delta and the exact ``‖ΔW‖_F²``.

    ``fro2`` is ``‖ΔW‖_F²``, or, where that is beyond float64's range (entries near
    1e-300 or 1e200; ``exponent`` not 0), that of ``ΔW · 2^−exponent`` (exact): the
    energies, ranks, ratios and the effective rank are computed on the values scaled
    alike, so they do not depend on the delta's magnitude; ``s`` holds the values
    themselves, and ``scaled`` (optional) those of ``ΔW · 2^−exponent`` as computed,
    whose digits subnormal values of ``s`` (near 1e-318) no longer hold.
    """

    name: str
    shape: tuple[int, ...]
    s: np.ndarray
    fro2: float
    complete: bool
    exponent: int = 0
    scaled: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def _unit(self) -> np.ndarray:
        """The values scaled as ``fro2`` is (by ``2^−exponent``), in float64."""
        if self.scaled is not None:
            return np.asarray(self.scaled, dtype=np.float64)
        return np.ldexp(self.s.astype(np.float64), -self.exponent)

    @property
    def fro(self) -> float:
        """``‖ΔW‖_F``."""
        return math.ldexp(math.sqrt(self.fro2), self.exponent)

    def energy_curve(self) -> np.ndarray:
        """``energy(k)`` for ``k = 1 … len(s)``."""
        if self.fro2 <= 0:
            return np.ones(self.s.size)
        return np.cumsum(self._unit**2) / self.fro2

    @property
    def stable_rank(self) -> float:
        top = float(self._unit[0]) if self.s.size else 0.0
        return self.fro2 / top**2 if top > 0 else 0.0

    @property
    def effective_rank(self) -> float | None:
        if not self.complete:
            return None
        # p is scale-free: from the values scaled by a power of two (exact) so that the
        # largest is in [0.5, 1): their sum neither overflows (values near 1e306) nor
        # keeps the few digits of subnormal values (near 1e-318)
        u = self._unit
        top = float(np.max(u)) if u.size else 0.0
        if not top > 0:
            return 0.0
        with np.errstate(under="ignore"):  # (a value 2^-1074 below the largest is 0)
            u = np.ldexp(u, -math.frexp(top)[1])
        u = u[u > 0]
        p = u / u.sum()
        return math.exp(-float(np.sum(p * np.log(p))))

    @property
    def size(self) -> int:
        """``min(m, n)`` of the delta as a matrix (a convolution's ``[out, in·k…]``): the
        length of its whole spectrum."""
        if not self.shape:
            return int(self.s.size)
        return int(min(self.shape[0], math.prod(self.shape[1:])))

    def recommended_rank(self, energy: float) -> int | None:
        """The smallest ``k`` with ``energy(k) ≥ energy``; ``None`` only where a leading
        part of the spectrum was computed (``max_rank``) and does not reach it.

        A complete spectrum always gives a rank (at most ``min(m, n)``): its
        ``‖ΔW‖_F² − Σσᵢ²`` is the rounding of the SVD alone (about ``1e-7`` of it in
        float32), so where the exact ``‖ΔW‖_F²`` is out of reach by that rounding
        (``energy=1``, ``0.9999999``) the rule is decided on ``Σσᵢ²``.
        """
        unit = self._unit
        k = energy_rank(unit, self.fro2, energy, complete=self.complete, size=self.size)
        if k is None and self.complete:
            k = energy_rank(unit, float(np.sum(unit**2)), energy, size=self.size)
        return k


@dataclass
class Analysis:
    """Spectra of every module and the target energy for recommendations."""

    modules: list[ModuleSpectrum] = field(default_factory=list)
    energy: float = 0.9
    #: Tensors whose shape differs between the checkpoints (a resized vocabulary),
    #: left out of a pair's analysis and named under the table.
    mismatched: list[str] = field(default_factory=list)
    #: Tensors of one checkpoint only (a task head the fine-tune added), left out.
    only_tuned: list[str] = field(default_factory=list)
    only_base: list[str] = field(default_factory=list)
    #: Changed tensors that are not matrices analysed here (norms, biases, untargeted
    #: matrices), named under the table.
    not_analysed: list[str] = field(default_factory=list)
    #: An adapter's tensors kept whole (``modules_to_save``, biases, base weights): what
    #: it changes besides its LoRA modules, named under the table.
    kept_whole: list[str] = field(default_factory=list)
    #: An adapter's trainable tokens: ``"<embedding> (k rows)"``, the rows it replaces.
    token_rows: list[str] = field(default_factory=list)
    #: Modules whose ``lora_B`` has a bias (PEFT's ``lora_bias=True``): ``scale · bias``
    #: added to the output, not part of ``ΔW``.
    lora_biases: list[str] = field(default_factory=list)

    def left_out(self) -> list[str]:
        """One line per kind of tensor a pair's analysis left out, for the table's caption."""
        lines = []
        for names, what in (
            (self.mismatched, "of different shapes left out"),
            (self.only_tuned, "only in the tuned model left out"),
            (self.only_base, "only in the base left out"),
            (self.not_analysed, "changed but not analysed (not a targeted matrix)"),
            (self.kept_whole, "kept whole by the adapter (modules_to_save, biases), "
                              "not analysed"),
            (self.token_rows, "of trainable tokens (rows the adapter replaces), not analysed"),
            (self.lora_biases, "with a lora_B bias (lora_bias=True: scale·bias added to the "
                               "output, not part of ΔW), not analysed"),
        ):
            if names:
                n = len(names)
                more = f", … ({n - 6} more)" if n > 6 else ""
                noun = "module" if names is self.lora_biases else (
                    "embedding" if names is self.token_rows else "tensor")
                lines.append(f"{counted(n, noun)} {what}: {', '.join(names[:6])}{more}")
        return lines

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for m in self.modules:
            rec = m.recommended_rank(self.energy)
            eff = m.effective_rank
            out.append(
                {
                    "module": m.name,
                    "shape": list(m.shape),
                    "sigma_1": float(m.s[0]) if m.s.size else 0.0,
                    "fro": m.fro,
                    "stable_rank": m.stable_rank,
                    "effective_rank": eff,
                    "recommended_rank": rec,
                    "computed": int(m.s.size),
                }
            )
        return out

    def table(self):
        """A :class:`rich.table.Table`."""
        from rich.markup import escape
        from rich.table import Table

        lines = self.left_out()
        caption = escape("\n".join(lines)) if lines else None
        t = Table(
            title=f"LoRA spectra — recommended rank for {100 * self.energy:g}% energy",
            caption=caption,
        )
        for col in ("module", "shape", "σ₁", "‖ΔW‖_F", "stable rank", "eff. rank", "rank"):
            t.add_column(col, justify="left" if col == "module" else "right")
        for row in self.rows():
            rec = row["recommended_rank"]
            eff = row["effective_rank"]
            t.add_row(
                escape(row["module"]),  # a name is text, not Rich markup
                "×".join(map(str, row["shape"])),
                f"{row['sigma_1']:.3g}",
                f"{row['fro']:.3g}",
                f"{row['stable_rank']:.1f}",
                "—" if eff is None else f"{eff:.1f}",
                f"> {row['computed']}" if rec is None else str(rec),
            )
        return t

    def draw(self, *, opaque: bool = False):
        """The figure :meth:`figure` saves: spectra (σᵢ/σ₁, log scale) and energy curves
        (on a log rank axis for spectra longer than :data:`LOG_RANKS_ABOVE`).

        A :class:`~matplotlib.figure.Figure` on its own Agg canvas, as
        :mod:`svdkit.plot`'s figures: pyplot and the caller's backend are left as they
        are (nothing to close). A notebook displays it (a cell's last value, or
        ``IPython.display.display(fig)``); ``fig.savefig(path)`` or :meth:`figure` saves
        it; ``plt.show()`` and ``plt.savefig`` do not know it (they act on pyplot's
        figures), and ``fig.show()`` raises an :class:`~svdkit.errors.SvdkitError` saying
        this. To show it in a window, hand it to pyplot: ``plt.figure(fig)``, then
        ``plt.show()`` (matplotlib 3.11 or later adopts a figure so).

        It follows the caller's matplotlib style (``rcParams``, ``matplotlib.style``,
        a ``matplotlibrc``): the background, the text, the colour cycle of the curves,
        and the zero marks' legend entry and the energy target line, drawn in the
        style's text colour, so that a dark style stays readable.

        ``opaque`` draws every curve and the legend's frame without transparency, for
        the formats that have none (PostScript: :data:`OPAQUE_FORMATS`), which would
        otherwise paint them opaque and say so on standard error.

        Every curve is told apart: up to :data:`LEGEND_MODULES` modules each has its
        own colour and line style (ten colours, then dashed, dotted, dash-dotted)
        and its full name in the legend under the panels; beyond that the modules
        are grouped by type (the last part of the name, ``q_proj``), one style per
        type in the legend, and the module with the highest recommended rank is
        named on the energy panel. Names are drawn as written (``_orig_mod.…``, a
        ``$``); axis labels with sub- and superscripts are matplotlib mathtext
        (``$…$``), drawn as formulas, not as the TeX source.

        The spectra panel leaves exact zeros out of its log axis and marks them (``v``)
        at its bottom, in the module's colour; positive values are drawn as they are,
        however small. A point with no drawn neighbour (the σ₁ of a rank-1 ``ΔW``,
        ``[σ₁, 0, …]``; the one value of an ``r = 1`` adapter or ``max_rank=1``, on both
        panels) gets a dot, as a line of one point is not drawn. The log axis spans at
        least two decades below σ₁ (labelled at powers of ten). A module whose ``ΔW``
        is zero has no curve and is named on the panel; when every one is, both panels
        say so.

        Raises
        ------
        MissingDependencyError
            matplotlib is not installed.
        SvdkitError
            matplotlib cannot start (an ``MPLBACKEND`` it does not know).
        """
        _matplotlib("Analysis.draw")
        import matplotlib as mpl
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.lines import Line2D

        alpha = None if opaque else 0.8  # (None: the colour's own, opaque)
        drawn = [m for m in self.modules if m.s.size and m.s[0] > 0]
        zero = [m.name for m in self.modules if not (m.s.size and m.s[0] > 0)]
        per_module = len(drawn) <= LEGEND_MODULES
        keys = [m.name if per_module else m.name.rpartition(".")[2] for m in drawn]
        order = list(dict.fromkeys(keys))
        legend_rows = math.ceil(len(order) / 2) if per_module else math.ceil(len(order) / 4)
        # the caller's style (not svdkit.plot's white): a dark one keeps its background,
        # against which its text colour is readable
        fig = _figure_class()(figsize=(11, 4.2 + 0.19 * legend_rows), dpi=100)
        FigureCanvasAgg(fig)
        fg = mpl.rcParams["text.color"]
        top = 4.2 / (4.2 + 0.19 * legend_rows)
        ax1 = fig.add_axes((0.07, 1 - top + 0.12 * top, 0.4, 0.76 * top))
        ax2 = fig.add_axes((0.57, 1 - top + 0.12 * top, 0.4, 0.76 * top))
        colours = mpl.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
        dashes = ("-", "--", ":", "-.")
        styles = {
            k: (colours[i % len(colours)], dashes[(i // len(colours)) % len(dashes)])
            for i, k in enumerate(order)
        }
        # the legend's entries, collected here: matplotlib leaves out a label that begins
        # with "_" (torch.compile's "_orig_mod.…"), so the names are set on its texts
        handles: dict[str, Any] = {}
        ratios = []
        for m, key in zip(drawn, keys, strict=True):
            colour, dash = styles[key]
            k = np.arange(1, m.s.size + 1)
            ratio = m.s.astype(np.float64) / float(m.s[0])
            ratios.append((k, ratio, colour))
            # exact zeros have no place on the log axis: left out (NaN), marked below
            shown = np.where(ratio > 0, ratio, np.nan)
            energy = m.energy_curve()
            (line,) = ax1.semilogy(k, shown, lw=0.9, alpha=alpha, color=colour, ls=dash,
                                   **_marked(shown))
            handles.setdefault(key, line)
            ax2.plot(k, energy, lw=0.9, alpha=alpha, color=colour, ls=dash, **_marked(energy))
        labels = [key if per_module else f"{key} ({counted(keys.count(key), 'module')})"
                  for key in order]
        positive = [float(np.min(r[r > 0])) for _, r, _ in ratios]
        # at least two decades, labelled at powers of ten (within one, matplotlib labels
        # the minor ticks, 6×10⁻¹…, which push the axis label off the canvas)
        bottom = max(min(10 ** math.floor(math.log10(min(positive, default=1.0)) - 0.3),
                         1e-2), 5e-324)
        ax1.set_ylim(bottom, 1.5)
        if any((r <= 0).any() for _, r, _ in ratios):
            for k, r, colour in ratios:
                if (r <= 0).any():
                    ax1.plot(k[r <= 0], np.full(int((r <= 0).sum()), bottom * 1.25), ls="none",
                             marker="v", ms=5, color=colour, gid="svdkit:zeros",
                             clip_on=False)
            handles["σᵢ = 0"] = Line2D([], [], ls="none", marker="v", ms=5, color=fg)
            labels.append("σᵢ = 0 (below the log scale)")
        ax1.set(
            xlabel="index $i$",
            ylabel=SPECTRUM_LABEL,
            title=r"singular values of $\Delta W$ per module",
        )
        ax2.axhline(self.energy, color=fg, ls="--", lw=1, label=f"{100 * self.energy:g}% energy",
                    gid="svdkit:target")
        ax2.set(xlabel="rank $k$", ylabel=ENERGY_LABEL, title="energy kept")
        ax2.set_ylim(0, 1.02)
        if max((m.s.size for m in self.modules), default=0) > LOG_RANKS_ABOVE:
            # a fine-tune's energy is in its first ranks: on a linear axis to 384 (or
            # 4096) the curves are one vertical line at k ≈ 0
            ax2.set_xscale("log")
        ax2.legend(loc="lower right", **({"framealpha": 1.0} if opaque else {}))
        if not drawn:
            what = "every ΔW is zero" if self.modules else "no module"
            for ax in (ax1, ax2):
                ax.text(0.5, 0.5, f"{what} (nothing to draw)", transform=ax.transAxes,
                        ha="center", va="center", fontsize=10, color=fg, alpha=0.7)
        elif zero:
            more = f", … ({len(zero) - 3} more)" if len(zero) > 3 else ""
            ax1.text(0.98, 0.98, f"zero ΔW, no curve: {', '.join(zero[:3])}{more}",
                     transform=ax1.transAxes, ha="right", va="top", fontsize=7, color=fg,
                     alpha=0.7, parse_math=False)
        if not per_module and drawn:
            # the slowest module by name: the highest recommended rank
            ranks = [m.recommended_rank(self.energy) or m.s.size for m in drawn]
            slow = drawn[int(np.argmax(ranks))]
            k = min(max(ranks), slow.s.size)
            ax2.annotate(slow.name, (k, float(slow.energy_curve()[k - 1])), fontsize=7,
                         xytext=(4, -12), textcoords="offset points", parse_math=False)
        if handles:
            legend = fig.legend(list(handles.values()), [f"m{i}" for i in range(len(labels))],
                                loc="lower center", ncol=2 if per_module else 4, fontsize=7,
                                frameon=False, bbox_to_anchor=(0.5, 0.0))
            for text, label in zip(legend.get_texts(), labels, strict=True):
                text.set_text(label)
                text.set_parse_math(False)  # a name as written: "$" is no formula
        _keep_on_canvas(fig, ax1)
        return fig

    def figure(self, path: str | os.PathLike) -> Path:
        """Spectra (σᵢ/σ₁, log scale) and energy curves of every module, saved to ``path``.

        The format is the extension's: ``.png``, ``.pdf``, ``.svg``, ``.ps`` or ``.eps``
        (:data:`MARKED_FIGURE_FORMATS`), whose files carry :data:`FIGURE_MARK` as their
        ``Creator`` (:func:`written_by_analyse`); formats that cannot carry it
        (``.jpg``, ``.tif``, ``.webp``, ``.svgz``…) are refused, as a later call could
        not know the file for svdkit's. The rules are ``svdkit lora analyse
        --figure``'s (:func:`check_figure_output`): an existing file is replaced only
        when svdkit wrote it — a user's file of that name is refused and left as it
        was. PS and EPS, which have no transparency, get the figure drawn opaque
        (:meth:`draw`). A missing folder is created (as ``--figure`` creates it); the
        file is written aside and renamed into place, so a failed write leaves an
        earlier one as it was.

        Raises
        ------
        SvdkitError
            ``path`` is not a path; matplotlib cannot start (an ``MPLBACKEND`` it does
            not know).
        MissingDependencyError
            matplotlib is not installed.
        FileFormatError
            ``path`` has no extension, or one that is not a figure format svdkit marks
            (nothing is drawn); it is a directory; it is an existing file svdkit did
            not write (``refusing to replace it``); its folder cannot be created or the
            file cannot be written (``cannot write 'PATH': …``).
        """
        path = check_path(path, "path")
        _matplotlib("Analysis.figure")
        from matplotlib.backend_bases import FigureCanvasBase

        from svdkit._files import write_error, write_file

        fmt = path.suffix[1:].lower()
        formats = FigureCanvasBase.get_supported_filetypes()
        if fmt not in formats:
            raise FileFormatError(
                f"'{path}': {'no extension' if not fmt else f'.{fmt} is not a figure format'}"
                f"; name the figure with one of {', '.join('.' + f for f in sorted(formats))}"
            )
        if path.is_dir():
            raise FileFormatError(
                f"'{path}' is a directory: the figure is a single file and cannot replace "
                "it; choose another path"
            )
        check_figure_output(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise FileFormatError(
                f"cannot write '{path}': cannot create the folder '{path.parent}': "
                f"{err.strerror or err}"
            ) from err
        fig = self.draw(opaque=fmt in OPAQUE_FORMATS)
        meta = {"Creator": FIGURE_MARK} if fmt in MARKED_FIGURE_FORMATS else None
        try:
            write_file(path, lambda f: fig.savefig(f, format=fmt, dpi=110, metadata=meta))
        except OSError as err:
            raise write_error(path, err) from err
        return path


def analyse_pair(
    base: str | os.PathLike | Checkpoint,
    tuned: str | os.PathLike | Checkpoint,
    *,
    energy: float = 0.9,
    max_rank: int | None = None,
    targets: Sequence[str] | None = None,
    tol: float = 1e-3,
    progress: bool = False,
    on_mismatch: str = "skip",
) -> Analysis:
    """Spectra of every changed matrix of a (base, tuned) pair.

    ``energy`` (``0 < energy ≤ 1``, as :class:`~svdkit.lora.rank.RankRule`'s) is the
    fraction of ``‖ΔW‖_F²`` the recommended rank keeps; ``targets`` (a module name, or
    a list of names, suffixes or regexes) limits the modules. ``max_rank`` (an
    integer ``≥ 1``) limits each spectrum to its leading part (faster on large
    modules); the energy curve still counts against the exact ``‖ΔW‖_F²``.
    Tensors whose shapes differ (a resized vocabulary) have no delta: by default
    they are left out and named (:attr:`Analysis.mismatched`, under the table);
    ``on_mismatch="error"`` raises instead.

    Examples
    --------
    A tuned 8×6 layer whose delta has singular values 3, 1 and 0.1:

    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from svdkit.lora import analyse_pair, save_safetensors
    >>> rng = np.random.default_rng(0)
    >>> W = rng.standard_normal((8, 6)).astype(np.float32)
    >>> U, _ = np.linalg.qr(rng.standard_normal((8, 3)))
    >>> V, _ = np.linalg.qr(rng.standard_normal((6, 3)))
    >>> D = ((U * [3.0, 1.0, 0.1]) @ V.T).astype(np.float32)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     d = pathlib.Path(tmp)
    ...     save_safetensors(d / "base.safetensors", {"fc.weight": W})
    ...     save_safetensors(d / "tuned.safetensors", {"fc.weight": W + D})
    ...     an = analyse_pair(d / "base.safetensors", d / "tuned.safetensors", energy=0.95)
    >>> ms = an.modules[0]
    >>> ms.name, ms.shape, ms.s[:4].round(3).tolist()
    ('fc', (8, 6), [3.0, 1.0, 0.1, 0.0])
    >>> row = an.rows()[0]  # 95 % of the energy: σ₁² + σ₂² = 10 of 10.01
    >>> row["recommended_rank"], round(row["stable_rank"], 3)
    (2, 1.112)
    """
    from svdkit.lora.factor import _widened, check_tol
    from svdkit.lora.rank import RankRule
    from svdkit.lowrank import truncated_svd

    tol = check_tol(tol)
    energy = check_fraction(energy, "energy")
    if max_rank is not None:
        max_rank = check_count(max_rank, "max_rank")
    targets = check_targets(targets)
    progress = check_bool(progress, "progress")
    b = as_checkpoint(base, "base").require_model("base")
    t = as_checkpoint(tuned, "tuned").require_model("tuned checkpoint")
    pairing = pair_checkpoints(b, t, targets=targets, on_mismatch=on_mismatch)
    names = pairing.linear + pairing.embeddings
    if not names:
        raise EmptyInputError(_nothing_to_analyse(pairing, targets))
    out = Analysis(
        energy=energy,
        mismatched=list(pairing.mismatched),
        only_tuned=list(pairing.only_tuned),
        only_base=list(pairing.only_base),
        not_analysed=list(pairing.extras),
    )
    with module_progress(progress, len(names), "analyse") as advance:
        for module in names:
            key = f"{module}.weight"
            # float32, float64 for a float64 weight; a NaN or an inf is refused, named
            delta = read_delta(b, t, key, work_dtype(b, t, key))
            p = min(delta.shape)
            k = p if max_rank is None else min(p, max_rank)
            # energy=1 on a float32 delta: its SVD in float64, as extract's (the numerical
            # rank, which single-precision values, rounded at 1e-7 · σ₁, do not show)
            delta = _widened(delta, RankRule(energy=energy), k)
            # (scaled by a power of two where its squares would leave float64's range)
            e = pow2_exponent(delta)
            delta = pow2_scaled(delta, e)
            fro2 = frobenius2(delta)
            r = truncated_svd(delta, k, tol=tol)
            s = np.ldexp(r.s.astype(np.float64), e).astype(r.s.dtype) if e else r.s
            out.modules.append(ModuleSpectrum(
                module, tuple(delta.shape), s, fro2, complete=k == p, exponent=e, scaled=r.s
            ))
            advance(module)
    return out


def _nothing_to_analyse(pairing: Pairing, targets: Sequence[str] | None) -> str:
    """Why a pair has no matrix to analyse, for :func:`analyse_pair`'s error."""
    if not pairing.extras:
        skipped = f", {len(pairing.mismatched)} of other shapes" if pairing.mismatched else ""
        return (
            f"no tensor differs between the base and the tuned checkpoint "
            f"({len(pairing.unchanged)} equal{skipped}): there is no delta to analyse "
            "(the same checkpoint twice?)"
        )
    n = len(pairing.extras)
    more = f", … ({n - 6} more)" if n > 6 else ""
    why = (f"no changed module matches the targets {list(targets)}" if targets is not None
           else "no changed 2-D weight to analyse")
    return f"{why}; the changed tensors are {', '.join(pairing.extras[:6])}{more}"


def analyse_adapter(adapter: str | os.PathLike | Adapter, *, energy: float = 0.9) -> Analysis:
    """Exact spectra of ``scale · B A`` for every module of an adapter.

    ``adapter`` is an :class:`~svdkit.lora.adapter.Adapter` or a PEFT adapter
    directory; ``energy`` (``0 < energy ≤ 1``) the fraction of ``‖ΔW‖_F²`` the
    recommended rank keeps. The spectra are scale-free as :func:`analyse_pair`'s (the
    factors are scaled by powers of two first); a module whose ``scale · B A`` has values
    or a Frobenius norm beyond float64's range (factors near 1e200, or four values of
    1e308 each) is refused, by name (:class:`~svdkit.errors.SvdkitError`), as
    :func:`analyse_pair` refuses such a delta.

    Examples
    --------
    >>> import numpy as np
    >>> from svdkit.lora import Adapter, LoraModule, analyse_adapter
    >>> rng = np.random.default_rng(0)
    >>> U, _ = np.linalg.qr(rng.standard_normal((8, 3)))
    >>> V, _ = np.linalg.qr(rng.standard_normal((6, 3)))
    >>> B = U * [3.0, 1.0, 0.1]  # scale alpha / r = 1: the delta is B A
    >>> ad = Adapter({"fc": LoraModule("fc", "linear", A=V.T, B=B, alpha=3.0)})
    >>> ms = analyse_adapter(ad, energy=0.95).modules[0]
    >>> ms.name, ms.shape, ms.s.round(6).tolist()
    ('fc', (8, 6), [3.0, 1.0, 0.1])
    >>> ms.recommended_rank(0.95), ms.recommended_rank(0.9999), round(ms.stable_rank, 3)
    (2, 3, 1.112)
    """
    from svdkit.lora.resize import scaled_spectrum

    energy = check_fraction(energy, "energy")
    ad = as_adapter(adapter, lora_bias=True)
    tokens = {n: token_module(n) for n in ad.saved}
    out = Analysis(
        energy=energy,
        # what the adapter changes besides its LoRA modules, named under the table: not a
        # LoRA module's <m>.weight, PEFT's copy of the base layer it saves with the LoRA
        # of an embedding (save_embedding_layers), which changes nothing
        kept_whole=sorted(n for n, m in tokens.items() if m is None
                          and not (n.endswith(".weight") and n[:-7] in ad.modules)),
        token_rows=[f"{m} ({counted(int(np.shape(ad.saved[n])[0]), 'row')})"
                    for n, m in sorted(tokens.items()) if m is not None],
        lora_biases=sorted(n for n, m in ad.modules.items() if m.bias is not None),
    )
    for name in sorted(ad.modules):
        m = ad.modules[name]
        # the values of ΔW·2^−e: the factors and the scale brought to order 1 by powers of
        # two (exact), so that neither the product (factors near 1e200) overflows nor
        # its values (near 1e-160) lose their digits as subnormals; a σ₁ beyond float64's
        # range is refused, by name
        _, unit, _, e = scaled_spectrum(m, name, ad.use_rslora)
        with np.errstate(under="ignore"):
            s = np.ldexp(unit, e)
        # ‖ΔW‖_F, the table's and the JSON's, must be held too (σᵢ of 1e308 each are, their
        # norm is not): refused by name, as analyse_pair refuses such a delta
        fro2_unit = float(np.sum(unit**2))
        try:
            math.ldexp(math.sqrt(fro2_unit), e)
        except OverflowError:
            frac, more = math.frexp(math.sqrt(fro2_unit))
            raise SvdkitError(
                f"module {name!r}: scale · B A has ‖ΔW‖_F = {2 * frac:.6g}·2^{e + more - 1}, "
                "beyond float64's range: its factors are not those of a weight's update "
                "(check the adapter: a diverged fine-tune, a bad conversion)"
            ) from None
        # the spectrum's own exponent, as analyse_pair's: 0 (fro2 = ‖ΔW‖_F² itself)
        # wherever its squares fit float64, so only extreme spectra carry one
        own = pow2_exponent(s)
        with np.errstate(under="ignore"):
            unit = np.ldexp(unit, e - own)
        fro2 = float(np.sum(unit**2))
        out.modules.append(ModuleSpectrum(
            name, m.weight_shape, s, fro2, complete=True, exponent=own, scaled=unit
        ))
    return out
