"""Retrieval quality on a test collection: MAP, nDCG@10, P@10, R@100 with ``ir-measures``.

Readers for the standard formats:

* SMART collections (the classic MED, CRAN, CISI, CACM files): documents and
  queries in ``*.ALL`` / ``*.QRY`` (records opened by ``.I <id>``, fields ``.T``
  title, ``.W`` text, ``.A`` authors, ``.B``, ``.X`` …; the title and text are
  kept) by :func:`read_smart`; relevance in ``*.REL`` / ``qrels.text`` /
  ``cranqrel`` by :func:`read_smart_rel`;
* TREC qrels (``qid iter docno rel``) by :func:`read_qrels` (which also reads
  every SMART layout), queries as TSV (``id<TAB>text``) or JSON lines.

:func:`evaluate` runs every query against an index and against plain tf-idf
cosine over the same counts (the baseline), and measures both with
``ir_measures`` (pytrec_eval underneath).

Examples
--------
>>> from svdkit.lsi import build_index, demo_data
>>> corpus = demo_data.topic_corpus(n_docs=120, seed=3)
>>> index = build_index(corpus.documents, k=6)
>>> qrels = {"q1": {d: 1 for d in corpus.relevant("motoring")}}
>>> report = evaluate(index, {"q1": "automobile motor petrol"}, qrels)
>>> sorted(report.lsi)
['AP', 'P@10', 'R@100', 'nDCG@10']
>>> report.lsi["P@10"] >= report.baseline["P@10"]
True
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from svdkit._words import counted
from svdkit.errors import FileFormatError, MissingDependencyError, MissingFileError, SvdkitError

if TYPE_CHECKING:
    from svdkit.lsi.index import LsiIndex

__all__ = [
    "MEASURES",
    "Evaluation",
    "evaluate",
    "read_qrels",
    "read_queries",
    "read_smart",
    "read_smart_rel",
    "read_trec_qrels",
    "tfidf_baseline_scores",
]

#: What is reported (ir-measures names).
MEASURES = ("AP", "nDCG@10", "P@10", "R@100")

Qrels = dict[str, dict[str, int]]

_FIELD = re.compile(r"^\.([A-Z])\b\s*(.*)$")


def _existing(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"file '{p}' does not exist")
    return p


def read_smart(path: str | os.PathLike[str], fields: str = "TW") -> Iterator[tuple[str, str]]:
    """Records of a SMART ``*.ALL`` or ``*.QRY`` file as ``(id, text)``.

    ``fields``: the one-letter fields whose text is kept (default title and text).
    Lines are UTF-8 (a byte-order mark is skipped); a line that is not UTF-8 is
    read as Latin-1, the 8-bit encoding of the classic collections' few accented
    bytes — so that a UTF-8 ``Café`` is not read as ``CafÃ©``.
    """
    p = _existing(path)
    doc_id, parts, keep = None, [], False
    with p.open("rb") as f:
        for line_no, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("latin-1")
            if line_no == 1:
                line = line.removeprefix("\ufeff")
            line = line.replace("\r\n", "\n")
            m = _FIELD.match(line.rstrip("\n"))
            if m:
                letter, rest = m.groups()
                if letter == "I":
                    if doc_id is not None:
                        yield doc_id, " ".join(parts)
                    if not rest.strip():
                        raise FileFormatError(f"'{p}' line {line_no}: .I without an id")
                    doc_id, parts, keep = rest.split()[0].lstrip("0") or "0", [], False
                else:
                    keep = letter in fields
                    if keep and rest.strip():
                        parts.append(rest.strip())
                continue
            if doc_id is None:
                if line.strip():
                    raise FileFormatError(
                        f"'{p}' line {line_no}: text before the first '.I' record; "
                        "not a SMART file"
                    )
                continue
            if keep and line.strip():
                parts.append(line.strip())
    if doc_id is None:
        raise FileFormatError(f"'{p}' has no '.I' record: not a SMART file")
    yield doc_id, " ".join(parts)


def _strip(token: str) -> str:
    return token.lstrip("0") or "0"


def read_smart_rel(path: str | os.PathLike[str]) -> Qrels:
    """Relevance judgements of a SMART collection (every listed pair is relevant).

    Layouts: ``qid iter docid rel`` (MED.REL and TREC: the iteration column, ``0``,
    ``Q0`` or a round number, is ignored, and pairs judged ``0`` are not relevant),
    ``qid docid 0 0.0`` (CISI.REL, CACM's qrels.text), ``qid docid grade``
    (cranqrel), ``qid docid`` — a four-column file is of the CISI layout when its
    last two columns are zero throughout, of the TREC layout otherwise. Ids of the
    TREC layout are kept as they are; those of the SMART layouts lose their leading
    zeros (as :func:`read_smart` does).

    The file is decoded as the corpus files are (:data:`svdkit.lsi.corpus.ENCODING`):
    UTF-8, a byte-order mark skipped (it is no part of the first query id), another
    encoding an error naming the file — so that the UTF-8 ids of an index (``élève``)
    meet those of its judgements.
    """
    from svdkit.lsi.corpus import ENCODING, _readable

    p = _existing(path)
    with _readable(p):  # decoded as the corpus files are: ids must meet the index's
        text = p.read_text(encoding=ENCODING)
    numbered = [(n, line.split()) for n, line in enumerate(text.splitlines(), 1)
                if line.strip()]
    if not numbered:
        raise FileFormatError(f"'{p}' has no relevance judgements")
    first = len(numbered[0][1])
    for line_no, r in numbered:
        if len(r) not in (2, 3, 4) or len(r) != first:
            raise FileFormatError(
                f"'{p}' line {line_no}: {len(r)} column(s)"
                + (f" where line {numbered[0][0]} has {first}" if len(r) != first else "")
                + "; every line of a qrels file has the same 2, 3 or 4 columns "
                "(qid, docid, …): is it a qrels file?"
            )
    rows = [r for _, r in numbered]
    trec = len(rows[0]) == 4 and not all(_is_zero(r[2]) and _is_zero(r[3]) for r in rows)
    if trec:
        pairs = [(r[0], r[2], r[3]) for r in rows]  # TREC / MED.REL
    else:
        pairs = [(_strip(r[0]), _strip(r[1]), "1") for r in rows]
    qrels: Qrels = {}
    for q, d, rel in pairs:
        try:
            grade = int(float(rel))
        except ValueError:
            raise FileFormatError(f"'{p}': relevance {rel!r} is not a number") from None
        if not trec or grade > 0:
            qrels.setdefault(q, {})[d] = max(grade, 1)
    if not qrels:
        raise FileFormatError(f"'{p}' judges no document relevant")
    return qrels


def _is_zero(token: str) -> bool:
    try:
        return float(token) == 0.0
    except ValueError:
        return False


def _ir_measures() -> Any:
    """The ``ir_measures`` module; a :class:`~svdkit.errors.MissingDependencyError`
    naming the ``lsi`` extra when it is not installed."""
    try:
        import ir_measures
    except ImportError as err:
        raise MissingDependencyError(
            "svdkit.lsi evaluation needs ir-measures: pip install 'svdkit[lsi]'"
        ) from err
    return ir_measures


def read_trec_qrels(path: str | os.PathLike[str]) -> Qrels:
    """TREC qrels (``qid iter docno rel``), read by ``ir_measures``."""
    ir_measures = _ir_measures()
    p = _existing(path)
    qrels: Qrels = {}
    try:
        for q in ir_measures.read_trec_qrels(str(p)):
            qrels.setdefault(q.query_id, {})[q.doc_id] = int(q.relevance)
    except (ValueError, IndexError) as err:
        raise FileFormatError(f"'{p}' is not TREC qrels: {err}") from None
    if not qrels:
        raise FileFormatError(f"'{p}' has no relevance judgements")
    return qrels


def read_qrels(path: str | os.PathLike[str]) -> Qrels:
    """Qrels in any layout of :func:`read_smart_rel` (which covers TREC)."""
    return read_smart_rel(path)


def read_queries(path: str | os.PathLike[str]) -> dict[str, str]:
    """Queries from a SMART ``.QRY``, a TSV (``id<TAB>text``) or a JSON-lines file."""
    p = _existing(path)
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        from svdkit.lsi.corpus import read_jsonl

        return dict(read_jsonl(p))
    if suffix in (".tsv", ".txt"):
        out = {}
        try:
            lines = p.read_text(encoding="utf-8-sig").splitlines()  # a BOM is no part of an id
        except UnicodeDecodeError as err:
            raise FileFormatError(f"'{p}' is not utf-8 text: {err}") from None
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if "\t" not in line:
                raise FileFormatError(f"'{p}' line {line_no}: expected 'id<TAB>text'")
            q, text = line.split("\t", 1)
            out[q.strip()] = text
        return out
    return dict(read_smart(p))


def tfidf_baseline_scores(index: LsiIndex, texts: list[str]) -> np.ndarray:
    """Plain tf-idf cosine of queries with every document (the index's counts, no SVD)."""
    from svdkit.lsi.weighting import TermStats, global_weights, weigh

    g = global_weights("tfidf", TermStats.of(index.counts))
    D = weigh(index.counts, "tfidf", g)
    Q = weigh(index.count(texts), "tfidf", g)
    return np.asarray((Q @ D.T).toarray())


@dataclass(frozen=True)
class Evaluation:
    """Aggregate measures for LSI and the tf-idf baseline, and how many queries."""

    lsi: dict[str, float]
    baseline: dict[str, float]
    n_queries: int
    notes: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {"lsi": self.lsi, "tfidf": self.baseline, "queries": self.n_queries,
             "notes": list(self.notes)}
        )  # fmt: skip


def _run(scores: np.ndarray, qids: list[str], ids: list[str], depth: int) -> dict:
    """The top ``depth`` documents of each query, scored by rank.

    Ranks, not cosines, are handed to ``ir_measures``: trec_eval breaks ties by
    document id (descending), while :meth:`~svdkit.lsi.index.LsiIndex.search` puts
    the lowest row first (:func:`~svdkit.lsi.query.top_n`); what is measured is the
    ranking the index returns. A query scored 0 against every document (none of its
    words is known: :meth:`~svdkit.lsi.index.LsiIndex.search` returns ``[]``)
    retrieves nothing, and counts 0 in every measure, rather than the first rows.
    """
    from svdkit.lsi.query import top_n

    run = {}
    for q, row in zip(qids, scores, strict=True):
        if not np.any(row):
            run[q] = {}
            continue
        best = top_n(row, depth)
        run[q] = {ids[j]: float(best.size - r) for r, j in enumerate(best.tolist())}
    return run


def _meeting(names: list[str], wanted: set[str]) -> tuple[list[str], str]:
    """Document ids ``names`` in the form that meets ``wanted`` best, and how (a note).

    SMART files number ``0001`` what their judgements call ``1`` (and a corpus
    converted to JSON lines may keep either); an index of a folder of ``.txt``
    files has ids such as ``1.txt`` or ``FT911-3.txt`` (the file names), where the
    judgements say ``1`` or ``FT911-3``. The ids are matched without leading zeros,
    without the ``.txt`` extension, or both, when that way more of them meet
    ``wanted`` and they stay unique. (Query ids are not matched this way:
    Cranfield's ``004`` is not its judgements' ``4``.)
    """

    def bare(n: str) -> str:
        return n[:-4] if n.lower().endswith(".txt") and len(n) > 4 else n

    forms = [
        (names, ""),
        ([_strip(n) for n in names], "without their leading zeros"),
        ([bare(n) for n in names], "without their .txt extension"),
        ([_strip(bare(n)) for n in names], "without their .txt extension and leading zeros"),
    ]
    best, how, met = names, "", len(wanted.intersection(names))
    for form, note in forms[1:]:
        meets = len(wanted.intersection(form))
        if meets > met and len(set(form)) == len(form):
            best, how, met = form, note, meets
    return best, how


def _match_query_ids(queries: dict[str, str], qrels: Qrels) -> tuple[dict[str, str], str]:
    """The queries, renumbered ``1``, ``2``, … by position when that is how the qrels count.

    Cranfield's ``cran.qry`` numbers its 225 queries ``001``, ``002``, ``004``, … up
    to ``365``, while ``cranqrel`` numbers them 1 to 225 by position: many ids meet
    (query ``004`` is not the qrels' ``4``, which is the third query) and the
    judgements would be paired with the wrong queries. The queries are renumbered
    when the qrels judge queries that the ids leave unmatched, every judged id is a
    position ``1 … len(queries)``, and the positions meet more judged queries than
    the ids do. Returns the queries and a note ("" when nothing was changed).
    """
    judged = [q for q in qrels if q.isdigit() and not q.startswith("0")]
    if len(judged) != len(qrels) or not queries:
        return queries, ""
    by_id = sum(1 for q in qrels if q in queries)
    if by_id == len(qrels) or max(int(q) for q in judged) > len(queries):
        return queries, ""
    positions = {str(i): t for i, t in enumerate(queries.values(), 1)}
    by_position = sum(1 for q in qrels if q in positions)
    if by_position <= by_id or list(queries) == list(positions):
        return queries, ""
    return positions, (
        f"queries numbered by position: the qrels judge {len(qrels)} queries, of which "
        f"{by_id} have the id of a query and {by_position} the position of one (the "
        "Cranfield numbering)"
    )


def _measure(qrels: Qrels, run: dict) -> dict[str, float]:
    ir_measures = _ir_measures()
    measures = [ir_measures.parse_measure(m) for m in MEASURES]
    agg = ir_measures.calc_aggregate(measures, qrels, run)
    return {str(m): float(agg[m]) for m in measures}


def evaluate(
    index: LsiIndex, queries: dict[str, str], qrels: Qrels, depth: int = 1000
) -> Evaluation:
    """Measure ``index`` and the tf-idf baseline on ``queries`` judged by ``qrels``.

    Queries without judgements are left out; when the query ids and the qrels' ids
    do not meet but there are as many queries as the largest judged id (the
    Cranfield numbering), the queries are numbered by position (noted). Document
    ids that meet the qrels only without their leading zeros or their ``.txt``
    extension (an index of a folder) are matched so (noted).
    Ties are ranked as :meth:`~svdkit.lsi.index.LsiIndex.search` ranks them.

    Raises
    ------
    MissingDependencyError
        ir-measures (the ``lsi`` extra) is not installed: said before any query runs.
    """
    _ir_measures()
    notes = []
    queries, note = _match_query_ids(queries, qrels)
    if note:
        notes.append(note)
    qids = [q for q in queries if q in qrels]
    if qids and len(qids) < len(queries):
        notes.append(f"{len(queries) - len(qids)} of {len(queries)} queries have no relevance "
                      "judgements: left out")
    if not qids:
        raise SvdkitError(
            "no query has relevance judgements: the query ids "
            f"({', '.join(list(queries)[:3])}…) and the qrels' ids "
            f"({', '.join(list(qrels)[:3])}…) do not meet"
        )
    judged = {d for q in qids for d in qrels[q]}
    ids, how = _meeting(list(index.ids), judged)
    if how:
        notes.append(f"document ids matched to the qrels {how}")
    if judged.isdisjoint(ids):
        raise SvdkitError("no judged document is in the index: do the document ids match?")
    texts = [queries[q] for q in qids]
    qrels = {q: qrels[q] for q in qids}
    depth = min(depth, index.n_docs)
    lsi_scores = index.scores(texts)
    blank = int(np.count_nonzero(~np.any(lsi_scores, axis=1)))
    if blank:
        notes.append(f"{counted(blank, 'query', 'queries')} with no word the index knows: "
                     "nothing retrieved (0 in every measure)")
    lsi = _measure(qrels, _run(lsi_scores, qids, ids, depth))
    base = _measure(qrels, _run(tfidf_baseline_scores(index, texts), qids, ids, depth))
    return Evaluation(lsi, base, len(qids), tuple(notes))
