"""Extract a LoRA adapter from a (base, fine-tuned) pair of safetensors checkpoints.

For every module that changed (see :mod:`svdkit.lora.modules`),
``ΔW = W_tuned − W_base`` is formed in float32 (float64 where either
checkpoint stores the weight in float64: :func:`work_dtype`) from two
memory-mapped tensors, factored by :func:`svdkit.lora.factor.factor_delta`
(certified truncated SVD, rank by :class:`~svdkit.lora.rank.RankRule`), split
into ``lora_B``/``lora_A`` and dropped: peak memory is one pair of tensors,
their delta (and, with the torch backend, the next module's, read while the GPU factors:
:mod:`svdkit.lora.read_ahead`), and the ``O(r·d)`` factors kept. Norms, biases and
other changed tensors are kept whole (``extras="save"``, PEFT's ``modules_to_save`` /
``bias="lora_only"``) or only listed in the report (``extras="list"``) — never dropped
without a word.
Embedding tables get ``lora_embedding_A/B``, or with ``embeddings="save"`` are
kept whole (``modules_to_save``) whatever ``extras`` says.

Examples
--------
>>> import numpy as np, tempfile, shutil, pathlib
>>> from svdkit.lora.safetensors_io import save_safetensors
>>> rng = np.random.default_rng(0)
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> W = rng.standard_normal((40, 30)).astype(np.float32)
>>> D = (rng.standard_normal((40, 2)) @ rng.standard_normal((2, 30))).astype(np.float32)
>>> b0, b1 = np.zeros(40, np.float32), np.ones(40, np.float32)
>>> save_safetensors(d / "base.safetensors", {"fc.weight": W, "fc.bias": b0})
>>> save_safetensors(d / "tuned.safetensors", {"fc.weight": W + D, "fc.bias": b1})
>>> ex = extract(d / "base.safetensors", d / "tuned.safetensors", RankRule(rank=2))
>>> [(m.name, m.rank, m.relative_error < 1e-5) for m in ex.report.modules]
[('fc', 2, True)]
>>> ex.report.extras_saved
['fc.bias']
>>> shutil.rmtree(d)  # (the example leaves nothing behind)
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from svdkit._naming import arg, got, kw
from svdkit._words import counted
from svdkit.errors import EmptyInputError, SvdkitError
from svdkit.lora._args import (
    check_bool,
    check_float_dtype,
    check_optional_str,
    check_targets,
)
from svdkit.lora.adapter import (
    Adapter,
    FactorUnderflowError,
    LoraModule,
    check_alpha,
    lora_scale,
    store_factors,
    unit_alpha,
    wider_codes,
)
from svdkit.lora.batched import factor_batch, plan_batches
from svdkit.lora.factor import (
    check_tol,
    factor_delta,
    residual_norm,
    split_factors,
    unbounded_norm,
)
from svdkit.lora.modules import (
    PEFT_TIED_EMBEDDING,
    TIED_HEAD,
    Pairing,
    check_fan_in_fan_out,
    chosen_conv1d,
    embedding_weight,
    guessed_by_abbreviation,
    is_embedding,
    matches_targets,
    model_config,
    module_of,
    pair_checkpoints,
    stores_in_out,
    ties_word_embeddings,
)
from svdkit.lora.rank import RankRule, as_rank_rule, rounding_level, unmet_note
from svdkit.lora.read_ahead import read_ahead
from svdkit.lora.safetensors_io import Checkpoint, as_checkpoint
from svdkit.lora.torch_backend import resolve_backend

__all__ = ["Extraction", "ExtractionReport", "ModuleReport", "extract"]


@dataclass(frozen=True)
class ModuleReport:
    """One module: its rank, energy kept, relative error and its distance to the optimum.

    ``relative_error`` is ``‖ΔW − scale · B A‖_F / ‖ΔW‖_F`` of the factors as stored
    (measured after a ``dtype`` cast), and ``energy_kept`` is ``1 − relative_error²``,
    of the same factors. Both are ratios of sums taken on the delta scaled by a power
    of two (:func:`~svdkit.lora.factor.pow2_exponent`): finite, and the same for
    ``2^k · ΔW`` whose ``‖ΔW‖_F`` float64 holds (one beyond is refused, by name).

    ``excess`` is :attr:`~svdkit.lora.factor.Quality.excess`, an upper bound of
    ``error / optimum − 1``:

    * ``None`` ("—" in the table, ``null`` in ``svdkit_report.json``) when the
      error is at the rounding level of ``‖ΔW‖_F``
      (:func:`~svdkit.lora.factor.noise_floor`), e.g. a delta of exact rank 4
      extracted at rank 16: the fit is exact to rounding, and the relative error
      says how exact;
    * ``inf`` ("∞" in the table, ``"inf"`` in ``svdkit_report.json``) when nothing
      bounds it: the lower bound of the optimum error is at the rounding level and
      the error is not — at the tightest ``tol`` tried, or with factors cast to
      float16 an optimum that is rounding.

    ``tol`` is the residual certificate the module's triplets meet: the ``tol``
    asked for, or the tighter one taken to bound the excess (``tighten``).
    """

    name: str
    kind: str
    shape: tuple[int, int]
    rank: int
    energy_kept: float
    relative_error: float
    excess: float | None
    method: str
    seconds: float
    tol: float | None = None


def _excess_cell(excess: float | None) -> str:
    """The table's "excess ≤" cell: "—" exact to rounding, "∞" unbounded, else a percentage."""
    if excess is None:
        return "—"
    if math.isinf(excess):
        return "∞"
    return f"{100 * excess:.2f}%"


def _tol_text(tol: float) -> str:
    """``1e-06`` → ``"1e-6"``, ``0.0005`` → ``"5e-4"``."""
    mantissa, _, exponent = f"{tol:.0e}".partition("e")
    return f"{mantissa}e{int(exponent)}"


@dataclass
class ExtractionReport:
    """Per-module reports and what happened to every other tensor."""

    modules: list[ModuleReport] = field(default_factory=list)
    extras_saved: list[str] = field(default_factory=list)
    extras_listed: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    #: Tensors of one checkpoint only (a task head the fine-tune added), left out with
    #: ``on_mismatch="skip"``.
    only_tuned: list[str] = field(default_factory=list)
    only_base: list[str] = field(default_factory=list)
    unchanged: int = 0
    rule: dict[str, Any] = field(default_factory=dict)
    tol: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: an unbounded ``excess`` (``inf``) is the string ``"inf"``."""
        out = asdict(self)
        for m in out["modules"]:
            if m["excess"] is not None and math.isinf(m["excess"]):
                m["excess"] = "inf"
        return out

    def unmet(self) -> list[str]:
        """The modules whose factors, as stored, miss the ``error`` bound of the rule, or
        keep less than its ``energy`` (:meth:`~svdkit.lora.rank.RankRule.missed`)."""
        if self.rule.get("error") is None and self.rule.get("energy") is None:
            return []
        rule = RankRule(**self.rule)
        return [m.name for m in self.modules if rule.missed(m.relative_error)]

    def table(self, title: str = "LoRA extraction"):
        """A :class:`rich.table.Table` of the modules; a "tol" column when a module was
        factored at a tighter ``tol`` than asked (:func:`extract`'s ``tighten``)."""
        from rich.markup import escape
        from rich.table import Table

        from svdkit.lora._cells import energy_cell, error_cell

        tightened = any(m.tol is not None and m.tol != self.tol for m in self.modules)
        unmet = set(self.unmet())
        by_energy = self.rule.get("energy") is not None  # '!' on the cell of the rule's bound
        cols = ["module", "shape", "rank", "energy kept", "rel. error", "excess ≤", "method"]
        t = Table(title=title)
        for col in cols + (["tol"] if tightened else []):
            t.add_column(col, justify="left" if col == "module" else "right")
        for m in self.modules:
            cells = [
                escape(m.name),  # a name is text, not Rich markup
                f"{m.shape[0]}×{m.shape[1]}",
                str(m.rank),
                # (a marked cell is rounded away from the bound: never "0.9900 !")
                energy_cell(m.energy_kept, missed=m.name in unmet)
                + (" !" if m.name in unmet and by_energy else ""),
                error_cell(m.relative_error, missed=m.name in unmet)
                + (" !" if m.name in unmet and not by_energy else ""),
                _excess_cell(m.excess),
                m.method,
            ]
            if tightened:
                cells.append("" if m.tol is None else _tol_text(m.tol))
            t.add_row(*cells)
        return t


@dataclass
class Extraction:
    """The adapter and its report."""

    adapter: Adapter
    report: ExtractionReport


@contextlib.contextmanager
def module_progress(enabled: bool, total: int, label: str) -> Iterator[Any]:
    """A rich progress bar over modules (stderr); yields ``advance(name)``."""
    if not enabled:
        yield lambda name: None
        return
    import importlib.util

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    # (in a notebook, rich draws a live widget, with ipywidgets; its console is never
    # a terminal there)
    notebook = console.is_jupyter and importlib.util.find_spec("ipywidgets") is not None
    if not notebook and (not console.is_terminal or console.is_dumb_terminal):
        # written to a file or a CI log, the bar's last frame would stay behind
        yield lambda name: None
        return
    cols = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[module]}"),
        TimeElapsedColumn(),
    )
    with Progress(*cols, console=console) as bar:
        task = bar.add_task(label, total=total, module="")

        def advance(name: str) -> None:
            bar.update(task, advance=1, module=name)

        try:
            yield advance
        except BaseException:
            # the bar names the last module done: on a failure it would point at a
            # module other than the one the error names
            bar.update(task, module="stopped (see below)")
            raise


def _as_checkpoint(x: Any, role: str = "checkpoint", name: str = "base") -> Checkpoint:
    """A model checkpoint (not a LoRA adapter's weights) from a path or a Checkpoint
    (the argument ``name`` for the error when it is neither)."""
    return as_checkpoint(x, name).require_model(role)


def work_dtype(base: Checkpoint, tuned: Checkpoint, key: str) -> type:
    """The dtype ``ΔW`` of tensor ``key`` is formed in: float64 when either checkpoint
    stores it in float64 (rounding it to float32 would change the difference), else
    float32 (which holds F32, F16, BF16 and F8 weights exactly, at half the memory)."""
    return np.float64 if "F64" in (base.dtype(key), tuned.dtype(key)) else np.float32


def extract(
    base: str | os.PathLike | Checkpoint,
    tuned: str | os.PathLike | Checkpoint,
    rule: RankRule,
    *,
    targets: Sequence[str] | None = None,
    embeddings: str = "lora",
    extras: str = "save",
    on_mismatch: str = "error",
    split: str = "sqrt",
    alpha: float | None = None,
    rslora: bool = False,
    tol: float = 1e-3,
    method: str = "auto",
    seed: int = 0,
    backend: str = "numpy",
    progress: bool = False,
    base_model_name_or_path: str | None = None,
    fan_in_fan_out: bool | Sequence[str] | None = None,
    dtype: Any = None,
    tighten: bool = True,
    embedding_modules: Sequence[str] | None = None,
    linear_modules: Sequence[str] | None = None,
) -> Extraction:
    """LoRA adapter whose ``scale · B A`` is the truncated SVD of each module's delta.

    Parameters
    ----------
    base, tuned : path or Checkpoint
        Safetensors checkpoints (file, directory, or sharded with an index).
    rule : RankRule or int
        Fixed rank, energy fraction (of the whole spectrum) or error bound per
        module (an integer is a fixed rank).
    targets : str or list of str, optional
        Modules to factor (names, suffixes or regexes); default every changed
        matrix. A single string is one target, not a list of letters.
    embeddings : {"lora", "save"}
        Changed embedding tables as ``lora_embedding_A/B`` (those that match
        ``targets``; the others are extras), or kept whole in the adapter
        (``modules_to_save``) — with ``"save"`` whatever ``extras`` says.
    extras : {"save", "list"}
        Other changed tensors (norms, biases, modules outside ``targets``): kept
        whole in the adapter, or only listed in the report.
    on_mismatch : {"error", "skip"}
        Tensors whose shapes differ: error, or listed in the report and left out.
    split : {"sqrt", "B", "A"}
        How ``Σ`` is shared by ``lora_B`` and ``lora_A`` (:mod:`svdkit.lora.factor`).
    alpha : float, optional
        ``lora_alpha`` for every module; default ``r`` per module (``√r`` with
        rsLoRA), i.e. scale 1. With a fixed alpha the scale is folded into the factors.
    rslora : bool
        Write ``use_rslora`` (scale ``α/√r``).
    tol, method, seed
        The certified truncated SVD (:func:`svdkit.lora.factor.factor_delta`).
    backend : {"numpy", "torch", "auto"}
        ``"torch"`` factors on a CUDA GPU (:mod:`svdkit.lora.torch_backend`) the
        modules that are large or alone of their shape; stacks of small ones (with
        ``method="auto"``) are factored on the host's cores, faster there, and so are
        modules of a short side ≤ 256 and any the GPU does not certify or hold
        (:func:`~svdkit.lora.torch_backend.factor_delta_torch`): the report's method
        column says where each module ran.
        ``"auto"`` uses torch when it sees a GPU, NumPy/SciPy otherwise.
    progress : bool
        A progress bar per module on standard error.
    base_model_name_or_path : str, optional
        Written into ``adapter_config.json`` (default: the base path).
    fan_in_fan_out : bool or list of str, optional
        Which layers are transformers' ``Conv1D``, weights stored ``[in, out]``: their
        deltas are factored transposed, and the config says ``fan_in_fan_out``.
        ``True``: every factored 2-D module (not the embeddings); ``False``: none; a
        list: the modules matching it (names, suffixes, regexes), the others
        ``nn.Linear``. Default: when a ``config.json`` beside either checkpoint
        names such a model (``gpt2``, ``openai-gpt``, ``imagegpt``…), the modules
        with GPT-2's ``Conv1D`` names (:func:`svdkit.lora.modules.conv1d_modules`).
    embedding_modules, linear_modules : list of str, optional
        Modules that are, or are not, ``nn.Embedding`` tables, whatever their names
        say (names, suffixes, regexes): the name is otherwise the guess
        (:func:`svdkit.lora.modules.is_embedding`), and PEFT ignores factors written
        for the wrong kind (``lora_A`` for an ``nn.Embedding``).
    dtype : dtype, optional
        Storage dtype of the factors (``np.float16``, ``ml_dtypes.bfloat16``,
        ``np.float32`` or ``np.float64``, or their names; integer dtypes are refused):
        they are cast here, and each module's ``relative_error`` / ``excess`` is
        that of the factors as stored (one more pass over ``ΔW``). Default: float32
        (float64 for float64 checkpoints), the error of the SVD itself.
    tighten : bool, default True
        A module whose excess over the optimum error is not bounded at ``tol``, or
        only above 10 %, is factored again at ``tol · 1e-3``, then ``tol · 1e-6``
        (:func:`svdkit.lora.factor.factor_delta`); its report gives the ``tol``
        met. Without, such a module keeps ``tol`` and its loose bound (or ``inf``).

    Raises
    ------
    EmptyInputError
        No LoRA module to write: no tensor differs, no changed module matches
        ``targets``, or every module has rank 0 under ``rule`` or is left out for
        underflow (the message counts each kind apart). PEFT cannot load an
        adapter without a LoRA module, even one with tensors kept whole.
    SvdkitError
        An argument of the wrong type or out of range (named in the message), checked
        before the checkpoints are read; or a factor that overflows its storage dtype at
        the scale ``α / r``, or underflows it at a scale above 1 (a large ``alpha``:
        :func:`~svdkit.lora.adapter.store_factors`). A module whose factors underflow
        the storage dtype at a scale of at most 1 (its delta too small for F16: a barely
        changed module) is no error: it is left out of the adapter (rank 0, relative
        error 1, marked ``!`` under a bound) and a note names it and the cures: the
        wider dtypes that would hold it, or a smaller ``alpha`` (the factors hold the
        delta divided by the scale: one below 1 enlarges them), as
        :func:`~svdkit.lora.pissa.pissa` keeps such a module whole.

    Examples
    --------
    A tiny pair: the tuned 8×6 layer is the base plus a rank-2 update, and a norm
    moved too:

    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from svdkit.lora import RankRule, extract, save_safetensors
    >>> rng = np.random.default_rng(0)
    >>> W = rng.standard_normal((8, 6)).astype(np.float32)
    >>> D = (rng.standard_normal((8, 2)) @ rng.standard_normal((2, 6))).astype(np.float32)
    >>> norm = np.ones(6, np.float32)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     d = pathlib.Path(tmp)
    ...     save_safetensors(d / "base.safetensors", {"fc.weight": W, "norm.weight": norm})
    ...     save_safetensors(d / "tuned.safetensors",
    ...                      {"fc.weight": W + D, "norm.weight": 1.05 * norm})
    ...     ex = extract(d / "base.safetensors", d / "tuned.safetensors", RankRule(energy=0.999))
    >>> m = ex.adapter.modules["fc"]
    >>> m.r, m.B.shape, m.A.shape, bool(np.allclose(m.delta(), D, atol=1e-5))
    (2, (8, 2), (2, 6), True)
    >>> rep = ex.report.modules[0]
    >>> rep.name, rep.rank, round(rep.energy_kept, 6), bool(rep.relative_error < 1e-5)
    ('fc', 2, 1.0, True)
    >>> ex.report.extras_saved, sorted(ex.adapter.saved)
    (['norm.weight'], ['norm.weight'])
    """
    if extras not in ("save", "list"):
        raise SvdkitError(
            f"{arg('extras')} must be 'save' or 'list'; got {got(extras)}", param="extras"
        )
    # every option is checked before the checkpoints are compared (a pass over both)
    alpha = check_alpha(alpha)
    tol = check_tol(tol)
    rule = as_rank_rule(rule)
    rslora = check_bool(rslora, "rslora")
    progress = check_bool(progress, "progress")
    tighten = check_bool(tighten, "tighten")
    targets = check_targets(targets)
    fan_in_fan_out = check_fan_in_fan_out(fan_in_fan_out)
    embedding_modules = check_targets(embedding_modules, "embedding_modules")
    linear_modules = check_targets(linear_modules, "linear_modules")
    base_model_name_or_path = check_optional_str(
        base_model_name_or_path, "base_model_name_or_path"
    )
    if dtype is not None:
        dtype = check_float_dtype(dtype, "dtype")
    factor = resolve_backend(backend)
    base_ck = _as_checkpoint(base, "base", "base")
    tuned_ck = _as_checkpoint(tuned, "tuned checkpoint", "tuned")
    pairing = pair_checkpoints(
        base_ck, tuned_ck, targets=targets, embeddings=embeddings, on_mismatch=on_mismatch,
        embedding_modules=embedding_modules, linear_modules=linear_modules,
    )
    if not pairing.linear and not pairing.embeddings:
        raise EmptyInputError(_nothing_to_factor(pairing, targets, embeddings))
    report = ExtractionReport(
        mismatched=pairing.mismatched,
        only_tuned=pairing.only_tuned,
        only_base=pairing.only_base,
        unchanged=len(pairing.unchanged),
        rule={k: v for k, v in asdict(rule).items() if v is not None},
        tol=tol,
    )
    adapter = Adapter(
        use_rslora=rslora,
        base_model_name_or_path=base_model_name_or_path or str(base_ck.path),
    )
    conv1d = chosen_conv1d(pairing.linear, fan_in_fan_out, stores_in_out(base_ck, tuned_ck))
    work = [(m, "conv1d" if m in conv1d else "linear") for m in pairing.linear]
    work += [(m, "embedding") for m in pairing.embeddings]
    # modules of one small shape are factored together (svdkit.lora.batched): each
    # batch holds at most BATCH_BYTES of deltas, so memory stays bounded. With the torch
    # backend too: on an H100 one small module took 5–20 ms (kernel launches, cuSOLVER's
    # small QR and SVD), a stack of them 1–3 ms each on the host's cores (bench/lora_gpu.py)
    oriented = []
    for module, kind in work:
        key = f"{module}.weight"
        shape = tuple(tuned_ck.shape(key))
        dt = work_dtype(base_ck, tuned_ck, key)
        oriented.append((shape if kind == "linear" else shape[::-1], dt))
    if method == "auto":
        batches = plan_batches(oriented, rule)
    else:
        batches = [[i] for i in range(len(work))]
    done: dict[int, tuple[ModuleReport, LoraModule | None, np.dtype | None]] = {}
    capped: dict[int, bool] = {}

    def load(batch: list[int]) -> list[np.ndarray]:
        deltas = []
        for i in batch:
            module, kind = work[i]
            delta = read_delta(base_ck, tuned_ck, f"{module}.weight", oriented[i][1])
            # PEFT: ΔW_emb = (B A)ᵀ, B [d, r], A [r, V]; Conv1D's [in, out] = (B A)ᵀ
            deltas.append(delta if kind == "linear" else delta.T)
        return deltas

    def nbytes(batch: list[int]) -> int:
        return sum(math.prod(oriented[i][0]) * np.dtype(oriented[i][1]).itemsize
                   for i in batch)

    # with the torch backend the next batch is read (svdkit.lora.read_ahead) while the GPU
    # factors this one (two bf16 Llama-7B layers on an H100, rank 8: 0.92 → 0.69 s; rank
    # 32: 1.38 → 1.30 s). Not on the host's cores, which would read and factor at once:
    # two cores gained nothing at rank 32 (1.54 against 1.55 s), 7 % at rank 8, for the
    # memory of a second batch of deltas
    budget = 0 if factor is factor_delta else None
    with module_progress(progress, len(work), "extract") as advance:
        for batch, deltas in read_ahead(batches, load, nbytes=nbytes, budget=budget):
            if len(batch) > 1:
                found = factor_batch(deltas, rule, tol=tol, seed=seed, tighten=tighten)
            else:
                found = [
                    factor(deltas[0], rule, tol=tol, method=method, seed=seed, tighten=tighten)
                ]
            for i, delta, f in zip(batch, deltas, found, strict=True):
                module, kind = work[i]
                shape = tuple(tuned_ck.shape(f"{module}.weight"))
                done[i] = _module_result(
                    module, kind, delta, f, shape,
                    split=split, alpha=alpha, rslora=rslora, dtype=dtype, tol=tol,
                )
                # whether max_rank lowered the rank the rule (or a tighter one) asked for,
                # and raising it could meet the rule (not where rounding alone misses it)
                capped[i] = capped_by_max_rank(
                    rule, f, delta.shape, stored=done[i][0].relative_error
                )
                # --error is a bound on the factors as stored: rounding to BF16 / F16 adds
                # its own error, met by a tighter cut while the rounding leaves room
                for _ in range(3):
                    tighter = rule.leaving_room(done[i][0].relative_error,
                                                f.quality.relative_error)
                    if tighter is None:
                        break  # met, or the rounding alone exceeds the bound: reported below
                    g = factor(delta, tighter, tol=tol, method=method, seed=seed, tighten=tighten)
                    if g.rank <= done[i][0].rank:
                        # no higher rank to give: max_rank (if it lowered the rank the
                        # tighter rule asked for), or the whole spectrum
                        capped[i] = capped[i] or capped_by_max_rank(tighter, g, delta.shape)
                        break
                    f = g
                    done[i] = _module_result(
                        module, kind, delta, f, shape,
                        split=split, alpha=alpha, rslora=rslora, dtype=dtype, tol=tol,
                    )
                    capped[i] = capped_by_max_rank(
                        rule, f, delta.shape, stored=done[i][0].relative_error
                    )
                advance(module)
            # nothing of this batch may outlive it (the loop variables hold its last delta)
            del deltas, found, delta, f
    left_out = {}  # factors below the storage dtype's range: a barely changed module
    was_capped = set()
    for i in range(len(work)):
        entry, lora, underflow = done[i]
        if capped[i]:
            was_capped.add(entry.name)
        report.modules.append(entry)
        if lora is not None:
            adapter.modules[lora.name] = lora
        if underflow is not None:
            left_out[entry.name] = underflow
    unmet = set(report.unmet()) - set(left_out)  # (those have their own note)
    if unmet:
        cap = rule.max_rank
        missed = {m.name: m for m in report.modules if m.name in unmet}
        report.notes.append(unmet_note(
            rule.error if rule.error is not None else rule.rank_tol,
            {n: m.relative_error for n, m in missed.items()},
            len(report.modules),
            max_rank=cap,
            # (only where the cap lowered the rank: capped_by_max_rank)
            capped=[n for n in missed if n in was_capped],
            codes={n: _code(adapter.modules[n].A.dtype) if n in adapter.modules else "F32"
                   for n in missed},
            energy=rule.energy,
        ))
    if left_out:
        report.notes.append(_left_out_note(left_out, rule))
    if not adapter.modules:
        raise EmptyInputError(_no_lora_module(report, left_out))
    for name in pairing.extras:
        # an explicit embeddings="save" keeps the embedding whole whatever `extras` says
        if extras == "list" and not (
            embeddings == "save"
            and embedding_weight(tuned_ck, name, embedding_modules, linear_modules)
        ):
            report.extras_listed.append(name)
            continue
        module, param = module_of(name)
        if module in adapter.modules and not (
            param == "bias" and adapter.modules[module].kind != "embedding"
        ):
            report.extras_listed.append(name)
            continue
        # PEFT keeps whole modules: not a parent of a LoRA module, not the model itself,
        # and only floating-point parameters (buffers such as position ids are listed)
        parent = not module or any(m.startswith(module + ".") for m in adapter.modules)
        if parent or tuned_ck.dtype(name) not in ("F64", "F32", "F16", "BF16"):
            report.extras_listed.append(name)
            continue
        report.extras_saved.append(name)
        # a module kept whole is saved with all its parameters (PEFT's modules_to_save)
        owners = [module] if module not in adapter.modules else []
        for other in tuned_ck.names:
            if other == name or (owners and module_of(other)[0] in owners):
                adapter.saved[other] = tuned_ck.read(other, None)
    # PEFT's bias="lora_only" carries the bias of every LoRA layer: keep them consistent
    if any(module_of(t)[0] in adapter.modules for t in adapter.saved):
        for module in adapter.modules:
            if adapter.modules[module].kind != "embedding" and f"{module}.bias" in tuned_ck:
                adapter.saved.setdefault(f"{module}.bias", tuned_ck.read(f"{module}.bias", None))
    _tie_head(adapter, report, base_ck, tuned_ck, (embedding_modules, linear_modules))
    # a note for the weak guesses only (``tok_emb``, ``emb``): ``embed_tokens``, ``wte``
    # and their kind are embedding tables in every model that has them
    guessed = [m for m in pairing.embeddings
               if (embedding_modules is None or not matches_targets(m, embedding_modules))
               and guessed_by_abbreviation(m)]
    if guessed:
        report.notes.append(
            f"taken for nn.Embedding tables by their names (lora_embedding_A/B): "
            f"{', '.join(guessed[:6])}{' …' if len(guessed) > 6 else ''}; if one is an "
            f"nn.Linear, say so with {kw('linear_modules', ['NAME'], typed='NAME')}, or PEFT "
            "ignores its factors"
        )
    return Extraction(adapter, report)


def _code(dtype: Any) -> str:
    """The safetensors code of a factor dtype (its name when it has none)."""
    from svdkit.lora.safetensors_io import dtype_code

    try:
        return dtype_code(dtype)
    except SvdkitError:
        return str(np.dtype(dtype))


def _tie_head(
    adapter: Adapter,
    report: ExtractionReport,
    base: Checkpoint,
    tuned: Checkpoint,
    overrides: tuple[Sequence[str] | None, Sequence[str] | None] = (None, None),
) -> None:
    """Carry the change of a token embedding to the output head tied to it.

    In a model with ``tie_word_embeddings`` the head *is* the embedding, so the
    tuned model's head changed with it. PEFT (0.21) adds a LoRA to the embedding's
    lookup only, and a copy kept in ``modules_to_save`` only replaces the
    embedding, unless the config asks ``ensure_weight_tying``: then it ties the
    head's adapter to the embedding's (a kept embedding's copy needs the head's
    tensor too, ``lm_head.weight``, which is the same array). Without it PEFT's
    outputs differed from the tuned model's by 3.8 in the logits of a tiny tied
    Llama, where ``svdkit lora merge`` matched them. PEFT ties only an embedding
    named ``embed_tokens`` to ``lm_head``; for others (GPT-2's ``wte``) the
    report says that PEFT will not carry the change to the head.
    """
    if not (ties_word_embeddings(tuned) or ties_word_embeddings(base)):
        return
    vocab = model_config(tuned).get("vocab_size", model_config(base).get("vocab_size"))

    def token_embedding(module: str, rows: int) -> bool:
        # (not a position embedding: GPT-2's wpe has n_positions rows)
        return is_embedding(module, *overrides) and (not isinstance(vocab, int) or rows == vocab)

    lora = [
        m for m in adapter.modules.values()
        if m.kind == "embedding" and token_embedding(m.name, m.weight_shape[0])
    ]
    kept = [
        module_of(t)[0] for t, v in adapter.saved.items()
        if module_of(t)[1] == "weight" and v.ndim == 2 and token_embedding(module_of(t)[0], len(v))
    ]
    changed = [m.name for m in lora] + kept
    if not changed:
        return
    tieable = [m for m in changed if m.rpartition(".")[2] == PEFT_TIED_EMBEDDING]
    if not tieable:
        report.notes.append(
            f"the output head is tied to {changed[0]!r} (tie_word_embeddings), whose change "
            f"the adapter carries; PEFT ties adapters only between '{PEFT_TIED_EMBEDDING}' "
            f"and '{TIED_HEAD}', so a model loaded with PEFT will not see it in the head: "
            "merge with `svdkit lora merge` instead"
        )
        return
    adapter.config["ensure_weight_tying"] = True
    head = f"{TIED_HEAD}.weight"
    for module in kept:
        if module in tieable and head not in tuned and head not in adapter.saved:
            adapter.saved[head] = adapter.saved[f"{module}.weight"]
    twice = (
        " (PEFT 0.21's merge_and_unload then adds the LoRA's change to the shared weight "
        "twice; `svdkit lora merge` adds it once)"
        if tieable[0] in adapter.modules else ""
    )
    report.notes.append(
        f"the output head is tied to {tieable[0]!r} (tie_word_embeddings): the adapter "
        f"config asks PEFT for ensure_weight_tying, so that the head changes with it{twice}"
    )


#: Below this relative error, storing float64 factors in float32 (their rounding, about
#: 6e-8 of ‖ΔW‖_F) can move the error by a percent: it is measured after the cast.
_STORED_RESOLVED = 1e-5


def _module_result(
    module: str,
    kind: str,
    delta: np.ndarray,
    f: Any,
    shape: tuple[int, ...],
    *,
    split: str,
    alpha: float | None,
    rslora: bool,
    dtype: Any,
    tol: float,
) -> tuple[ModuleReport, LoraModule | None, np.dtype | None]:
    """One factored module: its report line, its LoRA factors (``None`` at rank 0) and,
    where it was left out because its factors would underflow the storage dtype at a
    scale of at most 1, that dtype (else ``None``): a barely changed module, reported at
    rank 0 with relative error 1, as ``pissa`` keeps such a module whole; at a larger
    scale (``alpha``'s) the error stands."""
    r = f.rank
    quality = f.quality
    lora = None
    if r > 0:
        a = unit_alpha(r, rslora) if alpha is None else float(alpha)
        scale = lora_scale(a, r, rslora)
        B, A = split_factors(f.U, f.s, f.Vh, split, scale)
        # without a dtype, the delta's own precision (float32, float64 for float64
        # checkpoints): the SVD runs in float64, and its factors kept as such doubled the
        # adapter's size. An overflow or an underflow (a huge alpha) is refused here.
        stored = delta.dtype if dtype is None else dtype
        try:
            A, B = store_factors(module, A, B, stored, scale)
        except FactorUnderflowError:
            if scale > 1:
                raise  # alpha's doing: its message says so
            entry = ModuleReport(
                name=module, kind=kind, shape=shape, rank=0,  # type: ignore[arg-type]
                energy_kept=0.0, relative_error=1.0, excess=0.0, method=f.method,
                seconds=f.seconds, tol=tol if f.tol is None else f.tol,
            )
            return entry, None, np.dtype(stored)
        # the report is of the factors as stored: after a cast that can move the error (a
        # --dtype, or float32 storage of float64 factors whose error is near float32's
        # rounding: 9.84e-8 was reported for a stored 1.05e-7, and --error 1e-7 passed)
        narrower = np.dtype(stored).itemsize < np.dtype(f.U.dtype).itemsize
        if dtype is not None or (narrower and quality.relative_error < _STORED_RESOLVED):
            # the report is of the factors as stored: measure the error after the cast
            err = residual_norm(
                delta, scale * B.astype(np.float64), np.ones(r), A.astype(np.float64)
            )
            # and the energy kept with it, 1 − (relative error)², of the stored factors
            quality = quality.with_error(err)
        lora = LoraModule(module, kind, A=A, B=B, alpha=a)
    entry = ModuleReport(
        name=module,
        kind=kind,
        shape=shape,  # type: ignore[arg-type]
        rank=r,
        energy_kept=quality.energy_kept,
        relative_error=quality.relative_error,
        excess=quality.excess,
        method=f.method,
        seconds=f.seconds,
        tol=tol if f.tol is None else f.tol,
    )
    return entry, lora, None


def capped_by_max_rank(
    rule: RankRule, f: Any, shape: tuple[int, ...], *, stored: float | None = None
) -> bool:
    """Whether ``max_rank`` lowered the rank ``rule`` asked for the triplets ``f`` of a
    matrix of ``shape``, and raising it could meet the rule: ``f`` is at the cap, below
    ``min(shape)`` (else no rank is higher), its triplets *before* any rounding to a
    storage dtype miss the rule, and what they leave out is not rounding (its last value
    and its error are above :func:`~svdkit.lora.rank.rounding_level`: a delta of exact
    rank 4 at ``max_rank=4`` is not capped). A module that sits at the cap only because
    its rule's own rank is the cap, and misses the bound once rounded to BF16, is not
    capped: raising ``max_rank`` gives it nothing. Nor is one whose factors as stored
    (relative error ``stored``, when given) miss the rule by their rounding alone
    (:meth:`~svdkit.lora.rank.RankRule.rounding_bars`: BF16 factors under
    ``energy=0.999999``, or a bound of 0): at every rank they would miss it, so the note
    names the rounding, not the cap. (``pissa``'s rows use the same test.)

    Examples
    --------
    >>> import numpy as np
    >>> from svdkit.lora.factor import factor_delta
    >>> U, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((12, 8)))
    >>> D = (U * 0.5 ** np.arange(8)) @ np.eye(8)
    >>> rule = RankRule(error=1e-3, max_rank=3)
    >>> capped_by_max_rank(rule, factor_delta(D, rule), D.shape)
    True
    >>> loose = RankRule(error=0.2, max_rank=3)  # its own rank is 3: the cap lowers nothing
    >>> capped_by_max_rank(loose, factor_delta(D, loose), D.shape)
    False
    >>> f = factor_delta(D, rule)  # stored with a rounding of 2e-3: the bound is out of reach
    >>> capped_by_max_rank(rule, f, D.shape, stored=math.hypot(f.quality.relative_error, 2e-3))
    False
    """
    if rule.max_rank is None or rule.rank is not None or f.rank < rule.max_rank:
        return False
    if f.rank >= min(shape):
        return False  # the whole spectrum: raising max_rank gives nothing
    tol = rule.rank_tol
    if tol is None or not f.quality.relative_error > tol * (1.0 + 1e-9):
        return False  # the triplets meet the rule: its own rank is at most the cap
    zero = rounding_level(f.s, min(shape))
    if not (float(f.s[-1]) > zero and f.quality.error > zero):
        return False
    return stored is None or not rule.rounding_bars(stored, f.quality.relative_error)


def _left_out_remedy(left_out: dict[str, np.dtype]) -> str:
    """What keeps the modules :func:`_left_out_note` names: a wider ``dtype`` (where one
    reaches further down), or a smaller ``alpha``: the factors hold the delta divided by
    the scale ``α / r`` (``B = U·√(Σ / scale)``), so a scale below 1 enlarges them."""
    dtypes = sorted(set(left_out.values()), key=lambda d: d.itemsize)
    wider = wider_codes(dtypes[-1])
    cures = [f"store the factors in a wider {arg('dtype')} ({' or '.join(wider)})"] if wider else []
    cures.append(f"give a smaller {arg('alpha')} (a scale α/r below 1 enlarges every module's "
                 "factors)")
    return f"{', or '.join(cures)} to keep them"


def _left_out_note(left_out: dict[str, np.dtype], rule: RankRule) -> str:
    """The note on the modules left out of the adapter because their factors would
    underflow their storage dtype (module → that dtype): their deltas too small for it."""
    names = list(left_out)
    more = " …" if len(names) > 6 else ""
    dtypes = sorted(set(left_out.values()), key=lambda d: d.itemsize)
    bounded = rule.error is not None or rule.energy is not None
    marked = "; marked '!': the bound is missed" if bounded else ""
    return (
        f"left out of the adapter (rank 0): {', '.join(names[:6])}{more}; their factors "
        f"would underflow {'/'.join(_code(d) for d in dtypes)} (deltas too small for "
        f"it{marked}): {_left_out_remedy(left_out)}"
    )


def _no_lora_module(report: ExtractionReport, left_out: dict[str, np.dtype]) -> str:
    """Why every factored module came out without factors, for :func:`extract`'s error:
    the modules of rank 0 under the rule, and those left out because their factors would
    underflow the storage dtype, counted apart (no table is printed before it)."""
    why = []
    zero = [m.name for m in report.modules if m.name not in left_out]
    if zero:
        why.append(
            f"{counted(len(zero), 'module')} {'has' if len(zero) == 1 else 'have'} rank 0 "
            f"under the rule {report.rule} ({', '.join(zero[:6])}{' …' if len(zero) > 6 else ''}"
            "; a delta of zeros, such as -0.0 against 0.0, has rank 0)"
        )
    if left_out:
        names = list(left_out)
        dtypes = sorted(set(left_out.values()), key=lambda d: d.itemsize)
        why.append(
            f"{counted(len(names), 'module')} left out because "
            f"{'its' if len(names) == 1 else 'their'} factors would underflow "
            f"{'/'.join(_code(d) for d in dtypes)} ({', '.join(names[:6])}"
            f"{' …' if len(names) > 6 else ''}: "
            f"{'a delta' if len(names) == 1 else 'deltas'} too small for it): "
            f"{_left_out_remedy(left_out)}"
        )
    return (
        f"no changed module has LoRA factors ({'; and '.join(why)}): the adapter would hold "
        "no LoRA module, which PEFT cannot load"
    )


def _nothing_to_factor(pairing: Pairing, targets: Sequence[str] | None, embeddings: str) -> str:
    """Why a pairing gives no LoRA module, for the error :func:`extract` raises."""
    changed = pairing.extras
    if not changed:
        skipped = f", {len(pairing.mismatched)} of other shapes" if pairing.mismatched else ""
        return (
            f"no tensor differs between the base and the tuned checkpoint "
            f"({len(pairing.unchanged)} equal{skipped}): there is no LoRA adapter to extract"
        )
    more = f", … ({len(changed) - 6} more)" if len(changed) > 6 else ""
    listed = ", ".join(changed[:6]) + more
    if targets is not None:
        why = f"no changed module matches the targets {list(targets)}"
    elif embeddings == "save":
        why = "no changed 2-D weight to factor (embeddings are kept whole: embeddings='save')"
    else:
        why = "no changed 2-D weight to factor"
    return (
        f"{why}; the changed tensors are {listed}. An adapter without a LoRA module "
        "(only modules_to_save) cannot be loaded by PEFT"
    )


#: Entries of a delta formed at a time by :func:`read_delta` (4 MiB of float32).
_READ_BLOCK_ENTRIES = 1 << 20


def reader_threads() -> int:
    """Threads :func:`read_delta` forms a delta with: half the cores this process may
    run on, at most 8 (the other half factors: :mod:`svdkit.lora.read_ahead`).

    On an H100's 16-core host a 11008×4096 bf16 pair took 114 ms in one thread
    (memory-mapped reads, widening, the difference, the finiteness check), 21 ms in 8;
    two cores read in one, as before.
    """
    from svdkit.lowrank._threads import available_cores

    return max(1, min(8, available_cores() // 2))


def _widens_exactly(stored: np.dtype, dtype: type) -> bool:
    """Whether every value of ``stored`` is one of ``dtype`` (NumPy's "safe" casts
    include 64-bit integers to float64, which rounds beyond 2⁵³)."""
    return np.can_cast(stored, dtype, "safe") and not (
        stored.kind in "iu" and stored.itemsize >= np.dtype(dtype).itemsize
    )


def read_delta(base: Checkpoint, tuned: Checkpoint, key: str, dtype: type) -> np.ndarray:
    """``W_tuned − W_base`` in ``dtype``: one array, formed by row blocks of at most
    :data:`_READ_BLOCK_ENTRIES` entries (widened, subtracted and checked for finiteness
    while in cache) in :func:`reader_threads` threads; NaN, infinities and a norm
    beyond float64's range are refused, naming the module, the entry and the checkpoint.
    """
    t, b = tuned.tensor(key), base.tensor(key)
    if not (isinstance(t, np.ndarray) and isinstance(b, np.ndarray) and t.ndim >= 1
            and t.shape == b.shape and _widens_exactly(t.dtype, dtype)
            and _widens_exactly(b.dtype, dtype)):
        # a rounding read (or an opaque dtype, refused by name): Checkpoint.read's rules
        delta = tuned.read(key, dtype)
        step = max(1, (1 << 22) // max(1, int(np.prod(b.shape[1:]))))
        with np.errstate(over="ignore", invalid="ignore"):  # refused below, by name
            for r0 in range(0, b.shape[0], step):
                delta[r0 : r0 + step] -= np.asarray(b[r0 : r0 + step], dtype=dtype)
        refuse_non_finite(delta, key, (("tuned", tuned), ("base", base)), difference=True)
        _refuse_unbounded_norm(delta, key)
        return delta
    delta = np.empty(t.shape, dtype)
    step = max(1, _READ_BLOCK_ENTRIES // max(1, int(np.prod(t.shape[1:]))))
    starts = range(0, t.shape[0], step)

    def form(r0: int) -> bool:
        """Rows ``r0 : r0 + step`` of the delta; whether they are all finite."""
        out = delta[r0 : r0 + step]
        with np.errstate(over="ignore", invalid="ignore"):  # (thread-local; refused below)
            np.copyto(out, t[r0 : r0 + step], casting="safe")
            out -= np.asarray(b[r0 : r0 + step], dtype=dtype)
            return bool(np.isfinite(out).all())

    threads = min(reader_threads(), len(starts))
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads, thread_name_prefix="svdkit-read-delta") as pool:
            finite = list(pool.map(form, starts))
    else:
        finite = [form(r0) for r0 in starts]
    if not all(finite):  # (names the first non-finite entry)
        refuse_non_finite(delta, key, (("tuned", tuned), ("base", base)), difference=True)
    _refuse_unbounded_norm(delta, key)
    return delta


def _refuse_unbounded_norm(delta: np.ndarray, key: str) -> None:
    """Refuse a delta whose ``‖ΔW‖_F`` (so ``σ₁`` too) is beyond float64's range,
    naming the module: no singular value of it can be held."""
    found = unbounded_norm(delta)
    if found is not None:
        fro, e = found
        raise SvdkitError(
            f"module {module_of(key)[0]!r}: ΔW = W_tuned − W_base has entries up to about "
            f"2^{e} and ‖ΔW‖_F = {fro:.6g}·2^{e}, beyond float64's range: its singular "
            "values cannot be held. Check the checkpoints (a diverged fine-tune, a bad "
            "conversion)"
        )


def _first_non_finite(a: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first NaN or infinite entry of ``a`` (row blocks), or None."""
    step = max(1, (1 << 22) // max(1, int(np.prod(a.shape[1:]))))
    for r0 in range(0, a.shape[0], step):
        bad = ~np.isfinite(a[r0 : r0 + step])
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), bad.shape)
            return (idx[0] + r0, *idx[1:])
    return None


def refuse_non_finite(
    values: np.ndarray,
    key: str,
    sources: Sequence[tuple[str, Checkpoint]],
    *,
    difference: bool = False,
) -> None:
    """Refuse a weight (or a delta, ``difference``) of tensor ``key`` with a NaN or an
    infinite entry, naming the module, the tensor, the entry and which checkpoint of
    ``sources`` (``(role, checkpoint)`` pairs: "base", "tuned") holds it.

    A NaN in a fine-tuned weight would otherwise surface from the SVD as "A has a
    non-finite entry", with no module named among hundreds.
    """
    from svdkit.errors import NonFiniteError

    idx = _first_non_finite(values)
    if idx is None:
        return
    module = module_of(key)[0]
    where = f"[{', '.join(map(str, idx))}]"
    held = []
    for role, ck in sources:
        v = float(np.asarray(ck.tensor(key)[idx], dtype=np.float64))
        if not math.isfinite(v):
            held.append(f"the {role} checkpoint's tensor {key!r} "
                        f"(in '{ck.root / ck.shard_of(key)}') holds {v:g} there")
    what = "ΔW = W_tuned − W_base" if difference else "the weight"
    cause = (
        "; ".join(held) if held
        else f"the difference of two finite weights overflows {values.dtype.name} there"
    )
    raise NonFiniteError(
        f"module {module!r}: {what} has a non-finite entry at {where} "
        f"({float(values[idx]):g}): {cause}. svdkit needs finite weights: check that "
        "checkpoint (a diverged fine-tune, a bad conversion)"
    )


def write_report(path: str | os.PathLike, report: ExtractionReport) -> None:
    """The report as JSON, written atomically (:func:`svdkit._files.write_file`)."""
    import codecs
    import json

    from svdkit._files import write_file

    write_file(path, lambda f: json.dump(report.to_dict(), codecs.getwriter("utf-8")(f),
                                         indent=2))
