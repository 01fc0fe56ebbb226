"""Optional GPU backend: :func:`~svdkit.lora.factor.factor_delta`'s certified factoring, on CUDA.

Used by :func:`svdkit.lora.extract.extract` with ``backend="torch"`` (or
``"auto"`` when torch sees a GPU). Randomized subspace iteration
(Halko–Martinsson–Tropp, Alg. 4.4, QR-normalised each pass) with
Rayleigh–Ritz, then the same certificate as the CPU path: both residuals
``‖ΔW vᵢ − σᵢ uᵢ‖`` and ``‖ΔWᵀ uᵢ − σᵢ vᵢ‖`` of every kept triplet computed
and compared with ``tol · σ₁``; more iterations until they pass, and the
NumPy/SciPy path when they do not within ``max_iter`` — or when the excess over
the optimum error is not bounded below 10 % at ``tol``
(:attr:`~svdkit.lora.factor.Quality.loose`; that path tightens ``tol``). Energy and error rules
widen the subspace (doubling) until the energy asked for, counted against the
exact ``‖ΔW‖_F²``, is inside it. Nothing here is imported unless asked for.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from svdkit.lora.factor import (
    Factored,
    Quality,
    factor_delta,
    first_order_lower,
    noise_floor,
    residual_norm,
    sharpen,
)
from svdkit.lora.rank import RankRule

__all__ = ["cuda_available", "factor_delta_torch"]

#: Energy and error are counted here from float32 singular values and products:
#: ``‖ΔW‖_F² − Σ σᵢ²`` is known to about ``1e-7 · ‖ΔW‖_F²``. Rules that may leave
#: out less than this fraction go to the float64 CPU path ...
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


def _subspace(D: Any, k: int, iters: int, seed: int) -> tuple[Any, Any, Any]:
    import torch

    g = torch.Generator(device=D.device).manual_seed(seed)
    n = D.shape[1]
    Q = torch.randn(n, k, device=D.device, dtype=D.dtype, generator=g)
    Q, _ = torch.linalg.qr(D @ Q)
    for _ in range(iters):
        Z, _ = torch.linalg.qr(D.T @ Q)
        Q, _ = torch.linalg.qr(D @ Z)
    Ub, s, Vh = torch.linalg.svd(Q.T @ D, full_matrices=False)
    return Q @ Ub, s, Vh


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
    modules with ``min(m, n) ≤ min_size`` go to the CPU path (LAPACK is faster there).
    With ``tighten`` (default), a module whose excess is not bounded below 10 % at
    ``tol`` (:attr:`~svdkit.lora.factor.Quality.loose`) goes to the CPU path too, which
    tightens ``tol`` (:func:`~svdkit.lora.factor.factor_delta`); without, it is kept
    as it is.
    """
    import torch

    started = time.perf_counter()
    D = torch.from_numpy(np.ascontiguousarray(delta, dtype=np.float32)).to(device)
    fro2 = float(torch.sum(D.double() ** 2))
    p = min(D.shape)
    cap = rule.cap(p)
    tight = rule.tail is not None and rule.tail < _TAIL_RESOLVED
    if fro2 == 0.0 or p <= min_size or method == "lapack" or tight:
        return factor_delta(delta, rule, tol=tol, method=method, seed=seed, tighten=tighten)
    want = cap if rule.rank is not None else min(cap, 32)
    while True:
        k = min(p, want + 10)
        iters = 2
        while True:
            U, s, Vh = _subspace(D, k, iters, seed)
            if rule.rank is not None:
                r = min(cap, s.numel())
            else:
                r = rule.select(s.double().cpu().numpy(), fro2)
            Uk, sk, Vk = U[:, :r], s[:r], Vh[:r]
            right = torch.linalg.norm(D @ Vk.T - Uk * sk, dim=0)
            left = torch.linalg.norm(D.T @ Uk - Vk.T * sk, dim=0)
            worst = float(torch.max(torch.maximum(right, left))) if r else 0.0
            if worst <= tol * float(s[0]) or iters >= max_iter:
                break
            iters *= 2
        if worst > tol * float(s[0]):
            return factor_delta(delta, rule, tol=tol, method="auto", seed=seed, tighten=tighten)
        reached = rule.rank is not None or r < k - 10 or k >= cap or r >= cap
        if reached:
            break
        want = min(cap, 2 * want)
    Un, sn, Vhn = Uk.cpu().numpy(), sk.cpu().numpy(), Vk.cpu().numpy()
    P = Uk.T @ D
    cross = float(torch.sum(torch.sum(P.double() * Vk.double(), dim=1) * sk.double()))
    ss = float(torch.sum(sk.double() ** 2))
    rho = torch.maximum(right, left).double().cpu().numpy()
    error = math.sqrt(max(0.0, fro2 - 2 * cross + ss))
    if error < _ERROR_RESOLVED * math.sqrt(fro2):
        error = residual_norm(delta, Un, sn, Vhn)
    quality = Quality(
        rank=int(r),
        fro=math.sqrt(fro2),
        energy_kept=ss / fro2,
        error=error,
        optimum_lower=first_order_lower(sn, rho, fro2),
        floor=noise_floor(math.sqrt(fro2), np.float32),  # computed in float32
    )
    quality = sharpen(quality, delta, sn, rho, Vhn, fro2)
    if tighten and quality.loose:
        # no useful excess bound at tol: the CPU path, which tightens tol
        return factor_delta(delta, rule, tol=tol, method="auto", seed=seed, tighten=tighten)
    return Factored(
        Un.astype(delta.dtype),
        sn.astype(delta.dtype),
        Vhn.astype(delta.dtype),
        quality,
        f"torch-{D.device.type}-subspace({iters} it)",
        time.perf_counter() - started,
        tol,
    )
