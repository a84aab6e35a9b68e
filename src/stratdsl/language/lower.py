"""Lowering: Lark parse tree → AST (`ast.Module`).

One method per grammar rule, named after the rule. A test checks that every
rule and alias of the grammar has a method here, since Lark would otherwise
silently keep a raw `Tree` for a rule we forgot.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

from lark import Token, Tree, v_args
from lark.visitors import Transformer_NonRecursive

from . import ast
from .diagnostics import Diagnostic, StratError
from .messages import N_, Msg
from .source import SourceFile, Span


def _unquote(token: Token, nfc: bool = True) -> str:
    """A string literal's value, in Unicode NFC: "Réunion" typed with a combining accent is
    the same text as with a precomposed é (assessment texts are normalised alike). Import
    paths keep their code points (`nfc=False`): a file name is the bytes on disk."""
    body = str(token)[1:-1]
    out = []
    chars = iter(body)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
        else:
            out.append(ch)
    text = "".join(out)
    return unicodedata.normalize("NFC", text) if nfc else text


# Non-recursive: a long `and`/`or` chain is a deep parse tree even though it lowers to
# one node (syntax.MAX_TERMS bounds it, syntax.MAX_NESTING bounds the rest).
@v_args(meta=True)
class _Lower(Transformer_NonRecursive):
    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file
        self.problems: list[Diagnostic] = []

    # -------------------------------------------------------------- helpers
    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 0, 0, 0, 0)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, token: Token) -> Span:
        return Span(self.file, token.line, token.column, token.end_line, token.end_column)

    def _date(self, token: Token) -> date:
        try:
            return date.fromisoformat(str(token))
        except ValueError:
            message = Msg(N_("'{date}' is not a valid date"), date=str(token))
            hint = Msg(N_("dates are written YYYY-MM-DD, e.g. 2026-08-02"))
            self.problems.append(Diagnostic("E003", message, self._tok_span(token), hint=hint))
            return date(1970, 1, 1)

    @staticmethod
    def _meta_of(items: list) -> ast.Meta:
        label = help_ = None
        express = None
        for item in items:
            if isinstance(item, tuple) and item[0] == "label":
                label = item[1]
            elif isinstance(item, tuple) and item[0] == "help":
                help_ = item[1]
            elif isinstance(item, tuple) and item[0] == "express":
                express = item[1]
        return ast.Meta(label=label, help=help_, express=express)

    @staticmethod
    def _of(items: list, kind: type) -> tuple:
        return tuple(i for i in items if isinstance(i, kind))

    # -------------------------------------------------------------- file
    def start(self, meta, children):
        header = children[0]
        imports = self._of(children[1:], ast.Import)
        decls = self._of(children[1:], ast.Decl)
        return ast.Module(self.file, header, imports, decls, span=self._span(meta))

    def header(self, meta, children):
        name, version, *rest = children
        return ast.Header(_unquote(name), _unquote(version), self._meta_of(rest), span=self._span(meta))

    def import_decl(self, meta, children):
        return ast.Import(_unquote(children[0], nfc=False), span=self._span(meta))

    def source_decl(self, meta, children):
        url = _unquote(children[2]) if len(children) > 2 else None
        return ast.SourceDecl(str(children[0]), _unquote(children[1]), url, span=self._span(meta))

    # -------------------------------------------------------------- metadata
    def lang_text(self, meta, children):
        return (str(children[0]), _unquote(children[1]))

    def _text(self, meta, pairs) -> ast.Text:
        values = dict(pairs)
        first = pairs[0][0] if pairs else None
        return ast.Text(fr=values.get("fr"), en=values.get("en"), first=first, span=self._span(meta))

    def label(self, meta, children):
        return ("label", self._text(meta, children))

    def help(self, meta, children):
        return ("help", self._text(meta, children))

    def express(self, meta, children):
        return ("express", int(Decimal(str(children[0]))))

    def inline_label(self, meta, children):
        fr = _unquote(children[0])
        en = children[1][1] if len(children) > 1 and children[1][0] == "en" else None
        first = "fr"
        if len(children) > 1 and children[1][0] == "fr":
            fr, en, first = children[1][1], fr, "en"
        return ast.Text(fr=fr, en=en, first=first, span=self._span(meta))

    def cite(self, meta, children):
        reference = _unquote(children[1]) if len(children) > 1 else None
        return ast.Citation(str(children[0]), reference, span=self._span(meta))

    # -------------------------------------------------------------- types
    def enum_decl(self, meta, children):
        name = str(children[0])
        values = self._of(children[1:], ast.EnumValue)
        return ast.EnumDecl(name, self._meta_of(children[1:]), values, span=self._span(meta))

    def enum_value(self, meta, children):
        return ast.EnumValue(str(children[0]), self._meta_of(children[1:]), span=self._span(meta))

    def signed_number(self, meta, children):
        text = "".join(str(c) for c in children)
        return Decimal(text)

    def range(self, meta, children):
        return (children[0], children[1])

    def _number_type(self, meta, children, integer: bool):
        low = high = None
        if children:
            low, high = children[0]
        return ast.NumberType(low, high, integer, span=self._span(meta))

    def number_type(self, meta, children):
        return self._number_type(meta, children, False)

    def integer_type(self, meta, children):
        return self._number_type(meta, children, True)

    def bool_type(self, meta, children):
        return ast.BoolType(span=self._span(meta))

    def text_type(self, meta, children):
        return ast.TextType(span=self._span(meta))

    def date_type(self, meta, children):
        return ast.DateType(span=self._span(meta))

    def enum_type(self, meta, children):
        return ast.EnumType(tuple(str(c) for c in children), span=self._span(meta))

    def named_type(self, meta, children):
        return ast.NamedType(str(children[0]), span=self._span(meta))

    def list_type(self, meta, children):
        return ast.ListType(children[0], span=self._span(meta))

    # -------------------------------------------------------------- inputs
    def many_kind(self, meta, children):
        return ("many", str(children[0]), None)

    def group_kind(self, meta, children):
        return ("group", str(children[0]), str(children[1]))

    def required(self, meta, children):
        return ("required", True)

    def fixed(self, meta, children):
        return ("fixed", True)

    def field_default(self, meta, children):
        return ("default", children[0])

    def ask_when(self, meta, children):
        return ("ask_when", children[0])

    def field(self, meta, children):
        name, type_, *options = children
        required = any(isinstance(o, tuple) and o[0] == "required" for o in options)
        default = next((o[1] for o in options if isinstance(o, tuple) and o[0] == "default"), None)
        fixed = any(isinstance(o, tuple) and o[0] == "fixed" for o in options)
        ask_when = next((o[1] for o in options if isinstance(o, tuple) and o[0] == "ask_when"), None)
        return ast.FieldDecl(str(name), type_, self._meta_of(options), required, default, fixed=fixed, ask_when=ask_when, span=self._span(meta))

    def input_decl(self, meta, children):
        name = str(children[0])
        kind, entity, over = "record", None, None
        rest = children[1:]
        if rest and isinstance(rest[0], tuple) and rest[0][0] in ("many", "group"):
            kind, entity, over = rest[0]
            rest = rest[1:]
        fields = self._of(rest, ast.FieldDecl)
        retired = self._of(rest, ast.RetiredField)
        return ast.InputDecl(name, kind, entity, over, self._meta_of(rest), fields, retired, span=self._span(meta))

    def retired_value(self, meta, children):
        return ("retired_value", str(children[0]), _unquote(children[1]))

    def retired(self, meta, children):
        name, hint, *values = children
        pairs = tuple((v[1], v[2]) for v in values)
        return ast.RetiredField(str(name), _unquote(hint), pairs, span=self._span(meta))

    # -------------------------------------------------------------- values
    def param_decl(self, meta, children):
        name, type_, default, *rest = children
        return ast.ParamDecl(
            str(name), type_, default, self._meta_of(rest), self._of(rest, ast.Citation), span=self._span(meta)
        )

    def for_each(self, meta, children):
        return ("for_each", str(children[0]))

    @staticmethod
    def _for_each(children) -> str | None:
        for c in children:
            if isinstance(c, tuple) and c[0] == "for_each":
                return c[1]
        return None

    def define_decl(self, meta, children):
        name = str(children[0])
        return ast.DefineDecl(
            name, self._for_each(children), self._meta_of(children[1:]), children[-1], span=self._span(meta)
        )

    # -------------------------------------------------------------- decisions
    def outcome_decl(self, meta, children):
        return ast.OutcomeDecl(str(children[0]), self._meta_of(children[1:]), span=self._span(meta))

    def rule_name(self, meta, children):
        return ("rule_name", str(children[0]))

    def valid_from(self, meta, children):
        return ("from", children[0])

    def valid_until(self, meta, children):
        return ("until", children[0])

    def exception(self, meta, children):
        return ast.Exception_(children[0], self._of(children[1:], ast.Citation), span=self._span(meta))

    def rule(self, meta, children):
        items = list(children)
        name = None
        if isinstance(items[0], tuple) and items[0][0] == "rule_name":
            name = items.pop(0)[1]
        outcome = str(items.pop(0))
        label = items.pop(0) if items and isinstance(items[0], ast.Text) else None
        when = items.pop(0)
        valid_from = next((i[1] for i in items if isinstance(i, tuple) and i[0] == "from"), None)
        valid_until = next((i[1] for i in items if isinstance(i, tuple) and i[0] == "until"), None)
        return ast.Rule(
            name,
            outcome,
            label,
            when,
            self._of(items, ast.Citation),
            valid_from,
            valid_until,
            self._of(items, ast.Exception_),
            span=self._span(meta),
        )

    def otherwise(self, meta, children):
        outcome = str(children[0])
        label = children[1] if len(children) > 1 and isinstance(children[1], ast.Text) else None
        return ast.Rule(None, outcome, label, None, self._of(children[1:], ast.Citation), span=self._span(meta))

    def decision_decl(self, meta, children):
        name = str(children[0])
        rules = [c for c in children if isinstance(c, ast.Rule)]
        otherwise = rules.pop() if rules and rules[-1].when is None else None
        return ast.DecisionDecl(
            name,
            self._for_each(children),
            self._meta_of(children[1:]),
            self._of(children, ast.OutcomeDecl),
            tuple(rules),
            otherwise,
            unique=any(isinstance(c, tuple) and c[0] == "unique" for c in children),
            span=self._span(meta),
        )

    def unique(self, meta, children):
        return ("unique", True)

    def band_below(self, meta, children):
        return ("below", children[0])

    def band_to(self, meta, children):
        return ("to", children[0])

    def band(self, meta, children):
        name = str(children[0])
        rest = children[1:]
        label = rest.pop(0) if rest and isinstance(rest[0], ast.Text) else None
        low = rest.pop(0)
        high, inclusive = None, False
        if rest and isinstance(rest[0], tuple):
            kind, high = rest.pop(0)
            inclusive = kind == "to"
        return ast.Band(name, label, low, high, inclusive, self._of(rest, ast.Citation), span=self._span(meta))

    def bands_decl(self, meta, children):
        name = str(children[0])
        on = next(c for c in children[1:] if isinstance(c, ast.Expr))
        return ast.BandsDecl(
            name,
            self._for_each(children),
            self._meta_of(children[1:]),
            on,
            self._of(children, ast.Band),
            span=self._span(meta),
        )

    def assert_decl(self, meta, children):
        name = str(children[0])
        monotone = next((c for c in children[1:] if isinstance(c, ast.Monotone)), None)
        expr = next((c for c in children[1:] if isinstance(c, ast.Expr)), ast.BoolLit(True))
        return ast.AssertDecl(
            name,
            self._for_each(children),
            self._meta_of(children[1:]),
            expr,
            self._of(children, ast.Citation),
            monotone,
            span=self._span(meta),
        )

    def monotone(self, meta, children):
        return ast.Monotone(str(children[0]), tuple(children[1:]), span=self._span(meta))

    def fact_path(self, meta, children):
        return ".".join(str(c) for c in children)

    def obligation_decl(self, meta, children):
        name = str(children[0])
        when = next(c for c in children[1:] if isinstance(c, ast.Expr))
        valid_from = next((i[1] for i in children if isinstance(i, tuple) and i[0] == "from"), None)
        valid_until = next((i[1] for i in children if isinstance(i, tuple) and i[0] == "until"), None)
        return ast.ObligationDecl(
            name,
            self._for_each(children),
            self._meta_of(children[1:]),
            when,
            self._of(children, ast.Citation),
            valid_from,
            valid_until,
            span=self._span(meta),
        )

    # -------------------------------------------------------------- expressions
    def if_expr(self, meta, children):
        return ast.If(children[0], children[1], children[2], span=self._span(meta))

    def or_op(self, meta, children):
        left, right = children
        items = left.items if isinstance(left, ast.Or) else (left,)
        return ast.Or(items + (right,), span=self._span(meta))

    def and_op(self, meta, children):
        left, right = children
        items = left.items if isinstance(left, ast.And) else (left,)
        return ast.And(items + (right,), span=self._span(meta))

    def not_op(self, meta, children):
        return ast.Not(children[0], span=self._span(meta))

    def compare(self, meta, children):
        return ast.Compare(str(children[1]), children[0], children[2], span=self._span(meta))

    def in_op(self, meta, children):
        return ast.In(children[0], children[1], False, span=self._span(meta))

    def not_in_op(self, meta, children):
        return ast.In(children[0], children[1], True, span=self._span(meta))

    def is_applicable(self, meta, children):
        return ast.IsApplicable(children[0], False, span=self._span(meta))

    def is_not_applicable(self, meta, children):
        return ast.IsApplicable(children[0], True, span=self._span(meta))

    def not_applicable(self, meta, children):
        return ast.NotApplicable(children[0], span=self._span(meta))

    def between(self, meta, children):
        return ast.Between(children[0], children[1], children[2], span=self._span(meta))

    def arith(self, meta, children):
        return ast.Arith(str(children[1]), children[0], children[2], span=self._span(meta))

    def neg(self, meta, children):
        operand = children[0]
        if isinstance(operand, ast.NumberLit):
            return ast.NumberLit(-operand.value, span=self._span(meta))
        return ast.Neg(operand, span=self._span(meta))

    def number_lit(self, meta, children):
        return ast.NumberLit(Decimal(str(children[0])), span=self._span(meta))

    def neg_number_lit(self, meta, children):
        return ast.NumberLit(-Decimal(str(children[0])), span=self._span(meta))

    def string_lit(self, meta, children):
        return ast.StringLit(_unquote(children[0]), span=self._span(meta))

    def date_lit(self, meta, children):
        return ast.DateLit(self._date(children[0]), span=self._span(meta))

    def true_lit(self, meta, children):
        return ast.BoolLit(True, span=self._span(meta))

    def false_lit(self, meta, children):
        return ast.BoolLit(False, span=self._span(meta))

    def symbol_lit(self, meta, children):
        return ast.Path((str(children[0]),), span=self._span(meta))

    def name_ref(self, meta, children):
        return ast.Path((str(children[0]),), span=self._span(meta))

    def path(self, meta, children):
        return ast.Path(tuple(str(c) for c in children), span=self._span(meta))

    def where_clause(self, meta, children):
        return ("where", children[0])

    def call(self, meta, children):
        name = str(children[0])
        where = next((c[1] for c in children[1:] if isinstance(c, tuple)), None)
        args = tuple(c for c in children[1:] if isinstance(c, ast.Expr))
        return ast.Call(name, args, where, span=self._span(meta))

    def sort_key(self, meta, children):
        descending = len(children) > 1 and str(children[1]) == "desc"
        return ast.SortKey(children[0], descending, span=self._span(meta))

    def rank_call(self, meta, children):
        entity = str(children[0])
        where = next((c[1] for c in children[1:] if isinstance(c, tuple)), None)
        keys = tuple(c for c in children[1:] if isinstance(c, ast.SortKey))
        return ast.Rank(entity, keys, where, span=self._span(meta))

    def set_lit(self, meta, children):
        return ast.SetLit(tuple(c for c in children if c is not None), span=self._span(meta))


def lower(tree: Tree, source: SourceFile) -> ast.Module:
    """Turn one file's parse tree into its AST; raise StratError on lowering problems."""
    transformer = _Lower(source.name)
    module = transformer.transform(tree)
    if transformer.problems:
        raise StratError(transformer.problems)
    return module
