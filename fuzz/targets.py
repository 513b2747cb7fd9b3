"""Fuzz targets: bytes in, a result or a clean ``SourceError`` out; anything else is a finding.

Each target runs what ``regtls check`` and ``regtls dump`` run on one input file. They are shared by the
atheris harness (``fuzz/run.py``) and the regression tests, which replay every file of ``tests/data/fuzz``.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from analyzer.engine import choose_profile, run
from analyzer.inputs import kept, load
from analyzer.knowledge.scope import in_scope
from analyzer.report import check, dump
from analyzer.sources import SourceError
from analyzer.sources.cells import NK_SUBKEY_LIST, NK_VALUE_LIST, VK_DATA, field
from analyzer.sources.hive import BACKENDS, HiveFile

_SCRATCH: list[Path] = []
"""The scratch folder of the input being run (removed after it; by :func:`remove_scratch` on an interrupt)."""


def outcome(path: Path, backend: str) -> str:
    """Run check and dump over one input file (every output format the command line writes as UTF-8); return
    ``error`` for a clean refusal, else the kind of input and how many keys dump listed and could not list."""
    try:
        loaded = load([path], backend, wanted=None)  # dump: every operation
    except SourceError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(f"{path}: "), message
        return "error"
    scoped = load([path], backend)  # check: only the areas the rules read, the reader skipping the rest
    for whole, part in zip(loaded.regs, scoped.regs, strict=True):
        assert part.diagnostics == whole.diagnostics, "skipping changed the diagnostics"
        assert part.ops == list(kept(whole.ops, in_scope)), "skipping changed the operations"
    report = run(scoped, choose_profile("azure-backup"))
    machine = loaded.machine
    errors: list[str] = []
    keys = list(machine.walk(on_error=lambda p, e: errors.append(str(e))))
    for text in (check.render_json(report), dump.render_json(machine, keys), dump.render_reg(machine, keys),
                 dump.render_table(machine, keys)):
        text.encode("utf-8")  # what the command line writes
    return f"{loaded.inputs[0].kind} {len(keys)} keys {len(errors)} unreadable"


@contextmanager
def _file(data: bytes, name: str) -> Iterator[Path]:
    """A scratch file holding ``data``, in a ``regtls-fuzz-*`` folder that is gone when the block ends."""
    with tempfile.TemporaryDirectory(prefix="regtls-fuzz-") as folder:
        _SCRATCH.append(Path(folder))
        try:
            path = Path(folder) / name
            path.write_bytes(data)
            yield path
        finally:
            _SCRATCH.remove(Path(folder))


def remove_scratch() -> None:
    """Remove the scratch folder of the input being run (the harness calls this when interrupted)."""
    for folder in _SCRATCH:
        shutil.rmtree(folder, ignore_errors=True)


def reg_target(data: bytes) -> str:
    """A ``.reg`` file with these bytes (a leading ``regf`` would make it a hive: see :func:`hive_target`)."""
    with _file(data, "input.reg") as path:
        return outcome(path, BACKENDS[0])


def hive_target(data: bytes) -> str:
    """A hive file with these bytes, through both backends."""
    with _file(data, "SYSTEM") as path:
        return " / ".join(outcome(path, backend) for backend in BACKENDS)


_INTACT = Path(__file__).resolve().parents[1] / "samples" / "server2019-configured" / "SYSTEM"


def _fields(hive: HiveFile) -> tuple[list[int], set[int]]:
    """The file positions of every pointer and count field of the intact hive's keys, lists and values, and the
    cell offsets they point to (a patch that points one at another real cell is not damage a reader can see)."""
    fields: list[int] = []
    cells: set[int] = set()
    stack: list[tuple[str, ...]] = [()]
    while stack:
        path = stack.pop()
        raw = hive.raw_key(path)
        assert raw is not None
        cells.update((raw.offset, raw.subkey_list, raw.value_list))
        fields += [field(raw.offset, at) for at in (0x14, NK_SUBKEY_LIST, 0x24, NK_VALUE_LIST)]
        if raw.subkey_count:
            fields += [field(raw.subkey_list, 2)] + [field(raw.subkey_list, 4 + 8 * i) for i in range(raw.subkey_count)]
        for i in range(raw.value_count):
            fields.append(field(raw.value_list, 4 * i))
            vk = int.from_bytes(hive._cells.buffer[field(raw.value_list, 4 * i):field(raw.value_list, 4 * i) + 4],
                                "little")
            cells.add(vk)
            fields += [field(vk, 4), field(vk, VK_DATA)]
        stack.extend((*path, n) for n in hive.subkey_names(path))
    return fields, cells


def _entries(hive: HiveFile) -> tuple[set[tuple[str, ...]], set[tuple[tuple[str, ...], str]]]:
    keys: set[tuple[str, ...]] = set()
    values: set[tuple[tuple[str, ...], str]] = set()
    stack: list[tuple[str, ...]] = [()]
    while stack:
        path = stack.pop()
        keys.add(path)
        values.update((path, v.name) for v in hive.values(path))
        stack.extend((*path, n) for n in hive.subkey_names(path))
    return keys, values


def damage_target(data: bytes) -> str:
    """The sample SYSTEM hive with pointer and count fields overwritten by these bytes (each 8: which field, what
    value), through both backends: every key and value of the intact hive that is not read must be one a lost
    entry could have held (:meth:`HiveFile.damaged` names it)."""
    intact = HiveFile(_INTACT)
    fields, cells = _fields(intact)
    keys, values = _entries(intact)
    damaged = bytearray(_INTACT.read_bytes())
    for at in range(0, len(data) - 7, 8):
        which, value = struct.unpack_from("<II", data, at)
        if value in cells:
            continue  # another real cell: a swap no reader can tell from the truth
        position = fields[which % len(fields)]
        damaged[position:position + 4] = value.to_bytes(4, "little")
    results = []
    with _file(bytes(damaged), "SYSTEM") as path:
        for backend in BACKENDS:
            result = outcome(path, backend)
            results.append(result)
            if result == "error":
                continue
            hive = HiveFile(path, backend, any_kind=True)
            read_keys, read_values = _entries(hive)
            for key in keys - read_keys:
                assert hive.damaged(key) is not None, f"key {key} lost without a word"
            for key, name in values - read_values:
                assert key not in read_keys or hive.damaged(key, name) is not None, f"value {key} {name} lost silently"
    return " / ".join(results)


TARGETS: dict[str, Callable[[bytes], str]] = {"reg": reg_target, "hive": hive_target, "damage": damage_target}

