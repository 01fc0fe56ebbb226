"""scikit-learn's ``CountVectorizer`` as svdkit.lsi uses it: no empty token, no raw
warning about the stop words.

Imported only when text is counted (it imports scikit-learn, the ``lsi`` extra). A
module-level class, so an index holding one can be copied and pickled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.feature_extraction.text import CountVectorizer

__all__ = ["Vectorizer"]


class Vectorizer(CountVectorizer):
    """``CountVectorizer`` without empty tokens or its note on the stop words.

    A stop word is removed where a token equals it. A ``token_pattern`` that cuts
    words finer than the stop words (``[a-h]+``: "about" is "ab", "b") makes
    scikit-learn warn, with a raw ``UserWarning`` on every chunk and every query, that
    the list is "inconsistent"; the rule above stands, so that note is not given. A
    token is never empty (a pattern whose one group can match nothing, ``k(\\w*)`` on
    "k", which :class:`~svdkit.lsi.TextOptions` cannot always foresee).

    Examples
    --------
    >>> Vectorizer(token_pattern=r"k(\\w*)").build_analyzer()("kq k kz")
    ['q', 'z']
    """

    def _check_stop_words_consistency(self, *args: Any) -> None:
        return None

    def build_tokenizer(self) -> Callable[[str], list[str]]:
        tokenize = super().build_tokenizer()
        return lambda doc: [t for t in tokenize(doc) if t]
