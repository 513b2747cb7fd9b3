"""WinHTTP ``DefaultSecureProtocols`` in both registry views, decoded to protocols (tls-facts.md §5.1).

Bits and per-OS defaults from [MS-WINHTTP] (WINHTTP_OPTION_SECURE_PROTOCOLS) and [MEM-CLIENT];
on Windows 7, Server 2008 R2 and Server 2012 the value is read only after KB3140245 [KB3140245].
"""

from __future__ import annotations

from analyzer.knowledge import VIEWS, Setting, dword_evidence, read_dword
from analyzer.knowledge.osinfo import OsInfo
from analyzer.machine import Machine
from analyzer.registry import Path

BITS = ((0x8, "SSL 2.0"), (0x20, "SSL 3.0"), (0x80, "TLS 1.0"), (0x200, "TLS 1.1"), (0x800, "TLS 1.2"),
        (0x2000, "TLS 1.3"))
TLS12 = 0x800
SET, UNSET, INVALID, UNKNOWN = "set", "unset", "invalid", "unknown"


def winhttp_key(view: str) -> Path:
    """``SOFTWARE[\\WOW6432Node]\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp``."""
    return (*VIEWS[view], "Microsoft", "Windows", "CurrentVersion", "Internet Settings", "WinHttp")


def protocols(mask: int) -> list[str]:
    """The protocols a mask enables; unknown bits are listed in hex."""
    names = [name for bit, name in BITS if mask & bit]
    rest = mask & ~sum(bit for bit, _ in BITS)
    return names + ([f"0x{rest:x}"] if rest else [])


def default_mask(os: OsInfo) -> int | None:
    """WinHTTP's documented default when the value is absent, or None where Microsoft does not say."""
    if 7600 <= os.build < 9600:
        return 0x0A0
    if 9600 <= os.build < (20348 if os.server else 22000):
        return 0xAA0
    if not os.server and os.build >= 22000:
        return 0x2800
    return None


def view_setting(machine: Machine, os: OsInfo | None, view: str, has_32bit_view: bool | None = True) -> Setting:
    """``winhttp/<64|32>/DefaultSecureProtocols`` with the protocols it gives."""
    if view == "32" and has_32bit_view is False:
        return Setting(f"winhttp/{view}/DefaultSecureProtocols", "not-applicable", "os-default",
                       "32-bit Windows has no WOW6432Node view", extra={"mask": None, "protocols": None})
    reading = read_dword(machine, winhttp_key(view), "DefaultSecureProtocols")
    evidence, problems = dword_evidence(machine, (reading,))
    mask = reading.number
    extra: dict[str, object] = {"mask": None, "protocols": None}
    if mask is not None:
        state, source, detail = SET, "explicit", f"DefaultSecureProtocols=0x{mask:x}"
        extra = {"mask": mask, "protocols": protocols(mask)}
    elif reading.value is not None:
        state, source, detail = INVALID, "explicit", reading.problem or ""
    elif not reading.known:
        state, source, detail = UNKNOWN, "unknown", "not known: no SOFTWARE hive, and no input file sets it"
    else:
        default = default_mask(os) if os else None
        state, source = UNSET, ("os-default" if default is not None else "unknown")
        if default is not None and os is not None:
            extra = {"mask": default, "protocols": protocols(default)}
            detail = f"absent; WinHTTP default for {os.name}: 0x{default:x}"
        else:
            detail = "absent; WinHTTP's default for this OS is not documented" if os else "absent; OS not known"
    return Setting(f"winhttp/{view}/DefaultSecureProtocols", state, source, detail, evidence, extra, problems)
