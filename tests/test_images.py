"""Disk images built during the run (mkntfs, ntfscp, sfdisk, qemu-img, ewfacquire) and read back through dfvfs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from analyzer.sources import SourceError
from analyzer.sources import image as img
from analyzer.sources.image import ImageError, Snapshot, WindowsVolume
from tests.conftest import REPO, SAMPLES

WIN2019 = SAMPLES / "server2019-configured"
WIN7 = SAMPLES / "win7-sp1-configured"
MIB = 1 << 20
NTFS_TYPE = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"

# ntfscp cannot create folders and ntfs-3g ships no mkdir tool: create them through libntfs-3g (ctypes),
# in a child process so that a crash of the C library cannot take pytest down (see ../shared/tools/ntfs_mkdirs.py)
MKDIRS = r"""
import ctypes, sys
lib = ctypes.CDLL("libntfs-3g.so.89")
lib.ntfs_mount.restype = ctypes.c_void_p
lib.ntfs_mount.argtypes = [ctypes.c_char_p, ctypes.c_ulong]
lib.ntfs_pathname_to_inode.restype = ctypes.c_void_p
lib.ntfs_pathname_to_inode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p]
lib.ntfs_create.restype = ctypes.c_void_p
lib.ntfs_create.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint8, ctypes.c_uint]
lib.ntfs_inode_close.argtypes = [ctypes.c_void_p]
lib.ntfs_umount.argtypes = [ctypes.c_void_p, ctypes.c_int]
vol = lib.ntfs_mount(sys.argv[1].encode(), 0)
if not vol:
    sys.exit("ntfs_mount failed")
for path in sys.argv[2:]:
    cur = ""
    for part in [p for p in path.split("/") if p]:
        parent, cur = cur or "/", cur + "/" + part
        ni = lib.ntfs_pathname_to_inode(vol, None, cur.encode())
        if ni:
            lib.ntfs_inode_close(ni)
            continue
        dni = lib.ntfs_pathname_to_inode(vol, None, parent.encode())
        name = part.encode("utf-16-le")
        ni = lib.ntfs_create(dni, 0, ctypes.create_string_buffer(name, len(name)), len(part), 0o040000)
        if not ni:
            sys.exit("ntfs_create failed for " + cur)
        lib.ntfs_inode_close(ni)
        lib.ntfs_inode_close(dni)
lib.ntfs_umount(vol, 0)
"""

# what each NTFS volume holds: path inside the volume -> content (bytes, or a sample hive to copy)
LOGS = {name: f"{name} transaction log\n".encode() for name in ("SYSTEM.LOG1", "SYSTEM.log2", "SOFTWARE.LOG1")}
VOLUME_2019: dict[str, bytes | Path] = {
    "/Windows/System32/config/SYSTEM": WIN2019 / "SYSTEM",
    "/Windows/System32/config/SOFTWARE": WIN2019 / "SOFTWARE",
    **{f"/Windows/System32/config/{name}": data for name, data in LOGS.items()},
    "/Windows/System32/config/SAM": b"not copied\n",
    "/Windows/System32/config/RegBack/SYSTEM": WIN2019 / "SYSTEM",
    "/Windows/System32/config/RegBack/SOFTWARE": b"RegBack entries are listed, not copied\n",
}
VOLUME_WIN7: dict[str, bytes | Path] = {
    "/windows/system32/CONFIG/system": WIN7 / "SYSTEM",
    "/windows/system32/CONFIG/software": WIN7 / "SOFTWARE",
    "/windows/system32/CONFIG/system.LOG": b"old-style log\n",
}
FILES_2019 = ("RegBack/SOFTWARE", "RegBack/SYSTEM", "SAM", "SOFTWARE", "SOFTWARE.LOG1", "SYSTEM", "SYSTEM.LOG1",
              "SYSTEM.log2")
FILES_WIN7 = ("software", "system", "system.LOG")
CONFIG_2019 = "\\Windows\\System32\\config"
CONFIG_WIN7 = "\\windows\\system32\\CONFIG"
# the hives are clean: their logs stay in the image (only a dirty hive's logs are copied out)
EXTRACTED_2019 = {"SYSTEM": "SYSTEM", "SOFTWARE": "SOFTWARE"}
EXTRACTED_WIN7 = {"SYSTEM": "system", "SOFTWARE": "software"}

# image kind -> (expected label, the format found by content)
KINDS = {
    "ntfs": ("volume", "ntfs"),
    "mbr": ("p1", "mbr"),
    "gpt": ("p1", "gpt"),
    "qcow2": ("qcow2:p1", "qcow2"),
    "vmdk": ("vmdk:p1", "vmdk"),
    "vhd": ("vhd:p1", "vhd"),
    "vhdx": ("vhdx:p1", "vhdx"),
    "e01": ("e01:p1", "e01"),
    "e01-volume": ("e01:volume", "e01"),
}


def run(*args: object) -> None:
    """Run a fixture-building tool; its output is shown only when it fails."""
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{args}: {proc.stdout}{proc.stderr}"


def need_tool(*tools: str) -> None:
    """Skip with the Debian package to install when a fixture-building tool is missing."""
    packages = {"mkntfs": "ntfs-3g", "ntfscp": "ntfs-3g", "sfdisk": "fdisk", "qemu-img": "qemu-utils",
                "ewfacquire": "ewf-tools"}
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found (apt-get install {packages[tool]})")


def need_dfvfs() -> None:
    if not img.available():
        pytest.skip(f"dfvfs is not installed ({img.EXTRA_HINT})")


def ntfs_volume(out: Path, content: dict[str, bytes | Path]) -> Path:
    """An 8 MiB NTFS volume file holding ``content``."""
    need_tool("mkntfs", "ntfscp")
    with out.open("wb") as f:
        f.truncate(8 * MIB)
    run("mkntfs", "-F", "-Q", "-q", out)  # its warnings about the geometry of a file are harmless
    folders = sorted({path.rsplit("/", 1)[0] for path in content})
    proc = subprocess.run([sys.executable, "-c", MKDIRS, out, *folders], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 and "libntfs-3g" in proc.stderr:
        pytest.skip("libntfs-3g.so.89 not loadable (apt-get install ntfs-3g)")
    assert proc.returncode == 0, proc.stderr
    for path, data in content.items():
        source = data if isinstance(data, Path) else out.parent / "content.tmp"
        if isinstance(data, bytes):
            source.write_bytes(data)
        run("ntfscp", "-q", out, source, path)
    (out.parent / "content.tmp").unlink(missing_ok=True)
    return out


def disk(out: Path, label: str, volumes: list[Path]) -> Path:
    """A partitioned disk (sfdisk on a file): one 8 MiB partition per volume from 1 MiB on, copied in."""
    need_tool("sfdisk")
    size = 8 * MIB
    kind = "type=7" if label == "dos" else f"type={NTFS_TYPE}"
    table = f"label: {label}\n" + "".join(
        f"start={(MIB + n * size) // 512}, size={size // 512}, {kind}\n" for n in range(len(volumes)))
    with out.open("wb") as f:
        f.truncate(2 * MIB + len(volumes) * size)  # room for the backup GPT at the end
    proc = subprocess.run(["sfdisk", "-q", str(out)], input=table, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    with out.open("r+b") as f:
        for n, volume in enumerate(volumes):
            f.seek(MIB + n * size)
            f.write(volume.read_bytes())
    return out


def convert(source: Path, out: Path, fmt: str) -> Path:
    """A container image made by ``qemu-img convert`` (vhdx with small blocks, so that it stays 16 MB)."""
    need_tool("qemu-img")
    options = ["-o", "block_size=1M,log_size=1M"] if fmt == "vhdx" else []
    run("qemu-img", "convert", "-f", "raw", "-O", fmt, *options, source, out)
    return out


def e01(source: Path, out_dir: Path) -> Path:
    """An EnCase 6 image made by ewfacquire: unattended (-u), target without extension (-t), deflate."""
    need_tool("ewfacquire")
    run("ewfacquire", "-u", "-q", "-t", out_dir / "disk", "-c", "deflate:best", "-f", "encase6", source)
    return out_dir / "disk.E01"


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two NTFS volumes, built once: Server 2019 hives in ``Windows/...``, Windows 7 ones in ``windows/...``."""
    base = tmp_path_factory.mktemp("volumes")
    return {"2019": ntfs_volume(base / "win2019.ntfs", VOLUME_2019),
            "win7": ntfs_volume(base / "win7.ntfs", VOLUME_WIN7)}


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory, volumes: dict[str, Path]) -> Callable[[str], Path]:
    """The image of a kind, built on first use, alone in its own folder (so that nothing can hide beside it)."""
    built: dict[str, Path] = {}
    base = tmp_path_factory.mktemp("images")

    def raw(label: str) -> Path:  # the partitioned disks the containers are made from, built once each
        if label not in built:
            (base / "raw").mkdir(exist_ok=True)
            built[label] = disk(base / "raw" / f"{label}.img", label, [volumes["2019"]])
        return built[label]

    def make(kind: str) -> Path:
        if kind not in built:
            folder = base / kind
            folder.mkdir()
            makers: dict[str, Callable[[], Path]] = {
                "ntfs": lambda: Path(shutil.copy(volumes["2019"], folder / "win2019.ntfs")),
                "mbr": lambda: Path(shutil.copy(raw("dos"), folder / "disk.img")),
                "gpt": lambda: Path(shutil.copy(raw("gpt"), folder / "disk.img")),
                "two": lambda: disk(folder / "two.img", "dos", [volumes["2019"], volumes["win7"]]),
                "qcow2": lambda: convert(raw("gpt"), folder / "disk.qcow2", "qcow2"),
                "vmdk": lambda: convert(raw("dos"), folder / "disk.vmdk", "vmdk"),
                "vhd": lambda: convert(raw("dos"), folder / "disk.vhd", "vpc"),
                "vhdx": lambda: convert(raw("gpt"), folder / "disk.vhdx", "vhdx"),
                "e01": lambda: e01(raw("dos"), folder),
                "e01-volume": lambda: e01(volumes["2019"], folder),
            }
            built[kind] = makers[kind]()
        return built[kind]

    return make


@contextmanager
def untouched(image: Path) -> Iterator[None]:
    """Assert that the image's bytes and mtime are unchanged and that no file appeared beside it."""
    def state() -> tuple[str, int, list[str]]:
        return (hashlib.sha256(image.read_bytes()).hexdigest(), image.stat().st_mtime_ns,
                sorted(os.listdir(image.parent)))

    before = state()
    yield
    assert state() == before


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_extracted(copies: dict[str, Path], dest: Path, stored: dict[str, str],
                     content: dict[str, bytes | Path], config: str) -> None:
    """The copies have the names as stored, sit in ``dest`` only, and hold exactly the bytes put in the image."""
    assert copies == {key: dest / name for key, name in stored.items()}
    assert sorted(os.listdir(dest)) == sorted(stored.values())
    for name in stored.values():
        data = content[f"{config.replace(chr(92), '/')}/{name}"]
        expected = hashlib.sha256(data.read_bytes() if isinstance(data, Path) else data).hexdigest()
        assert sha256(dest / name) == expected, name


# --- every format --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_format_yields_its_windows_volume_and_exact_hives(
        kind: str, build: Callable[[str], Path], tmp_path: Path) -> None:
    need_dfvfs()
    image = build(kind)
    label, fmt = KINDS[kind]
    assert img.image_format(image) == fmt and img.is_image(image)
    with untouched(image):
        found = img.windows_volumes(image)
    assert found == [WindowsVolume(str(image), label, None, FILES_2019, CONFIG_2019)]
    with untouched(image):
        copies = img.extract(found[0], tmp_path)
    assert_extracted(copies, tmp_path, EXTRACTED_2019, VOLUME_2019, CONFIG_2019)
    assert sha256(copies["SYSTEM"]) == sha256(WIN2019 / "SYSTEM")
    assert sha256(copies["SOFTWARE"]) == sha256(WIN2019 / "SOFTWARE")


@pytest.mark.parametrize("kind", list(KINDS))
def test_images_without_shadow_copies_list_none(kind: str, build: Callable[[str], Path]) -> None:
    """mkntfs cannot make shadow copies (only Windows' VSS service does): --vss adds nothing here."""
    need_dfvfs()
    image = build(kind)
    with untouched(image):
        assert img.snapshots(image) == []
        assert img.windows_volumes(image, vss=True) == img.windows_volumes(image)


def test_two_windows_partitions_are_reported_separately(build: Callable[[str], Path], tmp_path: Path) -> None:
    need_dfvfs()
    image = build("two")
    with untouched(image):
        found = img.windows_volumes(image)
    assert found == [WindowsVolume(str(image), "p1", None, FILES_2019, CONFIG_2019),
                     WindowsVolume(str(image), "p2", None, FILES_WIN7, CONFIG_WIN7)]
    for volume, stored, content in ((found[0], EXTRACTED_2019, VOLUME_2019), (found[1], EXTRACTED_WIN7, VOLUME_WIN7)):
        dest = tmp_path / volume.label
        dest.mkdir()
        with untouched(image):
            copies = img.extract(volume, dest)
        assert_extracted(copies, dest, stored, content, volume.config)
    assert sha256(tmp_path / "p2" / "system") == sha256(WIN7 / "SYSTEM")
    assert sha256(tmp_path / "p2" / "software") == sha256(WIN7 / "SOFTWARE")


def test_an_image_is_found_by_content_whatever_its_name(build: Callable[[str], Path], tmp_path: Path) -> None:
    need_dfvfs()
    image = tmp_path / "SYSTEM"  # a disk named like a hive
    shutil.copy(build("mbr"), image)
    assert img.is_image(image)
    with untouched(image):
        assert [v.label for v in img.windows_volumes(image)] == ["p1"]


# --- what is not a (readable) Windows image ------------------------------------------------------


def test_files_that_are_not_images(tmp_path: Path) -> None:
    hive_named_like_an_image = tmp_path / "disk.vhdx"
    shutil.copy(WIN2019 / "SYSTEM", hive_named_like_an_image)
    (tmp_path / "empty.E01").write_bytes(b"")
    (tmp_path / "zeros.img").write_bytes(bytes(MIB))
    (tmp_path / "short.qcow2").write_bytes(b"QFI")
    not_images = [WIN2019 / "SYSTEM", WIN7 / "SOFTWARE", WIN2019 / "SYSTEM.reg", SAMPLES / "reg", REPO / "README.md",
                  hive_named_like_an_image, tmp_path / "empty.E01", tmp_path / "zeros.img", tmp_path / "short.qcow2",
                  tmp_path / "missing.img"]
    for path in not_images:
        assert (img.is_image(path), img.image_format(path)) == (False, None), path


@pytest.mark.parametrize(("head", "fmt"), [
    (b"EVF\x09\x0d\x0a\xff\x00", "e01"), (b"EVF2\x0d\x0a\x81\x00", "ex01"), (b"vhdxfile", "vhdx"),
    (b"QFI\xfb\0\0\0\3", "qcow2"), (b"QFI\xfb\0\0\0\1", "qcow"), (b"KDMV", "vmdk"),
    (b"# Disk DescriptorFile\n", "vmdk"), (b"conectix", "vhd"), (b"\xebR\x90NTFS    ", "ntfs"),
    (b"\xebX\x90-FVE-FS-", "bitlocker"),
])
def test_signatures(head: bytes, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(head + bytes(4096))
    assert img.image_format(path) == fmt


def test_a_fixed_vhd_is_found_by_its_footer(tmp_path: Path) -> None:
    path = tmp_path / "fixed"
    path.write_bytes(bytes(MIB) + b"conectix" + bytes(504))
    assert img.image_format(path) == "vhd"


def test_not_an_image_is_a_one_line_error(tmp_path: Path) -> None:
    need_dfvfs()
    for path in (WIN2019 / "SYSTEM", WIN2019 / "SYSTEM.reg"):
        with pytest.raises(ImageError) as err:
            img.windows_volumes(path)
        assert str(err.value) == (f"{path}: not a disk image: "
                                  "no supported image format, partition table or file system found")
    with pytest.raises(ImageError) as err:
        img.snapshots(tmp_path / "missing.img")
    assert str(err.value) == f"{tmp_path / 'missing.img'}: cannot open the disk image: not a file"
    assert isinstance(err.value, SourceError) and err.value.file == str(tmp_path / "missing.img")


def test_a_disk_without_windows_says_what_each_volume_is(volumes: dict[str, Path], tmp_path: Path) -> None:
    """An NTFS volume without Windows, a partition of noise, a (BitLocker-signed) volume: each named."""
    need_dfvfs()
    empty = ntfs_volume(tmp_path / "empty.ntfs", {"/Users/readme.txt": b"no Windows here\n"})
    noise = tmp_path / "noise"
    noise.write_bytes(hashlib.sha256(b"seed").digest() * (8 * MIB // 32))
    bitlocker = tmp_path / "bitlocker"
    boot = bytearray(volumes["win7"].read_bytes())
    boot[3:11] = b"-FVE-FS-"  # the BitLocker boot sector signature; the metadata behind it is not valid
    bitlocker.write_bytes(bytes(boot))
    (tmp_path / "disk").mkdir()
    image = disk(tmp_path / "disk" / "three.img", "gpt", [empty, noise, bitlocker])
    with untouched(image), pytest.raises(ImageError) as err:
        img.windows_volumes(image)
    assert str(err.value) == (
        f"{image}: no Windows volume found: p1 (NTFS) has no Windows\\System32\\config\\SYSTEM; "
        "p2 has no supported file system; "
        "p3 is BitLocker-encrypted (regtls cannot unlock it: decrypt the volume first)")
    bare = tmp_path / "bitlocker.img"
    shutil.copy(bitlocker, bare)
    assert img.image_format(bare) == "bitlocker"
    with pytest.raises(ImageError) as err:
        img.windows_volumes(bare)
    assert str(err.value) == (f"{bare}: no Windows volume found: "
                              "volume is BitLocker-encrypted (regtls cannot unlock it: decrypt the volume first)")


def test_windows_among_boot_recovery_and_encrypted_partitions(volumes: dict[str, Path], tmp_path: Path) -> None:
    """A GPT layout like a real one: ESP/MSR without a file system we read, Windows, recovery, a locked data volume."""
    need_dfvfs()
    zeros = tmp_path / "zeros"
    zeros.write_bytes(bytes(8 * MIB))
    recovery = ntfs_volume(tmp_path / "recovery.ntfs", {"/Recovery/WindowsRE/ReAgent.xml": b"<WindowsRE/>\n"})
    bitlocker = tmp_path / "bitlocker"
    boot = bytearray(volumes["win7"].read_bytes())
    boot[3:11] = b"-FVE-FS-"
    bitlocker.write_bytes(bytes(boot))
    (tmp_path / "disk").mkdir()
    image = disk(tmp_path / "disk" / "five.img", "gpt", [zeros, zeros, volumes["2019"], recovery, bitlocker])
    with untouched(image):
        found, problems = img.survey(image)
    assert found == [WindowsVolume(str(image), "p3", None, FILES_2019, CONFIG_2019)]
    assert problems == ["p5 is BitLocker-encrypted (regtls cannot unlock it: decrypt the volume first)"]
    out = tmp_path / "out"
    out.mkdir()
    with untouched(image):
        assert img.windows_volumes(image) == found
        copies = img.extract(found[0], out)
    assert_extracted(copies, out, EXTRACTED_2019, VOLUME_2019, CONFIG_2019)


@pytest.mark.parametrize("kind", ["vhdx", "e01"])
def test_a_truncated_container_is_a_one_line_error(kind: str, build: Callable[[str], Path], tmp_path: Path) -> None:
    need_dfvfs()
    source = build(kind)
    image = tmp_path / source.name
    image.write_bytes(source.read_bytes()[: 64 * 1024])
    with untouched(image), pytest.raises(ImageError) as err:
        img.windows_volumes(image)
    message = str(err.value)
    assert message.startswith(f"{image}: cannot read the disk image: ") and "\n" not in message, message


def test_extract_never_overwrites_and_needs_the_volume(build: Callable[[str], Path], tmp_path: Path) -> None:
    need_dfvfs()
    image = build("mbr")
    volume = img.windows_volumes(image)[0]
    (tmp_path / "SOFTWARE").write_bytes(b"already here")
    with untouched(image), pytest.raises(ImageError) as err:
        img.extract(volume, tmp_path)
    assert str(err.value) == f"{image}: cannot extract SOFTWARE: {tmp_path / 'SOFTWARE'} already exists"
    assert (tmp_path / "SOFTWARE").read_bytes() == b"already here"
    with pytest.raises(ImageError) as err:
        img.extract(WindowsVolume(str(image), "p9", None, ()), tmp_path)
    assert str(err.value) == f"{image}: no Windows volume p9 in the image"
    with pytest.raises(ImageError) as err:
        img.extract(WindowsVolume(str(image), "p1", Snapshot(1, "vss1"), ()), tmp_path)
    assert str(err.value) == f"{image}: no Windows volume p1 vss1 in the image"
    with pytest.raises(ImageError) as err:
        img.extract(volume, tmp_path / "missing")
    assert str(err.value) == f"{image}: cannot extract into {tmp_path / 'missing'}: not a folder"


# --- without the extra ---------------------------------------------------------------------------


def test_without_dfvfs_every_call_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "dfvfs", None)  # `import dfvfs` now raises ImportError, as when absent
    image = tmp_path / "disk.vhdx"
    image.write_bytes(b"vhdxfile" + bytes(4096))
    expected = f"{image}: reading disk images needs dfvfs; install the images extra: pip install 'regtls[images]'"
    assert not img.available()
    assert img.is_image(image)  # detection needs only the standard library
    calls: list[Callable[[], object]] = [
        lambda: img.windows_volumes(image), lambda: img.windows_volumes(image, vss=True),
        lambda: img.snapshots(image), lambda: img.extract(WindowsVolume(str(image), "vhdx:p1", None, ()), tmp_path)]
    for call in calls:
        with pytest.raises(ImageError) as err:
            call()
        assert str(err.value) == expected
    assert sorted(os.listdir(tmp_path)) == ["disk.vhdx"]


def test_the_module_imports_without_dfvfs() -> None:
    code = "import sys; sys.modules['dfvfs'] = None; import analyzer.sources.image as m; print(m.available())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "False\n", "")


# --- images on the command line: check, scan ------------------------------------------------------


def cli(*args: object, tmp: Path, block_dfvfs: bool = False) -> tuple[int, str, str]:
    """``python -m analyzer ARGS`` with its temporary folder in ``tmp`` (to see that it is cleaned up)."""
    prelude = "import sys; sys.modules['dfvfs'] = None; " if block_dfvfs else ""
    code = prelude + "import runpy; runpy.run_module('analyzer', run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=REPO,
                          timeout=300, env={**os.environ, "TMPDIR": str(tmp)})
    return proc.returncode, proc.stdout, proc.stderr


def test_check_reads_the_windows_volume_of_an_image(build: Callable[[str], Path], tmp_path: Path) -> None:
    need_dfvfs()
    image = build("vhdx")
    with untouched(image):
        code, out, err = cli("check", image, "--format", "json", tmp=tmp_path)
    assert os.listdir(tmp_path) == []  # the copies out of the image are gone
    direct_code, direct, _ = cli("check", WIN2019, "--format", "json", tmp=tmp_path)
    report, expected = json.loads(out), json.loads(direct)
    def judged(r: dict[str, Any]) -> list[tuple[object, ...]]:  # evidence files differ: the copies have image names
        return [(s["id"], s["state"], s["source"], s["detail"], [e["key"] for e in s["evidence"]])
                for s in r["settings"]]

    assert (code, judged(report), report["results"], report["summary"]) == (
        direct_code, judged(expected), expected["results"], expected["summary"])
    evidence = [e for s in report["settings"] for e in s["evidence"]]
    assert evidence and all(e["file"].startswith(f"{image}@vhdx:p1:\\Windows\\System32\\config\\")
                            for e in evidence)
    config = f"{image}@vhdx:p1:\\Windows\\System32\\config"
    assert [(i["path"], i["kind"], i["sha256"]) for i in report["inputs"]] == [
        (str(image), "disk-image", sha256(image)), (f"{config}\\SYSTEM", "system-hive", sha256(WIN2019 / "SYSTEM")),
        (f"{config}\\SOFTWARE", "software-hive", sha256(WIN2019 / "SOFTWARE"))]
    disk_info, system = report["inputs"][0], report["inputs"][1]
    assert (disk_info["volume"], disk_info["snapshot"], disk_info["sha256_after"], disk_info["unchanged"]) == (
        "vhdx:p1", None, sha256(image), True)
    assert system["extracted_from"] == f"{image}@vhdx:p1"
    assert system["logs"] == []  # the hive is clean: its logs are not copied out of the image
    assert [d["message"] for d in report["diagnostics"] if "not copied out" in d["message"]] == [
        f"\\Windows\\System32\\config\\{name} ({len(LOGS[name])} bytes) not copied out: the hive is clean"
        for name in ("SOFTWARE.LOG1", "SYSTEM.LOG1", "SYSTEM.log2")]
    assert "regtls: verdict: pass" in err


def test_an_image_with_two_windows_volumes_needs_one_named(build: Callable[[str], Path], tmp_path: Path) -> None:
    need_dfvfs()
    image = build("two")
    with untouched(image):
        code, out, err = cli("check", image, tmp=tmp_path)
    assert (code, out, err) == (2, "", f"regtls: error: {image}: 2 Windows volumes ({image}@p1, {image}@p2): give "
                                       "one of them, or use regtls scan to check each\n")
    code, out, _ = cli("check", f"{image}@p2", "--format", "json", tmp=tmp_path)
    assert json.loads(out)["machine"]["os"]["name"] == "Windows 7 SP1"
    assert json.loads(out)["summary"] == json.loads(cli("check", WIN7, "--format", "json", tmp=tmp_path)[1])["summary"]
    code, out, err = cli("check", f"{image}@p3", tmp=tmp_path)
    assert (code, err) == (2, f"regtls: error: {image}: no Windows volume p3 in the image (it has: {image}@p1, "
                              f"{image}@p2)\n")
    assert os.listdir(tmp_path) == []


def test_scan_has_one_row_per_windows_volume(volumes: dict[str, Path], build: Callable[[str], Path],
                                             tmp_path: Path) -> None:
    need_dfvfs()
    two = build("two")
    locked = tmp_path / "locked.img"
    boot = bytearray(volumes["win7"].read_bytes())
    boot[3:11] = b"-FVE-FS-"
    (tmp_path / "bitlocker").write_bytes(bytes(boot))
    disk(locked, "gpt", [volumes["2019"], tmp_path / "bitlocker"])
    work = tmp_path / "tmp"
    work.mkdir()
    with untouched(two), untouched(locked):
        code, out, err = cli("scan", two, locked, "--format", "jsonl", "--jobs", "2", tmp=work)
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["machine"], r["os"], r["verdict"], r["error"]) for r in rows] == sorted([
        (f"{locked}@p1", "Windows Server 2019", "pass", None),
        (f"{locked}@p2", None, "unreadable",
         f"{locked}: p2 is BitLocker-encrypted (regtls cannot unlock it: decrypt the volume first)"),
        (f"{two}@p1", "Windows Server 2019", "pass", None), (f"{two}@p2", "Windows 7 SP1", "pass", None)])
    assert code == 2
    assert err.splitlines()[-2:] == [
        f"regtls: error: {locked}@p2: {locked}: p2 is BitLocker-encrypted (regtls cannot unlock it: decrypt the "
        "volume first)", "regtls: 4 machine(s): 3 pass, 0 fail, 0 undecided, 1 unreadable"]
    assert os.listdir(work) == []


def test_without_the_extra_an_image_input_names_it(build: Callable[[str], Path], tmp_path: Path) -> None:
    image = build("mbr")
    code, out, err = cli("check", image, tmp=tmp_path, block_dfvfs=True)
    assert (code, out, err) == (2, "", f"regtls: error: {image}: reading disk images needs dfvfs; install the "
                                       "images extra: pip install 'regtls[images]'\n")
