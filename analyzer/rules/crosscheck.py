"""XCK rules: settings that disagree with their twin (role, view, control set) or changes done halfway."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from analyzer.knowledge import Setting
from analyzer.knowledge.dotnet import VALUES, VERSIONS, netfx_key
from analyzer.knowledge.schannel import PROTOCOLS, ROLES, UNKNOWN, role_key
from analyzer.knowledge.state import evaluate
from analyzer.knowledge.winhttp import winhttp_key
from analyzer.machine import Machine
from analyzer.registry import REG_DWORD, Path, dword, fold, fold_path
from analyzer.rules import FAIL, PASS, Context, Hit, Location, Outcome, rule
from analyzer.sources.regfile import Op, OpKind

_SKIP = (UNKNOWN, "not-applicable")


def _outcome(hits: list[Hit], what: str, ok: str) -> Outcome:
    return Outcome(FAIL, f"{len(hits)} {what}", tuple(hits)) if hits else Outcome(PASS, ok)


@rule("XCK001", "client-server-disagree", "warning")
def client_server(ctx: Context) -> Outcome:
    """A protocol set for one role should not contradict the other role.

    What it checks: for each protocol with an explicit value on at least one role, whether the effective
    Client and Server states differ (for example TLS 1.2 enabled for Client and disabled for Server).

    Why: most guidance sets both roles; a contradiction is usually a change done for one role and
    forgotten for the other, which breaks the service that uses the other role.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server]
        "Enabled"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server]
        "Enabled"=dword:00000001
        "DisabledByDefault"=dword:00000000

    When absent: OS defaults that differ by role (SSL 2.0 on Windows 7) are not reported.

    References: learn.microsoft.com/windows-server/security/tls/tls-registry-settings.
    """
    hits = []
    for protocol in PROTOCOLS:
        client, server = (ctx.settings[f"schannel/{protocol}/{role}"] for role in ROLES)
        if client.state in _SKIP or server.state in _SKIP or client.state == server.state:
            continue
        if "explicit" not in (client.source, server.source):
            continue
        explicit = client if client.source == "explicit" else server
        where = ctx.setting_location(explicit, role_key(protocol, "Client"))
        hits.append(Hit(f"{protocol}: Client is {client.state} ({client.source}), Server is {server.state} "
                        f"({server.source})", where))
    return _outcome(hits, "protocol(s) with contradicting roles", "no role contradicts the other")


def _view_pairs() -> Iterator[tuple[str, str, str]]:
    """(label, 64-bit setting id, 32-bit setting id) for every setting that exists in both views."""
    for version in VERSIONS:
        for name in VALUES:
            yield f".NET {version} {name}", f"dotnet/{version}/64/{name}", f"dotnet/{version}/32/{name}"
    yield "WinHTTP DefaultSecureProtocols", "winhttp/64/DefaultSecureProtocols", "winhttp/32/DefaultSecureProtocols"


@rule("XCK002", "views-disagree", "warning")
def views(ctx: Context) -> Outcome:
    """The 64-bit and the 32-bit (WOW6432Node) view should agree.

    What it checks: .NET ``SchUseStrongCrypto`` / ``SystemDefaultTlsVersions`` (v4.0.30319 and v2.0.50727) and
    WinHTTP ``DefaultSecureProtocols`` have the same state in ``SOFTWARE`` and ``SOFTWARE\\WOW6432Node``.

    Why: 32-bit applications read the WOW6432Node view; a setting made only in the 64-bit view leaves
    every 32-bit .NET or WinHTTP client on the old behaviour.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

    When absent: a setting absent in both views agrees; one that is not known in a view is skipped.
    32-bit Windows has no WOW6432Node view and is not checked.

    References: learn.microsoft.com/windows/win32/winprog64/registry-redirector;
    learn.microsoft.com/dotnet/framework/network-programming/tls.
    """
    hits = []
    for label, id64, id32 in _view_pairs():
        s64, s32 = ctx.settings[id64], ctx.settings[id32]
        if s64.state in _SKIP or s32.state in _SKIP:
            continue
        if (s64.state, s64.extra.get("mask")) == (s32.state, s32.extra.get("mask")):
            continue
        shown = [s.detail if s.state != "set" else f"{s.extra.get('mask'):#x}" for s in (s64, s32)]
        where = Location.of((s64.evidence or s32.evidence)[0]) if (s64.evidence or s32.evidence) else None
        hits.append(Hit(f"{label}: 64-bit view {s64.state} ({shown[0]}), 32-bit view {s32.state} ({shown[1]})",
                        where))
    return _outcome(hits, "setting(s) that differ between the 64-bit and the 32-bit view", "both views agree")


@rule("XCK003", "control-set-differs", "warning")
def control_sets(ctx: Context) -> Outcome:
    """Every control set of the SYSTEM hive should have the same protocol states as the current one.

    What it checks: each ``ControlSet00N`` other than the one ``Select\\Current`` names, evaluated the same
    way; any protocol whose state differs is reported with the control set's role in ``Select``
    (LastKnownGood, Default, Failed).

    Why: Windows boots a LastKnownGood or Default control set after a failed start; if TLS 1.2 is off
    there, the machine loses it exactly when someone is repairing it. A forensic examiner also wants to
    know that the registry once said something else.

    Example machine: server2016-controlset002

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.1\\Client]
        "Enabled"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [-HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2]

    When absent: applies only with a SYSTEM hive that has more than one control set. With .reg change sets
    on top of the hives (what-if, or ``regtls fix`` checking its own fix), a difference the change sets make
    in the current control set is not a finding, unless the other set is the ``Default`` one: Windows saves
    the current control set as LastKnownGood once the next boot is accepted (Select's ``LastKnownGood`` is
    "the last control set that successfully started the system", KB102984; ``NotifyBootConfigStatus(TRUE)``
    "saves the configuration as the last-known good configuration"), so a change applied to
    ``CurrentControlSet`` reaches LastKnownGood by itself and writing the other control sets is not needed.

    References: https://support.microsoft.com/kb/102984 (Select subkey entries);
    https://learn.microsoft.com/en-us/windows/win32/api/winsvc/nf-winsvc-notifybootconfigstatus
    """
    hits = []
    changed = {reg.path for reg in ctx.loaded.regs}
    deferred = 0
    before: dict[str, Setting] | None = None
    for view in ctx.state.control_sets:
        roles = f" ({', '.join(view.roles)})" if view.roles else ""
        for mine, current in view.differences:
            if "Default" not in view.roles and any(e.file in changed for e in current.evidence):
                if before is None:  # the current control set in the hives alone, without the change sets
                    before = evaluate(Machine(ctx.machine.mounts, ctx.machine.control_set)).settings
                if before[current.id].state == mine.state:
                    deferred += 1  # the change set made it; saved as LastKnownGood at the next accepted boot
                    continue
            where = Location.of(mine.evidence[0]) if mine.evidence else None
            hits.append(Hit(f"{view.name}{roles}: {mine.id.split('/', 1)[1]} is {mine.state} ({mine.detail}), "
                            f"the current control set has {current.state}", where))
    ok = "all control sets agree"
    if deferred:
        ok = (f"{deferred} difference(s) come from the .reg change to the current control set; Windows saves the "
              "current set as LastKnownGood after the next accepted boot (KB102984)")
    return _outcome(hits, "protocol state(s) differ in another control set", ok)


def _folded(path: Path) -> tuple[str, ...]:
    return fold_path(path)


Twins = dict[tuple[str, ...], tuple[tuple[str, ...], str, str]]  # folded key -> (folded twin, label, twin label)


def _switches_off(op: Op) -> bool:
    """Whether a .reg operation switches a protocol off (Enabled=0 or DisabledByDefault non-zero)."""
    number = dword(op.data) if op.kind is OpKind.SET_VALUE and op.type_num == REG_DWORD else None
    name = fold(op.name or "")
    return number is not None and ((name == "ENABLED" and number == 0) or (name == "DISABLEDBYDEFAULT" and number != 0))


def _halfway(ctx: Context, twins: Twins, what: str, counts: Callable[[Op], bool] = lambda op: True) -> list[Hit]:
    """Values a file sets or deletes under one key of a twin pair (view or role) but not under the other;
    ``counts`` picks which operations need their twin."""
    hits = []
    for reg in ctx.loaded.regs:
        done: dict[tuple[tuple[str, ...], str], tuple[int, str, Path, bool]] = {}
        for op in reg.ops:
            if op.kind in (OpKind.SET_VALUE, OpKind.DELETE_VALUE) and op.name is not None:
                done.setdefault((_folded(op.path), fold(op.name)), (op.line, op.name, op.path, counts(op)))
        for (path, name), (line, shown, original, needed) in sorted(done.items(), key=lambda item: item[1][0]):
            if needed and path in twins and (twins[path][0], name) not in done:
                _, label, twin_label = twins[path]
                hits.append(Hit(f"{what}: {shown or '(default)'} is set for {label} but not for {twin_label}",
                                Location(reg.path, line, "\\".join(original), shown)))
    return hits


@rule("XCK004", "half-done-view", "warning")
def half_done_view(ctx: Context) -> Outcome:
    """A .reg file that sets a .NET or WinHTTP value in one registry view should set it in both.

    What it checks: each value a ``.reg`` input sets or deletes under ``.NETFramework\\v4.0.30319``,
    ``.NETFramework\\v2.0.50727`` or ``Internet Settings\\WinHttp`` in the 64-bit view is also set in the
    ``WOW6432Node`` view, and the other way round.

    Why: a change made in one view leaves 32-bit (or 64-bit) applications on the old behaviour, and the
    machine then passes or fails depending on which process is asked.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319]
        "SchUseStrongCrypto"=dword:00000001

    When absent: applies only to .reg inputs.

    References: learn.microsoft.com/dotnet/framework/network-programming/tls;
    support.microsoft.com/help/3140245.
    """
    twins: Twins = {}
    for name, native, wow in [(f".NET {v}", netfx_key("64", v), netfx_key("32", v)) for v in VERSIONS] + [
            ("WinHTTP", winhttp_key("64"), winhttp_key("32"))]:
        twins[_folded(native)] = (_folded(wow), f"{name} in the 64-bit view", "the WOW6432Node view")
        twins[_folded(wow)] = (_folded(native), f"{name} in the WOW6432Node view", "the 64-bit view")
    hits = _halfway(ctx, twins, "one view only")
    return _outcome(hits, "change(s) made in one registry view only", "every change is made in both views")


@rule("XCK005", "half-done-role", "warning")
def half_done_role(ctx: Context) -> Outcome:
    """A .reg file that switches a protocol off for one role should switch it off for the other role too.

    What it checks: each ``Enabled`` = 0 or ``DisabledByDefault`` = 1 a ``.reg`` input sets under
    ``Protocols\\<protocol>\\Client`` is also set under ``...\\Server``, and the other way round.
    Switching a protocol on for one role is not reported: guidance such as Azure Backup's enables
    TLS 1.2 for the Client role only, on purpose.

    Why: hardening guidance disables an old protocol for both roles; a file that does one role leaves
    the other open.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server]
        "Enabled"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Client]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server]
        "Enabled"=dword:00000000

    When absent: applies only to .reg inputs.

    References: learn.microsoft.com/windows-server/security/tls/tls-registry-settings.
    """
    twins: Twins = {}
    control_sets = {"CurrentControlSet", *(name for name in ctx.machine.subkeys(("HKEY_LOCAL_MACHINE", "SYSTEM"))
                                           if fold(name).startswith("CONTROLSET"))}
    for control_set in control_sets:
        for protocol in PROTOCOLS:
            client, server = (_folded(role_key(protocol, r, control_set)) for r in ROLES)
            twins[client] = (server, f"{protocol} Client", "Server")
            twins[server] = (client, f"{protocol} Server", "Client")
    hits = _halfway(ctx, twins, "one role only", _switches_off)
    return _outcome(hits, "change(s) made for one role only", "every protocol change covers both roles")
