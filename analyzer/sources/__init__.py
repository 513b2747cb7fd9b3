"""Input sources: turn a path (``.reg`` file or hive) into registry data behind one read-only interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning", "note"]


class SourceError(Exception):
    """An input cannot be read at all; the message is one line and names the file."""

    def __init__(self, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.file = file


@dataclass(frozen=True)
class Diagnostic:
    """A problem found while reading an input, with its location (line and column for ``.reg``)."""

    file: str
    line: int | None
    level: Level
    code: str
    message: str
    column: int | None = None
    key: str | None = None

    def to_json(self) -> dict[str, object]:
        """The reports' ``diagnostics`` entry."""
        return {"file": self.file, "line": self.line, "column": self.column, "level": self.level, "code": self.code,
                "message": self.message}

    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order diagnostics by file, line and column (then code and message, so that the order is stable)."""
        return (self.file, self.line or 0, self.column or 0, self.code, self.message)
