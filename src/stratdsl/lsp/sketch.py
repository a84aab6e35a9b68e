"""The declarations of a file that does not parse, read from its tokens.

While a line is being typed the document seldom parses, yet completion is
asked for exactly then, and the names the document declares should still be
offered. `sketch` reads declarations from the tokens the way the grammar lays
them out (`decision NAME for each E label … { outcome X … X when … otherwise
Y }`, `input NAME: many E { field: type … }`, …) and builds AST nodes with
what it finds: names, entities, labels, field and parameter types, outcomes.
Expressions are not read. The result is only used by the language server's
index, never checked.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from ..language import ast
from ..language.source import Span
from .tokens import Token, is_decl_start, tokenize, unquote

_META_WORDS = {"label", "help", "express", "required"}


def sketch(name: str, text: str) -> ast.Module:
    tokens = tokenize(text)
    starts = [i for i in range(len(tokens)) if is_decl_start(tokens, i)]
    decls: list[ast.Decl] = []
    imports: list[ast.Import] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(tokens)
        reader = _Reader(name, tokens[start:end])
        decl = reader.decl()
        if isinstance(decl, ast.Import):
            imports.append(decl)
        elif decl is not None:
            decls.append(decl)
    return ast.Module(name, ast.Header("", ""), tuple(imports), tuple(decls), span=Span(name, 1, 1, 1, 1))


class _Reader:
    def __init__(self, file: str, tokens: list[Token]) -> None:
        self.file = file
        self.t = tokens

    def span(self, first: int, last: int | None = None) -> Span:
        a = self.t[first]
        b = self.t[min(last if last is not None else first, len(self.t) - 1)]
        return Span(self.file, a.line, a.col, b.line, b.end)

    def at(self, i: int) -> Token | None:
        return self.t[i] if 0 <= i < len(self.t) else None

    def name_at(self, i: int, text: str | None = None) -> bool:
        token = self.at(i)
        return token is not None and token.is_name(text)

    def op_at(self, i: int, text: str) -> bool:
        token = self.at(i)
        return token is not None and token.is_op(text)

    # ------------------------------------------------------------ pieces
    def meta(self, i: int) -> tuple[ast.Meta, int]:
        label = help_ = None
        express = None
        while self.at(i) is not None:
            if self.name_at(i, "label") or self.name_at(i, "help"):
                word = self.t[i].text
                texts: dict[str, str] = {}
                i += 1
                while (self.name_at(i, "fr") or self.name_at(i, "en")) and self.at(i + 1) and self.t[i + 1].kind == "string":
                    texts[self.t[i].text] = unquote(self.t[i + 1].text)
                    i += 2
                value = ast.Text(fr=texts.get("fr"), en=texts.get("en"))
                if word == "label":
                    label = value
                else:
                    help_ = value
            elif self.name_at(i, "express") and self.at(i + 1) and self.t[i + 1].kind == "number":
                try:
                    express = int(self.t[i + 1].text)
                except ValueError:
                    pass
                i += 2
            else:
                break
        return ast.Meta(label=label, help=help_, express=express), i

    def inline_label(self, i: int) -> tuple[ast.Text | None, int]:
        token = self.at(i)
        if token is None or token.kind != "string":
            return None, i
        fr = unquote(token.text)
        i += 1
        en = None
        if (self.name_at(i, "en") or self.name_at(i, "fr")) and self.at(i + 1) and self.t[i + 1].kind == "string":
            other = unquote(self.t[i + 1].text)
            fr, en = (fr, other) if self.t[i].text == "en" else (other, fr)  # `"x" fr "y"`: the first text is English
            i += 2
        return ast.Text(fr=fr, en=en), i

    def number(self, i: int) -> tuple[Decimal | None, int]:
        sign = 1
        if self.op_at(i, "-"):
            sign, i = -1, i + 1
        token = self.at(i)
        if token is None or token.kind != "number":
            return None, i
        try:
            return sign * Decimal(token.text), i + 1
        except InvalidOperation:
            return None, i + 1

    def type_(self, i: int) -> tuple[ast.TypeExpr | None, int]:
        token = self.at(i)
        if token is None or token.kind != "name":
            return None, i
        word = token.text
        if word in ("number", "integer"):
            low = high = None
            j = i + 1
            low, k = self.number(j)
            if low is not None and self.op_at(k, ".."):
                high, k = self.number(k + 1)
                j = k
            else:
                low = None
            return ast.NumberType(low, high, word == "integer"), j
        if word == "bool":
            return ast.BoolType(), i + 1
        if word == "text":
            return ast.TextType(), i + 1
        if word == "date":
            return ast.DateType(), i + 1
        if word == "enum" and self.op_at(i + 1, "{"):
            values = []
            j = i + 2
            while self.at(j) is not None and not self.op_at(j, "}"):
                if self.t[j].kind == "name":
                    values.append(self.t[j].text)
                elif not self.op_at(j, ","):
                    break
                j += 1
            return ast.EnumType(tuple(values)), j + 1
        if word == "list" and self.name_at(i + 1, "of"):
            element, j = self.type_(i + 2)
            return (ast.ListType(element) if element is not None else None), j
        return ast.NamedType(word), i + 1

    def literal(self, i: int) -> tuple[ast.Expr, int]:
        """A parameter's default value, and the index after it."""
        token = self.at(i)
        if token is None:
            return ast.StringLit(""), i
        if token.kind == "number":
            return ast.NumberLit(Decimal(token.text)), i + 1
        if token.is_op("-") and self.at(i + 1) is not None and self.t[i + 1].kind == "number":
            return ast.NumberLit(-Decimal(self.t[i + 1].text)), i + 2
        if token.kind == "date":
            try:
                return ast.DateLit(date.fromisoformat(token.text)), i + 1
            except ValueError:
                return ast.StringLit(token.text), i + 1
        if token.kind == "string":
            return ast.StringLit(unquote(token.text)), i + 1
        if token.is_name("true") or token.is_name("false"):
            return ast.BoolLit(token.text == "true"), i + 1
        return ast.Path((token.text,)), i + 1

    def body(self) -> list[int]:
        """Indices of the tokens directly inside the declaration's outer braces."""
        out = []
        depth = 0
        for i, token in enumerate(self.t):
            if token.is_op("{"):
                depth += 1
                if depth == 1:
                    continue
            elif token.is_op("}"):
                depth -= 1
                if depth <= 0 and any(self.t[k].is_op("{") for k in range(i)):
                    break
            if depth == 1:
                out.append(i)
        return out

    # ------------------------------------------------------------ declarations
    def decl(self) -> ast.Decl | ast.Import | None:
        keyword = self.t[0].text
        whole = self.span(0, len(self.t) - 1)
        if keyword == "import":
            return ast.Import(unquote(self.t[1].text), span=whole) if len(self.t) > 1 else None
        if keyword == "policy" or len(self.t) < 2 or self.t[1].kind != "name":
            return None
        name = self.t[1].text
        i = 2
        for_each = None
        if self.name_at(i, "for") and self.name_at(i + 1, "each") and self.name_at(i + 2):
            for_each = self.t[i + 2].text
            i += 3
        if keyword == "source":
            title = unquote(self.t[2].text) if self.at(2) and self.t[2].kind == "string" else ""
            url = unquote(self.t[4].text) if self.name_at(3, "url") and self.at(4) and self.t[4].kind == "string" else None
            return ast.SourceDecl(name, title, url, span=whole)
        if keyword == "define":
            meta, _ = self.meta(i)
            return ast.DefineDecl(name, for_each, meta, span=whole)
        if keyword == "obligation":
            meta, _ = self.meta(i)
            return ast.ObligationDecl(name, for_each, meta, span=whole)
        if keyword == "assert":
            meta, _ = self.meta(i)
            return ast.AssertDecl(name, for_each, meta, span=whole)
        if keyword == "param":
            type_, j = self.type_(i + 1) if self.op_at(i, ":") else (None, i)
            default: ast.Expr = ast.StringLit("")
            if self.op_at(j, "="):
                default, j = self.literal(j + 1)
            meta, _ = self.meta(j)
            return ast.ParamDecl(name, type_ or ast.TextType(), default, meta, span=whole)
        if keyword == "enum":
            meta, _ = self.meta(i)
            return ast.EnumDecl(name, meta, tuple(self.enum_values()), span=whole)
        if keyword == "input":
            return self.input(name, whole)
        if keyword == "decision":
            unique = self.name_at(i, "unique")
            meta, _ = self.meta(i + 1 if unique else i)
            outcomes, rules = self.decision_body()
            return ast.DecisionDecl(name, for_each, meta, tuple(outcomes), tuple(rules), unique=unique, span=whole)
        if keyword == "bands":
            meta, _ = self.meta(i)
            return ast.BandsDecl(name, for_each, meta, bands=tuple(self.bands()), span=whole)
        return None

    def enum_values(self) -> list[ast.EnumValue]:
        values = []
        for k in self.body():
            token = self.t[k]
            prev = self.at(k - 1)
            if token.kind != "name" or token.text in _META_WORDS or token.text in ("fr", "en"):
                continue
            if prev is not None and (prev.is_name("express") or prev.is_name("fr") or prev.is_name("en")):
                continue
            meta, _ = self.meta(k + 1)
            values.append(ast.EnumValue(token.text, meta, span=self.span(k)))
        return values

    def input(self, name: str, whole: Span) -> ast.InputDecl:
        kind, entity, over = "record", None, None
        i = 2
        if self.op_at(i, ":") and self.name_at(i + 1, "many") and self.name_at(i + 2):
            kind, entity, i = "many", self.t[i + 2].text, i + 3
        elif self.op_at(i, ":") and self.name_at(i + 1, "group") and self.name_at(i + 2):
            kind, entity, i = "group", self.t[i + 2].text, i + 3
            if self.name_at(i, "over") and self.name_at(i + 1):
                over, i = self.t[i + 1].text, i + 2
        meta, _ = self.meta(i)
        fields = []
        for k in self.body():
            if self.t[k].kind == "name" and self.op_at(k + 1, ":"):
                type_, j = self.type_(k + 2)
                required = False
                field_meta = ast.Meta()
                while True:
                    if self.name_at(j, "required"):
                        required, j = True, j + 1
                        continue
                    more, after = self.meta(j)
                    if after == j:
                        break
                    field_meta = ast.Meta(
                        label=more.label or field_meta.label,
                        help=more.help or field_meta.help,
                        express=more.express or field_meta.express,
                    )
                    j = after
                fields.append(
                    ast.FieldDecl(self.t[k].text, type_ or ast.TextType(), field_meta, required, span=self.span(k, max(j - 1, k)))
                )
        return ast.InputDecl(name, kind, entity, over, meta, tuple(fields), span=whole)

    def decision_body(self) -> tuple[list[ast.OutcomeDecl], list[ast.Rule]]:
        outcomes: list[ast.OutcomeDecl] = []
        rules: list[ast.Rule] = []
        for k in self.body():
            token = self.t[k]
            if token.kind != "name":
                continue
            prev = self.at(k - 1)
            nxt = self.at(k + 1)
            if prev is not None and prev.is_name("outcome"):
                meta, _ = self.meta(k + 1)
                outcomes.append(ast.OutcomeDecl(token.text, meta, span=self.span(k - 1, k)))
                continue
            head = (
                (prev is not None and prev.is_name("otherwise"))
                or (prev is not None and prev.is_op(":") and self.name_at(k - 3, "rule"))
                or (nxt is not None and nxt.is_name("when"))
                or (
                    nxt is not None
                    and nxt.kind == "string"
                    and not (prev is not None and prev.kind == "name" and prev.text in ("cites", "fr", "en", "label", "help"))
                )
            )
            if head and token.text not in ("label", "help", "fr", "en", "cites", "rule"):
                label, _ = self.inline_label(k + 1)
                rules.append(ast.Rule(None, token.text, label, span=self.span(k)))
        return outcomes, rules

    def bands(self) -> list[ast.Band]:
        out = []
        for k in self.body():
            token = self.t[k]
            nxt = self.at(k + 1)
            prev = self.at(k - 1)
            if token.kind != "name" or nxt is None or token.text in ("fr", "en", "cites"):
                continue
            if prev is not None and prev.is_name("cites"):
                continue
            if nxt.is_name("from") or nxt.kind == "string":
                label, _ = self.inline_label(k + 1)
                out.append(ast.Band(token.text, label, span=self.span(k)))
        return out
