"""The `stratdsl` command: check, eval, explain, schema.

Exit codes: 0 success; 1 a bad policy or assessment (the diagnostics say
why); 2 a usage error (click's own). Bad input never shows a Python
traceback; an internal error says so and asks for a bug report
(STRATDSL_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from datetime import date
from pathlib import Path

import click

from . import __version__, engine
from .assessment import json_schema, load_assessment
from .diagnostics import Diagnostic, StratError, sorted_diagnostics
from .render import diagnostics as render_diags
from .render import json_out, text
from .source import SourceMap

EXIT_BAD_INPUT = 1
EXIT_INTERNAL = 3


def _emit_diagnostics(diagnostics: list[Diagnostic], sources: SourceMap | None, fmt: str = "text") -> None:
    if not diagnostics:
        return
    if fmt == "json":
        click.echo(render_diags.render_json(sorted_diagnostics(diagnostics)))
        return
    click.echo(render_diags.render_text(sorted_diagnostics(diagnostics), sources), err=True)


def guarded(func):
    """Turn StratError into rendered diagnostics and exit 1; never let a traceback through."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except StratError as error:
            sources = _SOURCES[-1] if _SOURCES else None
            _emit_diagnostics(error.diagnostics, sources)
            click.echo(f"stratdsl: {render_diags.summary(error.diagnostics)}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as error:  # an internal error: ours, not the user's
            if os.environ.get("STRATDSL_DEBUG"):
                traceback.print_exc()
            click.echo(
                f"stratdsl: internal error ({type(error).__name__}: {error}). This is a bug in stratdsl, not in your files; "
                "please report it with the command you ran (STRATDSL_DEBUG=1 shows details).",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper


_SOURCES: list[SourceMap] = []


def _policy(path: str):
    policy, diagnostics = engine.compile_policy(path)
    if policy is None:
        from .loader import load_policy

        try:
            _SOURCES.append(load_policy(path).source_map)
        except StratError:
            _SOURCES.append(_partial_sources(path))
        raise StratError(diagnostics)
    _SOURCES.append(policy.source_map)
    warnings = [d for d in diagnostics if not d.is_error]
    return policy, warnings


def _partial_sources(path: str) -> SourceMap:
    """Sources for rendering syntax errors: every file we can read under the policy's folder."""
    from .loader import display_name, read_source

    sources = SourceMap()
    root = Path(path).resolve()
    for file in [root, *sorted(root.parent.rglob("*.strat"))]:
        try:
            source = read_source(file)
        except StratError:
            continue
        sources.add(source)
        if file != root:
            sources.add(type(source)(display_name(file), source.text, file))
    return sources


def _as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)", param_hint="--as-of") from None


_lang = click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Language of labels.")
_as_of_opt = click.option("--as-of", "as_of", metavar="DATE", help="Evaluate the policy as in force on this date (default: today).")
_param_opt = click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a parameter for this evaluation (repeatable).")
_format = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stratdsl")
def main() -> None:
    """stratdsl — evaluate an AI-strategy policy against a company's assessment, with an explanation for every decision."""


@main.command("check")
@click.argument("policy", type=click.Path(dir_okay=False))
@_format
@guarded
def check_cmd(policy: str, fmt: str) -> None:
    """Check a policy file and everything it imports; report every error and warning."""
    checked, diagnostics = engine.compile_policy(policy)
    sources = checked.source_map if checked else None
    if sources is None:
        from .loader import load_policy

        try:
            sources = load_policy(policy).source_map
        except StratError:
            sources = _partial_sources(policy)
    if fmt == "json":
        click.echo(render_diags.render_json(sorted_diagnostics(diagnostics)))
    else:
        _emit_diagnostics(diagnostics, sources)
        if checked is not None:
            counts = f"{len(checked.decisions)} decisions, {len(checked.definitions)} definitions, {len(checked.inputs)} inputs"
            click.echo(f"{policy}: ok ({counts}; {len(checked.files)} file{'s' if len(checked.files) != 1 else ''})"
                       + (f", {render_diags.summary(diagnostics)}" if diagnostics else ""))
        else:
            click.echo(f"stratdsl: {render_diags.summary(diagnostics)}", err=True)
    if checked is None:
        sys.exit(EXIT_BAD_INPUT)


@main.command("eval")
@click.argument("policy", type=click.Path(dir_okay=False))
@click.argument("assessment", type=click.Path(dir_okay=False))
@_as_of_opt
@_param_opt
@_format
@_lang
@guarded
def eval_cmd(policy: str, assessment: str, as_of: str | None, params: tuple[str, ...], fmt: str, lang: str) -> None:
    """Evaluate every decision of POLICY for the company described in ASSESSMENT."""
    checked, _warnings = _policy(policy)
    overrides = engine.parse_params(checked, params)
    facts = load_assessment(checked, assessment)
    result, _ = engine.run(checked, facts, _as_of(as_of), overrides)
    if fmt == "json":
        click.echo(json_out.dumps(json_out.result_json(checked, result, lang)), nl=False)
    else:
        click.echo(text.render_result(checked, result, lang, assessment), nl=False)


@main.command("explain")
@click.argument("policy", type=click.Path(dir_okay=False))
@click.argument("assessment", type=click.Path(dir_okay=False))
@click.argument("decision")
@click.option("--for", "entity", metavar="ID", help="The entity (e.g. use case id) whose decision to explain.")
@click.option("--why-not", "why_not", metavar="OUTCOME", help="Explain what blocked this outcome, and the smallest change that would give it.")
@_as_of_opt
@_param_opt
@_format
@_lang
@guarded
def explain_cmd(policy, assessment, decision, entity, why_not, as_of, params, fmt, lang) -> None:
    """Explain DECISION: the rule that decided, the value of every sub-condition, and why other rules did not apply."""
    checked, _ = _policy(policy)
    overrides = engine.parse_params(checked, params)
    facts = load_assessment(checked, assessment)
    explanations = engine.explain(checked, facts, decision, _as_of(as_of), overrides, entity, why_not)
    if fmt == "json":
        data = [json_out.explanation_json(checked, x, lang, why) for x, why in explanations]
        click.echo(json_out.dumps(data if len(data) != 1 else data[0]), nl=False)
        return
    click.echo("\n".join(text.render_explanation(checked, x, lang, why) for x, why in explanations), nl=False)


@main.command("schema")
@click.argument("policy", type=click.Path(dir_okay=False))
@guarded
def schema_cmd(policy: str) -> None:
    """Print the JSON Schema of an assessment for POLICY (built from its input declarations)."""
    checked, _ = _policy(policy)
    click.echo(json.dumps(json_schema(checked), indent=2, ensure_ascii=False, sort_keys=True, default=str))


if __name__ == "__main__":  # pragma: no cover
    main()
