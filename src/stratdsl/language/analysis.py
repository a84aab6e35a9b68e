"""Static analyses of decisions on the checked policy: exhaustiveness and unreachable rules.

A decision without `otherwise` must provably give an outcome for every input;
a rule that earlier rules always pre-empt is dead text that misleads a reader.
Both questions are answered the same way: the conditions are cut into atoms
(a bool, an enum, a number compared with constants, or an opaque comparison),
each atom gets a finite set of representative values — for a number, the
constants it is compared with, the points between and around them, clipped to
its declared range — and the rules are evaluated on every combination. Within
a budget of combinations this is exact for the conditions policies write; past
it, exhaustiveness is not proved and the author is asked for `otherwise`.
Rules with dates or exceptions never count as covering (they may not apply).
The whole policy also has one budget of condition evaluations (MAX_STEPS): `check`
runs in CI on unreviewed text, so its cost must not grow with rules × combinations.
Exhaustiveness (an error) is checked first for every decision; unreachable rules
(a warning) get what remains of the budget.
"""

from __future__ import annotations

import contextvars
import itertools
from decimal import Decimal
from typing import Any

from . import ir
from .diagnostics import Diagnostics
from .messages import N_, Msg
from .types import BoolT, EnumT, NumberT

MAX_COMBINATIONS = 50_000  # per decision, and per rule for unreachable rules
MAX_STEPS = 2_000_000  # per policy: nodes of conditions evaluated by all analyses together


class _OutOfBudget(Exception):
    pass


def _spend(steps: int) -> None:
    left = _STEPS.get()
    if left is not None:
        left[0] -= steps
        if left[0] < 0:
            raise _OutOfBudget


# Numeric parameters count as the constants they default to: the shape of a
# partition (x < p, x >= p) does not depend on p, so coverage proved for the
# default holds for any override of a single threshold.
# A context variable, not a module global: the language server may check
# several policies at once.
_PARAMS: contextvars.ContextVar[dict[str, Decimal] | None] = contextvars.ContextVar("stratdsl_analysis_params", default=None)
# Per analysis: the structural key of each node (by id; the policy outlives the analysis)
# and the steps left of MAX_STEPS.
_KEYS: contextvars.ContextVar[dict[int, tuple] | None] = contextvars.ContextVar("stratdsl_analysis_keys", default=None)
_STEPS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("stratdsl_analysis_steps", default=None)


def _constant(expr: ir.Expr) -> Decimal | None:
    if isinstance(expr, ir.Const) and isinstance(expr.value, Decimal):
        return expr.value
    if isinstance(expr, ir.ParamRef):
        return (_PARAMS.get() or {}).get(expr.name)
    return None


def _key(expr: ir.Expr) -> tuple:
    """A structural key: the same sub-expression written twice is one variable (memoised:
    `_truth` asks for the key of every node it visits)."""
    keys = _KEYS.get()
    if keys is None:
        return _compute_key(expr)
    key = keys.get(id(expr))
    if key is None:
        key = keys[id(expr)] = _compute_key(expr)
    return key


def _compute_key(expr: ir.Expr) -> tuple:
    if isinstance(expr, ir.Const):
        return ("const", repr(expr.value))
    if isinstance(expr, ir.FieldRef):
        return ("field", expr.input_name, expr.field_name)
    if isinstance(expr, ir.MemberFieldRef):
        return ("member", expr.input_name, expr.member, expr.field_name)
    if isinstance(expr, (ir.DefRef, ir.DecisionRef)):
        return (type(expr).__name__, expr.name, expr.member)
    if isinstance(expr, ir.ParamRef):
        return (type(expr).__name__, expr.name)
    fields = []
    for name in ("op", "kind", "name", "input_name", "negated"):
        if hasattr(expr, name):
            fields.append(getattr(expr, name))
    return (type(expr).__name__, *fields, *(_key(c) for c in expr.children() if c is not None))


class _Atoms:
    """Variables of a set of conditions and their representative values."""

    def __init__(self) -> None:
        self.domains: dict[tuple, list[Any]] = {}
        self.numeric_points: dict[tuple, set[Decimal]] = {}
        self.numeric_types: dict[tuple, NumberT] = {}

    def collect(self, expr: ir.Expr) -> None:
        if isinstance(expr, ir.Logic):
            for item in expr.items:
                self.collect(item)
        elif isinstance(expr, ir.Not):
            self.collect(expr.operand)
        elif isinstance(expr, ir.Compare) and self._numeric_const(expr):
            var, const = self._split(expr)
            self.numeric_points.setdefault(_key(var), set()).add(const)
            self.numeric_types[_key(var)] = var.type
        elif isinstance(expr, ir.Compare) and _pair(expr) is not None:
            self.domains[_pair(expr)[0]] = ["lt", "eq", "gt"]
        elif isinstance(expr, ir.Compare) and self._enum_const(expr) is not None:
            var = self._enum_const(expr)
            self.domains[_key(var)] = list(var.type.values)
        elif isinstance(expr, ir.In) and isinstance(expr.container, ir.SetOf) and isinstance(expr.item.type, EnumT):
            self.domains[_key(expr.item)] = list(expr.item.type.values)
        elif isinstance(expr.type, BoolT):
            self.domains[_key(expr)] = [False, True]

    @staticmethod
    def _split(expr: ir.Compare) -> tuple[ir.Expr, Decimal]:
        right = _constant(expr.right)
        if right is not None:
            return expr.left, right
        return expr.right, _constant(expr.left)

    @staticmethod
    def _numeric_const(expr: ir.Compare) -> bool:
        left, right = _constant(expr.left), _constant(expr.right)
        if (left is None) == (right is None):
            return False
        var = expr.right if left is not None else expr.left
        return isinstance(var.type, NumberT)

    @staticmethod
    def _enum_const(expr: ir.Compare) -> ir.Expr | None:
        if expr.op not in ("=", "!="):
            return None
        left, right = expr.left, expr.right
        if isinstance(right, ir.Const) and not isinstance(left, ir.Const) and isinstance(left.type, EnumT):
            return left
        if isinstance(left, ir.Const) and not isinstance(right, ir.Const) and isinstance(right.type, EnumT):
            return right
        return None

    def finish(self) -> None:
        for key, points in self.numeric_points.items():
            type_ = self.numeric_types[key]
            values = sorted(points)
            reps: set[Decimal] = set()
            step = Decimal(1) if type_.integer else Decimal("0.5")
            for i, v in enumerate(values):
                reps.update({v, v - step, v + step})
                if i + 1 < len(values) and not type_.integer:
                    reps.add((v + values[i + 1]) / 2)
            if type_.low is not None:
                reps = {r for r in reps if r >= type_.low} | {type_.low}
            if type_.high is not None:
                reps = {r for r in reps if r <= type_.high} | {type_.high}
            self.domains[key] = sorted(reps)

    def combinations(self) -> int:
        total = 1
        for values in self.domains.values():
            total *= max(len(values), 1)
        return total

    def assignments(self):
        keys = list(self.domains)
        for combo in itertools.product(*(self.domains[k] for k in keys)):
            yield dict(zip(keys, combo, strict=True))


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_HOLDS = {
    "<": {"lt"},
    "<=": {"lt", "eq"},
    ">": {"gt"},
    ">=": {"gt", "eq"},
    "=": {"eq"},
    "!=": {"lt", "gt"},
}


def _pair(expr: ir.Compare) -> tuple[tuple, str] | None:
    """For `x op y` between two non-constant numbers: the atom of the ordered pair and
    the operator read in that order, so `a > b` and `b >= a` share one atom."""
    left, right = expr.left, expr.right
    if _constant(left) is not None or _constant(right) is not None:
        return None
    if not (isinstance(left.type, NumberT) and isinstance(right.type, NumberT)):
        return None
    kl, kr = _key(left), _key(right)
    if repr(kl) <= repr(kr):
        return ("pair", kl, kr), expr.op
    return ("pair", kr, kl), _FLIPPED[expr.op]


def _truth(expr: ir.Expr, env: dict[tuple, Any]) -> Any:
    """Two-valued evaluation of a condition on one assignment of its atoms."""
    _spend(1)
    if isinstance(expr, ir.Compare):
        pair = _pair(expr)
        if pair is not None and pair[0] in env:
            return env[pair[0]] in _HOLDS[pair[1]]
    key = _key(expr)
    if isinstance(expr, ir.Logic):
        values = [_truth(i, env) for i in expr.items]
        return all(values) if expr.op == "and" else any(values)
    if isinstance(expr, ir.Not):
        return not _truth(expr.operand, env)
    if isinstance(expr, ir.Const):
        return expr.value
    if isinstance(expr, ir.Compare) and key not in env:
        left, right = _value(expr.left, env), _value(expr.right, env)
        return {
            "=": lambda: left == right,
            "!=": lambda: left != right,
            "<": lambda: left < right,
            "<=": lambda: left <= right,
            ">": lambda: left > right,
            ">=": lambda: left >= right,
        }[expr.op]()
    if isinstance(expr, ir.In) and isinstance(expr.container, ir.SetOf) and key not in env:
        found = _value(expr.item, env) in {i.value for i in expr.container.items}
        return found != expr.negated
    return env[key]


def _value(expr: ir.Expr, env: dict[tuple, Any]) -> Any:
    constant = _constant(expr)
    if constant is not None:
        return constant
    if isinstance(expr, ir.Const):
        return expr.value
    return env[_key(expr)]


def _covers(rule: ir.Rule) -> bool:
    """Whether a rule certainly applies whenever its condition holds."""
    return rule.valid_from is None and rule.valid_until is None and not rule.exceptions


def _describe(env: dict[tuple, Any], policy: ir.CheckedPolicy) -> str:
    parts = []
    for key, value in env.items():
        if key[0] == "field":
            name = key[2]
        elif key[0] == "member":
            name = f"{key[1]}.{key[2]}.{key[3]}"
        elif key[0] in ("DefRef", "DecisionRef", "ParamRef"):
            name = key[1]
        else:
            continue
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"{name} = {shown}")
    return ", ".join(parts) or Msg(N_("some inputs"))


def _atoms_for(conditions: list[ir.Expr]) -> _Atoms:
    atoms = _Atoms()
    for cond in conditions:
        atoms.collect(cond)
    atoms.finish()
    return atoms


def _check_exhaustive(decision: ir.Decision, policy: ir.CheckedPolicy, diags: Diagnostics) -> None:
    if any(r.is_otherwise for r in decision.rules) or decision.bands:
        return
    covering = [r for r in decision.rules if _covers(r)]
    atoms = _atoms_for([r.cond for r in covering])
    if not covering or atoms.combinations() > MAX_COMBINATIONS:
        _cannot_show(decision, diags)
        return
    try:
        gap = next((env for env in atoms.assignments() if not any(_truth(r.cond, env) for r in covering)), None)
    except _OutOfBudget:
        _cannot_show(decision, diags)
        return
    if gap is not None:
        diags.error(
            "E040",
            Msg(N_("decision '{decision}' gives no outcome when {case}"), decision=decision.name, case=_describe(gap, policy)),
            decision.span,
            hint=Msg(N_("add a rule for that case, or a last line: otherwise OUTCOME")),
        )


def _cannot_show(decision: ir.Decision, diags: Diagnostics) -> None:
    diags.error(
        "E040",
        Msg(
            N_("decision '{decision}' may give no outcome: it has no 'otherwise' and its rules cannot be shown to cover every case"),
            decision=decision.name,
        ),
        decision.span,
        hint=Msg(N_("add a last line: otherwise OUTCOME")),
    )


def _check_unreachable(decision: ir.Decision, policy: ir.CheckedPolicy, diags: Diagnostics) -> None:
    rules = [r for r in decision.rules if not r.is_otherwise]
    own = [_atoms_for([r.cond]) for r in rules]
    own_keys = [set(atoms.domains) for atoms in own]
    for i, rule in enumerate(rules):
        mine, keys = own[i], own_keys[i]
        _spend(i)  # comparing with each earlier rule: quadratic in the rules, so it counts
        earlier = [prev for prev, theirs in zip(rules[:i], own_keys[:i], strict=True) if _covers(prev) and theirs <= keys]
        if not earlier:
            if mine.combinations() <= MAX_COMBINATIONS and not any(_truth(rule.cond, env) for env in mine.assignments()):
                diags.warning("W101", _never_true(rule), rule.span, hint=Msg(N_("remove the rule, or correct its condition")))
            continue
        atoms = _atoms_for([rule.cond] + [p.cond for p in earlier])
        if set(atoms.domains) != keys or atoms.combinations() > MAX_COMBINATIONS:
            continue
        used: set[str] = set()
        possible = False
        for env in atoms.assignments():
            if not _truth(rule.cond, env):
                continue
            hit = next((p for p in earlier if _truth(p.cond, env)), None)
            if hit is None:
                possible = True
                break
            used.add(hit.id)
        if not possible:
            if len(used) == 1:
                message = Msg(N_("rule '{rule}' can never apply: {earlier} always decides first"), rule=rule.id, earlier=next(iter(used)))
            elif used:
                message = Msg(N_("rule '{rule}' can never apply: {earlier} always decide first"), rule=rule.id, earlier=", ".join(sorted(used)))
            else:
                message = _never_true(rule)
            diags.warning("W101", message, rule.span, hint=Msg(N_("remove the rule, or move it above the rules that hide it")))


def _never_true(rule: ir.Rule) -> Msg:
    return Msg(N_("rule '{rule}' can never apply: its condition is never true"), rule=rule.id)


def analyse(policy: ir.CheckedPolicy, diags: Diagnostics) -> None:
    token = _PARAMS.set({p.name: p.default for p in policy.params.values() if isinstance(p.default, Decimal)})
    keys, steps = _KEYS.set({}), _STEPS.set([MAX_STEPS])
    found = {name: (Diagnostics(), Diagnostics()) for name in policy.decisions}
    try:
        # errors first, for every decision; then warnings with what is left of the budget
        for decision in policy.decisions.values():
            _check_exhaustive(decision, policy, found[decision.name][0])
        for decision in policy.decisions.values():
            try:
                _check_unreachable(decision, policy, found[decision.name][1])
            except _OutOfBudget:
                break  # W101 is a warning: past the budget, rules are not compared any more
    finally:
        _PARAMS.reset(token)
        _KEYS.reset(keys)
        _STEPS.reset(steps)
    for errors, warnings in found.values():  # in the order of the decisions, as before
        diags.items += errors.items + warnings.items
