"""Profiles: which rules apply at which level, with their sources and absence policy (TOML shipped here)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_PROFILE = "azure-backup"
ABSENCE_POLICIES = ("os-default", "finding")
LEVELS = ("error", "warning", "note", "off")
KEYS = ("extends", "name", "title", "description", "absence", "sources", "uncertain", "select", "ignore", "rules")


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
    uncertain: tuple[str, ...] = ()
    extends: str | None = None
    file: str | None = field(default=None, compare=False)


def available() -> list[str]:
    """Names of the shipped profiles."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def _check_rules(where: str, ids: list[str], known: dict[str, str]) -> None:
    for rule_id in ids:
        if rule_id not in known:
            raise ProfileError(f"{where}: unknown rule id {rule_id!r}")


def _levels(where: str, table: Any, known: dict[str, str]) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ProfileError(f"{where}: [rules] must be a table of RULE = \"level\"")
    levels = {str(k): str(v) for k, v in table.items()}
    _check_rules(where, list(levels), known)
    for rule_id, level in levels.items():
        if level not in LEVELS:
            raise ProfileError(f"{where}: rule {rule_id} has level {level!r}; use one of {', '.join(LEVELS)}")
    return levels


def _from_data(where: str, data: dict[str, Any], known: dict[str, str], base: Profile | None) -> Profile:
    for key in data:
        if key not in KEYS:
            raise ProfileError(f"{where}: unknown key {key!r} (known: {', '.join(KEYS)})")
    absence = str(data.get("absence", base.absence if base else "os-default"))
    if absence not in ABSENCE_POLICIES:
        raise ProfileError(f"{where}: absence must be one of {', '.join(ABSENCE_POLICIES)}, not {absence!r}")
    levels = dict(base.levels) if base else {}
    for key in ("select", "ignore"):
        if not isinstance(data.get(key, []), list):
            raise ProfileError(f"{where}: {key} must be a list of rule ids")
    _check_rules(where, [str(r) for r in data.get("select", []) + data.get("ignore", [])], known)
    levels.update({str(r): known[str(r)] for r in data.get("select", []) if str(r) not in levels})
    levels.update(_levels(where, data.get("rules", {}), known))
    for rule_id in data.get("ignore", []):
        levels.pop(str(rule_id), None)
    name = str(data.get("name", base.name if base else where))
    return Profile(name, str(data.get("title", base.title if base else name)),
                   str(data.get("description", base.description if base else "")).strip(), absence,
                   tuple(str(s) for s in data.get("sources", base.sources if base else ())), levels,
                   tuple(str(s) for s in data.get("uncertain", base.uncertain if base else ())),
                   base.name if base else None)


def load(name: str, known: dict[str, str]) -> Profile:
    """Load a shipped profile by name, or a user's TOML file that may extend one.

    ``known`` maps every rule id to its default level; an unknown profile name, rule id or level is a
    :class:`ProfileError` with a one-line message.
    """
    if name.endswith(".toml") or "/" in name or "\\" in name:
        path = Path(name)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ProfileError(f"{name}: cannot read the profile: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProfileError(f"{name}: not a valid TOML profile: {exc}") from None
        parent = data.get("extends")
        base = load(str(parent), known) if parent is not None else None
        return replace(_from_data(name, data, known, base), file=name)
    if name not in available():
        raise ProfileError(f"unknown profile {name!r}; available: {', '.join(available())}")
    data = tomllib.loads(resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8"))
    return _from_data(f"profile {name!r}", data, known, None)


def adjust(profile: Profile, select: list[str], ignore: list[str], known: dict[str, str]) -> Profile:
    """The profile with rules added (at their default level) or removed, as ``--select``/``--ignore`` ask."""
    _check_rules("--select/--ignore", [*select, *ignore], known)
    levels = dict(profile.levels)
    levels.update({r: known[r] for r in select if r not in levels})
    for rule_id in ignore:
        levels.pop(rule_id, None)
    return replace(profile, levels=levels)
