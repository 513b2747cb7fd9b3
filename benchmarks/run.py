"""Measure regtls against its baselines in one run and print the table of ratios (``python -m benchmarks.run``).

Each figure is the best wall time (and the peak resident memory) of a fresh process, repeated; ratios
compare two figures taken in the same run, since absolute times on shared machines are noise.  Inputs
are generated into a cache folder on the first run (the 90 MB hive takes hivexregedit a few minutes).
``--smoke`` runs every row on tiny inputs once: it checks the harness, not the speed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import lzma
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from benchmarks import generate

REPO = Path(__file__).resolve().parents[1]
CORPUS_SYSTEM = REPO.parent / "shared" / "corpus" / "hives" / "regipy" / "SYSTEM_WIN_10_1709.xz"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-hivex lives there
MB = 1 << 20


@dataclass(frozen=True)
class Sizes:
    """How big the generated inputs are (``crafted``: the hostile ``.reg`` files, kind -> bytes)."""

    export_bytes: int
    software_keys: int
    software_packages: int
    fleet: int
    repeat: int
    crafted: dict[str, int]


# the sizes of the performance issue's table (the 98 MB file of 1M keys is held at 20 MB: see README)
FULL = Sizes(300 * MB, 30_000, 3000, 200, 3, {"hex": 19_600_000, "rejected": 6 * MB, "small-keys": 10 * MB,
                                              "values": 26 * MB, "deep": 21 * MB, "keys": 20 * MB,
                                              "line": 200 * MB, "comment": 200 * MB})
SMOKE = Sizes(1 * MB, 300, 50, 4, 1, {"hex": MB, "rejected": MB, "small-keys": MB, "values": MB, "deep": MB,
                                      "keys": MB, "line": MB, "comment": MB})


@dataclass(frozen=True)
class Measure:
    """The best wall time and the largest peak resident memory of a command over its repeats."""

    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    work: str
    figure: str
    baseline: str
    ratio: float | None
    goal: str
    met: bool | None


# Runs the command and prints its wall time, peak memory and exit code.  A small process of its own starts it:
# a child forked straight from this (large) process would count this process's pages in its peak memory.
LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measure(command: Sequence[str | os.PathLike[str]], repeat: int, ok: Sequence[int] = (0,)) -> Measure:
    """Run ``command`` ``repeat`` times (stdout discarded): its best wall time and its largest peak memory."""
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", LAUNCHER, *map(str, command)], capture_output=True, text=True)
        try:
            elapsed, rss, code = done.stdout.split()
        except ValueError:
            raise SystemExit(f"benchmark launcher failed: {done.stderr.strip()}") from None
        if int(code) not in ok:
            raise SystemExit(f"benchmark command failed with exit code {code}: {' '.join(map(str, command))}\n"
                             f"{done.stderr.strip()}")
        best, peak = min(best, float(elapsed)), max(peak, int(rss) / 1024)
    return Measure(best, peak)


# ``regtls check`` in one process, timed after the imports (what the hive lookups and the rules cost)
IN_PROCESS = """
import sys, time
from pathlib import Path
from analyzer.engine import check, choose_profile
profile = choose_profile("azure-backup")
start = time.perf_counter()
check([Path(p) for p in sys.argv[1:]], profile, "python-registry")
print(time.perf_counter() - start)
"""


# what the evidence trail costs: the SHA-256 of the input taken before and again after reading it
HASHING = """
import sys, time
from pathlib import Path
from analyzer.inputs import sha256_file
start = time.perf_counter()
for _ in range(2):
    sha256_file(Path(sys.argv[1]))
print(time.perf_counter() - start)
"""


def seconds_printed(command: Sequence[str | os.PathLike[str]], repeat: int) -> float:
    """The best of the times the command prints as its last line (work timed inside the process)."""
    best = float("inf")
    for _ in range(repeat):
        done = subprocess.run([str(c) for c in command], capture_output=True, text=True, check=True)
        best = min(best, float(done.stdout.split()[-1]))
    return best


def shell(script: str) -> list[str]:
    """A shell pipeline as a command."""
    return ["/bin/sh", "-c", script]


def regtls(*args: str | os.PathLike[str]) -> list[str | os.PathLike[str]]:
    """The installed ``regtls`` command (its console script, as users run it)."""
    script = Path(sys.executable).with_name("regtls")
    return [str(script) if script.exists() else "regtls", *args]


def machine() -> str:
    """One line describing the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def build_hives() -> ModuleType:
    """``samples/build_hives.py`` (the fixture builder) as a module."""
    spec = importlib.util.spec_from_file_location("build_hives", REPO / "samples" / "build_hives.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cached(path: Path, make: Callable[[Path], object]) -> Path:
    """``path``, made by ``make`` (into a temporary name, then renamed) unless a previous run left it."""
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr)
        partial = path.with_name(path.name + ".partial")
        make(partial)
        partial.rename(path)
    return path


def inputs(cache: Path, sizes: Sizes) -> dict[str, Path]:
    """Generate (or reuse) every input."""
    cache.mkdir(parents=True, exist_ok=True)
    out = {
        "export": cached(cache / f"export-{sizes.export_bytes // MB}mb.reg",
                         lambda p: generate.write_export(p, sizes.export_bytes)),
        "software": cached(cache / f"SOFTWARE-{sizes.software_keys}",
                           lambda p: generate.write_software_hive(p, sizes.software_keys, sizes.software_packages,
                                                                  build_hives())),
        "sample": REPO / "samples" / "server2019-configured",
    }
    if CORPUS_SYSTEM.exists():
        def unpack(p: Path) -> None:
            with lzma.open(CORPUS_SYSTEM) as fin, open(p, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        out["system"] = cached(cache / "SYSTEM_WIN_10_1709", unpack)
        real: Path | None = out["system"]
    else:
        print("the corpus is absent: the SYSTEM rows use a sample hive instead of a real one", file=sys.stderr)
        out["system"] = REPO / "samples" / "server2019-configured" / "SYSTEM"
        real = None
    for kind, size in sizes.crafted.items():
        made = "keys" if kind == "small-keys" else kind
        out[f"crafted-{kind}"] = cached(cache / f"crafted-{kind}-{size // MB}mb.reg",
                                        lambda p, k=made, n=size: generate.write_crafted(p, k, n))
    out["fleet"] = cached(cache / (f"fleet-{sizes.fleet}" + ("-real" if real else "")),
                          lambda p: generate.write_fleet(p, sizes.fleet, REPO / "samples", real))
    return out


def rows(files: dict[str, Path], repeat: int) -> list[Row]:
    """Measure every goal of the performance issue."""
    hivex = Path(SYSTEM_PYTHON).exists() and subprocess.run(
        [SYSTEM_PYTHON, "-c", "import hivex"], capture_output=True).returncode == 0
    lookups = REPO / "benchmarks" / "hivex_lookups.py"
    out: list[Row] = []

    def ratio(work: str, ours: Measure, base: Measure | None, label: str, goal: float, lower: bool = True) -> None:
        if base is None:
            out.append(Row(work, f"{ours.seconds:.2f} s", f"{label}: not available", None, f"<= {goal}x", None))
            return
        r = ours.seconds / base.seconds
        out.append(Row(work, f"{ours.seconds:.3f} s", f"{label} {base.seconds:.3f} s", r,
                       f"{'<=' if lower else '>='} {goal}x", r <= goal if lower else r >= goal))

    for name, hive in (("SOFTWARE", files["software"]), ("SYSTEM", files["system"])):
        ours = measure(regtls("check", hive, "-f", "json"), repeat, ok=(0, 1))
        base = measure([SYSTEM_PYTHON, lookups, hive], repeat) if hivex else None
        size = hive.stat().st_size / MB
        ratio(f"check {name} hive ({size:.0f} MB), whole command", ours, base, "hivex", 3)
        work = Measure(seconds_printed([sys.executable, "-c", IN_PROCESS, hive], repeat), 0)
        base_work = Measure(seconds_printed([SYSTEM_PYTHON, lookups, hive], repeat), 0) if hivex else None
        ratio(f"check {name} hive ({size:.0f} MB), work after start-up", work, base_work, "hivex", 3)
        hashing = seconds_printed([sys.executable, "-c", HASHING, hive], repeat)
        out.append(Row(f"check {name} hive: of that work, SHA-256 before and after", f"{hashing:.3f} s", "", None,
                       "", None))

    export = files["export"]
    floor = measure(shell(f"iconv -f UTF-16LE -t UTF-8 '{export}' | grep -c '^\\['"), repeat, ok=(0, 1))
    size = export.stat().st_size / MB
    for work, command in ((f"dump --key on {size:.0f} MB UTF-16 export",
                           regtls("dump", export, "--key", r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\.NETFramework")),
                          (f"lint on {size:.0f} MB UTF-16 export", regtls("lint", export, "--profile", "lint"))):
        ours = measure(command, repeat, ok=(0, 1))
        ratio(work, ours, floor, "iconv + grep -c", 4)
        out.append(Row(f"{work}: peak memory", f"{ours.peak_mb:.0f} MB", "", None, "<= 50 MB", ours.peak_mb <= 50))

    python = measure([sys.executable, "-c", "pass"], repeat)
    ratio("regtls --version", measure(regtls("--version"), repeat), python, "python -c pass", 3)
    typer = measure([sys.executable, "-c", TYPER_FLOOR], repeat)
    out.append(Row("typer's own start-up: an app of one command with one option, run", f"{typer.seconds:.3f} s",
                   f"python -c pass {python.seconds:.3f} s", typer.seconds / python.seconds, "", None))
    ratio("check on a sample machine", measure(regtls("check", files["sample"]), repeat, ok=(0, 1)), typer,
          "typer's start-up", 2)
    out += dumps(files, repeat)
    out += crafted(files, repeat)

    one = measure(regtls("scan", files["fleet"], "--jobs", "1", "--format", "jsonl"), repeat, ok=(0, 1))
    two = measure(regtls("scan", files["fleet"], "--jobs", "2", "--format", "jsonl"), repeat, ok=(0, 1))
    machines = sum(1 for _ in files["fleet"].iterdir())
    kind = "real SYSTEM hive and sample SOFTWARE" if files["fleet"].name.endswith("-real") else "sample hives"
    ratio(f"scan of {machines} machines ({kind}), --jobs 1 / --jobs 2", one, two, "--jobs 2", 1.8, lower=False)

    pair = measure(regtls("check", files["system"], files["software"], "-f", "json"), repeat, ok=(0, 1))
    size = (files["system"].stat().st_size + files["software"].stat().st_size) / MB
    out.append(Row("check on the hive pair: peak memory", f"{pair.peak_mb:.0f} MB", f"hive size {size:.0f} MB",
                   pair.peak_mb / size, "< 1x", pair.peak_mb < size))
    return out


# what typer itself costs a command: import it, build the parameters (pydantic adapters) and run one command
TYPER_FLOOR = """
import sys, typer
app = typer.Typer(add_completion=False)
@app.command()
def main(name: str = "x") -> None:
    pass
sys.argv = ["floor", "--name", "y"]
app()
"""


def dumps(files: dict[str, Path], repeat: int) -> list[Row]:
    """``dump`` of the real SYSTEM hive against hivexml, and of a ``.reg`` of small keys: time and peak memory."""
    out = []
    system = files["system"]
    ours = measure(regtls("dump", system, "--format", "json"), repeat)
    base = measure(["hivexml", system], repeat) if shutil.which("hivexml") else None
    size = system.stat().st_size / MB
    if base is None:
        out.append(Row(f"dump --format json of the SYSTEM hive ({size:.0f} MB)", f"{ours.seconds:.3f} s",
                       "hivexml: not available", None, "<= 3x", None))
    else:
        r = ours.seconds / base.seconds
        out.append(Row(f"dump --format json of the SYSTEM hive ({size:.0f} MB)", f"{ours.seconds:.3f} s",
                       f"hivexml {base.seconds:.3f} s", r, "<= 3x", r <= 3))
    out.append(Row("dump --format json of the SYSTEM hive: peak memory", f"{ours.peak_mb:.0f} MB",
                   f"hivexml {base.peak_mb:.0f} MB" if base else "", None, "<= 100 MB", ours.peak_mb <= 100))
    small = files["crafted-small-keys"]
    keys = measure(regtls("dump", small), repeat)
    out.append(Row(f"dump of a {small.stat().st_size / MB:.0f} MB .reg of small keys: peak memory",
                   f"{keys.peak_mb:.0f} MB", f"{keys.seconds:.2f} s", None, "<= 100 MB", keys.peak_mb <= 100))
    return out


def crafted(files: dict[str, Path], repeat: int) -> list[Row]:
    """``check`` of the hostile ``.reg`` files: throughput where the goal is one, else peak memory."""
    out = []
    for kind, what, goal in (("hex", "one hex value over continuation lines", 50.0),
                             ("rejected", "rejected lines", 10.0)):
        path = files[f"crafted-{kind}"]
        got = measure(regtls("check", path, "-f", "json"), repeat, ok=(0, 1))
        rate = path.stat().st_size / MB / got.seconds
        out.append(Row(f"check of a {path.stat().st_size / MB:.0f} MB .reg of {what}", f"{rate:.1f} MB/s",
                       f"{got.seconds:.2f} s", None, f">= {goal:.0f} MB/s", rate >= goal))
    for kind, what in (("values", "values of one key"), ("deep", "deep key paths"), ("keys", "small keys"),
                       ("line", "one line"), ("comment", "one comment line")):
        path = files[f"crafted-{kind}"]
        got = measure(regtls("check", path, "-f", "json"), repeat, ok=(0, 1))
        out.append(Row(f"check of a {path.stat().st_size / MB:.0f} MB .reg of {what}: peak memory",
                       f"{got.peak_mb:.0f} MB", f"{got.seconds:.2f} s", None, "<= 100 MB", got.peak_mb <= 100))
    return out


def table(results: list[Row]) -> str:
    """The results as a Markdown table."""
    lines = ["| work | regtls | baseline | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for r in results:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        met = {True: "yes", False: "**no**", None: "n/a"}[r.met]
        lines.append(f"| {r.work} | {r.figure} | {r.baseline} | {ratio} | {r.goal} | {met} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, build the inputs, measure and print."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny inputs, one repeat: test the harness only")
    parser.add_argument("--cache", type=Path, default=REPO / "benchmarks" / ".cache",
                        help="where generated inputs are kept between runs (default: benchmarks/.cache)")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    files = inputs(args.cache / ("smoke" if args.smoke else "full"), sizes)
    # as installed by pip: the package byte-compiled (PYTHONDONTWRITEBYTECODE would make every run compile it)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "analyzer")], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"machine: {machine()}")
    print()
    print(table(rows(files, sizes.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
