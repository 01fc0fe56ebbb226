"""The front door (temporary minimal version, being replaced by the full parser)."""

from __future__ import annotations

import numpy as np

from svdkit.errors import EmptyInputError, NonFiniteError, ShapeError

__all__ = ["as_matrix", "as_vector", "load"]


def as_matrix(obj, *, dtype=None, sparse: bool = False, name: str = "A") -> np.ndarray:
    a = np.asarray(obj)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ShapeError(f"{name} must be 2-D; got shape {a.shape}")
    if a.size == 0:
        raise EmptyInputError(f"{name} is empty (shape {a.shape})")
    a = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64, copy=False)
    if not np.isfinite(a).all():
        i, j = np.argwhere(~np.isfinite(a))[0]
        raise NonFiniteError(f"{name} has a non-finite entry at row {i + 1}, column {j + 1}")
    return a


def as_vector(obj, *, name: str = "x") -> np.ndarray:
    return as_matrix(obj, name=name).ravel()


def load(path, *, dtype=None, sparse: bool = False):
    raise NotImplementedError
