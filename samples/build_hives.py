"""Build the sample machines' SYSTEM and SOFTWARE hive files from their .reg sources with hivexregedit."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

# 2024-01-01T00:00:00Z as a Windows FILETIME (100 ns ticks since 1601-01-01). Every timestamp in a
# built hive is set to this value, so that rebuilding from the same source gives the same bytes.
FIXED_FILETIME: Final = (1_704_067_200 + 11_644_473_600) * 10_000_000

HIVE_KINDS: Final = ("SYSTEM", "SOFTWARE", "NTUSER")
# a user's NTUSER.DAT is HKEY_CURRENT_USER while that user is logged on
REG_PREFIX: Final = {**{kind: "HKEY_LOCAL_MACHINE\\" + kind for kind in HIVE_KINDS[:2]}, "NTUSER": "HKEY_CURRENT_USER"}
# Windows keeps the last 31 UTF-16 characters of the hive's path in the base block; real SYSTEM
# hives just say "SYSTEM". regipy and python-registry take the hive type from this field.
HEADER_FILE_NAME: Final = {
    "SYSTEM": "SYSTEM",
    "SOFTWARE": "\\SystemRoot\\System32\\Config\\SOFTWARE"[-31:],
    "NTUSER": "\\??\\C:\\Users\\user\\ntuser.dat",
}
HIVEX_PACKAGE: Final = "libwin-hivex-perl"
REG_HEADERS: Final = ("Windows Registry Editor Version 5.00", "REGEDIT4")

BASE_BLOCK_SIZE: Final = 0x1000
HBIN_HEADER_SIZE: Final = 0x20
HBIN_SIZE: Final = 0x1000
CHECKSUM_OFFSET: Final = 0x1FC
NO_CELL: Final = 0xFFFFFFFF
ROOT_KEY_NAME: Final = "ROOT"
KEY_HIVE_ENTRY, KEY_NO_DELETE, KEY_COMP_NAME = 0x0004, 0x0008, 0x0020


class BuildError(RuntimeError):
    """A hive could not be built from its .reg source."""


class HivexMissingError(BuildError):
    """hivexregedit is not installed."""


# --------------------------------------------------------------------------- empty hive


def _sid(authority: int, *sub_authorities: int) -> bytes:
    head = struct.pack("<BB", 1, len(sub_authorities)) + authority.to_bytes(6, "big")
    return head + b"".join(struct.pack("<I", sub) for sub in sub_authorities)


def _security_descriptor() -> bytes:
    """Self-relative SD: owner Administrators, group SYSTEM, DACL SYSTEM/Administrators full, Users read."""
    system, admins, users = _sid(5, 18), _sid(5, 32, 544), _sid(5, 32, 545)
    container_inherit, key_all_access, key_read = 0x02, 0x000F003F, 0x00020019
    aces = b"".join(
        struct.pack("<BBHI", 0, container_inherit, 8 + len(sid), mask) + sid
        for sid, mask in ((system, key_all_access), (admins, key_all_access), (users, key_read))
    )
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(aces), 3, 0) + aces
    dacl_at = 20
    owner_at = dacl_at + len(acl)
    group_at = owner_at + len(admins)
    se_dacl_present, se_self_relative = 0x0004, 0x8000
    header = struct.pack("<BBHIIII", 1, 0, se_dacl_present | se_self_relative, owner_at, group_at, 0, dacl_at)
    return header + acl + admins + system


def _cell(payload: bytes) -> bytes:
    """Wrap payload in an allocated cell: negative size, payload, padding to a multiple of 8."""
    size = (4 + len(payload) + 7) & ~7
    return struct.pack("<i", -size) + payload.ljust(size - 4, b"\0")


def _checksum(base_block: bytes | bytearray) -> int:
    value = 0
    for (dword,) in struct.iter_unpack("<I", bytes(base_block[:CHECKSUM_OFFSET])):
        value ^= dword
    return {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(value, value)


def empty_hive(kind: str, filetime: int = FIXED_FILETIME, header: str | None = None) -> bytes:
    """Return a valid, empty regf 1.3 hive: base block plus one hbin holding the root key and its sk."""
    if kind not in HIVE_KINDS:
        raise ValueError(f"hive kind must be one of {HIVE_KINDS}, not {kind!r}")
    name = ROOT_KEY_NAME.encode("ascii")
    nk_offset = HBIN_HEADER_SIZE  # offsets are relative to the start of the first hbin
    nk_payload = (
        b"nk"
        + struct.pack(
            "<HQIIIIIIIIIIIIIIIHH",
            KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME,
            filetime,
            0,  # access bits
            0,  # parent
            0,  # subkeys
            0,  # volatile subkeys
            NO_CELL,  # subkey list
            NO_CELL,  # volatile subkey list
            0,  # values
            NO_CELL,  # value list
            0,  # sk offset, patched below
            NO_CELL,  # class name
            0,  # largest subkey name
            0,  # largest subkey class name
            0,  # largest value name
            0,  # largest value data
            0,  # work var
            len(name),
            0,  # class name length
        )
        + name
    )
    sk_offset = nk_offset + len(_cell(nk_payload))
    nk_payload = nk_payload[:0x2C] + struct.pack("<I", sk_offset) + nk_payload[0x30:]
    descriptor = _security_descriptor()
    sk_payload = b"sk" + struct.pack("<HIIII", 0, sk_offset, sk_offset, 1, len(descriptor)) + descriptor
    cells = _cell(nk_payload) + _cell(sk_payload)
    free = HBIN_SIZE - HBIN_HEADER_SIZE - len(cells)
    hbin = (
        b"hbin"
        + struct.pack("<IIQQI", 0, HBIN_SIZE, 0, filetime, 0)
        + cells
        + struct.pack("<i", free).ljust(free, b"\0")
    )
    file_name = (header or HEADER_FILE_NAME[kind])[-31:].encode("utf-16-le").ljust(64, b"\0")
    # seq1, seq2, timestamp, major 1, minor 3 (hivex writes big values without 'db' records, which
    # only version 1.3 allows), type 0 (primary), format 1 (direct memory load), root cell,
    # hbins size, clustering factor 1, then the file name.
    base = bytearray(
        b"regf" + struct.pack("<IIQIIIIIII", 1, 1, filetime, 1, 3, 0, 1, nk_offset, len(hbin), 1) + file_name
    ).ljust(BASE_BLOCK_SIZE, b"\0")
    struct.pack_into("<I", base, CHECKSUM_OFFSET, _checksum(base))
    return bytes(base) + hbin


# --------------------------------------------------------------------------- timestamps


def _u16(data: bytes | bytearray, offset: int) -> int:
    return int(struct.unpack_from("<H", data, offset)[0])


def _u32(data: bytes | bytearray, offset: int) -> int:
    return int(struct.unpack_from("<I", data, offset)[0])


def _subkey_cells(data: bytearray, list_offset: int) -> Iterator[int]:
    """Yield the nk offsets held by a subkey list (lf, lh, li, or an ri of those)."""
    at = BASE_BLOCK_SIZE + list_offset + 4
    signature, count = bytes(data[at : at + 2]), _u16(data, at + 2)
    if signature in (b"lf", b"lh"):
        yield from (_u32(data, at + 4 + 8 * i) for i in range(count))
    elif signature == b"li":
        yield from (_u32(data, at + 4 + 4 * i) for i in range(count))
    elif signature == b"ri":
        for i in range(count):
            yield from _subkey_cells(data, _u32(data, at + 4 + 4 * i))
    else:
        raise BuildError(f"unexpected subkey list {signature!r} at cell 0x{list_offset:x}")


def set_timestamps(data: bytearray, filetime: int = FIXED_FILETIME) -> int:
    """Set every key's last-write time, the hbin and base-block times, and fix the checksum.

    The first hbin gets ``filetime`` (Windows only fills that one), the others 0.
    Returns the number of keys visited.
    """
    if bytes(data[:4]) != b"regf":
        raise BuildError("not a regf hive")
    hbins_end = BASE_BLOCK_SIZE + _u32(data, 0x28)
    at = BASE_BLOCK_SIZE
    while at < hbins_end:
        if bytes(data[at : at + 4]) != b"hbin":
            raise BuildError(f"no hbin at file offset 0x{at:x}")
        struct.pack_into("<Q", data, at + 0x14, filetime if at == BASE_BLOCK_SIZE else 0)
        at += _u32(data, at + 8)
    pending: list[int] = [_u32(data, 0x24)]
    seen: set[int] = set()
    while pending:
        nk = pending.pop()
        at = BASE_BLOCK_SIZE + nk + 4
        if nk in seen or bytes(data[at : at + 2]) != b"nk":
            raise BuildError(f"bad key cell 0x{nk:x}")
        seen.add(nk)
        struct.pack_into("<Q", data, at + 4, filetime)
        if _u32(data, at + 0x14):
            pending.extend(_subkey_cells(data, _u32(data, at + 0x1C)))
    struct.pack_into("<Q", data, 0x0C, filetime)
    struct.pack_into("<I", data, CHECKSUM_OFFSET, _checksum(data))
    return len(seen)


# --------------------------------------------------------------------------- .reg preparation


def read_reg_text(source: Path) -> str:
    """Decode a .reg file: UTF-16 with BOM (what regedit exports) or UTF-8 with or without BOM."""
    raw = source.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BuildError(f"{source}: neither UTF-16 with BOM nor UTF-8 ({exc})") from exc


_VALUE_LINE: Final = re.compile(r'(@|"(?:[^"\\]|\\.)*")\s*=\s*(.*)')
_DWORD_DATA: Final = re.compile(r"dword:\s*([0-9A-Fa-f]{1,8})\s*(?:;.*)?")


def _canonical_value(line: str) -> str:
    """Rewrite a value line the way hivexregedit needs it: no blanks around '=', 8-digit dwords."""
    match = _VALUE_LINE.fullmatch(line)
    if match is None:
        return line
    name, data = match.groups()
    dword = _DWORD_DATA.fullmatch(data)
    if dword is not None:
        data = f"dword:{int(dword.group(1), 16):08x}"
    return f"{name}={data}"


def prepare_merge_text(text: str, kind: str) -> str:
    r"""Return UTF-8-ready .reg text that ``hivexregedit --merge`` accepts for a ``kind`` hive.

    Adds an empty section for every missing parent key (hivexregedit does not create them),
    drops comment and blank lines (hivexregedit ends a section at either, then rejects the
    values that follow), strips indentation, removes blanks around '=' and pads dwords to the
    8 digits hivexregedit insists on, puts one blank line before every section, and
    rejects keys outside ``HKEY_LOCAL_MACHINE\<kind>`` and ``CurrentControlSet``.
    """
    prefix = REG_PREFIX[kind]
    depth0 = prefix.count("\\") + 1
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() not in REG_HEADERS:
        raise BuildError("missing header line 'Windows Registry Editor Version 5.00'")
    out, known = [REG_HEADERS[0]], {prefix.lower()}
    continued = False
    for number, line in enumerate(lines[first + 1 :], start=first + 2):
        stripped = line.strip()
        if continued:
            out.append(line)
            continued = stripped.endswith("\\")
            continue
        if not stripped or stripped.startswith((";", "#")):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            deleting = stripped.startswith("[-")
            path = stripped[2:-1] if deleting else stripped[1:-1]
            parts = path.split("\\")
            if "\\".join(parts[:depth0]).lower() != prefix.lower():
                raise BuildError(f"line {number}: key [{path}] is not under [{prefix}]")
            if not all(parts[depth0:]):
                raise BuildError(f"line {number}: key [{path}] has an empty name component")
            if len(parts) > 2 and parts[2].lower() == "currentcontrolset":
                raise BuildError(
                    f"line {number}: CurrentControlSet does not exist in a hive file; write ControlSet00N"
                )
            out.append("")
            if deleting:
                gone = path.lower()
                known = {k for k in known if k != gone and not k.startswith(gone + "\\")}
            else:
                for depth in range(depth0 + 1, len(parts) + 1):
                    ancestor = "\\".join(parts[:depth])
                    if ancestor.lower() not in known:
                        known.add(ancestor.lower())
                        if depth < len(parts):
                            out.extend((f"[{ancestor}]", ""))
            out.append(stripped)
            continue
        out.append(_canonical_value(stripped))
        continued = stripped.endswith("\\")
    return "\n".join(out).rstrip("\n") + "\n"


# --------------------------------------------------------------------------- build


def hivexregedit() -> str:
    """Return the path of hivexregedit or raise HivexMissingError."""
    found = shutil.which("hivexregedit")
    if found is None:
        raise HivexMissingError(
            f"hivexregedit not found: install the Debian package {HIVEX_PACKAGE} "
            f"(apt-get install {HIVEX_PACKAGE})"
        )
    return found


def merge(kind: str, text: str, hive: Path, what: str) -> None:
    """Merge .reg ``text`` into the existing ``kind`` hive file ``hive`` (in place) with hivexregedit."""
    if kind not in HIVE_KINDS:
        raise ValueError(f"hive kind must be one of {HIVE_KINDS}, not {kind!r}")
    tool = hivexregedit()
    merge_text = prepare_merge_text(text, kind)
    with tempfile.TemporaryDirectory(prefix="regtls-hive-") as tmp:
        reg = Path(tmp) / "merge.reg"
        reg.write_bytes(merge_text.encode("utf-8"))
        result = subprocess.run(
            [tool, "--merge", "--prefix", REG_PREFIX[kind], str(hive), str(reg)],
            env={**os.environ, "PERL_UNICODE": "SD"},
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        detail = " ".join(result.stderr.split())[:300]
        raise BuildError(
            f"hivexregedit failed on {what} (exit {result.returncode}; its line numbers count "
            f"the prepared merge text): {detail}"
        )


def build_hive(kind: str, source: Path, out: Path, header: str | None = None) -> None:
    """Build the ``kind`` ("SYSTEM", "SOFTWARE" or "NTUSER") hive file ``out`` from the .reg file ``source``
    (``header``: the file name its base block keeps, e.g. ``\\??\\C:\\Users\\alice\\ntuser.dat``)."""
    if kind not in HIVE_KINDS:
        raise ValueError(f"hive kind must be one of {HIVE_KINDS}, not {kind!r}")
    text = read_reg_text(source)
    with tempfile.TemporaryDirectory(prefix="regtls-hive-") as tmp:
        hive = Path(tmp) / kind
        hive.write_bytes(empty_hive(kind, header=header))
        merge(kind, text, hive, str(source))
        data = bytearray(hive.read_bytes())
    set_timestamps(data)
    out.write_bytes(bytes(data))


def build_pol(source: Path, out: Path) -> None:
    """Write the Registry.pol ``out`` ([MS-GPREG] 2.2.1: ``PReg``, version 1, ``[key;value;type;size;data]``
    records in UTF-16LE) from a .reg file ``source`` of ``HKEY_LOCAL_MACHINE`` keys with dword and string values."""
    def u16(text: str) -> bytes:
        return text.encode("utf-16-le")

    records, key = [], None
    for number, line in enumerate(read_reg_text(source).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(";") or line in REG_HEADERS:
            continue
        if line.startswith("[") and line.endswith("]"):
            root, _, key = line[1:-1].partition("\\")
            if root != "HKEY_LOCAL_MACHINE" or not key:
                raise BuildError(f"{source}: line {number}: a machine policy key must be under HKEY_LOCAL_MACHINE")
            continue
        match = re.fullmatch(r'"([^"]+)"=(?:dword:([0-9a-fA-F]{1,8})|"([^"]*)")', line)
        if match is None or key is None:
            raise BuildError(f"{source}: line {number}: only \"name\"=dword:N and \"name\"=\"text\" lines are "
                             "supported")
        name, number_text, text = match.groups()
        type_num, data = (4, struct.pack("<I", int(number_text, 16))) if number_text else (1, u16(text + "\0"))
        records.append(u16("[") + u16(key + "\0") + u16(";") + u16(name + "\0") + u16(";")
                       + struct.pack("<I", type_num) + u16(";") + struct.pack("<I", len(data)) + u16(";") + data
                       + u16("]"))
    out.write_bytes(b"PReg" + struct.pack("<I", 1) + b"".join(records))


def build(kind: str, source: Path, out: Path) -> None:
    """Build one sample file: a hive (a user's named after its ``Users\\<name>`` folder) or a Registry.pol."""
    if kind == "POL":
        build_pol(source, out)
    else:
        header = f"\\??\\C:\\Users\\{source.parent.name}\\ntuser.dat" if kind == "NTUSER" else None
        build_hive(kind, source, out, header)


def _machine_files(machine: Path) -> list[tuple[str, Path, Path]]:
    config = machine / "Windows" / "System32" / "config"
    folder = config if config.is_dir() else machine
    found = [(kind, source, source.with_suffix(""))
             for kind in HIVE_KINDS[:2] if (source := folder / f"{kind}.reg").is_file()]
    found += [("NTUSER", source, source.with_suffix("")) for source in sorted(machine.glob("Users/*/NTUSER.DAT.reg"))]
    found += [("POL", source, source.with_suffix(""))
              for source in sorted(machine.glob("Windows/System32/GroupPolicy/*/Registry.pol.reg"))]
    return found


def sample_sources(samples: Path) -> list[tuple[str, Path, Path]]:
    """Return (kind, source .reg, built file) for every sample machine folder under ``samples``: its hives (in the
    folder, or in ``Windows/System32/config`` of a Windows root), its users' NTUSER.DAT and its GPO files."""
    return [job for machine in sorted(p for p in samples.iterdir() if p.is_dir()) for job in _machine_files(machine)]


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild every samples/*/SYSTEM and SOFTWARE hive, or with --check compare them with a rebuild."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temporary directory and exit 1 if a committed hive differs",
    )
    args = parser.parse_args(argv)
    samples = Path(__file__).resolve().parent
    jobs = sample_sources(samples)
    try:
        if not args.check:
            for kind, source, hive in jobs:
                build(kind, source, hive)
                print(f"built {hive.relative_to(samples.parent)}")
            return 0
        stale = []
        with tempfile.TemporaryDirectory(prefix="regtls-check-") as tmp:
            for index, (kind, source, hive) in enumerate(jobs):
                fresh = Path(tmp) / f"{index}-{kind}"
                build(kind, source, fresh)
                if not hive.is_file() or hive.read_bytes() != fresh.read_bytes():
                    stale.append(hive)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for hive in stale:
        state = "out of date" if hive.is_file() else "missing"
        print(f"{state}: {hive.relative_to(samples.parent)}", file=sys.stderr)
    if stale:
        print("run: python samples/build_hives.py", file=sys.stderr)
        return 1
    print(f"all {len(jobs)} hives match their .reg sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
