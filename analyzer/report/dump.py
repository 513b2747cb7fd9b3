"""Formats of ``regtls dump``: JSON (schema ``regtls.dump/1``), regedit 5.00 text and a rich table."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from rich.table import Table

from analyzer.machine import Machine
from analyzer.registry import REG_BINARY, REG_DWORD, REG_SZ, Path, Value, join_path, printable, type_name
from analyzer.report import console, to_json
from analyzer.sources import Diagnostic, SourceError

SCHEMA = "regtls.dump/1"
_WRAP = 78


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


def render_json(machine: Machine, keys: Iterable[Path],
                diagnostics: Callable[[], list[Diagnostic]] | None = None) -> str:
    """Every key (also keys without values) with its values; deleted keys and values are absent.  With
    ``diagnostics``, what reading found, when it found anything (asked after the keys are read: damage is met
    as they are)."""
    out = []
    for path in keys:
        values, error = safe_values(machine, path)
        entry: dict[str, object] = {"path": join_path(path), "values": [_value_json(v) for v in values]}
        if error:
            entry["error"] = error
        out.append(entry)
    found: dict[str, object] = {"schema": SCHEMA, "keys": out}
    found_now = diagnostics() if diagnostics is not None else []
    if found_now:  # none: the output stays as it was without them
        found["diagnostics"] = [{"file": d.file, "line": d.line, "column": d.column, "level": d.level, "code": d.code,
                                 "key": d.key, "message": d.message} for d in found_now]
    return to_json(found)


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


def render_reg(machine: Machine, keys: Iterable[Path], newline: str = "\n", utf8: bool = True) -> str:
    """A ``Windows Registry Editor Version 5.00`` export of the keys, to be written as UTF-8 (or UTF-16)."""
    lines = ["Windows Registry Editor Version 5.00", ""]
    for path in keys:
        if any(_unwritable(part, "\r\n", utf8) for part in path):
            lines += [f"; regtls: key {printable(join_path(path))} not written: its name holds a line break, a NUL "
                      "or an unpaired surrogate, which a .reg key line cannot hold", ""]
            continue
        lines.append(f"[{join_path(path)}]")
        values, error = safe_values(machine, path)
        if error:
            lines.append(f"; regtls: values not readable: {error}")
        for value in values:
            lines.extend(reg_value_lines(value, utf8))
        lines.append("")
    return newline.join(lines) + newline


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


def render_table(machine: Machine, keys: Iterable[Path], width: int = 120, color: bool = False) -> str:
    """Keys and values as a rich table; control characters in names and data are shown escaped."""
    out, buf = console(width, color)
    table = Table(show_lines=False)
    for col in ("key", "value", "type", "data", "source"):
        table.add_column(col, overflow="fold")
    for path in keys:
        values, error = safe_values(machine, path)
        key = printable(join_path(path))
        if not values:
            table.add_row(key, "", "", error or "", "")
        for value in values:
            table.add_row(key, printable(value.name) or "(default)", type_name(value.type_num),
                          printable(_shown(value)), printable(value.origin.describe()))
    out.print(table)
    return buf.getvalue()
