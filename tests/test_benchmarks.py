"""The benchmark harness on tiny inputs: every row is measured and printed (the figures themselves are not judged)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, REPO

ROWS = [
    r"check SOFTWARE hive \(\d+ MB\), whole command", r"check SOFTWARE hive \(\d+ MB\), work after start-up",
    r"check SOFTWARE hive: of that work, SHA-256 before and after",
    r"check SYSTEM hive \(\d+ MB\), whole command", r"check SYSTEM hive \(\d+ MB\), work after start-up",
    r"check SYSTEM hive: of that work, SHA-256 before and after",
    r"dump --key on 1 MB UTF-16 export", r"dump --key on 1 MB UTF-16 export: peak memory",
    r"lint on 1 MB UTF-16 export", r"lint on 1 MB UTF-16 export: peak memory",
    r"regtls --version", r"typer's own start-up: an app of one command with one option, run",
    r"check on a sample machine",
    r"dump --format json of the SYSTEM hive \(\d+ MB\)", r"dump --format json of the SYSTEM hive: peak memory",
    r"dump of a 1 MB \.reg of small keys: peak memory",
    r"check of a 1 MB \.reg of one hex value over continuation lines", r"check of a 1 MB \.reg of rejected lines",
    *(rf"check of a 1 MB \.reg of {what}: peak memory"
      for what in ("values of one key", "deep key paths", "small keys", "one line", "one comment line")),
    r"scan of 4 machines \((real SYSTEM hive and sample SOFTWARE|sample hives)\), --jobs 1 / --jobs 2",
    r"check on the hive pair: peak memory",
]


def test_smoke_run_prints_every_row(tmp_path: Path) -> None:
    if shutil.which("hivexregedit") is None:
        pytest.skip("hivexregedit (Debian package libwin-hivex-perl) is not installed")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--smoke", "--cache", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("machine: ") and " cores, " in lines[0]
    assert lines[2:4] == ["| work | regtls | baseline | ratio | goal | met |", "|---|---|---|---|---|---|"]
    table = lines[4:]
    assert len(table) == len(ROWS)
    for pattern, row in zip(ROWS, table, strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.fullmatch(pattern, cells[0]), row
        assert re.fullmatch(r"\d+(\.\d+)? (s|MB|MB/s)", cells[1]), row  # a figure was measured
        assert cells[5] in ("yes", "**no**", "n/a"), row
    # the generated inputs are where --cache says (the real SYSTEM hive is unpacked from the corpus when present)
    real_system = ["SYSTEM_WIN_10_1709"] if CORPUS.exists() else []
    assert sorted(p.name for p in (tmp_path / "smoke").iterdir()) == sorted(
        ["SOFTWARE-300", "export-1mb.reg", "fleet-4-real" if real_system else "fleet-4", *real_system,
         *(f"crafted-{kind}-1mb.reg" for kind in ("hex", "rejected", "small-keys", "values", "deep", "keys", "line",
                                                  "comment"))])


def test_fleet_smoke_run_prints_the_dask_row(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra (pip install 'regtls[dask]') is not installed")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.fleet", "--smoke", "--cache", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("machine: ") and lines[2] == "| work | figure | baseline | ratio |"
    assert re.fullmatch(r"\| scan of 4 machines \((real SYSTEM hive and sample SOFTWARE|sample hives)\), Dask: 2 "
                        r"workers x 1 thread / local --jobs 2 \| \d+\.\d{3} s \| local \d+\.\d{3} s \| \d+\.\d\dx \|",
                        lines[4]), lines[4]
