"""Per-user hives (NTUSER.DAT) built by hivexregedit, WinINet SecureProtocols precedence, and the 32-bit view."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analyzer.inputs import load
from analyzer.knowledge.state import evaluate
from tests.conftest import SAMPLES, hive_builder, snapshot
from tests.test_cli import regtls

TWO = SAMPLES / "win11-two-users"
CONFIG = TWO / "Windows" / "System32" / "config"
ALICE, BOB = "S-1-5-21-3623811015-3361044348-30300820-1001", "S-1-5-21-3623811015-3361044348-30300820-1002"
INET = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
POLICY = "Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"


def ntuser(folder: Path, name: str, body: str) -> Path:
    """``folder/Users/<name>/NTUSER.DAT`` built by hivexregedit from HKEY_CURRENT_USER .reg text."""
    if shutil.which("hivexregedit") is None:
        pytest.skip("hivexregedit (Debian package libwin-hivex-perl) is not installed")
    home = folder / "Users" / name
    home.mkdir(parents=True)
    source = home / "NTUSER.DAT.reg"
    source.write_text("Windows Registry Editor Version 5.00\n\n[HKEY_CURRENT_USER\\Environment]\n\n"
                      "[HKEY_CURRENT_USER\\Software]\n\n" + body,
                      encoding="utf-8")
    hive_builder().build("NTUSER", source, home / "NTUSER.DAT")
    source.unlink()
    return home / "NTUSER.DAT"


def reg(path: Path, body: str) -> Path:
    path.write_text("Windows Registry Editor Version 5.00\n\n" + body, encoding="utf-8")
    return path


def wininet(report: dict[str, object]) -> dict[str, tuple[str, str]]:
    return {s["id"]: (s["state"], s["detail"]) for s in report["settings"]  # type: ignore[attr-defined]
            if s["id"].startswith("wininet/")}


def test_a_windows_root_brings_its_users_and_its_gpo() -> None:
    before = snapshot(TWO)
    code, out, err = regtls("check", TWO, "--format", "json")
    report = json.loads(out)
    assert code == 0 and err.startswith("regtls: verdict: pass")  # the machine GPO sets .NET in both views
    assert [(i["path"], i["kind"]) for i in report["inputs"]] == [
        (str(CONFIG / "SYSTEM"), "system-hive"), (str(CONFIG / "SOFTWARE"), "software-hive"),
        (str(TWO / "Users" / "alice" / "NTUSER.DAT"), "ntuser-hive"),
        (str(TWO / "Users" / "bob" / "NTUSER.DAT"), "ntuser-hive"),
        (str(TWO / "Windows" / "System32" / "GroupPolicy" / "Machine" / "Registry.pol"), "pol")]
    assert report["users"] == [
        {"key": ALICE, "sid": ALICE, "name": "alice", "hive": str(TWO / "Users" / "alice" / "NTUSER.DAT")},
        {"key": BOB, "sid": BOB, "name": "bob", "hive": str(TWO / "Users" / "bob" / "NTUSER.DAT")}]
    assert wininet(report) == {
        "wininet/machine/SecureProtocols": ("unset", "absent; WinINet's default for this OS is not documented "
                                                     "(UNCERTAIN)"),
        f"wininet/user/{ALICE}/SecureProtocols": ("set", "user preference: SecureProtocols=0x2a80"),
        f"wininet/user/{BOB}/SecureProtocols": ("set", "user preference: SecureProtocols=0x28")}
    assert snapshot(TWO) == before


def test_the_strict_profile_names_the_user_whose_wininet_has_no_tls() -> None:
    code, out, _ = regtls("check", TWO, "--profile", "tls12-strict", "--format", "json")
    found = [(f["rule"], f["message"], f["location"]["file"]) for f in json.loads(out)["findings"]
             if f["rule"].startswith("WIN")]
    bob = str(TWO / "Users" / "bob" / "NTUSER.DAT")
    assert code == 1 and found == [
        ("WIN001", f"user bob ({BOB}) preference: SecureProtocols=0x28 does not include TLS 1.2 (0x800)", bob),
        ("WIN002", f"user bob ({BOB}) preference: SecureProtocols=0x28 turns on SSL 2.0 and SSL 3.0", bob)]


def test_the_config_folder_alone_still_finds_the_users_and_gpo() -> None:
    code, out, _ = regtls("check", CONFIG, "--format", "json")
    assert code == 0 and len(json.loads(out)["users"]) == 2


def test_the_hives_without_the_gpo_fail_and_what_if_shows_it(tmp_path: Path) -> None:
    code, out, _ = regtls("check", CONFIG / "SYSTEM", CONFIG / "SOFTWARE", TWO / "Users" / "bob" / "NTUSER.DAT")
    assert code == 1 and out.startswith("verdict: fail (2 errors")  # the text report starts with its verdict


def test_one_user_is_hkcu_and_policy_beats_preference(tmp_path: Path) -> None:
    hive = ntuser(tmp_path, "carol", f'[HKEY_CURRENT_USER\\{INET}]\n"SecureProtocols"=dword:00000a80\n')
    change = reg(tmp_path / "gpo.reg", f'[HKEY_CURRENT_USER\\{POLICY}]\n"SecureProtocols"=dword:00000080\n')
    loaded = load([CONFIG / "SOFTWARE", hive, change])
    assert [(u.key, u.sid, u.name) for u in loaded.users] == [("carol", None, "carol")]  # not in ProfileList
    setting = evaluate(loaded.machine).settings["wininet/user/carol/SecureProtocols"]
    assert (setting.state, setting.detail, setting.extra["layer"]) == (
        "set", "user policy: SecureProtocols=0x80", "user policy")
    assert setting.evidence[0].line == 4 and setting.evidence[0].file == str(change)  # HKCU is carol's hive


def test_machine_policy_beats_the_users_and_security_hklm_only_ignores_them(tmp_path: Path) -> None:
    hive = ntuser(tmp_path, "dave", f'[HKEY_CURRENT_USER\\{POLICY}]\n"SecureProtocols"=dword:00000028\n')
    machine_pref = reg(tmp_path / "pref.reg", '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\'
                       'Internet Settings]\n"SecureProtocols"=dword:00000800\n')
    state = evaluate(load([CONFIG / "SOFTWARE", hive, machine_pref]).machine)
    assert state.settings["wininet/user/dave/SecureProtocols"].extra["mask"] == 0x28  # user policy over machine pref
    only = reg(tmp_path / "only.reg", "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\"
               'Internet Settings]\n"Security_HKLM_only"=dword:00000001\n')
    state = evaluate(load([CONFIG / "SOFTWARE", hive, machine_pref, only]).machine)
    setting = state.settings["wininet/user/dave/SecureProtocols"]
    assert (setting.extra["mask"], setting.detail) == (0x800, "machine preference: SecureProtocols=0x800; "
                                                               "Security_HKLM_only=1: the user's values are ignored")
    policy = reg(tmp_path / "policy.reg", "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\"
                 'CurrentVersion\\Internet Settings]\n"SecureProtocols"=dword:00002800\n')
    state = evaluate(load([CONFIG / "SOFTWARE", hive, machine_pref, policy]).machine)
    assert state.settings["wininet/user/dave/SecureProtocols"].extra["layer"] == "machine policy"


def test_hkcu_change_sets_with_several_users_stay_their_own_user(tmp_path: Path) -> None:
    ntuser(tmp_path, "erin", "")
    ntuser(tmp_path, "frank", "")
    change = reg(tmp_path / "hkcu.reg", f'[HKEY_CURRENT_USER\\{INET}]\n"SecureProtocols"=dword:00000028\n')
    code, out, _ = regtls("check", tmp_path / "Users" / "erin" / "NTUSER.DAT", tmp_path / "Users" / "frank" /
                          "NTUSER.DAT", change, "--profile", "tls12-strict", "--format", "json")
    report = json.loads(out)
    assert sorted(wininet(report)) == ["wininet/machine/SecureProtocols",
                                       "wininet/user/HKEY_CURRENT_USER/SecureProtocols",
                                       "wininet/user/erin/SecureProtocols", "wininet/user/frank/SecureProtocols"]
    assert [(f["rule"], f["location"]["line"]) for f in report["findings"] if f["rule"].startswith("WIN")] == [
        ("WIN001", 4), ("WIN002", 4)]
    assert code == 1


def test_lint_refuses_a_user_hive(tmp_path: Path) -> None:
    hive = ntuser(tmp_path, "gina", "")
    code, _, err = regtls("lint", hive)
    assert code == 2 and err.splitlines()[0] == (f"regtls: error: {hive}: a hive file; lint reads .reg and "
                                                 "Registry.pol files (use regtls check for hives)")


def test_dump_mounts_the_user_under_hkey_users(tmp_path: Path) -> None:
    hive = ntuser(tmp_path, "hal", f'[HKEY_CURRENT_USER\\{INET}]\n"SecureProtocols"=dword:00000a00\n')
    code, out, _ = regtls("dump", hive, "--format", "reg")
    assert code == 0
    assert f'[HKEY_USERS\\hal\\{INET}]\n"SecureProtocols"=dword:00000a00\n' in out


def test_wow6432node_written_on_32bit_windows_changes_nothing(tmp_path: Path) -> None:
    x86 = SAMPLES / "win10-x86"
    both = reg(tmp_path / "both.reg", "".join(
        f'[HKEY_LOCAL_MACHINE\\SOFTWARE\\{view}Microsoft\\.NETFramework\\v4.0.30319]\n"SchUseStrongCrypto"=dword:1\n'
        '"SystemDefaultTlsVersions"=dword:1\n\n' for view in ("", "Wow6432Node\\")))
    code, out, err = regtls("check", x86 / "SYSTEM", x86 / "SOFTWARE", both, "--format", "json")
    report = json.loads(out)
    assert code == 0 and err.startswith("regtls: verdict: pass")
    views = {s["id"]: s["state"] for s in report["settings"] if s["id"].startswith("dotnet/v4.0.30319/32/")}
    assert views == {"dotnet/v4.0.30319/32/SchUseStrongCrypto": "not-applicable",
                     "dotnet/v4.0.30319/32/SystemDefaultTlsVersions": "not-applicable"}
    assert report["what_if"]["settings"] == []  # the 64-bit values were already 1


def test_lint_names_a_misspelled_dotnet_key(tmp_path: Path) -> None:
    typo = reg(tmp_path / "typo.reg", "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft.NETFramework\\v4.0.30319]\n"
               '"SchUseStrongCrypto"=dword:00000001\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\'
               'CurrentVersion\\Internet Settings\\Win Http]\n"DefaultSecureProtocols"=dword:00000a00\n')
    code, out, _ = regtls("lint", typo, "--format", "json")
    found = [(f["rule"], f["location"]["line"], f["message"].rpartition("did you mean ")[2])
             for f in json.loads(out)["findings"]]
    assert code == 1 and found == [
        ("REG005", 3, "'HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Microsoft\\\\.NETFramework\\\\v4.0.30319'?"),
        ("REG005", 6, "'HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Internet "
                      "Settings\\\\WinHttp'?")]
