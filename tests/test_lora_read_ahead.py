"""Reading the next module while this one is factored (``svdkit.lora.read_ahead``), the
threaded ``read_delta``, and their use by ``extract``: same results, errors in the same
order, bounded memory, no thread left behind."""

from __future__ import annotations

import functools
import gc
import importlib
import threading
import weakref

import ml_dtypes
import numpy as np
import pytest

import svdkit.lora.read_ahead as read_ahead_mod
from svdkit.errors import NonFiniteError
from svdkit.lora import Checkpoint, RankRule, extract, save_safetensors
from svdkit.lora.read_ahead import read_ahead

# (the package's ``extract`` is the function: the module by its name)
extract_mod = importlib.import_module("svdkit.lora.extract")


def _reader_threads_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("svdkit-read")]


class _Box:
    """A loaded item that weak references can follow."""

    def __init__(self, k: int) -> None:
        self.k = k


def test_items_come_in_order_with_their_loads():
    seen = [(k, v.k) for k, v in read_ahead(list(range(7)), _Box, nbytes=lambda k: 1)]
    assert seen == [(k, k) for k in range(7)]
    assert list(read_ahead([], _Box, nbytes=lambda k: 1)) == []


def test_the_next_item_is_loaded_in_another_thread_while_the_caller_works():
    """Item k + 1 is loaded while the caller still holds item k: the caller waits for
    the load to start, which it could not do without read-ahead."""
    started = {k: threading.Event() for k in range(4)}
    where = {}

    def load(k):
        where[k] = threading.current_thread().name
        started[k].set()
        return _Box(k)

    for k, box in read_ahead(list(range(4)), load, nbytes=lambda k: 1):
        assert box.k == k
        if k + 1 < 4:
            assert started[k + 1].wait(10), f"item {k + 1} was not read ahead"
    assert where[0] == threading.current_thread().name  # the first: nothing to overlap
    assert all(where[k].startswith("svdkit-read-ahead") for k in (1, 2, 3))
    assert not _reader_threads_alive()


def test_a_budget_of_zero_reads_nothing_ahead_even_of_no_size():
    me = threading.current_thread().name
    names = []

    def load(k):
        names.append(threading.current_thread().name)
        return k

    assert [k for k, _ in read_ahead([1, 2, 3], load, nbytes=lambda k: 0, budget=0)] == [1, 2, 3]
    assert names == [me] * 3


@pytest.mark.parametrize("budget", [0, 99])
def test_loads_over_the_budget_are_made_by_the_caller_when_reached(budget):
    """A budget of 0 turns read-ahead off; an item over the budget is loaded when it is
    reached, in the caller's thread, after the caller is done with the one before."""
    sizes = {0: 10, 1: 100, 2: 10, 3: 100}
    me = threading.current_thread().name
    log = []

    def load(k):
        log.append(("load", k, threading.current_thread().name))
        return _Box(k)

    for k, _box in read_ahead(list(range(4)), load, nbytes=sizes.__getitem__, budget=budget):
        log.append(("done", k, me))
    for k in range(4):
        mine = sizes[k] > budget or k == 0
        assert (("load", k, me) in log) == mine, (k, log)
        if mine and k:
            assert log.index(("done", k - 1, me)) < log.index(("load", k, me))


def test_the_default_budget_is_read_at_call_time(monkeypatch):
    monkeypatch.setattr(read_ahead_mod, "READ_AHEAD_BYTES", 0)
    me = threading.current_thread().name
    names = []

    def load(k):
        names.append(threading.current_thread().name)
        return k

    assert [k for k, _ in read_ahead([1, 2, 3], load, nbytes=lambda k: 1)] == [1, 2, 3]
    assert names == [me] * 3


def test_at_most_two_loads_are_alive():
    """The one the caller works on and the next: the generator keeps no reference to
    an item the caller has dropped."""
    refs = []

    def load(k):
        box = _Box(k)
        refs.append(weakref.ref(box))
        return box

    for k, box in read_ahead(list(range(8)), load, nbytes=lambda k: 1):
        del box
        gc.collect()
        alive = [r().k for r in refs if r() is not None]
        assert set(alive) <= {k, k + 1}, (k, alive)


def test_an_error_of_a_load_is_raised_when_its_item_is_reached():
    """As without read-ahead: the caller gets every item before the bad one first."""

    def load(k):
        if k == 2:
            raise ValueError("bad item 2")
        return _Box(k)

    got = []
    with pytest.raises(ValueError, match="bad item 2"):
        for k, _box in read_ahead(list(range(5)), load, nbytes=lambda k: 1):
            got.append(k)
    assert got == [0, 1]
    assert not _reader_threads_alive()


def test_a_caller_that_stops_early_leaves_no_thread_running():
    release = threading.Event()
    loading = threading.Event()

    def load(k):
        if k == 1:
            loading.set()
            release.wait(10)
        return _Box(k)

    it = read_ahead(list(range(3)), load, nbytes=lambda k: 1)
    k, _box = next(it)
    assert k == 0 and loading.wait(10)
    threading.Timer(0.05, release.set).start()
    it.close()  # a caller's error or break: waits for the load in flight
    assert not _reader_threads_alive()

    with pytest.raises(RuntimeError, match="caller's own"):
        for _k, _box in read_ahead(list(range(3)), _Box, nbytes=lambda k: 1):
            raise RuntimeError("caller's own")
    assert not _reader_threads_alive()


# read_delta


def _pair(tmp_path, shape=(300, 70), dtype=ml_dtypes.bfloat16, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal(shape).astype(np.float32)
    base = {"m.weight": W.astype(dtype)}
    tuned = {"m.weight": (W + 0.01 * rng.standard_normal(shape)).astype(dtype)}
    save_safetensors(tmp_path / "b.safetensors", base)
    save_safetensors(tmp_path / "t.safetensors", tuned)
    return Checkpoint(tmp_path / "b.safetensors"), Checkpoint(tmp_path / "t.safetensors")


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize("dtype", [ml_dtypes.bfloat16, np.float16, np.float32, np.float64])
def test_read_delta_is_the_difference_whatever_the_threads(tmp_path, monkeypatch, threads,
                                                           dtype):
    """Row blocks in threads give the exact difference of the widened weights."""
    monkeypatch.setattr(extract_mod, "reader_threads", lambda: threads)
    monkeypatch.setattr(extract_mod, "_READ_BLOCK_ENTRIES", 700)  # 10 rows a block
    b, t = _pair(tmp_path, dtype=dtype)
    work = np.float64 if dtype == np.float64 else np.float32
    d = extract_mod.read_delta(b, t, "m.weight", work)
    want = t.read("m.weight", work) - b.read("m.weight", work)
    assert d.dtype == work and d.shape == (300, 70)
    assert np.array_equal(d, want)


def test_read_delta_threads_are_half_the_cores_at_most_eight(monkeypatch):
    for cores, want in ((1, 1), (2, 1), (3, 1), (4, 2), (16, 8), (64, 8)):
        monkeypatch.setattr(extract_mod.os, "sched_getaffinity", lambda _, c=cores: set(range(c)),
                            raising=False)
        assert extract_mod.reader_threads() == want


@pytest.mark.parametrize("threads", [1, 4])
def test_read_delta_names_the_first_non_finite_entry(tmp_path, monkeypatch, threads):
    """Non-finite entries in two blocks (the later block's formed first or not): the
    error names the first in row order, and the checkpoint holding it."""
    monkeypatch.setattr(extract_mod, "reader_threads", lambda: threads)
    monkeypatch.setattr(extract_mod, "_READ_BLOCK_ENTRIES", 700)
    rng = np.random.default_rng(1)
    W = rng.standard_normal((300, 70)).astype(np.float32)
    T = W.copy()
    T[250, 3] = np.inf
    B = W.copy()
    B[42, 5] = np.nan
    save_safetensors(tmp_path / "b.safetensors", {"m.weight": B.astype(ml_dtypes.bfloat16)})
    save_safetensors(tmp_path / "t.safetensors", {"m.weight": T.astype(ml_dtypes.bfloat16)})
    b, t = Checkpoint(tmp_path / "b.safetensors"), Checkpoint(tmp_path / "t.safetensors")
    with pytest.raises(NonFiniteError, match=r"\[42, 5\].*the base checkpoint"):
        extract_mod.read_delta(b, t, "m.weight", np.float32)
    assert not _reader_threads_alive()


def _pools(monkeypatch) -> list:
    """Record the thread pools ``read_delta`` opens (their worker counts)."""
    import concurrent.futures

    opened = []
    real = concurrent.futures.ThreadPoolExecutor

    class Recorded(real):
        def __init__(self, workers=None, *args, **kwargs):
            opened.append(workers)
            super().__init__(workers, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", Recorded)
    return opened


def test_read_delta_forms_blocks_in_a_pool_of_reader_threads(tmp_path, monkeypatch):
    """Several blocks and reader threads: a pool of that many; one thread, no pool."""
    monkeypatch.setattr(extract_mod, "_READ_BLOCK_ENTRIES", 700)
    b, t = _pair(tmp_path)
    opened = _pools(monkeypatch)
    monkeypatch.setattr(extract_mod, "reader_threads", lambda: 4)
    extract_mod.read_delta(b, t, "m.weight", np.float32)
    assert opened == [4]
    monkeypatch.setattr(extract_mod, "reader_threads", lambda: 1)
    extract_mod.read_delta(b, t, "m.weight", np.float32)
    assert opened == [4]


def test_read_delta_refuses_64_bit_integers_it_would_round(tmp_path):
    """An I64 weight beyond 2⁵³ is not rounded into a float64 delta (the checkpoint's
    exact read refuses it by name), as before the threaded path."""
    from svdkit.errors import SvdkitError

    save_safetensors(tmp_path / "b.safetensors", {"m.weight": np.zeros((3, 2), np.int64)})
    save_safetensors(tmp_path / "t.safetensors",
                     {"m.weight": np.full((3, 2), 2**53 + 1, np.int64)})
    b, t = Checkpoint(tmp_path / "b.safetensors"), Checkpoint(tmp_path / "t.safetensors")
    with pytest.raises(SvdkitError, match="9007199254740993"):
        extract_mod.read_delta(b, t, "m.weight", np.float64)


def test_read_delta_refuses_a_difference_that_overflows(tmp_path, monkeypatch):
    """In a pool thread (whose NumPy error state is its own): an error naming the
    entry, no RuntimeWarning (the suite turns those into errors)."""
    monkeypatch.setattr(extract_mod, "reader_threads", lambda: 3)
    monkeypatch.setattr(extract_mod, "_READ_BLOCK_ENTRIES", 90)  # 3 rows a block
    opened = _pools(monkeypatch)
    big = np.float32(3e38)
    B = np.zeros((40, 30), np.float32)
    T = np.zeros((40, 30), np.float32)
    T[30, 2], B[30, 2] = big, -big
    save_safetensors(tmp_path / "b.safetensors", {"m.weight": B})
    save_safetensors(tmp_path / "t.safetensors", {"m.weight": T})
    b, t = Checkpoint(tmp_path / "b.safetensors"), Checkpoint(tmp_path / "t.safetensors")
    with pytest.raises(NonFiniteError, match=r"\[30, 2\].*overflows float32"):
        extract_mod.read_delta(b, t, "m.weight", np.float32)
    assert opened == [3]


# extract


def _model(tmp_path, n_modules=5, bad=()):
    rng = np.random.default_rng(3)
    base, tuned = {}, {}
    for i in range(n_modules):
        W = rng.standard_normal((96, 80)).astype(np.float32)
        D = (rng.standard_normal((96, 6)) @ rng.standard_normal((6, 80))).astype(np.float32)
        T = W + 0.1 * D
        if i in bad:
            T[7, i] = np.nan
        base[f"layers.{i}.proj.weight"] = W
        tuned[f"layers.{i}.proj.weight"] = T
    save_safetensors(tmp_path / "b.safetensors", base)
    save_safetensors(tmp_path / "t.safetensors", tuned)
    return tmp_path / "b.safetensors", tmp_path / "t.safetensors"


def _torch_on_cpu(monkeypatch):
    """backend="torch" pointed at torch's CPU device (as tests/test_lora_torch_devices.py)."""
    import torch  # noqa: F401  (the torch extra: installed by make test)

    from svdkit.lora import torch_backend as tb

    monkeypatch.setattr(tb, "cuda_available", lambda: True)
    monkeypatch.setattr(tb, "factor_delta_torch",
                        functools.partial(tb.factor_delta_torch, device="cpu", min_size=0))


def _logged(monkeypatch):
    """Log read_delta's calls; each read waits (up to 10 s) for the factoring before it."""
    log = []
    real = extract_mod.read_delta

    def reading(base, tuned, key, dtype):
        log.append(("read", key, threading.current_thread().name))
        return real(base, tuned, key, dtype)

    monkeypatch.setattr(extract_mod, "read_delta", reading)
    return log


def test_extract_reads_ahead_with_the_torch_backend(tmp_path, monkeypatch):
    """The next module is read while the device factors this one, in the reader thread;
    the adapter is the one read without read-ahead."""
    _torch_on_cpu(monkeypatch)
    base, tuned = _model(tmp_path)
    log = _logged(monkeypatch)
    from svdkit.lora import torch_backend as tb

    real = tb.factor_delta_torch
    calls = []

    def factoring(delta, *args, **kwargs):
        calls.append(len(log))
        # the next module's read starts while this one is factored (never the last's)
        if len(calls) < 5:
            for _ in range(1000):
                if len(log) > len(calls):
                    break
                threading.Event().wait(0.01)
            assert len(log) > len(calls), "the next module was not read ahead"
        return real(delta, *args, **kwargs)

    monkeypatch.setattr(tb, "factor_delta_torch", factoring)
    monkeypatch.setattr(extract_mod, "plan_batches", lambda items, rule: [[i] for i in
                                                                           range(len(items))])
    ahead = extract(base, tuned, RankRule(rank=6), backend="torch")
    assert len(log) == 5 and all(n.startswith("svdkit-read-ahead") for *_, n in log[1:])
    assert not _reader_threads_alive()
    monkeypatch.setattr(read_ahead_mod, "READ_AHEAD_BYTES", 0)
    monkeypatch.setattr(tb, "factor_delta_torch", real)
    plain = extract(base, tuned, RankRule(rank=6), backend="torch")
    for name, m in ahead.adapter.modules.items():
        assert np.array_equal(m.A, plain.adapter.modules[name].A)
        assert np.array_equal(m.B, plain.adapter.modules[name].B)


def test_extract_on_the_host_reads_no_module_ahead(tmp_path, monkeypatch):
    """The NumPy backend reads a module only once the one before is factored."""
    base, tuned = _model(tmp_path)
    log = _logged(monkeypatch)
    from svdkit.lora import torch_backend as tb

    real = tb.factor_delta
    factored = []

    def factoring(delta, *args, **kwargs):
        assert len(log) == len(factored) + 1, "a module was read ahead"
        factored.append(1)
        return real(delta, *args, **kwargs)

    monkeypatch.setattr(tb, "factor_delta", factoring)
    monkeypatch.setattr(extract_mod, "factor_delta", factoring)
    monkeypatch.setattr(extract_mod, "plan_batches", lambda items, rule: [[i] for i in
                                                                           range(len(items))])
    extract(base, tuned, RankRule(rank=6), backend="numpy")
    assert len(factored) == 5
    assert all(n == threading.current_thread().name for *_, n in log)


@pytest.mark.parametrize("bad", [(0, 3), (2, 3), (4,)])
def test_extract_names_the_first_bad_module_with_read_ahead(tmp_path, monkeypatch, bad):
    """A NaN in a module read ahead is reported when its turn comes: the first bad
    module in order is named, as without read-ahead, and no reader is left behind."""
    _torch_on_cpu(monkeypatch)
    base, tuned = _model(tmp_path, bad=bad)
    log = _logged(monkeypatch)
    monkeypatch.setattr(extract_mod, "plan_batches", lambda items, rule: [[i] for i in
                                                                           range(len(items))])
    with pytest.raises(NonFiniteError, match=rf"module 'layers\.{bad[0]}\.proj'"):
        extract(base, tuned, RankRule(rank=6), backend="torch")
    assert not _reader_threads_alive()
    read = {key: name for _, key, name in log}
    # the bad module was read ahead (in the reader), unless it is the first
    if bad[0]:
        assert read[f"layers.{bad[0]}.proj.weight"].startswith("svdkit-read-ahead")
