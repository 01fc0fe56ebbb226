"""The ``svdkit`` command run in process, as the CLI review tests use it.

:func:`run_svdkit` runs the real entry point (:func:`svdkit.cli.main.main`, which
turns an ``SvdkitError`` into ``error: …`` on standard error and exit code 2) at the
80 columns rich assumes for a pipe; :func:`error_line` checks such an error.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from svdkit.cli.main import main


def run_svdkit(capsys, monkeypatch) -> Callable[..., tuple[int, str, str]]:
    """``run(*args) -> (exit code, stdout, stderr)``; any other exception propagates."""
    monkeypatch.setenv("COLUMNS", "80")  # what rich assumes for a pipe anyway

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["svdkit", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def error_line(code: int, err: str) -> str:
    """The one-line ``error: …`` message (joined if rich wrapped it), with exit code 2."""
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("error: "), err
    return " ".join(err.split())


#: A Python keyword argument (``k=5``, ``method='lapack'``).
_KEYWORD = re.compile(r"\w+=")
#: A snake_case name (``rank_tol``, ``max_rank``).
_SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
#: Quoted text (a path, a value as typed): not the message's own words.
_QUOTED = re.compile(r"'[^']*'|`[^`]*`|\"[^\"]*\"")


def last_error_line(code: int, err: str) -> str:
    """The ``error:`` line (after a progress bar on standard error, if any)."""
    return error_line(code, err[err.find("error: "):])


def assert_names_the_option(line: str, option: str) -> None:
    """``line`` names ``option`` as typed, and no Python keyword argument or
    snake_case parameter name outside quoted text."""
    assert option in line, line
    words = _QUOTED.sub("''", line)
    assert not _KEYWORD.search(words), line
    assert not _SNAKE.search(words), line


def case_ids(cases: list, width: int = 80) -> list[str]:
    """Test ids of ``(argv, expected)`` cases: the command line, cut to ``width``."""
    return [" ".join(argv)[:width] for argv, _ in cases]
