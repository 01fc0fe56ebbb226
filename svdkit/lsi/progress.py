"""Progress bars (rich, on standard error) for the long steps of indexing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

__all__ = ["counting_bar"]


@contextlib.contextmanager
def counting_bar(
    enabled: bool, also: Callable[[int], None] | None = None, label: str = "counting terms"
) -> Iterator[Callable[[int], None] | None]:
    """A callback that advances a "documents counted" bar (and calls ``also``).

    The bar is drawn only when standard error is a terminal: written to a file or a
    CI log, its last frame would stay behind as a stray line (``⠋ counting terms …``).
    """
    if not enabled:
        yield also
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal:
        yield also
        return

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} documents"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=None)

        def tick(n: int) -> None:
            bar.advance(task, n)
            if also is not None:
                also(n)

        yield tick
