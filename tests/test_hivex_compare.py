"""regtls against hivex's unsafe, keep-going mode (``hivexml -u -k``): on every corpus hive and on hives damaged
here, regtls reads every key and value hivex reads, and none hivex says is not there, save the differences
listed (each with its reason)."""

from __future__ import annotations

import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from analyzer.registry import fold
from analyzer.sources import SourceError
from analyzer.sources.hive import HiveFile
from tests.conftest import CORPUS
from tests.test_corpus import HIVE_FILES, corpus_file
from tests.test_salvage import LEVELS, damaged_copy, intact  # noqa: F401  (intact is a fixture)

Entries = tuple[Counter[str], Counter[tuple[str, str]]]


def _name(text: str) -> str:
    """A name as both readers can spell it: folded, cut at a NUL (hivex stops there)."""
    return fold(text.split("\0", 1)[0])


def hivex_entries(path: Path) -> Entries | None:
    """Key names and (key name, value name) pairs as ``hivexml -u -k`` lists them, root key left out, or None when
    hivex refuses the file.  Names, not paths: in its keep-going mode hivex can leave a damaged key's element
    open, so that the keys after it appear nested below it."""
    if shutil.which("hivexml") is None:
        pytest.skip("hivexml (Debian package libhivex-bin) is not installed")
    proc = subprocess.run(["hivexml", "-u", "-k", str(path)], capture_output=True, timeout=300)
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    keys: Counter[str] = Counter()
    values: Counter[tuple[str, str]] = Counter()
    stack: list[str] = []
    for event, element in ET.iterparse(io.BytesIO(proc.stdout), events=("start", "end")):
        if element.tag == "node":
            if event == "start":
                stack.append(_name(element.get("name", "")))
                if len(stack) > 1:
                    keys[stack[-1]] += 1
            else:
                stack.pop()
                element.clear()
        elif element.tag == "value" and event == "start":
            values[(stack[-1] if len(stack) > 1 else "", "" if element.get("default") else
                    _name(element.get("key", "")))] += 1
    return keys, values


def regtls_entries(path: Path) -> Entries | None:
    """The same of the keys and values regtls reads from the hive (of any kind), or None when it refuses it."""
    try:
        hive = HiveFile(path, any_kind=True)
    except SourceError:
        return None
    keys: Counter[str] = Counter()
    values: Counter[tuple[str, str]] = Counter()
    stack: list[tuple[str, ...]] = [()]
    while stack:
        key = stack.pop()
        if key:
            keys[_name(key[-1])] += 1
        values.update((_name(key[-1]) if key else "", _name(v.name)) for v in hive.values(key))
        stack.extend((*key, name) for name in hive.subkey_names(key))
    return keys, values


def compare(path: Path) -> tuple[int, int, int, int]:
    """(keys, values) regtls reads beyond hivex, then (keys, values) hivex reads beyond regtls."""
    theirs, ours = hivex_entries(path), regtls_entries(path)
    if ours is None:
        assert theirs is None, "hivex reads a hive regtls refuses"
        return 0, 0, 0, 0
    theirs = theirs or (Counter(), Counter())
    return (sum((ours[0] - theirs[0]).values()), sum((ours[1] - theirs[1]).values()),
            sum((theirs[0] - ours[0]).values()), sum((theirs[1] - ours[1]).values()))


# (keys, values) regtls reads beyond hivex, and hivex beyond regtls, where they differ
DIFFERENCES = {
    "hives/EZ-Registry/SAMBadHBinHeader": (66, 73, 0, 0),  # hivex stops at the bad hive bin header
    "hives/regipy/corrupted_system_hive.xz": (25, 70, 0, 0),  # hivex drops whole lists for one bad entry
    "hives/yarp/BadBaseBlockHive__BadBaseBlockHive": (5002, 0, 0, 0),  # hivex refuses the bad base block
    "hives/yarp/EffectiveSizeHive": (5002, 0, 0, 0),  # hivex refuses the base block's hive bins size
    "hives/yarp/System_Delta": (0, 3, 0, 0),  # three empty REG_NONE values (a layered hive's tombstones) hivex omits
}


HIVES = [n for n in HIVE_FILES if "LOG" not in n.upper()]


@pytest.mark.skipif(not CORPUS.exists(), reason=f"corpus not found at {CORPUS} (provided in CI)")
@pytest.mark.parametrize("name", HIVES)
def test_every_corpus_hive_reads_at_least_what_hivex_reads(tmp_path: Path, name: str) -> None:
    assert compare(corpus_file(tmp_path, name)) == DIFFERENCES.get(name, (0, 0, 0, 0))


@pytest.mark.parametrize(("parent", "child"), LEVELS, ids=[c for _, c in LEVELS])
def test_damaged_hives_read_at_least_what_hivex_reads(intact: Path, tmp_path: Path,  # noqa: F811
                                                      parent: str, child: str) -> None:
    hive, _ = damaged_copy(intact, tmp_path, parent, child)
    assert compare(hive) == (0, 0, 0, 0)
