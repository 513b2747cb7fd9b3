"""Hive backend built on regipy (mkorman90/regipy).

regipy's own ``iter_values`` copies the rest of the hive for every inline value (6.5.0: about one
second for eleven lookups on a 90 MB hive) and re-decodes data lossily, so value records are parsed
here with regipy's ``VALUE_KEY`` structure and the data is read by the shared, exact reader.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Any

from regipy.registry import Cell, NKRecord, RegistryHive
from regipy.structs import REGF_HEADER_SIZE, VALUE_KEY

from analyzer.sources.hive import CellError, RawKey, RawValue

logging.getLogger("regipy").addHandler(logging.NullHandler())
logging.getLogger("regipy").propagate = False


def _raw_key(nk: NKRecord) -> RawKey:
    return RawKey(bytes(nk.header.key_name_string), bool(nk.header.flags.KEY_COMP_NAME), nk)


class RegipyBackend:
    """regipy reads the hive and parses the base block, key (nk) and value (vk) records."""

    name = "regipy"

    def __init__(self, path: FsPath) -> None:
        self._hive = RegistryHive(str(path))  # type: ignore[no-untyped-call]
        self._stream = self._hive._stream
        self.buffer: bytes = self._stream.getvalue()

    def root(self) -> RawKey:
        return _raw_key(self._hive.root)

    def children(self, handle: Any) -> Iterator[RawKey]:
        # regipy's iter_subkeys() builds a key from whatever a list entry points at; check the "nk"
        # signature first so that a damaged list is an error, as python-registry reports it.
        if not handle.header.subkey_count:
            return
        for offset in self._list(handle.header.subkeys_list_offset, nested=False):
            cell = REGF_HEADER_SIZE + offset
            if self.buffer[cell + 4 : cell + 6] != b"nk":
                raise CellError(f"subkey entry at 0x{offset:x} is not a key (nk) record")
            nk = NKRecord(Cell(cell_type="nk", offset=cell + 6, size=0), self._stream)  # type: ignore[no-untyped-call]
            yield _raw_key(nk)

    def _list(self, offset: int, nested: bool) -> Iterator[int]:
        """Key offsets of a subkey list: lf/lh (offset, hash), li (offset) or ri (lists of lists)."""
        pos = REGF_HEADER_SIZE + 4 + offset
        signature, count = self.buffer[pos : pos + 2], struct.unpack_from("<H", self.buffer, pos + 2)[0]
        if signature in (b"lf", b"lh"):
            yield from (struct.unpack_from("<I", self.buffer, pos + 4 + 8 * i)[0] for i in range(count))
        elif signature == b"li":
            yield from struct.unpack_from(f"<{count}I", self.buffer, pos + 4)
        elif signature == b"ri" and not nested:
            for sub in struct.unpack_from(f"<{count}I", self.buffer, pos + 4):
                yield from self._list(sub, nested=True)
        else:
            raise CellError(f"unknown subkey list signature {signature!r} at 0x{offset:x}")

    def value_records(self, handle: Any) -> Iterator[RawValue]:
        count = handle.header.values_count
        if not count:
            return
        self._stream.seek(REGF_HEADER_SIZE + 4 + handle.header.values_list_offset)
        offsets = struct.unpack(f"<{count}I", self._stream.read(4 * count))
        for offset in offsets:
            self._stream.seek(REGF_HEADER_SIZE + 4 + offset)
            vk = VALUE_KEY.parse_stream(self._stream)
            yield RawValue(bytes(vk.name), bool(vk.flags.VALUE_COMP_NAME), int(vk.data_type),
                           vk.data_size, vk.data_offset)

    def timestamp(self, handle: Any) -> int:
        return int(handle.header.last_modified)
