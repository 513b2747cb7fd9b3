"""Formats of ``regtls lint``: JSON (schema ``regtls.lint/1``) and a compact text listing."""

from __future__ import annotations

from analyzer import __version__
from analyzer.engine import Run
from analyzer.report import to_json

SCHEMA = "regtls.lint/1"


def render_json(run: Run) -> str:
    """Every finding, per-file rule results, reader diagnostics and unreadable inputs."""
    return to_json({
        "schema": SCHEMA,
        "tool": {"name": "regtls", "version": __version__},
        "inputs": [i.to_json() for i in run.inputs],
        "findings": [f.to_json() for f in run.findings],
        "results": [r.to_json() for r in run.results],
        "diagnostics": [d.to_json() for d in run.diagnostics],
        "notifications": [{"file": d.file, "message": d.message} for d in run.notifications],
        "summary": {"profile": run.profile.name, "verdict": run.verdict, "counts": run.counts},
    })


def render_text(run: Run) -> str:
    """One line per finding, compiler style: ``file:line:column: level RULE message [regtls rules show RULE]``.

    A finding about a whole file (no line) points at its first line, so every line starts ``file:line:col:``; a
    finding in a Registry.pol (a binary file, without lines) starts ``file (offset N):``, its record's byte offset.
    """
    lines = []
    for f in sorted(run.findings, key=lambda f: (f.location.file or "", f.location.line or 0, f.location.column or 0)
                    if f.location else ("", 0, 0)):
        loc = f.location
        if loc and loc.file and loc.offset is not None:  # a Registry.pol record has a byte offset, no line
            where = f"{loc.file} (offset {loc.offset})"
        else:
            where = f"{loc.file}:{loc.line or 1}:{loc.column or 1}" if loc and loc.file else "-:1:1"
        lines.append(f"{where}: {f.level} {f.rule} {f.message} [regtls rules show {f.rule}]")
    lines += [f"{d.file}:1:1: error unreadable {d.message}" for d in run.notifications]
    return "\n".join(lines) + ("\n" if lines else "")


def summary_line(run: Run) -> str:
    """Verdict and counts for stderr."""
    c = run.counts
    files = len({i.path for i in run.inputs} | {d.file for d in run.notifications})
    return (f"{run.verdict}: {c['error']} errors, {c['warning']} warnings, {c['note']} notes in {files} file(s)"
            + (f", {len(run.notifications)} unreadable" if run.notifications else ""))
