"""The command line on evidence: nothing it reads is changed, a failure leaves no output file behind, and the
same inputs give byte-identical output with only results on stdout."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, corpus_file, snapshot
from tests.test_cli import REG, regtls

MACHINE = SAMPLES / "server2008r2-sp1-untouched"


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    """A config folder as taken from an image: hives, their logs, a change set (UTF-16) and a raw disk image."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    for name in ("SYSTEM", "SOFTWARE"):
        shutil.copy(MACHINE / name, folder / name)
        log = bytearray((MACHINE / name).read_bytes()[:4096])
        log[0x1C:0x20] = (6).to_bytes(4, "little")  # base block of a new-format transaction log
        for suffix in (".LOG1", ".LOG2"):
            (folder / f"{name}{suffix}").write_bytes(bytes(log) + b"HvLE" + bytes(508))
    shutil.copy(REG / "tls12-complete.reg", folder / "change.reg")  # UTF-16LE, as regedit writes it
    (folder / "disk.img").write_bytes(bytes(1 << 16) + (MACHINE / "SYSTEM").read_bytes())
    stamp = 1_700_000_000_000_000_000
    for path in folder.iterdir():
        os.utime(path, ns=(stamp, stamp))
    return folder


def _commands(folder: Path, out: Path) -> list[list[str]]:
    hives = [str(folder / "SYSTEM"), str(folder / "SOFTWARE")]
    change = str(folder / "change.reg")
    commands = []
    for backend in ("python-registry", "regipy"):
        commands += [["check", *hives, change, "--backend", backend],
                     ["dump", hives[0], change, "--format", "reg", "--backend", backend]]
    return [*commands,
            ["check", str(folder), "--format", "json", "--output", str(out / "report.json")],
            ["check", str(folder / "disk.img")],
            ["check", str(folder / "SYSTEM.LOG1")],
            ["dump", str(folder / "SOFTWARE"), "--format", "text"],
            ["state", *hives, change, "--format", "json"],
            ["lint", change],
            ["fix", *hives, "--output", str(out / "fix.reg"), "--undo", str(out / "undo.reg")],
            ["scan", str(folder), "--jobs", "1", "--format", "jsonl"]]


def test_no_command_changes_a_byte_of_its_evidence_or_writes_beside_it(evidence: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(evidence)
    for command in _commands(evidence, out):
        code, _, err = regtls(*command)
        assert code in (0, 1, 2) and "Traceback" not in err and "internal error" not in err, (command, err)
        assert snapshot(evidence) == before, command
    assert sorted(p.name for p in out.iterdir()) == ["fix.reg", "report.json", "undo.reg"]


def _as_a_user() -> None:
    """Drop root's power to read any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from the command run next."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP; the check below tells whether it took


@pytest.fixture
def unreadable(tmp_path: Path) -> Path:
    """A hive file its reader may not open (run the reader with :func:`_as_a_user`)."""
    secret = tmp_path / "SYSTEM"
    shutil.copy(MACHINE / "SYSTEM", secret)
    secret.chmod(0)
    probe = subprocess.run([sys.executable, "-c", f"open({str(secret)!r}, 'rb')"], capture_output=True,
                           preexec_fn=_as_a_user)
    if probe.returncode == 0:
        pytest.skip("this process may read any file (root without a way to drop CAP_DAC_OVERRIDE)")
    return secret


LOAD = "import sys, pathlib, analyzer.inputs as i\ntry: i.load([pathlib.Path(sys.argv[1])])\nexcept Exception as e: " \
       "print(repr(e))"


def test_an_unreadable_file_is_a_one_line_source_error(unreadable: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", LOAD, str(unreadable)], capture_output=True, text=True, timeout=60,
                          preexec_fn=_as_a_user)
    assert proc.stdout == f"SourceError('{unreadable}: cannot open: Permission denied')\n"


def test_an_unreadable_file_is_one_line_and_exit_2(unreadable: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "analyzer", "check", str(unreadable)], capture_output=True,
                          text=True, timeout=60, preexec_fn=_as_a_user)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"regtls: error: {unreadable}: cannot open: Permission denied\n"


def _missing(path: Path) -> str:
    return "no such file"


def _folder_without_hives(path: Path) -> str:
    path.mkdir()
    (path / "notes.txt").write_text("no hives here\n")
    return "a folder without SYSTEM or SOFTWARE hives (looked in it and in Windows/System32/config below it)"


def _empty(path: Path) -> str:
    path.write_bytes(b"")
    return "empty file, not a .reg file"


def _binary_junk(path: Path) -> str:
    path.write_bytes(bytes(range(256)) * 16)
    return "binary data, not a .reg file"


def _sam(path: Path) -> str:
    shutil.copy(corpus_file(path.parent, "hives/regipy/SAM.xz"), path)
    return "a registry hive, but not SYSTEM or SOFTWARE (header name '\\\\SystemRoot\\\\System32\\\\Config\\\\SAM', " \
           "top-level keys: SAM)"


def _pipe(path: Path) -> str:
    os.mkfifo(path)
    return "not a regular file (a pipe, socket or character device); give hive files, .reg files or a folder"


def _root_past_the_end(path: Path) -> str:
    data = bytearray((MACHINE / "SYSTEM").read_bytes())
    data[0x24:0x28] = (0x7FFFFFF0).to_bytes(4, "little")
    path.write_bytes(data)
    return "cannot read the root key: cell offset 0x7ffffff0 is past the end of the hive"


def _second_software(path: Path) -> str:
    shutil.copy(MACHINE / "SOFTWARE", path)
    return f"a second SOFTWARE hive ({MACHINE / 'SOFTWARE'} is the first); give one SYSTEM and one SOFTWARE hive " \
           "per machine"


@pytest.mark.parametrize("make", [_missing, _folder_without_hives, _empty, _binary_junk, _sam, _pipe,
                                  _root_past_the_end, _second_software], ids=lambda f: f.__name__[1:])
def test_a_failed_check_is_one_line_and_leaves_no_output_file(tmp_path: Path, make: Callable[[Path], str]) -> None:
    """Each bad input given after a good SOFTWARE hive; a pipe would block a reader forever."""
    path = tmp_path / "input.reg"
    message = make(path)
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, err = regtls("check", MACHINE / "SOFTWARE", path, "--format", "json", "--output", out / "r.json")
    assert (code, stdout, err) == (2, "", f"regtls: error: {path}: {message}\n")
    assert list(out.iterdir()) == []


DETERMINISTIC = [
    ["check", "{system}", "{software}", "{change}"],
    ["check", "{system}", "{software}", "--format", "json", "--backend", "regipy"],
    ["dump", "{system}", "{change}", "--format", "json"],
    ["dump", "{software}", "--format", "reg", "--backend", "regipy"],
    ["dump", "{system}", "--format", "text"],
    ["state", "{system}", "{software}"],
    ["lint", "{change}", "--format", "json"],
]


@pytest.mark.parametrize("command", DETERMINISTIC, ids=lambda c: "-".join(a for a in c if "{" not in a))
def test_same_inputs_give_byte_identical_output_and_stdout_holds_only_results(command: list[str]) -> None:
    names = {"system": MACHINE / "SYSTEM", "software": MACHINE / "SOFTWARE", "change": REG / "tls12-complete.reg"}
    args = [a.format(**names) for a in command]
    first, second = regtls(*args), regtls(*args)
    assert first == second
    code, out, err = first
    assert code in (0, 1) and out and "regtls:" not in out
    assert all(line.startswith("regtls: ") for line in err.splitlines())
    if "json" in args:
        json.loads(out)
    elif "reg" in args:
        assert out.startswith("Windows Registry Editor Version 5.00\n")
