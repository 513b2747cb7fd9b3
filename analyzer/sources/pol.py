"""Group Policy ``Registry.pol`` files (PReg, [MS-GPREG] 2.2.1) read as change sets, and written for ``fix``.

Format ([MS-GPREG] 2.2.1, learn.microsoft.com/openspecs/windows_protocols/ms-gpreg/5c092c22-...; the older
"Registry Policy File Format" page, learn.microsoft.com/previous-versions/windows/desktop/Policy/
registry-policy-file-format): the signature ``PReg`` and the DWORD version 1, then records
``[key;value;type;size;data]`` where ``[ ; ]`` and the NUL-terminated key and value names are UTF-16LE,
type and size are little-endian DWORDs and data is ``size`` raw bytes.  The key has no root: the file's
place (``...\\Machine\\Registry.pol`` or ``...\\User\\Registry.pol``) says HKLM or HKCU.

Value names starting with ``**`` are directives (compared without case):
``**del.<name>`` deletes one value; ``**delvals.`` deletes every value of the key; ``**DeleteValues``
deletes the values its REG_SZ data lists (``;``-separated); ``**DeleteKeys`` deletes the listed subkeys;
``**soft.<name>`` sets ``<name>`` only when it has no value yet (the ADMX ``soft`` attribute, "only apply
the registry value if no current value exists"); ``**SecureKey`` changes the key's ACL only, which
registry content does not show.  A record with an empty value name and no data only creates its key.
Records apply in file order.  Where a record is malformed the file is read up to it and the damage is one
error naming the byte offset (what Windows does with the rest of such a file is UNCERTAIN: [MS-GPREG]
3.2.5.1 only says a file failing the signature check is skipped).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from analyzer.registry import REG_NONE, REG_SZ, Path, decode_string, fold, printable
from analyzer.sources import Diagnostic, SourceError
from analyzer.sources.evidence import open_evidence
from analyzer.sources.regfile import Op, OpKind

if TYPE_CHECKING:
    from analyzer.machine import Machine
    from analyzer.sources.users import User

MAGIC = b"PReg"
VERSION = 1
MAX_FILE = 64 << 20  # a GPO's Registry.pol is kilobytes; a bigger file is refused before it is read
MACHINE_ROOT: Path = ("HKEY_LOCAL_MACHINE",)
USER_ROOT: Path = ("HKEY_CURRENT_USER",)
_OPEN, _SEP, _CLOSE = "[".encode("utf-16-le"), ";".encode("utf-16-le"), "]".encode("utf-16-le")


@dataclass(frozen=True)
class Record:
    """One ``[key;value;type;size;data]`` record and the byte offset of its ``[``."""

    offset: int
    key: str
    value: str
    type_num: int
    data: bytes


@dataclass
class PolFile:
    """A read Registry.pol: its records, the root it applies to, what was wrong, and the operations it made."""

    path: str
    root: Path
    records: list[Record] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)

    @property
    def malformed(self) -> bool:
        """Whether part of the file could not be read."""
        return any(d.code == "pol-malformed" for d in self.diagnostics)


class PolFormatError(Exception):
    """Damage in a Registry.pol, at a byte offset."""

    def __init__(self, offset: int, what: str) -> None:
        super().__init__(what)
        self.offset = offset


def _string(data: bytes, at: int) -> tuple[str, int]:
    """A NUL-terminated UTF-16LE string at ``at`` and the offset after its NUL."""
    end = at
    while True:
        end = data.find(b"\0\0", end)
        if end < 0:
            raise PolFormatError(at, "a name without its terminating NUL")
        if (end - at) % 2 == 0:
            break
        end += 1
    return data[at:end].decode("utf-16-le", "surrogatepass"), end + 2


def _expect(data: bytes, at: int, token: bytes, what: str) -> int:
    if data[at:at + 2] != token:
        found = data[at:at + 2].hex() or "the end of the file"
        raise PolFormatError(at, f"expected {what} ({token.decode('utf-16-le')!r}), found {found}")
    return at + 2


def parse(data: bytes) -> Iterator[Record]:
    """The records of PReg bytes, in order (raises :class:`PolFormatError` at the first damage)."""
    if data[:4] != MAGIC:
        raise PolFormatError(0, "no PReg signature")
    if len(data) < 8:
        raise PolFormatError(4, "the header ends before its version")
    version = struct.unpack_from("<I", data, 4)[0]
    if version != VERSION:
        raise PolFormatError(4, f"version {version}; only version 1 is defined")
    at = 8
    while at < len(data):
        start = at
        at = _expect(data, at, _OPEN, "the start of a record")
        key, at = _string(data, at)
        at = _expect(data, at, _SEP, "';' after the key")
        value, at = _string(data, at)
        at = _expect(data, at, _SEP, "';' after the value name")
        if at + 4 > len(data):
            raise PolFormatError(at, "the file ends inside the type")
        type_num = struct.unpack_from("<I", data, at)[0]
        at = _expect(data, at + 4, _SEP, "';' after the type")
        if at + 4 > len(data):
            raise PolFormatError(at, "the file ends inside the size")
        size = struct.unpack_from("<I", data, at)[0]
        at = _expect(data, at + 4, _SEP, "';' after the size")
        if at + size > len(data):
            raise PolFormatError(at, f"the data size {size} runs past the end of the file")
        payload = data[at:at + size]
        at = _expect(data, at + size, _CLOSE, "the end of the record")
        yield Record(start, key, value, type_num, payload)


def root_for(path: FsPath) -> Path | None:
    """HKLM for a file under a ``Machine`` folder, HKCU under ``User``, else None."""
    parent = fold(path.parent.name)
    return MACHINE_ROOT if parent == "MACHINE" else USER_ROOT if parent == "USER" else None


def read_pol(path: FsPath, display: str | None = None, root: Path | None = None) -> PolFile:
    """Read a Registry.pol; damage becomes one ``pol-malformed`` error naming the byte offset."""
    shown = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise SourceError(f"{shown}: a Registry.pol of {size} bytes; regtls reads at most {MAX_FILE}", shown)
        with open_evidence(path) as fh:
            data = fh.read()
    except OSError as exc:
        raise SourceError(f"{shown}: cannot open: {exc.strerror or exc}", shown) from None
    found = root or root_for(path)
    pol = PolFile(shown, found or MACHINE_ROOT)
    if found is None:
        pol.diagnostics.append(Diagnostic(shown, None, "note", "pol-scope", "not in a Machine or User folder: "
                                          "read as a machine policy file (HKEY_LOCAL_MACHINE)"))
    try:
        pol.records.extend(parse(data))
    except PolFormatError as exc:
        pol.diagnostics.append(Diagnostic(shown, None, "error", "pol-malformed",
                                          f"malformed Registry.pol at byte offset {exc.offset}: {exc}; "
                                          f"the {len(pol.records)} record(s) before it are applied"))
    return pol


def _names(data: bytes) -> list[str]:
    return [n for n in decode_string(data + b"\0\0").split(";") if n]


def changes(pol: PolFile, machine: Machine, root: Path | None = None) -> Iterator[Op]:
    """The file's records as change-set operations, in order; ``Op.line`` is the record's byte offset.

    ``machine`` answers what ``**soft.`` and ``**delvals.`` need (whether a value exists, which values a
    key has), so the operations must be applied as they are yielded.
    """
    root = root or pol.root
    for rec in pol.records:
        key = (*root, *(p for p in rec.key.split("\\") if p))
        if len(key) == len(root):
            pol.diagnostics.append(Diagnostic(pol.path, None, "warning", "pol-no-key",
                                              f"record at byte offset {rec.offset} has no key: ignored"))
            continue
        name, low = rec.value, fold(rec.value)
        if low.startswith("**DEL."):
            yield Op(OpKind.DELETE_VALUE, key, rec.offset, name[6:])
        elif low.startswith("**DELVALS"):
            for value in machine.values(key):
                yield Op(OpKind.DELETE_VALUE, key, rec.offset, value.name)
        elif low == "**DELETEVALUES":
            yield from (Op(OpKind.DELETE_VALUE, key, rec.offset, n) for n in _names(rec.data))
        elif low == "**DELETEKEYS":
            yield from (Op(OpKind.DELETE_KEY, (*key, *n.split("\\")), rec.offset) for n in _names(rec.data))
        elif low.startswith("**SOFT."):
            if machine.value(key, name[7:]) is None:
                yield Op(OpKind.SET_VALUE, key, rec.offset, name[7:], rec.type_num, rec.data)
            else:
                yield Op(OpKind.CREATE_KEY, key, rec.offset)
        elif low.startswith("**SECUREKEY"):
            yield Op(OpKind.CREATE_KEY, key, rec.offset)
        elif low.startswith("**"):
            pol.diagnostics.append(Diagnostic(pol.path, None, "warning", "pol-directive",
                                              f"unknown directive {printable(name)!r} at byte offset {rec.offset}: "
                                              "not applied"))
        elif not name and not rec.data:
            yield Op(OpKind.CREATE_KEY, key, rec.offset)
        else:
            yield Op(OpKind.SET_VALUE, key, rec.offset, name, rec.type_num, rec.data)


def apply_pol(machine: Machine, path: FsPath, display: str, people: list[User]) -> PolFile:
    """Read a Registry.pol and apply it to the machine; a user policy file applies to every mounted user."""
    pol = read_pol(path, display)
    roots = [u.prefix for u in people] if pol.root == USER_ROOT and len(people) > 1 else [pol.root]
    for root in roots:
        ops = changes(pol, machine, root)
        machine.apply(_recorded(ops, pol.ops), display, offsets=True)
    return pol


def _recorded(ops: Iterator[Op], into: list[Op]) -> Iterator[Op]:
    for op in ops:
        into.append(op)
        yield op


def record(key: str, value: str, type_num: int = REG_NONE, data: bytes = b"") -> bytes:
    """One PReg record as bytes."""
    def text(s: str) -> bytes:
        return (s + "\0").encode("utf-16-le", "surrogatepass")

    return (_OPEN + text(key) + _SEP + text(value) + _SEP + struct.pack("<I", type_num) + _SEP
            + struct.pack("<I", len(data)) + _SEP + data + _CLOSE)


def render(changes: list[tuple[OpKind, Path, str | None, int, bytes]]) -> bytes:
    """A Registry.pol for hive-relative changes (key path without root): sets, value and key deletions."""
    out = [MAGIC + struct.pack("<I", VERSION)]
    for kind, path, name, type_num, data in changes:
        key = "\\".join(path)
        if kind is OpKind.SET_VALUE:
            out.append(record(key, name or "", type_num, data))
        elif kind is OpKind.DELETE_VALUE:
            out.append(record(key, f"**del.{name or ''}", REG_SZ, " \0".encode("utf-16-le")))
        elif kind is OpKind.DELETE_KEY:
            out.append(record("\\".join(path[:-1]), "**DeleteKeys", REG_SZ, (path[-1] + "\0").encode("utf-16-le")))
        elif kind is OpKind.CREATE_KEY:
            out.append(record(key, "", REG_NONE))
    return b"".join(out)

