"""JUnit XML for ``check`` and ``lint``: a testsuite per input, a testcase per input and rule."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from analyzer.engine import LEVEL_ORDER, Finding, RuleResult, Run
from analyzer.report.sarif import notifications, registry_path
from analyzer.rules import NOT_APPLICABLE, UNDECIDED, Location, load_catalog
from analyzer.sources import Diagnostic

MACHINE = "machine"
# characters XML 1.0 cannot carry, even escaped
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` with characters XML cannot hold written as ``\\xNN`` / ``\\uNNNN``."""
    return _INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        text)


def describe(loc: Location | None, level: str, message: str) -> list[str]:
    """``file:line:column: level: message``, then the registry key indented on its own line."""
    where = loc.where() if loc is not None and loc.file else MACHINE
    key = registry_path(loc) if loc is not None else None
    return [f"{where}: {level}: {message}"] + ([f"    {key}"] if key else [])


def _suite(parent: ET.Element, name: str, properties: dict[str, str]) -> ET.Element:
    suite = ET.SubElement(parent, "testsuite", name=clean(name))
    if properties:
        props = ET.SubElement(suite, "properties")
        for key, value in properties.items():
            ET.SubElement(props, "property", name=key, value=clean(value))
    return suite


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=clean(classname), name=clean(name))


def _failure(case: ET.Element, findings: list[Finding]) -> None:
    level = min((f.level for f in findings), key=LEVEL_ORDER.__getitem__)
    message = "; ".join(dict.fromkeys(f.message for f in findings))
    failure = ET.SubElement(case, "failure", type=level, message=clean(message))
    failure.text = clean("\n".join([*(line for f in findings for line in describe(f.location, f.level, f.message)),
                                    f"docs: regtls rules show {findings[0].rule}"]))


def _error(case: ET.Element, diagnostics: list[Diagnostic]) -> None:
    """An ``<error>`` when an input could not be read; warnings alone go to the case's ``<system-err>``."""
    text = clean("\n".join(line for d in diagnostics for line in
                           describe(Location(d.file or None, d.line, d.key, None, d.column), d.level, d.message)))
    errors = [d for d in diagnostics if d.level == "error"]
    if not errors:
        ET.SubElement(case, "system-err").text = text
        return
    error = ET.SubElement(case, "error", type=errors[0].code,
                          message=clean("; ".join(dict.fromkeys(d.message for d in errors))))
    error.text = text


def _rule_case(suite: ET.Element, classname: str, result: RuleResult, findings: list[Finding]) -> None:
    case = _case(suite, classname, f"{result.rule} {result.name}")
    if findings:
        _failure(case, findings)
    elif result.status in (UNDECIDED, NOT_APPLICABLE):
        ET.SubElement(case, "skipped", message=clean(f"{result.status}: {result.message}"))


def _count(element: ET.Element) -> dict[str, int]:
    cases = list(element.iter("testcase"))
    return {"tests": len(cases), "failures": sum(c.find("failure") is not None for c in cases),
            "errors": sum(c.find("error") is not None for c in cases),
            "skipped": sum(c.find("skipped") is not None for c in cases)}


def as_xml(run: Run) -> ET.Element:
    """The ``<testsuites>`` element of ``run``."""
    paths = [info.path for info in run.inputs]
    by_input: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in run.findings:
        file = finding.location.file if finding.location else None
        by_input[(file if file in paths else MACHINE, finding.rule)].append(finding)
    problems: dict[str, list[Diagnostic]] = defaultdict(list)
    for diagnostic in notifications(run):
        problems[diagnostic.file].append(diagnostic)
    root = ET.Element("testsuites", name=clean(f"regtls {run.command} (profile {run.profile.name})"))
    for info in run.inputs:
        suite = _suite(root, info.path, {"kind": info.kind, "sha256": info.sha256})
        if info.path in problems:
            _error(_case(suite, info.path, "read input"), problems.pop(info.path))
        for result in run.results:
            if result.input in (None, info.path):
                _rule_case(suite, info.path, result, by_input.pop((info.path, result.rule), []))
    if by_input:  # findings without a file, or in a file that is not an input
        names = {r.rule: r for r in run.results}
        catalog = load_catalog()
        suite = _suite(root, MACHINE, {})
        for (place, rule), findings in sorted(by_input.items()):
            result = names.get(rule) or RuleResult(rule, catalog[rule].name if rule in catalog else "", "", "fail", "")
            _rule_case(suite, place, result, findings)
    for file, diagnostics in sorted(problems.items()):
        suite = _suite(root, file or MACHINE, {})
        _error(_case(suite, file or MACHINE, "read input"), diagnostics)
    for suite in root.iter("testsuite"):
        suite.attrib.update({k: str(v) for k, v in _count(suite).items()})
    root.attrib.update({k: str(v) for k, v in _count(root).items()})
    return root


def render(run: Run) -> str:
    """JUnit XML text (UTF-8 declaration, two-space indent, a final newline)."""
    root = as_xml(run)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
