"""Tokens read on demand, and LaTeX structure found without tokenising.

The matrix parser (:mod:`svdkit.inputs.text`) walks the tokens of a text from
left to right and refuses an entry at its 1001st symbol. A :class:`TokenStream`
tokenises only as far as the parser has looked, chunk by chunk, so a refusal
near the start of a long text costs what the start costs, not what the whole
text costs.

The LaTeX notation is recognised, and its environments found, by scanning the
*characters* (:func:`has_latex_marker`, :func:`find_commands`): the scan skips
comments and pairs of backslashes exactly as :func:`~svdkit.inputs.expr.tokenize`
does, so it finds the same ``\\begin``, ``\\end`` and ``\\right`` tokens, at the
speed of a regular expression.

Examples
--------
>>> from svdkit.inputs.stream import TokenStream, find_commands, has_latex_marker
>>> toks = TokenStream("1 2; 3 4")
>>> toks.get(0), toks.get(99)
(Token(kind='num', value='1', pos=0, end=1), None)
>>> has_latex_marker("1 2 % a & b"), has_latex_marker(r"1 & 2")
(False, True)
>>> [t.pos for t in find_commands(r"\\begin{x} \\\\begin % \\begin", {"begin"})]
[0]
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from itertools import islice

from svdkit.inputs.expr import Token, iter_tokens

__all__ = ["TokenStream", "find_commands", "has_latex_marker"]

_FIRST_CHUNK = 64  # tokens read at first: enough for a small matrix
_LAST_CHUNK = 1 << 16  # chunks double up to this size


class TokenStream:
    """The tokens of ``text[start:end]``, read on demand and kept.

    ``stream.get(k)`` tokenises only as far as token ``k``; positions are
    offsets into the whole ``text``, as for :func:`~svdkit.inputs.expr.tokenize`.

    Parameters
    ----------
    text : str
        The text.
    start, end : int
        The part to tokenise; ``start`` must be where a token starts (0, or the
        start of a token found before).
    """

    __slots__ = ("_chunk", "_source", "items")

    def __init__(self, text: str, start: int = 0, end: int | None = None) -> None:
        self.items: list[Token] = []
        self._source: Iterator[Token] | None = iter_tokens(text, start, end)
        self._chunk = _FIRST_CHUNK

    def get(self, k: int) -> Token | None:
        """Token ``k``, or ``None`` past the last token."""
        items = self.items
        while k >= len(items) and self._source is not None:
            self._read()
        return items[k] if k < len(items) else None

    def _read(self) -> None:
        """Tokenise one more chunk (twice as many tokens as the last one)."""
        if self._source is None:
            return
        before = len(self.items)
        self.items.extend(islice(self._source, self._chunk))
        if len(self.items) - before < self._chunk:
            self._source = None
        self._chunk = min(2 * self._chunk, _LAST_CHUNK)

    def __iter__(self) -> Iterator[Token]:
        k = 0
        while (t := self.get(k)) is not None:
            yield t
            k += 1

    def last(self) -> Token | None:
        """The last token (this reads them all)."""
        while self._source is not None:
            self._read()
        return self.items[-1] if self.items else None


# A backslash pair is a row separator and a comment runs to the end of the line, in the
# tokenizer as here; every other backslash starts a token of its own, so scanning from a
# token start with these alternatives lands on exactly the tokenizer's commands.
# (Every alternative starts with a literal character: ``re`` then skips to the next one
# at C speed.)
_COMMANDS = re.compile(r"%[^\r\n]*|#[^\r\n]*|\\\\|\\([A-Za-z]+)")
_MARKERS = re.compile(r"%[^\r\n]*|#[^\r\n]*|\\\\|\\([A-Za-z]+)|\\\[|&")
_MARKER_COMMANDS = frozenset({"begin", "left", "right"})


def find_commands(text: str, names: Collection[str], start: int = 0) -> Iterator[Token]:
    """The LaTeX commands named in ``names`` from offset ``start`` on, as ``cmd`` tokens.

    Parameters
    ----------
    text : str
        The text.
    names : collection of str
        Command names without the backslash (``{"begin", "end"}``).
    start : int
        Where to start: 0 or the start of a token.

    Yields
    ------
    Token
        ``Token("cmd", name, pos, end)``, as :func:`~svdkit.inputs.expr.tokenize` gives it.
    """
    if all(text.find("\\" + name, start) < 0 for name in names):
        return  # not even in a comment
    for m in _COMMANDS.finditer(text, start):
        name = m.group(1)
        if name is not None and name in names:
            yield Token("cmd", name, m.start(), m.end())


def has_latex_marker(text: str, start: int = 0) -> bool:
    """Whether the text has ``\\\\``, ``&``, ``\\[``, ``\\begin``, ``\\left`` or ``\\right``.

    These tokens, outside comments, make the text LaTeX notation.

    Parameters
    ----------
    text : str
        The text.
    start : int
        Where to start: 0 or the start of a token.
    """
    if text.find("\\", start) < 0 and text.find("&", start) < 0:
        return False
    for m in _MARKERS.finditer(text, start):
        c = m.group()[0]
        if c in "%#":
            continue
        name = m.group(1)
        if name is None or name in _MARKER_COMMANDS:
            return True
    return False
