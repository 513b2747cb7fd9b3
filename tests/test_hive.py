"""Contract test: the same assertions over both hive backends, on real hives built by hivex and from the corpus."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from analyzer.registry import fold
from analyzer.sources.hive import BACKENDS, HiveError, HiveFile
from analyzer.sources.regfile import OpKind, read_reg
from tests.conftest import SAMPLES, build_hive, corpus_file

MACHINES = sorted(p.name for p in SAMPLES.iterdir() if (p / "SYSTEM").is_file())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("kind", ["SYSTEM", "SOFTWARE"])
def test_hive_holds_exactly_its_reg_source(backend: str, machine: str, kind: str) -> None:
    """Every key and value of the committed .reg source reads back from the built hive, byte for byte."""
    hive = HiveFile(SAMPLES / machine / kind, backend)
    assert hive.kind == kind.lower()
    expected: dict[tuple[str, ...], dict[str, tuple[int, bytes]]] = {}
    for op in read_reg(SAMPLES / machine / f"{kind}.reg").ops:
        rel = op.path[2:]
        for n in range(1, len(rel) + 1):
            expected.setdefault(rel[:n], {})
        if op.kind is OpKind.SET_VALUE:
            assert op.name is not None
            expected[rel][op.name] = (op.type_num, op.data)
    for rel, values in expected.items():
        assert hive.key_name(rel) == rel[-1]
        got = {v.name: (v.type_num, v.data) for v in hive.values(rel)}
        assert got == values, rel
    stack: list[tuple[str, ...]] = [()]
    seen = 0
    while stack:
        rel = stack.pop()
        seen += 1
        stack.extend((*rel, n) for n in hive.subkey_names(rel))
    assert seen == len(expected) + 1  # nothing more in the hive than the source (+ the root)


def test_lookups_are_case_insensitive_and_keep_stored_names(backend: str) -> None:
    hive = HiveFile(SAMPLES / "server2019-configured" / "SYSTEM", backend)
    path = ("controlset001", "CONTROL", "securityproviders", "schannel", "PROTOCOLS", "tls 1.2", "CLIENT")
    assert hive.key_name(path) == "Client"
    value = hive.value(path, "enabled")
    assert value is not None and (value.name, value.type_num, value.data) == ("Enabled", 4, b"\1\0\0\0")
    assert value.origin.control_set == "ControlSet001"


def test_key_absent_value_absent_and_wrong_type_are_distinct(backend: str, tmp_path: Path) -> None:
    hive_path = build_hive(tmp_path, "SYSTEM", "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000001\n\n"
                      "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\T]\n\"Sz\"=\"1\"\n"
                      "\"Long\"=hex(4):01,00,00,00,00,00,00,00\n\"Short\"=hex(4):01,00\n\"Empty\"=hex(4):\n"
                      "\"Q\"=hex(b):01,00,00,00,00,00,00,00\n\"Big\"=hex:" + ",".join(["ab"] * 20000) + "\n")
    hive = HiveFile(hive_path, backend)
    key = ("ControlSet001", "T")
    assert hive.key_name(("ControlSet001", "Missing")) is None
    assert hive.values(("ControlSet001", "Missing")) == []
    assert hive.value(key, "Missing") is None
    got = {v.name: (v.type_num, v.data) for v in hive.values(key)}
    assert got == {"Sz": (1, "1\0".encode("utf-16-le")), "Long": (4, b"\1" + b"\0" * 7), "Short": (4, b"\1\0"),
                   "Empty": (4, b""), "Q": (11, b"\1" + b"\0" * 7), "Big": (3, b"\xab" * 20000)}


@pytest.mark.parametrize(("select", "control_set", "source", "warning"), [
    ("\"Current\"=dword:00000002\n\"Default\"=dword:00000001\n", "ControlSet002", "Select\\Current", None),
    ("\"Current\"=dword:00000007\n\"Default\"=dword:00000001\n", "ControlSet001", "Select\\Default",
     "Select\\Current is missing or names no control set: using Select\\Default = 1 (ControlSet001)"),
    ("\"Current\"=\"2\"\n", "ControlSet001", "lowest ControlSet00N",
     "no usable Select\\Current or Select\\Default: using the lowest control set, ControlSet001"),
    (None, "ControlSet001", "lowest ControlSet00N",
     "no usable Select\\Current or Select\\Default: using the lowest control set, ControlSet001"),
])
def test_current_control_set_and_reported_fallbacks(backend: str, tmp_path: Path, select: str | None,
                                                    control_set: str, source: str, warning: str | None) -> None:
    text = "".join(f"[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet00{n}\\Control]\n\n" for n in (1, 2))
    if select is not None:
        text = "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n" + select + "\n" + text
    hive = HiveFile(build_hive(tmp_path, "SYSTEM", text), backend)
    assert (hive.control_set, hive.control_set_source) == (control_set, source)
    assert [d.message for d in hive.diagnostics if d.code == "control-set"] == ([warning] if warning else [])


def test_kind_comes_from_content_not_file_name(backend: str, tmp_path: Path) -> None:
    renamed = tmp_path / "SYSTEM"
    shutil.copy(SAMPLES / "server2012r2-untouched" / "SOFTWARE", renamed)
    assert HiveFile(renamed, backend).kind == "software"


def test_damaged_hives_raise_our_error_naming_the_file(backend: str, tmp_path: Path) -> None:
    truncated = tmp_path / "TRUNCATED"
    truncated.write_bytes((SAMPLES / "server2019-configured" / "SYSTEM").read_bytes()[:4200])
    with pytest.raises(HiveError, match=f"^{truncated}: "):
        HiveFile(truncated, backend)
    header_only = tmp_path / "HEADER"
    header_only.write_bytes((SAMPLES / "server2019-configured" / "SYSTEM").read_bytes()[:4096])
    with pytest.raises(HiveError, match=f"^{header_only}: "):
        HiveFile(header_only, backend)


def test_ntuser_is_a_user_hive(backend: str, tmp_path: Path) -> None:
    ntuser = corpus_file(tmp_path, "hives/regipy/NTUSER.DAT.xz")
    assert HiveFile(ntuser, backend).kind == "ntuser"
    sam = corpus_file(tmp_path, "hives/regipy/SAM.xz")
    with pytest.raises(HiveError, match=r"a registry hive, but not SYSTEM or SOFTWARE .*top-level keys: SAM"):
        HiveFile(sam, backend)


def test_big_data_records_match_python_registry_own_reader(backend: str, tmp_path: Path) -> None:
    """yarp's BigDataHive (v1.5, 'db' records): our exact bytes equal python-registry's own decoding."""
    from Registry import Registry

    path = corpus_file(tmp_path, "hives/yarp/BigDataHive")
    reference = Registry.Registry(str(path))
    with pytest.raises(HiveError, match="not SYSTEM or SOFTWARE"):
        HiveFile(path, backend)
    hive = HiveFile(path, backend, any_kind=True)
    assert (hive.kind, hive.header.minor) == ("other", 5)
    checked = 0
    stack: list[tuple[tuple[str, ...], Any]] = [((), reference.root())]
    while stack:
        path_in_hive, ref = stack.pop()
        ref_values = {v._vkrecord.name(): v for v in ref.values()}  # RegistryValue.name() says "(default)"
        for value in hive.values(path_in_hive):
            if value.type_num == 3 and len(value.data) > 16344:
                assert value.data == ref_values[value.name].value()
                checked += 1
        kids = {k.name(): k for k in ref.subkeys()}
        stack.extend(((*path_in_hive, name), kids[name]) for name in hive.subkey_names(path_in_hive))
    assert checked == 2  # the default value (16345 bytes) and "v" (81725 bytes)


@pytest.mark.parametrize("machine", MACHINES)
def test_backends_agree_on_timestamps(machine: str) -> None:
    hives = [HiveFile(SAMPLES / machine / "SYSTEM", b) for b in BACKENDS]
    key = ("Select",)
    assert len({h.last_write(key) for h in hives}) == 1
    assert hives[0].last_write(key) is not None and hives[0].last_write(key).year == 2024  # type: ignore[union-attr]
    assert fold(hives[0].subkey_names(())[0]) == fold(hives[1].subkey_names(())[0])


def test_committed_sample_hives_are_rebuilt_byte_for_byte_from_their_sources() -> None:
    """The sample hives are reproducible: hivexregedit rebuilds them from the .reg sources identically."""
    if shutil.which("hivexregedit") is None:
        pytest.skip("hivexregedit (Debian package libwin-hivex-perl) is not installed")
    proc = subprocess.run([sys.executable, str(SAMPLES / "build_hives.py"), "--check"], capture_output=True,
                          text=True, timeout=300)
    assert (proc.returncode, proc.stderr) == (0, "")
