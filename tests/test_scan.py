"""``regtls scan``: many machines, worker processes, one row each; a broken machine never stops the scan."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from tests.conftest import SAMPLES
from tests.test_cli import regtls

VERDICTS = {
    "server2008-sp2-kb4019276": ("pass", []), "server2008r2-sp1-untouched": ("fail", ["NET001", "NET002", "SCH001",
                                                                                     "WHT001"]),
    "server2012r2-untouched": ("fail", ["NET001", "NET002"]), "server2016-controlset002": ("pass", []),
    "server2019-configured": ("pass", []), "server2022-hardened": ("pass", []), "win10-x86": ("pass", []),
    "win11-23h2-partial": ("fail", ["NET001", "NET002"]), "win7-sp1-configured": ("pass", []),
    "win11-two-users": ("pass", []),  # its machine GPO sets what win11-23h2-partial lacks
}


def test_scan_every_sample_machine_with_one_and_two_workers() -> None:
    runs = [regtls("scan", SAMPLES, "--jobs", jobs, "--format", "jsonl") for jobs in ("1", "2")]
    assert runs[0] == runs[1]  # the same rows, in the same order, whatever the number of workers
    code, out, err = runs[0]
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and err.endswith("regtls: 10 machine(s): 7 pass, 3 fail, 0 undecided, 0 unreadable\n")
    name = {r["machine"]: Path(r["machine"]).relative_to(SAMPLES).parts[0] for r in rows}
    assert {name[r["machine"]]: (r["verdict"], r["failing"]) for r in rows} == VERDICTS
    users = {name[r["machine"]]: (len(r["inputs"]), r["users_tls_off"]) for r in rows if r["users_tls_off"] is not None}
    assert users == {"win11-two-users": (5, 1)}  # two users (bob's WinINet offers SSL only) and the machine GPO file
    assert all(r["schema"] == "regtls.scan/1" and len(r["inputs"]) == 2 for r in rows if r["users_tls_off"] is None)


def test_a_broken_machine_is_a_row(tmp_path: Path) -> None:
    good = tmp_path / "good"
    shutil.copytree(SAMPLES / "win7-sp1-configured", good)
    bad = tmp_path / "bad" / "Windows" / "System32" / "config"
    bad.mkdir(parents=True)
    (bad / "SYSTEM").write_bytes(b"regf" + bytes(4092))
    code, out, err = regtls("scan", tmp_path, "--format", "csv", "--jobs", "2")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 2
    assert [(r["machine"], r["verdict"]) for r in rows] == [(str(bad), "unreadable"), (str(good), "pass")]
    assert rows[0]["error"].startswith(f"{bad / 'SYSTEM'}: ")
    assert f"regtls: error: {bad}: {bad / 'SYSTEM'}: " in err


def test_scan_table_and_nothing_found(tmp_path: Path) -> None:
    code, out, _ = regtls("scan", SAMPLES / "win7-sp1-configured" / "SYSTEM", SAMPLES / "win7-sp1-configured" /
                          "SOFTWARE")
    assert code == 0 and "Windows 7 SP1 (7601)" in out and "1 pass (1 machines)" in out
    assert regtls("scan", tmp_path) == (2, "", "regtls: error: no machines found (no config folder with SYSTEM or "
                                               "SOFTWARE, no hive files, disk image or collection)\n")
