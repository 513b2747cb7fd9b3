"""Velociraptor collection ZIPs built here (both layouts, URL-escaped names), hostile archives, KAPE trees."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from analyzer.sources import collection
from tests.conftest import SAMPLES
from tests.test_cli import regtls

AUTO = "uploads/auto/C%3A/Windows/System32/config/"
NTFS = "uploads/ntfs/%5C%5C.%5CC%3A/Windows/System32/config/"


def velociraptor(path: Path, members: dict[str, bytes | Path]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("client_info.json", json.dumps({"Hostname": "WS01"}))
        for name, data in members.items():
            zf.writestr(name, data.read_bytes() if isinstance(data, Path) else data)
    return path


def hives(sample: str, prefix: str) -> dict[str, bytes | Path]:
    return {prefix + name: SAMPLES / sample / name for name in ("SYSTEM", "SOFTWARE")}


@pytest.mark.parametrize("prefix", [AUTO, NTFS])
def test_a_collection_in_either_layout_is_a_machine(tmp_path: Path, prefix: str) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    zipped = velociraptor(evidence / "Collection-WS01.zip", hives("server2012r2-untouched", prefix))
    before = sorted(os.listdir(evidence))
    code, out, err = regtls("scan", evidence, "--format", "jsonl")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and err.endswith("regtls: 1 machine(s): 0 pass, 1 fail, 0 undecided, 0 unreadable\n")
    assert row["machine"] == f"{zipped}@C:" and row["id"] == f"collection:{zipped}@C:"
    assert row["os"] == "Windows Server 2012 R2" and row["failing"] == ["NET001", "NET002"]
    assert row["inputs"] == [f"{zipped}:{prefix}SYSTEM", f"{zipped}:{prefix}SOFTWARE"]
    assert all(str(f["location"]["file"]).startswith(f"{zipped}:") for f in row["findings"])
    assert sorted(os.listdir(evidence)) == before  # nothing written beside the evidence


def test_both_accessors_in_one_collection_read_the_ntfs_copy(tmp_path: Path) -> None:
    zipped = velociraptor(tmp_path / "c.zip", {**hives("server2012r2-untouched", AUTO),
                                               NTFS + "SOFTWARE": SAMPLES / "win7-sp1-configured" / "SOFTWARE"})
    (volume,) = collection.volumes(zipped)
    assert volume.device == "C:"
    assert {n: i.filename for n, i in volume.members.items()} == {"SOFTWARE": NTFS + "SOFTWARE",
                                                                  "SYSTEM": AUTO + "SYSTEM"}


def test_a_zip_without_hives_is_named_and_skipped(tmp_path: Path) -> None:
    velociraptor(tmp_path / "other.zip", {"uploads/auto/C%3A/Users/x.txt": b"x"})
    code, out, err = regtls("scan", tmp_path)
    assert (code, out) == (2, "")
    assert f"regtls: skipped: {tmp_path / 'other.zip'}: a ZIP archive without uploads/*/*/Windows/System32/config" \
           in err


def _hostile(path: Path, kind: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if kind == "huge" else zipfile.ZIP_DEFLATED) as zf:
        if kind == "traversal":
            zf.writestr("uploads/auto/../../etc/SYSTEM", b"regf")
        elif kind == "absolute":
            zf.writestr("/uploads/auto/C%3A/Windows/System32/config/SYSTEM", b"regf")
        elif kind == "duplicate":
            zf.writestr(AUTO + "SYSTEM", b"regf")
            zf.writestr(AUTO.replace("C%3A", "C%3a") + "system", b"regf")
        elif kind == "bomb":
            with zf.open(AUTO + "SYSTEM", "w", force_zip64=True) as member:
                for _ in range(64):
                    member.write(bytes(1 << 20))
        elif kind == "huge":
            zf.writestr(AUTO + "SYSTEM", b"regf")
    if kind == "huge":  # the central directory claims 4 GiB
        data = bytearray(path.read_bytes())
        central = data.rfind(b"PK\x01\x02")
        data[central + 20:central + 28] = (0xFFFFFFF0).to_bytes(4, "little") * 2  # compressed and real size
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("kind", "message"), [
    ("traversal", "has an absolute or '..' name (path traversal)"),
    ("absolute", "has an absolute or '..' name (path traversal)"),
    ("duplicate", "appears twice (duplicate names)"),
    ("bomb", "compressed (a compression bomb)"),
    ("huge", "over the temporary-copy limit of"),
])
def test_hostile_archives_are_refused_with_one_line(tmp_path: Path, kind: str, message: str) -> None:
    zipped = _hostile(tmp_path / f"{kind}.zip", kind)
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {"TMPDIR": str(temp), "REGTLS_MAX_COPY": "16M"}
    code, out, err = regtls_env(env, "scan", zipped, "--format", "csv")
    assert code == 2
    (line,) = [e for e in err.splitlines() if e.startswith("regtls: error:")]
    assert message in line and str(zipped) in line
    assert out.splitlines()[1].startswith(str(zipped)) and ",unreadable," in out
    assert list(temp.iterdir()) == []


def regtls_env(env: dict[str, str], *args: object) -> tuple[int, str, str]:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "analyzer", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_a_kape_target_folder_is_found(tmp_path: Path) -> None:
    config = tmp_path / "kape" / "tdest" / "C" / "Windows" / "System32" / "config"
    config.mkdir(parents=True)
    for name in ("SYSTEM", "SOFTWARE"):
        shutil.copy(SAMPLES / "win7-sp1-configured" / name, config / name)
    code, out, _ = regtls("scan", tmp_path / "kape", "--format", "csv")
    assert code == 0
    assert out.splitlines()[1].startswith(f"{config},WS7-FINANCE-07,Windows 7 SP1,7601,ControlSet001,pass,")


def test_a_kape_vhdx_container_is_read_as_a_disk_image(tmp_path: Path) -> None:
    """KAPE's --vhdx puts the target folder (one folder per drive: C/Windows/...) in a VHDX: an image."""
    from tests.test_images import convert, disk, need_dfvfs, ntfs_volume

    need_dfvfs()
    sample = SAMPLES / "server2012r2-untouched"
    volume = ntfs_volume(tmp_path / "kape.ntfs", {f"/C/Windows/System32/config/{n}": sample / n
                                                  for n in ("SYSTEM", "SOFTWARE")})
    evidence = tmp_path / "ev"
    evidence.mkdir()
    vhdx = convert(disk(tmp_path / "kape.img", "gpt", [volume]), evidence / "WS01.vhdx", "vhdx")
    code, out, err = regtls("scan", evidence, "--format", "jsonl")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert code == 1, err
    assert row["id"] == f"image:{vhdx}@vhdx:p1" and row["os"] == "Windows Server 2012 R2"
    assert row["inputs"] == [str(vhdx), f"{vhdx}@vhdx:p1:\\C\\Windows\\System32\\config\\SYSTEM",
                             f"{vhdx}@vhdx:p1:\\C\\Windows\\System32\\config\\SOFTWARE"]
    assert row["failing"] == ["NET001", "NET002"]
