"""PiSSA initialisation: the top-``r`` singular triplets of ``W`` as the adapter, the rest as base.

For each target matrix ``W`` (Meng et al., *PiSSA*, 2024): ``W ≈ U_r Σ_r V_rᵀ``
(certified truncated SVD), ``lora_B = U_r √Σ_r``, ``lora_A = √Σ_r V_rᵀ`` (scale
1: ``lora_alpha = r``), and the new base weight ``W_res = W − B A`` is computed
from the factors **as stored** (after their cast to the output dtype), so
``W_res + scale · B A = W`` holds up to one rounding of ``W_res`` to its dtype.
Everything else is copied. Both outputs are streamed tensor by tensor.

Examples
--------
>>> import numpy as np, tempfile, shutil, pathlib
>>> from svdkit.lora.safetensors_io import Checkpoint, save_safetensors
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> W = np.random.default_rng(0).standard_normal((30, 20)).astype(np.float32)
>>> save_safetensors(d / "base.safetensors", {"fc.weight": W})
>>> ad, res = pissa(d / "base.safetensors", d / "adapter", d / "residual", RankRule(rank=4))
>>> Wr = Checkpoint(res).read("fc.weight")
>>> bool(np.allclose(Wr + ad.modules["fc"].delta(), W, atol=1e-5))
True
>>> shutil.rmtree(d)  # (the example leaves nothing behind)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from svdkit._files import swap_in, write_error
from svdkit.errors import EmptyInputError, FileFormatError
from svdkit.lora._args import check_bool, check_float_dtype, check_path, check_targets
from svdkit.lora.adapter import (
    Adapter,
    LoraModule,
    check_adapter_output,
    store_factors,
    unit_alpha,
)
from svdkit.lora.extract import module_progress, refuse_non_finite
from svdkit.lora.factor import check_tol, split_factors
from svdkit.lora.merge import (
    build_like,
    check_checkpoint_output,
    check_not_input,
    merged_tensor,
)
from svdkit.lora.modules import (
    check_fan_in_fan_out,
    chosen_conv1d,
    is_embedding,
    matches_targets,
    module_of,
    stores_in_out,
)
from svdkit.lora.rank import RankRule, as_rank_rule
from svdkit.lora.safetensors_io import Checkpoint, as_checkpoint
from svdkit.lora.torch_backend import resolve_backend

__all__ = ["pissa"]

_FLOATS = {"F64", "F32", "F16", "BF16"}


def pissa(
    base: str | os.PathLike | Checkpoint,
    adapter_dir: str | os.PathLike,
    residual_out: str | os.PathLike,
    rule: RankRule,
    *,
    targets: Sequence[str] | None = None,
    tol: float = 1e-3,
    method: str = "auto",
    seed: int = 0,
    dtype: Any = np.float32,
    progress: bool = False,
    fan_in_fan_out: bool | Sequence[str] | None = None,
    embedding_modules: Sequence[str] | None = None,
    linear_modules: Sequence[str] | None = None,
    backend: str = "numpy",
) -> tuple[Adapter, Path]:
    """Write the PiSSA adapter to ``adapter_dir`` and the residual model to ``residual_out``.

    ``targets`` (names, suffixes, regexes; a single string is one target) default to
    every 2-D ``*.weight`` that is not an embedding. ``dtype`` is the adapter's storage
    dtype: float32 (default), float16, bfloat16 or float64 (integer dtypes are refused).
    ``rule`` is a :class:`~svdkit.lora.rank.RankRule` or an integer rank. Returns the
    adapter and the residual checkpoint's path. ``fan_in_fan_out``: which layers are
    transformers' ``Conv1D`` (weights ``[in, out]``): ``True`` every chosen module,
    ``False`` none, or a list of them, as in :func:`svdkit.lora.extract.extract`
    (default: GPT-2's names, when a ``config.json`` beside ``base`` names such a
    model). ``embedding_modules`` / ``linear_modules`` say which modules are, or are
    not, embedding tables (never factored here) when their names mislead
    (:func:`svdkit.lora.modules.is_embedding`). ``backend`` is ``"numpy"``, ``"torch"``
    (the large weights on a CUDA GPU, :mod:`svdkit.lora.torch_backend`) or ``"auto"``,
    as in :func:`svdkit.lora.extract.extract`.

    The adapter adds to the residual, not to ``base``: its ``adapter_config.json``
    names ``residual_out`` (as given) in ``base_model_name_or_path``, and its weights
    file carries svdkit's mark (:attr:`~svdkit.lora.adapter.Adapter.pissa_mark`: the
    residual's path and the norms of the weight whose norm PiSSA changes most, before
    and after), with which :func:`~svdkit.lora.merge.merge` refuses the original base.

    Both outputs are checked before any work (:func:`check_adapter_output`,
    :func:`~svdkit.lora.merge.check_checkpoint_output`): neither may be, hold or lie
    in ``base`` or the other (the residual would replace the adapter just written,
    or nest in it). Both are built aside and moved into place together: if
    anything fails, the earlier adapter and residual are left as they were (a new
    adapter never sits beside an old residual it does not pair with).

    Raises
    ------
    EmptyInputError
        No module matches ``targets`` (or every one has rank 0): nothing is written.
    SvdkitError
        An argument of the wrong type or out of range (named in the message), checked
        before anything is read.
    FileFormatError
        ``base`` is a LoRA adapter, or an output cannot be written (see above).

    Examples
    --------
    The adapter holds the top-2 triplets of an 8×6 weight, the residual the rest:
    together they give ``W`` back, and the residual's norm is ``σ₃``.

    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from svdkit.lora import Checkpoint, RankRule, pissa, save_safetensors
    >>> W = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32)
    >>> s = np.linalg.svd(W, compute_uv=False)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     d = pathlib.Path(tmp)
    ...     save_safetensors(d / "base.safetensors", {"fc.weight": W})
    ...     ad, residual = pissa(d / "base.safetensors", d / "adapter", d / "residual.safetensors",
    ...                          RankRule(rank=2))
    ...     R = Checkpoint(residual).read("fc.weight")
    ...     print(sorted(p.name for p in (d / "adapter").iterdir()), residual.name)
    ['adapter_config.json', 'adapter_model.safetensors'] residual.safetensors
    >>> m = ad.modules["fc"]
    >>> m.r, bool(np.allclose(R + m.delta(), W, atol=1e-5))
    (2, True)
    >>> bool(np.isclose(np.linalg.norm(R, 2), s[2], rtol=1e-4))
    True
    """
    tol = check_tol(tol)
    rule = as_rank_rule(rule)
    factor = resolve_backend(backend)
    targets = check_targets(targets)
    progress = check_bool(progress, "progress")
    fan_in_fan_out = check_fan_in_fan_out(fan_in_fan_out)
    embedding_modules = check_targets(embedding_modules, "embedding_modules")
    linear_modules = check_targets(linear_modules, "linear_modules")
    store = check_float_dtype(np.float32 if dtype is None else dtype, "dtype")
    adapter_dir = check_path(adapter_dir, "adapter_dir")
    residual_out = check_path(residual_out, "residual_out")
    ck = as_checkpoint(base, "base").require_model("base")
    shards = {f"base file '{n}'": ck.root / n for n in ck.files}
    check_not_input(adapter_dir, "adapter_dir", base=ck.path, **shards)
    check_not_input(residual_out, "residual_out", base=ck.path, **shards)
    _check_outputs(adapter_dir, residual_out, len(ck.files))
    chosen = []
    for name in ck.names:
        module, param = module_of(name)
        if (
            param == "weight"
            and len(ck.shape(name)) == 2
            and ck.dtype(name) in _FLOATS
            and not is_embedding(module, embedding_modules, linear_modules)
            and matches_targets(module, targets)
        ):
            chosen.append(module)
    if not chosen:
        which = "matches the targets " + str(list(targets)) if targets is not None else "qualifies"
        raise EmptyInputError(
            f"no module of '{ck.path}' {which} (PiSSA factors 2-D floating-point *.weight "
            "matrices that are not embeddings): there is no adapter to write"
        )
    # the adapter adds to the residual, not to W: its config names the residual (PEFT's
    # AutoPeftModel loads that), and its mark lets merge refuse the original base
    adapter = Adapter(base_model_name_or_path=str(residual_out))
    gap = (-1.0, "", 0.0, 0.0)  # (relative gap of the norms, weight, ‖W‖_F, ‖W_res‖_F)
    conv1d = chosen_conv1d(chosen, fan_in_fan_out, stores_in_out(ck))
    with module_progress(progress, len(chosen), "pissa") as advance:
        for module in chosen:
            W = ck.read(f"{module}.weight")  # float32; float64 for an F64 weight (exact)
            refuse_non_finite(W, f"{module}.weight", (("base", ck),))
            stored_W = W
            if module in conv1d:
                W = W.T  # Conv1D stores [in, out] = (B A)ᵀ
            f = factor(W, rule, tol=tol, method=method, seed=seed)
            advance(module)
            if f.rank == 0:
                continue
            B, A = split_factors(f.U, f.s, f.Vh, "sqrt", 1.0)
            A, B = store_factors(module, A, B, store, 1.0)
            kind = "conv1d" if module in conv1d else "linear"
            m = adapter.modules[module] = LoraModule(module, kind, A=A, B=B,
                                                     alpha=unit_alpha(f.rank))
            gap = max(gap, _norm_gap(f"{module}.weight", stored_W, m))
    if not adapter.modules:
        raise EmptyInputError(
            f"every target module has rank 0 under the rule ({len(chosen)} modules): the "
            "adapter would hold no LoRA module, which PEFT cannot load"
        )

    _, tensor, norm_base, norm_residual = gap
    adapter.pissa_mark = {
        "residual": str(residual_out),
        "tensor": tensor,
        "norm_base": norm_base,
        "norm_residual": norm_residual,
    }

    def produce(name: str) -> np.ndarray:
        return merged_tensor(ck, adapter, name, subtract=True)

    # both built aside, then moved into place as one: a failure (a full disk, Ctrl-C)
    # leaves the earlier adapter and residual, which pair, rather than a new adapter
    # beside an old residual
    staged_adapter = adapter.build(adapter_dir)
    staged = None
    try:
        staged, built = build_like(ck, residual_out, produce, progress=progress,
                                   label="residual")
        swap_in([(built, residual_out), (staged_adapter, adapter_dir)])
    except OSError as err:
        raise write_error(f"{adapter_dir}' and '{residual_out}", err) from err
    finally:
        shutil.rmtree(staged_adapter, ignore_errors=True)
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
    return adapter, residual_out


def _norm_gap(name: str, W: np.ndarray, m: LoraModule) -> tuple[float, str, float, float]:
    """``(‖W‖ − ‖W_res‖) / ‖W‖``, ``name``, ``‖W‖_F`` and ``‖W_res‖_F`` (``W − scale·B·A``
    from the stored factors, in float64, in the layout ``W`` is stored in): the
    module whose norms differ most tells the residual from the original best."""
    W64 = np.asarray(W, dtype=np.float64)
    norm = float(np.linalg.norm(W64))
    residual = float(np.linalg.norm(W64 - m.delta(dtype=np.float64)))
    return ((norm - residual) / norm if norm > 0 else 0.0), name, norm, residual


def _check_outputs(adapter_dir: Path, residual: Path, shards: int) -> None:
    """The adapter and the residual can both be written, and neither lies in the other."""
    a, r = adapter_dir.resolve(), residual.resolve()
    if a == r:
        raise FileFormatError(
            f"the adapter and the residual are the same path '{adapter_dir}': choose two"
        )
    for inner, outer, what, given in (
        (a, r, "adapter", (adapter_dir, residual)),
        (r, a, "residual", (residual, adapter_dir)),
    ):
        if outer in inner.parents:
            other = "residual" if what == "adapter" else "adapter"
            raise FileFormatError(
                f"the {what} '{given[0]}' lies inside the {other} '{given[1]}': writing one "
                "would replace or nest in the other; choose two separate paths"
            )
    check_adapter_output(adapter_dir)
    check_checkpoint_output(residual, shards)
