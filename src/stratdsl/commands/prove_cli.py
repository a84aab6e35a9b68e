"""`stratdsl prove POLICY [--entities N] [--budget SECONDS] [--as-of DATE] [--param NAME=VALUE]… [--format text|json] [--write DIR] [--lang fr|en]`

Checks every `assert` of the policy with the solver (backends/prove.py): proven,
counterexample (a ready-to-run assessment YAML and a policy test stub, each
re-evaluated by the ordinary evaluator first) or unknown, with the time each
took. Registered on the main group with `main.add_command(prove_cmd)`. Exit
codes: 0 no counterexample (unknowns are reported, not failures); 1 a
counterexample, or a bad policy; 2 a usage error.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from ..backends.remembered import detail_msg
from ..language.diagnostics import StratError
from ..language.messages import translate
from ..render.catalogue import gettext_for
from .cliguard import EXIT_BAD_INPUT, SOURCES, as_of_date, guarded, resolve_lang


def _detail(detail: str | None, _) -> str:
    """The reason an assertion is unknown, translated when it is one of the prover's own."""
    return "" if detail is None else str(translate(detail_msg(detail), _))


@click.command("prove")
@click.argument("policy", type=click.Path(dir_okay=False))
@click.option("--entities", type=click.IntRange(0, 6), default=2, show_default=True, help="Prove for assessments of 0 up to N entities of each list input.")
@click.option("--budget", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True, help="Seconds the solver may spend per assertion.")
@click.option("--only", "only", multiple=True, metavar="NAME", help="Prove only this assertion (repeatable).")
@click.option("--write", "write_dir", type=click.Path(file_okay=False), help="Write each counterexample as NAME.yaml and NAME.test.yaml in this folder.")
@click.option("--as-of", "as_of", metavar="DATE", help="Prove the policy as in force on this date (default: today).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Fix a parameter to this value (repeatable; others take their defaults).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--lang", type=click.Choice(["fr", "en"]), default=None, help="Language of the words printed and of the labels (default: the policy's first language, else LANG)."
)
@guarded
def prove_cmd(policy, entities, budget, only, write_dir, as_of, params, fmt, lang) -> None:
    """Prove the policy's assertions for all inputs, or give a counterexample."""
    from .. import engine  # the engine and z3 load only when this command runs (tests/test_cache.py)
    from ..backends import prove as prove_mod
    from ..backends import remembered
    from ..render import json_out

    checked, diagnostics = engine.compile_policy(policy)
    if checked is None:
        raise StratError(diagnostics)
    SOURCES.append(checked.source_map)
    _ = gettext_for(resolve_lang(lang, checked))
    when = as_of_date(as_of)  # E342, exit 1, like every other command's --as-of
    overrides = engine.parse_params(checked, params)
    proofs = prove_mod.prove(checked, when, overrides, entities, int(budget * 1000), tuple(only))
    remembered.remember_proofs(checked, when, overrides, proofs)  # what `check` reads
    if write_dir:
        folder = Path(write_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for p in proofs:
            if p.counterexample is not None:
                (folder / f"{p.assertion}.yaml").write_text(prove_mod.assessment_yaml(p.counterexample), encoding="utf-8")
                rel = Path(policy).resolve()
                (folder / f"{p.assertion}.test.yaml").write_text(prove_mod.test_stub(str(rel), p, when), encoding="utf-8")
            if p.raised is not None:  # a monotone assertion: the second assessment, raised
                (folder / f"{p.assertion}.raised.yaml").write_text(prove_mod.assessment_yaml(p.raised), encoding="utf-8")
                raised = dataclasses.replace(p, counterexample=p.raised)
                (folder / f"{p.assertion}.raised.test.yaml").write_text(prove_mod.test_stub(str(Path(policy).resolve()), raised, when), encoding="utf-8")
    if fmt == "json":
        data = [
            {
                "assertion": p.assertion,
                "status": p.status,
                "seconds": round(p.seconds, 3),
                "entities": p.entities,
                "detail": p.detail,
                "entity": p.entity,
                "counterexample": p.counterexample,
                "raised_counterexample": p.raised,
                "raised": prove_mod.raised_facts(p.counterexample, p.raised) if p.raised is not None and p.counterexample is not None else None,
                "lowered": list(p.lowered) if p.lowered else None,
            }
            for p in proofs
        ]
        click.echo(json_out.dumps(data), nl=False)
    else:
        if not proofs:
            click.echo(_("{policy}: no assertions").format(policy=policy))
        for p in proofs:
            where = checked.assertions[p.assertion].span.short()
            took = f"{p.seconds:.2f}"
            if p.status == prove_mod.PROVEN:
                click.echo(_("{assertion} ({where}): proven for 0 to {n} entities per list  [{seconds} s]").format(
                    assertion=p.assertion, where=where, n=p.entities, seconds=took))
            elif p.status == prove_mod.COUNTEREXAMPLE:
                if p.entity:
                    click.echo(_("{assertion} ({where}): COUNTEREXAMPLE for {entity}  [{seconds} s]").format(
                        assertion=p.assertion, where=where, entity=p.entity, seconds=took))
                else:
                    click.echo(_("{assertion} ({where}): COUNTEREXAMPLE  [{seconds} s]").format(assertion=p.assertion, where=where, seconds=took))
                if p.raised is not None and p.counterexample is not None and p.lowered is not None:
                    target = checked.assertions[p.assertion].monotone.target
                    click.echo(_("  {target} goes down from {before} (A) to {after} (B), B raising:").format(
                        target=target, before=p.lowered[0], after=p.lowered[1]))
                    for line in prove_mod.raised_facts(p.counterexample, p.raised):
                        click.echo("    " + line)
                    click.echo("  A:")
                    for line in prove_mod.assessment_yaml(p.counterexample).splitlines():
                        click.echo("    " + line)
                    click.echo("  B:")
                    for line in prove_mod.assessment_yaml(p.raised).splitlines():
                        click.echo("    " + line)
                    continue
                for line in prove_mod.assessment_yaml(p.counterexample or {}).splitlines():
                    click.echo("    " + line)
            else:
                click.echo(_("{assertion} ({where}): unknown — {detail}  [{seconds} s]").format(
                    assertion=p.assertion, where=where, detail=_detail(p.detail, _), seconds=took))
    if any(p.status == prove_mod.COUNTEREXAMPLE for p in proofs):
        sys.exit(EXIT_BAD_INPUT)
