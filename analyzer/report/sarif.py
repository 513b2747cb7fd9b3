"""SARIF 2.1.0 for ``check`` and ``lint``: the whole rule catalog, line-precise results and stable fingerprints."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path, PurePath
from urllib.parse import quote

from analyzer import __version__
from analyzer.engine import Finding, Run
from analyzer.report import to_json
from analyzer.rules import Location, Rule, load_catalog
from analyzer.rules.docs import help_uri, sections
from analyzer.rules.docs import render as render_doc
from analyzer.sources import Diagnostic

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "SRCROOT"
FINGERPRINT = "regtls/v1"
_LINE_REF = re.compile(r"\bline \d+")


def relative_path(path: str, cwd: Path) -> str | None:
    """``path`` relative to ``cwd`` with forward slashes, or None when it does not lie below ``cwd``."""
    try:
        rel = os.path.relpath(os.path.normpath(os.path.join(cwd, path)), cwd)
    except ValueError:  # another drive (Windows)
        return None
    parts = PurePath(rel).parts
    if not parts or parts[0] in (os.curdir, os.pardir):
        return None
    return PurePath(rel).as_posix()


def artifact_location(path: str, cwd: Path, index: int | None = None) -> dict[str, object]:
    """A SARIF ``artifactLocation``: a percent-encoded URI relative to SRCROOT, else an absolute file URI."""
    rel = relative_path(path, cwd)
    out: dict[str, object]
    if rel is not None:
        out = {"uri": quote(os.fsencode(rel), safe="/"), "uriBaseId": SRCROOT}
    else:
        out = {"uri": Path(os.path.normpath(os.path.join(cwd, path))).as_uri()}
    if index is not None:
        out["index"] = index
    return out


def notifications(run: Run) -> list[Diagnostic]:
    """Unreadable inputs, then the reader diagnostics that no finding reports: errors, and warnings about a whole
    input (a dirty hive read without its logs, a truncated hive...). Every CI format shows them."""
    reported = {(f.location.file, f.location.line, f.location.column, f.message) for f in run.findings
                if f.location is not None}
    unreported = [d for d in run.diagnostics if (d.level == "error" or (d.level == "warning" and d.line is None))
                  and (d.file, d.line, d.column, d.message) not in reported]
    return list(run.notifications) + sorted(unreported, key=Diagnostic.sort_key)


def _markdown_help(rule: Rule) -> str:
    parts = [f"**{rule.id} {rule.name}** (default level: {rule.level})", "", rule.summary, ""]
    for name, body in sections(rule).items():
        parts += [f"#### {name}", ""]
        parts += (["```reg", body, "```"] if name in ("Non-compliant", "Compliant") else [body]) + [""]
    return "\n".join(parts).rstrip() + "\n"


def rule_descriptor(rule: Rule) -> dict[str, object]:
    """A ``reportingDescriptor`` from a rule's declaration and documentation."""
    what = " ".join(sections(rule).get("What it checks", rule.summary).split())
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": what},
        "help": {"text": render_doc(rule) + f"\nregtls rules show {rule.id}\n",
                 "markdown": _markdown_help(rule) + f"\n`regtls rules show {rule.id}`\n"},
        **({"helpUri": uri} if (uri := help_uri(rule)) else {}),
        "defaultConfiguration": {"level": rule.level},
        "properties": {"tags": [rule.id.rstrip("0123456789")]},
    }


def registry_path(loc: Location) -> str | None:
    """The key of a location, with ``\\value`` (``(Default)`` for the unnamed value) when it names a value."""
    if not loc.key:
        return None
    return f"{loc.key}\\{loc.value or '(Default)'}" if loc.value is not None else loc.key


def _logical(loc: Location) -> list[dict[str, object]]:
    """The registry key, or value, as a logical location."""
    path = registry_path(loc)
    if path is None:
        return []
    return [{"name": path.rsplit("\\", 1)[-1], "fullyQualifiedName": path,
             "kind": "namespace" if loc.value is None else "member"}]


def _fingerprint(finding: Finding, uri: str) -> str:
    """SHA-256 of what identifies a finding, not where it is: line numbers (also in messages) are left out."""
    loc = finding.location
    parts = [finding.rule, uri, loc.key if loc else None, loc.value if loc else None,
             _LINE_REF.sub("line #", finding.message)]
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


def _result(finding: Finding, index: dict[str, int], artifacts: dict[str, int], cwd: Path) -> dict[str, object]:
    out: dict[str, object] = {"ruleId": finding.rule}
    if finding.rule in index:
        out["ruleIndex"] = index[finding.rule]
    out.update(level=finding.level, message={"text": finding.message})
    loc = finding.location
    if loc is None:
        return out
    location: dict[str, object] = {}
    if loc.file:
        physical: dict[str, object] = {"artifactLocation": artifact_location(loc.file, cwd, artifacts.get(loc.file))}
        if loc.line is not None:
            region: dict[str, object] = {"startLine": loc.line}
            if loc.column is not None:
                region["startColumn"] = loc.column
            physical["region"] = region
        elif loc.offset is not None:  # a Registry.pol record
            physical["region"] = {"byteOffset": loc.offset}
        location["physicalLocation"] = physical
    if logical := _logical(loc):
        location["logicalLocations"] = logical
    if location:
        out["locations"] = [location]
    return out


def _notification(d: Diagnostic, cwd: Path) -> dict[str, object]:
    out: dict[str, object] = {"level": d.level, "message": {"text": d.message}, "descriptor": {"id": d.code}}
    if d.file:
        physical: dict[str, object] = {"artifactLocation": artifact_location(d.file, cwd)}
        if d.line is not None:
            physical["region"] = {"startLine": d.line, **({"startColumn": d.column} if d.column else {})}
        out["locations"] = [{"physicalLocation": physical}]
    return out


def as_sarif(run: Run, cwd: Path) -> dict[str, object]:
    """The SARIF log of ``run``, with paths relative to ``cwd``."""
    catalog = sorted(load_catalog().values(), key=lambda r: r.id)
    index = {rule.id: i for i, rule in enumerate(catalog)}
    artifacts = {info.path: i for i, info in enumerate(run.inputs)}
    results = []
    seen: Counter[str] = Counter()
    for finding in run.findings:
        result = _result(finding, index, artifacts, cwd)
        file = finding.location.file if finding.location else None
        digest = _fingerprint(finding, str(artifact_location(file, cwd)["uri"]) if file else "")
        seen[digest] += 1
        result["partialFingerprints"] = {FINGERPRINT: f"{digest}:{seen[digest]}"}
        results.append(result)
    problems = notifications(run)
    notes = [_notification(d, cwd) for d in problems]
    root = cwd.as_uri()
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "regtls", "version": __version__, "semanticVersion": __version__,
                                "rules": [rule_descriptor(rule) for rule in catalog]}},
            "invocations": [{"executionSuccessful": all(d.level != "error" for d in problems),
                             "toolExecutionNotifications": notes}],
            "originalUriBaseIds": {SRCROOT: {"uri": root if root.endswith("/") else root + "/"}},
            "artifacts": [{"location": artifact_location(info.path, cwd), "hashes": {"sha-256": info.sha256},
                           "properties": {"kind": info.kind}} for info in run.inputs],
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": {"command": run.command, "profile": run.profile.name, "verdict": run.verdict,
                           "counts": run.counts},
        }],
    }


def render(run: Run) -> str:
    """SARIF JSON text, paths relative to the current working directory."""
    return to_json(as_sarif(run, Path.cwd()))
