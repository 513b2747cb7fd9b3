"""Schannel protocol defaults per Windows version and the effective state of each protocol and role.

Sources (tls-facts.md): §1.3-§1.4 for ``Enabled``/``DisabledByDefault``; §2.1-§2.3 for the per-OS
defaults ([MS-PROTO], "Protocols in TLS/SSL (Schannel SSP)", revision 2025-03-20).

Microsoft's table says a supported protocol is "Enabled" or "Disabled" by default.  "Disabled" there
means supported but not offered unless an application asks for it: KB245030 turns such a protocol on
by setting only ``DisabledByDefault``=0, and applications that request TLS 1.2 explicitly can use it
on Windows 7 without registry changes.  regtls therefore reports such a default as ``not-default``.
Multi-Protocol Unified Hello and DTLS 1.3 have no documented default (§1.2): their state is known only
from explicit values.
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
PROTOCOLS = ("Multi-Protocol Unified Hello", "PCT 1.0", "SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2",
             "TLS 1.3", "DTLS 1.0", "DTLS 1.2", "DTLS 1.3")
TLS_PROTOCOLS = ("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
LEGACY_PROTOCOLS = ("Multi-Protocol Unified Hello", "PCT 1.0", "SSL 2.0", "SSL 3.0")
ROLES = ("Client", "Server")

ENABLED, NOT_DEFAULT, DISABLED, UNSUPPORTED, UNKNOWN = "enabled", "not-default", "disabled", "unsupported", "unknown"
_CELL = {"E": ENABLED, "N": NOT_DEFAULT, "U": UNSUPPORTED, "?": None}


@dataclass(frozen=True)
class DefaultRow:
    """One Windows version of [MS-PROTO]'s tables: the builds it covers and each protocol's defaults."""

    label: str
    covers: Callable[[int, bool], bool]
    cells: tuple[str, ...]  # per protocol, in PROTOCOLS order: two letters, Client then Server
    note: str = ""

    def default(self, protocol: str, role: str) -> str | None:
        """The documented default (None where Microsoft documents none)."""
        return _CELL[self.cells[PROTOCOLS.index(protocol)][ROLES.index(role)]]


# E = enabled (offered by default), N = "Disabled" in [MS-PROTO] (supported, not offered by default),
# U = not supported, ? = no documented default.  Columns follow PROTOCOLS:
#        MPUH  PCT   SSL2  SSL3  TLS10 TLS11 TLS12 TLS13 DTLS10 DTLS12 DTLS13
DEFAULTS: tuple[DefaultRow, ...] = (
    DefaultRow("Windows Vista / Server 2008 before SP2",
               lambda b, s: 6000 <= b < 7600 and not (s and b >= 6002),
               ("??", "UU", "NE", "EE", "EE", "UU", "UU", "UU", "UU", "UU", "??")),
    DefaultRow("Windows Server 2008 SP2", lambda b, s: s and 6002 <= b < 7600,
               ("??", "UU", "NE", "EE", "EE", "NN", "NN", "UU", "UU", "UU", "??"),
               "TLS 1.1 and 1.2 exist only after KB4019276"),
    DefaultRow("Windows 7 / Server 2008 R2", lambda b, s: 7600 <= b < 9200,
               ("??", "UU", "NE", "EE", "EE", "NN", "NN", "UU", "EE", "UU", "??")),
    DefaultRow("Windows 8 / Server 2012", lambda b, s: 9200 <= b < 9600,
               ("??", "UU", "NN", "EE", "EE", "EE", "EE", "UU", "EE", "UU", "??")),
    DefaultRow("Windows 8.1 / Server 2012 R2", lambda b, s: 9600 <= b < 10240,
               ("??", "UU", "NN", "EE", "EE", "EE", "EE", "UU", "EE", "UU", "??")),
    DefaultRow("Windows 10 1507 / 1511", lambda b, s: 10240 <= b < 14393,
               ("??", "UU", "NN", "EE", "EE", "EE", "EE", "UU", "EE", "UU", "??")),
    DefaultRow("Windows 10 1607-22H2 / Server 2016 / Server 2019",
               lambda b, s: 14393 <= b < (20348 if s else 22000),
               ("??", "UU", "UU", "NN", "EE", "EE", "EE", "UU", "EE", "EE", "??")),
    DefaultRow("Windows Server 2022", lambda b, s: s and 20348 <= b < 26100,
               ("??", "UU", "UU", "NN", "EE", "EE", "EE", "EE", "EE", "EE", "??")),
    DefaultRow("Windows 11", lambda b, s: not s and b >= 22000,
               ("??", "UU", "UU", "NN", "EE", "EE", "EE", "EE", "EE", "EE", "??")),
    DefaultRow("Windows Server 2025", lambda b, s: s and b >= 26100,
               ("??", "UU", "UU", "NN", "EE", "EE", "EE", "EE", "EE", "EE", "??")),
)


def default_row(os: OsInfo) -> DefaultRow | None:
    """The row of the defaults table for this OS, or None before Windows Vista."""
    return next((row for row in DEFAULTS if row.covers(os.build, os.server)), None)


def default_state(os: OsInfo | None, protocol: str, role: str = "Client") -> str | None:
    """The documented default of a protocol for a role, or None when not known or not documented."""
    row = default_row(os) if os else None
    return row.default(protocol, role) if row else None


def value_state(reading: Dword) -> str:
    """What one value holds, kept distinct: zero, one, legacy-all-ones, nonstandard, wrong-type, ..."""
    if reading.value is None:
        return "absent" if reading.known else "unknown"
    if reading.problem:
        return "wrong-type" if reading.value.type_num != 4 else "wrong-size"
    return {0: "zero", 1: "one", 0xFFFFFFFF: "legacy-all-ones"}.get(reading.number or 0, "nonstandard")


def _default_text(os: OsInfo | None, protocol: str, role: str) -> str:
    if os is None:
        return "OS default not known (no SOFTWARE hive to identify the OS)"
    row = default_row(os)
    if row is None:
        return f"no documented default for {os.name}"
    default = row.default(protocol, role)
    if default is None:
        return f"Microsoft documents no default for {protocol}"
    return f"{os.name} default: {default}" + (f" ({row.note})" if row.note and protocol in ("TLS 1.1", "TLS 1.2")
                                               else "")


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


def role_key(protocol: str, role: str, control_set: str | None = None) -> Path:
    """``...\\SCHANNEL\\Protocols\\<protocol>\\<role>``, in the current or a named control set."""
    base = PROTOCOLS_KEY if control_set is None else (*PROTOCOLS_KEY[:2], control_set, *PROTOCOLS_KEY[3:])
    return (*base, protocol, role)


def protocol_setting(machine: Machine, os: OsInfo | None, protocol: str, role: str,
                     control_set: str | None = None) -> Setting:
    """The effective state of one protocol and role, e.g. ``schannel/TLS 1.2/Client``."""
    key = role_key(protocol, role, control_set)
    enabled, dbd = read_dword(machine, key, "Enabled"), read_dword(machine, key, "DisabledByDefault")
    default = default_state(os, protocol, role)
    state, source = effective(enabled, dbd, default)
    evidence, problems = dword_evidence(machine, (enabled, dbd))
    present = [r.show() for r in (enabled, dbd) if r.value is not None]
    if present:
        detail = ", ".join(present)
    elif enabled.known and dbd.known:
        detail = "not set"
    else:
        detail = "not known: no SYSTEM hive, and no input file sets these values"
    if state == UNSUPPORTED and enabled.number:
        detail += f"; this Windows version cannot use {protocol}, whatever the registry says"
    elif state != DISABLED and dbd.number is None:
        detail += f"; {_default_text(os, protocol, role)}"
    values = {r.name: value_state(r) for r in (enabled, dbd)}
    return Setting(f"schannel/{protocol}/{role}", state, source, detail, evidence, {"values": values},
                   problems=problems)
