"""SIGINT and SIGTERM: the command unwinds (temporary files removed), its workers end, exit code 130 or 143.

In the main process both signals raise :class:`Interrupted`, a ``BaseException`` that no ``except
Exception`` swallows, so every ``with`` block and ``finally`` clause runs on the way out (temporary
folders, the copies out of disk images, replay files).  ``scan``'s worker processes
(:mod:`analyzer.workers`) ignore SIGINT and unwind on SIGTERM, which the parent sends them on its way out.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
