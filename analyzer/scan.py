"""Fleets: judge many machines in worker processes; one broken machine never stops the scan."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from analyzer.sources.folder import MachineSource

if TYPE_CHECKING:
    from analyzer.profiles import Profile


@dataclass(frozen=True)
class Row:
    """One machine's result: what it is, its verdict and failing rules, or why it could not be read."""

    machine: str
    inputs: list[str]
    os: str | None = None
    build: int | None = None
    control_set: str | None = None
    verdict: str = "unreadable"
    failing: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    computer_name: str | None = None
    undecided: list[str] = field(default_factory=list)  # why: "RULE: reason" of each undecided requirement
    findings: list[dict[str, object]] = field(default_factory=list)  # each finding's JSON (for SARIF/Markdown)

    def to_json(self) -> dict[str, object]:
        """The ``regtls.scan/1`` object of one machine (one JSON Lines record)."""
        return {"schema": "regtls.scan/1", **asdict(self)}


@functools.cache
def _profile(name: str) -> Profile:
    """The profile, loaded once per process (a worker judges many machines with it)."""
    from analyzer.engine import choose_profile

    return choose_profile(name)


def judge(source: MachineSource, profile: str | Profile, backend: str, logs: bool = True) -> Row:
    """Judge one machine; any failure becomes the row's ``error`` (this runs in a worker process)."""
    from analyzer.engine import check as run_check
    from analyzer.knowledge.identity import identify

    inputs = [str(p) for p in source.hives]
    if source.problem is not None:
        return Row(source.name, inputs, error=source.problem)
    try:
        report = run_check(list(source.hives), _profile(profile) if isinstance(profile, str) else profile, backend,
                           logs)
    except Exception as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        return Row(source.name, inputs, error=message)
    system = report.loaded.hives.get("system")
    failing = sorted({f.rule for f in report.findings if f.level == "error"})
    return Row(source.name, inputs, report.os.name if report.os else None, report.os.build if report.os else None,
               system.control_set if system else None, report.verdict, failing, report.counts,
               computer_name=identify(report.loaded.machine).computer_name,
               undecided=[f"{r.rule}: {r.message}" for r in report.results if r.status == "undecided"],
               findings=[f.to_json() for f in report.findings])


def scan(sources: list[MachineSource], profile: str | Profile, backend: str, jobs: int, logs: bool = True,
         progress: Callable[[Row], None] = lambda row: None) -> list[Row]:
    """Judge every machine (``jobs`` worker processes; 1 = in this process); rows in the order of ``sources``."""
    rows: dict[str, Row] = {}
    if jobs <= 1 or len(sources) <= 1:
        for source in sources:
            rows[source.name] = row = judge(source, profile, backend, logs)
            progress(row)
    else:
        if isinstance(profile, str):
            _profile(profile)  # loaded (with the engine) before the workers start, so that forked workers share it
        with ProcessPoolExecutor(max_workers=min(jobs, len(sources))) as pool:
            futures = {pool.submit(judge, s, profile, backend, logs): s for s in sources}
            for future in as_completed(futures):
                source = futures[future]
                try:
                    row = future.result()
                except Exception as exc:
                    row = Row(source.name, [str(p) for p in source.hives], error=f"worker failed: {exc}")
                rows[source.name] = row
                progress(row)
    return [rows[s.name] for s in sources]


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def render_jsonl(rows: list[Row]) -> str:
    """JSON Lines: one object per machine, for SIEMs."""
    return "".join(json.dumps(r.to_json(), ensure_ascii=True, sort_keys=True) + "\n" for r in rows)


def render_csv(rows: list[Row]) -> str:
    """CSV for spreadsheets: machine, os, build, control set, verdict, failing rules, counts, error."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["machine", "computer_name", "os", "build", "control_set", "verdict", "failing_rules", "errors",
                     "warnings", "undecided", "error", "undecided_why"])
    for r in rows:
        writer.writerow([r.machine, r.computer_name or "", r.os or "", r.build or "", r.control_set or "", r.verdict,
                         " ".join(r.failing), r.counts.get("error", ""), r.counts.get("warning", ""),
                         r.counts.get("undecided", ""), r.error or "", "; ".join(r.undecided)])
    return buf.getvalue()


def rows_table(rows: list[Row], width: int, color: bool) -> str:
    """A summary table: machine, OS, verdict, failing rules (or why the machine could not be read)."""
    from rich.table import Table
    from rich.text import Text

    from analyzer.report import console
    from analyzer.report.check import LEVEL_STYLE

    out, buf = console(width, color)
    table = Table(title="Machines", title_justify="left")
    for col in ("machine", "computer", "OS", "verdict", "failing rules / error / why undecided"):
        table.add_column(col, overflow="fold")
    for r in rows:
        os_name = f"{r.os} ({r.build})" if r.os else ""
        why = r.error or " ".join(r.failing) or ("; ".join(r.undecided) if r.verdict == "undecided" else "")
        table.add_row(r.machine, r.computer_name or "", os_name,
                      Text(r.verdict, style=LEVEL_STYLE.get(r.verdict, "bold red")), why)
    out.print(table)
    verdicts = {v: sum(r.verdict == v for r in rows) for v in ("pass", "fail", "undecided", "unreadable")}
    out.print(", ".join(f"{n} {v}" for v, n in verdicts.items() if n) + f" ({len(rows)} machines)")
    return buf.getvalue()

