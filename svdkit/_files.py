"""File-system helpers shared by the features that write directories."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

__all__ = ["replace_directory"]


def replace_directory(tmp: Path, target: Path) -> None:
    """Move the finished directory ``tmp`` to ``target``, replacing any old one.

    The old directory is first renamed aside (a unique hidden name next to it), so
    ``target`` is always either the old or the new directory, never a mix; the old
    one is removed once the new one is in place.
    """
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        old.rmdir()
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
