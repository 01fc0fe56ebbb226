"""A core install without an extra: explain without SymPy, and one clear error naming
the extra for the exact engine (SymPy), LSI (scikit-learn, ir-measures) and bf16
LoRA tensors (ml_dtypes); float32 checkpoints need NumPy alone.

A package is hidden as in ``test_missing_dependency.py``: ``sys.modules[name] = None``
for it and its submodules (importing it then fails), through ``monkeypatch`` so that
everything is restored afterwards. svdkit modules that imported it at their top are
dropped from ``sys.modules`` too (and from the attributes their package cached), so
that they are imported afresh, as on an install without it.
"""

import sys
import warnings

import numpy as np
import pytest
from cli_support import error_line, run_svdkit

from svdkit.errors import MissingDependencyError, SvdkitError

EXACT_EXTRA = r"pip install 'svdkit\[exact\]'"
LSI_EXTRA = r"pip install 'svdkit\[lsi\]'"
LORA_EXTRA = r"pip install 'svdkit\[lora\]'"


def _hide(monkeypatch, *packages: str) -> None:
    """Make ``import P`` fail for each of ``packages`` and their submodules."""
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            monkeypatch.setitem(sys.modules, name, None)
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


def _forget_exact_engine(monkeypatch) -> None:
    """Drop the exact engine's loaded modules and the names ``svdkit.exact`` cached."""
    import svdkit.exact as ex

    for name in list(sys.modules):
        if name.startswith("svdkit.exact.") and name != "svdkit.exact.steps":
            monkeypatch.delitem(sys.modules, name)
            monkeypatch.delattr(ex, name.rsplit(".", 1)[1], raising=False)
    for name in ex._HOMES:
        if name in vars(ex):
            monkeypatch.delattr(ex, name)


@pytest.fixture
def no_sympy(monkeypatch):
    _forget_exact_engine(monkeypatch)
    _hide(monkeypatch, "sympy", "mpmath", "flint")


@pytest.fixture
def no_mpmath(monkeypatch):
    import sympy  # noqa: F401 - loaded: only mpmath is missing

    _forget_exact_engine(monkeypatch)
    _hide(monkeypatch, "mpmath")


@pytest.fixture
def svdkit_cli(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


# --- item 5: the exact engine's Python API --------------------------------------------


def test_exact_api_without_sympy_names_the_extra(no_sympy):
    import svdkit.exact as ex

    calls = (lambda: ex.as_exact([[1, 2], [3, 4]]), lambda: ex.svd([[3, 0], [0, -2]]),
             lambda: ex.det("1 2; 3 4"), lambda: ex.format)
    message = f"svdkit.exact needs SymPy: {EXACT_EXTRA}"
    for call in calls:
        with pytest.raises(MissingDependencyError, match=message):
            call()
    with pytest.raises(MissingDependencyError, match=EXACT_EXTRA):
        from svdkit.exact import eigh  # noqa: F401


def test_exact_api_without_mpmath_names_the_extra(no_mpmath):
    import svdkit.exact as ex

    with pytest.raises(MissingDependencyError, match=EXACT_EXTRA):
        ex.svd([[3, 0], [0, -2]])


def test_exact_api_keeps_other_import_errors(monkeypatch):
    import svdkit.exact as ex

    _forget_exact_engine(monkeypatch)
    monkeypatch.setitem(sys.modules, "svdkit.exact.elimination", None)  # a broken install
    with pytest.raises(ImportError) as info:
        ex.rank([[1, 2], [2, 4]])
    assert not isinstance(info.value, SvdkitError)


def test_exact_api_still_works_with_sympy():
    import svdkit.exact as ex

    assert ex.rank([[1, 2], [2, 4]]).value == 1


# --- item 1: explain without SymPy ------------------------------------------------------


def test_explain_without_sympy_is_numeric_and_says_why_once(no_sympy):
    from svdkit.explain import explain, render
    from svdkit.explain.exact_steps import ExactStepsSkippedWarning

    with pytest.warns(ExactStepsSkippedWarning) as caught:
        report = explain([[1, 2], [3, 4]])
    assert [str(w.message) for w in caught] == [
        "exact steps need SymPy: pip install 'svdkit[exact]'"
    ]
    assert report.section("measures").fact("rank") == 2
    for sec in report.sections:
        assert not sec.steps
        assert not [f.key for f in sec.facts if f.key.endswith("_exact") or f.key == "exact_error"]
    for fmt in ("markdown", "json", "latex", "html"):
        assert render(report, fmt)


def test_explain_without_sympy_default_matrix_and_notes(no_sympy):
    # the README's matrix, and one whose notes ask the exact engine (A³ = 0)
    from svdkit.explain import explain
    from svdkit.explain.exact_steps import ExactStepsSkippedWarning

    for source in ("[[1, 2, 3], [4, 5, 6]]", "0 0 1; 0 0 1; -1 1 0", "3 9; -1 -3"):
        with pytest.warns(ExactStepsSkippedWarning):
            explain(source)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no steps asked: nothing to say
            explain(source, steps=False)


def test_explain_without_sympy_too_large_for_exact_steps_says_nothing(no_sympy):
    from svdkit.explain import explain

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain(np.arange(49.0).reshape(7, 7))


def test_explain_with_sympy_has_exact_steps_and_no_warning():
    from svdkit.explain import explain

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = explain([[1, 2], [3, 4]])
    assert report.section("measures").fact("determinant_exact") == "−2"
    assert report.section("measures").steps


def test_cli_explain_without_sympy_writes_the_report(no_sympy, svdkit_cli):
    # the README's first command; the reason is given once (as the warning, or as the
    # ``note:`` line the command makes of it)
    from svdkit.explain.exact_steps import EXACT_NEEDS_SYMPY, ExactStepsSkippedWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = svdkit_cli("explain", "--format", "markdown")
    assert code == 0, err
    assert "Traceback" not in err
    assert "rank" in out.lower()
    said = [w for w in caught if issubclass(w.category, ExactStepsSkippedWarning)]
    assert not said  # the command says it once, as a note line, not as a Python warning
    assert err.count(f"note: {EXACT_NEEDS_SYMPY}") == 1, err


# --- items 3 and 6: LSI without scikit-learn or ir-measures -----------------------------


def test_lsi_without_sklearn_names_the_extra(monkeypatch):
    from svdkit.lsi import build_index

    _hide(monkeypatch, "sklearn")
    with pytest.raises(MissingDependencyError, match=f"svdkit.lsi needs scikit-learn: {LSI_EXTRA}"):
        build_index(["cars and motors", "petrol engines", "bread and butter"], k=1)


def test_cli_lsi_without_sklearn_is_one_error_line(monkeypatch, svdkit_cli):
    _hide(monkeypatch, "sklearn")
    code, _, err = svdkit_cli("lsi", "demo")
    assert "svdkit.lsi needs scikit-learn: pip install 'svdkit[lsi]'" in error_line(code, err)


def test_lsi_eval_without_ir_measures_names_the_extra(monkeypatch, tmp_path):
    from svdkit.lsi import build_index, demo_data
    from svdkit.lsi.evaluate import evaluate, read_trec_qrels

    corpus = demo_data.topic_corpus(n_docs=60, seed=3)
    index = build_index(corpus.documents, k=4)
    qrels = {"q1": {d: 1 for d in corpus.relevant("motoring")}}
    path = tmp_path / "qrels.txt"
    path.write_text("q1 0 d1 1\n")
    _hide(monkeypatch, "ir_measures")
    with pytest.raises(MissingDependencyError, match=LSI_EXTRA):
        evaluate(index, {"q1": "automobile motor petrol"}, qrels)
    with pytest.raises(MissingDependencyError, match=LSI_EXTRA):
        read_trec_qrels(path)


# --- item 4: LoRA without ml_dtypes -----------------------------------------------------


@pytest.fixture
def no_ml_dtypes(monkeypatch):
    _hide(monkeypatch, "ml_dtypes")


def _pair(d):
    from svdkit.lora import save_safetensors

    rng = np.random.default_rng(0)
    W = rng.standard_normal((8, 6)).astype(np.float32)
    D = (rng.standard_normal((8, 2)) @ rng.standard_normal((2, 6))).astype(np.float32)
    bias = np.zeros(8, np.float16)
    save_safetensors(d / "base.safetensors", {"fc.weight": W, "fc.bias": bias})
    save_safetensors(d / "tuned.safetensors", {"fc.weight": W + D, "fc.bias": bias + 1})
    return W, D


def test_float32_checkpoints_need_no_ml_dtypes(no_ml_dtypes, tmp_path):
    from svdkit.lora import Adapter, Checkpoint, RankRule, extract

    W, D = _pair(tmp_path)
    ck = Checkpoint(tmp_path / "base.safetensors")
    assert ck.dtype("fc.weight") == "F32" and ck.dtype("fc.bias") == "F16"
    np.testing.assert_array_equal(ck.read("fc.weight"), W)
    ex = extract(tmp_path / "base.safetensors", tmp_path / "tuned.safetensors", RankRule(rank=2))
    ex.adapter.save(tmp_path / "adapter")
    module = Adapter.load(tmp_path / "adapter").modules["fc"]
    assert module.A.dtype == np.float32
    np.testing.assert_allclose(module.B @ module.A * module.scale(False), D, atol=1e-4)


def test_resize_merge_and_analyse_of_float32_need_no_ml_dtypes(no_ml_dtypes, tmp_path):
    from svdkit.lora import RankRule, analyse_pair, extract, merge, resize

    W, D = _pair(tmp_path)
    base, tuned = tmp_path / "base.safetensors", tmp_path / "tuned.safetensors"
    adapter = extract(base, tuned, RankRule(rank=2)).adapter
    small, _ = resize(adapter, RankRule(rank=1))
    assert small.modules["fc"].A.dtype == np.float32 and small.modules["fc"].A.shape[0] == 1
    merge(base, adapter, tmp_path / "merged")
    from svdkit.lora import Checkpoint

    merged = Checkpoint(next((tmp_path / "merged").glob("*.safetensors"))).read("fc.weight")
    np.testing.assert_allclose(merged, W + D, atol=1e-4)
    assert analyse_pair(base, tuned).modules[0].name == "fc"


def test_bf16_without_ml_dtypes_names_the_extra(tmp_path, monkeypatch):
    import ml_dtypes

    from svdkit.lora import Checkpoint, RankRule, extract, save_safetensors

    _pair(tmp_path)
    bf = np.arange(6, dtype=np.float32).reshape(2, 3).astype(ml_dtypes.bfloat16)
    save_safetensors(tmp_path / "m.safetensors", {"w": bf, "b": np.ones(3, np.float32)})
    _hide(monkeypatch, "ml_dtypes")
    with pytest.raises(MissingDependencyError, match=f"ml_dtypes for BF16 tensors: {LORA_EXTRA}"):
        extract(tmp_path / "base.safetensors", tmp_path / "tuned.safetensors",
                RankRule(rank=2), dtype="bf16")
    ck = Checkpoint(tmp_path / "m.safetensors")  # the header is read without ml_dtypes
    assert ck.dtype("w") == "BF16"
    np.testing.assert_array_equal(ck.read("b"), np.ones(3, np.float32))
    with pytest.raises(MissingDependencyError, match=LORA_EXTRA):
        ck.read("w")


def test_torch_backend_without_torch_names_the_extra(monkeypatch):
    import importlib.util

    from svdkit.lora.torch_backend import resolve_backend as _backend

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'svdkit\[torch\]'"):
        _backend("torch")


def test_torch_backend_without_a_gpu_says_so():
    from svdkit.lora.torch_backend import cuda_available
    from svdkit.lora.torch_backend import resolve_backend as _backend

    if cuda_available():  # a machine with a GPU: the torch backend is there
        assert _backend("torch") is not None
        return
    with pytest.raises(SvdkitError, match="CUDA GPU") as err:
        _backend("torch")
    assert not isinstance(err.value, MissingDependencyError)
