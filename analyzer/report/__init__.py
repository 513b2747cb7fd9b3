"""Formatters: pure functions from a result to the text written on stdout or to ``--output``."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def to_json(data: object) -> str:
    """Stable JSON text: two-space indent, ASCII escapes, a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def console(width: int, color: bool) -> tuple[Console, io.StringIO]:
    """A rich console that records into a string (ANSI colours only when ``color``)."""
    from rich.console import Console  # loaded only by the formats that draw

    buf = io.StringIO()
    return Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
                   highlight=False, soft_wrap=False, emoji=False, markup=False), buf
