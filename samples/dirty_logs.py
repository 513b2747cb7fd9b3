"""Make a dirty hive and its transaction log from two clean hives (before and after a change), for tests.

No tool writes registry transaction logs on Linux, so this writes them to the layout of Maxim Suhanov's
"Windows registry file format specification" (https://github.com/msuhanov/regf), "Format of transaction log
files": the new format of Windows 8.1 and later (``HvLE`` entries with Marvin32 hashes, in ``.LOG1``) and
the old format (``DIRT`` dirty vector and 512-byte pages, in ``.LOG``/``.LOG1``).  The dirty hive is the
*before* file with its sequence numbers left unequal; replaying the log onto it must give the *after* file's
hive bins.
"""

from __future__ import annotations

import struct

BASE_BLOCK = 4096
SECTOR = 512
PAGE = 4096
MARVIN_SEED = 0x82EF4D887A4E55C5  # the spec: 14219357686671994754, little-endian
_M = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & _M


def _mix(lo: int, hi: int, v: int) -> tuple[int, int]:
    lo = (lo + v) & _M
    hi ^= lo
    lo = (_rotl(lo, 20) + hi) & _M
    hi = _rotl(hi, 9) ^ lo
    lo = (_rotl(lo, 27) + hi) & _M
    hi = _rotl(hi, 19)
    return lo, hi


def marvin32(data: bytes, seed: int = MARVIN_SEED) -> int:
    """The Marvin32 hash of ``data`` (64-bit result, as the log entry fields store it)."""
    lo, hi = seed & _M, seed >> 32
    whole = len(data) // 4 * 4
    for (v,) in struct.iter_unpack("<I", data[:whole]):
        lo, hi = _mix(lo, hi, v)
    final = 0x80
    for byte in reversed(data[whole:]):
        final = (final << 8) | byte
    lo, hi = _mix(lo, hi, final & _M)
    lo, hi = _mix(lo, hi, 0)
    return (hi << 32) | lo


def checksum(block: bytes | bytearray) -> int:
    """The base block checksum (XOR of the first 127 dwords; 0 and -1 are avoided)."""
    xor = 0
    for (word,) in struct.iter_unpack("<I", bytes(block[:0x1FC])):
        xor ^= word
    return {0: 1, _M: 0xFFFFFFFE}.get(xor, xor)


def _base(source: bytes, seq1: int, seq2: int, file_type: int, bins_size: int) -> bytearray:
    """A copy of ``source``'s base block with new sequence numbers, file type and hive bins size."""
    block = bytearray(source[:BASE_BLOCK])
    struct.pack_into("<II", block, 4, seq1, seq2)
    struct.pack_into("<I", block, 0x1C, file_type)
    struct.pack_into("<I", block, 0x28, bins_size)
    struct.pack_into("<I", block, 0x1FC, checksum(block))
    return block


def _changed(before: bytes, after: bytes, size: int) -> list[int]:
    """Offsets (from the first hive bin) of the ``size``-byte pages that differ."""
    padded = before[: len(after)].ljust(len(after), b"\0")
    return [off - BASE_BLOCK for off in range(BASE_BLOCK, len(after), size)
            if padded[off:off + size] != after[off:off + size]]


def _dirty_primary(before: bytes) -> tuple[bytes, int]:
    """The primary file as a crash leaves it: the *before* bytes, primary sequence number one ahead."""
    seq = struct.unpack_from("<I", before, 8)[0]
    bins = struct.unpack_from("<I", before, 0x28)[0]
    return bytes(_base(before, seq + 1, seq, 0, bins)) + before[BASE_BLOCK:], seq


def new_format(before: bytes, after: bytes) -> tuple[bytes, bytes]:
    """(dirty hive, ``.LOG1``): one ``HvLE`` entry holding every 4096-byte page that changed."""
    hive, seq = _dirty_primary(before)
    bins = struct.unpack_from("<I", after, 0x28)[0]
    pages = [(off, after[BASE_BLOCK + off:BASE_BLOCK + off + PAGE]) for off in _changed(before, after, PAGE)]
    body = b"".join(struct.pack("<II", off, len(page)) for off, page in pages) + b"".join(p for _, p in pages)
    size = -(-(40 + len(body)) // SECTOR) * SECTOR
    entry = bytearray(struct.pack("<4sIIIII", b"HvLE", size, 0, seq, bins, len(pages)) + bytes(16) + body)
    entry.extend(bytes(size - len(entry)))
    struct.pack_into("<Q", entry, 24, marvin32(bytes(entry[40:size])))
    struct.pack_into("<Q", entry, 32, marvin32(bytes(entry[:32])))
    log = bytes(_base(before, seq, seq, 6, bins)[:SECTOR]) + bytes(entry)
    return hive, log


def old_format(before: bytes, after: bytes) -> tuple[bytes, bytes]:
    """(dirty hive, ``.LOG``): a ``DIRT`` vector over the hive bins and every 512-byte page that changed."""
    hive, seq = _dirty_primary(before)
    bins = struct.unpack_from("<I", after, 0x28)[0]
    dirty = set(_changed(before, after, SECTOR))
    vector = bytearray(bins // SECTOR // 8)
    for off in dirty:
        vector[off // SECTOR // 8] |= 1 << (off // SECTOR % 8)
    head = b"DIRT" + bytes(vector)
    head += bytes(-len(head) % SECTOR)
    pages = b"".join(after[BASE_BLOCK + off:BASE_BLOCK + off + SECTOR] for off in sorted(dirty))
    log = bytes(_base(before, seq + 1, seq + 1, 1, bins)[:SECTOR]) + head + pages
    return hive, log
