"""Safetensors read and write with NumPy only: memory-mapped, tensor by tensor, bf16 included.

The format (https://huggingface.co/docs/safetensors): 8 bytes little-endian
``N``, then ``N`` bytes of JSON header (``{name: {"dtype", "shape",
"data_offsets": [begin, end]}, "__metadata__": {str: str}}``), then the raw
little-endian buffer; offsets are relative to the start of the buffer.

* :class:`SafetensorsFile` parses the header itself and hands out each tensor as
  a read-only ``np.memmap`` view: nothing is read until it is used, so a model
  of any size is walked with one tensor in memory at a time. ``BF16`` and the
  ``F8`` types are viewed through :mod:`ml_dtypes` (no torch), imported only for
  them: float32, float16 and float64 checkpoints need NumPy alone.
* :class:`Checkpoint` is one file, a directory, or a sharded checkpoint with
  an index (``model.safetensors.index.json`` or another ``*.index.json``) —
  the same ``name → tensor`` mapping.
* :class:`SafetensorsWriter` writes one file tensor by tensor (the header is
  known up front, the data streamed), to a temporary file renamed at the end.

Pickle files (``.bin``, ``.pt``, ``.pth``, ``.ckpt``, ``.pkl``) are refused with a
:class:`~svdkit.FileFormatError`: they can run code when loaded.

Examples
--------
>>> import numpy as np, ml_dtypes, tempfile, shutil, pathlib
>>> from svdkit.lora.safetensors_io import Checkpoint, save_safetensors
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> w = np.arange(6, dtype=np.float32).reshape(2, 3).astype(ml_dtypes.bfloat16)
>>> save_safetensors(d / "m.safetensors", {"layer.weight": w})
>>> ck = Checkpoint(d / "m.safetensors")
>>> ck.names, ck.dtype("layer.weight"), ck.shape("layer.weight")
(['layer.weight'], 'BF16', (2, 3))
>>> ck.read("layer.weight").tolist()
[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
>>> shutil.rmtree(d)  # (the example leaves nothing behind)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from svdkit._files import (
    _written_path,
    check_file_output,
    make_temp_file,
    write_error,
    written_through,
)
from svdkit.errors import (
    FileFormatError,
    MissingDependencyError,
    MissingFileError,
    MissingTensorError,
    NonFiniteError,
    ShapeError,
    SvdkitError,
)
from svdkit.inputs.files import check_path
from svdkit.inputs.shape import first_masked
from svdkit.lora._args import check_metadata

__all__ = [
    "FACTOR_CODES",
    "FLOAT_CODES",
    "MARK_KEY",
    "PICKLE_SUFFIXES",
    "WIDEN",
    "Checkpoint",
    "OpaqueTensor",
    "SafetensorsFile",
    "SafetensorsWriter",
    "as_checkpoint",
    "as_stored_array",
    "dtype_code",
    "load_json",
    "numpy_dtype",
    "round_to",
    "save_safetensors",
    "written_by_svdkit",
]

PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"})
INDEX_NAME = "model.safetensors.index.json"
#: A header larger than this is not a safetensors header (the reference reader's limit).
MAX_HEADER = 100_000_000
#: The ``__metadata__`` key svdkit sets in every safetensors file it writes as an
#: output (an adapter, a merged or residual checkpoint): an existing output is
#: replaced only when its files carry it, so a model or an adapter svdkit did not
#: write is never overwritten. Loaders ignore it (transformers reads ``format``).
MARK_KEY = "svdkit"


#: The dtype codes NumPy has built in (``ml_dtypes`` is not needed for these).
_NUMPY_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
#: The dtype codes :mod:`ml_dtypes` supplies: code → its scalar type's name there.
_ML_DTYPES = {"BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}
#: The safetensors codes of floating-point tensors: the weights LoRA factors, and the
#: tensors :meth:`Checkpoint.read` refuses to truncate to an integer dtype.
FLOAT_CODES = ("F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2")
#: The floating-point codes LoRA factors are stored in (``dtype=`` of
#: :meth:`~svdkit.lora.Adapter.save`, :func:`~svdkit.lora.extract`…): not the 8-bit floats.
FACTOR_CODES = ("F32", "F16", "BF16", "F64")
_KNOWN_CODES = (*FLOAT_CODES, "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL")
#: Codes of the safetensors format svdkit does not read as numbers → bits per entry.
#: Such a tensor is kept as its bytes (:class:`OpaqueTensor`): copied through by a
#: merge or a residual byte for byte, refused only where its values are needed.
_OPAQUE_BITS = {"F8_E8M0": 8, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}
#: The most entries (times their bytes) NumPy allows in one array.
_MAX_BYTES = 2**63 - 1
#: :meth:`Checkpoint.read`'s default ``dtype``: floats widened exactly (to float32, or
#: float64 for ``F64``), integers and bools in their stored dtype — nothing rounded.
WIDEN = "widen"


def _ml_dtypes(code: str) -> Any:
    """The :mod:`ml_dtypes` module, imported for a ``code`` tensor (``"BF16"``, ``"F8_…"``).

    Raises
    ------
    MissingDependencyError
        ml_dtypes (the ``lora`` extra) is not installed; float32, float16 and
        float64 tensors never need it.
    """
    try:
        import ml_dtypes
    except ImportError as err:
        raise MissingDependencyError(
            f"svdkit.lora needs ml_dtypes for {code} tensors: pip install 'svdkit[lora]'"
        ) from err
    return ml_dtypes


def numpy_dtype(code: str) -> np.dtype:
    """The NumPy dtype of a safetensors dtype code (``"BF16"`` → ``ml_dtypes.bfloat16``).

    Raises
    ------
    FileFormatError
        ``code`` is not a dtype svdkit reads.
    MissingDependencyError
        ``code`` is ``BF16`` or an ``F8`` type and ml_dtypes is not installed.
    """
    if code in _NUMPY_DTYPES:
        return _NUMPY_DTYPES[code]
    if code in _ML_DTYPES:
        return np.dtype(getattr(_ml_dtypes(code), _ML_DTYPES[code]))
    raise _unknown_code(code)


def round_to(x: Any, dtype: Any) -> np.ndarray:
    """``x`` rounded once, to nearest (ties to even), to the floating-point ``dtype``.

    ``np.asarray(x).astype(dtype)``, but correct where that cast is not: ml_dtypes
    casts float64 to bfloat16 and to the 8-bit floats through float32, rounding
    twice, so a value just off a midpoint of the target goes the wrong way
    (``1 + 2**-8 + 2**-30`` becomes bfloat16's ``1.0``, where the nearest is
    ``1.0078125``). Here the float64 values are first rounded to float32 *to odd*
    (toward zero, the last bit set where inexact), which keeps the side of every
    midpoint of a format with at least two bits fewer; the float32 → ``dtype``
    rounding is then the only one. Other casts (float64 → float16 or float32,
    float32 → bfloat16…) are NumPy's or ml_dtypes' own, which round once. Values
    beyond ``dtype``'s range become ``inf`` (NaN for float8_e4m3fn, which has no
    ``inf``), as the plain cast makes them: callers refuse them by name.

    Parameters
    ----------
    x : array_like
        The values (any dtype).
    dtype : dtype
        The target dtype (``ml_dtypes.bfloat16``, ``np.float16``…).

    Returns
    -------
    numpy.ndarray
        ``x`` in ``dtype``, of ``x``'s shape (``x`` itself when already of ``dtype``).

    Examples
    --------
    >>> import ml_dtypes
    >>> x = np.array([1 + 2**-8 + 2**-30, -(1 + 2**-8 + 2**-30), 1 + 2**-8])
    >>> round_to(x, ml_dtypes.bfloat16).astype(np.float64).tolist()
    [1.0078125, -1.0078125, 1.0]
    """
    a = np.asarray(x)
    dt = np.dtype(dtype)
    if a.dtype == dt:
        return a
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if a.dtype.kind != "f" or a.dtype.itemsize <= 4 or dt.name not in _ML_DTYPES.values():
            return a.astype(dt)  # (NumPy's float16/float32 and a float32 source: one rounding)
        flat = a.reshape(-1)
        out = np.empty(flat.shape, dtype=dt)
        work = np.empty(min(flat.size, _ROUND_BLOCK), dtype=np.uint64)
        carry = np.empty_like(work)
        bf16 = dt.name == "bfloat16"
        for i in range(0, flat.size, _ROUND_BLOCK):
            block = np.asarray(flat[i : i + _ROUND_BLOCK], dtype=np.float64)  # (any byte order)
            if bf16:
                n = block.size
                out[i : i + n] = _bfloat16_bits(block, work[:n], carry[:n])
            else:
                out[i : i + _ROUND_BLOCK] = _to_odd_float32(block).astype(dt)
    return out.reshape(a.shape)


#: Entries per block of :func:`round_to`: its passes stay in the core's cache (16 Mi
#: float64 entries to bfloat16: 41 ms in blocks of 2¹⁵, 54 ms in blocks of 2²⁰).
_ROUND_BLOCK = 1 << 15

#: bfloat16 keeps 7 of float64's 52 significand bits: 45 are rounded off.
_BF16_DROP = np.uint64(45)
_BF16_HALF_LESS_ONE = np.uint64((1 << 44) - 1)
_BF16_KEEP = np.uint64(((1 << 64) - 1) ^ ((1 << 45) - 1))


def _bfloat16_bits(x: np.ndarray, work: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """Float64 ``x`` to bfloat16, rounded once (to nearest, ties to even).

    Where ``x`` is in bfloat16's normal range or beyond it (the usual case), the
    rounding is done on the float64's bits: adding ``2⁴⁴ − 1`` plus the last kept bit
    and clearing the 45 dropped ones rounds the significand to nearest even, a carry
    moving into the exponent as it should (and past bfloat16's largest finite value to
    a float64 the cast makes ``inf``); the float64 that results is a bfloat16 value,
    so the cast (through float32) is exact. bfloat16's subnormals, zero, ``inf`` and
    NaN go through :func:`_to_odd_float32` (16 Mi entries: 41 ms, against 330 ms
    that way for all, and 21 ms for ml_dtypes' cast, which rounds twice).
    """
    bits = x.view(np.uint64)
    np.right_shift(bits, _BF16_DROP, out=carry)
    np.bitwise_and(carry, np.uint64(1), out=carry)
    np.add(bits, _BF16_HALF_LESS_ONE, out=work)
    np.add(work, carry, out=work)
    np.bitwise_and(work, _BF16_KEEP, out=work)
    result = work.view(np.float64).astype(_ml_dtypes("BF16").bfloat16)
    # the exponent field: below float32's normal range (< 2⁻¹²⁶: bfloat16's subnormals
    # and zero) or all ones (inf, NaN), the bit rounding does not apply
    np.right_shift(bits, np.uint64(52), out=carry)
    np.bitwise_and(carry, np.uint64(0x7FF), out=carry)
    special = (carry < np.uint64(1023 - 126)) | (carry == np.uint64(0x7FF))
    if special.any():
        result[special] = _to_odd_float32(x[special]).astype(result.dtype)
    return result


#: The 29 low bits of a float64's significand that float32 has no room for.
_DROPPED = np.uint64((1 << 29) - 1)


def _to_odd_float32(x: np.ndarray) -> np.ndarray:
    """Float64 ``x`` rounded to float32 to odd: toward zero, with the last bit set where
    the value is not a float32 (beyond float32's range: its largest finite value, odd).

    Where ``x`` is a normal float32 in magnitude (the usual case), truncating its 29
    low significand bits is the rounding toward zero, and they say whether it was
    exact; elsewhere (float32's subnormals, zero, overflow, inf, NaN) the float32
    nearest is stepped toward zero where it went beyond ``x``.
    """
    bits = x.view(np.uint64)
    dropped = bits & _DROPPED
    x32 = (bits ^ dropped).view(np.float64).astype(np.float32)
    x32.view(np.uint32)[...] |= (dropped != 0).view(np.uint8)
    mag = np.abs(x)
    rest = ~((mag >= 2.0**-126) & (mag < 2.0**128))
    if not rest.any():
        return x32
    y = x[rest]
    y32 = y.astype(np.float32)  # to nearest: one step too far from zero where it rounded up
    up = np.abs(y32.astype(np.float64)) > np.abs(y)
    y32[up] = np.nextafter(y32[up], np.float32(0))
    inexact = (y32.astype(np.float64) != y) & np.isfinite(y)
    y32.view(np.uint32)[inexact] |= np.uint32(1)
    x32[rest] = y32
    return x32


def _unknown_code(code: str) -> FileFormatError:
    return FileFormatError(
        f"safetensors dtype {code!r} is not supported (known: {', '.join(_KNOWN_CODES)})"
    )


def _bits(code: str) -> int:
    """Bits per entry of a ``code`` tensor, without :mod:`ml_dtypes` (header checks);
    the codes svdkit keeps only as bytes (:data:`_OPAQUE_BITS`) included.

    Raises
    ------
    FileFormatError
        ``code`` is not a safetensors dtype svdkit knows.
    """
    if code in _NUMPY_DTYPES:
        return 8 * _NUMPY_DTYPES[code].itemsize
    if code in _ML_DTYPES:
        return 16 if code == "BF16" else 8
    if code in _OPAQUE_BITS:
        return _OPAQUE_BITS[code]
    raise _unknown_code(code)


def _nbytes(code: str, shape: tuple[int, ...]) -> int | None:
    """Bytes of a ``code`` tensor of ``shape``; None when they are not whole bytes."""
    bits = math.prod(shape) * _bits(code)
    return None if bits % 8 else bits // 8


def load_json(text: str | bytes, path: str | os.PathLike, **kwargs: Any) -> Any:
    """``json.loads(text, **kwargs)``, a structure nested too deeply for Python's
    parser refused as :class:`~svdkit.FileFormatError` naming ``path``.

    :class:`json.JSONDecodeError` is left to the caller, whose message says what the
    file should be.

    Raises
    ------
    FileFormatError
        ``text`` nests its arrays or objects too deeply (a ``RecursionError``).
    """
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise FileFormatError(
            f"'{path}': its JSON is nested too deeply to be read"
        ) from None


def dtype_code(dtype: Any) -> str:
    """The safetensors code of a NumPy dtype (``np.float16`` → ``"F16"``), in either
    byte order (``">f4"`` → ``"F32"``: the file is little-endian, written so).

    Raises
    ------
    FileFormatError
        Safetensors has no code for ``dtype`` (complex, text, objects, structures).
    """
    dt = np.dtype(dtype)
    if dt.byteorder not in "=|":
        dt = dt.newbyteorder("=")  # the same numbers; the writer stores them little-endian
    for code, known in _NUMPY_DTYPES.items():
        if known == dt:
            return code
    for code, name in _ML_DTYPES.items():
        if dt.name == name and np.dtype(getattr(_ml_dtypes(code), name)) == dt:
            return code
    raise FileFormatError(
        f"dtype {dt} has no safetensors code (safetensors stores {', '.join(_KNOWN_CODES)})"
    )


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """Whether a file's first bytes ``head`` (9 or more) and ``size`` fit the safetensors layout.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (at least 9 are needed).
    size : int
        The file size in bytes.

    Returns
    -------
    bool
        True when the 8-byte little-endian header length ``N`` satisfies
        ``2 ≤ N ≤ min(size − 8, MAX_HEADER)`` and the header starts with ``{``.
        The low byte of ``N`` may be anything (``0x80`` or ``P`` included), so
        this is checked before any pickle sniffing.
    """
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= min(size - 8, MAX_HEADER) and head[8:9] == b"{"


def _looks_like_pickle(head: bytes) -> bool:
    """A pickle stream starts with the PROTO opcode ``0x80``; a ``torch.save`` zip with ``PK``."""
    return head[:2] == b"PK" or head[:1] == b"\x80"


def refuse_pickle(path: Path) -> None:
    """Raise :class:`~svdkit.FileFormatError` for a pickle/torch file, by name or by content.

    A file whose first bytes fit the safetensors layout (a plausible header
    length, then ``{``) is never refused by content: the low byte of its header
    length may well be a pickle's ``0x80`` or the ``P`` of a zip's ``PK``.
    """
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise FileFormatError(
            f"'{path}' is a pickle ({path.suffix}) checkpoint: svdkit never loads pickle files "
            "(they can run code). Convert it to safetensors first."
        )
    with contextlib.suppress(OSError), open(path, "rb") as f:
        head = f.read(9)
        size = os.fstat(f.fileno()).st_size
        if not _looks_like_safetensors(head, size) and _looks_like_pickle(head):
            raise FileFormatError(
                f"'{path}' looks like a pickle / torch.save file, not safetensors: "
                "svdkit never loads pickle files. Convert it to safetensors first."
            )


def _is_count(x: Any) -> bool:
    """A JSON non-negative integer (``true`` / ``false`` and ``2.0`` are not)."""
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _checked_metadata(path: Path, raw: Any) -> dict[str, str]:
    """The header's ``__metadata__``: absent / null, or a JSON object of strings to strings."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FileFormatError(
            f"'{path}': safetensors \"__metadata__\" must be a JSON object of strings, "
            f"not {type(raw).__name__} {raw!r:.60}"
        )
    for key, value in raw.items():
        if not isinstance(value, str):
            raise FileFormatError(
                f"'{path}': safetensors \"__metadata__\" field {key!r} is "
                f"{type(value).__name__} {value!r:.60}, not a string"
            )
    return dict(raw)


def _checked_entry(path: Path, name: str, entry: Any) -> tuple[str, tuple[int, ...], int, int]:
    """``(dtype code, shape, begin, end)`` of one header entry, each field checked."""

    def bad(what: str) -> FileFormatError:
        return FileFormatError(f"'{path}': bad header entry for tensor {name!r}: {what}")

    if not isinstance(entry, dict):
        raise bad(f"{type(entry).__name__} {entry!r:.60}, not a JSON object")
    missing = [k for k in ("dtype", "shape", "data_offsets") if k not in entry]
    if missing:
        raise bad(f"no {', '.join(repr(k) for k in missing)}")
    code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(code, str):
        raise bad(f"\"dtype\" {code!r:.60} is not a string")
    try:
        bits = _bits(code)  # (a BF16 tensor needs ml_dtypes only when it is read)
    except FileFormatError as err:
        raise bad(str(err)) from None
    if not isinstance(shape, list) or not all(_is_count(x) for x in shape):
        raise bad(f"\"shape\" {shape!r:.60} is not a list of non-negative integers")
    # NumPy's limits (a zero dimension included: NumPy multiplies the others)
    if len(shape) > 64:
        raise bad(f"\"shape\" has {len(shape)} dimensions; an array has at most 64")
    if math.prod(x for x in shape if x) * -(-bits // 8) > _MAX_BYTES:
        raise bad(f"\"shape\" {shape!r:.60} is beyond the largest array (2**63 - 1 bytes)")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise bad(f"\"data_offsets\" {offsets!r:.60} is not [begin, end] with begin, end ≥ 0")
    return code, tuple(shape), offsets[0], offsets[1]


class OpaqueTensor:
    """A tensor of a safetensors dtype svdkit does not read as numbers (``F8_E8M0``,
    ``C64``, ``F4``, ``F6_*``): its bytes, written back as they are by
    :class:`SafetensorsWriter` (a merge copies it through unchanged).

    Using it as numbers (``np.asarray``) raises :class:`~svdkit.FileFormatError`
    naming the tensor and its dtype.

    Attributes
    ----------
    name : str
    code : str
        Its safetensors dtype code.
    shape : tuple of int
    raw : numpy.ndarray
        Its bytes (uint8, memory-mapped).
    """

    def __init__(self, name: str, code: str, shape: tuple[int, ...], raw: np.ndarray) -> None:
        self.name, self.code, self.shape, self.raw = name, code, shape, raw

    def error(self) -> FileFormatError:
        """The error of using this tensor as numbers."""
        return FileFormatError(
            f"tensor {self.name!r} is stored as {self.code}, which svdkit copies but does "
            f"not read as numbers (it reads {', '.join(_KNOWN_CODES)})"
        )

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise self.error()

    def view(self, dtype: Any) -> np.ndarray:
        """Its bytes for ``dtype`` uint8 (a comparison byte for byte); any other
        dtype is refused as using it as numbers."""
        if np.dtype(dtype) != np.uint8:
            raise self.error()
        return self.raw

    def __repr__(self) -> str:
        return f"OpaqueTensor({self.name!r}, {self.code}{list(self.shape)})"


class SafetensorsFile:
    """One ``.safetensors`` file: its header, and each tensor as a memory-mapped view.

    Parameters
    ----------
    path : str or Path
        The file. Its header is read and checked as the reference reader checks
        it (JSON without duplicate names, dtypes, shapes, offsets consistent with
        the shapes and covering the data exactly: no overlap, no gap, no trailing
        bytes); the data is not read.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise MissingFileError(f"no such safetensors file: '{self.path}'")
        refuse_pickle(self.path)
        size = self.path.stat().st_size
        with open(self.path, "rb") as f:
            raw = f.read(8)
            if len(raw) < 8:
                raise FileFormatError(f"'{self.path}' is too short to be a safetensors file")
            (n,) = struct.unpack("<Q", raw)
            if n > MAX_HEADER or 8 + n > size:
                raise FileFormatError(
                    f"'{self.path}' is not a safetensors file (header length {n}, file {size} B)"
                )
            try:
                header = load_json(
                    f.read(n).decode("utf-8"), self.path, object_pairs_hook=self._no_duplicates
                )
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise FileFormatError(
                    f"'{self.path}': safetensors header is not JSON: {err}"
                ) from err
        if not isinstance(header, dict):
            raise FileFormatError(f"'{self.path}': safetensors header is not a JSON object")
        self.metadata: dict[str, str] = _checked_metadata(
            self.path, header.pop("__metadata__", None)
        )
        self.data_start = 8 + n
        self.entries: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
        for name, entry in header.items():
            code, shape, begin, end = _checked_entry(self.path, name, entry)
            want = _nbytes(code, shape)
            if want is None or end - begin != want or self.data_start + end > size:
                raise FileFormatError(
                    f"'{self.path}': tensor {name!r} {code}{list(shape)} has offsets "
                    f"[{begin}, {end}] inconsistent with its shape or the file size"
                )
            self.entries[name] = (code, shape, begin, end)
        self._check_coverage(size - self.data_start)

    def _no_duplicates(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        """A JSON object of the header, refused when a name comes twice (``json``
        would keep the last silently, dropping the other definition)."""
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise FileFormatError(
                    f"'{self.path}': the safetensors header names {key!r} twice"
                )
            out[key] = value
        return out

    def _check_coverage(self, data_size: int) -> None:
        """The tensors' byte ranges, in order of their begin, must tile the data from 0
        to its end: an overlap, a gap or bytes after the last one are a corrupt file."""
        end = 0
        for name, (_, _, begin, stop) in sorted(
            self.entries.items(), key=lambda kv: (kv[1][2], kv[1][3])
        ):
            if begin != end:
                what = "overlaps the tensor before it" if begin < end else (
                    f"leaves {begin - end} bytes unused before it"
                )
                raise FileFormatError(
                    f"'{self.path}': tensor {name!r} begins at byte {begin} of the data, "
                    f"where the tensors before it end at {end}: it {what}"
                )
            end = stop
        if end != data_size:
            raise FileFormatError(
                f"'{self.path}': the tensors end at byte {end} of the data, but it holds "
                f"{data_size} bytes: the file is not fully covered by its header"
            )

    @property
    def names(self) -> list[str]:
        """Tensor names, in header order."""
        return list(self.entries)

    def tensor(self, name: str) -> np.ndarray | OpaqueTensor:
        """A read-only memory-mapped view of tensor ``name`` (no copy); an
        :class:`OpaqueTensor` (its bytes) for a dtype svdkit does not read as numbers."""
        if name not in self.entries:
            raise MissingTensorError(f"tensor {name!r} is not in '{self.path}'")
        code, shape, begin, end = self.entries[name]
        if code in _OPAQUE_BITS:
            raw = np.zeros(0, np.uint8) if end == begin else np.memmap(
                self.path, dtype=np.uint8, mode="r", offset=self.data_start + begin,
                shape=(end - begin,),
            )
            return OpaqueTensor(name, code, shape, raw)
        dt = numpy_dtype(code)
        if end == begin:
            return np.zeros(shape, dtype=dt)
        return np.memmap(
            self.path, dtype=dt, mode="r", offset=self.data_start + begin, shape=shape
        )


class Checkpoint:
    """A model's tensors by name: one safetensors file, a directory, or a sharded checkpoint.

    Parameters
    ----------
    path : str or Path
        A ``.safetensors`` file; a sharded checkpoint's index (any
        ``*.index.json``, e.g. ``model.safetensors.index.json`` or
        ``diffusion_pytorch_model.safetensors.index.json``); or a directory
        holding ``model.safetensors.index.json``, ``model.safetensors``,
        ``adapter_model.safetensors``, exactly one ``*.safetensors.index.json``
        or exactly one ``*.safetensors`` file.

    Attributes
    ----------
    index_path : Path or None
        The index file that was read, for a sharded checkpoint; None otherwise.

    Examples
    --------
    A checkpoint sharded in two files, opened by its directory:

    >>> import json, tempfile, pathlib
    >>> import numpy as np
    >>> from svdkit.lora import Checkpoint, save_safetensors
    >>> W = np.arange(48, dtype=np.float32).reshape(8, 6)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     d = pathlib.Path(tmp)
    ...     save_safetensors(d / "model-1.safetensors", {"layer.weight": W})
    ...     save_safetensors(d / "model-2.safetensors", {"layer.bias": np.zeros(8, np.float16)})
    ...     index = {"weight_map": {"layer.weight": "model-1.safetensors",
    ...                             "layer.bias": "model-2.safetensors"}}
    ...     _ = (d / "model.safetensors.index.json").write_text(json.dumps(index))
    ...     ck = Checkpoint(d)  # the directory: its index is found and read
    ...     print(sorted(ck.names), ck.shard_of("layer.bias"), "layer.weight" in ck)
    ...     print(ck.shape("layer.weight"), ck.dtype("layer.bias"), ck.index_path.name)
    ...     print(bool(np.array_equal(ck.read("layer.weight"), W)))
    ['layer.bias', 'layer.weight'] model-2.safetensors True
    (8, 6) F16 model.safetensors.index.json
    True
    """

    def __init__(self, path: str | os.PathLike) -> None:
        path = check_path(path, "path")
        if not path.exists():
            raise MissingFileError(f"no such checkpoint: '{path}'")
        self.path = path
        self.index: dict[str, str] | None = None
        self.index_path: Path | None = None
        self.files: dict[str, SafetensorsFile] = {}
        self._where: dict[str, str] = {}
        if path.is_dir():
            path = self._resolve_dir(path)
        if path.name.endswith(".index.json"):
            self._open_index(path)
            self.index_path = path
        else:
            f = SafetensorsFile(path)
            self.files[path.name] = f
            self._where = dict.fromkeys(f.names, path.name)
        self.root = path.parent

    @property
    def is_adapter(self) -> bool:
        """Whether this is a PEFT adapter's ``adapter_model.safetensors`` (an
        ``adapter_config.json`` beside it), not a model checkpoint."""
        return (
            self.index is None
            and "adapter_model.safetensors" in self.files
            and (self.root / "adapter_config.json").is_file()
        )

    def require_model(self, role: str = "checkpoint") -> Checkpoint:
        """``self``, or a :class:`~svdkit.FileFormatError` when it is a LoRA adapter.

        An adapter's ``lora_A`` / ``lora_B`` factors read as a model's weights
        would be extracted from, factored by PiSSA or merged into as if they were
        matrices of the model.
        """
        if self.is_adapter:
            raise FileFormatError(
                f"the {role} '{self.path}' is a LoRA adapter (adapter_config.json), not a model "
                "checkpoint: give the model's safetensors (svdkit lora merge BASE ADAPTER "
                "applies an adapter to its base)"
            )
        return self

    @staticmethod
    def _resolve_dir(d: Path) -> Path:
        for name in (INDEX_NAME, "model.safetensors", "adapter_model.safetensors"):
            if (d / name).is_file():
                return d / name
        indexes = sorted(d.glob("*.safetensors.index.json"))
        if len(indexes) == 1:
            return indexes[0]
        found = sorted(d.glob("*.safetensors"))
        if len(found) == 1:
            return found[0]
        pickles = [p.name for p in d.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES]
        if pickles:
            raise FileFormatError(
                f"'{d}' holds only pickle checkpoints ({', '.join(sorted(pickles))}): svdkit "
                "never loads pickle files. Convert them to safetensors first."
            )
        if len(indexes) > 1:
            listed = ", ".join(p.name for p in indexes)
            raise FileFormatError(
                f"'{d}' holds {len(indexes)} safetensors indexes ({listed}): give the one to use"
            )
        raise MissingFileError(
            f"'{d}' has no {INDEX_NAME}, model.safetensors or single *.safetensors file"
            + (f" ({len(found)} safetensors files and no index)" if found else "")
        )

    def _open_index(self, index_path: Path) -> None:
        try:
            index = load_json(index_path.read_text(encoding="utf-8"), index_path)
            weight_map = dict(index["weight_map"])
        except FileFormatError:  # (load_json's: it names the file)
            raise
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise FileFormatError(f"'{index_path}': not a safetensors index ({err})") from err
        self.index = {str(k): str(v) for k, v in weight_map.items()}
        for shard in sorted(set(self.index.values())):
            if Path(shard).name != shard:
                raise FileFormatError(f"'{index_path}': shard {shard!r} is not a plain file name")
            self.files[shard] = SafetensorsFile(index_path.parent / shard)
        for name, shard in self.index.items():
            if name not in self.files[shard].entries:
                raise MissingTensorError(
                    f"'{index_path}' maps {name!r} to {shard}, which does not hold it"
                )
            self._where[name] = shard
        for shard, f in self.files.items():  # a tensor no name of the index reaches
            for name in f.names:
                if self.index.get(name) != shard:
                    where = (
                        "which the index does not list" if name not in self.index
                        else f"which the index maps to {self.index[name]}"
                    )
                    raise FileFormatError(
                        f"'{index_path}': shard {shard} holds {name!r}, {where}"
                    )

    @property
    def names(self) -> list[str]:
        """Every tensor name, in file then header order."""
        return list(self._where)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._where

    def shard_of(self, name: str) -> str:
        """The file (shard) name holding tensor ``name``."""
        self._check(name)
        return self._where[name]

    def _check(self, name: str) -> None:
        if not isinstance(name, str):
            raise SvdkitError(f"a tensor name must be a str; got {type(name).__name__}")
        if name not in self._where:
            raise MissingTensorError(f"tensor {name!r} is not in checkpoint '{self.path}'")

    def shape(self, name: str) -> tuple[int, ...]:
        """Shape of tensor ``name``."""
        self._check(name)
        return self.files[self._where[name]].entries[name][1]

    def dtype(self, name: str) -> str:
        """Safetensors dtype code of tensor ``name`` (``"F32"``, ``"BF16"``…)."""
        self._check(name)
        return self.files[self._where[name]].entries[name][0]

    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a read-only memory-mapped view in its stored dtype."""
        self._check(name)
        return self.files[self._where[name]].tensor(name)

    def read(self, name: str, dtype: Any = WIDEN) -> np.ndarray:
        """Tensor ``name`` copied into memory; by default floats are widened exactly.

        Parameters
        ----------
        name : str
            The tensor.
        dtype : dtype, None or "widen", default "widen"
            ``"widen"`` (:data:`WIDEN`): a floating-point tensor as float32 (``F32``,
            and ``F16``, ``BF16``, ``F8_*`` widened exactly) or float64 (``F64``, kept);
            an integer or bool tensor in its stored dtype. ``None``: the stored dtype
            (``ml_dtypes.bfloat16`` for ``BF16``). Otherwise a dtype safetensors has a
            code for (``np.float64``, ``"float32"``, ``ml_dtypes.bfloat16``,
            ``np.int64``…), asked for by the caller: a float tensor is then rounded
            to a narrower float dtype as asked, once, to nearest (:func:`round_to`;
            ``F64`` read as float32) — unless an
            entry overflows it — but never truncated to an integer one, and an
            integer tensor is converted only where every value is kept exactly
            (``2**24 + 1`` has no float32).

        Returns
        -------
        numpy.ndarray
            A writable copy.

        Raises
        ------
        FileFormatError
            The tensor's dtype is one svdkit only copies (``F8_E8M0``, ``C64``, ``F4``,
            ``F6_*``: :class:`OpaqueTensor`).
        SvdkitError
            ``dtype`` is not a dtype (``-1``, ``"abc"``, a scalar such as
            ``np.int64(-1)``), or an integer dtype for a floating-point tensor; or an
            integer (or bool) tensor has a value ``dtype`` does not hold exactly, or a
            float tensor a finite value beyond ``dtype``'s range.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from svdkit.lora import Checkpoint, save_safetensors
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "m.safetensors"
        ...     save_safetensors(path, {"w": np.array([1 + 2**-40]), "ids": np.array([2**24 + 1])})
        ...     ck = Checkpoint(path)
        ...     print(ck.read("w").dtype, ck.read("w")[0] == 1 + 2**-40, ck.read("ids").tolist())
        ...     try:
        ...         ck.read("ids", np.float32)
        ...     except SvdkitError as err:
        ...         print(err)  # doctest: +ELLIPSIS
        float64 True [16777217]
        tensor 'ids' (I64) holds 16777217, which float32 does not hold exactly: ...
        """
        t = self.tensor(name)
        if isinstance(t, OpaqueTensor):
            raise t.error()
        stored = self.dtype(name)
        if isinstance(dtype, str) and dtype == WIDEN:
            if stored not in FLOAT_CODES:
                return np.array(t)
            return np.array(t, dtype=np.float64 if stored == "F64" else np.float32)
        if dtype is None:
            return np.array(t)
        target = _read_dtype(dtype, stored)
        with np.errstate(over="ignore", invalid="ignore"):  # refused below, by name
            out = np.array(t) if target == t.dtype else round_to(t, target)
        if target == t.dtype:
            return out
        if stored not in FLOAT_CODES:
            _refuse_inexact(name, stored, t, out)
        elif target.itemsize < t.dtype.itemsize and _new_non_finite(t, out):
            raise SvdkitError(
                f"tensor {name!r} ({stored}) has entries beyond what {target} holds (its "
                f"largest is {float(np.max(np.abs(t.astype(np.float64)))):.4g}): read it "
                "in its stored dtype (the default) or a wider one"
            )
        return out

    @property
    def metadata(self) -> dict[str, str]:
        """``__metadata__`` of the first file."""
        first = next(iter(self.files.values()))
        return dict(first.metadata)


def _refuse_inexact(name: str, stored: str, t: np.ndarray, out: np.ndarray) -> None:
    """Raise when ``out`` (integer or bool tensor ``t`` converted) does not hold every
    value of ``t`` exactly.

    Values are compared, never a round trip through ``out``'s dtype alone: a
    two's-complement wrap (``255`` read as int8 is ``-1``, and ``-1`` gives ``255``
    back) survives a round trip. An integer target must hold each value in its range
    (bool: 0 and 1); a float target must hold it within the source dtype's range and
    give it back exactly.
    """
    lost = _lost_values(t, out)
    if lost.any():
        value = t.reshape(-1)[int(np.argmax(lost.reshape(-1)))].item()
        raise SvdkitError(
            f"tensor {name!r} ({stored}) holds {value}, which {out.dtype} does not hold "
            f"exactly: read it in its stored dtype (dtype=None, or the default) or a wider one"
        )


def _refuse_inexact_cast(name: str, code: str, a: np.ndarray, cast: np.ndarray) -> None:
    """Raise when ``cast`` (``a`` in the integer or bool dtype of ``code``, or integer
    ``a`` in a float one) does not hold every value of ``a`` exactly: the writer never
    truncates ``1.5`` to ``1`` or wraps ``256`` to ``0``."""
    if a.dtype.kind in "iub":
        lost = _lost_values(a, cast)
    else:  # a float (ml_dtypes' included) into an integer or bool dtype
        wide = np.asarray(a, dtype=np.float64)
        if cast.dtype.kind == "b":
            lo, hi = 0.0, 2.0
        else:
            info = np.iinfo(cast.dtype)
            lo, hi = float(info.min), float(info.max) + 1  # (powers of two: exact)
        inside = np.isfinite(wide) & (wide >= lo) & (wide < hi)
        lost = ~inside | (np.where(inside, cast, 0).astype(np.float64) != wide)
    if lost.any():
        value = a.reshape(-1)[int(np.argmax(lost.reshape(-1)))].item()
        raise SvdkitError(
            f"tensor {name!r} holds {value}, which {code} does not hold exactly: it "
            f"cannot be stored in that dtype (svdkit never truncates or wraps a value)"
        )


def _lost_values(t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Where ``out`` (``t`` of integer or bool kind, converted) differs from ``t`` in value."""
    if out.dtype.kind in "iub":
        lo, hi = (0, 1) if out.dtype.kind == "b" else (
            int(np.iinfo(out.dtype).min), int(np.iinfo(out.dtype).max)
        )
        have_lo, have_hi = (0, 1) if t.dtype.kind == "b" else (
            int(np.iinfo(t.dtype).min), int(np.iinfo(t.dtype).max)
        )
        lost = np.zeros(t.shape, dtype=bool)
        # each bound compared in t's own dtype, where it lies in t's range (else it cannot bind)
        if lo > have_lo:
            lost |= t < np.array(lo, dtype=t.dtype)
        if hi < have_hi:
            lost |= t > np.array(hi, dtype=t.dtype)
        return lost
    # a float target: the value must lie in t's range (bounds are powers of two, exact in
    # float64, as every narrower float is) before it is cast back and compared as integers
    wide = np.asarray(out, dtype=np.float64)
    if t.dtype.kind == "b":
        lo, hi = 0.0, 2.0
    else:
        bits = 8 * t.dtype.itemsize
        half = 2.0 ** (bits - 1)
        lo, hi = (0.0, 2 * half) if t.dtype.kind == "u" else (-half, half)
    inside = np.isfinite(wide) & (wide >= lo) & (wide < hi)
    back = np.where(inside, wide, 0.0).astype(t.dtype)
    return ~inside | (back != t)  # compared as integers: 2**53 + 1 is no float64


def _read_dtype(dtype: Any, stored: str) -> np.dtype:
    """``dtype`` for :meth:`Checkpoint.read` of a tensor stored as ``stored``, checked."""
    code = None
    if isinstance(dtype, (str, np.dtype, type)):
        try:
            code = dtype_code(np.dtype(dtype))
        except (TypeError, ValueError):  # not a dtype, or one safetensors has no code for
            code = None
    if code is None:
        raise SvdkitError(
            f"dtype must be None or a NumPy dtype safetensors stores (float32, float64, "
            f"bfloat16, int64…); got {dtype!r}"
        )
    if stored in FLOAT_CODES and code not in FLOAT_CODES:
        raise SvdkitError(
            f"dtype {np.dtype(dtype)} would truncate a floating-point ({stored}) tensor: "
            "read it as a floating-point dtype"
        )
    return numpy_dtype(code)


def as_checkpoint(value: Any, name: str) -> Checkpoint:
    """``value`` when it is a :class:`Checkpoint`, else the checkpoint at the path ``value``.

    Raises
    ------
    SvdkitError
        ``value`` is neither a :class:`Checkpoint` nor a path (the message names
        the argument ``name``).
    FileFormatError
        ``value`` is the empty path (:func:`svdkit.inputs.files.check_path`).
    """
    if isinstance(value, Checkpoint):
        return value
    return Checkpoint(check_path(value, name, what="a path (str or os.PathLike) or a Checkpoint"))


def written_by_svdkit(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a safetensors file svdkit wrote (its header has :data:`MARK_KEY`).

    Anything that is not a readable safetensors file is not.
    """
    try:
        return MARK_KEY in SafetensorsFile(path).metadata
    except (OSError, ValueError):  # SvdkitError is a ValueError
        return False


def _header_bytes(layout: Mapping[str, tuple[str, tuple[int, ...]]], metadata: Mapping) -> bytes:
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, (code, shape) in layout.items():
        nbytes = _nbytes(code, shape)
        if nbytes is None:
            raise ShapeError(
                f"tensor {name!r}: {code}{list(shape)} is not a whole number of bytes"
            )
        header[name] = {
            "dtype": code,
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the buffer starts 8-byte aligned
    return struct.pack("<Q", len(raw)) + raw


def _new_non_finite(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the cast ``before`` → ``after`` made a finite entry infinite (an overflow).
    (``np.isfinite`` reads float16, bfloat16 and the 8-bit floats: no float64 copy.)"""
    with np.errstate(invalid="ignore"):
        now = np.isfinite(after)
        if now.all():
            return False
        return bool(np.any(np.isfinite(before) & ~now))


#: torch's floats without a NumPy dtype → (the integer dtype of their width, the
#: :mod:`ml_dtypes` type with the same bits, its safetensors code).
_TORCH_BITS = {
    "torch.bfloat16": ("int16", "bfloat16", "BF16"),
    "torch.float8_e4m3fn": ("uint8", "float8_e4m3fn", "F8_E4M3"),
    "torch.float8_e5m2": ("uint8", "float8_e5m2", "F8_E5M2"),
}


def _from_torch(name: str, t: Any) -> np.ndarray:
    """A torch tensor's values, bit for bit, as a NumPy array.

    Detached (a ``Parameter``, a tensor that requires grad), on the CPU, conjugate
    and negative views resolved; ``bfloat16`` and the 8-bit floats are viewed as
    integers of their width and those bits as :mod:`ml_dtypes`' type: no rounding,
    NaN payloads included.
    """
    bits = _TORCH_BITS.get(str(t.dtype))
    try:
        t = t.detach().cpu()  # (a "meta" tensor has no values: refused below)
        if hasattr(t, "resolve_conj"):
            t = t.resolve_conj().resolve_neg()
        if bits is not None:
            import torch

            raw = t.view(getattr(torch, bits[0])).numpy()
            return raw.view(getattr(_ml_dtypes(bits[2]), bits[1]))
        return t.numpy()
    except (TypeError, RuntimeError, NotImplementedError) as err:
        raise FileFormatError(
            f"tensor {name!r}: the values of this torch "
            f"{str(t.dtype).removeprefix('torch.')} tensor cannot be taken ({err}); "
            f"safetensors stores {', '.join(_KNOWN_CODES)}"
        ) from None


def as_stored_array(name: str, value: Any) -> np.ndarray:
    """``value`` as the NumPy array that tensor ``name`` is written from, values exact.

    A NumPy array as it is (any byte order: the writer stores it little-endian); a
    torch tensor detached and on the CPU, ``bfloat16`` kept bit for bit
    (:func:`_from_torch`); a masked array only when it masks nothing; anything else
    through :func:`numpy.asarray`.

    Raises
    ------
    FileFormatError
        Safetensors has no dtype for the values (complex, text, objects): the
        message names the tensor.
    NonFiniteError
        ``value`` is a masked array with a masked entry: a file has no mask, and
        the value under it would be written as if it were data.
    """
    if isinstance(value, np.ma.MaskedArray):
        idx = first_masked(value)
        if idx is not None:
            raise NonFiniteError(
                f"tensor {name!r} is a masked array with a masked (missing) entry at index "
                f"{idx}: a safetensors file cannot store a mask, and the value hidden under "
                "it would be written as data; fill the masked entries (.filled(value)) first"
            )
        a = np.asarray(value.data)
    elif type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        a = _from_torch(name, value)
    else:
        try:
            a = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise FileFormatError(f"tensor {name!r} cannot be read as an array: {err}") from None
    try:
        dtype_code(a.dtype)
    except FileFormatError as err:
        raise FileFormatError(f"tensor {name!r}: {err}") from None
    return a


class SafetensorsWriter:
    """Write one safetensors file tensor by tensor, atomically.

    ``layout`` (name → (dtype code, shape)) fixes the header; :meth:`write` then
    takes the tensors in that order, rounded once to their declared dtype
    (:func:`round_to`). The file
    appears under its name only when every tensor has been written (``close``
    or the end of the ``with`` block); on error (in ``close`` too: a full disk
    found by the last flush) the temporary file is removed. A ``path`` that is a
    symbolic link is written through: the file it names is replaced, the link kept.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        layout: Mapping[str, tuple[str, tuple[int, ...]]],
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        if "__metadata__" in layout:
            raise FileFormatError(
                "a tensor cannot be named '__metadata__': safetensors reserves that name "
                "for the header's metadata"
            )
        self.layout = {k: (v[0], tuple(int(x) for x in v[1])) for k, v in layout.items()}
        self._order = list(self.layout)
        self._next = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = make_temp_file(
            self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        self._f = os.fdopen(fd, "wb")
        self._f.write(_header_bytes(self.layout, metadata or {"format": "pt"}))

    def write(self, name: str, array: Any) -> None:
        """Append tensor ``name`` (the next one of the layout)."""
        if self._next >= len(self._order) or self._order[self._next] != name:
            want = self._order[self._next] if self._next < len(self._order) else "nothing"
            raise ShapeError(f"safetensors writer: expected {want!r} next, got {name!r}")
        code, shape = self.layout[name]
        if isinstance(array, OpaqueTensor) or code in _OPAQUE_BITS:
            self._write_opaque(name, code, shape, array)
            return
        a = as_stored_array(name, array)
        if tuple(a.shape) != shape:
            raise ShapeError(f"tensor {name!r}: shape {a.shape} ≠ declared {shape}")
        target = numpy_dtype(code)
        if a.dtype != target:
            with np.errstate(over="ignore", invalid="ignore"):  # refused below, by name
                cast = round_to(a, target)
            if a.dtype.kind in "iub" or target.kind in "iub":
                _refuse_inexact_cast(name, code, a, cast)
            elif _new_non_finite(a, cast):
                raise SvdkitError(
                    f"tensor {name!r} overflows {code} (its largest entry "
                    f"{float(np.max(np.abs(a))):.4g} is beyond what {code} holds): "
                    "it cannot be stored in that dtype"
                )
            a = cast
        a = np.ascontiguousarray(a)
        self._f.write(a.reshape(-1).view(np.uint8).data)
        self._next += 1

    def _write_opaque(self, name: str, code: str, shape: tuple[int, ...], array: Any) -> None:
        """Write an :class:`OpaqueTensor` byte for byte, into a slot of its own dtype."""
        if not isinstance(array, OpaqueTensor) or array.code != code or array.shape != shape:
            got = repr(array) if isinstance(array, OpaqueTensor) else type(array).__name__
            raise FileFormatError(
                f"tensor {name!r} is declared {code}{list(shape)}, which svdkit only copies "
                f"from a file of that dtype and shape; got {got}"
            )
        self._f.write(np.ascontiguousarray(array.raw).data)
        self._next += 1

    def close(self) -> None:
        """Finish: check every tensor was written, flush, rename into place."""
        if self._next != len(self._order):
            self.abort()
            raise ShapeError(
                f"safetensors writer: {len(self._order) - self._next} tensors not written "
                f"(first: {self._order[self._next]!r})"
            )
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            os.replace(self._tmp, _written_path(self.path))
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the temporary file."""
        with contextlib.suppress(OSError):
            self._f.close()
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)

    def __enter__(self) -> SafetensorsWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def save_safetensors(
    path: str | os.PathLike,
    tensors: Mapping[str, Any] | Iterable[tuple[str, Any]],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write ``tensors`` (name → array, dtype kept) to ``path`` atomically.

    Parameters
    ----------
    path : str or PathLike
        The ``.safetensors`` file to write.
    tensors : mapping or iterable of (str, array) pairs
        Tensor name → array, written in this order: NumPy arrays (``ml_dtypes``'
        bfloat16 and 8-bit floats included; big-endian ones are written
        little-endian, as the format is), torch tensors (a ``state_dict``, an
        ``nn.Parameter``, on any device; ``bfloat16`` written bit for bit), or
        anything :func:`numpy.asarray` reads. The values are written exactly.
    metadata : mapping of str to str, optional
        The header's ``__metadata__`` (default ``{"format": "pt"}``).

    Raises
    ------
    SvdkitError
        ``path`` is not a path, ``tensors`` is not a mapping or an iterable of
        ``(name, array)`` pairs, or ``metadata`` is not a mapping.
    NonFiniteError
        A tensor is a masked array with a masked entry (a file cannot store the
        mask); the message names the tensor.
    FileFormatError
        A tensor's dtype has no safetensors code (complex, text, objects; the
        message names the tensor), or ``path`` is a directory or lies under a
        file (refused before anything is written), or the write failed (a full
        disk: named with the path; no temporary file is left, and an earlier file
        at ``path`` is kept).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from svdkit.lora import Checkpoint, save_safetensors
    >>> rng = np.random.default_rng(0)
    >>> tensors = {"fc.weight": rng.standard_normal((8, 6)).astype(np.float16),
    ...            "fc.bias": np.arange(8, dtype=np.int64)}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "model.safetensors"
    ...     save_safetensors(path, tensors, {"format": "pt"})
    ...     ck = Checkpoint(path)
    ...     print(ck.dtype("fc.weight"), ck.dtype("fc.bias"), ck.metadata)
    ...     print(all(np.array_equal(ck.tensor(n), a) for n, a in tensors.items()))
    F16 I64 {'format': 'pt'}
    True
    """
    path = check_path(path, "path")
    metadata = check_metadata(metadata)
    if isinstance(tensors, Mapping):
        items = list(tensors.items())
    elif isinstance(tensors, Iterable) and not isinstance(tensors, (str, bytes)):
        items = list(tensors)
    else:
        items = None
    if items is None or not all(
        isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)
        for item in items
    ):
        raise SvdkitError(
            "tensors must be a mapping of tensor names (str) to arrays, or (name, array) "
            f"pairs; got {type(tensors).__name__}"
        )
    arrays = [(name, as_stored_array(name, a)) for name, a in items]
    layout = {name: (dtype_code(a.dtype), a.shape) for name, a in arrays}
    check_file_output(path, "safetensors file")
    if written_through(path):  # /dev/null, /dev/stdout: never renamed over
        raise FileFormatError(
            f"'{path}' is not a regular file (a device, a pipe or a descriptor): a "
            "safetensors file is written to a regular file"
        )
    try:
        with SafetensorsWriter(path, layout, metadata) as w:
            for name, a in arrays:
                w.write(name, a)
    except OSError as err:
        raise write_error(path, err) from err
