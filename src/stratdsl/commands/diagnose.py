"""The terminal questionnaire: `stratdsl diagnose` asks the policy's questions,
re-asks on a bad answer, lets the user add use cases one after another, saves
the assessment after every answer (so a half-filled file resumes), and prints
the pre-diagnosis with the answers that would settle what is still open."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from ..engine import run
from ..language import ir
from ..render import labels
from ..render.catalogue import gettext_for, table
from ..runtime.assessment import read_data, validate
from ..runtime.values import format_value
from .questionnaire import (
    NO,
    YES,
    AnswerError,
    Question,
    assumed_answers,
    get_answer,
    next_questions,
    parse_answer,
    questions,
    relevant_now,
    set_answer,
    slug,
    summary_decisions,
    to_yaml,
)

#: the English text of each word (the message ids of the catalogue, render/catalogue.py);
#: the translations are in stratdsl/locale/<lang>/LC_MESSAGES/stratdsl.po
_DIAGNOSE_EN = {
    "title": "Express AI diagnostic",
    "resume": "Resuming {path}: the answers already given are kept.",
    "unknown": "(Leave empty or type '?' if you don't know.)",
    "add": "Add an entry: {what}?",
    "another": "Add another one: {what}?",
    "saved": "Assessment saved to {path}",
    "pre": "Pre-diagnosis",
    "open": "To complete the diagnostic, answer these first:",
    "undetermined": "to be completed",
    "possible": "possible",
}
WORDS = table("diagnose", _DIAGNOSE_EN)


_HELP_SHOWN: set[str] = set()


def _ask(q: Question, lang: str, prefix: str = "") -> Any:
    title = f"{q.member_label} — {q.label}" if q.member_label else q.label
    click.echo("")
    click.echo(f"{prefix}{title}")
    if q.help and q.help not in _HELP_SHOWN:  # a help shared by several questions is shown once
        _HELP_SHOWN.add(q.help)
        click.echo(f"  {q.help}")
    for n, choice in enumerate(q.choices, start=1):
        click.echo(f"  {n}. {choice.label}")
    while True:
        raw = click.prompt(f"  [{q.describe_type(lang)}]", default="", show_default=False)
        try:
            return parse_answer(q, raw, lang)
        except AnswerError as error:
            click.echo(f"  ✗ {error}")


def _confirm(text: str, lang: str, default: bool) -> bool:
    choices = ("O/n" if default else "o/N") if lang == "fr" else ("Y/n" if default else "y/N")
    while True:
        raw = click.prompt(f"{text} [{choices}]", default="", show_default=False).strip().lower()
        if not raw:
            return default
        if raw in YES:
            return True
        if raw in NO:
            return False
        _ = gettext_for(lang)
        click.echo("  ✗ " + _("answer yes or no"))


def _save(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(to_yaml(data), encoding="utf-8")


def run_questionnaire(policy: ir.CheckedPolicy, output: Path | None, lang: str, full: bool, as_of: date) -> None:
    w = WORDS[lang]
    data: dict[str, Any] = {}
    if output is not None and output.exists():
        loaded, _ = read_data(output, str(output))
        data = loaded or {}
        click.echo(w["resume"].format(path=output))
    click.echo(f"{w['title']} — {policy.name} {policy.version}")
    click.echo(w["unknown"])
    asked = questions(policy, lang, express_only=not full)
    single = [q for q in asked if q.kind != "many"]
    per_entity = [q for q in asked if q.kind == "many"]
    for q in single:
        if get_answer(data, q) is not None or not relevant_now(policy, data, [q]):
            continue
        value = _ask(q, lang)
        set_answer(data, q, value)
        _save(output, data)
    # one loop per repeated input (AI tools in use, use cases…), in the express order
    for input_name in dict.fromkeys(q.input_name for q in per_entity):
        qs = [q for q in per_entity if q.input_name == input_name]
        what = labels.text(policy.inputs[input_name].meta.label, lang, input_name)
        name_field = next((q for q in qs if q.required), None)
        items = data.setdefault(input_name, [])
        for item in items:
            _fill_entity(policy, data, item["id"], qs, lang, output)
        prompt = (w["add"] if not items else w["another"]).format(what=what)
        while _confirm(prompt, lang, default=not items):
            n = len(data[input_name]) + 1
            click.echo(f"\n== {what} — {n} ==")
            ident = f"{input_name[:2]}{n}"
            if name_field is not None:
                name = _ask(name_field, lang)
                ident = slug(str(name), {i["id"] for i in data[input_name]})
                data[input_name].append({"id": ident, name_field.field: name})
            else:
                data[input_name].append({"id": ident})
            _save(output, data)
            _fill_entity(policy, data, ident, qs, lang, output)
            prompt = w["another"].format(what=what)
    _save(output, data)
    if output is not None:
        click.echo("\n" + w["saved"].format(path=output))
    assessment = validate(policy, data, str(output or "questionnaire"))
    result, _ = run(policy, assessment, as_of)
    click.echo("")
    click.echo(render_prediagnosis(policy, result, lang, assessment))


def _fill_entity(policy: ir.CheckedPolicy, data: dict[str, Any], ident: str, qs: list[Question], lang: str, output: Path | None) -> None:
    for q in qs:
        # a detail question is asked only once the earlier answers make it relevant (`ask when`)
        if get_answer(data, q, ident) is not None or not relevant_now(policy, data, [q], ident):
            continue
        value = _ask(q, lang, prefix=f"[{ident}] ")
        set_answer(data, q, value, ident)
        _save(output, data)


def render_prediagnosis(policy: ir.CheckedPolicy, result: Any, lang: str, assessment: Any = None) -> str:
    w = WORDS[lang]
    out = [f"== {w['pre']} — {policy.name} ==", ""]
    shown = summary_decisions(policy)
    for decision in shown:
        title = labels.decision_label(policy, decision.name, lang)
        for d in (x for x in result.decisions if x.decision == decision.name):
            who = f"{d.entity}: " if d.entity else ""
            if d.status == "decided":
                value = labels.outcome_label(policy, d.decision, d.outcome, lang)
                cites = "; ".join(c.text for c in d.cites)
                out.append(f"{title} — {who}{value}" + (f"  ({cites})" if cites else ""))
                if d.assumed:
                    out.append(f"    {assumed_answers(policy, result, d.assumed, lang)}")
            else:
                possible = ", ".join(labels.outcome_label(policy, d.decision, o, lang) for o in d.possible)
                out.append(f"{title} — {who}{w['undetermined']} ({w['possible']}: {possible})")
    for v in result.values:
        definition = policy.definitions[v.definition]
        if v.entity is None and definition.meta.express is not None:
            shown = w["undetermined"] if v.missing else format_value(v.value)
            if lang == "fr":
                shown = shown.replace(".", ",")
            out.append(f"{labels.definition_label(policy, v.definition, lang)}{' : ' if lang == 'fr' else ': '}{shown}")
    nxt = next_questions(policy, result, lang, assessment=assessment)
    if nxt:
        out.append("")
        out.append(w["open"])
        for q in nxt:
            out.append(f"  • {q.label}  ({q.fact})")
    return "\n".join(out) + "\n"
