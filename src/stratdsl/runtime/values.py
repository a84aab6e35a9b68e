"""Runtime values: exact decimals, unknown facts, and canonical forms for hashing.

Numbers are `Decimal` under one fixed context (28 significant digits, half-even
rounding), shared by every evaluator; division rounds to that context and
policies round explicitly where they show money or months. A value that
depends on a missing fact is an `Unknown` that remembers which facts are
missing, so an undetermined decision can say what would settle it, and, when
it can, the few values it may still take.
"""

from __future__ import annotations

import decimal
import hashlib
import itertools
import json
import operator
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ..language.ir import NotApplicable

CONTEXT = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999999,
    Emax=999999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be computed because the facts in `missing` are not known.

    `possible`, when set, is the finite set of values it can still take: the
    outcomes of an undetermined decision, the branches of an `if` whose condition
    is unknown, and what is computed from such values (see `combine`); None means
    anything. A comparison is then settled when every possible value gives the
    same answer (`shadow_ai != governed` is true when shadow_ai may only be
    `critical` or `ungoverned`; `score < 2` is false when score may be 3 or 4)."""

    missing: frozenset[str] = frozenset()
    possible: frozenset | None = None

    def __bool__(self) -> bool:  # an Unknown must never be used as a Python truth value
        raise TypeError("Unknown has no truth value")

    def __repr__(self) -> str:
        return "unknown"


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def merge_unknown(values: list[object]) -> Unknown:
    missing: set[str] = set()
    for v in values:
        if isinstance(v, Unknown):
            missing |= v.missing
    return Unknown(frozenset(missing))


def normalize(value: Decimal) -> Decimal:
    """2.50 and 2.5 print the same: strip trailing zeros without exponent form."""
    if value == value.to_integral_value():
        if value.adjusted() < CONTEXT.prec:
            return value.quantize(Decimal(1), context=CONTEXT)
        # exponent 0 needs as many digits as the integer has: 10^28 and up exceed CONTEXT
        return value.quantize(Decimal(1), context=decimal.Context(prec=value.adjusted() + 1, Emax=CONTEXT.Emax, Emin=CONTEXT.Emin))
    return value.normalize(CONTEXT)


# ------------------------------------------------------------------ not applicable
#
# `not applicable "…"` is answered and does not exist (docs/language.md, "Not
# applicable"). Arithmetic and scalar functions propagate it (the first n/a operand
# is the result), a comparison with it is false, and where a truth value is needed
# (a condition, `and`/`or`/`not`, the `where` of an aggregate) it counts as false;
# aggregates skip the members whose value or weight is n/a; rank puts them last.
# Both evaluators call these helpers, so they agree.


def is_na(value: object) -> bool:
    return value.__class__ is NotApplicable


def truth(value: object) -> object:
    """A value in a truth position: n/a counts as false (the rule does not fire)."""
    return False if value.__class__ is NotApplicable else value


def first_na(*values: object) -> NotApplicable | None:
    for v in values:
        if v.__class__ is NotApplicable:
            return v  # type: ignore[return-value]
    return None


def applicable(value: object, negated: bool = False) -> object:
    """`X is applicable` (`negated`: `is not applicable`); unknown when X is unknown and its
    possible values do not settle it."""
    if value.__class__ is Unknown:
        possible = value.possible  # type: ignore[union-attr]
        if possible is not None:
            answers = {(p.__class__ is not NotApplicable) != negated for p in possible}
            if len(answers) == 1:
                return answers.pop()
        return Unknown(value.missing)  # type: ignore[union-attr]
    return (value.__class__ is not NotApplicable) != negated


def format_value(value: Any) -> str:
    """How a value reads in traces and explanations (never in float form)."""
    if isinstance(value, Unknown):
        return "unknown"
    if isinstance(value, NotApplicable):
        reason = value.reason("en")
        return f"not applicable ({reason})" if reason else "not applicable"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(normalize(value), "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (frozenset, set, list, tuple)):
        return "{" + ", ".join(sorted(str(v) for v in value)) + "}"
    if isinstance(value, str):
        return value
    return str(value)


def to_json_value(value: Any) -> Any:
    """JSON form of a runtime value: decimals as strings, so no float ever appears
    (unknown and not applicable are null; a value's JSON says which, with the reason)."""
    if isinstance(value, (Unknown, NotApplicable)):
        return None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return format(normalize(value), "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (frozenset, set)):
        return sorted(to_json_value(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return value


def canonical_json(data: Any) -> str:
    """Sorted keys, no insignificant whitespace, decimals as strings: what gets hashed."""
    return json.dumps(to_json_value(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ possible values of unknowns
#
# An Unknown may know the finite set of values it can still take (`possible`):
# the outcomes of an undetermined decision, the branches of an `if` whose
# condition is unknown, and whatever is computed from such values. Every
# operation on an unknown operand goes through the helpers below (the reference
# evaluator calls them, and so does the compiled code, from its runtime table),
# so both evaluators give the same answers: the operation is applied to every
# combination of possible values, a single answer settles the value, several
# become the `possible` of an Unknown. Past MAX_COMBINATIONS combinations, or
# when one combination fails (a division by zero, an overflow), the value stays
# unknown with no possible values. Combining operands independently can only
# over-estimate what is possible, never miss a value: a settled answer is the
# answer for every completion of the missing facts.

#: The most combinations of possible values one operation tries (and so the most
#: possible values an Unknown keeps); past it the value is just unknown.
MAX_COMBINATIONS = 64


def possible_values(value: object) -> frozenset | None:
    """The values `value` can take: itself when known, None when anything."""
    if value.__class__ is Unknown:
        return value.possible  # type: ignore[union-attr]
    return frozenset((value,))


def _missing_of(values: Any) -> frozenset[str]:
    missing: set[str] = set()
    for v in values:
        if v.__class__ is Unknown:
            missing |= v.missing
    return frozenset(missing)


def _outcome(missing: frozenset[str], results: set | frozenset | None) -> object:
    """One result settles the value; several are what it may be. Truth values keep no
    possible set: an unknown truth value may be either."""
    if results is None or not results or len(results) > MAX_COMBINATIONS:
        return Unknown(missing)
    if len(results) == 1:
        return next(iter(results))
    if all(r.__class__ is bool for r in results):
        return Unknown(missing)
    return Unknown(missing, frozenset(results))


def combine(fn: Any, operands: Any) -> object:
    """`fn` over every combination of the operands' possible values (at least one
    operand is unknown)."""
    missing = _missing_of(operands)
    choices = []
    count = 1
    for v in operands:
        values = v.possible if v.__class__ is Unknown else (v,)  # type: ignore[union-attr]
        if values is None:  # the common case: an unknown that may be anything
            return Unknown(missing)
        count *= len(values)
        if count > MAX_COMBINATIONS:
            return Unknown(missing)
        choices.append(values)
    results = set()
    try:
        for combination in itertools.product(*choices):
            result = fn(*combination)
            if result.__class__ is Unknown:
                return Unknown(missing)
            results.add(result)
    except ArithmeticError:  # decimal's DivisionByZero, InvalidOperation, Overflow
        return Unknown(missing)
    return _outcome(missing, results)


def _propagating(fn: Any) -> Any:
    """`fn` whose result is its first n/a operand, if any (arithmetic, functions)."""

    def apply(*args: Any) -> Any:
        na = first_na(*args)
        return fn(*args) if na is None else na

    return apply


def _false_on_na(fn: Any) -> Any:
    """`fn` that is false when an operand is n/a (comparisons)."""

    def apply(*args: Any) -> Any:
        return False if first_na(*args) is not None else fn(*args)

    return apply


_ARITH = {
    op: _propagating(fn)
    for op, fn in {"+": CONTEXT.add, "-": CONTEXT.subtract, "*": CONTEXT.multiply, "/": CONTEXT.divide}.items()
}
_COMPARE = {
    op: _false_on_na(fn)
    for op, fn in {
        "=": operator.eq,
        "!=": operator.ne,
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "in": lambda a, b: a in b,
        "not in": lambda a, b: a not in b,
    }.items()
}


def arith_unknown(op: str, left: object, right: object) -> object:
    """`+ - * /` with an unknown operand."""
    return combine(_ARITH[op], (left, right))


def negate_unknown(value: object) -> object:
    return combine(_propagating(operator.neg), (value,))


def compare_unknown(op: str, left: object, right: object) -> object:
    """A comparison (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`) with an unknown
    side: true or false when every combination agrees, else unknown."""
    return combine(_COMPARE[op], (left, right))


def range_unknown(ops: tuple[str, ...], left: object, rights: tuple, fallback: object) -> object:
    """`x >= a and x < b` over ONE shared `x` (what `between` and bands are made of),
    when the `and` is unknown: every possible x is tested against all the bounds at
    once, so a value in no part of a gap is not counted as possible. `fallback` is
    the `and`'s own unknown result."""
    if fallback.__class__ is not Unknown:
        return fallback

    def test(x: object, *bounds: object) -> bool:
        return all(_COMPARE[op](x, bound) for op, bound in zip(ops, bounds, strict=True))

    found = combine(test, (left, *rights))
    return found if found.__class__ is not Unknown else fallback


def round_value(value: Decimal, places: int) -> Decimal:
    """round(): half up to `places` decimals; InvalidOperation when the result needs
    more digits than the context holds."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP, context=CONTEXT)


_FUNCTIONS = {
    name: _propagating(fn)
    for name, fn in {
        "size": lambda x: Decimal(len(x)),
        "round": lambda x, places=Decimal(0): round_value(x, int(places)),
        "abs": abs,
        "floor": lambda x: x.to_integral_value(rounding=decimal.ROUND_FLOOR),
        "ceil": lambda x: x.to_integral_value(rounding=decimal.ROUND_CEILING),
        "min": lambda *xs: min(xs),
        "max": lambda *xs: max(xs),
    }.items()
}


def function_unknown(name: str, args: Any) -> object:
    """`size`, `round`, `abs`, `floor`, `ceil`, `min`, `max` with an unknown argument."""
    return combine(_FUNCTIONS[name], tuple(args))


def branches_unknown(cond: object, then: object, otherwise: object) -> object:
    """`if` with an unknown condition: either branch may be the value (equal branches
    settle it)."""
    if then.__class__ is not Unknown and otherwise.__class__ is not Unknown and then == otherwise:
        return then
    missing = _missing_of((cond, then, otherwise))
    a, b = possible_values(then), possible_values(otherwise)
    if a is None or b is None:
        return Unknown(missing)
    return _outcome(missing, a | b)


def aggregate_unknown(kind: str, uncertain: list, values: list, weights: list, zero: Unknown) -> object:
    """count, sum, mean, min, max or weighted_mean when a member's `where` is unknown
    (`uncertain`) or a value or weight is. A count is n to n + the uncertain members;
    the others fold their values one member at a time, as the known case does, keeping
    every partial result possible (each step within MAX_COMBINATIONS). The bodies of
    uncertain members are not computed: with one, only count is narrowed. `zero` is
    the value when the weights of a weighted mean sum to zero."""
    missing = _missing_of((*uncertain, *values, *weights))
    # a member that may or may not be n/a may or may not be skipped: not followed
    values = [Unknown(v.missing) if v.__class__ is Unknown and v.possible and any(p.__class__ is NotApplicable for p in v.possible) else v for v in values]
    weights = [Unknown(v.missing) if v.__class__ is Unknown and v.possible and any(p.__class__ is NotApplicable for p in v.possible) else v for v in weights]
    if kind == "count":
        counts = {Decimal(len(values) + n) for n in range(len(uncertain) + 1)}
        return _outcome(missing, counts if len(counts) <= MAX_COMBINATIONS else None)
    if uncertain:
        return Unknown(missing)
    try:
        if kind in ("sum", "mean"):
            totals = _fold(CONTEXT.add, frozenset((Decimal(0),)), values)
            if totals is None or kind == "sum":
                return _outcome(missing, totals)
            n = Decimal(len(values))
            return _outcome(missing, {CONTEXT.divide(t, n) for t in totals})
        if kind in ("min", "max"):
            pick = min if kind == "min" else max
            first = possible_values(values[0])
            return _outcome(missing, None if first is None else _fold(lambda a, b: pick([a, b]), first, values[1:]))
        products = []
        for v, w in zip(values, weights, strict=True):
            pairs = combine(CONTEXT.multiply, (v, w))
            if pairs.__class__ is Unknown and pairs.possible is None:  # type: ignore[union-attr]
                return Unknown(missing)
            products.append(pairs)
        weighted = _fold(CONTEXT.add, frozenset((Decimal(0),)), products)
        total_weight = _fold(CONTEXT.add, frozenset((Decimal(0),)), weights)
        if weighted is None or total_weight is None or len(weighted) * len(total_weight) > MAX_COMBINATIONS:
            return Unknown(missing)
        if any(t == 0 for t in total_weight):
            return zero if len(total_weight) == 1 else Unknown(missing)
        return _outcome(missing, {CONTEXT.divide(a, b) for a in weighted for b in total_weight})
    except ArithmeticError:
        return Unknown(missing)


def _fold(step: Any, start: frozenset, values: list) -> frozenset | None:
    """Every result of step(…step(step(s, v1), v2)…, vn) for s in `start` and each vi
    among its possible values; None past MAX_COMBINATIONS."""
    partial = start
    for v in values:
        choices = possible_values(v)
        if choices is None or len(partial) * len(choices) > MAX_COMBINATIONS:
            return None
        partial = frozenset(step(p, c) for p in partial for c in choices)
    return partial


def describe_possible(value: object, or_word: str = "or", span: str = "{count} values from {low} to {high}") -> str | None:
    """What an unknown with possible values may be — '0.8 or 1', '1, 2 or 3', past five
    numbers or dates '12 values from 0 to 4.4' — or None when it may be anything."""
    shown = possible_json(value)
    return None if shown is None else describe_shown(shown, or_word, span)


_ORDERED = re.compile(r"^-?[0-9]+(\.[0-9]+)?$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def describe_shown(shown: list, or_word: str = "or", span: str = "{count} values from {low} to {high}") -> str:
    """describe_possible from the JSON form of the values (what explanations are rendered from)."""
    shown = ["{" + ", ".join(v) + "}" if isinstance(v, list) else str(v) for v in shown]
    if len(shown) > 5 and all(_ORDERED.match(v) for v in shown):  # numbers or dates: their range
        return span.format(count=len(shown), low=shown[0], high=shown[-1])
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" {or_word} " + shown[-1]


def possible_json(value: object) -> list | None:
    """The possible values of an unknown in JSON (sorted, decimals as texts), or None."""
    if value.__class__ is not Unknown or value.possible is None:  # type: ignore[union-attr]
        return None
    return [
        "not applicable" if v.__class__ is NotApplicable else to_json_value(v)
        for v in sorted(value.possible, key=_order)  # type: ignore[union-attr]
    ]


def _order(value: object) -> Any:
    """Numbers, dates and texts in their own order; lists (sets) by their sorted items."""
    if isinstance(value, frozenset):
        return (0, sorted(str(v) for v in value))
    if isinstance(value, NotApplicable):  # after every value
        return (1, 0)
    return (0, value)
