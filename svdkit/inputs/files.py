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
#: The bytes of the numbers of those lines; a word with any other byte (``1,5``,
#: ``0x10``) is a number only when it is ``nan``, ``inf`` or ``infinity``, signed or not.
_MTX_NUMERIC = b"0123456789eE+-."
#: How many bytes of entry lines are checked at once (about 30 bytes of memory each).
_MTX_CHUNK = 1 << 22


def _check_mtx_entries(p: Path, data: bytes) -> None:
    """Refuse the entry lines of the Matrix Market file ``p`` (its bytes ``data``) that
    SciPy's reader would read as something else without a word: a word that is no
    number (SciPy reads ``1,5`` as 1, ``0x10`` as 0, ``1.5.3`` as 1.5, ``1e5e3`` as
    1e5, ``5-`` as 5) or a line with more fields than the header's kind gives (the
    extra ones dropped). SciPy itself refuses a line with too few fields.

    The check is vectorised (NumPy, in chunks of whole lines): about 1 s for a 64 MB
    file that SciPy reads in 0.3 to 0.7 s, where regular expressions over the text
    took 8 s."""
    end = data.find(b"\n")
    banner = data[: len(data) if end < 0 else end].lower().split()
    head = _MTX_HEAD.match(data)
    start = head.end() if head else len(data)
    values = 2 if b"complex" in banner else 0 if b"pattern" in banner else 1
    fields = values + (2 if b"coordinate" in banner else 0)
    lines_before = data.count(b"\n", 0, start)
    view = memoryview(data)
    while start < len(data):
        stop = data.find(b"\n", min(start + _MTX_CHUNK, len(data)))
        stop = len(data) if stop < 0 else stop + 1
        fault = _mtx_chunk_fault(view[start:stop], fields)
        if fault is not None:
            at, what = fault
            line = lines_before + data.count(b"\n", start, start + at) + 1
            if what is None:
                kind = " ".join(w.decode("ascii", "replace") for w in banner[2:4])
                raise _bad(
                    p, f"line {line} has more than {fields} fields, which a {kind} file's "
                    "entry lines have"
                )
            word = what if len(what) <= 40 else what[:40] + "…"
            hint = "; write decimals with a point: 1.5" if "," in what else ""
            raise _bad(p, f"line {line}: {word!r} is not a number{hint}")
        lines_before += data.count(b"\n", start, stop)
        start = stop


def _mtx_chunk_fault(chunk: memoryview, fields: int) -> tuple[int, str | None] | None:
    """The first fault of the entry lines ``chunk`` (whole lines) for
    :func:`_check_mtx_entries`: ``(offset, None)`` for a line with more than ``fields``
    fields, ``(offset, word)`` for a word that is no number; None if there is none."""
    a = np.frombuffer(chunk, dtype=np.uint8)
    if a.size == 0:
        return None
    space = (a == 32) | ((a >= 9) & (a <= 13))  # space, \t \n \v \f \r
    begins = ~space
    begins[1:] &= space[:-1]
    ends = ~space
    ends[:-1] &= space[1:]
    faults: list[tuple[int, str | None]] = []
    newlines = np.flatnonzero(a == 10)
    starts = np.flatnonzero(begins)  # of the words
    per_line = np.bincount(np.searchsorted(newlines, starts))
    if per_line.size and per_line.max() > fields:  # a line with a field too many
        line = int(np.argmax(per_line > fields))
        faults.append((0 if line == 0 else int(newlines[line - 1]) + 1, None))
    dot = a == 46
    exp = (a | 32) == 101  # e or E
    sign = (a == 43) | (a == 45)
    marks = np.flatnonzero(dot | exp | sign)  # the rest of the grammar: at these bytes only
    byte = a[marks]
    before = np.where(marks > 0, a[np.maximum(marks - 1, 0)], 32)
    after = np.where(marks + 1 < a.size, a[np.minimum(marks + 1, a.size - 1)], 32)
    first = (before == 32) | ((before >= 9) & (before <= 13))
    last = (after == 32) | ((after >= 9) & (after <= 13))
    prev_digit = (before >= 48) & (before <= 57)
    m_dot, m_exp, m_sign = byte == 46, (byte | 32) == 101, (byte == 43) | (byte == 45)
    m_bad = m_sign & ~first & ((before | 32) != 101)  # 1-2, --1
    m_bad |= m_exp & ~(prev_digit | (before == 46))  # e5, 1ee5, +e5
    m_bad |= last & (m_exp | m_sign | (m_dot & ~prev_digit))  # 1e, 5-, ., +.
    # 1.5.3, 1..2, 1e5.3, 1e5e3: a dot after a dot or an e in one word, or two e's
    kept = np.flatnonzero(m_dot | m_exp)
    if kept.size > 1:
        word = np.searchsorted(starts, marks[kept], side="right")
        again = (word[1:] == word[:-1]) & (
            m_dot[kept[1:]] | (m_exp[kept[1:]] & m_exp[kept[:-1]])
        )
        m_bad[kept[1:][again]] = True
    bad = marks[m_bad]
    if bytes(chunk).translate(None, _MTX_NUMERIC + b" \t\r\n\x0b\x0c"):  # 1,5 0x10 nan
        digit = (a >= 48) & (a <= 57)
        bad = np.union1d(bad, np.flatnonzero(~(space | digit | dot | exp | sign)))
    for at in bad:
        begin = int(at)
        while begin > 0 and not space[begin - 1]:
            begin -= 1
        if faults and begin > faults[0][0]:
            break
        stop = int(at)
        while stop < a.size and not space[stop]:
            stop += 1
        text = bytes(chunk[begin:stop])
        if text.lower().lstrip(b"+-") in (b"nan", b"inf", b"infinity"):
            continue
        faults.insert(0, (begin, text.decode("utf-8", errors="replace")))
        break
    return min(faults, key=lambda f: f[0]) if faults else None


def _mtx(p: Path, sparse: bool) -> Any:
    if not _head(p, 14).lower().startswith(b"%%matrixmarket"):
        raise _bad(p, "it does not start with the %%MatrixMarket header")
    import scipy.io

    try:
        data = p.read_bytes()
    except OSError as err:
        raise _bad(p, str(err.strerror or err)) from None
    _check_mtx_entries(p, data)

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
