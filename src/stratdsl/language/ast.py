"""The abstract syntax tree: one frozen dataclass per construct of the language.

Produced by `lower` from Lark's parse tree; consumed by the loader, the checker,
the formatter and the semantic diff. Every node carries a `span`, and equality
ignores it, so two policies that differ only in layout or comments compare equal.
Names are still plain strings here; the checker resolves them into `ir`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .source import NO_SPAN, Span


@dataclass(frozen=True)
class Node:
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


# ------------------------------------------------------------------ metadata


@dataclass(frozen=True)
class Text(Node):
    """A text in French and/or English."""

    fr: str | None = None
    en: str | None = None
    #: the language written first in the source ("fr" or "en"): the policy's first
    #: language is the default of `--lang`; layout only, so equality ignores it
    first: str | None = field(default=None, compare=False, repr=False)

    def get(self, lang: str) -> str | None:
        return (self.en or self.fr) if lang == "en" else (self.fr or self.en)


@dataclass(frozen=True)
class Meta(Node):
    label: Text | None = None
    help: Text | None = None
    express: int | None = None


@dataclass(frozen=True)
class Citation(Node):
    source: str
    reference: str | None = None


# ------------------------------------------------------------------ expressions


@dataclass(frozen=True)
class Expr(Node):
    pass


@dataclass(frozen=True)
class NumberLit(Expr):
    value: Decimal


@dataclass(frozen=True)
class StringLit(Expr):
    value: str


@dataclass(frozen=True)
class DateLit(Expr):
    value: date


@dataclass(frozen=True)
class BoolLit(Expr):
    value: bool


@dataclass(frozen=True)
class Path(Expr):
    """A dotted name: a field, a definition, a decision, an enum symbol…"""

    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class SetLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr


@dataclass(frozen=True)
class Arith(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Compare(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class In(Expr):
    item: Expr
    container: Expr
    negated: bool = False


@dataclass(frozen=True)
class Between(Expr):
    value: Expr
    low: Expr
    high: Expr


@dataclass(frozen=True)
class And(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True)
class NotApplicable(Expr):
    """`not applicable "raison" en "reason"`: a value of any type that does not exist."""

    reason: Text


@dataclass(frozen=True)
class IsApplicable(Expr):
    """`X is applicable` / `X is not applicable`."""

    operand: Expr
    negated: bool = False


@dataclass(frozen=True)
class If(Expr):
    cond: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]
    where: Expr | None = None


@dataclass(frozen=True)
class SortKey(Node):
    expr: Expr
    descending: bool = False


@dataclass(frozen=True)
class Rank(Expr):
    entity: str
    keys: tuple[SortKey, ...]
    where: Expr | None = None


# ------------------------------------------------------------------ types


@dataclass(frozen=True)
class TypeExpr(Node):
    pass


@dataclass(frozen=True)
class NumberType(TypeExpr):
    low: Decimal | None = None
    high: Decimal | None = None
    integer: bool = False


@dataclass(frozen=True)
class BoolType(TypeExpr):
    pass


@dataclass(frozen=True)
class TextType(TypeExpr):
    pass


@dataclass(frozen=True)
class DateType(TypeExpr):
    pass


@dataclass(frozen=True)
class EnumType(TypeExpr):
    """An inline enum: `enum {a, b}`."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class NamedType(TypeExpr):
    """A reference to a declared `enum`."""

    name: str


@dataclass(frozen=True)
class ListType(TypeExpr):
    element: TypeExpr


# ------------------------------------------------------------------ declarations


@dataclass(frozen=True)
class Decl(Node):
    name: str


@dataclass(frozen=True)
class Header(Node):
    name: str
    version: str
    meta: Meta = Meta()


@dataclass(frozen=True)
class Import(Node):
    path: str


@dataclass(frozen=True)
class SourceDecl(Decl):
    title: str = ""
    url: str | None = None


@dataclass(frozen=True)
class EnumValue(Decl):
    meta: Meta = Meta()


@dataclass(frozen=True)
class EnumDecl(Decl):
    meta: Meta = Meta()
    values: tuple[EnumValue, ...] = ()


@dataclass(frozen=True)
class FieldDecl(Decl):
    type: TypeExpr = TextType()
    meta: Meta = Meta()
    required: bool = False
    default: Expr | None = None
    fixed: bool = False  # a fact the company cannot change: why-not holds it
    ask_when: Expr | None = None  # `ask when EXPR`: relevant only when earlier answers make EXPR true


@dataclass(frozen=True)
class RetiredField(Decl):
    """`retired NAME "hint" { value "what to answer instead" … }`: a question no longer asked."""

    hint: str = ""
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class InputDecl(Decl):
    """`kind` is "record", "many" or "group"; `entity` names one element."""

    kind: str = "record"
    entity: str | None = None
    over: str | None = None
    meta: Meta = Meta()
    fields: tuple[FieldDecl, ...] = ()
    retired: tuple[RetiredField, ...] = ()


@dataclass(frozen=True)
class ParamDecl(Decl):
    type: TypeExpr = TextType()
    default: Expr = StringLit("")
    meta: Meta = Meta()
    cites: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class DefineDecl(Decl):
    for_each: str | None = None
    meta: Meta = Meta()
    expr: Expr = BoolLit(False)


@dataclass(frozen=True)
class Exception_(Node):
    """`unless COND cites …`: a legal exception or derogation to a rule."""

    cond: Expr
    cites: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class Rule(Node):
    name: str | None
    outcome: str
    label: Text | None = None
    when: Expr | None = None
    cites: tuple[Citation, ...] = ()
    valid_from: Expr | None = None
    valid_until: Expr | None = None
    exceptions: tuple[Exception_, ...] = ()


@dataclass(frozen=True)
class OutcomeDecl(Decl):
    meta: Meta = Meta()


@dataclass(frozen=True)
class DecisionDecl(Decl):
    for_each: str | None = None
    meta: Meta = Meta()
    outcomes: tuple[OutcomeDecl, ...] = ()
    rules: tuple[Rule, ...] = ()
    otherwise: Rule | None = None
    unique: bool = False  # `unique`: at most one rule applies to any assessment (a DMN hit policy)


@dataclass(frozen=True)
class Band(Decl):
    label: Text | None = None
    low: Decimal = Decimal(0)
    high: Decimal | None = None
    inclusive_high: bool = False
    cites: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class BandsDecl(Decl):
    for_each: str | None = None
    meta: Meta = Meta()
    on: Expr = NumberLit(Decimal(0))
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True)
class ObligationDecl(Decl):
    for_each: str | None = None
    meta: Meta = Meta()
    when: Expr = BoolLit(True)
    cites: tuple[Citation, ...] = ()
    valid_from: Expr | None = None
    valid_until: Expr | None = None


@dataclass(frozen=True)
class AssertDecl(Decl):
    """`assert NAME for each E: EXPR cites …`: an invariant `stratdsl prove` checks for all inputs."""

    for_each: str | None = None
    meta: Meta = Meta()
    expr: Expr = BoolLit(True)
    cites: tuple[Citation, ...] = ()
    monotone: Monotone | None = None  # the relational form: then `expr` is unused (true)


@dataclass(frozen=True)
class Monotone(Node):
    """`monotone TARGET in FACT, …`: raising the facts named by the paths (an input, a
    field, a group member, `input.field`) never lowers TARGET (a decision's outcome in
    declaration order, a definition's value)."""

    target: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Module(Node):
    """One policy file."""

    file: str
    header: Header
    imports: tuple[Import, ...] = ()
    decls: tuple[Decl, ...] = ()
