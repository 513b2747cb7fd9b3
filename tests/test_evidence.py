"""Evidence is opened read-only and without updating its access time (issue 18, item 6)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from analyzer.sources.evidence import open_evidence
from tests.conftest import REPO, SAMPLES, sample_tool

OLD = 1_000_000_000  # 2001: older than the modification time, so relatime would update it on a plain read


def age(path: Path) -> None:
    """Set the access time before the modification time (relatime updates such an atime on any read)."""
    os.utime(path, ns=(OLD * 10**9, path.stat().st_mtime_ns))


def updates_atime(folder: Path) -> bool:
    probe = folder / "probe"
    probe.write_bytes(b"probe")
    age(probe)
    with open(probe, "rb") as fh:
        fh.read()
    return probe.stat().st_atime_ns != OLD * 10**9


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """A config folder: a dirty SYSTEM (so that its SYSTEM.LOG1 is read), SOFTWARE, and a .reg change set."""
    if not updates_atime(tmp_path):
        pytest.skip(f"the file system of {tmp_path} does not update access times (mounted noatime?)")
    config = tmp_path / "config"
    config.mkdir()
    system = bytearray((SAMPLES / "server2019-configured" / "SYSTEM").read_bytes())
    struct.pack_into("<I", system, 4, struct.unpack_from("<I", system, 4)[0] + 1)  # primary sequence: dirty
    struct.pack_into("<I", system, 0x1FC, sample_tool("dirty_logs").checksum(system))
    (config / "SYSTEM").write_bytes(system)
    shutil.copy(SAMPLES / "server2019-configured" / "SOFTWARE", config / "SOFTWARE")
    (config / "SYSTEM.LOG1").write_bytes(b"not a transaction log\n")
    shutil.copy(SAMPLES / "reg" / "azure-backup-schannel.reg", tmp_path / "change.reg")
    return tmp_path


@pytest.mark.parametrize("backend", ["python-registry", "regipy"])
def test_reading_evidence_leaves_its_access_time(machine: Path, backend: str) -> None:
    files = [machine / "config" / n for n in ("SYSTEM", "SOFTWARE", "SYSTEM.LOG1")] + [machine / "change.reg"]
    for path in files:
        age(path)
    for command in ("check", "dump"):
        proc = subprocess.run([sys.executable, "-m", "analyzer", command, machine / "config", machine / "change.reg",
                               "--backend", backend, "--format", "json"], capture_output=True, text=True, cwd=REPO,
                              timeout=120)
        assert proc.returncode in (0, 1), proc.stderr
        assert "SYSTEM.LOG1" in proc.stderr  # the log was read (and found not to be one)
    assert {p.name: p.stat().st_atime_ns for p in files} == {p.name: OLD * 10**9 for p in files}


def test_a_file_of_another_owner_is_still_read() -> None:
    """Without owning the file, O_NOATIME is refused (EPERM): the file is opened without it."""
    if os.geteuid() != 0 or not hasattr(os, "O_NOATIME"):
        pytest.skip("needs root to read a file as another user, and Linux O_NOATIME")
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        path = Path(folder) / "change.reg"
        path.write_bytes(b"Windows Registry Editor Version 5.00\r\n")
        path.chmod(0o644)
        pid = os.fork()
        if pid == 0:  # the child: another user, who may read the file but not use O_NOATIME on it
            try:
                os.setuid(65534)
                with open_evidence(path) as fh:
                    os._exit(0 if fh.read(9) == b"Windows R" else 3)
            except BaseException:
                os._exit(4)
        assert os.waitpid(pid, 0)[1] == 0


def test_evidence_is_opened_read_only(machine: Path) -> None:
    with open_evidence(machine / "change.reg") as fh, pytest.raises(OSError):
        fh.write(b"x")  # type: ignore[attr-defined]
    flags = open_evidence(machine / "change.reg")
    try:
        mode = int(Path(f"/proc/self/fdinfo/{flags.fileno()}").read_text().split("flags:")[1].split()[0], 8)
    finally:
        flags.close()
    assert mode & os.O_ACCMODE == os.O_RDONLY
    assert not hasattr(os, "O_NOATIME") or mode & os.O_NOATIME
