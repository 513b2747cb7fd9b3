"""The effective-state view: the protocol matrix (Client and Server columns) and the .NET, WinHTTP and cipher blocks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer import __version__
from analyzer.inputs import Loaded
from analyzer.knowledge import VIEWS, Setting
from analyzer.knowledge.ciphers import GROUPS, KEY_SIZES
from analyzer.knowledge.dotnet import VALUES, VERSIONS
from analyzer.knowledge.identity import identify
from analyzer.knowledge.schannel import PROTOCOLS, ROLES
from analyzer.knowledge.state import MachineState
from analyzer.knowledge.updates import KBS
from analyzer.report import console, to_json

if TYPE_CHECKING:  # rich is loaded only by the table formats
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

SCHEMA = "regtls.state/1"
STYLE = {"enabled": "green", "on": "green", "installed": "green", "set": "green", "disabled": "red", "off": "red",
         "invalid": "red", "present-not-installed": "red", "not-default": "yellow", "unset": "yellow",
         "unknown": "yellow", "not-found": "yellow", "unsupported": "dim", "not-applicable": "dim"}
_PREFIX = {"Ciphers": "cipher", "Hashes": "hash", "KeyExchangeAlgorithms": "keyexchange"}


def _cell(setting: Setting) -> dict[str, object]:
    out: dict[str, object] = {"state": setting.state, "source": setting.source, "detail": setting.detail}
    out.update(setting.extra)
    return out


def machine_json(loaded: Loaded, state: MachineState) -> dict[str, object]:
    """The ``machine`` object shared by the check report and the state view."""
    system = loaded.hives.get("system")
    return {"os": state.os.to_json() if state.os else None,
            "control_set": system.control_set if system else None,
            "control_set_source": system.control_set_source if system else None,
            "architecture": state.architecture, "wow64_view": state.has_32bit_view,
            "identity": identify(loaded.machine).to_json()}


def as_dict(loaded: Loaded, state: MachineState) -> dict[str, object]:
    """The state view as JSON data (schema ``regtls.state/1``)."""
    s = state.settings
    return {
        "schema": SCHEMA,
        "inputs": [i.to_json() for i in loaded.inputs],
        "machine": machine_json(loaded, state),
        "protocols": [{"protocol": p, **{r: _cell(s[f"schannel/{p}/{r}"]) for r in ROLES}} for p in PROTOCOLS],
        "dotnet": [{"version": v, "value": n, **{f"view{w}": _cell(s[f"dotnet/{v}/{w}/{n}"]) for w in VIEWS}}
                   for v in VERSIONS for n in VALUES] + [{"installed": _cell(s["dotnet/installed/v4"])}],
        "winhttp": {f"view{w}": _cell(s[f"winhttp/{w}/DefaultSecureProtocols"]) for w in VIEWS},
        "wininet": {sid: _cell(s[sid]) for sid in s if sid.startswith("wininet/")},
        "updates": {kb: _cell(s[f"update/{kb}"]) for kb in KBS},
        "algorithms": {group: {n: _cell(s[f"{_PREFIX[group]}/{n}"]) for n in names} for group, names in GROUPS.items()},
        "key_sizes": {f"{a}/{n}": _cell(s[f"keyexchange/{a}/{n}"]) for a, n, _ in KEY_SIZES},
        "cipher_suite_order": _cell(s["ciphersuites/order"]),
        "fips": _cell(s["fips/policy"]),
        "control_sets": [c.to_json() for c in state.control_sets],
    }


def _styled(setting: Setting) -> Text:
    """``state (source)`` and, for values from .reg files, ``[file:line, ...]``."""
    from rich.text import Text

    text = Text(setting.state, style=STYLE.get(setting.state, ""))
    text.append(f" ({setting.source})", style="dim")
    where = ", ".join(e.where() for e in setting.evidence if e.line is not None or e.offset is not None)
    if where:
        text.append(f" [{where}]")
    return text


def _table(title: str, *columns: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def print_state(out: Console, state: MachineState) -> None:
    """Print the protocol matrix and the other blocks as rich tables."""
    from rich.text import Text

    s = state.settings
    protocols = _table("Schannel protocols", "protocol", "Client", "Server")
    for p in PROTOCOLS:
        protocols.add_row(p, *(_styled(s[f"schannel/{p}/{r}"]) for r in ROLES))
    out.print(protocols)
    dotnet = _table(".NET Framework", "key", "value", "64-bit view", "32-bit view")
    for v in VERSIONS:
        for n in VALUES:
            dotnet.add_row(v, n, *(_styled(s[f"dotnet/{v}/{w}/{n}"]) for w in VIEWS))
    out.print(dotnet)
    other = _table("WinHTTP, WinINet, updates, .NET release, suite order, FIPS", "setting", "state", "detail")
    ids = [f"winhttp/{w}/DefaultSecureProtocols" for w in VIEWS] + [f"update/{kb}" for kb in KBS] + [
        "dotnet/installed/v4", "ciphersuites/order", "fips/policy"]
    for sid in ids:
        other.add_row(sid, _styled(s[sid]), s[sid].detail)
    for sid in (i for i in s if i.startswith("wininet/")):  # user SIDs and details come from the evidence
        other.add_row(Text(sid), _styled(s[sid]), Text(s[sid].detail))
    out.print(other)
    algorithms = _table("Ciphers, hashes, key exchange", "algorithm", "state", "detail")
    for group, names in GROUPS.items():
        for n in names:
            setting = s[f"{_PREFIX[group]}/{n}"]
            algorithms.add_row(f"{group}\\{n}", _styled(setting), setting.detail)
    for a, n, _ in KEY_SIZES:
        setting = s[f"keyexchange/{a}/{n}"]
        algorithms.add_row(f"{a} {n}", _styled(setting), setting.detail)
    out.print(algorithms)
    for view in state.control_sets:
        roles = f" ({', '.join(view.roles)})" if view.roles else ""
        summary = f"{len(view.differences)} protocol state(s) differ" if view.differences else "same protocol states"
        out.print(f"other control set {view.name}{roles}: {summary} as the current one")


def header(out: Console, loaded: Loaded, state: MachineState) -> None:
    """Machine and inputs, one line each."""
    os = state.os
    system = loaded.hives.get("system")
    machine = f"{os.name} (build {os.build}, {'server' if os.server else 'client'})" if os else "OS not known"
    if system:
        machine += f" · {system.control_set} (from {system.control_set_source})"
    if state.architecture:
        machine += f" · {state.architecture}"
    out.print(f"machine: {machine}")
    if (identity := identify(loaded.machine).line()) is not None:
        out.print(f"identity: {identity}")
    for info in loaded.inputs:
        out.print(f"input: {info.path} ({info.kind}, sha256 {info.sha256[:16]}…)")


def render_table(loaded: Loaded, state: MachineState, width: int = 120, color: bool = False) -> str:
    """The state view as text (rich tables)."""
    out, buf = console(width, color)
    out.print(f"regtls {__version__} · effective state")
    header(out, loaded, state)
    print_state(out, state)
    return buf.getvalue()


def render_json(loaded: Loaded, state: MachineState) -> str:
    """The state view as JSON text."""
    return to_json(as_dict(loaded, state))
