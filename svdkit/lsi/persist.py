"""An index on disk: a directory of ``.npy`` arrays and JSON, checksummed, written atomically.

Layout (format ``svdkit.lsi``, version :data:`FORMAT_VERSION`)::

    index/
      meta.json          format, version, settings, SVD report, history, the
                         SHA-256 of every other file, and that of its own content
                         (``meta_sha256``)
      U.npy s.npy V.npy  the truncated SVD (documents × k, k, terms × k)
      doc_vectors.npy    rows of U Σ^p at unit length (float32): what queries read
      global_weights.npy the weighting's gⱼ
      counts_data.npy counts_indices.npy counts_indptr.npy   the counts (CSR)
      vocabulary.json    the terms, in column order
      documents.json     ids and snippets

The directory is built under a temporary name next to the target and renamed
into place; an existing index is moved aside first and removed only after the
new one is in place, so a crash leaves either the old index or the new one.
An index reached through a symbolic link is written where the link points (the
link is kept). The current directory (``"."``), or one that holds it, is refused
before any work: it would be moved away from under the process.
Only an svdkit index is replaced: a directory whose ``meta.json`` is another
program's, or an index that also holds files of its own, is refused.
Saving writes one consistent state of the index, taken under its lock (a
document added meanwhile from another thread is in the saved index entirely or not
at all), and refuses an index whose arrays disagree on the number of documents
rather than write one that could not be loaded. Loading checks the format name,
the version (:data:`READABLE_VERSIONS`; a newer one, or a text option this svdkit does
not know, says "upgrade") and every checksum, and says what is wrong; large arrays are
memory-mapped (``mmap=True``). Nothing is pickled: arrays are read with
``allow_pickle=False``.

Examples
--------
>>> import tempfile, pathlib
>>> from svdkit.lsi import build_index, demo_data, load_index
>>> index = build_index(demo_data.deerwester_titles(), k=2, weighting="count",
...                     normalize=False, options=demo_data.DEERWESTER_OPTIONS)
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = pathlib.Path(tmp) / "deerwester"
...     index.save(folder)
...     print(load_index(folder).search("graph minors", n=1)[0].id)
m3
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from svdkit._files import (
    check_directory_output,
    make_temp_dir,
    real_directory,
    replace_directory,
)
from svdkit.errors import FileFormatError, MissingFileError, ShapeError, check_bool
from svdkit.inputs.files import check_path

if TYPE_CHECKING:
    from svdkit.lsi.index import LsiIndex

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "READABLE_VERSIONS", "check_index_output",
           "load_index", "save_index"]

FORMAT_NAME = "svdkit.lsi"
#: The version written. 2: the text options hold ``combining_marks`` (an index of
#: version 1 is read with it ``False``); the release before reads version 1 only, and
#: says of a version 2 index that it was "written by a newer svdkit: upgrade".
FORMAT_VERSION = 2
#: The versions read.
READABLE_VERSIONS = (1, 2)
META = "meta.json"

_ARRAYS = ("U", "s", "V", "doc_vectors", "global_weights",
           "counts_data", "counts_indices", "counts_indptr")  # fmt: skip
_MAPPED = ("U", "V", "doc_vectors")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    # a lone surrogate (an undecodable byte of a file name or text, kept by
    # ``surrogateescape``) cannot be encoded as UTF-8: ``backslashreplace`` writes it as
    # the JSON escape ``\udcXX`` (it only occurs inside JSON strings), which json.loads
    # reads back as the same character
    text = json.dumps(obj, ensure_ascii=False)
    path.write_bytes(text.encode("utf-8", "backslashreplace"))


def _is_index(folder: Path) -> bool:
    """Whether ``folder`` holds an svdkit LSI index (its ``meta.json`` names the format).

    A ``meta.json`` of another program does not make a directory an index: saving
    over it would delete that program's files.
    """
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT_NAME


def _index_files() -> set[str]:
    return {f"{n}.npy" for n in _ARRAYS} | {"vocabulary.json", "documents.json", META}


def _meta_digest(meta: dict[str, Any]) -> str:
    """SHA-256 of ``meta`` without its own ``meta_sha256`` entry (keys sorted)."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def check_index_output(path: str | os.PathLike[str]) -> Path:
    """Check, before any work, that an index can be written to the directory ``path``.

    ``path`` may be new, an empty directory, or an earlier index (replaced), or a
    symbolic link to one of those (the directory it points to is written).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    SvdkitError
        ``path`` is not a ``str`` or ``os.PathLike`` (``None``, a number…).
    FileFormatError
        ``path`` is empty, is a file, lies under a file, is a non-empty directory that is
        not an svdkit LSI index, or is the current directory or one that holds it
        (``"."``: saving moves the whole directory aside).
    """
    target = check_directory_output(
        check_path(path), "svdkit LSI index", belongs=_is_index, replaced=True
    )
    if target.is_dir() and _is_index(target):
        # saving replaces the whole directory: files put there by hand would be lost
        extra = sorted(p.name for p in target.iterdir() if p.name not in _index_files())
        if extra:
            shown = ", ".join(repr(n) for n in extra[:5]) + (" …" if len(extra) > 5 else "")
            raise FileFormatError(
                f"'{target}' is an svdkit LSI index but also holds {shown}, which is not "
                "part of it: saving replaces the whole directory and would delete it; "
                "move it out, or save the index elsewhere"
            )
    return target


def save_index(index: LsiIndex, path: str | os.PathLike[str]) -> None:
    """Write ``index`` to the directory ``path`` (replaced atomically if it exists).

    Raises
    ------
    SvdkitError
        ``index`` is not an :class:`~svdkit.lsi.index.LsiIndex`, or ``path`` is not
        a path.
    ShapeError
        The index is inconsistent: its ``U``, document vectors, counts, ids or
        snippets disagree on the number of documents, or its arrays on ``k`` or the
        number of terms (it was changed by hand); nothing is written.
    FileFormatError
        ``path`` cannot hold an index (:func:`check_index_output`); nothing is written.

    Examples
    --------
    >>> import os, tempfile
    >>> from svdkit.errors import FileFormatError
    >>> from svdkit.lsi import build_index, demo_data, load_index, save_index
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs, k=4)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "pets-and-money")
    ...     save_index(index, path)
    ...     print(sorted(f for f in os.listdir(path) if f.endswith(".json")))
    ...     _ = index.add([("shop", "a shop selling cat food and dog toys")])
    ...     save_index(index, path)  # an index is replaced as a whole
    ...     print(load_index(path).n_docs)
    ...     os.mkdir(os.path.join(tmp, "photos"))
    ...     _ = open(os.path.join(tmp, "photos", "cat.jpg"), "wb").close()
    ...     try:  # a directory that is not an index is never overwritten
    ...         save_index(index, os.path.join(tmp, "photos"))
    ...     except FileFormatError:
    ...         print(os.listdir(os.path.join(tmp, "photos")))
    ['documents.json', 'meta.json', 'vocabulary.json']
    7
    ['cat.jpg']
    """
    from svdkit.lsi.index import check_index

    check_index(index)
    target = check_index_output(path)
    # one state of the index (a fold-in or SVD update in another thread is put in place
    # under this lock): references, copied only as they are written
    with index._state_lock:  # (reentrant: the snapshot takes it too)
        state = index._snapshot()
        counts, n_svd_docs = index.counts, index.n_svd_docs
        svd, history = dict(index.svd), [dict(h) for h in index.history]
    _check_consistent(index, state, counts)
    real = real_directory(target)  # through a symbolic link: where it points
    real.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        arrays = {
            "U": np.asarray(state.U, dtype=np.float64),
            "s": np.asarray(state.s, dtype=np.float64),
            "V": np.asarray(state.V, dtype=np.float64),
            "doc_vectors": state.doc_vectors,
            "global_weights": np.asarray(index.global_weights, dtype=np.float64),
            "counts_data": counts.data.astype(np.int32),
            "counts_indices": counts.indices.astype(np.int32),
            "counts_indptr": counts.indptr.astype(np.int64),
        }
        for name, a in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(a), allow_pickle=False)
        _write_json(tmp / "vocabulary.json", list(index.vocabulary))
        _write_json(tmp / "documents.json", {"ids": state.ids, "snippets": state.snippets})
        files = [f"{n}.npy" for n in _ARRAYS] + ["vocabulary.json", "documents.json"]
        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "n_docs": int(state.U.shape[0]),
            "n_terms": index.n_terms,
            "k": int(state.s.shape[0]),
            "weighting": index.weighting,
            "normalize": index.normalize,
            "scaling": index.scaling,
            "text_options": index.options.to_json(),
            "n_svd_docs": n_svd_docs,
            "svd": svd,
            "history": history,
            "sha256": {f: _sha256(tmp / f) for f in files},
        }
        meta["meta_sha256"] = _meta_digest(meta)
        _write_json(tmp / META, meta)
        replace_directory(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_consistent(index: LsiIndex, state: Any, counts: sp.spmatrix) -> None:
    """Refuse to save an index whose parts disagree: it could not be loaded again.

    ``state``: the index's snapshot (``U``, ``s``, ``V``, document vectors, ids,
    snippets, all of one state). The sizes checked are those :func:`load_index` checks.
    """
    n_docs, k, n_terms = int(state.U.shape[0]), int(state.s.shape[0]), index.n_terms
    shapes = {
        "U": (state.U.shape, (n_docs, k)),
        "V": (state.V.shape, (n_terms, k)),
        "doc_vectors": (state.doc_vectors.shape, (n_docs, k)),
        "counts": (counts.shape, (n_docs, n_terms)),
        "global_weights": (np.shape(index.global_weights), (n_terms,)),
    }
    wrong = [f"{name} has shape {got}, expected {want}"
             for name, (got, want) in shapes.items() if tuple(got) != want]
    if len(state.ids) != n_docs:
        wrong.append(f"{len(state.ids)} ids")
    if len(state.snippets) not in (0, n_docs):
        wrong.append(f"{len(state.snippets)} snippets")
    if wrong:
        raise ShapeError(
            f"the index is inconsistent, not saved: {n_docs} documents (rows of U), k = {k}, "
            f"{n_terms} terms, but " + "; ".join(wrong) + " (was it changed by hand? "
            "rebuild it, svdkit.lsi.rebuild, or index the corpus again)"
        )


def _read_meta(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise MissingFileError(f"LSI index '{folder}' does not exist")
    if not folder.is_dir():
        raise FileFormatError(f"'{folder}' is a file; an LSI index is a directory")
    meta_path = folder / META
    if not meta_path.is_file():
        raise FileFormatError(f"'{folder}' is not an svdkit LSI index: it has no {META}")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FileFormatError(f"'{meta_path}' is damaged: not JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise FileFormatError(
            f"'{folder}' is not an svdkit LSI index: its {META} says format {found!r}, "
            f"expected {FORMAT_NAME!r}"
        )
    version = meta.get("version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        newer = (isinstance(version, int) and not isinstance(version, bool)
                 and version > FORMAT_VERSION)
        known = " and ".join(map(str, READABLE_VERSIONS))
        raise FileFormatError(
            f"'{folder}' is an LSI index of format version {version!r}; this svdkit reads "
            f"version{'s' if len(READABLE_VERSIONS) > 1 else ''} {known}"
            + (" (it was written by a newer svdkit: upgrade)" if newer else " (rebuild it)")
        )
    return meta


def _text_options(folder: Path, settings: Any) -> Any:
    """The index's :class:`~svdkit.lsi.TextOptions`; a setting this svdkit does not know
    is one a newer svdkit added: named, with "upgrade", rather than called damage."""
    from dataclasses import fields

    from svdkit.lsi.counting import TextOptions

    if isinstance(settings, dict):
        unknown = sorted(set(settings) - {f.name for f in fields(TextOptions)}, key=str)
        if unknown:
            raise FileFormatError(
                f"LSI index '{folder}' was written by a newer svdkit: its text options hold "
                f"{', '.join(map(repr, unknown))}, which this svdkit does not know; upgrade "
                "svdkit to read it"
            )
    try:
        return TextOptions.from_json(settings)
    except (KeyError, TypeError, ValueError) as err:  # (an SvdkitError is a ValueError)
        raise FileFormatError(
            f"LSI index '{folder}' is damaged: {META}'s text_options: {err}"
        ) from None


def _check_files(folder: Path, meta: dict[str, Any]) -> None:
    expected = {f"{n}.npy" for n in _ARRAYS} | {"vocabulary.json", "documents.json"}
    # meta.json holds the settings (weighting, scaling, tokenising): an edit there
    # would pair the stored arrays with settings they were not computed with. Indexes
    # written before the digest was added have none, and are read as before.
    digest = meta.get("meta_sha256")
    if digest is not None and digest != _meta_digest(meta):
        raise FileFormatError(
            f"LSI index '{folder}' is damaged: {META} does not match its checksum (its "
            "settings were changed since it was written); rebuild the index"
        )
    sums = meta.get("sha256")
    if not isinstance(sums, dict) or set(sums) != expected:
        raise FileFormatError(f"'{folder / META}' is damaged: its checksum table is incomplete")
    for name in sorted(expected):
        path = folder / name
        if not path.is_file():
            raise FileFormatError(f"LSI index '{folder}' is damaged: {name} is missing")
        if _sha256(path) != sums[name]:
            raise FileFormatError(
                f"LSI index '{folder}' is damaged: {name} does not match its checksum "
                "(changed or truncated since it was written); rebuild the index"
            )


def _load_array(folder: Path, name: str, mmap: bool) -> np.ndarray:
    try:
        return np.load(folder / f"{name}.npy", mmap_mode="r" if mmap else None,
                       allow_pickle=False)
    except ValueError as err:
        raise FileFormatError(f"LSI index '{folder}': {name}.npy cannot be read ({err})") from None


def load_index(path: str | os.PathLike[str], *, mmap: bool = True,
               verify: bool = True) -> LsiIndex:
    """Read an index written by :func:`save_index`.

    Parameters
    ----------
    path : path
        The index directory.
    mmap : bool
        Memory-map ``U``, ``V`` and the document vectors (read on demand).
    verify : bool
        Check every file's SHA-256 (reads every file once).

    Raises
    ------
    SvdkitError
        ``path`` is not a ``str`` or ``os.PathLike`` (``None``, a number…).
    MissingFileError
        No such directory.
    FileFormatError
        An empty path, not an index, another format version, a missing or damaged file.

    Examples
    --------
    A round trip gives the same index: same documents, same scores.

    >>> import numpy as np, pathlib, tempfile
    >>> from svdkit.errors import FileFormatError
    >>> from svdkit.lsi import build_index, demo_data, load_index
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs, k=4)
    >>> queries = ["sick dog", "interest rates"]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp) / "index"
    ...     index.save(folder)
    ...     loaded = load_index(folder, mmap=False)
    ...     print(loaded, loaded.ids == index.ids)
    ...     print(np.array_equal(loaded.scores(queries), index.scores(queries)))
    ...     print([hit.id for hit in loaded.search("sick dog", n=2)])
    ...     _ = (folder / "vocabulary.json").write_text('["cat"]', encoding="utf-8")
    ...     try:  # a file changed since it was written fails its checksum
    ...         load_index(folder)
    ...     except FileFormatError as err:
    ...         print("vocabulary.json does not match its checksum" in str(err))
    LsiIndex(6 documents, 19 terms, k=4, log_entropy) True
    True
    ['vet', 'pets']
    True
    """
    from svdkit.lsi.index import LsiIndex

    mmap = check_bool(mmap, "mmap")
    verify = check_bool(verify, "verify")
    folder = check_path(path)
    meta = _read_meta(folder)
    if verify:
        _check_files(folder, meta)
    a = {n: _load_array(folder, n, mmap and n in _MAPPED) for n in _ARRAYS}
    if "text_options" not in meta:
        raise FileFormatError(f"LSI index '{folder}' is damaged: {META} has no text_options")
    options = _text_options(folder, meta["text_options"])  # (its errors: not "damaged")
    try:
        vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        documents = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        n_docs, n_terms, k = int(meta["n_docs"]), int(meta["n_terms"]), int(meta["k"])
        counts = sp.csr_matrix(
            (a["counts_data"], a["counts_indices"], a["counts_indptr"]), shape=(n_docs, n_terms)
        )
        index = LsiIndex(
            U=a["U"], s=a["s"], V=a["V"], counts=counts, vocabulary=vocabulary,
            ids=documents["ids"], snippets=documents["snippets"],
            global_weights=a["global_weights"], weighting=meta["weighting"],
            normalize=bool(meta["normalize"]), scaling=float(meta["scaling"]),
            options=options,
            n_svd_docs=int(meta["n_svd_docs"]), svd=dict(meta["svd"]),
            history=list(meta["history"]), doc_vectors_cache=a["doc_vectors"],
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as err:
        raise FileFormatError(f"LSI index '{folder}' is damaged: {err}") from None
    shapes = {
        "U": (n_docs, k), "s": (k,), "V": (n_terms, k), "doc_vectors": (n_docs, k),
        "global_weights": (n_terms,),
    }  # fmt: skip
    for name, shape in shapes.items():
        if a[name].shape != shape:
            raise FileFormatError(
                f"LSI index '{folder}' is damaged: {name}.npy has shape {a[name].shape}, "
                f"expected {shape}"
            )
    if len(vocabulary) != n_terms or len(index.ids) != n_docs:
        raise FileFormatError(f"LSI index '{folder}' is damaged: sizes disagree with {META}")
    _check_contents(folder, index, a)
    return index


def _check_contents(folder: Path, index: LsiIndex, a: dict[str, np.ndarray]) -> None:
    """Refuse what the checksums cannot vouch for: values of the wrong kind.

    (Without ``verify``, or in files rewritten together with their checksums, a
    string array or an out-of-range term number would only fail later, deep inside
    NumPy or SciPy, or not at all.)
    """
    from svdkit.lsi.weighting import SCHEMES

    def damaged(what: str) -> FileFormatError:
        return FileFormatError(f"LSI index '{folder}' is damaged: {what}")

    for name in ("U", "s", "V", "doc_vectors", "global_weights"):
        if a[name].dtype.kind != "f":
            raise damaged(f"{name}.npy holds {a[name].dtype} values, not floating-point numbers")
    for name in ("counts_data", "counts_indices", "counts_indptr"):
        if a[name].dtype.kind not in "iu":
            raise damaged(f"{name}.npy holds {a[name].dtype} values, not integers")
    counts = index.counts
    indptr, indices = a["counts_indptr"], a["counts_indices"]
    if (indptr.shape != (index.n_docs + 1,) or indptr[0] != 0
            or indptr[-1] != a["counts_data"].shape[0] or np.any(np.diff(indptr) < 0)
            or indices.shape != a["counts_data"].shape
            or (indices.size and (indices.min() < 0 or indices.max() >= counts.shape[1]))):
        raise damaged("the counts (counts_*.npy) are not a valid sparse matrix of "
                      f"{index.n_docs} documents × {index.n_terms} terms")
    if index.weighting not in SCHEMES:
        raise damaged(f"{META} names the weighting {index.weighting!r}; known: {SCHEMES}")
    if not np.isfinite(index.scaling):
        raise damaged(f"{META} gives the scaling {index.scaling!r}")
    if not 0 < index.n_svd_docs <= index.n_docs:
        raise damaged(f"{META} says {index.n_svd_docs} documents were in the SVD, of "
                      f"{index.n_docs}")
    for name, values in (("vocabulary.json", index.vocabulary),
                         ("documents.json (ids)", index.ids),
                         ("documents.json (snippets)", index.snippets)):
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise damaged(f"{name} is not a list of strings")
    if len(index.snippets) not in (0, index.n_docs):
        raise damaged(f"documents.json has {len(index.snippets)} snippets for "
                      f"{index.n_docs} documents")
