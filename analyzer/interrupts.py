"""SIGINT and SIGTERM: the command unwinds (temporary files removed), its workers end, exit code 130 or 143.

In the main process both signals raise :class:`Interrupted`, a ``BaseException`` that no ``except
Exception`` swallows, so every ``with`` block and ``finally`` clause runs on the way out (temporary
folders, the copies out of disk images, replay files).  Worker processes ignore SIGINT (a Ctrl-C reaches
the whole process group: only the parent decides); each keeps its temporary files in a folder of its own,
removed when it ends, also on the SIGTERM that :class:`WorkerPool` sends to each of them when the block
that uses it is left by an exception.
"""

from __future__ import annotations

import multiprocessing.util
import os
import shutil
import signal
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from types import FrameType, TracebackType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE = 5.0
"""Seconds a worker has to remove its temporary files after SIGTERM before it is killed."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; the exit code is 128 plus the signal number (130, 143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal."""
        return 128 + self.signum


def _interrupt(signum: int, frame: FrameType | None) -> None:
    for each in SIGNALS:  # a second Ctrl-C must not cut the clean-up short
        signal.signal(each, signal.SIG_IGN)
    raise Interrupted(signum)


def install() -> None:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` in this (main) process."""
    if threading.current_thread() is threading.main_thread():
        for each in SIGNALS:
            signal.signal(each, _interrupt)


_scratch: str | None = None  # a worker's own temporary folder: every temporary file of its jobs is inside


def _worker_signal(signum: int, frame: FrameType | None) -> None:
    """SIGTERM in a worker: remove its temporary folder (whatever its job was doing) and end at once."""
    if _scratch is not None:
        shutil.rmtree(_scratch, ignore_errors=True)
    os._exit(128 + signum)


def _worker_init() -> None:
    global _scratch
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_signal)
    _scratch = tempfile.tempdir = tempfile.mkdtemp(prefix="regtls-worker-")
    multiprocessing.util.Finalize(None, shutil.rmtree, args=(_scratch,), kwargs={"ignore_errors": True},
                                  exitpriority=0)  # run when the worker ends normally


class WorkerPool(ProcessPoolExecutor):
    """A process pool whose workers ignore SIGINT and are ended (SIGTERM, then SIGKILL after :data:`GRACE`
    seconds) when the ``with`` block is left by an exception such as :class:`Interrupted`."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, initializer=_worker_init)

    def end_workers(self) -> None:
        """Cancel what has not started and end every worker process now."""
        processes = list((getattr(self, "_processes", None) or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(GRACE)
            if process.is_alive():
                process.kill()
                process.join()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        if exc is not None:
            self.end_workers()
            return None
        return super().__exit__(kind, exc, tb)
