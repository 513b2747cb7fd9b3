"""Hive backend built on python-registry (williballenthin/python-registry).

The hive file is memory-mapped read-only, so a lookup touches only the pages it needs: checking a 90 MB
hive keeps a few megabytes resident instead of a copy of the file.
"""

from __future__ import annotations

import mmap
from pathlib import Path as FsPath

from Registry import RegistryParse

from analyzer.sources.cells import BASE_BLOCK
from analyzer.sources.evidence import open_evidence
from analyzer.sources.records import RawKey, RawValue

_KEY_COMP_NAME = 0x20


class PyRegistryBackend:
    """python-registry parses the key (nk) and value (vk) records of the mapped hive."""

    name = "python-registry"

    def __init__(self, path: FsPath, data: bytes | None = None) -> None:
        if data is None:
            with open_evidence(path) as fh:
                try:
                    data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)  # type: ignore[assignment]
                except (OSError, ValueError):  # a file system without memory mapping
                    data = fh.read()
        self.buffer: bytes = data  # type: ignore[assignment]

    def key(self, offset: int) -> RawKey:
        nk = RegistryParse.NKRecord(self.buffer, BASE_BLOCK + 4 + offset, None)
        return RawKey(offset, nk.unpack_string(0x4C, nk.unpack_word(0x48)), bool(nk.unpack_word(0x2) & _KEY_COMP_NAME),
                      nk.unpack_dword(0x14), nk.unpack_dword(0x1C), nk.unpack_dword(0x24), nk.unpack_dword(0x28),
                      nk.unpack_qword(0x4))

    def value(self, offset: int) -> RawValue:
        vk = RegistryParse.VKRecord(self.buffer, BASE_BLOCK + 4 + offset, None)
        return RawValue(offset, vk.unpack_string(0x14, vk.unpack_word(0x2)), bool(vk.unpack_word(0x10) & 1),
                        vk.unpack_dword(0xC), vk.unpack_dword(0x4), vk.unpack_dword(0x8))
