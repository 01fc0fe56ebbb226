"""One operator protocol for every kind of matrix the large-scale engine reads.

An operator is an ``m × n`` matrix ``A`` seen only through products with tall,
thin blocks: ``matmat(X) = A X`` (``X`` is ``n × b``), ``rmatmat(Y) = Aᴴ Y`` and
``gram(X) = Aᴴ(A X)``. The algorithms of :mod:`svdkit.lowrank` never look inside
(lineax's "an operator is one object, a solver is another"):

============================  ============================================================
adapter                       what a product costs
============================  ============================================================
:class:`DenseOperator`        one BLAS-3 product; float32/complex64 entries are widened to
                              float64 a block of rows at a time (no m×n copy)
:class:`SparseOperator`       SciPy CSR/CSC kernels on row chunks, on several threads;
                              wide blocks are split into column groups of 8 (cache)
:class:`LinearOperatorAdapter`  the LinearOperator's own ``matmat`` / ``rmatmat``
:class:`RowBlockOperator`     ``.npy`` files and ``np.memmap``: row blocks read into a
                              buffer bounded by ``memory_limit``; ``gram`` is one pass,
                              ``A Aᴴ`` of a wide file one by strips of columns
:class:`DaskOperator`         dask.array operations (any dask cluster); the thin side is
                              NumPy on the client, the long side stays on the cluster
============================  ============================================================

Every product is counted in ``passes`` (reads of ``A``). :func:`as_operator`
builds the right adapter from whatever the caller has. Products are computed in
the working precision, float64 (complex128 for complex input), whatever the
storage precision: the results of the engine are certified in float64.

Examples
--------
>>> import numpy as np
>>> from svdkit.lowrank.operators import as_operator
>>> op = as_operator(np.arange(6.0).reshape(2, 3))
>>> op.shape, op.kind
((2, 3), 'dense')
>>> op.matmat(np.ones((3, 1))).ravel().tolist()
[3.0, 12.0]
>>> op.passes
1
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from svdkit._naming import kw
from svdkit.errors import (
    EmptyInputError,
    FileFormatError,
    NonFiniteError,
    ParseError,
    ShapeError,
    SvdkitError,
)
from svdkit.lowrank._common import check_optional_int
from svdkit.lowrank._threads import available_cores, parallel_map, single_blas_thread
from svdkit.lowrank.orth import colnorms, qr_robust, random_block

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "AdjointOperator",
    "DaskOperator",
    "DenseOperator",
    "LinearOperatorAdapter",
    "Operator",
    "RowBlockOperator",
    "ScaledOperator",
    "SparseOperator",
    "TransposeOperator",
    "as_operator",
    "probed_squares",
    "scaled_fro_norm",
]

#: Default bound (bytes) on the buffers an out-of-core operator reads row blocks into.
DEFAULT_MEMORY_LIMIT = 256 * 2**20

#: Widening float32 → float64 and reading files work on blocks of about this size.
_BLOCK_BYTES = 16 * 2**20

#: Dense products work on blocks of rows of about this size (fits in L2/L3 cache).
_DENSE_BLOCK_BYTES = 256 * 2**10

#: Dense float32 (complex64) matrices of at most this many entries are widened
#: to float64 once; larger ones block by block, so that no full copy is made.
_WIDEN_ONCE_ENTRIES = 2**21

#: A read call (a row segment of a strip of columns) costs about as much as reading
#: this many bytes more (:meth:`RowBlockOperator.cogram_matrix`).
_CALL_BYTES = 8 * 2**10


def _strips_cheaper(m: int, n: int, width: int, rows: int, size: int) -> bool:
    """Whether ``AAᴴ`` of a wide ``m × n`` file (``size`` bytes an entry) costs less by
    strips of ``width`` columns (one read of the file, ``m`` read calls a strip, and a
    rank-``width`` update of the ``m × m`` float64 sum read and written a strip) than by
    pairs of row blocks of ``rows`` rows (about ``(S + 1) / 2`` reads, ``S = m / rows``).

    Measured (one core, the file in the page cache): 2000×20000 at 8 MiB, strips of 524
    columns 4.1 s, pairs of 26 rows 7.9 s; 4000×5000 at 1 MiB, strips of 32 columns
    14.5 s, pairs of 13 rows 10.4 s; 60×400000 at 16 MiB 0.15 against 0.87 s.
    """
    if width >= n:
        return True
    data = m * n * size
    strips = -(-n // width)
    panels = -(-m // rows)
    cost = data + strips * (m * _CALL_BYTES + 2 * 8 * m * m)
    return cost <= data * (panels + 1) / 2


#: Sparse products are split into groups of at most this many columns: a row of X
#: is then one 64-byte cache line, gathered once per stored entry (measured on a
#: 100000×25000 matrix with 2.5·10⁶ non-zeros: 2.3 ms per column at 8 columns,
#: 4 ms at 16; 21 ms at 64 on the 200000×50000 one with 10⁷).
_SPARSE_COLUMN_GROUP = 8

#: A sparse chunk holds at most this many stored entries (bounds the transient
#: float64 copy SciPy makes of a float32 chunk).
_SPARSE_CHUNK_NNZ = 4_000_000


def _working_dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)


def _require_numeric(dtype: Any, name: str = "A") -> None:
    """Raise :class:`~svdkit.ParseError` for a dtype that is not numeric (text, dates,
    records, Python objects), as :func:`svdkit.as_matrix` refuses a NumPy array of it:
    an ``np.memmap`` or a dask array is never parsed or cast entry by entry."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "biufc":
        raise ParseError(f"{name} has dtype {dtype}, which is not numeric")


def _dims(shape: tuple[int, ...], name: str = "A") -> tuple[int, int]:
    if len(shape) != 2:
        raise ShapeError(f"{name} must be a matrix (2-D); got shape {tuple(shape)}")
    m, n = (int(d) for d in shape)
    if m == 0 or n == 0:
        raise EmptyInputError(
            f"{name} is empty (shape {(m, n)}): a matrix needs at least one entry"
        )
    return m, n


# ------------------------------------------------------------------------------ scale

#: Products run on ``A`` as it is while its scale (``‖A‖₂``, roughly) is within
#: ``2^±SAFE_EXPONENT``; outside, on ``2^e · A`` (:class:`ScaledOperator`). ``AᴴA``
#: squares the scale and dashSVD's Gram matrices square it again: float64
#: over- or underflows from ``σ₁ ≈ 2^±250`` on, float32 products from ``2^±30``.
SAFE_EXPONENT = 32

#: A sum of squares in ``[2^-SQUARES_EXPONENT, 2^SQUARES_EXPONENT]`` is accurate
#: as computed: no square overflowed, and those that underflowed weigh less than
#: ``2^-100`` of it.
SQUARES_EXPONENT = 900


def _exponent(x: float) -> int:
    """``e`` with ``2^(e-1) ≤ x < 2^e`` for a positive finite ``x``."""
    return math.frexp(x)[1]


def scale_for(size: float, window: int = SAFE_EXPONENT) -> float:
    """The power of two ``c`` that brings ``size`` to about 1 (``1.0`` within ``2^±window``).

    Parameters
    ----------
    size : float
        The scale of a matrix (a norm, an entry, a product's size).
    window : int
        Sizes within ``2^±window`` are left alone.

    Returns
    -------
    float
        ``c = 2^-e`` with ``c · size`` within a factor 2 of 1, or ``1.0``.
        Multiplying by ``c`` is exact in floating point; ``size`` zero, infinite or
        NaN gives ``1.0`` (nothing to scale by).

    Examples
    --------
    >>> scale_for(3.0), scale_for(1e160) == 2.0**-532, scale_for(1e-200) == 2.0**664
    (1.0, True, True)
    """
    if not (size > 0 and math.isfinite(size)):
        return 1.0
    return _scale_of(_exponent(size), window)


#: The largest ``|e|`` of a scale ``2^e``: ``2^±1000`` is a normal float64 with room
#: to spare (``2^1000 · x`` stays finite for ``|x| < 2^23``, ``2^-1000 · x`` normal
#: for ``|x| > 2^-22``). From ``‖A‖ ≈ 2^±1000`` on (``σ₁`` up to the float64 maximum,
#: ``1.8e308``, down to subnormal scales) ``c · ‖A‖`` is then not about 1 but within
#: ``2^±75`` of it, which :class:`ScaledOperator`'s two-sided products tolerate.
MAX_SCALE_EXPONENT = 1000

#: :class:`ScaledOperator` runs ``(cA)ᴴ(cA) X`` as ``Aᴴ(c · A(cX))`` (two products,
#: every middle value about ``c · ‖A‖``) instead of the fused ``c · AᴴA(cX)`` (one read
#: of ``A``, whose middle value is ``σ₁ · (c σ₁)``) beyond ``c = 2^±FUSED_EXPONENT``.
FUSED_EXPONENT = 480


#: :class:`ScaledOperator` forms ``(cA)ᴴ(cA)`` as ``c² · AᴴA`` (the inner operator's
#: own Gram matrix, one read of a file) for ``c`` within ``2^±SQUARE_EXPONENT``:
#: the entries of ``AᴴA`` are then at most ``‖A‖_F² ≈ 2^482``, and those that matter
#: (above ``ε · σ₁²``) at least ``2^-540``, far from over- and underflow.
SQUARE_EXPONENT = 240


def _scale_of(e: float, window: int = SAFE_EXPONENT) -> float:
    """``2^-e`` (``e`` rounded, within ``±MAX_SCALE_EXPONENT``), or ``1.0`` for
    ``|e| ≤ window``."""
    if abs(e) <= window:
        return 1.0
    return 2.0 ** -min(MAX_SCALE_EXPONENT, max(-MAX_SCALE_EXPONENT, round(e)))


def _power_above(x: float) -> float:
    """A power of two at or above the positive finite ``x``, and within a factor 2 of it
    (clamped to the normal range of float64)."""
    return 2.0 ** min(max(_exponent(x), -1022), 1023)


def _max_abs(x: Any) -> float:
    """``max |xᵢⱼ|`` of a NumPy or dask array (NaN if it holds one)."""
    if isinstance(x, np.ndarray):
        return float(np.max(np.abs(x), initial=0.0)) if x.size else 0.0
    return float(abs(x).max())  # a dask array: computed


def _first_nonfinite(block: Any) -> tuple[int, int, Any] | None:
    """``(row, column, value)`` of a dense chunk's first non-finite entry, or ``None``."""
    block = np.asarray(block)
    if block.ndim == 1:
        block = block.reshape(-1, 1)
    bad = np.argwhere(~np.isfinite(block))
    if not bad.size:
        return None
    i, j = (int(x) for x in bad[0])
    return i, j, block[i, j].item()


def _without_empty_chunks(a: Any) -> Any:
    """A dask array without its zero-length chunks (a boolean-mask filter leaves them;
    dask's reductions, ``max`` among them, fail on one). The chunk boundaries stay where
    they are, so no data moves; an array without empty chunks is returned as it is."""
    if all(all(chunks) for chunks in a.chunks):
        return a
    return a.rechunk(tuple(tuple(c for c in chunks if c) or (0,) for chunks in a.chunks))


def _quiet() -> Any:
    """No warnings for over- and underflow (where the code looks for them itself)."""
    return np.errstate(over="ignore", under="ignore", invalid="ignore")


def _squares_safe(total: float) -> bool:
    """Whether a sum of squares is accurate as computed (see ``SQUARES_EXPONENT``)."""
    return 2.0**-SQUARES_EXPONENT <= total <= 2.0**SQUARES_EXPONENT


class SquareSum:
    """``Σ |xᵢ|²`` over blocks, held as ``scale² · ssq`` so that it neither overflows
    nor underflows (LAPACK's ``lassq``).

    A block whose plain sum of squares is safe (the usual case) costs what
    ``np.sum(np.abs(B) ** 2)`` does; only the others are summed again, scaled by a
    power of two.

    Examples
    --------
    >>> acc = SquareSum()
    >>> acc.add(np.full(4, 1e200)); acc.add(np.full(4, 1e-200))
    >>> float(acc.norm() / 1e200)
    2.0
    """

    def __init__(self) -> None:
        self.scale = 1.0
        self.ssq = 0.0

    def add(self, x: np.ndarray) -> None:
        """Add ``Σ |x|²`` of one block."""
        a = np.abs(x)
        with _quiet():
            total = float(np.sum(a**2))
        if _squares_safe(total):
            self._merge(1.0, total)
            return
        big = float(np.max(a, initial=0.0))
        if big == 0.0 or not math.isfinite(big):
            self._merge(1.0, total if big else 0.0)
            return
        s = _power_above(big)
        self._merge(s, float(np.sum((a / s) ** 2)))

    def merge(self, scale: float, ssq: float) -> None:
        """Add another sum held as ``scale² · ssq`` (another :class:`SquareSum`'s
        ``scale`` and ``ssq``: partial sums computed elsewhere, e.g. on a cluster)."""
        self._merge(float(scale), float(ssq))

    def _merge(self, s: float, q: float) -> None:
        if q == 0.0:
            return
        if self.ssq == 0.0:  # the first block that counts sets the scale
            self.scale, self.ssq = s, q
        elif s > self.scale:
            self.ssq = q + self.ssq * (self.scale / s) ** 2
            self.scale = s
        else:
            self.ssq += q * (s / self.scale) ** 2

    def norm(self, c: float = 1.0) -> float:
        """``c · sqrt(Σ |xᵢ|²)`` (``c`` a power of two: ``‖cA‖_F`` where ``‖A‖_F``
        itself would overflow to infinity)."""
        return (self.scale * c) * math.sqrt(self.ssq)


def _refuse_masked_dask(A: Any) -> None:
    """A dask array of masked blocks with a masked entry is refused, as a NumPy masked
    array is (:func:`svdkit.inputs.shape.unmasked`): the products would read the values
    hidden under the mask. Its mask is computed (one pass) to find them."""
    from svdkit.inputs import is_masked_dask

    if not is_masked_dask(A):
        return
    import dask.array as da

    count = int(da.ma.getmaskarray(A).sum().compute())
    if count:
        raise NonFiniteError(
            f"A is a masked dask array with {count} masked (missing) "
            f"entr{'y' if count == 1 else 'ies'}; svdkit would read the values hidden under "
            "the mask: fill the masked entries (dask.array.ma.filled(A, value)) or remove "
            "them first"
        )


def deduplicated(csr: Any) -> Any:
    """``csr`` with its duplicate entries summed (they add up, as in every product):
    on a copy when there are any, never in the caller's matrix."""
    if csr.has_canonical_format:
        return csr
    csr = csr.copy()
    csr.sum_duplicates()
    return csr


def _norm(x: np.ndarray) -> float:
    """``‖x‖_F`` without overflow or underflow."""
    acc = SquareSum()
    acc.add(x)
    return acc.norm()


def scaled_fro_norm(
    op: Operator, fro: float | None = None, *, probe: bool = False
) -> tuple[float, float] | None:
    """``(c ‖A‖_F, c)``: ``c`` the power of two of :func:`scale_for` for ``‖A‖_F`` (within
    ``2^±MAX_SCALE_EXPONENT``), also where ``‖A‖_F`` exceeds the float64 maximum.

    ``fro`` is ``op.fro_norm()`` when already computed (one pass, else taken here).
    ``None`` when the operator has no one-pass norm (a LinearOperator), unless
    ``probe``: then from products with unit vectors. Where ``‖A‖_F``
    overflows (``σ₁`` or ``‖A‖_F`` past ``1.8e308``) or is subnormal (below
    ``2.2e-308``, where a float keeps only some of its digits: ``√6 · 2^-1074``
    rounds to ``2 · 2^-1074``), it is summed again as a :class:`SquareSum` (one more
    pass), or from products with unit vectors where the operator has no entries to
    read; ``c ‖A‖_F`` is then accurate to the last digits.

    Examples
    --------
    >>> value, c = scaled_fro_norm(as_operator(np.full((2, 2), 1e308)))  # ‖A‖_F = 2e308
    >>> c == 2.0**-1000, round(value / (c * 1e308), 12)
    (True, 2.0)
    >>> value, c = scaled_fro_norm(as_operator(np.diag([5e-324, 5e-324, 1e-323])))
    >>> round(value / (c * 5e-324) / 6**0.5, 12)  # ‖A‖_F = √6 · 2^-1074
    1.0
    """
    if fro is None:
        fro = op.fro_norm()
    if fro is None:
        return _scaled_sum(probed_squares(op)) if probe else None
    if math.isfinite(fro) and (fro == 0.0 or fro >= sys.float_info.min):
        c = scale_for(fro)
        return fro * c, c
    # past the float64 maximum, or subnormal (a float keeps only a few of its digits:
    # ‖diag(5e-324, 5e-324, 1e-323)‖_F = √6·2^-1074 rounds to 2·2^-1074): summed again
    total = op.fro_squares()
    if total is None:  # (a dask array: its columns, from products with unit vectors)
        total = probed_squares(op)
    return _scaled_sum(total)


def _scaled_sum(total: SquareSum) -> tuple[float, float]:
    """``(c · sqrt(total), c)`` with ``c`` from :func:`_scale_of`."""
    if total.ssq == 0.0:
        return 0.0, 1.0
    c = _scale_of(_exponent(total.scale) + _exponent(math.sqrt(total.ssq)) - 1)
    return total.norm(c), c


def probed_squares(op: Operator) -> SquareSum:
    """``‖A‖_F²`` as a :class:`SquareSum`, from products with unit vectors (on the short
    side, 64 at a time): for operators that hide their entries."""
    side = op if op.shape[1] <= op.shape[0] else op.adjoint()
    nn = side.shape[1]
    total = SquareSum()
    step = 64
    for j0 in range(0, nn, step):
        j1 = min(nn, j0 + step)
        E = np.zeros((nn, j1 - j0), dtype=op.dtype)
        E[np.arange(j0, j1), np.arange(j1 - j0)] = 1.0
        total.add(side.tall_to_numpy(side.matmat(E)))
    return total


class Operator:
    """An ``m × n`` matrix seen through block products (the protocol of the engine).

    Attributes
    ----------
    shape : tuple of int
        ``(m, n)``.
    dtype : numpy.dtype
        Working precision of the products: float64 or complex128.
    kind : str
        ``"dense"``, ``"sparse"``, ``"linear_operator"``, ``"row_blocks"`` or ``"dask"``.
    passes : int
        Reads of ``A`` so far (a fused ``gram`` counts one).
    fused : {"gram", "cogram", None}
        Which of ``gram`` (``AᴴA X``) or ``cogram`` (``A Aᴴ Y``) reads ``A`` once.
    source : object
        What the operator was built from (kept for ``LowRankSVD.matrix``).
    """

    kind = "abstract"
    fused: str | None = None
    #: The long side (m) is a dask array, not NumPy.
    distributed = False

    def __init__(self, shape: tuple[int, int], dtype: Any, source: Any = None) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = _working_dtype(dtype)
        self.source = source
        self._count = [0]  # shared with adjoint views

    @property
    def passes(self) -> int:
        """Reads of ``A`` so far (shared with the operator's adjoint views)."""
        return self._count[0]

    @passes.setter
    def passes(self, value: int) -> None:
        self._count[0] = int(value)

    # ------------------------------------------------------------------ products
    def matmat(self, X: np.ndarray) -> Any:
        """``A X`` for an ``n × b`` block; ``m × b`` (a dask array for dask input)."""
        raise NotImplementedError

    def rmatmat(self, Y: Any) -> np.ndarray:
        """``Aᴴ Y`` for an ``m × b`` block; ``n × b`` NumPy."""
        raise NotImplementedError

    def gram(self, X: np.ndarray) -> np.ndarray:
        """``Aᴴ (A X)``."""
        return self.rmatmat(self.matmat(X))

    def cogram(self, Y: Any) -> Any:
        """``A (Aᴴ Y)``."""
        return self.matmat(self.rmatmat(Y))

    def gram_pair(self, X: np.ndarray) -> tuple[Any, np.ndarray]:
        """``(A X, Aᴴ A X)``: one read of ``A`` where ``gram`` is fused, two otherwise."""
        W = self.matmat(X)
        return W, np.asarray(self.rmatmat(W))

    def adjoint(self) -> Operator:
        """The operator of ``Aᴴ`` (no copy of ``A``)."""
        return AdjointOperator(self)

    def gram_matrix(self, block: int = 64) -> np.ndarray:
        """The ``n × n`` matrix ``AᴴA`` (for a small ``n``), in the products' precision.

        By default from ``gram`` on blocks of the identity; dense arrays form it
        directly (one Hermitian rank-``m`` update, BLAS ``syrk``/``herk``).
        """
        return self._on_identity(self.gram, self.shape[1], block)

    def cogram_matrix(self, block: int = 64) -> np.ndarray:
        """The ``m × m`` matrix ``A Aᴴ`` (for a small ``m``); see :meth:`gram_matrix`."""
        return self._on_identity(self.cogram, self.shape[0], block)

    def _on_identity(self, product: Any, size: int, block: int) -> np.ndarray:
        """``product`` applied to the ``size × size`` identity, ``block`` columns at a time."""
        eye = np.eye(size, dtype=self.dtype)
        G = np.empty((size, size), dtype=self.dtype)
        for j0 in range(0, size, block):
            G[:, j0 : j0 + block] = np.asarray(product(eye[:, j0 : j0 + block]))
        return G

    def fro_norm(self) -> float | None:
        """``‖A‖_F`` when it can be had in at most one pass, else ``None`` (``inf``
        where it exceeds the float64 maximum: :func:`scaled_fro_norm` then)."""
        return None

    def fro_squares(self) -> SquareSum | None:
        """``‖A‖_F²`` held as a :class:`SquareSum` (one pass), where the operator reads its
        entries; else ``None``."""
        return None

    def require(self, method: str) -> None:
        """Raise :class:`~svdkit.SvdkitError` now if ``method`` needs a product the
        operator cannot compute (a LinearOperator without ``rmatvec``)."""

    def stored_precision(self, on: bool) -> bool:
        """Run the products in the storage precision (float32) instead of float64.

        Only where the entries are stored in single precision and the products
        can run on them as stored (dense arrays); the results are still float64
        arrays, accurate to single precision. Returns whether the mode is on.
        """
        return False

    def close(self) -> None:
        """Release files and buffers (the operator stays usable: they reopen on demand)."""

    # ------------------------------------------------------------- long-side blocks
    # The long side holds NumPy arrays, except for dask input (see DaskOperator).
    def tall_qr(self, W: Any) -> tuple[Any, np.ndarray]:
        """``W = Q R`` with orthonormal ``Q`` (same kind as ``W``) and NumPy ``R``."""
        return qr_robust(np.asarray(W))

    def tall_matmul(self, Q: Any, C: np.ndarray) -> Any:
        """``Q C`` for a long block ``Q`` and a small NumPy ``C``."""
        return Q @ C

    def tall_gram(self, X: Any, Y: Any) -> np.ndarray:
        """``Xᴴ Y`` (small, NumPy)."""
        return X.conj().T @ Y

    def tall_combine(self, X: Any, Y: Any, s: np.ndarray) -> Any:
        """``X − Y · diag(s)``."""
        return X - Y * s

    def tall_colnorms(self, X: Any) -> np.ndarray:
        """Column norms (NumPy)."""
        return colnorms(X)

    def tall_random(self, rng: np.random.Generator, b: int) -> Any:
        """A Gaussian ``m × b`` block."""
        return random_block(rng, self.shape[0], b, self.dtype)

    def tall_to_numpy(self, X: Any) -> np.ndarray:
        """A long block as a NumPy array."""
        return np.asarray(X)

    def tall_concat(self, blocks: list[Any]) -> Any:
        """Blocks side by side."""
        return np.concatenate(blocks, axis=1)

    def tall_columns(self, X: Any, idx: Any) -> Any:
        """``X[:, idx]``."""
        return X[:, idx]

    # ------------------------------------------------------------------ helpers
    def reconstruction_error(self, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
        """``‖A − U diag(s) Vh‖_F``, block by block, without an m×n array."""
        V = np.ascontiguousarray(Vh.conj().T)
        total = SquareSum()
        n = self.shape[1]
        step = max(1, _BLOCK_BYTES // (16 * max(1, self.shape[0])))
        for j0 in range(0, n, step):
            j1 = min(n, j0 + step)
            E = np.zeros((n, j1 - j0), dtype=self.dtype)
            E[np.arange(j0, j1), np.arange(j1 - j0)] = 1.0
            total.add(self.tall_to_numpy(self.matmat(E)) - (U * s) @ V[j0:j1].conj().T)
        return total.norm()

    def describe(self) -> str:
        """``"dense 4000×3000 float64"``: kind, shape and storage precision."""
        m, n = self.shape
        stored = getattr(self, "stored_dtype", self.dtype)
        return f"{self.kind} {m}×{n} {np.dtype(stored).name}"


class AdjointOperator(Operator):
    """``Aᴴ`` of another operator: products swap, nothing is copied."""

    def __init__(self, inner: Operator) -> None:
        if inner.distributed:
            raise ShapeError("the adjoint of a dask operator is built by DaskOperator.adjoint")
        super().__init__((inner.shape[1], inner.shape[0]), inner.dtype, inner.source)
        self.inner = inner
        self._count = inner._count
        self.kind = inner.kind
        self.fused = {"gram": "cogram", "cogram": "gram"}.get(inner.fused or "", None)
        self.stored_dtype = getattr(inner, "stored_dtype", inner.dtype)

    def matmat(self, X: np.ndarray) -> np.ndarray:
        return self.inner.rmatmat(X)

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        return self.inner.matmat(Y)

    def gram(self, X: np.ndarray) -> np.ndarray:
        return self.inner.cogram(X)

    def cogram(self, Y: np.ndarray) -> np.ndarray:
        return self.inner.gram(Y)

    def gram_matrix(self, block: int = 64) -> np.ndarray:
        return self.inner.cogram_matrix(block)

    def cogram_matrix(self, block: int = 64) -> np.ndarray:
        return self.inner.gram_matrix(block)

    def adjoint(self) -> Operator:
        return self.inner

    def fro_norm(self) -> float | None:
        return self.inner.fro_norm()

    def fro_squares(self) -> SquareSum | None:
        return self.inner.fro_squares()

    def stored_precision(self, on: bool) -> bool:
        return self.inner.stored_precision(on)

    def close(self) -> None:
        self.inner.close()

    def reconstruction_error(self, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
        # Aᴴ = U Σ Vh  ⇔  A = Vhᴴ Σ Uᴴ
        return self.inner.reconstruction_error(Vh.conj().T, s, U.conj().T)


#: Seed of the block that measures an operator's scale when its first product
#: cannot (fixed: it must not draw from the caller's generator).
_PROBE_SEED = 0x5CA1E

#: Below this, a product in float64 (float32) has lost digits to underflow.
_LOST_BELOW = {False: 2.0**-SQUARES_EXPONENT, True: 2.0**-90}

#: Single-precision products (float32 entries, loose ``tol``) run in float64 when
#: ``A`` needs a scale beyond ``2^±_SINGLE_EXPONENT`` (float32 ends at ``2^±126``).
_SINGLE_EXPONENT = 64


class ScaledOperator(Operator):
    """``c · A`` for the power of two ``c`` that keeps every product inside floating-point range.

    ``AᴴA`` squares the scale of ``A``: from ``σ₁ ≈ 1e±150`` it overflows to
    infinity or underflows to zero in float64, and with it every Ritz value,
    residual and norm derived from it. The methods run on this operator instead,
    and the caller divides what they return (``σ``, residuals, ``Aᴴ U``) by
    :attr:`scale`. Multiplying by a power of two is exact: within the safe range
    the results are the same numbers either way.

    The scale is given (``size``: ``‖A‖_F``, when known) or taken from the first
    product: within ``2^±SAFE_EXPONENT`` it is 1 and every product is the inner
    operator's, untouched (no pass and no copy added). Outside, the first product
    is rescaled when it lost nothing, else (an overflow, an underflow) computed
    again on ``c A`` once ``c`` is known from ``A P`` for a fixed Gaussian ``P``.
    Products with ``c A`` scale the small blocks, never the matrix:
    ``(cA) X = A (cX)``, ``(cA)ᴴ(cA) X = c · Aᴴ(A (cX))`` — fused, one read of ``A``,
    its middle value ``σ₁ · cσ₁`` — and beyond ``c = 2^±FUSED_EXPONENT`` (σ₁ up to
    the float64 maximum, or subnormal) ``Aᴴ(c · A(cX))``, two products whose every
    middle value is about ``cσ₁`` or ``c``. Single-precision
    products (float32 entries) hold ``σ₁`` itself in the middle of the latter:
    beyond ``2^±64`` they run in float64.

    Parameters
    ----------
    inner : Operator
        The matrix ``A``.
    size : float, optional
        ``‖A‖_F`` when known (finite): ``c`` is then fixed at once.
    scale : float, optional
        ``c`` itself (:func:`scaled_fro_norm`'s, where ``‖A‖_F`` overflows).

    Attributes
    ----------
    scale : float or None
        ``c`` (``None`` until the first product).
    """

    def __init__(
        self, inner: Operator, *, size: float | None = None, scale: float | None = None
    ) -> None:
        super().__init__(inner.shape, inner.dtype, inner.source)
        self.inner = inner
        self._count = inner._count
        self.kind = inner.kind
        self.fused = inner.fused
        self.distributed = inner.distributed
        self.stored_dtype = getattr(inner, "stored_dtype", inner.dtype)
        if hasattr(inner, "nnz"):
            self.nnz = inner.nnz
        if scale is None and size is not None and math.isfinite(size) and size > 0:
            scale = scale_for(size)
        self.scale: float | None = scale
        self._single = False

    # ------------------------------------------------------------------ the scale
    def _first(self, product: Any, reference: float, powers: tuple[int, ...]) -> Any:
        """The first product, ``product(c)`` for ``c A``, deciding ``c`` on the way.

        ``powers``: the power of ``c`` in each part of the product (1 for ``A X``,
        2 for ``AᴴA X``); the last part is measured against ``reference = max|X|``.
        """
        try:
            with _quiet():  # (an over- or underflow here is what is looked for)
                out = product(1.0)
        except NonFiniteError:  # a LinearOperator's check reads an overflow so
            out = None
        parts = out if isinstance(out, tuple) else (out,)
        c = None if out is None else self._scale_from(parts[-1], reference, powers[-1])
        again = c is None
        if c is None:
            c = self._probe()
            if c is None:  # A P = 0: A is zero, and so was the product
                c, again = 1.0, out is None
        self.scale = c
        if self._single and self._too_wide_for_single():
            self.stored_precision(False)
            again = True
        if again:
            return product(c)
        if c == 1.0:
            return out
        scaled = tuple(x * c**p for x, p in zip(parts, powers, strict=True))
        return scaled if isinstance(out, tuple) else scaled[0]

    def _too_wide_for_single(self) -> bool:
        """Whether ``c`` is too far from 1 for single-precision products: the middle
        of ``c · Aᴴ(A (cX))`` holds ``σ₁`` itself."""
        return self.scale is not None and abs(_exponent(self.scale) - 1) > _SINGLE_EXPONENT

    def _scale_from(self, result: Any, reference: float, power: int) -> float | None:
        """``c`` from a product's size, or None where it over- or underflowed."""
        size = _max_abs(result)
        if not (size > 0 and math.isfinite(size)) or reference == 0:
            return None
        e = (_exponent(size) - _exponent(reference)) / power
        if abs(e) > SAFE_EXPONENT and size < _LOST_BELOW[self._single]:
            return None
        return _scale_of(e)

    def _probe(self) -> float | None:
        """``c`` from ``A P`` for a fixed Gaussian ``P`` (None when ``A P = 0``)."""
        P = random_block(np.random.default_rng(_PROBE_SEED), self.shape[1], 2, self.dtype)
        reference = _max_abs(P)
        # products so large that A P overflows: a smaller P (as small as the
        # products' precision, float64 or float32, allows)
        for shift in (0, 64 if self._single else 600):
            try:
                with _quiet():
                    size = _max_abs(self.inner.matmat(P * 2.0**-shift))
            except NonFiniteError:
                if shift:
                    raise
                continue
            if size == 0:
                return None
            if math.isfinite(size):
                return _scale_of(_exponent(size) + shift - _exponent(reference))
        return 1.0  # non-finite all the same: the products will say why

    # ------------------------------------------------------------------ products
    def _product(self, product: Any, X: Any, powers: tuple[int, ...]) -> Any:
        if self.scale is None:
            return self._first(product, 1.0 if X is None else _max_abs(X), powers)
        return product(self.scale)

    def matmat(self, X: np.ndarray) -> Any:
        return self._product(lambda c: self.inner.matmat(X if c == 1.0 else X * c), X, (1,))

    def rmatmat(self, Y: Any) -> np.ndarray:
        return self._product(lambda c: self.inner.rmatmat(Y if c == 1.0 else Y * c), Y, (1,))

    def gram(self, X: np.ndarray) -> np.ndarray:
        return self._product(lambda c: self._twice(X, c, cogram=False), X, (2,))

    def cogram(self, Y: Any) -> Any:
        return self._product(lambda c: self._twice(Y, c, cogram=True), Y, (2,))

    def _twice(self, X: Any, c: float, *, cogram: bool) -> Any:
        """``(cA)ᴴ(cA) X`` (``(cA)(cA)ᴴ X`` for ``cogram``).

        Fused, ``c · AᴴA (cX)``: its middle value ``AᴴA(cX)`` is about ``σ₁ · (cσ₁)``,
        which overflows for ``σ₁`` near the float64 maximum and loses digits to
        underflow for subnormal ``σ₁``. Beyond ``2^±FUSED_EXPONENT`` the two products
        ``Aᴴ(c · A(cX))`` run instead: every value on the way is about ``c``, ``cσ₁``
        or ``X``'s size.
        """
        if c == 1.0:
            return self.inner.cogram(X) if cogram else self.inner.gram(X)
        if abs(_exponent(c) - 1) <= FUSED_EXPONENT:
            return (self.inner.cogram(X * c) if cogram else self.inner.gram(X * c)) * c
        if cogram:
            return self.inner.matmat(self.inner.rmatmat(X * c) * c)
        return self.inner.rmatmat(self.inner.matmat(X * c) * c)

    def gram_pair(self, X: np.ndarray) -> tuple[Any, np.ndarray]:
        def pair(c: float) -> tuple[Any, np.ndarray]:
            if c == 1.0:
                return self.inner.gram_pair(X)
            if abs(_exponent(c) - 1) <= FUSED_EXPONENT:
                W, G = self.inner.gram_pair(X * c)
                return W, G * c
            W = self.inner.matmat(X * c)  # two products: see _twice
            return W, self.inner.rmatmat(W * c)

        return self._product(pair, X, (1, 2))

    def gram_matrix(self, block: int = 64) -> np.ndarray:
        return self._product(lambda c: self._square(c, block, cogram=False), None, (2,))

    def cogram_matrix(self, block: int = 64) -> np.ndarray:
        return self._product(lambda c: self._square(c, block, cogram=True), None, (2,))

    def _square(self, c: float, block: int, *, cogram: bool) -> np.ndarray:
        """``(cA)ᴴ(cA)`` (or ``(cA)(cA)ᴴ``): ``c²`` times the inner operator's own (one
        read of a file) while ``AᴴA`` itself stays well inside the products' range
        (``c`` within ``2^±SQUARE_EXPONENT``, ``2^±40`` for single-precision products),
        else from its products on the identity (blocks of up to 512 columns)."""
        window = 40 if self._single else SQUARE_EXPONENT
        if abs(_exponent(c) - 1) <= window:
            G = self.inner.cogram_matrix(block) if cogram else self.inner.gram_matrix(block)
            return G if c == 1.0 else G * (c * c)  # (a power of two: exact)
        size = self.shape[0] if cogram else self.shape[1]
        width = max(block, min(size, 512))
        return self._on_identity(lambda E: self._twice(E, c, cogram=cogram), size, width)

    def stored_precision(self, on: bool) -> bool:
        self._single = self.inner.stored_precision(on and not self._too_wide_for_single())
        return self._single

    def close(self) -> None:
        self.inner.close()

    def describe(self) -> str:
        return self.inner.describe()

    # the long side is the inner operator's (dask arrays for dask input)
    def tall_qr(self, W: Any) -> tuple[Any, np.ndarray]:
        return self.inner.tall_qr(W)

    def tall_matmul(self, Q: Any, C: np.ndarray) -> Any:
        return self.inner.tall_matmul(Q, C)

    def tall_gram(self, X: Any, Y: Any) -> np.ndarray:
        return self.inner.tall_gram(X, Y)

    def tall_combine(self, X: Any, Y: Any, s: np.ndarray) -> Any:
        return self.inner.tall_combine(X, Y, s)

    def tall_colnorms(self, X: Any) -> np.ndarray:
        return self.inner.tall_colnorms(X)

    def tall_random(self, rng: np.random.Generator, b: int) -> Any:
        return self.inner.tall_random(rng, b)

    def tall_to_numpy(self, X: Any) -> np.ndarray:
        return self.inner.tall_to_numpy(X)

    def tall_concat(self, blocks: list[Any]) -> Any:
        return self.inner.tall_concat(blocks)

    def tall_columns(self, X: Any, idx: Any) -> Any:
        return self.inner.tall_columns(X, idx)


# ------------------------------------------------------------------------------ dense


def _sum_lanes(parts: list[np.ndarray | None]) -> np.ndarray:
    """The sum of the lanes' partial products (a lane with no rows gives None), in order."""
    present = [p for p in parts if p is not None]
    out = present[0]
    for p in present[1:]:
        out += p
    return out


class _Accumulator:
    """``Σ Bᴴ Y`` over row blocks, summed in place into one buffer per product.

    Two layouts, both measured: ``Bᵀ Y`` (``n × b``) for blocks that stay in
    cache, ``Yᴴ B`` (``b × n``, the sum held transposed) for matrices streamed
    from memory, where the products then run on ``B`` as stored (one core,
    4000×3000 in blocks of 170 rows: ``Σ Bᵀ (B X)`` 24 ms with 8 columns and 34
    ms with 16, ``Σ (Xᵀ Bᵀ) B`` 17 and 26 ms; 1536×384 in blocks of 85 rows:
    0.41 and 0.78 ms against 0.44 and 1.09 ms). A fresh array for every row
    block's product and partial sum costs, with glibc's mmap threshold at its
    floor, a page fault per 4 KiB (measured: 40 % of a dense block-Krylov run):
    NumPy's ``matmul`` into a reused buffer, then an in-place sum. (SciPy's
    ``gemm`` with ``beta = 1`` would save the sum but holds the GIL, which
    serialises the row lanes.)
    """

    def __init__(self, n: int, b: int, dtype: np.dtype, *, transposed: bool) -> None:
        self._total: np.ndarray | None = None
        self._transposed = transposed
        self._part = np.empty((b, n) if transposed else (n, b), dtype=dtype)

    def add(self, B: np.ndarray, Y: np.ndarray) -> None:
        """Add ``Bᴴ Y``; in the transposed layout ``Y`` is given as ``Yᴴ`` (``b × rows``)."""
        if self._transposed:
            part = np.matmul(Y, B, out=self._part)
        elif B.dtype.kind == "c":  # Bᴴ Y = (Yᴴ B)ᴴ, no conjugated copy of B
            part = (Y.conj().T @ B).conj().T
        else:
            part = np.matmul(B.T, Y, out=self._part)
        if self._total is None:
            self._total = part.copy()
        else:
            self._total += part

    @property
    def total(self) -> np.ndarray | None:
        """``Σ Bᴴ Y`` (``n × b``, C order), or None when no block was added."""
        if self._total is None or not self._transposed:
            return self._total
        return np.ascontiguousarray(self._total.conj().T)


class DenseOperator(Operator):
    """A NumPy array with rows in memory order (C order; float32, float64, complex).

    Products run on blocks of rows (256 KiB; 2 MiB when there are several lanes),
    split into one lane per core for matrices of at least 2²¹ entries, each lane on
    one BLAS thread: ``gram`` multiplies each block twice while it
    is in cache (``Bᴴ (B X)``), so the matrix streams from memory once per
    ``AᴴA`` product instead of twice, and no lane ever waits on another's BLAS
    barrier (measured on a loaded 2-core machine: 24 ms for ``AᴴA X`` with a
    4000×3000 ``A`` and 8 columns, against 48 ms for ``A.T @ (A @ X)`` on two BLAS
    threads). Lower-precision entries are widened to float64 block by block into
    a per-lane buffer; the complex adjoint is ``(Yᴴ B)ᴴ``, never a conjugated copy.
    A Fortran-ordered array is the C-ordered array of its transpose:
    :func:`as_operator` wraps it in a :class:`TransposeOperator`.
    """

    kind = "dense"
    fused = "gram"

    def __init__(
        self,
        a: np.ndarray,
        *,
        threads: int | None = None,
        source: Any = None,
        precision: Any = None,
    ) -> None:
        m, n = _dims(a.shape)
        super().__init__((m, n), a.dtype, a if source is None else source)
        # ``precision``: the dtype the caller's data was stored in where ``a`` is a wider
        # copy of it (float16 entries, widened to float64): the rank rule's eps
        # (``stored_precision`` runs single-precision products on float32 ``a`` only)
        coarser = precision is not None and np.dtype(precision).itemsize < a.dtype.itemsize
        self.stored_dtype = np.dtype(precision) if coarser else a.dtype
        self.stored = a  # as given: what products in the storage precision run on
        self.compute_dtype = self.dtype
        if a.dtype != self.dtype and m * n <= _WIDEN_ONCE_ENTRIES:
            # a small float32 matrix is widened once (at most 16 MiB) rather than
            # block by block on every product (384×384 float32, 32 triplets at
            # 1e-3: 10.8 → 7 ms)
            a = a.astype(self.dtype)
        self.a = a
        self.native = a.dtype == self.dtype
        per_row = n * self.dtype.itemsize
        # a lane hand-off costs tens of µs: split only matrices of ≥ 2²⁰ entries a lane
        t = max(1, min(available_cores() if threads is None else int(threads), (m * n) >> 20))
        # One lane: blocks that stay in L2 between the two products of ``gram``.
        # Several lanes: blocks 8× larger, multiplied in the transposed layout
        # (see ``_Accumulator``), or the per-block Python work (under the GIL)
        # serialises the lanes (measured, 4000×3000, interleaved runs, ``gram``
        # with 8 / 16 columns: one lane 17 / 22 ms with 256 KiB blocks; two lanes
        # 18 / 24 ms with 256 KiB, 21 / 22 ms with 2 MiB, 12.8 / 19 ms with 2 MiB
        # transposed — 26 / 29 ms transposed on one lane)
        self.streamed = t > 1
        block_bytes = 8 * _DENSE_BLOCK_BYTES if self.streamed else _DENSE_BLOCK_BYTES
        self.rows = max(1, min(m, block_bytes // per_row))
        cuts = [m * i // t for i in range(t + 1)]
        self.lanes = list(itertools.pairwise(cuts))  # contiguous row ranges

    def stored_precision(self, on: bool) -> bool:
        stored = self.stored.dtype  # (float16 entries are held widened: not single)
        single = stored in (np.dtype(np.float32), np.dtype(np.complex64))
        self.compute_dtype = stored if on and single else self.dtype
        return self.compute_dtype != self.dtype

    def _run(self, work: Any) -> list[Any]:
        with single_blas_thread():
            return parallel_map(work, range(len(self.lanes)), len(self.lanes))

    def _rows_for(self, b: int) -> int:
        """Rows per block for products with ``b`` columns: the per-block buffers of
        ``b`` columns must not dwarf the block itself."""
        return max(self.rows, min(self.shape[0], b))

    def _blocks(
        self, lane: int, rows: int | None = None, *, exact: bool = False
    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """Row blocks of a lane in the products' precision (``exact``: the working one)."""
        rows = self.rows if rows is None else rows
        ct = self.dtype if exact else self.compute_dtype
        arr = self.a if ct == self.dtype else self.stored
        buf = None if arr.dtype == ct else np.empty((rows, self.shape[1]), ct)
        a, b = self.lanes[lane]
        for i0 in range(a, b, rows):
            i1 = min(b, i0 + rows)
            if buf is None:
                yield i0, i1, arr[i0:i1]
            else:
                np.copyto(buf[: i1 - i0], arr[i0:i1], casting="unsafe")
                yield i0, i1, buf[: i1 - i0]

    def _widened(self, out: np.ndarray) -> np.ndarray:
        """A product's result in the working precision (float64 / complex128)."""
        return out if out.dtype == self.dtype else out.astype(self.dtype)

    def matmat(self, X: np.ndarray) -> np.ndarray:
        self.passes += 1
        ct = self.compute_dtype
        X = np.asarray(X, dtype=ct)
        b = X.shape[1]
        out = np.empty((self.shape[0], b), dtype=ct)
        Xt = np.ascontiguousarray(X.T) if self.streamed else np.ascontiguousarray(X)

        def work(lane: int) -> None:
            rows = self._rows_for(b)
            Zt = np.empty((b, rows), dtype=ct) if self.streamed else None
            for i0, i1, B in self._blocks(lane, rows):
                if Zt is None:
                    np.matmul(B, Xt, out=out[i0:i1])
                else:  # (B X)ᵀ = Xᵀ Bᵀ
                    out[i0:i1] = np.matmul(Xt, B.T, out=Zt[:, : i1 - i0]).T

        self._run(work)
        return self._widened(out)

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        self.passes += 1
        ct = self.compute_dtype
        Y = np.asarray(Y, dtype=ct)
        b = Y.shape[1]
        Yh = Y.conj().T if self.streamed else np.ascontiguousarray(Y)  # a view for real Y

        def work(lane: int) -> np.ndarray | None:
            acc = _Accumulator(self.shape[1], b, ct, transposed=self.streamed)
            for i0, i1, B in self._blocks(lane, self._rows_for(b)):
                acc.add(B, Yh[:, i0:i1] if self.streamed else Yh[i0:i1])
            return acc.total

        return self._widened(_sum_lanes(self._run(work)))

    def gram(self, X: np.ndarray) -> np.ndarray:
        return self._gram(X, keep=False)[1]

    def gram_pair(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._gram(X, keep=True)

    def _gram(self, X: np.ndarray, *, keep: bool) -> tuple[np.ndarray | None, np.ndarray]:
        """``Aᴴ (A X)`` block by block; with ``keep``, ``A X`` is kept (rows of ``W``)."""
        self.passes += 1
        ct = self.compute_dtype
        X = np.asarray(X, dtype=ct)
        b = X.shape[1]
        W = np.empty((self.shape[0], b), dtype=ct) if keep else None
        t = self.streamed
        Xt = np.ascontiguousarray(X.T) if t else np.ascontiguousarray(X)
        cplx = self.dtype.kind == "c"

        def work(lane: int) -> np.ndarray | None:
            acc = _Accumulator(self.shape[1], b, ct, transposed=t)
            rows = self._rows_for(b)
            P = np.empty((b, rows) if t else (rows, b), dtype=ct)
            for i0, i1, B in self._blocks(lane, rows):
                if not t:
                    z = W[i0:i1] if W is not None else P[: i1 - i0]
                    acc.add(B, np.matmul(B, Xt, out=z))
                    continue
                z = np.matmul(Xt, B.T, out=P[:, : i1 - i0])  # (B X)ᵀ
                if W is not None:
                    W[i0:i1] = z.T
                acc.add(B, np.conjugate(z, out=z) if cplx else z)  # (B X)ᴴ B
            return acc.total

        G = self._widened(_sum_lanes(self._run(work)))
        return (None if W is None else self._widened(W)), G

    def _whole(self) -> np.ndarray | None:
        """The whole array in the products' precision, if it is held so (no copy)."""
        ct = self.compute_dtype
        for arr in (self.a, self.stored):
            if arr.dtype == ct:
                return arr
        return None

    def gram_matrix(self, block: int = 64) -> np.ndarray:
        self.passes += 1
        arr = self._whole()
        if arr is None:  # float32 entries, float64 products: widened block by block
            G = np.zeros((self.shape[1], self.shape[1]), dtype=self.compute_dtype)
            for lane in range(len(self.lanes)):
                for _, _, B in self._blocks(lane):
                    G += B.conj().T @ B
            return G
        return arr.conj().T @ arr  # NumPy calls syrk / herk for a product with its adjoint

    def cogram_matrix(self, block: int = 64) -> np.ndarray:
        """``A Aᴴ = Σ_J A[:, J] A[:, J]ᴴ``: one pass over the array.

        Held in the products' precision, one product with its adjoint (``syrk`` /
        ``herk``); float32 entries with float64 products are widened a strip of
        columns at a time (about 16 MiB), never the whole array (1900×2000 float32,
        ``k = 20``, tol 1e-6: the run 1.65 s and 4 passes, where products on blocks of
        the identity took 3.5 s and 63 passes, on a loaded 2-core machine).
        """
        self.passes += 1
        arr = self._whole()
        if arr is not None:
            return arr @ arr.conj().T
        m, n = self.shape
        ct = self.compute_dtype
        width = max(1, min(n, _BLOCK_BYTES // (m * ct.itemsize)))
        G = np.zeros((m, m), dtype=ct)
        part = np.empty((m, m), dtype=ct)
        strip = np.empty((m, width), dtype=ct)
        for j0 in range(0, n, width):
            j1 = min(n, j0 + width)
            B = strip[:, : j1 - j0]
            np.copyto(B, self.stored[:, j0:j1], casting="unsafe")
            G += np.matmul(B, B.conj().T, out=part)
        return G

    def fro_norm(self) -> float:
        if self.native:
            with _quiet():
                norm = float(np.linalg.norm(self.a))
            if _squares_safe(norm * norm):
                return norm
        # float32 entries, or a scale whose squares over- or underflow: by blocks
        return self.fro_squares().norm()

    def fro_squares(self) -> SquareSum:
        total = SquareSum()
        for lane in range(len(self.lanes)):
            for _, _, B in self._blocks(lane, exact=True):
                total.add(B)
        return total

    def reconstruction_error(self, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
        US = U * s
        total = SquareSum()
        with single_blas_thread():
            for lane in range(len(self.lanes)):
                for i0, i1, B in self._blocks(lane, exact=True):
                    total.add(B - US[i0:i1] @ Vh)
        return total.norm()


# ------------------------------------------------------------------------------ sparse


def _check_compressed(csr: Any, fmt: str) -> None:
    """Raise :class:`~svdkit.ShapeError` if the index arrays of ``csr`` do not describe a
    matrix of its shape: SciPy's product kernels trust them (an index out of range
    crashed the process). No copy (SciPy's ``check_format`` copies int64 indices)."""
    ind, ptr = csr.indices, csr.indptr
    nnz = int(ptr[-1]) if ptr.size else -1
    bad = ptr.size != csr.shape[0] + 1 or ptr[0] != 0 or not 0 <= nnz <= ind.size
    if not bad and nnz:
        lo, hi = ind[:nnz].min(), ind[:nnz].max()
        bad = lo < 0 or hi >= csr.shape[1] or bool(np.any(ptr[1:] < ptr[:-1]))
    if bad:
        raise ShapeError(
            f"A is not a valid {fmt.upper()} matrix: its indptr or indices are out of range "
            "for its shape (SciPy's check_format(full_check=True) says where)"
        )


def _sharing(cls: Any, shape: tuple[int, int], data: Any, indices: Any, indptr: Any) -> Any:
    """A SciPy CSR/CSC matrix on these arrays, without a copy.

    The constructor copies ("prunes") arrays that are slices of less than half their
    base — every row chunk of a matrix cut in several — so the arrays are set after
    building an empty matrix (measured: 115 MiB of copies for 10⁷ entries).
    """
    out = cls(shape, dtype=data.dtype)
    out.data, out.indices, out.indptr = data, indices, indptr
    for flag in ("_has_sorted_indices", "_has_canonical_format"):
        out.__dict__.pop(flag, None)  # (those of the empty matrix: recomputed if asked)
    return out


class SparseOperator(Operator):
    """A SciPy CSR or CSC matrix, multiplied on row chunks by several threads.

    A CSC matrix is handled as the CSR matrix of its transpose (a view). The CSR
    rows are cut into chunks of at most 4·10⁶ stored entries that share the
    arrays of the matrix (views, no copy). ``A X`` fills disjoint row ranges of
    the output; ``Aᴴ Y`` sums one partial product per thread, in a fixed order
    (deterministic). ``gram`` multiplies each chunk twice while it is in cache.
    """

    kind = "sparse"

    def __init__(self, a: Any, *, threads: int | None = None, source: Any = None) -> None:
        import scipy.sparse as sp

        m, n = _dims(a.shape)
        super().__init__((m, n), a.dtype, a if source is None else source)
        self.stored_dtype = a.dtype
        fmt = a.format
        if fmt == "csc":
            csr = sp.csr_matrix((a.data, a.indices, a.indptr), shape=(n, m))
            self.transposed = True
        else:
            if fmt != "csr":
                a = a.tocsr()
            csr = sp.csr_matrix((a.data, a.indices, a.indptr), shape=(m, n))
            self.transposed = False
        _check_compressed(csr, fmt)
        self.csr = csr
        self.fused = "cogram" if self.transposed else "gram"
        self.threads = max(1, available_cores() if threads is None else int(threads))
        self.nnz = int(csr.nnz)
        self.chunks = self._cut(csr)
        # a lane per thread, a chunk at least per lane (threads=10**9 built 10⁹ lanes)
        self.threads = min(self.threads, len(self.chunks))

    def _cut(self, csr: Any) -> list[tuple[int, int, Any, Any]]:
        import scipy.sparse as sp

        rows = csr.shape[0]
        parts = max(self.threads, math.ceil(self.nnz / _SPARSE_CHUNK_NNZ))
        parts = min(rows, math.ceil(parts / self.threads) * self.threads)
        targets = np.linspace(0, self.nnz, parts + 1)[1:-1]
        cuts = np.unique(np.concatenate([[0], np.searchsorted(csr.indptr, targets), [rows]]))
        chunks = []
        for r0, r1 in itertools.pairwise(cuts):
            s, e = csr.indptr[r0], csr.indptr[r1]
            ip = csr.indptr[r0 : r1 + 1] - s
            rows_c, cols = int(r1 - r0), csr.shape[1]
            data, indices = csr.data[s:e], csr.indices[s:e]
            chunk = _sharing(sp.csr_matrix, (rows_c, cols), data, indices, ip)
            # its transpose made once: SciPy's .T would go through the constructor
            # (a copy of the chunk) at every Rᴴ product
            chunk_t = _sharing(sp.csc_matrix, (cols, rows_c), data, indices, ip)
            chunks.append((int(r0), int(r1), chunk, chunk_t))
        return chunks

    # R = the CSR matrix (A, or Aᵀ for CSC input). R X gathers; Rᴴ Y reduces.
    def _groups(self, b: int) -> list[slice]:
        g = _SPARSE_COLUMN_GROUP
        return [slice(j, min(b, j + g)) for j in range(0, b, g)] or [slice(0, 0)]

    def _r_mul(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=self.dtype)
        out = np.empty((self.csr.shape[0], X.shape[1]), dtype=self.dtype)
        # one contiguous group of columns at a time: a copy of n × 8, not of all X
        for g in self._groups(X.shape[1]):
            Xg = np.ascontiguousarray(X[:, g])

            def work(chunk: tuple[int, int, Any, Any], g: slice = g, Xg: np.ndarray = Xg) -> None:
                r0, r1, c, _ = chunk
                out[r0:r1, g] = c @ Xg

            parallel_map(work, self.chunks, self.threads)
        return out

    def _rh_mul(self, Y: np.ndarray) -> np.ndarray:
        Y = np.asarray(Y, dtype=self.dtype)
        cplx = self.dtype.kind == "c"
        if cplx:
            Y = Y.conj()
        lanes = [self.chunks[t :: self.threads] for t in range(self.threads)]
        out = np.empty((self.csr.shape[1], Y.shape[1]), dtype=self.dtype)
        # one group of columns at a time: each lane's partial sum is then n × 8, not
        # n × b (n is the long side for a wide CSR matrix, whose certificate has b = k)
        for g in self._groups(Y.shape[1]):

            def work(lane: list[tuple[int, int, Any, Any]], g: slice = g) -> np.ndarray | None:
                acc = None
                for r0, r1, _, ct in lane:
                    part = ct @ np.ascontiguousarray(Y[r0:r1, g])
                    if acc is None:
                        acc = part
                    else:
                        acc += part
                return acc

            out[:, g] = _sum_lanes(parallel_map(work, lanes, self.threads))
        return out.conj() if cplx else out

    def _rh_r_mul(self, X: np.ndarray, keep: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
        """``(R X, Rᴴ R X)``, one chunk at a time (the chunk is read once for both
        products); ``R X`` is kept only when asked."""
        X = np.asarray(X, dtype=self.dtype)
        cplx = self.dtype.kind == "c"
        b = X.shape[1]
        groups = self._groups(b)
        Xg = [np.ascontiguousarray(X[:, g]) for g in groups]
        lanes = [self.chunks[t :: self.threads] for t in range(self.threads)]
        W = np.empty((self.csr.shape[0], b), dtype=self.dtype) if keep else None

        def work(lane: list[tuple[int, int, Any, Any]]) -> np.ndarray | None:
            acc = None
            for r0, r1, c, ct in lane:
                part = np.empty((self.csr.shape[1], b), dtype=self.dtype)
                for g, x in zip(groups, Xg, strict=True):
                    z = c @ x
                    if W is not None:
                        W[r0:r1, g] = z
                    part[:, g] = (ct @ z.conj()).conj() if cplx else ct @ z
                acc = part if acc is None else acc + part
            return acc

        return W, _sum_lanes(parallel_map(work, lanes, self.threads))

    def matmat(self, X: np.ndarray) -> np.ndarray:
        self.passes += 1
        return self._rh_mul_conj(X) if self.transposed else self._r_mul(X)

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        self.passes += 1
        return self._r_mul_conj(Y) if self.transposed else self._rh_mul(Y)

    # For CSC input A = Rᵀ: A X = Rᵀ X = conj(Rᴴ conj X); Aᴴ Y = conj(R) Y = conj(R conj Y).
    def _rh_mul_conj(self, X: np.ndarray) -> np.ndarray:
        if self.dtype.kind != "c":
            return self._rh_mul(X)
        return self._rh_mul(np.asarray(X, dtype=self.dtype).conj()).conj()

    def _r_mul_conj(self, Y: np.ndarray) -> np.ndarray:
        if self.dtype.kind != "c":
            return self._r_mul(Y)
        return self._r_mul(np.asarray(Y, dtype=self.dtype).conj()).conj()

    def gram(self, X: np.ndarray) -> np.ndarray:
        if self.transposed:
            return super().gram(X)
        self.passes += 1
        return self._rh_r_mul(X)[1]

    def gram_pair(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.transposed:
            return super().gram_pair(X)
        self.passes += 1
        W, G = self._rh_r_mul(X, keep=True)
        assert W is not None
        return W, G

    def cogram(self, Y: np.ndarray) -> np.ndarray:
        if not self.transposed:
            return super().cogram(Y)
        self.passes += 1
        # A Aᴴ = Rᵀ conj(R) = conj(Rᴴ R) on conj(Y)
        if self.dtype.kind != "c":
            return self._rh_r_mul(Y)[1]
        return self._rh_r_mul(np.asarray(Y, dtype=self.dtype).conj())[1].conj()

    def fro_norm(self) -> float:
        return _norm(deduplicated(self.csr).data)

    def fro_squares(self) -> SquareSum:
        total = SquareSum()
        total.add(deduplicated(self.csr).data)
        return total

    def reconstruction_error(self, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
        # ‖A − UΣVᴴ‖² on row chunks of R (densified one bounded piece at a time).
        if self.transposed:  # R = Aᵀ = conj(V) Σ Uᵀ
            left, right = (Vh.conj().T * s).conj(), U.T
        else:
            left, right = U * s, Vh
        total = SquareSum()
        width = self.csr.shape[1]
        step = max(1, _BLOCK_BYTES // (self.dtype.itemsize * width))
        for r0 in range(0, self.csr.shape[0], step):
            r1 = min(self.csr.shape[0], r0 + step)
            total.add(self.csr[r0:r1].toarray().astype(self.dtype) - left[r0:r1] @ right)
        return total.norm()


# ------------------------------------------------------------------------------ LinearOperator


#: SciPy's LinearOperators that are another one's adjoint or transpose: their
#: ``A x`` is the other's ``Aᴴ y``, and the other way round.
_SWAPPED_OPERATORS = ("_AdjointLinearOperator", "_TransposedLinearOperator")

#: SciPy's LinearOperators built from others (sum, product, scaled, power): a
#: product they lack is one an operand lacks.
_COMPOSED_OPERATORS = (
    "_SumLinearOperator",
    "_ProductLinearOperator",
    "_ScaledLinearOperator",
    "_PowerLinearOperator",
)


def _lacks_product(L: Any, adjoint: bool) -> bool:
    """Whether ``L`` was given no way to compute ``Aᴴ y`` (``adjoint``) or ``A x``.

    SciPy (1.17) builds ``LinearOperator(shape, matvec=f)`` as a
    ``_CustomLinearOperator`` whose missing ``rmatvec`` and ``rmatmat`` are
    ``None``: its ``rmatmat`` then calls ``None`` (a TypeError) deep inside. A
    subclass lacks the adjoint when it overrides none of ``_rmatvec``,
    ``_rmatmat`` and ``_adjoint`` (SciPy's defaults raise NotImplementedError).
    Adjoints, transposes, sums, products and powers lack what their operands do.
    """
    from scipy.sparse.linalg import LinearOperator

    if not isinstance(L, LinearOperator):
        return not callable(getattr(L, "rmatmat" if adjoint else "matmat", None))
    name = type(L).__name__
    if name in _SWAPPED_OPERATORS:
        return _lacks_product(L.args[0], not adjoint)
    if name in _COMPOSED_OPERATORS:
        return any(_lacks_product(a, adjoint) for a in L.args if isinstance(a, LinearOperator))
    products = ("rmatvec", "rmatmat") if adjoint else ("matvec", "matmat")
    if name == "_CustomLinearOperator":
        return all(getattr(L, f"_CustomLinearOperator__{p}_impl", 0) is None for p in products)
    hooks = ("_rmatvec", "_rmatmat", "_adjoint") if adjoint else ("_matvec", "_matmat")
    return all(getattr(type(L), h, None) is getattr(LinearOperator, h) for h in hooks)


def _ldexp(a: np.ndarray, e: int) -> np.ndarray:
    """``a · 2**e``, exactly (real and imaginary parts apart: ``np.ldexp`` takes no
    complex); an exponent beyond float64's range is applied in steps."""
    if a.dtype.kind == "c":
        return _ldexp(a.real, e) + 1j * _ldexp(a.imag, e)
    while e:  # (2**±1074 spans every finite float64; steps keep the factor finite)
        step = max(-1000, min(1000, e))
        a, e = np.ldexp(a, step), e - step
    return a


def _no_adjoint_error(method: str | None = None) -> SvdkitError:
    from svdkit.lowrank._common import advised

    asked = f", which the {method} method needs" if method else ""
    return advised(
        SvdkitError,
        f"the LinearOperator has no adjoint product (no rmatvec or rmatmat){asked}: every "
        "method but 'lapack' multiplies by Aᴴ; ",
        "give it an rmatvec (or rmatmat), or use {method:lapack} (A densified by n "
        "products with it)",
    )


class LinearOperatorAdapter(Operator):
    """A ``scipy.sparse.linalg.LinearOperator`` (or anything with ``matmat``/``rmatmat``).

    One given only ``matvec`` (no ``rmatvec``, ``rmatmat`` or adjoint) serves
    ``method="lapack"`` alone: :meth:`require` says so before any product.

    Before its first adjoint product it checks that ``rmatmat`` is the adjoint of
    ``matmat`` (:meth:`check_adjoint`: two products with two random columns each,
    counted in ``passes``). A product that returns a SciPy sparse matrix is taken as
    the dense array it stands for.
    """

    kind = "linear_operator"

    #: :meth:`check_adjoint` refuses a relative mismatch above this (at least; it
    #: grows as ``√size`` with the rounding of float32 products).
    ADJOINT_TOL = 1e-3

    def __init__(self, L: Any) -> None:
        m, n = _dims(L.shape)
        dtype = getattr(L, "dtype", None)
        super().__init__((m, n), np.float64 if dtype is None else dtype, L)
        self.L = L
        self.stored_dtype = np.dtype(np.float64 if dtype is None else dtype)
        self.has_forward = not _lacks_product(L, adjoint=False)
        self.has_adjoint = not _lacks_product(L, adjoint=True)
        self.adjoint_checked = False

    def require(self, method: str) -> None:
        if not self.has_forward:
            raise SvdkitError(
                "the LinearOperator has no product with A (no matvec or matmat); "
                "every method multiplies by A"
            )
        if method != "lapack" and not self.has_adjoint:
            raise _no_adjoint_error(method)

    def _call(self, fn: Any, X: np.ndarray, rows: int, what: str) -> np.ndarray:
        from scipy.sparse import issparse  # (a LinearOperator has imported SciPy)

        if X.shape[1] == 0:
            # a product with no columns is empty: SciPy's matmat built from a matvec
            # would hstack nothing (a ValueError, not the user's fault)
            return np.zeros((rows, 0), dtype=self.dtype)
        try:
            out = fn(np.asarray(X, dtype=self.dtype))
            if issparse(out):  # (np.asarray would wrap it as a 0-d object array)
                out = out.toarray()
            raw, out = out, np.asarray(out)
        except SvdkitError:
            raise
        except ValueError as err:
            # SciPy reshapes what matvec / rmatvec return to the operator's shape: a
            # vector of the wrong length surfaced as its bare "cannot reshape array
            # of size 299 into shape (300,1)"
            vec = "matvec" if what == "matmat" else "rmatvec"
            raise ShapeError(
                f"the {self.shape[0]}×{self.shape[1]} LinearOperator's {what} failed "
                f"({err}); its {what} (or {vec}) must return {rows} rows"
            ) from err
        if out.dtype.hasobject:
            # not an array of numbers: name what it is, not the 0-d wrapper's shape ()
            shape = getattr(raw, "shape", None)
            shown = f" of shape {tuple(shape)}" if shape is not None else ""
            raise ShapeError(
                f"the LinearOperator's {what} returned a {type(raw).__name__}{shown}, "
                f"not an array of numbers; expected a NumPy array of shape "
                f"{(rows, X.shape[1])}"
            )
        if out.ndim == 1:
            out = out.reshape(-1, 1)
        if out.shape != (rows, X.shape[1]):
            raise ShapeError(
                f"the LinearOperator's {what} returned shape {out.shape}; "
                f"expected {(rows, X.shape[1])}"
            )
        if out.dtype.kind == "c" and self.dtype.kind != "c":
            raise ShapeError(
                f"the LinearOperator's {what} returned complex values but its dtype is real"
            )
        if not np.all(np.isfinite(out)):
            raise NonFiniteError(f"the LinearOperator's {what} returned a non-finite value")
        return out.astype(self.dtype, copy=False)

    def matmat(self, X: np.ndarray) -> np.ndarray:
        self.passes += 1
        return self._call(self.L.matmat, X, self.shape[0], "matmat")

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        try:
            if not self.adjoint_checked:
                self.check_adjoint()
            self.passes += 1
            return self._call(self.L.rmatmat, Y, self.shape[1], "rmatmat")
        except NotImplementedError:  # SciPy's answer where no adjoint was given
            raise _no_adjoint_error() from None

    def check_adjoint(self) -> None:
        """Refuse an ``rmatmat`` that is not the adjoint of ``matmat`` (the dot test).

        With random ``X`` (``n × 2``) and ``Y`` (``m × 2``), ``Yᴴ (A X)`` must equal
        ``(Aᴴ Y)ᴴ X``. The mismatch is measured against the size these products have
        for random vectors, ``‖A X‖ ‖Y‖ / √m + ‖X‖ ‖Aᴴ Y‖ / √n``: a wrong adjoint (a
        transpose without the conjugate, permuted or rescaled entries) gives a
        mismatch of the order of the difference, relative to ``‖A‖``, whatever the
        size; honest rounding, even of products computed in float32, stays below
        :data:`ADJOINT_TOL` (``1e-3``; ``30 · eps₃₂ · √max(m, n)`` where larger).
        Both products are first brought to unit size by one power of two (exact; the
        test is scale-invariant), so the norms neither underflow nor overflow: a wrong
        adjoint is named at 1e-300 as at 1e300. Two products (counted in ``passes``),
        once per operator; a fixed seed of its own, so the run's random start is the
        same as without it.

        Raises
        ------
        SvdkitError
            The two inner products differ by more than that.
        """
        self.adjoint_checked = True
        m, n = self.shape
        g = np.random.default_rng(0x5EED)

        def draw(rows: int) -> np.ndarray:
            x = g.standard_normal((rows, 2))
            if self.dtype.kind == "c":
                x = x + 1j * g.standard_normal((rows, 2))
            return x.astype(self.dtype)

        X, Y = draw(n), draw(m)
        self.passes += 2
        AX = self._call(self.L.matmat, X, m, "matmat")
        AhY = self._call(self.L.rmatmat, Y, n, "rmatmat")
        # both products brought to unit size by one power of two (exact, and the test is
        # scale-invariant): norms square their entries, and at 1e-165 or 1e160 the
        # mismatch underflowed to 0 or the size overflowed to inf — a wrong adjoint
        # passed, and the run never converged
        wide = np.result_type(self.dtype, np.float64)
        AX, AhY = AX.astype(wide), AhY.astype(wide)
        peak = max(float(np.abs(AX).max(initial=0.0)), float(np.abs(AhY).max(initial=0.0)))
        e = int(np.frexp(peak)[1]) if peak > 0 else 0
        AX, AhY = _ldexp(AX, -e), _ldexp(AhY, -e)
        with np.errstate(all="ignore"):  # (underflow of the small side: it is the mismatch)
            left, right = Y.conj().T @ AX, AhY.conj().T @ X
            diff = float(np.linalg.norm(left - right))
            size = float(
                np.linalg.norm(AX) * np.linalg.norm(Y) / math.sqrt(m)
                + np.linalg.norm(X) * np.linalg.norm(AhY) / math.sqrt(n)
            )
        limit = max(self.ADJOINT_TOL, 30 * float(np.finfo(np.float32).eps) * math.sqrt(max(m, n)))
        if diff > limit * size:
            with np.errstate(all="ignore"):  # (the values as they are, back at A's scale)
                a, b = complex(_ldexp(left[:1, :1], e)[0, 0]), complex(
                    _ldexp(right[:1, :1], e)[0, 0]
                )
            if self.dtype.kind != "c":
                a, b = a.real, b.real  # type: ignore[assignment]
            raise SvdkitError(
                f"the {m}×{n} LinearOperator's rmatvec (or rmatmat) is not the adjoint of its "
                f"matvec (or matmat): for random x and y, ⟨A x, y⟩ = {a:.6g} "
                f"but ⟨x, Aᴴ y⟩ = {b:.6g} (a mismatch of {diff / size:.1e} "
                f"relative to the products, more than rounding's {limit:.0e}); rmatvec(y) "
                "must return Aᴴ y, the conjugate transpose (A.conj().T @ y), in the order "
                "and scale of matvec's A"
            )


# ------------------------------------------------------------------------------ out of core


def _npy_header(path: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and data offset of a ``.npy`` file (no data read),
    checked by the front door's one header reader
    (:func:`svdkit.inputs.files.read_npy_header`), and a numeric dtype. A file shorter
    than its header says is the truncated file that :class:`RowBlockOperator` names,
    row by row."""
    from svdkit.inputs.files import read_npy_header

    shape, fortran, dtype, offset = read_npy_header(path)
    if dtype.hasobject:
        raise FileFormatError(f"'{path}' holds Python objects; svdkit never unpickles files")
    if dtype.kind not in "biufc":
        raise FileFormatError(f"'{path}' holds dtype {dtype}, which is not numeric")
    return shape, fortran, dtype, offset


class RowBlockOperator(Operator):
    """A matrix larger than memory, read a block of rows at a time.

    Built from a ``.npy`` file (read with ``readinto`` into one reused buffer: the
    process never holds more than ``memory_limit`` bytes of the matrix) or from
    an ``np.memmap`` / read-only array (sliced by rows). A Fortran-ordered file is
    the C-ordered file of ``Aᵀ``: :func:`as_operator` wraps it in an adjoint.

    ``gram(X) = Σ_blocks Bᴴ (B X)`` reads the file once; ``A X`` and ``Aᴴ Y`` read it
    once each. Entries are checked for NaN and infinity during the first pass.
    ``transposed``: the operator reads the stored ``Aᵀ`` of a Fortran-ordered
    ``A``; its messages then name rows, columns and shape as the caller's ``A`` has them.
    """

    kind = "row_blocks"
    fused = "gram"

    def __init__(
        self,
        source: Any,
        *,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        shape: tuple[int, int] | None = None,
        stored_dtype: Any = None,
        offset: int = 0,
        transposed: bool = False,
    ) -> None:
        self.transposed = transposed
        if isinstance(source, str | os.PathLike):
            self.path: str | None = os.fspath(source)
            self.array = None
            assert shape is not None and stored_dtype is not None
            m, n = _dims(shape)
            self.stored_dtype = np.dtype(stored_dtype)
            self.offset = int(offset)
        else:
            self.path = None
            self.array = source
            m, n = _dims(source.shape)
            self.stored_dtype = np.dtype(source.dtype)
            self.offset = 0
        super().__init__((m, n), self.stored_dtype, source)
        if self.stored_dtype.kind in "biu":
            self.dtype = np.dtype(np.float64)
        self.memory_limit = int(memory_limit)
        # what a row costs in memory: its working-precision copy (the block handed
        # out), and, for a file whose stored dtype differs (float32, int, big-endian),
        # the buffer it is read into first; a file already in the working dtype is
        # read straight into the block, and a memmap's rows are the operating
        # system's pages, not this process's buffers
        self._staged = self.path is not None and self.stored_dtype != self.dtype
        per_row = n * (self.dtype.itemsize + (self.stored_dtype.itemsize if self._staged else 0))
        self.block_rows = max(1, min(m, self.memory_limit // max(1, per_row)))
        if self.path is not None:
            self._check_size()  # a short file first: no memory_limit can read it whole
        if self.memory_limit < per_row:
            line, shape = ("column", f"{n}×{m}") if transposed else ("row", f"{m}×{n}")
            order = " (Fortran order: it is read by columns)" if transposed else ""
            what = (
                f"{n * self.stored_dtype.itemsize} bytes as stored, {per_row} with its "
                f"{self.dtype} copy"
                if self._staged
                else f"{per_row} bytes"
            )
            raise ShapeError(
                f"{kw('memory_limit', self.memory_limit)} bytes cannot hold one {line} of "
                f"the {shape} matrix{order} ({what}); raise it",
                param="memory_limit",
            )
        self._file: Any = None
        self._raw: np.ndarray | None = None
        self._wide: np.ndarray | None = None
        self.validated = False
        self.peak_block_bytes = 0

    def _check_size(self) -> None:
        """A file shorter than its header says: refused before any product, naming the
        rows that are missing (the read of the first short block named all of its rows,
        "rows 1–4000 could not be read" of a file holding 2000 of them whole)."""
        m, n = self.shape
        row = n * self.stored_dtype.itemsize
        held = os.path.getsize(self.path) - self.offset  # type: ignore[arg-type]
        if held >= m * row:
            return
        whole = max(0, held) // row if row else m
        line, shape = ("column", f"{n}×{m}") if self.transposed else ("row", f"{m}×{n}")
        missing = f"{line} {m} is" if whole + 1 == m else f"{line}s {whole + 1}–{m} are"
        raise FileFormatError(
            f"'{self.path}' is truncated: its header announces a {shape} {self.stored_dtype} "
            f"matrix ({m * row:,} bytes of data) but it holds {max(0, held):,}: {missing} "
            "missing"
        )

    def _open(self) -> Any:
        if self._file is None:
            self._file = open(self.path, "rb")  # closed in close()
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._raw = self._wide = None

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    def blocks(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """``(r0, r1, block)`` over the rows, ``block`` in the working precision.

        The block is a view of a reused buffer: valid until the next one is read.
        """
        m, n = self.shape
        rows = self.block_rows
        if self._wide is None:
            self._wide = np.empty((rows, n), dtype=self.dtype)
            if self._staged:
                self._raw = np.empty((rows, n), dtype=self.stored_dtype)
            elif self.path is not None:
                self._raw = self._wide  # (read straight into the block: no second buffer)
            self.peak_block_bytes = self._wide.nbytes + (
                self._raw.nbytes if self._staged and self._raw is not None else 0
            )
        for r0 in range(0, m, rows):
            r1 = min(m, r0 + rows)
            wide = self._wide[: r1 - r0]
            staged = self._raw[: r1 - r0] if self._staged and self._raw is not None else wide
            raw = self._read(r0, r1, wide, staged)
            if not self.validated:
                self._check_finite(wide, r0, raw)
            yield r0, r1, wide
        self.validated = True

    def _read(
        self, r0: int, r1: int, wide: np.ndarray, raw: np.ndarray | None, c0: int = 0
    ) -> np.ndarray:
        """Rows ``r0:r1`` (columns ``c0:c0 + wide.shape[1]``) into ``wide``, in the working
        precision; ``raw`` is the stored-dtype buffer a file is read into first (``wide``
        itself for a file stored in the working dtype). Returns the stored rows."""
        n = self.shape[1]
        c1 = c0 + wide.shape[1]
        if self.path is None:
            raw = self.array[r0:r1, c0:c1]
        else:
            assert raw is not None
            f = self._open()
            size = self.stored_dtype.itemsize
            # whole rows: one read; a strip of columns: one read per row
            pieces = [raw] if c1 - c0 == n else list(raw)
            for i, piece in enumerate(pieces):
                f.seek(self.offset + ((r0 + i) * n + c0) * size)
                if f.readinto(memoryview(piece).cast("B")) != piece.nbytes:
                    lines = "columns" if self.transposed else "rows"
                    raise FileFormatError(
                        f"'{self.path}' is truncated: {lines} {r0 + 1}–{r1} could not be read"
                    )
        if raw is not wide:  # (else read into the block itself)
            with np.errstate(over="ignore", invalid="ignore"):
                # a long double beyond float64's range becomes inf here: _check_finite
                # names it as the overflow it is, not as a non-finite entry of the file
                np.copyto(wide, raw, casting="unsafe")
        return raw

    def _check_finite(self, block: np.ndarray, r0: int, raw: np.ndarray, c0: int = 0) -> None:
        """Refuse the first non-finite entry of ``block`` (the working-precision copy
        of the stored rows ``raw``, from column ``c0`` on): a NaN or infinity of the
        matrix, or a finite stored value (a long double) that overflows the working dtype."""
        if not np.isfinite(block).all():
            i, j = (int(x) for x in np.argwhere(~np.isfinite(block))[0])
            name = f"'{self.path}'" if self.path else "A"
            j += c0
            row, col = (j + 1, r0 + i + 1) if self.transposed else (r0 + i + 1, j + 1)
            value = raw[i, j - c0]
            if np.isfinite(value):
                raise NonFiniteError(
                    f"{name}: the entry at row {row}, column {col} ({value.item()!r}) "
                    f"overflows {self.dtype}"
                )
            raise NonFiniteError(
                f"{name} has a non-finite entry at row {row}, column {col}: "
                f"{block[i, j - c0].item()!r}; svdkit needs finite numbers"
            )

    def matmat(self, X: np.ndarray) -> np.ndarray:
        self.passes += 1
        X = np.asarray(X, dtype=self.dtype)
        out = np.empty((self.shape[0], X.shape[1]), dtype=self.dtype)
        for r0, r1, B in self.blocks():
            out[r0:r1] = B @ X
        return out

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        self.passes += 1
        Y = np.asarray(Y, dtype=self.dtype)
        out = np.zeros((self.shape[1], Y.shape[1]), dtype=self.dtype)
        for r0, r1, B in self.blocks():
            out += B.conj().T @ Y[r0:r1] if self.dtype.kind == "c" else B.T @ Y[r0:r1]
        return out

    def gram(self, X: np.ndarray) -> np.ndarray:
        self.passes += 1
        X = np.asarray(X, dtype=self.dtype)
        out = np.zeros((self.shape[1], X.shape[1]), dtype=self.dtype)
        for _, _, B in self.blocks():
            Z = B @ X
            out += B.conj().T @ Z if self.dtype.kind == "c" else B.T @ Z
        return out

    def gram_matrix(self, block: int = 64) -> np.ndarray:
        """``AᴴA = Σ_blocks Bᴴ B``: one read of the file (the default, ``gram`` on blocks
        of the identity, read it once per ``block`` columns)."""
        self.passes += 1
        n = self.shape[1]
        out = np.zeros((n, n), dtype=self.dtype)
        part = np.empty((n, n), dtype=self.dtype)
        for _, _, B in self.blocks():
            out += np.matmul(B.conj().T if self.dtype.kind == "c" else B.T, B, out=part)
        return out

    def cogram_matrix(self, block: int = 64) -> np.ndarray:
        """``A Aᴴ`` (``m × m``, for a wide file) within ``memory_limit``.

        Three routes, the cheapest the limit allows (the row buffers of the other
        products are let go first, so that no more than the limit is held):

        * all ``m`` rows fit: one read, ``B Bᴴ``;
        * a strip of columns of all rows fits, ``w = memory_limit / (m · bytes an
          entry)`` columns, and its ``m`` read calls a strip cost less than the extra
          reads of the next route (:func:`_strips_cheaper`): one read,
          ``Σ_J A[:, J] A[:, J]ᴴ`` (the file is read a row segment at a time;
          60×400000 float64 at 16 MiB, ``k = 10``: 12 strips, the run 1.9 s and a
          traced peak of 198 MiB, against 7.4 s and 382 MiB by products on blocks of
          the identity, two reads a block);
        * else pairs of row blocks, each half the limit: ``G[I, J] = B_I B_Jᴴ``, one
          partial read of the file per block ``I`` (counted as a pass each).
        """
        m, n = self.shape
        self._raw = self._wide = None  # (reallocated by the next product)
        entry = self.dtype.itemsize + (self.stored_dtype.itemsize if self._staged else 0)
        width = min(n, self.memory_limit // (m * entry))
        rows = self.memory_limit // (2 * n * entry)  # (two blocks of them held)
        G = np.zeros((m, m), dtype=self.dtype)
        if width >= 1 and (
            rows == 0 or _strips_cheaper(m, n, width, rows, self.stored_dtype.itemsize)
        ):
            self.passes += 1
            self._strips(G, width)
        else:  # (not even one column of m fits: two rows, at most twice the limit)
            self._row_pairs(G, max(1, rows))
        self.validated = True
        return G

    def _buffers(self, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Flat buffers for ``rows × cols`` blocks (working and stored precision; the
        latter None for a memmap): :func:`_first` views them C-contiguous at any width."""
        wide = np.empty(rows * cols, dtype=self.dtype)
        raw = np.empty(rows * cols, dtype=self.stored_dtype) if self._staged else wide
        self.peak_block_bytes = max(
            self.peak_block_bytes, wide.nbytes + (raw.nbytes if self._staged else 0)
        )
        return wide, None if self.path is None else raw

    def _strips(self, G: np.ndarray, width: int) -> None:
        """``G += Σ_J A[:, J] A[:, J]ᴴ`` over strips of ``width`` columns (one read).

        Complex strips are multiplied by BLAS ``zherk`` on the strip as stored (``B Bᴴ``
        by NumPy would make a conjugated copy of it: twice the limit)."""
        from scipy.linalg.blas import zherk

        m, n = self.shape
        wide, raw = self._buffers(m, width)
        cplx = self.dtype.kind == "c"
        part = np.empty_like(G) if not cplx else None
        H = np.zeros((m, m), dtype=G.dtype, order="F") if cplx else None
        for c0 in range(0, n, width):
            w = min(width, n - c0)
            B = _first(wide, m, w)
            got = self._read(0, m, B, None if raw is None else _first(raw, m, w), c0)
            if not self.validated:
                self._check_finite(B, 0, got, c0)
            if H is None:
                G += np.matmul(B, B.T, out=part)
            else:  # Bᵀ is an F-ordered w × m array: (Bᵀ)ᴴ Bᵀ = conj(B Bᴴ), upper triangle
                H = zherk(1.0, B.T, beta=1.0, c=H, trans=2, overwrite_c=1)
        if H is not None:
            upper = np.triu(H)
            G += (upper + np.triu(upper, 1).conj().T).conj()

    def _row_pairs(self, G: np.ndarray, rows: int) -> None:
        """``G[I, J] = B_I B_Jᴴ`` for row blocks of ``rows`` rows, two held at a time."""
        m, n = self.shape
        held, held_raw = self._buffers(rows, n)
        other, other_raw = self._buffers(rows, n)
        for p0 in range(0, m, rows):
            self.passes += 1
            p1 = min(m, p0 + rows)
            P = _first(held, p1 - p0, n)
            got = self._read(p0, p1, P, None if held_raw is None else _first(held_raw, p1 - p0, n))
            if not self.validated:
                self._check_finite(P, p0, got)
            G[p0:p1, p0:p1] = P @ P.conj().T
            for q0 in range(p1, m, rows):
                q1 = min(m, q0 + rows)
                Q = _first(other, q1 - q0, n)
                got = self._read(
                    q0, q1, Q, None if other_raw is None else _first(other_raw, q1 - q0, n)
                )
                if not self.validated:
                    self._check_finite(Q, q0, got)
                G[p0:p1, q0:q1] = P @ Q.conj().T
                G[q0:q1, p0:p1] = G[p0:p1, q0:q1].conj().T
            self.validated = True

    def fro_norm(self) -> float:
        return self.fro_squares().norm()

    def fro_squares(self) -> SquareSum:
        self.passes += 1
        total = SquareSum()
        for _, _, B in self.blocks():
            total.add(B)
        return total

    def reconstruction_error(self, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
        self.passes += 1
        US = U * s
        total = SquareSum()
        for r0, r1, B in self.blocks():
            total.add(B - US[r0:r1] @ Vh)
        return total.norm()


def _first(flat: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The C-contiguous ``rows × cols`` array at the start of the 1-D buffer ``flat``."""
    return flat[: rows * cols].reshape(rows, cols)


# ------------------------------------------------------------------------------ dask


def _adjoint_block(s: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``sᴴ z`` for one chunk ``s`` of a stored dask array and the matching rows of
    ``z``, on a new leading axis (the caller sums over the stored row chunks). The
    conjugations fall on ``z`` and the small product, never on a copy of ``s``."""
    s, z = _aligned(s), _aligned(z)
    if np.iscomplexobj(s) or np.iscomplexobj(z):
        return (z.conj().T @ s).conj().T[np.newaxis]
    return (s.T @ z)[np.newaxis]


def _widened(x: Any) -> np.ndarray:
    """A stored chunk in the working precision (float64 or complex128), aligned."""
    x = _aligned(np.asarray(x))
    return x.astype(_working_dtype(x.dtype), copy=False)


def _inner_block(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``sᴴ t`` for two chunks of the same stored rows, on a new leading axis."""
    s, t = _widened(s), _widened(t)
    return (s.conj().T @ t)[np.newaxis]


def _outer_block(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``s tᴴ`` for two chunks of the same stored columns, on a new leading axis."""
    s, t = _widened(s), _widened(t)
    return (s @ t.conj().T)[np.newaxis]


def _quiet_squares(x: np.ndarray) -> np.ndarray:
    """``x ** 2`` without an overflow warning (an inf square is rescaled by the caller)."""
    with np.errstate(over="ignore", under="ignore"):
        return x * x


def _aligned(x: Any) -> Any:
    """``x``, or a copy of it where its data is not aligned to its item size.

    dask's distributed transport hands over arrays at any byte offset (addresses
    ≡ 37 or 53 mod 64 were seen), and NumPy multiplies those by its own loops, not
    BLAS: other roundings, so the same seed gave other bits from run to run
    (dashSVD on a two-process LocalCluster differed by 1.7e-16 in σ).
    """
    if isinstance(x, np.ndarray) and not x.flags.aligned:
        return x.copy()
    return x


class DaskOperator(Operator):
    """A dask array: every product is a dask graph, so it runs on any dask cluster.

    The thin side (``n``, NumPy on the client: the Krylov bases live there) and
    the long side (``m``, dask arrays chunked by rows, persisted on the cluster)
    are fixed at construction. The stored array ``S`` is never rearranged: the
    operator is ``A = S``, or ``A = Sᴴ`` for :meth:`adjoint` (``transposed``), and
    every product is ``S Z`` or ``Sᴴ Z`` on the stored chunks — ``Sᴴ Z`` blockwise,
    one ``s_ijᴴ z_i`` per chunk, summed over the row chunks. The long side of
    ``Sᴴ`` is chunked as the stored columns. (A transpose layer ``S.T`` was
    resubmitted by every step, its chunks fused into one graph's tasks and not
    into the next one's, and the distributed scheduler warned about its keys'
    "different run_spec", dask/dask#9888.) A lower-precision array is widened
    chunk by chunk inside the products.
    """

    kind = "dask"
    distributed = True

    def __init__(self, a: Any, *, source: Any = None, transposed: bool = False) -> None:
        m, n = _dims(a.shape)
        shape = (n, m) if transposed else (m, n)
        super().__init__(shape, a.dtype, a if source is None else source)
        self.stored_dtype = np.dtype(a.dtype)
        # kept as stored: every product has a float64 (complex128) operand, so NumPy
        # widens each block inside it. (A separate astype layer was submitted again
        # at every step, fused one way or another, and the distributed scheduler
        # warned about its keys' "different run_spec".)
        self.stored = a
        self.original = a
        self.transposed = bool(transposed)
        self.row_chunks = a.chunks[1] if transposed else a.chunks[0]
        self.validated = False

    @property
    def a(self) -> Any:
        """``A`` as a dask array (for a caller that wants its entries: ``Sᴴ`` is built
        here for the adjoint; the products never use it)."""
        if not self.transposed:
            return self.stored
        return self.stored.conj().T if self.dtype.kind == "c" else self.stored.T

    #: What the messages call the input.
    _what = "dask array"

    @contextlib.contextmanager
    def user_chunks(self) -> Iterator[None]:
        """Where the user's chunks are computed: their failure to compute becomes a
        :class:`~svdkit.ShapeError` with advice.

        A dask array made with ``from_array(asarray=False)`` of a COO, DIA or BSR matrix
        has NumPy metadata and chunks that cannot be sliced ("'coo_matrix' object is not
        subscriptable"): the first computation of any kind (a product, ``‖A‖_F``, the
        dense copy for LAPACK) reports it, whatever the method.
        """
        try:
            yield
        except (TypeError, AttributeError, IndexError, NotImplementedError) as err:
            raise ShapeError(
                f"the {self._what}'s chunks could not be computed ({type(err).__name__}: "
                f"{err}); svdkit takes dask arrays of NumPy chunks or of SciPy CSR / CSC "
                "chunks (convert a COO, DIA or BSR matrix with .tocsr() before "
                "da.from_array)"
            ) from err

    def _finite_flag(self) -> Any:
        """A lazy boolean: whether every stored entry is finite."""
        import dask.array as da

        return da.isfinite(self.stored).all()

    def _require_finite(self, finite: Any) -> None:
        if not bool(finite):
            # (only on failure: a second, small computation finds the first bad entry)
            found = self._locate_nonfinite()
            where = "a NaN or an infinite entry"
            if found is not None:
                row, col, value = found
                where = f"a non-finite entry at row {row + 1}, column {col + 1}: {value!r}"
            raise NonFiniteError(
                f"the {self._what} has {where}; svdkit needs finite numbers "
                "(remove or impute missing values first)"
            )
        self.validated = True

    def _locate_nonfinite(self) -> tuple[int, int, Any] | None:
        """``(row, column, value)`` (0-based, in the user's array) of the first non-finite
        entry in row-major order, from each chunk's first one; ``None`` if there is none."""
        import dask

        a = self.stored
        offsets = [np.concatenate(([0], np.cumsum(c)))[:-1] for c in a.chunks]
        parts = a.to_delayed()
        first = dask.delayed(_first_nonfinite, pure=True)
        keys = [(i, j) for i in range(parts.shape[0]) for j in range(parts.shape[1])]
        hits = dask.compute(*[first(parts[i, j]) for i, j in keys])
        found = [(int(offsets[0][i]) + r, int(offsets[1][j]) + c, v)
                 for (i, j), hit in zip(keys, hits, strict=True) if hit is not None
                 for r, c, v in [hit]]  # fmt: skip
        return min(found, key=lambda t: (t[0], t[1])) if found else None

    def _checked(self, result: Any) -> Any:
        """Compute ``result``; on the first computation, check the entries in the same graph."""
        if self.validated:
            return self._compute(result)
        with self.user_chunks():
            out, finite = self._compute(result, self._finite_flag())
        self._require_finite(finite)
        return out

    def _persist_checked(self, x: Any) -> Any:
        """Persist ``x``; on the first computation, check the entries in the same graph
        (the first product of ``randomized`` is ``A X``: its NaN must not reach the QR)."""
        if self.validated:
            return self._persist(x)
        import dask

        with self.user_chunks():
            x, finite = dask.persist(x, self._finite_flag())
            finite = self._compute(finite)
        self._require_finite(finite)
        return x

    def adjoint(self) -> DaskOperator:
        op = DaskOperator(self.stored, source=self.source, transposed=not self.transposed)
        op._count = self._count
        op.validated = self.validated
        return op

    def _compute(self, *xs: Any) -> Any:
        import dask

        out = tuple(_aligned(x) for x in dask.compute(*xs))  # (see _aligned)
        return out if len(xs) > 1 else out[0]

    def _persist(self, x: Any) -> Any:
        return x.persist()

    def _tall(self, x: Any) -> Any:
        import dask.array as da

        if isinstance(x, np.ndarray):
            return da.from_array(x, chunks=(self.row_chunks, x.shape[1]))
        return x

    def _times(self, Z: Any, adjoint: bool) -> Any:
        """``A Z``, or ``Aᴴ Z`` with ``adjoint`` (lazy): ``S Z`` or ``Sᴴ Z`` on the
        stored array ``S``, ``Z`` (NumPy or dask) chunked as the side it meets."""
        import dask.array as da

        S = self.stored
        hermitian = adjoint != self.transposed  # Sᴴ Z (A = S, Aᴴ Z; or A = Sᴴ, A Z)
        rows = S.chunks[0] if hermitian else S.chunks[1]
        if isinstance(Z, np.ndarray):
            Z = da.from_array(Z, chunks=(rows, Z.shape[1]))
        elif Z.chunks[0] != rows:
            Z = Z.rechunk({0: rows})
        if not hermitian:
            return S @ Z
        parts = da.blockwise(
            _adjoint_block, "kjb", S, "kj", Z, "kb",
            adjust_chunks={"k": 1}, dtype=self.dtype,
            meta=np.empty((0, 0, 0), dtype=self.dtype),
        )  # fmt: skip
        return parts.sum(axis=0)

    def matmat(self, X: np.ndarray) -> Any:
        self.passes += 1
        X = np.asarray(X, dtype=self.dtype)
        return self._persist_checked(self._times(X, adjoint=False).rechunk({1: -1}))

    def rmatmat(self, Y: Any) -> np.ndarray:
        self.passes += 1
        return np.asarray(self._checked(self._times(self._tall(Y), adjoint=True)), dtype=self.dtype)

    def gram(self, X: np.ndarray) -> np.ndarray:
        self.passes += 1
        X = np.asarray(X, dtype=self.dtype)
        AX = self._times(X, adjoint=False)
        return np.asarray(self._checked(self._times(AX, adjoint=True)), dtype=self.dtype)

    def gram_matrix(self, block: int = 64) -> np.ndarray:
        """``AᴴA`` in one graph, one pass: ``Σ_i s_iᴴ s_i`` over the stored row chunks
        (``S Sᴴ`` for the adjoint, over the stored column chunks), each chunk widened
        to the working precision inside its product."""
        import dask.array as da

        self.passes += 1
        S = self.stored
        if self.transposed:  # A = Sᴴ: AᴴA = S Sᴴ, G_ik = Σ_j s_ij s_kjᴴ
            parts = da.blockwise(
                _outer_block, "jik", S, "ij", S, "kj",
                adjust_chunks={"j": 1}, dtype=self.dtype,
                meta=np.empty((0, 0, 0), dtype=self.dtype),
            )  # fmt: skip
        else:  # G_jk = Σ_i s_ijᴴ s_ik
            parts = da.blockwise(
                _inner_block, "ijk", S, "ij", S, "ik",
                adjust_chunks={"i": 1}, dtype=self.dtype,
                meta=np.empty((0, 0, 0), dtype=self.dtype),
            )  # fmt: skip
        return np.asarray(self._checked(parts.sum(axis=0)), dtype=self.dtype)

    def fro_norm(self) -> float:
        self.passes += 1
        return self._fro(self.stored)

    def _fro(self, E: Any) -> float:
        """``‖E‖_F`` of a dask array: summed again, scaled by a power of two, where
        its squares over- or underflow (two more passes, then only)."""
        import dask.array as da

        E = abs(E)
        if E.dtype != np.float64:  # squares summed in float64 (a float32 array's too)
            E = E.astype(np.float64)
        # (squares past 1e308 are inf, handled below: no warning from dask's threads)
        norm = float(self._checked(da.sqrt(E.map_blocks(_quiet_squares).sum())))
        if _squares_safe(norm * norm):
            return norm
        big = _max_abs(E)
        if big == 0.0 or not math.isfinite(big):
            return norm
        s = _power_above(big)
        return float(self._compute(da.sqrt(((E / s) ** 2).sum()))) * s

    # long side: dask arrays
    def tall_qr(self, W: Any) -> tuple[Any, np.ndarray]:
        """CholeskyQR2 in dask (two small Gram matrices computed locally), else TSQR."""
        import scipy.linalg

        from svdkit.lowrank.orth import CHOLQR_MIN_RATIO

        W = self._tall(W).rechunk({1: -1})
        b = W.shape[1]
        if b == 0:
            return W, np.zeros((0, 0), dtype=self.dtype)
        Q, R_total = W, np.eye(b, dtype=self.dtype)
        for _ in range(2):
            G = np.asarray(self._compute(Q.conj().T @ Q))
            try:
                R = scipy.linalg.cholesky(G, lower=False)
            except np.linalg.LinAlgError:
                break
            d = np.abs(np.diag(R))
            if d.min() <= CHOLQR_MIN_RATIO * d.max():
                break
            Q = self._persist(Q @ np.linalg.inv(R))
            R_total = R @ R_total
        else:
            return Q, R_total
        import dask
        import dask.array as da

        # Q and R share TSQR's tasks: persisted in one graph (a persist of Q, then a
        # compute of R, sent those tasks twice, fused differently, and the distributed
        # scheduler warned about their keys' "different run_spec", dask/dask#9888 —
        # on every rank-deficient block, e.g. a matrix of rank below k)
        Q, R = dask.persist(*da.linalg.tsqr(W))
        return Q, np.asarray(self._compute(R))

    def tall_matmul(self, Q: Any, C: np.ndarray) -> Any:
        return self._persist(self._tall(Q) @ np.asarray(C, dtype=self.dtype))

    def tall_gram(self, X: Any, Y: Any) -> np.ndarray:
        return np.asarray(self._compute(self._tall(X).conj().T @ self._tall(Y)))

    def tall_combine(self, X: Any, Y: Any, s: np.ndarray) -> Any:
        return self._tall(X) - self._tall(Y) * s

    def tall_colnorms(self, X: Any) -> np.ndarray:
        import dask.array as da

        X = self._tall(X)
        return np.sqrt(np.asarray(self._compute(da.sum(abs(X) ** 2, axis=0)), dtype=float))

    def tall_random(self, rng: np.random.Generator, b: int) -> Any:
        import dask.array as da

        seed = int(rng.integers(2**31))
        g = da.random.default_rng(seed)
        z = g.standard_normal((self.shape[0], b), chunks=(self.row_chunks, b))
        if self.dtype.kind == "c":
            z = z + 1j * g.standard_normal((self.shape[0], b), chunks=(self.row_chunks, b))
        return self._persist(z.astype(self.dtype))

    def tall_to_numpy(self, X: Any) -> np.ndarray:
        return np.asarray(self._compute(self._tall(X)))

    def tall_concat(self, blocks: list[Any]) -> Any:
        import dask.array as da

        return da.concatenate([self._tall(b) for b in blocks], axis=1).rechunk({1: -1})

    def tall_columns(self, X: Any, idx: Any) -> Any:
        return self._tall(X)[:, idx]

    def reconstruction_error(self, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
        import dask.array as da

        U, Vh = np.asarray(U), np.asarray(Vh)
        # A = Sᴴ = U Σ Vh  ⇔  S = Vhᴴ Σ Uᴴ: the error measured on the stored array
        L, R = (Vh.conj().T * s, U.conj().T) if self.transposed else (U * s, Vh)
        S = self.stored
        Ld = da.from_array(L, chunks=(S.chunks[0], L.shape[1]))
        Rd = da.from_array(np.ascontiguousarray(R), chunks=(R.shape[0], S.chunks[1]))
        return self._fro(S - Ld @ Rd)


# ------------------------------------------------------------------------------ front door


def _is_dask(obj: Any) -> bool:
    return (
        type(obj).__module__.startswith("dask.") and hasattr(obj, "dask") and hasattr(obj, "chunks")
    )


def _is_torch_sparse(A: Any) -> bool:
    """A torch tensor in a sparse layout (COO, CSR, CSC, BSR, BSC)."""
    if not type(A).__module__.startswith("torch"):
        return False
    layout = getattr(A, "layout", None)
    return layout is not None and str(layout) != "torch.strided"


def _torch_sparse_to_scipy(T: Any) -> Any:
    """A sparse torch tensor as the SciPy sparse matrix of the same entries (COO, CSR or
    CSC index arrays taken as they are, moved to the CPU: never densified); validated
    by the SciPy branch of :func:`as_operator` like any sparse matrix.

    Raises
    ------
    ShapeError
        Not 2-D, or a hybrid tensor (dense blocks in its values).
    ParseError
        A layout whose index arrays SciPy does not share (block BSR / BSC) that
        torch cannot turn into COO either.
    """
    import scipy.sparse as sp
    import torch

    T = T.detach()
    if T.dim() != 2 or T.dense_dim() != 0:
        raise ShapeError(
            f"A is a sparse torch tensor of shape {tuple(T.shape)} with "
            f"{T.dense_dim()} dense dimensions; a matrix is 2-D with scalar entries"
        )
    shape = tuple(int(d) for d in T.shape)

    def values(v: Any) -> np.ndarray:
        v = v.cpu()
        if v.dtype in (torch.bfloat16, torch.float16):  # (no NumPy bfloat16)
            v = v.to(torch.float32)
        return v.numpy()

    def ints(i: Any) -> np.ndarray:
        return i.cpu().numpy()

    if T.layout == torch.sparse_csr:
        return sp.csr_matrix(
            (values(T.values()), ints(T.col_indices()), ints(T.crow_indices())), shape=shape
        )
    if T.layout == torch.sparse_csc:
        return sp.csc_matrix(
            (values(T.values()), ints(T.row_indices()), ints(T.ccol_indices())), shape=shape
        )
    if T.layout != torch.sparse_coo:
        try:
            T = T.to_sparse_coo()
        except (RuntimeError, TypeError) as err:
            raise ParseError(
                f"A is a torch tensor in the {T.layout} layout, which svdkit cannot read "
                f"({err}); convert it with .to_sparse_csr() (kept sparse)"
            ) from err
    T = T.coalesce()  # (duplicates summed, as SciPy would)
    idx = ints(T.indices())
    return sp.coo_matrix((values(T.values()), (idx[0], idx[1])), shape=shape)


def _is_linear_operator(obj: Any) -> bool:
    if type(obj).__module__.startswith("scipy.sparse.linalg"):
        return True
    return all(hasattr(obj, a) for a in ("shape", "matmat", "rmatmat")) and not isinstance(
        obj, np.ndarray
    )


def as_operator(
    A: Any,
    *,
    memory_limit: int | None = None,
    threads: int | None = None,
) -> Operator:
    """The operator of anything the large-scale engine accepts.

    Parameters
    ----------
    A : array_like, sparse matrix, LinearOperator, np.memmap, path to .npy, dask array
        * a path (``str`` or ``os.PathLike``) to a ``.npy`` file: read in row blocks
          (out of core); other extensions (``.npz`` sparse, ``.mtx``, ``.csv``…) are
          loaded with :func:`svdkit.load` (sparse content kept sparse). A ``str`` is a
          file name when it is one line ending in an extension
          :func:`svdkit.load` reads (``.npy``, ``.npz``, ``.mtx``, ``.csv``, ``.tsv``,
          ``.txt``, ``.json``, ``.tex``, any case), stripped of surrounding whitespace
          (:func:`~svdkit.inputs.files.any_file_name`; ``"data.csv"`` is its file here,
          where :func:`svdkit.as_matrix` reads only ``.npy``, ``.npz`` and ``.mtx``
          names); any other ``str`` is matrix text, read by :func:`svdkit.as_matrix`
          (``"[[1, 2], [3, 4]]"``, ``"1 2; 3 4"``);
        * an ``np.memmap``: read in row blocks (out of core);
        * a dask array: :class:`DaskOperator`;
        * a ``LinearOperator`` (or any object with ``shape``, ``matmat``, ``rmatmat``);
        * a SciPy sparse matrix or array: validated by :func:`svdkit.as_matrix`,
          kept sparse (CSR or CSC);
        * anything else: validated by :func:`svdkit.as_matrix` (dense; float32 and
          complex64 arrays and tensors keep their precision, no copy; float16 is
          widened to float64, its ``stored_dtype`` still float16, the rank rule's).
        An :class:`Operator` is returned as it is.
    memory_limit : int, optional
        Bytes of matrix data an out-of-core operator may hold at once, an integer
        ≥ 1 (default :data:`DEFAULT_MEMORY_LIMIT`, 256 MiB).
    threads : int, optional
        Threads for sparse products, an integer ≥ 1 (default: the cores this
        process may use).

    Returns
    -------
    Operator

    Raises
    ------
    ShapeError
        ``memory_limit`` or ``threads`` is not an integer ≥ 1 (checked first, as
        :func:`svdkit.lowrank.truncated_svd` checks them), or ``A`` is not a matrix.
    ParseError, RaggedError, EmptyInputError, NonFiniteError
        Matrix text (a ``str`` that names no file) that is not a matrix, named as
        :func:`svdkit.as_matrix` names it (``A: row 2, column 2: …``).
    FileFormatError, MissingFileError
        A file that is not what its extension says, or no such file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, scipy.sparse as sp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((300, 40))
    >>> op = as_operator(A)
    >>> op.kind, op.shape
    ('dense', (300, 40))
    >>> X, Y = rng.standard_normal((40, 3)), rng.standard_normal((300, 2))
    >>> bool(np.allclose(op.matmat(X), A @ X)), bool(np.allclose(op.rmatmat(Y), A.T @ Y))
    (True, True)
    >>> as_operator(op) is op
    True
    >>> as_operator(sp.random(500, 200, density=0.01, format="csr", random_state=0)).kind
    'sparse'

    A ``.npy`` file is read in row blocks (here 50 rows of float64 at a time), never
    loaded whole; its products are those of the array it holds:

    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.save(os.path.join(d, "A.npy"), A)
    ...     big = as_operator(os.path.join(d, "A.npy"), memory_limit=8 * 40 * 50)
    ...     print(big.kind, big.shape, bool(np.allclose(big.matmat(X), A @ X)))
    row_blocks (300, 40) True
    """
    from svdkit.inputs import as_matrix
    from svdkit.inputs.files import any_file_name

    memory_limit = check_optional_int(memory_limit, "memory_limit")
    threads = check_optional_int(threads, "threads")
    if isinstance(A, Operator):
        return A
    limit = DEFAULT_MEMORY_LIMIT if memory_limit is None else int(memory_limit)
    if isinstance(A, str) and any_file_name(A) is None:
        # matrix text, as svdkit.as_matrix and svdkit.svd read it (text that is no
        # matrix but names a folder, "data/", is a folder error there)
        A = as_matrix(A)
    if isinstance(A, str | os.PathLike):
        # a str naming a file (one line ending in a supported extension) is stripped of
        # surrounding whitespace (the newline of readline()), as svdkit.as_matrix strips it
        named = any_file_name(A) if isinstance(A, str) else None
        path = named if named is not None else os.fspath(A)
        if path.lower().endswith(".npy"):
            if not os.path.isfile(path):
                from svdkit.inputs import load

                load(path)  # raises the front door's MissingFileError (or its folder error)
            shape, fortran, dtype, offset = _npy_header(path)
            if len(shape) == 1:  # a vector is a column, as svdkit.load and arrays read it
                shape, fortran = (shape[0], 1), False
            elif not shape:  # a scalar is 1×1, as svdkit.load reads it
                shape, fortran = (1, 1), False
            if len(shape) != 2:
                raise ShapeError(f"'{path}' holds an array of shape {shape}; a matrix is 2-D")
            if 0 in shape:  # named as svdkit.load names it
                raise EmptyInputError(
                    f"'{path}' is empty (shape {tuple(shape)}): a matrix needs at least one entry"
                )
            if fortran:
                op = RowBlockOperator(
                    path,
                    memory_limit=limit,
                    shape=(shape[1], shape[0]),
                    stored_dtype=dtype,
                    offset=offset,
                    transposed=True,
                )
                return _adjoint_of_transpose(op)
            return RowBlockOperator(
                path, memory_limit=limit, shape=shape, stored_dtype=dtype, offset=offset
            )
        from svdkit.inputs import load

        A = load(path, sparse=True)
    if isinstance(A, np.memmap):
        _require_numeric(A.dtype)
        if A.ndim == 1:  # a column, as for any 1-D array
            A = A.reshape(-1, 1)
        if A.ndim != 2:
            raise ShapeError(
                f"A must be a matrix (2-D) or a vector (1-D, read as a column); got shape {A.shape}"
            )
        if A.flags.f_contiguous and not A.flags.c_contiguous:
            inner = RowBlockOperator(A.T, memory_limit=limit, transposed=True)
            return _adjoint_of_transpose(inner)
        return RowBlockOperator(A, memory_limit=limit)
    if _is_dask(A):
        _require_numeric(A.dtype)
        if A.ndim not in (1, 2):
            raise ShapeError(
                f"A must be a matrix (2-D) or a vector (1-D, read as a column); got shape {A.shape}"
            )
        if any(math.isnan(d) for d in A.shape):
            # unknown chunk sizes (a boolean mask, a filter): the products need them,
            # computed on a copy (the caller's array keeps its unknown chunks)
            A = A.copy().compute_chunk_sizes()
        if A.ndim == 1:  # a column, as for any 1-D array, .npy file or memmap
            A = A.reshape(-1, 1)
        _refuse_masked_dask(A)
        from svdkit.lowrank.dask_sparse import from_sparse_dask_array, is_sparse_dask_array

        if is_sparse_dask_array(A):
            return from_sparse_dask_array(A)
        return DaskOperator(_without_empty_chunks(A))
    if _is_torch_sparse(A):
        A = _torch_sparse_to_scipy(A)  # kept sparse: no dense copy
    if type(A).__module__.startswith("scipy.sparse") and not _is_linear_operator(A):
        keep = A.dtype if A.dtype in (np.float32, np.complex64) else None
        a = as_matrix(A, sparse=True, dtype=keep)  # float32 stays float32: no copy
        if isinstance(a, np.ndarray):
            return DenseOperator(a)
        return SparseOperator(a, threads=threads)
    if _is_linear_operator(A):
        return LinearOperatorAdapter(A)
    from svdkit.linalg.tolerance import rule_dtype

    # the precision the data is stored in (a float32 or float16 array, a float32 torch
    # tensor), where coarser than float64: the rank rule's eps, whatever the products run in
    precision = rule_dtype(A)
    dtype = None
    if precision in (np.float32, np.complex64):
        dtype = precision  # keep the storage precision: products widen block by block
    a = as_matrix(A, dtype=dtype)
    if a.flags.f_contiguous and not a.flags.c_contiguous:
        inner = DenseOperator(a.T, threads=threads, source=a, precision=precision)
        return TransposeOperator(inner)
    return DenseOperator(a, threads=threads, precision=precision)


class TransposeOperator(Operator):
    """``A = Tᵀ`` for an operator ``T`` of the C-ordered transpose (a Fortran-ordered A).

    Products with ``A`` are products with ``T`` on the other side; for complex
    matrices the conjugations fall on the small blocks, never on the matrix.
    """

    def __init__(self, inner: Operator) -> None:
        super().__init__((inner.shape[1], inner.shape[0]), inner.dtype, inner.source)
        self.inner = inner
        self._count = inner._count
        self.kind = inner.kind
        self.fused = {"gram": "cogram", "cogram": "gram"}.get(inner.fused or "", None)
        self.stored_dtype = getattr(inner, "stored_dtype", inner.dtype)
        self.memory_limit = getattr(inner, "memory_limit", None)

    def _c(self, x: np.ndarray) -> np.ndarray:
        return x.conj() if self.dtype.kind == "c" else x

    # A = Tᵀ where T (n×m) is the stored operator: A X = Tᵀ X = conj(Tᴴ conj X)
    def matmat(self, X: np.ndarray) -> np.ndarray:
        return self._c(self.inner.rmatmat(self._c(np.asarray(X, dtype=self.dtype))))

    def rmatmat(self, Y: np.ndarray) -> np.ndarray:
        return self._c(self.inner.matmat(self._c(np.asarray(Y, dtype=self.dtype))))

    def cogram(self, Y: np.ndarray) -> np.ndarray:
        # A Aᴴ = Tᵀ conj(T) = conj(Tᴴ T) applied to conj(Y)
        return self._c(self.inner.gram(self._c(np.asarray(Y, dtype=self.dtype))))

    def gram(self, X: np.ndarray) -> np.ndarray:
        # Aᴴ A = conj(T) Tᵀ = conj(T Tᴴ) applied to conj(X)
        return self._c(self.inner.cogram(self._c(np.asarray(X, dtype=self.dtype))))

    def gram_matrix(self, block: int = 64) -> np.ndarray:
        return self._c(self.inner.cogram_matrix(block))

    def cogram_matrix(self, block: int = 64) -> np.ndarray:
        return self._c(self.inner.gram_matrix(block))

    def fro_norm(self) -> float | None:
        return self.inner.fro_norm()

    def fro_squares(self) -> SquareSum | None:
        return self.inner.fro_squares()

    def stored_precision(self, on: bool) -> bool:
        return self.inner.stored_precision(on)

    def close(self) -> None:
        self.inner.close()

    def reconstruction_error(self, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
        # T = Aᵀ = conj(V) Σ Uᵀ
        return self.inner.reconstruction_error(Vh.T.copy(), s, U.T.copy())


def _adjoint_of_transpose(inner: Operator) -> Operator:
    return TransposeOperator(inner)
