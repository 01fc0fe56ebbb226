"""The base of the exact engine's result objects: frozen, printed exactly, unpackable."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from svdkit.exact.steps import Step, dataclass_repr

__all__ = ["ExactResult"]


@dataclass(frozen=True, eq=False)
class ExactResult:
    """A result of :mod:`svdkit.exact`: exact values and, when asked, the steps to them.

    ``str(result)`` writes the main value exactly (:func:`svdkit.exact.format.to_text`);
    results with several parts unpack like NumPy's named tuples
    (``U, s, Vh = svdkit.exact.svd(A)``).

    Attributes
    ----------
    steps : tuple of Step
        The derivation, in order; empty unless the function was called with
        ``steps=True``.
    """

    steps: tuple[Step, ...] = field(default=(), kw_only=True, repr=False)

    _main: ClassVar[str] = "value"
    _unpack: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # in the class's own namespace before @dataclass runs, so that the dataclass
        # keeps it instead of writing its own __repr__
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = ExactResult.__repr__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        """The dataclass ``repr``, also of integers beyond Python's 4300 digits (as a REPL
        shows ``svdkit.exact.det(A)`` with ``det A = 10⁻⁴⁴⁰⁰``)."""
        from svdkit.exact.format import long_integers

        with long_integers(self):
            return dataclass_repr(self)

    def __str__(self) -> str:
        from svdkit.exact.format import to_text

        return to_text(getattr(self, self._main))

    def __iter__(self) -> Iterator[Any]:
        if not self._unpack:
            raise TypeError(f"{type(self).__name__} does not unpack")
        return (getattr(self, name) for name in self._unpack)

    def __len__(self) -> int:
        return len(self._unpack)

    def __bool__(self) -> bool:
        return True

    def __getitem__(self, index: int) -> Any:
        return getattr(self, self._unpack[index])

    def step_keys(self) -> tuple[str, ...]:
        """The catalogue keys of the steps, in order."""
        return tuple(s.key for s in self.steps)
