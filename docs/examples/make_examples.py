"""Regenerate the explained examples of docs/explain-example.md (English and French).

Run: ``.venv/bin/python docs/examples/make_examples.py`` — writes, next to this
script, the Markdown reports and the figures of the INSA note's first example
and of a symmetric 2×2 matrix, in both languages.
"""

from __future__ import annotations

from pathlib import Path

from svdkit.explain import explain, render
from svdkit.plot import save_figures

HERE = Path(__file__).resolve().parent
EXAMPLES = {
    "insa1": "[[3, 0], [0, -2]]",
    "sym2": "[[2, 1], [1, 2]]",
}


def main() -> None:
    for name, text in EXAMPLES.items():
        for lang in ("en", "fr"):
            report = explain(text, lang=lang)
            (HERE / f"{name}.{lang}.md").write_text(render(report, "markdown"), encoding="utf-8")
            save_figures(report.matrix, HERE / "figures" / f"{name}.{lang}", formats=("png",),
                         lang=lang)


if __name__ == "__main__":
    main()
