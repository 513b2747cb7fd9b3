"""Judge machines on an existing Dask distributed cluster (the ``regtls[dask]`` extra, imported only here).

Workers read the evidence by the paths discovery found, so every worker must see the same files at the
same paths (shared storage: NFS, SMB, a cluster file system) and run the same regtls.  On a worker each
machine is judged in a forked child process, so a machine that hangs is stopped at the timeout and one
that crashes costs only itself; a worker that dies is replaced by the scheduler and its machine tried
once more elsewhere.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from analyzer.scan import Row, failed_row
from analyzer.sources.folder import MachineSource

if TYPE_CHECKING:
    from analyzer.fleetrun import Options
    from analyzer.profiles import Profile


class ClusterError(Exception):
    """The cluster cannot be reached or used; the message is one line."""


def _judge_in(folder: str, source: MachineSource, profile: str | Profile, backend: str, logs: bool) -> Row:
    """In the forked child: judge from the client's working folder, so relative paths name the same files."""
    from analyzer import scan

    try:
        os.chdir(folder)
    except OSError as exc:
        return failed_row(source, f"the scan's working folder {folder} is not readable on this Dask worker "
                                  f"({exc.strerror or exc}); the evidence must be at the same paths on every worker")
    return scan.judge(source, profile, backend, logs)


def judge_remote(source: MachineSource, profile: str | Profile, backend: str, logs: bool, timeout: float | None,
                 folder: str) -> Row:
    """On a Dask worker: judge one machine in a forked child (the same function a local scan runs)."""
    from analyzer import scan, workers

    scan.warm(profile, backend)  # loaded once per worker process, before the fork, so children share it
    rows: list[Row] = []
    workers.run([source], functools.partial(_judge_in, folder, profile=profile, backend=backend, logs=logs), 1,
                failed_row, lambda index, row: rows.append(row), timeout)
    return rows[0]


def _client(address: str | None, scheduler_file: str | None) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--scheduler needs Dask: pip install 'regtls[dask]'") from None
    where = address or f"the scheduler in {scheduler_file}"
    try:
        if address:
            return Client(address, timeout="20s", set_as_default=True)  # type: ignore[no-untyped-call]
        return Client(scheduler_file=scheduler_file, timeout="20s", set_as_default=True)  # type: ignore[no-untyped-call]
    except (OSError, ValueError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach {where}: {' '.join(str(exc).split()) or type(exc).__name__}") from None


def judge_all(sources: list[MachineSource], options: Options, progress: Callable[[Row], None],
              address: str | None = None, scheduler_file: str | None = None) -> list[Row]:
    """Every machine's row (in the order of ``sources``), judged on the cluster; ``progress`` as each ends."""
    from distributed import as_completed

    client = _client(address, scheduler_file)
    futures: dict[Any, int] = {}
    try:
        for index, source in enumerate(sources):
            future = client.submit(judge_remote, source, options.profile, options.backend, options.logs,
                                   options.timeout, os.getcwd(), pure=False, retries=1)
            futures[future] = index
        rows: dict[int, Row] = {}
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            index = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # KilledWorker: the worker died (twice) while judging this machine
                why = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
                lost = type(exc).__name__ == "KilledWorker"
                row = failed_row(sources[index], f"worker lost on the Dask cluster ({why})" if lost else
                                 f"the Dask task failed ({why})")
            rows[index] = row
            progress(row)
        return [rows[i] for i in range(len(sources))]
    finally:
        client.cancel(list(futures))
        client.close()
