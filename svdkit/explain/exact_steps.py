"""The exact engine's results and derivations, added to a report's sections.

When the matrix is small and exact (integers, fractions, radicals: anything
:func:`svdkit.exact.as_exact` accepts), each section gets its exact values as
``*_exact`` facts (text such as ``√2/2``) and the steps of its derivation. A
computation the exact engine cannot do (no closed form, too large: an
:class:`~svdkit.errors.SvdkitError`) leaves its section numeric; nothing else
changes. A matrix whose exact work would take minutes is left numeric before
any of it starts (:func:`exact_budget`): numbers of more than
:data:`MAX_EXACT_BITS` bits (:data:`MAX_SPECTRAL_BITS` for eigenvalue work),
or radicals of a field of degree above :data:`MAX_EXACT_DEGREE` (lower for larger
matrices); a step (``exact.omitted_bits`` …, in the section ``measures`` or
``svd``) says which part was left out and why. Any other exception is a bug in
the exact engine: it does not abort the report (the numeric results stand on
their own), but it is not hidden either: the section gets an ``exact_error`` fact
naming the computation and the error, and a :class:`RuntimeWarning` is issued.

Without SymPy (the ``exact`` extra) the report has no exact facts or steps at
all, and says why once: an :class:`ExactStepsSkippedWarning` (the command line
prints it as a ``note:`` line). The notes that consult the exact engine fall back
to their floating-point answers without a word.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from svdkit.errors import MissingDependencyError, SvdkitError
from svdkit.explain.model import Report

__all__ = [
    "EXACT_NEEDS_SYMPY",
    "MAX_EXACT_BITS",
    "MAX_EXACT_DEGREE",
    "MAX_EXACT_WORK",
    "MAX_ORDER",
    "MAX_SPECTRAL_BITS",
    "MAX_SPECTRAL_DEGREE",
    "MAX_SPECTRAL_ORDER",
    "ExactStepsSkippedWarning",
    "add_exact",
    "exact_budget",
    "exact_diagonalizable",
    "exact_structure",
    "exact_zero_eigenvalues",
]

MAX_ORDER = 6
"""Largest dimension for elimination-based work (det, rank, inverses, subspaces)."""

MAX_SPECTRAL_ORDER = 3
"""Largest dimension for eigenvalue work (eigh, SVD, definiteness): closed forms stay readable."""

MAX_EXACT_BITS = 2048
"""Largest size in bits of the numbers of the exact work (:func:`exact_budget`), for a
2×2 matrix: ``[[1e-1000, 1], [1, 1]]`` (3322 bits) took a minute and 850 kB of text.
Larger matrices take at most :data:`MAX_EXACT_WORK` ``/ n³`` bits."""

MAX_EXACT_WORK = 16384
"""``n³ × bits`` allowed for the exact elimination work on an n×n matrix: the entries of
its inverse and null spaces have about ``n × bits`` bits, and there are ``n²`` of them
(a 6×6 of 30-digit integers, 21600, took 8 s; of 100 digits, 32 s). 75 bits at 6×6,
131 at 5×5, 256 at 4×4, 606 at 3×3."""

MAX_SPECTRAL_BITS = 1024
"""Largest size in bits for the exact eigenvalue work (eigh, SVD, definiteness) on a
2×2 matrix of exact rank 2 or more: ``[[1e-300, 1], [1, 1]]`` (997 bits) takes 8 s, its
text 300 kB; 1e-1000 took a minute. A 3×3 takes at most ``MAX_SPECTRAL_BITS × 8 / 27``
(303) bits. A matrix of exact rank 1 (one σ, ‖A‖_F) takes as many as elimination."""

MAX_EXACT_DEGREE = 64
"""Largest degree of the field of the entries' radicals for exact work on matrices
of order up to 3 (:func:`exact_budget`); 8 for larger ones. Six square roots of
primes (degree 64) in a 6×6 took four minutes, degree 32 in a 4×4 23 s; degree 64 in a
3×3 takes 7 s."""

MAX_SPECTRAL_DEGREE = 16
"""Largest degree of the field of the entries' radicals for exact eigenvalue work."""

EXACT_NEEDS_SYMPY = "exact steps need SymPy: pip install 'svdkit[exact]'"
"""The message of the :class:`ExactStepsSkippedWarning` issued when SymPy is missing."""


class ExactStepsSkippedWarning(UserWarning):
    """A report made without its exact facts and steps because SymPy is not installed.

    Issued once per report by :func:`add_exact` (so by :func:`svdkit.explain.explain`
    with ``steps=True``) for a matrix small enough for the exact engine; its message
    is :data:`EXACT_NEEDS_SYMPY`. The numeric report is complete; ``svdkit explain``
    prints the message as one ``note:`` line on stderr.
    """


def _exact_matrix(source: Any):
    """The exact SymPy matrix of ``source``, or None when it is not exact (or SymPy is
    missing: :class:`~svdkit.errors.MissingDependencyError` is an ``SvdkitError``)."""
    import svdkit.exact as ex

    try:
        return ex.as_exact(source)
    except SvdkitError:
        return None


def add_exact(report: Report, source: Any) -> None:
    """Attach exact facts and derivation steps to ``report`` (in place) when possible.

    Warns
    -----
    ExactStepsSkippedWarning
        SymPy is not installed (the report is left numeric).
    """
    m, n = report.matrix.shape
    if max(m, n) > MAX_ORDER:
        return
    import svdkit.exact as ex

    try:
        M = ex.as_exact(source)
    except MissingDependencyError:
        # stacklevel 3: the caller of svdkit.explain.explain
        warnings.warn(EXACT_NEEDS_SYMPY, ExactStepsSkippedWarning, stacklevel=3)
        return
    except SvdkitError:
        return
    from svdkit.exact.format import to_text

    allowed, spectral_allowed, omitted = exact_budget(M)
    if not allowed:
        _say_omitted(report, omitted)
        return
    square = m == n

    def attempt(section_id: str, compute: Callable[[], Any], facts: Callable[[Any], dict],
                name: str):
        sec = report.section(section_id)
        if not sec.applies:
            return None
        try:
            result = compute()
            texts = {key: to_text(value) for key, value in facts(result).items()}
        except SvdkitError:
            return None
        except Exception as err:  # a bug in the exact engine: report it, keep the numeric report
            _record_failure(sec, name, err)
            return None
        for key, text in texts.items():
            sec.add(key, text)
        sec.steps.extend(result.steps)
        return result

    rank = attempt("measures", lambda: ex.rank(M, steps=True),
                   lambda r: {"rank_exact": r.value}, "rank")
    if rank is not None and rank.value <= 1:
        spectral_allowed = True  # one singular value at most (‖A‖_F): no eigenvalue work
    elif omitted is not None:
        _say_omitted(report, omitted)
    spectral = max(m, n) <= MAX_SPECTRAL_ORDER and spectral_allowed
    _rank_agreement(report)
    # the sums behind ‖A‖_F, ‖A‖₁, ‖A‖∞ and Tr A (note 003: ‖·‖_F = √(1+1+1+3²+2²) = 4;
    # note 000: Tr = 4 + 4 = 8), as steps: their values are the numeric facts
    for order, name in (("fro", "norm"), (1, "norm"), (float("inf"), "norm")):
        attempt("measures", lambda o=order: ex.norm(M, o, steps=True), lambda r: {}, name)
    if square:
        attempt("measures", lambda: ex.trace(M, steps=True), lambda r: {}, "trace")
        attempt("measures", lambda: ex.det(M, steps=True),
                lambda r: {"determinant_exact": r.value}, "det")
    invertible = square and report.section("inverse").fact("invertible")
    if invertible:
        attempt("inverse", lambda: ex.inv(M, steps=True),
                lambda r: {"inverse_exact": r.matrix}, "inv")
    else:
        attempt("inverse", lambda: ex.pinv(M, steps=True),
                lambda r: {"pseudo_inverse_exact": r.matrix}, "pinv")
    attempt("subspaces", lambda: ex.subspaces(M, steps=True), lambda r: {
        "column_exact": r.column, "null_exact": r.null,
        "row_exact": r.row, "left_null_exact": r.left_null,
    }, "subspaces")
    if not spectral:
        return
    hermitian = square and report.section("definiteness").applies
    if hermitian:
        attempt("eigen", lambda: ex.eigh(M, steps=True), lambda r: {
            "spectral_values_exact": r.values, "spectral_Q_exact": r.vectors,
        }, "eigh")
        attempt("definiteness", lambda: ex.definiteness(M, steps=True), lambda r: {},
                "definiteness")
    svd = attempt("svd", lambda: ex.svd(M, full=True, steps=True), lambda r: {
        "singular_values_exact": r.s, "U_exact": r.U, "Vh_exact": r.Vh,
    }, "svd")
    if svd is not None and svd.exact and report.section("measures").applies:
        # ‖A‖₂ = σ₁ and ‖A‖_* = Σσᵢ from the exact σ: no second spectrum of AᴴA
        from svdkit.exact.norms import shortest_sum

        sigmas = [s for s in svd.s if s != 0]
        measures = report.section("measures")
        measures.add("spectral_norm_exact", to_text(sigmas[0] if sigmas else 0))
        measures.add("nuclear_norm_exact", to_text(shortest_sum(sigmas)))


def _say_omitted(report: Report, step: Any) -> None:
    """Add the step saying what exact work was left out, in the section it is about
    (``svd`` for the eigenvalue work, else ``measures``) or the first one shown."""
    about = "svd" if "spectral" in step.key else "measures"
    shown = [s for s in report.sections if s.applies]
    target = next((s for s in shown if s.id == about), shown[0] if shown else None)
    if target is not None:
        target.steps.append(step)


def _integer_bits(M) -> int | None:
    """Bits of the largest entry of the primitive integer matrix proportional to ``M``
    (``M`` times the lcm of its denominators, divided by the gcd of the results), for
    (Gaussian) rational ``M``; else None. ``diag(1e-2200, 1e-2200)`` is ``diag(1, 1)``
    scaled (1 bit: the exact work is that of ``I``), ``[[1e-300, 1], [1, 1]]`` is
    ``[[1, 10³⁰⁰], [10³⁰⁰, 10³⁰⁰]]`` (997 bits)."""
    import sympy as sp

    parts = []
    for x in M:
        re, im = sp.re(x), sp.im(x)
        if not (re.is_Rational and im.is_Rational):
            return None
        parts.extend(p for p in (re, im) if p != 0)
    if not parts:
        return 0
    lcm = math.lcm(*(int(p.q) for p in parts))
    integers = [abs(int(p.p)) * (lcm // int(p.q)) for p in parts]
    g = math.gcd(*integers)
    return max(k // g for k in integers).bit_length()


def exact_budget(M) -> tuple[bool, bool, Any]:
    """Whether the exact work on the SymPy matrix ``M`` fits in seconds, decided before
    any of it: ``(elimination, spectral, step)``.

    The size of the numbers is the bits of the largest entry of the primitive integer
    matrix proportional to ``M`` (a common scale such as ``1e-2200`` costs nothing), or,
    with radicals, the most bits of a rational in an entry; their field's degree is
    :func:`svdkit.exact._field.radical_degree`'s bound. Elimination (rank, det, inverses,
    subspaces, norms) needs at most :data:`MAX_EXACT_BITS` bits (fewer above 2×2:
    :data:`MAX_EXACT_WORK`) and degree :data:`MAX_EXACT_DEGREE` (8 above order 3);
    eigenvalue work (eigh, SVD, definiteness) at most :data:`MAX_SPECTRAL_BITS` bits
    (303 at 3×3; for exact rank 1, as many as elimination) and degree
    :data:`MAX_SPECTRAL_DEGREE`. ``step`` says what was left out and why (keys
    ``exact.omitted_bits``, ``exact.omitted_degree``: everything;
    ``exact.omitted_spectral_bits``, ``exact.omitted_spectral_degree``: the eigenvalue
    work), or is None when nothing was.

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> exact_budget(ex.as_exact("[[1e-2200, 0], [0, 1e-2200]]"))[:2]
    (True, True)
    >>> ok, spectral, step = exact_budget(ex.as_exact("[[1e-400, 1], [1, 1]]"))
    >>> ok, spectral, step.key
    (True, False, 'exact.omitted_spectral_bits')
    """
    from svdkit.exact._field import radical_degree, rational_bits
    from svdkit.exact.steps import Step

    entries = list(M)
    bits = _integer_bits(M)
    if bits is None:
        bits = max((rational_bits(x) for x in entries), default=0)
    degree = radical_degree(entries)
    order = max(*M.shape, 1)
    limit = MAX_EXACT_DEGREE if order <= MAX_SPECTRAL_ORDER else 8
    most = min(MAX_EXACT_BITS, MAX_EXACT_WORK // order**3)
    if bits > most:
        return False, False, Step("exact.omitted_bits", {"bits": bits, "limit": most})
    if degree > limit:
        return False, False, Step("exact.omitted_degree", {
            "degree": degree, "limit": limit, "order": order})
    if order > MAX_SPECTRAL_ORDER:
        return True, False, None
    most = min(MAX_SPECTRAL_BITS, MAX_SPECTRAL_BITS * 8 // order**3)
    if bits > most:
        return True, False, Step("exact.omitted_spectral_bits", {"bits": bits, "limit": most})
    if degree > MAX_SPECTRAL_DEGREE:
        return True, False, Step("exact.omitted_spectral_degree", {
            "degree": degree, "limit": MAX_SPECTRAL_DEGREE})
    return True, True, None


def _rational_matrix(source: Any, shape: tuple[int, int]):
    """The square matrix ``source`` as SymPy's matrix over ℚ (or ℚ(i)), when its entries
    as typed are (Gaussian) rationals and it is at most :data:`MAX_ORDER`; else None."""
    m, n = shape
    if m != n or n > MAX_ORDER or n == 0:
        return None
    M = _exact_matrix(source)
    if M is None:
        return None
    import sympy as sp
    from sympy.polys.matrices import DomainMatrix

    if not all(sp.re(x).is_Rational and sp.im(x).is_Rational for x in M):
        return None  # radicals: no fraction field, and no call for one here
    return DomainMatrix.from_Matrix(M).to_field()


def exact_zero_eigenvalues(source: Any, shape: tuple[int, int]) -> tuple[int, int] | None:
    """``(rank, multiplicity of the eigenvalue 0)`` of a square matrix of rational
    (or Gaussian rational) entries as typed, up to :data:`MAX_ORDER`; else None.

    The multiplicity is the number of trailing zero coefficients of the exact
    characteristic polynomial; both come from SymPy's fraction-field matrices
    (milliseconds at 6×6).

    Examples
    --------
    >>> exact_zero_eigenvalues("3 9; -1 -3", (2, 2))  # nilpotent: rank 1, λ = 0 twice
    (1, 2)
    >>> exact_zero_eigenvalues("1 0; 0 0", (2, 2))
    (1, 1)
    """
    dM = _rational_matrix(source, shape)
    if dM is None:
        return None
    coefficients = dM.charpoly()
    trailing = next(k for k, c in enumerate(reversed(coefficients)) if c)  # (leading is 1)
    return int(dM.rank()), int(trailing)


def exact_diagonalizable(source: Any, shape: tuple[int, int]) -> bool | None:
    """Whether a square matrix of (Gaussian) rational entries as typed is diagonalisable
    over ℂ, exactly (up to :data:`MAX_ORDER`; else None).

    It is iff its minimal polynomial has simple roots, i.e. iff ``q(A) = 0`` for the
    squarefree part ``q = p / gcd(p, p′)`` of its characteristic polynomial ``p``.
    Floating point cannot tell a Jordan block of order 3 hidden by a similarity
    (eigenvalues split by about ``eps^(1/3)``) from three close eigenvalues.

    Examples
    --------
    >>> exact_diagonalizable("0 0 1; 0 0 1; -1 1 0", (3, 3))  # A³ = 0, A ≠ 0
    False
    >>> exact_diagonalizable("2 1; 1 2", (2, 2)), exact_diagonalizable("0 -1; 1 0", (2, 2))
    (True, True)
    """
    dM = _rational_matrix(source, shape)
    if dM is None:
        return None
    import sympy as sp
    from sympy.polys.matrices import DomainMatrix

    x = sp.Dummy("x")
    p = sp.Poly(dM.charpoly(), x, domain=dM.domain)
    q = p.quo(p.gcd(p.diff(x)))
    n = shape[0]
    eye = DomainMatrix.eye(n, dM.domain)
    value = DomainMatrix.zeros((n, n), dM.domain)
    for c in q.all_coeffs():  # Horner: q(A)
        value = value * dM + eye * c
    return bool(value.is_zero_matrix)


def exact_structure(source: Any, shape: tuple[int, int]) -> dict[str, bool] | None:
    """The structure tests of a matrix of (Gaussian) rational entries as typed, decided
    exactly (at most :data:`MAX_ORDER` rows and columns; else None).

    Keys ``symmetric`` (A = Aᵀ), ``hermitian`` (A = Aᴴ), ``normal`` (AAᴴ = AᴴA),
    ``orthonormal`` (AᴴA = I) and ``diagonal`` (every off-diagonal entry is 0;
    rectangular A too). Floating-point
    tests pass within a tolerance: ``[[1, 1e−10], [0, 1]]`` is normal to within it
    (‖AAᴴ − AᴴA‖ = 1e−20) and no normal matrix (a Jordan block).

    Examples
    --------
    >>> sorted(k for k, v in exact_structure("1 1e-10; 0 1", (2, 2)).items() if v)
    []
    >>> s = exact_structure("1 1j; 1j -1", (2, 2))  # complex symmetric, not normal
    >>> s["symmetric"], s["hermitian"], s["normal"]
    (True, False, False)
    """
    m, n = shape
    if max(m, n) > MAX_ORDER or min(m, n) == 0:
        return None
    M = _exact_matrix(source)
    if M is None or M.shape != (m, n):
        return None
    import sympy as sp
    from sympy.polys.matrices import DomainMatrix

    if not all(sp.re(x).is_Rational and sp.im(x).is_Rational for x in M):
        return None
    dM, dH = DomainMatrix.from_Matrix(M), DomainMatrix.from_Matrix(M.H)
    dM, dH = dM.unify(dH)
    dT = DomainMatrix.from_Matrix(M.T).convert_to(dM.domain)
    structure = {
        "diagonal": all(M[i, j] == 0 for i in range(m) for j in range(n) if i != j),
        "orthonormal": dH * dM == DomainMatrix.eye(n, dM.domain),
        "symmetric": False,
        "hermitian": False,
        "normal": False,
    }
    if m == n:
        structure["symmetric"] = dM == dT
        structure["hermitian"] = dM == dH
        structure["normal"] = dM * dH == dH * dM
    return {key: bool(value) for key, value in structure.items()}


def _rank_agreement(report: Report) -> None:
    """Say why the exact rank differs from the numerical one, when it does.

    The exact engine reads the entries as typed (``1.00000000000000001`` is
    ``100000000000000001/10¹⁷``); the numerical engine works on their float64
    rounding (``1.0``) with the tolerance rule. A matrix within rounding of one
    of lower rank then gets two ranks, two determinants, an inverse and none:
    the step says which matrix each result is about.
    """
    from svdkit.exact.steps import Step
    from svdkit.explain.formatting import Shown

    sec = report.section("measures")
    try:
        exact = int(sec.fact("rank_exact"))
    except (KeyError, TypeError, ValueError):
        return
    numeric = sec.fact("rank")
    if exact != numeric:
        sec.steps.append(Step("exact.rank_differs", {
            "exact": exact, "numeric": numeric,
            # text, never printed as 0; its float value in JSON
            "tol": Shown(report.tolerance, digits=3),
        }))


def _record_failure(sec, name: str, err: Exception) -> None:
    """Say in ``sec`` (fact ``exact_error``) and as a warning that ``name`` failed unexpectedly."""
    text = f"svdkit.exact.{name}: {type(err).__name__}: {err}"
    warnings.warn(f"exact part of the report not computed ({text}); please report this bug",
                  RuntimeWarning, stacklevel=3)
    previous = [f for f in sec.facts if f.key == "exact_error"]
    if previous:
        text = f"{previous[0].value}; {text}"
        sec.facts.remove(previous[0])
    sec.add("exact_error", text)
