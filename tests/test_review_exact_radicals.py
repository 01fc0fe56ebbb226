"""Review: exact SVDs and spectra of small matrices of radicals come in seconds, and right.

``svdkit explain "[[sqrt(2), sqrt(3)], [sqrt(5), sqrt(7)]]"`` ran for minutes: the
eigenvectors of AᵀA live in ``K(λ)``, ``K = QQ<√2 + √3 + √5 + √7>`` (degree 16) and
``λ = 17/2 ± √(173 + 8√210)/2``, a field of degree 32 that was built from scratch, so
that every entry of A was looked for again in it by PSLQ (5 s an entry; and as long
again to find that λ is *not* in K). The field is now built as a tower over K, its
entries carried up by Horner's rule; membership is decided by factoring; and a field
beyond :data:`~svdkit.exact._field.MAX_TOWER_DEGREE` is refused before it is built
(that section of the report then stays numeric, the cheap exact results stay).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from cli_support import run_svdkit

import svdkit.exact as ex
from svdkit.exact._field import MAX_TOWER_DEGREE, Field
from svdkit.explain import explain

FOUR_ROOTS = "[[sqrt(2), sqrt(3)], [sqrt(5), sqrt(7)]]"

#: the fields of the eigenvectors have degree ≤ 32
WITHIN = [
    FOUR_ROOTS,
    "[[sqrt(2), 1], [1, sqrt(3)]]",
    "[[sqrt(2), sqrt(3), sqrt(5)], [1, 2, 3], [4, 5, 6]]",
    "[[sqrt(2) + sqrt(3), 1], [1, sqrt(6)]]",
    "[[2**(1/3), 1], [1, 1]]",
    "[[sqrt(2), i], [1, sqrt(3)]]",
    "[[1 + i, sqrt(2)], [sqrt(3)*i, sqrt(5)]]",
    "[[sqrt(2) + i, sqrt(3)], [sqrt(5), 1 - i]]",
    "[[sqrt(2), sqrt(3)*i], [-sqrt(3)*i, sqrt(5)]]",
]
#: AᵀA's cubic has no real radical roots: σ to 50 digits (≈), U and V numeric
NO_CLOSED_FORM = {"[[sqrt(2), sqrt(3), sqrt(5)], [1, 2, 3], [4, 5, 6]]"}
#: four roots and i, or five roots: an eigenvalue's field would have degree 64
BEYOND = [
    "[[sqrt(2) + i, sqrt(3)], [sqrt(5), sqrt(7) - i]]",
    "[[sqrt(2), sqrt(3)], [sqrt(5), sqrt(7)], [sqrt(11), 1]]",
]


def _numeric(M: sp.MatrixBase) -> np.ndarray:
    return np.array(sp.Matrix(M).evalf(30).tolist(), dtype=complex)


def _close(X, Y, tol: float = 1e-10) -> bool:
    X, Y = np.asarray(X, dtype=complex), np.asarray(Y, dtype=complex)
    return X.shape == Y.shape and bool(np.max(np.abs(X - Y), initial=0.0) <= tol)


@pytest.mark.parametrize("text", WITHIN)
def test_exact_svd_of_radicals_agrees_with_numpy(text):
    r = ex.svd(text, full=True)
    A = _numeric(ex.as_exact(text))
    assert r.exact == (text not in NO_CLOSED_FORM)
    s = np.array([complex(sp.N(x, 30)) for x in r.s])
    assert _close(s.imag, 0 * s.imag)
    assert _close(s.real, np.linalg.svd(A, compute_uv=False))
    U, Sigma, Vh = _numeric(r.U), _numeric(r.Sigma), _numeric(r.Vh)
    assert _close(U.conj().T @ U, np.eye(U.shape[1]))
    assert _close(Vh @ Vh.conj().T, np.eye(Vh.shape[0]))
    assert _close(U @ Sigma @ Vh, A)


def test_exact_svd_of_four_roots_has_closed_forms():
    """σ² = 17/2 ± √(173 + 8√210)/2 (the roots of λ² − 17λ + 29 − 2√210), and the exact
    check UΣVᵀ = A is part of the derivation."""
    r = ex.svd(FOUR_ROOTS, full=True, steps=True)
    disc = sp.sqrt(173 + 8 * sp.sqrt(210))
    expected = [sp.Rational(17, 2) + disc / 2, sp.Rational(17, 2) - disc / 2]
    for sigma, lam in zip(r.s, expected, strict=True):
        assert sp.minimal_polynomial(sigma**2 - lam, sp.Symbol("t")) == sp.Symbol("t")
    assert "svd.check" in [step.key for step in r.steps]


@pytest.mark.parametrize(
    "text",
    ["[[sqrt(2), sqrt(3)*i], [-sqrt(3)*i, sqrt(5)]]", "[[sqrt(2), sqrt(3)], [sqrt(3), sqrt(7)]]"],
)
def test_exact_eigh_of_radicals_agrees_with_numpy(text):
    r = ex.eigh(text)
    A = _numeric(ex.as_exact(text))
    values = np.array([complex(sp.N(x, 30)) for x in r.values])
    assert r.exact and _close(values, np.linalg.eigvalsh(A))
    Q = _numeric(r.vectors)
    assert _close(Q.conj().T @ Q, np.eye(2))
    assert _close(Q @ np.diag(values) @ Q.conj().T, A)


@pytest.mark.parametrize("text", WITHIN)
def test_explain_gives_the_exact_report(text):
    report = explain(text)
    A = _numeric(ex.as_exact(text))
    measures = report.section("measures")
    assert measures.fact("rank_exact") == str(np.linalg.matrix_rank(A))
    svd = report.section("svd")
    assert svd.fact("singular_values_exact") and svd.fact("U_exact") and svd.fact("Vh_exact")
    check = "svd.check_numeric" if text in NO_CLOSED_FORM else "svd.check"
    assert check in [step.key for step in svd.steps]
    for sec in report.sections:
        assert "exact_error" not in [f.key for f in sec.facts]
    if A.shape[0] == A.shape[1]:
        det = ex.det(text).value
        assert abs(complex(sp.N(det, 30)) - np.linalg.det(A)) < 1e-10
        assert measures.fact("determinant_exact")
        inverse = ex.inv(text).matrix
        assert _close(_numeric(inverse) @ A, np.eye(A.shape[0]))
        assert report.section("inverse").fact("inverse_exact")


@pytest.mark.parametrize("text", BEYOND)
def test_a_field_beyond_the_limit_is_refused_before_it_is_built(text):
    with pytest.raises(ex.NotAlgebraicError) as err:
        ex.svd(text)
    message = str(err.value)
    assert "degree at least 64" in message and f"stops at degree {MAX_TOWER_DEGREE}" in message
    assert "numeric engine" in message


@pytest.mark.parametrize("text", BEYOND)
def test_explain_keeps_a_refused_svd_numeric_and_the_rest_exact(text):
    report = explain(text)
    A = _numeric(ex.as_exact(text))
    svd = report.section("svd")
    keys = [f.key for f in svd.facts]
    assert "singular_values_exact" not in keys and "exact_error" not in keys
    s = np.array(svd.fact("singular_values"), dtype=float)
    assert _close(s, np.linalg.svd(A, compute_uv=False), 1e-9)
    measures = report.section("measures")
    assert measures.fact("rank_exact") == str(np.linalg.matrix_rank(A))
    subspaces = report.section("subspaces")
    assert subspaces.fact("column_exact")


def test_tower_carries_the_entries_up_exactly():
    """K(λ) over K = QQ<√2 + √3 + √5 + √7>: the images of K's elements are the same numbers,
    the conjugate root lies in the same field (which is reused), √(173 + 8√210) is known."""
    entries = [sp.sqrt(2), sp.sqrt(3), sp.sqrt(5), sp.sqrt(7)]
    F = Field.of(entries)
    disc = sp.sqrt(173 + 8 * sp.sqrt(210))
    lam, other = sp.Rational(17, 2) - disc / 2, sp.Rational(17, 2) + disc / 2
    assert F.degree == 16 and not F.contains(lam)
    L = F.extend(lam)
    assert L.degree == 32
    for e in [*entries, sp.sqrt(6) + sp.sqrt(35), sp.Rational(-3, 7)]:
        a = L.from_field(F, F.convert(e))
        assert abs(complex(L.numeric(a)) - complex(sp.N(e, 30))) < 1e-25
    assert F.extend(other) is L
    for x in (lam, other, disc):
        assert abs(complex(L.numeric(L.convert(x))) - complex(sp.N(x, 30))) < 1e-25
    assert L.contains(disc) and not L.contains(sp.sqrt(11))


def test_complex_tower_conjugates_exactly():
    z = sp.sqrt(2) + sp.I
    F = Field.of([z, sp.sqrt(3)])
    assert not F.real
    L = F.extend(sp.sqrt(5) + sp.sqrt(3))
    assert not L.real and L.degree == 2 * F.degree
    a = L.from_field(F, F.convert(z * sp.sqrt(3)))
    assert abs(complex(L.numeric(L.conj(a))) - complex(sp.N(sp.conjugate(z) * sp.sqrt(3)))) < 1e-25
    g = L.K.unit  # the primitive element, whose conjugate was not searched for
    assert abs(complex(L.numeric(L.conj(g))) - complex(L.numeric(g)).conjugate()) < 1e-25
    theta = complex(F.numeric(F.K.unit))
    assert abs(complex(F.numeric(F.conj(F.K.unit))) - theta.conjugate()) < 1e-25


def test_cli_explain_four_roots(capsys, monkeypatch):
    code, out, err = run_svdkit(capsys, monkeypatch)("explain", FOUR_ROOTS)
    assert code == 0, err
    assert "σ (exact)" in out and "U (exact" in out
    assert "UΣVᵀ = A holds exactly" in out
