"""The rule catalog: each rule is a small declaration with a stable ID and a check over effective states.

A rule's docstring is its documentation, with the sections *What it checks*, *Why*, *Non-compliant*,
*Compliant*, *When absent* and *References*; its first line is the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analyzer.knowledge import Evidence, Setting
from analyzer.machine import Machine
from analyzer.registry import Path, join_path

if TYPE_CHECKING:
    from analyzer.inputs import Loaded
    from analyzer.knowledge.osinfo import OsInfo
    from analyzer.knowledge.state import MachineState

PASS, FAIL, UNDECIDED, NOT_APPLICABLE = "pass", "fail", "undecided", "not-applicable"
LEVELS = ("error", "warning", "note")


@dataclass(frozen=True)
class Location:
    """Where a finding points: a ``.reg`` line and column, or a hive file, with key and value."""

    file: str | None
    line: int | None = None
    key: str | None = None
    value: str | None = None
    column: int | None = None
    offset: int | None = None  # the byte offset of a Registry.pol record

    def to_json(self) -> dict[str, object]:
        """The report's ``location`` object."""
        out: dict[str, object] = {"file": self.file, "line": self.line, "key": self.key, "value": self.value}
        if self.column is not None:
            out["column"] = self.column
        if self.offset is not None:
            out["offset"] = self.offset
        return out

    def where(self) -> str:
        """``file:line:column`` (what is known of it), or ``file (offset N)`` in a Registry.pol."""
        if self.offset is not None:
            return f"{self.file} (offset {self.offset})"
        parts = [str(p) for p in (self.file, self.line, self.column) if p is not None]
        return ":".join(parts)

    @classmethod
    def of(cls, ev: Evidence) -> Location:
        """The location of a piece of evidence."""
        return cls(ev.file, ev.line, ev.key, ev.value, offset=ev.offset)


@dataclass(frozen=True)
class Hit:
    """One problem a rule found."""

    message: str
    location: Location | None = None


LISTED = 100  # findings listed per rule; a flood past it ends in one finding that counts the rest


def listed(hits: tuple[Hit, ...]) -> tuple[Hit, ...]:
    """The first :data:`LISTED` hits, and past them one hit at the next that counts those not listed."""
    if len(hits) <= LISTED:
        return hits
    first = hits[LISTED]
    return (*hits[:LISTED], Hit(f"{len(hits) - LISTED} more finding(s) of this rule are not listed; the first of them: "
                                f"{first.message}", first.location))


@dataclass(frozen=True)
class Outcome:
    """What a rule concluded: its status, a one-line message, and the problems behind a failure."""

    status: str
    message: str
    hits: tuple[Hit, ...] = ()


@dataclass
class Context:
    """What rules read: the machine, its evaluated state, the inputs, and the profile's absence policy."""

    machine: Machine
    state: MachineState
    loaded: Loaded
    absence: str = "os-default"

    @property
    def os(self) -> OsInfo | None:
        """The identified Windows version."""
        return self.state.os

    @property
    def settings(self) -> dict[str, Setting]:
        """The effective settings by id."""
        return self.state.settings

    def location(self, path: Path, value: str | None = None) -> Location:
        """The location of a key (and value): its ``.reg`` line if a change set made it, else its hive."""
        found = self.machine.value(path, value) if value is not None else None
        origin = found.origin if found is not None else self.machine.key_origin(path)
        if origin is not None:
            return Location(origin.file, origin.line, join_path(self.machine.resolve(path)), value, origin.column,
                            origin.offset)
        return Location(self.machine.source_of(path), None, join_path(self.machine.resolve(path)), value)

    def setting_location(self, setting: Setting, path: Path, value: str | None = None) -> Location:
        """The first evidence of a setting, else the key the setting lives in."""
        return Location.of(setting.evidence[0]) if setting.evidence else self.location(path, value)


Check = Callable[[Context], Outcome]


@dataclass(frozen=True)
class Rule:
    """A rule: stable ID, kebab-case name, default level, documentation and check."""

    id: str
    name: str
    level: str
    doc: str
    check: Check = field(compare=False)

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return self.doc.strip().splitlines()[0]


CATALOG: dict[str, Rule] = {}


def rule(rule_id: str, name: str, level: str) -> Callable[[Check], Check]:
    """Register a check function as a rule; its docstring is the rule's documentation."""

    def register(check: Check) -> Check:
        assert rule_id not in CATALOG, f"duplicate rule id {rule_id}"
        assert level in LEVELS
        CATALOG[rule_id] = Rule(rule_id, name, level, check.__doc__ or "", check)
        return check

    return register


Part = tuple[str, Hit | None]


def combine(parts: Iterable[Part], ok: str) -> Outcome:
    """Fold per-part statuses: any failure fails, else any undecided part leaves the rule undecided."""
    parts = list(parts)
    failed = [h for s, h in parts if s == FAIL and h is not None]
    if failed:
        return Outcome(FAIL, "; ".join(h.message for h in failed), tuple(failed))
    undecided = [h for s, h in parts if s == UNDECIDED and h is not None]
    if undecided:
        return Outcome(UNDECIDED, "; ".join(h.message for h in undecided))
    return Outcome(PASS, ok)


def load_catalog() -> dict[str, Rule]:
    """Import every rule family so that the catalog is complete."""
    from analyzer.rules import ciphers, crosscheck, dotnet, reg, schannel, updates, winhttp, wininet  # noqa: F401

    return CATALOG
