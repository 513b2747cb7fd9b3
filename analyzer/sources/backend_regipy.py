"""Hive backend built on regipy (mkorman90/regipy).

regipy's own ``iter_values`` copies the rest of the hive for every inline value (6.5.0: about one
second for eleven lookups on a 90 MB hive) and re-decodes data lossily, so value records are parsed
here with regipy's ``VALUE_KEY`` structure and the data is read by the shared, exact reader.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path as FsPath

from regipy.registry import Cell, NKRecord, RegistryHive
from regipy.structs import REGF_HEADER_SIZE, VALUE_KEY

from analyzer.sources.evidence import open_evidence
from analyzer.sources.records import RawKey, RawValue

logging.getLogger("regipy").addHandler(logging.NullHandler())
logging.getLogger("regipy").propagate = False


def _open_bytes(data: bytes) -> RegistryHive:
    """regipy opens only files: hand it the bytes through an anonymous in-memory file (Linux ``memfd``), or
    else through a temporary file removed at once."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("regtls-hive", getattr(os, "MFD_CLOEXEC", 0))
        try:
            with open(fd, "wb", closefd=False) as out:
                out.write(data)
            return RegistryHive(f"/proc/self/fd/{fd}")  # type: ignore[no-untyped-call]
        finally:
            os.close(fd)
    with tempfile.TemporaryDirectory(prefix="regtls-regipy-") as folder:
        copy = FsPath(folder) / "hive"
        copy.write_bytes(data)
        return RegistryHive(str(copy))  # type: ignore[no-untyped-call]


class RegipyBackend:
    """regipy reads the hive and parses key (nk) and value (vk) records."""

    name = "regipy"

    def __init__(self, path: FsPath, data: bytes | None = None) -> None:
        if data is None:  # regipy reads the whole file anyway; read it here, as evidence (no access time)
            with open_evidence(path) as fh:
                data = fh.read()
        self._hive = _open_bytes(data)
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
