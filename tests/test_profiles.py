"""Profiles: every shipped profile passes one sample machine and fails another; user profiles extend them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.profiles import available
from tests.conftest import SAMPLES
from tests.test_cli import machine, regtls

# profile -> (a machine it passes, a machine it fails, the error rules of that failure)
VERDICTS = {
    "azure-backup": ("server2019-configured", "server2008r2-sp1-untouched", ["NET001", "NET002", "SCH001", "WHT001"]),
    "entra-connect": ("server2019-configured", "server2008r2-sp1-untouched",
                      ["NET001", "NET002", "SCH001", "SCH007"]),
    "configmgr": ("server2019-configured", "win10-x86", ["NET003", "NET004"]),
    "tls12-strict": ("server2022-hardened", "server2019-configured",
                     ["CIP001", "CIP002", "SCH008", "SCH009", "SCH010", "SCH011"]),
    "stig-iis10": ("server2022-hardened", "server2019-configured", ["SCH009", "SCH011"]),
    "nist-800-52r2": ("server2022-hardened", "server2019-configured", ["SCH008", "SCH009"]),
    "lint": ("server2022-hardened", "server2019-configured", ["SCH008", "SCH009"]),
}


def errors(report: dict[str, object]) -> list[str]:
    return sorted({f["rule"] for f in report["findings"] if f["level"] == "error"})  # type: ignore[union-attr, index]


def test_every_shipped_profile_is_covered() -> None:
    assert sorted(VERDICTS) == available()


@pytest.mark.parametrize("profile", sorted(VERDICTS))
def test_profile_passes_one_machine_and_fails_another(profile: str) -> None:
    good, bad, failing = VERDICTS[profile]
    code, out, _ = regtls("check", *machine(good), "--profile", profile, "--format", "json")
    report = json.loads(out)
    assert (code, report["summary"]["verdict"], errors(report)) == (0, "pass", [])
    assert report["summary"]["profile"] == profile
    code, out, _ = regtls("check", *machine(bad), "--profile", profile, "--format", "json")
    report = json.loads(out)
    assert (code, report["summary"]["verdict"], errors(report)) == (1, "fail", failing)


def test_stig_absence_is_a_finding_even_where_the_os_default_complies() -> None:
    """Server 2019 offers TLS 1.2 by default, yet the STIG check wants the values written down."""
    _, out, _ = regtls("check", *machine("server2019-configured"), "--profile", "stig-iis10", "--format", "json")
    report = json.loads(out)
    assert report["summary"]["absence"] == "finding"
    messages = [f["message"] for f in report["findings"] if f["rule"] == "SCH011"]
    assert messages[0].startswith("TLS 1.0 Server needs Enabled=0 and DisabledByDefault=1 set explicitly (this "
                                  "profile counts an absent value as a finding): not set;")
    status = {r["rule"]: r["status"] for r in report["results"]}
    assert status["SCH007"] == "pass"  # TLS 1.2\Server is explicit on this sample


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_profile_extends_selects_ignores_and_changes_levels(tmp_path: Path) -> None:
    profile = write(tmp_path, "mine.toml", 'extends = "azure-backup"\nname = "my-org"\nselect = ["SCH007"]\n'
                    'ignore = ["NET002", "WHT001"]\n[rules]\nSCH006 = "error"\nREG003 = "off"\n')
    code, out, err = regtls("check", *machine("server2008r2-sp1-untouched"), "--profile", profile, "--format", "json")
    report = json.loads(out)
    rules = {r["rule"]: r["level"] for r in report["results"]}
    assert "NET002" not in rules and "WHT001" not in rules and "REG003" not in rules
    assert (rules["SCH007"], rules["SCH006"], rules["NET001"]) == ("error", "error", "error")
    assert (report["summary"]["profile"], report["summary"]["profile_file"]) == ("my-org", str(profile))
    assert errors(report) == ["NET001", "SCH001", "SCH007"] and code == 1
    assert err.endswith("with profile my-org\n")


def test_select_and_ignore_options() -> None:
    code, out, _ = regtls("check", *machine("server2019-configured"), "--select", "SCH010,sch011", "--ignore",
                          "NET001", "--format", "json")
    report = json.loads(out)
    assert {r["rule"] for r in report["results"]} >= {"SCH010", "SCH011"}
    assert "NET001" not in {r["rule"] for r in report["results"]}
    assert (code, errors(report)) == (1, ["SCH010", "SCH011"])


@pytest.mark.parametrize(("text", "message"), [
    ('extends = "azure-backup"\n[rules]\nSCH999 = "error"\n', "{file}: unknown rule id 'SCH999'"),
    ('extends = "azure"\n', "unknown profile 'azure'; available: azure-backup, configmgr, entra-connect, lint, "
     "nist-800-52r2, stig-iis10, tls12-strict"),
    ('[rules]\nSCH001 = "fatal"\n', "{file}: rule SCH001 has level 'fatal'; use one of error, warning, note, off"),
    ('absence = "sometimes"\n', "{file}: absence must be one of os-default, finding, not 'sometimes'"),
    ('select = "SCH001"\n', "{file}: select must be a list of rule ids"),
    ("[rules\n", "{file}: not a valid TOML profile: "),
])
def test_bad_user_profiles_are_exit_2(tmp_path: Path, text: str, message: str) -> None:
    profile = write(tmp_path, "bad.toml", text)
    code, out, err = regtls("check", SAMPLES / "reg" / "tls12-complete.reg", "--profile", profile)
    assert (code, out) == (2, "")
    assert err.startswith("regtls: error: " + message.format(file=profile)) and err.count("\n") == 1


def test_unknown_rule_in_select_is_exit_2() -> None:
    code, out, err = regtls("check", SAMPLES / "reg" / "tls12-complete.reg", "--select", "XYZ001")
    assert (code, out, err) == (2, "", "regtls: error: --select/--ignore: unknown rule id 'XYZ001'\n")


def test_rules_listing_and_one_rule() -> None:
    code, out, err = regtls("rules", "--format", "json")
    rules = json.loads(out)["rules"]
    assert (code, err) == (0, "")
    assert len(rules) >= 35 and all(set(r["doc"]) >= {"What it checks", "Why", "Non-compliant", "Compliant",
                                                       "When absent", "References"} for r in rules)
    code, out, err = regtls("rules", "show", "sch001")
    assert (code, err) == (0, "")
    assert out.startswith("SCH001 tls12-client-enabled (default level: error)\nTLS 1.2 must be enabled")
    assert "Non-compliant:\n    Windows Registry Editor Version 5.00" in out
    assert regtls("rules", "show", "SCH999") == (2, "", "regtls: error: unknown rule id 'SCH999'; see 'regtls "
                                                        "rules'\n")
    code, out, _ = regtls("rules")
    assert code == 0 and "XCK005" in out and "half-done-role" in out


def test_profiles_listing_and_one_profile() -> None:
    code, out, _ = regtls("profiles", "--format", "json")
    profiles = {p["name"]: p for p in json.loads(out)["profiles"]}
    assert code == 0 and sorted(profiles) == available()
    assert profiles["stig-iis10"]["absence"] == "finding" and profiles["nist-800-52r2"]["uncertain"]
    code, out, err = regtls("profiles", "show", "nist-800-52r2")
    assert (code, err) == (0, "")
    assert "Uncertain:" in out and "SCH010  warning  tls10-tls11-client-off" in out
    assert regtls("profiles", "show", "none") == (2, "", "regtls: error: unknown profile 'none'; available: "
                                                         "azure-backup, configmgr, entra-connect, lint, "
                                                         "nist-800-52r2, stig-iis10, tls12-strict\n")
