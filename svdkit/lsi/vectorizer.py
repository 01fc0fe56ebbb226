"""scikit-learn's ``CountVectorizer`` as svdkit.lsi uses it: no empty token, no raw
warning about the stop words.

Imported only when text is counted (it imports scikit-learn, the ``lsi`` extra). A
module-level class, so an index holding one can be copied and pickled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sklearn.feature_extraction.text import CountVectorizer

from svdkit.lsi.counting import TOKEN_PATTERN, word_pattern

__all__ = ["ASCII_WORDS", "Vectorizer"]

#: scikit-learn's pattern, which finds the words of :func:`~svdkit.lsi.counting.word_pattern`
#: in ASCII text (no combining mark there), about 1.5 times as fast.
ASCII_WORDS = re.compile(TOKEN_PATTERN)


class Vectorizer(CountVectorizer):
    """``CountVectorizer`` without empty tokens or its note on the stop words.

    A stop word is removed where a token equals it. A ``token_pattern`` that cuts
    words finer than the stop words (``[a-h]+``: "about" is "ab", "b") makes
    scikit-learn warn, with a raw ``UserWarning`` on every chunk and every query, that
    the list is "inconsistent"; the rule above stands, so that note is not given. A
    token is never empty (a pattern whose one group can match nothing, ``k(\\w*)`` on
    "k", which :class:`~svdkit.lsi.TextOptions` cannot always foresee).

    With the default words (:func:`~svdkit.lsi.counting.word_pattern`, combining marks
    inside words), a text that is ASCII (``str.isascii``) is split by scikit-learn's
    pattern (:data:`ASCII_WORDS`): the same words, since ASCII has no combining mark,
    found faster; any other text by the mark-aware pattern.

    Examples
    --------
    >>> Vectorizer(token_pattern=r"k(\\w*)").build_analyzer()("kq k kz")
    ['q', 'z']
    """

    def _check_stop_words_consistency(self, *args: Any) -> None:
        return None

    def build_tokenizer(self) -> Callable[[str], list[str]]:
        if self.tokenizer is None and self.token_pattern == word_pattern():
            # (no capturing group, no empty match: every token is a whole word)
            words = re.compile(self.token_pattern).findall
            ascii_words = ASCII_WORDS.findall
            return lambda doc: ascii_words(doc) if doc.isascii() else words(doc)
        tokenize = super().build_tokenizer()
        return lambda doc: [t for t in tokenize(doc) if t]
