"""The ``svdkit`` command line (typer): one sub-command per job."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

import svdkit
from svdkit._naming import speaks_flags
from svdkit.cli.svd_command import tol_number as _tol_number
from svdkit.errors import MissingFileError, SvdkitError
from svdkit.inputs import SUPPORTED_EXTENSIONS

__all__ = ["app", "main"]

DEFAULT_MATRIX = "[[1, 2, 3], [4, 5, 6]]"

#: A single word ending in a letter extension (``data.xyz``, ``../m.dat``).
_FILE_NAME = re.compile(r"^[^\s\[\](){};,&\\]+\.[A-Za-z][A-Za-z0-9]*$")

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


#: The report format an ``--output`` file's extension implies when ``--format`` is not
#: given; any other extension is refused without ``--format``.
_FORMAT_OF_SUFFIX = {
    ".json": Format.json,
    ".md": Format.markdown,
    ".markdown": Format.markdown,
    ".tex": Format.latex,
    ".html": Format.html,
    ".htm": Format.html,
    ".txt": Format.terminal,
}

#: How a JSON report of ``explain`` opens: its first key (render_json writes it first).
_JSON_REPORT = re.compile(r'\A\s*\{\s*"schema"\s*:\s*"svdkit\.explain"\s*[,}]')


class Lang(StrEnum):
    en = "en"
    fr = "fr"


def _path_kind(path: Path) -> str | None:
    """``"file"``, ``"pipe"`` or ``"dir"`` for an existing path, else None — also for
    text that cannot name a file (a word of more than 255 bytes: ``File name too
    long``, which ``Path.is_dir`` raises)."""
    import stat

    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISFIFO(mode):
        return "pipe"
    return "dir" if stat.S_ISDIR(mode) else None


def _parses(text: str) -> bool:
    """Whether ``text`` is matrix text (a typo in a matrix still is: only text that is
    no matrix at all, ``ParseError``, is not)."""
    from svdkit.errors import ParseError
    from svdkit.inputs import parse_matrix_text

    try:
        parse_matrix_text(text)
    except ParseError:
        return False
    return True


def _read_matrix(text: str):
    """A path to an existing file is passed on; ``-`` reads standard input; else the text.

    Text is passed on as text, so that the exact engine sees ``1/3`` and ``√2``
    rather than their floating-point values. A name with a matrix file's extension
    (``data.npy``) is always a file: a missing one is a :class:`~svdkit.MissingFileError`
    naming it, not a parse error about the "unknown name" ``data``; so is a word
    that looks like a file name (``data.xyz``) and does not parse as a matrix.
    """
    if text == "-":
        return _read_stdin()
    if len(text) >= 4096 or "\n" in text:
        return text
    path = Path(text)
    kind = _path_kind(path)
    if path.suffix and kind == "file":
        # the path itself: explain reads it (a float32 .npy keeps float32's tolerance
        # rule, a .txt of fractions stays exact for the exact engine)
        return path
    if path.suffix.lower() in SUPPORTED_EXTENSIONS and kind == "pipe":
        # a named pipe (mkfifo data.csv, data.npy) can be read once only: its bytes are
        # copied now to a regular file of the same name and read from there as the file
        # would be (1/3 in a .txt stays exact, a .npy's header gives its size); explain
        # removes the copy (_PipeCopy)
        return _PipeCopy.of(path, text)
    if not path.suffix and kind in ("file", "pipe") and not _parses(text):
        # a file without an extension (``mymatrix``), a pipe (``<(…)``, /dev/stdin):
        # its text, read as matrix text, as ``-`` reads standard input (text that is a
        # matrix itself, ``2`` beside a file named 2, stays the matrix)
        from svdkit.inputs import decode_matrix_text

        try:
            data = path.read_bytes()
        except OSError as err:
            raise SvdkitError(
                f"cannot read '{text}' as matrix text: {err.strerror or err}"
            ) from err
        return decode_matrix_text(data, f"'{text}'")  # (a stray byte: an error line)
    if kind == "dir" and not _parses(text):  # not "unknown name 'data'" for the folder data/
        from svdkit.errors import FileFormatError

        raise FileFormatError(
            f"'{text}' is a directory, not a matrix file "
            f"(svdkit reads {' '.join(SUPPORTED_EXTENSIONS)} files, or matrix text)"
        )
    if path.suffix.lower() in SUPPORTED_EXTENSIONS:
        raise MissingFileError(f"no such file: '{text}'")
    if _FILE_NAME.match(text) and not _parses(text):
        raise MissingFileError(
            f"'{text}' is neither an existing file nor a matrix "
            f"(svdkit reads {' '.join(SUPPORTED_EXTENSIONS)} files, or matrix text)"
        )
    return text


class _PipeCopy:
    """The bytes of a named pipe with a matrix file's extension (``mkfifo data.csv``,
    ``data.npy``), copied to a regular file of the same name in a temporary folder:
    explain reads it as it reads that file (a ``.txt`` of fractions stays exact, a
    ``.tex`` document is a document, a ``.npy``'s header gives its size at once),
    which a pipe, read once, could not be twice. :meth:`close` removes the copy; an
    error that names the copy is told with the pipe's name (:meth:`named`)."""

    def __init__(self, copy: Path, text: str) -> None:
        self.path, self.text = copy, text

    @classmethod
    def of(cls, pipe: Path, text: str) -> _PipeCopy:
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="svdkit-pipe-"))
        copy = folder / pipe.name
        try:
            with open(pipe, "rb") as src, open(copy, "xb") as dst:
                shutil.copyfileobj(src, dst)
        except BaseException as err:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(err, OSError):
                raise SvdkitError(
                    f"cannot read the named pipe '{text}': {err.strerror or err}"
                ) from err
            raise
        return cls(copy, text)

    def named(self, err: SvdkitError) -> SvdkitError:
        """``err`` with the copy's path in its message replaced by the pipe's name."""
        message = str(err)
        return err if str(self.path) not in message else err.with_message(
            message.replace(str(self.path), self.text)
        )

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.path.parent, ignore_errors=True)


def _read_stdin() -> str:
    """The matrix text on standard input (``-``), decoded by
    :func:`svdkit.inputs.decode_matrix_text`: a byte that is not UTF-8, binary data or a
    ``.npy`` file piped in is an svdkit error, whatever the locale (the text layer of a
    strict UTF-8 locale raised ``UnicodeDecodeError``). A stream without a byte buffer
    (an ``io.StringIO``) is read as text."""
    from svdkit.inputs import decode_matrix_text

    if sys.stdin is None:
        raise SvdkitError("standard input is closed: there is no matrix to read from '-'")
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        return sys.stdin.read()
    return decode_matrix_text(buffer.read())


def _flags_show_no_type() -> None:
    """A flag's help row without a type: ``--version``, not ``--version <bool>``.

    typer's help shows every option's type in a column, flags included (``--help
    <bool>``, ``--steps/--no-steps <bool>``), as if they took a value; a flag takes
    none. Its type is left out of every command's help (a flag given a ``metavar``
    keeps it); typer without ``TyperOption.display_type_rich`` is left as it is.
    """
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_svdkit_flags", False):
        return

    def display_type_rich(self, ctx):
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        return shown(self, ctx)

    display_type_rich._svdkit_flags = True
    TyperOption.display_type_rich = display_type_rich


_flags_show_no_type()


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
@speaks_flags
def explain(
    matrix: Annotated[
        str,
        typer.Argument(
            help="A matrix as text ('[[1,2],[3,4]]', '1 2; 3 4', LaTeX bmatrix…), a file "
            "(.npy .csv .tsv .txt .json .tex .mtx .npz) or '-' for standard input.",
        ),
    ] = DEFAULT_MATRIX,
    format: Annotated[
        Format | None,
        typer.Option(
            "--format", "-f",
            help="Output format (default: terminal; with --output, from its extension: "
            ".json .md .tex .html .txt).",
        ),
    ] = None,
    tol: Annotated[
        float | None,
        typer.Option(
            help="Absolute zero threshold (default: max(m, n)·eps·σ₁).", parser=_tol_number,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o",
            parser=svdkit.inputs.files.cli_file_path,  # "" is an error, not the cwd
            help="Write the report to this file ('-': standard output). An existing file "
            "is replaced only if it is an svdkit explain report.",
        ),
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
        typer.Option(
            parser=svdkit.inputs.files.cli_path,  # "" is an error, not the current directory
            help="Write the figures to this folder (in the formats of --figure-format).",
        ),
    ] = None,
    figure_format: Annotated[
        str | None,
        typer.Option(
            "--figure-format",
            help="The figures' file formats, comma-separated: some of png, svg, pdf "
            "(with --figures; default: png,svg). svdkit's figures in the other formats "
            "are removed from the folder (named on standard error): png,svg,pdf keeps "
            "all three.",
        ),
    ] = None,
) -> None:
    """Everything about one matrix: rank, norms, inverses, eigen, SVD, subspaces, definiteness."""
    if output is not None and str(output) == "-":
        output = None  # standard output, as without --output
    if output is not None:
        _check_output_file(output, "--output")
        if output.exists() and len(matrix) < 4096 and Path(matrix).is_file():
            if output.samefile(matrix):
                raise SvdkitError(f"--output '{output}' is the input file: choose another path")
    if format is None:
        format = _format_of_output(output)
    if output is not None:
        _check_report_owner(output)
    if figure_format is not None and figures is None:
        raise SvdkitError("--figure-format applies to --figures: give the folder too")
    formats = ("png", "svg") if figure_format is None else _figure_formats(figure_format)
    if figures is not None:
        _check_figures_folder(figures, formats)
        if output is not None and output.resolve() == figures.resolve():
            raise SvdkitError(
                f"--figures '{figures}' is the --output file: give the figures their own folder"
            )
    _check_explain_size(matrix)
    source = _read_matrix(matrix)
    if isinstance(source, _PipeCopy):  # a named pipe's bytes, in a regular file
        pipe, source = source, source.path
        try:
            _check_explain_size(str(source))  # (a .npy's header: now that it is a file)
            _explain_source(source, tol=tol, lang=lang, steps=steps, output=output,
                            format=format, figures=figures, formats=formats)
        except SvdkitError as err:
            named = pipe.named(err)
            if named is err:
                raise
            raise named from err
        finally:
            pipe.close()
        return
    _explain_source(source, tol=tol, lang=lang, steps=steps, output=output, format=format,
                    figures=figures, formats=formats)


def _explain_source(
    source, *, tol: float | None, lang: Lang, steps: bool, output: Path | None,
    format: Format, figures: Path | None, formats: tuple[str, ...],
) -> None:
    """The report of ``source`` (what :func:`_read_matrix` gave), written as the options
    of :func:`explain` say, and its figures."""
    import warnings

    from svdkit.explain import explain as build
    from svdkit.explain import render
    from svdkit.explain.exact_steps import ExactStepsSkippedWarning

    with warnings.catch_warnings(record=True) as skipped_steps:
        warnings.simplefilter("always", ExactStepsSkippedWarning)
        report = build(source, tol=tol, lang=lang.value, steps=steps)
    for w in skipped_steps:  # no SymPy: the report without its exact steps, and one note
        if issubclass(w.category, ExactStepsSkippedWarning):
            Console(stderr=True).print(f"note: {w.message}", highlight=False, markup=False)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if figures is not None:  # now that A's figures are known, before anything is written
        _check_figure_names(figures, source, formats)
    if output is not None:
        if format.value == "json":  # written as it is made: a 1000×1000 report is ~330 MB
            from svdkit.explain.render_json import iter_json

            _write_atomic(output, iter_json(report))
        else:
            _write_atomic(output, [render(report, format.value)])
    elif format is Format.terminal:
        from svdkit.explain.render_terminal import print_terminal

        print_terminal(report, Console())
    else:
        sys.stdout.write(render(report, format.value) + "\n")
    if figures is not None:
        from svdkit.plot.save import FigureRemovedWarning, FigureSkippedWarning, save_figures

        try:
            with warnings.catch_warnings(record=True) as skipped:
                warnings.simplefilter("always", FigureSkippedWarning)
                warnings.simplefilter("always", FigureRemovedWarning)
                # the source, not report.matrix: a float32 file keeps its tolerance rule
                written = save_figures(
                    source, figures, formats=formats, lang=lang.value, tol=tol
                )
            others = _remove_other_formats(figures, formats, lang.value)
        except OSError as err:
            raise SvdkitError(f"--figures: cannot write to '{figures}': {err}") from err
        err_console = Console(stderr=True)
        for w in skipped:  # a figure that cannot be drawn: a note, not a Python warning
            if issubclass(w.category, FigureSkippedWarning):
                err_console.print(f"note: {w.message}", highlight=False, markup=False)
            elif not issubclass(w.category, FigureRemovedWarning):  # (said below, all formats)
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        from svdkit.explain.messages import t

        names = ", ".join(p.name for p in written)
        done = "cli.figures_written" if written else "cli.figures_none"  # all skipped
        lines = [t(done, lang.value, count=len(written), folder=figures, names=names)]
        gone = written.removed
        if gone:  # then the figures of an earlier matrix removed from the folder, named
            key = "plot.removed.one" if len(gone) == 1 else "plot.removed.many"
            lines.append(t(key, lang.value, count=len(gone), folder=figures,
                           names=", ".join(p.name for p in gone)))
        if others:  # and those in the formats not asked for (of this matrix or another)
            lines.append(_other_formats_line(others, figures, lang.value))
        for line in lines:
            err_console.print(line, highlight=False, markup=False)


def _remove_other_formats(folder: Path, formats: tuple[str, ...], lang: str) -> list[Path]:
    """Remove the figures an earlier ``explain --figures`` wrote into ``folder`` in the
    formats other than ``formats`` (``--figure-format pdf`` after png and svg), and
    return them: the folder then holds only this matrix's figures, as without
    ``--figure-format``. Only files carrying svdkit's ``Creator`` mark are removed
    (:func:`svdkit.plot.save.save_figures`' rule); a user's ``spectrum.png`` beside a
    pdf figure is no conflict and is left without a word."""
    import warnings

    from svdkit.plot.save import FORMATS, StaleFigureWarning, _remove_stale

    others = tuple(f for f in FORMATS if f not in formats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StaleFigureWarning)
        return _remove_stale(folder, others, (), lang) if others else []


#: The line naming the figures removed for their format (``--figure-format pdf`` after
#: ``png,svg``): figures of this same matrix as often as of an earlier one, so it says
#: neither. (one, many) in each language of ``--lang``.
_OTHER_FORMATS_REMOVED = {
    "en": (
        "removed 1 figure file in another format ({formats}) from {folder}/: {names}",
        "removed {count} figure files in other formats ({formats}) from {folder}/: {names}",
    ),
    "fr": (
        "1 fichier de figure dans un autre format ({formats}) retiré de {folder}/ : {names}",
        "{count} fichiers de figures dans d'autres formats ({formats}) retirés de "
        "{folder}/ : {names}",
    ),
}


def _other_formats_line(removed: list[Path], folder: Path, lang: str) -> str:
    """The line naming the svdkit figures ``removed`` from ``folder`` because they are
    in a format this run does not write (:func:`_remove_other_formats`)."""
    one, many = _OTHER_FORMATS_REMOVED.get(lang, _OTHER_FORMATS_REMOVED["en"])
    formats = ", ".join(sorted({p.suffix.lstrip(".").lower() for p in removed}))
    return (one if len(removed) == 1 else many).format(
        count=len(removed), formats=formats, folder=folder,
        names=", ".join(p.name for p in removed),
    )


def _format_of_output(output: Path | None) -> Format:
    """The report format of ``--output`` without ``--format``: its extension's
    (:data:`_FORMAT_OF_SUFFIX`; ``"-o report.json"`` alone writes JSON, not the
    terminal's boxes into a .json file), the terminal's for standard output and for a
    device or descriptor (``/dev/stdout``, ``/dev/null``). Any other extension is
    refused: ``-o report.pdf`` wrote box-drawing text into a ``.pdf``."""
    from svdkit._files import written_through

    if output is None:
        return Format.terminal
    suffix = output.suffix.lower()
    if suffix in _FORMAT_OF_SUFFIX:
        return _FORMAT_OF_SUFFIX[suffix]
    if written_through(output):  # /dev/stdout, /dev/fd/63, a FIFO
        return Format.terminal
    from svdkit.errors import FileFormatError

    known = " ".join(dict.fromkeys(_FORMAT_OF_SUFFIX))
    raise FileFormatError(
        f"--output '{output}': cannot tell the report format from "
        f"{repr(suffix) if suffix else 'a name without an extension'}: name it with one of "
        f"{known}, or give --format (-f)"
    )


def _is_report(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) opens as a report ``explain`` wrote.

    Each format has its mark at a fixed place, never text a person's file could hold by
    mentioning the command (a ``notes.md`` saying "run `svdkit explain A.npy`" is no
    report): JSON's first key, ``"schema": "svdkit.explain"``; Markdown's
    title line ``# svdkit explain`` followed by the comment of
    :data:`svdkit.explain.render_markdown.REPORT_MARK`; LaTeX's ``\\documentclass`` line
    and HTML's doctype, each followed by its ``REPORT_MARK`` comment; the terminal text's
    title line ``svdkit explain`` followed by the top of its first box (``╭─``).
    """
    from svdkit.explain import render_html, render_latex, render_markdown
    from svdkit.explain.messages import LANGUAGES, t

    text = head.decode("utf-8", errors="replace")
    if _JSON_REPORT.match(text):
        return True
    first, second = ([*text.split("\n", 2), "", ""])[:2]
    first, second = first.removesuffix("\r"), second.removesuffix("\r")
    titles = {t("title", lang) for lang in LANGUAGES}
    return (
        (first in {f"# {title}" for title in titles} and second == render_markdown.REPORT_MARK)
        or (first.startswith("\\documentclass") and second == render_latex.REPORT_MARK)
        or (first == "<!DOCTYPE html>" and second == render_html.REPORT_MARK)
        or (first in titles and second.startswith("╭─"))
    )


def _check_report_owner(output: Path) -> None:
    """Refuse an existing ``--output`` file that is no report of ``explain``: a matrix
    (``data.npy``), a model, a person's notes, any file svdkit did not write. A report
    opens with its format's mark (:func:`_is_report`); an empty file may be replaced
    too. A device, FIFO or descriptor (``/dev/null``, ``/dev/stdout``) is written
    into, not replaced."""
    from svdkit._files import written_through
    from svdkit.errors import FileFormatError

    if written_through(output) or not output.exists():  # (a dangling link: written through)
        return
    try:
        with open(output, "rb") as f:
            head = f.read(8192)
    except OSError as err:
        raise FileFormatError(f"cannot read '{output}': {err.strerror or err}") from None
    if head and not _is_report(head):
        raise FileFormatError(
            f"--output '{output}' exists and is not a report svdkit explain wrote (it does "
            "not open with a report's header): refusing to replace it; choose another "
            "path, or remove it first"
        )


def _check_explain_size(text: str) -> None:
    """Refuse a matrix file too large for ``explain`` from its header, before reading it.

    A ``.npy`` file's header, a Matrix Market file's size line and a sparse ``.npz``
    file's ``shape`` give the shape at once (a 100000×200000 ``.mtx`` of two entries
    was refused only when densified, with Python's advice, ``sparse=True``). Other
    inputs are checked by :func:`svdkit.explain.explain` once read (a matrix file of
    any other kind, or text, takes about as long to read as to refuse). A file that
    cannot be opened this way is left to the loader, whose error names the problem.
    """
    suffix = text[-4:].lower()
    if len(text) >= 4096 or "\n" in text or suffix not in (".npy", ".mtx", ".npz"):
        return
    path = Path(text)
    if not path.is_file():
        return
    import numpy as np

    from svdkit.explain.build import check_size

    try:  # only the header is read
        if suffix == ".npy":
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
        elif suffix == ".mtx":
            import scipy.io

            shape = tuple(scipy.io.mminfo(str(path))[:2])
        else:
            with np.load(path, allow_pickle=False) as npz:
                sparse = {"format", "shape"} <= set(npz.files)  # scipy.sparse.save_npz's
                shape = tuple(int(d) for d in npz["shape"]) if sparse else ()
    except Exception:  # not a valid file of its kind: svdkit.load says why
        return
    if len(shape) == 2:
        check_size(shape, text)


def _register_subcommands() -> None:
    from svdkit.cli import lsi_command, svd_command

    svd_command.register(app)
    lsi_command.register(app)
    from svdkit.cli import lora_command

    lora_command.register(app)


_register_subcommands()


def _check_output_file(path: Path, option: str) -> None:
    """Refuse, before any work, an output file that cannot be written (clear errors)."""
    from svdkit._files import check_file_output

    check_file_output(path, f"{option} file", folder_exists=True)


def _figure_formats(text: str) -> tuple[str, ...]:
    """The formats of ``--figure-format`` (``"png,svg"``, ``"pdf"``): each a format
    :func:`svdkit.plot.save_figures` writes, in order, without repeats.

    Examples
    --------
    >>> _figure_formats("PNG, pdf,png")
    ('png', 'pdf')
    """
    formats = tuple(dict.fromkeys(w.strip().lower().lstrip(".") for w in text.split(",")))
    known = ("png", "svg", "pdf")  # (svdkit.plot.save.FORMATS, without importing matplotlib)
    unknown = [f for f in formats if f not in known]
    if unknown or not text.strip():
        shown = ", ".join(repr(f) for f in unknown) if unknown else "nothing"
        raise SvdkitError(
            f"--figure-format: got {shown}; give some of {', '.join(known)}, comma-separated "
            "(e.g. png,svg,pdf)"
        )
    return formats


def _check_figures_folder(path: Path, formats: tuple[str, ...] = ("png", "svg")) -> None:
    """``--figures`` names a folder: refuse an existing file or a path under one, and
    refuse the option without matplotlib, before the report is made or written.

    Of the figure names, only ``spectrum`` (every matrix gets it) is checked here; the
    others once A is read (:func:`_check_figure_names`): a user's ``svd_geometry.svg``
    is refused only when A's figures include ``svd_geometry``."""
    from svdkit._files import check_directory_output
    from svdkit.errors import MissingDependencyError

    check_directory_output(path, "--figures folder")
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(
            "--figures needs matplotlib (pip install 'svdkit[plot]')"
        ) from err
    except Exception as err:  # (an invalid MPLBACKEND: matplotlib refuses to start)
        hint = " (check the MPLBACKEND environment variable)" if "backend" in str(err) else ""
        raise SvdkitError(f"--figures: matplotlib cannot start: {err}{hint}") from err
    from svdkit.plot.save import check_figures_folder

    # a user's spectrum.png: not replaced
    check_figures_folder(path, formats, names=("spectrum",))


def _check_figure_names(path: Path, source, formats: tuple[str, ...] = ("png", "svg")) -> None:
    """Refuse, before the report is written, a user's file under the name of a figure
    that A gets (what :func:`svdkit.plot.save_figures` checks before drawing); a user's
    file under another figure's name is left, with a note, as ``save_figures`` does."""
    from svdkit.plot.save import applicable_figures, check_figures_folder

    check_figures_folder(path, formats, names=applicable_figures(source))


def _write_atomic(path: Path, pieces: Iterable[str]) -> None:
    """Write the text ``pieces`` (and a final newline) to ``path``, UTF-8, atomically
    (:func:`svdkit._files.write_file`: a unique temporary file that never outlives the
    call; the mode of a file written again kept; a link written through; a device
    such as ``/dev/null`` written into, not replaced)."""
    from svdkit._files import write_file

    def write(f) -> None:
        for piece in pieces:
            f.write(piece.encode("utf-8"))
        f.write(b"\n")

    try:
        write_file(path, write)
    except OSError as err:
        raise SvdkitError(f"cannot write '{path}': {err.strerror or err}") from err


#: Matrix text that starts with a minus sign and a number: ``-1 2; 3 4``, ``-.5``, ``-inf 0``.
_NEGATIVE_TEXT = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)


def _is_matrix_token(token: str, options: set[str], short_valued: set[str]) -> bool:
    """Whether ``token``, an argument of ``explain`` that starts with ``-``, is the
    matrix (``-1 2; 3 4``, ``-i 2; 3 i``, ``-pi``, ``-√2 1; 1 2``, ``-sqrt(2)``,
    ``-\\frac12``, ``-(1+2) 1; 1 2``) rather than an option.

    An option's name (``-f``, ``--tol``, ``--tol=1e-3``) is an option; so is a short
    option with its value attached (``-fjson``, ``-lfr``), unless it is matrix text.
    Otherwise the token is the matrix when it starts with a minus sign and a number,
    reads as matrix text, or cannot be an option: its second character is no ASCII
    letter (``-[1e400]``, ``-\\frac{1}{``), or it holds whitespace or a bracket,
    backslash, ``;`` or ``^`` (``-sqrt(``), which no option name holds; such text with
    a mistake gets the parse error it gets without the minus. A mistyped option
    (``-x``, ``-fjsn``, ``--bogus``) stays one, which the parser names ("No such
    option").
    """
    from svdkit.errors import ParseError
    from svdkit.inputs import parse_matrix_text

    if token == "-" or not token.startswith("-"):
        return False
    if token in options or (token.startswith("--") and token.split("=", 1)[0] in options):
        return False
    if _NEGATIVE_TEXT.match(token):
        return True
    try:
        parse_matrix_text(token)
    except ParseError:
        parses = False
    except SvdkitError:  # matrix text with a mistake (ragged rows…): explain names it
        parses = True
    else:
        parses = True
    if parses:
        return True
    if token.startswith("--") or token[:2] in short_valued:
        return False
    second = token[1:2]
    if not (second.isascii() and second.isalpha()):  # -[, -\, -(, -√, -{: no option's name
        return True
    # (no option name holds these, and -x's value is attached only to -f, -o, -l)
    return any(ch.isspace() or ch in _MATRIX_MARKS for ch in token)


#: Characters of matrix text that no option name holds (``-sqrt(``, ``-a[1 2``).
_MATRIX_MARKS = frozenset("()[]{}\\;^")


def guard_negative_matrix(argv: list[str]) -> list[str]:
    """``argv`` with an ``explain`` matrix that starts with a minus sign moved last,
    after ``--``.

    The parser took ``svdkit explain "-1 2; 3 4"`` for an unknown option ``-1``
    ("No such option"), and ``"-i 2; 3 i"``, ``"-pi"`` or ``"-√2 1; 1 2"`` alike. An
    argument that starts with ``-``, is no option of explain nor an option's value,
    and is matrix text or holds whitespace (:func:`_is_matrix_token`), is the matrix,
    explain's one positional argument. It goes after the options that follow it,
    which ``--`` would otherwise turn into extra arguments (``"-1 2; 3 4" -f json``).

    >>> guard_negative_matrix(["explain", "--tol", "1e-3", "-1 2; 3 4"])
    ['explain', '--tol', '1e-3', '--', '-1 2; 3 4']
    >>> guard_negative_matrix(["explain", "-pi 1; 1 pi", "-f", "json"])
    ['explain', '-f', 'json', '--', '-pi 1; 1 pi']
    >>> guard_negative_matrix(["explain", "-f", "json", "1 2"])
    ['explain', '-f', 'json', '1 2']
    """
    command = next((a for a in argv if not a.startswith("-")), None)
    if command != "explain" or "--" in argv:  # (not `svdkit lsi query IDX explain …`)
        return argv
    explain_cmd = getattr(typer.main.get_command(app), "commands", {}).get("explain")
    if explain_cmd is None:
        return argv
    valued = {  # (an argument's is_flag is None; typer bundles its own click)
        name
        for p in explain_cmd.params
        if getattr(p, "is_flag", None) is False
        for name in (*p.opts, *p.secondary_opts)
    }
    options = {
        name
        for p in explain_cmd.params
        if getattr(p, "is_flag", None) is not None
        for name in (*p.opts, *p.secondary_opts)
    } | {"--help"}
    short_valued = {name for name in valued if len(name) == 2}
    i = argv.index("explain") + 1
    while i < len(argv):
        token = argv[i]
        if token in valued:
            i += 2  # (its value may itself start with a minus sign)
            continue
        if _is_matrix_token(token, options, short_valued):
            return [*argv[:i], *argv[i + 1 :], "--", token]
        i += 1
    return argv


def _tolerant_streams() -> None:
    """Standard output and error that never fail on a character their encoding lacks.

    Under a locale that is not UTF-8 (``LC_ALL=en_US.ISO-8859-1``), printing σ or →
    raised ``UnicodeEncodeError`` in every command, ``--help`` included. Such
    characters are written as JSON's escapes (``\\u03c3``, a surrogate pair beyond
    U+FFFF), whatever the encoding lacks (é on an ASCII stream too): inside a JSON
    string they are JSON's own escapes, so the JSON stays valid and means the same.
    """
    import codecs

    codecs.register_error(_ESCAPES, _json_escapes)
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if stream is not None and encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=_ESCAPES)


#: The codec error handler of :func:`_tolerant_streams`.
_ESCAPES = "svdkit.json-escapes"


def _json_escapes(err: UnicodeError) -> tuple[str, int]:
    """``\\uXXXX`` for each character an encoding lacks (JSON's escapes)."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    out = []
    for ch in err.object[err.start : err.end]:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), err.end


def _error(message: str) -> NoReturn:
    """Print ``error: message`` on standard error and exit with code 2."""
    from rich.markup import escape

    # the message quotes the user's input ("[[nan,1]]"): text, not Rich markup
    Console(stderr=True).print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True
    )
    raise SystemExit(2)


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last flush
    of what could not be written fails no more (and says nothing)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _usage_error(err: Exception) -> NoReturn:
    """A usage error of typer (click) as one ``error: …`` line, as svdkit's own errors are.

    typer's own display is a usage line, a hint and a framed panel; ``svdkit lsi`` with
    no subcommand has had its help printed already and exits with code 2.
    """
    if type(err).__name__ == "NoArgsIsHelpError":  # (typer tests the name, too)
        raise SystemExit(2) from None
    format_message = getattr(err, "format_message", None)
    message = format_message() if callable(format_message) else str(err)
    message = message.replace("Value error, ", "").rstrip(".")  # (pydantic's prefix)
    ctx = getattr(err, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    _error(f"{message}{where}")


def main() -> None:
    """Entry point: run the app, turning svdkit errors into one clear line and exit code 2.

    So are a closed standard output, and a failed write (``> /dev/full``: "No space
    left on device"); a reader that went away (``| head``) ends the command quietly.
    """
    _tolerant_streams()
    if sys.stdout is None:
        _error("standard output is closed: svdkit writes its results there")
    try:
        # not standalone: click's usage errors come back here, to be one line as ours are
        code = app(
            args=guard_negative_matrix(sys.argv[1:]), prog_name="svdkit", standalone_mode=False
        )
    except typer.TyperException as err:  # a bad option or value: `-k abc`, `--bogus`
        _usage_error(err)
    except typer.Abort:
        Console(stderr=True).print("Aborted!", highlight=False)
        raise SystemExit(1) from None
    except SvdkitError as err:
        _error(str(err))
    except MemoryError as err:  # (loading a file, densifying, an exact computation…)
        detail = f" ({err})" if str(err) else ""  # (NumPy's names the array it wanted)
        _error(
            f"not enough memory for this command{detail}: the input is too large for this "
            "machine (svdkit svd reads .npy files out of core, within --memory-limit)"
        )
    except BrokenPipeError:
        _silence_stdout()
        raise SystemExit(1) from None
    except OSError as err:  # (standard output on a full disk: no file name)
        _silence_stdout()
        where = f" ('{err.filename}')" if err.filename else ""
        _error(f"{err.strerror or err}{where}")
    if isinstance(code, int) and code != 0:  # `raise typer.Exit(code)`, Ctrl-C (130)
        raise SystemExit(code)
