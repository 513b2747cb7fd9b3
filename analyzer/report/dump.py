"""Formats of ``regtls dump``: JSON (schema ``regtls.dump/1``), regedit 5.00 text and a rich table.

Each format is a generator of text pieces written as they come, key by key: nothing proportional to the
output is held (the table measures its columns in a first walk over the keys and draws them in a second).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring_ascii as _q
from typing import TYPE_CHECKING

from analyzer.machine import Machine
from analyzer.registry import REG_BINARY, REG_DWORD, REG_SZ, Path, Value, join_path, printable, type_name
from analyzer.sources import Diagnostic, SourceError

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions
    from rich.measure import Measurement
    from rich.table import Table

SCHEMA = "regtls.dump/1"
_WRAP = 78
_TABLE_ROWS = 500  # rows drawn per piece of the table


class Walk:
    """The keys at and below ``start``, walked anew at each call; a key whose subkeys cannot be read is named in
    ``errors`` (its subtree skipped), and ``count`` is the number of keys of the last walk."""

    def __init__(self, machine: Machine, start: Path) -> None:
        self.machine, self.start = machine, start
        self.errors: list[str] = []
        self.count = 0

    def __call__(self) -> Iterator[Path]:
        self.errors, self.count = [], 0
        for path in self.machine.walk(self.start, on_error=lambda p, e: self.errors.append(f"{join_path(p)}: {e}")):
            self.count += 1
            yield path


def _value_json(value: Value) -> dict[str, object]:
    return {"name": value.name, "type": type_name(value.type_num), "type_num": value.type_num,
            "data_hex": value.data.hex(), "data": value.decoded,
            "source": {"file": value.origin.file, "line": value.origin.line}}


def safe_values(machine: Machine, path: Path) -> tuple[list[Value], str | None]:
    """The values of a key, or none and the reason when the hive cannot give them."""
    try:
        return machine.values(path), None
    except SourceError as exc:
        return [], str(exc)


def _scalar(data: object) -> str | None:
    """The JSON text of a string, an integer or null (None for anything else)."""
    if data is None:
        return "null"
    if isinstance(data, str):
        return str(_q(data))
    if isinstance(data, int) and not isinstance(data, bool):
        return str(data)
    return None


def _data_json(data: object, indent: str) -> str:
    """The decoded data as ``json.dumps(indent=2)`` writes it at ``indent``."""
    text = _scalar(data)
    if text is not None:
        return text
    if isinstance(data, list) and all(isinstance(item, str) for item in data):
        if not data:
            return "[]"
        inner = ",\n".join(indent + "  " + _q(item) for item in data)
        return f"[\n{inner}\n{indent}]"
    return json.dumps(data, indent=2, ensure_ascii=True).replace("\n", "\n" + indent)


def _value_text(value: Value) -> str:
    """One value of a key entry, as ``json.dumps(indent=2)`` writes it eight levels of two spaces deep."""
    line = value.origin.line
    return ("        {\n"
            f"          \"name\": {_q(value.name)},\n"
            f"          \"type\": {_q(type_name(value.type_num))},\n"
            f"          \"type_num\": {value.type_num},\n"
            f"          \"data_hex\": \"{value.data.hex()}\",\n"
            f"          \"data\": {_data_json(value.decoded, '          ')},\n"
            "          \"source\": {\n"
            f"            \"file\": {_q(value.origin.file)},\n"
            f"            \"line\": {'null' if line is None else line}\n"
            "          }\n"
            "        }")


def _entry_text(path: Path, values: list[Value], extra: dict[str, object]) -> str:
    """One key of the ``keys`` array, byte for byte as ``json.dumps(indent=2)`` writes it in the document."""
    body = "[\n" + ",\n".join(_value_text(v) for v in values) + "\n      ]" if values else "[]"
    text = f"    {{\n      \"path\": {_q(join_path(path))},\n      \"values\": {body}"
    for name, item in extra.items():
        text += f",\n      {_q(name)}: " + json.dumps(item, indent=2, ensure_ascii=True).replace("\n", "\n      ")
    return text + "\n    }"


def iter_json(machine: Machine, keys: Iterable[Path],
              trailer: Callable[[], dict[str, object]] | None = None) -> Iterator[str]:
    """Every key (also keys without values) with its values, one key at a time; deleted keys and values are
    absent.  The text is what ``json.dumps(document, indent=2)`` writes, ``trailer`` (fields after ``keys``,
    asked for once the keys are written: damage is met as they are read) included."""
    yield f"{{\n  \"schema\": {_q(SCHEMA)},\n  \"keys\": ["
    first = True
    for path in keys:
        values, error = safe_values(machine, path)
        yield ("\n" if first else ",\n") + _entry_text(path, values, {"error": error} if error else {})
        first = False
    yield "]" if first else "\n  ]"
    for name, item in (trailer() if trailer is not None else {}).items():
        yield f",\n  {_q(name)}: " + json.dumps(item, indent=2, ensure_ascii=True).replace("\n", "\n  ")
    yield "\n}\n"


def diagnostics_trailer(diagnostics: Callable[[], list[Diagnostic]]) -> Callable[[], dict[str, object]]:
    """The ``diagnostics`` field after the keys, when reading found anything (none: the output stays as it was)."""
    def trailer() -> dict[str, object]:
        found = diagnostics()
        return {"diagnostics": [{"file": d.file, "line": d.line, "column": d.column, "level": d.level,
                                 "code": d.code, "key": d.key, "message": d.message} for d in found]} if found else {}

    return trailer


def render_json(machine: Machine, keys: Iterable[Path],
                diagnostics: Callable[[], list[Diagnostic]] | None = None) -> str:
    """The JSON document of :func:`iter_json` as one string (with ``diagnostics``, see :func:`diagnostics_trailer`)."""
    return "".join(iter_json(machine, keys, diagnostics_trailer(diagnostics) if diagnostics else None))


def quote(text: str) -> str:
    """A regedit quoted string: backslash, double quote and line breaks escaped (regedit reads ``\\n``, ``\\r``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n") + '"'


def _plain_string(value: Value) -> str | None:
    """The text of a REG_SZ that regedit writes as ``"text"`` (one final NUL, no NUL or line break inside)."""
    data = value.data
    if value.type_num != REG_SZ or len(data) % 2 or not data.endswith(b"\0\0"):
        return None
    try:
        text = data[:-2].decode("utf-16-le")
    except UnicodeDecodeError:
        return None
    return None if any(c in text for c in "\0\r\n") else text


def _hex_lines(prefix: str, data: bytes) -> Iterator[str]:
    """``prefix`` then comma-separated bytes, wrapped regedit-style with ``\\`` and a two-space indent."""
    line = prefix
    for i, byte in enumerate(data):
        token = f"{byte:02x}" + ("," if i < len(data) - 1 else "")
        if len(line) + len(token) > _WRAP and line.strip():
            yield line + "\\"
            line = "  "
        line += token
    yield line


def _unwritable(name: str, breaks: str, utf8: bool) -> bool:
    """Whether a name cannot stand in a ``.reg`` file: a NUL, one of ``breaks``, or in UTF-8 an unpaired surrogate."""
    return any(c in name for c in "\0" + breaks) or (utf8 and not name.isprintable() and any(
        0xD800 <= ord(c) <= 0xDFFF for c in name))


def reg_value_lines(value: Value, utf8: bool = True) -> list[str]:
    """The lines regedit would export for one value, in a UTF-8 (or UTF-16) file; a comment for a name the
    file cannot hold."""
    if _unwritable(value.name, "", utf8):
        return [f"; regtls: value {printable(value.name)!r} not written: its name holds a NUL or an unpaired "
                "surrogate, which this .reg file cannot hold"]
    name = "@" if value.name == "" else quote(value.name)
    text = _plain_string(value)
    if text is not None:
        return [f"{name}={quote(text)}"]
    if value.type_num == REG_DWORD and len(value.data) == 4:
        return [f"{name}=dword:{int.from_bytes(value.data, 'little'):08x}"]
    kind = "hex" if value.type_num == REG_BINARY else f"hex({value.type_num:x})"
    return list(_hex_lines(f"{name}={kind}:", value.data))


def iter_reg(machine: Machine, keys: Iterable[Path], newline: str = "\n", utf8: bool = True) -> Iterator[str]:
    """A ``Windows Registry Editor Version 5.00`` export of the keys, one key at a time, to be written as UTF-8
    (or UTF-16)."""
    yield "Windows Registry Editor Version 5.00" + newline + newline
    for path in keys:
        if any(_unwritable(part, "\r\n", utf8) for part in path):
            yield (f"; regtls: key {printable(join_path(path))} not written: its name holds a line break, a NUL "
                   f"or an unpaired surrogate, which a .reg key line cannot hold{newline}{newline}")
            continue
        lines = [f"[{join_path(path)}]"]
        values, error = safe_values(machine, path)
        if error:
            lines.append(f"; regtls: values not readable: {error}")
        for value in values:
            lines.extend(reg_value_lines(value, utf8))
        lines.append("")
        yield newline.join(lines) + newline


def render_reg(machine: Machine, keys: Iterable[Path], newline: str = "\n", utf8: bool = True) -> str:
    """The export of :func:`iter_reg` as one string."""
    return "".join(iter_reg(machine, keys, newline, utf8))


def _shown(value: Value, limit: int = 60) -> str:
    decoded = value.decoded
    if isinstance(decoded, int):
        text = f"{decoded} (0x{decoded:x})"
    elif isinstance(decoded, list):
        text = " | ".join(decoded)
    elif isinstance(decoded, str):
        text = decoded
    else:
        text = value.data.hex(" ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rows(machine: Machine, keys: Iterable[Path]) -> Iterator[tuple[str, str, str, str, str]]:
    """The table's rows: one per value, or one for a key without values (with the reason when unreadable)."""
    for path in keys:
        values, error = safe_values(machine, path)
        key = printable(join_path(path))
        if not values:
            yield key, "", "", error or "", ""
        for value in values:
            yield (key, printable(value.name) or "(default)", type_name(value.type_num), printable(_shown(value)),
                   printable(value.origin.describe()))


def _table(measured: list[Measurement] | None = None) -> Table:
    """An empty dump table; given ``measured``, its columns take those widths instead of measuring their cells."""
    from rich.measure import Measurement
    from rich.table import Column, Table

    class _Sized(Table):
        def _measure_column(self, console: Console, options: ConsoleOptions, column: Column) -> Measurement:
            if measured is None:
                return super()._measure_column(console, options, column)
            # as rich measures the cells: within the width offered (narrower once the columns are collapsed)
            return measured[column._index].with_maximum(options.max_width) if options.max_width >= 1 else \
                Measurement(0, 0)

    table = _Sized(show_lines=False)
    for col in ("key", "value", "type", "data", "source"):
        table.add_column(col, overflow="fold")
    return table


def _batches(rows: Iterator[tuple[str, ...]]) -> Iterator[list[tuple[str, ...]]]:
    batch: list[tuple[str, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == _TABLE_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_table(machine: Machine, walk: Callable[[], Iterable[Path]], width: int = 120,
               color: bool = False) -> Iterator[str]:
    """Keys and values as a rich table; control characters in names and data are shown escaped.

    ``walk`` gives the keys, and is called twice: the first walk measures every cell as rich measures a
    whole table, the second draws the rows a batch at a time with those column widths, so the text is the
    one rich writes for the whole table while only a batch of rows is held.
    """
    from rich.measure import Measurement

    from analyzer.report import console

    out, buf = console(width, color)
    probe = _table()
    options = out.options.update_width(width - probe._extra_width)
    measured: list[Measurement] | None = None
    for batch in _batches(_rows(machine, walk())):
        table = _table()
        for row in batch:
            table.add_row(*row)
        sizes = [table._measure_column(out, options, column) for column in table.columns]
        measured = sizes if measured is None else [
            Measurement(max(a.minimum, b.minimum), max(a.maximum, b.maximum)) for a, b in zip(measured, sizes,
                                                                                              strict=True)]
    if measured is None:  # no rows: the header alone
        out.print(_table())
        yield buf.getvalue()
        return
    out.print(_table(measured))  # the header alone: top edge, header lines, header rule, bottom edge
    head = buf.getvalue().splitlines(keepends=True)[:-1]
    pending = ""  # the bottom edge of the batch drawn last, written once it is the last
    for n, batch in enumerate(_batches(_rows(machine, walk()))):
        buf.seek(0)
        buf.truncate()
        table = _table(measured)
        for row in batch:
            table.add_row(*row)
        out.print(table)
        lines = buf.getvalue().splitlines(keepends=True)
        yield "".join(lines[:-1] if n == 0 else lines[len(head):-1])
        pending = lines[-1]
    yield pending


def render_table(machine: Machine, keys: Iterable[Path], width: int = 120, color: bool = False) -> str:
    """The table of :func:`iter_table` for a list of keys, as one string."""
    listed = list(keys)
    return "".join(iter_table(machine, lambda: listed, width, color))
