"""Plan the smallest registry change that makes a machine meet a profile, and the exact change that undoes it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from analyzer.engine import Report, run
from analyzer.inputs import Loaded
from analyzer.knowledge import VIEWS
from analyzer.knowledge.ciphers import GROUPS, LEGACY_CIPHER_NAMES, LOCAL_ORDER, LSA, POLICY_ORDER
from analyzer.knowledge.dotnet import NOT_APPLICABLE, V2, V4, netfx_key
from analyzer.knowledge.schannel import PROTOCOLS_KEY, SCHANNEL, UNSUPPORTED, default_state, role_key
from analyzer.knowledge.winhttp import SET, TLS12, winhttp_key
from analyzer.machine import Machine
from analyzer.profiles import Profile
from analyzer.registry import REG_DWORD, REG_MULTI_SZ, REG_SZ, Path, Value, fold, join_path
from analyzer.rules import FAIL, PASS, UNDECIDED, Context
from analyzer.rules.schannel import REQUIREMENTS, VALUES, judge, misspelled_keys
from analyzer.sources.regfile import Op, OpKind

FIX_FILE = "(regtls fix)"
MAX_ROUNDS = 5
NET_RULES = {"NET001": (V4, "SchUseStrongCrypto"), "NET002": (V4, "SystemDefaultTlsVersions"),
             "NET003": (V2, "SchUseStrongCrypto"), "NET004": (V2, "SystemDefaultTlsVersions")}
KB_RULES = {"OS001": "KB3140245", "OS002": "KB4019276"}


@dataclass(frozen=True)
class Change:
    """One registry change: set a value, delete a value, or delete a key with everything below it."""

    kind: OpKind
    path: Path
    reason: str
    name: str | None = None
    type_num: int = REG_DWORD
    data: bytes = b""

    def op(self) -> Op:
        """The change as a ``.reg`` operation."""
        return Op(self.kind, self.path, 0, self.name, self.type_num, self.data)


def dword(path: Path, name: str, number: int, reason: str) -> Change:
    """Set a REG_DWORD."""
    return Change(OpKind.SET_VALUE, path, reason, name, REG_DWORD, number.to_bytes(4, "little"))


@dataclass
class Plan:
    """The changes, what only a person can do, and the reports before and after the changes."""

    changes: list[Change]
    manual: list[str]
    before: Report
    after: Report
    undo: list[Change] = field(default_factory=list)


Remedy = Callable[[Context, str], Iterator[Change | str]]


def _schannel(ctx: Context, rule_id: str) -> Iterator[Change | str]:
    protocols, roles, want = REQUIREMENTS[rule_id]
    for protocol in protocols:
        for role in roles:
            setting = ctx.settings[f"schannel/{protocol}/{role}"]
            if judge(ctx, setting, want)[0] == PASS:
                continue
            if want == "on" and ctx.os is not None and default_state(ctx.os, protocol, role) == UNSUPPORTED:
                yield f"{rule_id}: {ctx.os.name} cannot use {protocol}; only a newer Windows version can"
                continue
            key, reason = role_key(protocol, role), f"{rule_id}: {protocol} {role} {want}"
            yield dword(key, "Enabled", 1 if want == "on" else 0, reason)
            yield dword(key, "DisabledByDefault", 0 if want == "on" else 1, reason)


def _misspelled(ctx: Context, rule_id: str) -> Iterator[Change | str]:
    """Delete each misspelled key; move its values to the key it was probably meant to be, if that lacks them."""
    for path, guess, message in misspelled_keys(ctx):
        if guess is not None:
            target = (*path[:-1], guess)
            for sub in ctx.machine.walk(path):
                dest = (*target, *sub[len(path):])
                for value in ctx.machine.values(sub):
                    if ctx.machine.value(dest, value.name) is None:
                        yield Change(OpKind.SET_VALUE, dest, f"{rule_id}: moved from {path[-1]!r}", value.name,
                                     value.type_num, value.data)
        yield Change(OpKind.DELETE_KEY, path, f"{rule_id}: {message}")


def _delete_values(predicate: Callable[[Context, Path, Value], bool]) -> Remedy:
    def remedy(ctx: Context, rule_id: str) -> Iterator[Change | str]:
        keys = [PROTOCOLS_KEY, *((*PROTOCOLS_KEY, p) for p in ctx.machine.subkeys(PROTOCOLS_KEY))]
        keys += [(*k, r) for k in keys[1:] for r in ctx.machine.subkeys(k)]
        for key in keys:
            for value in ctx.machine.values(key):
                if fold(value.name) in {fold(v) for v in VALUES} and predicate(ctx, key, value):
                    yield Change(OpKind.DELETE_VALUE, key, f"{rule_id}: {value.name} under {key[-1]}", value.name)
    return remedy


def _on_protocol_key(ctx: Context, key: Path, value: Value) -> bool:
    return len(key) <= len(PROTOCOLS_KEY) + 1


def _wrong_type(ctx: Context, key: Path, value: Value) -> bool:
    return len(key) == len(PROTOCOLS_KEY) + 2 and (value.type_num != REG_DWORD or len(value.data) != 4)


def _tls13_unsupported(ctx: Context, key: Path, value: Value) -> bool:
    if len(key) != len(PROTOCOLS_KEY) + 2 or fold(value.name) != "ENABLED":
        return False
    if fold(key[-2]) not in ("TLS 1.3", "DTLS 1.3"):
        return False
    return ctx.os is not None and default_state(ctx.os, key[-2].upper(), key[-1].title()) == UNSUPPORTED


def _dotnet(ctx: Context, rule_id: str) -> Iterator[Change | str]:
    """Set the value in every view (also one that is already right), so that the fix never does one view only."""
    version, name = NET_RULES[rule_id]
    for view in VIEWS:
        if ctx.settings[f"dotnet/{version}/{view}/{name}"].state != NOT_APPLICABLE:
            yield dword(netfx_key(view, version), name, 1, f"{rule_id}: .NET {version} {name}, {view}-bit view")


def _winhttp(ctx: Context, rule_id: str) -> Iterator[Change | str]:
    """Every view gets TLS 1.2 (a view that already has it is written again, so the fix is never one-view)."""
    for view in VIEWS:
        setting = ctx.settings[f"winhttp/{view}/DefaultSecureProtocols"]
        mask = setting.extra.get("mask")
        if setting.state == NOT_APPLICABLE:
            continue
        # KB3140245's own example is 0xA00 (TLS 1.1 and 1.2); an existing mask only gains TLS 1.2
        new = (mask | TLS12) if setting.state == SET and isinstance(mask, int) else 0xA00
        yield dword(winhttp_key(view), "DefaultSecureProtocols", new, f"{rule_id}: WinHTTP, {view}-bit view")


def _algorithms_off(prefix: str, group: str) -> Remedy:
    def remedy(ctx: Context, rule_id: str) -> Iterator[Change | str]:
        for name in GROUPS[group]:
            setting = ctx.settings[f"{prefix}/{name}"]
            if setting.id.split("/", 1)[1] in _weak(rule_id) and not (setting.state == "disabled" and (
                    ctx.absence != "finding" or setting.source == "explicit")):
                yield dword((*SCHANNEL, group, name), "Enabled", 0, f"{rule_id}: {group}\\{name} off")
    return remedy


def _weak(rule_id: str) -> tuple[str, ...]:
    from analyzer.knowledge.ciphers import WEAK_CIPHERS, WEAK_HASHES

    return WEAK_CIPHERS if rule_id == "CIP001" else WEAK_HASHES


def _dh_size(ctx: Context, rule_id: str) -> Iterator[Change | str]:
    for name in ("ClientMinKeyBitLength", "ServerMinKeyBitLength"):
        bits = ctx.settings[f"keyexchange/Diffie-Hellman/{name}"].extra.get("bits")
        if not (isinstance(bits, int) and bits >= 2048):
            yield dword((*SCHANNEL, "KeyExchangeAlgorithms", "Diffie-Hellman"), name, 2048, f"{rule_id}: {name}")


def _fips(ctx: Context, rule_id: str) -> Iterator[Change | str]:
    yield dword((*LSA, "FipsAlgorithmPolicy"), "Enabled", 1, f"{rule_id}: FIPS mode on")


def _unknown_algorithms(ctx: Context, rule_id: str) -> Iterator[Change | str]:
    renames = {"Triple DES 168/168": "Triple DES 168", "RC2 56/56": "DES 56/56"}
    for group, names in GROUPS.items():
        known = {fold(n) for n in names}
        for name in ctx.machine.subkeys((*SCHANNEL, group)):
            if fold(name) in known:
                continue
            path = (*SCHANNEL, group, name)
            target = renames.get(name) if name in LEGACY_CIPHER_NAMES else None
            for value in ctx.machine.values(path) if target else ():
                if ctx.machine.value((*SCHANNEL, group, target), value.name) is None:  # type: ignore[arg-type]
                    yield Change(OpKind.SET_VALUE, (*SCHANNEL, group, target), f"{rule_id}: moved from {name!r}",  # type: ignore[arg-type]
                                 value.name, value.type_num, value.data)
            yield Change(OpKind.DELETE_KEY, path, f"{rule_id}: {group}\\{name} is not read by Schannel")


def _suite_order(ctx: Context, rule_id: str) -> Iterator[Change | str]:
    setting = ctx.settings["ciphersuites/order"]
    suites, weak = setting.extra.get("suites"), setting.extra.get("weak")
    if not isinstance(suites, list) or not isinstance(weak, list):
        return
    key = POLICY_ORDER if setting.state == "policy" else LOCAL_ORDER
    kept = [s for s in suites if s not in weak]
    value = ctx.machine.value(key, "Functions")
    if value is not None and value.type_num == REG_MULTI_SZ:
        data = "".join(s + "\0" for s in kept).encode("utf-16-le") + b"\0\0"
        yield Change(OpKind.SET_VALUE, key, f"{rule_id}: weak suites removed", "Functions", REG_MULTI_SZ, data)
    else:
        data = (",".join(kept) + "\0").encode("utf-16-le")
        yield Change(OpKind.SET_VALUE, key, f"{rule_id}: weak suites removed", "Functions", REG_SZ, data)


def _kb(ctx: Context, rule_id: str) -> Iterator[Change | str]:
    yield f"{rule_id}: install {KB_RULES[rule_id]} (a registry change cannot add an update)"


REMEDIES: dict[str, Remedy] = {
    **{rule_id: _schannel for rule_id in REQUIREMENTS},
    "SCH002": _misspelled,
    "SCH003": _delete_values(_on_protocol_key),
    "SCH004": _delete_values(_wrong_type),
    "SCH012": _delete_values(_tls13_unsupported),
    **{rule_id: _dotnet for rule_id in NET_RULES},
    "WHT001": _winhttp,
    **{rule_id: _kb for rule_id in KB_RULES},
    "CIP001": _algorithms_off("cipher", "Ciphers"),
    "CIP002": _algorithms_off("hash", "Hashes"),
    "CIP003": _dh_size,
    "CIP004": _fips,
    "CIP005": _unknown_algorithms,
    "CIP006": _suite_order,
}


def _round(report: Report, loaded: Loaded, profile: Profile) -> tuple[list[Change], list[str]]:
    """Remedies for every error-level rule that fails or is undecided."""
    ctx = Context(loaded.machine, report.state, loaded, profile.absence)
    changes: list[Change] = []
    manual: list[str] = []
    for result in report.results:
        if result.level != "error" or result.status not in (FAIL, UNDECIDED):
            continue
        remedy = REMEDIES.get(result.rule)
        if remedy is None:
            findings = [f for f in report.findings if f.rule == result.rule]
            where = "; ".join(f"{f.location.where()}: {f.message}" for f in findings if f.location) or result.message
            manual.append(f"{result.rule}: not fixed by a registry change: {where}")
            continue
        for item in remedy(ctx, result.rule):
            (manual if isinstance(item, str) else changes).append(item)  # type: ignore[arg-type]
    return changes, manual


def plan(loaded: Loaded, profile: Profile, fresh: Callable[[], Loaded]) -> Plan:
    """The changes that make ``loaded`` meet ``profile``; ``fresh`` reloads the untouched inputs for the undo."""
    before = run(loaded, profile)
    report, changes, manual = before, list[Change](), list[str]()
    for _ in range(MAX_ROUNDS):
        new, manual = _round(report, loaded, profile)
        new = [c for c in new if c not in changes]
        if not new:
            break
        loaded.machine.apply([c.op() for c in new], FIX_FILE)
        changes += new
        report = run(loaded, profile)
    return Plan(grouped(changes), sorted(set(manual)), before, report, undo(fresh().machine, changes))


def grouped(changes: list[Change]) -> list[Change]:
    """Key deletions first, then the rest by key (stable), so that each key appears once in a file."""
    return sorted(changes, key=lambda c: (c.kind is not OpKind.DELETE_KEY, tuple(fold(p) for p in c.path)))


def undo(machine: Machine, changes: list[Change]) -> list[Change]:
    """The changes that restore ``machine`` (the state before ``changes``) exactly, in the order to apply them."""
    out: list[Change] = []
    created: set[Path] = set()
    for change in reversed(changes):
        path = machine.resolve(change.path)
        missing = next((path[:n] for n in range(3, len(path) + 1) if not machine.exists(path[:n])), None)
        if missing is not None:
            created.add(missing)
            continue
        if change.kind is OpKind.DELETE_KEY:
            for sub in machine.walk(path):
                out.append(Change(OpKind.CREATE_KEY, sub, f"undo {change.reason}"))
                out += [Change(OpKind.SET_VALUE, sub, f"undo {change.reason}", v.name, v.type_num, v.data)
                        for v in machine.values(sub)]
            continue
        assert change.name is not None
        old = machine.value(path, change.name)
        if old is None:
            out.append(Change(OpKind.DELETE_VALUE, path, f"undo {change.reason}", change.name))
        else:
            out.append(Change(OpKind.SET_VALUE, path, f"undo {change.reason}", old.name, old.type_num, old.data))
    topmost = sorted(p for p in created if not any(p[:n] in created for n in range(3, len(p))))
    restore = sorted(out, key=lambda c: tuple(fold(p) for p in c.path))
    return restore + [Change(OpKind.DELETE_KEY, path, "undo: the fix created this key") for path in topmost]


def display_path(machine: Machine, path: Path) -> str:
    """A path as a fix file writes it: the current control set as ``CurrentControlSet``."""
    if machine.control_set and len(path) > 2 and fold(path[2]) == fold(machine.control_set) and \
            fold(path[1]) == "SYSTEM":
        path = (*path[:2], "CurrentControlSet", *path[3:])
    return join_path(path)
