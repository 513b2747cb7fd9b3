"""REG rules: lines of ``.reg`` files that Windows regedit rejects or reads differently (tls-facts.md §8)."""

from __future__ import annotations

from collections.abc import Iterator

from analyzer.knowledge import read_dword
from analyzer.knowledge.keynames import near_miss
from analyzer.knowledge.schannel import ROLES, role_key
from analyzer.registry import ABBREVIATED_ROOTS, Path, fold, fold_path, join_path, printable
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

    References: Wine regedit/reg import tests, run on Windows
    (https://gitlab.winehq.org/wine/wine/-/tree/master/programs/regedit/tests);
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

    References: Wine regedit (long root names only) and its tests (an unknown root drops the section):
    https://gitlab.winehq.org/wine/wine/-/tree/master/programs/regedit/tests.
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

    References: Wine regedit import tests (trailing blanks stay part of a key name):
    https://gitlab.winehq.org/wine/wine/-/tree/master/programs/regedit/tests.
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


def _change_set_paths(ctx: Context) -> Iterator[tuple[Path, Location]]:
    """Each key path a change set names (first mention), with where (a Registry.pol op's line is a byte offset)."""
    seen: set[tuple[str, ...]] = set()
    sets = [(r.path, r.ops, False) for r in ctx.loaded.regs] + [(p.path, p.ops, True) for p in ctx.loaded.pols]
    for file, ops, offsets in sets:
        for op in ops:
            folded = tuple(fold(p) for p in op.path)
            if folded not in seen:
                seen.add(folded)
                yield op.path, (Location(file, None, join_path(op.path), offset=op.line) if offsets
                                else Location(file, op.line, join_path(op.path), None, op.column))


@rule("REG005", "reg-key-misspelled", "error")
def misspelled(ctx: Context) -> Outcome:
    """Keys for .NET, WinHTTP, WinINet and the suite-order policy must be spelled as Windows reads them.

    What it checks: every key a change set (.reg or Registry.pol) writes whose name, without backslashes,
    blanks and dots, spells ``SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319`` or ``v2.0.50727`` (native or
    ``WOW6432Node``), ``...\\Internet Settings\\WinHttp``, ``...\\CurrentVersion\\Internet Settings`` (HKLM,
    HKCU, ``Policies``) or ``Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002`` although its
    components differ; and ``.NETFramework`` subkeys that start like ``v4.0.``/``v2.0.`` but are not those
    versions.

    Why: Windows opens these keys by their exact names. ``Microsoft.NETFramework`` (the separator before
    ``.NETFramework`` missing, found in a real repository) or ``InternetSettings`` is another key that
    nothing reads, so the intended setting silently does nothing.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

    When absent: applies only to change sets (.reg and Registry.pol inputs).

    References: learn.microsoft.com/dotnet/framework/network-programming/tls (.NET keys);
    support.microsoft.com/help/3140245 (WinHttp key); learn.microsoft.com/windows-server/security/tls/
    manage-tls (suite order policy key); analyzer/knowledge/keynames.py.
    """
    hits = []
    for path, where in _change_set_paths(ctx):
        meant = near_miss(path)
        if meant is not None:
            hits.append(Hit(f"key {printable(join_path(path))!r} is not one Windows reads; did you mean "
                            f"{join_path(meant)!r}?", where))
    if hits:
        return Outcome(FAIL, f"{len(hits)} misspelled key(s)", tuple(hits))
    return Outcome(PASS, "every .NET, WinHTTP, WinINet and policy key is spelled as Windows reads it")


OLD_PROTOCOLS = ("PCT 1.0", "SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")


@rule("REG006", "reg-old-protocol-switched-on", "error")
def switched_on(ctx: Context) -> Outcome:
    """A change set must not switch on PCT 1.0, SSL 2.0, SSL 3.0, TLS 1.0 or TLS 1.1.

    What it checks: a change set that leaves, under ``SCHANNEL\\Protocols\\<protocol>\\Client`` or
    ``Server`` of one of these protocols, ``Enabled`` = 1 or 0xffffffff, or ``DisabledByDefault`` = 0. It
    is a finding whatever the OS (no OS needs to be known).

    Why: each value turns the protocol on. ``Enabled`` = 1 alone (``DisabledByDefault`` absent) makes
    the protocol available to every application that asks for it, and offered by default wherever the
    OS default for ``DisabledByDefault`` is 0 (TLS 1.0/1.1 on Windows 7 to Windows 10): Schannel reads
    ``Enabled`` = 0 as off and any other value as on, and ``DisabledByDefault`` = 0 as offered by default
    (learn.microsoft.com/windows-server/security/tls/tls-registry-settings; KB245030).

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\SSL 3.0\\Server]
        "Enabled"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\SSL 3.0\\Server]
        "Enabled"=dword:00000000
        "DisabledByDefault"=dword:00000001

    When absent: applies only to change sets (.reg and Registry.pol inputs).

    References: https://learn.microsoft.com/windows-server/security/tls/tls-registry-settings;
    https://support.microsoft.com/help/245030 (KB245030).
    """
    files = {r.path for r in ctx.loaded.regs} | {p.path for p in ctx.loaded.pols}
    hits = []
    for protocol in OLD_PROTOCOLS:
        for role in ROLES:
            key = role_key(protocol, role)
            for name, on in (("Enabled", (1, 0xFFFFFFFF)), ("DisabledByDefault", (0,))):
                reading = read_dword(ctx.machine, key, name)
                if reading.value is None or reading.value.origin.file not in files or reading.number not in on:
                    continue
                hits.append(Hit(f"{protocol}\\{role}: {reading.show()} switches {protocol} on",
                                ctx.location(key, name)))
    if hits:
        return Outcome(FAIL, f"{len(hits)} value(s) switch an old protocol on", tuple(hits))
    return Outcome(PASS, "no change set switches an old protocol on")
