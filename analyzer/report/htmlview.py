"""What the HTML templates show, as plain data: settings by family, the protocol matrix, rule docs, heat maps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analyzer.report.state import STYLE
from analyzer.rules import load_catalog
from analyzer.rules.docs import sections

if TYPE_CHECKING:
    from analyzer.scan import Row

Setting = Mapping[str, object]

# the terminal's colours, as CSS classes: the same state reads the same in every format
_TONES = {"green": "good", "red": "bad", "yellow": "warn", "dim": "dim"}
TONE = {state: _TONES[style] for state, style in STYLE.items()} | {
    "pass": "good", "fail": "bad", "undecided": "warn", "unreadable": "bad", "not-applicable": "dim",
    "error": "bad", "warning": "warn", "note": "note"}

# families shown as their own section, in this order; any other family (a new one) follows under its own name
FAMILIES = {"dotnet": ".NET Framework", "winhttp": "WinHTTP", "wininet": "WinINet", "update": "Updates",
            "cipher": "Ciphers", "hash": "Hashes", "keyexchange": "Key exchange",
            "ciphersuites": "Cipher suite order", "fips": "FIPS mode"}
_SHOWN = ("id", "state", "source", "detail", "evidence")
CODE_SECTIONS = ("Example machine", "Non-compliant", "Compliant")

# the fleet heat map: the settings a reader compares across machines (shown when some machine has them)
KEY_SETTINGS = (
    *((f"schannel/{p}/{r}", f"{p.replace('.0', '').replace(' ', '')} {r[0]}")
      for p in ("SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3") for r in ("Client", "Server")),
    *((f"dotnet/v4.0.30319/{w}/{n}", f".NET4 {a} {w}") for w in ("64", "32")
      for n, a in (("SchUseStrongCrypto", "strong"), ("SystemDefaultTlsVersions", "sysdef"))),
    ("winhttp/64/DefaultSecureProtocols", "WinHTTP 64"), ("winhttp/32/DefaultSecureProtocols", "WinHTTP 32"),
    ("fips/policy", "FIPS"),
)


def tone(word: object) -> str:
    """The CSS class of a state, verdict, status or level (``plain`` for values such as ``4.8`` or ``1024``)."""
    return TONE.get(str(word), "plain")


def plain(value: object) -> str:
    """A JSON value as one line of text: lists joined by commas, objects as ``key: value`` pairs."""
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return "" if value is None else str(value)


def extras(setting: Setting) -> list[tuple[str, str]]:
    """The setting's fields beyond id, state, source, detail and evidence (``values``, ``mask``, ``suites``...)."""
    return [(str(k), plain(v)) for k, v in setting.items() if k not in _SHOWN]


@dataclass(frozen=True)
class Family:
    """The settings of one family (``dotnet``, ``winhttp``...) under the section title they appear with."""

    name: str
    title: str
    settings: list[Setting]


def families(settings: Iterable[Setting]) -> list[Family]:
    """Every family but ``schannel`` (the matrix shows it), known ones in report order, new ones after."""
    grouped: dict[str, list[Setting]] = {}
    for setting in settings:
        family = str(setting["id"]).split("/", 1)[0]
        if family != "schannel":
            grouped.setdefault(family, []).append(setting)
    order = [f for f in FAMILIES if f in grouped] + [f for f in grouped if f not in FAMILIES]
    return [Family(f, FAMILIES.get(f, f), grouped[f]) for f in order]


def matrix(settings: Iterable[Setting]) -> tuple[list[str], list[tuple[str, list[Setting | None]]]]:
    """The protocol × role matrix of the ``schannel/<protocol>/<role>`` settings: roles, then one row per protocol."""
    cells: dict[str, dict[str, Setting]] = {}
    roles: list[str] = []
    for setting in settings:
        parts = str(setting["id"]).split("/")
        if len(parts) == 3 and parts[0] == "schannel":
            cells.setdefault(parts[1], {})[parts[2]] = setting
            if parts[2] not in roles:
                roles.append(parts[2])
    return roles, [(protocol, [row.get(role) for role in roles]) for protocol, row in cells.items()]


def digests(inputs: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """SHA-256 of each input by its path, to show beside every piece of evidence read from it."""
    return {str(i["path"]): str(i["sha256"]) for i in inputs}


@dataclass(frozen=True)
class RuleDoc:
    """A rule's documentation from its docstring: summary and named sections (code sections kept verbatim)."""

    id: str
    name: str
    level: str
    summary: str
    sections: list[tuple[str, str, bool]]  # (title, text, is .reg code)


def rule_docs(rule_ids: Iterable[str]) -> list[RuleDoc]:
    """The documentation of these rules (unknown ids are skipped), sorted by id."""
    catalog = load_catalog()
    docs = []
    for rule_id in sorted(set(rule_ids)):
        rule = catalog.get(rule_id)
        if rule is None:
            continue
        parts = [(title, body if title in CODE_SECTIONS else " ".join(body.split()), title in CODE_SECTIONS)
                 for title, body in sections(rule).items()]
        docs.append(RuleDoc(rule.id, rule.name, rule.level, rule.summary, parts))
    return docs


def heat_columns(rows: Iterable[Row]) -> list[tuple[str, str]]:
    """The key settings (id, short label) that at least one machine has."""
    present = {str(s["id"]) for r in rows for s in r.settings}
    return [(sid, label) for sid, label in KEY_SETTINGS if sid in present]


@dataclass(frozen=True)
class RuleCount:
    """How many findings of one rule the fleet has, per level, and on how many machines."""

    rule: str
    name: str
    summary: str
    machines: int
    levels: dict[str, int]


def rule_counts(rows: Iterable[Row]) -> list[RuleCount]:
    """Per rule: machines with a finding, and findings per level; most machines first, then by rule id."""
    catalog = load_catalog()
    machines: Counter[str] = Counter()
    levels: dict[str, Counter[str]] = {}
    for row in rows:
        rules = {str(f["rule"]) for f in row.findings}
        machines.update(rules)
        for f in row.findings:
            levels.setdefault(str(f["rule"]), Counter())[str(f["level"])] += 1
    out = []
    for rule_id in sorted(machines, key=lambda r: (-machines[r], r)):
        rule = catalog.get(rule_id)
        out.append(RuleCount(rule_id, rule.name if rule else "", rule.summary if rule else "", machines[rule_id],
                             {level: levels[rule_id][level] for level in ("error", "warning", "note")}))
    return out
