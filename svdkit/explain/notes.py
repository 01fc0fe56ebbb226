"""Where the course notes are wrong, and this matrix shows it.

Each check looks at one claim of the notes (quoted in its docstring), decides
whether the matrix at hand is a counterexample, and if so returns a
:class:`~svdkit.explain.model.Note` whose text (from the message catalogue) says
what is true, with this matrix's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from svdkit.explain.computed import Computed
from svdkit.explain.messages import t
from svdkit.explain.model import Note
from svdkit.linalg.svd import SVD

__all__ = ["Evidence", "collect_notes"]


@dataclass(frozen=True)
class Evidence:
    """What the report computed, shared by the checks.

    ``computed`` is the report's :class:`~svdkit.explain.computed.Computed`: the
    checks take the structure tests, det A and A⁺ from it instead of computing
    them again (a fresh one, on ``matrix``, ``svd`` and ``tol``, when not given).
    """

    matrix: np.ndarray
    svd: SVD
    threshold: float
    tol: float | None
    eigenvalues: np.ndarray | None = None
    definiteness: object | None = None
    computed: Computed | None = None
    source: object = None
    """The matrix as the user gave it (text, a list, an array), for exact checks."""
    eigen_threshold: float | None = None
    """The zero threshold of ``eigenvalues`` where it is not ``threshold``: a Hermitian
    A's, the one :func:`svdkit.definiteness` counts by (``tol_used``)."""
    exact_eigenvalues: tuple | None = None
    """The exact eigenvalues (SymPy roots of the exact characteristic polynomial, with
    multiplicity) where the report has them (a small non-Hermitian A of rational
    entries, with steps), else None: the notes then count and sum by them."""

    def __post_init__(self) -> None:
        if self.computed is None:
            c = Computed(self.matrix, self.tol)
            c.svd = self.svd  # (a cached_property: set, not computed again)
            object.__setattr__(self, "computed", c)


def _num(x: complex | float, zero: float = 0.0) -> str:
    """``x`` as the notes print it: 0 only at or below ``zero``, a threshold in the units
    of ``x`` (the report's, for quantities in A's units), never an absolute one: the
    counterexample of a note on ``1e−13·A`` is no 0."""
    from svdkit.explain.formatting import NumberFormat

    return NumberFormat(zero=zero).number(x)


def rank_eigenvalues(ev: Evidence) -> dict | None:
    """Annexe C.4: "the rank of a square matrix is its number of non-zero eigenvalues".

    The claim fails only where the eigenvalue 0 is defective. Never for a Hermitian
    A: its eigenvalues, from the Hermitian solver and zero at
    :func:`svdkit.definiteness`'s threshold (``eigen_threshold``), are as many
    non-zero as the rank by construction, so no note.

    A defective eigenvalue 0 comes out of LAPACK as a cluster of size about
    ``eps^(1/p)·‖A‖`` (±2e−8 for the nilpotent ``[[3, 9], [−1, −3]]``), above any
    zero threshold: the count is then taken from the exact characteristic
    polynomial of the matrix as typed, where its rank agrees with the report's
    (only then: the counts agree for most matrices, without SymPy). Where the report
    shows the exact eigenvalues (``ev.exact_eigenvalues``), that count always decides
    (with that same proviso), so the note agrees with ``eigenvalues_exact``. That count
    decides also for a matrix normal only to within the tolerance
    (``[[0, 1e−9, 0], [0, 0, 0], [0, 0, 1]]``, exactly defective).

    Otherwise, for a (numerically) normal A, ``|λᵢ| = σᵢ`` to within rounding: where a
    zero threshold between two consecutive sorted ``|λ|`` can give the rank, a
    difference of the counts is an eigenvalue near the threshold that rounding put on
    the other side of it than its singular value: ``case`` ``normal`` says so, rather
    than suggest a defective eigenvalue. Where no threshold can (``case``
    ``normal_tie``: the rank cuts between eigenvalues of the same modulus, as the
    conjugate pair ``1.5e−16 ± 6.7e−16i`` of a real A whose singular values
    ``7.8e−16`` and ``6.6e−16`` lie either side of the threshold), A is normal only to
    within rounding and its numerical rank cuts between nearly equal singular values:
    the note says that, and not that the counts agree.
    """
    if ev.eigenvalues is None or ev.computed.hermitian:
        return None
    rank = ev.computed.rank
    nonzero = int(np.count_nonzero(np.abs(ev.eigenvalues) > ev.threshold))
    exact = None
    if (nonzero != rank or ev.exact_eigenvalues is not None) and ev.source is not None:
        from svdkit.explain.exact_steps import exact_zero_eigenvalues

        exact = exact_zero_eigenvalues(ev.source, ev.matrix.shape)
        if exact is not None and exact[0] == rank:
            nonzero = ev.matrix.shape[0] - exact[1]
        else:
            exact = None
    if nonzero == rank:
        return None
    if exact is None and ev.computed.normal:
        mags = np.sort(np.abs(ev.eigenvalues))[::-1]
        if rank in (0, mags.size) or mags[rank - 1] > mags[rank]:
            return {"case": "normal", "rank": rank, "nonzero": nonzero}
        # the rank cuts between eigenvalues of the same modulus: no threshold gives it
        tied = np.abs(np.abs(ev.eigenvalues) - mags[rank]) == 0
        sigma = ev.svd.s
        return {
            "case": "normal_tie",
            "rank": rank,
            "nonzero": nonzero,
            "eigenvalues": ", ".join(_num(x) for x in ev.eigenvalues[tied]),
            "modulus": _num(float(mags[rank])),
            "sigma_in": _num(float(sigma[rank - 1])),
            "sigma_out": _num(float(sigma[rank])),
            "threshold": _num(ev.threshold),
        }
    return {"rank": rank, "nonzero": nonzero}


def sylvester_psd(ev: Evidence) -> dict | None:
    """Note 000, 5.2 (4): "all leading principal minors ≥ 0 ⇔ positive semidefinite"."""
    d = ev.definiteness
    if d is None or not d.sylvester.notes_claim_misleads:
        return None
    return {"kind": d.kind}


def pinv_order(ev: Evidence) -> dict | None:
    """Note 003: "the pseudo-inverse of M = U S Vᵗ is U S* Vᵗ" (it is V S⁺ Uᵗ)."""
    a, dec = ev.matrix, ev.svd
    m, n = a.shape
    if m != n:
        return {"case": "shape", "m": m, "n": n}
    if ev.computed.hermitian:
        # A⁺ of a Hermitian A is Hermitian: U Σ⁺ Vᴴ = (A⁺)ᴴ = A⁺. Computed ones can differ
        # where σᵣ is near σᵣ₊₁ (ill-determined singular vectors): rounding, no
        # counterexample, and the note's own sentence says they agree
        return None
    r = ev.computed.rank
    if r == 0:
        return None  # A = 0: both products are the zero matrix
    # both sides times σᵣ (the least σ kept): Σ⁺σᵣ = diag(σᵣ/σᵢ) ≤ 1, finite also where
    # 1/σᵢ overflows (σ = 5e−324) or σ₁ did (the σ of A·2^−e, same ratios)
    s = ev.computed.scaled_sigma[0][:r]
    with np.errstate(under="ignore"):
        ratios = s[-1] / s
    U, Vh = dec.U[:, :r], dec.Vh[:r]
    wrong = (U * ratios) @ Vh  # U Σ⁺ Vᴴ · σᵣ
    right = (Vh.conj().T * ratios) @ U.conj().T  # A⁺ σᵣ = V Σ⁺ Uᴴ · σᵣ
    if np.linalg.norm(wrong - right) <= 1e-9 * max(1.0, np.linalg.norm(right)):
        return None
    return {"case": "values"}


def reflection(ev: Evidence) -> dict | None:
    """Note 000, 2.2: "rotation, stretch, then rotation" (one may have to be a reflection)."""
    a = ev.matrix
    if np.iscomplexobj(a) or a.shape[0] != a.shape[1]:
        return None
    if ev.computed.rank < a.shape[0]:
        return None  # det A = 0: the null pair's sign is free, U and V can both be rotations
    sign, _ = ev.computed.slogdet
    if sign >= 0:
        return None
    det = ev.computed.determinant
    if not isinstance(det, str) and det >= -ev.threshold:
        return None
    # (det A of a full-rank A is no 0, whatever its scale: 1e−26 for 1e−13·I₂)
    return {"det": det if isinstance(det, str) else _num(det)}


def sigma_order(ev: Evidence) -> dict | None:
    """Note 003: "the SVD of a diagonal matrix, diag(2, 3), is I · diag(2, 3) · I".

    Two ways it fails: the σ are not in descending order (``case`` absent; ``phase``
    where an entry is not real: U and V are then permutations times unit complex
    factors, not signed permutations, for ``diag(i, 2)``), or they are but an entry is
    negative or complex (``case`` ``sign``): Σ is real and ≥ 0, so the signs (phases)
    go into U or V, as in the INSA note's [[3, 0], [0, −2]] = I · diag(3, 2) · diag(1, −1).
    """
    a = ev.matrix
    m, n = a.shape
    if m != n or not ev.computed.diagonal:
        return None
    diag = np.diagonal(a)
    # the entries as typed (diag(1e−20, 1) has no entry 0); σ likewise where A is exactly
    # diagonal (its σ are then the |aᵢᵢ|, sorted), else the SVD's at the report's threshold
    if np.all(a == np.diag(diag)):
        sigmas = ", ".join(_num(x) for x in np.sort(np.abs(diag))[::-1])
    else:
        sigmas = ", ".join(_num(x, ev.threshold) for x in ev.svd.s)
    values = {"diag": ", ".join(_num(x) for x in diag), "sigmas": sigmas}
    d = np.abs(diag)
    rounding = d.size * np.finfo(ev.computed.precision).eps * float(np.max(d, initial=0.0))
    if not np.all(d[:-1] >= d[1:] - rounding):  # (√2² = 2.0000000000000004 is 2)
        if np.any(np.abs(np.imag(diag)) > ev.threshold):  # (diag(i, 2): U or V is not real)
            return {"case": "phase"} | values
        return values
    off = [x for x in diag if abs(x) > ev.threshold and (x.real < 0 or abs(x.imag) > ev.threshold)]
    if not off:
        return None
    return {"case": "sign", "entry": _num(off[0], ev.threshold)} | values


def identity_definition(ev: Evidence) -> dict | None:
    """Note 003: "a diagonal matrix whose non-zero entries all equal 1 is an identity matrix".

    ``diag(1, 0)`` fits that description and is no identity: ``A e₂ = 0``. The note
    must be true of the matrix as typed. Where its exact entries are known (the exact
    engine reads ``ev.source``: integers, fractions, decimals, at most
    :data:`~svdkit.explain.exact_steps.MAX_ORDER`), they decide: ``diag(1e−20, 1)`` is
    invertible, has an entry that is neither 0 nor 1, and gets no note. Otherwise the
    float64 entries decide: exactly 0 and 1 (the plain note), or within rounding of
    them (``case`` ``rounding``: the note says so). Within rounding is the tolerance
    rule's threshold n·eps·max |aᵢᵢ|, whatever ``--tol`` says (with ``--tol 0.5``,
    ``diag(1, 0.1)`` has no zero entry and is no projection). The diagonal is printed
    as typed, never a small entry as 0.
    """
    a = ev.matrix
    m, n = a.shape
    if m != n or not ev.computed.diagonal:
        return None
    exact = _exact_square(ev.source, n)
    if exact is not None:
        if any(exact[i, j] != 0 for i in range(n) for j in range(n) if i != j):
            return None
        entries = [exact[i, i] for i in range(n)]
        zero = np.array([x == 0 for x in entries])
        one = np.array([x == 1 for x in entries])
        case = None
        from svdkit.exact.format import to_text

        text = ", ".join(to_text(x) for x in entries)
    else:
        diag = np.diagonal(a)
        # the tolerance rule's threshold n·eps·σ₁ (σ₁ = max |aᵢᵢ|), whatever --tol says:
        # an entry the report's rank counts (diag(1, 1e−15) has rank 2) is not 0 here
        rounding = n * np.finfo(ev.computed.precision).eps * float(np.max(np.abs(diag)))
        if np.max(np.abs(a - np.diag(diag))) > rounding:
            return None  # diagonal only to within the given tolerance
        zero = np.abs(diag) <= rounding
        one = np.abs(diag - 1) <= rounding
        exactly = bool(np.all((diag == 0) | (diag == 1)) and np.all(a == np.diag(diag)))
        case = None if exactly else "rounding"
        text = ", ".join(_num(x) for x in diag)
    if not (np.all(zero | one) and zero.any() and one.any()):
        return None
    k = int(np.argmax(zero)) + 1
    e = "e" + str(k).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
    values = {"diag": text, "e": e}
    return values if case is None else {"case": case} | values


def _exact_square(source: object, n: int):
    """The exact n×n matrix of ``source`` as typed (SymPy), or None where the exact engine
    cannot read it (floats stored in an array, no SymPy, larger than it works on)."""
    from svdkit.explain.exact_steps import MAX_ORDER, _exact_matrix

    if source is None or n > MAX_ORDER:
        return None
    exact = _exact_matrix(source)
    if exact is None or exact.shape != (n, n):
        return None
    return exact


def complex_symmetric(ev: Evidence) -> dict | None:
    """Note 003: "a symmetric matrix is automatically normal", normal defined as
    MMᵗ = MᵗM, and "every normal matrix is diagonalisable"; Annexe C.5: a symmetric
    matrix has real eigenvalues and an orthogonal U.

    True of real matrices. A complex symmetric A (A = Aᵀ, A ≠ Aᴴ) satisfies
    AAᵀ = AᵀA (both are A²) and refutes each claim it meets: ``case`` ``defective``, not
    even diagonalisable (``[[1, i], [i, −1]]``, with A² = 0: nilpotent, A ≠ 0);
    ``not_normal``, diagonalisable but AAᴴ ≠ AᴴA, so no orthonormal eigenbasis;
    ``normal`` (``[[1, i], [i, 1]]``, eigenvalues 1 ± i), normal but with eigenvalues
    that are not all real (a normal matrix of real eigenvalues is Hermitian).

    Defective or diagonalisable is decided on the entries as typed wherever the exact
    engine reads them, whatever ``tol`` is (at ``tol=1e−12`` the float64 eigenvalues
    ±1e−8 of that nilpotent A pass as distinct). Where only the floating-point verdict
    is at hand, a "yes" asserts nothing: ``case`` ``not_normal_numeric`` says A is not
    normal without calling it diagonalisable.
    """
    a = ev.matrix
    c = ev.computed
    if a.shape[0] != a.shape[1] or not c.symmetric or c.hermitian:
        return None
    exact = None if c.single else _exact_diagonalizable(c.source, a.shape)
    if not (c.diagonalizable if exact is None else exact):
        return {"case": "defective"}
    if not c.normal:
        return {"case": "not_normal" if exact else "not_normal_numeric"}
    if ev.eigenvalues is None:
        return None
    return {"case": "normal", "eigenvalues": ", ".join(_num(x, ev.threshold)
                                                       for x in ev.eigenvalues)}


def _exact_diagonalizable(source: object, shape: tuple[int, int]) -> bool | None:
    """:func:`~svdkit.explain.exact_steps.exact_diagonalizable` of A as typed; None where
    its entries are unknown or no (Gaussian) rationals, or A is too large."""
    if source is None:
        return None
    from svdkit.explain.exact_steps import exact_diagonalizable

    return exact_diagonalizable(source, shape)


def zero_sigma_columns(ev: Evidence) -> dict | None:
    """Note 000, Property 3.2: "the columns of U associated with zero singular values form
    a basis of N(Aᵀ)" (and those of V, of N(A)).

    False for a tall A (m > n, ``case`` ``tall``): it has n singular values, U has m
    columns, and the last m − n belong to no σ; N(Aᴴ), of dimension m − r, is spanned
    by the columns r+1..m of the full U: those of the zero σ and the m − n with none.
    ``[[1], [2], [2]]`` has no zero σ and dim N(Aᵀ) = 2. Likewise V and N(A) for a
    wide A (``case`` ``wide``).
    """
    m, n = ev.matrix.shape
    if m == n:
        return None
    r = ev.computed.rank
    k = min(m, n)
    big = max(m, n)
    return {"case": "tall" if m > n else "wide", "m": m, "n": n, "k": k, "zero": k - r,
            "dim": big - r, "extra": big - k}


def orthogonal_eigenvectors(ev: Evidence) -> dict | None:
    """Note 003: "a diagonalisable n×n matrix has n orthogonal eigenvectors" (only normal ones)."""
    a = ev.matrix
    if a.shape[0] != a.shape[1] or a.shape[0] < 2:
        return None
    if not ev.computed.diagonalizable or ev.computed.normal:
        return None
    if _exact_diagonalizable(None if ev.computed.single else ev.computed.source,
                             a.shape) is False:
        return None  # (with --tol, the entries as typed still say defective: A² = 0)
    return {}


def trace_eigenvalues(ev: Evidence) -> dict | None:
    """Note 000, 6.2: "if A is symmetric, Tr A = Σλᵢ" (true for every square matrix).

    No note for a symmetric A (a complex symmetric one meets the claim's hypothesis)
    nor a Hermitian one: the claim's "symmetric" is, for a complex matrix, Hermitian
    (the report calls it "symmetric (Hermitian)" in its spectral theorem), and the
    note saying "this non-symmetric one" of it would contradict the report.

    Σλᵢ never reads as another number than Tr A through rounding. Where the report
    has the exact eigenvalues (``ev.exact_eigenvalues``), their sum is Tr A exactly
    (the sum of the roots of the characteristic polynomial): both print as Tr A.
    Otherwise Σλᵢ of LAPACK's values is printed as Tr A where they differ by at most
    the report's zero threshold or rounding (``8·n·eps`` times the largest |aᵢᵢ| or
    |λᵢ|), else as computed, both with 0 at the report's threshold (in A's units):
    ``Tr A = 0, Σλᵢ = −8.4e−16`` would read as two numbers for the nilpotent
    ``[[3, 9], [−1, −3]]`` (numeric eigenvalues ±2e−8).
    """
    a = ev.matrix
    if ev.eigenvalues is None or ev.computed.symmetric or ev.computed.hermitian:
        return None
    zero = ev.threshold
    trace = _scaled_sum(np.diagonal(a), zero)
    if ev.exact_eigenvalues is not None or _within_rounding(np.diagonal(a), ev.eigenvalues,
                                                            zero):
        return {"trace": trace, "sum": trace}
    return {"trace": trace, "sum": _scaled_sum(ev.eigenvalues, zero)}


def _within_rounding(diag: np.ndarray, eigenvalues: np.ndarray, zero: float) -> bool:
    """Whether Σλᵢ and Tr A differ by at most ``zero`` or rounding (``8·n·eps`` times the
    largest term), compared scaled by a power of two (no overflow, no warning)."""
    terms = np.concatenate([np.asarray(diag, dtype=complex),
                            np.asarray(eigenvalues, dtype=complex)])
    if not np.all(np.isfinite(terms)):
        return False
    big = float(np.max(np.abs(terms), initial=0.0))
    if big == 0.0:
        return True
    e = math.frexp(big)[1]

    def scaled_sum(v: Any) -> complex:
        v = np.asarray(v, dtype=complex)
        return complex(np.sum(np.ldexp(v.real, -e)), np.sum(np.ldexp(v.imag, -e)))

    gap = abs(scaled_sum(diag) - scaled_sum(eigenvalues))  # in units of 2^e
    rounding = 8 * np.size(eigenvalues) * np.finfo(float).eps
    # (zero in units of 2^e; a --tol far above every term allows any gap)
    allowed = math.ldexp(zero, -e) if zero < math.ldexp(1.0, min(e + 64, 1023)) else math.inf
    return gap <= max(rounding, allowed)


def _scaled_sum(values: Any, zero: float = 0.0) -> str:
    """``Σ values``, summed scaled by a power of two: a trace of entries near 1e308
    lies beyond float64 (written as :class:`~svdkit.explain.formatting.Scientific`).

    A sum at or below ``zero`` (the report's threshold, in the units of the values),
    or below rounding of the largest term, prints as 0."""
    from svdkit.explain.formatting import scaled_number

    v = np.asarray(values, dtype=complex)
    big = float(np.max(np.abs(v))) if v.size else 0.0
    if not math.isfinite(big) or big == 0.0:
        return _num(complex(np.sum(v)) if np.iscomplexobj(values) else float(np.sum(v.real)))
    e = math.frexp(big)[1]
    total = complex(np.sum(np.ldexp(v.real, -e)), np.sum(np.ldexp(v.imag, -e)))
    value = scaled_number(total if np.iscomplexobj(values) else total.real, e)
    if isinstance(value, str):
        return str(value)
    from svdkit.explain.formatting import NumberFormat

    # zero below rounding of the largest term (a trace of 1e-300 entries is not 0), or
    # at the report's threshold
    return NumberFormat(zero=max(1e-12 * big, zero)).number(value)


def orthonormal_inverse(ev: Evidence) -> dict | None:
    """Note 003: "an orthonormal M (MᵗM = I) has its transpose as right inverse" (left)."""
    a = ev.matrix
    m, n = a.shape
    if m <= n or not ev.computed.orthonormal:
        return None
    return {"m": m, "n": n}


def hermitian_positive(ev: Evidence) -> dict | None:
    """INSA note, Th. 3.3: "Hermitian matrices have real and positive eigenvalues"."""
    if ev.eigenvalues is None or not ev.computed.hermitian:
        return None
    lam = np.real(ev.eigenvalues)
    zero = ev.threshold if ev.eigen_threshold is None else ev.eigen_threshold
    if lam.min() >= -zero:  # (zero as the definiteness inertia counts it)
        return None
    return {"value": _num(lam.min(), zero)}  # (below −zero: never printed as 0)


CHECKS = (
    rank_eigenvalues,
    sylvester_psd,
    pinv_order,
    reflection,
    sigma_order,
    identity_definition,
    complex_symmetric,
    zero_sigma_columns,
    orthogonal_eigenvectors,
    trace_eigenvalues,
    orthonormal_inverse,
    hermitian_positive,
)


def collect_notes(ev: Evidence, lang: str = "en") -> list[Note]:
    """Every note whose claim this matrix refutes, in the order of :data:`CHECKS`."""
    notes = []
    for check in CHECKS:
        values = check(ev)
        if values is None:
            continue
        key = f"note.{check.__name__}"
        if "case" in values:
            key += f".{values['case']}"
        found = dict(values)  # (the kind stays the stable English name here)
        if "kind" in values:  # a definiteness kind, in the report's language
            values["kind"] = t("kind." + str(values["kind"]).replace(" ", "_"), lang)
        notes.append(Note(check.__name__, t(key, lang, **values), found))
    return notes
