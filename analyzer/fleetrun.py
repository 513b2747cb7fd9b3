"""Run a scan: skip what the results database already holds, judge the rest where asked, store each row."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analyzer.inputs import sha256_file
from analyzer.profiles import Profile
from analyzer.scan import Row, _profile, scan
from analyzer.sources.folder import MachineSource, logs_for
from analyzer.store import Store, fingerprint


@dataclass(frozen=True)
class Options:
    """How machines are judged: profile, hive backend, log replay, per-machine timeout, local workers."""

    profile: str | Profile  # a Profile object when --select/--ignore changed a named one
    backend: str
    logs: bool = True
    timeout: float | None = None
    jobs: int = 1


def evidence_files(source: MachineSource) -> list[Path]:
    """The files a machine's row rests on: its hives and their logs, or the image or archive holding them."""
    if source.kind == "image" and source.problem is None:
        from analyzer.sources import golden, volumes

        spec = volumes.parse(source.name)
        if spec is not None:
            return [spec.image]
        found = golden.parse(source.name)  # a WIM/ESD or a container image: a file, or an OCI layout folder
        if found is None:
            return []
        return sorted(p for p in found.path.rglob("*") if p.is_file()) if found.path.is_dir() else [found.path]
    if source.kind in ("image", "collection"):
        return list(source.hives)
    return [f for hive in source.files() for f in (hive, *logs_for(hive))]


def _digests(source: MachineSource) -> list[tuple[str, str]]:
    out = []
    for path in evidence_files(source):
        try:
            out.append((str(path), sha256_file(path)))
        except OSError as exc:
            out.append((str(path), f"unreadable: {exc.strerror or exc}"))
    return out


def _settings(options: Options) -> dict[str, object]:
    profile = _profile(options.profile)
    return {"profile": profile.name, "levels": sorted(profile.levels.items()), "absence": profile.absence,
            "backend": options.backend, "logs": options.logs}


Engine = Callable[[list[MachineSource], Options, Callable[[Row], None]], list[Row]]


def local(sources: list[MachineSource], options: Options, progress: Callable[[Row], None]) -> list[Row]:
    """Judge in forked worker processes on this machine."""
    return scan(sources, options.profile, options.backend, options.jobs, options.logs, progress, options.timeout)


def run(sources: list[MachineSource], options: Options, engine: Engine = local, store: Store | None = None,
        progress: Callable[[Row], None] = lambda row: None, skipped: Callable[[int], None] = lambda n: None) \
        -> list[Row]:
    """Every machine's row, in the order of ``sources``; with a ``store``, unchanged machines are taken from it
    (``skipped`` is told how many) and each new row is stored as soon as it is done."""
    if store is None:
        return engine(sources, options, progress)
    settings = _settings(options)
    known = store.fingerprints()
    prints: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    todo: list[MachineSource] = []
    for source in sources:
        digests = _digests(source)
        prints[source.id] = (fingerprint(settings, digests), digests)
        if known.get(source.id) != prints[source.id][0]:
            todo.append(source)
    kept = {r.id: r for r in store.rows({s.id for s in sources} - {s.id for s in todo})}
    skipped(len(kept))

    def done(row: Row) -> None:
        print_, digests = prints[row.id]
        store.put(row, print_, _profile(options.profile).name, digests)
        progress(row)

    judged = {r.id: r for r in engine(todo, options, done)} if todo else {}
    return [kept.get(s.id) or judged[s.id] for s in sources]


def dask_engine(address: str | None, scheduler_file: str | None) -> Engine:
    """The Dask engine for a scheduler address or file (imports Dask only now)."""
    from analyzer import dask_engine

    return functools.partial(dask_engine.judge_all, address=address, scheduler_file=scheduler_file)
