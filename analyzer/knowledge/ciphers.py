"""Schannel ciphers, hashes, key exchange and key sizes, the cipher suite order and FIPS mode (tls-facts.md §6).

Sources: [KB245030] for the ``Ciphers``/``Hashes``/``KeyExchangeAlgorithms`` switches (``Enabled`` 0 = off,
0xffffffff = on, absent = on except ``NULL``); [WS-CHANGES] for RC4 suites being off by default from
Windows 10 1709 (build 16299); [MS-TLSREG-2023] for the key-size values and their defaults;
[WS-MANAGE]/[MS-CIPHERS-PRIO] for the suite order (the policy list wins over the local one);
[FIPS-POL]/[STIG-FIPS] for ``Lsa\\FipsAlgorithmPolicy``.  UNCERTAIN (tls-facts.md): AES and ECDH keys are
only seen in hardening tools and CIS; the policy path of the suite order is not stated verbatim on a
Microsoft page; the modern effect of FIPS mode on Schannel is not fully documented.
"""

from __future__ import annotations

from analyzer.knowledge import Dword, Evidence, Setting, dword_evidence, evidence, read_dword
from analyzer.knowledge.osinfo import OsInfo
from analyzer.knowledge.schannel import SCHANNEL
from analyzer.machine import Machine
from analyzer.registry import REG_MULTI_SZ, STRING_TYPES, Path, decode_multi, decode_string

WEAK_CIPHERS = ("NULL", "DES 56/56", "RC2 40/128", "RC2 56/128", "RC2 128/128", "RC4 40/128", "RC4 56/128",
                "RC4 64/128", "RC4 128/128", "Triple DES 168")
CIPHERS = (*WEAK_CIPHERS, "AES 128/128", "AES 256/256")
LEGACY_CIPHER_NAMES = ("Triple DES 168/168", "RC2 56/56")  # pre-Vista 3DES name; a KB245030 typo for DES
WEAK_HASHES = ("MD5",)
HASHES = ("MD5", "SHA", "SHA256", "SHA384", "SHA512")
KEY_EXCHANGES = ("PKCS", "Diffie-Hellman", "ECDH")
GROUPS = {"Ciphers": CIPHERS, "Hashes": HASHES, "KeyExchangeAlgorithms": KEY_EXCHANGES}
# [MS-TLSREG-2023]: key-size values (bits) and their defaults where documented (Windows 10 / Server 2016 on).
KEY_SIZES = (("Diffie-Hellman", "ClientMinKeyBitLength", 1024), ("Diffie-Hellman", "ServerMinKeyBitLength", 2048),
             ("PKCS", "ClientMinKeyBitLength", 1024))
RC4_OFF_BUILD = 16299
POLICY_ORDER: Path = ("HKEY_LOCAL_MACHINE", "SOFTWARE", "Policies", "Microsoft", "Cryptography", "Configuration",
                      "SSL", "00010002")
LOCAL_ORDER: Path = ("HKEY_LOCAL_MACHINE", "SYSTEM", "CurrentControlSet", "Control", "Cryptography",
                     "Configuration", "Local", "SSL", "00010002")
LSA: Path = ("HKEY_LOCAL_MACHINE", "SYSTEM", "CurrentControlSet", "Control", "Lsa")
WEAK_SUITE_PARTS = ("_NULL_", "_RC4_", "_DES_", "_3DES_", "_EXPORT", "_MD5", "_anon_")
ENABLED, DISABLED, UNKNOWN = "enabled", "disabled", "unknown"


def algorithm_default(group: str, name: str, os: OsInfo | None) -> str | None:
    """On unless switched off: NULL is off, RC4 suites are off from Windows 10 1709 (None: OS unknown)."""
    if name == "NULL":
        return DISABLED
    if name.startswith("RC4"):
        return None if os is None else (DISABLED if os.build >= RC4_OFF_BUILD else ENABLED)
    return ENABLED


def algorithm_setting(machine: Machine, os: OsInfo | None, group: str, name: str) -> Setting:
    """``cipher/<name>``, ``hash/<name>`` or ``keyexchange/<name>``: enabled or disabled, and from where."""
    prefix = {"Ciphers": "cipher", "Hashes": "hash", "KeyExchangeAlgorithms": "keyexchange"}[group]
    reading = read_dword(machine, (*SCHANNEL, group, name), "Enabled")
    found, problems = dword_evidence(machine, (reading,))
    if reading.number is not None:
        state, source = (DISABLED if reading.number == 0 else ENABLED), "explicit"
        detail = reading.show()
    elif not reading.known:
        state, source, detail = UNKNOWN, "unknown", "not known: no SYSTEM hive, and no input file sets it"
    else:
        default = algorithm_default(group, name, os)
        state, source = (default or UNKNOWN), ("os-default" if default else "unknown")
        detail = (reading.problem + "; " if reading.problem else "not set; ") + (
            f"default: {default}" if default else "default depends on the Windows version, which is not known")
    return Setting(f"{prefix}/{name}", state, source, detail, found, problems=problems)


def key_size_setting(machine: Machine, algorithm: str, name: str, default: int) -> Setting:
    """``keyexchange/<algorithm>/<name>``: the minimum key size in bits."""
    reading = read_dword(machine, (*SCHANNEL, "KeyExchangeAlgorithms", algorithm), name)
    found, problems = dword_evidence(machine, (reading,))
    if reading.number is not None:
        return Setting(f"keyexchange/{algorithm}/{name}", str(reading.number), "explicit", reading.show(), found,
                       {"bits": reading.number}, problems)
    if not reading.known:
        return Setting(f"keyexchange/{algorithm}/{name}", UNKNOWN, "unknown", "not known", found)
    return Setting(f"keyexchange/{algorithm}/{name}", str(default), "os-default",
                   f"not set; documented default {default} bits (Windows 10 / Server 2016 and later)", found,
                   {"bits": default}, problems)


def _suite_list(machine: Machine, key: Path) -> tuple[list[str] | None, Evidence | None]:
    value = machine.value(key, "Functions")
    if value is None:
        return None, None
    if value.type_num == REG_MULTI_SZ:
        suites = decode_multi(value.data)
    elif value.type_num in STRING_TYPES:
        suites = [s.strip() for s in decode_string(value.data).split(",") if s.strip()]
    else:
        return None, evidence(machine, key, value)
    return suites, evidence(machine, key, value)


def suite_order_setting(machine: Machine) -> Setting:
    """``ciphersuites/order``: the Group Policy list (it wins), else the local list, else the OS default."""
    for state, key in (("policy", POLICY_ORDER), ("local", LOCAL_ORDER)):
        suites, found = _suite_list(machine, key)
        if found is not None:
            if suites is None:
                return Setting("ciphersuites/order", "invalid", "explicit", "Functions has an unusable type",
                               (found,))
            weak = [s for s in suites if any(part in s.upper() for part in map(str.upper, WEAK_SUITE_PARTS))]
            return Setting("ciphersuites/order", state, "explicit", f"{len(suites)} suites from the {state} list",
                           (found,), {"suites": suites, "weak": weak})
    known = machine.known(POLICY_ORDER, "Functions") and machine.known(LOCAL_ORDER, "Functions")
    return Setting("ciphersuites/order", "default" if known else UNKNOWN, "os-default" if known else "unknown",
                   "no configured order: the OS default list applies" if known else "not known")


def fips_setting(machine: Machine) -> Setting:
    """``fips/policy``: FIPS mode from ``Lsa\\FipsAlgorithmPolicy`` ``Enabled`` (or the legacy Lsa value)."""
    modern: Dword = read_dword(machine, (*LSA, "FipsAlgorithmPolicy"), "Enabled")
    legacy: Dword = read_dword(machine, LSA, "FIPSAlgorithmPolicy")
    found, problems = dword_evidence(machine, (modern, legacy))
    reading = modern if modern.number is not None else legacy
    if reading.number is not None:
        state = "on" if reading.number else "off"
        detail = reading.show() + ("" if reading is modern else " (the legacy form directly under Lsa)")
        return Setting("fips/policy", state, "explicit", detail, found, problems=problems)
    if modern.known:
        return Setting("fips/policy", "off", "os-default", "not set; FIPS mode is off by default", found,
                       problems=problems)
    return Setting("fips/policy", UNKNOWN, "unknown", "not known: no SYSTEM hive, and no input file sets it")
