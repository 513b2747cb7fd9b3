"""Formats of the ``regtls check`` report: JSON (schema ``regtls.report/1``) and rich tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer import __version__
from analyzer.engine import Report
from analyzer.report import console, to_json
from analyzer.report.state import STYLE, header, machine_json, print_state

if TYPE_CHECKING:  # rich is loaded only by the table formats
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
        "machine": machine_json(report.loaded, report.state),
        "settings": [s.to_json() for s in report.settings],
        "control_sets": [c.to_json() for c in report.state.control_sets],
        "findings": [f.to_json() for f in report.findings],
        "results": [r.to_json() for r in report.results],
        "diagnostics": [{"file": d.file, "line": d.line, "column": d.column, "level": d.level, "code": d.code,
                         "message": d.message} for d in report.diagnostics],
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


def render_table(report: Report, width: int = 120, color: bool = False) -> str:
    """The report as rich tables (plain text when ``color`` is false)."""
    from rich.table import Table
    from rich.text import Text

    out, buf = console(width, color)
    out.print(f"regtls {__version__} · profile {report.profile.name}: {report.profile.title}")
    header(out, report.loaded, report.state)
    print_state(out, report.state)

    results = Table(title="Requirements", title_justify="left")
    for col in ("rule", "status", "level", "message"):
        results.add_column(col, overflow="fold")
    for r in report.results:
        results.add_row(f"{r.rule} {r.name}", _styled(r.status), r.level, r.message)
    out.print(results)

    if report.what_if:
        change = report.what_if
        table = Table(title=f"What the .reg change does (verdict {change.verdict_before} -> {report.verdict})",
                      title_justify="left")
        for col in ("rule or setting", "before", "after"):
            table.add_column(col, overflow="fold")
        for name, before, after in change.rules + change.settings:
            table.add_row(name, _styled(before), _styled(after))
        out.print(table)

    if report.findings:
        findings = Table(title="Findings", title_justify="left")
        for col in ("level", "rule", "location", "message"):
            findings.add_column(col, overflow="fold")
        for f in report.findings:
            loc = f.location
            where = (loc.where() + (f" {loc.key}" if loc.key and loc.line is None else "")) if loc else ""
            findings.add_row(_styled(f.level), f.rule, where, f.message)
        out.print(findings)
    for d in report.diagnostics:
        where = ":".join(str(p) for p in (d.file, d.line, d.column) if p is not None)
        out.print(Text(f"{d.level}: {where}: {d.message}", style=LEVEL_STYLE.get(d.level, "")))
    out.print(Text(summary_line(report), style=LEVEL_STYLE.get(report.verdict, "")))
    return buf.getvalue()
