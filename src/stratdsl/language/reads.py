"""What each decision, obligation and definition of a checked policy may read: the names of
the input fields, directly or through what it refers to. Shared by the engine (which results
rest on a defaulted answer: `engine.mark_assumptions`) and the why-not search (which memoised
values a change of facts leaves as they are: `backends/probe.py`)."""

from __future__ import annotations

from typing import NamedTuple

from . import ir


class Reads(NamedTuple):
    decisions: dict[str, frozenset[str]]
    obligations: dict[str, frozenset[str]]
    definitions: dict[str, frozenset[str]]


def fields_read(policy: ir.CheckedPolicy) -> Reads:
    """The names of the input fields each decision and each obligation may read, directly or
    through the definitions and decisions it refers to (conditions, exceptions, dates,
    aggregates and ranks; for a decision, also the decisions whose citations it repeats,
    `cites DECISION`): a superset of what any evaluation reads. Two evaluations whose facts
    differ only in fields outside a decision's set give it the same result. Built once per
    policy. (A definition's set is in `definitions`: the why-not search keeps the values an
    evaluation memoised that read no changed field.)"""
    found = policy.caches.get("fields_read")
    if found is not None:
        return found
    memo: dict[tuple[str, str], frozenset[str]] = {}

    def of(roots: list[ir.Expr | None]) -> frozenset[str]:
        out: set[str] = set()
        stack = [e for e in roots if e is not None]
        while stack:
            e = stack.pop()
            if isinstance(e, (ir.FieldRef, ir.MemberFieldRef)):
                out.add(e.field_name)
            elif isinstance(e, ir.DefRef):
                out |= named("definition", e.name)
            elif isinstance(e, ir.DecisionRef):
                out |= named("decision", e.name)
            stack.extend(c for c in e.children() if c is not None)
        return frozenset(out)

    def named(kind: str, name: str) -> frozenset[str]:
        key = (kind, name)
        if key not in memo:  # the checker refuses cycles: each name is entered once
            if kind == "definition":
                memo[key] = of([policy.definitions[name].expr])
            else:
                rules = policy.decisions[name].rules
                memo[key] = of(
                    [e for r in rules for e in (r.cond, r.valid_from, r.valid_until, *(x.cond for x in r.exceptions))]
                ).union(
                    *(
                        named("decision", c.decision)
                        for r in rules
                        for c in (*r.cites, *(c for x in r.exceptions for c in x.cites))
                        if c.decision is not None
                    )
                )
        return memo[key]

    found = Reads(
        {name: named("decision", name) for name in policy.decisions},
        {name: of([o.cond, o.valid_from, o.valid_until]) for name, o in policy.obligations.items()},
        {name: named("definition", name) for name in policy.definitions},
    )
    policy.caches["fields_read"] = found
    return found
