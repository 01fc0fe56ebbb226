"""Latent Semantic Indexing on svdkit's certified truncated SVD.

Index a corpus (streamed: a folder of ``.txt`` files, JSON lines, CSV, or any
iterable), search it by meaning, add documents (fold-in or SVD update, with a
drift report), save and load it (a directory of ``.npy`` arrays and JSON,
checksummed), evaluate it on standard test collections, and build it on Dask.

Examples
--------
>>> from svdkit.lsi import build_index, demo_data
>>> index = build_index(demo_data.deerwester_titles(), k=2, weighting="count",
...                     options=demo_data.DEERWESTER_OPTIONS)
>>> index
LsiIndex(9 documents, 12 terms, k=2, count)
>>> sorted(hit.id for hit in index.search("human computer interaction", n=5))
['c1', 'c2', 'c3', 'c4', 'c5']
"""

from svdkit.lsi import demo_data
from svdkit.lsi.corpus import open_corpus
from svdkit.lsi.counting import CorpusCounts, TextOptions, count_corpus
from svdkit.lsi.index import Hit, LsiIndex, build_index, index_from_counts
from svdkit.lsi.persist import load_index, save_index
from svdkit.lsi.update import Drift, add_documents, drift, rebuild
from svdkit.lsi.weighting import SCHEMES

__all__ = [
    "SCHEMES",
    "CorpusCounts",
    "Drift",
    "Hit",
    "LsiIndex",
    "TextOptions",
    "add_documents",
    "build_index",
    "count_corpus",
    "demo_data",
    "drift",
    "index_from_counts",
    "load_index",
    "open_corpus",
    "rebuild",
    "save_index",
]
