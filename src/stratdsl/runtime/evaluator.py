"""The reference evaluator: a checked policy + an assessment + a date → a `Result`.

A tree-walking interpreter over `ir`, with three-valued (Kleene) logic for
unknown facts and first-match decisions as described in docs/language.md:
a rule whose condition is unknown keeps its outcome possible and the walk goes
on until a rule certainly fires; several possible outcomes give `undetermined`
with the facts that would settle it. Definitions and decisions are computed
once per entity (memoised); the checker has ruled out cycles, and the language
has no loops or recursion, so every evaluation terminates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from ..language import ir
from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg
from .assessment import Assessment, Entity
from .result import (
    DECIDED,
    EXCEPTED,
    EXCEPTION_UNKNOWN,
    FALSE,
    FIRED,
    NO_MATCH,
    NOT_IN_FORCE,
    NOT_REACHED,
    UNDETERMINED,
    UNKNOWN,
    DecisionResult,
    ObligationResult,
    ParamValue,
    Result,
    RuleStatus,
    ValueResult,
)
from .trace import RecordingTracer
from .values import (
    CONTEXT,
    Unknown,
    aggregate_unknown,
    applicable,
    arith_unknown,
    branches_unknown,
    compare_unknown,
    first_na,
    function_unknown,
    is_na,
    merge_unknown,
    negate_unknown,
    range_unknown,
    round_value,
    truth,
)

_ZERO = Decimal(0)


def division_by_zero(span: Any, path: str | None) -> Diagnostic:
    """E201, for an entity (its path) or for the policy as a whole (None): the one wording of
    every evaluator (reference, compiled, traced)."""
    message = Msg(N_("division by zero for {entity}"), entity=path) if path is not None else Msg(N_("division by zero"))
    return Diagnostic("E201", message, span, hint=Msg(N_("guard the division in the policy: if DIVISOR > 0 then … else …")))


def too_large(span: Any = None) -> StratError:
    """E202: a result past the exponent limit, as every evaluator says it."""
    return StratError([Diagnostic("E202", Msg(N_("a number is too large (more than 999999 digits)")), span)])


def round_half_up(value: Decimal, places: int, span: Any) -> Decimal:
    """round(): half up to `places` decimals (shared with the compiled form). A result of
    more digits than the context holds raises InvalidOperation in `quantize`: E202."""
    try:
        return round_value(value, places)
    except InvalidOperation:
        raise StratError(
            [
                Diagnostic(
                    "E202",
                    Msg(N_("round() would give a number of more than {n} digits"), n=CONTEXT.prec),
                    span,
                    hint=Msg(N_("round to fewer decimal places, or check how large the number is")),
                )
            ]
        ) from None


def _missing(value: Any) -> tuple[str, ...]:
    return tuple(sorted(value.missing)) if isinstance(value, Unknown) else ()


class Evaluator:
    def __init__(
        self,
        policy: ir.CheckedPolicy,
        assessment: Assessment,
        as_of: date,
        params: dict[str, Any] | None = None,
        tracer: RecordingTracer | None = None,
    ) -> None:
        self.policy = policy
        self.assessment = assessment
        self.as_of = as_of
        self.overrides = params or {}
        self.params = {name: self.overrides.get(name, p.default) for name, p in policy.params.items()}
        self.tracer = tracer
        self._defs: dict[tuple[str, str], Any] = {}
        self._decisions: dict[tuple[str, str], DecisionResult] = {}
        self._ranks: dict[int, dict[str, Any]] = {}
        self._dates: dict[int, Any] = {}

    # ------------------------------------------------------------ results
    def run(self) -> Result:
        decisions = []
        for decision in self.policy.decisions.values():
            for entity in self._scope_entities(decision.entity_input):
                decisions.append(self.decision(decision.name, entity))
        obligations = []
        applied: dict[tuple[str, str | None], list[str]] = {}
        for obligation in self.policy.obligations.values():
            for entity in self._scope_entities(obligation.entity_input):
                outcome = self.obligation(obligation, entity)
                obligations.append(outcome)
                if outcome.status in ("applies", "possible"):
                    for name in obligation.decisions:
                        applied.setdefault((name, outcome.entity), []).append(obligation.name)
        decisions = [
            _with_obligations(d, tuple(applied.get((d.decision, d.entity), ()))) for d in decisions
        ]
        values = []
        for definition in self.policy.outputs():
            for entity in self._scope_entities(definition.entity_input):
                value = self.definition(definition.name, entity)
                values.append(
                    ValueResult(
                        definition.name,
                        entity.id if entity else None,
                        entity.path if entity else None,
                        value,
                        _missing(value),
                    )
                )
        params = [ParamValue(name, self.params[name], name in self.overrides) for name in self.policy.params]
        entities = {name: [e.id for e in items] for name, items in self.assessment.entities.items()}
        return Result(
            self.policy.name, self.policy.version, self.as_of, params, decisions, values, obligations, entities
        )

    def _scope_entities(self, input_name: str | None) -> list[Entity | None]:
        if input_name is None:
            return [None]
        return list(self.assessment.entities.get(input_name, []))

    # ------------------------------------------------------------ memoised pieces
    def definition(self, name: str, entity: Entity | None) -> Any:
        definition = self.policy.definitions[name]
        scope = entity if definition.entity_input is not None else None
        key = (name, scope.path if scope else "")
        if key not in self._defs:
            self._defs[key] = self.compute(definition.expr, scope)
        return self._defs[key]

    def in_force(self, valid_from: ir.Expr | None, valid_until: ir.Expr | None) -> Any:
        start = self._date(valid_from)
        end = self._date(valid_until)
        if isinstance(start, Unknown) or isinstance(end, Unknown):
            return merge_unknown([start, end])
        if start is not None and self.as_of < start:
            return False
        if end is not None and self.as_of >= end:
            return False
        return True

    def _date(self, expr: ir.Expr | None) -> Any:
        if expr is None:
            return None
        if expr.id not in self._dates:
            value = self.compute(expr, None)
            self._dates[expr.id] = None if is_na(value) else value  # an n/a bound: no bound
        return self._dates[expr.id]

    def decision(self, name: str, entity: Entity | None) -> DecisionResult:
        decision = self.policy.decisions[name]
        scope = entity if decision.entity_input is not None else None
        key = (name, scope.path if scope else "")
        cached = self._decisions.get(key)
        if cached is None:
            cached = self._decide(decision, scope)
            self._decisions[key] = cached
        return cached

    def _decide(self, decision: ir.Decision, entity: Entity | None) -> DecisionResult:
        statuses: list[RuleStatus] = []
        possible: list[ir.Rule] = []
        missing: set[str] = set()
        fired: ir.Rule | None = None
        because: list[ir.Citation] = []
        for index, rule in enumerate(decision.rules):
            in_force = self.in_force(rule.valid_from, rule.valid_until)
            if in_force is False:
                statuses.append(RuleStatus(rule.id, rule.outcome, NOT_IN_FORCE))
                continue
            cond = True if rule.cond is None else truth(self.compute(rule.cond, entity))
            if isinstance(in_force, Unknown):
                cond = in_force if cond is not False else False
            if cond is False:
                statuses.append(RuleStatus(rule.id, rule.outcome, FALSE))
                continue
            applied, maybe = self._exceptions(rule, entity)
            if applied is not None:
                statuses.append(RuleStatus(rule.id, rule.outcome, EXCEPTED, applied.id))
                if cond is True:
                    because.extend(self._cites(applied.cites, entity))
                continue
            if cond is True and not maybe:
                statuses.append(RuleStatus(rule.id, rule.outcome, FIRED))
                fired = rule
                statuses.extend(RuleStatus(r.id, r.outcome, NOT_REACHED) for r in decision.rules[index + 1 :])
                if self.tracer is not None:
                    self._explore(decision.rules[index + 1 :], entity)
                break
            rule_missing = set(_missing(cond))
            for _exc, value in maybe:
                rule_missing |= set(_missing(value))
            missing |= rule_missing
            status = UNKNOWN if isinstance(cond, Unknown) else EXCEPTION_UNKNOWN
            exc_id = maybe[0][0].id if maybe and status == EXCEPTION_UNKNOWN else None
            statuses.append(RuleStatus(rule.id, rule.outcome, status, exc_id, tuple(sorted(rule_missing))))
            possible.append(rule)
        return conclude(decision, entity, statuses, possible, fired, missing, because, lambda cites: self._cites(cites, entity))

    def _explore(self, rules: tuple[ir.Rule, ...], entity: Entity | None) -> None:
        """When tracing, also compute the conditions of rules not reached, so that
        'why not' can say what else would have stood in the way. Pure, so harmless."""
        for rule in rules:
            self._explore_exprs([rule.cond, *(e.cond for e in rule.exceptions)], entity)

    def _explore_exprs(self, exprs, entity: Entity | None) -> None:
        """Trace mode computes what short-circuiting skipped, so every sub-condition has a value."""
        for expr in exprs:
            if expr is None:
                continue
            try:
                self.compute(expr, entity)
            except StratError:
                pass  # e.g. a division that the skipped part was guarding

    def _cites(self, cites: tuple[ir.Citation, ...], entity: Entity | None) -> tuple[ir.Citation, ...]:
        """Static citations, with `cites DECISION` replaced by that decision's own citations."""
        if not any(c.decision for c in cites):
            return tuple(cites)
        out: list[ir.Citation] = []
        for c in cites:
            if c.decision is None:
                out.append(c)
            else:
                out.extend(self.decision(c.decision, entity).cites)
        return tuple(dict.fromkeys(out))

    def _exceptions(self, rule: ir.Rule, entity: Entity | None) -> tuple[ir.Exception_ | None, list]:
        maybe = []
        for exc in rule.exceptions:
            value = truth(self.compute(exc.cond, entity))
            if value is True:
                return exc, []
            if isinstance(value, Unknown):
                maybe.append((exc, value))
        return None, maybe

    def obligation(self, obligation: ir.Obligation, entity: Entity | None) -> ObligationResult:
        entity_id = entity.id if entity else None
        path = entity.path if entity else None
        in_force = self.in_force(obligation.valid_from, obligation.valid_until)
        if in_force is False:
            return ObligationResult(obligation.name, entity_id, path, "not_in_force")
        value = truth(self.compute(obligation.cond, entity))
        if value is True and in_force is True:
            return ObligationResult(obligation.name, entity_id, path, "applies")
        if value is False:
            return ObligationResult(obligation.name, entity_id, path, "not_applicable")
        return ObligationResult(obligation.name, entity_id, path, "possible", _missing(merge_unknown([value, in_force])))

    # ------------------------------------------------------------ expressions
    def compute(self, expr: ir.Expr, entity: Entity | None) -> Any:
        value = getattr(self, _DISPATCH[type(expr)])(expr, entity)
        if self.tracer is not None:
            self.tracer.value(entity.path if entity else "", expr.id, value)
        return value

    def _const(self, e: ir.Const, entity):
        return e.value

    def _field(self, e: ir.FieldRef, entity: Entity | None):
        if e.of_record:
            return self.assessment.records[e.input_name][e.field_name]
        return entity.values[e.field_name]

    def _member(self, e: ir.MemberFieldRef, entity):
        return self._member_entity(e.input_name, e.member).values[e.field_name]

    def _entity_id(self, e, entity: Entity | None):
        return entity.id

    def _as_of(self, e, entity):
        return self.as_of

    def _member_entity(self, input_name: str, member: str) -> Entity:
        return next(m for m in self.assessment.entities[input_name] if m.id == member)

    def _def(self, e: ir.DefRef, entity):
        if e.member is not None:
            entity = self._member_entity(e.input_name, e.member)
        return self.definition(e.name, entity)

    def _decision(self, e: ir.DecisionRef, entity):
        if e.member is not None:
            entity = self._member_entity(e.input_name, e.member)
        result = self.decision(e.name, entity)
        if result.status == DECIDED:
            return result.outcome
        return Unknown(frozenset(result.missing), frozenset(result.possible) if result.possible else None)

    def _param(self, e: ir.ParamRef, entity):
        return self.params[e.name]

    def _neg(self, e: ir.Neg, entity):
        v = self.compute(e.operand, entity)
        if is_na(v):
            return v
        return negate_unknown(v) if isinstance(v, Unknown) else -v

    def _not(self, e: ir.Not, entity):
        v = truth(self.compute(e.operand, entity))
        return v if isinstance(v, Unknown) else not v

    def _is_applicable(self, e: ir.IsApplicable, entity):
        return applicable(self.compute(e.operand, entity), e.negated)

    def _arith(self, e: ir.Arith, entity):
        left = self.compute(e.left, entity)
        right = self.compute(e.right, entity)
        na = first_na(left, right)
        if na is not None:  # the quantity does not exist: neither does what is computed from it
            return na
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return arith_unknown(e.op, left, right)
        try:
            if e.op == "+":
                return CONTEXT.add(left, right)
            if e.op == "-":
                return CONTEXT.subtract(left, right)
            if e.op == "*":
                return CONTEXT.multiply(left, right)
            return CONTEXT.divide(left, right)
        except Overflow:
            raise too_large(e.span) from None
        except (DivisionByZero, InvalidOperation):
            raise StratError([division_by_zero(e.span, entity.path if entity else None)]) from None

    def _compare(self, e: ir.Compare, entity):
        left = self.compute(e.left, entity)
        right = self.compute(e.right, entity)
        if is_na(left) or is_na(right):  # a quantity that does not exist satisfies no comparison
            return False
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return compare_unknown(e.op, left, right)
        op = e.op
        if op == "=":
            return left == right
        if op == "!=":
            return left != right
        if op == "<":
            return left < right
        if op == "<=":
            return left <= right
        if op == ">":
            return left > right
        return left >= right

    def _in(self, e: ir.In, entity):
        item = self.compute(e.item, entity)
        container = self.compute(e.container, entity)
        if is_na(item) or is_na(container):
            return False
        if isinstance(item, Unknown) or isinstance(container, Unknown):
            return compare_unknown("not in" if e.negated else "in", item, container)
        return (item in container) != e.negated

    def _set(self, e: ir.SetOf, entity):
        return frozenset(self.compute(i, entity) for i in e.items)

    def _logic(self, e: ir.Logic, entity):
        unknowns = []
        decisive = e.op == "or"  # the value that settles the whole: true for or, false for and
        for index, item in enumerate(e.items):
            v = truth(self.compute(item, entity))
            if isinstance(v, Unknown):
                unknowns.append(v)
            elif v is decisive:
                if self.tracer is not None:
                    self._explore_exprs(e.items[index + 1 :], entity)
                return decisive
        if not unknowns:
            return not decisive
        if is_range(e):  # `between`, or a band: one value against its bounds, jointly
            left = self.compute(e.items[0].left, entity)
            rights = tuple(self.compute(item.right, entity) for item in e.items)
            return range_unknown(tuple(item.op for item in e.items), left, rights, merge_unknown(unknowns))
        return merge_unknown(unknowns)

    def _cond(self, e: ir.Cond, entity):
        c = truth(self.compute(e.cond, entity))
        if c is True:
            return self.compute(e.then, entity)
        if c is False:
            return self.compute(e.otherwise, entity)
        then = self._branch(e.then, entity)
        otherwise = self._branch(e.otherwise, entity)
        return branches_unknown(c, then, otherwise)  # equal branches settle the value

    def _branch(self, expr: ir.Expr, entity: Entity | None) -> Any:
        """A branch of an `if` whose condition is unknown: it may never be taken, so an
        error in it (a division it guards) only makes the value unknown."""
        try:
            return self.compute(expr, entity)
        except (StratError, Overflow):  # Overflow: from an aggregate (arithmetic makes it E202)
            return Unknown()

    def _func(self, e: ir.Func, entity):
        name = e.name
        args = [self.compute(a, entity) for a in e.args]
        if name == "known":  # n/a is known: answered, and does not exist
            return not isinstance(args[0], Unknown)
        na = first_na(*args)
        if na is not None:
            return na
        if any(isinstance(a, Unknown) for a in args):
            return function_unknown(name, args)
        if name == "size":
            return Decimal(len(args[0]))
        if name == "round":
            return round_half_up(args[0], int(args[1]) if len(args) > 1 else 0, e.span)
        if name == "abs":
            return abs(args[0])
        if name == "floor":
            return args[0].to_integral_value(rounding=ROUND_FLOOR)
        if name == "ceil":
            return args[0].to_integral_value(rounding=ROUND_CEILING)
        if name == "min":
            return min(args)
        return max(args)

    def _aggregate(self, e: ir.Aggregate, entity):
        kind = e.kind
        members = self.assessment.entities.get(e.input_name, [])
        values: list[Any] = []
        weights: list[Any] = []
        uncertain: list[Unknown] = []
        for member in members:
            if e.where is not None:
                keep = truth(self.compute(e.where, member))
                if keep is False:
                    continue
                if isinstance(keep, Unknown):
                    uncertain.append(keep)
                    continue
            value = True if e.body is None else self.compute(e.body, member)
            weight = None if e.weight is None else self.compute(e.weight, member)
            if kind in ("any", "all"):
                value = truth(value)
            elif is_na(value) or is_na(weight):  # the member has no such quantity: skipped
                continue
            values.append(value)
            if e.weight is not None:
                weights.append(weight)
        if kind == "any":
            if any(v is True for v in values):
                return True
            pending = [v for v in values if isinstance(v, Unknown)] + uncertain
            return merge_unknown(pending) if pending else False
        if kind == "all":
            if any(v is False for v in values):
                return False
            pending = [v for v in values if isinstance(v, Unknown)] + uncertain
            return merge_unknown(pending) if pending else True
        if uncertain or any(isinstance(v, Unknown) for v in values + weights):
            zero = Unknown(frozenset({f"{e.input_name} (weights sum to zero)"}))
            return aggregate_unknown(kind, uncertain, values, weights, zero)
        if kind == "count":
            return Decimal(len(values))
        if kind == "sum":
            return functools.reduce(CONTEXT.add, values, _ZERO)
        entity_name = self.policy.inputs[e.input_name].entity
        if not values:
            return Unknown(frozenset({f"{e.input_name} (no {entity_name} to aggregate)"}))
        if kind == "min":
            return min(values)
        if kind == "max":
            return max(values)
        if kind == "mean":
            return CONTEXT.divide(functools.reduce(CONTEXT.add, values, _ZERO), Decimal(len(values)))
        total_weight = functools.reduce(CONTEXT.add, weights, _ZERO)
        if total_weight == 0:
            return Unknown(frozenset({f"{e.input_name} (weights sum to zero)"}))
        weighted = functools.reduce(CONTEXT.add, (CONTEXT.multiply(v, w) for v, w in zip(values, weights, strict=True)), _ZERO)
        return CONTEXT.divide(weighted, total_weight)

    def _rank(self, e: ir.Rank, entity: Entity):
        table = self._ranks.get(e.id)
        if table is None:
            table = self._rank_table(e)
            self._ranks[e.id] = table
        return table.get(entity.id, Decimal(0))

    def _rank_table(self, e: ir.Rank) -> dict[str, Any]:
        members = self.assessment.entities.get(e.input_name, [])
        passing: list[tuple[Entity, list[Any]]] = []
        uncertain: list[Unknown] = []
        table: dict[str, Any] = {}
        for member in members:
            keep = True if e.where is None else truth(self.compute(e.where, member))
            if keep is False:
                table[member.id] = Decimal(0)
                continue
            keys = [self.compute(k, member) for k, _ in e.keys]
            if isinstance(keep, Unknown):
                uncertain.append(keep)
                table[member.id] = keep
                continue
            passing.append((member, keys))
        unknown_keys = [k for _, keys in passing for k in keys if isinstance(k, Unknown)]
        if uncertain or unknown_keys:
            blocked = merge_unknown(uncertain + unknown_keys)
            for member, _ in passing:
                table[member.id] = blocked
            return table

        def order(a: tuple[Entity, list[Any]], b: tuple[Entity, list[Any]]) -> int:
            for (ka, kb), (_, descending) in zip(zip(a[1], b[1], strict=True), e.keys, strict=True):
                if is_na(ka) or is_na(kb):  # n/a after every value, in either direction
                    if is_na(ka) and is_na(kb):
                        continue
                    return 1 if is_na(ka) else -1
                if ka != kb:
                    less = ka < kb
                    return (1 if less else -1) if descending else (-1 if less else 1)
            return -1 if a[0].id < b[0].id else (1 if a[0].id > b[0].id else 0)

        for position, (member, _) in enumerate(sorted(passing, key=functools.cmp_to_key(order)), start=1):
            table[member.id] = Decimal(position)
        return table


_DISPATCH = {
    ir.Const: "_const",
    ir.FieldRef: "_field",
    ir.MemberFieldRef: "_member",
    ir.EntityId: "_entity_id",
    ir.AsOf: "_as_of",
    ir.DefRef: "_def",
    ir.DecisionRef: "_decision",
    ir.ParamRef: "_param",
    ir.Neg: "_neg",
    ir.Not: "_not",
    ir.Arith: "_arith",
    ir.Compare: "_compare",
    ir.In: "_in",
    ir.SetOf: "_set",
    ir.Logic: "_logic",
    ir.Cond: "_cond",
    ir.IsApplicable: "_is_applicable",
    ir.Func: "_func",
    ir.Aggregate: "_aggregate",
    ir.Rank: "_rank",
}


def is_range(e: ir.Logic) -> bool:
    """An `and` of comparisons of one and the same expression (what `between` and the
    condition of a band are lowered to): compared jointly when unknown."""
    first = e.items[0]
    return (
        e.op == "and"
        and isinstance(first, ir.Compare)
        and all(isinstance(item, ir.Compare) and item.left.id == first.left.id for item in e.items)
    )


def _with_obligations(result: DecisionResult, obligations: tuple[str, ...]) -> DecisionResult:
    if not obligations:
        return result
    from dataclasses import replace

    return replace(result, obligations=obligations)


def evaluate(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    as_of: date,
    params: dict[str, Any] | None = None,
    tracer: RecordingTracer | None = None,
) -> Result:
    """Evaluate every decision, output value and obligation of the policy for one assessment."""
    try:
        return Evaluator(policy, assessment, as_of, params, tracer).run()
    except Overflow:  # a sum, mean or weighted mean past the exponent limit
        raise too_large() from None


def conclude(
    decision: ir.Decision,
    entity: Entity | None,
    statuses: list[RuleStatus],
    possible: list[ir.Rule],
    fired: ir.Rule | None,
    missing: set[str],
    because: list[ir.Citation],
    cites: Callable[[tuple[ir.Citation, ...]], tuple],
) -> DecisionResult:
    """The result of a first-match walk, shared by both evaluators: decided when one rule
    fired and no earlier one may still apply, or when every rule that may apply gives the
    same outcome; otherwise undetermined (or no match)."""
    outcomes = list(dict.fromkeys([r.outcome for r in possible] + ([fired.outcome] if fired else [])))
    entity_id = entity.id if entity else None
    path = entity.path if entity else None
    if fired is not None and outcomes == [fired.outcome]:
        return DecisionResult(
            decision.name, entity_id, path, DECIDED, fired.outcome, fired.id, (fired.outcome,), (),
            tuple(statuses), cites(fired.cites) + tuple(because),
        )
    if fired is None and len(outcomes) == 1 and not decision.bands:
        # every rule that may still apply gives the same outcome: settled, as the checker proved
        # that some rule always applies (E040); bands have no such proof (a value may fall
        # outside all of them), so an unsettled band condition leaves the band undetermined
        rule = possible[0]
        return DecisionResult(
            decision.name, entity_id, path, DECIDED, rule.outcome, rule.id, (rule.outcome,), (),
            tuple(statuses), cites(rule.cites) + tuple(because),
        )
    if not outcomes:
        return DecisionResult(decision.name, entity_id, path, NO_MATCH, None, None, (), (), tuple(statuses), ())
    return DecisionResult(
        decision.name, entity_id, path, UNDETERMINED, None, None, tuple(outcomes), tuple(sorted(missing)),
        tuple(statuses), (),
    )
