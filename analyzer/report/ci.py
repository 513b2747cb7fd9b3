"""The CI formats shared by ``check`` and ``lint``: SARIF 2.1.0, JUnit XML, GitHub annotations and Markdown."""

from __future__ import annotations

import importlib

from analyzer.engine import Run

FORMATS = ("sarif", "junit", "github", "markdown")


def render(run: Run, fmt: str) -> str:
    """Render ``run`` in one of :data:`FORMATS` (each lives in ``analyzer.report.<format>``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"analyzer.report.{fmt}")
    text: str = module.render(run)
    return text
