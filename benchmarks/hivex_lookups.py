"""Benchmark baseline: the registry reads ``regtls check`` makes, done through hivex (C; Debian's python3-hivex).

Run by the system Python (``/usr/bin/python3``), which has the ``hivex`` module: ``python3 hivex_lookups.py HIVE...``.
Prints the number of keys and values read, then the seconds the work took after the imports.
"""

from __future__ import annotations

import re
import sys
import time

import hivex  # type: ignore[import-not-found]

SYSTEM = [r"Control\SecurityProviders\SCHANNEL", r"Control\Cryptography\Configuration\Local\SSL\00010002",
          r"Control\Lsa\FipsAlgorithmPolicy", r"Control\Lsa"]
SOFTWARE = [r"Microsoft\Windows NT\CurrentVersion", r"Microsoft\NET Framework Setup\NDP\v4\Full",
            r"Policies\Microsoft\Cryptography\Configuration\SSL\00010002"] + [
    rf"{view}Microsoft\{key}" for view in ("", "WOW6432Node\\")
    for key in (r".NETFramework\v4.0.30319", r".NETFramework\v2.0.50727",
                r"Windows\CurrentVersion\Internet Settings\WinHttp")]
KB = re.compile(r"^Package(?:_\d+)?_for_KB(?:3140245|4019276|3154518|3154519|3154520)~", re.IGNORECASE)


def find(h: hivex.Hivex, node: int, path: str) -> int | None:
    """The node at ``path`` below ``node`` (case-insensitive, as hivex looks names up), or None."""
    for part in path.split("\\"):
        child = h.node_get_child(node, part)
        if not child:
            return None
        node = child
    return node


def read(h: hivex.Hivex, node: int, deep: bool) -> tuple[int, int]:
    """Read the values of ``node`` (and of its whole subtree when ``deep``): (keys, values)."""
    keys, values = 1, 0
    for value in h.node_values(node):
        h.value_key(value)
        h.value_value(value)
        values += 1
    if deep:
        for child in h.node_children(node):
            k, v = read(h, child, True)
            keys, values = keys + k, values + v
    return keys, values


def main(paths: list[str]) -> None:
    """Open each hive and do the reads for its kind."""
    keys = values = 0
    for path in paths:
        h = hivex.Hivex(path)
        root = h.root()
        select = find(h, root, "Select")
        if select is not None:  # SYSTEM: the current control set, then the SCHANNEL tree and the policies
            current = next(h.value_dword(v) for v in h.node_values(select) if h.value_key(v) == "Current")
            base = find(h, root, f"ControlSet{current:03d}")
            wanted = [(p, p.endswith("SCHANNEL")) for p in SYSTEM]
        else:  # SOFTWARE: .NET, WinHTTP, version, and the servicing packages of the TLS updates
            base = root
            wanted = [(p, False) for p in SOFTWARE]
            packages = find(h, root, r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages")
            if packages is not None:
                for child in h.node_children(packages):
                    keys += 1
                    if KB.match(h.node_name(child)):
                        k, v = read(h, child, False)
                        values += v
        for path, deep in wanted:
            node = find(h, base, path) if base is not None else None
            if node is not None:
                k, v = read(h, node, deep)
                keys, values = keys + k, values + v
    print(keys, values)


if __name__ == "__main__":
    start = time.perf_counter()
    main(sys.argv[1:])
    print(time.perf_counter() - start)
