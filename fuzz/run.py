"""The atheris harness: ``python -m fuzz.run reg|hive|damage [libFuzzer options and corpus folders]``."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["analyzer", "Registry", "regipy", "construct"]):
    from fuzz.targets import TARGETS


def main() -> None:
    """Pick the target named by the first argument and hand the rest to libFuzzer."""
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python -m fuzz.run {'|'.join(TARGETS)} [libFuzzer options] [corpus folders]")
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], lambda data: target(data) and None)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
