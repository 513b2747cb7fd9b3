""".NET Framework strong-crypto settings in the 64-bit and 32-bit registry views, and the installed version.

``SchUseStrongCrypto`` and ``SystemDefaultTlsVersions`` are REG_DWORD values under
``SOFTWARE\\Microsoft\\.NETFramework\\<v4.0.30319|v2.0.50727>`` and its ``WOW6432Node`` twin
[NET-TLS-2024] (tls-facts.md §4.1-§4.2).  Their default when absent depends on the framework version
each application targets, so an offline reader reports absence as ``unset`` and never as on or off.
The installed .NET 4.x comes from ``NET Framework Setup\\NDP\\v4\\Full`` ``Release`` [NET-VER] (§4.3).
"""

from __future__ import annotations

from analyzer.knowledge import HKLM_SOFTWARE, VIEWS, Setting, dword_evidence, evidence, read_dword
from analyzer.machine import Machine
from analyzer.registry import Path

V4, V2 = "v4.0.30319", "v2.0.50727"
VERSIONS = (V4, V2)
VALUES = ("SchUseStrongCrypto", "SystemDefaultTlsVersions")
ON, OFF, UNSET, INVALID, UNKNOWN, NOT_APPLICABLE = "on", "off", "unset", "invalid", "unknown", "not-applicable"
NDP: Path = (*HKLM_SOFTWARE, "Microsoft", "NET Framework Setup", "NDP")
# tls-facts.md §4.3: the lowest Release value of each version, newest first (compare with >=).
RELEASES = ((533320, "4.8.1"), (528040, "4.8"), (461808, "4.7.2"), (461308, "4.7.1"), (460798, "4.7"),
            (394802, "4.6.2"), (394254, "4.6.1"), (393295, "4.6"), (379893, "4.5.2"), (378675, "4.5.1"),
            (378389, "4.5"))


def netfx_key(view: str, version: str = V4) -> Path:
    """``SOFTWARE[\\WOW6432Node]\\Microsoft\\.NETFramework\\<version>``."""
    return (*VIEWS[view], "Microsoft", ".NETFramework", version)


def value_setting(machine: Machine, view: str, name: str, version: str = V4,
                  has_32bit_view: bool | None = True) -> Setting:
    """``dotnet/<version>/<64|32>/<name>``: on (1), off (0), unset, invalid, unknown or not-applicable."""
    setting_id = f"dotnet/{version}/{view}/{name}"
    if view == "32" and has_32bit_view is False:
        return Setting(setting_id, NOT_APPLICABLE, "os-default", "32-bit Windows has no WOW6432Node view")
    reading = read_dword(machine, netfx_key(view, version), name)
    found, problems = dword_evidence(machine, (reading,))
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
            problems = ((found[0], detail),)
    return Setting(setting_id, state, source, detail, found, problems=problems)


def installed_setting(machine: Machine) -> Setting:
    """``dotnet/installed/v4``: the installed .NET Framework 4.x version, from ``Release``."""
    key = (*NDP, "v4", "Full")
    reading = read_dword(machine, key, "Release")
    release = reading.number
    if release is not None:
        version = next((name for low, name in RELEASES if release >= low), "4.0")
        return Setting("dotnet/installed/v4", version, "explicit", f"Release={release}",
                       (evidence(machine, key, reading.value),), {"release": release})  # type: ignore[arg-type]
    if not reading.known:
        return Setting("dotnet/installed/v4", UNKNOWN, "unknown", "no SOFTWARE hive, and no input file says")
    if machine.exists(key):
        return Setting("dotnet/installed/v4", "4.0", "explicit", "v4\\Full without Release: .NET Framework 4.0")
    return Setting("dotnet/installed/v4", "not-installed", "explicit", "no NDP\\v4\\Full key: 4.x not installed")
