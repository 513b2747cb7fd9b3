"""Hive backend built on python-registry (williballenthin/python-registry)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Any

from Registry import Registry, RegistryParse

from analyzer.sources.hive import RawKey, RawValue

_KEY_COMP_NAME = 0x20


def _raw_key(nk: Any) -> RawKey:
    length = nk.unpack_word(0x48)
    return RawKey(nk.unpack_string(0x4C, length), bool(nk.unpack_word(0x2) & _KEY_COMP_NAME), nk)


class PyRegistryBackend:
    """python-registry parses the base block, key records, subkey lists and value records."""

    name = "python-registry"

    def __init__(self, path: FsPath) -> None:
        self._registry = Registry.Registry(str(path))
        self.buffer: bytes = self._registry._buf

    def root(self) -> RawKey:
        return _raw_key(self._registry.root()._nkrecord)

    def children(self, handle: Any) -> Iterator[RawKey]:
        if handle.subkey_number() == 0:
            return
        for nk in handle.subkey_list().keys():  # noqa: SIM118 - a python-registry method, not a dict
            yield _raw_key(nk)

    def value_records(self, handle: Any) -> Iterator[RawValue]:
        if handle.values_number() == 0:
            return
        try:
            records = handle.values_list().values()
        except RegistryParse.RegistryStructureDoesNotExist:
            return
        for vk in records:
            length = vk.unpack_word(0x2)
            yield RawValue(vk.unpack_string(0x14, length), bool(vk.unpack_word(0x10) & 1),
                           vk.unpack_dword(0xC), vk.unpack_dword(0x4), vk.unpack_dword(0x8))

    def timestamp(self, handle: Any) -> int:
        return int(handle.unpack_qword(0x4))
