"""Generate benchmark inputs: a large regedit export, a large SOFTWARE hive (through hivexregedit) and a fleet."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

WORDS = ("alpha", "beta", "gamma", "delta", "Microsoft", "Windows", "Update", "Service", "Policy", "Driver", "Class",
         "Setup", "Network", "Adapter", "Config", "Shell", "Extension", "Handler", "Component", "Interface", "TypeLib")
SOFTWARE = "HKEY_LOCAL_MACHINE\\SOFTWARE"
TLS_KEYS = (
    ("Microsoft\\Windows NT\\CurrentVersion", ['"ProductName"="Windows Server 2019 Datacenter"',
                                              '"CurrentBuildNumber"="17763"', '"CurrentBuild"="17763"',
                                              '"InstallationType"="Server"', '"EditionID"="ServerDatacenter"',
                                              '"UBR"=dword:000014d1']),
    ("Microsoft\\.NETFramework\\v4.0.30319", ['"SchUseStrongCrypto"=dword:00000001',
                                             '"SystemDefaultTlsVersions"=dword:00000001']),
    ("WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319", ['"SchUseStrongCrypto"=dword:00000001',
                                                          '"SystemDefaultTlsVersions"=dword:00000001']),
    ("Microsoft\\NET Framework Setup\\NDP\\v4\\Full", ['"Release"=dword:00070bf6']),
    ("Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp", ['"DefaultSecureProtocols"=dword:00000a00']),
    ("WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp",
     ['"DefaultSecureProtocols"=dword:00000a00']),
)


def _hex_lines(prefix: str, data: bytes) -> list[str]:
    """regedit-style hex data: wrapped near 80 columns with ``\\`` and a two-space indent."""
    lines, line = [], prefix
    for i, byte in enumerate(data):
        token = f"{byte:02x}" + ("," if i < len(data) - 1 else "")
        if len(line) + len(token) > 78 and line.strip():
            lines.append(line + "\\")
            line = "  "
        line += token
    lines.append(line)
    return lines


def _text(rnd: random.Random, low: int, high: int) -> str:
    words, size = [], rnd.randint(low, high)
    while sum(len(w) + 1 for w in words) < size:
        words.append(rnd.choice(WORDS))
    return " ".join(words)[:size]


def _value(rnd: random.Random, i: int) -> list[str]:
    """One value in the mix of the shared generator: dwords, strings, binaries, multi-strings, qwords."""
    name = f'"{rnd.choice(WORDS)} {i}"'
    r = rnd.random()
    if r < 0.40:
        return [f"{name}=dword:{rnd.getrandbits(32):08x}"]
    if r < 0.65:
        return [f'{name}="{_text(rnd, 10, 200)}"']
    if r < 0.75:
        return _hex_lines(f"{name}=hex:", rnd.randbytes(rnd.randint(16, 1024)))
    if r < 0.83:
        data = "".join(_text(rnd, 5, 60) + "\0" for _ in range(rnd.randint(2, 6))) + "\0"
        return _hex_lines(f"{name}=hex(7):", data.encode("utf-16-le"))
    if r < 0.88:
        return _hex_lines(f"{name}=hex(2):", ("%SystemRoot%\\" + _text(rnd, 5, 80) + "\0").encode("utf-16-le"))
    if r < 0.93:
        return _hex_lines(f"{name}=hex(b):", rnd.randbytes(8))
    if r < 0.98:
        return _hex_lines(f"{name}=hex(3):", rnd.randbytes(rnd.randint(1, 64)))
    return _hex_lines(f"{name}=hex:", rnd.randbytes(rnd.randint(4000, 16000)))


def sections(keys: int, values_per_key: float, packages: int, seed: int) -> Iterator[str]:
    """Lines of a SOFTWARE-like export: the TLS keys, CBS packages, then filler under Classes."""
    rnd = random.Random(seed)
    seen: set[str] = set()

    def section(path: str, values: list[str]) -> Iterator[str]:
        parts = path.split("\\")
        for n in range(1, len(parts)):
            ancestor = "\\".join(parts[:n])
            if ancestor not in seen:
                seen.add(ancestor)
                yield from (f"[{SOFTWARE}\\{ancestor}]", "")
        seen.add(path)
        yield f"[{SOFTWARE}\\{path}]"
        yield from values
        yield ""

    yield from ("Windows Registry Editor Version 5.00", "")
    for path, values in TLS_KEYS:
        yield from section(path, values)
    cbs = "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages"
    for n in range(packages):
        name = f"Package_{n}_for_KB{4000000 + n}~31bf3856ad364e35~amd64~~10.0.1.{n % 9}"
        yield from section(f"{cbs}\\{name}", ["\"CurrentState\"=dword:00000070", "\"Visibility\"=dword:00000001"])
    for n in range(keys):
        path = f"Classes\\Vendor {n // 500}\\Product {n // 25 % 20}\\Component {{{rnd.getrandbits(32):08X}-{n:04X}}}"
        count = int(rnd.expovariate(1 / values_per_key)) if values_per_key else 0
        yield from section(path, [line for i in range(count) for line in _value(rnd, i)])


def write_export(out: Path, size: int, seed: int = 2) -> Path:
    """A regedit export of about ``size`` bytes: UTF-16LE with BOM and CRLF, as regedit writes it."""
    written = 2
    with open(out, "wb") as fh:
        fh.write(b"\xff\xfe")
        batch: list[str] = []
        for line in sections(10**9, 3.5, 200, seed):
            batch.append(line)
            if len(batch) >= 5000 and not line:  # flush at the end of a key
                data = ("\r\n".join(batch) + "\r\n").encode("utf-16-le")
                fh.write(data)
                written += len(data)
                batch.clear()
                if written >= size:
                    break
        fh.write(("\r\n".join(batch) + "\r\n").encode("utf-16-le") if batch else b"")
    return out


def write_software_hive(out: Path, keys: int, packages: int, build_hives: object) -> Path:
    """A SOFTWARE hive built by hivexregedit from a generated source (``build_hives`` is samples/build_hives)."""
    source = out.with_suffix(".reg")
    with open(source, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(line + "\n" for line in sections(keys, 4.0, packages, 1))
    build_hives.build_hive("SOFTWARE", source, out)  # type: ignore[attr-defined]
    source.unlink()
    return out


def write_fleet(folder: Path, machines: int, samples: Path, system: Path | None = None) -> Path:
    """``machines`` config folders: the sample machines in turn, or, given a real ``system`` hive, that hive
    (hard-linked, so that 200 machines take no more disk than one) with a sample SOFTWARE hive."""
    names = sorted(p.name for p in samples.iterdir() if (p / "SYSTEM").is_file())
    for n in range(machines):
        target = folder / f"machine{n:03d}"
        target.mkdir(parents=True, exist_ok=True)
        sample = samples / names[n % len(names)]
        shutil.copyfile(sample / "SOFTWARE", target / "SOFTWARE")
        if system is None:
            shutil.copyfile(sample / "SYSTEM", target / "SYSTEM")
            continue
        try:
            os.link(system, target / "SYSTEM")
        except OSError:
            shutil.copyfile(system, target / "SYSTEM")
    return folder


SCHANNEL = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"


def write_crafted(out: Path, kind: str, size: int) -> Path:
    """A hostile ``.reg`` of about ``size`` bytes (UTF-8), all of it inside the areas the rules read.

    ``hex``: one binary value over continuation lines; ``rejected``: lines regedit rejects; ``keys``: many small
    keys; ``deep``: long deep key paths; ``values``: many values of one key; ``line``: one line; ``comment``: one
    comment line.
    """
    with open(out, "w", encoding="ascii", newline="\r\n") as fh:
        fh.write(f"Windows Registry Editor Version 5.00\n\n[{SCHANNEL}\\Protocols\\TLS 1.2\\Client]\n")
        written = 0
        if kind == "hex":
            fh.write('"Blob"=hex:00,\\\n')
            row = "  " + ",".join(["ab"] * 25) + ",\\\n"
            while written < size:
                fh.write(row)
                written += len(row) + 1
            fh.write("  00\n")
        elif kind in ("line", "comment"):
            fh.write(";" if kind == "comment" else '"Long"="')
            piece = "x" * (1 << 20)
            while written < size:
                fh.write(piece)
                written += len(piece)
            fh.write("\n" if kind == "comment" else '"\n')
        else:
            n = 0
            while written < size:
                if kind == "rejected":
                    line = f"this line {n} is not a key, value or comment\n"
                elif kind == "values":
                    line = f'"Value {n}"=dword:{n & 0xFFFFFFFF:08x}\n'
                elif kind == "deep":
                    line = f"[{SCHANNEL}\\Ciphers\\" + "\\".join(f"Level{d} {n}" for d in range(40)) + "]\n"
                else:
                    line = f"[{SCHANNEL}\\Ciphers\\Cipher {n}]\n\"Enabled\"=dword:00000000\n"
                fh.write(line)
                written += len(line) + line.count("\n")
                n += 1
    return out
