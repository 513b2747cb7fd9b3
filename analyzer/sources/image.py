"""Disk images (raw, MBR, GPT, VHD, VHDX, VMDK, QCOW2, E01): find each Windows volume, copy its hives out, read-only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from analyzer.sources import SourceError
from analyzer.sources.bounded import CopyBudget, CopyLimitError, default_budget
from analyzer.sources.cells import BASE_BLOCK
from analyzer.sources.evidence import open_evidence
from analyzer.sources.hive import Header, parse_header

EXTRA_HINT = "install the images extra: pip install 'regtls[images]'"

_CONFIG = ("Windows", "System32", "config")
_WANTED = {f"{h}{s}".casefold(): f"{h}{s}" for h in ("SYSTEM", "SOFTWARE") for s in ("", ".LOG", ".LOG1", ".LOG2")}
_CONTAINERS = {"EWF": "e01", "QCOW": "qcow2", "VHDI": "vhd", "VMDK": "vmdk"}
_ENCRYPTED = {"BDE": "BitLocker", "LUKSDE": "LUKS", "FVDE": "FileVault", "APFS_CONTAINER": "APFS", "CS": "CoreStorage"}
_MAX_SCAN_STEPS = 10_000


class ImageError(SourceError):
    """A disk image cannot be read or holds no readable Windows volume; one line naming the image."""


@dataclass(frozen=True)
class Snapshot:
    """One volume shadow copy (VSS store) of an NTFS volume: ``vss1`` is the oldest."""

    index: int
    label: str
    volume: str = ""
    created: str | None = None


@dataclass(frozen=True)
class WindowsVolume:
    """A volume (or one of its shadow copies) holding ``Windows\\System32\\config\\SYSTEM``."""

    image: str
    label: str
    snapshot: Snapshot | None
    files: tuple[str, ...]
    config: str = ""


# --- format detection (standard library only) ---------------------------------------------------


def image_format(path: Path) -> str | None:
    """The image format found in the file's content (``e01``, ``vhdx``, ``mbr``, ...), or None."""
    if not path.is_file():  # never open a FIFO or a device here
        return None
    try:
        with open_evidence(path) as stream:
            head = stream.read(4608)
            size = stream.seek(0, 2)
            stream.seek(max(size - 512, 0))
            tail = stream.read(512)
    except OSError:
        return None
    return _container_format(head, tail) or _raw_format(head)


def _container_format(head: bytes, tail: bytes) -> str | None:
    """The container format from its signature (head of the file, or the VHD footer)."""
    if head.startswith(b"EVF\x09\x0d\x0a\xff\x00"):
        return "e01"
    if head.startswith(b"EVF2\x0d\x0a\x81\x00"):
        return "ex01"
    if head.startswith(b"vhdxfile"):
        return "vhdx"
    if head.startswith(b"QFI\xfb"):
        return "qcow2" if int.from_bytes(head[4:8], "big") >= 2 else "qcow"
    if head.startswith((b"KDMV", b"COWD", b"# Disk DescriptorFile")):
        return "vmdk"
    if head.startswith(b"conectix") or tail.startswith(b"conectix") or tail[1:9] == b"conectix":
        return "vhd"
    return None


def _raw_format(head: bytes) -> str | None:
    """The layout of a raw image: an NTFS or BitLocker boot sector, a GPT header, or an MBR."""
    if len(head) < 512 or head.startswith(b"regf"):
        return None
    if head[3:11] == b"NTFS    ":
        return "ntfs"
    if head[3:11] == b"-FVE-FS-":
        return "bitlocker"
    if head[512:520] == b"EFI PART" or head[4096:4104] == b"EFI PART":
        return "gpt"
    return "mbr" if _is_mbr(head) else None


def _is_mbr(head: bytes) -> bool:
    """Boot signature plus four plausible partition entries, at least one in use."""
    if head[510:512] != b"\x55\xaa":
        return False
    used = 0
    for offset in range(446, 510, 16):
        entry = head[offset : offset + 16]
        if entry[0] not in (0x00, 0x80):
            return False
        if entry[4]:
            if not int.from_bytes(entry[8:12], "little") or not int.from_bytes(entry[12:16], "little"):
                return False
            used += 1
    return used > 0


def is_image(path: Path) -> bool:
    """Whether the file's content is a disk image regtls can open (never judged by the extension)."""
    return image_format(path) is not None


# --- dfvfs, imported lazily -----------------------------------------------------------------------


def _import() -> SimpleNamespace:
    """The dfvfs modules used here (ImportError when the extra is not installed)."""
    import dfvfs  # type: ignore[import-untyped]  # noqa: F401  (first, so a missing package fails here)
    from dfvfs.helpers import source_scanner  # type: ignore[import-untyped]
    from dfvfs.lib import definitions  # type: ignore[import-untyped]
    from dfvfs.path import factory  # type: ignore[import-untyped]
    from dfvfs.resolver import context, resolver  # type: ignore[import-untyped]

    return SimpleNamespace(
        scanner=source_scanner,
        definitions=definitions,
        factory=factory.Factory,
        context=context,
        resolver=resolver.Resolver,
    )


def available() -> bool:
    """Whether dfvfs (the ``images`` extra) can be imported."""
    try:
        _import()
    except ImportError:
        return False
    return True


def _load(path: Path) -> SimpleNamespace:
    """The dfvfs modules, or an ImageError naming the image and the extra."""
    try:
        return _import()
    except ImportError:
        raise ImageError(f"{path}: reading disk images needs dfvfs; {EXTRA_HINT}", str(path)) from None


def _one_line(exc: BaseException) -> str:
    """A library exception as a short single line (libyal chains many messages with '. ')."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    first = text.split(". ", 1)[0].rstrip(".")
    return first if len(first) <= 200 else first[:197] + "..."


# --- scanning -------------------------------------------------------------------------------------


@dataclass
class _Scan:
    """One pass of dfvfs's source scanner over an image, with its own resolver context."""

    image: Path
    lib: SimpleNamespace
    ctx: Any
    context: Any
    failed: dict[int, str]


@dataclass
class _Leaf:
    """A labelled scan result: a file system, a shadow copy, or a volume that is locked, unreadable or empty."""

    label: str
    snapshot: Snapshot | None
    node: Any
    kind: str
    reason: str = ""


def _scan(path: Path, vss: bool) -> _Scan:
    """Scan the image level by level, so that one unreadable volume does not hide the others."""
    lib = _load(path)
    if not path.is_file():
        raise ImageError(f"{path}: cannot open the disk image: not a file", str(path))
    ctx = lib.context.Context()
    scanner = lib.scanner.SourceScanner(resolver_context=ctx)
    context = lib.scanner.SourceScannerContext()
    context.OpenSourcePath(str(path.resolve()))
    scan = _Scan(path, lib, ctx, context, {})
    for _ in range(_MAX_SCAN_STEPS):
        node = context.GetUnscannedScanNode()
        if node is None:
            break
        if _is_snapshot_node(lib, node) and not vss:
            node.scanned = True  # the file system inside each shadow copy is only opened for --vss
            continue
        try:
            scanner.Scan(context, auto_recurse=False)
        except Exception as exc:  # library errors stay inside sources/
            if node.parent_node is None or node.parent_node.parent_node is None:  # the image itself
                raise ImageError(f"{path}: cannot read the disk image: {_one_line(exc)}", str(path)) from None
            scan.failed[id(node)] = _one_line(exc)
        if not node.scanned and not node.sub_nodes:
            node.scanned = True  # no progress on this node: never scan it twice
    if context.source_type != lib.definitions.SOURCE_TYPE_STORAGE_MEDIA_IMAGE:
        reason = "no supported image format, partition table or file system found"
        raise ImageError(f"{path}: not a disk image: {reason}", str(path))
    return scan


def _is_snapshot_node(lib: SimpleNamespace, node: Any) -> bool:
    """A VSS store (``/vss1``...), as opposed to the root of the shadow-copy volume system."""
    return bool(node.type_indicator == lib.definitions.TYPE_INDICATOR_VSHADOW and not node.IsVolumeSystemRoot())


def _leaves(scan: _Scan) -> list[_Leaf]:
    """Every file system, shadow copy and locked, unreadable or empty volume of the scan tree, in disk order."""
    lib, out = scan.lib, []
    defs = lib.definitions
    fmt = image_format(scan.image)

    def visit(node: Any, container: str | None, parts: tuple[str, ...], snapshot: Snapshot | None) -> None:
        kind, location = node.type_indicator, getattr(node.path_spec, "location", None)
        if kind in _CONTAINERS and container is None:
            container = fmt if fmt in ("e01", "ex01", "vhd", "vhdx", "vmdk", "qcow", "qcow2") else _CONTAINERS[kind]
        elif _is_snapshot_node(lib, node):
            snapshot = _snapshot(scan, node, _label(container, parts))
        elif kind in defs.VOLUME_SYSTEM_TYPE_INDICATORS and location and location != "/":
            parts = (*parts, location.strip("/"))
        elif kind in defs.PARTITION_TABLE_TYPE_INDICATORS and not location:
            return  # unallocated space between partitions
        label = _label(container, parts)
        if id(node) in scan.failed:
            out.append(_Leaf(label, snapshot, node, "failed", scan.failed[id(node)]))
        elif node.IsFileSystem():
            out.append(_Leaf(label, snapshot, node, "fs", kind))
        elif scan.context.IsLockedScanNode(node.path_spec):
            out.append(_Leaf(label, snapshot, node, "locked"))
        elif _is_snapshot_node(lib, node):
            out.append(_Leaf(label, snapshot, node, "snapshot"))
        elif not node.sub_nodes and not node.IsVolumeSystemRoot() and node.parent_node is not None:
            out.append(_Leaf(label, snapshot, node, "empty"))
        for sub in node.sub_nodes:
            visit(sub, container, parts, snapshot)

    visit(scan.context.GetRootScanNode(), None, (), None)
    return out


def _label(container: str | None, parts: tuple[str, ...]) -> str:
    """``p2``, ``vhdx:p1``; ``volume`` or ``e01:volume`` for a file system without a partition table."""
    return ":".join(([container] if container else []) + (list(parts) or ["volume"]))


def _snapshot(scan: _Scan, node: Any, volume: str) -> Snapshot:
    """The Snapshot of a VSS store node (``vss1`` is the first store), with its creation time if readable."""
    store_index = getattr(node.path_spec, "store_index", None)
    location = getattr(node.path_spec, "location", None) or ""
    if store_index is None and location[4:].isdigit():
        store_index = int(location[4:]) - 1
    index = int(store_index) + 1 if store_index is not None else 0
    return Snapshot(index, f"vss{index}", volume, _created(scan, node))


def _created(scan: _Scan, node: Any) -> str | None:
    """The creation time of a VSS store as ISO 8601 UTC to the second, or None."""
    try:
        entry = scan.lib.resolver.OpenFileEntry(node.path_spec, resolver_context=scan.ctx)
        filetime = int(entry.GetVShadowStore().get_creation_time_as_integer())
    except Exception:  # a missing time is no reason to fail
        return None
    moment = datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=filetime // 10)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Windows volumes ------------------------------------------------------------------------------


def _child(scan: _Scan, file_system: Any, directory: Any, name: str) -> Any:
    """The entry ``name`` in ``directory``: a direct lookup first, then a case-insensitive listing."""
    root = file_system.GetRootFileEntry().path_spec
    sep = "/" if str(getattr(root, "location", "\\")).startswith("/") else "\\"
    location = str(getattr(directory.path_spec, "location", "") or "").rstrip(sep) + sep + name
    spec = scan.lib.factory.NewPathSpec(root.type_indicator, location=location, parent=root.parent)
    entry = file_system.GetFileEntryByPathSpec(spec)
    if entry is None or entry.name.casefold() != name.casefold():
        entry = directory.GetSubFileEntryByName(name, case_sensitive=False)
    return entry


def _config_dir(scan: _Scan, leaf: _Leaf) -> tuple[Any, str] | None:
    """The ``Windows\\System32\\config`` directory of a file system and its path as stored, or None."""
    file_system = scan.lib.resolver.OpenFileSystem(leaf.node.path_spec, resolver_context=scan.ctx)
    root = file_system.GetRootFileEntry()
    # a volume root, or a KAPE container (VHDX) whose root holds one folder per collected drive: C\Windows\...
    drives = [e for e in root.sub_file_entries if len(str(e.name)) == 1 and str(e.name).isalpha() and e.IsDirectory()]
    for top in [root, *sorted(drives, key=lambda e: str(e.name).upper())]:
        entry, stored = top, [] if top is root else [str(top.name)]
        for name in _CONFIG:
            entry = _child(scan, file_system, entry, name)
            if entry is None or not entry.IsDirectory():
                break
            stored.append(str(entry.name))
        else:
            return entry, "\\" + "\\".join(stored)
    return None


def _config_files(config: Any) -> Iterator[tuple[str, Any]]:
    """The files of the config directory by name, then those of its ``RegBack`` folder as ``RegBack/NAME``."""
    for entry in config.sub_file_entries:
        if entry.IsFile():
            yield str(entry.name), entry
        elif entry.IsDirectory() and str(entry.name).casefold() == "regback":
            for backup in entry.sub_file_entries:
                if backup.IsFile():
                    yield f"{entry.name}/{backup.name}", backup


def _windows(scan: _Scan, leaf: _Leaf) -> tuple[WindowsVolume, Any] | None:
    """The WindowsVolume of a file system (and its config directory entry) when it holds config/SYSTEM."""
    found = _config_dir(scan, leaf)
    if found is None:
        return None
    config, stored = found
    names = sorted((name for name, _ in _config_files(config)), key=lambda n: (n.casefold(), n))
    if not any(name.casefold() == "system" for name in names):
        return None
    return WindowsVolume(str(scan.image), leaf.label, leaf.snapshot, tuple(names), stored), config


def _bitlocker(scan: _Scan, node: Any) -> bool:
    """Whether a volume starts with a BitLocker boot sector (``-FVE-FS-``)."""
    try:
        stream = scan.lib.resolver.OpenFileObject(node.path_spec, resolver_context=scan.ctx)
        return bool(stream.read(11)[3:11] == b"-FVE-FS-")
    except Exception:  # unreadable: not known to be BitLocker
        return False


def _why_not(scan: _Scan, leaf: _Leaf) -> str:
    """Why a scan result is not a Windows volume, in a few words."""
    encryption = _ENCRYPTED.get(leaf.node.type_indicator)
    if leaf.kind == "failed" and encryption is None and _bitlocker(scan, leaf.node):
        encryption = "BitLocker"
    if leaf.kind == "locked" or (leaf.kind == "failed" and encryption):
        what = f"{encryption}-encrypted" if encryption else "encrypted"
        return f"{leaf.label} is {what} (regtls cannot unlock it: decrypt the volume first)"
    if leaf.kind == "failed":
        return f"{leaf.label} is unreadable ({leaf.reason})"
    if leaf.kind == "empty":
        return f"{leaf.label} has no supported file system"
    return f"{leaf.label} ({leaf.reason}) has no Windows\\System32\\config\\SYSTEM"


def _found(scan: _Scan) -> tuple[list[tuple[WindowsVolume, Any]], list[tuple[bool, str]]]:
    """The Windows volumes of a scan with their config directories, and why each other volume is not one.

    Each reason comes with whether it is a problem (encrypted or unreadable) rather than a plain volume
    without Windows (a boot or recovery partition).
    """
    found, others = [], []
    for leaf in _leaves(scan):
        if leaf.kind == "snapshot":
            continue
        if leaf.kind != "fs":
            others.append((leaf.kind in ("locked", "failed"), _why_not(scan, leaf)))
            continue
        try:
            hit = _windows(scan, leaf)
        except Exception as exc:  # a damaged file system
            others.append((True, f"{leaf.label} is unreadable ({_one_line(exc)})"))
            continue
        if hit is not None:
            found.append(hit)
        elif leaf.snapshot is None:
            others.append((False, _why_not(scan, leaf)))
    order = {label: n for n, label in enumerate(dict.fromkeys(v.label for v, _ in found))}
    found.sort(key=lambda hit: (order[hit[0].label], hit[0].snapshot.index if hit[0].snapshot else 0))
    return found, others


def survey(path: Path, vss: bool = False) -> tuple[list[WindowsVolume], list[str]]:
    """The Windows volumes of the image, and one line per volume that could not be read (encrypted, damaged).

    Raises ImageError like ``windows_volumes`` when no Windows volume is found.
    """
    scan = _scan(path, vss)
    try:
        found, others = _found(scan)
    finally:
        scan.ctx.Empty()
    if not found:
        reasons = "; ".join(reason for _, reason in others) or "no volume"
        raise ImageError(f"{path}: no Windows volume found: {reasons}", str(path))
    return [volume for volume, _ in found], [reason for problem, reason in others if problem]


def windows_volumes(path: Path, vss: bool = False) -> list[WindowsVolume]:
    """Every volume of the image holding ``Windows\\System32\\config\\SYSTEM`` (any case), in disk order.

    With ``vss``, each such volume is followed by one entry per shadow copy that holds it too. Raises
    ImageError (one line naming the image) when dfvfs is missing, the file is not a readable image, or no
    Windows volume is found; the message then says what each volume is (e.g. BitLocker-encrypted).
    Volumes that are encrypted or damaged next to a readable Windows volume are listed by ``survey``.
    """
    return survey(path, vss)[0]


def snapshots(path: Path) -> list[Snapshot]:
    """The volume shadow copies (VSS stores) of the image's NTFS volumes, in disk order."""
    scan = _scan(path, vss=False)
    try:
        return [leaf.snapshot for leaf in _leaves(scan) if leaf.kind == "snapshot" and leaf.snapshot is not None]
    finally:
        scan.ctx.Empty()


# --- extraction -----------------------------------------------------------------------------------


def _wanted(config: Any) -> dict[str, tuple[str, Any]]:
    """SYSTEM, SOFTWARE and their .LOG/.LOG1/.LOG2 by canonical name: (name as stored, entry)."""
    picked: dict[str, tuple[str, Any]] = {}
    for name, entry in sorted(_config_files(config), key=lambda item: item[0]):
        canonical = _WANTED.get(name.casefold())
        if canonical and (canonical not in picked or name == canonical):
            picked[canonical] = (name, entry)
    return picked


def _copy(image: Path, name: str, entry: Any, target: Path, budget: CopyBudget, what: str) -> None:
    """Stream one file out of the image into ``target`` (which must not exist yet), within ``budget``."""
    try:
        written = budget.copy(entry.GetFileObject().read, target, what)
    except CopyLimitError:
        raise
    except FileExistsError:
        raise ImageError(f"{image}: cannot extract {name}: {target} already exists", str(image)) from None
    except Exception as exc:
        raise ImageError(f"{image}: cannot extract {name}: {_one_line(exc)}", str(image)) from None
    if entry.size is not None and written != int(entry.size):
        raise ImageError(f"{image}: cannot extract {name}: read {written} of {entry.size} bytes", str(image))


def _base_block(entry: Any) -> Header | None:
    """The regf base block of a hive inside the image (read there, before anything is copied), or None."""
    try:
        return parse_header(entry.GetFileObject().read(BASE_BLOCK))
    except Exception:  # unreadable here: copying it gives the error
        return None


def _hive_size(entry: Any, header: Header | None) -> int:
    """The bytes a hive holds: its file size, but no more than its base block declares (a sparse tail is not)."""
    size = int(entry.size or 0)
    return min(size, BASE_BLOCK + header.bins_size) if header else size


def _log_not_needed(logs: bool, header: Header | None) -> str | None:
    """Why a hive's transaction log is left in the image, or None when reading the hive needs it."""
    if not logs:
        return "--no-logs"
    if header is not None and not header.dirty and header.checksum_ok:
        return "the hive is clean"
    return None


def extract(volume: WindowsVolume, dest: Path, logs: bool = True, budget: CopyBudget | None = None,
            skipped: list[str] | None = None) -> dict[str, Path]:
    """Copy SYSTEM, SOFTWARE and the transaction logs they need out of ``volume`` into ``dest`` (an existing folder).

    A hive's logs are copied only when ``logs`` is true and its base block, read in the image first, says it
    needs them (dirty, or a wrong checksum); each log left in the image is named in ``skipped``.  Every copy
    goes through ``budget`` (by default :func:`~analyzer.sources.bounded.default_budget` of the hives' sizes);
    :class:`~analyzer.sources.bounded.CopyLimitError` names the file and the limit when it would be passed.
    Returns the copies by canonical name (``SYSTEM``, ``SOFTWARE``, ``SYSTEM.LOG1``...); each file keeps its
    name as stored (``dest/system`` for a lowercase ``system``). Nothing is written anywhere else.
    """
    image = Path(volume.image)
    if not dest.is_dir():
        raise ImageError(f"{image}: cannot extract into {dest}: not a folder", str(image))
    scan = _scan(image, vss=volume.snapshot is not None)
    try:
        found, _ = _found(scan)
        wanted = (volume.label, volume.snapshot.index if volume.snapshot else 0)
        config = next((c for v, c in found if (v.label, v.snapshot.index if v.snapshot else 0) == wanted), None)
        if config is None:
            where = volume.label + (f" {volume.snapshot.label}" if volume.snapshot else "")
            raise ImageError(f"{image}: no Windows volume {where} in the image", str(image))
        files = _wanted(config)
        headers: dict[str, Header | None] = {h: _base_block(files[h][1]) for h in ("SYSTEM", "SOFTWARE") if h in files}
        if budget is None:
            budget = CopyBudget(default_budget(sum(_hive_size(files[h][1], head) for h, head in headers.items())))
        copies = {}
        for canonical, (name, entry) in sorted(files.items()):
            hive = canonical.split(".", 1)[0]
            why = None if canonical == hive else _log_not_needed(logs, headers.get(hive))
            if why is not None:
                if skipped is not None:
                    skipped.append(f"{volume.config}\\{name} ({int(entry.size or 0)} bytes) not copied out: {why}")
                continue
            target = dest / name
            _copy(image, name, entry, target, budget, f"{image}: {volume.config}\\{name}")
            copies[canonical] = target
        return copies
    finally:
        scan.ctx.Empty()
