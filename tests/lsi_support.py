"""Helpers of the LSI tests: a saved index rewritten as another tool would."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path


def rewritten(src: Path, dst: Path, change: Callable[[Path, dict], None]) -> Path:
    """A copy of the index ``src`` at ``dst`` with ``change(dst, meta)`` applied (files
    and ``meta.json``'s fields), every checksum redone: what ``load_index`` then reads
    passes its integrity checks, so only its content checks can refuse it."""
    from svdkit.lsi.persist import _meta_digest

    shutil.copytree(src, dst)
    meta = json.loads((dst / "meta.json").read_text())
    change(dst, meta)
    for name in meta["sha256"]:
        meta["sha256"][name] = hashlib.sha256((dst / name).read_bytes()).hexdigest()
    meta["meta_sha256"] = _meta_digest(meta)
    (dst / "meta.json").write_text(json.dumps(meta))
    return dst
