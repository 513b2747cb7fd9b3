"""Streamed outputs and the .reg hot paths give what the whole-document forms give, byte for byte."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.table import Table

from analyzer.inputs import load
from analyzer.registry import Origin, Value, join_path
from analyzer.report import console, dump, to_json
from analyzer.sources.regfile import FLOOD, RegReader, read_reg
from tests.conftest import SAMPLES

HEADER = "Windows Registry Editor Version 5.00\r\n\r\n"
CLIENT = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client"
MACHINE = [SAMPLES / "server2019-configured" / "SYSTEM", SAMPLES / "server2019-configured" / "SOFTWARE",
           SAMPLES / "reg" / "tls12-typos.reg"]


def _document(machine: object, keys: list[tuple[str, ...]]) -> dict[str, object]:
    """The dump document as one object, the way it was built before it was streamed."""
    entries = []
    for path in keys:
        values, error = dump.safe_values(machine, path)  # type: ignore[arg-type]
        entry: dict[str, object] = {"path": join_path(path), "values": [dump._value_json(v) for v in values]}
        if error:
            entry["error"] = error
        entries.append(entry)
    return {"schema": dump.SCHEMA, "keys": entries}


def test_the_streamed_json_dump_is_the_json_document_byte_for_byte() -> None:
    machine = load(MACHINE, wanted=None).machine
    keys = list(machine.walk())
    pieces = list(dump.iter_json(machine, keys))
    text = "".join(pieces)
    assert len(pieces) == len(keys) + 3  # written key by key
    assert json.loads(text) == _document(machine, keys)
    assert text == to_json(_document(machine, keys))
    trailer = {"diagnostics": [{"file": "x", "line": 1}]}
    assert "".join(dump.iter_json(machine, keys, lambda: trailer)) == to_json({**_document(machine, keys), **trailer})
    assert "".join(dump.iter_json(machine, [])) == to_json({"schema": dump.SCHEMA, "keys": []})


def _whole_table(machine: object, keys: list[tuple[str, ...]], width: int, color: bool) -> str:
    out, buf = console(width, color)
    table = Table(show_lines=False)
    for col in ("key", "value", "type", "data", "source"):
        table.add_column(col, overflow="fold")
    for row in dump._rows(machine, keys):  # type: ignore[arg-type]
        table.add_row(*row)
    out.print(table)
    return buf.getvalue()


@pytest.mark.parametrize(("rows", "width", "color"),
                         [(500, 120, False), (7, 120, False), (1, 80, True), (3, 30, False)])
def test_the_table_drawn_in_batches_is_the_whole_table(monkeypatch: pytest.MonkeyPatch, rows: int, width: int,
                                                       color: bool) -> None:
    machine = load(MACHINE, wanted=None).machine
    keys = list(machine.walk())
    monkeypatch.setattr(dump, "_TABLE_ROWS", rows)
    assert dump.render_table(machine, keys, width, color) == _whole_table(machine, keys, width, color)
    assert dump.render_table(machine, [], width, color) == _whole_table(machine, [], width, color)


def test_hex_continuations_decoded_in_runs_equal_the_line_parser(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    lines = dump.reg_value_lines(Value("Blob", 3, data, Origin("made")))
    regular = tmp_path / "regular.reg"
    regular.write_text(HEADER + f"[{CLIENT}]\r\n" + "\r\n".join(lines) + "\r\n", newline="")
    # single-digit bytes and a blank after a comma: forms only the line parser reads
    odd = [*lines[:5], lines[5].replace(",00,", ",0,").replace(",01,", ", 01,"), *lines[6:]]
    irregular = tmp_path / "irregular.reg"
    irregular.write_text(HEADER + f"[{CLIENT}]\r\n" + "\r\n".join(odd) + "\r\n", newline="")
    ops = [op for op in read_reg(regular).ops if op.name == "Blob"]
    assert [op.data for op in ops] == [data]
    assert [op.data for op in read_reg(irregular).ops if op.name == "Blob"] == [data]
    bad = [*lines[:5], lines[5].replace(",", ",zz,", 1), *lines[6:]]
    broken = tmp_path / "broken.reg"
    broken.write_text(HEADER + f"[{CLIENT}]\r\n" + "\r\n".join(bad) + "\r\n", newline="")
    got = read_reg(broken)
    assert not [op for op in got.ops if op.name == "Blob"]
    codes = [(d.line, d.code) for d in got.diagnostics]  # the lines after the dropped value are lines of their own
    assert codes[:2] == [(9, "bad-hex"), (10, "bad-line")] and {c for _, c in codes[1:]} == {"bad-line"}


def test_a_flood_of_one_diagnostic_is_listed_up_to_the_cap_and_the_rest_counted(tmp_path: Path) -> None:
    path = tmp_path / "flood.reg"
    path.write_text(HEADER + f"[{CLIENT}]\r\n" + "not a line\r\n" * (FLOOD + 50) + '"x"=dword:\r\n', newline="")
    got = read_reg(path).diagnostics
    assert [d.line for d in got] == [*range(4, 4 + FLOOD + 1), 4 + FLOOD + 50]
    assert got[FLOOD].message == ("not a key, value or comment line; regedit skips it (and 49 more line(s) after this "
                                  "one with the same problem, not listed)")
    proc = subprocess.run([sys.executable, "-m", "analyzer", "check", str(path), "-f", "json"], capture_output=True,
                          text=True)
    findings = [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "REG001"]
    assert proc.returncode == 1 and len(findings) == 101
    assert findings[-1]["message"] == "2 more finding(s) of this rule are not listed; the first of them: not a key, " \
        "value or comment line; regedit skips it (and 49 more line(s) after this one with the same problem, not listed)"


@pytest.mark.parametrize("text", [HEADER + f"[{CLIENT}]\r\n\"Enabled\"=dword:00000001\r\n" * 3000,
                                  "Windows Registry Editor Version 5.00\r\n"])
def test_the_reader_hashes_the_file_it_parses(tmp_path: Path, text: str) -> None:
    path = tmp_path / "in.reg"
    path.write_bytes(("\ufeff" + text).encode("utf-16-be"))  # rejected at its first line, hashed all the same
    reader = RegReader(path)
    list(reader)
    assert reader.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    reader = RegReader(path)
    list(reader)
    assert reader.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


HEAVY = ("typer", "pydantic", "rich", "Registry", "regipy", "dfvfs", "analyzer.cli", "analyzer.rules")
PROBE = """
import runpy, sys
sys.argv = ["regtls", *sys.argv[1:]]
try:
    runpy.run_module("analyzer", run_name="__main__")
except SystemExit:
    pass
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in {"typer", "pydantic", "rich", "Registry",
                                                                  "regipy", "dfvfs"} or m.startswith("analyzer."))),
      file=sys.stderr)
"""


def _loaded(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
    return set(proc.stderr.splitlines()[-1].split())


def test_start_up_loads_only_what_the_command_needs() -> None:
    version = _loaded("--version")
    assert not {m for m in version if m.split(".")[0] in HEAVY or m in HEAVY}, version
    check = _loaded("check", str(SAMPLES / "reg" / "tls12-complete.reg"), "-f", "json")
    assert "analyzer.rules" in check  # the probe sees what the command loads
    assert not {m for m in check if m.split(".")[0] in ("rich", "Registry", "regipy", "dfvfs")}, check
    assert not {"analyzer.report.dump", "analyzer.sources.backend_pyregistry", "analyzer.sources.image"} & check
