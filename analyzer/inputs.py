"""Open the command-line inputs (hives and ``.reg`` files) and layer them into one Machine."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path as FsPath

from analyzer.machine import Machine, Mount
from analyzer.registry import Path, fold
from analyzer.sources import Diagnostic, SourceError
from analyzer.sources.folder import machine_in
from analyzer.sources.hive import DEFAULT_BACKEND, HiveFile
from analyzer.sources.regfile import Op, RegFile, RegReader

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


def sha256_file(path: FsPath) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _under(path: Path, prefix: Path) -> bool:
    n = min(len(path), len(prefix))
    return all(fold(a) == fold(b) for a, b in zip(path[:n], prefix[:n], strict=True))


def _filtered(ops: Iterable[Op], prefix: Path | None) -> Iterator[Op]:
    """Keep the operations that can change keys at or below ``prefix`` (its ancestors' deletions too)."""
    return iter(ops) if prefix is None else (op for op in ops if _under(op.path, prefix))


def _check_exists(path: FsPath) -> None:
    if not path.exists():
        raise SourceError(f"{path}: no such file")


def expand(paths: list[FsPath]) -> tuple[list[FsPath], list[Diagnostic]]:
    """Replace each folder by the hives of the machine in it (a config folder, or a Windows root above one)."""
    out: list[FsPath] = []
    notes: list[Diagnostic] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        machine = machine_in(path)
        if machine is None:
            raise SourceError(f"{path}: a folder without SYSTEM or SOFTWARE hives (looked in it and in "
                              "Windows/System32/config below it)", str(path))
        out += machine.hives
        notes += [Diagnostic(str(path), None, "note", "regback", note) for note in machine.notes]
    return out, notes


def _is_hive(path: FsPath) -> bool:
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise SourceError(f"{path}: cannot open: {exc.strerror or exc}") from None
    if magic == b"CREG":
        raise SourceError(f"{path}: a Windows 9x/Me registry file (CREG); regtls reads NT hives (regf)")
    return magic == b"regf"


def load(paths: list[FsPath], backend: str = DEFAULT_BACKEND, key_filter: Path | None = None) -> Loaded:
    """Read every input; hives form the base, ``.reg`` change sets apply on top in command-line order."""
    paths, notes = expand(paths)
    hives: dict[str, HiveFile] = {}
    reg_paths: list[FsPath] = []
    infos: dict[str, InputInfo] = {}
    for path in paths:
        _check_exists(path)
        if not _is_hive(path):
            reg_paths.append(path)
            continue
        hive = HiveFile(path, backend, str(path))
        if hive.kind in hives:
            raise SourceError(f"{path}: a second {hive.kind.upper()} hive ({hives[hive.kind].display} is the "
                              "first); give one SYSTEM and one SOFTWARE hive per machine")
        hives[hive.kind] = hive
        details: dict[str, object] = {"backend": backend, "dirty": hive.header.dirty}
        if hive.kind == "system":
            details.update(control_set=hive.control_set, control_set_source=hive.control_set_source)
        infos[str(path)] = InputInfo(str(path), f"{hive.kind}-hive", sha256_file(path), details)
    system = hives.get("system")
    machine = Machine([Mount(HIVE_PREFIX[k], h) for k, h in sorted(hives.items())],
                      system.control_set if system else None)
    regs: list[RegFile] = []
    for path in reg_paths:
        reader = RegReader(path, str(path))
        if key_filter is None:
            ops = list(reader)
            machine.apply(ops, reader.display)
        else:
            ops = []
            machine.apply(_filtered(reader, key_filter), reader.display)
        regs.append(RegFile(reader.display, reader.encoding, reader.version, ops, reader.diagnostics))
        infos[str(path)] = InputInfo(str(path), "reg", sha256_file(path),
                                     {"encoding": reader.encoding, "format": reader.version})
    diagnostics = notes + [d for h in hives.values() for d in h.diagnostics] + [d for r in regs for d in r.diagnostics]
    return Loaded(machine, [infos[str(p)] for p in paths], hives, regs, diagnostics)
