"""Replays the 668 Windows regedit/reg import vectors through our reader and a simulated registry."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from analyzer.machine import Machine
from analyzer.registry import REG_MULTI_SZ, STRING_TYPES, TYPE_NAMES
from analyzer.registry import Path as RegPath
from analyzer.sources import SourceError
from analyzer.sources.regfile import Op, OpKind, RegReader
from tests.conftest import VECTORS


def _groups() -> list[tuple[str, list[dict[str, Any]]]]:
    if not VECTORS.exists():
        return []
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for vector in json.loads(VECTORS.read_text(encoding="utf-8")):
        groups[f"{vector['tool']}:{vector['function']}"].append(vector)
    return [(name, sorted(vs, key=lambda v: v["seq"])) for name, vs in sorted(groups.items())]


GROUPS = _groups()
TYPE_NUMS = {name: num for num, name in TYPE_NAMES.items()}


def _base(tool: str, key: str) -> RegPath:
    """The absolute path of a vector key (relative to the test's base key, or ``HKCR:<base>``)."""
    base = ("Software", "Wine", "regedit_test" if tool == "regedit" else "reg_test")
    root = "HKEY_CURRENT_USER"
    if key.startswith("HKCR:<base>"):
        root, key = "HKEY_CLASSES_ROOT", key[len("HKCR:<base>"):]
    return (root, *base, *(p for p in key.split("\\") if p))


def _apply_harness_ops(machine: Machine, tool: str, ops: list[dict[str, Any]]) -> None:
    changes = []
    for op in ops:
        path = _base(tool, op["key"])
        if op["op"] in ("delete_key", "delete_tree"):
            changes.append(Op(OpKind.DELETE_KEY, path, 0))
        elif op["op"] == "create_key":
            changes.append(Op(OpKind.CREATE_KEY, path, 0))
        elif op["op"] == "delete_value":
            changes.append(Op(OpKind.DELETE_VALUE, path, 0, op["value_name"]))
        elif op["op"] == "set_value":
            kind = op["type"]
            type_num = TYPE_NUMS[kind] if isinstance(kind, str) else kind
            changes.append(Op(OpKind.SET_VALUE, path, 0, op["value_name"], type_num, bytes.fromhex(op["data_hex"])))
        else:  # pragma: no cover - the vector file has no other operation
            raise AssertionError(op)
    machine.apply(changes, "<harness>")


def _import(path: Path, vector: dict[str, Any], machine: Machine) -> int:
    """Import one vector file into the simulated registry; return reg.exe's exit code for it."""
    text = vector["input"]
    path.write_bytes(text.encode("utf-16-le", "surrogatepass") if vector["unicode"] else text.encode("cp1252"))
    reader = RegReader(path)
    try:
        machine.apply(list(reader), str(path))
    except SourceError:
        return 1
    rejected = any(d.code in ("bad-header", "encoding") for d in reader.diagnostics)
    return 1 if rejected else 0


def _check(vector: dict[str, Any], machine: Machine) -> list[str]:
    problems = []
    for exp in vector["expect"]:
        path = _base(vector["tool"], exp["key"])
        got = machine.value(path, exp["value_name"])
        label = f"{exp['key']!r}/{exp['value_name']!r}"
        if not exp["present"]:
            if got is not None:
                problems.append(f"{label}: expected absent, got type {got.type_num} {got.data.hex()}")
            continue
        if got is None:
            problems.append(f"{label}: expected present, got absent")
            continue
        if got.type_num != exp["type_num"]:
            problems.append(f"{label}: type {got.type_num} != {exp['type_num']}")
        want = bytes.fromhex(exp["data_hex"])
        if got.type_num in (*STRING_TYPES, REG_MULTI_SZ):
            if got.data.decode("utf-16-le") != want.decode("cp1252"):
                problems.append(f"{label}: text {got.data.decode('utf-16-le')!r} != {want.decode('cp1252')!r}")
        elif got.data != want:
            problems.append(f"{label}: data {got.data.hex()} != {exp['data_hex']}")
    for exp in vector["key_expect"]:
        exists = machine.exists(_base(vector["tool"], exp["key"]))
        if exists != exp["present"]:
            problems.append(f"key {exp['key']!r}: exists={exists}, expected {exp['present']}")
    return problems


@pytest.mark.parametrize(("group", "vectors"), GROUPS, ids=[g for g, _ in GROUPS])
def test_conformance_group(group: str, vectors: list[dict[str, Any]], tmp_path: Path) -> None:
    """Every vector of one test function, in order against one registry, behaves as on Windows.

    This includes the Windows 3.1 ``REGEDIT`` vectors and the three imports of ``test_export``, whose
    registry set-up is given as ``pre_ops``.
    """
    machine = Machine()
    failures = []
    for vector in vectors:
        _apply_harness_ops(machine, vector["tool"], vector.get("pre_ops") or [])
        code = _import(tmp_path / "in.reg", vector, machine)
        problems = _check(vector, machine)
        if "exit_code" in vector and code != vector["exit_code"]:
            problems.append(f"exit code {code} != {vector['exit_code']}")
        failures += [f"{vector['id']}: {p}" for p in problems]
        _apply_harness_ops(machine, vector["tool"], vector["post_ops"])
    assert not failures, "\n".join(failures)


def test_vectors_present_and_complete() -> None:
    """The vector file is there (CI has ../shared) and holds all 668 cases."""
    if not VECTORS.exists():
        pytest.skip(f"conformance vectors not found at {VECTORS} (the ../shared folder is provided in CI)")
    assert sum(len(vs) for _, vs in GROUPS) == 668
