"""The `stratdsl` command: check, eval, explain, schema.

Exit codes: 0 success; 1 a bad policy or assessment (the diagnostics say
why); 2 a usage error (click's own). Bad input never shows a Python
traceback; an internal error says so and asks for a bug report
(STRATDSL_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from .. import __version__, engine
from ..language.diagnostics import Diagnostic, StratError, sorted_diagnostics
from ..language.source import SourceMap
from ..provenance import audit, gitutil, history, semdiff
from ..provenance import records as records_mod
from ..provenance import replay as replay_mod
from ..render import diagnostics as render_diags
from ..render import json_out, sarif, text
from ..runtime.assessment import json_schema, load_assessment
from ..runtime.relevance import irrelevant_answers
from . import policytest
from .cliguard import EXIT_BAD_INPUT, SOURCES, emit_diagnostics, guarded


def _policy(path: str):
    policy, diagnostics = engine.compile_policy(path)
    if policy is None:
        from ..language.loader import load_policy

        try:
            SOURCES.append(load_policy(path).source_map)
        except StratError:
            SOURCES.append(_partial_sources(path))
        raise StratError(diagnostics)
    SOURCES.append(policy.source_map)
    warnings = [d for d in diagnostics if not d.is_error]
    return policy, warnings


def _partial_sources(path: str) -> SourceMap:
    """Sources for rendering syntax errors: every file we can read under the policy's folder."""
    from ..language.loader import display_name, read_source

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


def _roots(paths: tuple[str, ...]) -> list[str]:
    """Expand folders to their .strat files and keep only the roots: a file imported
    by another one given is checked through it, with the context it has there."""
    from ..language.loader import load_policy

    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        files.extend(sorted(p.rglob("*.strat")) if p.is_dir() else [p])
    if len(files) == 1:
        return [str(files[0])]  # nothing to compare with: spare a second parse
    imported: set[Path] = set()
    for file in files:
        try:
            program = load_policy(file)
        except StratError:
            continue
        for source in program.source_map.files()[1:]:
            if source.path is not None:
                imported.add(source.path.resolve())
    return [str(f) for f in files if f.resolve() not in imported]


@main.command("check")
@click.argument("policies", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True,
              help="sarif: SARIF 2.1.0 for code-scanning tools.")
@guarded
def check_cmd(policies: tuple[str, ...], fmt: str) -> None:
    """Check policy files and everything they import; report every error and warning."""
    everything: list[Diagnostic] = []
    failed = False
    seen: set[tuple] = set()
    for policy in _roots(policies):
        checked, diagnostics = engine.compile_policy(policy)
        fresh = []
        for d in diagnostics:
            key = (d.code, d.message, d.span)
            if key not in seen:
                seen.add(key)
                fresh.append(d)
        everything.extend(fresh)
        failed = failed or checked is None
        if fmt != "text":
            continue
        sources = checked.source_map if checked else _sources_for(policy)
        emit_diagnostics(fresh, sources)
        if checked is not None:
            counts = f"{len(checked.decisions)} decisions, {len(checked.definitions)} definitions, {len(checked.inputs)} inputs"
            files = f"{len(checked.files)} file{'s' if len(checked.files) != 1 else ''}"
            click.echo(f"{policy}: ok ({counts}; {files})" + (f", {render_diags.summary(fresh)}" if fresh else ""))
    if fmt == "json":
        click.echo(render_diags.render_json(sorted_diagnostics(everything)))
    elif fmt == "sarif":
        click.echo(sarif.render(sorted_diagnostics(everything), Path.cwd()), nl=False)
    elif failed:
        click.echo(f"stratdsl: {render_diags.summary(everything)}", err=True)
    if failed:
        sys.exit(EXIT_BAD_INPUT)


def _sources_for(policy: str) -> SourceMap:
    from ..language.loader import load_policy

    try:
        return load_policy(policy).source_map
    except StratError:
        return _partial_sources(policy)


@main.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 and list the files that would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the changes as a unified diff instead of writing them.")
@guarded
def fmt_cmd(paths: tuple[str, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite policy files in the one canonical layout (comments kept, meaning unchanged)."""
    import difflib

    from ..language.fmt import format_source
    from ..language.loader import read_source

    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        files.extend(sorted(p.rglob("*.strat")) if p.is_dir() else [p])
    changed = []
    problems: list[Diagnostic] = []
    for file in files:
        try:
            source = read_source(file)
            formatted = format_source(source)
        except StratError as error:
            problems.extend(error.diagnostics)
            continue
        if formatted == source.text:
            continue
        changed.append(str(file))
        if show_diff:
            click.echo("".join(difflib.unified_diff(source.text.splitlines(True), formatted.splitlines(True), str(file), str(file))), nl=False)
        elif not check_only:
            file.write_text(formatted, encoding="utf-8")
            click.echo(f"formatted {file}")
    if problems:
        raise StratError(problems)
    if check_only:
        for name in changed:
            click.echo(f"would reformat {name}")
        if changed:
            click.echo(f"stratdsl: {len(changed)} file(s) would be reformatted", err=True)
            sys.exit(EXIT_BAD_INPUT)
        click.echo(f"{len(files)} file(s) already formatted")


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--coverage", "show_coverage", is_flag=True, help="Report the rules, exceptions, band levels, obligations and cited clauses no test exercised.")
@click.option("--fail-under", type=float, metavar="PCT", help="Fail when total, rule or cited-clause coverage is below PCT percent.")
@_lang
@guarded
def test_cmd(paths: tuple[str, ...], show_coverage: bool, fail_under: float | None, lang: str) -> None:
    """Run policy tests (*.test.yaml files; default: every one under the current folder)."""
    files = policytest.discover(list(paths))
    coverage: dict = {}
    results = []
    for file in files:
        for outcome in policytest.run_file(file, coverage, lang):
            results.append(outcome)
            mark = "PASSED" if outcome.passed else ("ERROR" if outcome.error else "FAILED")
            click.echo(f"{outcome.file}::{outcome.name} {mark}")
    failures = [r for r in results if not r.passed]
    if failures:
        click.echo("")
        click.echo("=" * 30 + " failures " + "=" * 30)
    for r in failures:
        click.echo(f"___ {r.file}::{r.name} ___")
        if r.error:
            click.echo(f"  error: {r.error}")
        for f in r.failures:
            click.echo(f"  {f}")
        for x in r.explanations:
            click.echo(_indent(x, "    "), nl=False)
    below = False
    if show_coverage or fail_under is not None:
        report, _ = policytest.render_coverage(coverage)
        click.echo("")
        click.echo(report)
        if fail_under is not None:
            shares = policytest.coverage_by_group(coverage)
            for group in ("total", "rules", "cited clauses"):
                if shares.get(group, 100.0) < fail_under:
                    below = True
                    click.echo(f"stratdsl: {group} coverage {shares[group]:.1f}% is below --fail-under {fail_under}", err=True)
    passed = len(results) - len(failures)
    click.echo("")
    click.echo(f"{passed} passed, {len(failures)} failed")
    if failures or below or not results:
        sys.exit(EXIT_BAD_INPUT)


_audit_opt = click.option("--audit-log", "audit_log", type=click.Path(dir_okay=False), help="Append the decision records to this hash-chained JSONL audit log.")


def _log(checked, facts, result, tracer, lang: str, audit_log: str | None) -> list[dict]:
    """Build the records of an evaluation and append them to the audit log when asked."""
    evaluation, records = records_mod.decision_records(checked, facts, result, tracer, lang)
    if audit_log:
        audit.append(audit_log, [evaluation, *records])
        click.echo(f"stratdsl: {len(records)} decision record(s) appended to {audit_log}", err=True)
    return records


@main.command("eval")
@click.argument("policy", type=click.Path(dir_okay=False))
@click.argument("assessment", type=click.Path(dir_okay=False))
@_as_of_opt
@_param_opt
@click.option("--format", "fmt", type=click.Choice(["text", "json", "records"]), default="text", show_default=True,
              help="records: one decision record per decision, with explanation and provenance.")
@_lang
@_audit_opt
@click.option("--dump-compiled", is_flag=True, help="Print the Python source the policy compiles to, and stop.")
@guarded
def eval_cmd(policy: str, assessment: str, as_of: str | None, params: tuple[str, ...], fmt: str, lang: str, audit_log: str | None, dump_compiled: bool) -> None:
    """Evaluate every decision of POLICY for the company described in ASSESSMENT."""
    checked, _ = _policy(policy)
    if dump_compiled:
        from ..backends.compiler import compiled

        click.echo(compiled(checked).source, nl=False)
        return
    overrides = engine.parse_params(checked, params)
    facts = load_assessment(checked, assessment)
    for warning in irrelevant_answers(checked, facts):  # W110: kept, but said
        click.echo(render_diags.render_diagnostic(warning, None), err=True)
    want_records = fmt == "records" or audit_log is not None
    result, tracer = engine.run(checked, facts, _as_of(as_of), overrides, trace=want_records)
    records = _log(checked, facts, result, tracer, lang, audit_log) if want_records else []
    if fmt == "json":
        click.echo(json_out.dumps(json_out.result_json(checked, result, lang)), nl=False)
    elif fmt == "records":
        click.echo(json_out.dumps(records), nl=False)
    else:
        click.echo(text.render_result(checked, result, lang, assessment), nl=False)


@main.command("explain")
@click.argument("policy", type=click.Path(dir_okay=False))
@click.argument("assessment", type=click.Path(dir_okay=False))
@click.argument("decision")
@click.option("--for", "entity", metavar="ID", help="The entity (e.g. use case id) whose decision to explain.")
@click.option("--why-not", "why_not", metavar="OUTCOME", help="Explain what blocked this outcome, and the smallest change that would give it.")
@click.option("--blame", is_flag=True, help="Add, for each rule, the commit, author, date and subject that last changed it.")
@_as_of_opt
@_param_opt
@_format
@_lang
@_audit_opt
@guarded
def explain_cmd(policy, assessment, decision, entity, why_not, blame, as_of, params, fmt, lang, audit_log) -> None:
    """Explain DECISION: the rule that decided, the value of every sub-condition, and why other rules did not apply."""
    checked, _ = _policy(policy)
    overrides = engine.parse_params(checked, params)
    facts = load_assessment(checked, assessment)
    explanations = engine.explain(checked, facts, decision, _as_of(as_of), overrides, entity, why_not)
    if audit_log:
        result, tracer = engine.run(checked, facts, _as_of(as_of), overrides, trace=True)
        _log(checked, facts, result, tracer, lang, audit_log)
    data = []
    for x, why in explanations:
        item = json_out.explanation_json(checked, x, lang, why)
        if blame:
            item["blame"] = _blame(checked, decision)
        data.append(item)
    if fmt == "json":
        click.echo(json_out.dumps(data if len(data) != 1 else data[0]), nl=False)
        return
    click.echo("\n".join(text.render_explanation_data(item) for item in data), nl=False)


def _blame(checked, decision: str) -> dict:
    """Who last changed each rule of the decision (its exceptions are part of its lines)."""
    out = {}
    for rule in checked.decisions[decision].rules:
        source = checked.source_map.get(rule.span.file)
        if source is None or source.path is None:
            continue
        line = gitutil.blame(source.path, rule.span.line, rule.span.end_line)
        if line is not None:
            out[rule.id] = {"commit": line.commit, "author": line.author, "date": line.date, "summary": line.summary}
    return out


@main.group("audit")
def audit_group() -> None:
    """Verify and read a hash-chained audit log."""


@audit_group.command("verify")
@click.argument("log", type=click.Path(dir_okay=False))
@guarded
def audit_verify(log: str) -> None:
    """Check the chain; name the first line that was altered, removed, inserted or reordered."""
    count, problem = audit.verify(log)
    if problem is None:
        click.echo(f"{log}: ok, {count} entr{'y' if count == 1 else 'ies'}, chain intact")
        return
    click.echo(f"{log}:{problem.line}: {problem.message}")
    click.echo(f"stratdsl: the first {count} entr{'y is' if count == 1 else 'ies are'} intact", err=True)
    sys.exit(EXIT_BAD_INPUT)


@audit_group.command("show")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("--decision", "decision_id", metavar="ID", help="The decision record id (a prefix is enough).")
@click.option("--entry", type=int, metavar="N", help="The entry number (line).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@guarded
def audit_show(log: str, decision_id: str | None, entry: int | None, fmt: str) -> None:
    """Print an entry of the audit log with its explanation (the last decision by default)."""
    entries = audit.read(log)
    if decision_id:
        item = audit.find_decision(entries, decision_id)
    elif entry is not None:
        item = next((e for e in entries if e.get("seq") == entry), None)
    else:
        item = next((e for e in reversed(entries) if e.get("entry", {}).get("kind") == "decision"), None)
    if item is None:
        raise StratError([Diagnostic("E405", f"no such entry in '{log}'")])
    if fmt == "json":
        click.echo(json_out.dumps(item), nl=False)
        return
    record = item["entry"]
    click.echo(f"entry {item['seq']} · hash {item['hash'][:16]}… · kind {record.get('kind')}")
    if record.get("kind") != "decision":
        click.echo(json_out.dumps({k: v for k, v in record.items() if k != "assessment"}), nl=False)
        return
    prov = record["provenance"]
    git = prov.get("git") or {}
    click.echo(f"decision record {record['id']} · evaluation {record['evaluation']}")
    click.echo(
        f"policy {prov['policy']} {prov['version']} · sha256 {prov['policy_sha256'][:16]}…"
        + (f" · commit {git['commit'][:12]}{' (dirty)' if git.get('dirty') else ''}" if git else " · not in git")
    )
    click.echo(f"engine {prov['engine']} · as of {record['as_of']} · assessment sha256 {record['assessment_sha256'][:16]}…")
    if record.get("params"):
        click.echo("overridden parameters: " + ", ".join(f"{k} = {v}" for k, v in record["params"].items()))
    click.echo("")
    click.echo(text.render_explanation_data(record["explanation"]), nl=False)


@main.command("replay")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("--entry", type=int, metavar="N", help="Replay this entry (default: every decision of the last evaluation).")
@click.option("--repo", type=click.Path(file_okay=False), help="The git repository holding the policy (default: the current one).")
@guarded
def replay_cmd(log: str, entry: int | None, repo: str | None) -> None:
    """Re-evaluate logged decisions with the policy as it was at the recorded commit."""
    results = replay_mod.replay(log, entry, Path(repo) if repo else None)
    differ = 0
    for r in results:
        who = f"{r.decision}[{r.entity}]" if r.entity is not None else r.decision
        if r.identical:
            click.echo(f"entry {r.entry} {who}: identical (commit {r.commit[:12]})")
        else:
            differ += 1
            click.echo(f"entry {r.entry} {who}: DIFFERS (commit {r.commit[:12]})")
            for name, before, after in r.differences:
                click.echo(f"  {name}: recorded {before!r} → replayed {after!r}")
            click.echo("  recorded explanation:")
            click.echo(_indent(text.render_explanation_data(r.recorded["explanation"]), "    "), nl=False)
            if r.replayed is not None:
                click.echo("  replayed explanation:")
                click.echo(_indent(text.render_explanation_data(r.replayed["explanation"]), "    "), nl=False)
        for note in r.notes:
            click.echo(f"  note: {note}")
    click.echo(f"{len(results) - differ} identical, {differ} different")
    if differ:
        sys.exit(EXIT_BAD_INPUT)


def _indent(block: str, pad: str) -> str:
    return "".join(pad + line + "\n" for line in block.splitlines())


@main.command("diff")
@click.argument("policy", type=click.Path(dir_okay=False))
@click.argument("assessments", nargs=-1, type=click.Path())
@click.option("--from", "from_rev", required=True, metavar="REV", help="The git revision to compare from.")
@click.option("--to", "to_rev", metavar="REV", help="The git revision to compare to (default: the working tree).")
@_as_of_opt
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@_lang
@guarded
def diff_cmd(policy, assessments, from_rev, to_rev, as_of, fmt, lang) -> None:
    """What changed in the methodology between two revisions, and which decisions change for each ASSESSMENT (files or folders)."""
    paths = semdiff.expand_assessments(list(assessments))
    when = _as_of(as_of)
    with history.policy_at(policy, from_rev) as old:
        if to_rev:
            with history.policy_at(policy, to_rev) as new:
                diff = _diff(old, new, paths, when, lang)
        else:
            new, _ = _policy(policy)
            diff = _diff(old, new, paths, when, lang)
    if fmt == "json":
        click.echo(json_out.dumps(semdiff.to_json(diff)), nl=False)
    elif fmt == "markdown":
        click.echo(semdiff.render_markdown(diff, from_rev, to_rev or "working tree"), nl=False)
    else:
        click.echo(semdiff.render_text(diff), nl=False)


def _diff(old, new, paths, when, lang) -> semdiff.PolicyDiff:
    changes = semdiff.compare_policies(old, new)
    decisions = semdiff.compare_outcomes(old, new, paths, when, lang)
    return semdiff.PolicyDiff(changes, decisions, [str(p) for p in paths])


@main.command("batch")
@click.argument("policy", type=click.Path(dir_okay=False, exists=True))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="The JSONL file to write (appended to; a rerun resumes).")
@click.option("--jobs", type=click.IntRange(1, 256), default=1, show_default=True, help="Worker processes.")
@click.option("--engine", "engine_name", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--scheduler", metavar="ADDRESS", help="The Dask scheduler, with --engine dask.")
@click.option("--csv-input", metavar="INPUT", help="Which repeated input a CSV row fills (default: the one with most fields).")
@_as_of_opt
@_param_opt
@guarded
def batch_cmd(policy, inputs, output, jobs, engine_name, scheduler, csv_input, as_of, params) -> None:
    """Evaluate many assessments (folders of YAML/JSON, JSONL, or CSV with one use case per row) into OUT.jsonl."""
    from . import batch

    checked, _ = _policy(policy)
    engine.parse_params(checked, params)  # reject a bad --param before any work starts
    engine_params = dict(item.split("=", 1) for item in params)
    sources, root = batch.policy_sources(checked)
    tty = sys.stderr.isatty()

    def progress(summary) -> None:
        if tty and summary.processed % 50 == 0:
            click.echo(f"\r{summary.processed} done, {summary.invalid} invalid, {summary.skipped} skipped", err=True, nl=False)

    summary = batch.run_batch(
        sources, root, list(inputs), Path(output), _as_of(as_of), engine_params, jobs, engine_name, scheduler, progress, csv_input
    )
    if tty:
        click.echo("", err=True)
    for key, reason in summary.invalid_keys:
        click.echo(f"invalid: {key}: {reason}", err=True)
    click.echo(f"{summary.processed} processed ({summary.invalid} invalid), {summary.skipped} already in {output}")
    for decision, counts in sorted(summary.outcomes.items()):
        parts = ", ".join(f"{outcome} {n}" for outcome, n in sorted(counts.items()))
        click.echo(f"  {decision}: {parts}")
    if summary.invalid:
        sys.exit(EXIT_BAD_INPUT)  # every valid input was still evaluated and written


@main.command("diagnose")
@click.argument("policy", type=click.Path(dir_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Save (and resume) the assessment in this YAML file.")
@click.option("--full", is_flag=True, help="Ask every question, not only those of the express diagnostic.")
@_as_of_opt
@_lang
@guarded
def diagnose_cmd(policy: str, output: str | None, full: bool, as_of: str | None, lang: str) -> None:
    """Answer the policy's questions on the terminal and get a pre-diagnosis."""
    from .diagnose import run_questionnaire

    checked, _ = _policy(policy)
    run_questionnaire(checked, Path(output) if output else None, lang, full, _as_of(as_of))


@main.command("serve")
@click.argument("policy", type=click.Path(dir_okay=False, exists=True))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@_audit_opt
@guarded
def serve_cmd(policy: str, host: str, port: int, audit_log: str | None) -> None:
    """Serve the questionnaire (web) and the decision API (JSON, OpenAPI at /docs)."""
    from .service import serve

    _policy(policy)
    serve(policy, host, port, audit_log)


@main.command("lsp", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def lsp_cmd(ctx: click.Context) -> None:
    """Run the language server over stdio (diagnostics, hover, go-to-definition, completion)."""
    from ..lsp.server import main as serve_lsp

    serve_lsp(ctx.args)


@main.command("schema")
@click.argument("policy", type=click.Path(dir_okay=False))
@guarded
def schema_cmd(policy: str) -> None:
    """Print the JSON Schema of an assessment for POLICY (built from its input declarations)."""
    checked, _ = _policy(policy)
    click.echo(json.dumps(json_schema(checked), indent=2, ensure_ascii=False, sort_keys=True, default=str))


from .report_cli import report_cmd  # noqa: E402 — the report command lives with the report package

main.add_command(report_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
