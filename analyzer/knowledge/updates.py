"""Update (KB) presence from Component Based Servicing packages in the SOFTWARE hive (tls-facts.md §7.2).

Limits, stated in every result: the package key names and ``CurrentState`` = 0x70 ("installed") are
community knowledge, not documented by Microsoft; a later cumulative rollup can carry a fix without
its own package key, so "not found" does not prove the fix is missing.
"""

from __future__ import annotations

import re

from analyzer.knowledge import HKLM_SOFTWARE, Evidence, Setting, evidence
from analyzer.machine import Machine
from analyzer.registry import REG_DWORD, Path, dword, join_path

PACKAGES: Path = (*HKLM_SOFTWARE, "Microsoft", "Windows", "CurrentVersion", "Component Based Servicing",
                  "Packages")
INSTALLED_STATE = 0x70
KBS = ("KB3140245", "KB4019276")
INSTALLED, PRESENT, NOT_FOUND, UNKNOWN = "installed", "present-not-installed", "not-found", "unknown"
LIMITS = ("package presence is read from Component Based Servicing; a cumulative rollup may include the "
          "fix without its own package")


def kb_setting(machine: Machine, kb: str) -> Setting:
    """``update/<KB>``: installed, present-not-installed, not-found or unknown."""
    if not machine.known(PACKAGES, "CurrentState"):
        return Setting(f"update/{kb}", UNKNOWN, "unknown", "no SOFTWARE hive: installed updates are not known")
    pattern = re.compile(rf"^Package(?:_\d+)?_for_{kb}~", re.IGNORECASE)
    found = [name for name in machine.subkeys(PACKAGES) if pattern.match(name)]
    states: list[tuple[str, int | None, Evidence]] = []
    for name in found:
        key = (*PACKAGES, name)
        value = machine.value(key, "CurrentState")
        state = dword(value.data) if value is not None and value.type_num == REG_DWORD else None
        proof = evidence(machine, key, value) if value is not None else Evidence(
            machine.source_of(key) or "", None, join_path(key), "CurrentState", None, machine.last_write(key))
        states.append((name, state, proof))
    packages = [{"key": name, "current_state": state} for name, state, _ in states]
    found_in = tuple(e for _, _, e in states)
    if any(state == INSTALLED_STATE for _, state, _ in states):
        status, detail = INSTALLED, f"{kb} package installed (CurrentState=0x70)"
    elif states:
        shown = ", ".join("absent" if s is None else f"0x{s:x}" for _, s, _ in states)
        status, detail = PRESENT, f"{kb} package present but not installed (CurrentState {shown})"
    elif (lost := machine.damaged(PACKAGES)) is not None:  # the package sought may be the lost subkey
        return Setting(f"update/{kb}", UNKNOWN, "unknown", f"damaged: {lost}")
    else:
        status, detail = NOT_FOUND, f"no {kb} package found (a cumulative rollup may still include it)"
    return Setting(f"update/{kb}", status, "explicit", detail, found_in,
                   {"packages": packages, "limits": LIMITS})
