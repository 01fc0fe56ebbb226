"""File-system helpers shared by the features that write directories.

An output is checked before anything is computed or written: a directory
output never replaces a file (nor a file output a directory), and a path under
an existing file is refused, each with a :class:`~svdkit.FileFormatError`
that names the path.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from svdkit.errors import FileFormatError

__all__ = ["check_directory_output", "check_file_output", "replace_directory"]


def _check_parents(target: Path) -> None:
    """Refuse ``target`` when its nearest existing ancestor is not a directory."""
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise FileFormatError(
                    f"cannot write '{target}': '{parent}' is a file, not a directory"
                )
            return


def check_directory_output(
    target: str | Path,
    what: str = "output directory",
    *,
    belongs: Callable[[Path], bool] | None = None,
) -> Path:
    """Check that the directory ``target`` can be written (created or replaced).

    Parameters
    ----------
    target : str or Path
        The directory to be written.
    what : str
        What is written there, for the message (``"LoRA adapter directory"``).
    belongs : callable, optional
        ``belongs(target)`` is True when an existing, non-empty ``target`` is an
        earlier output of the same kind (that may be replaced); when it is given
        and False, ``target`` is refused rather than wiped.

    Returns
    -------
    Path
        ``target`` as a :class:`~pathlib.Path`.

    Raises
    ------
    FileFormatError
        ``target`` is an existing file (or other non-directory), lies under a
        file, or is a foreign non-empty directory.
    """
    target = Path(target)
    _check_parents(target)
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise FileFormatError(
                f"'{target}' exists and is not a directory: the {what} would replace it; "
                "choose another path"
            )
        if belongs is not None and any(target.iterdir()) and not belongs(target):
            raise FileFormatError(
                f"'{target}' exists and is not a {what}: refusing to replace it"
            )
    return target


def check_file_output(target: str | Path, what: str = "output file") -> Path:
    """Check that the single file ``target`` can be written (created or replaced).

    Parameters
    ----------
    target : str or Path
        The file to be written.
    what : str
        What is written there, for the message (``"merged checkpoint"``).

    Returns
    -------
    Path
        ``target`` as a :class:`~pathlib.Path`.

    Raises
    ------
    FileFormatError
        ``target`` is an existing directory, or lies under a file.
    """
    target = Path(target)
    _check_parents(target)
    if target.is_dir():
        raise FileFormatError(
            f"'{target}' is a directory: the {what} is a single file and cannot replace it; "
            "choose another path"
        )
    return target


def replace_directory(tmp: Path, target: Path) -> None:
    """Move the finished directory ``tmp`` to ``target``, replacing any old one.

    The old directory is first renamed aside (a unique hidden name next to it), so
    ``target`` is always either the old or the new directory, never a mix; the old
    one is removed once the new one is in place. A ``target`` that exists and is
    not a directory is refused (:class:`~svdkit.FileFormatError`) before anything
    is moved; ``tmp`` is then left to the caller to remove.
    """
    check_directory_output(target)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        old.rmdir()
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
