"""Fuzz targets: bytes in, a result or a clean ``SourceError`` out; anything else is a finding.

Each target runs what ``regtls check`` and ``regtls dump`` run on one input file. They are shared by the
atheris harness (``fuzz/run.py``) and the regression tests, which replay every file of ``tests/data/fuzz``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from analyzer.engine import choose_profile, run
from analyzer.inputs import kept, load
from analyzer.knowledge.scope import in_scope
from analyzer.report import check, dump
from analyzer.sources import SourceError
from analyzer.sources.hive import BACKENDS

_SCRATCH: list[Path] = []
"""The scratch folder of the input being run (removed after it; by :func:`remove_scratch` on an interrupt)."""


def outcome(path: Path, backend: str) -> str:
    """Run check and dump over one input file (every output format the command line writes as UTF-8); return
    ``error`` for a clean refusal, else the kind of input and how many keys dump listed and could not list."""
    try:
        loaded = load([path], backend, wanted=None)  # dump: every operation
    except SourceError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(f"{path}: "), message
        return "error"
    scoped = load([path], backend)  # check: only the areas the rules read, the reader skipping the rest
    for whole, part in zip(loaded.regs, scoped.regs, strict=True):
        assert part.diagnostics == whole.diagnostics, "skipping changed the diagnostics"
        assert part.ops == list(kept(whole.ops, in_scope)), "skipping changed the operations"
    report = run(scoped, choose_profile("azure-backup"))
    machine = loaded.machine
    errors: list[str] = []
    keys = list(machine.walk(on_error=lambda p, e: errors.append(str(e))))
    for text in (check.render_json(report), dump.render_json(machine, keys), dump.render_reg(machine, keys),
                 dump.render_table(machine, keys)):
        text.encode("utf-8")  # what the command line writes
    return f"{loaded.inputs[0].kind} {len(keys)} keys {len(errors)} unreadable"


@contextmanager
def _file(data: bytes, name: str) -> Iterator[Path]:
    """A scratch file holding ``data``, in a ``regtls-fuzz-*`` folder that is gone when the block ends."""
    with tempfile.TemporaryDirectory(prefix="regtls-fuzz-") as folder:
        _SCRATCH.append(Path(folder))
        try:
            path = Path(folder) / name
            path.write_bytes(data)
            yield path
        finally:
            _SCRATCH.remove(Path(folder))


def remove_scratch() -> None:
    """Remove the scratch folder of the input being run (the harness calls this when interrupted)."""
    for folder in _SCRATCH:
        shutil.rmtree(folder, ignore_errors=True)


def reg_target(data: bytes) -> str:
    """A ``.reg`` file with these bytes (a leading ``regf`` would make it a hive: see :func:`hive_target`)."""
    with _file(data, "input.reg") as path:
        return outcome(path, BACKENDS[0])


def hive_target(data: bytes) -> str:
    """A hive file with these bytes, through both backends."""
    with _file(data, "SYSTEM") as path:
        return " / ".join(outcome(path, backend) for backend in BACKENDS)


TARGETS: dict[str, Callable[[bytes], str]] = {"reg": reg_target, "hive": hive_target}

