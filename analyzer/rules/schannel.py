"""SCH rules: Schannel protocol keys and values (tls-facts.md §1-§2)."""

from __future__ import annotations

from collections.abc import Iterator

from analyzer.knowledge import read_dword
from analyzer.knowledge.schannel import ENABLED, PROTOCOLS_KEY, ROLES, UNKNOWN
from analyzer.registry import fold
from analyzer.rules import FAIL, PASS, UNDECIDED, Context, Hit, Outcome, rule

# tls-facts.md §1.2: every protocol subkey name Schannel documents (or that Microsoft tools create).
KNOWN_PROTOCOLS = ("Multi-Protocol Unified Hello", "PCT 1.0", "SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1",
                   "TLS 1.2", "TLS 1.3", "DTLS 1.0", "DTLS 1.2", "DTLS 1.3")
_KNOWN = {fold(p): p for p in KNOWN_PROTOCOLS}
_COMPACT = {fold(p).replace(" ", "").replace("-", ""): p for p in KNOWN_PROTOCOLS}
_ROLES = {fold(r): r for r in ROLES}
VALUES = ("Enabled", "DisabledByDefault")


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
    setting = ctx.settings["schannel/TLS 1.2/Client"]
    if setting.state == ENABLED:
        return Outcome(PASS, f"TLS 1.2 Client is enabled ({setting.source}): {setting.detail}")
    if setting.state == UNKNOWN:
        return Outcome(UNDECIDED, f"TLS 1.2 Client state cannot be decided: {setting.detail}")
    where = ctx.setting_location(setting, (*PROTOCOLS_KEY, "TLS 1.2", "Client"), "Enabled")
    message = f"TLS 1.2 Client is {setting.state} ({setting.source}): {setting.detail}"
    return Outcome(FAIL, message, (Hit(message, where),))


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
    tls-facts.md §1.1-§1.2.
    """
    hits = []
    for name in ctx.machine.subkeys(PROTOCOLS_KEY):
        key = (*PROTOCOLS_KEY, name)
        if fold(name) not in _KNOWN:
            guess = _COMPACT.get(fold(name).strip().replace(" ", "").replace("-", ""))
            hint = f"; did you mean {guess!r}?" if guess else ""
            hits.append(Hit(f"protocol key {name!r} is not one Schannel reads{hint}", ctx.location(key)))
            continue
        for role in ctx.machine.subkeys(key):
            if fold(role) not in _ROLES:
                guess = next((r for r in ROLES if fold(r) == fold(role).strip().rstrip("S")), None)
                hint = f"; did you mean {guess!r}?" if guess else ""
                hits.append(Hit(f"{name}\\{role}: role key {role!r} is not Client or Server{hint}",
                                ctx.location((*key, role))))
    if hits:
        return Outcome(FAIL, f"{len(hits)} misspelled protocol or role key(s)", tuple(hits))
    return Outcome(PASS, "every protocol and role key is spelled as Schannel reads it")


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

    References: learn.microsoft.com/windows-server/security/tls/tls-registry-settings; tls-facts.md §1.1.
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


def _role_readings(ctx: Context) -> Iterator[tuple[str, str, str, object]]:
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
    tls-facts.md §1.3 (wrong types: UNCERTAIN how Schannel reacts).
    """
    hits = []
    for name, role, value_name, reading in _role_readings(ctx):
        problem = reading.problem  # type: ignore[attr-defined]
        if problem:
            hits.append(Hit(f"{name}\\{role}: {problem}; Windows is not documented to read it",
                            ctx.location((*PROTOCOLS_KEY, name, role), value_name)))
    if hits:
        return Outcome(FAIL, f"{len(hits)} protocol value(s) with the wrong type or size", tuple(hits))
    return Outcome(PASS, "every protocol value is a REG_DWORD")


def _odd_values(ctx: Context, legacy: bool) -> list[Hit]:
    hits = []
    for name, role, value_name, reading in _role_readings(ctx):
        number = reading.number  # type: ignore[attr-defined]
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

    References: tls-facts.md §1.3 (UNCERTAIN: undocumented values).
    """
    hits = _odd_values(ctx, legacy=False)
    if hits:
        return Outcome(FAIL, f"{len(hits)} undocumented protocol value(s)", tuple(hits))
    return Outcome(PASS, "every protocol value is 0 or 1")
