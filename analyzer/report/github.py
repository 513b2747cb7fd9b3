"""GitHub Actions workflow commands (``::error file=...,line=...::message``), one per finding and unreadable input."""

from __future__ import annotations

from pathlib import Path

from analyzer.engine import Finding, Run
from analyzer.report.sarif import notifications, relative_path
from analyzer.rules import load_catalog
from analyzer.sources import Diagnostic

COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(text: str) -> str:
    """A command's message, escaped as GitHub's runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (file, title...), escaped as GitHub's runner unescapes it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, properties: dict[str, object]) -> str:
    """One workflow command line; properties whose value is None are left out."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{COMMAND[level]}{' ' + props if props else ''}::{escape_data(message)}"


def _file(path: str | None, cwd: Path) -> str | None:
    if not path:
        return None
    return relative_path(path, cwd) or Path(path).as_posix()


def _finding(finding: Finding, names: dict[str, str], cwd: Path) -> str:
    loc = finding.location
    title = f"{finding.rule} {names[finding.rule]}" if finding.rule in names else finding.rule
    return command(finding.level, f"{finding.message} (regtls rules show {finding.rule})",
                   {"file": _file(loc.file if loc else None, cwd), "line": loc.line if loc else None,
                    "col": loc.column if loc and loc.line is not None else None, "title": title})


def _notification(d: Diagnostic, cwd: Path) -> str:
    return command(d.level, d.message, {"file": _file(d.file, cwd), "line": d.line,
                                        "col": d.column if d.line is not None else None})


def as_lines(run: Run, cwd: Path) -> list[str]:
    """The workflow commands of ``run``, file paths relative to ``cwd``."""
    names = {rule.id: rule.name for rule in load_catalog().values()}
    return [_finding(f, names, cwd) for f in run.findings] + [_notification(d, cwd) for d in notifications(run)]


def render(run: Run) -> str:
    """One workflow command per line, paths relative to the current working directory."""
    lines = as_lines(run, Path.cwd())
    return "\n".join(lines) + ("\n" if lines else "")
