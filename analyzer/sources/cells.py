"""Bounded, single-reference access to the cells of a hive: lists, records and value data.

Every pointer between cells is followed here, whichever backend parsed the records: a cell must lie
inside the file, a list must fit inside its cell, and each cell may be reached through one pointer
only.  A valid hive is a tree, so a loop, a shared subtree or value data used twice is an error here,
never a hang or an amplification of a small file into a large result.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

BASE_BLOCK = 4096
BIG_DATA_SEGMENT = 16344
ROOT_POINTER = 0x24  # the base-block field that holds the root key's offset
CHECKSUM = 0x1FC  # the base-block field that holds the checksum of the 508 bytes before it

# payload offsets of the fields regtls follows in key (nk) and value (vk) records
NK_SUBKEY_LIST, NK_VALUE_LIST, VK_DATA = 0x1C, 0x28, 0x08
# fixed size and position of the name length of each record type
_RECORDS = {b"nk": (0x4C, 0x48, "key"), b"vk": (0x14, 0x02, "value")}
_LIST_WIDTH = {b"lf": 8, b"lh": 8, b"li": 4, b"ri": 4}


def checksum(block: bytes) -> int:
    """The base block checksum: XOR of its first 127 little-endian dwords, with 0 and -1 avoided."""
    xor = 0
    for (word,) in struct.iter_unpack("<I", block[:CHECKSUM]):
        xor ^= word
    return {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(xor, xor)


class CellError(ValueError):
    """A damaged cell (wrapped into :class:`~analyzer.sources.hive.HiveError` with the file name)."""


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "little")


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def field(cell_offset: int, at: int) -> int:
    """The file position of the field ``at`` bytes into the payload of the cell at ``cell_offset``."""
    return BASE_BLOCK + cell_offset + 4 + at


@dataclass(frozen=True)
class Loss:
    """One entry of a list that could not be used: the cell it points to (or the list's) and what was wrong."""

    offset: int
    what: str


class Cells:
    """The hive bins of one file; ``pointer`` arguments are file positions of the fields that point.

    Lists are salvaged entry by entry: a bad entry (or a bad sublist of an ``ri``) is one :class:`Loss`, the
    others are still returned.
    """

    def __init__(self, buffer: bytes) -> None:
        self.buffer = buffer
        self._reached_from: dict[int, int] = {}

    def payload(self, offset: int, pointer: int) -> bytes:
        """The payload of the allocated cell at hive-bins ``offset``, reached through the field at ``pointer``."""
        pos = BASE_BLOCK + offset
        if pos + 4 > len(self.buffer):
            raise CellError(f"cell offset 0x{offset:x} is past the end of the hive")
        raw = struct.unpack_from("<i", self.buffer, pos)[0]
        size = abs(raw)
        if size < 4 or pos + size > len(self.buffer):
            raise CellError(f"cell at 0x{offset:x} has a bad size ({size})")
        if raw > 0:
            raise CellError(f"cell at 0x{offset:x} is a free cell (a live record points into unallocated space)")
        first = self._reached_from.setdefault(offset, pointer)
        if first != pointer:
            raise CellError(f"cell at 0x{offset:x} is reached through two pointers (a loop or a shared cell)")
        return self.buffer[pos + 4 : pos + size]

    def record(self, offset: int, pointer: int, signature: bytes) -> bytes:
        """The payload of a key (``nk``) or value (``vk``) record, checked to hold its fixed part and name."""
        cell = self.payload(offset, pointer)
        fixed, name_at, what = _RECORDS[signature]
        if cell[:2] != signature:
            raise CellError(f"entry at 0x{offset:x} is not a {what} ({signature.decode()}) record")
        if len(cell) < fixed or fixed + _u16(cell, name_at) > len(cell):
            raise CellError(f"{what} record at 0x{offset:x} is cut short (its name runs past its cell)")
        return cell

    def subkeys(self, list_offset: int, pointer: int) -> tuple[list[tuple[int, int]], list[Loss], int]:
        """(key offset, pointer) of each usable entry of a subkey list (lf, lh, li, or an ri of those), the
        entries or sublists lost, and the number of entries the list(s) declare."""
        out: list[tuple[int, int]] = []
        losses: list[Loss] = []
        declared = self._subkey_list(list_offset, pointer, out, losses, nested=False)
        return out, losses, declared

    def _subkey_list(self, offset: int, pointer: int, out: list[tuple[int, int]], losses: list[Loss],
                     nested: bool) -> int:
        try:
            cell = self.payload(offset, pointer)
        except CellError as exc:
            losses.append(Loss(offset, f"subkey list at 0x{offset:x} is unreadable: {exc}"))
            return 0
        signature, count = cell[:2], _u16(cell, 2)
        width = _LIST_WIDTH.get(signature)
        if width is None or (nested and signature == b"ri"):
            losses.append(Loss(offset, f"unknown subkey list signature {signature!r} at 0x{offset:x}"))
            return 0
        held = min(count, (len(cell) - 4) // width)
        if held < count:
            losses.append(Loss(offset, f"subkey list at 0x{offset:x} declares {count} entries, its cell holds "
                                       f"{held}: the others are lost"))
        declared = 0 if signature == b"ri" else count
        for at in range(4, 4 + held * width, width):
            if signature == b"ri":
                declared += self._subkey_list(_u32(cell, at), field(offset, at), out, losses, nested=True)
            else:
                out.append((_u32(cell, at), field(offset, at)))
        return declared

    def values(self, list_offset: int, count: int, pointer: int) -> tuple[list[tuple[int, int]], list[Loss]]:
        """(value offset, pointer) of each entry of a value list declaring ``count`` values, and what was lost."""
        if count == 0:
            return [], []
        try:
            cell = self.payload(list_offset, pointer)
        except CellError as exc:
            return [], [Loss(list_offset, f"value list at 0x{list_offset:x} is unreadable: {exc}")]
        held = min(count, len(cell) // 4)
        losses = [] if held == count else [Loss(list_offset, f"value list at 0x{list_offset:x} declares {count} "
                                                             f"values, its cell holds {held}: the others are lost")]
        return [(_u32(cell, at), field(list_offset, at)) for at in range(0, 4 * held, 4)], losses

    def data(self, size_field: int, offset_field: int, pointer: int, minor: int) -> bytes:
        """The exact stored bytes of a value: inline, in one cell, or in big-data (``db``) segments."""
        length = size_field & 0x7FFFFFFF
        if size_field & 0x80000000:
            if length > 4:
                raise CellError(f"inline value data claims {length} bytes (at most 4 fit)")
            return offset_field.to_bytes(4, "little")[:length]
        if length == 0:
            return b""
        if length > len(self.buffer):
            raise CellError(f"value data claims {length} bytes, more than the whole hive holds")
        cell = self.payload(offset_field, pointer)
        if length > BIG_DATA_SEGMENT and minor >= 4 and cell[:2] == b"db":
            return self._big_data(cell, offset_field, length)
        if length > len(cell):
            raise CellError(f"value data of {length} bytes at 0x{offset_field:x} runs past its cell "
                            f"({len(cell)} bytes)")
        return cell[:length]

    def _big_data(self, cell: bytes, offset: int, length: int) -> bytes:
        count, list_offset = _u16(cell, 2), _u32(cell, 4)
        needed = -(-length // BIG_DATA_SEGMENT)
        if count != needed:
            raise CellError(f"big-data record at 0x{offset:x} declares {count} segments, its {length} bytes "
                            f"need {needed}")
        segments = self.payload(list_offset, field(offset, 4))
        if 4 * count > len(segments):
            raise CellError(f"big-data list at 0x{list_offset:x} declares {count} segments, its cell holds "
                            f"{len(segments) // 4}")
        out = bytearray()
        for at in range(0, 4 * count, 4):
            want = min(BIG_DATA_SEGMENT, length - len(out))
            segment = self.payload(_u32(segments, at), field(list_offset, at))
            if len(segment) < want:
                raise CellError(f"big-data segment at 0x{_u32(segments, at):x} holds {len(segment)} bytes, "
                                f"{want} expected")
            out += segment[:want]
        return bytes(out)
