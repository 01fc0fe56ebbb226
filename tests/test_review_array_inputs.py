"""Array-likes fed to the public API (review hunt-types): sparse inputs never rewritten,
masks honoured on every path, bfloat16's own precision, on/off arguments checked, and
``LsiIndex.project``'s sizes."""

from __future__ import annotations

import dataclasses

import dask.array as da
import ml_dtypes
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import svdkit
import svdkit.exact
import svdkit.lsi
from svdkit.errors import NonFiniteError, ShapeError, SvdkitError, check_bool
from svdkit.lowrank import TruncatedSVD, truncated_svd

# --------------------------------------------------------------------------- 1. sparse


def _non_canonical(read_only: bool, cls=sp.csr_array):
    """A 3×3 CSR matrix with duplicate and unsorted entries (as COO→CSR builders leave
    them), and its dense value."""
    data = np.array([1.0, 2.0, 3.0, -3.0, 5.0, 4.0, 7.0])
    indices = np.array([0, 0, 1, 1, 2, 2, 0], dtype=np.int32)  # row 2: 2 before 0
    indptr = np.array([0, 2, 5, 7], dtype=np.int32)
    for a in (data, indices, indptr):
        a.setflags(write=not read_only)
    S = cls((data, indices, indptr), shape=(3, 3))
    dense = np.zeros((3, 3))
    for i in range(3):
        for p in range(indptr[i], indptr[i + 1]):
            dense[i, indices[p]] += data[p]
    return S, dense


def _buffers(S):
    return S.data.copy(), S.indices.copy(), S.indptr.copy()


def _untouched(S, before) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(_buffers(S), before, strict=True))


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize("cls", [sp.csr_array, sp.csr_matrix])
@pytest.mark.parametrize("ord", [None, "fro", 1, np.inf, 2, "nuc"])
def test_norm_of_a_non_canonical_sparse_matrix_leaves_it_untouched(read_only, cls, ord):
    S, dense = _non_canonical(read_only, cls)
    before = _buffers(S)
    value = svdkit.norm(S, ord)
    assert value == pytest.approx(np.linalg.norm(dense, ord), rel=1e-14)
    assert _untouched(S, before)
    assert S.nnz == 7 and not S.has_canonical_format


@pytest.mark.parametrize("read_only", [False, True])
def test_sparse_entry_points_of_linalg_leave_a_non_canonical_matrix_untouched(read_only):
    S, dense = _non_canonical(read_only)
    before = _buffers(S)
    assert svdkit.trace(S) == pytest.approx(np.trace(dense))
    assert svdkit.is_symmetric(S) is bool(np.array_equal(dense, dense.T))
    assert svdkit.is_diagonal(S) is False
    assert svdkit.rank(S) == np.linalg.matrix_rank(dense)
    assert np.allclose(svdkit.svd(S).s, np.linalg.svd(dense, compute_uv=False))
    assert np.allclose(svdkit.svd(S, 2).s, np.linalg.svd(dense, compute_uv=False)[:2])
    assert svdkit.cond(S) == pytest.approx(np.linalg.cond(dense))
    assert np.allclose(svdkit.pinv(S), np.linalg.pinv(dense))
    assert np.allclose(truncated_svd(S, 2).s, np.linalg.svd(dense, compute_uv=False)[:2])
    assert np.allclose(
        TruncatedSVD(2).fit(S).singular_values_, np.linalg.svd(dense, compute_uv=False)[:2]
    )
    assert _untouched(S, before)


def test_canonical_copies_only_what_is_not_canonical():
    from svdkit.linalg._checks import canonical

    S, dense = _non_canonical(True)
    C = canonical(S)
    assert C is not S and C.has_canonical_format
    assert np.array_equal(C.toarray(), dense)
    assert canonical(C) is C  # already canonical: no copy
    a = np.ones((2, 2))
    assert canonical(a) is a


# --------------------------------------------------------------------------- 2. masks


_HIDDEN = 1e6  # the value under the mask: it must never reach a result


def _masked(masked: bool) -> np.ma.MaskedArray:
    data = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0], [1.0, _HIDDEN, 1.0]])
    mask = np.zeros(data.shape, dtype=bool)
    mask[3, 1] = masked
    return np.ma.array(data, mask=mask)


class _ArrayOnly:
    """An object whose ``__array__`` returns a masked array."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a


def _dask(m):
    return da.from_array(m, chunks=2)


_WRAPS = {
    "list of masked rows": lambda m: [m[i] for i in range(m.shape[0])],
    "tuple of masked rows": lambda m: tuple(m[i] for i in range(m.shape[0])),
    "__array__ returning a MaskedArray": _ArrayOnly,
    "dask array of masked blocks": _dask,
}


@pytest.mark.parametrize("wrap", list(_WRAPS))
def test_a_masked_entry_is_refused_on_every_path(wrap):
    A = _WRAPS[wrap](_masked(True))
    for call in (svdkit.as_matrix, svdkit.svd, svdkit.rank, lambda x: svdkit.norm(x, 2)):
        with pytest.raises(NonFiniteError, match="masked"):
            call(A)


@pytest.mark.parametrize("wrap", list(_WRAPS))
def test_a_masked_array_that_masks_nothing_is_read(wrap):
    m = _masked(False)
    A = _WRAPS[wrap](m)
    assert np.array_equal(svdkit.as_matrix(A), m.data)
    assert np.allclose(svdkit.svd(A).s, np.linalg.svd(m.data, compute_uv=False))


def test_lowrank_refuses_a_masked_dask_array():
    A = _dask(_masked(True))
    with pytest.raises(NonFiniteError, match=r"masked dask array with 1 masked"):
        truncated_svd(A, 2)
    with pytest.raises(NonFiniteError, match="masked"):
        svdkit.svd(A, 2)
    s = truncated_svd(_dask(_masked(False)), 2).s
    assert np.allclose(s, np.linalg.svd(_masked(False).data, compute_uv=False)[:2])


def test_as_vector_refuses_a_masked_entry_behind_array():
    v = np.ma.array([1.0, _HIDDEN, 2.0], mask=[0, 1, 0])
    with pytest.raises(NonFiniteError, match=r"position 2"):
        svdkit.as_vector(_ArrayOnly(v))


def test_truncated_svd_estimator_refuses_a_masked_entry():
    with pytest.raises(NonFiniteError, match="X is a masked array"):
        TruncatedSVD(2).fit(_masked(True))
    est = TruncatedSVD(2).fit(_masked(False))
    with pytest.raises(NonFiniteError, match="masked"):
        est.transform(_masked(True))
    m = _masked(False)
    assert np.allclose(est.transform(m), m.data @ est.components_.T)


# --------------------------------------------------------------------------- 3. bfloat16


def _rank3(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((60, 3)) @ rng.standard_normal((3, 60))


def test_a_bfloat16_torch_tensor_has_bfloat16s_rank_rule():
    T = torch.from_numpy(_rank3()).to(torch.bfloat16)
    assert svdkit.rank(T) == 3  # (float64's rule counted the rounding: 60)
    r = svdkit.svd(T)
    assert r.precision == np.dtype(ml_dtypes.bfloat16)
    # the values are the tensor's, widened exactly
    exact = T.float().numpy().astype(np.float64)
    assert np.allclose(r.U * r.s @ r.Vh, exact, atol=1e-12 * r.s[0])


def test_a_bfloat16_gram_matrix_is_positive_semidefinite():
    rng = np.random.default_rng(1)
    G = rng.standard_normal((40, 5))
    G = G @ G.T  # PSD, rank 5
    for dtype in (torch.float16, torch.bfloat16):
        r = svdkit.definiteness(torch.from_numpy(G).to(dtype))
        assert r.kind == "positive semidefinite", dtype


@pytest.mark.parametrize("name", ["bfloat16", "float8_e4m3fn", "float8_e5m2"])
def test_an_ml_dtypes_float_array_is_numeric(name):
    kind = getattr(ml_dtypes, name)
    A = _rank3().astype(kind)
    a = svdkit.as_matrix(A)
    assert a.dtype == np.float64
    assert np.array_equal(a, A.astype(np.float32).astype(np.float64))  # widened exactly
    assert svdkit.rank(A) == 3


def test_rule_dtype_of_low_precision_floats():
    from svdkit.linalg.tolerance import eps_of, rule_dtype

    bf16 = np.dtype(ml_dtypes.bfloat16)
    assert rule_dtype(np.ones(2, dtype=bf16)) == bf16
    assert rule_dtype(torch.ones(2, dtype=torch.bfloat16)) == bf16
    assert eps_of(bf16) == 2.0**-7
    assert rule_dtype(bf16, np.float32) == bf16  # coarser than a float32 working one too
    # float8: float16's rule (its own eps times 60 columns would exceed 1)
    assert rule_dtype(np.ones(2, dtype=ml_dtypes.float8_e4m3fn)) == np.float16
    assert rule_dtype(np.ones(2, dtype=ml_dtypes.int4)) == np.float64  # an integer


# --------------------------------------------------------------------------- 7. bool flags


def _eye(n=2):
    return np.eye(n)


_FLAGS = {
    "svdkit.svd(full)": ("full", lambda v: svdkit.svd(_eye(), full=v)),
    "svdkit.definiteness(symmetrize)": (
        "symmetrize", lambda v: svdkit.definiteness(_eye(), symmetrize=v)
    ),
    "svdkit.cholesky(semidefinite)": (
        "semidefinite", lambda v: svdkit.cholesky(_eye(), semidefinite=v)
    ),
    "svdkit.eigh(check)": ("check", lambda v: svdkit.eigh(_eye(), check=v)),
    "svdkit.as_matrix(sparse)": ("sparse", lambda v: svdkit.as_matrix(_eye(), sparse=v)),
    "lowrank.truncated_svd(progress)": (
        "progress", lambda v: truncated_svd(_eye(3), 1, progress=v)
    ),
    "lsi.build_index(normalize)": (
        "normalize",
        lambda v: svdkit.lsi.build_index(svdkit.lsi.demo_data.pets_and_markets(), k=2,
                                         normalize=v),
    ),
    "lsi.build_index(progress)": (
        "progress",
        lambda v: svdkit.lsi.build_index(svdkit.lsi.demo_data.pets_and_markets(), k=2,
                                         progress=v),
    ),
    "lsi.index_from_counts(normalize)": (
        "normalize",
        lambda v: svdkit.lsi.index_from_counts(
            svdkit.lsi.count_corpus(svdkit.lsi.demo_data.pets_and_markets()), k=2,
            normalize=v),
    ),
    "lsi.TextOptions(lowercase)": ("lowercase", lambda v: svdkit.lsi.TextOptions(lowercase=v)),
    "lsi.load_index(mmap)": ("mmap", lambda v: svdkit.lsi.load_index(".", mmap=v)),
    "lsi.load_index(verify)": ("verify", lambda v: svdkit.lsi.load_index(".", verify=v)),
    "exact.svd(full)": ("full", lambda v: svdkit.exact.svd([[1, 0], [0, 1]], full=v)),
    "exact.rank(steps)": ("steps", lambda v: svdkit.exact.rank([[1, 0], [0, 1]], steps=v)),
    "exact.det(steps)": ("steps", lambda v: svdkit.exact.det([[1, 0], [0, 1]], steps=v)),
    "exact.definiteness(symmetrize)": (
        "symmetrize", lambda v: svdkit.exact.definiteness([[1, 0], [0, 1]], symmetrize=v)
    ),
}


@pytest.mark.parametrize("value", ["False", "no", "true", 0, 1, None, 1.0, [True]])
@pytest.mark.parametrize("where", list(_FLAGS))
def test_an_on_off_argument_must_be_a_bool(where, value):
    name, call = _FLAGS[where]
    with pytest.raises(SvdkitError, match=rf"^{name} must be True or False; got ") as info:
        call(value)
    assert info.value.param == name


def test_the_string_false_no_longer_means_true():
    N = [[2, 5], [-3, 2]]  # not symmetric
    with pytest.raises(SvdkitError, match="symmetrize must be True or False; got 'False'"):
        svdkit.definiteness(N, symmetrize="False")
    with pytest.raises(svdkit.StructureError):  # what symmetrize=False does
        svdkit.definiteness(N, symmetrize=False)
    assert svdkit.svd(np.ones((3, 2)), full=np.False_).U.shape == (3, 2)
    assert svdkit.svd(np.ones((3, 2)), full=np.True_).U.shape == (3, 3)


def test_lsi_index_normalize_is_a_bool():
    docs = svdkit.lsi.demo_data.pets_and_markets()
    index = svdkit.lsi.build_index(docs, k=2, normalize=np.False_)
    assert index.normalize is False
    with pytest.raises(SvdkitError, match="normalize must be True or False"):
        dataclasses.replace(index, normalize="False")


def test_check_bool():
    assert check_bool(True, "x") is True
    assert check_bool(np.bool_(False), "x") is False
    with pytest.raises(SvdkitError, match=r"^x must be True or False; got a str$"):
        check_bool("y" * 100, "x")


# --------------------------------------------------------------------------- 11. project


def test_project_with_the_wrong_number_of_terms_names_both_sizes():
    index = svdkit.lsi.build_index(svdkit.lsi.demo_data.pets_and_markets(), k=2)
    with pytest.raises(ShapeError, match=rf"have 3 columns but the index has {index.n_terms} "):
        index.project(np.ones((1, 3)))
    with pytest.raises(ShapeError, match="3 columns"):
        index.project(sp.csr_array(np.ones((2, 3))))
    w = index.weigh(index.count(["sick dog"]))
    Z = index.project(w)
    assert np.allclose(Z, w @ index.V * index.s ** (index.scaling - 1.0))
