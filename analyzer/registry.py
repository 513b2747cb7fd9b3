"""Registry vocabulary shared by every layer: root names, paths, value types and decoded data."""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

ROOTS = (
    "HKEY_LOCAL_MACHINE",
    "HKEY_USERS",
    "HKEY_CLASSES_ROOT",
    "HKEY_CURRENT_CONFIG",
    "HKEY_CURRENT_USER",
    "HKEY_DYN_DATA",
)
ABBREVIATED_ROOTS = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKU": "HKEY_USERS",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKCC": "HKEY_CURRENT_CONFIG",
    "HKCU": "HKEY_CURRENT_USER",
}

REG_NONE, REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD = 0, 1, 2, 3, 4
REG_DWORD_BIG_ENDIAN, REG_LINK, REG_MULTI_SZ, REG_QWORD = 5, 6, 7, 11
TYPE_NAMES = {
    0: "REG_NONE",
    1: "REG_SZ",
    2: "REG_EXPAND_SZ",
    3: "REG_BINARY",
    4: "REG_DWORD",
    5: "REG_DWORD_BIG_ENDIAN",
    6: "REG_LINK",
    7: "REG_MULTI_SZ",
    8: "REG_RESOURCE_LIST",
    9: "REG_FULL_RESOURCE_DESCRIPTOR",
    10: "REG_RESOURCE_REQUIREMENTS_LIST",
    11: "REG_QWORD",
}
STRING_TYPES = (REG_SZ, REG_EXPAND_SZ)

Path = tuple[str, ...]
# "A registry tree can be 512 levels deep" (Microsoft, Registry element size limits): a deeper key path in
# a hive or a .reg file is damage or a loop, never a real key.
MAX_DEPTH = 512


def type_name(type_num: int) -> str:
    """Return the winnt.h name of a value type, or ``REG_0x...`` for an undefined one."""
    return TYPE_NAMES.get(type_num, f"REG_0x{type_num:x}")


@functools.lru_cache(maxsize=4096)
def fold_path(path: Path) -> tuple[str, ...]:
    """The comparison form of every part of a key path (recent ones cached: a .reg file repeats its key paths)."""
    return tuple(fold(p) for p in path)


def fold(name: str) -> str:
    """Return the case-insensitive comparison form of a key or value name (as Windows upcases)."""
    if name.isascii():
        return name.upper()
    return "".join(u if len(u := c.upper()) == 1 else c for c in name)


def printable(text: str) -> str:
    """``text`` with control characters escaped, so that a message built from hive data stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def split_path(path: str) -> Path:
    r"""Split ``HKLM\A\B`` style text into components, dropping empty ones and expanding root abbreviations."""
    parts = tuple(p for p in path.split("\\") if p)
    if not parts:
        return ()
    root = ABBREVIATED_ROOTS.get(parts[0].upper(), parts[0].upper())
    return (root, *parts[1:])


def join_path(path: Path) -> str:
    """Join path components with backslashes."""
    return "\\".join(path)


def dword(data: bytes) -> int | None:
    """Return the DWORD in ``data`` when it is exactly four bytes, else None."""
    return int.from_bytes(data, "little") if len(data) == 4 else None


def decode_string(data: bytes) -> str:
    """Decode UTF-16LE registry string data up to its first NUL, as Windows string APIs read it."""
    text = data[: len(data) & ~1].decode("utf-16-le", "surrogatepass")
    return text.split("\0", 1)[0]


def decode_multi(data: bytes) -> list[str]:
    """Decode REG_MULTI_SZ data into its strings (the list ends at the first empty string)."""
    text = data[: len(data) & ~1].decode("utf-16-le", "surrogatepass")
    out: list[str] = []
    for item in text.split("\0"):
        if not item:
            break
        out.append(item)
    return out


def decode(type_num: int, data: bytes) -> object:
    """Decode value data by type: int, str, list of str, or None where no decoding applies."""
    if type_num == REG_DWORD:
        return dword(data)
    if type_num == REG_DWORD_BIG_ENDIAN:
        return int.from_bytes(data, "big") if len(data) == 4 else None
    if type_num == REG_QWORD:
        return struct.unpack("<Q", data)[0] if len(data) == 8 else None
    if type_num in STRING_TYPES:
        return decode_string(data)
    if type_num == REG_MULTI_SZ:
        return decode_multi(data)
    return None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a key or value came from: a ``.reg`` line or a hive file (with its control set)."""

    file: str
    line: int | None = None
    column: int | None = None
    control_set: str | None = None
    offset: int | None = None  # the byte offset of a Registry.pol record

    def describe(self) -> str:
        """Short human-readable form, e.g. ``fix.reg:7``, ``Registry.pol (offset 8)`` or ``SYSTEM (ControlSet001)``."""
        if self.offset is not None:
            return f"{self.file} (offset {self.offset})"
        if self.line is not None:
            return f"{self.file}:{self.line}"
        return f"{self.file} ({self.control_set})" if self.control_set else self.file


@dataclass(frozen=True, slots=True)
class Value:
    """One registry value: exact stored bytes plus where it came from."""

    name: str
    type_num: int
    data: bytes
    origin: Origin

    @property
    def decoded(self) -> object:
        """The decoded data (see :func:`decode`)."""
        return decode(self.type_num, self.data)
