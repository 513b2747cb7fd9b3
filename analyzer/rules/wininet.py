"""WIN rules: WinINet ``SecureProtocols`` for the machine, every user and both Group Policy branches."""

from __future__ import annotations

from analyzer.knowledge.wininet import SSL2, SSL3, TLS12, configured
from analyzer.rules import FAIL, NOT_APPLICABLE, PASS, Context, Hit, Outcome, rule


def _hits(ctx: Context, bad: int, want: bool) -> tuple[list[Hit], int]:
    """A hit for each configured value that lacks (``want``) or has any of the ``bad`` bits, and how many exist."""
    names = {u.key: f"{u.name} ({u.sid})" if u.sid else u.name for u in ctx.loaded.users}
    found = configured(ctx.machine, names)
    hits = []
    for who, path, reading in found:
        mask = reading.number
        where = ctx.location(path, reading.name)
        if mask is None:
            if want:
                hits.append(Hit(f"{who}: {reading.problem}; WinINet is not documented to read it", where))
        elif want and not mask & bad:
            hits.append(Hit(f"{who}: SecureProtocols=0x{mask:x} does not include TLS 1.2 (0x800)", where))
        elif not want and mask & bad:
            ssl = [n for bit, n in ((SSL2, "SSL 2.0"), (SSL3, "SSL 3.0")) if mask & bit]
            hits.append(Hit(f"{who}: SecureProtocols=0x{mask:x} turns on {' and '.join(ssl)}", where))
    return hits, len(found)


@rule("WIN001", "wininet-tls12", "error")
def wininet_tls12(ctx: Context) -> Outcome:
    """Wherever WinINet SecureProtocols is set, it must include TLS 1.2.

    What it checks: every ``SecureProtocols`` value under ``Software\\Microsoft\\Windows\\CurrentVersion\\
    Internet Settings`` and ``Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings``,
    in HKLM and in each user's hive (HKEY_USERS\\<SID>, HKCU), is a REG_DWORD with bit 0x800 (TLS 1.2).

    Why: WinINet (Internet Options, and the programs built on it) offers only the protocols this mask
    names; 0x28 (SSL 2.0 + SSL 3.0), 0xa0 or 0x80 leave no TLS 1.2, so HTTPS to a TLS 1.2-only server
    fails. Policy values win over the user's, the user's over the machine's; each configured value is
    checked, since a lower one applies as soon as the one above it goes away.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]
        "SecureProtocols"=dword:00000028

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]
        "SecureProtocols"=dword:00000a80

    When absent: not applicable (the OS default applies; the settings list shows it, and marks the
    defaults after Windows 10 20H2 as not documented: UNCERTAIN).

    References: https://learn.microsoft.com/windows/win32/winhttp/option-flags (bit values);
    https://support.microsoft.com/help/5017811 (KB5017811: WinINet TLS 1.0/1.1 off by default from September 2022);
    https://winreg-kb.readthedocs.io Internet Explorer keys: Policies (order of application); CIS IE 11
    "Turn off Encryption Support".
    """
    hits, found = _hits(ctx, TLS12, True)
    if hits:
        return Outcome(FAIL, f"{len(hits)} SecureProtocols value(s) without TLS 1.2", tuple(hits))
    if not found:
        return Outcome(NOT_APPLICABLE, "no SecureProtocols value is set: the OS default applies")
    return Outcome(PASS, f"all {found} SecureProtocols value(s) include TLS 1.2")


@rule("WIN002", "wininet-ssl-enabled", "error")
def wininet_ssl(ctx: Context) -> Outcome:
    """WinINet SecureProtocols must not turn on SSL 2.0 or SSL 3.0.

    What it checks: no ``SecureProtocols`` value (machine or user, preference or policy) has bit 0x8
    (SSL 2.0) or 0x20 (SSL 3.0).

    Why: both protocols are broken (DROWN, POODLE); a WinINet client that offers them can be pushed
    down to them. STIG DTBI014 and the CIS Internet Explorer benchmark require the policy without SSL.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]
        "SecureProtocols"=dword:00000aa0

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]
        "SecureProtocols"=dword:00000a00

    When absent: not applicable (no documented default includes SSL 2.0 or 3.0 on supported Windows).

    References: https://learn.microsoft.com/windows/win32/winhttp/option-flags (bit values); DISA STIG DTBI014
    "The IE TLS parameter must be set correctly".
    """
    hits, found = _hits(ctx, SSL2 | SSL3, False)
    if hits:
        return Outcome(FAIL, f"{len(hits)} SecureProtocols value(s) turn on SSL", tuple(hits))
    if not found:
        return Outcome(NOT_APPLICABLE, "no SecureProtocols value is set")
    return Outcome(PASS, f"none of the {found} SecureProtocols value(s) turns on SSL")
