"""A LoRA adapter in memory, and PEFT's directory format on disk.

PEFT stores ``ΔW = scale · lora_B @ lora_A`` with ``scale = lora_alpha / r``
(rsLoRA: ``lora_alpha / √r``):

=================  ==========================================  ==========================
module kind        tensors in ``adapter_model.safetensors``    shapes
=================  ==========================================  ==========================
linear ``[out, in]``  ``base_model.model.<m>.lora_A.weight``    ``[r, in]``
                   ``base_model.model.<m>.lora_B.weight``      ``[out, r]``
embedding ``[V, d]``  ``base_model.model.<m>.lora_embedding_A``  ``[r, V]``
                   ``base_model.model.<m>.lora_embedding_B``   ``[d, r]``  (``ΔW = (scale·B A)ᵀ``)
conv1d ``[in, out]``  ``base_model.model.<m>.lora_A.weight``    ``[r, in]``
                   ``base_model.model.<m>.lora_B.weight``      ``[out, r]``  (``ΔW = (scale·B A)ᵀ``)
conv ``[out, in, *k]``  ``base_model.model.<m>.lora_A.weight``  ``[r, in, *k]``
                   ``base_model.model.<m>.lora_B.weight``      ``[out, r, 1, …]``  (flattened)
kept whole         ``base_model.model.<m>.<param>``            (``modules_to_save``)
bias of a LoRA     ``base_model.model.<m>.base_layer.bias``    (``bias = "lora_only"``)
base of a LoRA     ``base_model.model.<m>.base_layer.weight``  (PEFT's ``save_embedding_layers``)
bias of lora_B     ``base_model.model.<m>.lora_B.bias``        ``[out]`` (``lora_bias=True``)
=================  ==========================================  ==========================

A ``lora_B`` bias (PEFT's ``lora_bias=True``) adds ``scale · bias`` to the layer's
output; it is read (:attr:`LoraModule.bias`) only when :meth:`Adapter.load` is told
(``lora_bias=True``: ``resize``, ``analyse``), and refused by name otherwise (``merge``).

PEFT's trainable tokens (``trainable_token_indices``) are saved as
``base_model.model.<m>.token_adapter.trainable_tokens_delta`` ``[k, d]``: despite the
name, the new values of rows ``indices`` of the embedding ``<m>`` (merging replaces
those rows, it adds nothing). They are kept among the saved tensors under
``<m>.token_adapter.trainable_tokens_delta`` and resolved against the config's
indices by :meth:`Adapter.trainable_tokens`.

PEFT saves the base weight of a LoRA'd ``embed_tokens`` / ``lm_head`` with the
adapter (``base_layer.weight``, for a resized vocabulary); it is read as the saved
tensor ``<m>.weight``, the ``W`` that merging adds ``scale · B A`` to. With
``bias = "all"`` every bias of the model is saved: the config keeps ``bias = "all"``
and those biases are not taken for ``modules_to_save``.

``adapter_config.json`` carries ``peft_type = "LORA"``, ``r`` and ``lora_alpha`` (the
most common rank, and its alpha), ``rank_pattern`` / ``alpha_pattern`` for the
modules that differ, ``target_modules`` (full module names), ``modules_to_save``,
``bias``, ``use_rslora``, ``fan_in_fan_out`` and ``base_model_name_or_path`` — the
fields of PEFT's ``LoraConfig``; ``PeftModel.from_pretrained(base, directory)`` loads it.

GPT-2's ``Conv1D`` layers (``c_attn``, ``c_proj``, ``c_fc``, ``q_attn``) store their
weight as ``[in, out]``, the transpose of ``nn.Linear``'s: their modules are of kind
``conv1d``, and the config says ``fan_in_fan_out = true``, as PEFT wants. Reading
such an adapter back, :func:`~svdkit.lora.modules.conv1d_modules` says which
``lora_A``/``lora_B`` modules are ``Conv1D`` ones (PEFT decides by the layer's class,
which the files do not record, and sets ``fan_in_fan_out`` from the last layer it
wrapped): :func:`~svdkit.lora.merge.merge` decides each module again against the
base (:func:`~svdkit.lora.modules.weight_layouts`).

Adapters PEFT would not apply as ``W + scale·B A`` are refused with the field that
says so: BD-LoRA (``use_bdlora``) when read; an ``init_lora_weights`` that changes
the base (PiSSA, OLoRA, CorDA, LoRA-GA, LoftQ) by merge and resize
(:func:`refuse_base_changing`).

Examples
--------
>>> import numpy as np, tempfile, shutil, pathlib
>>> rng = np.random.default_rng(0)
>>> m = LoraModule("layer.q", "linear", A=rng.standard_normal((2, 5)),
...                B=rng.standard_normal((4, 2)), alpha=2.0)
>>> ad = Adapter({"layer.q": m})
>>> d = pathlib.Path(tempfile.mkdtemp()) / "adapter"
>>> _ = ad.save(d)
>>> back = Adapter.load(d)
>>> back.modules["layer.q"].r, bool(np.allclose(back.modules["layer.q"].delta(), m.delta()))
(2, True)
>>> shutil.rmtree(d.parent)  # (the example leaves nothing behind)
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svdkit._files import (
    check_directory_output,
    make_temp_dir,
    replace_directory,
    write_error,
)
from svdkit._naming import arg, flag, got
from svdkit.errors import (
    EmptyInputError,
    FileFormatError,
    MissingFileError,
    NonFiniteError,
    ShapeError,
    SvdkitError,
)
from svdkit.inputs.files import check_path
from svdkit.inputs.shape import first_masked
from svdkit.lora._args import check_bool, check_float_dtype, check_real
from svdkit.lora.modules import conv1d_modules
from svdkit.lora.safetensors_io import (
    MARK_KEY,
    PICKLE_SUFFIXES,
    Checkpoint,
    _ml_dtypes,
    dtype_code,
    load_json,
    round_to,
    save_safetensors,
    written_by_svdkit,
)
from svdkit.lowrank._common import check_positive_int

__all__ = [
    "CONFIG_NAME",
    "PREFIX",
    "TOKENS_SUFFIX",
    "WEIGHTS_NAME",
    "Adapter",
    "FactorUnderflowError",
    "LoraModule",
    "as_adapter",
    "check_adapter_output",
    "check_alpha",
    "check_finite_factors",
    "lora_scale",
    "store_factors",
    "token_module",
]

PREFIX = "base_model.model."
#: The saved tensor of PEFT's trainable tokens, after its module's name.
TOKENS_SUFFIX = ".token_adapter.trainable_tokens_delta"
CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
#: ``__metadata__`` key of a PiSSA adapter's weights file (:func:`svdkit.lora.pissa.pissa`):
#: a JSON object naming the residual the adapter belongs to and the Frobenius norms of
#: one weight before and after PiSSA (:attr:`Adapter.pissa_mark`), which
#: :func:`svdkit.lora.merge.merge` uses to refuse the original base.
PISSA_KEY = "svdkit_pissa"

#: The files an adapter directory svdkit writes holds (``extract`` adds its report).
ADAPTER_FILES = (CONFIG_NAME, WEIGHTS_NAME, "svdkit_report.json")


def _listed(names: list[str], most: int = 3) -> str:
    more = f", … ({len(names) - most} more)" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def check_adapter_output(directory: str | os.PathLike) -> Path:
    """Check, before anything is written, that an adapter can be written to ``directory``.

    A new or empty directory is fine; an existing one is replaced only when it is an
    adapter svdkit wrote: nothing in it but :data:`ADAPTER_FILES`, and its
    ``adapter_model.safetensors`` marked (:data:`~svdkit.lora.safetensors_io.MARK_KEY`).
    An adapter trained with PEFT, or a training directory with an adapter in it
    (``optimizer.pt``, ``trainer_state.json``, ``checkpoint-500/``), is never replaced:
    its files would be lost.

    Raises
    ------
    FileFormatError
        ``directory`` is named like a file (``adapter.safetensors``, ``.json``,
        ``.bin``…), is a file, lies under a file, or is an existing directory that
        is not an adapter svdkit wrote (the message names what is in it).
    """
    suffix = check_path(directory, "directory").suffix.lower()
    if suffix in (".safetensors", ".json") or suffix in PICKLE_SUFFIXES:
        raise FileFormatError(
            f"'{directory}': a PEFT adapter is a directory ({CONFIG_NAME} and {WEIGHTS_NAME} "
            f"in it), not a {suffix} file: name the output directory without the extension"
        )
    directory = check_directory_output(directory, "LoRA adapter directory", replaced=True)
    if not directory.is_dir():
        return directory
    entries = sorted(directory.iterdir())
    if not entries:
        return directory
    foreign = [p.name + ("/" if p.is_dir() else "") for p in entries
               if p.name not in ADAPTER_FILES or not p.is_file()]
    if foreign:
        raise FileFormatError(
            f"'{directory}' exists and holds files svdkit does not write in an adapter "
            f"({_listed(foreign)}): refusing to replace it; choose another path"
        )
    if not written_by_svdkit(directory / WEIGHTS_NAME):
        raise FileFormatError(
            f"'{directory}' exists and holds an adapter svdkit did not mark as its output "
            f"(one PEFT or an older svdkit wrote; {WEIGHTS_NAME} has no svdkit mark): "
            "refusing to replace it; choose another path, or remove it first"
        )
    return directory


def check_alpha(alpha: float | None) -> float | None:
    """``alpha`` as a float when it is a positive finite number (or None), else an error.

    An infinite ``lora_alpha`` gives factors of zeros and an ``adapter_config.json``
    with ``Infinity``, which is not JSON (PEFT's reader and svdkit's refuse it).
    """
    if alpha is None:
        return None
    number = not isinstance(alpha, bool) and isinstance(
        alpha, (int, float, np.integer, np.floating)
    )
    if not (number and math.isfinite(float(alpha)) and float(alpha) > 0):
        # (the command line's --alpha; PEFT's lora_alpha in Python)
        name = arg("alpha") if flag("alpha") else "alpha (lora_alpha)"
        raise SvdkitError(
            f"{name} must be a positive finite number; got {got(alpha)}", param="alpha"
        )
    return float(alpha)


def check_finite_factors(
    name: str, A: np.ndarray, B: np.ndarray, scale: float, *, advice: str | None = None
) -> None:
    """Refuse factors with an infinite or NaN entry, as stored (after a cast).

    ``B A`` is the delta divided by the scale ``α / r``: a tiny ``alpha`` (with
    ``split`` ``"B"`` or ``"A"``) makes one factor overflow float16 (65504), and
    the adapter would hold ``inf`` — NaN in every output of the model. ``advice``
    replaces the remedy the message gives (alpha and split, which ``pissa`` has not).
    """
    for side, f in (("lora_A", A), ("lora_B", B)):
        f = np.asarray(f)
        if np.all(np.isfinite(f.astype(np.float64))):
            continue
        try:
            code = dtype_code(f.dtype)
        except FileFormatError:
            code = str(f.dtype)
        where, remedy = (f" at the scale α/r = {scale:.3g}",
                         "use a larger alpha, split 'sqrt', or a wider dtype")
        if advice is not None:  # (named as store_factors' underflow names it)
            code, where, remedy = f.dtype.name, " as stored", advice
        raise SvdkitError(
            f"module {name!r}: {side} overflows {code} (an entry is infinite or NaN){where}: "
            f"{remedy}"
        )


def _smallest_normal(dt: np.dtype) -> float:
    """The smallest normal number of the floating-point dtype ``dt`` (bfloat16 too).

    NumPy's own float types need NumPy alone; any other (bfloat16) is described by
    :mod:`ml_dtypes`, which is then installed since ``dt`` exists.
    """
    if dt.type in (np.float16, np.float32, np.float64, np.longdouble):
        return float(np.finfo(dt).tiny)
    return float(_ml_dtypes(dt.name).finfo(dt).tiny)


class FactorUnderflowError(SvdkitError):
    """A factor of :func:`store_factors` that would be stored as zero or subnormal:
    :func:`~svdkit.lora.pissa.pissa` keeps such a module whole in its residual."""


def store_factors(
    name: str,
    A: np.ndarray,
    B: np.ndarray,
    dtype: Any,
    scale: float,
    *,
    advice: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``A`` and ``B`` cast to ``dtype``, refused when the cast overflows or underflows.

    ``B A`` is the delta divided by the scale ``α / r``: a tiny ``alpha`` makes a
    factor overflow (:func:`check_finite_factors`), a huge one makes it underflow —
    with ``alpha = 1e308`` every entry of a float32 factor was zero, an adapter that
    changes nothing. A factor with a nonzero entry whose largest entry, as stored,
    is below the smallest normal number of ``dtype`` (float16's 6.1e-05: its
    subnormals, down to 6e-08, keep too few digits) has lost its precision (or
    everything) and is refused (:class:`FactorUnderflowError`). The message ends with
    ``advice`` when given (the remedy in the caller's options: ``pissa`` has no
    alpha); by default it names the cause — the delta is too small for ``dtype`` (at a
    scale of at most 1: a barely changed module), or the scale (a large ``alpha``) — and
    the cures: the dtypes whose normal range reaches further down, or a smaller alpha
    (the factors hold the delta divided by the scale: a scale below 1 enlarges them).

    Examples
    --------
    >>> import numpy as np
    >>> A, B = np.full((1, 3), 1e-50), np.full((4, 1), 1e-50)
    >>> store_factors("fc", A, B, np.float64, 1e40)[0].dtype
    dtype('float64')
    >>> try:
    ...     store_factors("fc", A, B, np.float32, 1e40)
    ... except SvdkitError as err:
    ...     print(str(err).split(" (")[0])
    module 'fc': lora_A underflows float32
    """
    dt = np.dtype(dtype)
    with np.errstate(over="ignore", under="ignore"):  # refused below, by name
        stored = round_to(A, dt), round_to(B, dt)
    check_finite_factors(name, *stored, scale, advice=advice)
    tiny = _smallest_normal(dt)
    for side, before, after in (("lora_A", A, stored[0]), ("lora_B", B, stored[1])):
        if not np.asarray(before).size or not np.any(np.asarray(before) != 0):
            continue  # a zero factor (PEFT's initial lora_B) stays what it is
        largest = float(np.max(np.abs(after.astype(np.float64))))
        if largest < tiny:
            remedy = advice or _underflow_remedy(dt, scale)
            raise FactorUnderflowError(
                f"module {name!r}: {side} underflows {dt.name} (its largest entry "
                f"{float(np.max(np.abs(np.asarray(before, dtype=np.float64)))):.3g} is "
                f"{'zero' if largest == 0 else 'subnormal'} as stored, below {dt.name}'s "
                f"smallest normal number {tiny:.3g}) at the scale α/r = {scale:.3g}: {remedy}"
            )
    return stored


def wider_codes(dt: Any) -> list[str]:
    """The factor dtypes whose normal range reaches below that of ``dt`` (F16: F32 and
    F64; BF16 and F32: F64; F64: none): those that hold factors ``dt`` underflows.

    Examples
    --------
    >>> import numpy as np
    >>> wider_codes(np.float16), wider_codes(np.float32), wider_codes(np.float64)
    (['F32', 'F64'], ['F64'], [])
    """
    tiny = _smallest_normal(np.dtype(dt))
    return [code for code, other in (("F32", np.float32), ("F64", np.float64))
            if float(np.finfo(other).tiny) < tiny]


def _underflow_remedy(dt: np.dtype, scale: float) -> str:
    """Why factors underflow ``dt`` at the scale ``α / r`` and what would hold them: a
    wider dtype (those whose smallest normal number is smaller: F16 → F32 or F64, BF16 and
    F32 → F64), or a smaller alpha, at any scale. The factors are those of the delta
    divided by the scale (``B = U·√(Σ / scale)``), so a scale below 1 enlarges them: at
    the default scale 1 (``alpha = r``) a barely changed module's delta is too small for
    ``dt``, and ``alpha < r`` stores it in ``dt`` all the same; above 1, alpha shrank them."""
    wider = wider_codes(dt)
    cure = []
    if wider:
        cure.append(f"store the factors in a wider {arg('dtype')} ({' or '.join(wider)})")
    cure.append(f"give a smaller {arg('alpha')} (the factors hold the delta divided by the "
                "scale α/r: a scale below 1 enlarges them)")
    if scale > 1:
        cause = f"alpha is too large (the scale α/r = {scale:.3g} divides the delta)"
    else:
        cause = (f"the module's delta is too small for {dt.name} (a barely changed module: "
                 "its factors fall below the smallest normal number)")
    return f"{cause}; {', or '.join(cure)}"


def lora_scale(alpha: float, r: int, rslora: bool = False) -> float:
    """PEFT's scaling: ``alpha / r``, or ``alpha / √r`` with rsLoRA.

    ``alpha`` is a finite number, ``r`` an integer ``≥ 0`` (``r = 0``, a module
    without LoRA, gives 1) and ``rslora`` ``True`` or ``False`` (not a string:
    ``"no"`` would be truthy); anything else is an :class:`~svdkit.errors.SvdkitError`
    naming the argument.

    Examples
    --------
    >>> import numpy as np
    >>> from svdkit.lora import LoraModule, lora_scale
    >>> lora_scale(16, 8), lora_scale(16, 4, rslora=True), lora_scale(8, 0)
    (2.0, 8.0, 1.0)

    It is the factor of ``B @ A`` in a module's delta:

    >>> rng = np.random.default_rng(0)
    >>> m = LoraModule("fc", "linear", A=rng.standard_normal((4, 6)),
    ...                B=rng.standard_normal((8, 4)), alpha=16)
    >>> bool(np.allclose(m.delta(), lora_scale(16, 4) * (m.B @ m.A)))
    True
    """
    alpha = check_real(alpha, "alpha")
    r = check_positive_int(r, "r", 0)
    rslora = check_bool(rslora, "rslora")
    if r == 0:
        return 1.0
    return alpha / (math.sqrt(r) if rslora else r)


def unit_alpha(r: int, rslora: bool = False) -> float:
    """The ``alpha`` that makes the scale 1 (``r``, or ``√r`` with rsLoRA)."""
    return math.sqrt(r) if check_bool(rslora, "rslora") else float(r)


#: ``init_lora_weights`` values with which PEFT changes the base weight when it loads
#: the adapter (``W_res = W − s·B₀A₀``, or LoftQ's quantised ``W``): checked as prefixes.
BASE_CHANGING_INITS = ("pissa", "corda", "olora", "loftq", "lora_ga")


def base_changing_init(config: dict[str, Any]) -> str | None:
    """The adapter config's ``init_lora_weights`` when it is one with which PEFT
    rebuilds the base at load time (:data:`BASE_CHANGING_INITS`), else None.

    >>> base_changing_init({"init_lora_weights": "pissa_niter_4"})
    'pissa_niter_4'
    >>> base_changing_init({"init_lora_weights": "gaussian"}) is None
    True
    """
    init = config.get("init_lora_weights")
    if isinstance(init, str) and init.lower().startswith(BASE_CHANGING_INITS):
        return init
    return None


def refuse_base_changing(adapter: Adapter, action: str, *, lora_bias: bool = False) -> None:
    """Refuse to ``action`` (merge, resize) an adapter whose base PEFT changes at load time,
    or, unless ``lora_bias`` (the caller handles it: ``resize``), one with a bias on
    ``lora_B`` (PEFT's ``lora_bias=True``, :attr:`LoraModule.bias`).

    PEFT saves a PiSSA / OLoRA / CorDA / LoRA-GA / LoftQ adapter with its
    ``init_lora_weights`` and, loading it on the original base, runs that init
    again: the weight it merges into is the residual ``W − s·B₀A₀`` (at the
    adapter's rank), not ``W``. svdkit does not rebuild that residual: such an
    adapter is refused (:class:`~svdkit.errors.FileFormatError`) rather than merged
    or resized into a different model. PEFT converts one to a plain LoRA of the
    original base: ``save_pretrained(..., path_initial_model_for_weight_conversion=…)``.
    """
    init = base_changing_init(adapter.config)
    biased = sorted(n for n, m in adapter.modules.items() if m.bias is not None)
    if biased and not lora_bias:
        raise FileFormatError(
            f"module {biased[0]!r} has a lora_B bias (PEFT's lora_bias=True): svdkit does "
            f"not {action} such adapters (resize and analyse read them); use PEFT's "
            "merge_and_unload"
        )
    if init is None:
        return
    raise FileFormatError(
        f"the adapter's init_lora_weights is {init!r}: PEFT changes the base weight when it "
        f"loads such an adapter (W_res = W − scale·B₀A₀ at its rank), which svdkit cannot "
        f"{action} exactly; convert it to a plain LoRA of the original base first, with "
        "PEFT's save_pretrained(..., path_initial_model_for_weight_conversion=<the "
        "adapter as initialised>) (it then says init_lora_weights: true)"
    )


def token_module(name: str) -> str | None:
    """The embedding module of a trainable-tokens tensor name, else ``None``.

    >>> token_module("embeddings.word_embeddings.token_adapter.trainable_tokens_delta")
    'embeddings.word_embeddings'
    """
    return name[: -len(TOKENS_SUFFIX)] if name.endswith(TOKENS_SUFFIX) else None


#: Module kinds: ``nn.Linear`` (``[out, in]``), ``nn.Embedding``, GPT-2's ``Conv1D``
#: (``[in, out]``), and torch's convolutions (``nn.Conv1d/2d/3d``, kernels
#: ``[out, in, *k]``: PEFT's ``lora_A`` ``[r, in, *k]``, ``lora_B`` ``[out, r, 1…]``).
KINDS = ("linear", "embedding", "conv1d", "conv")


#: The :mod:`ml_dtypes` floats a factor may be stored in (those safetensors has a code for).
_ML_FLOATS = frozenset({"bfloat16", "float8_e4m3fn", "float8_e5m2"})


def _checked_factor(module: str, side: str, value: Any) -> np.ndarray:
    """Factor ``side`` (``"A"`` or ``"B"``) of module ``module``, when it is an array of
    real numbers; a masked array that masks nothing gives its data.

    Raises
    ------
    SvdkitError
        ``value`` is not a NumPy array, or its dtype is not real numbers (complex:
        ``delta`` would drop the imaginary part; text and objects are no factor).
    NonFiniteError
        ``value`` is a masked array with a masked (missing) entry.
    """
    where = f"module {module!r}: {side}"
    if not isinstance(value, np.ndarray):
        raise SvdkitError(f"{where} must be a NumPy array; got {type(value).__name__}")
    dt = value.dtype
    if not (dt.kind in "fiub" or dt.name in _ML_FLOATS):
        what = {"c": "complex", "U": "text", "S": "bytes", "O": "Python objects"}.get(
            dt.kind, "not numbers"
        )
        raise SvdkitError(
            f"{where} has dtype {dt} ({what}): LoRA factors are real numbers "
            "(floating-point, integer or bool)"
        )
    if isinstance(value, np.ma.MaskedArray):
        idx = first_masked(value)
        if idx is not None:
            raise NonFiniteError(
                f"{where} is a masked array with a masked (missing) entry at index {idx}: "
                "a factor has no missing entries; fill them (.filled(value)) first"
            )
        value = np.asarray(value.data)
    return value


@dataclass
class LoraModule:
    """One module's LoRA pair: ``ΔW = scale · B @ A`` (transposed for embeddings and
    ``Conv1D`` layers, whose weights are stored ``[in, out]``).

    ``name`` is a str, ``A`` and ``B`` NumPy arrays of real numbers (floating-point,
    bfloat16 and the 8-bit floats included, integer or bool) and ``alpha`` a finite
    number (kept as a float); anything else — a list, a complex, text or object
    array, a masked array with a masked entry — is refused when the module is made,
    with an :class:`~svdkit.errors.SvdkitError` naming the module and the field.
    """

    name: str
    kind: str  # "linear", "embedding" or "conv1d"
    A: np.ndarray
    B: np.ndarray
    alpha: float
    #: PEFT's ``lora_bias=True``: the bias of ``lora_B`` ``[out]``, whose contribution to
    #: the layer's output is ``scale · bias`` (None: no such bias, PEFT's default).
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SvdkitError(f"a module's name must be a str; got {type(self.name).__name__}")
        for side in ("A", "B"):
            setattr(self, side, _checked_factor(self.name, side, getattr(self, side)))
        if self.bias is not None:
            self.bias = _checked_factor(self.name, "bias", self.bias)
            if self.bias.shape != (self.B.shape[0],):
                raise ShapeError(
                    f"module {self.name!r}: the lora_B bias has shape {list(self.bias.shape)}; "
                    f"expected [{self.B.shape[0]}] (lora_B's outputs)"
                )
        self.alpha = check_real(self.alpha, f"module {self.name!r}: alpha")
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise SvdkitError(
                f"module {self.name!r}: kind must be one of {', '.join(KINDS)}; got {self.kind!r}"
            )
        if self.kind == "conv":
            if (
                self.A.ndim < 3
                or self.B.ndim != self.A.ndim
                or self.B.shape[1] != self.A.shape[0]
                or any(k != 1 for k in self.B.shape[2:])
            ):
                raise ShapeError(
                    f"module {self.name!r}: convolution LoRA factors lora_A "
                    f"{list(self.A.shape)} and lora_B {list(self.B.shape)} are not PEFT's "
                    "layout (lora_A [r, in, *kernel], lora_B [out, r, 1, …]; LoRA of grouped "
                    "convolutions is not supported)"
                )
            return
        if self.A.ndim != 2 or self.B.ndim != 2 or self.A.shape[0] != self.B.shape[1]:
            raise ShapeError(
                f"module {self.name!r}: lora_A {list(self.A.shape)} and lora_B "
                f"{list(self.B.shape)} do not make a product B @ A"
            )

    @property
    def r(self) -> int:
        return int(self.A.shape[0])

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """Shape of the base weight this module adds to."""
        out, inn = self.B.shape[0], self.A.shape[1]
        if self.kind == "conv":
            return (int(out), *map(int, self.A.shape[1:]))
        return (inn, out) if self.transposed else (out, inn)

    @property
    def transposed(self) -> bool:
        """Whether the base weight holds ``(B A)ᵀ``'s layout (embeddings, ``Conv1D``)."""
        return self.kind in ("embedding", "conv1d")

    @property
    def factor_names(self) -> tuple[str, str]:
        """The suffixes of ``A`` and ``B`` in PEFT's tensor names."""
        if self.kind == "embedding":
            return "lora_embedding_A", "lora_embedding_B"
        return "lora_A.weight", "lora_B.weight"

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """``(B, A)`` as matrices ``[out, r]`` and ``[r, n]``: a convolution's factors
        flattened (``A`` ``[r, in·k…]``), the others as they are."""
        if self.kind != "conv":
            return self.B, self.A
        return self.B.reshape(self.B.shape[0], self.r), self.A.reshape(self.r, -1)

    def shaped(self, B: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New factor matrices ``B`` ``[out, k]``, ``A`` ``[k, n]`` in this module's layout
        (a convolution's: ``lora_A`` ``[k, in, *kernel]``, ``lora_B`` ``[out, k, 1…]``)."""
        if self.kind != "conv":
            return B, A
        k = A.shape[0]
        ones = (1,) * (self.A.ndim - 2)
        return B.reshape(B.shape[0], k, *ones), A.reshape(k, *self.A.shape[1:])

    def scale(self, rslora: bool = False) -> float:
        return lora_scale(self.alpha, self.r, rslora)

    def delta(self, rslora: bool = False, dtype: Any = np.float64) -> np.ndarray:
        """The dense ``ΔW`` in the base weight's orientation (a convolution's kernel
        ``scale · (B.flatten(1) @ A.flatten(1))`` reshaped to ``[out, in, *kernel]``).

        ``dtype`` (float64, float32, float16 or bfloat16) is the one it is computed in.
        """
        dtype = check_float_dtype(dtype, "dtype")
        B, A = self.matrices()
        d = self.scale(rslora) * (np.asarray(B, dtype=dtype) @ np.asarray(A, dtype=dtype))
        if self.kind == "conv":
            return d.reshape(self.weight_shape)
        return d.T if self.transposed else d


#: Fields of ``adapter_config.json`` that :meth:`Adapter.peft_config` writes with a
#: default (``None``, ``True``, ``0.0``) only where the adapter's :attr:`Adapter.config`
#: has none: :meth:`Adapter.load` keeps the file's values (the pinned base ``revision``,
#: the training's ``lora_dropout``, ``inference_mode``, the ``layers_to_transform`` and
#: ``layers_pattern`` PEFT selects layers by, the ``peft_version`` that wrote it), so that
#: ``resize`` loses none. The other fields it writes are computed from the modules (``r``,
#: ``lora_alpha``, the patterns, ``target_modules``, ``modules_to_save``, ``bias``…).
CARRIED_FIELDS = frozenset({"revision", "inference_mode", "lora_dropout",
                            "layers_to_transform", "layers_pattern", "peft_version"})

#: PEFT's ``LoraConfig`` defaults for fields an ``adapter_config.json`` leaves out.
PEFT_DEFAULT_R = 8
PEFT_DEFAULT_ALPHA = 8


def _key_matches(key: str, name: str) -> bool:
    """PEFT's test (``peft.utils.other.get_pattern_key``): ``(.*\\.)?(key)$`` matches ``name``."""
    return re.match(rf"(.*\.)?({key})$", name) is not None


def _pattern_value(patterns: dict[str, Any], name: str) -> Any:
    """The value PEFT gives ``name`` from ``rank_pattern`` / ``alpha_pattern``, or None.

    PEFT takes the first key ``k`` (in the mapping's order) for which
    ``(.*\\.)?(k)$`` matches ``name``, else looks ``name`` itself up.
    """
    for key, value in patterns.items():
        if _key_matches(key, name):
            return value
    return patterns.get(name)


def _pattern_keys(values: dict[str, Any], default: Any) -> dict[str, Any]:
    """``rank_pattern`` / ``alpha_pattern`` for the modules whose value is not ``default``.

    Each key matches, under PEFT's rule, only modules of the adapter that have the
    same value: the bare module name when it does, else the name with its regex
    metacharacters escaped, else that anchored with ``^`` (the name alone). So
    every module gets its own value whatever the order PEFT tries the keys in.
    """
    out: dict[str, Any] = {}
    for name in sorted(values):
        value = values[name]
        if value == default:
            continue
        escaped = re.escape(name)
        for key in (name, escaped, "^" + escaped):
            try:
                ok = (
                    _key_matches(key, name)
                    and values.get(key, value) == value
                    and all(values[o] == value for o in values if _key_matches(key, o))
                )
            except re.error:
                continue
            if ok:
                break
        out[key] = value
    return out


@dataclass
class Adapter:
    """LoRA modules, tensors kept whole, and the config fields that go with them.

    Attributes
    ----------
    modules : dict
        Module name → :class:`LoraModule`.
    saved : dict
        Tensor name in the model (``"encoder.layer.0.output.LayerNorm.weight"``) →
        the full tuned tensor (norms, biases, modules kept whole).
    use_rslora : bool
    base_model_name_or_path : str or None
    config : dict
        Other ``adapter_config.json`` fields to carry over (``task_type``…).
    pissa_mark : dict or None
        Set on a PiSSA adapter (:func:`svdkit.lora.pissa.pissa`), saved in its weights
        file's ``__metadata__`` (:data:`PISSA_KEY`) and read back by :meth:`load`:
        ``residual`` (the path of the residual it belongs to, as written), ``tensor``
        (one weight it changes) and that weight's Frobenius norms ``norm_base`` (the
        original ``W``) and ``norm_residual`` (``W − scale·B·A``). :func:`~svdkit.lora.merge.merge`
        refuses a base whose weight has the original's norm rather than the residual's.

    Examples
    --------
    One rank-2 module of an 8×6 linear layer and a norm kept whole, through PEFT's
    directory format and back:

    >>> import numpy as np, tempfile
    >>> from svdkit.lora import Adapter, LoraModule
    >>> rng = np.random.default_rng(0)
    >>> q = LoraModule("layer.q", "linear", A=rng.standard_normal((2, 6)).astype(np.float32),
    ...                B=rng.standard_normal((8, 2)).astype(np.float32), alpha=4.0)
    >>> ad = Adapter({"layer.q": q}, saved={"norm.weight": np.ones(6, np.float32)})
    >>> cfg = ad.peft_config()
    >>> cfg["r"], cfg["lora_alpha"], cfg["target_modules"], cfg["modules_to_save"]
    (2, 4, ['layer.q'], ['norm'])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = Adapter.load(ad.save(f"{d}/adapter"))
    ...     m = back.modules["layer.q"]
    ...     print(m.weight_shape, m.r, bool(np.array_equal(m.delta(), q.delta())))
    ...     print(sorted(back.saved))
    (8, 6) 2 True
    ['norm.weight']
    """

    modules: dict[str, LoraModule] = field(default_factory=dict)
    saved: dict[str, np.ndarray] = field(default_factory=dict)
    use_rslora: bool = False
    base_model_name_or_path: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    pissa_mark: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # a string ("false" from a config read by hand) would be truthy: rsLoRA's scale
        self.use_rslora = check_bool(self.use_rslora, "use_rslora")

    # ------------------------------------------------------------------ PEFT layout
    def tensor_items(self) -> list[tuple[str, np.ndarray]]:
        """``(key, array)`` in PEFT's naming, modules in name order."""
        items: list[tuple[str, np.ndarray]] = []
        for name in sorted(self.modules):
            m = self.modules[name]
            a_name, b_name = m.factor_names
            items.append((f"{PREFIX}{name}.{a_name}", m.A))
            items.append((f"{PREFIX}{name}.{b_name}", m.B))
            if m.bias is not None:  # (PEFT's lora_bias=True)
                items.append((f"{PREFIX}{name}.lora_B.bias", m.bias))
        for tname in sorted(self.saved):
            module, _, param = tname.rpartition(".")
            if module in self.modules:
                if param == "weight" or (
                    param == "bias" and self.modules[module].kind != "embedding"
                ):
                    items.append((f"{PREFIX}{module}.base_layer.{param}", self.saved[tname]))
                    continue
                raise SvdkitError(
                    f"tensor {tname!r} belongs to a LoRA module: only its base weight, or a "
                    "linear (or Conv1D) module's bias, can be saved with it"
                )
            else:
                items.append((f"{PREFIX}{tname}", self.saved[tname]))
        return items

    def trainable_tokens(self) -> dict[str, tuple[list[int], np.ndarray]]:
        """PEFT's trainable tokens: module → ``(indices, rows)``.

        Merging replaces rows ``indices`` of the module's weight by ``rows`` (PEFT's
        ``index_copy``). The indices come from the config's ``trainable_token_indices``:
        a list (for the model's input embedding, the one module PEFT then saves
        tokens for), or a dict whose key ``k`` belongs to the module whose name ends
        with ``k`` (PEFT's test).

        Raises
        ------
        FileFormatError
            Saved rows without indices, indices that are not non-negative integers,
            no key or several keys for a module, or not as many rows as indices.
        """
        deltas = {m: v for n, v in self.saved.items() if (m := token_module(n)) is not None}
        if not deltas:
            return {}
        spec = self.config.get("trainable_token_indices")
        out: dict[str, tuple[list[int], np.ndarray]] = {}
        for module, rows in sorted(deltas.items()):
            if isinstance(spec, list):
                indices: Any = spec
            elif isinstance(spec, dict):
                keys = [k for k in spec if isinstance(k, str) and module.endswith(k)]
                if len(keys) != 1:
                    raise FileFormatError(
                        f"trainable tokens of {module!r}: {len(keys)} keys of "
                        f"trainable_token_indices ({', '.join(map(repr, spec)) or 'none'}) "
                        "name it; expected one"
                    )
                indices = spec[keys[0]]
            else:
                raise FileFormatError(
                    f"the adapter saves trainable tokens of {module!r} but its config has no "
                    "trainable_token_indices (a list or an object of lists)"
                )
            if not isinstance(indices, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indices
            ):
                raise FileFormatError(
                    f"trainable_token_indices of {module!r} must be a list of non-negative "
                    f"integers; got {_json_type(indices)}"
                )
            rows = np.asarray(rows)
            if rows.ndim != 2 or rows.shape[0] != len(indices):
                raise FileFormatError(
                    f"trainable tokens of {module!r}: {len(indices)} indices but rows "
                    f"{list(rows.shape)}"
                )
            out[module] = (list(indices), rows)
        return out

    def peft_config(self) -> dict[str, Any]:
        """``adapter_config.json`` as a dict."""
        ranks = Counter(m.r for m in self.modules.values())
        r = ranks.most_common(1)[0][0] if ranks else 8
        alphas = Counter(m.alpha for m in self.modules.values() if m.r == r)
        alpha = alphas.most_common(1)[0][0] if alphas else unit_alpha(r, self.use_rslora)
        rank_pattern = _pattern_keys({n: m.r for n, m in self.modules.items()}, r)
        alpha_pattern = _pattern_keys(
            {n: _num(m.alpha) for n, m in self.modules.items()}, _num(alpha)
        )
        bias_all = self.config.get("bias") == "all"
        to_save = sorted(
            {
                module
                for module, _, param in (
                    t.rpartition(".") for t in self.saved if token_module(t) is None
                )
                if not (bias_all and param == "bias")
            }
            - set(self.modules)
        )
        lora_bias = any(
            module in self.modules and param == "bias"
            for module, _, param in (t.rpartition(".") for t in self.saved)
        )
        config = {
            "peft_type": "LORA",
            "task_type": None,
            "base_model_name_or_path": self.base_model_name_or_path,
            "revision": None,
            "inference_mode": True,
            "r": int(r),
            "lora_alpha": _num(alpha),
            "lora_dropout": 0.0,
            "target_modules": sorted(self.modules),
            "rank_pattern": rank_pattern,
            "alpha_pattern": alpha_pattern,
            "use_rslora": bool(self.use_rslora),
            "bias": "all" if bias_all else "lora_only" if lora_bias else "none",
            "modules_to_save": to_save or None,
            "fan_in_fan_out": any(m.kind == "conv1d" for m in self.modules.values()),
            # (the factors saved replace PEFT's initial ones; a base-changing init is
            # kept, so that PEFT rebuilds the residual base it needs)
            "init_lora_weights": base_changing_init(self.config) or True,
            "layers_to_transform": None,
            "layers_pattern": None,
            "use_dora": False,
        }
        if any(m.bias is not None for m in self.modules.values()):
            config["lora_bias"] = True
        for key, value in self.config.items():
            if key not in config or key in CARRIED_FIELDS:
                config[key] = value
        if self.config.get("task_type") is not None:
            config["task_type"] = self.config["task_type"]
        return config

    def save(
        self,
        directory: str | os.PathLike,
        dtype: Any = None,
        *,
        extra: Callable[[Path], None] | None = None,
    ) -> Path:
        """Write ``adapter_config.json`` and ``adapter_model.safetensors`` atomically.

        ``dtype`` casts the LoRA factors (float32, float16, float64 or
        ``ml_dtypes.bfloat16``); tensors kept whole keep theirs. The directory is
        built next to ``directory`` and renamed into place; an existing directory
        is replaced only when it is an adapter svdkit wrote
        (:func:`check_adapter_output`). The weights file is marked as svdkit's
        (``__metadata__`` key ``svdkit``, which loaders ignore). ``extra``, when
        given, is called with the finished temporary directory to add files of
        :data:`ADAPTER_FILES` (``svdkit_report.json``): they replace the old ones
        with the adapter, as one; if it fails, the old directory is left whole.

        Raises
        ------
        FileFormatError
            ``directory`` is a file, or an existing directory that is not an
            adapter svdkit wrote; or a write failed (a full disk: the message
            names the path, and the old directory is left as it was).
        SvdkitError
            ``directory`` is not a path or ``dtype`` not a floating-point dtype; or
            a factor, as stored (after the cast to ``dtype``), has an infinite or
            NaN entry, or underflows (:func:`store_factors`).
        EmptyInputError
            The adapter has no LoRA module: PEFT cannot load such an adapter (its
            ``NoMatchingPeftModuleError``), even one with tensors kept whole, so
            nothing is written.
        """
        directory = check_path(directory, "directory")
        tmp = self.build(directory, dtype, extra=extra)
        try:
            replace_directory(tmp, directory)
        except OSError as err:
            raise write_error(directory, err) from err
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return directory

    def build(
        self,
        directory: str | os.PathLike,
        dtype: Any = None,
        *,
        extra: Callable[[Path], None] | None = None,
    ) -> Path:
        """Build the adapter :meth:`save` writes to ``directory`` aside, in a new
        temporary directory beside it (returned), without putting it in place: the
        caller moves it there (:func:`svdkit._files.swap_in`) or removes it. The
        checks, the errors and ``extra`` are those of :meth:`save`; on failure
        nothing is left behind."""
        directory = check_path(directory, "directory")
        if dtype is not None:
            dtype = check_float_dtype(dtype, "dtype")
        if not self.modules:
            kept = f" ({len(self.saved)} tensors kept whole)" if self.saved else ""
            raise EmptyInputError(
                f"the adapter for '{directory}' has no LoRA module{kept}: PEFT cannot load an "
                "adapter without one (NoMatchingPeftModuleError); nothing was written"
            )
        check_adapter_output(directory)
        try:
            directory.parent.mkdir(parents=True, exist_ok=True)
            tmp = make_temp_dir(directory.parent, prefix=f".{directory.name}.")
        except OSError as err:
            raise write_error(directory, err) from err
        try:
            tensors = [(key, np.asarray(a)) for key, a in self.tensor_items()]
            stored = dict(tensors)
            for name in sorted(self.modules):
                m = self.modules[name]
                keys = [f"{PREFIX}{name}.{suffix}" for suffix in m.factor_names]
                A, B = stored[keys[0]], stored[keys[1]]
                if dtype is None:
                    check_finite_factors(name, A, B, m.scale(self.use_rslora))
                else:
                    A, B = store_factors(name, A, B, dtype, m.scale(self.use_rslora))
                stored[keys[0]], stored[keys[1]] = A, B
            tensors = list(stored.items())
            meta = {"format": "pt", MARK_KEY: "lora adapter"}
            if self.pissa_mark is not None:
                meta[PISSA_KEY] = json.dumps(self.pissa_mark)
            save_safetensors(tmp / WEIGHTS_NAME, tensors, meta)
            (tmp / CONFIG_NAME).write_text(
                json.dumps(self.peft_config(), indent=2) + "\n", encoding="utf-8"
            )
            if extra is not None:
                extra(tmp)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            # a failed write (save_safetensors names its temporary file): the output named
            cause = err.__cause__ if isinstance(err, FileFormatError) else err
            if isinstance(cause, OSError) and not isinstance(cause, SvdkitError):
                raise write_error(directory, cause) from err
            raise
        return tmp

    @classmethod
    def load(cls, directory: str | os.PathLike, *, lora_bias: bool = False) -> Adapter:
        """Read a PEFT LoRA directory (``adapter_config.json`` + ``adapter_model.safetensors``).

        ``lora_bias`` (False by default) reads PEFT's ``lora_bias=True`` adapters, whose
        ``lora_B`` has a bias (``<m>.lora_B.bias``, :attr:`LoraModule.bias`): only for
        callers that handle it (``resize``, ``analyse``); otherwise such an adapter is a
        :class:`~svdkit.errors.FileFormatError` naming the feature. Every field of the
        config that is not recomputed from the modules is kept (:attr:`config`,
        :data:`CARRIED_FIELDS`).
        """
        lora_bias = check_bool(lora_bias, "lora_bias")
        directory = check_path(directory, "directory")
        cfg_path = directory / CONFIG_NAME
        if not directory.exists():
            raise MissingFileError(f"no such adapter directory: '{directory}'")
        if not directory.is_dir():
            raise FileFormatError(
                f"'{directory}' is a file, not a PEFT adapter directory (adapter_config.json "
                "and adapter_model.safetensors)"
            )
        if not cfg_path.is_file():
            inner = _adapter_subfolders(directory)
            if inner:
                raise MissingFileError(
                    f"'{directory}' has no {CONFIG_NAME} of its own, but holds PEFT adapters "
                    f"in {', '.join(f'{n}/' for n in inner)} (save_pretrained of several "
                    "adapters writes one folder each): give one of them"
                )
            raise MissingFileError(f"'{directory}' has no {CONFIG_NAME}: not a PEFT adapter")
        try:
            cfg = load_json(cfg_path.read_text(encoding="utf-8"), cfg_path)
        except json.JSONDecodeError as err:
            raise FileFormatError(f"'{cfg_path}' is not JSON: {err}") from err
        except UnicodeDecodeError as err:
            raise FileFormatError(f"'{cfg_path}' is not UTF-8 JSON: {err}") from None
        if not isinstance(cfg, dict):
            raise FileFormatError(
                f"'{cfg_path}': expected a JSON object of LoraConfig fields; got "
                f"{_json_type(cfg)}"
            )
        if str(cfg.get("peft_type", "")).upper() != "LORA":
            raise FileFormatError(f"'{cfg_path}': peft_type is {cfg.get('peft_type')!r}, not LORA")
        if cfg.get("use_dora"):
            raise FileFormatError(f"'{cfg_path}': DoRA adapters are not supported")
        if cfg.get("target_parameters"):
            # LoRA on raw parameters (MoE experts): its factors are not a module's
            # weight delta, and read as one they would merge or resize wrongly
            raise FileFormatError(
                f"'{cfg_path}': adapters with target_parameters (LoRA on parameters "
                "rather than modules) are not supported"
            )
        if cfg.get("use_bdlora"):
            # block-diagonal factors stored as their stacked blocks: read as plain
            # factors they are another matrix, and PEFT would load them back as blocks
            raise FileFormatError(
                f"'{cfg_path}': BD-LoRA adapters (use_bdlora: block-diagonal lora_A / lora_B "
                "stored as their blocks) are not supported"
            )
        fan_in_fan_out = cfg.get("fan_in_fan_out", False)
        if not isinstance(fan_in_fan_out, bool):
            raise FileFormatError(
                f"'{cfg_path}': field 'fan_in_fan_out' must be true or false; got "
                f"{_json_type(fan_in_fan_out)}"
            )
        fields = _config_fields(cfg, cfg_path)
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            for pickled in ("adapter_model.bin", "adapter_model.pt"):
                if (directory / pickled).exists():
                    raise FileFormatError(
                        f"'{directory / pickled}' is a pickle file: svdkit never loads pickle "
                        "files. Convert the adapter to safetensors first."
                    )
            raise MissingFileError(f"'{directory}' has no {WEIGHTS_NAME}")
        ck = Checkpoint(weights)
        rslora = fields["use_rslora"]
        pairs: dict[str, dict[str, np.ndarray]] = {}
        kinds: dict[str, str] = {}
        saved: dict[str, np.ndarray] = {}
        biases: dict[str, np.ndarray] = {}
        for key in ck.names:
            if not key.startswith(PREFIX):
                raise FileFormatError(f"'{weights}': tensor {key!r} does not start with {PREFIX}")
            rest = key[len(PREFIX):]
            if rest.endswith(".lora_B.bias"):
                if not lora_bias:
                    raise FileFormatError(
                        f"'{weights}': tensor {key!r} is the bias of a lora_B (PEFT's "
                        "lora_bias=True), read only where asked: resize and analyse read "
                        "such adapters (Python: Adapter.load(directory, lora_bias=True); the "
                        "CLI's svdkit lora resize and analyse read them as they are); svdkit "
                        "does not merge them: merge them with PEFT's merge_and_unload"
                    )
                biases[rest[: -len(".lora_B.bias")]] = np.array(ck.tensor(key))
                continue
            for suffix, kind, side in (
                (".lora_A.weight", "linear", "A"),
                (".lora_B.weight", "linear", "B"),
                (".lora_embedding_A", "embedding", "A"),
                (".lora_embedding_B", "embedding", "B"),
            ):
                if rest.endswith(suffix):
                    name = rest[: -len(suffix)]
                    pairs.setdefault(name, {})[side] = np.array(ck.tensor(key))
                    kinds[name] = kind
                    break
            else:
                if ".lora_" in rest:
                    raise FileFormatError(f"'{weights}': unsupported LoRA tensor {key!r}")
                for param in ("bias", "weight"):
                    if rest.endswith(f".base_layer.{param}"):
                        rest = rest[: -len(f".base_layer.{param}")] + f".{param}"
                saved[rest] = np.array(ck.tensor(key))
        modules = {}
        for name, pair in pairs.items():
            if set(pair) != {"A", "B"}:
                from svdkit.errors import MissingTensorError

                missing = "lora_B" if "A" in pair else "lora_A"
                raise MissingTensorError(f"'{weights}': module {name!r} has no {missing}")
            r = pair["A"].shape[0]
            want_r = _pattern_value(fields["rank_pattern"], name)
            default = ""
            if want_r is None:
                want_r = fields["r"]
                if "r" not in cfg:
                    default = " (PEFT's default: the file gives no r)"
            if want_r != r:
                raise FileFormatError(
                    f"'{directory}': module {name!r} has rank {r} in its tensors but "
                    f"{want_r} in {CONFIG_NAME}{default}"
                )
            alpha = _pattern_value(fields["alpha_pattern"], name)
            if alpha is None:
                alpha = fields["lora_alpha"]
            kind = kinds[name]
            if kind == "linear" and pair["A"].ndim > 2:
                kind = "conv"  # PEFT's LoRA of nn.Conv1d/2d/3d: lora_A [r, in, *kernel]
            modules[name] = LoraModule(
                name, kind, pair["A"], pair["B"], float(alpha), bias=biases.pop(name, None)
            )
        if biases:
            raise FileFormatError(
                f"'{weights}': a lora_B bias without lora_A / lora_B weights, for "
                f"{_listed(sorted(biases))}"
            )
        if fan_in_fan_out:
            linear = [name for name, m in modules.items() if m.kind == "linear"]
            for name in conv1d_modules(linear):
                modules[name].kind = "conv1d"
        known = (set(Adapter().peft_config()) | {"peft_version"}) - CARRIED_FIELDS
        extra = {k: v for k, v in cfg.items() if k not in known}
        if cfg.get("task_type") is not None:
            extra["task_type"] = cfg["task_type"]
        if cfg.get("bias") == "all":
            extra["bias"] = "all"  # every bias of the model is saved, not whole modules
        if base_changing_init(cfg) is not None:
            extra["init_lora_weights"] = cfg["init_lora_weights"]  # (merge, resize refuse it)
        extra["fan_in_fan_out"] = fan_in_fan_out  # (a merge decides by the base's shapes)
        return cls(
            modules=modules,
            saved=saved,
            use_rslora=rslora,
            base_model_name_or_path=cfg.get("base_model_name_or_path"),
            config=extra,
            pissa_mark=_pissa_mark(ck.metadata.get(PISSA_KEY)),
        )


def _pissa_mark(text: str | None) -> dict[str, Any] | None:
    """The PiSSA mark of :data:`PISSA_KEY` as :meth:`Adapter.save` writes it; None when
    there is none, or what is there is not such a mark (it only guards a merge)."""
    try:
        mark = json.loads(text) if isinstance(text, str) else None
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(mark, dict):
        return None
    ok = all(isinstance(mark.get(k), str) for k in ("residual", "tensor")) and all(
        isinstance(mark.get(k), (int, float)) and not isinstance(mark.get(k), bool)
        and math.isfinite(mark[k]) for k in ("norm_base", "norm_residual")
    )
    return mark if ok else None


def as_adapter(value: Any, name: str = "adapter", *, lora_bias: bool = False) -> Adapter:
    """``value`` when it is an :class:`Adapter`, else the adapter read from the directory ``value``.

    Raises
    ------
    SvdkitError
        ``value`` is neither an :class:`Adapter` nor a path (the message names
        the argument ``name``).
    FileFormatError
        ``value`` is the empty path (:func:`svdkit.inputs.files.check_path`).
    """
    if isinstance(value, Adapter):
        return value
    what = "an Adapter or the path of a PEFT adapter directory"
    return Adapter.load(check_path(value, name, what=what), lora_bias=lora_bias)


def _adapter_subfolders(directory: Path) -> list[str]:
    """The subfolders of ``directory`` that hold an ``adapter_config.json`` (PEFT's
    ``save_pretrained`` of several adapters writes ``<name>/`` for each but the
    default one)."""
    try:
        entries = sorted(directory.iterdir()) if directory.is_dir() else []
    except OSError:
        return []
    return [p.name for p in entries if p.is_dir() and (p / CONFIG_NAME).is_file()]


def _json_type(value: Any) -> str:
    """How JSON names the type of ``value`` (for error messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"the number {json.dumps(value)}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    return "an array" if isinstance(value, list) else "an object"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_rank(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _config_fields(cfg: dict[str, Any], path: Path) -> dict[str, Any]:
    """``r``, ``lora_alpha``, ``rank_pattern``, ``alpha_pattern`` and ``use_rslora``, checked.

    Missing fields take ``LoraConfig``'s defaults (``r = 8``, ``lora_alpha = 8``, no
    patterns, no rsLoRA), as PEFT does; a field of the wrong type is a
    :class:`~svdkit.errors.FileFormatError` naming the file and the field.
    """
    r = cfg.get("r", PEFT_DEFAULT_R)
    if not _is_rank(r):
        raise FileFormatError(
            f"'{path}': field 'r' must be a positive integer; got {_json_type(r)}"
        )
    alpha = cfg.get("lora_alpha", PEFT_DEFAULT_ALPHA)
    if not _is_number(alpha):
        raise FileFormatError(
            f"'{path}': field 'lora_alpha' must be a finite number; got {_json_type(alpha)}"
        )
    out: dict[str, Any] = {"r": r, "lora_alpha": float(alpha)}
    for field_name, check, what in (
        ("rank_pattern", _is_rank, "positive integers"),
        ("alpha_pattern", _is_number, "finite numbers"),
    ):
        pattern = cfg.get(field_name)
        if pattern is None:
            pattern = {}
        if not isinstance(pattern, dict):
            raise FileFormatError(
                f"'{path}': field {field_name!r} must be an object mapping module names or "
                f"regular expressions to {what}; got {_json_type(pattern)}"
            )
        for key, value in pattern.items():
            if not check(value):
                raise FileFormatError(
                    f"'{path}': {field_name}[{key!r}] must be one of the {what}; got "
                    f"{_json_type(value)}"
                )
            try:
                re.compile(key)
            except re.error as err:
                raise FileFormatError(
                    f"'{path}': {field_name} key {key!r} is not a regular expression: {err}"
                ) from err
        out[field_name] = pattern
    rslora = cfg.get("use_rslora")
    if rslora is not None and not isinstance(rslora, bool):
        raise FileFormatError(
            f"'{path}': field 'use_rslora' must be true or false; got {_json_type(rslora)}"
        )
    out["use_rslora"] = bool(rslora)
    return out


def _num(x: float) -> float | int:
    """Whole numbers as int in JSON (PEFT's fields are typed int)."""
    return int(x) if float(x).is_integer() else float(x)
