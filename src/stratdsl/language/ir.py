"""The checked policy: names resolved, types known, plain data for every consumer.

Produced by `checker.check` from the AST of all imported files; walked by the
evaluator, the static analyses, the explanation builder, the schema builder and
the reports. Expression nodes carry a unique `id` (their key in a trace), their
`span` and their `type`; no consumer re-resolves a name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from . import ast
from .source import NO_SPAN, SourceMap, Span
from .types import Type

# ------------------------------------------------------------------ values


@dataclass(frozen=True)
class NotApplicable:
    """The value of `not applicable "raison" en "reason"`: answered, and the quantity does
    not exist (a payback with no return, the month of a step not needed). Not *unknown*:
    nothing is missing. Equal when the reasons are equal; no truth value (a condition
    treats it as false explicitly, see docs/language.md)."""

    fr: str | None = None
    en: str | None = None

    def __bool__(self) -> bool:  # never used as a Python truth value by mistake
        raise TypeError("a value that is not applicable has no truth value")

    def reason(self, lang: str) -> str | None:
        return (self.en or self.fr) if lang == "en" else (self.fr or self.en)

    def __repr__(self) -> str:
        return "not applicable"


# ------------------------------------------------------------------ expressions


@dataclass(frozen=True, eq=False)
class Expr:
    id: int
    type: Type
    span: Span = field(default=NO_SPAN, repr=False)
    #: whether the value may be *not applicable* (set by the checker: a `not applicable`
    #: literal, a definition that may be, an `if` branch, arithmetic or a function on
    #: one); the back ends test for n/a only where this is set
    na: bool = field(default=False, repr=False)

    def children(self) -> tuple[Expr, ...]:
        return ()


@dataclass(frozen=True, eq=False)
class Const(Expr):
    """A constant; a `not applicable "…"` literal is a Const whose value is a `NotApplicable`."""

    value: Any = None


@dataclass(frozen=True, eq=False)
class FieldRef(Expr):
    """A field of the current entity (`input_name` is a many/group input) or of a record."""

    input_name: str = ""
    field_name: str = ""
    of_record: bool = False


@dataclass(frozen=True, eq=False)
class MemberFieldRef(Expr):
    """`maturity.governance.documented`: a field of one named member of a group."""

    input_name: str = ""
    member: str = ""
    field_name: str = ""


@dataclass(frozen=True, eq=False)
class EntityId(Expr):
    pass


@dataclass(frozen=True, eq=False)
class AsOf(Expr):
    pass


@dataclass(frozen=True, eq=False)
class DefRef(Expr):
    """A definition; with `member`, its value for one named member of a group
    (`maturity.governance.score`)."""

    name: str = ""
    input_name: str | None = None
    member: str | None = None


@dataclass(frozen=True, eq=False)
class DecisionRef(Expr):
    name: str = ""
    input_name: str | None = None
    member: str | None = None


@dataclass(frozen=True, eq=False)
class ParamRef(Expr):
    name: str = ""


@dataclass(frozen=True, eq=False)
class Neg(Expr):
    operand: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Not(Expr):
    operand: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Arith(Expr):
    op: str = "+"
    left: Expr | None = None
    right: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class Compare(Expr):
    op: str = "="
    left: Expr | None = None
    right: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class In(Expr):
    item: Expr | None = None
    container: Expr | None = None
    negated: bool = False

    def children(self) -> tuple[Expr, ...]:
        return (self.item, self.container)


@dataclass(frozen=True, eq=False)
class SetOf(Expr):
    items: tuple[Expr, ...] = ()

    def children(self) -> tuple[Expr, ...]:
        return self.items


@dataclass(frozen=True, eq=False)
class Logic(Expr):
    op: str = "and"
    items: tuple[Expr, ...] = ()

    def children(self) -> tuple[Expr, ...]:
        return self.items


@dataclass(frozen=True, eq=False)
class IsApplicable(Expr):
    """`X is applicable` (or, `negated`, `X is not applicable`): never n/a itself;
    unknown when X is unknown and may or may not be applicable."""

    operand: Expr | None = None
    negated: bool = False

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Cond(Expr):
    cond: Expr | None = None
    then: Expr | None = None
    otherwise: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.cond, self.then, self.otherwise)


@dataclass(frozen=True, eq=False)
class Func(Expr):
    """A scalar function: round, abs, floor, ceil, min, max, known, size."""

    name: str = ""
    args: tuple[Expr, ...] = ()

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(frozen=True, eq=False)
class Aggregate(Expr):
    """count/sum/mean/weighted_mean/min/max/any/all over the entities of an input.

    `body` and `weight` and `where` are evaluated once per entity, in its scope.
    """

    kind: str = "count"
    input_name: str = ""
    body: Expr | None = None
    weight: Expr | None = None
    where: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return tuple(e for e in (self.body, self.weight, self.where) if e is not None)


@dataclass(frozen=True, eq=False)
class Rank(Expr):
    """Position (1-based) of the current entity among those that pass `where`,
    ordered by `keys`, ties broken by entity id; 0 for an entity that does not pass."""

    input_name: str = ""
    keys: tuple[tuple[Expr, bool], ...] = ()
    where: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        out = tuple(k for k, _ in self.keys)
        return out + ((self.where,) if self.where is not None else ())


# ------------------------------------------------------------------ declarations


@dataclass(frozen=True)
class Citation:
    """A structured citation: instrument (a declared source), reference in it, display text.

    `cites DECISION` (no reference) inherits, at evaluation, the citations of
    that decision's own result: `prohibited when practice != none cites practice`
    cites the very Art. 5 letter that `practice` found."""

    source: str
    reference: str | None
    text: str  # display text: "AI Act Art. 6(3)(a)"
    span: Span = field(default=NO_SPAN, compare=False)
    decision: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "reference": self.reference, "text": self.text}


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    url: str | None
    span: Span


@dataclass(frozen=True)
class EnumDef:
    name: str
    values: tuple[str, ...]
    labels: dict[str, ast.Text]
    meta: ast.Meta
    span: Span


@dataclass(frozen=True)
class Field:
    name: str
    type: Type
    meta: ast.Meta
    required: bool
    span: Span
    default: Any = None  # the value of an unanswered question, when the policy gives one
    fixed: bool = False  # a fact the company cannot change (sector, headcount): why-not holds it
    #: `ask when EXPR`: the question is relevant only when EXPR, over answers given before it,
    #: is true; the questionnaires hide it otherwise (None: always relevant)
    ask_when: Expr | None = None


@dataclass(frozen=True)
class Input:
    """A declared part of the assessment: `record`, `many` or `group`."""

    name: str
    kind: str
    entity: str | None
    members: tuple[str, ...]
    member_enum: str | None
    fields: dict[str, Field]
    meta: ast.Meta
    span: Span
    #: questions no longer asked: name → (hint, {old value: what to answer instead}); an
    #: assessment that answers one gets E320 (the migration of older assessments)
    retired: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    default: Any
    meta: ast.Meta
    cites: tuple[Citation, ...]
    span: Span


@dataclass(frozen=True)
class Definition:
    name: str
    entity_input: str | None
    expr: Expr
    meta: ast.Meta
    span: Span


@dataclass(frozen=True)
class Exception_:
    id: str
    cond: Expr
    cites: tuple[Citation, ...]
    span: Span


@dataclass(frozen=True)
class Rule:
    id: str
    outcome: str
    cond: Expr | None  # None for `otherwise`
    exceptions: tuple[Exception_, ...]
    cites: tuple[Citation, ...]
    valid_from: Expr | None
    valid_until: Expr | None
    span: Span

    @property
    def is_otherwise(self) -> bool:
        return self.cond is None


@dataclass(frozen=True)
class Band:
    name: str
    low: Decimal
    high: Decimal | None
    inclusive_high: bool


@dataclass(frozen=True)
class Outcome:
    name: str
    label: ast.Text | None


@dataclass(frozen=True)
class Decision:
    """A first-match decision. Bands are lowered to one rule per band level;
    `on` and `bands` keep their source form for explanations and analyses."""

    name: str
    entity_input: str | None
    outcomes: tuple[Outcome, ...]
    rules: tuple[Rule, ...]
    meta: ast.Meta
    span: Span
    on: Expr | None = None
    bands: tuple[Band, ...] = ()
    unique: bool = False  # at most one rule may apply (`check` proves it: E073)

    def outcome(self, name: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.name == name), None)


@dataclass(frozen=True)
class Obligation:
    name: str
    entity_input: str | None
    cond: Expr
    cites: tuple[Citation, ...]
    valid_from: Expr | None
    valid_until: Expr | None
    meta: ast.Meta
    span: Span
    decisions: tuple[str, ...]  # the decisions its condition reads


@dataclass(frozen=True)
class Assertion:
    """An invariant of the policy (`assert`): `expr` must be true for every assessment
    (for each entity when `entity_input` is set); `stratdsl prove` checks it."""

    name: str
    entity_input: str | None
    expr: Expr
    cites: tuple[Citation, ...]
    meta: ast.Meta
    span: Span
    monotone: Monotone | None = None  # the relational form (then `expr` is the constant true)


@dataclass(frozen=True)
class RaisedFacts:
    """Facts a monotone assertion raises: `field` of `input` (of `member` only, for a group
    member; of every entity or member otherwise)."""

    input_name: str
    member: str | None
    field_name: str


@dataclass(frozen=True)
class Monotone:
    """`monotone TARGET in FACTS`: for two assessments equal but for the raised facts, each
    known in both and no lower in the second, TARGET is no lower in the second (when both
    are known). TARGET: a decision (outcomes in declaration order, lowest first) or a
    definition (numbers; false below true)."""

    target: str
    kind: str  # "decision" or "definition"
    entity_input: str | None
    raised: tuple[RaisedFacts, ...]
    span: Span


@dataclass
class CheckedPolicy:
    name: str
    version: str
    meta: ast.Meta
    files: list[str]
    modules: list[ast.Module]
    sources: dict[str, Source]
    enums: dict[str, EnumDef]
    inputs: dict[str, Input]
    params: dict[str, Param]
    definitions: dict[str, Definition]
    decisions: dict[str, Decision]
    obligations: dict[str, Obligation]
    source_map: SourceMap
    expr_count: int = 0
    caches: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # derived forms, built once
    assertions: dict[str, Assertion] = field(default_factory=dict)

    def entity_input(self, entity_or_input: str) -> Input | None:
        """Find a many/group input by its input name or its entity name."""
        for item in self.inputs.values():
            if item.kind != "record" and entity_or_input in (item.name, item.entity):
                return item
        return None

    def outputs(self) -> list[Definition]:
        """Definitions with a label are results shown to users; the rest are intermediate."""
        return [d for d in self.definitions.values() if d.meta.label is not None]


def walk(expr: Expr):
    """Every node of an expression, pre-order."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed([c for c in node.children() if c is not None]))


def rule_exprs(decision: Decision, upto: int | None = None) -> list[Expr]:
    """The conditions, dates and exceptions of a decision's rules (the first `upto` of them)."""
    out: list[Expr] = []
    for rule in decision.rules[:upto]:
        out.extend(e for e in (rule.cond, rule.valid_from, rule.valid_until) if e is not None)
        out.extend(x.cond for x in rule.exceptions)
    return out


def cone_nodes(policy: CheckedPolicy, exprs: list[Expr], decisions: Sequence[str] = ()) -> Iterator[Expr]:
    """Every node of `exprs` and of the rules of `decisions`, and of each definition and
    decision they read, in turn — each of those once. A node is yielded before what it reads
    is followed (a caller may stop at a `DecisionRef`)."""
    seen_defs: set[str] = set()
    seen_decisions: set[str] = set()
    todo = list(exprs)

    def add_decision(name: str) -> None:
        if name not in seen_decisions and name in policy.decisions:
            seen_decisions.add(name)
            todo.extend(rule_exprs(policy.decisions[name]))

    for name in decisions:
        add_decision(name)
    while todo:
        for node in walk(todo.pop()):
            yield node
            if isinstance(node, DefRef):
                if node.name not in seen_defs and node.name in policy.definitions:
                    seen_defs.add(node.name)
                    todo.append(policy.definitions[node.name].expr)
            elif isinstance(node, DecisionRef):
                add_decision(node.name)


def date_or_none(value: object) -> date | None:
    return value if isinstance(value, date) else None
