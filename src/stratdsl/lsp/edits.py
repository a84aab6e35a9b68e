"""What the language server changes in documents: formatting, "did you mean" fixes, renames.

- formatting: the whole document through `language.fmt` (the same layout as
  `stratdsl fmt`); a document that does not parse is left as it is;
- quick fixes: a diagnostic whose hint says "did you mean 'x'?" offers to
  replace the underlined name by x;
- rename of a decision or a definition: every name token, in every file of the
  policy, that resolves (with the same index hover and go-to-definition use) to
  the declaration under the cursor; a new name must be an identifier that no
  other declaration uses.

Positions here are 1-based (line, code-point column), as in spans; server.py
converts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..language.diagnostics import StratError
from ..language.fmt import format_source
from ..language.source import SourceFile
from .symbols import EXPR_KEYWORDS, RULE_KEYWORDS, TOP_KEYWORDS, Index, Symbol, symbol_at
from .tokens import tokenize

RENAMABLE = ("decision", "definition", "bands")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DID_YOU_MEAN = re.compile(r"did you mean '([^']+)'\?")


@dataclass(frozen=True)
class Replacement:
    file: str  # the file name, as in spans
    line: int
    col: int
    end_col: int
    text: str


def formatted(name: str, text: str) -> str | None:
    """The canonical text of a document, or None when it does not parse (or is already canonical)."""
    try:
        out = format_source(SourceFile(name, text))
    except StratError:
        return None
    return None if out == text else out


def suggestion(message: str) -> str | None:
    """The name a diagnostic's hint proposes ("did you mean 'impact'?"), if any."""
    found = _DID_YOU_MEAN.search(message)
    return found.group(1) if found else None


class RenameError(ValueError):
    pass


def renamable(idx: Index, text: str, line: int, col: int) -> tuple[Symbol, tuple[int, int, int]] | None:
    """The decision or definition under the cursor and where its name is written there."""
    symbol, token = symbol_at(idx, text, line, col)
    if symbol is None or token is None or symbol.kind not in RENAMABLE or symbol.span is None:
        return None
    return symbol, (token.line, token.col, token.end)


def rename(idx: Index, texts: dict[str, str], target: Symbol, new_name: str) -> list[Replacement]:
    """Every occurrence of `target`'s name that means `target`, in every file, replaced by `new_name`."""
    if not _IDENT.match(new_name) or new_name in (*EXPR_KEYWORDS, *RULE_KEYWORDS, *TOP_KEYWORDS):
        raise RenameError(f"'{new_name}' is not a name the language accepts")
    if new_name != target.name and idx.decl_symbol(new_name) is not None:
        raise RenameError(f"'{new_name}' is already declared")
    out: list[Replacement] = []
    for file, text in texts.items():
        for token in tokenize(text):
            if token.kind != "name" or token.text != target.name:
                continue
            found, _ = symbol_at(idx, text, token.line, token.col)
            if found is not None and found.kind == target.kind and found.span == target.span:
                out.append(Replacement(file, token.line, token.col, token.end, new_name))
    return out
