"""Formatting: the AST of a file (plus its comments) → its one canonical layout.

The printer works from the AST, so formatting can never change meaning: the
AST of the output equals the AST of the input (a property test checks it).
Comments are not in the AST; they are re-attached by position: a comment on
the line of a declaration, field, rule or band stays at the end of that line;
a comment on its own line stays before the item that follows it, or before
the closing brace of its block. Blank lines between items are kept (several
collapse into one). Long conditions and sums break before `and`, `or`, `+`
and `-`, and `else if` chains go one branch per line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from lark import Token

from . import ast
from .lower import lower
from .source import SourceFile
from .syntax import parse_with_comments

WIDTH = 100
INDENT = "  "


@dataclass
class _Comments:
    leading: dict[int, list[str]] = field(default_factory=dict)  # anchor id → comment lines
    trailing: dict[int, str] = field(default_factory=dict)
    closing: dict[int, list[str]] = field(default_factory=dict)  # container id → comments before '}'
    end: list[str] = field(default_factory=list)
    blank_before: set[int] = field(default_factory=set)


# ------------------------------------------------------------------ expressions

_PREC = {
    ast.If: 0, ast.Or: 1, ast.And: 2, ast.Not: 3, ast.Compare: 4, ast.In: 4, ast.Between: 4, ast.IsApplicable: 4, ast.Neg: 7,
}


def _prec(e: ast.Expr) -> int:
    if isinstance(e, ast.Arith):
        return 5 if e.op in "+-" else 6
    if isinstance(e, ast.NumberLit) and e.value < 0:
        return 7
    return _PREC.get(type(e), 8)


def _number(value: Decimal) -> str:
    return format(value, "f")


def _string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return '"' + escaped + '"'


def flat(e: ast.Expr, min_prec: int = 0) -> str:
    text = _flat(e)
    return f"({text})" if _prec(e) < min_prec else text


def _flat(e: ast.Expr) -> str:
    if isinstance(e, ast.NumberLit):
        return _number(e.value)
    if isinstance(e, ast.StringLit):
        return _string(e.value)
    if isinstance(e, ast.DateLit):
        return e.value.isoformat()
    if isinstance(e, ast.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, ast.Path):
        return e.dotted
    if isinstance(e, ast.SetLit):
        return "{" + ", ".join(flat(i) for i in e.items) + "}"
    if isinstance(e, ast.Neg):
        return "-" + flat(e.operand, 7)
    if isinstance(e, ast.Arith):
        p = _prec(e)
        return f"{flat(e.left, p)} {e.op} {flat(e.right, p + 1)}"
    if isinstance(e, ast.Compare):
        return f"{flat(e.left, 5)} {e.op} {flat(e.right, 5)}"
    if isinstance(e, ast.In):
        return f"{flat(e.item, 5)} {'not in' if e.negated else 'in'} {flat(e.container, 5)}"
    if isinstance(e, ast.IsApplicable):
        return f"{flat(e.operand, 5)} is {'not ' if e.negated else ''}applicable"
    if isinstance(e, ast.NotApplicable):
        return "not applicable" + _inline_label(e.reason)
    if isinstance(e, ast.Between):
        return f"{flat(e.value, 5)} between {flat(e.low, 5)} and {flat(e.high, 5)}"
    if isinstance(e, ast.And):
        return " and ".join(flat(i, 3) for i in e.items)
    if isinstance(e, ast.Or):
        return " or ".join(flat(i, 2) for i in e.items)
    if isinstance(e, ast.Not):
        return "not " + flat(e.operand, 3)
    if isinstance(e, ast.If):
        return f"if {flat(e.cond)} then {flat(e.then)} else {flat(e.otherwise)}"
    if isinstance(e, ast.Call):
        where = f" where {flat(e.where)}" if e.where is not None else ""
        return f"{e.func}({', '.join(flat(a) for a in e.args)}{where})"
    if isinstance(e, ast.Rank):
        keys = ", ".join(flat(k.expr) + (" desc" if k.descending else "") for k in e.keys)
        where = f" where {flat(e.where)}" if e.where is not None else ""
        return f"rank({e.entity} by {keys}{where})"
    raise TypeError(f"cannot format {type(e).__name__}")


def _arith_chain(e: ast.Expr) -> list[tuple[str, ast.Expr]]:
    """a + b - c → [("", a), ("+", b), ("-", c)] for a left-associated chain of + and -."""
    if isinstance(e, ast.Arith) and e.op in "+-":
        return [*_arith_chain(e.left), (e.op, e.right)]
    return [("", e)]


def layout(e: ast.Expr, indent: str, used: int, min_prec: int = 0) -> list[str]:
    """Lines for an expression whose first line starts after `used` characters;
    continuation lines carry their own indentation."""
    text = flat(e, min_prec)
    if used + len(text) <= WIDTH:
        return [text]
    paren = _prec(e) < min_prec
    if paren:
        lines = layout(e, indent + " ", used + 1)
        lines[0] = "(" + lines[0]
        lines[-1] += ")"
        return lines
    deeper = indent + INDENT
    if isinstance(e, (ast.And, ast.Or)):
        op = "and" if isinstance(e, ast.And) else "or"
        child_prec = 3 if op == "and" else 2
        lines = layout(e.items[0], deeper, used, child_prec)
        for item in e.items[1:]:
            part = layout(item, deeper, len(deeper) + len(op) + 1, child_prec)
            lines.append(f"{deeper}{op} {part[0]}")
            lines.extend(part[1:])
        return lines
    if isinstance(e, ast.Arith) and e.op in "+-":
        chain = _arith_chain(e)
        lines = layout(chain[0][1], deeper, used, 5)
        for op, item in chain[1:]:
            part = layout(item, deeper, len(deeper) + 2, 6)
            lines.append(f"{deeper}{op} {part[0]}")
            lines.extend(part[1:])
        return lines
    if isinstance(e, ast.If):
        lines = [f"if {flat(e.cond)} then {flat(e.then)}"]
        rest = e.otherwise
        while isinstance(rest, ast.If):
            lines.append(f"{indent}else if {flat(rest.cond)} then {flat(rest.then)}")
            rest = rest.otherwise
        lines.append(f"{indent}else {flat(rest)}")
        return lines
    return [text]


# ------------------------------------------------------------------ metadata


def _text(t: ast.Text) -> str:
    parts = []
    if t.fr is not None:
        parts.append(f"fr {_string(t.fr)}")
    if t.en is not None:
        parts.append(f"en {_string(t.en)}")
    return " ".join(parts)


def _inline_label(t: ast.Text | None) -> str:
    if t is None:
        return ""
    out = f" {_string(t.fr or '')}"
    if t.en is not None:
        out += f" en {_string(t.en)}"
    return out


def _meta_items(meta: ast.Meta) -> list[str]:
    out = []
    if meta.label is not None:
        out.append(f"label {_text(meta.label)}")
    if meta.help is not None:
        out.append(f"help {_text(meta.help)}")
    if meta.express is not None:
        out.append(f"express {meta.express}")
    return out


def _cite(c: ast.Citation) -> str:
    return f"cites {c.source}" + (f" {_string(c.reference)}" if c.reference is not None else "")


def _type(t: ast.TypeExpr) -> str:
    if isinstance(t, ast.NumberType):
        word = "integer" if t.integer else "number"
        if t.low is not None and t.high is not None:
            return f"{word} {_number(t.low)}..{_number(t.high)}"
        return word
    if isinstance(t, ast.BoolType):
        return "bool"
    if isinstance(t, ast.TextType):
        return "text"
    if isinstance(t, ast.DateType):
        return "date"
    if isinstance(t, ast.EnumType):
        return "enum {" + ", ".join(t.values) + "}"
    if isinstance(t, ast.NamedType):
        return t.name
    if isinstance(t, ast.ListType):
        return "list of " + _type(t.element)
    raise TypeError(type(t).__name__)


def _date_ref(e: ast.Expr) -> str:
    return flat(e)


# ------------------------------------------------------------------ printer


class _Printer:
    def __init__(self, comments: _Comments) -> None:
        self.c = comments
        self.lines: list[str] = []

    def emit(self, line: str) -> None:
        self.lines.append(line.rstrip())

    def lead(self, node: ast.Node, indent: str, first: bool = False) -> None:
        if id(node) in self.c.blank_before and not first and self.lines and self.lines[-1] != "":
            self.emit("")
        for comment in self.c.leading.get(id(node), []):
            self.emit(indent + comment if comment else "")

    def trail(self, node: ast.Node) -> None:
        comment = self.c.trailing.get(id(node))
        if comment:
            self.lines[-1] += "  " + comment

    def close(self, node: ast.Node, indent: str) -> None:
        for comment in self.c.closing.get(id(node), []):
            self.emit(indent + INDENT + comment)

    def item(self, node: ast.Node, indent: str, head: str, rest: list[str], first: bool = False) -> None:
        """One item: on one line when it fits, else its parts on the following lines."""
        self.lead(node, indent, first)
        one = head + "".join(" " + r for r in rest)
        if len(indent) + len(one) <= WIDTH:
            self.emit(indent + one)
        else:
            self.emit(indent + head)
            for r in rest:
                self.emit(indent + INDENT + r)
        self.trail(node)

    # -------------------------------------------------------------- module
    def module(self, m: ast.Module) -> None:
        h = m.header
        self.item(h, "", f"policy {_string(h.name)} version {_string(h.version)}", _meta_items(h.meta), first=True)
        previous: type | None = None
        for node in [*m.imports, *m.decls]:
            if not (isinstance(node, ast.Import) and previous is ast.Import) and id(node) not in self.c.blank_before:
                self.c.blank_before.add(id(node))
            self.decl(node)
            previous = type(node)
        for comment in self.c.end:
            if comment is self.c.end[0] and self.lines and self.lines[-1] != "":
                self.emit("")
            self.emit(comment)

    def decl(self, d: ast.Node) -> None:
        method = getattr(self, "_" + type(d).__name__)
        method(d)

    def _Import(self, d: ast.Import) -> None:
        self.item(d, "", f"import {_string(d.path)}", [])

    def _SourceDecl(self, d: ast.SourceDecl) -> None:
        self.item(d, "", f"source {d.name} {_string(d.title)}", [f"url {_string(d.url)}"] if d.url else [])

    def _block_head(self, d: ast.Node, head: str, meta: ast.Meta) -> None:
        items = _meta_items(meta)
        self.lead(d, "")
        if not items:
            self.emit(head + " {")
        else:
            one = head + " " + " ".join(items) + " {"
            if len(one) <= WIDTH and len(items) == 1:
                self.emit(one)
            else:
                self.emit(head)
                for i in items:
                    self.emit(INDENT + i)
                self.emit("{")
        self.trail(d)

    def _EnumDecl(self, d: ast.EnumDecl) -> None:
        self._block_head(d, f"enum {d.name}", d.meta)
        for n, v in enumerate(d.values):
            self.item(v, INDENT, v.name, _meta_items(v.meta), first=n == 0)
        self.close(d, "")
        self.emit("}")

    def _InputDecl(self, d: ast.InputDecl) -> None:
        kind = ""
        if d.kind == "many":
            kind = f": many {d.entity}"
        elif d.kind == "group":
            kind = f": group {d.entity} over {d.over}"
        self._block_head(d, f"input {d.name}{kind}", d.meta)
        for n, f in enumerate(d.fields):
            rest = (
                _meta_items(f.meta)
                + (["required"] if f.required else [])
                + (["fixed"] if f.fixed else [])
                + ([f"default {flat(f.default)}"] if f.default is not None else [])
                + ([f"ask when {flat(f.ask_when)}"] if f.ask_when is not None else [])
            )
            self.item(f, INDENT, f"{f.name}: {_type(f.type)}", rest, first=n == 0)
        for r in d.retired:
            self.lead(r, INDENT)
            self.emit(f"{INDENT}retired {r.name} {_string(r.hint)}" + (" {" if r.values else ""))
            for value, hint in r.values:
                self.emit(f"{INDENT}{INDENT}{value} {_string(hint)}")
            if r.values:
                self.emit(f"{INDENT}}}")
        self.close(d, "")
        self.emit("}")

    def _ParamDecl(self, d: ast.ParamDecl) -> None:
        value = flat(d.default)
        rest = _meta_items(d.meta) + [_cite(c) for c in d.cites]
        self.item(d, "", f"param {d.name}: {_type(d.type)} = {value}", rest)

    @staticmethod
    def _for_each(name: str | None) -> str:
        return f" for each {name}" if name else ""

    def _DefineDecl(self, d: ast.DefineDecl) -> None:
        head = f"define {d.name}{self._for_each(d.for_each)}"
        items = _meta_items(d.meta)
        self.lead(d, "")
        if not items:
            one = f"{head} = {flat(d.expr)}"
            if len(one) <= WIDTH:
                self.emit(one)
                self.trail(d)
                return
        self.emit(head)
        for i in items:
            self.emit(INDENT + i)
        body = layout(d.expr, INDENT * 2, len(INDENT) + 2)
        self.emit(f"{INDENT}= {body[0]}")
        for line in body[1:]:
            self.emit(line)
        self.trail(d)

    def _rule(self, r: ast.Rule, indent: str, first: bool) -> None:
        self.lead(r, indent, first)
        name = f"rule {r.name}: " if r.name else ""
        if r.when is None:
            head = f"otherwise {r.outcome}{_inline_label(r.label)}"
            parts = [_cite(c) for c in r.cites]
        else:
            head = f"{name}{r.outcome}{_inline_label(r.label)}"
            parts = [f"when {flat(r.when)}"] + [_cite(c) for c in r.cites]
        if r.valid_from is not None:
            parts.append(f"from {_date_ref(r.valid_from)}")
        if r.valid_until is not None:
            parts.append(f"until {_date_ref(r.valid_until)}")
        one = head + "".join(" " + p for p in parts)
        if not r.exceptions and len(indent) + len(one) <= WIDTH:
            self.emit(indent + one)
            self.trail(r)
            return
        self.emit(indent + head)
        deeper = indent + INDENT
        if r.when is not None:
            body = layout(r.when, deeper + INDENT, len(deeper) + 5)
            self.emit(f"{deeper}when {body[0]}")
            for line in body[1:]:
                self.emit(line)
            parts = parts[1:]
        for p in parts:
            self.emit(deeper + p)
        for exc in r.exceptions:
            self.lead(exc, deeper)
            body = layout(exc.cond, deeper + INDENT, len(deeper) + 7)
            cites = "".join(" " + _cite(c) for c in exc.cites)
            if len(body) == 1 and len(deeper) + 7 + len(body[0]) + len(cites) <= WIDTH:
                self.emit(f"{deeper}unless {body[0]}{cites}")
            else:
                self.emit(f"{deeper}unless {body[0]}")
                for line in body[1:]:
                    self.emit(line)
                for c in exc.cites:
                    self.emit(deeper + INDENT + _cite(c))
            self.trail(exc)
        self.trail(r)

    def _DecisionDecl(self, d: ast.DecisionDecl) -> None:
        self._block_head(d, f"decision {d.name}{self._for_each(d.for_each)}{' unique' if d.unique else ''}", d.meta)
        first = True
        for o in d.outcomes:
            self.item(o, INDENT, f"outcome {o.name}", _meta_items(o.meta), first=first)
            first = False
        for r in [*d.rules, *([d.otherwise] if d.otherwise else [])]:
            self._rule(r, INDENT, first)
            first = False
        self.close(d, "")
        self.emit("}")

    def _BandsDecl(self, d: ast.BandsDecl) -> None:
        items = _meta_items(d.meta)
        head = f"bands {d.name}{self._for_each(d.for_each)}"
        self.lead(d, "")
        one = " ".join([head, *items, f"on {flat(d.on)}", "{"])
        if len(one) <= WIDTH and len(items) <= 1:
            self.emit(one)
        else:
            self.emit(head)
            for i in items:
                self.emit(INDENT + i)
            self.emit(f"{INDENT}on {flat(d.on)}")
            self.emit("{")
        self.trail(d)
        for n, b in enumerate(d.bands):
            bound = f"from {_number(b.low)}"
            if b.high is not None:
                bound += f" {'to' if b.inclusive_high else 'below'} {_number(b.high)}"
            self.item(b, INDENT, f"{b.name}{_inline_label(b.label)} {bound}", [_cite(c) for c in b.cites], first=n == 0)
        self.close(d, "")
        self.emit("}")

    def _AssertDecl(self, d: ast.AssertDecl) -> None:
        self.lead(d, "")
        self.emit(f"assert {d.name}{self._for_each(d.for_each)}")
        self.trail(d)
        for i in _meta_items(d.meta):
            self.emit(INDENT + i)
        if d.monotone is not None:
            self.emit(f"{INDENT}: monotone {d.monotone.target} in {', '.join(d.monotone.paths)}")
            for c in d.cites:
                self.emit(INDENT + _cite(c))
            return
        body = layout(d.expr, INDENT * 2, len(INDENT) + 2)
        self.emit(f"{INDENT}: {body[0]}")
        for line in body[1:]:
            self.emit(line)
        for c in d.cites:
            self.emit(INDENT + _cite(c))

    def _ObligationDecl(self, d: ast.ObligationDecl) -> None:
        self.lead(d, "")
        self.emit(f"obligation {d.name}{self._for_each(d.for_each)}")
        self.trail(d)
        for i in _meta_items(d.meta):
            self.emit(INDENT + i)
        body = layout(d.when, INDENT * 2, len(INDENT) + 5)
        self.emit(f"{INDENT}when {body[0]}")
        for line in body[1:]:
            self.emit(line)
        tail = [_cite(c) for c in d.cites]
        if d.valid_from is not None:
            tail.append(f"from {_date_ref(d.valid_from)}")
        if d.valid_until is not None:
            tail.append(f"until {_date_ref(d.valid_until)}")
        if tail:
            one = INDENT + " ".join(tail)
            if len(one) <= WIDTH:
                self.emit(one)
            else:
                for t in tail:
                    self.emit(INDENT + t)


# ------------------------------------------------------------------ comments


def _anchors(m: ast.Module) -> list[tuple[ast.Node, ast.Node | None]]:
    """Every node a comment may attach to, with its enclosing block (None at top level)."""
    out: list[tuple[ast.Node, ast.Node | None]] = [(m.header, None)]
    for d in [*m.imports, *m.decls]:
        out.append((d, None))
        inner: list[ast.Node] = []
        if isinstance(d, ast.EnumDecl):
            inner = list(d.values)
        elif isinstance(d, ast.InputDecl):
            inner = [*d.fields, *d.retired]
        elif isinstance(d, ast.DecisionDecl):
            inner = [*d.outcomes, *d.rules, *([d.otherwise] if d.otherwise else [])]
            for r in inner[:]:
                if isinstance(r, ast.Rule):
                    inner.extend(r.exceptions)
        elif isinstance(d, ast.BandsDecl):
            inner = list(d.bands)
        out.extend((n, d) for n in inner)
    return out


def _attach(m: ast.Module, comments: list[Token], text: str) -> _Comments:
    result = _Comments()
    anchors = sorted(_anchors(m), key=lambda a: (a[0].span.line, a[0].span.column))
    lines = text.split("\n")  # as the parser counts lines: a lone CR does not end one
    code_lines = {a.span.line for a, _ in anchors}
    for token in comments:
        line, col = token.line, token.column
        # a lone CR inside a comment makes editors show what follows it as code (W120):
        # it becomes a space, so the text it hid is shown for what it is, part of the comment
        body = str(token).rstrip().replace("\r", " ")
        before = lines[line - 1][: col - 1] if line - 1 < len(lines) else ""
        if before.strip():
            # a comment after code: trail the innermost item ending (or starting) on this line
            owner = None
            for node, _parent in anchors:
                if node.span.end_line == line or (node.span.line == line and owner is None):
                    owner = node
            if owner is not None and id(owner) not in result.trailing:
                result.trailing[id(owner)] = body
                continue
            if owner is not None:
                result.trailing[id(owner)] += " " + body
                continue
        nxt = next(((n, p) for n, p in anchors if n.span.line > line), None)
        container = next(
            (n for n, p in anchors if p is None and n.span.line < line < n.span.end_line), None
        )
        if container is not None and (nxt is None or nxt[1] is not container):
            result.closing.setdefault(id(container), []).append(body)
        elif nxt is None:
            result.end.append(body)
        else:
            group = result.leading.setdefault(id(nxt[0]), [])
            group.append(body)
            # a blank line between a comment and what follows is kept
            if line < len(lines) and not lines[line].strip() and line + 1 < nxt[0].span.line:
                group.append("")
    # blank lines: an item keeps one blank line before it if the source had one
    for node, _parent in anchors:
        first = node.span.line
        for token in comments:
            if token.line < first and token.line >= first - len(result.leading.get(id(node), [])) - 1:
                first = min(first, token.line)
        starts = [c.line for c in comments if str(c).rstrip() and str(c).rstrip().replace("\r", " ") in result.leading.get(id(node), [])]
        top = min([node.span.line, *[s for s in starts if s < node.span.line and s not in code_lines]])
        if top >= 2 and top - 2 < len(lines) and not lines[top - 2].strip():
            result.blank_before.add(id(node))
    return result


def format_source(source: SourceFile) -> str:
    """The canonical text of one policy file."""
    tree, comments = parse_with_comments(source)
    module = lower(tree, source)
    printer = _Printer(_attach(module, comments, source.text))
    printer.module(module)
    lines = printer.lines
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def format_text(text: str, name: str = "<policy>") -> str:
    return format_source(SourceFile(name, text))
