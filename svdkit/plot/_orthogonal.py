"""What an orthogonal matrix does to space: identity, rotation, reflection, or both.

Used to caption the ``Vᵀ`` and ``U`` steps of :func:`svdkit.plot.svd_geometry`:
an orthogonal ``Q`` keeps lengths; ``det Q = +1`` makes it a rotation (the
identity included), ``det Q = −1`` a reflection (in the plane always a
reflection across a line; in space a reflection across a plane, possibly
combined with a rotation about that plane's normal, or the point reflection
``−I``).

Examples
--------
>>> import numpy as np
>>> describe_orthogonal(np.array([[0.0, -1.0], [1.0, 0.0]])).kind
'rotation'
>>> r = describe_orthogonal(np.array([[1.0, 0.0], [0.0, -1.0]]))
>>> r.kind, r.det, round(r.angle, 6), r.axis.tolist()
('reflection', -1, 0.0, [1.0, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OrthogonalAction", "describe_orthogonal"]

#: How far (in radians) an angle may be from 0 or π and still count as 0 or π.
ANGLE_SLACK = 1e-9


@dataclass(frozen=True, eq=False)
class OrthogonalAction:
    """What an orthogonal ``Q`` (1×1, 2×2 or 3×3) does.

    Attributes
    ----------
    kind : str
        ``"identity"``, ``"rotation"``, ``"reflection"`` (across a line in the
        plane, across a plane in space, ``x ↦ −x`` on the line),
        ``"rotoreflection"`` (space: a reflection across the plane ⊥ ``axis``
        combined with a rotation by ``angle`` about ``axis``) or ``"point"``
        (``Q = −I`` in space).
    det : int
        +1 or −1.
    angle : float
        Degrees: the rotation angle (in ``(−180, 180]`` in the plane,
        ``[0, 180]`` in space); for a reflection in the plane, the angle of its
        line (in ``[0, 180)``).
    axis : ndarray or None
        The plane: the direction of the reflection line. Space: the rotation
        axis, or the normal of the reflection plane.
    """

    kind: str
    det: int
    angle: float
    axis: np.ndarray | None


def _null_direction(a: np.ndarray) -> np.ndarray:
    """The unit vector ``x`` minimising ``‖a x‖``, first sizeable entry positive."""
    x = np.linalg.svd(a)[2][-1]
    lead = np.flatnonzero(np.abs(x) > 1e-8)[0]
    return x if x[lead] > 0 else -x


def describe_orthogonal(Q: np.ndarray) -> OrthogonalAction:
    """Classify a real orthogonal matrix of order 1, 2 or 3 (see :class:`OrthogonalAction`)."""
    q = np.asarray(Q, dtype=float)
    n = q.shape[0]
    det = 1 if np.linalg.det(q) > 0 else -1
    if np.allclose(q, np.eye(n), atol=1e-12, rtol=0):
        return OrthogonalAction("identity", 1, 0.0, None)
    if n == 1:
        return OrthogonalAction("reflection", -1, 0.0, np.ones(1))
    if n == 2:
        if det > 0:
            angle = float(np.degrees(np.arctan2(q[1, 0], q[0, 0])))
            if angle <= -180.0 + 1e-9:  # a half turn (−I has −0.0 below the diagonal)
                angle = 180.0
            return OrthogonalAction("rotation", 1, angle, None)
        half = float(np.degrees(np.arctan2(q[1, 0], q[0, 0])) / 2) % 180.0
        if abs(half - 180.0) < 1e-9:
            half = 0.0
        rad = np.radians(half)
        return OrthogonalAction("reflection", -1, half, np.array([np.cos(rad), np.sin(rad)]))
    # n == 3
    w = np.array([q[2, 1] - q[1, 2], q[0, 2] - q[2, 0], q[1, 0] - q[0, 1]])
    if det > 0:
        axis = _null_direction(q - np.eye(3))
        cos = np.clip((np.trace(q) - 1) / 2, -1.0, 1.0)
        sin = float(w @ axis) / 2
        angle = float(np.arctan2(sin, cos))
        if angle < 0:
            axis, angle = -axis, -angle
        return OrthogonalAction("rotation", 1, float(np.degrees(angle)), axis)
    # det = −1: Q = (rotation by φ about n) · (reflection across the plane ⊥ n)
    normal = _null_direction(q + np.eye(3))
    cos = np.clip((np.trace(q) + 1) / 2, -1.0, 1.0)
    sin = float(w @ normal) / 2
    angle = float(np.arctan2(sin, cos))
    if angle < 0:
        normal, angle = -normal, -angle
    if angle <= ANGLE_SLACK:
        return OrthogonalAction("reflection", -1, 0.0, normal)
    if angle >= np.pi - ANGLE_SLACK:
        return OrthogonalAction("point", -1, 180.0, None)
    return OrthogonalAction("rotoreflection", -1, float(np.degrees(angle)), normal)
