"""A small base for result objects that also unpack like NumPy's named tuples."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, eq=False)
class Unpackable:
    """Frozen result whose ``_unpack`` fields iterate, index and slice like a tuple.

    ``U, s, Vh = svd(A)``, ``svd(A)[1]`` and ``svd(A)[1:]`` (a tuple) behave as on
    NumPy's named tuples (``numpy.linalg.svd(A)[1:]``); an index out of range raises
    ``IndexError`` and a key that is neither an integer nor a slice ``TypeError``,
    as a tuple does.

    Examples
    --------
    >>> import svdkit
    >>> r = svdkit.lstsq([[1.0, 0.0], [0.0, 2.0]], [1.0, 4.0])
    >>> x, residuals = r[:2]
    >>> x.tolist(), residuals, r[2]
    ([1.0, 2.0], 0.0, 2)
    """

    _unpack: ClassVar[tuple[str, ...]] = ()

    def __iter__(self) -> Iterator[Any]:
        return (getattr(self, name) for name in self._unpack)

    def __len__(self) -> int:
        return len(self._unpack)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return tuple(getattr(self, name) for name in self._unpack[index])
        cls = type(self).__name__
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(
                f"{cls} indices must be integers or slices, not {type(index).__name__} "
                f"(its fields by name: {', '.join(self._unpack)})"
            ) from None
        try:
            return getattr(self, self._unpack[i])
        except IndexError:
            raise IndexError(
                f"{cls} index out of range: {i} (it unpacks as {len(self._unpack)} values: "
                f"{', '.join(self._unpack)})"
            ) from None
