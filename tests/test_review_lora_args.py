"""Review of ``svdkit.lora``'s Python arguments: bad values get an svdkit error naming them.

Found by fuzzing every argument with None, -1, 2.5, NaN, True, 'abc', [], 1e308…:

* ``dtype=`` took integer dtypes (and ``np.int64(-1)``, read as a dtype) and wrote
  factors of zeros; non-dtypes raised NumPy's raw ``TypeError``;
* a huge finite ``alpha`` (1e308) gave factors that underflowed to zeros;
* ``analyse_*``'s ``energy`` / ``max_rank`` were not checked; ``RankRule`` took a bool
  as ``energy`` / ``error`` and raised raw errors for strings and lists; ``lora_scale``
  and ``LoraModule`` took any ``alpha`` / ``r``;
* paths, targets, rules, adapters and metadata of the wrong type raised raw
  ``TypeError`` / ``AttributeError`` from deep inside (or, for a string of targets,
  were read letter by letter).
"""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lora import (
    Adapter,
    Checkpoint,
    LoraModule,
    RankRule,
    analyse_adapter,
    analyse_pair,
    extract,
    lora_scale,
    merge,
    pissa,
    resize,
    save_safetensors,
)

RULE = RankRule(rank=2)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A 40×24 float32 layer and its rank-2 update, as two single-file checkpoints."""
    d = tmp_path_factory.mktemp("args")
    rng = np.random.default_rng(0)
    W = rng.standard_normal((40, 24)).astype(np.float32)
    D = (0.1 * rng.standard_normal((40, 2)) @ rng.standard_normal((2, 24))).astype(np.float32)
    save_safetensors(d / "base.safetensors", {"layer.q_proj.weight": W})
    save_safetensors(d / "tuned.safetensors", {"layer.q_proj.weight": W + D})
    return d / "base.safetensors", d / "tuned.safetensors"


@pytest.fixture(scope="module")
def adapter(pair):
    return extract(*pair, RULE).adapter


def _refused(match, call, *args, cls=SvdkitError, **kwargs):
    with pytest.raises(cls, match=match):
        call(*args, **kwargs)


# ---------------------------------------------------------------------- dtype


@pytest.mark.parametrize("dtype", ["int32", np.int64, np.int64(-1), "int8", np.dtype(np.uint8)])
def test_integer_dtypes_are_refused_not_written_as_zeros(pair, tmp_path, adapter, dtype):
    _refused("dtype must be a floating-point dtype", extract, *pair, RULE, dtype=dtype)
    _refused(
        "dtype must be a floating-point dtype",
        pissa,
        pair[0],
        tmp_path / "a",
        tmp_path / "r",
        RULE,
        dtype=dtype,
    )
    assert not (tmp_path / "a").exists() and not (tmp_path / "r").exists()
    _refused("dtype must be a floating-point dtype", adapter.save, tmp_path / "s", dtype=dtype)
    _refused(
        "dtype must be a floating-point dtype", adapter.modules["layer.q_proj"].delta, dtype=dtype
    )


@pytest.mark.parametrize("dtype", [-1, 2.5, float("nan"), "abc", True, object()])
def test_non_dtypes_are_svdkit_errors_naming_dtype(pair, tmp_path, adapter, dtype):
    _refused("^dtype must be", extract, *pair, RULE, dtype=dtype)
    _refused("^dtype must be", adapter.save, tmp_path / "s", dtype=dtype)
    _refused("^dtype must be", adapter.modules["layer.q_proj"].delta, dtype=dtype)
    _refused("^dtype must be", Checkpoint(pair[0]).read, "layer.q_proj.weight", dtype)


def test_floating_dtypes_by_type_or_name_still_work(pair, tmp_path, adapter):
    import ml_dtypes

    for dtype, code in (("bfloat16", "BF16"), (np.float16, "F16"), ("float64", "F64")):
        ex = extract(*pair, RULE, dtype=dtype)
        assert ex.adapter.modules["layer.q_proj"].A.dtype == np.dtype(
            ml_dtypes.bfloat16 if code == "BF16" else dtype
        )
        out = ex.adapter.save(tmp_path / code, dtype=dtype)
        assert Checkpoint(out).dtype("base_model.model.layer.q_proj.lora_A.weight") == code


def test_checkpoint_read_refuses_truncating_a_float_tensor(pair):
    ck = Checkpoint(pair[0])
    _refused("would truncate", ck.read, "layer.q_proj.weight", np.int32)
    assert ck.read("layer.q_proj.weight", "float64").dtype == np.float64


# ---------------------------------------------------------------------- alpha


def test_a_huge_alpha_that_underflows_the_factors_is_refused(pair, adapter):
    _refused("alpha is too large", extract, *pair, RULE, alpha=1e308)
    _refused("lora_A underflows float32", resize, adapter, RankRule(rank=1), alpha=1e308)
    # a large alpha the factors still hold is fine
    small, _ = resize(adapter, RankRule(rank=1), alpha=1e20)
    assert np.all(np.isfinite(small.modules["layer.q_proj"].A))
    assert np.any(small.modules["layer.q_proj"].A != 0)


def test_saving_to_a_dtype_the_factors_underflow_is_refused(tmp_path):
    A, B = np.full((1, 3), 1e-30), np.full((4, 1), 1e-30)
    ad = Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=1.0)})
    _refused("lora_A underflows float16", ad.save, tmp_path / "ad", dtype=np.float16)
    assert not (tmp_path / "ad").exists()
    ad.save(tmp_path / "ad")  # as they are (float64), nothing is lost
    # PEFT's initial lora_B of zeros is no underflow
    zero = Adapter(
        {"fc": LoraModule("fc", "linear", A=np.ones((1, 3)), B=np.zeros((4, 1)), alpha=1.0)}
    )
    zero.save(tmp_path / "zero", dtype=np.float16)


# ------------------------------------------------------------ energy, max_rank, RankRule


@pytest.mark.parametrize("energy", [-1, 0, 2.5, float("nan"), "abc", None, True, [0.5]])
def test_analyse_energy_is_checked_like_rank_rule(pair, adapter, energy):
    _refused("^energy must be a number in \\(0, 1\\]", analyse_adapter, adapter, energy=energy)
    _refused("^energy must be a number in \\(0, 1\\]", analyse_pair, *pair, energy=energy)
    if energy is not None:  # (None is "not given" for RankRule)
        _refused("^energy must be a number in \\(0, 1\\]", RankRule, energy=energy)


@pytest.mark.parametrize("max_rank", [float("nan"), float("inf"), "abc", 0, -1, 2.5, True])
def test_analyse_max_rank_is_a_positive_integer(pair, max_rank):
    _refused("^max_rank must be an integer ≥ 1", analyse_pair, *pair, max_rank=max_rank)


def test_analyse_still_takes_good_values(pair, adapter):
    assert analyse_pair(*pair, energy=np.float64(0.9), max_rank=np.int64(3)).energy == 0.9
    assert analyse_adapter(adapter, energy=1).rows()[0]["recommended_rank"] == 2


@pytest.mark.parametrize("error", [True, False, [], "abc", float("nan"), 1.0, -0.1])
def test_rank_rule_error_is_a_number_in_0_1(error):
    _refused("^error must be a number in \\[0, 1\\)", RankRule, error=error)


def test_rank_rule_error_zero_and_energy_one_still_work():
    assert RankRule(error=0).tail == 0.0 and RankRule(energy=1).fraction == 1.0


@pytest.mark.parametrize(
    ("alpha", "r", "match"),
    [
        (float("nan"), 4, "^alpha must be a finite number"),
        (None, 4, "^alpha must be a finite number"),
        ("abc", 4, "^alpha must be a finite number"),
        (True, 4, "^alpha must be a finite number"),
        (8, 2.5, "^r must be an integer ≥ 0"),
        (8, 1j, "^r must be an integer ≥ 0"),
        (8, -1, "^r must be an integer ≥ 0"),
        (8, None, "^r must be an integer ≥ 0"),
        (8, "abc", "^r must be an integer ≥ 0"),
    ],
)
def test_lora_scale_checks_its_arguments(alpha, r, match):
    _refused(match, lora_scale, alpha, r)


def test_lora_module_checks_alpha_and_factors_when_made():
    A, B = np.ones((2, 3)), np.ones((4, 2))
    _refused("alpha must be a finite number; got 'abc'", LoraModule, "fc", "linear", A, B, "abc")
    _refused("alpha must be a finite number", LoraModule, "fc", "linear", A, B, float("inf"))
    _refused("A must be a NumPy array", LoraModule, "fc", "linear", None, B, 1.0)
    _refused("name must be a str", LoraModule, 5, "linear", A, B, 1.0)
    assert LoraModule("fc", "linear", A, B, np.int64(4)).scale() == 2.0


# ------------------------------------------------------------------------- paths


@pytest.mark.parametrize("bad", [None, 5, 2.5, b"x", [], ""])
def test_non_paths_are_named(pair, tmp_path, adapter, bad):
    base, tuned = pair

    def refused(match, call, *args):
        if bad == "":  # svdkit.inputs.files.check_path, as for svdkit.load(""): one class
            match = f"{match.split()[0]} is an empty path; name a file or folder"
            return _refused(match, call, *args, cls=FileFormatError)
        return _refused(match, call, *args)

    refused("^path must be a path", Checkpoint, bad)
    refused("^base must be a path", extract, bad, tuned, RULE)
    refused("^tuned must be a path", extract, base, bad, RULE)
    refused("^output must be a path", merge, base, adapter, bad)
    refused("^adapter must be", merge, base, bad, tmp_path / "m")
    refused("^adapter must be", analyse_adapter, bad)
    refused("^base must be a path", analyse_pair, bad, tuned)
    refused("^path must be a path", save_safetensors, bad, {"a": np.ones(2)})
    refused("^directory must be a path", adapter.save, bad)
    refused("^directory must be a path", Adapter.load, bad)
    refused("^base must be a path", pissa, bad, tmp_path / "a", tmp_path / "r", RULE)
    refused("^adapter_dir must be a path", pissa, base, bad, tmp_path / "r", RULE)
    refused("^residual_out must be a path", pissa, base, tmp_path / "a", bad, RULE)
    refused("^path must be a path", analyse_adapter(adapter).figure, bad)


def test_a_figure_path_needs_a_figure_extension(tmp_path, adapter):
    an = analyse_adapter(adapter)
    _refused("no extension", an.figure, tmp_path / "fig", cls=FileFormatError)
    _refused(".xyz is not a figure format", an.figure, tmp_path / "fig.xyz", cls=FileFormatError)
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- targets, iterables


@pytest.mark.parametrize("targets", [0, 2.5, b"q_proj", {"q_proj": 1}, [0], ["q_proj", None]])
def test_targets_of_the_wrong_type_are_named(pair, tmp_path, targets):
    _refused("^targets must", extract, *pair, RULE, targets=targets)
    _refused("^targets must", analyse_pair, *pair, targets=targets)
    _refused("^targets must", pissa, pair[0], tmp_path / "a", tmp_path / "r", RULE, targets=targets)


def test_a_single_target_string_is_one_target_not_its_letters(pair, tmp_path):
    ex = extract(*pair, RULE, targets="q_proj")
    assert list(ex.adapter.modules) == ["layer.q_proj"]
    assert [m.name for m in analyse_pair(*pair, targets="q_proj").modules] == ["layer.q_proj"]
    ad, _ = pissa(pair[0], tmp_path / "a", tmp_path / "r", RULE, targets=r"layer\..*")
    assert list(ad.modules) == ["layer.q_proj"]


@pytest.mark.parametrize("tensors", [None, 5, "ab", [("a",)], [(1, np.ones(2))]])
def test_save_safetensors_tensors_must_be_a_mapping_or_pairs(tmp_path, tensors):
    _refused("^tensors must be a mapping", save_safetensors, tmp_path / "x.safetensors", tensors)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("metadata", ["abc", 0, "", [], 5])
def test_save_safetensors_metadata_must_be_a_mapping(tmp_path, metadata):
    _refused(
        "^metadata must be a mapping",
        save_safetensors,
        tmp_path / "x.safetensors",
        {"a": np.ones(2)},
        metadata,
    )


def test_checkpoint_tensor_names_must_be_strings(pair):
    ck = Checkpoint(pair[0])
    _refused("tensor name must be a str; got list", ck.tensor, [])
    _refused("tensor name must be a str; got NoneType", ck.shape, None)
    assert [] not in ck and "layer.q_proj.weight" in ck


# --------------------------------------------------------------- objects of wrong type


def test_rules_and_adapters_of_the_wrong_type_are_named(pair, tmp_path, adapter):
    _refused("^rule must be a RankRule", extract, *pair, None)
    _refused("^rule must be a RankRule", resize, adapter, None)
    _refused("^rule must be a RankRule", pissa, pair[0], tmp_path / "a", tmp_path / "r", "2")
    _refused("^adapter must be an Adapter", resize, None, RankRule(rank=1))
    # an integer rule is a fixed rank, as in factor_delta
    assert extract(*pair, 1).adapter.modules["layer.q_proj"].r == 1


@pytest.mark.parametrize("name", [-1, float("nan"), object(), 5, b"x"])
def test_base_model_name_or_path_is_a_string(pair, name):
    _refused(
        "^base_model_name_or_path must be a string or None",
        extract,
        *pair,
        RULE,
        base_model_name_or_path=name,
    )


def test_base_model_name_or_path_string_is_written(pair):
    ex = extract(*pair, RULE, base_model_name_or_path="org/model")
    assert ex.adapter.peft_config()["base_model_name_or_path"] == "org/model"
