"""An index on disk: a directory of ``.npy`` arrays and JSON, checksummed, written atomically.

Layout (format ``svdkit.lsi``, version :data:`FORMAT_VERSION`)::

    index/
      meta.json          format, version, settings, SVD report, history, the
                         SHA-256 of every other file, and that of its own content
                         (``meta_sha256``)
      U.npy s.npy V.npy  the truncated SVD (documents × k, k, terms × k)
      doc_vectors.npy    rows of U Σ^p at unit length (float32): what queries read
      global_weights.npy the weighting's gⱼ
      counts_data.npy counts_indices.npy counts_indptr.npy   the counts (CSR)
      vocabulary.json    the terms, in column order
      documents.json     ids and snippets

The directory is built under a temporary name next to the target and renamed
into place; an existing index is moved aside first and removed only after the
new one is in place, its files, the directory and the renames flushed to disk
(``fsync``), so a crash or a power loss leaves either the old index or the new one.
What a killed save left beside the index (``.NAME.xxxxxxxx.tmp``, ``.old``) is
removed by the next save of it.

Processes: one writer at a time. :func:`save_index` holds :func:`index_lock` (an
``flock`` on ``.NAME.lock`` beside the index), which ``svdkit lsi add`` and
``svdkit lsi rebuild`` hold from the load to the save; and an index saved over the
path it was loaded from (or last saved to) is refused when another process has saved
there meanwhile (or another index object of this process has), rather than drop
its changes. Where the file system cannot lock (NFS without lockd), saves go on
unlocked, with a warning logged once. :func:`load_index` reads
every file through one handle on the directory, so it reads one version even while
a save swaps in another, and reads again when the index was replaced under it.
An index reached through a symbolic link is written where the link points (the
link is kept). The current directory (``"."``), or one that holds it, is refused
before any work: it would be moved away from under the process.
Only an svdkit index is replaced: a directory whose ``meta.json`` is another
program's, or an index that also holds files of its own, is refused.
Saving writes one consistent state of the index, taken under its lock (a
document added meanwhile from another thread is in the saved index entirely or not
at all), and refuses an index whose arrays disagree on the number of documents
rather than write one that could not be loaded. Loading checks the format name,
the version (:data:`READABLE_VERSIONS`; a newer one, or a text option this svdkit does
not know, says "upgrade") and every checksum, and says what is wrong; large arrays are
memory-mapped (``mmap=True``). Nothing is pickled: arrays are read with
``allow_pickle=False``.

Examples
--------
>>> import tempfile, pathlib
>>> from svdkit.lsi import build_index, demo_data, load_index
>>> index = build_index(demo_data.deerwester_titles(), k=2, weighting="count",
...                     normalize=False, options=demo_data.DEERWESTER_OPTIONS)
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = pathlib.Path(tmp) / "deerwester"
...     index.save(folder)
...     print(load_index(folder).search("graph minors", n=1)[0].id)
m3
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import math
import os
import re
import shutil
import stat
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from svdkit._files import (
    check_directory_output,
    make_temp_dir,
    real_directory,
    replace_directory,
    write_error,
)
from svdkit.errors import (
    FileFormatError,
    MissingFileError,
    ShapeError,
    SvdkitError,
    check_bool,
)
from svdkit.inputs.files import check_path

try:  # (POSIX; elsewhere the lock serialises the threads of one process only)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from svdkit.lsi.index import LsiIndex

_log = logging.getLogger(__name__)

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "READABLE_VERSIONS", "check_index_output",
           "index_lock", "load_index", "save_index"]

FORMAT_NAME = "svdkit.lsi"
#: The version written. 2: the text options hold ``combining_marks`` (an index of
#: version 1 is read with it ``False``); the release before reads version 1 only, and
#: says of a version 2 index that it was "written by a newer svdkit: upgrade".
FORMAT_VERSION = 2
#: The versions read.
READABLE_VERSIONS = (1, 2)
META = "meta.json"
#: How far (any entry) a saved ``doc_vectors.npy`` may be from the rows of ``U Σ^p`` at
#: unit length recomputed on a verified load: float32 rounding is about 6e-8.
DOC_VECTOR_TOL = 1e-4
#: Entries of ``U`` whose document vectors a verified load recomputes at a time.
_CHECK_ENTRIES = 1 << 22
#: Rows of the document vectors a verified load recomputes: every row of an index of at
#: most this many documents, else this many spread evenly, this many drawn at random (a
#: fixed seed) and the last :data:`CHECK_LAST_ROWS` (the documents added last).
CHECK_ROWS = 1024
CHECK_LAST_ROWS = 256

_ARRAYS = ("U", "s", "V", "doc_vectors", "global_weights",
           "counts_data", "counts_indices", "counts_indptr")  # fmt: skip
_MAPPED = ("U", "V", "doc_vectors")


#: How often :func:`load_index` reads an index again that a save replaced while it
#: was being read, and how long it waits for the path to reappear between the two
#: renames of a save (seconds).
_LOAD_TRIES = 20
_SWAP_WAIT = 2.0


def _sha256_of(f: IO[bytes]) -> str:
    h = hashlib.sha256()
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest()


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return _sha256_of(f)


def _write_json(path: Path, obj: Any) -> None:
    # a lone surrogate (an undecodable byte of a file name or text, kept by
    # ``surrogateescape``) cannot be encoded as UTF-8: ``backslashreplace`` writes it as
    # the JSON escape ``\udcXX`` (it only occurs inside JSON strings), which json.loads
    # reads back as the same character
    text = json.dumps(obj, ensure_ascii=False)
    path.write_bytes(text.encode("utf-8", "backslashreplace"))


# ---------------------------------------------------------------- the lock of an index
_LOCKS_GUARD = threading.Lock()
_THREAD_LOCKS: dict[str, threading.RLock] = {}


class _Held:
    """The lock of one index held by this process: its descriptor (``None`` where the
    file system cannot lock), how many ``with`` blocks hold it, and the process that
    took it (a forked child inherits the record, not the lock)."""

    __slots__ = ("depth", "fd", "pid")

    def __init__(self, fd: int | None) -> None:
        self.fd, self.depth, self.pid = fd, 0, os.getpid()


_HELD: dict[str, _Held] = {}  # lock file -> what this process holds
#: Lock files already said (logged) to be on a file system that cannot lock.
_NO_LOCK_SAID: set[str] = set()
#: ``flock`` errors of a file system that does not lock (NFS without lockd: ENOLCK;
#: FUSE and others: EOPNOTSUPP, ENOSYS, EINVAL): the save goes on unlocked.
_CANNOT_LOCK = frozenset(
    getattr(errno, name) for name in ("ENOLCK", "EOPNOTSUPP", "ENOTSUP", "ENOSYS", "EINVAL")
    if hasattr(errno, name)
)


def _forget_locks_in_child() -> None:
    """A forked child holds none of its parent's locks: it would otherwise take them as
    its own (the same thread ident, the same ``flock`` through the inherited
    descriptor) and write while the parent does. A ``with index_lock`` block it
    inherited gives back nothing when the child leaves it (:class:`_Held` ``.pid``)."""
    global _LOCKS_GUARD, _THREAD_LOCKS, _HELD
    for held in _HELD.values():
        if held.fd is not None:
            with contextlib.suppress(OSError):
                os.close(held.fd)  # (the child's copy: the parent's lock stays)
    _LOCKS_GUARD, _THREAD_LOCKS, _HELD = threading.Lock(), {}, {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_in_child)


def _lock_file(path: str | os.PathLike[str]) -> Path:
    real = real_directory(check_path(path))
    return real.parent / f".{real.name}.lock"


@contextlib.contextmanager
def index_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the lock of the index at ``path``: one writer at a time, across processes.

    An advisory lock (``fcntl.flock``) on the file ``.NAME.lock`` beside the index
    directory ``NAME``, made for the purpose and removed when the lock is given back.
    :func:`save_index` holds it while it writes; ``svdkit lsi add`` and
    ``svdkit lsi rebuild`` hold it from the load to the save, so that two of them on one
    index run one after the other (the second adds to what the first saved) rather than
    the last save dropping what the first one added. Another writer waits for it.
    Reentrant in one thread; other threads of the process wait as other processes do.
    Reading (:func:`load_index`) takes no lock. Where the directory that would hold the
    lock file does not exist, nothing is locked (there is no index to protect).

    A lock file left by another user that this one cannot write is opened read-only
    and locked all the same. On a file system that cannot lock (NFS without lockd, some
    FUSE file systems: ``flock`` fails with ``ENOLCK``, ``EOPNOTSUPP``…) the threads
    of this process still take turns, other processes are not held back (said once, as
    a logged warning), and a save still refuses to drop a change saved meanwhile
    (:func:`save_index`). A child forked inside the block holds nothing: leaving the
    block there gives back nothing of the parent's.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from svdkit.lsi import build_index, demo_data, load_index
    >>> from svdkit.lsi.persist import index_lock
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "pets"
    ...     build_index(demo_data.pets_and_markets(), k=4).save(path)
    ...     with index_lock(path):  # load, change, save: no other writer in between
    ...         index = load_index(path)
    ...         _ = index.add([("shop", "cat food and dog toys")])
    ...         index.save(path)
    ...     print(load_index(path).n_docs, sorted(p.name for p in pathlib.Path(tmp).iterdir()))
    7 ['pets']
    """
    lock = _lock_file(path)
    key = str(lock)
    with _LOCKS_GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(key, threading.RLock())
    with thread_lock:
        held = _HELD.get(key)
        if held is None:
            if not lock.parent.is_dir():
                yield
                return
            held = _HELD[key] = _Held(_acquire(lock))
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0 and held.pid == os.getpid():  # (not in a forked child)
                del _HELD[key]
                if held.fd is not None:
                    with contextlib.suppress(OSError):
                        lock.unlink()  # (still held: a waiter finds the file gone, retries)
                    os.close(held.fd)


#: ``O_NOFOLLOW`` where the system has it: a lock file is never opened through a link.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: How many times in a row the lock file may vanish between being found and being
#: opened (each time, a holder gave the lock back) before the lock is given up on.
_MAX_VANISHED = 1000


def _not_a_plain_lock(lock: Path) -> FileFormatError:
    return FileFormatError(
        f"cannot lock '{lock}' (the lock of the index beside it): it is a symbolic link, "
        "not a lock file; remove it and save again"
    )


def _open_lock_file(lock: Path) -> tuple[int, bool] | None:
    """A descriptor of the lock file, made if missing, and whether it was made here;
    ``None`` when it was removed meanwhile (by the holder giving the lock back). A lock
    file of another user that this one cannot write is opened read-only: ``flock``
    locks it all the same. A symbolic link there (even a dangling one) is refused: the
    lock is never taken through a link (:class:`~svdkit.FileFormatError`)."""
    try:
        return os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666), True
    except FileExistsError:
        pass
    if lock.is_symlink():
        raise _not_a_plain_lock(lock)
    try:
        return os.open(lock, os.O_RDWR | _NOFOLLOW), False
    except FileNotFoundError:
        return None
    except PermissionError:
        pass
    try:
        return os.open(lock, os.O_RDONLY | _NOFOLLOW), False
    except FileNotFoundError:
        return None


def _acquire(lock: Path) -> int | None:
    """Open and lock ``lock``: the descriptor, or ``None`` where the file system cannot
    lock. A lock file removed by the holder that gave the lock back is no longer the
    lock: made and locked again (up to ``_MAX_VANISHED`` times in a row, then a
    :class:`~svdkit.FileFormatError`)."""
    vanished = 0
    while True:
        try:
            opened = _open_lock_file(lock)
        except OSError as err:
            if err.errno == errno.ELOOP:  # (a link made between the two opens)
                raise _not_a_plain_lock(lock) from None
            raise write_error(lock, err) from None
        if opened is None:
            vanished += 1
            if vanished >= _MAX_VANISHED:
                raise FileFormatError(
                    f"cannot lock '{lock}' (the lock of the index beside it): it was said "
                    f"to exist but could not be opened {vanished} times in a row"
                )
            continue
        vanished = 0
        fd, made = opened
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            mine = os.fstat(fd)
            try:
                now = os.stat(lock)
            except FileNotFoundError:
                now = None
        except OSError as err:
            os.close(fd)
            if made:  # (no one else can hold it: no flock on it succeeds)
                with contextlib.suppress(OSError):
                    lock.unlink()
            if err.errno in _CANNOT_LOCK:
                _say_unlocked(lock, err)
                return None
            owned = ("; it is another user's file that this one cannot write (its owner "
                     "can remove it, or make it group-writable)"
                     if not (made or os.access(lock, os.W_OK)) else "")
            raise FileFormatError(
                f"cannot lock '{lock}' (the lock of the index beside it): "
                f"{err.strerror or err}{owned}"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        if now is not None and (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev):
            return fd
        os.close(fd)


def _say_unlocked(lock: Path, err: OSError) -> None:
    if str(lock) not in _NO_LOCK_SAID:
        _NO_LOCK_SAID.add(str(lock))
        _log.warning(
            "'%s' cannot be locked (%s: the file system does not support flock); saves of "
            "the index beside it by other processes are not made to wait (a save that "
            "would drop another's change is still refused)", lock, err.strerror or err)


def _stale_pattern(name: str) -> re.Pattern[str]:
    """Names of the temporary (``.tmp``) and set-aside (``.old``) directories that a
    save of the index ``name`` makes beside it (``tempfile.mkdtemp``'s 8 characters)."""
    return re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}\.(tmp|old)")


def _stale_siblings(real: Path) -> list[tuple[Path, str]]:
    pattern = _stale_pattern(real.name)
    found = []
    try:
        entries = list(real.parent.iterdir())
    except OSError:
        return []
    for p in entries:
        m = pattern.fullmatch(p.name)
        if m and p.is_dir() and not p.is_symlink():
            found.append((p, m.group(1)))
    return sorted(found)


def _remove_stale(real: Path) -> None:
    """Remove what saves of the index killed midway left beside it (under its lock, with
    the new index in place: no save is running, and an ``.old`` is an older version)."""
    for p, _ in _stale_siblings(real):
        shutil.rmtree(p, ignore_errors=True)


def _meta_bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest_on_disk(real: Path) -> str | None:
    try:
        return _meta_bytes_digest((real / META).read_bytes())
    except OSError:
        return None


def _is_index(folder: Path) -> bool:
    """Whether ``folder`` holds an svdkit LSI index (its ``meta.json`` names the format).

    A ``meta.json`` of another program does not make a directory an index: saving
    over it would delete that program's files.
    """
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT_NAME


def _index_files() -> set[str]:
    return {f"{n}.npy" for n in _ARRAYS} | {"vocabulary.json", "documents.json", META}


def _meta_digest(meta: dict[str, Any]) -> str:
    """SHA-256 of ``meta`` without its own ``meta_sha256`` entry (keys sorted)."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def check_index_output(path: str | os.PathLike[str]) -> Path:
    """Check, before any work, that an index can be written to the directory ``path``.

    ``path`` may be new, an empty directory, or an earlier index (replaced), or a
    symbolic link to one of those (the directory it points to is written).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    SvdkitError
        ``path`` is not a ``str`` or ``os.PathLike`` (``None``, a number…).
    FileFormatError
        ``path`` is empty, is a file, lies under a file, is a non-empty directory that is
        not an svdkit LSI index, or is the current directory or one that holds it
        (``"."``: saving moves the whole directory aside).
    """
    target = check_directory_output(
        check_path(path), "svdkit LSI index", belongs=_is_index, replaced=True
    )
    if target.is_dir() and _is_index(target):
        # saving replaces the whole directory: files put there by hand would be lost
        extra = sorted(p.name for p in target.iterdir() if p.name not in _index_files())
        if extra:
            shown = ", ".join(repr(n) for n in extra[:5]) + (" …" if len(extra) > 5 else "")
            raise FileFormatError(
                f"'{target}' is an svdkit LSI index but also holds {shown}, which is not "
                "part of it: saving replaces the whole directory and would delete it; "
                "move it out, or save the index elsewhere"
            )
    return target


def save_index(index: LsiIndex, path: str | os.PathLike[str]) -> None:
    """Write ``index`` to the directory ``path`` (replaced atomically if it exists).

    Raises
    ------
    SvdkitError
        ``index`` is not an :class:`~svdkit.lsi.index.LsiIndex`, or ``path`` is not
        a path.
    ShapeError
        The index is inconsistent: its ``U``, document vectors, counts, ids or
        snippets disagree on the number of documents, or its arrays on ``k`` or the
        number of terms (it was changed by hand); nothing is written.
    FileFormatError
        ``path`` cannot hold an index (:func:`check_index_output`); nothing is written.
    SvdkitError
        ``index`` was loaded from ``path`` (or last saved to it), and another process,
        or another index object of this process (another thread), has saved an index
        there since: saving would drop its changes; nothing is written (load it again
        and repeat the change).

    Notes
    -----
    The save holds :func:`index_lock` of ``path``: another writer waits.

    Examples
    --------
    >>> import os, tempfile
    >>> from svdkit.errors import FileFormatError
    >>> from svdkit.lsi import build_index, demo_data, load_index, save_index
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs, k=4)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "pets-and-money")
    ...     save_index(index, path)
    ...     print(sorted(f for f in os.listdir(path) if f.endswith(".json")))
    ...     _ = index.add([("shop", "a shop selling cat food and dog toys")])
    ...     save_index(index, path)  # an index is replaced as a whole
    ...     print(load_index(path).n_docs)
    ...     os.mkdir(os.path.join(tmp, "photos"))
    ...     _ = open(os.path.join(tmp, "photos", "cat.jpg"), "wb").close()
    ...     try:  # a directory that is not an index is never overwritten
    ...         save_index(index, os.path.join(tmp, "photos"))
    ...     except FileFormatError:
    ...         print(os.listdir(os.path.join(tmp, "photos")))
    ['documents.json', 'meta.json', 'vocabulary.json']
    7
    ['cat.jpg']
    """
    from svdkit.lsi.index import check_index

    check_index(index)
    target = check_index_output(path)
    # one state of the index (a fold-in or SVD update in another thread is put in place
    # under this lock): references, copied only as they are written
    with index._state_lock:  # (reentrant: the snapshot takes it too)
        state = index._snapshot()
        counts, n_svd_docs = index.counts, index.n_svd_docs
        svd, history = dict(index.svd), [dict(h) for h in index.history]
    _check_consistent(index, state, counts)
    real = real_directory(target)  # through a symbolic link: where it points
    real.parent.mkdir(parents=True, exist_ok=True)
    with index_lock(real):  # one writer at a time (other processes too)
        _check_unchanged(index, real)
        digest = _write_index(index, target, real, state, counts, n_svd_docs, svd, history)
        index._persisted = (str(real), digest)
        _remove_stale(real)


def _check_unchanged(index: LsiIndex, real: Path) -> None:
    """Refuse to save ``index`` over the index it was loaded from (or last saved as)
    when anyone else has saved that one since: another process, or another index
    object of this one (another thread's ``load_index → add → save``): its changes
    would be lost. Only this object's own last load or save of it counts (the digest
    of the ``meta.json`` it read or wrote)."""
    persisted = getattr(index, "_persisted", None)
    if persisted is None or persisted[0] != str(real):
        return
    now = _digest_on_disk(real)
    if now is not None and now != persisted[1]:
        raise SvdkitError(
            f"LSI index '{real}' was changed by another process since this index was "
            "loaded from it (or last saved to it), or by another index object of this "
            "process (another thread's load and save): saving would drop those changes; "
            "load it again and repeat the change (add again), or save elsewhere"
        )


def _write_index(index: LsiIndex, target: Path, real: Path, state: Any, counts: sp.spmatrix,
                 n_svd_docs: int, svd: dict[str, Any], history: list[Any]) -> str:
    """Write the index into a temporary directory and swap it in; the digest of the
    ``meta.json`` written."""
    tmp = make_temp_dir(real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        arrays = {
            "U": np.asarray(state.U, dtype=np.float64),
            "s": np.asarray(state.s, dtype=np.float64),
            "V": np.asarray(state.V, dtype=np.float64),
            "doc_vectors": state.doc_vectors,
            "global_weights": np.asarray(index.global_weights, dtype=np.float64),
            "counts_data": counts.data.astype(np.int32),
            "counts_indices": counts.indices.astype(np.int32),
            "counts_indptr": counts.indptr.astype(np.int64),
        }
        for name, a in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(a), allow_pickle=False)
        _write_json(tmp / "vocabulary.json", list(index.vocabulary))
        _write_json(tmp / "documents.json", {"ids": state.ids, "snippets": state.snippets})
        files = [f"{n}.npy" for n in _ARRAYS] + ["vocabulary.json", "documents.json"]
        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "n_docs": int(state.U.shape[0]),
            "n_terms": index.n_terms,
            "k": int(state.s.shape[0]),
            "weighting": index.weighting,
            "normalize": index.normalize,
            "scaling": index.scaling,
            "text_options": index.options.to_json(),
            "n_svd_docs": n_svd_docs,
            "svd": svd,
            "history": history,
            "sha256": {f: _sha256(tmp / f) for f in files},
        }
        meta["meta_sha256"] = _meta_digest(meta)
        _write_json(tmp / META, meta)
        digest = _meta_bytes_digest((tmp / META).read_bytes())
        # (flushes every file, the directory and the renames before removing the old)
        replace_directory(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return digest


def _check_consistent(index: LsiIndex, state: Any, counts: sp.spmatrix) -> None:
    """Refuse to save an index whose parts disagree: it could not be loaded again.

    ``state``: the index's snapshot (``U``, ``s``, ``V``, document vectors, ids,
    snippets, all of one state). The sizes checked are those :func:`load_index` checks.
    """
    n_docs, k, n_terms = int(state.U.shape[0]), int(state.s.shape[0]), index.n_terms
    shapes = {
        "U": (state.U.shape, (n_docs, k)),
        "V": (state.V.shape, (n_terms, k)),
        "doc_vectors": (state.doc_vectors.shape, (n_docs, k)),
        "counts": (counts.shape, (n_docs, n_terms)),
        "global_weights": (np.shape(index.global_weights), (n_terms,)),
    }
    wrong = [f"{name} has shape {got}, expected {want}"
             for name, (got, want) in shapes.items() if tuple(got) != want]
    if len(state.ids) != n_docs:
        wrong.append(f"{len(state.ids)} ids")
    if len(state.snippets) not in (0, n_docs):
        wrong.append(f"{len(state.snippets)} snippets")
    if wrong:
        raise ShapeError(
            f"the index is inconsistent, not saved: {n_docs} documents (rows of U), k = {k}, "
            f"{n_terms} terms, but " + "; ".join(wrong) + " (was it changed by hand? "
            "rebuild it, svdkit.lsi.rebuild, or index the corpus again)"
        )


class _Directory:
    """An index directory opened once: every file is read through this one handle, so
    that one load reads one version of the index even while a save swaps in another
    (the path then names the new directory; this handle still the one opened)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fd = _open_directory(folder)

    def close(self) -> None:
        os.close(self.fd)

    def _opener(self, name: str, flags: int) -> int:
        return os.open(name, flags, dir_fd=self.fd)

    def open(self, name: str) -> IO[bytes]:
        return open(name, "rb", opener=self._opener)

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    def is_file(self, name: str) -> bool:
        try:
            return stat.S_ISREG(os.stat(name, dir_fd=self.fd).st_mode)
        except OSError:
            return False

    def replaced(self) -> bool:
        """Whether the path names another directory now (or none): a save swapped it."""
        mine = os.fstat(self.fd)
        try:
            now = os.stat(self.folder)
        except OSError:
            return True
        return (now.st_ino, now.st_dev) != (mine.st_ino, mine.st_dev)


def _whole_index(folder: Path) -> bool:
    """Whether ``folder`` holds every file of an index (a set-aside ``.old`` that a
    killed removal left half deleted, or empty, does not)."""
    try:
        return _index_files() <= set(os.listdir(folder))
    except OSError:
        return False


def _open_directory(folder: Path) -> int:
    """A descriptor of the directory ``folder``; the svdkit error for a path that is not
    one. A path that is missing while a save swaps the index (its old directory aside,
    ``.NAME.xxxxxxxx.old``, the new one not yet in place, ``.NAME.xxxxxxxx.tmp``) is
    waited for; an ``.old`` that holds a whole index is named."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    deadline = time.monotonic() + _SWAP_WAIT
    while True:
        try:
            return os.open(folder, flags)
        except FileNotFoundError:
            real = real_directory(folder)
            siblings = _stale_siblings(real)
            aside = [p for p, kind in siblings if kind == "old" and _whole_index(p)]
            saving = any(kind == "tmp" for _, kind in siblings) or os.path.exists(folder)
            if aside and saving and time.monotonic() < deadline:
                time.sleep(0.001)  # between the two renames of a save
                continue
            hint = ""
            if aside:
                hint = (f"; a save of it was interrupted: the index it replaced is in "
                        f"'{aside[-1]}' (rename that to '{real.name}' to use it again)")
            raise MissingFileError(f"LSI index '{folder}' does not exist{hint}") from None
        except NotADirectoryError:
            if folder.is_dir():
                continue  # (swapped in meanwhile)
            if folder.exists():
                raise FileFormatError(
                    f"'{folder}' is a file; an LSI index is a directory") from None
            raise MissingFileError(f"LSI index '{folder}' does not exist") from None
        except OSError as err:
            raise FileFormatError(
                f"LSI index '{folder}' cannot be read: {err.strerror or err}") from None


def _read_meta(d: _Directory) -> tuple[dict[str, Any], bytes]:
    """``meta.json`` of the index, checked for the format and version, and its bytes."""
    folder = d.folder
    if not d.is_file(META):
        raise FileFormatError(f"'{folder}' is not an svdkit LSI index: it has no {META}")
    raw = d.read_bytes(META)
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FileFormatError(f"'{folder / META}' is damaged: not JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise FileFormatError(
            f"'{folder}' is not an svdkit LSI index: its {META} says format {found!r}, "
            f"expected {FORMAT_NAME!r}"
        )
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or (
            version not in READABLE_VERSIONS):
        newer = (isinstance(version, int) and not isinstance(version, bool)
                 and version > FORMAT_VERSION)
        known = " and ".join(map(str, READABLE_VERSIONS))
        raise FileFormatError(
            f"'{folder}' is an LSI index of format version {version!r}; this svdkit reads "
            f"version{'s' if len(READABLE_VERSIONS) > 1 else ''} {known}"
            + (" (it was written by a newer svdkit: upgrade)" if newer else " (rebuild it)")
        )
    return meta, raw


def _text_options(folder: Path, settings: Any) -> Any:
    """The index's :class:`~svdkit.lsi.TextOptions`; a setting this svdkit does not know
    is one a newer svdkit added: named, with "upgrade", rather than called damage."""
    from dataclasses import fields

    from svdkit.lsi.counting import TextOptions

    if isinstance(settings, dict):
        unknown = sorted(set(settings) - {f.name for f in fields(TextOptions)}, key=str)
        if unknown:
            raise FileFormatError(
                f"LSI index '{folder}' was written by a newer svdkit: its text options hold "
                f"{', '.join(map(repr, unknown))}, which this svdkit does not know; upgrade "
                "svdkit to read it"
            )
    try:
        return TextOptions.from_json(settings)
    except (KeyError, TypeError, ValueError) as err:  # (an SvdkitError is a ValueError)
        raise FileFormatError(
            f"LSI index '{folder}' is damaged: {META}'s text_options: {err}"
        ) from None


def _check_files(d: _Directory, meta: dict[str, Any]) -> None:
    folder = d.folder
    expected = {f"{n}.npy" for n in _ARRAYS} | {"vocabulary.json", "documents.json"}
    # meta.json holds the settings (weighting, scaling, tokenising): an edit there
    # would pair the stored arrays with settings they were not computed with. Indexes
    # written before the digest was added have none, and are read as before.
    digest = meta.get("meta_sha256")
    if digest is not None and digest != _meta_digest(meta):
        raise FileFormatError(
            f"LSI index '{folder}' is damaged: {META} does not match its checksum (its "
            "settings were changed since it was written); rebuild the index"
        )
    sums = meta.get("sha256")
    if not isinstance(sums, dict) or set(sums) != expected:
        raise FileFormatError(f"'{folder / META}' is damaged: its checksum table is incomplete")
    for name in sorted(expected):
        if not d.is_file(name):
            raise FileFormatError(f"LSI index '{folder}' is damaged: {name} is missing")
        with d.open(name) as f:
            if _sha256_of(f) != sums[name]:
                raise FileFormatError(
                    f"LSI index '{folder}' is damaged: {name} does not match its checksum "
                    "(changed or truncated since it was written); rebuild the index"
                )


def _load_array(d: _Directory, name: str, mmap: bool) -> np.ndarray:
    folder = d.folder
    try:
        with d.open(f"{name}.npy") as f:
            if not mmap:
                return np.load(f, allow_pickle=False)
            mapped = _map_array(f)
            if isinstance(mapped, np.memmap):  # (opened by name in the directory)
                mapped.filename = os.path.abspath(folder / f"{name}.npy")
            return mapped
    except ValueError as err:
        raise FileFormatError(f"LSI index '{folder}': {name}.npy cannot be read ({err})") from None
    except IsADirectoryError:
        raise FileFormatError(
            f"LSI index '{folder}' is damaged: {name}.npy is a directory, not a file"
        ) from None


def _map_array(f: IO[bytes]) -> np.ndarray:
    """The ``.npy`` file open in ``f``, memory-mapped read-only (as ``np.load`` with
    ``mmap_mode="r"`` maps a file by name: here, the file of the directory opened)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:  # (3.0: only for field names in UTF-8, which no index array has)
        f.seek(0)
        return np.load(f, allow_pickle=False)
    if dtype.hasobject:
        raise ValueError("it holds Python objects, which are not read (no pickle)")
    if math.prod(shape) == 0:
        return np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    return np.memmap(f, dtype=dtype, mode="r", shape=shape, order="F" if fortran else "C",
                     offset=f.tell())


def load_index(path: str | os.PathLike[str], *, mmap: bool = True,
               verify: bool = True) -> LsiIndex:
    """Read an index written by :func:`save_index`.

    Parameters
    ----------
    path : path
        The index directory.
    mmap : bool
        Memory-map ``U``, ``V`` and the document vectors (read on demand).
    verify : bool
        Check every file's SHA-256 (reads every file once).

    Raises
    ------
    SvdkitError
        ``path`` is not a ``str`` or ``os.PathLike`` (``None``, a number…).
    MissingFileError
        No such directory (where a save was interrupted between its two renames, the
        message names the ``.old`` directory that holds the index).
    FileFormatError
        An empty path, not an index, another format version, a missing or damaged file,
        or contents that the checksums cannot vouch for (an id or a term given twice,
        NaN, a negative count, a size that is not a whole number).

    Notes
    -----
    A save of the same index by another process or thread meanwhile is not an error:
    the files are read through one handle on the directory opened (one version of the
    index), and the index is read again when a save replaced it during the reading.

    Examples
    --------
    A round trip gives the same index: same documents, same scores.

    >>> import numpy as np, pathlib, tempfile
    >>> from svdkit.errors import FileFormatError
    >>> from svdkit.lsi import build_index, demo_data, load_index
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs, k=4)
    >>> queries = ["sick dog", "interest rates"]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp) / "index"
    ...     index.save(folder)
    ...     loaded = load_index(folder, mmap=False)
    ...     print(loaded, loaded.ids == index.ids)
    ...     print(np.array_equal(loaded.scores(queries), index.scores(queries)))
    ...     print([hit.id for hit in loaded.search("sick dog", n=2)])
    ...     _ = (folder / "vocabulary.json").write_text('["cat"]', encoding="utf-8")
    ...     try:  # a file changed since it was written fails its checksum
    ...         load_index(folder)
    ...     except FileFormatError as err:
    ...         print("vocabulary.json does not match its checksum" in str(err))
    LsiIndex(6 documents, 19 terms, k=4, log_entropy) True
    True
    ['vet', 'pets']
    True
    """
    mmap = check_bool(mmap, "mmap")
    verify = check_bool(verify, "verify")
    folder = check_path(path)
    for attempt in range(_LOAD_TRIES):
        d = _Directory(folder)
        try:
            index, raw = _load(d, mmap, verify)
        except (SvdkitError, OSError) as err:
            if attempt + 1 < _LOAD_TRIES and d.replaced():
                continue  # a save swapped the index in the meantime: read the new one
            if isinstance(err, SvdkitError):
                raise
            where = f"{Path(err.filename).name}: " if err.filename else ""
            raise FileFormatError(
                f"LSI index '{folder}' cannot be read: {where}{err.strerror or err}"
            ) from None
        finally:
            d.close()
        # what save_index compares with the index on disk before it replaces it
        index._persisted = (str(real_directory(folder)), _meta_bytes_digest(raw))
        return index
    raise AssertionError("unreachable")  # pragma: no cover


def _whole(folder: Path, meta: dict[str, Any], key: str) -> int:
    value = meta[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FileFormatError(
            f"LSI index '{folder}' is damaged: {META} gives {key} = {value!r}, not a "
            "whole number"
        )
    return value


def _load(d: _Directory, mmap: bool, verify: bool) -> tuple[LsiIndex, bytes]:
    """One reading of the opened index directory: the index and its meta.json's bytes."""
    from svdkit.lsi.index import LsiIndex

    folder = d.folder
    meta, raw = _read_meta(d)
    if verify:
        _check_files(d, meta)
    a = {n: _load_array(d, n, mmap and n in _MAPPED) for n in _ARRAYS}
    if "text_options" not in meta:
        raise FileFormatError(f"LSI index '{folder}' is damaged: {META} has no text_options")
    options = _text_options(folder, meta["text_options"])  # (its errors: not "damaged")
    try:
        vocabulary = json.loads(d.read_bytes("vocabulary.json").decode("utf-8"))
        documents = json.loads(d.read_bytes("documents.json").decode("utf-8"))
        n_docs, n_terms, k = (_whole(folder, meta, key) for key in ("n_docs", "n_terms", "k"))
        if not isinstance(meta["normalize"], bool):
            raise ValueError(f"{META} gives normalize = {meta['normalize']!r}, not true or "
                             "false")
        if not isinstance(meta["svd"], dict) or not isinstance(meta["history"], list) or not all(
                isinstance(h, dict) for h in meta["history"]):
            raise ValueError(f"{META}'s svd is not a mapping, or its history not a list of "
                             "mappings")
        counts = sp.csr_matrix(
            (a["counts_data"], a["counts_indices"], a["counts_indptr"]), shape=(n_docs, n_terms)
        )
        index = LsiIndex(
            U=a["U"], s=a["s"], V=a["V"], counts=counts, vocabulary=vocabulary,
            ids=documents["ids"], snippets=documents["snippets"],
            global_weights=a["global_weights"], weighting=meta["weighting"],
            normalize=bool(meta["normalize"]), scaling=float(meta["scaling"]),
            options=options,
            n_svd_docs=_whole(folder, meta, "n_svd_docs"), svd=dict(meta["svd"]),
            history=list(meta["history"]), doc_vectors_cache=a["doc_vectors"],
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, FileFormatError):
            raise
        raise FileFormatError(f"LSI index '{folder}' is damaged: {err}") from None
    shapes = {
        "U": (n_docs, k), "s": (k,), "V": (n_terms, k), "doc_vectors": (n_docs, k),
        "global_weights": (n_terms,),
    }  # fmt: skip
    for name, shape in shapes.items():
        if a[name].shape != shape:
            raise FileFormatError(
                f"LSI index '{folder}' is damaged: {name}.npy has shape {a[name].shape}, "
                f"expected {shape}"
            )
    if len(vocabulary) != n_terms or len(index.ids) != n_docs:
        raise FileFormatError(f"LSI index '{folder}' is damaged: sizes disagree with {META}")
    _check_contents(folder, index, a, verify)
    return index, raw


def _check_contents(folder: Path, index: LsiIndex, a: dict[str, np.ndarray],
                    verify: bool = True) -> None:
    """Refuse what the checksums cannot vouch for: values of the wrong kind.

    (Without ``verify``, or in files rewritten together with their checksums, a
    string array, an out-of-range term number, a NaN, a negative count or an id given
    twice would only fail later, deep inside NumPy or SciPy, or not at all.) The
    memory-mapped ``U``, ``V`` and document vectors are checked for NaN and infinity
    with ``verify`` only (it reads them anyway): without it they stay unread.
    """
    from svdkit.lsi.index import MAX_SCALING
    from svdkit.lsi.weighting import SCHEMES

    def damaged(what: str) -> FileFormatError:
        return FileFormatError(f"LSI index '{folder}' is damaged: {what}")

    for name in ("U", "s", "V", "doc_vectors", "global_weights"):
        if a[name].dtype.kind != "f":
            raise damaged(f"{name}.npy holds {a[name].dtype} values, not floating-point numbers")
    for name in ("counts_data", "counts_indices", "counts_indptr"):
        if a[name].dtype.kind not in "iu":
            raise damaged(f"{name}.npy holds {a[name].dtype} values, not integers")
    counts = index.counts
    indptr, indices = a["counts_indptr"], a["counts_indices"]
    if (indptr.shape != (index.n_docs + 1,) or indptr[0] != 0
            or indptr[-1] != a["counts_data"].shape[0] or np.any(np.diff(indptr) < 0)
            or indices.shape != a["counts_data"].shape
            or (indices.size and (indices.min() < 0 or indices.max() >= counts.shape[1]))):
        raise damaged("the counts (counts_*.npy) are not a valid sparse matrix of "
                      f"{index.n_docs} documents × {index.n_terms} terms")
    if index.weighting not in SCHEMES:
        raise damaged(f"{META} names the weighting {index.weighting!r}; known: {SCHEMES}")
    if not np.isfinite(index.scaling) or (
        abs(index.scaling) > MAX_SCALING and not _powers_finite(a["s"], index.scaling)
    ):
        raise damaged(f"{META} gives the scaling {index.scaling!r} (an index is built with "
                      f"a finite p from {-MAX_SCALING:g} to {MAX_SCALING:g})")
    if abs(index.scaling) > MAX_SCALING:  # saved by an older svdkit, which allowed it
        note = (f"the scaling p = {index.scaling:g} is outside the {-MAX_SCALING:g} to "
                f"{MAX_SCALING:g} this version builds (saved by an older svdkit): the index "
                "is loaded and searched as saved; rebuild(index, scaling=…) makes one within "
                "the bound")
        notes = index.svd.get("notes")
        notes = list(notes) if isinstance(notes, list) else []
        if note not in notes:  # (saved again and loaded: said once)
            index.svd = {**index.svd, "notes": [*notes, note]}
        warnings.warn(f"LSI index '{folder}': {note}", UserWarning, stacklevel=4)
    if not 0 < index.n_svd_docs <= index.n_docs:
        raise damaged(f"{META} says {index.n_svd_docs} documents were in the SVD, of "
                      f"{index.n_docs}")
    for name, values in (("vocabulary.json", index.vocabulary),
                         ("documents.json (ids)", index.ids),
                         ("documents.json (snippets)", index.snippets)):
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise damaged(f"{name} is not a list of strings")
    if len(index.snippets) not in (0, index.n_docs):
        raise damaged(f"documents.json has {len(index.snippets)} snippets for "
                      f"{index.n_docs} documents")
    for name, values in (("vocabulary.json", index.vocabulary),
                         ("documents.json", index.ids)):
        if len(set(values)) != len(values):
            twice = next(v for v, c in _counted(values) if c > 1)
            what = "term" if name == "vocabulary.json" else "id"
            raise damaged(f"{name} holds the {what} {twice!r} more than once")
    if a["counts_data"].size and a["counts_data"].min() < 0:
        raise damaged("counts_data.npy holds negative counts")
    finite = ("s", "global_weights", *(("U", "V", "doc_vectors") if verify else ()))
    for name in finite:
        if not np.isfinite(a[name]).all():
            raise damaged(f"{name}.npy holds NaN or infinite values")
    _check_spectrum(damaged, a["s"], a["global_weights"])
    if verify:
        _check_doc_vectors(damaged, index, a)


def _powers_finite(s: np.ndarray, scaling: float) -> bool:
    """Whether every ``σᵢ^p`` is a finite, non-zero float64: the test an index saved by
    an older svdkit with ``|p|`` above today's bound passes when its vectors were usable
    (those versions allowed any finite ``p``; where ``σᵢ^p`` overflowed or vanished they
    wrote NaN or zero vectors: no index could have that ``p``)."""
    with np.errstate(all="ignore"):
        powers = np.asarray(s, dtype=np.float64) ** scaling
    return bool(np.isfinite(powers).all() and (powers > 0).all())


def _check_spectrum(damaged: Callable[[str], FileFormatError], s: np.ndarray,
                    g: np.ndarray) -> None:
    """Refuse singular values an SVD does not give and global weights no scheme gives.

    A build keeps only positive singular values, in non-increasing order, and every
    weighting's ``gⱼ`` is at least 0: anything else was written by another tool (or
    edited with its checksums), and would rank documents by a different matrix.
    """
    if s.size and not (s > 0).all():
        at = int(np.flatnonzero(~(s > 0))[0])
        raise damaged(f"s.npy holds the singular value σ{at + 1} = {s[at].item()!r}; singular "
                      "values are positive")
    if s.size > 1 and (np.diff(s) > 0).any():
        at = int(np.flatnonzero(np.diff(s) > 0)[0])
        raise damaged(f"s.npy is not in non-increasing order: σ{at + 1} = {s[at].item()!r} < "
                      f"σ{at + 2} = {s[at + 1].item()!r}")
    if g.size and (g < 0).any():
        at = int(np.flatnonzero(g < 0)[0])
        raise damaged(f"global_weights.npy holds the negative weight {g[at].item()!r} (term "
                      f"{at}); every weighting's global weights are at least 0")


def _check_doc_vectors(damaged: Callable[[str], FileFormatError], index: LsiIndex,
                       a: dict[str, np.ndarray]) -> None:
    """Refuse document vectors that are not the rows of ``U Σ^p`` (unit length) they cache.

    Every row of an index of at most ``2·CHECK_ROWS + CHECK_LAST_ROWS`` documents; of a
    larger one, a sample (:data:`CHECK_ROWS`), so that a verified load costs little
    more than reading the files: a checksummed file rewritten with one row changed may
    pass, a file of other vectors does not."""
    from svdkit.lsi.index import document_vectors

    U, s, saved = a["U"], a["s"], a["doc_vectors"]
    n = U.shape[0]
    rows = max(1, _CHECK_ENTRIES // max(U.shape[1], 1))  # (bounded memory: by blocks)
    worst = 0.0
    if n > 2 * CHECK_ROWS + CHECK_LAST_ROWS:
        # a sample: the checksums already vouch that every file is as written; what is
        # checked here is that the file written is the cache of these U, s and p (a
        # whole file of another p, stale or unnormalised, fails on any row)
        picked = np.unique(np.concatenate([
            np.linspace(0, n - 1, CHECK_ROWS).astype(np.int64),
            np.random.default_rng(0).integers(0, n, CHECK_ROWS),
            np.arange(n - CHECK_LAST_ROWS, n),
        ]))
        expected = document_vectors(np.asarray(U[picked]), s, index.scaling)
        worst = float(np.max(np.abs(expected - saved[picked]), initial=0.0))
        n = 0
    for start in range(0, n, rows):
        expected = document_vectors(U[start:start + rows], s, index.scaling)
        worst = max(worst, float(np.max(np.abs(expected - saved[start:start + rows]),
                                        initial=0.0)))
    if worst > DOC_VECTOR_TOL:
        raise damaged(f"doc_vectors.npy is not the rows of U Σ^p at unit length it caches "
                      f"(off by up to {worst:.3g}): edited, or written by another tool")


def _counted(values: list[str]) -> list[tuple[str, int]]:
    from collections import Counter

    return list(Counter(values).items())
