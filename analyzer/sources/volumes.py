"""Disk images as inputs: ``IMAGE``, ``IMAGE@VOLUME`` or ``IMAGE@VOLUME@vssN``, hives copied into a temporary folder."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.sources import image
from analyzer.sources.image import ImageError, WindowsVolume

SEPARATOR = "@"


@dataclass(frozen=True)
class ImageSpec:
    """An image file and, optionally, the volume (``p2``, ``vhdx:p1``...) and shadow copy (``vss1``) to read."""

    image: Path
    volume: str | None = None
    snapshot: str | None = None

    def __str__(self) -> str:
        return SEPARATOR.join([str(self.image)] + [p for p in (self.volume, self.snapshot) if p])


def parse(text: str) -> ImageSpec | None:
    """The image spec ``text`` names, or None when it names no disk image (a hive, a ``.reg`` file, a folder)."""
    path = Path(text)
    if path.is_file():
        return ImageSpec(path) if image.is_image(path) else None
    parts = text.split(SEPARATOR)
    for cut in (1, 2):  # IMAGE@VOLUME, IMAGE@VOLUME@vssN
        if len(parts) > cut and Path(SEPARATOR.join(parts[:-cut])).is_file():
            base = Path(SEPARATOR.join(parts[:-cut]))
            if not image.is_image(base):
                return None
            volume, snapshot = parts[-cut], parts[-1] if cut == 2 else None
            return ImageSpec(base, volume or None, snapshot or None)
    return None


def spec_of(volume: WindowsVolume) -> ImageSpec:
    """The spec that names exactly this volume (or shadow copy)."""
    return ImageSpec(Path(volume.image), volume.label, volume.snapshot.label if volume.snapshot else None)


def choose(spec: ImageSpec, volumes: list[WindowsVolume]) -> WindowsVolume:
    """The Windows volume ``spec`` names among ``volumes``; without a volume, the only one (several are an error)."""
    current = [v for v in volumes if v.snapshot is None]
    if spec.volume is None:
        if len(current) > 1:
            names = ", ".join(str(spec_of(v)) for v in current)
            raise ImageError(f"{spec.image}: {len(current)} Windows volumes ({names}): give one of them, or "
                             "use regtls scan to check each", str(spec.image))
        return current[0]
    for volume in volumes:
        if volume.label == spec.volume and (volume.snapshot.label if volume.snapshot else None) == spec.snapshot:
            return volume
    names = ", ".join(str(spec_of(v)) for v in volumes)
    raise ImageError(f"{spec.image}: no Windows volume {spec.volume}"
                     + (f" {spec.snapshot}" if spec.snapshot else "") + f" in the image (it has: {names})",
                     str(spec.image))


@dataclass
class Opened:
    """A volume's SYSTEM, SOFTWARE and logs copied into a temporary folder that lives as long as this object."""

    spec: ImageSpec
    volume: WindowsVolume
    files: dict[str, Path]
    _folder: tempfile.TemporaryDirectory[str] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def display(self, copy: Path) -> str:
        """How a copied file is named in reports: ``IMAGE@VOLUME:\\Windows\\System32\\config\\SYSTEM``."""
        return f"{spec_of(self.volume)}:{self.volume.config}\\{copy.name}"

    @property
    def hives(self) -> list[Path]:
        """The copied SYSTEM and SOFTWARE hives."""
        return [self.files[name] for name in ("SYSTEM", "SOFTWARE") if name in self.files]


def open_spec(spec: ImageSpec, logs: bool = True) -> Opened:
    """Find the volume and copy its hives (and the logs they need, unless not ``logs``) out of the image,
    read-only, into a new temporary folder, within the temporary-copy budget."""
    found, problems = image.survey(spec.image, vss=True)
    volume = choose(spec, found)
    folder = tempfile.TemporaryDirectory(prefix="regtls-image-")
    skipped: list[str] = []
    try:
        files = image.extract(volume, Path(folder.name), logs, skipped=skipped)
    except BaseException:
        folder.cleanup()
        raise
    return Opened(spec, volume, files, folder, _notes(volume, found, problems) + skipped)


def _notes(chosen: WindowsVolume, found: list[WindowsVolume], problems: list[str]) -> list[str]:
    """What else the image holds: the chosen volume's shadow copies, other Windows volumes, unreadable volumes."""
    notes = []
    if chosen.snapshot is None:
        copies = [v for v in found if v.label == chosen.label and v.snapshot is not None]
        if copies:
            listed = ", ".join(f"{v.snapshot.label} ({v.snapshot.created or 'time unknown'})"
                               for v in copies if v.snapshot)
            notes.append(f"volume {chosen.label} has {len(copies)} shadow copies holding Windows: {listed}; check "
                         f"one with {spec_of(copies[0])}, or all with regtls scan --vss")
    others = sorted({v.label for v in found if v.label != chosen.label})
    if others:
        notes.append(f"the image holds other Windows volumes, not read here: {', '.join(others)}")
    return notes + problems
