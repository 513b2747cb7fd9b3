"""Golden images built during the run: WIM/ESD by wimlib-imagex, container images (docker save tar, OCI layout as a
folder and as a tar) by tarfile/gzip/hashlib per the OCI image spec, hives by hivexregedit."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from analyzer import inputs
from analyzer.sources import golden
from tests.conftest import SAMPLES, build_hive, snapshot
from tests.test_images import cli, run, sha256, untouched

SAMPLE = SAMPLES / "server2019-configured"
TLS12_CLIENT_ON = ('Protocols\\TLS 1.2\\Client]\n"DisabledByDefault"=dword:00000000\n"Enabled"=dword:00000001')
TLS12_CLIENT_OFF = ('Protocols\\TLS 1.2\\Client]\n"DisabledByDefault"=dword:00000001\n"Enabled"=dword:00000000')
NET4_ON = 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]\n"SchUseStrongCrypto"=dword:00000001'
NET4_OFF = 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319]\n"SchUseStrongCrypto"=dword:00000000'
CONFIG = "Windows\\System32\\config"
LOG1 = b"SYSTEM.LOG1 of the base layer\n"
NTUSER = b"the default user's hive (copied, not judged)\n"


def source(name: str, old: str = "", new: str = "") -> str:
    """A sample .reg source without its header line, with one change."""
    text = (SAMPLE / f"{name}.reg").read_text(encoding="utf-8").split("\n", 1)[1]
    assert not old or text.count(old) == 1
    return text.replace(old, new) if old else text


@pytest.fixture(scope="module")
def hives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SYSTEM with TLS 1.2 Client on and off, SOFTWARE with .NET 4 strong crypto on and off (hivexregedit)."""
    made = {}
    for key, kind, old, new in (("system-on", "SYSTEM", "", ""), ("system-off", "SYSTEM", TLS12_CLIENT_ON,
                                                                     TLS12_CLIENT_OFF),
                                ("software-on", "SOFTWARE", "", ""), ("software-off", "SOFTWARE", NET4_ON, NET4_OFF)):
        made[key] = build_hive(tmp_path_factory.mktemp(key), kind, source(kind, old, new))
    assert made["system-on"].read_bytes() != made["system-off"].read_bytes()
    return made


def states(report: dict[str, Any], *ids: str) -> list[tuple[str, str, str, list[str]]]:
    """(setting, state, source, evidence files) of the settings ``ids``."""
    by_id = {s["id"]: s for s in report["settings"]}
    return [(i, by_id[i]["state"], by_id[i]["source"], sorted({e["file"] for e in by_id[i]["evidence"]}))
            for i in ids]


SETTINGS = ("schannel/TLS 1.2/Client", "dotnet/v4.0.30319/64/SchUseStrongCrypto")

# --- WIM and ESD -----------------------------------------------------------------------------------


def need_wimlib() -> None:
    if shutil.which("wimlib-imagex") is None:
        pytest.skip("wimlib-imagex not found (apt-get install wimtools)")


def windows_tree(root: Path, system: Path, software: Path, extra: dict[str, bytes]) -> Path:
    config = root / "Windows" / "System32" / "config"
    config.mkdir(parents=True)
    shutil.copy(system, config / "SYSTEM")
    shutil.copy(software, config / "SOFTWARE")
    (config / "SAM").write_bytes(b"not copied\n")
    for name, data in extra.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def wim(tmp_path_factory: pytest.TempPathFactory, hives: dict[str, Path]) -> Path:
    """Two images: 1 "Golden One" (TLS 1.2 Client on, .NET on, a log, a default user), 2 "Golden Two" (both off)."""
    need_wimlib()
    tmp = tmp_path_factory.mktemp("wim")
    one = windows_tree(tmp / "one", hives["system-on"], hives["software-on"],
                       {"Windows/System32/config/SYSTEM.LOG1": LOG1, "Users/Default/NTUSER.DAT": NTUSER})
    two = windows_tree(tmp / "two", hives["system-off"], hives["software-off"], {})
    out = tmp / "images" / "install.wim"
    out.parent.mkdir()
    run("wimlib-imagex", "capture", one, out, "Golden One")
    run("wimlib-imagex", "append", two, out, "Golden Two")
    return out


def test_a_wim_with_two_images_lists_them(wim: Path, tmp_path: Path) -> None:
    with untouched(wim):
        code, out, err = cli("check", wim, tmp=tmp_path)
    assert (code, out, err) == (2, "", f'regtls: error: {wim}: 2 images (1 "Golden One" (ServerDatacenter, build '
                                f'17763), 2 "Golden Two" (ServerDatacenter, build 17763)): give one as {wim}@INDEX or '
                                f"{wim}@NAME, or use regtls scan to check each\n")
    code, out, err = cli("check", f"{wim}@3", tmp=tmp_path)
    assert (code, out, err) == (2, "", f"regtls: error: {wim}: no image '3' in the WIM (it has: 1 \"Golden One\" "
                                "(ServerDatacenter, build 17763), 2 \"Golden Two\" (ServerDatacenter, build 17763))\n")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind", ["wim", "esd"])
def test_each_image_of_a_wim_is_judged_from_its_own_hives(kind: str, wim: Path, tmp_path: Path) -> None:
    image = wim
    if kind == "esd":  # LZMS solid resources, as Microsoft's .esd downloads are
        image = tmp_path / "install.esd"
        run("wimlib-imagex", "export", wim, "all", image, "--solid")
        assert b"LZMS" in __import__("subprocess").run(["wimlib-imagex", "info", image], capture_output=True).stdout
    work = tmp_path / "tmp"
    work.mkdir()
    with untouched(image):
        one = cli("check", f"{image}@1", "--format", "json", tmp=work)
        two = cli("check", f"{image}@golden two", "--format", "json", tmp=work)
    assert os.listdir(work) == []  # the copies are gone
    assert (one[2], two[2]) == ("regtls: verdict: pass (0 errors, 0 warnings, 0 notes, 0 undecided) with profile "
                                "azure-backup\n", "regtls: verdict: fail (2 errors, 0 warnings, 0 notes, 0 undecided) "
                                "with profile azure-backup\n")
    first, second = json.loads(one[1]), json.loads(two[1])
    assert (one[0], first["summary"]["verdict"], two[0], second["summary"]["verdict"]) == (0, "pass", 1, "fail")
    config1, config2 = f"{image}@1:\\{CONFIG}", f"{image}@2:\\{CONFIG}"
    assert states(first, *SETTINGS) == [
        ("schannel/TLS 1.2/Client", "enabled", "explicit", [f"{config1}\\SYSTEM"]),
        ("dotnet/v4.0.30319/64/SchUseStrongCrypto", "on", "explicit", [f"{config1}\\SOFTWARE"])]
    assert states(second, *SETTINGS) == [
        ("schannel/TLS 1.2/Client", "disabled", "explicit", [f"{config2}\\SYSTEM"]),
        ("dotnet/v4.0.30319/64/SchUseStrongCrypto", "off", "explicit", [f"{config2}\\SOFTWARE"])]
    head = first["inputs"][0]
    assert head == {"path": str(image), "kind": "wim-image", "sha256": sha256(image), "images": 2, "image_index": 1,
                    "image_name": "Golden One", "edition": "ServerDatacenter", "build": "17763",
                    "product": "Windows Server 2019 Datacenter", "sha256_after": sha256(image), "unchanged": True}
    assert second["inputs"][0]["image_index"] == 2
    system = first["inputs"][1]
    assert (system["path"], system["sha256"], system["extracted_from"]) == (
        f"{config1}\\SYSTEM", sha256(wim.parent.parent / "one" / "Windows/System32/config/SYSTEM"), f"{image}@1")
    assert [(log["path"], log["sha256"]) for log in system["logs"]] == [
        (f"{config1}\\SYSTEM.LOG1", hashlib.sha256(LOG1).hexdigest())]
    assert [d["message"] for d in first["diagnostics"]] == [
        f"{image}@1:\\Users\\Default\\NTUSER.DAT: the default user's hive is copied out but not judged (it is the "
        "template of new profiles, not a user's settings)"]


def test_scan_has_one_row_per_image_of_a_wim(wim: Path, tmp_path: Path) -> None:
    with untouched(wim):
        code, out, err = cli("scan", wim, "--format", "jsonl", tmp=tmp_path)
    assert err.splitlines()[-1] == "regtls: 2 machine(s): 1 pass, 1 fail, 0 undecided, 0 unreadable"
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["machine"], r["os"], r["verdict"], r["failing"]) for r in rows] == [
        (f"{wim}@1", "Windows Server 2019", "pass", []),
        (f"{wim}@2", "Windows Server 2019", "fail", ["NET001", "SCH001"])]
    assert (code, os.listdir(tmp_path)) == (1, [])


def test_a_corrupt_wim_and_an_image_without_software_are_one_line_errors(
        hives: dict[str, Path], tmp_path: Path) -> None:
    need_wimlib()
    tree = tmp_path / "tree" / "Windows" / "System32" / "config"
    tree.mkdir(parents=True)
    shutil.copy(hives["system-on"], tree / "system")
    lone = tmp_path / "lone.wim"
    run("wimlib-imagex", "capture", tmp_path / "tree", lone, "No Software")
    broken = tmp_path / "broken.wim"
    broken.write_bytes(lone.read_bytes()[:300])
    work = tmp_path / "tmp"
    work.mkdir()
    assert cli("check", lone, tmp=work) == (2, "", f"regtls: error: {lone}@1: no SOFTWARE hive in "
                                            f'\\{CONFIG} of image 1 "No Software"\n')
    code, out, err = cli("check", broken, tmp=work)
    assert (code, out) == (2, "")
    assert err.startswith(f"regtls: error: {broken}: not a readable WIM file: ") and err.count("\n") == 1
    assert "(wimlib error " in err
    assert os.listdir(work) == []


def test_copies_out_of_a_wim_stay_within_the_budget(wim: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                    ) -> None:
    monkeypatch.setenv("REGTLS_MAX_COPY", "16K")
    with untouched(wim):
        code, out, err = cli("check", f"{wim}@1", tmp=tmp_path)
    assert (code, out) == (2, "")
    assert err == (f"regtls: error: {wim}@1:\\{CONFIG}\\SOFTWARE: copying it would pass the temporary-copy limit "
                   "of 16384 bytes (raise it with --max-copy SIZE or REGTLS_MAX_COPY)\n")
    assert os.listdir(tmp_path) == []


# --- container images ------------------------------------------------------------------------------


def set_minor(hive: bytes, minor: int) -> bytes:
    """The hive with another regf minor version and its base block checksum fixed (see ../shared/tools); at 6, with
    the base block's "layered keys" flag (0x2 at 0x90) as a differencing hive has it."""
    data = bytearray(hive)
    struct.pack_into("<I", data, 0x18, minor)
    if minor >= 6:
        struct.pack_into("<I", data, 0x90, struct.unpack_from("<I", data, 0x90)[0] | 0x2)
    checksum = 0
    for (word,) in struct.iter_unpack("<I", bytes(data[:0x1FC])):
        checksum ^= word
    struct.pack_into("<I", data, 0x1FC, {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(checksum, checksum))
    return bytes(data)


def tar_bytes(members: dict[str, bytes | None]) -> bytes:
    """An uncompressed tar of ``members`` (None: a folder), in the given order, with fixed times."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.mtime = 1_704_067_200
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def layer_tars(hives: dict[str, Path]) -> list[bytes]:
    """Layer 1: SYSTEM (TLS 1.2 Client on), SOFTWARE, SYSTEM.LOG1, the default user; layer 2: SYSTEM (off), a
    whiteout of SYSTEM.LOG1 and a differencing SOFTWARE hive (regf 1.6)."""
    config = "Files/Windows/System32/config"
    base = tar_bytes({"Files": None, "Files/Windows": None, f"{config}/SYSTEM": hives["system-on"].read_bytes(),
                      f"{config}/SOFTWARE": hives["software-on"].read_bytes(), f"{config}/SYSTEM.LOG1": LOG1,
                      "Files/Users/Default/NTUSER.DAT": NTUSER, "Files/Windows/notepad.exe": b"MZ",
                      "UtilityVM/Files/x": b"not read"})
    top = tar_bytes({f"{config}/SYSTEM": hives["system-off"].read_bytes(), f"{config}/.wh.SYSTEM.LOG1": b"",
                     "Hives/Software_Delta": set_minor(hives["software-off"].read_bytes(), 6)})
    return [base, top]


def docker_save(out: Path, layer_tars: list[bytes], images: int = 1) -> Path:
    """docker's save format: manifest.json, a config per image, ``<id>/layer.tar`` per layer."""
    members: dict[str, bytes | None] = {}
    entries = []
    for n in range(images):
        ids = [hashlib.sha256(data).hexdigest() for data in layer_tars]
        config = json.dumps({"architecture": "amd64", "os": "windows",
                             "rootfs": {"type": "layers", "diff_ids": [f"sha256:{i}" for i in ids]}}).encode()
        members[f"{hashlib.sha256(config).hexdigest()}.json"] = config
        for i, data in zip(ids, layer_tars, strict=True):
            members[f"{i}/layer.tar"] = data
        entries.append({"Config": f"{hashlib.sha256(config).hexdigest()}.json",
                        "RepoTags": [f"golden/win:{n + 1}.0"], "Layers": [f"{i}/layer.tar" for i in ids]})
    members["manifest.json"] = json.dumps(entries).encode()
    out.write_bytes(tar_bytes(members))
    return out


def oci_layout(root: Path, layer_tars: list[bytes], media: tuple[str, ...] = ()) -> Path:
    """An OCI image layout folder: the base layer gzip-compressed, the top one uncompressed (or ``media``)."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> str:
        (blobs / hashlib.sha256(data).hexdigest()).write_bytes(data)
        return digest(data)

    stored = [gzip.compress(layer_tars[0], mtime=0), layer_tars[1]]
    types = media or ("application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar")
    config = json.dumps({"architecture": "amd64", "os": "windows", "rootfs": {
        "type": "layers", "diff_ids": [digest(t) for t in layer_tars]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": blob(config), "size": len(config)},
                           "layers": [{"mediaType": t, "digest": blob(d), "size": len(d)}
                                      for t, d in zip(types, stored, strict=True)]}).encode()
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(manifest),
         "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "golden/win:1.0"}}]}))
    return root


def tar_of(folder: Path, out: Path) -> Path:
    members: dict[str, bytes | None] = {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
                                        for p in sorted(folder.rglob("*"))}
    out.write_bytes(tar_bytes(members))
    return out


@pytest.fixture(scope="module")
def containers(tmp_path_factory: pytest.TempPathFactory, layer_tars: list[bytes]) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("containers")
    folder = oci_layout(tmp / "oci", layer_tars)
    return {"docker-save": docker_save(tmp / "golden.tar", layer_tars), "oci-folder": folder,
            "oci-tar": tar_of(folder, tmp / "oci.tar")}


def fingerprint(path: Path) -> object:
    return snapshot(path) if path.is_dir() else (sha256(path), path.stat().st_mtime_ns)


@pytest.mark.parametrize("layout", ["docker-save", "oci-folder", "oci-tar"])
def test_container_layers_apply_in_order_and_name_the_layer_of_each_value(
        layout: str, containers: dict[str, Path], layer_tars: list[bytes], tmp_path: Path) -> None:
    image = containers[layout]
    before = fingerprint(image)
    code, out, err = cli("check", image, "--format", "json", tmp=tmp_path)
    assert fingerprint(image) == before and os.listdir(tmp_path) == []
    assert err == "regtls: verdict: fail (2 errors, 0 warnings, 0 notes, 0 undecided) with profile azure-backup\n"
    report = json.loads(out)
    if layout == "oci-folder":
        stored = [gzip.compress(layer_tars[0], mtime=0), layer_tars[1]]
    else:
        stored = [gzip.compress(layer_tars[0], mtime=0) if layout != "docker-save" else layer_tars[0], layer_tars[1]]
    one, two = (digest(d) for d in stored)
    files = "Files\\Windows\\System32\\config"
    assert states(report, *SETTINGS) == [
        ("schannel/TLS 1.2/Client", "disabled", "explicit", [f"{image}@{two[:19]}(layer 2):{files}\\SYSTEM"]),
        ("dotnet/v4.0.30319/64/SchUseStrongCrypto", "off", "explicit",  # layer 2's delta, stacked on layer 1
         [f"{image}@{two[:19]}(layer 2):Hives\\Software_Delta"])]
    head = report["inputs"][0]
    hashed = image / "index.json" if image.is_dir() else image
    assert (head["path"], head["kind"], head["sha256"], head["unchanged"], head["format"], head["tags"]) == (
        str(hashed), "container-image", sha256(hashed), True, "oci-layout" if "oci" in layout else "docker-save",
        ["golden/win:1.0"])
    config = "Files/Windows/System32/config"
    assert head["layers"] == [
        {"layer": 1, "digest": one, "media_type": "application/vnd.oci.image.layer.v1.tar+gzip" if "oci" in layout
         else None, "sets": ["Files/Users/Default/NTUSER.DAT", f"{config}/SOFTWARE", f"{config}/SYSTEM",
                             f"{config}/SYSTEM.LOG1"], "deltas": []},
        {"layer": 2, "digest": two, "media_type": "application/vnd.oci.image.layer.v1.tar" if "oci" in layout
         else None, "sets": [f"{config}/SYSTEM"], "deltas": ["Hives/Software_Delta"]}]
    system = report["inputs"][1]
    assert (system["path"], system["logs"], system["extracted_from"]) == (
        f"{image}@{two[:19]}(layer 2):{files}\\SYSTEM", [], str(image))  # the whiteout removed SYSTEM.LOG1
    assert [(d["level"], d["code"], d["message"]) for d in report["diagnostics"]] == [
        ("note", "user-hive", f"{image}@{one[:19]}(layer 1):Files\\Users\\Default\\NTUSER.DAT: the default user's "
         "hive is copied out but not judged (it is the template of new profiles, not a user's settings)")]
    assert (code, report["summary"]["verdict"]) == (1, "fail")


def test_stacking_hands_each_delta_to_the_loader_after_its_base(containers: dict[str, Path]) -> None:
    image = containers["oci-folder"]
    extracted = golden.open_spec(golden.GoldenSpec(image, "container"))
    try:
        shown = [extracted.display(h).split("(", 1)[1] for h in extracted.hives]
        assert shown == ["layer 2):Files\\Windows\\System32\\config\\SYSTEM",
                                                    "layer 1):Files\\Windows\\System32\\config\\SOFTWARE",
                                                    "layer 2):Hives\\Software_Delta"]
        assert extracted.hives[2].read_bytes()[0x18] == 6
        assert extracted.diagnostics[0].code == "user-hive"
    finally:
        extracted.folder.cleanup()
    loaded = inputs.load([image])  # the delta is stacked on the SOFTWARE hive of layer 1
    try:
        assert [k.split(":", 1)[0] for k in sorted(loaded.hives)] == ["software", "software-delta", "system"]
        delta = next(k for k in loaded.hives if k.startswith("software-delta:"))
        assert delta.endswith("(layer 2):Hives\\Software_Delta")
    finally:
        for opened in loaded.images:
            opened.folder.cleanup()


def test_scan_and_selection_of_several_images_in_one_tar(layer_tars: list[bytes], tmp_path: Path) -> None:
    image = docker_save(tmp_path / "two.tar", layer_tars, images=2)
    work = tmp_path / "tmp"
    work.mkdir()
    assert cli("check", image, tmp=work) == (2, "", f"regtls: error: {image}: 2 images (1 (golden/win:1.0), 2 "
                                             f"(golden/win:2.0)): give one as {image}@N or {image}@TAG, or use regtls "
                                             "scan to check each\n")
    code, out, _ = cli("check", f"{image}@golden/win:2.0", "--format", "json", tmp=work)
    assert (code, json.loads(out)["inputs"][0]["tags"], json.loads(out)["inputs"][0]["image_number"]) == (
        1, ["golden/win:2.0"], 2)
    code, out, err = cli("scan", image, "--format", "jsonl", tmp=work)
    assert (code, err.splitlines()[-1]) == (1, "regtls: 2 machine(s): 0 pass, 2 fail, 0 undecided, 0 unreadable")
    assert [(r["machine"], r["verdict"]) for r in map(json.loads, out.splitlines())] == [
        (f"{image}@1", "fail"), (f"{image}@2", "fail")]
    assert os.listdir(work) == []


def hostile(tmp_path: Path, layer_tars: list[bytes], change: Callable[[dict[str, bytes | None]], None]) -> Path:
    members: dict[str, bytes | None] = {}
    with tarfile.open(docker_save(tmp_path / "base.tar", layer_tars)) as archive:
        for member in archive:
            stream = archive.extractfile(member)
            members[member.name] = stream.read() if stream else None
    change(members)
    out = tmp_path / "hostile.tar"
    out.write_bytes(tar_bytes(members))
    return out


def test_container_errors_are_one_line(layer_tars: list[bytes], tmp_path: Path) -> None:
    work = tmp_path / "tmp"
    work.mkdir()
    folder = oci_layout(tmp_path / "zstd", layer_tars, ("application/vnd.oci.image.layer.v1.tar+zstd",) * 2)
    assert cli("check", folder, tmp=work) == (2, "", f"regtls: error: {folder}: layer 1 has unknown media type "
                                              "'application/vnd.oci.image.layer.v1.tar+zstd' (uncompressed or gzip "
                                              "tar layers are read)\n")
    altered = oci_layout(tmp_path / "altered", layer_tars)
    blob = next(p for p in (altered / "blobs" / "sha256").iterdir() if p.read_bytes() == layer_tars[1])
    blob.write_bytes(layer_tars[0])
    code, out, err = cli("check", altered, tmp=work)
    assert (code, out) == (2, "") and err.startswith(f"regtls: error: {altered}: layer 2 does not match its digest ")

    def climb(members: dict[str, bytes | None]) -> None:
        members["../escape"] = b"x"

    image = hostile(tmp_path, layer_tars, climb)
    assert cli("check", image, tmp=work) == (2, "", f"regtls: error: {image}: member '../escape' has an absolute or "
                                             "climbing path; refused\n")
    no_software = tar_bytes({"Files/Windows/System32/config/.wh.SOFTWARE": b""})
    lonely = docker_save(tmp_path / "lonely.tar", [layer_tars[0], no_software])
    assert cli("check", lonely, tmp=work) == (2, "", f"regtls: error: {lonely}: no SOFTWARE hive in "
                                              "Files\\Windows\\System32\\config of the image 1 (golden/win:1.0) once "
                                              "its 2 layers are applied\n")
    assert os.listdir(work) == []


def test_a_layer_symlink_out_of_the_archive_is_refused(layer_tars: list[bytes], tmp_path: Path) -> None:
    ids = [hashlib.sha256(d).hexdigest() for d in layer_tars]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        manifest = json.dumps([{"Config": "c.json", "RepoTags": [], "Layers": [f"{i}/layer.tar" for i in ids]}])
        for name, data in (("manifest.json", manifest.encode()), (f"{ids[0]}/layer.tar", layer_tars[0])):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(f"{ids[1]}/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../../etc/passwd"
        archive.addfile(link)
    image = tmp_path / "link.tar"
    image.write_bytes(buf.getvalue())
    code, out, err = cli("check", image, tmp=tmp_path / "..")
    assert (code, out, err) == (2, "", f"regtls: error: {image}: {ids[1]}/layer.tar links outside the archive "
                                       "(../../etc/passwd); refused\n")


def test_detection_is_by_content(containers: dict[str, Path], wim: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "evidence.bin"
    shutil.copy(wim, renamed)
    assert [golden.kind_of(p) for p in (renamed, containers["docker-save"], containers["oci-folder"],
                                        containers["oci-tar"], SAMPLE / "SYSTEM", SAMPLE, SAMPLE / "SYSTEM.reg")] == [
        "wim", "container", "container", "container", None, None, None]
    plain = tmp_path / "plain.tar"
    plain.write_bytes(tar_bytes({"readme.txt": b"hello"}))
    assert golden.parse(str(plain)) is None
    assert golden.parse(f"{renamed}@Golden One") == golden.GoldenSpec(renamed, "wim", "Golden One")


def test_layer_members_are_claims_a_bomb_stops_at_the_budget(layer_tars: list[bytes], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = gzip.compress(tar_bytes({"Files/Windows/System32/config/SOFTWARE": bytes(32 << 20)}), mtime=0)
    assert len(bomb) < 64 << 10  # 32 MiB of zeros in a small layer
    folder = oci_layout(tmp_path / "bomb", [layer_tars[0], layer_tars[1]])
    blobs = folder / "blobs" / "sha256"
    top = next(p for p in blobs.iterdir() if p.read_bytes() == layer_tars[1])
    index = json.loads((folder / "index.json").read_text())
    manifest_blob = blobs / index["manifests"][0]["digest"].removeprefix("sha256:")
    manifest = json.loads(manifest_blob.read_text())
    (blobs / digest(bomb).removeprefix("sha256:")).write_bytes(bomb)
    manifest["layers"][1] = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(bomb),
                             "size": len(bomb)}
    top.unlink()
    manifest_blob.unlink()
    data = json.dumps(manifest).encode()
    (blobs / digest(data).removeprefix("sha256:")).write_bytes(data)
    index["manifests"][0].update(digest=digest(data), size=len(data))
    (folder / "index.json").write_text(json.dumps(index))
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setenv("REGTLS_MAX_COPY", "8M")
    assert cli("check", folder, tmp=work) == (2, "", f"regtls: error: {folder}(layer 2):Files\\Windows\\System32\\"
                                              "config\\SOFTWARE: copying it would pass the temporary-copy limit of "
                                              "8388608 bytes (raise it with --max-copy SIZE or REGTLS_MAX_COPY)\n")
    assert os.listdir(work) == []


def test_hostile_layer_members(layer_tars: list[bytes], tmp_path: Path) -> None:
    work = tmp_path / "tmp"
    work.mkdir()
    config = "Files/Windows/System32/config"
    climbing = tar_bytes({"../../outside": b"x", "Files/../../SYSTEM": b"y"})
    image = docker_save(tmp_path / "climb.tar", [layer_tars[0], climbing])
    code, out, err = cli("check", image, "--format", "json", tmp=work)
    assert (code, out != "", err.splitlines()[:2]) == (0, True, [
        f"regtls: warning: {image}: layer 2: member '../../outside' has an absolute or climbing path; skipped",
        f"regtls: warning: {image}: layer 2: member 'Files/../../SYSTEM' has an absolute or climbing path; skipped"])
    twice = tar_bytes({f"{config}/SYSTEM": b"a", f"{config}/system": b"b"})
    image = docker_save(tmp_path / "twice.tar", [layer_tars[0], twice])
    assert cli("check", image, tmp=work) == (2, "", f"regtls: error: {image}: layer 2 holds Files\\Windows\\System32\\"
                                             "config\\system twice; refused\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        link = tarfile.TarInfo(f"{config}/SOFTWARE")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    image = docker_save(tmp_path / "link.tar", [layer_tars[0], buf.getvalue()])
    assert cli("check", image, tmp=work) == (2, "", f"regtls: error: {image}: layer 2: Files\\Windows\\System32\\"
                                             "config\\SOFTWARE is not a regular file (a link or special file); "
                                             "refused\n")
    truncated = layer_tars[1][: len(layer_tars[1]) // 2]
    image = docker_save(tmp_path / "short.tar", [layer_tars[0], truncated])
    code, out, err = cli("check", image, tmp=work)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert err.startswith(f"regtls: error: {image}: layer 2 ({hashlib.sha256(truncated).hexdigest()}/layer.tar) is "
                          "not a readable tar layer: ")
    assert os.listdir(work) == []


def test_a_multi_platform_index_and_a_conflicting_duplicate(layer_tars: list[bytes], tmp_path: Path) -> None:
    folder = oci_layout(tmp_path / "multi", layer_tars)
    index = json.loads((folder / "index.json").read_text())
    nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                         "manifests": [{**index["manifests"][0], "annotations": {},
                                        "platform": {"os": "windows", "architecture": "amd64"}}]}).encode()
    (folder / "blobs" / "sha256" / digest(nested).removeprefix("sha256:")).write_bytes(nested)
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest(nested), "size": len(nested),
         "annotations": {"org.opencontainers.image.ref.name": "multi:1"}}]}))
    work = tmp_path / "tmp"
    work.mkdir()
    code, out, _ = cli("check", f"{folder}@multi:1", "--format", "json", tmp=work)
    assert (code, json.loads(out)["inputs"][0]["tags"], json.loads(out)["inputs"][0]["manifest_digest"]) == (
        1, ["multi:1"], index["manifests"][0]["digest"])
    doubled = tmp_path / "doubled.tar"
    with tarfile.open(doubled, "w") as archive:
        for data in (b"[]", b"[{}]"):
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    empty = tmp_path / "empty.tar"
    empty.write_bytes(tar_bytes({"manifest.json": b"[]"}))
    assert cli("check", empty, tmp=work) == (2, "", f"regtls: error: {empty}: a container image layout without "
                                             "images\n")
    assert cli("check", doubled, tmp=work) == (2, "", f"regtls: error: {doubled}: member 'manifest.json' appears "
                                               "twice with different content; refused\n")
