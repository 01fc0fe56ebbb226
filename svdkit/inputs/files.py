"""Reading a matrix from a file, chosen by its extension.

Every reader returns a raw NumPy array, SciPy sparse matrix, nested list or
already-parsed text array; :func:`svdkit.load` then validates it like any other
input. Nothing is ever unpickled.

=========  ===============================================================
extension  content
=========  ===============================================================
``.npy``   one NumPy array (``np.save``); object arrays are refused
``.npz``   a SciPy sparse matrix (``scipy.sparse.save_npz``), or exactly one array
``.csv``   comma-separated rows; entries may be any expression (``1/2``, ``1+2i``)
``.tsv``   tab-separated rows
``.txt``   any matrix notation (whitespace columns, MATLAB, nested lists, LaTeX)
``.json``  a list of rows (lists of numbers), or one list (a column vector); numbers
           follow the text rules (at most 4000 digits, exponents up to 10000);
           ``true``, ``false`` and ``null`` are refused, named by row and column
``.tex``   a LaTeX document or snippet with exactly one matrix environment
``.mtx``   Matrix Market (``scipy.io.mmwrite``), dense or sparse
=========  ===============================================================
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import tokenize
from pathlib import Path
from typing import Any

import numpy as np

from svdkit.errors import (
    FileFormatError,
    MissingFileError,
    NonFiniteError,
    ParseError,
    RaggedError,
    SvdkitError,
)
from svdkit.inputs.expr import MAX_DIGITS, MAX_EXPONENT, clip
from svdkit.inputs.shape import count_entries, nested_entry_error
from svdkit.inputs.text import text_to_array

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "FolderTextError",
    "JSONNumberError",
    "any_file_name",
    "check_path",
    "cli_file_path",
    "cli_path",
    "folder_error",
    "matrix_file_name",
    "names_folder",
    "names_matrix_file",
    "read_matrix_file",
    "read_npy_header",
    "stored_dtype",
]

SUPPORTED_EXTENSIONS = (".npy", ".npz", ".csv", ".tsv", ".txt", ".json", ".tex", ".mtx")

#: The extensions that make a one-line ``str`` a file name (:func:`names_matrix_file`).
MATRIX_FILE_SUFFIXES = (".npy", ".npz", ".mtx")

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def check_path(path: Any, name: str = "path", *, what: str = "a path (str or os.PathLike)") -> Path:
    """``path`` as a :class:`~pathlib.Path`: a non-empty ``str`` or ``os.PathLike``.

    The one check of every path argument (``load``, ``load_index``, ``save_index``,
    ``save_figures``…), made before any work: ``None``, a number or bytes would
    otherwise raise a raw ``TypeError`` from deep inside, and ``""`` would name the
    current directory. :mod:`svdkit.lora` checks its paths here too, so that one
    ``except FileFormatError`` catches an empty path wherever it is given.

    Parameters
    ----------
    path : object
        The value to check.
    name : str
        The argument's name, for the message.
    what : str
        What the argument may be, for the message when ``path`` is not a path: a
        caller that also takes an object says so (``"a path (str or os.PathLike) or
        a Checkpoint"``).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    SvdkitError
        ``path`` is not a ``str`` or ``os.PathLike`` (of ``str``).
    FileFormatError
        ``path`` is empty.

    Examples
    --------
    >>> check_path("data/A.npy").name
    'A.npy'
    >>> check_path(None, "directory")
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: directory must be a path (str or os.PathLike); got NoneType: None
    >>> check_path("", "directory")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.FileFormatError: directory is an empty path; name a file or folder ...
    >>> check_path(5, "base", what="a path or a Checkpoint")
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: base must be a path or a Checkpoint; got int: 5
    """
    text = os.fspath(path) if isinstance(path, str | os.PathLike) else None
    if not isinstance(text, str):
        raise SvdkitError(f"{name} must be {what}; got {type(path).__name__}: {path!r:.60}")
    if not text:
        raise FileFormatError(
            f"{name} is an empty path; name a file or folder ('.' is the current directory)"
        )
    return Path(text)


def matrix_file_name(text: str) -> str | None:
    """The file name the ``str`` ``text`` holds (:func:`names_matrix_file`), stripped of
    surrounding whitespace (a name read with ``readline()`` keeps its newline), or
    ``None`` for matrix text.

    Examples
    --------
    >>> matrix_file_name("data/A.npy\\n"), matrix_file_name("1 2; 3 4")
    ('data/A.npy', None)
    """
    return _one_line_name(text, MATRIX_FILE_SUFFIXES)


def any_file_name(text: str) -> str | None:
    """The file name the ``str`` ``text`` holds when it is one line ending in any of
    :data:`SUPPORTED_EXTENSIONS` (any case), stripped of surrounding whitespace; else
    ``None``. The rule of :func:`svdkit.lowrank.operators.as_operator`, which reads
    ``"data.csv"`` as its file (:func:`matrix_file_name` is the rule of
    :func:`svdkit.as_matrix`, for which such a ``str`` is matrix text).

    Examples
    --------
    >>> any_file_name(" data.CSV\\n"), any_file_name("1 2; 3 4")
    ('data.CSV', None)
    """
    return _one_line_name(text, SUPPORTED_EXTENSIONS)


def _one_line_name(text: str, suffixes: tuple[str, ...]) -> str | None:
    """``text`` stripped of surrounding whitespace where that is one line ending in one
    of ``suffixes`` (any case), else ``None``."""
    name = text.strip()
    if "\n" in name or "\r" in name or not name.lower().endswith(suffixes):
        return None
    return name


def names_matrix_file(text: str) -> bool:
    """Whether the ``str`` ``text`` names a matrix file rather than holding matrix text:
    one line ending in ``.npy``, ``.npz`` or ``.mtx`` (any case), once surrounding
    whitespace is stripped (``"A.npy\\n"`` from ``readline()`` names ``A.npy``, which
    :func:`matrix_file_name` gives).

    The rule of every function that takes a matrix (:func:`svdkit.as_matrix`, and so
    :func:`svdkit.rank`, :func:`svdkit.svd`…): such a ``str`` is read as its file
    (a missing one is a :class:`~svdkit.MissingFileError` naming it); no matrix text
    ends so. Any other ``str`` is matrix text, and a text file (``"data.csv"``) is
    read from a :class:`~pathlib.Path` or by :func:`svdkit.load`.

    Examples
    --------
    >>> names_matrix_file("data/A.NPY"), names_matrix_file("1 2; 3 4")
    (True, False)
    >>> names_matrix_file("data.csv")  # text files: Path("data.csv") or svdkit.load
    False
    """
    return matrix_file_name(text) is not None


#: Characters of matrix text that a folder name given as text would hardly hold: a
#: ``str`` with one of them names a folder only where that directory exists.
_MATRIX_PUNCTUATION = frozenset("[](){};,&|=*^<>\"'")
#: A decimal number, whole: with a stray separator after it, matrix text.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def names_folder(text: str) -> str | None:
    """The folder the ``str`` ``text`` names, stripped of surrounding whitespace: one
    line that names an existing directory, or that looks like a path and ends in a
    path separator (``"data/"``, ``"out/run-2/"``); else ``None``.

    A path here is one word without the punctuation of matrix text (brackets,
    parentheses, ``;``, ``,``, ``&``, ``=``, ``*``, ``^``, quotes) that is no matrix
    text once its trailing separators are dropped: ``"[1 2; 3 4]/"``, ``"[1 2; 3 4] /"``,
    ``"1/"``, ``"-1.5/"`` and ``"pi/"`` are matrix text with a stray ``/`` (a fraction
    typed short), whose parse error (with its caret) is the one to show, unless that
    directory exists.

    Not a rule of what a ``str`` is: matrix text comes first, and a ``str`` that parses
    as a matrix (``"1"``, ``"pi"``) is that matrix, whatever folder bears its name.
    It explains text that does not parse (:func:`folder_error`), which would otherwise
    be reported as matrix text (``unknown name 'data'``): :func:`svdkit.as_matrix`
    (and so every function that takes a matrix) and
    :func:`svdkit.lowrank.truncated_svd` ask it.

    Examples
    --------
    >>> names_folder("results/\\n"), names_folder("1 2; 3 4"), names_folder("[1 2; 3 4]/")
    ('results/', None, None)
    >>> names_folder("1/"), names_folder("pi/")  # (where no such directory exists)
    (None, None)
    """
    name = text.strip()
    if not name or "\n" in name or "\r" in name:
        return None
    if os.path.isdir(name):
        return name
    separators = (os.sep,) + ((os.altsep,) if os.altsep else ())
    if not name.endswith(separators):
        return None
    if any(c.isspace() for c in name) or not _MATRIX_PUNCTUATION.isdisjoint(name):
        return None
    word = name.rstrip("".join(separators))
    if _NUMBER.fullmatch(word):  # (also one the parser refuses: "1e99999")
        return None
    try:  # "1/", "pi/": a number with a stray "/"; "data/" is no matrix text
        text_to_array(word)
    except ParseError:
        return name
    except SvdkitError:  # "1e999/": a number all the same (too large)
        return None
    return None


class FolderTextError(ParseError, FileFormatError):
    """Text given as a matrix that does not parse and names a folder (:func:`names_folder`).

    A :class:`~svdkit.ParseError`, as the same text was before it was recognised as a
    folder (code that catches parse errors of matrix text keeps catching it), and a
    :class:`~svdkit.FileFormatError`, as a folder given to :func:`svdkit.load` is.
    """


def folder_error(name: str, *, arg: str | None = None) -> FileFormatError:
    """The error for a folder given where a matrix file is read (:func:`names_folder`).

    Parameters
    ----------
    name : str
        The folder, as given.
    arg : str, optional
        The argument whose text ``name`` is (``"b"``), when it was given as matrix
        text: the message starts with it, shortens ``name`` as the parser's messages
        shorten a word, and the error is a :class:`FolderTextError`.

    Examples
    --------
    >>> str(folder_error("no/such/folder/"))  # doctest: +ELLIPSIS
    "'no/such/folder/' names a folder, not a matrix file; svdkit reads .npy, ..."
    >>> str(folder_error("x/", arg="b"))  # doctest: +ELLIPSIS
    "b: 'x/' names a folder, not a matrix file; ..."
    """
    what = "is a directory" if os.path.isdir(name) else "names a folder"
    ext = os.path.splitext(name.rstrip("/" + os.sep))[1].lower()
    cls = FileFormatError if arg is None else FolderTextError
    prefix, shown = ("", name) if arg is None else (f"{arg}: ", clip(name, 60))
    if ext in SUPPORTED_EXTENSIONS:  # (a folder named "data.npy")
        return cls(f"{prefix}'{shown}' {what}, not a {ext} file")
    return cls(
        f"{prefix}'{shown}' {what}, not a matrix file; svdkit reads "
        f"{', '.join(SUPPORTED_EXTENSIONS)} files"
    )


def cli_path(text: str | os.PathLike[str]) -> Path:
    """The parser of a path argument or option of the command line (``parser=cli_path``).

    typer (pydantic) turns the text of a ``Path`` parameter into ``Path(text)``, and
    ``Path("") == Path(".")``: an empty argument (an unset ``"$CORPUS"``) would name
    the current directory, which ``svdkit lsi add IDX ""`` would index. This parser
    refuses it, as :func:`check_path` refuses ``""`` in Python; typer's message
    names the argument or option (``Invalid value for 'SOURCE': an empty path…``).

    Parameters
    ----------
    text : str or path-like
        What was typed (a default value may already be a path).

    Returns
    -------
    Path
        ``text`` as a :class:`~pathlib.Path`.

    Raises
    ------
    FileFormatError
        ``text`` is empty (a ``ValueError``: typer reports it as a bad value).

    Examples
    --------
    >>> cli_path("corpus/").name
    'corpus'
    >>> cli_path("")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.FileFormatError: an empty path; name a file or folder ('.' is the current ...
    """
    if isinstance(text, Path):
        return text
    if isinstance(text, str | os.PathLike) and not os.fspath(text):
        raise FileFormatError("an empty path; name a file or folder ('.' is the current directory)")
    return check_path(text, "the path")


def cli_file_path(text: str | os.PathLike[str]) -> Path:
    """The parser of a path argument or option of the command line that names a file
    (``parser=cli_file_path``): :func:`cli_path`, whose advice for an empty path does
    not suggest ``'.'``, a folder, which such a parameter refuses.

    Parameters
    ----------
    text : str or path-like
        What was typed (a default value may already be a path).

    Returns
    -------
    Path
        ``text`` as a :class:`~pathlib.Path`.

    Raises
    ------
    FileFormatError
        ``text`` is empty (a ``ValueError``: typer reports it as a bad value).

    Examples
    --------
    >>> cli_file_path("out.npz").name
    'out.npz'
    >>> cli_file_path("")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.FileFormatError: an empty path; name a file (is a shell variable unset?)
    """
    if isinstance(text, str | os.PathLike) and not isinstance(text, Path) and not os.fspath(text):
        raise FileFormatError("an empty path; name a file (is a shell variable unset?)")
    return cli_path(text)


def read_matrix_file(path: str | os.PathLike[str], *, sparse: bool = False) -> Any:
    """The raw content of a matrix file (not yet validated).

    Parameters
    ----------
    path : str or path-like
        A file whose extension is one of :data:`SUPPORTED_EXTENSIONS`.
    sparse : bool
        Keep Matrix Market and sparse ``.npz`` content as a SciPy sparse matrix.

    Raises
    ------
    SvdkitError
        ``path`` is not a path (:func:`check_path`).
    FileFormatError
        An empty path, an unknown extension, or content that is not what the
        extension says.
    MissingFileError
        No such file (also a ``FileNotFoundError``).
    ParseError, RaggedError, EmptyInputError, ShapeError, NonFiniteError
        From the text of ``.csv``/``.tsv``/``.txt``/``.tex`` files, prefixed with the file name.
    """
    p = check_path(path)
    ext = p.suffix.lower()
    if p.is_dir():  # (before the extension: a folder named "data" has none)
        raise folder_error(os.fspath(path))
    if ext not in _READERS:
        raise FileFormatError(
            f"'{p}': unknown extension {ext or '(none)'!r}; "
            f"svdkit reads {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    if not p.exists():
        err = MissingFileError(f"no such file: '{p}'")
        err.errno, err.strerror, err.filename = errno.ENOENT, "No such file or directory", str(p)
        raise err
    try:
        return _READERS[ext](p, sparse)
    except (FileFormatError, MissingFileError):
        raise
    except SvdkitError as err:  # from the text parser: say which file
        new = type(err)(f"'{p}': {err}")
        new.__dict__.update(err.__dict__)
        raise new from None


#: The files whose entries keep a binary precision of their own (text has none).
_BINARY_SUFFIXES = (".npy", ".npz")


def stored_dtype(source: object) -> np.dtype | None:
    """The dtype a ``.npy`` or ``.npz`` file stores its matrix in, read from its header
    alone (the array is not loaded); ``None`` for anything else.

    ``source`` is a path (``str`` or ``os.PathLike``). A ``str`` counts as a file
    name only when it is one line ending in ``.npy`` or ``.npz``, as every function
    reads it (:func:`names_matrix_file`): matrix text such as ``"1 2; 3 4"`` is never
    looked up on disk. A ``.npz`` file's dtype is that of its one array, or of the
    ``data`` of a SciPy sparse matrix (``scipy.sparse.save_npz``). A missing,
    unreadable or malformed file answers ``None``: reading it is :func:`load`'s
    business, and its errors are the ones to show.

    The tolerance rule uses it (:func:`svdkit.linalg.tolerance.rule_dtype`): a
    float32 file loaded as float64 carries float32's rounding all the same.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.save(os.path.join(d, "a.npy"), np.eye(2, dtype=np.float32))
    ...     print(stored_dtype(os.path.join(d, "a.npy")), stored_dtype("1 2; 3 4"))
    float32 None
    """
    if isinstance(source, str):
        name = matrix_file_name(source)
        if name is None or not name.lower().endswith(_BINARY_SUFFIXES):
            return None
        source = name
    elif not isinstance(source, os.PathLike):
        return None
    try:
        path = os.fsdecode(os.fspath(source))
        suffix = os.path.splitext(path)[1].lower()
        if suffix == ".npy":
            with open(path, "rb") as f:
                return _npy_header_dtype(f)
        if suffix == ".npz":
            return _npz_dtype(path)
    except (OSError, ValueError, TypeError, EOFError, KeyError):
        return None
    return None


def _npy_header_dtype(f: Any) -> np.dtype | None:
    """The dtype in the ``.npy`` header at the start of the open binary file ``f``."""
    try:
        return _npy_array_header(f, "the file")[2]
    except FileFormatError:
        return None


def _npy_array_header(f: Any, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype of the ``.npy`` header at the start of the open
    binary file ``f``, checked (:func:`read_npy_header`); ``name`` names it in errors."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
        else:
            raise FileFormatError(
                f"{name} is not a valid .npy file: unsupported format version {version}"
            )
    except FileFormatError:
        raise
    except Exception as err:
        # NumPy's header reader raises what its parts raise on garbage: ValueError (a
        # length past the end, a key too many, a fortran_order that is no bool),
        # SyntaxError (a dict that literal_eval cannot read), tokenize.TokenError (a
        # dict cut short), TypeError, EOFError, MemoryError, UnicodeDecodeError...
        if isinstance(err, tokenize.TokenError):
            what = f"its header dict is cut short ({err.args[0]})"
        else:
            what = str(err) or type(err).__name__
        raise FileFormatError(f"{name} is not a valid .npy file: {what}") from None
    shape = tuple(shape)
    if any(d < 0 for d in shape):  # NumPy's reader lets a negative dimension through
        raise FileFormatError(
            f"{name} is not a valid .npy file: its header gives shape {shape}, "
            "and a dimension cannot be negative"
        )
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > np.iinfo(np.intp).max:
        raise FileFormatError(
            f"{name} is not a valid .npy file: its header gives shape {shape} of {dtype}, "
            f"{nbytes:,} bytes of data, more than any array can hold"
        )
    return shape, bool(fortran), dtype


def read_npy_header(path: str | os.PathLike[str]) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and data offset of a ``.npy`` file, read from its
    header alone (no data is read) and checked.

    The one reader of ``.npy`` headers: :func:`svdkit.load` reads it before the array
    (a header that announces more data than the file holds is refused before any
    allocation) and :func:`svdkit.lowrank.truncated_svd` reads the array in row blocks
    from the offset it gives.

    Parameters
    ----------
    path : str or path-like
        The ``.npy`` file.

    Returns
    -------
    shape : tuple of int
        The array's shape, every dimension non-negative.
    fortran : bool
        Whether the data is in Fortran (column-major) order.
    dtype : numpy.dtype
        The stored dtype.
    offset : int
        The byte offset of the data in the file.

    Raises
    ------
    FileFormatError
        A header NumPy cannot read (``'x.npy' is not a valid .npy file: ...``: a bad
        magic or version, a length past the end, a dict cut short or with a key too
        many), a negative dimension, or a shape of more bytes than any array can hold.
    OSError
        The file cannot be opened.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.save(os.path.join(d, "a.npy"), np.ones((3, 2), dtype=np.float32))
    ...     read_npy_header(os.path.join(d, "a.npy"))
    ((3, 2), False, dtype('float32'), 128)
    """
    name = f"'{os.fspath(path)}'"
    with open(path, "rb") as f:
        shape, fortran, dtype = _npy_array_header(f, name)
        return shape, fortran, dtype, f.tell()


def _npz_dtype(path: str) -> np.dtype | None:
    """The dtype of a ``.npz`` file's one array, or of its sparse matrix's ``data``."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith(".npy")]
        stems = {n[: -len(".npy")] for n in names}
        if {"format", "shape", "data"} <= stems:
            member = "data.npy"
        elif len(names) == 1:
            member = names[0]
        else:
            return None
        with archive.open(member) as f:
            return _npy_header_dtype(f)


def _bad(p: Path, what: str) -> FileFormatError:
    return FileFormatError(f"'{p}' is not a valid {p.suffix.lower()} file: {what}")


def _head(p: Path, n: int) -> bytes:
    with open(p, "rb") as f:
        return f.read(n)


def _read_text(p: Path) -> str:
    data = p.read_bytes()
    if b"\x00" in data:
        raise _bad(p, "it holds binary data, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _bad(p, f"it is not UTF-8 text (byte {err.start})") from None


def _numeric(a: np.ndarray) -> np.ndarray:
    """``a`` as read from a ``.npy`` / ``.npz`` file, refused when it holds text (``<U``, ``S``):
    named as a file's content, not with the advice for matrix text in Python."""
    if a.dtype.kind in "US":
        first = f", the first entry {a.flat[0].item()!r}" if a.size else ""
        raise ParseError(
            f"its array holds text (dtype {a.dtype}{first}), not numbers; svdkit reads "
            "numeric arrays: save np.asarray(a, dtype=float) instead"
        )
    return a


def _npy(p: Path, sparse: bool) -> np.ndarray:
    if _head(p, 6) != _NPY_MAGIC:
        raise _bad(p, "it does not start with the NumPy header (\\x93NUMPY)")
    try:
        shape, _, dtype, offset = read_npy_header(p)
    except OSError as err:
        raise _bad(p, str(err)) from None
    if dtype.hasobject:
        raise _bad(p, "it holds Python objects; svdkit never unpickles files")
    nbytes, held = math.prod(shape) * dtype.itemsize, max(0, p.stat().st_size - offset)
    if nbytes > held:  # before np.load allocates what the header announces
        raise FileFormatError(
            f"'{p}' is truncated: its header announces a {shape} {dtype} array "
            f"({nbytes:,} bytes of data) but the file holds {held:,}"
        )
    try:
        return _numeric(np.load(p, allow_pickle=False))
    except ParseError:
        raise
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise _bad(p, "it holds Python objects; svdkit never unpickles files") from None
        raise _bad(p, str(err)) from None
    except (OSError, EOFError) as err:
        raise _bad(p, str(err)) from None


def _check_npz_members(p: Path) -> None:
    """Read and check the ``.npy`` header of each array of the ``.npz`` file ``p``
    (:func:`_npy_array_header`): a header that announces more data than its member
    holds (``ZipInfo.file_size``, the size once inflated) is refused before NumPy
    allocates what it announces."""
    import zipfile

    with zipfile.ZipFile(p) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue  # (np.load reads it as bytes; the array check refuses it)
            member = f"'{p}': its member '{info.filename}'"
            with archive.open(info) as f:
                shape, _, dtype = _npy_array_header(f, member)
                offset = f.tell()
            if dtype.hasobject:
                raise _bad(p, "it holds Python objects; svdkit never unpickles files")
            nbytes, held = math.prod(shape) * dtype.itemsize, max(0, info.file_size - offset)
            if nbytes > held:
                raise FileFormatError(
                    f"'{p}' is truncated: its member '{info.filename}' announces a {shape} "
                    f"{dtype} array ({nbytes:,} bytes of data) but holds {held:,}"
                )


def _npz(p: Path, sparse: bool) -> Any:
    if _head(p, 4) not in _ZIP_MAGIC:
        raise _bad(p, "it is not a zip archive as written by np.savez or scipy.sparse.save_npz")
    try:
        _check_npz_members(p)  # before np.load allocates what a header announces
        with np.load(p, allow_pickle=False) as archive:
            names = list(archive.files)
            if {"format", "shape"} <= set(names):
                import scipy.sparse

                return scipy.sparse.load_npz(p)
            if len(names) != 1:
                listed = ", ".join(names) if names else "none"
                raise _bad(
                    p,
                    f"it holds {len(names)} arrays ({listed}); expected exactly one, "
                    "or a sparse matrix saved with scipy.sparse.save_npz",
                )
            value = archive[names[0]]
            if not isinstance(value, np.ndarray):  # (np.load gives bytes for another member)
                raise _bad(p, f"its member '{names[0]}' is not a NumPy array (.npy)")
            return _numeric(value)
    except (FileFormatError, ParseError):
        raise
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise _bad(p, "it holds Python objects; svdkit never unpickles files") from None
        raise _bad(p, str(err)) from None
    except (OSError, EOFError, KeyError) as err:
        raise _bad(p, str(err)) from None
    except MemoryError:  # a valid archive too large for this machine: not a corrupt one
        raise
    except Exception as err:  # zipfile.BadZipFile and friends
        raise _bad(p, f"{type(err).__name__}: {err}") from None


def _csv(p: Path, sparse: bool) -> np.ndarray:
    return text_to_array(_read_text(p), delimiter=",")


def _tsv(p: Path, sparse: bool) -> np.ndarray:
    return text_to_array(_read_text(p), delimiter="\t")


def _txt(p: Path, sparse: bool) -> np.ndarray:
    return text_to_array(_read_text(p))


def _tex(p: Path, sparse: bool) -> np.ndarray:
    text = _read_text(p)
    if "\\begin" not in text and "&" not in text and "\\\\" not in text:
        raise _bad(p, "no LaTeX matrix (\\begin{bmatrix} … \\end{bmatrix}) in it")
    return text_to_array(text, document="\\begin" in text)


def _constant(name: str) -> float:
    """Python's JSON dialect writes NaN and Infinity; the validation reports them by position."""
    return float(name)


class JSONNumberError(ParseError, FileFormatError):
    """A number in a JSON file that the text readers refuse too (too many digits, a huge exponent).

    A :class:`~svdkit.ParseError`, as the same number in a ``.csv`` or ``.txt``
    file is, and a :class:`~svdkit.FileFormatError`, as every fault that the
    JSON reader finds is.
    """


class _Refused:
    """What the JSON reader keeps in place of a refused number: why it was refused."""

    __slots__ = ("cls", "message")

    def __init__(self, message: str, cls: type[SvdkitError] = JSONNumberError) -> None:
        self.message, self.cls = message, cls


_JSON_NUMBER = re.compile(r"-?([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")


class _JSONNumbers:
    """``json.loads`` hooks that keep the number rules of the text readers.

    :func:`~svdkit.inputs.expr.parse_expr` refuses a literal of more than
    :data:`~svdkit.inputs.expr.MAX_DIGITS` digits (Python's ``int`` refuses
    4300, and its time grows as their square) or with an exponent beyond
    :data:`~svdkit.inputs.expr.MAX_EXPONENT`; the JSON reader refuses them as
    it does, with its message. The common number is read by ``float`` or
    ``int`` after one length test.
    """

    def __init__(self) -> None:
        self.refused: list[_Refused] = []

    def real(self, token: str) -> float | _Refused:
        if len(token) <= MAX_DIGITS and "e" not in token and "E" not in token:
            value: float | _Refused = float(token)
        else:
            value = self._checked(token, float)
        if isinstance(value, float) and math.isinf(value):  # 1e309: as the text readers say
            return self._too_large(token)
        return value

    def integer(self, token: str) -> int | _Refused:
        value = int(token) if len(token) <= MAX_DIGITS else self._checked(token, int)
        if isinstance(value, int) and len(token) > 300 and math.isinf(_as_float(value)):
            return self._too_large(token)
        return value

    def _too_large(self, token: str) -> _Refused:
        message = f"'{clip(token)}' is too large for a floating-point number"
        return self._refuse(message, NonFiniteError)

    def _checked(self, token: str, convert: type[float] | type[int]) -> float | int | _Refused:
        m = _JSON_NUMBER.fullmatch(token)
        assert m is not None  # the JSON scanner hands over numbers only
        whole, frac, exp = m.group(1), m.group(2) or "", m.group(3)
        digits = len(whole) + len(frac)
        if digits > MAX_DIGITS:
            return self._refuse(f"number too long ({digits} digits; at most {MAX_DIGITS})")
        if exp is not None and (
            len(exp.lstrip("+-0")) > len(str(MAX_EXPONENT)) or abs(int(exp)) > MAX_EXPONENT
        ):
            return self._refuse(f"exponent out of range in '{clip(token)}'")
        return convert(token)

    def _refuse(self, message: str, cls: type[SvdkitError] = JSONNumberError) -> _Refused:
        refused = _Refused(message, cls)
        self.refused.append(refused)
        return refused


def _as_float(value: int) -> float:
    """``float(value)``, or infinity where it overflows."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _json(p: Path, sparse: bool) -> Any:
    text = _read_text(p)  # its own errors say what is wrong; not the ones below
    numbers = _JSONNumbers()
    try:
        data = json.loads(
            text, parse_constant=_constant, parse_float=numbers.real, parse_int=numbers.integer
        )
    except json.JSONDecodeError as err:
        raise _bad(p, f"{err.msg} at line {err.lineno}, column {err.colno}") from None
    except RecursionError:
        raise _bad(p, "its lists are nested too deeply (a matrix has two levels)") from None
    if not isinstance(data, list):
        raise _bad(p, f"expected a JSON list of rows, found a {type(data).__name__}")
    _check_json_entries(p, data)
    return data


#: JSON's literals that are no numbers, as the file spells them.
_JSON_LITERALS: dict[object, str] = {True: "true", False: "false", None: "null"}


def _check_json_entries(p: Path, data: list) -> None:
    """Refuse the first fault of a JSON matrix in reading order (row by row, and a row's
    length once its entries are read), named by its row and column as the file spells
    it: a refused number (too long, too large), a ``true``, ``false`` or ``null`` (no
    number: a flag column, a bad export, and Python would read ``true`` as 1 without a
    word), a ``NaN``, ``Infinity`` or ``-Infinity`` (Python's JSON dialect), a string
    (JSON numbers are unquoted), an object, a list nested a third level deep, a row
    that is no list among lists (or the reverse), a row of another length than row 1's.
    Returns when every entry is a finite number and the rows agree.
    """
    if not data:
        return  # (as_matrix says that it is empty)
    if not isinstance(data[0], list):  # a vector: each row is one entry
        for i, x in enumerate(data):
            if isinstance(x, list):
                raise RaggedError(f"row {i + 1} is a list but row 1 is a single number")
            _check_json_entry(p, x, i + 1, 1)
        return
    width = len(data[0])
    for i, row in enumerate(data):
        if not isinstance(row, list):
            if _is_json_number(row):
                raise RaggedError(f"row {i + 1} is a single number but row 1 is a list")
            err = ParseError(
                f"row {i + 1} is {_json_spelling(row)}, not a list of numbers (row 1 is a list)"
            )
            err.row, err.column, err.offset = i + 1, None, None
            raise err
        for j, x in enumerate(row):
            if type(x) is int or (type(x) is float and math.isfinite(x)):
                continue  # (the common case first)
            _check_json_entry(p, x, i + 1, j + 1)
        if len(row) != width:
            raise RaggedError(
                f"row {i + 1} has {count_entries(len(row))} but row 1 has {count_entries(width)}"
            )


def _is_json_number(x: object) -> bool:
    """Whether ``x`` is what the JSON reader makes of a number (refused ones included)."""
    return isinstance(x, _Refused) or (isinstance(x, int | float) and not isinstance(x, bool))


def _check_json_entry(p: Path, x: object, row: int, column: int) -> None:
    """Refuse the entry ``x`` at ``row``, ``column`` (1-based) unless it is a finite number."""
    if isinstance(x, _Refused):
        raise _refused_error(p, x, (row, column))
    if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x):
        return
    if isinstance(x, list):
        raise nested_entry_error("", row - 1, column - 1)
    raise _json_entry_error(x, row, column)


#: JSON's spellings of the non-finite numbers of Python's dialect.
_JSON_CONSTANTS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _json_spelling(x: object) -> str:
    """What a JSON value that is no number is, as the file spells it: ``null``,
    ``true``, ``the string "1e3"``, ``a JSON object ({…})``."""
    if isinstance(x, str):
        return f"the string {clip(json.dumps(x, ensure_ascii=False))}"
    if isinstance(x, dict):
        return "a JSON object ({…})"
    if isinstance(x, float):
        return _JSON_CONSTANTS[repr(x)]
    return _JSON_LITERALS.get(x, type(x).__name__)


def _json_entry_error(x: object, row: int, column: int) -> SvdkitError:
    """The error of the entry ``x`` at ``row``, ``column`` (1-based), which is no finite
    number, spelled as the JSON file spells it."""
    at = f"the entry at row {row}, column {column}"
    if isinstance(x, float):
        err: SvdkitError = NonFiniteError(
            f"{at} is {_json_spelling(x)}; svdkit needs finite numbers "
            "(remove or impute missing values first)"
        )
    elif isinstance(x, str):
        err = ParseError(
            f"{at} is {_json_spelling(x)}, not a number (JSON numbers are written without quotes)"
        )
    else:  # None, True, False, an object
        err = ParseError(f"{at} is {_json_spelling(x)}, not a number")
    err.row, err.column, err.offset = row, column, None
    return err


def _refused_error(p: Path, refused: _Refused, at: tuple[int, int] | None) -> SvdkitError:
    """The error of a refused number, at row and column ``at`` (where known)."""
    where = "" if at is None else f"row {at[0]}, column {at[1]}: "
    named = issubclass(refused.cls, FileFormatError)  # the others are named by the caller
    err = refused.cls(f"'{p}': {where}{refused.message}" if named else where + refused.message)
    err.row, err.column, err.offset = (*(at or (None, None)), None)
    return err


#: The header lines of a Matrix Market file: the banner, comments and blank lines, and
#: the size line (the first other line).
_MTX_HEAD = re.compile(rb"[^\n]*\n(?:[ \t\r]*(?:%[^\n]*)?\n)*[^\n]*(?:\n|\Z)")
#: The class of each byte in an entry line: 0 white space (space, \t \n \v \f \r), 1 a
#: digit, 2 ``.``, 3 ``e`` or ``E``, 4 a sign, 5 anything else. A word with a byte of
#: class 5 (``1,5``, ``0x10``) is a number only when it is ``nan``, ``inf`` or
#: ``infinity``, signed or not (in a real or complex file).
_MTX_CLASS = np.full(256, 5, dtype=np.uint8)
_MTX_CLASS[[9, 10, 11, 12, 13, 32]] = 0
_MTX_CLASS[48:58] = 1
_MTX_CLASS[[46]] = 2
_MTX_CLASS[[69, 101]] = 3
_MTX_CLASS[[43, 45]] = 4
#: The words of a real file that are numbers without being decimal ones, lowercase and
#: without a sign, padded with NUL bytes to :data:`_MTX_WORD` bytes.
_MTX_WORD = 8
_MTX_NAMED = np.array(
    [list(w.ljust(_MTX_WORD, b"\0")) for w in (b"nan", b"inf", b"infinity")], dtype=np.uint8
)
#: How many bytes of entry lines are checked at once (about 20 bytes of memory each): few
#: enough that the quick test's passes over them stay in the processor's cache.
_MTX_CHUNK = 1 << 17


def _check_mtx_entries(p: Path, data: Any) -> None:
    """Refuse the entry lines of the Matrix Market file ``p`` (its bytes ``data``:
    ``bytes`` or an ``mmap``, never copied whole) that SciPy's reader would read as
    something else without a word: a word that is no number (SciPy reads ``1,5`` as 1,
    ``0x10`` as 0, ``1.5.3`` as 1.5, ``1e5e3`` as 1e5, ``5-`` as 5), in an ``integer``
    file a word that is no integer (``1e3`` read as 1, ``1.5`` as 1, ``nan``), or a
    line with more fields than the header's kind gives (the extra ones dropped). SciPy
    itself refuses a line with too few fields.

    The check is vectorised (NumPy, in small chunks of whole lines, a quick test first:
    :func:`_mtx_chunk_clean`; a NaN-heavy file too): 0.7 to 1.5 times as long as SciPy's
    own read, holding no copy of the file."""
    end = data.find(b"\n")
    banner = bytes(data[: len(data) if end < 0 else end]).lower().split()
    head = _MTX_HEAD.match(data)
    start = head.end() if head else len(data)
    values = 2 if b"complex" in banner else 0 if b"pattern" in banner else 1
    fields = values + (2 if b"coordinate" in banner else 0)
    integer = b"integer" in banner
    line = bytes(data[:start]).count(b"\n")  # (the entry lines are numbered after it)
    view = memoryview(data)
    fault = None
    try:
        while start < len(data):
            stop = data.find(b"\n", min(start + _MTX_CHUNK, len(data)))
            stop = len(data) if stop < 0 else stop + 1
            chunk = view[start:stop]
            lines = _mtx_chunk_clean(chunk, fields, integer, values)
            fault = None
            if lines is None:  # (something to look at: where, exactly)
                fault, lines = _mtx_chunk_fault(chunk, fields, integer)
            chunk.release()
            if fault is not None:
                break
            line += lines
            start = stop
    finally:
        view.release()
    if fault is None:
        return
    before, what = fault
    line += before + 1
    if what is None:
        kind = " ".join(w.decode("ascii", "backslashreplace") for w in banner[2:4])
        article = "an" if kind[:1] in ("a", "e", "i", "o", "u") else "a"
        raise _bad(
            p, f"line {line} has more than {fields} fields, which {article} {kind} file's "
            "entry lines have"
        )
    # (a byte that is not UTF-8 shown as its escape, \xa0, not as a replacement mark)
    word = "'" + (what if len(what) <= 40 else what[:40] + "…") + "'"
    if integer:
        raise _bad(p, f"line {line}: {word} is not an integer (the header says integer)")
    hint = "; write decimals with a point: 1.5" if "," in what else ""
    raise _bad(p, f"line {line}: {word} is not a number{hint}")


#: Transparent runs (digits, signs) longer than this between a mark and the next in a
#: word are left to :func:`_mtx_chunk_fault` (2 ** levels of :func:`_mtx_chunk_clean`).
_MTX_REACH_LEVELS = 5


def _mtx_chunk_clean(
    chunk: memoryview, fields: int, integer: bool, values: int = 1
) -> int | None:
    """The number of lines of the entry lines ``chunk`` (whole lines) when a quick test
    shows them all right, else None (then :func:`_mtx_chunk_fault` finds the fault, if
    any: the test may fail on a right chunk, never pass a wrong one).

    Only elementwise NumPy operations (no gather, no index list), a few dozen passes over
    the bytes: what a file written by ``scipy.io.mmwrite`` (or any file whose every line
    starts with its first field, ``fields`` fields a line, plain decimal numbers) passes."""
    a = np.frombuffer(chunk, dtype=np.uint8)
    if a.size == 0:
        return 0
    pad = np.empty(a.size + 2, dtype=np.uint8)  # a space before and after
    pad[0] = pad[-1] = 32
    pad[1:-1] = a
    space = (pad == 32) | ((pad - np.uint8(9)) < 5)  # space, \t \n \v \f \r
    digit = (pad - np.uint8(48)) < 10
    dot = pad == 46
    exp = (pad | 32) == 101
    sign = (pad == 43) | (pad == 45)
    if integer:
        if np.count_nonzero(~(space | digit | sign)):
            return None
    elif np.count_nonzero(~(space | digit | dot | exp | sign)):  # (nan, inf, 1,5, 0x10)
        return None
    newline = pad == 10
    lines = int(np.count_nonzero(newline))  # (the last one may have no newline)
    # every line starts with its first field, and has `fields` of them
    if np.count_nonzero(newline[:-2] & space[1:-1]) or space[1]:
        return None
    # (word starts, in `a`: every `fields`-th one is a line's first, after a
    # newline; then each line has `fields` words)
    starts = np.flatnonzero(space[:-1] & ~space[1:])
    firsts = np.flatnonzero(newline[1:-1])[: (starts.size - 1) // fields] + 1
    if starts.size != fields * (lines + (a[-1] != 10)) or not np.array_equal(
        starts[fields::fields], firsts
    ):
        return None
    before, cur, after = slice(0, -2), slice(1, -1), slice(2, None)
    bad = sign[cur] & ~space[before]  # 1-2, --1 (after an e: below)
    if not integer:
        bad &= ~exp[before]
        bad |= exp[cur] & ~(digit[before] | dot[before])  # e5, 1ee5, +e5
        bad |= (exp[cur] | (dot[cur] & ~digit[before])) & space[after]  # 1e, ., +.
        bad |= dot[cur] & ~digit[before] & ~digit[after]  # -.e5
    bad |= sign[cur] & space[after]  # 5-, -
    if bad.any():
        return None
    if integer:
        return lines
    if values == 1:  # one value a line: its marks are the line's (in an index, SciPy's error)
        return lines if _mtx_marks_in_order(dot, exp, newline) else None
    # 1.5.3, 1e5.3, 1e5e3: a dot after a dot or an e in one word, an e after an e. The
    # marks seen before each byte (bit 1: a dot, bit 2: an e) are carried over digits
    # and signs, in doubling steps (uint8 masks: 255 where the run is transparent)
    run = (digit | sign).view(np.uint8)[:-1] * np.uint8(255)
    mark = dot.view(np.uint8)[:-1] | (exp.view(np.uint8)[:-1] << 1)
    seen = np.zeros_like(mark)
    seen[1:] = mark[:-1]
    run[1:] = run[:-1].copy()
    run[0] = 0
    step = 1
    for _ in range(_MTX_REACH_LEVELS):
        seen[step:] |= run[step:] & seen[:-step]
        run[step:] &= run[:-step]
        run[:step] = 0
        step *= 2
    if np.count_nonzero(mark & run):  # (a longer run before a mark: the exact test)
        return None
    # a dot after either mark, an e after an e
    if np.count_nonzero((mark & 1) * seen) or np.count_nonzero(mark & seen & 2):
        return None
    return lines


def _mtx_marks_in_order(dot: np.ndarray, exp: np.ndarray, newline: np.ndarray) -> bool:
    """Whether each line (of the masks ``dot``, ``exp`` and ``newline`` of its bytes)
    has at most one dot and one e, the dot first: then no word has two (``1.5.3``,
    ``1e5.3``, ``1e5e3``)."""
    marks = np.flatnonzero(dot | exp)
    if marks.size < 2:
        return True
    line = np.searchsorted(np.flatnonzero(newline), marks)
    same = line[1:] == line[:-1]
    # two marks of a line: a dot, then an e
    return not (same & (exp[marks[:-1]] | dot[marks[1:]])).any()


def _mtx_chunk_fault(
    chunk: memoryview, fields: int, integer: bool = False
) -> tuple[tuple[int, str | None] | None, int]:
    """The first fault of the entry lines ``chunk`` (whole lines) for
    :func:`_check_mtx_entries`, and the number of lines ``chunk`` holds. A fault is
    ``(lines before it, None)`` for a line with more than ``fields`` fields, ``(lines
    before it, word)`` for a word that is no number (no integer, for an ``integer``
    file); None if there is none. No Python loop runs over the bytes nor the words."""
    a = np.frombuffer(chunk, dtype=np.uint8)
    if a.size == 0:
        return None, 0
    cls = _MTX_CLASS[a]
    space = cls == 0
    begins = ~space
    begins[1:] &= space[:-1]
    starts = np.flatnonzero(begins)  # of the words
    del begins
    newlines = np.flatnonzero(a == 10)
    faults: list[int] = []  # (byte offsets)
    over = None
    if starts.size:  # a line with a field too many: words per line
        bounds = np.append(np.searchsorted(starts, newlines), starts.size)
        per_line = np.diff(bounds, prepend=0)
        if per_line.max() > fields:
            k = int(np.argmax(per_line > fields))
            over = 0 if k == 0 else int(newlines[k - 1]) + 1
            faults.append(over)
    word = None
    if starts.size:
        # the words with a faulty byte (from one word start to the next: the white space
        # between them is never faulty); a real file's nan/inf words pass
        bad = np.logical_or.reduceat(_mtx_bad_bytes(a, cls, starts, integer), starts)
        ids = np.flatnonzero(bad)
        if ids.size and not integer:
            ids = ids[~_mtx_named_words(a, space, starts[ids])]
        if ids.size:
            begin = int(starts[ids[0]])
            faults.append(begin)
            stop = begin
            while stop < a.size and not space[stop]:  # (one word: its bytes only)
                stop += 1
            word = _shown_word(bytes(chunk[begin:stop]))
    lines = int(newlines.size)
    if not faults:
        return None, lines
    at = min(faults)
    before = int(np.searchsorted(newlines, at))
    return (before, None if at == over and (word is None or at < begin) else word), lines


def _shown_word(data: bytes) -> str:
    """The bytes of a word as text to quote: UTF-8, each byte that is not (``\\xa0``)
    and each character that does not print (a NUL: ``\\x00``) as its escape."""
    shown = []
    for ch in data.decode("utf-8", errors="surrogateescape"):
        if 0xDC80 <= ord(ch) <= 0xDCFF:  # (a byte that is not UTF-8)
            shown.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif not ch.isprintable():
            shown.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            shown.append(ch)
    return "".join(shown)


def _mtx_bad_bytes(
    a: np.ndarray, cls: np.ndarray, starts: np.ndarray, integer: bool
) -> np.ndarray:
    """Which bytes of ``a`` (entry lines' bytes, of classes ``cls``: :data:`_MTX_CLASS`;
    its words start at ``starts``) break the grammar of a number (an integer, for
    ``integer``): a mask."""
    marks = np.flatnonzero((cls >= 2) & (cls <= 4))  # the grammar: at these bytes only
    byte = cls[marks]
    prev = np.where(marks > 0, cls[np.maximum(marks - 1, 0)], 0)
    after = np.where(marks + 1 < a.size, cls[np.minimum(marks + 1, a.size - 1)], 0)
    first, last = prev == 0, after == 0
    m_dot, m_exp, m_sign = byte == 2, byte == 3, byte == 4
    if integer:  # digits, after one sign at most
        m_bad = m_dot | m_exp | (m_sign & (~first | last))
    else:
        m_bad = m_sign & ~first & (prev != 3)  # 1-2, --1
        m_bad |= m_exp & ~((prev == 1) | (prev == 2))  # e5, 1ee5, +e5
        m_bad |= last & (m_exp | m_sign | (m_dot & (prev != 1)))  # 1e, 5-, ., +.
        # 1.5.3, 1..2, 1e5.3, 1e5e3: a dot after a dot or an e in one word, or two e's
        kept = np.flatnonzero(m_dot | m_exp)
        if kept.size > 1:
            word = np.searchsorted(starts, marks[kept], side="right")
            again = (word[1:] == word[:-1]) & (
                m_dot[kept[1:]] | (m_exp[kept[1:]] & m_exp[kept[:-1]])
            )
            m_bad[kept[1:][again]] = True
    bad = cls == 5  # 1,5 0x10, and the letters of nan and inf
    bad[marks[m_bad]] = True
    return bad


def _mtx_named_words(a: np.ndarray, space: np.ndarray, begins: np.ndarray) -> np.ndarray:
    """Whether each word of ``a`` that starts at ``begins`` is ``nan``, ``inf`` or
    ``infinity`` (any case, signed or not): a number SciPy reads as such."""
    signed = (a[begins] == 43) | (a[begins] == 45)
    at = begins + signed
    word = np.zeros((begins.size, _MTX_WORD + 1), dtype=np.uint8)
    inside = np.ones(begins.size, dtype=bool)
    for j in range(_MTX_WORD + 1):  # byte j of each word, 0 past its end
        k = np.minimum(at + j, a.size - 1)
        inside &= (at + j < a.size) & ~space[k]
        word[:, j] = np.where(inside, a[k] | 32, 0)
    named = word[:, _MTX_WORD] == 0  # (no word longer than "infinity")
    return named & (word[:, None, :_MTX_WORD] == _MTX_NAMED[None]).all(axis=2).any(axis=1)


def _mtx(p: Path, sparse: bool) -> Any:
    if not _head(p, 14).lower().startswith(b"%%matrixmarket"):
        raise _bad(p, "it does not start with the %%MatrixMarket header")
    import mmap

    import scipy.io

    try:
        with open(p, "rb") as f:
            try:  # mapped, not read: the check holds no copy of the file
                data: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # (a file that cannot be mapped: read)
                data = f.read()
    except OSError as err:
        raise _bad(p, str(err.strerror or err)) from None
    try:
        _check_mtx_entries(p, data)
    finally:
        if isinstance(data, mmap.mmap):
            with contextlib.suppress(BufferError):  # (an array still on it: closed later)
                data.close()

    try:
        return scipy.io.mmread(p)
    except Exception as err:  # the Matrix Market reader raises several kinds
        raise _bad(p, f"{type(err).__name__}: {err}") from None


_READERS = {
    ".npy": _npy,
    ".npz": _npz,
    ".csv": _csv,
    ".tsv": _tsv,
    ".txt": _txt,
    ".json": _json,
    ".tex": _tex,
    ".mtx": _mtx,
}
