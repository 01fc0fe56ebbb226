"""Command-line errors name the options as typed (``--rank-tol``, ``-k``), never
Python's parameters (``rank_tol=``, ``k=5``) nor its call syntax (``method='lapack'``);
the Python API keeps Python's names (:mod:`svdkit._naming`).

The table is the complete map of the messages that leaked Python names (explain,
svd and every ``lsi`` subcommand), with the flag each must name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pytest
import typer
from cli_support import assert_names_the_option, case_ids, last_error_line, run_svdkit

from svdkit._naming import PYTHON, arg, flags_of, kw, speaks_flags, spelled_as
from svdkit.errors import SvdkitError

DOCS = [
    "the cat sat on the mat", "dogs and cats are pets", "graph theory of trees",
    "trees and graphs in computer science", "the human computer interface",
    "user interface design for computers", "cats chase mice", "minors of a graph",
    "pets like dogs",
]  # fmt: skip

HUGE = "1" + "0" * 400  # more than a float holds: it was an OverflowError traceback

SVD = ["svd", "A.npy", "-o", "o.npz"]
INDEX = ["lsi", "index", "corpus", "-o", "ix"]
EVAL = ["lsi", "eval", "idx", "--qrels", "qrels.txt"]

#: (argv, the option the error must name): every case of the map.
CASES = [
    (["explain", "1 2; 3 4", "--tol", "nan"], "--tol"),
    (["explain", "1 2; 3 4", "--tol", "inf"], "--tol"),
    (["explain", "1 2; 3 4", "--tol", "-1"], "--tol"),
    ([*SVD, "-k", "3", "--memory-limit", "0"], "--memory-limit"),
    ([*SVD, "-k", "3", "--memory-limit", "0.1"], "--memory-limit"),
    ([*SVD, "-k", "3", "--memory-limit", "10"], "--memory-limit"),
    ([*SVD, "-k", "3", "--memory-limit", "1.9999999"], "--memory-limit"),
    ([*SVD, "-k", "3", "--memory-limit", HUGE], "--memory-limit"),
    ([*SVD, "-k", "3", "--method", "lapack", "--memory-limit", "1K"], "--method krylov"),
    ([*SVD, "-k", "2", "--rank-tol", "0.01"], "--rank-tol"),
    ([*SVD, "-k", "3", "--method", "randomized", "--max-iter", "1"], "--max-iter"),
    ([*SVD, "-k", "3", "--method", "dash", "--max-iter", "1"], "--max-iter"),
    ([*SVD, "-k", "3", "--tol", "nan"], "--tol"),
    ([*SVD, "-k", "3", "--tol", "0"], "--tol"),
    ([*SVD, "-k", "3", "--rank-tol", "1.5"], "--rank-tol"),
    ([*SVD, "-k", "3", "--max-iter", "0"], "--max-iter"),
    ([*SVD, "-k", "3", "--seed", "-1"], "--seed"),
    ([*INDEX, "--rank-tol", "0"], "--rank-tol"),
    ([*INDEX, "--rank-tol", "1"], "--rank-tol"),
    ([*INDEX, "--rank-tol", "-1"], "--rank-tol"),
    ([*INDEX, "--rank-tol", "2"], "--rank-tol"),
    ([*INDEX, "--rank-tol", "nan"], "--rank-tol"),
    ([*INDEX, "--rank-tol", "inf"], "--rank-tol"),
    ([*INDEX, "--tol", "0"], "--tol"),
    ([*INDEX, "--tol", "1"], "--tol"),
    ([*INDEX, "--tol", "5"], "--tol"),
    ([*INDEX, "--tol", "-1"], "--tol"),
    ([*INDEX, "--tol", "nan"], "--tol"),
    ([*INDEX, "-k", "1000"], "-k"),
    ([*INDEX, "--max-df", "0"], "--max-df"),
    ([*INDEX, "--min-df", "5", "--max-df", "2"], "--max-df"),
    ([*INDEX, "--min-df", "0.9", "--max-df", "0.1"], "--max-df"),
    ([*INDEX, "--min-df", "100"], "--min-df"),
    ([*INDEX, "--max-df", "0.01"], "--max-df"),
    ([*INDEX, "--max-features", "0"], "--max-features"),
    ([*INDEX, "--max-features", "-5"], "--max-features"),
    ([*INDEX, "--chunk-size", "0"], "--chunk-size"),
    ([*INDEX, "--chunk-size", "-1"], "--chunk-size"),
    ([*INDEX, "--ngram-range", "2", "1"], "--ngram-range"),
    ([*INDEX, "--ngram-range", "0", "0"], "--ngram-range"),
    (["lsi", "query", "idx", "cats", "-n", "0"], "-n"),
    (["lsi", "query", "idx", "cats", "-n", "-1"], "-n"),
    (["lsi", "similar", "idx", "d0.txt", "-n", "0"], "-n"),
    (["lsi", "similar", "idx", "--term", "cats", "-n", "-1"], "-n"),
    ([*EVAL, "--queries", "q.jsonl"], "--query-id-field"),
    ([*EVAL, "--queries", "q2.jsonl", "--query-id-field", "key"], "--query-text-field"),
    ([*EVAL, "--queries", "q.tsv", "--query-id-field", "key"], "--query-id-field"),
]



@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    from svdkit.lsi import build_index

    where = tmp_path_factory.mktemp("flags")
    np.save(where / "A.npy", np.random.default_rng(0).standard_normal((40, 30)))
    (where / "corpus").mkdir()
    for i, doc in enumerate(DOCS):
        (where / "corpus" / f"d{i}.txt").write_text(doc)
    build_index(str(where / "corpus"), 3).save(where / "idx")
    (where / "q.jsonl").write_text('{"key": "1", "text": "cats"}\n')  # no id field
    (where / "q2.jsonl").write_text('{"key": "1", "body": "cats"}\n')  # no text field
    (where / "q.tsv").write_text("1\tcats\n")
    (where / "qrels.txt").write_text("1 0 d0.txt 1\n")
    return where


@pytest.mark.parametrize(("argv", "option"), CASES, ids=case_ids(CASES))
def test_cli_errors_name_the_options_as_typed(argv, option, workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    code, _, err = run_svdkit(capsys, monkeypatch)(*argv)
    assert_names_the_option(last_error_line(code, err), option)
    assert not (workdir / "o.npz").exists()  # only a certified result is written there
    saved = workdir / "o.uncertified.npz"
    if saved.exists():  # a run that did not certify its result keeps it beside, marked so
        with np.load(saved, allow_pickle=False) as z:
            assert not bool(z["converged"])
        assert "The uncertified result was saved to" in err and "o.uncertified.npz" in err
        saved.unlink()
    assert not (workdir / "ix").exists()


WORDING = [
    # one wording for each fault, whichever command
    (["explain", "1 2; 3 4", "--tol", "nan"], "--tol must be a finite number >= 0; got nan"),
    ([*SVD, "-k", "3", "--tol", "nan"], "--tol must be a finite number; got nan"),
    ([*INDEX, "--tol", "nan"], "--tol must be a finite number; got nan"),
    ([*SVD, "-k", "3", "--tol", "1"], "--tol must be in [1e-14, 1); got 1"),
    ([*INDEX, "--tol", "-1"], "--tol must be in [1e-14, 1); got -1"),
    ([*INDEX, "--rank-tol", "2"], "--rank-tol must be in [1e-14, 1); got 2"),
    ([*SVD, "-k", "2", "--rank-tol", "0.01"],
     "--rank-tol 0.01 (spectral) needs more than the -k 2 triplets allowed; raise -k or "
     "loosen --rank-tol"),
    ([*SVD, "-k", "3", "--method", "lapack", "--memory-limit", "1K"],
     "more than the --memory-limit 1024 bytes allowed for a file; raise --memory-limit to "
     "at least 19200 bytes (18.8 KiB), or use --method krylov"),
    ([*SVD, "-k", "3", "--memory-limit", "10"],
     "--memory-limit 10 bytes cannot hold one row of the 40×30 matrix (240 bytes)"),
    # a fraction of a byte is rounded up, not down (1.9999999 was 1 byte)
    ([*SVD, "-k", "3", "--memory-limit", "1.9999999"], "--memory-limit 2 bytes cannot"),
    ([*SVD, "-k", "3", "--memory-limit", "0.1"],
     "--memory-limit '0.1' must be at least 1 byte"),
    ([*SVD, "-k", "3", "--memory-limit", HUGE], "is more than 9223372036854775807 bytes"),
    ([*SVD, "-k", "3", "--max-iter", "0"], "--max-iter must be an integer ≥ 1; got 0"),
    ([*INDEX, "--min-df", "5", "--max-df", "2"],
     "--min-df (5) is above --max-df (2): no term can be kept"),
    ([*INDEX, "--min-df", "100"],
     "no term is left after pruning (--min-df 100, --max-df 1, --stop-words english)"),
    ([*INDEX, "--ngram-range", "2", "1"], "--ngram-range must be (lo, hi) with 1 ≤ lo ≤ hi; "
     "got 2 1"),
    (["lsi", "query", "idx", "cats", "-n", "0"],
     "-n (the number of results) must be a positive integer; got 0"),
]


@pytest.mark.parametrize(("argv", "says"), WORDING, ids=case_ids(WORDING))
def test_cli_wording(argv, says, workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    code, _, err = run_svdkit(capsys, monkeypatch)(*argv)
    assert says in last_error_line(code, err)


def test_memory_limit_sizes_are_read_exactly():
    from svdkit.cli.svd_command import _bytes

    assert _bytes("1") == 1 and _bytes("1.5") == 2 and _bytes("0.5K") == 512
    assert _bytes("256M") == 256 * 2**20 and _bytes("1.5GiB") == 3 * 2**29
    assert _bytes("1.0000000001") == 2  # (a float product would give 1)
    assert _bytes(str(2**63 - 1)) == 2**63 - 1
    with pytest.raises(SvdkitError, match="at least 1 byte"):
        _bytes("0.999")
    for too_much in (str(2**63), "9000000T", HUGE):
        with pytest.raises(SvdkitError, match="more than"):
            _bytes(too_much)


# ------------------------------------------------------------------ the Python API


def test_python_api_keeps_python_names():
    from svdkit.errors import ConvergenceError
    from svdkit.linalg.tolerance import zero_threshold
    from svdkit.lowrank import truncated_svd
    from svdkit.lsi import TextOptions
    from svdkit.lsi.query import check_n

    A = np.diag(1.0 / np.arange(1, 31))
    with pytest.raises(ConvergenceError) as info:
        truncated_svd(A, 2, rank_tol=0.01)
    assert "rank_tol=0.01 (spectral) needs more than the k=2 triplets allowed; raise k or " \
           "loosen rank_tol" in str(info.value)
    with pytest.raises(SvdkitError, match=r"^tol must be in \[1e-14, 1\); got 0.0$"):
        truncated_svd(A, 2, tol=0.0)
    with pytest.raises(SvdkitError, match=r"^max_iter must be an integer ≥ 1; got 0$"):
        truncated_svd(A, 2, max_iter=0)
    with pytest.raises(SvdkitError, match=r"^n \(the number of results\) .*; got -1$"):
        check_n(-1)
    with pytest.raises(SvdkitError, match=r"^min_df \(5\) is above max_df \(2\)"):
        TextOptions(min_df=5, max_df=2)
    with pytest.raises(SvdkitError, match=r"^tol must be a finite number >= 0; got -1.0$"):
        zero_threshold((3, 3), 1.0, tol=-1.0)
    with pytest.raises(SvdkitError) as info:
        truncated_svd(A, 2, tol=float("nan"))
    assert info.value.param == "tol"


def test_a_library_call_inside_a_command_keeps_python_names():
    """svdkit.svd runs truncated_svd with options the calling command has not."""
    with spelled_as({"tol": "--tol", "k": "-k"}):
        assert arg("tol") == "--tol" and kw("k", 3) == "-k 3"
        with spelled_as(PYTHON):
            assert arg("tol") == "tol" and kw("k", 3) == "k=3"
    assert arg("tol") == "tol"


# ------------------------------------------------------------------ the mechanism


def test_flags_of_agrees_with_typer_for_every_command():
    """The option each Python name is spelled as is one that the command has."""
    import typer.main

    from svdkit.cli.main import app

    def leaves(command):
        subs = getattr(command, "commands", None)
        if subs is None:
            yield command
            return
        for sub in subs.values():
            yield from leaves(sub)

    seen = 0
    for command in leaves(typer.main.get_command(app)):
        options = {p.name: p.opts for p in command.params if p.param_type_name == "option"}
        flags = flags_of(command.callback)
        assert set(flags) == set(options), command.name
        for name, option in flags.items():
            assert option in options[name], (command.name, name, option)
        seen += 1
    assert seen >= 10


def test_an_error_about_an_option_not_spelled_yet_gets_it_appended():
    @speaks_flags(n_components="-k")
    def command(
        k: Annotated[int, typer.Option("-k")] = 3,
        chunk_size: Annotated[int, typer.Option(help="x")] = 5,
    ) -> None:
        if k == 1:
            raise SvdkitError("chunk_size is odd", param="chunk_size")
        if k == 2:
            raise SvdkitError(f"{arg('n_components')} is too large", param="n_components")
        raise SvdkitError("no option", param="other")

    with pytest.raises(SvdkitError, match=r"^chunk_size is odd \(option --chunk-size\)$") as e:
        command(k=1)
    assert e.value.param == "chunk_size"
    with pytest.raises(SvdkitError, match=r"^-k is too large$"):
        command(k=2)
    with pytest.raises(SvdkitError, match=r"^no option$"):
        command(k=3)
