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

    The bar is drawn only when standard error is a terminal, or in a Jupyter notebook
    (a live widget, where ipywidgets is installed; rich's console is never a terminal
    there):
    written to a file or a CI log, its last frame would stay behind as a stray line
    (``⠋ counting terms …``).
    """
    if not enabled:
        yield also
        return
    import importlib.util

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    # (in a notebook, rich draws a live widget, with ipywidgets; its console is never
    # a terminal there)
    notebook = console.is_jupyter and importlib.util.find_spec("ipywidgets") is not None
    if not notebook and (not console.is_terminal or console.is_dumb_terminal):
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
