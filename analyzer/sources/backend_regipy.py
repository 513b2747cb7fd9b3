"""Hive backend built on regipy (mkorman90/regipy).

regipy's own ``iter_values`` copies the rest of the hive for every inline value (6.5.0: about one
second for eleven lookups on a 90 MB hive) and re-decodes data lossily, so value records are parsed
here with regipy's ``VALUE_KEY`` structure and the data is read by the shared, exact reader.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path as FsPath

from regipy.registry import Cell, NKRecord, RegistryHive
from regipy.structs import REGF_HEADER_SIZE, VALUE_KEY

from analyzer.sources.records import RawKey, RawValue

logging.getLogger("regipy").addHandler(logging.NullHandler())
logging.getLogger("regipy").propagate = False


class RegipyBackend:
    """regipy reads the hive and parses key (nk) and value (vk) records."""

    name = "regipy"

    def __init__(self, path: FsPath, data: bytes | None = None) -> None:
        if data is None:
            self._hive = RegistryHive(str(path))  # type: ignore[no-untyped-call]
        else:  # regipy only opens files: a replayed hive goes through a temporary one, removed at once
            with tempfile.TemporaryDirectory(prefix="regtls-regipy-") as folder:
                copy = FsPath(folder) / "hive"
                copy.write_bytes(data)
                self._hive = RegistryHive(str(copy))  # type: ignore[no-untyped-call]
        self._stream = self._hive._stream
        self.buffer: bytes = self._stream.getvalue()

    def key(self, offset: int) -> RawKey:
        header = NKRecord(Cell(cell_type="nk", offset=REGF_HEADER_SIZE + offset + 6, size=0), self._stream).header  # type: ignore[no-untyped-call]
        return RawKey(offset, bytes(header.key_name_string), bool(header.flags.KEY_COMP_NAME), header.subkey_count,
                      header.subkeys_list_offset, header.values_count, header.values_list_offset,
                      int(header.last_modified))

    def value(self, offset: int) -> RawValue:
        self._stream.seek(REGF_HEADER_SIZE + 4 + offset)
        vk = VALUE_KEY.parse_stream(self._stream)
        return RawValue(offset, bytes(vk.name), bool(vk.flags.VALUE_COMP_NAME), int(vk.data_type), vk.data_size,
                        vk.data_offset)
