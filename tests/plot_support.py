"""What the figure tests read from the drawn figures: the message catalogues and the
panels of the SVD-geometry figure (found by their labels)."""

from __future__ import annotations

import json
from pathlib import Path

import svdkit

LOCALES = Path(svdkit.__file__).parent / "explain" / "locales"
EN, FR = (json.loads((LOCALES / f"{lang}.json").read_text("utf-8")) for lang in ("en", "fr"))
PANELS = ("svdkit:panel:S", "svdkit:panel:VtS", "svdkit:panel:SVtS", "svdkit:panel:AS")


def panel(fig, label):
    """The axes of ``fig`` labelled ``label`` (exactly one)."""
    (found,) = [ax for ax in fig.axes if ax.get_label() == label]
    return found
