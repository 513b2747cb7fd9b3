"""The machine: hives mounted as a base, ``.reg`` change sets layered on top in order, one read-only view."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from analyzer.registry import Origin, Path, Value, fold
from analyzer.sources.regfile import Op, OpKind

CURRENT_CONTROL_SET = "CurrentControlSet"


class Base(Protocol):
    """A read-only registry tree mounted at a prefix (a hive file)."""

    display: str

    def key_name(self, path: Path) -> str | None:
        """The stored name of the key at the hive-relative ``path``, or None if it does not exist."""

    def subkey_names(self, path: Path) -> list[str]:
        """Names of the subkeys of an existing key."""

    def values(self, path: Path) -> list[Value]:
        """Values of an existing key."""

    def value(self, path: Path, name: str) -> Value | None:
        """One value of a key by case-insensitive name, or None."""

    def last_write(self, path: Path) -> datetime | None:
        """The last-write time of the key at ``path`` (UTC), or None."""

    def damaged(self, path: Path, name: str | None = None) -> str | None:
        """The lost entry (file, key path, cell offset, what was wrong) that could have held the key at
        ``path``, or with ``name`` that value of it, or without one of its subkeys; None when nothing is lost."""


@dataclass(slots=True)
class _Node:
    """A key touched by a change set: created keys, deleted subtrees and value changes."""

    name: str
    exists: bool = False
    opaque: bool = False
    origin: Origin | None = None
    children: dict[str, _Node] = field(default_factory=dict)
    values: dict[str, Value | None] = field(default_factory=dict)

    def child(self, name: str) -> _Node:
        key = fold(name)
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = _Node(name)
        return node


@dataclass(frozen=True)
class Mount:
    """A hive mounted at ``prefix`` (e.g. HKEY_LOCAL_MACHINE\\SYSTEM)."""

    prefix: Path
    base: Base


class Machine:
    """Hives plus change sets as one view; paths are case-insensitive and keep provenance."""

    def __init__(self, mounts: Iterable[Mount] = (), control_set: str | None = None) -> None:
        self.mounts = list(mounts)
        self.control_set = control_set
        self.current_user: Path | None = None  # HKEY_USERS\<SID> that HKEY_CURRENT_USER links to, when one user
        self._root = _Node("")
        self.damage_seen: list[str] = []

    # -- building ----------------------------------------------------------------------------------
    def apply(self, ops: Iterable[Op], file: str, offsets: bool = False) -> None:
        """Apply one change set; later changes win over earlier ones and over the hives.

        With ``offsets``, each operation's ``line`` is a byte offset (a Registry.pol record).
        """
        last: tuple[Path, _Node] | None = None  # the key of the last value set: the next values are often its
        for op in ops:
            origin = Origin(file, offset=op.line) if offsets else Origin(file, op.line, op.column)
            if op.kind is not OpKind.DELETE_KEY and last is not None and op.path is last[0]:
                node = last[1]
            elif op.kind is OpKind.DELETE_KEY:
                last = None
                node = self._node(self.resolve(op.path), create=True)  # type: ignore[assignment]
                assert node is not None
                node.exists, node.opaque, node.origin = False, True, origin
                node.children.clear()
                node.values.clear()
                continue
            else:
                node = self._create(self.resolve(op.path), origin)
                last = (op.path, node)
            if op.kind is OpKind.SET_VALUE:
                assert op.name is not None
                node.values[fold(op.name)] = Value(op.name, op.type_num, op.data, origin)
            elif op.kind is OpKind.DELETE_VALUE:
                assert op.name is not None
                node.values[fold(op.name)] = None

    def _create(self, path: Path, origin: Origin) -> _Node:
        node = self._root
        for part in path:
            node = node.child(part)
            if not node.exists:
                node.exists, node.origin, node.name = True, origin, part
        return node

    def _node(self, path: Path, create: bool = False) -> _Node | None:
        node: _Node | None = self._root
        for part in path:
            assert node is not None
            node = node.child(part) if create else node.children.get(fold(part))
            if node is None:
                return None
        return node

    # -- paths -------------------------------------------------------------------------------------
    def resolve(self, path: Path) -> Path:
        r"""Map ``HKLM\SYSTEM\CurrentControlSet`` to the control set in use, when a SYSTEM hive tells it, and
        ``HKEY_CURRENT_USER`` to the one user hive mounted under ``HKEY_USERS``."""
        if self.current_user and path and fold(path[0]) == "HKEY_CURRENT_USER":
            return (*self.current_user, *path[1:])
        if (self.control_set and len(path) >= 3 and fold(path[0]) == "HKEY_LOCAL_MACHINE"
                and fold(path[1]) == "SYSTEM" and fold(path[2]) == fold(CURRENT_CONTROL_SET)):
            return (*path[:2], self.control_set, *path[3:])
        return path

    def _base(self, path: Path) -> tuple[Base, Path] | None:
        for mount in self.mounts:
            n = len(mount.prefix)
            if len(path) >= n and all(fold(a) == fold(b) for a, b in zip(path, mount.prefix, strict=False)):
                return mount.base, path[n:]
        return None

    def _mounted_below(self, path: Path) -> list[str]:
        """Names of the next component of every mount prefix strictly below ``path``."""
        n = len(path)
        return [m.prefix[n] for m in self.mounts
                if len(m.prefix) > n and all(fold(a) == fold(b) for a, b in zip(path, m.prefix, strict=False))]

    def _chain(self, path: Path) -> tuple[_Node | None, bool]:
        """The overlay node at ``path`` and whether a deletion hides the hive content there."""
        node: _Node | None = self._root
        hidden = False
        for part in path:
            assert node is not None
            node = node.children.get(fold(part))
            if node is None:
                return None, hidden
            hidden = hidden or node.opaque
        return node, hidden

    # -- the read-only view ------------------------------------------------------------------------
    def key_name(self, path: Path) -> str | None:
        """The stored name of the key at ``path`` (hive spelling wins), or None if it does not exist."""
        path = self.resolve(path)
        node, hidden = self._chain(path)
        if not hidden:
            found = self._base(path)
            if found is not None:
                name = found[0].key_name(found[1])
                if name is not None:
                    return name if found[1] else path[-1]
            elif path and self._mounted_below(path):
                return path[-1]
        if node is not None and node.exists:
            return node.name
        return None

    def exists(self, path: Path) -> bool:
        """Whether a key exists."""
        return self.key_name(path) is not None

    def _layers(self, path: Path) -> tuple[Path, _Node | None, bool, tuple[Base, Path] | None]:
        """The resolved path, its overlay node, whether a deletion hides the hives there, and the hive
        key at ``path`` when one exists and is not hidden."""
        path = self.resolve(path)
        node, hidden = self._chain(path)
        found = None if hidden else self._base(path)
        if found is not None and found[0].key_name(found[1]) is None:
            found = None
        return path, node, hidden, found

    def subkeys(self, path: Path) -> list[str]:
        """Names of the subkeys of ``path``, sorted case-insensitively."""
        path, node, hidden, found = self._layers(path)
        names: dict[str, str] = {}
        if found is not None:
            names.update((fold(n), n) for n in found[0].subkey_names(found[1]))
        if not hidden:
            names.update((fold(n), n) for n in self._mounted_below(path))
        if node is not None:
            for key, child in node.children.items():
                if key not in names and child.exists:
                    names[key] = child.name
                elif key in names and child.opaque and not child.exists:
                    del names[key]
        return [names[k] for k in sorted(names)]

    def values(self, path: Path) -> list[Value]:
        """Values of the key at ``path``, sorted case-insensitively by name."""
        _, node, _, found = self._layers(path)
        merged: dict[str, Value] = {}
        if found is not None:
            merged.update((fold(v.name), v) for v in found[0].values(found[1]))
        for key, value in (node.values.items() if node is not None else ()):
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return [merged[k] for k in sorted(merged)]

    def value(self, path: Path, name: str) -> Value | None:
        """One value by case-insensitive name, or None when the key or the value is absent."""
        _, node, _, found = self._layers(path)
        if node is not None and fold(name) in node.values:
            return node.values[fold(name)]
        return found[0].value(found[1], name) if found is not None else None

    def known(self, path: Path, name: str) -> bool:
        """Whether the value's presence or absence is known: a hive holds that part of the registry,
        or a change set set, deleted or wiped it (a ``.reg`` file alone says nothing of what it leaves out)."""
        path = self.resolve(path)
        node, hidden = self._chain(path)
        if hidden or (node is not None and fold(name) in node.values):
            return True
        return self._base(path) is not None and self.damaged(path, name) is None

    def damaged(self, path: Path, name: str | None = None) -> str | None:
        """What a hive lost that could have answered this lookup (see :meth:`Base.damaged`), unless a change set
        deleted the key, or set or deleted the value, over it; every loss met is kept in :attr:`damage_seen`."""
        path = self.resolve(path)
        node, hidden = self._chain(path)
        if hidden or (name is not None and node is not None and fold(name) in node.values):
            return None
        found = self._base(path)
        loss = found[0].damaged(found[1], name) if found is not None else None
        if loss is not None:
            self.damage_seen.append(loss)
        return loss

    def source_of(self, path: Path) -> str | None:
        """The hive file that holds ``path``, if one is mounted there."""
        found = self._base(self.resolve(path))
        return found[0].display if found else None

    def last_write(self, path: Path) -> datetime | None:
        """The last-write time the hive records for the key at ``path``, unless a change set created the key."""
        _, node, _, found = self._layers(path)
        if found is None or (node is not None and node.exists and node.origin is not None):
            return None
        return found[0].last_write(found[1])

    def key_origin(self, path: Path) -> Origin | None:
        """Where the key was last created by a change set, if one created it."""
        node, _ = self._chain(self.resolve(path))
        return node.origin if node is not None and node.exists else None

    def walk(self, path: Path = (), on_error: Callable[[Path, Exception], None] | None = None) -> Iterator[Path]:
        """Every existing key at or below ``path``, depth-first in case-insensitive name order.

        With ``on_error``, a key whose subkeys cannot be read is reported there and its subtree skipped.
        """
        if path and not self.exists(path):
            return
        stack = [path]
        while stack:
            current = stack.pop()
            if current:
                yield current
            try:
                names = self.subkeys(current)
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(current, exc)
                continue
            stack.extend((*current, name) for name in reversed(names))
