"""A Markdown report of ``check`` or ``lint`` for a pull-request comment or a case-file appendix."""

from __future__ import annotations

import re
from collections import Counter

from analyzer import __version__
from analyzer.engine import LEVEL_ORDER, Run
from analyzer.report.sarif import notifications, registry_path
from analyzer.rules import UNDECIDED, Location, load_catalog

# Markdown punctuation; "_" only where it can start or end emphasis (GFM ignores it inside words)
_SPECIAL = re.compile(r"([\\`*\[\]<>|]|(?<!\w)_|_(?!\w))")


def cell(text: str) -> str:
    """Text for a table cell: Markdown punctuation and pipes backslash-escaped, line breaks as ``<br>``."""
    escaped = _SPECIAL.sub(lambda m: "\\" + m.group(), text.replace("&", "&amp;"))
    return "<br>".join(escaped.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def code(text: str) -> str:
    """An inline code span for a table cell (pipes escaped, as GitHub requires even inside code)."""
    text = " ".join(text.splitlines()).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table (cells already escaped)."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def location(loc: Location | None) -> str:
    """``file:line:column`` and the registry key, each as code, or *machine*."""
    if loc is None:
        return "machine"
    parts = [code(loc.where()) if loc.file else "machine"]
    key = registry_path(loc)
    if key:
        parts.append(code(key))
    return "<br>".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def as_lines(run: Run) -> list[str]:
    """The report as Markdown lines."""
    c = run.counts
    problems = notifications(run)
    files = len(run.inputs) + len(run.notifications)
    out = [f"# regtls {run.command} — profile {cell(run.profile.name)}", "",
           f"**Verdict: {run.verdict}** — {_plural(c['error'], 'error')}, {_plural(c['warning'], 'warning')}, "
           f"{_plural(c['note'], 'note')}, {c['undecided']} undecided; {_plural(files, 'input')}"
           + (f", {len(run.notifications)} unreadable" if run.notifications else "") + f" (regtls {__version__})",
           "", "## Findings", ""]
    names = {rule.id: rule.name for rule in load_catalog().values()}
    if run.findings:
        out += table(["level", "rule", "location", "message"],
                     [[f.level, cell(f"{f.rule} {names.get(f.rule, '')}".strip()), location(f.location),
                       cell(f.message)] for f in run.findings])
    else:
        out.append("No findings.")
    if run.command == "lint":
        out += ["", "## Files", ""]
        by_file = Counter((f.location.file, f.level) for f in run.findings if f.location is not None)
        undecided = Counter(r.input for r in run.results if r.status == UNDECIDED)
        out += table(["file", "errors", "warnings", "notes", "undecided", "SHA-256"],
                     [[code(i.path)] + [str(by_file[(i.path, level)]) for level in LEVEL_ORDER]
                      + [str(undecided[i.path]), code(i.sha256)] for i in run.inputs])
    else:
        out += ["", "## Rule results", ""]
        out += table(["rule", "level", "status", "message"],
                     [[cell(f"{r.rule} {r.name}"), r.level, r.status, cell(r.message)] for r in run.results])
        out += ["", "## Inputs", ""]
        out += table(["input", "kind", "SHA-256"], [[code(i.path), i.kind, code(i.sha256)] for i in run.inputs])
    if problems:
        out += ["", "## Notifications", ""]
        out += [f"- {d.level}: {location(Location(d.file or None, d.line, d.key, None, d.column))}: {cell(d.message)}"
                for d in problems]
    return out


def render(run: Run) -> str:
    """Markdown text with a final newline."""
    return "\n".join(as_lines(run)) + "\n"
