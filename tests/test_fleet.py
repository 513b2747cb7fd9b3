"""Fleets that hide or lose machines: discovery, dead and hanging workers, signals, the results database."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzer import workers
from analyzer.scan import Row
from tests.conftest import SAMPLES
from tests.test_cli import regtls

NAMES = sorted(p.name for p in SAMPLES.iterdir() if (p / "SYSTEM").is_file())


def machine(root: Path, name: str, sample: str, layout: str = "root") -> Path:
    """A machine folder copied from a sample: a Windows root (``root``) or a bare config folder."""
    config = root / name / "Windows" / "System32" / "config" if layout == "root" else root / name
    config.mkdir(parents=True)
    for hive in ("SYSTEM", "SOFTWARE"):
        shutil.copy(SAMPLES / sample / hive, config / hive)
    return config


def fleet(root: Path, count: int) -> list[Path]:
    return [machine(root, f"m{i:02d}", NAMES[i % len(NAMES)]) for i in range(count)]


def rows_of(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_a_stray_system_file_does_not_swallow_the_tree(tmp_path: Path) -> None:
    bad = machine(tmp_path, "a-failing", "server2012r2-untouched")
    good = machine(tmp_path, "b-passing", "win7-sp1-configured")
    (tmp_path / "SYSTEM").write_text("notes of the examiner\n")
    deep = machine(tmp_path / "x" / "y" / "z" / "w" / "v", "deep", "server2019-configured", layout="config")
    code, out, err = regtls("scan", tmp_path, "--format", "jsonl")
    rows = {r["machine"]: r for r in rows_of(out)}
    assert code == 1  # the failing machine is still there
    assert set(rows) == {str(bad), str(good), str(deep)}
    assert rows[str(bad)]["verdict"] == "fail" and rows[str(deep)]["verdict"] == "pass"
    assert f"regtls: skipped: {tmp_path / 'SYSTEM'}: named SYSTEM but not a hive (no regf signature); " in err
    assert "regtls: 1 item(s) skipped while searching" in err


def test_fifos_loops_and_symlinks_are_named_and_searched_once(tmp_path: Path) -> None:
    config = machine(tmp_path, "real", "win7-sp1-configured")
    fifo_place = tmp_path / "fifo" / "Windows" / "System32" / "config"
    fifo_place.mkdir(parents=True)
    os.mkfifo(fifo_place / "SYSTEM")
    (tmp_path / "group").mkdir()
    for i in range(20):
        (tmp_path / "group" / f"up{i}").symlink_to("..")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    code, out, err = regtls("scan", tmp_path, "--format", "jsonl")
    assert code == 0
    assert [r["machine"] for r in rows_of(out)] == [str(config)]  # one row, not 21
    assert f"regtls: skipped: {fifo_place / 'SYSTEM'}: a FIFO; skipped" in err
    assert f"regtls: skipped: {tmp_path / 'dangling'}: a dangling symlink" in err
    assert err.count("a symlink loop (leads back to") == 20
    assert "regtls: 22 item(s) skipped while searching" in err


def test_loose_files_and_a_folder_with_the_same_name_are_two_rows(tmp_path: Path) -> None:
    config = machine(tmp_path, "m", "win7-sp1-configured", layout="config")
    code, out, _ = regtls("scan", config, config / "SYSTEM", config / "SOFTWARE", "--format", "jsonl")
    rows = rows_of(out)
    assert code == 0 and [r["machine"] for r in rows] == [str(config), str(config)]
    assert sorted(str(r["id"]) for r in rows) == [f"files:{config}", f"folder:{config}"]


def test_rows_carry_findings_settings_diagnostics_and_warnings(tmp_path: Path) -> None:
    code, out, _ = regtls("scan", SAMPLES / "server2016-controlset002", "--format", "json")
    doc = json.loads(out)
    row = doc["machines"][0]
    assert code == 0 and doc["schema"] == "regtls.fleet/1"
    assert [f["rule"] for f in row["findings"]] == ["XCK003"] and row["warnings"] == 1
    assert {"id", "state", "source", "detail"} == set(row["settings"][0])
    assert row["diagnostics"] == []


def _only_dies(name: str) -> str:
    if name.startswith("die"):
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "hang":
        time.sleep(60)
    return name.upper()


def test_a_dying_or_hanging_task_costs_only_itself() -> None:
    results: dict[int, str] = {}
    start = time.monotonic()
    workers.run(["a", "die", "b", "hang", "c"], _only_dies, 2, lambda task, why: f"{task}: {why}",
                results.__setitem__, timeout=2)
    assert time.monotonic() - start < 30
    assert results == {0: "A", 1: "die: worker killed by SIGKILL, twice (tried again in a fresh process)", 2: "B",
                       3: "hang: timed out after 2 s (the worker was stopped)", 4: "C"}


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _start(*args: object, tmp: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen([sys.executable, "-m", "analyzer", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_a_killed_worker_costs_nothing_it_is_tried_again(tmp_path: Path) -> None:
    fleet(tmp_path / "ev", 30)
    proc = _start("scan", tmp_path / "ev", "--jobs", "2", "--format", "jsonl", tmp=tmp_path)
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        kids = _children(proc.pid)
        if kids:
            os.kill(kids[0], signal.SIGKILL)  # as the OOM killer would
            killed = kids[0]
        time.sleep(0.01)
    out, err = proc.communicate(timeout=120)
    rows = rows_of(out)
    assert killed is not None
    assert proc.returncode == 1 and len(rows) == 30 and "0 unreadable" in err
    assert all(r["error"] is None and r["verdict"] in ("pass", "fail") for r in rows)


def _wait_rows(db: Path, at_least: int, proc: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(db) as conn:
                count = conn.execute("SELECT count(*) FROM machines").fetchone()[0]
        except sqlite3.Error:
            count = 0
        if count >= at_least:
            return int(count)
        time.sleep(0.02)
    raise AssertionError(f"the scan ended or stalled before {at_least} rows were stored")


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_interrupt_then_resume_a_40_machine_fleet(tmp_path: Path, signum: int) -> None:
    fleet(tmp_path / "ev", 40)
    temp = tmp_path / "temp"
    temp.mkdir()
    db = tmp_path / "fleet.sqlite"
    proc = _start("scan", tmp_path / "ev", "--jobs", "2", "--db", db, "--format", "jsonl", tmp=temp)
    _wait_rows(db, 5, proc)
    kids = _children(proc.pid)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    time.sleep(0.5)
    assert not [k for k in kids if Path(f"/proc/{k}").exists() and _state(k) != "Z"]  # no worker survives
    assert list(temp.iterdir()) == []
    if signum == signal.SIGTERM:
        assert proc.returncode == 143 and err.endswith(f"regtls: interrupted; the machines finished so far are in "
                                                       f"{db}\n")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = conn.execute("SELECT count(*) FROM machines").fetchone()[0]
    assert 5 <= stored < 40
    code, out, err = regtls("scan", tmp_path / "ev", "--jobs", "2", "--db", db, "--format", "jsonl")
    assert code == 1 and f"regtls: skipped {stored} machine(s) already in {db} with unchanged inputs and profile" in err
    clean = regtls("scan", tmp_path / "ev", "--jobs", "2", "--format", "jsonl")
    assert out == clean[1] and len(rows_of(out)) == 40
    again = regtls("scan", tmp_path / "ev", "--db", db, "--format", "jsonl")
    assert again[1] == out and "regtls: skipped 40 machine(s)" in again[2]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_changed_machine_is_judged_again_and_every_format_comes_from_the_database(tmp_path: Path) -> None:
    configs = fleet(tmp_path / "ev", 3)
    db = tmp_path / "r.sqlite"
    assert regtls("scan", tmp_path / "ev", "--db", db, "-q")[0] == 1
    shutil.copy(SAMPLES / "server2012r2-untouched" / "SOFTWARE", configs[0] / "SOFTWARE")
    code, _, err = regtls("scan", tmp_path / "ev", "--db", db, "--format", "jsonl")
    assert "regtls: skipped 2 machine(s)" in err
    shutil.rmtree(tmp_path / "ev")  # the report needs the database alone
    for fmt in ("text", "json", "markdown", "jsonl", "csv", "sarif", "html"):
        rcode, out, rerr = regtls("report", db, "--format", fmt)
        assert rcode == code and rerr.endswith("regtls: 3 machine(s): " + rerr.rsplit(": ", 1)[1])
        assert str(configs[1]) in out
    _, md, _ = regtls("report", db, "--format", "markdown")
    assert "## Failing rules" in md and "| NET001 |" in md
    _, table, _ = regtls("report", db)
    assert "Failing rules" in table and "Machines" in table
    assert regtls("report", tmp_path / "nothing.sqlite") == (2, "", f"regtls: error: {tmp_path / 'nothing.sqlite'}: "
                                                                  "no such database\n")
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    code, out, err = regtls("report", tmp_path / "junk.sqlite")
    assert code == 2 and out == "" and err.startswith(f"regtls: error: {tmp_path / 'junk.sqlite'}: ")


def test_row_round_trips_through_json() -> None:
    row = Row("m", ["a"], "Windows 7", 7601, "ControlSet001", "fail", ["NET001"], {"error": 1}, None, "folder:m",
              [{"rule": "NET001"}], [{"id": "x", "state": "on", "source": "s", "detail": "d"}], [], 2)
    assert Row.from_json(row.to_json()) == row
    assert "settings" not in row.to_json(settings=False)


def test_an_unreadable_folder_is_named_and_the_others_judged(tmp_path: Path) -> None:
    """Root reads every folder, so the scan runs without the capabilities that override file permissions
    (setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH) over a folder with mode 000."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv (util-linux) to drop the permission-override capabilities")
    good = [machine(tmp_path, f"m{i}", "win7-sp1-configured") for i in range(8)]
    locked = machine(tmp_path, "locked", "server2012r2-untouched").parents[2]
    locked.chmod(0o000)
    try:
        drop = "-dac_override,-dac_read_search"
        proc = subprocess.run([setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", sys.executable, "-m",
                               "analyzer", "scan", str(tmp_path), "--format", "jsonl"],
                              capture_output=True, text=True, timeout=120)
    finally:
        locked.chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    assert [r["machine"] for r in rows_of(proc.stdout)] == [str(g) for g in good]
    assert f"regtls: skipped: {locked}: cannot list the folder: Permission denied\n" in proc.stderr
    assert "regtls: 1 item(s) skipped while searching" in proc.stderr


def test_progress_on_a_terminal_and_quiet_otherwise(tmp_path: Path) -> None:
    import pty

    fleet(tmp_path, 6)
    for quiet in ((), ("--quiet",)):
        master, slave = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "analyzer", "scan", str(tmp_path), "--format", "csv",
                                 "--jobs", "2", *quiet], stdout=subprocess.PIPE, stderr=slave,
                                env={**os.environ, "COLUMNS": "160"})
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        out, _ = proc.communicate(timeout=60)
        os.close(master)
        screen = b"".join(chunks).decode(errors="replace")
        assert proc.returncode == 1 and len(out.splitlines()) == 7
        assert ("scanning" in screen and "ETA" in screen and "/6" in screen) is not bool(quiet)
        assert "6 machine(s)" in screen


def test_a_dirty_hive_without_logs_is_a_warning_in_its_row(tmp_path: Path) -> None:
    from tests.conftest import sample_tool

    config = machine(tmp_path, "dirty", "win7-sp1-configured")
    data = bytearray((config / "SYSTEM").read_bytes())
    data[4:8] = (int.from_bytes(data[8:12], "little") + 1).to_bytes(4, "little")  # primary sequence ahead
    data[508:512] = sample_tool("dirty_logs").checksum(data[:512]).to_bytes(4, "little")
    (config / "SYSTEM").write_bytes(bytes(data))
    code, out, _ = regtls("scan", tmp_path, "--format", "jsonl")
    (row,) = rows_of(out)
    warnings = [d for d in row["diagnostics"] if d["level"] == "warning"]
    assert warnings and warnings[0]["file"] == str(config / "SYSTEM")
    assert row["warnings"] == len(warnings) + sum(f["level"] == "warning" for f in row["findings"]) >= 1
    assert code == 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_collections_are_copied_leaves_no_temporary_file(tmp_path: Path, signum: int,
                                                                       code: int) -> None:
    from tests.test_collection import AUTO, hives, velociraptor

    evidence = tmp_path / "ev"
    evidence.mkdir()
    for i in range(30):
        velociraptor(evidence / f"c{i:02d}.zip", hives(NAMES[i % len(NAMES)], AUTO))
    temp = tmp_path / "temp"
    temp.mkdir()
    db = tmp_path / "c.sqlite"
    proc = _start("scan", evidence, "--jobs", "2", "--db", db, "--format", "jsonl", tmp=temp)
    _wait_rows(db, 3, proc)
    kids = _children(proc.pid)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    time.sleep(0.5)
    assert (proc.returncode, out) == (code, "")
    assert err.endswith("regtls: interrupted; the machines finished so far are in " + f"{db}\n")
    assert not [k for k in kids if _state(k) not in ("gone", "Z")]
    assert list(temp.iterdir()) == []


def test_disk_images_below_a_searched_folder_are_machines(tmp_path: Path) -> None:
    from tests.test_images import VOLUME_2019, convert, disk, need_dfvfs, ntfs_volume

    need_dfvfs()
    raw = disk(tmp_path / "raw.img", "gpt", [ntfs_volume(tmp_path / "v.ntfs", VOLUME_2019)])
    evidence = tmp_path / "ev"
    (evidence / "images" / "deeper").mkdir(parents=True)
    qcow = convert(raw, evidence / "images" / "a.qcow2", "qcow2")
    vmdk = convert(raw, evidence / "images" / "deeper" / "b.vmdk", "vmdk")
    config = machine(evidence, "folder", "win7-sp1-configured")
    code, out, err = regtls("scan", evidence, "--format", "jsonl")
    assert code == 0, err
    assert [r["id"] for r in rows_of(out)] == [f"folder:{config}", f"image:{qcow}@qcow2:p1",
                                               f"image:{vmdk}@vmdk:p1"]
    shutil.rmtree(evidence / "folder")
    code, out, err = regtls("scan", evidence, "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 3 and err.endswith("2 machine(s): 2 pass, 0 fail, 0 undecided, "
                                                                     "0 unreadable\n")


def test_hostile_names_stay_one_line_on_the_terminal(tmp_path: Path) -> None:
    evil = "\x1b[31mred\nline"
    fake = tmp_path / evil
    fake.mkdir()
    (fake / "SOFTWARE").write_bytes(b"regf" + bytes(100))
    code, out, err = regtls("scan", tmp_path)
    assert code == 2 and "\x1b" not in out + err
    assert "\\x1b[31mred\\nline" in err and all(line.startswith("regtls: ") for line in err.splitlines())
