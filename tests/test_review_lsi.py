"""Review of svdkit.lsi: corpus encodings and layouts, qrels layouts, evaluation ties and
ids, adding from a path, term look-up, option checks (each test failed before its fix)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from svdkit.errors import FileFormatError, MissingFileError, ShapeError, SvdkitError
from svdkit.lsi import TextOptions, build_index, demo_data, rebuild
from svdkit.lsi.demo import DEMO_QUERIES
from svdkit.lsi.evaluate import evaluate, read_qrels, read_queries, read_trec_qrels

FRENCH = [
    ("x1", "Le café est chaud, à Paris en été"),
    ("x2", "Été à Paris : café crème et croissant"),
    ("x3", "Les voitures électriques et le moteur diesel"),
    ("x4", "Moteur, voiture, essence : 12345 67890"),
]


@pytest.fixture(scope="module")
def topics():
    truth = demo_data.topic_corpus(n_docs=160, seed=11)
    return truth, build_index(truth.documents, k=6)


def _same_index(a, b):
    assert a.ids == b.ids and a.vocabulary == b.vocabulary and a.snippets == b.snippets
    assert (a.counts != b.counts).nnz == 0
    np.testing.assert_array_equal(a.s, b.s)


# ---------------------------------------------------------------- corpus files


def _write_csv(path, sep, encoding):
    lines = [f"id{sep}text"] + [f'{d}{sep}"{t}"' for d, t in FRENCH]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)


def test_byte_order_mark_is_skipped_in_csv_jsonl_and_txt(tmp_path):
    _write_csv(tmp_path / "plain.csv", ",", "utf-8")
    _write_csv(tmp_path / "bom.csv", ",", "utf-8-sig")  # as spreadsheet programs write it
    plain = build_index(tmp_path / "plain.csv", k=2, id_field="id", options=TextOptions(
        stop_words=None))
    _same_index(build_index(tmp_path / "bom.csv", k=2, id_field="id",
                            options=TextOptions(stop_words=None)), plain)
    jsonl = "".join(json.dumps({"id": d, "text": t}, ensure_ascii=False) + "\n"
                    for d, t in FRENCH)
    (tmp_path / "bom.jsonl").write_text(jsonl, encoding="utf-8-sig")
    _same_index(build_index(tmp_path / "bom.jsonl", k=2, options=TextOptions(stop_words=None)),
                plain)
    folder = tmp_path / "txt"
    folder.mkdir()
    for d, t in FRENCH:
        (folder / f"{d}.txt").write_text(t, encoding="utf-8-sig")
    index = build_index(folder, k=2, options=TextOptions(stop_words=None))
    assert [s[0] for s in index.snippets] == [t[0] for _, t in FRENCH]  # no '\ufeff'


def test_tsv_is_read_with_tabs(tmp_path):
    _write_csv(tmp_path / "c.csv", ",", "utf-8")
    (tmp_path / "c.tsv").write_text(
        "id\ttext\n" + "".join(f"{d}\t{t}\n" for d, t in FRENCH), encoding="utf-8"
    )  # commas in the texts: they are not separators in a .tsv
    opts = TextOptions(stop_words=None)
    _same_index(build_index(tmp_path / "c.tsv", k=2, id_field="id", options=opts),
                build_index(tmp_path / "c.csv", k=2, id_field="id", options=opts))


@pytest.mark.parametrize("name, content", [
    ("l1.csv", b"id,text\n1,caf\xe9 cr\xe8me\n"),
    ("l1.jsonl", b'{"id": 1, "text": "caf\xe9 cr\xe8me"}\n'),
])  # fmt: skip
def test_unreadable_csv_or_jsonl_is_a_file_format_error(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(FileFormatError, match=name):
        build_index(tmp_path / name, k=1)


# ---------------------------------------------------------------- relevance judgements


def test_trec_qrels_with_q0_or_rounds_and_padded_ids(tmp_path):
    text = "q1 Q0 0001 2\nq1 Q0 0002 0\nq2 Q0 0003 1\n"
    (tmp_path / "a.qrels").write_text(text)
    (tmp_path / "b.qrels").write_text(text.replace("Q0", "0.5"))  # TREC-COVID rounds
    expected = read_trec_qrels(tmp_path / "a.qrels")  # grade 0 kept: judged, not relevant
    assert expected == {"q1": {"0001": 2, "0002": 0}, "q2": {"0003": 1}}
    assert read_qrels(tmp_path / "a.qrels") == expected  # was {'q1': {'Q0': 1}, ...}
    assert read_qrels(tmp_path / "b.qrels") == expected
    # CACM's qrels.text ("qid docid 0 0"): still the SMART layout, zeros stripped
    (tmp_path / "qrels.text").write_text("01 1410 0 0\n01 1572 0 0\n02 2434 0 0\n")
    assert read_qrels(tmp_path / "qrels.text") == {"1": {"1410": 1, "1572": 1},
                                                   "2": {"2434": 1}}


def test_queries_tsv_with_byte_order_mark(tmp_path):
    (tmp_path / "q.tsv").write_text("q1\tfirst\nq2\tsecond\n", encoding="utf-8-sig")
    assert list(read_queries(tmp_path / "q.tsv")) == ["q1", "q2"]


def _ranked_ap(index, text, relevant):
    """Average precision of the ranking ``index.search`` returns (by hand)."""
    hits, total = 0, 0.0
    for hit in index.search(text, n=index.n_docs):
        if hit.id in relevant:
            hits += 1
            total += hits / hit.rank
    return total / len(relevant)


def test_eval_measures_the_ranking_search_returns_ties_included():
    # a, b identical (c, d alike for query 2): equal cosines; search puts the lower row
    # first ("a", "c"), trec_eval the larger id ("b", "d")
    docs = [("a", "jaguar speed cat"), ("b", "jaguar speed cat"),
            ("c", "python snake venom"), ("d", "cobra snake venom")]  # fmt: skip
    index = build_index(docs, k=2, weighting="count")
    queries = {"1": "jaguar", "2": "venom snake"}
    qrels = {"1": {"a": 1}, "2": {"c": 1}}
    result = evaluate(index, queries, qrels)
    ap = np.mean([_ranked_ap(index, queries[q], qrels[q]) for q in queries])
    assert result.lsi["AP"] == pytest.approx(ap, abs=1e-12)
    assert result.lsi["AP"] == pytest.approx(1.0)  # was 0.5: "b" before "a", "d" before "c"


def test_eval_with_zero_padded_document_ids(topics, tmp_path):
    truth, _ = topics
    padded = build_index([(f"{i:05d}", t) for i, (_, t) in enumerate(truth.documents)], k=6)
    plain_ids = {d: str(i) for i, (d, _) in enumerate(truth.documents)}
    queries = {f"q{i}": q for i, q in enumerate(DEMO_QUERIES.values(), 1)}
    lines = [f"q{i} 0 {int(plain_ids[d]):05d} 1\n" for i, topic in enumerate(DEMO_QUERIES, 1)
             for d in sorted(truth.relevant(topic))]  # fmt: skip
    (tmp_path / "padded.qrels").write_text("".join(lines))
    cisi = [f"q{i} {plain_ids[d]} 0 0.0\n" for i, topic in enumerate(DEMO_QUERIES, 1)
            for d in sorted(truth.relevant(topic))]  # fmt: skip
    (tmp_path / "CISI.REL").write_text("".join(cisi))
    qrels_plain = {f"q{i}": {plain_ids[d]: 1 for d in truth.relevant(t)}
                   for i, t in enumerate(DEMO_QUERIES, 1)}  # fmt: skip
    unpadded = build_index([(str(i), t) for i, (_, t) in enumerate(truth.documents)], k=6)
    reference = evaluate(unpadded, queries, qrels_plain)
    # TREC layout, padded on both sides: ids kept as they are (were stripped: no match)
    same = evaluate(padded, queries, read_qrels(tmp_path / "padded.qrels"))
    assert same.lsi == reference.lsi and same.baseline == reference.baseline
    # SMART layout (stripped) against a padded index: matched without leading zeros
    stripped = evaluate(padded, queries, read_qrels(tmp_path / "CISI.REL"))
    assert stripped.lsi == reference.lsi and "leading zeros" in stripped.notes[0]


# ---------------------------------------------------------------- adding, terms, options


def test_add_takes_a_path_and_never_iterates_a_string(topics, tmp_path):
    truth, _ = topics
    base, extra = truth.documents[:120], truth.documents[120:]
    from_list = build_index(base, k=6)
    from_list.add(extra, method="update")
    (tmp_path / "new.jsonl").write_text(
        "".join(json.dumps({"id": d, "text": t}) + "\n" for d, t in extra))
    from_path = build_index(base, k=6)
    with pytest.raises(MissingFileError):
        from_path.add("automobile motor petrol")  # was: 23 one-letter documents
    assert from_path.n_docs == 120 and len(from_path.counts.indptr) == 121
    from_path.add(tmp_path / "new.jsonl", method="update")
    assert from_path.ids == from_list.ids
    np.testing.assert_array_equal(from_path.s, from_list.s)


def test_similar_terms_preprocesses_the_term_as_the_corpus():
    index = build_index(FRENCH, k=2, options=TextOptions(stop_words=None,
                                                         strip_accents="unicode"))
    assert "ete" in index.vocabulary and "été" not in index.vocabulary
    assert index.similar_terms("Été", 3) == index.similar_terms("ete", 3)
    assert index.similar_terms("CAFÉ", 3) == index.similar_terms("cafe", 3)
    with pytest.raises(SvdkitError, match="a term is a text"):
        index.similar_terms(3)


@pytest.mark.parametrize("kwargs, match", [
    ({"stop_words": "french"}, "stop_words"),
    ({"stop_words": ("le", 3)}, "stop_words"),
    ({"strip_accents": "latin"}, "strip_accents"),
    ({"token_pattern": "(\\w"}, "not a regular expression"),
    ({"token_pattern": "(\\w)(\\w)"}, "capturing groups"),
])  # fmt: skip
def test_text_options_are_checked_up_front(kwargs, match):
    with pytest.raises(SvdkitError, match=match):
        TextOptions(**kwargs)


def test_scaling_and_rebuild_k_of_the_wrong_type(topics):
    truth, index = topics
    with pytest.raises(SvdkitError, match="scaling"):
        build_index(truth.documents[:20], k=2, scaling="1")
    for k in ("3", 2.5, True):
        with pytest.raises(ShapeError, match="positive integer"):
            rebuild(index, k=k)
    assert rebuild(index, k=3).k == 3


@pytest.mark.parametrize("text", ["text,id\nhello world,a\nfoo bar\n",
                                  "text,id\nhello world,a\nfoo bar,\n"])
def test_csv_row_without_an_id_is_an_error(tmp_path, text):
    (tmp_path / "short.csv").write_text(text)  # was: ids None (shown "None") and ""
    with pytest.raises(FileFormatError, match="line 3: no id in column 'id'"):
        build_index(tmp_path / "short.csv", k=1, id_field="id")
