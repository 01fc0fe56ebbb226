"""The exact engine's front door on the array-likes the numeric engine takes, on
``np.longdouble`` entries, and its size limit.

- torch tensors (also ones that require grad), dask arrays, objects with only
  ``__array__``, ``np.matrix``, read-only and non-contiguous arrays are read like
  NumPy arrays; floats in them follow the float rule (integers exact, others refused).
  Before, a tensor or a dask array raised a raw ``TypeError`` and an ``__array__``
  object a ``ParseError`` calling the whole object "not a number".
- ``np.longdouble`` / ``np.clongdouble`` entries are converted exactly (they were
  rounded to float64: the determinant of ``diag(2**63 + 1, 1)`` came out 2**63).
- More than ``MAX_ENTRIES`` entries are refused with a ``ShapeError`` that points
  to the numeric functions, before any entry is converted.
"""

from __future__ import annotations

import time
from fractions import Fraction

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sps
import sympy as sp
import torch

import svdkit
import svdkit.exact as ex
from svdkit.errors import NonFiniteError, ShapeError
from svdkit.exact import InexactInputError, _convert

A = np.array([[2, 1], [1, 3]])
A_EXACT = sp.Matrix([[2, 1], [1, 3]])


class ArrOnly:
    """An object known to NumPy only through ``__array__`` (xarray, pandas, …)."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.a, dtype=dtype)


class MaskedOnly:
    def __array__(self, dtype=None, copy=None):
        return np.ma.array([[1.0, 2.0], [3.0, 4.0]], mask=[[0, 1], [0, 0]])


# --------------------------------------------------------------------------- array-likes


@pytest.mark.parametrize(
    "x",
    [
        torch.tensor(A),
        torch.tensor(A, dtype=torch.float64),
        torch.tensor(A, dtype=torch.float32, requires_grad=True),
        torch.tensor(A, dtype=torch.bfloat16),
        torch.tensor(A, dtype=torch.float64).T.contiguous().T,  # a transposed view
        da.from_array(A, chunks=1),
        ArrOnly(A),
        ArrOnly(A.astype(np.float64)),
        np.matrix(A),
        np.asfortranarray(A.astype(np.float32)),
    ],
    ids=["torch-int", "torch-f64", "torch-grad", "torch-bf16", "torch-T", "dask", "array-only",
         "array-only-float", "np.matrix", "fortran-f32"],
)
def test_array_likes_are_read_exactly(x):
    M = ex.as_exact(x)
    assert M == A_EXACT
    assert all(e.is_Integer for e in M)
    assert ex.det(x).value == 5
    assert ex.rank(x).value == 2


def test_read_only_and_strided_arrays():
    big = np.arange(24).reshape(4, 6)
    big.setflags(write=False)
    view = big[::2, ::3]  # non-contiguous, read-only
    assert ex.as_exact(view) == sp.Matrix([[0, 3], [12, 15]])
    assert ex.as_exact(view[:, ::-1]) == sp.Matrix([[3, 0], [15, 12]])
    assert not view.flags.writeable  # untouched


def test_tensor_with_a_fraction_follows_the_float_rule():
    with pytest.raises(InexactInputError, match=r"row 1, column 2 is the float 0\.5"):
        ex.as_exact(torch.tensor([[1.0, 0.5], [2.0, 3.0]], requires_grad=True))
    with pytest.raises(InexactInputError, match=r"row 2, column 1"):
        ex.as_exact(da.from_array(np.array([[1.0, 2.0], [0.25, 3.0]])))
    with pytest.raises(NonFiniteError, match=r"row 1, column 1"):
        ex.as_exact(ArrOnly([[np.inf, 1.0]]))


def test_scalars_and_vectors_from_array_likes():
    assert ex.as_exact(torch.tensor(7)) == sp.Matrix([[7]])
    assert ex.as_exact(torch.tensor(7.0)) == sp.Matrix([[7]])
    assert ex.as_exact(torch.tensor([1, 2, 3])) == sp.Matrix([1, 2, 3])  # a column
    assert ex.as_exact(da.from_array(np.array([4, 5]))) == sp.Matrix([4, 5])
    assert ex.as_exact(torch.tensor(2 + 3j, dtype=torch.complex128)) == sp.Matrix([[2 + 3 * sp.I]])


def test_a_mask_behind_array_is_refused_not_read():
    with pytest.raises(NonFiniteError, match="masked"):
        ex.as_exact(MaskedOnly())


def test_an_array_like_that_is_not_numeric_is_a_clear_error():
    with pytest.raises(svdkit.SvdkitError, match="not a number"):
        ex.as_exact(ArrOnly(np.array([["a", "b"]])))
    with pytest.raises(ShapeError, match="2-D"):
        ex.as_exact(torch.zeros(2, 2, 2))


# --------------------------------------------------------------------------- longdouble


def test_longdouble_integers_are_exact():
    L = np.array([[2**63 + 1, 0], [0, 1]], dtype=np.longdouble)
    if int(L[0, 0]) != 2**63 + 1:  # a platform whose longdouble is float64
        L = np.array([[2**52 + 1, 0], [0, 1]], dtype=np.longdouble)
    want = int(L[0, 0])
    assert ex.det(L).value == want
    assert ex.as_exact(L)[0, 0] == want
    assert ex.as_exact(L[0, 0]) == sp.Matrix([[want]])  # a scalar, not in an array


def test_a_longdouble_fraction_is_refused_with_its_exact_value():
    x = np.longdouble(1) + np.longdouble(2) ** -60
    if x == 1:
        pytest.fail("this test needs an extended longdouble")  # x86-64 Linux has one
    p, q = x.as_integer_ratio()
    with pytest.raises(InexactInputError) as info:
        ex.as_exact(np.array([[x]]))
    assert f"{p}/{q}" in str(info.value)
    assert Fraction(p, q) == 1 + Fraction(1, 2**60)


def test_clongdouble_parts_are_exact():
    re = np.array([[2**63 + 1]], dtype=np.longdouble)
    im = np.array([[2**64 + 2]], dtype=np.longdouble)  # 64-bit significands: both exact
    z = re + 1j * im
    assert z.dtype == np.clongdouble
    want = int(re[0, 0]) + int(im[0, 0]) * sp.I
    assert int(re[0, 0]) != int(float(re[0, 0])) or np.finfo(np.longdouble).nmant == 52
    assert ex.as_exact(z)[0, 0] == want
    assert ex.det(np.vstack([np.hstack([z, z * 0]), np.array([[0, 1]])])).value == want
    half = np.array([[np.clongdouble(1) + np.clongdouble(0.5j)]])
    with pytest.raises(InexactInputError, match="imaginary part"):
        ex.as_exact(half)


def test_a_sympy_float_keeps_its_own_precision():
    assert ex.as_exact([[sp.Float(2**63 + 1, 30)]])[0, 0] == 2**63 + 1  # was rounded to 2**63
    with pytest.raises(InexactInputError, match=r"exactly 1/2\b"):
        ex.as_exact([[sp.Float("0.5", 30)]])


def test_longdouble_non_finite_is_refused():
    with pytest.raises(NonFiniteError, match=r"row 1, column 2"):
        ex.as_exact(np.array([[1, np.inf]], dtype=np.longdouble))
    with pytest.raises(NonFiniteError):
        ex.as_exact(np.array([[1, complex(np.nan, 0)]], dtype=np.clongdouble))


# --------------------------------------------------------------------------- size guard


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(_convert, "MAX_ENTRIES", 12)


@pytest.mark.parametrize(
    "make",
    [
        lambda n: np.ones((n, 3), dtype=int),
        lambda n: [[1, 2, 3]] * n,
        lambda n: "; ".join(["1 2 3"] * n),
        lambda n: sp.Matrix(n, 3, lambda i, j: 1),
        lambda n: sps.csr_array(np.ones((n, 3))),
        lambda n: torch.ones(n, 3),
        lambda n: da.ones((n, 3), chunks=2),
        lambda n: ArrOnly(np.ones((n, 3))),
        lambda n: list(range(3 * n)),  # a column of 3n
    ],
    ids=["array", "list", "text", "sympy", "sparse", "torch", "dask", "array-only", "vector"],
)
def test_the_limit_counts_entries_in_every_input_form(small_limit, make):
    assert ex.as_exact(make(4)).shape in ((4, 3), (12, 1))  # 12 entries: at the limit
    with pytest.raises(ShapeError, match=r"at most 12 entries.*svdkit\.linalg"):
        ex.as_exact(make(5))
    with pytest.raises(ShapeError, match="15 entries"):
        ex.rank(make(5))


def test_the_limit_holds_for_lstsq_right_hand_sides(small_limit):
    with pytest.raises(ShapeError, match="b is 13×1"):
        ex.lstsq([[1], [1]], list(range(13)))


def test_a_huge_sparse_matrix_is_refused_at_once():
    big = sps.eye_array(20000, format="csr")
    t = time.perf_counter()
    with pytest.raises(ShapeError) as info:
        ex.rank(big)
    assert time.perf_counter() - t < 0.5
    msg = str(info.value)
    assert "20000×20000" in msg and f"{_convert.MAX_ENTRIES:,}" in msg
    assert "svdkit.rank" in msg and "svdkit.lowrank" in msg


def test_a_huge_dask_array_is_refused_without_computing_it():
    big = da.random.random((20000, 20000), chunks=(1000, 1000))
    t = time.perf_counter()
    with pytest.raises(ShapeError, match="20000×20000"):
        ex.det(big)
    assert time.perf_counter() - t < 0.5


def test_a_long_text_is_refused_before_the_exact_parse():
    n = 600  # 360 000 entries, above the limit
    text = "\n".join(" ".join(["1"] * n) for _ in range(n))
    t = time.perf_counter()
    with pytest.raises(ShapeError, match="600×600"):
        ex.as_exact(text)
    assert time.perf_counter() - t < 5  # the exact parse alone takes about 15 s


def test_a_large_dense_array_is_refused_before_its_entries_are_read():
    class Tripwire(np.ndarray):
        def __getitem__(self, key):
            raise AssertionError("an entry was read before the size check")

    big = np.zeros((600, 600)).view(Tripwire)
    with pytest.raises(ShapeError, match="600×600"):
        ex.as_exact(big)


def test_the_limit_is_generous():
    assert _convert.MAX_ENTRIES >= 250_000
    assert ex.rank(np.eye(400, dtype=int)).value == 400  # 160 000 entries: accepted
