"""Compute the report: every item of the notes that applies to one matrix."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from svdkit import linalg
from svdkit.errors import ShapeError, SingularMatrixError, check_bool
from svdkit.explain.computed import Computed
from svdkit.explain.formatting import (
    NumberFormat,
    Scientific,
    scaled_number,
    scientific,
    threshold_text,
)
from svdkit.explain.messages import t
from svdkit.explain.model import Report, Section
from svdkit.explain.notes import Evidence, collect_notes
from svdkit.inputs import as_matrix
from svdkit.linalg.definiteness import ALL_MINORS_MAX_N, LEADING_MINORS_MAX_N, Kind
from svdkit.linalg.residuals import relative_residual
from svdkit.linalg.subspaces import subspaces_from_svd
from svdkit.linalg.tolerance import zero_threshold
from svdkit.lowrank._threads import single_blas_thread

if TYPE_CHECKING:
    from svdkit.inputs import MatrixLike

__all__ = ["MAX_DIMENSION", "check_size", "explain"]

MAX_DIMENSION = 1000
"""Most rows, and most columns, of a matrix that :func:`explain` accepts.

The report holds every entry of ``U`` (m×m), ``V`` (n×n), the eigenvectors, the
inverses and the bases of the four subspaces, and its build takes a few
``O(n³)`` factorisations, each once (SVD, eigendecomposition, inverse,
definiteness). The pages for people (terminal, Markdown, LaTeX, HTML) show a
matrix of more than 10 rows or columns by its corners
(:mod:`svdkit.explain.elision`); the JSON keeps every entry. Measured on one core
of a shared machine, ``svdkit explain`` of a dense 1000×1000 matrix: 3 to 5 s and
200 MB for any page for people (the report's own computation; the page is 10 to
40 kB, written in 0.02 s), and 7 to 14 s for the JSON (330 MB of text, written
in 5 to 8 s; 200 MB of memory from the command line, which writes it as it is
made, 1.8 GB as one string from :func:`~svdkit.explain.render`). Before the pages
showed corners, Markdown, LaTeX and HTML took 50 to 110 s more, 120 to 470 MB of
output and up to 2.5 GB of memory, and the JSON 11 to 24 s more and 2.2 GB.
2000×2000 would take 15–30 s, 3000×3000 minutes: larger matrices are refused
before any computation (:func:`check_size`); ``svdkit svd FILE -k K`` computes
their ``K`` leading singular triplets instead.
"""


def explain(
    A: MatrixLike, *, tol: float | None = None, lang: str = "en", steps: bool = True
) -> Report:
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
        fractions, radicals: see :func:`svdkit.exact.as_exact`). They need SymPy
        (``pip install 'svdkit[exact]'``): without it the report is left numeric.

    Returns
    -------
    Report
        Sections of facts; render it with :func:`svdkit.explain.render`.

    Raises
    ------
    ShapeError
        A has more than :data:`MAX_DIMENSION` rows or columns (refused before any
        computation: use :func:`svdkit.svd` with ``k``, or ``svdkit svd FILE -k K``).
    SvdkitError
        ``steps`` is not a bool (``"no"`` would otherwise mean ``True``).

    Warns
    -----
    ExactStepsSkippedWarning
        ``steps`` is true, A is small enough for the exact engine, and SymPy is not
        installed (:class:`svdkit.explain.exact_steps.ExactStepsSkippedWarning`).

    Notes
    -----
    Each decomposition is computed once per report (:class:`~svdkit.explain.computed.Computed`):
    one SVD, one eigendecomposition (square A), one inverse, …, shared by the
    sections and the notes. The exact engine's steps are tried only for matrices
    of at most :data:`svdkit.explain.exact_steps.MAX_ORDER` rows and columns.

    The factorisations run on one BLAS thread. On matrices this small, threads
    cost more than they bring, and where another process keeps a core busy they
    wait on each other: two cores, one of them busy, a 400×400 report took 17.7 s
    with OpenBLAS's two threads against 0.19 s on one. On an idle two-core
    machine one thread took 0.10 s against 0.21 s at 300×300, and 2.2 s against
    1.8 s at 1000×1000, the largest report.

    Examples
    --------
    >>> from svdkit.explain import explain
    >>> report = explain("[[1, 2, 3], [4, 5, 6]]")
    >>> report.section("measures").fact("rank")
    2
    >>> report.section("definiteness").applies
    False
    """
    steps = check_bool(steps, "steps")  # ("no" and "false" are truthy: refused, as tol and lang)
    a = as_matrix(A)
    check_size(a.shape)
    with single_blas_thread():  # see the Notes
        report, c, threshold = _numeric_report(a, tol, lang, A)
    eigen = report.section("eigen")
    exact_eigenvalues = None
    if eigen.applies and not c.hermitian:
        exact_eigenvalues = _exact_eigenvalues(eigen, c, A, threshold, steps)
    evidence = Evidence(
        matrix=a,
        svd=c.svd,
        threshold=threshold,
        tol=tol,
        eigenvalues=eigen.fact("eigenvalues") if eigen.applies else None,
        eigen_threshold=report.eigen_tolerance,
        definiteness=report.computed.get("definiteness"),
        computed=c,
        source=A,
        exact_eigenvalues=exact_eigenvalues,
    )
    report.notes.extend(collect_notes(evidence, lang))
    if steps:
        from svdkit.explain.exact_steps import add_exact

        add_exact(report, A)
    return report


def _numeric_report(
    a: np.ndarray, tol: float | None, lang: str, source: object = None
) -> tuple[Report, Computed, float]:
    """The report's sections of floating-point results (no notes, no exact steps)."""
    c = Computed(a, tol, source)
    threshold = _threshold(c, tol)
    s, e = c.scaled_sigma
    report = Report(matrix=a, tolerance=threshold, lang=lang, tol_given=tol is not None)
    report.log_sigma1 = math.log(float(s[0])) + e * math.log(2.0) if s[0] > 0 else None
    builders = (_input, _structure, _measures, _inverse, _eigen, _svd, _subspaces, _definiteness)
    for build in builders:
        report.sections.append(build(c, report))
    return report, c, threshold


def check_size(shape: tuple[int, int], file: str | None = None) -> None:
    """Refuse a matrix with more than :data:`MAX_DIMENSION` rows or columns (:class:`ShapeError`).

    Cheap: it looks at the shape only, so it can run before the matrix is read
    or decomposed. ``file``, the matrix file's name, goes into the command the
    message suggests (``FILE`` otherwise).

    Examples
    --------
    >>> check_size((1000, 3))
    >>> try:
    ...     check_size((3000, 3000), "big.npy")
    ... except ShapeError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    svdkit explain takes matrices of at most 1000 rows and 1000 columns (a report for a
    learner: every entry of U, V, the eigenvectors and the inverses, from several O(n³)
    factorisations); this one is 3000×3000. For a large matrix, compute its K leading
    singular triplets with 'svdkit svd big.npy -k K -o svd.npz' (or svdkit.svd(A, k=K) in
    Python)
    """
    m, n = shape
    if max(m, n) <= MAX_DIMENSION:
        return
    raise ShapeError(
        f"svdkit explain takes matrices of at most {MAX_DIMENSION} rows and {MAX_DIMENSION} "
        f"columns (a report for a learner: every entry of U, V, the eigenvectors and the "
        f"inverses, from several O(n³) factorisations); this one is {m}×{n}. For a large "
        f"matrix, compute its K leading singular triplets with 'svdkit svd {file or 'FILE'} "
        f"-k K -o svd.npz' (or svdkit.svd(A, k=K) in Python)"
    )


def _input(c: Computed, report: Report) -> Section:
    a = c.matrix
    sec = Section("input")
    sec.add("shape", list(a.shape))
    sec.add("field", "complex" if np.iscomplexobj(a) else "real")
    sec.add("matrix", a)
    return sec


def _structure(c: Computed, report: Report) -> Section:
    sec = Section("structure")
    sec.add("square", c.square)
    sec.add("symmetric", c.symmetric)
    sec.add("hermitian", c.hermitian)
    sec.add("normal", c.normal)
    sec.add("orthonormal", c.orthonormal)
    sec.add("diagonal", c.diagonal)
    sec.add("diagonalizable", c.diagonalizable)
    sec.steps.extend(_tolerance_verdicts(c))
    return sec


STRUCTURE_TESTS = {
    "symmetric": ("A = Aᵀ", "svdkit.is_symmetric"),
    "hermitian": ("A = Aᴴ", "svdkit.is_hermitian"),
    "normal": ("AAᴴ = AᴴA", "svdkit.is_normal"),
    "orthonormal": ("AᴴA = I", "svdkit.is_orthonormal"),
    "diagonal": ("aᵢⱼ = 0 (i ≠ j)", "svdkit.is_diagonal"),
    "diagonalizable": ("A = PDP⁻¹", "svdkit.is_diagonalizable"),
}
"""The structure facts: each one's identity and the floating-point test that decides it."""


def _tolerance_verdicts(c: Computed) -> list:
    """Steps for the structure facts that the float64 values of A pass only to within the
    tolerance, while the entries as typed fail them exactly (small rational A, no ``tol``).

    ``structure.tolerance_only``: the table shows the tolerance's "yes" (symmetric,
    Hermitian, orthonormal, diagonal: the report's sections are built on that verdict; normal
    and diagonalisable for an A Hermitian, or square and orthonormal, to within rounding:
    never "orthonormal: yes" beside "normal: no"), and says it is one.
    ``structure.exact_decides``: the table shows the exact "no" (normal, diagonalisable)
    where the floating-point test says yes (``[[1, 1e−10], [0, 1]]``, a Jordan block,
    passes :func:`svdkit.is_normal`: ‖AAᴴ − AᴴA‖ = 1e−20).
    """
    from svdkit.exact.steps import Step

    shown = {key: getattr(c, key) for key in STRUCTURE_TESTS}
    numeric = dict(shown, normal=c.numeric_normal)
    if c.square:
        numeric["diagonalizable"] = c.numeric_diagonalizable
    if not any(numeric.values()) or c.exact_structure is None:
        return []  # (nothing passed that could fail exactly; or no exact entries)
    exact = dict(c.exact_structure)
    if c.square:
        in_doubt = not exact["normal"] and (shown["diagonalizable"] or numeric["diagonalizable"])
        exact["diagonalizable"] = c.exact_diagonalizable(True) if in_doubt else True
    else:
        exact["diagonalizable"] = False
    steps = []
    for kind, yes in (("tolerance_only", True), ("exact_decides", False)):
        keys = [k for k in STRUCTURE_TESTS if numeric[k] and not exact[k] and shown[k] is yes]
        if keys:
            steps.append(Step(f"structure.{kind}", {
                "facts": ", ".join(keys),
                "identities": ", ".join(STRUCTURE_TESTS[k][0] for k in keys),
                "tests": ", ".join(STRUCTURE_TESTS[k][1] for k in keys),
            }))
    return steps


def _measures(c: Computed, report: Report) -> Section:
    a = c.matrix
    m, n = a.shape
    r = c.rank
    s, e = c.scaled_sigma  # σ = 2^e · s (e = 0 unless σ₁ overflowed)
    sec = Section("measures")
    sec.add("rank", r)
    sec.add("nullity", n - r)
    # every norm from a scaled form, written as Scientific where a float cannot hold it
    # (‖A‖_F = 2e+308 of [[1e308, 1e308], [1e308, −1e308]]; √6 · 2^−1074 = 1.21e−323)
    t, k = _scaled(s)
    with np.errstate(under="ignore"):  # (a σ below 2^−1074 of σ₁ counts for nothing)
        fro = float(np.sqrt(np.sum(t * t)))
    sec.add("norm_fro", scaled_number(fro, k + e))
    sec.add("norm_2", scaled_number(float(s[0]), e))
    sec.add("norm_nuc", scaled_number(float(np.sum(t)), k + e))
    b, kb = _scaled(a)
    sums = np.abs(b)
    sec.add("norm_1", scaled_number(float(np.max(np.sum(sums, axis=0))), kb))
    sec.add("norm_inf", scaled_number(float(np.max(np.sum(sums, axis=1))), kb))
    sec.add("cond", _cond(s, r == min(m, n)))
    if m == n:
        trace = np.trace(b)
        sec.add("trace", scaled_number(trace if np.iscomplexobj(b) else float(trace), kb))
        sec.add("determinant", c.determinant)
    return sec


def _scaled(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``(2^−k · x, k)``: ``x`` scaled exactly by a power of two so that its largest real
    or imaginary part lies in ``[1/2, 1)`` (``k = 0`` for a zero ``x``).

    Sums of the scaled entries neither overflow (``1e308 + 1e308``) nor lose the digits
    of subnormal entries (``5e−324``); entries below ``2^−1074`` of the largest
    underflow to 0, which changes no sum by as much as a unit of rounding.
    """
    x = np.asarray(x)
    parts = (x.real, x.imag) if np.iscomplexobj(x) else (x,)
    top = max((float(np.max(np.abs(p), initial=0.0)) for p in parts), default=0.0)
    if top == 0 or not math.isfinite(top):
        return x, 0
    k = math.frexp(top)[1]
    with np.errstate(under="ignore"):
        scaled = [np.ldexp(p.astype(np.float64), -k) for p in parts]
    if len(scaled) == 2:
        return scaled[0] + 1j * scaled[1], k
    return scaled[0], k


def _cond(s: np.ndarray, full_rank: bool) -> float | Scientific:
    """``σ₁ / σ_min`` from the scaled ``s`` (``∞`` where the report's rank is below
    ``min(m, n)``: ``σ_min`` at or below the threshold, decided on the scaled σ as
    :func:`svdkit.cond` decides), as :func:`~svdkit.explain.formatting.scaled_number`
    writes it."""
    if not full_rank:
        return np.inf
    top, k_top = math.frexp(float(s[0]))
    low, k_low = math.frexp(float(s[-1]))
    return scaled_number(top / low, k_top - k_low)


def _threshold(c: Computed, tol: float | None) -> float:
    """The report's zero threshold: ``tol``, else ``max(m, n) · eps · σ₁``, ``eps`` that
    of the precision A was stored in where coarser than float64 (:attr:`Computed.precision`).

    Where σ₁ of a finite A overflowed (entries near 1e308) the rule's threshold is
    still a float (≈ 1e293): it is taken from the σ of ``A · 2^−e``, not from ``∞``.
    """
    a = c.matrix
    if tol is not None:
        return zero_threshold(a.shape, 0.0, c.precision, tol)
    s, e = c.scaled_sigma
    # eps of the precision A was stored in (float32 data: float32's), as svdkit.rank's
    return float(np.ldexp(zero_threshold(a.shape, s[0], c.precision), e))


def _energy(s: np.ndarray) -> np.ndarray:
    """Cumulative energy fractions ``Σᵢ≤ₖ σᵢ² / Σ σᵢ²`` (all zero when every σ is 0).

    The σ are scaled by σ₁ first, so that the squares neither overflow nor underflow.
    """
    s = np.asarray(s, dtype=float)
    if s.size == 0 or s[0] == 0:
        return np.zeros_like(s)
    energy = np.cumsum((s / s[0]) ** 2)
    return energy / energy[-1]


def _inverse(c: Computed, report: Report) -> Section:
    a = c.matrix
    m, n = a.shape
    sec = Section("inverse")
    if m == n:
        inverse = c.inverse
        sec.add("invertible", inverse is not None)
        if inverse is not None:
            sec.add("inverse", inverse)
            sec.add("inverse_residual", _inverse_residual(a, inverse))
    plus = c.pinv
    sec.add("pseudo_inverse", plus)
    sec.add("penrose_residual", _penrose_residual(a, plus, c))
    r = c.rank
    if m != n and r == n:
        sec.add("left_inverse", plus)
    if m != n and r == m:
        sec.add("right_inverse", plus)
    return sec


def _inverse_residual(a: np.ndarray, inverse: np.ndarray) -> float:
    """``‖A A⁻¹ − I‖_F``; where A⁻¹ has entries beyond float64's range (A of subnormal
    entries: ``diag(5e−324, 5e−324)⁻¹ = 2.02e+323·I``), that of ``B = 2^−k A``, the same
    product ``A A⁻¹ = B B⁻¹`` with every entry a float."""
    n = a.shape[0]
    if np.isfinite(inverse).all():
        return float(np.linalg.norm(a @ inverse - np.eye(n)))
    b, _ = _scaled(a)
    try:
        return float(np.linalg.norm(b @ linalg.inv(b) - np.eye(n)))
    except SingularMatrixError:  # (singular at float64 once scaled: as LAPACK found A)
        return float("nan")


def _penrose_residual(a: np.ndarray, plus: np.ndarray, c: Computed | None = None) -> float:
    """Largest relative violation of the four Moore–Penrose conditions.

    Where A⁺ has entries beyond float64's range (``1/σ`` of a subnormal σ overflows),
    they are checked on ``B = 2^−k A`` and ``B⁺ = 2^k A⁺``, both of float entries: the
    four conditions hold for one pair exactly when they hold for the other.
    """
    if not np.isfinite(plus).all() and c is not None and np.isfinite(a).all():
        a, k = _scaled(a)
        dec, r = c.svd, c.rank
        s, e = c.scaled_sigma  # (σ = 2^e·s; a σ that underflowed in A's units is 0)
        with np.errstate(under="ignore"):
            inv_s = 1.0 / np.ldexp(s[:r], e - k)
        plus = (dec.Vh[:r].conj().T * inv_s) @ dec.U[:, :r].conj().T
    ap, pa = a @ plus, plus @ a
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # (1e200 entries)
        errors = (
            relative_residual(a, ap @ a),
            relative_residual(plus, pa @ plus),
            np.linalg.norm(ap - ap.conj().T),
            np.linalg.norm(pa - pa.conj().T),
        )
    return float(max(errors))


def _eigen(c: Computed, report: Report) -> Section:
    sec = Section("eigen")
    if not c.square:
        sec.applies, sec.reason = False, "not_square"
        return sec
    e = c.eig
    if c.hermitian:
        e = _hermitian_eigenvalues(c, report)
    sec.add("eigenvalues", e.values)
    sec.add("eigenvectors", e.vectors)
    sec.add("eigen_residual", e.residual(norm2=float(c.svd.s[0])))  # σ₁ known: no 2nd SVD
    sec.add("diagonalizable", c.diagonalizable)
    if not c.diagonalizable:
        # the columns above are then not a basis (for [[2, 1], [0, 2]] they are (1, 0) and
        # (1, −4e−16)): say so rather than let them pass for one
        from svdkit.exact.steps import Step

        sec.steps.append(Step("eigen.defective"))
    if c.hermitian:
        h = linalg.Eigh(e.values, c.eigh.vectors, c.eigh.matrix)  # Λ: the values above
        sec.add("spectral_values", h.values)
        sec.add("spectral_Q", h.vectors)
        sec.add("spectral_residual", h.residual())
    return sec


MAX_EXACT_TEXT = 80
"""The longest text of one exact eigenvalue that ``eigenvalues_exact`` shows (characters)."""


def _exact_eigenvalues(
    sec: Section, c: Computed, source: object, threshold: float, steps: bool
) -> tuple | None:
    """The exact eigenvalues of a small non-Hermitian A of rational entries as typed.

    With ``steps`` (the exact engine on), for a matrix of (Gaussian) rational entries of
    order at most :data:`~svdkit.explain.exact_steps.MAX_SPECTRAL_ORDER`, the roots of
    the exact characteristic polynomial (:func:`_exact_roots`, ascending by real then
    imaginary part). They are the fact ``eigenvalues_exact`` where readable (no root
    longer than :data:`MAX_EXACT_TEXT` characters), next to LAPACK's ``eigenvalues``,
    which stay as computed, each with its eigenvector: ``eigen_residual`` checks those
    pairs. Where an eigenvalue is defective and LAPACK's values of it are off by more
    than the report's zero threshold, the step ``eigen.perturbed`` says why
    (:func:`_perturbed_step`).

    Returns
    -------
    tuple or None
        The roots (SymPy, with multiplicity), for the notes to count by; None where
        there are none (no steps, larger, not rational, no closed form, no SymPy).
    """
    roots = _exact_roots(c, source) if steps else None
    if roots is None:
        return None
    text = _readable(roots, c)
    if text is not None:
        sec.add("eigenvalues_exact", text)
        position = next(i for i, f in enumerate(sec.facts) if f.key == "eigenvalues") + 1
        sec.facts.insert(position, sec.facts.pop())
        step = _perturbed_step(sec, c, source, roots, threshold)
        if step is not None:
            sec.steps.append(step)
    return roots


def _exact_roots(c: Computed, source: object) -> tuple | None:
    """The roots (SymPy, with multiplicity) of A's exact characteristic polynomial,
    ascending by real then imaginary part (compared to 30 digits, with no float
    range: a root of 1e−320 or 1e400 is compared as it is), for A of rational entries
    as typed and small; else None. None also where a root has no closed form in
    radicals, or a real root is written with i (casus irreducibilis: no help to a
    learner)."""
    from svdkit.errors import SvdkitError
    from svdkit.explain.exact_steps import MAX_SPECTRAL_ORDER, _rational_matrix

    n = c.matrix.shape[0]
    if n > MAX_SPECTRAL_ORDER or c.single or source is None:
        return None
    try:
        dM = _rational_matrix(source, c.matrix.shape)
    except SvdkitError:
        return None
    if dM is None:
        return None
    import sympy as sp

    lam = sp.Dummy("lambda")
    p = sp.Poly(dM.charpoly(), lam, domain=dM.domain)
    found = sp.roots(p.as_expr(), lam)
    roots = [r for r, k in found.items() for _ in range(k)]
    if len(roots) != n:
        return None
    keyed = []
    for r in roots:
        re, im = sp.N(r, 30).as_real_imag()
        if r.has(sp.I) and abs(im) <= abs(re) * sp.Float("1e-20", 30):
            return None  # a real root written with i
        keyed.append(((re, im), r))
    return tuple(r for _, r in sorted(keyed, key=lambda item: item[0]))


def _readable(roots: tuple, c: Computed) -> str | None:
    """``roots`` as text, or None where it would not help a learner.

    For complex entries, a degree-3 polynomial's roots (Cardano's formula over ℚ(i):
    a thousand characters for a Gaussian-integer 3×3) are never shown, and a
    quadratic's are written as a + ib (``1 − √3 − i√3`` rather than ``1 − √6√i``),
    shown only where that needs no trigonometry. Any root longer than
    :data:`MAX_EXACT_TEXT` characters (a √ of a 200-digit integer) hides them all.
    """
    import sympy as sp

    from svdkit.exact.format import to_text

    if np.iscomplexobj(c.matrix) and np.any(np.imag(c.matrix) != 0):
        if len(roots) >= 3:
            return None
        roots = tuple(sp.expand_complex(r) for r in roots)
        if any(r.has(sp.sin, sp.cos, sp.atan, sp.atan2) for r in roots):
            return None
    if any(len(to_text(r)) > MAX_EXACT_TEXT for r in roots):
        return None
    return to_text(roots)


def _perturbed_step(sec: Section, c: Computed, source: object, roots: tuple,
                    threshold: float):
    """The step ``eigen.perturbed`` where LAPACK's values of a defective eigenvalue are
    off.

    For a root λ of multiplicity m ≥ 2 with fewer than m independent eigenvectors
    (exactly: rank(A − λI) > n − m; such a root is (Gaussian) rational), the m computed
    values nearest λ are perturbed by about ``eps^(1/m)·‖A‖`` (±2.0007e−8 for the
    nilpotent ``[[3, 9], [−1, −3]]``). The step is added where they are off by more
    than the report's zero ``threshold``, and names the worst such eigenvalue.
    Distances are taken to 30 digits (SymPy floats: no overflow, no warning); no step
    where a computed value is not finite.
    """
    import sympy as sp

    from svdkit.exact.format import to_text
    from svdkit.exact.steps import Step
    from svdkit.explain.exact_steps import _rational_matrix
    from svdkit.explain.formatting import NumberFormat

    values = np.asarray(sec.fact("eigenvalues"), dtype=complex)
    if not np.all(np.isfinite(values)):
        return None
    n = values.size
    dM = _rational_matrix(source, c.matrix.shape)
    points = [sp.Float(v.real, 30) + sp.I * sp.Float(v.imag, 30) for v in values]
    worst = None
    for root in dict.fromkeys(roots):
        m = roots.count(root)
        if m < 2:
            continue
        try:
            shifted = dM - dM.eye(n, dM.domain) * dM.domain.from_sympy(root)
        except (sp.CoercionFailed, ValueError, TypeError):
            continue  # (not in A's field as written: no exact rank to decide by)
        if int(shifted.rank()) <= n - m:
            continue  # semisimple: LAPACK's values of it are off by rounding only
        near = sorted(((sp.Abs(p - root).evalf(30), i) for i, p in enumerate(points)),
                      key=lambda item: item[0])[:m]
        error = near[-1][0]
        if error > threshold and (worst is None or error > worst[2]):
            worst = (root, m, error, [values[i] for i in sorted(i for _, i in near)])
    if worst is None:
        return None
    root, m, error, near = worst
    fmt = NumberFormat()
    return Step("eigen.perturbed", {
        "value": to_text(root),
        "multiplicity": m,
        "computed": ", ".join(fmt.number(v if v.imag else float(v.real)) for v in near),
        "error": fmt.number(float(error)),
    })


def _hermitian_eigenvalues(c: Computed, report: Report) -> linalg.Eig:
    """The eigenpairs the report shows for a Hermitian A: real, from the Hermitian solver.

    The values are those :func:`svdkit.definiteness` counts, zero at its threshold
    (``report.eigen_tolerance`` is set to its ``tol_used``): as many non-zero as the
    rank, and its inertia. The general solver's values of a Hermitian A are complex
    to rounding and can land on the other side of the threshold (``λ = 6e−16 + 3e−18i``
    for ``7e−16``, against ``6.7e−16``). The vectors are the spectral decomposition's
    (ascending, as the values). Where definiteness does not count the rank (its
    eigenvalues underflowed: ``diag(5e−324, 5e−324)``), the spectral decomposition's
    own values, at the report's threshold.
    """
    d, h = c.definiteness, c.eigh
    n_pos, _, n_neg = d.inertia
    if n_pos + n_neg != c.rank:
        return linalg.Eig(h.values, h.vectors, c.stored)
    report.eigen_tolerance = d.tol_used
    return linalg.Eig(d.eigenvalues.values, h.vectors, c.stored)


def _svd(c: Computed, report: Report) -> Section:
    dec = c.svd
    sec = Section("svd")
    sec.add("singular_values", dec.s)
    sec.add("U", dec.U)
    sec.add("Sigma", dec.Sigma)
    sec.add("Vh", dec.Vh)
    sec.add("energy", _energy(c.scaled_sigma[0]))  # scale-free: σ₁ may have overflowed
    scaled, e = c.scaled_sigma
    if e > 0 and not np.isfinite(dec.s).all():
        # σ₁ overflowed (entries near 1e308): U Σ Vᴴ is ∞; A·2^−e against U (2^−e Σ) Vᴴ
        from svdkit.linalg.measures import times_power_of_two
        from svdkit.linalg.residuals import orthogonality_loss

        p = scaled.size
        with np.errstate(under="ignore"):
            b = times_power_of_two(c.stored, -e)
        sec.add("reconstruction", relative_residual(b, (dec.U[:, :p] * scaled) @ dec.Vh[:p]))
        sec.add("orthogonality_u", orthogonality_loss(dec.U))
        sec.add("orthogonality_v", orthogonality_loss(dec.Vh.conj().T))
        return sec
    res = dec.residuals()
    sec.add("reconstruction", res.reconstruction)
    sec.add("orthogonality_u", res.orthogonality_u)
    sec.add("orthogonality_v", res.orthogonality_v)
    return sec


def _subspaces(c: Computed, report: Report) -> Section:
    sub = subspaces_from_svd(c.svd, c.tol)
    sec = Section("subspaces")
    sec.add("rank", sub.rank)
    sec.add("dimensions", sub.dimensions)
    for key in ("column", "null", "row", "left_null"):
        sec.add(key, getattr(sub, key))
    cross = [np.abs(sub.column.conj().T @ sub.left_null), np.abs(sub.row.conj().T @ sub.null)]
    sec.add("orthogonality_check", float(max((c.max() if c.size else 0.0) for c in cross)))
    return sec


def _definiteness(c: Computed, report: Report) -> Section:
    sec = Section("definiteness")
    if not c.square:
        sec.applies, sec.reason = False, "not_square"
        return sec
    if not c.hermitian:
        sec.applies, sec.reason = False, "not_hermitian"
        return sec
    d = c.definiteness
    sec.add("kind", str(d.kind))
    if d.is_zero_form:  # the kind says PSD; the zero form is NSD as well
        sec.add("also_kind", str(Kind.NEGATIVE_SEMIDEFINITE))
    sec.add("criteria", _criteria(d, report))
    report.computed["definiteness"] = d
    return sec


def _criteria(d, report: Report) -> dict[str, dict]:
    """The four criteria: verdict, a sentence in the report's language, and the evidence."""
    from svdkit.explain.formatting import NumberFormat

    q, e, c, s = d.quadratic_form, d.eigenvalues, d.cholesky, d.sylvester
    # xᴴAx (|x| = 1) in A's units, zero at the threshold that decided the kind (tol_used,
    # moved where the rule's would count other eigenvalues than the rank: the form's
    # values between the two are no 0 beside an "indefinite")
    num = NumberFormat(zero=d.tol_used).number
    lang = report.lang
    # x itself is a unit vector, dimensionless: its entries are 0 below rounding of 1,
    # not below a threshold in A's units (6.7e+04 for entries of 1e20)
    unit = NumberFormat(zero=max(d.matrix.shape) * float(np.finfo(float).eps)).number

    def vec(x) -> str:
        return "(" + ", ".join(unit(v) for v in np.ravel(x)) + ")"

    def entry(criterion, sentence: str, **evidence) -> dict:
        kind = None if criterion.kind is None else str(criterion.kind)
        return {"kind": kind, "explanation": sentence} | evidence

    shown = {
        "indefinite": (q.positive_witness, q.negative_witness),
        "positive semidefinite": (q.zero_witness,),
        "negative semidefinite": (q.zero_witness,),
    }.get(str(d.kind), ())
    witnesses = [w for w in shown if w is not None]
    # its minimum and maximum on the unit sphere are λ_min and λ_max (the minimiser's
    # recomputed xᴴAx differs by rounding: not printed as the minimum)
    lo, hi = float(e.values[0]), float(e.values[-1])
    q_text = t("why.quadratic_form", lang, min=num(lo), max=num(hi))
    q_text += "".join(t("why.witness", lang, x=vec(w.x), value=num(w.value)) for w in witnesses)

    # the eigenvalues zero at the threshold that counted them (the eigen section's too)
    e_num = NumberFormat(zero=e.threshold).number
    e_text = t("why.eigenvalues", lang, values="(" + ", ".join(e_num(v) for v in e.values) + ")",
               positive=e.n_positive, zero=e.n_zero, negative=e.n_negative)

    if c.factor is not None:
        key = "why.cholesky.negated" if c.negated else "why.cholesky.factor"
        c_text = t(key, lang, diag="(" + ", ".join(_cholesky_diagonal(c, d)) + ")")
    else:
        c_text = t("why.cholesky.none", lang, pivot=c.pivot if c.pivot is not None else "—")

    if s.leading_minors is not None:
        leading = "(" + ", ".join(
            _minor_text(value, sign, log_abs)
            for value, sign, log_abs in zip(s.leading_minors, s.leading_signs,
                                            s.leading_log_abs, strict=True)
        ) + ")"
    else:
        leading = "—"
    refuting = s.refutes_psd or s.refutes_nsd
    if refuting is not None:
        rows = "{" + ", ".join(str(i + 1) for i in refuting.indices) + "}"
        s_text = t("why.sylvester.refuted", lang, leading=leading, rows=rows,
                   value=_minor_text(refuting.value, refuting.sign, refuting.log_abs))
    else:
        s_text = t("why.sylvester", lang, leading=leading)
    # undecided (kind None): why, in the report's language, from the minors' own data
    minors_kind = reason = None
    if s.kind is None:
        minors_kind = _minors_kind(s)
        reason = _undecided_reason(minors_kind, d, lang)
        s_text = t("why.sylvester.undecided", lang, head=s_text, reason=reason)

    def minor(m) -> dict | None:
        return None if m is None else {"indices": list(m.indices), "value": m.value}

    return {
        "quadratic_form": entry(
            q, q_text,
            witnesses=[{"x": w.x, "value": w.value} for w in witnesses],
            minimum=lo, maximum=hi,
        ),
        "eigenvalues": entry(e, e_text, values=e.values, threshold=e.threshold,
                             inertia=[e.n_positive, e.n_zero, e.n_negative]),
        "cholesky": entry(c, c_text, factor=c.factor, negated=c.negated, pivot=c.pivot),
        "sylvester": entry(
            s, s_text,
            reason=reason,
            minors_kind=minors_kind,
            leading_minors=s.leading_minors,
            refutes_psd=minor(s.refutes_psd),
            refutes_nsd=minor(s.refutes_nsd),
            notes_leading_minor_claim=s.notes_leading_minor_claim,
            notes_claim_misleads=s.notes_claim_misleads,
        ),
    }


def _undecided_reason(minors_kind: str | None, d, lang: str) -> str:
    """Why Sylvester's criterion is undecided, in ``lang``: the leading minors were not
    computed (``n > LEADING_MINORS_MAX_N``), not every principal minor was
    (``minors_kind`` None, ``n > ALL_MINORS_MAX_N``), or the minors say ``minors_kind``
    where A's eigenvalues say ``d.kind`` (the minors that would show the difference are
    zero to within ``d.tol_used``)."""
    n = d.matrix.shape[0]
    if d.sylvester.leading_minors is None:
        return t("why.sylvester.reason.leading_not_computed", lang, n=n,
                 limit=LEADING_MINORS_MAX_N)
    if minors_kind is None:
        return t("why.sylvester.reason.not_computed", lang, n=n, limit=ALL_MINORS_MAX_N)

    def kind(k: str) -> str:
        return t("kind." + k.replace(" ", "_"), lang)

    return t("why.sylvester.reason.tolerance", lang, minors=kind(minors_kind),
             kind=kind(str(d.kind)), threshold=threshold_text(d.tol_used, d.eigenvalues.values))


def _cholesky_diagonal(c, d) -> list[str]:
    """L's diagonal as the Cholesky criterion's verdict reads it.

    The diagonal holds square roots of pivots, zero where the pivot is at most the
    threshold ``d.tol_used``. A semidefinite verdict follows the eigenvalues (a pivot
    of 2.6e−15 can stand for a zero eigenvalue): there the ``n − rank`` smallest
    entries, as many as the zero eigenvalues, print as 0, so that L does not read as
    invertible (positive definite) beside "semidefinite".
    """
    diag = np.real(np.diagonal(c.factor))
    fmt = NumberFormat(zero=float(np.sqrt(d.tol_used))).number
    text = [fmt(v) for v in diag]
    if c.kind in (Kind.POSITIVE_SEMIDEFINITE, Kind.NEGATIVE_SEMIDEFINITE):
        zeros = d.eigenvalues.n_zero
        for i in np.argsort(np.abs(diag), kind="stable")[:zeros]:
            text[i] = "0"
    return text


def _minors_kind(s) -> str | None:
    """What the principal minors alone say of A where Sylvester's criterion is undecided.

    Where that differs from the eigenvalues' kind (an eigenvalue within rounding of
    the threshold shows in no minor beyond it), :func:`svdkit.definiteness` leaves
    the criterion undecided (module docstring of :mod:`svdkit.linalg.definiteness`):
    the minors' verdict, as its criterion would have taken it, is rebuilt here from
    their signs, so that the report says it in its own language. ``"positive and
    negative semidefinite"`` where no minor refutes either kind; None where not
    every minor was computed and they decide nothing (``n > ALL_MINORS_MAX_N``).
    """
    signs = s.leading_signs
    if signs is not None and len(signs) and np.all(signs == 1):
        return str(Kind.POSITIVE_DEFINITE)
    if signs is not None and len(signs) and all(
        g == (1 if k % 2 == 0 else -1) for k, g in enumerate(signs, start=1)
    ):
        return str(Kind.NEGATIVE_DEFINITE)
    psd, nsd = s.refutes_psd is None, s.refutes_nsd is None
    if not psd and not nsd:
        return str(Kind.INDEFINITE)
    if s.principal_minors is None:
        return None
    if psd and nsd:
        return "positive and negative semidefinite"
    return str(Kind.POSITIVE_SEMIDEFINITE if psd else Kind.NEGATIVE_SEMIDEFINITE)


def _minor_text(value: float, sign: int, log_abs: float) -> str:
    """A principal minor as text, as the Sylvester criterion judged it.

    A minor of order k is in the units of ``Aᵏ``: it prints as 0 only when the
    criterion's own zero rule says so (``sign == 0``), not by the report's
    threshold for entries of A (``1e-20·I₃`` has the minors 1e−20, 1e−40, 1e−60,
    none of them 0). A non-zero minor that overflowed to ±∞ or underflowed to 0
    is written from the criterion's ``log|det|`` (``1e+400``), as
    :func:`_determinant` does.
    """
    from svdkit.explain.formatting import NumberFormat

    if sign == 0:
        return "0"
    if value != 0 and np.isfinite(value):
        return NumberFormat().number(value)
    if not np.isfinite(log_abs):
        return NumberFormat().number(value)
    return scientific(complex(sign), float(log_abs))
