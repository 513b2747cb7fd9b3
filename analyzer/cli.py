"""The ``regtls`` command line (typer): parse options, call the engine, write output, map exit codes."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Annotated, BinaryIO, NoReturn

import typer

from analyzer import __version__

app = typer.Typer(
    add_completion=False,
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


THRESHOLDS = {"error": ("error",), "warning": ("error", "warning"), "never": ()}


class CheckFormat(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    github = "github"
    markdown = "markdown"


class ViewFormat(str, Enum):
    table = "table"
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
    table = "table"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    never = "never"


class ScanFormat(str, Enum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"


class FixFormat(str, Enum):
    reg = "reg"
    ps1 = "ps1"


class BackendName(str, Enum):
    python_registry = "python-registry"
    regipy = "regipy"


Inputs = Annotated[list[Path], typer.Argument(help="Hive files (SYSTEM, SOFTWARE), a config folder or a disk "
                                              "image (IMAGE[@VOLUME[@vssN]]), and .reg files; .reg files "
                                              "apply on top of the hives in command-line order.",
                                              show_default=False, readable=False)]
Backend = Annotated[BackendName, typer.Option(help="Hive parser library.")]
FailOnOption = Annotated[FailOn, typer.Option(help="Lowest finding level that makes the exit code 1.")]
NoLogs = Annotated[bool, typer.Option("--no-logs", help="Read dirty hives as they are, without replaying their "
                                      "transaction logs (.LOG1/.LOG2/.LOG).")]


def fail(message: str) -> NoReturn:
    """Print one error line on stderr and exit 2."""
    typer.echo(f"regtls: error: {' '.join(message.splitlines())}", err=True)
    raise typer.Exit(2)


def _terminal() -> tuple[int, bool]:
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns, True
    return 120, False


def check_output(output: Path | None, inputs: list[Path]) -> None:
    """Refuse an output path over an input or in a missing folder before any work is done."""
    if output is None:
        return
    target = output.resolve()
    if any(target == p.resolve() for p in inputs):
        fail(f"{output}: is one of the inputs; regtls never writes over its evidence")
    if not target.parent.is_dir():
        fail(f"{output}: the folder {output.parent} does not exist")


def write_output(text: str | bytes | Iterable[str], output: Path | None) -> None:
    """Write the result to stdout, or atomically to ``output`` (a temporary file renamed into place).

    Text is written as UTF-8; a character UTF-8 cannot hold (a lone surrogate from a damaged name) is
    written as its ``\\udcxx`` escape instead of failing.  Text given as pieces is written as they come.
    """
    pieces: Iterable[str | bytes] = [text] if isinstance(text, (str, bytes)) else text
    if output is None:
        sys.stdout.flush()
        _write_pieces(pieces, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    target = output.resolve()
    try:
        fd, tmp = tempfile.mkstemp(prefix=".regtls-", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            _write_pieces(pieces, fh)
        os.replace(tmp, target)
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
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Tell offline, from registry data, whether a Windows machine will use TLS 1.2."""


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
             "Dirty hives are read with their .LOG1/.LOG2 (or .LOG) replayed in memory, unless --no-logs.\n\n"
             "Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage or unreadable input.")
def check(
    inputs: Inputs,
    profile: Profile = "azure-backup",
    select: Select = None,
    ignore: Ignore = None,
    format: Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.")] = CheckFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.",
                                                show_default=False)] = None,
    fail_on: FailOnOption = FailOn.error,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
) -> None:
    """Judge a machine (hives, .reg change sets, or both) against a profile's TLS requirements."""
    from analyzer.engine import check as run_check
    from analyzer.engine import choose_profile
    from analyzer.profiles import ProfileError
    from analyzer.report.check import render_json, render_table, summary_line
    from analyzer.sources import SourceError

    check_output(output, inputs)
    try:
        chosen = choose_profile(profile, _ids(select), _ids(ignore))
        report = run_check(inputs, chosen, backend.value, logs=not no_logs)
    except (SourceError, ProfileError) as exc:
        fail(str(exc))
    width, color = _terminal() if output is None else (120, False)
    if format is CheckFormat.json:
        text = render_json(report)
    elif format is CheckFormat.table:
        text = render_table(report, width, color)
    else:
        from analyzer.report import ci

        text = ci.render(report.as_run(), format.value)
    write_output(text, output)
    if format is not CheckFormat.table or output is not None:  # the table shows them; other formats bury them
        for d in report.diagnostics:
            if d.line is None and d.level != "note":
                typer.echo(f"regtls: {d.level}: {d.file}: {d.message}", err=True)
    typer.echo(f"regtls: {summary_line(report)}", err=True)
    raise typer.Exit(exit_code(report.worst(), fail_on))


def exit_code(worst: str | None, fail_on: FailOn) -> int:
    """1 when the most severe finding is at or above ``--fail-on``, else 0."""
    return 1 if worst in THRESHOLDS[fail_on.value] else 0


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls lint *.reg\n\n"
             "  regtls lint tls/*.reg --format sarif --output regtls.sarif\n\n"
             "  regtls lint fix.reg --format github --fail-on warning\n\n"
             "Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage error or an "
             "unreadable file (the other files are still linted).")
def lint(
    files: Annotated[list[Path], typer.Argument(help=".reg files; each is judged on its own, as a change set.",
                                                readable=False,
                                                show_default=False)],
    profile: Profile = "lint",
    select: Select = None,
    ignore: Ignore = None,
    format: Annotated[LintFormat, typer.Option("--format", "-f", help="Output format.")] = LintFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the result to this file.",
                                                show_default=False)] = None,
    fail_on: FailOnOption = FailOn.error,
) -> None:
    """Check .reg files for lines Windows regedit rejects or misreads, and for risky TLS changes."""
    from analyzer.engine import choose_profile
    from analyzer.engine import lint as run_lint
    from analyzer.profiles import ProfileError
    from analyzer.report import lint as lint_formats

    check_output(output, files)
    try:
        chosen = choose_profile(profile, _ids(select), _ids(ignore))
    except ProfileError as exc:
        fail(str(exc))
    result = run_lint(files, chosen, BackendName.python_registry.value)
    if format is LintFormat.json:
        text = lint_formats.render_json(result)
    elif format is LintFormat.text:
        text = lint_formats.render_text(result)
    else:
        from analyzer.report import ci

        text = ci.render(result, format.value)
    write_output(text, output)
    for note in result.notifications:
        typer.echo(f"regtls: error: {' '.join(note.message.splitlines())}", err=True)
    typer.echo(f"regtls: {lint_formats.summary_line(result)}", err=True)
    raise typer.Exit(2 if result.notifications else exit_code(result.worst(), fail_on))


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls state SYSTEM SOFTWARE\n\n"
             "  regtls state SYSTEM SOFTWARE change.reg --format json")
def state(
    inputs: Inputs,
    format: Annotated[ViewFormat, typer.Option("--format", "-f", help="Output format.")] = ViewFormat.table,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
) -> None:
    """Show the effective state: the protocol matrix (Client and Server) and the .NET, WinHTTP and cipher blocks."""
    from analyzer.inputs import load
    from analyzer.knowledge.state import evaluate
    from analyzer.report import state as view
    from analyzer.sources import SourceError

    try:
        loaded = load(inputs, backend.value, logs=not no_logs)
        machine_state = evaluate(loaded.machine)
    except SourceError as exc:
        fail(str(exc))
    width, color = _terminal()
    write_output(view.render_json(loaded, machine_state) if format is ViewFormat.json
                 else view.render_table(loaded, machine_state, width, color), None)
    for d in sorted(set(loaded.diagnostics + machine_state.diagnostics), key=lambda d: d.sort_key()):
        typer.echo(f"regtls: {d.level}: {d.file}{':' + str(d.line) if d.line else ''}: {d.message}", err=True)


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls fix SYSTEM SOFTWARE --output fix.reg --undo undo.reg\n\n"
             "  regtls fix SYSTEM SOFTWARE --profile tls12-strict --format ps1 --output fix.ps1\n\n"
             "Exit codes: 0 the fixed machine meets the profile; 1 something is left that a registry change "
             "cannot fix (it is listed); 2 usage or unreadable input.")
def fix(
    inputs: Inputs,
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the fix to this file.", show_default=False)],
    undo: Annotated[Path | None, typer.Option(help="Also write the change that restores the current state exactly.",
                                              show_default=False)] = None,
    profile: Profile = "azure-backup",
    select: Select = None,
    ignore: Ignore = None,
    format: Annotated[FixFormat, typer.Option("--format", "-f", help="regedit 5.00 file or PowerShell script.")]
    = FixFormat.reg,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
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
    render = fixfile.render_reg if format is FixFormat.reg else fixfile.render_ps1
    after = result.after
    comments = [f"regtls {__version__} fix for profile {chosen.name}: {len(result.changes)} change(s); verdict before "
                f"{result.before.verdict}, after {after.verdict}",
                *(f"NOT FIXED: {item}" for item in result.manual)]
    write_output(render(result.changes, lambda p: display_path(loaded.machine, p), comments), output)
    if undo is not None:
        write_output(render(result.undo, lambda p: display_path(loaded.machine, p),
                            [f"regtls {__version__}: undoes the fix for profile {chosen.name}"]), undo)
    for item in result.manual:
        typer.echo(f"regtls: not fixed: {item}", err=True)
    typer.echo(f"regtls: {len(result.changes)} change(s) written to {output}; verdict before {result.before.verdict}, "
               f"after {after.verdict}", err=True)
    raise typer.Exit(1 if any(f.level == "error" for f in after.findings) or result.manual else 0)


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls scan /cases/*/Windows/System32/config\n\n"
             "  regtls scan /evidence --jobs 4 --format jsonl --output fleet.jsonl\n\n"
             "  regtls scan images/*.E01 --vss\n\n"
             "Each config folder (or Windows root, searched a few levels down), each Windows volume of a disk image "
             "and each group of hive files in one folder is one machine. Exit codes: 0 every machine below "
             "--fail-on; 1 some machine at or above it; "
             "2 some machine could not be read (its row says why; the others are still judged).")
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Folders to search, hive files and disk images.",
                                                show_default=False, readable=False)],
    profile: Profile = "azure-backup",
    vss: Annotated[bool, typer.Option("--vss", help="Also check each volume shadow copy of a disk image, "
                                      "as a historical view of the machine.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0: one per CPU).",
                                      show_default=False)] = 0,
    format: Annotated[ScanFormat, typer.Option("--format", "-f", help="Output format.")] = ScanFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the result to this file.",
                                                show_default=False)] = None,
    fail_on: FailOnOption = FailOn.error,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
) -> None:
    """Judge many machines at once (worker processes); one row per machine."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from analyzer import scan as fleet
    from analyzer.engine import choose_profile
    from analyzer.profiles import ProfileError
    from analyzer.sources import SourceError
    from analyzer.sources.folder import discover

    check_output(output, paths)
    try:
        choose_profile(profile)
        sources = discover(paths, vss)
    except (SourceError, ProfileError) as exc:
        fail(str(exc))
    if not sources:
        fail("no machines found (no config folder with SYSTEM or SOFTWARE, and no hive files)")
    columns = (TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    console = Console(stderr=True)
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("scan", total=len(sources))
        rows = fleet.scan(sources, profile, backend.value, jobs or fleet.default_jobs(), not no_logs,
                          lambda row: bar.advance(task))
    width, color = _terminal() if output is None else (120, False)
    text = {ScanFormat.jsonl: fleet.render_jsonl, ScanFormat.csv: fleet.render_csv}.get(
        format, lambda r: fleet.rows_table(r, width, color))(rows)
    write_output(text, output)
    broken = [r for r in rows if r.error]
    for row in broken:
        typer.echo(f"regtls: error: {row.machine}: {row.error}", err=True)
    typer.echo(f"regtls: {len(rows)} machine(s): " + ", ".join(
        f"{sum(r.verdict == v for r in rows)} {v}" for v in ("pass", "fail", "undecided", "unreadable")), err=True)
    failed = any(r.counts.get(level, 0) for r in rows for level in THRESHOLDS[fail_on.value])
    raise typer.Exit(2 if broken else 1 if failed else 0)


rules_app = typer.Typer(help="List the rules, or show one rule's documentation.", no_args_is_help=False)
profiles_app = typer.Typer(help="List the profiles, or show one profile.", no_args_is_help=False)
app.add_typer(rules_app, name="rules")
app.add_typer(profiles_app, name="profiles")


@rules_app.callback(invoke_without_command=True,
                    epilog="[b]Examples[/b]\n\n  regtls rules\n\n  regtls rules show SCH001")
def rules_list(
    ctx: typer.Context,
    format: Annotated[ViewFormat, typer.Option("--format", "-f", help="Output format.")] = ViewFormat.table,
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
    format: Annotated[ViewFormat, typer.Option("--format", "-f", help="Output format.")] = ViewFormat.table,
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


@app.command(epilog="[b]Examples[/b]\n\n"
             "  regtls dump SYSTEM --key 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL'\n\n"
             "  regtls dump SOFTWARE tls12.reg --key 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework' "
             "--format reg\n\n"
             "  regtls dump tls12.reg --format table")
def dump(
    inputs: Inputs,
    key: Annotated[str | None, typer.Option(help="Only this key and its subkeys (HKLM and CurrentControlSet "
                                            "are understood); .reg lines outside it are skipped unchecked.",
                                            show_default=False)] = None,
    format: Annotated[DumpFormat, typer.Option("--format", "-f", help="Output format.")] = DumpFormat.json,
    backend: Backend = BackendName.python_registry,
    no_logs: NoLogs = False,
) -> None:
    """Print the merged registry content of the inputs (hives with .reg changes applied)."""
    from analyzer.inputs import load
    from analyzer.knowledge.scope import Scope
    from analyzer.registry import join_path, split_path
    from analyzer.report import dump as formats
    from analyzer.sources import SourceError

    prefix = split_path(key) if key else None
    if key is not None and not prefix:
        fail(f"--key {key!r} is empty")
    try:
        loaded = load(inputs, backend.value, Scope.around(prefix) if prefix else None, logs=not no_logs,
                      check_all=prefix is None)
    except SourceError as exc:
        fail(str(exc))
    machine = loaded.machine
    start = machine.resolve(prefix) if prefix else ()
    walk = formats.Walk(machine, start)
    try:
        if prefix and not machine.exists(start):
            typer.echo(f"regtls: warning: no key {join_path(start)} in the inputs", err=True)
        width, color = _terminal()
        if format is DumpFormat.json:
            pieces = formats.iter_json(machine, walk())
        elif format is DumpFormat.reg:
            pieces = formats.iter_reg(machine, walk())
        else:
            pieces = formats.iter_table(machine, walk, width, color)
        write_output(pieces, None)
    except SourceError as exc:
        fail(str(exc))
    for d in loaded.diagnostics:
        where = ":".join(str(p) for p in (d.file, d.line, d.column) if p is not None)
        typer.echo(f"regtls: {d.level}: {where}: {d.message}", err=True)
    for error in walk.errors:
        typer.echo(f"regtls: error: subkeys not readable: {error}", err=True)
    typer.echo(f"regtls: {walk.count} keys", err=True)


def main() -> None:
    """Console-script entry point; any unexpected error is one line on stderr and exit code 2."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("regtls: interrupted", err=True)
        raise SystemExit(2) from None
    except Exception as exc:
        if os.environ.get("REGTLS_DEBUG"):
            raise
        typer.echo(f"regtls: internal error: {type(exc).__name__}: {exc} (set REGTLS_DEBUG=1 for details)",
                   err=True)
        raise SystemExit(2) from None
