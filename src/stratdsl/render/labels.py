"""Labels in the reader's language, taken from the policy's declarations."""

from __future__ import annotations

from ..language import ir
from ..language.ast import Text


def text(value: Text | None, lang: str, fallback: str = "") -> str:
    if value is None:
        return fallback
    return value.get(lang) or fallback


def decision_label(policy: ir.CheckedPolicy, name: str, lang: str) -> str:
    decision = policy.decisions.get(name)
    return text(decision.meta.label if decision else None, lang, name)


def outcome_label(policy: ir.CheckedPolicy, decision: str, outcome: str | None, lang: str) -> str:
    if outcome is None:
        return ""
    found = policy.decisions[decision].outcome(outcome)
    return text(found.label if found else None, lang, outcome)


def definition_label(policy: ir.CheckedPolicy, name: str, lang: str) -> str:
    definition = policy.definitions.get(name)
    return text(definition.meta.label if definition else None, lang, name)


def obligation_label(policy: ir.CheckedPolicy, name: str, lang: str) -> str:
    obligation = policy.obligations.get(name)
    return text(obligation.meta.label if obligation else None, lang, name)


def rule_location(policy: ir.CheckedPolicy, decision: str, rule_id: str | None) -> str | None:
    if rule_id is None:
        return None
    for rule in policy.decisions[decision].rules:
        if rule.id == rule_id:
            return rule.span.short()
    return None
