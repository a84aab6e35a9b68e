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
import dataclasses
import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

import z3

from ..language import ir
from ..language.diagnostics import StratError
from ..language.types import DateT, ListT, NumberT
from ..runtime.assessment import Assessment, validate
from ..runtime.evaluator import evaluate
from ..runtime.result import DECIDED, UNDETERMINED
from ..runtime.values import Unknown
from ..runtime.whynot import N_, Counterfactual, FactChange, Msg, Settler
from . import budget, probe, smt

GRID = 100
MAX_ALTERNATIVES = 3
CANDIDATES = 8  # minimal sets compared before the best three are chosen


_CACHE = threading.local()


def _names(*exprs: Any) -> list[frozenset[str]]:
    """For each term, the names of the solver variables it reads — as `smt.constants`, but
    through z3's C interface and with one memo for every call of a question, so that the
    terms its calls share (the decision's term, the guards) are walked once (the Python
    wrappers made this most of a question's time; a memo per call, a third of it). The memo
    lives on the question's z3 context (`smt.question`) and pins each node it remembers
    (`Z3_inc_ref`, released with the context): a freed node's id could be given to another.
    Each node's names are kept as bits of an integer, one bit a name (a union of sets of
    thousands of names at every node of a ranking's term was most of the walk's time)."""
    if not exprs:
        return []
    context = exprs[0].ctx
    ctx = context.ref()
    memo: dict[int, int] = context.__dict__.setdefault("_stratdsl_names", {})
    bits: dict[str, int] = context.__dict__.setdefault("_stratdsl_name_bits", {})
    names: list[str] = context.__dict__.setdefault("_stratdsl_name_list", [])
    # (z3's C functions themselves, not their Python wrappers: each wrapper asks for the
    # error code after the call — most of the walk's time; these getters fail only on a
    # node that is not one, and the code is asked once a term, below)
    ast_id, kind_of, to_app, num_args, arg_of, pin = (
        _raw(f) for f in (z3.Z3_get_ast_id, z3.Z3_get_ast_kind, z3.Z3_to_app, z3.Z3_get_app_num_args, z3.Z3_get_app_arg, z3.Z3_inc_ref)
    )
    app_ast = z3.Z3_APP_AST
    out = []
    for e in exprs:
        root = e.as_ast()
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            a, ready = stack.pop()
            i = ast_id(ctx, a)
            if i in memo:
                continue
            if not ready:
                pin(ctx, a)  # (pinned: its id stays its own while the memo holds it)
            if kind_of(ctx, a) != app_ast:
                memo[i] = 0
                continue
            app = to_app(ctx, a)
            n = num_args(ctx, app)
            if n == 0:
                decl = z3.Z3_get_app_decl(ctx, app)
                if z3.Z3_get_decl_kind(ctx, decl) == z3.Z3_OP_UNINTERPRETED:
                    name = z3.Z3_get_symbol_string(ctx, z3.Z3_get_decl_name(ctx, decl))
                    if name not in bits:
                        bits[name] = len(names)
                        names.append(name)
                    memo[i] = 1 << bits[name]
                else:
                    memo[i] = 0
                continue
            args = [arg_of(ctx, app, k) for k in range(n)]
            if ready:
                mask = 0
                for x in args:
                    mask |= memo[ast_id(ctx, x)]
                memo[i] = mask
            else:
                stack.append((a, True))
                stack.extend((x, False) for x in args)
        z3.Z3_get_error_code(ctx)  # (a wrapper: raises what the calls above would have)
        out.append(_unpacked(memo[ast_id(ctx, root)], names))
    return out


def _raw(wrapper: Any) -> Any:
    """The C function a z3 API wrapper calls (the `Elementaries` of its default argument),
    or the wrapper itself where that is not how it is built."""
    defaults = getattr(wrapper, "__defaults__", None) or ()
    return getattr(defaults[-1], "f", wrapper) if defaults else wrapper


def _unpacked(mask: int, names: list[str]) -> frozenset[str]:
    """The names whose bits are set in `mask`."""
    found = []
    while mask:
        low = mask & -mask
        found.append(names[low.bit_length() - 1])
        mask ^= low
    return frozenset(found)


def _domain_names(t: smt.Translation, kind: str = "domain") -> list[tuple[Any, frozenset[str]]]:
    """The translation's domain constraints (or, with kind "safety", its constraints that no
    division is by zero) with the names each reads, walked once per constraint (the lists
    grow as decisions are translated; each question used to walk them all again, one memo
    per constraint: most of a proof's time)."""
    constraints: list[Any] = getattr(t, kind)
    known: list[tuple[Any, frozenset[str]]] = t.__dict__.setdefault(f"_{kind}_names", [])
    if len(known) < len(constraints):
        fresh = constraints[len(known) :]
        known.extend(zip(fresh, _names(*fresh), strict=True))
    return known


def _translation(policy: ir.CheckedPolicy, assessment: Assessment, as_of: date, params: dict[str, Any]) -> smt.Translation:
    """The translation for this assessment's shape, reused by the next question on the same
    policy, assessment, date and parameters (`explain` for every entity, the report, the
    benchmark): translating a methodology that ranks every use case is most of a question's
    time. One per thread and z3 context (`smt.question`: each question has its own); the
    objects are held, so their identity cannot be reused."""
    shape, off_grid = smt.Shape.of(assessment), _off_grid(policy, assessment)
    key = (as_of, tuple(sorted((k, str(v)) for k, v in params.items())), z3.main_ctx(), off_grid)
    last = getattr(_CACHE, "last", None)
    if last is not None and last[0] is policy and last[1] == shape and last[2] == key:
        return last[3]  # (the values are not in it: an assessment answered further reuses it)
    t = smt.Translation(policy, shape, as_of, params, grid=GRID, off_grid=off_grid)
    _CACHE.last = (policy, shape, key, t)
    return t


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


def _span(type_: NumberT, current: Decimal) -> Decimal:
    """What a change of a number is measured against: its declared range, or max(|old|, 1)."""
    low, high = type_.low, type_.high
    return (high - low) if low is not None and high is not None and high > low else max(abs(current), Decimal(1))


def _distance(fact: smt.Fact, current: Any) -> Any:
    """|new − old| over `_span`, for numbers; 0 otherwise."""
    if not isinstance(fact.type, NumberT) or isinstance(current, Unknown):
        return z3.RealVal(0)
    diff = fact.value - z3.RealVal(str(current))
    return z3.If(diff >= 0, diff, -diff) / z3.RealVal(str(_span(fact.type, current)))


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
    """The assessment with some facts changed, validated again (as if the file said so): the
    questions a default answered are left out again (the validated data holds null there, which
    validation reads as "answered unknown"), so they keep their default unless changed."""
    data = copy.deepcopy(assessment.data) if isinstance(assessment.data, dict) else {}
    _leave_out_defaulted(policy, assessment, data)
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


def _leave_out_defaulted(policy: ir.CheckedPolicy, assessment: Assessment, data: dict[str, Any]) -> None:
    """Removes from `data` the answers a declared default gave (`Assessment.assumed`)."""
    if not assessment.assumed:
        return
    for item in policy.inputs.values():
        raw = data.get(item.name)
        if item.kind == "record":
            rows = [(item.name, raw)]
        elif item.kind == "many":
            rows = [(e.path, raw[e.index]) for e in assessment.entities.get(item.name, []) if isinstance(raw, list) and e.index < len(raw)]
        else:
            rows = [(e.path, raw.get(e.id)) for e in assessment.entities.get(item.name, []) if isinstance(raw, dict)]
        for prefix, row in rows:
            if isinstance(row, dict):
                for name in [n for n in row if f"{prefix}.{n}" in assessment.assumed]:
                    del row[name]


def _decided(policy: ir.CheckedPolicy, assessment: Assessment, decision: str, entity: str | None, as_of: date, params: dict[str, Any]) -> Any:
    try:
        result = _evaluated(policy, assessment, as_of, params)
    except StratError:
        return None
    return next((d for d in result.decisions if d.decision == decision and d.entity == entity), None)


def _evaluated(policy: ir.CheckedPolicy, assessment: Assessment, as_of: date, params: dict[str, Any]) -> Any:
    """`evaluate`, charged to the search's budget (with the validation before it)."""
    result = evaluate(policy, assessment, as_of, params)
    budget.charge(budget.EVALUATION_STEP_MS * len(result.decisions))
    return result


@dataclass(frozen=True)
class Search:
    counterfactuals: tuple[Counterfactual, ...]
    note: str | None  # why there are none, or fewer than asked
    seconds: float
    scope: str | None = None  # the slice the changes were found in ("usecases[x]"); None: every fact
    tried: bool = False  # found by the probe (values tried, open questions answered), not by the solver: it may better it
    unreachable: bool = False  # proven: no change of the facts not held gives the outcome


#: what `_tried` returns when the proof it asks for holds (no change gives the outcome)
NONE = Search((), None, 0.0, unreachable=True)

NO_CHANGE = N_("no change of the facts that are not held gives this outcome")

#: the share of the budget the question on a decision the rule needs gets (`_through_read`),
#: and the share one more fact may take from its answer
THROUGH_SHARE = 0.5
MORE_SHARE = 0.25
#: the share of the budget the concrete stage (trying values) may use before the solver
TRY_SHARE = 0.6
#: the share the proofs that no change gives the outcome may use next: `_unreachable` (over
#: every fact, UNREACHABLE_SHARE of the budget), then `_proven_none` (ranks and counts abstracted)
PROOF_SHARE = 0.2
UNREACHABLE_SHARE = 0.05
#: the share of values tried one fact at a time for a decision undetermined now (it
#: usually takes several answers at once, which the solver finds, so it keeps the rest) and
#: for a rule that reads a count of entities (moved one at a time by a later stage)
UNDETERMINED_TRY_SHARE = 0.3
#: when values tried found changes: the share of the budget the solver may take to better them
REFINE_SHARE = 0.4


class _Abstract(smt.Translation):
    """The policy with every rank and count replaced by a free whole number within its
    bounds (0 to the number of entities), known or not: more assessments than there are,
    so that no assessment giving an outcome here proves that none gives it there — and the
    rank over every use case, most of a deep decision's term, is gone."""

    def _fresh_count(self, name: str, n: int) -> smt.SVal:
        value = z3.Real(name)
        self.domain.append(z3.And(value >= 0, value <= n, z3.IsInt(value)))
        return smt.SVal(z3.Bool(f"{name}_known"), value, "num")

    def _Rank(self, e: ir.Rank, scope: Any, guard: Any) -> smt.SVal:
        key = (e.id, scope[1])
        if key not in self._ranks:
            rank = self._fresh_count(f"abstract_rank_{e.id}_{scope[1]}", len(self.shape.entities.get(e.input_name, ())))
            if e.where is not None and scope[0] == e.input_name:
                # What the rank keeps of its own entity: 1 or more when the entity passes
                # the filter, 0 (known) when it does not — so that a rank read only where
                # its own filter holds is never taken for 0 (the selection reads it so).
                w = self.expr(e.where, (e.input_name, scope[1]), smt.TRUE)
                passes = z3.And(w.known, w.value)
                fails = z3.And(w.known, z3.Not(w.value))
                self.domain.append(z3.Implies(passes, rank.value >= 1))
                self.domain.append(z3.Implies(fails, z3.And(rank.known, rank.value == 0)))
            self._ranks[key] = rank
        return self._ranks[key]

    def _Aggregate(self, e: ir.Aggregate, scope: Any, guard: Any) -> smt.SVal:
        if e.kind != "count":
            return super()._Aggregate(e, scope, guard)
        key = (e.id, scope[1] if scope else None)
        if key not in self._ranks:
            self._ranks[key] = self._fresh_count(f"abstract_count_{e.id}_{key[1]}", len(self.shape.entities.get(e.input_name, ())))
        return self._ranks[key]


def _proven_none(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    decision: str,
    entity: str | None,
    outcome: str,
    as_of: date,
    params: dict[str, Any],
    keep: tuple[str, ...],
    current: dict[str, Any],
    deadline: float,
) -> bool:
    """Whether the solver proves, over ranks and counts abstracted (`_Abstract`), that no
    change of the facts not held gives `outcome`: held facts at their values, known facts
    staying known. False when it does not (a possible change, or out of time)."""
    left = int((deadline - budget.now()) * 1000)
    if left <= 50:
        return False
    try:
        key = (as_of, tuple(sorted((k, str(v)) for k, v in params.items())), z3.main_ctx())
        last = getattr(_CACHE, "abstract", None)
        if last is not None and last[0] is policy and last[1] is assessment and last[2] == key:
            t = last[3]
        else:
            t = _Abstract(policy, smt.Shape.of(assessment), as_of, params, grid=GRID, prefix="abs_", off_grid=_off_grid(policy, assessment))
            _CACHE.abstract = (policy, assessment, key, t)
        held = held_facts(policy, t, keep)
        (read,) = _names(t.decision(decision, entity).decided[outcome])
        goal = reachable_goal(t, decision, entity, outcome, _held_open(t, current, held, read))
    except smt.Untranslatable:
        return False
    if z3.is_false(goal):
        return True
    (names,) = _names(goal)
    base = [goal]
    for path, fact in t.facts.items():
        if path not in current or not smt.fact_names(fact) & names:
            continue
        value = current[path]
        if path in held:
            base.append(t.pin(fact, value))
        elif not isinstance(value, Unknown):
            base.append(fact.known)
    base += [c for c, read in _domain_names(t) if read & names]
    s = smt.solver(left)
    s.add(*base)
    return smt.check(s, left) == z3.unsat


def untranslatable_note(error: smt.Untranslatable) -> Msg:
    """The search note for a construct the solver does not translate (E801), translatable."""
    return Msg(N_("{code}: the symbolic analysis cannot translate {what}"), code="E801", what=error.what)


def _held(policy: ir.CheckedPolicy, where: dict[str, probe.Where], keep: tuple[str, ...]) -> set[str]:
    """As `held_facts`, without the translation."""
    held = set()
    for path, w in where.items():
        field = policy.inputs[w.input_name].fields.get(w.field_name)
        short = f"{w.input_name}.{w.field_name}"
        if field is None or field.fixed or path in keep or w.field_name in keep or short in keep:
            held.add(path)
    return held


def _cone(policy: ir.CheckedPolicy, decision: str) -> tuple[set[tuple[str, str]], dict[tuple[str, str], set[Decimal]]]:
    memo = getattr(_CACHE, "cones", None)
    if memo is None or memo[0] is not policy:
        memo = _CACHE.cones = (policy, {})
    if decision not in memo[1]:
        memo[1][decision] = probe.cone(policy, decision)
    return memo[1][decision]


def _probe_order(policy: ir.CheckedPolicy, where: dict[str, probe.Where], paths: list[str], entity: str | None) -> list[str]:
    """The entity's own facts first, then the company's answers (records, groups), then the
    other entities' facts; each group in path order."""

    def rank(path: str) -> tuple[int, str]:
        w = where[path]
        if w.entity is not None and policy.inputs[w.input_name].kind == "many":
            own = entity is not None and path.startswith(f"{w.input_name}[{entity}].")
            return (0 if own else 2, path)
        return (1, path)

    return sorted(paths, key=rank)


def _probe_paths(
    policy: ir.CheckedPolicy, where: dict[str, probe.Where], held: set[str], decision: str, entity: str | None, current: dict[str, Any]
) -> tuple[list[str], dict[str, set[Decimal]]]:
    """The facts values are tried for (those the decision reads, not held, in the order to
    try them), and for each the constants its field is compared with (`_cone`)."""
    fields, consts = _cone(policy, decision)
    paths = [p for p, w in where.items() if (w.input_name, w.field_name) in fields and p not in held and p in current]
    return _probe_order(policy, where, paths, entity), {p: consts.get((where[p].input_name, where[p].field_name), set()) for p in paths}


def _tried(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    decision: str,
    entity: str | None,
    outcome: str,
    as_of: date,
    params: dict[str, Any],
    keep: tuple[str, ...],
    current: dict[str, Any],
    alternatives: int,
    deadline: float,
    proof: Callable[[bool], bool] = lambda quick: False,
    undetermined_deadline: float | None = None,
    composed: Callable[[str], Search | None] = lambda kind: None,
    own: Callable[[], Search | None] | None = None,
    counted: bool = False,
) -> Search | None:
    """The concrete stage: each fact the decision reads, alone, set to the values worth trying
    (backends/probe); the verified changes of one fact, nearest first. When none gives the
    outcome, `proof(quick)` is asked first (a proof that no change does: `NONE` is returned;
    `quick`: the question over every fact too — not for an undetermined decision), then
    `composed("count")` (entities moved one at a time through a count); for a rule that
    reads the entity's rank (`own` given), `own()` (the solver over the entity's own facts)
    and `composed("rank")` (the ranked entities); then several facts. None when nothing
    was found (then the solver searches)."""
    if decision not in policy.decisions or outcome not in {o.name for o in policy.decisions[decision].outcomes}:
        return None
    where = probe.facts(assessment)
    held = _held(policy, where, keep)
    paths, bounds = _probe_paths(policy, where, held, decision, entity, current)
    types = {p: policy.inputs[where[p].input_name].fields[where[p].field_name].type for p in paths}
    try:
        prober = probe.Prober(policy, assessment, decision, entity, as_of, params)
    except ValueError:  # (the decision is not made for this entity: the solver's search says so)
        return None
    base = prober.result({}, charged=False)
    undetermined = base is not None and base.status == UNDETERMINED
    # a decision settled on a rule that reads an undetermined one (`candidate when not
    # known(selection)`): to move it, that one's questions must be answered — values tried
    # one fact at a time get the share they get for an undetermined decision, then the
    # questions holding it back are answered one at a time (`_answered`)
    reads_open = base is not None and base.status == DECIDED and bool(base.held_back)
    # a rule that reads a count of entities (`counted`): one fact rarely moves several
    # entities, and the stage that moves them one at a time answers such questions — values
    # tried one fact at a time get the same share, not most of the budget over every entity
    short = (undetermined or reads_open or counted) and undetermined_deadline is not None
    singles_deadline = min(deadline, undetermined_deadline) if short else deadline
    found, _complete = probe.single_changes(
        prober, paths, types, bounds, outcome, current, singles_deadline
    )
    # (each fact was tried alone: the change of one fact the solver finds, where none was
    # found here, is a value no tried one came near; the solver still looks for it)
    kept: list[tuple[tuple, Counterfactual]] = []
    for path, value in found.items():
        fact = _fact_view(assessment, where[path], types[path])
        if _verify(policy, assessment, {path: (fact, value)}, decision, entity, outcome, as_of, params):
            change = FactChange(path, _label_path(policy, fact), current.get(path), value)
            kept.append(((1, _change_score(types[path], change), (path,)), Counterfactual((change,), outcome, True)))
    if not kept:
        if reads_open and undetermined_deadline is not None:
            half = deadline - undetermined_deadline  # (the first at 0.8 of the budget, the other at 0.3: half of it)
            found_answers = _answered(
                policy, assessment, decision, entity, outcome, as_of, params, keep, current, prober, paths, types, where, bounds, held, min(deadline, budget.now() + half / 2)
            )
            if found_answers is not None:
                return found_answers
        if proof(not undetermined):
            return NONE
        if undetermined:
            # several unanswered questions must be answered at once (no one answer settles
            # it): trying values walks one condition at a time over known values, and the
            # counted entities' outcomes are unknown too. First the questions holding the
            # decision back, answered one at a time (`_answered`); then the solver answers
            # them together, with the time left
            return _answered(policy, assessment, decision, entity, outcome, as_of, params, keep, current, prober, paths, types, where, bounds, held, deadline)
        found_composed = composed("count")
        if found_composed is not None:
            return found_composed
        # (a rule reading the entity's rank: its own facts by the solver, then the entities
        # ranked with it moved one at a time, before several facts)
        if own is not None:
            found_own = own() or composed("rank")
            if found_own is not None:
                return found_own
        return _tried_several(policy, assessment, decision, entity, outcome, as_of, params, current, prober, paths, types, where, bounds, deadline, held)
    best = sorted(kept, key=lambda item: item[0])[:alternatives]
    numeric = any(isinstance(types[c.fact], NumberT) and isinstance(c.current, Decimal) for _, cf in best for c in cf.changes)
    note = Msg(N_("found by trying values one fact at a time: one fact is the fewest, but the values are not proven the closest")) if numeric else None
    return Search(tuple(cf for _, cf in best), note, 0.0, None, True)


def _answered(policy, assessment, decision, entity, outcome, as_of, params, keep, current, prober, paths, types, where, bounds, held, deadline) -> Search | None:
    """A decision undetermined now: its unanswered questions answered one at a time until it
    is settled (probe.answers); settled on another outcome, the solver's search from there
    (`_solved_after`), else one more fact (`_one_more_fact`: `measured_value` once the
    roadmap holds the use case), else several, one condition at a time; then the answers
    the outcome does not need left unanswered again — checked by the reference evaluator.
    Not proven the fewest facts nor the closest values (the note says so); None when that
    walk finds nothing."""
    kinds = {q: types[q] for q in paths}
    walked = probe.answers(prober, kinds, bounds, outcome, held, deadline)
    if walked is None:
        return None
    found, settled = walked
    if not settled:
        try:
            then = probe.Prober(policy, prober.changed(found), decision, entity, as_of, params)
        except ValueError:
            return None
        views = {q: (_fact_view(assessment, where[q], types[q]), v) for q, v in found.items()}
        solved = _solved_after(policy, assessment, views, decision, entity, outcome, as_of, params, keep, deadline)
        more = solved or _one_more_fact(policy, then, outcome, paths, where, kinds, bounds, current, found, deadline)
        if more is not None:
            found = more
        else:
            # settled where one more fact does not do it (an answer of the walk closed the
            # way: no one in it, no return): several facts from there, one condition of a
            # rule at a time, the walk's answers among those that may change again
            field_of = {q: (where[q].input_name, where[q].field_name) for q in paths}
            solve = functools.partial(_condition_step, policy, then.assessment, as_of, params, frozenset(held))
            state = probe.several_changes(then, paths, kinds, bounds, field_of, outcome, {**current, **found}, deadline, solve=solve)
            if not state:
                return None
            found = {**found, **state}

    values = _needed(
        {q: (_fact_view(assessment, where[q], types[q]), v) for q, v in found.items()},
        lambda v: _verify(policy, assessment, v, decision, entity, outcome, as_of, params),
    )
    if values is None:
        return None
    changes = tuple(FactChange(q, _label_path(policy, f), current.get(q), v) for q, (f, v) in sorted(values.items()))
    note = Msg(N_("found by answering the open questions one at a time: not proven the fewest facts nor the closest values"))
    # (`tried`: the solver may better it with what is left, as for values tried)
    return Search((Counterfactual(changes, outcome, True),), note, 0.0, None, True)


def _one_more_fact(policy, then: probe.Prober, outcome, paths, where, kinds, bounds, current, first, deadline) -> dict[str, Any] | None:
    """From the assessment `then` reads (`first` applied to the one whose facts are
    `current`), one more fact that gives `outcome`, values tried one fact at a time:
    `first` and it, or None. The facts the first condition that fails reads come first
    (`achievement >= 40`: the measured value — of several hundred facts, the deadline may
    come before it), those of `first` last (settled on `planned`, a deferral may be one
    answer away — the data to collect rather than ready)."""
    reads = _failing_reads(policy, then, then.decision, outcome)
    again = sorted(paths, key=lambda q: ((where[q].input_name, where[q].field_name) not in reads, q in first))
    more, _complete = probe.single_changes(then, again, kinds, bounds, outcome, {**current, **first}, deadline)
    if not more:
        return None
    path = min(more)  # (the first in path order: the same answer every time)
    return {**first, path: more[path]}


def _solved_after(policy, assessment, answers, decision, entity, outcome, as_of, params, keep, deadline) -> dict[str, Any] | None:
    """The solver's search from the assessment the walk answered (`answers`, settled on
    another outcome), with half of what is left: every fact pinned at the walk's value but
    those it changes, the term is small where over the first assessment it is not (the
    questions the walk answered no longer open). The walk's answers and the solver's
    changes together, or None."""
    left = int((deadline - budget.now()) * 1000) // 2
    if left <= 50:
        return None
    try:
        answered = apply_changes(policy, assessment, answers)
    except StratError:
        return None
    search = _solved(policy, answered, decision, entity, outcome, as_of, params, keep, left, 1, smt.assessment_facts(policy, answered))
    if not search.counterfactuals:
        return None
    return {**{q: v for q, (_f, v) in answers.items()}, **{c.fact: c.new for c in search.counterfactuals[0].changes}}


def _failing_reads(policy: ir.CheckedPolicy, p: probe.Prober, decision: str, outcome: str) -> set[tuple[str, str]]:
    """The fields read by the first condition that fails of the first rule giving `outcome`
    (the earlier rules' false, its own true), as `p` reads them now; empty when none fails."""
    d = policy.decisions[decision]
    index = next((n for n, r in enumerate(d.rules) if r.outcome == outcome), None)
    goals = probe._goals(d, index) if index is not None else None
    if not goals:
        return set()
    held = p.truths({}, goals)
    if all(held):
        return set()
    fields, _consts = probe.cone_of(policy, [goals[held.index(False)][0]], [])
    return fields


def _tried_several(policy, assessment, decision, entity, outcome, as_of, params, current, prober, paths, types, where, bounds, deadline, held) -> Search | None:
    """No one fact does it: several, one condition of a rule at a time (probe.several_changes),
    the solver asked for a step where trying values stalls (`_condition_step`)."""
    field_of = {p: (where[p].input_name, where[p].field_name) for p in paths}
    solve = functools.partial(_condition_step, policy, assessment, as_of, params, frozenset(held))
    state = probe.several_changes(prober, paths, types, bounds, field_of, outcome, current, deadline, solve=solve)
    if not state:
        return None
    values = {path: (_fact_view(assessment, where[path], types[path]), value) for path, value in state.items()}
    if not _verify(policy, assessment, values, decision, entity, outcome, as_of, params):
        return None
    changes = tuple(FactChange(p, _label_path(policy, f), current.get(p), v) for p, (f, v) in sorted(values.items()))
    note = Msg(N_("found by trying values, one condition of the rule at a time: not proven the fewest facts nor the closest values"))
    return Search((Counterfactual(changes, outcome, True),), note, 0.0, None, True)


#: the most facts one step of the solver may change (the fewest first)
STEP_FACTS = 3


def _condition_step(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    as_of: date,
    params: dict[str, Any],
    held: frozenset[str],
    p: probe.Prober,
    paths: list[str],
    goal: tuple[ir.Expr, bool],
    state: dict[str, Any],
    current: dict[str, Any],
    deadline: float,
    earlier: tuple[tuple[ir.Expr, bool], ...] = (),
) -> dict[str, Any] | None:
    """The fewest of `paths` (then the nearest values) that give one condition of the
    decision's entity the truth wanted, every other fact at its value in `state`: where
    trying values stalls because no one or two facts move it (a DPIA month that needs
    personal data and two criteria). Only that condition is solved — it reads the entity's
    own figures, not the ranking — so the term is small; each answer is then checked with
    the evaluator against the `earlier` conditions the search already holds (the use case
    must stay selected), and one that breaks them is excluded and the solver asked again.
    None when the solver finds nothing in time."""
    try:
        return _solve_condition(policy, assessment, as_of, params, held, p, paths, goal, state, current, deadline, earlier)
    except z3.Z3Exception:  # (a solver failure is a step not found, never an error shown)
        return None


#: how many of the solver's answers for one condition may break an earlier one before the step gives up
STEP_RETRIES = 4


def _solve_condition(policy, assessment, as_of, params, held, p, paths, goal, state, current, deadline, earlier=()) -> dict[str, Any] | None:
    left = int((deadline - budget.now()) * 1000)
    if left < 100:
        return None
    expr, want = goal
    try:
        t = _translation(policy, assessment, as_of, params)
        value = t.expr(expr, (p.owner, p.entity) if p.owner is not None else None, smt.TRUE)
    except (smt.Untranslatable, KeyError):
        return None
    now = {**current, **state}
    free = sorted(q for q in paths if q in t.facts and q not in held and q not in state and q in now)  # (the same problem in every process)
    pinned = t.facts.keys() - set(free)
    subs = [pair for path, fact in t.facts.items() if path in now and path in pinned for pair in _pinned(t, fact, now[path])]
    term = z3.And(value.known, value.value if want else z3.Not(value.value))
    term = z3.simplify(smt.substitute(term, *subs)) if subs else term
    if z3.is_false(term):
        return None
    (names,) = _names(term)
    relevant = {q: t.facts[q] for q in free if smt.fact_names(t.facts[q]) & names}
    changed, kept_known = _change_flags(t, relevant, now)
    base: list[Any] = [term, *kept_known]
    touched = set().union(*(smt.fact_names(f) for f in relevant.values())) if relevant else set()
    base += [z3.simplify(smt.substitute(c, *subs)) if subs else c for c, read in _domain_names(t) if read & touched]
    s = smt.solver(left)
    s.add(*base)
    k, retries = 1, 0
    while k <= min(STEP_FACTS, len(changed)):
        left = int((deadline - budget.now()) * 1000)
        if left < 50:
            return None
        answer, model = _at_most(s, changed, k, left)
        if answer == z3.unknown:
            return None
        if model is None:
            k += 1
            continue
        moved = _moved(model, changed)
        model = _closest(t, base, changed, moved, now, model, max(left // 2, 50))
        values = {q: smt.model_value(model, t.facts[q], t.codes) for q in moved}
        if not values or any(isinstance(v, Unknown) for v in values.values()):
            return None
        if not earlier or all(p.truths({**state, **values}, list(earlier))):
            return values
        retries += 1
        if retries > STEP_RETRIES:
            return None
        _exclude(s, changed, moved)  # another set of facts next
    return None


@dataclass(frozen=True)
class _FactView:
    """What `apply_changes` needs of a fact (the solver's `smt.Fact` has more)."""

    path: str
    input_name: str
    field_name: str
    type: Any
    entity: str | None = None


def _fact_view(assessment: Assessment, w: probe.Where, type_: Any) -> _FactView:
    """The fact at `w`, as `_verify` and the labels read it."""
    owner = assessment.entities[w.entity[0]][w.entity[1]].id if w.entity is not None else None
    return _FactView(w.path, w.input_name, w.field_name, type_, owner)


def _change_score(type_: Any, c: FactChange) -> Decimal:
    if isinstance(type_, NumberT) and isinstance(c.current, Decimal) and isinstance(c.new, Decimal):
        return abs(c.new - c.current) / _span(type_, c.current)
    return Decimal(0)


@dataclass(frozen=True)
class _Slice:
    """Facts the search may change; every other fact is replaced by its current value."""

    name: str | None  # "usecases[x]" when the slice is one entity's facts
    free: frozenset[str]
    full: bool = False  # every fact the decision reads: nothing is substituted


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
    """Up to `alternatives` verified changes of facts that make `decision` `outcome`, within
    `timeout_ms` of work (backends/budget.py: solver steps and evaluations, not the clock —
    the same answer on every machine), in stages:

    0. where the rule needs another decision's outcome (`plan when selection = selected`,
       `not_planned when roadmap != planned`), that decision's question first, with half of
       the budget (`_through_read`); its answers kept where they give this outcome, else
       one more fact from there.
    1. trying values (`_tried`, backends/probe): each fact the decision reads alone, set to
       the values worth trying, with the compiled evaluator. Fast (a few milliseconds per
       evaluation), but the values found are not proven the closest: the note says so.
       For a rule that reads a count of entities, UNDETERMINED_TRY_SHARE of the budget.
    2. when no one fact does it, a proof that no change gives the outcome: over every fact
       with at most 4, 8, … facts changed (`_unreachable`, briefly), then over the policy
       with ranks and counts abstracted (`_proven_none`): proves the outcomes structurally
       out of reach (`beyond_limit` with fewer use cases than slots) before the next stage
       spends its share on an outcome nothing gives.
    2b. entities moved one at a time through a count or the entity's rank (`_composed`;
       for a rank, the entity's own facts by the solver first).
    3. several facts, one condition of a rule at a time (probe.several_changes): not
       proven the fewest facts nor the closest values (the note says so). Skipped for a
       decision undetermined now (several answers at once: stage 4 gets the time, and stage
       1 only UNDETERMINED_TRY_SHARE of the budget).
    4. the solver's staged search (`_solved`): minimal sets of facts (or, out of time
       before the proof, the smallest found: the note says so), closest values.

    Every change shown is verified by validation and the reference evaluator."""
    origin = time.perf_counter()
    with smt.question(), budget.counted(timeout_ms) as meter:  # (its answer depends on it alone)
        found = _why_not(policy, assessment, decision, entity, outcome, as_of, params, keep, timeout_ms, alternatives)
    if not found.counterfactuals and found.note == "unknown within the time budget":  # (what to do about it)
        found = dataclasses.replace(found, note=Msg(N_("unknown within the time budget: a larger budget may find a change")))
    if meter.backstop:  # (a solver call or the search ran into its limit on the clock: say so)
        found = dataclasses.replace(found, note=_clock_stopped(found.note))
    return dataclasses.replace(found, seconds=time.perf_counter() - origin)


def _clock_stopped(note: Any) -> Msg:
    if note is None:
        return Msg(N_("the search was stopped by a limit on the clock: on another machine the answer may differ"))
    return Msg(N_("{note}; the search was stopped by a limit on the clock: on another machine the answer may differ"), note=note)


def _why_not(
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
    """Stages 1 and 2 of `why_not`, then the solver's staged search:

    A staged search. A decision that reads many others (a rank over every use case, a
    count of selected ones) is, over every fact at once, a large non-linear problem the
    solver rarely settles within a budget. So the facts are first *sliced*: the entity at
    hand's own facts, then those with the company's answers (records and groups), every
    other fact replaced by its current value — the term is simplified to the cone of
    influence of the slice. A decision made once (no entity) tries the company's answers,
    then each entity's facts alone. Only when no slice gives a verified change does the
    search run over every fact the decision reads. Minimality is within the slice that
    answered (`Search.scope`); every change is still re-evaluated before it is kept."""
    params = params or {}
    read = _read_decision(policy, decision, entity, outcome)
    if read is not None:
        origin = budget.now()
        through = _through_read(policy, assessment, decision, entity, outcome, as_of, params, keep, timeout_ms, alternatives, read)
        if through is not None:
            return through
        timeout_ms = max(timeout_ms - int((budget.now() - origin) * 1000), 0)  # (the stages below share what is left)
    start = budget.now()
    current = smt.assessment_facts(policy, assessment)
    proven: list[bool] = []

    def proof(quick: bool = True) -> bool:
        # before several facts are tried: quick where it holds (an outcome out of reach by
        # the ranking's structure), and that search would spend its whole share for nothing.
        # Over every fact first, briefly (out of reach on this shape: four use cases, five
        # slots; not for an undetermined decision, whose search needs the time), then over
        # ranks and counts abstracted
        deadline = budget.now() + timeout_ms * PROOF_SHARE / 1000
        found = quick and _unreachable_here()
        proven.append(found or _proven_none(policy, assessment, decision, entity, outcome, as_of, params, keep, current, deadline))
        return proven[-1]

    def _unreachable_here() -> bool:
        try:
            context = _context(policy, assessment, decision, entity, outcome, as_of, params, keep, alternatives, current)
        except smt.Untranslatable:
            return False
        return _unreachable(context, int(timeout_ms * UNREACHABLE_SHARE))

    rules = _movable(policy, decision, outcome) if decision in policy.decisions else []
    counted = _reads_count(rules)

    def composed(kind: str) -> Search | None:
        # entities moved one at a time (`_composed`), with two thirds of what is left: for a
        # count ("count") before several facts are tried over the whole decision (on the
        # methodology it is the stage that answers such a question); for a rank only
        # ("rank") after them
        if not rules or (kind == "count") != counted:
            return None
        left = timeout_ms / 1000 - (budget.now() - start)
        return _composed_search(policy, assessment, decision, entity, outcome, as_of, params, keep, current, alternatives, rules, budget.now() + left * 2 / 3)

    def own() -> Search | None:
        # for a rank only, before the ranked entities are moved: the solver over the entity's
        # own facts with a third of what is left (a deferral its own facts give takes fewer
        # facts than moving the others, and "none" there is quick)
        left = timeout_ms / 1000 - (budget.now() - start)
        found = _solved(policy, assessment, decision, entity, outcome, as_of, params, keep, int(left * 1000 / 3), alternatives, current, own_only=True)
        return found if found.counterfactuals else None

    tried = _tried(
        policy, assessment, decision, entity, outcome, as_of, params, keep, current, alternatives,
        start + timeout_ms * (TRY_SHARE + PROOF_SHARE) / 1000, proof, start + timeout_ms * UNDETERMINED_TRY_SHARE / 1000, composed,
        own if rules and not counted else None, counted,
    )
    if tried is NONE:
        return Search((), Msg(NO_CHANGE), budget.now() - start, unreachable=True)
    if tried is not None:
        # the solver may still give the fewest facts and the closest values, where it answers
        # quickly (small policies); within what is left, at most REFINE_SHARE of the budget.
        # Not after the counted entities were moved one at a time: that stage answers where
        # the search over every fact does not
        left = min(timeout_ms - int((budget.now() - start) * 1000), int(timeout_ms * REFINE_SHARE))
        if left > 50 and tried.tried:
            solved = _solved(policy, assessment, decision, entity, outcome, as_of, params, keep, left, alternatives, current)
            fewest = min(len(c.changes) for c in tried.counterfactuals)
            if solved.counterfactuals and min(len(c.changes) for c in solved.counterfactuals) <= fewest:
                return solved
        return tried
    if not proven and proof():  # (the stage stopped before asking)
        return Search((), Msg(NO_CHANGE), budget.now() - start, unreachable=True)
    left = timeout_ms - int((budget.now() - start) * 1000)
    return _solved(policy, assessment, decision, entity, outcome, as_of, params, keep, left, alternatives, current)


class _Needed(NamedTuple):
    """A decision's outcome that every change giving the outcome asked must give."""

    decision: str
    entity: str | None
    outcome: Any
    own: bool  # the rule's own condition (`plan when selection = selected`), not an earlier rule's


def _read_decision(policy: ir.CheckedPolicy, decision: str, entity: str | None, outcome: str) -> _Needed | None:
    """The outcome X of another decision D that every change giving `outcome` needs: a rule
    before the first one giving it — in force whenever it is (no dates) and without
    exceptions, so it must not hold — says `D != X` or `not D = X`, through definitions
    (`not_planned when roadmap != planned`, `not_planned when not is_selected` with
    `is_selected = selection = selected`); or the only rule giving it says `D = X`
    (`plan when selection = selected`). None when there is none."""
    d = policy.decisions.get(decision)
    giving = [n for n, r in enumerate(d.rules) if r.outcome == outcome] if d is not None else []
    if not giving or any(r.is_otherwise for r in d.rules[: giving[0]]):
        return None
    conds = [(r.cond, False) for r in d.rules[: giving[0]] if not r.exceptions and r.valid_from is None and r.valid_until is None]
    if len(giving) == 1 and not d.rules[giving[0]].is_otherwise:
        conds.append((d.rules[giving[0]].cond, True))
    for expr, want in conds:
        found = _needs_outcome(policy, expr, want)
        if found is None:
            continue
        read = policy.decisions[found[0]]
        if read.entity_input is None:
            return _Needed(found[0], None, found[1], want)
        if read.entity_input == d.entity_input and entity is not None:
            return _Needed(found[0], entity, found[1], want)
    return None


def _needs_outcome(policy: ir.CheckedPolicy, expr: ir.Expr, want: bool, depth: int = 0) -> tuple[str, Any] | None:
    """(D, X) when `expr` being `want` needs D to give X: `D = X` true, `D != X` false,
    through `not` and definitions (a few levels). Unlike `probe._decision_read` (the walk's
    guide), not the other outcomes of a decision `D = X` false leaves: only X named."""
    while isinstance(expr, ir.Not):
        expr, want = expr.operand, not want
    if isinstance(expr, ir.DefRef) and expr.member is None and expr.name in policy.definitions and depth < 4:
        return _needs_outcome(policy, policy.definitions[expr.name].expr, want, depth + 1)
    if not isinstance(expr, ir.Compare) or expr.op not in ("=", "!=") or (expr.op == "=") != want:
        return None
    return probe.decision_equals(policy, dataclasses.replace(expr, op="="))


def _through_read(policy, assessment, decision, entity, outcome, as_of, params, keep, timeout_ms, alternatives, read: _Needed) -> Search | None:
    """Every change that gives the outcome makes D give X (`_read_decision`): the question
    asked of D (why not X?) first, with THROUGH_SHARE of the budget — a smaller question,
    over D's facts only. Its answers are kept where the reference evaluator confirms them
    for this decision; where none is (an earlier rule fires, or the rule needs more than D:
    `stop` needs the use case planned, then its measure), one more fact is tried from D's
    first answer. D's proof that no change makes it give X is one that none gives this
    outcome. None when it finds nothing (the ordinary stages go on with what is left)."""
    try:
        decided = {(d.decision, d.entity): d for d in _evaluated(policy, assessment, as_of, params).decisions}
    except StratError:
        return None
    now, here = decided.get((read.decision, read.entity)), decided.get((decision, entity))
    if now is None or here is None or (now.status == DECIDED and now.outcome == read.outcome):
        return None  # (D gives X already: something else stands in the way)
    if not read.own and here.status != DECIDED:
        # (undetermined, the rule needing more than D — `test_verdict` of the express
        # diagnostic needs the use case planned, then its measure: the walk through its open
        # questions, guided by what the rule needs of D, answers it within the budget where
        # D's own question, then one more fact, does not)
        return None
    start = budget.now()
    inner = _why_not(policy, assessment, read.decision, read.entity, read.outcome, as_of, params, keep, int(timeout_ms * THROUGH_SHARE), alternatives)
    if not inner.counterfactuals:
        return Search((), Msg(NO_CHANGE), budget.now() - start, unreachable=True) if inner.unreachable else None
    where = probe.facts(assessment)
    types = {q: policy.inputs[w.input_name].fields[w.field_name].type for q, w in where.items()}

    def views(values: dict[str, Any]) -> dict[str, tuple[_FactView, Any]]:
        return {q: (_fact_view(assessment, where[q], types[q]), v) for q, v in values.items()}

    kept = [
        Counterfactual(cf.changes, outcome, True)
        for cf in inner.counterfactuals
        if _verify(policy, assessment, views({c.fact: c.new for c in cf.changes}), decision, entity, outcome, as_of, params)
    ]
    if kept:
        # D's fewest and closest are this outcome's where every one of them gives it; one
        # that does not (an earlier rule fires) may hide a closer change that does
        note = inner.note
        if len(kept) < len(inner.counterfactuals):
            note = Msg(N_("some of the changes that make {decision} give {outcome} do not give this outcome: not proven the fewest facts nor the closest values"), decision=read.decision, outcome=read.outcome)
        return Search(tuple(kept), note, budget.now() - start, inner.scope, inner.tried)
    first = {c.fact: c.new for c in inner.counterfactuals[0].changes}
    try:
        then = probe.Prober(policy, apply_changes(policy, assessment, views(first)), decision, entity, as_of, params)
    except (StratError, ValueError):
        return None
    current = smt.assessment_facts(policy, assessment)
    paths, bounds = _probe_paths(policy, where, _held(policy, where, keep), decision, entity, current)
    deadline = min(budget.now() + timeout_ms * MORE_SHARE / 1000, start + timeout_ms / 1000)
    more = _one_more_fact(policy, then, outcome, paths, where, types, bounds, current, first, deadline)
    values = more and _needed(views(more), lambda v: _verify(policy, assessment, v, decision, entity, outcome, as_of, params))
    if not values:
        return None
    changes = tuple(FactChange(q, _label_path(policy, f), current.get(q), v) for q, (f, v) in sorted(values.items()))
    note = Msg(N_("found by making {decision} give {outcome}, then one more fact: not proven the fewest facts nor the closest values"), decision=read.decision, outcome=read.outcome)
    return Search((Counterfactual(changes, outcome, True),), note, budget.now() - start, None, True)


def _solved(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    decision: str,
    entity: str | None,
    outcome: str,
    as_of: date,
    params: dict[str, Any],
    keep: tuple[str, ...],
    timeout_ms: int,
    alternatives: int,
    current: dict[str, Any],
    own_only: bool = False,
) -> Search:
    """Stage 3: the solver's staged search, within `timeout_ms` (`own_only`: the entity's
    own facts only, the first slice)."""
    start = budget.now()
    try:
        context = _context(policy, assessment, decision, entity, outcome, as_of, params, keep, alternatives, current)
    except smt.Untranslatable as error:
        return Search((), untranslatable_note(error), budget.now() - start)
    t, relevant = context.t, context.relevant_all
    tiers = _tiers(policy, t, entity, relevant)
    if own_only:
        tiers = tiers[:1] if len(tiers) > 1 and entity is not None else []
    unknown = False
    rejected = False
    unproven = False
    for n, tier in enumerate(tiers):
        last = n == len(tiers) - 1
        pooled: list[tuple[tuple, Counterfactual, str | None]] = []
        tier_start = budget.now()
        left = timeout_ms - int((tier_start - start) * 1000)
        share = left if last else left // 2  # a slice leaves the full search at least half of what is left
        for i, piece in enumerate(tier):
            used = int((budget.now() - tier_start) * 1000)
            piece_ms = min((share - used) // (len(tier) - i), timeout_ms - int((budget.now() - start) * 1000))
            if piece_ms <= 0:
                unknown = True
                break
            found, status = _search(context, piece, piece_ms)
            pooled.extend((key, cf, piece.name) for key, cf in found)
            unproven |= status == "found_unproven"
            unknown |= status == "unknown"
            rejected |= status == "rejected"
        if pooled:
            best = sorted(pooled, key=lambda item: item[0])[:alternatives]
            scopes = {name for _, _, name in best}
            scope = scopes.pop() if len(scopes) == 1 and entity is not None else None  # a decision made once: no one entity
            note = Msg(N_("the solver ran out of time before proving that fewer facts do not do it: not proven the fewest facts")) if unproven else None
            return Search(tuple(cf for _, cf, _ in best), note, budget.now() - start, scope)
        if not last:
            unknown = False  # a slice's silence says nothing of the full search
            rejected = False
    if not unknown and not rejected and tiers and not own_only and not z3.eq(context.reachable, context.goal):
        # none decided so over every fact: a proof only if none leaves it possible either (an
        # assessment with unanswered questions: `reachable_goal`), within what is left
        left = timeout_ms - int((budget.now() - start) * 1000)
        unknown = left <= 0 or not _unreachable(context, left)
    if unknown:
        note = Msg(N_("unknown within the time budget"))
    elif rejected:
        note = Msg(N_("the solver's answers were not confirmed by the evaluator (a rounding the solver does not model)"))
    else:
        note = Msg(NO_CHANGE)
    return Search((), note, budget.now() - start, unreachable=not unknown and not rejected and not own_only)


def _movable(policy: ir.CheckedPolicy, decision: str, outcome: str) -> list[tuple[list[tuple[ir.Expr, bool]], dict[int, tuple]]]:
    """For each rule giving `outcome`, the conditions it needs (`probe._goals`) and those of
    them that move with other entities: k → ("count", decision, outcome counted) for a count
    of entities by a decision's outcome (`planned_count = 0`), ("rank", rank) for the
    entity's place in a ranking of its own kind (`priority_rank between 1 and 5`). Only the
    rules with such a condition."""
    out = []
    d = policy.decisions[decision]
    for index, rule in enumerate(d.rules):
        if rule.outcome != outcome:
            continue
        goals = probe._goals(d, index)
        if goals is None:
            break
        goals = _through_decisions(policy, goals)
        marks: dict[int, tuple] = {}
        for k, (expr, _want) in enumerate(goals):
            counted = probe._counted(policy, expr)
            if counted:
                _aggregate, name, value = counted[0]
                marks[k] = ("count", name, value)
            elif d.entity_input is not None:
                ranked = probe._ranked(policy, expr, d.entity_input)
                if ranked:
                    marks[k] = ("rank", ranked[0])
        if marks:
            out.append((goals, marks))
    return out


def _reads_count(rules: list[tuple[list[tuple[ir.Expr, bool]], dict[int, tuple]]]) -> bool:
    """Whether a condition of `_movable`'s rules reads a count of entities."""
    return any(m[0] == "count" for _, marks in rules for m in marks.values())


def _through_decisions(policy: ir.CheckedPolicy, goals: list[tuple[ir.Expr, bool]]) -> list[tuple[ir.Expr, bool]]:
    """A rule's conditions with `D = outcome`, for a decision D made once for the company (the
    portfolio), replaced by what D needs to give that outcome (its rule's conditions), and the
    `and` holding it split into its parts: `portfolio = groundwork_first and study_rank …`
    becomes `selected_count < min_priorities` and `study_rank …` — a count the stage that
    moves entities one at a time can follow, then a rank."""
    out: list[tuple[ir.Expr, bool]] = []
    for expr, want in goals:
        parts = expr.items if want and isinstance(expr, ir.Logic) and expr.op == "and" else (expr,)
        inner = [_decision_goals(policy, part) if want else None for part in parts]
        if all(g is None for g in inner):
            out.append((expr, want))
            continue
        for part, g in zip(parts, inner, strict=True):
            out.extend(g if g is not None else [(part, True)])
    return out


def _decision_goals(policy: ir.CheckedPolicy, expr: ir.Expr) -> list[tuple[ir.Expr, bool]] | None:
    """What `D = outcome` needs, for a decision D made once: the conditions of D's first rule
    giving that outcome (`probe._goals`); None for anything else."""
    found = probe.decision_equals(policy, expr)
    if found is None or policy.decisions[found[0]].entity_input is not None:
        return None
    d = policy.decisions[found[0]]
    index = next((i for i, r in enumerate(d.rules) if r.outcome == found[1]), None)
    return probe._goals(d, index) if index is not None else None


def _composed(c: _Context, rules: list, budget_ms: int) -> tuple[list[tuple[tuple, Counterfactual]], set[str]]:
    """A decision whose rule reads a count of entities by another decision's outcome (a
    portfolio where no use case is planned), or the entity's place in a ranking (a use case
    beyond the number of priorities). Over every fact at once that is the whole policy; but
    a count or a rank moves one entity at a time, and each entity's decision or place is
    mostly its own facts. So, condition by condition of a rule (`_movable`), the first that
    does not hold is made to hold by one entity moved at a time:

    - a count: for an entity that must leave the count (or join it), its own decision's
      search (`_search` over its own facts, the moves made so far held) for each other
      outcome (or the counted one), the first whose change brings the condition nearer — or
      keeps it as near while that entity left the count as sought (another took its place:
      a use case deferred frees the capacity the next one waited for) (`_count_step`);
      a count left open by unanswered questions has no distance yet: its open entities are
      settled one at a time first, each move kept when fewer are left open;
    - a rank: another entity moved before the entity asked about (or after it), by a search
      over its own facts for "it passes the ranking's filter and comes first" (`_rank_step`);
      a place left open: the open rows settled one at a time first (`_rank_settled`);
    - a condition of the entity's own (it must be eligible before it can be ranked): the
      solver over its own facts (`_solve_condition`), the conditions before it kept.

    An entity moves at most twice (MOVES), the second time to another outcome — its first
    move undone by a later one (a capacity deferral when the use case it waited for is
    deferred in turn). The moves composed are checked by the evaluator and made smaller
    (`_shrink`); the set is not proven the fewest. Also returns the kinds of moves made."""
    start = budget.now()
    try:
        prober = probe.Prober(c.policy, c.assessment, c.decision, c.entity, c.as_of, c.params)
    except ValueError:
        return [], set()
    state: dict[str, tuple[Any, Any]] = {}
    counted = _reads_count(rules)
    moved: dict[str, int] = {}  # entity → how many times it was moved
    kinds: set[str] = set()
    # (entity, outcome) moves found wanting once — no change, or one that breaks an earlier
    # condition (a use case deselected: too few selected): not searched again next round
    # (a move that takes the count the wrong way is: after other moves it may not)
    refused: set[tuple[str, Any]] = set()
    while not (state and _confirms(c, state)):
        if (budget.now() - start) * 1000 >= budget_ms:
            return [], kinds
        step = None
        plain = {p: v for p, (_, v) in state.items()}
        for goals, marks in rules:
            held = prober.truths(plain, goals)
            if False not in held:
                continue
            k = held.index(False)
            mark = marks.get(k)
            kind = "own" if mark is None else mark[0]
            if mark is None:
                step = _own_step(c, prober, goals, k, state, refused, start, budget_ms)
            elif kind == "count":
                step = _count_step(c, prober, goals, k, mark[1], mark[2], state, moved, refused, start, budget_ms)
            else:
                # an entity the ranking's filter leaves out (a prohibited use case is not
                # ranked for study) is ranked by no other entity's move: its own facts first
                # (where a count is moved too: a rank alone had its own facts searched before
                # this stage, `_why_not`'s `own`)
                rank = mark[1]
                if counted and c.entity is not None and rank.where is not None and prober.truths(plain, [(rank.where, True)]) == [False]:
                    step = _own_step(c, prober, goals, k, state, refused, start, budget_ms)
                    kind = "own"
                if step is None:
                    step, kind = _rank_step(c, prober, goals, k, rank, state, moved, refused, start, budget_ms), "rank"
            if step is not None:
                kinds.add(kind)
                break
        if step is None:
            return [], kinds
        entity, values = step
        moved[entity] = moved.get(entity, 0) + 1
        state.update(values)
    smaller = _shrink(c, state)
    if smaller is None:
        return [], kinds
    changes = tuple(FactChange(p, _label_path(c.policy, fact), c.current.get(p), v) for p, (fact, v) in sorted(smaller.items()))
    return [((len(changes), _score(c.t, changes), tuple(x.fact for x in changes)), Counterfactual(changes, c.outcome, True))], kinds


#: how many times `_composed` may move one entity
MOVES = 2


def _left_ms(start: float, budget_ms: int) -> int:
    return budget_ms - int((budget.now() - start) * 1000)


def _own_facts(c: _Context, owner: str, entity: str, state: dict[str, Any], again: bool = False) -> frozenset[str]:
    """An entity's facts the decision reads, not held and not changed yet (`again`: or
    changed by an earlier move, to be changed once more)."""
    prefix = f"{c.t.entity_path(owner, entity)}."
    return frozenset(p for p in c.relevant_all if p.startswith(prefix) and p not in c.held and (again or p not in state))


class _Where(NamedTuple):
    """Condition `k` of a rule's goals as a step of `_composed` sees it."""

    expr: ir.Expr
    want: bool
    earlier: list[tuple[ir.Expr, bool]]  # the conditions before it
    plain: dict[str, Any]  # the state's values
    base: Decimal | None  # how far it is from holding with them; None: unknown (open questions)


def _where(prober: probe.Prober, goals: list, k: int, state: dict[str, tuple[Any, Any]]) -> _Where | None:
    """Condition `k` of `goals` with the state's values (None when an earlier one fails)."""
    expr, want = goals[k]
    earlier = goals[:k]
    plain = {p: v for p, (_, v) in state.items()}
    ok, base = prober.score(plain, earlier, expr, want)
    return _Where(expr, want, earlier, plain, base) if ok else None


def _rank_setting(c: _Context, rank: ir.Rank, state: dict[str, tuple[Any, Any]], plain: dict[str, Any]) -> tuple[Assessment, dict[str, Any]] | None:
    """For a step through `rank`: the assessment with the moves so far and every fact's
    value with them (None: the rank is not translated, or the evaluator refuses the moves)."""
    try:
        c.t.expr(rank, (rank.input_name, c.entity), smt.TRUE)  # (the pairs are made with the rank)
        changed = apply_changes(c.policy, c.assessment, state)
    except (smt.Untranslatable, StratError):
        return None
    return changed, {**c.current, **plain}


def _pins(c: _Context, now: dict[str, Any]) -> list[tuple[Any, Any]]:
    """Every fact's value in `now` as pairs substituting the translation's terms. (Made
    after the terms a step asks about: z3 numbers its terms as they are made, and its
    search follows that order.)"""
    return [pair for p, f in c.t.facts.items() if p in now for pair in _pinned(c.t, f, now[p])]


def _own_step(
    c: _Context, prober: probe.Prober, goals: list, k: int, state: dict[str, tuple[Any, Any]], refused: set, start: float, budget_ms: int
) -> tuple[str, dict[str, tuple[Any, Any]]] | None:
    """A condition of the entity's own made to hold by the solver over its own facts, the
    conditions before it kept (once per condition)."""
    if c.entity is None or (c.entity, k) in refused:
        return None
    refused.add((c.entity, k))
    owner = c.policy.decisions[c.decision].entity_input
    own = _own_facts(c, owner, c.entity, state)
    left = _left_ms(start, budget_ms)
    if not own or left <= 0:
        return None
    plain = {p: v for p, (_, v) in state.items()}
    found = _condition_step(c.policy, c.assessment, c.as_of, c.params, frozenset(c.held), prober, sorted(own), goals[k], plain, c.current,
                            budget.now() + max(left // 4, min(left, 200)) / 1000, tuple(goals[:k]))
    if not found:
        return None
    return c.entity, {p: (c.t.facts[p], v) for p, v in found.items()}


def _rank_step(
    c: _Context,
    prober: probe.Prober,
    goals: list,
    k: int,
    rank: ir.Rank,
    state: dict[str, tuple[Any, Any]],
    moved: dict[str, int],
    refused: set,
    start: float,
    budget_ms: int,
) -> tuple[str, dict[str, tuple[Any, Any]]] | None:
    """One entity moved before the entity asked about in a ranking (or after it), for
    `_composed`: (its id, the facts changed), or None. The search is over that entity's
    own facts for the translation's "passes the filter, keys known, comes first" term; a
    change is kept when the evaluator says the condition came nearer, the earlier ones
    still holding. A condition left unknown by open questions has no distance:
    `_rank_settled` settles the open rows instead."""
    where = _where(prober, goals, k, state)
    if where is None:
        return None
    if where.base is None:
        return _rank_settled(c, prober, where, rank, state, moved, refused, start, budget_ms)
    expr, want, earlier, plain, base = where
    setting = _rank_setting(c, rank, state, plain)
    if setting is None:
        return None
    changed, now = setting
    pins = _pins(c, now)

    def nearer(values: dict[str, tuple[Any, Any]], level: bool = False) -> bool:
        ok, gap = prober.score({**plain, **{p: v for p, (_, v) in values.items()}}, earlier, expr, want)
        return ok and gap is not None and (gap < base or (level and gap == base))

    others = [e for e in c.t.scope_entities(rank.input_name) if e != c.entity and moved.get(e, 0) < MOVES]
    first = {e: z3.is_true(z3.simplify(smt.substitute(c.t.precedes[(rank.id, e, c.entity)], *pins))) for e in others}
    # which way the condition wants the entity's place to go: only the entities that can move
    # it that way (up: one before it moved after; down: one after it moved before) — a search
    # the other way finds changes the evaluator rejects, each at the cost of a search. When
    # the condition does not say, those that do not come first yet before those that do: a
    # rank to push down (beyond the number of priorities) is the usual question
    way = prober.way(plain, expr, want, rank)
    if way is not None:
        others = [e for e in others if first[e] == (way < 0)]
    kept = _holding(c, earlier)
    order = [e for e in sorted(others, key=lambda e: (first[e], e)) if (e, not first[e]) not in refused]
    for n, e in enumerate(order):
        sought = not first[e]
        # (its facts an earlier move changed too: a use case moved out of the count of
        # selected ones now ranks before the one asked about, and the same figure moves it
        # after — its value from that move)
        own = _own_facts(c, rank.input_name, e, state, again=True)
        left = _left_ms(start, budget_ms)
        if left <= 0:
            return None
        if not own:
            continue
        term = c.t.precedes[(rank.id, e, c.entity)]
        goal = z3.And(term if sought else smt._not(term), kept)
        # a condition that reads the place through a schedule (`scheduled_end <= 12` wanted
        # false: the way is not said) may stay as near while one more entity comes before
        # (two pilots at once: the third ahead delays it): a move down the ranking that
        # keeps it as near is kept, as a count's move is; `_shrink` drops it if not needed
        level = way is None and sought
        sub = dataclasses.replace(
            c, assessment=changed, goal=goal, current=now, held=(c.held | set(state)) - own, alternatives=1, candidates=1,
            confirm=functools.partial(nearer, level=level),
        )
        # (a share of what is left for each entity still to try, at most four: when the
        # condition says which way, two or three are often all there are)
        found, _status = _search(sub, _Slice(None, own), max(left // min(len(order) - n, 4), min(left, 200)))
        refused.add((e, sought))
        if found:
            return e, {x.fact: (c.t.facts[x.fact], x.new) for x in min(found, key=lambda item: item[0])[1].changes}
    return None


def _rank_settled(
    c: _Context, prober: probe.Prober, where: _Where, rank: ir.Rank, state: dict[str, tuple[Any, Any]], moved: dict[str, int], refused: set, start: float, budget_ms: int
) -> tuple[str, dict[str, tuple[Any, Any]]] | None:
    """A place in a ranking left open by unanswered questions (the express diagnostic:
    whether another use case passes the ranking's filter, or how it compares, is unknown),
    for `_rank_step`: the entity's own row settled in the ranking, else one other entity
    whose row is open settled by its own facts — ranked after the entity asked about, out
    of the ranking, else before it — the earlier conditions holding. (An entity settled so
    may still be moved later, as any other.)"""
    expr, want, earlier, plain, _base = where
    setting = _rank_setting(c, rank, state, plain)
    if setting is None:
        return None
    changed, now = setting
    rows = {e: _rank_row(c.t, rank, e) for e in c.t.scope_entities(rank.input_name) if moved.get(e, 0) < MOVES}
    pins = _pins(c, now)
    kept = _holding(c, earlier)

    def holds(values: dict[str, tuple[Any, Any]]) -> bool:
        ok, _gap = prober.score({**plain, **{p: v for p, (_, v) in values.items()}}, earlier, expr, want)
        return ok

    def settled(term: Any) -> bool:
        return z3.is_true(z3.simplify(smt.substitute(term, *pins)))

    # the entity's own row first: in the ranking (its filter passed, its keys known)
    for e, (out, ranked) in sorted(rows.items(), key=lambda row: (row[0] != c.entity, row[0])):
        if settled(ranked if e == c.entity else z3.Or(out, ranked)):
            continue
        before = c.t.precedes[(rank.id, e, c.entity)] if e != c.entity else smt.FALSE
        own = _own_facts(c, rank.input_name, e, state, again=True)
        # after it (a figure), out of the ranking (a filter), before it (a rank to push down)
        tries = (ranked,) if e == c.entity else (z3.And(ranked, smt._not(before)), out, before)
        for n, goal in enumerate(tries):
            left = _left_ms(start, budget_ms)
            if left <= 0:
                return None
            if not own or (e, f"settled {n}") in refused:
                continue
            refused.add((e, f"settled {n}"))
            sub = dataclasses.replace(
                c, assessment=changed, goal=z3.And(goal, kept), current=now, held=(c.held | set(state)) - own, alternatives=1, candidates=1, confirm=holds,
            )
            found, _status = _search(sub, _Slice(None, own), max(left // 4, min(left, 200)))
            if found:
                return e, {x.fact: (c.t.facts[x.fact], x.new) for x in min(found, key=lambda item: item[0])[1].changes}
    return None


def _rank_row(t: smt.Translation, rank: ir.Rank, e: str) -> tuple[Any, Any]:
    """Whether entity `e` is known to be out of `rank` (its filter known false, or not
    applicable), and whether it is known to be in it with every key settled (known, or not
    applicable: such a key comes last, as in `smt.Translation._Rank`)."""
    scope = (rank.input_name, e)
    w = t.expr(rank.where, scope, smt.TRUE) if rank.where is not None else smt.SVal(smt.TRUE, smt.TRUE, "bool")
    keys = [t.expr(key, scope, smt.TRUE) for key, _desc in rank.keys]
    out = z3.Or(z3.And(w.known, smt._not(w.value)), w.is_na)
    return out, z3.And(w.known, w.value, *[key.settled for key in keys])


def _count_step(
    c: _Context,
    prober: probe.Prober,
    goals: list,
    k: int,
    name: str,
    value: Any,
    state: dict[str, tuple[Any, Any]],
    moved: dict[str, int],
    refused: set[tuple[str, str]],
    start: float,
    budget_ms: int,
) -> tuple[str, dict[str, tuple[Any, Any]]] | None:
    """One entity moved for `_composed`: (its id, the facts changed), or None.

    A count left open by unanswered questions (the express diagnostic: how many use cases
    are selected is unknown while their selection is open) is settled first: an entity
    whose decision may still be the counted outcome is given another, by its own facts —
    out of the count, then into it — and the move is kept when fewer such entities are
    left, the earlier conditions holding."""
    where = _where(prober, goals, k, state)
    if where is None:
        return None
    expr, want, earlier, plain, base = where
    try:
        changed = apply_changes(c.policy, c.assessment, state)
        result = _evaluated(c.policy, changed, c.as_of, c.params)
    except StratError:
        return None
    now = {**c.current, **plain}
    owner = c.policy.decisions[name].entity_input
    outcomes = [o.name for o in c.policy.decisions[name].outcomes]
    opened = _open_members(result, name, value)
    # an entity moves at most twice: a deferral that waited for another use case's slot is
    # undone when that one is deferred in turn, and is then made again, for another reason.
    # A count left open: the entities that may still be counted; else those decided
    counted = [
        d for d in result.decisions
        if d.decision == name and d.entity is not None and moved.get(d.entity, 0) < MOVES and (_open_member(d, value) if base is None else d.outcome is not None)
    ]
    kept = _holding(c, earlier)
    # those in the count first: a count to bring down (none planned) is the usual question
    for d in sorted(counted, key=lambda d: d.outcome != value):
        # out of the count, or into it; the time left shared with the entities after this one
        if base is None:
            wanted = [o for o in outcomes if o != value and o in d.possible] + [value]
        else:
            wanted = [o for o in outcomes if o != value] if d.outcome == value else [value]
        own = _own_facts(c, owner, d.entity, state)
        if not own:
            continue
        for outcome in wanted:
            if (d.entity, outcome) in refused:
                continue
            left = _left_ms(start, budget_ms)
            if left <= 0:
                return None
            try:
                goal = c.t.decision(name, d.entity).decided[outcome]
            except (smt.Untranslatable, KeyError):
                continue
            sub = dataclasses.replace(
                c, assessment=changed, goal=z3.And(goal, kept), current=now, held=c.held | set(state), decision=name, entity=d.entity, outcome=outcome,
                alternatives=1, candidates=1,
            )
            found, status = _search(sub, _Slice(None, own), max(left // 4, min(left, 200)))
            if not found:
                if status != "unknown":
                    refused.add((d.entity, outcome))
                continue
            values = {x.fact: (c.t.facts[x.fact], x.new) for x in min(found, key=lambda item: item[0])[1].changes}
            ok, gap = prober.score({**plain, **{p: v for p, (_, v) in values.items()}}, earlier, expr, want)
            if base is None and ok and _open_members(_moved_result(c, {**state, **values}), name, value) < opened:
                refused.add((d.entity, outcome))
                return d.entity, values
            if base is not None and ok and gap is not None and gap <= base:
                refused.add((d.entity, outcome))  # (moved again, it is for another outcome)
                return d.entity, values
            if not ok:
                refused.add((d.entity, outcome))
    return None


def _open_member(d: Any, value: str) -> bool:
    """Whether a decision's result is open and may still be `value`."""
    return d.outcome is None and value in d.possible


def _open_members(result: Any, name: str, value: str) -> float:
    """How many entities' decision `name` is open and may still be `value` in `result`
    (infinitely many where the evaluator refused the changes)."""
    if result is None:
        return math.inf
    return sum(1 for d in result.decisions if d.decision == name and d.entity is not None and _open_member(d, value))


def _moved_result(c: _Context, values: dict[str, tuple[Any, Any]]) -> Any:
    """The evaluation of the assessment with `values` (None: the evaluator refused them)."""
    try:
        return _evaluated(c.policy, apply_changes(c.policy, c.assessment, values), c.as_of, c.params)
    except StratError:
        return None


def _holding(c: _Context, earlier: list[tuple[ir.Expr, bool]]) -> Any:
    """The conditions of the rule before the one a step of `_composed` moves, as a term that
    they hold (known, with the truth wanted) for the decision's entity: a step's search for
    one entity's change asks for it too, so that the solver does not answer with a change
    the evaluator then rejects for breaking them (a use case moved out of the count of
    selected ones by selecting it again). TRUE for a condition the translation lacks."""
    owner = c.policy.decisions[c.decision].entity_input
    scope = (owner, c.entity) if owner is not None else None
    terms = []
    for expr, want in earlier:
        try:
            value = c.t.expr(expr, scope, smt.TRUE)
        except (smt.Untranslatable, KeyError):
            continue
        terms.append(z3.And(value.known, value.value if want else z3.Not(value.value)))
    return z3.And(*terms) if terms else smt.TRUE


def _context(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    decision: str,
    entity: str | None,
    outcome: str,
    as_of: date,
    params: dict[str, Any],
    keep: tuple[str, ...],
    alternatives: int,
    current: dict[str, Any],
) -> _Context:
    """What a solver search for this question reads (raises smt.Untranslatable)."""
    t = _translation(policy, assessment, as_of, params)
    goal = t.decision(decision, entity).decided[outcome]
    (names,) = _names(goal)
    relevant = frozenset(p for p, f in t.facts.items() if smt.fact_names(f) & names and p in current)
    constraints = [*_domain_names(t), *_domain_names(t, "safety")]
    held = held_facts(policy, t, keep)
    return _Context(
        policy, assessment, t, goal, current, held, decision, entity, outcome, as_of, params, alternatives, constraints, relevant,
        reachable=reachable_goal(t, decision, entity, outcome, _held_open(t, current, held, names)),
    )


def _composed_search(policy, assessment, decision, entity, outcome, as_of, params, keep, current, alternatives, rules, deadline) -> Search | None:
    """Stage 2b of `why_not` (`_composed`), for a decision whose rule reads a count of
    entities by outcome or the entity's rank; None when it does not, or when nothing was
    found by `deadline`. `rules`: `_movable`'s."""
    if not rules:
        return None
    start = budget.now()
    try:
        context = _context(policy, assessment, decision, entity, outcome, as_of, params, keep, alternatives, current)
    except smt.Untranslatable:
        return None
    composed, kinds = _composed(context, rules, int((deadline - budget.now()) * 1000))
    if not composed:
        return None
    if "rank" in kinds:
        note = Msg(N_("found by moving the entities ranked with it one at a time: not proven the fewest facts"))
    else:
        note = Msg(N_("found by moving the entities counted one at a time: not proven the fewest facts"))
    return Search(tuple(cf for _, cf in composed), note, budget.now() - start)


@dataclass(frozen=True)
class _Context:
    policy: ir.CheckedPolicy
    assessment: Assessment
    t: smt.Translation
    goal: Any
    current: dict[str, Any]
    held: set[str]
    decision: str
    entity: str | None
    outcome: str
    as_of: date
    params: dict[str, Any]
    alternatives: int
    constraints: list[tuple[Any, set[str]]]  # the ranges and safety constraints, with the names each reads
    relevant_all: frozenset[str] = frozenset()  # every fact the decision reads
    candidates: int = CANDIDATES  # minimal sets to compare (1: the first found will do)
    #: what confirms a change instead of the decision's outcome (a sub-search of `_composed`:
    #: "the condition came nearer", by the evaluator)
    confirm: Callable[[dict[str, tuple[Any, Any]]], bool] | None = None
    #: the outcome still possible (`DecisionTerm.possible`), what a proof that no change
    #: gives it is over (`reachable_goal`)
    reachable: Any = None


def reachable_goal(t: smt.Translation, decision: str, entity: str | None, outcome: str, held_open: bool) -> Any:
    """What a proof that no change gives `outcome` must rule out. Where the decision is
    translated exactly (`DecisionTerm.exact`), the solver decides what the evaluator decides
    on every assessment: "decided". Elsewhere the evaluator settles more than the solver
    (possible values past what is translated), so "decided" is kept only where answering
    the open questions the decision reads would make the solver settle it too — no
    `known(…)` among them (`smt.loose`) and no held fact unanswered (`held_open`: it stays
    so in every change); otherwise the outcome decided *or left possible*: where the
    evaluator decides it, the solver does or leaves it possible."""
    term = t.decision(decision, entity)
    if term.exact or (not held_open and not smt.loose(t, decision)):
        return term.decided[outcome]
    return term.possible[outcome]


def _held_open(t: smt.Translation, current: dict[str, Any], held: set[str], read: frozenset[str]) -> bool:
    """Whether a held fact the goal reads (`read`: its solver names) is unanswered: it stays
    so in every change considered (`reachable_goal`)."""
    return any(isinstance(current.get(p), Unknown) and smt.fact_names(t.facts[p]) & read for p in held if p in t.facts)


def _tiers(policy: ir.CheckedPolicy, t: smt.Translation, entity: str | None, relevant: frozenset[str]) -> list[list[_Slice]]:
    """The slices to search, in order; the last tier is every fact the decision reads."""
    by_owner: dict[str, set[str]] = {}
    company: set[str] = set()
    for path in sorted(relevant):  # (the owners in one order in every process: `own` is the first match)
        fact = t.facts[path]
        if policy.inputs[fact.input_name].kind == "many":
            by_owner.setdefault(t.entity_path(fact.input_name, fact.entity), set()).add(path)
        else:
            company.add(path)
    tiers: list[list[_Slice]] = []
    if entity is not None:
        own = next((paths for owner, paths in by_owner.items() if owner.endswith(f"[{entity}]")), set())
        if own:
            tiers.append([_Slice(next(o for o, p in by_owner.items() if p is own), frozenset(own))])
            if company:
                tiers.append([_Slice(None, frozenset(own | company))])
    elif by_owner:
        tier = [_Slice(None, frozenset(company))] if company else []
        tier += [_Slice(owner, frozenset(paths)) for owner, paths in sorted(by_owner.items())]
        tiers.append(tier)
    full = _Slice(None, relevant, full=True)
    tiers = [tier for tier in tiers if not (len(tier) == 1 and tier[0].free == relevant)]
    return [*tiers, [full]]


def _pinned(t: smt.Translation, fact: smt.Fact, value: Any) -> list[tuple[Any, Any]]:
    """Substitutions that replace a fact's solver variables by its current value."""
    if isinstance(value, Unknown):
        return [(fact.known, z3.BoolVal(False))]  # its value variable stays free (and unread)
    out: list[tuple[Any, Any]] = [(fact.known, z3.BoolVal(True))]
    if isinstance(fact.var, dict):
        members = {str(v) for v in value}
        return out + [(bit, z3.BoolVal(k in members)) for k, bit in fact.var.items()]
    if isinstance(fact.type, NumberT):
        if z3.is_int(fact.var):
            scale = 1 if fact.type.integer else GRID
            return out + [(fact.var, z3.IntVal(int(Decimal(value) * scale)))]
        return out + [(fact.var, z3.RealVal(str(value)))]
    return out + [(fact.var, t.constant(value, fact.type).value)]


def _change_flags(t: smt.Translation, relevant: dict[str, smt.Fact], current: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """For each fact the solver may change, the term true when it is changed, and the
    constraints that a change gives a value and never takes one away."""
    changed: dict[str, Any] = {}
    kept_known: list[Any] = []
    for path, fact in relevant.items():
        value = current[path]
        if isinstance(value, Unknown):
            changed[path] = fact.known  # answering a missing question is a change
        else:
            changed[path] = z3.Not(z3.And(fact.known, t.equals(fact, value)))
            kept_known.append(z3.Implies(changed[path], fact.known))
    return changed, kept_known


def _search(c: _Context, piece: _Slice, budget_ms: int) -> tuple[list[tuple[tuple, Counterfactual]], str]:
    """The smallest verified changes within one slice: (key, counterfactual) pairs, and
    "found", "found_unproven" (the smallest found when time ran out before a proof that
    fewer facts do not do it), "none" (proven within the slice), "unknown" (budget) or
    "rejected". Sizes are tried one after the other up to ASCEND, then doubled; a set
    found past a skipped size is brought down to the fewest (`_descend`)."""
    start = budget.now()
    posed = _posed(c, piece)
    if posed is None:
        return [], "none"
    goal, relevant, changed, base = posed
    t, current = c.t, c.current
    candidates: list[tuple[tuple, Counterfactual]] = []
    rejected = 0
    s = smt.solver(budget_ms)
    s.add(*base)
    status = "unknown" if changed else "none"  # (no fact left to change: nothing does it)
    if not piece.full and changed:
        # one fact alone: the solver over the slice settles it at once more often than not;
        # when it cannot, each fact alone (others pinned, most often settled by simplification)
        quick, _ = _at_most(s, changed, 1, max(min(budget_ms // 5, SINGLE_CHECK_MS), 1))
        if quick == z3.unsat:
            status = "none"
        elif quick == z3.unknown:
            singles, status = _singles(c, goal, relevant, changed, budget_ms - int((budget.now() - start) * 1000))
            if singles:
                return singles, "found"
    k = 1 if status != "none" else 2  # "none": no single fact does it
    below = k - 1  # every size up to this one is proven too small
    if piece.full and len(changed) > ASCEND:
        # the search over every fact comes after the slices found nothing, and its proofs
        # for small sizes are the costly part: sets of up to ASCEND + 1 first, the proof
        # of the fewest left to the descent (a proof for one size is one for all below)
        k, below = ASCEND + 1, 0
    status = "none"
    proven = True
    # every minimal set of the smallest sizes (up to CANDIDATES), then a canonical order:
    # the answer does not depend on which of equally good sets the solver meets first
    while k <= len(changed) and len(candidates) < c.candidates and (len(candidates) < c.alternatives or _all_of_size(candidates, k)):
        left = budget_ms - int((budget.now() - start) * 1000)
        if left <= 0:
            status = "unknown"
            break
        # before a set is found, one size may take a third of what is left: a proof that
        # no small set does it can be the hard part, and a larger set is still an answer
        answer, model = _at_most(s, changed, k, left if candidates or k >= len(changed) else max(left // 3, min(left, 100)))
        if answer == z3.unknown:
            if candidates or k >= len(changed) or budget_ms - int((budget.now() - start) * 1000) <= 0:
                status = "unknown"
                break
            proven = False  # (this size undecided: larger ones next, the fewest not proven)
            k = min(2 * k, len(changed))
            continue
        if model is None:
            if candidates and len(candidates) >= c.alternatives:
                break
            below = k
            if k >= len(changed):
                break  # (no set of the facts there are does it)
            # past the small sizes, the sizes double until a set is found: a change of twelve
            # answers (an express diagnostic) is not reached through twelve proofs that fewer
            # do not do it (alternatives, once one is found, come one size up at most)
            k = k + 1 if k < ASCEND or candidates else min(2 * k, len(changed))
            continue
        moved = _moved(model, changed)
        values = None
        if not candidates and len(moved) <= below + 1:
            proven = True  # (every smaller size is proven too small)
        elif not candidates:
            # a size was skipped: down to the fewest, each set found made smaller
            values, proven = _descend(c, s, changed, moved, model, below, start, budget_ms)
            if values is None:  # (not confirmed by the evaluator: another set next)
                rejected += 1
                if rejected > 3:
                    break
                _exclude(s, changed, moved)
                continue
            moved = sorted(values)
            k = len(moved)
            model = None
            left = max(budget_ms - int((budget.now() - start) * 1000), 100)
        confirmed = values  # (a set made smaller: its values already confirmed)
        closer = _closest(t, base, changed, moved, current, model, left)
        if closer is not None:
            values = {p: (t.facts[p], smt.model_value(closer, t.facts[p], t.codes)) for p in moved}
            if confirmed is not None and not _confirms(c, values):
                values = confirmed
        if _confirms(c, values):
            changes = tuple(FactChange(p, _label_path(c.policy, fact), current.get(p), v) for p, (fact, v) in sorted(values.items()))
            candidates.append(((len(changes), _score(t, changes), tuple(x.fact for x in changes)), Counterfactual(changes, c.outcome, True)))
        else:
            rejected += 1
            if rejected > 3:
                break
        _exclude(s, changed, moved)  # another set next
        if not proven:
            break  # (the fewest is not known: no other set of this size is looked for)
    if candidates:
        return candidates, "found" if proven else "found_unproven"
    if rejected and status != "unknown":
        return [], "rejected"
    return [], status


def _unreachable(c: _Context, budget_ms: int) -> bool:
    """Whether the solver proves, within `budget_ms`, that no change of the facts not held
    gives the outcome, over every fact the decision reads (no ranks abstracted): quick where
    the outcome is out of reach by the ranking's structure on this assessment's shape (four
    use cases, five slots: none is beyond the limit), before the abstract proof. As the
    search over every fact does it: at most ASCEND + 1 facts changed, then twice as many,
    up to all of them (what the solver learns on the small sizes settles the large ones
    quicker than one question over every fact)."""
    start = budget.now()
    if c.reachable is not None:
        c = dataclasses.replace(c, goal=c.reachable)  # (a proof: over what `reachable_goal` says)
    posed = _posed(c, _Slice(None, c.relevant_all, full=True))  # (the decided term reads all the possible one does)
    if posed is None:
        return True
    _goal, _relevant, changed, base = posed
    s = smt.solver(budget_ms)
    s.add(*base)
    k = min(ASCEND + 1, len(changed))
    while True:
        left = budget_ms - int((budget.now() - start) * 1000)
        if left <= 0 or _at_most(s, changed, k, left)[0] != z3.unsat:
            return False
        if k >= len(changed):
            return True
        k = min(2 * k, len(changed))


def _posed(c: _Context, piece: _Slice) -> tuple[Any, dict[str, smt.Fact], dict[str, Any], list[Any]] | None:
    """The problem of one slice: the goal (its other facts at their values), the facts the
    search may change with their "changed" terms, and the constraints to assert; None when
    the goal is false with the other facts as they are."""
    t, current = c.t, c.current
    free = sorted(p for p in piece.free if p not in c.held)  # (the same problem, so the same answer, in every process)
    subs: list[tuple[Any, Any]] = []
    if not piece.full:
        for path, fact in t.facts.items():
            if path in current and (path not in piece.free or path in c.held):
                subs += _pinned(t, fact, current[path])
    goal = z3.simplify(smt.substitute(c.goal, *subs)) if subs else c.goal
    if z3.is_false(goal):
        return None
    (names,) = _names(goal)
    relevant = {p: t.facts[p] for p in free if smt.fact_names(t.facts[p]) & names}
    base: list[Any] = [goal]
    if piece.full:
        base += [t.pin(t.facts[p], current[p]) for p in sorted(piece.free) if p in c.held]
    changed, kept_known = _change_flags(t, relevant, current)
    base += kept_known
    touched = set().union(*(smt.fact_names(f) for f in relevant.values())) if relevant else set()
    read: set[str] = set()
    for constraint, names_c in c.constraints:
        if not names_c & touched:
            continue  # over pinned facts only: true of the current assessment, which evaluated
        base.append(z3.simplify(smt.substitute(constraint, *subs)) if subs else constraint)
        read |= names_c  # (used by the full search only, which substitutes nothing)
    if piece.full:  # the full search: facts read only through a range or a division stay as they are
        others = {p: f for p, f in t.facts.items() if p not in relevant and p in current and smt.fact_names(f) & read}
        base += [t.pin(f, current[p]) for p, f in others.items()]
    return goal, relevant, changed, base


#: up to this size, sets of facts are tried one size after the other; past it, sizes double
ASCEND = 3

#: what the solver may take to settle whether one fact alone does it, over the whole slice,
#: before each fact is tried alone
SINGLE_CHECK_MS = 500


def _descend(
    c: _Context, s: Any, changed: dict[str, Any], moved: list[str], model: Any, below: int, start: float, budget_ms: int
) -> tuple[dict[str, tuple[Any, Any]] | None, bool]:
    """From a set of facts the solver changed within a size that skipped some (`below`: the
    largest size proven too small), the fewest it can find: each set found is first made
    smaller with the evaluator (a fact whose change the outcome does not need goes back),
    then the solver is asked for one of at most half-way down to `below` (a bisection on
    the size; a size it cannot settle in a third of what is left is tried nearer the set
    found), until no size is left between (True: proven the fewest) or the time runs out
    (False: the smallest found, not proven the fewest). The facts with their values,
    confirmed by the evaluator; None when not even the first set is."""
    best: dict[str, tuple[Any, Any]] | None = None
    undecided = None  # the smallest size the solver could not settle
    while True:
        if model is not None:
            values = {p: (c.t.facts[p], smt.model_value(model, c.t.facts[p], c.t.codes)) for p in moved}
            smaller = _shrink(c, values)
            if smaller is None:
                return best, False
            best = smaller
        if best is None or len(best) - 1 <= below:
            return best, best is not None
        low = below if undecided is None else max(below, undecided)
        size = (low + len(best)) // 2
        if size <= low:
            return best, False  # (every size between is one the solver could not settle)
        left = budget_ms - int((budget.now() - start) * 1000)
        if left <= 0:
            return best, False
        answer, model = _at_most(s, changed, size, max(left // 3, min(left, 100)))
        if answer == z3.unsat:
            below = size
        elif model is None:
            undecided = size
        else:
            moved = _moved(model, changed)


def _shrink(c: _Context, values: dict[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]] | None:
    """`values` without the changes the outcome does not need (`_needed`, `_confirms` deciding)."""
    return _needed(values, lambda v: _confirms(c, v))


def _needed(values: dict[str, tuple[Any, Any]], gives: Callable[[dict[str, tuple[Any, Any]]], bool]) -> dict[str, tuple[Any, Any]] | None:
    """`values` without the changes the outcome does not need, each tried back at its current
    value in turn (`gives` decides, by the evaluator); None when `values` itself does not give it."""
    if not gives(values):
        return None
    for path in sorted(values):
        rest = {p: v for p, v in values.items() if p != path}
        if rest and gives(rest):
            values = rest
    return values


def _confirms(c: _Context, values: dict[str, tuple[Any, Any]]) -> bool:
    """Whether the change gives the outcome sought, by the reference evaluator (a value the
    solver left unknown is never a change to show)."""
    if any(isinstance(v, Unknown) for _, v in values.values()):
        return False
    if c.confirm is not None:
        return c.confirm(values)
    return _verify(c.policy, c.assessment, values, c.decision, c.entity, c.outcome, c.as_of, c.params)


def _at_most(s: Any, changed: dict[str, Any], k: int, budget_ms: int) -> tuple[Any, Any]:
    """The solver's answer with at most `k` facts changed, and its model when there is one
    (the bound is taken off again)."""
    s.push()
    if changed:  # (no fact free to change: the bound holds of itself)
        s.add(z3.AtMost(*changed.values(), k))
    answer = smt.check(s, budget_ms)
    model = s.model() if answer == z3.sat else None
    s.pop()
    return answer, model


def _moved(model: Any, changed: dict[str, Any]) -> list[str]:
    """The facts a model changes, in order."""
    return sorted(p for p, f in changed.items() if z3.is_true(model.evaluate(f, model_completion=True)))


def _exclude(s: Any, changed: dict[str, Any], moved: list[str]) -> None:
    """No later answer changes all of `moved` (another set of facts next)."""
    s.add(z3.Or(*[z3.Not(changed[p]) for p in moved]) if moved else z3.BoolVal(False))


def _singles(c: _Context, goal: Any, relevant: dict[str, smt.Fact], changed: dict[str, Any], budget_ms: int) -> tuple[list[tuple[tuple, Counterfactual]], str]:
    """Every verified change of one fact alone: each fact in turn, all the others replaced by
    their values — a problem in one variable, most often settled by simplification alone.
    Status "none" when no single fact gives the outcome (then sets of two come next)."""
    start = budget.now()
    t, current = c.t, c.current
    pins = {p: _pinned(t, f, current[p]) for p, f in relevant.items()}
    found: list[tuple[tuple, Counterfactual]] = []
    problems: list[tuple[str, list[Any]]] = []
    for path, fact in sorted(relevant.items()):
        others = [pair for q, pairs in pins.items() if q != path for pair in pairs]
        alone = z3.simplify(smt.substitute(goal, *others)) if others else goal
        if z3.is_false(alone):
            continue  # simplification alone proves this fact cannot do it
        names = smt.fact_names(fact)
        base = [alone, changed[path]]
        if not isinstance(current[path], Unknown):
            base.append(fact.known)
        for constraint, names_c in c.constraints:
            if names_c & names:
                base.append(z3.simplify(smt.substitute(constraint, *others)) if others else constraint)
        problems.append((path, base))
    # two rounds: a fair share of the budget for each fact, then what is left for those
    # the first round did not settle
    for round_ in (0, 1):
        pending: list[tuple[str, list[Any]]] = []
        for n, (path, base) in enumerate(problems):
            left = budget_ms - int((budget.now() - start) * 1000)
            if left <= 0:
                return found, "unknown"
            share = left // (len(problems) - n)
            s = smt.solver(left)
            s.add(*base)
            answer = smt.check(s, max(share, min(left, 250)) if round_ == 0 else share)
            if answer == z3.unknown:
                pending.append((path, base))
                continue
            if answer != z3.sat:
                continue
            fact = t.facts[path]
            model = _closest(t, base, {path: changed[path]}, [path], current, s.model(), share)
            value = smt.model_value(model, fact, t.codes)
            if _verify(c.policy, c.assessment, {path: (fact, value)}, c.decision, c.entity, c.outcome, c.as_of, c.params):
                change = FactChange(path, _label_path(c.policy, fact), current.get(path), value)
                found.append(((1, _score(t, (change,)), (path,)), Counterfactual((change,), c.outcome, True)))
        problems = pending
        if not problems:
            break
    status = "unknown" if problems else "none"
    return found, status


def _all_of_size(candidates: list, k: int) -> bool:
    """Whether every candidate so far changes k facts (then the other sets of size k come next)."""
    return all(key[0] == k for key, _ in candidates)


def _score(t: smt.Translation, changes: tuple[FactChange, ...]) -> Decimal:
    """The normalised distance of a change (numbers only), as the solver minimised it."""
    total = Decimal(0)
    for c in changes:
        fact = t.facts[c.fact]
        if isinstance(fact.type, NumberT) and isinstance(c.current, Decimal) and isinstance(c.new, Decimal):
            total += abs(c.new - c.current) / _span(fact.type, c.current)
    return total


def _closest(t: smt.Translation, base: list[Any], changed: dict[str, Any], moved: list[str], current: dict[str, Any], model: Any, budget_ms: int) -> Any:
    """Among assessments changing exactly `moved`, the one nearest the current numbers (None
    when the solver finds none in time and `model` is None): a bisection on the total
    distance with a plain solver, each check a yes or no the solver answers fast, keeping
    the nearest model found, until the gap to the bound proven below is less than the
    smallest step one fact's distance can take (a hundredth over its range, `_unit`): for
    one fact, the closest value on the grid exactly.

    Not z3's optimiser: on the methodology it seldom settled (six facts through a
    schedule), and in some calls it ignored the interrupt of its time limit (one call
    given 0.4 s ran 14 s) — an answer that then depended on the machine."""
    if not moved:
        return model
    start = budget.now()
    kept = [z3.Not(f) if p not in moved else f for p, f in changed.items()]  # exactly `moved` changed
    s = smt.solver(budget_ms)
    s.add(*base, *kept)
    if model is None:  # (a set made smaller by the evaluator: the solver's own model of it first)
        if smt.check(s, max(budget_ms // 4, 100)) != z3.sat:
            return None
        model = s.model()
    numbers = [p for p in moved if isinstance(t.facts[p].type, NumberT) and not isinstance(current[p], Unknown)]
    if not numbers:
        return model
    total = z3.Sum([_distance(t.facts[p], current[p]) for p in numbers])
    units = [_unit(t, p, current[p]) for p in numbers]
    unit = None if None in units else min(units)  # type: ignore[type-var]
    low, high = Fraction(0), _fraction(model.evaluate(total, model_completion=True))
    for _ in range(CLOSEST_STEPS):
        left = budget_ms - int((budget.now() - start) * 1000)
        if left < 20 or high - low < (unit if unit is not None else high * CLOSEST_TOLERANCE) or high == 0:
            break
        middle = (low + high) / 2
        s.push()
        s.add(total <= z3.RealVal(middle))
        answer = smt.check(s, min(left, max(left // 4, 100)))
        if answer == z3.sat:
            model, high = s.model(), _fraction(s.model().evaluate(total, model_completion=True))
        elif answer == z3.unsat:
            low = middle
        s.pop()
        if answer == z3.unknown:
            break
    return model


def _unit(t: smt.Translation, path: str, current: Any) -> Fraction | None:
    """The smallest step a fact's distance (`_distance`) takes on the grid: one grid step (1
    for a whole number) over its span; None for a fact kept off the grid (any rational)."""
    fact = t.facts[path]
    if path in t.off_grid:
        return None
    return Fraction(1) / (Fraction(1 if fact.type.integer else GRID) * Fraction(str(_span(fact.type, current))))


#: the bisection's most steps (a distance of 10 spans down to a hundredth of a range of
#: 100,000 is 30), and the relative gap to the bound below at which it stops for a fact
#: off the grid
CLOSEST_STEPS = 40
CLOSEST_TOLERANCE = Fraction(1, 1000)


def _fraction(value: Any) -> Fraction:
    """A solver rational as an exact fraction."""
    if z3.is_int_value(value):
        return Fraction(value.as_long())
    if z3.is_rational_value(value):
        return Fraction(value.numerator_as_long(), value.denominator_as_long())
    return Fraction(0)  # (not a number the solver gave exactly: no bisection below it)


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
    value that settles it to each outcome it can reach (verified by the evaluator).

    Values are tried first (backends/probe: every value of an enum, true and false, the
    numbers its thresholds make interesting), with the compiled evaluator; the solver then
    looks, within what is left of the budget, for the (answer, outcome) pairs not found so."""
    with smt.question(), budget.counted(timeout_ms):
        return _settlers(policy, assessment, decision, entity, missing, as_of, params or {}, timeout_ms)


def _settlers(
    policy: ir.CheckedPolicy, assessment: Assessment, decision: str, entity: str | None, missing: tuple[str, ...], as_of: date, params: dict[str, Any], timeout_ms: int
) -> tuple[Settler, ...]:
    start = budget.now()
    params = params or {}
    current = smt.assessment_facts(policy, assessment)
    outcomes = [o.name for o in policy.decisions[decision].outcomes] if decision in policy.decisions else []
    found: dict[tuple[str, str], Any] = {}
    where = probe.facts(assessment)
    try:
        prober = probe.Prober(policy, assessment, decision, entity, as_of, params)
    except ValueError:  # (the decision is not made for this entity)
        prober = None
    _fields, consts = _cone(policy, decision)
    deadline = start + timeout_ms * TRY_SHARE / 1000
    for path in missing:
        w = where.get(path)
        if prober is None or w is None or not isinstance(current.get(path), Unknown):
            continue
        type_ = policy.inputs[w.input_name].fields[w.field_name].type
        fact = _fact_view(assessment, w, type_)
        for value in probe.candidates(type_, current[path], consts.get((w.input_name, w.field_name), set())):
            if budget.now() >= deadline:
                break
            got = prober.outcome({path: value})
            if got is not None and (path, got) not in found and _verify(policy, assessment, {path: (fact, value)}, decision, entity, got, as_of, params):
                found[(path, got)] = (fact, value)
    left = timeout_ms - int((budget.now() - start) * 1000)
    if left > 50 and any((path, o) not in found for path in missing for o in outcomes):
        _solver_settlers(policy, assessment, decision, entity, missing, as_of, params, left, current, found)
    out = [
        Settler(path, _label_path(policy, f), value, o)
        for path in missing
        for o in outcomes
        if (path, o) in found
        for f, value in [found[(path, o)]]
    ]
    return tuple(out)


def _solver_settlers(policy, assessment, decision, entity, missing, as_of, params, timeout_ms, current, found) -> None:
    """The solver's settling answers, for the (answer, outcome) pairs not in `found` (added there)."""
    start = budget.now()
    try:
        t = _translation(policy, assessment, as_of, params)
        term = t.decision(decision, entity)
    except smt.Untranslatable:
        return
    for path in missing:
        fact = t.facts.get(path)
        if fact is None:
            continue
        base = [t.pin(f, v) for p, v in current.items() if p != path and (f := t.facts.get(p)) is not None]
        for outcome, goal in term.decided.items():
            if (path, outcome) in found:
                continue
            left = timeout_ms - int((budget.now() - start) * 1000)
            if left <= 0:
                return
            s = smt.solver(left)
            s.add(*t.domain, *t.safety, *base, fact.known, goal)
            if smt.check(s, left) != z3.sat:
                continue
            value = smt.model_value(s.model(), fact, t.codes)
            if _verify(policy, assessment, {path: (fact, value)}, decision, entity, outcome, as_of, params):
                found[(path, outcome)] = (fact, value)
