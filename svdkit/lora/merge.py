"""Merge an adapter into base weights, ``W + scale · B A``, streamed to safetensors.

:func:`write_like` writes a new checkpoint with the layout of an existing one
(same tensor names, dtypes, shapes and shards), tensor by tensor from a function
``name → array``: one tensor in memory at a time, every file written to a
temporary name and renamed, the directory built aside and renamed into place.
:func:`merge` uses it with ``W + scale · B A`` (added in float32, or float64 for
float64 weights, and rounded once to the stored dtype) for the LoRA modules and
the adapter's saved tensors (``modules_to_save``, biases) in place of the base ones.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from svdkit.lora.adapter import Adapter, LoraModule
>>> from svdkit.lora.safetensors_io import Checkpoint, save_safetensors
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> W = np.eye(3, dtype=np.float32)
>>> save_safetensors(d / "base.safetensors", {"fc.weight": W})
>>> ad = Adapter({"fc": LoraModule("fc", "linear", A=np.ones((1, 3)), B=np.ones((3, 1)), alpha=2)})
>>> out = merge(d / "base.safetensors", ad, d / "merged")
>>> Checkpoint(out).read("fc.weight").tolist()
[[3.0, 2.0, 2.0], [2.0, 3.0, 2.0], [2.0, 2.0, 3.0]]
"""

from __future__ import annotations

import json
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
    replace_directory,
)
from svdkit.errors import MissingTensorError, ShapeError
from svdkit.lora.adapter import Adapter
from svdkit.lora.extract import module_progress
from svdkit.lora.modules import module_of
from svdkit.lora.safetensors_io import Checkpoint, SafetensorsWriter

__all__ = ["check_checkpoint_output", "merge", "write_like"]

#: Small files copied from a base directory (config, tokenizer) so the output loads as a model.
_SIDE_FILES = (".json", ".txt", ".model", ".md")


def _holds_safetensors(directory: Path) -> bool:
    """An earlier checkpoint output: a directory with a ``*.safetensors`` file in it."""
    return any(directory.glob("*.safetensors"))


def check_checkpoint_output(output: str | os.PathLike, shards: int = 1) -> Path:
    """Check, before anything is written, that a checkpoint can be written to ``output``.

    Parameters
    ----------
    output : path
        A ``.safetensors`` file (``shards`` must be 1) or a directory.
    shards : int
        The number of files the checkpoint has.

    Returns
    -------
    Path
        ``output`` as a :class:`~pathlib.Path`.

    Raises
    ------
    ShapeError
        A sharded checkpoint sent to a single ``.safetensors`` file.
    FileFormatError
        A ``.safetensors`` output that is an existing directory; a directory
        output that is an existing file, or a non-empty directory holding no
        ``.safetensors`` file (not an earlier checkpoint: never wiped).
    """
    output = Path(output)
    if output.suffix != ".safetensors":
        return check_directory_output(output, "checkpoint directory", belongs=_holds_safetensors)
    if shards > 1:
        raise ShapeError(f"'{output}': a sharded base ({shards} shards) is written to a directory")
    return check_file_output(output, "checkpoint")


def write_like(
    base: Checkpoint,
    output: str | os.PathLike,
    produce: Callable[[str], np.ndarray],
    *,
    progress: bool = False,
    label: str = "write",
) -> Path:
    """Write a checkpoint shaped like ``base`` with tensor ``name`` = ``produce(name)``.

    ``output`` is a directory (created; replaced if it is an earlier checkpoint
    directory): the shards of ``base`` under their names (a single file as
    ``model.safetensors``), the index under the name ``base`` has it when it has
    one, and the small side files (``config.json``, tokenizer) of a base
    directory. A path ending in ``.safetensors`` writes that one file
    (single-file bases only). ``output`` is checked by
    :func:`check_checkpoint_output` before anything is written.
    """
    output = check_checkpoint_output(output, len(base.files))
    single = output.suffix == ".safetensors"
    parent = output.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmpdir = make_temp_dir(parent, prefix=f".{output.name}.")
    try:
        names = base.names
        with module_progress(progress, len(names), label) as advance:
            for shard, sf in base.files.items():
                fname = "model.safetensors" if base.index is None else shard
                layout = {n: (sf.entries[n][0], sf.entries[n][1]) for n in sf.names}
                with SafetensorsWriter(tmpdir / fname, layout, sf.metadata or None) as w:
                    for n in sf.names:
                        w.write(n, produce(n))
                        advance(n)
        if single:
            os.replace(tmpdir / "model.safetensors", output)
            shutil.rmtree(tmpdir, ignore_errors=True)
            return output
        index_name = None
        if base.index_path is not None:
            index_name = base.index_path.name
            src = json.loads(base.index_path.read_text(encoding="utf-8"))
            (tmpdir / index_name).write_text(json.dumps(src, indent=2), encoding="utf-8")
        if base.path.is_dir():
            for side in base.path.iterdir():
                if side.is_file() and side.suffix in _SIDE_FILES and side.name != index_name:
                    shutil.copyfile(side, tmpdir / side.name)
        replace_directory(tmpdir, output)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return output


def _check(base: Checkpoint, adapter: Adapter) -> None:
    for name, m in adapter.modules.items():
        key = f"{name}.weight"
        if key not in base:
            raise MissingTensorError(f"the adapter's module {name!r} has no {key!r} in the base")
        if tuple(base.shape(key)) != m.weight_shape:
            raise ShapeError(
                f"module {name!r}: base weight {list(base.shape(key))} ≠ adapter "
                f"{'(B A)ᵀ' if m.transposed else 'B A'} {list(m.weight_shape)}"
            )
    for name, value in adapter.saved.items():
        if name not in base:
            raise MissingTensorError(f"the adapter's saved tensor {name!r} is not in the base")
        if tuple(base.shape(name)) != tuple(value.shape):
            raise ShapeError(
                f"saved tensor {name!r}: {list(value.shape)} ≠ base {list(base.shape(name))}"
            )


def merged_tensor(
    base: Checkpoint, adapter: Adapter, name: str, *, subtract: bool = False
) -> np.ndarray:
    """Tensor ``name`` of the merged model, ``W + scale·B·A`` (``W − scale·B·A`` when
    ``subtract``: PiSSA's residual base); other tensors as they are. A LoRA module's
    weight saved with the adapter (PEFT's ``base_layer.weight``) is the ``W`` used."""
    module, param = module_of(name)
    m = adapter.modules.get(module)
    if m is None or param != "weight":
        return adapter.saved[name] if name in adapter.saved else base.tensor(name)
    dt = np.float64 if base.dtype(name) == "F64" else np.float32
    W = np.array(adapter.saved[name], dtype=dt) if name in adapter.saved else base.read(name, dt)
    delta = m.delta(adapter.use_rslora, dtype=dt)
    if subtract:
        W -= delta
    else:
        W += delta
    return W


def merge(
    base: str | os.PathLike | Checkpoint,
    adapter: str | os.PathLike | Adapter,
    output: str | os.PathLike,
    *,
    progress: bool = False,
) -> Path:
    """Write ``base`` with the adapter merged in (``W + scale · B A``) to ``output``.

    Parameters
    ----------
    base : path or Checkpoint
        Safetensors checkpoint (file, directory, sharded).
    adapter : path or Adapter
        A PEFT LoRA directory or an :class:`~svdkit.lora.adapter.Adapter`.
    output : path
        A directory (shards, index and side files mirrored) or a ``.safetensors`` file.
    """
    base_ck = base if isinstance(base, Checkpoint) else Checkpoint(base)
    ad = adapter if isinstance(adapter, Adapter) else Adapter.load(adapter)
    _check(base_ck, ad)

    def produce(name: str) -> Any:
        return merged_tensor(base_ck, ad, name)

    return write_like(base_ck, output, produce, progress=progress, label="merge")
