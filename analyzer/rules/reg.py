"""REG rules: lines of ``.reg`` files that Windows regedit rejects or reads differently (tls-facts.md §8)."""

from __future__ import annotations

from analyzer.registry import ABBREVIATED_ROOTS, fold, fold_path
from analyzer.rules import FAIL, PASS, Context, Hit, Location, Outcome, rule
from analyzer.sources import Diagnostic
from analyzer.sources.regfile import OpKind


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


@rule("REG004", "reg-value-set-twice", "warning")
def set_twice(ctx: Context) -> Outcome:
    """A .reg file should not set the same value twice with different data.

    What it checks: within one ``.reg`` file, a value (same key and name, compared without case) set
    more than once with a different type or data, or set and deleted.

    Why: regedit applies the lines in order, so the last one wins silently; two different values for
    the same setting in one file are almost always a merge or copy-paste mistake.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "DisabledByDefault"=dword:00000000

    When absent: applies only to .reg inputs.

    References: support.microsoft.com (KB310516: a .reg file is applied in order).
    """
    hits = []
    for reg in ctx.loaded.regs:
        seen: dict[tuple[tuple[str, ...], str], tuple[int, object]] = {}
        for op in reg.ops:
            if op.kind not in (OpKind.SET_VALUE, OpKind.DELETE_VALUE) or op.name is None:
                continue
            key = (fold_path(op.path), fold(op.name))
            data = (op.type_num, op.data) if op.kind is OpKind.SET_VALUE else None
            if key in seen and seen[key][1] != data:
                what = "deletes" if data is None else "sets"
                hits.append(Hit(f"{what} {op.name or '(default)'} again, differently from line {seen[key][0]}: the "
                                "last line wins", Location(reg.path, op.line, "\\".join(op.path), op.name, op.column)))
            seen[key] = (op.line, data)
    if hits:
        return Outcome(FAIL, f"{len(hits)} value(s) set twice with different data", tuple(hits))
    return Outcome(PASS, "no value is set twice differently")
