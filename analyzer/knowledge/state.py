"""Evaluate every known setting of a machine into its effective state, never letting one bad read stop the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from analyzer.knowledge import VIEWS, Setting, dotnet, schannel, updates, winhttp
from analyzer.knowledge.osinfo import OsInfo, identify
from analyzer.machine import Machine
from analyzer.sources import Diagnostic, SourceError


@dataclass
class MachineState:
    """The identified OS and the effective state of each setting, by setting id."""

    os: OsInfo | None
    settings: dict[str, Setting]
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _plan(machine: Machine, os: OsInfo | None) -> list[tuple[str, Callable[[], Setting]]]:
    """Every setting id with the function that computes it, in report order."""
    plan: list[tuple[str, Callable[[], Setting]]] = []
    for protocol in schannel.TLS_PROTOCOLS:
        for role in schannel.ROLES:
            compute = partial(schannel.protocol_setting, machine, os, protocol, role)
            plan.append((f"schannel/{protocol}/{role}", compute))
    for view in VIEWS:
        for name in dotnet.VALUES:
            plan.append((f"dotnet/{dotnet.V4}/{view}/{name}", partial(dotnet.value_setting, machine, view, name)))
    for view in VIEWS:
        plan.append((f"winhttp/{view}/DefaultSecureProtocols", partial(winhttp.view_setting, machine, os, view)))
    for kb in updates.KBS:
        plan.append((f"update/{kb}", partial(updates.kb_setting, machine, kb)))
    return plan


def evaluate(machine: Machine) -> MachineState:
    """Identify the OS and compute every setting; a damaged hive structure makes that setting unknown."""
    diagnostics: list[Diagnostic] = []
    try:
        os = identify(machine)
    except SourceError as exc:
        os = None
        diagnostics.append(Diagnostic(exc.file or "", None, "error", "unreadable",
                                      f"cannot identify the OS: {exc}"))
    settings: dict[str, Setting] = {}
    for setting_id, compute in _plan(machine, os):
        try:
            settings[setting_id] = compute()
        except SourceError as exc:
            diagnostics.append(Diagnostic(exc.file or "", None, "error", "unreadable", str(exc)))
            settings[setting_id] = Setting(setting_id, "unknown", "unknown", f"unreadable: {exc}")
    return MachineState(os, settings, diagnostics)
