"""Counterfactuals: the closest assessment that gives another outcome, found by the solver.

Input: a checked policy, an assessment, a decision (and entity), the wanted
outcome, the facts to hold (`--keep`, and every field the policy declares
`fixed`), a time budget. Output: up to three minimal changes — fewest changed
facts first, then the smallest distance, each numeric change measured against
its declared range — each one *verified*: the changed assessment is validated
and evaluated by the ordinary evaluator, and a change the evaluator does not
confirm is dropped, never shown. For an undetermined decision, `settlers` says
which single missing answer settles it, and to what.

The search runs on `smt.Translation` over the assessment's own shape (the
same entities), with non-integer numbers on a grid of hundredths so that
every value shown is one a person can type.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import z3

from ..language import ir
from ..language.diagnostics import StratError
from ..language.types import DateT, ListT, NumberT
from ..runtime.assessment import Assessment, validate
from ..runtime.evaluator import evaluate
from ..runtime.values import Unknown
from ..runtime.whynot import Counterfactual, FactChange, Settler
from . import smt

GRID = 100
MAX_ALTERNATIVES = 3
CANDIDATES = 8  # minimal sets compared before the best three are chosen


def held_facts(policy: ir.CheckedPolicy, t: smt.Translation, keep: tuple[str, ...]) -> set[str]:
    """The fact paths held unchanged: fields declared `fixed`, and what `--keep` names — a
    full path (`usecases[ocr].hours_per_week`), a field name (every entity's), or
    `input.field`."""
    held = set()
    for path, fact in t.facts.items():
        field = policy.inputs[fact.input_name].fields[fact.field_name]
        short = f"{fact.input_name}.{fact.field_name}"
        if field.fixed or path in keep or fact.field_name in keep or short in keep:
            held.add(path)
    return held


def _distance(fact: smt.Fact, current: Any) -> Any:
    """|new − old| over the declared range (or over max(|old|, 1)), for numbers; 0 otherwise."""
    if not isinstance(fact.type, NumberT) or isinstance(current, Unknown):
        return z3.RealVal(0)
    low, high = fact.type.low, fact.type.high
    span = (high - low) if low is not None and high is not None and high > low else max(abs(current), Decimal(1))
    diff = fact.value - z3.RealVal(str(current))
    return z3.If(diff >= 0, diff, -diff) / z3.RealVal(str(span))


def _plain(value: Any, fact: smt.Fact) -> Any:
    """A value as an assessment file would hold it."""
    if isinstance(fact.type, NumberT):
        return int(value) if fact.type.integer or value == value.to_integral_value() else value
    if isinstance(fact.type, DateT):
        return value.isoformat()
    if isinstance(fact.type, ListT):
        return sorted(value)
    return value


def apply_changes(policy: ir.CheckedPolicy, assessment: Assessment, changes: dict[str, tuple[smt.Fact, Any]]) -> Assessment:
    """The assessment with some facts changed, validated again (as if the file said so)."""
    data = copy.deepcopy(assessment.data) if isinstance(assessment.data, dict) else {}
    index = {e.id: e.index for items in assessment.entities.values() for e in items}
    for _path, (fact, value) in changes.items():
        item = policy.inputs[fact.input_name]
        if item.kind == "record":
            target = data.setdefault(item.name, {})
        elif item.kind == "many":
            target = data[item.name][index[fact.entity]]
        else:
            target = data.setdefault(item.name, {}).setdefault(fact.entity, {})
            if target is None:
                target = data[item.name][fact.entity] = {}
        target[fact.field_name] = _plain(value, fact)
    return validate(policy, data, assessment.name)


def _decided(policy: ir.CheckedPolicy, assessment: Assessment, decision: str, entity: str | None, as_of: date, params: dict[str, Any]) -> Any:
    try:
        result = evaluate(policy, assessment, as_of, params)
    except StratError:
        return None
    return next((d for d in result.decisions if d.decision == decision and d.entity == entity), None)


@dataclass(frozen=True)
class Search:
    counterfactuals: tuple[Counterfactual, ...]
    note: str | None  # why there are none, or fewer than asked
    seconds: float


def why_not(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    decision: str,
    entity: str | None,
    outcome: str,
    as_of: date,
    params: dict[str, Any] | None = None,
    keep: tuple[str, ...] = (),
    timeout_ms: int = smt.DEFAULT_TIMEOUT_MS,
    alternatives: int = MAX_ALTERNATIVES,
) -> Search:
    """Up to `alternatives` verified minimal changes of facts that make `decision` `outcome`."""
    start = time.perf_counter()
    params = params or {}
    try:
        t = smt.Translation(policy, smt.Shape.of(assessment), as_of, params, grid=GRID, off_grid=_off_grid(policy, assessment))
        term = t.decision(decision, entity)
    except smt.Untranslatable as error:
        return Search((), error.diagnostics[0].message, time.perf_counter() - start)
    current = smt.assessment_facts(policy, assessment)
    held = held_facts(policy, t, keep)
    goal = term.decided[outcome]
    names = smt.constants(goal)
    relevant = {p: f for p, f in t.facts.items() if smt.fact_names(f) & names and p in current}
    base: list[Any] = [goal]
    changed: dict[str, Any] = {}
    for path, fact in relevant.items():
        value = current[path]
        if path in held:
            base.append(t.pin(fact, value))
            continue
        if isinstance(value, Unknown):
            flag = fact.known  # answering a missing question is a change
        else:
            flag = z3.Not(z3.And(fact.known, t.equals(fact, value)))
            base.append(z3.Implies(flag, fact.known))  # a change gives a value, never takes one away
        changed[path] = flag
    touched = set().union(*(smt.fact_names(f) for f in relevant.values())) if relevant else set()
    extra = []
    read: set[str] = set()
    for c in [*t.domain, *t.safety]:
        names_c = smt.constants(c)
        if names_c & touched:
            extra.append(c)
            read |= names_c
    others = {p: f for p, f in t.facts.items() if p not in relevant and p in current and smt.fact_names(f) & read}
    base += extra + [t.pin(f, current[p]) for p, f in others.items()]
    found: list[Counterfactual] = []
    note = None
    rejected = 0
    s = smt.solver(timeout_ms)
    s.add(*base)
    flags = list(changed.items())
    k = 1
    candidates: list[tuple[tuple, Counterfactual]] = []
    # every minimal set of the smallest sizes (up to CANDIDATES), then a canonical order:
    # the answer does not depend on which of equally good sets the solver meets first
    while k <= len(flags) and len(candidates) < CANDIDATES and (len(candidates) < alternatives or _all_of_size(candidates, k)):
        left = timeout_ms - int((time.perf_counter() - start) * 1000)
        if left <= 0:
            note = "unknown within the time budget"
            break
        s.push()
        s.add(z3.AtMost(*[f for _, f in flags], k))
        answer = smt.check(s, left)
        model = s.model() if answer == z3.sat else None
        s.pop()
        if answer == z3.unknown:
            note = "unknown within the time budget"
            break
        if model is None:
            if candidates and len(candidates) >= alternatives:
                break
            k += 1
            continue
        moved = sorted(p for p, f in flags if z3.is_true(model.evaluate(f, model_completion=True)))
        model = _closest(t, base, changed, moved, current, model, left)
        values = {p: (t.facts[p], smt.model_value(model, t.facts[p], t.codes)) for p in moved}
        if _verify(policy, assessment, values, decision, entity, outcome, as_of, params):
            changes = tuple(FactChange(p, _label_path(policy, fact), current.get(p), v) for p, (fact, v) in sorted(values.items()))
            candidates.append(((len(changes), _score(t, changes), tuple(c.fact for c in changes)), Counterfactual(changes, outcome, True)))
        else:
            rejected += 1
            if rejected > 3:
                break
        s.add(z3.Or(*[z3.Not(changed[p]) for p in moved]) if moved else z3.BoolVal(False))  # another set next
    found = [c for _, c in sorted(candidates, key=lambda item: item[0])[:alternatives]]
    if not found and note is None:
        note = "no change of the facts that are not held gives this outcome"
    if rejected and not found:
        note = "the solver's answers were not confirmed by the evaluator (a rounding the solver does not model)"
    return Search(tuple(found), note, time.perf_counter() - start)


def _all_of_size(candidates: list, k: int) -> bool:
    """Whether every candidate so far changes k facts (then the other sets of size k come next)."""
    return all(key[0] == k for key, _ in candidates)


def _score(t: smt.Translation, changes: tuple[FactChange, ...]) -> Decimal:
    """The normalised distance of a change (numbers only), as the solver minimised it."""
    total = Decimal(0)
    for c in changes:
        fact = t.facts[c.fact]
        if isinstance(fact.type, NumberT) and isinstance(c.current, Decimal) and isinstance(c.new, Decimal):
            low, high = fact.type.low, fact.type.high
            span = (high - low) if low is not None and high is not None and high > low else max(abs(c.current), Decimal(1))
            total += abs(c.new - c.current) / span
    return total


def _closest(t: smt.Translation, base: list[Any], changed: dict[str, Any], moved: list[str], current: dict[str, Any], model: Any, budget_ms: int) -> Any:
    """Among assessments changing exactly `moved`, the one nearest the current numbers."""
    distance = [_distance(t.facts[p], current[p]) for p in moved if isinstance(t.facts[p].type, NumberT)]
    if not moved:
        return model
    opt = z3.Optimize()
    opt.add(*base, *[z3.Not(f) for p, f in changed.items() if p not in moved])
    opt.minimize(z3.Sum(distance or [z3.RealVal(0)]))
    for p in moved:  # ties broken the same way every time: each fact nearest, then the lowest value
        fact = t.facts[p]
        if isinstance(fact.type, NumberT):
            opt.minimize(_distance(fact, current[p]))
        elif not isinstance(fact.value, dict) and z3.is_int(fact.value):
            opt.minimize(fact.value)
    if smt.check(opt, max(budget_ms // 2, 100)) == z3.sat:
        return opt.model()
    return model


def _verify(policy, assessment, values, decision, entity, outcome, as_of, params) -> bool:
    if any(isinstance(v, Decimal) and not v.is_finite() for _, v in values.values()):
        return False
    try:
        changed = apply_changes(policy, assessment, values)
    except StratError:
        return False
    d = _decided(policy, changed, decision, entity, as_of, params)
    return d is not None and d.status == "decided" and d.outcome == outcome


def _off_grid(policy: ir.CheckedPolicy, assessment: Assessment) -> frozenset[str]:
    """Facts whose current value is finer than the grid (2.125): kept exact, so that they can be held."""
    return frozenset(
        path
        for path, v in smt.assessment_facts(policy, assessment).items()
        if isinstance(v, Decimal) and (v * GRID) != (v * GRID).to_integral_value()
    )


def _label_path(policy: ir.CheckedPolicy, fact: smt.Fact) -> Any:
    return policy.inputs[fact.input_name].fields[fact.field_name].meta.label


def settlers(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    decision: str,
    entity: str | None,
    missing: tuple[str, ...],
    as_of: date,
    params: dict[str, Any] | None = None,
    timeout_ms: int = smt.DEFAULT_TIMEOUT_MS,
) -> tuple[Settler, ...]:
    """For an undetermined decision: each single missing answer that settles it, with a
    value that settles it to each outcome it can reach (verified by the evaluator)."""
    start = time.perf_counter()
    params = params or {}
    try:
        t = smt.Translation(policy, smt.Shape.of(assessment), as_of, params, grid=GRID, off_grid=_off_grid(policy, assessment))
        term = t.decision(decision, entity)
    except smt.Untranslatable:
        return ()
    current = smt.assessment_facts(policy, assessment)
    out: list[Settler] = []
    for path in missing:
        fact = t.facts.get(path)
        if fact is None:
            continue
        base = [t.pin(f, v) for p, v in current.items() if p != path and (f := t.facts.get(p)) is not None]
        for outcome, goal in term.decided.items():
            left = timeout_ms - int((time.perf_counter() - start) * 1000)
            if left <= 0:
                return tuple(out)
            s = smt.solver(left)
            s.add(*t.domain, *t.safety, *base, fact.known, goal)
            if smt.check(s, left) != z3.sat:
                continue
            value = smt.model_value(s.model(), fact, t.codes)
            if _verify(policy, assessment, {path: (fact, value)}, decision, entity, outcome, as_of, params):
                out.append(Settler(path, _label_path(policy, fact), value, outcome))
    return tuple(out)
