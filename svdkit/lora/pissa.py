"""PiSSA initialisation: the top-``r`` singular triplets of ``W`` as the adapter, the rest as base.

For each target matrix ``W`` (Meng et al., *PiSSA*, 2024): ``W ≈ U_r Σ_r V_rᵀ``
(certified truncated SVD), ``lora_B = U_r √Σ_r``, ``lora_A = √Σ_r V_rᵀ`` (scale
1: ``lora_alpha = r``), and the new base weight ``W_res = W − B A`` is computed
from the factors **as stored** (after their cast to the output dtype), in float64,
and rounded once, so ``W_res + scale · B A = W`` holds up to one rounding of
``W_res`` to its dtype.
Everything else is copied. Both outputs are streamed tensor by tensor. Small
modules of one shape are factored together (:func:`svdkit.lora.batched.factor_batch`,
as :func:`~svdkit.lora.extract.extract` does; the same certificate and ranks), a batch
of at most :data:`~svdkit.lora.batched.BATCH_BYTES` of weights at a time.

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

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from svdkit._files import swap_in, write_error
from svdkit._naming import arg
from svdkit._words import counted
from svdkit.errors import EmptyInputError, FileFormatError, SvdkitError
from svdkit.lora._args import check_bool, check_float_dtype, check_path, check_targets
from svdkit.lora.adapter import (
    Adapter,
    FactorUnderflowError,
    LoraModule,
    check_adapter_output,
    store_factors,
    unit_alpha,
)
from svdkit.lora.batched import factor_batch, plan_batches
from svdkit.lora.extract import capped_by_max_rank, module_progress, refuse_non_finite
from svdkit.lora.factor import (
    check_tol,
    factor_delta,
    residual_norm,
    split_factors,
    unbounded_norm,
)
from svdkit.lora.merge import (
    StoredHeadTie,
    build_like,
    check_checkpoint_output,
    check_not_input,
    merged_tensor,
    refuse_quantised,
    side_files,
)
from svdkit.lora.modules import (
    TIED_HEAD,
    check_fan_in_fan_out,
    chosen_conv1d,
    is_embedding,
    matches_targets,
    module_of,
    stores_in_out,
    ties_word_embeddings,
)
from svdkit.lora.rank import RankRule, as_rank_rule, unmet_note
from svdkit.lora.safetensors_io import Checkpoint, as_checkpoint, dtype_code
from svdkit.lora.torch_backend import resolve_backend

__all__ = ["PissaModule", "pissa", "pissa_notes"]

# F8 weights too: read widened exactly, their residual rounded once to the nearest F8 value
# (an e4m3fn residual past its 448 is refused by name, as merge refuses it)
_FLOATS = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PissaModule:
    """One module :func:`pissa` chose: its weight's ``shape`` (as stored), the ``rank``
    taken (0: no adapter, the module stays whole in the residual), whether
    ``max_rank`` lowered it (``capped``: not where the rank is already ``min(m, n)``, nor
    where the values past the cap are float64 rounding, the level the rank rules take
    for zeros, nor where the rounding to the storage dtype alone misses the rule at every
    rank: :func:`~svdkit.lora.extract.capped_by_max_rank`), the ``relative_error``
    ``‖W − B·A‖_F / ‖W‖_F`` of the factors as stored (the residual's share of ``W``),
    whether it meets an ``error`` or ``energy`` rule (``bound_met``,
    :meth:`~svdkit.lora.rank.RankRule.missed`: always ``True`` under a fixed rank;
    ``False`` for a module kept whole under one, whose error is 1), and
    whether it was kept whole because its factors would underflow the storage dtype
    (``underflow``). :attr:`energy_kept` is the energy those stored factors keep."""

    name: str
    shape: tuple[int, ...]
    rank: int
    capped: bool
    relative_error: float
    bound_met: bool = True
    underflow: bool = False

    @property
    def energy_kept(self) -> float:
        """The share of ``‖W‖_F²`` the factors as stored keep, ``1 − relative_error²``
        (clamped to ``[0, 1]``, as ``extract``'s and ``resize``'s reports give it): what
        an ``energy`` rule is met on (0 for a module kept whole in the residual).

        Examples
        --------
        >>> round(PissaModule("fc", (8, 6), 2, False, 0.1).energy_kept, 12)
        0.99
        """
        return min(1.0, max(0.0, 1.0 - self.relative_error * self.relative_error))


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
    report: list[PissaModule] | None = None,
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
    as in :func:`svdkit.lora.extract.extract`. On the CPU, with ``method="auto"``, modules
    of one small shape are factored together (:func:`~svdkit.lora.batched.plan_batches`,
    :func:`~svdkit.lora.batched.factor_batch`: every triplet meets the same certificate,
    and the rank the same rule, as one at a time); with the torch backend, one at a time.

    An ``error`` rule bounds the factors **as stored**: ``‖W − B·A‖_F ≤ ε ‖W‖_F`` with
    ``B``, ``A`` rounded to ``dtype`` (the residual's share of ``W``), and so does an
    ``energy`` rule (the same rule, ``ε = sqrt(1 − energy)``: the stored factors keep at
    least ``energy`` of ``‖W‖_F²``). Rounding them to BF16 / F16 adds its own error, so
    the rank is raised to absorb it (as ``extract`` does); where no rank can (the
    rounding alone exceeds ``ε``, or ``max_rank`` stops it) the module misses the bound,
    and a note says so. A module whose factors
    would underflow ``dtype`` (a weight too small for F16) is kept whole in the
    residual (rank 0), with a note naming the wider dtypes that would hold them, rather
    than abort the run: nothing of it is lost (under an ``error`` or ``energy`` rule it
    misses the bound: ``bound_met`` is ``False``).
    ``report``, a list, is filled with one :class:`PissaModule` per module chosen
    (rank 0 too), and the notes are then left to the caller (:func:`pissa_notes`);
    without it they are logged as warnings (``note: …``).

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
        before anything is read; a weight with a NaN or infinite entry, or an F64 weight
        whose ``‖W‖_F`` is beyond float64's range (named: no singular value of it can be
        held); a factor that overflows ``dtype`` (advice: a wider one), or a residual that
        overflows the base's dtype (F16's 65504); one of several ``targets`` that selects
        nothing PiSSA factors (it matches no module, or only embeddings, 1-D or non-float
        tensors: named, with why).
    FileFormatError
        ``base`` is a LoRA adapter, or an output cannot be written (see above); a T5 v1.0
        base that stores a head tied to its table, with ``lm_head`` among the targets
        (:class:`~svdkit.lora.merge.StoredHeadTie`).

    A base whose config ties ``lm_head`` to its embedding while its checkpoint stores
    ``lm_head.weight`` too gets ``tie_word_embeddings: false`` in the residual's copied
    ``config.json`` where the residual head ``W − B·A`` differs from the table (noted),
    so the residual loads to the tensors written.

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
    if report is not None and not isinstance(report, list):
        raise SvdkitError(f"report must be a list or None; got {type(report).__name__}")
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
    _check_each_target(ck, targets, chosen, embedding_modules, linear_modules)
    if not chosen:
        which = "matches the targets " + str(list(targets)) if targets is not None else "qualifies"
        raise EmptyInputError(
            f"no module of '{ck.path}' {which} (PiSSA factors 2-D floating-point *.weight "
            "matrices that are not embeddings): there is no adapter to write"
        )
    # the SVD of FP8 codes (scaled by a weight_scale_inv beside them) is not the weight's
    refuse_quantised(ck, chosen, set(chosen), "the SVD of {its} codes is not that of the "
                     "weight", "run PiSSA on that")
    # a head the base stores though its config ties it to the embedding (which PiSSA never
    # factors): a residual head W − B·A is untied in the copied config.json (checked now)
    stored = StoredHeadTie(ck, {f"{m}.weight" for m in chosen})
    # the adapter adds to the residual, not to W: its config names the residual (PEFT's
    # AutoPeftModel loads that), and its mark lets merge refuse the original base
    adapter = Adapter(base_model_name_or_path=str(residual_out))
    gap = (-1.0, "", 0.0, 0.0)  # (relative gap of the norms, weight, ‖W‖_F, ‖W_res‖_F)
    conv1d = chosen_conv1d(chosen, fan_in_fan_out, stores_in_out(ck))
    rows: list[PissaModule] = []
    advice = _wider_advice(store) or f"no wider {arg('dtype')} than F64 holds the factors"
    # modules of one small shape are factored together (svdkit.lora.batched), as extract
    # does: one at a time their per-call costs dominate (210 modules of SmolLM2-135M's
    # shapes, a quiet two-core machine: the whole call ×1.14 (BF16) and ×1.36 (F32) at
    # rank 8, ×1.15 at rank 32;
    # bench/lora_pissa.py). The torch backend keeps its one-at-a-time path, and so does
    # a method other than "auto".
    oriented = []
    for module in chosen:
        shape = tuple(ck.shape(f"{module}.weight"))
        work = np.float64 if ck.dtype(f"{module}.weight") == "F64" else np.float32
        oriented.append((shape[::-1] if module in conv1d else shape, work))
    if method == "auto" and factor is factor_delta:
        batches = plan_batches(oriented, rule)
    else:
        batches = [[i] for i in range(len(chosen))]
    done: dict[int, tuple[PissaModule, LoraModule | None, float]] = {}

    def refactor(W: np.ndarray, tighter: RankRule) -> Any:
        return factor(W, tighter, tol=tol, method=method, seed=seed)

    with module_progress(progress, len(chosen), "pissa") as advance:
        for batch in batches:
            weights = []
            for i in batch:
                module = chosen[i]
                W = ck.read(f"{module}.weight")  # float32; float64 for an F64 weight (exact)
                refuse_non_finite(W, f"{module}.weight", (("base", ck),))
                _refuse_unbounded_norm(W, module)
                weights.append(W.T if module in conv1d else W)  # Conv1D: [in, out] = (B A)ᵀ
            if len(batch) > 1:
                found = factor_batch(weights, rule, tol=tol, seed=seed)
            else:
                found = [factor(weights[0], rule, tol=tol, method=method, seed=seed)]
            for i, W, f in zip(batch, weights, found, strict=True):
                module = chosen[i]
                kind = "conv1d" if module in conv1d else "linear"
                done[i] = _module(module, kind, W, f, rule, store, advice, refactor)
                advance(module)
            # nothing of this batch may outlive it (the loop variables hold its last weight)
            del weights, found, W, f
    for i in range(len(chosen)):
        row, m, norm = done[i]
        rows.append(row)
        if m is None:
            continue
        adapter.modules[row.name] = m
        err = row.relative_error
        gap = max(gap, ((norm - err * norm) / norm if norm > 0 else 0.0,
                        f"{row.name}.weight", norm, err * norm))
    if report is not None:
        report[:] = rows
    if not adapter.modules:
        kept = sum(r.underflow for r in rows)
        why = []
        if len(rows) > kept:
            zero = len(rows) - kept
            why.append(f"{counted(zero, 'module')} {'has' if zero == 1 else 'have'} rank 0 "
                       "under the rule")
        if kept:
            why.append(
                f"{counted(kept, 'module')} kept whole because {'its' if kept == 1 else 'their'}"
                f" factors would underflow {np.dtype(store).name}: {advice}"
            )
        raise EmptyInputError(
            f"no target module has an adapter ({'; '.join(why)}): the adapter would hold no "
            "LoRA module, which PEFT cannot load"
        )
    if report is None:
        for note in pissa_notes(rows, rule, store):
            _log.warning("note: %s", note)

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
        staged, built = build_like(ck, residual_out, stored.wrap(produce), progress=progress,
                                   label="residual", added=stored.added, config=stored.config)
        swap_in([(built, residual_out), (staged_adapter, adapter_dir)])
    except OSError as err:
        raise write_error(f"{adapter_dir}' and '{residual_out}", err) from err
    finally:
        shutil.rmtree(staged_adapter, ignore_errors=True)
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
    config_written = residual_out.suffix != ".safetensors" and any(
        rel == "config.json" for _, rel in side_files(ck))
    note = stored.note(config_written)
    if note:
        _log.warning("note: %s", note)
    return adapter, residual_out


def _check_each_target(
    ck: Checkpoint,
    targets: Sequence[str] | None,
    chosen: list[str],
    embedding_modules: Sequence[str] | None,
    linear_modules: Sequence[str] | None,
) -> None:
    """Refuse a target that selects nothing PiSSA factors, naming it and why: it matches
    no module of the base (a typo), or only modules PiSSA does not factor (embedding
    tables, 1-D or non-float tensors). One of several targets is refused too: its
    modules would silently have no adapter. Nothing when every target (or none given,
    ``targets=None``: every module that qualifies) selects a chosen module; no target at
    all selecting one is :func:`pissa`'s own error."""
    if targets is None or not chosen:
        return
    modules: dict[str, list[str]] = {}
    for name in ck.names:
        module, _ = module_of(name)
        modules.setdefault(module, []).append(name)
    bad = []
    for t in targets:
        if any(matches_targets(m, [t]) for m in chosen):
            continue
        hits = [m for m in modules if matches_targets(m, [t])]
        if not hits and matches_targets(TIED_HEAD, [t]) and ties_word_embeddings(ck):
            bad.append(
                f"{t!r} is the output head, which the base ties to its input embedding table "
                f"(tie_word_embeddings, and it stores no '{TIED_HEAD}.weight'): "
                "one tensor with that table, which PiSSA does not factor; leave it out of the "
                "targets, or, to factor the head apart, save the base untied "
                "(tie_word_embeddings: false, with its own head) and run PiSSA on that")
            continue
        if not hits:
            bad.append(f"{t!r} matches no module of the base")
            continue
        why = []
        for m in hits[:3]:
            weight = f"{m}.weight"
            if weight not in ck:
                why.append(f"{m!r} has no .weight")
            elif is_embedding(m, embedding_modules, linear_modules):
                why.append(f"{m!r} is an embedding table")
            elif len(ck.shape(weight)) != 2:
                why.append(f"{m!r} is {len(ck.shape(weight))}-D")
            else:
                why.append(f"{m!r} is {ck.dtype(weight)}, not floating-point")
        more = f", … ({len(hits) - 3} more)" if len(hits) > 3 else ""
        bad.append(f"{t!r} matches only modules PiSSA does not factor ({'; '.join(why)}{more})")
    if bad:
        hint = (f" (or name a linear layer its name misleads with {arg('linear_modules')})"
                if any("embedding table" in b for b in bad) else "")
        raise SvdkitError(
            f"{arg('targets')}: " + "; ".join(bad) + ": each target must select a module "
            "PiSSA factors. It factors 2-D floating-point *.weight matrices that are not "
            "embeddings (a target is a module name, a suffix after a dot, or a full regex): "
            f"correct those targets or leave them out{hint}; nothing was written",
            param="targets",
        )


def _module(
    module: str,
    kind: str,
    W: np.ndarray,
    f: Any,
    rule: RankRule,
    store: Any,
    advice: str,
    factor: Any,
) -> tuple[PissaModule, LoraModule | None, float]:
    """One factored module (``W`` in the orientation it was factored in, ``f`` its
    triplets): its report row, its LoRA module (``None``: kept whole in the residual)
    and ``‖W‖_F``. An ``error`` or ``energy`` rule bounds the factors as stored: rounding
    them to BF16 / F16 adds its own error, met by a tighter cut (``factor(W, rule)``, one
    at a time) while the rounding leaves room
    (:meth:`~svdkit.lora.rank.RankRule.leaving_room`), as ``extract`` does."""
    m, err = _stored(module, kind, W, f, store, advice)
    capped_tighter = False
    for _ in range(3):
        tighter = None if m is None else rule.leaving_room(err, f.quality.relative_error)
        if tighter is None:
            break  # met, or the rounding alone exceeds the bound: noted by pissa_notes
        g = factor(W, tighter)
        if g.rank <= f.rank:
            # no higher rank to give: max_rank (if it lowered the rank the tighter rule
            # asked for), or the whole spectrum, or a rest that is rounding
            capped_tighter = capped_by_max_rank(tighter, g, W.shape)
            break
        f = g
        m, err = _stored(module, kind, W, f, store, advice)
    underflow = m is None and f.rank > 0
    # whether max_rank lowered the rank the rule (or a tighter one) asked for, and raising
    # it could meet the rule: not where the rounding to the dtype alone misses it
    capped = capped_tighter or capped_by_max_rank(rule, f, W.shape, stored=err)
    # (a module kept whole for underflow misses a bound too: its error is 1)
    row = PissaModule(
        module, tuple(W.T.shape if kind == "conv1d" else W.shape), 0 if m is None else m.r,
        capped and m is not None, err, not rule.missed(err), underflow,
    )
    return row, m, f.quality.fro


def _stored(
    module: str, kind: str, W: np.ndarray, f: Any, store: Any, advice: str
) -> tuple[LoraModule | None, float]:
    """The module of ``f``'s triplets with its factors stored in ``store``, and
    ``‖W − B·A‖_F / ‖W‖_F`` of those stored factors (a float64 pass over ``W``, in the
    orientation it was factored in). ``None`` at rank 0, or where a factor would be
    stored as zero or subnormal (a tiny weight): the module stays whole in the
    residual, and its error is 1 (0 for a zero weight)."""
    norm = f.quality.fro
    if f.rank == 0:
        return None, 1.0 if norm > 0 else 0.0
    B, A = split_factors(f.U, f.s, f.Vh, "sqrt", 1.0)
    try:
        A, B = store_factors(module, A, B, store, 1.0, advice=advice)
    except FactorUnderflowError:
        return None, 1.0
    err = residual_norm(W, B.astype(np.float64), np.ones(f.rank), A.astype(np.float64))
    return LoraModule(module, kind, A=A, B=B, alpha=unit_alpha(f.rank)), (
        err / norm if norm > 0 else 0.0
    )



def _refuse_unbounded_norm(W: np.ndarray, module: str) -> None:
    """Refuse an F64 weight whose ``‖W‖_F`` (so ``σ₁`` too) is beyond float64's range,
    naming its module, before it is factored: no singular value of it can be held."""
    found = unbounded_norm(W)
    if found is None:
        return
    fro, e = found
    raise SvdkitError(
        f"module {module!r}: its weight has entries up to about 2^{e} and ‖W‖_F = "
        f"{fro:.6g}·2^{e}, beyond float64's range: its singular values cannot be held, so "
        "PiSSA cannot factor it. Check the checkpoint (a diverged model, a bad conversion); "
        f"{arg('targets')} can leave the module out"
    )


def _wider_advice(store: Any) -> str | None:
    """The remedy for factors that over- or underflow ``store``: the dtypes whose range
    holds ``store``'s and more (F16: F32 or F64; BF16, whose range is F32's: F64;
    F32: F64), spelled as the caller spells ``dtype``; ``None`` for F64."""
    dt = np.dtype(store)
    finfo = _finfo(dt)
    wider = [
        code for code, other in (("F32", np.float32), ("F64", np.float64))
        if np.finfo(other).tiny < finfo.tiny and np.finfo(other).max > finfo.max
    ]
    if not wider:
        return None
    return f"store the factors in a wider {arg('dtype')} ({' or '.join(wider)})"


def _finfo(dt: np.dtype) -> Any:
    """``finfo`` of a float dtype, bfloat16 (:mod:`ml_dtypes`) too."""
    if dt.type in (np.float16, np.float32, np.float64):
        return np.finfo(dt)
    import ml_dtypes

    return ml_dtypes.finfo(dt)


def pissa_notes(rows: Sequence[PissaModule], rule: RankRule, dtype: Any = None) -> list[str]:
    """The notes of a :func:`pissa` run from its ``report`` rows: the modules whose
    stored factors miss an ``error`` bound or an ``energy`` target
    (:func:`~svdkit.lora.rank.unmet_note`, the
    wording of ``extract`` and ``resize``), and those kept whole in the residual
    because their factors would underflow ``dtype`` (the factors' dtype given to
    :func:`pissa`; ``None``: float32)."""
    dtype = check_float_dtype(np.float32 if dtype is None else dtype, "dtype")
    notes = []
    # (a module kept whole for underflow misses the bound too: its own note says why)
    missed = {r.name: r for r in rows if not r.bound_met and not r.underflow}
    bounded = rule.error is not None or rule.energy is not None
    if missed and bounded:
        code = dtype_code(np.dtype(dtype))
        notes.append(unmet_note(
            rule.error if rule.error is not None else rule.rank_tol,
            {n: r.relative_error for n, r in missed.items()}, len(rows),
            max_rank=rule.max_rank, capped=[n for n, r in missed.items() if r.capped],
            codes={n: code for n in missed}, energy=rule.energy,
        ))
    kept = [r.name for r in rows if r.underflow]
    if kept:
        more = " …" if len(kept) > 6 else ""
        advice = _wider_advice(dtype)
        # (under an error or energy rule they miss it: error 1, marked '!' as the others)
        marked = "; marked '!': the bound is missed" if bounded else ""
        notes.append(
            f"kept whole in the residual (rank 0): {', '.join(kept[:6])}{more}; their "
            f"factors would underflow {dtype_code(np.dtype(dtype))} (weights too small for "
            f"it{marked}){f': {advice} to factor them' if advice else ''}"
        )
    return notes


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
