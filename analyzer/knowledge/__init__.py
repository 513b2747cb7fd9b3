"""Microsoft's documented TLS behaviour as data, and small pure functions that read it off a Machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from analyzer.machine import Machine
from analyzer.registry import REG_DWORD, Path, Value, dword, join_path, type_name

HKLM_SOFTWARE: Path = ("HKEY_LOCAL_MACHINE", "SOFTWARE")
WOW64_SOFTWARE: Path = (*HKLM_SOFTWARE, "WOW6432Node")
VIEWS: dict[str, Path] = {"64": HKLM_SOFTWARE, "32": WOW64_SOFTWARE}


@dataclass(frozen=True)
class Evidence:
    """A registry value (or key) a setting rests on, with its file, line and key."""

    file: str
    line: int | None
    key: str
    value: str | None
    control_set: str | None = None
    last_write: datetime | None = None
    offset: int | None = None  # the byte offset of a Registry.pol record

    def to_json(self) -> dict[str, object]:
        """The report's evidence/location object."""
        out: dict[str, object] = {"file": self.file, "line": self.line, "key": self.key, "value": self.value}
        if self.offset is not None:
            out["offset"] = self.offset
        if self.control_set:
            out["control_set"] = self.control_set
        if self.last_write is not None:
            out["key_last_write"] = iso(self.last_write)
        return out

    def where(self) -> str:
        """``file:line`` for a .reg value, ``file (offset N)`` for a Registry.pol one, else the file name."""
        if self.offset is not None:
            return f"{self.file} (offset {self.offset})"
        return f"{self.file}:{self.line}" if self.line is not None else self.file


def iso(moment: datetime) -> str:
    """A UTC time as ISO 8601 with a ``Z`` (microseconds kept: FILETIME has 100 ns steps)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def evidence(machine: Machine, path: Path, value: Value) -> Evidence:
    """Evidence for a value found at ``path`` (the path shown with CurrentControlSet resolved); a value read
    from a hive carries its key's last-write time."""
    written = machine.last_write(path) if value.origin.line is None else None
    written = None if value.origin.offset is not None else written
    return Evidence(value.origin.file, value.origin.line, join_path(machine.resolve(path)), value.name,
                    value.origin.control_set, written, value.origin.offset)


@dataclass(frozen=True)
class Dword:
    """A value that should be a REG_DWORD: present or not, valid or not, and whether absence is known."""

    path: Path
    name: str
    value: Value | None
    known: bool
    damage: str | None = None  # the lost hive entry that leaves an absent value not known

    @property
    def number(self) -> int | None:
        """The DWORD when the value is a 4-byte REG_DWORD, else None."""
        if self.value is None or self.value.type_num != REG_DWORD:
            return None
        return dword(self.value.data)

    @property
    def problem(self) -> str | None:
        """Why a present value is not a usable DWORD (wrong type or size), else None."""
        if self.value is None or self.number is not None:
            return None
        if self.value.type_num != REG_DWORD:
            return f"{self.name} is {type_name(self.value.type_num)}, not REG_DWORD"
        return f"{self.name} is a REG_DWORD of {len(self.value.data)} bytes, not 4"

    def show(self) -> str:
        """``Enabled=1`` style text, or why the value does not count."""
        if self.value is None:
            if self.damage:
                return f"{self.name} not known (damaged hive: {self.damage})"
            return f"{self.name} absent" if self.known else f"{self.name} not known"
        number = self.number
        return self.problem or f"{self.name}={number if number is not None and number < 10 else hex(number or 0)}"


def read_dword(machine: Machine, path: Path, name: str) -> Dword:
    """Read a DWORD-typed setting off the machine; an absent value that a damaged hive may have lost is not known."""
    value, known = machine.value(path, name), machine.known(path, name)
    return Dword(path, name, value, known, None if known or value is not None else machine.damaged(path, name))


@dataclass(frozen=True)
class Setting:
    """The effective state of one setting, where it comes from, and the values it rests on."""

    id: str
    state: str
    source: str
    detail: str
    evidence: tuple[Evidence, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)
    problems: tuple[tuple[Evidence, str], ...] = ()

    def to_json(self) -> dict[str, object]:
        """The report's ``settings`` entry."""
        out: dict[str, object] = {"id": self.id, "state": self.state, "source": self.source,
                                  "detail": self.detail, "evidence": [e.to_json() for e in self.evidence]}
        out.update(self.extra)
        return out


def dword_evidence(machine: Machine, readings: tuple[Dword, ...]) -> tuple[tuple[Evidence, ...],
                                                                           tuple[tuple[Evidence, str], ...]]:
    """Evidence for the present readings, and the wrong-type/size problems among them."""
    found = tuple((evidence(machine, r.path, r.value), r.problem) for r in readings if r.value is not None)
    return tuple(e for e, _ in found), tuple((e, p) for e, p in found if p)
