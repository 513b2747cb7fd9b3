""".reg reading and dump writing at their limits: deep key paths, one huge line, names no .reg file can hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.machine import Machine
from analyzer.registry import MAX_DEPTH, REG_SZ, Origin, Value
from analyzer.report.dump import render_reg, render_table
from analyzer.sources import regfile
from analyzer.sources.regfile import Op, OpKind, read_reg
from tests.conftest import bounded

HEADER = "Windows Registry Editor Version 5.00\r\n\r\n"


def test_a_key_deeper_than_a_registry_tree_is_refused_at_its_line(tmp_path: Path) -> None:
    """A dump of a 100 000-level key would list 100 000 paths of up to 100 000 names each."""
    deepest = "\\".join(["d"] * MAX_DEPTH)
    path = tmp_path / "deep.reg"
    path.write_text(f"{HEADER}[HKEY_LOCAL_MACHINE\\{deepest}]\r\n\"ok\"=dword:1\r\n"
                    f"[HKEY_LOCAL_MACHINE\\{deepest}\\e]\r\n\"no\"=dword:1\r\n", encoding="utf-8")
    parsed = read_reg(path)
    assert [(op.kind, len(op.path), op.name) for op in parsed.ops] == [
        (OpKind.CREATE_KEY, MAX_DEPTH + 1, None), (OpKind.SET_VALUE, MAX_DEPTH + 1, "ok")]
    assert [(d.line, d.code, d.message) for d in parsed.diagnostics] == [
        (5, "bad-key", "the key path is 513 levels deep, but a registry tree is at most 512 deep: regedit cannot "
                       "create it"),
        (6, "no-key", "value ignored: the key line at line 5 is rejected")]


@pytest.mark.parametrize("utf16", [False, True])
def test_one_huge_line_is_read_in_linear_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, utf16: bool) -> None:
    """A 4 MiB line read in 1 KiB chunks: rescanning the line at every chunk would scan 8 GiB."""
    monkeypatch.setattr(regfile, "_CHUNK", 1024)
    text = f'{HEADER}[HKEY_LOCAL_MACHINE\\A]\r\n;{"x" * (4 << 20)}\r\n"after"=dword:1\r\n'
    path = tmp_path / "long.reg"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le") if utf16 else text.encode())
    with bounded(seconds=10, megabytes=64):
        parsed = read_reg(path)
    assert (parsed.diagnostics, [(op.line, op.name) for op in parsed.ops]) == ([], [(3, None), (5, "after")])


def _machine(*values: tuple[tuple[str, ...], str]) -> Machine:
    machine = Machine()
    machine.apply([Op(OpKind.SET_VALUE, path, 1, name, REG_SZ, "x\0".encode("utf-16-le")) for path, name in values],
                  "made.reg")
    return machine


def test_names_a_reg_file_cannot_hold_become_comments_and_the_rest_reads_back(tmp_path: Path) -> None:
    machine = _machine((("HKEY_LOCAL_MACHINE", "line\nbreak"), "v"), (("HKEY_LOCAL_MACHINE", "ok"), "nul\0name"),
                       (("HKEY_LOCAL_MACHINE", "ok"), "lone\ud800"), (("HKEY_LOCAL_MACHINE", "ok"), "quote\"\r\n"))
    text = render_reg(machine, list(machine.walk()))
    assert [line for line in text.splitlines() if line.startswith(";")] == [
        "; regtls: key HKEY_LOCAL_MACHINE\\line\\nbreak not written: its name holds a line break, a NUL or an "
        "unpaired surrogate, which a .reg key line cannot hold",
        "; regtls: value 'lone\\\\ud800' not written: its name holds a NUL or an unpaired surrogate, which this .reg "
        "file cannot hold",
        "; regtls: value 'nul\\\\x00name' not written: its name holds a NUL or an unpaired surrogate, which this .reg "
        "file cannot hold"]
    path = tmp_path / "export.reg"
    path.write_text(text, encoding="utf-8")
    parsed = read_reg(path)
    assert parsed.diagnostics == []
    assert [(op.path, op.name) for op in parsed.ops if op.kind is OpKind.SET_VALUE] == [
        (("HKEY_LOCAL_MACHINE", "ok"), "quote\"\r\n")]


def test_the_dump_table_shows_control_characters_and_surrogates_escaped() -> None:
    machine = _machine((("HKEY_LOCAL_MACHINE", "\x1b[31mred"), "lone\ud800"))
    table = render_table(machine, list(machine.walk()))
    table.encode("utf-8")
    assert "\x1b" not in table and "\\x1b[31mred" in table and "lone\\ud800" in table


def test_value_data_with_an_unpaired_surrogate_is_written_as_hex(tmp_path: Path) -> None:
    machine = Machine()
    data = "C:\ud85c".encode("utf-16-le", "surrogatepass") + b"\0\0"
    machine.apply([Op(OpKind.SET_VALUE, ("HKEY_LOCAL_MACHINE", "k"), 1, "v", REG_SZ, data)], "made.reg")
    text = render_reg(machine, list(machine.walk()))
    assert '"v"=hex(1):43,00,3a,00,5c,d8,00,00' in text
    assert Value("v", REG_SZ, data, Origin("x")).decoded == "C:\ud85c"
