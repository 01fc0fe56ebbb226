"""``svdkit lsi demo``: what LSI does, on the corpora that ship with svdkit (offline).

Part 1 reproduces Deerwester et al. (1990): the k = 2 analysis of the nine titles,
where "human computer interaction" retrieves c3 and c5 although they share no
word with the query. Part 2 indexes the generated synonym corpus
(:func:`svdkit.lsi.demo_data.topic_corpus`) and compares LSI with plain tf-idf
on queries phrased with one synonym of each concept.

Examples
--------
>>> result = run_demo(n_docs=300)
>>> result.deerwester_top5 == {"c1", "c2", "c3", "c4", "c5"}
True
>>> result.lsi_precision > result.tfidf_precision
True
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from svdkit._naming import arg, got
from svdkit.errors import ShapeError, SvdkitError, check_bool

__all__ = ["DEMO_QUERIES", "DemoResult", "run_demo"]

#: topic → a query in words that many documents of the topic do not use.
DEMO_QUERIES = {
    "motoring": "automobile motor petrol",
    "medicine": "physician sickness medication",
    "finance": "lender funds mortgage",
    "cooking": "cooker seasoning roast",
    "astronomy": "observatory nebula stargazer",
    "music": "melody vocalist recital",
}


@dataclass
class DemoResult:
    """What the demo measured (also printed by the CLI)."""

    deerwester_singular_values: list[float]
    deerwester_ranking: list[tuple[str, float]]
    deerwester_top5: set[str]
    topic_queries: dict[str, tuple[float, float]] = field(default_factory=dict)
    lsi_precision: float = 0.0
    tfidf_precision: float = 0.0
    k: int = 0
    #: Topics of :data:`DEMO_QUERIES` no generated document is about (a small corpus):
    #: left out of ``topic_queries`` and of the averages.
    topics_without_documents: list[str] = field(default_factory=list)


#: The fewest documents the topic corpus of part 2 may have (ten a topic on average).
MIN_DEMO_DOCS = 60


def check_demo_arguments(n_docs: Any, k: Any) -> tuple[int, int]:
    """``n_docs`` and ``k`` of :func:`run_demo` as ints, or an error naming the one wrong.

    Raises
    ------
    SvdkitError
        ``n_docs`` is not a whole number of at least :data:`MIN_DEMO_DOCS`.
    ShapeError
        ``k`` is not a positive whole number.
    """
    from svdkit.lsi.index import check_build_arguments

    if (isinstance(n_docs, bool) or not isinstance(n_docs, numbers.Integral)
            or n_docs < MIN_DEMO_DOCS):
        raise SvdkitError(
            f"{arg('n_docs')} (documents of the generated corpus) must be a whole number of "
            f"at least {MIN_DEMO_DOCS}; got {got(n_docs)}",
            param="n_docs",
        )
    if k is None:
        raise ShapeError(f"{arg('k')} must be a positive integer; got None", param="k")
    check_build_arguments(k)
    return int(n_docs), int(k)


def run_demo(n_docs: int = 1200, k: int = 6, progress: bool = False) -> DemoResult:
    """Run both parts; precision is R-precision (precision in the top R, R = the number
    of relevant documents) averaged over :data:`DEMO_QUERIES`.

    ``n_docs``: documents of the generated corpus, at least :data:`MIN_DEMO_DOCS`; a
    topic none of them is about is left out (``topics_without_documents``). ``k``: the
    dimension of its index, a positive integer (at most the corpus allows).

    Raises
    ------
    SvdkitError
        ``n_docs`` out of range; ``k`` (a :class:`~svdkit.ShapeError`) not a positive
        integer, or more than the corpus has singular values.
    """
    from svdkit.lsi import build_index, demo_data
    from svdkit.lsi.evaluate import tfidf_baseline_scores
    from svdkit.lsi.query import top_n

    n_docs, k = check_demo_arguments(n_docs, k)
    progress = check_bool(progress, "progress")
    dw = build_index(demo_data.deerwester_titles(), k=2, weighting="count", normalize=False,
                     options=demo_data.DEERWESTER_OPTIONS)
    hits = dw.search("human computer interaction", n=9)
    result = DemoResult(
        deerwester_singular_values=[float(x) for x in dw.s],
        deerwester_ranking=[(h.id, h.score) for h in hits],
        deerwester_top5={h.id for h in hits[:5]},
    )
    corpus = demo_data.topic_corpus(n_docs=n_docs)
    index = build_index(corpus.documents, k=k, progress=progress)
    texts = list(DEMO_QUERIES.values())
    lsi_scores = index.scores(texts)
    base_scores = tfidf_baseline_scores(index, texts)
    for (topic, _), ls, bs in zip(DEMO_QUERIES.items(), lsi_scores, base_scores, strict=True):
        relevant = corpus.relevant(topic)
        n = len(relevant)
        if n == 0:  # no document about it: R-precision is undefined, not 0
            result.topics_without_documents.append(topic)
            continue
        p_lsi = np.mean([index.ids[j] in relevant for j in top_n(ls, n)])
        p_base = np.mean([index.ids[j] in relevant for j in top_n(bs, n)])
        result.topic_queries[topic] = (float(p_lsi), float(p_base))
    result.lsi_precision = float(np.mean([v[0] for v in result.topic_queries.values()]))
    result.tfidf_precision = float(np.mean([v[1] for v in result.topic_queries.values()]))
    result.k = index.k
    return result
