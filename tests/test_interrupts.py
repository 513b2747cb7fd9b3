"""SIGTERM and SIGINT at several points of a real run: one line, exit 143/130, no temporary file, no worker left
(issue 18, item 5)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES
from tests.test_copy_bounds import sparse_log_image


def group(leader: int) -> list[int]:
    """The processes of the process group ``leader`` (the command and its workers), zombies included."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:
            found.append(int(stat.parent.name))
    return found


def interrupted(tmp: Path, args: list[object], ready: Callable[[int], bool], signum: int = signal.SIGTERM,
                to_group: bool = False) -> tuple[int, str, str]:
    """Start ``regtls ARGS`` in a new process group with the private TMPDIR ``tmp``, send ``signum`` once
    ``ready(pid)`` holds, and return (exit code, stdout, stderr) once it ended."""
    proc = subprocess.Popen([sys.executable, "-m", "analyzer", *map(str, args)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(tmp)})
    try:
        deadline = time.monotonic() + 120
        while not ready(proc.pid):
            assert proc.poll() is None, f"ended before the signal: {proc.communicate()}"
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.02)
        (os.killpg if to_group else os.kill)(proc.pid, signum)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, out, err


def copying(tmp: Path, count: int) -> Callable[[int], bool]:
    """Ready once ``count`` copies of SYSTEM.LOG1 are being written out of images into ``tmp``."""
    return lambda pid: len(list(tmp.glob("**/regtls-image-*/SYSTEM.LOG1"))) >= count


def reading(path: Path) -> Callable[[int], bool]:
    """Ready once the process holds ``path`` open."""
    def ready(pid: int) -> bool:
        try:
            return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            return False
    return ready


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp"


def assert_clean_end(result: tuple[int, str, str], code: int, tmp: Path) -> None:
    assert result == (code, "", "regtls: interrupted\n")
    assert os.listdir(tmp) == []


def test_sigterm_during_image_extraction(tmp_path: Path, tmp: Path) -> None:
    image = sparse_log_image(tmp_path, system_dirty=True)  # its 2 GiB log is copied out: seconds
    result = interrupted(tmp, ["check", image, "--max-copy", "4G"], copying(tmp, 1))
    assert_clean_end(result, 143, tmp)


@pytest.mark.parametrize("backend", ["python-registry", "regipy"])
def test_sigterm_during_the_check_of_a_large_hive(tmp_path: Path, tmp: Path, backend: str) -> None:
    hive = tmp_path / "SOFTWARE"
    shutil.copy(SAMPLES / "server2019-configured" / "SOFTWARE", hive)
    os.truncate(hive, 1 << 30)  # 1 GiB past its hive bins (sparse): hashing and reading it take seconds
    result = interrupted(tmp, ["check", SAMPLES / "server2019-configured" / "SYSTEM", hive, "--backend", backend],
                         reading(hive))
    assert_clean_end(result, 143, tmp)


@pytest.fixture
def fleet(tmp_path: Path) -> list[Path]:
    """Three images whose dirty SYSTEM has a 2 GiB log: each worker is busy copying for seconds."""
    first = sparse_log_image(tmp_path, system_dirty=True)
    return [first] + [Path(shutil.copy(first, tmp_path / f"disk{n}.ntfs")) for n in (2, 3)]


@pytest.mark.parametrize(("signum", "code", "to_group"), [(signal.SIGTERM, 143, False), (signal.SIGINT, 130, True)])
def test_an_interrupted_scan_ends_its_workers(tmp: Path, fleet: list[Path], signum: int, code: int,
                                              to_group: bool) -> None:
    """SIGTERM to the parent, or Ctrl-C to the whole group (workers ignore SIGINT: the parent ends them)."""
    leader, seen = [0], []

    def ready(pid: int) -> bool:
        leader[0], seen[:] = pid, group(pid)
        return copying(tmp, 2)(pid)

    result = interrupted(tmp, ["scan", *fleet, "--jobs", "2", "--max-copy", "4G"], ready, signum, to_group)
    assert len(seen) == 3  # the command and its two workers were running
    assert_clean_end(result, code, tmp)
    assert group(leader[0]) == [] and not any(Path(f"/proc/{pid}").exists() for pid in seen)


def test_a_finished_scan_leaves_no_worker_folder(tmp_path: Path, tmp: Path) -> None:
    machines = [Path(shutil.copytree(SAMPLES / "server2019-configured", tmp_path / f"m{n}")) for n in (1, 2, 3)]
    proc = subprocess.run([sys.executable, "-m", "analyzer", "scan", *machines, "--jobs", "2", "--format", "jsonl"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(tmp)})
    assert (proc.returncode, len(proc.stdout.splitlines())) == (0, 3), proc.stderr
    assert os.listdir(tmp) == []
