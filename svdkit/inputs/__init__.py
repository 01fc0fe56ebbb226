"""The front door: whatever a person calls a matrix becomes a validated array here.

:func:`as_matrix` accepts NumPy arrays, nested lists, text in the usual notations
(Python, NumPy, MATLAB, LaTeX, CSV), files and SciPy sparse matrices, and returns a
2-D float64 (or complex128) array, or keeps a sparse matrix sparse. Every fault —
ragged rows, NaN, an unknown token, an empty input — is an
:class:`~svdkit.SvdkitError` that names the row, column, token, shape or file.

Examples
--------
>>> import numpy as np
>>> from svdkit.inputs import as_matrix, as_vector
>>> as_matrix(r"\\left[ \\begin{array}{cc}1 & 3 \\\\ 1 & −2\\end{array}\\right]")
array([[ 1.,  3.],
       [ 1., -2.]])
>>> as_matrix("[1 2; 3 4]")
array([[1., 2.],
       [3., 4.]])
>>> as_vector("1; 2; 3")
array([1., 2., 3.])
>>> a = np.ones((3, 2))
>>> as_matrix(a) is a  # already float64 and 2-D: no copy
True
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from svdkit.errors import (
    EmptyInputError,
    NonFiniteError,
    ParseError,
    ShapeError,
    SvdkitError,
    check_bool,
)
from svdkit.inputs.files import (
    SUPPORTED_EXTENSIONS,
    folder_error,
    matrix_file_name,
    names_folder,
    read_matrix_file,
    stored_dtype,
)
from svdkit.inputs.shape import as_2d, check_rows, is_sequence, nested_entry_error, unmasked
from svdkit.inputs.text import parse_matrix_text, text_to_array

if TYPE_CHECKING:
    from typing import TypeAlias

    from numpy.typing import ArrayLike
    from scipy.sparse import sparray, spmatrix

    #: What :func:`as_matrix` reads as a matrix: nested lists, arrays, matrix text
    #: (``"1 2; 3 4"``), a file path (``.npy``, ``.npz``, ``.mtx``, ``.csv``…), SciPy
    #: sparse matrices (for type annotations only).
    MatrixLike: TypeAlias = ArrayLike | str | os.PathLike[str] | spmatrix | sparray

__all__ = [
    "DENSIFY_LIMIT",
    "SUPPORTED_EXTENSIONS",
    "as_matrix",
    "as_vector",
    "decode_matrix_text",
    "load",
    "parse_matrix_text",
    "stored_dtype",
]

DENSIFY_LIMIT = 2**27
"""The most entries (m·n) a sparse matrix may have to be made dense (1 GiB of float64);
also the most entries a full SVD may add beyond the thin one (``svd(A, full=True)``,
:func:`svdkit.subspaces`). Read at each call (by :mod:`svdkit.linalg` and
:mod:`svdkit.lowrank` alike): set it higher to allow more."""

_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))

Where = Callable[[tuple[int, ...]], str]


# --------------------------------------------------------------------------- positions


def _matrix_pos(idx: tuple[int, ...]) -> str:
    if len(idx) == 2:
        return f"row {idx[0] + 1}, column {idx[1] + 1}"
    if len(idx) == 1:  # a vector is a column
        return f"row {idx[0] + 1}, column 1"
    return "row 1, column 1" if not idx else f"index {idx}"  # a scalar is 1×1


def _vector_pos(idx: tuple[int, ...]) -> str:
    if len(idx) == 1:
        return f"position {idx[0] + 1} (index {idx[0]})"
    return _matrix_pos(idx)


# --------------------------------------------------------------------------- dense input


def _diagnose_nesting(obj: list | tuple, name: str) -> None:
    """Explain why nested lists do not form a matrix: ragged rows or a third level."""
    rows = list(obj)
    if not check_rows(rows, name):
        return
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            if is_sequence(x):
                raise nested_entry_error(name, i, j)


def _describe(x: object) -> str:
    if isinstance(x, str | bytes):
        return f"the text {x!r}"
    r = repr(x)
    return f"{r[:60]}…" if len(r) > 60 else r


def _scalar(x: object, name: str, idx: tuple[int, ...], where: Where) -> float | complex:
    """One Python object → float or complex, or an error naming its position."""
    if isinstance(x, str | bytes):
        raise ParseError(
            f"{name}: the entry at {where(idx)} is {_describe(x)}, not a number "
            "(to parse text, pass the whole matrix as one string)"
        )
    try:
        if isinstance(x, bool | np.bool_ | numbers.Real):
            return _finite_or_overflow(float(x), x)
        if isinstance(x, numbers.Complex):
            return complex(x)
        for convert in (float, complex):
            try:
                value = convert(x)
            except (TypeError, ValueError):
                continue
            return _finite_or_overflow(value, x) if isinstance(value, float) else value
    except OverflowError:
        raise NonFiniteError(
            f"{name}: the entry at {where(idx)} ({_describe(x)}) is too large for a float"
        ) from None
    raise ParseError(f"{name}: the entry at {where(idx)} is {_describe(x)}, not a number")


def _finite_or_overflow(value: float, x: object) -> float:
    """``value = float(x)``; OverflowError where ``x`` is finite but ``value`` is not:
    ``float(Decimal("1e400"))`` and ``float(np.longdouble("1e400"))`` give ``inf``
    without an error (an int or a Fraction raises)."""
    if math.isfinite(value):
        return value
    is_finite = getattr(x, "is_finite", None)  # Decimal
    if callable(is_finite):
        finite = bool(is_finite())
    elif isinstance(x, np.generic):
        finite = bool(np.isfinite(x))
    else:
        finite = False
    if finite:
        raise OverflowError
    return value


def _convert_objects(a: np.ndarray, name: str, where: Where) -> np.ndarray:
    values = [_scalar(x, name, idx, where) for idx, x in np.ndenumerate(a)]
    dtype = np.complex128 if any(isinstance(v, complex) for v in values) else np.float64
    return np.array(values, dtype=dtype).reshape(a.shape)


def _from_tensor(obj: Any, name: str = "the input") -> Any:
    """A torch tensor's values as NumPy reads them; anything else unchanged.

    ``np.asarray`` of a tensor that requires grad raised torch's ``RuntimeError``
    ("Can't call numpy() on Tensor that requires grad"), one on a GPU another, and
    a bfloat16 one "unsupported ScalarType BFloat16": the values are taken detached,
    on the CPU, bfloat16 and the float8 formats widened to float32 (exact). torch is
    never imported here. A tensor whose values cannot be copied (on device ``meta``)
    is a :class:`~svdkit.ParseError` naming ``name``.
    """
    if not type(obj).__module__.startswith("torch") or not hasattr(obj, "detach"):
        return obj
    try:
        t = obj.detach().cpu()
    except (RuntimeError, NotImplementedError) as err:  # a meta tensor has no values
        device = getattr(obj, "device", "?")
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ParseError(
            f"{name} is a torch tensor on device '{device}' whose values cannot be read: {why}"
        ) from None
    if str(t.dtype) == "torch.bfloat16" or str(t.dtype).startswith("torch.float8"):
        t = t.float()
    return t.resolve_conj().resolve_neg() if hasattr(t, "resolve_conj") else t


def _is_ml_float(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is a float format of ``ml_dtypes`` (bfloat16, float8_*, float4_*:
    NumPy sees kind ``'V'``, or ``'f'`` without arithmetic), not one of its integers."""
    return dtype.type.__module__.split(".")[0] == "ml_dtypes" and "float" in dtype.name


def is_masked_dask(obj: Any) -> bool:
    """Whether ``obj`` is a dask array of masked blocks (``dask.array.ma``): its
    ``np.asarray`` (and every reduction of it but ``dask.array.ma``'s) drops the mask."""
    return type(obj).__module__.startswith("dask.") and isinstance(
        getattr(obj, "_meta", None), np.ma.MaskedArray
    )


def _refuse_masked_rows(rows: list | tuple, name: str, where: Where) -> None:
    """A list of rows some of which are masked arrays: a masked entry is an error, as in
    a masked array (``np.array(rows)`` would keep the values hidden under the masks)."""
    if not any(isinstance(r, np.ma.MaskedArray) for r in rows):
        return
    try:
        stacked = np.ma.array(rows)
    except (ValueError, TypeError):
        return  # ragged or mixed: the checks below say why
    unmasked(stacked, name, where)


def _to_array(obj: Any, name: str, where: Where) -> np.ndarray:
    """Any dense input → a numeric ndarray of any dimension (not yet validated)."""
    if type(obj) is np.ndarray:
        a = obj
    elif isinstance(obj, np.ma.MaskedArray):
        a = unmasked(obj, name, where)
    elif isinstance(obj, np.ndarray):
        a = np.asarray(obj)  # np.matrix, memmap: a plain view, no copy
    elif isinstance(obj, list | tuple):
        _refuse_masked_rows(obj, name, where)
        try:
            a = np.array(obj)
        except (ValueError, TypeError):
            _diagnose_nesting(obj, name)
            a = np.array(obj, dtype=object)
        if a.dtype.kind in "OUS" or a.ndim > 2:
            if a.ndim > 2 or any(is_sequence(x) for x in obj):
                _diagnose_nesting(obj, name)
            a = np.array(obj, dtype=object)
            if a.ndim > 2:
                raise ShapeError(f"{name} must be a matrix (2-D); got shape {a.shape}")
    else:
        obj = _from_tensor(obj, name)
        if is_masked_dask(obj):
            obj = obj.compute()  # a MaskedArray: np.asarray(obj) would drop its mask
        try:
            a = np.asanyarray(obj)  # (np.asarray drops the mask __array__ may return)
        except (ValueError, TypeError) as err:
            raise ParseError(f"{name} cannot be read as an array: {err}") from None
        if isinstance(a, np.ma.MaskedArray):
            a = unmasked(a, name, where)
        elif type(a) is not np.ndarray:
            a = np.asarray(a)  # np.matrix from __array__: a plain view, no copy
    if _is_ml_float(a.dtype):
        a = a.astype(np.float32)  # bfloat16, float8_* (ml_dtypes): exact in float32
    kind = a.dtype.kind
    if kind in "biufc":
        return a
    if a.ndim > 2:
        raise ShapeError(f"{name} must be a matrix (2-D); got shape {a.shape}")
    if kind == "O":
        return _convert_objects(a, name, where)
    if kind in "US" and a.size:
        idx = np.unravel_index(0, a.shape)
        raise ParseError(
            f"{name}: the entry at {where(idx)} is {_describe(a[idx].item())}, not a number "
            "(to parse text, pass the whole matrix as one string)"
        )
    raise ParseError(f"{name} has dtype {a.dtype}, which is not numeric")


def _target_dtype(dtype: Any) -> np.dtype | None:
    if dtype is None:
        return None
    try:
        d = np.dtype(dtype)
    except TypeError:
        d = None
    if d is None or d not in _DTYPES:  # (np.dtype == None compares as float64)
        raise SvdkitError(f"dtype must be float32, float64, complex64 or complex128; got {dtype!r}")
    return d


def _refuse_complex(a: Any, target: np.dtype, name: str, where: Where) -> SvdkitError:
    values = a.data if hasattr(a, "format") else a
    nz = np.flatnonzero(values.imag)
    which = ""
    if nz.size and not hasattr(a, "format"):
        idx = np.unravel_index(nz[0], a.shape)
        which = f" (its entry at {where(idx)} is {a[idx].item()!r})"
    return SvdkitError(
        f"{name} has complex entries{which} and cannot be cast to the real dtype {target}; "
        f"pass a complex dtype, or take {name}.real explicitly"
    )


def _finish(a: np.ndarray, target: np.dtype | None, name: str, where: Where) -> np.ndarray:
    """Cast to the working dtype (no copy when it already is) and check finiteness."""
    complex_in = a.dtype.kind == "c"
    if target is None:
        target = np.dtype(np.complex128 if complex_in else np.float64)
    elif complex_in and target.kind == "f":
        raise _refuse_complex(a, target, name, where)
    if a.dtype != target:
        with np.errstate(over="ignore", invalid="ignore"):
            b = a.astype(target)
    else:
        b = a
    if a.dtype.kind not in "biu" or b is not a:
        finite = np.isfinite(b)
        if not finite.all():
            idx = tuple(int(i) for i in np.argwhere(~finite)[0])
            value = a[idx].item()
            if b is not a and np.isfinite(a[idx]):
                raise NonFiniteError(
                    f"{name}: the entry at {where(idx)} ({value!r}) overflows {target}"
                )
            raise NonFiniteError(
                f"{name} has a non-finite entry at {where(idx)}: {value!r}; "
                "svdkit needs finite numbers (remove or impute missing values first)"
            )
    return b


# --------------------------------------------------------------------------- sparse input


def _is_sparse(obj: object) -> bool:
    if not type(obj).__module__.startswith("scipy.sparse"):
        return False  # keeps `import scipy.sparse` off the path of dense input
    import scipy.sparse

    return scipy.sparse.issparse(obj)


def _bad_index(name: str, fmt: str, what: str) -> ParseError:
    return ParseError(f"{name} is not a valid {fmt.upper()} sparse matrix: {what}")


def _check_compressed(obj: Any, name: str) -> None:
    """CSR, CSC or BSR: ``indptr`` runs from 0 up, never down, to at most the stored
    entries, and every ``indices`` entry it covers lies within the shape."""
    fmt = obj.format
    m, n = obj.shape if len(obj.shape) == 2 else (1, obj.shape[0])  # a 1-D CSR array: one row
    r, c = obj.blocksize if fmt == "bsr" else (1, 1)
    major, minor = (m // r, n // c) if fmt != "csc" else (n, m)
    axis = "column" if fmt != "csc" else "row"
    if fmt == "bsr":
        axis = "block column"
    indptr, indices = np.asarray(obj.indptr), np.asarray(obj.indices)
    _check_index_dtype(indptr, "indptr", name, fmt)
    _check_index_dtype(indices, "indices", name, fmt)
    if indices.ndim != 1:
        raise _bad_index(name, fmt, f"its indices are a {indices.ndim}-D array, not 1-D")
    if indptr.ndim != 1 or indptr.shape[0] != major + 1:
        raise _bad_index(
            name, fmt, f"its indptr has {indptr.size} entries; shape {obj.shape} needs {major + 1}"
        )
    if indptr[0] != 0:
        raise _bad_index(name, fmt, f"its indptr starts at {indptr[0]}, not 0")
    down = np.flatnonzero(np.diff(indptr) < 0)
    if down.size:
        k = int(down[0])
        raise _bad_index(
            name,
            fmt,
            f"its indptr decreases from {indptr[k]} to {indptr[k + 1]} at position {k + 1}",
        )
    nnz = int(indptr[-1])
    stored = min(indices.size, np.asarray(obj.data).shape[0] if np.ndim(obj.data) else 0)
    if nnz > stored:
        raise _bad_index(
            name, fmt, f"its indptr ends at {nnz} but only {stored} entries are stored"
        )
    _check_coordinates(indices[:nnz], minor, axis, obj.shape, name, fmt)


def _check_index_dtype(idx: np.ndarray, what: str, name: str, fmt: str) -> None:
    """Index arrays hold integers that SciPy's kernels take (others: a raw ValueError)."""
    kind, size = idx.dtype.kind, idx.dtype.itemsize
    if kind not in "iu":
        raise _bad_index(name, fmt, f"its {what} array is {idx.dtype}, not integers")
    if kind == "u" and size >= 8:
        raise _bad_index(
            name, fmt, f"its {what} array is {idx.dtype}, which SciPy does not take (use int64)"
        )


def _check_coordinates(
    idx: np.ndarray, size: int, axis: str, shape: tuple[int, ...], name: str, fmt: str
) -> None:
    if not idx.size:
        return
    lo, hi = idx.min(), idx.max()
    if lo < 0 or hi >= size:
        bad = lo if lo < 0 else hi
        raise _bad_index(name, fmt, f"{axis} index {bad} is out of range for shape {shape}")


def _check_structure(obj: Any, name: str) -> None:
    """Refuse a sparse matrix whose index arrays are inconsistent (a corrupt ``.npz``, or
    arrays set by hand): SciPy reads them unchecked, out of bounds, in ``toarray``.
    O(nnz), like reading the matrix; LIL and DOK hold Python objects and are safe."""
    fmt = obj.format
    if fmt in ("csr", "csc", "bsr"):
        _check_compressed(obj, name)
    elif fmt == "coo":
        coords = obj.coords if hasattr(obj, "coords") else (obj.row, obj.col)
        nnz = np.asarray(obj.data).shape[0]
        for axis, (idx, size) in enumerate(zip(coords, obj.shape, strict=True)):
            idx = np.asarray(idx)
            _check_index_dtype(idx, "indices", name, fmt)
            if idx.ndim != 1 or idx.shape[0] != nnz:
                raise _bad_index(
                    name, fmt, f"it has {nnz} values but {idx.size} indices along axis {axis}"
                )
            what = ("row", "column")[axis] if len(obj.shape) == 2 else "index"
            _check_coordinates(idx, size, what, obj.shape, name, fmt)
    elif fmt == "dia":
        data, offsets = np.asarray(obj.data), np.asarray(obj.offsets)
        _check_index_dtype(offsets, "offsets", name, fmt)
        if data.ndim != 2 or offsets.ndim != 1 or offsets.shape[0] != data.shape[0]:
            raise _bad_index(
                name, fmt, f"it has {offsets.size} offsets for {data.shape[0]} rows of data"
            )


def _from_sparse(obj: Any, target: np.dtype | None, keep: bool, name: str) -> Any:
    _check_structure(obj, name)
    if len(obj.shape) == 1:
        obj = obj.reshape((obj.shape[0], 1))
    m, n = obj.shape
    if m == 0 or n == 0:
        raise EmptyInputError(
            f"{name} is empty (shape {obj.shape}): a matrix needs at least one entry"
        )
    if obj.dtype.kind not in "biufc":
        raise ParseError(f"{name} is a sparse matrix of dtype {obj.dtype}, which is not numeric")
    if not keep:
        if m * n > DENSIFY_LIMIT:
            raise ShapeError(
                f"{name} is a {m}×{n} sparse matrix with {obj.nnz} stored entries: too large to "
                f"densify ({m * n:,} entries > {DENSIFY_LIMIT:,}); keep it sparse (sparse=True) "
                "and use the large-scale engine svdkit.lowrank"
            )
        return _finish(obj.toarray(), target, name, _matrix_pos)
    if obj.format not in ("csr", "csc"):
        obj = obj.tocsr()
    complex_in = obj.dtype.kind == "c"
    if target is None:
        target = np.dtype(np.complex128 if complex_in else np.float64)
    elif complex_in and target.kind == "f":
        raise _refuse_complex(obj, target, name, _matrix_pos)
    if obj.dtype != target:
        with np.errstate(over="ignore", invalid="ignore"):
            obj = obj.astype(target)
    bad = ~np.isfinite(obj.data)
    if bad.any():
        k = int(np.argmax(bad))
        major = int(np.searchsorted(obj.indptr, k, side="right")) - 1
        minor = int(obj.indices[k])
        i, j = (major, minor) if obj.format == "csr" else (minor, major)
        raise NonFiniteError(
            f"{name} has a non-finite entry at row {i + 1}, column {j + 1}: {obj.data[k].item()!r}"
        )
    return obj


# --------------------------------------------------------------------------- text


_FILE_NAME = re.compile(r"\S+\.(?:" + "|".join(e[1:] for e in SUPPORTED_EXTENSIONS) + ")", re.I)
#: One word that looks like a file name (``data.bin``, ``out/x.h5``): a hint when it
#: does not parse as matrix text.
_PATH_LIKE = re.compile(r"\S*[A-Za-z_/\\]\S*\.[A-Za-z]\w*")


def _from_text(text: str, name: str) -> np.ndarray:
    """Matrix text → an array; an error of the parser names the argument first
    (``b: row 1, column 2: unknown name 'x'``), keeping its row, column and offset."""
    try:
        return text_to_array(text)
    except SvdkitError as err:
        folder = names_folder(text) if isinstance(err, ParseError) else None
        if folder is not None:  # "data/": a folder, not "unknown name 'data'"
            raise folder_error(folder, arg=name) from None
        message = f"{name}: {err}"
        if isinstance(err, ParseError) and _FILE_NAME.fullmatch(text.strip()):
            message += (
                "\n(a str is matrix text unless it ends in .npy, .npz or .mtx; to read "
                "another file, pass a pathlib.Path or call svdkit.load)"
            )
        elif isinstance(err, ParseError) and _PATH_LIKE.fullmatch(text.strip()):
            message += (
                "\n(read as matrix text, not as a file: svdkit reads files ending in "
                f"{', '.join(SUPPORTED_EXTENSIONS)})"
            )
        raise err.with_message(message) from None


# --------------------------------------------------------------------------- public API


_BINARY_KINDS = (
    (b"\x93NUMPY", "a .npy file"),
    (b"PK\x03\x04", "a zip archive (an .npz file?)"),
    (b"PK\x05\x06", "a zip archive (an .npz file?)"),
)
#: Byte order marks of the other Unicode encodings (UTF-32 first: its LE mark starts
#: with UTF-16's). PowerShell's ``>`` writes UTF-16.
_OTHER_UNICODE = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def decode_matrix_text(data: bytes | str, source: str = "standard input") -> str:
    """Bytes that should be matrix text (standard input, a pipe) → ``str``, as files are read.

    Parameters
    ----------
    data : bytes or str
        The raw bytes, e.g. ``sys.stdin.buffer.read()`` (a ``str`` is returned as it
        is). Decoding them here, rather than by the locale's text layer, makes a stray
        byte an svdkit error under every locale (a strict UTF-8 one raised
        ``UnicodeDecodeError``; the C locale turned it into a surrogate that the parser
        then named).
    source : str
        What to call the bytes in error messages.

    Returns
    -------
    str
        The text, decoded as UTF-8 (a leading byte order mark dropped).

    Raises
    ------
    ParseError
        Binary data (a NUL byte; a ``.npy`` file or a zip archive such as ``.npz`` is
        named as such, with the advice to pass it by file name), UTF-16 or UTF-32 text
        (named by its byte order mark, with the advice to save it as UTF-8), bytes that
        are not UTF-8 (the offset named), or ``data`` neither bytes nor ``str``.

    Examples
    --------
    >>> decode_matrix_text(b"\\xef\\xbb\\xbf1 2\\n3 4\\n")
    '1 2\\n3 4\\n'
    >>> decode_matrix_text(b"1 \\xe9")
    Traceback (most recent call last):
    ...
    svdkit.errors.ParseError: standard input is not UTF-8 text (byte 2)
    """
    if isinstance(data, str):
        return data
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParseError(f"decode_matrix_text takes bytes (or str), not {type(data).__name__}")
    data = bytes(data)
    for magic, kind in _BINARY_KINDS:
        if data.startswith(magic):
            raise ParseError(
                f"{source} holds {kind}, not matrix text: pass a .npy or .npz file by its "
                "name (ending in .npy or .npz)"
            )
    for magic, encoding in _OTHER_UNICODE:
        if data.startswith(magic):
            raise ParseError(f"{source} is {encoding} text; save it as UTF-8")
    if (nul := data.find(b"\x00")) >= 0:
        raise ParseError(f"{source} holds binary data (byte {nul} is NUL), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ParseError(f"{source} is not UTF-8 text (byte {err.start})") from None


def as_matrix(
    obj: Any, *, dtype: Any = None, sparse: bool = False, name: str = "A"
) -> np.ndarray | spmatrix | sparray:
    """Turn anything a person calls a matrix into a validated 2-D array.

    Parameters
    ----------
    obj : array_like, str, path-like or SciPy sparse matrix
        A NumPy array (any numeric dtype) or ``np.matrix``; nested lists or tuples
        of ints, floats, complex numbers, ``Fraction`` or bools; any object with
        ``__array__``; matrix text (``"[[1, 2], [3, 4]]"``, ``"1 2; 3 4"``,
        ``r"\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}"``, CSV lines; entries may be
        expressions such as ``1/2``, ``1+2i``, ``\\sqrt{2}``, ``3π``); a path, read by
        :func:`load`: an ``os.PathLike``, or a one-line ``str`` ending in ``.npy``,
        ``.npz`` or ``.mtx`` (any case, surrounding whitespace stripped:
        :func:`~svdkit.inputs.files.names_matrix_file`),
        any other ``str`` being matrix text (``Path("data.csv")`` reads that file); a
        SciPy sparse matrix or array. A 1-D input is a column
        vector (n×1), a scalar is 1×1.
    dtype : {None, np.float32, np.float64, np.complex64, np.complex128}
        Working precision. By default float64 for real input, complex128 for
        complex input.
    sparse : bool
        Keep SciPy sparse input sparse (CSR or CSC; other formats become CSR).
        When False, sparse input is densified. Dense input stays dense either way.
    name : str
        What to call the matrix in error messages.

    Returns
    -------
    numpy.ndarray or scipy.sparse matrix
        2-D, finite, of the working dtype. An input that already is a float64
        (or complex128) 2-D ndarray is returned as is, without a copy.

    Raises
    ------
    ShapeError
        More than two dimensions; a sparse matrix too large to densify.
    EmptyInputError
        No entries (a dimension of length zero).
    NonFiniteError
        A NaN or an infinity, named by row and column (1-based) and value.
    ParseError
        Text that is not a matrix, or entries that are not numbers.
    RaggedError
        Rows of different lengths.
    SvdkitError
        Complex entries with a real ``dtype``; an unsupported ``dtype``.

    Examples
    --------
    >>> from fractions import Fraction
    >>> as_matrix([[1, Fraction(1, 2)], [0, 2]])
    array([[1. , 0.5],
           [0. , 2. ]])
    >>> as_matrix("[1, 2, 3]").shape  # a vector is a column
    (3, 1)
    >>> as_matrix("1+2i 3")
    array([[1.+2.j, 3.+0.j]])
    >>> as_matrix([[1, 2], [3]])
    Traceback (most recent call last):
    ...
    svdkit.errors.RaggedError: A: row 2 has 1 entry but row 1 has 2 entries
    """
    target = _target_dtype(dtype)
    sparse = check_bool(sparse, "sparse")
    if _is_sparse(obj):
        return _from_sparse(obj, target, sparse, name)
    if isinstance(obj, str) and (file_name := matrix_file_name(obj)) is not None:
        return load(file_name, dtype=dtype, sparse=sparse)  # (without its newline)
    if isinstance(obj, os.PathLike):
        return load(obj, dtype=dtype, sparse=sparse)
    a = _from_text(obj, name) if isinstance(obj, str) else _to_array(obj, name, _matrix_pos)
    return _finish(as_2d(a, name), target, name, _matrix_pos)


def as_vector(obj: Any, *, name: str = "x") -> np.ndarray:
    """Turn a list, a 1-D array, a row or column matrix, or text into a 1-D array.

    Parameters
    ----------
    obj : array_like, str, path-like or SciPy sparse matrix
        Anything :func:`as_matrix` accepts whose shape is n, n×1 or 1×n:
        ``[1, 2, 3]``, ``"1 2 3"``, ``"1; 2; 3"``, ``r"\\begin{bmatrix}1\\\\2\\end{bmatrix}"``.
    name : str
        What to call the vector in error messages.

    Returns
    -------
    numpy.ndarray
        1-D, finite, float64 or complex128; a float64 1-D input is returned as is.

    Raises
    ------
    ShapeError
        Both dimensions larger than 1, or more than two dimensions.
    EmptyInputError, NonFiniteError, ParseError, RaggedError
        As for :func:`as_matrix`; entries are named by their index.

    Examples
    --------
    >>> as_vector([[1], [2], [3]])
    array([1., 2., 3.])
    >>> as_vector([1, float("nan")])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    svdkit.errors.NonFiniteError: x has a non-finite entry at position 2 (index 1): nan; ...
    """
    if _is_sparse(obj):
        a = _from_sparse(obj, None, False, name)
    elif isinstance(obj, str) and (file_name := matrix_file_name(obj)) is not None:
        a = load(file_name)
    elif isinstance(obj, os.PathLike):
        a = load(obj)
    elif isinstance(obj, str):
        a = _from_text(obj, name)
    else:
        a = _to_array(obj, name, _vector_pos)
    if a.ndim > 2 or (a.ndim == 2 and min(a.shape) > 1):
        raise ShapeError(f"{name} must be a vector; got shape {a.shape}")
    if a.size == 0:
        raise EmptyInputError(
            f"{name} is empty (shape {a.shape}): a vector needs at least one entry"
        )
    return _finish(a if a.ndim == 1 else a.reshape(-1), None, name, _vector_pos)


def load(
    path: str | os.PathLike[str], *, dtype: Any = None, sparse: bool = False
) -> np.ndarray | spmatrix | sparray:
    """Read a matrix from a file, by extension, and validate it like :func:`as_matrix`.

    Parameters
    ----------
    path : str or path-like
        ``.npy``, ``.npz`` (a SciPy sparse matrix or exactly one array), ``.csv``,
        ``.tsv``, ``.txt`` (any text notation), ``.json`` (a list of rows),
        ``.tex`` (one LaTeX matrix environment) or ``.mtx`` (Matrix Market).
        Nothing is ever unpickled.
    dtype : {None, np.float32, np.float64, np.complex64, np.complex128}
        Working precision, as for :func:`as_matrix`.
    sparse : bool
        Keep sparse content (``.mtx``, sparse ``.npz``) sparse.

    Returns
    -------
    numpy.ndarray or scipy.sparse matrix

    Raises
    ------
    SvdkitError
        ``path`` is not a ``str`` or ``os.PathLike`` (``None``, a number…).
    FileFormatError
        An empty path, an unknown extension, or content that is not what the
        extension says.
    MissingFileError
        No such file (also a ``FileNotFoundError``).
    ParseError, RaggedError, EmptyInputError, NonFiniteError, ShapeError
        Bad content, with the file name and the position.

    Examples
    --------
    >>> import tempfile, pathlib, shutil
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = path.write_text("1,2\\n3,1/2\\n")
    >>> load(path)
    array([[1. , 2. ],
           [3. , 0.5]])
    >>> shutil.rmtree(path.parent)
    """
    raw = read_matrix_file(path, sparse=check_bool(sparse, "sparse"))
    return as_matrix(raw, dtype=dtype, sparse=sparse, name=f"'{os.fspath(path)}'")
