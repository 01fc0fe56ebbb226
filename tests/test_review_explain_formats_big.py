"""``svdkit explain`` of a large matrix in every format: corners for people, every entry in JSON.

A 1000×1000 report (the largest ``explain`` takes) wrote every entry of a dozen
1000×1000 matrices in Markdown, LaTeX and HTML: 1 to 2 minutes and 120 to 460 MB
per file, and 24 s and 2 GB of memory for the JSON. The terminal page already
showed large matrices by their corners. Now every page for people does, with the
terminal's rule (more than 10 rows or columns: the first and last 3, with ⋯ ⋮ ⋱
in the gaps) and a sentence saying where every entry is; the JSON keeps every
entry, written by NumPy and json's C encoder instead of entry by entry.

The tests build the expected corners here, from the matrix and each format's
number printer, rather than with the renderers' shared helper.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from svdkit.explain import explain, render
from svdkit.explain.render_html import mathml_matrix, mathml_number
from svdkit.explain.render_json import to_dict
from svdkit.explain.render_latex import latex_matrix, latex_number
from svdkit.explain.render_terminal import render_terminal
from svdkit.explain.render_text import fact_format, label

PDFLATEX = shutil.which("pdflatex")

#: Phrases of the elision sentence: it says the matrices are shown in part and
#: how to get every entry (the JSON report, and the SVD as NumPy arrays).
ELIDED = {
    "en": ("shown in part", "-o report.json", "-o svd.npz"),
    "fr": ("montrés en partie", "-o rapport.json", "-o svd.npz"),
}

#: What stands for the entries left out, in each format: (⋯, ⋮, ⋱).
DOTS = {
    "latex": (r"\cdots", r"\vdots", r"\ddots"),
    "mathml": ("<mo>⋯</mo>", "<mo>⋮</mo>", "<mo>⋱</mo>"),
}


def _rng_matrix(m: int, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((m, n))


@pytest.fixture(scope="module")
def reports() -> dict:
    """Reports of a tall 31×24 matrix, a symmetric 23×23 and a complex 12×12, en and fr."""
    b = _rng_matrix(23, 23, 1)
    z = _rng_matrix(12, 12, 2) + 1j * _rng_matrix(12, 12, 3)
    matrices = {"tall": _rng_matrix(31, 24), "symmetric": b + b.T, "complex": z}
    return {
        (name, lang): explain(a, lang=lang, steps=False)
        for name, a in matrices.items()
        for lang in ("en", "fr")
    }


def _shown(n: int) -> list[int | None]:
    """The rows (columns) the terminal shows of n: all up to 10, else 3 + gap + 3."""
    return list(range(n)) if n <= 10 else [0, 1, 2, None, n - 3, n - 2, n - 1]


def _expected_grid(a: np.ndarray, number, dots: tuple[str, str, str]) -> list[list[str]]:
    across, down, diagonal = dots
    rows, cols = _shown(a.shape[0]), _shown(a.shape[1])
    return [
        [diagonal if j is None else down for j in cols]
        if i is None
        else [across if j is None else number(a[i, j]) for j in cols]
        for i in rows
    ]


def _matrix_facts(report):
    for sec in report.sections:
        for fact in sec.facts:
            if isinstance(fact.value, np.ndarray) and fact.value.ndim == 2:
                yield fact


def _vector_facts(report):
    for sec in report.sections:
        for fact in sec.facts:
            if isinstance(fact.value, np.ndarray) and fact.value.ndim == 1 and fact.value.size > 10:
                yield fact


def _compile(tex: str, tmp_path: Path, name: str) -> str:
    assert PDFLATEX, "pdflatex is needed (make latex installs it)"
    (tmp_path / f"{name}.tex").write_text(tex, encoding="utf-8")
    proc = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
        cwd=tmp_path, capture_output=True, text=True, encoding="latin-1", timeout=180,
        check=False,
    )  # fmt: skip
    log = (tmp_path / f"{name}.log").read_text(encoding="latin-1", errors="replace")
    errors = "\n".join(line for line in log.splitlines() if line.startswith("!"))
    assert proc.returncode == 0, f"pdflatex failed on {name}:\n{errors}"
    assert (tmp_path / f"{name}.pdf").stat().st_size > 1000
    return log


# ---------------------------------------------------------------- pages for people


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("name", ["tall", "symmetric", "complex"])
def test_markdown_shows_the_corners_of_every_large_matrix(reports, name, lang):
    report = reports[name, lang]
    text = render(report, "markdown")
    facts = list(_matrix_facts(report))
    assert any(max(f.value.shape) > 10 for f in facts)
    for fact in facts:
        fmt = fact_format(report, fact.key)
        grid = _expected_grid(fact.value, lambda v, f=fmt: latex_number(f.number(v)),
                              DOTS["latex"])  # fmt: skip
        assert f"**{label(report, fact.key)}** = $${latex_matrix(grid)}$$" in text, fact.key
    assert max(len(m.split(r"\\")) for m in re.findall(r"\\begin\{bmatrix\}.*?\\end", text)) <= 7
    for phrase in ELIDED[lang]:
        assert phrase in text
    assert len(text) < 40_000  # was 200 kB for 31×24, 117 MB for 1000×1000


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("name", ["tall", "symmetric", "complex"])
def test_html_shows_the_corners_of_every_large_matrix(reports, name, lang):
    report = reports[name, lang]
    page = render(report, "html")
    for fact in _matrix_facts(report):
        fmt = fact_format(report, fact.key)
        grid = _expected_grid(fact.value, lambda v, f=fmt: mathml_number(f.number(v)),
                              DOTS["mathml"])  # fmt: skip
        head = f'<th scope="row">{label(report, fact.key)}</th>'
        assert f"{head}<td><math>{mathml_matrix(grid)}</math></td>" in page, fact.key
    root = ET.fromstring(page.split("\n", 1)[1])  # still well-formed XML
    assert max(len(t.findall("mtr")) for t in root.iter("mtable")) <= 7
    elided = [p for p in root.iter("p") if "elided" in p.get("class", "").split()]
    assert len(elided) == 1
    for phrase in ELIDED[lang]:
        assert phrase in elided[0].text
    assert len(page) < 120_000  # was 800 kB for 31×24, 457 MB for 1000×1000


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_latex_shows_the_corners_and_compiles(reports, lang, tmp_path):
    report = reports["tall", lang]
    tex = render(report, "latex")
    for fact in _matrix_facts(report):
        fmt = fact_format(report, fact.key)
        grid = _expected_grid(fact.value, lambda v, f=fmt: latex_number(f.number(v)),
                              DOTS["latex"])  # fmt: skip
        assert latex_matrix(grid) in tex, fact.key
    # seven columns at most are shown, each display scaled down only where it is wider
    # than the line (\svdfit): nothing runs into the margin
    assert tex.count(r"\svdfit{") >= len(list(_matrix_facts(report)))
    assert r"\setcounter{MaxMatrixCols}{10}" in tex
    note = re.search(r"\\emph\{(.*)\}", tex).group(1)
    assert "report.json" in note or "rapport.json" in note
    assert ELIDED[lang][0].split()[0] in note
    log = _compile(tex, tmp_path, f"big_{lang}")
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox \((.*?)\)", log)


@pytest.mark.parametrize("fmt", ["markdown", "html", "latex"])
def test_long_vectors_are_shown_by_their_ends_as_on_the_terminal(reports, fmt):
    """The singular values of a 31×24 matrix: (σ₁, σ₂, σ₃, …, σ₂₂, σ₂₃, σ₂₄), as on the terminal."""
    report = reports["tall", "en"]
    out, terminal = render(report, fmt), render_terminal(report, width=300)
    vectors = list(_vector_facts(report))
    assert {f.key for f in vectors} >= {"singular_values", "energy"}
    for fact in vectors:
        ffmt = fact_format(report, fact.key)
        v = fact.value
        shown = [ffmt.number(v[i]) for i in (0, 1, 2, -3, -2, -1)]
        expected = f"({', '.join(shown[:3])}, …, {', '.join(shown[3:])})"
        assert expected in terminal, fact.key
        if fmt == "latex":
            shown = [latex_number(x) for x in shown]
            sep = r",\allowbreak "  # (a long vector breaks across its cell's lines)
            expected = rf"({sep.join(shown[:3])}{sep}\dots{sep}{sep.join(shown[3:])})"
        assert expected in out, (fact.key, expected)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_terminal_says_how_to_get_every_entry(reports, lang):
    out = render_terminal(reports["tall", lang], width=400)
    for phrase in ELIDED[lang]:
        assert phrase in out
    a = reports["tall", lang].matrix
    fmt = fact_format(reports["tall", lang], "matrix")
    assert fmt.number(a[0, 0]) in out and fmt.number(a[-1, -1]) in out


@pytest.mark.parametrize("fmt", ["markdown", "html", "latex"])
def test_the_threshold_is_the_terminals(fmt):
    """10×10 is shown whole (no note, every entry), 11×11 by its corners (with the note)."""
    printed = {"html": mathml_number, "markdown": latex_number, "latex": latex_number}[fmt]

    def pages(a):
        report = explain(a, steps=False)
        number = fact_format(report, "matrix").number
        return number, render(report, fmt), render_terminal(report, width=400)

    number, text, terminal = pages(ten := _rng_matrix(10, 10, 4))
    for page, show in ((text, printed), (terminal, str)):
        assert "shown in part" not in page
        assert not any(d in page for d in ("⋯", "⋱", r"\cdots", r"\ddots", r"\dots"))
        assert all(show(number(v)) in page for v in ten.ravel())
    number, text, terminal = pages(eleven := _rng_matrix(11, 11, 4))
    for page, show in ((text, printed), (terminal, str)):
        assert "shown in part" in page
        assert show(number(eleven[10, 10])) in page and show(number(eleven[0, 0])) in page
        assert show(number(eleven[5, 5])) not in page


# ---------------------------------------------------------------- JSON: every entry, fast


@pytest.fixture
def python_floats(monkeypatch) -> dict:
    """Counts the floats written by :mod:`json`'s indenting encoder, which is pure Python.

    It took 24 s and 2 GB for a 1000×1000 report, entry by entry. Now only the
    report's scalars and short vectors go through it; the rows of the matrices
    go through the C encoder.
    """
    import json.encoder

    written = {"floats": 0}
    original = json.encoder._make_iterencode

    def counting(markers, default, encoder, indent, floatstr, *args, **kwargs):
        def count(x, *a, **k):
            written["floats"] += 1
            return floatstr(x, *a, **k)

        return original(markers, default, encoder, indent, count, *args, **kwargs)

    monkeypatch.setattr(json.encoder, "_make_iterencode", counting)
    return written


def _decode(value):
    if isinstance(value, dict) and set(value) == {"real", "imag"}:
        return np.array(value["real"]) + 1j * np.array(value["imag"])
    return np.array(value)


@pytest.mark.parametrize("name", ["tall", "symmetric", "complex"])
def test_json_keeps_every_entry_exactly_and_fast(reports, name, python_floats):
    report = reports[name, "fr"]
    text = render(report, "json")
    entries = sum(f.value.size for f in _matrix_facts(report))
    # only the scalars and the short vectors went through the pure-Python encoder
    assert python_floats["floats"] < entries / 10, (python_floats, entries)
    data = json.loads(text)
    checked = 0
    for sec, out in zip(report.sections, data["sections"], strict=True):
        for fact in sec.facts:
            if isinstance(fact.value, np.ndarray):
                got = _decode(out["facts"][fact.key])
                assert got.shape == fact.value.shape, fact.key
                assert np.array_equal(got, fact.value), fact.key  # bit for bit
                checked += fact.value.size
    assert checked > 1000
    # the same document, to the byte, as the plain indented json.dumps
    assert text == json.dumps(to_dict(report), indent=2, ensure_ascii=False)


def test_json_of_non_finite_and_odd_arrays_is_unchanged(python_floats):
    """∞ and NaN entries as "inf" and "nan", empty bases, integer and boolean arrays."""
    from svdkit.explain.model import Fact, Report, Section

    x = _rng_matrix(70, 3)
    x[3, 1], x[5, 2], x[6, 0] = np.inf, np.nan, -np.inf
    facts = [
        Fact("x", x), Fact("empty_basis", np.zeros((80, 0))), Fact("none", np.zeros((0, 80))),
        Fact("ints", np.arange(100)), Fact("flags", np.arange(100) % 3 == 0),
        Fact("z", np.ones((9, 9)) * (1 - 2j)),
        Fact("single", np.linspace(0, 1, 200, dtype=np.float32)),
    ]  # fmt: skip
    report = Report(matrix=np.eye(2), tolerance=1e-15, sections=[Section("svd", facts=facts)])
    text = render(report, "json")
    assert python_floats["floats"] < 10, python_floats
    assert text == json.dumps(to_dict(report), indent=2, ensure_ascii=False)
    got = json.loads(text)["sections"][0]["facts"]["x"]
    assert got[3][1] == "inf" and got[5][2] == "nan" and got[6][0] == "-inf"


def test_cli_writes_the_json_report_as_it_is_made(tmp_path, capsys, monkeypatch):
    # the command line wrote render()'s whole string (1.8 GB of memory at 1000×1000);
    # it now writes iter_json's pieces: the file must be the same document
    import cli_support

    import svdkit.explain.render_json as render_json

    a = _rng_matrix(14, 12, seed=3)
    np.save(tmp_path / "a.npy", a)
    pieces = []
    original = render_json.iter_json

    def counted(report):
        for piece in original(report):
            pieces.append(len(piece))
            yield piece

    monkeypatch.setattr(render_json, "iter_json", counted)
    run = cli_support.run_svdkit(capsys, monkeypatch)
    code, _, err = run("explain", tmp_path / "a.npy", "-o", tmp_path / "r.json")
    assert code == 0, err
    text = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert len(pieces) > 1 and sum(pieces) + 1 == len(text)
    assert text == render(explain(a), "json") + "\n"
    assert np.array_equal(np.array(json.loads(text)["sections"][0]["facts"]["matrix"]), a)
