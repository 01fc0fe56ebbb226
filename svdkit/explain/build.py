"""Compute the report: every item of the notes that applies to one matrix."""

from __future__ import annotations

import numpy as np

from svdkit import linalg
from svdkit.errors import SingularMatrixError
from svdkit.explain.formatting import scientific
from svdkit.explain.messages import t
from svdkit.explain.model import Report, Section
from svdkit.explain.notes import Evidence, collect_notes
from svdkit.inputs import as_matrix
from svdkit.linalg.residuals import relative_residual
from svdkit.linalg.subspaces import subspaces_from_svd
from svdkit.linalg.tolerance import zero_threshold

__all__ = ["explain"]


def explain(A, *, tol: float | None = None, lang: str = "en", steps: bool = True) -> Report:
    """Analyse a matrix: structure, measures, inverses, eigen, SVD, subspaces, definiteness.

    Parameters
    ----------
    A : array_like, str or path
        Anything :func:`svdkit.as_matrix` accepts.
    tol : float, optional
        Absolute zero threshold replacing the tolerance rule everywhere.
    lang : str
        Language of the report's text (``"en"`` or ``"fr"``).
    steps : bool, default True
        Add the exact engine's derivations when A is small and exact (integers,
        fractions, radicals: see :func:`svdkit.exact.as_exact`).

    Returns
    -------
    Report
        Sections of facts; render it with :func:`svdkit.explain.render`.

    Examples
    --------
    >>> from svdkit.explain import explain
    >>> report = explain("[[1, 2, 3], [4, 5, 6]]")
    >>> report.section("measures").fact("rank")
    2
    >>> report.section("definiteness").applies
    False
    """
    a = as_matrix(A)
    dec = linalg.svd(a, full=True)
    threshold = zero_threshold(a.shape, dec.s[0], a.dtype, tol)
    report = Report(matrix=a, tolerance=threshold, lang=lang)
    builders = (_input, _structure, _measures, _inverse, _eigen, _svd, _subspaces, _definiteness)
    for build in builders:
        report.sections.append(build(a, dec, tol, report))
    eigen = report.section("eigen")
    evidence = Evidence(
        matrix=a,
        svd=dec,
        threshold=threshold,
        tol=tol,
        eigenvalues=eigen.fact("eigenvalues") if eigen.applies else None,
        definiteness=report.computed.get("definiteness"),
    )
    report.notes.extend(collect_notes(evidence, lang))
    if steps:
        from svdkit.explain.exact_steps import add_exact

        add_exact(report, A)
    return report


def _input(a, dec, tol, report) -> Section:
    sec = Section("input")
    sec.add("shape", list(a.shape))
    sec.add("field", "complex" if np.iscomplexobj(a) else "real")
    sec.add("matrix", a)
    return sec


def _structure(a, dec, tol, report) -> Section:
    sec = Section("structure")
    sec.add("square", a.shape[0] == a.shape[1])
    sec.add("symmetric", linalg.is_symmetric(a, tol))
    sec.add("hermitian", linalg.is_hermitian(a, tol))
    sec.add("normal", linalg.is_normal(a, tol))
    sec.add("orthonormal", linalg.is_orthonormal(a, tol))
    sec.add("diagonal", linalg.is_diagonal(a, tol))
    sec.add("diagonalizable", linalg.is_diagonalizable(a, tol))
    return sec


def _measures(a, dec, tol, report) -> Section:
    m, n = a.shape
    r = dec.rank(tol)
    sec = Section("measures")
    sec.add("rank", r)
    sec.add("nullity", n - r)
    sec.add("norm_fro", _scaled_norm(dec.s))
    sec.add("norm_2", float(dec.s[0]))
    sec.add("norm_nuc", float(np.sum(dec.s)))
    sec.add("norm_1", linalg.norm(a, 1))
    sec.add("norm_inf", linalg.norm(a, np.inf))
    sec.add("cond", float(dec.s[0] / dec.s[-1]) if dec.s[-1] > report.tolerance else np.inf)
    if m == n:
        sec.add("trace", linalg.trace(a))
        sec.add("determinant", _determinant(a))
    return sec


def _scaled_norm(x: np.ndarray) -> float:
    """Euclidean (Frobenius) norm of ``x``, scaled so that no square overflows or underflows."""
    x = np.abs(np.asarray(x))
    top = float(x.max()) if x.size else 0.0
    if top == 0 or not np.isfinite(top):
        return top
    return top * float(np.sqrt(np.sum((x / top) ** 2)))


def _energy(s: np.ndarray) -> np.ndarray:
    """Cumulative energy fractions ``Σᵢ≤ₖ σᵢ² / Σ σᵢ²`` (all zero when every σ is 0).

    The σ are scaled by σ₁ first, so that the squares neither overflow nor underflow.
    """
    s = np.asarray(s, dtype=float)
    if s.size == 0 or s[0] == 0:
        return np.zeros_like(s)
    energy = np.cumsum((s / s[0]) ** 2)
    return energy / energy[-1]


def _determinant(a: np.ndarray) -> float | complex | str:
    """det A; as text (``"1e+400"``) when it is non-zero but outside float64's range.

    A determinant that overflows to ±∞ or underflows to 0 while A is non-singular
    is rebuilt from ``log|det A|`` (:func:`numpy.linalg.slogdet`) as a mantissa and
    a decimal exponent, so that the report never says ``det A = ∞`` (or 0) for a
    matrix of finite entries and full rank.
    """
    with np.errstate(over="ignore", under="ignore"):
        value = linalg.det(a)
    if value != 0 and np.isfinite(value):
        return value
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        sign, logabs = np.linalg.slogdet(a)
    if sign == 0 or not np.isfinite(logabs):
        return value
    return scientific(complex(sign), float(logabs))


def _inverse(a, dec, tol, report) -> Section:
    m, n = a.shape
    sec = Section("inverse")
    if m == n:
        try:
            inverse = linalg.inv(a)
        except SingularMatrixError:
            inverse = None
        sec.add("invertible", inverse is not None)
        if inverse is not None:
            sec.add("inverse", inverse)
            sec.add("inverse_residual", float(np.linalg.norm(a @ inverse - np.eye(n))))
    plus = dec.pinv(tol)
    sec.add("pseudo_inverse", plus)
    sec.add("penrose_residual", _penrose_residual(a, plus))
    r = dec.rank(tol)
    if m != n and r == n:
        sec.add("left_inverse", plus)
    if m != n and r == m:
        sec.add("right_inverse", plus)
    return sec


def _penrose_residual(a: np.ndarray, plus: np.ndarray) -> float:
    """Largest relative violation of the four Moore–Penrose conditions."""
    ap, pa = a @ plus, plus @ a
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # (1e200 entries)
        errors = (
            relative_residual(a, ap @ a),
            relative_residual(plus, pa @ plus),
            np.linalg.norm(ap - ap.conj().T),
            np.linalg.norm(pa - pa.conj().T),
        )
    return float(max(errors))


def _eigen(a, dec, tol, report) -> Section:
    m, n = a.shape
    sec = Section("eigen")
    if m != n:
        sec.applies, sec.reason = False, "not_square"
        return sec
    e = linalg.eig(a)
    sec.add("eigenvalues", e.values)
    sec.add("eigenvectors", e.vectors)
    sec.add("eigen_residual", e.residual())
    sec.add("diagonalizable", linalg.is_diagonalizable(a, tol))
    if linalg.is_hermitian(a, tol):
        h = linalg.eigh(a, check=False)
        sec.add("spectral_values", h.values)
        sec.add("spectral_Q", h.vectors)
        sec.add("spectral_residual", h.residual())
    return sec


def _svd(a, dec, tol, report) -> Section:
    sec = Section("svd")
    sec.add("singular_values", dec.s)
    sec.add("U", dec.U)
    sec.add("Sigma", dec.Sigma)
    sec.add("Vh", dec.Vh)
    sec.add("energy", _energy(dec.s))
    res = dec.residuals()
    sec.add("reconstruction", res.reconstruction)
    sec.add("orthogonality_u", res.orthogonality_u)
    sec.add("orthogonality_v", res.orthogonality_v)
    return sec


def _subspaces(a, dec, tol, report) -> Section:
    sub = subspaces_from_svd(dec, tol)
    sec = Section("subspaces")
    sec.add("rank", sub.rank)
    sec.add("dimensions", sub.dimensions)
    for key in ("column", "null", "row", "left_null"):
        sec.add(key, getattr(sub, key))
    cross = [np.abs(sub.column.conj().T @ sub.left_null), np.abs(sub.row.conj().T @ sub.null)]
    sec.add("orthogonality_check", float(max((c.max() if c.size else 0.0) for c in cross)))
    return sec


def _definiteness(a, dec, tol, report) -> Section:
    sec = Section("definiteness")
    if a.shape[0] != a.shape[1]:
        sec.applies, sec.reason = False, "not_square"
        return sec
    if not linalg.is_hermitian(a, tol):
        sec.applies, sec.reason = False, "not_hermitian"
        return sec
    d = linalg.definiteness(a, tol=tol)
    sec.add("kind", str(d.kind))
    sec.add("criteria", _criteria(d, report))
    report.computed["definiteness"] = d
    return sec


def _criteria(d, report: Report) -> dict[str, dict]:
    """The four criteria: verdict, a sentence in the report's language, and the evidence."""
    from svdkit.explain.formatting import NumberFormat

    q, e, c, s = d.quadratic_form, d.eigenvalues, d.cholesky, d.sylvester
    num = NumberFormat(zero=report.tolerance).number
    lang = report.lang

    def vec(x) -> str:
        return "(" + ", ".join(num(v) for v in np.ravel(x)) + ")"

    def entry(criterion, sentence: str, **evidence) -> dict:
        kind = None if criterion.kind is None else str(criterion.kind)
        return {"kind": kind, "explanation": sentence} | evidence

    shown = {
        "indefinite": (q.positive_witness, q.negative_witness),
        "positive semidefinite": (q.zero_witness,),
        "negative semidefinite": (q.zero_witness,),
    }.get(str(d.kind), ())
    witnesses = [w for w in shown if w is not None]
    q_text = t("why.quadratic_form", lang, min=num(q.minimizer.value), max=num(q.maximizer.value))
    q_text += "".join(t("why.witness", lang, x=vec(w.x), value=num(w.value)) for w in witnesses)

    e_text = t("why.eigenvalues", lang, values=vec(e.values), positive=e.n_positive,
               zero=e.n_zero, negative=e.n_negative)

    if c.factor is not None:
        key = "why.cholesky.negated" if c.negated else "why.cholesky.factor"
        # L's diagonal holds square roots of pivots: a pivot is zero below the threshold
        diag = NumberFormat(zero=float(np.sqrt(report.tolerance))).number
        c_text = t(key, lang, diag="(" + ", ".join(
            diag(v) for v in np.real(np.diagonal(c.factor))) + ")")
    else:
        c_text = t("why.cholesky.none", lang, pivot=c.pivot if c.pivot is not None else "—")

    if s.leading_minors is not None:
        leading = "(" + ", ".join(
            _minor_text(d.matrix, range(k), value, sign)
            for k, (value, sign) in enumerate(zip(s.leading_minors, s.leading_signs,
                                                  strict=True), start=1)
        ) + ")"
    else:
        leading = "—"
    refuting = s.refutes_psd or s.refutes_nsd
    if refuting is not None:
        rows = "{" + ", ".join(str(i + 1) for i in refuting.indices) + "}"
        s_text = t("why.sylvester.refuted", lang, leading=leading, rows=rows,
                   value=_minor_text(d.matrix, refuting.indices, refuting.value, refuting.sign))
    elif s.principal_minors is None and s.kind is None:
        s_text = t("why.sylvester.undecided", lang, leading=leading)
    else:
        s_text = t("why.sylvester", lang, leading=leading)

    def minor(m) -> dict | None:
        return None if m is None else {"indices": list(m.indices), "value": m.value}

    return {
        "quadratic_form": entry(
            q, q_text,
            witnesses=[{"x": w.x, "value": w.value} for w in witnesses],
            minimum=q.minimizer.value, maximum=q.maximizer.value,
        ),
        "eigenvalues": entry(e, e_text, values=e.values,
                             inertia=[e.n_positive, e.n_zero, e.n_negative]),
        "cholesky": entry(c, c_text, factor=c.factor, negated=c.negated, pivot=c.pivot),
        "sylvester": entry(
            s, s_text,
            leading_minors=s.leading_minors,
            refutes_psd=minor(s.refutes_psd),
            refutes_nsd=minor(s.refutes_nsd),
            notes_leading_minor_claim=s.notes_leading_minor_claim,
            notes_claim_misleads=s.notes_claim_misleads,
        ),
    }


def _minor_text(h: np.ndarray, indices, value: float, sign: int) -> str:
    """The principal minor ``det h[I, I]`` as text, as the Sylvester criterion judged it.

    A minor of order k is in the units of ``Aᵏ``: it prints as 0 only when the
    criterion's own zero rule says so (``sign == 0``), not by the report's
    threshold for entries of A (``1e-20·I₃`` has the minors 1e−20, 1e−40, 1e−60,
    none of them 0). A non-zero minor that overflowed to ±∞ or underflowed to 0
    is rebuilt from ``log|det|`` (``1e+400``), as :func:`_determinant` does.
    """
    from svdkit.explain.formatting import NumberFormat

    if sign == 0:
        return "0"
    if value != 0 and np.isfinite(value):
        return NumberFormat().number(value)
    ix = np.asarray(list(indices), dtype=int)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        s, logabs = np.linalg.slogdet(h[np.ix_(ix, ix)])
    if s == 0 or not np.isfinite(logabs):
        return NumberFormat().number(value)
    return scientific(complex(s), float(logabs))
