"""Hive backend built on python-registry (williballenthin/python-registry)."""

from __future__ import annotations

from pathlib import Path as FsPath

from Registry import Registry, RegistryParse

from analyzer.sources.cells import BASE_BLOCK
from analyzer.sources.hive import RawKey, RawValue

_KEY_COMP_NAME = 0x20


class PyRegistryBackend:
    """python-registry parses the base block (the root key's place), key records and value records."""

    name = "python-registry"

    def __init__(self, path: FsPath) -> None:
        self._registry = Registry.Registry(str(path))
        self.buffer: bytes = self._registry._buf

    def root_offset(self) -> int:
        return int(self._registry._regf.first_key().offset()) - BASE_BLOCK - 4

    def key(self, offset: int) -> RawKey:
        nk = RegistryParse.NKRecord(self.buffer, BASE_BLOCK + 4 + offset, None)
        return RawKey(offset, nk.unpack_string(0x4C, nk.unpack_word(0x48)), bool(nk.unpack_word(0x2) & _KEY_COMP_NAME),
                      nk.subkey_number(), nk.unpack_dword(0x1C), nk.values_number(), nk.unpack_dword(0x28),
                      nk.unpack_qword(0x4))

    def value(self, offset: int) -> RawValue:
        vk = RegistryParse.VKRecord(self.buffer, BASE_BLOCK + 4 + offset, None)
        return RawValue(offset, vk.unpack_string(0x14, vk.unpack_word(0x2)), bool(vk.unpack_word(0x10) & 1),
                        vk.unpack_dword(0xC), vk.unpack_dword(0x4), vk.unpack_dword(0x8))
