"""Source files and spans: where every piece of a policy or assessment comes from.

A `Span` is carried by every AST node, every checked node and every diagnostic,
so that errors, explanations, blame and coverage can all point at file:line:col.
Spans never take part in equality: two policies that differ only in layout are
equal (the semantic diff relies on it).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

#: Characters that change how a line looks without being seen (Trojan source, CVE-2021-42574):
#: the bidirectional controls, which reorder what an editor or a code review shows, and a
#: lone CR, which editors show as a line break while the parser does not.
BIDI_CONTROLS = {
    "\u061c": "ARABIC LETTER MARK",
    "\u200e": "LEFT-TO-RIGHT MARK",
    "\u200f": "RIGHT-TO-LEFT MARK",
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u202b": "RIGHT-TO-LEFT EMBEDDING",
    "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE",
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE",
    "\u2068": "FIRST STRONG ISOLATE",
    "\u2069": "POP DIRECTIONAL ISOLATE",
}
HIDDEN = frozenset(["\r", *BIDI_CONTROLS])


def hidden_characters(text: str) -> list[tuple[int, int, str]]:
    """(line, column, character) of every bidi control and lone CR (a CR not followed by LF),
    with lines and columns counted as the parser counts them (only LF ends a line)."""
    found = []
    line, start = 1, 0
    for index, ch in enumerate(text):
        if ch == "\n":
            line, start = line + 1, index + 1
        elif ch in HIDDEN and not (ch == "\r" and text[index + 1 : index + 2] == "\n"):
            found.append((line, index - start + 1, ch))
    return found


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns are 1-based, end inclusive-exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def short(self) -> str:
        return f"{self.file}:{self.line}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


NO_SPAN = Span("<builtin>", 0, 0, 0, 0)


@dataclass(frozen=True)
class SourceFile:
    """The text of one file as it was read, addressed by the name shown to users."""

    name: str
    text: str
    path: Path | None = None
    #: sha256 of the bytes read (what `sha256sum` prints), kept from the moment of reading:
    #: records must name the file that was evaluated, not what is on disk later
    sha256: str | None = None

    def line(self, number: int) -> str:
        """Line `number` as the parser counts lines: only LF ends one (a lone CR, a form feed or
        U+2028 inside a line must not shift the line shown under a message), without its CRLF."""
        lines = self.text.split("\n")
        if 1 <= number <= len(lines):
            return lines[number - 1].removesuffix("\r")
        return ""

    @functools.cached_property
    def _lines(self) -> list[str]:
        """The lines with their LF, split once (an explanation slices the same file tens of times)."""
        lines = self.text.split("\n")
        return [line + "\n" for line in lines[:-1]] + lines[-1:]

    def slice(self, span: Span) -> str:
        """The exact source text a span covers (used to print sub-expressions)."""
        lines = self._lines
        if not (1 <= span.line <= len(lines)):
            return ""
        if span.line == span.end_line:
            return lines[span.line - 1][span.column - 1 : span.end_column - 1]
        parts = [lines[span.line - 1][span.column - 1 :]]
        parts.extend(lines[span.line : span.end_line - 1])
        if span.end_line - 1 < len(lines):
            parts.append(lines[span.end_line - 1][: span.end_column - 1])
        return "".join(parts)


class SourceMap:
    """All files that took part in one run, by display name."""

    def __init__(self) -> None:
        self._files: dict[str, SourceFile] = {}

    def add(self, source: SourceFile) -> None:
        self._files[source.name] = source

    def get(self, name: str) -> SourceFile | None:
        return self._files.get(name)

    def text_of(self, span: Span) -> str:
        source = self._files.get(span.file)
        return " ".join(source.slice(span).split()) if source else ""

    def files(self) -> list[SourceFile]:
        return list(self._files.values())
