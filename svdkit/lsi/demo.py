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

from dataclasses import dataclass, field

import numpy as np

from svdkit.errors import check_bool

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


def run_demo(n_docs: int = 1200, k: int = 6, progress: bool = False) -> DemoResult:
    """Run both parts; precision is R-precision (precision in the top R, R = the number
    of relevant documents) averaged over :data:`DEMO_QUERIES`."""
    from svdkit.lsi import build_index, demo_data
    from svdkit.lsi.evaluate import tfidf_baseline_scores
    from svdkit.lsi.query import top_n

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
        p_lsi = np.mean([index.ids[j] in relevant for j in top_n(ls, n)])
        p_base = np.mean([index.ids[j] in relevant for j in top_n(bs, n)])
        result.topic_queries[topic] = (float(p_lsi), float(p_base))
    result.lsi_precision = float(np.mean([v[0] for v in result.topic_queries.values()]))
    result.tfidf_precision = float(np.mean([v[1] for v in result.topic_queries.values()]))
    result.k = index.k
    return result
