"""Declarations of a policy, name resolution at a position, hover text and completion items.

The index is built from the AST of every loaded module, so it exists as soon
as the policy parses, even when it does not check. What is under the cursor is
read from the tokens of the editor's current text (`tokens`), so that a name
is found while the text around it is half typed; names are then looked up the
way the checker resolves them: in an entity scope (`for each`, or inside an
aggregate over entities) a field first, then definitions, decisions,
parameters and inputs; `organization.x` and `maturity.governance.x` through
the input; a bare enum symbol from the other side of `=`/`!=`/`in`.

Positions here are 1-based lines and columns (code points), like `Span`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..language import ast, ir
from ..language.checker import AGGREGATES, BUILTIN_NAMES, citation_text
from ..language.source import SourceFile, Span
from ..language.types import EnumT, ListT
from .tokens import DeclContext, Token, decl_at, index_at, open_calls, path_around, tokenize

ENTITY_FUNCTIONS = AGGREGATES | {"rank"}
TYPE_WORDS = ("number", "integer", "bool", "text", "date", "enum", "list")
META_WORDS = {"label", "help", "express", "fr", "en", "required"}
EXPR_KEYWORDS = ("and", "or", "not", "in", "between", "if", "then", "else", "true", "false", "where", "by", "asc", "desc")
RULE_KEYWORDS = ("when", "cites", "from", "until", "unless", "rule", "outcome", "otherwise")
TOP_KEYWORDS = ("policy", "import", "source", "enum", "input", "param", "define", "decision", "bands", "obligation", "assert")

FUNCTIONS = {
    "round": "round(x) or round(x, n): rounded half-up, to n decimal places",
    "abs": "abs(x): absolute value",
    "floor": "floor(x): largest integer not above x",
    "ceil": "ceil(x): smallest integer not below x",
    "min": "min(a, b, …), or min(ENTITY, expr [where c]) over entities",
    "max": "max(a, b, …), or max(ENTITY, expr [where c]) over entities",
    "known": "known(x): whether the fact x is known",
    "size": "size(list): how many values a list holds",
    "count": "count(ENTITY [where c]): how many entities",
    "sum": "sum(ENTITY, expr [where c])",
    "mean": "mean(ENTITY, expr [where c])",
    "weighted_mean": "weighted_mean(ENTITY, value, weight [where c])",
    "any": "any(ENTITY, condition [where c])",
    "all": "all(ENTITY, condition [where c])",
    "rank": "rank(ENTITY by expr desc, expr2 asc [where c]): position of the current entity (0 when it fails the where)",
}
BUILTINS = {
    "id": "id: the identifier of the current entity (inside `for each`)",
    "as_of": "as_of: the date the policy is evaluated at",
}


@dataclass(frozen=True)
class Symbol:
    """A name and what it refers to."""

    kind: str  # field input enum enum_value param definition decision bands obligation source outcome function builtin
    name: str
    span: Span | None = None  # its declaration (None for built-ins)
    decl: object = None  # the AST node declaring it
    owner: str | None = None  # field → input; enum_value → enum (or "input.field"); outcome → decision


@dataclass(frozen=True)
class Item:
    """A completion proposal."""

    label: str
    kind: str  # as Symbol.kind, plus keyword and type
    detail: str | None = None
    documentation: str | None = None
    rank: int = 5  # lower first


# ====================================================================== index


class Index:
    """Every declaration of the loaded modules, by name (the first one wins, as in the checker)."""

    def __init__(self, modules: Iterable[ast.Module], policy: ir.CheckedPolicy | None = None) -> None:
        self.policy = policy
        self.inputs: dict[str, ast.InputDecl] = {}
        self.enums: dict[str, ast.EnumDecl] = {}
        self.params: dict[str, ast.ParamDecl] = {}
        self.definitions: dict[str, ast.DefineDecl] = {}
        self.decisions: dict[str, ast.DecisionDecl | ast.BandsDecl] = {}
        self.obligations: dict[str, ast.ObligationDecl] = {}
        self.sources: dict[str, ast.SourceDecl] = {}
        self.values: dict[str, ast.Decl] = {}  # every name an expression may read, entity names → their input
        for module in modules:
            for decl in module.decls:
                table = {
                    ast.InputDecl: self.inputs,
                    ast.EnumDecl: self.enums,
                    ast.ParamDecl: self.params,
                    ast.DefineDecl: self.definitions,
                    ast.DecisionDecl: self.decisions,
                    ast.BandsDecl: self.decisions,
                    ast.ObligationDecl: self.obligations,
                    ast.SourceDecl: self.sources,
                }.get(type(decl))
                if table is not None:
                    table.setdefault(decl.name, decl)
                if not isinstance(decl, (ast.EnumDecl, ast.SourceDecl)):
                    self.values.setdefault(decl.name, decl)
                if isinstance(decl, ast.InputDecl) and decl.entity:
                    self.values.setdefault(decl.entity, decl)

    def entity_input(self, name: str | None) -> ast.InputDecl | None:
        """`usecase` or `usecases` → the many/group input."""
        if name is None:
            return None
        for item in self.inputs.values():
            if item.kind != "record" and name in (item.name, item.entity):
                return item
        return None

    def head_input(self, name: str) -> ast.InputDecl | None:
        """The input a dotted path starts from: `organization.x`, `maturity.governance.x`."""
        decl = self.values.get(name)
        return decl if isinstance(decl, ast.InputDecl) else None

    def field(self, input_name: str | None, name: str) -> Symbol | None:
        item = self.inputs.get(input_name or "")
        if item is None:
            return None
        for f in item.fields:
            if f.name == name:
                return Symbol("field", name, f.span, f, item.name)
        return None

    def decl_symbol(self, name: str) -> Symbol | None:
        decl = self.values.get(name)
        if decl is None:
            return None
        kind = {
            ast.InputDecl: "input",
            ast.ParamDecl: "param",
            ast.DefineDecl: "definition",
            ast.DecisionDecl: "decision",
            ast.BandsDecl: "bands",
            ast.ObligationDecl: "obligation",
        }.get(type(decl), "input")
        return Symbol(kind, name, decl.span, decl)

    def owner_scope(self, decl: ast.Decl) -> str | None:
        """The input a definition or decision is computed for (None: global)."""
        for_each = getattr(decl, "for_each", None)
        item = self.entity_input(for_each)
        return item.name if item else None

    # ------------------------------------------------------------ values of enums and decisions
    def outcomes(self, name: str) -> list[Symbol]:
        decl = self.decisions.get(name)
        if isinstance(decl, ast.BandsDecl):
            return [Symbol("outcome", b.name, b.span, b, name) for b in decl.bands]
        if not isinstance(decl, ast.DecisionDecl):
            return []
        if decl.outcomes:
            return _unique(Symbol("outcome", o.name, o.span, o, name) for o in decl.outcomes)
        rules = list(decl.rules) + ([decl.otherwise] if decl.otherwise else [])
        return _unique(Symbol("outcome", r.outcome, r.span, r, name) for r in rules)

    def outcome_label(self, decision: str, outcome: str) -> ast.Text | None:
        """As the checker: the `outcome` declaration's label, else the first inline label of a rule."""
        decl = self.decisions.get(decision)
        if isinstance(decl, ast.BandsDecl):
            return next((b.label for b in decl.bands if b.name == outcome), None)
        if not isinstance(decl, ast.DecisionDecl):
            return None
        for o in decl.outcomes:
            if o.name == outcome and o.meta.label is not None:
                return o.meta.label
        rules = list(decl.rules) + ([decl.otherwise] if decl.otherwise else [])
        return next((r.label for r in rules if r.outcome == outcome and r.label is not None), None)

    def type_values(self, type_: ast.TypeExpr | None, owner: ast.Decl | None, owner_name: str) -> list[Symbol]:
        """The symbols of an enum type (or of the element type of a list)."""
        if isinstance(type_, ast.ListType):
            return self.type_values(type_.element, owner, owner_name)
        if isinstance(type_, ast.NamedType) and type_.name in self.enums:
            enum = self.enums[type_.name]
            return [Symbol("enum_value", v.name, v.span, v, enum.name) for v in enum.values]
        if isinstance(type_, ast.EnumType):
            span = owner.span if owner is not None else type_.span
            return [Symbol("enum_value", v, span, owner, owner_name) for v in type_.values]
        return []

    def values_of(self, symbol: Symbol | None) -> list[Symbol]:
        """The symbols a value of `symbol` may be compared with: outcomes, enum values."""
        if symbol is None:
            return []
        if symbol.kind in ("decision", "bands"):
            return self.outcomes(symbol.name)
        if symbol.kind == "field" and isinstance(symbol.decl, ast.FieldDecl):
            return self.type_values(symbol.decl.type, symbol.decl, f"{symbol.owner}.{symbol.name}")
        if symbol.kind == "param" and isinstance(symbol.decl, ast.ParamDecl):
            return self.type_values(symbol.decl.type, symbol.decl, f"param {symbol.name}")
        if symbol.kind == "definition" and self.policy is not None and symbol.name in self.policy.definitions:
            type_ = self.policy.definitions[symbol.name].expr.type
            if isinstance(type_, ListT):
                type_ = type_.element
            if isinstance(type_, EnumT):
                if type_.name.startswith("decision "):
                    return self.outcomes(type_.name.removeprefix("decision "))
                if type_.name in self.enums:
                    return self.type_values(ast.NamedType(type_.name), None, type_.name)
                return [Symbol("enum_value", v, symbol.span, symbol.decl, type_.name) for v in type_.values]
        return []

    def any_value(self, name: str) -> Symbol | None:
        """An enum symbol or outcome with this name, when nothing tells which enum it belongs to."""
        for enum in self.enums.values():
            for v in enum.values:
                if v.name == name:
                    return Symbol("enum_value", v.name, v.span, v, enum.name)
        for decision in self.decisions:
            for o in self.outcomes(decision):
                if o.name == name:
                    return o
        for item in self.inputs.values():
            for f in item.fields:
                for v in self.type_values(f.type, f, f"{item.name}.{f.name}"):
                    if v.name == name:
                        return v
        for p in self.params.values():
            for v in self.type_values(p.type, p, f"param {p.name}"):
                if v.name == name:
                    return v
        return None


def _unique(symbols: Iterable[Symbol]) -> list[Symbol]:
    seen: dict[str, Symbol] = {}
    for s in symbols:
        seen.setdefault(s.name, s)
    return list(seen.values())


# ====================================================================== resolution


class Cursor:
    """The editor's text around a position: tokens, the declaration, the entity scope."""

    def __init__(self, text: str, line: int, col: int) -> None:
        self.text = text
        self.line = line
        self.col = col
        self.tokens = tokenize(text)

    def decl(self, index: int) -> DeclContext | None:
        return decl_at(self.tokens, index)

    def scope(self, index: int, idx: Index, decl: DeclContext | None = None) -> str | None:
        """The input whose entity `for each` or an enclosing aggregate makes current at token `index`
        (in `decl`, by default the declaration token `index` belongs to)."""
        decl = decl or self.decl(index)
        start = decl.start if decl else 0
        for call in reversed(open_calls(self.tokens, start, index)):
            if call.func in ENTITY_FUNCTIONS and call.first is not None and call.first < index:
                item = idx.entity_input(self.tokens[call.first].text)
                if item is not None:
                    return item.name
        if decl is not None and decl.for_each:
            item = idx.entity_input(decl.for_each)
            return item.name if item else None
        return None

    def depth(self, start: int, stop: int) -> int:
        depth = 0
        for token in self.tokens[start:stop]:
            if token.is_op("{"):
                depth += 1
            elif token.is_op("}"):
                depth -= 1
        return depth


def resolve(idx: Index, cursor: Cursor, i: int, hints: bool = True) -> Symbol | None:
    """What the name token `i` refers to."""
    tokens = cursor.tokens
    token = tokens[i]
    if token.kind != "name":
        return None
    name = token.text
    prev = tokens[i - 1] if i > 0 else None
    prev2 = tokens[i - 2] if i > 1 else None
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    decl = cursor.decl(i)

    # ---- names being declared, and the places where only one kind of name may stand
    if decl is not None and i == decl.start + 1:
        return _declared(idx, decl.keyword, name)
    if prev is not None and prev.is_name("cites"):
        source = idx.sources.get(name)
        if source is not None:
            return Symbol("source", name, source.span, source)
        return idx.decl_symbol(name)
    if prev is not None and (
        prev.is_name("over")
        or prev.is_name("of")
        or (prev.is_op(":") and decl and decl.keyword in ("input", "param") and i > decl.start + 2)
    ):
        if name in idx.enums:
            return Symbol("enum", name, idx.enums[name].span, idx.enums[name])
        return None
    if prev is not None and prev.is_name("each") and prev2 is not None and prev2.is_name("for"):
        item = idx.entity_input(name)
        return Symbol("input", item.name, item.span, item) if item else None
    if prev is not None and (prev.is_name("many") or prev.is_name("group")) and decl and decl.keyword == "input":
        return idx.decl_symbol(decl.name or "")
    if decl is not None and decl.keyword == "input" and nxt is not None and nxt.is_op(":") and cursor.depth(decl.start, i) > 0:
        return idx.field(decl.name, name)
    if (
        decl is not None
        and decl.keyword == "enum"
        and cursor.depth(decl.start, i) > 0
        and name not in META_WORDS
        and (prev is None or prev.kind != "name" or prev.text not in ("fr", "en"))
    ):
        enum = idx.enums.get(decl.name or "")
        value = next((v for v in enum.values if v.name == name), None) if enum else None
        return Symbol("enum_value", name, value.span, value, enum.name) if value and enum else None
    if decl is not None and decl.keyword in ("decision", "bands") and _outcome_position(tokens, i, decl, cursor):
        return next((o for o in idx.outcomes(decl.name or "") if o.name == name), None)
    if prev is not None and prev.is_name("rule"):
        return None  # a rule's name: the hover shows the rule
    for call in open_calls(tokens, decl.start if decl else 0, i + 1):
        if call.first == i and call.func in ENTITY_FUNCTIONS:
            item = idx.entity_input(name)
            if item is not None:
                return Symbol("input", item.name, item.span, item)

    # ---- dotted paths
    parts, position, _ = path_around(tokens, i)
    if len(parts) > 1:
        return _dotted(idx, parts, position)

    # ---- one name in an expression
    if name in BUILTIN_NAMES:
        return Symbol("builtin", name)
    if nxt is not None and nxt.is_op("(") and name in FUNCTIONS:
        return Symbol("function", name)
    scope = cursor.scope(i, idx)
    found = idx.field(scope, name) if scope else None
    if found is None:
        found = idx.decl_symbol(name)
    if found is not None:
        return found
    if hints:
        for other in _comparison_partners(tokens, i):
            for value in idx.values_of(resolve(idx, cursor, other, hints=False)):
                if value.name == name:
                    return value
        if decl is not None and decl.keyword == "param" and prev is not None and prev.is_op("="):
            param = idx.params.get(decl.name or "")
            for value in idx.type_values(param.type if param else None, param, f"param {decl.name}"):
                if value.name == name:
                    return value
    value = idx.any_value(name)
    if value is not None:
        return value
    if name in idx.sources:
        return Symbol("source", name, idx.sources[name].span, idx.sources[name])
    if name in idx.enums:
        return Symbol("enum", name, idx.enums[name].span, idx.enums[name])
    return None


def _declared(idx: Index, keyword: str, name: str) -> Symbol | None:
    if keyword == "enum" and name in idx.enums:
        return Symbol("enum", name, idx.enums[name].span, idx.enums[name])
    if keyword == "source" and name in idx.sources:
        return Symbol("source", name, idx.sources[name].span, idx.sources[name])
    if keyword in ("input", "param", "define", "decision", "bands", "obligation"):
        return idx.decl_symbol(name)
    return None


def _outcome_position(tokens: list[Token], i: int, decl: DeclContext, cursor: Cursor) -> bool:
    """An outcome or band name: `outcome X`, `X when`, `X "label"`, `otherwise X`, `rule r: X`, a band `X from`."""
    if cursor.depth(decl.start, i) <= 0:
        return False
    prev = tokens[i - 1] if i > 0 else None
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if prev is not None and (prev.is_name("outcome") or prev.is_name("otherwise")):
        return True
    if prev is not None and prev.is_op(":") and i >= 3 and tokens[i - 3].is_name("rule"):
        return True
    if prev is not None and (prev.is_name("cites") or prev.is_op(".")):
        return False
    if nxt is None:
        return False
    if nxt.is_name("when"):
        return True
    if nxt.kind == "string" and (prev is None or not prev.is_name("cites")):
        return True
    return decl.keyword == "bands" and nxt.is_name("from")


def _dotted(idx: Index, parts: list[str], position: int) -> Symbol | None:
    head = idx.head_input(parts[0])
    if head is None:
        return None
    if position == 0:
        return Symbol("input", head.name, head.span, head)
    if head.kind == "record" and position == 1:
        return idx.field(head.name, parts[1])
    if head.kind == "group" and position == 1:
        enum = idx.enums.get(head.over or "")
        value = next((v for v in enum.values if v.name == parts[1]), None) if enum else None
        return Symbol("enum_value", value.name, value.span, value, enum.name) if value and enum else None
    if head.kind == "group" and position == 2:
        found = idx.field(head.name, parts[2])
        if found is not None:
            return found
        decl = idx.values.get(parts[2])
        if isinstance(decl, (ast.DefineDecl, ast.DecisionDecl, ast.BandsDecl)) and idx.owner_scope(decl) == head.name:
            return idx.decl_symbol(parts[2])
    return None


def _comparison_partners(tokens: list[Token], i: int) -> list[int]:
    """Name tokens on the other side of `=`, `!=`, `in` or `not in` from token i (or from the set literal it is in)."""
    out = []
    start = i
    # inside `x in {a, b}`: step back to the `{`
    k = i - 1
    while k >= 1 and (tokens[k].is_op(",") or tokens[k].kind == "name") and not tokens[k].is_name("in"):
        k -= 1
    if k >= 1 and tokens[k].is_op("{"):
        start = k
    before = tokens[start - 1] if start >= 1 else None
    if before is not None and (before.is_op("=") or before.is_op("!=") or before.is_name("in")) and start >= 2:
        j = start - 2
        if tokens[j].is_name("not") and j >= 1:
            j -= 1
        if tokens[j].kind == "name":
            out.append(j)
    if i + 2 < len(tokens):
        op = tokens[i + 1]
        if op.is_op("=") or op.is_op("!=") or op.is_name("in"):
            if tokens[i + 2].kind == "name":
                out.append(_path_end(tokens, i + 2))
        elif op.is_name("not") and tokens[i + 2].is_name("in") and i + 3 < len(tokens) and tokens[i + 3].kind == "name":
            out.append(_path_end(tokens, i + 3))
    return out


def _path_end(tokens: list[Token], i: int) -> int:
    while i + 2 < len(tokens) and tokens[i + 1].is_op(".") and tokens[i + 2].kind == "name":
        i += 2
    return i


def symbol_at(idx: Index, text: str, line: int, col: int) -> tuple[Symbol | None, Token | None]:
    cursor = Cursor(text, line, col)
    i = index_at(cursor.tokens, line, col)
    if i is None or cursor.tokens[i].kind != "name":
        return None, cursor.tokens[i] if i is not None else None
    return resolve(idx, cursor, i), cursor.tokens[i]


# ====================================================================== hover


def _contains(span: Span, line: int, col: int) -> bool:
    return span.line > 0 and (span.line, span.column) <= (line, col) < (span.end_line, span.end_column)


def rule_at(module: ast.Module | None, line: int, col: int) -> tuple[ast.Decl, object] | None:
    """The rule (or band) of a decision at a position, with its decision."""
    if module is None:
        return None
    for decl in module.decls:
        if not _contains(decl.span, line, col):
            continue
        if isinstance(decl, ast.DecisionDecl):
            for rule in list(decl.rules) + ([decl.otherwise] if decl.otherwise else []):
                if _contains(rule.span, line, col):
                    return decl, rule
        if isinstance(decl, ast.BandsDecl):
            for band in decl.bands:
                if _contains(band.span, line, col):
                    return decl, band
    return None


def in_rule_head(rule: object, line: int, col: int) -> bool:
    """Before the `when` of a rule: `rule NAME: OUTCOME "label"`; all of an `otherwise` or a band."""
    if not isinstance(rule, ast.Rule) or rule.when is None:
        return True
    return (line, col) < (rule.when.span.line, rule.when.span.column)


def hover(idx: Index, text: str, line: int, col: int, module: ast.Module | None, texts: dict[str, str]) -> str | None:
    """Markdown for the hover at a position: the name under the cursor, or the rule around it."""
    symbol, _ = symbol_at(idx, text, line, col)
    found = rule_at(module, line, col)
    if found is not None:
        decision, rule = found
        if symbol is None or (in_rule_head(rule, line, col) and symbol.kind == "outcome"):
            return describe_rule(idx, decision, rule, texts)
    if symbol is not None:
        return describe(idx, symbol)
    return None


def text_lines(text: ast.Text | None) -> list[str]:
    if text is None:
        return []
    out = []
    if text.fr:
        out.append(f"fr: {text.fr}")
    if text.en:
        out.append(f"en: {text.en}")
    return out


def type_text(type_: ast.TypeExpr | None) -> str:
    if isinstance(type_, ast.NumberType):
        return "integer" if type_.integer else "number"
    if isinstance(type_, ast.BoolType):
        return "bool"
    if isinstance(type_, ast.TextType):
        return "text"
    if isinstance(type_, ast.DateType):
        return "date"
    if isinstance(type_, ast.EnumType):
        return "enum {" + ", ".join(type_.values) + "}"
    if isinstance(type_, ast.NamedType):
        return type_.name
    if isinstance(type_, ast.ListType):
        return "list of " + type_text(type_.element)
    return "?"


def range_text(type_: ast.TypeExpr | None) -> str | None:
    if isinstance(type_, ast.NumberType) and (type_.low is not None or type_.high is not None):
        return f"{'' if type_.low is None else type_.low}..{'' if type_.high is None else type_.high}"
    return None


def value_text(expr: ast.Expr | None) -> str:
    if isinstance(expr, ast.NumberLit):
        return str(expr.value)
    if isinstance(expr, ast.StringLit):
        return f'"{expr.value}"'
    if isinstance(expr, ast.DateLit):
        return expr.value.isoformat()
    if isinstance(expr, ast.BoolLit):
        return "true" if expr.value else "false"
    if isinstance(expr, ast.Path):
        return expr.dotted
    return "…"


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _meta_lines(meta: ast.Meta | None) -> list[str]:
    if meta is None:
        return []
    out = text_lines(meta.label)
    if meta.help is not None:
        out += [f"help ({lang}): {value}" for lang, value in (("fr", meta.help.fr), ("en", meta.help.en)) if value]
    return out


def citation_lines(idx: Index, cites: Iterable[ast.Citation]) -> list[str]:
    out = []
    for c in cites:
        source = idx.sources.get(c.source)
        if source is None and c.reference is None and c.source in idx.decisions:
            out.append(f"cites the citations of decision `{c.source}`")
            continue
        checked = ir.Source(source.name, source.title, source.url, source.span) if source else None
        out.append(f"cites {citation_text(checked, c.reference, c.source)}")
    return out


def date_text(idx: Index, expr: ast.Expr | None) -> str:
    if isinstance(expr, ast.Path) and len(expr.parts) == 1:
        param = idx.params.get(expr.parts[0])
        if param is not None:
            return f"`{expr.dotted}` (parameter, default {value_text(param.default)})"
        return f"`{expr.dotted}`"
    return value_text(expr)


def rule_ids(decision: ast.DecisionDecl) -> dict[int, str]:
    """As the checker names rules: `decision.NAME`, else `decision.OUTCOME`, `…_2` for repeats."""
    ids: dict[int, str] = {}
    taken: list[str] = []
    for rule in list(decision.rules) + ([decision.otherwise] if decision.otherwise else []):
        base = rule.name or rule.outcome
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.append(candidate)
        ids[id(rule)] = f"{decision.name}.{candidate}"
    return ids


def describe_rule(idx: Index, decision: ast.Decl, rule: object, texts: dict[str, str]) -> str:
    if isinstance(rule, ast.Band):
        upper = "" if rule.high is None else (f" to {rule.high}" if rule.inclusive_high else f" below {rule.high}")
        lines = [f"from {rule.low}{upper}"]
        lines += text_lines(idx.outcome_label(decision.name, rule.name) or rule.label)
        lines += citation_lines(idx, rule.cites)
        return f"**band** `{decision.name}.{rule.name}` → outcome **{rule.name}**\n\n" + _bullets(lines)
    assert isinstance(rule, ast.Rule) and isinstance(decision, ast.DecisionDecl)
    rule_id = rule_ids(decision).get(id(rule), f"{decision.name}.{rule.outcome}")
    head = "**otherwise**" if rule.when is None else f"**rule** `{rule_id}`"
    lines = text_lines(idx.outcome_label(decision.name, rule.outcome))
    if not lines:
        lines.append("(the outcome has no label)")
    lines += citation_lines(idx, rule.cites)
    if rule.valid_from is not None:
        lines.append(f"from {date_text(idx, rule.valid_from)}")
    if rule.valid_until is not None:
        lines.append(f"until {date_text(idx, rule.valid_until)}")
    for exc in rule.exceptions:
        cond = _source_text(texts, exc.cond.span)
        cites = "; ".join(citation_lines(idx, exc.cites))
        lines.append(f"unless `{cond}`" + (f" — {cites}" if cites else ""))
    return f"{head} → outcome **{rule.outcome}**\n\n" + _bullets(lines)


def _source_text(texts: dict[str, str], span: Span) -> str:
    text = texts.get(span.file)
    if text is None:
        return "…"
    return " ".join(SourceFile(span.file, text).slice(span).split())


def describe(idx: Index, symbol: Symbol) -> str:
    """Markdown for a symbol: what it is, its label, and what matters for its kind."""
    decl = symbol.decl
    name = symbol.name
    lines: list[str] = []
    if symbol.kind == "field" and isinstance(decl, ast.FieldDecl):
        item = idx.inputs.get(symbol.owner or "")
        of = f"{item.entity} (input `{item.name}`)" if item and item.entity else f"`{symbol.owner}`"
        head = f"**{name}** — field of {of}"
        lines.append(f"type: `{type_text(decl.type)}`")
        rng = range_text(decl.type)
        if rng:
            lines.append(f"range: {rng}")
        if decl.required:
            lines.append("required")
        lines += _meta_lines(decl.meta)
        values = idx.type_values(decl.type, decl, name)
        if values:
            lines.append("values: " + ", ".join(v.name for v in values[:30]) + (" …" if len(values) > 30 else ""))
    elif symbol.kind == "input" and isinstance(decl, ast.InputDecl):
        shape = {
            "record": "a record",
            "many": f"a list of `{decl.entity}`",
            "group": f"a group of `{decl.entity}` over `{decl.over}`",
        }[decl.kind]
        head = f"**{decl.name}** — input, {shape}"
        lines += _meta_lines(decl.meta)
        lines.append("fields: " + ", ".join(f.name for f in decl.fields))
    elif symbol.kind == "param" and isinstance(decl, ast.ParamDecl):
        head = f"**{name}** — parameter: `{type_text(decl.type)}` = `{value_text(decl.default)}`"
        rng = range_text(decl.type)
        if rng:
            lines.append(f"range: {rng}")
        lines += _meta_lines(decl.meta) + citation_lines(idx, decl.cites)
    elif symbol.kind == "definition" and isinstance(decl, ast.DefineDecl):
        scope = f" for each {decl.for_each}" if decl.for_each else ""
        head = f"**{name}** — definition{scope}"
        if idx.policy is not None and name in idx.policy.definitions:
            lines.append(f"type: `{idx.policy.definitions[name].expr.type.describe()}`")
        lines += _meta_lines(decl.meta)
        if decl.meta.label is None:
            lines.append("intermediate (no label: not shown as a result)")
    elif symbol.kind in ("decision", "bands") and isinstance(decl, (ast.DecisionDecl, ast.BandsDecl)):
        scope = f" for each {decl.for_each}" if decl.for_each else ""
        head = f"**{name}** — {'decision' if symbol.kind == 'decision' else 'bands'}{scope}"
        lines += _meta_lines(decl.meta)
        outcomes = idx.outcomes(name)
        if outcomes:
            lines.append("outcomes: " + ", ".join(f"`{o.name}`" for o in outcomes))
    elif symbol.kind == "obligation" and isinstance(decl, ast.ObligationDecl):
        scope = f" for each {decl.for_each}" if decl.for_each else ""
        head = f"**{name}** — obligation{scope}"
        lines += _meta_lines(decl.meta) + citation_lines(idx, decl.cites)
        if decl.valid_from is not None:
            lines.append(f"from {date_text(idx, decl.valid_from)}")
        if decl.valid_until is not None:
            lines.append(f"until {date_text(idx, decl.valid_until)}")
    elif symbol.kind == "enum" and isinstance(decl, ast.EnumDecl):
        head = f"**{name}** — enum"
        lines += _meta_lines(decl.meta)
        lines.append("values: " + ", ".join(v.name for v in decl.values))
    elif symbol.kind == "enum_value":
        head = f"**{name}** — value of enum `{symbol.owner}`"
        if isinstance(decl, ast.EnumValue):
            lines += _meta_lines(decl.meta)
    elif symbol.kind == "outcome":
        head = f"**{name}** — outcome of decision `{symbol.owner}`"
        lines += text_lines(idx.outcome_label(symbol.owner or "", name))
    elif symbol.kind == "source" and isinstance(decl, ast.SourceDecl):
        head = f"**{name}** — source: {decl.title}"
        if decl.url:
            lines.append(decl.url)
    elif symbol.kind == "function":
        head = f"**{name}** — function"
        lines.append(f"`{FUNCTIONS.get(name, name)}`")
    elif symbol.kind == "builtin":
        head = f"**{name}** — built-in"
        lines.append(BUILTINS.get(name, name))
    else:
        head = f"**{name}** — {symbol.kind}"
    return head + ("\n\n" + _bullets(lines) if lines else "")


# ====================================================================== completion


def _label_doc(meta: ast.Meta | None) -> str | None:
    lines = _meta_lines(meta)
    return "\n".join(lines) if lines else None


def complete(idx: Index, text: str, line: int, col: int) -> list[Item]:
    """Completion proposals at a position (1-based line and column)."""
    cursor = Cursor(text, line, col)
    tokens = cursor.tokens
    if _in_comment_or_string(text, line, col):
        return []
    # the name being typed, if any, is not context
    stop = 0
    for k, token in enumerate(tokens):
        if (token.line, token.col) >= (line, col):
            break
        if token.kind == "name" and token.contains(line, col):
            break
        stop = k + 1
    prev = tokens[stop - 1] if stop >= 1 else None
    prev2 = tokens[stop - 2] if stop >= 2 else None
    typing = stop < len(tokens) and tokens[stop].kind == "name" and tokens[stop].contains(line, col)
    decl = cursor.decl(stop if typing else max(stop - 1, 0))
    first_on_line = prev is None or prev.line < line

    if prev is not None and prev.is_op(".") and prev2 is not None and prev2.kind == "name" and prev2.end == prev.col:
        parts, _, _ = path_around(tokens, stop - 2)
        return _complete_member(idx, parts)
    if prev is not None and prev.is_name("cites"):
        return [Item(n, "source", s.title) for n, s in idx.sources.items()]
    if prev is not None and prev.is_name("each") and prev2 is not None and prev2.is_name("for"):
        return _entity_items(idx)
    if prev is not None and (prev.is_name("over") or prev.is_name("of")):
        return [Item(n, "enum", "enum", _label_doc(e.meta)) for n, e in idx.enums.items()] + [Item("enum", "keyword")]
    if (
        prev is not None
        and prev.is_op(":")
        and decl is not None
        and decl.keyword in ("input", "param")
        and stop - 1 > decl.start + 1
    ):
        if decl.keyword == "param" or cursor.depth(decl.start, stop) > 0:
            return [Item(w, "type", rank=1) for w in TYPE_WORDS] + [
                Item(n, "enum", "enum", _label_doc(e.meta), 2) for n, e in idx.enums.items()
            ]
    if prev is not None and (prev.is_op("=") or prev.is_op("!=") or prev.is_name("in") or prev.is_op("{") or prev.is_op(",")):
        values = _values_before(idx, cursor, stop, decl)
        if values:
            return [_value_item(idx, v) for v in values]
    items: list[Item] = []
    if prev is not None and prev.is_op("("):
        call = prev2.text if prev2 is not None and prev2.kind == "name" else None
        if call in ENTITY_FUNCTIONS:
            items += [Item(i.label, i.kind, i.detail, i.documentation, 0) for i in _entity_items(idx)]
            if call == "rank":
                return items
    if decl is not None and decl.keyword in ("decision", "bands") and first_on_line and cursor.depth(decl.start, stop) > 0:
        items += [_value_item(idx, o, rank=0) for o in idx.outcomes(decl.name or "")]
    items += _expression_items(idx, cursor.scope(stop, idx, decl))
    keywords = list(EXPR_KEYWORDS) + list(RULE_KEYWORDS) + (list(TOP_KEYWORDS) if first_on_line else [])
    items += [Item(k, "keyword", rank=9) for k in dict.fromkeys(keywords)]
    best: dict[str, Item] = {}
    for item in items:  # one proposal per name: the best ranked
        if item.label not in best or item.rank < best[item.label].rank:
            best[item.label] = item
    return list(best.values())


def _in_comment_or_string(text: str, line: int, col: int) -> bool:
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return False
    before = lines[line - 1][: col - 1]
    quoted = False
    k = 0
    while k < len(before):
        ch = before[k]
        if quoted and ch == "\\":
            k += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return True
        k += 1
    return quoted


def _values_before(idx: Index, cursor: Cursor, stop: int, decl: DeclContext | None) -> list[Symbol]:
    """After `x =`, `x != `, `x in `, `x in {a, `: the symbols x may take."""
    tokens = cursor.tokens
    k = stop - 1
    if tokens[k].is_op("{") or tokens[k].is_op(","):
        while k >= 0 and (tokens[k].is_op(",") or tokens[k].kind == "name") and not tokens[k].is_name("in"):
            k -= 1
        if k < 0 or not tokens[k].is_op("{"):
            return []
        k -= 1
        if k < 0 or not tokens[k].is_name("in"):
            return []
    op = tokens[k]
    if not (op.is_op("=") or op.is_op("!=") or op.is_name("in")):
        return []
    if decl is not None and decl.keyword == "param" and op.is_op("="):
        param = idx.params.get(decl.name or "")
        return idx.type_values(param.type if param else None, param, f"param {decl.name}")
    j = k - 1
    if j >= 1 and tokens[j].is_name("not") and op.is_name("in"):
        j -= 1
    if j < 0 or tokens[j].kind != "name" or (decl is not None and j == decl.start + 1):
        return []
    return idx.values_of(resolve(idx, cursor, j, hints=False))


def _value_item(idx: Index, value: Symbol, rank: int = 0) -> Item:
    if value.kind == "outcome":
        label = idx.outcome_label(value.owner or "", value.name)
        doc = "\n".join(text_lines(label)) or None
        return Item(value.name, "outcome", f"outcome of {value.owner}", doc, rank)
    doc = _label_doc(value.decl.meta) if isinstance(value.decl, ast.EnumValue) else None
    return Item(value.name, "enum_value", f"value of {value.owner}", doc, rank)


def _entity_items(idx: Index) -> list[Item]:
    out = []
    for item in idx.inputs.values():
        if item.kind != "record" and item.entity:
            out.append(Item(item.entity, "input", f"entity of input {item.name} ({item.kind})", _label_doc(item.meta), 1))
    return out


def _complete_member(idx: Index, parts: list[str]) -> list[Item]:
    head = idx.head_input(parts[0])
    if head is None:
        return []
    if head.kind == "record" and len(parts) == 1:
        return [_field_item(f, 0) for f in head.fields]
    if head.kind == "group" and len(parts) == 1:
        enum = idx.enums.get(head.over or "")
        return [
            Item(v.name, "enum_value", f"member of {head.name}", _label_doc(v.meta), 0) for v in (enum.values if enum else ())
        ]
    if head.kind == "group" and len(parts) == 2:
        items = [_field_item(f, 0) for f in head.fields]
        for name, decl in idx.values.items():
            if isinstance(decl, (ast.DefineDecl, ast.DecisionDecl, ast.BandsDecl)) and idx.owner_scope(decl) == head.name:
                items.append(_decl_item(idx, name, decl, 1))
        return items
    return []


def _field_item(f: ast.FieldDecl, rank: int) -> Item:
    rng = range_text(f.type)
    detail = type_text(f.type) + (f" {rng}" if rng else "")
    return Item(f.name, "field", detail, _label_doc(f.meta), rank)


def _decl_item(idx: Index, name: str, decl: ast.Decl, rank: int) -> Item:
    if isinstance(decl, ast.DefineDecl):
        scope = f" for each {decl.for_each}" if decl.for_each else ""
        return Item(name, "definition", f"definition{scope}", _label_doc(decl.meta), rank)
    if isinstance(decl, (ast.DecisionDecl, ast.BandsDecl)):
        scope = f" for each {decl.for_each}" if decl.for_each else ""
        kind = "decision" if isinstance(decl, ast.DecisionDecl) else "bands"
        return Item(name, kind, f"{kind}{scope}", _label_doc(decl.meta), rank)
    if isinstance(decl, ast.ParamDecl):
        return Item(name, "param", f"param: {type_text(decl.type)} = {value_text(decl.default)}", _label_doc(decl.meta), rank)
    if isinstance(decl, ast.InputDecl):
        return Item(name, "input", f"input ({decl.kind})", _label_doc(decl.meta), rank)
    return Item(name, "obligation", "obligation", _label_doc(getattr(decl, "meta", None)), rank)


def _expression_items(idx: Index, scope: str | None) -> list[Item]:
    """Every name an expression may read in this scope."""
    items: list[Item] = []
    item = idx.inputs.get(scope or "")
    if item is not None:
        items += [_field_item(f, 0) for f in item.fields]
    for name, decl in idx.values.items():
        if isinstance(decl, (ast.DefineDecl, ast.DecisionDecl, ast.BandsDecl)):
            owner = idx.owner_scope(decl)
            if owner is None or owner == scope:
                items.append(_decl_item(idx, name, decl, 1 if owner else 2))
        elif isinstance(decl, ast.ParamDecl):
            items.append(_decl_item(idx, name, decl, 3))
        elif isinstance(decl, ast.InputDecl) and name == decl.name and decl.kind != "many":
            items.append(_decl_item(idx, name, decl, 4))
    items += _entity_items(idx)
    items += [Item(n, "function", doc, None, 6) for n, doc in FUNCTIONS.items()]
    items += [Item(n, "builtin", doc, None, 6) for n, doc in BUILTINS.items() if n != "id" or scope is not None]
    return items
