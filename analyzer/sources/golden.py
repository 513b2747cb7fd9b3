"""Golden images as inputs: tell a WIM/ESD or a container image by its content, and open one image of it.

Both are containers: they copy hive files into a temporary folder and hand them over; they know nothing of TLS.
``install.wim@2`` (or ``install.wim@NAME``) names one image of a WIM; ``golden.tar@repo:tag`` (or ``@N``) one
image of a ``docker save`` tar or an OCI image layout.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from analyzer.registry import printable
from analyzer.sources import Diagnostic, SourceError
from analyzer.sources.bounded import CopyBudget, default_budget
from analyzer.sources.evidence import head, open_evidence

SEPARATOR = "@"
WIM_MAGIC = b"MSWIM\0\0\0"
LAYOUT_FILES = ("manifest.json", "index.json", "oci-layout")
Image = TypeVar("Image")


class GoldenError(SourceError):
    """A WIM or container image cannot be read, or does not hold what was asked; one line naming the file."""


@dataclass(frozen=True)
class GoldenSpec:
    """A WIM file, ``docker save`` tar or OCI layout (``kind`` ``wim`` or ``container``), and the image asked for."""

    path: Path
    kind: str
    selector: str | None = None

    def __str__(self) -> str:
        return str(self.path) + (SEPARATOR + self.selector if self.selector is not None else "")


@dataclass
class Extracted:
    """One image's hive files copied into a temporary folder that lives as long as this object."""

    spec: GoldenSpec
    hashed: Path  # the file whose SHA-256 the report shows (the image file; an OCI folder's index.json)
    kind: str  # the report's input kind: wim-image, container-image
    details: dict[str, object]
    hives: list[Path]  # what the loader reads, in order (a base before the layers stacked on it)
    names: dict[Path, str]  # how reports name each copy (hives and logs)
    folder: tempfile.TemporaryDirectory[str] = field(repr=False)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def origin(self) -> str:
        """The image as reports name it: ``install.wim@2``."""
        return str(self.spec)

    def display(self, copy: Path) -> str:
        """How a copied file is named in reports: ``install.wim@2:\\Windows\\System32\\config\\SYSTEM``."""
        return self.names.get(copy, f"{self.origin}:{copy.name}")

    def info(self) -> tuple[str, str, Path, dict[str, object]]:
        """The report's input entry: path, kind, the file to hash, details."""
        return str(self.hashed), self.kind, self.hashed, self.details


def choose(path: Path, found: Sequence[Image], selector: str | None, label: Callable[[Image], str],
           matches: Callable[[Image, str], bool], forms: tuple[str, str], where: str) -> Image:
    """The image ``selector`` names (``matches`` decides); without one, the only image.  The one-line errors
    list the images by ``label`` and say how to name one (``FILE@INDEX`` or ``FILE@NAME`` for ``forms``)."""
    listed = ", ".join(map(label, found))
    if selector is None:
        if len(found) > 1:
            raise GoldenError(f"{path}: {len(found)} images ({listed}): give one as {path}{SEPARATOR}{forms[0]} or "
                              f"{path}{SEPARATOR}{forms[1]}, or use regtls scan to check each", str(path))
        return found[0]
    for image in found:
        if matches(image, selector):
            return image
    raise GoldenError(f"{path}: no image {printable(selector)!r} in {where} (it has: {listed})", str(path))


def kind_of(path: Path) -> str | None:
    """``wim`` or ``container`` from the content of ``path`` (a file or an OCI layout folder), else None."""
    if path.is_dir():
        return "container" if (path / "index.json").is_file() and (path / "oci-layout").is_file() else None
    if not path.is_file():  # never open a FIFO or a device here
        return None
    first = head(path, 512)
    if first is None:
        return None
    if first.startswith(WIM_MAGIC):
        return "wim"
    if len(first) == 512 and first[257:262] == b"ustar" and _is_layout_tar(path):
        return "container"
    return None


def _is_layout_tar(path: Path) -> bool:
    """Whether a tar archive holds ``manifest.json``, ``index.json`` or ``oci-layout`` at its top."""
    import tarfile

    try:
        with open_evidence(path) as raw, tarfile.open(fileobj=raw, mode="r:") as archive:
            return any(m.name.removeprefix("./") in LAYOUT_FILES for m in archive)
    except (tarfile.TarError, OSError, EOFError):
        return False


def parse(text: str) -> GoldenSpec | None:
    """The golden image ``text`` names (``FILE``, ``FILE@N``, ``FILE@NAME``), or None when it names none."""
    path = Path(text)
    if path.exists():
        kind = kind_of(path)
        return GoldenSpec(path, kind) if kind else None
    at = text.find(SEPARATOR)
    while at > 0:  # the first '@' after which the text before names an existing image
        base = Path(text[:at])
        if base.exists():
            kind = kind_of(base)
            return GoldenSpec(base, kind, text[at + 1 :]) if kind else None
        at = text.find(SEPARATOR, at + 1)
    return None


def open_spec(spec: GoldenSpec, budget: CopyBudget | None = None) -> Extracted:
    """Copy the hives of the image ``spec`` names into a new temporary folder (read-only on the image)."""
    budget = budget or CopyBudget(default_budget())
    if spec.kind == "wim":
        from analyzer.sources import wim

        return wim.open_spec(spec, budget)
    from analyzer.sources.container import open_spec as open_container

    return open_container(spec, budget)


def machines(path: Path) -> list[tuple[str, str | None]] | None:
    """For ``regtls scan``: each image of the WIM or container image ``path`` as (spec, why it cannot be read),
    or None when ``path`` is neither."""
    kind = kind_of(path)
    if kind is None:
        return None
    try:
        if kind == "wim":
            from analyzer.sources import wim

            return [(f"{path}{SEPARATOR}{image.index}", None) for image in wim.images(path)]
        from analyzer.sources.container import images

        refs = images(path)
        return [(str(path) if len(refs) == 1 else f"{path}{SEPARATOR}{ref.number}", None) for ref in refs]
    except SourceError as exc:
        return [(str(path), str(exc))]
