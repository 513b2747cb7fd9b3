"""Fleet reports of ``scan`` and ``report``: per-rule summary, JSON, Markdown and SARIF, and the table of formats."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from analyzer.report import to_json

if TYPE_CHECKING:
    from analyzer.engine import Finding, Run
    from analyzer.profiles import Profile
    from analyzer.scan import Row

VERDICTS = ("pass", "fail", "undecided", "unreadable")


def failing_rules(rows: list[Row]) -> dict[str, list[str]]:
    """Each rule that fails some machine (an error finding), with those machines, most failed rule first."""
    by_rule: dict[str, list[str]] = {}
    for row in rows:
        for rule in row.failing:
            by_rule.setdefault(rule, []).append(row.machine)
    return dict(sorted(by_rule.items(), key=lambda item: (-len(item[1]), item[0])))


def summary(rows: list[Row]) -> dict[str, object]:
    """The fleet's verdict counts and per-rule failures (``regtls.fleet/1`` ``summary``)."""
    return {"machines": len(rows), "verdicts": {v: sum(r.verdict == v for r in rows) for v in VERDICTS},
            "rules": [{"rule": rule, "failing": len(machines), "machines": machines}
                      for rule, machines in failing_rules(rows).items()]}


def render_json(rows: list[Row]) -> str:
    """One ``regtls.fleet/1`` document: every row (settings included) and the summary."""
    return to_json({"schema": "regtls.fleet/1", "machines": [r.to_json() for r in rows], "summary": summary(rows)})


def render_markdown(rows: list[Row], profile: Profile) -> str:
    """A Markdown fleet report: one line per machine (computer name, OS, verdict, failing rules or why), how
    many machines fail each rule and which, then every finding."""
    from analyzer.report.markdown import cell, code, location, table

    counts = summary(rows)["verdicts"]
    assert isinstance(counts, dict)
    lines = [f"# regtls fleet scan — profile {cell(profile.name)}", "",
             ", ".join(f"{n} {v}" for v, n in counts.items()) + f" ({len(rows)} machines)", "", "## Machines", ""]
    lines += table(["machine", "computer", "OS", "verdict", "failing rules / error / why undecided", "warnings"], [
        [code(r.machine), cell(r.computer_name or ""), cell(f"{r.os} ({r.build})" if r.os else ""), r.verdict,
         cell(r.error or " ".join(r.failing) or "; ".join(r.undecided)), str(r.warnings)] for r in rows])
    lines += ["", "## Failing rules", ""]
    by_rule = failing_rules(rows)
    if by_rule:
        lines += table(["rule", "machines failing", "which"], [
            [rule, str(len(machines)), "<br>".join(code(m) for m in machines)] for rule, machines in by_rule.items()])
    else:
        lines.append("No rule fails on any machine.")
    lines += ["", "## Findings", ""]
    found = [(r, _finding(f)) for r in rows for f in r.findings]
    lines += table(["machine", "level", "rule", "location", "message"],
                   [[code(r.machine), f.level, cell(f.rule) + "<br>" + code(f"regtls rules show {f.rule}"),
                     location(f.location), cell(f.message)] for r, f in found]) if found else ["No findings."]
    return "\n".join(lines) + "\n"


def _finding(data: dict[str, object]) -> Finding:
    """The finding a row's finding JSON describes."""
    from analyzer.engine import Finding
    from analyzer.rules import Location

    loc = data.get("location")
    where = None
    if isinstance(loc, dict):
        line, column = loc.get("line"), loc.get("column")
        where = Location(str(loc["file"]) if loc.get("file") else None, line if isinstance(line, int) else None,
                         str(loc["key"]) if loc.get("key") else None,
                         str(loc["value"]) if loc.get("value") is not None else None,
                         column if isinstance(column, int) else None)
    return Finding(str(data["rule"]), str(data["level"]), str(data["message"]), where)


def as_run(rows: list[Row], profile: Profile) -> Run:
    """The fleet as one run: all machines' findings; unreadable machines and undecided ones as notifications."""
    from analyzer.engine import Finding, Run
    from analyzer.sources import Diagnostic

    findings = sorted((_finding(f) for r in rows for f in r.findings), key=Finding.sort_key)
    notes = [Diagnostic(r.machine, None, "error", "unreadable", f"{r.machine}: {r.error}") for r in rows if r.error]
    undecided = [Diagnostic(r.machine, None, "warning", "undecided", f"{r.machine}: undecided: {why}")
                 for r in rows if not r.error for why in r.undecided]
    counts = {level: sum(r.counts.get(level, 0) for r in rows) for level in ("error", "warning", "note", "undecided")}
    verdict = next((v for v in ("unreadable", "fail", "undecided") if any(r.verdict == v for r in rows)), "pass")
    return Run("scan", profile, [], [], findings, undecided, "fail" if verdict == "unreadable" else verdict, counts,
               notes)


def summary_table(rows: list[Row], width: int, color: bool) -> str:
    """The per-rule summary as a terminal table."""
    from rich.table import Table

    from analyzer.registry import printable
    from analyzer.report import console

    out, buf = console(width, color)
    by_rule = failing_rules(rows)
    if not by_rule:
        return ""
    table = Table(title="Failing rules", title_justify="left")
    for col in ("rule", "machines", "which"):
        table.add_column(col, overflow="fold")
    for rule, machines in by_rule.items():
        table.add_row(rule, str(len(machines)), "\n".join(map(printable, machines)))
    out.print(table)
    return buf.getvalue()


Renderer = Callable[["list[Row]", int, bool, "Profile"], str]


def _table(rows: list[Row], width: int, color: bool, profile: Profile) -> str:
    from analyzer.scan import rows_table

    return rows_table(rows, width, color) + summary_table(rows, width, color)


def _plain(render: Callable[[list[Row]], str]) -> Renderer:
    return lambda rows, width, color, profile: render(rows)


def _sarif(rows: list[Row], width: int, color: bool, profile: Profile) -> str:
    from analyzer.report import sarif

    return sarif.render(as_run(rows, profile))


def _jsonl(rows: list[Row]) -> str:
    from analyzer.scan import render_jsonl

    return render_jsonl(rows)


def _csv(rows: list[Row]) -> str:
    from analyzer.scan import render_csv

    return render_csv(rows)


def _html(rows: list[Row]) -> str:
    from analyzer.report.html import render_fleet

    return render_fleet(rows)


FORMATS: dict[str, Renderer] = {"text": _table, "jsonl": _plain(_jsonl), "csv": _plain(_csv),
                                "json": _plain(render_json), "html": _plain(_html),
                                "markdown": lambda rows, width, color, profile: render_markdown(rows, profile),
                                "sarif": _sarif}
"""Every fleet format by name; ``scan`` and ``report`` both render through this table."""
