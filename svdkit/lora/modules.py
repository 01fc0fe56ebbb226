"""Which tensors of a (base, tuned) pair become LoRA modules, which are kept whole, which differ.

Every tensor of the tuned checkpoint lands in exactly one bucket of a :class:`Pairing`:

``linear``
    2-D ``<module>.weight`` matrices that changed and match ``targets``: a LoRA
    pair ``lora_A``/``lora_B`` each.
``embeddings``
    2-D weights of embedding modules (the module's last name contains ``embed``,
    or is ``wte``/``wpe``/``shared``, but is not an output or a projection:
    GPT-NeoX's ``embed_out`` is its ``nn.Linear`` head) that changed and match
    ``targets``: ``lora_embedding_A/B``; with ``embeddings="save"`` they are in
    ``extras`` instead, and extraction keeps them whole (``modules_to_save``).
``extras``
    everything else that changed — norms, biases, convolution kernels, modules
    outside ``targets``: kept whole (saved) or listed, never silently dropped.
``unchanged``
    equal in both checkpoints.

A tensor in only one checkpoint is a :class:`~svdkit.MissingTensorError`; a shape
that differs (a resized vocabulary) is a :class:`~svdkit.ShapeError` unless
``on_mismatch="skip"``, which lists it in ``mismatched``.

Examples
--------
>>> module_of("encoder.layer.0.attention.self.query.weight")
('encoder.layer.0.attention.self.query', 'weight')
>>> is_embedding("embeddings.word_embeddings"), is_embedding("model.embed_tokens")
(True, True)
>>> is_embedding("encoder.layer.0.output.dense"), is_embedding("gpt_neox.embed_in")
(False, True)
>>> is_embedding("embed_out")  # GPT-NeoX / Pythia's output head: a Linear
False
>>> is_embedding("encoder.block.0.layer.0.SelfAttention.relative_attention_bias")  # T5
True
>>> matches_targets("encoder.layer.0.attention.self.query", ["query", "value"])
True
>>> matches_targets("encoder.layer.0.attention.self.key", ["query", r".*\\.value"])
False
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from svdkit._naming import arg, got, kw
from svdkit._naming import flag as option_of
from svdkit._words import counted
from svdkit.errors import FileFormatError, MissingTensorError, ShapeError, SvdkitError
from svdkit.lora.safetensors_io import FLOAT_CODES, Checkpoint

__all__ = [
    "Pairing",
    "check_fan_in_fan_out",
    "chosen_conv1d",
    "conv1d_modules",
    "embedding_weight",
    "guessed_by_abbreviation",
    "is_embedding",
    "matches_targets",
    "model_config",
    "model_type",
    "module_of",
    "pair_checkpoints",
    "stores_in_out",
    "ties_word_embeddings",
    "weight_layouts",
]

_EMBED_NAMES = {"wte", "wpe", "shared"}
#: ``nn.Embedding`` tables whose name says nothing of it: T5's, LongT5's, UMT5's,
#: Pop2Piano's and MPNet's relative position buckets.
_EMBED_FULL_NAMES = {"relative_attention_bias"}
#: Names with ``embed`` in them that are linear layers: outputs and projections
#: (GPT-NeoX's ``embed_out`` head, ``embed_proj``-style maps between widths).
_NOT_EMBEDDING_SUFFIXES = ("_out", "out", "_proj", "_projection", "_head", "embedder")
#: Last names of embedding tables without ``embed`` in them (minGPT / nanoGPT-style
#: ``tok_emb`` / ``pos_emb``, RWKV's ``emb``).
_EMB_NAMES = {"emb"}
_EMB_SUFFIXES = ("_emb",)


def module_of(tensor_name: str) -> tuple[str, str]:
    """``"a.b.weight"`` → ``("a.b", "weight")``."""
    module, _, param = tensor_name.rpartition(".")
    return module, param


def guessed_by_abbreviation(module: str) -> bool:
    """Whether :func:`is_embedding` takes ``module`` for a table by the weak rule only:
    its last name is ``emb`` or ends with ``_emb`` (``tok_emb``), no ``embed`` in it."""
    last = module.rpartition(".")[2].lower()
    return "embed" not in last and (last in _EMB_NAMES or last.endswith(_EMB_SUFFIXES))


def is_embedding(
    module: str,
    embedding_modules: Sequence[str] | None = None,
    linear_modules: Sequence[str] | None = None,
) -> bool:
    """Whether ``module`` is an embedding table (``nn.Embedding``).

    PEFT decides by the module's class, which a checkpoint does not record, so
    this is a guess from the name: its last part is ``wte``/``wpe``/``shared``,
    ``emb`` or ends with ``_emb`` (``tok_emb``), or contains ``embed`` without
    ending as an output or a projection does (``embed_out``, ``embed_proj``,
    ``x_embedder``: ``nn.Linear`` layers). ``embedding_modules`` /
    ``linear_modules`` (names, suffixes or regexes, PEFT's ``target_modules``
    rule) override the guess: a module matching one of them is, or is not, an
    embedding, whatever its name says.

    >>> is_embedding("tok_emb"), is_embedding("x_embedder")
    (True, False)
    >>> is_embedding("tok_emb", linear_modules=["tok_emb"]), is_embedding("lut", ["lut"])
    (False, True)
    """
    if embedding_modules is not None and matches_targets(module, embedding_modules):
        return True
    if linear_modules is not None and matches_targets(module, linear_modules):
        return False
    last = module.rpartition(".")[2].lower()
    if last in _EMBED_NAMES or last in _EMBED_FULL_NAMES or last in _EMB_NAMES:
        return True
    if last.endswith(_EMB_SUFFIXES):
        return True
    return "embed" in last and not last.endswith(_NOT_EMBEDDING_SUFFIXES)


#: ``model_type`` (``config.json``) of the transformers models whose linear layers
#: are GPT-2's ``Conv1D``, weights stored ``[in, out]`` (transformers 4.x).
CONV1D_MODEL_TYPES = frozenset({"gpt2", "openai-gpt", "imagegpt", "decision_transformer", "clvp"})
#: The names those models give their ``Conv1D`` layers.
CONV1D_NAMES = frozenset({"c_attn", "c_proj", "c_fc", "q_attn"})


def model_config(checkpoint: Checkpoint) -> dict[str, Any]:
    """The ``config.json`` beside a checkpoint, or ``{}`` when there is no readable one.

    Raises
    ------
    FileFormatError
        Its lists or objects are nested too deeply for Python's JSON parser.
    """
    path = checkpoint.root / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    except RecursionError:
        raise FileFormatError(
            f"'{path}': its lists or objects are nested too deeply to be read as a model's "
            "config.json"
        ) from None
    return config if isinstance(config, dict) else {}


def model_type(checkpoint: Checkpoint) -> str | None:
    """``model_type`` of the ``config.json`` beside a checkpoint, if there is a readable one."""
    value = model_config(checkpoint).get("model_type")
    return value if isinstance(value, str) else None


#: Endings of transformers' class names for models with an output head over the
#: vocabulary (``architectures`` in ``config.json``), tied to the input embedding
#: unless the config says otherwise.
HEAD_ARCHITECTURES = (
    "LMHeadModel", "ForCausalLM", "ForMaskedLM", "ForConditionalGeneration", "ForPreTraining",
)

#: The head and the embedding names PEFT ties adapters between (its
#: ``EMBEDDING_LAYER_NAMES``, with ``ensure_weight_tying``).
TIED_HEAD, PEFT_TIED_EMBEDDING = "lm_head", "embed_tokens"


def ties_word_embeddings(checkpoint: Checkpoint) -> bool:
    """Whether the model's output head is its input embedding (``tie_word_embeddings``).

    As its ``config.json`` says; a config that leaves the key out (transformers
    writes only non-default values, and ties by default: GPT-2's own config has
    no such key) ties when it names a model with a head (:data:`HEAD_ARCHITECTURES`)
    whose checkpoint stores no ``lm_head.weight`` of its own.
    """
    config = model_config(checkpoint)
    value = config.get("tie_word_embeddings")
    if isinstance(value, bool):
        return value
    names = config.get("architectures")
    heads = isinstance(names, list) and any(
        isinstance(a, str) and a.endswith(HEAD_ARCHITECTURES) for a in names
    )
    return heads and not any(n.rpartition(".")[0].endswith(TIED_HEAD) for n in checkpoint.names)


def stores_in_out(*checkpoints: Checkpoint) -> bool:
    """Whether a checkpoint's ``config.json`` names a model of ``Conv1D`` layers (GPT-2…)."""
    return any(model_type(ck) in CONV1D_MODEL_TYPES for ck in checkpoints)


def conv1d_modules(modules: Iterable[str]) -> set[str]:
    """Which of a ``Conv1D`` model's (or a ``fan_in_fan_out`` adapter's) modules are ``Conv1D``.

    The modules with the names transformers gives its ``Conv1D`` layers
    (:data:`CONV1D_NAMES`: GPT-2, OpenAI GPT, ImageGPT, Decision Transformer, CLVP),
    and only those: PEFT decides by the layer's class, which checkpoints do not
    record, and the heads of those models (``lm_head``, ``score``, ``qa_outputs``,
    ``classifier``) are ``nn.Linear``, stored ``[out, in]``.

    Examples
    --------
    >>> sorted(conv1d_modules(["h.0.attn.c_attn", "h.0.mlp.c_fc", "lm_head"]))
    ['h.0.attn.c_attn', 'h.0.mlp.c_fc']
    >>> sorted(conv1d_modules(["score", "lm_head"]))
    []
    """
    return {m for m in modules if m.rpartition(".")[2] in CONV1D_NAMES}


def check_fan_in_fan_out(value: Any) -> bool | list[str] | None:
    """``fan_in_fan_out`` as given to merge, extract and PiSSA, checked.

    ``None`` (decide: :func:`chosen_conv1d`, :func:`weight_layouts`), ``True``
    (every 2-D LoRA module is a ``Conv1D``, weights stored ``[in, out]``), ``False``
    (none is), or the ``Conv1D`` modules as names, suffixes or regexes (PEFT's
    ``target_modules`` rule; a single string is one), the others ``nn.Linear``.

    Raises
    ------
    SvdkitError
        Another value, or a name that is not a valid regular expression (``"(["``):
        module names never are, so it could match nothing.
    """
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else bool(value)
    if isinstance(value, str):
        value = [value]
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, str) and v for v in value
    ):
        for v in value:
            try:
                re.compile(v)
            except re.error as err:
                raise SvdkitError(
                    f"{_layout_arg([])}: {v!r} is neither a module name nor a valid regular "
                    f"expression ({err}); give the Conv1D modules' names, suffixes or regexes"
                ) from None
        return list(value)
    raise SvdkitError(
        "fan_in_fan_out must be True, False, None or the names of the Conv1D modules "
        f"(a str or a list of str); got {value!r}"
    )


def _layout_arg(explicit: bool | list[str]) -> str:
    """The argument that gave the layout ``explicit``: ``fan_in_fan_out`` in Python; on
    the command line ``--conv1d`` (a list), ``--[no-]fan-in-fan-out`` (a bool)."""
    if isinstance(explicit, list) and option_of("conv1d"):
        return arg("conv1d")
    if option_of("fan_in_fan_out"):
        return "--fan-in-fan-out" if explicit is True else "--no-fan-in-fan-out"
    return "fan_in_fan_out"


def _say_conv1d() -> str:
    """How to say which modules are Conv1D ones, as the caller spells it."""
    if option_of("fan_in_fan_out"):
        return ("--fan-in-fan-out (all are Conv1D), --no-fan-in-fan-out (none is) or "
                "--conv1d NAME (those named are)")
    return ("fan_in_fan_out=True (all are Conv1D), False (none is) or the Conv1D modules' "
            "names")


def chosen_conv1d(
    modules: Iterable[str], fan_in_fan_out: bool | Sequence[str] | None, in_out_model: bool
) -> set[str]:
    """Which of ``modules`` (2-D weights, not embeddings) are ``Conv1D`` ones.

    An explicit ``fan_in_fan_out`` (:func:`check_fan_in_fan_out`) says it: ``True``
    all, ``False`` none, a list those matching it. ``None``: the modules named like
    GPT-2's (:func:`conv1d_modules`) when the model is one of ``Conv1D`` layers
    (``in_out_model``, :func:`stores_in_out`), else none.

    >>> sorted(chosen_conv1d(["h.0.c_attn", "proj", "lm_head"], None, True))
    ['h.0.c_attn']
    >>> sorted(chosen_conv1d(["h.0.c_attn", "proj", "lm_head"], True, False))
    ['h.0.c_attn', 'lm_head', 'proj']
    >>> sorted(chosen_conv1d(["h.0.c_attn", "proj", "lm_head"], ["proj"], True))
    ['proj']
    """
    modules = list(modules)
    fan_in_fan_out = check_fan_in_fan_out(fan_in_fan_out)
    if fan_in_fan_out is None:
        return conv1d_modules(modules) if in_out_model else set()
    if isinstance(fan_in_fan_out, bool):
        return set(modules) if fan_in_fan_out else set()
    return {m for m in modules if matches_targets(m, fan_in_fan_out)}


def weight_layouts(
    products: dict[str, tuple[int, int]],
    bases: dict[str, tuple[int, ...]],
    *,
    flag: bool,
    model: str | None,
    fan_in_fan_out: bool | Sequence[str] | None = None,
    base_modules: Sequence[str] = (),
) -> set[str]:
    """Which 2-D LoRA modules of an adapter are ``Conv1D`` in the base (``W`` ``[in, out]``).

    PEFT decides by the layer's class, and an adapter's ``fan_in_fan_out`` is only the
    last value PEFT set while wrapping layers (``False`` for ``nn.Linear``, ``True``
    for ``Conv1D``): a GPT-2 adapter on ``c_proj`` and the ``nn.Linear`` head says
    ``false``. So, module by module:

    1. an explicit ``fan_in_fan_out`` (:func:`check_fan_in_fan_out`) decides, and a
       base weight of the other layout is a :class:`~svdkit.errors.ShapeError`;
    2. a non-square base weight: whichever of ``B A`` ``[out, in]`` (``nn.Linear``)
       and ``(B A)ᵀ`` it has the shape of;
    3. a square one, in a model of ``Conv1D`` layers (``model`` in
       :data:`CONV1D_MODEL_TYPES`, from its ``config.json``): GPT-2's names
       (:data:`CONV1D_NAMES`) are ``Conv1D``, the others (heads) ``nn.Linear``;
    4. a square one otherwise: ``nn.Linear`` when the adapter's flag is false and
       nothing says a ``Conv1D`` is there (no non-square module is one, no
       GPT-2 name without a ``config.json`` to tell); ``Conv1D`` for a GPT-2 name when
       the flag is true. Anything else is ambiguous and refused, naming the modules
       and the option that settles it.

    Parameters
    ----------
    products : dict
        Module → ``(out, in)``, the shape of its ``B A``.
    bases : dict
        Module → the shape of its base weight (modules missing from the base left out).
    flag : bool
        The adapter's ``fan_in_fan_out``.
    model : str or None
        The base's ``model_type`` (``config.json``), None without one.
    fan_in_fan_out : bool or list of str, optional
        The user's explicit answer. A name that matches none of the adapter's 2-D
        modules nor of ``base_modules`` is refused (a typo).
    base_modules : sequence of str
        The base's modules with a 2-D weight: a name of the model family's ``Conv1D``
        layers (``c_proj``) that this adapter does not target is no typo.

    Examples
    --------
    >>> sorted(weight_layouts({"c_attn": (48, 16), "score": (5, 16)},
    ...                       {"c_attn": (16, 48), "score": (5, 16)}, flag=False, model=None))
    ['c_attn']
    >>> sorted(weight_layouts({"h.c_proj": (16, 16)}, {"h.c_proj": (16, 16)}, flag=False,
    ...                       model="gpt2"))
    ['h.c_proj']
    """
    explicit = check_fan_in_fan_out(fan_in_fan_out)
    if isinstance(explicit, list):
        _refuse_unmatched(explicit, sorted(products), base_modules)
    out: set[str] = set()
    square: list[str] = []
    seen_conv1d = False
    for name, (rows, cols) in sorted(products.items()):
        shape = bases.get(name)
        if shape is None:
            continue  # (the merge's own check names the missing weight)
        shape = tuple(shape)
        if explicit is not None:
            if chosen_conv1d([name], explicit, False):
                out.add(name)
                if shape != (cols, rows):
                    said = _layout_arg(explicit)
                    raise ShapeError(
                        f"module {name!r}: {said} says it is a Conv1D (weight [in, out] "
                        f"= {[cols, rows]}), but the base weight is {list(shape)}"
                        + (f": leave it out of {said}" if isinstance(explicit, list) else ""),
                        param="fan_in_fan_out",
                    )
            elif shape != (rows, cols):
                said = _layout_arg(explicit)
                raise ShapeError(
                    f"module {name!r}: {said} says it is an nn.Linear (weight [out, in] "
                    f"= {[rows, cols]}), but the base weight is {list(shape)}"
                    + (f": it is a Conv1D; name it in {_layout_arg([])}"
                       if shape == (cols, rows) else ""),
                    param="fan_in_fan_out",
                )
            continue
        if rows != cols:
            if shape == (cols, rows):
                out.add(name)
                seen_conv1d = True
            continue  # [out, in], or neither: the merge's shape check says which
        square.append(name)
    if explicit is not None or not square:
        return out
    ambiguous = []
    for name in square:
        gpt2_name = name.rpartition(".")[2] in CONV1D_NAMES
        if model in CONV1D_MODEL_TYPES:
            if gpt2_name:
                out.add(name)
        elif flag and gpt2_name:
            out.add(name)
        elif not flag and not seen_conv1d and not (gpt2_name and model is None):
            continue
        else:
            ambiguous.append(name)
    if ambiguous:
        if flag:
            why = ""
        elif seen_conv1d:
            why = ", and another module of it is a Conv1D by its shape"
        else:
            why = (", but GPT-2 names its Conv1D layers so and the base has no config.json "
                   "naming its model")
        raise ShapeError(
            f"cannot tell whether the square module(s) {', '.join(map(repr, ambiguous[:4]))}"
            f"{' …' if len(ambiguous) > 4 else ''} are nn.Linear (weight [out, in] = B A) or "
            "transformers' Conv1D (weight [in, out] = (B A)ᵀ): the adapter says "
            f"'fan_in_fan_out': {str(flag).lower()}, which PEFT sets from the last layer it "
            f"wrapped only{why}; say which: {_say_conv1d()}"
        )
    return out


def _refuse_unmatched(
    patterns: list[str], modules: list[str], base_modules: Sequence[str] = ()
) -> None:
    """Refuse a ``Conv1D`` name, suffix or regex that matches none of the adapter's 2-D
    ``modules`` and none of the base's (``base_modules``): a typo (``c_projj``) would
    leave the module it meant merged as an ``nn.Linear``, since an explicit list
    overrides the layouts the shapes tell. A module of the base the adapter does not
    target (a model family's full list, ``c_attn c_proj c_fc``) is no typo."""
    own = set(modules)
    every = list(modules) + [m for m in base_modules if m not in own]
    unmatched = [p for p in patterns if not any(matches_targets(m, [p]) for m in every)]
    if not unmatched:
        return
    some = ", ".join(map(repr, modules[:6])) + (" …" if len(modules) > 6 else "")
    verb = "matches" if len(unmatched) == 1 else "match"
    raise SvdkitError(
        f"{_layout_arg([])}: {', '.join(map(repr, unmatched))} {verb} none of the base's "
        f"2-D modules nor of the adapter's 2-D LoRA modules ({some or 'none'}): give "
        "their names, suffixes or regexes"
    )


def matches_targets(module: str, targets: Sequence[str] | None) -> bool:
    """PEFT's rule: a target equals the module name, is a suffix after a dot, or a full regex."""
    if targets is None:
        return True
    for t in targets:
        if module == t or module.endswith("." + t):
            return True
        try:
            if re.fullmatch(t, module):
                return True
        except re.error:
            continue
    return False


@dataclass
class Pairing:
    """The buckets of a (base, tuned) pair; module names for LoRA, tensor names otherwise."""

    linear: list[str] = field(default_factory=list)
    embeddings: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    #: Tensors of one checkpoint only (a task head the fine-tune added), left out
    #: with ``on_mismatch="skip"``.
    only_tuned: list[str] = field(default_factory=list)
    only_base: list[str] = field(default_factory=list)


def _equal(base: Checkpoint, tuned: Checkpoint, name: str) -> bool:
    if base.dtype(name) != tuned.dtype(name):
        # floats widened exactly, integers kept: compared as values
        return bool(np.array_equal(base.read(name), tuned.read(name)))
    a, b = base.tensor(name), tuned.tensor(name)
    # compare the bytes: exact, NaN-safe, and cheap on memory maps
    return bool(np.array_equal(a.view(np.uint8), b.view(np.uint8)))


def pair_checkpoints(
    base: Checkpoint,
    tuned: Checkpoint,
    *,
    targets: Sequence[str] | None = None,
    embeddings: str = "lora",
    on_mismatch: str = "error",
    embedding_modules: Sequence[str] | None = None,
    linear_modules: Sequence[str] | None = None,
) -> Pairing:
    """Sort the tensors of ``tuned`` against ``base`` into the buckets of :class:`Pairing`.

    Parameters
    ----------
    base, tuned : Checkpoint
        The two checkpoints; they must hold the same tensor names.
    targets : str or list of str, optional
        Module names, suffixes or regular expressions (PEFT's ``target_modules``
        rule; a single string is one target); default: every changed 2-D weight.
    embeddings : {"lora", "save"}
        Embedding tables as ``lora_embedding_A/B`` (when they match ``targets``),
        or among ``extras`` (:func:`svdkit.lora.extract.extract` keeps them whole
        with ``"save"``, whatever its ``extras`` says).
    on_mismatch : {"error", "skip"}
        A tensor whose shape differs, or that only one checkpoint holds (a task head
        added by the fine-tune, ``score.weight``): raise, or leave it out and list it
        (``mismatched``, ``only_tuned``, ``only_base``).
    embedding_modules, linear_modules : list of str, optional
        Modules that are, or are not, embedding tables whatever their names say
        (:func:`is_embedding`).
    """
    from svdkit.lora._args import check_targets

    targets = check_targets(targets)
    embedding_modules = check_targets(embedding_modules, "embedding_modules")
    linear_modules = check_targets(linear_modules, "linear_modules")
    if embeddings not in ("lora", "save"):
        raise SvdkitError(
            f"{arg('embeddings')} must be 'lora' or 'save'; got {got(embeddings)}",
            param="embeddings",
        )
    if on_mismatch not in ("error", "skip"):
        raise SvdkitError(
            f"{arg('on_mismatch')} must be 'error' or 'skip'; got {got(on_mismatch)}",
            param="on_mismatch",
        )
    missing = [n for n in tuned.names if n not in base]
    extra = [n for n in base.names if n not in tuned]
    if (missing or extra) and on_mismatch == "error":
        parts = []
        for names, what in ((missing, "of the tuned model not in the base"),
                            (extra, "of the base not in the tuned model")):
            if names:
                more = f", … ({len(names) - 3} more)" if len(names) > 3 else ""
                parts.append(f"{counted(len(names), 'tensor')} {what}: "
                             f"{', '.join(map(repr, names[:3]))}{more}")
        raise MissingTensorError(
            "; ".join(parts) + f" (a task head the fine-tune added?): pass "
            f"{kw('on_mismatch', 'skip')} to leave them out and list them",
            param="on_mismatch",
        )
    out = Pairing(only_tuned=missing, only_base=extra)
    for name in tuned.names:
        if name not in base:
            continue
        if base.shape(name) != tuned.shape(name):
            if on_mismatch == "error":
                raise ShapeError(
                    f"tensor {name!r}: base shape {list(base.shape(name))} ≠ tuned shape "
                    f"{list(tuned.shape(name))} (a resized vocabulary?); pass "
                    f"{kw('on_mismatch', 'skip')} to leave it out and list it",
                    param="on_mismatch",
                )
            out.mismatched.append(name)
            continue
        if _equal(base, tuned, name):
            out.unchanged.append(name)
            continue
        module = module_of(name)[0]
        if embedding_weight(tuned, name, embedding_modules, linear_modules):
            if embeddings == "lora" and matches_targets(module, targets):
                out.embeddings.append(module)
            else:
                out.extras.append(name)
        elif _matrix(tuned, name) and matches_targets(module, targets):
            out.linear.append(module)
        else:
            out.extras.append(name)
    return out


def _matrix(checkpoint: Checkpoint, name: str) -> bool:
    """A 2-D floating-point ``….weight``: what LoRA can factor."""
    return (
        len(checkpoint.shape(name)) == 2
        and module_of(name)[1] == "weight"
        and checkpoint.dtype(name) in FLOAT_CODES
    )


def embedding_weight(
    checkpoint: Checkpoint,
    name: str,
    embedding_modules: Sequence[str] | None = None,
    linear_modules: Sequence[str] | None = None,
) -> bool:
    """Whether tensor ``name`` is the weight of an embedding table (:func:`is_embedding`,
    with its overrides): ``lora_embedding_A/B`` with ``embeddings="lora"``, kept whole
    with ``"save"``."""
    return _matrix(checkpoint, name) and is_embedding(
        module_of(name)[0], embedding_modules, linear_modules
    )
