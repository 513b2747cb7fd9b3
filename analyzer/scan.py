"""Fleets: judge many machines in isolated worker processes; one broken machine never stops the scan."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.sources.folder import MachineSource

if TYPE_CHECKING:
    from analyzer.profiles import Profile


@dataclass(frozen=True)
class Row:
    """One machine's result: what it is, its verdict and failing rules, or why it could not be read.

    ``id`` is stable and unique (``folder:PATH``, ``files:PATH``, ``image:SPEC``, ``collection:ZIP``); two
    rows never share it.  ``findings`` are the engine's findings, ``settings`` the effective states
    (``id``, ``state``, ``source``, ``detail``), ``diagnostics`` what reading the inputs noticed, and
    ``warnings`` counts the warning findings and warning diagnostics.
    """

    machine: str
    inputs: list[str]
    os: str | None = None
    build: int | None = None
    control_set: str | None = None
    verdict: str = "unreadable"
    failing: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    id: str = ""
    findings: list[dict[str, object]] = field(default_factory=list)
    settings: list[dict[str, object]] = field(default_factory=list)
    diagnostics: list[dict[str, object]] = field(default_factory=list)
    warnings: int = 0
    users_tls_off: int | None = None  # users whose WinINet keeps neither TLS 1.2 nor 1.3 (None: no user hives)
    computer_name: str | None = None
    undecided: list[str] = field(default_factory=list)  # why: "RULE: reason" of each undecided requirement

    def to_json(self, settings: bool = True) -> dict[str, object]:
        """The ``regtls.scan/1`` object of one machine (one JSON Lines record; ``settings`` may be left out)."""
        out = {"schema": SCHEMA, **asdict(self)}
        if not settings:
            del out["settings"]
        return out

    @property
    def transient(self) -> bool:
        """Whether the row records a failure of the worker rather than of the machine (tried again on a rerun)."""
        return bool(self.error) and str(self.error).startswith(TRANSIENT)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Row:
        """The row a ``regtls.scan/1`` object describes (what :meth:`to_json` wrote)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})  # type: ignore[arg-type]


SCHEMA = "regtls.scan/1"
TRANSIENT = ("worker ", "timed out after ")


@functools.cache
def _named(name: str) -> Profile:
    from analyzer.engine import choose_profile

    return choose_profile(name)


def _profile(profile: str | Profile) -> Profile:
    """The profile (a name is loaded once per process: a worker judges many machines with it); a Profile object
    (``--select``/``--ignore`` applied) is used as it is."""
    return _named(profile) if isinstance(profile, str) else profile


_BACKEND_MODULES = {"python-registry": "analyzer.sources.backend_pyregistry",
                    "regipy": "analyzer.sources.backend_regipy"}


def warm(profile: str | Profile, backend: str) -> None:
    """Load the profile, the engine and the hive library now, so that every forked worker shares them."""
    import importlib

    _profile(profile)
    if backend in _BACKEND_MODULES:
        importlib.import_module(_BACKEND_MODULES[backend])


def failed_row(source: MachineSource, why: str) -> Row:
    """The row of a machine that could not be judged, saying why."""
    return Row(source.name, [str(p) for p in source.hives], error=why, id=source.id,
               diagnostics=[{"file": source.name, "level": "error", "code": "unreadable", "message": why}])


def judge(source: MachineSource, profile: str | Profile, backend: str, logs: bool = True) -> Row:
    """Judge one machine; any failure becomes the row's ``error`` (this runs in a worker process)."""
    if source.problem is not None:
        return failed_row(source, source.problem)
    try:
        with source.opened() as (paths, shown):
            return _judged(source, paths, profile, backend, logs, shown)
    except Exception as exc:
        return failed_row(source, " ".join(str(exc).split()) or type(exc).__name__)


def _judged(source: MachineSource, paths: list[Path], profile: str | Profile, backend: str, logs: bool,
            shown: Callable[[str], str]) -> Row:
    from analyzer.engine import check as run_check
    from analyzer.knowledge.identity import identify
    from analyzer.sources.users import users_tls_off

    report = run_check(paths, _profile(profile), backend, logs)
    system = report.loaded.hives.get("system")
    failing = sorted({f.rule for f in report.findings if f.level == "error"})
    diagnostics: list[dict[str, object]] = [
        {"file": shown(d.file), "level": d.level, "code": d.code, "message": shown(d.message)}
        for d in report.diagnostics]
    findings = [_shown(f.to_json(), shown) for f in report.findings]
    settings: list[dict[str, object]] = [
        {"id": s.id, "state": s.state, "source": s.source, "detail": shown(s.detail)} for s in report.settings]
    warnings = sum(f.level == "warning" for f in report.findings) + sum(d["level"] == "warning" for d in diagnostics)
    return Row(source.name, [shown(i.path) for i in report.loaded.inputs], report.os.name if report.os else None,
               report.os.build if report.os else None, system.control_set if system else None, report.verdict,
               failing, report.counts, None, source.id, findings, settings, diagnostics, warnings,
               users_tls_off=users_tls_off(report.settings) if report.loaded.users else None,
               computer_name=identify(report.loaded.machine).computer_name,
               undecided=[f"{r.rule}: {r.message}" for r in report.results if r.status == "undecided"])


def _shown(data: dict[str, object], shown: Callable[[str], str]) -> dict[str, object]:
    """A finding's JSON with every file name as the report shows it (a temporary copy under its evidence name)."""
    out: dict[str, object] = {}
    for key, value in data.items():
        out[key] = shown(value) if isinstance(value, str) else _shown(value, shown) if isinstance(value, dict) \
            else value
    return out


def scan(sources: list[MachineSource], profile: str | Profile, backend: str, jobs: int, logs: bool = True,
         progress: Callable[[Row], None] = lambda row: None, timeout: float | None = None) -> list[Row]:
    """Judge every machine, each in a forked worker (at most ``jobs`` at once); rows in the order of ``sources``.

    A worker that dies is replaced and its machine tried once more; a machine past ``timeout`` seconds is
    stopped; either way only that machine's row says so.
    """
    from analyzer import workers

    rows: dict[int, Row] = {}

    def done(index: int, row: Row) -> None:
        rows[index] = row
        progress(row)

    warm(profile, backend)
    workers.run(sources, functools.partial(judge, profile=profile, backend=backend, logs=logs), jobs, failed_row,
                done, timeout)
    return [rows[i] for i in range(len(sources))]


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def render_jsonl(rows: list[Row]) -> str:
    """JSON Lines: one object per machine, for SIEMs (without ``settings``, to stay one short line; the
    ``json`` format and the database carry them)."""
    return "".join(json.dumps(r.to_json(settings=False), ensure_ascii=True, sort_keys=True) + "\n" for r in rows)


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

    from analyzer.registry import printable
    from analyzer.report import console
    from analyzer.report.check import LEVEL_STYLE

    out, buf = console(width, color)
    table = Table(title="Machines", title_justify="left")
    for col in ("machine", "computer", "OS", "verdict", "failing rules / error / why undecided"):
        table.add_column(col, overflow="fold")
    for r in rows:
        os_name = f"{r.os} ({r.build})" if r.os else ""
        why = r.error or " ".join(r.failing) or ("; ".join(r.undecided) if r.verdict == "undecided" else "")
        table.add_row(printable(r.machine), printable(r.computer_name or ""), printable(os_name),
                      Text(r.verdict, style=LEVEL_STYLE.get(r.verdict, "bold red")), printable(why))
    out.print(table)
    verdicts = {v: sum(r.verdict == v for r in rows) for v in ("pass", "fail", "undecided", "unreadable")}
    out.print(", ".join(f"{n} {v}" for v, n in verdicts.items() if n) + f" ({len(rows)} machines)")
    return buf.getvalue()

