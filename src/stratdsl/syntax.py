"""Parsing: source text → Lark parse tree, and syntax errors as diagnostics.

The grammar is `grammar/stratdsl.lark` (shipped inside the wheel as
`stratdsl/grammar/stratdsl.lark`). Syntax errors name what was expected in
words a policy author understands, not in terminal names.
"""

from __future__ import annotations

import contextvars
import functools
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .diagnostics import Diagnostic, StratError, did_you_mean
from .source import SourceFile, Span

# Words for the terminals users meet in "expected …" messages.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": 'a text in double quotes ("…")',
    "NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "LANG_FR": "'fr'",
    "LANG_EN": "'en'",
    "CMP": "a comparison (=, !=, <, <=, >, >=)",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*' or '/'",
    "SIGN": "'-'",
    "$END": "the end of the file",
}


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from grammar/."""
    packaged = resources.files("stratdsl").joinpath("grammar/stratdsl.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "grammar" / "stratdsl.lark"
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
    """Parse one file; raise StratError with a located E001/E002 diagnostic on bad syntax."""
    try:
        return parser().parse(source.text)
    except UnexpectedInput as error:
        raise StratError([syntax_diagnostic(error, source)]) from None


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
    return ", ".join(names[:-1]) + " or " + names[-1]


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
        hint = None
        if char == "'":
            hint = 'texts are written in double quotes: "…"'
        return Diagnostic("E001", f"unexpected character '{char}'", span, hint=hint)
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        expected = set(getattr(error, "expected", ()) or ())
        lines = source.text.splitlines() or [""]
        end_line = len(lines)
        end_col = len(lines[-1]) + 1
        span = Span(source.name, end_line, end_col, end_line, end_col + 1)
        message = "the file ends too early"
        if expected:
            message += f": expected {_words(expected)}"
        hint = "a '{' was opened and never closed" if "RBRACE" in expected else None
        return Diagnostic("E002", message, span, hint=hint)
    assert isinstance(error, UnexpectedToken)
    token: Token = error.token
    expected = set(error.expected)
    width = max(len(str(token.value)), 1)
    span = Span(source.name, token.line or line, token.column or column, token.line or line, (token.column or column) + width)
    shown = str(token.value)
    message = f"unexpected '{shown}': expected {_words(expected)}"
    hint = None
    if token.type == "NAME":
        hint = did_you_mean(shown, _keywords(expected))
    pos = getattr(token, "start_pos", None)
    if hint is None and (shown == "==" or (shown == "=" and pos and source.text[pos - 1 : pos] == "=")):
        hint = "equality is written with a single '='"
    if hint is None and token.type == "NAME" and "WHEN" in expected:
        hint = "a rule reads: OUTCOME when CONDITION"
    return Diagnostic("E002", message, span, hint=hint)
