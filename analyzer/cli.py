"""The ``regtls`` command line (typer): parse options, call the engine, write output, map exit codes."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO, NoReturn

import typer

from analyzer import __version__, clihelp

if TYPE_CHECKING:
    from analyzer.fleetrun import Options as FleetOptions
    from analyzer.profiles import Profile as ProfileObject
    from analyzer.report.fleet import Renderer
    from analyzer.scan import Row
    from analyzer.sources.folder import MachineSource

clihelp.install()
app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Tell offline, from registry data, whether a Windows machine will use TLS 1.2.\n\n"
    "Reads exported .reg files and raw SYSTEM/SOFTWARE hive files; never a live registry, never writes to "
    "its inputs.\n\n"
    "[b]Examples[/b]\n\n"
    "  regtls check SYSTEM SOFTWARE\n\n"
    "  regtls check SYSTEM SOFTWARE fix.reg --format json --output report.json\n\n"
    "  regtls dump SYSTEM --key 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders'",
)


INTERRUPTED = " 130 (SIGINT) or 143 (SIGTERM): interrupted, temporary files removed."
THRESHOLDS = {"error": ("error",), "warning": ("error", "warning"), "undecided": ("error", "warning"), "never": ()}


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    github = "github"
    markdown = "markdown"
    html = "html"


class ViewFormat(str, Enum):
    text = "text"
    json = "json"


class LintFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    github = "github"
    markdown = "markdown"


class DumpFormat(str, Enum):
    json = "json"
    reg = "reg"
    text = "text"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    undecided = "undecided"
    never = "never"


class ScanFormat(str, Enum):
    text = "text"
    jsonl = "jsonl"
    csv = "csv"
    json = "json"
    markdown = "markdown"
    html = "html"
    sarif = "sarif"


class FixFormat(str, Enum):
    reg = "reg"
    ps1 = "ps1"
    pol = "pol"


class BackendName(str, Enum):
    python_registry = "python-registry"
    regipy = "regipy"


Inputs = Annotated[list[Path], typer.Argument(help="Hive files (SYSTEM, SOFTWARE), a config folder or a disk "
                                              "image (IMAGE[@VOLUME[@vssN]]), a WIM/ESD (WIM@INDEX) or "
                                              "container image (docker save tar, OCI layout), and .reg files; "
                                              ".reg files apply on top of the hives in command-line order.",
                                              show_default=False, readable=False)]
Backend = Annotated[BackendName, typer.Option(help="Hive parser library.", case_sensitive=False)]
FailOnOption = Annotated[FailOn, typer.Option(help="Lowest level that makes the exit code 1 (undecided: also a "
                                              "requirement the inputs cannot decide).", case_sensitive=False)]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write the result to this file (-: stdout).",
                                            show_default=False)]
Baseline = Annotated[Path | None, typer.Option(help="Report only the findings this baseline file does not hold.",
                                              show_default=False)]
WriteBaseline = Annotated[Path | None, typer.Option(help="Write the findings (after suppressions) to this baseline "
                                                   "file.", show_default=False)]
NoLogs = Annotated[bool, typer.Option("--no-logs", help="Read dirty hives as they are, without replaying their "
                                      "transaction logs (.LOG1/.LOG2/.LOG).")]



def _max_copy(value: str | None) -> str | None:
    """``--max-copy``: checked, then set as REGTLS_MAX_COPY so that every copy (and worker) of the command sees it."""
    if value is not None:
        from analyzer.sources.bounded import ENV_BUDGET, parse_size

        try:
            parse_size(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a size (give bytes, or a number with K, M or G)") from None
        os.environ[ENV_BUDGET] = value
    return value


MaxCopy = Annotated[str | None, typer.Option("--max-copy", metavar="SIZE", callback=_max_copy, show_default=False,
                                             help="Most bytes copied out of disk images into the temporary folder "
                                             "(default: 4 times the hives' size, at least 256M; also "
                                             "REGTLS_MAX_COPY).")]


DAMAGED = 3  # dump: everything readable was printed, but damaged hive entries were lost


def fail(message: str) -> NoReturn:
    """Print one error line on stderr and exit 2."""
    typer.echo(f"regtls: error: {' '.join(message.splitlines())}", err=True)
    raise typer.Exit(2)


def need_html() -> None:
    """Exit 2 with one line naming the extra when --format html cannot work (Jinja2 missing)."""
    from analyzer.report.html import HtmlUnavailable, environment

    try:
        environment()
    except HtmlUnavailable as exc:
        fail(str(exc))


def _terminal() -> tuple[int, bool]:
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns, True
    return 120, False


def check_output(output: Path | None, inputs: list[Path]) -> None:
    """Refuse an output path on, beside or inside the evidence, or over a device, before any work is done."""
    from analyzer import outputs

    try:
        outputs.check(output, inputs)
    except outputs.OutputRefused as exc:
        fail(str(exc))


def write_output(text: str | bytes | Iterable[str], output: Path | None, inputs: list[Path] | None = None) -> None:
    """Write the result to stdout (no output, or ``-``), or atomically to ``output`` (a temporary file renamed
    into place) after checking it again against the ``inputs`` and every file the command read.

    Text is written as UTF-8; a character UTF-8 cannot hold (a lone surrogate from a damaged name) is
    written as its ``\\udcxx`` escape instead of failing.  Text given as pieces is written as they come.
    """
    from analyzer import outputs

    pieces: Iterable[str | bytes] = [text] if isinstance(text, (str, bytes)) else text
    if output is None or outputs.is_stdout(output):
        sys.stdout.flush()
        _write_pieces(pieces, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    check_output(output, inputs or [])
    try:
        outputs.write(lambda fh: _write_pieces(pieces, fh), output)
    except outputs.OutputRefused as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{output}: cannot write: {exc.strerror or exc}")


def _write_pieces(pieces: Iterable[str | bytes], fh: BinaryIO) -> None:
    """Encode and write text pieces, gathered into blocks of about 64 KB."""
    block: list[bytes] = []
    size = 0
    for piece in pieces:
        data = piece if isinstance(piece, bytes) else piece.encode("utf-8", "backslashreplace")
        block.append(data)
        size += len(data)
        if size >= 1 << 16:
            fh.write(b"".join(block))
            block, size = [], 0
    fh.write(b"".join(block))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"regtls {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    config: Annotated[Path | None, typer.Option(help="Read this regtls.toml or pyproject.toml instead of the "
                                                "nearest one (searched from the current folder upwards).",
                                                show_default=False)] = None,
    isolated: Annotated[bool, typer.Option("--isolated", help="Read no configuration file.")] = False,
) -> None:
    """Tell offline, from registry data, whether a Windows machine will use TLS 1.2."""
    from analyzer.config import Config, ConfigError, discover, load_file

    if ctx.resilient_parsing:
        return
    try:
        found = Config() if isolated else load_file(config) if config else discover(Path.cwd())
    except ConfigError as exc:
        fail(str(exc))
    ctx.obj = found
    ctx.default_map = found.default_map()


def _ids(values: list[str] | None) -> list[str]:
    """Rule ids from repeated and comma-separated options."""
    return [part.strip().upper() for value in values or [] for part in value.split(",") if part.strip()]


Profile = Annotated[str, typer.Option(help="Requirements to check against: a shipped profile (regtls profiles) or "
                                      "a TOML file that may extend one.")]
Select = Annotated[list[str] | None, typer.Option(help="Also run these rules (IDs, comma-separated or repeated).",
                                                  show_default=False)]
Ignore = Annotated[list[str] | None, typer.Option(help="Do not run these rules.", show_default=False)]


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls check samples/server2019-configured/SYSTEM samples/server2019-configured/SOFTWARE\n\n"
             "  regtls check SYSTEM SOFTWARE planned-change.reg   [dim]# judge the machine after the change[/dim]\n\n"
             "  regtls check SYSTEM SOFTWARE --profile stig-iis10 --ignore SCH011\n\n"
             "  regtls check tls12.reg --format json --output report.json --fail-on warning\n\n"
             "  regtls check /mnt/evidence/Windows/System32/config --format markdown"
             "   [dim]# case-file appendix[/dim]\n\n"
             "  regtls check disk.vhdx@p2   [dim]# a Windows volume of a disk image; @p2@vss1: a shadow copy[/dim]\n\n"
             "  regtls check install.wim@2   [dim]# one image of a WIM/ESD; golden.tar: a container image[/dim]\n\n"
             "Dirty hives are read with their .LOG1/.LOG2 (or .LOG) replayed in memory, unless --no-logs.\n\n"
             "Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage or unreadable "
             "input." + INTERRUPTED)
def check(
    inputs: Inputs,
    profile: Profile = "azure-backup",
    select: Select = None,
    ignore: Ignore = None,
    format: Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.",
                                                  case_sensitive=False)] = CheckFormat.text,
    output: Output = None,
    fail_on: FailOnOption = FailOn.error,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Text: only the verdict and the findings.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Text: also every setting and every "
                                          "rule's result.")] = False,
    baseline: Baseline = None,
    write_baseline: WriteBaseline = None,
    max_copy: MaxCopy = None,
) -> None:
    """Judge a machine (hives, .reg change sets, or both) against a profile's TLS requirements."""
    from analyzer.baseline import BaselineError
    from analyzer.baseline import render as render_baseline
    from analyzer.engine import check as run_check
    from analyzer.engine import choose_profile
    from analyzer.profiles import ProfileError
    from analyzer.report.check import render_json, render_table, summary_line
    from analyzer.sources import SourceError
    from analyzer.triage import narrow_report

    check_output(output, inputs)
    if format is CheckFormat.html:
        need_html()
    check_output(write_baseline, inputs)
    try:
        chosen = choose_profile(profile, _ids(select), _ids(ignore))
        report = run_check(inputs, chosen, backend.value, logs=not no_logs)
        dropped = narrow_report(report, baseline)
    except (SourceError, ProfileError, BaselineError) as exc:
        fail(str(exc))
    width, color = _terminal() if output is None else (120, False)
    if format is CheckFormat.json:
        text = render_json(report)
    elif format is CheckFormat.html:
        from analyzer.report.html import render_machine

        text = render_machine(report)
    elif format is CheckFormat.text:
        text = render_table(report, width, color, detail="quiet" if quiet else "verbose" if verbose else "normal")
    else:
        from analyzer.report import ci

        text = ci.render(report.as_run(), format.value)
    write_output(text, output, inputs)
    if write_baseline is not None:
        write_output(render_baseline(report.findings, write_baseline.resolve().parent), write_baseline, inputs)
    if format is not CheckFormat.text or output is not None:  # the text shows them; other formats bury them
        for d in report.diagnostics:
            if d.line is None and d.level != "note":
                typer.echo(f"regtls: {d.level}: {d.file}: {d.message}", err=True)
        typer.echo(f"regtls: {summary_line(report)}", err=True)  # the text report starts with it: said once
    if dropped:
        typer.echo(f"regtls: {dropped} finding(s) suppressed inline or in the baseline", err=True)
    damaged = [d for d in report.diagnostics if d.code == "pol-malformed"]  # judged up to the damage, yet unreadable
    for d in damaged if format is CheckFormat.text and output is None else ():
        typer.echo(f"regtls: error: {d.file}: {d.message}", err=True)
    raise typer.Exit(2 if damaged else exit_code(report.worst(), fail_on, report.counts.get("undecided", 0) > 0))


def exit_code(worst: str | None, fail_on: FailOn, undecided: bool = False) -> int:
    """1 when the most severe finding is at or above ``--fail-on`` (or, with ``undecided``, when some
    requirement stayed undecided), else 0."""
    return 1 if worst in THRESHOLDS[fail_on.value] or (undecided and fail_on is FailOn.undecided) else 0


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls lint *.reg\n\n"
             "  regtls lint tls/*.reg --format sarif --output regtls.sarif\n\n"
             "  regtls lint fix.reg --format github --fail-on warning\n\n"
             "Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage error or an "
             "unreadable file (the other files are still linted)." + INTERRUPTED)
def lint(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help=".reg and Registry.pol files, folders to search for them, "
                                                "or - for standard input; each file is judged on its own, as a "
                                                "change set.", readable=False, show_default=False)],
    profile: Profile = "lint",
    select: Select = None,
    ignore: Ignore = None,
    format: Annotated[LintFormat, typer.Option("--format", "-f", help="Output format.",
                                                  case_sensitive=False)] = LintFormat.text,
    output: Output = None,
    fail_on: FailOnOption = FailOn.error,
    exclude: Annotated[list[str] | None, typer.Option(help="Skip files and folders matching this gitignore-style "
                                                      "pattern (repeatable; added to the configuration's).",
                                                      show_default=False)] = None,
    baseline: Baseline = None,
    write_baseline: WriteBaseline = None,
) -> None:
    """Check .reg files for lines Windows regedit rejects or misreads, and for risky TLS changes."""
    from analyzer.baseline import BaselineError
    from analyzer.baseline import render as render_baseline
    from analyzer.collect import STDIN, Excludes, collect, read_stdin, relabel
    from analyzer.config import Config
    from analyzer.engine import choose_profile
    from analyzer.engine import lint as run_lint
    from analyzer.profiles import ProfileError
    from analyzer.report import lint as lint_formats
    from analyzer.triage import narrow_run

    check_output(output, files)
    check_output(write_baseline, files)
    config = ctx.find_root().obj if isinstance(ctx.find_root().obj, Config) else Config()
    excludes = Excludes.of([(config.root, list(config.lint.exclude)), (Path.cwd(), exclude or [])])
    paths = collect(files, excludes)
    if not paths:  # as ruff: nothing to lint is a warning, not a failure
        typer.echo("regtls: warning: no .reg or Registry.pol files found in " + ", ".join(map(str, files)), err=True)
        raise typer.Exit(0)
    try:
        chosen = choose_profile(profile, _ids(select), _ids(ignore))
    except ProfileError as exc:
        fail(str(exc))
    import tempfile

    with tempfile.TemporaryDirectory(prefix="regtls-stdin-") as temp:
        stdin = None
        if STDIN in paths:
            try:
                stdin = read_stdin(Path(temp), 1 << 30)
            except OSError as exc:
                fail(f"-: cannot read standard input: {exc}")
        result = run_lint([stdin if p == STDIN and stdin else p for p in paths], chosen,
                          BackendName.python_registry.value)
        dropped = narrow_run(result, None)  # inline comments, read while standard input's copy exists
        if stdin is not None:
            relabel(result, str(stdin), "-")
    try:
        dropped += narrow_run(result, baseline) if baseline is not None else 0
    except BaselineError as exc:
        fail(str(exc))
    if format is LintFormat.json:
        text = lint_formats.render_json(result)
    elif format is LintFormat.text:
        text = lint_formats.render_text(result)
    else:
        from analyzer.report import ci

        text = ci.render(result, format.value)
    write_output(text, output, files)
    if write_baseline is not None:
        write_output(render_baseline(result.findings, write_baseline.resolve().parent), write_baseline, files)
    for note in result.notifications:
        typer.echo(f"regtls: error: {' '.join(note.message.splitlines())}", err=True)
    if dropped:
        typer.echo(f"regtls: {dropped} finding(s) suppressed inline or in the baseline", err=True)
    typer.echo(f"regtls: {lint_formats.summary_line(result)}", err=True)
    raise typer.Exit(2 if result.notifications else exit_code(result.worst(), fail_on,
                                                               result.counts.get("undecided", 0) > 0))


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls state SYSTEM SOFTWARE\n\n"
             "  regtls state SYSTEM SOFTWARE change.reg --format json\n\n"
             "Exit codes: 0 shown; 2 usage or unreadable input." + INTERRUPTED)
def state(
    inputs: Inputs,
    format: Annotated[ViewFormat, typer.Option("--format", "-f", help="Output format.",
                                                  case_sensitive=False)] = ViewFormat.text,
    output: Output = None,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
    max_copy: MaxCopy = None,
) -> None:
    """Show the effective state: the protocol matrix (Client and Server) and the .NET, WinHTTP and cipher blocks."""
    from analyzer.inputs import load
    from analyzer.knowledge.state import evaluate
    from analyzer.report import state as view
    from analyzer.sources import SourceError

    check_output(output, inputs)
    try:
        loaded = load(inputs, backend.value, logs=not no_logs)
        machine_state = evaluate(loaded.machine)
    except SourceError as exc:
        fail(str(exc))
    width, color = _terminal() if output is None else (120, False)
    write_output(view.render_json(loaded, machine_state) if format is ViewFormat.json
                 else view.render_table(loaded, machine_state, width, color), output)
    for d in sorted(set(loaded.diagnostics + machine_state.diagnostics), key=lambda d: d.sort_key()):
        typer.echo(f"regtls: {d.level}: {d.file}{':' + str(d.line) if d.line else ''}: {d.message}", err=True)


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls fix SYSTEM SOFTWARE --output fix.reg --undo undo.reg\n\n"
             "  regtls fix SYSTEM SOFTWARE --profile tls12-strict --format ps1 --output fix.ps1\n\n"
             "Exit codes: 0 the fixed machine has nothing at or above --fail-on; 1 something is left that a "
             "registry change cannot fix (it is listed); 2 usage or unreadable input." + INTERRUPTED)
def fix(
    inputs: Inputs,
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the fix to this file (-: stdout).",
                                         show_default=False)],
    undo: Annotated[Path | None, typer.Option(help="Also write the change that restores the current state exactly.",
                                              show_default=False)] = None,
    profile: Profile = "azure-backup",
    select: Select = None,
    ignore: Ignore = None,
    format: Annotated[FixFormat, typer.Option("--format", "-f", help="regedit 5.00 file, PowerShell script or "
                                              "machine Registry.pol (GPO).", case_sensitive=False)]
    = FixFormat.reg,
    fail_on: FailOnOption = FailOn.error,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
    max_copy: MaxCopy = None,
) -> None:
    """Write the smallest registry change that makes the machine meet the profile (and its undo)."""
    from analyzer.engine import choose_profile
    from analyzer.fix import display_path, plan
    from analyzer.inputs import load
    from analyzer.profiles import ProfileError
    from analyzer.report import fixfile
    from analyzer.sources import SourceError

    check_output(output, inputs)
    check_output(undo, inputs)
    try:
        chosen = choose_profile(profile, _ids(select), _ids(ignore))
        loaded = load(inputs, backend.value, logs=not no_logs)
        result = plan(loaded, chosen, lambda: load(inputs, backend.value, logs=not no_logs))
    except (SourceError, ProfileError) as exc:
        fail(str(exc))
    render = fixfile.RENDERERS[format.value]
    after = result.after
    comments = [f"regtls {__version__} fix for profile {chosen.name}: {len(result.changes)} change(s); verdict before "
                f"{result.before.verdict}, after {after.verdict}",
                *(f"NOT FIXED: {item}" for item in result.manual)]
    write_output(render(result.changes, lambda p: display_path(loaded.machine, p), comments), output, inputs)
    if undo is not None:
        write_output(render(result.undo, lambda p: display_path(loaded.machine, p),
                            [f"regtls {__version__}: undoes the fix for profile {chosen.name}"]), undo, inputs)
    for item in result.manual:
        typer.echo(f"regtls: not fixed: {item}", err=True)
    typer.echo(f"regtls: {len(result.changes)} change(s) written to {output}; verdict before {result.before.verdict}, "
               f"after {after.verdict}", err=True)
    left = exit_code(after.worst(), fail_on, after.counts.get("undecided", 0) > 0)
    raise typer.Exit(1 if left or (result.manual and fail_on is not FailOn.never) else 0)


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls scan /cases/*/Windows/System32/config\n\n"
             "  regtls scan /evidence --jobs 4 --format jsonl --output fleet.jsonl\n\n"
             "  regtls scan /evidence --db fleet.sqlite   [dim]# resumable: a rerun skips unchanged machines[/dim]\n\n"
             "  regtls scan /shared/evidence --scheduler tcp://scheduler:8786   [dim]# on a Dask cluster[/dim]\n\n"
             "  regtls scan images/*.E01 collections/*.zip --vss\n\n"
             "Each config folder or Windows root, each folder of hive files, each Windows volume of a disk image, "
             "each volume of a Velociraptor collection ZIP, each image of a WIM and each container image "
             "(searched at any depth), and each group of hive files given in one folder is one machine; what is "
             "skipped is named on stderr. Exit codes: 0 every machine "
             "below --fail-on; 1 some machine at or above it; 2 some machine could not be read (its row says why; "
             "the others are still judged); 130/143 interrupted by SIGINT/SIGTERM (finished machines are in --db).")
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Folders to search, hive files, disk images and collection "
                                                "ZIPs.", show_default=False, readable=False)],
    profile: Profile = "azure-backup",
    select: Select = None,
    ignore: Ignore = None,
    vss: Annotated[bool, typer.Option("--vss", help="Also check each volume shadow copy of a disk image, "
                                      "as a historical view of the machine.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0: one per CPU).",
                                      show_default=False)] = 0,
    format: Annotated[ScanFormat, typer.Option("--format", "-f", help="Output format.",
                                                  case_sensitive=False)] = ScanFormat.text,
    output: Output = None,
    fail_on: FailOnOption = FailOn.error,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
    db: Annotated[Path | None, typer.Option("--db", help="Store each machine's result in this SQLite file as it "
                                            "finishes; a rerun skips machines whose inputs and profile are "
                                            "unchanged (see regtls report).", show_default=False)] = None,
    scheduler: Annotated[str | None, typer.Option(help="Judge on this Dask scheduler (tcp://HOST:8786); the "
                                                  "workers must see the evidence at the same paths.",
                                                  show_default=False)] = None,
    scheduler_file: Annotated[Path | None, typer.Option(help="Judge on the Dask scheduler this file names.",
                                                        show_default=False)] = None,
    timeout: Annotated[float, typer.Option(min=0, help="Seconds one machine may take before its worker is "
                                           "stopped (0: no limit).")] = 900,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line on stderr.")] = False,
    max_copy: MaxCopy = None,
) -> None:
    """Judge many machines at once (worker processes or a Dask cluster); one row per machine."""
    from analyzer import fleetrun
    from analyzer.engine import choose_profile
    from analyzer.interrupts import Interrupted
    from analyzer.profiles import ProfileError
    from analyzer.report.fleet import FORMATS
    from analyzer.sources import SourceError
    from analyzer.sources.discovery import discover

    check_output(output, paths)
    if format is ScanFormat.html:
        need_html()
    check_output(db, paths)
    if scheduler and scheduler_file:
        fail("give --scheduler or --scheduler-file, not both")
    try:
        chosen = choose_profile(profile, _ids(select), _ids(ignore))
        found = discover(paths, vss)
        _scan_notes(found.skipped, found.ignored_files)
        if not found.machines:
            fail("no machines found (no config folder with SYSTEM or SOFTWARE, no hive files, disk image or "
                 "collection)")
        rows = _judge_fleet(found.machines, fleetrun.Options(chosen, backend.value, not no_logs, timeout or None,
                                                             jobs or _default_jobs()),
                            scheduler, scheduler_file, db, quiet)
    except Interrupted as exc:
        typer.echo("regtls: interrupted" + (f"; the machines finished so far are in {db}" if db else ""), err=True)
        raise typer.Exit(exc.exit_code) from None
    except (SourceError, ProfileError) as exc:
        fail(str(exc))
    _write_fleet(rows, FORMATS[format.value], output, fail_on, [*paths, *(h for m in found.machines for h in m.hives)],
                 chosen)


def _default_jobs() -> int:
    from analyzer.scan import default_jobs

    return default_jobs()


def _scan_notes(skipped: list[str], ignored: int) -> None:
    from analyzer.registry import printable

    for line in skipped:
        typer.echo(f"regtls: skipped: {printable(line)}", err=True)
    if skipped:
        typer.echo(f"regtls: {len(skipped)} item(s) skipped while searching"
                   + (f" ({ignored} other file(s) are no machine)" if ignored else ""), err=True)


def _judge_fleet(machines: list[MachineSource], options: FleetOptions, scheduler: str | None,
                 scheduler_file: Path | None, db: Path | None, quiet: bool) -> list[Row]:
    """Judge every machine with a progress line on a terminal; the rows in discovery order."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from analyzer import fleetrun
    from analyzer.dask_engine import ClusterError
    from analyzer.store import Store, StoreError

    console = Console(stderr=True)
    columns = (TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    engine = fleetrun.local if not (scheduler or scheduler_file) else \
        fleetrun.dask_engine(scheduler, str(scheduler_file) if scheduler_file else None)
    try:
        store = Store(db) if db is not None else None
    except StoreError as exc:
        fail(str(exc))
    try:
        with Progress(*columns, console=console, transient=True, disable=quiet or not console.is_terminal) as bar:
            task = bar.add_task("scan", total=len(machines), rate="")

            def advance(row: Row) -> None:
                bar.advance(task)
                speed = bar.tasks[0].speed
                bar.update(task, rate=f"{speed:.1f} machines/s" if speed else "")

            def skipped(count: int) -> None:
                if count:
                    typer.echo(f"regtls: skipped {count} machine(s) already in {db} with unchanged inputs and "
                               "profile", err=True)
                bar.advance(task, count)

            return fleetrun.run(machines, options, engine, store, advance, skipped)
    except (ClusterError, StoreError) as exc:
        fail(str(exc))
    finally:
        if store is not None:
            store.close()


def _write_fleet(rows: list[Row], render: Renderer, output: Path | None, fail_on: FailOn,
                 inputs: list[Path], profile: ProfileObject) -> NoReturn:
    """Write the fleet report (never over one of ``inputs``), name the broken machines on stderr, and exit with
    the fleet's code."""
    width, color = _terminal() if output is None else (120, False)
    write_output(render(rows, width, color, profile), output, inputs)
    from analyzer.registry import printable

    broken = [r for r in rows if r.error]
    for row in broken:
        typer.echo(f"regtls: error: {printable(row.machine)}: {printable(row.error or '')}", err=True)
    typer.echo(f"regtls: {len(rows)} machine(s): " + ", ".join(
        f"{sum(r.verdict == v for r in rows)} {v}" for v in ("pass", "fail", "undecided", "unreadable")), err=True)
    failed = any(r.counts.get(level, 0) for r in rows for level in THRESHOLDS[fail_on.value]) or (
        fail_on is FailOn.undecided and any(r.counts.get("undecided", 0) for r in rows))
    raise typer.Exit(2 if broken else 1 if failed else 0)


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls report fleet.sqlite\n\n"
             "  regtls report fleet.sqlite --format markdown --output fleet.md\n\n"
             "The report is made from the database alone (the evidence need not be there). Exit codes as for "
             "scan: 0, 1 some machine at or above --fail-on, 2 some machine unreadable or an unusable database.")
def report(
    database: Annotated[Path, typer.Argument(help="A results database written by regtls scan --db.",
                                             show_default=False, readable=False)],
    format: Annotated[ScanFormat, typer.Option("--format", "-f", help="Output format.",
                                               case_sensitive=False)] = ScanFormat.text,
    output: Output = None,
    fail_on: FailOnOption = FailOn.error,
) -> None:
    """Render any scan format from a results database (every machine it holds)."""
    from analyzer.engine import choose_profile
    from analyzer.profiles import ProfileError
    from analyzer.report.fleet import FORMATS
    from analyzer.store import Store, StoreError

    check_output(output, [database])
    if format is ScanFormat.html:
        need_html()
    try:
        store = Store(database, create=False)
        rows, judged_with = store.rows(), store.profile()
        store.close()
        chosen = choose_profile(judged_with or "azure-backup")  # the SARIF rules table and the Markdown title
    except (StoreError, ProfileError) as exc:
        fail(str(exc))
    _write_fleet(rows, FORMATS[format.value], output, fail_on, [database], chosen)


rules_app = typer.Typer(help="List the rules, or show one rule's documentation.", no_args_is_help=False)
profiles_app = typer.Typer(help="List the profiles, or show one profile.", no_args_is_help=False)
app.add_typer(rules_app, name="rules")
app.add_typer(profiles_app, name="profiles")


@rules_app.callback(invoke_without_command=True,
                    epilog="[b]Examples[/b]\n\n  regtls rules\n\n  regtls rules show SCH001")
def rules_list(
    ctx: typer.Context,
    format: Annotated[ViewFormat, typer.Option("--format", "-f", help="Output format.",
                                                  case_sensitive=False)] = ViewFormat.text,
) -> None:
    """Every rule: ID, name, default level and summary."""
    if ctx.invoked_subcommand is not None:
        return
    from analyzer.report import catalog

    width, color = _terminal()
    write_output(catalog.rules_json() if format is ViewFormat.json else catalog.rules_table(width, color), None)


@rules_app.command("show", epilog="[b]Example[/b]\n\n  regtls rules show NET001")
def rules_show(rule_id: Annotated[str, typer.Argument(help="Rule ID, e.g. SCH001.", show_default=False)]) -> None:
    """A rule's documentation: what it checks, why, examples, when absent, references."""
    from analyzer.report import catalog

    text = catalog.rule_doc(rule_id.upper())
    if text is None:
        fail(f"unknown rule id {rule_id!r}; see 'regtls rules'")
    write_output(text, None)


@profiles_app.callback(invoke_without_command=True,
                       epilog="[b]Examples[/b]\n\n  regtls profiles\n\n  regtls profiles show stig-iis10")
def profiles_list(
    ctx: typer.Context,
    format: Annotated[ViewFormat, typer.Option("--format", "-f", help="Output format.",
                                                  case_sensitive=False)] = ViewFormat.text,
) -> None:
    """Every shipped profile: name, title, absence policy, number of rules."""
    if ctx.invoked_subcommand is not None:
        return
    from analyzer.report import catalog

    width, color = _terminal()
    write_output(catalog.profiles_json() if format is ViewFormat.json else catalog.profiles_table(width, color),
                 None)


@profiles_app.command("show", epilog="[b]Example[/b]\n\n  regtls profiles show nist-800-52r2")
def profiles_show(name: Annotated[str, typer.Argument(help="Profile name or TOML file.", show_default=False)]) -> None:
    """A profile: description, absence policy, sources, what stays uncertain, and its rules with levels."""
    from analyzer.profiles import ProfileError
    from analyzer.report import catalog

    try:
        text = catalog.profile_doc(name)
    except ProfileError as exc:
        fail(str(exc))
    write_output(text, None)


@app.command(help="Print the merged registry content of the inputs (hives with .reg changes applied).\n\n"
             "Exit codes: 0 all read; 2 an input cannot be read at all; 3 a damaged hive lost entries: everything "
             "readable is printed, each lost entry is named on stderr and in the JSON diagnostics.",
             epilog="[b]Examples[/b]\n\n"
             "  regtls dump SYSTEM --key 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL'\n\n"
             "  regtls dump SOFTWARE tls12.reg --key 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework' "
             "--format reg\n\n"
             "  regtls dump tls12.reg --format table\n\n"
             "Exit codes: 0 dumped; 2 usage or unreadable input." + INTERRUPTED)
def dump(
    inputs: Inputs,
    key: Annotated[str | None, typer.Option(help="Only this key and its subkeys (HKLM and CurrentControlSet "
                                            "are understood); .reg lines outside it are skipped unchecked.",
                                            show_default=False)] = None,
    format: Annotated[DumpFormat, typer.Option("--format", "-f", help="Output format.",
                                                  case_sensitive=False)] = DumpFormat.json,
    output: Output = None,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
    max_copy: MaxCopy = None,
) -> None:
    """Print the merged registry content of the inputs (hives with .reg changes applied)."""
    from analyzer.inputs import load
    from analyzer.knowledge.scope import Scope
    from analyzer.registry import join_path, split_path
    from analyzer.report import dump as formats
    from analyzer.sources import SourceError

    check_output(output, inputs)
    prefix = split_path(key) if key else None
    if key is not None and not prefix:
        fail(f"--key {key!r} is empty")
    try:
        loaded = load(inputs, backend.value, Scope.around(prefix) if prefix else None, logs=not no_logs,
                      check_all=prefix is None, any_kind=True)
    except SourceError as exc:
        fail(str(exc))
    machine = loaded.machine
    start = machine.resolve(prefix) if prefix else ()
    walk = formats.Walk(machine, start)
    try:
        if prefix and not machine.exists(start):
            typer.echo(f"regtls: warning: no key {join_path(start)} in the inputs", err=True)
        width, color = _terminal() if output is None else (120, False)
        if format is DumpFormat.json:
            pieces = formats.iter_json(machine, walk(), formats.diagnostics_trailer(loaded.all_diagnostics))
        elif format is DumpFormat.reg:
            pieces = formats.iter_reg(machine, walk())
        else:
            pieces = formats.iter_table(machine, walk, width, color)
        write_output(pieces, output, inputs)
    except SourceError as exc:
        fail(str(exc))
    for d in loaded.all_diagnostics():
        where = ":".join(str(p) for p in (d.file, d.line, d.column) if p is not None)
        typer.echo(f"regtls: {d.level}: {where}: {d.message}", err=True)
    for error in walk.errors:
        typer.echo(f"regtls: error: subkeys not readable: {error}", err=True)
    typer.echo(f"regtls: {walk.count} keys", err=True)
    if loaded.lost or walk.errors:
        typer.echo(f"regtls: {loaded.lost or len(walk.errors)} damaged entries not read (exit code {DAMAGED})",
                   err=True)
        raise typer.Exit(DAMAGED)


def main() -> None:
    """Console-script entry point: an option error or any unexpected error is one line on stderr and exit 2;
    SIGINT and SIGTERM remove the temporary files, end the workers and exit 130 and 143 after one line on stderr."""
    from typer._click import exceptions as click_errors  # typer's own click (typer >= 0.29 vendors it)

    from analyzer.interrupts import Interrupted, install

    install()
    try:
        code = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()
        raise SystemExit(2) from None
    except click_errors.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} -h')" if exc.ctx is not None else ""
        typer.echo(f"regtls: error: {' '.join(exc.format_message().split())}{hint}", err=True)
        raise SystemExit(2) from None
    except click_errors.ClickException as exc:
        typer.echo(f"regtls: error: {' '.join(exc.format_message().split())}", err=True)
        raise SystemExit(2) from None
    except typer.Abort:
        typer.echo("regtls: interrupted", err=True)
        raise SystemExit(2) from None
    except SystemExit:
        raise
    except Interrupted as exc:
        typer.echo("regtls: interrupted", err=True)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("regtls: interrupted", err=True)
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get("REGTLS_DEBUG"):
            raise
        typer.echo(f"regtls: internal error: {type(exc).__name__}: {exc} (set REGTLS_DEBUG=1 for details)",
                   err=True)
        raise SystemExit(2) from None
    raise SystemExit(code if isinstance(code, int) else 0)
