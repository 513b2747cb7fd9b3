"""``scan --scheduler``: real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, same rows as local."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.test_cli import regtls

Cluster = tuple[Path, list[subprocess.Popen[bytes]]]
SAMPLE_MACHINES = [d for d in SAMPLES.iterdir() if d.is_dir() and d.name != "reg"]  # one machine per folder


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A real scheduler and two one-thread workers on 127.0.0.1 (the benchmark's), stopped afterwards."""
    pytest.importorskip("distributed", reason="the dask extra (pip install 'regtls[dask]') is not installed")
    from benchmarks.fleet import cluster as start

    with start(2) as running:
        yield running


def test_rows_on_the_cluster_are_the_local_rows(cluster: Cluster, tmp_path: Path) -> None:
    scheduler_file = cluster[0]
    local = regtls("scan", SAMPLES, "--jobs", "2", "--format", "jsonl")
    by_file = regtls("scan", SAMPLES, "--scheduler-file", scheduler_file, "--format", "jsonl")
    address = json.loads(scheduler_file.read_text())["address"]
    by_address = regtls("scan", SAMPLES, "--scheduler", address, "--format", "jsonl")
    assert local[0] == 1 and len(local[1].splitlines()) == len(SAMPLE_MACHINES)
    assert by_file == local and by_address == local


def test_a_killed_dask_worker_costs_no_machine(cluster: Cluster, tmp_path: Path) -> None:
    from tests.test_fleet import _children, fleet

    fleet(tmp_path / "ev", 30)
    proc = subprocess.Popen([sys.executable, "-m", "analyzer", "scan", str(tmp_path / "ev"), "--scheduler-file",
                             str(cluster[0]), "--format", "jsonl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        # the judging child of a worker process (nanny -> worker -> forked child), or the worker process itself
        for nanny in cluster[1]:
            for worker in _children(nanny.pid):
                if _children(worker) and killed is None:
                    os.kill(worker, signal.SIGKILL)
                    killed = worker
        time.sleep(0.01)
    out, err = proc.communicate(timeout=180)
    rows = [json.loads(line) for line in out.splitlines()]
    assert killed is not None
    assert proc.returncode == 1 and len(rows) == 30, err
    assert all(r["error"] is None for r in rows)
    local = regtls("scan", tmp_path / "ev", "--format", "jsonl")
    assert local[1] == out


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    code, out, err = regtls("scan", SAMPLES / "win7-sp1-configured", "--scheduler", "tcp://127.0.0.1:9",
                            "--format", "jsonl")
    assert (code, out) == (2, "") and err.startswith("regtls: error: cannot reach tcp://127.0.0.1:9: ")
    assert len(err.splitlines()) == 1
