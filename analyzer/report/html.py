"""Self-contained HTML reports (Jinja2, autoescape on): one machine from the JSON report's data, or a fleet's rows.

Nothing is fetched: the style and the fleet's sort/filter script are inline, and a Content-Security-Policy
meta tag allows only those two blocks (by SHA-256), so the file works from disk, offline and printed. Every
string from evidence (key names, value data, file names, machine names) is autoescaped and renders as text.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from importlib import resources
from typing import TYPE_CHECKING

from analyzer import __version__
from analyzer.report import htmlview

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup

    from analyzer.engine import Report
    from analyzer.scan import Row

EXTRA = "html"
_CODE = re.compile(r"``(.+?)``")


class HtmlUnavailable(Exception):
    """Jinja2 (the ``html`` extra) is not installed."""


@functools.cache
def environment() -> Environment:
    """The Jinja2 environment over the package's templates; HtmlUnavailable when Jinja2 is missing."""
    try:
        import jinja2
    except ImportError:
        raise HtmlUnavailable(f"--format html needs Jinja2: pip install 'regtls[{EXTRA}]'") from None
    env = jinja2.Environment(loader=jinja2.PackageLoader("analyzer.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters.update(tone=htmlview.tone, plain=htmlview.plain, extras=htmlview.extras, doc=_doc)
    env.globals.update(version=__version__, css=_asset("report.css"), script=_asset("fleet.js"))
    return env


@functools.cache
def _asset(name: str) -> Markup:
    """A style or script block of the package (trusted text, inserted as is)."""
    from markupsafe import Markup

    text = resources.files("analyzer.report").joinpath("templates").joinpath(name).read_text(encoding="utf-8")
    if "</" in text:
        raise ValueError(f"{name}: must not contain '</' (it is inlined into the page)")
    return Markup(text)


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(script: bool) -> str:
    """The page's Content-Security-Policy: only its own inline style (and script) by hash, images as data: URLs."""
    scripts = _hash(_asset("fleet.js")) if script else "'none'"
    return (f"default-src 'none'; style-src {_hash(_asset('report.css'))}; script-src {scripts}; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def _doc(text: str) -> Markup:
    """Documentation prose with its ``code`` spans as <code> (the text itself escaped)."""
    from markupsafe import Markup, escape

    return Markup("").join(Markup("<code>{}</code>").format(part) if i % 2 else escape(part)
                           for i, part in enumerate(_CODE.split(text)))


def render_machine(report: Report) -> str:
    """The machine report: verdict first, then findings with evidence, the settings, what-if and diagnostics."""
    from analyzer.report.check import as_dict

    data = as_dict(report)
    settings = data["settings"]
    assert isinstance(settings, list) and isinstance(data["inputs"], list)
    findings = data["findings"]
    results = data["results"]
    assert isinstance(findings, list) and isinstance(results, list)
    referenced = [f["rule"] for f in findings] + [r["rule"] for r in results
                                                  if r["status"] in ("fail", "undecided")]
    roles, protocols = htmlview.matrix(settings)
    return environment().get_template("machine.html.j2").render(
        r=data, csp=csp(script=False), title=f"regtls check: {report.verdict}", roles=roles, protocols=protocols,
        families=htmlview.families(settings), digests=htmlview.digests(data["inputs"]),
        docs=htmlview.rule_docs(referenced), profile_title=report.profile.title)


def render_fleet(rows: list[Row]) -> str:
    """The fleet report: one row per machine (key settings as a heat map), per-rule counts, each machine's details."""
    columns = htmlview.heat_columns(rows)
    machines = []
    for n, row in enumerate(rows, 1):
        by_id = {str(s["id"]): s for s in row.settings}
        roles, protocols = htmlview.matrix(row.settings)
        machines.append({"n": n, "row": row, "cells": [by_id.get(sid) for sid, _ in columns], "roles": roles,
                         "protocols": protocols, "families": htmlview.families(row.settings)})
    verdicts = {v: sum(r.verdict == v for r in rows) for v in ("pass", "fail", "undecided", "unreadable")}
    counts = htmlview.rule_counts(rows)
    return environment().get_template("fleet.html.j2").render(
        csp=csp(script=True), title=f"regtls scan: {len(rows)} machines", machines=machines, columns=columns,
        verdicts=verdicts, counts=counts, docs=htmlview.rule_docs(c.rule for c in counts))
