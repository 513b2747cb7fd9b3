"""The CI formats (SARIF, JUnit, GitHub annotations, Markdown) as users get them from ``regtls check|lint --format``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from analyzer import __version__
from analyzer.engine import Finding, RuleResult, Run, choose_profile
from analyzer.report import github, junit, markdown
from analyzer.rules import Location, load_catalog
from analyzer.sources import Diagnostic
from tests.conftest import REPO, SHARED, need
from tests.test_cli import regtls

SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"
TYPOS = "samples/reg/tls12-typos.reg"
HIVES = ["samples/server2008r2-sp1-untouched/SYSTEM", "samples/server2008r2-sp1-untouched/SOFTWARE"]
CHECK_STDERR = "regtls: verdict: fail (7 errors, 0 warnings, 0 notes, 1 undecided) with profile azure-backup\n"
TYPOS_STDERR = "regtls: fail: 7 errors, 1 warnings, 0 notes in 1 file(s)\n"
# (rule, level, line, column) of every finding in samples/reg/tls12-typos.reg, in report order
TYPOS_FINDINGS = [
    ("REG002", "error", 4, 2),
    ("REG001", "error", 5, 1),
    ("REG001", "error", 6, 1),
    ("SCH002", "error", 8, 1),
    ("SCH003", "error", 12, 1),
    ("NET001", "error", 15, None),
    ("REG001", "error", 16, 34),
    ("XCK004", "warning", 15, None),
]


def junk(folder: Path, name: str = "x.reg") -> Path:
    """A binary file with a .reg name: unreadable as a .reg file."""
    path = folder / name
    path.write_bytes(bytes(range(256)) * 4)
    return path


def validate_sarif(log: dict[str, Any]) -> None:
    """Validate against the SARIF 2.1.0 schema of ../shared (skip when it is absent)."""
    import jsonschema

    schema = json.loads(need(SARIF_SCHEMA, "SARIF 2.1.0 schema").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []


def run_json(*args: object, cwd: Path = REPO) -> tuple[int, str, dict[str, Any], str]:
    """``regtls <args> --format sarif`` (or whatever follows in args): exit code, text, parsed JSON, stderr."""
    code, out, err = regtls(*args, cwd=cwd)
    return code, out, json.loads(out), err


def region(location: dict[str, Any]) -> tuple[int | None, int | None]:
    reg = location["physicalLocation"].get("region", {})
    return reg.get("startLine"), reg.get("startColumn")


# --- SARIF -----------------------------------------------------------------------------------------------------

def test_sarif_check_hive_pair() -> None:
    code, _, log, err = run_json("check", *HIVES, "--format", "sarif")
    assert (code, err) == (1, CHECK_STDERR)
    validate_sarif(log)
    _, _, report, _ = run_json("check", *HIVES, "--format", "json")
    assert log["$schema"].endswith("/sarif-schema-2.1.0.json") and log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("regtls", __version__)
    assert "informationUri" not in driver  # regtls has no home page to point to
    catalog = load_catalog()
    assert [r["id"] for r in driver["rules"]] == sorted(catalog)
    for descriptor in driver["rules"]:
        rule = catalog[descriptor["id"]]
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"] == {"text": rule.summary}
        assert descriptor["defaultConfiguration"] == {"level": rule.level}
        assert descriptor["properties"]["tags"] == [rule.id.rstrip("0123456789")]
    sch001 = driver["rules"][sorted(catalog).index("SCH001")]
    assert sch001["fullDescription"]["text"].startswith("the effective state of Protocols\\TLS 1.2\\Client: ")
    assert sch001["helpUri"] == "https://learn.microsoft.com/azure/backup/transport-layer-security"
    assert sch001["help"]["text"].endswith("\nregtls rules show SCH001\n")
    assert all(d["helpUri"].startswith("https://") for d in driver["rules"])
    compliant = ('#### Compliant\n\n```reg\nWindows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\'
                 'CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]\n'
                 '"Enabled"=dword:00000001\n"DisabledByDefault"=dword:00000000\n```')
    assert compliant in sch001["help"]["markdown"]
    assert "Compliant:\n    Windows Registry Editor Version 5.00" in sch001["help"]["text"]

    assert run["originalUriBaseIds"] == {"SRCROOT": {"uri": REPO.as_uri() + "/"}}
    assert run["artifacts"] == [{"location": {"uri": i["path"], "uriBaseId": "SRCROOT"},
                                 "hashes": {"sha-256": i["sha256"]}, "properties": {"kind": i["kind"]}}
                                for i in report["inputs"]]
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]
    assert len(run["results"]) == len(report["findings"]) == 7
    for result, finding in zip(run["results"], report["findings"], strict=True):
        loc = finding["location"]
        assert (result["ruleId"], result["level"], result["message"]["text"]) == (
            finding["rule"], finding["level"], finding["message"])
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        (where,) = result["locations"]
        # a hive finding: the file, no region, and the registry value as a logical location
        assert where["physicalLocation"] == {"artifactLocation": {"uri": loc["file"], "uriBaseId": "SRCROOT",
                                                                  "index": HIVES.index(loc["file"])}}
        assert where["logicalLocations"] == [{"name": loc["value"], "kind": "member",
                                              "fullyQualifiedName": f"{loc['key']}\\{loc['value']}"}]
    assert run["results"][-1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client"
        "\\Enabled")


def test_sarif_result_level_is_the_profiles(tmp_path: Path) -> None:
    profile = tmp_path / "mine.toml"
    profile.write_text('extends = "azure-backup"\nname = "mine"\n[rules]\nSCH001 = "note"\n', encoding="utf-8")
    code, _, log, err = run_json("check", *HIVES, "--profile", profile, "--format", "sarif")
    assert (code, err) == (1, CHECK_STDERR.replace("7 errors, 0 warnings, 0 notes", "6 errors, 0 warnings, 1 notes")
                           .replace("azure-backup", "mine"))
    (run,) = log["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert [(r["ruleId"], r["level"]) for r in run["results"] if r["ruleId"] == "SCH001"] == [("SCH001", "note")]
    assert rules["SCH001"]["defaultConfiguration"] == {"level": "error"}


def test_sarif_lint_typos_and_unreadable_file(tmp_path: Path) -> None:
    bad = junk(tmp_path)
    code, _, log, err = run_json("lint", TYPOS, bad, "--format", "sarif")
    assert (code, err) == (2, f"regtls: error: {bad}: binary data, not a .reg file\n"
                              "regtls: fail: 7 errors, 1 warnings, 0 notes in 2 file(s), 1 unreadable\n")
    validate_sarif(log)
    _, _, report, _ = run_json("lint", TYPOS, bad, "--format", "json")
    (run,) = log["runs"]
    results = run["results"]
    assert [(r["ruleId"], r["level"], *region(r["locations"][0])) for r in results] == TYPOS_FINDINGS
    assert [(f["rule"], f["level"], f["location"]["line"], f["location"].get("column"), f["message"])
            for f in report["findings"]] == [(r["ruleId"], r["level"], *region(r["locations"][0]), r["message"]["text"])
                                             for r in results]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {TYPOS}
    assert results[0]["locations"][0]["logicalLocations"] == [{
        "name": "Client", "kind": "namespace",
        "fullyQualifiedName": "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\"
                              "TLS 1.2\\Client"}]
    assert "logicalLocations" not in results[1]["locations"][0]  # a rejected value line has no key
    assert run["artifacts"] == [{"location": {"uri": TYPOS, "uriBaseId": "SRCROOT"},
                                 "hashes": {"sha-256": report["inputs"][0]["sha256"]}, "properties": {"kind": "reg"}}]
    assert run["invocations"] == [{"executionSuccessful": False, "toolExecutionNotifications": [{
        "level": "error", "message": {"text": f"{bad}: binary data, not a .reg file"},
        "descriptor": {"id": "unreadable"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": bad.as_uri()}}}]}]}]


def test_sarif_reader_errors_that_are_no_findings_become_notifications() -> None:
    code, _, log, err = run_json("lint", TYPOS, "--ignore", "REG001", "--format", "sarif")
    assert (code, err) == (1, "regtls: fail: 4 errors, 1 warnings, 0 notes in 1 file(s)\n")
    validate_sarif(log)
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert [(n["descriptor"]["id"], n["message"]["text"], *region(n["locations"][0]))
            for n in invocation["toolExecutionNotifications"]] == [
        ("no-key", "value ignored: the key line at line 4 is rejected", 5, 1),
        ("no-key", "value ignored: the key line at line 4 is rejected", 6, 1),
        ("bad-dword", "dword: takes 1 to 8 hex digits, this has 9: regedit skips this line", 16, 34)]
    assert "REG001" not in {r["ruleId"] for r in log["runs"][0]["results"]}


def test_sarif_fingerprints_survive_moved_lines_and_uris_are_encoded(tmp_path: Path) -> None:
    folder = tmp_path / "my files"
    folder.mkdir()
    target = folder / "tls12 typos%.reg"
    shutil.copyfile(REPO / TYPOS, target)
    code, first, log, err = run_json("lint", "my files/tls12 typos%.reg", "--format", "sarif", cwd=tmp_path)
    assert (code, err) == (1, TYPOS_STDERR)
    validate_sarif(log)
    again = regtls("lint", "my files/tls12 typos%.reg", "--format", "sarif", cwd=tmp_path)
    assert again == (code, first, err)  # deterministic, byte for byte
    (run,) = log["runs"]
    assert run["originalUriBaseIds"] == {"SRCROOT": {"uri": tmp_path.as_uri() + "/"}}
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"my%20files/tls12%20typos%25.reg"}
    prints = [r["partialFingerprints"]["regtls/v1"] for r in run["results"]]
    assert len(set(prints)) == len(prints) == len(TYPOS_FINDINGS)
    assert prints[1].rsplit(":", 1)[1] == "1" and prints[2].rsplit(":", 1)[1] == "2"  # the same problem twice

    # regedit needs its header on line 1, so the blank line goes right under it: every finding moves down
    lines = target.read_text(encoding="ascii").splitlines(keepends=True)
    target.write_text(lines[0] + "\n" + "".join(lines[1:]), encoding="ascii")
    code, _, moved, err = run_json("lint", "my files/tls12 typos%.reg", "--format", "sarif", cwd=tmp_path)
    assert (code, err) == (1, TYPOS_STDERR)
    results = moved["runs"][0]["results"]
    assert [region(r["locations"][0])[0] for r in results] == [line + 1 for _, _, line, _ in TYPOS_FINDINGS]
    assert results[1]["message"]["text"] == "value ignored: the key line at line 5 is rejected"
    assert [r["partialFingerprints"]["regtls/v1"] for r in results] == prints


# --- JUnit -----------------------------------------------------------------------------------------------------

TYPOS_FAILURES = {
    "REG002 reg-abbreviated-root": ("error", "unknown root key 'HKLM': regedit ignores this key and its values until "
                                    "the next key line; write HKEY_LOCAL_MACHINE"),
    "REG001 reg-line-rejected": ("error", "value ignored: the key line at line 4 is rejected; dword: takes 1 to 8 hex "
                                 "digits, this has 9: regedit skips this line"),
    "SCH002 protocol-key-unknown": ("error", "protocol key 'TLS1.2' is not one Schannel reads; did you mean "
                                    "'TLS 1.2'?"),
    "SCH003 value-on-protocol-key": ("error", "Enabled on 'TLS 1.2' is not read: it belongs in the Client or Server "
                                     "subkey"),
    "NET001 dotnet-strong-crypto": ("error", "64-bit view: v4.0.30319 SchUseStrongCrypto is invalid "
                                    "(SchUseStrongCrypto is REG_SZ, not REG_DWORD)"),
    "XCK004 half-done-view": ("warning", "one view only: SchUseStrongCrypto is set for .NET v4.0.30319 in the 64-bit "
                              "view but not for the WOW6432Node view"),
}


def outcomes(suite: Any) -> dict[str, list[tuple[str, str | None, str | None]]]:
    """testcase name -> [(result element, type, message)] as junitparser reads them back."""
    return {case.name: [(type(r).__name__.lower(), r.type, r.message) for r in case.result] for case in suite}


def test_junit_lint_typos_and_unreadable_file(tmp_path: Path) -> None:
    from junitparser import JUnitXml

    bad = junk(tmp_path)
    code, out, err = regtls("lint", TYPOS, bad, "--format", "junit", cwd=REPO)
    assert (code, err) == (2, f"regtls: error: {bad}: binary data, not a .reg file\n"
                              "regtls: fail: 7 errors, 1 warnings, 0 notes in 2 file(s), 1 unreadable\n")
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="regtls lint (profile lint)" ')
    xml = JUnitXml.fromstring(out.encode("utf-8"))
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (34, 6, 1, 13)
    typos, unreadable = list(xml)
    assert (typos.name, typos.tests, typos.failures, typos.errors, typos.skipped) == (TYPOS, 33, 6, 0, 13)
    _, _, report, _ = run_json("lint", TYPOS, "--format", "json")
    cases = outcomes(typos)
    assert list(cases) == [f"{r['rule']} {r['name']}" for r in report["results"]]
    assert {name: got[0][1:] for name, got in cases.items() if got and got[0][0] == "failure"} == TYPOS_FAILURES
    skipped = {name: got[0][2] for name, got in cases.items() if got and got[0][0] == "skipped"}
    assert skipped == {f"{r['rule']} {r['name']}": f"{r['status']}: {r['message']}" for r in report["results"]
                       if r["status"] in ("undecided", "not-applicable")}
    assert {case.classname for case in typos} == {TYPOS}
    (reg001,) = [case for case in typos if case.name == "REG001 reg-line-rejected"]
    assert reg001.result[0].text == (
        f"{TYPOS}:5:1: error: value ignored: the key line at line 4 is rejected\n"
        f"{TYPOS}:6:1: error: value ignored: the key line at line 4 is rejected\n"
        f"{TYPOS}:16:34: error: dword: takes 1 to 8 hex digits, this has 9: regedit skips this line\n"
        "docs: regtls rules show REG001")
    (sch003,) = [case for case in typos if case.name == "SCH003 value-on-protocol-key"]
    assert sch003.result[0].text == (
        f"{TYPOS}:12:1: error: Enabled on 'TLS 1.2' is not read: it belongs in the Client or Server subkey\n"
        "    HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2"
        "\\Enabled\ndocs: regtls rules show SCH003")
    assert (unreadable.name, unreadable.tests, unreadable.errors) == (str(bad), 1, 1)
    assert outcomes(unreadable) == {"read input": [("error", "unreadable", f"{bad}: binary data, not a .reg file")]}


def test_junit_check_puts_each_finding_in_its_files_suite() -> None:
    from junitparser import JUnitXml

    code, out, err = regtls("check", *HIVES, "--format", "junit", cwd=REPO)
    assert (code, err) == (1, CHECK_STDERR)
    _, _, report, _ = run_json("check", *HIVES, "--format", "json")
    rules = len(report["results"])
    xml = JUnitXml.fromstring(out.encode("utf-8"))
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (2 * rules, 4, 0, 4)
    system, software = list(xml)
    assert [system.name, software.name] == HIVES
    expected = {HIVES[0]: {"SCH001"}, HIVES[1]: {"NET001", "NET002", "WHT001"}}
    for suite in (system, software):
        cases = outcomes(suite)
        assert len(cases) == suite.tests == rules
        failed = {name.split()[0] for name, got in cases.items() if got and got[0][0] == "failure"}
        assert failed == expected[suite.name]
        assert {name.split()[0]: str(got[0][2]).split(":")[0] for name, got in cases.items()
                if got and got[0][0] == "skipped"} == {"OS001": "undecided", "OS002": "not-applicable"}
    (net001,) = [case for case in software if case.name.startswith("NET001 ")]
    assert net001.result[0].text.splitlines() == [
        f"{HIVES[1]}: error: {report['findings'][0]['message']}",
        "    HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319\\SchUseStrongCrypto",
        f"{HIVES[1]}: error: {report['findings'][1]['message']}",
        "    HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319\\SchUseStrongCrypto",
        "docs: regtls rules show NET001"]


def machine_run() -> Run:
    """A check whose findings point at no file (as a machine-level rule may report)."""
    results = [RuleResult("OS001", "kb3140245-installed", "error", "fail", "no KB3140245"),
               RuleResult("SCH001", "tls12-client-enabled", "error", "pass", "enabled")]
    findings = [Finding("OS001", "error", "KB3140245 is missing: 50%, see: KB\nnext", None),
                Finding("SCH001", "note", "key only", Location(None, key="HKEY_LOCAL_MACHINE\\SYSTEM\\X"))]
    return Run("check", choose_profile("azure-backup"), [], results, findings, [], "fail",
               {"error": 1, "warning": 0, "note": 1, "undecided": 0})


def test_junit_findings_without_a_file_go_to_the_machine_suite() -> None:
    from junitparser import JUnitXml

    xml = JUnitXml.fromstring(junit.render(machine_run()).encode("utf-8"))
    (suite,) = list(xml)
    assert (suite.name, suite.tests, suite.failures) == ("machine", 2, 2)
    assert outcomes(suite) == {"OS001 kb3140245-installed": [("failure", "error",
                                                              "KB3140245 is missing: 50%, see: KB\nnext")],
                               "SCH001 tls12-client-enabled": [("failure", "note", "key only")]}
    assert junit.clean("a\x01b\x7fc\ufffe") == "a\\x01b\x7fc\\ufffe"


# --- GitHub ----------------------------------------------------------------------------------------------------

def test_github_lint_typos_and_unreadable_file(tmp_path: Path) -> None:
    bad = junk(tmp_path)
    code, out, err = regtls("lint", TYPOS, bad, "--format", "github", cwd=REPO)
    assert (code, err) == (2, f"regtls: error: {bad}: binary data, not a .reg file\n"
                              "regtls: fail: 7 errors, 1 warnings, 0 notes in 2 file(s), 1 unreadable\n")
    expected = [
        f"::error file={TYPOS},line=4,col=2,title=REG002 reg-abbreviated-root::unknown root key 'HKLM': regedit "
        "ignores this key and its values until the next key line; write HKEY_LOCAL_MACHINE",
        f"::error file={TYPOS},line=5,col=1,title=REG001 reg-line-rejected::value ignored: the key line at line 4 is "
        "rejected",
        f"::error file={TYPOS},line=6,col=1,title=REG001 reg-line-rejected::value ignored: the key line at line 4 is "
        "rejected",
        f"::error file={TYPOS},line=8,col=1,title=SCH002 protocol-key-unknown::protocol key 'TLS1.2' is not one "
        "Schannel reads; did you mean 'TLS 1.2'?",
        f"::error file={TYPOS},line=12,col=1,title=SCH003 value-on-protocol-key::Enabled on 'TLS 1.2' is not read: it "
        "belongs in the Client or Server subkey",
        f"::error file={TYPOS},line=15,title=NET001 dotnet-strong-crypto::64-bit view: v4.0.30319 SchUseStrongCrypto "
        "is invalid (SchUseStrongCrypto is REG_SZ, not REG_DWORD)",
        f"::error file={TYPOS},line=16,col=34,title=REG001 reg-line-rejected::dword: takes 1 to 8 hex digits, this "
        "has 9: regedit skips this line",
        f"::warning file={TYPOS},line=15,title=XCK004 half-done-view::one view only: SchUseStrongCrypto is set for "
        ".NET v4.0.30319 in the 64-bit view but not for the WOW6432Node view",
    ]
    # each finding points to its rule's documentation; the unreadable file is no finding
    assert out.splitlines() == [f"{line} (regtls rules show {line.split('title=')[1][:6]})" for line in expected] + [
        f"::error file={bad}::{bad}: binary data, not a .reg file"]
    assert out.endswith("\n")


def test_github_hive_findings_have_no_line() -> None:
    code, out, err = regtls("check", *HIVES, "--format", "github", cwd=REPO)
    assert (code, err) == (1, CHECK_STDERR)
    lines = out.splitlines()
    assert len(lines) == 7
    assert lines[-1] == (f"::error file={HIVES[0]},title=SCH001 tls12-client-enabled::TLS 1.2 Client is not-default "
                         "(os-default): not set; Windows Server 2008 R2 SP1 default: not-default "
                         "(regtls rules show SCH001)")


def test_github_escapes_file_and_message(tmp_path: Path) -> None:
    bad = junk(tmp_path, "50%,a:b\nc.reg")
    code, out, err = regtls("lint", bad.name, "--format", "github", cwd=tmp_path)
    assert code == 2
    assert err.endswith("regtls: fail: 0 errors, 0 warnings, 0 notes in 1 file(s), 1 unreadable\n")
    assert out == "::error file=50%25%2Ca%3Ab%0Ac.reg::50%25,a:b%0Ac.reg: binary data, not a .reg file\n"


def test_github_escaping_functions_and_machine_findings() -> None:
    assert github.escape_data("50% done,\r\nnext: a") == "50%25 done,%0D%0Anext: a"
    assert github.escape_property("a%b,c:d\r\ne") == "a%25b%2Cc%3Ad%0D%0Ae"
    assert github.as_lines(machine_run(), REPO) == [
        "::error title=OS001 kb3140245-installed::KB3140245 is missing: 50%25, see: KB%0Anext "
        "(regtls rules show OS001)",
        "::notice title=SCH001 tls12-client-enabled::key only (regtls rules show SCH001)"]


# --- Markdown --------------------------------------------------------------------------------------------------

SMALL_REG = ("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\"
             "SecurityProviders\\SCHANNEL\\Protocols\\TLS|1.2\\Client]\r\n\"Enabled\"=dword:1\r\n"
             "\"DisabledByDefault\"=dword:123456789\r\n")


def test_markdown_lint_small_file(tmp_path: Path) -> None:
    (tmp_path / "small.reg").write_text(SMALL_REG, encoding="ascii", newline="")
    code, out, err = regtls("lint", "small.reg", "--format", "markdown", cwd=tmp_path)
    assert (code, err) == (1, "regtls: fail: 2 errors, 0 warnings, 0 notes in 1 file(s)\n")
    _, _, report, _ = run_json("lint", "small.reg", "--format", "json", cwd=tmp_path)
    undecided = report["summary"]["counts"]["undecided"]
    sha = report["inputs"][0]["sha256"]
    assert out == (
        "# regtls lint — profile lint\n\n"
        f"**Verdict: fail** — 2 errors, 0 warnings, 0 notes, {undecided} undecided; 1 input (regtls {__version__})\n\n"
        "## Findings\n\n"
        "| level | rule | location | message |\n"
        "|---|---|---|---|\n"
        "| error | SCH002 protocol-key-unknown<br>`regtls rules show SCH002` "
        "| `small.reg:3:1`<br>`HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\"
        "Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS\\|1.2` | protocol key 'TLS\\|1.2' is not one Schannel "
        "reads |\n"
        "| error | REG001 reg-line-rejected<br>`regtls rules show REG001` "
        "| `small.reg:5:27` | dword: takes 1 to 8 hex digits, this has 9: regedit "
        "skips this line |\n\n"
        "## Files\n\n"
        "| file | errors | warnings | notes | undecided | SHA-256 |\n"
        "|---|---|---|---|---|---|\n"
        f"| `small.reg` | 2 | 0 | 0 | {undecided} | `{sha}` |\n")


def test_markdown_check_lists_results_and_inputs() -> None:
    code, out, err = regtls("check", *HIVES, "--format", "markdown", cwd=REPO)
    assert (code, err) == (1, CHECK_STDERR)
    _, _, report, _ = run_json("check", *HIVES, "--format", "json")
    lines = out.splitlines()
    assert lines[:3] == ["# regtls check — profile azure-backup", "", "**Verdict: fail** — 7 errors, 0 warnings, "
                         f"0 notes, 1 undecided; 2 inputs (regtls {__version__})"]
    integrity = lines[lines.index("## Evidence integrity") + 4:]
    assert integrity == ["| input | kind | SHA-256 before | SHA-256 after | unchanged |", "|---|---|---|---|---|"] + [
        f"| `{i['path']}` | {i['kind']} | `{i['sha256']}` | `{i['sha256']}` | yes |" for i in report["inputs"]]
    machine = lines[lines.index("## Machine") + 2:lines.index("## Settings") - 1]
    assert machine[2:4] == ["| Windows | Windows Server 2008 R2 SP1 (build 7601) |",
                            "| product name | Windows Server 2008 R2 Enterprise |"]
    assert machine[-2:] == ["| profile | azure-backup: Azure Backup: TLS 1.2 for the backup agent |",
                            f"| tool | regtls {__version__} |"]
    settings = lines[lines.index("## Settings") + 4:lines.index("## Evidence integrity") - 1]
    assert [row.split(" | ")[0] for row in settings] == [f"| {markdown.cell(s['id'])}" for s in report["settings"]]
    written = [e for s in report["settings"] for e in s["evidence"] if e["line"] is None]
    assert written and all(e["key_last_write"] == "2024-01-01T00:00:00Z" for e in written)
    assert sum(row.count("(key written 2024-01-01T00:00:00Z)") for row in settings) == len(written)
    rows = lines[lines.index("## Rule results") + 4:lines.index("## Machine") - 1]
    assert rows == [f"| {markdown.cell(r['rule'] + ' ' + r['name'])} | {r['level']} | {r['status']} | "
                    f"{markdown.cell(r['message'])} |" for r in report["results"]]
    assert "| OS002 kb4019276-installed | error | not-applicable | " in out
    findings = lines[lines.index("## Findings") + 4:lines.index("## Rule results") - 1]
    assert len(findings) == 7 and findings[-1] == (
        f"| error | SCH001 tls12-client-enabled<br>`regtls rules show SCH001` "
        f"| `{HIVES[0]}`<br>`HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\"
        "SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client\\Enabled` | TLS 1.2 Client is not-default "
        "(os-default): not set; Windows Server 2008 R2 SP1 default: not-default |")
    assert "## Notifications" not in out


def test_markdown_lists_unreadable_inputs(tmp_path: Path) -> None:
    bad = junk(tmp_path)
    code, out, err = regtls("lint", "x.reg", "--format", "markdown", cwd=tmp_path)
    assert (code, err) == (2, "regtls: error: x.reg: binary data, not a .reg file\n"
                              "regtls: fail: 0 errors, 0 warnings, 0 notes in 1 file(s), 1 unreadable\n")
    assert bad.exists()
    assert out.endswith("\n## Notifications\n\n- error: `x.reg`: x.reg: binary data, not a .reg file\n")
    assert "**Verdict: fail** — 0 errors, 0 warnings, 0 notes, 0 undecided; 1 input, 1 unreadable" in out
    assert "No findings." in out


@pytest.mark.parametrize(("text", "cell"), [
    ("a|b", "a\\|b"),
    ("line one\nline two\r\nthree", "line one<br>line two<br>three"),
    ("HKLM\\SOFTWARE\\Microsoft\\.NETFramework", "HKLM\\\\SOFTWARE\\\\Microsoft\\\\.NETFramework"),
    ("REG_SZ _x_ *y* <b> [l] `c` &", "REG_SZ \\_x\\_ \\*y\\* \\<b\\> \\[l\\] \\`c\\` &amp;"),
])
def test_markdown_cell_escaping(text: str, cell: str) -> None:
    assert markdown.cell(text) == cell


def test_markdown_code_span() -> None:
    assert markdown.code("a|b") == "`a\\|b`"
    assert markdown.code("a`b") == "``a`b``"
    assert markdown.code("x\ny") == "`x y`"


def test_formats_show_reader_diagnostics_nobody_reported() -> None:
    run = machine_run()
    run.findings = []
    run.diagnostics = [Diagnostic("f.reg", 3, "error", "bad-dword", "dword: too long", 7),
                       Diagnostic("f.reg", 4, "warning", "odd", "a warning stays out")]
    assert github.as_lines(run, REPO) == ["::error file=f.reg,line=3,col=7::dword: too long"]
    assert markdown.as_lines(run)[-1] == "- error: `f.reg:3:7`: dword: too long"
