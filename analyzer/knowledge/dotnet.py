""".NET Framework strong-crypto settings in the 64-bit and 32-bit registry views (tls-facts.md §4.1-§4.2).

``SchUseStrongCrypto`` and ``SystemDefaultTlsVersions`` are REG_DWORD values under
``SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319`` and its ``WOW6432Node`` twin [NET-TLS-2024].  Their
default when absent depends on the framework version each application targets, so an offline reader
reports absence as ``unset`` and never as on or off.
"""

from __future__ import annotations

from analyzer.knowledge import VIEWS, Setting, dword_evidence, read_dword
from analyzer.machine import Machine
from analyzer.registry import Path

V4 = "v4.0.30319"
VALUES = ("SchUseStrongCrypto", "SystemDefaultTlsVersions")
ON, OFF, UNSET, INVALID, UNKNOWN = "on", "off", "unset", "invalid", "unknown"


def netfx_key(view: str, version: str = V4) -> Path:
    """``SOFTWARE[\\WOW6432Node]\\Microsoft\\.NETFramework\\<version>``."""
    return (*VIEWS[view], "Microsoft", ".NETFramework", version)


def value_setting(machine: Machine, view: str, name: str, version: str = V4) -> Setting:
    """``dotnet/<version>/<64|32>/<name>``: on (1), off (0), unset, invalid (other data) or unknown."""
    reading = read_dword(machine, netfx_key(view, version), name)
    evidence, problems = dword_evidence(machine, (reading,))
    number = reading.number
    if reading.value is None:
        state, source = (UNSET, "explicit") if reading.known else (UNKNOWN, "unknown")
        if reading.known and not machine.exists(netfx_key(view, version)):
            detail = f"absent (the {version} key itself is absent)"
        elif reading.known:
            detail = "absent; the default then depends on each application's target framework"
        else:
            detail = "not known: no SOFTWARE hive, and no input file sets it"
    elif number in (0, 1):
        state, source, detail = (ON if number == 1 else OFF), "explicit", reading.show()
    else:
        state, source = INVALID, "explicit"
        detail = reading.problem or f"{reading.show()}: only 1 (on) and 0 (off) are documented"
        if number is not None:
            problems = ((evidence[0], detail),)
    return Setting(f"dotnet/{version}/{view}/{name}", state, source, detail, evidence, problems=problems)
