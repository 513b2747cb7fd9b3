"""Sweep over the shared corpus: every file parses or fails cleanly; both backends agree on real SYSTEM hives."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from analyzer.engine import choose_profile, run
from analyzer.inputs import load
from analyzer.report.check import as_dict
from analyzer.sources import SourceError
from analyzer.sources.hive import BACKENDS, HiveFile
from analyzer.sources.regfile import read_reg
from tests.conftest import CORPUS, corpus_file

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason=f"corpus not found at {CORPUS} (provided in CI)")


def _manifest() -> list[dict[str, str]]:
    if not CORPUS.exists():
        return []
    with open(CORPUS / "MANIFEST.tsv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


MANIFEST = _manifest()
REG_FILES = [r["local_path"] for r in MANIFEST if r["kind"] == "reg"]
HIVE_FILES = [p for p in (r["local_path"] for r in MANIFEST if r["kind"] != "reg")  # a compressed copy only
              if not (p.endswith((".xz", ".gz")) and (CORPUS / p[:-3]).exists())]  # when it is the only one
REAL_SYSTEM = sorted({r["local_path"] for r in MANIFEST if r["kind"] == "hive-system"})

# .reg files with problems a CI user must hear about: (line, code) of each error diagnostic
REG_ERRORS = {
    "reg/stro0ngcrypto/StrongCrypto.reg": [(3, "bad-line"), (4, "bad-line"), (5, "bad-line"), (6, "bad-line")],
    **{f"reg/windows-registry-script/scripts__{name}.reg": [(n, "value-on-key-line") for n in lines]
       for name, lines in {"Disable-RC4": (3, 4, 5), "Enable-RC4": (3, 4, 5), "Disable-SSL2": (3, 4, 5, 6),
                           "Enable-SSL2": (3, 4, 5, 6), "Enable-SSL3": (3, 4, 5, 6), "Disable-TLS1": (3, 4, 5, 6),
                           "Enable-TLS1": (3, 4, 5, 6), "Disable-TLS11": (3, 4, 5, 6), "Enable-TLS11": (3, 4, 5, 6),
                           "Enable-TLS12": (3, 4, 5, 6)}.items()},
}


def test_manifest_lists_the_expected_files() -> None:
    assert len(REG_FILES) == 26
    assert len(REAL_SYSTEM) == 6


@pytest.mark.parametrize("name", REG_FILES)
def test_every_corpus_reg_file_parses(name: str) -> None:
    result = read_reg(CORPUS / name)
    assert result.version in ("5.00", "4")
    assert result.ops, "every corpus .reg file changes something"
    errors = [(d.line, d.code) for d in result.diagnostics if d.level == "error"]
    assert errors == REG_ERRORS.get(name, [])


def _outcome(path: Path, backend: str) -> str:
    try:
        loaded = load([path], backend)
    except SourceError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
        return "error"
    report = run(loaded, choose_profile("azure-backup"))
    return f"{loaded.inputs[0].kind} {report.verdict}"


@pytest.mark.parametrize("name", HIVE_FILES)
def test_every_corpus_hive_is_read_or_cleanly_refused(tmp_path: Path, name: str) -> None:
    path = corpus_file(tmp_path, name)
    outcomes = {backend: _outcome(path, backend) for backend in BACKENDS}
    assert all(o == "error" or o.split()[0] in ("system-hive", "software-hive") for o in outcomes.values())


def _walk(hive: HiveFile) -> tuple[int, int, str]:
    digest, keys, values = hashlib.sha256(), 0, 0
    stack: list[tuple[str, ...]] = [()]
    while stack:
        path = stack.pop()
        keys += 1
        digest.update(repr(path).encode())
        for value in hive.values(path):
            values += 1
            digest.update(repr((value.name, value.type_num, value.data)).encode())
        stack.extend((*path, n) for n in sorted(hive.subkey_names(path), reverse=True))
    return keys, values, digest.hexdigest()


@pytest.mark.parametrize("name", REAL_SYSTEM)
def test_backends_agree_on_real_system_hives(tmp_path: Path, name: str) -> None:
    path = corpus_file(tmp_path, name)
    reports = []
    walks = []
    for backend in BACKENDS:
        report = as_dict(run(load([path], backend), choose_profile("azure-backup")))
        for info in report["inputs"]:  # type: ignore[union-attr]
            info.pop("backend")
        # where a damaged structure stops both readers, only the libraries' own wording may differ
        report["diagnostics"] = [(d["level"], d["code"]) for d in report["diagnostics"]]  # type: ignore[union-attr]
        for item in [*report["results"], *report["settings"]]:  # type: ignore[misc]
            for field in ("message", "detail"):
                text = str(item.get(field, ""))
                for marker in ("the inputs cannot be read", "unreadable: "):
                    if marker in text:
                        item[field] = text[: text.index(marker)] + "unreadable"
        reports.append(json.dumps(report, sort_keys=True))
        try:
            walks.append(_walk(HiveFile(path, backend)))
        except SourceError as exc:
            walks.append(("error", str(exc).split(":", 2)[1]))  # which key could not be read
    assert reports[0] == reports[1]
    assert walks[0] == walks[1]
