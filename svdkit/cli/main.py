"""The ``svdkit`` command line (typer): one sub-command per job."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import svdkit
from svdkit.errors import SvdkitError

__all__ = ["app", "main"]

DEFAULT_MATRIX = "[[1, 2, 3], [4, 5, 6]]"

app = typer.Typer(
    name="svdkit",
    help="The singular value decomposition and the matrix analysis around it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    terminal = "terminal"
    markdown = "markdown"
    json = "json"
    latex = "latex"
    html = "html"


class Lang(StrEnum):
    en = "en"
    fr = "fr"


def _read_matrix(text: str):
    """A path to an existing file is loaded; ``-`` reads standard input; else the text itself.

    Text is passed on as text, so that the exact engine sees ``1/3`` and ``√2``
    rather than their floating-point values.
    """
    if text == "-":
        return sys.stdin.read()
    path = Path(text)
    if len(text) < 4096 and path.suffix and path.is_file():
        return svdkit.load(path)
    return text


def _version(value: bool) -> None:
    if value:
        typer.echo(f"svdkit {svdkit.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """The singular value decomposition and the matrix analysis around it."""


@app.command()
def explain(
    matrix: Annotated[
        str,
        typer.Argument(
            help="A matrix as text ('[[1,2],[3,4]]', '1 2; 3 4', LaTeX bmatrix…), a file "
            "(.npy .csv .tsv .txt .json .tex .mtx .npz) or '-' for standard input.",
        ),
    ] = DEFAULT_MATRIX,
    format: Annotated[
        Format, typer.Option("--format", "-f", help="Output format.")
    ] = Format.terminal,
    tol: Annotated[
        float | None,
        typer.Option(help="Absolute zero threshold (default: max(m, n)·eps·σ₁)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", "-l", help="Language of the report.")] = Lang.en,
    steps: Annotated[
        bool,
        typer.Option(
            "--steps/--no-steps",
            help="Exact derivations (small integer, fraction or radical matrices).",
        ),
    ] = True,
    figures: Annotated[
        Path | None,
        typer.Option(help="Write the figures (PNG and SVG) to this folder."),
    ] = None,
) -> None:
    """Everything about one matrix: rank, norms, inverses, eigen, SVD, subspaces, definiteness."""
    from svdkit.explain import explain as build
    from svdkit.explain import render

    source = _read_matrix(matrix)
    report = build(source, tol=tol, lang=lang.value, steps=steps)
    if output is not None:
        _write_atomic(output, render(report, format.value))
    elif format is Format.terminal:
        from svdkit.explain.render_terminal import print_terminal

        print_terminal(report, Console())
    else:
        sys.stdout.write(render(report, format.value) + "\n")
    if figures is not None:
        from svdkit.plot import save_figures

        written = save_figures(report.matrix, figures, lang=lang.value)
        Console(stderr=True).print(
            f"{len(written)} figure files written to {figures}/: "
            + ", ".join(p.name for p in written),
            highlight=False,
        )


def _register_subcommands() -> None:
    from svdkit.cli import lsi_command, svd_command

    svd_command.register(app)
    lsi_command.register(app)
    from svdkit.cli import lora_command

    lora_command.register(app)


_register_subcommands()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)


def main() -> None:
    """Entry point: run the app, turning svdkit errors into one clear line and exit code 2."""
    try:
        app()
    except SvdkitError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False)
        raise SystemExit(2) from None
