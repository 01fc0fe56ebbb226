"""Review of the duplicated argument helpers: one check, one error class, one message.

* Paths: :mod:`svdkit.lora` checks its paths with :func:`svdkit.inputs.files.check_path`,
  so an empty path is the same :class:`~svdkit.errors.FileFormatError` as for
  ``svdkit.load("")``.
* Counts: :func:`svdkit.lora._args.check_count` is
  :func:`svdkit.lowrank._common.check_positive_int`.
* Float codes: one list, in :mod:`svdkit.lora.safetensors_io`.
* ``check_float_dtype``: names matched as written (``"f16"`` is NumPy's float128, not
  float16); a non-native byte order is the same float.
* ``count_corpus`` and ``read_iterable`` take no path, and their message says so.
* ``as_operator``: a memmap or dask array of the wrong dimension is told that 1-D is
  read as a column.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import svdkit
from svdkit import lsi
from svdkit.errors import FileFormatError, ShapeError, SvdkitError
from svdkit.inputs.files import check_path
from svdkit.lora import (
    Adapter,
    Checkpoint,
    LoraModule,
    _args,
    adapter,
    merge,
    modules,
    safetensors_io,
    save_safetensors,
)
from svdkit.lowrank import as_operator
from svdkit.lowrank._common import check_positive_int


def _adapter() -> Adapter:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2, 6)).astype(np.float32)
    B = rng.standard_normal((5, 2)).astype(np.float32)
    return Adapter({"fc": LoraModule("fc", "linear", A, B, 2.0)})


def _message(call, *args, cls=SvdkitError, **kwargs) -> str:
    with pytest.raises(cls) as info:
        call(*args, **kwargs)
    return str(info.value)


# ------------------------------------------------------------------------- paths


def test_lora_checks_paths_with_the_one_helper():
    assert _args.check_path is check_path
    assert safetensors_io.check_path is check_path
    assert adapter.check_path is check_path


def test_an_empty_path_is_one_error_everywhere(tmp_path):
    """``except FileFormatError`` catches ``""`` given to svdkit.load and to svdkit.lora."""
    base = tmp_path / "base.safetensors"
    save_safetensors(base, {"fc.weight": np.ones((5, 6), np.float32)})
    tail = "is an empty path; name a file or folder ('.' is the current directory)"
    assert _message(svdkit.load, "", cls=FileFormatError) == f"path {tail}"
    assert _message(Checkpoint, "", cls=FileFormatError) == f"path {tail}"
    assert _message(_adapter().save, "", cls=FileFormatError) == f"directory {tail}"
    assert _message(merge, base, _adapter(), "", cls=FileFormatError) == f"output {tail}"
    assert _message(merge, base, "", tmp_path / "m", cls=FileFormatError) == f"adapter {tail}"
    assert not (tmp_path / "m").exists()


def test_a_non_path_is_named_with_what_else_is_taken(tmp_path):
    """as_checkpoint and as_adapter say what they take, with the value, as check_path does."""
    got = _message(safetensors_io.as_checkpoint, 5, "base")
    assert got == "base must be a path (str or os.PathLike) or a Checkpoint; got int: 5"
    got = _message(adapter.as_adapter, None, "adapter")
    assert got == (
        "adapter must be an Adapter or the path of a PEFT adapter directory; got NoneType: None"
    )
    assert _message(Adapter.load, None) == (
        "directory must be a path (str or os.PathLike); got NoneType: None"
    )


def test_a_path_of_bytes_is_refused_as_not_a_path():
    class BytesPath:
        def __fspath__(self):
            return b"model.safetensors"

    got = _message(safetensors_io.as_checkpoint, BytesPath(), "base")
    assert got.startswith("base must be a path (str or os.PathLike) or a Checkpoint; got BytesPath")


# ------------------------------------------------------------------------ counts


def test_counts_are_checked_by_the_lowrank_helper():
    assert _args.check_count is check_positive_int
    assert _message(_args.check_count, True, "max_rank", cls=ShapeError) == (
        "max_rank must be an integer ≥ 1; got True"
    )
    assert _message(adapter.lora_scale, 1.0, -1, cls=ShapeError) == (
        "r must be an integer ≥ 0; got -1"
    )
    assert adapter.lora_scale(2.0, np.int64(4)) == 0.5


# -------------------------------------------------------------------- float codes


def test_one_list_of_float_codes():
    assert modules.FLOAT_CODES is safetensors_io.FLOAT_CODES
    for module in (_args, modules, safetensors_io):
        assert not hasattr(module, "_FLOAT_CODES")
    assert not hasattr(_args, "FLOAT_CODES")
    assert set(safetensors_io.FACTOR_CODES) < set(safetensors_io.FLOAT_CODES)


def test_an_f8_weight_is_still_a_matrix_to_factor():
    """modules' test of a weight's dtype reads the shared list (8-bit floats included)."""

    class Stub:
        def shape(self, name):
            return (4, 4)

        def dtype(self, name):
            return "F8_E4M3"

    assert modules._matrix(Stub(), "fc.weight")


# ------------------------------------------------------------------ float dtypes


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("F16", "float16"),
        ("F32", "float32"),
        ("F64", "float64"),
        ("BF16", "bfloat16"),
        ("float16", "float16"),
        ("bfloat16", "bfloat16"),
        ("bf16", "bfloat16"),
        ("fp16", "float16"),
        ("half", "float16"),
        ("double", "float64"),
        ("<f4", "float32"),
        ("e", "float16"),
        (np.float64, "float64"),
    ],
)
def test_float_dtypes_by_name(value, name):
    assert _args.check_float_dtype(value).name == name


def test_f16_is_numpy_float128_not_float16():
    """To NumPy "f16" is a 16-byte float: it is refused, with the code meant, not float16."""
    got = _message(_args.check_float_dtype, "f16")
    assert "got 'f16'" in got and "the safetensors code is 'F16'" in got
    with pytest.raises(SvdkitError, match="the safetensors code is 'BF16'"):
        _args.check_float_dtype("Bf16")


@pytest.mark.parametrize("value", [">f4", np.dtype(">f4"), np.dtype(">f8"), ">f2"])
def test_a_big_endian_float_is_that_float(value):
    dt = _args.check_float_dtype(value)
    assert dt.isnative and dt == np.dtype(value).newbyteorder("=")


def test_an_adapter_saved_as_big_endian_float32_is_float32(tmp_path):
    path = _adapter().save(tmp_path / "ad", dtype=">f4")
    assert Adapter.load(path).modules["fc"].A.dtype == np.float32
    assert Checkpoint(path / "adapter_model.safetensors").dtype(
        "base_model.model.fc.lora_A.weight"
    ) == "F32"


# ---------------------------------------------------------------------- documents


@pytest.mark.parametrize("docs", [pathlib.Path("corpus.jsonl"), "corpus.jsonl", b"x"])
def test_count_corpus_offers_no_path(docs):
    got = _message(lsi.count_corpus, docs)
    assert got.startswith(
        "docs must be an iterable of strings or (id, text) pairs "
        "(svdkit.lsi.corpus.open_corpus reads a file); got "
    )
    got = _message(lambda: list(lsi.corpus.read_iterable(docs)))
    assert got.startswith("items must be an iterable of strings or (id, text) pairs (")


def test_open_corpus_still_offers_a_path():
    assert _message(lsi.open_corpus, 5).startswith(
        "source must be a path or an iterable of strings or (id, text) pairs; got int: 5"
    )
    assert lsi.count_corpus(["cats purr", "dogs bark"]).ids == ["0", "1"]


# ------------------------------------------------------------------ as_operator


def test_a_memmap_of_the_wrong_dimension_is_told_1d_is_a_column(tmp_path):
    want = r"A must be a matrix \(2-D\) or a vector \(1-D, read as a column\); got shape \(2, 2"
    cube = np.memmap(tmp_path / "a.dat", dtype=np.float64, mode="w+", shape=(2, 2, 2))
    with pytest.raises(ShapeError, match=want):
        as_operator(cube)
    assert as_operator(np.memmap(tmp_path / "a.dat", dtype=np.float64, shape=(8,))).shape == (8, 1)


def test_a_dask_array_of_the_wrong_dimension_is_told_1d_is_a_column():
    import dask.array as da

    with pytest.raises(ShapeError, match=r"or a vector \(1-D, read as a column\); got shape \(\)"):
        as_operator(da.from_array(np.array(1.0)))
    assert as_operator(da.ones(6, chunks=3)).shape == (6, 1)
