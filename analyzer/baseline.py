"""Baseline files: the findings accepted once, so that ``--baseline FILE`` reports only new ones."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.engine import Finding

SCHEMA = "regtls.baseline/1"


class BaselineError(Exception):
    """A baseline file that cannot be read; the message is one line naming it."""


def fingerprints(findings: list[Finding], root: Path) -> list[str]:
    """What identifies each finding, not where it is (line numbers left out), with file paths relative to
    ``root`` (the baseline's folder), so the baseline holds when lines move or the command runs elsewhere."""
    from analyzer.report.sarif import _fingerprint

    out = []
    for f in findings:
        file = f.location.file if f.location else None
        where = Path(os.path.relpath(os.path.abspath(file), os.path.abspath(root))).as_posix() if file else ""
        out.append(_fingerprint(f, where))
    return out


def render(findings: list[Finding], root: Path) -> str:
    """The baseline file's JSON text: one entry per finding (rule, file, fingerprint), sorted."""
    entries = sorted({(f.rule, f.location.file if f.location and f.location.file else "", fp, i)
                      for i, (f, fp) in enumerate(zip(findings, fingerprints(findings, root), strict=True))})
    return json.dumps({"schema": SCHEMA, "findings": [{"rule": r, "file": file, "fingerprint": fp}
                                                      for r, file, fp, _ in entries]}, indent=2) + "\n"


def load(path: Path) -> Counter[str]:
    """The fingerprints a baseline file accepts (a finding may be accepted more than once)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not a regtls baseline (JSON): {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("findings"), list):
        raise BaselineError(f"{path}: not a regtls baseline (schema {SCHEMA}); write one with --write-baseline")
    accepted: Counter[str] = Counter()
    for entry in data["findings"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise BaselineError(f"{path}: a baseline entry without a fingerprint")
        accepted[entry["fingerprint"]] += 1
    return accepted


def new_only(findings: list[Finding], path: Path) -> list[Finding]:
    """The findings the baseline at ``path`` does not accept."""
    accepted = load(path)
    kept = []
    for f, fp in zip(findings, fingerprints(findings, path.parent), strict=True):
        if accepted[fp] > 0:
            accepted[fp] -= 1
        else:
            kept.append(f)
    return kept
