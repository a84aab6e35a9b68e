"""Errors and warnings as data.

Every stage reports problems as `Diagnostic` values (code, severity, message,
span, hint) collected in a list, never as Python exceptions reaching the user.
`StratError` carries a list of diagnostics across stage boundaries when a stage
cannot go on. Rendering lives in `render.diagnostics`; the codes are listed in
docs/errors.md.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from .messages import N_, Msg
from .source import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    severity: Severity = Severity.ERROR
    hint: str | None = None
    notes: tuple[tuple[str, Span | None], ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "span": self.span.to_json() if self.span else None,
            "hint": self.hint,
            "notes": [{"message": m, "span": s.to_json() if s else None} for m, s in self.notes],
        }


class StratError(Exception):
    """Raised when a stage cannot continue; carries every diagnostic found so far."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


class Diagnostics:
    """An ordered collector used inside a stage."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        hint: str | None = None,
        notes: tuple[tuple[str, Span | None], ...] = (),
    ) -> None:
        self.items.append(Diagnostic(code, message, span, Severity.ERROR, hint, notes))

    def warning(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, message, span, Severity.WARNING, hint))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise StratError(sorted_diagnostics(self.items))


def sorted_diagnostics(items: list[Diagnostic]) -> list[Diagnostic]:
    """Stable order for output: by file, line, column, then code."""

    def key(d: Diagnostic) -> tuple[str, int, int, str]:
        if d.span is None:
            return ("", 0, 0, d.code)
        return (d.span.file, d.span.line, d.span.column, d.code)

    return sorted(items, key=key)


# Each suggestion compares a name with every candidate: within one stage (`suggestions`),
# only the first MAX_SUGGESTIONS unknown names get one, so that thousands of unknown
# names in thousands of declarations cost linear time, not quadratic.
MAX_SUGGESTIONS = 100
_SUGGESTIONS_LEFT: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("stratdsl_suggestions", default=None)


@contextlib.contextmanager
def suggestions(limit: int | None = None) -> Iterator[None]:
    """Bound the calls of `did_you_mean` that may suggest something while this block runs."""
    token = _SUGGESTIONS_LEFT.set([MAX_SUGGESTIONS if limit is None else limit])
    try:
        yield
    finally:
        _SUGGESTIONS_LEFT.reset(token)


def did_you_mean(name: str, candidates: list[str] | set[str]) -> Msg | None:
    """A suggestion for a misspelt name, or None when nothing is close."""
    left = _SUGGESTIONS_LEFT.get()
    if left is not None:
        if left[0] <= 0:
            return None
        left[0] -= 1
    # difflib's ratio is 2·matches / (len(a) + len(b)) and matches <= the shorter length:
    # names of very different lengths can never reach the 0.6 cutoff, so skip them unsorted
    size = len(name)
    close_in_length = [c for c in candidates if not (c or name) or 2.0 * min(len(c), size) / (len(c) + size) >= 0.6]
    close = difflib.get_close_matches(name, sorted(close_in_length), n=1, cutoff=0.6)
    return Msg(N_("did you mean '{name}'?"), name=close[0]) if close else None
