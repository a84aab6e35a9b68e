"""The one message catalogue: every word the CLI, the report, the service and the questionnaire show.

- the committed .mo is exactly Babel's compilation of the .po (`STRATDSL_REGEN=1` recompiles it);
- every message id in the code (`_("…")`, `N_("…")`, extracted by Babel) and every
  entry of a keyed table has a French translation, and the .po holds nothing else;
- a translation keeps the `{placeholders}` of its message id.
"""

from __future__ import annotations

import importlib
import io
import re

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from helpers import REGEN
from stratdsl.render import catalogue

SRC = catalogue.LOCALE_DIR.parent
PO = catalogue.LOCALE_DIR / "fr" / "LC_MESSAGES" / "stratdsl.po"
MO = PO.with_suffix(".mo")
#: the modules that define keyed tables (imported so that they register them)
TABLE_MODULES = ("stratdsl.report.i18n", "stratdsl.commands.service", "stratdsl.commands.diagnose")


def _catalog():
    return read_po(io.BytesIO(PO.read_bytes()))


def _wanted() -> set[tuple[str | None, str]]:
    wanted: set[tuple[str | None, str]] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(SRC), method_map=[("**.py", "python")], keywords={"_": None, "N_": None, "ngettext": (1, 2), "n_": (1, 2)}
    ):
        wanted.add((context, message))
    # the command line's help texts, written in English where the commands are declared
    from stratdsl.commands.cli import main
    from stratdsl.commands.helptext import help_texts

    wanted.update((None, text) for text in help_texts(main))
    for module in TABLE_MODULES:
        importlib.import_module(module)
    for name, words in catalogue.TABLES.items():
        for key, text in words.items():
            if isinstance(text, tuple):
                wanted.update((f"{name}.{key}.{i}", item) for i, item in enumerate(text))
            else:
                wanted.add((f"{name}.{key}", text))
    return wanted


def test_the_mo_is_the_compiled_po():
    compiled = catalogue.compile_po(PO.read_bytes())
    if REGEN:
        MO.write_bytes(compiled)
    assert MO.read_bytes() == compiled, "run STRATDSL_REGEN=1 pytest tests/test_catalogue.py to recompile the .mo"


def test_every_message_is_translated_and_nothing_else_is_kept():
    catalog = _catalog()
    have = {(m.context, m.id) for m in catalog if m.id}
    wanted = _wanted()
    missing = sorted(wanted - have, key=str)
    assert not missing, f"no French translation for: {missing[:20]}"
    untranslated = sorted((m.context, m.id) for m in catalog if m.id and not m.string)
    assert not untranslated, untranslated
    obsolete = sorted(have - wanted, key=str)
    assert not obsolete, f"translations no code uses any more: {obsolete[:20]}"


def test_translations_keep_their_placeholders():
    def names(text: str) -> set[str]:
        return set(re.findall(r"\{\w*\}", text))

    for m in _catalog():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set().union(*(names(i) for i in ids))
        for text in strings:
            assert names(text) == wanted, (m.id, m.string)


def test_english_is_the_message_id_and_french_comes_from_the_mo():
    assert catalogue.gettext_for("en")("as of {date}") == "as of {date}"
    assert catalogue.gettext_for("fr")("as of {date}") == "au {date}"
    assert catalogue.table("probe", {"k": "Rank"})["fr"]["k"] == "Rank"  # no entry in that context: the id
