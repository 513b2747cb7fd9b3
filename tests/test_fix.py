"""``regtls fix``: the fix makes the machine pass, the undo restores it exactly, and real tools accept the file."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, hive_builder
from tests.test_cli import machine, regtls

# (machine, profile, exit code of fix, what a registry change cannot fix)
CASES = [
    ("server2008r2-sp1-untouched", "azure-backup", 1,
     ["OS001: install KB3140245 (a registry change cannot add an update)"]),
    ("server2012r2-untouched", "azure-backup", 0, []),
    ("win11-23h2-partial", "azure-backup", 0, []),
    ("server2012r2-untouched", "configmgr", 0, []),
    ("server2019-configured", "tls12-strict", 0, []),
    ("server2019-configured", "stig-iis10", 0, []),
    ("win10-x86", "nist-800-52r2", 0, []),
]
IDS = [f"{m}-{p}" for m, p, _, _ in CASES]


def settings(*args: object) -> dict[str, tuple[object, ...]]:
    code, out, _ = regtls("check", *args, "--format", "json")
    assert code in (0, 1)
    return {s["id"]: (s["state"], s["source"], s["detail"], s.get("values"), s.get("mask"))
            for s in json.loads(out)["settings"]}


def errors_after(*args: object) -> list[str]:
    _, out, _ = regtls("check", *args, "--format", "json")
    return sorted({f["rule"] for f in json.loads(out)["findings"] if f["level"] == "error"})


@pytest.fixture(params=CASES, ids=IDS)
def fixed(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, Path, Path]:
    name, profile, code, manual = request.param
    fix, undo = tmp_path / "fix.reg", tmp_path / "undo.reg"
    exit_code, out, err = regtls("fix", *machine(name), "--profile", profile, "--output", fix, "--undo", undo)
    assert (exit_code, out) == (code, "")
    assert [line[len("regtls: not fixed: "):] for line in err.splitlines() if "not fixed" in line] == manual
    assert fix.read_bytes()[:2] == b"\xff\xfe" and b"\r\n" in fix.read_bytes().decode("utf-16-le").encode()
    return name, profile, fix, undo


def test_fixed_machine_meets_the_profile(fixed: tuple[str, str, Path, Path]) -> None:
    name, profile, fix, _ = fixed
    assert errors_after(*machine(name), fix, "--profile", profile) == []


def test_undo_restores_every_setting(fixed: tuple[str, str, Path, Path]) -> None:
    name, profile, fix, undo = fixed
    assert settings(*machine(name), fix, undo, "--profile", profile) == settings(*machine(name), "--profile", profile)


def test_lint_finds_nothing_in_the_fix(fixed: tuple[str, str, Path, Path]) -> None:
    """Against the profile it was made for, lint finds nothing; the default lint profile finds no error either
    (a server-only standard such as the STIG leaves "switched off for one role only" warnings)."""
    _, profile, fix, _ = fixed
    assert regtls("lint", fix, "--profile", profile) == (
        0, "", "regtls: pass: 0 errors, 0 warnings, 0 notes in 1 file(s)\n")
    code, out, err = regtls("lint", fix)
    assert code == 0 and err.startswith("regtls: pass: 0 errors,")
    assert {line.split()[2] for line in out.splitlines()} <= ({"XCK005"} if profile == "stig-iis10" else set())


def test_hivex_merges_the_fix_into_copies_of_the_hives(fixed: tuple[str, str, Path, Path], tmp_path: Path) -> None:
    """A real consumer (hivexregedit) applies fix.reg to copies of the hives, which then pass."""
    if shutil.which("hivexregedit") is None:
        pytest.skip("hivexregedit (Debian package libwin-hivex-perl) is not installed")
    name, profile, fix, _ = fixed
    builder = hive_builder()
    text = fix.read_bytes().decode("utf-16")
    current = json.loads(regtls("check", *machine(name), "--format", "json")[1])["machine"]["control_set"]
    text = text.replace("\\CurrentControlSet\\", f"\\{current}\\")
    copies = []
    for kind in ("SYSTEM", "SOFTWARE"):
        copy = tmp_path / kind
        shutil.copy(SAMPLES / name / kind, copy)
        sections = re.split(r"(?m)^(?=\[)", text)
        mine = [s for s in sections[1:] if s.lstrip("[-").upper().startswith(f"HKEY_LOCAL_MACHINE\\{kind}\\")]
        builder.merge(kind, "Windows Registry Editor Version 5.00\n\n" + "".join(mine), copy, str(fix))
        copies.append(copy)
    assert errors_after(*copies, "--profile", profile) == []


def test_fix_for_reg_only_input_and_typos(tmp_path: Path) -> None:
    fix = tmp_path / "fix.reg"
    code, out, err = regtls("fix", SAMPLES / "reg" / "tls12-typos.reg", "--output", fix)
    text = fix.read_bytes().decode("utf-16")
    protocols = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
    assert (code, out) == (1, "")
    assert f"[-{protocols}\\TLS1.2]" in text  # the misspelled key goes
    assert f'[{protocols}\\TLS 1.2]\r\n"Enabled"=-' in text  # the value on the version key goes
    assert f'[{protocols}\\TLS 1.2\\Client]\r\n"Enabled"=dword:00000001\r\n"DisabledByDefault"=dword:00000000' in text
    assert '"SchUseStrongCrypto"=dword:00000001' in text
    # what only a person can do: the broken lines of the input file
    assert "regtls: not fixed: REG001: not fixed by a registry change: " in err and "tls12-typos.reg:16:34" in err
    assert "regtls: not fixed: REG002: not fixed by a registry change: " in err


def test_powershell_output_is_idempotent_dotnet_calls(tmp_path: Path) -> None:
    script = tmp_path / "fix.ps1"
    code, out, _ = regtls("fix", *machine("server2019-configured"), "--profile", "tls12-strict", "--format", "ps1",
                          "--output", script)
    text = script.read_text()
    assert (code, out) == (0, "")
    assert text.startswith("# Generated by regtls. Run as Administrator; running it twice changes nothing more.\n")
    assert ("$k = $hklm.CreateSubKey('SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\RC4 "
            "128/128'); $k.SetValue('Enabled', 0, [Microsoft.Win32.RegistryValueKind]::DWord); $k.Close()") not in text
    assert ("$k = $hklm.CreateSubKey('SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\"
            "TLS 1.0\\Server'); $k.SetValue('Enabled', 0, [Microsoft.Win32.RegistryValueKind]::DWord); $k.Close()") \
        in text
    assert "New-Item" not in text  # the registry provider would split 'Triple DES 168/168'-style names


def test_fix_output_path_checks(tmp_path: Path) -> None:
    code, out, err = regtls("fix", *machine("server2019-configured"), "--output", tmp_path / "no" / "fix.reg")
    assert (code, out, err) == (2, "", f"regtls: error: {tmp_path / 'no' / 'fix.reg'}: the folder "
                                       f"{tmp_path / 'no'} does not exist\n")
