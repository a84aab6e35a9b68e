"""`stratdsl prove POLICY [--entities N] [--budget SECONDS] [--as-of DATE] [--param NAME=VALUE]… [--format text|json] [--write DIR]`

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

from ..language.diagnostics import StratError
from .cliguard import EXIT_BAD_INPUT, SOURCES, as_of_date, guarded


@click.command("prove")
@click.argument("policy", type=click.Path(dir_okay=False))
@click.option("--entities", type=click.IntRange(0, 6), default=2, show_default=True, help="Prove for assessments of 0 up to N entities of each list input.")
@click.option("--budget", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True, help="Seconds the solver may spend per assertion.")
@click.option("--only", "only", multiple=True, metavar="NAME", help="Prove only this assertion (repeatable).")
@click.option("--write", "write_dir", type=click.Path(file_okay=False), help="Write each counterexample as NAME.yaml and NAME.test.yaml in this folder.")
@click.option("--as-of", "as_of", metavar="DATE", help="Prove the policy as in force on this date (default: today).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Fix a parameter to this value (repeatable; others take their defaults).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@guarded
def prove_cmd(policy, entities, budget, only, write_dir, as_of, params, fmt) -> None:
    """Prove the policy's assertions for all inputs, or give a counterexample."""
    from .. import engine  # the engine and z3 load only when this command runs (tests/test_cache.py)
    from ..backends import prove as prove_mod
    from ..render import json_out

    checked, diagnostics = engine.compile_policy(policy)
    if checked is None:
        raise StratError(diagnostics)
    SOURCES.append(checked.source_map)
    when = as_of_date(as_of)  # E342, exit 1, like every other command's --as-of
    overrides = engine.parse_params(checked, params)
    proofs = prove_mod.prove(checked, when, overrides, entities, int(budget * 1000), tuple(only))
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
            click.echo(f"{policy}: no assertions")
        for p in proofs:
            where = checked.assertions[p.assertion].span.short()
            if p.status == prove_mod.PROVEN:
                click.echo(f"{p.assertion} ({where}): proven for 0 to {p.entities} entities per list  [{p.seconds:.2f} s]")
            elif p.status == prove_mod.COUNTEREXAMPLE:
                whom = f" for {p.entity}" if p.entity else ""
                click.echo(f"{p.assertion} ({where}): COUNTEREXAMPLE{whom}  [{p.seconds:.2f} s]")
                if p.raised is not None and p.counterexample is not None and p.lowered is not None:
                    target = checked.assertions[p.assertion].monotone.target
                    click.echo(f"  {target} goes down from {p.lowered[0]} (A) to {p.lowered[1]} (B), B raising:")
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
                click.echo(f"{p.assertion} ({where}): unknown — {p.detail}  [{p.seconds:.2f} s]")
    if any(p.status == prove_mod.COUNTEREXAMPLE for p in proofs):
        sys.exit(EXIT_BAD_INPUT)
