"""Rule and profile documentation for ``regtls rules`` and ``regtls profiles``, built from the code."""

from __future__ import annotations

import textwrap

from rich.table import Table

from analyzer.engine import choose_profile
from analyzer.profiles import available
from analyzer.report import console, to_json
from analyzer.rules import load_catalog
from analyzer.rules.docs import render, sections


def rules_json() -> str:
    """Every rule with its documentation sections."""
    return to_json({"schema": "regtls.rules/1", "rules": [
        {"id": r.id, "name": r.name, "level": r.level, "summary": r.summary, "doc": sections(r)}
        for r in sorted(load_catalog().values(), key=lambda r: r.id)]})


def rules_table(width: int, color: bool) -> str:
    """Every rule as a table row."""
    out, buf = console(width, color)
    table = Table(title="Rules", title_justify="left")
    for col in ("id", "name", "level", "summary"):
        table.add_column(col, overflow="fold")
    for rule in sorted(load_catalog().values(), key=lambda r: r.id):
        table.add_row(rule.id, rule.name, rule.level, rule.summary)
    out.print(table)
    return buf.getvalue()


def rule_doc(rule_id: str) -> str | None:
    """One rule's documentation as text, or None for an unknown id."""
    rule = load_catalog().get(rule_id)
    return None if rule is None else render(rule)


def profiles_json() -> str:
    """Every shipped profile with its rules and levels."""
    profiles = [choose_profile(name) for name in available()]
    return to_json({"schema": "regtls.profiles/1", "profiles": [
        {"name": p.name, "title": p.title, "description": p.description, "absence": p.absence,
         "sources": list(p.sources), "uncertain": list(p.uncertain), "rules": p.levels} for p in profiles]})


def profiles_table(width: int, color: bool) -> str:
    """Every shipped profile as a table row."""
    out, buf = console(width, color)
    table = Table(title="Profiles", title_justify="left")
    for col in ("name", "title", "absence", "rules"):
        table.add_column(col, overflow="fold")
    for name in available():
        profile = choose_profile(name)
        table.add_row(profile.name, profile.title, profile.absence,
                      str(sum(level != "off" for level in profile.levels.values())))
    out.print(table)
    return buf.getvalue()


def profile_doc(name: str) -> str:
    """One profile (shipped or a TOML file) as text."""
    profile = choose_profile(name)
    catalog = load_catalog()
    lines = [f"{profile.name}: {profile.title}", ""]
    if profile.extends:
        lines += [f"Extends: {profile.extends}", ""]
    lines += [textwrap.fill(" ".join(profile.description.split()), 100), "",
              f"Absence policy: {profile.absence} (" + ("an absent value is a finding" if profile.absence == "finding"
                                                        else "an absent value means the OS default") + ")", ""]
    lines += ["Sources:", *(f"  - {s}" for s in profile.sources), ""]
    if profile.uncertain:
        lines += ["Uncertain:", *(textwrap.fill(s, 100, initial_indent="  - ", subsequent_indent="    ")
                                  for s in profile.uncertain), ""]
    lines.append("Rules:")
    lines += [f"  {rule_id:<7} {level:<8} {catalog[rule_id].name}: {catalog[rule_id].summary}"
              for rule_id, level in sorted(profile.levels.items())]
    return "\n".join(lines) + "\n"
