"""Retrieval quality on a test collection: MAP, nDCG@10, P@10, R@100 with ``ir-measures``.

Readers for the standard formats:

* SMART collections (the classic MED, CRAN, CISI, CACM files): documents and
  queries in ``*.ALL`` / ``*.QRY`` (records opened by ``.I <id>``, fields ``.T``
  title, ``.W`` text, ``.A`` authors, ``.B``, ``.X`` …; the title and text are
  kept) by :func:`read_smart`; relevance in ``*.REL`` / ``qrels.text`` /
  ``cranqrel`` by :func:`read_smart_rel`;
* TREC qrels (``qid iter docno rel``) and BEIR's ``qrels/*.tsv`` (``query-id
  corpus-id score``, with its header) by :func:`read_qrels` (which also reads every
  SMART layout): a grade of 0 or less is "judged not relevant", higher grades are kept
  for nDCG; queries as TSV (``id<TAB>text``), JSON lines or a JSON array (BEIR's
  ``queries.jsonl``: ids in ``_id``) by :func:`read_queries`.

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
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from svdkit._naming import arg, got, kw
from svdkit._words import counted
from svdkit.errors import FileFormatError, MissingDependencyError, MissingFileError, SvdkitError

if TYPE_CHECKING:
    from svdkit.lsi.index import LsiIndex

__all__ = [
    "MEASURES",
    "Evaluation",
    "QrelsFile",
    "QueriesFile",
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


class QrelsFile(dict):
    """Qrels read from a file (:func:`read_qrels`): a dict ``{qid: {docid: grade}}``,
    and ``notes`` saying how an ambiguous layout was read (a space-separated
    ``qid docid grade`` file read as Cranfield's cranqrel, or not), which
    :func:`evaluate` adds to its own."""

    def __init__(self, qrels: Qrels, notes: tuple[str, ...] = ()) -> None:
        super().__init__(qrels)
        self.notes = notes


_FIELD = re.compile(r"^\.([A-Z])\b\s*(.*)$")


class QueriesFile(dict):
    """Queries read from a file (:func:`read_queries`): a dict ``{query id: text}``, and
    ``source``, the kind of file (``"smart"``, ``"tsv"`` or ``"json"``), which
    :func:`evaluate` weighs before numbering queries by position (Cranfield's
    ``cran.qry`` is a SMART file)."""

    def __init__(self, queries: dict[str, str], source: str) -> None:
        super().__init__(queries)
        self.source = source


def _existing(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a Path to an existing file, or an error naming ``what`` it should be
    (``"queries file"``): missing, a directory, or an empty path."""
    from svdkit.inputs.files import check_path

    p = check_path(path, f"the {what}")
    if p.is_dir():
        raise FileFormatError(f"the {what} '{p}' is a directory; give a file")
    if not p.is_file():
        raise MissingFileError(f"no such {what}: '{p}'")
    return p


def read_smart(path: str | os.PathLike[str], fields: str = "TW") -> Iterator[tuple[str, str]]:
    """Records of a SMART ``*.ALL`` or ``*.QRY`` file as ``(id, text)``.

    ``fields``: the one-letter fields whose text is kept (default title and text).
    Lines are UTF-8 (a byte-order mark is skipped); a line that is not UTF-8 is
    read as Latin-1, the 8-bit encoding of the classic collections' few accented
    bytes — so that a UTF-8 ``Café`` is not read as ``CafÃ©``.
    """
    p = _existing(path, "SMART file")
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


#: Grades of Cranfield's ``cranqrel`` (1 a complete answer … 4 of minimum interest, -1
#: of no interest): the lower, the more relevant, so they are not gains for nDCG.
CRANFIELD_GRADES = frozenset({-1, 1, 2, 3, 4})


def read_smart_rel(path: str | os.PathLike[str]) -> QrelsFile:
    """Relevance judgements of a SMART, TREC or BEIR collection: ``{qid: {docid: grade}}``.

    Layouts:

    * ``qid iter docid rel`` (MED.REL and TREC: the iteration column, ``0``, ``Q0`` or
      a round number, is ignored);
    * ``qid docid 0 0.0`` (CISI.REL, CACM's qrels.text: every pair relevant) — a
      four-column file is of this layout when its last two columns are zero
      throughout, of the TREC layout otherwise;
    * ``qid docid grade`` (BEIR's ``qrels/test.tsv``, whose header line ``query-id
      corpus-id score`` is skipped, and any other such file): the grades are kept;
    * Cranfield's cranqrel, ``qid docid grade`` with grades in {-1, 1, 2, 3, 4},
      spaces and no header, recognised by its name (``cranqrel…``) or by numeric ids
      and a grade of -1: 1 … 4 are all relevant (1 the most: read as 1, not as a
      gain) and -1 ("of no interest") is not — the returned :attr:`QrelsFile.notes`
      say so. A file of that shape without either sign is read with its grades
      kept, and a note says that too;
    * ``qid docid`` (every pair relevant).

    A grade of 0 or less is a judgement of "not relevant": it is kept (as trec_eval
    and ir-measures count it: a query judged, with no relevant document, counts 0 in
    every measure), and higher grades are kept as the gains of nDCG. Ids of the
    TREC and graded layouts are kept as they are; those of the SMART layouts
    (CISI, Cranfield, two columns) lose their leading zeros (as :func:`read_smart`
    does).

    The file is decoded as the corpus files are (:data:`svdkit.lsi.corpus.ENCODING`):
    UTF-8, a byte-order mark skipped (it is no part of the first query id), another
    encoding an error naming the file — so that the UTF-8 ids of an index (``élève``)
    meet those of its judgements.

    Returns
    -------
    QrelsFile
        A dict ``{qid: {docid: grade}}`` whose ``notes`` say how an ambiguous layout
        was read (:func:`evaluate` reports them).

    Raises
    ------
    FileFormatError
        Not a qrels file, a grade that is not a number, or no document judged
        relevant (a grade above 0) at all.
    """
    from svdkit.lsi.corpus import ENCODING, _readable

    p = _existing(path, "qrels file")
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
    # a header line ("query-id corpus-id score", "qid iter docno rel"): no number at all
    header = first > 2 and all(_grade(t) is None for t in numbered[0][1])
    if header:
        numbered = numbered[1:]
        if not numbered:
            raise FileFormatError(f"'{p}' has no relevance judgements (a header line only)")
    grades = []
    for line_no, r in numbered:
        grade = _grade(r[-1]) if first > 2 else 1
        if grade is None:
            raise FileFormatError(
                f"'{p}' line {line_no}: relevance {r[-1]!r} is not a number"
            )
        grades.append(grade)
    rows = [r for _, r in numbered]
    notes: list[str] = []
    if first == 4 and not all(_is_zero(r[2]) and _is_zero(r[3]) for r in rows):
        pairs = [(r[0], r[2]) for r in rows]  # TREC / MED.REL: graded, ids verbatim
    elif first == 3 and (header or "\t" in text or not CRANFIELD_GRADES.issuperset(grades)
                         or not _is_cranqrel(p, rows, grades, notes)):
        pairs = [(r[0], r[1]) for r in rows]  # BEIR / qid docid grade: graded, verbatim
    else:  # CISI, Cranfield, two columns: every pair relevant (Cranfield's -1 excepted)
        pairs = [(_strip(r[0]), _strip(r[1])) for r in rows]
        grades = [1 if g >= 1 or first == 4 else g for g in grades]
    qrels: Qrels = {}
    for (q, d), grade in zip(pairs, grades, strict=True):
        qrels.setdefault(q, {})[d] = grade  # grades <= 0 too: judged, not relevant
    if not any(g > 0 for g in grades):
        raise FileFormatError(f"'{p}' judges no document relevant")
    return QrelsFile(qrels, tuple(notes))


def _is_cranqrel(p: Path, rows: list[list[str]], grades: list[int], notes: list[str]) -> bool:
    """Whether space-separated ``qid docid grade`` lines with grades in {-1, 1, 2, 3, 4}
    are Cranfield's cranqrel: the file's name (``cranqrel…``), or numeric ids and a
    grade -1. Either way the reading is added to ``notes``: they differ in nDCG."""
    numeric = all(r[0].isdigit() and r[1].isdigit() for r in rows)
    why = ("by its name" if p.name.lower().startswith("cranqrel")
           else "numeric ids and a grade -1" if numeric and -1 in grades else "")
    if why:
        notes.append(
            f"'{p.name}' read as Cranfield's cranqrel ({why}): grades 1 to 4 all read as 1 "
            "(relevant; in Cranfield 1 is the most relevant, so they are no nDCG gains), "
            "-1 as not relevant, ids without their leading zeros"
        )
        return True
    notes.append(
        f"'{p.name}' read as graded 'qid docid grade' judgements (grades kept as nDCG "
        "gains, ids as they are); Cranfield's cranqrel (1 the most relevant) is "
        "recognised by its name, cranqrel, or by numeric ids and a grade -1"
    )
    return False


def _grade(token: str) -> int | None:
    """A relevance grade (``2``, ``1.0``, ``-1``) as an int; None when it is no number."""
    try:
        value = float(token)
    except ValueError:
        return None
    return int(value) if value == value and abs(value) != float("inf") else None


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
    p = _existing(path, "qrels file")
    qrels: Qrels = {}
    try:
        for q in ir_measures.read_trec_qrels(str(p)):
            qrels.setdefault(q.query_id, {})[q.doc_id] = int(q.relevance)
    except (ValueError, IndexError) as err:
        raise FileFormatError(f"'{p}' is not TREC qrels: {err}") from None
    if not qrels:
        raise FileFormatError(f"'{p}' has no relevance judgements")
    return qrels


def read_qrels(path: str | os.PathLike[str]) -> QrelsFile:
    """Qrels in any layout of :func:`read_smart_rel` (which covers TREC), with the
    notes of how they were read."""
    return read_smart_rel(path)


#: Fields that hold a query's id in JSON lines, tried in this order: ``id``, BEIR's
#: ``_id``, ``query_id`` (ir_datasets), ``qid``.
QUERY_ID_FIELDS = ("id", "_id", "query_id", "qid")


class _Unique:
    """Queries by id, refusing an id given twice (naming both places)."""

    def __init__(self, path: Path, unit: str) -> None:
        self.path, self.unit = path, unit
        self.queries: dict[str, str] = {}
        self.where: dict[str, int] = {}

    def add(self, qid: str, text: str, number: int) -> None:
        if qid in self.where:
            raise FileFormatError(
                f"'{self.path}': query id {qid!r} is given twice ({self.unit}s "
                f"{self.where[qid]} and {number}); each query needs an id of its own"
            )
        self.where[qid] = number
        self.queries[qid] = text


def _json_queries(p: Path, id_field: str | None, text_field: str) -> dict[str, str]:
    from svdkit.lsi.corpus import json_records

    out: _Unique | None = None
    for where, record in json_records(p):
        unit, number = where.split()
        out = out or _Unique(p, unit)
        if not isinstance(record, dict):
            raise FileFormatError(f"'{p}' {where}: not a JSON object (a query is an object "
                                  "with an id field and a text field)")
        fields = ", ".join(map(str, record))
        if not isinstance(record.get(text_field), str):
            raise FileFormatError(
                f"'{p}' {where}: no text field {text_field!r} (a string; its fields: "
                f"{fields}); {arg('text_field')} names it",
                param="text_field",
            )
        if id_field is None:  # the first record decides, the others must have it too
            id_field = next((f for f in QUERY_ID_FIELDS if record.get(f) is not None), None)
            if id_field is None:
                raise FileFormatError(
                    f"'{p}' {where}: no id field (none of "
                    f"{', '.join(map(repr, QUERY_ID_FIELDS))}; its fields: {fields}); name "
                    f"it: {arg('id_field')} — queries are never numbered by position, "
                    "which would pair them with other queries' judgements",
                    param="id_field",
                )
        if record.get(id_field) is None:
            raise FileFormatError(
                f"'{p}' {where}: no id field {id_field!r} (its fields: {fields}); every "
                f"query needs an id ({arg('id_field')} names the field)",
                param="id_field",
            )
        out.add(str(record[id_field]).strip(), record[text_field], int(number))
    return out.queries if out else {}


def _check_no_query_fields(p: Path, tsv: bool, id_field: str | None, text_field: str) -> None:
    """An error when a field is named for queries without fields (a TSV or SMART file)."""
    named = [
        kw(name, value, typed=repr(value))
        for name, value, default in (
            ("id_field", id_field, None),
            ("text_field", text_field, "text"),
        )
        if value != default
    ]
    if named:
        what = "'id<TAB>text' lines" if tsv else "a SMART .QRY file (.I ids, .W texts)"
        names = "name fields" if len(named) > 1 else "names a field"
        raise SvdkitError(
            f"{' and '.join(named)} {names} of JSON queries (.jsonl, .json, .ndjson), but "
            f"'{p}' is {what}; leave it out"
        )


def read_queries(
    path: str | os.PathLike[str], id_field: str | None = None, text_field: str = "text"
) -> QueriesFile:
    """Queries from a SMART ``.QRY``, a TSV (``id<TAB>text``), a JSON-lines file or a
    JSON array of objects.

    Parameters
    ----------
    path : path
        ``.jsonl`` / ``.json`` / ``.ndjson``: JSON; ``.tsv`` / ``.txt``: one
        ``id<TAB>text`` a line; anything else: a SMART ``.QRY`` file.
    id_field : str, optional
        JSON: the field of the query ids. Default: the first of ``id``, ``_id``
        (BEIR), ``query_id``, ``qid`` that the first record has; every record must
        have it. A file without one is an error: queries are never numbered by
        position (their ids must meet those of the qrels).
    text_field : str
        JSON: the field of the query texts (default ``text``).

    Raises
    ------
    FileFormatError
        No id, or the same query id twice (the message names the id and both lines).
    SvdkitError
        ``id_field`` or ``text_field`` named for a TSV or SMART file, which has no
        fields (it would be ignored).
    """
    from svdkit.lsi.corpus import check_fields

    check_fields(id_field, text_field)
    p = _existing(path, "queries file")
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return QueriesFile(_json_queries(p, id_field, text_field), "json")
    _check_no_query_fields(p, suffix in (".tsv", ".txt"), id_field, text_field)
    if suffix in (".tsv", ".txt"):
        out = _Unique(p, "line")
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
            out.add(q.strip(), text, line_no)
        return QueriesFile(out.queries, "tsv")
    out = _Unique(p, "record")
    for number, (q, text) in enumerate(read_smart(p), 1):
        out.add(q, text, number)
    return QueriesFile(out.queries, "smart")


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
    """The top ``depth`` documents of each query that have a score, scored by rank.

    Only documents scored other than exactly 0 are retrieved, as an inverted index
    retrieves for tf-idf (a document sharing no word with the query is not found):
    otherwise the documents scored 0 would fill the ranking in corpus order, and the
    measures — R@100 above all — would credit whatever relevant document sits next
    to a matching one. A zero LSI cosine only comes from a document whose vector is
    zero, which is not found either. A query scored 0 against every document (none
    of its words is known: :meth:`~svdkit.lsi.index.LsiIndex.search` returns ``[]``)
    retrieves nothing, and counts 0 in every measure.

    Ranks, not cosines, are handed to ``ir_measures``: trec_eval breaks ties by
    document id (descending), while :meth:`~svdkit.lsi.index.LsiIndex.search` puts
    the lowest row first (:func:`~svdkit.lsi.query.top_n`); what is measured is the
    ranking the index returns.
    """
    from svdkit.lsi.query import top_n

    run = {}
    for q, row in zip(qids, scores, strict=True):
        scored = np.flatnonzero(row)  # ascending rows: top_n's ties stay lowest row first
        if not scored.size:
            run[q] = {}
            continue
        best = scored[top_n(row[scored], depth)]
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

    # NFC, as the judgements' ids are put (file names copied from macOS are NFD)
    nfc = [_nfc(n) for n in names]
    if len(set(nfc)) == len(nfc):
        names = nfc

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


#: How many judged queries the ids must leave without a query (and as many queries
#: without judgements) before unmarked ids (no SMART file, no leading zeros) are numbered
#: by position; fewer is too little evidence, and only noted.
CRANFIELD_MIN_ORPHANS = 5


def _gapped(queries: dict[str, str]) -> bool:
    """Whether the query ids are numbers, increasing in the file, with gaps inside, as
    Cranfield's ``cran.qry`` numbers its queries (``001``, ``002``, ``004``, …). A
    numbering that is only shifted (``2 … 6``, a query dropped) has no gap."""
    ids = list(queries)
    if not all(q.isdigit() for q in ids):
        return False
    numbers = [int(q) for q in ids]
    increasing = all(a < b for a, b in pairwise(numbers))
    return increasing and numbers[-1] - numbers[0] + 1 > len(numbers)


def _match_query_ids(
    queries: dict[str, str], qrels: Qrels, smart: bool = False
) -> tuple[dict[str, str], str]:
    """The queries, renumbered ``1``, ``2``, … by position when that is how the qrels count.

    Cranfield's ``cran.qry`` numbers its 225 queries ``001``, ``002``, ``004``, … up
    to ``365``, while ``cranqrel`` numbers them 1 to 225 by position: many ids meet
    (query ``004`` is not the qrels' ``4``, which is the third query) and the
    judgements would be paired with the wrong queries. Ids are otherwise used as they
    are. Renumbering needs query ids that are numbers increasing with gaps
    (:func:`_gapped`), every judged id a position ``1 … len(queries)``, and the
    positions meeting every judged query while the ids meet fewer; and then either a
    mark of Cranfield's file (``smart``: read from a SMART ``.QRY`` file, or ids with
    leading zeros), or, for ids written without zeros (a TSV, JSON or dict), the whole
    Cranfield signature: the qrels judge exactly ``1 … len(queries)`` and the ids leave
    at least :data:`CRANFIELD_MIN_ORPHANS` of them without a query (and as many
    queries without judgements) which the positions pair exactly. With less evidence
    the ids are kept and a note says so. Returns the queries and a note ("" when there
    is nothing to say).
    """
    judged = [q for q in qrels if q.isdigit() and not q.startswith("0")]
    if len(judged) != len(qrels) or not queries:
        return queries, ""
    by_id = sum(1 for q in qrels if q in queries)
    if by_id == len(qrels) or max(int(q) for q in judged) > len(queries):
        return queries, ""
    if not _gapped(queries):
        return queries, ""
    positions = {str(i): t for i, t in enumerate(queries.values(), 1)}
    by_position = sum(1 for q in qrels if q in positions)
    if by_position <= by_id or list(queries) == list(positions):
        return queries, ""
    padded = any(len(q) > 1 and q.startswith("0") for q in queries)
    orphans = len(qrels) - by_id
    exact = by_position == len(qrels) == len(queries)
    marked = smart or padded
    if (marked and (smart or 2 * by_id < len(qrels))) or (
        exact and orphans >= CRANFIELD_MIN_ORPHANS
    ):
        why = (
            "the Cranfield numbering" if marked else
            f"the Cranfield numbering: the qrels judge exactly 1 … {len(queries)}, as many "
            "as there are queries, and the ids skip numbers"
        )
        return positions, (
            f"queries numbered by position: the qrels judge {len(qrels)} queries, of which "
            f"{by_id} have the id of a query and {by_position} the position of one ({why})"
        )
    if not exact:
        return queries, ""
    return queries, (
        f"query ids used as they are, though the qrels judge exactly 1 … {len(queries)} "
        f"(as many as there are queries) and the ids skip numbers: {orphans} judged "
        f"{'query has' if orphans == 1 else 'queries have'} no query of their id and as "
        "many queries no judgements. If the "
        "qrels count the queries in file order (Cranfield's cranqrel), read the queries "
        "from the SMART .QRY file or write their ids with leading zeros"
    )


def _few(ids: Mapping[str, object]) -> str:
    """Up to three ids, quoted, and "…" when there are more."""
    names = [repr(q) for q in list(ids)[:3]]
    return ", ".join(names) + (", …" if len(ids) > 3 else "")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _composed_ids(queries: dict[str, str], qrels: Qrels) -> tuple[dict[str, str], Qrels]:
    """Query and document ids in Unicode's composed form (NFC), as the index's are met.

    ``élève`` typed on macOS (NFD: ``e`` + U+0301) is the same id as ``élève`` typed
    elsewhere; two query ids that become one are an error naming them.
    """
    out: dict[str, str] = {}
    for q, text in queries.items():
        key = _nfc(q)
        if key in out:
            raise SvdkitError(
                f"the query ids {key!r} and {q!r} are the same text in two Unicode forms "
                "(composed and decomposed): give each query an id of its own"
            )
        out[key] = text
    judged: Qrels = {}
    for q, docs in qrels.items():
        row = judged.setdefault(_nfc(q), {})
        for d, grade in docs.items():
            row[_nfc(d)] = max(grade, row.get(_nfc(d), grade))
    return out, judged


def _measure(qrels: Qrels, run: dict) -> dict[str, float]:
    ir_measures = _ir_measures()
    measures = [ir_measures.parse_measure(m) for m in MEASURES]
    agg = ir_measures.calc_aggregate(measures, qrels, run)
    return {str(m): float(agg[m]) for m in measures}


def _check_depth(depth: object) -> int:
    """``depth`` as an int: a positive integer (``bool`` and floats refused)."""
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or depth < 1:
        raise SvdkitError(
            f"{arg('depth')} must be a positive integer (how many documents each query "
            f"retrieves); got {got(depth)}",
            param="depth",
        )
    return int(depth)


def _kind(value: object) -> str:
    return type(value).__name__


def _check_queries(queries: object) -> dict[str, str]:
    """``queries`` as a dict ``{query id: text}`` of strings, or an error naming it."""
    name = arg("queries")
    if not isinstance(queries, Mapping):
        raise SvdkitError(
            f"{name} must be a mapping {{query id: text}} (a dict; dict(pairs) makes one "
            f"of (id, text) pairs); got a {_kind(queries)}",
            param="queries",
        )
    for q, text in queries.items():
        if not isinstance(q, str):
            raise SvdkitError(
                f"{name}: the query id {q!r} is a {_kind(q)}; query ids are strings "
                "(as the qrels' are)",
                param="queries",
            )
        if not isinstance(text, str):
            raise SvdkitError(
                f"{name}: the text of query {q!r} is a {_kind(text)}; a query is a string",
                param="queries",
            )
    return dict(queries)


def _check_grade(q: str, d: str, grade: object) -> int:
    """A relevance grade as an int: an integer, or a float that is one (``1.0``, as
    JSON and pandas give them); anything else an error naming the judgement."""
    if isinstance(grade, int | np.integer) and not isinstance(grade, bool | np.bool_):
        return int(grade)
    if isinstance(grade, float | np.floating) and np.isfinite(grade) and grade == int(grade):
        return int(grade)
    raise SvdkitError(
        f"{arg('qrels')}: the grade of document {d!r} for query {q!r} is {grade!r}; a "
        "relevance grade is an integer (0 or less: not relevant)",
        param="qrels",
    )


def _check_qrels(qrels: object) -> Qrels:
    """``qrels`` as a dict ``{query id: {document id: int grade}}``, or an error naming
    it (and the query, document or grade at fault)."""
    name = arg("qrels")
    shape = "a mapping {query id: {document id: grade}}"
    if not isinstance(qrels, Mapping):
        raise SvdkitError(f"{name} must be {shape}; got a {_kind(qrels)}", param="qrels")
    out: Qrels = {}
    for q, docs in qrels.items():
        if not isinstance(q, str):
            raise SvdkitError(
                f"{name}: the query id {q!r} is a {_kind(q)}; ids are strings "
                "(as read_qrels gives them)",
                param="qrels",
            )
        if not isinstance(docs, Mapping):
            raise SvdkitError(
                f"{name}: the judgements of query {q!r} are a {_kind(docs)}; {name} must "
                f"be {shape} (grade 1 for relevant)",
                param="qrels",
            )
        row = out[q] = {}
        for d, grade in docs.items():
            if not isinstance(d, str):
                raise SvdkitError(
                    f"{name}: query {q!r} judges the document id {d!r}, a {_kind(d)}; "
                    "ids are strings (as the index's are)",
                    param="qrels",
                )
            row[d] = _check_grade(q, d, grade)
    return out


def evaluate(
    index: LsiIndex, queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]],
    depth: int = 1000,
) -> Evaluation:
    """Measure ``index`` and the tf-idf baseline on ``queries`` judged by ``qrels``.

    Parameters
    ----------
    index : LsiIndex
        The index measured.
    queries : mapping of str to str
        ``{query id: text}`` (:func:`read_queries`).
    qrels : mapping of str to mapping of str to int
        ``{query id: {document id: grade}}`` (:func:`read_qrels`, whose notes are
        added to the result's): a grade above 0 is relevant (and the gain of nDCG),
        0 or less judged not relevant. Integral floats (``1.0``) are accepted.
    depth : int
        How many documents each query retrieves at most (default 1000).

    Queries without judgements, and judged queries not among ``queries``, are left
    out (noted); a query judged, with no
    relevant document, counts 0 in every measure (noted), as trec_eval counts it.
    Only documents scored other than 0 are retrieved, by LSI and by tf-idf (a
    document that shares no word with a query is not found by tf-idf). Query ids
    are matched as they are. Only Cranfield's numbering is repaired: numeric query
    ids increasing with gaps (``001``, ``002``, ``004``, …), read from a SMART
    ``.QRY`` file (:func:`read_queries`) or written with leading zeros, judged by
    position ``1 … len(queries)`` in the qrels, are numbered by position (noted).
    The same ids written without zeros (a TSV, JSON, a dict) are numbered by position
    only on the whole Cranfield signature: the qrels judge exactly ``1 … len(queries)``
    and the ids leave at least :data:`CRANFIELD_MIN_ORPHANS` judged queries without a
    query; with fewer, the ids are kept and a note says why.
    Ids that do not meet at all are an error naming a few of each. Document
    ids that meet the qrels only without their leading zeros or their ``.txt``
    extension (an index of a folder) are matched so (noted).
    Ties are ranked as :meth:`~svdkit.lsi.index.LsiIndex.search` ranks them.

    Raises
    ------
    MissingDependencyError
        ir-measures (the ``lsi`` extra) is not installed: said before any query runs.
    SvdkitError
        ``queries``, ``qrels`` or ``depth`` of the wrong kind (the message names it),
        or no query or judged document meets the index.
    """
    read_notes = tuple(getattr(qrels, "notes", ()))
    smart = getattr(queries, "source", "") == "smart"
    queries, qrels, depth = _check_queries(queries), _check_qrels(qrels), _check_depth(depth)
    _ir_measures()
    notes = list(read_notes)
    queries, qrels = _composed_ids(queries, qrels)
    queries, note = _match_query_ids(queries, qrels, smart)
    if note:
        notes.append(note)
    qids = [q for q in queries if qrels.get(q)]
    if qids and len(qids) < len(queries):
        notes.append(f"{len(queries) - len(qids)} of {len(queries)} queries have no relevance "
                      "judgements: left out")
    if not qids:
        raise SvdkitError(
            "no query has relevance judgements: the query ids "
            f"({_few(queries)}) and the qrels' ids ({_few(qrels)}) do not meet; ids are "
            "matched as they are (queries are numbered by position only for Cranfield's "
            "cran.qry): is this the qrels file of these queries?"
        )
    unasked = sum(1 for q in qrels if q not in queries)
    if unasked:
        notes.append(f"{unasked} of {len(qrels)} judged queries are not among the queries: "
                     "left out")
    unmet = sum(1 for q in qids if not any(g > 0 for g in qrels[q].values()))
    if unmet:
        notes.append(f"{counted(unmet, 'query', 'queries')} judged, with no relevant "
                     "document: 0 in every measure (as trec_eval counts them)")
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
