"""Issue 17: the command-line conventions of ruff/bandit-style tools, each through a real ``regtls`` process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.collect import Excludes, collect
from analyzer.engine import check as run_check
from analyzer.engine import choose_profile
from analyzer.report.check import render_table
from tests.conftest import REPO, SAMPLES, build_hive
from tests.test_cli import machine, regtls
from tests.test_formats import validate_sarif

REG = SAMPLES / "reg"
HEADER = "Windows Registry Editor Version 5.00\n\n"
SCHANNEL = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"


def run(*args: object, cwd: Path | None = None, stdin: bytes | None = None) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "analyzer", *map(str, args)], input=stdin, capture_output=True,
                          cwd=cwd, timeout=120)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


# --- 1. undecided as a --fail-on level; every undecided row says why ------------------------------------------

def test_undecided_fails_the_gate_only_when_asked() -> None:
    system = SAMPLES / "win10-x86" / "SYSTEM"
    code, out, err = regtls("check", system)
    assert err == ""  # the verdict is on stdout, said once
    assert code == 0 and out.startswith("verdict: undecided (0 errors, 0 warnings, 0 notes, 6 undecided)")
    assert "OS001 kb3140245-installed: the OS is not known (no SOFTWARE hive)" in out  # why, in the text
    code, _, _ = regtls("check", system, "--fail-on", "undecided")
    assert code == 1
    code, out, _err = regtls("scan", system.parent / "SYSTEM", "--format", "jsonl", "--jobs", "1",
                            "--fail-on", "undecided")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and row["verdict"] == "undecided" and len(row["undecided"]) == 6
    assert any(why.startswith("SCH001: TLS 1.2 Client state is not known") for why in row["undecided"])
    assert regtls("scan", system, "--format", "jsonl", "--jobs", "1")[0] == 0


def test_lint_and_fix_take_fail_on_undecided(tmp_path: Path) -> None:
    assert regtls("lint", REG / "tls12-complete.reg")[0] == 0
    assert regtls("lint", REG / "tls12-complete.reg", "--fail-on", "undecided")[0] == 1  # it leaves rules open
    untouched = machine("server2008r2-sp1-untouched")
    code, _, err = regtls("fix", *untouched, "-o", tmp_path / "fix.reg")
    assert code == 1 and "not fixed: OS001" in err  # an update cannot be installed by a registry change
    assert regtls("fix", *untouched, "-o", tmp_path / "fix.reg", "--fail-on", "never")[0] == 0


# --- 2. lint takes folders, excludes and standard input -------------------------------------------------------

def test_lint_recurses_into_folders_with_gitignore_and_exclude(tmp_path: Path) -> None:
    tree = tmp_path / "policies"
    (tree / "sub").mkdir(parents=True)
    (tree / "built").mkdir()
    (tree / ".git").mkdir()
    good = (REG / "tls12-complete.reg").read_bytes()
    for name in ("a.reg", "sub/B.REG", "built/x.reg", "sub/skip-me.reg", ".git/y.reg", "sub/notes.txt"):
        (tree / name).write_bytes(good)
    (tree / "sub" / "Registry.pol").write_bytes(b"PReg\x01\x00\x00\x00")
    (tree / ".gitignore").write_text("built/\n")
    found = collect([tree], Excludes.of([(tmp_path, ["skip-me.reg"])]))
    assert [p.relative_to(tree).as_posix() for p in found] == ["a.reg", "sub/B.REG", "sub/Registry.pol"]

    code, out, err = regtls("lint", tree, "--exclude", "Registry.pol", "--format", "json", cwd=tmp_path)
    assert code == 0, err
    assert sorted(Path(i["path"]).relative_to(tree).as_posix() for i in json.loads(out)["inputs"]) == [
        "a.reg", "sub/B.REG", "sub/skip-me.reg"]
    assert err == "regtls: pass: 0 errors, 0 warnings, 0 notes in 3 file(s)\n"
    assert regtls("lint", tmp_path / "empty-folder-that-is-missing")[0] == 2


def test_lint_reads_standard_input() -> None:
    code, out, _err = run("lint", "-", stdin=(REG / "tls12-typos.reg").read_bytes())
    assert code == 1
    assert out.splitlines()[0].startswith("-:4:2: error REG002 unknown root key 'HKLM'")
    assert all(line.startswith("-:") for line in out.splitlines()) and "stdin" not in out
    assert run("lint", "-", stdin=(REG / "tls12-complete.reg").read_bytes())[:2] == (0, "")


# --- 3. check: the verdict and failing findings first ---------------------------------------------------------

def test_check_text_is_verdict_first_quiet_and_verbose() -> None:
    hives = machine("server2008r2-sp1-untouched")
    code, quiet, err = regtls("check", *hives, "--quiet")
    assert code == 1 and err == ""
    lines = quiet.splitlines()
    assert lines[0] == "verdict: fail (7 errors, 0 warnings, 0 notes, 1 undecided) with profile azure-backup"
    assert lines[1].startswith("error NET001 ") and "machine:" not in quiet and "Requirements" not in quiet
    _, normal, _ = regtls("check", *hives)
    assert normal.startswith(quiet) and "machine: Windows Server 2008 R2 SP1" in normal
    assert "Schannel protocols" not in normal
    _, verbose, _ = regtls("check", *hives, "--verbose")
    assert "Schannel protocols" in verbose and "Requirements" in verbose
    assert verbose.count("verdict: fail") == 1


def test_key_paths_are_never_broken_even_on_a_narrow_terminal() -> None:
    report = run_check(machine("server2008r2-sp1-untouched"), choose_profile("azure-backup"), "python-registry")
    text = render_table(report, width=60)
    path = ("HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\"
            "WinHttp\\DefaultSecureProtocols")
    assert f"    {path}\n" in text


# --- 4. configuration, inline suppression, baseline -----------------------------------------------------------

def test_config_from_pyproject_found_upwards_and_regtls_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.regtls]\nignore = ["SCH001"]\n'
                                             'fail-on = "undecided"\n[tool.regtls.lint]\nexclude = ["old/"]\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "bad.reg").write_bytes((REG / "tls12-typos.reg").read_bytes())
    code, out, _ = regtls("check", REG / "disable-tls12-client.reg", "--format", "json", cwd=deep)
    report = json.loads(out)
    assert "SCH001" not in [r["rule"] for r in report["results"]]  # ignored by the configuration
    assert code == 1  # fail-on = "undecided" from the configuration: the .reg leaves rules undecided
    assert regtls("check", REG / "disable-tls12-client.reg", "--fail-on", "never", cwd=deep)[0] == 0  # CLI wins
    assert regtls("--isolated", "check", REG / "disable-tls12-client.reg", cwd=deep)[0] == 1  # SCH001 is back
    assert regtls("lint", tmp_path, cwd=deep)[0] == 0  # old/ excluded by [tool.regtls.lint]
    (deep / "regtls.toml").write_text('profile = "tls12-strict"\n')
    _, out, _ = regtls("check", REG / "disable-tls12-client.reg", "--format", "json", cwd=deep)
    assert json.loads(out)["summary"]["profile"] == "tls12-strict"  # the nearest file wins


def test_unknown_keys_are_errors_naming_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "regtls.toml").write_text('ignroe = ["SCH001"]\n')
    code, out, err = regtls("check", REG / "disable-tls12-client.reg", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err.startswith(f"regtls: error: {tmp_path / 'regtls.toml'}: unknown key 'ignroe'") and err.count("\n") == 1
    profile = tmp_path / "mine.toml"
    profile.write_text('extends = "azure-backup"\nignroe = ["SCH001"]\n')
    code, _, err = regtls("--isolated", "check", REG / "disable-tls12-client.reg", "--profile", profile)
    assert code == 2 and err == f"regtls: error: {profile}: unknown key 'ignroe' (known: extends, name, title, " \
        "description, absence, sources, uncertain, select, ignore, rules)\n"


def test_inline_suppression_on_the_line_or_the_key_line(tmp_path: Path) -> None:
    on_line = tmp_path / "line.reg"
    on_line.write_text(HEADER + f"[{SCHANNEL}\\TLS 1.2]\n\"Enabled\"=dword:00000001 ; regtls: ignore[SCH003]\n")
    on_key = tmp_path / "key.reg"
    on_key.write_text(HEADER + f"[{SCHANNEL}\\TLS 1.2] ; regtls: ignore sch003, XCK001\n\"Enabled\"=dword:00000001\n")
    other = tmp_path / "other.reg"
    other.write_text(HEADER + f"[{SCHANNEL}\\TLS 1.2]\n\"Enabled\"=dword:00000001 ; regtls: ignore[SCH001]\n")
    code, out, err = regtls("lint", on_line, on_key, other)
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [str(other)]  # only the wrong id is kept
    assert "SCH003" in out and "REG" not in out  # the comments themselves are fine for regedit
    assert "regtls: 2 finding(s) suppressed inline or in the baseline" in err


def test_baseline_reports_only_new_findings(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    old = work / "old.reg"
    old.write_bytes((REG / "tls12-typos.reg").read_bytes())
    code, _, _ = regtls("lint", old, "--write-baseline", work / "baseline.json", cwd=work)
    assert code == 1 and json.loads((work / "baseline.json").read_text())["schema"] == "regtls.baseline/1"
    data = old.read_bytes()
    eol = b"\r\n" if b"\r\n" in data else b"\n"
    head, rest = data.split(eol, 1)
    old.write_bytes(head + eol * 3 + rest)  # lines move: still the same findings
    assert regtls("lint", old, "--baseline", work / "baseline.json", cwd=work)[:2] == (0, "")
    new = work / "new.reg"
    new.write_text(HEADER + f"[{SCHANNEL}\\TLS 1.2]\n\"Enabled\"=dword:00000001\n")
    code, out, _ = regtls("lint", old, new, "--baseline", work / "baseline.json", cwd=work)
    assert code == 1 and out.startswith(f"{new}:4:1: error SCH003")
    assert regtls("check", *machine("server2008r2-sp1-untouched"), "--baseline", work / "nope.json")[0] == 2


# --- 5. consistent options --------------------------------------------------------------------------------------

def test_version_case_insensitive_formats_and_output_everywhere(tmp_path: Path) -> None:
    assert regtls("-V") == (0, "regtls 0.1.0\n", "")
    code, out, _ = regtls("check", REG / "disable-tls12-client.reg", "--format", "JSON")
    assert code == 1 and json.loads(out)["schema"] == "regtls.report/1"
    hives = machine("server2019-configured")
    for command in (["state", *hives], ["dump", REG / "azure-backup-dotnet.reg"], ["check", *hives],
                    ["scan", SAMPLES / "server2019-configured"], ["lint", REG / "tls12-typos.reg"]):
        target = tmp_path / f"{command[0]}.out"
        code, out, _ = regtls(*command, "-o", target, "-f", "Text" if command[0] != "dump" else "json")
        assert code == (1 if command[0] == "lint" else 0) and out == "" and target.stat().st_size > 0, command


def test_option_errors_are_one_line_and_help_has_no_python_types() -> None:
    code, out, err = regtls("check", "--format", "yaml", REG / "tls12-complete.reg")
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith("regtls: error: Invalid value for '--format'") and err.endswith(" check -h')\n")
    assert "╭" not in err
    for command in ("check", "lint", "scan", "fix", "state", "dump"):
        code, out, _ = regtls(command, "--help")
        assert code == 0 and not re.search(r"<(list\[|bool>|str>|path>)", out), command
    _, out, _ = regtls("--help")
    assert "--install-completion" in out and "--version" in out and "-V" in out


def test_scan_selects_and_writes_sarif_and_markdown() -> None:
    folder = SAMPLES / "server2008r2-sp1-untouched"
    _, out, _ = regtls("scan", folder, "--format", "jsonl", "--ignore", "SCH001,WHT001", "--select", "SCH007")
    row = json.loads(out)
    assert "SCH001" not in row["failing"] and row["computer_name"] == "APP2008R2-01"
    code, out, _ = regtls("scan", folder, "--format", "sarif")
    sarif = json.loads(out)
    validate_sarif(sarif)
    assert code == 1 and {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"NET001", "NET002", "SCH001",
                                                                                 "WHT001"}
    code, out, _ = regtls("scan", folder, "--format", "markdown")
    assert "| machine | computer | OS | verdict |" in out and "APP2008R2-01" in out
    assert "`regtls rules show SCH001`" in out


# --- 6. rule documentation ------------------------------------------------------------------------------------

def test_rule_docs_have_no_backticks_no_private_files_and_https_links() -> None:
    _code, out, _ = regtls("rules", "--format", "json")
    for rule in json.loads(out)["rules"]:
        _, text, _ = regtls("rules", "show", rule["id"]) if rule["id"] in ("SCH001", "OS001", "REG001") else (0, "", "")
        for body in [*rule["doc"].values(), text]:
            assert "``" not in body and "tls-facts" not in body and "../shared" not in body, rule["id"]
        refs = rule["doc"]["References"]
        assert "https://" in refs, rule["id"]
        assert not re.search(r"(?<!https://)\b(learn|support)\.microsoft\.com", refs), rule["id"]


# --- 7. machine identity --------------------------------------------------------------------------------------

def test_identity_is_reported_and_a_mixed_pair_is_warned(tmp_path: Path) -> None:
    code, out, _ = regtls("check", *machine("server2008r2-sp1-untouched"))
    assert code == 1
    assert "identity: computer APP2008R2-01 · build 7601 · edition ServerEnterprise · installed 2012-03-14T09:44:05Z" \
        in out
    system = build_hive(tmp_path, "SYSTEM", "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000001\n\n"
                        "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\ComputerName\\ComputerName]\n"
                        "\"ComputerName\"=\"OLDBOX\"\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Windows]\n"
                        "\"ShutdownTime\"=hex:00,40,6d,25,eb,53,bf,01\n")  # 2000-01-01T00:00:00Z
    software = SAMPLES / "server2019-configured" / "SOFTWARE"
    _code, out, err = regtls("check", system, software, "--format", "json")
    report = json.loads(out)
    identity = report["machine"]["identity"]
    assert identity["computer_name"] == "OLDBOX" and identity["last_shutdown"] == "2000-01-01T00:00:00Z"
    assert re.fullmatch(r"17763\.\d+", identity["build"])
    warning = next(d for d in report["diagnostics"] if d["code"] == "different-machines")
    assert warning["level"] == "warning" and "may come from different machines" in warning["message"]
    assert f"regtls: warning: {software}: SYSTEM and SOFTWARE may come from different machines" in err


# --- 8. inputs that are not what they claim -------------------------------------------------------------------

def test_a_text_file_that_is_not_a_reg_export_is_exit_2(tmp_path: Path) -> None:
    script = tmp_path / "fix.ps1"
    script.write_text("Set-ItemProperty -Path HKLM:\\SOFTWARE -Name x -Value 1\n")
    code, out, err = regtls("check", *machine("server2019-configured"), script)
    assert (code, out) == (2, "")
    assert err.startswith(f"regtls: error: {script}: not a .reg file (") and err.count("\n") == 1
    typo = tmp_path / "typo.reg"  # a .reg with a broken header stays a REG001 finding at line 1
    typo.write_text("Windows Registry Editor Version 5.0\n")
    code, out, _ = regtls("lint", typo)
    assert code == 1 and out.startswith(f"{typo}:1:1: error REG001 not a registry script")


# --- 9. fix and the control-set cross-check -------------------------------------------------------------------

def test_fix_does_not_turn_the_control_set_check_into_a_failure(tmp_path: Path) -> None:
    hives = machine("server2008r2-sp1-untouched")
    regtls("fix", *hives, "-o", tmp_path / "fix.reg")
    _, out, _ = regtls("check", *hives, tmp_path / "fix.reg", "--format", "json")
    report = json.loads(out)
    (xck003,) = [r for r in report["results"] if r["rule"] == "XCK003"]
    assert xck003["status"] == "pass" and "LastKnownGood" in xck003["message"]
    assert "XCK003" not in [r["rule"] for r in report["what_if"]["rules"]]
    # a difference that was there before the change is still reported
    _, out, _ = regtls("check", *machine("server2016-controlset002"), tmp_path / "fix.reg", "--format", "json")
    assert [f["rule"] for f in json.loads(out)["findings"]].count("XCK003") == 1


# --- 10. README -----------------------------------------------------------------------------------------------

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_rule_count_matches_the_catalog() -> None:
    _, out, _ = regtls("rules", "--format", "json")
    count = len(json.loads(out)["rules"])
    assert f"lists the {count} rules" in README


def test_readme_has_no_placeholder_urls_and_its_pre_commit_rev_exists() -> None:
    assert "example.invalid" not in README and "example.com" not in README
    rev = re.search(r"rev: ([0-9a-f]{40})", README)
    assert rev is not None
    proc = subprocess.run(["git", "cat-file", "-t", rev.group(1)], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0 and not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    assert proc.stdout.strip() == "commit"
    hooks = subprocess.run(["git", "show", f"{rev.group(1)}:.pre-commit-hooks.yaml"], cwd=REPO, capture_output=True,
                           text=True)
    assert "id: regtls-lint" in hooks.stdout
    assert "[tool.regtls]" in README and "; regtls: ignore[" in README
    first_screen = "\n".join(README.splitlines()[:40])
    assert "../shared" in first_screen and "[images]" in first_screen
