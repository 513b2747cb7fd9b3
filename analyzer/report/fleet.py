"""Fleet reports of ``scan`` and ``report``: the per-rule summary, JSON and Markdown, and the table of formats."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from analyzer.report import to_json

if TYPE_CHECKING:
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


def render_markdown(rows: list[Row]) -> str:
    """A Markdown fleet report: one line per machine, then how many machines fail each rule and which."""
    from analyzer.report.markdown import cell, code, table

    counts = summary(rows)["verdicts"]
    assert isinstance(counts, dict)
    lines = ["# regtls fleet scan", "", ", ".join(f"{n} {v}" for v, n in counts.items()) + f" ({len(rows)} machines)",
             "", "## Machines", ""]
    lines += table(["machine", "OS", "verdict", "failing rules / error", "warnings"], [
        [code(r.machine), cell(f"{r.os} ({r.build})" if r.os else ""), r.verdict,
         cell(r.error) if r.error else " ".join(r.failing), str(r.warnings)] for r in rows])
    lines += ["", "## Failing rules", ""]
    by_rule = failing_rules(rows)
    if by_rule:
        lines += table(["rule", "machines failing", "which"], [
            [rule, str(len(machines)), "<br>".join(code(m) for m in machines)] for rule, machines in by_rule.items()])
    else:
        lines.append("No rule fails on any machine.")
    return "\n".join(lines) + "\n"


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


Renderer = Callable[["list[Row]", int, bool], str]


def _table(rows: list[Row], width: int, color: bool) -> str:
    from analyzer.scan import rows_table

    return rows_table(rows, width, color) + summary_table(rows, width, color)


def _plain(render: Callable[[list[Row]], str]) -> Renderer:
    return lambda rows, width, color: render(rows)


def _jsonl(rows: list[Row]) -> str:
    from analyzer.scan import render_jsonl

    return render_jsonl(rows)


def _csv(rows: list[Row]) -> str:
    from analyzer.scan import render_csv

    return render_csv(rows)


def _html(rows: list[Row]) -> str:
    from analyzer.report.html import render_fleet

    return render_fleet(rows)


FORMATS: dict[str, Renderer] = {"table": _table, "jsonl": _plain(_jsonl), "csv": _plain(_csv),
                                "json": _plain(render_json), "markdown": _plain(render_markdown),
                                "html": _plain(_html)}
"""Every fleet format by name; ``scan`` and ``report`` both render through this table."""
