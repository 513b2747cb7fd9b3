"""Streaming reader of regedit ``.reg`` files that accepts and rejects exactly what Windows regedit does.

The rules follow Wine's regedit/reg import tests, which run on real Windows (see
``../shared/knowledge/regedit-conformance``): a line Windows rejects becomes a diagnostic and the rest
of the file still imports.  A file is a *change set*: an ordered list of key and value operations.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, AnyStr, BinaryIO

from analyzer.registry import (
    ABBREVIATED_ROOTS,
    MAX_DEPTH,
    REG_BINARY,
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_SZ,
    ROOTS,
    Path,
)
from analyzer.sources import Diagnostic, Level, SourceError
from analyzer.sources.evidence import open_evidence

if TYPE_CHECKING:
    from analyzer.knowledge.scope import Scope

HEADER_4 = "REGEDIT4"
HEADER_5 = "Windows Registry Editor Version 5.00"
HEADER_31 = "REGEDIT"
_CHUNK = 1 << 18
_NEWLINE = re.compile(r"\r\n|\r|\n")
_LINE_B = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_HEX = frozenset("0123456789abcdefABCDEF")
_CSPACE = " \t\n\r\v\f"
_MAX_KEY_NAME = 255
FLOOD = 100  # diagnostics listed per kind and message; the rest are counted in one more
_PLAIN = re.compile(r'[^\\"]*')
# continuation lines of hex bytes and commas ending in '\' (_hex_run keeps them when every byte has two digits)
_HEX_RUN = re.compile(r"(?:[ \t]*[0-9a-fA-F,]+\\(?:\r\n|\r|\n))+")
_BLANKS = str.maketrans(",", " ", " \t\\\r\n")


class OpKind(Enum):
    """What one ``.reg`` operation does."""

    CREATE_KEY = "create-key"
    DELETE_KEY = "delete-key"
    SET_VALUE = "set-value"
    DELETE_VALUE = "delete-value"


@dataclass(frozen=True, slots=True)
class Op:
    """One change a ``.reg`` file makes, with the line (and column) it comes from."""

    kind: OpKind
    path: Path
    line: int
    name: str | None = None
    type_num: int = 0
    data: bytes = b""
    column: int = 1


@dataclass
class RegFile:
    """A fully read ``.reg`` file: its operations in order, its diagnostics and what was detected."""

    path: str
    encoding: str
    version: str | None
    ops: list[Op] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def read_reg(path: FsPath, display: str | None = None) -> RegFile:
    """Read a whole ``.reg`` file into a :class:`RegFile` (raises :class:`SourceError` if unreadable)."""
    reader = RegReader(path, display)
    ops = list(reader)
    return RegFile(reader.display, reader.encoding, reader.version, ops, reader.diagnostics)


def _cp1252(raw: bytes) -> str:
    """Decode 8-bit text as Windows-1252, mapping its five undefined bytes as MultiByteToWideChar does."""
    return raw.decode("cp1252", errors="latin1fallback")


def _latin1_fallback(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("latin1fallback", _latin1_fallback)


class _Hashed:
    """A file read for the parse whose bytes also feed a digest (one read of the evidence serves both)."""

    def __init__(self, fh: BinaryIO, digest: hashlib._Hash) -> None:
        self._fh, self._digest = fh, digest

    def read(self, size: int) -> bytes:
        data = self._fh.read(size)
        self._digest.update(data)
        return data


def _chunks(fh: BinaryIO | _Hashed, first: bytes) -> Iterator[bytes]:
    """Yield ``first`` and then the rest of the file in chunks."""
    yield first
    del first
    while chunk := fh.read(_CHUNK):
        yield chunk


def _utf16(chunks: Iterator[bytes]) -> Iterator[str]:
    """Decode UTF-16LE chunks; like regedit, an odd last byte is ignored."""
    decoder = codecs.getincrementaldecoder("utf-16-le")("surrogatepass")
    for chunk in chunks:
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=False)


def _line_blocks(pieces: Iterator[AnyStr], cr: AnyStr, lf: AnyStr, backslash: AnyStr) -> Iterator[AnyStr]:
    """Regroup text pieces into blocks that end just after a line break (the last block: at the end of the text).

    A block preferably ends where no hex value continues onto the next line, so that the reader can skip a
    value in one step.  A CR at a piece's end waits in case an LF follows; a piece without a line break is kept
    until one comes, so a line spanning many pieces costs linear time.
    """
    empty = cr[:0]
    held: list[AnyStr] = []
    for piece in pieces:
        cut = _cut(piece, cr, lf, backslash)
        if cut == 0:
            held.append(piece)
            continue
        held.append(piece[:cut])
        yield empty.join(held)
        held = [piece[cut:]]
    rest = empty.join(held)
    if rest:
        yield rest


def _cut(piece: AnyStr, cr: AnyStr, lf: AnyStr, backslash: AnyStr) -> int:
    """Where to end a block in ``piece``: after its last LF that ends no continued line, looking back through at
    most half of it; else after its last line break; 0 when it has none (a lone CR at its end does not count)."""
    limit = len(piece)
    for _ in range(64):
        if (at := piece.rfind(lf, 0, limit)) < len(piece) // 2:
            break
        end = at - 1 if at > 0 and piece[at - 1 : at] == cr else at
        if piece[end - 1 : end] != backslash:
            return at + 1
        limit = at
    return max(piece.rfind(lf), piece.rfind(cr, 0, len(piece) - 1)) + 1


def _hex_run(block: str, pos: int) -> tuple[bytes | None, int, int]:
    """The continuation lines of hex bytes at ``pos``: their bytes (None unless every line is blanks, then
    two-digit bytes each followed by a comma, then the continuing backslash: the form regedit writes, decoded
    here in one step; other lines are left to the line parser), where they end and how many lines they are."""
    run = _HEX_RUN.match(block, pos)
    if run is None:
        return None, pos, 0
    text = run.group()
    lines = text.count("\\")  # one per line: the pattern allows a backslash only before the line break
    digits = text.translate(_BLANKS)  # commas become spaces, which bytes.fromhex skips
    if (text.count(",\\") != lines or len(digits) % 3 or digits[2::3].count(" ") != len(digits) // 3
            or " " in digits[0::3] or " " in digits[1::3]):
        return None, run.end(), lines
    return bytes.fromhex(digits), run.end(), lines


def _lines_in(block: str, start: int, end: int) -> int:
    """The number of line breaks (CRLF, CR or LF) in ``block[start:end]``."""
    return block.count("\n", start, end) + block.count("\r", start, end) - block.count("\r\n", start, end)


# Lines the reader would accept without any diagnostic: blank and comment lines, and value lines in the
# commonest forms (plain quoted names and strings, dword: with 1-8 digits, hex bytes of two digits with
# regedit's continuations).  The string types (1, 2, 7) only with an even number of bytes: odd UTF-16 data
# has a warning.  In a section whose operations nobody wants, runs of these lines are skipped unparsed.
_NL = r"(?:\r\n|\r|\n)"
_QUOTED = r'"(?:[^"\\\r\n\0]|\\[\\"nr])*"'
_BYTE = r"[0-9a-fA-F]{2}"
_SEP = r"(?:,|,\\" + _NL + r"[ \t]*)"
_ANY_BYTES = rf"(?:{_BYTE}(?:{_SEP}{_BYTE})*)?"
_EVEN_BYTES = rf"(?:{_BYTE}{_SEP}{_BYTE}(?:{_SEP}{_BYTE}{_SEP}{_BYTE})*)?"
_STRING_TYPE = r"hex\(0{0,7}[127]\):"
_OTHER_HEX = r"hex(?:\((?!0{0,7}[127]\))[0-9a-fA-F]{1,8}\))?:"
_DATA = (rf"(?:{_QUOTED}|dword:[ \t]*[0-9a-fA-F]{{1,8}}|-|{_STRING_TYPE}{_EVEN_BYTES}|{_OTHER_HEX}{_ANY_BYTES})")
_TRAIL = r"[ \t]*(?:;[^\r\n\0]*)?"
_SKIPPABLE_PATTERN = rf"(?:[ \t]*(?:[;#][^\r\n\0]*|(?:{_QUOTED}|@)[ \t]*=[ \t]*{_DATA}{_TRAIL})?{_NL})+"


@functools.cache
def _skippable() -> re.Pattern[str]:
    """The compiled pattern of skippable lines (compiled on first use: it takes a few milliseconds)."""
    return re.compile(_SKIPPABLE_PATTERN)


def wcstoul16(s: str, i: int) -> tuple[int, int, bool]:
    """Parse like C ``wcstoul(s + i, &end, 16)`` with a 32-bit result: (value, end index, overflowed)."""
    n = len(s)
    j = i
    while j < n and s[j] in _CSPACE:
        j += 1
    negative = False
    if j < n and s[j] in "+-":
        negative = s[j] == "-"
        j += 1
    if j + 2 < n and s[j] == "0" and s[j + 1] in "xX" and s[j + 2] in _HEX:
        j += 2
    start = j
    while j < n and s[j] in _HEX:
        j += 1
    if j == start:
        return 0, i, False
    value = int(s[start:j], 16)
    if value > 0xFFFFFFFF:
        return 0xFFFFFFFF, j, True
    return ((-value) & 0xFFFFFFFF if negative else value), j, False


def _skip_blanks(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t":
        i += 1
    return i


def _rest_is_comment(s: str, i: int) -> bool:
    """True when only blanks, optionally followed by a ``;`` comment, remain from ``i``."""
    i = _skip_blanks(s, i)
    return i >= len(s) or s[i] == ";"


def parse_root(text: str) -> tuple[str | None, str | None]:
    """Split ``ROOT\\rest`` into the canonical root name (None if regedit does not know it) and the rest."""
    head, sep, rest = text.partition("\\")
    root = head.upper()
    return (root if root in ROOTS else None), (rest if sep else None)


@dataclass
class _Hex:
    """A hex value being assembled across continuation lines."""

    name: str
    type_num: int
    line: int
    column: int
    data: bytearray


class _Unescaped:
    """Result of reading a quoted string: text and where parsing stopped, or the reason it failed."""

    __slots__ = ("end", "error", "text", "warnings")

    def __init__(self, text: str, end: int, error: str | None, warnings: list[tuple[int, str]]) -> None:
        self.text, self.end, self.error, self.warnings = text, end, error, warnings


def unescape(s: str, i: int) -> _Unescaped:
    r"""Read quoted text starting after the opening quote: ``\\``, ``\"`` (and ``\n``, ``\r``) are escapes."""
    out: list[str] = []
    warnings: list[tuple[int, str]] = []
    n = len(s)
    while i < n:
        plain = _PLAIN.match(s, i).end()  # type: ignore[union-attr]  # it matches, if only the empty string
        if plain > i:
            out.append(s[i:plain])
            i = plain
            continue
        ch = s[i]
        if ch == "\\":
            i += 1
            if i >= n:
                return _Unescaped("", i - 1, "a backslash ends the line inside quotes", warnings)
            esc = s[i]
            if esc == "0":
                return _Unescaped("", i - 1, "'\\0' is not allowed inside quotes (write '\\\\0' for a backslash)",
                                  warnings)
            if esc in "nr":
                out.append("\n" if esc == "n" else "\r")
            else:
                if esc not in '\\"':
                    warnings.append((i - 1, f"unknown escape '\\{esc}' is read as '{esc}'"))
                out.append(esc)
        elif ch == '"':
            return _Unescaped("".join(out), i + 1, None, warnings)
        else:
            out.append(ch)
        i += 1
    return _Unescaped("", i, "the closing quote is missing", warnings)


class RegReader:
    """Iterate over the operations of one ``.reg`` file; read ``diagnostics`` after iterating."""

    def __init__(self, path: FsPath, display: str | None = None, wanted: Scope | None = None,
                 check_all: bool = True) -> None:
        self.path = path
        self.display = display or str(path)
        self._wanted = wanted  # None: every operation is wanted; else the keys whose operations are
        self._skipping = False
        # with check_all false, the reader jumps from an unwanted section to the next key line in the scope:
        # the lines in between are neither parsed nor checked
        self._jump = None if check_all or wanted is None else wanted.key_lines()
        self.encoding = "unknown"
        self.version: str | None = None
        self.diagnostics: list[Diagnostic] = []
        self.sha256: str | None = None  # of the whole file, taken from the same reads as the parse, once iterated
        self._counts: dict[tuple[str, str, str], int] = {}  # diagnostics of each kind and message
        self._first_unlisted: dict[tuple[str, str, str], Diagnostic] = {}
        self._unicode = False
        self._key: Path | None = None
        self._no_key_reason = "no key line comes before it"
        self._pending: _Hex | None = None
        self._lineno = 0
        self._seen_utf8 = self._seen_ansi = 0  # the first line of each kind
        self._at_start = True
        self._newline: str | None = None
        self._mixed_newlines = self._mixed_encodings = False

    # -- diagnostics -------------------------------------------------------------------------------
    def _diag(self, level: Level, code: str, message: str, column: int | None = None,
              line: int | None = None, key: str | None = None) -> None:
        kind = (level, code, message)
        seen = self._counts[kind] = self._counts.get(kind, 0) + 1
        if seen <= FLOOD:
            self.diagnostics.append(Diagnostic(self.display, line or self._lineno, level, code, message, column, key))
        elif seen == FLOOD + 1:
            self._first_unlisted[kind] = Diagnostic(self.display, line or self._lineno, level, code, message, column,
                                                    key)

    def _unlisted(self) -> None:
        """A flood of one diagnostic is listed FLOOD times; one more names the next line and counts the rest."""
        for kind, first in self._first_unlisted.items():
            rest = self._counts[kind] - FLOOD - 1
            if rest:
                first = Diagnostic(first.file, first.line, first.level, first.code, f"{first.message} (and {rest} "
                                   "more line(s) after this one with the same problem, not listed)", first.column,
                                   first.key)
            self.diagnostics.append(first)

    # -- reading lines -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Op]:
        try:
            fh = open_evidence(self.path)  # closed in finally, the generator owns it
        except OSError as exc:
            raise SourceError(f"{self.display}: cannot open: {exc.strerror or exc}") from None
        digest = hashlib.sha256()
        try:
            yield from self._run(_Hashed(fh, digest))
            while chunk := fh.read(_CHUNK):  # what the parse did not need (a file rejected at its first line)
                digest.update(chunk)
            self.sha256 = digest.hexdigest()
        except OSError as exc:
            raise SourceError(f"{self.display}: read error: {exc.strerror or exc}") from None
        finally:
            fh.close()
        self._unlisted()
        self.diagnostics.sort(key=Diagnostic.sort_key)

    def _run(self, fh: _Hashed) -> Iterator[Op]:
        head = fh.read(max(_CHUNK, 4))
        if not head:
            raise SourceError(f"{self.display}: empty file, not a .reg file")
        if head.startswith(b"\xff\xfe"):
            self._unicode = True
            self.encoding = "utf-16le"
            blocks = _line_blocks(_utf16(_chunks(fh, head[2:])), "\r", "\n", "\\")
        elif head.startswith(b"\xfe\xff"):
            self.encoding = "utf-16be"
            self._reject_file(head[2:].decode("utf-16-be", "replace"), "UTF-16 big-endian text: regedit only "
                              "reads UTF-16 little-endian (BOM FF FE) or 8-bit files, so it imports nothing")
            return
        elif len(head) > 1 and head[1] == 0 and head[0] != 0:
            self.encoding = "utf-16le-no-bom"
            self._reject_file(head[: len(head) & ~1].decode("utf-16-le", "replace"), "UTF-16 text without a "
                              "byte-order mark: regedit reads it as 8-bit text and imports nothing")
            return
        else:
            sample = head[:4096]
            if b"\0" in sample or sum(b < 32 and b not in b"\t\r\n\f" for b in sample) > len(sample) // 10:
                raise SourceError(f"{self.display}: binary data, not a .reg file")
            blocks = map(self._decode_8bit, _line_blocks(_chunks(fh, head), b"\r", b"\n", b"\\"))
        yield from self._read(blocks)
        yield from self._finish()
        if not self._unicode and self.encoding != "utf-8-bom":
            self.encoding = ("mixed-utf8-cp1252" if self._seen_utf8 and self._seen_ansi else
                             "utf-8" if self._seen_utf8 else "cp1252" if self._seen_ansi else "ascii")
            if self._seen_utf8:
                self._diag("note", "utf8-text", "non-ASCII UTF-8 text: regedit reads 8-bit files in the system "
                           "code page, so these characters may import differently", line=1)

    def _reject_file(self, text: str, message: str) -> None:
        first = _NEWLINE.split(text, 1)[0].lstrip("\ufeff")
        if not first.lstrip(" \t").startswith((HEADER_31, "Windows Registry Editor")):
            raise SourceError(f"{self.display}: not a .reg file ({message.split(':')[0]})")
        self._lineno = 1
        self._diag("error", "encoding", message, 1)

    def _truncate_nul(self, text: str) -> str:
        cut = text.find("\0")
        if cut < 0:
            return text
        self._diag("error", "nul", "NUL character: regedit ignores the rest of this line", cut + 1)
        return text[:cut]

    def _read(self, blocks: Iterator[str]) -> Iterator[Op]:
        """Read the header line, then every line; in a section nobody wants, skip runs of plain lines unparsed."""
        header = True
        for block in blocks:
            if not self._mixed_newlines:
                self._check_newlines(block)
            pos, n = 0, len(block)
            parse_until = 0
            while pos < n:
                if self._skipping and self._pending is None and not header:
                    if self._jump is not None:
                        end = self._next_key_line(block, pos)
                    else:
                        skipped = _skippable().match(block, pos)
                        end = skipped.end() if skipped is not None else pos
                    if end > pos:
                        self._lineno += _lines_in(block, pos, end)
                        pos = end
                        continue
                if self._pending is not None and pos >= parse_until:
                    data, end, lines = _hex_run(block, pos)
                    if data is not None:
                        self._pending.data += data
                        self._lineno += lines
                        pos = end
                        continue
                    parse_until = end  # these lines go through the line parser (each once)
                start = pos
                brk = _NEWLINE.search(block, start)
                end, pos = (brk.start(), brk.end()) if brk is not None else (n, n)
                self._lineno += 1
                line = self._truncate_nul(block[start:end])
                if header:
                    header = False
                    if not self._header(line):
                        return
                    continue
                yield from self._line(line)

    def _check_newlines(self, block: str) -> None:
        """Warn once when lines end in more than one way (CRLF, LF, a lone CR): regedit ends a line at each, so a
        file assembled from several editors may break lines where its author sees none."""
        crlf = block.count("\r\n")
        kinds = {kind for kind, count in (("CRLF", crlf), ("LF", block.count("\n") - crlf),
                                         ("CR", block.count("\r") - crlf)) if count}
        if self._newline is None and kinds:
            first = _NEWLINE.search(block)
            assert first is not None
            self._newline = {"\r\n": "CRLF", "\n": "LF", "\r": "CR"}[first.group()]
        other = sorted(kinds - {self._newline})
        if not other:
            return
        pattern = {"CRLF": r"\r\n", "LF": r"(?<!\r)\n", "CR": r"\r(?!\n)"}[other[0]]
        found = re.search(pattern, block)
        assert found is not None
        self._mixed_newlines = True
        line = self._lineno + _lines_in(block, 0, found.start()) + 1
        self._diag("warning", "mixed-newlines", f"this line ends with {other[0]} while the file's lines end with "
                   f"{self._newline}: regedit ends a line at CRLF, LF and a lone CR alike, so mixed line endings "
                   "may split lines an editor shows whole; save the file with one kind", line=line)

    def _next_key_line(self, block: str, pos: int) -> int:
        """Where the next line that may be a key line in the scope starts (the end of the block if none)."""
        assert self._jump is not None
        while (at := block.find("[", pos)) >= 0:
            start = at
            while start > 0 and block[start - 1] in " \t":
                start -= 1
            if (start == 0 or block[start - 1] in "\r\n") and self._jump.match(block, at):
                return start
            pos = at + 1
        return len(block)

    def _decode_8bit(self, raw: bytes) -> str:
        """Decode a block of lines: ASCII at once, else each line as UTF-8 when valid, else as Windows-1252.

        The block starts at line ``self._lineno + 1`` (blocks are decoded as the reader reaches them).
        """
        first, self._at_start = self._at_start, False
        if raw.isascii():
            return raw.decode("ascii")
        return "".join(self._decode_line(line, first and n == 0, self._lineno + n + 1)
                       for n, line in enumerate(_LINE_B.findall(raw)))

    def _decode_line(self, raw: bytes, first: bool, lineno: int) -> str:
        """Decode one line (with its line break); a UTF-8 BOM at the start of the file is kept."""
        bom = "\ufeff" if first and raw.startswith(codecs.BOM_UTF8) else ""
        if bom:
            raw = raw[3:]
        if raw.isascii():
            return bom + raw.decode("ascii")
        try:
            text = raw.decode("utf-8")
            kind, seen = "UTF-8", self._seen_ansi
            self._seen_utf8 = self._seen_utf8 or lineno
        except UnicodeDecodeError:
            text = _cp1252(raw)
            kind, seen = "not UTF-8 (read as Windows-1252)", self._seen_utf8
            self._seen_ansi = self._seen_ansi or lineno
        if seen and not self._mixed_encodings:
            self._mixed_encodings = True
            self._diag("warning", "mixed-encoding", f"this line is {kind}, unlike line {seen}: the file mixes "
                       "encodings, and regedit reads every line of an 8-bit file in the system code page, so some "
                       "text imports garbled; save the file as UTF-16LE (regedit's own format)", line=lineno)
        return bom + text

    # -- header ------------------------------------------------------------------------------------
    def _header(self, line: str) -> bool:
        if line.startswith("\ufeff") and not self._unicode:
            line = line[1:]
            self.encoding = "utf-8-bom"
            self._diag("warning", "utf8-bom", "UTF-8 byte-order mark: regedit may refuse this file as 'not a "
                       "registry script'; save it as UTF-16LE (regedit's own format) or without the BOM", 1)
        text = line.lstrip(" \t")
        if text == HEADER_5:
            self.version = "5.00"
        elif text == HEADER_4:
            self.version = "4"
        elif text == HEADER_31:
            self.version = "3.1"
            self._diag("warning", "win31", "Windows 3.1 'REGEDIT' format: only HKEY_CLASSES_ROOT default values "
                       "can be set", 1)
        elif text.startswith(HEADER_31):
            self._diag("error", "fuzzy-header", f"header {text!r} is accepted by regedit but nothing in the file "
                       "is imported; the first line must be exactly 'Windows Registry Editor Version 5.00' "
                       "or 'REGEDIT4'", 1)
            return False
        else:
            shown = text if len(text) <= 60 else text[:57] + "..."
            self._diag("error", "bad-header", f"not a registry script: the first line is {shown!r}, but regedit "
                       "needs exactly 'Windows Registry Editor Version 5.00' or 'REGEDIT4' (case-sensitive)", 1)
            return False
        return True

    # -- the line state machine --------------------------------------------------------------------
    def _line(self, s: str) -> Iterator[Op]:
        if self._pending is not None:
            yield from self._continuation(s)
            return
        if self.version == "3.1":
            yield from self._win31(s)
            return
        i = _skip_blanks(s, 0)
        if i >= len(s):
            return
        ch = s[i]
        if ch == "[":
            yield from self._key_line(s, i + 1)
        elif ch == "@":
            yield from self._data_start(s, i + 1, "", i + 1)
        elif ch == '"':
            name = unescape(s, i + 1)
            self._escape_warnings(name)
            if name.error:
                self._diag("error", "bad-name", f"value name: {name.error}; regedit skips this line", name.end + 1)
                return
            yield from self._data_start(s, name.end, name.text, i + 1)
        elif ch not in ";#":
            self._diag("error", "bad-line", "not a key, value or comment line; regedit skips it", i + 1)

    def _escape_warnings(self, u: _Unescaped) -> None:
        for col, message in u.warnings:
            self._diag("warning", "escape", message, col + 1)

    def _key_line(self, s: str, i: int) -> Iterator[Op]:
        if i < len(s) and s[i] in " \t":
            self._diag("error", "bad-key", "blank after '[': regedit skips this key line, so the values below "
                       "go to the previous key", i + 1)
            return
        close = s.rfind("]", i)
        if close < 0:
            self._diag("error", "bad-key", "missing ']': regedit skips this key line, so the values below go to "
                       "the previous key", len(s) + 1)
            return
        if not _rest_is_comment(s, close + 1):
            after = _skip_blanks(s, close + 1)
            if s[after] in '"@':
                self._diag("error", "value-on-key-line", "a value on the key line is ignored by regedit: put it "
                           "on a line of its own", after + 1)
            else:
                self._diag("warning", "after-key", "text after ']' is ignored", after + 1)
        text = s[i:close]
        if text.startswith("-"):
            self._set_key(None, f"the key line at line {self._lineno} deletes a key")
            yield from self._delete_key(text[1:], i + 1)
            return
        self._set_key(None, f"the key line at line {self._lineno} is rejected")
        path = self._key_path(text, i)
        if path is not None:
            self._set_key(path, "")
            if path[-1] != path[-1].rstrip(" \t"):
                self._diag("warning", "key-blank", f"key name {path[-1]!r} ends with a blank: it names a "
                           "different key than the one without it", close)
            yield Op(OpKind.CREATE_KEY, path, self._lineno, column=i)

    def _set_key(self, path: Path | None, reason: str) -> None:
        self._key = path
        self._no_key_reason = reason
        self._skipping = (path is not None and self._wanted is not None and self.version in ("5.00", "4")
                          and not self._wanted(path))

    def _key_path(self, text: str, col: int) -> Path | None:
        root, rest = parse_root(text)
        if root is None:
            head = text.partition("\\")[0]
            full = ABBREVIATED_ROOTS.get(head.upper())
            hint = f"; write {full}" if full else "; regedit knows only the full root names"
            self._diag("error", "unknown-root", f"unknown root key {head!r}: regedit ignores this key and its "
                       f"values until the next key line{hint}", col + 1, key=text)
            return None
        parts = (rest or "").rstrip("\\").split("\\") if rest else []
        if any(not p for p in parts):
            self._diag("error", "bad-key", "empty key name (two backslashes in a row): regedit cannot open "
                       "this key and ignores its values", col + 1, key=text)
            return None
        if any(len(p) > _MAX_KEY_NAME for p in parts):
            self._diag("error", "bad-key", f"a key name is longer than {_MAX_KEY_NAME} characters: regedit "
                       "cannot create it", col + 1, key=text)
            return None
        if len(parts) > MAX_DEPTH:
            self._diag("error", "bad-key", f"the key path is {len(parts)} levels deep, but a registry tree is at "
                       f"most {MAX_DEPTH} deep: regedit cannot create it", col + 1, key=text)
            return None
        return (root, *parts)

    def _delete_key(self, text: str, col: int) -> Iterator[Op]:
        root, rest = parse_root(text) if text[:1] in ("H", "h") else (None, None)
        parts = tuple(p for p in (rest or "").split("\\") if p) if root else ()
        if root is None or not parts:
            what = "a root key cannot be deleted" if root else "the path after '[-' is not a valid key"
            self._diag("error", "bad-delete", f"{what}: regedit stops or skips here and deletes nothing",
                       col + 1, key=text)
            return
        yield Op(OpKind.DELETE_KEY, (root, *parts), self._lineno, column=col)

    def _data_start(self, s: str, i: int, name: str, col: int) -> Iterator[Op]:
        i = _skip_blanks(s, i)
        if i >= len(s) or s[i] != "=":
            self._diag("error", "bad-value", "'=' must follow the value name: regedit skips this line", i + 1)
            return
        i = _skip_blanks(s, i + 1)
        data = s[: len(s.rstrip(" \t"))]
        if data.startswith("-", i):
            if _rest_is_comment(data, i + 1):
                if self._key_ready(col):
                    yield Op(OpKind.DELETE_VALUE, self._key, self._lineno, name, column=col)  # type: ignore[arg-type]
            else:
                self._diag("error", "bad-delete", "text after '-': regedit skips this line and keeps the value",
                           i + 2)
            return
        yield from self._data(data, i, name, col)

    def _key_ready(self, col: int) -> bool:
        if self._key is None:
            self._diag("error", "no-key", f"value ignored: {self._no_key_reason}", col)
            return False
        return True

    def _data(self, s: str, i: int, name: str, col: int) -> Iterator[Op]:
        if s.startswith('"', i):
            text = unescape(s, i + 1)
            self._escape_warnings(text)
            if text.error:
                self._diag("error", "bad-string", f"string data: {text.error}; regedit skips this line", text.end + 1)
            elif not _rest_is_comment(s, text.end):
                self._diag("error", "bad-string", "text after the closing quote (only a ';' comment may follow): "
                           "regedit skips this line", _skip_blanks(s, text.end) + 1)
            elif self._key_ready(col):
                data = text.text.encode("utf-16-le", "surrogatepass") + b"\0\0"
                yield self._set(name, REG_SZ, data, col)
        elif s.startswith("dword:", i):
            value = self._dword(s, i + 6)
            if value is not None and self._key_ready(col):
                yield self._set(name, REG_DWORD, struct.pack("<I", value), col)
        elif s.startswith("hex:", i):
            yield from self._hex_start(s, i + 4, name, REG_BINARY, col)
        elif s.startswith("hex(", i):
            j = i + 4
            if j >= len(s) or (j + 1 < len(s) and s[j + 1] in "xX"):
                self._diag("error", "bad-type", "bad hex(N) type number: regedit skips this line", j + 1)
                return
            type_num, end, overflow = wcstoul16(s, j)
            if overflow or end == j or not s.startswith("):", end):
                self._diag("error", "bad-type", "hex(N) needs a hex type number from 0 to ffffffff followed by "
                           "'):' : regedit skips this line", j + 1)
                return
            yield from self._hex_start(s, end + 2, name, type_num, col)
        else:
            word = s[i:].split(":", 1)[0][:20] if s[i:] else ""
            what = f"unknown data type {word!r}" if word else "no data after '='"
            self._diag("error", "bad-type", f"{what}: regedit accepts \"text\", dword:, hex: and hex(N): "
                       "(case-sensitive) and skips this line", i + 1)

    def _dword(self, s: str, i: int) -> int | None:
        i = _skip_blanks(s, i)
        if i >= len(s):
            self._diag("error", "bad-dword", "dword: without digits: regedit skips this line", i + 1)
            return None
        j = i
        while j < len(s) and s[j] in _HEX:
            j += 1
        if j - i > 8:
            self._diag("error", "bad-dword", f"dword: takes 1 to 8 hex digits, this has {j - i}: regedit "
                       "skips this line", i + 1)
            return None
        if not _rest_is_comment(s, j):
            k = _skip_blanks(s, j)
            self._diag("error", "bad-dword", f"unexpected {s[k]!r} in dword data (only hex digits, then an "
                       "optional ';' comment): regedit skips this line", k + 1)
            return None
        return int(s[i:j], 16) if j > i else 0

    def _set(self, name: str, type_num: int, data: bytes, col: int, line: int | None = None) -> Op:
        assert self._key is not None
        return Op(OpKind.SET_VALUE, self._key, line or self._lineno, name, type_num, data, col)

    def _hex_start(self, s: str, i: int, name: str, type_num: int, col: int) -> Iterator[Op]:
        value = _Hex(name, type_num, self._lineno, col, bytearray())
        if i >= len(s):
            if self._key_ready(col):
                yield self._set(name, type_num, b"", col)
            return
        yield from self._hex_part(s, i, value)

    def _hex_part(self, s: str, i: int, value: _Hex) -> Iterator[Op]:
        status, pos = self._hex_csv(s, i, value.data)
        if status == "fail":
            self._drop_hex(value, pos)
            return
        if status == "more":
            if not _rest_is_comment(s, pos):
                self._drop_hex(value, _skip_blanks(s, pos), "only a ';' comment may follow the continuation '\\'")
                return
            self._pending = value
            return
        self._pending = None
        yield from self._finish_hex(value)

    def _hex_csv(self, s: str, i: int, out: bytearray) -> tuple[str, int]:
        """Append comma-separated hex bytes to ``out``: ('done'|'more'|'fail', position)."""
        n = len(s)
        while i < n:
            byte, end, overflow = wcstoul16(s, i)
            if overflow or byte > 0xFF:
                return "fail", i
            if end == i:
                k = _skip_blanks(s, end)
                if k < n and s[k] == "\\":
                    return "more", k + 1
                if k < n and s[k] == ";":
                    return "done", k
                return "fail", k
            out.append(byte)
            if end < n and s[end] != ",":
                return ("done", end) if _rest_is_comment(s, end) else ("fail", _skip_blanks(s, end))
            i = end + 1 if end < n else end
        return "done", i

    def _drop_hex(self, value: _Hex, pos: int, why: str = "") -> None:
        self._pending = None
        where = f" (value from line {value.line})" if value.line != self._lineno else ""
        why = why or "bad hex data (comma-separated bytes 00-ff, a trailing '\\' continues the line)"
        self._diag("error", "bad-hex", f"{why}{where}: regedit skips this value", pos + 1)

    def _continuation(self, s: str) -> Iterator[Op]:
        value = self._pending
        assert value is not None
        i = _skip_blanks(s, 0)
        if i >= len(s) or s[i] == ";":
            return
        if s[i] not in _HEX:
            self._pending = None
            self._diag("error", "bad-continuation", f"the hex value from line {value.line} continues here, but "
                       "this line does not start with a hex byte: regedit drops the value and this line", i + 1)
            return
        yield from self._hex_part(s, i, value)

    def _finish(self) -> Iterator[Op]:
        if self._pending is not None:
            value, self._pending = self._pending, None
            self._diag("warning", "eof-continuation", "the file ends inside a continued hex value; regedit "
                       "imports the bytes read so far", value.column, line=value.line)
            yield from self._finish_hex(value)

    def _finish_hex(self, value: _Hex) -> Iterator[Op]:
        data = bytes(value.data)
        if value.type_num in (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ) and data:
            data = self._terminate(data)
        if self._key_ready(value.column):
            yield self._set(value.name, value.type_num, data, value.column, value.line)

    def _terminate(self, data: bytes) -> bytes:
        """NUL-terminate string-typed hex data as regedit does; REGEDIT4 files hold code-page bytes.

        Whether the bytes are UTF-16 follows the header (5.00: UTF-16, REGEDIT4: 8-bit), as Microsoft's
        export formats define them and as tls-facts.md §8.3 states.  Wine decides by the file's encoding
        instead; no conformance vector tells the two apart, and a 5.00 file saved as 8-bit text keeps
        regedit's UTF-16 bytes, so the header is the reading that keeps such files intact.
        """
        if self.version != "5.00":
            if data[-1] != 0:
                data += b"\0"
            return _cp1252(data).encode("utf-16-le")
        whole = len(data) & ~1
        if whole and data[whole - 2 : whole] != b"\0\0":
            if whole != len(data):
                self._diag("warning", "odd-utf16", "odd number of bytes in UTF-16 string data")
            return data[:whole] + b"\0\0" + data[whole + 2 :]
        return data

    def _win31(self, s: str) -> Iterator[Op]:
        prefix = "HKEY_CLASSES_ROOT"
        if not s.startswith(prefix):
            return
        end = 0
        while end < len(s) and not s[end].isspace():
            end += 1
        j = _skip_blanks(s, end)
        if s.startswith("=", j):
            j += 1
        if s.startswith(" ", j):
            j += 1
        self._set_key(None, "")
        path = self._key_path(s[:end], 0)
        if path is None:
            return
        self._set_key(path, "")
        yield Op(OpKind.CREATE_KEY, path, self._lineno)
        yield self._set("", REG_SZ, s[j:].encode("utf-16-le", "surrogatepass") + b"\0\0", j + 1)
