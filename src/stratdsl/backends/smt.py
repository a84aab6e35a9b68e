"""The symbolic back end: a checked policy, for one entity shape, as z3 constraints.

Input: `ir.CheckedPolicy`, a `Shape` (the ids of the entities of each `many`
input; group members are fixed by the policy), the as-of date, and the
parameters (each fixed to a value or left free). Output: a `Translation` whose
facts are solver variables — per input field a value and a *known* flag, so
that unknown facts follow the evaluator's Kleene logic — and whose decisions,
definitions and obligations are solver terms over them.

What is translated and how (docs/analysis.md has the full table):
numbers are exact rationals (z3 Real; an `integer` field is an Int), booleans
Bool, enumerations and decision outcomes integer codes, dates day numbers,
texts z3 strings, `list of` enum a membership bit per value; `round` (half up),
`floor`, `ceil`, `min`, `max`, `abs`, `size`, aggregates and `rank` over the
shape's entities, first-match rules with `unless` exceptions, bands, dated
rules, defaults (a default is a fact's value, as in an assessment), known().

Honesty: an unknown value is `known = false`, and everything computed from it
is unknown unless Kleene logic settles it (`false and unknown`). The reference
evaluator may settle more (it tracks the few values an unknown may still
take), never less, so a value the solver calls known is the evaluator's value.
The solver divides exactly where the evaluator rounds to 28 digits, and an
overflow past 999999 digits is not modelled: every answer shown to a person is
re-evaluated by the ordinary evaluator first. A construct that cannot be
translated raises `Untranslatable` (E801) naming it; callers fall back to the
approximate analyses, never to a guess.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import z3

from ..language import ir
from ..language.diagnostics import Diagnostic, StratError
from ..language.source import Span
from ..language.types import BoolT, DateT, EnumT, ListT, NotApplicableT, NumberT, TextT, Type
from ..runtime.assessment import Assessment
from ..runtime.values import Unknown
from ..runtime.whynot import N_, Msg
from . import budget

#: z3's handler of Diophantine equations for integer arithmetic (`lp.dio`) counts its work in
#: few steps: on the methodology, calls given 1 s of work ran 7 s of CPU until the limit on the
#: clock stopped them (430 steps a millisecond instead of ~4,500), and the answer then depended
#: on the machine. Without it, the same searches stay within their work (docs/performance.md).
#: A global setting of z3, once per process: its solvers take no `lp` parameter.
Z3_PARAMS = {"lp.dio": False}


def _configure_z3() -> None:
    for name, value in Z3_PARAMS.items():
        z3.set_param(name, value)  # (the pinned z3 has them: pyproject.toml)


_configure_z3()

#: One search at a time per process: z3's context is shared and not safe for two threads
#: at once (the service runs two evaluations at once); re-entrant for nested searches.
LOCK = threading.RLock()


_DEPTH = threading.local()


@contextmanager
def question() -> Iterator[None]:
    """One question to the solver (a why-not, settlers, an assertion, a static check): LOCK
    held and, unless inside another question, a new z3 context to make its terms in.

    What the solver finds depends on the terms its context already holds (their numbering
    decides the order it tries things): in one context, a question asked after others
    could get another verified change than the same question asked alone — in the
    service, the answer depended on earlier requests. In a new context the answer depends
    on the question alone. Terms made before stay valid in their own context; a question
    must not mix them with its own (the translation caches are per context)."""
    global TRUE, FALSE
    with LOCK:
        depth = getattr(_DEPTH, "n", 0)
        if depth == 0:
            z3.z3._main_ctx = z3.Context()  # (z3's `main_ctx()` is this module global; we replace it)
            TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)
        _DEPTH.n = depth + 1
        try:
            yield
        finally:
            _DEPTH.n = depth

#: The default time limit of one solver call, in milliseconds.
DEFAULT_TIMEOUT_MS = 5000


class Untranslatable(StratError):
    """A construct the symbolic back end does not translate (E801)."""

    def __init__(self, what: str, span: Span | None = None) -> None:
        self.what = what
        super().__init__(
            [
                Diagnostic(
                    "E801",
                    Msg(N_("the symbolic analysis cannot translate {what}"), what=what),
                    span,
                    hint=Msg(N_("the approximate analyses still apply; docs/analysis.md lists what is translated")),
                )
            ]
        )


# ------------------------------------------------------------------ values


@dataclass(frozen=True)
class SVal:
    """A symbolic value: `known` (z3 Bool) and `value`, meaningful only when known.

    kind is "num" (Real), "bool", "enum" (Int code), "date" (Int day number),
    "text" (String) or "set" (value: dict member → Bool)."""

    known: Any
    value: Any
    kind: str


TRUE = z3.BoolVal(True)
FALSE = z3.BoolVal(False)


def _mk(make: Any, items: list[Any]) -> Any:
    """z3.And / z3.Or over boolean terms of one context, without the Python API's coercion
    of every argument (sort merges, casts): most of a translation's time went there."""
    ctx = items[0].ctx
    args = (z3.Ast * len(items))()
    for i, item in enumerate(items):
        args[i] = item.ast
    return z3.BoolRef(make(ctx.ref(), len(items), args), ctx)


def _not(item: Any) -> Any:
    """z3.Not of a boolean term, without the Python API's coercion (as `_mk`)."""
    ctx = item.ctx
    return z3.BoolRef(z3.Z3_mk_not(ctx.ref(), item.ast), ctx)


def _simp(items: tuple[Any, ...], unit: Any, absorbing: Any, make: Any) -> Any:
    """`and` (unit true, absorbing false) or `or` (the other way round) of boolean terms,
    the constants simplified away. z3 shares terms (`true` is one node), so a term is `true`
    when its node is that one: its address, compared without a call into z3 (z3.is_true and
    get_id are slow in Python)."""
    unit_node, absorbing_node = unit.ast.value, absorbing.ast.value
    kept = []
    for item in items:
        node = item.ast.value
        if node == absorbing_node:
            return absorbing
        if node != unit_node:
            kept.append(item)
    if not kept:
        return unit
    return kept[0] if len(kept) == 1 else _mk(make, kept)


def _simp_and(*items: Any) -> Any:
    return _simp(items, TRUE, FALSE, z3.Z3_mk_and)


def _simp_or(*items: Any) -> Any:
    return _simp(items, FALSE, TRUE, z3.Z3_mk_or)


def _real(value: Decimal | int) -> Any:
    return z3.RealVal(str(value)) if isinstance(value, Decimal) else z3.RealVal(value)


def decimal_of(value: Any) -> Decimal:
    """A z3 rational numeral as a Decimal (exact when its denominator divides a power of ten)."""
    if z3.is_int_value(value):
        return Decimal(value.as_long())
    fraction = Fraction(value.numerator_as_long(), value.denominator_as_long())
    return Decimal(fraction.numerator) / Decimal(fraction.denominator)


def is_decimal_numeral(value: Any) -> bool:
    if z3.is_int_value(value):
        return True
    d = value.denominator_as_long()
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


# ------------------------------------------------------------------ shape and facts


@dataclass(frozen=True)
class Shape:
    """The entities the translation is for: ids of each `many` and `group` input, in order."""

    entities: dict[str, tuple[str, ...]]

    @staticmethod
    def of(assessment: Assessment) -> Shape:
        return Shape({name: tuple(e.id for e in items) for name, items in assessment.entities.items()})

    @staticmethod
    def uniform(policy: ir.CheckedPolicy, count: int) -> Shape:
        """`count` entities (ids e1, e2, …) of every `many` input; every member of every group."""
        out: dict[str, tuple[str, ...]] = {}
        for item in policy.inputs.values():
            if item.kind == "many":
                out[item.name] = tuple(f"e{i}" for i in range(1, count + 1))
            elif item.kind == "group":
                out[item.name] = tuple(item.members)
        return Shape(out)


@dataclass(frozen=True)
class Fact:
    """One input field of one record or entity, as solver variables."""

    path: str  # "org.n", "usecases[ocr].score", "maturity.data.level": as in Unknown.missing
    input_name: str
    entity: str | None
    field_name: str
    type: Type
    known: Any
    value: Any  # z3 term, or dict member → Bool for a list
    var: Any  # the underlying variable (Int/Real/Bool/String), or dict for a list


@dataclass
class DecisionTerm:
    """A decision for one entity: for each outcome, whether it is decided so, and
    whether it stays possible (for undetermined); `no_match` when no rule applies."""

    name: str
    entity: str | None
    decided: dict[str, Any]
    possible: dict[str, Any]
    no_match: Any
    fired: dict[str, Any] = field(default_factory=dict)  # rule id → it certainly fired
    excepts: dict[str, Any] = field(default_factory=dict)  # exception id → it applied where its rule would fire
    # What a proof that something never happens must rule out (`counterfactual.reachable_goal`):
    # on an assessment with unanswered questions the evaluator settles more than the solver
    # does, so "fired" misses assessments where the evaluator fires a rule; "may fire" does not.
    may_fire: dict[str, Any] = field(default_factory=dict)  # rule id → it fired or may fire
    may_except: dict[str, Any] = field(default_factory=dict)  # exception id → it applied or may apply where its rule may fire

    @property
    def settled(self) -> Any:
        return _simp_or(*self.decided.values())

    @property
    def undetermined(self) -> Any:
        return z3.And(_not(self.settled), _not(self.no_match))


# ------------------------------------------------------------------ the translation


class Translation:
    """A checked policy over one entity shape as z3 terms (see the module docstring).

    `params`: values of fixed parameters (others default); `free_params`: names left
    free (any value of their type). `grid`: when set, a non-integer number fact is
    a multiple of 1/grid (witnesses people can read); None for all rationals."""

    def __init__(
        self,
        policy: ir.CheckedPolicy,
        shape: Shape,
        as_of: date,
        params: dict[str, Any] | None = None,
        free_params: frozenset[str] | set[str] = frozenset(),
        grid: int | None = None,
        prefix: str = "",
        off_grid: frozenset[str] = frozenset(),
    ) -> None:
        self.policy = policy
        self.shape = shape
        self.as_of = as_of
        self.grid = grid
        self.off_grid = off_grid  # fact paths whose value is finer than the grid: kept rational
        self.prefix = prefix
        self.overrides = dict(params or {})
        self.free_params = frozenset(free_params)
        self.codes: dict[str, int] = {}
        self.facts: dict[str, Fact] = {}
        self.domain: list[Any] = []  # the declared ranges of the facts and free parameters
        self.safety: list[Any] = []  # no division by zero where the evaluator would divide
        self.params: dict[str, SVal] = {}
        self._defs: dict[tuple[str, str | None], SVal] = {}
        self._decisions: dict[tuple[str, str | None], DecisionTerm] = {}
        self._ranks: dict[tuple[int, str], SVal] = {}
        #: (rank id, entity a, entity b) → a passes the rank's filter, its keys are known and it
        #: comes before b (why-not moves one entity above another: backends/counterfactual.py)
        self.precedes: dict[tuple[int, str, str], Any] = {}
        self._declare_facts()
        self._declare_params()

    # -------------------------------------------------------------- codes
    def code(self, text: str) -> int:
        """The integer that stands for an enum value or an outcome (one table for all)."""
        if text not in self.codes:
            self.codes[text] = len(self.codes)
        return self.codes[text]

    def name_of(self, code: int) -> str:
        return next(k for k, v in self.codes.items() if v == code)

    # -------------------------------------------------------------- facts
    def entity_path(self, input_name: str, entity: str | None) -> str:
        item = self.policy.inputs[input_name]
        if item.kind == "record":
            return input_name
        if item.kind == "group":
            return f"{input_name}.{entity}"
        return f"{input_name}[{entity}]"

    def _declare_facts(self) -> None:
        for item in self.policy.inputs.values():
            owners: tuple[str | None, ...] = (None,) if item.kind == "record" else self.shape.entities.get(item.name, ())
            for owner in owners:
                prefix = self.entity_path(item.name, owner)
                for fname, f in item.fields.items():
                    path = f"{prefix}.{fname}"
                    fact = self._fact(path, item.name, owner, fname, f.type)
                    self.facts[path] = fact
                    if f.required:  # an assessment without it is refused (E302)
                        self.domain.append(fact.known)
                        if isinstance(f.type, TextT):
                            self.domain.append(z3.Length(fact.value) >= 1)

    def _var_name(self, path: str) -> str:
        return f"{self.prefix}{path}"

    def _fact(self, path: str, input_name: str, owner: str | None, fname: str, type_: Type) -> Fact:
        name = self._var_name(path)
        known = z3.Bool(f"{name}?")
        value, var = self._fresh(name, type_, path not in self.off_grid)
        return Fact(path, input_name, owner, fname, type_, known, value, var)

    def _fresh(self, name: str, type_: Type, on_grid: bool = True) -> tuple[Any, Any]:
        """A variable of the type and its value term, with the type's declared range."""
        if isinstance(type_, NumberT):
            if type_.integer:
                var = z3.Int(name)
                value = z3.ToReal(var)
            elif self.grid and on_grid:
                var = z3.Int(name + "*" + str(self.grid))
                value = z3.ToReal(var) / self.grid
            else:
                var = z3.Real(name)
                value = var
            if type_.low is not None:
                self.domain.append(value >= _real(type_.low))
            if type_.high is not None:
                self.domain.append(value <= _real(type_.high))
            return value, var
        if isinstance(type_, BoolT):
            var = z3.Bool(name)
            return var, var
        if isinstance(type_, EnumT):
            var = z3.Int(name)
            self.domain.append(z3.Or(*[var == self.code(v) for v in type_.values]))
            return var, var
        if isinstance(type_, DateT):
            var = z3.Int(name)
            self.domain.append(z3.And(var >= 1, var <= date.max.toordinal()))
            return var, var
        if isinstance(type_, TextT):
            var = z3.String(name)
            return var, var
        if isinstance(type_, ListT) and isinstance(type_.element, EnumT):
            bits = {v: z3.Bool(f"{name}∋{v}") for v in type_.element.values}
            return bits, bits
        raise Untranslatable(Msg(N_("a field of type {type}"), type=type_.describe()))

    def _declare_params(self) -> None:
        for name, p in self.policy.params.items():
            if name in self.free_params:
                value, _var = self._fresh(f"{self.prefix}param.{name}", p.type)
                self.params[name] = SVal(TRUE, value, _kind(p.type))
            else:
                self.params[name] = self.constant(self.overrides.get(name, p.default), p.type)

    def constant(self, value: Any, type_: Type) -> SVal:
        if isinstance(value, (Unknown, ir.NotApplicable)) or value is None:
            return SVal(FALSE, _default_term(_kind(type_)), _kind(type_))
        if isinstance(value, bool):
            return SVal(TRUE, z3.BoolVal(value), "bool")
        if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
            return SVal(TRUE, _real(Decimal(value)), "num")
        if isinstance(value, date):
            return SVal(TRUE, z3.IntVal(value.toordinal()), "date")
        if isinstance(value, (frozenset, set, list, tuple)):
            return SVal(TRUE, {str(v): TRUE for v in value}, "set")
        if isinstance(value, str):
            if isinstance(type_, TextT):
                return SVal(TRUE, z3.StringVal(value), "text")
            return SVal(TRUE, z3.IntVal(self.code(value)), "enum")
        raise Untranslatable(Msg(N_("the constant {value}"), value=repr(value)))

    def fact_sval(self, fact: Fact) -> SVal:
        return SVal(fact.known, fact.value, _kind(fact.type))

    def pin(self, fact: Fact, value: Any) -> Any:
        """The constraint 'this fact has this value' (an Unknown: it is not known)."""
        if isinstance(value, Unknown):
            return _not(fact.known)
        return z3.And(fact.known, self.equals(fact, value))

    def equals(self, fact: Fact, value: Any) -> Any:
        """The constraint 'the fact's value is `value`' (known is not said)."""
        kind = _kind(fact.type)
        if kind == "set":
            members = {str(v) for v in value}
            return _simp_and(*[bit if v in members else _not(bit) for v, bit in fact.value.items()])
        return _eq(kind, fact.value, self.constant(value, fact.type).value)

    def pins(self, assessment: Assessment) -> list[Any]:
        """Every fact fixed to its value in `assessment` (whose shape this translation has)."""
        return [self.pin(self.facts[path], value) for path, value in assessment_facts(self.policy, assessment).items() if path in self.facts]

    # -------------------------------------------------------------- public terms
    def definition(self, name: str, entity: str | None) -> SVal:
        d = self.policy.definitions[name]
        scope = (d.entity_input, entity) if d.entity_input is not None else None
        key = (name, entity if scope else None)
        if key not in self._defs:
            self._defs[key] = self.expr(d.expr, scope, TRUE)
        return self._defs[key]

    def decision(self, name: str, entity: str | None) -> DecisionTerm:
        d = self.policy.decisions[name]
        key = (name, entity if d.entity_input is not None else None)
        if key not in self._decisions:
            scope = (d.entity_input, entity) if d.entity_input is not None else None
            self._decisions[key] = self._decide(d, scope)
        return self._decisions[key]

    def scope_entities(self, input_name: str | None) -> tuple[str | None, ...]:
        if input_name is None:
            return (None,)
        return self.shape.entities.get(input_name, ())

    def all_decisions(self) -> list[DecisionTerm]:
        return [self.decision(d.name, e) for d in self.policy.decisions.values() for e in self.scope_entities(d.entity_input)]

    def obligation(self, name: str, entity: str | None) -> dict[str, Any]:
        """applies / possible / not_applicable / not_in_force, as solver Bools."""
        o = self.policy.obligations[name]
        scope = (o.entity_input, entity) if o.entity_input is not None else None
        k_if, v_if = self._in_force(o.valid_from, o.valid_until)
        nif = z3.And(k_if, _not(v_if))
        c = self.expr(o.cond, scope, _not(nif))
        applies = z3.And(_not(nif), c.known, c.value, k_if)
        not_applicable = z3.And(_not(nif), c.known, _not(c.value))
        return {
            "not_in_force": nif,
            "applies": applies,
            "not_applicable": not_applicable,
            "possible": z3.And(_not(nif), _not(applies), _not(not_applicable)),
        }

    # -------------------------------------------------------------- decisions
    def _date_term(self, expr: ir.Expr | None) -> SVal | None:
        return None if expr is None else self.expr(expr, None, TRUE)

    def _in_force(self, valid_from: ir.Expr | None, valid_until: ir.Expr | None) -> tuple[Any, Any]:
        """(known, value) of 'in force on the as-of date', as the evaluator's in_force."""
        start, end = self._date_term(valid_from), self._date_term(valid_until)
        known = _simp_and(*[s.known for s in (start, end) if s is not None])
        today = z3.IntVal(self.as_of.toordinal())
        parts = []
        if start is not None:
            parts.append(_not(today < start.value))
        if end is not None:
            parts.append(_not(today >= end.value))
        return known, _simp_and(*parts)

    def _decide(self, decision: ir.Decision, scope: tuple[str, str] | None) -> DecisionTerm:
        reached = TRUE  # no earlier rule certainly fired
        possible: dict[str, list[Any]] = {o.name: [] for o in decision.outcomes}
        fired_by: dict[str, list[Any]] = {o.name: [] for o in decision.outcomes}
        fired_rules: dict[str, Any] = {}
        excepts: dict[str, Any] = {}
        may_fire: dict[str, Any] = {}
        may_except: dict[str, Any] = {}
        any_fired = []
        for rule in decision.rules:
            k_if, v_if = self._in_force(rule.valid_from, rule.valid_until)
            nif = _simp_and(k_if, _not(v_if)) if (rule.valid_from or rule.valid_until) else FALSE
            live = _simp_and(reached, _not(nif))
            if rule.cond is None:
                c = SVal(TRUE, TRUE, "bool")
            else:
                c = self.expr(rule.cond, scope, live)
            false = _simp_and(c.known, _not(c.value))
            certain = _simp_and(k_if, v_if, c.known, c.value)
            open_ = _simp_and(live, _not(false))
            applied_parts = []
            maybe_parts = []
            for exc in rule.exceptions:
                x = self.expr(exc.cond, scope, _simp_and(open_, *[_not(a) for a in applied_parts]))
                applied_parts.append(_simp_and(x.known, x.value))
                maybe_parts.append(_not(x.known))
                excepts[exc.id] = _simp_and(open_, certain, x.known, x.value)
                may_except[exc.id] = _simp_and(open_, _not(_simp_and(x.known, _not(x.value))))
            applied = _simp_or(*applied_parts)
            maybe = _simp_or(*maybe_parts)
            fires = _simp_and(open_, _not(applied), certain, _not(maybe))
            may = _simp_and(open_, _not(applied), _not(fires))
            possible[rule.outcome].append(may)
            fired_by[rule.outcome].append(fires)
            fired_rules[rule.id] = fires
            may_fire[rule.id] = _simp_and(open_, _not(applied))
            any_fired.append(fires)
            reached = _simp_and(reached, _not(fires))
        in_set = {o: _simp_or(*possible[o], *fired_by[o]) for o in possible}
        some_fired = _simp_or(*any_fired)
        decided = {}
        for o, here in in_set.items():
            alone = _simp_and(here, *[_not(other) for name, other in in_set.items() if name != o])
            decided[o] = alone if not decision.bands else _simp_and(alone, some_fired)
        no_match = _simp_and(*[_not(v) for v in in_set.values()])
        entity = scope[1] if scope else None
        return DecisionTerm(decision.name, entity, decided, in_set, no_match, fired_rules, excepts, may_fire, may_except)

    # -------------------------------------------------------------- expressions
    def expr(self, e: ir.Expr, scope: tuple[str, str] | None, guard: Any) -> SVal:
        """`e` in `scope` (input name, entity id); `guard`: when the evaluator computes it
        (divisions by zero under it are errors, so the safety constraints need it)."""
        method = getattr(self, "_" + type(e).__name__, None)
        if method is None:
            raise Untranslatable(Msg(N_("the expression {kind}"), kind=type(e).__name__), e.span)
        return method(e, scope, guard)

    def _Const(self, e: ir.Const, scope, guard) -> SVal:
        return self.constant(e.value, e.type)

    def _FieldRef(self, e: ir.FieldRef, scope, guard) -> SVal:
        if e.of_record:
            path = f"{e.input_name}.{e.field_name}"
        else:
            path = f"{self.entity_path(scope[0], scope[1])}.{e.field_name}"
        return self.fact_sval(self.facts[path])

    def _MemberFieldRef(self, e: ir.MemberFieldRef, scope, guard) -> SVal:
        return self.fact_sval(self.facts[f"{e.input_name}.{e.member}.{e.field_name}"])

    def _EntityId(self, e, scope, guard) -> SVal:
        return SVal(TRUE, z3.StringVal(scope[1]), "text")

    def _AsOf(self, e, scope, guard) -> SVal:
        return SVal(TRUE, z3.IntVal(self.as_of.toordinal()), "date")

    def _DefRef(self, e: ir.DefRef, scope, guard) -> SVal:
        if e.member is not None:
            return self.definition(e.name, e.member)
        d = self.policy.definitions[e.name]
        return self.definition(e.name, scope[1] if d.entity_input is not None else None)

    def _DecisionRef(self, e: ir.DecisionRef, scope, guard) -> SVal:
        d = self.policy.decisions[e.name]
        if e.member is not None:
            term = self.decision(e.name, e.member)
        else:
            term = self.decision(e.name, scope[1] if d.entity_input is not None else None)
        value: Any = z3.IntVal(self.code(d.outcomes[0].name))
        for o in d.outcomes[1:]:
            value = z3.If(term.decided[o.name], z3.IntVal(self.code(o.name)), value)
        return SVal(term.settled, value, "enum")

    def _ParamRef(self, e: ir.ParamRef, scope, guard) -> SVal:
        return self.params[e.name]

    def _Neg(self, e: ir.Neg, scope, guard) -> SVal:
        v = self.expr(e.operand, scope, guard)
        return SVal(v.known, -v.value, "num")

    def _Not(self, e: ir.Not, scope, guard) -> SVal:
        v = self.expr(e.operand, scope, guard)
        return SVal(v.known, _not(v.value), "bool")

    def _Arith(self, e: ir.Arith, scope, guard) -> SVal:
        left = self.expr(e.left, scope, guard)
        right = self.expr(e.right, scope, guard)
        known = _simp_and(left.known, right.known)
        if e.op == "+":
            return SVal(known, left.value + right.value, "num")
        if e.op == "-":
            return SVal(known, left.value - right.value, "num")
        if e.op == "*":
            return SVal(known, left.value * right.value, "num")
        self.safety.append(z3.Implies(_simp_and(guard, known), right.value != 0))
        return SVal(known, left.value / right.value, "num")

    def _Compare(self, e: ir.Compare, scope, guard) -> SVal:
        left = self.expr(e.left, scope, guard)
        right = self.expr(e.right, scope, guard)
        known = _simp_and(left.known, right.known)
        op = e.op
        if op in ("=", "!="):
            same = _eq(left.kind, left.value, right.value)
            return SVal(known, same if op == "=" else _not(same), "bool")
        a, b = left.value, right.value
        value = {"<": lambda: a < b, "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b}[op]()
        return SVal(known, value, "bool")

    def _In(self, e: ir.In, scope, guard) -> SVal:
        item = self.expr(e.item, scope, guard)
        container = self.expr(e.container, scope, guard)
        known = _simp_and(item.known, container.known)
        if container.kind != "set":
            raise Untranslatable(Msg(N_("'in' on something that is not a list")), e.span)
        if item.kind == "enum":
            parts = [_simp_and(bit, item.value == self.code(v)) for v, bit in container.value.items()]
        elif item.kind == "text":
            parts = [_simp_and(bit, item.value == z3.StringVal(v)) for v, bit in container.value.items()]
        else:
            raise Untranslatable(Msg(N_("'in' over a list of this kind")), e.span)
        member = _simp_or(*parts)
        return SVal(known, _not(member) if e.negated else member, "bool")

    def _SetOf(self, e: ir.SetOf, scope, guard) -> SVal:
        out: dict[str, Any] = {}
        knowns = []
        for item in e.items:
            if not isinstance(item, ir.Const):
                raise Untranslatable(Msg(N_("a set of computed values")), item.span)
            out[str(item.value)] = TRUE
            knowns.append(TRUE)
        return SVal(TRUE, out, "set")

    def _Logic(self, e: ir.Logic, scope, guard) -> SVal:
        decisive = e.op == "or"
        items = []
        stop = FALSE  # an earlier item already settled the whole (the evaluator stops there)
        for item in e.items:
            v = self.expr(item, scope, _simp_and(guard, _not(stop)))
            items.append(v)
            hit = _simp_and(v.known, v.value if decisive else _not(v.value))
            stop = _simp_or(stop, hit)
        all_known = _simp_and(*[v.known for v in items])
        known = _simp_or(stop, all_known)
        return SVal(known, stop if decisive else _not(stop), "bool")

    def _branch(self, e: ir.Expr, type_: Type, scope, guard) -> SVal:
        """A branch of `if`; `not applicable` is translated as not known (below). A branch that
        is never applicable (the literal, an `if` of two, a definition that is only that) has
        no kind of its own: it takes the `if`'s."""
        if isinstance(e.type, NotApplicableT):
            return self.constant(None, type_)
        return self.expr(e, scope, guard)

    def _IsApplicable(self, e: ir.IsApplicable, scope, guard) -> SVal:
        # n/a is translated as *not known* (sound: the evaluator, which knows it is n/a, may
        # only settle more): a known value is applicable; otherwise the test is unknown
        v = self.expr(e.operand, scope, guard)
        return SVal(v.known, z3.BoolVal(not e.negated), "bool")

    def _Cond(self, e: ir.Cond, scope, guard) -> SVal:
        c = self.expr(e.cond, scope, guard)
        then = self._branch(e.then, e.type, scope, _simp_and(guard, c.known, c.value))
        otherwise = self._branch(e.otherwise, e.type, scope, _simp_and(guard, c.known, _not(c.value)))
        known = z3.And(c.known, z3.If(c.value, then.known, otherwise.known))
        if then.kind == "set" or otherwise.kind == "set":
            keys = set(then.value) | set(otherwise.value)
            value = {k: z3.If(c.value, then.value.get(k, FALSE), otherwise.value.get(k, FALSE)) for k in keys}
        else:
            value = z3.If(c.value, then.value, otherwise.value)
        return SVal(known, value, then.kind if then.kind != "set" else "set")

    def _Func(self, e: ir.Func, scope, guard) -> SVal:
        name = e.name
        if name == "known":
            arg = e.args[0]
            v = self.expr(arg, scope, guard)
            if _known_exactly(self.policy, arg):
                return SVal(TRUE, v.known, "bool")  # (known exactly where the evaluator knows it)
            # The evaluator may settle a computed value the solver leaves unknown (an `if`
            # whose branches agree, a decision whose possible outcomes agree): where the
            # solver knows the value, known() is true; elsewhere it is itself unknown, never
            # false — so the solver never decides what the evaluator would decide otherwise.
            return SVal(v.known, TRUE, "bool")
        args = [self.expr(a, scope, guard) for a in e.args]
        known = _simp_and(*[a.known for a in args])
        x = args[0].value
        if name == "size":
            if args[0].kind != "set":
                raise Untranslatable(Msg(N_("size() of this value")), e.span)
            return SVal(known, z3.Sum([z3.If(b, z3.RealVal(1), z3.RealVal(0)) for b in x.values()] or [z3.RealVal(0)]), "num")
        if name == "round":
            places = 0
            if len(e.args) > 1:
                if not isinstance(e.args[1], ir.Const):
                    raise Untranslatable(Msg(N_("round() to a computed number of places")), e.span)
                places = int(e.args[1].value)
            return SVal(known, _round_half_up(x, places), "num")
        if name == "abs":
            return SVal(known, z3.If(x >= 0, x, -x), "num")
        if name == "floor":
            return SVal(known, z3.ToReal(z3.ToInt(x)), "num")
        if name == "ceil":
            return SVal(known, -z3.ToReal(z3.ToInt(-x)), "num")
        if name in ("min", "max"):
            out = x
            for a in args[1:]:
                out = z3.If(a.value < out, a.value, out) if name == "min" else z3.If(a.value > out, a.value, out)
            return SVal(known, out, args[0].kind)
        raise Untranslatable(Msg(N_("the function {name}()"), name=name), e.span)

    def _Aggregate(self, e: ir.Aggregate, scope, guard) -> SVal:
        members = self.shape.entities.get(e.input_name, ())
        kind = e.kind
        included = []  # (where known true, body SVal, weight SVal)
        where_unknown = []
        for m in members:
            mscope = (e.input_name, m)
            if e.where is not None:
                w = self.expr(e.where, mscope, guard)
                keep = _simp_and(w.known, w.value)
                where_unknown.append(_not(w.known))
            else:
                keep = TRUE
            body = self.expr(e.body, mscope, _simp_and(guard, keep)) if e.body is not None else SVal(TRUE, TRUE, "bool")
            weight = self.expr(e.weight, mscope, _simp_and(guard, keep)) if e.weight is not None else None
            included.append((keep, body, weight))
        some_uncertain = _simp_or(*where_unknown)
        if kind == "any":
            hit = _simp_or(*[_simp_and(k, b.known, b.value) for k, b, _ in included])
            pending = _simp_or(some_uncertain, *[_simp_and(k, _not(b.known)) for k, b, _ in included])
            return SVal(_simp_or(hit, _not(pending)), hit, "bool")
        if kind == "all":
            miss = _simp_or(*[_simp_and(k, b.known, _not(b.value)) for k, b, _ in included])
            pending = _simp_or(some_uncertain, *[_simp_and(k, _not(b.known)) for k, b, _ in included])
            return SVal(_simp_or(miss, _not(pending)), _not(miss), "bool")
        values_known = _simp_and(*[z3.Implies(k, b.known) for k, b, _ in included])
        if e.weight is not None:
            values_known = _simp_and(values_known, *[z3.Implies(k, w.known) for k, _, w in included])
        known = _simp_and(_not(some_uncertain), values_known)
        zero, one = z3.RealVal(0), z3.RealVal(1)
        count = z3.Sum([z3.If(k, one, zero) for k, _, _ in included] or [zero])
        if kind == "count":
            return SVal(_not(some_uncertain), count, "num")
        total = z3.Sum([z3.If(k, b.value, zero) for k, b, _ in included] or [zero])
        if kind == "sum":
            return SVal(known, total, "num")
        nonempty = count > 0
        if kind == "mean":
            return SVal(_simp_and(known, nonempty), z3.If(nonempty, total / z3.If(nonempty, count, one), zero), "num")
        if kind in ("min", "max"):
            if not included:
                return SVal(FALSE, zero, "num")
            # the first included member seeds the fold: rebuild so that excluded tails cannot win
            best: Any = zero
            seeded: Any = FALSE
            for k, b, _ in included:
                better = b.value < best if kind == "min" else b.value > best
                best = z3.If(z3.And(k, z3.Or(_not(seeded), better)), b.value, best)
                seeded = z3.Or(seeded, k)
            return SVal(_simp_and(known, nonempty), best, "num")
        if kind == "weighted_mean":
            wsum = z3.Sum([z3.If(k, w.value, zero) for k, _, w in included] or [zero])
            product = z3.Sum([z3.If(k, b.value * w.value, zero) for k, b, w in included] or [zero])
            positive = wsum != 0
            return SVal(_simp_and(known, nonempty, positive), z3.If(positive, product / z3.If(positive, wsum, one), zero), "num")
        raise Untranslatable(Msg(N_("the aggregate {kind}()"), kind=kind), e.span)

    def _Rank(self, e: ir.Rank, scope, guard) -> SVal:
        key = (e.id, scope[1])
        if key in self._ranks:
            return self._ranks[key]
        members = self.shape.entities.get(e.input_name, ())
        rows = []
        for m in members:
            mscope = (e.input_name, m)
            if e.where is not None:
                w = self.expr(e.where, mscope, TRUE)
            else:
                w = SVal(TRUE, TRUE, "bool")
            keys = []
            for k, _desc in e.keys:
                kv = self.expr(k, mscope, TRUE)
                if kv.kind not in ("num", "date"):
                    raise Untranslatable(Msg(N_("rank by a text")), k.span)
                keys.append(kv)
            rows.append((m, w, keys))
        all_where_known = _simp_and(*[w.known for _, w, _ in rows])
        passing_keys_known = _simp_and(*[z3.Implies(_simp_and(w.known, w.value), _simp_and(*[k.known for k in ks])) for _, w, ks in rows])
        for m, w, ks in rows:
            before = []
            for m2, w2, ks2 in rows:
                if m2 == m:
                    continue
                # m2 comes before m: the first differing key decides, then the id
                cmp = TRUE if m2 < m else FALSE
                for (k2, k1), (_, descending) in reversed(list(zip(zip(ks2, ks, strict=True), e.keys, strict=True))):
                    first = (k2.value > k1.value) if descending else (k2.value < k1.value)
                    cmp = z3.If(k2.value == k1.value, cmp, first)
                before.append(z3.If(_simp_and(w2.known, w2.value, cmp), z3.RealVal(1), z3.RealVal(0)))
                self.precedes[(e.id, m2, m)] = _simp_and(w2.known, w2.value, *[k.known for k in ks2], cmp)
            passes = _simp_and(w.known, w.value)
            value = z3.If(passes, 1 + z3.Sum(before or [z3.RealVal(0)]), z3.RealVal(0))
            known = _simp_or(_simp_and(w.known, _not(w.value)), _simp_and(all_where_known, passing_keys_known))
            self._ranks[(e.id, m)] = SVal(known, value, "num")
        return self._ranks[key]


def _kind(type_: Type) -> str:
    if isinstance(type_, NumberT):
        return "num"
    if isinstance(type_, BoolT):
        return "bool"
    if isinstance(type_, EnumT):
        return "enum"
    if isinstance(type_, DateT):
        return "date"
    if isinstance(type_, TextT):
        return "text"
    if isinstance(type_, ListT):
        return "set"
    raise Untranslatable(Msg(N_("a value of type {type}"), type=type_.describe()))


def _default_term(kind: str) -> Any:
    return {
        "num": z3.RealVal(0),
        "bool": FALSE,
        "enum": z3.IntVal(-1),
        "date": z3.IntVal(0),
        "text": z3.StringVal(""),
        "set": {},
    }[kind]


def _eq(kind: str, a: Any, b: Any) -> Any:
    if kind == "set":
        keys = set(a) | set(b)
        return _simp_and(*[a.get(k, FALSE) == b.get(k, FALSE) for k in keys])
    return a == b


def _round_half_up(x: Any, places: int) -> Any:
    """Decimal's ROUND_HALF_UP: ties away from zero."""
    scale = z3.RealVal(10**places)
    s = x * scale
    up = z3.ToReal(z3.ToInt(s + z3.RealVal("1/2")))
    down = -z3.ToReal(z3.ToInt(-s + z3.RealVal("1/2")))
    return z3.If(s >= 0, up, down) / scale


def assessment_facts(policy: ir.CheckedPolicy, assessment: Assessment) -> dict[str, Any]:
    """Every fact of an assessment by its path (the names Unknown.missing uses)."""
    out: dict[str, Any] = {}
    for name, values in assessment.records.items():
        for fname, v in values.items():
            out[f"{name}.{fname}"] = v
    for items in assessment.entities.values():
        for entity in items:
            for fname, v in entity.values.items():
                out[f"{entity.path}.{fname}"] = v
    return out


def model_value(model: z3.ModelRef, fact: Fact, codes: dict[str, int]) -> Any:
    """The value a model gives a fact, as the evaluator would read it (Unknown when not known)."""
    if not z3.is_true(model.evaluate(fact.known, model_completion=True)):
        return Unknown(frozenset({fact.path}))
    return term_value(model, fact.value, fact.type, codes)


def term_value(model: z3.ModelRef, term: Any, type_: Type, codes: dict[str, int] | None) -> Any:
    if isinstance(type_, ListT):
        return frozenset(v for v, bit in term.items() if z3.is_true(model.evaluate(bit, model_completion=True)))
    value = model.evaluate(term, model_completion=True)
    if isinstance(type_, NumberT):
        return decimal_of(value)
    if isinstance(type_, BoolT):
        return z3.is_true(value)
    if isinstance(type_, DateT):
        return date.fromordinal(max(1, value.as_long()))
    if isinstance(type_, TextT):
        return value.as_string()
    if isinstance(type_, EnumT):
        code = value.as_long()
        if codes is not None:
            for k, v in codes.items():
                if v == code:
                    return k
        return code
    return value


@dataclass(frozen=True)
class SymbolicDecision:
    status: str  # "decided", "undetermined", "no_match"
    outcome: str | None
    possible: tuple[str, ...]


def read_decision(model: z3.ModelRef, term: DecisionTerm) -> SymbolicDecision:
    """What a model says of one decision."""

    def true(x: Any) -> bool:
        return z3.is_true(model.evaluate(x, model_completion=True))

    for o, d in term.decided.items():
        if true(d):
            return SymbolicDecision("decided", o, (o,))
    if true(term.no_match):
        return SymbolicDecision("no_match", None, ())
    return SymbolicDecision("undetermined", None, tuple(o for o, p in term.possible.items() if true(p)))


def substitute(term: Any, *pairs: tuple[Any, Any]) -> Any:
    """z3.substitute(term, *pairs) without the Python API's check of every pair's sorts (the
    pairs here replace a fact's variables by values of its own sort): with a fact pinned per
    pair, the checks took longer than the substitution."""
    if not pairs:
        return term
    ctx = term.ctx
    n = len(pairs)
    old, new = (z3.Ast * n)(), (z3.Ast * n)()
    for i, (a, b) in enumerate(pairs):
        old[i], new[i] = a.ast, b.ast
    return z3.z3._to_expr_ref(z3.Z3_substitute(ctx.ref(), term.as_ast(), n, old, new), ctx)


def solver(timeout_ms: int = DEFAULT_TIMEOUT_MS) -> z3.Solver:
    """A solver in z3's incremental mode (a scope opened before anything is asserted). Its
    first check without one goes to the non-incremental solver, whose preprocessing for
    non-linear arithmetic took the whole budget of most proofs that no change gives an
    outcome (3.4 million steps, "unknown"), where the incremental one answers in a few
    thousand (docs/performance.md)."""
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.push()
    return s


def kleene_exact(policy: ir.CheckedPolicy, expr: ir.Expr) -> bool:
    """Whether the solver knows `expr` exactly where the evaluator does: it reads answers,
    parameters and definitions made of them through Kleene logic and arithmetic only. The
    evaluator settles more than that only through possible values — of an undetermined
    decision, of an `if` whose condition is unknown, of an aggregate over them — and
    through `known()`; none of those is read here."""
    for node in ir.cone_nodes(policy, [expr]):
        if isinstance(node, (ir.Cond, ir.DecisionRef, ir.Aggregate, ir.Rank)) or (isinstance(node, ir.Func) and node.name == "known"):
            return False
        if isinstance(node, ir.DefRef) and node.name not in policy.definitions:
            return False
    return True


def _known_exactly(policy: ir.CheckedPolicy, arg: ir.Expr) -> bool:
    """Whether the translation of `known(arg)` is exact (an answer, or `kleene_exact`)."""
    return isinstance(arg, (ir.FieldRef, ir.MemberFieldRef)) or (isinstance(arg, ir.DefRef) and kleene_exact(policy, arg))


def reads_known(policy: ir.CheckedPolicy, decision: str, rules: int | None = None) -> bool:
    """Whether a decision's rules (the first `rules` of them, or all) read `known(…)` of a
    computed value, themselves or through the definitions and decisions they read.

    The translation says `known(selection)` is true where the solver settles the decision
    and leaves it unknown elsewhere — never false, since the evaluator, which also reasons
    over the possible values of what is unanswered, settles more than the solver's Kleene
    logic. So a rule that needs such a `known` false (`candidate when not known(selection)`:
    only while questions are open) never fires for the solver though the evaluator fires it,
    and a proof that it never does must be over what the solver leaves possible
    (`DecisionTerm.may_fire`, `.possible`). `known` of an answer (`known(hourly_cost)`) or
    of a definition made of answers through Kleene logic (`kleene_exact`) the solver
    translates exactly."""
    return expr_reads_known(policy, [], decision, rules)


def expr_reads_known(policy: ir.CheckedPolicy, exprs: list[ir.Expr], decision: str | None = None, rules: int | None = None) -> bool:
    """`reads_known` for expressions (an assertion), and a decision's first `rules` rules."""
    start = list(exprs) + (ir.rule_exprs(policy.decisions[decision], rules) if decision in policy.decisions else [])
    return any(isinstance(node, ir.Func) and node.name == "known" and not _known_exactly(policy, node.args[0]) for node in ir.cone_nodes(policy, start))


def check_translatable(policy: ir.CheckedPolicy, as_of: date) -> list[Diagnostic]:
    """What would stop a translation of this policy (empty when it translates)."""
    t = Translation(policy, Shape.uniform(policy, 2), as_of)
    problems: list[Diagnostic] = []
    for d in policy.decisions.values():
        for e in t.scope_entities(d.entity_input):
            try:
                t.decision(d.name, e)
            except Untranslatable as error:
                problems.extend(error.diagnostics)
    return problems


def constants(*exprs: Any) -> set[str]:
    """The names of the solver variables a term reads (one walk over the shared DAG)."""
    seen: set[int] = set()
    out: set[str] = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        i = e.get_id()
        if i in seen:
            continue
        seen.add(i)
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.add(str(e))
            continue
        stack.extend(e.children())
    return out


def fact_names(fact: Fact) -> set[str]:
    """The names of a fact's solver variables."""
    out = {str(fact.known)}
    if isinstance(fact.var, dict):
        out |= {str(b) for b in fact.var.values()}
    else:
        out.add(str(fact.var))
    return out


def check(s: Any, budget_ms: int, *assumptions: Any) -> Any:
    """`s.check(*assumptions)` within `budget_ms`. Inside a counted budget (`budget.counted`:
    a why-not, an assertion, a static check) the limit is on the solver's own count of its
    steps (`rlimit`), and the steps taken are charged: the same call stops at the same point
    on every machine — with a backstop on the thread's CPU time (`_CpuWatch`). Elsewhere it
    is the solver's timeout, and an interrupt from a timer (non-linear arithmetic does not
    always look at its clock)."""
    meter = budget.active()
    if meter is None:
        return _timed(s, max(int(budget_ms), 1), assumptions)
    # z3 counts its steps slowly in some procedures (a call given 2.3 s of work ran 31 s on an
    # express diagnostic): a call may not use more than CALL_FACTOR times its share of the
    # thread's CPU time (other processes do not count), nor pass the search's backstop;
    # stopped so, it is charged its whole share and the meter says the answer may vary
    limit = min(max(int(budget_ms * budget.UNITS_PER_MS), 1), budget.MAX_UNITS)
    before = s.statistics().get_key_value("rlimit count")
    s.set("rlimit", limit)
    cpu_ms = min(meter.cpu_left_ms(), int(budget_ms * budget.CALL_FACTOR + budget.CALL_SLACK_MS))
    watch = _CpuWatch(cpu_ms, s.ctx)
    answer = z3.unknown
    try:
        # (the clock's limit is only the last resort, for a machine too busy to run the thread)
        answer = _timed(s, cpu_ms * budget.CPU_FACTOR + int(budget.BACKSTOP_S * 1000), assumptions)
        return answer
    finally:
        watch.stop()
        units = s.statistics().get_key_value("rlimit count") - before
        if watch.fired and answer == z3.unknown and units < limit:  # the CPU limit stopped it, not the count
            meter.backstop = True
            units = limit
        meter.spent_ms += units / budget.UNITS_PER_MS


def _timed(s: Any, wall_ms: int, assumptions: tuple) -> Any:
    """`s.check` stopped after `wall_ms` on the clock: the solver's timeout, and an interrupt
    from a timer (non-linear arithmetic does not always look at its clock)."""
    s.set("timeout", wall_ms)
    timer = threading.Timer(wall_ms / 1000 + 0.2, s.ctx.interrupt)
    timer.daemon = True
    timer.start()
    try:
        return s.check(*assumptions)
    except z3.Z3Exception:
        return z3.unknown
    finally:
        timer.cancel()


class _CpuWatch:
    """Interrupts the solver when the calling thread has used `ms` more of CPU time (read from
    another thread every 20 ms, on the thread's own CPU clock; where there is none, the wall
    clock)."""

    def __init__(self, ms: int, ctx: Any) -> None:
        self.fired = False
        self._done = threading.Event()
        try:
            clock = time.pthread_getcpuclockid(threading.get_ident())
            self._now = lambda: time.clock_gettime(clock)
        except (AttributeError, OSError):  # (no per-thread CPU clock on this system)
            self._now = time.perf_counter
        self._end = self._now() + ms / 1000
        threading.Thread(target=self._run, args=(ctx,), daemon=True).start()

    def _run(self, ctx: Any) -> None:
        while not self._done.wait(0.02):
            if self._now() >= self._end:
                self.fired = True
                ctx.interrupt()
                return

    def stop(self) -> None:
        self._done.set()


def format_term(model: Any, fact: Fact, codes: dict[str, int]) -> str:
    """A fact's value in a model, as the policy writes it."""
    from ..runtime.values import format_value

    return format_value(term_value(model, fact.value, fact.type, codes))
