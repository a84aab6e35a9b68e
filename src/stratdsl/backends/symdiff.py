"""Methodology diff over all inputs: where two versions of a policy decide differently.

Input: the old and the new checked policy, the as-of date, the number of
entities per list input, a time budget. Both are translated (backends/smt.py)
over one shape; a fact both versions declare with the same type is one and the
same fact. Output: per decision (and entity) that can change, for each pair
(old outcome → new outcome) that some assessment reaches, a witness company —
validated and re-evaluated by both versions' ordinary evaluators before it is
reported — and the conditions of the region, simplified by the solver and
written over the policy's own names (its definitions and facts). A decision
for which no assessment changes is *unchanged* (proven); one the solver cannot
decide within its budget is *unknown*.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import z3

from ..language import ir
from ..language.diagnostics import StratError
from ..runtime.assessment import validate
from ..runtime.evaluator import evaluate
from . import prove as prove_mod
from . import smt


@dataclass(frozen=True)
class Pair:
    old: str
    new: str
    witness: dict[str, Any]
    region: str | None  # the region's conditions in the policy's names, when the solver could simplify them


@dataclass
class DecisionDiff:
    decision: str
    entity: str | None
    status: str  # "changed", "unchanged", "unknown", "untranslatable"
    pairs: list[Pair] = field(default_factory=list)
    detail: str | None = None


def _link(old: smt.Translation, new: smt.Translation) -> list[Any]:
    """The old version's facts equal the new one's, where both declare them alike."""
    out = []
    for path, f_new in new.facts.items():
        f_old = old.facts.get(path)
        if f_old is None or type(f_old.type) is not type(f_new.type) or smt._kind(f_old.type) != smt._kind(f_new.type):
            continue
        out.append(f_old.known == f_new.known)
        if isinstance(f_new.value, dict):
            for v, bit in f_new.value.items():
                if v in f_old.value:
                    out.append(f_old.value[v] == bit)
        else:
            out.append(f_old.value == f_new.value)
    return out


def _region(goal: Any, context: list[Any], facts: dict[str, smt.Fact], codes: dict[str, int], budget_ms: int) -> str | None:
    """The region's bounding box in the facts' names: for each fact the region narrows,
    its lowest and highest value there (numbers), or its only value (booleans, enums).
    A box contains the region; it is the region itself when the region is a box."""
    start = time.perf_counter()
    names = smt.constants(goal)
    parts = []
    for path, fact in sorted(facts.items()):
        if not (smt.fact_names(fact) & names) or isinstance(fact.value, dict):
            continue
        left = budget_ms - int((time.perf_counter() - start) * 1000)
        if left <= 0:
            return None
        if smt._kind(fact.type) == "num":
            shown = []
            for sense in ("min", "max"):
                opt = z3.Optimize()
                opt.add(goal, *context)
                handle = opt.minimize(fact.value) if sense == "min" else opt.maximize(fact.value)
                if smt.check(opt, max(left // 2, 1)) != z3.sat:
                    return None
                shown.append(_bound(handle.value(), sense, fact.type))
            if None in shown:
                return None
            if shown != ["", ""]:
                parts.append(f"{path} " + " and ".join(x for x in shown if x))
        elif smt._kind(fact.type) in ("bool", "enum"):
            s = smt.solver(left)
            s.add(goal, *context)
            if smt.check(s, left) != z3.sat:
                return None
            model = s.model()
            value = model.evaluate(fact.value, model_completion=True)
            s.add(fact.value != value)
            if smt.check(s, left) == z3.unsat:
                parts.append(f"{path} = {smt.format_term(model, fact, codes)}")
    return " and ".join(parts) if parts else None


def _bound(value: Any, sense: str, type_: Any) -> str | None:
    """'above 2.5', 'from 2.5', 'below 3', 'to 3', or '' for the declared end; None if unbounded."""
    from decimal import Decimal
    from fractions import Fraction

    text = str(value)
    if "oo" in text:
        return None
    strict = "epsilon" in text
    base = text.split(" + ")[0].strip() if strict else text
    try:
        fraction = Fraction(base)
    except ValueError:
        return None
    number = Decimal(fraction.numerator) / Decimal(fraction.denominator)
    declared = type_.low if sense == "min" else type_.high
    if not strict and declared is not None and number == declared:
        return ""
    shown = format(number.normalize(), "f")
    if sense == "min":
        return f"above {shown}" if strict else f"from {shown}"
    return f"below {shown}" if strict else f"to {shown}"


def symbolic_diff(
    old_policy: ir.CheckedPolicy,
    new_policy: ir.CheckedPolicy,
    as_of: date,
    entities: int = 1,
    timeout_ms: int = 10000,
    only: tuple[str, ...] = (),
) -> list[DecisionDiff]:
    shape = smt.Shape.uniform(new_policy, entities)
    old = smt.Translation(old_policy, shape, as_of, prefix="old·")
    new = smt.Translation(new_policy, shape, as_of)
    base = [*old.domain, *new.domain, *_link(old, new)]
    out: list[DecisionDiff] = []
    for name, decision in new_policy.decisions.items():
        if name not in old_policy.decisions or (only and name not in only):
            continue
        for entity in new.scope_entities(decision.entity_input):
            start = time.perf_counter()
            try:
                t_old, t_new = old.decision(name, entity), new.decision(name, entity)
            except smt.Untranslatable as error:
                out.append(DecisionDiff(name, entity, "untranslatable", detail=error.diagnostics[0].message))
                continue
            s = smt.solver(timeout_ms)
            s.add(*base, *old.safety, *new.safety)
            states_old, states_new = _states(t_old), _states(t_new)
            pairs = [(o1, o2) for o1 in states_old for o2 in states_new if o1 != o2]
            changed = z3.Or(*[z3.And(states_old[o1], states_new[o2]) for o1, o2 in pairs]) if pairs else z3.BoolVal(False)
            s.add(changed)
            answer = smt.check(s, timeout_ms)
            if answer == z3.unsat:
                out.append(DecisionDiff(name, entity, "unchanged"))
                continue
            if answer == z3.unknown:
                out.append(DecisionDiff(name, entity, "unknown", detail="unknown within the time budget"))
                continue
            result = DecisionDiff(name, entity, "changed")
            for o1, o2 in pairs:
                left = timeout_ms - int((time.perf_counter() - start) * 1000)
                if left <= 0:
                    result.detail = "time budget spent before every pair was tried"
                    break
                goal = z3.And(states_old[o1], states_new[o2])
                s2 = smt.solver(left)
                s2.add(*base, *old.safety, *new.safety, goal)
                if smt.check(s2, left) != z3.sat:
                    continue
                data = prove_mod._data(new, s2.model())
                if not _confirmed(old_policy, new_policy, data, name, entity, o1, o2, as_of):
                    continue
                region = _region(goal, base, new.facts, new.codes, left // 2)
                result.pairs.append(Pair(o1, o2, data, region))
            if not result.pairs and result.detail is None:
                result.status = "unknown"
                result.detail = "no witness was confirmed by the evaluators"
            out.append(result)
    return out


UNDETERMINED = "(undetermined)"
NO_MATCH = "(no rule applies)"


def _states(term: smt.DecisionTerm) -> dict[str, Any]:
    """Each outcome, plus undetermined (facts missing) and no match, as solver conditions."""
    return {**term.decided, UNDETERMINED: term.undetermined, NO_MATCH: term.no_match}


def _shown(d: Any) -> str | None:
    if d is None:
        return None
    if d.status == "undetermined":
        return UNDETERMINED
    if d.status == "no_match":
        return NO_MATCH
    return d.outcome


def _confirmed(old_policy, new_policy, data, name, entity, o1, o2, as_of) -> bool:
    try:
        a_old = validate(old_policy, data, "witness.yaml")
        a_new = validate(new_policy, data, "witness.yaml")
        r_old = evaluate(old_policy, a_old, as_of)
        r_new = evaluate(new_policy, a_new, as_of)
    except StratError:
        return False
    d_old = next((d for d in r_old.decisions if d.decision == name and d.entity == entity), None)
    d_new = next((d for d in r_new.decisions if d.decision == name and d.entity == entity), None)
    return _shown(d_old) == o1 and _shown(d_new) == o2


def render_text(diffs: list[DecisionDiff]) -> str:
    lines = []
    changed = [d for d in diffs if d.status != "unchanged"]
    lines.append(f"symbolic diff: {len(diffs)} decisions compared over all inputs, {len([d for d in diffs if d.status == 'changed'])} can change")
    for d in changed:
        where = f"{d.decision}" + (f" [{d.entity}]" if d.entity else "")
        if d.status != "changed":
            lines.append(f"  {where}: {d.status}" + (f" ({d.detail})" if d.detail else ""))
            continue
        lines.append(f"  {where}:")
        for p in d.pairs:
            lines.append(f"    {p.old} → {p.new}" + (f"  where {p.region}" if p.region else ""))
            lines.append("      witness:")
            for line in prove_mod.assessment_yaml(p.witness).splitlines():
                lines.append("        " + line)
        if d.detail:
            lines.append(f"    ({d.detail})")
    return "\n".join(lines) + "\n"


def to_json(diffs: list[DecisionDiff]) -> list[dict[str, Any]]:
    from ..runtime.values import to_json_value

    return [
        {
            "decision": d.decision,
            "entity": d.entity,
            "status": d.status,
            "detail": d.detail,
            "pairs": [{"old": p.old, "new": p.new, "region": p.region, "witness": to_json_value(p.witness)} for p in d.pairs],
        }
        for d in diffs
    ]
