"""The questionnaire: questions taken from the policy's own input declarations.

Labels, help texts, ranges, choices and their labels, in French and English,
all come from the `input` and `enum` declarations; `express N` marks the
questions of the five-minute diagnostic and their order. Answers typed by a
person are parsed here (the same rules for the terminal and the web form),
and the pre-diagnosis lists what stays undetermined and which questions,
answered next, would settle the most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ..language import ir
from ..language.ast import Text
from ..language.types import BoolT, DateT, EnumT, ListT, NumberT, TextT, Type, number_problem
from ..render.catalogue import gettext_for
from ..runtime.result import Result

YES = {"oui", "o", "yes", "y", "true", "vrai", "1"}
NO = {"non", "n", "no", "false", "faux", "0"}
UNKNOWN_WORDS = {"", "?", "unknown", "inconnu", "je ne sais pas", "nsp"}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    input_name: str
    kind: str  # record, group, many
    field: str
    member: str | None  # group member
    type: Type
    label: str
    help: str | None
    choices: tuple[Choice, ...]
    express: int | None
    required: bool
    member_label: str | None = None
    ask_when: Any = None  # ir.Expr of `ask when`: asked only when earlier answers make it true

    @property
    def key(self) -> str:
        """The form field name and the fact path pattern: organization.headcount, maturity.governance.owned, usecases.*.hours_per_week."""
        if self.kind == "group":
            return f"{self.input_name}.{self.member}.{self.field}"
        if self.kind == "many":
            return f"{self.input_name}.*.{self.field}"
        return f"{self.input_name}.{self.field}"

    def fact(self, entity: str | None = None) -> str:
        """The fact path as the evaluator names missing facts."""
        if self.kind == "many":
            return f"{self.input_name}[{entity}].{self.field}"
        return self.key

    @property
    def is_list(self) -> bool:
        return isinstance(self.type, ListT)

    def describe_type(self, lang: str) -> str:
        t = self.type
        _ = gettext_for(lang)
        if isinstance(t, BoolT):
            return _("yes / no")
        if isinstance(t, NumberT):
            word = _("whole number") if t.integer else _("number")
            if t.low is not None and t.high is not None:
                return _("{word}, {low} to {high}").format(word=word, low=_fmt(t.low), high=_fmt(t.high))
            return word
        if isinstance(t, DateT):
            return _("date YYYY-MM-DD")
        if isinstance(t, ListT):
            return _("numbers separated by commas")
        if isinstance(t, EnumT):
            return _("a number")
        return _("text")


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


def _text(t: Text | None, lang: str, fallback: str) -> str:
    return (t.get(lang) if t else None) or fallback


def _choices(policy: ir.CheckedPolicy, t: Type, lang: str) -> tuple[Choice, ...]:
    enum = t.element if isinstance(t, ListT) else t
    if not isinstance(enum, EnumT):
        return ()
    declared = policy.enums.get(enum.name)
    labels = declared.labels if declared else {}
    return tuple(Choice(v, _text(labels.get(v), lang, v.replace("_", " "))) for v in enum.values)


_FACT = re.compile(r"^(?P<input>\w+)(?:\[[^\]]+\])?(?:\.(?P<member>\w+))?\.(?P<field>\w+)$")


def fact_label(policy: ir.CheckedPolicy, path: str, lang: str = "fr") -> str:
    """The question behind a fact path (`usecases[x].law_enforcement`), as the person was asked it."""
    match = _FACT.match(path)
    item = policy.inputs.get(match["input"]) if match else None
    f = item.fields.get(match["field"]) if item is not None and match else None
    return _text(f.meta.label, lang, f.name.replace("_", " ")) if f is not None else path


def assumed_answers(policy: ir.CheckedPolicy, result: Any, paths: tuple[str, ...], lang: str = "fr") -> str:
    """`assumed: <question> = no — answer to confirm` for the defaulted facts a result rests on."""
    words = {"fr": ("supposé", "à confirmer", "oui", "non"), "en": ("assumed", "answer to confirm", "yes", "no")}[lang]

    def shown(value: Any) -> str:
        return words[2] if value is True else words[3] if value is False else str(value)

    parts = [f"{fact_label(policy, p, lang)} = {shown(result.assumed.get(p))}" for p in paths]
    return f"{words[0]} : {'; '.join(parts)} — {words[1]}" if lang == "fr" else f"{words[0]}: {'; '.join(parts)} — {words[1]}"


def questions(policy: ir.CheckedPolicy, lang: str = "fr", express_only: bool = False) -> list[Question]:
    """Every question, in declaration order — or the express ones, in their `express` order."""
    out: list[Question] = []
    for item in policy.inputs.values():
        members = list(item.members) if item.kind == "group" else [None]
        member_labels = policy.enums[item.member_enum].labels if item.member_enum in policy.enums else {}
        for member in members:
            for f in item.fields.values():
                if express_only and f.meta.express is None and not f.required:
                    continue
                label = _text(f.meta.label, lang, f.name.replace("_", " "))
                out.append(
                    Question(
                        item.name,
                        item.kind,
                        f.name,
                        member,
                        f.type,
                        label,
                        _text(f.meta.help, lang, "") or None,
                        _choices(policy, f.type, lang),
                        f.meta.express,
                        f.required,
                        _text(member_labels.get(member), lang, member or "") if member else None,
                        f.ask_when,
                    )
                )
    if express_only:
        # a group is asked member by member (all questions of one dimension
        # together), at the place of its first express question
        first: dict[str, int] = {}
        for q in out:
            if q.express is not None:
                first[q.input_name] = min(first.get(q.input_name, q.express), q.express)
        for q in out:
            first.setdefault(q.input_name, 0)
        members = {i.name: list(i.members) for i in policy.inputs.values()}

        def key(q: Question) -> tuple:
            if q.kind == "group":
                return (first[q.input_name], members[q.input_name].index(q.member), q.express or 0)
            if q.express is None:  # a required question without a number opens its input's questions
                return (first[q.input_name], -1, 0)
            return (q.express, 0, 0)

        out.sort(key=key)
    return out


class AnswerError(ValueError):
    pass


def parse_answer(q: Question, raw: str, lang: str = "fr") -> Any:
    """A typed value from what a person typed; None for "I don't know". Raises AnswerError with a message in `lang`."""
    text = raw.strip()
    _ = gettext_for(lang)
    if text.lower() in UNKNOWN_WORDS:
        if q.required:
            raise AnswerError(_("this answer is required"))
        return None
    t = q.type
    if isinstance(t, BoolT):
        if text.lower() in YES:
            return True
        if text.lower() in NO:
            return False
        raise AnswerError(_("answer yes or no"))
    if isinstance(t, NumberT):
        try:
            value = Decimal(text.replace(" ", "").replace("\u202f", "").replace(",", "."))
        except InvalidOperation:
            raise AnswerError(_("this is not a number")) from None
        # no infinities, and no 1e-999999999 that would print as a billion digits
        if number_problem(value) is not None:
            raise AnswerError(_("this is not a reasonable number"))
        if t.integer and value != value.to_integral_value():
            raise AnswerError(_("a whole number is expected"))
        if t.low is not None and value < t.low:
            raise AnswerError(_("the minimum is {value}").format(value=_fmt(t.low)))
        if t.high is not None and value > t.high:
            raise AnswerError(_("the maximum is {value}").format(value=_fmt(t.high)))
        return int(value) if t.integer else value
    if isinstance(t, DateT):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise AnswerError(_("a date YYYY-MM-DD is expected")) from None
    if isinstance(t, EnumT):
        return _one_choice(q, text, lang)
    if isinstance(t, ListT):
        if text.lower() in ("aucun", "aucune", "none", "rien", "[]"):
            return []
        parts = [p for p in re.split(r"[,;]\s*|\s+", text) if p]
        return sorted({_one_choice(q, p, lang) for p in parts}, key=lambda v: [c.value for c in q.choices].index(v))
    if isinstance(t, TextT):
        if len(text) > 10_000:
            raise AnswerError(_("text too long"))
        return text
    return text


def _one_choice(q: Question, text: str, lang: str) -> str:
    values = [c.value for c in q.choices]
    if text.isdecimal() and text.isascii() and 1 <= int(text) <= len(values):
        return values[int(text) - 1]
    if text in values:
        return text
    for c in q.choices:
        if c.label.lower() == text.lower():
            return c.value
    _ = gettext_for(lang)
    raise AnswerError(_("choose a number between 1 and {n}").format(n=len(values)))


def set_answer(data: dict[str, Any], q: Question, value: Any, entity: str | None = None) -> None:
    """Put an answer at its place in assessment data (None removes it: unknown)."""
    if q.kind == "record":
        node = data.setdefault(q.input_name, {})
    elif q.kind == "group":
        node = data.setdefault(q.input_name, {}).setdefault(q.member, {})
    else:
        items = data.setdefault(q.input_name, [])
        node = next((i for i in items if i.get("id") == entity), None)
        if node is None:
            node = {"id": entity}
            items.append(node)
    if value is None:
        node.pop(q.field, None)
    else:
        node[q.field] = value


def get_answer(data: dict[str, Any], q: Question, entity: str | None = None) -> Any:
    if q.kind == "record":
        return (data.get(q.input_name) or {}).get(q.field)
    if q.kind == "group":
        return ((data.get(q.input_name) or {}).get(q.member) or {}).get(q.field)
    items = data.get(q.input_name) or []
    node = next((i for i in items if i.get("id") == entity), None)
    return (node or {}).get(q.field)


# ------------------------------------------------------------------ pre-diagnosis


@dataclass(frozen=True)
class NextQuestion:
    fact: str
    label: str
    settles: int  # how many undetermined decisions this missing fact takes part in


def relevant_now(policy: ir.CheckedPolicy, data: dict[str, Any], qs: list[Question], ident: str | None = None) -> list[Question]:
    """The questions to ask given the answers so far: a question with `ask when` only once the
    answers it depends on make its condition true (runtime.relevance; docs/language.md)."""
    if all(q.ask_when is None for q in qs):
        return qs
    from ..language.diagnostics import StratError
    from ..runtime.assessment import validate
    from ..runtime.relevance import is_relevant, relevance

    try:
        known = relevance(policy, validate(policy, data, "questionnaire"))
    except StratError:
        known = {}
    return [
        q for q in qs if q.ask_when is None or is_relevant(known.get((q.input_name, ident if q.kind != "record" else None, q.field)))
    ]


def next_questions(
    policy: ir.CheckedPolicy,
    result: Result,
    lang: str = "fr",
    limit: int = 8,
    names: dict[str, str] | None = None,
    assessment: Any = None,
) -> list[NextQuestion]:
    """The missing facts that appear in the most undetermined decisions: ask them next — but
    never a detail question (`ask when`) that the answers so far do not make relevant: what it
    infers or decides is asked before whether it only checks travel documents.
    `names` (entity id → the name the user gave it) labels the rows of repeated inputs."""
    from ..runtime.relevance import rank_open_questions

    ranked = rank_open_questions(policy, result, assessment)
    labels = {}
    for q in questions(policy, lang):
        labels[q.key] = q
    out = []
    for fact, n in ranked[:limit]:
        pattern = re.sub(r"\[[^\]]*\]", ".*", fact)
        q = labels.get(pattern)
        label = q.label if q else fact
        if q is not None and q.kind == "group":
            label = f"{q.member_label} — {label}"
        if q is not None and q.kind == "many":
            entity = re.search(r"\[([^\]]*)\]", fact)
            ident = entity.group(1) if entity else ""
            label = f"{(names or {}).get(ident, ident)} — {label}"
        out.append(NextQuestion(fact, label, n))
    return out[:limit]


def to_yaml(data: dict[str, Any]) -> str:
    """Assessment data as YAML; decimals are written as the exact numbers they are."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> Any:
        text = format(value, "f")
        tag = "tag:yaml.org,2002:int" if value == value.to_integral_value() and "." not in text else "tag:yaml.org,2002:float"
        return dumper.represent_scalar(tag, text)

    _Dumper.add_representer(Decimal, _decimal)
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False)


def slug(text: str, taken: set[str]) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40] or "cas"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def summary_decisions(policy: ir.CheckedPolicy) -> list[ir.Decision]:
    """The decisions a pre-diagnosis shows: those marked `express N`, in that order
    (all decisions when none is marked)."""
    marked = [d for d in policy.decisions.values() if d.meta.express is not None]
    if not marked:
        return list(policy.decisions.values())
    return sorted(marked, key=lambda d: d.meta.express or 0)
