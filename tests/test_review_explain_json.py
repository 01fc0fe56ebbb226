"""Review of the JSON report against docs/explain-json.md, as a program reads it.

The schema documented ``values.case`` for the two variants of the ``sigma_order``
note, but the notes carried only ``id`` and ``text``.
"""

from __future__ import annotations

import json

import pytest

from svdkit.explain import explain, render


def _notes(matrix, lang: str = "en") -> dict[str, dict]:
    data = json.loads(render(explain(matrix, steps=False, lang=lang), "json"))
    return {n["id"]: n for n in data["notes"]}


@pytest.mark.parametrize(
    ("matrix", "case"), [([[-1, 0], [0, 1]], "sign"), ([[2, 0], [0, 3]], None)]
)
def test_sigma_order_note_says_its_case(matrix, case):
    note = _notes(matrix)["sigma_order"]
    assert set(note) == {"id", "text", "values"}
    assert note["values"].get("case") == case
    assert all(isinstance(v, str) for v in note["values"].values())
    # the values are the ones the text shows
    assert note["values"]["sigmas"] in note["text"]


def test_note_values_are_the_counts_of_its_text():
    note = _notes([[0, 1], [0, 0]])["rank_eigenvalues"]
    assert note["values"] == {"rank": "1", "nonzero": "0"}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_note_values_are_the_same_in_every_language(lang):
    """``values`` are for programs: a definiteness kind stays its English name."""
    matrix = [[0, 0], [0, -1]]  # leading minors 0, 0: ≥ 0, yet negative semidefinite
    notes = _notes(matrix, lang)
    assert notes["sylvester_psd"]["values"] == _notes(matrix, "en")["sylvester_psd"]["values"]
    assert notes["sylvester_psd"]["values"]["kind"] == "negative semidefinite"
