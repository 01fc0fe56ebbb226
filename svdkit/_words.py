"""Counts in words for messages: ``1 triplet``, ``2 triplets``, ``3 passes``."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, one: str, many: str | None = None) -> str:
    """``n`` and the noun, singular for 1 (``many`` defaults to ``one + "s"``).

    Examples
    --------
    >>> counted(1, "triplet"), counted(3, "pass", "passes"), counted(0, "module")
    ('1 triplet', '3 passes', '0 modules')
    """
    return f"{n} {one if n == 1 else (many or one + 's')}"
