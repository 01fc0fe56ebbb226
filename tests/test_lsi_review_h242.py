"""Review of 437602b (LSI): Cranfield ids without leading zeros, the reindex advice
against the build's own pruning, zero-vector documents left out before ranking, a
verified load and a fold-in that cost little, short CSV/TSV rows of unread columns, an
older index's scaling above today's bound, the full-rank note of a rank-deficient
corpus."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from svdkit.errors import FileFormatError
from svdkit.lsi import TextOptions, build_index, demo_data, load_index
from svdkit.lsi.corpus import open_corpus
from svdkit.lsi.demo import DEMO_QUERIES
from svdkit.lsi.evaluate import evaluate, read_queries
from tests.lsi_support import rewritten


@pytest.fixture(scope="module")
def topics():
    truth = demo_data.topic_corpus(n_docs=150, seed=0)
    return truth, build_index(truth.documents, k=6)


# ------------------------------------------------------------- 1: Cranfield without zeros


def _cranfield_like(truth, n_queries):
    """Query ids 1, 2, 4, 5, 7, … (cran.qry's gaps, no zeros) and qrels by position."""
    texts = list(DEMO_QUERIES.values())
    topics_list = list(DEMO_QUERIES)
    ids, n = [], 0
    while len(ids) < n_queries:
        n += 1
        if n % 3:
            ids.append(n)
    queries = {str(q): texts[i % len(texts)] for i, q in enumerate(ids)}
    qrels = {str(p): {d: 1 for d in truth.relevant(topics_list[(p - 1) % len(texts)])}
             for p in range(1, n_queries + 1)}
    by_position = {str(p): t for p, t in enumerate(queries.values(), 1)}
    return queries, qrels, by_position


@pytest.mark.parametrize("source", ["dict", "tsv", "jsonl"])
def test_cranfield_ids_without_leading_zeros_are_numbered_by_position(topics, tmp_path,
                                                                      source):
    truth, index = topics
    queries, qrels, by_position = _cranfield_like(truth, 20)
    if source == "tsv":
        (tmp_path / "q.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in queries.items()))
        queries = read_queries(tmp_path / "q.tsv")
    elif source == "jsonl":
        (tmp_path / "q.jsonl").write_text("".join(
            json.dumps({"id": int(q), "text": t}) + "\n" for q, t in queries.items()))
        queries = read_queries(tmp_path / "q.jsonl", id_field="id")
    result = evaluate(index, queries, qrels)
    right = evaluate(index, by_position, qrels)
    assert result.n_queries == 20 and result.lsi == right.lsi and result.lsi["AP"] > 0.5
    note = next(n for n in result.notes if "numbered by position" in n)
    assert "14 have the id of a query and 20 the position" in note
    assert "exactly 1 … 20" in note


def test_cranfield_evidence_too_small_keeps_the_ids_and_says_so(topics):
    truth, index = topics
    queries, qrels, _ = _cranfield_like(truth, 9)  # 1, 2, 4, …, 13: 3 judged ids unmet
    result = evaluate(index, queries, qrels)
    assert result.n_queries == 6  # ids as they are
    note = next(n for n in result.notes if "query ids used as they are" in n)
    assert "3 judged queries have no query of their id" in note and "leading zeros" in note


def test_judgements_of_fewer_queries_than_asked_are_not_renumbered(topics):
    truth, index = topics
    queries, qrels, _ = _cranfield_like(truth, 20)
    del qrels["20"]  # the qrels no longer count exactly the queries
    result = evaluate(index, queries, qrels)
    assert result.n_queries == 13
    assert not any("numbered by position" in n for n in result.notes)


# ------------------------------------------------------------- 2: the reindex advice


def _zipf_docs(n, seed, vocab_size=3000):
    rng = np.random.default_rng(seed)
    vocab = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 7))
             for _ in range(vocab_size)]
    p = 1.0 / np.arange(1, vocab_size + 1)
    p /= p.sum()
    return [(f"d{seed}_{i}", " ".join(rng.choice(vocab, rng.integers(30, 61), p=p)))
            for i in range(n)]


@pytest.fixture(scope="module")
def zipf():
    return _zipf_docs(900, 0)


def test_one_short_document_of_new_words_is_no_drift(zipf):
    index = build_index(zipf[:600], k=20)
    report = index.add([("memo", "zoomcall recap")], method="fold_in")
    assert report.unknown_only == 1 and report.advice != "reindex"


def test_words_pruned_by_the_build_are_not_new_words(zipf, tmp_path):
    index = build_index(zipf[:600], k=20, options=TextOptions(max_df=0.2))
    pruned = index.svd["pruned"]
    assert 0.2 < pruned["token_share"] < 0.7 and pruned["only_share"] == 0.0
    report = index.add(zipf[600:700], method="fold_in")  # the same distribution
    assert report.unknown_token_share > 0.3 and report.advice != "reindex"
    index.save(tmp_path / "ix")
    assert load_index(tmp_path / "ix").svd["pruned"] == pruned
    assert load_index(tmp_path / "ix").drift().advice != "reindex"


def test_new_words_beyond_the_builds_pruning_still_advise_reindex(zipf):
    index = build_index(zipf[:600], k=20, options=TextOptions(max_df=0.2))
    other = _zipf_docs(40, 7)  # another vocabulary: every word new
    report = index.add(other, method="fold_in")
    assert report.unknown_only == 40 and report.advice == "reindex"


def test_the_build_measures_what_its_pruning_left_out():
    from svdkit.lsi import count_corpus

    docs = [("a", "cat dog cat"), ("b", "dog bird"), ("c", "fish")]
    counts = count_corpus(docs, TextOptions(min_df=2))  # only "dog" is kept
    assert counts.pruned == {"token_share": 4 / 6, "only_share": 1 / 3}
    assert count_corpus(docs).pruned == {"token_share": 0.0, "only_share": 0.0}


# ------------------------------------------------------------- 3: zero-vector documents


@pytest.fixture(scope="module")
def half_empty():
    docs = demo_data.topic_corpus(n_docs=120, seed=2).documents
    docs = docs + [(f"stop{i}", "the and of it") for i in range(300)]
    return build_index(docs, k=8)


def test_zero_vector_documents_are_never_ranked(half_empty, monkeypatch):
    import svdkit.lsi.query as query

    asked = []
    top_n = query.top_n

    def spy(scores, n):
        asked.append(n)
        return top_n(scores, n)

    monkeypatch.setattr(query, "top_n", spy)
    hits = half_empty.search("automobile motor", n=5)
    batch = half_empty.search_batch(["automobile motor", "melody"], n=5)
    similar = half_empty.similar_documents(hits[0].id, n=5)
    assert max(asked) <= 6  # n (+1 for the document itself), not n + 300
    assert len(hits) == 5 and [h.id for h in batch[0]] == [h.id for h in hits]
    assert len(similar) == 5
    assert not any(h.id.startswith("stop") for h in hits + batch[1] + similar)
    scores = half_empty.scores(["automobile motor"])[0]
    best = np.argsort(-scores[:120], kind="stable")[:5]
    assert [h.row for h in hits] == best.tolist()


def test_all_hits_when_fewer_documents_have_a_direction(half_empty):
    hits = half_empty.search("automobile motor", n=1000)
    assert len(hits) == 120 and all(not h.id.startswith("stop") for h in hits)
    assert len(half_empty.similar_documents(0, n=1000)) == 119


# ------------------------------------------------------------- 4: a cheap verified load


def test_a_verified_load_checks_a_sample_of_a_large_index(tmp_path, monkeypatch):
    import svdkit.lsi.index as index_module
    import svdkit.lsi.persist as persist

    good = tmp_path / "good"
    build_index(demo_data.topic_corpus(n_docs=200, seed=1).documents, k=5).save(good)
    monkeypatch.setattr(persist, "CHECK_ROWS", 8)
    monkeypatch.setattr(persist, "CHECK_LAST_ROWS", 4)
    rows = []
    document_vectors = index_module.document_vectors

    def spy(U, s, p):
        rows.append(len(U))
        return document_vectors(U, s, p)

    monkeypatch.setattr(index_module, "document_vectors", spy)
    load_index(good)
    assert 0 < sum(rows) <= 20  # not the 200 rows

    def other_p(d, m):  # a whole file of other vectors: caught on any row
        U, s = np.load(d / "U.npy"), np.load(d / "s.npy")
        np.save(d / "doc_vectors.npy", document_vectors(U, s, 0.0))

    bad = rewritten(good, tmp_path / "bad", other_p)
    with pytest.raises(FileFormatError, match=r"doc_vectors\.npy is not the rows"):
        load_index(bad)


def test_fold_in_tokenises_each_document_once(monkeypatch):
    from svdkit.lsi.update import _count_new

    for options in (TextOptions(), TextOptions(analyzer="char_wb", ngram_range=(2, 3)),
                    TextOptions(stop_words=None, lowercase=False)):
        index = build_index(demo_data.pets_and_markets(), k=3, options=options)
        texts = ["A cat and a DOG at the vet", "", "the and of", "zebra okapi", "cat cat"]
        expected = index.count(texts)
        calls: list = []
        monkeypatch.setattr(index, "count", lambda t, calls=calls, count=index.count:
                            calls.append(t) or count(t))
        C, _, _, unknown = _count_new(index, list(zip("abcde", texts, strict=True)), 2)
        assert calls == []  # counted from the one tokenising
        assert (C != expected).nnz == 0 and C.dtype == np.int32
        assert C.has_sorted_indices
        analyze = options.vectorizer().build_analyzer()
        assert unknown["tokens"] == sum(len(analyze(t)) for t in texts)
        monkeypatch.undo()


# ------------------------------------------------------------- 5: short CSV/TSV rows


@pytest.mark.parametrize(("name", "text"), [
    ("trimmed.tsv", "id\ttext\tauthor\nd1\tcats and dogs\nd2\tmarket fell\tann\n"),
    ("short.csv", "id,text,author\nd1,cats and dogs\nd2,market fell,ann\n"),
    ("unnamed.csv", "id,text,\nd1,cats and dogs\nd2,market fell\n"),
])
def test_rows_lacking_only_unread_trailing_cells_are_read(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    docs = list(open_corpus(tmp_path / name, id_field="id"))
    assert docs == [("d1", "cats and dogs"), ("d2", "market fell")]


@pytest.mark.parametrize(("text", "says"), [
    ("id,author,text\nd1,ann\nd2,bob,market fell\n", r"line 2: 2 fields, the header has 3"),
    ("id,text,author\nd1,cats, dogs,ann\n", r"line 2: 4 fields.*unquoted comma"),
])
def test_rows_lacking_the_text_or_with_extra_fields_are_refused(tmp_path, text, says):
    (tmp_path / "c.csv").write_text(text)
    with pytest.raises(FileFormatError, match=says):
        list(open_corpus(tmp_path / "c.csv", id_field="id"))


# ------------------------------------------------------------- 6: an older index's scaling


def test_an_older_index_with_scaling_above_the_bound_loads_with_a_warning(tmp_path):
    from svdkit.lsi.index import document_vectors

    good = tmp_path / "good"
    docs = demo_data.pets_and_markets()
    build_index(docs, k=3).save(good)

    def p150(d, m):
        m["scaling"] = 150.0
        U, s = np.load(d / "U.npy"), np.load(d / "s.npy")
        np.save(d / "doc_vectors.npy", document_vectors(U, s, 150.0))

    old = rewritten(good, tmp_path / "old", p150)
    with pytest.warns(UserWarning, match=r"scaling p = 150 is outside the -100 to 100"):
        index = load_index(old)
    assert index.scaling == 150.0 and index.search("sick dog", n=1)
    assert any("rebuild(index, scaling=" in n for n in index.svd["notes"])
    with pytest.warns(UserWarning, match="scaling p = 150"):
        index.save(tmp_path / "again")
        again = load_index(tmp_path / "again")
    assert again.svd["notes"] == index.svd["notes"]  # said once
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        impossible = rewritten(good, tmp_path / "bad", lambda d, m: m.update(scaling=1e5))
        with pytest.raises(FileFormatError, match=r"is damaged.*scaling 100000\.0"):
            load_index(impossible)


# ------------------------------------------------------------- 7: the full-rank note


def test_the_full_rank_note_names_the_k_of_a_rank_deficient_index():
    docs = [("a", "cat dog"), ("b", "cat dog"), ("c", "stock market"),
            ("d", "stock market"), ("e", "bank rates")]
    index = build_index(docs)
    assert index.k == 3 and index.svd["full_rank"] is True
    note = index.svd["notes"][0]
    assert note.startswith("k = 3 is the full rank of the 5 documents") and "k = 5" not in note
    assert "numerical rank" in note
