"""Schannel protocol defaults per Windows version and the effective state of each protocol and role.

Sources (tls-facts.md): §1.3-§1.4 for ``Enabled``/``DisabledByDefault``; §2.1 for the per-OS defaults
([MS-PROTO], "Protocols in TLS/SSL (Schannel SSP)", revision 2025-03-20).

Microsoft's table says a supported protocol is "Enabled" or "Disabled" by default.  "Disabled" there
means supported but not offered unless an application asks for it: KB245030 turns such a protocol on
by setting only ``DisabledByDefault``=0, and applications that request TLS 1.2 explicitly can use it
on Windows 7 without registry changes.  regtls therefore reports such a default as ``not-default``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analyzer.knowledge import Dword, Setting, dword_evidence, read_dword
from analyzer.knowledge.osinfo import OsInfo
from analyzer.machine import Machine
from analyzer.registry import Path

SCHANNEL: Path = ("HKEY_LOCAL_MACHINE", "SYSTEM", "CurrentControlSet", "Control", "SecurityProviders",
                  "SCHANNEL")
PROTOCOLS_KEY: Path = (*SCHANNEL, "Protocols")
TLS_PROTOCOLS = ("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
ROLES = ("Client", "Server")

ENABLED, NOT_DEFAULT, DISABLED, UNSUPPORTED, UNKNOWN = "enabled", "not-default", "disabled", "unsupported", "unknown"
_E, _N, _U = ENABLED, NOT_DEFAULT, UNSUPPORTED


@dataclass(frozen=True)
class DefaultRow:
    """One row of [MS-PROTO]'s table: which builds it covers and each TLS version's default."""

    label: str
    covers: Callable[[int, bool], bool]
    tls: tuple[str, str, str, str]  # TLS 1.0, 1.1, 1.2, 1.3 (the same for Client and Server)
    note: str = ""


DEFAULTS: tuple[DefaultRow, ...] = (
    DefaultRow("Windows Vista / Server 2008 before SP2", lambda b, s: 6000 <= b < 7600 and not (s and b >= 6002),
               (_E, _U, _U, _U)),
    DefaultRow("Windows Server 2008 SP2", lambda b, s: s and 6002 <= b < 7600, (_E, _N, _N, _U),
               "TLS 1.1 and 1.2 exist only after KB4019276"),
    DefaultRow("Windows 7 / Server 2008 R2", lambda b, s: 7600 <= b < 9200, (_E, _N, _N, _U)),
    DefaultRow("Windows 8 / Server 2012", lambda b, s: 9200 <= b < 9600, (_E, _E, _E, _U)),
    DefaultRow("Windows 8.1 / Server 2012 R2", lambda b, s: 9600 <= b < 10240, (_E, _E, _E, _U)),
    DefaultRow("Windows 10 1507-22H2 / Server 2016 / Server 2019",
               lambda b, s: 10240 <= b < (20348 if s else 22000), (_E, _E, _E, _U)),
    DefaultRow("Windows Server 2022", lambda b, s: s and 20348 <= b < 26100, (_E, _E, _E, _E)),
    DefaultRow("Windows 11", lambda b, s: not s and b >= 22000, (_E, _E, _E, _E)),
    DefaultRow("Windows Server 2025", lambda b, s: s and b >= 26100, (_E, _E, _E, _E)),
)


def default_row(os: OsInfo) -> DefaultRow | None:
    """The row of the defaults table for this OS, or None before Windows Vista."""
    return next((row for row in DEFAULTS if row.covers(os.build, os.server)), None)


def default_state(os: OsInfo | None, protocol: str) -> str | None:
    """The documented default of a TLS version (the same for both roles), or None when not known."""
    row = default_row(os) if os else None
    return row.tls[TLS_PROTOCOLS.index(protocol)] if row else None


def _default_text(os: OsInfo | None, default: str | None) -> str:
    if os is None:
        return "OS default not known (no SOFTWARE hive to identify the OS)"
    row = default_row(os)
    if row is None:
        return f"no documented default for {os.name}"
    return f"{os.name} default: {default}" + (f" ({row.note})" if row.note else "")


def effective(enabled: Dword, disabled_by_default: Dword, default: str | None) -> tuple[str, str]:
    """(state, source) from the two values (tls-facts.md §1.4) and the OS default."""
    if enabled.number == 0:
        return DISABLED, "explicit"
    if default == UNSUPPORTED:
        return UNSUPPORTED, "os-default"
    if enabled.number is None and not enabled.known:
        return UNKNOWN, "unknown"
    explicit = enabled.number is not None
    if disabled_by_default.number is not None:
        return (ENABLED if disabled_by_default.number == 0 else NOT_DEFAULT), "explicit"
    if not disabled_by_default.known or default is None:
        return UNKNOWN, "explicit" if explicit else "unknown"
    return default, "explicit" if explicit else "os-default"


def protocol_setting(machine: Machine, os: OsInfo | None, protocol: str, role: str) -> Setting:
    """The effective state of one protocol and role, e.g. ``schannel/TLS 1.2/Client``."""
    key = (*PROTOCOLS_KEY, protocol, role)
    enabled, dbd = read_dword(machine, key, "Enabled"), read_dword(machine, key, "DisabledByDefault")
    default = default_state(os, protocol)
    state, source = effective(enabled, dbd, default)
    evidence, problems = dword_evidence(machine, (enabled, dbd))
    present = [r.show() for r in (enabled, dbd) if r.value is not None]
    if present:
        detail = ", ".join(present)
    elif enabled.known and dbd.known:
        detail = "not set"
    else:
        detail = "not known: no SYSTEM hive, and no input file sets these values"
    if state != DISABLED and dbd.number is None:
        detail += f"; {_default_text(os, default)}"
    return Setting(f"schannel/{protocol}/{role}", state, source, detail, evidence, problems=problems)
