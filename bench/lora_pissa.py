"""``svdkit lora pissa`` on a model of many small modules: batched against one at a time.

A synthetic SmolLM2-135M (``--layers`` 30: 210 linear modules of 576×576, 192×576,
1536×576 and 576×1536; weights ``10 · U diag(σ) Vᵀ``, ``σᵢ = i^-1``, as
``bench/lora.py``'s deltas) is written in BF16 (the checkpoint's dtype) or F32, then
:func:`svdkit.lora.pissa` runs on it, alternately as it is (small modules of one shape
stacked, :func:`svdkit.lora.batched.factor_batch`) and with every batch a single module
(the one-at-a-time path), ``--repeat`` times each. Prints the median and the best wall
and CPU times of the whole call (reading, factoring, writing adapter and residual),
and checks that both paths chose the same ranks::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/lora_pissa.py [--dtype bf16] [--rank 8]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe
from lora import spectrum_delta

from svdkit.lora import RankRule, pissa, save_safetensors

SHAPES = {
    "self_attn.q_proj": (576, 576),
    "self_attn.k_proj": (192, 576),
    "self_attn.v_proj": (192, 576),
    "self_attn.o_proj": (576, 576),
    "mlp.gate_proj": (1536, 576),
    "mlp.up_proj": (1536, 576),
    "mlp.down_proj": (576, 1536),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--dtype", choices=("bf16", "f32"), default="bf16")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(describe())
    import ml_dtypes

    module = importlib.import_module("svdkit.lora.pissa")
    batched_plan = module.plan_batches

    def single(items, rule):
        return [[i] for i in range(len(items))]

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        tensors = {}
        for layer in range(args.layers):
            for j, (name, (m, n)) in enumerate(SHAPES.items()):
                W = 10 * spectrum_delta(m, n, "power", 100 + 7 * layer + j)
                key = f"model.layers.{layer}.{name}.weight"
                tensors[key] = W.astype(ml_dtypes.bfloat16) if args.dtype == "bf16" else W
        save_safetensors(d / "base.safetensors", tensors)
        rule = RankRule(rank=args.rank)
        wall: dict[str, list[float]] = {"one at a time": [], "batched": []}
        cpu: dict[str, list[float]] = {"one at a time": [], "batched": []}
        ranks: dict[str, list[int]] = {}
        for _ in range(args.repeat):
            for label, plan in (("one at a time", single), ("batched", batched_plan)):
                module.plan_batches = plan
                rows: list = []
                t, c = time.perf_counter(), time.process_time()
                pissa(d / "base.safetensors", d / "adapter", d / "residual.safetensors", rule,
                      report=rows)
                wall[label].append(time.perf_counter() - t)
                cpu[label].append(time.process_time() - c)
                ranks[label] = [r.rank for r in rows]
        module.plan_batches = batched_plan
    print(f"pissa, {len(tensors)} modules ({args.dtype.upper()}), rank {args.rank}, "
          f"{args.repeat} runs each:")
    for label in wall:
        print(f"  {label:14s} wall median {statistics.median(wall[label]):6.3f} s "
              f"(best {min(wall[label]):.3f}), CPU median {statistics.median(cpu[label]):6.3f} s")
    one, many = (statistics.median(wall[k]) for k in ("one at a time", "batched"))
    print(f"  speed-up (medians) ×{one / many:.2f}; same ranks: "
          f"{ranks['one at a time'] == ranks['batched']}")
    assert np.all(np.array(ranks["batched"]) == args.rank)


if __name__ == "__main__":
    main()
