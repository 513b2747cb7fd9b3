"""Table-driven tests of the .reg grammar: every rule, accepted and rejected forms, with diagnostic lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.sources import SourceError, regfile
from analyzer.sources.regfile import OpKind, read_reg

H5 = "Windows Registry Editor Version 5.00\n\n"
H4 = "REGEDIT4\n\n"
K = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\T]\n"
KP = "HKEY_LOCAL_MACHINE\\SOFTWARE\\T"


Ops = list[tuple[object, ...]]


def parse(tmp_path: Path, text: str | bytes, encoding: str = "utf-8") -> tuple[Ops, Ops]:
    """Ops as compact tuples, and diagnostics as (line, column, level, code)."""
    path = tmp_path / "t.reg"
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    result = read_reg(path)
    ops: list[tuple[object, ...]] = []
    for op in result.ops:
        where = "\\".join(op.path)
        if op.kind is OpKind.SET_VALUE:
            ops.append(("set", where, op.name, op.type_num, op.data.hex(), op.line))
        elif op.kind is OpKind.DELETE_VALUE:
            ops.append(("delete-value", where, op.name, op.line))
        else:
            ops.append((op.kind.value, where, op.line))
    return ops, [(d.line, d.column, d.level, d.code) for d in result.diagnostics]


def values(tmp_path: Path, text: str | bytes, encoding: str = "utf-8") -> list[tuple[object, ...]]:
    """Only the set-value operations, without the key path: (name, type, data hex, line)."""
    ops, _ = parse(tmp_path, text, encoding)
    return [(o[2], o[3], o[4], o[5]) for o in ops if o[0] == "set"]


# name, text, expected set-value ops (name, type, data hex, line), expected diagnostics (line, col, level, code)
GRAMMAR = [
    ("string", H5 + K + '"A"="x"\n', [("A", 1, "78000000", 4)], []),
    ("escapes", H5 + K + r'"A\"q"="a\\b\"c"' + "\n",
     [('A"q', 1, "61005c00620022006300" + "0000", 4)], []),
    ("backslash-zero-escaped", H5 + K + r'"A"="\\0"' + "\n", [("A", 1, "5c0030000000", 4)], []),
    ("bare-backslash-zero", H5 + K + r'"A"="\0"' + "\n", [], [(4, 6, "error", "bad-string")]),
    ("unknown-escape", H5 + K + r'"A"="\q"' + "\n", [("A", 1, "71000000", 4)], [(4, 6, "warning", "escape")]),
    ("missing-close-quote", H5 + K + '"A"="x\n', [], [(4, 7, "error", "bad-string")]),
    ("inner-quote", H5 + K + '"A"="a"b"\n', [], [(4, 8, "error", "bad-string")]),
    ("name-missing-quote", H5 + K + '"A=dword:1\n', [], [(4, 11, "error", "bad-name")]),
    ("no-quotes", H5 + K + "A=dword:1\n", [], [(4, 1, "error", "bad-line")]),
    ("default-at", H5 + K + '@="d"\n', [("", 1, "64000000", 4)], []),
    ("default-empty-name", H5 + K + '""="d"\n', [("", 1, "64000000", 4)], []),
    ("at-spaces", H5 + K + '@  =  "d"\n', [("", 1, "64000000", 4)], []),
    ("seed-indent-and-spaces", H5 + K + '    "SchUseStrongCrypto" = dword:00000001\n',
     [("SchUseStrongCrypto", 4, "01000000", 4)], []),
    ("dword-1-digit", H5 + K + '"A"=dword:1\n', [("A", 4, "01000000", 4)], []),
    ("dword-7-digits-entra", H5 + K + '"A"=dword:0000001\n', [("A", 4, "01000000", 4)], []),
    ("dword-8-digits", H5 + K + '"A"=dword:ffffffff\n', [("A", 4, "ffffffff", 4)], []),
    ("dword-upper", H5 + K + '"A"=dword:ABCDEF01\n', [("A", 4, "01efcdab", 4)], []),
    ("dword-9-digits", H5 + K + '"A"=dword:000000001\n', [], [(4, 11, "error", "bad-dword")]),
    ("dword-0x", H5 + K + '"A"=dword:0x1\n', [], [(4, 12, "error", "bad-dword")]),
    ("dword-space-inside", H5 + K + '"A"=dword:12 34\n', [], [(4, 14, "error", "bad-dword")]),
    ("dword-empty", H5 + K + '"A"=dword:\n', [], [(4, 11, "error", "bad-dword")]),
    ("dword-comment", H5 + K + '"A"=dword:1234;5678\n', [("A", 4, "34120000", 4)], []),
    ("dword-hash", H5 + K + '"A"=dword:1 #x\n', [], [(4, 13, "error", "bad-dword")]),
    ("dword-uppercase-type", H5 + K + '"A"=DWORD:1\n', [], [(4, 5, "error", "bad-type")]),
    ("qword-syntax", H5 + K + '"A"=qword:1\n', [], [(4, 5, "error", "bad-type")]),
    ("no-data", H5 + K + '"A"=\n', [], [(4, 5, "error", "bad-type")]),
    ("no-equals", H5 + K + '"A" dword:1\n', [], [(4, 5, "error", "bad-value")]),
    ("hex-binary", H5 + K + '"A"=hex:01,02,ff\n', [("A", 3, "0102ff", 4)], []),
    ("hex-trailing-comma", H5 + K + '"A"=hex:01,02,\n', [("A", 3, "0102", 4)], []),
    ("hex-empty", H5 + K + '"A"=hex:\n', [("A", 3, "", 4)], []),
    ("hex-n-empty", H5 + K + '"A"=hex(2):\n', [("A", 2, "", 4)], []),
    ("hex-byte-too-big", H5 + K + '"A"=hex:100\n', [], [(4, 9, "error", "bad-hex")]),
    ("hex-double-comma", H5 + K + '"A"=hex:01,,02\n', [], [(4, 12, "error", "bad-hex")]),
    ("hex-n-type-100", H5 + K + '"A"=hex(100):01\n', [("A", 0x100, "01", 4)], []),
    ("hex-n-max", H5 + K + '"A"=hex(ffffffff):01\n', [("A", 0xFFFFFFFF, "01", 4)], []),
    ("hex-n-overflow", H5 + K + '"A"=hex(100000000):01\n', [], [(4, 9, "error", "bad-type")]),
    ("hex-n-0x", H5 + K + '"A"=hex(0x2):01\n', [], [(4, 9, "error", "bad-type")]),
    ("hex-n-x", H5 + K + '"A"=hex(x2):01\n', [], [(4, 9, "error", "bad-type")]),
    ("hex-b-qword", H5 + K + '"A"=hex(b):01,00,00,00,00,00,00,00\n', [("A", 11, "0100000000000000", 4)], []),
    ("hex4-wrong-size-dword", H5 + K + '"A"=hex(4):01,02\n', [("A", 4, "0102", 4)], []),
    ("expand-utf16-in-5.00", H5 + K + '"A"=hex(2):25,00,41,00,00,00\n', [("A", 2, "250041000000", 4)], []),
    ("multi-single-terminator-not-doubled", H5 + K + '"A"=hex(7):41,00,00,00\n', [("A", 7, "41000000", 4)], []),
    ("expand-terminated-5.00", H5 + K + '"A"=hex(2):41,00\n', [("A", 2, "41000000", 4)], []),
    ("expand-8bit-in-regedit4", H4 + K + '"A"=hex(2):25,41,00\n', [("A", 2, "250041000000", 4)], []),
    ("multi-8bit-in-regedit4", H4 + K + '"A"=hex(7):41,00,42,00,00\n', [("A", 7, "41000000420000000000", 4)], []),
    ("continuation", H5 + K + '"A"=hex:01,02,\\\n  03,04\n', [("A", 3, "01020304", 4)], []),
    ("continuation-comment-line", H5 + K + '"A"=hex:01,\\\n; note\n  02\n', [("A", 3, "0102", 4)], []),
    ("continuation-semicolon-after", H5 + K + '"A"=hex:01,\\ ;c\n  02\n', [("A", 3, "0102", 4)], []),
    ("continuation-hash-after", H5 + K + '"A"=hex:01,\\#c\n"B"=dword:1\n', [("B", 4, "01000000", 5)],
     [(4, 13, "error", "bad-hex")]),
    ("continuation-broken-by-hash", H5 + K + '"A"=hex:01,\\\n#c\n"B"=dword:1\n',
     [("B", 4, "01000000", 6)], [(5, 1, "error", "bad-continuation")]),
    ("continuation-broken-by-key", H5 + K + '"A"=hex:01,\\\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\U]\n"B"=dword:1\n',
     [("B", 4, "01000000", 6)], [(5, 1, "error", "bad-continuation")]),
    ("continuation-at-eof", H5 + K + '"A"=hex:01,02,\\\n', [("A", 3, "0102", 4)],
     [(4, 1, "warning", "eof-continuation")]),
    ("string-not-continued", H5 + K + '"A"="x\\\n', [], [(4, 7, "error", "bad-string")]),
    ("delete-value", H5 + K + '"A"=-\n', [], []),
    ("delete-value-garbage", H5 + K + '"A"=-"x"\n', [], [(4, 6, "error", "bad-delete")]),
    ("comment-semicolon-after-string", H5 + K + '"A"="x" ;c\n', [("A", 1, "78000000", 4)], []),
    ("comment-hash-after-string", H5 + K + '"A"="x" #c\n', [], [(4, 9, "error", "bad-string")]),
    ("comment-lines", H5 + "; c\n# c\n   ;c\n" + K + '"A"=dword:1\n', [("A", 4, "01000000", 7)], []),
    ("name-with-equals-and-slash", H5 + K + '"a=b/c;d"=dword:1\n', [("a=b/c;d", 4, "01000000", 4)], []),
    ("value-before-key", H5 + '"A"=dword:1\n', [], [(3, 1, "error", "no-key")]),
    ("hklm-drops-values", H5 + "[HKLM\\SOFTWARE\\T]\n" + '"A"=dword:1\n' + K + '"B"=dword:2\n',
     [("B", 4, "02000000", 6)], [(3, 2, "error", "unknown-root"), (4, 1, "error", "no-key")]),
    ("values-after-delete-key", H5 + "[-" + K[1:] + '"A"=dword:1\n', [], [(4, 1, "error", "no-key")]),
    ("blank-after-bracket", H5 + K + "[ HKEY_LOCAL_MACHINE\\SOFTWARE\\U]\n" + '"A"=dword:1\n',
     [("A", 4, "01000000", 5)], [(4, 2, "error", "bad-key")]),
    ("text-after-bracket", H5 + "[HKEY_LOCAL_MACHINE\\SOFTWARE\\T] x\n" + '"A"=dword:1\n',
     [("A", 4, "01000000", 4)], [(3, 33, "warning", "after-key")]),
    ("value-on-key-line", H5 + '[HKEY_LOCAL_MACHINE\\SOFTWARE\\T] "A"=dword:0\n', [],
     [(3, 33, "error", "value-on-key-line")]),
    ("trailing-blank-key", H5 + "[HKEY_LOCAL_MACHINE\\SOFTWARE\\T ]\n", [], [(3, 31, "warning", "key-blank")]),
    ("crlf", (H5 + K + '"A"=dword:1\n').replace("\n", "\r\n"), [("A", 4, "01000000", 4)], []),
    ("cr-only", (H5 + K + '"A"=dword:1\n').replace("\n", "\r"), [("A", 4, "01000000", 4)], []),
    ("no-final-newline", H5 + K + '"A"=dword:1', [("A", 4, "01000000", 4)], []),
    ("leading-blanks-before-header", "  \tREGEDIT4\n\n" + K + '"A"=dword:1\n', [("A", 4, "01000000", 4)], []),
]


@pytest.mark.parametrize(("name", "text", "expected", "diags"), GRAMMAR, ids=[g[0] for g in GRAMMAR])
def test_grammar(tmp_path: Path, name: str, text: str, expected: list[tuple[object, ...]],
                 diags: list[tuple[object, ...]]) -> None:
    ops, found = parse(tmp_path, text)
    assert [(o[2], o[3], o[4], o[5]) for o in ops if o[0] == "set"] == expected
    assert found == diags


@pytest.mark.parametrize("header", ["regedit4", "Regedit4", "REGEDIT 4", "REGEDIT5", "REGEDIT4 FOO",
                                    "Windows Registry Editor Version 4.00", "Windows Registry Editor Version 5",
                                    "WINDOWS REGISTRY EDITOR VERSION 5.00", "Windows Registry Editor version 5.00",
                                    "Windows Registry Editor Version 5.00 "])
def test_rejected_headers_import_nothing(tmp_path: Path, header: str) -> None:
    ops, diags = parse(tmp_path, header + "\n\n" + K + '"A"=dword:1\n')
    assert ops == []
    assert len(diags) == 1 and diags[0][:3] == (1, 1, "error")
    assert diags[0][3] in ("bad-header", "fuzzy-header")


def test_header_must_be_first_line(tmp_path: Path) -> None:
    ops, diags = parse(tmp_path, "\n" + H5 + K + '"A"=dword:1\n')
    assert (ops, diags) == ([], [(1, 1, "error", "bad-header")])


def test_key_operations(tmp_path: Path) -> None:
    text = (H5 + "[HKEY_LOCAL_MACHINE\\SOFTWARE\\T\\\\]\n" + "[hkey_local_MACHINE\\SOFTWARE\\U]\n"
            + "[-HKEY_LOCAL_MACHINE\\SOFTWARE\\V]\n" + "[- HKEY_LOCAL_MACHINE\\SOFTWARE\\W]\n" + K + '"A"=-\n')
    ops, diags = parse(tmp_path, text)
    assert ops == [
        ("create-key", KP, 3),
        ("create-key", "HKEY_LOCAL_MACHINE\\SOFTWARE\\U", 4),
        ("delete-key", "HKEY_LOCAL_MACHINE\\SOFTWARE\\V", 5),
        ("create-key", KP, 7),
        ("delete-value", KP, "A", 8),
    ]
    assert diags == [(6, 3, "error", "bad-delete")]


def test_key_with_empty_component_is_rejected(tmp_path: Path) -> None:
    ops, diags = parse(tmp_path, H5 + "[HKEY_LOCAL_MACHINE\\SOFTWARE\\\\T]\n" + '"A"=dword:1\n')
    assert ops == []
    assert diags == [(3, 2, "error", "bad-key"), (4, 1, "error", "no-key")]


def test_utf16le_with_bom(tmp_path: Path) -> None:
    text = "\ufeff" + (H5 + K + '"A"="é"\n"B"=hex(7):41,00,00,00,00,00\n').replace("\n", "\r\n")
    path = tmp_path / "t.reg"
    path.write_bytes(text.encode("utf-16-le"))
    result = read_reg(path)
    assert (result.encoding, result.version) == ("utf-16le", "5.00")
    assert [(o.name, o.type_num, o.data.hex()) for o in result.ops if o.kind is OpKind.SET_VALUE] == [
        ("A", 1, "e9000000"), ("B", 7, "410000000000")]
    assert result.diagnostics == []


@pytest.mark.parametrize(("raw", "encoding", "data"), [
    (b'"A"="\xe9"', "cp1252", "e9000000"),                 # 8-bit ANSI (regedit's system code page)
    (b'"A"="\xc3\xa9"', "utf-8", "e9000000"),              # UTF-8 without BOM, common in repositories
    (b'"A"="x"', "ascii", "78000000"),
])
def test_8bit_encodings(tmp_path: Path, raw: bytes, encoding: str, data: str) -> None:
    path = tmp_path / "t.reg"
    path.write_bytes(H4.encode() + K.encode() + raw + b"\n")
    result = read_reg(path)
    assert result.encoding == encoding
    assert [o.data.hex() for o in result.ops if o.kind is OpKind.SET_VALUE] == [data]


def test_utf8_bom_accepted_with_warning(tmp_path: Path) -> None:
    ops, diags = parse(tmp_path, b"\xef\xbb\xbf" + (H5 + K + '"A"=dword:1\n').encode())
    assert [o[:3] for o in ops if o[0] == "set"] == [("set", KP, "A")]
    assert diags == [(1, 1, "warning", "utf8-bom")]
    assert read_reg(tmp_path / "t.reg").encoding == "utf-8-bom"


@pytest.mark.parametrize(("data", "code"), [
    ((H5 + K).encode("utf-16-le"), "encoding"),            # UTF-16 without BOM: regedit reads it as 8-bit
    (b"\xfe\xff" + (H5 + K).encode("utf-16-be"), "encoding"),
])
def test_utf16_regedit_cannot_read(tmp_path: Path, data: bytes, code: str) -> None:
    ops, diags = parse(tmp_path, data)
    assert ops == [] and diags == [(1, 1, "error", code)]


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02\x03garbage\x00\xff" * 10, bytes(range(256)) * 4])
def test_not_a_reg_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "junk.reg"
    path.write_bytes(data)
    with pytest.raises(SourceError, match=r"junk\.reg: "):
        read_reg(path)


def test_win31_format(tmp_path: Path) -> None:
    ops, diags = parse(tmp_path, "REGEDIT\nHKEY_CLASSES_ROOT\\Wine = V\n")
    assert [o for o in ops if o[0] == "set"] == [("set", "HKEY_CLASSES_ROOT\\Wine", "", 1, "56000000", 2)]
    assert diags == [(1, 1, "warning", "win31")]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
@pytest.mark.parametrize("utf16", [False, True])
def test_chunk_boundaries_do_not_change_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   chunk: int, utf16: bool) -> None:
    """A CRLF or a UTF-16 character split across read chunks is still one line break / character."""
    text = (H5 + K + '"A"="é"\n"B"=hex:01,\\\n  02\n').replace("\n", "\r\n")
    data = ("\ufeff" + text).encode("utf-16-le") if utf16 else text.encode("utf-8")
    path = tmp_path / "t.reg"
    path.write_bytes(data)
    expected = [(o.name, o.data, o.line) for o in read_reg(path).ops]
    monkeypatch.setattr(regfile, "_CHUNK", chunk)
    assert [(o.name, o.data, o.line) for o in read_reg(path).ops] == expected
    assert expected[-2:] == [("A", "é\0".encode("utf-16-le"), 4), ("B", b"\x01\x02", 5)]


def test_seed_snippets_exactly_as_published(tmp_path: Path) -> None:
    seed = (H5 + "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
            "\\TLS 1.2\\Client]\n    \"Enabled\"=dword:00000001\n\n"
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
            "\\TLS 1.2\\Client]\n    \"DisabledByDefault\"=dword:00000000\n")
    assert values(tmp_path, seed) == [("Enabled", 4, "01000000", 4), ("DisabledByDefault", 4, "00000000", 7)]


@pytest.mark.parametrize(("newlines", "expected"), [
    (["\r\n"] * 5, []),
    (["\n"] * 5, []),
    (["\r\n", "\r\n", "\n", "\r\n", "\r\n"], [(3, None, "warning", "mixed-newlines")]),
    (["\n", "\n", "\n", "\r", "\n"], [(4, None, "warning", "mixed-newlines")]),
    (["\r\n", "\r", "\n", "\r", "\r\n"], [(2, None, "warning", "mixed-newlines")]),  # once, where it starts
])
@pytest.mark.parametrize("utf16", [False, True])
def test_mixed_line_endings_are_a_warning_at_the_first_odd_line(
        tmp_path: Path, newlines: list[str], expected: list[tuple[object, ...]], utf16: bool) -> None:
    lines = ["Windows Registry Editor Version 5.00", "", K.strip(), '"A"=dword:00000001', '"B"="x"']
    text = "".join(line + end for line, end in zip(lines, newlines, strict=True))
    data = ("\ufeff" + text).encode("utf-16-le") if utf16 else text.encode()
    ops, diagnostics = parse(tmp_path, data)
    assert diagnostics == expected
    assert [(op[2], op[5]) for op in ops if op[0] == "set"] == [("A", 4), ("B", 5)]


def test_mixed_encodings_are_a_warning_at_the_first_line_that_differs(tmp_path: Path) -> None:
    utf8, ansi = '"A"="café"\n'.encode(), '"B"="café"\n'.encode("cp1252")
    _, diagnostics = parse(tmp_path, (H4 + K).encode() + utf8 + ansi + utf8)
    assert diagnostics == [(1, None, "note", "utf8-text"), (5, None, "warning", "mixed-encoding")]
    _, diagnostics = parse(tmp_path, (H4 + K).encode() + ansi + ansi + utf8)
    assert diagnostics == [(1, None, "note", "utf8-text"), (6, None, "warning", "mixed-encoding")]
    _, diagnostics = parse(tmp_path, (H4 + K).encode() + ansi + ansi)
    assert diagnostics == []
    path = tmp_path / "t.reg"
    path.write_bytes((H4 + K).encode() + utf8 + ansi)
    assert read_reg(path).encoding == "mixed-utf8-cp1252"
