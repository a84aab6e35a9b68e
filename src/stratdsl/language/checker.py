"""Checking: the AST of every module → a `CheckedPolicy` (ir.py), or diagnostics.

This module owns name resolution and typing. It declares every top-level name
first (so order across files does not matter), then resolves each expression
in its scope: the current entity's fields, per-entity and global definitions
and decisions, parameters, records (`organization.headcount`), group members
(`maturity.governance.documented`) and, where the other side of a comparison
or `in` is an enum, that enum's symbols. An expression that fails gets the type
`ANY`, which silences follow-on errors, so several mistakes in one file are
all reported once. Static analyses of decisions live in `analysis`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal
from typing import Any

from . import ast, ir
from .analysis import analyse
from .diagnostics import Diagnostics, did_you_mean, suggestions
from .loader import Program
from .messages import N_, Msg
from .source import BIDI_CONTROLS, Span, hidden_characters
from .types import (
    ANY,
    BOOL,
    DATE,
    INTEGER,
    NOT_APPLICABLE,
    NUMBER,
    TEXT,
    AnyT,
    BoolT,
    DateT,
    EnumT,
    ListT,
    NotApplicableT,
    NumberT,
    TextT,
    Type,
    is_number,
    same_family,
)
from .urls import url_problem

COUNT = NumberT(integer=True, low=Decimal(0))  # counts, sizes and ranks are never negative
AGGREGATES = {"count", "sum", "mean", "weighted_mean", "min", "max", "any", "all"}
SCALAR_FUNCTIONS = {"round", "abs", "floor", "ceil", "min", "max", "known", "size"}
MAX_ROUND_PLACES = 20  # numbers hold 28 digits (values.CONTEXT): more places could only fail
BUILTIN_NAMES = {"id", "as_of"}

# The levels one value may be computed through: each definition or decision it reads
# (and they read, and so on) and each operation inside them. The evaluators recurse
# once per level, so a longer chain would exhaust Python's stack (docs/security.md §3).
MAX_HIDDEN_WARNINGS = 20  # W120/W121 per file and code; the rest are counted in one more warning
MAX_CHAIN_DEPTH = 150
_LEAVES = (ast.NumberLit, ast.StringLit, ast.DateLit, ast.BoolLit, ast.Path, ast.NotApplicable)


def _kind(t: Type) -> Msg:
    """`t.describe()` in words that can be translated: 'number', 'list of text'."""
    if isinstance(t, EnumT):
        return _enum(t, N_("enum decision {name} {values}"), N_("enum param {name} {values}"), N_("enum {name} {values}"))
    if isinstance(t, ListT):
        return Msg(N_("list of {element}"), element=_kind(t.element))
    return Msg(_KINDS.get(t.describe(), N_("value")))


def _a(t: Type) -> Msg:
    """`types.a(t)` in words that can be translated: 'a number', 'an enum risk {high, low}'."""
    if isinstance(t, EnumT):
        return _enum(t, N_("an enum decision {name} {values}"), N_("an enum param {name} {values}"), N_("an enum {name} {values}"))
    if isinstance(t, ListT):
        return Msg(N_("a list of {element}"), element=_kind(t.element))
    if t.describe() == "number":  # "a number" alone is already the id of a choice's number (questionnaire)
        return Msg(N_("a {number}"), number=_kind(t))
    return Msg(_A_KINDS.get(t.describe(), N_("a value")))


def _enum(t: EnumT, of_decision: str, of_param: str, other: str) -> Msg:
    values = "{" + ", ".join(t.values) + "}"
    if t.name.startswith("decision "):
        return Msg(of_decision, name=t.name.removeprefix("decision "), values=values)
    if t.name.startswith("param "):
        return Msg(of_param, name=t.name.removeprefix("param "), values=values)
    return Msg(other, name=t.name, values=values)


_KINDS = {
    "integer": N_("integer"),
    "number": N_("number"),
    "bool": N_("bool"),
    "text": N_("text"),
    "date": N_("date"),
    "unknown type": N_("unknown type"),
    "value that is never applicable": N_("value that is never applicable"),
}
_A_KINDS = {
    "integer": N_("an integer"),
    "bool": N_("a bool"),
    "text": N_("a text"),
    "date": N_("a date"),
    "unknown type": N_("an unknown type"),
    "value that is never applicable": N_("a value that is never applicable"),
}


def _did_you_mean(name: str, candidates: list[str] | set[str]) -> Msg | None:
    """`did_you_mean`, as a message that can be translated."""
    hint = did_you_mean(name, candidates)
    if hint is None:
        return None
    return Msg(N_("did you mean '{name}'?"), name=hint.removeprefix("did you mean '").removesuffix("'?"))


def _first_declared(span: Span) -> Msg:
    return Msg(N_("first declared at {place}"), place=span.short())


def citation_text(source: ir.Source | None, reference: str | None, source_name: str) -> str:
    head = _short_title(source.title) if source else source_name
    return f"{head} {reference}" if reference else head


def _short_title(title: str) -> str:
    # "AI Act (Règlement (UE) 2024/1689)" → "AI Act": the display text stays short.
    return title.split(" (")[0].strip() or title


class _Scope:
    def __init__(self, entity: str | None, where: str) -> None:
        self.entity = entity  # input name of the current entity, or None (global)
        self.where = where  # "definition 'impact'", for messages


class Checker:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.diags = Diagnostics()
        self.next_id = 0
        self.sources: dict[str, ir.Source] = {}
        self.enums: dict[str, ir.EnumDef] = {}
        self.inputs: dict[str, ir.Input] = {}
        self.params: dict[str, ir.Param] = {}
        self.definitions: dict[str, ir.Definition] = {}
        self.decisions: dict[str, ir.Decision] = {}
        self.obligations: dict[str, ir.Obligation] = {}
        self.assertions: dict[str, ir.Assertion] = {}
        self.used_fields: set[tuple[str, str]] = set()
        self.used_names: set[str] = set()
        # declarations by name, filled before any expression is checked
        self.value_decls: dict[str, ast.Decl] = {}
        self.def_decls: dict[str, ast.DefineDecl] = {}
        self.def_types: dict[str, Type] = {}
        self.def_na: dict[str, bool] = {}  # whether a definition may be not applicable
        self.in_progress: list[str] = []
        self.decision_types: dict[str, EnumT] = {}
        self.decision_decls: dict[str, ast.DecisionDecl | ast.BandsDecl] = {}
        self.dependencies: dict[str, set[str]] = {}
        self._current: str | None = None
        self._levels = 0  # expressions being checked, nested, across the definitions they read
        self._depth_reported = False
        self._value_names: list[str] | None = None  # names a misspelt name may stand for

    # ================================================================ entry
    def check(self) -> tuple[ir.CheckedPolicy | None, list]:
        modules = self.program.modules
        root = modules[0]
        self._declare(modules)
        self._check_ask_when(modules)
        for module in modules:
            for decl in module.decls:
                self._check_decl(decl)
        self._check_cycles()
        self._check_depth()
        self._warn_unused(modules)
        self._warn_hidden_text()
        policy = ir.CheckedPolicy(
            name=root.header.name,
            version=root.header.version,
            meta=root.header.meta,
            files=[m.file for m in modules],
            modules=modules,
            sources=self.sources,
            enums=self.enums,
            inputs=self.inputs,
            params=self.params,
            definitions=self.definitions,
            decisions=self.decisions,
            obligations=self.obligations,
            assertions=self.assertions,
            source_map=self.program.source_map,
            expr_count=self.next_id,
        )
        if not self.diags.has_errors:
            analyse(policy, self.diags)
        return (None if self.diags.has_errors else policy), self.diags.items

    # ================================================================ declarations
    def _declare(self, modules: list[ast.Module]) -> None:
        for module in modules:
            for decl in module.decls:
                if isinstance(decl, ast.SourceDecl):
                    if decl.name in self.sources:
                        self._duplicate(decl.name, decl.span, self.sources[decl.name].span)
                        continue
                    if decl.url is not None and (problem := url_problem(decl.url)) is not None:
                        shown = decl.url if len(decl.url) <= 60 else decl.url[:60] + "…"
                        self.diags.error("E062", Msg(N_("the url of source '{name}' ({url}) is refused: {problem}"), name=decl.name,
                                                     url=repr(shown), problem=problem), decl.span,
                                         hint=Msg(N_("give an http:// or https:// address, or no url")))
                    self.sources[decl.name] = ir.Source(decl.name, decl.title, decl.url, decl.span)
                elif isinstance(decl, ast.EnumDecl):
                    if decl.name in self.enums:
                        self._duplicate(decl.name, decl.span, self.enums[decl.name].span)
                        continue
                    values = tuple(v.name for v in decl.values)
                    listed: set[str] = set()
                    for value in decl.values:
                        if value.name in listed:
                            self.diags.error("E011", Msg(N_("'{value}' is listed twice in enum '{enum}'"), value=value.name, enum=decl.name), value.span)
                        listed.add(value.name)
                    labels = {v.name: v.meta.label for v in decl.values if v.meta.label is not None}
                    self.enums[decl.name] = ir.EnumDef(decl.name, values, labels, decl.meta, decl.span)
                elif isinstance(decl, ast.AssertDecl):
                    pass  # not a value: checked in its own pass (E070 for a repeated name)
                else:
                    self._declare_value(decl)
                    if isinstance(decl, ast.InputDecl) and decl.entity:
                        self._declare_value(ast.Decl(decl.entity, span=decl.span), alias_of=decl)
        # inputs need enums; definitions and decisions need inputs
        for module in modules:
            for decl in module.decls:
                if isinstance(decl, ast.InputDecl):
                    self._declare_input(decl)
                elif isinstance(decl, ast.DefineDecl):
                    self.def_decls[decl.name] = decl
                elif isinstance(decl, (ast.DecisionDecl, ast.BandsDecl)):
                    self.decision_decls[decl.name] = decl
                    self.decision_types[decl.name] = EnumT(f"decision {decl.name}", self._outcome_names(decl))

    def _declare_value(self, decl: ast.Decl, alias_of: ast.Decl | None = None) -> None:
        if decl.name in BUILTIN_NAMES:
            self.diags.error("E011", Msg(N_("'{name}' is a built-in name and cannot be declared"), name=decl.name), decl.span)
            return
        previous = self.value_decls.get(decl.name)
        if previous is not None:
            self._duplicate(decl.name, decl.span, previous.span)
            return
        self.value_decls[decl.name] = alias_of or decl

    def _duplicate(self, name: str, span: Span, first: Span) -> None:
        self.diags.error(
            "E011",
            Msg(N_("'{name}' is declared twice"), name=name),
            span,
            hint=Msg(N_("give each declaration its own name")),
            notes=((_first_declared(first), first),),
        )

    @staticmethod
    def _outcome_names(decl: ast.DecisionDecl | ast.BandsDecl) -> tuple[str, ...]:
        names: list[str] = []
        if isinstance(decl, ast.BandsDecl):
            names = [b.name for b in decl.bands]
        else:
            names = [o.name for o in decl.outcomes]
            rules = list(decl.rules) + ([decl.otherwise] if decl.otherwise else [])
            if not names:
                names = [r.outcome for r in rules]
        return tuple(dict.fromkeys(names))

    def _resolve_type(self, type_: ast.TypeExpr, owner: str) -> Type:
        if isinstance(type_, ast.NumberType):
            if type_.low is not None and type_.high is not None and type_.low > type_.high:
                self.diags.error("E020", Msg(N_("range {low}..{high} is empty"), low=type_.low, high=type_.high), type_.span)
            return NumberT(type_.integer, type_.low, type_.high)
        if isinstance(type_, ast.BoolType):
            return BOOL
        if isinstance(type_, ast.TextType):
            return TEXT
        if isinstance(type_, ast.DateType):
            return DATE
        if isinstance(type_, ast.EnumType):
            if len(set(type_.values)) != len(type_.values):
                self.diags.error("E011", Msg(N_("a value is listed twice in this enum")), type_.span)
            return EnumT(owner, type_.values)
        if isinstance(type_, ast.NamedType):
            enum = self.enums.get(type_.name)
            if enum is None:
                self.diags.error(
                    "E013",
                    Msg(N_("unknown type '{name}'"), name=type_.name),
                    type_.span,
                    hint=_did_you_mean(type_.name, list(self.enums) + ["number", "integer", "bool", "text", "date"]),
                )
                return ANY
            return EnumT(enum.name, enum.values)
        if isinstance(type_, ast.ListType):
            element = self._resolve_type(type_.element, owner)
            return ListT(element)
        return ANY

    def _declare_input(self, decl: ast.InputDecl) -> None:
        fields: dict[str, ir.Field] = {}
        for f in decl.fields:
            if f.name in fields or f.name in BUILTIN_NAMES:
                self.diags.error("E011", Msg(N_("field '{field}' is declared twice in input '{input}'"), field=f.name, input=decl.name), f.span)
                continue
            type_ = self._resolve_type(f.type, f"{decl.name}.{f.name}")
            default = None
            if f.default is not None:
                default = self._constant(f.default, type_, Msg(N_("the default of field '{field}'"), field=f.name))
            fields[f.name] = ir.Field(f.name, type_, f.meta, f.required, f.span, default, f.fixed)
        members: tuple[str, ...] = ()
        if decl.kind == "group":
            enum = self.enums.get(decl.over or "")
            if enum is None:
                self.diags.error(
                    "E013",
                    Msg(N_("unknown enum '{enum}' for the members of group '{group}'"), enum=decl.over, group=decl.name),
                    decl.span,
                    hint=_did_you_mean(decl.over or "", list(self.enums)),
                )
            else:
                members = enum.values
        retired: dict[str, tuple[str, dict[str, str]]] = {}
        for r in decl.retired:
            if r.name in fields or r.name in retired:
                self.diags.error("E011", Msg(N_("'{field}' is both asked and retired in input '{input}'"), field=r.name, input=decl.name), r.span)
                continue
            retired[r.name] = (r.hint, dict(r.values))
        self.inputs[decl.name] = ir.Input(
            decl.name, decl.kind, decl.entity, members, decl.over, fields, decl.meta, decl.span, retired
        )

    def _entity_scope(self, name: str | None, span: Span) -> str | None:
        """`for each usecase` → the input name holding use cases."""
        if name is None:
            return None
        for item in self.inputs.values():
            if item.kind != "record" and name in (item.entity, item.name):
                return item.name
        candidates = [i.entity for i in self.inputs.values() if i.entity]
        self.diags.error("E015", Msg(N_("unknown entity '{name}'"), name=name), span, hint=_did_you_mean(name, candidates))
        return None

    # ================================================================ declarations' bodies
    # ================================================================ conditional relevance
    #: what an `ask when` condition may contain: answers and the operators over them
    _ASK_WHEN_NODES = (ir.FieldRef, ir.Const, ir.Logic, ir.Not, ir.Compare, ir.In, ir.SetOf, ir.Func, ir.Arith, ir.Neg, ir.Cond)

    def _check_ask_when(self, modules: list[ast.Module]) -> None:
        """`ask when EXPR` on a field: EXPR is true or false and reads only answers the person gave
        before this question — earlier fields of the same input, or fields of a record input (the
        company) — so a questionnaire can decide, question by question, what to ask next."""
        for module in modules:
            for decl in module.decls:
                if not isinstance(decl, ast.InputDecl) or decl.name not in self.inputs:
                    continue
                item = self.inputs[decl.name]
                order = [f.name for f in decl.fields]
                fields = dict(item.fields)
                for f in decl.fields:
                    if f.ask_when is None or f.name not in fields:
                        continue
                    what = Msg(N_("the ask-when condition of field '{field}'"), field=f.name)
                    current, self._current = self._current, None
                    try:
                        checked = self._expr(f.ask_when, _Scope(decl.name, what))
                    finally:
                        self._current = current
                    if not isinstance(checked.type, (BoolT, AnyT)):
                        self.diags.error("E051", Msg(N_("{what} must be true or false, not {type}"), what=what, type=_a(checked.type)), f.ask_when.span)
                    ok = True
                    for node in ir.walk(checked):
                        if not isinstance(node, self._ASK_WHEN_NODES):
                            self.diags.error(
                                "E052",
                                Msg(N_("{what} reads '{text}', which is not an answer"), what=what, text=self.program.source_map.text_of(node.span)),
                                node.span,
                                hint=Msg(N_("a question can depend only on answers: fields of this input, or of a record input such as the company")),
                            )
                            ok = False
                        elif isinstance(node, ir.FieldRef) and node.input_name == decl.name and (
                            node.field_name not in order or order.index(node.field_name) >= order.index(f.name)
                        ):
                            self.diags.error(
                                "E050",
                                Msg(N_("{what} reads '{field}', which is not asked before it"), what=what, field=node.field_name),
                                node.span,
                                hint=Msg(N_("declare '{field}' before '{question}', or drop it from the condition"), field=node.field_name, question=f.name),
                            )
                            ok = False
                    if ok:
                        fields[f.name] = replace(fields[f.name], ask_when=checked)
                self.inputs[decl.name] = replace(item, fields=fields)

    def _check_decl(self, decl: ast.Decl) -> None:
        if isinstance(decl, ast.ParamDecl):
            self._check_param(decl)
        elif isinstance(decl, ast.DefineDecl):
            self._definition_type(decl.name)
        elif isinstance(decl, ast.DecisionDecl):
            self._check_decision(decl)
        elif isinstance(decl, ast.BandsDecl):
            self._check_bands(decl)
        elif isinstance(decl, ast.ObligationDecl):
            self._check_obligation(decl)
        elif isinstance(decl, ast.AssertDecl):
            self._check_assert(decl)

    def _check_assert(self, decl: ast.AssertDecl) -> None:
        if decl.name in self.assertions:
            self.diags.error(
                "E070", Msg(N_("assertion '{name}' is declared twice"), name=decl.name), decl.span, hint=_first_declared(self.assertions[decl.name].span)
            )
            return
        entity = self._entity_scope(decl.for_each, decl.span)
        if decl.monotone is not None:
            monotone = self._check_monotone(decl, entity)
            if monotone is not None:
                true = self._node(ir.Const, BOOL, decl.monotone.span, value=True)
                self.assertions[decl.name] = ir.Assertion(decl.name, entity, true, self._cites(decl.cites), decl.meta, decl.span, monotone)
            return
        previous, self._current = self._current, decl.name
        expr = self._condition(decl.expr, _Scope(entity, Msg(N_("assertion '{name}'"), name=decl.name)), Msg(N_("an assertion")))
        self._current = previous
        self.assertions[decl.name] = ir.Assertion(decl.name, entity, expr, self._cites(decl.cites), decl.meta, decl.span)

    def _check_monotone(self, decl: ast.AssertDecl, entity: str | None) -> ir.Monotone | None:
        """Resolve `monotone TARGET in PATH, …` (E072 for what does not resolve)."""
        m = decl.monotone
        assert m is not None
        where = Msg(N_("assertion '{name}'"), name=decl.name)
        if m.target in self.decision_decls:
            kind = "decision"
            owner = self._entity_scope_quiet(self.decision_decls[m.target].for_each)
        elif m.target in self.def_decls:
            kind = "definition"
            owner = self._entity_scope_quiet(self.def_decls[m.target].for_each)
            type_ = self._definition_type(m.target)
            if not isinstance(type_, (NumberT, BoolT)):
                self.diags.error("E072", Msg(N_("{where}: definition '{name}' is a {type}, which has no order"), where=where, name=m.target,
                                             type=_kind(type_)), m.span,
                                 hint=Msg(N_("a monotone assertion reads a decision (outcomes in declaration order), a number or a yes/no")))
                return None
        else:
            names = [*self.decision_decls, *self.def_decls]
            self.diags.error("E072", Msg(N_("{where}: '{name}' is neither a decision nor a definition"), where=where, name=m.target), m.span,
                             hint=_did_you_mean(m.target, names))
            return None
        self.used_names.add(m.target)
        if owner is not None and owner != entity:
            entity_name = self.inputs[owner].entity
            self.diags.error("E072", Msg(N_("{where}: '{name}' is computed for each {entity}"), where=where, name=m.target, entity=entity_name),
                             m.span, hint=Msg(N_("write `assert {name} for each {entity}`"), name=decl.name, entity=entity_name))
            return None
        if owner is None and entity is not None:
            self.diags.error("E072", Msg(N_("{where}: '{name}' is not computed for each {entity}"), where=where, name=m.target,
                                         entity=self.inputs[entity].entity), m.span, hint=Msg(N_("leave out `for each`")))
            return None
        raised: list[ir.RaisedFacts] = []
        for path in m.paths:
            found = self._raised(path)
            if isinstance(found, str):
                self.diags.error("E072", Msg(N_("{where}: {problem}"), where=where, problem=found), m.span,
                                 hint=Msg(N_("name an input (`maturity`), a field (`organization.headcount`, `maturity.practiced`) "
                                             "or a group member (`maturity.governance`)")))
                return None
            raised.extend(r for r in found if r not in raised)
        return ir.Monotone(m.target, kind, owner, tuple(raised), m.span)

    def _raised(self, path: str) -> list[ir.RaisedFacts] | str:
        """The facts a path of a monotone assertion names, or why it names none."""
        parts = path.split(".")
        item = self.inputs.get(parts[0])
        if item is None:
            return Msg(N_("'{name}' is not an input"), name=parts[0])
        member: str | None = None
        fields: list[str] = list(item.fields)
        rest = parts[1:]
        if item.kind == "group" and rest and rest[0] in item.members:
            member, rest = rest[0], rest[1:]
        if len(rest) > 1:
            return Msg(N_("'{path}' names nothing"), path=path)
        if rest:
            if rest[0] not in item.fields:
                if item.kind == "group":
                    return Msg(N_("'{name}' is not a field of {input} (nor one of its members)"), name=rest[0], input=item.name)
                return Msg(N_("'{name}' is not a field of {input}"), name=rest[0], input=item.name)
            fields = [rest[0]]
        out = []
        for name in fields:
            f = item.fields[name]
            if isinstance(f.type, (NumberT, BoolT, EnumT)):
                out.append(ir.RaisedFacts(item.name, member, name))
                self.used_fields.add((item.name, name))
            elif rest:
                return Msg(N_("'{path}' is a {type}, which cannot be raised (numbers, yes/no and enumerations can)"), path=path, type=_kind(f.type))
        if not out:
            return Msg(N_("'{path}' has no field that can be raised (numbers, yes/no and enumerations)"), path=path)
        return out

    def _check_param(self, decl: ast.ParamDecl) -> None:
        type_ = self._resolve_type(decl.type, f"param {decl.name}")
        default = self._constant(decl.default, type_, Msg(N_("the default of parameter '{name}'"), name=decl.name))
        self.params[decl.name] = ir.Param(decl.name, type_, default, decl.meta, self._cites(decl.cites), decl.span)

    def _constant(self, expr: ast.Expr, type_: Type, what: str) -> Any:
        value: Any = None
        ok = False
        if isinstance(expr, ast.NumberLit) and isinstance(type_, NumberT):
            value, ok = expr.value, not type_.integer or expr.value == expr.value.to_integral_value()
            outside = (type_.low is not None and value < type_.low) or (type_.high is not None and value > type_.high)
            if ok and outside:
                self.diags.error("E026", Msg(N_("{what} ({value}) is outside {low}..{high}"), what=what, value=expr.value, low=type_.low,
                                                 high=type_.high), expr.span)
                return value
        elif isinstance(expr, ast.BoolLit) and isinstance(type_, BoolT):
            value, ok = expr.value, True
        elif isinstance(expr, ast.StringLit) and isinstance(type_, TextT):
            value, ok = expr.value, True
        elif isinstance(expr, ast.DateLit) and isinstance(type_, DateT):
            value, ok = expr.value, True
        elif isinstance(expr, ast.Path) and isinstance(type_, EnumT) and len(expr.parts) == 1:
            value, ok = expr.parts[0], expr.parts[0] in type_.values
            if not ok:
                self.diags.error(
                    "E016",
                    Msg(N_("'{name}' is not a value of {type}"), name=expr.parts[0], type=_kind(type_)),
                    expr.span,
                    hint=_did_you_mean(expr.parts[0], list(type_.values)),
                )
                return None
        elif isinstance(type_, AnyT):
            return None
        if not ok:
            self.diags.error("E026", Msg(N_("{what} is not {type}"), what=what, type=_a(type_)), expr.span)
        return value

    def _cites(self, cites: tuple[ast.Citation, ...], scope: _Scope | None = None) -> tuple[ir.Citation, ...]:
        out = []
        for c in cites:
            source = self.sources.get(c.source)
            if source is None and c.reference is None and c.source in self.decision_decls:
                owner = self._entity_scope_quiet(self.decision_decls[c.source].for_each)
                if scope is not None and self._visible(owner, scope, c.source, c.span):
                    self._depends(c.source)
                    out.append(ir.Citation(c.source, None, f"(citations of {c.source})", c.span, decision=c.source))
                elif scope is None:
                    self.diags.error("E014", Msg(N_("only rules may cite a decision; '{name}' is not a source"), name=c.source), c.span)
                continue
            if source is None:
                self.diags.error(
                    "E014",
                    Msg(N_("unknown source '{name}' in citation"), name=c.source),
                    c.span,
                    hint=_did_you_mean(c.source, list(self.sources)) or Msg(N_("declare it: source NAME \"title\"")),
                )
            out.append(ir.Citation(c.source, c.reference, citation_text(source, c.reference, c.source), c.span))
        return tuple(out)

    def _definition_type(self, name: str) -> Type:
        if name in self.def_types:
            return self.def_types[name]
        if name in self.in_progress:
            return ANY  # a cycle: reported once by _check_cycles
        if self._levels >= MAX_CHAIN_DEPTH:
            # checking `name` here would recurse past the limit: report the chain and
            # leave `name` to be checked on its own (from _check_decl)
            self._report_depth(self.in_progress + [name], complete=False)
            return ANY
        decl = self.def_decls[name]
        self.in_progress.append(name)
        previous = self._current
        self._current = name
        entity = self._entity_scope(decl.for_each, decl.span)
        self._levels += 1
        try:
            expr = self._expr(decl.expr, _Scope(entity, Msg(N_("definition '{name}'"), name=name)))
        finally:
            self._levels -= 1
        self._current = previous
        self.in_progress.pop()
        self.def_types[name] = expr.type
        self.def_na[name] = expr.na
        self.definitions[name] = ir.Definition(name, entity, expr, decl.meta, decl.span)
        return expr.type

    def _dating(self, expr: ast.Expr | None, what: str) -> ir.Expr | None:
        if expr is None:
            return None
        checked = self._expr(expr, _Scope(None, what))
        if not isinstance(checked.type, (DateT, AnyT)):
            self.diags.error("E045", Msg(N_("{what} must be a date, not {type}"), what=what, type=_a(checked.type)), expr.span)
        return checked

    def _rule_ids(self, decision: str, rules: list[ast.Rule]) -> list[str]:
        ids: list[str] = []
        for rule in rules:
            base = rule.name or rule.outcome
            candidate, n = base, 2
            while candidate in ids:
                candidate, n = f"{base}_{n}", n + 1
            if rule.name and rule.name in ids:
                self.diags.error("E011", Msg(N_("rule '{rule}' is declared twice in decision '{decision}'"), rule=rule.name, decision=decision), rule.span)
            ids.append(candidate)
        return [f"{decision}.{i}" for i in ids]

    def _check_decision(self, decl: ast.DecisionDecl) -> None:
        entity = self._entity_scope(decl.for_each, decl.span)
        scope = _Scope(entity, Msg(N_("decision '{name}'"), name=decl.name))
        declared = {o.name for o in decl.outcomes}
        all_rules = list(decl.rules) + ([decl.otherwise] if decl.otherwise else [])
        first: dict[str, Span] = {}
        for outcome in decl.outcomes:
            if outcome.name in first:  # reported once, at the repetition (a set: linear in the outcomes)
                self.diags.error(
                    "E011",
                    Msg(N_("outcome '{outcome}' is declared twice in decision '{decision}'"), outcome=outcome.name, decision=decl.name),
                    outcome.span,
                    notes=((_first_declared(first[outcome.name]), first[outcome.name]),),
                )
            else:
                first[outcome.name] = outcome.span
        labels: dict[str, ast.Text | None] = {o.name: o.meta.label for o in decl.outcomes}
        for rule in all_rules:
            if declared and rule.outcome not in declared:
                self.diags.error(
                    "E044",
                    Msg(N_("'{outcome}' is not a declared outcome of decision '{decision}'"), outcome=rule.outcome, decision=decl.name),
                    rule.span,
                    hint=_did_you_mean(rule.outcome, declared)
                    or Msg(N_("declared outcomes: {outcomes}"), outcomes=", ".join(sorted(declared))),
                )
            if rule.label is not None and labels.get(rule.outcome) is None:
                labels[rule.outcome] = rule.label
        previous, self._current = self._current, decl.name
        rules = []
        for rule, rule_id in zip(all_rules, self._rule_ids(decl.name, all_rules), strict=True):
            cond = None
            if rule.when is not None:
                cond = self._condition(rule.when, scope, Msg(N_("the condition of rule '{rule}'"), rule=rule_id))
            exceptions = tuple(
                ir.Exception_(
                    f"{rule_id}.unless{n}",
                    self._condition(exc.cond, scope, Msg(N_("an 'unless' exception"))),
                    self._cites(exc.cites, scope),
                    exc.span,
                )
                for n, exc in enumerate(rule.exceptions, start=1)
            )
            rules.append(
                ir.Rule(
                    rule_id,
                    rule.outcome,
                    cond,
                    exceptions,
                    self._cites(rule.cites, scope),
                    self._dating(rule.valid_from, Msg(N_("the start date of rule '{rule}'"), rule=rule_id)),
                    self._dating(rule.valid_until, Msg(N_("the end date of rule '{rule}'"), rule=rule_id)),
                    rule.span,
                )
            )
        self._current = previous
        outcomes = tuple(ir.Outcome(name, labels.get(name)) for name in self.decision_types[decl.name].values)
        self.decisions[decl.name] = ir.Decision(decl.name, entity, outcomes, tuple(rules), decl.meta, decl.span, unique=decl.unique)

    def _check_bands(self, decl: ast.BandsDecl) -> None:
        entity = self._entity_scope(decl.for_each, decl.span)
        previous, self._current = self._current, decl.name
        on = self._expr(decl.on, _Scope(entity, Msg(N_("bands '{name}'"), name=decl.name)))
        self._current = previous
        if not is_number(on.type):
            self.diags.error("E021", Msg(N_("bands are read on a number, not {type}"), type=_a(on.type)), decl.on.span)
        bands = list(decl.bands)
        for i, band in enumerate(bands):
            last = i == len(bands) - 1
            if band.high is not None and band.high <= band.low:
                self.diags.error("E043", Msg(N_("band '{band}' is empty: {low} is not below {high}"), band=band.name, low=band.low, high=band.high),
                                 band.span)
            if not last:
                nxt = bands[i + 1]
                if band.high is None or band.inclusive_high:
                    self.diags.error(
                        "E043",
                        Msg(N_("band '{band}' must end with 'below N' because another band follows"), band=band.name),
                        band.span,
                        hint=Msg(N_("only the last band may use 'to N' or have no upper bound")),
                    )
                elif nxt.low > band.high:
                    self.diags.error(
                        "E041",
                        Msg(N_("gap between bands '{band}' and '{next}': values from {high} below {low} have no band"),
                            band=band.name, next=nxt.name, high=band.high, low=nxt.low),
                        nxt.span,
                        hint=Msg(N_("start '{band}' from {value}"), band=nxt.name, value=band.high),
                    )
                elif nxt.low < band.high:
                    self.diags.error(
                        "E042",
                        Msg(N_("bands '{band}' and '{next}' overlap from {low} below {high}"), band=band.name, next=nxt.name, low=nxt.low,
                            high=band.high),
                        nxt.span,
                        hint=Msg(N_("start '{band}' from {value}"), band=nxt.name, value=band.high),
                    )
        rules = []
        for band in bands:
            parts: list[ir.Expr] = [self._node(ir.Compare, BOOL, band.span, op=">=", left=on, right=self._const(band.low, band.span))]
            if band.high is not None:
                op = "<=" if band.inclusive_high else "<"
                parts.append(self._node(ir.Compare, BOOL, band.span, op=op, left=on, right=self._const(band.high, band.span)))
            cond = parts[0] if len(parts) == 1 else self._node(ir.Logic, BOOL, band.span, op="and", items=tuple(parts))
            rules.append(ir.Rule(f"{decl.name}.{band.name}", band.name, cond, (), self._cites(band.cites), None, None, band.span))
        outcomes = tuple(ir.Outcome(b.name, b.label) for b in bands)
        levels = tuple(ir.Band(b.name, b.low, b.high, b.inclusive_high) for b in bands)
        self.decisions[decl.name] = ir.Decision(decl.name, entity, outcomes, tuple(rules), decl.meta, decl.span, on, levels)

    def _check_obligation(self, decl: ast.ObligationDecl) -> None:
        entity = self._entity_scope(decl.for_each, decl.span)
        previous, self._current = self._current, decl.name
        cond = self._condition(decl.when, _Scope(entity, Msg(N_("obligation '{name}'"), name=decl.name)), Msg(N_("the condition of an obligation")))
        self._current = previous
        decisions = tuple(dict.fromkeys(n.name for n in ir.walk(cond) if isinstance(n, ir.DecisionRef)))
        self.obligations[decl.name] = ir.Obligation(
            decl.name,
            entity,
            cond,
            self._cites(decl.cites),
            self._dating(decl.valid_from, Msg(N_("the start date of obligation '{name}'"), name=decl.name)),
            self._dating(decl.valid_until, Msg(N_("the end date of obligation '{name}'"), name=decl.name)),
            decl.meta,
            decl.span,
            decisions,
        )

    # ================================================================ expressions
    def _node(self, cls, type_: Type, span: Span, **kw) -> ir.Expr:
        self.next_id += 1
        return cls(self.next_id, type_, span, na=self._may_be_na(cls, kw), **kw)

    def _may_be_na(self, cls, kw: dict) -> bool:
        """Whether a node's value may be not applicable: n/a comes from the literal and
        flows through definitions, `if` branches, arithmetic and scalar functions
        (comparisons, logic, aggregates and ranks never give it; see docs/language.md)."""
        if cls is ir.Const:
            return isinstance(kw.get("value"), ir.NotApplicable)
        if cls is ir.DefRef:
            return self.def_na.get(kw["name"], False)
        if cls is ir.Cond:
            return kw["then"].na or kw["otherwise"].na
        if cls is ir.Neg:
            return kw["operand"].na
        if cls is ir.Arith:
            return kw["left"].na or kw["right"].na
        if cls is ir.Func:
            return kw["name"] != "known" and any(arg.na for arg in kw["args"])
        return False

    def _applicable(self, operand: ir.Expr, what: str) -> bool:
        """E027 when an operand is never applicable: the operation could never give a value."""
        if isinstance(operand.type, NotApplicableT):
            self.diags.error(
                "E027",
                Msg(N_("{what} is given a value that is never applicable"), what=what),
                operand.span,
                hint=Msg(N_("an operation on 'not applicable' has no result: test 'X is applicable' first, or give a value")),
            )
            return False
        return True

    def _const(self, value: Any, span: Span, type_: Type = NUMBER) -> ir.Expr:
        return self._node(ir.Const, type_, span, value=value)

    def _condition(self, expr: ast.Expr, scope: _Scope, what: str) -> ir.Expr:
        checked = self._expr(expr, scope)
        if not self._applicable(checked, what):
            return checked
        if not isinstance(checked.type, (BoolT, AnyT)):
            self.diags.error("E023", Msg(N_("{what} must be true or false, not {type}"), what=what, type=_a(checked.type)), expr.span)
        return checked

    def _is_free_symbol(self, expr: ast.Expr, scope: _Scope) -> bool:
        """A one-word name that is not a declared name here: it can only be an enum symbol."""
        if not isinstance(expr, ast.Path) or len(expr.parts) != 1:
            return False
        name = expr.parts[0]
        if name in BUILTIN_NAMES or name in self.value_decls:
            return False
        if scope.entity and name in self.inputs[scope.entity].fields:
            return False
        return True

    def _expr(self, expr: ast.Expr, scope: _Scope, expected: Type | None = None) -> ir.Expr:
        method = getattr(self, f"_x_{type(expr).__name__}")
        if isinstance(expr, _LEAVES):
            return method(expr, scope, expected)
        self._levels += 1  # counted as _check_depth counts: operations, not names or constants
        try:
            return method(expr, scope, expected)
        finally:
            self._levels -= 1

    def _x_NumberLit(self, e: ast.NumberLit, scope, expected):
        integral = e.value == e.value.to_integral_value()
        return self._const(e.value, e.span, INTEGER if integral else NUMBER)

    def _x_StringLit(self, e, scope, expected):
        return self._const(e.value, e.span, TEXT)

    def _x_DateLit(self, e, scope, expected):
        return self._const(e.value, e.span, DATE)

    def _x_BoolLit(self, e, scope, expected):
        return self._const(e.value, e.span, BOOL)

    def _x_NotApplicable(self, e: ast.NotApplicable, scope, expected):
        value = ir.NotApplicable(e.reason.fr, e.reason.en)
        return self._const(value, e.span, NOT_APPLICABLE)

    def _x_IsApplicable(self, e: ast.IsApplicable, scope, expected):
        operand = self._expr(e.operand, scope)
        return self._node(ir.IsApplicable, BOOL, e.span, operand=operand, negated=e.negated)

    def _x_Path(self, e: ast.Path, scope: _Scope, expected: Type | None) -> ir.Expr:
        parts = e.parts
        first = parts[0]
        if len(parts) == 1:
            if isinstance(expected, EnumT) and first in expected.values:
                return self._const(first, e.span, expected)
            if isinstance(expected, ListT) and isinstance(expected.element, EnumT) and first in expected.element.values:
                return self._const(first, e.span, expected.element)
            return self._name(first, e, scope, expected)
        head = self.inputs.get(first) or (self.value_decls.get(first) if isinstance(self.value_decls.get(first), ast.InputDecl) else None)
        if isinstance(head, ast.InputDecl):
            head = self.inputs.get(head.name)
        if isinstance(head, ir.Input) and head.kind == "record" and len(parts) == 2:
            return self._field(head, parts[1], e)
        if isinstance(head, ir.Input) and head.kind == "group" and len(parts) == 3:
            member, field_name = parts[1], parts[2]
            if member not in head.members:
                self.diags.error(
                    "E012",
                    Msg(N_("'{member}' is not a member of group '{group}'"), member=member, group=head.name),
                    e.span,
                    hint=_did_you_mean(member, list(head.members)),
                )
                return self._node(ir.Const, ANY, e.span, value=None)
            field = head.fields.get(field_name)
            if field is None:
                member_value = self._member_value(head, member, field_name, e)
                if member_value is not None:
                    return member_value
                return self._unknown_field(head, field_name, e)
            self.used_fields.add((head.name, field_name))
            return self._node(ir.MemberFieldRef, field.type, e.span, input_name=head.name, member=member, field_name=field_name)
        if isinstance(head, ir.Input):
            shape = {
                "record": f"{head.name}.FIELD",
                "group": f"{head.name}.MEMBER.FIELD",
                "many": Msg(N_("an aggregate such as count({entity})"), entity=head.entity),
            }[head.kind]
            self.diags.error("E012", Msg(N_("'{name}' cannot be read here"), name=e.dotted), e.span, hint=Msg(N_("write {shape}"), shape=shape))
            return self._node(ir.Const, ANY, e.span, value=None)
        self.diags.error(
            "E010",
            Msg(N_("unknown name '{name}'"), name=first),
            e.span,
            hint=_did_you_mean(first, [i.name for i in self.inputs.values()]),
        )
        return self._node(ir.Const, ANY, e.span, value=None)

    def _member_value(self, head: ir.Input, member: str, name: str, e: ast.Path) -> ir.Expr | None:
        """`maturity.governance.score`: a per-member definition or decision of a group."""
        decl = self.value_decls.get(name)
        if isinstance(decl, ast.DefineDecl) and self._entity_scope_quiet(decl.for_each) == head.name:
            type_ = self._definition_type(name)
            self._depends(name)
            return self._node(ir.DefRef, type_, e.span, name=name, input_name=head.name, member=member)
        if isinstance(decl, (ast.DecisionDecl, ast.BandsDecl)) and self._entity_scope_quiet(decl.for_each) == head.name:
            self._depends(name)
            return self._node(ir.DecisionRef, self.decision_types[name], e.span, name=name, input_name=head.name, member=member)
        return None

    def _field(self, item: ir.Input, name: str, e: ast.Expr) -> ir.Expr:
        field = item.fields.get(name)
        if field is None:
            return self._unknown_field(item, name, e)
        self.used_fields.add((item.name, name))
        return self._node(ir.FieldRef, field.type, e.span, input_name=item.name, field_name=name, of_record=item.kind == "record")

    def _unknown_field(self, item: ir.Input, name: str, e: ast.Expr) -> ir.Expr:
        self.diags.error(
            "E012",
            Msg(N_("unknown field '{field}' in input '{input}'"), field=name, input=item.name),
            e.span,
            hint=_did_you_mean(name, list(item.fields)),
        )
        return self._node(ir.Const, ANY, e.span, value=None)

    def _depends(self, name: str) -> None:
        if self._current is not None:
            self.dependencies.setdefault(self._current, set()).add(name)
        self.used_names.add(name)

    def _name(self, name: str, e: ast.Path, scope: _Scope, expected: Type | None) -> ir.Expr:
        if name == "id":
            if scope.entity is None:
                self.diags.error("E017", Msg(N_("'id' names the current entity and is only known inside 'for each'")), e.span)
                return self._node(ir.Const, ANY, e.span, value=None)
            return self._node(ir.EntityId, TEXT, e.span)
        if name == "as_of":
            return self._node(ir.AsOf, DATE, e.span)
        if scope.entity and name in self.inputs[scope.entity].fields:
            return self._field(self.inputs[scope.entity], name, e)
        decl = self.value_decls.get(name)
        if isinstance(decl, ast.DefineDecl):
            type_ = self._definition_type(name)
            owner = self.definitions[name].entity_input if name in self.definitions else self._entity_scope_quiet(decl.for_each)
            if not self._visible(owner, scope, name, e.span):
                return self._node(ir.Const, ANY, e.span, value=None)
            self._depends(name)
            return self._node(ir.DefRef, type_, e.span, name=name)
        if isinstance(decl, (ast.DecisionDecl, ast.BandsDecl)):
            owner = self._entity_scope_quiet(decl.for_each)
            if not self._visible(owner, scope, name, e.span):
                return self._node(ir.Const, ANY, e.span, value=None)
            self._depends(name)
            return self._node(ir.DecisionRef, self.decision_types[name], e.span, name=name)
        if isinstance(decl, ast.ParamDecl):
            self.used_names.add(name)
            type_ = self.params[name].type if name in self.params else self._resolve_type(decl.type, f"param {name}")
            return self._node(ir.ParamRef, type_, e.span, name=name)
        if isinstance(decl, (ast.InputDecl, ast.ObligationDecl)) or (decl is not None):
            if isinstance(decl, ast.ObligationDecl):
                message = Msg(N_("'{name}' is an obligation and has no value by itself"), name=name)
            else:
                message = Msg(N_("'{name}' is an input and has no value by itself"), name=name)
            hint = None
            if isinstance(decl, ast.InputDecl) and decl.kind == "record":
                hint = Msg(N_("read one of its fields: {name}.FIELD"), name=name)
            elif isinstance(decl, ast.InputDecl):
                hint = Msg(N_("use an aggregate, e.g. count({entity})"), entity=decl.entity)
            self.diags.error("E024", message, e.span, hint=hint)
            return self._node(ir.Const, ANY, e.span, value=None)
        return self._unknown_name(name, e, scope, expected)

    def _entity_scope_quiet(self, name: str | None) -> str | None:
        if name is None:
            return None
        for item in self.inputs.values():
            if item.kind != "record" and name in (item.entity, item.name):
                return item.name
        return None

    def _visible(self, owner: str | None, scope: _Scope, name: str, span: Span) -> bool:
        if owner is None or owner == scope.entity:
            return True
        entity = self.inputs[owner].entity
        self.diags.error(
            "E017",
            Msg(N_("'{name}' is computed for each {entity} and cannot be read in {where}"), name=name, entity=entity, where=scope.where),
            span,
            hint=Msg(N_("use an aggregate over {entity}, e.g. count({entity} where …) or sum({entity}, {name})"), entity=entity, name=name),
        )
        return False

    def _unknown_name(self, name: str, e: ast.Path, scope: _Scope, expected: Type | None) -> ir.Expr:
        fields = list(self.inputs[scope.entity].fields) if scope.entity else []
        if self._value_names is None:  # once: value_decls is complete before any expression is checked
            self._value_names = [n for n, d in self.value_decls.items() if not isinstance(d, ast.InputDecl)]
        names = fields + self._value_names
        if isinstance(expected, EnumT):
            if expected.name.startswith("decision "):
                message = Msg(N_("'{name}' is not an outcome of '{owner}'"), name=name, owner=expected.name.removeprefix("decision "))
            else:
                message = Msg(N_("'{name}' is not a value of '{owner}'"), name=name, owner=expected.name)
            self.diags.error(
                "E016",
                message,
                e.span,
                hint=_did_you_mean(name, list(expected.values)) or Msg(N_("possible values: {values}"), values=", ".join(expected.values)),
            )
            return self._node(ir.Const, ANY, e.span, value=None)
        owners = [i for i in self.inputs.values() if i.kind != "record" and name in i.fields and i.name != scope.entity]
        if owners and not (isinstance(expected, EnumT)):
            entity = owners[0].entity
            self.diags.error(
                "E017",
                Msg(N_("'{name}' is a field of each {entity} and cannot be read in {where}"), name=name, entity=entity, where=scope.where),
                e.span,
                hint=Msg(N_("compute it for each {entity} (define … for each {entity} = …), or use an aggregate such as sum({entity}, {name})"),
                         entity=entity, name=name),
            )
            return self._node(ir.Const, ANY, e.span, value=None)
        suggestion = _did_you_mean(name, names)
        close_field = suggestion is not None and any(suggestion == f"did you mean '{f}'?" for f in fields)
        if close_field:
            self.diags.error("E012", Msg(N_("unknown field '{name}'"), name=name), e.span, hint=suggestion)
        else:
            self.diags.error("E010", Msg(N_("unknown name '{name}'"), name=name), e.span, hint=suggestion)
        return self._node(ir.Const, ANY, e.span, value=None)

    def _x_SetLit(self, e: ast.SetLit, scope, expected):
        element = expected.element if isinstance(expected, ListT) else expected
        items = tuple(self._expr(i, scope, element) for i in e.items)
        types = {type(i.type) for i in items}
        item_type = items[0].type if items else (element or ANY)
        if len(types) > 1 and AnyT not in types:
            self.diags.error("E020", Msg(N_("a set mixes values of different types")), e.span)
        for i in items:
            if not self._applicable(i, Msg(N_("a set"))):
                continue
            if not isinstance(i, ir.Const):
                self.diags.error("E020", Msg(N_("a set may only list constant values")), i.span)
        return self._node(ir.SetOf, ListT(item_type), e.span, items=items)

    def _x_Neg(self, e: ast.Neg, scope, expected):
        operand = self._expr(e.operand, scope)
        self._need_number(operand, "'-'")
        return self._node(ir.Neg, NUMBER, e.span, operand=operand)

    def _need_number(self, operand: ir.Expr, what: str) -> None:
        if not self._applicable(operand, what):
            return
        if not is_number(operand.type):
            self.diags.error("E021", Msg(N_("{what} needs a number, not {type}"), what=what, type=_a(operand.type)), operand.span)

    def _x_Arith(self, e: ast.Arith, scope, expected):
        left = self._expr(e.left, scope)
        right = self._expr(e.right, scope)
        self._need_number(left, f"'{e.op}'")
        self._need_number(right, f"'{e.op}'")
        integer = e.op != "/" and all(isinstance(x.type, NumberT) and x.type.integer for x in (left, right))
        return self._node(ir.Arith, INTEGER if integer else NUMBER, e.span, op=e.op, left=left, right=right)

    def _pair(self, left: ast.Expr, right: ast.Expr, scope: _Scope) -> tuple[ir.Expr, ir.Expr]:
        if self._is_free_symbol(left, scope) and not self._is_free_symbol(right, scope):
            r = self._expr(right, scope)
            return self._expr(left, scope, r.type), r
        le = self._expr(left, scope)
        return le, self._expr(right, scope, le.type)

    def _x_Compare(self, e: ast.Compare, scope, expected):
        left, right = self._pair(e.left, e.right, scope)
        lt, rt = left.type, right.type
        if not (self._applicable(left, f"'{e.op}'") & self._applicable(right, f"'{e.op}'")):
            pass
        elif e.op in ("=", "!="):
            if not same_family(lt, rt):
                self.diags.error(
                    "E020",
                    Msg(N_("'{op}' compares {left} with {right}"), op=e.op, left=_a(lt), right=_a(rt)),
                    e.span,
                    hint=Msg(N_("both sides of a comparison must be of the same kind")),
                )
        else:
            ordered = (is_number(lt) and is_number(rt)) or (
                isinstance(lt, (DateT, AnyT)) and isinstance(rt, (DateT, AnyT))
            )
            if not ordered:
                self.diags.error(
                    "E020",
                    Msg(N_("'{op}' needs two numbers or two dates, not {left} and {right}"), op=e.op, left=_a(lt), right=_a(rt)),
                    e.span,
                )
        return self._node(ir.Compare, BOOL, e.span, op=e.op, left=left, right=right)

    def _x_Between(self, e: ast.Between, scope, expected):
        value = self._expr(e.value, scope)
        low = self._expr(e.low, scope)
        high = self._expr(e.high, scope)
        for x in (value, low, high):
            self._need_number(x, "'between'")
        first = self._node(ir.Compare, BOOL, e.span, op=">=", left=value, right=low)
        second = self._node(ir.Compare, BOOL, e.span, op="<=", left=value, right=high)
        return self._node(ir.Logic, BOOL, e.span, op="and", items=(first, second))

    def _x_In(self, e: ast.In, scope, expected):
        if self._is_free_symbol(e.item, scope) or isinstance(e.container, ast.Path):
            container = self._expr(e.container, scope)
            item = self._expr(e.item, scope, container.type.element if isinstance(container.type, ListT) else None)
        else:
            item = self._expr(e.item, scope)
            container = self._expr(e.container, scope, ListT(item.type))
        ct = container.type
        if not (self._applicable(item, "'in'") & self._applicable(container, "'in'")):
            pass
        elif not isinstance(ct, (ListT, AnyT)):
            self.diags.error("E020", Msg(N_("'in' needs a list or a set on its right, not {type}"), type=_a(ct)), e.container.span)
        elif isinstance(ct, ListT) and not same_family(item.type, ct.element):
            self.diags.error(
                "E020",
                Msg(N_("'in' looks for {item} in {container}"), item=_a(item.type), container=_a(ct)),
                e.span,
            )
        return self._node(ir.In, BOOL, e.span, item=item, container=container, negated=e.negated)

    def _logic(self, items: tuple[ast.Expr, ...], scope, op: str) -> tuple[ir.Expr, ...]:
        out = []
        for item in items:
            checked = self._expr(item, scope)
            if not self._applicable(checked, f"'{op}'"):
                pass
            elif not isinstance(checked.type, (BoolT, AnyT)):
                self.diags.error("E022", Msg(N_("'{op}' needs true/false values, not {type}"), op=op, type=_a(checked.type)), item.span)
            out.append(checked)
        return tuple(out)

    def _x_And(self, e: ast.And, scope, expected):
        return self._node(ir.Logic, BOOL, e.span, op="and", items=self._logic(e.items, scope, "and"))

    def _x_Or(self, e: ast.Or, scope, expected):
        return self._node(ir.Logic, BOOL, e.span, op="or", items=self._logic(e.items, scope, "or"))

    def _x_Not(self, e: ast.Not, scope, expected):
        (operand,) = self._logic((e.operand,), scope, "not")
        return self._node(ir.Not, BOOL, e.span, operand=operand)

    def _x_If(self, e: ast.If, scope, expected):
        cond = self._condition(e.cond, scope, Msg(N_("the condition of 'if'")))
        if self._is_free_symbol(e.then, scope) and not self._is_free_symbol(e.otherwise, scope):
            otherwise = self._expr(e.otherwise, scope, expected)
            then = self._expr(e.then, scope, expected if isinstance(otherwise.type, NotApplicableT) else otherwise.type)
        else:
            then = self._expr(e.then, scope, expected)
            otherwise = self._expr(e.otherwise, scope, expected if isinstance(then.type, NotApplicableT) else then.type)
        if isinstance(then.type, NotApplicableT):  # n/a is a member of every type: the other branch says which
            return self._node(ir.Cond, otherwise.type, e.span, cond=cond, then=then, otherwise=otherwise)
        if isinstance(otherwise.type, NotApplicableT):
            return self._node(ir.Cond, then.type, e.span, cond=cond, then=then, otherwise=otherwise)
        if not same_family(then.type, otherwise.type):
            self.diags.error(
                "E020",
                Msg(N_("the two branches of 'if' give {then} and {otherwise}"), then=_a(then.type), otherwise=_a(otherwise.type)),
                e.span,
            )
        type_ = then.type
        if isinstance(then.type, NumberT) and isinstance(otherwise.type, NumberT):
            type_ = INTEGER if then.type.integer and otherwise.type.integer else NUMBER
        return self._node(ir.Cond, type_, e.span, cond=cond, then=then, otherwise=otherwise)

    def _aggregate_input(self, arg: ast.Expr) -> ir.Input | None:
        if isinstance(arg, ast.Path) and len(arg.parts) == 1:
            name = arg.parts[0]
            for item in self.inputs.values():
                if item.kind != "record" and name in (item.entity, item.name):
                    return item
        return None

    def _x_Call(self, e: ast.Call, scope: _Scope, expected):
        target = self._aggregate_input(e.args[0]) if e.args else None
        if e.func in AGGREGATES and target is not None:
            return self._aggregate(e, target, scope)
        if e.where is not None:
            self.diags.error("E024", Msg(N_("'where' is only allowed in an aggregate over entities, not in {function}()"), function=e.func),
                             e.where.span)
        if e.func not in SCALAR_FUNCTIONS:
            if e.func in AGGREGATES:
                entities = [i.entity for i in self.inputs.values() if i.entity]
                self.diags.error(
                    "E024",
                    Msg(N_("{function}() needs entities as its first argument"), function=e.func),
                    e.span,
                    hint=Msg(N_("for example {function}({entity}, …)"), function=e.func, entity=entities[0] if entities else "usecase"),
                )
            else:
                self.diags.error(
                    "E025",
                    Msg(N_("unknown function '{name}'"), name=e.func),
                    e.span,
                    hint=_did_you_mean(e.func, sorted(SCALAR_FUNCTIONS | AGGREGATES)),
                )
            for arg in e.args:
                self._expr(arg, scope)
            return self._node(ir.Const, ANY, e.span, value=None)
        args = tuple(self._expr(a, scope) for a in e.args)
        return self._scalar(e, args)

    def _arity(self, e: ast.Call, args: tuple, low: int, high: int | None) -> bool:
        if len(args) < low or (high is not None and len(args) > high):
            if high == low:
                want: str = str(low)
            elif high is None:
                want = Msg(N_("at least {low}"), low=low)
            else:
                want = Msg(N_("{low} to {high}"), low=low, high=high)
            self.diags.error("E024", Msg(N_("{function}() takes {want} argument(s), not {n}"), function=e.func, want=want, n=len(args)), e.span)
            return False
        return True

    def _scalar(self, e: ast.Call, args: tuple[ir.Expr, ...]) -> ir.Expr:
        name = e.func
        type_: Type = NUMBER
        if name == "known":
            self._arity(e, args, 1, 1)
            type_ = BOOL
        elif name == "size":
            if self._arity(e, args, 1, 1) and not isinstance(args[0].type, (ListT, AnyT)):
                self.diags.error("E024", Msg(N_("size() counts the values of a list, not of {type}"), type=_a(args[0].type)), e.span)
            type_ = COUNT
        elif name == "round":
            if self._arity(e, args, 1, 2):
                self._need_number(args[0], "round()")
                if len(args) == 2 and not (isinstance(args[1], ir.Const) and isinstance(args[1].type, NumberT) and args[1].type.integer):
                    self.diags.error("E024", Msg(N_("round() takes a whole number of decimal places, e.g. round(x, 2)")), args[1].span)
                elif len(args) == 2 and not 0 <= args[1].value <= MAX_ROUND_PLACES:
                    self.diags.error(
                        "E024", Msg(N_("round() takes 0 to {most} decimal places, not {n}"), most=MAX_ROUND_PLACES, n=args[1].value), args[1].span
                    )
            type_ = INTEGER if len(args) == 1 else NUMBER
        elif name in ("abs", "floor", "ceil"):
            if self._arity(e, args, 1, 1):
                self._need_number(args[0], f"{name}()")
            type_ = INTEGER if name != "abs" else NUMBER
        elif name in ("min", "max"):
            if self._arity(e, args, 2, None):
                for arg in args:
                    self._need_number(arg, f"{name}()")
            integer = all(isinstance(arg.type, NumberT) and arg.type.integer for arg in args)
            type_ = INTEGER if integer else NUMBER
        return self._node(ir.Func, type_, e.span, name=name, args=args)

    def _aggregate(self, e: ast.Call, target: ir.Input, scope: _Scope) -> ir.Expr:
        inner = _Scope(target.name, Msg(N_("an aggregate over {entity}"), entity=target.entity))
        rest = e.args[1:]
        wanted = {"count": (0, 0), "weighted_mean": (2, 2)}.get(e.func, (1, 1))
        if not (wanted[0] <= len(rest) <= wanted[1]):
            shape = {
                "count": f"count({target.entity} where CONDITION)",
                "weighted_mean": f"weighted_mean({target.entity}, VALUE, WEIGHT)",
                "any": f"any({target.entity}, CONDITION)",
                "all": f"all({target.entity}, CONDITION)",
            }.get(e.func, f"{e.func}({target.entity}, VALUE)")
            self.diags.error("E024", Msg(N_("{function}() over entities is written {shape}"), function=e.func, shape=shape), e.span)
            return self._node(ir.Const, ANY, e.span, value=None)
        body = weight = where = None
        if rest:
            body = self._expr(rest[0], inner)
        if len(rest) > 1:
            weight = self._expr(rest[1], inner)
            self._need_number(weight, Msg(N_("the weight of weighted_mean()")))
        if e.where is not None:
            where = self._condition(e.where, inner, Msg(N_("the 'where' of an aggregate")))
        type_: Type = NUMBER
        if e.func in ("any", "all"):
            type_ = BOOL
            if body is not None and self._applicable(body, f"{e.func}()") and not isinstance(body.type, (BoolT, AnyT)):
                self.diags.error("E023", Msg(N_("{function}() needs a condition, not {type}"), function=e.func, type=_a(body.type)), body.span)
        elif e.func == "count":
            type_ = COUNT
        elif body is not None:
            self._need_number(body, f"{e.func}()")
            if e.func in ("sum", "min", "max") and isinstance(body.type, NumberT) and body.type.integer:
                type_ = INTEGER
        return self._node(ir.Aggregate, type_, e.span, kind=e.func, input_name=target.name, body=body, weight=weight, where=where)

    def _x_Rank(self, e: ast.Rank, scope: _Scope, expected):
        target = self._aggregate_input(ast.Path((e.entity,), span=e.span))
        if target is None:
            self.diags.error("E015", Msg(N_("unknown entity '{name}'"), name=e.entity), e.span)
            return self._node(ir.Const, ANY, e.span, value=None)
        if scope.entity != target.name:
            self.diags.error(
                "E017",
                Msg(N_("rank({entity} …) gives the position of the current {entity}: use it inside 'for each {entity}'"), entity=e.entity),
                e.span,
            )
        inner = _Scope(target.name, Msg(N_("rank over {entity}"), entity=target.entity))
        keys = []
        for key in e.keys:
            checked = self._expr(key.expr, inner)
            if not self._applicable(checked, "rank"):
                pass
            elif not isinstance(checked.type, (NumberT, TextT, DateT, AnyT)):
                self.diags.error("E020", Msg(N_("rank orders by numbers, texts or dates, not by {type}"), type=_a(checked.type)), key.span)
            keys.append((checked, key.descending))
        where = self._condition(e.where, inner, Msg(N_("the 'where' of rank()"))) if e.where is not None else None
        return self._node(ir.Rank, COUNT, e.span, input_name=target.name, keys=tuple(keys), where=where)

    # ================================================================ whole-policy checks
    def _check_cycles(self) -> None:
        graph = self.dependencies
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        def span_of(name: str) -> Span | None:
            decl = self.value_decls.get(name)
            return decl.span if decl else None

        # depth first with an explicit stack: a chain of definitions may be thousands long
        for root in sorted(graph):
            if root in state:
                continue
            state[root] = 1
            path = [root]
            pending = [iter(sorted(graph.get(root, ())))]
            while pending:
                nxt = next(pending[-1], None)
                if nxt is None:
                    pending.pop()
                    state[path.pop()] = 2
                elif state.get(nxt) == 1:
                    cycle = path[path.index(nxt) :] + [nxt]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        self.diags.error(
                            "E030",
                            Msg(N_("'{name}' depends on itself: {cycle}"), name=nxt, cycle=" → ".join(cycle)),
                            span_of(nxt),
                            hint=Msg(N_("a definition or decision may not read itself, directly or through others")),
                        )
                elif nxt not in state:
                    state[nxt] = 1
                    path.append(nxt)
                    pending.append(iter(sorted(graph.get(nxt, ()))))

    def _check_depth(self) -> None:
        """E031 when a value is computed through more than MAX_CHAIN_DEPTH levels.

        A level is an operation, or a definition or decision read (each counts with the
        levels of its own formula). Computed bottom-up in dependency order, without
        recursion; a cycle (already E030) counts as a dead end."""
        if self._depth_reported:
            return
        bodies: dict[str, list[ir.Expr]] = {}
        cited: dict[str, list[str]] = {}
        for name, definition in self.definitions.items():
            bodies[name] = [definition.expr]
        for name, decision in self.decisions.items():
            exprs: list[ir.Expr] = []
            for rule in decision.rules:
                exprs += [e for e in (rule.cond, rule.valid_from, rule.valid_until) if e is not None]
                exprs += [x.cond for x in rule.exceptions]
                refs = cited.setdefault(name, [])
                refs += [c.decision for c in rule.cites if c.decision]
                refs += [c.decision for x in rule.exceptions for c in x.cites if c.decision]
            bodies[name] = exprs
        for name, obligation in self.obligations.items():
            bodies[name] = [e for e in (obligation.cond, obligation.valid_from, obligation.valid_until) if e is not None]
        cost: dict[str, tuple[int, str | None]] = {}  # levels, and the name read on the deepest path
        for name in self._dependency_order(bodies):
            best: tuple[int, str | None] = (0, None)
            for expr in bodies[name]:
                best = max(best, _levels(expr, cost), key=lambda c: c[0])
            for other in cited.get(name, []):
                best = max(best, (1 + cost.get(other, (0, None))[0], other), key=lambda c: c[0])
            if name in self.decisions:
                best = (best[0] + 1, best[1])  # choosing among the rules is a level of its own
            cost[name] = best
        deepest = max(sorted(cost), key=lambda n: cost[n][0], default=None)
        if deepest is None or cost[deepest][0] <= MAX_CHAIN_DEPTH:
            return
        chain = [deepest]
        while (via := cost[chain[-1]][1]) is not None and via not in chain:
            chain.append(via)
        self._report_depth(chain)

    def _dependency_order(self, bodies: dict[str, list[ir.Expr]]) -> list[str]:
        """Every name after the names it depends on (post-order, explicit stack)."""
        graph = self.dependencies
        order: list[str] = []
        seen: set[str] = set()
        for root in sorted(bodies):
            if root in seen:
                continue
            seen.add(root)
            path = [root]
            pending = [iter(sorted(graph.get(root, ())))]
            while pending:
                nxt = next(pending[-1], None)
                if nxt is None:
                    pending.pop()
                    order.append(path.pop())
                elif nxt not in seen:
                    seen.add(nxt)
                    path.append(nxt)
                    pending.append(iter(sorted(graph.get(nxt, ()))))
        return [name for name in order if name in bodies]

    def _report_depth(self, chain: list[str], complete: bool = True) -> None:
        """One E031 per policy: fixing the deepest chain often fixes the others."""
        if self._depth_reported:
            return
        self._depth_reported = True
        shown = chain if len(chain) <= 8 else chain[:4] + ["…"] + chain[-3:]
        path = " → ".join(shown) + ("" if complete else " → …")
        decl = self.value_decls.get(chain[0])
        self.diags.error(
            "E031",
            Msg(N_("'{name}' is computed through definitions and decisions nested more than {most} levels deep"),
                name=chain[0], most=MAX_CHAIN_DEPTH),
            decl.span if decl else None,
            hint=Msg(N_("compute some of these values directly from the facts, so that fewer definitions read one another")),
            notes=((Msg(N_("each name read and each operation counts as a level: {path}"), path=path), None),),
        )

    def _warn_hidden_text(self) -> None:
        """W120 (lone CR) and W121 (bidi control) wherever they are — comments, strings: what a
        reviewer reads there is not what the parser reads (Trojan source). Reported even when
        the policy has errors; at most MAX_HIDDEN_WARNINGS per file and code."""
        for source in self.program.source_map.files():
            shown: Counter[str] = Counter()
            for line, column, ch in hidden_characters(source.text):
                code = "W120" if ch == "\r" else "W121"
                shown[code] += 1
                if shown[code] > MAX_HIDDEN_WARNINGS:
                    continue
                span = Span(source.name, line, column, line, column + 1)
                if code == "W120":
                    self.diags.warning(
                        "W120",
                        Msg(N_("a lone carriage return (CR): editors show what follows it on a new line, the parser reads it on this one")),
                        span,
                        hint=Msg(N_("run `stratdsl fmt` (it ends lines with LF only), or remove the character")),
                    )
                else:
                    name = BIDI_CONTROLS[ch]
                    self.diags.warning(
                        "W121",
                        Msg(N_("a bidirectional control character ({character}): it can make the text shown differ from the text read"),
                            character=f"U+{ord(ch):04X} {name}"),
                        span,
                        hint=Msg(N_("remove it; write right-to-left text without control characters")),
                    )
            for code, count in sorted(shown.items()):
                if count > MAX_HIDDEN_WARNINGS:
                    more = count - MAX_HIDDEN_WARNINGS
                    if more == 1:
                        message = Msg(N_("{n} more character of this kind in '{file}'"), n=more, file=source.name)
                    else:
                        message = Msg(N_("{n} more characters of this kind in '{file}'"), n=more, file=source.name)
                    self.diags.warning(code, message, Span(source.name, 0, 0, 0, 0))

    def _warn_unused(self, modules: list[ast.Module]) -> None:
        if self.diags.has_errors:
            return
        for item in self.inputs.values():
            for f in item.fields.values():
                if (item.name, f.name) not in self.used_fields and not isinstance(f.type, TextT):
                    self.diags.warning(
                        "W102",
                        Msg(N_("field '{field}' of input '{input}' is never read by any rule"), field=f.name, input=item.name),
                        f.span,
                        hint=Msg(N_("remove it, or use it in a definition or decision")),
                    )
        for d in self.definitions.values():
            if d.name not in self.used_names and d.meta.label is None:
                self.diags.warning(
                    "W103",
                    Msg(N_("definition '{name}' is never used"), name=d.name),
                    d.span,
                    hint=Msg(N_("give it a label to show it as a result, or remove it")),
                )
        for p in self.params.values():
            if p.name not in self.used_names:
                self.diags.warning("W106", Msg(N_("parameter '{name}' is never used"), name=p.name), p.span)


def _levels(expr: ir.Expr, cost: dict[str, tuple[int, str | None]]) -> tuple[int, str | None]:
    """The levels of one expression: operations nested, plus 1 + the cost of each name read.
    Post-order with an explicit stack; `cost` holds the names already measured."""
    value: dict[int, tuple[int, str | None]] = {}
    stack: list[tuple[ir.Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        kids = [c for c in node.children() if c is not None]
        if not ready:
            stack.append((node, True))
            stack.extend((k, False) for k in kids)
        elif isinstance(node, (ir.DefRef, ir.DecisionRef)):
            value[id(node)] = (1 + cost.get(node.name, (0, None))[0], node.name)
        elif kids:
            deepest = max((value[id(k)] for k in kids), key=lambda c: c[0])
            value[id(node)] = (1 + deepest[0], deepest[1])
        else:
            value[id(node)] = (0, None)
    return value[id(expr)]


def check(program: Program) -> tuple[ir.CheckedPolicy | None, list]:
    """Resolve and type the whole program; return the checked policy (None on errors) and all diagnostics."""
    with suggestions():  # the first unknown names get a "did you mean", not thousands
        return Checker(program).check()


def number_or_none(value: object) -> Decimal | None:
    return value if isinstance(value, Decimal) else None
