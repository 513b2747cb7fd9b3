"""The machine view: hives as the base, .reg change sets on top in order, with provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.inputs import load
from analyzer.registry import split_path
from analyzer.sources import SourceError
from tests.conftest import SAMPLES

HIVE = SAMPLES / "server2008r2-sp1-untouched"
PROTOCOLS = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"


def reg(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text("Windows Registry Editor Version 5.00\n\n" + body, encoding="utf-8")
    return path


def test_reg_over_hive_maps_current_control_set_and_keeps_provenance(tmp_path: Path) -> None:
    change = reg(tmp_path, "fix.reg", f"[{PROTOCOLS}\\tls 1.2\\client]\n\"Enabled\"=dword:00000001\n")
    machine = load([HIVE / "SYSTEM", change]).machine
    assert machine.control_set == "ControlSet001"
    value = machine.value(split_path(f"{PROTOCOLS}\\TLS 1.2\\Client"), "ENABLED")
    assert value is not None and (value.origin.file, value.origin.line, value.data) == (str(change), 4, b"\1\0\0\0")
    # the same value through the resolved path, and the key exists only because the change set made it
    assert machine.value(split_path(f"{PROTOCOLS.replace('CurrentControlSet', 'ControlSet001')}\\TLS 1.2\\Client"),
                         "Enabled") == value
    assert machine.subkeys(split_path(PROTOCOLS)) == ["SSL 2.0", "tls 1.2"]
    origin = machine.key_origin(split_path(f"{PROTOCOLS}\\TLS 1.2"))
    assert origin is not None and origin.line == 3


def test_hive_spelling_wins_for_existing_keys(tmp_path: Path) -> None:
    change = reg(tmp_path, "c.reg", f"[{PROTOCOLS}\\ssl 2.0\\CLIENT]\n\"X\"=dword:1\n")
    machine = load([HIVE / "SYSTEM", change]).machine
    assert machine.subkeys(split_path(f"{PROTOCOLS}\\SSL 2.0")) == ["Client"]
    assert [v.name for v in machine.values(split_path(f"{PROTOCOLS}\\SSL 2.0\\Client"))] == [
        "DisabledByDefault", "X"]


def test_delete_key_hides_the_hive_subtree_and_a_later_file_recreates(tmp_path: Path) -> None:
    first = reg(tmp_path, "a.reg", f"[-{PROTOCOLS}]\n")
    second = reg(tmp_path, "b.reg", f"[{PROTOCOLS}\\TLS 1.2\\Client]\n\"Enabled\"=dword:0\n")
    machine = load([HIVE / "SYSTEM", first]).machine
    protocols = split_path(PROTOCOLS)
    assert not machine.exists(protocols)
    assert machine.value((*protocols, "SSL 2.0", "Client"), "DisabledByDefault") is None
    assert machine.known((*protocols, "SSL 2.0", "Client"), "DisabledByDefault")
    machine = load([HIVE / "SYSTEM", first, second]).machine
    assert machine.subkeys(protocols) == ["TLS 1.2"]  # SSL 2.0 from the hive stays deleted


def test_later_files_win_and_value_deletion(tmp_path: Path) -> None:
    key = f"[{PROTOCOLS}\\TLS 1.2\\Client]\n"
    a = reg(tmp_path, "a.reg", key + "\"Enabled\"=dword:0\n\"DisabledByDefault\"=dword:1\n")
    b = reg(tmp_path, "b.reg", key + "\"Enabled\"=dword:1\n\"DisabledByDefault\"=-\n")
    machine = load([HIVE / "SYSTEM", a, b]).machine
    path = split_path(f"{PROTOCOLS}\\TLS 1.2\\Client")
    value = machine.value(path, "Enabled")
    assert value is not None and (value.data, value.origin.file) == (b"\1\0\0\0", str(b))
    assert machine.value(path, "DisabledByDefault") is None
    assert [v.name for v in machine.values(path)] == ["Enabled"]
    machine = load([HIVE / "SYSTEM", b, a]).machine  # command-line order decides
    assert machine.value(path, "Enabled").data == b"\0\0\0\0"  # type: ignore[union-attr]


def test_reg_only_machine_knows_only_what_the_files_say(tmp_path: Path) -> None:
    change = reg(tmp_path, "a.reg", f"[{PROTOCOLS}\\TLS 1.2\\Client]\n\"Enabled\"=dword:1\n\"X\"=-\n")
    machine = load([change]).machine
    path = split_path(f"{PROTOCOLS}\\TLS 1.2\\Client")
    assert machine.control_set is None
    assert machine.known(path, "Enabled") and machine.known(path, "X")
    assert not machine.known(path, "DisabledByDefault")
    assert [("\\".join(p)) for p in machine.walk(split_path("HKEY_LOCAL_MACHINE\\SYSTEM"))] == [
        "HKEY_LOCAL_MACHINE\\SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet",
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control",
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders",
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL",
        PROTOCOLS, f"{PROTOCOLS}\\TLS 1.2", f"{PROTOCOLS}\\TLS 1.2\\Client"]


def test_two_system_hives_are_a_usage_error() -> None:
    other = SAMPLES / "server2019-configured" / "SYSTEM"
    with pytest.raises(SourceError, match="a second SYSTEM hive"):
        load([HIVE / "SYSTEM", other])
