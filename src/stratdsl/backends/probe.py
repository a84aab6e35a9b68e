"""Trying values: the cheap concrete stage of why-not, before the solver.

A decision that reads many others (a rank over every use case, a count of the
selected ones, a schedule over the company's capacity) is a large non-linear
problem for the solver, but one evaluation of it costs a few milliseconds. So,
for each fact the decision reads (its static cone: the fields its rules,
definitions and the decisions they name read), the values its thresholds make
interesting are tried with the ordinary evaluator — every other value of an
enum, true/false, each member of a list added or removed, an unknown answered;
for a number the bounds of its declared range, the constants it is compared
with (±one step), 0, ten, a hundred and a thousand times its value — and, when
a tried number gives the outcome, the boundary nearest the current value is
found by bisection on the grid of hundredths (or of units for an integer).

What this stage establishes, and what not: a change of one fact is the fewest
facts (the current assessment does not give the outcome); that the value is the
*closest* is not proven (a pocket nearer the current value may exist where the
outcome is not monotone in the fact). Every value found is confirmed again by
the caller through validation and the evaluator, as the solver's answers are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation, Overflow
from typing import Any

from ..language import ir
from ..language.diagnostics import StratError
from ..language.types import BoolT, EnumT, ListT, NumberT
from ..runtime.assessment import Assessment, Entity
from ..runtime.values import Unknown
from . import compiler

STEP = Decimal("0.01")
SCALES = (Decimal(10), Decimal(100), Decimal(1000))


def cone(policy: ir.CheckedPolicy, decision: str) -> tuple[set[tuple[str, str]], dict[tuple[str, str], set[Decimal]]]:
    """The input fields (input, field) a decision reads, through definitions and the
    decisions it names, and for each field the constants it is compared with directly."""
    fields: set[tuple[str, str]] = set()
    consts: dict[tuple[str, str], set[Decimal]] = {}
    seen_defs: set[str] = set()
    seen_decisions: set[str] = set()
    todo: list[ir.Expr] = []

    def add_decision(name: str) -> None:
        if name in seen_decisions or name not in policy.decisions:
            return
        seen_decisions.add(name)
        for rule in policy.decisions[name].rules:
            todo.extend(e for e in (rule.cond, rule.valid_from, rule.valid_until) if e is not None)
            todo.extend(x.cond for x in rule.exceptions)

    add_decision(decision)
    while todo:
        for node in ir.walk(todo.pop()):
            if isinstance(node, (ir.FieldRef, ir.MemberFieldRef)):
                fields.add((node.input_name, node.field_name))
            elif isinstance(node, ir.DefRef):
                if node.name not in seen_defs and node.name in policy.definitions:
                    seen_defs.add(node.name)
                    todo.append(policy.definitions[node.name].expr)
            elif isinstance(node, ir.DecisionRef):
                add_decision(node.name)
            elif isinstance(node, ir.Compare):
                for a, b in ((node.left, node.right), (node.right, node.left)):
                    if isinstance(a, (ir.FieldRef, ir.MemberFieldRef)) and isinstance(b, ir.Const) and isinstance(b.value, Decimal):
                        consts.setdefault((a.input_name, a.field_name), set()).add(b.value)
    return fields, consts


@dataclass(frozen=True)
class Where:
    """Where a fact lives in an assessment: a record's field, or an entity's."""

    path: str
    input_name: str
    field_name: str
    record: str | None  # the record's name, or None for an entity
    entity: tuple[str, int] | None  # (input name, index) of the entity


def facts(assessment: Assessment) -> dict[str, Where]:
    out: dict[str, Where] = {}
    for name, values in assessment.records.items():
        for fname in values:
            out[f"{name}.{fname}"] = Where(f"{name}.{fname}", name, fname, name, None)
    for input_name, items in assessment.entities.items():
        for n, entity in enumerate(items):
            for fname in entity.values:
                out[f"{entity.path}.{fname}"] = Where(f"{entity.path}.{fname}", input_name, fname, None, (input_name, n))
    return out


class Prober:
    """Evaluates one decision of one entity on the assessment with some facts changed."""

    def __init__(
        self, policy: ir.CheckedPolicy, assessment: Assessment, decision: str, entity: str | None, as_of: date, params: dict[str, Any]
    ) -> None:
        self.policy = policy
        self.assessment = assessment
        self.decision = decision
        self.entity = entity
        self.as_of = as_of
        self.params = params
        self.where = facts(assessment)
        self.evaluations = 0
        self.compiled = compiler.compiled(policy)
        order = [
            (d.name, e.id if e is not None else None)
            for d in policy.decisions.values()
            for e in ([None] if d.entity_input is None else assessment.entities.get(d.entity_input, []))
        ]
        self.slot = order.index((decision, entity))

    def outcome(self, changes: dict[str, Any]) -> str | None:
        """The outcome of the decision with `changes` (path → runtime value) applied, by the
        compiled evaluator; None when it is undetermined, no rule applies, or an error."""
        a = self.assessment
        records = dict(a.records)
        entities = {k: list(v) for k, v in a.entities.items()} if any(self.where[p].entity for p in changes) else a.entities
        for path, value in changes.items():
            w = self.where[path]
            if w.record is not None:
                records[w.record] = {**records[w.record], w.field_name: value}
            else:
                name, n = w.entity  # type: ignore[misc]
                e = entities[name][n]
                entities[name][n] = Entity(e.input_name, e.index, e.id, {**e.values, w.field_name: value}, e.path)
        changed = Assessment(records, entities, a.data, a.name, a.spans, a.assumed)
        self.evaluations += 1
        try:
            return self.compiled.outcomes(changed, self.as_of, self.params)[self.slot]
        except (StratError, ArithmeticError, InvalidOperation, Overflow, RecursionError):
            return None


def candidates(type_: Any, current: Any, consts: set[Decimal]) -> list[Any]:
    """The values worth trying for one fact, nearest first for numbers (runtime values)."""
    if isinstance(type_, BoolT):
        return [True, False] if isinstance(current, Unknown) else [not current]
    if isinstance(type_, EnumT):
        return [v for v in type_.values if v != current]
    if isinstance(type_, ListT) and isinstance(type_.element, EnumT):
        if isinstance(current, Unknown):
            return [frozenset(), *[frozenset({v}) for v in type_.element.values]]
        return [current ^ {v} for v in type_.element.values]
    if not isinstance(type_, NumberT):
        return []
    step = Decimal(1) if type_.integer else STEP
    values: set[Decimal] = set()
    for c in consts:
        values |= {c - step, c, c + step}
    if type_.low is not None:
        values.add(type_.low)
    if type_.high is not None:
        values.add(type_.high)
    values.add(Decimal(0))
    if isinstance(current, Decimal):
        for k in SCALES:
            values |= {current * k, current / k}
        if current == 0:
            values |= {Decimal(1000), Decimal(1000000)}
    else:
        values |= {Decimal(1), Decimal(100), Decimal(1000), Decimal(1000000)}
    out = []
    for v in values:
        v = (v / step).to_integral_value() * step
        if (type_.low is not None and v < type_.low) or (type_.high is not None and v > type_.high):
            continue
        if v == current:
            continue
        out.append(_clean(v, type_))
    base = current if isinstance(current, Decimal) else Decimal(0)
    return sorted(set(out), key=lambda v: (abs(v - base), v))


def _clean(v: Decimal, type_: NumberT) -> Decimal:
    if type_.integer or v == v.to_integral_value():
        return v.quantize(Decimal(1))
    return v.quantize(STEP).normalize()


def _bisect(p: Prober, path: str, type_: NumberT, good: Decimal, bad: Decimal, outcome: str, deadline: float) -> Decimal:
    """The value nearest `bad` (which does not give `outcome`) that still gives it, between
    `bad` and `good` (which does), on the grid — assuming the outcome holds on one side of one
    boundary in between; the caller confirms the value."""
    step = Decimal(1) if type_.integer else STEP
    lo, hi = int(bad / step), int(good / step)  # in steps; `hi` gives the outcome
    while abs(hi - lo) > 1 and time.perf_counter() < deadline:
        mid = (lo + hi) // 2
        v = _clean(Decimal(mid) * step, type_)
        if p.outcome({path: v}) == outcome:
            hi = mid
        else:
            lo = mid
    return _clean(Decimal(hi) * step, type_)


def single_changes(
    p: Prober, paths: list[str], types: dict[str, Any], consts: dict[str, set[Decimal]], outcome: str, current: dict[str, Any], deadline: float
) -> tuple[dict[str, Any], bool]:
    """For each fact (in the order given), a value that gives `outcome` when only it changes
    (the nearest found for a number); and whether every fact was tried before the deadline."""
    found: dict[str, Any] = {}
    for path in paths:
        if time.perf_counter() >= deadline:
            return found, False
        type_ = types[path]
        now = current[path]
        tried = candidates(type_, now, consts.get(path, set()))
        if not isinstance(type_, NumberT):
            for v in tried:
                if time.perf_counter() >= deadline:
                    return found, False
                if p.outcome({path: v}) == outcome:
                    found[path] = v
                    break
            continue
        if not isinstance(now, Decimal):  # an unknown number: any value that does it, roundest first
            for v in sorted(tried, key=lambda v: (v != v.to_integral_value(), len(str(v)), v)):
                if time.perf_counter() >= deadline:
                    return found, False
                if p.outcome({path: v}) == outcome:
                    found[path] = v
                    break
            continue
        best: Decimal | None = None
        for side in (1, -1):  # above the current value, then below: the nearest good one on each side
            bad = now
            for v in (v for v in tried if (v - now) * side > 0):
                if best is not None and abs(v - now) >= abs(best - now):
                    break
                if time.perf_counter() >= deadline:
                    return found, False
                if p.outcome({path: v}) == outcome:
                    v = _bisect(p, path, type_, v, bad, outcome, deadline)
                    if best is None or (abs(v - now), v) < (abs(best - now), best):
                        best = v
                    break
                bad = v
        if best is not None:
            found[path] = best
    return found, True
