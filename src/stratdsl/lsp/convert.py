"""Spans and diagnostics → LSP types.

A `Span` is 1-based, its columns count code points and its end is exclusive;
an LSP position is 0-based and its character counts code units of the
negotiated encoding (UTF-16 unless the client chose otherwise). So a column
is converted with the text of its line: `é` is one unit in UTF-16, an emoji
two.
"""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types

from ..language.diagnostics import Diagnostic, Severity
from ..language.source import Span

#: Warnings about code that does nothing: editors grey it out.
UNNECESSARY = {"W101", "W102", "W103", "W106"}

_UNITS: dict[str, Callable[[str], int]] = {
    "utf-8": lambda ch: len(ch.encode("utf-8")),
    "utf-16": lambda ch: 2 if ord(ch) > 0xFFFF else 1,
    "utf-32": lambda ch: 1,
}


class Positions:
    """Converts positions for a set of files, given their texts (file name in spans → text)."""

    def __init__(self, texts: dict[str, str], encoding: str = "utf-16") -> None:
        self.texts = texts
        self.units = _UNITS.get(str(encoding).lower(), _UNITS["utf-16"])
        self._lines: dict[str, list[str]] = {}

    def lines(self, file: str) -> list[str]:
        if file not in self._lines:
            self._lines[file] = self.texts.get(file, "").split("\n")
        return self._lines[file]

    def to_client(self, file: str, line: int, column: int) -> types.Position:
        """1-based line and code-point column → LSP position."""
        if line <= 0:
            return types.Position(line=0, character=0)
        lines = self.lines(file)
        text = lines[line - 1] if line - 1 < len(lines) else ""
        column = max(column, 1)
        within = text[: column - 1]
        units = sum(self.units(ch) for ch in within) + max(0, column - 1 - len(text))
        return types.Position(line=line - 1, character=units)

    def range(self, span: Span | None) -> types.Range:
        if span is None or span.line <= 0:
            zero = types.Position(line=0, character=0)
            return types.Range(start=zero, end=zero)
        return types.Range(
            start=self.to_client(span.file, span.line, span.column),
            end=self.to_client(span.file, span.end_line, span.end_column),
        )


def from_client(text: str, position: types.Position, encoding: str = "utf-16") -> tuple[int, int]:
    """LSP position → 1-based line and code-point column."""
    units_of = _UNITS.get(str(encoding).lower(), _UNITS["utf-16"])
    lines = text.split("\n")
    if position.line >= len(lines):
        return len(lines), len(lines[-1]) + 1
    line = lines[position.line]
    units = 0
    for index, ch in enumerate(line):
        if units >= position.character:
            return position.line + 1, index + 1
        units += units_of(ch)
    return position.line + 1, len(line) + 1


def diagnostic(
    d: Diagnostic,
    positions: Positions,
    uri_of: Callable[[str], str | None],
) -> types.Diagnostic:
    """One checker diagnostic as an LSP diagnostic: code, severity, range; the hint on a line of its own; notes as related information."""
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    related = []
    for note, span in d.notes:
        uri = uri_of(span.file) if span is not None else None
        if uri is not None and span is not None:
            related.append(
                types.DiagnosticRelatedInformation(location=types.Location(uri=uri, range=positions.range(span)), message=note)
            )
    return types.Diagnostic(
        range=positions.range(d.span),
        message=message,
        severity=types.DiagnosticSeverity.Error if d.severity is Severity.ERROR else types.DiagnosticSeverity.Warning,
        code=d.code,
        source="stratdsl",
        related_information=related or None,
        tags=[types.DiagnosticTag.Unnecessary] if d.code in UNNECESSARY else None,
    )
