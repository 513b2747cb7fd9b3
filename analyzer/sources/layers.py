"""Apply a container image's layers in order and copy out the Windows hives of the result.

A Windows layer holds the file system under ``Files/`` and differencing hives under ``Hives/`` (``System_Delta``,
``Software_Delta``, ``DefaultUser_Delta``).  Layers apply base first; a later layer's file replaces an earlier
one; ``.wh.NAME`` removes ``NAME`` of the layers below and ``.wh..wh..opq`` everything below its folder (OCI
image-spec layer.md, "Whiteouts").  Each copy is named by the layer that set it.
"""

from __future__ import annotations

import gzip
import hashlib
import posixpath
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from analyzer.registry import printable
from analyzer.sources import Diagnostic
from analyzer.sources.bounded import CHUNK, CopyBudget
from analyzer.sources.container import LAYER_TYPES, ImageRef, LayerRef, Layout, safe_name
from analyzer.sources.golden import Extracted, GoldenError, GoldenSpec

CONFIG = "Files/Windows/System32/config"
DEFAULT_USER = "Files/Users/Default/NTUSER.DAT"
FILES = {f"{CONFIG}/{h}{s}".casefold(): f"{h}{s}" for h in ("SYSTEM", "SOFTWARE") for s in ("", ".LOG", ".LOG1",
                                                                                              ".LOG2")}
FILES[DEFAULT_USER.casefold()] = "NTUSER.DAT"
DELTAS = {"hives/system_delta": "SYSTEM", "hives/software_delta": "SOFTWARE", "hives/defaultuser_delta": "NTUSER.DAT"}
WHITEOUT, OPAQUE = ".wh.", ".wh..wh..opq"


@dataclass(frozen=True)
class Found:
    """A wanted file of one layer: the layer, the member name as stored, and its copy (None: not copied)."""

    layer: LayerRef
    digest: str
    member: str
    copy: Path | None


class _Hashing:
    """A stream that hashes what is read through it (a layer's digest is checked as it is read)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha = raw, hashlib.sha256()
        self.head = b""

    def peek(self, size: int) -> bytes:
        self.head += self.read(size)
        return self.head

    def read(self, size: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        data = self.raw.read(size if size >= 0 else CHUNK)
        self.sha.update(data)
        return data


@dataclass
class _Layer:
    """What one layer holds of interest: wanted files, differencing hives, whiteouts, opaque folders."""

    files: dict[str, Found]
    deltas: dict[str, Found]
    whiteouts: list[str]
    opaque: list[str]
    digest: str = ""


def _compression(layer: LayerRef, stream: _Hashing, what: str) -> str:
    """``tar`` or ``gzip``, from the media type (OCI) or, where there is none (docker save), the content."""
    if layer.media_type is not None:
        kind = LAYER_TYPES.get(layer.media_type)
        if kind is None:
            raise GoldenError(f"{what}: layer {layer.number} has unknown media type {printable(layer.media_type)!r} "
                              "(uncompressed or gzip tar layers are read)")
        return kind
    return "gzip" if stream.peek(2) == b"\x1f\x8b" else "tar"


def _walk(layout: Layout, layer: LayerRef, dest: Path, budget: CopyBudget, what: str,
          notes: list[Diagnostic]) -> _Layer:
    """Read one layer tar as a stream, copying the wanted files of it into ``dest``."""
    found = _Layer({}, {}, [], [])
    seen: set[str] = set()
    with layout.open(layer.name) as raw:
        stream = _Hashing(raw)
        try:
            source = cast(IO[bytes], stream)
            if _compression(layer, stream, what) == "gzip":
                source = cast(IO[bytes], gzip.GzipFile(fileobj=source, mode="rb"))
            with tarfile.open(fileobj=source, mode="r|") as archive:
                for member in archive:
                    archive.members = []  # type: ignore[attr-defined]  # a stream: keep no index of a layer's many files
                    _member(archive, member, layer, found, seen, dest, budget, what, notes)
            while stream.read(CHUNK):
                pass
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise GoldenError(f"{what}: layer {layer.number} ({layer.name}) is not a readable tar layer: "
                              f"{' '.join(str(exc).split()) or type(exc).__name__}") from None
    digest = "sha256:" + stream.sha.hexdigest()
    if layer.digest is not None and digest != layer.digest:
        raise GoldenError(f"{what}: layer {layer.number} does not match its digest {layer.digest} (read {digest}); "
                          "the layout is damaged or altered")
    found.digest = digest
    for table in (found.files, found.deltas):
        table.update({k: Found(layer, digest, f.member, f.copy) for k, f in table.items()})
    return found


def _member(archive: tarfile.TarFile, member: tarfile.TarInfo, layer: LayerRef, found: _Layer, seen: set[str],
            dest: Path, budget: CopyBudget, what: str, notes: list[Diagnostic]) -> None:
    """Note one member of a layer: a whiteout, or a wanted file (copied), or nothing of interest."""
    name = safe_name(member.name)
    if name is None:
        notes.append(Diagnostic(what, None, "warning", "layer-member", f"layer {layer.number}: member "
                                f"{printable(member.name)!r} has an absolute or climbing path; skipped"))
        return
    folded = name.casefold()
    parent, base = posixpath.split(folded)
    if base == OPAQUE:
        found.opaque.append(parent)
        return
    if base.startswith(WHITEOUT):
        found.whiteouts.append(posixpath.join(parent, base[len(WHITEOUT):]))
        return
    canonical = FILES.get(folded) or DELTAS.get(folded)
    if canonical is None:
        return
    shown = name.replace("/", "\\")
    if folded in seen:
        raise GoldenError(f"{what}: layer {layer.number} holds {printable(shown)} twice; refused")
    seen.add(folded)
    if not member.isreg():
        raise GoldenError(f"{what}: layer {layer.number}: {printable(shown)} is not a regular file (a link or "
                          "special file); refused")
    delta = folded in DELTAS
    stream = archive.extractfile(member)
    assert stream is not None  # a regular file
    folder = dest / f"layer{layer.number}" / ("Hives" if delta else "Files")
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / posixpath.basename(name)
    budget.copy(stream.read, copy, f"{what}(layer {layer.number}):{shown}")
    (found.deltas if delta else found.files)[canonical] = Found(layer, "", name, copy)


def _removed(path: str, layer: _Layer) -> bool:
    """Whether a whiteout or opaque folder of ``layer`` removes ``path`` (folded) of the layers below."""
    return any(path == w or path.startswith(w + "/") for w in layer.whiteouts) or any(
        path.startswith(o + "/") for o in layer.opaque)


def merge(layers: list[_Layer]) -> tuple[dict[str, Found], list[tuple[str, Found]]]:
    """The wanted files of the merged file system (each from the topmost layer that has it), and every
    differencing hive in layer order; superseded copies are removed."""
    merged: dict[str, Found] = {}
    deltas: list[tuple[str, Found]] = []
    for layer in layers:
        for canonical, old in list(merged.items()):
            if _removed(old.member.casefold(), layer) or canonical in layer.files:
                if old.copy is not None:
                    old.copy.unlink()
                del merged[canonical]
        merged.update(layer.files)
        deltas += list(layer.deltas.items())
    return merged, deltas


def stack(canonical: str, base: Found, deltas: list[tuple[str, Found]], origin: str) -> tuple[
        list[Found], list[Diagnostic]]:
    """The files the loader reads for one hive: the base, then the differencing hives of the layers above it in
    order (``inputs.load`` stacks each on what is below it: :mod:`analyzer.sources.differencing`)."""
    above = [found for name, found in deltas if name == canonical and found.layer.number > base.layer.number]
    return [base, *above], []


def display(origin: str, found: Found) -> str:
    """``golden.tar@sha256:0123456789ab(layer 2):Files\\Windows\\System32\\config\\SOFTWARE``."""
    return f"{origin}@{found.digest[:19]}(layer {found.layer.number}):{printable(found.member.replace('/', chr(92)))}"


def extract(layout: Layout, ref: ImageRef, spec: GoldenSpec, budget: CopyBudget) -> Extracted:
    """Apply the image's layers and copy SYSTEM, SOFTWARE, their logs and the default user's hive out."""
    origin = str(spec)
    folder = tempfile.TemporaryDirectory(prefix="regtls-container-")
    notes: list[Diagnostic] = []
    try:
        walked = [_walk(layout, layer, Path(folder.name), budget, origin, notes) for layer in ref.layers]
        merged, deltas = merge(walked)
        missing = [h for h in ("SYSTEM", "SOFTWARE") if h not in merged]
        if missing:
            raise GoldenError(f"{origin}: no {' or '.join(missing)} hive in {CONFIG.replace('/', chr(92))} of the "
                              f"image {ref.label()} once its {len(ref.layers)} layers are applied")
        final = Path(folder.name, "merged")
        names: dict[Path, str] = {}
        placed: dict[str, Path] = {}
        for canonical, found in merged.items():
            assert found.copy is not None
            place = final / ("Users" if canonical == "NTUSER.DAT" else "config")
            place.mkdir(parents=True, exist_ok=True)
            placed[canonical] = found.copy.rename(place / found.copy.name)
            names[placed[canonical]] = display(origin, found)
        hives: list[Path] = []
        for canonical in ("SYSTEM", "SOFTWARE"):
            files, said = stack(canonical, merged[canonical], deltas, origin)
            notes += said
            hives.append(placed[canonical])
            for delta in files[1:]:
                assert delta.copy is not None
                hives.append(delta.copy)
                names[delta.copy] = display(origin, delta)
    except BaseException:
        folder.cleanup()
        raise
    layers = [{"layer": layer.number, "digest": w.digest, "media_type": layer.media_type,
               "sets": sorted(f.member for f in w.files.values()),
               "deltas": sorted(f.member for f in w.deltas.values())}
              for w, layer in zip(walked, ref.layers, strict=True)]
    from analyzer.sources.wim import user_notes

    users = [names[placed["NTUSER.DAT"]]] if "NTUSER.DAT" in placed else []
    return Extracted(spec, layout.path, "container-image", {"layers": layers}, hives, names, folder,
                     notes + user_notes(spec, users))
