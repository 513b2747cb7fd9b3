"""Find every machine below the folders ``regtls scan`` is given, and name everything it skips.

What is a machine is a small table of recognisers, tried in order on each folder and each file of the
walk (a new container format adds one entry).  A machine is a folder with a recognised layout (a
Windows root, a config folder, a folder of hive files) or a file with one (a disk image, a triage
collection); a recognised folder does not hide the folders below it, except those it is made of.
Unreadable folders, FIFOs, devices, dangling symlinks and symlink loops are skipped with a note; each
real folder is searched once, however many symlinks lead to it; there is no depth limit.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.sources import SourceError
from analyzer.sources.evidence import head
from analyzer.sources.folder import CONFIG_PATH, HIVE_NAMES, MachineSource, _image_machines, _regback_notes


@dataclass
class Discovery:
    """The machines found, and one line for each thing skipped."""

    machines: list[MachineSource] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ignored_files: int = 0  # regular files that are no machine and no part of one (not named: there may be many)


@dataclass(frozen=True)
class Found:
    """What a recogniser made of a folder or file: machines, notes, and the entries that belong to them."""

    machines: list[MachineSource]
    notes: list[str] = field(default_factory=list)
    claimed: frozenset[str] = frozenset()  # upper-cased entry names of a folder not to search further
    whole: bool = False  # the whole folder is the machine (a Windows root): nothing below it is searched


FolderRecogniser = Callable[[Path, dict[str, os.DirEntry[str]], bool], Found | None]
FileRecogniser = Callable[[Path, bool], Found | None]


def _regular(entry: os.DirEntry[str] | None) -> bool:
    try:
        return entry is not None and entry.is_file()
    except OSError:
        return False


def _is_hive(path: Path) -> bool:
    return head(path, 4) == b"regf"


def _hive_folder(folder: Path, entries: dict[str, os.DirEntry[str]], vss: bool) -> Found | None:
    """A config folder, or any folder whose SYSTEM / SOFTWARE files are hives: one machine."""
    named = {n: Path(entries[n].path) for n in HIVE_NAMES if _regular(entries.get(n))}
    if not named:
        return None
    is_config = folder.name.upper() == "CONFIG"
    hives = {n: p for n, p in named.items() if is_config or _is_hive(p)}
    notes = [f"{p}: named {n} but not a hive (no regf signature); not a machine" for n, p in named.items()
             if n not in hives]
    if not hives:
        return Found([], notes)
    try:
        regback = _regback_notes(folder, {n: Path(e.path) for n, e in entries.items()})
    except SourceError as exc:
        regback, notes = [], [*notes, f"{exc}; RegBack not looked at"]
    source = MachineSource(str(folder), tuple(hives[n] for n in HIVE_NAMES if n in hives), tuple(regback))
    return Found([source], notes, frozenset({"REGBACK"}))


def _windows_root(folder: Path, entries: dict[str, os.DirEntry[str]], vss: bool) -> Found | None:
    """A volume root (``Windows/System32/config`` below it, with hives): the machine is that config folder."""
    config = folder
    for part in CONFIG_PATH:
        try:
            below = {p.name.upper(): p for p in config.iterdir()} if config != folder else \
                {n: Path(e.path) for n, e in entries.items()}
        except OSError:
            return None
        step = below.get(part.upper())
        if step is None or not step.is_dir():
            return None
        config = step
    try:
        config_entries = {e.name.upper(): e for e in os.scandir(config)}
    except OSError as exc:
        return Found([], [f"{config}: cannot list the folder: {exc.strerror or exc}"], whole=True)
    found = _hive_folder(config, config_entries, vss)
    if found is None or not found.machines:
        return None
    return Found(found.machines, found.notes, whole=True)


def _disk_image(path: Path, vss: bool) -> Found | None:
    from analyzer.sources import image

    if not image.is_image(path):
        return None
    return Found(_image_machines(path, vss))


def _golden(path: Path, vss: bool) -> Found | None:
    """Each image of a WIM/ESD, or each image of a container image (a tar, or an OCI layout folder)."""
    from analyzer.sources import golden

    listed = golden.machines(path)
    if listed is None:
        return None
    return Found([MachineSource(name, (Path(name),), problem=why, kind="image") for name, why in listed], whole=True)


def _golden_folder(folder: Path, entries: dict[str, os.DirEntry[str]], vss: bool) -> Found | None:
    """An OCI image layout folder (``oci-layout`` and ``index.json``): its images, and nothing searched below."""
    return _golden(folder, vss) if "OCI-LAYOUT" in entries and "INDEX.JSON" in entries else None


def _collection(path: Path, vss: bool) -> Found | None:
    from analyzer.sources import collection

    return collection.recognise(path)


FOLDER_RECOGNISERS: list[FolderRecogniser] = [_golden_folder, _windows_root, _hive_folder]
"""Tried in order on each folder; the first that answers decides."""

FILE_RECOGNISERS: list[FileRecogniser] = [_golden, _collection, _disk_image]
"""Tried in order on each regular file of a searched folder (and each file given on the command line)."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class _Walk:
    """One depth-first walk over the given folders, each real folder searched once."""

    def __init__(self, vss: bool, out: Discovery) -> None:
        self.vss = vss
        self.out = out
        self.seen: dict[tuple[int, int], str] = {}
        self.files: dict[tuple[int, int], str] = {}

    def folder(self, root: Path) -> None:
        stack: list[tuple[Path, tuple[tuple[int, int], ...]]] = [(root, ())]
        while stack:
            folder, ancestors = stack.pop()
            try:
                info = folder.stat()
                key = (info.st_dev, info.st_ino)
            except OSError as exc:
                self.out.skipped.append(f"{folder}: cannot open the folder: {exc.strerror or exc}")
                continue
            if key in ancestors:
                self.out.skipped.append(f"{folder}: a symlink loop (leads back to {self.seen[key]}); not followed")
                continue
            if key in self.seen:
                self.out.skipped.append(f"{folder}: the same folder as {self.seen[key]} (a symlink); searched once")
                continue
            self.seen[key] = str(folder)
            below = self._visit(folder)
            stack += [(sub, (*ancestors, key)) for sub in reversed(below)]

    def _visit(self, folder: Path) -> list[Path]:
        """Recognise ``folder`` and its files; return the subfolders still to search."""
        try:
            with os.scandir(folder) as it:
                entries = {e.name.upper(): e for e in it}
        except OSError as exc:
            self.out.skipped.append(f"{folder}: cannot list the folder: {exc.strerror or exc}")
            return []
        claimed: frozenset[str] = frozenset()
        for recognise in FOLDER_RECOGNISERS:
            found = recognise(folder, entries, self.vss)
            if found is None:
                continue
            self.out.machines += found.machines
            self.out.skipped += found.notes
            if found.whole:
                return []
            if found.machines:
                claimed = found.claimed | {n.upper() for m in found.machines for n in _parts(m)}
                break
        subfolders = []
        for name, entry in sorted(entries.items(), key=lambda item: item[1].name):
            if name in claimed:
                continue
            path = Path(entry.path)
            try:
                mode = entry.stat().st_mode  # follows symlinks
            except OSError as exc:
                what = "a dangling symlink" if entry.is_symlink() else "cannot read it"
                self.out.skipped.append(f"{path}: {what} ({exc.strerror or exc}); skipped")
                continue
            if stat.S_ISDIR(mode):
                subfolders.append(path)
            elif stat.S_ISREG(mode):
                self.file(path, given=False)
            else:
                self.out.skipped.append(f"{path}: {_kind(mode)}; skipped")
        return subfolders

    def file(self, path: Path, given: bool) -> bool:
        """Try the file recognisers on a regular file; False when none knows it."""
        try:
            info = path.stat()
        except OSError as exc:
            self.out.skipped.append(f"{path}: cannot read it ({exc.strerror or exc}); skipped")
            return True
        key = (info.st_dev, info.st_ino)
        if key in self.files and not given:
            self.out.skipped.append(f"{path}: the same file as {self.files[key]} (a link); read once")
            return True
        self.files[key] = str(path)
        for recognise in FILE_RECOGNISERS:
            try:
                found = recognise(path, self.vss)
            except OSError as exc:
                self.out.skipped.append(f"{path}: cannot read it ({exc.strerror or exc}); skipped")
                return True
            if found is not None:
                self.out.machines += found.machines
                self.out.skipped += found.notes
                return True
        if not given:
            self.out.ignored_files += 1
        return False


def _parts(machine: MachineSource) -> list[str]:
    """The names of a folder machine's own files and their logs (not searched again as files)."""
    names = []
    for hive in machine.hives:
        names += [hive.name] + [hive.name + suffix for suffix in (".LOG", ".LOG1", ".LOG2")]
    return names


def discover(paths: Iterable[Path], vss: bool = False) -> Discovery:
    """Machines for ``regtls scan``, sorted by id and each once, and what was skipped on the way.

    A folder is searched to any depth; a file given directly is a disk image or collection when its
    content says so, and otherwise a hive file (hives given in one folder are one machine).
    """
    out = Discovery()
    walk = _Walk(vss, out)
    loose: dict[Path, list[Path]] = {}
    for path in paths:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise SourceError(f"{path}: no such file or folder", str(path)) from None
        except OSError as exc:
            out.skipped.append(f"{path}: cannot open it ({exc.strerror or exc}); skipped")
            continue
        if stat.S_ISDIR(mode):
            walk.folder(path)
        elif not stat.S_ISREG(mode):
            out.skipped.append(f"{path}: {_kind(mode)}; skipped")
        elif not walk.file(path, given=True):
            loose.setdefault(path.parent, []).append(path)
    out.machines += [MachineSource(str(folder), tuple(files), kind="files") for folder, files in loose.items()]
    unique: dict[str, MachineSource] = {}
    for machine in out.machines:
        unique.setdefault(machine.id, machine)
    out.machines = sorted(unique.values(), key=lambda m: (m.name, m.id))
    return out
