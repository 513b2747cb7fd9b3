"""Layered hives: yarp's System_Delta (a real regf 1.6 differencing hive) stacked on a base built by hivex."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.inputs import load
from analyzer.sources.differencing import SUPERSEDE_TREE, TOMBSTONE, is_delta
from analyzer.sources.hive import BACKENDS, HiveFile
from tests.conftest import CORPUS, build_hive, need
from tests.test_cli import regtls

DELTA = CORPUS / "hives" / "yarp" / "System_Delta"
SERVICES = ("HKEY_LOCAL_MACHINE", "SYSTEM", "ControlSet001", "Services")
BASE = (
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000001\n\n"
    # the delta tombstones this key: gone with its subtree
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\XBOXGIP]\n\"Start\"=dword:3\n\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\XBOXGIP\\Child]\n\n"
    # the delta holds a tombstone value DisplayName here: that value goes, the others stay
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\XboxNetApiSvc]\n\"DisplayName\"=\"old\"\n"
    "\"BaseOnly\"=dword:7\n\n"
    # the delta's a_subkey supersedes this tree: the base's value and subkey are hidden
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\xboxgipsvc\\a_subkey]\n\"OldValue\"=dword:1\n\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\xboxgipsvc\\a_subkey\\Deeper]\n\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\OnlyInTheBase]\n\"Kept\"=dword:1\n"
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hive(tmp_path_factory.mktemp("layers"), "SYSTEM", BASE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_system_delta_is_a_differencing_hive_with_layer_semantics(backend: str) -> None:
    delta = HiveFile(need(DELTA, "yarp System_Delta"), backend)
    assert is_delta(delta) and (delta.header.minor, delta.kind) == (6, "system")
    assert delta.layer(("ControlSet001", "Services", "XBOXGIP")) == TOMBSTONE
    assert delta.layer(("ControlSet001", "Services", "xboxgipsvc", "a_subkey")) == SUPERSEDE_TREE
    assert delta.tombstones(("ControlSet001", "Services", "XboxNetApiSvc")) == {"DISPLAYNAME"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_delta_after_its_base_is_stacked_on_it(base: Path, backend: str) -> None:
    alone = load([base], backend).machine  # what the delta changes is there in the base
    assert alone.exists((*SERVICES, "XBOXGIP", "Child"))
    assert alone.value((*SERVICES, "XboxNetApiSvc"), "DisplayName") is not None
    assert alone.value((*SERVICES, "xboxgipsvc", "a_subkey"), "OldValue") is not None
    loaded = load([base, need(DELTA, "yarp System_Delta")], backend)
    machine = loaded.machine
    assert not machine.exists((*SERVICES, "XBOXGIP")) and not machine.exists((*SERVICES, "XBOXGIP", "Child"))
    assert "XBOXGIP" not in [n.upper() for n in machine.subkeys(SERVICES)]
    names = {v.name.upper() for v in machine.values((*SERVICES, "XboxNetApiSvc"))}
    assert "BASEONLY" in names and "DISPLAYNAME" not in names
    assert machine.value((*SERVICES, "XboxNetApiSvc"), "DisplayName") is None
    superseded = (*SERVICES, "xboxgipsvc", "a_subkey")
    assert machine.exists(superseded)
    assert machine.value(superseded, "OldValue") is None
    assert "DEEPER" not in [n.upper() for n in machine.subkeys(superseded)]
    assert machine.value((*SERVICES, "OnlyInTheBase"), "Kept") is not None
    assert [i.kind for i in loaded.inputs] == ["system-hive", "system-hive"]


def test_check_stacks_the_delta_and_two_bases_are_still_refused(base: Path) -> None:
    code, out, err = regtls("check", base, need(DELTA, "yarp System_Delta"), "--format", "json")
    assert code in (0, 1) and "Traceback" not in err
    assert len(json.loads(out)["inputs"]) == 2
    code, out, err = regtls("check", base, base)
    assert code == 2 and "a second SYSTEM hive" in err
