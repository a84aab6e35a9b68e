"""Parsing: source text → Lark parse tree, and syntax errors as diagnostics.

The grammar is `grammar/stratdsl.lark` (shipped inside the wheel as
`stratdsl/grammar/stratdsl.lark`). Syntax errors name what was expected in
words a policy author understands, not in terminal names.
"""

from __future__ import annotations

import contextvars
import functools
from decimal import Decimal
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .diagnostics import Diagnostic, StratError, did_you_mean
from .messages import N_, Msg
from .source import SourceFile, Span
from .types import number_problem

# Limits on one expression (docs/security.md §3). Every stage after the parser walks
# expressions recursively, so depth must be bounded before lowering; 100 levels leave
# room for the checker, both evaluators and the generated Python.
MAX_NESTING = 100  # operators nested inside one another (parentheses add none)
MAX_TERMS = 500  # conditions joined by one chain of `and` or of `or`

# Parse-tree nodes that become one level of the AST. An `and`/`or` chain is one level:
# it is lowered into a single And/Or node; its length is bounded by MAX_TERMS instead.
_LEVELS = frozenset(
    "if_expr or_op and_op not_op compare in_op not_in_op between arith neg call rank_call set_lit".split()
)
_CHAINS = frozenset({"or_op", "and_op"})

# Words for the terminals users meet in "expected …" messages.
_TERMINAL_WORDS: dict[str, str] = {
    "NAME": Msg(N_("a name")),
    "STRING": Msg(N_('a text in double quotes ("…")')),
    "NUMBER": Msg(N_("a {number}"), number=Msg(N_("number"))),  # "a number" alone is the questionnaire's "un numéro"
    "DATE": Msg(N_("a date (YYYY-MM-DD)")),
    "LANG_FR": "'fr'",
    "LANG_EN": "'en'",
    "CMP": Msg(N_("a comparison (=, !=, <, <=, >, >=)")),
    "ADD_OP": Msg(N_("'+' or '-'")),
    "MUL_OP": Msg(N_("'*' or '/'")),
    "SIGN": "'-'",
    "$END": Msg(N_("the end of the file")),
}


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from grammar/."""
    packaged = resources.files("stratdsl").joinpath("grammar/stratdsl.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[3] / "grammar" / "stratdsl.lark"
    return checkout.read_text(encoding="utf-8")


# Comments are ignored by the grammar but kept for the formatter: the lexer
# hands each one to whichever list the current parse (in this context) set.
_COMMENTS: contextvars.ContextVar[list[Token] | None] = contextvars.ContextVar("stratdsl_comments", default=None)


def _keep_comment(token: Token) -> Token:
    sink = _COMMENTS.get()
    if sink is not None:
        sink.append(token)
    return token


@functools.cache
def parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": _keep_comment},
        cache=True,  # the parse tables are rebuilt only when the grammar changes: a faster cold start
    )


def parse_with_comments(source: SourceFile) -> tuple[Tree, list[Token]]:
    """Parse one file and return its comments too (with line and column)."""
    comments: list[Token] = []
    token = _COMMENTS.set(comments)
    try:
        return parse(source), comments
    finally:
        _COMMENTS.reset(token)


def parse(source: SourceFile) -> Tree:
    """Parse one file; raise StratError with a located E001/E002 (or E009, too deep) diagnostic."""
    try:
        tree = parser().parse(source.text)
    except UnexpectedInput as error:
        raise StratError([syntax_diagnostic(error, source)]) from None
    problem = _too_deep(tree, source)
    if problem is not None:
        raise StratError([problem])
    numbers = _unreasonable_numbers(tree, source)
    if numbers:
        raise StratError(numbers)
    return tree


def _unreasonable_numbers(tree: Tree, source: SourceFile) -> list[Diagnostic]:
    """E061 for each number written in the policy past the bounds every number has
    (types.number_problem: 28 significant digits, below 10^21, not below 10^-20)."""
    problems = []
    for token in tree.scan_values(lambda v: isinstance(v, Token) and v.type == "NUMBER"):
        problem = number_problem(Decimal(str(token)))
        if problem is not None:
            shown = str(token) if len(token) <= 40 else f"{str(token)[:20]}…{str(token)[-12:]}"
            span = Span(source.name, token.line or 1, token.column or 1, token.end_line or token.line or 1, token.end_column or (token.column or 1) + 1)
            message = Msg(N_("the number {number} is refused: {problem}"), number=shown, problem=problem)
            hint = Msg(N_("numbers have at most 28 significant digits, from 10^-20 to 10^20"))
            problems.append(Diagnostic("E061", message, span, hint=hint))
    return problems


def _span_of(tree: Tree, source: SourceFile) -> Span | None:
    meta = tree.meta
    if getattr(meta, "empty", True):
        return None
    return Span(source.name, meta.line, meta.column, meta.end_line, meta.end_column)


def _too_deep(tree: Tree, source: SourceFile) -> Diagnostic | None:
    """E009 for the first expression nested past MAX_NESTING or chained past MAX_TERMS.

    An explicit stack: the tree may be thousands of levels deep (the parser is not recursive)."""
    stack: list[tuple[Tree, int, bool]] = [(tree, 0, False)]
    while stack:
        node, level, continues_chain = stack.pop()
        if node.data in _CHAINS and not continues_chain:
            links, inner = 1, node
            while isinstance(inner.children[0], Tree) and inner.children[0].data == node.data:
                links, inner = links + 1, inner.children[0]
            if links + 1 > MAX_TERMS:  # n links of the chain join n + 1 conditions
                word = "or" if node.data == "or_op" else "and"
                return Diagnostic(
                    "E009",
                    Msg(N_("more than {limit} conditions are joined by '{word}'"), limit=MAX_TERMS, word=word),
                    _span_of(node, source),
                    hint=Msg(N_("split the condition into several definitions, or use 'in {{ … }}' for a list of values")),
                )
        for position, child in enumerate(node.children):
            if not isinstance(child, Tree):
                continue
            link = position == 0 and child.data in _CHAINS and child.data == node.data
            depth = level + (1 if child.data in _LEVELS and not link else 0)
            if depth > MAX_NESTING:
                return Diagnostic(
                    "E009",
                    Msg(N_("the expression is nested more than {limit} levels deep"), limit=MAX_NESTING),
                    _span_of(child, source),
                    hint=Msg(N_("split it into several definitions; each operator of a long sum counts as one level")),
                )
            stack.append((child, depth, link))
    return None


def _words(expected: set[str]) -> str:
    lark = parser()
    names = []
    for terminal in sorted(expected):
        if terminal in _TERMINAL_WORDS:
            names.append(_TERMINAL_WORDS[terminal])
            continue
        try:
            pattern = lark.get_terminal(terminal).pattern
            names.append(f"'{pattern.value}'")
        except KeyError:
            names.append(terminal.lower())
    names = sorted(set(names), key=lambda w: (w.startswith("a ") or w.startswith("the "), w))
    if len(names) == 1:
        return names[0]
    choices = names[0]
    for name in names[1:-1]:
        # a separator between words, not a sentence: not in the catalogue, the same in every language
        choices = Msg("{choices}, {name}", choices=choices, name=name)
    return Msg(N_("{choices} or {last}"), choices=choices, last=names[-1])


def _keywords(expected: set[str]) -> list[str]:
    lark = parser()
    words = []
    for terminal in expected:
        try:
            value = lark.get_terminal(terminal).pattern.value
        except KeyError:
            continue
        if isinstance(value, str) and value.isalpha():
            words.append(value)
    return words


def syntax_diagnostic(error: UnexpectedInput, source: SourceFile) -> Diagnostic:
    line = getattr(error, "line", 1) or 1
    column = getattr(error, "column", 1) or 1
    if isinstance(error, UnexpectedCharacters):
        char = source.text[error.pos_in_stream] if error.pos_in_stream < len(source.text) else "?"
        span = Span(source.name, line, column, line, column + 1)
        hint: str | None = None
        if char == "'":
            hint = Msg(N_('texts are written in double quotes: "…"'))
        return Diagnostic("E001", Msg(N_("unexpected character '{char}'"), char=char), span, hint=hint)
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        expected = set(getattr(error, "expected", ()) or ())
        lines = source.text.splitlines() or [""]
        end_line = len(lines)
        end_col = len(lines[-1]) + 1
        span = Span(source.name, end_line, end_col, end_line, end_col + 1)
        message = Msg(N_("the file ends too early"))
        if expected:
            message = Msg(N_("the file ends too early: expected {expected}"), expected=_words(expected))
        hint = Msg(N_("a '{{' was opened and never closed")) if "RBRACE" in expected else None
        return Diagnostic("E002", message, span, hint=hint)
    assert isinstance(error, UnexpectedToken)
    token: Token = error.token
    expected = set(error.expected)
    width = max(len(str(token.value)), 1)
    span = Span(source.name, token.line or line, token.column or column, token.line or line, (token.column or column) + width)
    shown = str(token.value)
    message = Msg(N_("unexpected '{token}': expected {expected}"), token=shown, expected=_words(expected))
    hint = None
    if token.type == "NAME":
        hint = did_you_mean(shown, _keywords(expected))
    pos = getattr(token, "start_pos", None)
    if hint is None and (shown == "==" or (shown == "=" and pos and source.text[pos - 1 : pos] == "=")):
        hint = Msg(N_("equality is written with a single '='"))
    if hint is None and token.type == "NAME" and "WHEN" in expected:
        hint = Msg(N_("a rule reads: OUTCOME when CONDITION"))
    return Diagnostic("E002", message, span, hint=hint)
