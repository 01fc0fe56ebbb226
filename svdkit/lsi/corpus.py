"""Corpus readers: documents as ``(id, text)`` pairs, streamed one at a time.

Every reader is a generator: the corpus is never held in memory, only the
document being read. Sources:

* a folder of ``.txt`` files (:func:`read_txt_folder`; ids are the paths relative
  to the folder, sorted so that two runs give the same order);
* a JSON-lines file (:func:`read_jsonl`; the id and text field names are options),
  or a JSON array of such objects (a ``.json`` file as ``json.dump`` or pandas'
  ``to_json(orient="records")`` write it; read whole, as JSON requires);
* a CSV file (:func:`read_csv`; a text column and an optional id column; a
  ``.tsv`` file is read with tabs as separators);
* a SMART collection file (``MED.ALL``, ``CISI.ALL``, ``cran.all.1400``:
  :func:`svdkit.lsi.evaluate.read_smart`; ids as the ``.I`` lines give them,
  without leading zeros, as the ``.REL`` readers read them);
* any Python iterable of strings or ``(id, text)`` pairs (:func:`read_iterable`).

Files are UTF-8; a byte-order mark at the start (as spreadsheet programs write
it) is skipped, not read as part of the first field name or the first text.

:func:`open_corpus` picks the reader from the path; :func:`chunked` groups the
stream into lists of a bounded size, which is how the indexer consumes it.

Examples
--------
>>> docs = list(read_iterable(["a first text", ("x", "a second")]))
>>> docs
[('0', 'a first text'), ('x', 'a second')]
>>> [len(c) for c in chunked(iter(range(5)), 2)]
[2, 2, 1]
"""

from __future__ import annotations

import csv
import json
import math
import numbers
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from svdkit._naming import arg, got
from svdkit._words import counted
from svdkit.errors import EmptyInputError, FileFormatError, MissingFileError, SvdkitError
from svdkit.inputs.files import check_path

__all__ = [
    "FORMATS",
    "MAX_CHUNK_SIZE",
    "PAIR_ID_MAX",
    "check_chunk_size",
    "check_documents",
    "check_fields",
    "check_start",
    "chunked",
    "document_id",
    "file_id",
    "looks_like_pair",
    "open_corpus",
    "read_csv",
    "read_iterable",
    "read_jsonl",
    "read_txt_folder",
    "settle_ids",
]

#: Source formats :func:`open_corpus` understands.
FORMATS = ("auto", "folder", "jsonl", "csv", "smart")

Document = tuple[str, str]


class NumberedId(str):
    """The id of a document that had none: its number, kept apart from ids given.

    Readers number such documents by place (from ``start``); :func:`settle_ids` then
    moves a number that is already some other document's id (given with it, in the
    same batch or in the index added to) to the next number that is neither an id in
    use nor a document's place.
    """

    __slots__ = ()


def settle_ids(ids: Iterable[str], taken: Iterable[str] = (), start: int = 0) -> list[str]:
    """``ids`` as plain strings, each :class:`NumberedId` moved off the ids in use.

    A document without an id keeps its number (its place, counted from ``start``)
    unless that number is the id of another document: one given an id anywhere in
    ``ids`` (before or after it), one in ``taken`` (the index added to), or another
    document numbered the same. Only such a document moves, to the next integer above
    its number that is none of those ids and no document's place (``start``,
    ``start + 1``, … ``start + len(ids) - 1``) or number: every other document keeps
    its place as its id, whatever the ids given. Moved numbers only grow along the
    stream, so the result is deterministic, and ids given are never changed.

    Parameters
    ----------
    ids : iterable of str
        The ids in stream order; :class:`NumberedId` for documents without one.
    taken : iterable of str
        Ids already in use (the index added to).
    start : int
        The place of the first document: the documents are at ``start``,
        ``start + 1``, …, the numbers the readers gave those without an id.

    Examples
    --------
    >>> settle_ids([NumberedId("0"), "0", NumberedId("2"), "x"])
    ['4', '0', '2', 'x']
    >>> settle_ids([NumberedId("5"), NumberedId("6")], taken=["5"], start=5)
    ['7', '6']
    """
    ids = list(ids)
    given = {d for d in ids if not isinstance(d, NumberedId)}
    given.update(taken)
    # numbers a moved document may not take: ids in use, places and numbers of documents
    reserved = given | {d for d in ids if isinstance(d, NumberedId)}
    end = start + len(ids)
    kept: set[str] = set()
    out: list[str] = []
    following = start  # moved numbers grow along the stream: no rescanning
    for d in ids:
        if isinstance(d, NumberedId):
            if d in given or d in kept:
                number = max(int(d) + 1, following)
                while start <= number < end or str(number) in reserved:
                    number += 1
                following = number + 1
                reserved.add(str(number))
                d = str(number)
            kept.add(str(d))
        out.append(str(d))
    return out

#: The id field of JSON records when none is named: ``id``, or BEIR's ``_id`` when the
#: first record has no ``id`` but has ``_id``.
DEFAULT_ID = "id"

#: The text field of JSON records and the text column of CSV files when none is named.
DEFAULT_TEXT = "text"

#: Text encoding of corpus files: UTF-8, with or without a byte-order mark.
ENCODING = "utf-8-sig"


#: The largest chunk size: Python's ``sys.maxsize`` (``itertools.islice``'s limit), far
#: beyond any corpus.
MAX_CHUNK_SIZE = sys.maxsize


def check_chunk_size(size: Any, name: str = "chunk_size") -> int:
    """``size`` as an ``int`` in ``[1, MAX_CHUNK_SIZE]``, or an SvdkitError naming ``name``.

    Examples
    --------
    >>> check_chunk_size(2000)
    2000
    >>> check_chunk_size(10**30)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: chunk_size must be a positive integer of at most ...; got 10000...
    """
    if (
        isinstance(size, bool)
        or not isinstance(size, numbers.Integral)
        or not 1 <= size <= MAX_CHUNK_SIZE
    ):
        raise SvdkitError(
            f"{arg(name)} must be a positive integer of at most {MAX_CHUNK_SIZE} "
            f"(sys.maxsize); got {got(size)}",
            param=name,
        )
    return int(size)


def check_start(start: Any) -> int:
    """``start``, the first positional id: an integer ≥ 0, or an SvdkitError naming it.

    Examples
    --------
    >>> check_start(5)
    5
    >>> check_start(-5)
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: start must be a non-negative integer; got -5
    """
    if isinstance(start, bool) or not isinstance(start, numbers.Integral) or start < 0:
        raise SvdkitError(f"start must be a non-negative integer; got {start!r}")
    return int(start)


#: The longest first element of a tuple of two strings read as an ``(id, text)`` pair.
PAIR_ID_MAX = 64


def looks_like_pair(source: Any) -> bool:
    """Whether ``source`` is a tuple of two strings that looks like one ``(id, text)`` pair.

    The first string must look like an id: no whitespace and at most
    :data:`PAIR_ID_MAX` characters; the second like a text: it has whitespace or is
    longer than the first. Two texts (``tuple(df.text)``, ``zip(*records)``) are
    not a pair.

    Examples
    --------
    >>> looks_like_pair(("doc1", "cats chase dogs"))
    True
    >>> looks_like_pair(("cats purr at dogs", "dogs bark at cats"))
    False
    >>> looks_like_pair(["doc1", "cats chase dogs"])  # a list is two documents
    False
    """
    if not (isinstance(source, tuple) and len(source) == 2):
        return False
    first, second = source
    if not (isinstance(first, str) and isinstance(second, str)):
        return False
    id_like = len(first) <= PAIR_ID_MAX and not any(c.isspace() for c in first)
    text_like = any(c.isspace() for c in second) or len(second) > len(first)
    return id_like and text_like


def check_documents(source: Any, name: str, *, paths: bool = True) -> None:
    """An SvdkitError naming ``name`` unless ``source`` is iterable (documents).

    Parameters
    ----------
    source : object
        What the caller was given.
    name : str
        The argument's name, for the message.
    paths : bool
        Whether the caller also takes a path (``open_corpus``, ``build_index``,
        ``add_documents``, which check for one before this); the message says so.
        Without (``count_corpus``, ``read_iterable``), a path is refused, and so is a
        string, whose characters would be read as one-letter documents. A tuple of
        two strings that looks like an ``(id, text)`` pair (:func:`looks_like_pair`)
        is refused either way: it is a pair without its list, which iterated would be
        two documents (the id one of them). Any other tuple of two strings, such as
        ``tuple(df.text)`` of two texts, is two documents.

    Examples
    --------
    >>> check_documents(["a text"], "docs")
    >>> check_documents(5, "docs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: docs must be a path or an iterable of strings or ...; got int: 5
    >>> check_documents("corpus.jsonl", "docs", paths=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: docs must be an iterable ...open_corpus reads a file); got str: ...

    A tuple of two strings is one ``(id, text)`` pair given without its list:

    >>> check_documents(("d1", "cats purr"), "docs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: docs is a single (id, text) pair ...; pass ... [(id, text)] ...

    Two texts in a tuple are two documents:

    >>> check_documents(("cats purr at dogs", "dogs bark at cats"), "docs")
    """
    what = "a path or an iterable" if paths else "an iterable"
    what += " of strings or (id, text) pairs"
    if not paths:
        what += " (svdkit.lsi.corpus.open_corpus reads a file)"
        if isinstance(source, str | bytes | os.PathLike):
            raise SvdkitError(f"{name} must be {what}; got {type(source).__name__}: {source!r:.60}")
    try:
        iter(source)
    except TypeError:
        raise SvdkitError(
            f"{name} must be {what}; got {type(source).__name__}: {source!r:.60}"
        ) from None
    if looks_like_pair(source):
        # iterated, it would be two documents: the id indexed as a text of its own
        raise SvdkitError(
            f"{name} is a single (id, text) pair {source!r:.60}, which would be read as two "
            "documents; pass a list of pairs, [(id, text)] (or a list of two texts, "
            "[text, text])"
        )


def check_fields(id_field: Any, text_field: Any) -> None:
    """``id_field`` a str or None, ``text_field`` a str, or an SvdkitError naming it.

    Checked whatever the source (a list of texts does not use them: nonsense given
    there is refused too, not kept until the same call reads a file).

    Examples
    --------
    >>> check_fields(None, "text")
    >>> check_fields("id", 3)
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: text_field must be a field or column name (str); got int: 3
    """
    for name, value, optional in (("id_field", id_field, True), ("text_field", text_field, False)):
        if not (isinstance(value, str) or (optional and value is None)):
            allowed = " or None" if optional else ""
            raise SvdkitError(
                f"{name} must be a field or column name (str){allowed}; got "
                f"{type(value).__name__}: {value!r:.60}"
            )


def chunked(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """Lists of at most ``size`` consecutive items of ``items``."""
    size = check_chunk_size(size)
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def read_iterable(items: Iterable[Any], start: int = 0) -> Iterator[Document]:
    """Documents from strings (ids ``"0"``, ``"1"``, …, from ``start``) or ``(id, text)`` pairs.

    A mapping (``{id: text}``) gives its ``(id, text)`` items: iterated as it is, it
    would give its ids, which would be indexed as the texts. ``start``: the first
    positional id (documents added to an index of ``n`` are numbered from ``n``), a
    non-negative integer. A string's id is its number, a :class:`NumberedId`, which
    :func:`settle_ids` moves off an id another document has.
    """
    start = check_start(start)
    check_documents(items, "items", paths=False)
    if isinstance(items, Mapping):
        items = items.items()
    for i, item in enumerate(items):
        if isinstance(item, str):
            yield NumberedId(start + i), item
        elif isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[1], str):
            # (a number a reader gave, passed on: still a number, not an id given)
            yield document_id(item[0], f"document {i}"), item[1]
        elif isinstance(item, tuple | list) and len(item) == 2 and _is_id(item[0]):
            text = item[1]
            what = f"{type(text).__name__} ({text!r:.40})"
            if text is None or (isinstance(text, float) and math.isnan(text)):
                what = f"{'None' if text is None else 'float (nan)'}, a missing text"
            raise SvdkitError(
                f"document {i} (id {_shown_id(item[0])}): its text is {what}, not a string; "
                "give every document a text ('' for an empty one), or leave it out"
            )
        else:
            raise SvdkitError(
                f"document {i} is a {type(item).__name__}; expected a string or an "
                "(id, text) pair"
            )


def _is_id(value: Any) -> bool:
    """Whether ``value`` is what an id may look like (a str, a number or a missing one)."""
    return value is None or isinstance(value, str | numbers.Number)


def _shown_id(value: Any) -> str:
    return repr(value) if isinstance(value, str) else f"{value!r:.40}"


def document_id(value: Any, where: str, error: type[SvdkitError] = SvdkitError) -> str:
    """The id of a document as text: a ``str`` as it is, an integer (``np.int64`` too)
    in decimal, a float only when whole (``1.0`` is ``"1"``, as a pandas column of
    integers with a gap holds ``1``); any other object by ``str``. A missing id
    (``None``, NaN), a bool, any other float and a container (a list, tuple, dict,
    set, bytes or array, whose ``str`` is not an id) are refused with ``error``, naming
    ``where`` (a document read by :func:`read_iterable`). A JSON-lines file keeps its ids
    as it writes them instead (:func:`file_id`).

    Examples
    --------
    >>> document_id("a", "document 0"), document_id(3, "document 1"), document_id(2.0, "x")
    ('a', '3', '2')
    >>> document_id(None, "document 1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: document 1's id is None, a missing id; ...
    """
    if isinstance(value, str):  # (a NumberedId a reader gave, too: kept as it is)
        return str(value) if type(value).__name__ == "str_" else value  # NumPy's str_: str
    reason = None
    if value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool)
                         and math.isnan(value)):
        reason = ("a missing id; give every (id, text) pair an id, or pass the texts alone "
                  "to number them by place")
    elif isinstance(value, bool) or type(value).__name__ == "bool_":
        reason = "a bool, not an id (a str or an integer)"
    elif (isinstance(value, Mapping | AbstractSet | Sequence)
          or getattr(value, "ndim", 0) not in (0, None)):
        reason = f"a {type(value).__name__} of values, not an id (a str or an integer)"
    elif isinstance(value, numbers.Integral):
        return str(int(value))
    elif isinstance(value, numbers.Real):
        if math.isfinite(value) and float(value).is_integer():
            return str(int(value))
        reason = ("a float that is not a whole number; ids are text or integers (give it as "
                  "a str to keep it)")
    if reason is not None:
        raise error(f"{where}'s id is {value!r:.40}, {reason}")
    return str(value)


def read_txt_folder(
    folder: str | os.PathLike[str], encoding: str = ENCODING
) -> Iterator[Document]:
    """Every ``*.txt`` file under ``folder`` (recursively, sorted by path; ``.TXT`` too).

    Raises
    ------
    MissingFileError
        ``folder`` is not a folder.
    EmptyInputError
        It holds no ``.txt`` file (the message names some other file it holds).
    """
    root = Path(folder)
    if not root.is_dir():
        raise MissingFileError(f"corpus folder '{root}' does not exist")
    # files only (a folder called "notes.txt" is walked into, not read), and ".TXT" too
    files = [p for p in root.rglob("*") if p.is_file()]
    paths = sorted(p for p in files if p.suffix.lower() == ".txt")
    if not paths:
        others = sorted(p.name for p in files)
        seen = (f" (it holds {len(others)} other file(s), such as {others[0]!r}: only "
                "files named *.txt are read)") if others else ""
        raise EmptyInputError(f"corpus folder '{root}' has no .txt files{seen}")
    for path in paths:
        try:
            text = path.read_text(encoding=encoding)
        except UnicodeDecodeError as err:
            name = "utf-8" if encoding == ENCODING else encoding
            raise FileFormatError(f"'{path}' is not {name} text: {err}") from None
        yield path.relative_to(root).as_posix(), text


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turn a decoding or CSV error met while reading ``path`` into a :class:`FileFormatError`."""
    try:
        yield
    except UnicodeDecodeError as err:
        raise FileFormatError(f"'{path}' is not utf-8 text: {err}") from None
    except csv.Error as err:
        raise FileFormatError(f"'{path}' is not a readable CSV file: {err}") from None


def _opens_array(path: Path) -> bool:
    """Whether the first character of ``path`` that is not whitespace is ``[``."""
    with _readable(path), path.open(encoding=ENCODING) as f:
        while chunk := f.read(4096):
            head = chunk.lstrip()
            if head:
                return head.startswith("[")
    return False


def json_records(path: str | os.PathLike[str]) -> Iterator[tuple[str, Any]]:
    """The records of a JSON-lines file (``"line N"``, record), streamed, or of a JSON
    array (``"item N"``, record; the file is parsed whole, as JSON requires).

    Raises
    ------
    FileFormatError
        A line that is not JSON, or a file that opens with ``[`` but is no JSON array.
    """
    path = Path(path)
    if _opens_array(path):
        with _readable(path), path.open(encoding=ENCODING) as f:
            try:
                items = json.load(f)
            except json.JSONDecodeError as err:
                raise FileFormatError(
                    f"'{path}' is not a JSON array ({err.msg}, line {err.lineno}); svdkit reads "
                    "JSON lines (one object a line) or a JSON array of objects"
                ) from None
        if not isinstance(items, list):  # "[1]\n[2]" is not JSON: json.load says so
            raise FileFormatError(f"'{path}' is not a JSON array")
        for i, record in enumerate(items, 1):
            yield f"item {i}", record
        return
    with _readable(path), path.open(encoding=ENCODING) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                hint = ""
                if line_no == 1 and line.lstrip().startswith("{"):
                    hint = ("; svdkit reads JSON lines (one object a line) or a JSON array "
                            "of objects, not one object over several lines")
                raise FileFormatError(
                    f"'{path}' line {line_no}: not JSON ({err.msg}){hint}"
                ) from None
            yield f"line {line_no}", record


#: The shapes of JSON that hold documents or queries, for :func:`text_field_problem`.
JSON_SHAPES = (
    "JSON lines (one object a line, such as {\"id\": \"d1\", \"text\": \"…\"}) or a JSON "
    "array of such objects (pandas: to_json(orient=\"records\", lines=True))"
)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else "a string"


def text_field_problem(record: Any, text_field: str, where: str) -> str:
    """What is wrong with a JSON record whose ``text_field`` is not a string, and the
    shapes read (:data:`JSON_SHAPES`): not an object, a text field of another kind
    (pandas' default ``to_json`` writes a column as an object), no such field — where
    an object of strings only on the first line is most likely a file ``{id: text}``
    (``json.dump`` of a dict), which is not read: its keys would be guessed as ids."""
    if not isinstance(record, dict):
        return (f"no text field {text_field!r}: {_json_kind(record)}, not an object; svdkit "
                f"reads {JSON_SHAPES}")
    if text_field in record:
        problem = f"its text field {text_field!r} is {_json_kind(record[text_field])}, not a string"
        if isinstance(record[text_field], dict):  # pandas' default to_json: {"text": {row: …}}
            return (f"{problem} (columns, as pandas' default to_json writes); svdkit reads "
                    f"{JSON_SHAPES}")
        return f"{problem} (a text; an empty one is \"\")"
    fields = ", ".join(map(repr, list(record)[:8])) + (", …" if len(record) > 8 else "")
    message = (f"no text field {text_field!r} (its fields: {fields}); --text-field "
               "(text_field= in Python) names the field of the texts")
    if where in ("line 1", "item 1") and record and all(
        isinstance(v, str) for v in record.values()
    ):
        message += (
            f"; if the file is one object {{id: text}} (json.dump of a dict), write {JSON_SHAPES} "
            "instead, or pass the dict itself to build_index in Python"
        )
    return message


def read_jsonl(
    path: str | os.PathLike[str],
    id_field: str | None = None,
    text_field: str = "text",
    start: int = 0,
) -> Iterator[Document]:
    """One JSON object a line (or a JSON array of objects); ``text_field`` holds the
    text, ``id_field`` the id.

    Without ``id_field`` (``None``), the id is the field ``id``, or ``_id`` when the
    first record has no ``id`` but an ``_id`` (BEIR's ``corpus.jsonl``); a record
    without it is numbered by its place, from ``start``. A named ``id_field`` is
    required: a record without it is an error naming the field and the record's
    fields (a misspelt name would otherwise number every document, losing its id).
    An id is kept as the file writes it (:func:`file_id`: ``1.5`` is ``"1.5"``,
    ``3.0`` is ``"3.0"``); an id field that is there but ``null`` is an error naming
    the line, not a number by place (an object or array there is refused the same way).

    Raises
    ------
    FileFormatError
        A record without the text field (a string), or without the named id field; an
        id that is ``null``, NaN, infinite, a bool, an object or an array.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"corpus file '{path}' does not exist")
    required = id_field is not None
    number = 0
    for where, record in json_records(path):
        if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
            raise FileFormatError(
                f"'{path}' {where}: {text_field_problem(record, text_field, where)}"
            )
        if id_field is None:
            id_field = "_id" if "id" not in record and "_id" in record else DEFAULT_ID
        if id_field not in record and required:
            fields = ", ".join(map(repr, record))
            raise FileFormatError(
                f"'{path}' {where}: no id field {id_field!r} (its fields: {fields}); "
                "--id-field (id_field= in Python) names the field of the ids"
            )
        yield ((NumberedId(start + number) if id_field not in record
                else file_id(record[id_field], f"'{path}' {where}", id_field,
                             named=required)),
               record[text_field])
        number += 1


def file_id(value: Any, where: str, field: str, named: bool = False) -> str:
    """The id of a JSON record as the file writes it: a string as it is, a number as
    ``str`` writes it (``7`` is ``"7"``, ``1.5`` is ``"1.5"``, ``3.0`` is ``"3.0"``: the
    ids indexes and qrels built from the file have always had). ``null`` (a missing
    id), NaN, an infinity (not JSON, though Python writes them), a bool, an object and
    an array (a wrong id field, most likely) are a :class:`FileFormatError` naming
    ``where`` (the line) and ``field``. ``named``: the field was named (``--id-field``,
    ``id_field=``), so the advice for ``null`` is to drop that as well.

    Unlike :func:`document_id` (pairs from Python, where ``1.0`` is ``"1"``, as a pandas
    column of integers with a gap holds it), a whole float is not rewritten: the file's
    text is the id.

    Examples
    --------
    >>> file_id(1.5, "line 1", "id"), file_id(3.0, "line 2", "id"), file_id(7, "line 3", "id")
    ('1.5', '3.0', '7')
    >>> file_id(None, "line 4", "id")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.FileFormatError: line 4: its id field 'id' is null, a missing id; ...
    """
    if isinstance(value, str):
        return value
    reason = None
    if value is None:
        drop = "drop --id-field (id_field= in Python) and " if named else ""
        shown, reason = "null", (f"a missing id; give every record an id, or {drop}leave the "
                                 "field out of every record to number them by place")
    elif isinstance(value, bool):
        shown, reason = json.dumps(value), "a bool, not an id (a string or a number)"
    elif isinstance(value, dict | list):
        shown = f"{'an object' if isinstance(value, dict) else 'an array'} {json.dumps(value):.40}"
        reason = f"not an id (a string or a number); is {field!r} the field of the ids?"
    elif isinstance(value, float) and not math.isfinite(value):
        shown, reason = repr(value), "not a number JSON can hold (a missing id?)"
    if reason is not None:
        raise FileFormatError(f"{where}: its id field {field!r} is {shown}, {reason}")
    return str(value)


def read_csv(
    path: str | os.PathLike[str],
    text_column: str = "text",
    id_column: str | None = None,
    start: int = 0,
) -> Iterator[Document]:
    """Rows of a CSV file with a header; ``text_column`` and optional ``id_column``
    (without, the rows are numbered from ``start``).

    A ``.tsv`` file is tab-separated text as IANA defines it: a field holds no tab
    and no line break, and a quote is text (``"Quoted" title`` keeps its quotes, as
    ``read_queries`` reads a query file). Any other file is CSV (RFC 4180: commas, a
    field in double quotes may hold commas, line breaks and doubled quotes), read
    strictly: a quote left open is an error naming its line, not the rest of the
    file merged into one document. A row with more fields than the header (an
    unquoted comma, or a tab in a ``.tsv`` field), or with fewer where its text or id
    cell is missing, is an error naming its line and both counts, not a document cut
    short or empty; a row that lacks only trailing cells of columns never read (a
    trimmed trailing tab, an unnamed empty last column) is read.

    Raises
    ------
    FileFormatError
        A quote left open, a row with more or fewer fields than the header, a row
        without its id, or a column named that the header lacks.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"corpus file '{path}' does not exist")
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    if path.suffix.lower() == ".tsv":
        dialect = {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
    else:
        dialect = {"delimiter": ",", "strict": True}
    with _readable(path), path.open(encoding=ENCODING, newline="") as f:
        reader = csv.DictReader(f, **dialect)
        done = 0  # lines read up to the last good row: a bad one starts on the next
        try:
            columns = reader.fieldnames or []
            done = reader.line_num
            for name in (text_column, id_column):
                if name is not None and name not in columns:
                    raise FileFormatError(
                        f"'{path}' has no column {name!r}; its columns are {columns}"
                    )
            for number, row in enumerate(reader):
                doc_id = row[id_column] if id_column else NumberedId(start + number)
                if not doc_id:  # None: a short row; "": an empty cell
                    raise FileFormatError(
                        f"'{path}' line {reader.line_num}: no id in column {id_column!r}"
                    )
                _check_row(path, row, columns, done + 1, reader.line_num,
                           (text_column, id_column))
                done = reader.line_num
                yield doc_id, row[text_column] or ""
        except csv.Error as err:
            raise FileFormatError(
                f"'{path}' is not a readable CSV file: line {done + 1}: {err} "
                "(a double quote opens a quoted field: close it, or double it inside one)"
            ) from None


def _check_row(
    path: Path, row: dict, columns: list[str], first: int, last: int,
    read: tuple[str | None, ...] = (),
) -> None:
    """An error when a row of a CSV/TSV file has more fields than its header
    (``csv.DictReader`` would drop the surplus: the text after an unquoted comma or a
    tab), or fewer, where a cell it lacks is one of the columns ``read`` (the text and
    the id: a missing cell is ``None``, an empty document). A row that lacks only
    trailing cells of columns never read (an editor's trimmed trailing tab, a
    spreadsheet's unnamed last column) loses nothing and passes."""
    extra = len(row.get(None) or ())  # type: ignore[call-overload]
    short = sum(1 for name in columns if row.get(name) is None)
    if not extra and (not short or all(row.get(name) is not None for name in read if name)):
        return
    tsv = path.suffix.lower() == ".tsv"
    lines = f"line {first}" if first >= last else f"lines {first}–{last}"
    if extra:
        remedy = (
            "a tab in a field? a .tsv field holds no tab: replace it, or write CSV"
            if tsv
            else "an unquoted comma in the text? put the field in double quotes"
        )
    else:
        remedy = "a cell left out? give every column a value (an empty one: nothing between the "
        remedy += "tabs)" if tsv else "commas)"
    raise FileFormatError(
        f"'{path}' {lines}: {counted(len(columns) + extra - short, 'field')}, the header has "
        f"{len(columns)} ({', '.join(columns)}) — {remedy}"
    )


#: What names the documents of a source that has no fields, for :func:`_check_no_fields`.
_NO_FIELDS = {
    "folder": "a folder of .txt files (its documents are named by their paths)",
    "smart": "a SMART file (its documents are named by their .I lines)",
}


def _check_no_fields(path: Path | None, format: str, id_field: str | None, text_field: str) -> None:
    """An error when a field or column is named for a source that has none (a folder, a
    SMART file, a Python iterable): ignoring it would hide a mistake."""
    named = [
        f"{flag} {value!r} ({name}= in Python)"
        for flag, name, value, default in (
            ("--id-field", "id_field", id_field, None),
            ("--text-field", "text_field", text_field, DEFAULT_TEXT),
        )
        if value != default
    ]
    if not named:
        return
    if path is None:
        what = "the documents are Python strings or (id, text) pairs"
    else:
        what = f"'{path}' is {_NO_FIELDS[format]}"
    names = "name fields" if len(named) > 1 else "names a field"
    raise SvdkitError(
        f"{' and '.join(named)} {names} of JSON-lines records or CSV columns, but {what}; "
        "leave it out"
    )


def open_corpus(
    source: Any,
    format: str = "auto",
    *,
    id_field: str | None = None,
    text_field: str = "text",
    start: int = 0,
) -> Iterator[Document]:
    """The documents of ``source``: a folder, a ``.jsonl``/``.csv`` file, or an iterable.

    Parameters
    ----------
    source : path or iterable
        A folder of ``.txt`` files, a JSON-lines file (``.jsonl``, ``.json``,
        ``.ndjson``; a JSON array of objects too), a CSV file, or an iterable of
        strings / ``(id, text)`` pairs.
    format : {"auto", "folder", "jsonl", "csv", "smart"}
        ``auto`` decides from the path: a folder, ``.jsonl`` / ``.json`` /
        ``.ndjson``, ``.csv`` / ``.tsv``, or a SMART ``.ALL`` file (``MED.ALL``,
        ``cran.all.1400``).
    id_field, text_field : str
        Field (JSON-lines) or column (CSV) names. Without ``id_field``, the id is the
        field ``id`` (or ``_id``, else the record number) of JSON-lines records and
        the row number of CSV rows; a named ``id_field`` or ``text_field`` must be in
        every record (CSV: a column of the file), or it is an error naming it and the
        fields there are. Checked to be strings whatever the source; naming either
        for a source without fields (a folder, a SMART file, an iterable) is an
        error, not ignored.
    start : int
        The first id of documents numbered by position (plain strings, records or
        rows without an id), an integer ≥ 0: adding to an index of ``n`` documents
        numbers from ``n``. Such ids are :class:`NumberedId` strings: the indexer
        (:func:`settle_ids`) moves one that another document has as its id (one of
        the index, or given in the same corpus) to the next number that is neither an
        id in use nor a document's place; the other documents keep their places.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from svdkit.lsi import open_corpus
    >>> list(open_corpus(["cats purr", ("d1", "dogs bark")], start=5))
    [('5', 'cats purr'), ('d1', 'dogs bark')]

    A folder of ``.txt`` files (ids: the paths, sorted) and a JSON-lines file:

    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp, "notes")
    ...     folder.mkdir()
    ...     _ = (folder / "b.txt").write_text("dogs bark", encoding="utf-8")
    ...     _ = (folder / "a.txt").write_text("cats purr", encoding="utf-8")
    ...     _ = (folder / "skipped.md").write_text("not a .txt file", encoding="utf-8")
    ...     lines = pathlib.Path(tmp, "docs.jsonl")
    ...     _ = lines.write_text('{"key": "x", "body": "birds sing"}', encoding="utf-8")
    ...     print(list(open_corpus(folder)))
    ...     print(list(open_corpus(lines, id_field="key", text_field="body")))
    [('a.txt', 'cats purr'), ('b.txt', 'dogs bark')]
    [('x', 'birds sing')]
    """
    if format not in FORMATS:
        raise SvdkitError(f"corpus format must be one of {FORMATS}; got {format!r}")
    start = check_start(start)
    check_fields(id_field, text_field)
    if not isinstance(source, str | os.PathLike):
        check_documents(source, "source")
        _check_no_fields(None, "iterable", id_field, text_field)
        return read_iterable(source, start)
    path = check_path(source, "source")  # "" is not the current directory
    if format == "auto":
        if path.is_dir():
            format = "folder"
        elif path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            format = "jsonl"
        elif path.suffix.lower() in (".csv", ".tsv"):
            format = "csv"
        elif ".all" in (s.lower() for s in path.suffixes):
            format = "smart"
        elif not path.exists():
            hint = ""
            if isinstance(source, str) and any(c.isspace() for c in source):
                # a text, most likely: a str is a path here, as open() takes it
                hint = f" (a str names a file or folder; to give texts, pass a list: [{source!r}])"
            raise MissingFileError(f"corpus '{path}' does not exist{hint}")
        else:
            raise FileFormatError(
                f"cannot tell the format of '{path}': use a folder of .txt files, a .jsonl, "
                "a .csv / .tsv or a SMART .ALL file (or name the format: --format on the "
                "command line, format= in Python)"
            )
    if format in ("folder", "smart"):
        _check_no_fields(path, format, id_field, text_field)
    if format == "folder":
        if path.exists() and not path.is_dir():
            raise FileFormatError(
                f"corpus '{path}' is a file, not a folder of .txt files (format 'folder')"
            )
        return read_txt_folder(path)
    if path.is_dir():
        raise FileFormatError(
            f"corpus '{path}' is a folder, not a {format} file; a folder of .txt files is "
            "format 'folder'"
        )
    if format == "smart":
        from svdkit.lsi.evaluate import read_smart

        if not path.is_file():
            raise MissingFileError(f"corpus file '{path}' does not exist")
        return read_smart(path)
    if format == "jsonl":
        return read_jsonl(path, id_field=id_field, text_field=text_field, start=start)
    return read_csv(path, text_column=text_field, id_column=id_field, start=start)
