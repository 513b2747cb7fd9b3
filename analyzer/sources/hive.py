"""Read-only access to raw regf hive files through a pluggable parser backend.

The backends (python-registry, regipy) parse the hive's key and value records; the pointers between
records are followed by the shared, bounded code of :mod:`analyzer.sources.cells`.  This module
normalises the result: names decoded as Windows stores them, value data as the exact stored bytes,
case-insensitive lookups, library exceptions turned into :class:`HiveError`.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from analyzer.registry import MAX_DEPTH, Origin, Path, Value, dword, fold, printable
from analyzer.sources import Diagnostic, SourceError
from analyzer.sources.cells import BASE_BLOCK, CHECKSUM, ROOT_POINTER, CellError, Cells, checksum, field
from analyzer.sources.evidence import open_evidence
from analyzer.sources.records import Backend, RawKey, RawValue
from analyzer.sources.salvage import NK_LAYER, Tree, bin_problems, decode_name

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Backend", "HiveError", "HiveFile", "RawKey", "RawValue", "decode_name"]

if TYPE_CHECKING:
    from analyzer.sources.logs import LogUse

_CONTROL_SET = re.compile(r"^CONTROLSET(\d{3})$")
_BIN_HEADER = 0x20


class HiveError(SourceError):
    """A hive is unreadable or a structure in it is damaged."""


@dataclass(frozen=True)
class Header:
    """The fields of the regf base block that regtls uses."""

    primary_seq: int
    secondary_seq: int
    major: int
    minor: int
    file_type: int
    file_name: str
    checksum_ok: bool
    root: int
    bins_size: int

    @property
    def dirty(self) -> bool:
        """True when the hive was not cleanly written (sequence numbers differ)."""
        return self.primary_seq != self.secondary_seq


def parse_header(block: bytes) -> Header | None:
    """Parse a regf base block, or return None when ``block`` does not start with ``regf``."""
    if len(block) < 512 or block[:4] != b"regf":
        return None
    seq1, seq2, _, major, minor, file_type = struct.unpack_from("<IIQIII", block, 4)
    name = block[0x30:0x70].decode("utf-16-le", "replace").split("\0", 1)[0]
    root, bins_size = struct.unpack_from("<II", block, ROOT_POINTER)
    return Header(seq1, seq2, major, minor, file_type, name,
                  checksum(block) == struct.unpack_from("<I", block, CHECKSUM)[0], root, bins_size)


def filetime(value: int) -> datetime | None:
    """Convert a FILETIME (100 ns since 1601) to an aware UTC datetime, or None when out of range."""
    try:
        return datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


BACKENDS = ("python-registry", "regipy")
DEFAULT_BACKEND = "python-registry"


def load_backend(name: str, path: FsPath, data: bytes | None = None) -> Backend:
    """Open ``path`` (or the hive bytes ``data`` replayed from it) with the named backend; the library is
    imported only when it is used."""
    if name == "python-registry":
        from analyzer.sources.backend_pyregistry import PyRegistryBackend

        return PyRegistryBackend(path, data)
    if name == "regipy":
        from analyzer.sources.backend_regipy import RegipyBackend

        return RegipyBackend(path, data)
    raise SourceError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")


# top-level keys of every user's NTUSER.DAT besides Software (learn.microsoft.com/windows/win32/sysinfo/
# hkey-current-user: AppEvents, Console, Control Panel, Environment, Keyboard Layout, Printers...)
NTUSER_KEYS = frozenset({"APPEVENTS", "CONSOLE", "CONTROL PANEL", "ENVIRONMENT", "KEYBOARD LAYOUT", "NETWORK",
                         "PRINTERS", "IDENTITIES", "EUDC"})


class HiveFile:
    """One SYSTEM or SOFTWARE hive file, read-only, with case-insensitive cached lookups.

    With ``any_kind``, a hive of another kind (NTUSER.DAT, SAM...) is read too, as kind ``other``.
    ``logs`` are the transaction logs found beside the file (None: do not apply them); a dirty hive is read
    as Windows would load it, with them replayed in memory (``log_names`` names them in messages).
    """

    def __init__(self, path: FsPath, backend: str = DEFAULT_BACKEND, display: str | None = None,
                 any_kind: bool = False, logs: list[FsPath] | None = None,
                 log_names: Callable[[FsPath], str] = str) -> None:
        self.path = path
        self.display = display or str(path)
        self.diagnostics: list[Diagnostic] = []
        try:
            with open_evidence(path) as fh:
                block, first_bin = fh.read(BASE_BLOCK), fh.read(_BIN_HEADER)
                size = os.fstat(fh.fileno()).st_size
        except OSError as exc:
            raise SourceError(f"{self.display}: cannot open: {exc.strerror or exc}") from None
        header = parse_header(block)
        if header is None:
            raise HiveError(f"{self.display}: not a registry hive (no 'regf' signature)", self.display)
        if header.file_type != 0:
            raise HiveError(f"{self.display}: a transaction log (file type {header.file_type}), not a primary hive: "
                            "give the hive file itself", self.display)
        if len(first_bin) < _BIN_HEADER:  # a damaged first hive bin header is a warning (see bin_problems)
            raise HiveError(f"{self.display}: a registry hive base block without a hive bin after it (the file "
                            "is truncated or damaged)", self.display)
        if size < BASE_BLOCK + header.bins_size:
            self._note("warning", "truncated", f"the file is truncated: it holds {size - BASE_BLOCK} bytes of hive "
                       f"bins of the {header.bins_size} its base block declares; keys stored past its end are missing")
        self.logs: list[LogUse] = []  # what was done with each transaction log
        data = self._replay(path, header, logs, log_names) if header.dirty or not header.checksum_ok else None
        if logs and data is None and not self.logs:
            from analyzer.sources.logs import LogUse

            self.logs = [LogUse(p, False, "not needed: the hive is clean") for p in logs]
        self.file_header = header  # as the file on disk has it (dirty or not)
        self.header_flags = struct.unpack_from("<I", block, 0x90)[0] if len(block) >= 0x94 else 0
        header = parse_header(data[:BASE_BLOCK]) or header if data is not None else header
        self.header = header
        self.backend_name = backend
        self._backend: Backend = self._guard(lambda: load_backend(backend, path, data), "cannot parse the hive")
        self._cells = Cells(self._backend.buffer)
        self._tree = Tree(self._cells, self._backend, self.display, header.minor, self._add,
                          lambda p: Origin(self.display, control_set=self._control_set_of(p)))
        self._tree.set_root(self._guard(lambda: self._tree.read_key(header.root, ROOT_POINTER),
                                        "cannot read the root key"))
        for problem in bin_problems(self._backend.buffer, header.bins_size):
            self._note("warning", "bad-hbin", problem)
        self.kind = self._detect_kind(any_kind)
        self.control_set: str | None = None
        self.control_set_source: str | None = None
        if self.kind == "system":
            self._resolve_control_set()
        if not header.checksum_ok:
            self._note("warning", "checksum", "the base block checksum is wrong")

    def _replay(self, path: FsPath, header: Header, logs: list[FsPath] | None,
                names: Callable[[FsPath], str]) -> bytes | None:
        """The hive bytes with ``logs`` replayed (None when none applies), and a note of what was done."""
        state = (f"the hive is dirty (sequence numbers {header.primary_seq} and {header.secondary_seq} differ)"
                 if header.dirty else "the hive's base block checksum is wrong")
        if not header.dirty and not logs:  # a wrong checksum alone: the "checksum" warning says it
            return None
        if logs is None:
            self._note("warning", "dirty-hive", f"{state}: read as it is (--no-logs); recent changes that sit in "
                       "its transaction logs are missing")
            return None
        if not logs:
            self._note("warning", "dirty-hive", f"{state} and no .LOG1/.LOG2/.LOG file is beside it: recent "
                       "changes that sit in its transaction logs are missing")
            return None
        from analyzer.sources.logs import Recovery, recover

        recovery: Recovery = self._guard(lambda: recover(path, logs), "cannot replay the transaction logs")
        self.logs = recovery.logs
        for use in recovery.logs:
            if use.rejected:  # sizes the files do not support: nothing replayed from that entry on
                self._note("warning", "log-rejected", f"{names(use.path)}: {use.rejected}; the hive is read without "
                           "what the log holds from there on")
        done = "; ".join(f"{names(u.path)}: {u.detail}" for u in recovery.logs)
        if not recovery.applied:
            self._note("warning", "dirty-hive", f"{state} and none of its transaction logs applies ({done}): "
                       "recent changes may be missing")
            return None
        self._note("note", "logs-applied", f"{state}: read with its transaction logs replayed in memory ({done})")
        return recovery.data

    def _note(self, level: Any, code: str, message: str) -> None:
        self._add(Diagnostic(self.display, None, level, code, message))

    def _add(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def _guard(self, call: Any, what: str) -> Any:
        try:
            return call()
        except SourceError:
            raise
        except Exception as exc:
            detail = str(exc).splitlines()[0][:160] if str(exc) else ""
            kind = "" if isinstance(exc, CellError) else f"{type(exc).__name__}: "
            raise HiveError(f"{self.display}: {what}: {kind}{detail}".rstrip(": "), self.display) from None

    # -- kind and control set ----------------------------------------------------------------------
    def _detect_kind(self, any_kind: bool) -> str:
        names = {fold(n) for n in self.subkey_names(())}
        if any(_CONTROL_SET.match(n) for n in names):
            return "system"
        if "MICROSOFT" in names and not names & {"SOFTWARE", "SAM", "SELECT", "POLICY"}:
            return "software"
        if "SOFTWARE" in names and names & NTUSER_KEYS:
            return "ntuser"
        if any_kind:
            return "other"
        shown = ", ".join(printable(n) for n in sorted(self.subkey_names(()))[:6]) or "none"
        raise HiveError(f"{self.display}: a registry hive, but not SYSTEM or SOFTWARE (header name "
                        f"{printable(self.header.file_name)!r}, top-level keys: {shown})", self.display)

    def _resolve_control_set(self) -> None:
        sets = sorted(n for n in self.subkey_names(()) if _CONTROL_SET.match(fold(n)))
        by_number = {int(_CONTROL_SET.match(fold(n)).group(1)): n for n in sets}  # type: ignore[union-attr]
        for name in ("Current", "Default"):
            value = self.value(("Select",), name) if self.key_name(("Select",)) else None
            number = dword(value.data) if value is not None and value.type_num == 4 else None
            if number in by_number:
                self.control_set = f"ControlSet{number:03d}"
                self.control_set_source = f"Select\\{name}"
                if name != "Current":
                    self._note("warning", "control-set", f"Select\\Current is missing or names no control set: "
                               f"using Select\\Default = {number} ({self.control_set})")
                return
        self.control_set = sets[0]
        self.control_set_source = "lowest ControlSet00N"
        self._note("warning", "control-set", f"no usable Select\\Current or Select\\Default: using the lowest "
                   f"control set, {self.control_set}")

    # -- lookups (machine.Base) ---------------------------------------------------------------------
    def _folded(self, path: Path) -> Path:
        if len(path) > MAX_DEPTH:
            raise HiveError(f"{self.display}: key path deeper than {MAX_DEPTH} levels, the most a registry tree "
                            "may have", self.display)
        return tuple(fold(p) for p in path)

    def _key(self, path: Path) -> RawKey | None:
        return self._tree.key(path, self._folded(path))

    def raw_key(self, path: Path) -> RawKey | None:
        """The key record at hive-relative ``path`` (its cell offset and fields), or None."""
        return self._key(path)

    def key_name(self, path: Path) -> str | None:
        """The stored name of the key at hive-relative ``path`` or None."""
        raw = self._key(path)
        return None if raw is None else decode_name(raw.name, raw.compressed)

    def subkey_names(self, path: Path) -> list[str]:
        """The names of the readable subkeys of ``path``."""
        return [decode_name(k.name, k.compressed) for k in self._tree.children(path, self._folded(path)).values()]

    def values(self, path: Path) -> list[Value]:
        """The readable values of ``path``, with their exact stored data."""
        return list(self._tree.values(path, self._folded(path)).values())

    def value(self, path: Path, name: str) -> Value | None:
        """One value of ``path`` by case-insensitive name."""
        return self._tree.values(path, self._folded(path)).get(fold(name))

    def damaged(self, path: Path, name: str | None = None) -> str | None:
        """What was lost that could have held the key at ``path`` (or, with ``name``, that value of it; without,
        one of its subkeys): file, key path, cell offset and what was wrong; None when nothing lost matters."""
        return self._tree.damaged(path, name) if len(path) <= MAX_DEPTH else None

    def layer(self, path: Path) -> int | None:
        """The layer semantics of the key at ``path`` in a differencing hive (see :mod:`analyzer.sources.differencing`),
        or None when the key is absent."""
        raw = self._key(path)
        return None if raw is None else self._cells.buffer[field(raw.offset, NK_LAYER)] & 0x0F

    def tombstones(self, path: Path) -> set[str]:
        """The folded names of the tombstone values of the key at ``path`` (a differencing hive's deletions)."""
        self.values(path)
        return self._tree.tombstones.get(self._folded(path), set())

    @property
    def lost(self) -> int:
        """How many entries (subkeys, values, lists) were lost to damage so far."""
        return self._tree.lost

    def last_write(self, path: Path) -> datetime | None:
        """The last-write time of the key at ``path``."""
        raw = self._key(path)
        if raw is None:
            return None
        return filetime(raw.timestamp)

    def _control_set_of(self, path: Path) -> str | None:
        if self.kind == "system" and path and _CONTROL_SET.match(fold(path[0])):
            return self.key_name(path[:1])
        return None
