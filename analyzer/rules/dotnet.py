"""NET rules: .NET Framework strong crypto in both registry views (tls-facts.md §4)."""

from __future__ import annotations

from analyzer.knowledge.dotnet import ON, UNKNOWN, V4, netfx_key
from analyzer.rules import FAIL, PASS, UNDECIDED, Context, Hit, Outcome, Part, combine, rule

VIEW_NAMES = {"64": "64-bit", "32": "32-bit (WOW6432Node)"}


def _both_views(ctx: Context, name: str) -> Outcome:
    parts: list[Part] = []
    for view, label in VIEW_NAMES.items():
        setting = ctx.settings[f"dotnet/{V4}/{view}/{name}"]
        if setting.state == ON:
            parts.append((PASS, None))
            continue
        status = UNDECIDED if setting.state == UNKNOWN else FAIL
        where = ctx.setting_location(setting, netfx_key(view), name)
        parts.append((status, Hit(f"{label} view: {name} is {setting.state} ({setting.detail})", where)))
    return combine(parts, f"{name}=1 in both views")


@rule("NET001", "dotnet-strong-crypto", "error")
def strong_crypto(ctx: Context) -> Outcome:
    """.NET v4.0.30319 SchUseStrongCrypto must be 1 in the 64-bit and the 32-bit registry view.

    What it checks: ``SchUseStrongCrypto`` = DWORD 1 under
    ``HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319`` and under
    ``HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319``.

    Why: with it, .NET Framework 4.x applications ask Schannel for strong cryptography (no RC4, no
    SSL 3.0; TLS 1.1/1.2 available to applications built for older frameworks). The 32-bit view is what
    32-bit applications read on 64-bit Windows.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

    When absent: a failure. The default then depends on the framework each application targets
    (on for 4.6 and later), which registry data cannot show, so the Azure Backup article requires the
    explicit value. With no SOFTWARE hive and no input setting it, the rule is undecided.

    References: learn.microsoft.com/azure/backup/transport-layer-security;
    learn.microsoft.com/dotnet/framework/network-programming/tls.
    """
    return _both_views(ctx, "SchUseStrongCrypto")


@rule("NET002", "dotnet-system-default-tls", "error")
def system_default(ctx: Context) -> Outcome:
    """.NET v4.0.30319 SystemDefaultTlsVersions must be 1 in the 64-bit and the 32-bit registry view.

    What it checks: ``SystemDefaultTlsVersions`` = DWORD 1 under
    ``HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319`` and its ``WOW6432Node`` twin.

    Why: with it, .NET Framework 4.x applications let Windows (Schannel) choose the TLS version instead
    of hard-coding old defaults, so TLS 1.2 is used where Windows offers it.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SystemDefaultTlsVersions"="1"

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319]
        "SystemDefaultTlsVersions"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SystemDefaultTlsVersions"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319]
        "SystemDefaultTlsVersions"=dword:00000001

    When absent: a failure (the default is 1 only for applications targeting .NET 4.7 and later).
    With no SOFTWARE hive and no input setting it, the rule is undecided.

    References: learn.microsoft.com/azure/backup/transport-layer-security;
    learn.microsoft.com/dotnet/framework/network-programming/tls.
    """
    return _both_views(ctx, "SystemDefaultTlsVersions")
