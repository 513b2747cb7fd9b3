"""The fuzz harness: every input it found that crashed regtls stays a regression test; a short smoke run.

The long runs happen outside CI with the commands of ``fuzz/README.md``.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fuzz.targets import TARGETS
from tests.conftest import REPO, SAMPLES, bounded

DATA = REPO / "tests" / "data" / "fuzz"

# input found by the fuzzer (tests/data/fuzz/<target>/<name>) -> what the target gives now
REGRESSIONS = {
    # an unpaired UTF-16 surrogate in a key name: `dump --format reg` and `dump --format table` crashed with a
    # UnicodeEncodeError when writing UTF-8 (the key is now a comment in the .reg export, escaped in the table)
    "reg/unpaired-surrogate-in-key-name.reg": "reg 5 keys 0 unreadable",
    # a mutated SOFTWARE sample whose base block points the root past the end: regipy took the first cell as the
    # root instead and reached string data holding an unpaired surrogate, which crashed the dump table; both
    # backends now take the root from the base block and refuse the file
    "hive/root-pointer-past-the-end": "error / error",
    # the same file with its root pointer restored: the surrogate data reaches the dump table, escaped (its two
    # damaged lists are salvaged entry by entry since: 36 keys)
    "hive/unpaired-surrogate-in-string-data": "software-hive 36 keys 0 unreadable / software-hive 36 keys 0 unreadable",
}


def test_every_stored_input_has_a_row() -> None:
    stored = sorted(str(p.relative_to(DATA)) for p in DATA.glob("*/*"))
    assert stored == sorted(REGRESSIONS)


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_fuzzer_findings_stay_fixed(name: str) -> None:
    target = TARGETS[name.split("/")[0]]
    assert target((DATA / name).read_bytes()) == REGRESSIONS[name]


SEEDS = {"reg": [SAMPLES / "reg", DATA / "reg"], "hive": [SAMPLES / "server2019-configured", DATA / "hive"],
         "damage": []}


@pytest.mark.parametrize("seed", range(40))
def test_damaging_a_real_hive_loses_only_what_the_damage_explains(seed: int) -> None:
    """Pointer and count fields of the sample SYSTEM hive overwritten at random: no exception, no hang, and every
    key and value not read is one a named lost entry could have held (the target asserts it)."""
    rnd = random.Random(seed)
    data = bytes(rnd.randrange(256) for _ in range(8 * rnd.randrange(1, 6)))
    with bounded(seconds=60, megabytes=256):
        result = TARGETS["damage"](data)
    assert result == "error / error" or re.fullmatch(r"system-hive (\d+) keys 0 unreadable / system-hive \1 keys 0 "
                                                     r"unreadable", result), result


def need_atheris() -> None:
    if importlib.util.find_spec("atheris") is None:
        pytest.skip("atheris is not installed (pip install atheris; .ci/run installs it so that CI runs this)")


def harness(tmp_path: Path, target: str, *options: str) -> list[str]:
    seeds = [str(p) for p in SEEDS[target] if p.is_dir()]
    (tmp_path / "corpus").mkdir()
    (tmp_path / "tmp").mkdir()
    return [sys.executable, "-m", "fuzz.run", target, str(tmp_path / "corpus"), *seeds, *options, "-seed=1",
            "-timeout=10", "-rss_limit_mb=1024", f"-artifact_prefix={tmp_path}/"]


@pytest.mark.parametrize(("target", "runs"), [("reg", 300), ("hive", 60), ("damage", 40)])
def test_fuzz_smoke_run(tmp_path: Path, target: str, runs: int) -> None:
    need_atheris()
    proc = subprocess.run(harness(tmp_path, target, f"-runs={runs}"), cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(rf"^Done {runs} runs in \d+ second", proc.stderr, re.MULTILINE), proc.stderr[-3000:]
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
    assert os.listdir(tmp_path / "tmp") == []  # every input's scratch folder is gone


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_fuzz_run_leaves_no_scratch_folder(tmp_path: Path, signum: int, code: int) -> None:
    need_atheris()
    err = tmp_path / "stderr"
    with err.open("w") as sink:
        proc = subprocess.Popen(harness(tmp_path, "hive", "-runs=10000000"), cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=sink, env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
        try:
            deadline = time.monotonic() + 120
            while not re.search(r"^#\d+\s+(INITED|pulse|NEW)", err.read_text(), re.MULTILINE):  # fuzzing inputs now
                assert proc.poll() is None and time.monotonic() < deadline, err.read_text()[-3000:]
                time.sleep(0.05)
            proc.send_signal(signum)
            assert proc.wait(timeout=60) == code
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert err.read_text().endswith("\nregtls fuzz: interrupted\n")
    assert os.listdir(tmp_path / "tmp") == []
