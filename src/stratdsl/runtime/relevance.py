"""Conditional relevance: which questions an assessment makes relevant (`ask when EXPR`).

A field declared `ask when EXPR` is relevant for a record or entity only when EXPR, over the
answers given before it, is true. The questionnaires ask it only then; an answer given to a
question that is not relevant is kept (it is a fact the company stated) and reported as warning
W110, the same way by `eval`, `diagnose` and the service. Relevance never changes a decision:
rules read the facts as they are, and a policy guards a detail question by the same condition
(`faces and untargeted_scraping` is false when `faces` is false, whatever the detail says).

    ir.CheckedPolicy + Assessment ─relevance─▶ {(input, entity id, field): true | false | unknown}
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..language import ir
from ..language.diagnostics import Diagnostic, Severity
from ..language.messages import N_, Msg
from ..language.source import Span
from .assessment import Assessment, Entity
from .evaluator import Evaluator
from .values import Unknown

#: ask-when conditions read answers only (checker, E052), never the date: any date will do
_NO_DATE = date(2000, 1, 1)


def conditional_fields(policy: ir.CheckedPolicy) -> list[tuple[ir.Input, ir.Field]]:
    return [(item, f) for item in policy.inputs.values() for f in item.fields.values() if f.ask_when is not None]


def relevance(policy: ir.CheckedPolicy, assessment: Assessment) -> dict[tuple[str, str | None, str], Any]:
    """True, False or Unknown for every conditional field of every record and entity present."""
    fields = conditional_fields(policy)
    if not fields:
        return {}
    evaluator = Evaluator(policy, assessment, _NO_DATE)
    out: dict[tuple[str, str | None, str], Any] = {}
    for item, f in fields:
        assert f.ask_when is not None
        scopes: list[Entity | None] = [None] if item.kind == "record" else list(assessment.entities.get(item.name, []))
        for entity in scopes:
            out[(item.name, entity.id if entity else None, f.name)] = evaluator.compute(f.ask_when, entity)
    return out


def is_relevant(value: Any) -> bool:
    """Asked only when the condition is known to be true; unknown waits for the earlier answer."""
    return value is True


def irrelevant_answers(policy: ir.CheckedPolicy, assessment: Assessment) -> list[Diagnostic]:
    """W110 for every answer given to a question whose condition is known to be false.

    In the order of `relevance`, but a condition is evaluated only where the question has an
    answer (neither unknown nor a declared default): most detail questions have none."""
    out = []
    text_of = policy.source_map.text_of
    evaluator: Evaluator | None = None
    for item, f in conditional_fields(policy):
        input_name, field_name, condition = item.name, f.name, f.ask_when
        assert condition is not None
        scopes: list[Entity | None] = [None] if item.kind == "record" else list(assessment.entities.get(input_name, []))
        for entity in scopes:
            if entity is None:
                path, answer = f"{input_name}.{field_name}", assessment.records.get(input_name, {}).get(field_name)
                where = path
            else:
                path, answer = f"{entity.path}.{field_name}", entity.values.get(field_name)
                where = f"{input_name}[{entity.index}].{field_name}" if item.kind == "many" else path
            if isinstance(answer, Unknown) or path in assessment.assumed:
                continue
            if evaluator is None:
                evaluator = Evaluator(policy, assessment, _NO_DATE)
            if evaluator.compute(condition, entity) is not False:
                continue
            out.append(_irrelevant(assessment, text_of, path, where, condition))
    return out


def _irrelevant(assessment: Assessment, text_of: Any, path: str, where: str, condition: ir.Expr) -> Diagnostic:
    span = assessment.spans.get(where) or Span(assessment.name, 0, 0, 0, 0)
    return Diagnostic(
        "W110",
        Msg(
            N_("{path} is answered although the question is not asked here (ask when {condition}: false); the answer is kept"),
            path=path,
            condition=" ".join(text_of(condition.span).split()),
        ),
        span,
        severity=Severity.WARNING,
        hint=Msg(N_("remove the answer, or check the earlier answer that makes it irrelevant")),
    )


def hidden_facts(policy: ir.CheckedPolicy, assessment: Assessment) -> set[str]:
    """The fact paths of the detail questions (`ask when`) the answers so far do not make relevant."""
    hidden: set[str] = set()
    for (input_name, ident, field_name), value in relevance(policy, assessment).items():
        if not is_relevant(value):
            item = policy.inputs[input_name]
            hidden.add(f"{input_name}[{ident}].{field_name}" if item.kind == "many" else f"{input_name}.{field_name}")
    return hidden


def rank_open_questions(policy: ir.CheckedPolicy, result: Any, assessment: Assessment | None = None) -> list[tuple[str, int]]:
    """The missing facts, each with the number of undetermined decisions that wait on it, most first
    (then by path, for stable output): the answers that would settle the most, to ask next.

    A detail question (`ask when`) that the answers so far do not make relevant is left out: what a
    use case infers or decides is asked before whether it only checks travel documents. The
    questionnaires' "answer next" and the report's first steps read this one ranking."""
    hidden = hidden_facts(policy, assessment) if assessment is not None else set()
    counts: dict[str, int] = {}
    for d in result.decisions:
        if d.status == "undetermined":
            for fact in d.missing:
                if fact not in hidden:
                    counts[fact] = counts.get(fact, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
