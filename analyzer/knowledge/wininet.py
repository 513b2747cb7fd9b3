"""WinINet ``SecureProtocols``: the protocols Internet Options (WinINet and what is built on it) may use.

Facts and their sources:
- The value is a REG_DWORD under ``Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings`` in HKCU
  (per user) and HKLM, with the bits WinHTTP uses: 0x8 SSL 2.0, 0x20 SSL 3.0, 0x80 TLS 1.0, 0x200 TLS 1.1,
  0x800 TLS 1.2, 0x2000 TLS 1.3 (tls-facts.md §5.1-§5.2; learn.microsoft.com/windows/win32/winhttp/
  option-flags, WINHTTP_FLAG_SECURE_PROTOCOL_*).
- The Group Policy "Turn off encryption support" (Internet Control Panel, Advanced Page; CIS IE 11 benchmark,
  DISA STIG DTBI014) writes the same value under ``Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\
  Internet Settings``, in Computer (HKLM) and User (HKCU) Configuration.  That exact value path is
  UNCERTAIN here (tls-facts.md §5.2: not read from the ADMX itself).
- Precedence: the HKLM policy key, then the HKCU policy key, then the HKCU preference, then the HKLM
  preference (winreg-kb.readthedocs.io, "Internet Explorer keys: Policies", order of application).
- ``Security_HKLM_only``=1 under ``HKLM\\Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet
  Settings`` ("Security Zones: Use only machine settings") makes Internet Explorer use the HKLM values only
  (Microsoft Windows Registry Guide, 2nd ed., "Internet Explorer Security Zones").  The guide states it for
  the zone settings; that it also covers ``SecureProtocols`` is UNCERTAIN, and regtls applies it.
- Defaults when no value is set: Internet Explorer 11 offers TLS 1.0, 1.1 and 1.2 (0xA80) on Windows 7 SP1,
  8.1 and 10 (computerworld.com, "Tweaking Internet Explorer to only use TLS 1.2": "out of the box, IE 11
  ... supports TLS 1.0, 1.1 and 1.2 ... on any up-to-date copy of Windows 7, 8.1 or 10"); KB5017811
  (support.microsoft.com, September 2022) turned TLS 1.0/1.1 off by default for WinINet on Windows 10 20H2
  and later, and Windows 11 adds TLS 1.3: those later defaults (0x2A80 on Windows 11 as the Internet Options
  page shows it, or TLS 1.2+1.3 only after KB5017811) are UNCERTAIN, so regtls reports them as not known.
"""

from __future__ import annotations

from dataclasses import dataclass

from analyzer.knowledge import Dword, Setting, dword_evidence, read_dword
from analyzer.knowledge.osinfo import OsInfo
from analyzer.knowledge.winhttp import protocols
from analyzer.machine import Machine
from analyzer.registry import Path, fold

INET: Path = ("Windows", "CurrentVersion", "Internet Settings")
HKLM_PREFERENCE: Path = ("HKEY_LOCAL_MACHINE", "SOFTWARE", "Microsoft", *INET)
HKLM_POLICY: Path = ("HKEY_LOCAL_MACHINE", "SOFTWARE", "Policies", "Microsoft", *INET)
VALUE = "SecureProtocols"
HKLM_ONLY = "Security_HKLM_only"
SSL2, SSL3, TLS12, TLS13 = 0x8, 0x20, 0x800, 0x2000
SET, UNSET, INVALID, UNKNOWN = "set", "unset", "invalid", "unknown"
HKCU = "HKEY_CURRENT_USER"


@dataclass(frozen=True)
class Layer:
    """One place ``SecureProtocols`` may be set, in precedence order, and what it holds."""

    label: str
    reading: Dword


def user_roots(machine: Machine) -> list[tuple[str, Path]]:
    """(setting key, root) of every user: each hive under HKEY_USERS, and HKEY_CURRENT_USER when a change set
    writes it without a user hive it stands for."""
    roots: list[tuple[str, Path]] = [(name, ("HKEY_USERS", name)) for name in machine.subkeys(("HKEY_USERS",))]
    if machine.current_user is None and machine.exists((HKCU,)):
        roots.append((HKCU, (HKCU,)))
    return roots


def user_keys(root: Path) -> tuple[Path, Path]:
    """The user's policy and preference ``Internet Settings`` keys."""
    return (*root, "Software", "Policies", "Microsoft", *INET), (*root, "Software", "Microsoft", *INET)


def layers(machine: Machine, root: Path | None) -> list[Layer]:
    """The places, strongest first: machine policy, user policy, user preference, machine preference."""
    out = [Layer("machine policy", read_dword(machine, HKLM_POLICY, VALUE))]
    if root is not None:
        policy, preference = user_keys(root)
        out += [Layer("user policy", read_dword(machine, policy, VALUE)),
                Layer("user preference", read_dword(machine, preference, VALUE))]
    return [*out, Layer("machine preference", read_dword(machine, HKLM_PREFERENCE, VALUE))]


def machine_only(machine: Machine) -> bool:
    """Whether the ``Security_HKLM_only`` policy is 1."""
    return read_dword(machine, HKLM_POLICY, HKLM_ONLY).number == 1


def default_mask(os: OsInfo) -> int | None:
    """The documented default (TLS 1.0-1.2 with IE 11 on Windows 7 SP1 to 10 before 20H2), else None."""
    if 7601 <= os.build < 19042:
        return 0xA80
    return None


def effective(machine: Machine, os: OsInfo | None, key: str, root: Path | None) -> Setting:
    """``wininet/<machine|user/KEY>/SecureProtocols``: the first layer that sets the value, else the default."""
    setting_id = "wininet/machine/SecureProtocols" if root is None else f"wininet/user/{key}/SecureProtocols"
    found = layers(machine, root)
    hklm_only = root is not None and machine_only(machine)
    if hklm_only:
        found = [layer for layer in found if not layer.label.startswith("user")]
    evidence, problems = dword_evidence(machine, tuple(layer.reading for layer in found))
    extra: dict[str, object] = {"mask": None, "protocols": None, "layer": None}
    note = "; Security_HKLM_only=1: the user's values are ignored" if hklm_only else ""
    missing: list[str] = []  # stronger layers the inputs do not hold
    for layer in found:
        reading = layer.reading
        if reading.value is None:
            if not reading.known:
                missing.append(layer.label)
            continue
        unless = f", unless the {' or the '.join(missing)} (not in the inputs) overrides it" if missing else ""
        if reading.number is None:
            return Setting(setting_id, UNKNOWN if missing else INVALID, "explicit",
                           f"{layer.label}: {reading.problem}{unless}{note}", evidence,
                           {**extra, "layer": layer.label}, problems)
        mask = reading.number
        return Setting(setting_id, UNKNOWN if missing else SET, "explicit",
                       f"{layer.label}: SecureProtocols=0x{mask:x}{unless}{note}", evidence,
                       {"mask": mask, "protocols": protocols(mask), "layer": layer.label}, problems)
    if missing:
        return Setting(setting_id, UNKNOWN, "unknown", f"not known: the {' and the '.join(missing)} value(s) are not "
                       "in the inputs" + note, evidence, extra, problems)
    default = default_mask(os) if os else None
    if default is None:
        detail = "absent; WinINet's default for this OS is not documented (UNCERTAIN)" if os else "absent; OS not known"
        return Setting(setting_id, UNSET, "unknown", detail + note, evidence, extra, problems)
    assert os is not None
    return Setting(setting_id, UNSET, "os-default", f"absent; Internet Explorer 11 default on {os.name}: "
                   f"0x{default:x}{note}", evidence, {**extra, "mask": default, "protocols": protocols(default)},
                   problems)


def configured(machine: Machine, names: dict[str, str] | None = None) -> list[tuple[str, Path, Dword]]:
    """(who, key, reading) of every ``SecureProtocols`` value present: machine policy and preference, and each
    user's policy and preference (``names``: how to call a user, by the key under HKEY_USERS)."""
    places: list[tuple[str, Path]] = [("machine policy", HKLM_POLICY), ("machine preference", HKLM_PREFERENCE)]
    for key, root in user_roots(machine):
        policy, preference = user_keys(root)
        who = (names or {}).get(key, key)
        places += [(f"user {who} policy", policy), (f"user {who} preference", preference)]
    readings = [(who, path, read_dword(machine, path, VALUE)) for who, path in places]
    return [(who, path, r) for who, path, r in readings if r.value is not None]


def tls_off(setting: Setting) -> bool:
    """Whether an effective WinINet setting leaves no TLS 1.2 or 1.3 (False when not known)."""
    mask = setting.extra.get("mask")
    return isinstance(mask, int) and not mask & (TLS12 | TLS13)


def is_user_setting(setting_id: str) -> bool:
    """Whether a setting id is a user's effective WinINet setting."""
    return fold(setting_id).startswith("WININET/USER/")
