"""``svdkit lora extract|resize|merge|pissa|analyse``: LoRA adapters by SVD on safetensors.

``register(app)`` adds the ``lora`` command group to the typer app of
:mod:`svdkit.cli.main`. Every command shows a progress bar per module on
standard error, prints a table, and writes its outputs atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from svdkit._words import counted

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
        help="A module that is transformers' Conv1D (weight in × out; name, suffix, regex; "
        "repeat); the others are nn.Linear. Instead of --fan-in-fan-out.",
        show_default=False,
    ),
]
EmbeddingOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--embedding",
        help="A module that is an nn.Embedding whatever its name says (repeat).",
        show_default=False,
    ),
]
LinearOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--not-embedding",
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
    str, typer.Option(help="Σ in both factors as √Σ ('sqrt'), all in lora_B ('B') or lora_A ('A').")
]


def _full_module_names(table):
    """Fold, never cut, the module names of a table's first column, and keep every
    other column's values whole (their widths reserved).

    On an 80-column terminal (or in a pipe, a CI log) Rich shrinks the widest
    columns and ends their cells with "…": ``encoder.la…`` for every module of a
    BERT, the one column that tells the rows apart, and ``krylov-ba…`` for the
    method. The names fold onto more lines instead.
    """
    from rich.cells import cell_len

    table.columns[0].overflow = "fold"
    for column in table.columns[1:]:
        texts = [str(column.header), *(str(c) for c in column.cells)]
        column.no_wrap = True
        column.min_width = max(cell_len(t) for t in texts)
    return table


def _rule(rank, energy, error, max_rank):
    from svdkit.errors import SvdkitError
    from svdkit.lora.rank import RankRule

    if sum(x is not None for x in (rank, energy, error)) != 1:
        raise SvdkitError("give exactly one of --rank, --energy, --error")
    return RankRule(rank=rank, energy=energy, error=error, max_rank=max_rank)


#: Storage types for LoRA factors: the float codes an adapter is read back from exactly.
_FACTOR_DTYPES = ("F32", "F16", "BF16", "F64")


def _factor_dtype(text: str | None):
    """The NumPy dtype of ``--dtype`` (any case), or None; only those of ``_FACTOR_DTYPES``."""
    from svdkit.errors import SvdkitError
    from svdkit.lora.safetensors_io import numpy_dtype

    if text is None:
        return None
    if text.upper() not in _FACTOR_DTYPES:
        raise SvdkitError(
            f"--dtype {text!r}: LoRA factors are stored as one of {', '.join(_FACTOR_DTYPES)}"
        )
    return numpy_dtype(text.upper())


_SPLITS = ("sqrt", "B", "A")


def _check_factor_options(split: str, alpha: float | None) -> None:
    """``--split`` and ``--alpha`` checked before any module is factored."""
    from svdkit.errors import SvdkitError

    if split not in _SPLITS:
        raise SvdkitError(f"--split must be one of {', '.join(_SPLITS)}; got {split!r}")
    if alpha is not None and not alpha > 0:
        raise SvdkitError(f"--alpha must be a positive number; got {alpha:g}")


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


def _check_analyse_options(energy: float, max_rank: int | None) -> None:
    """``0 < energy ≤ 1`` and ``max_rank ≥ 1`` (when given), as clear errors."""
    from svdkit.errors import SvdkitError

    if not 0.0 < energy <= 1.0:
        raise SvdkitError(f"--energy must be in (0, 1] (a fraction of ‖ΔW‖_F²), got {energy:g}")
    if max_rank is not None and max_rank < 1:
        raise SvdkitError(f"--max-rank must be at least 1, got {max_rank}")


def _is_stdout(path: Path) -> bool:
    """``-``: standard output (``analyse --json -``)."""
    return str(path) == "-"


def _check_report_file(path: Path, option: str) -> None:
    """An output file of ``analyse``: its directory exists, and it is not a directory."""
    from svdkit._files import check_file_output

    check_file_output(path, f"{option} output", folder_exists=True)


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
    from svdkit.errors import FileFormatError, MissingDependencyError
    from svdkit.lora.analyse import MARKED_FIGURE_FORMATS

    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(
            "--figure needs matplotlib (pip install 'svdkit[plot]')"
        ) from err
    if path.suffix[1:].lower() not in MARKED_FIGURE_FORMATS:
        raise FileFormatError(
            f"--figure '{path}': unsupported figure format {path.suffix or '(no extension)'!r} "
            f"(use one of {', '.join('.' + f for f in MARKED_FIGURE_FORMATS)}: formats "
            "that record that svdkit wrote the file, so that a re-run may replace it)"
        )
    _check_analyse_output(path, "--figure", **inputs)


def _write_text_atomically(path: Path, text: str, option: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`svdkit._files.write_file`)."""
    import sys

    from svdkit._files import write_file
    from svdkit.errors import SvdkitError

    if _is_stdout(path):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    try:
        write_file(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as err:
        raise SvdkitError(f"{option}: cannot write '{path}': {err.strerror or err}") from err


def register(app: typer.Typer) -> None:
    """Add the ``lora`` sub-commands to ``app``."""
    lora = typer.Typer(
        name="lora",
        help="LoRA adapters by SVD: extract, resize, merge, pissa, analyse (safetensors, PEFT).",
        no_args_is_help=True,
    )

    @lora.command("extract")
    def extract_command(
        base: Annotated[Path, typer.Argument(help="Base checkpoint (safetensors file or dir).")],
        tuned: Annotated[Path, typer.Argument(help="Fine-tuned checkpoint.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="Adapter directory.")],
        rank: RankOpt = None,
        energy: EnergyOpt = None,
        error: ErrorOpt = None,
        max_rank: MaxRankOpt = None,
        target: Annotated[
            list[str] | None, typer.Option(help="Target module (name, suffix, regex); repeat.")
        ] = None,
        split: SplitOpt = "sqrt",
        alpha: AlphaOpt = None,
        rslora: Annotated[bool, typer.Option(help="rsLoRA scaling α/√r.")] = False,
        embeddings: Annotated[
            str, typer.Option(help="Embeddings as 'lora' (lora_embedding_A/B) or 'save' (whole).")
        ] = "lora",
        extras: Annotated[
            str,
            typer.Option(
                help="Changed tensors outside the LoRA modules (norms, biases, matrices not "
                "targeted): 'save' whole in the adapter, or 'list' them."
            ),
        ] = "save",
        on_mismatch: Annotated[
            str, typer.Option(help="Tensors of different shapes: 'error' or 'skip' (listed).")
        ] = "error",
        tol: Annotated[float, typer.Option(help="Residual certificate, relative to σ₁.")] = 1e-3,
        backend: Annotated[str, typer.Option(help="'numpy', 'torch' (CUDA) or 'auto'.")] = "numpy",
        dtype: Annotated[
            str | None, typer.Option(help="Store the factors as F32, F16, BF16 or F64.")
        ] = None,
        fan_in_fan_out: FanInFanOutOpt = None,
        conv1d: Conv1dOpt = None,
        embedding: EmbeddingOpt = None,
        not_embedding: LinearOpt = None,
    ) -> None:
        """Extract a PEFT LoRA adapter from a (base, fine-tuned) pair."""
        from rich.console import Console

        from svdkit.lora.extract import extract, write_report

        factor_dtype = _factor_dtype(dtype)
        _check_factor_options(split, alpha)
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
        con.print(_full_module_names(ex.report.table()))
        r = ex.report
        for what, names in (
            ("changed and kept whole (modules_to_save / bias)", r.extras_saved),
            ("changed and NOT in the adapter", r.extras_listed),
            ("shape mismatch, left out", r.mismatched),
        ):
            if names:
                more = f", … ({len(names) - 6} more)" if len(names) > 6 else ""
                con.print(f"{counted(len(names), 'tensor')} {what}: {', '.join(names[:6])}{more}",
                          highlight=False, soft_wrap=True, markup=False)
        for note in r.notes:
            con.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
        con.print(f"report with every tensor named: {out / 'svdkit_report.json'}",
                  highlight=False, soft_wrap=True, markup=False)
        con.print(f"{counted(len(ex.adapter.modules), 'LoRA module')} → {out}",
                  highlight=False, soft_wrap=True, markup=False)

    @lora.command("resize")
    def resize_command(
        adapter: Annotated[Path, typer.Argument(help="PEFT LoRA adapter directory.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="New adapter directory.")],
        rank: RankOpt = None,
        energy: EnergyOpt = None,
        error: ErrorOpt = None,
        max_rank: MaxRankOpt = None,
        split: SplitOpt = "sqrt",
        alpha: AlphaOpt = None,
    ) -> None:
        """Resize an adapter (QR of each factor, SVD of the small core; B·A never formed)."""
        from rich.console import Console
        from rich.table import Table

        from svdkit.lora.adapter import Adapter
        from svdkit.lora.resize import resize

        rule = _rule(rank, energy, error, max_rank)
        _check_factor_options(split, alpha)
        _check_not_input(output, "--output", adapter=adapter)
        _check_adapter_output(output)
        from rich.markup import escape

        new, report = resize(Adapter.load(adapter), rule, split=split, alpha=alpha)
        new.save(output)
        t = Table(title="LoRA resize")
        for col in ("module", "rank before", "rank", "energy kept", "rel. error"):
            t.add_column(col, justify="left" if col == "module" else "right")
        for m in report:
            t.add_row(escape(m.name), str(m.rank_before), str(m.rank), f"{m.energy_kept:.4f}",
                      f"{m.relative_error:.4f}")
        Console().print(_full_module_names(t))

    @lora.command("merge")
    def merge_command(
        base: Annotated[Path, typer.Argument(help="Base checkpoint.")],
        adapter: Annotated[Path, typer.Argument(help="PEFT LoRA adapter directory.")],
        output: Annotated[
            Path, typer.Option("--output", "-o", help="Output directory (or .safetensors file).")
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
        """Merge an adapter into the base weights (W + scale·B·A) and write safetensors."""
        from rich.console import Console

        from svdkit.lora.merge import merge

        _check_not_input(output, "--output", base=base, adapter=adapter)
        out = merge(
            base, adapter, output, progress=True, fan_in_fan_out=_layout(fan_in_fan_out, conv1d)
        )
        Console().print(f"merged → {out}", highlight=False, soft_wrap=True, markup=False)

    @lora.command("pissa")
    def pissa_command(
        base: Annotated[Path, typer.Argument(help="Base checkpoint.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="PiSSA adapter directory.")],
        residual: Annotated[Path, typer.Option(help="Residual model (directory or .safetensors).")],
        rank: RankOpt = None,
        energy: EnergyOpt = None,
        error: ErrorOpt = None,
        max_rank: MaxRankOpt = None,
        target: Annotated[list[str] | None, typer.Option(help="Target module; repeat.")] = None,
        fan_in_fan_out: FanInFanOutOpt = None,
        conv1d: Conv1dOpt = None,
        embedding: EmbeddingOpt = None,
        not_embedding: LinearOpt = None,
    ) -> None:
        """PiSSA init: top-r triplets of W as the adapter, W − scale·B·A as the new base."""
        from rich.console import Console

        from svdkit.lora.pissa import pissa

        rule = _rule(rank, energy, error, max_rank)
        _check_not_input(output, "--output", base=base)
        _check_not_input(residual, "--residual", base=base)
        # pissa() checks both outputs (and that neither lies in the other) before any work
        ad, res = pissa(
            base, output, residual, rule, targets=target or None, progress=True,
            fan_in_fan_out=_layout(fan_in_fan_out, conv1d), embedding_modules=embedding or None,
            linear_modules=not_embedding or None,
        )
        Console().print(f"{counted(len(ad.modules), 'module')} → {output}; residual → {res}",
                        highlight=False, soft_wrap=True, markup=False)

    @lora.command("analyse")
    def analyse_command(
        first: Annotated[Path, typer.Argument(help="Adapter directory, or the base checkpoint.")],
        tuned: Annotated[Path | None, typer.Argument(help="Fine-tuned checkpoint.")] = None,
        energy: Annotated[float, typer.Option(help="Energy for the recommended rank.")] = 0.9,
        max_rank: Annotated[
            int | None,
            typer.Option(
                help="Compute only this many singular values per module (BASE TUNED only)."
            ),
        ] = None,
        figure: Annotated[
            Path | None, typer.Option(help="Write the figure (.png, .svg, .pdf…).")
        ] = None,
        json_out: Annotated[
            Path | None,
            typer.Option("--json", help="Write the rows ('-': standard output, the table "
                         "then goes to standard error)."),
        ] = None,
    ) -> None:
        """Spectra, energy curves, effective rank and recommended rank per module."""
        import json

        from rich.console import Console

        from svdkit.errors import SvdkitError
        from svdkit.lora.analyse import analyse_adapter, analyse_pair

        _check_analyse_options(energy, max_rank)
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
            if not _is_adapter_dir(first):
                inner = [p.name + "/" for p in sorted(first.iterdir())
                         if p.is_dir() and _is_adapter_dir(p)] if first.is_dir() else []
                held = f"; it holds adapters in {', '.join(inner)}: give one" if inner else ""
                raise SvdkitError(
                    f"'{first}' is not a LoRA adapter directory (no adapter_config.json){held}: "
                    "give an adapter, or a base and a fine-tuned checkpoint (BASE TUNED)"
                )
            if max_rank is not None:
                raise SvdkitError(
                    "--max-rank limits the SVD of a (BASE, TUNED) pair's deltas; an adapter's "
                    "spectra are exact (a QR of each factor and the SVD of an r×r core): "
                    "leave it out"
                )
            an = analyse_adapter(first, energy=energy)
        else:
            an = analyse_pair(first, tuned, energy=energy, max_rank=max_rank, progress=True)
        # `--json -`: the JSON alone on standard output, the table on standard error
        Console(stderr=json_out is not None and _is_stdout(json_out)).print(
            _full_module_names(an.table())
        )
        if figure is not None:
            try:
                an.figure(figure)
            except OSError as err:
                raise SvdkitError(f"--figure: cannot write '{figure}': {err}") from err
        if json_out is not None:
            _write_text_atomically(json_out, json.dumps(an.rows(), indent=2), "--json")

    app.add_typer(lora, name="lora")
