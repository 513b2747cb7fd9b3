"""Bounded copies out of containers (disk images, archives, install images) into a temporary folder.

A size written inside evidence (a file entry, an archive member, a resource header) is a claim, not a
fact: a copy stops at its budget whatever the source declares, so a sparse or hostile member cannot
fill the disk.  Every container source copies through one :class:`CopyBudget`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from analyzer.sources import SourceError

CHUNK = 1 << 20
"""Bytes read per step (memory stays bounded by one chunk)."""

MIN_BUDGET = 256 << 20
"""The smallest default budget: room for a real SOFTWARE hive of a large server and its logs."""

BUDGET_FACTOR = 4
"""The default budget is this many times the size of the hives a command needs (at least ``MIN_BUDGET``)."""

ENV_BUDGET = "REGTLS_MAX_COPY"
"""Environment variable overriding the default budget, in bytes (suffixes K, M, G accepted)."""


class CopyLimitError(SourceError):
    """A copy out of a container would pass its budget; the message is one line naming the member."""


def parse_size(text: str) -> int:
    """``512M`` / ``2G`` / ``1048576`` as bytes; a ValueError for anything else."""
    text = text.strip().upper()
    factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    number = int(text[:-1] if factor > 1 else text)
    if number < 0:
        raise ValueError("a size cannot be negative")
    return number * factor


def default_budget(needed: int = 0) -> int:
    """The budget for copies whose hives hold ``needed`` bytes: ``REGTLS_MAX_COPY`` when set, else
    ``BUDGET_FACTOR`` times ``needed`` and at least ``MIN_BUDGET``."""
    override = os.environ.get(ENV_BUDGET)
    if override:
        try:
            return parse_size(override)
        except ValueError:
            raise SourceError(f"{ENV_BUDGET}={override!r}: not a size (give bytes, or a number with K, M or G)") \
                from None
    return max(MIN_BUDGET, BUDGET_FACTOR * needed)


class CopyBudget:
    """What may still be written into one temporary folder; shared by every copy a command makes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def copy(self, read: Callable[[int], bytes], target: Path, what: str) -> int:
        """Stream ``read`` into ``target`` (which must not exist yet) and return the bytes written.

        Raises :class:`CopyLimitError` (the partial copy removed) as soon as the budget would be passed;
        ``what`` names the member in that one-line message (``IMAGE: Windows\\System32\\config\\SYSTEM.LOG1``).
        """
        written = 0
        with target.open("xb") as out:  # outside the clean-up below: a file already there is never removed
            try:
                while chunk := read(CHUNK):
                    written += len(chunk)
                    if self.used + written > self.limit:
                        raise CopyLimitError(f"{what}: copying it would pass the temporary-copy limit of "
                                             f"{self.limit} bytes (raise it with --max-copy SIZE or {ENV_BUDGET})")
                    out.write(chunk)
            except BaseException:
                out.close()
                target.unlink(missing_ok=True)
                raise
        self.used += written
        return written
