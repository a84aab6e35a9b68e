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
rules, defaults (a default is a fact's value, as in an assessment), known(),
`not applicable`, the possible values of unknowns.

Honesty: an unknown value is `known = false`, and what is computed from it is
unknown unless the evaluator would settle it — by Kleene logic (`false and
unknown`) or by its possible values (an undetermined decision's possible
outcomes, both branches of an `if` whose condition is unknown: "Possible
values" below). Where the translation follows the evaluator exactly, it says so
(`SVal.exact`, `DecisionTerm.exact`); elsewhere it settles less, never
something else, so a value the solver calls known is the evaluator's value.
The solver divides exactly where the evaluator rounds to 28 digits, and an
overflow past 999999 digits is not modelled: every answer shown to a person is
re-evaluated by the ordinary evaluator first. A construct that cannot be
translated raises `Untranslatable` (E801) naming it; callers fall back to the
approximate analyses, never to a guess.
"""

from __future__ import annotations

import functools
import itertools
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
from ..runtime.values import MAX_COMBINATIONS, Unknown
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
    """A symbolic value: `known` (z3 Bool: known and applicable) and `value`, meaningful
    only when known.

    kind is "num" (Real), "bool", "enum" (Int code), "date" (Int day number),
    "text" (String) or "set" (value: dict member → Bool).

    The rest follows the evaluator where it knows more than Kleene logic (module
    docstring, "Possible values"): `na`, known to be `not applicable` (`reason`: the code
    of its reason, two reasons being two values); `opts`, the values it may take as
    (present, na, reason, value) — when the value is settled, the present ones are it,
    and when it is not but `bounded`, they are the evaluator's possible values (None:
    just this value); `fails`, the evaluator stops with an error computing it (a division
    by zero: an `if` whose condition is unknown makes that branch unknown); `exact`,
    whether `known`, `na` and the value are exactly what the evaluator computes (else
    they are where the evaluator certainly knows it, a part of where it does); `sets`,
    whether `opts` and `bounded` are exactly its possible values too (a sum of many
    possible values is known exactly — each part has one value — without them).
    None stands for false / this value (z3 constants belong to a context: see question())."""

    known: Any
    value: Any
    kind: str
    na: Any = None
    reason: Any = None
    opts: tuple[tuple[Any, Any, Any, Any], ...] | None = None
    bounded: Any = None
    fails: Any = None
    exact: bool = True
    sets: bool = True

    @property
    def is_na(self) -> Any:
        return FALSE if self.na is None else self.na

    @property
    def why(self) -> Any:
        return z3.IntVal(0) if self.reason is None else self.reason

    @property
    def settled(self) -> Any:
        """The evaluator has a value (known, or known not to apply)."""
        return self.known if self.na is None else _simp_or(self.known, self.na)

    @property
    def limited(self) -> Any:
        """Settled, or unknown with a set of possible values."""
        return self.settled if self.bounded is None else self.bounded

    @property
    def error(self) -> Any:
        return FALSE if self.fails is None else self.fails

    def options(self) -> tuple[tuple[Any, Any, Any, Any], ...]:
        if self.opts is None:
            return ((TRUE, self.is_na, self.why, self.value),)
        return self.opts

    @property
    def whole(self) -> bool:
        """Exact, possible values included: what an operation on it needs."""
        return self.exact and self.sets

    @property
    def plain(self) -> bool:
        """No possible values and never `not applicable`: Kleene logic is all there is."""
        return self.opts is None and self.na is None


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
    node = item.ast.value
    if node == TRUE.ast.value:
        return FALSE
    if node == FALSE.ast.value:
        return TRUE
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


# ------------------------------------------------------------------ possible values
#
# The evaluator knows more than Kleene logic (runtime/values.py): an undetermined
# decision may still take a few outcomes, an `if` whose condition is unknown one of its
# branches, and an operation on such values is settled when every combination gives one
# result (`risk != prohibited` when no possible risk is prohibited). The translation
# follows it: an SVal's `opts` are its possible values, an operation combines them, and
# `known()` of a value so translated is exactly the evaluator's. Past MAX_OPTIONS
# combinations as written the value is Kleene logic alone and marked inexact
# (`SVal.exact`), but for a sum or a difference (`_combine`'s `additive`).

#: The evaluator's most combinations of possible values (values.MAX_COMBINATIONS): at or
#: below it, it never gives up where the translation does not.
MAX_OPTIONS = MAX_COMBINATIONS

def _within(lists: list[tuple[tuple[Any, Any, Any, Any], ...]]) -> Any | None:
    """TRUE when the evaluator certainly tries these combinations of possible values (at
    most MAX_COMBINATIONS as written: it counts them once computed, the same or fewer);
    None past that, where it may give up (not translated)."""
    size = 1
    for options in lists:
        size *= len(options)
    # (one list: a set of possible values holds at most MAX_COMBINATIONS)
    return TRUE if size <= MAX_OPTIONS or len(lists) == 1 else None


def _zero() -> Any:  # (a constant of the current context)
    return z3.IntVal(0)


def _is(term: Any, constant: Any) -> bool:
    """Whether `term` is that very node (`TRUE`, `FALSE`): no call into z3."""
    return term.ast.value == constant.ast.value


def _ite(c: Any, a: Any, b: Any) -> Any:
    """z3.If(c, a, b) for terms of one sort, simplified when it can be, without the Python
    API's coercions (as `_mk`)."""
    if a.ast.value == b.ast.value or _is(c, TRUE):
        return a
    if _is(c, FALSE):
        return b
    ctx = c.ctx
    return z3.z3._to_expr_ref(z3.Z3_mk_ite(ctx.ref(), c.ast, a.ast, b.ast), ctx)


def _numeral(x: Any) -> bool:
    """A number or code written out (one call into z3)."""
    return bool(z3.Z3_is_numeral_ast(x.ctx.ref(), x.ast))


def _literal_eq(a: Any, b: Any) -> Any:
    """a == b, decided here when both are numerals (z3 keeps `2 == 3` as a term)."""
    if a.ast.value == b.ast.value:
        return TRUE
    if _numeral(a) and _numeral(b):
        return FALSE  # (numerals of one sort are equal when they are the same node)
    return a == b


def _comparison(op: str, kind: str) -> Any:
    """The comparison `op` on two value terms, folded when both are numerals."""

    def compare(a: Any, b: Any) -> Any:
        if op in ("=", "!="):
            same = _eq(kind, a, b) if kind == "set" else _literal_eq(a, b)
            return same if op == "=" else _not(same)
        if _numeral(a) and _numeral(b):
            x, y = _fraction(a), _fraction(b)
            return z3.BoolVal({"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])
        return {"<": lambda: a < b, "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b}[op]()

    return compare


def _folding(make: Any) -> Any:
    """`make`, computed here when every operand is a numeral: equal results are then one
    option (`_dedupe`), as the evaluator's set of possible values has each value once."""

    def apply(*values: Any) -> Any:
        out = make(*values)
        if all(not isinstance(v, dict) and _numeral(v) for v in values) and not isinstance(out, dict):
            return z3.simplify(out)
        return out

    return apply


def _fraction(x: Any) -> Fraction:
    return Fraction(z3.Z3_get_numeral_string(x.ctx.ref(), x.ast))


def _implies(p: Any, x: Any) -> Any:
    if _is(x, TRUE) or _is(p, FALSE):
        return TRUE
    if _is(p, TRUE):
        return x
    if _is(x, FALSE):
        return _not(p)
    return _simp_or(_not(p), x)


def _dedupe(opts: list[tuple[Any, Any, Any, Any]]) -> tuple[tuple[Any, Any, Any, Any], ...]:
    """The options with the same value merged (their presences or-ed); never empty."""
    merged: dict[tuple[int, int, int], list[Any]] = {}
    for p, n, r, v in opts:
        if _is(p, FALSE):
            continue
        key = (n.ast.value, r.ast.value, v.ast.value)
        if key in merged:
            merged[key][0] = _simp_or(merged[key][0], p)
        else:
            merged[key] = [p, n, r, v]
    if not merged and opts:
        return (opts[0],)
    return tuple((p, n, r, v) for p, n, r, v in merged.values())


def _settle(kind: str, opts: tuple | list, limited: Any) -> tuple[Any, Any, Any, Any]:
    """(settled, na, reason, value) of a value that may be any present option: settled
    when it has possible values (`limited`) and they are one; the rest is the first
    present option's."""
    if kind == "bool" and all(_is(n, FALSE) for _p, n, _r, _v in opts):
        all_true = _simp_and(*[_implies(p, v) for p, _n, _r, v in opts])
        all_false = _simp_and(*[_implies(p, _not(v)) for p, _n, _r, v in opts])
        return _simp_and(limited, _simp_or(all_true, all_false)), FALSE, _zero(), all_true
    _p, na, reason, value = opts[-1]
    for p, n, r, v in reversed(opts[:-1]):
        na, reason, value = _ite(p, n, na), _ite(p, r, reason), _ite(p, v, value)
    same = []
    for p, n, r, v in opts:
        equal = _literal_eq(v, value)
        if not (_is(n, FALSE) and _is(na, FALSE)):
            equal = z3.If(n, _simp_and(na, _literal_eq(r, reason)), _simp_and(_not(na), equal))
        same.append(_implies(p, equal))
    return _simp_and(limited, *same), na, reason, value


def _result(kind: str, settled: Any, na: Any, reason: Any, value: Any, opts: tuple, limited: Any, fails: Any, exact: bool, sets: bool = True) -> SVal:
    """The SVal of a settled-or-not value with these options. A truth value keeps no
    possible values (the evaluator's `_outcome`), unless one may be n/a: then it is not
    followed (inexact)."""
    known = _simp_and(settled, _not(na))
    is_na = None if _is(na, FALSE) else _simp_and(settled, na)
    if kind == "bool":
        return SVal(known, value, "bool", na=is_na, reason=None if is_na is None else reason, fails=fails, exact=exact and is_na is None)
    return SVal(known, value, kind, na=is_na, reason=None if is_na is None else reason, opts=tuple(opts), bounded=limited, fails=fails, exact=exact, sets=sets)


def _is_range(e: ir.Logic) -> bool:
    """The evaluator's `is_range`: an `and` of comparisons of one and the same expression
    (`between`, a band's condition), tested jointly when unknown."""
    first = e.items[0]
    return e.op == "and" and isinstance(first, ir.Compare) and all(isinstance(item, ir.Compare) and item.left.id == first.left.id for item in e.items)


def decimal_of(value: Any) -> Decimal:
    """A z3 rational numeral as a Decimal (exact when its denominator divides a power of ten)."""
    fraction = _fraction(value)
    if fraction.denominator == 1:
        return Decimal(fraction.numerator)
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
    #: per rule, whether its condition and exceptions are translated exactly (`SVal.exact`)
    exact_rules: tuple[bool, ...] = ()

    @property
    def exact(self) -> bool:
        """Settled, undetermined and possible exactly where the evaluator says so."""
        return all(self.exact_rules)

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
        self._dates: dict[int, SVal] = {}  # a rule's `from`/`until`, by expression id
        #: (rank id, entity a, entity b) → a passes the rank's filter, its keys are known and it
        #: comes before b (why-not moves one entity above another: backends/counterfactual.py)
        self.precedes: dict[tuple[int, str, str], Any] = {}
        #: ids of the `known(…)` translated as "unknown where the solver does not settle it"
        #: (their argument's translation is not exact): see `loose`
        self.loose_known: set[int] = set()
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
            return SVal(TRUE, dict.fromkeys(sorted(str(v) for v in value), TRUE), "set")  # (a frozenset's order is the process's)
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
        not_applicable = z3.And(_not(nif), _simp_or(_simp_and(c.known, _not(c.value)), c.is_na))
        return {
            "not_in_force": nif,
            "applies": applies,
            "not_applicable": not_applicable,
            "possible": z3.And(_not(nif), _not(applies), _not(not_applicable)),
        }

    # -------------------------------------------------------------- decisions
    def _date_term(self, expr: ir.Expr | None) -> SVal | None:
        if expr is None:
            return None
        if expr.id not in self._dates:  # (read for the rule, and for its exactness)
            self._dates[expr.id] = self.expr(expr, None, TRUE)
        return self._dates[expr.id]

    def _in_force(self, valid_from: ir.Expr | None, valid_until: ir.Expr | None) -> tuple[Any, Any]:
        """(known, value) of 'in force on the as-of date', as the evaluator's in_force: a
        bound that does not apply is no bound."""
        start, end = self._date_term(valid_from), self._date_term(valid_until)
        known = _simp_and(*[s.settled for s in (start, end) if s is not None])
        today = z3.IntVal(self.as_of.toordinal())
        parts = []
        if start is not None:
            parts.append(_simp_or(start.is_na, _not(today < start.value)))
        if end is not None:
            parts.append(_simp_or(end.is_na, _not(today >= end.value)))
        return known, _simp_and(*parts)

    def _in_force_exact(self, valid_from: ir.Expr | None, valid_until: ir.Expr | None) -> bool:
        return all(s.exact for s in (self._date_term(valid_from), self._date_term(valid_until)) if s is not None)

    def _decide(self, decision: ir.Decision, scope: tuple[str, str] | None) -> DecisionTerm:
        reached = TRUE  # no earlier rule certainly fired
        possible: dict[str, list[Any]] = {o.name: [] for o in decision.outcomes}
        fired_by: dict[str, list[Any]] = {o.name: [] for o in decision.outcomes}
        fired_rules: dict[str, Any] = {}
        excepts: dict[str, Any] = {}
        may_fire: dict[str, Any] = {}
        may_except: dict[str, Any] = {}
        any_fired = []
        exact_rules: list[bool] = []
        for rule in decision.rules:
            k_if, v_if = self._in_force(rule.valid_from, rule.valid_until)
            nif = _simp_and(k_if, _not(v_if)) if (rule.valid_from or rule.valid_until) else FALSE
            live = _simp_and(reached, _not(nif))
            if rule.cond is None:
                c = SVal(TRUE, TRUE, "bool")
            else:
                c = self.expr(rule.cond, scope, live)
            false = _simp_or(_simp_and(c.known, _not(c.value)), c.is_na)  # (n/a counts as false)
            certain = _simp_and(k_if, v_if, c.known, c.value)
            exact_rules.append(c.exact and (not (rule.valid_from or rule.valid_until) or self._in_force_exact(rule.valid_from, rule.valid_until)))
            open_ = _simp_and(live, _not(false))
            applied_parts = []
            maybe_parts = []
            for exc in rule.exceptions:
                x = self.expr(exc.cond, scope, _simp_and(open_, *[_not(a) for a in applied_parts]))
                applied_parts.append(_simp_and(x.known, x.value))
                maybe_parts.append(_not(x.settled))
                excepts[exc.id] = _simp_and(open_, certain, x.known, x.value)
                may_except[exc.id] = _simp_and(open_, _not(_simp_or(_simp_and(x.known, _not(x.value)), x.is_na)))
                exact_rules[-1] = exact_rules[-1] and x.exact
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
        return DecisionTerm(decision.name, entity, decided, in_set, no_match, fired_rules, excepts, may_fire, may_except, tuple(exact_rules))

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
        # undetermined, its possible outcomes (a decision with no outcome: anything). Where the
        # decision is not translated exactly, the evaluator may find no rule where the solver
        # keeps one possible: then its possible outcomes are not the evaluator's (anything)
        opts = _dedupe([(term.possible[o.name], FALSE, _zero(), z3.IntVal(self.code(o.name))) for o in d.outcomes])
        bounded = _not(term.no_match) if term.exact else term.settled
        return SVal(term.settled, value, "enum", opts=opts, bounded=bounded, exact=term.exact)

    def _ParamRef(self, e: ir.ParamRef, scope, guard) -> SVal:
        return self.params[e.name]

    def _Neg(self, e: ir.Neg, scope, guard) -> SVal:
        v = self.expr(e.operand, scope, guard)
        return self._combine([v], lambda x: -x, "num", "propagate", additive=True)

    def _Not(self, e: ir.Not, scope, guard) -> SVal:
        # the evaluator: n/a counts as false, so `not` of it is true; an unknown stays unknown
        v = self.expr(e.operand, scope, guard)
        if v.plain:
            return SVal(v.known, _not(v.value), "bool", fails=v.fails, exact=v.exact)
        return SVal(v.settled, _simp_or(v.is_na, _not(v.value)), "bool", fails=v.fails, exact=v.exact)

    def _Arith(self, e: ir.Arith, scope, guard) -> SVal:
        left = self.expr(e.left, scope, guard)
        right = self.expr(e.right, scope, guard)
        if e.op == "/":
            self.safety.append(z3.Implies(_simp_and(guard, left.known, right.known), right.value != 0))
            return self._combine([left, right], lambda a, b: a / b, "num", "propagate", divisor=1)
        make = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}[e.op]
        return self._combine([left, right], make, "num", "propagate", additive=e.op != "*")

    def _Compare(self, e: ir.Compare, scope, guard) -> SVal:
        left = self.expr(e.left, scope, guard)
        right = self.expr(e.right, scope, guard)
        return self._combine([left, right], _comparison(e.op, left.kind), "bool", "false")

    def _In(self, e: ir.In, scope, guard) -> SVal:
        item = self.expr(e.item, scope, guard)
        container = self.expr(e.container, scope, guard)
        if container.kind != "set":
            raise Untranslatable(Msg(N_("'in' on something that is not a list")), e.span)
        if item.kind not in ("enum", "text"):
            raise Untranslatable(Msg(N_("'in' over a list of this kind")), e.span)
        if not container.plain:
            raise Untranslatable(Msg(N_("'in' a list that may not apply")), e.span)
        code = (lambda v: z3.IntVal(self.code(v))) if item.kind == "enum" else z3.StringVal

        def member(x: Any, bits: Any) -> Any:
            parts = [_simp_and(bit, _literal_eq(x, code(v))) for v, bit in bits.items()]
            return _not(_simp_or(*parts)) if e.negated else _simp_or(*parts)

        return self._combine([item, container], member, "bool", "false")

    def _SetOf(self, e: ir.SetOf, scope, guard) -> SVal:
        out: dict[str, Any] = {}
        for item in e.items:
            if not isinstance(item, ir.Const):
                raise Untranslatable(Msg(N_("a set of computed values")), item.span)
            out[str(item.value)] = TRUE
        return SVal(TRUE, out, "set")

    def _Logic(self, e: ir.Logic, scope, guard) -> SVal:
        decisive = e.op == "or"
        items = []
        stop = FALSE  # an earlier item already settled the whole (the evaluator stops there)
        fails = []
        for item in e.items:
            v = self.expr(item, scope, _simp_and(guard, _not(stop)))
            items.append(v)
            fails.append(_simp_and(_not(stop), v.error))
            # n/a counts as false (the evaluator's truth())
            hit = _simp_and(v.known, v.value) if decisive else _simp_or(_simp_and(v.known, _not(v.value)), v.is_na)
            stop = _simp_or(stop, hit)
        all_known = _simp_and(*[v.settled for v in items])
        known = _simp_or(stop, all_known)
        value = stop if decisive else _not(stop)
        exact = all(v.exact for v in items)
        if _is_range(e):
            # `between`, a band: the evaluator tests each possible value of the one compared
            # expression against all the bounds at once when the `and` is unknown
            # (computed where no item settled the `and`: every item was, so nothing more divides)
            reached = _simp_and(guard, _not(stop))
            joint = self._combine(
                [self.expr(e.items[0].left, scope, reached), *[self.expr(item.right, scope, reached) for item in e.items]],
                lambda x, *bounds: _simp_and(*[_comparison(item.op, "num")(x, b) for item, b in zip(e.items, bounds, strict=True)]),
                "bool",
                "false",
            )
            exact = exact and joint.exact
            value = _ite(known, value, joint.value)
            known = _simp_or(known, joint.known)
        return SVal(known, value, "bool", fails=_simp_or(*fails), exact=exact)

    def _branch(self, e: ir.Expr, kind: str, scope, guard) -> SVal:
        """A branch of `if`. A branch that is never applicable (the literal, an `if` of two)
        has no kind of its own: it takes the `if`'s."""
        if isinstance(e.type, NotApplicableT):
            if isinstance(e, ir.Const):
                return self._not_applicable(e.value, kind)
            if isinstance(e, ir.Cond):
                return self._cond(e, kind, scope, guard)
            return SVal(FALSE, _default_term(kind), kind, exact=False)  # (a definition that is only n/a)
        return self.expr(e, scope, guard)

    def _not_applicable(self, value: ir.NotApplicable, kind: str) -> SVal:
        """`not applicable "…"`: known, and not a value; two reasons are two values."""
        reason = z3.IntVal(self.code(f"not applicable: {value.fr!r} {value.en!r}"))
        return SVal(FALSE, _default_term(kind), kind, na=TRUE, reason=reason)

    def _IsApplicable(self, e: ir.IsApplicable, scope, guard) -> SVal:
        # the evaluator's `applicable`: known → whether it applies; unknown → settled when
        # every possible value applies, or none does
        v = self.expr(e.operand, scope, guard)
        if v.plain:
            return SVal(v.known, z3.BoolVal(not e.negated), "bool", fails=v.fails, exact=v.whole)
        opts = [(p, FALSE, _zero(), n if e.negated else _not(n)) for p, n, _r, _v in v.options()]
        settled, _na, _reason, value = _settle("bool", opts, v.limited)
        return _result("bool", settled, FALSE, _zero(), value, (), settled, v.fails, v.whole)

    def _Cond(self, e: ir.Cond, scope, guard) -> SVal:
        return self._cond(e, _kind(e.type), scope, guard)  # (never applicable: E801, as a definition that is)

    def _cond(self, e: ir.Cond, kind: str, scope, guard) -> SVal:
        c = self.expr(e.cond, scope, guard)
        yes = _simp_and(c.known, c.value)
        no = _simp_or(_simp_and(c.known, _not(c.value)), c.is_na)  # (n/a counts as false)
        then = self._branch(e.then, kind, scope, _simp_and(guard, yes))
        otherwise = self._branch(e.otherwise, kind, scope, _simp_and(guard, no))
        kind = then.kind if then.kind == otherwise.kind else kind
        exact = c.exact and then.whole and otherwise.whole
        fails = _simp_or(c.error, _simp_and(yes, then.error), _simp_and(no, otherwise.error))
        if kind == "set":
            if not (then.plain and otherwise.plain):
                raise Untranslatable(Msg(N_("an `if` between lists that may not apply")), e.span)
            keys = sorted(set(then.value) | set(otherwise.value))  # (terms made in one order in every process)
            value = {k: z3.If(c.value, then.value.get(k, FALSE), otherwise.value.get(k, FALSE)) for k in keys}
            # (with the condition unknown, the evaluator may know the list when both are equal)
            return SVal(_simp_and(c.known, z3.If(c.value, then.known, otherwise.known)), value, "set", fails=fails, exact=False)
        if _is(c.settled, TRUE) and c.na is None:
            # the condition is always known (`known(x)`): one branch or the other, no union
            if then.plain and otherwise.plain:
                return SVal(z3.If(c.value, then.known, otherwise.known), z3.If(c.value, then.value, otherwise.value), kind, fails=fails, exact=exact)
        # the options of the branch taken; with the condition unknown, of both (the evaluator's
        # union of their possible values; a branch that fails is then just unknown)
        opts = _dedupe(
            [(_simp_and(_not(no), p), n, r, v) for p, n, r, v in then.options()]
            + [(_simp_and(_not(yes), p), n, r, v) for p, n, r, v in otherwise.options()]
        )
        if len(opts) > MAX_OPTIONS:  # (the evaluator may keep none of them: not translated)
            known = _simp_and(c.known, z3.If(c.value, then.known, otherwise.known))
            na = _simp_or(_simp_and(yes, then.is_na), _simp_and(no, otherwise.is_na))
            return SVal(known, z3.If(c.value, then.value, otherwise.value), kind, na=na, reason=z3.If(yes, then.why, otherwise.why), fails=fails, exact=False)
        both = _simp_and(then.limited, _not(then.error), otherwise.limited, _not(otherwise.error))
        limited = z3.If(yes, then.limited, z3.If(no, otherwise.limited, both))
        settled_open, na, reason, value = _settle(kind, opts, both)
        settled = z3.If(yes, then.settled, z3.If(no, otherwise.settled, settled_open))
        return _result(kind, settled, na, reason, value, opts, limited, fails, exact)

    def _Func(self, e: ir.Func, scope, guard) -> SVal:
        name = e.name
        if name == "known":
            v = self.expr(e.args[0], scope, guard)
            if v.exact:
                return SVal(TRUE, v.settled, "bool", fails=v.fails)  # (n/a is known: answered, and does not exist)
            # Where the translation of the value is not exact (`SVal.exact`), the evaluator
            # may settle it where the solver does not: known() is true where the solver
            # settles it and itself unknown elsewhere, never false.
            self.loose_known.add(e.id)
            return SVal(v.settled, TRUE, "bool", fails=v.fails, exact=False)
        args = [self.expr(a, scope, guard) for a in e.args]
        if name == "size":
            if args[0].kind != "set":
                raise Untranslatable(Msg(N_("size() of this value")), e.span)
            return self._combine(args[:1], lambda x: z3.Sum([z3.If(b, z3.RealVal(1), z3.RealVal(0)) for b in x.values()] or [z3.RealVal(0)]), "num", "propagate")
        if name == "round":
            places = 0
            if len(e.args) > 1:
                if not isinstance(e.args[1], ir.Const):
                    raise Untranslatable(Msg(N_("round() to a computed number of places")), e.span)
                places = int(e.args[1].value)
            return self._combine(args, lambda x, *_: _round_half_up(x, places), "num", "propagate")
        if name == "abs":
            return self._combine(args, lambda x: z3.If(x >= 0, x, -x), "num", "propagate")
        if name == "floor":
            return self._combine(args, lambda x: z3.ToReal(z3.ToInt(x)), "num", "propagate")
        if name == "ceil":
            return self._combine(args, lambda x: -z3.ToReal(z3.ToInt(-x)), "num", "propagate")
        if name in ("min", "max"):

            def pick(*xs: Any) -> Any:
                out = xs[0]
                for a in xs[1:]:
                    out = _ite(a < out, a, out) if name == "min" else _ite(a > out, a, out)
                return out

            return self._combine(args, pick, args[0].kind, "propagate")
        raise Untranslatable(Msg(N_("the function {name}()"), name=name), e.span)

    # -------------------------------------------------------------- possible values
    def _combine(self, operands: list[SVal], make: Any, kind: str, on_na: str, divisor: int | None = None, additive: bool = False) -> SVal:
        """An operation on values, as the evaluator computes it (runtime/values.py): a known
        n/a operand decides first (`on_na`: "propagate" — the result is the first n/a —, or
        "false" — a comparison is false); all known, the operation; else over every
        combination of the operands' possible values, one result settling it (`combine`).
        `divisor`: the operand whose zero is an error; `additive`: `+`, `-` (one value
        exactly when each operand has one)."""
        exact = all(o.whole for o in operands)
        known = _simp_and(*[o.known for o in operands])
        fails = _simp_or(*[o.error for o in operands])
        if divisor is not None:  # all known: the evaluator divides, and stops on a zero
            fails = _simp_or(fails, _simp_and(known, operands[divisor].value == 0))
        # a sum or difference of independent possible values has one value exactly when
        # each operand has one: that needs no list of them (which may be too long)
        one_value = additive and all(o.na is None and o.exact for o in operands)
        if all(o.plain for o in operands):
            value = make(*[o.value for o in operands])
            return SVal(known, value, kind, fails=fails, exact=exact or one_value, sets=all(o.sets for o in operands))
        first, first_reason = FALSE, _zero()  # the first operand known not to apply
        for o in reversed(operands):
            if o.na is not None:
                first, first_reason = _simp_or(o.na, first), _ite(o.na, o.why, first_reason)
        lists = [o.options() for o in operands]
        within = _within(lists)
        if one_value and (within is None or not all(o.sets for o in operands)):
            ones = [_settle(o.kind, o.options(), o.limited) if o.opts is not None else (o.known, FALSE, _zero(), o.value) for o in operands]
            value = make(*[one[3] for one in ones])
            return SVal(_simp_and(*[one[0] for one in ones]), value, kind, fails=fails, exact=True, sets=False)
        if within is None:  # Kleene logic and n/a only
            value = make(*[o.value for o in operands])
            if on_na == "false":
                return SVal(_simp_or(known, first), _simp_and(_not(first), value), "bool", fails=fails, exact=False)
            return SVal(known, value, kind, na=first, reason=first_reason, fails=fails, exact=False)
        combos = []
        errors = []
        folded = _folding(make)
        for combo in itertools.product(*lists):
            present = _simp_and(*[c[0] for c in combo])
            if _is(present, FALSE):
                continue
            values = [c[3] for c in combo]
            some_na = _simp_or(*[c[1] for c in combo])
            if on_na == "false":
                combos.append((present, FALSE, _zero(), _simp_and(_not(some_na), folded(*values))))
            else:
                reason = _zero()
                for c in reversed(combo):
                    if not _is(c[1], FALSE):
                        reason = _ite(c[1], c[2], reason)
                combos.append((present, some_na, reason, folded(*values)))
            if divisor is not None:
                errors.append(_simp_and(present, _not(some_na), values[divisor] == 0))
        limited = _simp_and(*[o.limited for o in operands], within, _not(_simp_or(*errors)))
        if not _is(first, FALSE):
            lead = (first, FALSE, _zero(), FALSE) if on_na == "false" else (first, TRUE, first_reason, _default_term(kind))
            combos = [lead] + [(_simp_and(_not(first), p), n, r, v) for p, n, r, v in combos]
            limited = _simp_or(first, limited)
        opts = _dedupe(combos)
        settled, na, reason, value = _settle(kind, opts, limited)
        return _result(kind, settled, na, reason, value, opts, limited, fails, exact)

    def _Aggregate(self, e: ir.Aggregate, scope, guard) -> SVal:
        members = self.shape.entities.get(e.input_name, ())
        kind = e.kind
        included = []  # (kept: where known true, body SVal, weight SVal)
        where_unknown = []
        fails = []
        exact = True
        for m in members:
            mscope = (e.input_name, m)
            if e.where is not None:
                w = self.expr(e.where, mscope, guard)
                keep = _simp_and(w.known, w.value)  # (n/a counts as false)
                where_unknown.append(_not(w.settled))
                fails.append(w.error)
                exact = exact and w.exact
            else:
                keep = TRUE
            body = self.expr(e.body, mscope, _simp_and(guard, keep)) if e.body is not None else SVal(TRUE, TRUE, "bool")
            weight = self.expr(e.weight, mscope, _simp_and(guard, keep)) if e.weight is not None else None
            fails.extend([_simp_and(keep, body.error), _simp_and(keep, weight.error if weight is not None else FALSE)])
            exact = exact and body.whole and (weight is None or weight.whole)
            included.append((keep, body, weight))
        some_uncertain = _simp_or(*where_unknown)
        fails_any = _simp_or(*fails)
        if kind == "any":
            hit = _simp_or(*[_simp_and(k, b.known, b.value) for k, b, _ in included])
            pending = _simp_or(some_uncertain, *[_simp_and(k, _not(b.settled)) for k, b, _ in included])
            return SVal(_simp_or(hit, _not(pending)), hit, "bool", fails=fails_any, exact=exact)
        if kind == "all":
            miss = _simp_or(*[_simp_and(k, _simp_or(_simp_and(b.known, _not(b.value)), b.is_na)) for k, b, _ in included])
            pending = _simp_or(some_uncertain, *[_simp_and(k, _not(b.settled)) for k, b, _ in included])
            return SVal(_simp_or(miss, _not(pending)), _not(miss), "bool", fails=fails_any, exact=exact)
        zero, one = z3.RealVal(0), z3.RealVal(1)
        if kind == "count":
            # a member whose filter is unknown may or may not count: n to n + those
            count = z3.Sum([z3.If(k, one, zero) for k, _, _ in included] or [zero])
            if not members or _is(some_uncertain, FALSE):
                return SVal(TRUE, count, "num", fails=fails_any, exact=exact)
            if len(members) + 1 > MAX_OPTIONS:
                return SVal(_not(some_uncertain), count, "num", fails=fails_any, exact=False)
            uncertain = z3.Sum([z3.If(u, one, zero) for u in where_unknown])
            opts = tuple((TRUE if j == 0 else uncertain >= j, FALSE, _zero(), count + j) for j in range(len(members) + 1))
            return SVal(_not(some_uncertain), count, "num", opts=opts, bounded=TRUE, fails=fails_any, exact=exact)
        # the evaluator skips a member whose value or weight does not apply, and folds the
        # possible values of unknown ones
        if any(b.opts is not None for _, b, _ in included) or any(w is not None and w.opts is not None for _, _, w in included):
            folded = self._fold(e, included, fails_any, exact) if e.where is None and kind in ("sum", "mean", "min", "max") else None
            if folded is not None:
                return folded
            exact = False
        included = [(_simp_and(k, _not(b.is_na), _not(w.is_na) if w is not None else TRUE), b, w) for k, b, w in included]
        values_known = _simp_and(*[z3.Implies(k, b.known) for k, b, _ in included])
        if e.weight is not None:
            values_known = _simp_and(values_known, *[z3.Implies(k, w.known) for k, _, w in included])
        known = _simp_and(_not(some_uncertain), values_known)
        count = z3.Sum([z3.If(k, one, zero) for k, _, _ in included] or [zero])
        total = z3.Sum([z3.If(k, b.value, zero) for k, b, _ in included] or [zero])
        if kind == "sum":
            return SVal(known, total, "num", fails=fails_any, exact=exact)
        nonempty = count > 0
        if kind == "mean":
            return SVal(_simp_and(known, nonempty), z3.If(nonempty, total / z3.If(nonempty, count, one), zero), "num", fails=fails_any, exact=exact)
        if kind in ("min", "max"):
            if not included:
                return SVal(FALSE, zero, "num", exact=exact)
            # the first included member seeds the fold: rebuild so that excluded tails cannot win
            best: Any = zero
            seeded: Any = FALSE
            for k, b, _ in included:
                better = b.value < best if kind == "min" else b.value > best
                best = z3.If(z3.And(k, z3.Or(_not(seeded), better)), b.value, best)
                seeded = z3.Or(seeded, k)
            return SVal(_simp_and(known, nonempty), best, "num", fails=fails_any, exact=exact)
        if kind == "weighted_mean":
            wsum = z3.Sum([z3.If(k, w.value, zero) for k, _, w in included] or [zero])
            product = z3.Sum([z3.If(k, b.value * w.value, zero) for k, b, w in included] or [zero])
            positive = wsum != 0
            return SVal(_simp_and(known, nonempty, positive), z3.If(positive, product / z3.If(positive, wsum, one), zero), "num", fails=fails_any, exact=exact)
        raise Untranslatable(Msg(N_("the aggregate {kind}()"), kind=kind), e.span)

    def _fold(self, e: ir.Aggregate, included: list, fails: Any, exact: bool) -> SVal | None:
        """sum, mean, min or max over every member (no filter) whose values may be unknown
        with possible values: the evaluator folds them one member at a time (`_fold`),
        giving up past MAX_COMBINATIONS; None where that is not translated (a value that
        may not apply, a step past `_within`)."""
        bodies = [b for _, b, _ in included]
        if not bodies or any(b.na is not None for b in bodies):
            return None
        zero = (TRUE, FALSE, _zero(), z3.RealVal(0))
        pick = {"min": lambda a, b: _ite(b < a, b, a), "max": lambda a, b: _ite(b > a, b, a)}.get(e.kind, lambda a, b: a + b)
        step = _folding(pick)
        partial: tuple = (zero,) if e.kind in ("sum", "mean") else bodies[0].options()
        checks = []
        for b in bodies if e.kind in ("sum", "mean") else bodies[1:]:
            within = _within([partial, b.options()])
            if within is None:
                return None
            checks.append(within)
            partial = _dedupe([(_simp_and(p, q), FALSE, _zero(), step(v, w)) for p, _n, _r, v in partial for q, _m, _s, w in b.options()])
        if e.kind == "mean":
            n = z3.RealVal(len(bodies))
            partial = _dedupe([(p, FALSE, _zero(), _folding(lambda v: v / n)(v)) for p, _n, _r, v in partial])
        limited = _simp_and(*[b.limited for b in bodies], *checks)
        settled, na, reason, value = _settle("num", partial, limited)
        return _result("num", settled, na, reason, value, partial, limited, fails, exact)

    def _Rank(self, e: ir.Rank, scope, guard) -> SVal:
        key = (e.id, scope[1])
        if key in self._ranks:
            return self._ranks[key]
        members = self.shape.entities.get(e.input_name, ())
        rows = []
        exact = True
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
                exact = exact and kv.exact
            exact = exact and w.exact
            rows.append((m, w, keys))
        all_where_known = _simp_and(*[w.settled for _, w, _ in rows])
        passing_keys_known = _simp_and(*[z3.Implies(_simp_and(w.known, w.value), _simp_and(*[k.settled for k in ks])) for _, w, ks in rows])
        for m, w, ks in rows:
            before = []
            for m2, w2, ks2 in rows:
                if m2 == m:
                    continue
                # m2 comes before m: the first differing key decides (n/a after every
                # value, in either direction), then the id
                cmp = TRUE if m2 < m else FALSE
                for (k2, k1), (_, descending) in reversed(list(zip(zip(ks2, ks, strict=True), e.keys, strict=True))):
                    first = (k2.value > k1.value) if descending else (k2.value < k1.value)
                    by_value = z3.If(k2.value == k1.value, cmp, first)
                    if k2.na is not None or k1.na is not None:
                        by_value = z3.If(_simp_and(k2.is_na, k1.is_na), cmp, z3.If(k2.is_na, FALSE, z3.If(k1.is_na, TRUE, by_value)))
                    cmp = by_value
                before.append(z3.If(_simp_and(w2.known, w2.value, cmp), z3.RealVal(1), z3.RealVal(0)))
                self.precedes[(e.id, m2, m)] = _simp_and(w2.known, w2.value, *[k.known for k in ks2], cmp)
            passes = _simp_and(w.known, w.value)
            value = z3.If(passes, 1 + z3.Sum(before or [z3.RealVal(0)]), z3.RealVal(0))
            w_false = _simp_or(_simp_and(w.known, _not(w.value)), w.is_na)
            known = _simp_or(w_false, _simp_and(all_where_known, passing_keys_known))
            self._ranks[(e.id, m)] = SVal(known, value, "num", exact=exact)
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
        keys = sorted(set(a) | set(b))  # (str hashes differ by process: one formula in every process)
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


def loose(t: Translation, decision: str, rules: int | None = None) -> bool:
    """Whether a proof that the solver never decides something of `decision` (through its
    first `rules` rules) must be over what it decides *or leaves possible*: where those
    rules read, themselves or through what they read, a `known(…)` whose argument is not
    translated exactly (`SVal.exact`; `Translation.loose_known`). There the solver's
    `known()` is true where it settles the value and unknown elsewhere, never false, so a
    rule that needs it false (`candidate when not known(selection)`: only while questions
    are open) never fires for the solver though the evaluator fires it.

    Elsewhere a proof over "decided" holds: where the decision is translated exactly the
    solver decides what the evaluator decides; where it is not, what the evaluator settles
    beyond the solver holds for every answer to the open questions, and with those
    answered the solver settles it too — short of a question read both through an exact
    `known()` and through a value translated inexactly (docs/analysis.md, "Not yet built")."""
    d = t.policy.decisions[decision]
    terms = [t.decision(decision, e) for e in t.scope_entities(d.entity_input)]
    if all(all(term.exact_rules[:rules]) for term in terms):
        return False
    return reads_loose_known(t, [], decision, rules)


def reads_loose_known(t: Translation, exprs: list[ir.Expr], decision: str | None = None, rules: int | None = None) -> bool:
    """Whether these expressions (translated), and a decision's first `rules` rules, read a
    `known(…)` translated as "unknown where the solver does not settle it"."""
    start = list(exprs) + (ir.rule_exprs(t.policy.decisions[decision], rules) if decision in t.policy.decisions else [])
    return any(isinstance(node, ir.Func) and node.name == "known" and node.id in t.loose_known for node in ir.cone_nodes(t.policy, start))


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
    on every machine — with a backstop on the thread's CPU time (`_Watch`). Elsewhere it
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
    watch = _Watch(cpu_ms, s.ctx)
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
    timer = _Watch(wall_ms + 200, s.ctx, time.perf_counter)
    try:
        return s.check(*assumptions)
    except z3.Z3Exception:
        return z3.unknown
    finally:
        timer.stop()


class _Watch:
    """Interrupts the solver once `ms` more have passed on `clock` (read from another thread
    every 20 ms; by default the calling thread's own CPU clock, where there is none the wall
    clock). Never after `stop()` has returned: an interrupt that came late (the watching
    thread woke as the check ended, on a busy machine) cancelled the next solver's first
    step — a `push` — and the error reached the user."""

    def __init__(self, ms: int, ctx: Any, clock: Any = None) -> None:
        self.fired = False
        self._done = threading.Event()
        self._lock = threading.Lock()
        if clock is None:
            try:
                clock = functools.partial(time.clock_gettime, time.pthread_getcpuclockid(threading.get_ident()))
            except (AttributeError, OSError):  # (no per-thread CPU clock on this system)
                clock = time.perf_counter
        self._now = clock
        self._end = self._now() + ms / 1000
        threading.Thread(target=self._run, args=(ctx,), daemon=True).start()

    def _run(self, ctx: Any) -> None:
        while not self._done.wait(0.02):
            with self._lock:
                if self._done.is_set():
                    return
                if self._now() >= self._end:
                    self.fired = True
                    ctx.interrupt()
                    return

    def stop(self) -> None:
        with self._lock:
            self._done.set()


def format_term(model: Any, fact: Fact, codes: dict[str, int]) -> str:
    """A fact's value in a model, as the policy writes it."""
    from ..runtime.values import format_value

    return format_value(term_value(model, fact.value, fact.type, codes))
