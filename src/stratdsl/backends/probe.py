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

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation, Overflow
from typing import Any, NamedTuple

from ..language import ir
from ..language.diagnostics import StratError
from ..language.reads import fields_read
from ..language.types import BoolT, EnumT, ListT, NumberT
from ..runtime.assessment import Assessment, Entity
from ..runtime.evaluator import Evaluator
from ..runtime.result import DECIDED, DecisionResult
from ..runtime.values import Unknown, truth
from . import budget, compiler

STEP = Decimal("0.01")
SCALES = (Decimal(10), Decimal(100), Decimal(1000))
#: how many facts that move a value read (without bringing the condition nearer) are paired
MOVERS = 16


def cone(policy: ir.CheckedPolicy, decision: str) -> tuple[set[tuple[str, str]], dict[tuple[str, str], set[Decimal]]]:
    """The input fields (input, field) a decision reads, through definitions and the
    decisions it names, and for each field the constants it is compared with directly."""
    return cone_of(policy, [], [decision])


def cone_of(policy: ir.CheckedPolicy, exprs: list[ir.Expr], decisions: list[str]) -> tuple[set[tuple[str, str]], dict[tuple[str, str], set[Decimal]]]:
    """As `cone`, for expressions and decisions."""
    fields: set[tuple[str, str]] = set()
    consts: dict[tuple[str, str], set[Decimal]] = {}
    for node in ir.cone_nodes(policy, exprs, decisions):
        if isinstance(node, (ir.FieldRef, ir.MemberFieldRef)):
            fields.add((node.input_name, node.field_name))
        elif isinstance(node, ir.Compare):
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if isinstance(a, (ir.FieldRef, ir.MemberFieldRef)) and isinstance(b, ir.Const) and isinstance(b.value, Decimal):
                    consts.setdefault((a.input_name, a.field_name), set()).add(b.value)
    return fields, consts


def _hashable(value: Any) -> Any:
    return frozenset(value) if isinstance(value, (set, list)) else value


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


def _computed(ev: Evaluator) -> int:
    """How many decisions and definitions the reference evaluator has in its memo tables."""
    return len(ev._defs) + len(ev._decisions)


def _charge(ev: Evaluator, before: int) -> None:
    """Charges to the why-not budget what `ev` computed since it had `before` values."""
    budget.charge(budget.REFERENCE_STEP_MS * (_computed(ev) - before))


class Reading(NamedTuple):
    """One decision as `Prober.result` reads it."""

    status: str
    outcome: str | None
    possible: tuple[str, ...]  # the outcomes still possible (undetermined)
    missing: tuple[str, ...]  # the unanswered facts holding it back
    unknown: int  # how many of the values it read are unknown or undetermined
    held_back: frozenset[str]  # the unanswered facts holding back the decisions it read
    read: dict[tuple[str, str | None], tuple[str, ...]]  # (decision, entity) it read → outcomes still possible


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
        self.every = len(order)  # decisions an evaluation of the whole policy makes
        self.owner = policy.decisions[decision].entity_input
        self.index = None
        self.where_prefix: str | None = None  # the entity's facts' path ("usecases[ocr]")
        if self.owner is not None:
            self.index = next((n for n, e in enumerate(assessment.entities.get(self.owner, [])) if e.id == entity), None)
            if self.index is not None:
                self.where_prefix = assessment.entities[self.owner][self.index].path
        self._bases: dict[frozenset, Evaluator] = {}  # evaluations of a search's states, by their changes

    def outcome(self, changes: dict[str, Any]) -> str | None:
        """The outcome of the decision with `changes` (path → runtime value) applied, by the
        compiled evaluator; None when it is undetermined, no rule applies, or an error. Only
        this decision and what it reads are evaluated (`CompiledPolicy.some`; the reference
        evaluator's form has no `some`: every decision)."""
        changed = self.changed(changes)
        self.evaluations += 1
        work: list[tuple[int, int, int]] = []
        try:
            if isinstance(self.compiled, compiler.CompiledPolicy):
                (found,), _ = self.compiled.some(changed, self.as_of, self.params, [(self.decision, self.entity)], [], work=work)
                return found.outcome if found.status == DECIDED else None
            work.append((self.every, 0, 0))
            return self.compiled.outcomes(changed, self.as_of, self.params)[self.slot]
        except (StratError, ArithmeticError, InvalidOperation, Overflow, RecursionError):
            return None
        finally:
            for computed, unknown, undetermined in work:
                budget.charge(budget.compiled_ms(computed, unknown, undetermined))

    def result(self, changes: dict[str, Any], charged: bool = True) -> Reading | None:
        """The decision with `changes` applied, by the compiled evaluator; None on an error.
        `charged`: False for the assessment as it is, read once before a search (as every
        search does: not charged to its budget)."""
        changed = self.changed(changes)
        self.evaluations += 1
        work: list[tuple[int, int, int]] = []
        held_back: set[str] = set()
        read: list[DecisionResult] = []
        try:
            if isinstance(self.compiled, compiler.CompiledPolicy):
                (found,), _ = self.compiled.some(
                    changed, self.as_of, self.params, [(self.decision, self.entity)], [], work=work, held_back=held_back, read=read
                )
            else:
                ev, target = self._evaluator(changes)
                before = _computed(ev)
                try:
                    found = ev.decision(self.decision, target)
                finally:
                    if charged:
                        _charge(ev, before)
            unknown = sum(w[1] + w[2] for w in work)
            seen = {(r.decision, r.entity): (r.outcome,) if r.status == DECIDED else tuple(r.possible) for r in read}
            return Reading(found.status, found.outcome, tuple(found.possible), tuple(found.missing), unknown, frozenset(held_back), seen)
        except (StratError, ArithmeticError, InvalidOperation, Overflow, RecursionError):
            return None
        finally:
            for computed, unknown, undetermined in work if charged else ():
                budget.charge(budget.compiled_ms(computed, unknown, undetermined))

    def truths(self, changes: dict[str, Any], goals: list[tuple[ir.Expr, bool]]) -> list[bool]:
        """For each (condition, wanted truth) of the decision's entity, whether it holds with
        `changes` applied (the reference evaluator; an unknown does not hold); stops at the
        first that does not."""
        ev, target = self._evaluator(changes, base=True)
        before = _computed(ev)
        out: list[bool] = []
        try:
            for expr, want in goals:
                out.append(truth(ev.compute(expr, target)) is want)
                if not out[-1]:
                    break
        except (StratError, ArithmeticError, InvalidOperation, Overflow, RecursionError):
            out.append(False)
        finally:
            _charge(ev, before)
        return out + [False] * (len(goals) - len(out))

    def score(
        self, changes: dict[str, Any], earlier: list[tuple[ir.Expr, bool]], expr: ir.Expr, want: bool, watch: tuple[ir.Expr, ...] = ()
    ) -> tuple[bool, Decimal | None]:
        """Whether every condition of `earlier` holds with `changes`, and how far `expr` is from
        the truth `want` (`distance`); (False, None) as well when one of the conditions of
        `watch` is unknown with `changes`."""
        ok, gap, _ = self.look(changes, earlier, expr, want, watch)
        return ok, gap

    def look(
        self,
        changes: dict[str, Any],
        earlier: list[tuple[ir.Expr, bool]],
        expr: ir.Expr,
        want: bool,
        watch: tuple[ir.Expr, ...] = (),
        base: bool = False,
    ) -> tuple[bool, Decimal | None, dict]:
        """`score`, and the values of the definitions `expr` read on the way (the evaluator's
        memo table): a change that leaves the distance as it is but moves one of them may be
        half of a change of two facts (two criteria of a count that needs two)."""
        ev, target = self._evaluator(changes, base)
        before = _computed(ev)
        try:
            for e, w in earlier:
                if truth(ev.compute(e, target)) is not w:
                    return False, None, {}
            for e in watch:
                if isinstance(truth(ev.compute(e, target)), Unknown):
                    return False, None, {}
            gap = distance(ev, expr, want, target)
            return True, gap, {**ev._defs, **{k: r.outcome for k, r in ev._decisions.items()}}
        except (StratError, ArithmeticError, InvalidOperation, Overflow, RecursionError):
            return False, None, {}
        finally:
            _charge(ev, before)

    def way(self, changes: dict[str, Any], expr: ir.Expr, want: bool, rank: ir.Rank) -> int | None:
        """`rank_way` with `changes`: -1 when `expr` wants the entity higher up `rank`, +1 lower."""
        ev, target = self._evaluator(changes, base=True)
        before = _computed(ev)
        try:
            return rank_way(ev, expr, want, target, rank)
        except (StratError, ArithmeticError, InvalidOperation, Overflow, RecursionError):
            return None
        finally:
            _charge(ev, before)

    def known(self, changes: dict[str, Any], goals: list[tuple[ir.Expr, bool]]) -> tuple[ir.Expr, ...]:
        """The conditions of `goals` whose truth is known with `changes`."""
        ev, target = self._evaluator(changes, base=True)
        before = _computed(ev)
        try:
            return tuple(e for e, _ in goals if not isinstance(truth(ev.compute(e, target)), Unknown))
        except (StratError, ArithmeticError, InvalidOperation, Overflow, RecursionError):
            return ()
        finally:
            _charge(ev, before)

    def _evaluator(self, changes: dict[str, Any], base: bool = False) -> tuple[Evaluator, Entity | None]:
        """A reference evaluator of the assessment with `changes`, and the decision's entity in
        it. Its memo tables start with the values of the nearest earlier evaluation whose
        changes it extends (a base: the current state of a search) that read no changed field
        — the same values it would compute, found without computing them. `base`: keep this
        one as a base for the next."""
        changed = self.changed(changes)
        self.evaluations += 1
        ev = Evaluator(self.policy, changed, self.as_of, self.params)
        items = frozenset((k, _hashable(v)) for k, v in changes.items())
        parent = max((k for k in self._bases if k <= items), key=len, default=None)
        if parent is not None:
            old = self._bases[parent]
            moved = {self.where[k].field_name for k, _ in items - parent}
            decision_reads, _, def_reads = fields_read(self.policy)
            ev._defs = {k: v for k, v in old._defs.items() if not (def_reads[k[0]] & moved)}
            ev._decisions = {k: v for k, v in old._decisions.items() if not (decision_reads[k[0]] & moved)}
        if base and items not in self._bases:
            if len(self._bases) >= 8:  # the root stays; the oldest other goes
                del self._bases[next(k for k in self._bases if k)]
            self._bases[items] = ev
        target = changed.entities[self.owner][self.index] if self.owner is not None and self.index is not None else None
        return ev, target

    def changed(self, changes: dict[str, Any]) -> Assessment:
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
        return Assessment(records, entities, a.data, a.name, a.spans, a.assumed)


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
    while abs(hi - lo) > 1 and budget.now() < deadline:
        mid = (lo + hi) // 2
        v = _clean(Decimal(mid) * step, type_)
        if p.outcome({path: v}) == outcome:
            hi = mid
        else:
            lo = mid
    return _clean(Decimal(hi) * step, type_)


#: how many intervals between tried values `single_changes` searches for an outcome inside
WINDOWS = 2


def _window(p: Prober, path: str, type_: NumberT, low: Decimal, high: Decimal, below: str | None, outcome: str, deadline: float) -> Decimal | None:
    """A value between `low` (which gives `below`) and `high` (which gives another outcome)
    that gives `outcome`, on the grid: bisection towards the end of `below`'s side, which
    meets a window of the outcome sought lying in between (the interval halves and keeps
    the window whole until its midpoint falls inside). None when there is none there."""
    step = Decimal(1) if type_.integer else STEP
    lo, hi = int(low / step), int(high / step)
    while hi - lo > 1 and budget.now() < deadline:
        mid = (lo + hi) // 2
        v = _clean(Decimal(mid) * step, type_)
        got = p.outcome({path: v})
        if got == outcome:
            # the lowest value inside, from `low`'s side
            return _bisect(p, path, type_, v, _clean(Decimal(lo) * step, type_), outcome, deadline)
        if got == below:
            lo = mid
        else:
            hi = mid
    return None


def single_changes(
    p: Prober, paths: list[str], types: dict[str, Any], consts: dict[str, set[Decimal]], outcome: str, current: dict[str, Any], deadline: float
) -> tuple[dict[str, Any], bool]:
    """For each fact (in the order given), a value that gives `outcome` when only it changes
    (the nearest found for a number); and whether every fact was tried before the deadline."""
    found: dict[str, Any] = {}
    for path in paths:
        if budget.now() >= deadline:
            return found, False
        type_ = types[path]
        now = current[path]
        tried = candidates(type_, now, consts.get(path, set()))
        if not isinstance(type_, NumberT):
            for v in tried:
                if budget.now() >= deadline:
                    return found, False
                if p.outcome({path: v}) == outcome:
                    found[path] = v
                    break
            continue
        if not isinstance(now, Decimal):  # an unknown number: the lowest tried value that does it,
            previous = None  # brought down to the boundary with the highest that does not
            gaps: list[tuple[Decimal, Decimal, str | None]] = []  # (two neighbours giving two other outcomes)
            last: str | None = None
            for v in sorted(tried):
                if budget.now() >= deadline:
                    return found, False
                got = p.outcome({path: v})
                if got == outcome:
                    found[path] = v if previous is None else _bisect(p, path, type_, v, previous, outcome, deadline)
                    break
                if previous is not None and got != last:
                    gaps.append((previous, v, last))
                previous, last = v, got
            else:
                # none tried gives it: it may lie between two tried values that give two other
                # outcomes (`adjust` between `stop` below 40 % and `go` from 80 %)
                for low, high, below in gaps[:WINDOWS]:
                    inside = _window(p, path, type_, low, high, below, outcome, deadline)
                    if inside is not None:
                        found[path] = inside
                        break
            continue
        best: Decimal | None = None
        for side in (1, -1):  # above the current value, then below: the nearest good one on each side
            bad = now
            for v in (v for v in tried if (v - now) * side > 0):
                if best is not None and abs(v - now) >= abs(best - now):
                    break
                if budget.now() >= deadline:
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


#: the most unanswered questions `answers` answers for one decision
MOST_ANSWERS = 48
#: the most steps back `answers` takes, and the evaluations each may try
MOST_BACKS = 3
BACK_EVALUATIONS = 120


def answers(
    p: Prober, types: dict[str, Any], consts: dict[str, set[Decimal]], outcome: str, held: set[str], deadline: float
) -> tuple[dict[str, Any], bool] | None:
    """Unanswered questions answered one at a time: (the answers, whether they give
    `outcome`), None when the deadline passes or no answer moves anything.

    For a decision undetermined now, until it is settled: each step answers the first
    question holding it back (the entity's own first) — the answer that settles it on
    `outcome` at once, else the one that keeps `outcome` possible, leaves the fewest of the
    outcomes of earlier rules possible (each must not fire for `outcome`'s to), then the
    fewest questions open. "Possible" is the evaluator's: an outcome behind `known(…)` of
    an unanswered question (`go` after `pending when not known(measured_value)`) is not,
    so the decision may settle on another outcome, from which the caller tries one more
    change. For a decision settled now on a rule that reads an undetermined one
    (`candidate when not known(selection)`): the questions holding back the decisions it
    read (the entity's own first), each answered so as to leave the fewest values unknown,
    while that number goes down.

    The decisions the rule needs (`_gates`: `roadmap = planned`, and what that needs in
    turn) guide each answer: one that leaves none of the outcomes it needs possible is
    taken last. When every answer to a question loses one (an earlier answer closed the
    way: nobody involved, so no return), one earlier answer is changed, the latest first
    (`MOST_BACKS` steps back). Not a proof of anything; the answers are not proven the
    fewest."""
    d = p.policy.decisions[p.decision]
    index = next((n for n, r in enumerate(d.rules) if r.outcome == outcome), len(d.rules))
    earlier = {r.outcome for r in d.rules[:index]} - {outcome}
    gates = _gates(p.policy, d, index, p.entity)
    state: dict[str, Any] = {}

    def away(after: Reading) -> tuple[int, int]:
        # the decisions read (`_gates`) none of whose outcomes the rule needs is possible any
        # more, then how many outcomes it does not need are still possible: an answer that
        # makes the use case prohibited closes many questions at once — and the rule with them
        lost = blocking = 0
        for key, wanted in gates.items():
            possible = after.read.get(key)
            if possible is not None:
                lost += not wanted & set(possible)
                blocking += len(set(possible) - wanted)
        return lost, blocking

    own = f"{p.where_prefix}." if p.where_prefix else None

    def order(paths: Any) -> list[str]:
        return sorted((q for q in paths if q in types and q not in held and q not in state), key=lambda q: (own is None or not q.startswith(own), q))

    def options(path: str) -> list[Any]:
        return candidates(types[path], Unknown(frozenset({path})), consts.get(path, set()))

    def back(path: str, lost_now: int) -> dict[str, Any] | None:
        # every answer to `path` loses a decision the rule needs (no one involved: no return,
        # so not eligible): an earlier answer changed (the latest first), with an answer to
        # `path` that keeps them — the walk's step back, at most BACK_EVALUATIONS evaluations
        tries = 0
        for earlier_path in reversed(list(state)):
            for v in options(earlier_path):
                if v == state[earlier_path]:
                    continue
                for w in options(path):
                    tries += 1
                    if tries > BACK_EVALUATIONS or budget.now() >= deadline:
                        return None
                    trial = {**state, earlier_path: v, path: w}
                    after = p.result(trial)
                    if after is not None and (after.status != DECIDED or after.outcome == outcome) and away(after)[0] <= lost_now:
                        return trial
        return None

    first = p.result(state)
    if first is None:
        return None
    settled = first.status == DECIDED
    unknown_now = first.unknown
    backs = 0
    for _ in range(MOST_ANSWERS):
        now = p.result(state)
        if now is None:
            return None
        if now.status == DECIDED and not settled:
            return (state, now.outcome == outcome) if state else None
        lost_now = away(now)[0]
        step: tuple[str, Any] | None = None
        for path in order(now.held_back if settled else now.missing):
            best = None
            for v in options(path):
                if budget.now() >= deadline:
                    return None
                after = p.result({**state, path: v})
                if after is None:
                    continue
                if after.status == DECIDED and after.outcome == outcome:
                    return {**state, path: v}, True
                if settled:
                    key: tuple = (after.unknown + (after.status != DECIDED),)  # (undetermined again: further)
                elif after.status == DECIDED:  # (settled on another outcome: the last resort)
                    key = (2, *away(after), len(earlier & {after.outcome}), 0, 0)
                else:
                    key = (outcome not in after.possible, *away(after), len(earlier & set(after.possible)), len(after.missing), len(after.possible))
                if best is None or key < best[0]:
                    best = (key, v)
            if best is not None:
                if settled and best[0][0] >= unknown_now:
                    continue  # (this answer leaves as much unknown: the next question)
                if not settled and best[0][1] > lost_now and backs < MOST_BACKS:
                    backs += 1
                    repaired = back(path, lost_now)
                    if repaired is not None:
                        state = repaired
                        step = (path, repaired[path])
                        break
                step = (path, best[1])
                if settled:
                    unknown_now = best[0][0]
                break
        if step is None:
            break
        state[step[0]] = step[1]
    return (state, False) if settled and state else None


#: how deep `_gates` follows the decisions a rule reads (roadmap → selection → eligibility → risk …)
GATE_DEPTH = 6


def _gates(policy: ir.CheckedPolicy, decision: ir.Decision, index: int, entity: str | None) -> dict[tuple[str, str | None], frozenset[str]]:
    """The outcomes of other decisions that rule `index` needs, read from its conditions and
    those of the rules before it, then from those decisions' rules in turn: (decision,
    entity) → the outcomes allowed. `roadmap != planned` before it: roadmap must be
    `planned`; `roadmap = planned` in its own condition, the same; `risk = prohibited` before
    it: anything but `prohibited`; `D in {…}` and definitions (`is_selected = selection =
    selected`) read through. Only decisions made for the same entity or once for the company.
    A guide for the walk through the open questions, not a proof: the rules before an
    outcome of those decisions are followed as if nothing else decided."""
    allowed: dict[tuple[str, str | None], frozenset[str]] = {}
    todo: list[tuple[ir.Decision, int, str | None, int]] = [(decision, index, entity, 0)]

    def add(owner: ir.Decision, who: str | None, expr: ir.Expr | None, want: bool, depth: int, seen: frozenset[str]) -> None:
        if isinstance(expr, ir.Not):
            add(owner, who, expr.operand, not want, depth, seen)
        elif isinstance(expr, ir.Logic) and expr.op == ("and" if want else "or"):
            for item in expr.items:
                add(owner, who, item, want, depth, seen)
        elif isinstance(expr, ir.DefRef) and expr.member is None and expr.name in policy.definitions and expr.name not in seen:
            definition = policy.definitions[expr.name]
            if definition.entity_input in (None, owner.entity_input):
                add(owner, who, definition.expr, want, depth, seen | {expr.name})
        else:
            found = _decision_read(policy, owner.entity_input, expr, want)
            if found is None:
                return
            name, wanted = found
            read = policy.decisions[name]
            key = (name, None if read.entity_input is None else who)
            every = frozenset(o.name for o in read.outcomes)
            before = allowed.get(key, every)
            allowed[key] = before & wanted
            if depth < GATE_DEPTH and allowed[key] != before:
                if len(allowed[key]) == 1:  # (one outcome needed: what its rule needs in turn)
                    (only,) = allowed[key]
                    at = next((n for n, r in enumerate(read.rules) if r.outcome == only), None)
                    if at is not None:
                        todo.append((read, at, key[1], depth + 1))
                else:  # (outcomes to avoid: their rules' conditions false)
                    for r in read.rules:
                        if r.outcome not in allowed[key] and r.cond is not None:
                            add(read, key[1], r.cond, False, depth + 1, frozenset())

    while todo:
        owner, at, who, depth = todo.pop()
        for rule in owner.rules[:at]:
            add(owner, who, rule.cond, False, depth, frozenset())
        if at < len(owner.rules):
            add(owner, who, owner.rules[at].cond, True, depth, frozenset())
    allowed.pop((decision.name, entity), None)
    return allowed


def _decision_read(policy: ir.CheckedPolicy, owner: str | None, expr: ir.Expr | None, want: bool, seen: frozenset[str] = frozenset()) -> tuple[str, frozenset[str]] | None:
    """For a condition on a decision made for the same entity or once (`roadmap != planned`,
    `risk in {high, high_pending}`, `is_selected` defined as `selection = selected`) wanted
    `want`: (the decision, the outcomes that make it so)."""
    if isinstance(expr, ir.Not):
        return _decision_read(policy, owner, expr.operand, not want, seen)
    if isinstance(expr, ir.DefRef) and expr.member is None and expr.name in policy.definitions and expr.name not in seen:
        definition = policy.definitions[expr.name]
        return _decision_read(policy, owner, definition.expr, want, seen | {expr.name}) if definition.entity_input in (None, owner) else None
    if isinstance(expr, ir.Compare) and expr.op in ("=", "!="):
        found = decision_equals(policy, dataclasses.replace(expr, op="="))
        if found is None:
            return None
        name, values, positive = found[0], frozenset({found[1]}), expr.op == "="
    elif isinstance(expr, ir.In) and isinstance(expr.item, ir.DecisionRef) and expr.item.member is None and isinstance(expr.container, ir.SetOf):
        if expr.item.name not in policy.decisions or not all(isinstance(x, ir.Const) for x in expr.container.items):
            return None
        name, values, positive = expr.item.name, frozenset(x.value for x in expr.container.items), not expr.negated  # type: ignore[union-attr]
    else:
        return None
    read = policy.decisions[name]
    if read.entity_input not in (None, owner):
        return None
    every = frozenset(o.name for o in read.outcomes)
    return name, (values if positive == want else every - values)


#: how deep `_expanded` follows the decisions a rule reads
EXPAND_DEPTH = 4


def _expanded(policy: ir.CheckedPolicy, owner: str | None, goals: list[tuple[ir.Expr, bool]], depth: int = 0) -> list[tuple[ir.Expr, bool]]:
    """The goals with each condition on a decision read (`roadmap = planned`, through
    `_decision_read`) preceded by what that decision needs for it — its rules giving other
    outcomes false, up to the last rule giving a wanted one, and that rule's own condition
    when one outcome is wanted — in turn (`EXPAND_DEPTH`): `selection = selected` becomes
    `impact >= impact_threshold` false … then the rank, numbers the greedy pass can move
    one fact at a time where the decision's outcome cannot be brought nearer."""
    out: list[tuple[ir.Expr, bool]] = []
    for expr, want in goals:
        parts = expr.items if isinstance(expr, ir.Logic) and expr.op == ("and" if want else "or") else (expr,)
        for part in parts:
            read = _decision_read(policy, owner, part, want) if depth < EXPAND_DEPTH else None
            if read is not None and read[1]:
                d = policy.decisions[read[0]]
                wanted = read[1]
                at = max(n for n, r in enumerate(d.rules) if r.outcome in wanted) if len(wanted) > 1 else next(
                    (n for n, r in enumerate(d.rules) if r.outcome in wanted), None
                )
                if at is not None:
                    sub = [(r.cond, False) for r in d.rules[:at] if r.outcome not in wanted and r.cond is not None]
                    if len(wanted) == 1 and d.rules[at].cond is not None:
                        sub.append((d.rules[at].cond, True))
                    out.extend(g for g in _expanded(policy, owner, sub, depth + 1) if all(g[0] is not o[0] or g[1] != o[1] for o in out))
            if all(part is not o[0] or want != o[1] for o in out):
                out.append((part, want))
    return out


def _goals(decision: ir.Decision, index: int) -> list[tuple[ir.Expr, bool]] | None:
    """What rule `index` needs to fire: every earlier condition false, its own true, its
    exceptions false (None when an `otherwise` comes before it)."""
    goals: list[tuple[ir.Expr, bool]] = []
    for rule in decision.rules[:index]:
        if rule.cond is None:
            return None
        goals.append((rule.cond, False))
    rule = decision.rules[index]
    if rule.cond is not None:
        goals.append((rule.cond, True))
    goals += [(x.cond, False) for x in rule.exceptions]
    return goals


def several_changes(
    p: Prober,
    paths: list[str],
    types: dict[str, Any],
    consts: dict[str, set[Decimal]],
    field_of: dict[str, tuple[str, str]],
    outcome: str,
    current: dict[str, Any],
    deadline: float,
    most: int = 12,
    solve: Any = None,
) -> dict[str, Any] | None:
    """A change of up to `most` facts that gives `outcome`, greedily, one condition at a time:
    for a rule that gives the outcome, the first of its conditions (the earlier rules' false,
    its own true, its exceptions false) that does not hold is made to hold by one more fact
    (tried values, nearest first; bisection for a number), keeping the ones before it — or,
    when no one fact makes it hold, brought nearer (`_step`). Then every fact the result
    does not need is dropped. Not proven the fewest."""
    decision = p.policy.decisions[p.decision]
    own = f"{p.owner}[{p.entity}]."
    for index, rule in enumerate(decision.rules):
        if rule.outcome != outcome:
            continue
        goals = _goals(decision, index)
        if goals is None:
            break
        earlier = index  # the goals of the earlier rules, one each
        # the rule's own conditions first, then the earlier rules' (a deferral that needs a
        # longer cycle: the cycle first), after the usual order; then the conditions through
        # the decisions they read (`_expanded`)
        orders = [goals, goals[earlier:] + goals[:earlier]] if earlier else [goals]
        deeper = _expanded(p.policy, decision.entity_input, goals)
        if deeper != goals:
            orders.append(deeper)
        for n, order in enumerate(orders):
            # each order its share of the time left: one that stalls does not starve the next
            share = budget.now() + (deadline - budget.now()) / (len(orders) - n)
            found = _greedy(p, paths, types, consts, field_of, outcome, order, own, min(share, deadline), most, current, solve)
            if found is not None:
                return found
            if budget.now() >= deadline:
                break
    return None


def _greedy(p, paths, types, consts, field_of, outcome, goals, own, deadline, most, current, solve=None) -> dict[str, Any] | None:
    """One greedy pass over `goals` in this order (see `several_changes`)."""
    state: dict[str, Any] = {}
    for _ in range(2 * most):  # (a fact may change again: not every step adds one)
        if len(state) >= most:
            break
        held = p.truths(state, goals)
        if all(held):
            break
        k = held.index(False)
        fields, _consts = cone_of(p.policy, [goals[k][0]], [])
        # the facts that condition reads: of this entity and the company's, not the other
        # entities'; last, those an earlier step changed (`known(measured_value)` took the
        # first value tried, `achievement >= 40` needs another)
        mine = [q for q in paths if field_of[q] in fields and (p.owner is None or q.startswith(own) or not q.startswith(f"{p.owner}["))]
        near = [q for q in mine if q not in state] + [q for q in mine if q in state]
        # a step may not leave a condition unknown that is known now (an unanswered question
        # the changed fact brings in: the outcome would be undetermined, not the one sought)
        watch = p.known(state, goals)
        step = _step(p, near, types, consts, goals[: k + 1], state, current, deadline, watch)
        if step is None and p.owner is not None:
            # then the other entities' facts: a schedule that waits for the use cases
            # launched before it (capacity) moves with theirs
            far = [q for q in paths if field_of[q] in fields and q not in state and q not in near]
            step = _step(p, far, types, consts, goals[: k + 1], state, current, deadline, watch)
        counted = bool(_counted(p.policy, goals[k][0]))
        if step is None and counted:
            # a count of entities by outcome (none planned): each entity's own why-not first —
            # over every entity's decisions, the solver's term is the whole policy
            step = _through_count(p, paths, types, consts, field_of, goals[: k + 1], state, current, deadline, most - len(state), solve)
        if step is None and solve is not None:
            # the solver, for this one condition over the entity's facts and the company's
            step = solve(p, near, goals[k], state, current, deadline, tuple(goals[:k]))
        if step is None and not counted:
            step = _through_count(p, paths, types, consts, field_of, goals[: k + 1], state, current, deadline, most - len(state), solve)
        if step is None or len(state) + len(step) > most:
            break
        state.update(step)
    if not state or budget.now() >= deadline or p.outcome(state) != outcome:
        return None
    for q in sorted(state):  # drop what is not needed
        rest = {k: v for k, v in state.items() if k != q}
        if rest and p.outcome(rest) == outcome:
            state = rest
    return state


def _counted(policy: ir.CheckedPolicy, expr: ir.Expr) -> list[tuple[ir.Aggregate, str, Any]]:
    """The counts a condition reads (itself or through definitions made once) of the
    entities whose decision has an outcome — `count(usecase where roadmap = planned)` —
    with that decision and outcome."""
    out: list[tuple[ir.Aggregate, str, Any]] = []
    todo, seen = [expr], set()
    while todo:
        for node in ir.walk(todo.pop()):
            if isinstance(node, ir.DefRef) and node.name not in seen and node.name in policy.definitions:
                seen.add(node.name)
                if policy.definitions[node.name].entity_input is None:
                    todo.append(policy.definitions[node.name].expr)
            elif isinstance(node, ir.Aggregate) and node.kind == "count":
                outcome = decision_equals(policy, node.where)
                if outcome is not None:
                    out.append((node, *outcome))
    return out


def decision_equals(policy: ir.CheckedPolicy, expr: ir.Expr | None) -> tuple[str, Any] | None:
    """(decision, outcome) for a condition `decision = outcome` (either way round); None
    for anything else."""
    if not (isinstance(expr, ir.Compare) and expr.op == "="):
        return None
    for a, b in ((expr.left, expr.right), (expr.right, expr.left)):
        if isinstance(a, ir.DecisionRef) and a.member is None and isinstance(b, ir.Const) and a.name in policy.decisions:
            return a.name, b.value
    return None


def _ranked(policy: ir.CheckedPolicy, expr: ir.Expr, input_name: str) -> list[ir.Rank]:
    """The ranks over `input_name` a condition of one of its entities reads (itself or through
    definitions of that entity or made once) — the entity's own place in the ranking
    (`priority_rank between 1 and 5`)."""
    out: list[ir.Rank] = []
    todo, seen = [expr], set()
    while todo:
        for node in ir.walk(todo.pop()):
            if isinstance(node, ir.DefRef) and node.name not in seen and node.name in policy.definitions:
                seen.add(node.name)
                if policy.definitions[node.name].entity_input in (None, input_name):
                    todo.append(policy.definitions[node.name].expr)
            elif isinstance(node, ir.Rank) and node.input_name == input_name and all(node is not r for r in out):
                out.append(node)
    return out


def _through_count(p, paths, types, consts, field_of, prefix, state, current, deadline, most, solve=None) -> dict[str, Any] | None:
    """When the condition is a count of the entities whose decision has an outcome (a
    portfolio where none is planned), the changes that move one entity in or out of the
    count: that entity's decision searched for each of its other outcomes (or for the
    counted one), as its own why-not, on top of `state`; kept when the condition comes
    nearer and the earlier ones still hold."""
    expr, want = prefix[-1]
    earlier = prefix[:-1]
    _, base, _ = p.look(state, earlier, expr, want, base=True)
    if base is None or most < 1:
        return None
    changed = p.changed(state)
    now = {**current, **state}
    for aggregate, name, value in _counted(p.policy, expr):
        entities = changed.entities.get(aggregate.input_name, [])
        try:
            sub_probers = [Prober(p.policy, changed, name, e.id, p.as_of, p.params) for e in entities]
        except ValueError:
            continue
        for sub in sub_probers:
            taken = sub.outcome({})
            if taken is None:
                continue
            wanted = [o.name for o in p.policy.decisions[name].outcomes if o.name != taken] if taken == value else [value]
            for outcome in wanted:
                if budget.now() >= deadline:
                    return None
                found = several_changes(sub, paths, types, consts, field_of, outcome, now, deadline, most, solve)
                if not found:
                    continue
                ok, gap = p.score({**state, **found}, earlier, expr, want)
                if ok and gap is not None and gap < base:
                    return found
    return None


def _step(
    p: Prober,
    paths: list[str],
    types: dict[str, Any],
    consts: dict[str, set[Decimal]],
    prefix: list,
    state: dict[str, Any],
    current: dict[str, Any],
    deadline: float,
    watch: tuple[ir.Expr, ...] = (),
) -> dict[str, Any] | None:
    """The first fact (in order) one of whose tried values makes every condition of `prefix`
    hold on top of `state` (for a number, the boundary nearest its current value); failing
    that, the tried value that brings the last condition nearest to holding (its sides'
    distance, for a comparison), when it is nearer than now; failing that, two facts that do
    so together, each of which moves a value the condition reads without bringing it nearer
    alone (a plateau: a count of criteria that needs two). The facts to change, with their
    values."""
    expr, want = prefix[-1]
    earlier = prefix[:-1]
    _, base, seen = p.look(state, earlier, expr, want, watch, base=True)
    best: tuple[Decimal, str, Any] | None = None
    movers: list[tuple[str, Any]] = []  # (fact, value): moves a value read, the distance as it is
    for path in paths:
        type_ = types[path]
        now = current[path]
        previous = None  # for an unknown number: the last tried value that did not do it
        moved = False
        for v in candidates(type_, now, consts.get(path, set())):
            if budget.now() >= deadline:
                return None
            ok, distance, values = p.look({**state, path: v}, earlier, expr, want, watch)
            if ok and distance == 0:
                if isinstance(type_, NumberT) and (isinstance(now, Decimal) or (previous is not None and previous * v >= 0)):
                    step = Decimal(1) if type_.integer else STEP
                    lo, hi = int((now if isinstance(now, Decimal) else previous) / step), int(v / step)
                    while abs(hi - lo) > 1 and budget.now() < deadline:
                        mid = (lo + hi) // 2
                        if p.score({**state, path: _clean(Decimal(mid) * step, type_)}, earlier, expr, want, watch) == (True, 0):
                            hi = mid
                        else:
                            lo = mid
                    v = _clean(Decimal(hi) * step, type_)
                return {path: v}
            previous = v
            if not ok or distance is None:
                continue
            if base is not None and distance < base and (best is None or distance < best[0]):
                best = (distance, path, v)
                if p.owner is None:  # a decision made once reads every entity: the first better one
                    return {path: v}
            elif best is None and not moved and base is not None and distance == base and any(seen.get(k, x) != x for k, x in values.items()):
                moved = True
                movers.append((path, v))
    if best is not None:
        return {best[1]: best[2]}
    if base is None:
        return None
    pairs = [(a, b) for i, a in enumerate(movers[:MOVERS]) for b in movers[i + 1 : MOVERS] if a[0] != b[0]]
    for (pa, va), (pb, vb) in pairs:
        if budget.now() >= deadline:
            return None
        ok, distance = p.score({**state, pa: va, pb: vb}, earlier, expr, want, watch)
        if ok and distance is not None and distance < base:
            return {pa: va, pb: vb}
    return None


def distance(ev: Evaluator, expr: ir.Expr, want: bool, target: Any) -> Decimal | None:
    """How far a condition is from having the truth `want`: 0 when it has it; for a
    comparison of numbers, the gap between its sides; 1 otherwise (None: unknown)."""
    if isinstance(expr, ir.Not):
        return distance(ev, expr.operand, not want, target)
    if isinstance(expr, ir.Logic) and expr.op in ("and", "or"):
        beyond = _rank_beyond(ev, expr, want, target)
        if beyond is not None:
            return distance(ev, beyond, False, target)
        parts = [distance(ev, x, want, target) for x in expr.items]
        if any(d is None for d in parts):
            return None
        conj = (expr.op == "and") == want
        return sum(parts, Decimal(0)) if conj else min(parts)  # type: ignore[type-var]
    value = truth(ev.compute(expr, target))
    if isinstance(value, Unknown):
        return None
    if value is want:
        return Decimal(0)
    if isinstance(expr, ir.Compare) and (expr.op in ("<", "<=", ">", ">=") or (expr.op == "=" and want)):
        a, b = ev.compute(expr.left, target), ev.compute(expr.right, target)
        if isinstance(a, Decimal) and isinstance(b, Decimal):
            return abs(a - b) + 1
    return Decimal(1)


def rank_way(ev: Evaluator, expr: ir.Expr, want: bool, target: Any, rank: ir.Rank) -> int | None:
    """Which way the entity's place in `rank` must go for `expr` to come nearer the truth
    `want`: -1 up the ranking (fewer entities before it: `rank <= 3` with the rank 5), +1
    down (more before it: `beyond_limit`), None when the condition does not say (its first
    failing part does not compare the rank). The part followed is the one `distance` sums
    or takes the least of."""
    if isinstance(expr, ir.Not):
        return rank_way(ev, expr.operand, not want, target, rank)
    if isinstance(expr, ir.Logic) and expr.op in ("and", "or"):
        beyond = _rank_beyond(ev, expr, want, target)
        if beyond is not None:
            return rank_way(ev, beyond, False, target, rank)
        gaps = [(distance(ev, x, want, target), n) for n, x in enumerate(expr.items)]
        failing = [(d, n) for d, n in gaps if d is not None and d > 0]
        if not failing:
            return None
        conj = (expr.op == "and") == want
        n = failing[0][1] if conj else min(failing)[1]
        return rank_way(ev, expr.items[n], want, target, rank)
    if not isinstance(expr, ir.Compare) or expr.op not in ("<", "<=", ">", ">=", "=", "!="):
        return None
    if _is_rank(ev.policy, expr.left, rank):
        op, other = expr.op, expr.right
    elif _is_rank(ev.policy, expr.right, rank):
        op, other = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(expr.op, expr.op), expr.left
    else:
        return None
    if op == "!=":
        op, want = "=", not want
    if op == "=":
        if not want:
            return None  # (any other place will do)
        place, bound = ev.compute(expr.left if other is expr.right else expr.right, target), ev.compute(other, target)
        if not (isinstance(place, Decimal) and isinstance(bound, Decimal)) or place == bound:
            return None
        return -1 if place > bound else 1
    up = op in ("<", "<=")  # the condition holds higher up the ranking (a smaller place)
    return -1 if up == want else 1


def _is_rank(policy: ir.CheckedPolicy, value: ir.Expr | None, rank: ir.Rank) -> bool:
    """Whether `value` is `rank` itself, a definition of it, or the one branch of an `if`
    that is not a constant (`if eligible then rank(…) else 0`)."""
    seen = 0
    while value is not None and seen < 16:
        seen += 1
        if value is rank:
            return True
        if isinstance(value, ir.DefRef) and value.member is None and value.name in policy.definitions:
            value = policy.definitions[value.name].expr
        elif isinstance(value, ir.Cond):
            ranked = [x for x in (value.then, value.otherwise) if not isinstance(x, ir.Const)]
            if len(ranked) != 1:
                return False
            value = ranked[0]
        else:
            return False
    return False


def _rank_beyond(ev: Evaluator, expr: ir.Logic, want: bool, target: Any) -> ir.Expr | None:
    """For `rank between 1 and N` wanted false, the upper bound's comparison: a rank below 1
    is the entity leaving the ranking (its filter false), not a place, so the way out of the
    first N is down the ranking — the distance of `rank <= N` alone (else the nearer bound,
    1, would always look closest and a change moving the rank would seem to bring nothing)."""
    if want or expr.op != "and" or len(expr.items) != 2:
        return None
    low, high = expr.items
    if not (isinstance(low, ir.Compare) and isinstance(high, ir.Compare) and low.op == ">=" and high.op == "<=" and low.left is high.left):
        return None
    value = low.left
    if isinstance(value, ir.DefRef) and value.member is None and value.name in ev.policy.definitions:
        value = ev.policy.definitions[value.name].expr
    while isinstance(value, ir.Cond):  # `if eligible then rank(…) else not applicable`
        ranked = [x for x in (value.then, value.otherwise) if not isinstance(x, ir.Const)]
        if len(ranked) != 1:
            return None
        value = ranked[0]
    if not isinstance(value, ir.Rank):
        return None
    bound = ev.compute(low.right, target)
    return high if isinstance(bound, Decimal) and bound <= 1 else None
