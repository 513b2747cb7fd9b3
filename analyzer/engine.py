"""Run the rules a profile selects over a loaded machine and assemble the report."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from analyzer.inputs import InputInfo, Loaded, sha256_file
from analyzer.inputs import load as load_inputs
from analyzer.knowledge import Setting
from analyzer.knowledge.identity import identity_of
from analyzer.knowledge.osinfo import OsInfo
from analyzer.knowledge.state import MachineState, evaluate
from analyzer.machine import Machine
from analyzer.profiles import Profile, adjust, load
from analyzer.rules import FAIL, UNDECIDED, Context, Location, Outcome, listed, load_catalog
from analyzer.sources import Diagnostic, SourceError

LEVEL_ORDER = {"error": 0, "warning": 1, "note": 2}


@dataclass(frozen=True)
class Finding:
    """A problem reported by a rule, at the level the profile gives that rule."""

    rule: str
    level: str
    message: str
    location: Location | None

    def to_json(self) -> dict[str, object]:
        """The report's ``findings`` entry."""
        return {"rule": self.rule, "level": self.level, "message": self.message,
                "location": self.location.to_json() if self.location else None,
                "docs": f"regtls rules show {self.rule}"}

    def sort_key(self) -> tuple[int, str, int, str]:
        """Errors first, then by file, line and rule (a rule's own order is kept)."""
        loc = self.location
        return (LEVEL_ORDER[self.level], (loc.file or "") if loc else "", (loc.line or 0) if loc else 0, self.rule)


@dataclass(frozen=True)
class RuleResult:
    """What one rule concluded about the machine (``input`` names the file when ``lint`` judges files one by one)."""

    rule: str
    name: str
    level: str
    status: str
    message: str
    input: str | None = None

    def to_json(self) -> dict[str, object]:
        """The report's ``results`` entry."""
        out: dict[str, object] = {"rule": self.rule, "name": self.name, "level": self.level, "status": self.status,
                                  "message": self.message}
        if self.input is not None:
            out["input"] = self.input
        return out


@dataclass
class Run:
    """What the CI formats (SARIF, JUnit, GitHub, Markdown) need, from ``check`` or from ``lint``."""

    command: str
    profile: Profile
    inputs: list[InputInfo]
    results: list[RuleResult]
    findings: list[Finding]
    diagnostics: list[Diagnostic]
    verdict: str
    counts: dict[str, int]
    notifications: list[Diagnostic] = field(default_factory=list)
    check: Report | None = None  # the full report, when the run is a ``check``

    def worst(self) -> str | None:
        """The most severe finding level (an unreadable input counts as an error), or None."""
        levels = [f.level for f in self.findings] + ["error" for _ in self.notifications]
        return min(levels, key=LEVEL_ORDER.__getitem__, default=None)


@dataclass(frozen=True)
class WhatIf:
    """What applying the ``.reg`` inputs changes: the verdict, each rule's status and each setting's state."""

    verdict_before: str
    rules: tuple[tuple[str, str, str], ...]  # (rule, status before, status after)
    settings: tuple[tuple[str, str, str], ...]  # (setting id, state before, state after)

    def to_json(self) -> dict[str, object]:
        """The report's ``what_if`` object."""
        return {"verdict_before": self.verdict_before,
                "rules": [{"rule": r, "before": b, "after": a} for r, b, a in self.rules],
                "settings": [{"id": i, "before": b, "after": a} for i, b, a in self.settings]}


@dataclass
class Report:
    """Everything ``regtls check`` found, ready for a formatter."""

    profile: Profile
    loaded: Loaded
    state: MachineState
    settings: list[Setting]
    findings: list[Finding]
    results: list[RuleResult]
    diagnostics: list[Diagnostic]
    verdict: str
    counts: dict[str, int] = field(default_factory=dict)
    what_if: WhatIf | None = None

    @property
    def os(self) -> OsInfo | None:
        """The identified Windows version."""
        return self.state.os

    def worst(self) -> str | None:
        """The most severe finding level, or None without findings."""
        return min((f.level for f in self.findings), key=LEVEL_ORDER.__getitem__, default=None)

    def as_run(self) -> Run:
        """The report as the CI formats see it."""
        return Run("check", self.profile, self.loaded.inputs, self.results, self.findings, self.diagnostics,
                   self.verdict, self.counts, check=self)


def verdict_of(findings: list[Finding], results: list[RuleResult]) -> str:
    """fail with any error finding; else undecided when a requirement could not be decided; else pass."""
    if any(f.level == "error" for f in findings):
        return "fail"
    if any(r.status == UNDECIDED for r in results):
        return "undecided"
    return "pass"


def choose_profile(name: str, select: list[str] | None = None, ignore: list[str] | None = None) -> Profile:
    """A shipped profile or a user's TOML file, with ``--select``/``--ignore`` applied."""
    known = {rule.id: rule.level for rule in load_catalog().values()}
    return adjust(load(name, known), select or [], ignore or [], known)


def run(loaded: Loaded, profile: Profile) -> Report:
    """Evaluate the machine and apply the profile's rules."""
    state = evaluate(loaded.machine)
    catalog = load_catalog()
    ctx = Context(loaded.machine, state, loaded, profile.absence)
    findings: list[Finding] = []
    results: list[RuleResult] = []
    for rule_id in sorted(profile.levels):
        level = profile.levels[rule_id]
        if level == "off":
            continue
        rule = catalog[rule_id]
        try:
            outcome = rule.check(ctx)
        except SourceError as exc:
            outcome = Outcome(UNDECIDED, f"the inputs cannot be read far enough to decide: {exc}")
            state.diagnostics.append(Diagnostic(exc.file or "", None, "error", "unreadable", str(exc)))
        results.append(RuleResult(rule_id, rule.name, level, outcome.status, outcome.message))
        if outcome.status == FAIL:
            findings += [Finding(rule_id, level, hit.message, hit.location) for hit in listed(outcome.hits)]
    findings.sort(key=Finding.sort_key)
    diagnostics = sorted(set(loaded.all_diagnostics() + state.diagnostics + identity_of(loaded.machine)[1]),
                         key=Diagnostic.sort_key)
    return Report(profile, loaded, state, list(state.settings.values()), findings,
                  results, diagnostics, verdict_of(findings, results), count(findings, results))



def count(findings: list[Finding], results: list[RuleResult]) -> dict[str, int]:
    """Findings per level and undecided rules."""
    counts = {level: sum(f.level == level for f in findings) for level in LEVEL_ORDER}
    counts["undecided"] = sum(r.status == UNDECIDED for r in results)
    return counts


def lint(paths: list[Path], profile: Profile, backend: str) -> Run:
    """Judge each ``.reg`` or Registry.pol file on its own, as a change set: what it sets is judged, the rest stays
    undecided.

    A file that cannot be read (or a Registry.pol damaged part way) becomes a notification; the other files
    (and the records before the damage) are still linted.
    """
    inputs: list[InputInfo] = []
    results: list[RuleResult] = []
    findings: list[Finding] = []
    diagnostics: list[Diagnostic] = []
    notifications: list[Diagnostic] = []
    for path in paths:
        try:
            loaded = load_inputs([path], backend)
            if loaded.hives:
                raise SourceError(f"{path}: a hive file; lint reads .reg and Registry.pol files (use regtls check for "
                                  "hives)", str(path))
            report = run(loaded, profile)
            notifications += [replace(d, message=f"{d.file}: {d.message}") for d in loaded.diagnostics
                              if d.code == "pol-malformed"]
        except SourceError as exc:
            notifications.append(Diagnostic(exc.file or str(path), None, "error", "unreadable", str(exc)))
            continue
        inputs += loaded.inputs
        results += [replace(r, input=str(path)) for r in report.results]
        findings += report.findings
        diagnostics += report.diagnostics
    findings.sort(key=Finding.sort_key)
    verdict = "fail" if notifications or any(f.level == "error" for f in findings) else "pass"
    return Run("lint", profile, inputs, results, findings, diagnostics, verdict, count(findings, results),
               notifications)


def compare(before: Report, after: Report) -> WhatIf:
    """The verdict, rule statuses and setting states that differ between two reports."""
    statuses = {r.rule: r.status for r in before.results}
    states = {s.id: s.state for s in before.settings}
    rules = tuple((r.rule, statuses[r.rule], r.status) for r in after.results if statuses.get(r.rule) != r.status)
    settings = tuple((s.id, states.get(s.id, "absent"), s.state) for s in after.settings  # a user a change set adds
                     if states.get(s.id) != s.state)
    return WhatIf(before.verdict, rules, settings)


def check(paths: list[Path], profile: Profile, backend: str, logs: bool = True) -> Report:
    """``regtls check``: the machine from all inputs; with hives and ``.reg`` files, also what the files change.

    Dirty hives are read with their transaction logs replayed, unless ``logs`` is false.
    """
    loaded = load_inputs(paths, backend, logs=logs)
    report = run(loaded, profile)
    if loaded.hives and (loaded.regs or loaded.pols):  # the hives alone, read once: the same hive objects
        hives_only = Machine(loaded.machine.mounts, loaded.machine.control_set)
        hives_only.current_user = loaded.machine.current_user
        before = Loaded(hives_only, [i for i in loaded.inputs if i.kind not in ("reg", "pol")], loaded.hives, [], [],
                        users=loaded.users)
        report.what_if = compare(run(before, profile), report)
    loaded.inputs = [verified(info) for info in loaded.inputs]
    return report


def verified(info: InputInfo) -> InputInfo:
    """The input and its logs with their SHA-256 taken again after reading: evidence must come out unchanged.

    A hive copied out of a disk image is not hashed again: the image is.
    """
    if "extracted_from" in info.details:
        return info
    details = dict(info.details)
    if isinstance(logs := details.get("logs"), list):
        details["logs"] = [{**log, **_hashed_again(Path(str(log["path"])), str(log["sha256"]))} for log in logs]
    return replace(info, details={**details, **_hashed_again(Path(info.path), info.sha256)})


def _hashed_again(path: Path, before: str) -> dict[str, object]:
    """``sha256_after`` of the file now, and whether it is ``unchanged`` from ``before``."""
    after = sha256_file(path)
    return {"sha256_after": after, "unchanged": after == before}
