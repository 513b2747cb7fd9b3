"""NET rules: .NET Framework strong crypto in both registry views (tls-facts.md §4)."""

from __future__ import annotations

from analyzer.knowledge.dotnet import NOT_APPLICABLE, ON, UNKNOWN, V2, V4, netfx_key
from analyzer.rules import FAIL, PASS, UNDECIDED, Context, Hit, Outcome, Part, combine, rule

VIEW_NAMES = {"64": "64-bit", "32": "32-bit (WOW6432Node)"}


def both_views(ctx: Context, name: str, version: str = V4) -> Outcome:
    """``name`` = 1 under ``.NETFramework\\<version>`` in the 64-bit and (on 64-bit Windows) the 32-bit view."""
    parts: list[Part] = []
    for view, label in VIEW_NAMES.items():
        setting = ctx.settings[f"dotnet/{version}/{view}/{name}"]
        if setting.state in (ON, NOT_APPLICABLE):
            parts.append((PASS, None))
            continue
        status = UNDECIDED if setting.state == UNKNOWN else FAIL
        where = ctx.setting_location(setting, netfx_key(view, version), name)
        parts.append((status, Hit(f"{label} view: {version} {name} is {setting.state} ({setting.detail})", where)))
    return combine(parts, f"{version} {name}=1 in both views")


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
    return both_views(ctx, "SchUseStrongCrypto")


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
    return both_views(ctx, "SystemDefaultTlsVersions")


@rule("NET003", "dotnet35-strong-crypto", "error")
def strong_crypto_v2(ctx: Context) -> Outcome:
    """.NET v2.0.50727 (.NET 3.5) SchUseStrongCrypto must be 1 in both registry views.

    What it checks: ``SchUseStrongCrypto`` = DWORD 1 under ``HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727``
    and its ``WOW6432Node`` twin (not needed on 32-bit Windows, which has no such view).

    Why: applications built for .NET 2.0-3.5 read the v2.0.50727 key; Configuration Manager's TLS 1.2
    guidance sets it. .NET 3.5 also needs the "TLS System Default Versions" hotfix on older Windows.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727]
        "SchUseStrongCrypto"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v2.0.50727]
        "SchUseStrongCrypto"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727]
        "SchUseStrongCrypto"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v2.0.50727]
        "SchUseStrongCrypto"=dword:00000001

    When absent: a failure (the default depends on each application); undecided without a SOFTWARE hive.

    References: learn.microsoft.com/mem/configmgr/core/plan-design/security/enable-tls-1-2-client;
    learn.microsoft.com/dotnet/framework/network-programming/tls.
    """
    return both_views(ctx, "SchUseStrongCrypto", V2)


@rule("NET004", "dotnet35-system-default-tls", "error")
def system_default_v2(ctx: Context) -> Outcome:
    """.NET v2.0.50727 (.NET 3.5) SystemDefaultTlsVersions must be 1 in both registry views.

    What it checks: ``SystemDefaultTlsVersions`` = DWORD 1 under ``.NETFramework\\v2.0.50727`` in the 64-bit
    and the ``WOW6432Node`` view (not needed on 32-bit Windows).

    Why: it lets .NET 3.5 applications use the protocol versions Windows offers (with the .NET 3.5
    "TLS System Default Versions" hotfix on older Windows).

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727]
        "SystemDefaultTlsVersions"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v2.0.50727]
        "SystemDefaultTlsVersions"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727]
        "SystemDefaultTlsVersions"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v2.0.50727]
        "SystemDefaultTlsVersions"=dword:00000001

    When absent: a failure; undecided without a SOFTWARE hive.

    References: learn.microsoft.com/mem/configmgr/core/plan-design/security/enable-tls-1-2-client;
    learn.microsoft.com/dotnet/framework/network-programming/tls.
    """
    return both_views(ctx, "SystemDefaultTlsVersions", V2)
