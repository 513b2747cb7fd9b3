"""Transaction-log replay for dirty hives, in memory, so that the evidence on disk is never written.

Format and rules: Maxim Suhanov, "Windows registry file format specification", sections "Format of
transaction log files", "Dirty state of a hive" and "Multiple transaction log files"
(https://github.com/msuhanov/regf).  New-format logs (``HvLE`` entries, Windows 8.1 and later) are
applied by python-registry's ``RegistryLog``, which checks the Marvin32 hashes and the sequence
numbers; old-format logs (``DIRT`` dirty vector, before Windows 8.1) by the code below, because
regipy 6.5.0 reads the dirty pages at a fixed offset that is only right for hives below 2 MB.

Bounds: the numbers inside a log are checked against the real sizes of the files before anything is
replayed.  A log may grow the hive only by the pages it carries: a declared hive bins size beyond the hive's
own bins plus the log's length, a dirty page past the declared bins, or an entry longer than the rest of
the log is damage, and nothing is replayed from that entry on (earlier entries still apply).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, replace
from pathlib import Path as FsPath

from analyzer.sources.cells import BASE_BLOCK, CHECKSUM, checksum
from analyzer.sources.evidence import open_evidence

SECTOR = 512
_TIMESTAMP = 0x0C
_LOG_OLD = (1, 2)
_LOG_NEW = 6


@dataclass(frozen=True)
class LogUse:
    """What replay did with one transaction log file."""

    path: FsPath
    applied: bool
    detail: str
    first: int | None = None
    last: int | None = None
    rejected: str | None = None  # why replay stopped at one of its entries, if the bounds check stopped it

    def to_json(self) -> dict[str, object]:
        """The report's entry for this log."""
        out: dict[str, object] = {"path": str(self.path), "applied": self.applied, "detail": self.detail}
        if self.first is not None:
            out.update(first_sequence=self.first, last_sequence=self.last)
        if self.rejected:
            out["rejected"] = self.rejected
        return out


@dataclass(frozen=True)
class Recovery:
    """The hive as Windows would load it (base block and hive bins), and the logs that made it."""

    data: bytes
    logs: list[LogUse]

    @property
    def applied(self) -> list[LogUse]:
        """The logs whose entries or pages were written into :attr:`data`."""
        return [log for log in self.logs if log.applied]


def _valid_base(block: bytes) -> bool:
    return (len(block) >= SECTOR and block[:4] == b"regf"
            and checksum(block) == struct.unpack_from("<I", block, CHECKSUM)[0])


def _seal(hive: bytearray, sequence: int, bins_size: int) -> None:
    """Write the base block a completed recovery leaves: equal sequence numbers, the new size, a new checksum."""
    struct.pack_into("<II", hive, 4, sequence, sequence)
    struct.pack_into("<I", hive, 0x28, bins_size)
    struct.pack_into("<I", hive, CHECKSUM, checksum(bytes(hive[:SECTOR])))


def _replay_old(hive: bytearray, log: bytes) -> tuple[int, int, int] | str:
    """Apply an old-format log (base block, ``DIRT`` vector, 512-byte pages); (sequence, pages, _) or the reason not."""
    if not _valid_base(log):
        return "its base block is damaged (wrong checksum)"
    seq1, seq2 = struct.unpack_from("<II", log, 4)
    if seq1 != seq2:
        return f"it was not completely written (sequence numbers {seq1} and {seq2} differ)"
    if _valid_base(bytes(hive[:SECTOR])) and log[_TIMESTAMP:_TIMESTAMP + 8] != hive[_TIMESTAMP:_TIMESTAMP + 8]:
        return "it belongs to another write of the hive (its last-written time differs from the hive's)"
    if log[SECTOR:SECTOR + 4] != b"DIRT":
        return "it has no dirty vector (no 'DIRT' signature at offset 512)"
    bins_size = struct.unpack_from("<I", log, 0x28)[0]
    if bins_size % 4096 or BASE_BLOCK + bins_size > 1 << 32:
        return f"its hive bins size {bins_size:#x} is not a multiple of 4096"
    vector = log[SECTOR + 4:SECTOR + 4 + bins_size // SECTOR // 8]
    if len(vector) < bins_size // SECTOR // 8:
        return (f"rejected: it declares {bins_size:#x} bytes of hive bins, more than its {len(log)} bytes can hold "
                "the dirty vector of")
    page = -(-(SECTOR + 4 + len(vector)) // SECTOR) * SECTOR  # the sector after the vector's last one
    writes: list[tuple[int, int]] = []
    for index, byte in enumerate(vector):
        for bit in range(8):
            if byte >> bit & 1:
                writes.append((BASE_BLOCK + (index * 8 + bit) * SECTOR, page))
                page += SECTOR
    if page > len(log):
        return f"it is truncated: its dirty vector names {len(writes)} pages, the file holds fewer"
    if BASE_BLOCK + bins_size > len(hive) + SECTOR * len(writes):
        return (f"rejected: it declares {bins_size:#x} bytes of hive bins, more than the hive's "
                f"{len(hive) - BASE_BLOCK} and the {len(writes)} pages it carries")
    if len(hive) < BASE_BLOCK + bins_size:
        hive.extend(bytes(BASE_BLOCK + bins_size - len(hive)))
    for target, source in writes:
        hive[target:target + SECTOR] = log[source:source + SECTOR]
    _seal(hive, seq1, bins_size)
    return seq1, seq1, len(writes)


def bounded_entries(raw: bytes, hive_bins: int) -> tuple[bytes, str | None]:
    """A new-format log cut before its first entry whose sizes the files do not support, and why (None: all fit).

    An entry (``HvLE``: size, hive bins size, dirty page count, then page references and pages) must lie inside
    the log; its pages inside the entry and inside the hive bins it declares; and that size must not exceed
    the hive's bins plus the whole log, the most a log can add.
    """
    limit = hive_bins + len(raw)
    at = SECTOR
    while at + 40 <= len(raw) and raw[at:at + 4] == b"HvLE":
        size, _, _, bins, count = struct.unpack_from("<IIIII", raw, at + 4)
        pages = [struct.unpack_from("<II", raw, at + 40 + 8 * i) for i in range(count)
                 if at + 48 + 8 * i <= len(raw)] if 40 + 8 * count <= size else []
        why = (f"its size {size:#x} is not whole sectors or runs past the end of the log" if size < 40 or size % SECTOR
               or at + size > len(raw) else
               f"it declares {bins:#x} bytes of hive bins, more than the hive's {hive_bins} and the log's "
               f"{len(raw)} bytes support" if bins % 4096 or bins > limit else
               f"its {count} dirty page references do not fit in it" if 40 + 8 * count > size else
               f"its dirty pages ({sum(n for _, n in pages)} bytes) do not fit in it or in the hive bins it declares"
               if sum(n for _, n in pages) > size - 40 - 8 * count or any(o + n > bins for o, n in pages) else None)
        if why is not None:
            return raw[:at], f"the entry at log offset {at:#x} is rejected: {why}"
        at += size
    return raw, None


def _why(exc: Exception) -> str:
    """python-registry's message without its class-name wrapper."""
    return str(getattr(exc, "_value", "") or exc).strip() or type(exc).__name__


def _replay_new(hive: bytearray, logs: list[tuple[FsPath, bytes]]) -> list[LogUse]:
    """Apply new-format logs through python-registry, the one whose entries start first first."""
    from Registry import RegistryLog, RegistryParse

    buffer = io.BytesIO(bytes(hive))
    uses: list[LogUse] = []
    readers: list[tuple[FsPath, RegistryLog.RegistryLog]] = []
    rejected: dict[FsPath, str] = {}
    for path, whole in logs:
        raw, why = bounded_entries(whole, len(hive) - BASE_BLOCK)
        if why is not None:
            rejected[path] = why
        buffer.seek(0)  # each RegistryLog reads the primary base block from the current position
        try:
            reader = RegistryLog.RegistryLog(buffer, io.BytesIO(raw))
        except (RegistryParse.RegistryException, struct.error) as exc:
            uses.append(LogUse(path, False, f"not applied: python-registry refuses it: {_why(exc)}"))
            continue
        if reader.is_eligible_log():
            readers.append((path, reader))
        else:
            uses.append(LogUse(path, False, f"not applied: its entries (from sequence {reader.first_log_sequence()}) "
                                            "are older than the hive"))
    if len(readers) == 2 and readers[1][1].is_starting_log(readers[0][1]):
        readers.reverse()
    expected: int | None = None
    for path, reader in readers:
        first = reader.first_log_sequence()
        saved = buffer.getvalue()
        try:
            last = reader.recover_hive() if expected is None else reader.recover_hive_continue(expected)
        except (RegistryParse.RegistryException, struct.error, UnboundLocalError) as exc:
            buffer.seek(0)  # nothing of a failed log stays applied (the readers share this buffer)
            buffer.truncate()
            buffer.write(saved)
            if reader.latest_hive_sequence() is not None:
                uses.append(LogUse(path, False, f"not applied: {_why(exc)}"))
                continue
            last = None  # python-registry fails this way when no entry passes its checks
        if last is None:
            why = ("its first entry does not continue the sequence" if expected is not None else
                   "no entry passes the hash and sequence checks")
            uses.append(LogUse(path, False, f"not applied: {why}"))
            continue
        uses.append(LogUse(path, True, f"applied: new format, sequence {first}-{last}", first, last))
        expected = last + 1
    hive[:] = buffer.getvalue()
    return [replace(u, detail=f"{u.detail}; {rejected[u.path]}", rejected=rejected[u.path]) if u.path in rejected
            else u for u in uses]


def recover(hive_path: FsPath, logs: list[FsPath]) -> Recovery:
    """Read ``hive_path`` and its ``logs`` (read-only) and replay the logs that apply, in memory."""
    with open_evidence(hive_path) as fh:
        hive = bytearray(fh.read())
    uses: list[LogUse] = []
    new: list[tuple[FsPath, bytes]] = []
    old: list[tuple[FsPath, bytes]] = []
    for path in sorted(logs, key=lambda p: p.name.upper()):
        with open_evidence(path) as fh:
            raw = fh.read()
        if not raw:
            uses.append(LogUse(path, False, "not applied: empty file"))
            continue
        file_type = struct.unpack_from("<I", raw, 0x1C)[0] if len(raw) >= SECTOR and raw[:4] == b"regf" else None
        if file_type == _LOG_NEW:
            new.append((path, raw))
        elif file_type in _LOG_OLD:
            old.append((path, raw))
        else:
            uses.append(LogUse(path, False, "not applied: not a transaction log (no 'regf' base block of a log)"))
    if new:
        uses.extend(_replay_new(hive, new))
    if old and not any(u.applied for u in uses):
        for path, raw in old:  # several old-format logs: the first that applies is used
            pristine = bytearray(hive)
            result = _replay_old(pristine, raw)
            if isinstance(result, str):
                uses.append(LogUse(path, False, f"not applied: {result}",
                                   rejected=result if result.startswith("rejected: ") else None))
                continue
            hive = pristine
            uses.append(LogUse(path, True, f"applied: old format, {result[2]} dirty 512-byte pages, sequence "
                                           f"{result[0]}", result[0], result[1]))
            break
    return Recovery(bytes(hive), sorted(uses, key=lambda u: u.path.name.upper()))
