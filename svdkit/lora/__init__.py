"""LoRA adapters by SVD: extract, resize, merge, PiSSA, analyse — on safetensors, in PEFT's format.

The notes write a LoRA update as ``W' = W + ΔW``, ``ΔW = A B`` with ``A ∈ R^{d×r}``
and ``B ∈ R^{r×d}``. PEFT stores the same product as ``lora_B @ lora_A``: the
notes' ``A`` (``d×r``, the left factor) is PEFT's ``lora_B`` (``[out, r]``) and the
notes' ``B`` (``r×d``) is PEFT's ``lora_A`` (``[r, in]``); PEFT multiplies by
``scale = lora_alpha / r`` (``lora_alpha / √r`` with rsLoRA). Everything here
uses PEFT's names.

=====================  ==============================================================
:func:`extract`        (base, tuned) checkpoints → adapter, per-module certified SVD
:func:`resize`         an adapter to a new rank / energy, without forming ``B A``
:func:`merge`          ``W + scale · B A`` into a base checkpoint (safetensors)
:func:`pissa`          PiSSA init: top-r triplets of ``W`` as adapter, residual as base
:func:`analyse_pair`   spectra, energy curves, effective and recommended ranks
=====================  ==============================================================

The functions ``extract``, ``resize``, ``merge`` and ``pissa`` are bound here over the
submodules of the same names: ``svdkit.lora.pissa`` is the function, so a module's other
names are imported from it (``from svdkit.lora.pissa import PissaModule``) or taken from
here (``svdkit.lora.PissaModule``, ``svdkit.lora.write_like``).

Everything works with NumPy/SciPy only (bf16 through ``ml_dtypes``); torch is
used only for the optional GPU backend.
"""

from svdkit.lora.adapter import Adapter, LoraModule, lora_scale
from svdkit.lora.analyse import Analysis, analyse_adapter, analyse_pair
from svdkit.lora.extract import Extraction, ExtractionReport, extract
from svdkit.lora.merge import merge, write_like
from svdkit.lora.pissa import PissaModule, pissa, pissa_notes
from svdkit.lora.rank import RankRule
from svdkit.lora.resize import ResizeReport, resize
from svdkit.lora.safetensors_io import Checkpoint, save_safetensors

__all__ = [
    "Adapter",
    "Analysis",
    "Checkpoint",
    "Extraction",
    "ExtractionReport",
    "LoraModule",
    "PissaModule",
    "RankRule",
    "ResizeReport",
    "analyse_adapter",
    "analyse_pair",
    "extract",
    "lora_scale",
    "merge",
    "pissa",
    "pissa_notes",
    "resize",
    "save_safetensors",
    "write_like",
]
