"""The sign rule: which of the equally valid singular (or eigen) vectors we return.

Singular vectors are determined only up to a unit factor: ``(uᵢ, vᵢ)`` and
``(c·uᵢ, c·vᵢ)`` with ``|c| = 1`` give the same ``σᵢ uᵢ vᵢᴴ``. svdkit fixes ``c``
by one rule, the same for every method (LAPACK, randomized, Krylov), so two runs
and two methods agree:

    In each left singular vector uᵢ, the *pivot* is the first entry whose
    magnitude is at least (1 − 1e-10) times the largest magnitude. ``c`` is chosen
    so that this pivot is real and positive; vᵢ is multiplied by the same ``c``.

For real matrices ``c = ±1``. Columns of U with no partner in V (the completion
of a full SVD) and rows of Vᴴ with no partner in U follow the same rule on their
own. Eigenvectors follow the same rule.

The "first entry within a relative 1e-10 of the largest" clause makes ties (e.g. ±1/√2)
resolve to the earliest entry regardless of rounding noise.

This rule reproduces both hand-worked examples of the INSA note (``A = [[3, 0],
[0, -2]]`` gives ``U = I``, ``Vᴴ = [[1, 0], [0, -1]]``).

Examples
--------
>>> import numpy as np
>>> from svdkit.linalg.signs import unit_phases
>>> unit_phases(np.array([[0.6, -0.8], [-0.8, -0.6]]))
array([-1., -1.])
"""

from __future__ import annotations

import numpy as np

__all__ = ["PIVOT_SLACK", "apply_sign_rule", "unit_phases", "with_sign_rule"]

PIVOT_SLACK = 1e-10


def _pivots(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(phases, rows, magnitudes)``: :func:`unit_phases`, each column's pivot row and
    the pivot's modulus ``|p|`` (0 for a zero column)."""
    m, k = vectors.shape
    if m == 0 or k == 0:
        empty = np.zeros(k, dtype=int)
        return np.ones(k, dtype=vectors.dtype), empty, np.zeros(k)
    if np.iscomplexobj(vectors):
        mags = np.abs(vectors)
        cut = mags.max(axis=0) * (1.0 - PIVOT_SLACK)
        eligible = mags >= cut[None, :]
    else:
        # Reductions and boolean masks only: no m×k float temporaries (this runs on
        # every SVD, and must cost nothing next to LAPACK).
        cut = np.maximum(vectors.max(axis=0), -vectors.min(axis=0)) * (1.0 - PIVOT_SLACK)
        eligible = vectors >= cut[None, :]
        eligible |= vectors <= -cut[None, :]
    rows = np.argmax(eligible, axis=0)
    pivots = vectors[rows, np.arange(k)]
    pmag = np.abs(pivots)
    safe = np.where(pmag > 0, pmag, 1.0)
    phases = np.where(pmag > 0, np.conj(pivots) / safe, 1.0)
    return phases.astype(vectors.dtype, copy=False), rows, pmag


def unit_phases(vectors: np.ndarray) -> np.ndarray:
    """The unit factors that make each column's pivot real and positive.

    Parameters
    ----------
    vectors : ndarray, shape (m, k)
        Columns to normalise.

    Returns
    -------
    ndarray, shape (k,)
        ``c`` with ``|c| = 1`` such that ``vectors * c`` obeys the sign rule
        (``c = conj(pivot) / |pivot|``). Zero columns get ``c = 1``. For complex
        columns ``pivot · c`` may keep an imaginary part of rounding size (1e-17):
        :func:`with_sign_rule` makes it exactly real.
    """
    return _pivots(vectors)[0]


def _pin_pivots(vectors: np.ndarray, rows: np.ndarray, pmag: np.ndarray) -> None:
    """Set each column's pivot to ``|p|`` exactly (in place): ``conj(p)/|p| · p`` rounds
    to ``|p|`` plus an imaginary part of about 1e-17, and the rule says "real"."""
    if np.iscomplexobj(vectors) and vectors.shape[0] and vectors.shape[1]:
        cols = np.arange(vectors.shape[1])
        nonzero = pmag > 0
        vectors[rows[nonzero], cols[nonzero]] = pmag[nonzero]


def with_sign_rule(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (columns) times :func:`unit_phases`, each pivot exactly real and
    positive (a new array).

    Examples
    --------
    >>> with_sign_rule(np.array([[0.8j], [0.6]])).tolist()  # the pivot 0.8j becomes 0.8
    [[(0.8+0j)], [-0.6j]]
    """
    phases, rows, pmag = _pivots(vectors)
    out = vectors * phases[None, :]
    _pin_pivots(out, rows, pmag)
    return out


def apply_sign_rule(U: np.ndarray, Vh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``U``, ``Vh`` of an SVD with the sign rule applied (in place when possible).

    Parameters
    ----------
    U : ndarray, shape (m, ku)
        Left singular vectors as columns.
    Vh : ndarray, shape (kv, n)
        Right singular vectors as rows (conjugated).

    Returns
    -------
    U, Vh : ndarray
        The same factors with column ``i`` of ``U`` multiplied by ``cᵢ`` and row
        ``i`` of ``Vh`` by ``conj(cᵢ)``, so that ``U diag(s) Vh`` is unchanged.
    """
    paired = min(U.shape[1], Vh.shape[0])
    phases, rows, pmag = _pivots(U)
    U *= phases[None, :]
    _pin_pivots(U, rows, pmag)  # (each pivot exactly real, as the rule says)
    Vh[:paired] *= np.conj(phases[:paired])[:, None]
    if Vh.shape[0] > paired:
        extra, rows, pmag = _pivots(Vh[paired:].conj().T)
        Vh[paired:] *= np.conj(extra)[:, None]
        if np.iscomplexobj(Vh):
            nonzero = pmag > 0
            Vh[paired + np.flatnonzero(nonzero), rows[nonzero]] = pmag[nonzero]
    U += 0.0  # turn -0.0 into 0.0, so that printed factors carry no spurious signs
    Vh += 0.0
    return U, Vh
