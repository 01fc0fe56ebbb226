"""LoRA extraction on a CUDA GPU: svdkit's torch backend against what GPU users run today.

Needs torch with a CUDA device (results in ``docs/benchmarks.md``, "LoRA on a GPU")::

    python bench/lora_gpu.py [--quick] [--layers N]

Every method starts from the same float32 delta in host memory (where an
extraction reads it, from memory-mapped safetensors) and ends with the rank-``r``
factors in host memory (what it writes); the host-to-device copy is inside every
timing. GPU work is synchronised before each clock read; best of ``repeat`` after a
warm-up call. Peers, in one process on the same matrices:

* **full SVD on the GPU**, ``torch.linalg.svd`` (cuSOLVER) — what mergekit's
  extraction and PEFT's LoRA conversion run when given a GPU. Speed-ups (``×``)
  are against it;
* ``torch.svd_lowrank(q=r, niter=2)`` (torch's default, kohya-style fast paths)
  and ``niter=16`` (PEFT's ``init_lora_weights="pissa_niter_16"``), on the GPU;
* **svdkit** ``factor_delta_torch`` (randomized subspace iteration with the
  residual certificate, on the GPU) at ``tol`` 1e-2 and 1e-3, and svdkit's CPU
  path ``factor_delta`` on the machine's cores, for scale.

Error: ``‖ΔW − ΔW_r‖_F`` in float64 on the host against the optimum (the float64
spectrum), as the excess percentage. Matrices: deltas of power-law spectrum
(``σᵢ = 1/i``, the hard case) and of fast decay (``0.85^i`` + 1 % floor) at
MiniLM, SmolLM2-135M and Llama-7B shapes. Then whole extractions
(:func:`svdkit.lora.extract`) of a synthetic pair of Llama-7B-shaped layers,
``backend="torch"`` against ``backend="numpy"`` and a full-SVD loop on the GPU.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe

import svdkit.lora.read_ahead as read_ahead
from svdkit.lora import RankRule, extract, save_safetensors
from svdkit.lora.extract import read_delta
from svdkit.lora.factor import factor_delta
from svdkit.lora.read_ahead import READ_AHEAD_BYTES
from svdkit.lora.torch_backend import factor_delta_torch

#: torch device of the run (``--device cpu`` checks the script on a machine without a GPU)
DEVICE = "cuda"


def sync() -> None:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def gpu_delta(m: int, n: int, kind: str, seed: int) -> np.ndarray:
    """``U diag(σ) Vᵀ`` (float32, host) with ``σᵢ = 1/i`` or ``0.85^i + 0.01``, made on the GPU."""
    import torch

    g = torch.Generator(device=DEVICE).manual_seed(seed)
    p = min(m, n)
    i = torch.arange(1, p + 1, device=DEVICE, dtype=torch.float64)
    s = 1.0 / i if kind == "power" else 0.85**i + 0.01
    U, _ = torch.linalg.qr(torch.randn(m, p, device=DEVICE, dtype=torch.float64, generator=g))
    V, _ = torch.linalg.qr(torch.randn(n, p, device=DEVICE, dtype=torch.float64, generator=g))
    return ((U * s) @ V.T).float().cpu().numpy()


def timed(fn, repeat: int):
    """Best of ``repeat`` wall-clock runs after one warm-up, GPU synchronised."""
    out = fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        sync()
        t = time.perf_counter()
        out = fn()
        sync()
        best = min(best, time.perf_counter() - t)
    return best, out


def err_of(d64: np.ndarray, U, s, Vh) -> float:
    U, s, Vh = (np.asarray(x, dtype=np.float64) for x in (U, s, Vh))
    return float(np.linalg.norm(d64 - (U * s) @ Vh))


def compare(label: str, d: np.ndarray, ranks: list[int], repeat: int) -> Iterator[str]:
    import torch

    d64 = d.astype(np.float64)
    sigma = np.linalg.svd(d64, compute_uv=False)
    fro2 = float(np.sum(sigma**2))

    def full():
        U, S, Vh = torch.linalg.svd(torch.from_numpy(d).to(DEVICE), full_matrices=False)
        return U, S, Vh

    t_full, (Uf, Sf, Vhf) = timed(full, 1 if d.size > 2**23 else repeat)
    yield f"{label}: full SVD on the GPU (torch.linalg.svd) {t_full * 1e3:.1f} ms"
    for r in ranks:
        opt = float(np.sqrt(np.sum(sigma[r:] ** 2)))
        rows = [("full SVD torch.linalg.svd, GPU", t_full,
                 err_of(d64, Uf[:, :r].cpu(), Sf[:r].cpu(), Vhf[:r].cpu()), "")]
        for niter in (2, 16):
            def low(q=r, n=niter):
                torch.manual_seed(0)
                U, S, V = torch.svd_lowrank(torch.from_numpy(d).to(DEVICE), q=q, niter=n)
                return U.cpu(), S.cpu(), V.cpu()

            t, (U, S, V) = timed(low, repeat)
            rows.append((f"torch.svd_lowrank niter={niter}, GPU", t,
                         err_of(d64, U, S, V.T), ""))
        for tol in (1e-2, 1e-3):
            t, f = timed(lambda tl=tol, q=r: factor_delta_torch(
                d, RankRule(rank=q), tol=tl, device=DEVICE, min_size=0, tighten=False), repeat)
            bound = f.quality.excess
            bound = "∞" if bound is None or bound == float("inf") else f"{100 * bound:.3f} %"
            rows.append((f"svdkit GPU tol={tol:g}", t, err_of(d64, f.U, f.s, f.Vh),
                         f"{f.method}, certified ≤ {bound}"))
        t, f = timed(lambda q=r: factor_delta(d, RankRule(rank=q), tol=1e-3, tighten=False), 1)
        rows.append(("svdkit CPU tol=0.001 (host cores)", t, err_of(d64, f.U, f.s, f.Vh), f.method))
        yield f"  rank {r} (optimum error {opt / np.sqrt(fro2):.4f}·‖ΔW‖_F)"
        for name, t, err, note in rows:
            yield (f"    {name:36s} {t * 1e3:9.1f} ms  ×{t_full / t:7.1f}  "
                   f"excess {100 * (err / opt - 1):7.3f} %  {note}")


#: one Llama-7B decoder layer's linear modules
LLAMA_SHAPES = {"self_attn.q_proj": (4096, 4096), "self_attn.k_proj": (4096, 4096),
                "self_attn.v_proj": (4096, 4096), "self_attn.o_proj": (4096, 4096),
                "mlp.gate_proj": (11008, 4096), "mlp.up_proj": (11008, 4096),
                "mlp.down_proj": (4096, 11008)}


#: one SmolLM2-135M decoder layer's linear modules (30 layers: 210 modules)
SMOLLM2_SHAPES = {"self_attn.q_proj": (576, 576), "self_attn.k_proj": (192, 576),
                  "self_attn.v_proj": (192, 576), "self_attn.o_proj": (576, 576),
                  "mlp.gate_proj": (1536, 576), "mlp.up_proj": (1536, 576),
                  "mlp.down_proj": (576, 1536)}


def model_pair(
    root: Path, layers: int, shapes: dict[str, tuple[int, int]], seed: int = 0
) -> tuple[Path, Path]:
    """Decoder layers of the given module shapes in bfloat16; the tuned model adds a
    power-law delta (``σᵢ = 0.05/i``, rank ≤ 256) plus a 1 % full-rank tail, and both
    are rounded to bfloat16 (whose rounding is a flat tail as large as the delta)."""
    import ml_dtypes
    import torch

    g = torch.Generator(device=DEVICE).manual_seed(seed)
    base, tuned = {}, {}
    for layer in range(layers):
        for name, (m, n) in shapes.items():
            W = 0.02 * torch.randn(m, n, device=DEVICE, generator=g)
            k = min(m, n, 256)
            U, _ = torch.linalg.qr(torch.randn(m, k, device=DEVICE, generator=g))
            V, _ = torch.linalg.qr(torch.randn(n, k, device=DEVICE, generator=g))
            s = 0.05 / torch.arange(1, k + 1, device=DEVICE)
            D = (U * s) @ V.T
            noise = torch.randn(m, n, device=DEVICE, generator=g)
            D += 0.01 * torch.linalg.norm(D) / torch.linalg.norm(noise) * noise
            key = f"model.layers.{layer}.{name}.weight"
            base[key] = W.cpu().numpy().astype(ml_dtypes.bfloat16)
            tuned[key] = (W + D).cpu().numpy().astype(ml_dtypes.bfloat16)
    save_safetensors(root / "base.safetensors", base)
    save_safetensors(root / "tuned.safetensors", tuned)
    return root / "base.safetensors", root / "tuned.safetensors"


def model_bench(
    model: str, shapes: dict[str, tuple[int, int]], layers: int, rank: int
) -> Iterator[str]:
    import torch

    from svdkit.lora import Checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        base, tuned = model_pair(Path(tmp), layers, shapes)
        modules = len(shapes) * layers
        yield f"whole extraction, {layers} {model} layers ({modules} modules, bf16), rank {rank}:"

        def full_loop():  # mergekit / PEFT on a GPU: the full SVD of every delta
            b, t = Checkpoint(base), Checkpoint(tuned)
            out = {}
            for key in t.names:
                D = (torch.from_numpy(t.read(key, np.float32)).to(DEVICE)
                     - torch.from_numpy(b.read(key, np.float32)).to(DEVICE))
                U, S, Vh = torch.linalg.svd(D, full_matrices=False)
                out[key] = (U[:, :rank].cpu(), S[:rank].cpu(), Vh[:rank].cpu())
            return out

        sync()
        t0 = time.perf_counter()
        full_loop()
        sync()
        t_full = time.perf_counter() - t0
        yield f"  full SVD per module, GPU (torch.linalg.svd)  {t_full:7.2f} s (one run)"
        b, t = Checkpoint(base), Checkpoint(tuned)
        t_read = math.inf
        for _ in range(2):  # what the host spends reading: every delta formed, nothing else
            t0 = time.perf_counter()
            for key in t.names:
                read_delta(b, t, key, np.float32)
            t_read = min(t_read, time.perf_counter() - t0)
        yield f"  reading every delta alone (read_delta)       {t_read:7.2f} s"
        # method="krylov" turns off the stacks of small modules: every module on the GPU;
        # read-ahead off (a budget of 0): each module read only once the last is factored
        configs = (("torch", "auto", READ_AHEAD_BYTES), ("torch", "auto", 0),
                   ("torch", "krylov", READ_AHEAD_BYTES), ("numpy", "auto", READ_AHEAD_BYTES))
        for backend, method, budget in configs:
            t = math.inf
            read_ahead.READ_AHEAD_BYTES = budget
            for _ in range(2):  # the first torch run pays CUDA's start-up
                if DEVICE == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                ex = extract(base, tuned, RankRule(rank=rank), backend=backend, method=method)
                t = min(t, time.perf_counter() - t0)
            read_ahead.READ_AHEAD_BYTES = READ_AHEAD_BYTES
            peak = (f", GPU peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
                    if DEVICE == "cuda" and backend == "torch" else "")
            worst = max((m.excess or 0.0) for m in ex.report.modules)
            methods = sorted({m.method.split("(")[0] for m in ex.report.modules})
            ahead = "" if budget else " (no read-ahead)"
            yield (f"  svdkit extract backend={backend:5s} method={method:6s}{ahead} {t:7.2f} s  "
                   f"×{t_full / t:6.1f}  worst certified excess ≤ {100 * worst:.3f} %  "
                   f"{','.join(methods)}{peak}")


def pissa_bench(m: int, n: int, ranks: list[int]) -> Iterator[str]:
    """PiSSA's factoring of a weight (not a delta): a slowly decaying spectrum
    ``σᵢ = i^-½`` (trained weights' spectra decay slowly; the hard case) — the full SVD
    on the GPU (PEFT's ``init_lora_weights="pissa"``), ``svd_lowrank(niter=16)``
    (``"pissa_niter_16"``), svdkit with ``tighten`` (as ``pissa`` runs it)."""
    import torch

    g = torch.Generator(device=DEVICE).manual_seed(m + n)
    p = min(m, n)
    U, _ = torch.linalg.qr(torch.randn(m, p, device=DEVICE, generator=g))
    V, _ = torch.linalg.qr(torch.randn(n, p, device=DEVICE, generator=g))
    s = torch.arange(1, p + 1, device=DEVICE, dtype=torch.float32) ** -0.5
    W = ((U * s) @ V.T).cpu().numpy()
    sigma = s.double().cpu().numpy()
    W64 = W.astype(np.float64)

    def full():
        U, S, Vh = torch.linalg.svd(torch.from_numpy(W).to(DEVICE), full_matrices=False)
        return U, S, Vh

    t_full, (Uf, Sf, Vhf) = timed(full, 1)
    yield f"PiSSA of a {m}×{n} weight (σᵢ = i^-½): full SVD on the GPU {t_full * 1e3:.0f} ms"
    for r in ranks:
        opt = float(np.sqrt(np.sum(sigma[r:] ** 2)))

        def low(q=r):
            torch.manual_seed(0)
            U, S, V = torch.svd_lowrank(torch.from_numpy(W).to(DEVICE), q=q, niter=16)
            return U.cpu(), S.cpu(), V.cpu()

        t_low, (Ul, Sl, Vl) = timed(low, 3)
        t_kit, f = timed(lambda q=r: factor_delta_torch(W, RankRule(rank=q), device=DEVICE), 3)
        bound = f.quality.excess
        bound = "∞" if bound is None or bound == float("inf") else f"{100 * bound:.3f} %"
        for name, t, err, note in (
            ("full SVD, GPU (pissa)", t_full,
             err_of(W64, Uf[:, :r].cpu(), Sf[:r].cpu(), Vhf[:r].cpu()), ""),
            ("svd_lowrank niter=16 (pissa_niter_16)", t_low, err_of(W64, Ul, Sl, Vl.T), ""),
            ("svdkit GPU", t_kit, err_of(W64, f.U, f.s, f.Vh),
             f"{f.method}, tol {f.tol:g}, certified ≤ {bound}"),
        ):
            yield (f"  rank {r:3d} {name:38s} {t * 1e3:8.1f} ms  ×{t_full / t:6.1f}  "
                   f"excess {100 * (err / opt - 1):7.4f} %  {note}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="MiniLM and SmolLM2 shapes only")
    ap.add_argument("--models-only", action="store_true", help="whole extractions only")
    ap.add_argument("--pissa-only", action="store_true", help="PiSSA's factoring only")
    ap.add_argument("--layers", type=int, default=2, help="Llama-7B layers in the model run")
    ap.add_argument("--device", default="cuda", help="torch device (cpu: a check of the script)")
    args = ap.parse_args()
    import torch

    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench/lora_gpu.py needs torch with a CUDA device (or --device cpu)")
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "CPU device"
    print(describe())
    print(f"torch {torch.__version__}, {name}, "
          f"{len(os.sched_getaffinity(0))} host cores; "
          f"float32 matmul precision {torch.get_float32_matmul_precision()!r}", flush=True)
    shapes = [("MiniLM query", 384, 384, [8, 32]), ("MiniLM intermediate", 1536, 384, [8, 32]),
              ("SmolLM2 gate", 1536, 576, [8, 32])]
    if not args.quick:
        shapes += [("Llama-7B q", 4096, 4096, [8, 32, 128]),
                   ("Llama-7B gate", 11008, 4096, [8, 32, 128])]
    for label, m, n, ranks in [] if args.models_only or args.pissa_only else shapes:
        for kind in ("power", "decay"):
            for line in compare(f"{label} {m}×{n} {kind}", gpu_delta(m, n, kind, m + n), ranks, 3):
                print(line, flush=True)
    if not args.quick and not args.pissa_only and args.layers:
        for rank in (8, 32):
            for line in model_bench("Llama-7B", LLAMA_SHAPES, args.layers, rank):
                print(line, flush=True)
    if not args.pissa_only:
        for rank in (8, 32):
            for line in model_bench("SmolLM2-135M", SMOLLM2_SHAPES, 30, rank):
                print(line, flush=True)
    if not args.quick:
        for m, n in ((4096, 4096), (11008, 4096)):
            for line in pissa_bench(m, n, [16, 64]):
                print(line, flush=True)


if __name__ == "__main__":
    main()
