"""Runtime values: exact decimals, unknown facts, and canonical forms for hashing.

Numbers are `Decimal` under one fixed context (28 significant digits, half-even
rounding), shared by every evaluator; division rounds to that context and
policies round explicitly where they show money or months. A value that
depends on a missing fact is an `Unknown` that remembers which facts are
missing, so an undetermined decision can say what would settle it.
"""

from __future__ import annotations

import decimal
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

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

    `possible` is set for the outcome of an undetermined decision: the outcomes
    still possible. A comparison with a constant is then settled when every
    possible outcome gives the same answer (`shadow_ai != governed` is true when
    shadow_ai may only be `critical` or `ungoverned`)."""

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


def format_value(value: Any) -> str:
    """How a value reads in traces and explanations (never in float form)."""
    if isinstance(value, Unknown):
        return "unknown"
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
    """JSON form of a runtime value: decimals as strings, so no float ever appears."""
    if isinstance(value, Unknown):
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


def settle(op: str, left: object, right: object) -> object:
    """`=`, `!=` or `in` with one side an undetermined outcome and the other known:
    the answer if all possible outcomes agree, else an Unknown of both sides."""
    if isinstance(left, Unknown) and left.possible is not None and not isinstance(right, Unknown):
        answers = {_apply(op, v, right) for v in left.possible}
    elif isinstance(right, Unknown) and right.possible is not None and not isinstance(left, Unknown) and op != "in":
        answers = {_apply(op, left, v) for v in right.possible}
    else:
        return merge_unknown([left, right])
    if len(answers) == 1:
        return answers.pop()
    return merge_unknown([left, right])


def _apply(op: str, a: object, b: object) -> bool:
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    if op == "in":
        return a in b  # type: ignore[operator]
    return a not in b  # type: ignore[operator]
