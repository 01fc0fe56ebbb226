"""Merge an adapter into base weights, ``W + scale · B A``, streamed to safetensors.

:func:`write_like` writes a new checkpoint with the layout of an existing one
(same tensor names, dtypes, shapes and shards), tensor by tensor from a function
``name → array``: one tensor in memory at a time, every file written to a
temporary name and renamed, the directory built aside and renamed into place.
:func:`merge` uses it with ``W + scale · B A`` (added in float32 as PEFT does, or
float64 for float64 weights, and rounded once to the stored dtype; PiSSA's residual
``W − B A`` always in float64) for the LoRA modules and
the adapter's saved tensors (``modules_to_save``, biases) in place of the base ones.
PEFT's trainable tokens replace their rows of the embedding (and of an ``lm_head``
tied to it). An adapter whose module names differ from the base's by one leading
prefix (``bert.`` of ``BertForSequenceClassification`` against ``BertModel``) is
mapped onto it when exactly one such prefix, removed or added, finds every tensor.

Examples
--------
>>> import numpy as np, tempfile, shutil, pathlib
>>> from svdkit.lora.adapter import Adapter, LoraModule
>>> from svdkit.lora.safetensors_io import Checkpoint, save_safetensors
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> W = np.eye(3, dtype=np.float32)
>>> save_safetensors(d / "base.safetensors", {"fc.weight": W})
>>> ad = Adapter({"fc": LoraModule("fc", "linear", A=np.ones((1, 3)), B=np.ones((3, 1)), alpha=2)})
>>> out = merge(d / "base.safetensors", ad, d / "merged")
>>> Checkpoint(out).read("fc.weight").tolist()
[[3.0, 2.0, 2.0], [2.0, 3.0, 2.0], [2.0, 2.0, 3.0]]
>>> shutil.rmtree(d)  # (the example leaves nothing behind)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from svdkit._files import (
    check_directory_output,
    check_file_output,
    make_temp_dir,
    swap_in,
    write_error,
)
from svdkit._naming import arg
from svdkit.errors import FileFormatError, MissingTensorError, ShapeError, SvdkitError
from svdkit.lora._args import check_bool, check_path
from svdkit.lora.adapter import (
    Adapter,
    LoraModule,
    as_adapter,
    refuse_base_changing,
    token_module,
)
from svdkit.lora.extract import module_progress
from svdkit.lora.modules import (
    PEFT_TIED_EMBEDDING,
    TIED_HEAD,
    check_fan_in_fan_out,
    is_embedding,
    model_config,
    model_type,
    module_of,
    ties_word_embeddings,
    weight_layouts,
)
from svdkit.lora.safetensors_io import (
    FLOAT_CODES,
    MARK_KEY,
    PICKLE_SUFFIXES,
    Checkpoint,
    SafetensorsFile,
    SafetensorsWriter,
    as_checkpoint,
    numpy_dtype,
    round_to,
)

__all__ = [
    "CHECKPOINT_MARKS",
    "FILES_KEY",
    "StoredHeadTie",
    "build_like",
    "check_checkpoint_output",
    "check_not_input",
    "is_checkpoint_mark",
    "merge",
    "side_files",
    "write_like",
]

_log = logging.getLogger(__name__)

#: Rows replaced by trainable tokens: weight name → ``[(indices, rows), …]``.
TokenRows = dict[str, list[tuple[list[int], np.ndarray]]]

#: Small files copied from a base directory so the output loads as the model: its
#: config, tokenizer (``tokenizer.json``, ``vocab.txt``, ``spiece.model``, a
#: ``chat_template.jinja``, tiktoken files), model card and remote code.
_SIDE_FILES = (".json", ".txt", ".model", ".md", ".jinja", ".py", ".tiktoken")
#: Folders of a base directory copied whole: transformers' extra chat templates; the
#: folders of sentence-transformers' modules (``1_Pooling/``…) come from ``modules.json``.
_SIDE_FOLDERS = ("additional_chat_templates",)
#: ``__metadata__`` key of the files :func:`write_like` writes: a JSON list of every file
#: it wrote or copied (paths relative to the output directory). A re-run may replace
#: those and nothing else.
FILES_KEY = "svdkit_files"
#: The marks (:data:`~svdkit.lora.safetensors_io.MARK_KEY` values) of the checkpoints
#: svdkit's commands write with :func:`write_like`: a merged model, a PiSSA residual.
#: :func:`write_like` marks its output ``"lora <label>"`` (``"lora write"`` by default),
#: and any such mark is a checkpoint's (:func:`is_checkpoint_mark`) but an adapter's
#: weights (``"lora adapter"``): those are no checkpoint, and never replaced by one.
CHECKPOINT_MARKS = ("lora merge", "lora residual")
#: The mark of an adapter's weights file (:meth:`svdkit.lora.Adapter.save`).
_ADAPTER_MARK = "lora adapter"


def is_checkpoint_mark(mark: object) -> bool:
    """Whether ``mark`` is one :func:`write_like` gives a checkpoint: ``"lora <label>"``
    for any ``label`` but ``"adapter"`` (:data:`CHECKPOINT_MARKS`, ``"lora write"``…).

    >>> is_checkpoint_mark("lora merge"), is_checkpoint_mark("lora write")
    (True, True)
    >>> is_checkpoint_mark("lora adapter"), is_checkpoint_mark(None)
    (False, False)
    """
    return (isinstance(mark, str) and mark.startswith("lora ") and len(mark) > 5
            and mark != _ADAPTER_MARK)


def _check_label(label: object) -> str:
    """``label`` of :func:`write_like`: a non-empty string, not ``"adapter"`` (whose
    mark says an adapter's weights, which no checkpoint may replace)."""
    if not isinstance(label, str) or not label.strip() or f"lora {label}" == _ADAPTER_MARK:
        raise SvdkitError(
            f"label must be a non-empty string other than 'adapter' (the output is marked "
            f"'lora <label>'); got {label!r}", param="label"
        )
    return label


def _module_folders(directory: Path) -> list[str]:
    """The folders sentence-transformers' ``modules.json`` names inside ``directory``
    (``1_Pooling``, ``2_Normalize``…; the Transformer at the root is the checkpoint)."""
    try:
        modules = json.loads((directory / "modules.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    except RecursionError:
        raise FileFormatError(
            f"'{directory / 'modules.json'}': its lists or objects are nested too deeply to be "
            "read as sentence-transformers' modules.json"
        ) from None
    out = []
    root = directory.resolve()
    for entry in modules if isinstance(modules, list) else []:
        rel = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(rel, str) or not rel.strip("/."):
            continue
        folder = (directory / rel).resolve()
        if root in folder.parents and (directory / rel).is_dir():
            out.append(Path(rel).as_posix().strip("/"))
    return out


def side_files(base: Checkpoint) -> list[tuple[Path, str]]:
    """``(source, path in the output)`` of every file :func:`write_like` copies from a
    base directory: the side files at its top (:data:`_SIDE_FILES`, the index excepted,
    which is written) and every file of the folders the model needs to load —
    sentence-transformers' modules (``1_Pooling/config.json``…) and
    :data:`_SIDE_FOLDERS`. Nothing for a single-file base."""
    root = base.path
    if not root.is_dir():
        return []
    index_name = base.index_path.name if base.index_path is not None else None
    out = [
        (p, p.name)
        for p in sorted(root.iterdir())
        if p.is_file() and p.suffix in _SIDE_FILES and p.name != index_name
    ]
    folders = _module_folders(root) + [f for f in _SIDE_FOLDERS if (root / f).is_dir()]
    for folder in dict.fromkeys(folders):
        for top, dirs, files in os.walk(root / folder):
            dirs.sort()
            for f in sorted(files):
                src = Path(top) / f
                if src.is_file():
                    out.append((src, src.relative_to(root).as_posix()))
    return out


def _mark(shard: Path) -> str | None:
    """The svdkit mark of a safetensors file (``None``: unreadable, or no mark)."""
    try:
        return SafetensorsFile(shard).metadata.get(MARK_KEY)
    except (OSError, ValueError):  # SvdkitError is a ValueError
        return None


#: What an svdkit before :data:`FILES_KEY` copied beside its shards: top-level files of
#: these suffixes, which a re-run over such an output (a checkpoint mark, no list) may
#: still replace.
_LEGACY_SIDE_FILES = (".json", ".txt", ".model", ".md")


def _written_files(shard: Path) -> set[str] | None:
    """The files a shard of a checkpoint svdkit wrote says :func:`write_like` wrote
    beside it (``None`` when ``shard`` has no checkpoint mark, :func:`is_checkpoint_mark`:
    an adapter's weights, marked ``"lora adapter"``, are no checkpoint's). A shard of
    an earlier svdkit, with a checkpoint mark but without the list, vouches for the
    top-level side files that version copied."""
    try:
        meta = SafetensorsFile(shard).metadata
    except (OSError, ValueError):  # SvdkitError is a ValueError
        return None
    if not is_checkpoint_mark(meta.get(MARK_KEY)):
        return None
    if FILES_KEY not in meta:
        return {p.name for p in shard.parent.iterdir()
                if p.is_file() and p.suffix in _LEGACY_SIDE_FILES}
    try:
        names = json.loads(meta[FILES_KEY])
    except (json.JSONDecodeError, RecursionError):  # (vouches for nothing)
        return set()
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def _not_written_here(directory: Path) -> list[str]:
    """What makes a non-empty ``directory`` other than a checkpoint svdkit wrote: every
    entry that is not an svdkit-marked ``*.safetensors`` file or a file such a file
    lists as written or copied with it (:data:`FILES_KEY`) — empty when it is one."""
    foreign = []
    listed: set[str] = set()
    shards = 0
    entries = sorted(directory.iterdir())
    for p in entries:
        if p.suffix == ".safetensors" and p.is_file():
            shards += 1
            names = _written_files(p)
            if names is None:
                mark = _mark(p)
                foreign.append(f"{p.name} (no svdkit mark)" if mark is None
                               else f"{p.name} (marked {mark!r}: not a checkpoint)")
            else:
                listed |= names
    for p in entries:
        if p.suffix == ".safetensors" and p.is_file():
            continue
        if p.is_file():
            if p.name not in listed:
                foreign.append(p.name)
        elif p.is_dir() and not p.is_symlink() and any(n.startswith(p.name + "/") for n in listed):
            for top, dirs, files in os.walk(p):
                dirs.sort()
                rel = Path(top).relative_to(directory).as_posix()
                if not files and not dirs and not any(n.startswith(rel + "/") for n in listed):
                    foreign.append(rel + "/")
                for f in sorted(files):
                    if f"{rel}/{f}" not in listed:
                        foreign.append(f"{rel}/{f}")
        else:
            foreign.append(p.name + ("/" if p.is_dir() else ""))
    if not foreign and not shards:
        foreign.append("no .safetensors file")
    return foreign


def check_checkpoint_output(output: str | os.PathLike, shards: int = 1) -> Path:
    """Check, before anything is written, that a checkpoint can be written to ``output``.

    An existing output is replaced only when svdkit wrote it: a ``.safetensors``
    file, or a directory of ``.safetensors`` files, that carry svdkit's mark
    (:data:`~svdkit.lora.safetensors_io.MARK_KEY`), beside nothing but the files those
    list as written or copied with them (:data:`FILES_KEY`: the index, ``config.json``,
    tokenizer, ``1_Pooling/``…); any other file, a user's ``eval_results.json`` or
    ``NOTES.md`` added there, makes it refused, named in the message. A model
    svdkit did not write (the fine-tuned one, say), a training directory
    (``optimizer.pt``, ``checkpoint-500/``) or any other file is never replaced.

    Parameters
    ----------
    output : path
        A ``.safetensors`` file (every shard of a sharded checkpoint written into that
        one file) or a directory.
    shards : int
        The number of files the checkpoint has (any: kept for callers that pass it).

    Returns
    -------
    Path
        ``output`` as a :class:`~pathlib.Path`.

    Raises
    ------
    FileFormatError
        An output named like a pickle file (``merged.bin``: svdkit writes only
        safetensors); a ``.safetensors`` output that is an existing directory, or
        an existing file svdkit did not write; a directory output that is an
        existing file, or a non-empty directory that is not a checkpoint svdkit
        wrote (the message names what is in it).
    """
    output = check_path(output, "output")
    if output.suffix.lower() in PICKLE_SUFFIXES:
        raise FileFormatError(
            f"'{output}': svdkit writes safetensors, never pickle ({output.suffix}) files: "
            "name the output '….safetensors' (one file) or give a directory"
        )
    if output.suffix != ".safetensors":
        check_directory_output(output, "checkpoint directory", replaced=True)
        if output.is_dir() and (output / "adapter_config.json").exists():
            raise FileFormatError(
                f"'{output}' is a LoRA adapter directory (it holds adapter_config.json), not "
                "a checkpoint: refusing to replace it; choose another path"
            )
        if output.is_dir() and any(output.iterdir()):
            foreign = _not_written_here(output)
            if foreign:
                more = f", … ({len(foreign) - 6} more)" if len(foreign) > 6 else ""
                raise FileFormatError(
                    f"'{output}' exists and is not a checkpoint directory svdkit wrote (it "
                    f"holds {', '.join(foreign[:6])}{more}, no part of one): "
                    "refusing to replace it; choose another path, or move those files"
                )
        return output
    check_file_output(output, "checkpoint")
    if (output.exists() or output.is_symlink()) and _mark(output) == _ADAPTER_MARK:
        raise FileFormatError(
            f"'{output}' is the weights file of an svdkit LoRA adapter, not a checkpoint: "
            "refusing to replace it; choose another path"
        )
    if (output.exists() or output.is_symlink()) and not is_checkpoint_mark(_mark(output)):
        raise FileFormatError(
            f"'{output}' exists and is not a checkpoint svdkit wrote (no svdkit checkpoint "
            "mark): "
            "refusing to replace it; choose another path, or remove it first"
        )
    return output


def check_not_input(output: str | os.PathLike, option: str, **inputs: str | os.PathLike) -> None:
    """Refuse an output that is one of the inputs, holds one, or lies inside one.

    ``merge(base, ad, output=base)`` (or ``base/model.safetensors``) would overwrite
    the base model with the merged one; an adapter resized onto itself would be
    replaced while read. ``inputs`` names each input (``base=…``); ``option`` names
    the output in the message (``"--output"``, ``"output"``).

    Raises
    ------
    FileFormatError
        ``output`` is, holds, or lies inside one of ``inputs``.
    """
    out = Path(output).resolve()
    for name, path in inputs.items():
        src = Path(path).resolve()
        if out == src or out in src.parents:
            raise FileFormatError(
                f"{option} '{output}' would replace the {name} '{path}': choose another path"
            )
        if src in out.parents:
            raise FileFormatError(
                f"{option} '{output}' lies inside the {name} '{path}': choose a path outside it"
            )


def write_like(
    base: Checkpoint,
    output: str | os.PathLike,
    produce: Callable[[str], np.ndarray],
    *,
    progress: bool = False,
    label: str = "write",
    added: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint shaped like ``base`` with tensor ``name`` = ``produce(name)``.

    ``output`` is a directory (created; replaced if it is a checkpoint directory
    svdkit wrote, :func:`check_checkpoint_output`): the shards of ``base`` under
    their names (a single file as ``model.safetensors``), the index under the name
    ``base`` has it when it has one, and the files of a base directory the model
    needs to load (:func:`side_files`: ``config.json``, tokenizer, chat template,
    sentence-transformers' module folders). Each shard lists them all (its
    ``__metadata__`` key :data:`FILES_KEY`): a re-run may replace those and nothing
    else (:func:`check_checkpoint_output`). A path ending in ``.safetensors`` writes that
    one file (every tensor of a sharded base too, shard after shard, one at a time;
    through a symbolic link, the file it names).
    ``output`` is checked by :func:`check_checkpoint_output`, and refused when it is
    or overlaps ``base`` (:func:`check_not_input`), before anything is written. Every
    file keeps the base's ``__metadata__``, with ``format: pt`` and svdkit's mark added:
    ``"lora <label>"`` (``label`` also names the progress bar; any string but
    ``"adapter"``). A later call, whatever its ``label``, may replace an output so
    marked (:func:`is_checkpoint_mark`): ``write_like`` replaces its own output.

    ``added`` (new tensor name → a tensor of ``base``) writes tensors the base does not
    hold, each right after the one named, in its shard (listed in the index) and with
    its dtype and shape: :func:`merge` writes a tied head that way. ``config`` updates
    the keys of the ``config.json`` copied with it (none is copied for a single file).

    Raises
    ------
    FileFormatError
        ``output`` cannot be written (see above), or a write failed (a full disk:
        the message names the path; the earlier output is left as it was).
    """
    staged, built = build_like(
        base, output, produce, progress=progress, label=label, added=added, config=config
    )
    try:
        swap_in([(built, Path(output))])
    except OSError as err:
        raise write_error(output, err) from err
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return Path(output)


def build_like(
    base: Checkpoint,
    output: str | os.PathLike,
    produce: Callable[[str], np.ndarray],
    *,
    progress: bool = False,
    label: str = "write",
    added: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Build :func:`write_like`'s output aside, without putting it in place.

    Returns ``(staged, built)``: the temporary directory made beside ``output``
    (to remove once done) and the finished output in it (the directory itself, or
    the ``model.safetensors`` file in it for a ``.safetensors`` output), to be
    moved onto ``output`` by :func:`svdkit._files.swap_in`. On any failure nothing
    is left behind; a write failure is a :class:`~svdkit.FileFormatError` naming
    ``output``. ``added`` and ``config``: as for :func:`write_like`.
    """
    label = _check_label(label)
    added = dict(added or {})
    for new, after in added.items():
        if new in base or after not in base:
            raise SvdkitError(
                f"cannot add tensor {new!r} after {after!r}: the base "
                + ("holds it already" if new in base else f"has no {after!r}")
            )
    output = check_checkpoint_output(output, len(base.files))
    shards = {f"base file '{n}'": base.root / n for n in base.files}
    check_not_input(output, "output", base=base.path, **shards)
    single = output.suffix == ".safetensors"
    parent = output.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmpdir = make_temp_dir(parent, prefix=f".{output.name}.")
    except OSError as err:
        raise write_error(output, err) from err
    index_name = None if single or base.index_path is None else base.index_path.name
    sides = [] if single else side_files(base)
    shard_names = ["model.safetensors"] if base.index is None else list(base.files)
    written = shard_names + ([index_name] if index_name else []) + [rel for _, rel in sides]
    # the files to write: the base's shards (one file, for a single or .safetensors output)
    groups = [[sf] for sf in base.files.values()] if not single else [list(base.files.values())]
    fnames = shard_names if not single else ["model.safetensors"]
    try:
        names = base.names
        follows: dict[str, list[str]] = {}
        for new, after in added.items():
            follows.setdefault(after, []).append(new)
        with module_progress(progress, len(names) + len(added), label) as advance:
            for fname, group in zip(fnames, groups, strict=True):
                layout = {}
                meta = {"format": "pt"}
                for sf in group:
                    for n in sf.names:
                        layout[n] = (sf.entries[n][0], sf.entries[n][1])
                        for new in follows.get(n, []):
                            layout[new] = layout[n]
                    meta.update(sf.metadata)
                # the base's metadata, "format" (transformers needs it), svdkit's mark
                # and the files written with it (which a re-run may replace)
                meta[MARK_KEY] = f"lora {label}"
                meta.pop(FILES_KEY, None)  # (a base svdkit wrote had its own)
                if not single:  # a directory: what a re-run may replace
                    meta[FILES_KEY] = json.dumps(written)
                with SafetensorsWriter(tmpdir / fname, layout, meta) as w:
                    for n in layout:
                        w.write(n, produce(n))
                        advance(n)
        if single:
            return tmpdir, tmpdir / "model.safetensors"
        if index_name is not None:
            src = json.loads(base.index_path.read_text(encoding="utf-8"))
            _index_added(src, base, added)
            (tmpdir / index_name).write_text(json.dumps(src, indent=2), encoding="utf-8")
        for source, rel in sides:
            (tmpdir / rel).parent.mkdir(parents=True, exist_ok=True)
            updates = None
            if rel == "config.json" and config:  # (a callable: decided once the shards are written)
                updates = config() if callable(config) else config
            if updates:
                data = json.loads(source.read_text(encoding="utf-8"))
                data.update(updates)
                (tmpdir / rel).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            else:
                shutil.copyfile(source, tmpdir / rel)
    except BaseException as err:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if isinstance(err, OSError) and not isinstance(err, SvdkitError):
            raise write_error(output, err) from err
        raise
    return tmpdir, tmpdir


def _index_added(index: dict, base: Checkpoint, added: dict[str, str]) -> None:
    """List the tensors :func:`build_like` adds in a copy of the base's index: in the
    shard of the tensor each follows, and in ``total_size`` (bytes) and
    ``total_parameters`` (transformers 5 writes it), when the index has them."""
    weight_map = index.get("weight_map")
    meta = index.get("metadata")
    for new, after in added.items():
        if isinstance(weight_map, dict):
            weight_map[new] = base.shard_of(after)
        if not isinstance(meta, dict):
            continue
        size = int(np.prod(base.shape(after), dtype=np.int64))
        if _is_count(meta.get("total_size")):
            meta["total_size"] += size * numpy_dtype(base.dtype(after)).itemsize
        if _is_count(meta.get("total_parameters")):
            meta["total_parameters"] += size


def _is_count(value: object) -> bool:
    """An integer of an index's metadata (JSON's ``true`` is no count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check(
    base: Checkpoint, adapter: Adapter, tokens: dict | None = None, tied_to: str | None = None
) -> None:
    """Refuse an adapter whose tensors do not fit ``base``. ``tied_to``: the table a
    saved ``lm_head.weight`` is written beside (:func:`_head_table`), in a base that
    ties its head and stores none. The saved tensors the base holds are compared first:
    a resized vocabulary is named (:func:`_resized_hint`) before PEFT's wrapper names
    (``….modules_to_save.weight``), which it saves then too, are found missing."""
    head = f"{TIED_HEAD}.weight"
    for name, value in adapter.saved.items():
        if token_module(name) is not None:
            continue
        ref = tied_to if name == head and name not in base else name
        if ref is None or ref not in base:
            continue
        if tuple(base.shape(ref)) != tuple(value.shape):
            raise ShapeError(
                f"saved tensor {name!r}: {list(value.shape)} ≠ base {list(base.shape(ref))}"
                + ("" if ref == name else f" (the table {ref!r}, which the base ties it to)")
                + _resized_hint(module_of(name)[0], value.shape, base.shape(ref))
            )
        _refuse_inexact_saved(name, value, base.dtype(ref))
    for module, (indices, rows) in (tokens or {}).items():
        key = f"{module}.weight"
        if key not in base:
            raise MissingTensorError(
                f"the adapter's trainable tokens of {module!r} have no {key!r} in the base"
            )
        if module in adapter.modules:
            raise SvdkitError(
                f"module {module!r} has both LoRA factors and trainable tokens: not supported"
            )
        shape = tuple(base.shape(key))
        if len(shape) != 2 or rows.shape[1] != shape[1] or max(indices, default=-1) >= shape[0]:
            raise ShapeError(
                f"trainable tokens of {module!r}: rows {list(rows.shape)} at indices up to "
                f"{max(indices, default=0)} do not fit the base weight {list(shape)}"
                + _tokens_hint(adapter, module, indices, rows, shape)
            )
    for name, m in adapter.modules.items():
        key = f"{name}.weight"
        if key not in base:
            raise MissingTensorError(_missing_weight(base, name, m))
        if tuple(base.shape(key)) != m.weight_shape:
            raise ShapeError(
                f"module {name!r}: base weight {list(base.shape(key))} ≠ adapter "
                f"{'(B A)ᵀ' if m.transposed else 'B A'} {list(m.weight_shape)}"
                + _resized_hint(name, m.weight_shape, base.shape(key))
            )
    for name in adapter.saved:
        if token_module(name) is not None or name in base:
            continue
        if name == head and tied_to is not None:
            continue  # written beside the table (:func:`_tied_head`)
        what = f"the adapter's saved tensor {name!r} is not in the base"
        if name == head and ties_word_embeddings(base):
            value = adapter.saved[name]
            width = list(np.shape(value))[1:]
            found = _head_candidates(base, width[0]) if np.ndim(value) == 2 else []
            why = (f"several token tables of it ({', '.join(map(repr, found))}) have the "
                   f"head's width {width}, and which one the head is tied to cannot be told"
                   if len(found) > 1 else
                   f"no token table of it has the head's width {width} to write it beside")
            what += (": the base ties its output head to its input embedding and stores no "
                     f"{head!r}, and {why}")
        raise MissingTensorError(what)


def _tokens_hint(
    adapter: Adapter, module: str, indices: list[int], rows: np.ndarray, shape: tuple
) -> str:
    """The resized-vocabulary remedy for trainable tokens at rows past the base's table
    (``""`` otherwise): the new vocabulary is that of a table of ``module`` the adapter
    saved with them (PEFT does after ``resize_token_embeddings``); else it is only known
    to be at least one past the largest index, and the tokenizer's length is asked for."""
    if len(shape) != 2 or rows.ndim != 2 or rows.shape[1] != shape[1]:
        return ""
    top = max(indices, default=-1)
    if top < shape[0]:
        return ""
    sizes = [v.shape[0] for n, v in adapter.saved.items()
             if n.startswith(module + ".") and token_module(n) is None
             and np.ndim(v) == 2 and v.shape[1] == shape[1] and v.shape[0] > top]
    if sizes:
        return _resized_hint(module, (sizes[0], shape[1]), shape)
    if not _resized_hint(module, (top + 1, shape[1]), shape):
        return ""
    return (
        f": the adapter was trained after resize_token_embeddings (its vocabulary has at "
        f"least {top + 1} tokens, one past the largest trainable index; the base's has "
        f"{shape[0]}): resize the base first to the tokenizer's length (transformers: "
        "model.resize_token_embeddings(len(tokenizer)), then save it) and merge into that"
    )


#: Last names of output heads over the vocabulary (besides embedding tables).
_HEAD_NAMES = (TIED_HEAD, "embed_out", "output", "cls", "decoder")


def _resized_hint(module: str, adapter_shape: tuple[int, ...], base_shape: tuple[int, ...]) -> str:
    """The remedy for an embedding's or a head's weight that differs from the base's in
    its rows only: the adapter's model had its vocabulary resized (``""`` otherwise)."""
    adapter_shape, base_shape = tuple(adapter_shape), tuple(base_shape)
    if len(adapter_shape) != 2 or len(base_shape) != 2 or adapter_shape[1] != base_shape[1]:
        return ""
    if not (is_embedding(module) or module.rpartition(".")[2] in _HEAD_NAMES):
        return ""
    return (
        f": the adapter was trained after resize_token_embeddings (vocab {base_shape[0]} → "
        f"{adapter_shape[0]}): resize the base first (transformers: "
        f"model.resize_token_embeddings({adapter_shape[0]}), then save it) and merge into that"
    )


def _refuse_inexact_saved(name: str, value: Any, code: str) -> None:
    """Refuse a saved tensor whose values the base's integer (or bool) dtype ``code``
    cannot hold exactly: written there they would be truncated (``1.5`` → ``1``) or
    wrapped, silently."""
    if code in FLOAT_CODES:
        return
    a = np.asarray(value)
    target = numpy_dtype(code)
    if a.dtype == target or a.size == 0:
        return
    with np.errstate(invalid="ignore", over="ignore"):
        back = a.astype(target).astype(a.dtype)
    lost = back != a
    if lost.any():
        raise SvdkitError(
            f"saved tensor {name!r}: the base stores it as {code}, which cannot hold the "
            f"adapter's values exactly (one is {a[lost].flat[0].item()!r}): written there "
            "they would be truncated; the adapter does not belong to this base"
        )


#: Tensors beside a module's weight that say it is stored quantised: FP8 block or
#: channel scales (DeepSeek-V3, Qwen3-FP8: ``weight_scale_inv``; compressed-tensors,
#: ModelOpt: ``weight_scale``, ``weight_scale_2``), bitsandbytes' LLM.int8 row scales
#: (``SCB``) and zero points; bitsandbytes' 4-bit state is ``weight.absmax``,
#: ``weight.quant_map``… (any ``<module>.weight.<name>``).
_QUANT_SIBLINGS = ("weight_scale_inv", "weight_scale", "weight_scale_2", "weight_global_scale",
                   "SCB", "weight_zero_point", "weight_format")


#: Dtypes a weight is stored in unquantised: scales beside such a weight are no
#: quantisation's (FP8 codes are ``F8_*``, bitsandbytes' ``U8``/``I8``).
_PLAIN_FLOATS = ("F64", "F32", "F16", "BF16")


def _not_converted(quant: object, module: str) -> bool:
    """Whether a ``quantization_config`` leaves ``module`` unquantised: named (a name,
    a suffix or a run of its dotted names) in its ``modules_to_not_convert`` or
    bitsandbytes' ``llm_int8_skip_modules``."""
    if not isinstance(quant, dict):
        return False
    names: list[str] = []
    for key in ("modules_to_not_convert", "llm_int8_skip_modules"):
        value = quant.get(key)
        if isinstance(value, list):
            names += [n for n in value if isinstance(n, str) and n]
    return any(f".{n}." in f".{module}." for n in names)


def quantised_reason(base: Checkpoint, module: str, codes: bool = True) -> str | None:
    """Why the base's weight of ``module`` is stored quantised (``None``: it is not):
    scales beside it, or (``codes``: a weight the adapter adds to) a dtype that is not
    floating-point. ``merge`` and ``pissa`` refuse such a weight by name."""
    key = f"{module}.weight"
    if codes and key in base and base.dtype(key) not in FLOAT_CODES:
        return (f"its weight is {base.dtype(key)}, not a floating-point dtype "
                "(integer codes, or one svdkit does not compute with)")
    if key in base and base.dtype(key) in _PLAIN_FLOATS:
        return None  # (a float weight is no codes: a 'weight_scale' beside it is a parameter)
    siblings = [f"{module}.{s}" for s in _QUANT_SIBLINGS if f"{module}.{s}" in base]
    siblings += [n for n in base.names if n.startswith(key + ".")][:1]
    if siblings:
        return (f"its weight is {base.dtype(key) if key in base else 'stored'} codes with "
                f"scales beside it ({siblings[0]!r})")
    return None


def _refuse_quantised(base: Checkpoint, adapter: Adapter, tokens: dict) -> None:
    """Refuse a base whose weights the adapter changes are stored quantised.

    ``W + scale·B·A`` added to FP8 codes (scaled by a ``weight_scale_inv`` beside them)
    or to bitsandbytes' INT8 codes is no merge: the delta lands on the wrong scale, or
    is truncated to integers. Refused, by module, when the base's ``config.json`` has a
    ``quantization_config`` that does not leave the module unquantised, when a weight
    the adapter adds to or replaces rows of is not floating-point, or when one (a kept
    weight's too) that is not F64/F32/F16/BF16 has scales beside it
    (:data:`_QUANT_SIBLINGS`).
    """
    added_to = list(adapter.modules) + list(tokens)
    kept = [module_of(n)[0] for n in adapter.saved
            if token_module(n) is None and module_of(n)[1] == "weight"]
    refuse_quantised(
        base, added_to + kept, set(added_to),
        "adding scale·B·A to {its} codes would not merge the adapter", "merge into that",
        kept_harm="writing the adapter's float values in place of {its} codes, whose scales "
        "stay beside them, would not give the adapter's module",
    )


def refuse_quantised(
    base: Checkpoint, modules: list[str], codes: set[str], harm: str, then: str,
    kept_harm: str | None = None,
) -> None:
    """Refuse, naming the module, a base whose weights of ``modules`` are stored quantised
    (:func:`quantised_reason`; ``codes``: the modules whose dtype must be floating-point
    too), or whose ``config.json`` has a ``quantization_config`` that does not leave the
    module unquantised (its ``modules_to_not_convert``, ``llm_int8_skip_modules``).
    ``harm`` says what the codes would do to a module of ``codes`` (``{its}`` is filled
    in), ``kept_harm`` (default ``harm``) to the others, replaced whole; ``then`` what to
    run on the dequantised base (``merge`` and ``pissa`` share it)."""
    if not modules:
        return
    remedy = ("dequantise the base first (transformers: load it, model.dequantize(), and "
              f"save it), then {then}")
    quant = model_config(base).get("quantization_config")

    def what(module: str, its: str) -> str:
        text = harm if module in codes or kept_harm is None else kept_harm
        return text.format(its=its)

    if quant:
        method = quant.get("quant_method") if isinstance(quant, dict) else None
        how = f" (quant_method {method!r})" if isinstance(method, str) else ""
        for module in modules:
            if not _not_converted(quant, module):
                raise FileFormatError(
                    f"module {module!r}: the base is quantised (its config.json has a "
                    f"quantization_config{how}): {what(module, 'its stored')}; {remedy}"
                )
    for module in modules:
        why = quantised_reason(base, module, codes=module in codes)
        if why is not None:
            raise FileFormatError(
                f"module {module!r}: the base stores it quantised ({why}): "
                f"{what(module, 'the')}; {remedy}"
            )


def _missing_weight(base: Checkpoint, name: str, m: LoraModule) -> str:
    """Why the base has no weight for the adapter's module ``name`` (for the error)."""
    key = f"{name}.weight"
    what = f"the adapter's module {name!r} has no {key!r} in the base"
    parent = name.split(".base_layer.")[0] if ".base_layer." in name else name
    if f"{parent}.in_proj_weight" in base or ".base_layer." in name:
        return (
            f"{what}: it is LoRA of an nn.MultiheadAttention ({parent!r}, weights "
            f"'{parent}.in_proj_weight' and '{parent}.out_proj.weight'), a layer type merge "
            "does not support (resize and analyse do)"
        )
    if name.rpartition(".")[2] == TIED_HEAD and ties_word_embeddings(base):
        shape = list(m.weight_shape)
        tables = [n for n in base.names if is_embedding(module_of(n)[0])
                  and module_of(n)[1] == "weight" and list(base.shape(n)) == shape]
        to = f" {tables[0]!r}" if len(tables) == 1 else " the input embedding"
        return (
            f"{what}: the base ties its output head to its input embedding (its config.json "
            f"ties word embeddings; the head is{to}), and merging a LoRA of the tied head "
            "into that shared tensor would change the input embedding too, which merge does "
            "not do (with ensure_weight_tying, a LoRA of the head that is exactly the "
            "transposed twin of the embedding's is merged once, as one): train the adapter "
            "without the tied lm_head, or untie the base first"
        )
    return what


def _tied(base: Checkpoint) -> bool:
    """Whether the ``config.json`` beside ``base`` ties the output head to the embedding."""
    return model_config(base).get("tie_word_embeddings") is True


def token_rows(base: Checkpoint, tokens: dict[str, tuple[list[int], np.ndarray]]) -> TokenRows:
    """The weights trainable tokens replace rows of: the module's own, and ``lm_head.weight``
    when the base stores it tied to that embedding (``tie_word_embeddings``), as PEFT ties
    the head's token adapter to the embedding's."""
    out: TokenRows = {}
    tied = _tied(base) and "lm_head.weight" in base
    for module, (indices, rows) in tokens.items():
        key = f"{module}.weight"
        out.setdefault(key, []).append((indices, rows))
        if (
            tied
            and is_embedding(module)
            and key in base
            and tuple(base.shape("lm_head.weight")) == tuple(base.shape(key))
        ):
            out.setdefault("lm_head.weight", []).append((indices, rows))
    return out


def merged_tensor(
    base: Checkpoint,
    adapter: Adapter,
    name: str,
    *,
    subtract: bool = False,
    tokens: TokenRows | None = None,
) -> np.ndarray:
    """Tensor ``name`` of the merged model, ``W + scale·B·A`` (``W − scale·B·A`` when
    ``subtract``: PiSSA's residual base); other tensors as they are. A LoRA module's
    weight saved with the adapter (PEFT's ``base_layer.weight``) is the ``W`` used.
    ``tokens`` (:func:`token_rows`) replace rows, cast to the stored dtype as PEFT's
    ``index_copy`` does."""
    if tokens and name in tokens:
        W = np.array(base.tensor(name))
        for indices, rows in tokens[name]:
            W[np.asarray(indices, dtype=np.intp)] = round_to(rows, W.dtype)
        return W
    module, param = module_of(name)
    m = adapter.modules.get(module)
    if m is None or param != "weight":
        return adapter.saved[name] if name in adapter.saved else base.tensor(name)
    # PiSSA's residual W − B·A is small where W's principal part cancels: a float32
    # product's rounding (eps32 · |W|) is many of the residual's own ulps, so it is
    # formed in float64 (row blocks of the product) and rounded once. A merge's sum is of
    # W's size, which float32 rounds to within an ulp of it, as PEFT's merge does.
    dt = np.float64 if subtract or base.dtype(name) == "F64" else np.float32

    def source() -> np.ndarray:  # W as the base (or the adapter) holds it
        if name in adapter.saved:
            return np.array(adapter.saved[name], dtype=dt)
        return base.read(name, dt)

    W = source()
    with np.errstate(over="ignore", invalid="ignore"):  # refused below, by name
        if subtract:
            _subtract_delta(W, m, adapter.use_rslora)
        else:
            W += m.delta(adapter.use_rslora, dtype=dt)
        code = base.dtype(name)
        stored = round_to(W, numpy_dtype(code))  # (once: ml_dtypes' cast of float64 rounds twice)
    # no float64 copy: two reductions of the sum say that it is within the stored
    # dtype's range (the usual case); else the stored entries are looked at, and the
    # source is read again to tell an overflow from a NaN or inf W itself holds
    if not _within(W, stored.dtype):
        overflowed = ~np.isfinite(stored)
        if overflowed.any():
            overflowed &= np.isfinite(source())
        if overflowed.any():
            _refuse_overflow(name, module, code, W[overflowed], subtract)
    return stored


def _subtract_delta(W: np.ndarray, m: LoraModule, rslora: bool) -> None:
    """``W −= scale · B A`` in ``W``'s dtype (float64 for PiSSA), the product formed by
    blocks of at most 4 MiB of rows: no second full-size copy beside ``W``."""
    if m.kind == "conv" or W.ndim != 2:
        W -= m.delta(rslora, dtype=W.dtype)
        return
    B, A = (np.asarray(x, dtype=W.dtype) for x in m.matrices())
    B = m.scale(rslora) * B
    if m.transposed:  # W is (B A)ᵀ = Aᵀ Bᵀ
        B, A = A.T, B.T
    step = max(1, (1 << 19) // max(1, W.shape[1]))
    for r0 in range(0, W.shape[0], step):
        W[r0 : r0 + step] -= B[r0 : r0 + step] @ A


@functools.cache
def _largest(dtype: np.dtype) -> float:
    """The largest finite value of the floating-point ``dtype`` (bfloat16, float8 too);
    ``inf`` for an integer or bool one (a cast to which never gives ``inf``)."""
    if dtype.kind in "iub":
        return float("inf")
    try:
        return float(np.finfo(dtype).max)
    except ValueError:  # (ml_dtypes' types: NumPy's finfo does not know them)
        import ml_dtypes

        return float(ml_dtypes.finfo(dtype).max)


def _within(W: np.ndarray, dtype: np.dtype) -> bool:
    """Whether every entry of ``W`` is finite and at most the largest of ``dtype`` in
    magnitude: then none rounds to ``inf`` (or NaN) when cast to it."""
    if W.size == 0:
        return True
    lim = _largest(np.dtype(dtype))
    lo, hi = W.min(), W.max()  # (NaN propagates: False below)
    return bool(-lim <= lo and hi <= lim)


def _refuse_overflow(name: str, module: str, code: str, W: np.ndarray, subtract: bool) -> None:
    """Refuse a merged weight that leaves the range of its stored dtype ``code`` (``W``:
    its entries that do, as summed).

    ``W + scale·B·A`` is summed in float32 (float64 for an F64 base; PiSSA's
    ``W − B·A`` in float64) and stored in the base's dtype: a sum beyond float16's
    65504 would be written as ``inf``, and the merged model would answer NaN.
    Refused, by module and dtype, before any file is put in place, with the remedy
    of the command: a wider base or a smaller alpha for a merge, a wider base or
    another rank for PiSSA (which has no alpha).
    """
    largest = float(np.max(np.abs(W)))
    if subtract:
        what, advice = "W − B·A (the PiSSA residual)", (
            "the residual cannot be stored in the base's dtype; convert the base to a wider "
            "dtype (F32) before PiSSA, or choose another " + arg("rank")
        )
    else:
        what, advice = "W + scale·B·A", (
            "the merged weight cannot be stored in the base's dtype; merge into a base stored "
            "in a wider dtype (F32), or use a smaller alpha"
        )
    raise SvdkitError(
        f"module {module!r}: {what} overflows {code} (an entry of {name!r} is {largest:.4g}, "
        f"beyond what {code} holds): {advice}"
    )


def _twin(head: LoraModule, embedding: LoraModule) -> bool:
    """Whether the LoRA of the head is exactly the transposed twin PEFT's
    ``ensure_weight_tying`` gives the embedding's: ``B_h A_h = (B_e A_e)ᵀ`` factor by
    factor (``A_h = B_eᵀ``, ``B_h = A_eᵀ``), with the same alpha."""
    if head.kind != "linear" or embedding.kind != "embedding" or head.alpha != embedding.alpha:
        return False
    A, B = np.asarray(head.A), np.asarray(head.B)
    eA, eB = np.asarray(embedding.A), np.asarray(embedding.B)
    return A.shape == eB.T.shape and B.shape == eA.T.shape and bool(
        np.array_equal(A, eB.T) and np.array_equal(B, eA.T))


def _untied(base: Checkpoint, adapter: Adapter) -> Adapter:
    """``adapter`` with its head merged into the shared table where its config has
    ``ensure_weight_tying`` (the head *is* the embedding in the PEFT model) and the base
    ties its head to its embedding and stores none of its own:

    * a LoRA of ``lm_head`` that is exactly the transposed twin of the embedding's
      (:func:`_twin`: PEFT adds it) is dropped, with the head's saved base copy: the
      embedding's LoRA, merged once into the shared table, is both (noted);
    * a kept ``lm_head`` equal to the kept table it is tied to (PEFT saves both:
      :func:`svdkit.lora.extract.extract` writes them so) is dropped; one that differs
      is refused (``SvdkitError``);
    * a kept ``lm_head`` alone is written into the shared table (noted).

    A head LoRA that is no twin is left, and refused by :func:`_check`.
    """
    head = f"{TIED_HEAD}.weight"
    if (not adapter.config.get("ensure_weight_tying") or head in base
            or not ties_word_embeddings(base)):
        return adapter
    modules, saved = dict(adapter.modules), dict(adapter.saved)
    lora = modules.get(TIED_HEAD)
    tables = set(_token_tables(base))
    if lora is not None:
        twins = [m for m in modules.values()
                 if f"{m.name}.weight" in tables and _twin(lora, m)]
        if not twins:
            return adapter
        del modules[TIED_HEAD]
        saved.pop(head, None)  # (PEFT's copy of the head's base layer)
        _log.warning(
            "note: the adapter's LoRA of %r is the transposed twin of its LoRA of %r "
            "(ensure_weight_tying ties them): merged once into the shared table %r, as the "
            "PEFT model applies it to both lookups", TIED_HEAD, twins[0].name,
            f"{twins[0].name}.weight",
        )
        return dataclasses.replace(adapter, modules=modules, saved=saved)
    if head not in saved:
        return adapter
    table = _head_table(base, adapter)
    if table is None:
        return adapter  # (refused by :func:`_check`, which says why)
    value = saved.pop(head)
    if table in saved:
        kept = np.asarray(saved[table])
        if kept.shape != np.shape(value) or not np.array_equal(kept, np.asarray(value)):
            raise SvdkitError(
                f"the adapter keeps {head!r} and {table!r} whole with ensure_weight_tying, "
                "which makes them one tensor, but their values differ: the adapter is "
                "inconsistent; keep one of them"
            )
        return dataclasses.replace(adapter, saved=saved)
    saved[table] = value
    _log.warning(
        "note: the adapter keeps %r whole with ensure_weight_tying, and the base ties its "
        "head to %r: written as %r, the table of both lookups, as in the PEFT model",
        head, table, table,
    )
    return dataclasses.replace(adapter, saved=saved)


#: Where :meth:`~svdkit.lora.adapter.Adapter.load` puts PEFT's copy of the layer trainable
#: tokens wrap (``base_model.model.<m>.token_adapter.base_layer.weight`` in the file).
_TOKEN_COPY = ".token_adapter.weight"


def _token_copies(base: Checkpoint, adapter: Adapter) -> Adapter:
    """``adapter`` without PEFT's copies of the layers its trainable tokens wrap
    (``<m>.token_adapter.base_layer.weight``: PEFT 0.21 saves one for an ``lm_head`` it
    ties to the embedding's tokens) where each equals the base's weight of ``<m>``, or,
    for a head the base ties to its embedding and does not store, the table with the
    tokens: the tokens' rows are then written there (:func:`token_rows`), which is the
    PEFT model's head too.

    Raises
    ------
    MissingTensorError
        A copy that is neither, named by its key in the adapter's file.
    """
    copies = [n for n in adapter.saved if n.endswith(_TOKEN_COPY)]
    if not copies:
        return adapter
    saved = dict(adapter.saved)
    with_tokens = {f"{m}.weight" for n in saved if (m := token_module(n)) is not None}
    for name in copies:
        module = name[: -len(_TOKEN_COPY)]
        value = np.asarray(saved[name])
        ref: str | None = f"{module}.weight"
        if ref not in base:
            tables = [t for t in _token_tables(base) if t in with_tokens]
            tied = module.rpartition(".")[2] == TIED_HEAD and ties_word_embeddings(base)
            ref = tables[0] if tied and len(tables) == 1 else None
        if (ref is not None and tuple(base.shape(ref)) == value.shape
                and np.array_equal(value, np.asarray(base.tensor(ref)))):
            del saved[name]
            continue
        key = f"base_model.model.{module}.token_adapter.base_layer.weight"
        raise MissingTensorError(
            f"the adapter's tensor {key!r} (PEFT's copy of the layer its trainable tokens wrap "
            f"in {module!r}) "
            + (f"holds values other than the base's {ref!r}" if ref is not None else
               "has no weight in the base to stand for")
            + f" (a {module!r} kept whole, modules_to_save, that PEFT wrapped with the "
            "trainable tokens it ties to it, or an adapter of another base): merge does not "
            "support a kept head together with trainable tokens tied to it; train the adapter "
            "with one of them"
        )
    return dataclasses.replace(adapter, saved=saved)


def _token_tables(base: Checkpoint) -> list[str]:
    """The base's token tables (``*.weight`` of an embedding with the config's
    ``vocab_size`` rows, when it has one: not GPT-2's position table)."""
    vocab = model_config(base).get("vocab_size")
    out = []
    for n in base.names:
        module, param = module_of(n)
        if param != "weight" or not is_embedding(module) or len(base.shape(n)) != 2:
            continue
        if isinstance(vocab, int) and base.shape(n)[0] != vocab:
            continue
        out.append(n)
    return out


def _head_table(base: Checkpoint, adapter: Adapter) -> str | None:
    """The table a saved ``lm_head.weight`` (PEFT's ``modules_to_save``) is written beside,
    in a base that ties its head to its input embedding and stores none: the one token
    table of the head's width (``embed_tokens`` among several). ``None`` when there is no
    such head, or no one table."""
    head = f"{TIED_HEAD}.weight"
    value = adapter.saved.get(head)
    if value is None or head in base or np.ndim(value) != 2 or not ties_word_embeddings(base):
        return None
    tables = _head_candidates(base, int(value.shape[1]))
    for last in ("shared", PEFT_TIED_EMBEDDING):  # (transformers ties the head to `shared`)
        if len(tables) > 1:
            preferred = [n for n in tables if module_of(n)[0].rpartition(".")[2] == last]
            tables = preferred or tables
    return tables[0] if len(tables) == 1 else None


def _head_candidates(base: Checkpoint, width: int) -> list[str]:
    """The base's token tables (:func:`_token_tables`) of ``width`` columns."""
    return [n for n in _token_tables(base) if base.shape(n)[1] == width]


def _tie_partners(base: Checkpoint, table: str) -> list[str]:
    """The tensors transformers ties to ``table`` besides the head, which the base does
    not store (:func:`merge` writes them as copies of the table when it unties the head):
    an encoder-decoder's ``encoder.embed_tokens.weight`` and ``decoder.embed_tokens.weight``
    beside its ``shared.weight`` (BART, mBART, Pegasus, Marian, T5), which
    ``tie_word_embeddings: false`` unties too.

    Raises
    ------
    FileFormatError
        An encoder-decoder (``is_encoder_decoder``) whose table is no ``shared.weight``:
        which tensors its config ties to it cannot be told.
    """
    module = module_of(table)[0]
    if module.rpartition(".")[2] == "shared":
        prefix = module[: len(module) - len("shared")]
        names = [f"{prefix}{part}.embed_tokens.weight" for part in ("encoder", "decoder")]
        return [n for n in names if n not in base]
    if model_config(base).get("is_encoder_decoder") is True:
        raise FileFormatError(
            f"the base is an encoder-decoder whose head is tied to {table!r}: untying the head "
            "(the adapter keeps it, or the table, whole) would untie the other tensors its "
            "config ties to that table, which cannot be told here; merge it with PEFT "
            "(merge_and_unload) instead"
        )
    return []


def _stored_head_tables(base: Checkpoint) -> list[str]:
    """The token tables of the head's shape that a stored ``lm_head.weight`` may be tied
    to, in a base whose config ties them (:func:`~svdkit.lora.modules.ties_word_embeddings`:
    a config without the key does not, where the head is stored); ``[]`` otherwise."""
    head = f"{TIED_HEAD}.weight"
    if head not in base or not ties_word_embeddings(base):
        return []
    shape = tuple(base.shape(head))
    if len(shape) != 2:
        return []
    found = [n for n in _head_candidates(base, shape[-1]) if tuple(base.shape(n)) == shape]
    for last in ("shared", PEFT_TIED_EMBEDDING):  # (as :func:`_head_table`)
        if len(found) > 1:
            preferred = [n for n in found if module_of(n)[0].rpartition(".")[2] == last]
            found = preferred or found
    return found


def _stored_head_follows(base: Checkpoint, adapter: Adapter, rows: TokenRows) -> str | None:
    """The table a stored ``lm_head.weight`` is written as, merged, in a base whose config
    ties them (``None`` where the head is written as itself).

    In a tied model the head and the table are one tensor, so a LoRA of the table (or
    trainable tokens of it, or a table other than ``embed_tokens`` kept whole) changes
    the head too, as PEFT's ``merge_and_unload`` does and as :func:`_tied_head` merges a
    base that stores no head: the stored head is written equal to the merged table, and
    the config stays tied (noted). Not where the adapter changes the head itself, where
    a kept ``embed_tokens`` without ``ensure_weight_tying`` leaves the PEFT model's head
    the original table (:func:`_tied_head`), nor where the base's head and table differ.
    """
    head = f"{TIED_HEAD}.weight"
    if (TIED_HEAD in adapter.modules or head in adapter.saved
            or any(module_of(n)[0] == TIED_HEAD for n in rows)):
        return None
    tables = _stored_head_tables(base)
    if len(tables) != 1:
        return None
    table = tables[0]
    module = module_of(table)[0]
    lora = adapter.modules.get(module)
    kept = table in adapter.saved and lora is None
    tying = adapter.config.get("ensure_weight_tying") is True
    if kept and module.rpartition(".")[2] == PEFT_TIED_EMBEDDING and not tying:
        return None
    if lora is None and not kept and table not in rows:
        return None
    if base.dtype(head) != base.dtype(table) or not np.array_equal(
            np.asarray(base.tensor(head)), np.asarray(base.tensor(table))):
        return None
    what = (f"the LoRA of {module!r}" if lora is not None else
            f"the adapter's kept {table!r}" if kept else f"the trainable tokens of {module!r}")
    _log.warning(
        "note: the base's config ties %r to %r and its checkpoint stores both: they are one "
        "tensor in the model, so %s is merged into it and the stored head is written equal "
        "to the merged table, the config still tied, as PEFT's merge_and_unload does (the "
        "PEFT model before merging applied it to the input lookup only)",
        head, table, what,
    )
    return table


#: Model types whose ``tie_word_embeddings`` also scales the decoder's output
#: (``d_model ** -0.5``, T5 v1.0): no config unties their head without changing it.
_TIE_SCALES_OUTPUT = frozenset(
    {"t5", "mt5", "umt5", "longt5", "switch_transformers", "pop2piano"})


def _refuse_scaled_untie(base: Checkpoint, table: str) -> None:
    """Refuse to write the head of ``base`` apart from ``table`` where the model's
    ``tie_word_embeddings`` also scales the decoder's output (:data:`_TIE_SCALES_OUTPUT`):
    no config loads such a head right.

    Raises
    ------
    FileFormatError
        ``base`` is such a model (T5 v1.0 and its kin).
    """
    kind = model_type(base)
    if kind not in _TIE_SCALES_OUTPUT:
        return
    head = f"{TIED_HEAD}.weight"
    raise FileFormatError(
        f"the base (model_type {kind!r}) ties {head!r} to {table!r}, which the output would "
        "change apart: untied (tie_word_embeddings: false), this model type also stops "
        "scaling the decoder's output by d_model^-0.5, so no config loads such a head right; "
        "leave the head and that table out of the adapter (pissa: a --target list without "
        "lm_head), or merge with PEFT (merge_and_unload)"
    )


class StoredHeadTie:
    """Watch a stored ``lm_head.weight`` of a base whose config ties it to its input
    embedding: does the written head still equal the table it is tied to?

    Many checkpoints of a tied model (``tie_word_embeddings: true``) store
    ``lm_head.weight`` too, equal to the table. A merge (a LoRA or a kept copy of the
    head or of the table, trainable tokens) or PiSSA (whose residual head is
    ``W − B·A``) can write a head that differs from the written table; a loader that
    honours the flag (transformers 4, vLLM) would then make them one tensor again and
    drop one side's change (a merged head LoRA lost, PiSSA's principal part counted
    twice). :meth:`wrap` records a digest of each of those tensors as written (in its
    stored dtype, so no second copy is held); :meth:`config`, called once they are
    written, unties the copied ``config.json`` (``tie_word_embeddings: false``) when the
    head differs from a table it may be tied to, so the output loads to the tensors
    written, and :meth:`note` says so (``""`` when nothing was untied). Inactive (every
    method a no-op) unless the base stores the head, its config ties it
    (:func:`~svdkit.lora.modules.ties_word_embeddings`: a config without the key does not,
    where the head is stored) and ``changed`` holds the head or its table. :func:`merge`
    writes a head the adapter leaves as the merged table instead (one tensor in the
    model: :func:`_stored_head_follows`), which keeps the tie.

    ``changed`` names the tensors the writer may change: where the head or its table is
    among them and the table is an encoder-decoder's ``shared.weight``, :attr:`added`
    lists the ``encoder``/``decoder`` ``embed_tokens`` the base does not store, which an
    untied config unties too: written as copies of the table (:func:`_tie_partners`).

    Raises
    ------
    FileFormatError
        The head or its table is among ``changed`` in a model whose flag also scales the
        decoder's output (T5 v1.0: :data:`_TIE_SCALES_OUTPUT`), which no config unties
        right; an encoder-decoder whose head is tied to a table other than
        ``shared.weight`` (:func:`_tie_partners`).
    """

    def __init__(self, base: Checkpoint, changed: set[str]) -> None:
        self.head = f"{TIED_HEAD}.weight"
        tables = _stored_head_tables(base)
        touched = bool(tables) and bool(changed & {self.head, *tables})
        # (nothing to watch where the writer changes neither the head nor its table)
        self.tables: list[str] = tables if touched else []
        if touched:
            _refuse_scaled_untie(base, tables[0])
        #: copies of the table the untied config needs: new tensor name → the table
        self.added: dict[str, str] = {}
        if touched and len(self.tables) == 1:
            self.added = dict.fromkeys(_tie_partners(base, self.tables[0]), self.tables[0])
        self._digests: dict[str, bytes] = {}
        self.untied = False
        self._codes = {n: base.dtype(n) for n in (self.head, *self.tables) if self.tables}

    def wrap(self, produce: Callable[[str], Any]) -> Callable[[str], Any]:
        """``produce`` recording the digest of the head and its tables as written."""
        if not self.tables:
            return produce

        def watched(name: str) -> Any:
            if name in self.added:
                return produce(self.added[name])
            value = produce(name)
            if name in self._codes:
                a = np.asarray(value)
                target = numpy_dtype(self._codes[name])
                if a.dtype != target:
                    with np.errstate(over="ignore", invalid="ignore"):
                        a = round_to(a, target)
                a = np.ascontiguousarray(a)
                self._digests[name] = hashlib.sha256(a.reshape(-1).view(np.uint8)).digest()
            return value

        return watched

    def config(self) -> dict[str, Any]:
        """The ``config.json`` update: untied where the written head differs from a
        table it may be tied to (``{}`` otherwise). Sets :attr:`untied`."""
        head = self._digests.get(self.head)
        self.untied = head is not None and any(
            self._digests.get(t) != head for t in self.tables)
        return {"tie_word_embeddings": False} if self.untied else {}

    def note(self, config_written: bool) -> str:
        """The note for an untied head (``""`` when it was not: call after writing;
        ``config_written``: whether a ``config.json`` was written with the output)."""
        if not self.tables:
            return ""
        if not config_written:
            self.config()
        if not self.untied:
            return ""
        where = ("the copied config.json says tie_word_embeddings: false, so loaders keep both"
                 if config_written else
                 "no config.json is written with it: load it with tie_word_embeddings: "
                 "false, or a loader that ties them keeps only one")
        return (f"the base's config ties {self.head!r} to {self.tables[0]!r}, but the written "
                f"head differs from the written table; {where}")


def _tied_head(base: Checkpoint, adapter: Adapter, config_written: bool) -> str | None:
    """The table after which the merged model stores a head of its own, if any; notes
    (logged) where the head of a tied base changes, or stays, with the adapter.

    A base that ties its output head to its input embedding (``tie_word_embeddings``,
    no ``lm_head.weight`` of its own) stores one tensor for both. In PEFT (0.21), without
    ``ensure_weight_tying`` in the adapter config:

    * a kept ``lm_head`` (``modules_to_save``) is a copy of its own: :func:`merge`
      writes it as ``lm_head.weight`` (after the table returned) and unties the copied
      ``config.json``, as in the PEFT model and its ``merge_and_unload``;
    * a kept ``embed_tokens`` is applied to the input lookup only: the PEFT model's head
      keeps the original table (its logits were 3.6 off a merge into the shared tensor
      in a tiny tied Llama), so the original is written as ``lm_head.weight``, untied.

    A LoRA of the tied embedding changes the shared tensor, as PEFT's
    ``merge_and_unload`` does, whether or not PEFT saved its base table with it
    (``save_embedding_layers``: a ``base_layer.weight``, no table kept whole); a table
    other than ``embed_tokens`` kept whole (GPT-2's ``wte``, which PEFT never ties) is
    merged into it as well (:func:`svdkit.lora.extract.extract` relies on it): noted,
    since the PEFT model's head did not change with them. ``config_written``: whether
    the output has a ``config.json`` (copied from a directory base) to untie.
    """
    head = f"{TIED_HEAD}.weight"
    if head in base or not ties_word_embeddings(base):
        return None
    tables = _token_tables(base)
    tying = adapter.config.get("ensure_weight_tying") is True
    where = ("the copied config.json says tie_word_embeddings: false" if config_written
             else "no config.json is written with it: the config it is loaded with should "
             "say tie_word_embeddings: false, as the PEFT model's head is untied")
    table = _head_table(base, adapter)
    if table is not None:  # (ensure_weight_tying: the copy was dropped, :func:`_untied`)
        _refuse_scaled_untie(base, table)
        _log.warning(
            "note: the base ties its output head to %r, and the adapter keeps the head whole "
            "(modules_to_save): as in the PEFT model, the head is the adapter's, written as "
            "%r; %s", table, head, where,
        )
        return table
    # a LoRA module's table saved with it (its base_layer.weight) is not kept whole
    kept = [n for n in adapter.saved if n in tables and module_of(n)[0] not in adapter.modules]
    for name in kept:
        module = module_of(name)[0]
        if module.rpartition(".")[2] == PEFT_TIED_EMBEDDING and not tying:
            _refuse_scaled_untie(base, name)
            _log.warning(
                "note: the base ties its output head to %r, which the adapter keeps whole "
                "(modules_to_save) without ensure_weight_tying: as in the PEFT model, the head "
                "keeps the original table, written as %r; %s", name, head, where,
            )
            return name
        if module.rpartition(".")[2] != PEFT_TIED_EMBEDDING:
            _log.warning(
                "note: the base ties its output head to %r, which the adapter keeps whole: the "
                "merged model's head is the new table too, where a PEFT model of the adapter "
                "keeps the original head (PEFT ties only %r to %r)",
                name, PEFT_TIED_EMBEDDING, TIED_HEAD,
            )
    if not tying:
        for m in adapter.modules.values():
            if m.kind == "embedding" and f"{m.name}.weight" in tables:
                _log.warning(
                    "note: the base ties its output head to '%s.weight': the LoRA of %r is "
                    "merged into that shared tensor, so the head changes with it, as PEFT's "
                    "merge_and_unload does; the PEFT model before merging applied it to the "
                    "input lookup only (the adapter config has no ensure_weight_tying)",
                    m.name, m.name,
                )
    return None


def merge(
    base: str | os.PathLike | Checkpoint,
    adapter: str | os.PathLike | Adapter,
    output: str | os.PathLike,
    *,
    progress: bool = False,
    fan_in_fan_out: bool | list[str] | None = None,
) -> Path:
    """Write ``base`` with the adapter merged in (``W + scale · B A``) to ``output``.

    PEFT's trainable tokens replace their rows of the embedding. An adapter of a
    model with a task head (``bert.encoder…``) merges into the bare model
    (``encoder…``) and back: see :func:`map_prefix`. A kept ``embed_tokens`` of a base
    whose head is tied to it, without ``ensure_weight_tying``, leaves the head the
    original table, as in PEFT's model (:func:`_tied_head`): written as
    ``lm_head.weight``, the copied ``config.json`` untied; a kept ``lm_head`` of such a
    base is written that way too, with the tensors the untied config unties besides
    (an encoder-decoder's ``encoder``/``decoder`` ``embed_tokens``, :func:`_tie_partners`)
    written as the shared table. With ``ensure_weight_tying`` the head is the table
    (:func:`_untied`). A LoRA of the tied table changes the head with it, as PEFT's
    ``merge_and_unload`` does, whether or not the base stores ``lm_head.weight`` (a stored
    head is written as the merged table, the config still tied:
    :func:`_stored_head_follows`, noted). A tied base that stores ``lm_head.weight`` gets
    ``tie_word_embeddings: false`` in the copied config where the written head still
    differs from the written table (a LoRA of the head: :class:`StoredHeadTie`, noted).

    Parameters
    ----------
    base : path or Checkpoint
        Safetensors checkpoint (file, directory, sharded).
    adapter : path or Adapter
        A PEFT LoRA directory or an :class:`~svdkit.lora.adapter.Adapter`.
    output : path
        A directory (shards, index and side files mirrored) or a ``.safetensors`` file
        (a sharded base's tensors all in that one file).
    fan_in_fan_out : bool or list of str, optional
        Which modules are transformers' ``Conv1D`` (base weight ``[in, out]``, merged
        ``(B A)ᵀ``): ``True`` all, ``False`` none, or their names (suffixes,
        regexes). Default: decided per module from the base's shapes, its
        ``config.json`` and the adapter's flag (:func:`svdkit.lora.modules.weight_layouts`),
        refused where that stays ambiguous (a square weight).

    Raises
    ------
    FileFormatError
        An adapter PEFT does not merge as ``W + scale·B A``: one whose
        ``init_lora_weights`` changes the base at load time (PiSSA, OLoRA, CorDA,
        LoRA-GA, LoftQ: convert it with PEFT first), or an Activated LoRA
        (``alora_invocation_tokens``), which PEFT refuses to merge; or an adapter of
        :func:`~svdkit.lora.pissa.pissa` given the original base rather than its
        residual (:func:`refuse_pissa_original`); a quantised base
        (:func:`_refuse_quantised`: a ``quantization_config``, integer codes, scales
        beside a weight that is not float); a ``config.json`` nested too deeply to read;
        an encoder-decoder whose head would be untied from a table other than
        ``shared.weight``; a head written apart from its table in a model whose tie also
        scales the decoder's output (T5 v1.0), which no config loads right.
    ShapeError
        A module whose layout (``nn.Linear`` or ``Conv1D``) cannot be told, or does
        not fit the base (for an embedding or a head with other rows only, the error
        says the adapter's vocabulary was resized).
    SvdkitError
        A tensor kept whole whose values the base's integer dtype cannot hold exactly;
        a ``fan_in_fan_out`` name that is no valid regex or matches no 2-D module of
        the base or the adapter.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from svdkit.lora import Adapter, Checkpoint, LoraModule, merge, save_safetensors
    >>> rng = np.random.default_rng(0)
    >>> W = rng.standard_normal((8, 6)).astype(np.float32)
    >>> B, A = rng.standard_normal((8, 2)), rng.standard_normal((2, 6))
    >>> ad = Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=4.0)})  # scale 4 / 2
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     d = pathlib.Path(tmp)
    ...     bias = np.zeros(8, np.float32)
    ...     save_safetensors(d / "base.safetensors", {"fc.weight": W, "fc.bias": bias})
    ...     out = merge(d / "base.safetensors", ad, d / "merged.safetensors")
    ...     ck = Checkpoint(out)
    ...     print(out.name, ck.names, ck.dtype("fc.weight"))
    ...     print(bool(np.allclose(ck.read("fc.weight"), W + 2.0 * B @ A, atol=1e-5)))
    merged.safetensors ['fc.weight', 'fc.bias'] F32
    True
    """
    output = check_path(output, "output")
    progress = check_bool(progress, "progress")
    fan_in_fan_out = check_fan_in_fan_out(fan_in_fan_out)
    base_ck = as_checkpoint(base, "base").require_model("base")
    inputs = {"base": base_ck.path}
    if isinstance(adapter, (str, os.PathLike)):
        inputs["adapter"] = Path(adapter)
    check_not_input(output, "output", **inputs)
    ad = _token_copies(base_ck, _untied(base_ck, as_adapter(adapter)))
    refuse_base_changing(ad, "merge")
    refuse_pissa_original(base_ck, ad)
    if ad.config.get("alora_invocation_tokens"):
        raise FileFormatError(
            "the adapter is an Activated LoRA (alora_invocation_tokens is set): it acts only "
            "on the tokens after its invocation sequence, and merged into the weights it "
            "would act on every token; PEFT refuses to merge it too"
        )
    tokens = ad.trainable_tokens()
    mapped = map_prefix(base_ck, ad, tokens)
    if mapped is not None:
        ad, tokens = mapped
    ad = _with_layouts(base_ck, ad, fan_in_fan_out)
    head = f"{TIED_HEAD}.weight"
    try:
        _check(base_ck, ad, tokens, tied_to=_head_table(base_ck, ad))
    except MissingTensorError as err:
        hint = _prefix_hint(base_ck, ad, tokens)
        if hint:
            raise MissingTensorError(f"{err}; {hint}") from None
        raise
    _refuse_quantised(base_ck, ad, tokens)
    rows = token_rows(base_ck, tokens)
    # a config.json is written (untied) only for a directory output of a directory base
    config_written = output.suffix != ".safetensors" and any(
        rel == "config.json" for _, rel in side_files(base_ck))
    table = _tied_head(base_ck, ad, config_written)
    # what the untied config would untie besides the head: written as the shared table
    partners = [] if table is None else _tie_partners(base_ck, table)

    follows = _stored_head_follows(base_ck, ad, rows)

    def produce(name: str) -> Any:
        if follows is not None and name == head:  # one tensor with its table
            return merged_tensor(base_ck, ad, follows, tokens=rows)
        if table is not None and name == head:
            if head in ad.saved:  # the adapter's own head (modules_to_save)
                return ad.saved[head]
            return base_ck.tensor(table)  # the original table, as PEFT's head
        if name in partners:
            return merged_tensor(base_ck, ad, table, tokens=rows)
        return merged_tensor(base_ck, ad, name, tokens=rows)

    # a head the base stores though its config ties it: untied if it is written otherwise
    # (none where the head is written as the merged table it is one tensor with)
    stored = StoredHeadTie(base_ck, set() if follows is not None else
                           {f"{m}.weight" for m in ad.modules} | set(ad.saved) | set(rows))
    untie = {} if table is None else {"added": {head: table, **dict.fromkeys(partners, table)},
                                      "config": {"tie_word_embeddings": False}}

    def config() -> dict[str, Any]:
        return {**untie.get("config", {}), **stored.config()}

    out = write_like(base_ck, output, stored.wrap(produce), progress=progress, label="merge",
                     added={**untie.get("added", {}), **stored.added}, config=config)
    note = stored.note(config_written)
    if note:
        _log.warning("note: %s", note)
    return out


def refuse_pissa_original(base: Checkpoint, adapter: Adapter) -> None:
    """Refuse to merge a PiSSA adapter into the model PiSSA started from.

    A PiSSA adapter (:func:`svdkit.lora.pissa.pissa`) adds to its residual
    ``W − scale·B·A``: merged into the original ``W`` it counts the principal part
    twice. Its mark (:attr:`~svdkit.lora.adapter.Adapter.pissa_mark`) holds the
    Frobenius norms of one weight before and after; a base whose weight is nearer the
    original's norm than the residual's is the original (the two differ by the
    adapter's part, ``‖W‖² = ‖W_res‖² + ‖B A‖²``, far more than a cast of the residual
    to another float dtype moves it). An adapter without a mark, or a base without
    that weight, is not checked.

    Raises
    ------
    FileFormatError
        ``base`` holds the original weight.
    """
    mark = adapter.pissa_mark
    if mark is None or mark["tensor"] not in base.names:
        return
    name = mark["tensor"]
    if base.dtype(name) not in ("F64", "F32", "F16", "BF16"):
        return
    W = base.read(name)
    norm = float(np.linalg.norm(W.astype(np.float64, copy=False)))
    original, residual = float(mark["norm_base"]), float(mark["norm_residual"])
    if abs(norm - original) < abs(norm - residual):
        raise FileFormatError(
            f"the adapter is a PiSSA adapter: it adds to the residual written with it "
            f"('{mark['residual']}'), but '{base.path}' holds the weight PiSSA started from "
            f"({name!r} has norm {norm:.6g}, the original's {original:.6g}, the residual's "
            f"{residual:.6g}): merged there, the principal part would count twice. Merge it "
            "into its residual"
        )


def _with_layouts(
    base: Checkpoint, adapter: Adapter, fan_in_fan_out: bool | list[str] | None
) -> Adapter:
    """``adapter`` with each 2-D LoRA module's kind (``linear`` or ``conv1d``) decided
    against ``base`` (:func:`~svdkit.lora.modules.weight_layouts`): the adapter's
    ``fan_in_fan_out`` is only the last value PEFT set while wrapping layers."""
    flag = adapter.config.get("fan_in_fan_out")
    if fan_in_fan_out is None and not isinstance(flag, bool):
        return adapter  # (an Adapter made in Python: its kinds say the layouts)
    two_d = {n: m for n, m in adapter.modules.items() if m.kind in ("linear", "conv1d")}
    products = {n: (int(m.B.shape[0]), int(m.A.shape[1])) for n, m in two_d.items()}
    bases = {n: tuple(base.shape(f"{n}.weight")) for n in two_d if f"{n}.weight" in base}
    if not isinstance(flag, bool):
        flag = any(m.kind == "conv1d" for m in two_d.values())
    base_2d = ([module_of(n)[0] for n in base.names
                if module_of(n)[1] == "weight" and len(base.shape(n)) == 2]
               if isinstance(fan_in_fan_out, list) else [])
    conv1d = weight_layouts(
        products, bases, flag=flag, model=model_type(base), fan_in_fan_out=fan_in_fan_out,
        base_modules=base_2d,
    )
    if all((m.kind == "conv1d") == (n in conv1d) for n, m in two_d.items()):
        return adapter
    modules = dict(adapter.modules)
    for n, m in two_d.items():
        modules[n] = LoraModule(n, "conv1d" if n in conv1d else "linear", m.A, m.B, m.alpha)
    return dataclasses.replace(adapter, modules=modules)


def _needed(adapter: Adapter, tokens: dict) -> list[str]:
    """The base tensors an adapter merges into."""
    names = [f"{m}.weight" for m in adapter.modules]
    names += [n for n in adapter.saved if token_module(n) is None]
    return names + [f"{m}.weight" for m in tokens]


def _rename(way: str, prefix: str, name: str) -> str:
    return name[len(prefix):] if way == "removed" else prefix + name


def _prefix_candidates(base: Checkpoint, needed: list[str]) -> list[tuple[str, str, list[str]]]:
    """``(way, prefix, missing)``: each leading prefix that removing (leading names of
    the first tensor's) or adding (what stands before the first tensor in the base)
    could map the adapter's names with, and the names it leaves unmapped: not starting
    with a prefix to remove, or missing from ``base`` after it."""
    candidates: list[tuple[str, str]] = []
    parts = needed[0].split(".")
    for k in range(1, len(parts)):
        candidates.append(("removed", ".".join(parts[:k]) + "."))
    first = needed[0]
    for n in base.names:
        if n.endswith("." + first):
            candidates.append(("added", n[: len(n) - len(first)]))

    def mapped(way: str, prefix: str, name: str) -> bool:
        if way == "removed" and not name.startswith(prefix):
            return False
        return _rename(way, prefix, name) in base

    out = [(w, p, [n for n in needed if not mapped(w, p, n)]) for w, p in candidates]
    # a prefix to remove that maps nothing is no candidate worth naming
    return [(w, p, m) for w, p, m in out if w == "added" or len(m) < len(needed)]


def _prefix_hint(base: Checkpoint, adapter: Adapter, tokens: dict) -> str:
    """Why no prefix mapped the adapter onto ``base`` (for the error), or ``""``."""
    tried = _prefix_candidates(base, _needed(adapter, tokens))
    full = [f"{p!r} {w}" for w, p, missing in tried if not missing]
    if len(full) > 1:
        return f"several prefixes would map it ({', '.join(full)}): ambiguous, none is used"
    if not tried:
        return ""
    way, prefix, missing = min(tried, key=lambda t: len(t[2]))
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    verb = "removing" if way == "removed" else "adding"
    return (
        f"{verb} the prefix {prefix!r} maps all but {', '.join(map(repr, missing[:3]))}{more}"
    )


def map_prefix(
    base: Checkpoint, adapter: Adapter, tokens: dict[str, tuple[list[int], np.ndarray]]
) -> tuple[Adapter, dict[str, tuple[list[int], np.ndarray]]] | None:
    """The adapter and its trainable tokens renamed onto ``base`` by one leading prefix.

    transformers loads a ``BertModel`` checkpoint into ``BertForSequenceClassification``
    (and back) by adding (removing) its ``base_model_prefix`` ``bert.``; PEFT names an
    adapter's modules as in the model it was trained on. When some tensor the adapter
    merges into is not in ``base``, every prefix that removing (a run of leading names
    all of the adapter's share) or adding (what stands before the first one in the base)
    could fix is tried: when exactly one finds every tensor, the renamed adapter is
    returned and a note logged; otherwise ``None`` (the names stay; the check names
    the missing tensor). ``None`` too when nothing is missing.
    """
    needed = _needed(adapter, tokens)
    if not needed or all(n in base for n in needed):
        return None
    found = [(w, p) for w, p, missing in _prefix_candidates(base, needed) if not missing]
    if len(found) != 1:
        return None
    way, prefix = found[0]

    def new(name: str) -> str:
        return _rename(way, prefix, name)

    modules = {
        new(n): LoraModule(new(n), m.kind, m.A, m.B, m.alpha) for n, m in adapter.modules.items()
    }
    saved = {new(n): v for n, v in adapter.saved.items()}  # trainable tokens' names too
    out = Adapter(
        modules, saved, adapter.use_rslora, adapter.base_model_name_or_path, dict(adapter.config)
    )
    _log.warning(
        "note: prefix %r %s the names of the adapter's %d tensors to match the base (%s → %s)",
        prefix,
        "removed from" if way == "removed" else "added to",
        len(needed),
        needed[0],
        new(needed[0]),
    )
    return out, {new(m): v for m, v in tokens.items()}
