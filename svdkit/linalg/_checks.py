"""Shape checks shared by the numeric engine (messages name the function and the shape)."""

from __future__ import annotations

import numpy as np

from svdkit.errors import ShapeError

__all__ = ["require_square", "shape_text"]


def shape_text(shape: tuple[int, ...]) -> str:
    """``(2, 3)`` → ``'2×3'``."""
    return "×".join(str(d) for d in shape)


def require_square(a: np.ndarray, what: str, name: str = "A") -> int:
    """Raise ``ShapeError`` unless ``a`` is square; return its order."""
    m, n = a.shape
    if m != n:
        raise ShapeError(f"{what} needs a square matrix; {name} is {shape_text(a.shape)}")
    return m
