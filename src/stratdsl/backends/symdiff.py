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

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import z3

from ..language import ir
from ..language.diagnostics import StratError
from ..language.types import DateT, EnumT, TextT
from ..runtime.assessment import validate
from ..runtime.evaluator import evaluate
from . import budget, smt
from . import prove as prove_mod


@dataclass(frozen=True)
class Pair:
    old: str
    new: str
    witness: dict[str, Any]
    region: str | None  # the region's conditions in the policy's names, when the solver could simplify them
    exact: bool = False  # `region` is the region itself (a union of conditions), not its bounding box


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
    start = budget.now()
    names = smt.constants(goal)
    parts = []
    for path, fact in sorted(facts.items()):
        if not (smt.fact_names(fact) & names):
            continue
        left = budget_ms - int((budget.now() - start) * 1000)
        if left <= 0:
            return None
        if isinstance(fact.value, dict):  # a list: the values it always / never holds in the region
            always, never = [], []
            for value, bit in fact.value.items():
                if str(bit) not in names:
                    continue
                for sense, into in ((z3.Not(bit), always), (bit, never)):
                    s = smt.solver(max(left // 4, 1))
                    s.add(goal, *context, fact.known, sense)
                    if smt.check(s, max(left // 4, 1)) == z3.unsat:
                        into.append(value)
            if always:
                parts.append(f"{path} includes {', '.join(always)}")
            if never:
                parts.append(f"{path} includes none of {', '.join(never)}" if len(never) > 1 else f"{path} excludes {never[0]}")
        elif smt._kind(fact.type) == "num":
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


# ------------------------------------------------------------------ exact regions
#
# A region is printed exactly when it is a small union of conjunctions of *atoms*, each
# a condition on one fact the policy declares: a yes/no, a list holding a value, an
# enumeration's value, a number against a constant, a question answered or not. The
# atoms are read off the solver's simplified formula (the old version's facts replaced
# by the new one's); any other atom — a sum, a product, a rank — and the box is printed
# instead. The union is found by enumerating the atoms' assignments inside the region,
# each widened (literals dropped) while it stays inside: every conjunction printed is
# inside the region, and together they cover it — the region itself, not a bound.

MAX_CUBES = 6
MAX_ATOMS = 160
MAX_TEXT = 600


@dataclass(frozen=True)
class _Atom:
    term: Any
    fact: smt.Fact | None  # None for a decision's outcome
    kind: str  # "bool", "known", "bit", "enum", "cmp", "decision"
    value: Any = None  # the bit's value, the enum's value, (op, Decimal) for a comparison, (name, outcome)


def _upstream(policy: ir.CheckedPolicy, name: str) -> list[str]:
    """The decisions a decision reads, through definitions, nearest first."""
    out: list[str] = []
    seen: set[str] = {name}
    queue = [name]
    while queue:
        d = policy.decisions.get(queue.pop(0))
        if d is None:
            continue
        exprs: list[ir.Expr] = [e for r in d.rules for e in (r.cond, *(x.cond for x in r.exceptions)) if e is not None]
        if d.on is not None:
            exprs.append(d.on)
        defs: set[str] = set()
        while exprs:
            for node in ir.walk(exprs.pop()):
                if isinstance(node, ir.DecisionRef) and node.name not in seen:
                    seen.add(node.name)
                    out.append(node.name)
                    queue.append(node.name)
                elif isinstance(node, ir.DefRef) and node.name not in defs:
                    defs.add(node.name)
                    exprs.append(policy.definitions[node.name].expr)
    return out


def _decision_atoms(t: smt.Translation, name: str, entity: str | None) -> list[_Atom]:
    out = []
    for d in _upstream(t.policy, name):
        decision = t.policy.decisions[d]
        if decision.entity_input is not None and entity is None:
            continue
        try:
            term = t.decision(d, entity if decision.entity_input is not None else None)
        except smt.Untranslatable:
            continue
        shown = f"{d}[{entity}]" if decision.entity_input is not None else d
        every = tuple(o.name for o in decision.outcomes)
        out.extend(_Atom(term.decided[o.name], None, "decision", (shown, o.name, every)) for o in decision.outcomes)
    return out


def _fact_index(t: smt.Translation) -> dict[str, tuple[str, smt.Fact, Any]]:
    out: dict[str, tuple[str, smt.Fact, Any]] = {}
    for fact in t.facts.values():
        out[str(fact.known)] = ("known", fact, None)
        if isinstance(fact.var, dict):
            for value, bit in fact.var.items():
                out[str(bit)] = ("bit", fact, value)
        else:
            out[str(fact.var)] = ("var", fact, None)
    return out


def _numeral(term: Any) -> Any:
    from decimal import Decimal

    if z3.is_int_value(term):
        return Decimal(term.as_long())
    if z3.is_rational_value(term):
        return Decimal(term.numerator_as_long()) / Decimal(term.denominator_as_long())
    return None


def _value_fact(term: Any, index: dict) -> smt.Fact | None:
    """The fact whose value `term` is (a variable, a ToReal of one, or a grid scaling)."""
    while z3.is_app_of(term, z3.Z3_OP_TO_REAL) or z3.is_app_of(term, z3.Z3_OP_TO_INT):
        term = term.arg(0)
    if z3.is_const(term) and term.decl().kind() == z3.Z3_OP_UNINTERPRETED:
        hit = index.get(str(term))
        if hit and hit[0] == "var" and not isinstance(hit[1].type, TextT):
            return hit[1]
    return None


_CMP = {z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">", z3.Z3_OP_EQ: "="}
_FLIP = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "=": "="}
_CONNECTIVES = (z3.Z3_OP_AND, z3.Z3_OP_OR, z3.Z3_OP_NOT, z3.Z3_OP_IMPLIES, z3.Z3_OP_XOR, z3.Z3_OP_ITE, z3.Z3_OP_TRUE, z3.Z3_OP_FALSE)


def _atoms(goal: Any, index: dict, codes: dict[str, int]) -> list[_Atom]:
    """The atoms of a Boolean formula that are conditions on one fact (others are left
    out: the decisions' atoms may decide them, which exact_region checks)."""
    out: dict[int, _Atom] = {}
    seen: set[int] = set()
    stack = [goal]
    while stack:
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if not z3.is_bool(e):
            continue  # inside a number (an If whose branches are read): not an atom we print
        kind = e.decl().kind()
        if kind in _CONNECTIVES or (kind == z3.Z3_OP_EQ and z3.is_bool(e.arg(0))):
            stack.extend(e.children())
            continue
        if z3.is_const(e) and kind == z3.Z3_OP_UNINTERPRETED:
            hit = index.get(str(e))
            if hit is None:
                continue
            role, fact, value = hit
            out[e.get_id()] = _Atom(e, fact, {"known": "known", "bit": "bit", "var": "bool"}[role], value)
            continue
        if kind in _CMP and e.num_args() == 2:
            a, b = e.arg(0), e.arg(1)
            fa, nb = _value_fact(a, index), _numeral(b)
            op = _CMP[kind]
            if fa is None or nb is None:
                fa, nb, op = _value_fact(b, index), _numeral(a), _FLIP[op]
            if fa is None or nb is None:
                stack.extend(e.children())
                continue
            if isinstance(fa.type, EnumT):
                names = [k for k, v in codes.items() if v == int(nb)]
                if op == "=" and names:
                    out[e.get_id()] = _Atom(e, fa, "enum", names[0])
            elif not isinstance(fa.type, DateT):
                out[e.get_id()] = _Atom(e, fa, "cmp", (op, _scaled(a if _value_fact(a, index) is fa else b, nb)))
            continue
        stack.extend(e.children())
    return list(out.values())


def _scaled(side: Any, number: Any) -> Any:
    """A comparison with a grid-scaled variable (`x*100 <= 250`) in the fact's unit."""
    from decimal import Decimal

    if z3.is_app_of(side, z3.Z3_OP_TO_REAL) or z3.is_const(side):
        name = str(side.arg(0) if z3.is_app_of(side, z3.Z3_OP_TO_REAL) else side)
        if "*" in name:
            return number / Decimal(name.rsplit("*", 1)[1])
    return number


def _literal_text(lits: list[tuple[_Atom, bool]]) -> str:
    """One conjunction in the policy's terms, grouped by fact, facts in path order."""
    from decimal import Decimal

    by_fact: dict[str, list[tuple[_Atom, bool]]] = {}
    parts = []
    by_decision: dict[str, tuple[list[str], list[str]]] = {}
    every: dict[str, tuple[str, ...]] = {}
    for atom, sign in lits:
        if atom.kind == "decision":
            name, outcome, every[name] = atom.value
            by_decision.setdefault(name, ([], []))[0 if sign else 1].append(outcome)
        else:
            by_fact.setdefault(atom.fact.path, []).append((atom, sign))
    for name in sorted(by_decision):
        is_, not_ = by_decision[name]
        if is_:
            parts.append(f"{name} = {is_[0]}")
        elif set(not_) == set(every[name]):
            parts.append(f"{name} not decided (undetermined or no rule applies)")
        elif len(not_) > len(every[name]) / 2:
            parts.append(f"{name} " + (f"= {rest[0]}" if len(rest := [o for o in every[name] if o not in not_]) == 1 else f"in {{{', '.join(rest)}}}") + " or not decided")
        else:
            parts.append(f"{name} ≠ {not_[0]}" if len(not_) == 1 else f"{name} not {', '.join(sorted(not_))}")
    for path in sorted(by_fact):
        items = by_fact[path]
        fact = items[0][0].fact
        valued = [x for x in items if x[0].kind != "known"]
        for atom, sign in items:
            if atom.kind == "known" and not sign:
                parts.append(f"{path} unanswered")
            elif atom.kind == "known" and not valued:
                parts.append(f"{path} answered")
        if not valued:
            continue
        bools = [(a, s) for a, s in valued if a.kind == "bool"]
        for _, sign in bools:
            parts.append(f"{path} = {'true' if sign else 'false'}")
        has = [a.value for a, s in valued if a.kind == "bit" and s]
        lacks = [a.value for a, s in valued if a.kind == "bit" and not s]
        if has:
            parts.append(f"{path} includes {', '.join(sorted(has))}")
        if lacks:
            parts.append(f"{path} includes none of {', '.join(sorted(lacks))}" if len(lacks) > 1 else f"{path} excludes {lacks[0]}")
        is_ = [a.value for a, s in valued if a.kind == "enum" and s]
        not_ = [a.value for a, s in valued if a.kind == "enum" and not s]
        if is_:
            parts.append(f"{path} = {is_[0]}")
        elif not_:
            parts.append(f"{path} not {', '.join(sorted(not_))}" if len(not_) > 1 else f"{path} ≠ {not_[0]}")
        low: tuple[Decimal, bool] | None = None  # (value, strict)
        high: tuple[Decimal, bool] | None = None
        equal = None
        for atom, sign in valued:
            if atom.kind != "cmp":
                continue
            op, number = atom.value
            if not sign:
                op = {"<=": ">", "<": ">=", ">=": "<", ">": "<=", "=": "!="}[op]
            if op == "=":
                equal = number
            elif op == "!=":
                parts.append(f"{path} ≠ {_num(number)}")
            elif op in (">", ">="):
                cand = (number, op == ">")
                if low is None or cand[0] > low[0] or (cand[0] == low[0] and cand[1]):
                    low = cand
            else:
                cand = (number, op == "<")
                if high is None or cand[0] < high[0] or (cand[0] == high[0] and cand[1]):
                    high = cand
        if equal is not None:
            parts.append(f"{path} = {_num(equal)}")
            continue
        declared = fact.type
        if low is not None and not low[1] and getattr(declared, "low", None) is not None and low[0] <= declared.low:
            low = None
        if high is not None and not high[1] and getattr(declared, "high", None) is not None and high[0] >= declared.high:
            high = None
        shown = []
        if low is not None:
            shown.append(f"{'above' if low[1] else 'from'} {_num(low[0])}")
        if high is not None:
            shown.append(f"{'below' if high[1] else 'to'} {_num(high[0])}")
        if shown:
            parts.append(f"{path} " + " and ".join(shown))
    return " and ".join(parts) if parts else "any assessment"


def _num(value: Any) -> str:
    return format(value.normalize(), "f")


def exact_region(goal: Any, context: list[Any], old: smt.Translation, new: smt.Translation, budget_ms: int, decision: str | None = None, entity: str | None = None) -> str | None:
    """The region as a union of conditions on facts, or None (too large, not in atoms,
    or not decided within the budget): then the caller prints the bounding box."""
    start = budget.now()

    def left() -> int:
        return budget_ms - int((budget.now() - start) * 1000)

    pairs = []
    for path, f_new in new.facts.items():
        f_old = old.facts.get(path)
        if f_old is None or type(f_old.type) is not type(f_new.type):
            continue
        pairs.append((f_old.known, f_new.known))
        if isinstance(f_new.var, dict):
            pairs.extend((f_old.var[v], bit) for v, bit in f_new.var.items() if v in f_old.var)
        elif smt._kind(f_old.type) == smt._kind(f_new.type):
            pairs.append((f_old.var, f_new.var))
    try:
        shown = z3.simplify(smt.substitute(goal, *pairs)) if pairs else z3.simplify(goal)
    except z3.Z3Exception:
        return None
    facts = _atoms(shown, _fact_index(new), new.codes)
    higher = _decision_atoms(new, decision, entity) if decision is not None else []
    atoms = [*higher, *facts]  # the widening drops facts first: decisions are shorter to read
    if not atoms or len(atoms) > MAX_ATOMS:
        return None
    # only the constraints that share a fact with the question (the others are each one
    # fact's range, or an old fact equal to its new one: always met)
    names = smt.constants(goal, *[a.term for a in atoms])
    context = [c for c in context if smt.constants(c) & names]
    inside = smt.solver(max(left(), 1))
    inside.add(*context, goal)
    outside = smt.solver(max(left(), 1))
    outside.add(*context, z3.Not(goal))
    cubes: list[list[tuple[_Atom, bool]]] = []
    while True:
        if left() <= 0:
            return None
        answer = smt.check(inside, left())
        if answer == z3.unsat:
            break
        if answer != z3.sat or len(cubes) >= MAX_CUBES:
            return None
        model = inside.model()
        lits = [(a, z3.is_true(model.evaluate(a.term, model_completion=True))) for a in atoms]
        keep = list(lits)
        terms = [a.term if sign else z3.Not(a.term) for a, sign in keep]
        if smt.check(outside, max(left(), 1), *terms) != z3.unsat:
            return None  # the atoms do not decide the region: not printable exactly
        for lit in sorted(lits, key=lambda x: x[0].kind == "decision"):
            trial = [x for x in keep if x is not lit]
            if left() <= 0:
                return None
            if smt.check(outside, max(left(), 1), *[a.term if sign else z3.Not(a.term) for a, sign in trial]) == z3.unsat:
                keep = trial
        cubes.append(keep)
        inside.add(z3.Not(z3.And(*[a.term if sign else z3.Not(a.term) for a, sign in keep])) if keep else z3.BoolVal(False))
    if not cubes:
        return None
    text = " or ".join(f"({_literal_text(c)})" if len(cubes) > 1 else _literal_text(c) for c in cubes)
    return text if len(text) <= MAX_TEXT else None


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
    with smt.question():
        return _symbolic_diff(old_policy, new_policy, as_of, entities, timeout_ms, only)


def _symbolic_diff(
    old_policy: ir.CheckedPolicy, new_policy: ir.CheckedPolicy, as_of: date, entities: int, timeout_ms: int, only: tuple[str, ...],
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
            try:
                t_old, t_new = old.decision(name, entity), new.decision(name, entity)
            except smt.Untranslatable as error:
                out.append(DecisionDiff(name, entity, "untranslatable", detail=error.diagnostics[0].message))
                continue
            # a budget of work, not of the clock (backends/budget.py): the same regions on every machine
            with budget.counted(timeout_ms):
                out.append(_decision_diff(old_policy, new_policy, old, new, base, name, entity, t_old, t_new, as_of, timeout_ms))
    return out


def _decision_diff(
    old_policy: ir.CheckedPolicy, new_policy: ir.CheckedPolicy, old: smt.Translation, new: smt.Translation, base: list[Any],
    name: str, entity: str | None, t_old: smt.DecisionTerm, t_new: smt.DecisionTerm, as_of: date, timeout_ms: int,
) -> DecisionDiff:
    """How one decision of one entity changed: unchanged, unknown, or a witness per pair of outcomes."""
    start = budget.now()
    s = smt.solver(timeout_ms)
    s.add(*base, *old.safety, *new.safety)
    states_old, states_new = _states(t_old), _states(t_new)
    pairs = [(o1, o2) for o1 in states_old for o2 in states_new if o1 != o2]
    changed = z3.Or(*[z3.And(states_old[o1], states_new[o2]) for o1, o2 in pairs]) if pairs else z3.BoolVal(False)
    s.add(changed)
    answer = smt.check(s, timeout_ms)
    if answer == z3.unsat:
        return DecisionDiff(name, entity, "unchanged")
    if answer == z3.unknown:
        return DecisionDiff(name, entity, "unknown", detail="unknown within the time budget")
    result = DecisionDiff(name, entity, "changed")
    for o1, o2 in pairs:
        left = timeout_ms - int((budget.now() - start) * 1000)
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
        context = [*base, *old.safety, *new.safety]
        region = exact_region(goal, context, old, new, left // 2, name, entity)
        if region is not None:
            result.pairs.append(Pair(o1, o2, data, region, True))
            continue
        region = _region(goal, base, new.facts, new.codes, left // 3)
        result.pairs.append(Pair(o1, o2, data, region))
    if not result.pairs and result.detail is None:
        result.status = "unknown"
        result.detail = "no witness was confirmed by the evaluators"
    return result


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
            if p.region and p.exact:
                lines.append(f"    {p.old} → {p.new}  where {p.region}")
            elif p.region:
                lines.append(f"    {p.old} → {p.new}  within {p.region} (the region's bounds, not the region)")
            else:
                lines.append(f"    {p.old} → {p.new}")
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
            "pairs": [{"old": p.old, "new": p.new, "region": p.region, "exact": p.exact, "witness": to_json_value(p.witness)} for p in d.pairs],
        }
        for d in diffs
    ]
