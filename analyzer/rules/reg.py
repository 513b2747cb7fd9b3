"""REG rules: lines of ``.reg`` files that Windows regedit rejects or reads differently (tls-facts.md §8)."""

from __future__ import annotations

from analyzer.registry import ABBREVIATED_ROOTS
from analyzer.rules import FAIL, PASS, Context, Hit, Location, Outcome, rule
from analyzer.sources import Diagnostic


def _hit(d: Diagnostic) -> Hit:
    return Hit(d.message, Location(d.file, d.line, d.key, None, d.column))


def _abbreviated(d: Diagnostic) -> bool:
    return d.code == "unknown-root" and (d.key or "").partition("\\")[0].upper() in ABBREVIATED_ROOTS


def _diagnostics(ctx: Context, level: str) -> list[Diagnostic]:
    return [d for reg in ctx.loaded.regs for d in reg.diagnostics if d.level == level]


@rule("REG001", "reg-line-rejected", "error")
def rejected(ctx: Context) -> Outcome:
    """Every line of a .reg file must be one that Windows regedit imports.

    What it checks: the header, encoding, key lines, value names, data (``"text"``, ``dword:`` with 1-8
    hex digits, ``hex:``, ``hex(N):``, continuations), comments and deletions, as regedit parses them.

    Why: regedit skips a line it cannot read and imports the rest without saying so, so a typo
    silently leaves a setting unchanged (a wrong header or encoding skips the whole file).

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:000000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001

    When absent: applies only to .reg inputs.

    References: Wine regedit/reg import tests, run on Windows (../shared/knowledge/regedit-conformance);
    support.microsoft.com (KB310516, .reg file syntax).
    """
    hits = [_hit(d) for d in _diagnostics(ctx, "error") if not _abbreviated(d)]
    if hits:
        return Outcome(FAIL, f"{len(hits)} line(s) regedit rejects or ignores", tuple(hits))
    return Outcome(PASS, "every .reg line imports")


@rule("REG002", "reg-abbreviated-root", "error")
def abbreviated_root(ctx: Context) -> Outcome:
    """Key lines must use full root names: regedit ignores [HKLM\\...] and the values below it.

    What it checks: key lines whose root is an abbreviation (``HKLM``, ``HKCU``, ``HKCR``, ``HKU``,
    ``HKCC``).

    Why: ``reg add`` and PowerShell accept abbreviations, so they leak into .reg files; regedit knows only
    ``HKEY_LOCAL_MACHINE`` and the other full names and drops every value until the next key line.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001

    When absent: applies only to .reg inputs.

    References: Wine regedit (long root names only) and its tests (an unknown root drops the section).
    """
    hits = [_hit(d) for d in _diagnostics(ctx, "error") if _abbreviated(d)]
    if hits:
        return Outcome(FAIL, f"{len(hits)} key line(s) with an abbreviated root", tuple(hits))
    return Outcome(PASS, "no abbreviated roots")


@rule("REG003", "reg-suspicious", "warning")
def suspicious(ctx: Context) -> Outcome:
    """A .reg line imports, but maybe not as intended.

    What it checks: a UTF-8 byte-order mark, text after a key line's ``]``, a key name ending in a
    blank, an unknown escape such as ``\\t`` in quotes, a file ending inside a continued hex value.

    Why: each imports without an error, yet the result often differs from what the author meant
    (``[...\\Client ]`` creates a key named ``Client `` that Schannel never reads).

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319 ]
        "SchUseStrongCrypto"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

    When absent: applies only to .reg inputs.

    References: Wine regedit import tests (trailing blanks stay part of a key name).
    """
    hits = [_hit(d) for d in _diagnostics(ctx, "warning")]
    if hits:
        return Outcome(FAIL, f"{len(hits)} suspicious .reg line(s)", tuple(hits))
    return Outcome(PASS, "nothing suspicious")
