"""Open the command-line inputs (hives and ``.reg`` files) and layer them into one Machine."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from analyzer.knowledge.scope import Scope, in_scope
from analyzer.machine import Machine, Mount
from analyzer.registry import Path
from analyzer.sources import Diagnostic, SourceError, users
from analyzer.sources.evidence import head, open_evidence
from analyzer.sources.folder import logs_for, machine_in
from analyzer.sources.hive import DEFAULT_BACKEND, HiveFile
from analyzer.sources.regfile import Op, OpKind, RegFile, RegReader
from analyzer.sources.users import User

if TYPE_CHECKING:
    from analyzer.sources.differencing import Stack
    from analyzer.sources.golden import Extracted
    from analyzer.sources.logs import LogUse
    from analyzer.sources.pol import PolFile
    from analyzer.sources.volumes import ImageSpec, Opened

HIVE_PREFIX = {"system": ("HKEY_LOCAL_MACHINE", "SYSTEM"), "software": ("HKEY_LOCAL_MACHINE", "SOFTWARE")}


@dataclass(frozen=True)
class InputInfo:
    """One input as the report lists it."""

    path: str
    kind: str
    sha256: str
    details: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The report's ``inputs`` entry."""
        return {"path": self.path, "kind": self.kind, "sha256": self.sha256, **self.details}


@dataclass
class Loaded:
    """The machine built from the inputs, with what each input was and what reading it found."""

    machine: Machine
    inputs: list[InputInfo]
    hives: dict[str, HiveFile]
    regs: list[RegFile]
    diagnostics: list[Diagnostic]
    images: list[Opened | Extracted] = field(default_factory=list)  # keeps the copies out of disk images alive
    users: list[User] = field(default_factory=list)  # the NTUSER.DAT hives mounted under HKEY_USERS
    pols: list[PolFile] = field(default_factory=list)  # the Registry.pol change sets, in order

    def all_diagnostics(self) -> list[Diagnostic]:
        """:attr:`diagnostics` and the damage the hives met since loading (lists are read as keys are looked up)."""
        seen = set(self.diagnostics)
        return self.diagnostics + [d for h in self.hives.values() for d in h.diagnostics if d not in seen]

    @property
    def lost(self) -> int:
        """How many hive entries (keys, values, lists) were lost to damage so far."""
        return sum(h.lost for h in self.hives.values())


def sha256_file(path: FsPath) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open_evidence(path) as fh:
        while chunk := fh.read(1 << 18):
            digest.update(chunk)
    return digest.hexdigest()


def kept(ops: Iterable[Op], scope: Scope) -> Iterator[Op]:
    """The operations on keys in ``scope``; of the others, only the creation of their nearest ancestor in it
    (setting a value creates its key and the keys above it, and those may matter)."""
    last: Path | None = None
    judged: Path | None = None  # the key path judged last, and whether it is in scope: values of a key share it
    inside = False
    for op in ops:
        if op.path is not judged:
            judged, inside = op.path, scope(op.path)
        if inside:
            last = None
            yield op
            continue
        if op.kind is OpKind.DELETE_KEY:
            continue
        above = scope.nearest(op.path)
        if above and above != last:
            last = above
            yield Op(OpKind.CREATE_KEY, above, op.line, column=op.column)


def _check_exists(path: FsPath) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot open: {exc.strerror or exc}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):  # a pipe or a terminal would block the read
        raise SourceError(f"{path}: not a regular file (a pipe, socket or character device); give hive files, "
                          ".reg files or a folder")


@dataclass(frozen=True)
class Item:
    """One file to read: where it is, and how reports name it (a copy out of a disk image has two names)."""

    path: FsPath
    display: str
    image: Opened | Extracted | None = None


@dataclass
class Expanded:
    """The files the command-line inputs stand for, with notes and the disk images they came from."""

    items: list[Item] = field(default_factory=list)
    notes: list[Diagnostic] = field(default_factory=list)
    images: list[Opened | Extracted] = field(default_factory=list)


def expand(paths: list[FsPath], logs: bool = True) -> Expanded:
    """Replace each folder by the hives of the machine in it (a config folder, or a Windows root above one),
    and each disk image by the hives of its Windows volume, copied out into a temporary folder."""
    out = Expanded()
    budget = None
    for path in paths:
        from analyzer.sources import golden  # WIM/ESD and container images
        from analyzer.sources.bounded import CopyBudget, default_budget

        if (found := golden.parse(str(path))) is not None:
            budget = budget or CopyBudget(default_budget())
            extracted = golden.open_spec(found, budget)
            out.images.append(extracted)
            out.items += [Item(h, extracted.display(h), extracted) for h in extracted.hives]
            out.notes += extracted.diagnostics
            continue
        spec = None if path.is_dir() else _image_spec(path)
        if spec is not None:
            from analyzer.sources import volumes

            opened = volumes.open_spec(spec, logs)
            out.images.append(opened)
            out.items += [Item(h, opened.display(h), opened) for h in opened.hives]
            out.notes += [Diagnostic(str(spec), None, "note", "image", note) for note in opened.notes]
            continue
        if not path.is_dir():
            out.items.append(Item(path, str(path)))
            continue
        machine = machine_in(path)
        if machine is None and (gpos := users.sysvol_files(path)):
            out.items += [Item(p, str(p)) for p in gpos]
            continue
        if machine is None:
            raise SourceError(f"{path}: a folder without SYSTEM or SOFTWARE hives (looked in it and in "
                              "Windows/System32/config below it)", str(path))
        out.items += [Item(h, str(h)) for h in machine.hives]
        out.items += [Item(h, str(h)) for h in users.machine_extras(path)]
        out.notes += [Diagnostic(str(path), None, "note", "regback", note) for note in machine.notes]
    return out


_NOT_IMAGES = (b"regf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"Windows Registry", b"REGEDIT", b"CREG", b"PReg")


def _image_spec(path: FsPath) -> ImageSpec | None:
    """The disk image (and volume) ``path`` names, if it names one; hives and .reg files are told apart by their
    first bytes without loading the image code."""
    if path.is_file():
        first = head(path, 16)
        if first is None or first.startswith(_NOT_IMAGES):  # an unreadable file is reported when it is read
            return None
    elif path.exists():
        return None  # a pipe or a device: reported as such when it is read (opening a pipe would block)
    from analyzer.sources import volumes

    return volumes.parse(str(path))


def _is_hive(path: FsPath) -> bool:
    try:
        with open_evidence(path) as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise SourceError(f"{path}: cannot open: {exc.strerror or exc}") from None
    if magic == b"CREG":
        raise SourceError(f"{path}: a Windows 9x/Me registry file (CREG); regtls reads NT hives (regf)")
    return magic == b"regf"


def _log_info(log: LogUse, display: str) -> dict[str, object]:
    return {**log.to_json(), "path": display, "sha256": sha256_file(log.path)}


def _hive_info(item: Item, hive: HiveFile, backend: str, digest: str) -> InputInfo:
    """The report's entry for a hive: its digest, dirtiness, control set, and each log with its digest."""
    shown = item.image.display if item.image else str
    details: dict[str, object] = {"backend": backend, "dirty": hive.file_header.dirty,
                                  "logs_applied": any(log.applied for log in hive.logs),
                                  "logs": [_log_info(log, shown(log.path)) for log in hive.logs]}
    if hive.kind == "system":
        details.update(control_set=hive.control_set, control_set_source=hive.control_set_source)
    if item.image:
        from analyzer.sources.volumes import Opened, spec_of

        details.update(extracted_from=str(spec_of(item.image.volume)) if isinstance(item.image, Opened)
                       else item.image.origin)
    return InputInfo(item.display, f"{hive.kind}-hive", digest, details)


# where a hive of another kind (read with ``any_kind``, for dump) is mounted: where Windows loads it, by file name
OTHER_PREFIX = {"SAM": ("HKEY_LOCAL_MACHINE", "SAM"), "SECURITY": ("HKEY_LOCAL_MACHINE", "SECURITY"),
                "NTUSER.DAT": ("HKEY_CURRENT_USER",), "BCD": ("HKEY_LOCAL_MACHINE", "BCD00000000")}


def _stacks(hive: HiveFile) -> bool:
    from analyzer.sources.differencing import is_delta

    return is_delta(hive)


def load(paths: list[FsPath], backend: str = DEFAULT_BACKEND, wanted: Scope | None = in_scope,
         logs: bool = True, check_all: bool = True, any_kind: bool = False) -> Loaded:
    """Read every input; hives form the base, ``.reg`` change sets apply on top in command-line order.

    Of the change sets, only operations on keys ``wanted`` accepts are kept (by default the areas the rules
    read; None keeps all): the reader skips the rest unparsed where it can, and with ``check_all`` false it
    does not even check those lines.  A dirty hive is read with the transaction logs beside it replayed in
    memory, unless ``logs`` is false.  With ``any_kind`` (dump), a hive of another kind than SYSTEM or
    SOFTWARE is read too, mounted where :data:`OTHER_PREFIX` says, or below its file name.  A differencing
    hive (regf 1.6, ``Hives/*_Delta`` of a container image) given after the hive of its kind is stacked on it,
    in the order given (see :mod:`analyzer.sources.differencing`); a second ordinary hive of a kind is refused.
    """
    expanded = expand(paths, logs)
    hives: dict[str, HiveFile] = {}
    others: list[Mount] = []
    stacks: dict[str, Stack] = {}
    reg_items: list[Item] = []
    ntusers: list[tuple[str, FsPath, str]] = []
    infos: list[InputInfo] = [image_info(opened) for opened in expanded.images]
    for item in expanded.items:
        _check_exists(item.path)
        if not _is_hive(item.path):
            reg_items.append(item)
            continue
        digest = sha256_file(item.path)  # before reading: the report shows it again after
        hive = HiveFile(item.path, backend, item.display, logs=logs_for(item.path) if logs else None,
                        log_names=item.image.display if item.image else str, any_kind=any_kind)
        if hive.kind == "ntuser":
            hives[f"ntuser:{item.display}"] = hive
            ntusers.append((item.display, item.path, hive.header.file_name))
            infos.append(_hive_info(item, hive, backend, digest))
            continue
        if hive.kind == "other":
            others.append(Mount(OTHER_PREFIX.get(item.path.name.upper(), (item.path.name,)), hive))
            hives[f"other:{item.display}"] = hive
            infos.append(_hive_info(item, hive, backend, digest))
            continue
        if hive.kind in hives and _stacks(hive):  # a differencing hive after its base: stacked on it in order
            from analyzer.sources.differencing import Stack

            stacks[hive.kind] = Stack(stacks.get(hive.kind, hives[hive.kind]), hive)
            hives[f"{hive.kind}-delta:{item.display}"] = hive
            infos.append(_hive_info(item, hive, backend, digest))
            continue
        if hive.kind in hives:
            raise SourceError(f"{item.display}: a second {hive.kind.upper()} hive ({hives[hive.kind].display} is "
                              "the first); give one SYSTEM and one SOFTWARE hive per machine")
        hives[hive.kind] = hive
        infos.append(_hive_info(item, hive, backend, digest))
    system = hives.get("system")
    machine = Machine([Mount(HIVE_PREFIX[k], stacks.get(k, h)) for k, h in sorted(hives.items()) if k in HIVE_PREFIX]
                      + others,
                      system.control_set if system else None)
    people = users.mount(machine, ntusers, {k: h for k, h in hives.items() if k.startswith("ntuser:")})
    regs: list[RegFile] = []
    pols: list[PolFile] = []
    for item in reg_items:
        path = item.path
        if _is_pol(path):
            from analyzer.sources.pol import apply_pol

            pols.append(apply_pol(machine, path, item.display, people))
            infos.append(InputInfo(item.display, "pol", sha256_file(path), {"root": "\\".join(pols[-1].root)}))
            continue
        reader = RegReader(path, item.display, wanted, check_all)
        ops = list(reader if wanted is None else kept(reader, wanted))
        not_reg = next((d for d in reader.diagnostics if d.code == "bad-header"), None)
        if not_reg is not None and not path.name.lower().endswith(".reg"):  # a .reg with a bad header is REG001
            raise SourceError(f"{item.display}: not a .reg file ({not_reg.message})", item.display)
        machine.apply(ops, reader.display)
        regs.append(RegFile(reader.display, reader.encoding, reader.version, ops, reader.diagnostics))
        infos.append(InputInfo(item.display, "reg", reader.sha256 or sha256_file(path),
                               {"encoding": reader.encoding, "format": reader.version}))
    diagnostics = (expanded.notes + [d for h in hives.values() for d in h.diagnostics]
                   + [d for r in regs for d in r.diagnostics] + [d for p in pols for d in p.diagnostics])
    return Loaded(machine, infos, hives, regs, diagnostics, expanded.images, people, pols)


def _is_pol(path: FsPath) -> bool:
    """Whether a file starts with the Registry.pol signature ``PReg``."""
    return head(path, 4) == b"PReg"  # an unreadable file is reported when it is read as a .reg file


def image_info(opened: Opened | Extracted) -> InputInfo:
    """The report's entry for a disk image: its digest, and the volume read (a golden image says what it is)."""
    from analyzer.sources.golden import Extracted

    if isinstance(opened, Extracted):
        path, kind, hashed, details = opened.info()
        return InputInfo(path, kind, sha256_file(hashed), details)
    volume = opened.volume
    return InputInfo(str(opened.spec.image), "disk-image", sha256_file(opened.spec.image),
                     {"volume": volume.label, "snapshot": volume.snapshot.label if volume.snapshot else None,
                      "config": volume.config})
