"""Help screens without Python type names: ``FILE...``/``TEXT`` instead of ``<list[Path]>``, nothing on flags."""

from __future__ import annotations

import re
from typing import Any

from typer import core

_NAMES = {"Path": "PATH", "str": "TEXT", "int": "INTEGER", "float": "NUMBER"}
_LIST = re.compile(r"^<list\[(.*)\]>$")


def display_type(label: str | None) -> str | None:
    """A typer type label as a user reads it: ``<list[Path]>`` -> ``PATH``, ``<str>`` -> ``TEXT``; choices stay."""
    if label is None:
        return None
    match = _LIST.match(label)
    inner = match.group(1) if match else label.strip("<>")
    if "|" in inner:
        return "{" + inner + "}"
    return _NAMES.get(inner, inner.upper())


def install() -> None:
    """Make typer's help show these labels (flags show none)."""
    original = core.TyperOption.display_type_rich
    original_argument = core.TyperArgument.display_type_rich

    def option(self: Any, ctx: Any) -> str | None:
        return None if self.is_flag else display_type(original(self, ctx))

    def argument(self: Any, ctx: Any) -> str | None:
        return display_type(original_argument(self, ctx))

    core.TyperOption.display_type_rich = option  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = argument  # type: ignore[method-assign]
