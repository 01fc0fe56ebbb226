"""svdkit.lsi: adding documents (fold-in, Zha–Simon update, drift) and the index on disk."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import scipy.sparse as sp

from svdkit.errors import FileFormatError, MissingFileError, SvdkitError
from svdkit.lsi import build_index, demo_data, load_index, rebuild
from svdkit.lsi.demo import DEMO_QUERIES
from svdkit.lsi.persist import FORMAT_VERSION
from svdkit.lsi.update import _zha_simon_block, drift, fold_in, svd_update


@pytest.fixture(scope="module")
def corpus():
    return demo_data.topic_corpus(n_docs=360, seed=11).documents


def _fresh(corpus, n=300, k=8):
    return build_index(corpus[:n], k=k)


def test_fold_in_of_indexed_documents_reproduces_their_rows(corpus):
    index = _fresh(corpus)
    copies = [(f"copy-{d}", t) for d, t in corpus[:25]]
    fold_in(index, copies)
    np.testing.assert_allclose(index.U[300:], index.U[:25], atol=1e-6)
    np.testing.assert_allclose(index.doc_vectors[300:], index.doc_vectors[:25], atol=1e-5)
    # UᵀU − I is exactly the Gram matrix of the folded rows
    expected = np.linalg.norm(index.U[300:].T @ index.U[300:], 2)
    assert abs(drift(index).orthogonality_loss - expected) < 1e-9


def test_fold_in_agrees_with_rebuild(corpus):
    index = _fresh(corpus)
    index.add(corpus[300:], method="fold_in")
    rebuilt = build_index(corpus, k=8)
    assert index.n_docs == rebuilt.n_docs == 360
    for text in DEMO_QUERIES.values():
        # the two indexes score all 360 documents alike (measured: r ≥ 0.965)
        r = np.corrcoef(index.scores([text])[0], rebuilt.scores([text])[0])[0, 1]
        assert r > 0.95, text
    # and both find the topic of every query (precision at 10)
    truth = demo_data.topic_corpus(n_docs=360, seed=11)
    for topic, text in DEMO_QUERIES.items():
        relevant = truth.relevant(topic)
        for ix in (index, rebuilt):
            assert sum(h.id in relevant for h in ix.search(text, n=10)) >= 9, (topic, ix)
    # the folded documents land near where the rebuild puts them
    new = [t for _, t in corpus[300:]]
    cos_folded = np.sum(index.query_vectors(new) * index.doc_vectors[300:], axis=1)
    assert np.all(cos_folded > 1 - 1e-5)


def _new_documents(kind: str, V: np.ndarray) -> sp.csr_matrix:
    """New rows of kinds that real corpora have: repeats, empty ones, ones inside the
    SVD's term space (a zero residual), more documents than terms."""
    n = V.shape[0]
    rng = np.random.default_rng(2)
    D = sp.random(7, n, density=0.4, random_state=1, format="csr").toarray()
    if kind == "repeats and empty":
        # the same text three times and twice, an empty document: R_in is rank 3 of 7
        D = np.vstack([D[0], D[1], D[0], np.zeros(n), D[1], D[2], D[0]])
    elif kind == "inside the term space":
        # one row in span V (its residual cancels to rounding), one nearly a repeat
        D = np.vstack([D, V @ rng.standard_normal(V.shape[1]), D[3] * (1 + 1e-9)])
    elif kind == "more documents than terms":
        D = rng.random((n + 9, n)) * (rng.random((n + 9, n)) < 0.5)
    return sp.csr_matrix(D)


@pytest.mark.parametrize(
    "kind", ["random", "repeats and empty", "inside the term space", "more documents than terms"]
)
def test_zha_simon_step_is_the_svd_of_the_stacked_matrix(kind):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 25))
    U, s, Vh = np.linalg.svd(A, full_matrices=False)
    k = 6
    U, s, V = U[:, :k], s[:k], Vh[:k].T
    D = _new_documents(kind, V)
    U2, s2, V2 = _zha_simon_block(U, s, V, D)
    stacked = np.vstack([(U * s) @ V.T, D.toarray()])
    exact = np.linalg.svd(stacked, compute_uv=False)[:k]
    np.testing.assert_allclose(s2, exact, rtol=1e-12)
    right = np.linalg.norm(stacked @ V2 - U2 * s2, axis=0)
    left = np.linalg.norm(stacked.T @ U2 - V2 * s2, axis=0)
    assert max(right.max(), left.max()) < 1e-12 * s2[0]
    assert np.linalg.norm(U2.T @ U2 - np.eye(k)) < 1e-13
    assert np.linalg.norm(V2.T @ V2 - np.eye(k)) < 1e-13


def test_update_equals_rebuild_with_the_same_weights_at_full_rank(corpus):
    """With k = rank, UΣVᵀ is the weighted matrix itself: Zha–Simon is then exact."""
    docs = [(d, t) for d, t in corpus[:40]]
    index = build_index(docs, k=min(40, build_index(docs, k=1).n_terms))
    index.add(corpus[40:52], method="update")
    W = index.weigh(index.counts).toarray()
    exact = np.linalg.svd(W, compute_uv=False)[: index.k]
    np.testing.assert_allclose(index.s, exact, rtol=1e-9, atol=1e-12)
    report = index.drift()
    assert report.folded == 0 and report.orthogonality_loss < 1e-12


@pytest.mark.parametrize("block, method", [(16, "krylov"), (256, "zha_simon")])
def test_update_is_the_certified_rank_k_svd_of_the_stacked_matrix(corpus, block, method):
    """More documents than one Zha–Simon step takes: the certified truncated SVD of
    ``[U Σ Vᵀ; D]`` as an operator; its σ and both residuals are checked here on the
    stacked matrix, formed densely."""
    tol = 1e-9
    index = build_index(corpus[:200], k=8, tol=tol)
    fold_in(index, corpus[200:360])
    n0 = index.n_svd_docs
    Ub, sb, Vb = index.U[:n0].copy(), index.s.copy(), index.V.copy()
    W_new = index.weigh(index.counts[n0:])
    stacked = np.vstack([(Ub * sb) @ Vb.T, W_new.toarray()])
    assert svd_update(index, block=block) == 160
    assert index.history[-1] == {"kind": "update", "documents": 160, "method": method}
    U, s, V = index.U, index.s, index.V
    exact = np.linalg.svd(stacked, compute_uv=False)[: s.size]
    assert np.all(np.abs(s - exact) <= 2 * tol * exact[0])
    right = np.linalg.norm(stacked @ V - U * s, axis=0)
    left = np.linalg.norm(stacked.T @ U - V * s, axis=0)
    assert max(right.max(), left.max()) <= 2 * tol * exact[0]
    assert np.linalg.norm(U.T @ U - np.eye(s.size)) < 1e-12
    assert np.linalg.norm(V.T @ V - np.eye(s.size)) < 1e-12
    # and Zha–Simon steps of 16 documents, each truncated to rank k, are not that
    if method == "krylov":
        for b0 in range(0, 160, 16):
            Ub, sb, Vb = _zha_simon_block(Ub, sb, Vb, W_new[b0 : b0 + 16])
        assert np.abs(sb - exact).max() > 1e3 * tol * exact[0]


def test_drift_report_and_advice(corpus):
    index = _fresh(corpus)
    assert drift(index).advice == "ok" and drift(index).folded == 0
    report = index.add(corpus[300:302], method="fold_in")
    assert report.folded == 2
    assert report.advice == "ok"  # 2 of 302 folded: under every threshold
    report = index.add(corpus[302:345], method="auto")  # 45 of 345 > 10 %: updated
    assert report.folded == 0 and report.advice == "ok"
    assert report.orthogonality_loss < 1e-12
    assert [h["kind"] for h in index.history] == ["fold_in", "fold_in", "update"]
    # the update's error is at most the fold-in's (it is the best rank-k of [UΣVᵀ; D])
    assert report.reconstruction_error <= drift(_after_fold_in(corpus)).reconstruction_error + 1e-12
    more = demo_data.topic_corpus(n_docs=200, seed=12).documents
    report = index.add([(f"x{d}", t) for d, t in more], method="update")
    assert report.advice == "rebuild"  # 545 documents on an index built on 300
    fresh = rebuild(index)
    assert fresh.n_docs == 545 and drift(fresh).advice == "ok"


def _after_fold_in(corpus):
    index = _fresh(corpus)
    index.add(corpus[300:345], method="fold_in")
    return index


def test_add_errors(corpus):
    index = _fresh(corpus)
    with pytest.raises(SvdkitError, match="already in the index"):
        index.add(corpus[:1])
    with pytest.raises(SvdkitError, match="method must be one of"):
        index.add(corpus[300:301], method="magic")
    assert svd_update(index) == 0


# ---------------------------------------------------------------- persistence


@pytest.fixture
def saved(tmp_path, corpus):
    index = _fresh(corpus)
    path = tmp_path / "index"
    index.save(path)
    return index, path


def test_round_trip_is_exact_and_memory_mapped(saved):
    index, path = saved
    loaded = load_index(path)
    assert isinstance(loaded.U, np.memmap) and isinstance(loaded.doc_vectors, np.memmap)
    for name in ("U", "s", "V", "global_weights", "doc_vectors"):
        np.testing.assert_array_equal(np.asarray(getattr(loaded, name)),
                                      np.asarray(getattr(index, name)))
    assert (loaded.counts != index.counts).nnz == 0
    assert loaded.vocabulary == index.vocabulary and loaded.ids == index.ids
    assert loaded.options == index.options and loaded.svd == index.svd
    text = DEMO_QUERIES["music"]
    assert loaded.search(text, 10) == index.search(text, 10)


def test_update_a_loaded_index_and_save_it_again(saved, corpus):
    _, path = saved
    loaded = load_index(path)
    loaded.add(corpus[300:340], method="update")
    loaded.save(path)
    again = load_index(path)
    assert again.n_docs == 340 and again.history == loaded.history
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


def test_damaged_foreign_and_wrong_version_directories(saved, tmp_path):
    _, path = saved
    with pytest.raises(MissingFileError, match="does not exist"):
        load_index(tmp_path / "nowhere")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.npy").write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"not an svdkit LSI index: it has no meta\.json"):
        load_index(foreign)
    with pytest.raises(FileFormatError, match="refusing to replace it"):
        load_index(path).save(foreign)
    (foreign / "meta.json").write_text(json.dumps({"format": "gensim.lsi"}))
    with pytest.raises(FileFormatError, match=r"format 'gensim\.lsi'"):
        load_index(foreign)

    newer = tmp_path / "newer"
    shutil.copytree(path, newer)
    meta = json.loads((newer / "meta.json").read_text())
    meta["version"] = FORMAT_VERSION + 1
    (newer / "meta.json").write_text(json.dumps(meta))
    newer_message = r"version 3; this svdkit reads versions 1 and 2.*newer"
    with pytest.raises(FileFormatError, match=newer_message):
        load_index(newer)

    damaged = tmp_path / "damaged"
    shutil.copytree(path, damaged)
    raw = bytearray((damaged / "V.npy").read_bytes())
    raw[-3] ^= 0xFF
    (damaged / "V.npy").write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match=r"V\.npy does not match its checksum"):
        load_index(damaged)
    (damaged / "V.npy").unlink()
    with pytest.raises(FileFormatError, match=r"V\.npy is missing"):
        load_index(damaged)
    (damaged / "meta.json").write_text("{not json")
    with pytest.raises(FileFormatError, match="damaged: not JSON"):
        load_index(damaged)


def test_a_failed_save_leaves_the_old_index(saved, monkeypatch):
    index, path = saved
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    calls = []

    def failing_save(file, arr, allow_pickle=False):
        calls.append(file)
        if len(calls) == 3:
            raise OSError("disk full")
        np.lib.format.write_array(open(file, "wb"), np.asanyarray(arr), allow_pickle=False)

    monkeypatch.setattr("svdkit.lsi.persist.np.save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        index.save(path)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert [p.name for p in path.parent.iterdir()] == ["index"]


def test_update_progress_bar_on_request(corpus, monkeypatch):
    """A long update (the certified SVD of the stacked matrix) shows the engine's bar on
    stderr when asked — the CLI always asks — and nothing otherwise."""
    import io
    from contextlib import redirect_stderr

    import rich.console

    buf = io.StringIO()

    class Captured(rich.console.Console):
        def __init__(self, *args, **kwargs):
            kwargs.pop("stderr", None)
            # (a terminal: the bar is drawn only there)
            super().__init__(*args, file=buf, width=120, force_terminal=True, **kwargs)

    quiet, shown = _fresh(corpus, n=50), _fresh(corpus, n=50)
    with redirect_stderr(buf):
        quiet.add(corpus[50:], method="update")  # 310 documents: more than one step takes
    assert buf.getvalue() == ""
    monkeypatch.setattr(rich.console, "Console", Captured)
    shown.add(corpus[50:], method="update", progress=True)
    assert shown.history[-1]["method"] == "krylov"
    assert "8/8 certified" in buf.getvalue()
    np.testing.assert_array_equal(shown.s, quiet.s)
