"""OS rules: updates the Azure Backup article requires on older Windows (tls-facts.md §0, §7.2)."""

from __future__ import annotations

from analyzer.knowledge.osinfo import OsInfo
from analyzer.knowledge.updates import INSTALLED, LIMITS, NOT_FOUND, PACKAGES, PRESENT
from analyzer.rules import FAIL, NOT_APPLICABLE, PASS, UNDECIDED, Context, Hit, Outcome, rule


def kb3140245_applies(os: OsInfo | None) -> bool | None:
    """Windows 7, Server 2008 R2 and Server 2012 need KB3140245 (None when the OS is unknown)."""
    if os is None:
        return None
    return 7600 <= os.build < 9200 or (os.server and 9200 <= os.build < 9600)


def kb4019276_applies(os: OsInfo | None) -> bool | None:
    """Server 2008 SP2 needs KB4019276 (None when the OS is unknown)."""
    if os is None:
        return None
    return os.server and 6002 <= os.build < 7600


def _kb(ctx: Context, kb: str, applies: bool | None, what: str) -> Outcome:
    if applies is False:
        assert ctx.os is not None
        return Outcome(NOT_APPLICABLE, f"{kb} is not needed on {ctx.os.name}")
    if applies is None:
        return Outcome(UNDECIDED, f"the OS is not known (no SOFTWARE hive), so whether {kb} is needed "
                       "cannot be decided")
    setting = ctx.settings[f"update/{kb}"]
    if setting.state == INSTALLED:
        return Outcome(PASS, f"{kb} is installed ({what})")
    if setting.state == PRESENT:
        message = f"{kb} is required on {ctx.os.name if ctx.os else 'this OS'} ({what}): {setting.detail}"
        return Outcome(FAIL, message, (Hit(message, ctx.setting_location(setting, PACKAGES)),))
    if setting.state == NOT_FOUND:
        return Outcome(UNDECIDED, f"{kb} is required ({what}) and no installed package for it was found; "
                       f"{LIMITS}: check the machine's update history")
    return Outcome(UNDECIDED, f"{kb} is required ({what}); {setting.detail}")


@rule("OS001", "kb3140245-installed", "error")
def kb3140245(ctx: Context) -> Outcome:
    """Windows 7, Server 2008 R2 and Server 2012 must have KB3140245 (TLS 1.1/1.2 for WinHTTP).

    What it checks: on those versions, a Component Based Servicing package for KB3140245 with
    ``CurrentState`` = 0x70 (installed) under ``HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component
    Based Servicing\\Packages``.

    Why: without it WinHTTP cannot use TLS 1.1/1.2 by default, whatever the registry says. Installing
    it is not enough: WHT001 checks the DefaultSecureProtocols value the KB asks for.

    Example machine: server2008r2-sp1-untouched

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages\\Package_for_KB3140245~31bf3856ad364e35~amd64~~6.1.1.0]
        "CurrentState"=dword:00000020

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages\\Package_for_KB3140245~31bf3856ad364e35~amd64~~6.1.1.0]
        "CurrentState"=dword:00000070

    When absent: undecided, not failed: a later cumulative rollup can include the fix without its own
    package key, so a missing package does not prove the fix is missing. Not applicable on other
    Windows versions; undecided when the OS is unknown.

    References: learn.microsoft.com/azure/backup/transport-layer-security; support.microsoft.com/help/3140245;
    CurrentState 0x70 meaning "installed" is community knowledge, not a Microsoft page (UNCERTAIN).
    """
    return _kb(ctx, "KB3140245", kb3140245_applies(ctx.os), "TLS 1.1/1.2 in WinHTTP")


@rule("OS002", "kb4019276-installed", "error")
def kb4019276(ctx: Context) -> Outcome:
    """Windows Server 2008 SP2 must have KB4019276 (TLS 1.1/1.2 in Schannel).

    What it checks: on Server 2008 SP2, a Component Based Servicing package for KB4019276 with
    ``CurrentState`` = 0x70 (installed).

    Why: Server 2008 SP2 has no TLS 1.1/1.2 before this update; after it, the Schannel values must
    still be set (SCH001 checks them).

    Example machine: server2008-sp2-kb4019276

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages\\Package_for_KB4019276~31bf3856ad364e35~amd64~~6.0.1.1]
        "CurrentState"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages\\Package_for_KB4019276~31bf3856ad364e35~amd64~~6.0.1.1]
        "CurrentState"=dword:00000070

    When absent: undecided (a rollup may include it); not applicable on other versions; undecided when
    the OS is unknown.

    References: learn.microsoft.com/azure/backup/transport-layer-security; support.microsoft.com/help/4019276.
    """
    return _kb(ctx, "KB4019276", kb4019276_applies(ctx.os), "TLS 1.1/1.2 in Schannel")
