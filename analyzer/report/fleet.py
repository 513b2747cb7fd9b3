"""SARIF and Markdown for ``regtls scan``: every machine's findings, and why a machine is undecided or unreadable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.engine import Finding, Run
from analyzer.rules import Location
from analyzer.sources import Diagnostic

if TYPE_CHECKING:
    from analyzer.profiles import Profile
    from analyzer.scan import Row

VERDICTS = ("pass", "fail", "undecided", "unreadable")


def _finding(data: dict[str, object]) -> Finding:
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
    findings = sorted((_finding(f) for r in rows for f in r.findings), key=Finding.sort_key)
    notes = [Diagnostic(r.machine, None, "error", "unreadable", f"{r.machine}: {r.error}") for r in rows if r.error]
    undecided = [Diagnostic(r.machine, None, "warning", "undecided", f"{r.machine}: undecided: {why}")
                 for r in rows if not r.error for why in r.undecided]
    counts = {level: sum(r.counts.get(level, 0) for r in rows) for level in ("error", "warning", "note", "undecided")}
    verdict = next((v for v in ("unreadable", "fail", "undecided") if any(r.verdict == v for r in rows)), "pass")
    return Run("scan", profile, [], [], findings, undecided, "fail" if verdict == "unreadable" else verdict, counts,
               notes)


def render_markdown(rows: list[Row], profile: Profile) -> str:
    """One table row per machine (computer name, OS, verdict, failing rules or why), then the findings."""
    from analyzer.report.markdown import cell, code, location, table

    totals = ", ".join(f"{sum(r.verdict == v for r in rows)} {v}" for v in VERDICTS)
    out = [f"# regtls scan — profile {cell(profile.name)}", "", f"**{len(rows)} machine(s): {totals}**", "",
           "## Machines", ""]
    out += table(["machine", "computer", "OS", "verdict", "failing rules / error / why undecided"],
                 [[code(r.machine), cell(r.computer_name or ""), cell(f"{r.os} ({r.build})" if r.os else ""),
                   r.verdict, cell(r.error or " ".join(r.failing) or "; ".join(r.undecided))] for r in rows])
    out += ["", "## Findings", ""]
    found = [(r, _finding(f)) for r in rows for f in r.findings]
    out += table(["machine", "level", "rule", "location", "message"],
                 [[code(r.machine), f.level, cell(f.rule) + "<br>" + code(f"regtls rules show {f.rule}"),
                   location(f.location), cell(f.message)] for r, f in found]) if found else ["No findings."]
    return "\n".join(out) + "\n"


def render(rows: list[Row], profile: Profile, fmt: str) -> str:
    """``sarif`` or ``markdown`` text of a scan."""
    if fmt == "sarif":
        from analyzer.report import sarif

        return sarif.render(as_run(rows, profile))
    return render_markdown(rows, profile)
