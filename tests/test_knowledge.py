"""Knowledge tables: one test per row of the per-OS default table, OS identification, effective states."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.inputs import load
from analyzer.knowledge import Dword
from analyzer.knowledge.schannel import DEFAULTS, effective
from analyzer.knowledge.state import evaluate
from analyzer.knowledge.winhttp import default_mask, protocols
from analyzer.registry import Origin, Value
from tests.conftest import SAMPLES

# A SYSTEM hive without any Schannel protocol values (so every protocol state is the OS default).
EMPTY_SYSTEM = SAMPLES / "server2012r2-untouched" / "SYSTEM"
CV = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n"


def machine_state(tmp_path: Path, body: str, system: Path | None = EMPTY_SYSTEM):  # type: ignore[no-untyped-def]
    change = tmp_path / "os.reg"
    change.write_text("Windows Registry Editor Version 5.00\n\n" + body, encoding="utf-8")
    return evaluate(load([*([system] if system else []), change]).machine)


def version(build: int, product: str, install: str | None) -> str:
    lines = [CV, f'"CurrentBuildNumber"="{build}"\n', f'"ProductName"="{product}"\n']
    if install:
        lines.append(f'"InstallationType"="{install}"\n')
    return "".join(lines)


E, N, U = "enabled", "not-default", "unsupported"
# One row per row of tls-facts.md §2.1 ([MS-PROTO]): a machine of that row, and TLS 1.0, 1.1, 1.2, 1.3.
DEFAULT_ROWS = [
    ("Vista / Server 2008 before SP2", 6001, "Windows Server (R) 2008 Standard", "Server", (E, U, U, U)),
    ("Server 2008 SP2", 6002, "Windows Server (R) 2008 Standard", None, (E, N, N, U)),
    ("Windows 7 / Server 2008 R2", 7601, "Windows 7 Professional", "Client", (E, N, N, U)),
    ("Windows 8 / Server 2012", 9200, "Windows Server 2012 Standard", "Server", (E, E, E, U)),
    ("Windows 8.1 / Server 2012 R2", 9600, "Windows 8.1 Pro", "Client", (E, E, E, U)),
    ("Windows 10 1507-22H2 / 2016 / 2019", 17763, "Windows Server 2019 Datacenter", "Server", (E, E, E, U)),
    ("Server 2022", 20348, "Windows Server 2022 Datacenter", "Server", (E, E, E, E)),
    ("Windows 11", 22631, "Windows 10 Pro", "Client", (E, E, E, E)),
    ("Server 2025", 26100, "Windows Server 2025 Datacenter", "Server", (E, E, E, E)),
]


def test_every_row_of_the_defaults_table_is_tested() -> None:
    assert len(DEFAULT_ROWS) == len(DEFAULTS)


@pytest.mark.parametrize(("row", "build", "product", "install", "expected"), DEFAULT_ROWS,
                         ids=[r[0] for r in DEFAULT_ROWS])
def test_os_default_row(tmp_path: Path, row: str, build: int, product: str, install: str | None,
                        expected: tuple[str, str, str, str]) -> None:
    state = machine_state(tmp_path, version(build, product, install))
    assert state.os is not None and state.os.build == build
    for protocol, want in zip(("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"), expected, strict=True):
        for role in ("Client", "Server"):
            setting = state.settings[f"schannel/{protocol}/{role}"]
            assert (setting.state, setting.source) == (want, "os-default"), (protocol, role)


@pytest.mark.parametrize(("body", "name", "server"), [
    (version(22631, "Windows 10 Pro", "Client"), "Windows 11 23H2", False),
    (version(22000, "Windows 10 Enterprise", None), "Windows 11 21H2", False),
    (version(26100, "Windows Server 2025 Datacenter", "Server Core"), "Windows Server 2025", True),
    (version(6002, "Windows Server (R) 2008 Standard", None), "Windows Server 2008 SP2", True),
    (version(6002, "Windows Vista (TM) Business", None), "Windows Vista SP2", False),
    (version(7601, "Windows Server 2008 R2 Enterprise", "Server"), "Windows Server 2008 R2 SP1", True),
    (version(19046, "Windows 10 Pro", "Client"), "Windows 10 (build 19046)", False),
    (version(25398, "Windows Server Datacenter", "Server"), "Windows Server (build 25398)", True),
    (CV + '"CurrentBuild"="14393"\n"EditionID"="ServerStandard"\n', "Windows Server 2016", True),
])
def test_os_identification(tmp_path: Path, body: str, name: str, server: bool) -> None:
    state = machine_state(tmp_path, body, system=None)
    assert state.os is not None and (state.os.name, state.os.server) == (name, server)


def test_os_unknown_without_build(tmp_path: Path) -> None:
    state = machine_state(tmp_path, CV + '"ProductName"="Windows 10 Pro"\n')
    assert state.os is None
    setting = state.settings["schannel/TLS 1.2/Client"]
    assert (setting.state, setting.source) == ("unknown", "unknown")


def _reading(number: int | None, known: bool = True, type_num: int = 4) -> Dword:
    value = None if number is None else Value("v", type_num, number.to_bytes(4, "little"), Origin("f"))
    return Dword(("K",), "v", value, known)


@pytest.mark.parametrize(("enabled", "dbd", "default", "expected"), [
    # tls-facts.md §1.4, row by row
    (_reading(None), _reading(None), N, (N, "os-default")),
    (_reading(None), _reading(None), E, (E, "os-default")),
    (_reading(0), _reading(0), E, ("disabled", "explicit")),
    (_reading(0), _reading(None), E, ("disabled", "explicit")),
    (_reading(1), _reading(0), N, (E, "explicit")),
    (_reading(0xFFFFFFFF), _reading(0), N, (E, "explicit")),
    (_reading(1), _reading(1), E, (N, "explicit")),
    (_reading(None), _reading(1), E, (N, "explicit")),
    (_reading(None), _reading(0), N, (E, "explicit")),
    (_reading(1), _reading(None), N, (N, "explicit")),
    (_reading(1), _reading(0), U, (U, "os-default")),
    (_reading(1), _reading(None), None, ("unknown", "explicit")),
    (_reading(1), _reading(0), None, (E, "explicit")),
    (_reading(None, known=False), _reading(0), E, ("unknown", "unknown")),
    (_reading(1, type_num=1), _reading(None), E, (E, "os-default")),   # REG_SZ Enabled is not read
    (_reading(2), _reading(2), E, (N, "explicit")),                     # undocumented values: non-zero = true
])
def test_effective_state_table(enabled: Dword, dbd: Dword, default: str | None, expected: tuple[str, str]) -> None:
    assert effective(enabled, dbd, default) == expected


def test_winhttp_masks() -> None:
    assert protocols(0xA00) == ["TLS 1.1", "TLS 1.2"]
    assert protocols(0xAA0) == ["SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2"]
    assert protocols(0x2800) == ["TLS 1.2", "TLS 1.3"]
    assert protocols(0x800 | 0x10000) == ["TLS 1.2", "0x10000"]


@pytest.mark.parametrize(("build", "server", "mask"), [
    (7601, False, 0xA0), (9200, True, 0xA0), (9600, True, 0xAA0), (17763, True, 0xAA0), (19045, False, 0xAA0),
    (22631, False, 0x2800), (20348, True, None), (26100, True, None), (6002, True, None),
])
def test_winhttp_default_per_os(tmp_path: Path, build: int, server: bool, mask: int | None) -> None:
    state = machine_state(tmp_path, version(build, "Windows", "Server" if server else "Client"), system=None)
    assert state.os is not None
    assert default_mask(state.os) == mask


@pytest.mark.parametrize(("data", "state"), [
    ('"SchUseStrongCrypto"=dword:00000001', "on"),
    ('"SchUseStrongCrypto"=dword:00000000', "off"),
    ('"SchUseStrongCrypto"="1"', "invalid"),
    ('"SchUseStrongCrypto"=dword:00000002', "invalid"),
    ('"SchUseStrongCrypto"=hex(4):01,00', "invalid"),
    ('"Other"=dword:00000001', "unknown"),
    ('"SchUseStrongCrypto"=-', "unset"),
])
def test_dotnet_states_from_reg_only(tmp_path: Path, data: str, state: str) -> None:
    body = f"[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]\n{data}\n"
    setting = machine_state(tmp_path, body, system=None).settings["dotnet/v4.0.30319/64/SchUseStrongCrypto"]
    assert setting.state == state


@pytest.mark.parametrize(("machine", "states"), [
    ("win7-sp1-configured", {"KB3140245": "installed", "KB4019276": "not-found"}),
    ("server2008-sp2-kb4019276", {"KB3140245": "not-found", "KB4019276": "installed"}),
    ("server2008r2-sp1-untouched", {"KB3140245": "not-found", "KB4019276": "not-found"}),
])
def test_update_detection(machine: str, states: dict[str, str]) -> None:
    settings = evaluate(load([SAMPLES / machine / "SOFTWARE"]).machine).settings
    assert {kb: settings[f"update/{kb}"].state for kb in states} == states


def test_update_present_but_not_installed(tmp_path: Path) -> None:
    key = ("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages"
           "\\Package_for_KB3140245~31bf3856ad364e35~amd64~~6.1.1.0]\n\"CurrentState\"=dword:00000020\n")
    change = tmp_path / "kb.reg"
    change.write_text("Windows Registry Editor Version 5.00\n\n" + key, encoding="utf-8")
    setting = evaluate(load([SAMPLES / "server2008r2-sp1-untouched" / "SOFTWARE", change]).machine).settings[
        "update/KB3140245"]
    assert setting.state == "present-not-installed"
    assert setting.extra["packages"] == [{"key": "Package_for_KB3140245~31bf3856ad364e35~amd64~~6.1.1.0",
                                          "current_state": 0x20}]
    assert setting.evidence[0].file == str(change) and setting.evidence[0].line == 4
