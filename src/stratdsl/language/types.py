"""The types of the language, shared by the checker, the evaluator and the schema builder."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .messages import N_, Msg

#: The numbers a person can give (assessments, the API, the web form, CSV cells, `--param`)
#: and write in a policy: at most MAX_DIGITS significant digits, and a magnitude between
#: 10^-MAX_MAGNITUDE and 10^MAX_MAGNITUDE (zero aside). `1e-999999` is refused: it is inside
#: values.CONTEXT, but every place that prints it would print a million characters.
MAX_DIGITS = 28
MAX_MAGNITUDE = 20


def number_problem(value: Decimal | int) -> Msg | None:
    """Why a given number is refused (None when it is within the bounds above). Shared by the
    assessment model, the web form, policy literals and parameter overrides."""
    if isinstance(value, int):
        if abs(value) >= 10 ** (MAX_MAGNITUDE + 1):
            return Msg(N_("it is 10^{power} or more"), power=MAX_MAGNITUDE + 1)
        return None
    if not value.is_finite():
        return Msg(N_("it is not a finite number"))
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:
        significant -= 1  # trailing zeros carry no precision: 2.50 is 2.5
    if significant > MAX_DIGITS:
        return Msg(N_("it has more than {digits} significant digits"), digits=MAX_DIGITS)
    if value != 0 and value.adjusted() > MAX_MAGNITUDE:
        return Msg(N_("it is 10^{power} or more"), power=MAX_MAGNITUDE + 1)
    if value != 0 and value.adjusted() < -MAX_MAGNITUDE:
        return Msg(N_("it is smaller than 10^-{power}"), power=MAX_MAGNITUDE)
    if not -(MAX_MAGNITUDE + MAX_DIGITS) <= exponent <= MAX_MAGNITUDE:
        return Msg(N_("it is written with too many zeros"))
    return None


@dataclass(frozen=True)
class Type:
    def describe(self) -> str:
        return "value"


@dataclass(frozen=True)
class NumberT(Type):
    integer: bool = False
    low: Decimal | None = None
    high: Decimal | None = None

    def describe(self) -> str:
        return "integer" if self.integer else "number"


@dataclass(frozen=True)
class BoolT(Type):
    def describe(self) -> str:
        return "bool"


@dataclass(frozen=True)
class TextT(Type):
    def describe(self) -> str:
        return "text"


@dataclass(frozen=True)
class DateT(Type):
    def describe(self) -> str:
        return "date"


@dataclass(frozen=True)
class EnumT(Type):
    """An enumeration; `name` identifies it (a declared enum, a decision, or an inline field enum)."""

    name: str
    values: tuple[str, ...]

    def describe(self) -> str:
        return f"enum {self.name} {{{', '.join(self.values)}}}"


@dataclass(frozen=True)
class ListT(Type):
    """A list of enum values (`list of E`), or a set literal `{a, b}`."""

    element: Type

    def describe(self) -> str:
        return f"list of {self.element.describe()}"


@dataclass(frozen=True)
class AnyT(Type):
    """The type of an expression that already failed to check: it silences follow-on errors."""

    def describe(self) -> str:
        return "unknown type"


@dataclass(frozen=True)
class NotApplicableT(Type):
    """The type of an expression that is never applicable (`not applicable "…"`, or a
    definition that is only that): a member of every type, so it fits any `if` branch,
    and any operation on it is an error (E027) — its result could never exist."""

    def describe(self) -> str:
        return "value that is never applicable"


NUMBER = NumberT()
INTEGER = NumberT(integer=True)
BOOL = BoolT()
TEXT = TextT()
DATE = DateT()
ANY = AnyT()
NOT_APPLICABLE = NotApplicableT()


def a(t: Type) -> str:
    """'a number', 'an integer', 'an enum …': for messages."""
    word = t.describe()
    return ("an " if word[0] in "aeiou" else "a ") + word


def is_number(t: Type) -> bool:
    return isinstance(t, (NumberT, AnyT))


def same_family(a: Type, b: Type) -> bool:
    """Whether values of a and b may be compared for equality."""
    if isinstance(a, (AnyT, NotApplicableT)) or isinstance(b, (AnyT, NotApplicableT)):
        return True
    if isinstance(a, NumberT) and isinstance(b, NumberT):
        return True
    if isinstance(a, EnumT) and isinstance(b, EnumT):
        return a.name == b.name
    if isinstance(a, ListT) and isinstance(b, ListT):
        return same_family(a.element, b.element)
    return type(a) is type(b)
