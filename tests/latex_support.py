"""Compiling a LaTeX report with pdflatex, as the render tests do.

:func:`compile_latex` writes ``tex`` into ``tmp_path``, runs pdflatex on it and
fails with the log's error lines when it does not compile.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PDFLATEX = shutil.which("pdflatex")


def compile_latex(tex: str, tmp_path: Path, name: str) -> tuple[Path, str]:
    """``(pdf, log)`` of ``tex`` compiled as ``name.tex`` in ``tmp_path``."""
    assert PDFLATEX, "pdflatex is needed (make latex installs it)"
    source = tmp_path / f"{name}.tex"
    source.write_text(tex, encoding="utf-8")
    proc = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="latin-1",
        timeout=180,
        check=False,
    )
    log = (tmp_path / f"{name}.log").read_text(encoding="latin-1", errors="replace")
    errors = "\n".join(line for line in log.splitlines() if line.startswith("!"))
    assert proc.returncode == 0, f"pdflatex failed on {name}:\n{errors}\n{proc.stdout[-2000:]}"
    pdf = tmp_path / f"{name}.pdf"
    assert pdf.is_file() and pdf.stat().st_size > 1000
    return pdf, log
