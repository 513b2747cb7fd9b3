"""Shared test helpers: paths to the shared knowledge and corpus, and the sample machines."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import lzma
import shutil
import signal
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

from analyzer.sources import SourceError
from analyzer.sources.hive import HiveFile

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
SAMPLES = REPO / "samples"
VECTORS = SHARED / "knowledge" / "regedit-conformance" / "regedit-vectors.json"

# the property tests draw the same examples on every run (CI stays reproducible); to explore with fresh ones:
# python -m pytest tests/test_properties.py --hypothesis-profile=explore
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile("ci")


def need(path: Path, what: str) -> Path:
    """Skip the calling test with a clear reason when a shared input is absent."""
    if not path.exists():
        pytest.skip(f"{what} not found at {path} (the ../shared folder is provided in CI)")
    return path


def corpus_file(tmp_path: Path, relative: str) -> Path:
    """A corpus file, decompressed into ``tmp_path`` when it is stored as .xz or .gz."""
    src = need(CORPUS / relative, "corpus file")
    if src.suffix not in (".xz", ".gz"):
        return src
    out = tmp_path / src.name[: -len(src.suffix)]
    opener = lzma.open if src.suffix == ".xz" else gzip.open
    with opener(src, "rb") as fin, open(out, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return out


def sample_tool(name: str) -> ModuleType:
    """Load a fixture script of ``samples/`` (``build_hives``, ``dirty_logs``) as a module."""
    spec = importlib.util.spec_from_file_location(name, SAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hive_builder() -> ModuleType:
    """``samples/build_hives.py``, the fixture builder: test hives from ``.reg`` sources through hivexregedit."""
    return sample_tool("build_hives")


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 and modification time of every file below ``folder`` (the listing itself included)."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build_hive(tmp_path: Path, kind: str, text: str) -> Path:
    """A hive built by hivexregedit from ``.reg`` text (skips when hivex is not installed)."""
    if shutil.which("hivexregedit") is None:
        pytest.skip("hivexregedit (Debian package libwin-hivex-perl) is not installed")
    source = tmp_path / f"{kind}.reg"
    source.write_text("Windows Registry Editor Version 5.00\n\n" + text, encoding="utf-8")
    out = tmp_path / kind
    hive_builder().build_hive(kind, source, out)
    return out


LOSSES = ("lost-entry", "count-mismatch")  # the diagnostic codes of entries lost to damage


def walk_hive(path: Path, backend: str, any_kind: bool = False) -> tuple[int, int, list[str], list[str]] | str:
    """Every key and value of a hive, as ``dump`` reads them: (keys, values, errors and lost entries, the other
    warning codes), or the one-line refusal (both without the file name)."""
    try:
        hive = HiveFile(path, backend, any_kind=any_kind)
    except SourceError as exc:
        return str(exc).removeprefix(f"{path}: ")
    keys, values, errors = 0, 0, []
    stack: list[tuple[str, ...]] = [()]
    while stack:
        key = stack.pop()
        keys += 1
        try:
            values += len(hive.values(key))
            stack.extend((*key, name) for name in sorted(hive.subkey_names(key), reverse=True))
        except SourceError as exc:
            errors.append(str(exc).removeprefix(f"{path}: "))
    lost = [d.message for d in hive.diagnostics if d.code in LOSSES]
    return keys, values, errors + lost, sorted({d.code for d in hive.diagnostics if d.code not in LOSSES})


@contextmanager
def bounded(seconds: int = 10, megabytes: int = 32) -> Iterator[None]:
    """Fail when the block runs longer than ``seconds`` or its Python allocations peak above ``megabytes``."""
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
        assert peak < megabytes << 20, f"peak allocation {peak >> 20} MiB"
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
