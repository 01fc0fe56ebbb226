"""An LSI index on disk, second review (r7) of its lock, checks and durability.

D1: a file system without ``flock`` (NFS without lockd, some FUSE) could not save at
all (a raw ``OSError``, a ``.NAME.lock`` left); D2: two index objects of one process
(threads) each loaded, added and saved: one addition silently lost; D3: a child forked
inside ``index_lock`` raised ``KeyError`` leaving the block; D4: LoRA adapter files
and ``swap_in`` were not flushed before the old output was removed; D5: an empty
``.old`` beside a missing index made a load wait 2 s and advise renaming it; D6:
memory-mapped arrays had a wrong ``.filename``; D7: a lock file of another user
(not writable) gave "Permission denied" instead of waiting.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import svdkit._files as files
import svdkit.lsi.persist as persist
from svdkit.errors import MissingFileError, SvdkitError
from svdkit.lora.adapter import Adapter, LoraModule
from svdkit.lsi import build_index, demo_data, load_index


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "ix"
    build_index(demo_data.pets_and_markets(), k=3).save(path)
    return path


def _lock_path(index: Path) -> Path:
    return index.parent / f".{index.name}.lock"


# ---------------------------------------------------------------- D1: no flock


@pytest.mark.parametrize("code", [errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL])
def test_a_file_system_without_flock_still_saves(saved, monkeypatch, caplog, code):
    def no_lock(fd, op):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fcntl, "flock", no_lock)
    monkeypatch.setattr(persist, "_NO_LOCK_SAID", set())
    ix = load_index(saved)
    ix.add([("new", "a cat and a dog at the vet")])
    with caplog.at_level("WARNING", logger="svdkit.lsi.persist"):
        ix.save(saved)
        ix.add([("newer", "bank rates")])
        ix.save(saved)  # (said once)
    assert load_index(saved).ids[-2:] == ["new", "newer"]
    said = [r.getMessage() for r in caplog.records if "cannot be locked" in r.getMessage()]
    assert len(said) == 1
    assert not _lock_path(saved).exists()  # the lock file it made is removed
    # the optimistic check still guards against lost updates
    other = load_index(saved)
    other.add([("o", "cats")])
    other.save(saved)
    ix.add([("lost?", "dogs")])
    with pytest.raises(SvdkitError, match="was changed by another"):
        ix.save(saved)
    assert "o" in load_index(saved).ids


def test_another_lock_failure_is_a_clear_error_and_leaves_no_lock_file(saved, monkeypatch):
    def broken(fd, op):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(fcntl, "flock", broken)
    ix = load_index(saved)
    with pytest.raises(SvdkitError, match=r"cannot lock .*\.ix\.lock.*Input/output error"):
        ix.save(saved)
    assert not _lock_path(saved).exists()


# ---------------------------------------------------------------- D2: one process, two objects


def test_two_threads_each_loading_and_saving_lose_nothing_silently(saved):
    barrier = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def worker(name: str) -> None:
        ix = load_index(saved)
        barrier.wait()  # both loaded before either saves
        ix.add([(name, "a cat and a dog")])
        try:
            ix.save(saved)
            outcome[name] = "saved"
        except SvdkitError as err:
            outcome[name] = str(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("t1", "t2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = load_index(saved).ids
    kept = [n for n in ("t1", "t2") if n in ids]
    assert len(kept) == 1  # one saved; the other refused, not silently dropped
    lost = "t2" if kept == ["t1"] else "t1"
    assert outcome[kept[0]] == "saved"
    assert "was changed by another" in outcome[lost]


def test_two_objects_of_one_process_and_one_object_saving_twice(saved):
    a, b = load_index(saved), load_index(saved)
    a.add([("a1", "cats")])
    a.save(saved)
    a.add([("a2", "dogs")])
    a.save(saved)  # the same object, saving again: its own doing
    b.add([("b1", "bank")])
    with pytest.raises(SvdkitError, match="was changed by another"):
        b.save(saved)
    assert load_index(saved).ids[-2:] == ["a1", "a2"]
    c = load_index(saved)
    c.add([("c1", "rates")])
    c.save(saved)
    assert load_index(saved).ids[-3:] == ["a1", "a2", "c1"]


# ---------------------------------------------------------------- D3: fork inside the lock


def test_a_child_forked_inside_the_lock_holds_nothing(saved):
    lock = _lock_path(saved)
    r, w = os.pipe()
    pid = -1
    try:
        with persist.index_lock(saved):
            pid = os.fork()
            if pid != 0:  # the parent: holds the lock until the child has left its block
                os.close(w)
                said = os.read(r, 1)
                assert lock.exists()  # the child left its block: the parent's file stays
    except BaseException:
        if pid == 0:
            os._exit(2)  # (leaving the block failed in the child: KeyError before)
        raise
    if pid == 0:  # the child left the inherited block: nothing given back, nothing removed
        os.write(w, b"1" if lock.exists() else b"0")
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    os.close(r)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert said == b"1"
    assert not lock.exists()  # the parent gave it back


def test_a_child_forked_inside_the_lock_waits_for_the_parent(saved):
    lock = _lock_path(saved)
    r, w = os.pipe()
    with persist.index_lock(saved):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(r)
                with persist.index_lock(saved):  # the parent's: the child waits for it
                    os.write(w, b"%d" % time.monotonic_ns())
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        time.sleep(0.3)
        assert lock.exists()
        released = time.monotonic_ns()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    got = int(os.read(r, 64))
    os.close(r)
    assert got >= released  # the child got it only after the parent gave it back
    assert not lock.exists()


# ---------------------------------------------------------------- D4: durable LoRA saves


def _adapter() -> Adapter:
    module = LoraModule("fc", "linear", A=np.ones((2, 4)), B=np.ones((3, 2)), alpha=2)
    return Adapter({"fc": module})


def _log_fsyncs(monkeypatch) -> list[str]:
    synced: list[str] = []
    real = os.fsync

    def logging_fsync(fd):
        synced.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        return real(fd)

    monkeypatch.setattr(os, "fsync", logging_fsync)
    return synced


def test_an_adapter_save_flushes_every_file_before_the_old_one_goes(tmp_path, monkeypatch):
    out = tmp_path / "ad"
    _adapter().save(out)
    synced = _log_fsyncs(monkeypatch)
    _adapter().save(out, extra=lambda d: (d / "svdkit_report.json").write_text("{}"))
    names = sorted(p.name for p in out.iterdir())
    assert names == ["adapter_config.json", "adapter_model.safetensors", "svdkit_report.json"]
    for name in names:
        assert name in synced, (name, synced)
    assert tmp_path.name in synced  # the parent: the renames


def test_swap_in_flushes_the_new_outputs_and_their_folders(tmp_path, monkeypatch):
    target_dir, target_file = tmp_path / "dir", tmp_path / "file.bin"
    target_dir.mkdir()
    (target_dir / "old.txt").write_text("old")
    target_file.write_bytes(b"old")
    new_dir = tmp_path / ".dir.new"
    new_dir.mkdir()
    (new_dir / "a.txt").write_text("new a")
    (new_dir / "sub").mkdir()
    (new_dir / "sub" / "b.txt").write_text("new b")
    new_file = tmp_path / ".file.new"
    new_file.write_bytes(b"new")
    synced = _log_fsyncs(monkeypatch)
    files.swap_in([(new_dir, target_dir), (new_file, target_file)])
    assert (target_dir / "sub" / "b.txt").read_text() == "new b"
    assert target_file.read_bytes() == b"new"
    for name in ("a.txt", "b.txt", "sub", ".file.new", ".dir.new", tmp_path.name):
        assert name in synced, (name, synced)
    # the files and the directory written before the renames, the parent after them
    assert synced.index(".dir.new") < synced.index(tmp_path.name)


# ---------------------------------------------------------------- D5: a leftover .old


@pytest.mark.parametrize("content", ["empty", "half"])
def test_a_leftover_old_that_is_no_index_is_not_waited_for(tmp_path, saved, content):
    aside = tmp_path / ".gone.abcd1234.old"
    aside.mkdir()
    if content == "half":  # a removal killed midway: meta.json left, arrays gone
        (aside / "meta.json").write_bytes((saved / "meta.json").read_bytes())
    start = time.monotonic()
    with pytest.raises(MissingFileError) as err:
        load_index(tmp_path / "gone")
    assert time.monotonic() - start < 1.0
    assert "does not exist" in str(err.value) and ".old" not in str(err.value)


def test_a_whole_old_index_beside_a_missing_path_is_named(tmp_path, saved):
    aside = tmp_path / ".ix.abcd1234.old"
    saved.rename(aside)
    start = time.monotonic()
    with pytest.raises(MissingFileError, match=r"abcd1234\.old.*rename that to 'ix'"):
        load_index(saved)
    assert time.monotonic() - start < 1.0  # no save in progress (no .tmp): not waited for
    aside.rename(saved)
    assert load_index(saved).n_docs == 6


# ---------------------------------------------------------------- D6: filename of a map


def test_mapped_arrays_name_their_real_file(tmp_path, saved, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ix = load_index(Path("ix"))
    for name in ("U", "V"):
        a = getattr(ix, name)
        assert isinstance(a, np.memmap)
        assert a.filename == str(saved.resolve() / f"{name}.npy")
        assert np.array_equal(np.load(a.filename), np.asarray(a))


# ---------------------------------------------------------------- D7: another user's lock file


def test_a_lock_file_that_is_not_writable_is_still_locked(saved, monkeypatch):
    lock = _lock_path(saved)
    lock.write_bytes(b"")
    real_open = os.open

    def as_other_user(path, flags, *args, **kwargs):  # (root can write anything)
        if Path(os.fsdecode(path)) == lock and flags & (os.O_RDWR | os.O_WRONLY):
            if not flags & os.O_EXCL:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", as_other_user)
    locked = []
    real_flock = fcntl.flock

    def record(fd, op):
        locked.append(os.fstat(fd).st_ino == lock.stat().st_ino and stat.S_ISREG(
            os.fstat(fd).st_mode))
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", record)
    ix = load_index(saved)
    ix.add([("n", "cat")])
    ix.save(saved)
    assert locked == [True]
    assert load_index(saved).ids[-1] == "n"
