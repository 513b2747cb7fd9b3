"""Project configuration: ``regtls.toml`` or ``[tool.regtls]`` in ``pyproject.toml``, found upwards from a folder."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FAIL_ON = ("error", "warning", "undecided", "never")
# key -> what it must hold; the same keys are allowed in the [lint] sub-table, which configures ``regtls lint``
KEYS = {"profile": "a string", "select": "a list of rule ids", "ignore": "a list of rule ids",
        "fail-on": f"one of {', '.join(FAIL_ON)}", "exclude": "a list of gitignore-style patterns"}
JUDGING = ("check", "scan", "fix")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message is one line naming the file and key."""


@dataclass(frozen=True)
class Settings:
    """The options one table of the configuration sets (``None``: not set)."""

    profile: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    fail_on: str | None = None
    exclude: tuple[str, ...] = ()

    def defaults(self) -> dict[str, object]:
        """Command-line defaults (click ``default_map`` entries) for the options that are set."""
        out: dict[str, object] = {}
        if self.profile is not None:
            out["profile"] = self.profile
        if self.select is not None:
            out["select"] = list(self.select)
        if self.ignore is not None:
            out["ignore"] = list(self.ignore)
        if self.fail_on is not None:
            out["fail_on"] = self.fail_on
        return out


@dataclass(frozen=True)
class Config:
    """The configuration in force: its file (None without one), top-level settings and the ``[lint]`` table."""

    file: Path | None = None
    main: Settings = field(default_factory=Settings)
    lint: Settings = field(default_factory=Settings)

    @property
    def root(self) -> Path:
        """The folder that relative profile paths and exclude patterns start from."""
        return self.file.parent if self.file else Path.cwd()

    def default_map(self) -> dict[str, dict[str, object]]:
        """click ``default_map``: per subcommand, the defaults this configuration sets."""
        out = {name: self.main.defaults() for name in JUDGING}
        out["lint"] = self.lint.defaults()
        return out


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be {KEYS[key]}")
    return tuple(value)


def _settings(where: str, table: dict[str, Any], root: Path) -> Settings:
    for key in table:
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join([*KEYS, 'lint'])})")
    profile = table.get("profile")
    if profile is not None:
        if not isinstance(profile, str):
            raise ConfigError(f"{where}: profile must be {KEYS['profile']}")
        if profile.endswith(".toml") or "/" in profile or "\\" in profile:
            profile = str(root / profile)  # a profile file is found beside the configuration, not the cwd
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise ConfigError(f"{where}: fail-on must be {KEYS['fail-on']}, not {fail_on!r}")
    ids = {key: tuple(v.strip().upper() for v in _strings(where, key, table[key])) if key in table else None
           for key in ("select", "ignore")}
    exclude = _strings(where, "exclude", table["exclude"]) if "exclude" in table else ()
    return Settings(profile, ids["select"], ids["ignore"], fail_on, exclude)


def parse(path: Path, data: dict[str, Any], pyproject: bool) -> Config:
    """The configuration from a file's TOML: the whole of ``regtls.toml``, or ``[tool.regtls]`` of a pyproject."""
    where = f"{path}: [tool.regtls]" if pyproject else str(path)
    table = dict(data)
    lint = table.pop("lint", {})
    if not isinstance(lint, dict):
        raise ConfigError(f"{where}: lint must be a table ([lint]) of the same keys")
    return Config(path, _settings(where, table, path.parent), _settings(f"{where} [lint]", lint, path.parent))


def _read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return data
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_file(path: Path) -> Config:
    """The configuration of one named file (``--config``): a ``pyproject.toml`` or a ``regtls.toml``."""
    data = _read(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("regtls")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: no [tool.regtls] table")
        return parse(path, table, True)
    return parse(path, data, False)


def discover(start: Path) -> Config:
    """The nearest configuration from ``start`` upwards, as ruff looks: in each folder ``regtls.toml`` first,
    then a ``pyproject.toml`` that has a ``[tool.regtls]`` table; none found is the empty configuration."""
    for folder in (start, *start.parents):
        own = folder / "regtls.toml"
        if own.is_file():
            return load_file(own)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _read(pyproject).get("tool", {}).get("regtls")
            if isinstance(table, dict):
                return parse(pyproject, table, True)
    return Config()
