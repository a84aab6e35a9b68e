"""Diagnostics → compiler-style text (`file:line:col: error[E012]: …`, source line, caret) or JSON."""

from __future__ import annotations

import json

from ..language.diagnostics import Diagnostic
from ..language.messages import translate
from ..language.source import HIDDEN, SourceMap
from .catalogue import gettext_for, ngettext_for


def visible(line: str) -> str:
    """A source line as it may be printed on a terminal: the characters of source.HIDDEN (bidi
    controls, a lone CR: Trojan source) shown as U+FFFD, one column each so that the caret
    stays in place, never obeyed by the terminal."""
    if not any(ch in HIDDEN for ch in line):
        return line
    return "".join("\ufffd" if ch in HIDDEN else ch for ch in line)


def render_diagnostic(d: Diagnostic, sources: SourceMap | None, lang: str = "en") -> str:
    """One diagnostic as a compiler prints it, its frame and (where the message is a `Msg`)
    its words in `lang`; codes, paths, names and values stay as they are."""
    _ = gettext_for(lang)
    colon = " : " if lang == "fr" else ": "
    where = f"{d.span}: " if d.span and d.span.line > 0 else (f"{d.span.file}: " if d.span else "")
    severity = _("error") if d.is_error else _("warning")
    hint = translate(d.hint, _)
    lines = [f"{where}{severity}[{d.code}]{colon}{translate(d.message, _)}"]
    source = sources.get(d.span.file) if (sources and d.span and d.span.line > 0) else None
    if source is not None:
        text = visible(source.line(d.span.line).rstrip("\n"))
        number = str(d.span.line)
        pad = " " * len(number)
        start = d.span.column
        end = d.span.end_column if d.span.end_line == d.span.line else len(text) + 1
        width = max(1, end - start)
        lines.append(f"{pad} |")
        lines.append(f"{number} | {text}")
        caret = " " * (start - 1) + "^" * width
        lines.append(f"{pad} | {caret}" + (f" {hint}" if hint else ""))
    elif hint:
        hint_word = _("hint")
        lines.append(f"  = {hint_word}{colon}{hint}")
    note_word = _("note")
    for message, _span in d.notes:
        lines.append(f"  = {note_word}{colon}{translate(message, _)}")
    return "\n".join(lines)


def render_text(diagnostics: list[Diagnostic], sources: SourceMap | None, lang: str = "en") -> str:
    return "\n\n".join(render_diagnostic(d, sources, lang) for d in diagnostics)


def summary(diagnostics: list[Diagnostic], lang: str = "en") -> str:
    """`2 errors, 1 warning` in `lang`."""
    ngettext = ngettext_for(lang)
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    return ngettext("{n} error", "{n} errors", errors).format(n=errors) + ", " + ngettext("{n} warning", "{n} warnings", warnings).format(n=warnings)


def render_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps({"diagnostics": [d.to_json() for d in diagnostics]}, indent=2, ensure_ascii=False, sort_keys=True)
