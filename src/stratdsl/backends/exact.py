"""Exact static checks: unreachable rules, dead exceptions and gaps, decided by the solver.

Input: a checked policy, the as-of date, a time budget per question, and the
approximate analysis's own findings (language/analysis.py: W101). Output:
diagnostics, each backed by the solver — a rule that fires for no assessment
(W131), an exception that never applies where its rule would fire (W132), an
assessment with every fact known to which no rule applies (W133, with the
witness), and a W101 of the approximation that the solver refutes (W134, with
a witness assessment for which the rule fires). A question not answered within
the budget gives nothing: the approximation stands. One entity per list input.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import z3

from ..language import ir
from ..language.diagnostics import Diagnostic, Severity
from ..language.messages import N_, Msg
from ..runtime.assessment import validate
from ..runtime.evaluator import evaluate
from . import budget, smt
from . import prove as prove_mod


def _witness_line(data: dict[str, Any]) -> str:
    return " ".join(line.strip() for line in prove_mod.assessment_yaml(data).splitlines())


def _counts_entities(policy: ir.CheckedPolicy, decision: ir.Decision) -> bool:
    """Whether the decision reads an aggregate or a rank (then one entity per list is a bound, not all)."""
    seen: set[str] = set()
    stack: list[ir.Expr] = [e for r in decision.rules for e in (r.cond, *(x.cond for x in r.exceptions)) if e is not None]
    while stack:
        for node in ir.walk(stack.pop()):
            if isinstance(node, (ir.Aggregate, ir.Rank)):
                return True
            if isinstance(node, ir.DefRef) and node.name not in seen:
                seen.add(node.name)
                stack.append(policy.definitions[node.name].expr)
            if isinstance(node, ir.DecisionRef) and "d:" + node.name not in seen:
                seen.add("d:" + node.name)
                d = policy.decisions[node.name]
                stack.extend(e for r in d.rules for e in (r.cond, *(x.cond for x in r.exceptions)) if e is not None)
    return False


def exact_checks(policy: ir.CheckedPolicy, as_of: date, budget_ms: int, approximate: list[Diagnostic]) -> list[Diagnostic]:
    with smt.question():
        return _exact_checks(policy, as_of, budget_ms, approximate)


def _exact_checks(policy: ir.CheckedPolicy, as_of: date, budget_ms: int, approximate: list[Diagnostic]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    try:
        t = smt.Translation(policy, smt.Shape.uniform(policy, 1), as_of)
    except smt.Untranslatable:
        return out
    flagged = {(d.span.file, d.span.line) for d in approximate if d.code == "W101" and d.span is not None}
    base = [*t.domain, *t.safety]
    all_known = [f.known for f in t.facts.values()]

    def ask(*goal: Any) -> tuple[Any, Any]:
        # a budget of work, not of the clock (backends/budget.py): the same warnings on every machine
        with budget.counted(budget_ms):
            s = smt.solver(budget_ms)
            s.add(*base, *goal)
            answer = smt.check(s, budget_ms)
            return answer, (s.model() if answer == z3.sat else None)

    when = Msg(N_("on {date}"), date=as_of.isoformat())
    for decision in policy.decisions.values():
        scope = when
        if _counts_entities(policy, decision):
            scope = Msg(N_("on {date}, with one entity per list input (more may reach it)"), date=as_of.isoformat())
        loose_up_to: list[bool] | None = None  # (per decision: `smt.loose` reads every entity's term)
        for entity in t.scope_entities(decision.entity_input):
            try:
                term = t.decision(decision.name, entity)
                if loose_up_to is None:
                    # per rule: whether it and the rules above read a `known()` translated
                    # inexactly (`smt.loose`: then proofs are over "may fire")
                    loose_up_to = [smt.loose(t, decision.name, n + 1) for n in range(len(decision.rules))]
            except smt.Untranslatable:
                continue
            for index, rule in enumerate(decision.rules):
                if rule.valid_from is not None or rule.valid_until is not None:
                    continue  # a rule not in force on this date is meant to be so: not dead text
                loose = loose_up_to[index]
                answer, model = ask((term.may_fire if loose else term.fired)[rule.id])  # (a proof: see smt.loose)
                if answer == z3.unsat:
                    out.append(Diagnostic("W131", Msg(N_("rule '{rule}' fires for no assessment {scope} (proven by the solver)"), rule=rule.id, scope=scope),
                                          rule.span, hint=Msg(N_("remove it, or change the rules above it or its condition")), severity=Severity.WARNING))
                elif answer == z3.sat and (rule.span.file, rule.span.line) in flagged:
                    if loose:
                        answer, model = ask(term.fired[rule.id])  # (a witness: a rule that certainly fires)
                    data = prove_mod._data(t, model) if answer == z3.sat else None
                    if data is not None and _fires(policy, data, decision.name, entity, rule.id, as_of):
                        message = Msg(N_("rule '{rule}' does fire, despite W101: for instance {witness}"), rule=rule.id, witness=_witness_line(data))
                        out.append(Diagnostic("W134", message, rule.span,
                                              hint=Msg(N_("the approximate analysis could not see it; the W101 above is a false alarm")), severity=Severity.WARNING))
                for exc in rule.exceptions:
                    answer, _ = ask((term.may_except if loose else term.excepts)[exc.id])
                    if answer == z3.unsat:
                        message = Msg(N_("exception '{exception}' never applies where rule '{rule}' would fire, {scope} (proven by the solver)"),
                                      exception=exc.id, rule=rule.id, scope=scope)
                        out.append(Diagnostic("W132", message, exc.span,
                                              hint=Msg(N_("remove the exception, or correct its condition")), severity=Severity.WARNING))
            if not any(r.is_otherwise for r in decision.rules):
                answer, model = ask(term.no_match, *all_known)
                if answer == z3.sat:
                    data = prove_mod._data(t, model)
                    if _no_match(policy, data, decision.name, entity, as_of):
                        message = Msg(N_("no rule of '{decision}' applies to: {witness}"), decision=decision.name, witness=_witness_line(data))
                        out.append(Diagnostic("W133", message, decision.span, hint=Msg(N_("add a rule or `otherwise` for it")), severity=Severity.WARNING))
    return out


def _result(policy, data, name, entity, as_of):
    try:
        result = evaluate(policy, validate(policy, data, "witness.yaml"), as_of)
    except Exception:
        return None
    return next((d for d in result.decisions if d.decision == name and d.entity == entity), None)


def _fires(policy, data, name, entity, rule_id, as_of) -> bool:
    d = _result(policy, data, name, entity, as_of)
    return d is not None and d.rule == rule_id


def _no_match(policy, data, name, entity, as_of) -> bool:
    d = _result(policy, data, name, entity, as_of)
    return d is not None and d.status == "no_match"
