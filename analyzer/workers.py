"""Isolated work: tasks run in forked child processes, so a crash, a kill or a hang costs that task only.

A child that dies (the OOM killer's SIGKILL, a crash in a C library) is retried once in a fresh child;
a child that passes its timeout is killed.  Either way the task gets a result from ``failed`` that says
why, and the other tasks go on.  Children end with their parent (``PR_SET_PDEATHSIG``) and on SIGTERM run
their clean-ups (temporary copies are removed) before they exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import selectors
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

RETRIES = 1
"""How many times a task whose child died is tried again in a fresh child."""

STOP_GRACE = 2.0
"""Seconds a child gets to clean up after SIGTERM before it is killed."""


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (nothing elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _frame(data: object) -> bytes:
    payload = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    return len(payload).to_bytes(8, "little") + payload


def _send(fd: int, data: bytes) -> None:
    """Write all of ``data``; a child that died meanwhile is noticed when its answer pipe ends."""
    view = memoryview(data)
    with contextlib.suppress(OSError):
        while view:
            view = view[os.write(fd, view):]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _child(fn: Callable[[T], R], tasks: int, results: int, others: list[int]) -> None:
    """In the forked child: judge the tasks sent on ``tasks`` one by one, each result framed on ``results``,
    until told to stop; leave without running the parent's clean-ups."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the group; the parent decides
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        _die_with_parent()
        for fd in others:
            os.close(fd)
        while (head := _read_exact(tasks, 8)) is not None:
            body = _read_exact(tasks, int.from_bytes(head, "little"))
            message = pickle.loads(body) if body is not None else None
            if message is None:
                break
            index, task = message
            _send(results, _frame((index, fn(task))))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def why_dead(status: int) -> str:
    """A child's wait status in words: ``killed by SIGKILL`` or ``exited with code 3``."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"killed by {name}"
    return f"exited with code {os.WEXITSTATUS(status) if os.WIFEXITED(status) else status}"


@dataclass
class _Worker(Generic[T]):
    """A long-lived child: the pipe that sends it tasks, the one it answers on, and the task it holds."""

    pid: int
    tasks: int
    results: int
    buffer: bytearray = field(default_factory=bytearray)
    job: tuple[int, T] | None = None
    deadline: float | None = None


def _spawn(fn: Callable[[T], R], workers: dict[int, _Worker[T]]) -> _Worker[T]:
    task_read, task_write = os.pipe()
    result_read, result_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    others = [fd for w in workers.values() for fd in (w.tasks, w.results)] + [task_write, result_read]
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        _child(fn, task_read, result_write, others)
    os.close(task_read)
    os.close(result_write)
    worker: _Worker[T] = _Worker(pid, task_write, result_read)
    workers[result_read] = worker
    return worker


def _close(worker: _Worker[T], workers: dict[int, _Worker[T]], selector: selectors.BaseSelector) -> None:
    with contextlib.suppress(KeyError):
        selector.unregister(worker.results)
    workers.pop(worker.results, None)
    for fd in (worker.tasks, worker.results):
        with contextlib.suppress(OSError):
            os.close(fd)


def run(tasks: Sequence[T], fn: Callable[[T], R], jobs: int, failed: Callable[[T, str], R],
        done: Callable[[int, R], None], timeout: float | None = None) -> None:
    """Run ``fn`` over ``tasks`` in at most ``jobs`` forked children; ``done(index, result)`` as each ends.

    A task whose child dies is tried once more in a fresh child, then gets ``failed(task, why)``; one that
    passes ``timeout`` seconds has its child killed and gets ``failed`` at once.  On any exception here (an
    interrupt) every child gets SIGTERM, then SIGKILL after a grace period, and is reaped before it goes on.
    """
    pending: deque[tuple[int, T]] = deque(enumerate(tasks))
    deaths: dict[int, int] = {}
    workers: dict[int, _Worker[T]] = {}
    selector = selectors.DefaultSelector()
    try:
        while pending or any(w.job for w in workers.values()):
            idle = [w for w in workers.values() if w.job is None]
            while pending and (idle or len(workers) < max(jobs, 1)):
                worker = idle.pop() if idle else _spawn(fn, workers)
                if worker.results not in selector.get_map():
                    selector.register(worker.results, selectors.EVENT_READ)
                worker.job = pending.popleft()
                worker.deadline = time.monotonic() + timeout if timeout else None
                _send(worker.tasks, _frame(worker.job))
            deadlines = [w.deadline for w in workers.values() if w.job and w.deadline is not None]
            wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for key, _ in selector.select(wait):
                worker = workers[int(key.fd)]
                chunk = os.read(worker.results, 1 << 16)
                if chunk:
                    worker.buffer += chunk
                    while len(worker.buffer) >= 8 and len(worker.buffer) >= 8 + (
                            size := int.from_bytes(worker.buffer[:8], "little")):
                        index, result = pickle.loads(bytes(worker.buffer[8:8 + size]))
                        del worker.buffer[:8 + size]
                        worker.job, worker.deadline = None, None
                        done(index, result)
                    continue
                _close(worker, workers, selector)  # the child died (or left): its task, if any, is retried once
                _, status = os.waitpid(worker.pid, 0)
                if worker.job is None:
                    continue
                index, task = worker.job
                deaths[index] = deaths.get(index, 0) + 1
                if deaths[index] <= RETRIES:
                    pending.appendleft(worker.job)
                else:
                    done(index, failed(task, f"worker {why_dead(status)}, twice (tried again in a fresh process)"))
            now = time.monotonic()
            for worker in [w for w in workers.values() if w.job and w.deadline is not None and w.deadline <= now]:
                _close(worker, workers, selector)
                _stop(worker.pid, grace=0)
                assert worker.job is not None
                done(worker.job[0], failed(worker.job[1], f"timed out after {timeout:g} s (the worker was stopped)"))
        for worker in list(workers.values()):  # every task done: tell the children to leave
            with contextlib.suppress(OSError):
                os.write(worker.tasks, _frame(None))
        for worker in list(workers.values()):
            _close(worker, workers, selector)
            _stop(worker.pid, STOP_GRACE)
    finally:
        for worker in workers.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGTERM)
        for worker in list(workers.values()):
            _close(worker, workers, selector)
            _stop(worker.pid, STOP_GRACE)
        selector.close()


def _stop(pid: int, grace: float) -> None:
    """Reap ``pid``, killing it when it has not ended within ``grace`` seconds."""
    end = time.monotonic() + grace
    while time.monotonic() < end:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
