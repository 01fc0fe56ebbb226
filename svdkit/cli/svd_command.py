"""``svdkit svd FILE -k 50 -o out.npz``: certified truncated SVD of a matrix file.

``register(app)`` adds the sub-command to the typer app of :mod:`svdkit.cli.main`.

* ``.npy`` files are read in row blocks (out of core: at most ``--memory-limit``
  bytes of the matrix in memory at once); ``.npz`` (a SciPy sparse matrix, or one
  dense array) and ``.mtx`` (Matrix Market) are loaded, sparse content kept sparse.
* A progress bar runs on standard error when it is a terminal; one summary line goes
  to standard output, and each note that qualifies the result (its ``caveats``: a rank
  left uncertain near ``--rank-tol``, a tol tightened for a spectral ``--rank-tol``)
  to standard error as one ``note: …`` line. An ordinary run prints none; the notes
  on how the result was computed (the method ``auto`` chose, a handover to LAPACK,
  the Gram matrix) are kept in ``out.npz`` only.
* ``out.npz`` holds ``U``, ``s``, ``Vh``, ``residuals_right``, ``residuals_left``,
  ``rayleigh`` (``Re uᵢᴴ A vᵢ``: with ``‖A‖_F``, ``‖A − U Σ Vᴴ‖_F² = ‖A‖_F² −
  2 Σ σᵢ rayleighᵢ + Σ σᵢ²``), ``notes`` (every note, a ``str`` array), ``caveats``
  (those of them printed on standard error, a ``str`` array) and what produced
  them (``tol``, ``method``, ``seed``, ``iterations``, ``passes``,
  ``converged``, ``unconverged`` (the 0-based indices of the triplets that miss
  ``tol · σ₁``, an int64 array), ``error`` (why the result is not certified; empty
  when it is), ``format = "svdkit.lowrank.svd/1"``, and with ``--rank-tol`` the
  ``rank_tol`` and ``rank_norm`` that chose k); it is written to a
  temporary file and renamed, so it is either complete or absent. Nothing in it
  needs pickle: ``np.load(out, allow_pickle=False)`` reads it. An existing
  ``out.npz`` is replaced only when it is an earlier result (never the input, nor
  any other ``.npz``), and the output is checked before the computation starts.
* A run that does not certify its result (``--max-iter`` too low, a ``-k`` below the
  rank ``--rank-tol`` needs) still writes it, with ``converged = False`` (nothing
  computed is lost, as ``ConvergenceError.result`` keeps it in Python), but never to
  ``out.npz``: beside it, to ``out.uncertified.npz`` (:func:`uncertified_path`; an
  earlier one is replaced, under the same rule as ``out.npz``), so that ``out.npz``
  holds only a certified result and an earlier one is kept (a timestamp-driven
  pipeline, make, never takes a failed run's triplets for an up-to-date target). It
  ends with the ``error: …`` line, which says where the result was saved, and exit
  code 2. A later run that certifies its result of the same input (the file's path,
  size and modification time, stored as ``input``, ``input_size``, ``input_mtime_ns``
  in an uncertified result, taken once, when the file is read: a file removed or
  replaced later changes nothing, and one changed while it is read gets no record)
  removes that ``out.uncertified.npz``, with a ``note: …`` line: the failure no
  longer applies. Any other file there (a certified result, one of another input or
  of an earlier version of the file, any when the input changed while it was read)
  is left, with a note.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from svdkit._naming import speaks_flags
from svdkit.inputs.files import cli_file_path

__all__ = [
    "FORMAT", "check_output", "register", "tol_number", "uncertified_path", "write_result"
]

FORMAT = "svdkit.lowrank.svd/1"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*((?:[kmgt]i?)?b?)\s*$", re.I)
#: The largest ``--memory-limit``: what an index of memory can count.
_MAX_BYTES = sys.maxsize
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


class Method(StrEnum):
    auto = "auto"
    krylov = "krylov"
    gram = "gram"
    randomized = "randomized"
    dash = "dash"
    lapack = "lapack"


class RankNorm(StrEnum):
    spectral = "spectral"
    energy = "energy"


def _bytes(text: str) -> int:
    """``"256M"``, ``"1.5GiB"``, ``"1000000"``, ``"512B"`` → bytes (powers of 1024).

    The size is read exactly (a decimal, not a float: no overflow to infinity) and a
    fraction of a byte is rounded up (``1.5`` → 2 bytes, ``0.5K`` → 512); a size
    below one byte (``0``, ``0.1``) or above :data:`_MAX_BYTES` is refused.
    """
    from fractions import Fraction

    from svdkit.errors import SvdkitError

    match = _SIZE.match(text)
    if not match:
        raise SvdkitError(f"--memory-limit: cannot read {text!r} as a size (e.g. 256M, 2G)")
    unit = match.group(2).lower().rstrip("ib")[:1]  # "" (bytes), "k", "m", "g" or "t"
    exact = Fraction(match.group(1)) * _UNITS[unit]
    typed = text.strip() if len(text.strip()) <= 40 else text.strip()[:40] + "…"
    if exact < 1:
        raise SvdkitError(f"--memory-limit {typed!r} must be at least 1 byte (e.g. 256M, 2G)")
    if exact > _MAX_BYTES:
        raise SvdkitError(
            f"--memory-limit {typed!r} is more than {_MAX_BYTES} bytes (8 EiB; e.g. 256M, 2G)"
        )
    return math.ceil(exact)


def tol_number(text: str) -> float:
    """The parser of a tolerance option (``--tol``, ``--rank-tol``): a number, refused
    where it overflows.

    ``float("1e400")`` is ``inf``, which the check of ``tol`` then reports as
    ``got inf``, a value nobody typed: the number typed is named instead.

    Parameters
    ----------
    text : str
        What was typed (a default value may already be a number).

    Returns
    -------
    float
        The number.

    Raises
    ------
    ValueError
        ``text`` is not a number, or overflows float64 (typer reports it as a bad
        value of the option).

    Examples
    --------
    >>> tol_number("1e-3")
    0.001
    >>> tol_number("1e400")
    Traceback (most recent call last):
      ...
    ValueError: 1e400 overflows float64 (whose largest number is about 1.8e308)
    """
    if not isinstance(text, str):  # a default, already a number
        return float(text)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    word = text.strip().lower().lstrip("+-")
    if value in (float("inf"), float("-inf")) and word not in ("inf", "infinity"):
        raise ValueError(
            f"{text.strip()} overflows float64 (whose largest number is about 1.8e308)")
    return value


def _unconverged(result) -> np.ndarray:
    """Indices (0-based, int64) of the triplets of ``result`` whose residuals miss
    ``tol · σ₁`` (the rule of :func:`~svdkit.lowrank.truncated_svd`: a residual that is
    not finite never meets it)."""
    right, left = result.residuals_right, result.residuals_left
    if not result.k:
        return np.zeros(0, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        met = (np.maximum(right, left) <= result.bound) & np.isfinite(right) & np.isfinite(left)
    met &= bool(np.isfinite(result.bound))
    return np.flatnonzero(~met).astype(np.int64)


def write_result(
    path: Path,
    result,
    *,
    unconverged: np.ndarray | None = None,
    error: str = "",
    source: Path | None = None,
    made_from: Mapping[str, np.generic] | None = None,
) -> None:
    """Write a :class:`~svdkit.lowrank.LowRankSVD` to ``path`` (.npz), atomically
    (:func:`svdkit._files.write_file`: a new file gets the umask's permissions, a file
    written again keeps its own, a link is written through).

    Parameters
    ----------
    path : Path
        The ``.npz`` file.
    result : LowRankSVD
        The result, certified or not (``result.converged``).
    unconverged : ndarray of int, optional
        Indices (0-based) of the triplets that missed ``tol``
        (``ConvergenceError.unconverged``); by default found from the residuals.
    error : str, optional
        Why the result is not certified (the ``ConvergenceError``'s message); empty
        for a certified one.
    source : Path, optional
        The input file: its absolute path, size and modification time are stored
        (``input``, ``input_size``, ``input_mtime_ns``), which tell a later run
        whether this result is of the same input (:func:`_remove_stale_uncertified`).
        Where the file cannot be read (removed meanwhile) nothing is stored: the
        result is written all the same.
    made_from : mapping, optional
        That record, taken earlier (:func:`_input_identity`, when the input was
        opened: the version computed from, not one that replaced it since); it
        takes precedence over ``source``.
    """
    from svdkit._files import write_file

    if unconverged is None:
        unconverged = _unconverged(result)
    unconverged = np.asarray(unconverged, dtype=np.int64).reshape(-1)

    # rank mode: the rule that chose k (absent when k was asked)
    rank = {} if result.rank_tol is None else {
        "rank_tol": np.float64(result.rank_tol), "rank_norm": np.str_(result.rank_norm)
    }
    if made_from is None:
        made_from = (None if source is None else _input_identity(source)) or {}

    def write(f) -> None:
        np.savez(
            f,
            **rank,
            **made_from,
            U=result.U,
            s=result.s,
            Vh=result.Vh,
            residuals_right=result.residuals_right,
            residuals_left=result.residuals_left,
            rayleigh=result.rayleigh,
            # a fixed-width unicode array ('<U'): np.load reads it without pickle
            notes=np.array(result.notes, dtype=np.str_).reshape(len(result.notes)),
            caveats=np.array(result.caveats, dtype=np.str_).reshape(len(result.caveats)),
            tol=np.float64(result.tol),
            method=np.str_(result.method),
            seed=np.int64(-1 if result.seed is None else result.seed),
            iterations=np.int64(result.iterations),
            passes=np.int64(result.passes),
            converged=np.bool_(result.converged),
            unconverged=unconverged,
            error=np.str_(error),
            format=np.str_(FORMAT),
        )

    write_file(path, write)


def _input_identity(source: Path) -> dict[str, np.generic] | None:
    """What tells the input file ``source`` apart, as stored in a result: its absolute
    path, size and modification time (nanoseconds); None where it cannot be read (a
    file removed meanwhile): then nobody can tell which version a result is of."""
    try:
        info = source.stat()
        where = source.resolve()
    except (OSError, RuntimeError):  # (removed, unreadable folder, a loop of links)
        return None
    return {
        "input": np.str_(str(where)),
        "input_size": np.int64(info.st_size),
        "input_mtime_ns": np.int64(info.st_mtime_ns),
    }


def _still(identity: dict[str, np.generic] | None, source: Path) -> dict | None:
    """``identity`` (taken before ``source`` was read) where the file is unchanged
    since, else None: a file replaced or removed while it was read is of no known
    version."""
    now = _input_identity(source)
    if identity is None or now is None:
        return None
    return identity if _same_identity(identity, now) else None


def _same_identity(one: Mapping[str, object], other: Mapping[str, object]) -> bool:
    """The two records (:func:`_input_identity`) name the same version of one file."""
    return (str(one["input"]), int(one["input_size"]), int(one["input_mtime_ns"])) == (
        str(other["input"]), int(other["input_size"]), int(other["input_mtime_ns"])
    )


def uncertified_path(output: Path) -> Path:
    """Where ``svdkit svd -o output`` saves a result it could not certify: beside
    ``output``, ``.uncertified`` before its suffix (``out.npz`` →
    ``out.uncertified.npz``).

    ``output`` itself only ever holds a certified result: a failed run leaves an
    earlier one there as it was.

    Parameters
    ----------
    output : Path
        The ``--output`` file (``.npz``).

    Returns
    -------
    Path
        The sibling path, in the same folder.

    Examples
    --------
    >>> from pathlib import Path
    >>> uncertified_path(Path("runs/out.npz")).as_posix()
    'runs/out.uncertified.npz'
    """
    return output.with_name(f"{output.stem}.uncertified{output.suffix}")


def _save_uncertified(output: Path, err, identity: dict[str, np.generic] | None) -> Exception:
    """Write the uncertified result of ``err`` (a ``ConvergenceError``) beside
    ``output`` (:func:`uncertified_path`), with ``converged = False``, ``unconverged``,
    ``error`` and ``identity``, what identified the input file when it was read
    (:func:`_input_identity`; None: no record, so that no later run removes it);
    return the error to raise: ``err`` saying where the result went (or why it could
    not be saved). ``output`` is not touched. The input file is not needed any more
    (removed meanwhile, the result is saved all the same).

    Nothing computed is lost: a long out-of-core run that misses ``--tol`` keeps its
    triplets and their residuals, as ``err.result`` does in Python; and an earlier
    certified result in ``output`` is not replaced by them.
    """
    result = getattr(err, "result", None)
    if result is None:  # (no result to keep: the error as it is)
        return err
    target = uncertified_path(output)
    message = str(err).rstrip()
    if message and not message.endswith("."):
        message += "."
    try:
        write_result(
            target,
            result,
            unconverged=getattr(err, "unconverged", None),
            error=str(err),
            made_from=identity or {},
        )
    except OSError as failure:
        return err.with_message(
            f"{message} The uncertified result could not be saved to '{target}': "
            f"{failure.strerror or failure}; '{output}' was left as it was"
        )
    return err.with_message(
        f"{message} The uncertified result was saved to '{target}' (converged = False; "
        f"unconverged lists the triplets that miss --tol); '{output}' was left as it was"
    )


def _remove_stale_uncertified(
    output: Path, source: Path, identity: dict[str, np.generic] | None, result
) -> None:
    """After a certified result of ``source`` was written to ``output``, remove the
    uncertified result of an earlier failed run beside it (:func:`uncertified_path`),
    which no longer applies, and say so on standard error: a pipeline that detects a
    failure by the presence of ``out.uncertified.npz`` would otherwise see one.

    Only a file this command wrote as an uncertified result of the same input is
    removed: ``converged`` false, the same input file (path, size and modification
    time, as :func:`write_result` stores them) and the shape of ``result``; the
    input's record is ``identity``, taken when it was read (None: it could not be,
    or the file changed while it was, so nobody can tell). Any other file there (a
    certified result, one of another matrix or of an earlier version of the file, one
    without that record) is left, with a note saying so: nothing is lost. A file that
    cannot be removed is named in a note and left. It never raises: the certified
    result is written by then."""
    sibling = uncertified_path(output)
    try:
        if not sibling.is_file() or sibling.is_symlink() or not _is_result(sibling):
            return
    except OSError:  # (is_file is False on most errors; a folder we may not list)
        return
    reason = _other_run(sibling, source, identity, result)
    if reason is not None:
        typer.echo(f"note: '{sibling}' is left as it is: {reason}", err=True)
        return
    try:
        sibling.unlink()
    except FileNotFoundError:  # (removed meanwhile)
        return
    except OSError as err:
        typer.echo(
            f"note: '{sibling}', the uncertified result of an earlier run, no longer "
            f"applies but could not be removed: {err.strerror or err}",
            err=True,
        )
        return
    typer.echo(
        f"note: removed '{sibling}', the uncertified result of an earlier run on the same "
        f"input ('{output}' now holds a certified one)",
        err=True,
    )


def _other_run(
    path: Path, source: Path, identity: dict[str, np.generic] | None, result
) -> str | None:
    """Why the svdkit svd result ``path`` is no uncertified result of ``source`` (as
    ``identity`` records it) whose shape is ``result``'s (None when it is one).

    Only scalars and the ``.npy`` headers of ``U`` and ``Vh`` are read, never their
    data: after an out-of-core run the earlier ``U`` may not fit in memory."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as z:
            if "converged" not in z.files or bool(z["converged"]):
                return "it holds a certified result"
            if not {"input", "input_size", "input_mtime_ns"} <= set(z.files):
                return "it does not record which input it was computed from"
            made_from = {key: z[key] for key in ("input", "input_size", "input_mtime_ns")}
        with zipfile.ZipFile(path) as archive:
            shape = (_npy_shape(archive, "U")[0], _npy_shape(archive, "Vh")[-1])
    except MemoryError:
        return "there was not enough memory to read it"
    except Exception:  # (unreadable: not removed)
        return "it cannot be read"
    if identity is None:
        return (f"'{source}' could not be read again after this run read it (removed or "
                "changed meanwhile): whether it is of the same input cannot be told")
    if str(made_from["input"]) != str(identity["input"]):
        return f"it is the uncertified result of another input, '{made_from['input']}'"
    if not _same_identity(made_from, identity) or shape != (
        result.U.shape[0], result.Vh.shape[1]
    ):
        return f"it is the uncertified result of an earlier version of '{source}'"
    return None


def _npy_shape(archive, name: str) -> tuple[int, ...]:
    """The shape of the array ``name`` in the open ``.npz`` ``archive`` (a
    ``zipfile.ZipFile``), from its ``.npy`` header alone: its data is not read."""
    with archive.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, _ = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"{name}.npy: .npy format {version} is not read here")
    return tuple(shape)


def _is_result(path: Path) -> bool:
    """``path`` is an earlier output of ``svdkit svd`` (an .npz whose ``format`` is ours)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return "format" in z.files and str(z["format"]).startswith("svdkit.lowrank.svd/")
    except Exception:  # not an .npz at all, unreadable, …: not ours
        return False


def check_output(output: Path, file: Path) -> None:
    """Refuse, before any work, an ``--output`` that cannot or must not be written.

    It must end in ``.npz``, lie in an existing folder, not be a folder, and not
    be the input nor an existing file other than an earlier result of ``svdkit
    svd`` (which is replaced): a sparse matrix saved as ``.npz`` is never overwritten.
    The same holds for the path of an uncertified result beside it
    (:func:`uncertified_path`), checked now too: a run that fails after hours has
    somewhere to save its triplets.
    """
    from svdkit._files import check_file_output
    from svdkit.errors import FileFormatError

    if output.name.lower() == ".npz":  # (Path(".npz").suffix is "": a hidden file's name)
        raise FileFormatError(
            f"--output '{output}' has no name before .npz: name the file (e.g. out.npz)"
        )
    if output.suffix.lower() != ".npz":
        raise FileFormatError(f"--output must end in .npz; got '{output}'")
    check_file_output(output, "--output file", folder_exists=True)
    sibling = uncertified_path(output)
    check_file_output(sibling, "uncertified result", folder_exists=True)
    for path, what in ((output, ""), (sibling, " (where an uncertified result would go)")):
        if not path.exists():
            continue
        named = f"--output '{output}'" if not what else f"'{path}'{what}"
        if file.exists() and path.samefile(file):
            raise FileFormatError(f"{named} is the input file: choose another path")
        if not _is_result(path):
            raise FileFormatError(
                f"{named} exists and is not an svdkit svd result: refusing to replace it; "
                "choose another path"
            )


def _check_seed(seed: int) -> None:
    """``--seed``: the result file stores it as a 64-bit integer (the other numeric
    options are checked by :func:`~svdkit.lowrank.truncated_svd`, in this command's
    words: :func:`svdkit._naming.speaks_flags`)."""
    from svdkit.errors import SvdkitError

    if not 0 <= seed < 2**63:
        raise SvdkitError(f"--seed must be a non-negative integer below 2^63; got {seed}")


def register(app: typer.Typer) -> None:
    """Add the ``svd`` sub-command to ``app``."""

    @app.command("svd")
    @speaks_flags
    def svd_command(
        file: Annotated[
            Path,
            typer.Argument(
                parser=cli_file_path,
                help="Matrix file: .npy (read out of core), .npz (sparse or one array), .mtx.",
            ),
        ],
        output: Annotated[
            Path,
            typer.Option(
                "--output", "-o", parser=cli_file_path,
                help="Where to write U, s, Vh, residuals_right, residuals_left, rayleigh, "
                "notes, caveats (the notes printed) and the run's settings (.npz). An "
                "uncertified result goes beside it, to NAME.uncertified.npz (converged = "
                "False, exit code 2); this file is left as it was.",
            ),
        ],
        k: Annotated[
            int | None, typer.Option("-k", "--k", help="Number of singular triplets.")
        ] = None,
        tol: Annotated[
            float,
            typer.Option(
                help="Certify both residuals of every triplet to tol·σ₁.", parser=tol_number
            ),
        ] = 1e-6,
        method: Annotated[Method, typer.Option(help="Algorithm.")] = Method.auto,
        seed: Annotated[int, typer.Option(help="Seed of the random start.")] = 0,
        rank_tol: Annotated[
            float | None,
            typer.Option(
                help="Find the smallest k with relative error ≤ rank-tol (-k, if given, "
                "is the most it may be).",
                parser=tol_number,
            ),
        ] = None,
        rank_norm: Annotated[
            RankNorm | None,
            typer.Option(help="Norm of that error (with --rank-tol; default spectral)."),
        ] = None,
        memory_limit: Annotated[
            str,
            typer.Option(
                help="Matrix bytes held at once for .npy files (e.g. 256M, 2G; a "
                "fraction of a byte is rounded up)."
            ),
        ] = "256M",
        max_iter: Annotated[int | None, typer.Option(help="Most iterations of the method.")] = None,
    ) -> None:
        """Certified truncated SVD of a large matrix file: top-k triplets and their residuals.

        One summary line goes to standard output; each note that qualifies the result
        (a rank left uncertain near --rank-tol, a tol tightened for a spectral
        --rank-tol) goes to standard error as a "note: …" line. Every note, also those
        on how the result was computed (the method auto chose, a handover to LAPACK),
        is kept in the output's notes. A result that is not certified (--max-iter
        too low, -k below the rank --rank-tol needs) is saved too, beside the output
        (-o out.npz: out.uncertified.npz), with converged = False and the indices of
        the triplets that miss --tol in unconverged; the output itself, which only
        ever holds a certified result, is left as it was. The error line says where
        the result went, and the exit code is 2.
        """
        from rich.console import Console

        from svdkit.errors import (
            ConvergenceError,
            FileFormatError,
            MissingFileError,
            ShapeError,
            SvdkitError,
        )
        from svdkit.lowrank import as_operator, truncated_svd

        ext = file.suffix.lower()
        if file.is_dir():  # (before the extension: a folder named "data" has none)
            what = f"a {ext} file" if ext in (".npy", ".npz", ".mtx") else "a matrix file"
            raise FileFormatError(
                f"'{file}' is a directory, not {what}; svdkit svd reads .npy, .npz and "
                ".mtx files"
            )
        if file.name.lower() in (".npy", ".npz", ".mtx"):  # (a hidden file: no suffix)
            raise FileFormatError(
                f"'{file}' has no name before {file.name}: svdkit svd reads a file such as "
                f"matrix{file.name.lower()}"
            )
        if ext not in (".npy", ".npz", ".mtx"):
            raise FileFormatError(
                f"'{file}': svdkit svd reads .npy, .npz and .mtx files; got {ext or 'no extension'}"
            )
        if not file.is_file():
            raise MissingFileError(
                f"no such file: '{file}'" if not file.exists() else f"'{file}' is not a file"
            )
        if k is None and rank_tol is None:
            raise ShapeError("give -k (the number of triplets) or --rank-tol")
        if k is not None and k < 1:
            # (the API takes k = 0, no triplets: no use for a file of results)
            raise ShapeError(f"-k must be at least 1 (the number of triplets); got {k}")
        if rank_norm is not None and rank_tol is None:
            # without --rank-tol no rank is chosen: the norm would be silently ignored
            raise SvdkitError(
                f"--rank-norm {rank_norm.value} needs --rank-tol (the error that chooses k)"
            )
        _check_seed(seed)
        limit = _bytes(memory_limit)
        check_output(output, file)
        # what identifies the input, once, as it is read: the version computed from (a
        # file replaced or removed later changes nothing in the record)
        identity = _input_identity(file)
        if ext == ".npy":
            source: object = file  # out of core: as_operator reads row blocks
        else:
            from svdkit.inputs import load

            source = load(file, sparse=True)
            identity = _still(identity, file)  # (loaded: the file is not needed any more)
        op = as_operator(source, memory_limit=limit)  # (a .npy file: its header only)
        m, n = op.shape
        if k is not None and k > min(m, n):
            op.close()
            raise ShapeError(
                f"-k must be between 1 and min(m, n) = {min(m, n)} for this {m}×{n} "
                f"matrix; got {k}"
            )
        # (the norm only with --rank-tol: the API refuses one that would be ignored)
        rank = {} if rank_tol is None else {
            "rank_tol": rank_tol, "rank_norm": (rank_norm or RankNorm.spectral).value
        }
        # (its errors name this command's options: --max-iter, --method lapack)
        try:
            result = truncated_svd(
                op,
                k,
                tol=tol,
                method=method.value,
                seed=seed,
                **rank,
                memory_limit=limit,
                max_iter=max_iter,
                progress=True,
            )
        except ConvergenceError as err:  # (the triplets kept: out.uncertified.npz)
            if ext == ".npy":  # (read during the run: the same file all along?)
                identity = _still(identity, file)
            saved = _save_uncertified(output, err, identity)
            if saved is err:
                raise
            raise saved from err
        try:
            write_result(output, result)
        except OSError as err:
            raise SvdkitError(f"cannot write '{output}': {err.strerror or err}") from err
        if ext == ".npy":
            identity = _still(identity, file)
        _remove_stale_uncertified(output, file, identity, result)
        for note in result.caveats:  # (every note, these too, is kept in the file's notes)
            typer.echo(f"note: {note}", err=True)
        # one line, never wrapped: a program reading standard output gets it whole
        Console().print(
            f"{result.summary()} → {output}", highlight=False, soft_wrap=True, markup=False
        )
