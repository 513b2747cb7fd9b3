"""Formats of the ``regtls check`` report: JSON (schema ``regtls.report/1``) and rich tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer import __version__
from analyzer.engine import Finding, Report
from analyzer.report import console, to_json
from analyzer.report.state import STYLE, header, machine_json, print_state

if TYPE_CHECKING:  # rich is loaded only by the text format
    from rich.console import Console
    from rich.text import Text

SCHEMA = "regtls.report/1"
LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan", "pass": "green", "fail": "bold red",
               "undecided": "yellow", "not-applicable": "dim"}


def as_dict(report: Report) -> dict[str, object]:
    """The report as the JSON object of schema ``regtls.report/1``."""
    return {
        "schema": SCHEMA,
        "tool": {"name": "regtls", "version": __version__},
        "inputs": [i.to_json() for i in report.loaded.inputs],
        "users": [u.to_json() for u in report.loaded.users],
        "machine": machine_json(report.loaded, report.state),
        "settings": [s.to_json() for s in report.settings],
        "control_sets": [c.to_json() for c in report.state.control_sets],
        "findings": [f.to_json() for f in report.findings],
        "results": [r.to_json() for r in report.results],
        "diagnostics": [d.to_json() for d in report.diagnostics],
        "what_if": report.what_if.to_json() if report.what_if else None,
        "summary": {"profile": report.profile.name, "profile_file": report.profile.file,
                    "absence": report.profile.absence, "verdict": report.verdict, "counts": report.counts},
    }


def render_json(report: Report) -> str:
    """JSON text of the report."""
    return to_json(as_dict(report))


def _styled(word: str) -> Text:
    from rich.text import Text

    return Text(word, style=LEVEL_STYLE.get(word, STYLE.get(word, "")))


def summary_line(report: Report) -> str:
    """One line: verdict and counts (also written to stderr by the CLI)."""
    c = report.counts
    return (f"verdict: {report.verdict} ({c['error']} errors, {c['warning']} warnings, {c['note']} notes, "
            f"{c['undecided']} undecided) with profile {report.profile.name}")


def docs_hint(rule: str) -> str:
    """Where a finding's rule is documented: every format points there."""
    return f"regtls rules show {rule}"


def _finding(out: Console, f: Finding) -> None:
    """A finding as lines: level, rule and file first; the message; the key path on its own line, never broken."""
    from rich.text import Text

    loc = f.location
    head = Text()
    head.append(f.level, style=LEVEL_STYLE.get(f.level, ""))
    head.append(f" {f.rule}")
    if loc and loc.file:
        head.append(f" {loc.where()}")
    head.append(f"  ({docs_hint(f.rule)})", style="dim")
    out.print(head, no_wrap=True, overflow="ignore", crop=False)
    out.print(Text(f"  {f.message}"))
    if loc and loc.key:
        path = loc.key + (f"\\{loc.value or '(Default)'}" if loc.value is not None else "")
        out.print(Text(f"    {path}", style="dim"), no_wrap=True, overflow="ignore", crop=False)


def render_table(report: Report, width: int = 120, color: bool = False, detail: str = "normal") -> str:
    """The report as text: the verdict and the failing findings first (printed once).

    ``detail`` is ``quiet`` (only those), ``normal`` (also what a .reg change does, the machine and inputs, the
    undecided requirements with their reasons and the reader's diagnostics) or ``verbose`` (also every
    setting and every rule's result, as tables).
    """
    from rich.table import Table
    from rich.text import Text

    out, buf = console(width, color)
    out.print(Text(summary_line(report), style=LEVEL_STYLE.get(report.verdict, "")))
    for f in report.findings:
        _finding(out, f)
    if detail == "quiet":
        for d in report.diagnostics:
            if d.level != "note":
                where = ":".join(str(p) for p in (d.file, d.line, d.column) if p is not None)
                out.print(Text(f"{d.level}: {where}: {d.message}", style=LEVEL_STYLE.get(d.level, "")))
        return buf.getvalue()
    out.print()
    if report.what_if:
        change = report.what_if
        table = Table(title=f"What the .reg change does (verdict {change.verdict_before} -> {report.verdict})",
                      title_justify="left")
        for col in ("rule or setting", "before", "after"):
            table.add_column(col, overflow="fold")
        for name, before, after in change.rules + change.settings:
            table.add_row(name, _styled(before), _styled(after))
        out.print(table)
    undecided = [r for r in report.results if r.status == "undecided"]
    if undecided and detail != "verbose":
        out.print(Text(f"undecided ({len(undecided)}): what the inputs do not hold", style=LEVEL_STYLE["undecided"]))
        for r in undecided:
            out.print(Text(f"  {r.rule} {r.name}: {r.message}"))
    out.print(f"regtls {__version__} · profile {report.profile.name}: {report.profile.title}")
    header(out, report.loaded, report.state)
    if detail == "verbose":
        print_state(out, report.state)
        results = Table(title="Requirements", title_justify="left")
        for col in ("rule", "status", "level", "message"):
            results.add_column(col, overflow="fold")
        for r in report.results:
            results.add_row(f"{r.rule} {r.name}", _styled(r.status), r.level, r.message)
        out.print(results)
    for d in report.diagnostics:
        where = ":".join(str(p) for p in (d.file, d.line, d.column) if p is not None)
        out.print(Text(f"{d.level}: {where}: {d.message}", style=LEVEL_STYLE.get(d.level, "")))
    return buf.getvalue()
