"""Registry.pol ([MS-GPREG] 2.2.1) as a change set: records, directives, damage, lint/check/dump/fix and the formats."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from analyzer.inputs import load
from analyzer.registry import split_path
from analyzer.sources.pol import PolFormatError, parse
from tests.conftest import SAMPLES, build_hive, snapshot
from tests.test_cli import regtls

MACHINE = SAMPLES / "server2019-configured"
INET = "SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
NET = "SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319"
TLS10 = "SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server"


def u16(text: str) -> bytes:
    """UTF-16LE, as every character of a PReg body is written."""
    return text.encode("utf-16-le")


def rec(key: str, value: str, type_num: int, data: bytes) -> bytes:
    """``[key;value;type;size;data]``: the brackets and semicolons are UTF-16LE characters, key and value end in a
    UTF-16 NUL, type and size are little-endian DWORDs (written here independently of analyzer.sources.pol)."""
    return (u16("[") + u16(key) + b"\x00\x00" + u16(";") + u16(value) + b"\x00\x00" + u16(";")
            + struct.pack("<I", type_num) + u16(";") + struct.pack("<I", len(data)) + u16(";") + data + u16("]"))


def dword(n: int) -> bytes:
    return struct.pack("<I", n)


def sz(text: str) -> bytes:
    return u16(text) + b"\x00\x00"


def preg(*records: bytes, version: int = 1) -> bytes:
    return b"PReg" + struct.pack("<I", version) + b"".join(records)


def write(folder: Path, scope: str, data: bytes) -> Path:
    (folder / scope).mkdir(parents=True, exist_ok=True)
    path = folder / scope / "Registry.pol"
    path.write_bytes(data)
    return path


def test_records_and_their_byte_offsets() -> None:
    first = rec(INET, "SecureProtocols", 4, dword(0xA00))
    data = preg(first, rec(NET, "SchUseStrongCrypto", 4, dword(1)))
    records = list(parse(data))
    assert [(r.offset, r.key, r.value, r.type_num, r.data) for r in records] == [
        (8, INET, "SecureProtocols", 4, dword(0xA00)), (8 + len(first), NET, "SchUseStrongCrypto", 4, dword(1))]
    assert list(parse(preg())) == []  # a header alone: a GPO without registry settings


@pytest.mark.parametrize(("data", "offset", "what"), [
    (b"PReq\x01\x00\x00\x00", 0, "no PReg signature"),
    (preg(version=2), 4, "version 2; only version 1 is defined"),
    (b"PReg\x01\x00", 4, "the header ends before its version"),
    (preg(rec(INET, "x", 4, dword(1))[:-2]), 8 + len(rec(INET, "x", 4, dword(1))) - 2,
     "expected the end of the record"),
    (preg(u16("[") + u16(INET)), 10, "a name without its terminating NUL"),
    (preg(u16("(")), 8, "expected the start of a record"),
])
def test_damage_names_its_byte_offset(data: bytes, offset: int, what: str) -> None:
    with pytest.raises(PolFormatError) as caught:
        list(parse(data))
    assert caught.value.offset == offset and str(caught.value).startswith(what)


def test_a_declared_size_past_the_end_is_damage_not_a_read() -> None:
    bad = u16("[") + sz(INET) + u16(";") + sz("v") + u16(";") + dword(4) + u16(";") + dword(0xFFFFFFF0) + u16(";")
    with pytest.raises(PolFormatError, match="the data size 4294967280 runs past the end of the file"):
        list(parse(preg(bad)))


def test_directives_change_the_hive_as_documented(tmp_path: Path) -> None:
    policies = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Demo"
    software = build_hive(tmp_path, "SOFTWARE", f"""\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]
"CurrentBuildNumber"="17763"

[{policies}\\DelOne]
"a"=dword:00000001
"b"=dword:00000002

[{policies}\\DelAll]
"a"=dword:00000001
"b"=dword:00000002

[{policies}\\DelList]
"a"=dword:00000001
"b"=dword:00000002
"c"=dword:00000003

[{policies}\\Keys\\Gone1\\Below]
"x"=dword:00000001

[{policies}\\Keys\\Gone2]

[{policies}\\Keys\\Kept]

[{policies}\\Soft]
"present"=dword:00000001
""")
    k = "SOFTWARE\\Policies\\Demo\\"
    pol = write(tmp_path / "gpo", "Machine", preg(
        rec(k + "DelOne", "**del.a", 1, sz(" ")),
        rec(k + "DelAll", "**delvals.", 1, sz(" ")),
        rec(k + "DelList", "**DeleteValues", 1, sz("a;c")),
        rec(k + "Keys", "**DeleteKeys", 1, sz("Gone1;Gone2")),
        rec(k + "Soft", "**soft.present", 4, dword(9)),
        rec(k + "Soft", "**soft.absent", 4, dword(7)),
        rec(k + "Secured", "**SecureKey", 4, dword(1)),
        rec(k + "Empty", "", 0, b""),
        rec(k + "DelAll", "new", 4, dword(5)),
    ))
    machine = load([software, pol]).machine

    def values(name: str) -> dict[str, object]:
        return {v.name: v.decoded for v in machine.values(split_path(f"{policies}\\{name}"))}

    assert values("DelOne") == {"b": 2}
    assert values("DelAll") == {"new": 5}  # deleted first, then set by a later record: the order is kept
    assert values("DelList") == {"b": 2}
    assert machine.subkeys(split_path(f"{policies}\\Keys")) == ["Kept"]
    assert values("Soft") == {"present": 1, "absent": 7}  # **soft. never overwrites
    assert machine.exists(split_path(f"{policies}\\Secured")) and values("Secured") == {}
    assert machine.exists(split_path(f"{policies}\\Empty"))
    origin = machine.value(split_path(f"{policies}\\DelAll"), "new")
    assert origin is not None and origin.origin.describe() == f"{pol} (offset {origin.origin.offset})"


def test_check_with_a_gpo_what_if_and_evidence_untouched(tmp_path: Path) -> None:
    before = snapshot(MACHINE)
    first = rec(TLS10, "Enabled", 4, dword(1))
    pol = write(tmp_path / "{31B2F340-016D-11D2-945F-00C04FB984F9}", "Machine", preg(
        first, rec(TLS10, "DisabledByDefault", 4, dword(0))))
    code, out, err = regtls("check", MACHINE / "SYSTEM", MACHINE / "SOFTWARE", pol, "--profile", "tls12-strict",
                            "--format", "json")
    report = json.loads(out)
    assert code == 1 and err.startswith("regtls: verdict: fail")
    tls10 = [f for f in report["findings"] if f["rule"] == "SCH011" and f["location"]["file"] == str(pol)]
    assert [f["location"] for f in tls10] == [{
        "file": str(pol), "line": None, "value": "Enabled", "offset": 8,
        "key": "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\"
               "TLS 1.0\\Server"}]
    assert report["what_if"] == {"verdict_before": "fail", "rules": [], "settings": []}  # TLS 1.0 was on already
    assert [i["kind"] for i in report["inputs"]] == ["system-hive", "software-hive", "pol"]
    assert report["inputs"][2]["root"] == "HKEY_LOCAL_MACHINE" and report["inputs"][2]["unchanged"] is True
    assert snapshot(MACHINE) == before


def test_a_damaged_gpo_is_exit_2_and_the_records_before_still_count(tmp_path: Path) -> None:
    good = rec(TLS10, "Enabled", 4, dword(1))
    pol = write(tmp_path, "Machine", preg(good, rec(TLS10, "DisabledByDefault", 4, dword(0))[:-4]))
    bad_at = 8 + len(good) + len(rec(TLS10, "DisabledByDefault", 4, dword(0))) - 6
    code, out, err = regtls("check", MACHINE / "SYSTEM", MACHINE / "SOFTWARE", pol, "--profile", "tls12-strict",
                            "--format", "json")
    assert code == 2
    line = (f"regtls: error: {pol}: malformed Registry.pol at byte offset {bad_at}: the data size 4 runs past the end "
            "of the file; the 1 record(s) before it are applied")
    assert err.splitlines() == [line, err.splitlines()[1]] and err.splitlines()[1].startswith("regtls: verdict: fail")
    report = json.loads(out)
    assert [f["location"].get("offset") for f in report["findings"] if f["rule"] == "SCH011"
            and f["location"]["file"] == str(pol)] == [8]


def test_lint_a_gpo_file_sarif_and_junit_carry_the_byte_offset(tmp_path: Path) -> None:
    from junitparser import JUnitXml

    net_typo = "SOFTWARE\\Microsoft.NETFramework\\v4.0.30319"
    first = rec(net_typo, "SchUseStrongCrypto", 4, dword(1))
    pol = write(tmp_path, "Machine", preg(first, rec(TLS10, "Enabled", 4, dword(0xFFFFFFFF))))
    code, out, err = regtls("lint", pol)
    assert code == 1 and err == "regtls: fail: 2 errors, 0 warnings, 1 notes in 1 file(s)\n"
    assert out.splitlines() == [
        f"{pol} (offset 8): error REG005 key 'HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Microsoft.NETFramework\\\\v4.0.30319'"
        " is not one Windows reads; did you mean "
        "'HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Microsoft\\\\.NETFramework\\\\v4.0.30319'? [regtls rules show REG005]",
        f"{pol} (offset {8 + len(first)}): error REG006 TLS 1.0\\Server: Enabled=0xffffffff switches TLS 1.0 on "
        "[regtls rules show REG006]",
        f"{pol} (offset {8 + len(first)}): note SCH005 TLS 1.0\\Server: Enabled=0xffffffff is the legacy form of 1 "
        "(on) [regtls rules show SCH005]"]
    code, out, _ = regtls("lint", pol, "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]) for r in results] == [
        ("REG005", {"byteOffset": 8}), ("REG006", {"byteOffset": 8 + len(first)}),
        ("SCH005", {"byteOffset": 8 + len(first)})]
    code, out, _ = regtls("lint", pol, "--format", "junit")
    failures = [case for suite in JUnitXml.fromstring(out.encode()) for case in suite
                if case.result and case.result[0]._tag == "failure"]
    assert sorted(case.name.split()[0] for case in failures) == ["REG005", "REG006", "SCH005"]
    assert all(f"{pol} (offset " in case.result[0].text for case in failures)


def test_lint_a_damaged_gpo_still_lints_the_rest(tmp_path: Path) -> None:
    pol = write(tmp_path, "Machine", preg(rec(TLS10, "Enabled", 4, dword(1)), version=1) + b"junk")
    code, out, err = regtls("lint", pol)
    assert code == 2
    assert out.splitlines()[0] == (f"{pol} (offset 8): error REG006 TLS 1.0\\Server: Enabled=1 switches TLS 1.0 on "
                                   "[regtls rules show REG006]")
    assert err.splitlines()[0].startswith(f"regtls: error: {pol}: malformed Registry.pol at byte offset ")


def test_dump_a_user_gpo_maps_to_hkcu(tmp_path: Path) -> None:
    pol = write(tmp_path, "User", preg(rec("Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings",
                                           "SecureProtocols", 4, dword(0x2800))))
    code, out, err = regtls("dump", pol, "--format", "reg")
    assert code == 0 and err == "regtls: 7 keys\n"
    assert out.endswith("[HKEY_CURRENT_USER\\Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]"
                        "\n\"SecureProtocols\"=dword:00002800\n\n")


def test_sysvol_copy_is_an_input(tmp_path: Path) -> None:
    sysvol = tmp_path / "SYSVOL" / "corp.example" / "Policies"
    write(sysvol / "{6AC1786C-016F-11D2-945F-00C04FB984F9}", "Machine", preg(rec(TLS10, "Enabled", 4, dword(1))))
    code, out, _ = regtls("check", MACHINE / "SYSTEM", MACHINE / "SOFTWARE", tmp_path / "SYSVOL", "--profile",
                          "tls12-strict", "--format", "json")
    report = json.loads(out)
    assert code == 1 and [i["kind"] for i in report["inputs"]] == ["system-hive", "software-hive", "pol"]
    assert any(f["rule"] == "SCH011" and f["location"].get("offset") == 8 for f in report["findings"])


def test_fix_as_a_gpo_file_round_trips(tmp_path: Path) -> None:
    machine = SAMPLES / "server2012r2-untouched"
    out_dir = tmp_path / "Machine"
    out_dir.mkdir()
    fix = out_dir / "Registry.pol"
    code, _, err = regtls("fix", machine / "SYSTEM", machine / "SOFTWARE", "--format", "pol", "--output", fix)
    assert code == 0 and err.endswith("change(s) written to " + str(fix) + "; verdict before fail, after pass\n")
    data = fix.read_bytes()
    assert data[:8] == b"PReg\x01\x00\x00\x00"
    keys = {(r.key, r.value, r.data) for r in parse(data)}
    assert (NET, "SchUseStrongCrypto", dword(1)) in keys
    assert ("SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319", "SystemDefaultTlsVersions", dword(1)) in keys
    code, out, _ = regtls("check", machine / "SYSTEM", machine / "SOFTWARE", fix)
    assert code == 0 and out.startswith("verdict: pass")
