"""``svdkit lora extract|resize|merge|pissa|analyse``: LoRA adapters by SVD on safetensors.

``register(app)`` adds the ``lora`` command group to the typer app of
:mod:`svdkit.cli.main`. Every command shows a progress bar per module on
standard error, prints a table, and writes its outputs atomically.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from svdkit._naming import arg, got, speaks_flags
from svdkit._words import counted
from svdkit.inputs.files import cli_file_path, cli_path

__all__ = ["register"]

FanInFanOutOpt = Annotated[
    bool | None,
    typer.Option(
        "--fan-in-fan-out/--no-fan-in-fan-out",
        help="Every factored 2-D layer is (is not) transformers' Conv1D (weights stored "
        "in × out); default: GPT-2's Conv1D names when config.json names such a model.",
        show_default=False,
    ),
]
Conv1dOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--conv1d",
        metavar="<name>",
        help="A module that is transformers' Conv1D (weight in × out; name, suffix, regex; "
        "repeat); the others are nn.Linear. Instead of --fan-in-fan-out.",
        show_default=False,
    ),
]
EmbeddingOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--embedding",
        metavar="<name>",
        help="A module that is an nn.Embedding whatever its name says (repeat).",
        show_default=False,
    ),
]
LinearOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--not-embedding",
        metavar="<name>",
        help="A module that is not an nn.Embedding though its name says so (repeat).",
        show_default=False,
    ),
]


def _layout(fan_in_fan_out: bool | None, conv1d: list[str] | None) -> bool | list[str] | None:
    """``fan_in_fan_out`` for the library from ``--[no-]fan-in-fan-out`` and ``--conv1d``."""
    if conv1d and fan_in_fan_out is not None:
        from svdkit.errors import SvdkitError

        raise SvdkitError("give --conv1d or --[no-]fan-in-fan-out, not both")
    return list(conv1d) if conv1d else fan_in_fan_out


RankOpt = Annotated[int | None, typer.Option("--rank", "-r", help="Fixed rank per module.")]
EnergyOpt = Annotated[
    float | None,
    typer.Option(help="Keep this fraction of Σσᵢ² per module (of the whole spectrum)."),
]
ErrorOpt = Annotated[
    float | None, typer.Option(help="Relative Frobenius error bound per module.")
]
MaxRankOpt = Annotated[
    int | None, typer.Option(help="Cap on the rank found by --energy / --error.")
]
AlphaOpt = Annotated[
    float | None,
    typer.Option(help="lora_alpha, a positive number (default: scale 1, so r; √r with rsLoRA)."),
]
SplitOpt = Annotated[
    str,
    typer.Option(
        help="Σ in both factors as √Σ ('sqrt'), all in lora_B ('B') or lora_A ('A'); any case."
    ),
]
DtypeOpt = Annotated[
    str | None,
    typer.Option(
        help="Store the factors as F32, F16, BF16 or F64 (any case; or float32, float16, "
        "bfloat16, float64, fp16, bf16, half…). --error then bounds the "
        "factors as stored: the rank is raised to absorb the rounding, and a note says "
        "where no rank can (BF16's rounding alone costs about 2e-3)."
    ),
]
TolOpt = Annotated[
    float, typer.Option(help="Residual certificate of the truncated SVD, relative to σ₁.")
]
BackendOpt = Annotated[
    str,
    typer.Option(help="'numpy', 'torch' (large modules on a CUDA GPU) or 'auto' (torch when "
                 "it sees a GPU)."),
]


def _one_line_paragraphs(doc: str) -> str:
    """A command's docstring as its ``--help`` text: each paragraph on one line.

    typer keeps the line breaks of every paragraph after the first, and rich wraps each
    of those lines again at the terminal's width: a sentence broken in the source at 88
    columns came out as ``… is`` / ``refused,`` / ``naming …`` at 80. Joined, rich
    wraps each paragraph once, at any width.
    """
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _path_argument(help_text: str):
    """A path argument: ``""`` is an error naming it (:func:`svdkit.inputs.files.cli_path`)."""
    return typer.Argument(parser=cli_path, help=help_text)


def _path_option(*names: str, help_text: str, file: bool = False):
    """A path option: ``""`` is an error naming it (:func:`svdkit.inputs.files.cli_path`;
    one that names a file only, ``file=True``: :func:`~svdkit.inputs.files.cli_file_path`,
    whose advice does not suggest the folder ``'.'``)."""
    return typer.Option(*names, parser=cli_file_path if file else cli_path, help=help_text)


#: Columns a table leaves out (named in its caption) to keep module names readable
#: on a narrow terminal; their values stay in the JSON outputs.
_DROPPABLE = ("method", "tol", "excess ≤", "stable rank", "eff. rank", "‖ΔW‖_F")
#: Below this many characters for the module column, a table becomes blocks.
_MIN_NAME = 24


def _cell_texts(column) -> list[str]:
    return [str(c) for c in column.cells]


def print_table(console, table, *, full: str | None = None) -> None:
    """Print ``table`` with its module names (first column) readable and every other
    value whole, at any width.

    On an 80-column terminal (a pipe, a CI log) Rich gave the module column 7
    characters (``model.l`` / ``anguage`` / …), and at 40 none at all, while it cut
    the numbers. Here every other column keeps its width; the names fold onto
    lines of their own (rows ruled apart) when they do not fit; low-value columns
    (:data:`_DROPPABLE`) are left out, and named in the caption, when the names would
    get fewer than :data:`_MIN_NAME` characters; and below that the rows are printed
    as blocks, one module name per line, its values under it. ``full`` says where the
    columns left out are written in full.
    """
    from rich.cells import cell_len
    from rich.table import Table

    columns = list(table.columns)
    widths = [max(cell_len(t) for t in [str(c.header), *_cell_texts(c)]) for c in columns]
    keep = list(range(len(columns)))

    def room(kept: list[int]) -> int:  # what is left for the names: borders, padding
        return console.width - (3 * len(kept) + 1) - sum(widths[i] for i in kept[1:])

    dropped = []
    for header in _DROPPABLE:
        if room(keep) >= min(widths[0], _MIN_NAME):
            break
        for i in keep[1:]:
            if str(columns[i].header) == header:
                keep.remove(i)
                dropped.append(header)
    if room(keep) < min(widths[0], _MIN_NAME):
        _print_blocks(console, table)
        return
    caption = table.caption
    if dropped:
        where = f" ({full})" if full else ""
        note = f"left out at this width{where}: {', '.join(dropped)}"
        caption = f"{caption}\n{note}" if caption else note
    out = Table(title=table.title, caption=caption, show_lines=room(keep) < widths[0])
    for i in keep:
        c = columns[i]
        out.add_column(c.header, justify=c.justify)
        col = out.columns[-1]
        if i == 0:
            col.overflow = "fold"
        else:
            col.no_wrap = True
            col.min_width = widths[i]
    cells = [_cell_texts(columns[i]) for i in keep]
    for row in zip(*cells, strict=True):
        out.add_row(*row)
    console.print(out)


def _print_blocks(console, table) -> None:
    """``table`` as blocks: each module name on its own line(s), its values below."""
    from rich.cells import cell_len

    columns = list(table.columns)
    if table.title:
        console.print(table.title, style="bold")
    cells = [_cell_texts(c) for c in columns]
    for row in zip(*cells, strict=True):
        console.print(row[0], overflow="fold")
        pairs = [f"{columns[i].header}: {row[i].strip()}" for i in range(1, len(columns))]
        # lines break between "name: value" pairs only: a number is never split
        line = ""
        for pair in pairs:
            if line and cell_len(line) + 3 + cell_len(pair) > console.width:
                console.print(line, overflow="fold", no_wrap=True)
                line = "  " + pair
            else:
                line = f"{line} · {pair}" if line else "  " + pair
        if line:
            console.print(line, overflow="fold", no_wrap=True)
    if table.caption:
        console.print(table.caption, overflow="fold")


def _rule(rank, energy, error, max_rank):
    """The :class:`~svdkit.lora.rank.RankRule` of the options (its checks name them)."""
    from svdkit.lora.rank import RankRule

    return RankRule(rank=rank, energy=energy, error=error, max_rank=max_rank)


#: Storage types for LoRA factors: the float codes an adapter is read back from exactly.
_FACTOR_DTYPES = ("F32", "F16", "BF16", "F64")


def _factor_dtype(text: str | None):
    """The NumPy dtype of ``--dtype`` (any case), or None; only those of ``_FACTOR_DTYPES``:
    a code (``BF16``, ``f16``: float16 here, as the codes are read in any case) or a
    name the Python API takes (``bfloat16``, ``float16``, ``fp16``, ``half``, ``float32``:
    :func:`~svdkit.lora._args.check_float_dtype`'s names, never NumPy's character codes,
    whose ``f8`` is float64)."""
    from svdkit.errors import SvdkitError
    from svdkit.lora._args import DTYPE_ALIASES
    from svdkit.lora.safetensors_io import numpy_dtype

    if text is None:
        return None
    code = text.upper() if text.upper() in _FACTOR_DTYPES else DTYPE_ALIASES.get(text.lower())
    if code not in _FACTOR_DTYPES:
        names = sorted(n for n, c in DTYPE_ALIASES.items() if n.islower())
        raise SvdkitError(
            f"--dtype {text!r}: LoRA factors are stored as one of {', '.join(_FACTOR_DTYPES)}"
            f" (any case; or the names {', '.join(names)})"
        )
    return numpy_dtype(code)


_SPLITS = ("sqrt", "B", "A")


def _check_split(split: str) -> str:
    """``--split`` in any case (as ``--dtype``), as the library spells it."""
    from svdkit.errors import SvdkitError

    chosen = {s.lower(): s for s in _SPLITS}.get(split.lower())
    if chosen is None:
        raise SvdkitError(
            f"{arg('split')} must be one of {', '.join(_SPLITS)}; got {got(split)}",
            param="split",
        )
    return chosen


def _check_not_input(output: Path, option: str, **inputs: Path) -> None:
    """Refuse an output that is one of the inputs, holds one, or lies inside one.

    ``merge base/ adapter/ -o base/`` (or ``-o base/model.safetensors``) would
    overwrite the base model with the merged one; ``resize adapter/ -o adapter/``
    would replace the adapter being resized. (:func:`svdkit.lora.merge.check_not_input`,
    which the library's ``merge`` and ``pissa`` apply too.) Standard output (``-``),
    a device or a descriptor is written into, and overlaps no input.
    """
    from svdkit._files import written_through
    from svdkit.lora.merge import check_not_input

    if _is_stdout(output) or written_through(output):
        return
    check_not_input(output, option, **inputs)


def _is_adapter_dir(directory: Path) -> bool:
    """An earlier adapter output: a directory with an ``adapter_config.json``."""
    return (directory / "adapter_config.json").is_file()


def _check_adapter_output(output: Path) -> None:
    """Refuse, before any work, an adapter output svdkit may not write or replace
    (:func:`svdkit.lora.adapter.check_adapter_output`)."""
    from svdkit.lora.adapter import check_adapter_output

    check_adapter_output(output)


def _is_stdout(path: Path) -> bool:
    """Standard output: ``-`` (``analyse --json -``), or a path to this process's
    standard output (``/dev/stdout``, ``/dev/fd/1``, a descriptor open on the same
    file), where the JSON is written alone, the table going to standard error."""
    import os

    from svdkit._files import descriptor_of

    if str(path) == "-":
        return True
    fd = descriptor_of(path)
    if fd is None:
        return False
    try:
        return fd == 1 or os.path.sameopenfile(fd, 1)
    except OSError:  # (a descriptor not open)
        return False


def _check_report_file(path: Path, option: str) -> None:
    """An output file of ``analyse``: not a directory, nor under a file; a missing
    folder is created when it is written, as the other commands' outputs are."""
    from svdkit._files import check_file_output

    check_file_output(path, f"{option} output")


def _make_parent(path: Path, option: str) -> None:
    """Create the folder of an output file (and its parents), as extract's ``-o`` does."""
    from svdkit.errors import SvdkitError

    if _is_stdout(path):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SvdkitError(
            f"{option}: cannot create the folder '{path.parent}': {err.strerror or err}"
        ) from err


def _check_analyse_output(path: Path, option: str, **inputs: Path) -> None:
    """An output file of ``analyse``, under the rules of the other commands' outputs: it
    is not an input, nor inside one (:func:`_check_not_input`), and an existing file is
    replaced only when svdkit wrote it (:func:`svdkit.lora.analyse.written_by_analyse`:
    its rows, or a figure with its mark); anything else is refused, before any work.
    ``-`` (standard output), a device, a FIFO or a descriptor (``/dev/stdout``) is
    written into, never replaced: no ownership to check."""
    from svdkit._files import written_through
    from svdkit.errors import FileFormatError
    from svdkit.lora.analyse import written_by_analyse

    if _is_stdout(path):
        return
    _check_not_input(path, option, **inputs)
    _check_report_file(path, option)
    if written_through(path):  # /dev/null, /dev/stdout, >(…): written into, not replaced
        return
    if (path.exists() or path.is_symlink()) and not written_by_analyse(path):
        raise FileFormatError(
            f"{option} '{path}' exists and is not a file svdkit lora analyse wrote: refusing "
            "to replace it; choose another path, or remove it first"
        )


def _check_figure_path(path: Path, **inputs: Path) -> None:
    """``--figure``: a writable file path in a format that records that svdkit wrote it
    (:data:`svdkit.lora.analyse.MARKED_FIGURE_FORMATS`), so that a re-run may replace
    it — a ``.jpg`` cannot carry the mark, and was refused when written again."""
    from svdkit.lora.analyse import _matplotlib, check_figure_output

    _matplotlib("--figure")  # (installed, and starts: an unknown MPLBACKEND is named)
    check_figure_output(path, "--figure")  # Analysis.figure's rule: the format, the owner
    _check_analyse_output(path, "--figure", **inputs)  # (inputs and the report files)


def _write_text_atomically(path: Path, text: str, option: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`svdkit._files.write_file`)."""
    import sys

    from svdkit._files import write_file
    from svdkit.errors import SvdkitError

    if _is_stdout(path):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    _make_parent(path, option)
    try:
        write_file(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as err:
        raise SvdkitError(f"{option}: cannot write '{path}': {err.strerror or err}") from err


def _print_left_out(con, report) -> None:
    """The tensors an extraction kept whole or left out, one line per kind."""
    for what, names in (
        ("changed and kept whole (modules_to_save / bias)", report.extras_saved),
        ("changed and NOT in the adapter", report.extras_listed),
        ("shape mismatch, left out", report.mismatched),
        ("only in the tuned model, left out (a new task head?)", report.only_tuned),
        ("only in the base, left out", report.only_base),
    ):
        if names:
            more = f", … ({len(names) - 6} more)" if len(names) > 6 else ""
            con.print(f"{counted(len(names), 'tensor')} {what}: {', '.join(names[:6])}{more}",
                      highlight=False, soft_wrap=True, markup=False)


def _resize_table(report, rule):
    """The table of ``resize``: each module's rank before and after, and the energy kept
    and the relative error of the factors as written ('!' on the cell of the rule's bound:
    above ``--error``, or below ``--energy``: :meth:`~svdkit.lora.rank.RankRule.missed`)."""
    from rich.markup import escape
    from rich.table import Table

    from svdkit.lora._cells import energy_cell, error_cell

    t = Table(title="LoRA resize")
    for col in ("module", "rank before", "rank", "energy kept", "rel. error"):
        t.add_column(col, justify="left" if col == "module" else "right")
    by_energy = rule.energy is not None
    for m in report:
        mark = "" if m.bound_met else " !"
        t.add_row(escape(m.name), str(m.rank_before), str(m.rank),
                  energy_cell(m.energy_kept, missed=by_energy and not m.bound_met)
                  + (mark if by_energy else ""),
                  error_cell(m.relative_error, missed=not by_energy and not m.bound_met)
                  + ("" if by_energy else mark))
    return t


def _pissa_table(rows, rule):
    """PiSSA's ranks: per module chosen, its shape, the rank taken (0: no adapter, the
    module stays whole in the residual), whether ``--max-rank`` lowered it, under
    ``--energy`` the energy the factors as written keep (``1 − error²``), and the
    relative error ``‖W − B·A‖ / ‖W‖`` of the factors as written ('!' on the cell of the
    rule's bound, as in extract's and resize's tables: above ``--error``, or keeping less
    than ``--energy``)."""
    from rich.markup import escape
    from rich.table import Table

    from svdkit.lora._cells import energy_cell, error_cell

    by_energy = rule.energy is not None
    cols = ["module", "shape", "rank", "capped"] + (["energy kept"] if by_energy else [])
    t = Table(title="PiSSA")
    for col in [*cols, "rel. error"]:
        t.add_column(col, justify="left" if col == "module" else "right")
    for m in rows:
        mark = "" if m.bound_met else " !"
        cells = [escape(m.name), "×".join(map(str, m.shape)), str(m.rank),
                 "max-rank" if m.capped else ""]
        if by_energy:
            cells.append(energy_cell(m.energy_kept, missed=not m.bound_met) + mark)
        t.add_row(*cells, error_cell(m.relative_error, missed=not by_energy and not m.bound_met)
                  + ("" if by_energy else mark))
    return t


def register(app: typer.Typer) -> None:
    """Add the ``lora`` sub-commands to ``app``."""
    lora = typer.Typer(
        name="lora",
        help="LoRA adapters by SVD: extract, resize, merge, pissa, analyse (safetensors, PEFT).",
        no_args_is_help=True,
    )

    @lora.command("extract")
    @speaks_flags(targets="target", embedding_modules="embedding",
                  linear_modules="not_embedding", lora_alpha="alpha")
    def extract_command(
        base: Annotated[Path, _path_argument("Base checkpoint (safetensors file or dir).")],
        tuned: Annotated[Path, _path_argument("Fine-tuned checkpoint.")],
        output: Annotated[Path, _path_option("--output", "-o", help_text="Adapter directory.")],
        rank: RankOpt = None,
        energy: EnergyOpt = None,
        error: ErrorOpt = None,
        max_rank: MaxRankOpt = None,
        target: Annotated[
            list[str] | None,
            typer.Option(metavar="<name>", help="Target module (name, suffix, regex); repeat."),
        ] = None,
        split: SplitOpt = "sqrt",
        alpha: AlphaOpt = None,
        rslora: Annotated[bool, typer.Option(help="rsLoRA scaling α/√r.")] = False,
        embeddings: Annotated[
            str,
            typer.Option(help="Embeddings as 'lora' (lora_embedding_A and _B) or 'save' (whole)."),
        ] = "lora",
        extras: Annotated[
            str,
            typer.Option(
                help="Changed tensors outside the LoRA modules (norms, biases, matrices not "
                "targeted): 'save' whole in the adapter, or 'list' them."
            ),
        ] = "save",
        on_mismatch: Annotated[
            str,
            typer.Option(
                help="Tensors of different shapes, or in one checkpoint only (a new task "
                "head): 'error' or 'skip' (left out and listed)."
            ),
        ] = "error",
        tol: TolOpt = 1e-3,
        backend: BackendOpt = "numpy",
        dtype: DtypeOpt = None,
        fan_in_fan_out: FanInFanOutOpt = None,
        conv1d: Conv1dOpt = None,
        embedding: EmbeddingOpt = None,
        not_embedding: LinearOpt = None,
    ) -> None:
        """Extract a PEFT LoRA adapter from a (base, fine-tuned) pair."""
        from rich.console import Console

        from svdkit.lora.adapter import check_alpha
        from svdkit.lora.extract import extract, write_report

        factor_dtype = _factor_dtype(dtype)
        split = _check_split(split)
        check_alpha(alpha)
        _check_not_input(output, "--output", base=base, tuned=tuned)
        _check_adapter_output(output)
        ex = extract(
            base,
            tuned,
            _rule(rank, energy, error, max_rank),
            targets=target or None,
            embeddings=embeddings,
            extras=extras,
            on_mismatch=on_mismatch,
            split=split,
            alpha=alpha,
            rslora=rslora,
            tol=tol,
            backend=backend,
            progress=True,
            fan_in_fan_out=_layout(fan_in_fan_out, conv1d),
            embedding_modules=embedding or None,
            linear_modules=not_embedding or None,
            dtype=factor_dtype,  # the report measures the factors as stored
        )
        # the report is written into the adapter built aside: both replace the old ones
        # as one (a failed report leaves the old adapter and its report)
        out = ex.adapter.save(
            output, dtype=factor_dtype,
            extra=lambda tmp: write_report(tmp / "svdkit_report.json", ex.report),
        )
        con = Console()
        print_table(con, ex.report.table(), full=f"{out / 'svdkit_report.json'}")
        r = ex.report
        _print_left_out(con, r)
        for note in r.notes:
            con.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
        con.print(f"report with every tensor named: {out / 'svdkit_report.json'}",
                  highlight=False, soft_wrap=True, markup=False)
        con.print(f"{counted(len(ex.adapter.modules), 'LoRA module')} → {out}",
                  highlight=False, soft_wrap=True, markup=False)

    @lora.command("resize")
    @speaks_flags(lora_alpha="alpha")
    def resize_command(
        adapter: Annotated[Path, _path_argument("PEFT LoRA adapter directory.")],
        output: Annotated[
            Path, _path_option("--output", "-o", help_text="New adapter directory.")
        ],
        rank: RankOpt = None,
        energy: EnergyOpt = None,
        error: ErrorOpt = None,
        max_rank: MaxRankOpt = None,
        split: SplitOpt = "sqrt",
        alpha: AlphaOpt = None,
        dtype: Annotated[
            str | None,
            typer.Option(
                help="Store the new factors as F32, F16, BF16 or F64 (any case; or float16, "
                "bfloat16, fp16, half…); default: "
                "each module's own. --error / --energy bound the factors as stored."
            ),
        ] = None,
    ) -> None:
        """Resize an adapter (QR of each factor, SVD of the small core; B·A never formed).

        The table's energy kept and relative error are those of the factors as written
        (rounded to their dtype); under --error or --energy the rank is raised until they
        meet it, and '!' marks a module no rank can bring to it (the rounding floor of
        BF16 / F16).
        """
        from rich.console import Console

        from svdkit.lora.adapter import Adapter, check_alpha
        from svdkit.lora.rank import unmet_note
        from svdkit.lora.resize import resize
        from svdkit.lora.safetensors_io import dtype_code

        rule = _rule(rank, energy, error, max_rank)
        factor_dtype = _factor_dtype(dtype)
        split = _check_split(split)
        check_alpha(alpha)
        _check_not_input(output, "--output", adapter=adapter)
        _check_adapter_output(output)
        new, report = resize(
            Adapter.load(adapter, lora_bias=True), rule, split=split, alpha=alpha,
            dtype=factor_dtype,
        )
        new.save(output)
        con = Console()
        print_table(con, _resize_table(report, rule))
        dropped = [m.name for m in report if m.name not in new.modules]
        if dropped:
            more = f", … ({len(dropped) - 6} more)" if len(dropped) > 6 else ""
            con.print(
                f"note: left out of the adapter (rank 0: ΔW = 0, lora_B or lora_A all zeros): "
                f"{', '.join(dropped[:6])}{more}; they are no longer in target_modules, so "
                "PEFT gives them no LoRA (training on from this adapter leaves them as they are)",
                highlight=False, soft_wrap=True, markup=False,
            )
        missed = [m for m in report if not m.bound_met]
        if missed and (error is not None or energy is not None):
            note = unmet_note(
                error if error is not None else rule.rank_tol,
                {m.name: m.relative_error for m in missed},
                len(report),
                max_rank=max_rank,
                # (where the cap lowered the rank and raising it could help:
                # ResizeReport.capped, as extract and pissa decide it)
                capped=[m.name for m in missed if m.capped],
                codes={m.name: dtype_code(new.modules[m.name].A.dtype)
                       if m.name in new.modules else "F32" for m in missed},
                energy=energy,
            )
            con.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)

    @lora.command("merge")
    @speaks_flags
    def merge_command(
        base: Annotated[Path, _path_argument("Base checkpoint.")],
        adapter: Annotated[Path, _path_argument("PEFT LoRA adapter directory.")],
        output: Annotated[
            Path,
            _path_option("--output", "-o", help_text="Output directory (or .safetensors file)."),
        ],
        fan_in_fan_out: Annotated[
            bool | None,
            typer.Option(
                "--fan-in-fan-out/--no-fan-in-fan-out",
                help="Every LoRA layer is (is not) transformers' Conv1D; default: from the "
                "base's shapes and config.json, refused where ambiguous.",
                show_default=False,
            ),
        ] = None,
        conv1d: Conv1dOpt = None,
    ) -> None:
        """Merge an adapter into the base weights (W + scale·B·A) and write safetensors.

        A merged weight beyond the range of the base's dtype (65504 in F16) is refused,
        naming the module, rather than written as inf.
        """
        from rich.console import Console

        from svdkit.lora.merge import merge

        _check_not_input(output, "--output", base=base, adapter=adapter)
        out = merge(
            base, adapter, output, progress=True, fan_in_fan_out=_layout(fan_in_fan_out, conv1d)
        )
        Console().print(f"merged → {out}", highlight=False, soft_wrap=True, markup=False)

    @lora.command("pissa")
    @speaks_flags(targets="target", embedding_modules="embedding",
                  linear_modules="not_embedding")
    def pissa_command(
        base: Annotated[Path, _path_argument("Base checkpoint.")],
        output: Annotated[
            Path, _path_option("--output", "-o", help_text="PiSSA adapter directory.")
        ],
        residual: Annotated[
            Path,
            _path_option("--residual", help_text="Residual model (directory or .safetensors)."),
        ],
        rank: RankOpt = None,
        energy: EnergyOpt = None,
        error: ErrorOpt = None,
        max_rank: MaxRankOpt = None,
        target: Annotated[
            list[str] | None, typer.Option(metavar="<name>", help="Target module; repeat.")
        ] = None,
        tol: TolOpt = 1e-3,
        dtype: Annotated[
            str | None,
            typer.Option(
                help="Store the adapter's factors as F32 (default), F16, BF16 or F64 (any case; "
                "or float32, float16, bfloat16, float64, fp16, bf16, half…). --error / "
                "--energy bound the factors as stored: the rank is raised to absorb their "
                "rounding, and a note says where no rank can."
            ),
        ] = None,
        fan_in_fan_out: FanInFanOutOpt = None,
        conv1d: Conv1dOpt = None,
        embedding: EmbeddingOpt = None,
        not_embedding: LinearOpt = None,
        backend: BackendOpt = "numpy",
    ) -> None:
        """PiSSA init: top-r triplets of W as the adapter, W − scale·B·A as the new base.

        The adapter belongs to the residual: its adapter_config.json names RESIDUAL as
        its base, and merge refuses to add it to BASE (the principal part twice).
        """
        from rich.console import Console

        from svdkit.lora.pissa import pissa, pissa_notes

        rule = _rule(rank, energy, error, max_rank)
        factor_dtype = _factor_dtype(dtype)
        _check_not_input(output, "--output", base=base)
        _check_not_input(residual, "--residual", base=base)
        # pissa() checks both outputs (and that neither lies in the other) before any work
        rows: list = []
        ad, res = pissa(
            base, output, residual, rule, targets=target or None, progress=True, tol=tol,
            dtype=factor_dtype, fan_in_fan_out=_layout(fan_in_fan_out, conv1d),
            embedding_modules=embedding or None, linear_modules=not_embedding or None,
            backend=backend, report=rows,
        )
        con = Console()
        # the ranks the rule chose (rank 0 too), which --max-rank capped, and the errors
        print_table(con, _pissa_table(rows, rule))
        for note in pissa_notes(rows, rule, factor_dtype):
            con.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
        con.print(f"{counted(len(ad.modules), 'module')} → {output}; residual → {res}",
                  highlight=False, soft_wrap=True, markup=False)

    @lora.command("analyse")
    @speaks_flags(targets="target")
    def analyse_command(
        first: Annotated[Path, _path_argument("Adapter directory, or the base checkpoint.")],
        tuned: Annotated[Path | None, _path_argument("Fine-tuned checkpoint.")] = None,
        energy: Annotated[float, typer.Option(help="Energy for the recommended rank.")] = 0.9,
        max_rank: Annotated[
            int | None,
            typer.Option(
                help="Compute only this many singular values per module (BASE TUNED only; "
                "not the cap on a chosen rank it is in extract, resize and pissa)."
            ),
        ] = None,
        target: Annotated[
            list[str] | None,
            typer.Option(metavar="<name>",
                         help="Analyse only these modules (name, suffix, regex; repeat)."),
        ] = None,
        tol: Annotated[
            float | None,
            typer.Option(help="Residual certificate of the SVD, relative to σ₁ "
                         "(BASE TUNED only; default 0.001)."),
        ] = None,
        on_mismatch: Annotated[
            str | None,
            typer.Option(
                help="Tensors of different shapes, or in one checkpoint only (BASE TUNED "
                "only): 'skip' (the default: left out, listed under the table) or 'error'."
            ),
        ] = None,
        figure: Annotated[
            Path | None,
            _path_option("--figure", file=True, help_text="Write the figure (.png, .svg, .pdf…)."),
        ] = None,
        json_out: Annotated[
            Path | None,
            _path_option("--json", file=True,
                         help_text="Write the rows ('-' or /dev/stdout: standard "
                         "output, the table then goes to standard error)."),
        ] = None,
    ) -> None:
        """Spectra, energy curves, effective rank and recommended rank per module."""
        import json

        from rich.console import Console

        from svdkit.errors import MissingFileError, SvdkitError
        from svdkit.lora._args import check_count, check_fraction
        from svdkit.lora.analyse import analyse_adapter, analyse_pair

        # the library's checks (named as typed), before the outputs are looked at
        check_fraction(energy, "energy")
        if max_rank is not None:
            check_count(max_rank, "max_rank")
        inputs = {"adapter" if tuned is None else "base": first}
        if tuned is not None:
            inputs["tuned"] = tuned
        if figure is not None and json_out is not None:
            _check_not_input(json_out, "--json", figure=figure)
        if figure is not None:
            _check_figure_path(figure, **inputs)
        if json_out is not None:
            _check_analyse_output(json_out, "--json", **inputs)
        if tuned is None:
            if not first.exists():
                raise MissingFileError(f"no such adapter directory: '{first}'")
            if not _is_adapter_dir(first):
                inner = [p.name + "/" for p in sorted(first.iterdir())
                         if p.is_dir() and _is_adapter_dir(p)] if first.is_dir() else []
                if inner:
                    raise SvdkitError(
                        f"'{first}' has no adapter_config.json of its own, but holds PEFT "
                        f"adapters in {', '.join(inner)} (save_pretrained of several adapters "
                        "writes one folder each): give one of them"
                    )
                raise SvdkitError(
                    f"'{first}' is not a LoRA adapter directory (no adapter_config.json): "
                    "give an adapter, or a base and a fine-tuned checkpoint (BASE TUNED)"
                )
            for given, option in ((max_rank is not None, "--max-rank"),
                                  (target, "--target"), (tol is not None, "--tol"),
                                  (on_mismatch is not None, "--on-mismatch")):
                if given:
                    raise SvdkitError(
                        f"{option} applies to a (BASE, TUNED) pair, whose deltas are factored; "
                        "an adapter's spectra are exact (a QR of each factor and the SVD of "
                        "an r×r core) over all its modules: leave it out"
                    )
            an = analyse_adapter(first, energy=energy)
        else:
            an = analyse_pair(first, tuned, energy=energy, max_rank=max_rank,
                              targets=target or None, tol=1e-3 if tol is None else tol,
                              on_mismatch="skip" if on_mismatch is None else on_mismatch,
                              progress=True)
        # `--json -`: the JSON alone on standard output, the table on standard error
        con = Console(stderr=json_out is not None and _is_stdout(json_out))
        print_table(con, an.table(), full="--json")
        if figure is not None:
            _make_parent(figure, "--figure")
            try:
                an.figure(figure)
            except OSError as err:
                raise SvdkitError(f"--figure: cannot write '{figure}': {err}") from err
        if json_out is not None:
            _write_text_atomically(json_out, json.dumps(an.rows(), indent=2, allow_nan=False),
                                     "--json")  # (strict JSON: every value is finite)

    for info in lora.registered_commands:  # (typer reads the help when it is asked for)
        if info.help is None and info.callback is not None:
            info.help = _one_line_paragraphs(info.callback.__doc__ or "")
    app.add_typer(lora, name="lora")
