"""Profiles: which rules apply at which level, with their sources and absence policy (TOML shipped here)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_PROFILE = "azure-backup"
ABSENCE_POLICIES = ("os-default", "finding")
LEVELS = ("error", "warning", "note", "off")


class ProfileError(Exception):
    """A profile name or file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Profile:
    """A named selection of rules with levels, an absence policy and the sources it follows."""

    name: str
    title: str
    description: str
    absence: str
    sources: tuple[str, ...]
    levels: dict[str, str]


def available() -> list[str]:
    """Names of the shipped profiles."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def load(name: str, known_rules: set[str]) -> Profile:
    """Load a shipped profile by name; unknown names and rule ids are errors."""
    if name not in available():
        raise ProfileError(f"unknown profile {name!r}; available: {', '.join(available())}")
    data = tomllib.loads(resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8"))
    levels = {str(k): str(v) for k, v in data.get("rules", {}).items()}
    for rule_id, level in levels.items():
        if rule_id not in known_rules:
            raise ProfileError(f"profile {name!r}: unknown rule id {rule_id!r}")
        if level not in LEVELS:
            raise ProfileError(f"profile {name!r}: rule {rule_id} has level {level!r}; use one of {', '.join(LEVELS)}")
    absence = str(data.get("absence", "os-default"))
    if absence not in ABSENCE_POLICIES:
        raise ProfileError(f"profile {name!r}: absence must be one of {', '.join(ABSENCE_POLICIES)}")
    return Profile(str(data["name"]), str(data.get("title", name)), str(data.get("description", "")).strip(),
                   absence, tuple(str(s) for s in data.get("sources", ())), levels)
