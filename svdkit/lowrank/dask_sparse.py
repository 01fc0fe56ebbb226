"""Sparse matrices on a dask cluster: row blocks of CSR, products block by block.

:class:`svdkit.lowrank.operators.DaskOperator` computes with dask *arrays* of dense
chunks. A term-document matrix, or any large sparse matrix, must stay sparse:
:class:`SparseBlocksOperator` holds it as dask ``Delayed`` CSR row blocks (persisted
on the cluster) and implements the products of the operator protocol block by
block: ``A X`` is a dask array chunked like the blocks (the long side stays on the
cluster), ``Aᴴ Y`` and ``Aᴴ(A X)`` are sums of per-block products reduced to a small
NumPy array on the client. Everything else (QR of the long blocks, random starts)
is :class:`DaskOperator`'s, so :func:`svdkit.lowrank.truncated_svd` runs on it
unchanged.

:func:`svdkit.lowrank.as_operator` builds one from a dask array whose chunks are
SciPy sparse matrices (``da.from_array(S, chunks=(r, -1), asarray=False)``, or a
map over partitions). The Krylov basis lives on the short side: a matrix with
more columns than rows is handled through its transpose (its chunks transposed
on the cluster); one built from ``Delayed`` blocks directly must have at least
as many rows as columns.

Examples
--------
>>> import dask, numpy as np, scipy.sparse as sp
>>> blocks = [sp.random(40, 10, density=0.3, format="csr", random_state=i) for i in range(3)]
>>> op = SparseBlocksOperator([dask.delayed(b) for b in blocks], [40, 40, 40], 10)
>>> A = sp.vstack(blocks)
>>> X = np.ones((10, 2))
>>> bool(np.allclose(op.tall_to_numpy(op.matmat(X)), A @ X))
True
>>> bool(np.allclose(op.gram(X), A.T @ (A @ X)))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from svdkit.errors import ShapeError
from svdkit.lowrank.operators import (
    _BLOCK_BYTES,
    DaskOperator,
    Operator,
    SquareSum,
    deduplicated,
)

__all__ = ["SparseBlocksOperator", "from_sparse_dask_array", "is_sparse_dask_array"]


def _mul(B: Any, X: np.ndarray) -> np.ndarray:
    return np.asarray(B @ X)


def _rmul(B: Any, Y: np.ndarray) -> np.ndarray:
    return np.asarray(B.T @ Y)


def _gram(B: Any, X: np.ndarray) -> np.ndarray:
    return np.asarray(B.T @ (B @ X))


def _shape(B: Any) -> tuple[int, int]:
    return tuple(int(d) for d in B.shape)


def _first_nonfinite(B: Any) -> tuple[int, int, Any] | None:
    """``(row, column, value)`` of a CSR block's first non-finite stored entry, or ``None``."""
    import scipy.sparse as sp

    B = sp.csr_matrix(B)
    bad = ~np.isfinite(B.data)
    if not bad.any():
        return None
    k = int(np.argmax(bad))
    row = int(np.searchsorted(B.indptr, k, side="right")) - 1
    return row, int(B.indices[k]), B.data[k].item()


def _csr64(B: Any) -> Any:
    import scipy.sparse as sp

    return sp.csr_matrix(B, dtype=np.float64)


def _finite(B: Any) -> bool:
    return bool(np.isfinite(B.data).all())


def _sq(B: Any) -> tuple[float, float]:
    """``‖B‖_F²`` of one block as ``(scale, ssq)``, ``scale² · ssq`` (see
    :class:`~svdkit.lowrank.operators.SquareSum`: no square over- or underflows, at
    ``1e±200`` too); duplicate entries (valid, non-canonical CSR) summed first, on a copy."""
    import scipy.sparse as sp

    total = SquareSum()
    total.add(np.asarray(deduplicated(sp.csr_matrix(B)).data, dtype=np.float64))
    return total.scale, total.ssq


def _err2(B: Any, US: np.ndarray, Vh: np.ndarray) -> tuple[float, float]:
    """``‖B − US Vh‖_F²`` of one block as ``(scale, ssq)``, from the difference itself.

    (``‖B‖² − 2 tr(USᵀ B V) + ‖US‖²`` cancelled: a relative error below about 1e-8 came
    out as noise or 0.) The block is densified ``_BLOCK_BYTES`` of rows at a time.
    """
    import scipy.sparse as sp

    B = sp.csr_matrix(B)
    total = SquareSum()
    step = max(1, _BLOCK_BYTES // (8 * max(1, B.shape[1])))
    for r0 in range(0, B.shape[0], step):
        r1 = min(B.shape[0], r0 + step)
        total.add(B[r0:r1].toarray().astype(np.float64, copy=False) - US[r0:r1] @ Vh)
    return total.scale, total.ssq


def _norm_of(parts: list[tuple[float, float]]) -> float:
    """``sqrt(Σ scale² · ssq)`` over the blocks' ``(scale, ssq)``, without over- or underflow."""
    total = SquareSum()
    for scale, ssq in parts:
        total.merge(scale, ssq)
    return total.norm()


def _gram_full(B: Any) -> np.ndarray:
    """``BᵀB`` of one block, dense (``n × n``, a small ``n``)."""
    return np.asarray((B.T @ B).toarray())


def _total(parts: list[Any]) -> Any:
    return sum(parts[1:], parts[0])


class SparseBlocksOperator(DaskOperator):
    """Row blocks of a real sparse matrix (``Delayed`` CSR objects) on a dask cluster.

    Parameters
    ----------
    blocks : list of dask.delayed.Delayed
        Each evaluates to a SciPy CSR matrix of ``rows[i]`` rows and ``n`` columns
        (float64, finite: the weighting guarantees it).
    rows : list of int
        Rows of each block.
    n : int
        Columns.
    """

    def __init__(
        self,
        blocks: list[Any],
        rows: list[int],
        n: int,
        *,
        validated: bool = True,
        transposed: Any = None,
        source: Any = None,
    ) -> None:
        if not blocks or len(blocks) != len(rows):
            raise ShapeError("SparseBlocksOperator needs one row count per block (≥ 1 block)")
        Operator.__init__(self, (int(sum(rows)), int(n)), np.float64,
                          blocks if source is None else source)  # fmt: skip
        self.stored_dtype = np.dtype(np.float64)
        self._blocks = list(blocks)
        self._persisted = validated  # built from persisted blocks, or persist on first use
        self.row_chunks = tuple(int(r) for r in rows)
        self.validated = validated
        self.original = self
        self._transposed = transposed  # the dask array of Aᵀ, for adjoint()
        self._swapped = False  # the blocks are of Aᵀ (the adjoint of a wide array)
        self._shapes_checked = False

    @property
    def blocks(self) -> list[Any]:
        """The row blocks, persisted on the cluster at their first use; their shapes are
        checked against ``rows`` and ``n`` then (a :class:`~svdkit.ShapeError`)."""
        if not self._persisted or not self._shapes_checked:
            import dask

            with self.user_chunks():  # (the first computation of the user's chunks)
                if not self._persisted:
                    self._blocks = list(dask.persist(*self._blocks))
                    self._persisted = True
                shapes = dask.compute(*[dask.delayed(_shape, pure=True)(B)
                                        for B in self._blocks])  # fmt: skip
            self._check_shapes(shapes)
            self._shapes_checked = True
        return self._blocks

    def _check_shapes(self, shapes: Any) -> None:
        n = self.shape[1]
        for i, (shape, r) in enumerate(zip(shapes, self.row_chunks, strict=True)):
            if len(shape) != 2 or shape[0] != r or shape[1] != n:
                raise ShapeError(
                    f"SparseBlocksOperator: block {i} has shape "
                    f"{' × '.join(str(d) for d in shape)}; rows[{i}] = {r}, n = {n} "
                    "(give each block's row count and the number of columns)"
                )

    def _locate_nonfinite(self) -> tuple[int, int, Any] | None:
        """``(row, column, value)`` (0-based, in the user's array) of the first non-finite
        stored entry, or ``None``."""
        import dask

        hits = dask.compute(*self._delayed(_first_nonfinite))
        offsets = np.concatenate(([0], np.cumsum(self.row_chunks)))
        for offset, hit in zip(offsets, hits, strict=False):
            if hit is not None:
                row, col, value = hit
                row += int(offset)
                return (col, row, value) if self._swapped else (row, col, value)
        return None

    def adjoint(self) -> DaskOperator:
        if self._transposed is None:
            raise ShapeError(
                "SparseBlocksOperator keeps its Krylov basis on the column side: it needs at "
                f"least as many rows as columns (it has {self.shape[0]}×{self.shape[1]})"
            )
        op = from_sparse_dask_array(self._transposed)
        op._swapped = not self._swapped
        op.validated = self.validated
        op._count = self._count
        return op

    _what = "sparse dask array"

    def _finite_flag(self) -> Any:
        """A lazy boolean: whether every block's stored entries are finite."""
        import dask

        return dask.delayed(all)(self._delayed(_finite))

    def _delayed(self, fn: Any, *args: Any) -> list[Any]:
        import dask

        f = dask.delayed(fn, pure=True)
        return [f(B, *args) for B in self.blocks]

    def matmat(self, X: np.ndarray) -> Any:
        import dask
        import dask.array as da

        self.passes += 1
        X = np.asarray(X, dtype=self.dtype)
        b = X.shape[1]
        parts = self._delayed(_mul, dask.delayed(X))
        arrays = [
            da.from_delayed(p, shape=(r, b), dtype=self.dtype)
            for p, r in zip(parts, self.row_chunks, strict=True)
        ]
        return self._persist_checked(da.concatenate(arrays, axis=0))

    def _per_block(self, fn: Any, Y: Any) -> np.ndarray:
        import dask

        Yd = self._tall(Y).rechunk({0: self.row_chunks, 1: -1}).to_delayed().ravel().tolist()
        f = dask.delayed(fn, pure=True)
        parts = [f(B, y) for B, y in zip(self.blocks, Yd, strict=True)]
        return np.asarray(self._checked(dask.delayed(_total)(parts)), dtype=self.dtype)

    def rmatmat(self, Y: Any) -> np.ndarray:
        self.passes += 1
        return self._per_block(_rmul, Y)

    def gram(self, X: np.ndarray) -> np.ndarray:
        import dask

        self.passes += 1
        X = np.asarray(X, dtype=self.dtype)
        parts = self._delayed(_gram, dask.delayed(X))
        return np.asarray(self._checked(dask.delayed(_total)(parts)), dtype=self.dtype)

    def gram_matrix(self, block: int = 64) -> np.ndarray:
        """``AᵀA = Σ_blocks BᵀB`` in one graph, one pass."""
        import dask

        self.passes += 1
        parts = self._delayed(_gram_full)
        return np.asarray(self._checked(dask.delayed(_total)(parts)), dtype=self.dtype)

    def fro_norm(self) -> float:
        import dask

        self.passes += 1
        return float(self._checked(dask.delayed(_norm_of)(self._delayed(_sq))))

    def reconstruction_error(self, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
        import dask

        US = np.asarray(U) * s
        Vh = np.ascontiguousarray(np.asarray(Vh))
        bounds = np.cumsum((0, *self.row_chunks))
        f = dask.delayed(_err2, pure=True)
        parts = [
            f(B, US[r0:r1], Vh)
            for B, r0, r1 in zip(self.blocks, bounds[:-1], bounds[1:], strict=True)
        ]
        return float(self._checked(dask.delayed(_norm_of)(parts)))


def is_sparse_dask_array(a: Any) -> bool:
    """Whether ``a`` is a dask array whose chunks are SciPy sparse matrices."""
    import scipy.sparse as sp

    return sp.issparse(getattr(a, "_meta", None))


def from_sparse_dask_array(a: Any) -> SparseBlocksOperator:
    """The operator of a 2-D dask array of SciPy sparse chunks (real entries).

    The array is rechunked to whole rows (one chunk across the columns; dask joins
    sparse chunks with SciPy's ``hstack``), and each row block is widened to float64
    CSR on the cluster. A wide array keeps its transpose for :meth:`adjoint`, so the
    engine's orientation rule (Krylov basis on the short side) applies.
    """
    import dask

    if a.ndim != 2:
        raise ShapeError(f"A must be a matrix (2-D); got shape {a.shape}")
    if np.dtype(a.dtype).kind == "c":
        raise ShapeError(
            "complex sparse dask arrays are not supported; use a dask array of dense "
            "chunks, or a SciPy sparse matrix"
        )
    m, n = (int(d) for d in a.shape)
    rows_whole = a.rechunk({1: -1}) if len(a.chunks[1]) > 1 else a
    blocks = [dask.delayed(_csr64)(b) for b in rows_whole.to_delayed()[:, 0].tolist()]
    return SparseBlocksOperator(
        blocks,
        [int(r) for r in rows_whole.chunks[0]],
        n,
        validated=False,
        transposed=a.T if m < n else None,
        source=a,
    )
