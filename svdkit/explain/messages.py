"""Message catalogues: all of the report's words, one JSON file per language."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from svdkit.errors import SvdkitError

__all__ = ["LANGUAGES", "catalogue", "check_language", "t"]

LANGUAGES = ("en", "fr")


def check_language(lang: object, what: str = "") -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else an SvdkitError naming it.

    Any value is refused the same way, an unhashable one (a list) included: the
    check never looks ``lang`` up in a cache or a dict first. ``what`` says what the
    language is for (``" for a figure"``).

    Examples
    --------
    >>> check_language("fr")
    'fr'
    >>> check_language([])
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: unknown language []: use one of en, fr
    """
    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise SvdkitError(f"unknown language {lang!r}{what}: use one of {', '.join(LANGUAGES)}")
    return lang


def catalogue(lang: str = "en") -> dict[str, str]:
    """The message catalogue of ``lang`` (checked by :func:`check_language`).

    Examples
    --------
    >>> catalogue("en")["section.svd"]
    'Singular value decomposition A = U Σ Vᴴ'
    """
    return _read_catalogue(check_language(lang))


@cache
def _read_catalogue(lang: str) -> dict[str, str]:
    """The catalogue file of a checked ``lang``, read once."""
    text = resources.files("svdkit.explain").joinpath("locales", f"{lang}.json").read_text("utf-8")
    return json.loads(text)


def t(key: str, lang: str = "en", **values: object) -> str:
    """The message ``key`` in ``lang``, with ``{placeholders}`` filled in."""
    return catalogue(lang)[key].format(**values)
