"""Why not: what blocked an outcome, and the smallest change of an input that would give it.

For each rule that could give the outcome, the blocker is one of: an earlier
rule decided first, the rule was not in force on the as-of date, an `unless`
exception applied, facts are missing, or its condition was false. For a false
condition, each failed comparison is turned into a needed value: when the
compared side is linear in its inputs (sums and constant multiples — the
common case of scores), holding the other inputs fixed gives, per input, the
exact value it would need (`effort 3.2 → below 3`). Anything non-linear is
reported as the definition that must change, never as a guessed input.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ..language import ir
from ..language.messages import N_, Msg, translate  # noqa: F401  (re-exported: whynot.Msg, whynot.translate)
from ..language.types import BoolT, NumberT
from .explain import DecisionExplanation, ExprNode
from .result import Result
from .trace import RecordingTracer
from .values import CONTEXT, format_value

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}


@dataclass(frozen=True)
class Change:
    fact: str
    current: Any
    needed: str  # "below 3", "2 or less", "true"
    exact: bool  # False: a definition to change, not an input
    note: str | None = None


@dataclass(frozen=True)
class Blocker:
    rule: str
    location: str
    kind: str  # "earlier_rule", "not_in_force", "exception", "missing", "condition", "fired"
    detail: str
    failed: tuple[ExprNode, ...] = ()
    changes: tuple[Change, ...] = ()
    cites: tuple[ir.Citation, ...] = ()


@dataclass(frozen=True)
class FactChange:
    """One fact of a counterfactual: its path, its declared label, its value now and then."""

    fact: str
    label: Any  # ast.Text | None
    current: Any
    new: Any


@dataclass(frozen=True)
class Counterfactual:
    """A change of facts that gives `outcome`, found by the solver (backends/counterfactual)
    and confirmed by re-evaluating the changed assessment (`verified`)."""

    changes: tuple[FactChange, ...]
    outcome: str
    verified: bool


@dataclass(frozen=True)
class Settler:
    """A single missing answer that settles an undetermined decision, and to what."""

    fact: str
    label: Any
    value: Any
    outcome: str


@dataclass(frozen=True)
class WhyNot:
    outcome: str
    chosen: bool
    blockers: tuple[Blocker, ...]
    counterfactuals: tuple[Counterfactual, ...] = ()
    search_note: str | None = None  # why no (or fewer) counterfactuals: budget, untranslatable, none exist
    settlers: tuple[Settler, ...] = ()
    searched: bool = False  # whether the solver was asked at all
    search_scope: str | None = None  # the changes are of this entity's facts only ("usecases[x]"), others held
    search_tried: bool = False  # found by trying values (not the solver): search_note says what is not proven


@dataclass(frozen=True)
class _Var:
    fact: str
    coef: Decimal
    current: Any
    type: Any


def _linear(
    expr: ir.Expr, policy: ir.CheckedPolicy, params: dict[str, Any], tracer: RecordingTracer, scope: str
) -> tuple[Decimal, dict[str, _Var]] | None:
    """`expr` as constant + Σ coef × input, or None when it is not linear in its inputs."""
    if isinstance(expr, ir.Const) and isinstance(expr.value, Decimal):
        return expr.value, {}
    if isinstance(expr, ir.ParamRef) and isinstance(params.get(expr.name), Decimal):
        return params[expr.name], {}
    if isinstance(expr, (ir.FieldRef, ir.MemberFieldRef)) and isinstance(expr.type, NumberT):
        if isinstance(expr, ir.MemberFieldRef):
            fact = f"{expr.input_name}.{expr.member}.{expr.field_name}"
        elif expr.of_record:
            fact = f"{expr.input_name}.{expr.field_name}"
        else:
            fact = f"{scope}.{expr.field_name}"
        current = tracer.get(scope, expr.id)
        if not isinstance(current, Decimal):
            return None
        return Decimal(0), {fact: _Var(fact, Decimal(1), current, expr.type)}
    if isinstance(expr, ir.DefRef):
        definition = policy.definitions[expr.name]
        inner = scope if definition.entity_input is not None else ""
        if expr.member is not None:
            inner = f"{expr.input_name}.{expr.member}"
        return _linear(definition.expr, policy, params, tracer, inner)
    if isinstance(expr, ir.Neg):
        sub = _linear(expr.operand, policy, params, tracer, scope)
        return None if sub is None else _scale(sub, Decimal(-1))
    if isinstance(expr, ir.Arith):
        left = _linear(expr.left, policy, params, tracer, scope)
        right = _linear(expr.right, policy, params, tracer, scope)
        if left is None or right is None:
            return None
        if expr.op in ("+", "-"):
            sign = Decimal(1) if expr.op == "+" else Decimal(-1)
            const = CONTEXT.add(left[0], sign * right[0])
            merged = dict(left[1])
            for fact, var in right[1].items():
                coef = sign * var.coef + (merged[fact].coef if fact in merged else 0)
                merged[fact] = _Var(fact, coef, var.current, var.type)
            return const, merged
        if expr.op == "*":
            if not right[1]:
                return _scale(left, right[0])
            if not left[1]:
                return _scale(right, left[0])
            return None
        if expr.op == "/" and not right[1] and right[0] != 0:
            return _scale(left, CONTEXT.divide(Decimal(1), right[0]))
    return None


def _scale(form: tuple[Decimal, dict[str, _Var]], k: Decimal) -> tuple[Decimal, dict[str, _Var]]:
    const, vars_ = form
    return CONTEXT.multiply(const, k), {f: _Var(f, CONTEXT.multiply(v.coef, k), v.current, v.type) for f, v in vars_.items()}


def _needed_text(op: str, bound: Decimal, type_: Any) -> str | None:
    shown = format_value(bound)
    if isinstance(type_, NumberT) and type_.integer:
        if op in ("<", "<="):
            n = bound.to_integral_value(rounding=ROUND_FLOOR)
            if op == "<" and n == bound:
                n -= 1
            return Msg(N_("{value} or less"), value=format_value(n))
        if op in (">", ">="):
            n = bound.to_integral_value(rounding=ROUND_CEILING)
            if op == ">" and n == bound:
                n += 1
            return Msg(N_("{value} or more"), value=format_value(n))
        if op == "=" and bound != bound.to_integral_value():
            return None
    template = {
        "<": N_("below {value}"),
        "<=": N_("{value} or less"),
        ">": N_("above {value}"),
        ">=": N_("{value} or more"),
        "=": N_("exactly {value}"),
        "!=": N_("anything but {value}"),
    }[op]
    return Msg(template, value=shown)


def _feasible(op: str, bound: Decimal, type_: Any) -> bool:
    if not isinstance(type_, NumberT):
        return True
    low, high = type_.low, type_.high
    if op in ("<", "<=") and low is not None:
        return bound > low if op == "<" else bound >= low
    if op in (">", ">=") and high is not None:
        return bound < high if op == ">" else bound <= high
    if op == "=":
        return (low is None or bound >= low) and (high is None or bound <= high)
    return True


def _compare_changes(
    node: ExprNode, expr: ir.Compare, policy: ir.CheckedPolicy, params: dict[str, Any], tracer: RecordingTracer, scope: str
) -> list[Change]:
    op, side, const_side = expr.op, expr.left, expr.right
    bound_value = tracer.get(scope, expr.right.id)
    if not isinstance(bound_value, Decimal) or _linear(expr.right, policy, params, tracer, scope) is None or _linear(expr.right, policy, params, tracer, scope)[1]:
        # constant on the left: flip the comparison
        bound_value = tracer.get(scope, expr.left.id)
        side, const_side, op = expr.right, expr.left, _FLIP[op]
        const_form = _linear(const_side, policy, params, tracer, scope)
        if not isinstance(bound_value, Decimal) or const_form is None or const_form[1]:
            return []
    current = tracer.get(scope, side.id)
    if not isinstance(current, Decimal):
        return []
    form = _linear(side, policy, params, tracer, scope)
    side_text = policy.source_map.text_of(side.span)
    if form is None or not form[1]:
        needed = _needed_text(op, bound_value, None)
        return [
            Change(
                side_text,
                current,
                needed or "",
                False,
                Msg(N_("'{side}' is not linear in its inputs: change the facts it reads so that it becomes {needed}"), side=side_text, needed=needed or ""),
            )
        ]
    _const, vars_ = form
    changes = []
    for var in sorted(vars_.values(), key=lambda v: v.fact):
        if var.coef == 0:
            continue
        rest = CONTEXT.subtract(current, CONTEXT.multiply(var.coef, var.current))
        bound = CONTEXT.divide(CONTEXT.subtract(bound_value, rest), var.coef)
        var_op = op if var.coef > 0 else _FLIP[op]
        if not _feasible(var_op, bound, var.type):
            continue
        needed = _needed_text(var_op, bound, var.type)
        if needed is None:
            continue
        changes.append(Change(var.fact, var.current, needed, True))
    if not changes:
        needed = _needed_text(op, bound_value, None)
        changes.append(
            Change(side_text, current, needed or "", False, Msg(N_("no single input within its declared range can reach it alone")))
        )
    return changes


def _leaf_change(node: ExprNode, expr: ir.Expr, scope: str, want: bool) -> list[Change]:
    if isinstance(expr, ir.Not):
        return _leaf_change(node.children[0], expr.operand, scope, not want)
    if isinstance(expr.type, BoolT) and not isinstance(expr, (ir.Logic, ir.Compare)):
        fact = node.text
        if isinstance(expr, ir.FieldRef):
            fact = f"{expr.input_name}.{expr.field_name}" if expr.of_record else f"{scope}.{expr.field_name}"
        return [Change(fact, node.value, Msg(N_("true")) if want else Msg(N_("false")), isinstance(expr, (ir.FieldRef, ir.MemberFieldRef)))]
    if isinstance(expr, ir.Compare) and expr.op in ("=", "!=") and not isinstance(expr.left.type, NumberT):
        right = node.children[1]
        needed = Msg("{value}", value=right.text) if (expr.op == "=") == want else Msg(N_("anything but {value}"), value=right.text)
        return [Change(node.children[0].text, node.children[0].value, needed, isinstance(expr.left, (ir.FieldRef, ir.MemberFieldRef)))]
    return []


def _nodes_by_id(expr: ir.Expr) -> dict[int, ir.Expr]:
    return {n.id: n for n in ir.walk(expr)}


def _failed_atoms(node: ExprNode) -> list[ExprNode]:
    """The false parts of a false condition: every false conjunct of an `and`, recursively."""
    if node.kind == "and":
        out = []
        for child in node.children:
            if child.value is False:
                out.extend(_failed_atoms(child))
        return out or [node]  # false as a whole: a band or `between` over a value with possible values
    return [node]


def _condition_changes(
    rule: ir.Rule, condition: ExprNode, policy: ir.CheckedPolicy, params: dict[str, Any], tracer: RecordingTracer, scope: str
) -> tuple[list[ExprNode], list[Change]]:
    nodes = _nodes_by_id(rule.cond)
    failed = _failed_atoms(condition)
    changes: list[Change] = []
    for atom in failed:
        expr = nodes.get(atom.node_id)
        if isinstance(expr, ir.Compare) and isinstance(expr.left.type, NumberT):
            changes.extend(_compare_changes(atom, expr, policy, params, tracer, scope))
        elif expr is not None:
            changes.extend(_leaf_change(atom, expr, scope, True))
    return failed, changes


def why_not(
    explanation: DecisionExplanation, outcome: str, policy: ir.CheckedPolicy, result: Result, tracer: RecordingTracer
) -> WhyNot:
    decided = explanation.result
    decision = policy.decisions[decided.decision]
    scope = decided.entity_path or ""
    params = {p.name: p.value for p in result.params}
    chosen = decided.outcome == outcome
    blockers: list[Blocker] = []
    fired_rule = decided.rule
    for rule_x, rule in zip(explanation.rules, decision.rules, strict=True):
        if rule.outcome != outcome:
            continue
        status = rule_x.status
        if status == "fired" and fired_rule is None:  # (undetermined: it holds, but rules before it may apply)
            before = ", ".join(r.id for r in explanation.rules if r.status in ("unknown", "exception_unknown"))
            detail = Msg(N_("its condition holds, but the rules before it may apply ({rules}): it gives the outcome only if none of them does"), rules=before)
            blockers.append(Blocker(rule.id, rule_x.location, "earlier_rule", detail, cites=rule.cites))
        elif status == "fired":
            blockers.append(Blocker(rule.id, rule_x.location, "fired", Msg(N_("this rule gave the outcome")), cites=rule.cites))
        elif status == "not_reached":
            if fired_rule is not None:
                first = Msg(N_("rule '{rule}' applied first and decided '{outcome}'"), rule=fired_rule, outcome=decided.outcome)
            else:  # (undetermined: rules before it may apply, and one of them holds in any case)
                before = [r.id for r in explanation.rules if r.status in ("fired", "unknown", "exception_unknown")]
                first = Msg(N_("the rules before it may apply ({rules}), and one of them applies whatever the missing answers"), rules=", ".join(before))
            cond = rule_x.condition
            if cond is not None and cond.computed and cond.value is False:
                failed, changes = _condition_changes(rule, cond, policy, params, tracer, scope)
                blockers.append(
                    Blocker(rule.id, rule_x.location, "condition", Msg(N_("{first}; and its own condition is false"), first=first), tuple(failed), tuple(changes))
                )
            else:
                held = cond is not None and cond.value is True
                blockers.append(Blocker(rule.id, rule_x.location, "earlier_rule", Msg(N_("{first}; its own condition holds"), first=first) if held else first))
        elif status == "not_in_force":
            today = format_value(result.as_of)
            start = format_value(rule_x.valid_from) if rule_x.valid_from is not None else None
            end = format_value(rule_x.valid_until) if rule_x.valid_until is not None else None
            if start is not None and end is not None:
                detail = Msg(N_("not in force on {date} (in force from {start} until {end})"), date=today, start=start, end=end)
            elif start is not None:
                detail = Msg(N_("not in force on {date} (in force from {start})"), date=today, start=start)
            else:
                detail = Msg(N_("not in force on {date} (in force until {end})"), date=today, end=end)
            blockers.append(Blocker(rule.id, rule_x.location, "not_in_force", detail))
        elif status == "excepted":
            exc = next(e for e in rule_x.exceptions if e.status == "applied")
            blockers.append(
                Blocker(
                    rule.id, rule_x.location, "exception", Msg(N_("its condition held, but the exception '{exception}' applied"), exception=exc.id),
                    (exc.condition,) if exc.condition else (), cites=exc.cites,
                )
            )
        elif status in ("unknown", "exception_unknown"):
            blockers.append(
                Blocker(rule.id, rule_x.location, "missing", Msg(N_("it depends on facts that are not known: {facts}"), facts=", ".join(rule_x.missing)))
            )
        elif status == "false" and rule_x.condition is not None:
            failed, changes = _condition_changes(rule, rule_x.condition, policy, params, tracer, scope)
            blockers.append(Blocker(rule.id, rule_x.location, "condition", Msg(N_("its condition is false")), tuple(failed), tuple(changes)))
    return WhyNot(outcome, chosen, tuple(blockers))

