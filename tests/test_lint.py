"""``regtls lint``: line-precise findings for .reg files, one file never hiding another, and the pre-commit hook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES
from tests.test_cli import regtls

REG = SAMPLES / "reg"


def test_lint_text_is_compiler_style(tmp_path: Path) -> None:
    code, out, err = regtls("lint", "samples/reg/tls12-typos.reg", cwd=REPO)
    assert code == 1
    expected = [
        "samples/reg/tls12-typos.reg:4:2: error REG002 unknown root key 'HKLM': regedit ignores this key and its "
        "values until the next key line; write HKEY_LOCAL_MACHINE",
        "samples/reg/tls12-typos.reg:5:1: error REG001 value ignored: the key line at line 4 is rejected",
        "samples/reg/tls12-typos.reg:6:1: error REG001 value ignored: the key line at line 4 is rejected",
        "samples/reg/tls12-typos.reg:8:1: error SCH002 protocol key 'TLS1.2' is not one Schannel reads; did you "
        "mean 'TLS 1.2'?",
        "samples/reg/tls12-typos.reg:12:1: error SCH003 Enabled on 'TLS 1.2' is not read: it belongs in the Client "
        "or Server subkey",
        "samples/reg/tls12-typos.reg:15:1: error NET001 64-bit view: v4.0.30319 SchUseStrongCrypto is invalid "
        "(SchUseStrongCrypto is REG_SZ, not REG_DWORD)",
        "samples/reg/tls12-typos.reg:15:1: warning XCK004 one view only: SchUseStrongCrypto is set for .NET v4.0.30319 "
        "in the 64-bit view but not for the WOW6432Node view",
        "samples/reg/tls12-typos.reg:16:34: error REG001 dword: takes 1 to 8 hex digits, this has 9: regedit skips "
        "this line"]
    # every line is file:line:col: and points to the rule's documentation
    assert out.splitlines() == [f"{line} [regtls rules show {line.split()[2]}]" for line in expected]
    assert err == "regtls: fail: 7 errors, 1 warnings, 0 notes in 1 file(s)\n"


def test_clean_files_and_fail_on(tmp_path: Path) -> None:
    assert regtls("lint", REG / "tls12-complete.reg", REG / "azure-backup-schannel.reg",
                  REG / "azure-backup-dotnet.reg") == (0, "", "regtls: pass: 0 errors, 0 warnings, 0 notes in 3 "
                                                              "file(s)\n")
    assert regtls("lint", REG / "tls12-legacy-ffffffff.reg")[0] == 0
    assert regtls("lint", REG / "tls12-legacy-ffffffff.reg", "--fail-on", "warning")[0] == 0  # a note only
    assert regtls("lint", REG / "tls12-typos.reg", "--fail-on", "never")[0] == 0


def test_unreadable_file_does_not_hide_the_others(tmp_path: Path) -> None:
    junk = tmp_path / "junk.reg"
    junk.write_bytes(bytes(range(256)) * 4)
    code, out, err = regtls("lint", junk, REG / "disable-tls12-client.reg")
    assert code == 2
    assert out.splitlines()[0].endswith("disable-tls12-client.reg:4:1: error SCH001 TLS 1.2 Client is disabled "
                                        "(explicit): Enabled=0, DisabledByDefault=1 [regtls rules show SCH001]")
    assert out.splitlines()[-1] == f"{junk}:1:1: error unreadable {junk}: binary data, not a .reg file"
    assert err.splitlines()[0] == f"regtls: error: {junk}: binary data, not a .reg file"


def test_lint_rules_that_only_lint_catches(tmp_path: Path) -> None:
    protocols = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
    src = tmp_path / "risky.reg"
    src.write_text("Windows Registry Editor Version 5.00\n\n"
                   f"[{protocols}\\SSL 3.0\\Client]\n\"Enabled\"=dword:1\n\"DisabledByDefault\"=dword:0\n"
                   f"[{protocols}\\TLS 1.0\\Server]\n\"Enabled\"=dword:0\n"
                   f"[{protocols}\\TLS 1.2\\Server]\n\"Enabled\"=dword:1\n\"Enabled\"=dword:0\n")
    code, out, _ = regtls("lint", src, "--format", "json")
    found = [(f["rule"], f["level"], f["location"]["line"]) for f in json.loads(out)["findings"]]
    assert found == [("REG006", "error", 4), ("SCH008", "error", 4), ("REG006", "error", 5), ("SCH007", "error", 10),
                     ("XCK005", "warning", 7), ("REG004", "warning", 10)]
    assert code == 1


def test_pre_commit_hook_runs_on_a_real_repository(tmp_path: Path) -> None:
    """``pre-commit try-repo`` installs this repository's hook and runs it on one bad and one good .reg."""
    beside = Path(sys.executable).parent / "pre-commit"
    pre_commit = str(beside) if beside.exists() else shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (it is in the test extra)")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REG / "tls12-typos.reg", work / "bad.reg")
    shutil.copy(REG / "tls12-complete.reg", work / "good.REG")
    identity = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), **identity}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)
    proc = subprocess.run([pre_commit, "try-repo", str(REPO), "regtls-lint", "--all-files"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "regtls lint" in proc.stdout and "Failed" in proc.stdout
    assert "bad.reg:8:1: error SCH002 protocol key 'TLS1.2'" in proc.stdout
    assert "good.REG" not in proc.stdout.split("Failed", 1)[1]


def test_readme_pre_commit_snippet_runs_as_written(tmp_path: Path) -> None:
    """The README's ``.pre-commit-config.yaml`` (``repo`` pointing at this clone) under a real ``pre-commit run``."""
    beside = Path(sys.executable).parent / "pre-commit"
    pre_commit = str(beside) if beside.exists() else shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (it is in the test extra)")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("`.pre-commit-config.yaml`", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "repo: /opt/regtls\n" in snippet
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REG / "tls12-typos.reg", work / "bad.reg")
    shutil.copy(REG / "tls12-complete.reg", work / "good.reg")
    (work / ".pre-commit-config.yaml").write_text(snippet.replace("/opt/regtls", str(REPO)))
    identity = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), **identity}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)
    proc = subprocess.run([pre_commit, "run", "--all-files"], cwd=work, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "regtls lint" in proc.stdout and "Failed" in proc.stdout
    assert "bad.reg:8:1: error SCH002 protocol key 'TLS1.2'" in proc.stdout
    assert "good.reg" not in proc.stdout.split("Failed", 1)[1]
