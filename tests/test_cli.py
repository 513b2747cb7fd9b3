"""The command line as users run it: exit code, stdout and stderr asserted together."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer import __version__
from analyzer.sources.regfile import OpKind, read_reg
from tests.conftest import REPO, SAMPLES, corpus_file

REG = SAMPLES / "reg"


def regtls(*args: object, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run ``python -m analyzer`` and return (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "analyzer", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def machine(name: str) -> list[Path]:
    return [SAMPLES / name / "SYSTEM", SAMPLES / name / "SOFTWARE"]


def check_json(*args: object) -> tuple[int, dict[str, object], str]:
    code, out, err = regtls("check", *args, "--format", "json")
    return code, json.loads(out), err


def test_version() -> None:
    assert regtls("--version") == (0, f"regtls {__version__}\n", "")


@pytest.mark.parametrize("command", [[], ["check"], ["dump"]])
def test_help_shows_examples(command: list[str]) -> None:
    code, out, err = regtls(*command, "--help")
    assert (code, err) == (0, "")
    assert "Examples" in out and "regtls " in out


# machine -> (exit code, verdict, sorted (rule, level) of findings, undecided rules)
SAMPLE_VERDICTS = {
    "server2008r2-sp1-untouched": (1, "fail", [("NET001", "error"), ("NET001", "error"), ("NET002", "error"),
                                               ("NET002", "error"), ("SCH001", "error"), ("WHT001", "error"),
                                               ("WHT001", "error")], ["OS001"]),
    "server2012r2-untouched": (1, "fail", [("NET001", "error"), ("NET001", "error"), ("NET002", "error"),
                                           ("NET002", "error")], []),
    "server2019-configured": (0, "pass", [], []),
    "win7-sp1-configured": (0, "pass", [], []),
    "server2008-sp2-kb4019276": (0, "pass", [], []),
    "win11-23h2-partial": (1, "fail", [("NET001", "error"), ("NET002", "error")], []),
    "server2016-controlset002": (0, "pass", [("XCK003", "warning")], []),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_VERDICTS))
def test_check_sample_machines(name: str) -> None:
    code, report, err = check_json(*machine(name))
    exit_code, verdict, findings, undecided = SAMPLE_VERDICTS[name]
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert (code, summary["verdict"]) == (exit_code, verdict)
    assert sorted((f["rule"], f["level"]) for f in report["findings"]) == findings  # type: ignore[union-attr]
    assert [r["rule"] for r in report["results"] if r["status"] == "undecided"] == undecided  # type: ignore[union-attr]
    assert err.startswith(f"regtls: verdict: {verdict} (") and err.count("\n") == 1
    assert report["schema"] == "regtls.report/1"
    assert [i["kind"] for i in report["inputs"]] == ["system-hive", "software-hive"]  # type: ignore[union-attr]


def test_control_set_comes_from_select_current() -> None:
    _, report, _ = check_json(*machine("server2016-controlset002"))
    assert report["machine"] == {
        "os": {"name": "Windows Server 2016", "build": 14393, "server": True,
               "product_name": "Windows Server 2016 Standard", "exact_build_known": True},
        "control_set": "ControlSet002", "control_set_source": "Select\\Current", "architecture": "AMD64",
        "wow64_view": True,
        "identity": {"computer_name": "WEB2016-02", "build": "14393.6452", "edition": "ServerStandard",
                     "install_date": "2017-12-05T15:33:54Z", "last_shutdown": None}}
    tls12 = next(s for s in report["settings"] if s["id"] == "schannel/TLS 1.2/Client")  # type: ignore[union-attr]
    assert (tls12["state"], tls12["source"], tls12["evidence"]) == ("enabled", "os-default", [])


def test_windows11_named_by_build_not_product_name() -> None:
    _, report, _ = check_json(*machine("win11-23h2-partial"))
    assert report["machine"]["os"]["name"] == "Windows 11 23H2"  # type: ignore[index]


def test_reg_only_judges_what_it_sets_and_leaves_the_rest_undecided() -> None:
    code, report, err = check_json(REG / "disable-tls12-client.reg")
    assert code == 1
    assert report["machine"] == {"os": None, "control_set": None, "control_set_source": None, "architecture": None,
                                 "wow64_view": None, "identity": {
                                     "computer_name": None, "build": None, "edition": None, "install_date": None,
                                     "last_shutdown": None}}
    assert report["findings"] == [{
        "rule": "SCH001", "level": "error",
        "message": "TLS 1.2 Client is disabled (explicit): Enabled=0, DisabledByDefault=1",
        "location": {"file": str(REG / "disable-tls12-client.reg"), "line": 4,
                     "key": "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"
                            "\\Protocols\\TLS 1.2\\Client", "value": "Enabled"},
        "docs": "regtls rules show SCH001"}]
    undecided = sorted(r["rule"] for r in report["results"] if r["status"] == "undecided")  # type: ignore[union-attr]
    assert undecided == ["NET001", "NET002", "OS001", "OS002", "WHT001"]
    assert err == "regtls: verdict: fail (1 errors, 0 warnings, 0 notes, 5 undecided) with profile azure-backup\n"


def test_settings_windows_will_not_read_are_errors_at_their_lines() -> None:
    code, report, _ = check_json(REG / "tls12-typos.reg")
    assert code == 1
    assert [(f["rule"], f["location"]["line"]) for f in report["findings"]] == [  # type: ignore[index, union-attr]
        ("REG002", 4), ("REG001", 5), ("REG001", 6), ("SCH002", 8), ("SCH003", 12), ("NET001", 15), ("REG001", 16),
        ("XCK004", 15)]


def test_what_if_seed_snippets_over_an_untouched_2008_r2() -> None:
    code, report, _ = check_json(*machine("server2008r2-sp1-untouched"), REG / "azure-backup-schannel.reg",
                                 REG / "azure-backup-dotnet.reg")
    status = {r["rule"]: r["status"] for r in report["results"]}  # type: ignore[union-attr]
    assert (status["SCH001"], status["NET001"], status["NET002"], status["WHT001"], status["OS001"]) == (
        "pass", "pass", "pass", "fail", "undecided")
    tls12 = next(s for s in report["settings"] if s["id"] == "schannel/TLS 1.2/Client")  # type: ignore[union-attr]
    assert [(e["file"], e["line"], e["value"]) for e in tls12["evidence"]] == [
        (str(REG / "azure-backup-schannel.reg"), 4, "Enabled"), (str(REG / "azure-backup-schannel.reg"), 7,
                                                                 "DisabledByDefault")]
    assert tls12["evidence"][0]["key"].startswith("HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\")
    assert code == 1


@pytest.mark.parametrize(("fail_on", "code"), [("error", 0), ("warning", 0), ("never", 0)])
def test_fail_on_with_a_note_only(fail_on: str, code: int) -> None:
    exit_code, report, _ = check_json(*machine("server2019-configured"), REG / "tls12-legacy-ffffffff.reg",
                                      "--fail-on", fail_on)
    assert [(f["rule"], f["level"]) for f in report["findings"]] == [("SCH005", "note")]  # type: ignore[union-attr]
    assert exit_code == code


@pytest.mark.parametrize(("fail_on", "code"), [("error", 1), ("warning", 1), ("never", 0)])
def test_fail_on_with_errors(fail_on: str, code: int) -> None:
    assert check_json(REG / "tls12-typos.reg", "--fail-on", fail_on)[0] == code


def test_warning_level_counts_for_fail_on_warning(tmp_path: Path) -> None:
    bad = tmp_path / "w.reg"
    bad.write_text("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X] junk\n")
    assert [check_json(*machine("server2019-configured"), bad, "--fail-on", f)[0] for f in ("error", "warning")] == [
        0, 1]


def test_table_output_and_summary(tmp_path: Path) -> None:
    code, out, err = regtls("check", *machine("server2012r2-untouched"))
    assert code == 1
    # the verdict first, said once (not again on stderr when the text report is on stdout)
    assert out.startswith("verdict: fail (4 errors, 0 warnings, 0 notes, 0 undecided) with profile azure-backup\n")
    assert out.count("verdict: fail") == 1 and err == ""
    assert f"regtls {__version__} · profile azure-backup" in out
    assert "machine: Windows Server 2012 R2 (build 9600, server) · ControlSet001 (from Select\\Current)" in out
    assert "error NET001" in out and "Schannel protocols" not in out  # the state tables only with --verbose


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, out, err = regtls("check", *machine("server2019-configured"), "--format", "json", "--output", target)
    assert (code, out) == (0, "")
    assert err.startswith("regtls: verdict: pass")
    assert json.loads(target.read_text())["summary"]["verdict"] == "pass"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_output_is_deterministic() -> None:
    runs = [regtls("check", *machine("win7-sp1-configured"), "--format", "json") for _ in range(2)]
    assert runs[0] == runs[1]


def test_backends_give_the_same_report() -> None:
    reports = []
    for backend in ("python-registry", "regipy"):
        _, report, _ = check_json(*machine("server2008r2-sp1-untouched"), "--backend", backend)
        for info in report["inputs"]:  # type: ignore[union-attr]
            assert info.pop("backend") == backend
        reports.append(report)
    assert reports[0] == reports[1]


@pytest.mark.parametrize(("args", "message"), [
    (["check", "nope.reg"], "regtls: error: nope.reg: no such file\n"),
    (["check", "{samples}"], "regtls: error: {samples}: a folder without SYSTEM or SOFTWARE hives (looked in it and "
     "in Windows/System32/config below it)\n"),
    (["check", "{reg}/azure-backup-schannel.reg", "--profile", "nist"],
     "regtls: error: unknown profile 'nist'; available: azure-backup, configmgr, entra-connect, lint, nist-800-52r2, "
     "stig-iis10, tls12-strict\n"),
    (["check", "{empty}"], "regtls: error: {empty}: empty file, not a .reg file\n"),
    (["check", "{junk}"], "regtls: error: {junk}: binary data, not a .reg file\n"),
    (["check", "{reg}/azure-backup-schannel.reg", "--output", "{tmp}/no/such/dir/r.json"],
     "regtls: error: {tmp}/no/such/dir/r.json: the folder {tmp}/no/such/dir does not exist\n"),
    (["check", "{reg}/azure-backup-schannel.reg", "--output", "{reg}/azure-backup-schannel.reg"],
     "regtls: error: {reg}/azure-backup-schannel.reg: is one of the inputs; regtls never writes over its evidence\n"),
    (["dump", "{reg}/azure-backup-schannel.reg", "--key", "\\"], "regtls: error: --key '\\\\' is empty\n"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty.reg").write_bytes(b"")
    (tmp_path / "junk.reg").write_bytes(bytes(range(256)) * 8)
    names = {"samples": str(SAMPLES), "reg": str(REG), "tmp": str(tmp_path), "empty": str(tmp_path / "empty.reg"),
             "junk": str(tmp_path / "junk.reg")}
    code, out, err = regtls(*(a.format(**names) for a in args))
    assert (code, out, err) == (2, "", message.format(**names))
    assert not (tmp_path / "no").exists()


def test_ntuser_alone_is_a_user_of_an_unknown_machine(tmp_path: Path) -> None:
    ntuser = corpus_file(tmp_path, "hives/regipy/NTUSER.DAT.xz")
    code, out, err = regtls("check", ntuser, "--profile", "tls12-strict", "--format", "json")
    assert code == 1
    assert err.splitlines()[-1].startswith("regtls: verdict: fail (")
    report = json.loads(out)
    assert [f for f in report["findings"] if f["rule"] == "WIN001"] == [{
        "rule": "WIN001", "level": "error",
        "message": "user vibranium preference: SecureProtocols=0xa0 does not include TLS 1.2 (0x800)",
        "location": {"file": str(ntuser), "line": None, "value": "SecureProtocols",
                     "key": "HKEY_USERS\\vibranium\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"},
        "docs": "regtls rules show WIN001"}]


def test_usage_error_is_exit_2() -> None:
    code, out, err = regtls("check", "--format", "xml", REG / "azure-backup-schannel.reg")
    assert (code, out) == (2, "")
    assert "Invalid value for '--format'" in err and "Traceback" not in err


def test_dump_json_exact(tmp_path: Path) -> None:
    src = tmp_path / "d.reg"
    src.write_text('Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B]\n@="x"\n'
                   '"M"=hex(7):61,00,00,00,62,00,00,00,00,00\n"D"=dword:0000000a\n"Bin"=hex:01,02\n'
                   '[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Gone]\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\C]\n"Del"=-\n')
    code, out, err = regtls("dump", src)
    assert (code, err) == (0, "regtls: 5 keys\n")
    where = str(src)
    assert json.loads(out) == {"schema": "regtls.dump/1", "keys": [
        {"path": "HKEY_LOCAL_MACHINE", "values": []},
        {"path": "HKEY_LOCAL_MACHINE\\SOFTWARE", "values": []},
        {"path": "HKEY_LOCAL_MACHINE\\SOFTWARE\\A", "values": []},
        {"path": "HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B", "values": [
            {"name": "", "type": "REG_SZ", "type_num": 1, "data_hex": "78000000", "data": "x",
             "source": {"file": where, "line": 4}},
            {"name": "Bin", "type": "REG_BINARY", "type_num": 3, "data_hex": "0102", "data": None,
             "source": {"file": where, "line": 7}},
            {"name": "D", "type": "REG_DWORD", "type_num": 4, "data_hex": "0a000000", "data": 10,
             "source": {"file": where, "line": 6}},
            {"name": "M", "type": "REG_MULTI_SZ", "type_num": 7, "data_hex": "61000000620000000000",
             "data": ["a", "b"], "source": {"file": where, "line": 5}}]},
        {"path": "HKEY_LOCAL_MACHINE\\SOFTWARE\\C", "values": []}]}


def test_dump_key_resolves_current_control_set_in_a_hive() -> None:
    code, out, err = regtls("dump", SAMPLES / "server2016-controlset002" / "SYSTEM", "--key",
                            "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols")
    assert code == 0 and err.endswith("keys\n")
    keys = json.loads(out)["keys"]
    assert keys == [{"path": "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Control\\SecurityProviders\\SCHANNEL"
                             "\\Protocols", "values": []}]


def test_dump_reg_round_trips_through_our_reader(tmp_path: Path) -> None:
    hive = SAMPLES / "server2019-configured" / "SYSTEM"
    code, out, _ = regtls("dump", hive, "--format", "reg")
    assert code == 0 and out.startswith("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE]\n")
    exported = tmp_path / "export.reg"
    exported.write_text(out, encoding="utf-8")
    parsed = read_reg(exported)
    assert parsed.diagnostics == []
    _, original, _ = regtls("dump", hive)
    values = {(("\\".join(op.path)), op.name): (op.type_num, op.data.hex()) for op in parsed.ops
              if op.kind is OpKind.SET_VALUE}
    expected = {(k["path"], v["name"]): (v["type_num"], v["data_hex"]) for k in json.loads(original)["keys"]
                for v in k["values"]}
    assert values == expected and len(values) == 30


def test_dump_table(tmp_path: Path) -> None:
    code, out, err = regtls("dump", REG / "azure-backup-dotnet.reg", "--format", "text")
    assert code == 0 and err == "regtls: 9 keys\n"
    assert "SchUseStrongCrypto" in out and "REG_DWORD" in out and "1 (0x1)" in out


def test_console_script_is_installed() -> None:
    proc = subprocess.run([Path(sys.executable).parent / "regtls", "--version"], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, f"regtls {__version__}\n")


def test_text_with_brackets_is_not_rich_markup(tmp_path: Path) -> None:
    src = tmp_path / "b.reg"
    src.write_text("Windows Registry Editor Version 5.00\n\n"
                   "[HKEY_LOCAL_MACHINE\\SOFTWARE\\[bold]x]\n\"[red]\"=\"[/]\"\n")
    code, out, err = regtls("dump", src, "--format", "text")
    assert (code, err) == (0, "regtls: 3 keys\n")
    assert "HKEY_LOCAL_MACHINE\\SOFTWARE\\[bold]x" in out and "[red]" in out and "[/]" in out
    code, out, _ = regtls("check", "samples/reg/azure-backup-schannel.reg", "--verbose", cwd=REPO)
    assert code == 0 and "[samples/reg/azure-backup-schannel.reg:4," in out and "schannel.reg:7]" in out


def test_inputs_are_never_modified_and_nothing_appears_beside_them(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    for name in ("SYSTEM", "SOFTWARE"):
        (folder / name).write_bytes((SAMPLES / "server2008r2-sp1-untouched" / name).read_bytes())
    change = folder / "change.reg"
    change.write_bytes((REG / "tls12-complete.reg").read_bytes())
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    for backend in ("python-registry", "regipy"):
        assert regtls("check", folder / "SYSTEM", folder / "SOFTWARE", change, "--backend", backend)[0] == 0
        assert regtls("dump", folder / "SYSTEM", change, "--backend", backend)[0] == 0
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == before


def test_state_view_json_and_table() -> None:
    code, out, err = regtls("state", *machine("win7-sp1-configured"), "--format", "json")
    view = json.loads(out)
    assert (code, err, view["schema"]) == (0, "", "regtls.state/1")
    matrix = {row["protocol"]: (row["Client"]["state"], row["Server"]["state"]) for row in view["protocols"]}
    assert matrix["TLS 1.2"] == ("enabled", "enabled") and matrix["SSL 2.0"] == ("not-default", "enabled")
    assert matrix["TLS 1.3"] == ("unsupported", "unsupported") and len(matrix) == 11
    assert view["winhttp"]["view64"]["protocols"] == ["TLS 1.1", "TLS 1.2"]
    assert view["dotnet"][-1]["installed"]["state"] == "4.8"
    code, out, err = regtls("state", *machine("win7-sp1-configured"))
    assert code == 0 and "Schannel protocols" in out and "│ TLS 1.2 " in out and "Ciphers, hashes, key exchange" in out


def test_misspelled_protocol_keys(tmp_path: Path) -> None:
    protocols = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
    src = tmp_path / "typos.reg"
    src.write_text(f"Windows Registry Editor Version 5.00\n\n[{protocols}\\DTLS 1.1\\Client]\n\"Enabled\"=dword:0\n"
                   f"[{protocols}\\TLS 1.2 \\Client]\n\"Enabled\"=dword:1\n[{protocols}\\TLS 1.2\\Clients]\n"
                   "\"Enabled\"=dword:1\n")
    _, report, _ = check_json(src)
    assert [(f["location"]["line"], f["message"]) for f in report["findings"]  # type: ignore[index, union-attr]
            if f["rule"] == "SCH002"] == [
        (3, "protocol key 'DTLS 1.1' is not one Schannel reads"),
        (5, "protocol key 'TLS 1.2 ' is not one Schannel reads; did you mean 'TLS 1.2'?"),
        (7, "TLS 1.2\\Clients: role key 'Clients' is not Client or Server; did you mean 'Client'?")]


def test_what_if_says_which_verdicts_the_change_altered() -> None:
    code, report, _ = check_json(*machine("server2012r2-untouched"), REG / "azure-backup-dotnet.reg")
    what_if = report["what_if"]
    assert isinstance(what_if, dict) and code == 0
    assert (what_if["verdict_before"], report["summary"]["verdict"]) == ("fail", "pass")  # type: ignore[index]
    assert what_if["rules"] == [{"rule": "NET001", "before": "fail", "after": "pass"},
                                {"rule": "NET002", "before": "fail", "after": "pass"}]
    assert [s["id"] for s in what_if["settings"]] == [
        "dotnet/v4.0.30319/64/SchUseStrongCrypto", "dotnet/v4.0.30319/64/SystemDefaultTlsVersions",
        "dotnet/v4.0.30319/32/SchUseStrongCrypto", "dotnet/v4.0.30319/32/SystemDefaultTlsVersions"]
    code, out, _ = regtls("check", *machine("server2012r2-untouched"), REG / "azure-backup-dotnet.reg")
    assert "What the .reg change does (verdict fail -> pass)" in out
    assert check_json(*machine("server2012r2-untouched"))[1]["what_if"] is None


def test_config_folder_and_windows_root(tmp_path: Path) -> None:
    """A config folder, or a Windows root above it, names matched without case; RegBack copies are noted."""
    config = tmp_path / "C" / "WINDOWS" / "system32" / "Config"
    (config / "RegBack").mkdir(parents=True)
    (config / "system").write_bytes((SAMPLES / "server2019-configured" / "SYSTEM").read_bytes())
    (config / "Software").write_bytes((SAMPLES / "server2019-configured" / "SOFTWARE").read_bytes())
    (config / "RegBack" / "SYSTEM").write_bytes(b"")
    for root in (tmp_path / "C", config):
        code, report, _ = check_json(root)
        assert code == 0 and report["summary"]["verdict"] == "pass"  # type: ignore[index]
        assert [i["path"] for i in report["inputs"]] == [str(config / "system"), str(config / "Software")]  # type: ignore[union-attr]
        notes = [d["message"] for d in report["diagnostics"] if d["code"] == "regback"]  # type: ignore[union-attr]
        assert notes == [f"{config / 'RegBack' / 'SYSTEM'}: an empty RegBack copy (Windows 10 1803 and later no longer "
                         "fill them); not used"]
