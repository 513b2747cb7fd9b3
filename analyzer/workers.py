"""Isolated work: each task runs in a forked child process, so a crash, a kill or a hang costs that task only.

A child that dies (the OOM killer's SIGKILL, a crash in a C library) is retried once in a fresh child;
a child that passes its timeout is killed.  Either way the task gets a result from ``failed`` that says
why, and the other tasks go on.  Children end with their parent (``PR_SET_PDEATHSIG``) and on SIGTERM run
their clean-ups (temporary copies are removed) before they exit.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

RETRIES = 1
"""How many times a task whose child died is tried again in a fresh child."""

STOP_GRACE = 2.0
"""Seconds a child gets to clean up after SIGTERM before it is killed."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM reached the parent; ``code`` is the exit code to use (130 or 143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (so ``finally`` clean-ups run)."""

    def raise_it(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, raise_it) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (nothing elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(fn: Callable[[T], R], task: T, out: int) -> None:
    """In the forked child: run the task, write the pickled result, and leave without the parent's exit code."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the group; the parent decides
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        _die_with_parent()
        data = pickle.dumps(fn(task), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(out, "wb") as pipe:
            pipe.write(data)
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
class _Running(Generic[T]):
    index: int
    task: T
    pid: int
    fd: int
    deadline: float | None
    data: list[bytes] = field(default_factory=list)


def run(tasks: Sequence[T], fn: Callable[[T], R], jobs: int, failed: Callable[[T, str], R],
        done: Callable[[int, R], None], timeout: float | None = None) -> None:
    """Run ``fn`` over ``tasks`` in at most ``jobs`` children at once; ``done(index, result)`` as each ends.

    A task whose child dies is tried once more, then gets ``failed(task, why)``; one that passes
    ``timeout`` seconds is killed and gets ``failed`` at once.  On any exception here (an interrupt) every
    child gets SIGTERM, then SIGKILL after a grace period, and is reaped before the exception goes on.
    """
    pending: deque[tuple[int, T]] = deque(enumerate(tasks))
    deaths: dict[int, int] = {}
    running: dict[int, _Running[T]] = {}
    selector = selectors.DefaultSelector()
    try:
        while pending or running:
            while pending and len(running) < max(jobs, 1):
                index, task = pending.popleft()
                read, write = os.pipe()
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child never returns
                    os.close(read)
                    _child(fn, task, write)
                os.close(write)
                deadline = time.monotonic() + timeout if timeout else None
                running[read] = _Running(index, task, pid, read, deadline)
                selector.register(read, selectors.EVENT_READ)
            deadlines = [r.deadline for r in running.values() if r.deadline is not None]
            wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for key, _ in selector.select(wait):
                job = running[int(key.fd)]
                chunk = os.read(job.fd, 1 << 16)
                if chunk:
                    job.data.append(chunk)
                    continue
                selector.unregister(job.fd)
                del running[job.fd]
                os.close(job.fd)
                _, status = os.waitpid(job.pid, 0)
                if status == 0 and job.data:
                    done(job.index, pickle.loads(b"".join(job.data)))
                    continue
                deaths[job.index] = deaths.get(job.index, 0) + 1
                if deaths[job.index] <= RETRIES:
                    pending.appendleft((job.index, job.task))
                else:
                    done(job.index, failed(job.task, f"worker {why_dead(status)}, twice (tried again in a "
                                                     "fresh process)"))
            now = time.monotonic()
            for job in [r for r in running.values() if r.deadline is not None and r.deadline <= now]:
                _stop(job.pid, grace=0)
                selector.unregister(job.fd)
                del running[job.fd]
                os.close(job.fd)
                done(job.index, failed(job.task, f"timed out after {timeout:g} s (the worker was stopped)"))
    finally:
        for job in running.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(job.pid, signal.SIGTERM)
        for job in running.values():
            _stop(job.pid, STOP_GRACE)
            os.close(job.fd)
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
