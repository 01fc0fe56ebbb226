"""Review round 4: a symbolic link as the lock file of an index, French figures copied and
pickled, the spectrum of all-zero σ with a tiny tol, rebuild saved over a changed index."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lsi import build_index, demo_data, load_index, persist, rebuild

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------ 1. a symbolic link where the lock goes
def _save_in_child(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a child process with a deadline: a save that spins is killed,
    never hangs the suite."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script), str(tmp_path)],
            capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("index.save did not return within 60 s (it spins on the lock file)")


@pytest.mark.parametrize("target", ["locks/pets.lock", "elsewhere.lock"])
def test_symlink_lock_file_is_refused_not_spun_on(tmp_path: Path, target: str) -> None:
    # dangling (its folder missing) or pointing at a file that exists: refused alike
    if target == "elsewhere.lock":
        (tmp_path / target).write_text("")
    os.symlink(tmp_path / target, tmp_path / ".pets.lock")
    done = _save_in_child(tmp_path, """
        import sys, pathlib
        from svdkit.errors import FileFormatError
        from svdkit.lsi import build_index, demo_data
        tmp = pathlib.Path(sys.argv[1])
        try:
            build_index(demo_data.pets_and_markets(), k=3).save(tmp / "pets")
        except FileFormatError as err:
            print("REFUSED", err)
        else:
            print("SAVED")
    """)
    assert done.returncode == 0, done.stderr
    out = done.stdout.strip()
    assert out.startswith("REFUSED"), out
    assert str(tmp_path / ".pets.lock") in out and "symbolic link" in out
    assert not (tmp_path / "pets").exists()  # nothing written through or beside it
    assert os.path.islink(tmp_path / ".pets.lock")  # the link is left as it was
    if target == "elsewhere.lock":
        assert (tmp_path / target).read_text() == ""


def test_lock_file_vanishing_again_and_again_is_given_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # any path where "exists" (the exclusive create) and "missing" (the open) alternate
    # without end: a bounded number of retries, then a clear error naming the lock file
    calls = []

    def vanished(lock: Path) -> None:
        calls.append(lock)
        if len(calls) > 100_000:  # (the deadline of this test: it never spins)
            raise RuntimeError("the lock was retried without end")
        return None

    monkeypatch.setattr(persist, "_open_lock_file", vanished)
    index = build_index(demo_data.pets_and_markets(), k=3)
    with pytest.raises(FileFormatError, match=r"\.pets\.lock"):
        index.save(tmp_path / "pets")
    assert len(calls) == persist._MAX_VANISHED
    assert not (tmp_path / "pets").exists()


def test_plain_lock_file_still_works(tmp_path: Path) -> None:
    index = build_index(demo_data.pets_and_markets(), k=3)
    index.save(tmp_path / "pets")
    index.save(tmp_path / "pets")  # (again: the lock file was given back and removed)
    assert load_index(tmp_path / "pets").ids == index.ids
    assert not (tmp_path / ".pets.lock").exists()


# ------------------------------------------------ 2, 3. French figures: copies, pickle
def _french_figure():
    from svdkit.plot import spectrum

    fig = spectrum([4.0, 2.5, 1.0, 0.5], lang="fr")
    fig.canvas.draw()
    return fig


def _labels(fig) -> list[str]:
    fig.canvas.draw()
    return [t.get_text() for t in fig.axes[0].get_yticklabels()]


def test_deepcopy_of_french_figure_has_its_own_formatters() -> None:
    fig = _french_figure()
    twin = copy.deepcopy(fig)
    f_orig = fig.axes[0].yaxis.get_major_formatter()
    f_copy = twin.axes[0].yaxis.get_major_formatter()
    assert f_orig is not f_copy and f_orig.inner is not f_copy.inner
    assert f_orig.get_useOffset() and f_copy.get_useOffset()
    twin.axes[0].ticklabel_format(axis="y", useOffset=False)
    f_copy.set_powerlimits((-1, 1))
    assert f_copy.get_useOffset() is False
    assert f_orig.get_useOffset() is True  # the original figure is untouched
    assert f_orig.inner._powerlimits != (-1, 1)
    # drawing the copy does not re-point the original's formatter at the copy's axis
    twin.canvas.draw()
    assert f_orig.inner.axis is fig.axes[0].yaxis
    assert f_copy.inner.axis is twin.axes[0].yaxis
    labels = _labels(fig)
    assert any("," in text for text in labels)  # still French: a decimal comma


def test_french_figure_pickles_and_comes_back_french() -> None:
    fig = _french_figure()
    before = _labels(fig)
    back = pickle.loads(pickle.dumps(fig))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(back)
    formatter = back.axes[0].yaxis.get_major_formatter()
    assert type(formatter).__name__ == "_Localised"
    assert formatter.inner is not fig.axes[0].yaxis.get_major_formatter().inner
    assert _labels(back) == before
    assert any("," in text for text in before) and not any("." in text for text in before)
    # its setters still reach the inner formatter, after the round trip
    back.axes[0].ticklabel_format(axis="y", useOffset=False)
    assert formatter.get_useOffset() is False


def test_localised_formatter_attribute_guard() -> None:
    from matplotlib.ticker import ScalarFormatter

    from svdkit.plot._common import _localising

    cls = type(_localising(ScalarFormatter(), "fr"))
    bare = cls.__new__(cls)
    # (an instance being built by copy or pickle: no inner yet, no endless lookup)
    with pytest.raises(AttributeError):
        bare.inner  # noqa: B018
    with pytest.raises(AttributeError):
        bare.get_useOffset()
    with pytest.raises(AttributeError):
        bare.__reduce_cython__  # noqa: B018


# ------------------------------------------------ 4. all σ zero, a tiny tol
@pytest.mark.parametrize("tol", [1e-300, 1e-290, 5e-324])
def test_zero_spectrum_tiny_tol_keeps_a_nonnegative_axis(tol: float) -> None:
    from svdkit.plot import spectrum

    fig = spectrum(np.zeros((2, 2)), tol=tol)
    fig.canvas.draw()
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "linear"
    assert low == 0.0 and high == pytest.approx(1.08)
    shown = [t.get_text() for t in ax.get_yticklabels()
             if low <= t.get_position()[1] <= high]
    assert shown and not any("−" in s or "-" in s for s in shown)
    line = [ln for ln in ax.get_lines() if ln.get_gid() == "svdkit:threshold"]
    assert len(line) == 1 and line[0].get_ydata()[0] == tol  # drawn (on the axis bottom)


def test_zero_spectrum_tol_still_widens_upward() -> None:
    from svdkit.plot import spectrum

    for tol, top in ((1e-20, 1.08e-20), (3.0, 3.24)):
        fig = spectrum(np.zeros((2, 2)), tol=tol)
        low, high = fig.axes[0].get_ylim()
        assert low == 0.0 and high == pytest.approx(top, rel=1e-12)
    fig = spectrum([4.0, 2.0, 3.5], tol=1e-300)  # bars above: the axis is theirs
    low, high = fig.axes[0].get_ylim()
    assert low == 0.0 and high == pytest.approx(1.08 * 4.0)


# ------------------------------------------------ 5. rebuild saved over a changed index
def test_rebuild_then_save_refuses_to_drop_another_writers_addition(tmp_path: Path) -> None:
    p = tmp_path / "ix"
    build_index(demo_data.pets_and_markets(), k=3).save(p)
    mine = load_index(p)
    other = load_index(p)
    other.add([("theirs", "a cat at the vet")])
    other.save(p)
    fresh = rebuild(mine)
    with pytest.raises(SvdkitError, match="changed by another"):
        fresh.save(p)
    assert "theirs" in load_index(p).ids  # nothing lost
    fresh.save(tmp_path / "elsewhere")  # saving elsewhere is fine
    assert load_index(tmp_path / "elsewhere").ids == mine.ids


def test_rebuild_then_save_over_unchanged_index_works(tmp_path: Path) -> None:
    p = tmp_path / "ix"
    build_index(demo_data.pets_and_markets(), k=3).save(p)
    mine = load_index(p)
    mine.add([("mine", "a dog at the park")], method="fold_in")
    fresh = rebuild(mine)
    fresh.save(p)
    back = load_index(p)
    assert back.ids == mine.ids and back.drift().folded == 0
    fresh.add([("again", "cat food")], method="fold_in")
    fresh.save(p)  # its own last save is what it checks against now
    assert "again" in load_index(p).ids
    mine.add([("late", "market stocks")], method="fold_in")
    with pytest.raises(SvdkitError, match="changed by another"):
        mine.save(p)  # the source's stale view is still refused
