"""Optional GPU backend: :func:`~svdkit.lora.factor.factor_delta`'s certified factoring, on CUDA.

Used by :func:`svdkit.lora.extract.extract` with ``backend="torch"`` (or
``"auto"`` when torch sees a GPU). Block Krylov iteration (Musco & Musco 2015,
each block orthogonalised twice against the basis) with Rayleigh–Ritz, then the
same certificate as the CPU path: both residuals ``‖ΔW vᵢ − σᵢ uᵢ‖`` and
``‖ΔWᵀ uᵢ − σᵢ vᵢ‖`` of every kept triplet computed and compared with
``tol · σ₁``; more blocks until they pass. Energy and error rules widen the
block (doubling) until the energy asked for, counted against the exact
``‖ΔW‖_F²``, is inside it.

Everything runs on the device, on the delta scaled by a power of two to entries
below 1 (exact; a delta of 1e-25 or 1e39 is factored as one of 1): the first pass
in float32 (at full float32 precision, whatever ``torch.set_float32_matmul_precision``
says: TF32 products would make the certificate's residuals wrong), and, where the
excess over the optimum error is not bounded below 10 % at ``tol``
(:attr:`~svdkit.lora.factor.Quality.loose`), or a rule or ``tol`` asks for more than
float32 resolves, passes in float64 at ``tol · 1e-3`` and ``tol · 1e-6`` (the CPU
path's schedule). ``‖ΔW‖_F²``, the error ``‖ΔW − UΣVᵀ‖_F`` and the bound of the
optimum (:func:`~svdkit.lora.factor.gap_lower_bound`) are float64 sums over row
blocks of the delta, on the device. The NumPy/SciPy path takes the modules whose
short side is at most ``min_size``, ``method="lapack"``, a delta with a NaN or an
infinity (it names the entry), one that does not fit the device's memory, and one
whose first pass is not certified within its blocks.

Measured on an H100 (``bench/lora_gpu.py``, ``docs/benchmarks.md``): a
4096×4096 delta at rank 32 in 10–30 ms against 1.2–1.8 s for the full SVD on the
same GPU.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from svdkit._naming import arg, got, kw
from svdkit.errors import MissingDependencyError, SvdkitError
from svdkit.lora.factor import (
    _TIGHTEN,
    _TIGHTEN_STEPS,
    _TIGHTEST,
    Factored,
    Quality,
    factor_delta,
    first_order_lower,
    kept_energy,
    noise_floor,
    rank_decided,
    sharpen,
    wants_tighter_tol,
)
from svdkit.lora.rank import RankRule, as_rank_rule

__all__ = ["cuda_available", "factor_delta_torch", "resolve_backend"]

#: Energy and error are counted in a float32 pass from float32 singular values and
#: products: ``‖ΔW‖_F² − Σ σᵢ²`` is known to about ``1e-7 · ‖ΔW‖_F²``. Rules that may
#: leave out less than this fraction run in float64 from the start ...
_TAIL_RESOLVED = 1e-5
#: ... as do certificates tighter than this (float32 residuals are resolved to about
#: ``eps₃₂ · √n · σ₁``; :data:`svdkit.lora.batched.SINGLE_PRECISION_TOL` on the CPU).
_TOL_SINGLE = 1e-4
#: An error below this fraction of ``‖ΔW‖_F`` is measured by a pass over the delta: the
#: float64 difference of sums ``‖ΔW‖_F² − 2 Σ σᵢ uᵢᵀΔWvᵢ + ‖UΣVᵀ‖_F²`` (:func:`_error`)
#: resolves ``√eps₆₄ · ‖ΔW‖_F`` (the CPU path's ``_RESOLVED``).
_ERROR_RESOLVED = 1e-6
#: The smallest ``σₖ² / σ₁²`` for which the Ritz triplets come from the float64 Gram
#: matrix of the projected delta (:func:`_rayleigh_ritz`): ``σₖ ≥ 10⁻⁴ σ₁``.
_GRAM_RESOLVED = 1e-8
#: Entries of the delta widened to float64 at a time, for its float64 sums.
_BLOCK_ENTRIES = 1 << 22


def cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_backend(name: Any) -> Callable[..., Factored]:
    """The factoring function of a ``backend`` argument: ``"numpy"`` (the CPU path,
    :func:`~svdkit.lora.factor.factor_delta`), ``"torch"`` (:func:`factor_delta_torch`
    on a CUDA GPU; an error naming the option when torch or the GPU is missing) or
    ``"auto"`` (torch when it sees a GPU, else NumPy/SciPy).

    Examples
    --------
    >>> resolve_backend("numpy").__name__
    'factor_delta'
    """
    if isinstance(name, str) and name.lower() in ("numpy", "torch", "auto"):
        name = name.lower()  # any case, as --split and --dtype
    if name == "numpy":
        return factor_delta
    if name in ("torch", "auto"):
        if cuda_available():
            return factor_delta_torch
        if name == "torch":
            import importlib.util

            if importlib.util.find_spec("torch") is None:
                raise MissingDependencyError(
                    f"{kw('backend', 'torch')} needs torch: pip install 'svdkit[torch]'",
                    param="backend",
                )
            raise SvdkitError(
                f"{kw('backend', 'torch')} needs torch with a CUDA GPU; none is available",
                param="backend",
            )
        return factor_delta
    raise SvdkitError(
        f"{arg('backend')} must be 'numpy', 'torch' or 'auto'; got {got(name)}", param="backend"
    )


@contextlib.contextmanager
def _full_precision() -> Iterator[None]:
    """float32 products in float32 (no TF32 or bfloat16 passes), restored on exit."""
    import torch

    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def _krylov(D: Any, k: int, seed: int, max_blocks: int) -> Iterator[tuple[int, Any, Any, Any]]:
    """Rayleigh–Ritz triplets of growing block Krylov spaces (Musco & Musco 2015).

    ``K_j = span[DΩ, (DDᵀ)DΩ, …, (DDᵀ)^{j-1}DΩ]`` with ``Ω`` ``n × k`` Gaussian; each
    new block is orthogonalised against the basis twice (classical Gram–Schmidt with
    reorthogonalisation) and by a QR; at each check the basis is made orthonormal again
    where it is not (:func:`_orthonormalised`) and the Ritz triplets are taken on it.
    Yields ``(j, U, s, Vh)`` (the top ``k`` Ritz triplets of ``K_j``) at ``j = 2, 3, 4,
    6, 8, 12, 16, 24, …`` and at ``max_blocks``; the caller stops when they are
    certified. A block costs the two products of one subspace iteration and converges as
    the square root of its gap ratio: on the flat tails of real deltas (a bf16
    fine-tune's rounding) subspace iteration did not certify rank 32 of a 4096×4096
    delta in 32 iterations, Krylov did in 12 blocks.
    """
    import torch

    g = torch.Generator(device=D.device).manual_seed(seed)
    omega = torch.randn(D.shape[1], k, device=D.device, dtype=D.dtype, generator=g)
    block, _ = torch.linalg.qr(D @ omega)
    basis = block
    for j in range(2, max_blocks + 1):
        Z = D @ (D.T @ block)
        for _ in range(2):
            Z = Z - basis @ (basis.T @ Z)
        block, _ = torch.linalg.qr(Z)
        basis = torch.cat([basis, block], dim=1)
        if j == max_blocks or _checked(j):
            basis, _ = _orthonormalised(basis)
            yield (j, *_rayleigh_ritz(D, basis, k))


def _orthonormalised(Q: Any) -> tuple[Any, str]:
    """``(Q', how)``: an orthonormal basis of the span of ``Q``'s columns.

    ``Q`` itself (``"kept"``) where ``QᵀQ`` is the identity to :data:`_ORTHONORMAL`
    rounding units in every entry; else, where ``QᵀQ`` is within :data:`_NEAR_ORTHONORMAL`
    of it, ``Q R⁻¹`` with ``R`` the Cholesky factor of ``QᵀQ`` formed in float64 (one
    CholeskyQR step, ``"cholesky"``: orthonormal to rounding from there); else the QR
    of ``Q`` (``"qr"``). Classical Gram–Schmidt twice keeps a tall float32 Krylov basis
    orthonormal only to a few hundred rounding units where the new blocks cancel
    (a converging space), and a block that reached the end of the Krylov space (a delta
    of low exact rank) leaves rounding noise that its QR normalises: orthonormal in
    itself, not to the basis (a 300×280 integer delta of rank 20: ``‖QᵀQ − I‖`` 3.6, its
    Ritz vectors wrong). The QR of the whole basis at every check, as before, cost an
    H100, per bf16-like module, 50 against 41 ms for 4096² at rank 32, 130 against 99 ms
    at rank 128 and 205 against 145 ms for 11008×4096 at rank 128.
    """
    import torch

    gram = Q.T @ Q
    gram.diagonal().sub_(1.0)
    off = float(torch.max(torch.abs(gram))) if gram.numel() else 0.0
    if off <= _ORTHONORMAL * torch.finfo(Q.dtype).eps:
        return Q, "kept"
    if off <= _NEAR_ORTHONORMAL:
        Q64 = Q.double()
        R, info = torch.linalg.cholesky_ex(Q64.T @ Q64, upper=True)
        if int(info) == 0:
            return torch.linalg.solve_triangular(R, Q64, upper=True, left=False).to(Q.dtype), (
                "cholesky"
            )
    return torch.linalg.qr(Q)[0], "qr"


def _rayleigh_ritz(D: Any, Q: Any, k: int) -> tuple[Any, Any, Any]:
    """The top ``k`` Ritz triplets ``(U, s, Vh)`` of ``D`` on the orthonormal basis ``Q``.

    For a float32 ``D``: the eigenpairs of the small Gram matrix ``B Bᵀ`` of
    ``B = Qᵀ D``, formed and solved in float64, with ``Vh = Zᵀ B / s`` — on an H100,
    5 ms for a basis of 504 columns of a 4096-wide delta, where cuSOLVER's float32 SVD
    of ``B`` took 21 ms (a 11008×4096 delta at rank 32, 12 blocks: 109 → 70 ms), and a
    more accurate one: its float32 SVD did not certify rank 128 of a bf16 fine-tune's
    4096×4096 delta within 24 blocks, the float64 Gram did in 12. The squaring loses
    nothing in float64 to values above ``10⁻⁴ σ₁``; where a kept value is below that (a
    delta of lower exact rank than ``k``: its right vectors would be rounding noise
    divided by a tiny ``s``), and for a float64 ``D``, the SVD of ``B`` itself.
    """
    import torch

    B = Q.T @ D
    if D.dtype == torch.float32:
        B64 = B.double()
        w, Z = torch.linalg.eigh(B64 @ B64.T)  # ascending
        w, Z = w[-k:].flip(0), Z[:, -k:].flip(1)
        if float(w[-1]) > _GRAM_RESOLVED * float(w[0]):
            s = torch.sqrt(w)
            Vh = (Z.T @ B64) / s[:, None]
            return Q @ Z.to(D.dtype), s.to(D.dtype), Vh.to(D.dtype)
    Ub, s, Vh = torch.linalg.svd(B, full_matrices=False)
    return Q @ Ub[:, :k], s[:k], Vh[:k]


#: :func:`_orthonormalised` keeps a basis orthonormal to this many rounding units
#: (1e-5 for float32) and takes one CholeskyQR step for one within
#: :data:`_NEAR_ORTHONORMAL` (``QᵀQ`` then has a condition number below 1.3).
_ORTHONORMAL = 84
_NEAR_ORTHONORMAL = 0.1


def _checked(j: int) -> bool:
    """Whether the certificate is taken after block ``j``: 2, 3, 4, 6, 8, 12, 16, 24, …"""
    return (j & (j - 1)) == 0 or (j % 3 == 0 and ((j // 3) & (j // 3 - 1)) == 0)


def _row_blocks(D: Any) -> Iterator[tuple[int, Any]]:
    """``(first row, rows in float64)`` of ``D``, :data:`_BLOCK_ENTRIES` at a time."""
    step = max(1, _BLOCK_ENTRIES // max(1, D.shape[1]))
    for r0 in range(0, D.shape[0], step):
        yield r0, D[r0 : r0 + step].double()


def _sum_squares(D: Any) -> float:
    """``‖D‖_F²`` in float64: exact squares of float32 entries, each block a float64 dot
    (``torch.linalg.vector_norm(…)²`` was 1.5e-14 off, enough to miss an error bound of
    1e-7 — ``tail = 1e-14`` — and take every triplet)."""
    import torch

    total = 0.0
    for _, block in _row_blocks(D):
        flat = block.reshape(-1)
        total += float(torch.dot(flat, flat))
    return total


def _error(D: Any, U: Any, s: Any, Vh: Any, fro2: float) -> float:
    """``‖D − U diag(s) Vh‖_F`` in float64: ``‖D‖_F² − 2 Σ sᵢ uᵢᵀ D vᵢ + ‖U diag(s) Vh‖_F²``
    over row blocks (float32 products, and ``Σ sᵢ²`` for the last term, lost the error
    below 5e-3 of ``‖D‖_F``: 8–14 % off at 1.2e-3), and the entries' own pass when that
    difference cannot resolve it."""
    import torch

    U, s, V = U.double(), s.double(), Vh.double().T
    cross = 0.0
    for r0, block in _row_blocks(D):
        X = block @ V
        cross += float(torch.sum(torch.sum(U[r0 : r0 + block.shape[0]] * X, dim=0) * s))
    # ‖U diag(s) Vᵀ‖_F² = sᵀ (UᵀU ∘ VᵀV) s, exactly: Σ sᵢ² assumes orthonormal columns,
    # and float32 ones are orthonormal to ~1e-7, which is 7 % of an error of 1.2e-3 ‖D‖_F
    ss = float(s @ (((U.T @ U) * (V.T @ V)) @ s))
    error = math.sqrt(max(0.0, fro2 - 2.0 * cross + ss))
    if error >= _ERROR_RESOLVED * math.sqrt(fro2):
        return error
    total = 0.0
    right = s[:, None] * V.T
    for r0, block in _row_blocks(D):
        R = block - U[r0 : r0 + block.shape[0]] @ right
        total += float(torch.sum(R * R))
    return math.sqrt(total)


def _gap_lower_bound(D: Any, Vh: Any, fro2: float) -> float:
    """:func:`~svdkit.lora.factor.gap_lower_bound` on the device, in float64 row blocks."""
    import torch

    r = Vh.shape[0]
    if r == 0:
        return math.sqrt(max(0.0, fro2))
    V, _ = torch.linalg.qr(Vh.double().T)
    gram = torch.zeros((r, r), dtype=torch.float64, device=V.device)
    HV = torch.zeros_like(V)
    for _, block in _row_blocks(D):
        X = block @ V
        gram += X.T @ X
        HV += block.T @ X
    slack = 64 * float(np.finfo(np.float64).eps) * fro2
    outside = fro2 - float(torch.trace(gram))
    gap = float(torch.linalg.eigvalsh(gram)[0]) - (outside + slack)
    if gap <= 0.0:
        return 0.0
    b2 = float(torch.linalg.norm(HV - V @ (V.T @ HV)) ** 2)
    return math.sqrt(max(0.0, outside - slack - b2 / gap))


def _factor_on(
    D: Any, exact: Any, rule: RankRule, cap: int, fro2: float, tol: float, seed: int,
    max_iter: int, precision: Any,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, Quality, str], bool] | None:
    """One certified pass on ``D``'s device and dtype, or ``None`` when not certified.

    Returns ``((U, s, Vh, quality, method), decided)``: ``decided`` is false where an
    ``energy`` / ``error`` rank ``r`` is not shown the smallest — rank ``r − 1``, whose
    factors miss the rule, is not ruled out by the Ritz values raised by their residuals
    (:meth:`~svdkit.lora.rank.RankRule.decided`) — and :func:`_on_device` then factors
    again at a tighter ``tol``, as for a loose excess bound.

    ``exact`` is the delta itself (float32 or float64, scaled as ``D``) for the float64
    sums: the error of the factors and the bound of the optimum. ``precision`` is the
    delta's (float64 or float32): its rounding is the noise floor, as on the CPU path —
    a float32 pass on a float64 delta whose error is above that floor is loose, and
    factored again in float64 (with the pass's own floor, its error of 35× the optimum
    at rank 299 of a float64 delta was reported as rounding).
    """
    import torch

    p = min(D.shape)
    want = cap if rule.rank is not None else min(cap, 32)
    while True:
        k = min(p, want + 10)
        worst = math.inf
        for step in _krylov(D, k, seed, max(2, min(max_iter, p // k))):
            blocks, U, s, Vh = step
            if rule.rank is not None:
                r = min(cap, s.numel())
            else:  # a leading part of the spectrum, unless the basis holds all of it
                r = rule.select(s.double().cpu().numpy(), fro2, complete=s.numel() >= p,
                                size=p)
            Uk, sk, Vk = U[:, :r], s[:r], Vh[:r]
            right = torch.linalg.norm(D @ Vk.T - Uk * sk, dim=0)
            left = torch.linalg.norm(D.T @ Uk - Vk.T * sk, dim=0)
            worst = float(torch.max(torch.maximum(right, left))) if r else 0.0
            if worst <= tol * float(s[0]):
                break
        if worst > tol * float(s[0]):
            return None
        if rule.rank is not None or r < k - 10 or k >= cap or r >= cap:
            break
        want = min(cap, 2 * want)
    decided = True
    if rule.rank is None:
        # an error bound within the rounding of the energies (3e-7 leaves out 9e-14 of
        # ‖ΔW‖_F²: the sums gave 58 triplets for 55), or a rank within the Ritz values'
        # uncertainty (their residuals: at tol 1e-2, --energy 0.9 took 100 for 97), is
        # settled on measured errors (RankRule.settle); a rank it raises must be
        # certified too
        ritz = s.double().cpu().numpy()
        measure = functools.cache(lambda j: _error(exact, U[:, :j], s[:j], Vh[:j], fro2))
        again, error = rule.settle(
            ritz, fro2, r, measure, complete=s.numel() >= p,
            rho=torch.maximum(right, left).double().cpu().numpy(), size=p,
        )
        if again != r:
            Ua, sa, Va = U[:, :again], s[:again], Vh[:again]
            right_a = torch.linalg.norm(D @ Va.T - Ua * sa, dim=0)
            left_a = torch.linalg.norm(D.T @ Ua - Va.T * sa, dim=0)
            if again < r or float(torch.max(torch.maximum(right_a, left_a))) <= tol * float(s[0]):
                r, Uk, sk, Vk, right, left = again, Ua, sa, Va, right_a, left_a
            else:
                error = _error(exact, Uk, sk, Vk, fro2)
        # rank r − 1 not ruled out by the values within their residuals, and its factors
        # miss the rule (settle measured them): more exact factors may meet it there
        decided = rank_decided(rule, ritz, fro2, r, measure,
                               torch.maximum(right, left).double().cpu().numpy(),
                               complete=s.numel() >= p)
    else:
        error = _error(exact, Uk, sk, Vk, fro2)
    Un, sn, Vhn = Uk.cpu().numpy(), sk.cpu().numpy(), Vk.cpu().numpy()
    rho = torch.maximum(right, left).double().cpu().numpy()
    quality = Quality(
        rank=int(r),
        fro=math.sqrt(fro2),
        energy_kept=kept_energy(error, fro2),
        error=error,
        optimum_lower=first_order_lower(sn, rho, fro2),
        floor=noise_floor(math.sqrt(fro2), precision),
    )
    quality = sharpen(quality, None, sn, rho, Vhn, fro2,
                      gap_bound=lambda: _gap_lower_bound(exact, Vk, fro2))
    name = "float64" if D.dtype == torch.float64 else "float32"
    how = f"torch-{D.device.type}-krylov({blocks} blocks, {name})"
    return (Un, sn, Vhn, quality, how), decided


def _seed_of(seed: int | None) -> int:
    """A torch generator's seed: ``seed`` itself below 2⁶³ (what ``manual_seed`` takes),
    fresh entropy for ``None`` (as the CPU path), a hash of larger seeds."""
    if seed is not None and seed < 1 << 63:
        return int(seed)
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] >> 1)


def factor_delta_torch(
    delta: np.ndarray,
    rule: RankRule,
    *,
    tol: float = 1e-3,
    method: str = "auto",
    seed: int | None = 0,
    max_iter: int = 24,
    device: str = "cuda",
    min_size: int = 256,
    tighten: bool = True,
) -> Factored:
    """:func:`~svdkit.lora.factor.factor_delta` on a torch device (a CUDA GPU by default).

    ``device`` is any torch device (the tests run the algorithm on ``"cpu"`` too).
    The CPU path (:func:`~svdkit.lora.factor.factor_delta`, with the same ``tol``,
    ``method`` and ``seed``) takes the modules whose short side is at most
    ``min_size`` (LAPACK is faster there), ``method="lapack"``, a delta with a NaN or
    an infinity (its error names the entry), a delta that does not fit the device's
    memory, and one whose first pass is not certified. ``max_iter`` (at least 2) is
    the most Krylov blocks of a pass, fewer where the short side holds fewer
    (``p // (r + 10)``, at least 2). With ``tighten`` (default), a module whose
    excess is not bounded below 10 % at ``tol`` (:attr:`~svdkit.lora.factor.Quality.loose`),
    or whose error bound is not settled (:func:`~svdkit.lora.factor.wants_tighter_tol`),
    or whose rank the Ritz values cannot show the smallest for an ``energy`` / ``error``
    rule (:func:`~svdkit.lora.factor.rank_decided`: at ``tol = 1e-2``, ``energy=0.9``
    took 100 for 97), is factored again in float64 on the device at ``tol · 1e-3``, then
    ``tol · 1e-6`` (not below 1e-12), as :func:`~svdkit.lora.factor.factor_delta` does
    (the CPU path takes a rank not shown the smallest whose tighter pass is not
    certified);
    :attr:`Factored.tol` says which ``tol`` the result meets. The factors are float64
    for a float64 delta or from a float64 pass, float32 otherwise — never rounded to a
    narrower precision than the certificate was taken in (a bfloat16 or float16
    delta's factors are float32).

    Raises
    ------
    SvdkitError
        ``tol``, ``seed``, ``method`` or ``max_iter`` out of range (named), a delta
        that is not 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from svdkit.lora import RankRule
    >>> rng = np.random.default_rng(0)
    >>> d = (rng.standard_normal((400, 8)) @ rng.standard_normal((8, 300))).astype(np.float32)
    >>> f = factor_delta_torch(d, RankRule(rank=8), device="cpu", min_size=0)
    >>> f.rank, f.method.startswith("torch-cpu-krylov"), f.U.dtype
    (8, True, dtype('float32'))
    >>> bool(np.linalg.norm(d - (f.U * f.s) @ f.Vh) <= 1e-5 * np.linalg.norm(d))
    True
    """
    import numbers

    import torch

    from svdkit.lora.factor import check_tol
    from svdkit.lowrank.api import METHODS, check_seed

    started = time.perf_counter()
    rule = as_rank_rule(rule)
    tol = check_tol(tol)
    check_seed(seed)
    if not isinstance(method, str) or method not in METHODS:
        raise SvdkitError(
            f"{arg('method')} must be one of {', '.join(METHODS)}; got {got(method)}",
            param="method",
        )
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 2:
        raise SvdkitError(
            f"{arg('max_iter')} must be an integer ≥ 2; got {got(max_iter)}", param="max_iter"
        )
    delta = np.asarray(delta)
    if delta.ndim != 2:
        raise SvdkitError(f"a LoRA delta must be 2-D; got shape {delta.shape}")

    def on_cpu() -> Factored:
        return factor_delta(delta, rule, tol=tol, method=method, seed=seed, tighten=tighten)

    # out of memory: torch.OutOfMemoryError from torch 2.5, torch.cuda's before
    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    try:
        done = _on_device(delta, rule, tol, method, _seed_of(seed), int(max_iter), device,
                          min_size, tighten)
    except oom:
        # a module larger than the device's free memory (an embedding table on a small
        # GPU): the CPU path, which reads it by row blocks
        if str(device).startswith("cuda"):
            torch.cuda.empty_cache()
        done = None
    if done is None:
        return on_cpu()
    (Un, sn, Vhn, quality, how), at, e = done
    # the precision the certificate is of: a float64 pass's factors stay float64 (and
    # σ beyond float32's range, from a float32 delta of entries near it)
    quality = quality.scaled(e)  # (refused where ‖ΔW‖_F is beyond float64's range)
    values = np.ldexp(sn.astype(np.float64), e)
    out = np.float64 if np.float64 in (delta.dtype, Un.dtype) else np.float32
    with np.errstate(over="ignore"):
        if out is np.float32 and not np.all(np.isfinite(values.astype(np.float32))):
            out = np.float64
    return Factored(
        Un.astype(out),
        values.astype(out),
        Vhn.astype(out),
        quality,
        how,
        time.perf_counter() - started,
        at,
    )


def _on_device(
    delta: np.ndarray, rule: RankRule, tol: float, method: str, seed: int, max_iter: int,
    device: str, min_size: int, tighten: bool,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, Quality, str], float, float] | None:
    """:func:`factor_delta_torch`'s work on the device: ``(pass, tol, e)`` — the
    factors of ``delta · 2^−e`` — or ``None`` for the CPU path."""
    import torch

    p = min(delta.shape)
    if (p <= min_size or method == "lapack" or rule.cap(p) == 0 or delta.size == 0
            or np.iscomplexobj(delta)):
        return None  # (a complex delta: its imaginary part was dropped, 70 % off)
    with _full_precision():
        if delta.dtype == np.float32:
            # D is the delta itself, scaled by a power of two on the device (exact)
            D = torch.from_numpy(np.ascontiguousarray(delta)).to(device)
            top = float(torch.max(torch.abs(D)))
            if not math.isfinite(top) or top == 0.0:
                return None  # NaN / inf: the CPU path names the entry; zero: rank 0
            e = math.frexp(top)[1]
            scale = math.ldexp(1.0, e)
            # 2^-e in two factors: one 2^129 (entries below 2^-128) overflows float32
            half = math.ldexp(1.0, -(math.frexp(top)[1] // 2))
            D = D * half * (1.0 / (scale * half))
            exact = D
        else:
            # float64 (or bfloat16, float16): scaled on the host before the float32 copy
            # (entries beyond float32's range, or below it, keep their digits)
            wide = np.asarray(delta, dtype=np.float64)
            top = float(np.max(np.abs(wide)))
            if not math.isfinite(top) or top == 0.0:
                return None
            # (2^-e by ldexp: 2^e itself overflows for entries beyond 2^1023)
            e = math.frexp(top)[1]
            exact = torch.from_numpy(np.ascontiguousarray(np.ldexp(wide, -e))).to(device)
            D = exact.float()
        held: list[Any] = []

        def wide64() -> Any:
            """The (scaled) delta in float64 on the device, for the float64 passes."""
            if not held:
                held.append(exact.double())
            return held[0]

        fro2 = _sum_squares(exact)
        cap = rule.cap(p)
        tight = (rule.tail is not None and rule.tail < _TAIL_RESOLVED) or tol < _TOL_SINGLE
        at = tol
        precision = np.float64 if delta.dtype == np.float64 else np.float32
        found = _factor_on(wide64() if tight else D, exact, rule, cap, fro2, at, seed, max_iter,
                           precision)
        for _ in range(_TIGHTEN_STEPS if tighten else 0):
            if found is None or at <= _TIGHTEST:
                break
            # a loose result, or a rank that these Ritz values cannot show the smallest
            if found[1] and not wants_tighter_tol(found[0][3], rule):
                break
            tighter = max(at * _TIGHTEN, _TIGHTEST)
            again = _factor_on(wide64(), exact, rule, cap, fro2, tighter, seed, max_iter,
                               precision)
            if again is None:
                # not certified at the tighter tol: keep the last result, unless its rank
                # is not shown the smallest (the CPU path's is)
                found = found if found[1] else None
                break
            found, at = again, tighter
    return None if found is None else (found[0], at, e)
