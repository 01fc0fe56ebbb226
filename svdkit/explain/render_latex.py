r"""The report as a standalone LaTeX document (pdflatex, plain ASCII maths).

The catalogue's sentences are Unicode prose with maths in them ("A = U Σ Vᴴ",
"‖A A⁻¹ − I‖_F", "σ₁/σ_min"). :func:`latex_text` escapes the prose and turns the
maths into LaTeX: a word holding a maths symbol (Greek letters, super- and
subscripts, ‖, ≤, ·, √, …), an operator (=, <, |, _) or a lone variable letter
is maths, and neighbouring maths words form one ``$…$``. Every character that
pdflatex cannot read in text mode goes through a table (:data:`MATH_SYMBOLS`,
:data:`TEXT_SYMBOLS`), so that the document compiles with T1 fonts and UTF-8
input, whatever the language.

Examples
--------
>>> latex_text("Singular value decomposition A = U Σ Vᴴ")
'Singular value decomposition $A = U \\Sigma V^{\\mathsf{H}}$'
>>> latex_text("50% of x_1 & {y}")
'50\\% of $x_{1}$ \\& \\{y\\}'
>>> latex_math("‖A A⁻¹ − I‖_F")
'\\|A A^{-1} - I\\|_{F}'
"""

from __future__ import annotations

import enum
import re
import unicodedata
from fractions import Fraction
from typing import Any

import numpy as np

from svdkit.exact.steps import ROW_EQUIVALENT, matrix_relation
from svdkit.explain.elision import Dots, corner_grid, kept, vector_text
from svdkit.explain.formatting import NumberFormat, Scientific
from svdkit.explain.model import Report
from svdkit.explain.render_text import (
    criteria_rows,
    elision_note,
    exact_text,
    fact_format,
    fact_value_text,
    fill,
    has_elided,
    has_message,
    heading_lines,
    is_sympy,
    label,
    matrix_entries,
    matrix_name,
    number_format,
    section_title,
    step_sentence,
    template,
    value_text,
)

__all__ = [
    "LATEX_DOTS",
    "MATH_SYMBOLS",
    "REPORT_MARK",
    "TEXT_SYMBOLS",
    "exact_latex",
    "latex_math",
    "latex_matrix",
    "latex_number",
    "latex_text",
    "latex_value",
    "render_latex",
]

# fmt: off
#: Unicode maths characters and their LaTeX (maths mode).
MATH_SYMBOLS = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon",
    "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "ι": r"\iota", "κ": r"\kappa",
    "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi", "π": r"\pi", "ρ": r"\rho",
    "σ": r"\sigma", "ς": r"\varsigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\varphi",
    "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega",
    "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi",
    "Π": r"\Pi", "Σ": r"\Sigma", "Υ": r"\Upsilon", "Φ": r"\Phi", "Ψ": r"\Psi",
    "Ω": r"\Omega",
    "‖": r"\|", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx", "≡": r"\equiv",
    "·": r"\cdot", "⋅": r"\cdot", "×": r"\times", "−": "-", "±": r"\pm",
    "∓": r"\mp", "∞": r"\infty", "∈": r"\in", "∉": r"\notin", "⊂": r"\subset",
    "⊆": r"\subseteq", "∩": r"\cap", "∪": r"\cup", "∅": r"\emptyset", "⊥": r"\perp",
    "⟂": r"\perp", "⊕": r"\oplus", "⊗": r"\otimes", "∘": r"\circ", "→": r"\to",
    "←": r"\leftarrow", "↦": r"\mapsto", "⇒": r"\Rightarrow", "⇐": r"\Leftarrow",
    "⇔": r"\Leftrightarrow", "↔": r"\leftrightarrow", "∀": r"\forall", "∃": r"\exists",
    "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "∂": r"\partial", "∇": r"\nabla",
    "√": r"\surd", "∼": r"\sim", "≃": r"\simeq", "≅": r"\cong", "≪": r"\ll", "≫": r"\gg",
    "⟨": r"\langle", "⟩": r"\rangle", "⌈": r"\lceil", "⌉": r"\rceil", "⌊": r"\lfloor",
    "⌋": r"\rfloor", "…": r"\dots", "⋯": r"\cdots", "⋮": r"\vdots", "⋱": r"\ddots",
    "ℂ": r"\mathbb{C}", "ℝ": r"\mathbb{R}", "ℚ": r"\mathbb{Q}", "ℤ": r"\mathbb{Z}",
    "ℕ": r"\mathbb{N}", "ℓ": r"\ell", "ⅈ": "i", "∗": "*", "′": "'", "″": "''",
    "¬": r"\neg", "∧": r"\wedge", "∨": r"\vee", "°": r"^{\circ}", "∣": r"\mid",
    "⎡": "[", "⎢": "[", "⎣": "[", "⎤": "]", "⎥": "]", "⎦": "]",
}

#: Superscript characters and what they raise.
SUPERSCRIPTS = {
    "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7",
    "⁸": "8", "⁹": "9", "⁺": "+", "⁻": "-", "⁼": "=", "⁽": "(", "⁾": ")", "ⁿ": "n",
    "ⁱ": "i", "ᵏ": "k", "ʲ": "j", "ᵐ": "m", "ᵗ": "t", "ᵀ": r"\mathsf{T}",
    "ᴴ": r"\mathsf{H}", "ˣ": "x", "ᵖ": "p", "ʳ": "r", "˟": "*",
}

#: Subscript characters and what they lower.
SUBSCRIPTS = {
    "₀": "0", "₁": "1", "₂": "2", "₃": "3", "₄": "4", "₅": "5", "₆": "6", "₇": "7",
    "₈": "8", "₉": "9", "₊": "+", "₋": "-", "₌": "=", "₍": "(", "₎": ")", "ᵢ": "i",
    "ⱼ": "j", "ₖ": "k", "ₗ": "l", "ₘ": "m", "ₙ": "n", "ₚ": "p", "ₛ": "s", "ₜ": "t",
    "ₐ": "a", "ₑ": "e", "ₒ": "o", "ₓ": "x", "ᵣ": "r",
}

#: Unicode punctuation of prose and its LaTeX (text mode).
TEXT_SYMBOLS = {
    "—": "---", "–": "--", "’": "'", "‘": "`", "“": "``", "”": "''", "„": ",,",
    "«": r"\guillemotleft{}", "»": r"\guillemotright{}", "…": r"\dots{}",
    "\u00a0": "~", "\u202f": r"\,", "\u2009": r"\,", "•": r"\textbullet{}", "⚠": "(!)",
    "★": r"$\star$", "§": r"\S{}", "©": r"\textcopyright{}", "€": "EUR", "✓": r"$\checkmark$",
}

_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", "\n": " ",
}

_MATH_ESCAPES = {
    "#": r"\#", "%": r"\%", "&": r"\&", "$": r"\$", "~": r"\sim", "{": r"\{", "}": r"\}",
    "\\": r"\backslash", "\n": " ",
}

#: Function names printed upright in maths (``\det A``, ``\operatorname{Tr} A``).
_OPERATORS = {
    "max": r"\max", "min": r"\min", "det": r"\det", "dim": r"\dim", "exp": r"\exp",
    "log": r"\log", "ln": r"\ln", "ker": r"\ker", "sup": r"\sup", "inf": r"\inf",
    "sin": r"\sin", "cos": r"\cos", "arg": r"\arg", "deg": r"\deg",
    "Tr": r"\operatorname{Tr}", "tr": r"\operatorname{tr}", "diag": r"\operatorname{diag}",
    "rank": r"\operatorname{rank}", "rang": r"\operatorname{rang}", "sgn": r"\operatorname{sgn}",
    "eps": r"\mathrm{eps}", "Re": r"\operatorname{Re}", "Im": r"\operatorname{Im}",
}

# fmt: on

_MATHY_CHARS = set(MATH_SYMBOLS) | set(SUPERSCRIPTS) | set(SUBSCRIPTS) | set("=<>|_^")
_NEUTRAL_CHARS = {"…"}
_PUNCT = ",.;:!?"
_OPERATOR_CHARS = set("=<>≤≥≠·×−+/…^_*")
_RELATIONS = frozenset({"=", "≠", "<", ">", "≤", "≥"})
_NUMBER = re.compile(r"^[−\-+]?\d+(?:[.,]\d+)?$")
_SCIENTIFIC = re.compile(r"^[−\-+]?\d+(?:\.\d+)?e[+\-−]\d+$")


def _is_text_letter(c: str) -> bool:
    """Letters pdflatex reads in text mode with UTF-8 input and T1 fonts (Latin)."""
    return ord(c) < 0x180 and unicodedata.category(c).startswith("L")


# ---------------------------------------------------------------- maths


def _group(text: str, i: int) -> tuple[str, int]:
    """The maths atom starting at ``text[i]`` (a number, a word, a symbol or a bracketed group)."""
    if i >= len(text):
        return "", i
    if text[i] in "([":
        close = {"(": ")", "[": "]"}[text[i]]
        depth = 0
        for j in range(i, len(text)):
            depth += text[j] == text[i]
            depth -= text[j] == close
            if depth == 0:
                return latex_math(text[i + 1 : j]), j + 1
        return latex_math(text[i + 1 :]), len(text)
    m = re.match(r"\d+(?:\.\d+)?|[A-Za-z]+", text[i:])
    if m:
        return latex_math(m.group()), i + m.end()
    return latex_math(text[i]), i + 1


def _letters(run: str, after: str) -> str:
    """A run of ASCII letters in maths: an operator name, a word or a product of variables."""
    if run in _OPERATORS:
        command = _OPERATORS[run]
        return (
            command + " "
            if command[-1].isalpha() and (after.isalnum() or after == " ")
            else command
        )
    if len(run) >= 2 and run.islower():
        return r"\mathrm{" + run + "}"
    return run


def _script(out: list[str], mark: str, body: str) -> str:
    """``^{body}`` or ``_{body}``; after another of the same kind, on an empty base ``{}``."""
    last = out[-1] if out else ""
    base = "{}" if last.startswith(mark) or not out else ""
    return f"{base}{mark}{{{body}}}"


#: Leibniz's ``a₁,σ(1)``: the whole pair is the index (``a_{1,σ(1)}``), not just ``1``.
_PERMUTATION_INDEX = re.compile(r"(?<=[a-z])([₀-₉ₙᵢⱼₖ]),(σ\([0-9a-z]\))")


#: A number in e-notation with its exponent's sign, as :class:`NumberFormat` writes it
#: (``1e−15``, ``(0.6 + 0.8i)e+400``): the same number in prose reads ``1 · 10⁻¹⁵``.
_E_NOTATION = re.compile(r"((?<![A-Za-z])\d|\))e([+\-−])0*(\d+)(?![\w.])")


def _power_of_ten(m: re.Match) -> str:
    minus = "-" if m.group(2) in ("-", "−") else ""
    return f"{m.group(1)} · 10^{{{minus}{m.group(3)}}}"


def latex_math(text: str) -> str:
    r"""Unicode maths (``"σ₁ ≥ σ₂"``, ``"‖A‖_F²"``, ``"√2/2"``) as ASCII LaTeX maths (no ``$``).

    Examples
    --------
    >>> latex_math("σ₁ ≥ σ₂ ≥ … ≥ 0")
    '\\sigma_{1} \\ge \\sigma_{2} \\ge \\dots \\ge 0'
    >>> latex_math("√2/2 + max(m, n)·eps")
    '\\sqrt{2}/2 + \\max(m, n)\\cdot \\mathrm{eps}'
    """
    text = _PERMUTATION_INDEX.sub(
        lambda m: "_{" + SUBSCRIPTS[m.group(1)] + "," + m.group(2) + "}", text
    )
    text = _E_NOTATION.sub(_power_of_ten, text)
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in SUPERSCRIPTS or c in SUBSCRIPTS:
            table, mark = (SUPERSCRIPTS, "^") if c in SUPERSCRIPTS else (SUBSCRIPTS, "_")
            j, body = i, []
            while j < n:
                if text[j] in table:
                    body.append(table[text[j]])
                elif text[j] in "≤≥<>=" and j + 1 < n and text[j + 1] in table:
                    body.append(MATH_SYMBOLS.get(text[j], text[j]) + " ")  # Σᵢ≤ₖ
                else:
                    break
                j += 1
            out.append(_script(out, mark, "".join(body).strip()))
            i = j
        elif c in "_^" and i + 1 < n and text[i + 1] not in " ":
            if text[i + 1] == "{":
                depth, j = 0, i + 1
                while j < n:
                    depth += text[j] == "{"
                    depth -= text[j] == "}"
                    if depth == 0:
                        break
                    j += 1
                out.append(_script(out, c, latex_math(text[i + 2 : j])))
                i = j + 1
            else:
                m = re.match(r"[A-Za-z]+|\d+|[−\-+]?\(?[^\s,;:)]*\)?", text[i + 1 :])
                body = m.group() if m and m.group() else text[i + 1]
                out.append(_script(out, c, latex_math(body)))
                i += 1 + len(body)
        elif c == "√":
            arg, i = _group(text, i + 1)
            out.append(r"\sqrt{" + arg + "}" if arg else r"\surd ")
        elif c == "∛":  # the exact engine's cube roots (svdkit.exact.format)
            arg, i = _group(text, i + 1)
            out.append(r"\sqrt[3]{" + arg + "}" if arg else r"\sqrt[3]{\;}")
        elif c == "*":
            prev = text[i - 1] if i else " "
            out.append("^{*}" if (prev.isalnum() or prev in ")]") else r"\ast ")
            i += 1
        elif c == "∞" and i and text[i - 1] == "‖":  # ‖A‖∞, the ∞-norm
            out.append(r"_{\infty}")
            i += 1
        elif c in MATH_SYMBOLS:
            cmd = MATH_SYMBOLS[c]
            nxt = text[i + 1] if i + 1 < n else ""
            out.append(cmd + (" " if cmd[-1].isalpha() and (nxt.isalpha() or nxt in "‖") else ""))
            i += 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and text[j].isascii() and text[j].isalpha():
                j += 1
            out.append(_letters(text[i:j], text[j] if j < n else ""))
            i = j
        elif c in _MATH_ESCAPES:
            out.append(_MATH_ESCAPES[c])
            i += 1
        elif c.isascii():
            out.append(c)
            i += 1
        elif _is_text_letter(c):
            out.append(r"\text{" + c + "}")
            i += 1
        elif c in TEXT_SYMBOLS:
            out.append(r"\text{" + TEXT_SYMBOLS[c] + "}")
            i += 1
        else:
            out.append("?")
            i += 1
    return "".join(out).rstrip()


# ---------------------------------------------------------------- prose


def _escape_text(word: str) -> str:
    out = []
    for c in word:
        if c in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[c])
        elif c in TEXT_SYMBOLS:
            out.append(TEXT_SYMBOLS[c])
        elif c.isascii() or _is_text_letter(c):
            out.append(c)
        elif c in MATH_SYMBOLS or c in SUPERSCRIPTS or c in SUBSCRIPTS:
            out.append("$" + latex_math(c) + "$")
        else:
            out.append("?")
    return "".join(out)


def _is_mathy(word: str, next_word: str | None) -> bool:
    core = word.strip("()[],.;:!?")
    if not core:
        return False
    if any(c in _MATHY_CHARS for c in word if c not in _NEUTRAL_CHARS):
        return True
    if _SCIENTIFIC.match(core):
        return True  # 1e+300, which reads 1 · 10³⁰⁰ as in the tables
    if len(core) == 1 and core.isascii() and core.isalpha() and core not in "ay":
        return True  # a variable: A, x, n (not the words "a", "y")
    if re.match(r"^[A-Za-z]\*$", core):
        return True  # S*
    if re.match(r"^(?:[A-Za-z]|max|min|det|diag|dim|Tr|ker)\(", core):
        return True  # R(A), N(A), max(m, n)
    if re.fullmatch(r"[A-Za-z]{2,3}", core) and not core.islower() and next_word in _RELATIONS:
        return True  # "Ax = b", "AB ≠ BA": a product of variables before a relation
    if core in ("rank", "rang"):
        return False  # words too: maths only after an operator, as in "n − rank"
    return core in _OPERATORS and next_word is not None and _is_mathy(next_word, None)


_WORD_SUFFIX = re.compile(r"-[A-Za-zÀ-ÿ]{2,}$")
_JOIN_MATH = re.compile(
    r"(?<!\\)\$\$"
    r"|(?:(?<=[=<>+\-])|(?<=\\le)|(?<=\\ge)|(?<=\\ne)|(?<=\\in))\$ \$"
    r"|(?<!\\)\$ \$(?=[=<>+]|\\le|\\ge|\\ne)"
)


def _split_punctuation(run: str) -> tuple[str, str, str]:
    """Unbalanced brackets and final punctuation of a maths run go back to the text."""
    lead, trail = "", ""
    while True:
        if run and run[-1] in _PUNCT:
            trail = run[-1] + trail
            run = run[:-1]
        elif run.endswith(")") and run.count(")") > run.count("("):
            trail = ")" + trail
            run = run[:-1]
        elif run.startswith("(") and run.count("(") > run.count(")"):
            lead += "("
            run = run[1:]
        elif _WORD_SUFFIX.search(run):  # "∞-norm": the maths, then the word
            suffix = _WORD_SUFFIX.search(run).group()
            trail = suffix + trail
            run = run[: -len(suffix)]
        else:
            return lead, run, trail


def latex_text(text: str) -> str:
    r"""Unicode prose as LaTeX: special characters escaped, the maths in ``$…$``.

    Examples
    --------
    >>> latex_text("rang de A : 2 (n − rang)")
    'rang de $A$ : 2 $(n - \\operatorname{rang})$'
    >>> latex_text("∞-norm (max row sum)")
    '$\\infty$-norm (max row sum)'
    """
    words = text.split(" ")
    mathy = [
        _is_mathy(w, words[k + 1] if k + 1 < len(words) else None) for k, w in enumerate(words)
    ]
    for k, w in enumerate(words):  # "‖Av − λv‖ / ‖A‖₂": a slash between maths is maths
        if w == "/" and 0 < k < len(words) - 1 and mathy[k - 1] and mathy[k + 1]:
            mathy[k] = True
    for k, w in enumerate(words):  # "(n − rank)": an operator name after maths is maths
        if (
            k
            and mathy[k - 1]
            and words[k - 1][-1:] in _OPERATOR_CHARS
            and w.strip("()[],.;:!?") in _OPERATORS
        ):
            mathy[k] = True
    # numbers and ellipses next to maths belong to it ("≥ 0", "σ₂ ≥ … ≥ 0")
    for k, w in enumerate(words):
        number = _NUMBER.match(w.strip("()[],;:").removesuffix("."))  # "… > 0." too
        if not mathy[k] and (number or w.strip(",") == "…"):
            before = k > 0 and mathy[k - 1] and words[k - 1][-1:] in _OPERATOR_CHARS
            after = k + 1 < len(words) and mathy[k + 1] and words[k + 1][:1] in _OPERATOR_CHARS
            mathy[k] = before or after
    out: list[str] = []
    k = 0
    while k < len(words):
        if not mathy[k]:
            out.append(_escape_text(words[k]))
            k += 1
            continue
        j = k
        while j < len(words) and mathy[j]:
            j += 1
            run = " ".join(words[k:j])
            if run[-1] in ",;" and run.count("(") == run.count(")"):
                break  # "2×2, S⁺": a comma between formulas ends the first one
        lead, run, trail = _split_punctuation(" ".join(words[k:j]))
        body = latex_math(run)
        out.append(_escape_text(lead) + (f"${body}$" if body else "") + _escape_text(trail))
        k = j
    return join_math(" ".join(out))


def join_math(latex: str) -> str:
    r"""Adjacent formulas merged: ``$3$$\times$$2$`` becomes ``$3\times2$``.

    Also ``$\det A =$ $-2$``, a relation split by a placeholder, becomes one formula.
    """
    return _JOIN_MATH.sub(lambda m: " " if " " in m.group() else "", latex)


# ---------------------------------------------------------------- values


_OPERATOR_NAMES = re.compile(r"(?<![\\A-Za-z])(det|Tr)\(")


def _ascii_latex(text: str) -> str:
    r"""LaTeX from a printer (SymPy) with any non-ASCII character made ASCII maths.

    A run of characters is converted at once, so that ``⁻¹`` is one exponent
    ``^{-1}`` (not ``^{-}`` and ``^{1}`` side by side), and the names of the exact
    engine's symbols ``det(A)``, ``Tr(A)`` print upright (``\det(A)``), not as
    products of variables d·e·t.
    """
    text = _OPERATOR_NAMES.sub(lambda m: _OPERATORS[m.group(1)] + "(", text)
    if text.isascii():
        return text
    return re.sub(r"[^\x00-\x7f]+", lambda m: _ascii_run(text, m), text)


def _ascii_run(text: str, m: re.Match) -> str:
    r"""One run of non-ASCII characters of :func:`_ascii_latex`'s ``text`` as LaTeX.

    A run is a group ``{…}`` (``U{\Sigma}V``), but scripts at its start belong to the
    letter before them: ``u₁`` is ``u_{1}`` and ``Vᴴ`` is ``V^{\mathsf{H}}``, not
    ``u{{}_{1}}`` (a subscript of nothing, whose ``_`` Markdown reads as emphasis).
    """
    run = m.group()
    before = text[m.start() - 1] if m.start() else ""
    j = 0
    while j < len(run) and (run[j] in SUPERSCRIPTS or run[j] in SUBSCRIPTS):
        j += 1
    if not j or not before or not (before.isalnum() or before in ")]|"):
        return "{" + latex_math(run) + "}"
    scripts = latex_math(run[:j]).removeprefix("{}")
    rest = "{" + latex_math(run[j:]) + "}" if j < len(run) else ""
    after = text[m.end() : m.end() + 1]
    return scripts + (rest or ("{}" if after in ("^", "_") else ""))


def latex_number(text: str) -> str:
    r"""A number printed by :class:`NumberFormat` (``"−2"``, ``"1e-15"``, ``"2 − i"``) as maths.

    Also a number beyond float64's range (``"(0.6 + 0.8i)e+400"``, from
    :func:`~svdkit.explain.formatting.scientific`).

    Examples
    --------
    >>> latex_number("−1.5e-16"), latex_number("∞")
    ('-1.5 \\cdot 10^{-16}', '\\infty')
    """
    text = re.sub(r"(\d)e(\d)", r"\1e+\2", text)  # ("1e15", without its sign's "+")
    return latex_math(text)


def _sympy_latex(x: Any) -> str:
    """SymPy's LaTeX (the exact engine's printer when present: ``\\approx`` before floats)."""
    try:
        from svdkit.exact.format import to_latex
    except ImportError:
        to_latex = None
    if to_latex is not None:
        try:
            return to_latex(x)
        except Exception:
            pass
    import sympy

    return sympy.latex(x, imaginary_unit="i")


def latex_value(x: Any, fmt: NumberFormat | None = None) -> str:
    """A value (SymPy, integer, fraction, float, complex or text) as LaTeX maths (no ``$``)."""
    fmt = fmt or NumberFormat()
    if isinstance(x, enum.Enum):
        x = x.value
    if isinstance(x, Fraction):
        return ("-" if x < 0 else "") + rf"\frac{{{abs(x.numerator)}}}{{{x.denominator}}}"
    if is_sympy(x):
        if getattr(x, "is_Matrix", False):
            grid = matrix_entries(
                x, lambda v: latex_value(v, fmt), lambda v: latex_number(fmt.number(v))
            )
            return latex_matrix(grid)
        return _ascii_latex(_sympy_latex(x))
    if isinstance(x, bool | np.bool_):
        return r"\mathrm{" + str(bool(x)).lower() + "}"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | complex | np.floating | np.complexfloating):
        return latex_number(fmt.number(x))
    if isinstance(x, str):
        return latex_math(x)
    if isinstance(x, np.ndarray | list | tuple):
        entries = np.ravel(np.asarray(x, dtype=object))
        return r"\left(" + ", ".join(latex_value(v, fmt) for v in entries) + r"\right)"
    return latex_math(str(x))


LATEX_DOTS = Dots(r"\cdots", r"\vdots", r"\ddots")
"""The gaps of a matrix shown in part (:mod:`~svdkit.explain.elision`), in LaTeX maths."""


def latex_matrix(grid: list[list[str]]) -> str:
    r"""A ``bmatrix`` from rows of LaTeX entries (an empty basis is ``[\;]``)."""
    if not grid or not grid[0]:
        return r"\begin{bmatrix}\;\end{bmatrix}"
    body = r" \\ ".join(" & ".join(row) for row in grid)
    return r"\begin{bmatrix}" + body + r"\end{bmatrix}"


def _display(body: str) -> list[str]:
    r"""Display maths, scaled down to the line width where wider (``\svdfit``, defined in
    the preamble, measures it: a matrix of 7 complex columns overflows, one of 10
    short integers does not)."""
    return [r"\begin{center}", r"\svdfit{$\displaystyle " + body + "$}", r"\end{center}"]


# ---------------------------------------------------------------- document


_BABEL = {"en": "english", "fr": "french"}


#: The second line of every report (a TeX comment): ``svdkit explain -o`` replaces an
#: existing ``.tex`` file only when it opens with ``\documentclass`` and this line.
REPORT_MARK = "% written by svdkit explain"


def _preamble(lang: str, title: str, max_columns: int) -> list[str]:
    language = _BABEL.get(lang, "english")
    return [
        r"\documentclass[11pt,a4paper]{article}",
        REPORT_MARK,
        r"\usepackage[T1]{fontenc}",
        r"\usepackage[utf8]{inputenc}",
        r"\IfFileExists{lmodern.sty}{\usepackage{lmodern}}{}",
        rf"\IfFileExists{{{language}.ldf}}{{\usepackage[{language}]{{babel}}}}"
        rf"{{\usepackage{{babel}}\babelprovide[import,main]{{{language}}}}}",
        r"\usepackage{amsmath}",
        r"\usepackage{amssymb}",
        r"\usepackage{array}",
        r"\usepackage{graphicx}",
        r"\usepackage[margin=2.2cm]{geometry}",
        r"\usepackage{xcolor}",
        rf"\setcounter{{MaxMatrixCols}}{{{max(10, max_columns)}}}",
        r"\setlength{\parindent}{0pt}",
        r"\sloppy",  # a long formula goes to a line of its own rather than past the margin
        r"\newsavebox{\svdbox}",  # \svdfit{…}: as it is, or scaled down to the line width
        r"\newcommand{\svdfit}[1]{\sbox{\svdbox}{#1}\ifdim\wd\svdbox>\linewidth"
        r"\resizebox{\linewidth}{!}{\usebox{\svdbox}}\else\usebox{\svdbox}\fi}",
        r"\setlength{\parskip}{0.5em}",
        r"\newcommand{\svdremark}[1]{\par\noindent\fcolorbox{orange}{yellow!12}{%",
        r"  \parbox{\dimexpr\linewidth-2\fboxsep-2\fboxrule\relax}{#1}}\par\medskip}",
        rf"\title{{{title}}}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
    ]


def _columns(report: Report) -> int:
    widest = 1
    for sec in report.sections:
        for fact in sec.facts:
            if isinstance(fact.value, np.ndarray) and fact.value.ndim == 2:
                widest = max(widest, len(kept(fact.value.shape[1])))  # as shown
        for step in sec.steps:
            for m in step.matrices.values():
                shape = getattr(m, "shape", None) or np.shape(m)
                widest = max(widest, shape[1] if len(shape) == 2 else 1)
    return widest


def _inline(value: Any, fmt: NumberFormat) -> str:
    """A placeholder value inside a sentence: text stays text, the rest is ``$…$``."""
    if isinstance(value, str):  # a signed number ("+1", the sign of a permutation) is maths
        return f"${latex_math(value)}$" if _NUMBER.match(value) else latex_text(value)
    return f"${_breakable_value(value, fmt)}$"


def _breakable_value(value: Any, fmt: NumberFormat, root: bool = False) -> str:
    r"""An exact value (or ``√value`` with ``root``) as LaTeX maths, in one line or across lines.

    SymPy's ``\frac`` and ``\sqrt`` are boxes, which TeX does not break: a value
    with a long number in it (``[[1e20, 1], [1, 1]]`` has radicands of 72 digits) is
    written as its text is, ``(… + 10001√(…))/2``, where it can (:func:`exact_latex`).
    """
    latex = latex_value(value, fmt)
    long = _LONG_DIGITS.search(latex) and (is_sympy(value) or isinstance(value, list | tuple))
    if long:
        return exact_latex(f"√({exact_text(value)})" if root else exact_text(value))
    return rf"\sqrt{{{latex}}}" if root else latex


def _step_block(report: Report, step, fmt: NumberFormat) -> list[str]:
    if has_message(report.lang, step.key):
        # "√({value})": the sentence's text ends with "√(" and the next begins with ")";
        # printed apart they made "\surd9$)". The root goes around the value instead.
        root = [False]

        def literal(text: str) -> str:
            if root[0] and text.startswith(")"):
                text = text[1:]
            root[0] = text.endswith("√(")
            return latex_text(text[:-2] if root[0] else text)

        def inline(v: Any) -> str:
            if isinstance(v, enum.Enum):  # a definiteness Kind: its word in the report's language
                return latex_text(value_text(v, fmt, report.lang))
            if root[0]:
                if isinstance(v, str):
                    return rf"$\sqrt{{{latex_math(v)}}}$"
                return f"${_breakable_value(v, fmt, root=True)}$"
            return _inline(v, fmt)

        sentence = _unboxed(join_math(step_sentence(report, step, literal, inline)))
    else:  # a key missing from the catalogue is shown as it is
        sentence = r"\texttt{" + _escape_text(step.key) + "}"
    lines = [r"\item " + sentence]
    if step.formula is not None:
        formula = latex_value(step.formula, fmt)
        lines += _display(formula)  # scaled down to the page where wider
    for name, m in step.matrices.items():
        grid = matrix_entries(
            m, lambda v: latex_value(v, fmt), lambda v: latex_number(fmt.number(v))
        )
        subject, relation = matrix_relation(name)
        sign = r"\sim" if relation == ROW_EQUIVALENT else relation
        body = f"{latex_math(matrix_name(report, subject))} {sign} {latex_matrix(grid)}"
        lines += _display(body)
    return lines


_WIDE_BOX = 120
"""An unbreakable part of inline maths longer than this (in LaTeX characters) runs past the
margin: its formula goes to a display line of its own (:func:`_unboxed`)."""

_INLINE_MATH = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$([.,;:](?!\w))?")


def _widest_box(body: str) -> int:
    r"""The length (in LaTeX characters) of the longest part of ``body`` that TeX cannot break.

    TeX breaks inline maths only at its outer level: a ``\sqrt{…}``, a ``\frac{…}{…}`` or
    a ``\left( … \right)`` is one box, however long.

    Examples
    --------
    >>> _widest_box(r"x = \frac{1}{2} + \sqrt{3}")
    6
    """
    widest, depth, start, k, last = 0, 0, 0, 0, ""
    while k < len(body):
        delimiter = re.match(r"\\(left|right)(?![A-Za-z])\\?", body[k:])
        if delimiter:  # \left( … \right), \left\| … \right\|
            k += delimiter.end()
            c = "{" if delimiter.group(1) == "left" else "}"
        elif body[k] == "\\" and body[k + 1 : k + 2] in ("{", "}"):
            k, last = k + 2, "\\"  # an escaped brace
            continue
        else:
            c = body[k]
        if c == "{":
            if depth == 0 and last != "}":
                start = k  # \frac{…}{…}: its groups are one box
            depth += 1
        elif c == "}":
            depth = max(depth - 1, 0)
            if depth == 0:
                widest = max(widest, k + 1 - start)
        if not c.isspace():
            last = c
        k += 1
    return widest


def _unboxed(sentence: str) -> str:
    r"""A sentence whose inline formula holds a box wider than the line, with that formula
    on a display line of its own, scaled down to the line width (``\svdfit``).

    A long formula that TeX can break (``\allowbreak``, :func:`exact_latex`) stays inline.

    Examples
    --------
    >>> _unboxed(r"so $x = \sqrt{2}$.")
    'so $x = \\sqrt{2}$.'
    >>> _unboxed(r"so $x = \sqrt{" + "1 + " * 40 + "1}$. Next").splitlines()[1:4:2]
    ['\\begin{center}', '\\end{center}']
    """

    def display(m: re.Match) -> str:
        body = m.group(1)
        if r"\allowbreak" in body or _widest_box(body) <= _WIDE_BOX:
            return m.group()
        punctuation = m.group(2) or ""  # the sentence's full stop ends the display
        return "\n".join(["", *_display(body + punctuation), ""])

    return _INLINE_MATH.sub(display, sentence)


def exact_latex(text: str) -> str:
    r"""An exact value's text (:func:`svdkit.exact.format.to_text`) as LaTeX maths (no ``$``).

    The whole text is one formula, so that a radical keeps its argument
    (``√(3/2 + √5/2)`` is ``\sqrt{3/2 + \sqrt{5}/2}``; as prose, split at its
    spaces, it was ``\sqrt{3/2}`` followed by ``+ \sqrt{5}/2)``). A long value
    still breaks across lines: after each comma between entries and each ``)/``
    (outside any radical, ``\allowbreak``) and, as TeX does in any formula, after
    a ``+`` or ``-`` outside a radical.

    Examples
    --------
    >>> exact_latex("(√(3/2 + √5/2), √(3/2 − √5/2))")
    '(\\sqrt{3/2 + \\sqrt{5}/2},\\allowbreak \\sqrt{3/2 - \\sqrt{5}/2})'
    >>> exact_latex("[[√2/2], [−i√2/2]]")
    '[[\\sqrt{2}/2],\\allowbreak [-i\\sqrt{2}/2]]'
    """
    body = _breakable(latex_math(text))
    out, depth = [], 0
    for k, c in enumerate(body):
        if c == "{" and (k == 0 or body[k - 1] != "\\"):
            depth += 1
        elif c == "}" and (k == 0 or body[k - 1] != "\\"):
            depth -= 1
        out.append(c)
        if depth == 0 and (c == "," or (c == "/" and body[k - 1 : k] == ")")):
            out.append(r"\allowbreak")  # "(1 + √5)/" then the denominator, when it is long
    return "".join(out)


_LONG_ROOT = 24
"""A radicand longer than this (in LaTeX characters) is written ``\\surd(…)``, which breaks."""

_LONG_DIGITS = re.compile(r"\d{16,}")
"""A run of digits this long may break across lines (every :data:`_DIGIT_GROUP` digits)."""

_DIGIT_GROUP = 10


def _breakable(body: str) -> str:
    r"""LaTeX maths of a long exact value, made so that it breaks across lines.

    A ``\sqrt{…}`` is one box, which TeX cannot break: a long radicand is written
    ``\surd(…)`` instead, and a long integer (the 72-digit radicands of
    ``[[1e20, 1], [1, 1]]``) may break between groups of ten digits.

    Examples
    --------
    >>> _breakable(r"\sqrt{2} + \sqrt{12345678901234567890123456789}")
    '\\sqrt{2} + \\surd(1234567890\\allowbreak 1234567890\\allowbreak 123456789)'
    """
    body = _linear_roots(body)
    return _LONG_DIGITS.sub(
        lambda m: r"\allowbreak ".join(
            m.group()[k : k + _DIGIT_GROUP] for k in range(0, len(m.group()), _DIGIT_GROUP)
        ),
        body,
    )


def _linear_roots(body: str) -> str:
    r"""``\sqrt{…}`` with a long argument as ``\surd(…)`` (inner roots too)."""
    out, k = [], 0
    while (start := body.find(r"\sqrt{", k)) >= 0:
        depth, end = 0, start + len(r"\sqrt")
        while end < len(body):
            depth += body[end] == "{"
            depth -= body[end] == "}"
            if depth == 0:
                break
            end += 1
        inner = _linear_roots(body[start + len(r"\sqrt{") : end])
        out.append(body[k:start])
        out.append(rf"\surd({inner})" if len(inner) > _LONG_ROOT else rf"\sqrt{{{inner}}}")
        k = end + 1
    return "".join(out) + body[k:]


def _fact_value(report: Report, fact, fmt: NumberFormat) -> str:
    """A fact's value in a table cell: numbers, vectors and exact values as maths, words as text."""
    value = fact.value
    if isinstance(value, str) and fact.key.endswith("_exact"):
        text = fact_value_text(report, fact, fmt)
        return latex_text(text) if text == "[ ]" else f"${exact_latex(text)}$"
    if isinstance(value, Scientific):  # det A = 2e−600: 2 \cdot 10^{-600}, as other numbers
        return f"${latex_number(value)}$"
    if isinstance(value, bool | np.bool_ | str | dict | list | tuple):
        return latex_text(fact_value_text(report, fact, fmt))
    if isinstance(value, np.ndarray) and value.ndim == 1:

        def number(v: Any) -> str:
            return latex_number(fmt.number(v))

        # plain brackets and \allowbreak after each comma: a long vector breaks across the
        # lines of its cell (\left( … \right) is one unbreakable box)
        body = vector_text(value, number, r"\dots", ("(", ")"))
        return "$" + body.replace(", ", r",\allowbreak ") + "$"
    if isinstance(value, int | float | complex | np.number):
        return f"${latex_number(fmt.number(value))}$"
    return latex_text(fact_value_text(report, fact, fmt))


_LONG_CELL = 600
"""An exact value longer than this (in characters) is shown below the table, full width."""


def _section(report: Report, sec, fmt: NumberFormat) -> list[str]:
    lang = report.lang
    lines = [rf"\section*{{{latex_text(section_title(report, sec))}}}"]
    if not sec.applies:
        reason = template(lang, f"reason.{sec.reason}")
        sentence = join_math(
            fill(template(lang, "not_applicable"), {"reason": reason}, latex_text, latex_text)
        )
        return [*lines, r"\emph{" + sentence + "}", ""]
    rows, blocks = [], []
    for fact in sec.facts:
        ffmt = fact_format(report, fact.key)
        value = fact.value
        name = latex_text(label(report, fact.key))
        if isinstance(value, np.ndarray) and value.ndim == 2:
            grid = corner_grid(value, lambda v, f=ffmt: latex_number(f.number(v)), LATEX_DOTS)
            blocks += [name + ":", *_display(latex_matrix(grid))]
        elif fact.key == "criteria" and isinstance(value, dict):
            items = [
                r"\item \textbf{"
                + latex_text(title)
                + "}: "
                + latex_text(kind)
                + (". " + latex_text(explanation) if explanation else "")
                for title, kind, explanation in criteria_rows(report, value)
            ]
            blocks += [name + ":", r"\begin{itemize}", *items, r"\end{itemize}"]
        elif fact.key.endswith("_exact") and isinstance(value, str) and len(value) > _LONG_CELL:
            # a table row does not break across pages: a long exact value is a paragraph
            blocks += [name + ":", "", _fact_value(report, fact, ffmt), ""]
        else:
            rows.append(f"{name} & {_fact_value(report, fact, ffmt)} \\\\")
    if rows:
        lines += [
            r"\begin{tabular}{@{}>{\raggedright\arraybackslash}p{0.42\linewidth}"
            r">{\raggedright\arraybackslash}p{0.52\linewidth}@{}}",
            *rows,
            r"\end{tabular}",
            "",
        ]
    lines += blocks
    if sec.steps:
        lines += [r"\begin{enumerate}"]
        for step in sec.steps:
            lines += _step_block(report, step, fmt)
        lines += [r"\end{enumerate}"]
    return [*lines, ""]


def render_latex(report: Report) -> str:
    """The report as a complete LaTeX document (``pdflatex`` compiles it)."""
    fmt = number_format(report)
    lang = report.lang
    heading, tolerance = heading_lines(
        report, latex_text, latex_text, lambda v: f"${latex_number(f'{v:.3g}')}$"
    )
    lines = _preamble(lang, latex_text(template(lang, "title")), _columns(report))
    lines += [join_math(heading) + r"\\", join_math(tolerance), ""]
    if has_elided(report):
        lines += [r"\emph{" + join_math(elision_note(lang, latex_text, latex_text)) + "}", ""]
    for sec in report.sections:
        lines += _section(report, sec, fmt)
    if report.notes:
        lines.append(rf"\section*{{{latex_text(template(lang, 'section.notes'))}}}")
        for note in report.notes:
            lines.append(r"\svdremark{\textbf{(!)} " + latex_text(note.text) + "}")
    lines += [r"\end{document}", ""]
    return "\n".join(lines)
