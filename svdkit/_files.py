"""File-system helpers shared by the features that write directories.

An output is checked before anything is computed or written: a directory
output never replaces a file (nor a file output a directory), a path under an
existing file is refused, and so is one whose folder takes no new file (one is
created there and removed), each with a :class:`~svdkit.FileFormatError` that
names the path.

Outputs are written into a temporary file or directory beside the target and
renamed into place. :mod:`tempfile` creates those owner-only (``0o600`` files,
``0o700`` directories); :func:`make_temp_file` and :func:`make_temp_dir` give
them the mode a normally created file or directory would get there (``0o644`` /
``0o755`` under umask 022), so the renamed output is not private.

A directory output reached through a symbolic link is written where the link
points (:func:`real_directory`): the link is kept and the directory it names is
replaced. A directory that is replaced as a whole is never the current directory
or one that holds it (:func:`check_directory_output` with ``replaced=True``): it
would be moved away from under the process (and a shell sitting in it).

A file output that is a descriptor (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``,
``/proc/self/fd/N``, or a link to one) is written into that descriptor, and a
device or FIFO (``/dev/null``, ``>(…)``) into itself: neither is ever renamed over
(:func:`written_through`). An output of several parts (a PiSSA adapter and its
residual) is built aside and moved into place as one (:func:`swap_in`). A failed
write is a :class:`~svdkit.FileFormatError` naming the path (:func:`write_error`).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from svdkit.errors import FileFormatError, MissingFileError

__all__ = [
    "check_directory_output",
    "check_file_output",
    "make_temp_dir",
    "make_temp_file",
    "new_directory_mode",
    "real_directory",
    "replace_directory",
    "swap_in",
    "write_error",
    "write_file",
    "written_through",
]


def _check_parents(target: Path) -> None:
    """Refuse ``target`` when its nearest existing ancestor is not a directory."""
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise FileFormatError(
                    f"cannot write '{target}': '{parent}' is a file, not a directory"
                )
            return


def _check_writable(target: Path) -> None:
    """Refuse ``target`` when its nearest existing folder takes no new file: a file is
    created there and removed (permission bits do not tell: root may write anywhere
    but to ``/proc`` or ``/sys``, or to a read-only mount)."""
    folder = next((p for p in target.parents if p.exists()), None)
    if folder is None or not folder.is_dir():
        return  # (_check_parents has said what is wrong)
    try:
        fd, probe = tempfile.mkstemp(prefix=".svdkit-probe-", dir=folder)
    except OSError as err:
        raise FileFormatError(
            f"cannot write '{target}': the folder '{folder}' takes no new file "
            f"({err.strerror or err})"
        ) from None
    os.close(fd)
    os.unlink(probe)


def real_directory(target: str | Path) -> Path:
    """The directory that ``target`` names: absolute, its symbolic links (the last
    component's too) and ``..`` resolved.

    Writing there and renaming into place replaces the directory a link points to,
    and keeps the link (renaming onto the link would replace the link instead).
    """
    try:
        return Path(target).resolve()
    except (RuntimeError, OSError) as err:  # a loop of links (l1 → l2 → l1)
        raise FileFormatError(
            f"cannot write '{target}': its symbolic links form a loop ({err})"
        ) from None


def _check_not_current(target: Path, what: str) -> None:
    """Refuse ``target`` when it is the current directory or one that holds it."""
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # the current directory was deleted: it is no output's
        return
    real = real_directory(target)
    if cwd == real or real in cwd.parents:
        where = "the current directory" if cwd == real else "a directory that holds the current one"
        raise FileFormatError(
            f"cannot write the {what} to '{target}': it is {where} ('{real}'); writing "
            "replaces the whole directory, which would be moved away from under you: run "
            "the command from outside it (cd ..), or give another path"
        )


def check_directory_output(
    target: str | Path,
    what: str = "output directory",
    *,
    belongs: Callable[[Path], bool] | None = None,
    replaced: bool = False,
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
    replaced : bool
        The output replaces the whole directory (:func:`replace_directory`): also
        refuse the current directory (``"."``) and any directory that holds it.

    Returns
    -------
    Path
        ``target`` as a :class:`~pathlib.Path`.

    Raises
    ------
    FileFormatError
        ``target`` is an existing file (or other non-directory), lies under a
        file, or is a foreign non-empty directory; with ``replaced``, it is the
        current directory or holds it.
    """
    target = Path(target)
    _check_parents(target)
    if replaced:
        _check_not_current(target, what)
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
    _check_writable(target)
    return target


def check_file_output(
    target: str | Path, what: str = "output file", *, folder_exists: bool = False
) -> Path:
    """Check that the single file ``target`` can be written (created or replaced).

    Parameters
    ----------
    target : str or Path
        The file to be written.
    what : str
        What is written there, for the message (``"merged checkpoint"``).
    folder_exists : bool
        Also require its folder to exist (a command-line output, which is not
        created with its parents).

    Returns
    -------
    Path
        ``target`` as a :class:`~pathlib.Path`.

    Raises
    ------
    FileFormatError
        ``target`` is an existing directory, or lies under a file.
    MissingFileError
        ``folder_exists`` and the folder of ``target`` does not exist.
    """
    target = Path(target)
    _check_parents(target)
    if target.is_dir():
        raise FileFormatError(
            f"'{target}' is a directory: the {what} is a single file and cannot replace it; "
            "choose another path"
        )
    if folder_exists and not target.parent.is_dir():
        raise MissingFileError(
            f"{what} '{target}': the folder '{target.parent}' does not exist"
        )
    if descriptor_of(target) is not None:  # /dev/stdout: written into, not replaced
        return target
    if _is_special(target):  # /dev/null, a FIFO: written into, not replaced
        if not os.access(target, os.W_OK):
            raise FileFormatError(f"cannot write '{target}': permission denied")
        return target
    _check_writable(_written_path(target))
    return target


def _is_special(path: Path) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a directory (a device
    such as ``/dev/null``, a FIFO, ``/dev/stdout``'s terminal…), through links."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


#: ``/dev/fd/N`` and ``/proc/PID/fd/N``: a descriptor of a process, by number.
_FD_PATH = re.compile(r"^/(?:dev/fd|proc/(self|thread-self|\d+)/fd)/(\d+)$")
#: The standard streams by name.
_STD_PATHS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def descriptor_of(path: str | os.PathLike[str]) -> int | None:
    """The descriptor of this process that ``path`` names (``/dev/stdout`` → 1,
    ``/dev/fd/3`` → 3, ``/proc/self/fd/N``, a link to one of them), else ``None``.

    Resolved through links, ``/dev/stdout`` (``→ /proc/self/fd/1``) names the file
    standard output was opened on (``results.log`` of ``>> results.log``): renamed
    over, that file would lose its content, and what the shell writes after the
    command would go to a deleted file.
    """
    p = os.path.abspath(os.fspath(path))
    for _ in range(40):  # (the kernel's own limit on links followed)
        if p in _STD_PATHS:
            return _STD_PATHS[p]
        m = _FD_PATH.match(p)
        if m is not None:
            pid = m.group(1)
            if pid is None or pid in ("self", "thread-self") or int(pid) == os.getpid():
                return int(m.group(2))
            return None
        try:
            link = os.readlink(p)
        except OSError:  # not a link (or missing): no descriptor
            return None
        p = os.path.normpath(os.path.join(os.path.dirname(p), link))
    return None


def written_through(path: str | os.PathLike[str]) -> bool:
    """Whether a file output at ``path`` is written into rather than replaced: a
    descriptor (``/dev/stdout``, ``/dev/fd/N``), a device (``/dev/null``) or a FIFO.
    Such a path is no file svdkit could have written, nor one it would replace: the
    ownership checks of the outputs do not apply to it."""
    return descriptor_of(path) is not None or _is_special(Path(path))


def write_error(path: str | os.PathLike[str], err: OSError) -> FileFormatError:
    """The :class:`~svdkit.FileFormatError` for a failed write of ``path``:
    ``cannot write 'PATH': No space left on device``. NumPy's ``tofile`` reports a
    short write as ``N requested and M written``: said as a full disk or a file-size
    limit."""
    reason = err.strerror or str(err)
    if "requested and" in reason and "written" in reason:
        reason = f"disk full or file-size limit reached ({reason})"
    return FileFormatError(f"cannot write '{path}': {reason}")


def _written_path(path: Path) -> Path:
    """Where a file output named ``path`` is written: through a symbolic link, at the
    file it names (the link is kept, as a shell's ``>`` keeps it)."""
    return real_directory(path) if path.is_symlink() else path


def write_file(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Write a file output: ``write(f)`` fills a binary file object.

    A regular file is written atomically: into a unique temporary file beside it,
    then renamed over it, so that it is never half written, and a file written again
    keeps its permission bits (a new one gets the umask's). Through a symbolic link
    the file it points to is replaced and the link kept. A descriptor
    (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``) is written into that
    descriptor, at its offset (``>> log`` appends), and a device or FIFO
    (``/dev/null``) into itself: never replaced. On any error nothing is left
    behind. Returns the path written.

    Examples
    --------
    >>> import tempfile, pathlib, shutil
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "real.txt").write_text("old")
    3
    >>> (d / "link.txt").symlink_to(d / "real.txt")
    >>> _ = write_file(d / "link.txt", lambda f: f.write(b"new"))
    >>> (d / "link.txt").is_symlink(), (d / "real.txt").read_text()
    (True, 'new')
    >>> _ = write_file("/dev/null", lambda f: f.write(b"gone"))  # not replaced
    >>> pathlib.Path("/dev/null").is_char_device()
    True
    >>> shutil.rmtree(d)
    """
    path = Path(path)
    fd = descriptor_of(path)
    if fd is not None:  # the descriptor itself: its offset and O_APPEND shared
        for stream in (sys.stdout, sys.stderr):  # what was printed comes first
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        with os.fdopen(os.dup(fd), "wb") as f:
            write(f)
        return path
    if _is_special(path):
        with open(path, "wb") as f:
            write(f)
        return path
    real = _written_path(path)
    fd, tmp = make_temp_file(real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if real.exists():  # written again: the mode it had
            os.chmod(tmp, real.stat().st_mode & 0o7777)
        os.replace(tmp, real)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return real


def replace_directory(tmp: Path, target: Path) -> None:
    """Move the finished directory ``tmp`` to ``target``, replacing any old one.

    The old directory is first renamed aside (a unique hidden name next to it), so
    ``target`` is always either the old or the new directory, never a mix (or, for
    the moment between the two renames, absent: a reader that finds it so, beside a
    ``.NAME.xxxxxxxx.old`` directory, looks again); the old
    one is removed once the new one is in place, and only after the directory
    ``tmp``, every file and directory in it (:func:`fsync_tree`) and the renames in
    the parent are flushed to disk (:func:`fsync_directory`): after a crash or a
    power loss the path holds the complete old or the complete new directory (no
    caller has to flush its files). A ``target`` that is a symbolic
    link to a directory keeps the link: the directory it points to
    (:func:`real_directory`) is the one replaced (``tmp`` is moved next to it first
    when it was made elsewhere). A ``target`` that exists and is not a directory, or
    that holds ``tmp`` (``"."`` with ``tmp`` made in it), is refused
    (:class:`~svdkit.FileFormatError`) before anything is moved; ``tmp`` is then left
    to the caller to remove.
    """
    check_directory_output(target)
    real = real_directory(target)
    tmp_real = real_directory(tmp)
    if tmp_real == real or real in tmp_real.parents:
        raise FileFormatError(
            f"cannot replace '{target}': the directory being written lies inside it "
            f"('{tmp}'); give the output a path from outside it"
        )
    moved = old = None
    try:
        if tmp_real.parent != real.parent:  # made beside a link: moved beside its directory
            moved = Path(tempfile.mkdtemp(prefix=f".{real.name}.", suffix=".tmp",
                                          dir=real.parent))
            moved.rmdir()
            shutil.move(tmp_real, moved)  # a rename on one file system, else a copy
            tmp_real = moved
        fsync_tree(tmp_real)  # its files and entries on disk before it is renamed in
        if real.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{real.name}.", suffix=".old", dir=real.parent))
            old.rmdir()
            real.rename(old)
        tmp_real.rename(real)
        fsync_directory(real.parent)  # the renames on disk before the old one is removed
    except BaseException:
        if old is not None and old.exists() and not real.exists():
            old.rename(real)  # the old directory back in place
        if moved is not None:
            shutil.rmtree(moved, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Flush the entries of the directory ``path`` (names created, renamed, removed)
    to disk, as :func:`os.fsync` flushes a file's bytes: after a power loss a file
    renamed into it is found under its new name. A file system that cannot sync a
    directory (``EINVAL``, ``EBADF``, ``EACCES`` on some network and FUSE file systems)
    is left as it is: there is nothing more to do."""
    _fsync_opened(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def fsync_tree(path: str | os.PathLike[str]) -> None:
    """Flush the file ``path``, or the directory ``path`` with every file and directory
    under it (symbolic links not followed), to disk: what is renamed into place after
    it is found whole after a power loss. A file already flushed costs little (no
    data to write). Files that cannot be opened or synced (``EACCES``, ``EINVAL`` on
    some network and FUSE file systems) are left as they are."""
    path = os.fspath(path)
    if not os.path.isdir(path) or os.path.islink(path):
        _fsync_file(path)
        return
    for root, _, names in os.walk(path):
        for name in names:
            _fsync_file(os.path.join(root, name))
        fsync_directory(root)  # (os.walk does not enter a link to a directory)


def _fsync_file(path: str) -> None:
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode):
        _fsync_opened(path, os.O_RDONLY)


def _fsync_opened(path: str | os.PathLike[str], flags: int) -> None:
    """Open ``path`` with ``flags`` and :func:`os.fsync` it; a path that cannot be opened
    or synced is left as it is."""
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _aside(real: Path, suffix: str) -> Path:
    """A unique, free hidden name beside ``real`` (``.NAME.xxxx{suffix}``)."""
    name = Path(tempfile.mkdtemp(prefix=f".{real.name}.", suffix=suffix, dir=real.parent))
    name.rmdir()
    return name


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def swap_in(moves: Sequence[tuple[Path, Path]]) -> None:
    """Move finished temporary outputs onto their targets, all of them or none.

    Each ``(tmp, target)`` is a file or directory built aside (beside ``target``,
    or moved there first) and its final path; ``target`` reached through a
    symbolic link is replaced where the link points, the link kept. Every old
    target is first renamed aside, then each new one renamed in; if any step
    fails (or is interrupted), the new ones are moved back and the old ones put
    back, so that the targets are all old or all new — a PiSSA adapter is never
    left beside the residual of another run. Every new output (each file, and each
    file and directory inside a directory: :func:`fsync_tree`) is flushed to disk
    before the renames, and the folders renamed in after them, so that the old ones,
    removed at the end, are removed only when a power loss would find the new ones
    whole. On failure the ``tmp`` paths are left to the caller to remove.
    """
    pairs = [(Path(tmp), real_directory(target)) for tmp, target in moves]
    moved: list[Path] = []
    done: list[tuple[Path, Path, Path | None, bool]] = []  # (tmp, real, old, installed)
    try:
        staged = []
        for tmp, real in pairs:
            if real_directory(tmp).parent != real.parent:  # made beside a link
                new = _aside(real, ".tmp")
                shutil.move(tmp, new)  # a rename on one file system, else a copy
                moved.append(new)
                tmp = new
            staged.append((tmp, real))
        for tmp, _ in staged:
            fsync_tree(tmp)
        for tmp, real in staged:
            old = None
            if real.exists() or real.is_symlink():
                old = _aside(real, ".old")
                real.rename(old)
            done.append((tmp, real, old, False))
            tmp.rename(real)
            done[-1] = (tmp, real, old, True)
        for parent in dict.fromkeys(real.parent for _, real in staged):
            fsync_directory(parent)  # the renames on disk before the old ones are removed
    except BaseException:
        for tmp, real, old, installed in reversed(done):
            try:
                if installed:
                    real.rename(tmp)
                if old is not None:
                    old.rename(real)
            except OSError:  # (nothing more can be done: the old one stays at `old`)
                pass
        for path in moved:
            _remove(path)
        raise
    for _, _, old, _ in done:
        if old is not None:
            _remove(old)


def new_directory_mode(parent: str | os.PathLike[str]) -> int:
    """The permission bits a directory created in ``parent`` gets (``0o777`` less the umask).

    Measured on a probe rather than by reading the umask: ``os.umask`` can only be
    read by setting it, which changes it for every thread of the process for a
    moment (a file another thread creates then gets the wrong mode). The probe is
    a directory made with mode ``0o777`` inside a private temporary directory in
    ``parent``, so it also follows a default ACL of ``parent``, as a directory a
    user creates there would; both are removed at once.

    Parameters
    ----------
    parent : str or PathLike
        An existing, writable directory.

    Returns
    -------
    int
        The mode bits, e.g. ``0o755`` under umask 022. A file created the usual
        way (``open``, mode ``0o666``) gets ``new_directory_mode(parent) & 0o666``.
    """
    box = tempfile.mkdtemp(prefix=".svdkit-mode.", dir=parent)
    try:
        return _probe_mode(Path(box))
    finally:
        os.rmdir(box)


def _probe_mode(box: Path) -> int:
    """The mode of a directory made with ``0o777`` in the private directory ``box``."""
    probe = box / ".mode"
    os.mkdir(probe, 0o777)
    try:
        return stat.S_IMODE(os.stat(probe).st_mode)
    finally:
        os.rmdir(probe)


def make_temp_dir(parent: str | os.PathLike[str], prefix: str, suffix: str = "") -> Path:
    """``tempfile.mkdtemp`` in ``parent``, with the mode of a normally created directory.

    The directory is meant to be filled and renamed to the output
    (:func:`replace_directory`); :func:`tempfile.mkdtemp` makes it ``0o700``, which
    the output would keep. Its mode is set to :func:`new_directory_mode` instead
    (``0o755`` under umask 022).

    Parameters
    ----------
    parent : str or PathLike
        Where the directory is created (the output's parent, so that the final
        rename stays on one file system).
    prefix, suffix : str
        Passed to :func:`tempfile.mkdtemp`.

    Returns
    -------
    Path
        The new, empty directory.
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    try:
        os.chmod(tmp, _probe_mode(tmp))  # probed inside it: nothing else made in `parent`
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def make_temp_file(
    parent: str | os.PathLike[str], prefix: str, suffix: str = ""
) -> tuple[int, Path]:
    """``tempfile.mkstemp`` in ``parent``, with the mode of a normally created file.

    :func:`tempfile.mkstemp` makes the file ``0o600``, which the output it is
    renamed to would keep; its mode is set to ``0o666`` less the umask (``0o644``
    under umask 022), measured by :func:`new_directory_mode`.

    Parameters
    ----------
    parent : str or PathLike
        Where the file is created (the output's parent).
    prefix, suffix : str
        Passed to :func:`tempfile.mkstemp`.

    Returns
    -------
    fd : int
        The open file descriptor (for :func:`os.fdopen`).
    path : Path
        The file's path.
    """
    mode = new_directory_mode(parent) & 0o666
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=parent)
    try:
        os.chmod(tmp, mode)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, Path(tmp)
