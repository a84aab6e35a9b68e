"""Overlaps of `unique` decisions, decided by the solver.

A decision declared `unique` (a hit policy, as in DMN) promises that at most one
of its rules applies to any assessment, so that the order of its rules never
decides. Input: a checked policy, the as-of date, a time budget per pair of
rules. Output: for every pair of rules of a unique decision that both apply to
some assessment (with one entity per list input), E073 with a witness — an
assessment validated and re-evaluated by the ordinary evaluator (both
conditions true, no exception applying, both rules in force) before it is
reported; W135 for a pair not decided within the budget. `otherwise` is the
fallback, not a rule that applies: it is not compared.

"A rule applies" here ignores the order: its condition is true, it is in force
on the as-of date, and none of its exceptions is true, all known (Kleene: an
unknown condition does not apply).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import z3

from ..language import ir
from ..language.diagnostics import Diagnostic, Severity, StratError
from ..language.messages import N_, Msg
from ..runtime.assessment import validate
from ..runtime.evaluator import Evaluator
from . import budget, smt
from . import prove as prove_mod


def _applies(t: smt.Translation, rule: ir.Rule, scope: tuple[str, str] | None) -> Any:
    k_if, v_if = t._in_force(rule.valid_from, rule.valid_until)
    c = t.expr(rule.cond, scope, smt.TRUE)
    parts = [k_if, v_if, c.known, c.value]
    for exc in rule.exceptions:
        x = t.expr(exc.cond, scope, smt.TRUE)
        parts.extend([x.known, z3.Not(x.value)])
    return z3.And(*parts)


def _confirmed(policy: ir.CheckedPolicy, data: dict[str, Any], decision: ir.Decision, rules: tuple[ir.Rule, ir.Rule], entity_id: str | None, as_of: date) -> bool:
    try:
        assessment = validate(policy, data, "witness.yaml")
    except StratError:
        return False
    evaluator = Evaluator(policy, assessment, as_of)
    entity = None
    if decision.entity_input is not None:
        entity = next((e for e in assessment.entities.get(decision.entity_input, []) if e.id == entity_id), None)
        if entity is None:
            return False
    try:
        for rule in rules:
            if evaluator.in_force(rule.valid_from, rule.valid_until) is not True:
                return False
            if evaluator.compute(rule.cond, entity) is not True:
                return False
            if any(evaluator.compute(x.cond, entity) is not False for x in rule.exceptions):
                return False
    except StratError:
        return False
    return True


def unique_overlaps(policy: ir.CheckedPolicy, as_of: date, budget_ms: int) -> list[Diagnostic]:
    unique = [d for d in policy.decisions.values() if d.unique]
    if not unique:
        return []
    with smt.question():
        return _overlaps(policy, unique, as_of, budget_ms)


def _overlaps(policy: ir.CheckedPolicy, unique: list[ir.Decision], as_of: date, budget_ms: int) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    try:
        t = smt.Translation(policy, smt.Shape.uniform(policy, 1), as_of)
    except smt.Untranslatable:
        return out
    for decision in unique:
        rules = [r for r in decision.rules if not r.is_otherwise]
        for entity in t.scope_entities(decision.entity_input):
            scope = (decision.entity_input, entity) if decision.entity_input is not None else None
            try:
                applies = {r.id: _applies(t, r, scope) for r in rules}
            except smt.Untranslatable as error:
                message = Msg(N_("unique decision '{decision}': {problem}"), decision=decision.name, problem=error.diagnostics[0].message)
                out.append(Diagnostic("W135", message, decision.span, hint=Msg(N_("the overlaps of its rules are not checked")), severity=Severity.WARNING))
                continue
            for i, first in enumerate(rules):
                for second in rules[i + 1 :]:
                    # a budget of work, not of the clock (backends/budget.py): the same W135 on every machine
                    with budget.counted(budget_ms):
                        s = smt.solver(budget_ms)
                        s.add(*t.domain, *t.safety, applies[first.id], applies[second.id])
                        answer = smt.check(s, budget_ms)
                    if answer == z3.unsat:
                        continue
                    if answer == z3.sat:
                        data = prove_mod._data(t, s.model())
                        if _confirmed(policy, data, decision, (first, second), entity, as_of):
                            witness = " ".join(line.strip() for line in prove_mod.assessment_yaml(data).splitlines())
                            out.append(Diagnostic(
                                "E073",
                                Msg(
                                    N_("rules '{first}' ({first_outcome}) and '{second}' ({second_outcome}) of unique decision '{decision}' both apply to: {witness}"),
                                    first=first.id,
                                    first_outcome=first.outcome,
                                    second=second.id,
                                    second_outcome=second.outcome,
                                    decision=decision.name,
                                    witness=witness,
                                ),
                                second.span,
                                hint=Msg(N_("narrow one condition (or add an `unless`) so that at most one rule applies, or drop `unique` if the order is meant to decide")),
                            ))
                            continue
                    out.append(Diagnostic(
                        "W135",
                        Msg(
                            N_("unique decision '{decision}': whether rules '{first}' and '{second}' can both apply is unknown within the time budget ({seconds} s)"),
                            decision=decision.name,
                            first=first.id,
                            second=second.id,
                            seconds=f"{budget_ms / 1000:g}",
                        ),
                        second.span,
                        hint=Msg(N_("not proven, not refuted: give `check --assertions SECONDS` more time")),
                        severity=Severity.WARNING,
                    ))
    return out
