"""Transaction logs that declare sizes their files cannot support: nothing is replayed from that entry on,
memory stays bounded by the real file sizes (checked under an address-space limit), and the report says so."""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.sources.logs import recover
from tests.conftest import SAMPLES, build_hive, hive_builder
from tests.test_logs import CHANGE, dirty_logs

HUGE = 0xFFFFE000  # a hive of 4 GB
GIB = 1 << 30


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    tmp = tmp_path_factory.mktemp("bounds")
    text = hive_builder().read_reg_text(SAMPLES / "server2019-configured" / "SYSTEM.reg").split("\n", 1)[1]
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    before = build_hive(tmp / "a", "SYSTEM", text).read_bytes()
    return before, build_hive(tmp / "b", "SYSTEM", text + CHANGE).read_bytes()


def new_format_huge(before: bytes, after: bytes) -> tuple[bytes, bytes]:
    """A new-format log whose one entry declares a 4 GB hive with its dirty page at the end of it; its hashes are
    right, so only the size check stands between it and a 4 GB buffer."""
    tool = dirty_logs()
    hive, log = tool.new_format(before, after)
    entry = bytearray(log[512:])
    size = struct.unpack_from("<I", entry, 4)[0]
    struct.pack_into("<I", entry, 16, HUGE)
    struct.pack_into("<I", entry, 40, HUGE - 4096)
    struct.pack_into("<Q", entry, 24, tool.marvin32(bytes(entry[40:size])))
    struct.pack_into("<Q", entry, 32, tool.marvin32(bytes(entry[:32])))
    return hive, log[:512] + bytes(entry)


def old_format_huge(before: bytes, after: bytes, bins: int = HUGE) -> tuple[bytes, bytes]:
    """An old-format log of 1 KB whose base block declares ``bins`` bytes of hive bins and no dirty page."""
    tool = dirty_logs()
    hive, log = tool.old_format(before, after)
    block = bytearray(log[:512])
    struct.pack_into("<I", block, 0x28, bins)
    struct.pack_into("<I", block, 0x1FC, tool.checksum(block))
    return hive, bytes(block) + b"DIRT" + bytes(508)


CASES = {
    "new-4g": (new_format_huge, "SYSTEM.LOG1", "the entry at log offset 0x200 is rejected: it declares 0xffffe000 "
               "bytes of hive bins, more than the hive's {bins} and the log's {log} bytes support"),
    "old-4g": (old_format_huge, "SYSTEM.LOG", "rejected: it declares 0xffffe000 bytes of hive bins, more than its "
               "1024 bytes can hold the dirty vector of"),
    "old-1g": (lambda b, a: old_format_huge(b, a, GIB), "SYSTEM.LOG", "rejected: it declares 0x40000000 bytes of "
               "hive bins, more than its 1024 bytes can hold the dirty vector of"),
}


def _write(tmp_path: Path, states: tuple[bytes, bytes], case: str) -> tuple[Path, str]:
    make, name, why = CASES[case]
    hive, log = make(*states)
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "SYSTEM").write_bytes(hive)
    (folder / name).write_bytes(log)
    (folder / "SOFTWARE").write_bytes((SAMPLES / "server2019-configured" / "SOFTWARE").read_bytes())
    return folder, why.format(bins=len(hive) - 4096, log=len(log))


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_log_declaring_a_huge_hive_replays_nothing(tmp_path: Path, states: tuple[bytes, bytes], case: str) -> None:
    folder, why = _write(tmp_path, states, case)
    hive = folder / "SYSTEM"
    result = recover(hive, [folder / CASES[case][1]])
    assert [(u.applied, u.rejected) for u in result.logs] == [(False, why)]
    assert result.data == hive.read_bytes()


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_under_a_memory_limit_names_the_rejected_log(tmp_path: Path, states: tuple[bytes, bytes],
                                                           case: str) -> None:
    folder, why = _write(tmp_path, states, case)
    proc = subprocess.run([sys.executable, "-m", "analyzer", "check", str(folder), "--format", "json"],
                          capture_output=True, text=True, timeout=120, preexec_fn=_limited)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    log = folder / CASES[case][1]
    message = f"{log}: {why}; the hive is read without what the log holds from there on"
    assert f"regtls: warning: {folder / 'SYSTEM'}: {message}\n" in proc.stderr
    report = json.loads(proc.stdout)
    assert [d["message"] for d in report["diagnostics"] if d["code"] == "log-rejected"] == [message]
    assert [d["code"] for d in report["diagnostics"] if d["code"] == "dirty-hive"] == ["dirty-hive"]
    # the log is not replayed: TLS 1.2 client stays as the hive has it (the log would have switched it off)
    client = next(s for s in report["settings"] if s["id"] == "schannel/TLS 1.2/Client")
    assert client["state"] == "enabled"
    assert proc.returncode == (1 if report["summary"]["verdict"] == "fail" else 0)
