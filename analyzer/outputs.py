"""Where a command may write its output: never onto, beside or inside its evidence, never over a device.

An output path is refused when it is (by device and inode, so through symbolic and hard links too) one of
the inputs or a file the command read; a transaction log name (``.LOG``/``.LOG1``/``.LOG2``) beside an
input hive, or anything in the ``RegBack`` folder beside it; anything inside an input folder (a config
folder, a Windows root, a scanned tree); an existing registry hive or log; or anything that exists and is
not a regular file (a device such as ``/dev/full``, a pipe, a socket, a folder).  ``-`` means stdout.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from analyzer.sources.evidence import was_read
from analyzer.sources.folder import LOG_SUFFIXES

STDOUT = "-"
_IMAGE_SEPARATOR = "@"  # IMAGE@VOLUME[@vssN] (analyzer.sources.volumes)


class OutputRefused(Exception):
    """The output path is not a place regtls may write; the message is one line naming it."""


def is_stdout(output: Path | None) -> bool:
    """Whether the result goes to stdout (no ``--output``, or ``--output -``)."""
    return output is None or str(output) == STDOUT


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _existing(path: Path) -> Path | None:
    """The file an input names: itself, or the image of ``IMAGE@VOLUME[@vssN]``."""
    if path.exists():
        return path
    parts = str(path).split(_IMAGE_SEPARATOR)
    for cut in (1, 2):
        base = Path(_IMAGE_SEPARATOR.join(parts[:-cut]))
        if len(parts) > cut and base.is_file():
            return base
    return None


def _folders_above(folder: Path) -> list[tuple[int, int]]:
    """The identities of ``folder`` and every folder above it."""
    out = []
    for each in (folder, *folder.parents):
        found = _identity(each)
        if found is not None:
            out.append(found)
    return out


def _logs_beside(hive: Path, wanted: set[str]) -> set[tuple[int, int] | None]:
    """The identities of the files named ``wanted`` (upper-cased) beside ``hive``."""
    try:
        return {_identity(p) for p in hive.parent.iterdir() if p.name.upper() in wanted}
    except OSError:
        return set()


def _refusal(output: Path, target: Path, info: os.stat_result | None, inputs: Iterable[Path]) -> str | None:
    """Why ``target`` (``output`` resolved; ``info`` its stat, None when new) is evidence, or None."""
    me = (info.st_dev, info.st_ino) if info else None
    above, beside = _folders_above(target.parent), _identity(target.parent)
    for given in inputs:
        path = _existing(given)
        if path is None:
            continue
        ident = _identity(path)
        if ident is None:
            continue
        if path.is_dir():
            if ident in above:
                return f"is inside the input folder {given}"
            continue
        if ident == me:
            return "is one of the inputs"
        for hive in {path, path.resolve()}:
            wanted = {hive.name.upper() + suffix for suffix in LOG_SUFFIXES}
            if (beside is not None and _identity(hive.parent) == beside and target.name.upper() in wanted) or (
                    me is not None and me in _logs_beside(hive, wanted)):
                return f"is a transaction log of the input {given}"
            if any(p.name.upper() == "REGBACK" and _identity(p.parent) == _identity(hive.parent)
                   for p in (target.parent, *target.parent.parents)[:-1]):
                return f"is in the RegBack folder beside the input {given}"
    if info is not None:
        read = was_read(info)
        if read is not None:
            return f"is {read}, which this command read"
        try:
            with open(target, "rb") as fh:  # the output, not evidence: not recorded as read
                if fh.read(4) == b"regf":
                    return "is a registry hive or transaction log"
        except OSError:
            pass  # unreadable: writing it fails with its own message
    return None


def check(output: Path | None, inputs: Iterable[Path]) -> None:
    """Raise :class:`OutputRefused` when ``output`` may not be written (see the module docstring)."""
    if is_stdout(output):
        return
    assert output is not None
    try:
        info: os.stat_result | None = output.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputRefused(f"{output}: cannot write there: {exc.strerror or exc}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OutputRefused(f"{output}: not a regular file (a device, pipe, socket or folder); regtls writes its "
                            "output to a new or regular file, or to - (stdout)")
    target = output.resolve()
    why = _refusal(output, target, info, inputs)
    if why is not None:
        raise OutputRefused(f"{output}: {why}; regtls never writes over its evidence")
    if not target.parent.is_dir():
        raise OutputRefused(f"{output}: the folder {output.parent} does not exist")


def write(data: bytes | Callable[[BinaryIO], None], output: Path) -> None:
    """Write ``data`` (bytes, or a function that writes them to the file it is given, as they come) to the regular
    file ``output`` atomically: a temporary file beside it, renamed over it.

    Call :func:`check` first; OSError when the write fails.  The temporary file never outlives a failure.
    """
    target = output.resolve()
    fd, tmp = tempfile.mkstemp(prefix=".regtls-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                data(fh)
        info = os.lstat(target) if os.path.lexists(target) else None
        if info is not None and not stat.S_ISREG(info.st_mode):  # replaced since check(): never rename over it
            raise OutputRefused(f"{output}: not a regular file (a device, pipe, socket or folder)")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
