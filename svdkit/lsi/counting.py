"""Term counts of a streamed corpus with scikit-learn's ``CountVectorizer``.

One pass over the documents, a chunk at a time: each chunk is tokenised and
counted by a ``CountVectorizer`` fitted on that chunk alone, its columns are
mapped to a growing global vocabulary, and only the counts (a CSR block) are
kept — the text of a chunk is dropped before the next one is read. At the end
the vocabulary is pruned (minimum / maximum document frequency, most frequent
terms) and sorted, so the result does not depend on the chunk size.

Text is put in Unicode's composed form (NFC) before it is split: "café" typed as
``e`` + U+0301 (macOS file names, text from PDFs) is the same term as "café", and
"Zürich" is not cut into "zu" and "rich" at its combining mark. (``strip_accents``
normalises for itself: NFKD, then drops the marks; ``"ascii"`` first spells out the
letters that have no accent to drop and that it would otherwise delete — œ, æ, ß, ø …
become oe, ae, ss, o, so "cœur" is "coeur", not "cur".) A list of stop words is put
through the same lowercasing and normalisation as the text.

Words are scikit-learn's tokens (``token_pattern``: runs of two or more letters or
digits), with the combining marks inside them (``combining_marks``, the default;
:func:`word_pattern`): the vowel signs of Devanagari, Bengali, Tamil … are not letters
to ``\\w``, which would cut "भारत" to "रत". Lowercasing makes "İ" (Turkish) i + U+0307,
a dot with no composed form: it is dropped, so "İstanbul" is "istanbul".

Scripts written without spaces (Chinese, Japanese, Thai) have no such words: each run
of characters between punctuation is one "word", and a query for part of it finds
nothing. ``analyzer="char_wb"`` (or ``"char"``) with an ``ngram_range``
such as ``(1, 2)`` counts character n-grams instead, which such text needs.

Examples
--------
>>> c = count_corpus(["the cat sat", "the cat ran", "a dog ran"], TextOptions(stop_words=None))
>>> c.vocabulary
['cat', 'dog', 'ran', 'sat', 'the']
>>> c.counts.toarray().tolist()
[[1, 0, 0, 1, 1], [1, 0, 1, 0, 1], [0, 1, 1, 0, 0]]
"""

from __future__ import annotations

import functools
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from svdkit._naming import arg, flag, got, kw
from svdkit.errors import EmptyInputError, MissingDependencyError, SvdkitError, check_bool

__all__ = [
    "CorpusCounts", "TextOptions", "count_corpus", "count_texts", "prune", "select_terms",
]

#: Characters of each document kept as its snippet (shown next to search results).
SNIPPET_CHARS = 160

#: What the analyzers of ``TextOptions`` may be (scikit-learn's ``CountVectorizer``).
ANALYZERS = ("word", "char", "char_wb")

#: The default ``token_pattern`` (scikit-learn's): words of two or more letters or digits.
#: With ``combining_marks`` (the default) its words also hold the combining marks
#: (:func:`word_pattern`): the vowel signs of Devanagari, Bengali, Tamil … .
TOKEN_PATTERN = r"(?u)\b\w\w+\b"

# What lowercasing makes of the Turkish and Azerbaijani İ: i + U+0307 (a combining dot
# above, which has no composed form with i), dropped where text is lowercased.
_DOTTED_I = "i\u0307"


@functools.cache
def _mark_ranges() -> str:
    """The combining marks of Unicode (categories Mn, Mc, Me; ``re`` has no ``\\p{M}``)
    as the ranges of a character class, ``\\u0300-\\u036f…``: built once, on first use
    (about 20 ms), from the ``unicodedata`` of the running Python, as ``\\w`` is."""
    category = unicodedata.category
    spans: list[list[int]] = []
    # (no mark lies between U+30000 and U+E0000; the variation selectors lie above)
    for c in (*range(0x30000), *range(0xE0000, 0xE1000)):
        if category(chr(c)) in ("Mn", "Mc", "Me"):
            if spans and spans[-1][1] == c - 1:
                spans[-1][1] = c
            else:
                spans.append([c, c])

    def esc(c: int) -> str:
        return f"\\u{c:04x}" if c <= 0xFFFF else f"\\U{c:08x}"

    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in spans)


@functools.cache
def word_pattern() -> str:
    """:data:`TOKEN_PATTERN` with the combining marks inside words.

    A word is a run of letters, digits and combining marks, two characters or more,
    from its first letter or digit (a stray mark before it is left out): "भारत" is one
    word (``\\w`` alone stops at its vowel sign, "रत"). On text without combining marks
    (Latin text in NFC) it finds exactly the words of :data:`TOKEN_PATTERN`. (No
    look-around: the match runs to the end of the run, and on Latin text tokenising
    takes about 1.5 times as long as with :data:`TOKEN_PATTERN`, not 3.5.)

    >>> re.findall(word_pattern(), "भारत की राजधानी, Zürich 42")
    ['भारत', 'की', 'राजधानी', 'Zürich', '42']
    """
    return f"(?u)\\w[\\w{_mark_ranges()}]+"

# Letters that NFKD does not decompose, which ``strip_accents="ascii"`` would delete
# ("cœur" → "cur", "Straße" → "strae"): spelt out first.
_LIGATURES = str.maketrans({
    "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ẞ": "SS", "ø": "o", "Ø": "O",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH",
})


def composed(text: str) -> str:
    """``text`` in Unicode normal form C (composed characters).

    >>> composed("cafe\u0301") == "caf\u00e9"
    True
    """
    return unicodedata.normalize("NFC", text)


def _undotted(accents: Callable[[str], str], text: str) -> str:
    """``accents(text)`` with i + U+0307 (the lowercase of "İ") written ``i`` first."""
    return accents(text.replace(_DOTTED_I, "i"))


def ascii_letters(text: str) -> str:
    """``text`` in ASCII: ligatures and letters such as ß, ø spelt out, then accents dropped.

    scikit-learn's ``strip_accents="ascii"`` decomposes (NFKD) and drops what is
    not ASCII, which deletes the letters NFKD leaves whole; they are spelt out first.

    >>> ascii_letters("Cœur, Straße, Ærø, élève")
    'Coeur, Strasse, AEro, eleve'
    """
    text = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return text.encode("ascii", "ignore").decode("ascii")


#: Texts on which a ``token_pattern`` is tried for an empty token (gaps, word ends).
_PROBES = ("", " ", "a b", "ab, cd. 12", "é\tß-x")


def _matches_nothing(pattern: re.Pattern[str]) -> bool:
    """Whether ``pattern`` gives an empty token (its one group, or the match) on some
    plain text: ``''``, ``\\w*``, ``\\b\\w*\\b`` (at each word's end) do.

    >>> _matches_nothing(re.compile(r"\\b\\w*\\b")), _matches_nothing(re.compile(TOKEN_PATTERN))
    (True, False)
    """
    group = 1 if pattern.groups else 0
    return any(not m.group(group) for text in _PROBES for m in pattern.finditer(text))


@dataclass(frozen=True)
class TextOptions:
    """How text becomes terms: the ``CountVectorizer`` settings and the pruning rules.

    ``min_df`` / ``max_df``: an int is a number of documents, a float in ``(0, 1]``
    a fraction of them (as in scikit-learn). ``max_features`` keeps the terms
    most frequent over the corpus.

    Examples
    --------
    >>> from svdkit.lsi import TextOptions, build_index
    >>> docs = [("pets", "the cat chased the dog"), ("vet", "the vet saw a sick dog"),
    ...         ("cats", "a cat sleeps"), ("market", "stock prices fell")]

    ``min_df=2``: only the terms of at least two documents are kept (the English
    stop words, such as "the", are dropped by default).

    >>> options = TextOptions(min_df=2)
    >>> index = build_index(docs, k=2, options=options)
    >>> index.vocabulary
    ['cat', 'dog']
    >>> index.options == options  # queries are tokenised the same way
    True

    Word pairs as terms too; without stop words, "the" (in two documents) is kept.

    >>> pairs = build_index(docs, k=2, options=TextOptions(ngram_range=(1, 2))).vocabulary
    >>> "sick dog" in pairs, "the" in pairs
    (True, False)
    >>> build_index(docs, k=2, options=TextOptions(stop_words=None, min_df=2)).vocabulary
    ['cat', 'dog', 'the']

    An integer ``min_df`` is a number of documents, a float a fraction of them (half
    of the four documents: two):

    >>> build_index(docs, k=2, options=TextOptions(min_df=0.5)).vocabulary
    ['cat', 'dog']

    Stop words are lowercased and normalised as the text is (``"Le"`` removes
    ``le``). ``analyzer``: ``"word"`` (the default), or ``"char_wb"`` / ``"char"``,
    character n-grams (within words / across them) of the lengths ``ngram_range``
    gives — for scripts written without spaces; ``stop_words`` and
    ``token_pattern`` apply to words only (the default ``"english"`` is then unused,
    another list or pattern an error). ``strip_accents``: ``None``, ``"unicode"``
    (accents dropped, other letters kept) or ``"ascii"`` (ASCII only: œ, æ, ß are
    spelt oe, ae, ss unless ``expand_ligatures=False``, scikit-learn's plain
    ``"ascii"``, which deletes them; an index saved before this option has it
    ``False``). ``combining_marks``: the default ``token_pattern``'s words hold the
    combining marks (vowel signs of Devanagari, Bengali, Tamil …: "भारत" is one word,
    not "रत"), and lowercased "İ" is "i" ("İstanbul" → "istanbul"); ``False`` is
    scikit-learn's tokenising (an index saved before this option has it ``False``).

    >>> TextOptions(stop_words=None).vectorizer().build_analyzer()("भारत की İstanbul")
    ['भारत', 'की', 'istanbul']

    >>> chars = TextOptions(analyzer="char_wb", ngram_range=(2, 2))
    >>> cjk = build_index(["苹果很好吃", "我喜欢吃苹果", "今天天气很好"], k=2, options=chars)
    >>> sorted(hit.id for hit in cjk.search("苹果")[:2])
    ['0', '1']
    """

    lowercase: bool = True
    stop_words: str | tuple[str, ...] | None = "english"
    token_pattern: str = TOKEN_PATTERN
    ngram_range: tuple[int, int] = (1, 1)
    strip_accents: str | None = None
    min_df: float = 1
    max_df: float = 1.0
    max_features: int | None = None
    analyzer: str = "word"
    expand_ligatures: bool = True
    combining_marks: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.stop_words, list):
            object.__setattr__(self, "stop_words", tuple(self.stop_words))
        # checked here, before any corpus is read (scikit-learn would fail mid-indexing
        # with a raw TypeError, or take (True, 2) as (1, 2)); numpy values become plain
        # ones, which the index's meta.json can hold
        object.__setattr__(self, "lowercase", check_bool(self.lowercase, "lowercase"))
        ngram = self.ngram_range
        try:
            ngram = tuple(ngram) if not isinstance(ngram, str | bytes) else None
        except TypeError:
            ngram = None
        if ngram is None or len(ngram) != 2 or not all(
                isinstance(n, numbers.Integral) and not isinstance(n, bool | np.bool_)
                for n in ngram):
            raise SvdkitError(
                f"{arg('ngram_range')} must be a pair of whole numbers (lo, hi) with "
                f"1 ≤ lo ≤ hi; got {self.ngram_range!r}",
                param="ngram_range",
            )
        object.__setattr__(self, "ngram_range", (int(ngram[0]), int(ngram[1])))
        for name in ("min_df", "max_df"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not math.isfinite(value) or value < 0):
                raise SvdkitError(
                    f"{arg(name)} must be a non-negative number; got {got(value)}", param=name
                )
            # as scikit-learn decides: an integer type is a count, any other a fraction
            # (np.float32(0.5) is half the documents, not 0.5 of one; np.int64(2) is two)
            value = int(value) if isinstance(value, numbers.Integral) else float(value)
            object.__setattr__(self, name, value)
            if isinstance(value, float) and value > 1:
                raise SvdkitError(
                    f"{arg(name)} as a fraction must be at most 1.0; got {value}", param=name
                )
        if self.max_df == 0:  # found only after counting the whole corpus, before
            raise SvdkitError(
                f"{arg('max_df')} must be above 0 (a count of documents, or a fraction in "
                f"(0, 1]): {kw('max_df', 0)} keeps no term",
                param="max_df",
            )
        if type(self.min_df) is type(self.max_df) and self.min_df > self.max_df:
            raise SvdkitError(
                f"{arg('min_df')} ({self.min_df}) is above {arg('max_df')} ({self.max_df}): no "
                "term can be kept",
                param="min_df",
            )
        mf = self.max_features
        if mf is not None and (isinstance(mf, bool) or not isinstance(mf, numbers.Integral)
                               or mf < 1):
            raise SvdkitError(
                f"{arg('max_features')} must be a positive integer; got {got(mf)}",
                param="max_features",
            )
        if mf is not None:
            object.__setattr__(self, "max_features", int(mf))
        lo, hi = self.ngram_range
        if not 1 <= lo <= hi:
            shown = f"{lo} {hi}" if flag("ngram_range") else f"{(lo, hi)}"
            raise SvdkitError(
                f"{arg('ngram_range')} must be (lo, hi) with 1 ≤ lo ≤ hi; got {shown}",
                param="ngram_range",
            )
        # checked here, not left to scikit-learn or re mid-indexing (raw tracebacks)
        stop = self.stop_words
        if not (stop is None or stop == "english" or (
                isinstance(stop, tuple) and all(isinstance(w, str) for w in stop))):
            raise SvdkitError(
                f"{arg('stop_words')} must be 'english', None or a list of words; "
                f"got {stop!r}",
                param="stop_words",
            )
        if self.strip_accents not in (None, "ascii", "unicode"):
            raise SvdkitError(
                f"{arg('strip_accents')} must be None, 'ascii' or 'unicode'; "
                f"got {got(self.strip_accents)}",
                param="strip_accents",
            )
        if not isinstance(self.token_pattern, str):
            raise SvdkitError(
                f"{arg('token_pattern')} must be a regular expression (str); got "
                f"{type(self.token_pattern).__name__}: {self.token_pattern!r:.60}",
                param="token_pattern",
            )
        # (on the command line as typed: a repr would double its backslashes)
        pattern = f"'{self.token_pattern}'" if flag("token_pattern") else repr(
            self.token_pattern)
        try:
            groups = re.compile(self.token_pattern).groups
        except (re.error, TypeError) as err:
            raise SvdkitError(
                f"{arg('token_pattern')} {pattern} is not a regular "
                f"expression: {err}",
                param="token_pattern",
            ) from None
        if groups > 1:
            raise SvdkitError(
                f"{arg('token_pattern')} {pattern} has {groups} capturing "
                "groups; at most one (the token) is allowed",
                param="token_pattern",
            )
        if _matches_nothing(re.compile(self.token_pattern)):
            # each gap between words would be a token: the empty string, counted as a term
            words = r"(?u)\b\w+\b"
            example = f"'{words}'" if flag("token_pattern") else repr(words)
            raise SvdkitError(
                f"{arg('token_pattern')} {pattern} matches the empty string; a word must be "
                f"at least one character (+ rather than *: {example} keeps one-letter words)",
                param="token_pattern",
            )
        object.__setattr__(
            self, "expand_ligatures", check_bool(self.expand_ligatures, "expand_ligatures")
        )
        object.__setattr__(
            self, "combining_marks", check_bool(self.combining_marks, "combining_marks")
        )
        if self.analyzer not in ANALYZERS:
            raise SvdkitError(
                f"{arg('analyzer')} must be 'word', 'char' or 'char_wb'; "
                f"got {got(self.analyzer)}",
                param="analyzer",
            )
        if self.analyzer != "word":
            if isinstance(stop, tuple):
                # on the command line a list of words comes from --stop-words-file only
                # (--stop-words takes 'english' or 'none'): name the option typed
                typed = flag("stop_words_file")
                raise SvdkitError(
                    f"{typed or arg('stop_words')} appl{'ies' if typed else 'y'} to the word "
                    "analyzer only; "
                    f"{kw('analyzer', self.analyzer)} counts character n-grams ("
                    + ("leave it out)" if typed else
                       f"leave {arg('stop_words')} at 'english' or None)"),
                    param="stop_words_file" if typed else "stop_words",
                )
            if self.token_pattern != TOKEN_PATTERN:
                raise SvdkitError(
                    f"{arg('token_pattern')} applies to the word analyzer only; "
                    f"{kw('analyzer', self.analyzer)} counts character n-grams",
                    param="token_pattern",
                )
        if isinstance(stop, tuple):
            # as the text is: "Le" or an NFD "été" would never meet a token otherwise
            prep = self._preprocess
            object.__setattr__(self, "stop_words", tuple(dict.fromkeys(prep(w) for w in stop)))

    def _accents(self) -> Callable[[str], str]:
        """What is done to the (lowercased) text's accents: NFC, or they are stripped;
        with ``lowercase`` and ``combining_marks``, the dot lowercasing leaves after the
        i of "İ" dropped first ("İstanbul" → "istanbul", as "Istanbul" is)."""
        accents = self._plain_accents()
        if self.lowercase and self.combining_marks:
            return functools.partial(_undotted, accents)
        return accents

    def _plain_accents(self) -> Callable[[str], str]:
        if self.strip_accents == "ascii" and self.expand_ligatures:
            return ascii_letters
        if self.strip_accents is None:
            return composed
        from sklearn.feature_extraction.text import strip_accents_ascii, strip_accents_unicode

        return strip_accents_ascii if self.strip_accents == "ascii" else strip_accents_unicode

    def _preprocess(self, text: str) -> str:
        """``text`` as the vectorizer's preprocessor puts it (lowercase, then accents)."""
        return self._accents()(text.lower() if self.lowercase else text)

    def _token_pattern(self) -> str:
        """The pattern the vectorizer uses: :func:`word_pattern` for the default one."""
        if self.combining_marks and self.token_pattern == TOKEN_PATTERN:
            return word_pattern()
        return self.token_pattern

    def vectorizer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``CountVectorizer`` (pruning excluded)."""
        stop = list(self.stop_words) if isinstance(self.stop_words, tuple) else self.stop_words
        words = self.analyzer == "word"
        return {
            "lowercase": self.lowercase,
            "analyzer": self.analyzer,
            # (unused by the character analyzers: scikit-learn warns when they are set)
            "stop_words": stop if words else None,
            "token_pattern": self._token_pattern() if words else None,
            "ngram_range": self.ngram_range,
            # (CountVectorizer applies it after lowercasing; NFC where it strips nothing)
            "strip_accents": self._accents(),
            "dtype": np.int32,
        }

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ngram_range"] = list(self.ngram_range)
        if isinstance(self.stop_words, tuple):
            d["stop_words"] = list(self.stop_words)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TextOptions:
        d = dict(d)
        if isinstance(d.get("stop_words"), list):
            d["stop_words"] = tuple(d["stop_words"])
        d["ngram_range"] = tuple(d.get("ngram_range", (1, 1)))
        # an index saved before ligatures were spelt out ("cur" for "cœur"), or before
        # combining marks were part of words, keeps its terms
        d.setdefault("expand_ligatures", False)
        d.setdefault("combining_marks", False)
        return cls(**d)

    def vectorizer(self, vocabulary: list[str] | None = None) -> Any:
        """A ``CountVectorizer`` with these settings (and a fixed vocabulary if given).

        Raises
        ------
        MissingDependencyError
            scikit-learn (the ``lsi`` extra) is not installed.
        """
        try:
            # scikit-learn itself first: svdkit's subclass, once imported, would stand
            # in sys.modules whether or not scikit-learn still imports
            import sklearn.feature_extraction.text  # noqa: F401

            from svdkit.lsi.vectorizer import Vectorizer
        except ImportError as err:
            raise MissingDependencyError(
                "svdkit.lsi needs scikit-learn: pip install 'svdkit[lsi]'"
            ) from err

        if vocabulary is None:
            return Vectorizer(**self.vectorizer_kwargs())
        return Vectorizer(vocabulary={t: i for i, t in enumerate(vocabulary)},
                          **self.vectorizer_kwargs())


@dataclass
class CorpusCounts:
    """Counts of a corpus: ``counts`` (documents × terms CSR, int32) and what labels it.

    ``snippets``: one text per document, or none (``[]``; ``None`` is taken as ``[]``
    by :func:`~svdkit.lsi.index_from_counts`). ``pruned``: what the pruning
    (``min_df``, ``max_df``, ``max_features``) left out of the corpus, as
    :func:`count_corpus` measures it (:func:`pruned_share`), or ``None`` (not measured).
    """

    counts: sp.csr_matrix
    vocabulary: list[str]
    ids: list[str]
    snippets: list[str] = field(default_factory=list)
    pruned: dict[str, float] | None = None


_NON_SPACE = re.compile(r"\S+")


def _snippet(text: str) -> str:
    """The first :data:`SNIPPET_CHARS` characters, whitespace collapsed.

    Whitespace is collapsed before the text is cut, so a document that opens with
    pages of blank lines (text extracted from a PDF) still has its first words.
    Lone surrogates (undecodable bytes read with ``surrogateescape``) are written as
    ``\\udcXX`` escapes, so a snippet can always be printed and stored as UTF-8.
    """
    words, size = [], 0
    for m in _NON_SPACE.finditer(text):
        word = m.group()[:SNIPPET_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")
        words.append(word)
        size += len(word) + 1
        if size > SNIPPET_CHARS:
            break
    return " ".join(words)[:SNIPPET_CHARS]


def count_texts(texts: list[str], options: TextOptions) -> tuple[sp.csr_matrix, list[str]]:
    """Counts of one chunk of texts with a vocabulary of its own (sorted)."""
    cv = options.vectorizer()
    try:
        X = cv.fit_transform(texts)
    except ValueError as err:  # a chunk of empty / stop-word-only documents
        if "empty vocabulary" not in str(err):
            raise
        return sp.csr_matrix((len(texts), 0), dtype=np.int32), []
    return X.tocsr(), cv.get_feature_names_out().tolist()


def check_on_chunk(on_chunk: Any) -> None:
    """An SvdkitError unless ``on_chunk`` is None or callable (checked before any reading).

    Examples
    --------
    >>> check_on_chunk(print)
    >>> check_on_chunk(5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: on_chunk must be a callable (...) or None; got int: 5
    """
    if on_chunk is not None and not callable(on_chunk):
        raise SvdkitError(
            "on_chunk must be a callable (called with each chunk's size) or None; got "
            f"{type(on_chunk).__name__}: {on_chunk!r:.60}"
        )


def _blocks(
    docs: Iterable[tuple[str, str]],
    options: TextOptions,
    chunk_size: int,
    on_chunk: Callable[[int], None] | None,
) -> Iterator[tuple[sp.csr_matrix, list[str], list[str], list[str]]]:
    from svdkit.lsi.corpus import chunked

    for chunk in chunked(iter(docs), chunk_size):
        ids = [d[0] for d in chunk]
        texts = [d[1] for d in chunk]
        snippets = [_snippet(t) for t in texts]
        X, terms = count_texts(texts, options)
        del chunk, texts
        if on_chunk is not None:
            on_chunk(len(ids))
        yield X, terms, ids, snippets


def count_corpus(
    docs: Iterable[Any],
    options: TextOptions | None = None,
    *,
    chunk_size: int = 2000,
    on_chunk: Callable[[int], None] | None = None,
) -> CorpusCounts:
    """Count the terms of a stream of documents, a chunk at a time, then prune.

    Parameters
    ----------
    docs : iterable
        ``(id, text)`` pairs or strings (see :mod:`svdkit.lsi.corpus`).
    options : TextOptions
        Tokenisation and pruning.
    chunk_size : int
        Documents tokenised together (the most text held at once), from 1 to
        :data:`svdkit.lsi.corpus.MAX_CHUNK_SIZE` (``sys.maxsize``).
    on_chunk : callable, optional
        Called with the number of documents of each chunk (progress bars).

    Returns
    -------
    CorpusCounts
        ``counts`` (documents × terms, CSR), ``vocabulary`` (sorted), ``ids``, ``snippets``.

    Examples
    --------
    >>> from svdkit.lsi import TextOptions, count_corpus
    >>> docs = [("a", "the cat sat on the mat"), ("b", "a dog sat"), ("c", "cat and dog")]
    >>> counts = count_corpus(docs)
    >>> counts.ids, counts.vocabulary
    (['a', 'b', 'c'], ['cat', 'dog', 'mat', 'sat'])
    >>> counts.counts.toarray().tolist()
    [[1, 0, 1, 1], [0, 1, 0, 1], [1, 1, 0, 0]]

    The result does not depend on the chunk size (the vocabulary is sorted at the
    end), and pruning applies to the whole corpus, not to each chunk:

    >>> one_by_one = count_corpus(docs, TextOptions(min_df=2), chunk_size=1)
    >>> one_by_one.vocabulary
    ['cat', 'dog', 'sat']
    >>> (one_by_one.counts != count_corpus(docs, TextOptions(min_df=2)).counts).nnz
    0

    Plain strings are numbered by place; only a number that another document has as
    its id moves, to the next one that is neither an id nor a document's place:

    >>> count_corpus(["cats purr", "dogs bark"]).ids
    ['0', '1']
    >>> count_corpus(["cats purr", ("0", "dogs bark"), "birds sing"]).ids
    ['3', '0', '2']
    """
    from svdkit.lsi.corpus import check_chunk_size, check_documents, read_iterable, settle_ids

    # checked before the first document is read
    chunk_size = check_chunk_size(chunk_size)
    check_on_chunk(on_chunk)
    check_documents(docs, "docs", paths=False)
    options = options or TextOptions()
    pairs = read_iterable(docs)  # plain strings are numbered "0", "1", … over the whole stream
    vocab: dict[str, int] = {}
    data, indices, indptr_parts, ids, snippets = [], [], [], [], []
    nnz = 0
    for X, terms, chunk_ids, chunk_snippets in _blocks(pairs, options, chunk_size, on_chunk):
        gid = np.fromiter((vocab.setdefault(t, len(vocab)) for t in terms), dtype=np.int64,
                          count=len(terms))
        data.append(X.data.astype(np.int32, copy=False))
        indices.append(gid[X.indices].astype(np.int32) if len(terms) else X.indices)
        indptr_parts.append(X.indptr[1:].astype(np.int64) + nnz)
        nnz += X.nnz
        ids.extend(chunk_ids)
        snippets.extend(chunk_snippets)
    if not ids:
        raise EmptyInputError("the corpus has no documents")
    ids = settle_ids(ids)  # numbers of documents without ids moved off the ids given
    # rebinding frees each list of blocks as soon as its concatenation exists
    indptr = np.concatenate([np.zeros(1, np.int64), *indptr_parts])
    if nnz < 2**31 - 1:
        indptr = indptr.astype(np.int32)  # as the indices: SciPy would widen them otherwise
    del indptr_parts
    data = np.concatenate(data)
    indices = np.concatenate(indices)
    counts = sp.csr_matrix((data, indices, indptr), shape=(len(ids), len(vocab)))
    del data, indices, indptr
    terms = np.empty(len(vocab), dtype=object)
    for t, j in vocab.items():
        terms[j] = t
    words = _word_columns(terms.tolist(), options)
    before = _row_tokens(counts, words)
    counts, kept = prune(counts, terms.tolist(), options)
    pruned = pruned_share(before, _row_tokens(counts, _word_columns(kept, options)))
    return CorpusCounts(counts=counts, vocabulary=kept, ids=ids, snippets=snippets,
                        pruned=pruned)


def _word_columns(terms: list[str], options: TextOptions) -> np.ndarray | None:
    """The columns of single words of an n-gram word index (``None``: every column), the
    tokens that an added document's words are measured in (:mod:`svdkit.lsi.update`)."""
    if options.analyzer == "word" and tuple(options.ngram_range) != (1, 1):
        return np.array([" " not in t for t in terms], dtype=bool)
    return None


def _row_tokens(counts: sp.csr_matrix, words: np.ndarray | None) -> np.ndarray:
    """The tokens of each row of ``counts`` (of the columns ``words`` only, when given)."""
    if words is not None:
        counts = counts[:, words]
    return np.asarray(counts.sum(axis=1), dtype=np.int64).ravel()


def pruned_share(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """What the pruning left out of a corpus, from each document's tokens ``before`` and
    ``after`` it: ``token_share``, the share of the corpus tokens outside the kept
    vocabulary, and ``only_share``, the share of the documents with tokens that have
    none left. The baseline against which words outside the vocabulary of documents
    added later are judged (:func:`svdkit.lsi.drift`): pruned words are not new words.

    Examples
    --------
    >>> pruned_share(np.array([4, 2, 0]), np.array([3, 0, 0]))
    {'token_share': 0.5, 'only_share': 0.5}
    """
    tokens, with_tokens = int(before.sum()), int(np.count_nonzero(before))
    return {
        "token_share": (tokens - int(after.sum())) / tokens if tokens else 0.0,
        "only_share": (
            int(np.count_nonzero((before > 0) & (after == 0))) / with_tokens
            if with_tokens else 0.0
        ),
    }


def _threshold(value: float, n_docs: int) -> float:
    return value * n_docs if isinstance(value, float) else float(value)


def select_terms(
    terms: list[str], df: np.ndarray, total: np.ndarray | None, n_docs: int, options: TextOptions
) -> list[int]:
    """Positions of the terms kept by the pruning rules, in the order of the sorted terms."""
    keep = (df >= _threshold(options.min_df, n_docs)) & (df <= _threshold(options.max_df, n_docs))
    if options.max_features is not None and keep.sum() > options.max_features:
        assert total is not None
        candidates = np.flatnonzero(keep)
        # most frequent first; ties broken by the term, so the choice is deterministic
        order = sorted(candidates.tolist(), key=lambda j: (-total[j], terms[j]))
        keep[:] = False
        keep[order[: options.max_features]] = True
    kept_ids = np.flatnonzero(keep).tolist()
    kept_ids.sort(key=lambda j: terms[j])
    if not terms:
        raise EmptyInputError(no_terms_message(n_docs, options))
    if not kept_ids:
        stop = options.stop_words
        raise EmptyInputError(
            f"no term is left after pruning ({kw('min_df', options.min_df, '')}, "
            f"{kw('max_df', options.max_df, '')}, "
            f"{kw('stop_words', stop, typed='none' if stop is None else None)}) over "
            f"{n_docs} documents"
        )
    return kept_ids


def no_terms_message(n_docs: int, options: TextOptions) -> str:
    """Why a corpus has no term at all, before any pruning (not the pruning's fault)."""
    if options.analyzer != "word":
        return (f"no document has a term: each of the {n_docs} document(s) is empty; "
                "nothing to index")
    stop = "" if options.stop_words is None else f", stop_words={options.stop_words!r:.60}"
    return (
        f"no document has a term: each of the {n_docs} document(s) is empty, or holds only "
        "punctuation, one-letter words, emoji or stop words (token_pattern="
        f"{options.token_pattern!r}{stop}); nothing to index"
    )


def prune(
    counts: sp.csr_matrix, terms: list[str], options: TextOptions
) -> tuple[sp.csr_matrix, list[str]]:
    """Keep the terms within the document-frequency limits (and the most frequent), sorted."""
    n_docs = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    total = None
    if options.max_features is not None:
        total = np.bincount(counts.indices, weights=counts.data, minlength=counts.shape[1])
    kept_ids = select_terms(terms, df, total, n_docs, options)
    new_id = np.full(counts.shape[1], -1, dtype=np.int32)
    new_id[kept_ids] = np.arange(len(kept_ids), dtype=np.int32)
    # stays in CSR: no COO copy (the counts are the largest thing held while counting)
    if len(kept_ids) == counts.shape[1]:  # nothing pruned: renumber the columns in place
        np.take(new_id, counts.indices, out=counts.indices)
        counts.has_sorted_indices = False
        counts.sort_indices()
        return counts, [terms[j] for j in kept_ids]
    mapped = new_id[counts.indices]
    keep = mapped >= 0
    position = np.int64 if counts.nnz >= 2**31 - 1 else np.int32
    kept_before = np.concatenate([np.zeros(1, position), np.cumsum(keep, dtype=position)])
    pruned = sp.csr_matrix(
        (counts.data[keep], mapped[keep], kept_before[counts.indptr]),
        shape=(n_docs, len(kept_ids)),
    )
    del mapped, keep, kept_before
    pruned.sort_indices()
    return pruned, [terms[j] for j in kept_ids]
