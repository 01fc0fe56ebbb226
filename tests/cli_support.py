"""The ``svdkit`` command run in process, as the CLI review tests use it.

:func:`run_svdkit` runs the real entry point (:func:`svdkit.cli.main.main`, which
turns an ``SvdkitError`` into ``error: …`` on standard error and exit code 2) at the
80 columns rich assumes for a pipe; :func:`error_line` checks such an error.
"""

from __future__ import annotations

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
