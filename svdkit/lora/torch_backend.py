"""Optional GPU backend: :func:`~svdkit.lora.factor.factor_delta`'s certified factoring, on CUDA.

Used by :func:`svdkit.lora.extract.extract` with ``backend="torch"`` (or
``"auto"`` when torch sees a GPU). Block Krylov iteration (Musco & Musco 2015,
each block orthogonalised twice against the basis) with Rayleigh–Ritz, then the
same certificate as the CPU path: both residuals ``‖ΔW vᵢ − σᵢ uᵢ‖`` and
``‖ΔWᵀ uᵢ − σᵢ vᵢ‖`` of every kept triplet computed and compared with
``tol · σ₁``; more blocks until they pass. Energy and error rules widen the
block (doubling) until the energy asked for, counted against the exact
``‖ΔW‖_F²``, is inside it.

Everything runs on the device: the first pass in float32 (at full float32
precision, whatever ``torch.set_float32_matmul_precision`` says: TF32 products
would make the certificate's residuals wrong), and, where the excess over the
optimum error is not bounded below 10 % at ``tol``
(:attr:`~svdkit.lora.factor.Quality.loose`), or a rule asks for more than float32
resolves, passes in float64 at ``tol · 1e-3`` and ``tol · 1e-6`` (the CPU path's
schedule). The bound of the optimum (:func:`~svdkit.lora.factor.gap_lower_bound`)
and a small error's exact measure are float64 passes on the device too. The
NumPy/SciPy path takes over only when a pass is not certified within ``max_iter``
blocks. Nothing here is imported unless asked for.

Measured on an H100 (``bench/lora_gpu.py``, ``docs/benchmarks.md``): a
4096×4096 delta at rank 32 in 10–30 ms against 1.2–1.8 s for the full SVD on the
same GPU.
"""

from __future__ import annotations

import contextlib
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
    noise_floor,
    sharpen,
)
from svdkit.lora.rank import RankRule

__all__ = ["cuda_available", "factor_delta_torch", "resolve_backend"]

#: Energy and error are counted in a float32 pass from float32 singular values and
#: products: ``‖ΔW‖_F² − Σ σᵢ²`` is known to about ``1e-7 · ‖ΔW‖_F²``. Rules that may
#: leave out less than this fraction run in float64 from the start ...
_TAIL_RESOLVED = 1e-5
#: ... and an error below this fraction of ``‖ΔW‖_F`` is measured by a float64 pass.
_ERROR_RESOLVED = 1e-3


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
    new block is orthogonalised against the basis twice (classical Gram–Schmidt
    with reorthogonalisation) and by a QR, so the basis stays orthonormal in float32.
    Yields ``(j, U, s, Vh)`` (the top ``k`` Ritz triplets of ``K_j``) at
    ``j = 2, 3, 4, 6, 8, 12, 16, 24, …`` and at ``max_blocks``; the caller stops
    when they are certified. A block costs the two products of one subspace
    iteration and converges as the square root of its gap ratio: on the flat
    tails of real deltas (a bf16 fine-tune's rounding) subspace iteration did not
    certify rank 32 of a 4096×4096 delta in 32 iterations, Krylov did in 12 blocks.
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
            # a last QR: a block that reached the end of the Krylov space (a delta of
            # low exact rank) is orthonormal in itself but not to the basis
            Q, _ = torch.linalg.qr(basis)
            Ub, s, Vh = torch.linalg.svd(Q.T @ D, full_matrices=False)
            yield j, Q @ Ub[:, :k], s[:k], Vh[:k]


def _checked(j: int) -> bool:
    """Whether the certificate is taken after block ``j``: 2, 3, 4, 6, 8, 12, 16, 24, …"""
    return (j & (j - 1)) == 0 or (j % 3 == 0 and ((j // 3) & (j // 3 - 1)) == 0)


def _gap_lower_bound(D: Any, Vh: Any, fro2: float) -> float:
    """:func:`~svdkit.lora.factor.gap_lower_bound` on the device, ``D`` float64."""
    import torch

    r = Vh.shape[0]
    if r == 0:
        return math.sqrt(max(0.0, fro2))
    V, _ = torch.linalg.qr(Vh.to(D.dtype).T)
    X = D @ V
    gram = X.T @ X
    HV = D.T @ X
    slack = 64 * float(np.finfo(np.float64).eps) * fro2
    outside = fro2 - float(torch.trace(gram))
    gap = float(torch.linalg.eigvalsh(gram)[0]) - (outside + slack)
    if gap <= 0.0:
        return 0.0
    b2 = float(torch.linalg.norm(HV - V @ (V.T @ HV)) ** 2)
    return math.sqrt(max(0.0, outside - slack - b2 / gap))


def _factor_on(
    D: Any, rule: RankRule, cap: int, fro2: float, tol: float, seed: int, max_iter: int,
    wide: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Quality, str] | None:
    """One certified pass on ``D``'s device and dtype, or ``None`` when not certified.

    ``wide()`` gives ``D`` in float64 (made once, when first needed) for the bound
    of the optimum and the exact measure of a small error.
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
            else:
                r = rule.select(s.double().cpu().numpy(), fro2)
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
    P = Uk.T @ D
    cross = float(torch.sum(torch.sum(P.double() * Vk.double(), dim=1) * sk.double()))
    ss = float(torch.sum(sk.double() ** 2))
    error = math.sqrt(max(0.0, fro2 - 2 * cross + ss))
    if error < _ERROR_RESOLVED * math.sqrt(fro2):
        W = wide()
        error = float(torch.linalg.norm(W - (Uk.double() * sk.double()) @ Vk.double()))
    Un, sn, Vhn = Uk.cpu().numpy(), sk.cpu().numpy(), Vk.cpu().numpy()
    rho = torch.maximum(right, left).double().cpu().numpy()
    dtype = np.float64 if D.dtype == torch.float64 else np.float32
    quality = Quality(
        rank=int(r),
        fro=math.sqrt(fro2),
        energy_kept=ss / fro2,
        error=error,
        optimum_lower=first_order_lower(sn, rho, fro2),
        floor=noise_floor(math.sqrt(fro2), dtype),  # the pass's own precision
    )
    quality = sharpen(quality, None, sn, rho, Vhn, fro2,
                      gap_bound=lambda: _gap_lower_bound(wide(), Vk, fro2))
    name = "float64" if dtype == np.float64 else "float32"
    return Un, sn, Vhn, quality, f"torch-{D.device.type}-krylov({blocks} blocks, {name})"


def factor_delta_torch(
    delta: np.ndarray,
    rule: RankRule,
    *,
    tol: float = 1e-3,
    method: str = "auto",
    seed: int = 0,
    max_iter: int = 24,
    device: str = "cuda",
    min_size: int = 256,
    tighten: bool = True,
) -> Factored:
    """:func:`~svdkit.lora.factor.factor_delta` on the GPU; falls back to it when not certified.

    ``device`` is any torch device (the tests run the algorithm on ``"cpu"``);
    modules with ``min(m, n) ≤ min_size`` go to the CPU path (LAPACK is faster there),
    and so does ``method="lapack"``. ``max_iter`` is the most Krylov blocks of a pass.
    With ``tighten`` (default), a module whose excess is not bounded below 10 % at
    ``tol`` (:attr:`~svdkit.lora.factor.Quality.loose`) is factored again in float64
    on the device at ``tol · 1e-3``, then ``tol · 1e-6`` (not below 1e-12), as
    :func:`~svdkit.lora.factor.factor_delta` does; :attr:`Factored.tol` says which
    ``tol`` the result meets.
    """
    import torch

    started = time.perf_counter()
    try:
        done = _on_device(delta, rule, tol, method, seed, max_iter, device, min_size, tighten)
    except torch.OutOfMemoryError:
        # a module larger than the device's free memory (an embedding table on a small
        # GPU): the CPU path, which reads it by row blocks
        if str(device).startswith("cuda"):
            torch.cuda.empty_cache()
        done = None
    if isinstance(done, Factored):
        return done
    if done is None:
        return factor_delta(delta, rule, tol=tol, method="auto", seed=seed, tighten=tighten)
    (Un, sn, Vhn, quality, how), at = done
    return Factored(
        Un.astype(delta.dtype),
        sn.astype(delta.dtype),
        Vhn.astype(delta.dtype),
        quality,
        how,
        time.perf_counter() - started,
        at,
    )


def _on_device(
    delta: np.ndarray, rule: RankRule, tol: float, method: str, seed: int, max_iter: int,
    device: str, min_size: int, tighten: bool,
) -> Factored | tuple[tuple[np.ndarray, np.ndarray, np.ndarray, Quality, str], float] | None:
    """:func:`factor_delta_torch`'s work: the CPU path's result for the modules it does
    not take, ``(pass, tol)`` when certified, ``None`` when the first pass is not."""
    import torch

    with _full_precision():
        D = torch.from_numpy(np.ascontiguousarray(delta, dtype=np.float32)).to(device)
        exact = np.asarray(delta).dtype == np.float32  # D is then the delta itself
        held: list[Any] = []

        def wide() -> Any:
            """The delta in float64 on the device: widened there when ``D`` is exact (a
            copy from the host, widened on the CPU, took 32 ms for 4096², 0.1 ms there)."""
            if not held:
                held.append(D.double() if exact else torch.from_numpy(
                    np.ascontiguousarray(delta, dtype=np.float64)).to(device))
            return held[0]

        # ‖ΔW‖_F² summed in float64, of the delta as given (a float64 delta is not its
        # float32 copy), with no widened copy of it
        fro2 = float(torch.linalg.vector_norm(D if exact else wide(), dtype=torch.float64)) ** 2
        p = min(D.shape)
        cap = rule.cap(p)
        if fro2 == 0.0 or p <= min_size or method == "lapack" or cap == 0:
            return factor_delta(delta, rule, tol=tol, method=method, seed=seed, tighten=tighten)

        tight = rule.tail is not None and rule.tail < _TAIL_RESOLVED
        at = tol
        found = _factor_on(wide() if tight else D, rule, cap, fro2, at, seed, max_iter, wide)
        for _ in range(_TIGHTEN_STEPS if tighten else 0):
            if found is None or not found[3].loose or at <= _TIGHTEST:
                break
            tighter = max(at * _TIGHTEN, _TIGHTEST)
            again = _factor_on(wide(), rule, cap, fro2, tighter, seed, max_iter, wide)
            if again is None:
                break  # not certified at the tighter tol: keep the last result
            found, at = again, tighter
    return None if found is None else (found, at)
