"""Every rule documents itself completely, and every example in its documentation behaves as it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.inputs import load
from analyzer.knowledge.state import evaluate
from analyzer.rules import FAIL, PASS, Context, load_catalog
from analyzer.rules.docs import REQUIRED, sections
from tests.conftest import SAMPLES

CATALOG = load_catalog()


@pytest.mark.parametrize("rule_id", sorted(CATALOG))
def test_rule_has_every_section(rule_id: str) -> None:
    rule = CATALOG[rule_id]
    found = sections(rule)
    assert [s for s in REQUIRED if not found.get(s)] == []
    assert rule.summary.endswith(".") and len(rule.summary) < 120
    assert rule.name == rule.name.lower() and " " not in rule.name


def _status(tmp_path: Path, rule_id: str, example: str, machine: str | None) -> str:
    path = tmp_path / "example.reg"
    path.write_text(example + "\n", encoding="utf-8")
    inputs = [SAMPLES / machine / "SYSTEM", SAMPLES / machine / "SOFTWARE"] if machine else []
    loaded = load([*inputs, path])
    if not rule_id.startswith("REG"):  # REG rules' examples show the broken lines themselves
        assert [d for d in loaded.diagnostics if d.file == str(path)] == [], "examples must be clean .reg text"
    ctx = Context(loaded.machine, evaluate(loaded.machine), loaded)
    return CATALOG[rule_id].check(ctx).status


@pytest.mark.parametrize("rule_id", sorted(CATALOG))
@pytest.mark.parametrize(("section", "expected"), [("Non-compliant", FAIL), ("Compliant", PASS)])
def test_documented_example_behaves_as_it_says(tmp_path: Path, rule_id: str, section: str, expected: str) -> None:
    found = sections(CATALOG[rule_id])
    machine = found.get("Example machine")
    assert machine is None or (SAMPLES / machine / "SYSTEM").is_file()
    assert _status(tmp_path, rule_id, found[section], machine) == expected


def test_rule_ids_follow_the_families() -> None:
    assert {rule_id[:3] for rule_id in CATALOG} == {"SCH", "NET", "WHT", "WIN", "OS0", "REG", "CIP", "XCK"}
