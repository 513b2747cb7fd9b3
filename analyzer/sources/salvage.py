"""The key tree of one hive, read entry by entry: what is damaged is lost alone and named, the rest is read.

A bad entry of a subkey list (or a bad sublist of an ``ri``), of a value list or of a big-data segment list
loses that entry only.  A key record whose counts disagree with the lists it describes is damage too.
Each loss is a ``lost-entry`` diagnostic (file, key path, cell offset, what was wrong), and
:meth:`Tree.damaged` answers whether a lookup could have been answered by a lost entry: a key not found
under a list that lost an entry, or a value not found in a list that lost one, is not known to be absent.
Structure warnings that lose nothing: parent pointers that name another key, subkey lists out of name
order, hive bin headers that are not what the base block and their position say.

Format: Maxim Suhanov, "Windows registry file format specification" (https://github.com/msuhanov/regf),
sections "Hive bin", "Key node", "Subkeys list" (lists sorted by uppercased name), "Value list", "Big data".
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable
from itertools import pairwise

from analyzer.registry import Path, Value, fold, printable
from analyzer.sources import Diagnostic
from analyzer.sources.cells import BASE_BLOCK, NK_SUBKEY_LIST, NK_VALUE_LIST, VK_DATA, CellError, Cells, field
from analyzer.sources.records import Backend, RawKey

NK_PARENT = 0x10
NK_LAYER = 0x0D  # regf 1.6: the layer semantics of a key (see analyzer.sources.differencing)
VK_FLAGS, VALUE_TOMBSTONE = 0x10, 0x0002
_VALUE_CACHE = 256  # keys whose values are kept: lookups repeat on a few keys, a walk reads each key once
_HBIN = 0x20
MAX_BIN_WARNINGS = 20
MAX_LOSSES_SHOWN = 20  # diagnostics for the entries one list lost; past that, one saying how many more


def show(path: Path) -> str:
    """A hive-relative key path as messages name it."""
    return printable("\\".join(path)) or "the root key"


def decode_name(raw: bytes, compressed: bool) -> str:
    """Decode a key or value name: compressed names hold one Latin-1 byte per character."""
    if compressed:
        return raw.decode("latin-1")
    return raw[: len(raw) & ~1].decode("utf-16-le", "surrogatepass")


def _why(exc: Exception) -> str:
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return text if isinstance(exc, CellError) else f"{type(exc).__name__}: {text}".rstrip(": ")


def bin_problems(buffer: bytes, bins_size: int) -> list[str]:
    """What is wrong with the hive bin headers: each must say ``hbin``, its own offset and a size in 4 KiB
    steps; after a bad one the walk continues at the next 4 KiB boundary that starts a good one."""
    end = min(len(buffer), BASE_BLOCK + bins_size)
    problems: list[str] = []
    pos = BASE_BLOCK
    while pos + _HBIN <= end and len(problems) < MAX_BIN_WARNINGS:
        signature = bytes(buffer[pos : pos + 4])
        offset, size = struct.unpack_from("<II", buffer, pos + 4)
        where = pos - BASE_BLOCK
        if signature == b"hbin" and offset == where and size and not size % 4096 and pos + size <= end:
            pos += size
            continue
        if (signature == b"hbin" and offset == where and size and not size % 4096
                and len(buffer) < pos + size <= BASE_BLOCK + bins_size):
            break  # a bin cut short by the end of the file: the "truncated" warning says it
        wrong = ("no 'hbin' signature" if signature != b"hbin" else
                 f"it names offset 0x{offset:x}" if offset != where else f"its size 0x{size:x} is wrong")
        pos += 4096
        while pos + _HBIN <= end and not (buffer[pos : pos + 4] == b"hbin"
                                          and struct.unpack_from("<I", buffer, pos + 4)[0] == pos - BASE_BLOCK):
            pos += 4096
        problems.append(f"the hive bin header at 0x{where:x} is damaged ({wrong}): read on from the next hive bin, "
                        f"at 0x{pos - BASE_BLOCK:x}")
    return problems


class Tree:
    """Cached, salvaging lookups of keys and values by hive-relative path."""

    def __init__(self, cells: Cells, backend: Backend, display: str, minor: int,
                 note: Callable[[Diagnostic], None], origin: Callable[[Path], object]) -> None:
        self._cells, self._backend, self._display, self._minor = cells, backend, display, minor
        self._note, self._origin = note, origin
        self._keys: dict[Path, RawKey | None] = {}
        self._children: dict[Path, dict[str, RawKey]] = {}
        self._values: OrderedDict[Path, dict[str, Value]] = OrderedDict()
        self._lost_keys: dict[Path, str] = {}  # folded path -> the first loss in its subkey list
        self._lost_values: dict[Path, str] = {}
        self._values_read: set[Path] = set()
        self.tombstones: dict[Path, set[str]] = {}  # folded key path -> folded names of its tombstone values
        self.lost = 0  # entries lost so far

    def read_key(self, offset: int, pointer: int) -> RawKey:
        """The key record at ``offset``, reached through the field at ``pointer``."""
        self._cells.record(offset, pointer, b"nk")
        return self._backend.key(offset)

    def set_root(self, root: RawKey) -> None:
        """Start the tree at the root key record."""
        self._keys[()] = root

    def _lose(self, store: dict[Path, str], path: Path, whats: list[str], code: str = "lost-entry") -> None:
        """Name the entries one list lost: each one, up to a bound (a crafted list may lose thousands)."""
        if not whats:
            return
        folded = tuple(fold(p) for p in path)
        store.setdefault(folded, f"{self._display}: {show(path)}: {whats[0]}")
        self.lost += len(whats)
        shown = whats[:MAX_LOSSES_SHOWN]
        if len(whats) > len(shown):
            shown.append(f"{len(whats) - len(shown)} more entries of this list are lost")
        for what in shown:
            self._note(Diagnostic(self._display, None, "warning", code, f"{show(path)}: {what}", key=show(path)))

    def _warn(self, path: Path, code: str, what: str) -> None:
        self._note(Diagnostic(self._display, None, "warning", code, f"{show(path)}: {what}", key=show(path)))

    # -- keys --------------------------------------------------------------------------------------
    def key(self, path: Path, folded: Path) -> RawKey | None:
        """The key record at ``path`` (``folded``: its case-folded form), or None."""
        if folded in self._keys:
            return self._keys[folded]
        found = self.children(path[:-1], folded[:-1]).get(folded[-1])
        self._keys[folded] = found
        return found

    def children(self, path: Path, folded: Path) -> dict[str, RawKey]:
        """The subkey records of ``path`` by folded name (empty when the key does not exist)."""
        cached = self._children.get(folded)
        if cached is None:
            raw = self.key(path, folded)
            cached = {} if raw is None or not raw.subkey_count else self._read_children(path, raw)
            self._children[folded] = cached
        return cached

    def _read_children(self, path: Path, raw: RawKey) -> dict[str, RawKey]:
        entries, losses, declared = self._cells.subkeys(raw.subkey_list, field(raw.offset, NK_SUBKEY_LIST))
        lost = [loss.what for loss in losses]
        if declared != raw.subkey_count and not losses:
            self._lose(self._lost_keys, path, [f"the key record at 0x{raw.offset:x} declares {raw.subkey_count} "
                                               f"subkeys, its subkey list at 0x{raw.subkey_list:x} {declared}"],
                       "count-mismatch")
        out: dict[str, RawKey] = {}
        order: list[str] = []
        strangers: list[str] = []
        for offset, pointer in entries:
            try:
                cell = self._cells.record(offset, pointer, b"nk")
                child = self._backend.key(offset)
            except Exception as exc:  # a library's own error on a damaged record loses this entry only
                lost.append(f"subkey lost (list entry -> 0x{offset:x}): {_why(exc)}")
                continue
            name = decode_name(child.name, child.compressed)
            key = fold(name)
            if key in out:
                lost.append(f"two subkeys are named {printable(name)!r} (the second, at 0x{offset:x}, is not read)")
                continue
            out[key] = child
            order.append(key)
            if int.from_bytes(cell[NK_PARENT : NK_PARENT + 4], "little") != raw.offset:
                strangers.append(f"{printable(name)!r} at 0x{offset:x}")
        self._lose(self._lost_keys, path, lost)
        if strangers:
            self._warn(path, "parent-pointer", f"{len(strangers)} subkey record(s) name another parent key than "
                       f"this one (at 0x{raw.offset:x}), first {strangers[0]}")
        if any(a > b for a, b in pairwise(order)):
            self._warn(path, "list-order", "its subkey list is not in name order (Windows looks keys up by "
                       "binary search and may not find some)")
        return out

    # -- values ------------------------------------------------------------------------------------
    def values(self, path: Path, folded: Path) -> dict[str, Value]:
        """The readable values of ``path`` by folded name."""
        cached = self._values.get(folded)
        if cached is not None:
            self._values.move_to_end(folded)
            return cached
        raw = self.key(path, folded)
        cached = {} if raw is None else self._read_values(path, raw)
        self._values[folded] = cached
        if len(self._values) > _VALUE_CACHE:
            self._values.popitem(last=False)
        return cached

    def _read_values(self, path: Path, raw: RawKey) -> dict[str, Value]:
        folded = tuple(fold(p) for p in path)
        report = folded not in self._values_read  # a key read again after the cache let it go: said once
        self._values_read.add(folded)
        entries, losses = self._cells.values(raw.value_list, raw.value_count, field(raw.offset, NK_VALUE_LIST))
        lost = [loss.what for loss in losses]
        origin = self._origin(path)
        out: dict[str, Value] = {}
        for offset, pointer in entries:
            try:
                record = self._cells.record(offset, pointer, b"vk")
                rec = self._backend.value(offset)
                data = self._cells.data(rec.size_field, rec.offset_field, field(offset, VK_DATA), self._minor)
            except Exception as exc:  # a library's own error on a damaged record loses this value only
                lost.append(f"value lost (list entry -> 0x{offset:x}): {_why(exc)}")
                continue
            name = decode_name(rec.name, rec.compressed)
            if fold(name) in out:
                lost.append(f"two values are named {printable(name)!r} (the second, at 0x{offset:x}, is not read)")
                continue
            out[fold(name)] = Value(name, rec.type_num, data, origin)  # type: ignore[arg-type]
            if record[VK_FLAGS] & VALUE_TOMBSTONE:  # a layered hive's deletion of the lower layer's value
                self.tombstones.setdefault(folded, set()).add(fold(name))
        if report:
            self._lose(self._lost_values, path, lost)
        return out

    # -- damage ------------------------------------------------------------------------------------
    def damaged(self, path: Path, name: str | None = None) -> str | None:
        """The loss that leaves a lookup unanswered: a key on ``path`` not found under a list that lost an
        entry; with ``name``, that value not found in a value list that lost one; without, a loss in the
        subkey list of ``path`` itself (its subkeys are not all known).  None when nothing lost matters."""
        folded = tuple(fold(p) for p in path)
        for depth in range(len(path)):
            if self.key(path[: depth + 1], folded[: depth + 1]) is None:
                return self._lost_keys.get(folded[:depth])
        if name is None:
            self.children(path, folded)
            return self._lost_keys.get(folded)
        if fold(name) in self.values(path, folded):
            return None
        return self._lost_values.get(folded)
