"""Evaluate every known setting of a machine into its effective state, never letting one bad read stop the rest."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

from analyzer.knowledge import VIEWS, Setting, ciphers, dotnet, schannel, updates, winhttp, wininet
from analyzer.knowledge.osinfo import OsInfo, architecture, has_32bit_view, identify
from analyzer.machine import Machine
from analyzer.registry import REG_DWORD, dword
from analyzer.sources import Diagnostic, SourceError

SYSTEM_ROOT = ("HKEY_LOCAL_MACHINE", "SYSTEM")
SELECT = (*SYSTEM_ROOT, "Select")
_CONTROL_SET = re.compile(r"^ControlSet(\d{3})$", re.IGNORECASE)


@dataclass(frozen=True)
class ControlSetView:
    """Another control set, what ``Select`` says of it, and the protocol states that differ from the current."""

    name: str
    roles: tuple[str, ...]
    differences: tuple[tuple[Setting, Setting], ...]  # (this set's setting, the current one)

    def to_json(self) -> dict[str, object]:
        """The report's ``control_sets`` entry."""
        return {"name": self.name, "select": list(self.roles), "differences": [
            {"id": mine.id, "state": mine.state, "current_state": current.state, "detail": mine.detail,
             "evidence": [e.to_json() for e in mine.evidence]} for mine, current in self.differences]}


@dataclass
class MachineState:
    """The identified OS and the effective state of each setting, by setting id."""

    os: OsInfo | None
    settings: dict[str, Setting]
    architecture: str | None = None
    has_32bit_view: bool | None = None
    control_sets: list[ControlSetView] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _plan(machine: Machine, os: OsInfo | None, wow: bool | None,
          users: list[tuple[str, tuple[str, ...]]] | None = None) -> list[tuple[str, Callable[[], Setting]]]:
    """Every setting id with the function that computes it, in report order."""
    plan: list[tuple[str, Callable[[], Setting]]] = []
    for protocol in schannel.PROTOCOLS:
        for role in schannel.ROLES:
            compute = partial(schannel.protocol_setting, machine, os, protocol, role)
            plan.append((f"schannel/{protocol}/{role}", compute))
    for version in dotnet.VERSIONS:
        for view in VIEWS:
            for name in dotnet.VALUES:
                plan.append((f"dotnet/{version}/{view}/{name}",
                             partial(dotnet.value_setting, machine, view, name, version, wow)))
    plan.append(("dotnet/installed/v4", partial(dotnet.installed_setting, machine)))
    for view in VIEWS:
        plan.append((f"winhttp/{view}/DefaultSecureProtocols", partial(winhttp.view_setting, machine, os, view, wow)))
    plan.append(("wininet/machine/SecureProtocols", partial(wininet.effective, machine, os, "machine", None)))
    for key, root in users or []:
        plan.append((f"wininet/user/{key}/SecureProtocols", partial(wininet.effective, machine, os, key, root)))
    for kb in updates.KBS:
        plan.append((f"update/{kb}", partial(updates.kb_setting, machine, kb)))
    prefixes = {"Ciphers": "cipher", "Hashes": "hash", "KeyExchangeAlgorithms": "keyexchange"}
    for group, names in ciphers.GROUPS.items():
        for name in names:
            plan.append((f"{prefixes[group]}/{name}", partial(ciphers.algorithm_setting, machine, os, group, name)))
    for algorithm, name, default in ciphers.KEY_SIZES:
        plan.append((f"keyexchange/{algorithm}/{name}",
                     partial(ciphers.key_size_setting, machine, algorithm, name, default)))
    plan.append(("ciphersuites/order", partial(ciphers.suite_order_setting, machine)))
    plan.append(("fips/policy", partial(ciphers.fips_setting, machine)))
    return plan


def _safe(setting_id: str, compute: Callable[[], Setting], diagnostics: list[Diagnostic],
          machine: Machine | None = None) -> Setting:
    seen = len(machine.damage_seen) if machine is not None else 0
    try:
        setting = compute()
        lost = list(dict.fromkeys(machine.damage_seen[seen:])) if machine is not None else []
        if lost and setting.state == "unknown":  # not known because a damaged hive lost what could decide it
            return replace(setting, source="unknown", detail=f"damaged: {'; '.join(lost)}")
        return setting
    except SourceError as exc:
        diagnostics.append(Diagnostic(exc.file or "", None, "error", "unreadable", str(exc)))
        return Setting(setting_id, "unknown", "unknown", f"unreadable: {exc}")


def _select_roles(machine: Machine) -> dict[int, list[str]]:
    roles: dict[int, list[str]] = {}
    for value in machine.values(SELECT):
        number = dword(value.data) if value.type_num == REG_DWORD else None
        if number:
            roles.setdefault(number, []).append(value.name)
    return roles


def other_control_sets(machine: Machine, os: OsInfo | None, current: dict[str, Setting],
                       diagnostics: list[Diagnostic]) -> list[ControlSetView]:
    """Every control set besides the current one, with the protocol states that differ from it."""
    if machine.control_set is None:
        return []
    roles = _select_roles(machine)
    views = []
    for name in machine.subkeys(SYSTEM_ROOT):
        match = _CONTROL_SET.match(name)
        if match is None or name.lower() == machine.control_set.lower():
            continue
        differences = []
        for protocol in schannel.PROTOCOLS:
            for role in schannel.ROLES:
                compute = partial(schannel.protocol_setting, machine, os, protocol, role, name)
                mine = _safe(f"schannel/{protocol}/{role}", compute, diagnostics, machine)
                if mine.state != current[mine.id].state:
                    differences.append((mine, current[mine.id]))
        views.append(ControlSetView(name, tuple(roles.get(int(match.group(1)), ())), tuple(differences)))
    return views


def evaluate(machine: Machine) -> MachineState:
    """Identify the OS and compute every setting; a damaged hive structure makes that setting unknown."""
    diagnostics: list[Diagnostic] = []
    try:
        os = identify(machine)
        arch, wow = architecture(machine), has_32bit_view(machine)
    except SourceError as exc:
        os, arch, wow = None, None, None
        diagnostics.append(Diagnostic(exc.file or "", None, "error", "unreadable", f"cannot identify the OS: {exc}"))
    try:
        users = wininet.user_roots(machine)
    except SourceError as exc:
        users = []
        diagnostics.append(Diagnostic(exc.file or "", None, "error", "unreadable", f"cannot list the users: {exc}"))
    settings = {sid: _safe(sid, compute, diagnostics, machine) for sid, compute in _plan(machine, os, wow, users)}
    try:
        control_sets = other_control_sets(machine, os, settings, diagnostics)
    except SourceError as exc:
        control_sets = []
        diagnostics.append(Diagnostic(exc.file or "", None, "error", "unreadable", str(exc)))
    return MachineState(os, settings, arch, wow, control_sets, diagnostics)
