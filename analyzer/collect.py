"""The files ``regtls lint`` judges: named files, folders searched for ``.reg`` and ``Registry.pol`` files
(honouring ``.gitignore`` files and exclude patterns, gitignore syntax), and ``-`` for standard input."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathspec import PathSpec

    from analyzer.engine import Run

STDIN = Path("-")
SKIPPED_DIRS = {".git", ".hg", ".svn"}


def wanted(name: str) -> bool:
    """A ``.reg`` export or a Group Policy ``Registry.pol`` file (any letter case)."""
    lower = name.lower()
    return lower.endswith(".reg") or lower == "registry.pol"


@dataclass(frozen=True)
class Excludes:
    """Gitignore-style patterns, each set relative to the folder it was written for."""

    specs: tuple[tuple[Path, PathSpec[Any]], ...] = ()

    @classmethod
    def of(cls, patterns: list[tuple[Path, list[str]]]) -> Excludes:
        """Patterns grouped by the folder they are relative to (the config's folder, the current folder)."""
        from pathspec import GitIgnoreSpec

        return cls(tuple((root.resolve(), GitIgnoreSpec.from_lines(lines)) for root, lines in patterns if lines))

    def with_gitignore(self, folder: Path) -> Excludes:
        """These patterns and those of ``folder/.gitignore``, if there is one."""
        ignore = folder / ".gitignore"
        try:
            lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return self
        return Excludes(self.specs + Excludes.of([(folder, lines)]).specs)

    def excluded(self, path: Path, is_dir: bool = False) -> bool:
        """Whether some pattern excludes the path (a folder is matched with its trailing slash)."""
        full = path.resolve()
        for root, spec in self.specs:
            try:
                rel = full.relative_to(root).as_posix()
            except ValueError:
                continue
            if rel != "." and spec.match_file(rel + ("/" if is_dir else "")):
                return True
        return False


def _walk(folder: Path, excludes: Excludes) -> list[Path]:
    excludes = excludes.with_gitignore(folder)
    found: list[Path] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return [folder]  # unreadable: lint names it instead of skipping it silently
    for entry in entries:
        path = folder / entry.name
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in SKIPPED_DIRS and not excludes.excluded(path, is_dir=True):
                found += _walk(path, excludes)
        elif entry.is_file() and wanted(entry.name) and not excludes.excluded(path):
            found.append(path)
    return found


def collect(paths: list[Path], excludes: Excludes) -> list[Path]:
    """The files to lint, in command-line order, folders expanded (sorted by name), duplicates dropped.

    Named files are kept whatever their name unless an exclude pattern matches them (as pre-commit passes
    them); ``.gitignore`` files apply only inside the folders searched.
    """
    out: list[Path] = []
    for path in paths:
        if path == STDIN:
            out.append(path)
        elif path.is_dir():
            out += _walk(path, excludes)
        elif not excludes.excluded(path):
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for path in out:
        key = path if path == STDIN else path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def read_stdin(folder: Path, limit: int) -> Path:
    """Standard input copied into ``folder`` (a temporary folder the caller removes), at most ``limit`` bytes."""
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"standard input is larger than {limit} bytes")
    target = folder / "stdin.reg"
    target.write_bytes(data)
    return target


def relabel(run: Run, temp: str, name: str) -> None:
    """Name standard input ``name`` (not its temporary copy) everywhere in a lint run."""
    from dataclasses import replace

    def fix(text: str | None) -> str | None:
        return text.replace(temp, name) if text else text

    run.inputs = [replace(i, path=fix(i.path) or name) for i in run.inputs]
    run.findings = [replace(f, message=fix(f.message) or "", location=replace(f.location, file=fix(f.location.file))
                            if f.location else None) for f in run.findings]
    run.diagnostics = [replace(d, file=fix(d.file) or "", message=fix(d.message) or "") for d in run.diagnostics]
    run.notifications = [replace(d, file=fix(d.file) or "", message=fix(d.message) or "") for d in run.notifications]
    run.results = [replace(r, input=fix(r.input)) for r in run.results]
