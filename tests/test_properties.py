"""Property tests: generated valid ``.reg`` files round-trip exactly; mutated ``.reg`` and hive bytes end cleanly.

A change set is generated (keys created and deleted; values of every type set and deleted; names with
quotes, backslashes and line breaks; long data that wraps onto continuation lines), rendered with the
``dump`` renderer in UTF-16LE with a BOM or as 8-bit text, with CRLF or LF, and read back:
``parse(render(x)) == x``.  Mutations of such files and of a sample hive go through what ``check`` and
``dump`` run (the fuzz targets) and must give a result or a clean error, within a time and memory bound.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.inputs import kept
from analyzer.knowledge.scope import Scope
from analyzer.machine import Machine
from analyzer.registry import (
    REG_BINARY,
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_SZ,
    ROOTS,
    Origin,
    Value,
    join_path,
)
from analyzer.report.dump import quote, reg_value_lines, render_reg
from analyzer.sources import SourceError
from analyzer.sources.regfile import Op, OpKind, RegReader, read_reg
from fuzz.targets import hive_target, reg_target
from tests.conftest import SAMPLES, bounded

HEADER = "Windows Registry Editor Version 5.00"
ANY = Origin("generated")


@dataclass(frozen=True)
class Rendering:
    """How a change set is written: UTF-16LE with BOM or 8-bit (UTF-8) text, and the line break."""

    utf16: bool
    newline: str

    def encode(self, text: str) -> bytes:
        if self.utf16:
            return b"\xff\xfe" + text.replace("\n", self.newline).encode("utf-16-le", "surrogatepass")
        return text.replace("\n", self.newline).encode("utf-8")


def _names(utf16: bool, forbidden: str) -> st.SearchStrategy[str]:
    """Names without NUL or ``forbidden``; 8-bit text cannot hold unpaired surrogates."""
    return st.text(st.characters(blacklist_categories=() if utf16 else ("Cs",), blacklist_characters="\0" + forbidden),
                   max_size=12)


def _key_paths(utf16: bool) -> st.SearchStrategy[tuple[str, ...]]:
    # a key line holds no line break and no escapes; a name ending in a blank draws a warning
    part = _names(utf16, "\\\r\n").filter(lambda s: s != "" and s == s.rstrip(" \t"))
    return st.tuples(st.sampled_from(ROOTS), st.lists(part, min_size=1, max_size=4)).map(lambda t: (t[0], *t[1]))


def _data(type_num: int) -> st.SearchStrategy[bytes]:
    if type_num in (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ):  # string types as regedit exports them: NUL-ended
        return st.one_of(st.just(b""), st.binary(max_size=60).map(lambda b: b[: len(b) & ~1] + b"\0\0"),
                         st.text(max_size=20).map(lambda t: t.encode("utf-16-le", "surrogatepass") + b"\0\0"))
    if type_num == REG_DWORD:
        return st.one_of(st.binary(min_size=4, max_size=4), st.binary(max_size=9))
    return st.binary(max_size=120)


_TYPES = st.one_of(st.sampled_from([REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, 0, 5, 11]),
                   st.integers(0, 0xFFFFFFFF))


@st.composite
def change_sets(draw: st.DrawFn) -> tuple[Rendering, list[Op]]:
    """A rendering and the operations of a valid change set, in order."""
    rendering = Rendering(draw(st.booleans()), draw(st.sampled_from(["\r\n", "\n"])))
    ops: list[Op] = []
    for _ in range(draw(st.integers(1, 5))):
        path = draw(_key_paths(rendering.utf16))
        if draw(st.integers(0, 4)) == 0:
            ops.append(Op(OpKind.DELETE_KEY, path, 0))
            continue
        ops.append(Op(OpKind.CREATE_KEY, path, 0))
        for _ in range(draw(st.integers(0, 4))):
            name = draw(_names(rendering.utf16, ""))  # quotes, backslashes and line breaks are escaped
            if draw(st.integers(0, 5)) == 0:
                ops.append(Op(OpKind.DELETE_VALUE, path, 0, name))
            else:
                type_num = draw(_TYPES)
                ops.append(Op(OpKind.SET_VALUE, path, 0, name, type_num, draw(_data(type_num))))
    return rendering, ops


def render(ops: list[Op], utf8: bool) -> str:
    """The text of a change set, written with the ``dump`` renderer's quoting and value lines."""
    lines = [HEADER, ""]
    for op in ops:
        if op.kind is OpKind.DELETE_KEY:
            lines += ["", f"[-{join_path(op.path)}]"]
        elif op.kind is OpKind.CREATE_KEY:
            lines += ["", f"[{join_path(op.path)}]", "; a comment line"]
        elif op.kind is OpKind.DELETE_VALUE:
            assert op.name is not None
            lines.append(f"{'@' if op.name == '' else quote(op.name)}=-")
        else:
            assert op.name is not None
            lines += reg_value_lines(Value(op.name, op.type_num, op.data, ANY), utf8)
    return "\n".join(lines) + "\n"


def _semantic(ops: list[Op]) -> list[tuple[object, ...]]:
    return [(op.kind, op.path, op.name, op.type_num, op.data) for op in ops]


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(change_sets())
def test_generated_reg_files_round_trip_exactly(tmp_path: Path, case: tuple[Rendering, list[Op]]) -> None:
    rendering, ops = case
    text = render(ops, not rendering.utf16)
    path = tmp_path / "generated.reg"
    path.write_bytes(rendering.encode(text))
    parsed = read_reg(path)
    assert _semantic(parsed.ops) == _semantic(ops)
    expected = [] if rendering.utf16 or text.isascii() else ["utf8-text"]
    assert [d.code for d in parsed.diagnostics] == expected
    assert parsed.encoding == ("utf-16le" if rendering.utf16 else "ascii" if text.isascii() else "utf-8")


@PROPERTY
@given(change_sets())
def test_dump_reg_export_of_the_merged_machine_reads_back_to_the_same_machine(
        tmp_path: Path, case: tuple[Rendering, list[Op]]) -> None:
    rendering, ops = case
    machine = Machine()
    machine.apply(ops, "generated")
    keys = list(machine.walk())
    path = tmp_path / "export.reg"
    path.write_bytes(rendering.encode(render_reg(machine, keys, utf8=not rendering.utf16)))
    again = Machine()
    again.apply(read_reg(path).ops, "export")
    assert list(again.walk()) == keys
    for key in keys:
        assert [(v.name, v.type_num, v.data) for v in again.values(key)] == [
            (v.name, v.type_num, v.data) for v in machine.values(key)]


def _mutate(data: bytes, seed: int, edits: int) -> bytes:
    """``data`` with ``edits`` random byte flips, inserts, deletions or a truncation."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(edits):
        at = rng.randrange(len(out) + 1)
        kind = rng.randrange(4)
        if kind == 0 and at < len(out):
            out[at] = rng.randrange(256)
        elif kind == 1:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif kind == 2:
            del out[at : at + rng.randrange(1, 9)]
        else:
            del out[at:]
    return bytes(out)


MUTATIONS = settings(max_examples=40, deadline=None)


@MUTATIONS
@given(change_sets(), st.integers(0, 2**32), st.integers(1, 8))
def test_mutated_reg_files_give_a_result_or_a_clean_error(case: tuple[Rendering, list[Op]], seed: int,
                                                          edits: int) -> None:
    rendering, ops = case
    with bounded(seconds=10, megabytes=64):
        assert reg_target(_mutate(rendering.encode(render(ops, not rendering.utf16)), seed, edits))


HIVES = [SAMPLES / "server2019-configured" / "SYSTEM", SAMPLES / "win7-sp1-configured" / "SOFTWARE"]


@settings(MUTATIONS, max_examples=20)  # each example runs check and dump with both backends
@given(st.sampled_from(HIVES), st.integers(0, 2**32), st.integers(1, 16))
def test_mutated_hives_give_a_result_or_a_clean_error(hive: Path, seed: int, edits: int) -> None:
    rng = random.Random(seed)
    data = bytearray(hive.read_bytes())
    for _ in range(edits):  # mostly in the hive bins, where the cells are; sometimes in the base block
        at = rng.randrange(4096 if rng.random() < 0.1 else len(data))
        data[at : at + 4] = rng.choice([rng.randbytes(4), b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x20\0\0\0"])
    with bounded(seconds=10, megabytes=64):
        assert hive_target(bytes(data))



# some roots wanted, others not, so that generated files mix sections read and sections skipped
SOME_ROOTS = Scope([("HKEY_LOCAL_MACHINE",), ("HKEY_USERS",)])


@PROPERTY
@given(change_sets(), st.integers(0, 2**32), st.integers(0, 6))
def test_skipping_unwanted_sections_changes_no_wanted_operation_and_no_diagnostic(
        tmp_path: Path, case: tuple[Rendering, list[Op]], seed: int, edits: int) -> None:
    rendering, ops = case
    data = rendering.encode(render(ops, not rendering.utf16))
    path = tmp_path / "generated.reg"
    path.write_bytes(_mutate(data, seed, edits) if edits else data)
    outcomes = []
    for wanted in (None, SOME_ROOTS):
        reader = RegReader(path, wanted=wanted)
        try:
            read = list(kept(reader, SOME_ROOTS))
        except SourceError as exc:
            outcomes.append(str(exc))
            continue
        outcomes.append((read, reader.diagnostics, reader.encoding))
    assert outcomes[0] == outcomes[1]
    jumping = RegReader(path, wanted=SOME_ROOTS, check_all=False)  # dump --key: lines outside are not checked
    try:
        assert list(kept(jumping, SOME_ROOTS)) == outcomes[0][0]
    except SourceError as exc:
        assert str(exc) == outcomes[0]
