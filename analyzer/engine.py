"""Run the rules a profile selects over a loaded machine and assemble the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.inputs import Loaded
from analyzer.knowledge import Setting
from analyzer.knowledge.osinfo import OsInfo
from analyzer.knowledge.state import MachineState, evaluate
from analyzer.profiles import Profile, adjust, load
from analyzer.rules import FAIL, UNDECIDED, Context, Location, Outcome, load_catalog
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
                "location": self.location.to_json() if self.location else None}

    def sort_key(self) -> tuple[int, str, int, str]:
        """Errors first, then by file, line and rule (a rule's own order is kept)."""
        loc = self.location
        return (LEVEL_ORDER[self.level], (loc.file or "") if loc else "", (loc.line or 0) if loc else 0, self.rule)


@dataclass(frozen=True)
class RuleResult:
    """What one rule concluded about the machine."""

    rule: str
    name: str
    level: str
    status: str
    message: str

    def to_json(self) -> dict[str, object]:
        """The report's ``results`` entry."""
        return {"rule": self.rule, "name": self.name, "level": self.level, "status": self.status,
                "message": self.message}


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

    @property
    def os(self) -> OsInfo | None:
        """The identified Windows version."""
        return self.state.os

    def worst(self) -> str | None:
        """The most severe finding level, or None without findings."""
        return min((f.level for f in self.findings), key=LEVEL_ORDER.__getitem__, default=None)


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
            findings += [Finding(rule_id, level, hit.message, hit.location) for hit in outcome.hits]
    findings.sort(key=Finding.sort_key)
    diagnostics = sorted(set(loaded.diagnostics + state.diagnostics), key=Diagnostic.sort_key)
    counts = {level: sum(f.level == level for f in findings) for level in LEVEL_ORDER}
    counts["undecided"] = sum(r.status == UNDECIDED for r in results)
    return Report(profile, loaded, state, list(state.settings.values()), findings,
                  results, diagnostics, verdict_of(findings, results), counts)

