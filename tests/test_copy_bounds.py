"""Copies out of disk images are bounded and limited to what the command needs (issue 18, item 4).

The image holds a SYSTEM.LOG1 of 2 GiB that takes no room: a sparse NTFS file made through libntfs-3g
(``ntfscp`` allocates every cluster, so it cannot make one).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES, sample_tool
from tests.test_images import need_dfvfs, ntfs_volume

WIN2019 = SAMPLES / "server2019-configured"
SPARSE_SIZE = 2 << 30
CONFIG = "\\Windows\\System32\\config"

# extend a file of an NTFS volume to SIZE bytes by writing its last byte: libntfs-3g leaves the rest a hole
SPARSE = r"""
import ctypes, sys
from ctypes import c_char_p, c_int, c_int64, c_uint32, c_ulong, c_void_p
lib = ctypes.CDLL("libntfs-3g.so.89")
for name, result, arguments in [
        ("ntfs_mount", c_void_p, [c_char_p, c_ulong]),
        ("ntfs_pathname_to_inode", c_void_p, [c_void_p, c_void_p, c_char_p]),
        ("ntfs_attr_open", c_void_p, [c_void_p, c_uint32, c_void_p, c_uint32]),
        ("ntfs_attr_pwrite", c_int64, [c_void_p, c_int64, c_int64, c_void_p]), ("ntfs_attr_close", None, [c_void_p]),
        ("ntfs_inode_close", c_int, [c_void_p]), ("ntfs_umount", c_int, [c_void_p, c_int])]:
    getattr(lib, name).restype, getattr(lib, name).argtypes = result, arguments
vol = lib.ntfs_mount(sys.argv[1].encode(), 0)
ni = lib.ntfs_pathname_to_inode(vol, None, sys.argv[2].encode()) if vol else None
na = lib.ntfs_attr_open(ni, 0x80, (ctypes.c_uint16 * 1)(0), 0) if ni else None  # the unnamed $DATA
if not na or lib.ntfs_attr_pwrite(na, int(sys.argv[3]) - 1, 1, ctypes.create_string_buffer(b"\0", 1)) != 1:
    sys.exit("cannot extend " + sys.argv[2])
lib.ntfs_attr_close(na)
lib.ntfs_inode_close(ni)
lib.ntfs_umount(vol, 0)
"""


def dirty(hive: bytes) -> bytes:
    """The hive with its primary sequence number moved on (a write that never completed), checksum fixed."""
    data = bytearray(hive)
    struct.pack_into("<I", data, 4, struct.unpack_from("<I", data, 4)[0] + 1)
    struct.pack_into("<I", data, 0x1FC, sample_tool("dirty_logs").checksum(data))
    return bytes(data)


def sparse_log_image(folder: Path, system_dirty: bool) -> Path:
    """An NTFS image: the Server 2019 hives (SYSTEM dirty or not) and a 2 GiB sparse SYSTEM.LOG1."""
    need_dfvfs()
    system = WIN2019 / "SYSTEM" if not system_dirty else dirty((WIN2019 / "SYSTEM").read_bytes())
    image = ntfs_volume(folder / "disk.ntfs", {"/Windows/System32/config/SYSTEM": system,
                                               "/Windows/System32/config/SOFTWARE": WIN2019 / "SOFTWARE",
                                               "/Windows/System32/config/SYSTEM.LOG1": b"regf"})
    proc = subprocess.run([sys.executable, "-c", SPARSE, image, "/Windows/System32/config/SYSTEM.LOG1",
                           str(SPARSE_SIZE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert image.stat().st_size < 16 << 20
    return image


def run(tmp: Path, *args: object, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``regtls ARGS`` with a private temporary folder ``tmp``."""
    proc = subprocess.run([sys.executable, "-m", "analyzer", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=300, env={**os.environ, "TMPDIR": str(tmp), **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp"


def test_a_clean_hive_leaves_its_large_log_in_the_image(tmp_path: Path, tmp: Path) -> None:
    image = sparse_log_image(tmp_path, system_dirty=False)
    code, out, err = run(tmp, "check", image, "--format", "json", "--max-copy", "1M")
    direct_code, direct, _ = run(tmp, "check", WIN2019, "--format", "json")
    assert (code, json.loads(out)["results"]) == (direct_code, json.loads(direct)["results"]), err
    assert (str(image), "note", f"{CONFIG}\\SYSTEM.LOG1 ({SPARSE_SIZE} bytes) not copied out: the hive is clean") in [
        (d["file"], d["level"], d["message"]) for d in json.loads(out)["diagnostics"]]
    assert os.listdir(tmp) == []


@pytest.mark.parametrize(("how", "limit"), [("--max-copy", "1M"), ("REGTLS_MAX_COPY", "1048576")])
def test_a_dirty_hive_whose_log_passes_the_limit_is_one_line(tmp_path: Path, tmp: Path, how: str,
                                                             limit: str) -> None:
    image = sparse_log_image(tmp_path, system_dirty=True)
    options, env = ([how, limit], None) if how.startswith("--") else ([], {how: limit})
    code, out, err = run(tmp, "check", image, *options, env=env)
    assert (code, out, err) == (2, "", f"regtls: error: {image}: {CONFIG}\\SYSTEM.LOG1: copying it would pass the "
                                       "temporary-copy limit of 1048576 bytes (raise it with --max-copy SIZE or "
                                       "REGTLS_MAX_COPY)\n")
    assert os.listdir(tmp) == []


def test_without_logs_a_dirty_hive_is_read_as_it_is(tmp_path: Path, tmp: Path) -> None:
    image = sparse_log_image(tmp_path, system_dirty=True)
    code, out, err = run(tmp, "check", image, "--no-logs", "--max-copy", "1M", "--format", "json")
    assert code in (0, 1), err
    report = json.loads(out)
    assert (report["inputs"][1]["dirty"], report["inputs"][1]["logs"]) == (True, [])
    assert (str(image), "note", f"{CONFIG}\\SYSTEM.LOG1 ({SPARSE_SIZE} bytes) not copied out: --no-logs") in [
        (d["file"], d["level"], d["message"]) for d in report["diagnostics"]]
    assert "read as it is (--no-logs)" in err
    assert os.listdir(tmp) == []


def test_a_bad_max_copy_is_a_usage_error(tmp: Path) -> None:
    code, out, err = run(tmp, "check", WIN2019, "--max-copy", "lots")
    assert (code, out) == (2, "") and "'lots' is not a size" in err
