"""Rule documentation read from the rules' docstrings: named sections and the .reg examples in them."""

from __future__ import annotations

import re
import textwrap

from analyzer.rules import Rule

SECTIONS = ("What it checks", "Why", "Example machine", "Non-compliant", "Compliant", "When absent", "References")
REQUIRED = tuple(s for s in SECTIONS if s != "Example machine")
_HEADING = re.compile(rf"^\s*({'|'.join(map(re.escape, SECTIONS))}):\s?(.*)$")
EXAMPLES = ("Non-compliant", "Compliant")
_LITERAL = re.compile(r"``(.+?)``|`([^`]+)`", re.DOTALL)
_BARE_LINK = re.compile(r"(?<![\w/.])((?:learn|support|docs)\.microsoft\.com(?:/[^\s;,()]*[^\s;,().])?)")
_KB = re.compile(r"\bKB(\d{6,7})\b(?! \((?:https|learn|support))")
_RFC = re.compile(r"\bRFC (\d{3,5})\b(?! \(https)")
_URL = re.compile(r"https://[^\s;,()]*[^\s;,().]")


def plain(text: str, references: bool = False) -> str:
    """Documentation text as a user reads it: no reStructuredText literals, links with ``https://``, and in
    the references a link for each bare Microsoft KB number."""
    text = _LITERAL.sub(lambda m: m.group(1) or m.group(2), text)
    text = _BARE_LINK.sub(lambda m: "https://" + m.group(1), text)
    if references:
        text = _KB.sub(lambda m: f"KB{m.group(1)} (https://support.microsoft.com/kb/{m.group(1)})", text)
        text = _RFC.sub(lambda m: f"RFC {m.group(1)} (https://www.rfc-editor.org/rfc/rfc{m.group(1)})", text)
    return text


def help_uri(rule: Rule) -> str | None:
    """The first https link of a rule's references (a Microsoft page for most rules)."""
    match = _URL.search(sections(rule).get("References", ""))
    return match.group() if match else None


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
    out = {name: textwrap.dedent("\n".join(body)).strip() for name, body in found.items()}
    return {name: body if name in EXAMPLES else plain(body, name == "References") for name, body in out.items()}


def render(rule: Rule) -> str:
    """The documentation as plain text, for ``regtls rules show``."""
    parts = [f"{rule.id} {rule.name} (default level: {rule.level})", rule.summary, ""]
    for name, body in sections(rule).items():
        block = body if name in EXAMPLES else textwrap.fill(" ".join(body.split()), 100, break_long_words=False,
                                                            break_on_hyphens=False)
        parts += [f"{name}:", textwrap.indent(block, "    "), ""]
    return "\n".join(parts)
