"""Review h8: scale-free SVD, inputs and figures (f5d1c77 / f1e3b97 / c6bbda9).

1. ``lstsq`` of a huge A and a tiny b reported residual 0 (``b · 2^−e`` underflowed).
2. ``as_matrix`` / ``as_vector`` named matrix text "None" in their errors.
3. JSON files: the first bad entry in reading order, as JSON spells it (never an
   internal object, never Python's ``None``).
4. A complex entry whose modulus overflows (both parts finite): NaN σ, rank 0, pinv 0.
5. ``SVD.residuals()`` / ``reconstruct()`` ignored ``scaled_s``.
6. ``svdkit.lowrank.truncated_svd`` did not strip a file name's whitespace.
7. ``svdkit.plot`` exports the warnings and ``SavedFigures`` the README names.
8. A Python int ``tol`` past the largest float escaped as a raw ``OverflowError``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import svdkit
import svdkit.lowrank
import svdkit.plot
from svdkit.errors import NonFiniteError, ParseError, ShapeError, SvdkitError
from svdkit.inputs import as_matrix, as_vector, load

# --------------------------------------------------------------------------- 1. lstsq


def test_lstsq_residual_of_huge_matrix_and_tiny_rhs_is_not_zero() -> None:
    A = np.ldexp(np.array([[1.0, 0], [0, 1], [1, 1]]), 1000)
    b = np.array([1.0, 2, 0]) * 1e-300
    r = svdkit.lstsq(A, b)
    # the least-squares residual: b minus its projection on the columns of A
    Q, _ = np.linalg.qr(np.ldexp(A, -1000))
    bs = b * 1e300
    want = np.linalg.norm(bs - Q @ (Q.T @ bs)) * 1e-300
    assert r.residuals > 0
    assert math.isclose(r.residuals, want, rel_tol=1e-12)
    assert math.isclose(r.residuals, math.sqrt(3) * 1e-300, rel_tol=1e-12)


@pytest.mark.parametrize("ea", [1000, -1000, 500])
@pytest.mark.parametrize("eb", [-1060, -1000, -300, 0, 1000])
def test_lstsq_residuals_at_every_scale(ea: int, eb: int) -> None:
    rng = np.random.default_rng(3)
    A0, B0 = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    Q, _ = np.linalg.qr(A0)
    want = np.linalg.norm(B0 - Q @ (Q.T @ B0), axis=0)
    got = svdkit.lstsq(np.ldexp(A0, ea), np.ldexp(B0, eb)).residuals
    scaled = np.ldexp(got, -eb)
    # subnormal results keep fewer digits: one unit in the last place of 2^eb · want
    ulp = np.ldexp(np.spacing(1.0), -1022 - eb) if eb < -1000 else 0.0
    np.testing.assert_allclose(scaled, want, rtol=1e-12, atol=ulp)


# --------------------------------------------------------------------------- 2. names


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: svdkit.cosine("1 2; 3 4", [1, 1]), ["u must be a vector"]),
        (lambda: svdkit.cosine([1, 1], "1 2; 3 4"), ["v must be a vector"]),
        (lambda: svdkit.distance([1, 1], "1 2; 3 4"), ["y must be a vector"]),
        (lambda: as_vector("1 2; 3 4", name="b"), ["b must be a vector"]),
        (lambda: as_matrix("1+2i 3", dtype=np.float64, name="B"), ["B has complex", "B.real"]),
        (lambda: as_matrix("1e39 1", dtype=np.float32, name="B"), ["B: the entry at row 1"]),
        (lambda: svdkit.lstsq([[1, 0], [0, 1]], "1+2i; 1e400"), ["b"]),
    ],
)
def test_matrix_text_keeps_the_argument_name(call, words: list[str]) -> None:
    with pytest.raises(SvdkitError) as info:
        call()
    message = str(info.value)
    assert "None" not in message, message
    for word in words:
        assert word in message, (word, message)


def test_matrix_file_name_still_read(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.array([[1.0, 2.0]]))
    assert as_vector(f" {tmp_path / 'v.npy'}\n", name="u").tolist() == [1.0, 2.0]
    assert as_matrix(f"{tmp_path / 'v.npy'}\n", name="B").shape == (1, 2)


# --------------------------------------------------------------------------- 3. JSON


@pytest.mark.parametrize(
    ("content", "error", "words"),
    [
        ("[[1, NaN], [null, 3]]", NonFiniteError, ["row 1, column 2", "NaN"]),
        ("[[1, NaN], [true, 3]]", NonFiniteError, ["row 1, column 2", "NaN"]),
        ("[[1, Infinity], [2, 1e400]]", NonFiniteError, ["row 1, column 2", "Infinity"]),
        ("[[1, 2], [-Infinity, 1e400]]", NonFiniteError, ["row 2, column 1", "-Infinity"]),
        ("[[1, NaN], [2, " + "1" * 5000 + "]]", NonFiniteError, ["row 1, column 2", "NaN"]),
        ('[[1, {"a": 1e400}], [2, 3]]', ParseError, ["row 1, column 2", "JSON object"]),
        ('[[1, {"a": 1}], [2, 3]]', ParseError, ["row 1, column 2", "JSON object"]),
        ("[[1, 2], [null, NaN]]", ParseError, ["row 2, column 1", "null"]),
        ("[[1, 2], [false, 3]]", ParseError, ["row 2, column 1", "false"]),
        ("[[1, 1e400], [NaN, 3]]", NonFiniteError, ["row 1, column 2", "'1e400' is too large"]),
        ('[[1, "x"], [NaN, 1e400]]', ParseError, ["row 1, column 2", '"x"']),
        ("[[1, [2]], [null, 1e400]]", ShapeError, ["row 1, column 2", "list"]),
    ],
)
def test_json_first_bad_entry_as_json_spells_it(
    tmp_path: Path, content: str, error: type[Exception], words: list[str]
) -> None:
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(error) as info:
        load(path)
    message = str(info.value)
    assert "m.json" in message
    for leak in ("_Refused", "object at 0x", "None", "nan", "inf;"):
        assert leak not in message, message
    for word in words:
        assert word in message, (word, message)
    if error is not ParseError or "'x'" not in words:  # (as_matrix's errors carry no row)
        row, column = (int(w) for w in words[0].replace("row ", "").split(", column "))
        assert (getattr(info.value, "row", row), getattr(info.value, "column", column)) == (
            row,
            column,
        )


# --------------------------------------------------------------------------- 4. complex


def test_complex_entry_whose_modulus_overflows_is_scaled() -> None:
    z = 1.5e308 + 1.5e308j
    A = np.array([[z, 0], [0, 1e300]])
    d = svdkit.svd(A)
    assert not np.isnan(d.s).any()
    assert np.isposinf(d.s[0]) and d.s[1] == 1e300
    assert np.isfinite(d.scaled_s).all()
    assert d.rank() == svdkit.rank(A) == 2
    # σ₁/σ₂ = |z| / 1e300, scale-free
    assert math.isclose(svdkit.cond(A), math.hypot(1.5, 1.5) * 1e8, rel_tol=1e-12)
    P = svdkit.pinv(A)
    want = np.array([[1 / (1.5 + 1.5j) * 1e-308, 0], [0, 1e-300]])
    np.testing.assert_allclose(P, want, rtol=1e-13, atol=0)
    x = svdkit.lstsq(A, [1, 1]).x
    np.testing.assert_allclose(x, want @ [1, 1], rtol=1e-13, atol=0)
    inv = svdkit.inv(A)
    np.testing.assert_allclose(inv, want, rtol=1e-13, atol=0)
    # the relative reconstruction on the scaled matrix: an exact SVD
    assert d.residuals().reconstruction < 1e-15


def test_complex_overflowing_modulus_numerically_rank_one() -> None:
    A = np.array([[1.5e308 + 1.5e308j, 0], [0, 1]])  # σ₂/σ₁ ≈ 5e-309: below the rule
    assert svdkit.svd(A).rank() == svdkit.rank(A) == 1
    assert svdkit.cond(A) == math.inf
    P = svdkit.pinv(A)
    assert P[1, 1] == 0
    assert np.isclose(P[0, 0], 1 / (1.5 + 1.5j) * 1e-308, rtol=1e-13, atol=0)


# --------------------------------------------------------------------------- 5. residuals


@pytest.mark.parametrize("e", [-1070, -1050, 1023])
def test_svd_residuals_on_the_scaled_values(e: int) -> None:
    A0 = np.random.default_rng(5).standard_normal((6, 4))
    A = np.ldexp(A0, e)
    d = svdkit.svd(A)
    assert d.exponent != 0
    R = d.residuals()
    assert R.reconstruction < 1e-14
    assert np.isfinite(R.right).all() and np.isfinite(R.left).all()
    # the triplet residuals in A's units: at most 1e-14 · σ₁ (σ₁ = 2^e' · scaled σ₁)
    assert R.max_triplet <= np.ldexp(1e-14 * d.scaled_s[0], d.exponent)
    B = d.reconstruct()
    assert np.isfinite(B).all()
    # entry by entry as exact as float64 can hold A's entries (subnormal ones: 2^−1074)
    err = np.abs(np.ldexp(B, -d.exponent) - np.ldexp(A, -d.exponent)).max()
    assert err <= 1e-14 + np.ldexp(4.0, -1074 - d.exponent)
    np.testing.assert_array_equal(d.approx(4), B)


def test_reconstruct_where_an_entry_overflows_is_inf_not_nan() -> None:
    A = np.array([[1.5e308, 1.5e308], [1.5e308, -1.5e308]])  # σ = √2·1.5e308: both overflow
    d = svdkit.svd(A)
    assert np.isposinf(d.s).all()
    B = d.reconstruct()
    assert not np.isnan(B).any()
    np.testing.assert_allclose(B, A, rtol=1e-14)
    assert d.residuals().reconstruction < 1e-15


# --------------------------------------------------------------------------- 6. lowrank


def test_truncated_svd_strips_the_file_name(tmp_path: Path) -> None:
    A = np.random.default_rng(7).standard_normal((60, 20))
    np.save(tmp_path / "big.npy", A)
    want = np.linalg.svd(A, compute_uv=False)[:3]
    for name in (f" {tmp_path / 'big.npy'}\n", f"{tmp_path / 'big.npy'}  "):
        got = svdkit.lowrank.truncated_svd(name, 3)
        np.testing.assert_allclose(got.s, want, rtol=1e-10)
        np.testing.assert_allclose(svdkit.svd(name, k=3).s, want, rtol=1e-10)


# --------------------------------------------------------------------------- 7. plot


def test_plot_exports_the_names_the_readme_gives() -> None:
    from svdkit.plot import save

    for name in ("FigureRemovedWarning", "SavedFigures", "StaleFigureWarning"):
        assert getattr(svdkit.plot, name) is getattr(save, name)
        assert name in svdkit.plot.__all__


# --------------------------------------------------------------------------- 8. tol


@pytest.mark.parametrize(
    "call",
    [
        lambda t: svdkit.rank([[1, 0], [0, 1]], tol=t),
        lambda t: svdkit.svd([[1, 0], [0, 1]]).rank(t),
        lambda t: svdkit.pinv([[1, 0], [0, 1]], tol=t),
        lambda t: svdkit.lstsq([[1, 0], [0, 1]], [1, 1], tol=t),
    ],
)
def test_huge_int_tol_is_refused_as_inf_is(call) -> None:
    with pytest.raises(SvdkitError, match="tol must be a finite number >= 0"):
        call(float("inf"))
    with pytest.raises(SvdkitError, match="tol must be a finite number >= 0") as info:
        call(10**400)
    assert not isinstance(info.value, OverflowError)
