"""Narrow a report to the findings that count: not silenced inline, not accepted by a baseline; recount."""

from __future__ import annotations

from pathlib import Path

from analyzer.baseline import new_only
from analyzer.engine import Finding, Report, Run, count, verdict_of
from analyzer.suppress import unsuppressed


def kept(findings: list[Finding], baseline: Path | None) -> list[Finding]:
    """The findings that are neither suppressed by a ``; regtls: ignore[...]`` comment nor in the baseline."""
    out = unsuppressed(findings)
    return new_only(out, baseline) if baseline is not None else out


def narrow_report(report: Report, baseline: Path | None) -> int:
    """Drop the suppressed and baselined findings of a ``check`` report; returns how many were dropped."""
    findings = kept(report.findings, baseline)
    dropped = len(report.findings) - len(findings)
    report.findings = findings
    report.counts = count(findings, report.results)
    report.verdict = verdict_of(findings, report.results)
    return dropped


def narrow_run(run: Run, baseline: Path | None) -> int:
    """Drop the suppressed and baselined findings of a ``lint`` run; returns how many were dropped."""
    findings = kept(run.findings, baseline)
    dropped = len(run.findings) - len(findings)
    run.findings = findings
    run.counts = count(findings, run.results)
    run.verdict = "fail" if run.notifications or any(f.level == "error" for f in findings) else "pass"
    return dropped
