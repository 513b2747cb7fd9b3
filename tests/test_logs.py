"""Transaction-log replay: real dirty hives against Windows' own recovery, fixtures in both log formats."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from analyzer.report.markdown import cell
from analyzer.sources.folder import logs_for
from analyzer.sources.hive import HiveFile, parse_header
from analyzer.sources.logs import recover
from tests.conftest import CORPUS, SAMPLES, build_hive, corpus_file, hive_builder, need, sample_tool, snapshot
from tests.test_cli import regtls

YARP = CORPUS / "hives" / "yarp"
TLS12_CLIENT = r"ControlSet001\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client"
CHANGE = ("\n[HKEY_LOCAL_MACHINE\\SYSTEM\\" + TLS12_CLIENT + "]\n\"Enabled\"=dword:00000000\n")


def dirty_logs() -> ModuleType:
    """``samples/dirty_logs.py``, the project's writer of transaction logs for fixtures."""
    return sample_tool("dirty_logs")


def tree(path: Path) -> dict[str, list[tuple[str, int, bytes]]]:
    """Every key (upper-cased path) of a hive file with its values (name, type, exact data)."""
    hive = HiveFile(path, any_kind=True)
    out: dict[str, list[tuple[str, int, bytes]]] = {}
    stack: list[tuple[str, ...]] = [()]
    while stack:
        key = stack.pop()
        out["\\".join(key).upper()] = sorted((v.name, v.type_num, v.data) for v in hive.values(key))
        stack.extend((*key, name) for name in hive.subkey_names(key))
    return out


def replayed(tmp_path: Path, hive: Path, logs: list[Path]) -> Path:
    """The recovered hive written to a file of its own, for reading with HiveFile."""
    out = tmp_path / ("recovered-" + hive.name)
    out.write_bytes(recover(hive, logs).data)
    return out


# -- real dirty hives, compared with the hive Windows recovered -------------------------------------------


def test_new_format_dual_logs_match_windows_10_recovery(tmp_path: Path) -> None:
    hive = need(YARP / "NewDirtyHive1__NewDirtyHive", "yarp dirty hive")
    logs = logs_for(hive)
    assert [p.name for p in logs] == ["NewDirtyHive1__NewDirtyHive.LOG1", "NewDirtyHive1__NewDirtyHive.LOG2"]
    result = recover(hive, logs)
    assert [(u.path.name, u.applied, u.first, u.last) for u in result.logs] == [
        ("NewDirtyHive1__NewDirtyHive.LOG1", True, 2, 2), ("NewDirtyHive1__NewDirtyHive.LOG2", True, 3, 5)]
    header = parse_header(result.data[:4096])
    assert header is not None and (header.primary_seq, header.secondary_seq, header.checksum_ok) == (5, 5, True)
    windows = YARP / "NewDirtyHive1__RecoveredHive_Windows10"
    assert tree(replayed(tmp_path, hive, logs)) == tree(windows)
    assert tree(hive) != tree(windows)  # the logs matter: without them the keys differ


def test_log_order_on_the_command_line_does_not_matter(tmp_path: Path) -> None:
    hive = need(YARP / "NewDirtyHive1__NewDirtyHive", "yarp dirty hive")
    assert recover(hive, logs_for(hive)[::-1]).data == recover(hive, logs_for(hive)).data


def test_old_format_log_matches_windows_7_recovery(tmp_path: Path) -> None:
    hive = need(YARP / "OldDirtyHive__OldDirtyHive", "yarp dirty hive")
    result = recover(hive, logs_for(hive))
    assert [(u.applied, u.detail) for u in result.logs] == [
        (True, "applied: old format, 64 dirty 512-byte pages, sequence 5")]
    windows = tree(YARP / "OldDirtyHive__RecoveredHive_Windows7")
    ours = tree(replayed(tmp_path, hive, logs_for(hive)))
    assert ours == windows
    found_in_log = "KEY_WITH_MANY_SUBKEYS\\5000\\FIND_ME_IN_LOG"
    assert found_in_log in ours and found_in_log not in tree(hive)


def test_regipy_system_b_dual_logs_in_sequence_order(tmp_path: Path) -> None:
    hive = corpus_file(tmp_path, "hives/regipy/SYSTEM_B.xz")
    for name in ("SYSTEM_B.LOG1", "SYSTEM_B.LOG2"):
        corpus_file(tmp_path, f"hives/regipy/{name}.xz")
    result = recover(hive, logs_for(hive))
    assert [(u.path.name, u.first, u.last) for u in result.logs] == [("SYSTEM_B.LOG1", 2107, 2110),
                                                                    ("SYSTEM_B.LOG2", 2111, 2130)]
    header = parse_header(result.data[:4096])
    assert header is not None and (header.primary_seq, header.secondary_seq, header.bins_size) == (2130, 2130, 0xC02000)
    # an independent replay: regipy, given the older log as its "secondary" (it applies that one first)
    from regipy.recovery import apply_transaction_logs

    out, _ = apply_transaction_logs(str(hive), str(tmp_path / "SYSTEM_B.LOG2"), str(tmp_path / "SYSTEM_B.LOG1"),
                                    restored_hive_path=str(tmp_path / "regipy-restored"))
    assert Path(out).read_bytes()[4096:] == result.data[4096:]


def test_a_log_that_fails_its_checks_is_not_applied() -> None:
    hive = need(YARP / "BadLogHive3__BadLogHive", "yarp dirty hive")
    result = recover(hive, logs_for(hive))
    assert result.applied == []
    assert all(u.detail.startswith("not applied: ") for u in result.logs) and len(result.logs) == 2
    assert result.data == hive.read_bytes()


# -- fixtures: before/after hives built by hivex, logs written to the specification ------------------------


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Clean SYSTEM hives: the sample, the sample with TLS 1.2 client disabled; both again above 2 MB."""
    tmp = tmp_path_factory.mktemp("states")
    text = hive_builder().read_reg_text(SAMPLES / "server2019-configured" / "SYSTEM.reg").split("\n", 1)[1]
    filler = "".join(f"\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Filler\\K{i}]\n\"Blob\"=hex:" + ",".join(["ab"] * 16000)
                     + "\n" for i in range(140))
    out = {}
    for name, body in (("before", text), ("after", text + CHANGE), ("big-before", text + filler),
                       ("big-after", text + filler + CHANGE)):
        (tmp / name).mkdir()
        out[name] = build_hive(tmp / name, "SYSTEM", body).read_bytes()
    assert len(out["big-after"]) > 2 * 1024 * 1024 + 4096
    return out


@pytest.mark.parametrize("fmt", ["new_format", "old_format"])
@pytest.mark.parametrize("size", ["", "big-"])
def test_replay_gives_the_state_after_the_change(tmp_path: Path, states: dict[str, bytes], fmt: str,
                                                size: str) -> None:
    before, after = states[size + "before"], states[size + "after"]
    hive_bytes, log = getattr(dirty_logs(), fmt)(before, after)
    hive, log_path = tmp_path / "SYSTEM", tmp_path / "system.log1"  # log names match case-insensitively
    hive.write_bytes(hive_bytes)
    log_path.write_bytes(log)
    assert logs_for(hive) == [log_path]
    seen = snapshot(tmp_path)
    result = recover(hive, [log_path])
    assert [u.applied for u in result.logs] == [True]
    assert result.data[4096:] == after[4096:]
    header = parse_header(result.data[:4096])
    assert header is not None and not header.dirty and header.checksum_ok
    assert snapshot(tmp_path) == seen  # nothing written beside the evidence, nothing changed in it


def test_old_format_log_of_another_write_is_refused(tmp_path: Path, states: dict[str, bytes]) -> None:
    hive_bytes, log = dirty_logs().old_format(states["before"], states["after"])
    changed = bytearray(log)
    changed[0x0C] ^= 1  # the log's last-written time no longer matches the hive's
    struct.pack_into("<I", changed, 0x1FC, dirty_logs().checksum(changed))
    (tmp_path / "SYSTEM").write_bytes(hive_bytes)
    (tmp_path / "SYSTEM.LOG").write_bytes(bytes(changed))
    result = recover(tmp_path / "SYSTEM", [tmp_path / "SYSTEM.LOG"])
    assert [u.detail for u in result.logs] == [
        "not applied: it belongs to another write of the hive (its last-written time differs from the hive's)"]
    assert result.data == hive_bytes


def test_damaged_new_format_entry_stops_the_replay(tmp_path: Path, states: dict[str, bytes]) -> None:
    hive_bytes, log = dirty_logs().new_format(states["before"], states["after"])
    broken = bytearray(log)
    broken[512 + 40 + 8 + 100] ^= 0xFF  # a byte of the first dirty page: Hash-1 no longer matches
    (tmp_path / "SYSTEM").write_bytes(hive_bytes)
    (tmp_path / "SYSTEM.LOG1").write_bytes(bytes(broken))
    (tmp_path / "SYSTEM.LOG2").write_bytes(b"")
    result = recover(tmp_path / "SYSTEM", logs_for(tmp_path / "SYSTEM"))
    assert [(u.path.name, u.detail) for u in result.logs] == [
        ("SYSTEM.LOG1", "not applied: no entry passes the hash and sequence checks"),
        ("SYSTEM.LOG2", "not applied: empty file")]
    assert result.data == hive_bytes


# -- on the command line: check applies the logs, --no-logs does not, every format warns ----------------


@pytest.fixture()
def dirty_machine(tmp_path: Path, states: dict[str, bytes]) -> Path:
    """A config folder: SYSTEM dirty, its SYSTEM.LOG1 disables the TLS 1.2 client; a clean SOFTWARE."""
    hive, log = dirty_logs().new_format(states["before"], states["after"])
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "SYSTEM").write_bytes(hive)
    (folder / "SYSTEM.LOG1").write_bytes(log)
    (folder / "SOFTWARE").write_bytes((SAMPLES / "server2019-configured" / "SOFTWARE").read_bytes())
    return folder


def tls12_client(report: dict[str, Any]) -> tuple[str, str]:
    setting = next(s for s in report["settings"] if s["id"] == "schannel/TLS 1.2/Client")
    return setting["state"], setting["detail"]


def test_check_replays_the_logs_and_says_so(dirty_machine: Path) -> None:
    seen = snapshot(dirty_machine)
    code, out, err = regtls("check", dirty_machine, "--format", "json")
    assert err == "regtls: verdict: fail (1 errors, 0 warnings, 0 notes, 0 undecided) with profile azure-backup\n"
    assert snapshot(dirty_machine) == seen
    report = json.loads(out)
    assert code == 1 and tls12_client(report) == ("disabled", "Enabled=0, DisabledByDefault=0")
    system = report["inputs"][0]
    log = dirty_machine / "SYSTEM.LOG1"
    assert (system["dirty"], system["logs_applied"], system["unchanged"]) == (True, True, True)
    assert system["logs"] == [{"path": str(log), "applied": True, "detail": "applied: new format, sequence 2-2",
                               "first_sequence": 2, "last_sequence": 2, "sha256": seen["SYSTEM.LOG1"][0],
                               "sha256_after": seen["SYSTEM.LOG1"][0], "unchanged": True}]
    notes = [d for d in report["diagnostics"] if d["code"] == "logs-applied"]
    assert [n["message"] for n in notes] == [
        f"the hive is dirty (sequence numbers 3 and 2 differ): read with its transaction logs replayed in memory "
        f"({log}: applied: new format, sequence 2-2)"]


WARNING_NO_LOGS = ("the hive is dirty (sequence numbers 3 and 2 differ): read as it is (--no-logs); recent changes "
                   "that sit in its transaction logs are missing")
WARNING_NO_FILES = ("the hive is dirty (sequence numbers 3 and 2 differ) and no .LOG1/.LOG2/.LOG file is beside it: "
                    "recent changes that sit in its transaction logs are missing")


@pytest.mark.parametrize("how", ["--no-logs", "no log files"])
def test_a_dirty_hive_read_without_logs_is_a_warning_in_every_format(dirty_machine: Path, how: str) -> None:
    args: list[object] = ["check", dirty_machine]
    if how == "--no-logs":
        args.append("--no-logs")
        expected = WARNING_NO_LOGS
    else:
        (dirty_machine / "SYSTEM.LOG1").unlink()
        expected = WARNING_NO_FILES
    system = str(dirty_machine / "SYSTEM")
    code, out, err = regtls(*args, "--format", "json")
    assert err == (f"regtls: warning: {system}: {expected}\n"
                   "regtls: verdict: pass (0 errors, 0 warnings, 0 notes, 0 undecided) with profile azure-backup\n")
    report = json.loads(out)
    assert code == 0 and tls12_client(report)[0] == "enabled"  # the state before the logged change
    assert [(d["file"], d["level"], d["message"]) for d in report["diagnostics"] if d["code"] == "dirty-hive"] == [
        (system, "warning", expected)]
    _, sarif, _ = regtls(*args, "--format", "sarif")
    invocation = json.loads(sarif)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert [(n["level"], n["message"]["text"]) for n in invocation["toolExecutionNotifications"]] == [
        ("warning", expected)]
    _, github, _ = regtls(*args, "--format", "github")
    assert github.splitlines()[-1] == f"::warning file={system}::{expected}"
    _, junit, _ = regtls(*args, "--format", "junit")
    assert f"<system-err>{system}: warning: {expected}</system-err>" in junit
    _, markdown, _ = regtls(*args, "--format", "markdown")
    assert markdown.splitlines()[-1] == f"- warning: `{system}`: {cell(expected)}"
    _, table, _ = regtls(*args)
    assert f"warning: {system}: {expected}" in " ".join(table.split())
