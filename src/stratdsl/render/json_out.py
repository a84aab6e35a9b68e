"""Results and explanations → JSON. Deterministic: sorted keys, decimals as strings."""

from __future__ import annotations

import json
from typing import Any

from ..language import ir
from ..runtime.explain import DecisionExplanation, ExprNode
from ..runtime.result import DecisionResult, Result
from ..runtime.values import NotApplicable, Unknown, possible_json, to_json_value
from ..runtime.whynot import WhyNot, translate
from . import labels
from .catalogue import gettext_for


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


class _Labels:
    """The labels and locations `result_json` writes, per policy and language: read from the
    policy's declarations (render/labels.py) on first use and kept in `policy.caches`, so that an
    answer of ~600 items does not look each one up again (the service writes thousands a second).
    A table is only ever added to, with the value labels.py gives: safe to share between threads."""

    def __init__(self, policy: ir.CheckedPolicy, lang: str) -> None:
        self.policy = policy
        self.lang = lang
        self.outcomes: dict[tuple[str, str | None], str | None] = {}
        self.rules: dict[tuple[str, str | None], str | None] = {}
        self.definitions: dict[str, str] = {}
        self.obligations: dict[str, tuple[str, tuple[Any, ...]]] = {}

    def outcome(self, decision: str, outcome: str | None) -> str | None:
        key = (decision, outcome)
        try:
            return self.outcomes[key]
        except KeyError:
            found = self.outcomes[key] = labels.outcome_label(self.policy, decision, outcome, self.lang) or None
            return found

    def rule(self, decision: str, rule: str | None) -> str | None:
        key = (decision, rule)
        try:
            return self.rules[key]
        except KeyError:
            found = self.rules[key] = labels.rule_location(self.policy, decision, rule)
            return found

    def definition(self, name: str) -> str:
        try:
            return self.definitions[name]
        except KeyError:
            found = self.definitions[name] = labels.definition_label(self.policy, name, self.lang)
            return found

    def obligation(self, name: str) -> tuple[str, tuple[Any, ...]]:
        """The obligation's label and its citations (ir.Citation, frozen)."""
        try:
            return self.obligations[name]
        except KeyError:
            found = self.obligations[name] = (labels.obligation_label(self.policy, name, self.lang), tuple(self.policy.obligations[name].cites))
            return found


def _labels(policy: ir.CheckedPolicy, lang: str) -> _Labels:
    key = f"json_labels:{lang}"
    table = policy.caches.get(key)
    if table is None:
        table = policy.caches[key] = _Labels(policy, lang)
    return table


def decision_json(policy: ir.CheckedPolicy, d: DecisionResult, lang: str, table: _Labels | None = None) -> dict[str, Any]:
    table = table or _labels(policy, lang)
    out = {
        "decision": d.decision,
        "entity": d.entity,
        "entity_path": d.entity_path,
        "status": d.status,
        "outcome": d.outcome,
        "label": table.outcome(d.decision, d.outcome),
        "rule": d.rule,
        "location": table.rule(d.decision, d.rule),
        "possible": list(d.possible),
        "missing": list(d.missing),
    }
    if d.assumed:
        out["assumed"] = list(d.assumed)
    out["cites"] = [c.to_json() for c in d.cites]
    out["obligations"] = list(d.obligations)
    out["rules"] = [
        {"rule": s.rule, "outcome": s.outcome, "status": s.status, "exception": s.exception, "missing": list(s.missing)}
        for s in d.rules
    ]
    return out


def result_json(policy: ir.CheckedPolicy, result: Result, lang: str = "fr") -> dict[str, Any]:
    table = _labels(policy, lang)
    values = []
    for v in result.values:
        value = v.value
        item = {
            "definition": v.definition,
            "label": table.definition(v.definition),
            "entity": v.entity,
            "value": to_json_value(value),
            "known": not v.missing and value is not None and not hasattr(value, "missing"),
            "missing": list(v.missing),
        }
        if value.__class__ is Unknown:
            possible = possible_json(value)
            if possible is not None:
                item["possible"] = possible
        elif value.__class__ is NotApplicable:
            item["not_applicable"] = {"fr": value.fr, "en": value.en}
        values.append(item)
    obligations = []
    for o in result.obligations:
        label, cites = table.obligation(o.obligation)
        item = {"obligation": o.obligation, "label": label, "entity": o.entity, "status": o.status, "missing": list(o.missing)}
        if o.assumed:
            item["assumed"] = list(o.assumed)
        item["cites"] = [c.to_json() for c in cites]
        obligations.append(item)
    return {
        "policy": {"name": result.policy, "version": result.version},
        "as_of": result.as_of.isoformat(),
        "params": [
            {"name": p.name, "value": to_json_value(p.value), "overridden": p.overridden} for p in result.params
        ],
        **({"assumed": {path: to_json_value(value) for path, value in sorted(result.assumed.items())}} if result.assumed else {}),
        "decisions": [decision_json(policy, d, lang, table) for d in result.decisions],
        "values": values,
        "obligations": obligations,
    }


def _possible(value: Any) -> dict[str, Any]:
    """`"possible": [...]` next to a `null` value that may only be one of a few values
    (as a decision's `possible` lists its outcomes); nothing otherwise."""
    shown = possible_json(value)
    return {} if shown is None else {"possible": shown}


def not_applicable_json(value: Any) -> dict[str, Any]:
    """`"not_applicable": {"fr": …, "en": …}` next to the `null` value of a quantity that
    does not exist (a `null` alone would read as unknown); nothing otherwise."""
    if not isinstance(value, NotApplicable):
        return {}
    return {"not_applicable": {"fr": value.fr, "en": value.en}}


def expr_json(node: ExprNode | None) -> dict[str, Any] | None:
    if node is None:
        return None
    return {
        "text": node.text,
        "kind": node.kind,
        "op": node.op,
        "value": to_json_value(node.value) if node.computed else None,
        "computed": node.computed,
        "children": [expr_json(c) for c in node.children],
        **(_possible(node.value) if node.computed else {}),
        **(not_applicable_json(node.value) if node.computed else {}),
    }


def explanation_json(policy: ir.CheckedPolicy, x: DecisionExplanation, lang: str, why: WhyNot | None = None) -> dict[str, Any]:
    out = {
        "decision": decision_json(policy, x.result, lang),
        "decision_label": labels.text(x.label, lang, x.result.decision),
        "location": x.location,
        "as_of": x.as_of.isoformat(),
        "params": [{"name": p.name, "value": to_json_value(p.value), "overridden": p.overridden} for p in x.params],
        "rules": [
            {
                "rule": r.id,
                "outcome": r.outcome,
                "status": r.status,
                "location": r.location,
                "cites": [c.to_json() for c in r.cites],
                "condition": expr_json(r.condition),
                "first_failure": expr_json(r.first_failure),
                "exceptions": [
                    {"id": e.id, "status": e.status, "cites": [c.to_json() for c in e.cites], "condition": expr_json(e.condition)}
                    for e in r.exceptions
                ],
                "valid_from": to_json_value(r.valid_from),
                "valid_until": to_json_value(r.valid_until),
                "missing": list(r.missing),
            }
            for r in x.rules
        ],
        "definitions": [
            {"name": d.name, "location": d.location, "value": to_json_value(d.value), "expression": expr_json(d.expression), **_possible(d.value), **not_applicable_json(d.value)}
            for d in x.definitions
        ],
    }
    if x.blame:
        out["blame"] = x.blame
    if why is not None:
        _ = gettext_for(lang)  # the runtime's messages, in the reader's language
        out["why_not"] = {
            "outcome": why.outcome,
            "chosen": why.chosen,
            "blockers": [
                {
                    "rule": b.rule,
                    "location": b.location,
                    "kind": b.kind,
                    "detail": translate(b.detail, _),
                    "failed": [expr_json(f) for f in b.failed],
                    "changes": [
                        {"fact": c.fact, "current": to_json_value(c.current), "needed": translate(c.needed, _), "exact": c.exact, "note": translate(c.note, _)}
                        for c in b.changes
                    ],
                    "cites": [c.to_json() for c in b.cites],
                }
                for b in why.blockers
            ],
        }
        if why.searched:
            out["why_not"]["counterfactuals"] = [
                {
                    "outcome": c.outcome,
                    "outcome_label": labels.outcome_label(policy, x.result.decision, c.outcome, lang),
                    "verified": c.verified,
                    "changes": [_fact_change_json(policy, f, lang) for f in c.changes],
                }
                for c in why.counterfactuals
            ]
            out["why_not"]["search_note"] = translate(why.search_note, _)
            out["why_not"]["search_scope"] = why.search_scope
            out["why_not"]["search_method"] = "values_tried" if why.search_tried else "solver"
            out["why_not"]["settlers"] = [
                {
                    "fact": s.fact,
                    "label": labels.text(s.label, lang, s.fact),
                    "value": to_json_value(s.value),
                    "value_text": _fact_text(policy, s.fact, s.value, lang),
                    "outcome": s.outcome,
                    "outcome_label": labels.outcome_label(policy, x.result.decision, s.outcome, lang),
                }
                for s in why.settlers
            ]
    return out


def _fact_change_json(policy: ir.CheckedPolicy, change: Any, lang: str) -> dict[str, Any]:
    return {
        "fact": change.fact,
        "label": labels.text(change.label, lang, change.fact),
        "current": to_json_value(change.current),
        "new": to_json_value(change.new),
        "current_text": _fact_text(policy, change.fact, change.current, lang),
        "new_text": _fact_text(policy, change.fact, change.new, lang),
    }


def _fact_text(policy: ir.CheckedPolicy, fact: str, value: Any, lang: str) -> str:
    """A fact's value as a person reads it: enum values by their labels."""
    from ..runtime.values import Unknown, format_value

    if isinstance(value, Unknown):
        return "unknown" if lang == "en" else "inconnu"
    if isinstance(value, bool):
        return gettext_for(lang)("true" if value else "false")
    field_name = fact.rsplit(".", 1)[-1]
    head = fact.split(".", 1)[0].split("[", 1)[0]
    item = policy.inputs.get(head)
    field = item.fields.get(field_name) if item else None
    element = getattr(field.type, "element", field.type) if field else None
    enum = policy.enums.get(getattr(element, "name", "")) if element is not None else None
    if enum is not None:
        if isinstance(value, (frozenset, set, list, tuple)):
            return "{" + ", ".join(labels.text(enum.labels.get(v), lang, v) for v in sorted(value)) + "}"
        return labels.text(enum.labels.get(value), lang, str(value))
    return format_value(value)


#: a fact's value as a person reads it (the report's why-not uses it too)
fact_text = _fact_text
