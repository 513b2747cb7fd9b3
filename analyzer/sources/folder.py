"""Find machines on disk: a ``config`` folder (or a Windows root above it), hive files, and their logs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from analyzer.sources import SourceError

HIVE_NAMES = ("SYSTEM", "SOFTWARE")
LOG_SUFFIXES = (".LOG", ".LOG1", ".LOG2")
CONFIG_PATH = ("Windows", "System32", "config")


@dataclass(frozen=True)
class MachineSource:
    """One machine's hive files as found on disk, and what was noticed while finding them."""

    name: str
    hives: tuple[Path, ...]
    notes: tuple[str, ...] = ()
    problem: str | None = None  # why the machine cannot be read (an encrypted volume of an image)
    kind: str = "folder"  # folder, files, image, collection: with the name, the machine's stable id

    @property
    def id(self) -> str:
        """Stable and unique: ``folder:PATH``, ``files:PATH``, ``image:SPEC``, ``collection:ZIP@VOLUME``."""
        return f"{self.kind}:{self.name}"

    @contextlib.contextmanager
    def opened(self) -> Iterator[tuple[list[Path], Callable[[str], str]]]:
        """The files to judge, and how to show a name in them (a temporary copy under its evidence name)."""
        if self.kind == "collection":
            from analyzer.sources import collection

            with collection.opened(self) as found:
                yield found
        else:
            yield self.files(), lambda text: text

    def files(self) -> list[Path]:
        """The files given to the judge: the hives, and for a folder its users' hives and local policy files."""
        if self.kind != "folder":
            return list(self.hives)
        from analyzer.sources.users import machine_extras

        return [*self.hives, *machine_extras(self.name)]


def listing(folder: Path, quiet: bool = False) -> dict[str, Path]:
    """Entries of a folder by upper-cased name (Windows names are case-insensitive); an unreadable folder is a
    SourceError, or (``quiet``) has no entries."""
    try:
        return {p.name.upper(): p for p in folder.iterdir()}
    except OSError as exc:
        if quiet:
            return {}
        raise SourceError(f"{folder}: cannot list the folder: {exc.strerror or exc}", str(folder)) from None


def find(folder: Path, *parts: str, quiet: bool = False) -> Path | None:
    """``folder/parts...`` matched case-insensitively (each step below a folder), or None."""
    for part in parts:
        if not folder.is_dir():
            return None
        entry = listing(folder, quiet).get(part.upper())
        if entry is None:
            return None
        folder = entry
    return folder


def logs_for(hive: Path) -> list[Path]:
    """The transaction logs beside a hive (``SYSTEM.LOG``, ``.LOG1``, ``.LOG2``), matched case-insensitively."""
    wanted = {hive.name.upper() + suffix for suffix in LOG_SUFFIXES}
    return sorted(p for name, p in listing(hive.parent).items() if name in wanted and p.is_file())


def _regback_notes(folder: Path, entries: dict[str, Path]) -> list[str]:
    regback = entries.get("REGBACK")
    if regback is None or not regback.is_dir():
        return []
    notes = []
    for name, path in sorted(listing(regback).items()):
        if name in HIVE_NAMES and path.is_file():
            size = path.stat().st_size
            if size == 0:
                notes.append(f"{path}: an empty RegBack copy (Windows 10 1803 and later no longer fill them); not used")
            else:
                notes.append(f"{path}: a RegBack copy ({size} bytes), an older backup of the hive; not used "
                             "(give it as an input to check that state)")
    return notes


def config_folder(folder: Path) -> MachineSource | None:
    """The machine in a ``config`` folder (SYSTEM and/or SOFTWARE present), or None."""
    entries = listing(folder)
    hives = tuple(entries[n] for n in HIVE_NAMES if n in entries and entries[n].is_file())
    if not hives:
        return None
    return MachineSource(str(folder), hives, tuple(_regback_notes(folder, entries)))


def machine_in(folder: Path) -> MachineSource | None:
    """A config folder itself, or the one below a Windows root (``Windows/System32/config``)."""
    found = config_folder(folder)
    if found is not None:
        return found
    config = find(folder, *CONFIG_PATH)
    return config_folder(config) if config is not None and config.is_dir() else None


def discover(paths: Iterable[Path], vss: bool = False) -> list[MachineSource]:
    """Machines for ``regtls scan`` (see :func:`analyzer.sources.discovery.discover`, which also says what it
    skipped)."""
    from analyzer.sources import discovery

    return discovery.discover(paths, vss).machines


def _is_image(path: Path) -> bool:
    from analyzer.sources import volumes

    return volumes.parse(str(path)) is not None


def _image_machines(path: Path, vss: bool) -> list[MachineSource]:
    """One machine per Windows volume (and shadow copy); an unreadable image or volume is a machine with a problem."""
    from analyzer.sources import image, volumes

    try:
        found, problems = image.survey(path, vss)
    except SourceError as exc:
        return [MachineSource(str(path), (path,), problem=str(exc), kind="image")]
    machines = [MachineSource(str(spec), (Path(str(spec)),), kind="image") for spec in map(volumes.spec_of, found)]
    return machines + [MachineSource(f"{path}{volumes.SEPARATOR}{problem.split(' ', 1)[0]}", (path,),
                                     problem=f"{path}: {problem}", kind="image") for problem in problems]
