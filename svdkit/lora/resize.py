"""Resize an adapter to a new rank, energy or error bound without forming ``B A``.

For one module ``ΔW = s · B A`` (``B`` ``[out, r]``, ``A`` ``[r, in]``, ``s`` the
scale): ``B = Q_B R_B`` and ``Aᵀ = Q_A R_A`` (thin QR), so
``ΔW = Q_B (s R_B R_Aᵀ) Q_Aᵀ``; the SVD of the small ``r×r`` core
``s R_B R_Aᵀ = U_c Σ V_cᵀ`` gives the exact SVD of ``ΔW``:
``U = Q_B U_c``, ``V = Q_A V_c``. Cost ``O((out + in) r²)`` instead of
kohya's ``O(out · in · r)`` product plus an ``O(out · in · min)`` SVD — and the
whole spectrum of ``ΔW`` comes for free, so energy rules are exact. The new
factors are split (:func:`~svdkit.lora.factor.split_factors`) with the new
``alpha`` (default ``r'``, scale 1; rsLoRA ``√r'``) and ``use_rslora`` kept, and
stored in the dtype of the module's factors (a bf16 adapter stays bf16) or the one
asked. The report's relative error is that of the factors as stored (rounded to
their dtype), measured exactly through the QR of the stacked old and new factors,
and so is its energy kept (``1 − error²``); under an ``error`` or ``energy`` rule the
rank is raised until the stored factors meet it, and :attr:`ResizeReport.bound_met`
is False where no rank can (the rounding floor of a BF16 or F16 adapter is about 1e-3).

Examples
--------
>>> import numpy as np
>>> from svdkit.lora.adapter import Adapter, LoraModule
>>> rng = np.random.default_rng(0)
>>> B, A = rng.standard_normal((50, 8)), rng.standard_normal((8, 40))
>>> ad = Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=16)})
>>> small, report = resize(ad, RankRule(rank=3))
>>> small.modules["fc"].r, report[0].rank_before, report[0].rank
(3, 8, 3)
>>> U, s, Vh = np.linalg.svd(2.0 * B @ A)
>>> bool(np.allclose(small.modules["fc"].delta(), (U[:, :3] * s[:3]) @ Vh[:3]))
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from svdkit._naming import arg, got
from svdkit.errors import EmptyInputError, SvdkitError, require_instance
from svdkit.linalg.measures import scaled_norm
from svdkit.lora._args import check_float_dtype
from svdkit.lora.adapter import (
    Adapter,
    LoraModule,
    check_alpha,
    lora_scale,
    refuse_base_changing,
    store_factors,
    unit_alpha,
)
from svdkit.lora.factor import pow2_exponent, pow2_scaled, split_factors
from svdkit.lora.rank import RankRule, as_rank_rule, rounding_level
from svdkit.lora.safetensors_io import round_to
from svdkit.lowrank.orth import qr_robust

__all__ = ["ResizeReport", "factor_spectrum", "resize", "scaled_factors", "scaled_spectrum"]


@dataclass(frozen=True)
class ResizeReport:
    """One module: its rank before and after, and the relative error
    ``‖ΔW − ΔW'‖_F / ‖ΔW‖_F`` of the factors as stored (rounded to their dtype) with the
    energy they keep, ``energy_kept = 1 − error²`` (clamped to ``[0, 1]``, as
    :meth:`~svdkit.lora.factor.Quality.with_error` gives it: of the stored factors, not of
    the values, so a BF16 module never reads 1 for the energy its rounding loses).
    ``bound_met`` is False when the stored factors miss an ``error`` or ``energy`` rule
    (:meth:`~svdkit.lora.rank.RankRule.missed`) at every rank resize may take (the rounding
    floor of their dtype, or ``max_rank``); always True under a fixed rank. ``capped``:
    the bound is missed because ``max_rank`` stopped the rank below the delta's numerical
    rank, and raising it could meet the bound (not where the rounding to the dtype alone
    misses it at every rank, :meth:`~svdkit.lora.rank.RankRule.rounding_bars`)."""

    name: str
    rank_before: int
    rank: int
    energy_kept: float
    relative_error: float
    bound_met: bool = True
    capped: bool = False


def factor_spectrum(B: np.ndarray, A: np.ndarray, scale: float = 1.0):
    """The exact thin SVD ``U, s, Vh`` of ``scale · B @ A`` through QR of each factor.

    The QRs are :func:`svdkit.lowrank.orth.qr_robust` (CholeskyQR2, Householder
    when that would lose orthogonality): 1536×64 in 1 ms against NumPy's 4 ms.
    """
    B = np.asarray(B, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    Qb, Rb = qr_robust(B)
    Qa, Ra = qr_robust(np.ascontiguousarray(A.T))
    # thin: the core is min(out, r) × min(in, r), not square when r exceeds one side
    Uc, s, Vch = np.linalg.svd(scale * (Rb @ Ra.T), full_matrices=False)
    return Qb @ Uc, s, Vch @ Qa.T


def scaled_factors(m: LoraModule, rslora: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """``(B', A', e)`` in float64 with ``scale · B A = 2^e · B' A'``: the factors (as
    matrices) and the scale brought to order 1 by powers of two (exact but for the
    scale's mantissa, one rounding), so that no product or sum of squares of them
    overflows (factors near 1e154 whose ``‖ΔW‖_F`` is beyond float64's range) or loses its
    digits as subnormals (factors near 1e-160).

    Examples
    --------
    >>> B, A = np.full((3, 1), 2.0**600), np.full((1, 2), 2.0**500)
    >>> B1, A1, e = scaled_factors(LoraModule("fc", "linear", A=A, B=B, alpha=1.0))
    >>> e, float(B1[0, 0] * A1[0, 0])  # 0.125 · 2^1103 = 2^1100
    (1103, 0.125)
    """
    B, A = (np.asarray(x, dtype=np.float64) for x in m.matrices())
    eb, ea = pow2_exponent(B), pow2_exponent(A)
    mantissa, es = math.frexp(m.scale(rslora))
    return pow2_scaled(B, eb) * mantissa, pow2_scaled(A, ea), eb + ea + es


def scaled_spectrum(
    m: LoraModule, name: str, rslora: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(U, unit, Vh, e)``: the exact thin SVD of ``scale · B A = U (2^e · unit) Vh``
    (:func:`factor_spectrum` of :func:`scaled_factors`), its values ``unit`` scaled by
    ``2^−e``; scale-free, whatever the magnitude of the factors.

    Raises
    ------
    SvdkitError
        ``σ₁ = 2^e · unit₁`` is beyond float64's range: the module ``name`` (named) has
        values no float64 factors can hold.
    """
    B, A, e = scaled_factors(m, rslora)
    U, unit, Vh = factor_spectrum(B, A)
    if unit.size and unit[0] > 0:
        top = float(unit[0])
        try:
            math.ldexp(top, e)
        except OverflowError:
            frac, more = math.frexp(top)
            raise SvdkitError(
                f"module {name!r}: scale · B A has σ₁ = {2 * frac:.6g}·2^{e + more - 1}, "
                "beyond float64's range: its factors are not those of a weight's update "
                "(check the adapter: a diverged fine-tune, a bad conversion)"
            ) from None
    return U, unit, Vh, e


def resize(
    adapter: Adapter,
    rule: RankRule,
    *,
    split: str = "sqrt",
    alpha: float | None = None,
    dtype: Any = None,
) -> tuple[Adapter, list[ResizeReport]]:
    """A new adapter with each module truncated by ``rule``; saved tensors carried over.

    ``adapter`` is an :class:`~svdkit.lora.adapter.Adapter` (read a directory with
    :meth:`~svdkit.lora.adapter.Adapter.load`), ``rule`` a
    :class:`~svdkit.lora.rank.RankRule` or an integer rank. ``alpha`` (a positive
    finite number) is every module's new ``lora_alpha``, its scale folded into the
    factors; default ``r'`` (``√r'`` with rsLoRA), scale 1. ``dtype`` (F32, F16, BF16,
    F64 or a NumPy dtype) stores the new factors in that dtype; default: each module's
    own. The report measures the factors as stored (their error and the energy they keep);
    under an ``error`` or ``energy`` rule the rank grows until they meet it
    (:meth:`~svdkit.lora.rank.RankRule.missed`), or ``bound_met`` says no rank can — never past the
    numerical rank (values above ``min(out, in) · eps · σ₁``): a bound below float64
    rounding (``error=0``) gives that rank, as ``energy=1`` does.

    Raises
    ------
    SvdkitError
        An argument of the wrong type or out of range (named in the message); a module
        whose singular values are beyond float64's range (named, :func:`scaled_spectrum`;
        one whose values are held but whose ``‖ΔW‖_F`` is not is resized, its error
        computed scale-free); or a new factor that overflows or underflows the module's
        dtype at the scale ``α / r'`` (a tiny or a huge ``alpha``,
        :func:`~svdkit.lora.adapter.store_factors`).

    Examples
    --------
    A rank-4 module whose delta has singular values 4, 2, 0.1, 0.05 keeps two of
    them for 99 % of the energy; the report's error is the error of the cut:

    >>> import numpy as np
    >>> from svdkit.lora import Adapter, LoraModule, RankRule, resize
    >>> rng = np.random.default_rng(0)
    >>> U, _ = np.linalg.qr(rng.standard_normal((8, 4)))
    >>> V, _ = np.linalg.qr(rng.standard_normal((6, 4)))
    >>> sigma = np.array([4.0, 2.0, 0.1, 0.05])
    >>> ad = Adapter({"fc": LoraModule("fc", "linear", A=V.T, B=U * sigma, alpha=4.0)})
    >>> small, report = resize(ad, RankRule(energy=0.99))
    >>> r = report[0]
    >>> r.rank_before, r.rank, round(r.energy_kept, 4), small.modules["fc"].alpha
    (4, 2, 0.9994, 2.0)
    >>> D, D2 = ad.modules["fc"].delta(), small.modules["fc"].delta()
    >>> bool(np.isclose(np.linalg.norm(D - D2) / np.linalg.norm(D), r.relative_error, rtol=1e-4))
    True
    """
    from svdkit.lora.factor import SPLITS

    require_instance(adapter, Adapter, "adapter", "Adapter.load reads a directory", "an")
    refuse_base_changing(adapter, "resize", lora_bias=True)
    rule = as_rank_rule(rule)
    alpha = check_alpha(alpha)
    if not isinstance(split, str) or split not in SPLITS:
        raise SvdkitError(
            f"{arg('split')} must be one of {', '.join(SPLITS)}; got {got(split)}", param="split"
        )
    rs = adapter.use_rslora
    out = Adapter(
        saved=dict(adapter.saved),
        use_rslora=rs,
        base_model_name_or_path=adapter.base_model_name_or_path,
        config=dict(adapter.config),
        pissa_mark=adapter.pissa_mark,  # (a resized PiSSA adapter still adds to its residual)
    )
    report = []
    want = None if dtype is None else check_float_dtype(dtype, "dtype")
    for name in sorted(adapter.modules):
        m = adapter.modules[name]
        old_B, old_A = m.matrices()
        # the spectrum of the factors scaled by powers of two: its values' squares neither
        # underflow nor overflow (an adapter of 1e-200 factors, or of 1e154 ones whose
        # ‖ΔW‖_F is beyond float64's range); values beyond float64's range are refused
        U, unit, Vh, e = scaled_spectrum(m, name, rs)
        with np.errstate(under="ignore"):  # (subnormal values: refused when stored)
            s = np.ldexp(unit, e)
        # the rules are scale-free: decided on the values scaled by a power of two (exact)
        unit = np.ldexp(unit, -math.frexp(float(unit[0]))[1]) if unit.size and unit[0] > 0 else unit
        total = float(np.sum(unit**2))
        # the rounding level is that of the whole delta, min(out, in) · eps · σ₁ (as
        # extract's rules take it), not of the r values the core has
        size = min(old_B.shape[0], old_A.shape[1])
        # a fixed rank too keeps no direction of a zero singular value: a delta of zeros
        # (an untrained lora_B) has rank 0 under every rule and is left out
        k = min(rule.select(unit, total, size=size), int(np.count_nonzero(s)))
        # the factors keep their storage dtype (a bf16 adapter stays bf16) unless asked;
        # where lora_A and lora_B differ, the wider of the two (an F32 lora_B beside a
        # BF16 lora_A: both F32, not the F32 factor's precision rounded away)
        dt = np.dtype(want) if want is not None else storage_dtype(m.A.dtype, m.B.dtype)
        # a module dropped at rank 0 whose tensors are saved with it (bias="lora_only",
        # a base_layer.weight, a lora_B bias) stays, as a rank-1 LoRA of zeros: PEFT loads
        # those tensors only into a LoRA layer (kept whole they lack the module's weight)
        keep_zero = m.bias is not None or any(
            t.rpartition(".")[0] == name for t in adapter.saved
        )
        while True:
            new, err = _truncated(m, name, U, s, Vh, k, dt, alpha, rs, split, keep_zero)
            # the bound (an error, or an energy: the same rule) is of the factors as
            # stored: rounding to BF16 / F16 adds its own error, met by a higher rank
            # while one is left
            if not rule.missed(err) or k >= _cap(rule, unit, size):
                break
            k += 1
        # the energy the stored factors keep, 1 − err² (as extract's Quality.with_error):
        # not Σ_{i≤k} σᵢ² / total of the values, which a rounding to BF16 does not lower
        kept = min(1.0, max(0.0, 1.0 - err * err))
        capped = _capped(rule, unit, total, size, k, err)
        report.append(ResizeReport(name, m.r, k, kept, err, not rule.missed(err), capped))
        if new is not None:
            out.modules[name] = new
    if adapter.modules and not out.modules:
        kept = f"; its {len(adapter.saved)} tensors kept whole alone" if adapter.saved else ""
        raise EmptyInputError(
            f"every module of the adapter ({len(adapter.modules)}) has ΔW = scale·B·A = 0 "
            "(lora_B or lora_A all zeros: an untrained adapter, as get_peft_model "
            f"initialises it): resize leaves such modules out (rank 0), and none would "
            f"remain{kept} (PEFT cannot load an adapter without a LoRA module); resize a "
            "trained adapter"
        )
    return out, report


#: The factor dtypes resize keeps (by name: bf16 and the 8-bit floats need no ml_dtypes).
_KEPT = ("float8_e4m3fn", "float8_e5m2", "float16", "bfloat16", "float32", "float64")


def storage_dtype(a: Any, b: Any) -> np.dtype:
    """The dtype resize stores a module's new factors in, from those of ``lora_A`` (``a``)
    and ``lora_B`` (``b``): theirs where they agree; else the wider, one that holds every
    value of both (F32 for F16 beside BF16, F16 for the two 8-bit floats). Integer or bool
    factors count as F32. Nothing is rounded to fewer digits than a factor had.

    Examples
    --------
    >>> storage_dtype(np.float16, np.float16), storage_dtype(np.float16, np.float32)
    (dtype('float16'), dtype('float32'))
    >>> storage_dtype(np.float16, np.int8)
    dtype('float32')
    """
    a, b = (np.dtype(x) if np.dtype(x).name in _KEPT else np.dtype(np.float32) for x in (a, b))
    if a == b:
        return a
    if a.itemsize == b.itemsize:  # (F16 and BF16, or E4M3 and E5M2: neither holds the other)
        return np.dtype(np.float32) if a.itemsize == 2 else np.dtype(np.float16)
    return a if a.itemsize > b.itemsize else b


def _cap(rule: RankRule, s: np.ndarray, size: int) -> int:
    """The largest rank an ``error`` or ``energy`` rule may reach: the numerical rank (the
    values above the rounding level ``size · eps · σ₁``,
    :func:`~svdkit.lora.rank.rounding_level`), or
    ``max_rank``. The values at that level lower the error by rounding only: a bound below
    it (``error=0``, ``1e-16`` on a delta of exact rank 4 held at rank 16) gives the
    numerical rank, as ``energy=1`` and ``extract`` do, not more rank for an error no
    better.

    Examples
    --------
    >>> _cap(RankRule(error=0.0), np.array([1.0, 0.5, 1e-17, 1e-17]), 48)
    2
    >>> _cap(RankRule(error=0.0, max_rank=1), np.array([1.0, 0.5, 1e-17]), 48)
    1
    """
    top = int(np.count_nonzero(s > rounding_level(s, size)))
    return top if rule.max_rank is None else min(top, rule.max_rank)


def _capped(
    rule: RankRule, unit: np.ndarray, total: float, size: int, k: int, err: float
) -> bool:
    """Whether ``max_rank`` is why a module cut to rank ``k`` (stored error ``err``)
    misses ``rule``, and raising it could meet it: ``k`` is at the cap, below the
    numerical rank (:func:`_cap` without the cap), and the rounding of the stored
    factors alone (``err²`` less the exact error² of the cut, ``Σ_{i>k} σᵢ² / total``)
    leaves room for the bound (:meth:`~svdkit.lora.rank.RankRule.rounding_bars`)."""
    if rule.max_rank is None or rule.rank is not None or not rule.missed(err):
        return False
    if k < rule.max_rank or k >= _cap(RankRule(error=0.0), unit, size):
        return False
    exact = math.sqrt(float(np.sum(unit[k:] ** 2)) / total) if total > 0 else 0.0
    return not rule.rounding_bars(err, exact)


def _truncated(
    m: LoraModule,
    name: str,
    U: np.ndarray,
    s: np.ndarray,
    Vh: np.ndarray,
    k: int,
    dt: np.dtype,
    alpha: float | None,
    rs: bool,
    split: str,
    keep_zero: bool,
) -> tuple[LoraModule | None, float]:
    """Module ``m`` cut to rank ``k``, stored in ``dt``, and the relative error of that
    stored module against ``m`` (``None`` for a module dropped at rank 0). A lora_B bias
    (:attr:`LoraModule.bias`) adds ``scale · bias`` to the layer: it is carried over,
    rescaled by ``scale_old / scale_new`` (exact where that ratio is a power of two, else
    rounded once to its dtype)."""
    zero = k == 0 and keep_zero
    if k == 0 and not zero:
        return None, 1.0 if np.any(s > 0) else 0.0
    r_new = max(k, 1)
    a = unit_alpha(r_new, rs) if alpha is None else float(alpha)
    scale = lora_scale(a, r_new, rs)
    if zero:
        Bm, Am = m.matrices()
        B, A = m.shaped(np.zeros((Bm.shape[0], 1)), np.zeros((1, Am.shape[1])))
    else:
        # a convolution's factors are resized flattened and given their shape back
        B, A = m.shaped(*split_factors(U[:, :k], s[:k], Vh[:k], split, scale))
    A, B = store_factors(name, A, B, dt, scale)  # an overflow or underflow is refused
    bias = None
    if m.bias is not None:
        bias = _rescaled_bias(name, m.bias, m.scale(rs) / scale)
    new = LoraModule(name, m.kind, A=A, B=B, alpha=a, bias=bias)
    return new, stored_error(m, new, rs)


def _rescaled_bias(name: str, bias: np.ndarray, ratio: float) -> np.ndarray:
    """The lora_B bias ``bias`` times ``ratio`` (``scale_old / scale_new``: the layer's
    ``scale · bias`` unchanged), in its own floating-point dtype (F32 for an integer one),
    an overflow refused by name."""
    dt = bias.dtype if bias.dtype.kind == "f" or bias.dtype.name in (
        "bfloat16", "float8_e4m3fn", "float8_e5m2") else np.dtype(np.float32)
    if ratio == 1.0 and dt == bias.dtype:
        return bias
    with np.errstate(over="ignore"):
        out = round_to(np.asarray(bias, dtype=np.float64) * ratio, dt)
    if not np.all(np.isfinite(out.astype(np.float64))):
        raise SvdkitError(
            f"module {name!r}: its lora_B bias overflows {dt.name} at the new scale "
            f"(×{ratio:.3g}): give a larger alpha"
        )
    return out


def stored_error(old: LoraModule, new: LoraModule, rslora: bool = False) -> float:
    """``‖ΔW_old − ΔW_new‖_F / ‖ΔW_old‖_F`` exactly, ``B A`` never formed.

    ``ΔW_old − ΔW_new = [s B, −s' B'] [A; A']``: the Frobenius norm of that product is
    the norm of its small QR core (:func:`factor_spectrum`). Scale-free: both products are
    taken as ``2^e · B' A'`` (:func:`scaled_factors`) and the ratio is formed on them
    scaled by one power of two, so neither norm is formed where it leaves float64's
    range (a delta whose values are each 1e308, ``‖ΔW‖_F`` 2e308, read 0 before).

    Examples
    --------
    >>> B, A = np.eye(4, 2) * 1e154, np.eye(2, 4) * 1e154  # σ = 1e308 twice: ‖ΔW‖_F = inf
    >>> old = LoraModule("fc", "linear", A=A, B=B, alpha=2.0)
    >>> new = LoraModule("fc", "linear", A=A[:1], B=B[:, :1], alpha=1.0)
    >>> round(stored_error(old, new), 12)  # √(1/2)
    0.707106781187
    """
    B0, A0, e0 = scaled_factors(old, rslora)
    B1, A1, e1 = scaled_factors(new, rslora)
    top = max(e0, e1)
    with np.errstate(under="ignore"):  # (a part 2^-1074 below the other: nothing to it)
        left = np.hstack([np.ldexp(B0, e0 - top), -np.ldexp(B1, e1 - top)])
    diff = factor_spectrum(left, np.vstack([A0, A1]))[1]
    ref = factor_spectrum(B0, A0)[1]
    # norms without squares leaving float64's range; the ratio is 2^(top − e0) of theirs
    norm = scaled_norm(ref)
    if not norm > 0:
        return 0.0
    try:
        return math.ldexp(scaled_norm(diff) / norm, top - e0)
    except OverflowError:
        return math.inf
