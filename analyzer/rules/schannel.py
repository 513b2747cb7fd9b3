"""SCH rules: Schannel protocol keys and values (tls-facts.md §1-§2)."""

from __future__ import annotations

from collections.abc import Iterator

from analyzer.knowledge import Dword, Setting, read_dword
from analyzer.knowledge.schannel import (
    DISABLED,
    ENABLED,
    PROTOCOLS,
    PROTOCOLS_KEY,
    ROLES,
    UNKNOWN,
    UNSUPPORTED,
    default_state,
    role_key,
)
from analyzer.registry import Path, fold
from analyzer.rules import FAIL, PASS, UNDECIDED, Context, Hit, Outcome, Part, combine, rule

# tls-facts.md §1.2: every protocol subkey name Schannel documents (or that Microsoft tools create).
KNOWN_PROTOCOLS = PROTOCOLS
_KNOWN = {fold(p): p for p in KNOWN_PROTOCOLS}
_COMPACT = {fold(p).replace(" ", "").replace("-", ""): p for p in KNOWN_PROTOCOLS}
_ROLES = {fold(r): r for r in ROLES}
VALUES = ("Enabled", "DisabledByDefault")
LEGACY = ("PCT 1.0", "SSL 2.0", "SSL 3.0")
OLD_TLS = ("TLS 1.0", "TLS 1.1")
# rule id -> (protocols, roles, "on"|"off"): what each protocol rule requires (the fixer reads it too)
REQUIREMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "SCH001": (("TLS 1.2",), ("Client",), "on"),
    "SCH007": (("TLS 1.2",), ("Server",), "on"),
    "SCH008": (LEGACY, ("Client",), "off"),
    "SCH009": (LEGACY, ("Server",), "off"),
    "SCH010": (OLD_TLS, ("Client",), "off"),
    "SCH011": (OLD_TLS, ("Server",), "off"),
    "SCH013": (("TLS 1.3",), ROLES, "on"),
}


def _protocol_keys(ctx: Context) -> Iterator[str]:
    """The documented protocol keys present under ``Protocols``."""
    return (name for name in ctx.machine.subkeys(PROTOCOLS_KEY) if fold(name) in _KNOWN)


@rule("SCH001", "tls12-client-enabled", "error")
def tls12_client(ctx: Context) -> Outcome:
    """TLS 1.2 must be enabled and offered by default for the Client role.

    What it checks: the effective state of ``Protocols\\TLS 1.2\\Client``: explicit ``Enabled`` and
    ``DisabledByDefault`` values, or, where they are absent, the documented default of the identified
    Windows version. Only ``enabled`` (offered by default) passes.

    Why: Azure Backup (and every Microsoft service retiring TLS 1.0/1.1) needs its agent, a TLS client,
    to offer TLS 1.2. On Windows 7 / Server 2008 R2 and Server 2008 SP2 TLS 1.2 exists but is not
    offered unless the values are set.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000000

    When absent: the OS default applies: enabled on Windows 8 / Server 2012 and later, not offered by
    default on Windows 7 / Server 2008 R2 / Server 2008 SP2 (a failure there). With no SOFTWARE hive
    the OS, and so the default, is unknown: the rule is undecided.

    References: learn.microsoft.com/azure/backup/transport-layer-security;
    learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-;
    learn.microsoft.com/windows-server/security/tls/tls-registry-settings.
    """
    return require(ctx, *REQUIREMENTS["SCH001"])


@rule("SCH002", "protocol-key-unknown", "error")
def unknown_keys(ctx: Context) -> Outcome:
    """Protocol and role keys must be spelled exactly as Schannel reads them.

    What it checks: every subkey of ``SCHANNEL\\Protocols`` must be a documented protocol name
    (``TLS 1.2``, ``SSL 3.0``, ...: one space, no trailing blank) and every subkey of a protocol key
    must be ``Client`` or ``Server``.

    Why: Schannel looks up exact key names. ``TLS1.2``, ``TLS 1.2 `` (trailing blank) or ``Clients``
    are different keys that Windows never reads, so the intended setting silently does nothing.
    ``DTLS 1.1`` does not exist (DTLS went from 1.0 to 1.2).

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS1.2\\Client]
        "Enabled"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001

    When absent: no protocol keys at all is fine (every protocol has its OS default).

    References: learn.microsoft.com/windows-server/security/tls/tls-registry-settings (key layout);
    learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp- (protocol names).
    """
    hits = [Hit(message, ctx.location(path)) for path, _, message in misspelled_keys(ctx)]
    if hits:
        return Outcome(FAIL, f"{len(hits)} misspelled protocol or role key(s)", tuple(hits))
    return Outcome(PASS, "every protocol and role key is spelled as Schannel reads it")


def misspelled_keys(ctx: Context) -> Iterator[tuple[Path, str | None, str]]:
    """(key path, the name probably meant or None, message) for each protocol or role key Schannel never reads."""
    for name in ctx.machine.subkeys(PROTOCOLS_KEY):
        key = (*PROTOCOLS_KEY, name)
        if fold(name) not in _KNOWN:
            guess = _COMPACT.get(fold(name).strip().replace(" ", "").replace("-", ""))
            hint = f"; did you mean {guess!r}?" if guess else ""
            yield key, guess, f"protocol key {name!r} is not one Schannel reads{hint}"
            continue
        for role in ctx.machine.subkeys(key):
            if fold(role) not in _ROLES:
                guess = next((r for r in ROLES if fold(r) == fold(role).strip().rstrip("S")), None)
                hint = f"; did you mean {guess!r}?" if guess else ""
                yield (*key, role), guess, f"{name}\\{role}: role key {role!r} is not Client or Server{hint}"


@rule("SCH003", "value-on-protocol-key", "error")
def values_on_version_key(ctx: Context) -> Outcome:
    """Enabled and DisabledByDefault belong in the Client or Server subkey, not on the protocol key.

    What it checks: values named ``Enabled`` or ``DisabledByDefault`` placed directly on
    ``Protocols\\<protocol>`` (or on ``Protocols`` itself).

    Why: Schannel reads these values only from ``Protocols\\<protocol>\\Client`` and ``...\\Server``; a
    value one level up is not a documented setting and changes nothing.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2]
        "Enabled"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server]
        "Enabled"=dword:00000001

    When absent: nothing to check.

    References: learn.microsoft.com/windows-server/security/tls/tls-registry-settings.
    """
    hits = []
    for key in [PROTOCOLS_KEY, *((*PROTOCOLS_KEY, name) for name in _protocol_keys(ctx))]:
        for value in ctx.machine.values(key):
            if fold(value.name) in {fold(v) for v in VALUES}:
                hits.append(Hit(f"{value.name} on {key[-1]!r} is not read: it belongs in the Client or "
                                "Server subkey", ctx.location(key, value.name)))
    if hits:
        return Outcome(FAIL, f"{len(hits)} value(s) on a protocol key instead of Client/Server", tuple(hits))
    return Outcome(PASS, "no values on protocol keys")


def _role_readings(ctx: Context) -> Iterator[tuple[str, str, str, Dword]]:
    """(protocol, role, value name, reading) for every Enabled/DisabledByDefault under a role key."""
    for name in _protocol_keys(ctx):
        for role in ctx.machine.subkeys((*PROTOCOLS_KEY, name)):
            if fold(role) in _ROLES:
                for value_name in VALUES:
                    yield name, role, value_name, read_dword(ctx.machine, (*PROTOCOLS_KEY, name, role), value_name)


@rule("SCH004", "value-wrong-type", "error")
def wrong_type(ctx: Context) -> Outcome:
    """Enabled and DisabledByDefault must be 4-byte REG_DWORD values.

    What it checks: every ``Enabled`` and ``DisabledByDefault`` under a protocol's Client or Server key
    has type REG_DWORD and exactly four bytes of data.

    Why: Microsoft documents both as REG_DWORD. A REG_SZ ``"1"``, a REG_QWORD or a DWORD of the wrong
    size is not documented to be read; regtls treats it as absent (so the OS default applies) and
    reports it here rather than as compliant.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"="1"

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001

    When absent: nothing to check.

    References: learn.microsoft.com/windows-server/security/tls/tls-registry-settings (value types);
    how Schannel reacts to a value of the wrong type is not documented by Microsoft (UNCERTAIN).
    """
    hits = []
    for name, role, value_name, reading in _role_readings(ctx):
        problem = reading.problem
        if problem:
            hits.append(Hit(f"{name}\\{role}: {problem}; Windows is not documented to read it",
                            ctx.location((*PROTOCOLS_KEY, name, role), value_name)))
    if hits:
        return Outcome(FAIL, f"{len(hits)} protocol value(s) with the wrong type or size", tuple(hits))
    return Outcome(PASS, "every protocol value is a REG_DWORD")


def _odd_values(ctx: Context, legacy: bool) -> list[Hit]:
    hits = []
    for name, role, value_name, reading in _role_readings(ctx):
        number = reading.number
        if number is None or number in (0, 1):
            continue
        is_legacy = value_name == "Enabled" and number == 0xFFFFFFFF
        if is_legacy != legacy:
            continue
        where = ctx.location((*PROTOCOLS_KEY, name, role), value_name)
        if legacy:
            hits.append(Hit(f"{name}\\{role}: Enabled=0xffffffff is the legacy form of 1 (on)", where))
        else:
            hits.append(Hit(f"{name}\\{role}: {value_name}=0x{number:x} is not a documented value (0 or 1); "
                            "read as non-zero", where))
    return hits


@rule("SCH005", "enabled-legacy-value", "note")
def legacy_value(ctx: Context) -> Outcome:
    """Enabled=0xffffffff is the legacy spelling of "on".

    What it checks: ``Enabled`` = 0xffffffff under a protocol's Client or Server key.

    Why: older Microsoft guidance (KB245030) used 0xffffffff for "enabled"; it still means on, but
    current documentation uses 1, which is clearer to reviewers.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:ffffffff

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001

    When absent: nothing to check.

    References: KB245030 (learn.microsoft.com/troubleshoot/windows-server/windows-security/restrict-cryptographic-algorithms-protocols-schannel).
    """
    hits = _odd_values(ctx, legacy=True)
    if hits:
        return Outcome(FAIL, f"{len(hits)} legacy Enabled=0xffffffff value(s)", tuple(hits))
    return Outcome(PASS, "no legacy Enabled values")


@rule("SCH006", "value-nonstandard", "warning")
def nonstandard_value(ctx: Context) -> Outcome:
    """Enabled and DisabledByDefault should be 0 or 1.

    What it checks: ``Enabled`` or ``DisabledByDefault`` with a value other than 0 or 1 (apart from the
    legacy ``Enabled`` = 0xffffffff, see SCH005).

    Why: only 0 and 1 are documented. Such values are commonly read as "non-zero = true", which is how
    regtls evaluates them, but the intent is unclear and other tools may disagree.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "DisabledByDefault"=dword:00000002

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "DisabledByDefault"=dword:00000000

    When absent: nothing to check.

    References: learn.microsoft.com/windows-server/security/tls/tls-registry-settings (documents only 0 and
    1; what Schannel does with other values is UNCERTAIN).
    """
    hits = _odd_values(ctx, legacy=False)
    if hits:
        return Outcome(FAIL, f"{len(hits)} undocumented protocol value(s)", tuple(hits))
    return Outcome(PASS, "every protocol value is 0 or 1")


def _damage(setting: Setting) -> str:
    """Why a setting is not known when a damaged hive is why."""
    return f" ({setting.detail})" if setting.detail.startswith("damaged: ") else ""


STIG_VALUES = {"on": ({"one", "legacy-all-ones"}, {"zero"}), "off": ({"zero"}, {"one"})}


def judge(ctx: Context, setting: Setting, want: str) -> tuple[str, str]:
    """(status, reason) for one protocol and role that must be on (enabled) or off (disabled/unsupported).

    With the absence policy ``finding`` (STIG checks), both values must be set explicitly to the wanted
    data (on: Enabled=1, DisabledByDefault=0; off: Enabled=0, DisabledByDefault=1), whatever the OS default.
    """
    if ctx.absence == "finding":
        values = setting.extra.get("values", {})
        assert isinstance(values, dict)
        enabled_ok, dbd_ok = STIG_VALUES[want]
        if values.get("Enabled") in enabled_ok and values.get("DisabledByDefault") in dbd_ok:
            return PASS, ""
        if "unknown" in values.values():
            return UNDECIDED, "the values are not known" + _damage(setting)
        wanted = "Enabled=1 and DisabledByDefault=0" if want == "on" else "Enabled=0 and DisabledByDefault=1"
        return FAIL, f"needs {wanted} set explicitly (this profile counts an absent value as a finding)"
    ok = setting.state == ENABLED if want == "on" else setting.state in (DISABLED, UNSUPPORTED)
    if ok:
        return PASS, ""
    if setting.state == UNKNOWN:
        return UNDECIDED, "state is not known" + _damage(setting)
    return FAIL, f"is {setting.state} ({setting.source})"


def require(ctx: Context, protocols: tuple[str, ...], roles: tuple[str, ...], want: str) -> Outcome:
    """Every protocol and role given must be on (``want`` = "on") or off ("off")."""
    parts: list[Part] = []
    for protocol in protocols:
        for role in roles:
            setting = ctx.settings[f"schannel/{protocol}/{role}"]
            status, reason = judge(ctx, setting, want)
            if status == PASS:
                parts.append((PASS, None))
                continue
            where = ctx.setting_location(setting, role_key(protocol, role), "Enabled")
            parts.append((status, Hit(f"{protocol} {role} {reason}: {setting.detail}", where)))
    names = ", ".join(protocols)
    return combine(parts, f"{names} {'enabled' if want == 'on' else 'off'} for {' and '.join(roles)}")


@rule("SCH007", "tls12-server-enabled", "error")
def tls12_server(ctx: Context) -> Outcome:
    """TLS 1.2 must be enabled and offered by default for the Server role.

    What it checks: the effective state of ``Protocols\\TLS 1.2\\Server``: explicit ``Enabled`` and
    ``DisabledByDefault`` values, or, where they are absent, the documented default of the identified
    Windows version. With the absence policy ``finding`` (STIG) both values must be set: Enabled=1,
    DisabledByDefault=0.

    Why: services that accept TLS connections (IIS, Entra Connect, ConfigMgr site systems, RDP) need
    TLS 1.2 on the server side; on Windows 7 / Server 2008 R2 it is not offered unless set.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000000

    When absent: the OS default applies (enabled on Windows 8 / Server 2012 and later); with the STIG
    absence policy an absent value is a finding; undecided when the OS is unknown.

    References: learn.microsoft.com/windows-server/security/tls/tls-registry-settings;
    learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-tls-enforcement;
    DISA IIS 10.0 Server STIG V-218821.
    """
    return require(ctx, *REQUIREMENTS["SCH007"])




@rule("SCH008", "legacy-protocols-client-off", "error")
def legacy_client(ctx: Context) -> Outcome:
    """PCT 1.0, SSL 2.0 and SSL 3.0 must be off for the Client role.

    What it checks: each is disabled (``Enabled`` = 0) or not supported by the identified Windows
    version. "Not offered by default" is not enough: an application can still ask for it.

    Why: SSL 2.0 and 3.0 are broken (DROWN, POODLE); NIST SP 800-52r2 forbids them.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\SSL 3.0\\Client]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\PCT 1.0\\Client]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\SSL 2.0\\Client]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\SSL 3.0\\Client]
        "Enabled"=dword:00000000

    When absent: the OS default: SSL 3.0 is not offered by default from Windows 10 1607 / Server 2016 but
    is still available to applications, so it fails unless disabled; PCT 1.0 and (from 1607) SSL 2.0
    are not supported, which passes.

    References: learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-;
    NIST SP 800-52 Rev. 2 (doi:10.6028/NIST.SP.800-52r2).
    """
    return require(ctx, *REQUIREMENTS["SCH008"])


@rule("SCH009", "legacy-protocols-server-off", "error")
def legacy_server(ctx: Context) -> Outcome:
    """PCT 1.0, SSL 2.0 and SSL 3.0 must be off for the Server role.

    What it checks: each is disabled (``Enabled`` = 0) or not supported; with the absence policy
    ``finding`` (STIG) each must have Enabled=0 and DisabledByDefault=1 set explicitly.

    Why: a server that still accepts SSL lets clients be downgraded (POODLE); the IIS 10.0 STIG and NIST
    SP 800-52r2 forbid it.

    Example machine: server2008r2-sp1-untouched

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\SSL 2.0\\Server]
        "Enabled"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\PCT 1.0\\Server]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\SSL 2.0\\Server]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\SSL 3.0\\Server]
        "Enabled"=dword:00000000

    When absent: the OS default (SSL 2.0 Server is enabled by default up to Windows 7 / 2008 R2); with the
    STIG absence policy an absent value is a finding.

    References: DISA IIS 10.0 Server STIG V-218821; learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-.
    """
    return require(ctx, *REQUIREMENTS["SCH009"])




@rule("SCH010", "tls10-tls11-client-off", "error")
def old_tls_client(ctx: Context) -> Outcome:
    """TLS 1.0 and TLS 1.1 must be off for the Client role.

    What it checks: both are disabled (``Enabled`` = 0) or not supported.

    Why: both are deprecated (RFC 8996); Microsoft is disabling them by default in new Windows builds.
    NIST SP 800-52r2's wording on TLS 1.0/1.1 for clients is not settled in our sources (UNCERTAIN): the
    nist-800-52r2 profile reports this rule as a warning, not an error.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Client]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Client]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.1\\Client]
        "Enabled"=dword:00000000

    When absent: the OS default, which keeps TLS 1.0 enabled on every released Windows version (a
    failure); undecided when the OS is unknown.

    References: learn.microsoft.com/windows/win32/secauthn/tls-10-11-deprecation-in-windows; RFC 8996.
    """
    return require(ctx, *REQUIREMENTS["SCH010"])


@rule("SCH011", "tls10-tls11-server-off", "error")
def old_tls_server(ctx: Context) -> Outcome:
    """TLS 1.0 and TLS 1.1 must be off for the Server role.

    What it checks: both are disabled (``Enabled`` = 0) or not supported; with the absence policy
    ``finding`` (STIG) each needs Enabled=0 and DisabledByDefault=1 set explicitly.

    Why: the IIS 10.0 STIG requires it; RFC 8996 deprecates both. NIST SP 800-52r2 allows TLS 1.0/1.1 for
    some servers: our sources leave this UNCERTAIN, so nist-800-52r2 reports a warning.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.1\\Server]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.1\\Server]
        "Enabled"=dword:00000000

    When absent: the OS default keeps both enabled (a failure); with the STIG absence policy an absent
    value is a finding.

    References: DISA IIS 10.0 Server STIG V-218821; RFC 8996.
    """
    return require(ctx, *REQUIREMENTS["SCH011"])


@rule("SCH012", "tls13-enabled-unsupported", "warning")
def tls13_unsupported(ctx: Context) -> Outcome:
    """TLS 1.3 (and DTLS 1.3) must not be switched on where Windows cannot use it.

    What it checks: an explicit ``Enabled`` other than 0 for TLS 1.3 or DTLS 1.3 on a Windows version
    before Windows 11 / Server 2022.

    Why: the registry cannot add protocol support; Microsoft calls TLS 1.3 on earlier Windows "not a safe
    system configuration". The value does nothing there, and an image built that way behaves differently
    than its author believes.

    Example machine: server2019-configured

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.3\\Client]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.3\\Client]
        "Enabled"=dword:00000000

    When absent: nothing to report. With the OS unknown an explicit TLS 1.3 value is undecided.

    References: learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-.
    """
    parts: list[Part] = []
    for protocol in ("TLS 1.3", "DTLS 1.3"):
        for role in ROLES:
            reading = read_dword(ctx.machine, role_key(protocol, role), "Enabled")
            if not reading.number:
                continue
            where = ctx.location(role_key(protocol, role), "Enabled")
            if ctx.os is None:
                parts.append((UNDECIDED, Hit(f"{protocol} {role} is switched on, and the OS is not known", where)))
            elif default_state(ctx.os, protocol, role) == UNSUPPORTED:
                parts.append((FAIL, Hit(f"{protocol} {role} is switched on, but {ctx.os.name} cannot use it", where)))
    return combine(parts, "no TLS 1.3 switched on where Windows cannot use it")


@rule("SCH013", "tls13-available", "warning")
def tls13_available(ctx: Context) -> Outcome:
    """TLS 1.3 should be available for Client and Server.

    What it checks: TLS 1.3 is enabled (offered by default) for both roles: Windows 11 / Server 2022 and
    later, not switched off.

    Why: NIST SP 800-52r2 asked agencies to support TLS 1.3 by 1 January 2024. A Windows version before
    Windows 11 / Server 2022 cannot, which this rule reports.

    Example machine: server2019-configured

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]
        "CurrentBuildNumber"="20348"
        "CurrentBuild"="20348"
        "ProductName"="Windows Server 2022 Datacenter"
        "InstallationType"="Server"

    When absent: the OS default (enabled from Windows 11 / Server 2022); undecided when the OS is unknown.

    References: NIST SP 800-52 Rev. 2; learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-.
    """
    return require(ctx, *REQUIREMENTS["SCH013"])


@rule("SCH014", "protocol-state-undocumented", "note")
def undocumented(ctx: Context) -> Outcome:
    """Multi-Protocol Unified Hello and DTLS 1.3 values are reported, not scored.

    What it checks: explicit values for the two protocol keys that Microsoft's protocol tables do not
    cover (UNCERTAIN whether and how Schannel reads them).

    Why: hardening scripts create them; their effect is undocumented, so a reviewer should know they
    are there rather than rely on them.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\DTLS 1.3\\Server]
        "Enabled"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\DTLS 1.2\\Server]
        "Enabled"=dword:00000000

    When absent: nothing to report.

    References: learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp- (the protocols
    it lists); Microsoft xPSDesiredStateConfiguration SecureTLSProtocols.psm1
    (https://github.com/dsccommunity/xPSDesiredStateConfiguration).
    """
    hits = []
    for protocol in ("Multi-Protocol Unified Hello", "DTLS 1.3"):
        for role in ROLES:
            for value in ctx.machine.values(role_key(protocol, role)):
                hits.append(Hit(f"{protocol} {role}: {value.name} is set, but Microsoft documents no effect for "
                                f"{protocol}", ctx.location(role_key(protocol, role), value.name)))
    if hits:
        return Outcome(FAIL, f"{len(hits)} undocumented protocol value(s)", tuple(hits))
    return Outcome(PASS, "no undocumented protocol values")
