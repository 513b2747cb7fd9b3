"""WHT rules: WinHTTP default secure protocols (tls-facts.md §5.1)."""

from __future__ import annotations

from analyzer.knowledge.winhttp import INVALID, SET, TLS12, UNKNOWN, winhttp_key
from analyzer.rules import FAIL, NOT_APPLICABLE, PASS, UNDECIDED, Context, Hit, Outcome, Part, combine, rule
from analyzer.rules.updates import kb3140245_applies

VIEW_NAMES = {"64": "64-bit", "32": "32-bit (WOW6432Node)"}


@rule("WHT001", "winhttp-tls12-default", "error")
def winhttp_tls12(ctx: Context) -> Outcome:
    """On Windows 7, Server 2008 R2 and Server 2012, WinHTTP DefaultSecureProtocols must include TLS 1.2.

    What it checks: ``DefaultSecureProtocols`` under
    ``HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp`` and its
    ``WOW6432Node`` twin is a REG_DWORD with bit 0x800 (TLS 1.2) set.

    Why: on these versions WinHTTP, which the Azure Backup agent uses, defaults to SSL 3.0 and TLS 1.0
    only. KB3140245 adds the value but does not set it; the Azure Backup article requires the registry
    change from the KB.

    Example machine: server2008r2-sp1-untouched

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp]
        "DefaultSecureProtocols"=dword:000000a0

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp]
        "DefaultSecureProtocols"=dword:00000a00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp]
        "DefaultSecureProtocols"=dword:00000a00

    When absent: a failure on Windows 7 / 2008 R2 / 2012 (the default there is 0xa0, no TLS 1.2); not
    applicable on other versions; undecided when the OS is unknown and the values do not settle it.

    References: learn.microsoft.com/azure/backup/transport-layer-security;
    support.microsoft.com/help/3140245; learn.microsoft.com/windows/win32/winhttp/option-flags.
    """
    applies = kb3140245_applies(ctx.os)
    parts: list[Part] = []
    for view, label in VIEW_NAMES.items():
        setting = ctx.settings[f"winhttp/{view}/DefaultSecureProtocols"]
        mask = setting.extra.get("mask")
        if setting.state == "not-applicable" or (setting.state == SET and isinstance(mask, int) and mask & TLS12):
            parts.append((PASS, None))
            continue
        status = UNDECIDED if setting.state == UNKNOWN or applies is None else FAIL
        if setting.state == SET:
            what = f"DefaultSecureProtocols=0x{mask:x} does not include TLS 1.2 (0x800)"
        elif setting.state == INVALID:
            what = setting.detail
        elif isinstance(mask, int):
            what = f"DefaultSecureProtocols is absent, so WinHTTP uses its default 0x{mask:x} (no TLS 1.2)"
        else:
            what = f"DefaultSecureProtocols: {setting.detail}"
        where = ctx.setting_location(setting, winhttp_key(view), "DefaultSecureProtocols")
        parts.append((status, Hit(f"{label} view: {what}", where)))
    outcome = combine(parts, "DefaultSecureProtocols includes TLS 1.2 in both views")
    if applies is False and outcome.status != PASS:
        return Outcome(NOT_APPLICABLE, f"not needed on {ctx.os.name if ctx.os else 'this OS'}: WinHTTP "
                       "supports TLS 1.2 by default")
    if applies is None and outcome.status != PASS:
        return Outcome(UNDECIDED, "the OS is not known, so whether WinHTTP needs DefaultSecureProtocols "
                       "cannot be decided")
    return outcome
