"""`stratdsl report POLICY ASSESSMENT -o FILE.html|FILE.md [--force] [--lang fr|en] [--as-of DATE] [--param NAME=VALUE]…
[--template-dir DIR] [--logo FILE] [--accent #rrggbb] [--company-name TEXT] [--summary-only]`

Registered on the main group with `main.add_command(report_cmd)`. Exit codes
as for the other commands: 0 written; 1 a bad policy or assessment (the
diagnostics say why); 2 a usage error; 3 an internal error (STRATDSL_DEBUG=1
shows the traceback). The report is written whole or not at all: it goes to a
temporary file next to FILE, then replaces FILE. FILE may not be a folder (E701)
and may not exist unless --force is given (E702); both exit 2, before any work.
The theme options are checked before any work too (E610, E612–E617: exit 2 for
a bad value, 1 for a bad logo file); an error in a user's template is E611
(exit 1) at the template's file and line.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from ..language.diagnostics import Diagnostic
from ..language.messages import N_, Msg
from ..render.catalogue import gettext_for
from ..render.diagnostics import summary
from .cliguard import as_of_date, emit_diagnostics, guarded, resolve_lang


def _sources(policy: str):
    """The policy's sources, to show diagnostics with their lines (None when they cannot be read)."""
    from ..language.loader import load_policy

    try:
        return load_policy(policy).source_map
    except Exception:  # the diagnostics are then shown without their lines
        return None


def _umask() -> int:
    """The process umask (read by setting it and putting it back: the only portable way)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


def _write(path: Path, text: str) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None
    try:
        # mkstemp makes the file 0600; a report is an ordinary document: 0666 less the umask (0644 by default)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _check_output(path: Path, force: bool) -> None:
    """Before any work: a folder is never a report file (E701), and a file that exists is
    replaced only with --force (E702): a report is often written next to the previous one,
    and a mistyped name must not silently destroy it. Usage errors: exit 2."""
    problem = None
    if path.is_dir():
        problem = Diagnostic(
            "E701", Msg(N_("'{path}' is a folder: -o takes the report's file name"), path=path), hint=Msg(N_("write e.g. -o {path}"), path=path / "report.html")
        )
    elif (path.exists() or path.is_symlink()) and not force:
        problem = Diagnostic("E702", Msg(N_("'{path}' already exists"), path=path), hint=Msg(N_("give --force to replace it, or another file name")))
    if problem is not None:
        _fail(problem, 2)


def _fail(problem: Diagnostic, code: int) -> None:
    emit_diagnostics([problem], None)
    click.echo(f"stratdsl: {summary([problem])}", err=True)
    sys.exit(code)


def _check_theme(template_dir: str | None, logo: str | None, accent: str | None, company_name: str | None):
    """Before any work: the template folder exists (E610) and the theme options are good (E612–E617)."""
    from ..report import ThemeProblem, load_theme

    if template_dir is not None and not Path(template_dir).is_dir():
        _fail(Diagnostic(
                "E610",
                Msg(N_("--template-dir '{path}' is not a folder"), path=template_dir),
                hint=Msg(N_("give a folder holding e.g. summary.html.j2 (docs/reports.md)")),
            ), 2)
    try:
        return load_theme(accent, logo, company_name)
    except ThemeProblem as problem:
        _fail(problem.diagnostic, 2 if problem.usage else 1)


@click.command("report")
@click.argument("policy", type=click.Path(dir_okay=False))
@click.argument("assessment", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, metavar="FILE.html|FILE.md", help="Where to write the report; its extension chooses HTML or Markdown ('-' writes to stdout, then give --format).")
@click.option("--format", "fmt", type=click.Choice(["html", "markdown"]), help="Override the format the extension of FILE gives.")
@click.option(
    "--lang", type=click.Choice(["fr", "en"]), default=None, help="Language of the report and of the policy's labels (default: the policy's first language, else LANG)."
)
@click.option("--as-of", "as_of", metavar="DATE", help="Evaluate the policy as in force on this date (default: today).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a parameter for this evaluation (repeatable).")
@click.option("--audit-log", "audit_log", type=click.Path(dir_okay=False), help="Also append the evaluation and decision records the report cites to this hash-chained JSONL audit log.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists (without it, an existing FILE is an error, E702).")
@click.option("--template-dir", "template_dir", metavar="DIR", help="HTML: templates here replace the packaged ones of the same name (docs/reports.md).")
@click.option("--logo", metavar="FILE", help="HTML: a PNG, JPEG or SVG logo (at most 256 KiB) shown in the header, embedded in the page.")
@click.option("--accent", metavar="#RRGGBB", help="HTML: the accent colour of headings, links and borders (dark enough to read on white).")
@click.option("--summary-only", "summary_only", is_flag=True, help="Only the management summary (HTML: the cover and summary, 1 or 2 A4 pages; Markdown: the summary), without the technical appendix.")
@click.option("--company-name", "company_name", metavar="TEXT", help="HTML: the name of the firm issuing the report, shown in the header next to the logo.")
@click.option(
    "--why-not", "why_not", type=click.FloatRange(min=0, max=600), default=0, metavar="SECONDS",
    help="Also give, in the explanations of use cases not selected (and of a short portfolio), the solver's closest verified changes, "
    "within SECONDS of work each (default 0: none; counted in solver steps, not on the clock: the same report on every machine).",
)
@guarded(sources=lambda kwargs: _sources(kwargs["policy"]) if kwargs.get("policy") else None)
def report_cmd(
    policy: str, assessment: str, output: str, fmt: str | None, lang: str | None, as_of: str | None, params: tuple[str, ...], audit_log: str | None,
    force: bool, template_dir: str | None, logo: str | None, accent: str | None, company_name: str | None, summary_only: bool,
    why_not: float = 0,
) -> None:
    """Write a one-page management summary with charts, explanations and provenance (HTML or Markdown)."""
    from ..report import format_for, make_report, render  # the report package and its charts: only for this command

    if output != "-":
        _check_output(Path(output), force)
    theme = _check_theme(template_dir, logo, accent, company_name)
    chosen = fmt or (None if output == "-" else format_for(output))
    if chosen is None:
        raise click.BadParameter(f"'{output}' ends in neither .html nor .md: give --format html or --format markdown", param_hint="-o/--output")
    when = as_of_date(as_of)
    if lang is None:
        from ..engine import compile_policy

        lang = resolve_lang(None, compile_policy(policy)[0])
    report = make_report(policy, assessment, when, lang, params, why_not_seconds=why_not)
    _ = gettext_for(lang)
    text = render(report, chosen, template_dir, theme, summary_only)
    if audit_log:
        from ..provenance import audit

        audit.append(audit_log, report.records, checkpoint_at_end=True)  # signed when STRATDSL_AUDIT_KEY is set
        click.echo("stratdsl: " + _("{n} decision record(s) appended to {log}").format(n=len(report.records) - 1, log=audit_log), err=True)
    if output == "-":
        click.echo(text, nl=False)
        return
    _write(Path(output), text)
    click.echo("stratdsl: " + _("report written to {output} ({format}, {lang}, as of {date})").format(output=output, format=chosen, lang=lang, date=when.isoformat()), err=True)
