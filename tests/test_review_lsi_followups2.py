"""Follow-ups of the review of svdkit.lsi's inputs: ``CorpusCounts`` fields that are
``None`` or a string, JSON-lines ids as the file writes them (and an explicit ``null``),
indexes of a newer format, ``lsi info`` on an index tokenised without combining marks,
the ASCII fast path of the tokenizer and the document vectors computed in place (each
test failed before its fix)."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import scipy.sparse as sp
from cli_support import run_svdkit

from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lsi import (
    TextOptions,
    build_index,
    count_corpus,
    index_from_counts,
    load_index,
    persist,
)
from svdkit.lsi import index as index_module
from svdkit.lsi.corpus import read_jsonl
from svdkit.lsi.counting import TOKEN_PATTERN, CorpusCounts, word_pattern

_C = sp.csr_matrix(np.array([[1, 0, 2], [0, 1, 1], [3, 0, 0]]))
_VOCAB = ["apple", "bread", "cheese"]
_IDS = ["x", "y", "z"]

# ------------------------------------------------- 5. CorpusCounts fields None or str


def test_snippets_none_means_no_snippets():
    ix = index_from_counts(CorpusCounts(_C, _VOCAB, _IDS, snippets=None), k=2)
    assert ix.snippets == [] and ix.ids == _IDS
    assert ix.search("apple", n=1)[0].snippet == ""


@pytest.mark.parametrize(("field", "value"), [
    ("ids", None), ("ids", "xyz"), ("ids", 3),
    ("vocabulary", None), ("vocabulary", "abc"), ("vocabulary", 3.5),
    ("snippets", "abc"), ("snippets", 7),
])
def test_a_field_that_is_a_str_or_not_iterable_is_refused_by_name(field, value):
    kwargs = {"counts": _C, "vocabulary": _VOCAB, "ids": _IDS, "snippets": []}
    kwargs[field] = value
    with pytest.raises(SvdkitError, match=rf"corpus\.{field} must be") as err:
        index_from_counts(CorpusCounts(**kwargs), k=2)
    assert err.value.param == field
    assert type(value).__name__ in str(err.value)


def test_iterables_other_than_lists_are_still_taken():
    ix = index_from_counts(CorpusCounts(_C, tuple(_VOCAB), iter(_IDS), snippets=("a", "b", "c")),
                           k=2)
    assert ix.vocabulary == _VOCAB and ix.ids == _IDS and ix.snippets == ["a", "b", "c"]


# ------------------------------------------------------- 6. JSON-lines ids and null


def _jsonl(tmp_path, lines, name="c.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_number_ids_are_kept_as_the_file_writes_them(tmp_path):
    path = _jsonl(tmp_path, ['{"id": 1.5, "text": "cats purr"}',
                             '{"id": 2.5, "text": "dogs bark"}',
                             '{"id": 3.0, "text": "birds sing"}',
                             '{"id": 7, "text": "fish swim"}'])
    assert [d for d, _ in read_jsonl(path)] == ["1.5", "2.5", "3.0", "7"]
    ix = build_index(path, k=2)
    assert ix.ids == ["1.5", "2.5", "3.0", "7"]
    assert ix.search("birds", n=1)[0].id == "3.0"  # as an index built before names it


@pytest.mark.parametrize("field", [None, "doc"])
def test_jsonl_null_id_is_an_error_naming_the_line(tmp_path, field):
    key = field or "id"
    path = _jsonl(tmp_path, [f'{{"{key}": "a", "text": "cats purr"}}',
                             f'{{"{key}": null, "text": "dogs bark"}}',
                             f'{{"{key}": "c", "text": "birds sing"}}'])
    with pytest.raises(FileFormatError, match=rf"line 2.*{key}.*null") as err:
        list(read_jsonl(path, id_field=field))
    assert "missing" in str(err.value)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "true"])
def test_jsonl_ids_that_are_no_id_are_refused(tmp_path, literal):
    path = _jsonl(tmp_path, ['{"id": "a", "text": "cats purr"}',
                             f'{{"id": {literal}, "text": "dogs bark"}}'])
    with pytest.raises(FileFormatError, match=r"line 2"):
        list(read_jsonl(path))


def test_jsonl_record_without_id_field_is_still_numbered(tmp_path):
    path = _jsonl(tmp_path, ['{"id": "a", "text": "cats purr"}', '{"text": "dogs bark"}'])
    assert [d for d, _ in read_jsonl(path)] == ["a", "1"]


def test_in_memory_pairs_keep_their_rule():
    # documented as different from files: a pandas column of integers with a gap
    assert count_corpus([(1.0, "cats purr"), (2, "dogs bark")]).ids == ["1", "2"]
    with pytest.raises(SvdkitError, match="not a whole number"):
        count_corpus([(1.5, "cats purr")])


# ------------------------------------------------------ 7. format version, newer indexes


def _index(tmp_path, options=None):
    path = tmp_path / "idx"
    build_index(["cats purr softly", "dogs bark loudly", "cats and dogs play"], k=2,
                options=options).save(path)
    return path


def _rewrite_meta(path, edit):
    meta = json.loads((path / "meta.json").read_text())
    edit(meta)
    meta.pop("meta_sha256", None)
    meta["meta_sha256"] = persist._meta_digest(meta)
    (path / "meta.json").write_text(json.dumps(meta))


def test_saved_indexes_have_version_2(tmp_path):
    meta = json.loads((_index(tmp_path) / "meta.json").read_text())
    assert persist.FORMAT_VERSION == 2 and meta["version"] == 2
    assert meta["text_options"]["combining_marks"] is True


def test_version_1_indexes_still_load(tmp_path):
    path = _index(tmp_path)

    def old(meta):
        meta["version"] = 1
        del meta["text_options"]["combining_marks"]

    _rewrite_meta(path, old)
    ix = load_index(path)
    assert ix.options.combining_marks is False
    assert ix.search("cats", n=1)[0].id in ("0", "2")


def test_the_previous_release_says_upgrade(tmp_path, monkeypatch):
    # what the release before this one does with an index saved now: its reader
    # knew version 1 only
    path = _index(tmp_path)
    monkeypatch.setattr(persist, "READABLE_VERSIONS", (1,))
    monkeypatch.setattr(persist, "FORMAT_VERSION", 1)
    with pytest.raises(FileFormatError, match=r"version 2.*newer svdkit: upgrade"):
        load_index(path)


def test_unknown_text_option_says_newer_svdkit(tmp_path):
    path = _index(tmp_path)
    _rewrite_meta(path, lambda m: m["text_options"].update(future_setting=1, other=2))
    with pytest.raises(FileFormatError, match=r"newer svdkit") as err:
        load_index(path)
    assert "'future_setting'" in str(err.value) and "'other'" in str(err.value)
    assert "damaged" not in str(err.value)


def test_newer_version_is_refused(tmp_path):
    path = _index(tmp_path)
    _rewrite_meta(path, lambda m: m.update(version=3))
    with pytest.raises(FileFormatError, match=r"version 3.*newer svdkit: upgrade"):
        load_index(path)


def test_info_shows_an_index_without_combining_marks(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    path = _index(tmp_path)
    code, out, err = run("lsi", "info", path)
    assert code == 0, err
    assert "combining marks" not in out
    _rewrite_meta(path, lambda m: m["text_options"].update(combining_marks=False))
    code, out, err = run("lsi", "info", path)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "words scikit-learn's (combining marks split words; rebuild for Indic scripts)" in flat


# ------------------------------------------------------------ speed: the ASCII fast path


def test_ascii_fast_path_gives_the_same_tokens():
    v = TextOptions(stop_words=None).vectorizer()
    tokenize = v.build_tokenizer()
    texts = ["Hello, world! it's 42 o'clock -- x y zz_top a1b2", "naïve café Zürich",
             "भारत की राजधानी", "", "  ", "a", "tab\tsep\nline"]
    marks = re.compile(word_pattern())
    plain = re.compile(TOKEN_PATTERN)
    for text in texts:
        assert tokenize(text) == marks.findall(text)
        if text.isascii():
            assert tokenize(text) == plain.findall(text)
    assert tokenize("भारत") == ["भारत"]


def test_ascii_fast_path_is_used(monkeypatch):
    from svdkit.lsi import vectorizer

    calls = []
    plain = re.compile(TOKEN_PATTERN)

    class Spy:
        def findall(self, doc):
            calls.append(doc)
            return plain.findall(doc)

    monkeypatch.setattr(vectorizer, "ASCII_WORDS", Spy())
    tokenize = TextOptions(stop_words=None).vectorizer().build_tokenizer()
    assert tokenize("plain ascii text") == ["plain", "ascii", "text"]
    assert calls == ["plain ascii text"]
    assert tokenize("café au lait") == ["café", "au", "lait"]
    assert calls == ["plain ascii text"]  # not ASCII: the mark-aware pattern
    # another pattern, or an old index's (combining_marks=False), has no fast path
    calls.clear()
    for options in (TextOptions(stop_words=None, combining_marks=False),
                    TextOptions(stop_words=None, token_pattern=r"(?u)\b\w+\b")):
        options.vectorizer().build_tokenizer()("plain text")
    assert calls == []


# ------------------------------------------------- memory: document vectors in place


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, -0.5, 2.0, 5.0])
def test_document_vectors_are_unchanged(p):
    rng = np.random.default_rng(0)
    U = rng.standard_normal((300, 12))
    U[5] = 0.0
    U[7] = 1e-300
    s = np.sort(rng.uniform(0.1, 10, 12))[::-1]

    # the computation before the in-place one
    def before(Y, s, p, shift):
        q = min(p, 1.0)
        test = Y * index_module._powers(s, q + shift)
        scale = np.exp(index_module._log_max(s, q) - index_module._log_max(s, q + shift))
        keep = np.linalg.norm(test, axis=1, keepdims=True) > index_module.ZERO_VECTOR_FLOOR * scale
        Z = test if q == p else Y * index_module._powers(s, p + shift)
        return index_module._unit_rows(np.where(keep, Z, 0.0), 0.0)

    U0 = U.copy()
    got = index_module.document_vectors(U, s, p)
    assert np.array_equal(U, U0)  # U is not changed
    assert np.array_equal(got, before(U, s, p, 0.0).astype(np.float32))
    Y = rng.standard_normal((4, 12))
    assert np.array_equal(index_module._latent_unit_rows(Y, s, p, -1.0), before(Y, s, p, -1.0))
    assert not got[5].any() and not got[7].any()
    norms = np.linalg.norm(got.astype(np.float64), axis=1)
    assert np.allclose(norms[np.r_[0:5, 8:300]], 1.0, atol=1e-6)


def test_document_vectors_of_a_read_only_u():
    U = np.random.default_rng(1).standard_normal((50, 4))
    U.setflags(write=False)
    got = index_module.document_vectors(U, np.array([4.0, 3.0, 2.0, 1.0]), 1.0)
    want = U * [4.0, 3.0, 2.0, 1.0]
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.allclose(got, want, atol=1e-6)


def test_meta_digest_helper_is_stable(tmp_path):
    # (the tests above rewrite meta.json with persist._meta_digest: it must be the
    # digest load_index checks)
    path = _index(tmp_path)
    meta = json.loads((path / "meta.json").read_text())
    digest = meta.pop("meta_sha256")
    assert persist._meta_digest(meta) == digest
    assert len(digest) == len(hashlib.sha256().hexdigest())
