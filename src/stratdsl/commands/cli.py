"""The `stratdsl` command: check, eval, explain, schema.

Exit codes: 0 success; 1 a bad policy or assessment (the diagnostics say
why); 2 a usage error (click's own). Bad input never shows a Python
traceback; an internal error says so and asks for a bug report
(STRATDSL_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import __version__
from ..language.diagnostics import Diagnostic, Severity, StratError, sorted_diagnostics
from ..language.messages import N_, Msg, translate
from ..language.source import SourceMap
from ..provenance import signing  # key paths and environment names only: cryptography loads on use
from ..render import diagnostics as render_diags
from ..render.catalogue import gettext_for, ngettext_for
from .cliguard import EXIT_BAD_INPUT, SOURCES, as_of_date, current_lang, emit_diagnostics, guarded, resolve_lang
from .helptext import LocalizedGroup

if TYPE_CHECKING:
    from ..provenance import audit
    from ..provenance.semdiff import PolicyDiff

# Each command imports what it uses (the engine, pydantic, the renderers, the
# provenance modules, FastAPI…) inside its body: `stratdsl --version` and
# `stratdsl check` start in a fraction of the time (docs/performance.md, "Cold start").


def _policy(path: str):
    from .. import engine

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
        if file != root and not file.resolve().is_relative_to(root.parent):
            continue  # never show a line of a file outside the policy folder
        try:
            source = read_source(file)
        except StratError:
            continue
        sources.add(source)
        if file != root:
            sources.add(type(source)(display_name(file), source.text, file))
    return sources


def _as_of(value: str | None) -> date:
    return as_of_date(value)


_lang = click.option(
    "--lang", type=click.Choice(["fr", "en"]), default=None, help="Language of the words printed and of the labels (default: the policy's first language, else LANG)."
)
_as_of_opt = click.option("--as-of", "as_of", metavar="DATE", help="Evaluate the policy as in force on this date (default: today).")
_param_opt = click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a parameter for this evaluation (repeatable).")
_format = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)


@click.group(cls=LocalizedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stratdsl")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the on-disk cache of parsed and compiled policies.")
def main(no_cache: bool = False) -> None:
    """stratdsl — evaluate an AI-strategy policy against a company's assessment, with an explanation for every decision."""
    if no_cache:
        from ..language import cache

        cache.enabled = False


def _roots(paths: tuple[str, ...]) -> tuple[list[str], list[Diagnostic]]:
    """Expand folders to their .strat files and keep only the roots: a file imported
    by another one given is checked through it, with the context it has there.
    Links leading out of the folder scanned are refused (E060), unread."""
    from ..language.loader import find_policy_files, load_policy

    files, refused = find_policy_files(paths)
    if len(files) <= 1:
        return [str(f) for f in files], refused  # nothing to compare with: spare a second parse
    imported: set[Path] = set()
    for file in files:
        try:
            program = load_policy(file)
        except StratError:
            continue
        for source in program.source_map.files()[1:]:
            if source.path is not None:
                imported.add(source.path.resolve())
    return [str(f) for f in files if f.resolve() not in imported], refused


@main.command("check")
@click.argument("policies", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True,
              help="sarif: SARIF 2.1.0 for code-scanning tools.")
@click.option("--assertions", "assert_budget", type=click.FloatRange(0, 600), default=None, metavar="SECONDS",
              help="Seconds of work the solver may spend on each of the policy's assertions (one use case; counted in solver steps, not on the clock): E071 for a counterexample, W130 when unknown within the budget. Default 4, or the environment variable STRATDSL_ASSERTION_BUDGET; 0 skips them.")
@click.option("--exact", "exact_budget", type=click.FloatRange(0, 600), default=0, metavar="SECONDS",
              help="Also decide unreachable rules, dead exceptions and gaps with the solver (this many seconds of work per question, counted in solver steps, not on the clock): W131–W134. Off by default.")
@_lang
@guarded
def check_cmd(policies: tuple[str, ...], fmt: str, lang: str | None, assert_budget: float | None = None, exact_budget: float = 0) -> None:
    """Check policy files and everything they import; report every error and warning."""
    from .. import engine
    from ..render import sarif

    if assert_budget is None:
        assert_budget = _default_assertion_budget()

    chosen = lang
    everything: list[Diagnostic] = []
    failed = False
    seen: set[tuple] = set()
    roots, refused = _roots(policies)
    if refused:
        everything.extend(refused)
        failed = True
        if fmt == "text":
            emit_diagnostics(refused, None)
    for policy in roots:
        checked, diagnostics = engine.compile_policy(policy)
        fresh = []
        for d in diagnostics:
            key = (d.code, d.message, d.span)
            if key not in seen:
                seen.add(key)
                fresh.append(d)
        if checked is not None and exact_budget > 0:
            from ..backends import exact

            fresh.extend(exact.exact_checks(checked, date.today(), int(exact_budget * 1000), diagnostics))
        if checked is not None and assert_budget > 0 and checked.assertions:
            found = _assertion_diagnostics(checked, assert_budget)
            fresh.extend(found)
            failed = failed or any(d.is_error for d in found)
        if checked is not None and assert_budget > 0 and any(d.unique for d in checked.decisions.values()):
            from ..backends import overlap

            found = overlap.unique_overlaps(checked, date.today(), int(assert_budget * 1000))
            fresh.extend(found)
            failed = failed or any(d.is_error for d in found)
        everything.extend(fresh)
        failed = failed or checked is None
        lang = resolve_lang(chosen, checked)
        if fmt != "text":
            continue
        sources = checked.source_map if checked else _sources_for(policy)
        emit_diagnostics(fresh, sources)
        if checked is not None:
            _, n_ = gettext_for(lang), ngettext_for(lang)
            counts = _("{decisions} decisions, {definitions} definitions, {inputs} inputs").format(
                decisions=len(checked.decisions), definitions=len(checked.definitions), inputs=len(checked.inputs)
            )
            files = n_("{n} file", "{n} files", len(checked.files)).format(n=len(checked.files))
            click.echo(_("{policy}: ok ({counts}; {files})").format(policy=policy, counts=counts, files=files) + (f", {render_diags.summary(fresh, lang)}" if fresh else ""))
    if fmt == "json":
        click.echo(render_diags.render_json(sorted_diagnostics(everything)))
    elif fmt == "sarif":
        click.echo(sarif.render(sorted_diagnostics(everything), Path.cwd()), nl=False)
    elif failed:
        click.echo(f"stratdsl: {render_diags.summary(everything, current_lang())}", err=True)
    if failed:
        sys.exit(EXIT_BAD_INPUT)


#: Seconds of work per assertion that `check` gives the solver unless told otherwise (counted in
#: solver steps, backends/budget.py: the methodology's `maturity_monotone` takes 3 to 4 since the
#: translation follows the evaluator's possible values, the others about 2)
DEFAULT_ASSERTION_BUDGET = 4.0


def _default_assertion_budget() -> float:
    """`check`'s budget per assertion: STRATDSL_ASSERTION_BUDGET (seconds of work; 0 skips them) or 4 s."""
    text = os.environ.get("STRATDSL_ASSERTION_BUDGET", "").strip()
    if not text:
        return DEFAULT_ASSERTION_BUDGET
    try:
        value = float(text)
    except ValueError:
        raise click.UsageError(f"STRATDSL_ASSERTION_BUDGET='{text}' is not a number of seconds") from None
    if not 0 <= value <= 600:
        raise click.UsageError(f"STRATDSL_ASSERTION_BUDGET='{text}' is not between 0 and 600 seconds")
    return value


def _raised(line: str) -> str:
    """One raised fact `path: old → new` said as `path from old to new`."""
    fact, colon, change = line.partition(": ")
    old, arrow, new = change.partition(" → ")
    if not colon or not arrow or " → " in new:
        return line.replace(": ", " from ", 1).replace(" → ", " to ")
    return Msg(N_("{fact} from {old} to {new}"), fact=fact, old=old, new=new)


def _assertion_diagnostics(checked, budget: float) -> list[Diagnostic]:
    """The policy's assertions tried with a small budget: a counterexample is an error, an
    unknown a warning that says so (never reported as proven)."""
    from ..backends import remembered as prove_mod  # (not backends.prove: z3 and pydantic load only to prove)

    out = []
    def prove(*args, **kwargs):  # imported only when an assertion is left to prove
        from ..backends.prove import prove

        return prove(*args, **kwargs)

    for p in prove_mod.prove_remembered(checked, date.today(), 1, int(budget * 1000), prove):  # earlier runs' answers are kept
        span = checked.assertions[p.assertion].span
        if p.status == prove_mod.COUNTEREXAMPLE and p.raised is not None and p.counterexample is not None and p.lowered:
            from ..backends.prove import raised_facts

            lines = raised_facts(p.counterexample, p.raised)
            raised = _raised(lines[0]) if len(lines) == 1 else ", ".join(line.replace(": ", " from ", 1).replace(" → ", " to ") for line in lines)
            said = {"name": p.assertion, "raised": raised, "target": checked.assertions[p.assertion].monotone.target, "old": p.lowered[0], "new": p.lowered[1]}
            if p.entity:
                message = Msg(N_("assertion '{name}' is false for {entity}: raising {raised} lowers {target} from {old} to {new}"), entity=p.entity, **said)
            else:
                message = Msg(N_("assertion '{name}' is false: raising {raised} lowers {target} from {old} to {new}"), **said)
            out.append(Diagnostic("E071", message, span, hint=Msg(N_("`stratdsl prove POLICY --write DIR` writes both assessments and test stubs"))))
        elif p.status == prove_mod.COUNTEREXAMPLE:
            if p.entity:
                message = Msg(N_("assertion '{name}' is false for use case {entity} in a counterexample"), name=p.assertion, entity=p.entity)
            else:
                message = Msg(N_("assertion '{name}' is false in a counterexample"), name=p.assertion)
            out.append(Diagnostic("E071", message, span, hint=Msg(N_("`stratdsl prove POLICY --write DIR` writes it as an assessment and a test stub"))))
        elif p.status == prove_mod.UNKNOWN:
            if getattr(p, "remembered", False):
                message = Msg(N_("assertion '{name}': {detail} ({budget} s, an earlier check of these files)"), name=p.assertion, detail=prove_mod.detail_msg(p.detail or ""), budget=f"{budget:g}")
            else:
                message = Msg(N_("assertion '{name}': {detail} ({budget} s)"), name=p.assertion, detail=prove_mod.detail_msg(p.detail or ""), budget=f"{budget:g}")
            out.append(Diagnostic("W130", message, span,
                                  hint=Msg(N_("not proven, not refuted: `stratdsl prove` with a larger --budget decides it")),
                                  severity=Severity.WARNING))
    return out


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
@_lang
@guarded
def fmt_cmd(paths: tuple[str, ...], check_only: bool, show_diff: bool, lang: str | None) -> None:
    """Rewrite policy files in the one canonical layout (comments kept, meaning unchanged)."""
    _ = gettext_for(resolve_lang(lang))
    import difflib

    from ..language.fmt import format_source
    from ..language.loader import find_policy_files, read_source

    files, problems = find_policy_files(paths)  # fmt must never write through a link out of the folder
    changed = []
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
            click.echo(_("formatted {file}").format(file=file))
    if problems:
        raise StratError(problems)
    if check_only:
        for name in changed:
            click.echo(_("would reformat {file}").format(file=name))
        if changed:
            click.echo("stratdsl: " + _("{n} file(s) would be reformatted").format(n=len(changed)), err=True)
            sys.exit(EXIT_BAD_INPUT)
        click.echo(_("{n} file(s) already formatted").format(n=len(files)))


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--coverage", "show_coverage", is_flag=True, help="Report the rules, exceptions, band levels, obligations and cited clauses no test exercised.")
@click.option("--fail-under", type=float, metavar="PCT", help="Fail when total, rule or cited-clause coverage is below PCT percent.")
@click.option("--coverage-json", type=click.Path(dir_okay=False), metavar="FILE", help="Write the coverage, per file and per item, as JSON.")
@click.option("--coverage-lcov", type=click.Path(dir_okay=False), metavar="FILE", help="Write the coverage as an LCOV tracefile.")
@_lang
@guarded
def test_cmd(
    paths: tuple[str, ...], show_coverage: bool, fail_under: float | None, coverage_json: str | None, coverage_lcov: str | None, lang: str | None
) -> None:
    """Run policy tests (*.test.yaml files; default: every one under the current folder)."""
    from . import policytest

    lang = resolve_lang(lang)
    _ = gettext_for(lang)
    files = policytest.discover(list(paths))
    coverage: dict = {}
    results = []
    for file in files:
        for outcome in policytest.run_file(file, coverage, lang):
            results.append(outcome)
            mark = _("PASSED") if outcome.passed else (_("ERROR") if outcome.error else _("FAILED"))
            click.echo(f"{outcome.file}::{outcome.name} {mark}")
    failures = [r for r in results if not r.passed]
    if failures:
        click.echo("")
        click.echo("=" * 30 + " " + _("failures") + " " + "=" * 30)
    for r in failures:
        click.echo(f"___ {r.file}::{r.name} ___")
        if r.error:
            click.echo("  " + _("error: {message}").format(message=r.error))
        for f in r.failures:
            click.echo(f"  {f}")
        for x in r.explanations:
            click.echo(_indent(x, "    "), nl=False)
    below = False
    if coverage_json:
        from ..render import json_out

        Path(coverage_json).write_text(json_out.dumps(policytest.coverage_json(coverage)), encoding="utf-8")
    if coverage_lcov:
        Path(coverage_lcov).write_text(policytest.coverage_lcov(coverage), encoding="utf-8")
    if show_coverage or fail_under is not None:
        report, _percent = policytest.render_coverage(coverage)
        click.echo("")
        click.echo(report)
        click.echo(policytest.render_file_summary(coverage, lang))
        if fail_under is not None:
            shares = policytest.coverage_by_group(coverage)
            labels = {"total": _("total"), "rules": _("rules"), "cited clauses": _("cited clauses")}
            for group in ("total", "rules", "cited clauses"):
                if shares.get(group, 100.0) < fail_under:
                    below = True
                    message = _("{group} coverage {percent}% is below --fail-under {limit}")
                    click.echo("stratdsl: " + message.format(group=labels[group], percent=f"{shares[group]:.1f}", limit=fail_under), err=True)
    passed = len(results) - len(failures)
    click.echo("")
    click.echo(_("{passed} passed, {failed} failed").format(passed=passed, failed=len(failures)))
    if failures or below or not results:
        sys.exit(EXIT_BAD_INPUT)


_audit_opt = click.option("--audit-log", "audit_log", type=click.Path(dir_okay=False), help="Append the decision records to this hash-chained JSONL audit log.")
_audit_key_opt = click.option(
    "--audit-key", "audit_key", type=click.Path(dir_okay=False), envvar=signing.KEY_ENV, show_envvar=True,
    help="Private key (from 'audit keygen') that signs a checkpoint after the records appended to --audit-log.",
)


def _log(checked, facts, result, tracer, lang: str, audit_log: str | None, audit_key: str | None = None) -> list[dict]:
    """Build the records of an evaluation and append them to the audit log when asked."""
    from ..provenance import audit
    from ..provenance import records as records_mod

    evaluation, records = records_mod.decision_records(checked, facts, result, tracer, lang)
    if audit_log:
        signer = signing.signer(signing.load_private(audit_key)) if audit_key else None
        audit.append(audit_log, [evaluation, *records], signer=signer, checkpoint_at_end=signer is not None)
        _ = gettext_for(lang)
        click.echo("stratdsl: " + _("{n} decision record(s) appended to {log}").format(n=len(records), log=audit_log)
                   + (", signed checkpoint added" if signer else ""), err=True)
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
@_audit_key_opt
@click.option("--dump-compiled", is_flag=True, help="Print the Python source the policy compiles to, and stop.")
@guarded
def eval_cmd(
    policy: str, assessment: str, as_of: str | None, params: tuple[str, ...], fmt: str, lang: str | None, audit_log: str | None, audit_key: str | None, dump_compiled: bool
) -> None:
    """Evaluate every decision of POLICY for the company described in ASSESSMENT."""
    from .. import engine
    from ..render import json_out, text
    from ..runtime.assessment import load_assessment
    from ..runtime.relevance import irrelevant_answers

    checked, _ = _policy(policy)
    lang = resolve_lang(lang, checked)
    if dump_compiled:
        from ..backends.compiler import compiled

        click.echo(compiled(checked).source, nl=False)
        return
    overrides = engine.parse_params(checked, params)
    facts = load_assessment(checked, assessment)
    for warning in irrelevant_answers(checked, facts):  # W110: kept, but said
        click.echo(render_diags.render_diagnostic(warning, None, current_lang()), err=True)
    want_records = fmt == "records" or audit_log is not None
    result, tracer = engine.run(checked, facts, _as_of(as_of), overrides, trace=want_records)
    records = _log(checked, facts, result, tracer, lang, audit_log, audit_key) if want_records else []
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
@click.option("--keep", "keep", multiple=True, metavar="FACT", help="With --why-not: a fact the closest change must not touch (repeatable; fields declared `fixed` are always kept).")
@click.option("--budget", "budget", type=click.FloatRange(0.1, 600), default=5.0, show_default=True, help="With --why-not: the search's budget per decision, in seconds of work (counted in solver steps and evaluations, not on the clock: the same answer on every machine).")
@click.option("--blame", is_flag=True, help="Add, for each rule, the commit, author, date and subject that last changed it.")
@_as_of_opt
@_param_opt
@_format
@_lang
@_audit_opt
@_audit_key_opt
@guarded
def explain_cmd(policy, assessment, decision, entity, why_not, keep, budget, blame, as_of, params, fmt, lang, audit_log, audit_key) -> None:
    """Explain DECISION: the rule that decided, the value of every sub-condition, and why other rules did not apply."""
    from .. import engine
    from ..render import json_out, text
    from ..runtime.assessment import load_assessment

    checked, _ = _policy(policy)
    lang = resolve_lang(lang, checked)
    overrides = engine.parse_params(checked, params)
    facts = load_assessment(checked, assessment)
    explanations = engine.explain(checked, facts, decision, _as_of(as_of), overrides, entity, why_not, tuple(keep), budget_ms=int(budget * 1000))
    if audit_log:
        result, tracer = engine.run(checked, facts, _as_of(as_of), overrides, trace=True)
        _log(checked, facts, result, tracer, lang, audit_log, audit_key)
    data = []
    for x, why in explanations:
        item = json_out.explanation_json(checked, x, lang, why)
        if blame:
            item["blame"] = _blame(checked, decision)
        data.append(item)
    if fmt == "json":
        click.echo(json_out.dumps(data if len(data) != 1 else data[0]), nl=False)
        return
    click.echo("\n".join(text.render_explanation_data(item, lang) for item in data), nl=False)


def _blame(checked, decision: str) -> dict:
    """Who last changed each rule of the decision (its exceptions are part of its lines)."""
    from ..provenance import gitutil

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
    """Verify, sign and read a hash-chained audit log."""


@audit_group.command("verify")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("--key", "key", type=click.Path(dir_okay=False), metavar="PUB", help="Public key (or the private key file): check every checkpoint's signature.")
@click.option("--expect-head", "expect_head", type=click.Path(dir_okay=False), metavar="FILE", multiple=True,
              help="A head kept outside the log ('audit head -o'): the log must still hold it (not cut, not rewritten). Repeatable.")
@click.option("--allow-unsigned", type=click.IntRange(0), default=0, show_default=True, metavar="N",
              help="With --key: how many entries may follow the last checkpoint.")
@_lang
@guarded
def audit_verify(log: str, key: str | None, expect_head: tuple[str, ...], allow_unsigned: int, lang: str | None) -> None:
    """Check the chain, the evaluation units and the checkpoints; name the first bad line."""
    from ..provenance import audit, signing

    said = resolve_lang(lang)
    n_, _ = ngettext_for(said), gettext_for(said)
    public = signing.load_public(key) if key else None
    heads = [signing.load_head(path) for path in expect_head]
    report = audit.verify_anchored(log, public, heads, allow_unsigned)
    count, problem = report.count, report.problem
    if problem is None:
        click.echo(n_("{log}: ok, {n} entry, chain intact", "{log}: ok, {n} entries, chain intact", count).format(log=log, n=count))
        for line in _verify_details(report, public, heads):
            click.echo(f"  {line}")
        return
    where = f"{log}:{problem.line}" if problem.line else "--expect-head"
    colon = " : " if said == "fr" else ": "
    click.echo(f"{where}: {_('error')}[{problem.code}]{colon}{translate(problem.message, _)}")
    if problem.code in ("E415", "E416", "E417"):
        click.echo(f"stratdsl: the hash chain itself holds {count} entr{'y' if count == 1 else 'ies'}; it is not anchored as required", err=True)
    else:
        click.echo("stratdsl: " + n_("the first {n} entry is intact", "the first {n} entries are intact", count).format(n=count), err=True)
    sys.exit(EXIT_BAD_INPUT)


def _verify_details(report: audit.Report, public, heads: list[dict]) -> list[str]:
    out = []
    if report.legacy:
        out.append(f"{report.legacy} entr{'y' if report.legacy == 1 else 'ies'} written by stratdsl 0.1.0 (chain only: no units, no header)")
    for first, repair, ident in report.abandoned:
        out.append(f"evaluation {ident} at line {first} was cut short by a crash; the repair at line {repair} records it (its records are void)")
    if report.checkpoints:
        last = report.checkpoints[-1]
        signed = "signatures valid" if public is not None else "signatures NOT checked (no --key)"
        out.append(f"{len(report.checkpoints)} checkpoint(s), {signed}; the last at line {last['line']} covers {last['size']} entries, {last['time']}")
    elif public is not None:
        out.append("no checkpoint")
    for head in heads:
        out.append(f"holds the external head: entry {head['size']} has its hash ({head['time']})")
    return out


@audit_group.command("keygen")
@click.option("--key", "key", type=click.Path(dir_okay=False), envvar=signing.KEY_ENV, show_envvar=True, metavar="PATH",
              help="Where to write the private key (mode 0600); the public key goes to PATH.pub.")
@guarded
def audit_keygen(key: str | None) -> None:
    """Create an Ed25519 key pair for signing audit checkpoints."""
    if not key:
        raise click.UsageError(f"give --key PATH or set {signing.KEY_ENV}")
    private, public, ident = signing.keygen(key)
    click.echo(f"private key: {private} (mode 0600: keep it from the log's readers and writers)")
    click.echo(f"public key:  {public} (give it to whoever verifies: 'stratdsl audit verify LOG --key {public}')")
    click.echo(f"key id:      {ident}")


@audit_group.command("checkpoint")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("--key", "key", type=click.Path(dir_okay=False), envvar=signing.KEY_ENV, show_envvar=True, required=True, metavar="PRIV",
              help="The private key that signs.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), metavar="FILE", help="Also write the head (the signed statement) to FILE.")
@guarded
def audit_checkpoint(log: str, key: str, output: str | None) -> None:
    """Append a signed checkpoint (size, head hash, time) and print it as a head to keep elsewhere."""
    from ..provenance import audit

    audit.append(log, [], signer=signing.signer(signing.load_private(key)), checkpoint_at_end=True)
    _emit_head(log, output)


@audit_group.command("head")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), metavar="FILE", help="Write the head to FILE instead of stdout.")
@guarded
def audit_head(log: str, output: str | None) -> None:
    """Print the log's last checkpoint as a head to keep outside the log (for verify --expect-head)."""
    _emit_head(log, output)


def _emit_head(log: str, output: str | None) -> None:
    from ..provenance import audit

    entries = audit.read(log)
    last = next((e for e in reversed(entries) if e["entry"].get("kind") == "checkpoint"), None)
    if last is None:
        raise StratError([Diagnostic(
                    "E405",
                    Msg(N_("the audit log '{path}' holds no checkpoint"), path=log),
                    hint=Msg(N_("add one with 'stratdsl audit checkpoint LOG --key PRIV'")),
                )])
    text = signing.dumps_head(last["entry"])
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"head of {log}: {last['entry']['size']} entries, written to {output}", err=True)
    else:
        click.echo(text, nl=False)


@audit_group.command("show")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("--decision", "decision_id", metavar="ID", help="The decision record id (a prefix is enough).")
@click.option("--entry", type=int, metavar="N", help="The entry number (line).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_lang
@guarded
def audit_show(log: str, decision_id: str | None, entry: int | None, fmt: str, lang: str | None) -> None:
    """Print an entry of the audit log with its explanation (the last decision by default)."""
    from ..provenance import audit
    from ..render import json_out, text

    entries = audit.read(log)
    if decision_id:
        item = audit.find_decision(entries, decision_id)
    elif entry is not None:
        item = next((e for e in entries if e.get("seq") == entry), None)
    else:
        item = next((e for e in reversed(entries) if e.get("entry", {}).get("kind") == "decision"), None)
    if item is None:
        raise StratError([Diagnostic("E405", Msg(N_("no such entry in '{path}'"), path=log))])
    if fmt == "json":
        click.echo(json_out.dumps(item), nl=False)
        return
    record = item["entry"]
    lang = resolve_lang(lang or record.get("lang"))
    _ = gettext_for(lang)
    click.echo(_("entry {seq} · hash {hash}… · kind {kind}").format(seq=item["seq"], hash=item["hash"][:16], kind=record.get("kind")))
    if record.get("kind") != "decision":
        click.echo(json_out.dumps({k: v for k, v in record.items() if k != "assessment"}), nl=False)
        return
    prov = record["provenance"]
    git = prov.get("git") or {}
    click.echo(_("decision record {id} · evaluation {evaluation}").format(id=record["id"], evaluation=record["evaluation"]))
    click.echo(
        _("policy {name} {version} · sha256 {sha}…").format(name=prov["policy"], version=prov["version"], sha=prov["policy_sha256"][:16])
        + (" · " + _("commit {commit}").format(commit=git["commit"][:12]) + (_(" (dirty)") if git.get("dirty") else "") if git else " · " + _("not in git"))
    )
    click.echo(_("engine {engine} · as of {date} · assessment sha256 {sha}…").format(engine=prov["engine"], date=record["as_of"], sha=record["assessment_sha256"][:16]))
    if record.get("params"):
        click.echo(_("overridden parameters: ") + ", ".join(f"{k} = {v}" for k, v in record["params"].items()))
    click.echo("")
    click.echo(text.render_explanation_data(record["explanation"], lang), nl=False)


@main.command("replay")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option("--entry", type=int, metavar="N", help="Replay this entry (default: every decision of the last evaluation).")
@click.option("--repo", type=click.Path(file_okay=False), help="The git repository holding the policy (default: the current one).")
@_lang
@guarded
def replay_cmd(log: str, entry: int | None, repo: str | None, lang: str | None) -> None:
    """Re-evaluate logged decisions with the policy as it was at the recorded commit."""
    from ..provenance import replay as replay_mod
    from ..render import text

    lang = resolve_lang(lang)
    _ = gettext_for(lang)
    results = replay_mod.replay(log, entry, Path(repo) if repo else None)
    differ = 0
    skipped = 0
    for r in results:
        who = f"{r.decision}[{r.entity}]" if r.entity is not None else r.decision
        if r.identical:
            click.echo(_("entry {entry} {who}: identical (commit {commit})").format(entry=r.entry, who=who, commit=r.commit[:12]))
        elif not r.replayable and not r.differences:
            skipped += 1
            click.echo(f"entry {r.entry} {who}: NOT REPLAYED (commit {r.commit[:12]})")
        else:
            differ += 1
            click.echo(_("entry {entry} {who}: DIFFERS (commit {commit})").format(entry=r.entry, who=who, commit=r.commit[:12]))
            for name, before, after in r.differences:
                click.echo("  " + _("{name}: recorded {before} → replayed {after}").format(name=name, before=repr(before), after=repr(after)))
            click.echo("  " + _("recorded explanation:"))
            click.echo(_indent(text.render_explanation_data(r.recorded["explanation"], lang), "    "), nl=False)
            if r.replayed is not None:
                click.echo("  " + _("replayed explanation:"))
                click.echo(_indent(text.render_explanation_data(r.replayed["explanation"], lang), "    "), nl=False)
        for what in r.unverified:
            click.echo(f"  could not verify {what}")
        for note in r.notes:
            click.echo("  " + _("note: {note}").format(note=note))
    common = [name for name in results[0].verified if all(name in r.verified for r in results)] if results else []
    if common:
        click.echo(f"checked for every entry: {', '.join(common)}")
    click.echo(_("{same} identical, {differ} different").format(same=len(results) - differ - skipped, differ=differ)
               + (f", {skipped} not replayed" if skipped else ""))
    if differ or skipped:
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
@click.option("--symbolic", is_flag=True, help="Compare over all inputs with the solver: per changed decision, a witness company per (old → new) pair and the region's bounds.")
@click.option("--entities", type=click.IntRange(1, 4), default=1, show_default=True, help="With --symbolic: entities per list input.")
@click.option("--budget", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True, help="With --symbolic: seconds of work per decision (counted in solver steps, not on the clock).")
@click.option("--decision", "only", multiple=True, metavar="NAME", help="With --symbolic: compare only this decision (repeatable).")
@guarded
def diff_cmd(policy, assessments, from_rev, to_rev, as_of, fmt, lang, symbolic=False, entities=1, budget=10.0, only=()) -> None:
    """What changed in the methodology between two revisions, and which decisions change for each ASSESSMENT (files or folders)."""
    from ..provenance import history, semdiff
    from ..render import json_out

    paths = semdiff.expand_assessments(list(assessments))
    when = _as_of(as_of)
    if symbolic:
        _symbolic_diff(policy, from_rev, to_rev, when, fmt, entities, budget, tuple(only))
        return
    with history.policy_at(policy, from_rev) as old:
        lang = resolve_lang(lang, old)
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
        click.echo(semdiff.render_text(diff, lang, _terminal_width()), nl=False)


def _terminal_width() -> int | None:
    """The columns of the terminal (COLUMNS when set); None, no limit, when the output is a file or a pipe."""
    import shutil

    if not sys.stdout.isatty():
        return None
    return max(40, shutil.get_terminal_size().columns)


def _symbolic_diff(policy, from_rev, to_rev, when, fmt, entities, budget, only) -> None:
    from ..backends import symdiff
    from ..provenance import history
    from ..render import json_out

    with history.policy_at(policy, from_rev) as old:
        if to_rev:
            with history.policy_at(policy, to_rev) as new:
                diffs = symdiff.symbolic_diff(old, new, when, entities, int(budget * 1000), only)
        else:
            new, _ = _policy(policy)
            diffs = symdiff.symbolic_diff(old, new, when, entities, int(budget * 1000), only)
    if fmt == "json":
        click.echo(json_out.dumps(symdiff.to_json(diffs)), nl=False)
    else:
        click.echo(symdiff.render_text(diffs), nl=False)


def _diff(old, new, paths, when, lang) -> PolicyDiff:
    from ..provenance import semdiff

    changes = semdiff.compare_policies(old, new)
    decisions = semdiff.compare_outcomes(old, new, paths, when, lang)
    return semdiff.PolicyDiff(changes, decisions, [str(p) for p in paths])


@main.command("batch")
@click.argument("policy", type=click.Path(dir_okay=False, exists=True))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="The JSONL file to write (appended to; a rerun resumes).")
@click.option("--jobs", type=click.IntRange(1, 256), default=1, show_default=True, help="Worker processes.")
@click.option("--engine", "engine_name", type=click.Choice(["local", "dask", "duckdb"]), default="local", show_default=True)
@click.option("--scheduler", metavar="ADDRESS", help="The Dask scheduler, with --engine dask.")
@click.option("--csv-input", metavar="INPUT", help="Which repeated input a CSV row fills (default: the one with most fields).")
@_as_of_opt
@_param_opt
@_lang
@guarded
def batch_cmd(policy, inputs, output, jobs, engine_name, scheduler, csv_input, as_of, params, lang) -> None:
    """Evaluate many assessments (folders of YAML/JSON, JSONL, or CSV with one use case per row) into OUT.jsonl."""
    from .. import engine
    from . import batch

    if engine_name == "dask":
        from .starter import require_extra

        require_extra("dask", "batch --engine dask")
    checked, _ = _policy(policy)
    engine.parse_params(checked, params)  # reject a bad --param before any work starts
    engine_params = dict(item.split("=", 1) for item in params)
    lang = resolve_lang(lang, checked)
    _ = gettext_for(lang)
    sources, root = batch.policy_sources(checked)
    from .progress import batch_progress

    with batch_progress(lambda: batch.count_inputs(list(inputs), batch.rows_input_for(checked, csv_input)), lang) as progress:
        summary = batch.run_batch(
            sources, root, list(inputs), Path(output), _as_of(as_of), engine_params, jobs, engine_name, scheduler, progress, csv_input
        )
    for key, reason in summary.invalid_keys:
        click.echo(_("invalid: {key}: {reason}").format(key=key, reason=reason), err=True)
    click.echo(_("{processed} processed ({invalid} invalid), {skipped} already in {output}").format(
        processed=summary.processed, invalid=summary.invalid, skipped=summary.skipped, output=output))
    for decision, counts in sorted(summary.outcomes.items()):
        parts = ", ".join(f"{outcome} {n}" for outcome, n in sorted(counts.items()))
        click.echo(f"  {decision}: {parts}")
    if summary.invalid:
        sys.exit(EXIT_BAD_INPUT)  # every valid input was still evaluated and written


@main.command("sql")
@click.argument("policy", type=click.Path(dir_okay=False, exists=True))
@click.option("--dialect", type=click.Choice(["duckdb", "postgres", "spark", "bigquery", "snowflake"]), default="duckdb", show_default=True)
@_as_of_opt
@_param_opt
@guarded
def sql_cmd(policy, dialect, as_of, params) -> None:
    """Print the policy as one SQL query for a warehouse (input tables to bind are listed in its header)."""
    from .. import engine
    from .sql_cmd import render

    checked, _ = _policy(policy)
    click.echo(render(checked, dialect, _as_of(as_of), engine.parse_params(checked, params)), nl=False)


@main.command("diagnose")
@click.argument("policy", type=click.Path(dir_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Save (and resume) the assessment in this YAML file.")
@click.option("--full", is_flag=True, help="Ask every question, not only those of the express diagnostic.")
@_as_of_opt
@_lang
@guarded
def diagnose_cmd(policy: str, output: str | None, full: bool, as_of: str | None, lang: str | None) -> None:
    """Answer the policy's questions on the terminal and get a pre-diagnosis."""
    from .diagnose import run_questionnaire

    checked, _ = _policy(policy)
    lang = resolve_lang(lang, checked)
    run_questionnaire(checked, Path(output) if output else None, lang, full, _as_of(as_of))


@main.command("serve")
@click.argument("policy", type=click.Path(dir_okay=False, exists=True))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (the default: this machine only).")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes (uvicorn workers; one per core).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="A host name the service is reached by (repeatable; localhost names always; '*' any — only behind a proxy that checks it).")
@click.option("--api-keys-file", type=click.Path(dir_okay=False, exists=True),
              help="Require one of these API keys (one per line) on /api/; or set STRATDSL_API_KEYS (comma-separated).")
@click.option("--auth-header", metavar="HEADER", help="Require this header, set by an authenticating reverse proxy, on every request.")
@click.option("--max-evaluations", type=click.IntRange(1, 1000), default=2, show_default=True,
              help="Evaluations running at once in each worker process; more wait (--queue-wait), then get 503 with Retry-After.")
@click.option("--queue-wait", type=click.FloatRange(0, 30), default=0.5, show_default=True, metavar="SECONDS",
              help="How long a request waits for an evaluation slot before 503 (0: refuse at once).")
@click.option("--template-dir", metavar="DIR", help="Templates that replace the built-in pages (page.html, questionnaire.html, result.html, message.html, macros.html).")
@click.option("--logo", metavar="FILE", help="An image (PNG, JPEG, GIF, WebP or SVG, at most 256 kB) shown at the top of every page.")
@click.option("--accent", metavar="#RRGGBB", help="The colour of the headings and buttons.")
@click.option("--company-name", metavar="TEXT", help="A name shown at the top of every page.")
@_audit_opt
@_lang
@guarded
def serve_cmd(policy: str, host: str, port: int, workers: int, allowed_hosts: tuple[str, ...], api_keys_file: str | None,
              auth_header: str | None, max_evaluations: int, queue_wait: float, template_dir: str | None, logo: str | None, accent: str | None,
              company_name: str | None, audit_log: str | None, lang: str | None) -> None:
    """Serve the questionnaire (web) and the decision API (JSON, OpenAPI at /docs)."""
    import os

    from .starter import require_extra

    require_extra("serve", "serve")
    from .pages import ThemeOptions, check_pages, load_theme
    from .service import LOOPBACK_HOSTS, Security, host_of, sample_contexts, serve

    if workers > 1 and audit_log:
        raise click.UsageError("--audit-log needs --workers 1: one process appends to the hash chain")
    checked, _ = _policy(policy)
    theme_options = ThemeOptions(template_dir, logo, accent, company_name)
    # every template compiled and every page rendered once, before listening (E620–E625)
    check_pages(load_theme(theme_options), sample_contexts(checked))
    keys = [k.strip() for k in os.environ.get("STRATDSL_API_KEYS", "").split(",") if k.strip()]
    if api_keys_file:
        keys += [line.strip() for line in Path(api_keys_file).read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    bound = () if host in ("0.0.0.0", "::", "") else (host_of(host),)
    hosts = tuple(dict.fromkeys([*LOOPBACK_HOSTS, *bound, *(h if h == "*" else host_of(h) for h in allowed_hosts)]))
    secret = os.environ.get("STRATDSL_SECRET", "").encode()
    security = Security(hosts, tuple(keys), auth_header, max_evaluations, queue_wait=queue_wait, **({"secret": secret} if len(secret) >= 16 else {}))
    serve(policy, host, port, audit_log, security, workers, theme_options, resolve_lang(lang, checked))


@main.command("lsp", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--stdio", is_flag=True, help="Serve over stdin/stdout (the default; accepted for LSP clients that pass it).")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write the server's log to this file (default: stderr).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False), default="WARNING", show_default=True)
@guarded
def lsp_cmd(stdio: bool, log_file: str | None, log_level: str) -> None:
    """Run the language server over stdio (diagnostics, hover, go-to-definition, completion, formatting, rename)."""
    from .starter import require_extra

    require_extra("lsp", "lsp")
    from ..lsp.server import main as serve_lsp

    serve_lsp([*(["--log-file", log_file] if log_file else []), "--log-level", log_level])


@main.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@_lang
@guarded
def init_cmd(directory: str, lang: str | None) -> None:
    """Start a methodology folder: the reference policies, their tests and example assessments, ready for `git init`."""
    from .starter import init_folder

    _ = gettext_for(resolve_lang(lang))
    written = init_folder(Path(directory))
    click.echo(_("{n} files written to {folder}/").format(n=len(written), folder=directory))
    click.echo(_("next:"))
    click.echo(f"  cd {directory} && git init")
    click.echo("  stratdsl eval policies/strategy.strat examples/cabinet-comptable.yaml")
    click.echo("  stratdsl test policies/tests")


@main.command("schema")
@click.argument("policy", type=click.Path(dir_okay=False))
@guarded
def schema_cmd(policy: str) -> None:
    """Print the JSON Schema of an assessment for POLICY (built from its input declarations)."""
    from ..runtime.assessment import json_schema

    checked, _ = _policy(policy)
    click.echo(json.dumps(json_schema(checked), indent=2, ensure_ascii=False, sort_keys=True, default=str))


from .report_cli import report_cmd  # noqa: E402 — the report command lives with the report package

main.add_command(report_cmd)

from .prove_cli import prove_cmd  # noqa: E402 — the solver-backed proof command

main.add_command(prove_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
