"""The record types a hive backend hands the hive reader: a leaf module, so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RawKey:
    """A key (nk) record as a backend parses it; offsets are relative to the first hive bin."""

    offset: int
    name: bytes
    compressed: bool
    subkey_count: int
    subkey_list: int
    value_count: int
    value_list: int
    timestamp: int


@dataclass(frozen=True)
class RawValue:
    """A value (vk) record as a backend parses it."""

    offset: int
    name: bytes
    compressed: bool
    type_num: int
    size_field: int
    offset_field: int


class Backend(Protocol):
    """What a hive parser library provides: the key and value records.

    Following the pointers between records (lists, data) is shared code: see :mod:`analyzer.sources.cells`.
    """

    name: str
    buffer: bytes

    def key(self, offset: int) -> RawKey:
        """The key record in the cell at ``offset`` (its signature already checked)."""

    def value(self, offset: int) -> RawValue:
        """The value record in the cell at ``offset`` (its signature already checked)."""
