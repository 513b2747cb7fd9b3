"""Inline suppression: ``; regtls: ignore[SCH003]`` on a finding's ``.reg`` line, ``; regtls: ignore SCH003``
on its key line.

The comment is read from the file's own lines (the lines a finding points to), so the ``.reg`` reader is not
involved. regedit skips what follows a value's data after ``;``, and on a key line what follows the line's
last ``]`` -- so a key line takes the form without brackets (with them, the key name would run to the
comment's ``]``). ``; regtls: ignore`` with no ids silences every rule on that line.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.engine import Finding

_MARK = re.compile(r";\s*regtls:\s*ignore(?:\[([^\]]*)\]|((?:[\s,]+[A-Z]{2,4}\d{3}\b)+))?", re.IGNORECASE)
_LIMIT = 64 * 1024 * 1024  # a .reg file larger than this is not searched for comments


def decode(data: bytes) -> str | None:
    """The text of a ``.reg`` file (UTF-16 with BOM, UTF-8, else ANSI), or None for binary data."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    if b"\0" in data[:4096]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def marks(line: str) -> set[str] | None:
    """The rule ids a line's ``regtls: ignore`` comment names (``{"*"}`` for all), or None without one."""
    match = _MARK.search(line)
    if match is None:
        return None
    ids = match.group(1) if match.group(1) is not None else match.group(2)
    if ids is None:
        return {"*"}
    return {part.upper() for part in re.split(r"[\s,]+", ids) if part}


class Lines:
    """The lines of the ``.reg`` files findings point to, each file read once."""

    def __init__(self) -> None:
        self._files: dict[str, list[str] | None] = {}

    def of(self, file: str) -> list[str] | None:
        """The file's lines, or None when it is not a readable text file."""
        if file not in self._files:
            try:
                path = Path(file)
                text = decode(path.read_bytes()) if path.stat().st_size <= _LIMIT else None
            except OSError:
                text = None
            self._files[file] = text.split("\n") if text is not None else None
        return self._files[file]


def key_line(lines: list[str], index: int) -> int | None:
    """The index of the ``[key]`` line that the line at ``index`` belongs to."""
    for i in range(index, -1, -1):
        if lines[i].lstrip().startswith("["):
            return i
    return None


def is_suppressed(finding: Finding, lines: Lines) -> bool:
    """Whether the finding's line, or its key's line, carries an ignore comment naming its rule."""
    loc = finding.location
    if loc is None or not loc.file or not loc.line:
        return False
    text = lines.of(loc.file)
    if text is None or loc.line > len(text):
        return False
    index = loc.line - 1
    for i in {index, key_line(text, index)}:
        if i is not None and (ids := marks(text[i])) is not None and ("*" in ids or finding.rule in ids):
            return True
    return False


def unsuppressed(findings: list[Finding]) -> list[Finding]:
    """The findings no inline comment silences."""
    lines = Lines()
    return [f for f in findings if not is_suppressed(f, lines)]
