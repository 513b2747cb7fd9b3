"""Hostile hives: a small hive built by hivex, with bytes patched as damage or an attacker would patch them.

Each row of ``HOSTILE`` is one patch and its documented outcome, the same with both backends: what a walk
over every key and value (what ``regtls dump`` reads) yields, and what ``regtls check`` concludes about
TLS 1.2.  A damaged entry is lost alone, named with its key and cell; the rest of the hive is still read.  Both
commands also run as a user runs them, each within 20 seconds and a 256 MiB address space.
"""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from analyzer.engine import choose_profile, run
from analyzer.inputs import load
from analyzer.sources import SourceError
from analyzer.sources.cells import (
    BASE_BLOCK,
    BIG_DATA_SEGMENT,
    NK_SUBKEY_LIST,
    NK_VALUE_LIST,
    ROOT_POINTER,
    VK_DATA,
    field,
)
from analyzer.sources.hive import BACKENDS, HiveFile, RawKey
from tests.conftest import LOSSES, bounded, build_hive, hive_builder, walk_hive

BLOB = 65536
CLIENT = "ControlSet001\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client"
SOURCE = (
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000001\n\n"
    f"[HKEY_LOCAL_MACHINE\\SYSTEM\\{CLIENT}]\n\"Enabled\"=dword:00000001\n\"DisabledByDefault\"=dword:00000000\n\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Data]\n\"Text\"=\"hello\"\n\"Blob\"=hex:" + ",".join(["ab"] * BLOB)
    + "\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Tree\\X]\n\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Tree\\Y]\n"
)
DEEP = 520  # a chain of keys deeper than a registry tree may be (512 levels)
DEEP_SOURCE = "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\" + "\\".join(["d"] * DEEP) + "]\n\"v\"=dword:1\n"
NK_SUBKEY_COUNT, NK_VALUE_COUNT, VK_SIZE = 0x14, 0x24, 0x04


class Patcher:
    """Bytes of an intact hive, with the places to patch found through regtls's own reading of it."""

    def __init__(self, hive: Path) -> None:
        self.data = bytearray(hive.read_bytes())
        self.hive = HiveFile(hive)

    def key(self, path: str) -> RawKey:
        raw = self.hive.raw_key(tuple(path.split("\\")) if path else ())
        assert raw is not None, path
        return raw

    def u32(self, pos: int) -> int:
        return int.from_bytes(self.data[pos : pos + 4], "little")

    def put(self, pos: int, value: int, fmt: str = "<I") -> None:
        struct.pack_into(fmt, self.data, pos, value)

    def value(self, key: str, name: str) -> int:
        """The cell offset of a value record, by name."""
        raw = self.key(key)
        for i in range(raw.value_count):
            vk = self.u32(field(raw.value_list, 4 * i))
            length = int.from_bytes(self.data[field(vk, 2) : field(vk, 4)], "little")
            if self.data[field(vk, 0x14) : field(vk, 0x14 + length)] == name.encode():
                return vk
        raise KeyError(name)

    def first_entry(self, key: str) -> int:
        """The file position of the first entry of a key's (lf/lh) subkey list."""
        return field(self.key(key).subkey_list, 4)


def loop_to_root(p: Patcher) -> None:
    p.put(p.first_entry("ControlSet001\\Tree"), p.key("").offset)


def shared_subkey_list(p: Patcher) -> None:
    # X and Y both list X and Y: without a check, every level of a walk doubles (2^512 paths)
    tree = p.key("ControlSet001\\Tree")
    for name in ("X", "Y"):
        key = p.key(f"ControlSet001\\Tree\\{name}").offset
        p.put(field(key, NK_SUBKEY_COUNT), 2)
        p.put(field(key, NK_SUBKEY_LIST), tree.subkey_list)


def value_list_past_end(p: Patcher) -> None:
    p.put(field(p.key("ControlSet001\\Data").offset, NK_VALUE_LIST), 0x7FFFFFF0)


def value_data_past_end(p: Patcher) -> None:
    p.put(field(p.value("ControlSet001\\Data", "Text"), VK_DATA), 0x7FFFFF00)


def root_past_end(p: Patcher) -> None:
    p.put(ROOT_POINTER, 0x7FFFFFF0)


def two_subkeys_one_name(p: Patcher) -> None:
    p.data[field(p.key("ControlSet001\\Tree\\Y").offset, 0x4C)] = ord("x")


def two_values_one_name(p: Patcher) -> None:
    at = field(p.value("ControlSet001\\Data", "Text"), 0x14)
    p.data[at : at + 4] = b"BLOB"


def huge_value_count(p: Patcher) -> None:
    p.put(field(p.key(CLIENT).offset, NK_VALUE_COUNT), 0x7FFFFFFF)


def huge_list_count(p: Patcher) -> None:
    p.put(p.first_entry("ControlSet001") - 2, 0xFFFF, "<H")


def huge_subkey_count(p: Patcher) -> None:
    p.put(field(p.key("ControlSet001\\Tree\\Y").offset, NK_SUBKEY_COUNT), 0xFFFFFFFF)


def huge_data_size(p: Patcher) -> None:
    p.put(field(p.value("ControlSet001\\Data", "Blob"), VK_SIZE), 0x7FFFFFF0)


def huge_cell_size(p: Patcher) -> None:
    p.put(BASE_BLOCK + p.key("ControlSet001\\Data").value_list, -0x7FFFFFF0, "<i")


def one_value_many_times(p: Patcher) -> None:
    # the blob's own data cell becomes Data's value list: 16384 entries, all the blob (64 KiB each: 1 GiB)
    key, blob = p.key("ControlSet001\\Data").offset, p.value("ControlSet001\\Data", "Blob")
    cell = p.u32(field(blob, VK_DATA))
    for at in range(0, BLOB, 4):
        p.put(field(cell, at), blob)
    p.put(field(key, NK_VALUE_LIST), cell)
    p.put(field(key, NK_VALUE_COUNT), BLOB // 4)


def big_data_repeating_a_segment(p: Patcher) -> None:
    # a version 1.5 hive whose blob is a big-data (db) record listing one 16344-byte segment four times
    blob = p.value("ControlSet001\\Data", "Blob")
    cell = p.u32(field(blob, VK_DATA))
    segments, segment = cell + 20, cell + 68
    p.put(0x18, 5)
    p.data[field(cell, 0) : field(cell, 2)] = b"db"
    p.put(field(cell, 2), 4, "<H")
    p.put(field(cell, 4), segments)
    p.put(BASE_BLOCK + segments, -24, "<i")
    for at in range(0, 16, 4):
        p.put(field(segments, at), segment)
    p.put(BASE_BLOCK + segment, -(BIG_DATA_SEGMENT + 8), "<i")
    p.put(field(blob, VK_SIZE), 4 * BIG_DATA_SEGMENT)
    p.put(0x1FC, hive_builder()._checksum(p.data[:0x200]))


def truncated_bin(p: Patcher) -> None:
    del p.data[field(p.u32(field(p.value("ControlSet001\\Data", "Blob"), VK_DATA)), 100) :]


def base_block_only(p: Patcher) -> None:
    del p.data[BASE_BLOCK + 16 :]


def transaction_log(p: Patcher) -> None:
    p.put(0x1C, 6)  # the file type of a new-format .LOG1/.LOG2


def huge_bin_size(p: Patcher) -> None:
    p.put(BASE_BLOCK + 8, 0x7FFFFFF0)


def bad_checksum(p: Patcher) -> None:
    p.put(0x1FC, p.u32(0x1FC) ^ 1)


def deep_chain(p: Patcher) -> None:
    """The chain of DEEP_SOURCE, left as built."""


TWO_POINTERS = "is reached through two pointers (a loop or a shared cell)"
DEEP_ERROR = "key path deeper than 512 levels, the most a registry tree may have"
DATA = "ControlSet001\\Data: "
BLOB_TWICE = f"{DATA}value lost (list entry -> 0x14c8): cell at 0x14c8 {TWO_POINTERS}"
# patch -> (keys walked, values read, errors of the walk and entries lost, other diagnostic codes), SCH001 status
# in check: a damaged entry is lost alone, and named; everything else is read
HOSTILE: dict[Callable[[Patcher], None], tuple[tuple[int, int, list[str], list[str]] | str, str]] = {
    loop_to_root: ((12, 5, [f"ControlSet001\\Tree: subkey lost (list entry -> 0x20): cell at 0x20 {TWO_POINTERS}"],
                    []), "pass"),
    shared_subkey_list: ((13, 5, [f"ControlSet001\\Tree\\{k}: subkey list at 0x12160 is unreadable: cell at 0x12160 "
                                  f"{TWO_POINTERS}" for k in "XY"], []), "pass"),
    value_list_past_end: ((13, 3, [f"{DATA}value list at 0x7ffffff0 is unreadable: cell offset 0x7ffffff0 is past "
                                   "the end of the hive"], []), "pass"),
    value_data_past_end: ((13, 4, [f"{DATA}value lost (list entry -> 0x1498): cell offset 0x7fffff00 is past the end "
                                   "of the hive"], []), "pass"),
    root_past_end: ("cannot read the root key: cell offset 0x7ffffff0 is past the end of the hive", "error"),
    # of two same-named subkeys or values the first is read, the second named as lost
    two_subkeys_one_name: ((12, 5, ["ControlSet001\\Tree: two subkeys are named 'x' (the second, at 0x12108, is not "
                                    "read)"], []), "pass"),
    two_values_one_name: ((13, 4, [f"{DATA}two values are named 'Blob' (the second, at 0x14c8, is not read)"], []),
                          "pass"),
    # the cell holds three entries: Enabled, DisabledByDefault and slack, which is no value record
    huge_value_count: ((13, 5, [f"{CLIENT}: value list at 0x13b8 declares 2147483647 values, its cell holds 3: the "
                                "others are lost", f"{CLIENT}: value lost (list entry -> 0x0): cell at 0x0 has a bad "
                                "size (1852400232)"], []), "pass"),
    huge_list_count: ((13, 5, ["ControlSet001: subkey list at 0x12080 declares 65535 entries, its cell holds 3: the "
                               "others are lost"], []), "pass"),
    huge_subkey_count: ((13, 5, ["ControlSet001\\Tree\\Y: subkey list at 0xffffffff is unreadable: cell offset "
                                 "0xffffffff is past the end of the hive"], []), "pass"),
    huge_data_size: ((13, 4, [f"{DATA}value lost (list entry -> 0x14c8): value data claims 2147483632 bytes, more "
                              "than the whole hive holds"], []), "pass"),
    huge_cell_size: ((13, 3, [f"{DATA}value list at 0x1488 is unreadable: cell at 0x1488 has a bad size "
                              "(2147483632)"], []), "pass"),
    # 16384 entries lost: the first twenty are named, then how many more
    one_value_many_times: ((13, 3, [f"{DATA}value lost (list entry -> 0x14c8): cell at 0x2020 {TWO_POINTERS}",
                                    *[BLOB_TWICE] * 19, f"{DATA}16364 more entries of this list are lost"], []),
                           "pass"),
    big_data_repeating_a_segment: ((13, 4, [f"{DATA}value lost (list entry -> 0x14c8): cell at 0x2064 "
                                            f"{TWO_POINTERS}"], []), "pass"),
    truncated_bin: ((3, 1, ["ControlSet001: subkey list at 0x12080 is unreadable: cell offset 0x12080 is past the "
                            "end of the hive"], ["truncated"]), "undecided"),
    base_block_only: ("a registry hive base block without a hive bin after it (the file is truncated or damaged)",
                      "error"),
    transaction_log: ("a transaction log (file type 6), not a primary hive: give the hive file itself", "error"),
    huge_bin_size: ((13, 5, [], ["bad-hbin"]), "pass"),  # cells are found through pointers, never through bin sizes
    bad_checksum: ((13, 5, [], ["checksum"]), "pass"),
    # root, ControlSet001 and 512 levels of "d": the key below them is refused; no Select, no SCHANNEL
    deep_chain: ((514, 0, [DEEP_ERROR], ["control-set"]),
                 "undecided"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {"base": build_hive(tmp_path_factory.mktemp("base"), "SYSTEM", SOURCE),
            "deep": build_hive(tmp_path_factory.mktemp("deep"), "SYSTEM", DEEP_SOURCE)}


@pytest.fixture(params=list(HOSTILE), ids=lambda patch: patch.__name__)
def hostile(request: pytest.FixtureRequest, built: dict[str, Path], tmp_path: Path) -> tuple[Path, Callable[..., None]]:
    patch = request.param
    patcher = Patcher(built["deep" if patch is deep_chain else "base"])
    patch(patcher)
    path = tmp_path / "SYSTEM"
    path.write_bytes(patcher.data)
    return path, patch


@pytest.mark.parametrize("backend", BACKENDS)
def test_walk_gives_the_documented_outcome_in_bounded_time_and_memory(
        hostile: tuple[Path, Callable[..., None]], backend: str) -> None:
    path, patch = hostile
    with bounded():
        assert walk_hive(path, backend) == HOSTILE[patch][0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_decides_what_it_can_read(hostile: tuple[Path, Callable[..., None]], backend: str) -> None:
    path, patch = hostile
    with bounded():
        try:
            report = run(load([path], backend), choose_profile("azure-backup"))
        except SourceError:
            status = "error"
        else:
            status = next(r.status for r in report.results if r.rule == "SCH001")
    assert status == HOSTILE[patch][1]


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))


@pytest.mark.parametrize("command", ["check", "dump"])
def test_commands_finish_within_limits_with_one_line_errors(hostile: tuple[Path, Callable[..., None]],
                                                           command: str) -> None:
    path, patch = hostile
    proc = subprocess.run([sys.executable, "-m", "analyzer", command, str(path), "--format", "json"],
                          capture_output=True, text=True, timeout=20, preexec_fn=_limited)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    if HOSTILE[patch][1] == "error":
        assert (proc.returncode, proc.stdout) == (2, "")
        assert proc.stderr == f"regtls: error: {path}: {HOSTILE[patch][0]}\n"
        return
    result = json.loads(proc.stdout)
    walked = HOSTILE[patch][0]
    assert isinstance(walked, tuple)
    if command == "check":
        assert proc.returncode in (0, 1)
        assert next(r["status"] for r in result["results"] if r["rule"] == "SCH001") == HOSTILE[patch][1]
    else:  # exit code 3: everything readable printed, each lost entry named in the JSON and on stderr
        assert proc.returncode == (3 if walked[2] else 0)
        assert sum(len(k["values"]) for k in result["keys"]) == walked[1]
        lost = [d["message"] for d in result.get("diagnostics", []) if d["code"] in LOSSES]
        assert lost == walked[2] or walked[2] == [DEEP_ERROR]
        assert all(f"regtls: warning: {path}: {message}\n" in proc.stderr for message in lost)
