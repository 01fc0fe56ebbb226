"""explain on larger matrices: each decomposition once per report, and an early size limit.

A user's walkthrough: ``svdkit explain big.npy --no-steps`` on a 3000×3000 file
did not finish in 5 minutes. The report ran the general eigensolver four times
(``is_diagonalizable`` in the structure section, the eigen section, again there
and in a note), every structure test two to five times, det A and A⁺ twice. These
tests count the engine's calls during one report (they assert the mechanism, not
timings), and check that matrices above ``svdkit.explain.MAX_DIMENSION`` rows or
columns are refused before any decomposition, with a message that points to
``svdkit svd FILE -k K``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import scipy.linalg
from typer.testing import CliRunner

import svdkit
import svdkit.linalg
from svdkit.cli.main import app
from svdkit.errors import ShapeError
from svdkit.explain import MAX_DIMENSION, explain, render
from svdkit.linalg.svd import SVD

runner = CliRunner()

# a non-normal, diagonalisable matrix (is_diagonalizable needs its eigenvectors)
NON_NORMAL = np.array(
    [[4.0, 1.0, 0.0, 2.0], [0.5, 3.0, 1.0, 0.0], [0.0, 2.0, -1.0, 1.0], [1.0, 0.0, 0.0, 2.0]]
)


def _count(monkeypatch, counts: Counter, owner, name: str, label: str | None = None) -> None:
    """Replace ``owner.name`` by a wrapper that counts its calls under ``label``."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        counts[label or name] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def _count_engine(monkeypatch) -> Counter:
    """Count the LAPACK drivers and the engine functions that a report may repeat."""
    counts: Counter = Counter()
    _count(monkeypatch, counts, scipy.linalg, "eig")  # geev (svdkit.eig, is_diagonalizable)
    _count(monkeypatch, counts, scipy.linalg, "eigh")
    _count(monkeypatch, counts, np.linalg, "svd", "np.linalg.svd")
    _count(monkeypatch, counts, np.linalg, "slogdet")
    for name in ("is_symmetric", "is_hermitian", "is_normal", "is_orthonormal", "is_diagonal",
                 "is_diagonalizable", "det", "inv", "definiteness"):
        _count(monkeypatch, counts, svdkit.linalg, name)
    _count(monkeypatch, counts, SVD, "pinv", "SVD.pinv")
    return counts


# ----------------------------------------------------------------------------- once per report


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_report_runs_the_general_eigensolver_once(monkeypatch, lang):
    counts = _count_engine(monkeypatch)
    report = explain(NON_NORMAL, lang=lang, steps=False)
    assert report.section("structure").fact("diagonalizable") is True
    assert report.section("eigen").fact("diagonalizable") is True
    assert counts["eig"] == 1, counts  # was 4: eig, and is_diagonalizable three times


def test_a_report_runs_each_structure_test_and_measure_once(monkeypatch):
    counts = _count_engine(monkeypatch)
    explain(NON_NORMAL, steps=False)
    for name in ("is_symmetric", "is_hermitian", "is_normal", "is_orthonormal", "is_diagonal",
                 "is_diagonalizable", "det", "inv"):
        assert counts[name] == 1, (name, counts)
    assert counts["SVD.pinv"] == 1, counts  # the inverse section and the pinv_order note
    assert counts["slogdet"] <= 1, counts


def test_a_symmetric_report_decomposes_once_each(monkeypatch):
    b = np.random.default_rng(3).standard_normal((9, 9))
    counts = _count_engine(monkeypatch)
    report = explain(b + b.T, steps=False)
    assert report.section("definiteness").applies
    assert counts["is_hermitian"] == 1, counts  # structure, eigen, definiteness, a note
    assert counts["definiteness"] == 1, counts
    assert counts["eig"] == 1, counts
    # the report's own eigh, and definiteness's eigvalsh and eigh (one each)
    assert counts["eigh"] <= 3, counts
    full_svds = counts["np.linalg.svd"]
    assert full_svds <= 2, counts  # the full SVD, and ‖A‖₂ for the eigen residual


def test_a_rectangular_report_has_no_eigendecomposition(monkeypatch):
    q, _ = np.linalg.qr(np.arange(12.0).reshape(4, 3) + np.eye(4, 3))
    counts = _count_engine(monkeypatch)
    report = explain(q, steps=False)  # orthonormal columns: a note on its inverses
    assert [n.id for n in report.notes if n.id == "orthonormal_inverse"]
    assert counts["eig"] == 0 and counts["eigh"] == 0, counts
    assert counts["np.linalg.svd"] == 1, counts
    assert counts["SVD.pinv"] == 1, counts
    assert counts["is_orthonormal"] == 1, counts  # the structure section and the note


def test_two_reports_share_nothing(monkeypatch):
    counts = _count_engine(monkeypatch)
    first = explain([[2, 1], [0, 3]], steps=False)
    second = explain([[1, 1], [0, 1]], steps=False)  # a Jordan block
    assert counts["eig"] == 2, counts  # one per report: no cache outlives its report
    assert first.section("structure").fact("diagonalizable") is True
    assert second.section("structure").fact("diagonalizable") is False


def test_a_mid_size_integer_matrix_never_reaches_the_exact_engine(monkeypatch):
    import svdkit.exact

    def refuse(*args, **kwargs):
        raise AssertionError("the exact engine ran on a 12×12 matrix")

    monkeypatch.setattr(svdkit.exact, "as_exact", refuse)
    counts = _count_engine(monkeypatch)
    i, j = np.indices((12, 12))
    a = (3 * i + 5 * j + i * j) % 7 - 3  # not normal
    report = explain(a.tolist(), steps=True)  # exact input, steps asked for
    assert not any(sec.steps for sec in report.sections)
    assert counts["eig"] == 1, counts


# ----------------------------------------------------------------------------- is_diagonalizable


CASES = [
    [[1, 1], [0, 1]],  # Jordan block
    [[3, 1], [-1, 1]],  # the same, hidden by a similarity
    [[1, 1], [0, 2]],
    [[0, -1], [1, 0]],  # eigenvalues ±i
    [[1, 0, 1], [0, 1, 0], [0, 0, 2]],  # a double eigenvalue with a full eigenspace
    [[2, 1, 0], [0, 2, 1], [0, 0, 2]],  # Jordan block of order 3
    [[1, 2j], [0, 1]],
    NON_NORMAL.tolist(),
]


@pytest.mark.parametrize("a", CASES)
def test_is_diagonalizable_reuses_a_given_eigendecomposition(monkeypatch, a):
    expected = svdkit.is_diagonalizable(a)
    e = svdkit.eig(a)

    def refuse(*args, **kwargs):
        raise AssertionError("the eigensolver ran again")

    monkeypatch.setattr(scipy.linalg, "eig", refuse)
    assert svdkit.is_diagonalizable(a, eig=e) is expected
    assert svdkit.is_diagonalizable(a, eig=(e.values, e.vectors)) is expected


def test_repeated_eigenvalues_with_full_eigenspaces_need_no_svd_each(monkeypatch):
    # eigenvalues {1, …, 20} ∪ {2, 4, …, 40}: ten double ones, each with two eigenvectors
    a = np.kron(np.diag(np.arange(1.0, 21.0)), [[1.0, 1.0], [0.0, 2.0]])
    jordan = np.kron(np.diag(np.arange(1.0, 21.0)), [[1.0, 1.0], [0.0, 1.0]])
    counts: Counter = Counter()
    _count(monkeypatch, counts, scipy.linalg, "svdvals")
    assert svdkit.is_diagonalizable(a) is True
    assert counts["svdvals"] == 1, counts  # the eigenvectors' only (was one per cluster: 11)
    counts.clear()
    assert svdkit.is_diagonalizable(jordan) is False
    assert counts["svdvals"] <= 2, counts


def test_is_diagonalizable_checks_the_given_eigendecomposition():
    e = svdkit.eig([[2, 1], [0, 3]])
    with pytest.raises(ShapeError, match="eig must hold 3 eigenvalues"):
        svdkit.is_diagonalizable(NON_NORMAL[:3, :3], eig=e)


def test_the_report_hands_its_eigendecomposition_to_is_diagonalizable(monkeypatch):
    given = []
    original = svdkit.linalg.is_diagonalizable

    def spy(A, tol=None, **kwargs):
        given.append(kwargs.get("eig"))
        return original(A, tol, **kwargs)

    monkeypatch.setattr(svdkit.linalg, "is_diagonalizable", spy)
    report = explain(NON_NORMAL, steps=False)
    assert len(given) == 1 and given[0] is not None
    np.testing.assert_array_equal(given[0].values, report.section("eigen").fact("eigenvalues"))


# ----------------------------------------------------------------------------- size limit


def _no_decomposition(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a decomposition ran before the size check")

    for owner, name in ((np.linalg, "svd"), (scipy.linalg, "svd"), (scipy.linalg, "eig"),
                        (scipy.linalg, "eigh"), (np.linalg, "slogdet")):
        monkeypatch.setattr(owner, name, refuse)


@pytest.mark.parametrize("shape", [(MAX_DIMENSION + 1, MAX_DIMENSION + 1),
                                   (MAX_DIMENSION + 1, 2), (3, 3000)])
def test_too_large_a_matrix_is_refused_before_any_decomposition(monkeypatch, shape):
    _no_decomposition(monkeypatch)
    with pytest.raises(ShapeError) as err:
        explain(np.zeros(shape), steps=False)
    message = str(err.value)
    assert f"at most {MAX_DIMENSION} rows and {MAX_DIMENSION} columns" in message
    assert f"{shape[0]}×{shape[1]}" in message
    assert "svdkit svd FILE -k K" in message


def test_the_limit_is_documented_and_reasonable():
    assert 500 <= MAX_DIMENSION <= 2000
    assert str(MAX_DIMENSION) in explain.__doc__ or "MAX_DIMENSION" in explain.__doc__


def test_the_limit_is_on_rows_and_on_columns():
    report = explain(np.ones((MAX_DIMENSION, 1)), steps=False)  # at the limit: explained
    assert report.section("measures").fact("rank") == 1
    assert "U" in render(report, "terminal")
    for shape in ((MAX_DIMENSION + 1, 1), (1, MAX_DIMENSION + 1)):
        with pytest.raises(ShapeError, match="svdkit svd FILE -k K"):
            explain(np.ones(shape), steps=False)


def test_the_command_refuses_a_large_npy_file_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(3000, 3000))
    del big  # (a sparse file: 72 MB that are never written)

    def refuse(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(svdkit, "load", refuse)
    _no_decomposition(monkeypatch)
    result = runner.invoke(app, ["explain", str(path), "--no-steps"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ShapeError), result.exception
    message = str(result.exception)
    assert "3000×3000" in message
    assert f"svdkit svd {path} -k K" in message


def test_the_command_refuses_a_large_text_file(tmp_path):
    path = tmp_path / "tall.csv"
    np.savetxt(path, np.ones((MAX_DIMENSION + 1, 2)), delimiter=",")
    result = runner.invoke(app, ["explain", str(path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, ShapeError), result.exception
    assert "svdkit svd FILE -k K" in str(result.exception)
