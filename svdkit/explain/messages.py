"""Message catalogues: all of the report's words, one JSON file per language."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from svdkit.errors import SvdkitError

__all__ = ["LANGUAGES", "catalogue", "t"]

LANGUAGES = ("en", "fr")


@cache
def catalogue(lang: str = "en") -> dict[str, str]:
    """The message catalogue of ``lang``.

    Examples
    --------
    >>> catalogue("en")["section.svd"]
    'Singular value decomposition A = U Σ Vᴴ'
    """
    if lang not in LANGUAGES:
        raise SvdkitError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    text = resources.files("svdkit.explain").joinpath("locales", f"{lang}.json").read_text("utf-8")
    return json.loads(text)


def t(key: str, lang: str = "en", **values: object) -> str:
    """The message ``key`` in ``lang``, with ``{placeholders}`` filled in."""
    return catalogue(lang)[key].format(**values)
