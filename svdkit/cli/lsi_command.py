"""``svdkit lsi …``: Latent Semantic Indexing from the command line.

``register(app)`` adds the ``lsi`` command group to the typer app of
:mod:`svdkit.cli.main`:

* ``svdkit lsi index SOURCE -o INDEX`` — a folder of .txt files, a .jsonl, .csv or
  SMART .ALL file;
* ``svdkit lsi query INDEX "text" -n 10`` — a ranked table with scores and snippets
  (``--json``: a JSON array; piped, ids are never wrapped);
* ``svdkit lsi similar INDEX DOC_ID`` / ``--term WORD`` — similar documents or terms
  (``--json`` too);
* ``svdkit lsi add INDEX SOURCE`` — fold in or SVD-update, then the drift report;
* ``svdkit lsi rebuild INDEX`` — weights and SVD recomputed from the stored counts;
* ``svdkit lsi eval INDEX --queries Q --qrels R`` — MAP, nDCG@10, P@10, R@100 vs tf-idf;
* ``svdkit lsi info INDEX`` — settings, SVD certificate, drift;
* ``svdkit lsi demo`` — offline, no arguments.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from svdkit._naming import speaks_flags
from svdkit.inputs.files import cli_file_path, cli_path

__all__ = ["register"]

#: The index directory argument. Every path parameter has ``parser=cli_path``: typer would
#: read an empty argument as ``Path(".")``, the current directory.
IndexArgument = Annotated[Path, typer.Argument(parser=cli_path, help="Index directory.")]


class Weighting(StrEnum):
    log_entropy = "log_entropy"
    tfidf = "tfidf"
    count = "count"


class SourceFormat(StrEnum):
    auto = "auto"
    folder = "folder"
    jsonl = "jsonl"
    csv = "csv"
    smart = "smart"


class Analyzer(StrEnum):
    word = "word"
    char_wb = "char_wb"
    char = "char"


class StripAccents(StrEnum):
    none = "none"
    unicode = "unicode"
    ascii = "ascii"


class AddMethod(StrEnum):
    auto = "auto"
    fold_in = "fold_in"
    update = "update"


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


#: C0 and C1 control characters (and DEL): corpus text that a terminal would obey
#: (ESC sequences clear the screen, colour it, set the window title).
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
#: What :func:`_shown` writes for a control character or a backslash, ``\\xNN`` or
#: ``\\\\``: a text holding it already has its backslashes doubled to tell it apart.
_ESCAPE_LIKE = re.compile(r"\\(?:\\|x[0-9a-f]{2})")


def _shown(text: str) -> str:
    """``text`` as a table shows it: escaped for Rich, no control character obeyed.

    Tabs become spaces, every other control character a visible ``\\xNN`` escape
    (display only: the index keeps its ids and snippets as they are), and ``[b]`` is
    text, not Rich markup: ``"a\\x1b[2J"`` for ``"a"`` + ESC + ``"[2J"``. A text so
    escaped has its backslashes doubled too, as has a text whose own backslashes would
    read as such an escape (a ``\\xNN`` or ``\\\\`` in it), so no two texts look
    alike: ``a\\x1b`` is ``"a"`` + ESC, ``a\\\\x1b`` the five characters
    ``a``, ``\\``, ``x``, ``1``, ``b``. Any other text (emoji, right-to-left text,
    combining marks, ``C:\\docs``) is shown as it is.
    """
    from rich.markup import escape

    text = text.replace("\t", " ")
    if _CONTROLS.search(text) or _ESCAPE_LIKE.search(text):
        text = _CONTROLS.sub(
            lambda m: f"\\x{ord(m.group()):02x}", text.replace("\\", "\\\\")
        )
    return escape(text)


def _shown_repr(text: str) -> str:
    """``text``, holding ``repr`` forms (a title, a character n-gram), as a table shows it.

    ``repr`` has already escaped control characters and backslashes: only ``[b]`` is
    made text, not Rich markup (:func:`_shown` would double the backslashes again).
    """
    from rich.markup import escape

    return escape(text)


def _score(value: float) -> str:
    """A cosine to four decimals; one that rounds to zero is ``0.0000``, never ``-0.0000``."""
    text = f"{value:.4f}"
    return "0.0000" if text == "-0.0000" else text


#: The narrowest the snippet column of a piped table gets (its ids kept whole).
_SNIPPET_MIN = 20


def _print_hits(title: str, hits) -> None:
    """Print the table of ``hits``; piped (standard output not a terminal), no id is
    wrapped or cut: the table is made as wide as its longest id needs, so an id read
    from the output can be passed back (``svdkit lsi similar``)."""
    from rich.cells import cell_len
    from rich.console import Console

    console = _console()
    whole = not console.is_terminal
    table = _hits_table(title, hits, whole_ids=whole)
    if whole:
        # borders and padding of four columns: 5 rules + 2 × 4 spaces
        ids = max([2, *(cell_len(_plain(h.id)) for h in hits)])
        ranks = max([1, *(len(str(h.rank)) for h in hits)])
        need = 13 + ranks + 7 + ids + _SNIPPET_MIN
        if need > console.width:
            console = Console(width=need)
    console.print(table)


def _plain(text: str) -> str:
    """``text`` as :func:`_shown` shows it, without Rich's markup escapes."""
    from rich.text import Text

    return Text.from_markup(_shown(text)).plain


def _hits_table(title: str, hits, whole_ids: bool = False) -> object:
    from rich.table import Table

    # queries, ids and snippets are the user's text: "[1]" or "[b]" in them is text,
    # not Rich markup (which dropped it), and a control character in them is shown, not
    # obeyed by the terminal
    rows = [(str(h.rank), _score(h.score), h.id,
             h.snippet if len(h.snippet) <= 70 else h.snippet[:69] + "…") for h in hits]
    table = Table(title=_shown_repr(title), title_justify="left")
    # the rank and the score are never cut (their widths are reserved), a long id folds
    # onto more lines rather than lose its end to "…" (piped: it is never wrapped, see
    # _print_hits), the snippet wraps
    for name, justify, column in (("#", "right", 0), ("score", "right", 1)):
        width = max([len(name), *(len(r[column]) for r in rows)])
        table.add_column(name, justify=justify, no_wrap=True, min_width=width)
    if whole_ids:
        from rich.cells import cell_len

        table.add_column("id", no_wrap=True,
                         min_width=max([2, *(cell_len(_plain(r[2])) for r in rows)]))
    else:
        table.add_column("id", overflow="fold",
                         min_width=min(12, max([2, *(len(r[2]) for r in rows)])))
    table.add_column("snippet")
    for rank, score, doc_id, snippet in rows:
        table.add_row(rank, score, _shown(doc_id), _shown(snippet))
    return table


def _hits_json(hits) -> str:
    """``hits`` as a JSON array of ``{"rank", "id", "score", "row", "snippet"}`` (the
    whole snippet the index stores, the id as it is)."""
    import json

    return json.dumps([{"rank": h.rank, "id": h.id, "score": h.score, "row": h.row,
                        "snippet": h.snippet} for h in hits], ensure_ascii=False)


def _terms_json(similar: list[tuple[str, float]]) -> str:
    """Similar terms as a JSON array of ``{"rank", "term", "cosine"}``."""
    import json

    return json.dumps([{"rank": i, "term": t, "cosine": c}
                       for i, (t, c) in enumerate(similar, 1)], ensure_ascii=False)


def _stop_words_option(stop_words: str, path: Path | None) -> str | tuple[str, ...] | None:
    """``--stop-words`` / ``--stop-words-file`` as :class:`~svdkit.lsi.TextOptions` takes
    them: ``"english"``, ``None``, or the words of the file (UTF-8, one a line; blank
    lines and lines starting with ``#`` skipped)."""
    from svdkit.errors import FileFormatError, MissingFileError, SvdkitError

    choice = stop_words.lower()
    if choice not in ("english", "none"):
        raise SvdkitError(
            f"--stop-words must be 'english' or 'none' (or give --stop-words-file PATH, one "
            f"word a line, for another language); got {stop_words!r}"
        )
    if path is None:
        return None if choice == "none" else "english"
    if choice == "none":
        raise SvdkitError(f"give --stop-words none or --stop-words-file '{path}', not both")
    if not path.is_file():
        raise MissingFileError(f"--stop-words-file '{path}': no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise FileFormatError(
            f"--stop-words-file '{path}' is not UTF-8 text (byte {err.start})"
        ) from None
    except OSError as err:
        raise FileFormatError(f"--stop-words-file '{path}' cannot be read: {err.strerror}") \
            from None
    words = tuple(dict.fromkeys(
        w for w in (line.strip() for line in text.splitlines()) if w and not w.startswith("#")
    ))
    if not words:
        raise SvdkitError(f"--stop-words-file '{path}' holds no word (one word a line)")
    return words


def _build_notes(ix) -> str:
    """The index's notes of its build (full rank, documents with no weighted term,
    terms no query can match), each on a line of its own after a newline."""
    return "".join(f"\nnote: {note}" for note in ix.svd.get("notes", ()))


def _df_option(name: str, value: float) -> int | float:
    """``--min-df`` / ``--max-df`` as :class:`~svdkit.lsi.TextOptions` takes them.

    Above 1 the value is a number of documents and must be whole (``3``, ``3.0``); in
    ``[0, 1]`` it is a fraction of the documents, except ``--min-df 1``, one document
    (the defaults: ``--min-df 1`` keeps every term, ``--max-df 1.0`` too).
    """
    import math

    from svdkit.errors import SvdkitError

    option = f"--{name.replace('_', '-')}"
    if not math.isfinite(value) or value < 0:
        raise SvdkitError(f"{option} must be a non-negative number; got {value}")
    if value > 1:
        if not float(value).is_integer():
            raise SvdkitError(
                f"{option} {value}: above 1 it is a number of documents and must be a "
                "whole number (a fraction of the documents is at most 1.0)"
            )
        return int(value)
    if name == "min_df" and value == 1:
        return 1
    return float(value)


def _settings(ix) -> str:
    """The index's tokenising, pruning and weighting settings, on one line.

    What a word is (``token_pattern``) is shown where it is not the default, and so is
    an index whose words are cut at combining marks (``combining_marks`` off: saved
    before it was the default); stop words only for the word analyzer (character
    n-grams do not use them).
    """
    from svdkit.lsi.counting import TOKEN_PATTERN

    o = ix.options
    words = o.analyzer == "word"
    stop = o.stop_words if o.stop_words is None or isinstance(o.stop_words, str) else (
        f"{len(o.stop_words)} words"
    )
    accents = o.strip_accents
    if accents == "ascii" and not o.expand_ligatures:
        accents = "ascii (ligatures dropped: scikit-learn's)"
    rank_tol = ix.svd.get("rank_tol")
    parts = [
        f"weighting {ix.weighting}",
        f"normalize {ix.normalize}",
        f"scaling p = {ix.scaling:g}",
        f"analyzer {o.analyzer}" + ("" if words else " (character n-grams)"),
        *([f"stop words {stop}"] if words else []),
        # (as typed on the command line: a repr would double its backslashes)
        *([f"token_pattern '{o.token_pattern}'"]
          if words and o.token_pattern != TOKEN_PATTERN else []),
        # (an index saved before words kept their combining marks: its Indic terms are
        # fragments, "रत" for "भारत")
        *(["words scikit-learn's (combining marks split words; rebuild for Indic scripts)"]
          if words and not o.combining_marks and o.token_pattern == TOKEN_PATTERN else []),
        f"ngram_range {tuple(o.ngram_range)}",
        *([f"lowercase {o.lowercase}"] if not o.lowercase else []),
        *([f"strip_accents {accents}"] if accents else []),
        f"min_df {o.min_df}",
        f"max_df {o.max_df}",
        f"max_features {o.max_features}",
        f"k {ix.k}" + (f" (rank_tol {rank_tol:g}{_unmet(ix)})" if rank_tol is not None else ""),
    ]
    return ", ".join(parts)


def _unmet(ix) -> str:
    """`` not met at k = …`` where the build capped ``rank_tol`` at ``k``, else ``""``."""
    if ix.svd.get("rank_tol_met", True):
        return ""
    return f" not met at k = {ix.svd.get('k_requested', ix.k)}"


def _rank_tol_note(ix) -> str:
    """A line (after a newline) where the build capped ``--rank-tol`` at ``-k``, else ``""``."""
    if ix.svd.get("rank_tol_met", True):
        return ""
    from svdkit._words import counted

    svd = ix.svd
    k = svd.get("k_requested", ix.k)
    return (
        f"\nnote: --rank-tol {svd['rank_tol']:g} not met at -k {k}: the index kept its "
        f"{counted(k, 'leading triplet')} (certified), with reconstruction error "
        f"{svd['reconstruction_error']:.4f} (above {svd['rank_tol']:g}); raise -k or loosen "
        "--rank-tol"
    )


def _shown_term(ix, term: str) -> str:
    """``term`` as a table shows it: quoted (``repr``) for character n-grams, whose
    padding spaces (``' 吃'``, ``'吃 '``) would otherwise print as the same row; a word
    as :func:`_shown` shows it."""
    return _shown(term) if ix.options.analyzer == "word" else _shown_repr(repr(term))


def _term_key(ix, term: str) -> str:
    """``term`` as the index's vocabulary spells it (tokenised as the corpus: "l'été" is
    "été"); an SvdkitError when it is no term of the vocabulary."""
    return ix.term_of(term)


def _nothing_similar(why: str) -> None:
    """Say on standard error that a zero vector has nothing similar (not a table of 0s)."""
    _console(stderr=True).print(f"note: {why}", highlight=False, soft_wrap=True, markup=False)


def _outside(what: str, ix) -> str:
    """Why ``what`` (weighted, so known to the index) still has a zero latent vector."""
    return f"{what} outside the index's k = {ix.k} latent dimensions (a zero latent vector)"


def _history(ix) -> str:
    """What happened to the index since its SVD was computed at the build, on one line."""
    if not ix.history:
        return "none"
    names = {"fold_in": "fold-in", "update": "SVD update"}
    ways = {"zha_simon": " (Zha–Simon)", "krylov": " (certified truncated SVD)"}

    def one(h: dict) -> str:
        kind = h.get("kind")
        way = ways.get(h.get("method"), "") if kind == "update" else ""
        return f"{names.get(kind, kind)}{way} of {h.get('documents')} documents"

    return ", ".join(one(h) for h in ix.history)


def _advice_note(report, index: Path) -> str:
    """How to follow the drift report's advice from the command line (after a newline)."""
    if report.advice == "rebuild":
        return f"\nnote: to rebuild: svdkit lsi rebuild '{index}'"
    if report.advice == "reindex":  # (a rebuild keeps the vocabulary: new words stay unknown)
        return (f"\nnote: to index the source again (a new vocabulary): svdkit lsi index "
                f"SOURCE -o '{index}'")
    return ""


def _load(index: Path):
    from svdkit.lsi import load_index

    return load_index(index)


def register(app: typer.Typer) -> None:
    """Add the ``lsi`` command group to ``app``."""
    lsi = typer.Typer(
        name="lsi",
        help="Latent Semantic Indexing: index a corpus, search it by meaning, evaluate it.",
        no_args_is_help=True,
    )
    app.add_typer(lsi, name="lsi")

    @lsi.command("index")
    @speaks_flags
    def index_command(
        source: Annotated[
            Path,
            typer.Argument(
                parser=cli_path,
                help="Folder of .txt files, .jsonl, .csv / .tsv or SMART .ALL file.",
            ),
        ],
        output: Annotated[
            Path, typer.Option("--output", "-o", parser=cli_path, help="Index directory.")
        ],
        k: Annotated[
            int | None,
            typer.Option("-k", "--k", help="Latent dimensions (default 200, clipped to the data)."),
        ] = None,
        rank_tol: Annotated[
            float | None,
            typer.Option(help="Choose k: smallest rank with relative energy error ≤ this "
                         "(with -k: at most -k, with a note where that is not enough)."),
        ] = None,
        weighting: Annotated[Weighting, typer.Option(help="Term weighting.")] = (
            Weighting.log_entropy
        ),
        min_df: Annotated[
            float,
            typer.Option(help="Min document frequency: a fraction ≤ 1, or a whole count ≥ 1."),
        ] = 1,
        max_df: Annotated[
            float,
            typer.Option(help="Max document frequency: a fraction ≤ 1, or a whole count > 1."),
        ] = 1.0,
        max_features: Annotated[int | None, typer.Option(help="Keep the most frequent terms.")]
        = None,
        stop_words: Annotated[
            str,
            typer.Option(help="'english' or 'none' (another language: --stop-words-file)."),
        ] = "english",
        stop_words_file: Annotated[
            Path | None,
            typer.Option(parser=cli_file_path,
                         help="Stop words, one a line (UTF-8; lowercased and normalised as "
                         "the text is); replaces the English list."),
        ] = None,
        lowercase: Annotated[
            bool, typer.Option("--lowercase/--no-lowercase", help="Lowercase the text.")
        ] = True,
        strip_accents: Annotated[
            StripAccents,
            typer.Option(help="Drop accents: unicode (é → e, other letters kept), ascii "
                         "(ASCII only) or none; queries are matched the same way."),
        ] = StripAccents.none,
        normalize: Annotated[
            bool,
            typer.Option("--normalize/--no-normalize",
                         help="Weighted documents at unit length before the SVD."),
        ] = True,
        scaling: Annotated[
            float, typer.Option(help="p: documents compared as rows of U Σ^p (-100 to 100).")
        ] = 1.0,
        method: Annotated[
            str, typer.Option(help="Method of the truncated SVD (as svdkit svd's --method).")
        ] = "auto",
        format: Annotated[SourceFormat, typer.Option(help="Source format.")] = SourceFormat.auto,
        id_field: Annotated[
            str | None,
            typer.Option(help="Id field (.jsonl; default 'id', else '_id', else the record "
                         "number) or "
                         "column (.csv; default: the row number 0, 1, …)."),
        ] = None,
        text_field: Annotated[str, typer.Option(help="Text field / column.")] = "text",
        tol: Annotated[
            float, typer.Option(help="Certification tolerance of the SVD (relative to σ₁).")
        ] = 1e-3,
        chunk_size: Annotated[int, typer.Option(help="Documents tokenised at once.")] = 2000,
        analyzer: Annotated[
            Analyzer,
            typer.Option(help="Terms: words, or character n-grams (char_wb: within words) "
                         "for scripts written without spaces (Chinese, Japanese, Thai)."),
        ] = Analyzer.word,
        ngram_range: Annotated[
            tuple[int, int],
            typer.Option(metavar="LO HI",
                         help="Lengths of the n-grams: words (1 2: words and word pairs) or "
                         "characters with --analyzer char_wb (e.g. 1 2)."),
        ] = (1, 1),
        token_pattern: Annotated[
            str | None,
            typer.Option(help="Regular expression of a word (default: two or more letters "
                         "or digits, scikit-learn's); words only."),
        ] = None,
    ) -> None:
        """Index a corpus (streamed) and write the index directory."""
        from svdkit.errors import SvdkitError
        from svdkit.lsi import TextOptions, build_index
        from svdkit.lsi.persist import check_index_output

        stop = _stop_words_option(stop_words, stop_words_file)
        if k is not None and k < 1:
            raise SvdkitError(f"-k must be at least 1 (latent dimensions); got {k}")
        options = TextOptions(
            stop_words=stop,
            lowercase=lowercase,
            strip_accents=None if strip_accents is StripAccents.none else strip_accents.value,
            min_df=_df_option("min_df", min_df),
            max_df=_df_option("max_df", max_df),
            max_features=max_features,
            analyzer=analyzer.value,
            ngram_range=ngram_range,
            **({} if token_pattern is None else {"token_pattern": token_pattern}),
        )
        check_index_output(output)  # before the (long) indexing, not after
        index = build_index(
            str(source), k, weighting=weighting.value, options=options, rank_tol=rank_tol,
            tol=tol, format=format.value, id_field=id_field, text_field=text_field,
            chunk_size=chunk_size, progress=True, normalize=normalize, scaling=scaling,
            method=method,
        )  # fmt: skip
        index.save(output)
        svd = index.svd
        _console().print(
            f"{index!r}: SVD by {svd['method']}, "
            f"{'certified' if svd['converged'] else 'NOT certified'} to {svd['tol']:.0e}·σ₁, "
            f"reconstruction error {svd['reconstruction_error']:.4f} → {output}"
            + _rank_tol_note(index) + _build_notes(index),
            highlight=False,
            soft_wrap=True,
            markup=False,
        )

    @lsi.command("query")
    @speaks_flags
    def query_command(
        index: IndexArgument,
        text: Annotated[str, typer.Argument(help="The query.")],
        n: Annotated[int, typer.Option("-n", help="Results to show.")] = 10,
        json_output: Annotated[
            bool,
            typer.Option("--json", help="Print a JSON array of {rank, id, score, row, "
                         "snippet} (the whole snippet) instead of the table."),
        ] = False,
    ) -> None:
        """Search the index: a ranked table of documents with scores and snippets."""
        from svdkit.lsi.query import check_n

        check_n(n)
        ix = _load(index)
        if not ix.query_vectors(text).any():
            # a zero query vector has cosine 0 with every document: a table of the
            # first n documents, all scored 0.0000, would look like an answer
            if ix.weigh(ix.count([text])).count_nonzero():
                why = _outside(f"the terms of the query {text!r} that the index knows lie", ix)
            else:
                why = (f"no term of the query {text!r} is in the index's vocabulary with a "
                       "non-zero weight (unknown words, stop words and words of weight 0 are "
                       "ignored)")
            _nothing_similar(f"{why}: no document matches it")
            if json_output:
                typer.echo("[]")
            return
        hits = ix.search(text, n)
        if json_output:
            typer.echo(_hits_json(hits))
            return
        _print_hits(f"LSI results for {text!r}", hits)

    @lsi.command("similar")
    @speaks_flags
    def similar_command(
        index: IndexArgument,
        doc_id: Annotated[str | None, typer.Argument(help="A document id.")] = None,
        term: Annotated[str | None, typer.Option(help="Similar terms to this one instead.")]
        = None,
        n: Annotated[int, typer.Option("-n", help="Results to show.")] = 10,
        json_output: Annotated[
            bool,
            typer.Option("--json", help="Print a JSON array instead of the table: "
                         "{rank, id, score, row, snippet}, or {rank, term, cosine}."),
        ] = False,
    ) -> None:
        """Documents similar to a document, or terms similar to a term."""
        from rich.table import Table

        from svdkit.errors import SvdkitError

        if term is not None and doc_id is not None:
            raise SvdkitError(
                f"give a document id ({doc_id!r}) or --term WORD ({term!r}), not both"
            )
        from svdkit.lsi.query import check_n

        check_n(n)
        if term is None and doc_id is None:
            raise SvdkitError("give a document id, or --term WORD")
        ix = _load(index)
        if term is not None:
            similar = ix.similar_terms(term, n)
            column = ix.vocabulary.index(_term_key(ix, term))
            if not ix.term_vectors()[column].any():
                if ix.weigh(ix.counts)[:, column].count_nonzero():
                    why = _outside(f"the term {term!r} lies", ix)
                else:
                    why = (f"the term {term!r} has weight 0 in every document (it tells no "
                           "document apart)")
                _nothing_similar(f"{why}: no term is similar to it")
                if json_output:
                    typer.echo("[]")
                return
            if json_output:
                typer.echo(_terms_json(similar))
                return
            title = f"terms similar to {term!r}"
            # the two columns are narrow: without a minimum width the title wraps
            table = Table(title=_shown_repr(title), title_justify="left", min_width=len(title))
            table.add_column("term")
            table.add_column("cosine", justify="right")
            for t, c in similar:
                table.add_row(_shown_term(ix, t), _score(c))
            _console().print(table)
            return
        similar_docs = ix.similar_documents(doc_id, n)
        row = ix.row_of(doc_id)
        if not ix.doc_vectors[row].any():
            if ix.weigh(ix.counts[row]).count_nonzero():
                why = _outside(f"the document {doc_id!r} lies", ix)
            else:
                why = (f"the document {doc_id!r} has no term the index weighs (it is empty, "
                       "or holds only stop words, pruned terms or terms of weight 0)")
            _nothing_similar(f"{why}: no document is similar to it")
            if json_output:
                typer.echo("[]")
            return
        if json_output:
            typer.echo(_hits_json(similar_docs))
            return
        _print_hits(f"documents similar to {doc_id!r}", similar_docs)

    @lsi.command("add")
    @speaks_flags
    def add_command(
        index: Annotated[
            Path, typer.Argument(parser=cli_path, help="Index directory (updated in place).")
        ],
        source: Annotated[
            Path,
            typer.Argument(
                parser=cli_path,
                help="Folder of .txt files, .jsonl, .csv / .tsv or SMART .ALL file.",
            ),
        ],
        method: Annotated[
            AddMethod, typer.Option(help="fold_in, update (exact: merged into the SVD) or auto.")
        ] = AddMethod.auto,
        format: Annotated[SourceFormat, typer.Option(help="Source format.")] = SourceFormat.auto,
        id_field: Annotated[
            str | None,
            typer.Option(help="Id field (.jsonl; default 'id', else '_id', else the "
                         "document's number) or column (.csv; default: the document's "
                         "number). Documents without an id are numbered on from the "
                         "index's size: N, N + 1, … for an index of N documents."),
        ] = None,
        text_field: Annotated[str, typer.Option(help="Text field / column.")] = "text",
    ) -> None:
        """Add documents to an index and report the drift.

        The index is locked from the load to the save: a second ``lsi add`` (or
        ``lsi rebuild``) on it waits, then adds to what this one saved.
        """
        from svdkit.lsi import open_corpus
        from svdkit.lsi.persist import check_index_output, index_lock

        with index_lock(index):  # another add waits: none of its documents is lost
            ix = _load(index)
            check_index_output(index)  # before the work: the index is rewritten in place
            docs = open_corpus(
                str(source), format.value, id_field=id_field, text_field=text_field,
                start=ix.n_docs,  # (rows without ids numbered on from the index's)
            )
            report = ix.add(docs, method=method.value, progress=True)
            ix.save(index)
        _console().print(report.summary() + _advice_note(report, index), highlight=False,
                         soft_wrap=True, markup=False)

    @lsi.command("rebuild")
    @speaks_flags
    def rebuild_command(
        index: Annotated[
            Path, typer.Argument(parser=cli_path, help="Index directory (rebuilt in place).")
        ],
        k: Annotated[
            int | None,
            typer.Option("-k", "--k", help="Latent dimensions (default: the index's)."),
        ] = None,
    ) -> None:
        """Recompute the weights and the SVD from the index's counts (after many additions).

        The vocabulary stays: index the corpus again (svdkit lsi index) for new terms.
        The index is locked from the load to the save, as for svdkit lsi add.
        """
        from svdkit.errors import SvdkitError
        from svdkit.lsi import rebuild
        from svdkit.lsi.persist import check_index_output, index_lock

        if k is not None and k < 1:
            raise SvdkitError(f"-k must be at least 1 (latent dimensions); got {k}")
        with index_lock(index):
            ix = _load(index)
            check_index_output(index)
            fresh = rebuild(ix, k)
            fresh.save(index)
        svd = fresh.svd
        _console().print(
            f"{fresh!r}: SVD by {svd['method']}, "
            f"{'certified' if svd['converged'] else 'NOT certified'} to {svd['tol']:.0e}·σ₁, "
            f"reconstruction error {svd['reconstruction_error']:.4f} → {index}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )

    @lsi.command("info")
    @speaks_flags
    def info_command(index: IndexArgument) -> None:
        """Settings, the SVD's certificate at the build, the updates since, and the drift."""
        ix = _load(index)
        svd = ix.svd
        _console().print(
            f"{ix!r}\nsettings: {_settings(ix)}\nSVD at the build: {svd['method']}, "
            f"{'certified' if svd['converged'] else 'NOT certified'} to {svd['tol']:.0e}·σ₁ "
            f"(worst residual {svd['worst_relative_residual']:.1e}·σ₁)"
            + _rank_tol_note(ix) + _build_notes(ix)
            + f"\nsince the build: {_history(ix)}\n"
            f"drift: {(report := ix.drift()).summary()}" + _advice_note(report, index),
            highlight=False,
            soft_wrap=True,
            markup=False,
        )

    @lsi.command("eval")
    @speaks_flags(id_field="query_id_field", text_field="query_text_field")
    def eval_command(
        index: IndexArgument,
        queries: Annotated[
            Path, typer.Option(parser=cli_file_path, help="Queries: SMART .QRY, .tsv or .jsonl.")
        ],
        qrels: Annotated[
            Path,
            typer.Option(
                parser=cli_file_path, help="Judgements: TREC qrels, BEIR qrels .tsv or SMART .REL."
            ),
        ],
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        query_id_field: Annotated[
            str | None,
            typer.Option(help="Id field of JSON queries (default: the first of id, _id, "
                         "query_id, qid the records have)."),
        ] = None,
        query_text_field: Annotated[
            str, typer.Option(help="Text field of JSON queries.")
        ] = "text",
    ) -> None:
        """MAP, nDCG@10, P@10 and R@100 of the index and of plain tf-idf cosine."""
        from rich.table import Table

        from svdkit.lsi.evaluate import MEASURES, evaluate, read_qrels, read_queries

        ix = _load(index)
        result = evaluate(ix, read_queries(queries, query_id_field, query_text_field),
                          read_qrels(qrels))
        if json_output:
            typer.echo(result.to_json())
            return
        table = Table(title=f"{result.n_queries} queries", title_justify="left")
        table.add_column("measure")
        table.add_column(f"LSI (k={ix.k})", justify="right")
        table.add_column("tf-idf cosine", justify="right")
        for m in MEASURES:
            table.add_row(m, f"{result.lsi[m]:.4f}", f"{result.baseline[m]:.4f}")
        console = _console()
        console.print(table)
        for note in result.notes:
            console.print(f"note: {note}", highlight=False, markup=False)

    @lsi.command("demo")
    @speaks_flags
    def demo_command() -> None:
        """Offline demo: Deerwester et al. (1990), then LSI vs tf-idf on a synonym corpus."""
        from rich.table import Table

        from svdkit.lsi.demo import DEMO_QUERIES, run_demo

        r = run_demo(progress=True)
        console = _console()
        console.print(
            "[bold]1. Deerwester et al. (1990)[/]: nine titles, 12 terms, k = 2; "
            f"σ₁, σ₂ = {r.deerwester_singular_values[0]:.2f}, "
            f"{r.deerwester_singular_values[1]:.2f} (the paper: 3.34, 2.54)"
        )
        console.print('query "human computer interaction"', highlight=False)
        table = Table()
        table.add_column("id")
        table.add_column("cosine", justify="right")
        for doc, c in r.deerwester_ranking:
            table.add_row(doc, f"{c:.3f}")
        console.print(table)
        console.print(
            "c3 and c5 share no word with the query, yet rank among c1–c5 "
            f"(top five: {', '.join(sorted(r.deerwester_top5))})."
        )
        console.print(
            f"\n[bold]2. Synonyms[/]: a generated corpus of documents that each use one "
            f"synonym per concept; LSI with k = {r.k} vs plain tf-idf, R-precision "
            "(precision in the top R, R = the number of relevant documents)"
        )
        table = Table(title_justify="left")
        table.add_column("query")
        table.add_column("LSI", justify="right")
        table.add_column("tf-idf", justify="right")
        for topic, (p_lsi, p_base) in r.topic_queries.items():
            table.add_row(DEMO_QUERIES[topic], f"{p_lsi:.2f}", f"{p_base:.2f}")
        table.add_row("[bold]mean[/]", f"{r.lsi_precision:.2f}", f"{r.tfidf_precision:.2f}")
        console.print(table)
