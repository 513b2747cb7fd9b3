"""Layered (differencing) hives: a regf 1.6 delta hive stacked on its base, one read-only view (machine.Base).

Windows containers keep a layer's registry changes in a differencing hive (``Hives/*_Delta``): a base block of
minor version 6 with flag 0x2 (layered keys supported).  The low nibble of the byte at offset 0x0D of a key
node is its layer semantics: 0 the key merges with the lower layer, 1 *tombstone* (the key and its subtree are
deleted), 2 *supersede local* (this key's values replace the lower layer's; its subkeys still merge),
3 *supersede tree* (this key and its subtree replace the lower layer's); bit 0x80 inherits the class name.  A
value whose flags hold 0x0002 is a *tombstone value*: it deletes the lower layer's value of that name.

Sources: Maxim Suhanov, "Windows registry file format specification", section "Layered keys"
(https://github.com/msuhanov/regf), and yarp's ``RegistryRecords`` (KEY_IS_TOMBSTONE 1, KEY_IS_SUPERSEDE_LOCAL 2,
KEY_IS_SUPERSEDE_TREE 3, VALUE_TOMBSTONE 0x0002; https://github.com/msuhanov/yarp); libyal/libregf,
"Windows NT Registry File (REGF) format" (documentation/).  UNCERTAIN: that *supersede local* leaves the lower
layer's subkeys visible is read from the names of the semantics; no public source spells it out.
"""

from __future__ import annotations

from datetime import datetime

from analyzer.registry import Path, Value, fold
from analyzer.sources.hive import HiveFile

MERGE, TOMBSTONE, SUPERSEDE_LOCAL, SUPERSEDE_TREE = 0, 1, 2, 3
SEMANTICS = {MERGE: "merge", TOMBSTONE: "tombstone", SUPERSEDE_LOCAL: "supersede-local",
             SUPERSEDE_TREE: "supersede-tree"}
LAYERED_KEYS = 0x2  # base block flag: layered keys supported


def is_delta(hive: HiveFile) -> bool:
    """Whether a hive is a differencing hive (regf 1.6 with layered keys)."""
    return hive.header.minor >= 6 and bool(hive.header_flags & LAYERED_KEYS)


class Stack:
    """A delta hive over its base: the delta wins, its tombstones delete, its supersede keys hide the base."""

    def __init__(self, base: HiveFile | Stack, delta: HiveFile) -> None:
        self.base, self.delta = base, delta
        self.display = delta.display

    def _base_sees(self, path: Path, values: bool = False) -> bool:
        """Whether the base's key at ``path`` shows through: no tombstone or supersede-tree key of the delta on
        the way to it (``path`` included), and for its values no supersede-local key at it either."""
        for depth in range(1, len(path) + 1):
            layer = self.delta.layer(path[:depth])
            if layer in (TOMBSTONE, SUPERSEDE_TREE) or (values and depth == len(path) and layer == SUPERSEDE_LOCAL):
                return False
        return True

    def key_name(self, path: Path) -> str | None:
        """The stored name of the key at ``path`` in the stacked view, or None."""
        if any(self.delta.layer(path[:depth]) == TOMBSTONE for depth in range(1, len(path) + 1)):
            return None
        name = self.delta.key_name(path)
        if name is not None:
            return name
        return self.base.key_name(path) if self._base_sees(path) else None

    def subkey_names(self, path: Path) -> list[str]:
        """Subkeys of both layers, the delta's tombstones removed."""
        names = {fold(n): n for n in self.base.subkey_names(path)} if self._base_sees(path) else {}
        for name in self.delta.subkey_names(path):
            if self.delta.layer((*path, name)) == TOMBSTONE:
                names.pop(fold(name), None)
            else:
                names[fold(name)] = name
        return list(names.values())

    def values(self, path: Path) -> list[Value]:
        """Values of both layers: the delta's win, its tombstone values delete."""
        merged = {fold(v.name): v for v in self.base.values(path)} if self._base_sees(path, values=True) else {}
        for value in self.delta.values(path):
            merged[fold(value.name)] = value
        for name in self.delta.tombstones(path):
            merged.pop(name, None)
        return list(merged.values())

    def value(self, path: Path, name: str) -> Value | None:
        """One value by case-insensitive name."""
        return next((v for v in self.values(path) if fold(v.name) == fold(name)), None)

    def last_write(self, path: Path) -> datetime | None:
        """The delta's last-write time where it holds the key, else the base's."""
        return self.delta.last_write(path) if self.delta.key_name(path) is not None else self.base.last_write(path)

    def damaged(self, path: Path, name: str | None = None) -> str | None:
        """A loss in either layer that could have answered the lookup."""
        return self.delta.damaged(path, name) or (self.base.damaged(path, name) if self._base_sees(path) else None)
