"""A Markdown report of ``check`` or ``lint`` for a pull-request comment or a case-file appendix."""

from __future__ import annotations

import re
from collections import Counter

from analyzer import __version__
from analyzer.engine import LEVEL_ORDER, Report, Run
from analyzer.inputs import InputInfo
from analyzer.knowledge import Setting, iso
from analyzer.knowledge.identity import identify
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
                     [[f.level, cell(f"{f.rule} {names.get(f.rule, '')}".strip()) + "<br>"
                       + code(f"regtls rules show {f.rule}"), location(f.location), cell(f.message)]
                      for f in run.findings])
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
        if run.check is not None:
            out += case_file(run.check)
        else:
            out += ["", "## Inputs", ""]
            out += table(["input", "kind", "SHA-256"], [[code(i.path), i.kind, code(i.sha256)] for i in run.inputs])
    if problems:
        out += ["", "## Notifications", ""]
        out += [f"- {d.level}: {location(Location(d.file or None, d.line, d.key, None, d.column))}: {cell(d.message)}"
                for d in problems]
    return out


def _evidence(setting: Setting) -> str:
    """Each value a setting rests on: where it is, and its key's last-write time when a hive holds it."""
    parts = []
    for ev in setting.evidence:
        name = ev.key + ("\\" + ev.value if ev.value is not None else "")
        written = f" (key written {iso(ev.last_write)})" if ev.last_write is not None else ""
        parts.append(f"{code(ev.where())} {code(name)}{written}")
    return "<br>".join(parts) or "no value set"


def _integrity(info: InputInfo) -> list[str]:
    """The input's SHA-256 before and after reading, and whether they match."""
    after = info.details.get("sha256_after")
    unchanged = info.details.get("unchanged")
    same = "not checked" if unchanged is None else "yes" if unchanged else "**NO**"
    return [code(info.path), info.kind, code(info.sha256), code(str(after)) if after else "", same]


def case_file(report: Report) -> list[str]:
    """The sections an examiner files: the machine, every setting with its evidence, the inputs' integrity."""
    os = report.state.os
    system = report.loaded.hives.get("system")
    out = ["", "## Machine", ""]
    out += table(["property", "value"], [
        ["Windows", cell(f"{os.name} (build {os.build})" if os else "not identified")],
        ["product name", cell(os.product_name or "") if os else ""],
        ["architecture", cell(report.state.architecture or "not known")],
        *([name, cell(str(value))] for name, value in identify(report.loaded.machine).to_json().items() if value),
        ["control set", cell(f"{system.control_set} (from {system.control_set_source})" if system
                             else "no SYSTEM hive")],
        ["profile", cell(f"{report.profile.name}: {report.profile.title}")],
        ["tool", f"regtls {__version__}"]])
    out += ["", "## Settings", ""]
    out += table(["setting", "state", "source", "detail", "evidence"],
                 [[cell(s.id), cell(s.state), cell(s.source), cell(s.detail), _evidence(s)] for s in report.settings])
    out += ["", "## Evidence integrity", "",
            "SHA-256 of each input before and after regtls read it; regtls opens inputs read-only.", ""]
    out += table(["input", "kind", "SHA-256 before", "SHA-256 after", "unchanged"],
                 [_integrity(info) for info in report.loaded.inputs])
    return out


def render(run: Run) -> str:
    """Markdown text with a final newline."""
    return "\n".join(as_lines(run)) + "\n"
