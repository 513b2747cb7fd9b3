"""Rule documentation read from the rules' docstrings: named sections and the .reg examples in them."""

from __future__ import annotations

import re
import textwrap

from analyzer.rules import Rule

SECTIONS = ("What it checks", "Why", "Example machine", "Non-compliant", "Compliant", "When absent", "References")
REQUIRED = tuple(s for s in SECTIONS if s != "Example machine")
_HEADING = re.compile(rf"^\s*({'|'.join(map(re.escape, SECTIONS))}):\s?(.*)$")


def sections(rule: Rule) -> dict[str, str]:
    """The documentation sections of a rule (the summary line is ``rule.summary``)."""
    lines = textwrap.dedent("\n".join(rule.doc.splitlines()[1:])).splitlines()
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        match = _HEADING.match(line)
        if match and not line.startswith(" "):
            current = found.setdefault(match.group(1), [])
            if match.group(2):
                current.append(match.group(2))
        elif current is not None:
            current.append(line)
    return {name: textwrap.dedent("\n".join(body)).strip() for name, body in found.items()}


def render(rule: Rule) -> str:
    """The documentation as plain text, for ``regtls rules show``."""
    parts = [f"{rule.id} {rule.name} (default level: {rule.level})", rule.summary, ""]
    for name, body in sections(rule).items():
        block = body if name in ("Non-compliant", "Compliant") else textwrap.fill(" ".join(body.split()), 100)
        parts += [f"{name}:", textwrap.indent(block, "    "), ""]
    return "\n".join(parts)
