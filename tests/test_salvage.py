"""Damaged hives, built by hivex and patched here: one bad entry loses that entry only, is named, and leaves the
settings it could have decided unknown (never the OS default), while intact keys keep their real state."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from analyzer.engine import choose_profile, run
from analyzer.inputs import load
from analyzer.sources.cells import BASE_BLOCK, VK_DATA, field
from analyzer.sources.hive import BACKENDS, HiveFile
from tests.conftest import LOSSES, SAMPLES, build_hive, corpus_file, walk_hive
from tests.test_cli import regtls
from tests.test_hostile_hives import Patcher

SCHANNEL = "ControlSet001\\Control\\SecurityProviders\\SCHANNEL"
TLS12 = f"{SCHANNEL}\\Protocols\\TLS 1.2"
# every list on the SCHANNEL path holds three entries or more (a role key only two: Client and Server)
SIBLINGS = {"": ["ControlSet001", "Select", "Setup"], "ControlSet001": ["Control", "Enum", "Services"],
            "ControlSet001\\Control": ["Lsa", "SecurityProviders", "Session Manager"],
            "ControlSet001\\Control\\SecurityProviders": ["SaslProfiles", "SCHANNEL", "WDigest"],
            SCHANNEL: ["Ciphers", "Hashes", "Protocols"], f"{SCHANNEL}\\Protocols": ["TLS 1.0", "TLS 1.1", "TLS 1.2"],
            TLS12: ["Client", "Server"], "ControlSet001\\Services": ["Aaa", "Zzz"]}
ROLES = "\"Enabled\"=dword:00000001\n\"DisabledByDefault\"=dword:00000000\n"
OFF = "\"Enabled\"=dword:00000000\n\"DisabledByDefault\"=dword:00000001\n"
SOURCE = "".join(f"[HKEY_LOCAL_MACHINE\\SYSTEM\\{parent}{chr(92) if parent else ''}{name}]\n"
                 + ("\"Current\"=dword:00000001\n" if name == "Select" else "")
                 + (ROLES if parent == TLS12 else "") + "\n"
                 for parent, names in SIBLINGS.items() for name in names)
SOURCE += "".join(f"[HKEY_LOCAL_MACHINE\\SYSTEM\\{SCHANNEL}\\Protocols\\{p}\\{r}]\n{OFF}\n"
                  for p in ("TLS 1.0", "TLS 1.1") for r in ("Client", "Server"))
ZZZ = "ControlSet001\\Services\\Zzz"
SOURCE += f"[HKEY_LOCAL_MACHINE\\SYSTEM\\{ZZZ}]\n\"A\"=dword:1\n\"B\"=dword:2\n\"C\"=dword:3\n"
PAST_END = 0x7FFFFFF0


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hive(tmp_path_factory.mktemp("salvage"), "SYSTEM", SOURCE)


def entry_of(p: Patcher, parent: str, child: str) -> int:
    """The file position of the entry of ``parent``'s subkey list that points to ``child``."""
    raw, target = p.key(parent), p.key(f"{parent}\\{child}" if parent else child).offset
    count = int.from_bytes(p.data[field(raw.subkey_list, 2) : field(raw.subkey_list, 4)], "little")
    width = 8 if p.data[field(raw.subkey_list, 0) : field(raw.subkey_list, 2)] in (b"lf", b"lh") else 4
    return next(field(raw.subkey_list, 4 + i * width) for i in range(count)
                if p.u32(field(raw.subkey_list, 4 + i * width)) == target)


def keys_of(hive: Path, backend: str = "python-registry", any_kind: bool = False) -> set[str]:
    """Every key path of a hive walked as dump walks it."""
    h = HiveFile(hive, backend, any_kind=any_kind)
    out, stack = set(), [()]
    while stack:
        path = stack.pop()
        out.add("\\".join(path))
        stack.extend((*path, n) for n in h.subkey_names(path))
    return out


def damaged_copy(intact: Path, tmp_path: Path, parent: str, child: str) -> tuple[Path, str]:
    p = Patcher(intact)
    p.put(entry_of(p, parent, child), PAST_END)
    out = tmp_path / "SYSTEM"
    out.write_bytes(p.data)
    where = parent or "the root key"
    return out, (f"{where}: subkey lost (list entry -> 0x{PAST_END:x}): cell offset 0x{PAST_END:x} is past the end "
                 "of the hive")


LEVELS = [(parent, child) for parent, child in
          [("", "ControlSet001"), ("ControlSet001", "Control"), ("ControlSet001\\Control", "SecurityProviders"),
           ("ControlSet001\\Control\\SecurityProviders", "SCHANNEL"), (SCHANNEL, "Protocols"),
           (f"{SCHANNEL}\\Protocols", "TLS 1.2"), (TLS12, "Client")]]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("parent", "child"), LEVELS, ids=[c for _, c in LEVELS])
def test_one_bad_entry_at_each_level_of_the_schannel_path_loses_that_subtree_only(
        intact: Path, tmp_path: Path, parent: str, child: str, backend: str) -> None:
    hive, message = damaged_copy(intact, tmp_path, parent, child)
    lost_key = f"{parent}\\{child}" if parent else child
    expected = {k for k in keys_of(intact) if k != lost_key and not k.startswith(lost_key + "\\")}
    assert keys_of(hive, backend, any_kind=True) == expected
    walked = walk_hive(hive, backend, any_kind=True)
    assert isinstance(walked, tuple) and walked[2] == [message]
    code, out, err = regtls("dump", hive, "--backend", backend)
    assert code == 3
    prefix = "HKEY_LOCAL_MACHINE\\SYSTEM\\" if child != "ControlSet001" else "SYSTEM\\"
    dumped = {k["path"].removeprefix(prefix) for k in json.loads(out)["keys"] if k["path"].startswith(prefix)}
    assert dumped == expected - {""}
    assert [d["message"] for d in json.loads(out)["diagnostics"] if d["code"] in LOSSES] == [message]
    assert f"regtls: warning: {hive}: {message}\n" in err
    assert err.endswith("regtls: 1 damaged entries not read (exit code 3)\n")


@pytest.mark.parametrize(("parent", "child"), LEVELS[1:], ids=[c for _, c in LEVELS[1:]])
def test_settings_below_a_lost_entry_are_unknown_and_intact_ones_keep_their_state(
        intact: Path, tmp_path: Path, parent: str, child: str) -> None:
    hive, message = damaged_copy(intact, tmp_path, parent, child)
    software = SAMPLES / "server2019-configured" / "SOFTWARE"  # the OS is known: its defaults would apply
    report = run(load([hive, software]), choose_profile("azure-backup"))
    settings = {s.id: s for s in report.settings}
    damage = f"damaged: {hive}: {message}"
    client, server = settings["schannel/TLS 1.2/Client"], settings["schannel/TLS 1.2/Server"]
    assert (client.state, client.source, client.detail) == ("unknown", "unknown", damage)
    if child == "Client":  # its sibling is intact: its real, explicit state
        assert (server.state, server.source) == ("enabled", "explicit")
    else:
        assert (server.state, server.source, server.detail) == ("unknown", "unknown", damage)
    tls10 = settings["schannel/TLS 1.0/Client"]
    if child in ("Protocols", "SCHANNEL", "SecurityProviders", "Control"):
        assert (tls10.state, tls10.detail) == ("unknown", damage)
    else:  # TLS 1.0 sits beside the lost entry, intact
        assert (tls10.state, tls10.source) == ("disabled", "explicit")
    ssl3 = settings["schannel/SSL 3.0/Client"]  # no key: the OS default, unless the lost entry could have been it
    if child == "Client":
        assert (ssl3.state, ssl3.source) == ("not-default", "os-default")
    else:
        assert (ssl3.state, ssl3.source, ssl3.detail) == ("unknown", "unknown", damage)
    sch001 = next(r for r in report.results if r.rule == "SCH001")
    assert sch001.status == "undecided" and damage in sch001.message
    assert report.verdict == "undecided"  # the intact hive passes: see below
    assert any(d.code == "lost-entry" and d.message == message for d in report.diagnostics)


def test_the_intact_hive_passes(intact: Path) -> None:
    report = run(load([intact, SAMPLES / "server2019-configured" / "SOFTWARE"]), choose_profile("azure-backup"))
    assert report.verdict == "pass" and not report.diagnostics


def test_a_hive_that_lost_its_control_set_is_dumped_but_not_judged(intact: Path, tmp_path: Path) -> None:
    hive, _ = damaged_copy(intact, tmp_path, "", "ControlSet001")
    code, out, err = regtls("check", hive)
    assert (code, out) == (2, "")
    assert "not SYSTEM or SOFTWARE" in err
    assert regtls("dump", hive)[0] == 3  # read as a hive of another kind, below its file name


def test_a_count_mismatch_is_damage_not_an_os_default(intact: Path, tmp_path: Path) -> None:
    """Issue 18: the key record says 2 subkeys, its list holds 1 (Client dropped, Server moved up)."""
    p = Patcher(intact)
    tls12 = p.key(TLS12)
    lst = tls12.subkey_list
    p.put(field(lst, 2), 1, "<H")
    p.data[field(lst, 4) : field(lst, 12)] = p.data[field(lst, 12) : field(lst, 20)]
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(p.data)
    message = (f"{TLS12}: the key record at 0x{tls12.offset:x} declares 2 subkeys, its subkey list at "
               f"0x{lst:x} 1")
    walked = walk_hive(hive, "python-registry")
    assert isinstance(walked, tuple) and walked[2] == [message]
    report = run(load([hive, SAMPLES / "server2019-configured" / "SOFTWARE"]), choose_profile("azure-backup"))
    settings = {s.id: s for s in report.settings}
    assert settings["schannel/TLS 1.2/Client"].detail == f"damaged: {hive}: {message}"
    assert settings["schannel/TLS 1.2/Server"].state == "enabled"
    assert report.verdict == "undecided"
    assert regtls("dump", hive)[0] == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_bad_value_entry_and_a_free_cell_value_lose_those_values_only(
        intact: Path, tmp_path: Path, backend: str) -> None:
    p = Patcher(intact)
    zzz = ZZZ
    b = p.value(zzz, "B")
    p.put(field(p.key(zzz).value_list, 0), PAST_END)  # the first entry (A)
    p.put(BASE_BLOCK + b, abs(struct.unpack_from("<i", p.data, BASE_BLOCK + b)[0]), "<i")  # B's cell is free
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(p.data)
    h = HiveFile(hive, backend)
    assert [(v.name, v.data) for v in h.values(tuple(zzz.split("\\")))] == [("C", b"\3\0\0\0")]
    assert [d.message for d in h.diagnostics if d.code in LOSSES] == [
        f"{zzz}: value lost (list entry -> 0x{PAST_END:x}): cell offset 0x{PAST_END:x} is past the end of the hive",
        f"{zzz}: value lost (list entry -> 0x{b:x}): cell at 0x{b:x} is a free cell (a live record points into "
        "unallocated space)"]
    assert h.damaged(tuple(zzz.split("\\")), "A") is not None and h.damaged(tuple(zzz.split("\\")), "C") is None


def test_a_bad_hive_bin_header_is_named_and_everything_is_still_read(intact: Path, tmp_path: Path) -> None:
    p = Patcher(intact)
    p.data[BASE_BLOCK : BASE_BLOCK + 4] = b"XXXX"
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(p.data)
    assert keys_of(hive) == keys_of(intact)
    h = HiveFile(hive)
    assert [(d.code, d.message) for d in h.diagnostics] == [
        ("bad-hbin", "the hive bin header at 0x0 is damaged (no 'hbin' signature): read on from the next hive bin, "
                     "at 0x1000")]
    assert regtls("dump", hive)[0] == 0  # nothing lost: the cells are found through pointers


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_bad_big_data_segment_loses_that_value_only(tmp_path: Path, backend: str) -> None:
    path = corpus_file(tmp_path, "hives/yarp/BigDataHive")
    p = Patcher.__new__(Patcher)
    p.data = bytearray(path.read_bytes())
    p.hive = HiveFile(path, any_kind=True)
    key = p.key("key_with_bigdata")
    v = p.value("key_with_bigdata", "v")
    db = p.u32(field(v, VK_DATA))
    segments = p.u32(field(db, 4))
    p.put(field(segments, 8), PAST_END)  # the third of five segments
    out = tmp_path / "damaged"
    out.write_bytes(p.data)
    h = HiveFile(out, backend, any_kind=True)
    assert [(v.name, len(v.data)) for v in h.values(("key_with_bigdata",))] == [("", 16345)]
    assert [d.message for d in h.diagnostics if d.code in LOSSES] == [
        f"key_with_bigdata: value lost (list entry -> 0x{v:x}): cell offset 0x{PAST_END:x} is past the end of the "
        "hive"]
    assert key.value_count == 2
