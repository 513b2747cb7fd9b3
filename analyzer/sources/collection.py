"""Triage collections: a Velociraptor offline-collector ZIP holds machines; their hives are read from the ZIP.

Velociraptor stores each uploaded file under ``uploads/<accessor>/<device>/<path>`` with every path
component URL-escaped: ``uploads/auto/C%3A/Windows/System32/config/SYSTEM`` (the ``auto`` or ``file``
accessor) and ``uploads/ntfs/%5C%5C.%5CC%3A/Windows/System32/config/SYSTEM`` (the raw NTFS accessor, used
for locked files such as hives).  Each device with a ``Windows/System32/config`` holding SYSTEM or SOFTWARE
is one machine; a file collected through both accessors is read from the ``ntfs`` copy.  (KAPE output is
a folder tree, ``C/Windows/System32/config``, found by the folder walk, or a VHDX read as a disk image.)

An archive is evidence from an adversary: before anything is read, every member name is checked (no
``..``, no absolute or drive-letter names, no duplicates once decoded), the member count and the
central directory are bounded, and each member to copy must declare a size within the temporary-copy
budget and a plausible compression ratio.  Members are streamed through
:class:`analyzer.sources.bounded.CopyBudget` into a temporary folder removed on exit or interrupt.
"""

from __future__ import annotations

import contextlib
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote

from analyzer.sources import SourceError
from analyzer.sources.bounded import CopyBudget, default_budget
from analyzer.sources.evidence import head, open_evidence

if TYPE_CHECKING:
    from analyzer.sources.discovery import Found
    from analyzer.sources.folder import MachineSource

MAX_MEMBERS = 1_000_000
"""More members than this is refused before Python's zipfile reads the central directory into memory."""

MAX_DIRECTORY = 256 << 20
"""A central directory larger than this many bytes is refused likewise."""

MAX_RATIO = 200
"""A member to copy that declares more than this many bytes per compressed byte (and over 1 MiB) is a bomb."""

WANTED = ("SYSTEM", "SOFTWARE")
LOGS = (".LOG", ".LOG1", ".LOG2")
CONFIG = ("WINDOWS", "SYSTEM32", "CONFIG")
SEPARATOR = "@"


class CollectionError(SourceError):
    """A collection refused or unreadable; the message is one line naming the archive (and member)."""


def is_zip(path: Path) -> bool:
    """Whether the file starts like a ZIP archive."""
    return head(path, 4) in (b"PK\x03\x04", b"PK\x05\x06")


def _directory_size(path: Path) -> tuple[int, int]:
    """(member count, central directory bytes) from the end records, ZIP64 included; (0, 0) when absent."""
    with open_evidence(path) as fh:
        size = fh.seek(0, 2)
        start = max(0, size - (1 << 16) - 22)
        fh.seek(start)
        tail = fh.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            return 0, 0
        count, directory = struct.unpack_from("<HI", tail, at + 10)
        if (count == 0xFFFF or directory == 0xFFFFFFFF) and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
            (offset,) = struct.unpack_from("<Q", tail, at - 12)
            fh.seek(offset)
            record = fh.read(56)
            if record[:4] == b"PK\x06\x06" and len(record) == 56:
                count, directory = struct.unpack_from("<QQ", record, 32)
        return int(count), int(directory)


def _decoded(name: str) -> tuple[str, ...]:
    """A member name's components, each URL-unescaped (Velociraptor escapes ``:``, ``\\``, ``%``...)."""
    return tuple(unquote(part) for part in name.split("/") if part)


def _check_names(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """Refuse traversal, absolute and duplicate member names (one line naming the first such member)."""
    seen: set[str] = set()
    for info in members:
        name = info.filename
        raw = PurePosixPath(name.replace("\\", "/"))
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in raw.parts \
                or ".." in _decoded(name) or "\0" in name:
            raise CollectionError(f"{path}: refused: member {name!r} has an absolute or '..' name (path traversal)",
                                  str(path))
        decoded = "/".join(_decoded(name)).casefold()
        if decoded in seen:
            raise CollectionError(f"{path}: refused: member {name!r} appears twice (duplicate names)", str(path))
        seen.add(decoded)


def _device(parts: tuple[str, ...]) -> str:
    """The volume a device component names: ``C:`` for both ``C:`` and ``\\\\.\\C:``."""
    device = parts[0]
    if device.startswith("\\\\.\\"):
        device = device[4:]
    return device.upper() if len(device) == 2 and device[1] == ":" else device


@dataclass(frozen=True)
class Volume:
    """One collected volume's config files: canonical name (``SYSTEM``, ``SYSTEM.LOG1``) to the member."""

    device: str
    members: dict[str, zipfile.ZipInfo]


def volumes(path: Path) -> list[Volume]:
    """The collected volumes holding SYSTEM or SOFTWARE, after the archive passed every check."""
    count, directory = _directory_size(path)
    if count > MAX_MEMBERS or directory > MAX_DIRECTORY:
        raise CollectionError(f"{path}: refused: {count} members in a {directory}-byte central directory (at most "
                              f"{MAX_MEMBERS} members and {MAX_DIRECTORY} bytes)", str(path))
    try:
        with open_evidence(path) as raw, zipfile.ZipFile(raw) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise CollectionError(f"{path}: not a readable ZIP archive: {exc}", str(path)) from None
    _check_names(path, members)
    found: dict[str, dict[str, tuple[int, zipfile.ZipInfo]]] = {}
    wanted = {name + suffix for name in WANTED for suffix in ("", *LOGS)}
    for info in members:
        parts = _decoded(info.filename)
        if len(parts) < 7 or parts[0].casefold() != "uploads" or info.is_dir():
            continue
        accessor, rest = parts[1].casefold(), parts[2:]
        if tuple(p.upper() for p in rest[1:4]) != CONFIG or len(rest) != 5 or rest[4].upper() not in wanted:
            continue
        rank = 0 if accessor == "ntfs" else 1  # the raw NTFS read is the one that gets locked hives whole
        files = found.setdefault(_device(rest), {})
        canonical = rest[4].upper()
        if canonical not in files or rank < files[canonical][0]:
            files[canonical] = (rank, info)
    return [Volume(device, {n: info for n, (_, info) in sorted(files.items())})
            for device, files in sorted(found.items()) if any(n in files for n in WANTED)]


def recognise(path: Path) -> Found | None:
    """The machines of a collection ZIP (one per volume); a refused archive is one machine that says why."""
    from analyzer.sources.discovery import Found
    from analyzer.sources.folder import MachineSource

    if not is_zip(path):
        return None
    try:
        found = volumes(path)
    except CollectionError as exc:
        return Found([MachineSource(str(path), (path,), problem=str(exc), kind="collection")])
    if not found:
        return Found([], [f"{path}: a ZIP archive without uploads/*/*/Windows/System32/config hives (not a "
                          "Velociraptor collection); skipped"])
    return Found([MachineSource(f"{path}{SEPARATOR}{v.device}", (path,), kind="collection") for v in found])


def _split(name: str) -> tuple[Path, str]:
    archive, _, device = name.rpartition(SEPARATOR)
    return Path(archive), device


@contextlib.contextmanager
def opened(source: MachineSource) -> Iterator[tuple[list[Path], Callable[[str], str]]]:
    """The machine's hives and logs copied into a temporary folder (gone when the block ends), and how to
    show a copy's name: ``ZIP:uploads/auto/C%3A/Windows/System32/config/SYSTEM``."""
    archive, device = _split(source.name)
    volume = next((v for v in volumes(archive) if v.device == device), None)
    if volume is None:
        raise CollectionError(f"{archive}: no collected volume {device} with hives", str(archive))
    budget = CopyBudget(default_budget())
    with tempfile.TemporaryDirectory(prefix="regtls-collection-") as folder:
        names: dict[str, str] = {}
        with open_evidence(archive) as raw, zipfile.ZipFile(raw) as zf:
            for canonical, info in volume.members.items():
                what = f"{archive}:{info.filename}"
                if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                    raise CollectionError(f"{what}: refused: {info.file_size} bytes from {info.compress_size} "
                                          "compressed (a compression bomb)", str(archive))
                if info.file_size > budget.limit - budget.used:
                    raise CollectionError(f"{what}: refused: declares {info.file_size} bytes, over the "
                                          f"temporary-copy limit of {budget.limit} bytes", str(archive))
                target = Path(folder) / canonical
                try:
                    with zf.open(info) as member:
                        budget.copy(member.read, target, what)
                except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
                    raise CollectionError(f"{what}: cannot read the member: {exc}", str(archive)) from None
                names[str(target)] = what
        hives = [Path(folder) / n for n in WANTED if n in volume.members]
        yield hives, _shown_as(names)


def _shown_as(names: dict[str, str]) -> Callable[[str], str]:
    """Replace each temporary path in a text by the member it was copied from."""

    def shown(text: str) -> str:
        for temporary, member in names.items():
            text = text.replace(temporary, member)
        return text

    return shown
