"""Reports for management: one self-contained HTML page (or Markdown) from an evaluation.

    policy, assessment, as-of date, parameters
      ─engine.run(trace=True)─▶ Result + trace
      ─model.build_report─▶ Report (what is shown; read from the result, never recomputed)
      ─html.render_html / markdown.render_markdown─▶ text

The summary for management (maturity level, the priorities, key risks and
obligations, the 12-month roadmap at a glance), inline SVG charts, an
explanation behind every figure, and a provenance footer that ties a printed
report to the audit log. `stratdsl report` (commands.report_cli) is the command.

May import: engine, provenance, render, runtime, language. The command that
writes a report lives in commands/report_cli.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from .. import engine
from .html import render_html
from .markdown import render_markdown
from .model import DEFAULT_SPEC, Report, ReportSpec, build_report
from .theme import DEFAULT_THEME, Theme, ThemeProblem, load_theme

FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


def format_for(path: str | Path) -> str | None:
    """"html" or "markdown" from a file name's extension; None when it says neither."""
    return FORMATS.get(Path(path).suffix.lower())


def render(report: Report, fmt: str, template_dir: str | Path | None = None, theme: Theme = DEFAULT_THEME, summary_only: bool = False) -> str:
    """The report as text; `template_dir` and `theme` apply to HTML only, `summary_only` to both."""
    if fmt == "html":
        return render_html(report, template_dir, theme, summary_only)
    if fmt == "markdown":
        return render_markdown(report, summary_only)
    raise ValueError(f"unknown report format '{fmt}' (html or markdown)")


def make_report(
    policy_path: str | Path,
    assessment_path: str | Path,
    as_of: date,
    lang: str = "fr",
    params: list[str] | tuple[str, ...] = (),
    spec: ReportSpec = DEFAULT_SPEC,
    prov: dict[str, Any] | None = None,
    why_not_seconds: float = 0,
) -> Report:
    """Compile, load, evaluate with a trace, and gather the report (raises StratError on bad input).

    `why_not_seconds` > 0: the closest changes that would give the wanted outcomes (model._why_not)."""
    policy, _ = engine.require_policy(policy_path)
    overrides = engine.parse_params(policy, list(params))
    assessment = engine.load_assessment(policy, assessment_path)
    result, tracer = engine.run(policy, assessment, as_of, overrides, trace=True)
    assert tracer is not None
    return build_report(policy, assessment, result, tracer, lang, Path(assessment_path).name, prov, spec, why_not_seconds)


__all__ = [
    "DEFAULT_SPEC",
    "DEFAULT_THEME",
    "Report",
    "ReportSpec",
    "Theme",
    "ThemeProblem",
    "build_report",
    "format_for",
    "load_theme",
    "make_report",
    "render",
    "render_html",
    "render_markdown",
]
