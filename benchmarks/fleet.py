"""Fleet scan on this machine against a Dask cluster, same run (``python -m benchmarks.fleet``).

The fleet is 200 machines (the real SYSTEM hive of the corpus hard-linked into each, with the sample
SOFTWARE hives in turn; sample hives when the corpus is absent).  ``regtls scan --jobs 2`` is the
baseline; the other figure is ``regtls scan --scheduler-file`` on a real ``dask scheduler`` with two
``dask worker`` processes of one thread each, all on 127.0.0.1, started here and stopped afterwards.
``--smoke`` uses 4 machines and one repeat: it checks the harness, not the speed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from benchmarks import generate
from benchmarks.run import CORPUS_SYSTEM, REPO, Measure, machine, measure, regtls


@contextmanager
def cluster(workers: int) -> Iterator[tuple[Path, list[subprocess.Popen[bytes]]]]:
    """A scheduler and ``workers`` one-thread workers on 127.0.0.1: the scheduler file and the worker processes
    (the tests kill one)."""
    dask = Path(sys.executable).with_name("dask")
    folder = Path(tempfile.mkdtemp(prefix="regtls-bench-dask-"))
    scheduler_file = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", scheduler_file], **quiet)]  # type: ignore[call-overload]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            if time.monotonic() > deadline:
                raise SystemExit("dask scheduler did not start")
            time.sleep(0.1)
        procs += [subprocess.Popen([dask, "worker", "--scheduler-file", scheduler_file, "--host", "127.0.0.1",
                                    "--nworkers", "1", "--nthreads", "1", "--no-dashboard"], **quiet)  # type: ignore[call-overload]
                  for _ in range(workers)]
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout="30s") as client:
            client.wait_for_workers(workers, timeout=120)
        yield scheduler_file, procs[1:]
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def fleet(cache: Path, machines: int) -> Path:
    """The fleet folder, generated once into the cache."""
    real = cache / "SYSTEM_WIN_10_1709"
    if CORPUS_SYSTEM.exists() and not real.exists():
        import lzma

        cache.mkdir(parents=True, exist_ok=True)
        with lzma.open(CORPUS_SYSTEM) as fin, open(real, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    folder = cache / (f"fleet-{machines}" + ("-real" if real.exists() else ""))
    if not folder.exists():
        generate.write_fleet(folder, machines, REPO / "samples", real if real.exists() else None)
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    """Measure both ways and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="4 machines, one repeat: test the harness only")
    parser.add_argument("--cache", type=Path, default=REPO / "benchmarks" / ".cache")
    args = parser.parse_args(argv)
    machines, repeat = (4, 1) if args.smoke else (200, 3)
    folder = fleet(args.cache / ("smoke" if args.smoke else "full"), machines)
    local = measure(regtls("scan", folder, "--jobs", "2", "--format", "jsonl", "-q"), repeat, ok=(0, 1))
    with cluster(2) as (scheduler_file, _):
        remote = measure(regtls("scan", folder, "--scheduler-file", scheduler_file, "--format", "jsonl", "-q"),
                         repeat, ok=(0, 1))
    print(f"machine: {machine()}")
    print()
    print(table(folder.name, machines, local, remote))
    return 0


def table(name: str, machines: int, local: Measure, remote: Measure) -> str:
    """The result as a Markdown table: Dask's time over the local one."""
    kind = "real SYSTEM hive and sample SOFTWARE" if name.endswith("-real") else "sample hives"
    return "\n".join([
        "| work | figure | baseline | ratio |", "|---|---|---|---|",
        f"| scan of {machines} machines ({kind}), Dask: 2 workers x 1 thread / local --jobs 2 | "
        f"{remote.seconds:.3f} s | local {local.seconds:.3f} s | {remote.seconds / local.seconds:.2f}x |"])


if __name__ == "__main__":
    raise SystemExit(main())
