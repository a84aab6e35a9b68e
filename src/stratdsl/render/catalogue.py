"""One message catalogue for every word stratdsl shows people: gettext, domain `stratdsl`.

English is the source language: a message id is the English text, so English
needs no catalogue. The French catalogue is `stratdsl/locale/fr/LC_MESSAGES/
stratdsl.po` (edited by translators), compiled with Babel into the `.mo` next to
it, which is committed so that a fresh clone and a wheel both have it
(tests/test_catalogue.py checks the `.mo` is the compilation of the `.po`, and
`STRATDSL_REGEN=1` recompiles it). Nothing here reads the process locale except
`default_lang`, and only when neither `--lang` nor the policy says.

Two ways in:
- `gettext_for(lang)` gives `_`, for text written at the call site: `_("as of {date}")`;
- `table(name, {key: english})` gives `{lang: {key: text}}` for the report's,
  the service's and the questionnaire's frames, which are looked up by key; each
  entry is translated in its own context `name.key`, so one English word can
  have two French translations.
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (not at run time: `--version` and `--help` would import the AST)
    from ..language import ir

DOMAIN = "stratdsl"
LANGS = ("fr", "en")
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"

#: every keyed table, by name: what tests/test_catalogue.py checks is translated
TABLES: dict[str, Mapping[str, Any]] = {}


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    if lang not in LANGS:
        raise ValueError(f"unsupported language '{lang}' (fr or en)")
    if lang == "en":
        return gettext.NullTranslations()
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as handle:
        return gettext.GNUTranslations(handle)


def gettext_for(lang: str) -> Callable[[str], str]:
    """`_` for one language."""
    return translations(lang).gettext


def ngettext_for(lang: str) -> Callable[[str, str, int], str]:
    return translations(lang).ngettext


def N_(text: str) -> str:
    """Mark an English text as a message id where it is defined; it is translated where shown."""
    return text


def compile_po(po_bytes: bytes) -> bytes:
    """The .mo for a .po, compiled with Babel (a development and test dependency only)."""
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = read_po(io.BytesIO(po_bytes))
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def table(name: str, english: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A keyed table of English texts (or tuples of them), in every language."""
    TABLES[name] = english
    out: dict[str, dict[str, Any]] = {}
    for lang in LANGS:
        t = translations(lang)
        words: dict[str, Any] = {}
        for key, text in english.items():
            if isinstance(text, tuple):
                words[key] = tuple(t.pgettext(f"{name}.{key}.{i}", item) for i, item in enumerate(text))
            else:
                words[key] = t.pgettext(f"{name}.{key}", text)
        out[lang] = words
    return out


def policy_lang(policy: ir.CheckedPolicy | None) -> str | None:
    """The language the policy's own label gives first, if it has one."""
    label = policy.meta.label if policy is not None else None
    if label is None:
        return None
    if label.first in LANGS:
        return label.first
    return "fr" if label.fr else ("en" if label.en else None)


def env_lang() -> str | None:
    """fr or en from LC_ALL, LC_MESSAGES or LANG (the first one set), else None."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            code = value.split("_")[0].split(".")[0].lower()
            return code if code in LANGS else None
    return None


def default_lang(policy: ir.CheckedPolicy | None = None, explicit: str | None = None) -> str:
    """`--lang` when given, else the policy's first language, else the environment's, else English."""
    return explicit or policy_lang(policy) or env_lang() or "en"
