"""Messages that know their template: said in English, shown in the reader's language.

A stage that produces words for people (a diagnostic, a why-not note) writes
`Msg(N_("'{value}' is text, not a number"), value=raw)`. The result *is* the
English text (a `str`: JSON, logs, tests and equality see English), and keeps
its template and arguments so that a renderer can say it in French with the
one catalogue (render/catalogue.py): `msg.translate(gettext)`. Arguments that
are themselves `Msg` are translated too; other arguments (names, values, paths)
are shown as they are. `N_` marks the template for Babel's extraction.
"""

from __future__ import annotations

from typing import Any


def N_(text: str) -> str:
    """Mark an English message id: extracted into the catalogue, translated where shown."""
    return text


class Msg(str):
    """An English message that knows its template and arguments (see the module)."""

    template: str
    args: dict[str, Any]

    def __new__(cls, template: str, **args: Any) -> Msg:
        self = super().__new__(cls, template.format(**{k: str(v) for k, v in args.items()}))
        self.template = template
        self.args = args
        return self

    def translate(self, gettext: Any) -> str:
        return gettext(self.template).format(**{k: translate(v, gettext) for k, v in self.args.items()})

    def __reduce__(self) -> Any:
        return (_msg, (self.template, self.args))


def _msg(template: str, args: dict[str, Any]) -> Msg:
    return Msg(template, **args)


def translate(text: Any, gettext: Any) -> Any:
    """A message in the language of `gettext` (a plain text, or None, as it is)."""
    return text.translate(gettext) if isinstance(text, Msg) else text
