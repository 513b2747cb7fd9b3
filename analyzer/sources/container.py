"""Windows container images: a ``docker save`` tar or an OCI image layout (a folder or a tar of one).

This module reads the layout: which images it holds (tags), and each image's layers in order with their media
type and digest.  :mod:`analyzer.sources.layers` applies the layers.  Sources: the OCI image-spec
(image-layout.md, image-index.md, manifest.md, layer.md) and docker's ``docker save`` format (manifest.json).
"""

from __future__ import annotations

import json
import posixpath
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from analyzer.registry import printable
from analyzer.sources import golden
from analyzer.sources.bounded import CopyBudget
from analyzer.sources.evidence import open_evidence
from analyzer.sources.golden import Extracted, GoldenError, GoldenSpec

MAX_JSON = 4 << 20
"""The most bytes read of one JSON document of a layout (index, manifest, config); real ones are a few KiB."""
MAX_LINKS = 8
MAX_NESTING = 4
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
LAYER_TYPES = {
    "application/vnd.oci.image.layer.v1.tar": "tar",
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar": "tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
    "application/vnd.docker.image.rootfs.diff.tar": "tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
}
REF_NAMES = ("org.opencontainers.image.ref.name", "io.containerd.image.name")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class LayerRef:
    """One layer of an image: its number (1 is the base), where it is in the layout, media type and digest."""

    number: int
    name: str
    media_type: str | None
    digest: str | None


@dataclass(frozen=True)
class ImageRef:
    """One image of a layout: its number in the layout, tags, manifest digest and layers in order."""

    number: int
    tags: tuple[str, ...]
    manifest: str | None
    layers: tuple[LayerRef, ...]

    def label(self) -> str:
        """``1 (mcr.example/golden:1.0)`` for messages."""
        return f"{self.number}" + (f" ({', '.join(map(printable, self.tags))})" if self.tags else " (untagged)")



def safe_name(name: str) -> str | None:
    """A member name as a relative POSIX path, or None when it is absolute or climbs out (``..``)."""
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return None
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return None if ".." in parts else "/".join(parts)


class Layout:
    """The files of a layout, by name: a folder, or the members of an (uncompressed) tar."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar: tarfile.TarFile | None = None
        self._raw: BinaryIO | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        if path.is_dir():
            return
        try:
            self._raw = open_evidence(path)  # held open for the layers; see close
            self._tar = tarfile.open(fileobj=self._raw, mode="r:")  # noqa: SIM115
            for member in self._tar:
                name = safe_name(member.name)
                if name is None:
                    raise GoldenError(f"{path}: member {printable(member.name)!r} has an absolute or climbing "
                                      "path; refused", str(path))
                known = self._members.get(name)
                if known is not None and (known.type, known.size, known.linkname) != (
                        member.type, member.size, member.linkname):
                    raise GoldenError(f"{path}: member {printable(name)!r} appears twice with different content; "
                                      "refused", str(path))
                self._members[name] = member
            self._tar.members = []  # type: ignore[attr-defined]  # the index above is enough
        except (tarfile.TarError, OSError, EOFError) as exc:
            self.close()
            raise GoldenError(f"{path}: not a readable tar archive ({exc})", str(path)) from None

    def close(self) -> None:
        """Close the tar (a folder holds nothing open)."""
        if self._tar is not None:
            self._tar.close()
        if self._raw is not None:
            self._raw.close()

    def exists(self, name: str) -> bool:
        """Whether the layout has a file ``name``."""
        try:
            with self.open(name):
                return True
        except GoldenError:
            return False

    def _member(self, name: str) -> tarfile.TarInfo:
        """The regular-file member ``name`` stands for, following links inside the archive only."""
        for _ in range(MAX_LINKS):
            member = self._members.get(name)
            if member is None:
                raise GoldenError(f"{self.path}: no {printable(name)} in the archive", str(self.path))
            if member.isreg():
                return member
            if not (member.issym() or member.islnk()):
                raise GoldenError(f"{self.path}: {printable(name)} is not a file", str(self.path))
            target = member.linkname if member.islnk() else posixpath.join(posixpath.dirname(name), member.linkname)
            if member.issym() and member.linkname.startswith("/"):
                target = "/.."  # an absolute symlink points outside the archive
            safe = safe_name(posixpath.normpath(target)) if not target.startswith("/") else None
            if safe is None:
                raise GoldenError(f"{self.path}: {printable(name)} links outside the archive "
                                  f"({printable(member.linkname)}); refused", str(self.path))
            name = safe
        raise GoldenError(f"{self.path}: {printable(name)}: too many links", str(self.path))

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """The file ``name`` of the layout, opened for reading (never outside the layout)."""
        if self._tar is None:
            root = self.path.resolve()
            target = (self.path / name).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                raise GoldenError(f"{self.path}: no {printable(name)} in the layout folder", str(self.path))
            with open_evidence(target) as fh:
                yield fh
            return
        stream = self._tar.extractfile(self._member(name))
        if stream is None:
            raise GoldenError(f"{self.path}: {printable(name)} is not a file", str(self.path))
        with stream:
            yield stream

    def json(self, name: str, what: str) -> Any:
        """A JSON document of the layout (at most ``MAX_JSON`` bytes)."""
        with self.open(name) as fh:
            data = fh.read(MAX_JSON + 1)
        if len(data) > MAX_JSON:
            raise GoldenError(f"{self.path}: {what} {printable(name)} is larger than {MAX_JSON} bytes; refused",
                              str(self.path))
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise GoldenError(f"{self.path}: {what} {printable(name)} is not valid JSON ({exc})",
                              str(self.path)) from None


def blob_name(path: Path, digest: object) -> str:
    """``blobs/sha256/HEX`` for a digest (only sha256 digests are read)."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise GoldenError(f"{path}: unsupported or malformed digest {printable(str(digest))!r} (sha256 expected)",
                          str(path))
    return "blobs/sha256/" + digest.removeprefix("sha256:")


def _docker_images(layout: Layout) -> list[ImageRef]:
    """The images of docker's manifest.json: ``[{"Config", "RepoTags", "Layers"}...]``."""
    entries = layout.json("manifest.json", "manifest")
    if not isinstance(entries, list):
        raise GoldenError(f"{layout.path}: manifest.json is not a list of images", str(layout.path))
    found = []
    for number, entry in enumerate(entries, 1):
        layers = entry.get("Layers") if isinstance(entry, dict) else None
        if not isinstance(layers, list) or not all(isinstance(n, str) for n in layers):
            raise GoldenError(f"{layout.path}: manifest.json image {number} has no list of layers", str(layout.path))
        tags = entry.get("RepoTags") or []
        refs = []
        for n, name in enumerate(layers, 1):
            safe = safe_name(name)
            if safe is None:
                raise GoldenError(f"{layout.path}: layer {n} has an absolute or climbing path "
                                  f"{printable(name)!r}; refused", str(layout.path))
            digest = "sha256:" + safe.rsplit("/", 1)[1] if re.fullmatch(r"blobs/sha256/[0-9a-f]{64}", safe) else None
            refs.append(LayerRef(n, safe, None, digest))
        found.append(ImageRef(number, tuple(str(t) for t in tags if isinstance(t, str)), None, tuple(refs)))
    return found


def _oci_images(layout: Layout) -> list[ImageRef]:
    """The images of an OCI index.json, image indexes (multi-platform) followed to their manifests."""
    found: list[ImageRef] = []

    def visit(index: Any, depth: int, tags: tuple[str, ...]) -> None:
        manifests = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(manifests, list):
            raise GoldenError(f"{layout.path}: an image index without a list of manifests", str(layout.path))
        for entry in manifests:
            if not isinstance(entry, dict):
                raise GoldenError(f"{layout.path}: an image index entry that is not an object", str(layout.path))
            notes = entry.get("annotations") or {}
            names = tags or tuple(str(notes[k]) for k in REF_NAMES if isinstance(notes, dict) and k in notes)
            name = blob_name(layout.path, entry.get("digest"))
            kind = entry.get("mediaType")
            document = layout.json(name, "manifest")
            kind = kind or (document.get("mediaType") if isinstance(document, dict) else None)
            if kind in INDEX_TYPES and depth < MAX_NESTING:
                visit(document, depth + 1, names)
            elif kind in MANIFEST_TYPES:
                found.append(_manifest(layout, len(found) + 1, names, str(entry["digest"]), document))
            else:
                raise GoldenError(f"{layout.path}: unknown media type {printable(str(kind))!r} of "
                                  f"{entry.get('digest')} (an OCI image manifest or index expected)", str(layout.path))

    visit(layout.json("index.json", "index"), 0, ())
    return found


def _manifest(layout: Layout, number: int, tags: tuple[str, ...], digest: str, document: Any) -> ImageRef:
    layers = document.get("layers") if isinstance(document, dict) else None
    if not isinstance(layers, list):
        raise GoldenError(f"{layout.path}: manifest {digest} has no list of layers", str(layout.path))
    refs = []
    for n, layer in enumerate(layers, 1):
        if not isinstance(layer, dict):
            raise GoldenError(f"{layout.path}: manifest {digest} layer {n} is not an object", str(layout.path))
        refs.append(LayerRef(n, blob_name(layout.path, layer.get("digest")), str(layer.get("mediaType")),
                             str(layer["digest"])))
    return ImageRef(number, tags, digest, tuple(refs))


def _images(layout: Layout) -> tuple[str, list[ImageRef]]:
    """The layout's format (``docker-save`` or ``oci-layout``) and its images (at least one)."""
    if layout.exists("manifest.json") or layout.exists("index.json"):
        fmt = "docker-save" if layout.exists("manifest.json") else "oci-layout"
        found = _docker_images(layout) if fmt == "docker-save" else _oci_images(layout)
        if not found:
            raise GoldenError(f"{layout.path}: a container image layout without images", str(layout.path))
        return fmt, found
    raise GoldenError(f"{layout.path}: neither a docker save image (manifest.json) nor an OCI image layout "
                      "(index.json)", str(layout.path))


def images(path: Path) -> list[ImageRef]:
    """The images of a ``docker save`` tar or OCI layout; a one-line GoldenError when it cannot be read."""
    layout = Layout(path)
    try:
        return _images(layout)[1]
    finally:
        layout.close()


def choose(path: Path, found: list[ImageRef], selector: str | None) -> ImageRef:
    """The image ``selector`` names (its number, or one of its tags); without one, the only image."""
    return golden.choose(path, found, selector, ImageRef.label,
                         lambda ref, text: (text.isdigit() and int(text) == ref.number) or text in ref.tags,
                         ("N", "TAG"), "it")


def open_spec(spec: GoldenSpec, budget: CopyBudget) -> Extracted:
    """Apply the layers of the image ``spec`` names and copy the resulting hives into a temporary folder."""
    from analyzer.sources import layers

    layout = Layout(spec.path)
    try:
        fmt, found = _images(layout)
        ref = choose(spec.path, found, spec.selector)
        extracted = layers.extract(layout, ref, spec, budget)
    finally:
        layout.close()
    hashed = spec.path / "index.json" if spec.path.is_dir() else spec.path
    extracted.hashed = hashed
    extracted.details.update({"format": fmt, "image_number": ref.number, "tags": list(ref.tags),
                              "manifest_digest": ref.manifest})
    return extracted
