"""Shared test helpers: paths to the shared knowledge and corpus, and the sample machines."""

from __future__ import annotations

import gzip
import importlib.util
import lzma
import shutil
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
SAMPLES = REPO / "samples"
VECTORS = SHARED / "knowledge" / "regedit-conformance" / "regedit-vectors.json"


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


def hive_builder() -> ModuleType:
    """Load ``samples/build_hives.py`` (the fixture builder) as a module."""
    spec = importlib.util.spec_from_file_location("build_hives", SAMPLES / "build_hives.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
