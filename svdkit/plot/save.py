"""Write every figure that applies to a matrix, atomically, as PNG and SVG.

Which figures apply to A (m×n):

* ``svd_geometry`` — A real, with 2 or 3 columns and at most 3 rows;
* ``quadratic_form`` — A real, 2×2 and symmetric;
* ``spectrum`` — always.

A complex A whose shape fits the first two gets a :class:`FigureSkippedWarning`
saying why they are not drawn (as does a figure that cannot be drawn at A's scale).

Each file is written to a temporary file in the target directory, then renamed
over the final name (``os.replace``), so that a reader never sees half a file.
Each carries :data:`FIGURE_MARK` as its ``Creator`` metadata (a PNG ``tEXt`` chunk, the
PDF information dictionary, the SVG ``<metadata>``; read there, not anywhere in the
file: :func:`_marked`). An existing file of the same name is replaced only when it
carries it too (:func:`check_figures_folder`). The files hold no date or software
version, and SVG files are written with a fixed ``svg.hashsalt`` (their marker ids are
random otherwise), so that the same figure gives the same bytes in every format. A figure
file of an earlier call that this call does not write again (another matrix's
``quadratic_form.png``) is removed when it carries the mark, so that the folder holds
only A's figures, and the removal is said: a :class:`FigureRemovedWarning` names the
files removed, which the returned list holds too (:attr:`SavedFigures.removed`). One
without the mark is the user's and is left, with a :class:`StaleFigureWarning` saying so.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from svdkit.errors import FileFormatError, SvdkitError
from svdkit.inputs import as_matrix
from svdkit.inputs.files import check_path
from svdkit.linalg.structure import is_hermitian, is_symmetric
from svdkit.linalg.tolerance import zero_threshold
from svdkit.plot._common import FigureRangeError, catalogue, matrix_of, stored_matrix, t
from svdkit.plot.geometry import svd_geometry
from svdkit.plot.quadratic import quadratic_form
from svdkit.plot.spectrum import spectrum

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = [
    "FIGURES",
    "FIGURE_MARK",
    "FORMATS",
    "FigureRemovedWarning",
    "FigureSkippedWarning",
    "SavedFigures",
    "StaleFigureWarning",
    "applicable_figures",
    "check_figures_folder",
    "complex_skipped",
    "save_figures",
]


class FigureSkippedWarning(UserWarning):
    """:func:`save_figures` skipped a figure that cannot be drawn (entries beyond 1e300,
    a nonzero A whose entries all lie below 1e−280, σ₁ beyond the largest float, a
    complex A for the pictures of real space).

    The limits are :data:`svdkit.plot._common.MAX_ENTRY` and
    :data:`svdkit.plot._common.MIN_ENTRY` (matplotlib takes an axis range below about
    2e−287 as empty) for ``svd_geometry`` and ``quadratic_form``; the spectrum is drawn
    on a log axis down to the smallest subnormal float."""


class StaleFigureWarning(FigureSkippedWarning):
    """:func:`save_figures` left a file under a figure's name that it did not write this
    time (it would have removed an earlier figure of its own there): the file lacks
    :data:`FIGURE_MARK`, so it is the user's, or not a regular file, and is not this
    matrix's figure. A subclass of :class:`FigureSkippedWarning`, so that ``svdkit
    explain --figures`` prints it as a note too."""


class FigureRemovedWarning(UserWarning):
    """:func:`save_figures` removed figure files that an earlier call wrote to the folder
    (they carry :data:`FIGURE_MARK`) and that this call does not write again: the figures
    of an earlier matrix. One warning per call, in the figures' language, naming every file
    removed (``removed 2 figure files of an earlier matrix from figs/: svd_geometry.svg,
    quadratic_form.svg``); the returned :class:`SavedFigures` lists them in ``removed``.
    Not a :class:`FigureSkippedWarning`: nothing of this matrix was left out."""


class SavedFigures(list[Path]):
    """The files :func:`save_figures` wrote (a ``list`` of :class:`~pathlib.Path`), with
    ``removed``: the figure files of an earlier call it removed from the folder.

    Attributes
    ----------
    removed : list of pathlib.Path
        The marked figure files this call removed (empty when none), in the order of
        :data:`FIGURES`, format by format.
    """

    removed: list[Path]

    def __init__(self, written: Sequence[Path] = (), removed: Sequence[Path] = ()) -> None:
        super().__init__(written)
        self.removed = list(removed)


#: The file formats :func:`save_figures` writes.
FORMATS = ("png", "svg", "pdf")

#: Resolution of the PNG files.
PNG_DPI = 150

#: The names of every figure :func:`save_figures` may write, in its order.
FIGURES = ("svd_geometry", "quadratic_form", "spectrum")

#: The ``Creator`` of every figure file :func:`save_figures` writes: the mark that lets
#: a later call replace it (a user's ``spectrum.png`` in the folder is never replaced).
FIGURE_MARK = "svdkit explain --figures"

#: A figure file larger than this is no figure of :func:`save_figures` (not read).
_LARGEST_FIGURE = 64 * 2**20


def _marked(path: Path) -> bool:
    """Whether the regular file ``path`` carries :data:`FIGURE_MARK` as its ``Creator``.

    The mark is read where :func:`save_figures` writes it, by the file's format (its
    suffix): a PNG's ``tEXt`` chunk ``Creator`` before the image data, the ``/Creator``
    of a PDF's document information dictionary (found through its trailer and its
    cross-reference table), the ``dc:creator`` of an SVG's ``<metadata>``, the first
    element of its root. A file that merely holds the words elsewhere (a caption, a note,
    a comment) is not svdkit's.

    Only the mark vouches for a file: a figure of an svdkit from before the mark, like
    a user's own picture of the same name, is refused (remove it, or choose another
    folder) — no format or content tells the two apart.
    """
    read = {".png": _png_creator, ".svg": _svg_creator, ".pdf": _pdf_creator}.get(
        path.suffix.lower()
    )
    if read is None:
        return False
    try:
        if path.stat().st_size > _LARGEST_FIGURE:
            return False
        with open(path, "rb") as handle:
            return read(handle) == FIGURE_MARK
    except (OSError, ValueError):
        return False


def _png_creator(handle) -> str | None:
    """The ``Creator`` text of a PNG (its ``tEXt`` chunks before the image data)."""
    import struct

    if handle.read(8) != b"\x89PNG\r\n\x1a\n":
        return None
    while True:
        head = handle.read(8)
        if len(head) < 8:
            return None
        size, kind = struct.unpack(">I", head[:4])[0], head[4:]
        if kind in (b"IDAT", b"IEND") or size > 2**20:
            return None  # (matplotlib writes its text chunks before the image)
        data = handle.read(size)
        handle.read(4)  # CRC
        if kind == b"tEXt" and b"\0" in data:
            key, _, text = data.partition(b"\0")
            if key == b"Creator":
                return text.decode("latin-1")


#: The opening of an SVG file up to its first element inside the root, ``<metadata>``.
_SVG_HEAD = (
    rb"\s*(?:<\?xml[^>]*\?>\s*)?(?:<!DOCTYPE[^>\[]*>\s*)?(?:<!--.*?-->\s*)?"
    rb"<svg\b[^>]*>\s*(<metadata>.*?</metadata>)"
)


def _svg_creator(handle) -> str | None:
    """The ``dc:creator`` agent's title of an SVG's ``<metadata>`` (the root's first
    element, as matplotlib writes it; parsed as XML, without any document type)."""
    import re
    from xml.etree import ElementTree

    found = re.match(_SVG_HEAD, handle.read(1 << 16), re.DOTALL)
    if found is None:
        return None
    try:
        meta = ElementTree.fromstring(found.group(1))
    except ElementTree.ParseError:
        return None
    ns = {
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "cc": "http://creativecommons.org/ns#",
        "dc": "http://purl.org/dc/elements/1.1/",
    }
    titles = meta.findall("rdf:RDF/cc:Work/dc:creator/cc:Agent/dc:title", ns)
    return titles[0].text if len(titles) == 1 else None


def _pdf_creator(handle) -> str | None:
    """The ``/Creator`` of a PDF's information dictionary: the trailer's ``/Info``
    object, found at the offset its cross-reference table gives (a literal string
    without escapes, as matplotlib writes it)."""
    import re

    if handle.read(5) != b"%PDF-":
        return None
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - 4096))
    tail = handle.read()
    start = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", tail)
    trailer = re.search(rb"trailer\s*<<(.*?)>>\s*startxref", tail, re.DOTALL)
    info = trailer and re.search(rb"/Info\s+(\d+)\s+0\s+R\b", trailer.group(1))
    if not (start and info):
        return None
    number = int(info.group(1))
    handle.seek(int(start.group(1)))
    table = re.match(rb"xref\s+(\d+)\s+(\d+)\s", handle.read(64))
    if table is None or not int(table.group(1)) <= number < int(table.group(1)) + int(
        table.group(2)
    ):
        return None
    handle.seek(int(start.group(1)) + table.end() + 20 * (number - int(table.group(1))))
    entry = re.match(rb"\s*(\d{10}) (\d{5}) n", handle.read(21))
    if entry is None:
        return None
    handle.seek(int(entry.group(1)))
    obj = re.match(
        rb"%d 0 obj\s*<<(.*?)>>\s*endobj" % number, handle.read(4096), re.DOTALL
    )
    creator = obj and re.search(rb"(?:^|\s)/Creator\s*\(([^()\\]*)\)", obj.group(1))
    return creator.group(1).decode("latin-1") if creator else None


def check_figures_folder(
    directory: str | os.PathLike[str],
    formats: Sequence[str] = ("png", "svg"),
    names: Sequence[str] = FIGURES,
) -> Path:
    """Check, before anything is drawn, that the figures can be written to ``directory``.

    The folder may be new, or an existing directory; each ``name.fmt`` file that
    already exists there is replaced only when :func:`save_figures` wrote it (it
    carries :data:`FIGURE_MARK`): a user's file, a folder or a FIFO of that name is
    refused.

    Returns
    -------
    Path
        ``directory`` as a :class:`~pathlib.Path`.

    Raises
    ------
    FileFormatError
        ``directory`` is a file or lies under one, takes no new file, or holds a
        ``name.fmt`` svdkit did not write.
    """
    from svdkit._files import check_directory_output

    out = check_directory_output(directory, "figures folder")
    for name in names:
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            if not (path.exists() or path.is_symlink()):
                continue
            if not path.is_file():
                raise FileFormatError(
                    f"'{path}' exists and is not a regular file: the figure would replace "
                    "it; choose another folder"
                )
            if not _marked(path):
                raise FileFormatError(
                    f"'{path}' exists and is not a figure svdkit wrote: refusing to "
                    "replace it; choose another folder, or remove it first"
                )
    return out


def applicable_figures(A: ArrayLike | str) -> list[str]:
    """The names of the figures that apply to ``A``, in the order they are saved.

    Examples
    --------
    >>> applicable_figures([[2, 1], [1, 3]])
    ['svd_geometry', 'quadratic_form', 'spectrum']
    >>> applicable_figures([[1, 2, 3], [4, 5, 6]])
    ['svd_geometry', 'spectrum']
    >>> applicable_figures([[1j, 0], [0, 1]])
    ['spectrum']
    """
    a = as_matrix(matrix_of(A, "applicable_figures"))
    m, n = a.shape
    real = not np.iscomplexobj(a)
    names = []
    if real and n in (2, 3) and m <= 3:
        names.append("svd_geometry")
    if real and (m, n) == (2, 2) and is_symmetric(a):
        names.append("quadratic_form")
    names.append("spectrum")
    return names


def complex_skipped(A: ArrayLike | str) -> list[str]:
    """The figures a complex ``A`` would get were it real: its shape fits them, but they
    draw real space only (:func:`save_figures` says so, in a :class:`FigureSkippedWarning`).

    Examples
    --------
    >>> complex_skipped([[2, 1j], [-1j, 2]])
    ['svd_geometry', 'quadratic_form']
    >>> complex_skipped([[2, 1], [1, 2]])
    []
    """
    a = as_matrix(matrix_of(A, "complex_skipped"))
    if not np.iscomplexobj(a):
        return []
    m, n = a.shape
    names = []
    if n in (2, 3) and m <= 3:
        names.append("svd_geometry")
    if (m, n) == (2, 2) and is_hermitian(a):
        names.append("quadratic_form")
    return names


def _write_atomically(fig: Figure, path: Path, fmt: str) -> None:
    """``fig.savefig`` to ``path`` atomically (:func:`svdkit._files.write_file`: a file
    written again keeps its mode, a new one gets the umask's)."""
    import matplotlib as mpl

    from svdkit._files import write_file

    # no date or software version: the same figure gives the same file
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "Producer": None}}.get(
        fmt, {"Software": None}
    )
    metadata["Creator"] = FIGURE_MARK  # (which lets a later call replace the file)
    # (matplotlib's log scale overflows inside exp for σ near the largest float: the
    # ticks it drops are outside the axis, nothing drawn is lost). The SVG ids of
    # markers and clip paths are random unless svg.hashsalt is set: set here only, for
    # this file (the caller's rcParams are left as they are)
    with np.errstate(over="ignore"), mpl.rc_context({"svg.hashsalt": "svdkit"}):
        write_file(path, lambda handle: fig.savefig(handle, format=fmt, dpi=PNG_DPI,
                                                    metadata=metadata))


def save_figures(
    A: ArrayLike | str,
    directory: str | os.PathLike[str],
    *,
    formats: Sequence[str] | str = ("png", "svg"),
    lang: str = "en",
    tol: float | None = None,
) -> SavedFigures:
    """Write every figure that applies to ``A`` into ``directory``.

    The files are named after the figure and the format:
    ``svd_geometry.png``, ``quadratic_form.svg``, ``spectrum.png``, … (see the
    module docstring for which figures apply).

    Parameters
    ----------
    A : array_like, str, path or SVD
        Any matrix :func:`svdkit.as_matrix` accepts, or an :class:`svdkit.SVD` that
        holds its matrix (``svdkit.svd(A)``; one without it is refused).
    directory : str or path-like
        Where to write; created (with its parents) if missing. Not empty (``"."``
        is the current directory).
    formats : str or sequence of {"png", "svg", "pdf"}
        The file formats, in order.
    lang : {"en", "fr"}
        Language of every word in the figures.
    tol : float, optional
        Absolute zero threshold replacing the tolerance rule in every figure (the
        ranks, the definiteness, the threshold drawn), as ``svdkit explain --tol``.

    Returns
    -------
    SavedFigures
        The files written by this call, figure by figure, format by format (a
        ``list`` of :class:`~pathlib.Path`). A
        file ``name.fmt`` (a figure name of :data:`FIGURES`, a format of
        ``formats``) that this call does not write, because the figure does not
        apply to ``A`` or is skipped, is removed when an earlier call wrote it (it
        carries :data:`FIGURE_MARK`): a folder reused for another matrix (a 2×2
        one, then a 1×4 one) does not keep that matrix's ``quadratic_form.*``
        beside ``A``'s ``spectrum.*``. The files removed are in the list's
        ``removed`` attribute, and a :class:`FigureRemovedWarning` names them. A
        file without the mark is never removed (a :class:`StaleFigureWarning`
        names it), nor is any other file, nor a file of a format not in ``formats``.

    Raises
    ------
    SvdkitError
        Invalid input, an unknown format or language, a ``directory`` that is not a
        path (``None``, ``""``…), ``formats`` that are not format names.
    FileFormatError
        ``directory`` is a file or lies under one, or holds a file of a figure's name
        that svdkit did not write (:func:`check_figures_folder`), checked before any
        figure is drawn; or a write failed (named with the path).

    Warns
    -----
    FigureSkippedWarning
        A figure that applies to ``A`` but cannot be drawn (``svd_geometry`` and
        ``quadratic_form`` draw a nonzero ``A`` whose largest entry lies between
        1e−280 and 1e300 in magnitude, :data:`svdkit.plot._common.MIN_ENTRY` and
        :data:`svdkit.plot._common.MAX_ENTRY`; ``spectrum`` singular values up to the
        largest float) is skipped, with this warning naming it and the limit; it is not in the
        returned list. A complex ``A`` whose shape
        fits ``svd_geometry`` or ``quadratic_form`` gets this warning too (in
        ``lang``), saying why they are not drawn: they picture real space.
    StaleFigureWarning
        A file under the name of a figure this call does not write, left in place
        because svdkit did not write it (it is not ``A``'s figure).
    FigureRemovedWarning
        Figure files of an earlier call removed (see Returns), named, in ``lang``.

    Notes
    -----
    ``A`` stored in float32 (an array, or a ``.npy`` file) keeps that precision in
    every figure: ranks, thresholds and definiteness use float32's eps, as
    :func:`svdkit.rank` and ``svdkit explain`` do. Pass the source itself (not
    ``as_matrix(A)``, which is float64) for that.

    Examples
    --------
    >>> import tempfile
    >>> from svdkit.plot import save_figures
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = save_figures([[3, 0], [0, -2]], tmp, formats=("svg",))
    ...     [p.name for p in paths], paths.removed
    (['svd_geometry.svg', 'quadratic_form.svg', 'spectrum.svg'], [])
    """
    catalogue(lang)
    out = check_path(directory, "directory")
    # every argument is checked before the folder is made: a bad one leaves nothing
    zero_threshold((1,), 0.0, np.float64, tol)  # (tol: a finite number >= 0, or None)
    if isinstance(formats, str):
        formats = (formats,)
    if isinstance(formats, bytes | bytearray) or (
        isinstance(formats, Sequence) and any(isinstance(f, bytes | bytearray) for f in formats)
    ):
        raise SvdkitError(
            "save_figures: formats must be format names as str (some of "
            f"{', '.join(FORMATS)}), not bytes; got {formats!r:.60}"
        )
    try:
        # one file per format: "png", "PNG" and ".png" name the same one
        formats = tuple(dict.fromkeys(str(f).lower().lstrip(".") for f in formats))
    except TypeError:  # None, a number, True: not a sequence of names
        raise SvdkitError(
            f"save_figures: formats must be a format name or a sequence of them (some of "
            f"{', '.join(FORMATS)}); got {type(formats).__name__}: {formats!r:.60}"
        ) from None
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise SvdkitError(
            f"save_figures: unknown format {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"use some of {', '.join(FORMATS)}"
        )
    A = matrix_of(A, "save_figures")
    a = as_matrix(A)
    names = applicable_figures(a)
    # float32 data (an array or a .npy file): every figure gets it in that precision
    stored = stored_matrix(A, a)
    from svdkit._files import write_error

    check_figures_folder(out, formats, names)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(out, err) from err
    draw = {"svd_geometry": svd_geometry, "quadratic_form": quadratic_form, "spectrum": spectrum}
    for name in complex_skipped(a):  # said, not silently left out
        warnings.warn(t(f"plot.skipped.complex.{name}", lang), FigureSkippedWarning, stacklevel=2)
    written: list[Path] = []
    for name in names:
        try:
            fig = draw[name](stored, lang=lang, tol=tol)
        except FigureRangeError as err:  # raised before any drawing
            # in the report's language, as the notes on a complex A
            note = t("plot.skipped.range", lang, figure=name, reason=err.text(lang))
            warnings.warn(note, FigureSkippedWarning, stacklevel=2)
            continue
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            try:
                _write_atomically(fig, path, fmt)
            except OSError as err:
                raise write_error(path, err) from err
            written.append(path)
    removed = _remove_stale(out, formats, written, lang)
    if removed:  # nothing is lost without a word
        key = "plot.removed.one" if len(removed) == 1 else "plot.removed.many"
        names = ", ".join(p.name for p in removed)
        warnings.warn(t(key, lang, count=len(removed), folder=out, names=names),
                      FigureRemovedWarning, stacklevel=2)
    return SavedFigures(written, removed)


def _remove_stale(
    out: Path, formats: Sequence[str], written: Sequence[Path], lang: str = "en"
) -> list[Path]:
    """Remove every ``name.fmt`` in ``out`` (:data:`FIGURES` × ``formats``) that is not in
    ``written`` and that an earlier call wrote (a regular file carrying
    :data:`FIGURE_MARK`, not a link), and return those removed; warn about any other file
    of such a name, left."""
    keep = set(written)
    removed: list[Path] = []
    for name in FIGURES:
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            if path in keep or not (path.exists() or path.is_symlink()):
                continue
            if path.is_file() and not path.is_symlink() and _marked(path):
                try:
                    path.unlink()
                except FileNotFoundError:  # (removed meanwhile)
                    continue
                except OSError as err:  # (the ones removed before it are named too)
                    done = f" (removed before it: {', '.join(p.name for p in removed)})"
                    raise FileFormatError(
                        f"cannot remove '{path}', a figure of an earlier matrix: "
                        f"{err.strerror or err}{done if removed else ''}"
                    ) from err
                removed.append(path)
                continue
            warnings.warn(t("plot.stale", lang, path=path), StaleFigureWarning, stacklevel=3)
    return removed
