"""The demo corpora that ship with svdkit (no download, no licence question).

* :func:`deerwester_titles`: the nine technical-memo titles of Deerwester, Dumais,
  Furnas, Landauer and Harshman, "Indexing by latent semantic analysis", JASIS
  41(6), 1990, table 2 (c1–c5 human–computer interaction, m1–m4 graph theory),
  with :data:`DEERWESTER_OPTIONS` giving the paper's 12 index terms (the words
  in at least two titles) and raw counts.
* :func:`topic_corpus`: a generated corpus in which every concept has synonyms
  and each document sticks to one of them — so a query for "automobile" shares
  no word with the documents that say "car". Word matching (tf-idf) cannot
  find those; LSI finds them through the other words they share. Generated
  from a fixed seed, the same on every machine; the truth (each document's
  topic) comes with it, so the demo can score both methods.

Examples
--------
>>> [doc_id for doc_id, _ in deerwester_titles()][:3]
['c1', 'c2', 'c3']
>>> corpus = topic_corpus(n_docs=12, seed=1)
>>> len(corpus.documents), corpus.documents[0][0]
(12, 'd0000')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svdkit.lsi.counting import TextOptions

__all__ = [
    "DEERWESTER_OPTIONS",
    "DEERWESTER_TERMS",
    "TOPICS",
    "TopicCorpus",
    "deerwester_titles",
    "pets_and_markets",
    "topic_corpus",
]

_TITLES = (
    ("c1", "Human machine interface for ABC computer applications"),
    ("c2", "A survey of user opinion of computer system response time"),
    ("c3", "The EPS user interface management system"),
    ("c4", "System and human system engineering testing of EPS"),
    ("c5", "Relation of user perceived response time to error measurement"),
    ("m1", "The generation of random, binary, ordered trees"),
    ("m2", "The intersection graph of paths in trees"),
    ("m3", "Graph minors IV: Widths of trees and well quasi ordering"),
    ("m4", "Graph minors: A survey"),
)

#: The 12 index terms of the paper (table 2), in the index's (sorted) order.
DEERWESTER_TERMS = (
    "computer", "eps", "graph", "human", "interface", "minors",
    "response", "survey", "system", "time", "trees", "user",
)  # fmt: skip

#: Tokenisation that yields exactly the paper's index terms: words in two titles
#: or more, minus the function words.
DEERWESTER_OPTIONS = TextOptions(
    stop_words=("a", "and", "for", "in", "of", "the", "to"), min_df=2
)


def deerwester_titles() -> list[tuple[str, str]]:
    """The nine titles as ``(id, text)`` pairs."""
    return list(_TITLES)


_PETS_AND_MARKETS = (
    ("pets", "the cat chased the dog around the garden"),
    ("vet", "the vet treated the sick dog"),
    ("cats", "a cat sleeps in the garden"),
    ("market", "stock prices fell as investors sold shares"),
    ("bank", "the bank raised interest rates"),
    ("rates", "higher interest rates hit stock prices"),
)


def pets_and_markets() -> list[tuple[str, str]]:
    """Six short documents on two topics (pets, money markets), as ``(id, text)``
    pairs: the corpus of the examples in :mod:`svdkit.lsi`'s docstrings.

    Examples
    --------
    >>> [doc_id for doc_id, _ in pets_and_markets()]
    ['pets', 'vet', 'cats', 'market', 'bank', 'rates']
    """
    return list(_PETS_AND_MARKETS)


#: topic → concepts → synonyms (each document uses one synonym per concept).
TOPICS: dict[str, tuple[tuple[str, ...], ...]] = {
    "motoring": (
        ("car", "automobile", "motorcar"), ("engine", "motor"), ("road", "highway"),
        ("driver", "motorist"), ("fuel", "petrol", "gasoline"), ("tyre", "wheel"),
    ),
    "medicine": (
        ("doctor", "physician", "clinician"), ("illness", "disease", "sickness"),
        ("medicine", "drug", "medication"), ("hospital", "clinic"),
        ("patient", "sufferer"), ("treatment", "therapy", "cure"),
    ),
    "finance": (
        ("bank", "lender"), ("money", "cash", "funds"), ("loan", "credit", "mortgage"),
        ("interest", "yield"), ("investor", "shareholder"), ("market", "exchange"),
    ),
    "cooking": (
        ("recipe", "dish"), ("oven", "stove", "cooker"), ("chef", "cook"),
        ("flavour", "taste", "seasoning"), ("bake", "roast"), ("ingredient", "produce"),
    ),
    "astronomy": (
        ("star", "sun"), ("planet", "world"), ("telescope", "observatory"),
        ("galaxy", "nebula"), ("astronomer", "stargazer"), ("orbit", "trajectory"),
    ),
    "music": (
        ("song", "tune", "melody"), ("singer", "vocalist"), ("guitar", "piano", "violin"),
        ("concert", "gig", "recital"), ("band", "orchestra", "ensemble"),
        ("rhythm", "beat", "tempo"),
    ),
}  # fmt: skip

_FILLER = (
    "new", "report", "week", "people", "said", "year", "local", "many", "good",
    "place", "today", "story", "group", "city", "life", "news", "part", "kind",
)  # fmt: skip


@dataclass(frozen=True)
class TopicCorpus:
    """A generated corpus: ``documents`` as ``(id, text)``, each one's ``topics``."""

    documents: list[tuple[str, str]]
    topics: list[str]

    def relevant(self, topic: str) -> set[str]:
        """Ids of the documents about ``topic``."""
        return {d for (d, _), t in zip(self.documents, self.topics, strict=True) if t == topic}


def topic_corpus(n_docs: int = 600, seed: int = 0, words: int = 24) -> TopicCorpus:
    """A generated corpus of ``n_docs`` documents over :data:`TOPICS`.

    Each document: one topic; per concept of the topic one synonym (fixed for
    the document), ``words`` words drawn from those synonyms (two-thirds) and
    general filler (one third).
    """
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    documents, topics = [], []
    for i in range(n_docs):
        topic = names[int(rng.integers(len(names)))]
        chosen = [group[int(rng.integers(len(group)))] for group in TOPICS[topic]]
        picks = []
        for _ in range(words):
            if rng.random() < 2 / 3:
                picks.append(chosen[int(rng.integers(len(chosen)))])
            else:
                picks.append(_FILLER[int(rng.integers(len(_FILLER)))])
        documents.append((f"d{i:04d}", " ".join(picks)))
        topics.append(topic)
    return TopicCorpus(documents, topics)
