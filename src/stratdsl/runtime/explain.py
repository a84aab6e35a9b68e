"""Explanations: a decision result plus its trace → a structured explanation (data, no text).

For one decision (and entity) it gives every rule walked, with its location,
citations, status and the value of each sub-expression of its condition; the
first sub-condition that failed for rules that did not fire; the exceptions
tested; the definitions read, with their own values; and, on request, why a
given outcome was not chosen (`whynot`). Renderers turn this into text, JSON,
Markdown or HTML without recomputing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..language import ir
from .result import DecisionResult, Result
from .trace import RecordingTracer

_MISSING = object()


@dataclass(frozen=True)
class ExprNode:
    """One sub-expression: its source text, its value (or None when not computed) and its parts."""

    kind: str  # "and", "or", "not", "compare", "in", "if", "leaf"
    text: str
    value: Any
    computed: bool
    children: tuple[ExprNode, ...] = ()
    op: str | None = None
    node_id: int = 0


@dataclass(frozen=True)
class ExceptionExplanation:
    id: str
    status: str  # "applied", "not_applied", "unknown", "not_tested"
    cites: tuple[ir.Citation, ...]
    condition: ExprNode | None


@dataclass(frozen=True)
class RuleExplanation:
    id: str
    outcome: str
    status: str
    location: str  # file:line
    cites: tuple[ir.Citation, ...]
    condition: ExprNode | None
    first_failure: ExprNode | None
    exceptions: tuple[ExceptionExplanation, ...]
    valid_from: Any = None
    valid_until: Any = None
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class DefinitionValue:
    name: str
    location: str
    value: Any
    expression: ExprNode


@dataclass(frozen=True)
class DecisionExplanation:
    result: DecisionResult
    label: Any  # ast.Text of the decision
    outcome_label: Any  # ast.Text of the outcome, if decided
    location: str
    rules: tuple[RuleExplanation, ...]
    definitions: tuple[DefinitionValue, ...]
    as_of: Any
    params: tuple = ()
    why_not: Any = None
    kind: str = "rules"  # or "bands"
    on: ExprNode | None = None
    blame: dict[str, Any] = field(default_factory=dict)


def expr_tree(expr: ir.Expr, policy: ir.CheckedPolicy, tracer: RecordingTracer, scope: str) -> ExprNode:
    """The explanation tree of an expression, with the values the tracer recorded in `scope`."""
    raw = tracer.get(scope, expr.id, _MISSING)
    computed = raw is not _MISSING
    value = raw if computed else None
    text = policy.source_map.text_of(expr.span)
    if isinstance(expr, ir.Logic):
        kids = tuple(expr_tree(i, policy, tracer, scope) for i in expr.items)
        return ExprNode(expr.op, text, value, computed, kids, expr.op, expr.id)
    if isinstance(expr, ir.Not):
        return ExprNode("not", text, value, computed, (expr_tree(expr.operand, policy, tracer, scope),), "not", expr.id)
    if isinstance(expr, ir.Compare):
        kids = (expr_tree(expr.left, policy, tracer, scope), expr_tree(expr.right, policy, tracer, scope))
        return ExprNode("compare", text, value, computed, kids, expr.op, expr.id)
    if isinstance(expr, ir.In):
        kids = (expr_tree(expr.item, policy, tracer, scope), expr_tree(expr.container, policy, tracer, scope))
        return ExprNode("in", text, value, computed, kids, "not in" if expr.negated else "in", expr.id)
    if isinstance(expr, ir.Cond):
        kids = tuple(expr_tree(c, policy, tracer, scope) for c in (expr.cond, expr.then, expr.otherwise))
        return ExprNode("if", text, value, computed, kids, None, expr.id)
    if isinstance(expr, ir.Arith):
        kids = (expr_tree(expr.left, policy, tracer, scope), expr_tree(expr.right, policy, tracer, scope))
        return ExprNode("arith", text, value, computed, kids, expr.op, expr.id)
    if isinstance(expr, ir.Func):
        kids = tuple(expr_tree(a, policy, tracer, scope) for a in expr.args)
        return ExprNode("call", text, value, computed, kids, expr.name, expr.id)
    kind = "const" if isinstance(expr, (ir.Const, ir.SetOf)) else "leaf"
    return ExprNode(kind, text, value, computed, (), None, expr.id)


def first_failure(node: ExprNode) -> ExprNode | None:
    """The first sub-condition that made a false condition false."""
    if node.value is not False:
        return None
    if node.kind == "and":
        for child in node.children:
            if child.value is False:
                return first_failure(child) or child
    if node.kind == "not" and node.children and node.children[0].kind in ("and", "or"):
        return node
    return node


def _walk_outer(expr: ir.Expr):
    """Nodes of an expression in its own scope: aggregate bodies run in other entities' scopes."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ir.Aggregate, ir.Rank)):
            stack.extend(c for c in node.children() if c is not None)


def _rule_status_map(result: DecisionResult) -> dict[str, Any]:
    return {s.rule: s for s in result.rules}


def _definitions_read(
    exprs: list[ir.Expr], policy: ir.CheckedPolicy, tracer: RecordingTracer, scope: str, entity_input: str | None
) -> tuple[DefinitionValue, ...]:
    out: dict[str, DefinitionValue] = {}
    queue = list(exprs)
    while queue and len(out) < 40:
        expr = queue.pop(0)
        for node in _walk_outer(expr):
            if isinstance(node, ir.DefRef) and node.name not in out:
                definition = policy.definitions[node.name]
                def_scope = scope if definition.entity_input is not None else ""
                if node.member is not None:
                    def_scope = f"{node.input_name}.{node.member}"
                tree = expr_tree(definition.expr, policy, tracer, def_scope)
                out[node.name] = DefinitionValue(
                    node.name, definition.span.short(), tracer.get(def_scope, definition.expr.id), tree
                )
                queue.append(definition.expr)
    return tuple(out.values())


def explain_decision(
    policy: ir.CheckedPolicy,
    result: Result,
    decision_result: DecisionResult,
    tracer: RecordingTracer,
) -> DecisionExplanation:
    decision = policy.decisions[decision_result.decision]
    scope = decision_result.entity_path or ""
    statuses = _rule_status_map(decision_result)
    rules = []
    for rule in decision.rules:
        status = statuses.get(rule.id)
        cond = expr_tree(rule.cond, policy, tracer, scope) if rule.cond is not None else None
        exceptions = []
        for exc in rule.exceptions:
            tree = expr_tree(exc.cond, policy, tracer, scope)
            if not tree.computed:
                exc_status = "not_tested"
            elif tree.value is True:
                exc_status = "applied"
            elif tree.value is False:
                exc_status = "not_applied"
            else:
                exc_status = "unknown"
            exceptions.append(ExceptionExplanation(exc.id, exc_status, exc.cites, tree))
        valid_from = tracer.get("", rule.valid_from.id) if rule.valid_from is not None else None
        valid_until = tracer.get("", rule.valid_until.id) if rule.valid_until is not None else None
        rules.append(
            RuleExplanation(
                rule.id,
                rule.outcome,
                status.status if status else "not_reached",
                rule.span.short(),
                rule.cites,
                cond,
                first_failure(cond) if cond is not None and status and status.status == "false" else None,
                tuple(exceptions),
                valid_from,
                valid_until,
                status.missing if status else (),
            )
        )
    conditions = [r.cond for r in decision.rules if r.cond is not None]
    conditions += [e.cond for r in decision.rules for e in r.exceptions]
    outcome = decision.outcome(decision_result.outcome) if decision_result.outcome else None
    on = expr_tree(decision.on, policy, tracer, scope) if decision.on is not None else None
    return DecisionExplanation(
        decision_result,
        decision.meta.label,
        outcome.label if outcome else None,
        decision.span.short(),
        tuple(rules),
        _definitions_read(conditions, policy, tracer, scope, decision.entity_input),
        result.as_of,
        tuple(result.params),
        kind="bands" if decision.bands else "rules",
        on=on,
    )
