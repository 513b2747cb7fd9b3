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

from regipy.registry import NKRecord, RegistryHive
from regipy.structs import REGF_HEADER_SIZE, VALUE_KEY

from analyzer.sources.hive import RawKey, RawValue

logging.getLogger("regipy").addHandler(logging.NullHandler())
logging.getLogger("regipy").propagate = False


def _raw_key(nk: NKRecord) -> RawKey:
    return RawKey(bytes(nk.header.key_name_string), bool(nk.header.flags.KEY_COMP_NAME), nk)


class RegipyBackend:
    """regipy parses the base block, key records and subkey lists (lf, lh, li, ri)."""

    name = "regipy"

    def __init__(self, path: FsPath) -> None:
        self._hive = RegistryHive(str(path))  # type: ignore[no-untyped-call]
        self._stream = self._hive._stream
        self.buffer: bytes = self._stream.getvalue()

    def root(self) -> RawKey:
        return _raw_key(self._hive.root)

    def children(self, handle: Any) -> Iterator[RawKey]:
        for nk in handle.iter_subkeys() or ():
            yield _raw_key(nk)

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
