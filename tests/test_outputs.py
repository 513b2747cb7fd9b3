"""--output never lands on, beside or inside the evidence, nor over a device or a pipe (issue 18, item 1)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer import outputs
from analyzer.sources.evidence import open_evidence
from tests.conftest import REPO, SAMPLES, snapshot

WIN2019 = SAMPLES / "server2019-configured"
REG = SAMPLES / "reg" / "azure-backup-schannel.reg"


def regtls(*args: object) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "analyzer", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def case(tmp_path: Path) -> Path:
    """A Windows root: config/SYSTEM, SOFTWARE, a SYSTEM.LOG1, and a RegBack folder; a .reg beside it."""
    config = tmp_path / "case" / "Windows" / "System32" / "config"
    (config / "RegBack").mkdir(parents=True)
    for name in ("SYSTEM", "SOFTWARE"):
        shutil.copy(WIN2019 / name, config / name)
    (config / "SYSTEM.LOG1").write_bytes(b"SYSTEM.LOG1 transaction log\n")
    shutil.copy(WIN2019 / "SYSTEM", config / "RegBack" / "SYSTEM")
    shutil.copy(REG, tmp_path / "case" / "change.reg")
    return tmp_path / "case"


def refused(case: Path, args: list[object], output: Path, why: str) -> None:
    """The command exits 2 with one line naming ``output`` and why, writes nothing, and changes no evidence."""
    before = snapshot(case)
    kind = os.lstat(output).st_mode if os.path.lexists(output) else None
    code, out, err = regtls(*args)
    assert (code, out, err) == (2, "", f"regtls: error: {output}: {why}\n")
    assert snapshot(case) == before
    assert (os.lstat(output).st_mode if os.path.lexists(output) else None) == kind
    assert not [p for p in output.parent.iterdir() if p.name.startswith(".regtls-")]


EVIDENCE = "; regtls never writes over its evidence"
CONFIG = "Windows/System32/config"


@pytest.mark.parametrize(("command", "target", "why"), [
    # the first report: a Windows root given, its SOFTWARE hive named as the output
    ("check {case} -o", f"{CONFIG}/SOFTWARE", "is inside the input folder {case}"),
    ("check {case} -o", "new-report.json", "is inside the input folder {case}"),
    ("scan {case} -o", f"{CONFIG}/SOFTWARE", "is inside the input folder {case}"),
    # a log it had just read, or another log name beside the hive
    ("check {config}/SYSTEM -o", f"{CONFIG}/system.log1", "is a transaction log of the input {config}/SYSTEM"),
    ("check {config}/SYSTEM -o", f"{CONFIG}/SYSTEM.LOG2", "is a transaction log of the input {config}/SYSTEM"),
    ("check {config}/SYSTEM -o", f"{CONFIG}/RegBack/report.json",
     "is in the RegBack folder beside the input {config}/SYSTEM"),
    # another hive beside the one read: recognised by its content
    ("check {config}/SYSTEM -o", f"{CONFIG}/SOFTWARE", "is a registry hive or transaction log"),
    ("lint {case}/change.reg -o", "change.reg", "is one of the inputs"),
    ("fix {config}/SYSTEM {config}/SOFTWARE -o {tmp}/fix.reg --undo", f"{CONFIG}/SYSTEM.LOG1",
     "is a transaction log of the input {config}/SYSTEM"),
])
def test_output_on_or_beside_the_evidence_is_refused(case: Path, command: str, target: str, why: str) -> None:
    names = {"case": case, "config": case / CONFIG, "tmp": case.parent}
    output = case / target
    refused(case, [*command.format(**names).split(), output], output, why.format(**names) + EVIDENCE)


def test_links_to_the_evidence_are_refused(case: Path, tmp_path: Path) -> None:
    config = case / CONFIG
    (tmp_path / "symlink").symlink_to(config / "SYSTEM")
    os.link(config / "SYSTEM", tmp_path / "hardlink")
    os.link(config / "SYSTEM.LOG1", tmp_path / "log-hardlink")
    (tmp_path / "folder-link").symlink_to(config, target_is_directory=True)
    for output in (tmp_path / "symlink", tmp_path / "hardlink"):
        refused(case, ["check", config / "SYSTEM", "-o", output], output, "is one of the inputs" + EVIDENCE)
    # a hard link to a log the command reads, and a log name through a symbolic link to the config folder
    refused(case, ["check", config / "SYSTEM", "-o", tmp_path / "log-hardlink"], tmp_path / "log-hardlink",
            f"is a transaction log of the input {config / 'SYSTEM'}" + EVIDENCE)
    through = tmp_path / "folder-link" / "SYSTEM.LOG"
    refused(case, ["check", config / "SYSTEM", "-o", through], through,
            f"is a transaction log of the input {config / 'SYSTEM'}" + EVIDENCE)
    refused(case, ["check", tmp_path / "folder-link", "-o", config / "out.json"], config / "out.json",
            f"is inside the input folder {tmp_path / 'folder-link'}" + EVIDENCE)


def test_an_image_and_a_volume_of_it_are_inputs(case: Path, tmp_path: Path) -> None:
    image = case / "disk.img"
    with image.open("wb") as fh:
        fh.truncate(1 << 20)  # refused before the image is opened: its content does not matter
    os.link(image, tmp_path / "disk-link")
    refused(case, ["check", image, "-o", image], image, "is one of the inputs" + EVIDENCE)
    refused(case, ["check", f"{image}@p1", "-o", tmp_path / "disk-link"], tmp_path / "disk-link",
            "is one of the inputs" + EVIDENCE)


def test_devices_pipes_and_folders_are_never_replaced(case: Path, tmp_path: Path) -> None:
    device = tmp_path / "full"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # a node of /dev/full's device, our own
    except PermissionError:
        device = Path("/dev/full")  # without root, /dev/full itself: it cannot be replaced anyway
    os.mkfifo(tmp_path / "fifo")
    why = "not a regular file (a device, pipe, socket or folder); regtls writes its output to a new or regular file, " \
          "or to - (stdout)"
    for output in (device, tmp_path / "fifo", tmp_path):
        refused(case, ["check", REG, "-o", output], output, why)
    assert stat.S_ISCHR(os.lstat(device).st_mode) and stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


def test_dash_writes_to_stdout(tmp_path: Path) -> None:
    code, out, err = regtls("check", REG, "--format", "json", "-o", "-")
    assert code in (0, 1) and json.loads(out)["inputs"][0]["path"] == str(REG), err
    assert not (REPO / "-").exists() and not (tmp_path / "-").exists()


def test_a_regular_output_is_replaced_atomically(tmp_path: Path) -> None:
    output = tmp_path / "report.json"
    output.write_text("old report\n")
    (tmp_path / "link.json").symlink_to(output)
    code, out, err = regtls("check", REG, "--format", "json", "-o", tmp_path / "link.json")
    assert (code, out) in ((0, ""), (1, "")), err
    assert json.loads(output.read_text())["inputs"][0]["path"] == str(REG)
    assert (tmp_path / "link.json").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "report.json"]


def test_a_file_the_command_read_is_refused_by_its_inode(tmp_path: Path) -> None:
    """The check before writing also knows every file opened as evidence (logs found, copies read)."""
    log = tmp_path / "evidence" / "SYSTEM.LOG1"
    log.parent.mkdir()
    log.write_bytes(b"not a hive\n")
    os.link(log, tmp_path / "out.txt")
    outputs.check(tmp_path / "out.txt", [])  # nothing read yet: allowed
    with open_evidence(log) as fh:
        fh.read()
    with pytest.raises(outputs.OutputRefused, match=rf"^{tmp_path}/out.txt: is {log}, which this command read; "):
        outputs.check(tmp_path / "out.txt", [])
