"""A forgiving tokenizer for the text in the editor.

The language server needs to know what is under or before the cursor while the
policy is half typed and does not parse: the name, the dotted path it belongs
to, the enclosing declaration and its `for each` entity, the aggregate whose
scope the cursor is in. This tokenizer follows the terminals of
grammar/stratdsl.lark (names, strings, dates, numbers, comments) but never
fails: an unterminated string ends at the end of its line, and an unknown
character becomes an `other` token. Lines and columns are 1-based, like `Span`;
a column counts characters (code points), as Lark does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<comment>\#.*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.|!=|<=|>=|[=<>+\-*/(){},.:])
  | (?P<other>.)
    """,
    re.VERBOSE,
)

#: Keywords that start a top-level declaration.
TOP_KEYWORDS = ("policy", "import", "source", "enum", "input", "param", "define", "decision", "bands", "obligation", "assert")


@dataclass(frozen=True)
class Token:
    kind: str  # name, string, date, number, op, other
    text: str
    line: int
    col: int
    end: int  # exclusive

    def contains(self, line: int, col: int) -> bool:
        """Whether the cursor at (line, col) touches this token (just after its last character counts)."""
        return self.line == line and self.col <= col <= self.end

    def is_name(self, text: str | None = None) -> bool:
        return self.kind == "name" and (text is None or self.text == text)

    def is_op(self, text: str) -> bool:
        return self.kind == "op" and self.text == text


def tokenize(text: str) -> list[Token]:
    """Every token but blanks and comments, in order."""
    out: list[Token] = []
    for number, line in enumerate(text.split("\n"), start=1):
        for match in _TOKEN.finditer(line):
            kind = match.lastgroup or "other"
            if kind in ("ws", "comment"):
                continue
            out.append(Token(kind, match.group(), number, match.start() + 1, match.end() + 1))
    return out


def unquote(text: str) -> str:
    body = text[1:-1] if len(text) >= 2 and text.endswith('"') else text[1:]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def imports_of(text: str) -> list[tuple[str, Token]]:
    """`import "x.strat"` statements: (the path, its string token)."""
    tokens = tokenize(text)
    found = []
    for i, token in enumerate(tokens[:-1]):
        nxt = tokens[i + 1]
        if token.is_name("import") and nxt.kind == "string" and _first_on_line(tokens, i):
            found.append((unquote(nxt.text), nxt))
    return found


def _first_on_line(tokens: list[Token], i: int) -> bool:
    return i == 0 or tokens[i - 1].line != tokens[i].line


def is_decl_start(tokens: list[Token], i: int) -> bool:
    """A top-level keyword that begins its line and is followed by the declared name.

    Keywords are contextual (a field or an outcome may be called `input`), so
    `input: …` and `input when …` do not count."""
    token = tokens[i]
    if not token.is_name() or token.text not in TOP_KEYWORDS or not _first_on_line(tokens, i):
        return False
    if i + 1 >= len(tokens):
        return True
    nxt = tokens[i + 1]
    if token.text in ("policy", "import"):
        return nxt.kind == "string"
    return nxt.kind == "name" and nxt.text != "when"


@dataclass(frozen=True)
class DeclContext:
    """The top-level declaration around a position."""

    keyword: str  # decision, define, input, …
    name: str | None
    for_each: str | None
    start: int  # index of the keyword token
    end: int  # index one past its last token


def decl_at(tokens: list[Token], index: int) -> DeclContext | None:
    """The declaration that token `index` (or the cursor just after token `index - 1`) belongs to."""
    start = None
    for i in range(min(index, len(tokens) - 1), -1, -1):
        if is_decl_start(tokens, i):
            start = i
            break
    if start is None:
        return None
    end = next((j for j in range(start + 1, len(tokens)) if is_decl_start(tokens, j)), len(tokens))
    name = tokens[start + 1].text if start + 1 < len(tokens) and tokens[start + 1].kind == "name" else None
    for_each = None
    j = start + 2
    if j + 2 < len(tokens) and tokens[j].is_name("for") and tokens[j + 1].is_name("each") and tokens[j + 2].kind == "name":
        for_each = tokens[j + 2].text
    return DeclContext(tokens[start].text, name, for_each, start, end)


def path_around(tokens: list[Token], index: int) -> tuple[list[str], int, int]:
    """The dotted path that name token `index` belongs to: (parts, position of the token in it, index of the first part)."""
    first = index
    while (
        first >= 2 and tokens[first - 1].is_op(".") and tokens[first - 2].kind == "name" and _touching(tokens, first - 2, first)
    ):
        first -= 2
    last = index
    while (
        last + 2 < len(tokens)
        and tokens[last + 1].is_op(".")
        and tokens[last + 2].kind == "name"
        and _touching(tokens, last, last + 2)
    ):
        last += 2
    parts = [tokens[k].text for k in range(first, last + 1, 2)]
    return parts, (index - first) // 2, first


def _touching(tokens: list[Token], a: int, b: int) -> bool:
    """Tokens a..b are written without blanks (`organization.headcount`)."""
    return all(tokens[k].line == tokens[k + 1].line and tokens[k].end == tokens[k + 1].col for k in range(a, b))


@dataclass(frozen=True)
class OpenCall:
    """An unclosed `name(` before the cursor; `first` is the index of its first argument's token."""

    func: str | None
    open_index: int
    first: int | None


def open_calls(tokens: list[Token], start: int, stop: int) -> list[OpenCall]:
    """The calls still open at token index `stop` (exclusive), innermost last."""
    stack: list[OpenCall] = []
    for i in range(start, stop):
        token = tokens[i]
        if token.is_op("("):
            func = tokens[i - 1].text if i > start and tokens[i - 1].kind == "name" else None
            first = i + 1 if i + 1 < stop and tokens[i + 1].kind == "name" else None
            stack.append(OpenCall(func, i, first))
        elif token.is_op(")") and stack:
            stack.pop()
    return stack


def index_at(tokens: list[Token], line: int, col: int) -> int | None:
    """The token under the cursor, preferring a name (the cursor may sit just after it)."""
    hit = None
    for i, token in enumerate(tokens):
        if token.line > line:
            break
        if token.contains(line, col):
            if token.kind == "name":
                return i
            if hit is None and col < token.end:
                hit = i
    return hit
