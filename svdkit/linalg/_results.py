"""A small base for result objects that also unpack like NumPy's named tuples."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, eq=False)
class Unpackable:
    """Frozen result whose ``_unpack`` fields iterate like a tuple (``U, s, Vh = svd(A)``)."""

    _unpack: ClassVar[tuple[str, ...]] = ()

    def __iter__(self) -> Iterator[Any]:
        return (getattr(self, name) for name in self._unpack)

    def __len__(self) -> int:
        return len(self._unpack)

    def __getitem__(self, index: int) -> Any:
        return getattr(self, self._unpack[index])
