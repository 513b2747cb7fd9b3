"""Open evidence files read-only, without updating their access time where the system allows it.

Every read of an input (hives, logs, ``.reg`` files, disk images sniffed for their format) goes through
:func:`open_evidence`, which also records what it opened, so that the output guard can refuse to write
over any file the command read (:func:`was_read`).

``O_NOATIME`` (Linux, ``open(2)``) needs the caller to own the file or to hold ``CAP_FOWNER``; otherwise
the kernel refuses it with ``EPERM`` and the file is opened without it.
"""

from __future__ import annotations

import errno
import os
from typing import BinaryIO

_READ_ONLY = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOATIME: int = getattr(os, "O_NOATIME", 0)

_opened: dict[tuple[int, int], str] = {}
"""(device, inode) of every file opened as evidence in this process -> the path it was opened by."""


def open_evidence(path: str | os.PathLike[str]) -> BinaryIO:
    """``open(path, "rb")`` with ``O_RDONLY`` and, where the system allows it, ``O_NOATIME``.

    Raises OSError (with ``filename`` set) exactly like ``open``.
    """
    fd = -1
    if _NOATIME:
        try:
            fd = os.open(path, _READ_ONLY | _NOATIME)
        except PermissionError as exc:
            if exc.errno != errno.EPERM:  # EACCES: the file is not readable at all
                raise
    if fd < 0:
        fd = os.open(path, _READ_ONLY)
    try:
        info = os.fstat(fd)
        _opened[(info.st_dev, info.st_ino)] = os.fspath(path)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def head(path: str | os.PathLike[str], size: int) -> bytes | None:
    """The first ``size`` bytes of an evidence file (its signature), or None when it cannot be read."""
    try:
        with open_evidence(path) as fh:
            return fh.read(size)
    except OSError:
        return None


def was_read(info: os.stat_result) -> str | None:
    """The path by which this process read the file ``info`` describes, if it read it and it is still there."""
    path = _opened.get((info.st_dev, info.st_ino))
    if path is None:
        return None
    try:
        now = os.stat(path)
    except OSError:
        return None  # gone: its inode may now be another file's
    return path if (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino) else None
