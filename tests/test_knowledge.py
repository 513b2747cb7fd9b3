"""Knowledge tables: one test per row of the per-OS default table, OS identification, effective states."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.inputs import load
from analyzer.knowledge import Dword
from analyzer.knowledge.schannel import DEFAULTS, default_row, effective
from analyzer.knowledge.state import evaluate
from analyzer.knowledge.winhttp import default_mask, protocols
from analyzer.registry import Origin, Value
from tests.conftest import SAMPLES

# A real SYSTEM hive; machine_state() deletes its Schannel protocol keys, so every state is the OS default.
EMPTY_SYSTEM = SAMPLES / "server2012r2-untouched" / "SYSTEM"
CV = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n"


def machine_state(tmp_path: Path, body: str, system: Path | None = EMPTY_SYSTEM):  # type: ignore[no-untyped-def]
    """The state of a SYSTEM hive with every Schannel protocol key removed, plus ``body``."""
    change = tmp_path / "os.reg"
    wipe = "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols]\n"
    change.write_text("Windows Registry Editor Version 5.00\n\n" + (wipe if system else "") + body, encoding="utf-8")
    return evaluate(load([*([system] if system else []), change]).machine)


def version(build: int, product: str, install: str | None) -> str:
    lines = [CV, f'"CurrentBuildNumber"="{build}"\n', f'"ProductName"="{product}"\n']
    if install:
        lines.append(f'"InstallationType"="{install}"\n')
    return "".join(lines)


E, N, U = "enabled", "not-default", "unsupported"
# (build, ProductName, InstallationType) of a machine in each Windows row
VISTA_2008 = (6001, "Windows Server (R) 2008 Standard", "Server")
S2008SP2 = (6002, "Windows Server (R) 2008 Standard", None)
WIN7 = (7601, "Windows 7 Professional", "Client")
S2012 = (9200, "Windows Server 2012 Standard", "Server")
WIN81 = (9600, "Windows 8.1 Pro", "Client")
WIN10_1507 = (10240, "Windows 10 Pro", "Client")
WIN10_1511 = (10586, "Windows 10 Pro", "Client")
S2016 = (14393, "Windows Server 2016 Standard", "Server")
S2019 = (17763, "Windows Server 2019 Datacenter", "Server")
WIN10_22H2 = (19045, "Windows 10 Pro", "Client")
S2022 = (20348, "Windows Server 2022 Datacenter", "Server")
WIN11 = (22631, "Windows 10 Pro", "Client")
S2025 = (26100, "Windows Server 2025 Datacenter", "Server Core")

# tls-facts.md §2.1-§2.3 transcribed row by row: (table row, machines of that row, {protocol: (Client, Server)})
TLS = ("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")


def _tls(*cells: str) -> dict[str, tuple[str, str]]:
    return {p: (c, c) for p, c in zip(TLS, cells, strict=True)}


DEFAULT_ROWS = [
    ("2.1 Vista / Server 2008 (pre-SP2)", [VISTA_2008], _tls(E, U, U, U)),
    ("2.1 Server 2008 SP2", [S2008SP2], _tls(E, N, N, U)),
    ("2.1 Windows 7 / Server 2008 R2", [WIN7], _tls(E, N, N, U)),
    ("2.1 Windows 8 / Server 2012", [S2012], _tls(E, E, E, U)),
    ("2.1 Windows 8.1 / Server 2012 R2", [WIN81], _tls(E, E, E, U)),
    ("2.1 Windows 10 1507-22H2, Server 2016, 2019", [WIN10_1507, WIN10_1511, S2016, S2019, WIN10_22H2],
     _tls(E, E, E, U)),
    ("2.1 Server 2022", [S2022], _tls(E, E, E, E)),
    ("2.1 Windows 11", [WIN11], _tls(E, E, E, E)),
    ("2.1 Server 2025", [S2025], _tls(E, E, E, E)),
    ("2.2 Vista/2008, 2008 SP2", [VISTA_2008, S2008SP2], {"DTLS 1.0": (U, U), "DTLS 1.2": (U, U)}),
    ("2.2 Windows 7 ... Windows 10 1511", [WIN7, S2012, WIN81, WIN10_1507, WIN10_1511],
     {"DTLS 1.0": (E, E), "DTLS 1.2": (U, U)}),
    ("2.2 Windows 10 1607 / Server 2016 and later", [S2016, S2019, WIN10_22H2, S2022, WIN11, S2025],
     {"DTLS 1.0": (E, E), "DTLS 1.2": (E, E)}),
    ("2.3 Vista/2008, 2008 SP2, Windows 7 / 2008 R2", [VISTA_2008, S2008SP2, WIN7],
     {"PCT 1.0": (U, U), "SSL 2.0": (N, E), "SSL 3.0": (E, E)}),
    ("2.3 Windows 8/2012, 8.1/2012 R2, Windows 10 1507/1511", [S2012, WIN81, WIN10_1507, WIN10_1511],
     {"PCT 1.0": (U, U), "SSL 2.0": (N, N), "SSL 3.0": (E, E)}),
    ("2.3 Windows 10 1607 / Server 2016 and later", [S2016, S2019, WIN10_22H2, S2022, WIN11, S2025],
     {"PCT 1.0": (U, U), "SSL 2.0": (U, U), "SSL 3.0": (N, N)}),
]
CASES = [(row, machine, cells) for row, machines, cells in DEFAULT_ROWS for machine in machines]


@pytest.mark.parametrize(("row", "machine", "cells"), CASES, ids=[f"{r} build {m[0]}" for r, m, _ in CASES])
def test_os_default_row(tmp_path: Path, row: str, machine: tuple[int, str, str | None],
                        cells: dict[str, tuple[str, str]]) -> None:
    state = machine_state(tmp_path, version(*machine))
    assert state.os is not None and state.os.build == machine[0]
    for protocol, expected in cells.items():
        for role, want in zip(("Client", "Server"), expected, strict=True):
            setting = state.settings[f"schannel/{protocol}/{role}"]
            assert (setting.state, setting.source) == (want, "os-default"), (protocol, role)


def test_every_windows_row_of_the_table_is_exercised(tmp_path: Path) -> None:
    rows = set()
    for machine in {m for _, m, _ in CASES}:
        state = machine_state(tmp_path, version(*machine), system=None)
        assert state.os is not None
        rows.add(default_row(state.os))
    assert rows == set(DEFAULTS)


def test_undocumented_defaults_stay_unknown(tmp_path: Path) -> None:
    """Multi-Protocol Unified Hello and DTLS 1.3 have no documented default (tls-facts.md §1.2)."""
    state = machine_state(tmp_path, version(*S2022))
    for protocol in ("Multi-Protocol Unified Hello", "DTLS 1.3"):
        setting = state.settings[f"schannel/{protocol}/Server"]
        assert (setting.state, setting.source) == ("unknown", "unknown")
        assert setting.detail == f"not set; Microsoft documents no default for {protocol}"


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


# tls-facts.md §4.3: every Release value of the table and the version it means
RELEASES = [(378389, "4.5"), (378675, "4.5.1"), (378758, "4.5.1"), (379893, "4.5.2"), (393295, "4.6"),
            (393297, "4.6"), (394254, "4.6.1"), (394271, "4.6.1"), (394802, "4.6.2"), (394806, "4.6.2"),
            (460798, "4.7"), (460805, "4.7"), (461308, "4.7.1"), (461310, "4.7.1"), (461808, "4.7.2"),
            (461814, "4.7.2"), (528040, "4.8"), (528372, "4.8"), (528449, "4.8"), (528049, "4.8"),
            (533320, "4.8.1"), (533325, "4.8.1")]


@pytest.mark.parametrize(("release", "version_name"), RELEASES)
def test_dotnet_release_table(tmp_path: Path, release: int, version_name: str) -> None:
    body = ("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full]\n"
            f'"Release"=dword:{release:08x}\n')
    setting = machine_state(tmp_path, body, system=None).settings["dotnet/installed/v4"]
    assert (setting.state, setting.extra["release"]) == (version_name, release)


@pytest.mark.parametrize(("machine", "installed"), [("server2012r2-untouched", "4.5.1"), ("win7-sp1-configured", "4.8"),
                                                     ("server2019-configured", "4.7.2")])
def test_installed_dotnet_of_samples(machine: str, installed: str) -> None:
    settings = evaluate(load([SAMPLES / machine / "SOFTWARE"]).machine).settings
    assert settings["dotnet/installed/v4"].state == installed


@pytest.mark.parametrize(("enabled", "value_state", "state"), [
    ("dword:00000001", "one", "enabled"),
    ("dword:ffffffff", "legacy-all-ones", "enabled"),
    ("dword:00000002", "nonstandard", "enabled"),
    ("dword:00000000", "zero", "disabled"),
    ('"1"', "wrong-type", "enabled"),          # not read: the OS default (enabled on Server 2019) applies
    ("hex(4):01,00", "wrong-size", "enabled"),
    ("hex(b):01,00,00,00,00,00,00,00", "wrong-type", "enabled"),
])
def test_odd_values_are_distinct_states(tmp_path: Path, enabled: str, value_state: str, state: str) -> None:
    body = version(*S2019) + ("[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"
                              f"\\Protocols\\TLS 1.2\\Client]\n\"Enabled\"={enabled}\n")
    setting = machine_state(tmp_path, body).settings["schannel/TLS 1.2/Client"]
    assert setting.extra["values"] == {"Enabled": value_state, "DisabledByDefault": "absent"}
    assert setting.state == state
    assert bool(setting.problems) == (value_state in ("wrong-type", "wrong-size"))


def test_tls13_switched_on_where_unsupported_stays_unsupported(tmp_path: Path) -> None:
    body = version(*S2019) + ("[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"
                              "\\Protocols\\TLS 1.3\\Server]\n\"Enabled\"=dword:1\n\"DisabledByDefault\"=dword:0\n")
    setting = machine_state(tmp_path, body).settings["schannel/TLS 1.3/Server"]
    assert (setting.state, setting.source) == ("unsupported", "os-default")
    assert "this Windows version cannot use TLS 1.3, whatever the registry says" in setting.detail


def test_32bit_windows_has_no_32bit_view() -> None:
    state = evaluate(load([SAMPLES / "win10-x86" / "SYSTEM", SAMPLES / "win10-x86" / "SOFTWARE"]).machine)
    assert (state.architecture, state.has_32bit_view) == ("x86", False)
    for sid in ("dotnet/v4.0.30319/32/SchUseStrongCrypto", "winhttp/32/DefaultSecureProtocols"):
        assert (state.settings[sid].state, state.settings[sid].source) == ("not-applicable", "os-default")
    assert state.settings["dotnet/v4.0.30319/64/SchUseStrongCrypto"].state == "on"


@pytest.mark.parametrize(("machine", "expected"), [
    (WIN7, {"NULL": "disabled", "RC4 128/128": "enabled", "Triple DES 168": "enabled", "AES 256/256": "enabled"}),
    (S2019, {"NULL": "disabled", "RC4 128/128": "disabled", "Triple DES 168": "enabled"}),
])
def test_cipher_defaults(tmp_path: Path, machine: tuple[int, str, str | None], expected: dict[str, str]) -> None:
    settings = machine_state(tmp_path, version(*machine)).settings
    assert {name: settings[f"cipher/{name}"].state for name in expected} == expected
    assert {settings[f"cipher/{name}"].source for name in expected} == {"os-default"}


def test_rc4_default_needs_the_os() -> None:
    settings = evaluate(load([EMPTY_SYSTEM]).machine).settings
    assert (settings["cipher/RC4 128/128"].state, settings["cipher/NULL"].state) == ("unknown", "disabled")


def test_hardened_sample_ciphers_suites_fips_and_key_sizes() -> None:
    s = evaluate(load([SAMPLES / "server2022-hardened" / "SYSTEM", SAMPLES / "server2022-hardened" / "SOFTWARE"])
                 .machine).settings
    assert (s["cipher/Triple DES 168"].state, s["cipher/Triple DES 168"].source) == ("disabled", "explicit")
    assert (s["hash/MD5"].state, s["hash/SHA256"].state) == ("disabled", "enabled")
    assert s["keyexchange/Diffie-Hellman/ClientMinKeyBitLength"].extra["bits"] == 2048
    assert (s["keyexchange/PKCS/ClientMinKeyBitLength"].state, s["keyexchange/PKCS/ClientMinKeyBitLength"].source) \
        == ("1024", "os-default")
    order = s["ciphersuites/order"]
    assert (order.state, order.extra["suites"][:2], order.extra["weak"]) == (
        "policy", ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"], [])  # the policy list wins over the local one
    assert (s["fips/policy"].state, s["fips/policy"].source) == ("on", "explicit")


def test_local_suite_order_and_legacy_fips_value(tmp_path: Path) -> None:
    body = ("[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Cryptography\\Configuration\\Local\\SSL"
            "\\00010002]\n"
            '"Functions"=hex(7):41,00,5f,00,52,00,43,00,34,00,5f,00,00,00,00,00\n'
            "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy]\n"
            '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa]\n"FIPSAlgorithmPolicy"=dword:1\n')
    s = machine_state(tmp_path, body).settings
    assert (s["ciphersuites/order"].state, s["ciphersuites/order"].extra["weak"]) == ("local", ["A_RC4_"])
    assert (s["fips/policy"].state, s["fips/policy"].detail) == ("on", "FIPSAlgorithmPolicy=1 (the legacy form "
                                                                       "directly under Lsa)")


def test_other_control_sets_are_evaluated_and_differences_named() -> None:
    state = evaluate(load([SAMPLES / "server2016-controlset002" / "SYSTEM",
                           SAMPLES / "server2016-controlset002" / "SOFTWARE"]).machine)
    assert [(c.name, c.roles) for c in state.control_sets] == [("ControlSet001", ("LastKnownGood",))]
    (mine, current), = state.control_sets[0].differences
    assert (mine.id, mine.state, mine.source, current.state) == ("schannel/TLS 1.2/Client", "disabled", "explicit",
                                                                  "enabled")
    assert mine.evidence[0].key.startswith("HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\")
