"""The atheris harness: ``python -m fuzz.run reg|hive|damage [libFuzzer options and corpus folders]``."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import atheris

with atheris.instrument_imports(include=["analyzer", "Registry", "regipy", "construct"]):
    from fuzz.targets import TARGETS, remove_scratch


def _interrupted(signum: int, frame: FrameType | None) -> None:
    """SIGINT or SIGTERM: remove the scratch folder of the current input, say so, exit 130 or 143."""
    remove_scratch()
    sys.stderr.write("regtls fuzz: interrupted\n")
    sys.stderr.flush()
    os._exit(128 + signum)  # libFuzzer's own exit paths would skip Python's clean-up


def main() -> None:
    """Pick the target named by the first argument and hand the rest to libFuzzer."""
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python -m fuzz.run {'|'.join(TARGETS)} [libFuzzer options] [corpus folders]")
    target = TARGETS[sys.argv[1]]
    for signum in (signal.SIGINT, signal.SIGTERM):  # handled here, not by libFuzzer (-handle_int=0 -handle_term=0)
        signal.signal(signum, _interrupted)
    atheris.Setup([sys.argv[0], "-handle_int=0", "-handle_term=0", *sys.argv[2:]],
                  lambda data: target(data) and None)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
