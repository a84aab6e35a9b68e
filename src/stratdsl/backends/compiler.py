"""Compiled evaluation: a checked policy → Python source → functions, as Jinja does.

Every expression of the policy becomes one Python expression (walrus
temporaries carry Kleene logic and unknown facts without statements), every
definition a memoised function, every aggregate a loop. Decisions and
obligations keep the reference evaluator's first-match walk (`_walk` below)
over compiled conditions, so both evaluators give the same outcomes, rule
statuses and missing facts — a differential test checks it on generated
policies and assessments.

Nothing of the policy text is pasted into the generated code: names are
mangled from checked identifiers and checked against a strict pattern (so are
the comments naming the rule a function is for), and every constant is taken
from a table (`K[n]`) of values the checker built.
The compiled form is cached in memory, keyed by the hash of the policy files
and the engine version. `stratdsl eval --dump-compiled` prints the source.

Generated functions are numbered (`c_0` a condition, `b_0` an `if` branch, `h_0`
a hoisted sub-expression; `d_<name>` a definition, `a_<id>`/`r_<id>` an aggregate
or rank node), never named after rule or obligation ids, which could collide; the
map from rules and obligations to their functions is kept in Python. The code
stays linear in the size of the policy (each `if` branch is written once, or
twice when short) and within CPython's nesting limits (deep sub-expressions and
long `and`/`or` chains move into functions of their own). Should CPython still
refuse it, the policy is evaluated by the reference evaluator (`compiled`).
"""

from __future__ import annotations

import decimal
import functools
import operator
import re
import threading
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from .. import __version__
from ..language import ir
from ..language.diagnostics import StratError
from ..runtime.assessment import Assessment, Entity
from ..runtime.evaluator import conclude, division_by_zero, is_range, round_half_up, too_large
from ..runtime.evaluator import evaluate as reference_evaluate
from ..runtime.result import (
    DECIDED,
    EXCEPTED,
    EXCEPTION_UNKNOWN,
    FALSE,
    FIRED,
    NOT_IN_FORCE,
    NOT_REACHED,
    UNDETERMINED,
    UNKNOWN,
    DecisionResult,
    ObligationResult,
    ParamValue,
    Result,
    RuleStatus,
    ValueResult,
)
from ..runtime.values import (
    CONTEXT,
    NotApplicable,
    Unknown,
    aggregate_unknown,
    applicable,
    arith_unknown,
    branches_unknown,
    compare_unknown,
    first_na,
    function_unknown,
    is_na,
    negate_unknown,
    range_unknown,
    sha256_text,
    truth,
)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMMENT = re.compile(r"^[A-Za-z0-9_. :]+$")  # what a `# …` line of generated code may say
_MISSING = object()

#: Estimated bracket depth past which a sub-expression's code becomes a function of its
#: own (`h_N`): CPython refuses more than 200 nested brackets in one statement.
MAX_NESTING = 64
#: `and`/`or` of more operands compile to one statement per operand (`h_N`): the
#: expression form nests a bracket per operand.
LONG_CHAIN = 16
#: `if` branches whose code is longer (characters) are written once, as a function
#: (`b_N`); shorter ones are written twice (taken, and under an unknown condition).
INLINE_BRANCH = 240


def _name(prefix: str, name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"refusing to compile the identifier {name!r}")
    return f"{prefix}_{name}"


# ------------------------------------------------------------------ runtime helpers


def _u(*values: Any) -> Unknown:
    missing: set[str] = set()
    for v in values:
        if v.__class__ is Unknown:
            missing |= v.missing
    return Unknown(frozenset(missing))


def _div(a: Decimal, b: Decimal, span: Any, entity: Entity | None) -> Decimal:
    try:
        return CONTEXT.divide(a, b)
    except (decimal.DivisionByZero, decimal.InvalidOperation):
        raise StratError([division_by_zero(span, entity.path if entity is not None else None)]) from None


def _function_u(name: str) -> Any:
    def call(*args: Any) -> Any:
        return function_unknown(name, args)

    return call


#: Generated-code names of operations on unknown operands: `_u_add(a, b)` is
#: arith_unknown("+", a, b), `_u_lt` compare_unknown("<", …), `_u_round(x, places)`
#: function_unknown("round", (x, places)).
_OP_NAMES = {
    "+": "add", "-": "sub", "*": "mul", "/": "div",
    "=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "in": "in", "not in": "nin",
}
_UNKNOWN_OPS: dict[str, Any] = {
    **{f"_u_{_OP_NAMES[op]}": functools.partial(arith_unknown, op) for op in ("+", "-", "*", "/")},
    **{f"_u_{_OP_NAMES[op]}": functools.partial(compare_unknown, op) for op in ("=", "!=", "<", "<=", ">", ">=", "in", "not in")},
    **{f"_u_{name}": _function_u(name) for name in ("size", "round", "abs", "floor", "ceil", "min", "max")},
}


# Operations on operands that may be not applicable (the checker's `na` flag): written as
# calls of these helpers, which follow the reference evaluator (values.py: n/a propagates
# through arithmetic and functions, a comparison with it is false); operands that are
# never n/a keep the inline code above.


def _na_arith(op: str, a: Any, b: Any, span: Any, entity: Entity | None) -> Any:
    na = first_na(a, b)
    if na is not None:
        return na
    if a.__class__ is Unknown or b.__class__ is Unknown:
        return arith_unknown(op, a, b)
    if op == "/":
        return _div(a, b, span, entity)
    return {"+": CONTEXT.add, "-": CONTEXT.subtract, "*": CONTEXT.multiply}[op](a, b)


def _na_cmp(op: str, a: Any, b: Any) -> Any:
    if a.__class__ is NotApplicable or b.__class__ is NotApplicable:
        return False
    if a.__class__ is Unknown or b.__class__ is Unknown:
        return compare_unknown(op, a, b)
    if op == "in":
        return a in b
    if op == "not in":
        return a not in b
    return _CMP[op](a, b)


_CMP = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _na_neg(a: Any) -> Any:
    if a.__class__ is NotApplicable:
        return a
    return negate_unknown(a) if a.__class__ is Unknown else -a


def _na_func(name: str, span: Any, *args: Any) -> Any:
    na = first_na(*args)
    if na is not None:
        return na
    if any(a.__class__ is Unknown for a in args):
        return function_unknown(name, args)
    x = args[0]
    if name == "round":
        return round_half_up(x, int(args[1]) if len(args) > 1 else 0, span)
    return {
        "size": lambda: Decimal(len(x)), "abs": lambda: abs(x), "floor": lambda: _floor(x), "ceil": lambda: _ceil(x),
        "min": lambda: min(args), "max": lambda: max(args),
    }[name]()


def _na_date(value: Any) -> Any:
    """An n/a date bound of a dated rule or obligation: no bound (as the reference evaluator)."""
    return None if value.__class__ is NotApplicable else value


def _floor(x: Decimal) -> Decimal:
    return x.to_integral_value(rounding=ROUND_FLOOR)


def _ceil(x: Decimal) -> Decimal:
    return x.to_integral_value(rounding=ROUND_CEILING)


def _sum(values: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for v in values:
        total = CONTEXT.add(total, v)
    return total


# ------------------------------------------------------------------ code generation


class _Gen:
    def __init__(self, policy: ir.CheckedPolicy) -> None:
        self.policy = policy
        self.consts: list[Any] = []
        self.const_index: dict[tuple[type, Any], int] = {}
        self.functions: list[str] = []
        self.later: list[str] = []  # compiled on first use: the outcome-only walks
        self.defined: set[str] = set()
        self.numbers: dict[str, int] = {}
        self.tmp = 0
        self.spans: list[Any] = []
        self.memo_slots: dict[str, int] = {}
        # estimated bracket depth of the code being written, one entry per open expression
        self.heights: list[int] = [0]
        # arithmetic (or a function or aggregate) needs the decimal context; comparisons do not
        self.needs_context = False
        # the fields a known-path walk reads directly: (code that reads it, local name)
        self.reads: dict[str, str] = {}
        # whether the known code written since it was last set reads nothing but entity fields and constants
        self.pure = True

    def fresh(self, prefix: str) -> str:
        n = self.numbers.get(prefix, 0)
        self.numbers[prefix] = n + 1
        return f"{prefix}_{n}"

    def define(self, name: str, lines: list[str], about: str | None = None, later: bool = False) -> None:
        """Add a function; `later` ones (only `outcomes()` calls them) are compiled on first use."""
        if name in self.defined:  # a second `def` would silently replace the first (B10)
            raise AssertionError(f"generated function {name} defined twice")
        self.defined.add(name)
        if about is not None and _COMMENT.match(about):
            lines = [f"# {about}", *lines]
        (self.later if later else self.functions).append("\n".join(lines))

    def const(self, value: Any) -> str:
        """A module global `K_n` bound to the n-th entry of the constants table `K`."""
        key = (type(value), value if not isinstance(value, list) else tuple(value))
        if key not in self.const_index:
            self.const_index[key] = len(self.consts)
            self.consts.append(value)
        return f"K_{self.const_index[key]}"

    def span(self, span: Any) -> str:
        self.spans.append(span)
        return f"S[{len(self.spans) - 1}]"

    def t(self) -> str:
        self.tmp += 1
        return f"_t{self.tmp}"

    def slot(self, key: str) -> int:
        if key not in self.memo_slots:
            self.memo_slots[key] = len(self.memo_slots)
        return self.memo_slots[key]

    # -------------------------------------------------------------- expressions
    def expr(self, e: ir.Expr, ent: str) -> str:
        """Code of `e` in the scope of entity variable `ent`; its estimated bracket depth
        goes to the enclosing expression's entry of `heights`."""
        heights = self.heights
        heights.append(0)
        code = getattr(self, "_" + type(e).__name__)(e, ent)
        own = len(e.items) + 2 if type(e) is ir.Logic and len(e.items) <= LONG_CHAIN else 4
        height = heights.pop() + own
        if height > MAX_NESTING:
            code, height = self.function("h", code, ent), 1
        if heights[-1] < height:
            heights[-1] = height
        return code

    def measured(self, e: ir.Expr, ent: str) -> tuple[str, int]:
        """Code of `e` and its depth, not counted in the enclosing expression."""
        self.heights.append(0)
        code = self.expr(e, ent)
        return code, self.heights.pop()

    def detached(self, e: ir.Expr, ent: str) -> str:
        """Code of `e` for a statement of a function of its own."""
        return self.measured(e, ent)[0]

    def function(self, prefix: str, code: str, ent: str) -> str:
        """`code` as the body of a new function; returns the call."""
        name = self.fresh(prefix)
        self.define(name, [f"def {name}(X, {ent}):", f"    return {code}"])
        return f"{name}(X, {ent})"

    def _Const(self, e: ir.Const, ent: str) -> str:
        return self.const(e.value)

    def _FieldRef(self, e: ir.FieldRef, ent: str) -> str:
        if e.of_record:
            return f"X.R[{self.const(e.input_name)}][{self.const(e.field_name)}]"
        return f"{ent}.values[{self.const(e.field_name)}]"

    def _MemberFieldRef(self, e: ir.MemberFieldRef, ent: str) -> str:
        return f"X.MEM[{self.const(e.input_name)}][{self.const(e.member)}].values[{self.const(e.field_name)}]"

    def _EntityId(self, e: ir.EntityId, ent: str) -> str:
        return f"{ent}.id"

    def _AsOf(self, e: ir.AsOf, ent: str) -> str:
        return "X.AS_OF"

    def _target(self, e: ir.DefRef | ir.DecisionRef, ent: str, owner: str | None) -> str:
        if e.member is not None:
            return f"X.MEM[{self.const(e.input_name)}][{self.const(e.member)}]"
        return ent if owner is not None else "None"

    def _DefRef(self, e: ir.DefRef, ent: str) -> str:
        owner = self.policy.definitions[e.name].entity_input
        return f"{_name('d', e.name)}(X, {self._target(e, ent, owner)})"

    def _DecisionRef(self, e: ir.DecisionRef, ent: str) -> str:
        owner = self.policy.decisions[e.name].entity_input
        return f"X.outcome({self.const(e.name)}, {self._target(e, ent, owner)})"

    def _ParamRef(self, e: ir.ParamRef, ent: str) -> str:
        return f"X.P[{self.const(e.name)}]"

    def truth(self, e: ir.Expr, code: str) -> str:
        """Code of a value in a truth position: n/a counts as false."""
        return f"_nf({code})" if e.na else code

    def _IsApplicable(self, e: ir.IsApplicable, ent: str) -> str:
        return f"_app({self.expr(e.operand, ent)}, {e.negated})"

    def _Neg(self, e: ir.Neg, ent: str) -> str:
        self.needs_context = True
        if e.operand.na:
            return f"_na_neg({self.expr(e.operand, ent)})"
        a = self.t()
        return f"(_u_neg({a}) if ({a} := {self.expr(e.operand, ent)}).__class__ is U else -{a})"

    def _Not(self, e: ir.Not, ent: str) -> str:
        a = self.t()
        return f"({a} if ({a} := {self.truth(e.operand, self.expr(e.operand, ent))}).__class__ is U else not {a})"

    def _both(self, left: ir.Expr, right: ir.Expr, ent: str, body: str, unknown: str | None = None) -> str:
        """Both operands evaluated (missing facts of both are reported), unknown if either is;
        constants and parameters are never unknown, so they skip the test (and the temporary)."""
        names, tests = [], []
        for operand in (left, right):
            code = self.expr(operand, ent)
            if isinstance(operand, (ir.Const, ir.ParamRef, ir.SetOf, ir.AsOf)):
                names.append(code)
            else:
                temp = self.t()
                names.append(temp)
                tests.append(f"(({temp} := {code}).__class__ is U)")
        a, b = names
        if not tests:
            return body.format(a=a, b=b)
        when_unknown = (unknown or "_u({a}, {b})").format(a=a, b=b)
        return f"({when_unknown} if {' | '.join(tests)} else {body.format(a=a, b=b)})"

    # With an unknown operand, the values.py helpers (`_u_add` is arith_unknown("+", …),
    # see _UNKNOWN_OPS) compute the possible values exactly as the reference evaluator
    # does; the known case stays inline, and the names are short so that the code of
    # an `if` branch stays short (INLINE_BRANCH).
    def _Arith(self, e: ir.Arith, ent: str) -> str:
        self.needs_context = True
        if e.left.na or e.right.na:
            left, right = self.expr(e.left, ent), self.expr(e.right, ent)
            return f"_na_arith({self.const(e.op)}, {left}, {right}, {self.span(e.span)}, {ent})"
        unknown = f"_u_{_OP_NAMES[e.op]}({{a}}, {{b}})"
        if e.op == "/":
            return self._both(e.left, e.right, ent, "_div({a}, {b}, " + self.span(e.span) + f", {ent})", unknown)
        op = {"+": "+", "-": "-", "*": "*"}[e.op]
        return self._both(e.left, e.right, ent, "({a} " + op + " {b})", unknown)

    def _Compare(self, e: ir.Compare, ent: str) -> str:
        op = "==" if e.op == "=" else e.op
        if e.left.na or e.right.na:
            return f"_na_cmp({self.const(e.op)}, {self.expr(e.left, ent)}, {self.expr(e.right, ent)})"
        unknown = f"_u_{_OP_NAMES[e.op]}({{a}}, {{b}})"
        return self._both(e.left, e.right, ent, "({a} " + op + " {b})", unknown)

    def _In(self, e: ir.In, ent: str) -> str:
        if e.item.na or e.container.na:
            op = self.const("not in" if e.negated else "in")
            return f"_na_cmp({op}, {self.expr(e.item, ent)}, {self.expr(e.container, ent)})"
        body = "({a} not in {b})" if e.negated else "({a} in {b})"
        unknown = f"_u_{_OP_NAMES['not in' if e.negated else 'in']}({{a}}, {{b}})"
        return self._both(e.item, e.container, ent, body, unknown)

    def _SetOf(self, e: ir.SetOf, ent: str) -> str:
        return self.const(frozenset(i.value for i in e.items))

    def _Logic(self, e: ir.Logic, ent: str) -> str:
        # Kleene: the first decisive value wins; otherwise unknown if any was unknown.
        decisive = "True" if e.op == "or" else "False"
        temps = [self.t() for _ in e.items]
        unknown = f"_u({', '.join(temps)})"
        if is_range(e):  # `between` or a band: the shared operand against its bounds, jointly
            ops = self.const(tuple(item.op for item in e.items))
            rights = "".join(f"{self.expr(item.right, ent)}, " for item in e.items)
            unknown = f"_u_range({ops}, {self.expr(e.items[0].left, ent)}, ({rights}), {unknown})"
        rest = f"{unknown} if {' or '.join(f'{t}.__class__ is U' for t in temps)} else {'False' if e.op == 'or' else 'True'}"
        if len(e.items) > LONG_CHAIN:  # one statement per operand: no nesting
            name = self.fresh("h")
            lines = [f"def {name}(X, {ent}):"]
            for temp, item in zip(temps, e.items, strict=True):
                lines.append(f"    if ({temp} := {self.truth(item, self.detached(item, ent))}) is {decisive}: return {decisive}")
            self.define(name, [*lines, f"    return {rest}"])
            return f"{name}(X, {ent})"
        out = f"({rest})"
        for temp, item in reversed(list(zip(temps, e.items, strict=True))):
            out = f"({decisive} if ({temp} := {self.truth(item, self.expr(item, ent))}) is {decisive} else {out})"
        return out

    def _Cond(self, e: ir.Cond, ent: str) -> str:
        c = self.t()
        then, other = self.branch(e.then, ent), self.branch(e.otherwise, ent)
        # an unknown condition still settles the value when both branches agree
        unknown = f"_cond_unknown({c}, lambda: {then}, lambda: {other})"
        return f"({then} if ({c} := {self.truth(e.cond, self.expr(e.cond, ent))}) is True else ({other} if {c} is False else {unknown}))"

    def branch(self, e: ir.Expr, ent: str) -> str:
        """A branch of `if` is written twice: short code as it is, longer code as a call of a
        function written once (nested `if`s would otherwise double the code at each level)."""
        code, height = self.measured(e, ent)
        if len(code) > INLINE_BRANCH:
            return self.function("b", code, ent)
        if self.heights[-1] < height:
            self.heights[-1] = height
        return code

    def _Func(self, e: ir.Func, ent: str) -> str:
        self.needs_context = True
        args = [self.expr(a, ent) for a in e.args]
        if e.name == "known":
            return f"(({args[0]}).__class__ is not U)"
        if any(a.na for a in e.args):
            return f"_na_func({self.const(e.name)}, {self.span(e.span)}, {', '.join(args)})"
        temps = [self.t() for _ in args]
        bind = " | ".join(f"(({t} := {a}).__class__ is U)" for t, a in zip(temps, args, strict=True))
        unknown = f"_u_{e.name}({', '.join(temps)})"
        if e.name == "round":
            return f"({unknown} if {bind} else _round({temps[0]}, {self.places(e)}, {self.span(e.span)}))"
        fn = {
            "size": f"Decimal(len({temps[0]}))",
            "abs": f"abs({temps[0]})",
            "floor": f"_floor({temps[0]})",
            "ceil": f"_ceil({temps[0]})",
            "min": f"min({', '.join(temps)})",
            "max": f"max({', '.join(temps)})",
        }[e.name]
        return f"({unknown} if {bind} else {fn})"

    def places(self, e: ir.Func) -> str:
        if len(e.args) == 1:
            return self.const(0)
        places = e.args[1]
        if not isinstance(places, ir.Const):
            raise ValueError("round() with places that are not a constant: the checker refuses it")
        return self.const(int(places.value))

    def _Aggregate(self, e: ir.Aggregate, ent: str) -> str:
        self.needs_context = True
        fname = f"a_{e.id}"
        if fname in self.defined:  # the same node reached twice (a shared sub-tree)
            return f"{fname}(X, {ent})"
        lines = [f"def {fname}(X, _outer):", "    vals = []; wts = []; unc = []"]
        lines.append(f"    for x in X.ENT[{self.const(e.input_name)}]:")
        if e.where is not None:
            lines.append(f"        w = {self.truth(e.where, self.detached(e.where, 'x'))}")
            lines.append("        if w is False: continue")
            lines.append("        if w.__class__ is U:")
            lines.append("            unc.append(w)")
            lines.append("            continue")
        kind = e.kind
        body = self.detached(e.body, "x") if e.body is not None else "True"
        if e.body is not None and kind in ("any", "all"):
            body = self.truth(e.body, body)
        if kind not in ("any", "all") and ((e.body is not None and e.body.na) or (e.weight is not None and e.weight.na)):
            # a member whose value or weight is n/a has no such quantity: skipped
            lines.append(f"        v = {body}")
            lines.append(f"        wt = {self.detached(e.weight, 'x') if e.weight is not None else 'None'}")
            lines.append("        if v.__class__ is NA or wt.__class__ is NA: continue")
            lines.append("        vals.append(v)")
            if e.weight is not None:
                lines.append("        wts.append(wt)")
        else:
            lines.append(f"        vals.append({body})")
            if e.weight is not None:
                lines.append(f"        wts.append({self.detached(e.weight, 'x')})")
        entity_name = self.policy.inputs[e.input_name].entity
        if kind in ("any", "all"):
            decisive = "True" if kind == "any" else "False"
            lines.append(f"    if any(v is {decisive} for v in vals): return {decisive}")
            lines.append("    pend = [v for v in vals if v.__class__ is U] + unc")
            lines.append(f"    return _u(*pend) if pend else {'False' if kind == 'any' else 'True'}")
        else:
            zero = self.const(Unknown(frozenset({f"{e.input_name} (weights sum to zero)"})))
            lines.append("    if unc or any(v.__class__ is U for v in vals) or any(v.__class__ is U for v in wts):")
            lines.append(f"        return _u_agg({self.const(kind)}, unc, vals, wts, {zero})")
            if kind == "count":
                lines.append("    return Decimal(len(vals))")
            elif kind == "sum":
                lines.append("    return _sum(vals)")
            else:
                empty = self.const(Unknown(frozenset({f"{e.input_name} (no {entity_name} to aggregate)"})))
                lines.append(f"    if not vals: return {empty}")
                if kind == "min":
                    lines.append("    return min(vals)")
                elif kind == "max":
                    lines.append("    return max(vals)")
                elif kind == "mean":
                    lines.append("    return CONTEXT.divide(_sum(vals), Decimal(len(vals)))")
                else:
                    lines.append("    tw = _sum(wts)")
                    lines.append(f"    if tw == 0: return {zero}")
                    lines.append("    return CONTEXT.divide(_sum([CONTEXT.multiply(v, w) for v, w in zip(vals, wts)]), tw)")
        self.define(fname, lines)
        return f"{fname}(X, {ent})"

    def _Rank(self, e: ir.Rank, ent: str) -> str:
        fname = f"r_{e.id}"
        if fname in self.defined:
            return f"{fname}(X, {ent})"
        slot = self.slot(fname)
        keys = ", ".join(self.detached(k, "x") for k, _ in e.keys)
        desc = self.const(tuple(d for _, d in e.keys))
        where = self.truth(e.where, self.detached(e.where, "x")) if e.where is not None else "True"
        lines = [
            f"def {fname}(X, e):",
            f"    table = X.memo[{slot}].get(0)",
            "    if table is None:",
            f"        table = _rank_table(X, X.ENT[{self.const(e.input_name)}], lambda x: {where}, lambda x: ({keys},), {desc})",
            f"        X.memo[{slot}][0] = table",
            "    return table.get(e.id, _ZERO)",
        ]
        self.define(fname, lines)
        return f"{fname}(X, {ent})"

    # -------------------------------------------------------------- declarations
    def definition(self, d: ir.Definition) -> None:
        fname = _name("d", d.name)
        slot = self.slot(fname)
        key = "e.index" if d.entity_input is not None else "0"
        body = self.detached(d.expr, "e")
        self.define(
            fname,
            [
                f"def {fname}(X, e):",
                f"    m = X.memo[{slot}]",
                f"    v = m.get({key}, MISS)",
                "    if v is MISS:",
                f"        v = m[{key}] = {body}",
                "    return v",
            ],
        )

    def condition(self, e: ir.Expr, about: str, date: bool = False) -> str:
        """A numbered function for a condition or date; the caller keeps its name (B10)."""
        fname = self.fresh("c")
        code = self.detached(e, "e")
        if e.na:  # an n/a condition is false; an n/a date is no bound
            code = f"_na_date({code})" if date else f"_nf({code})"
        self.define(fname, [f"def {fname}(X, e):", f"    return {code}"], about)
        return fname


    # -------------------------------------------------------------- the known path
    #
    # A decision's walk is generated twice more: once returning the full result
    # (`w_N`) and once the outcome alone (`o_N`). Both first read the fields the
    # conditions read directly into locals and test them once; when all are known
    # the conditions are plain Python (`f0 >= K_1 and f1 < K_1`: no Kleene tests),
    # values computed elsewhere (definitions, decisions, aggregates) are checked
    # where they are read (`_fb()` leaves the known path when one is unknown), and a
    # rule that certainly fires returns at once: the statuses of the other rules are
    # a tuple built at compile time. Anything else (an unknown field, an unknown
    # value, a rule in force on an unknown date, no rule firing) takes the generic
    # walk (`_Run._walk`), which agrees with the reference evaluator.

    def known(self, e: ir.Expr, depth: int = 0) -> str:
        """Code of `e` for the known path in the scope of entity `e`."""
        if depth > 24:  # deep: the generic code (bracket depth managed), checked
            return self.checked(self.detached(e, "e"))
        kind = type(e)
        if e.na or any(c is not None and c.na for c in e.children()):
            # n/a handled by the generic code; a condition that may be n/a is wrapped by the caller
            return self.checked(self.detached(e, "e"))
        if kind in (ir.Const, ir.SetOf, ir.ParamRef, ir.AsOf, ir.EntityId):
            if kind is ir.ParamRef or kind is ir.AsOf:
                self.pure = False
            return self.expr(e, "e")
        if kind is ir.FieldRef or kind is ir.MemberFieldRef:
            if kind is ir.MemberFieldRef or e.of_record:
                self.pure = False
            code = self.expr(e, "e")
            local = self.reads.get(code)
            if local is None:
                local = self.reads[code] = f"f{len(self.reads)}"
            return local
        if kind is ir.Not:
            return f"(not {self.known(e.operand, depth + 1)})"
        if kind is ir.Logic and len(e.items) <= LONG_CHAIN:
            return "(" + f" {e.op} ".join(self.known(item, depth + 1) for item in e.items) + ")"
        if kind is ir.Compare:
            op = "==" if e.op == "=" else e.op
            return f"({self.known(e.left, depth + 1)} {op} {self.known(e.right, depth + 1)})"
        if kind is ir.In:
            return f"({self.known(e.item, depth + 1)} {'not in' if e.negated else 'in'} {self.known(e.container, depth + 1)})"
        if kind is ir.Cond:
            return f"({self.known(e.then, depth + 1)} if {self.known(e.cond, depth + 1)} else {self.known(e.otherwise, depth + 1)})"
        if kind is ir.Arith and e.op != "/":
            self.needs_context = True
            return f"({self.known(e.left, depth + 1)} {e.op} {self.known(e.right, depth + 1)})"
        # definitions, decisions, aggregates, ranks, functions, divisions: computed (and
        # memoised) by the generic code, then checked to be known
        return self.checked(self.detached(e, "e"))

    def checked(self, code: str) -> str:
        self.pure = False
        t = self.t()
        return f"({t} if ({t} := {code}).__class__ is not U else _fb())"

    def walks(self, decision: ir.Decision, number: int) -> tuple[str, str]:
        """The known-path walks of a decision: (full result function, outcome function)."""
        self.reads = {}
        body: list[str] = []  # lines with {FIRE} / {SPECIAL} placeholders
        for i, rule in enumerate(decision.rules):
            body.append(f"    # rule {rule.id}" if _COMMENT.match(rule.id) else "    # rule")
            pad = "    "
            if rule.valid_from is not None or rule.valid_until is not None:
                force = f"X.force({number}, {i})"
                body += [f"{pad}if (_f := {force}) is not True:",
                         f"{pad}    if _f is not False: return {{SLOW}}",
                         f"{pad}    {{SPECIAL:{i}:-1}}",
                         f"{pad}else:"]
                pad += "    "
            cond = "True" if rule.cond is None else self.truth(rule.cond, self.known(rule.cond))
            body.append(f"{pad}if {cond}:")
            for j, x in enumerate(rule.exceptions):
                body.append(f"{pad}    {'if' if j == 0 else 'elif'} {self.truth(x.cond, self.known(x.cond))}: {{SPECIAL:{i}:{j}}}")
            if rule.exceptions:
                body.append(f"{pad}    else: {{FIRE:{i}}}")
            else:
                body.append(f"{pad}    {{FIRE:{i}}}")
        body.append("    return {SLOW}")
        prelude = []
        if self.reads:
            prelude += [f"    {local} = {code}" for code, local in self.reads.items()]
            prelude.append(f"    if {' or '.join(f'{local}.__class__ is U' for local in self.reads.values())}: return {{SLOW}}")
        name = self.const(decision.name)
        full, outcome = f"w_{number}", f"o_{number}"
        fire_full = {i: f"return X.fired({number}, {i}, s, e)" for i in range(len(decision.rules))}
        fire_outcome = {i: f"return {self.const(rule.outcome)}" for i, rule in enumerate(decision.rules)}

        def render(fire: dict[int, str], track: bool, slow: str) -> list[str]:
            out = []
            for line in body:
                line = line.replace("{SLOW}", slow)
                if "{FIRE:" in line:
                    i = int(line.split("{FIRE:")[1].split("}")[0])
                    line = line.replace(f"{{FIRE:{i}}}", fire[i])
                if "{SPECIAL:" in line:
                    tag = line.split("{SPECIAL:")[1].split("}")[0]
                    i, j = (int(n) for n in tag.split(":"))
                    special = f"s = (s or ()) + (({i}, {j}),)" if track else "pass"
                    line = line.replace(f"{{SPECIAL:{tag}}}", special)
                out.append(line)
            return out

        def function(fname: str, lines: list[str], slow: str) -> list[str]:
            # a value read on the known path that turns out unknown (`_fb()`) leaves for the generic walk
            inner = ["    " + line for line in lines]
            return [f"def {fname}(X, e):", "    try:", *inner, "    except _Fallback:", f"        return {slow}"]

        slow_full, slow_outcome = f"X._walk_named({name}, e)", f"X.slow_outcome({name}, e)"
        self.define(full, function(full, [*(line.replace("{SLOW}", slow_full) for line in prelude), "    s = None",
                                          *render(fire_full, True, slow_full)], slow_full),
                    f"decision {decision.name}: the known path")
        self.define(outcome, function(outcome, [*(line.replace("{SLOW}", slow_outcome) for line in prelude),
                                                *render(fire_outcome, False, slow_outcome)], slow_outcome),
                    f"decision {decision.name}: the known path, outcome only", later=True)
        return full, outcome


    def fused(self, decisions: list[ir.Decision]) -> str | None:
        """For a policy whose decisions read only fields of their entity and constants (no
        definitions, parameters, dates or records), one function giving every outcome: per
        entity, its fields are read and tested once, then each decision is an if/elif chain
        (an exception that applies makes its rule's test false). `t_all(A, as_of, params)` is what
        `CompiledPolicy.outcomes` gives; as soon as a field is unknown or no rule applies it returns
        `_slow(A, as_of, params)` (the outcome walks). An entity is tested once (`Entity.known`),
        and an input with one entity all known is read straight from `Assessment.single`.
        None (no fused function) when a decision reads anything but its entity's fields."""
        if not decisions or any(d.entity_input is None for d in decisions):
            return None
        self.pure = True
        by_input: dict[str, list[int]] = {}
        for n, decision in enumerate(decisions):
            by_input.setdefault(decision.entity_input or "", []).append(n)
        lines = ["def t_all(A, as_of, params=None):", "    E = A.entities"]
        for input_name, numbers in by_input.items():
            self.reads = {}  # the fields of this input's entities
            chains: list[str] = []
            for n in numbers:
                for i, rule in enumerate(decisions[n].rules):
                    if rule.valid_from is not None or rule.valid_until is not None:
                        return None
                    tests = [] if rule.cond is None else [self.truth(rule.cond, self.known(rule.cond))]
                    tests += [f"not {self.truth(x.cond, self.known(x.cond))}" for x in rule.exceptions]
                    test = " and ".join(tests) or "True"
                    chains.append(f"        {'if' if i == 0 else 'elif'} {test}: r{n} = {self.const(rule.outcome)}")
                chains += ["        else: return _slow(A, as_of, params)", f"        l{n}.append(r{n})"]
            if not self.pure:
                return None
            lines.append(f"    E{numbers[0]} = E.get({self.const(input_name)}, ())")
            reads = [f"        {local} = v{code[len('e.values'):]}" for code, local in self.reads.items()]
            if self.reads:  # one test per entity (`known`: no value of it is unknown), else one per field
                unknown = " or ".join(f"{local}.__class__ is U" for local in self.reads.values())
                reads.append(f"        if not e.known and ({unknown}): return _slow(A, as_of, params)")
            if len(by_input) == 1:  # one entity (the common case of a call per record): no lists
                # known at construction (Assessment.single): no unknown test at all, first thing
                lines[1:1] = [f"    v = A.single.get({self.const(input_name)})", "    if v is not None:",
                              *(f"        {local} = v{code[len('e.values'):]}" for code, local in self.reads.items()),
                              *(line for line in chains if ".append(" not in line),
                              f"        return ({', '.join(f'r{n}' for n in numbers)},)"]
                lines += [f"    if len(E{numbers[0]}) == 1:", f"        e = E{numbers[0]}[0]", "        v = e.values", *reads]
                lines += [line for line in chains if ".append(" not in line]
                lines.append(f"        return ({', '.join(f'r{n}' for n in numbers)},)")
            lines += [f"    l{n} = []" for n in numbers]
            lines += [f"    for e in E{numbers[0]}:", "        v = e.values", *reads]
            lines += chains
        lines.append(f"    return ({', '.join(f'*l{n}' for n in range(len(decisions)))},)")
        self.define("t_all", lines, "every outcome when every field read is known", later=True)
        return "t_all"


class _Fallback(Exception):
    """Raised by the known path when a value it reads turns out unknown: take the generic walk."""


def _fb() -> Any:
    raise _Fallback


def _cond_unknown(c: Unknown, then_fn: Any, other_fn: Any) -> Any:
    """An `if` whose condition is unknown: both branches, each of which may never be taken
    (an error in one only makes it unknown); either may be the value (equal ones settle it)."""
    return branches_unknown(c, _branch(then_fn), _branch(other_fn))


def _branch(fn: Any) -> Any:
    try:
        return fn()
    except (StratError, decimal.Overflow):  # the reference evaluator's E202 is a StratError
        return Unknown()


def _rank_table(X: Any, members: list[Entity], where: Any, keys: Any, descending: tuple[bool, ...]) -> dict[str, Any]:
    passing = []
    uncertain = []
    table: dict[str, Any] = {}
    for m in members:
        keep = where(m)
        if keep is False:
            table[m.id] = _ZERO
            continue
        ks = keys(m)
        if keep.__class__ is Unknown:
            uncertain.append(keep)
            table[m.id] = keep
            continue
        passing.append((m, ks))
    unknown_keys = [k for _, ks in passing for k in ks if k.__class__ is Unknown]
    if uncertain or unknown_keys:
        blocked = _u(*uncertain, *unknown_keys)
        for m, _ in passing:
            table[m.id] = blocked
        return table

    def order(a: tuple[Entity, tuple], b: tuple[Entity, tuple]) -> int:
        for ka, kb, desc in zip(a[1], b[1], descending, strict=True):
            if is_na(ka) or is_na(kb):  # n/a after every value, in either direction
                if is_na(ka) and is_na(kb):
                    continue
                return 1 if is_na(ka) else -1
            if ka != kb:
                less = ka < kb
                return (1 if less else -1) if desc else (-1 if less else 1)
        return -1 if a[0].id < b[0].id else (1 if a[0].id > b[0].id else 0)

    for position, (m, _) in enumerate(sorted(passing, key=functools.cmp_to_key(order)), start=1):
        table[m.id] = Decimal(position)
    return table


_ZERO = Decimal(0)


# ------------------------------------------------------------------ the compiled policy


class CompiledPolicy:
    """Callable form of a checked policy. `evaluate` has the reference evaluator's signature and
    result; `outcomes` gives the outcomes alone. The generated functions keep no per-run state:
    the run's data reach them as the argument `X`, so threads evaluate in parallel."""

    def __init__(self, policy: ir.CheckedPolicy) -> None:
        self.policy = policy
        gen = _Gen(policy)
        for d in policy.definitions.values():
            gen.definition(d)
        self.rule_conditions: dict[str, list[tuple[ir.Rule, str | None, list[tuple[ir.Exception_, str]], str | None, str | None]]] = {}
        for decision in policy.decisions.values():
            rules = []
            for rule in decision.rules:
                cond = gen.condition(rule.cond, f"rule {rule.id}") if rule.cond is not None else None
                excs = [(x, gen.condition(x.cond, f"exception {x.id}")) for x in rule.exceptions]
                vf = gen.condition(rule.valid_from, f"rule {rule.id}: from", True) if rule.valid_from is not None else None
                vu = gen.condition(rule.valid_until, f"rule {rule.id}: until", True) if rule.valid_until is not None else None
                rules.append((rule, cond, excs, vf, vu))
            self.rule_conditions[decision.name] = rules
        self.obligation_conditions = {}
        for o in policy.obligations.values():
            self.obligation_conditions[o.name] = (
                gen.condition(o.cond, f"obligation {o.name}"),
                gen.condition(o.valid_from, f"obligation {o.name}: from", True) if o.valid_from is not None else None,
                gen.condition(o.valid_until, f"obligation {o.name}: until", True) if o.valid_until is not None else None,
            )
        known_walks = [gen.walks(decision, n) for n, decision in enumerate(policy.decisions.values())]
        fused = gen.fused(list(policy.decisions.values()))
        main = "\n\n".join(gen.functions) + "\n"
        self.later_source = "\n\n".join(gen.later) + "\n"
        self.source = main + "\n\n" + self.later_source  # all of it, for --dump-compiled and reviews
        self._fused_name = fused
        self._later_lock = threading.Lock()
        self.memo_slots = len(gen.memo_slots)
        self.needs_context = gen.needs_context
        self.namespace: dict[str, Any] = {
            "K": gen.consts,
            **{f"K_{n}": value for n, value in enumerate(gen.consts)},
            "S": gen.spans,
            "U": Unknown,
            "MISS": _MISSING,
            "Decimal": Decimal,
            "CONTEXT": CONTEXT,
            "_u": _u,
            "NA": NotApplicable,
            "_nf": truth,
            "_app": applicable,
            "_na_date": _na_date,
            "_na_arith": _na_arith,
            "_na_cmp": _na_cmp,
            "_na_neg": _na_neg,
            "_na_func": _na_func,
            "_u_neg": negate_unknown,
            "_u_range": range_unknown,
            "_u_agg": aggregate_unknown,
            **_UNKNOWN_OPS,
            "_div": _div,
            "_round": round_half_up,
            "_floor": _floor,
            "_ceil": _ceil,
            "_sum": _sum,
            "_cond_unknown": _cond_unknown,
            "_rank_table": _rank_table,
            "_ZERO": _ZERO,
            "_fb": _fb,
            "_Fallback": _Fallback,
            "__builtins__": {"len": len, "min": min, "max": max, "abs": abs, "any": any, "zip": zip},
        }
        _run_generated(main, f"<stratdsl compiled {policy.name}>", self.namespace)
        # resolve generated names to functions, and build the statuses that carry
        # no per-run data once: the walk then only picks them
        ns = self.namespace
        self.walks: dict[str, list[tuple]] = {}
        for name, rules in self.rule_conditions.items():
            plan = []
            for index, (rule, cond, excs, vf, vu) in enumerate(rules):
                later = tuple(RuleStatus(r.id, r.outcome, NOT_REACHED) for r, *_ in rules[index + 1 :])
                plan.append(
                    (
                        rule,
                        ns[cond] if cond else None,
                        [(x, ns[fn]) for x, fn in excs],
                        ns[vf] if vf else None,
                        ns[vu] if vu else None,
                        RuleStatus(rule.id, rule.outcome, FALSE),
                        RuleStatus(rule.id, rule.outcome, NOT_IN_FORCE),
                        RuleStatus(rule.id, rule.outcome, FIRED),
                        later,
                    )
                )
            self.walks[name] = plan
        self.obligation_fns = {
            name: tuple(ns[f] if f else None for f in fns) for name, fns in self.obligation_conditions.items()
        }
        # the known path: per decision, its two walks and, per rule that may fire, what the
        # result holds besides the entity (statuses of every rule when the earlier ones were false)
        self.decision_list = list(policy.decisions.values())
        self.known_full = {d.name: ns[full] for d, (full, _) in zip(self.decision_list, known_walks, strict=True)}
        self._outcome_names = [(d.name, d.entity_input, out) for d, (_, out) in zip(self.decision_list, known_walks, strict=True)]
        self.known_outcome: list[tuple[str, str | None, Any]] | None = None  # compiled on first use
        self.fire_plans: list[list[tuple]] = []
        for decision in self.decision_list:
            plans = []
            rules = decision.rules
            for k, rule in enumerate(rules):
                statuses = (
                    *(RuleStatus(r.id, r.outcome, FALSE) for r in rules[:k]),
                    RuleStatus(rule.id, rule.outcome, FIRED),
                    *(RuleStatus(r.id, r.outcome, NOT_REACHED) for r in rules[k + 1 :]),
                )
                static = not any(c.decision for c in rule.cites)
                template = {"decision": decision.name, "status": DECIDED, "outcome": rule.outcome, "rule": rule.id,
                            "possible": (rule.outcome,), "missing": (), "rules": statuses,
                            "cites": tuple(rule.cites) if static else None, "obligations": ()}
                plans.append((decision, rule, statuses, template))
            self.fire_plans.append(plans)
        self.dates = [
            [(ns[vf] if vf else None, ns[vu] if vu else None) for _, _, _, vf, vu in self.rule_conditions[d.name]] for d in self.decision_list
        ]
        self.uses_members = any(i.kind == "group" for i in policy.inputs.values())
        self.fused: Any = None
        self._outcomes_fn: Any = None  # set by _compile_later
        self.run_order = [(d.name, d.entity_input, self.known_full[d.name]) for d in self.decision_list]
        self.outputs = [(d.name, d.entity_input, ns[_name("d", d.name)]) for d in policy.outputs()]
        self.param_defaults = {n: p.default for n, p in policy.params.items()}

    def evaluate(self, assessment: Assessment, as_of: date, params: dict[str, Any] | None = None) -> Result:
        try:
            if self.needs_context:
                with decimal.localcontext(CONTEXT):
                    return _Run(self, assessment, as_of, params).run()
            return _Run(self, assessment, as_of, params).run()
        except decimal.Overflow:
            raise too_large() from None

    @property
    def outcomes(self) -> Any:
        """`outcomes(assessment, as_of, params=None)`: the outcome of every decision, in the order
        of `evaluate(...).decisions` (each decision, then each entity); None where it is
        undetermined or no rule applies. For callers that need no statuses, citations, values or
        obligations: no result objects are built. The function is the generated `t_all` itself
        when there is one and it needs no decimal context (one frame between the caller and the
        conditions; it takes `_outcomes_slow` on an unknown field or when no rule applies), else
        `_outcomes_slow`. The outcome walks are compiled on the first read of this attribute."""
        fn = self._outcomes_fn
        if fn is None:
            self._compile_later()
            fn = self._outcomes_fn
        return fn

    def _outcomes_slow(self, assessment: Assessment, as_of: date, params: dict[str, Any] | None = None) -> tuple[str | None, ...]:
        fused = self.fused
        try:
            if self.needs_context:
                with decimal.localcontext(CONTEXT):
                    if fused is not None:  # arithmetic in the conditions: the engine's decimal context
                        found = fused(assessment, as_of, params)
                        if found is not None:
                            return found
                    return _Run(self, assessment, as_of, params).outcomes()
            return _Run(self, assessment, as_of, params).outcomes()
        except decimal.Overflow:
            raise too_large() from None

    def some(
        self, assessment: Assessment, as_of: date, params: dict[str, Any] | None,
        decisions: list[tuple[str, str | None]], obligations: list[tuple[str, str | None]],
        known: list[DecisionResult] = (),  # type: ignore[assignment]
        work: list[tuple[int, int, int]] | None = None,
        held_back: set[str] | None = None,
        read: list[DecisionResult] | None = None,
    ) -> tuple[list[DecisionResult], list[ObligationResult]]:
        """Some results of `evaluate(assessment, as_of, params)` without the others: the
        (decision, entity id) and (obligation, entity id) pairs asked for, each as `evaluate`
        gives it (a decision before the obligations that read it are attached to it). What they
        read is evaluated, once (the same memo tables as `evaluate`), nothing else. `known`:
        decision results the caller already has for this very evaluation (the same facts, date
        and parameters), taken as they are instead of walking those decisions again. `work`:
        gets what was computed, for a why-not budget's charge: (decisions and definitions,
        definitions unknown, decisions undetermined) — unknown values are computed over
        their possible values and undetermined decisions walk every rule: each costs several
        known ones. `held_back`: gets the unanswered facts that hold back every undetermined
        decision evaluated on the way (what why-not answers first). `read`: gets every decision
        evaluated on the way (those the ones asked for read)."""
        run = _Run(self, assessment, as_of, params)
        try:
            if self.needs_context:
                with decimal.localcontext(CONTEXT):
                    return run.some(decisions, obligations, known)
            return run.some(decisions, obligations, known)
        except decimal.Overflow:
            raise too_large() from None
        finally:
            if work is not None:
                work.append(run.work())
            if held_back is not None:
                held_back.update(m for d in run.decisions.values() if d.status == UNDETERMINED for m in d.missing)
            if read is not None:
                read.extend(run.decisions.values())

    def _compile_later(self) -> None:
        with self._later_lock:
            if self.known_outcome is not None:
                return
            ns = self.namespace
            # the fused function leaves for the walks through `_slow`; under a decimal context
            # `_outcomes_slow` calls it inside the context, and its `_slow` is the walks alone
            ns["_slow"] = self._outcomes_walks if self.needs_context else self._outcomes_slow
            _run_generated(self.later_source, f"<stratdsl compiled {self.policy.name}, outcomes>", ns)
            self.fused = ns[self._fused_name] if self._fused_name else None
            self.known_outcome = [(name, input_name, ns[out]) for name, input_name, out in self._outcome_names]
            self._outcomes_fn = self.fused if self.fused is not None and not self.needs_context else self._outcomes_slow

    def _outcomes_walks(self, assessment: Assessment, as_of: date, params: dict[str, Any] | None = None) -> tuple[str | None, ...]:
        return _Run(self, assessment, as_of, params).outcomes()


def _run_generated(source: str, name: str, namespace: dict[str, Any]) -> None:
    code = compile(source, name, "exec")
    exec(code, namespace)  # our generated code, never policy text: see the module docstring


_new = object.__new__


def _decision_result(decision: str, entity: Entity | None, status: str, outcome: str | None, rule: str | None,
                     possible: tuple, rules: tuple, cites: tuple) -> DecisionResult:
    """A DecisionResult without the frozen dataclass's per-field __setattr__ (same class, same fields)."""
    result = _new(DecisionResult)
    result.__dict__.update(
        decision=decision, entity=entity.id if entity is not None else None, entity_path=entity.path if entity is not None else None,
        status=status, outcome=outcome, rule=rule, possible=possible, missing=(), rules=rules, cites=cites, obligations=(),
    )
    return result


def _obligation_result(obligation: str, entity: str | None, path: str | None, status: str, missing: tuple = ()) -> ObligationResult:
    """An ObligationResult without the frozen dataclass's per-field __setattr__ (same class, same fields)."""
    result = _new(ObligationResult)
    result.__dict__.update(obligation=obligation, entity=entity, entity_path=path, status=status, missing=missing)
    return result


def _with_obligations(d: DecisionResult, obligations: tuple[str, ...]) -> DecisionResult:
    """`replace(d, obligations=…)` without the frozen dataclass's per-field __setattr__."""
    result = _new(DecisionResult)
    fields = result.__dict__
    fields.update(d.__dict__)
    fields["obligations"] = obligations
    return result


class _Run:
    """One evaluation: the run's data (read by the generated code as `X.R`, `X.P` …), memo
    tables, and the decision walks."""

    __slots__ = ("AS_OF", "ENT", "MEM", "P", "R", "_force", "as_of", "assessment", "c", "decisions", "memo", "overrides", "params", "policy")

    def __init__(self, compiled: CompiledPolicy, assessment: Assessment, as_of: date, overrides: dict[str, Any] | None) -> None:
        self.c = compiled
        self.policy = compiled.policy
        self.assessment = assessment
        self.as_of = self.AS_OF = as_of
        self.overrides = overrides = overrides or {}
        self.params = self.P = {n: overrides.get(n, v) for n, v in compiled.param_defaults.items()} if overrides else compiled.param_defaults
        self.memo: list[dict[Any, Any]] = [{} for _ in range(compiled.memo_slots)]
        self.decisions: dict[tuple[str, int], DecisionResult] = {}
        self._force: dict[tuple[Any, Any], Any] = {}  # dates are global: one answer per run
        self.R = assessment.records
        self.ENT = assessment.entities
        self.MEM = {name: {e.id: e for e in items} for name, items in assessment.entities.items()} if compiled.uses_members else None

    def work(self) -> tuple[int, int, int]:
        """(decisions and definitions computed, definitions unknown, decisions undetermined)."""
        unknown = sum(1 for table in self.memo for v in table.values() if v.__class__ is Unknown)
        undetermined = sum(1 for d in self.decisions.values() if d.status == UNDETERMINED)
        return len(self.decisions) + sum(len(table) for table in self.memo), unknown, undetermined

    # called by generated code
    def outcome(self, name: str, entity: Entity | None) -> Any:
        d = self.decision(name, entity)
        return d.outcome if d.status == DECIDED else Unknown(frozenset(d.missing), frozenset(d.possible) if d.possible else None)

    def force(self, number: int, rule: int) -> Any:
        vf, vu = self.c.dates[number][rule]
        return self._in_force(vf, vu)

    def fired(self, number: int, k: int, special: tuple | None, entity: Entity | None) -> DecisionResult:
        """The result when rule k certainly fires and every earlier rule was false, not in force
        (special (i, -1)) or excepted (special (i, j): exception j applied)."""
        decision, rule, statuses, template = self.c.fire_plans[number][k]
        if special is None and template["cites"] is not None:  # the common case: a copy of the template
            result = _new(DecisionResult)
            fields = result.__dict__
            fields.update(template)
            if entity is None:
                fields["entity"] = fields["entity_path"] = None
            else:
                fields["entity"] = entity.id
                fields["entity_path"] = entity.path
            return result
        cites = template["cites"]
        because: list[ir.Citation] = []
        if special is not None:
            patched = list(statuses)
            for i, j in special:
                r = decision.rules[i]
                if j < 0:
                    patched[i] = RuleStatus(r.id, r.outcome, NOT_IN_FORCE)
                else:
                    exc = r.exceptions[j]
                    patched[i] = RuleStatus(r.id, r.outcome, EXCEPTED, exc.id)
                    because.extend(self._cites(exc.cites, entity))
            statuses = tuple(patched)
        if cites is None:
            cites = self._cites(rule.cites, entity)
        if because:
            cites = cites + tuple(because)
        return _decision_result(decision.name, entity, DECIDED, rule.outcome, rule.id, (rule.outcome,), statuses, cites)

    def _walk_named(self, name: str, entity: Entity | None) -> DecisionResult:
        return self._walk(self.policy.decisions[name], entity)

    def slow_outcome(self, name: str, entity: Entity | None) -> str | None:
        d = self.decision(name, entity)
        return d.outcome if d.status == DECIDED else None

    def _in_force(self, vf: Any, vu: Any) -> Any:
        key = (vf, vu)
        found = self._force.get(key)
        if found is None:
            found = self._force[key] = self._in_force_now(vf, vu)
        return found

    def _in_force_now(self, vf: Any, vu: Any) -> Any:
        start = vf(self, None) if vf else None
        end = vu(self, None) if vu else None
        if start.__class__ is Unknown or end.__class__ is Unknown:
            return _u(*(v for v in (start, end) if v is not None))
        if start is not None and self.as_of < start:
            return False
        if end is not None and self.as_of >= end:
            return False
        return True

    def _cites(self, cites: tuple[ir.Citation, ...], entity: Entity | None) -> tuple[ir.Citation, ...]:
        if not any(c.decision for c in cites):
            return tuple(cites)
        out: list[ir.Citation] = []
        for c in cites:
            if c.decision is None:
                out.append(c)
            else:
                out.extend(self.decision(c.decision, entity).cites)
        return tuple(dict.fromkeys(out))

    def decision(self, name: str, entity: Entity | None) -> DecisionResult:
        decision = self.policy.decisions[name]
        scope = entity if decision.entity_input is not None else None
        key = (name, scope.index if scope is not None else -1)
        found = self.decisions.get(key)
        if found is None:
            found = self.decisions[key] = self.c.known_full[name](self, scope)
        return found

    def _walk(self, decision: ir.Decision, entity: Entity | None) -> DecisionResult:
        statuses: list[RuleStatus] = []
        possible: list[ir.Rule] = []
        missing: set[str] = set()
        fired = None
        because: list[ir.Citation] = []
        for rule, cond_fn, excs, vf, vu, st_false, st_nif, st_fired, later in self.c.walks[decision.name]:
            in_force = self._in_force(vf, vu) if (vf or vu) else True
            if in_force is False:
                statuses.append(st_nif)
                continue
            cond = True if cond_fn is None else cond_fn(self, entity)
            if in_force.__class__ is Unknown:
                cond = in_force if cond is not False else False
            if cond is False:
                statuses.append(st_false)
                continue
            applied = None
            maybe = []
            for exc, fn in excs:
                v = fn(self, entity)
                if v is True:
                    applied = exc
                    break
                if v.__class__ is Unknown:
                    maybe.append((exc, v))
            if applied is not None:
                statuses.append(RuleStatus(rule.id, rule.outcome, EXCEPTED, applied.id))
                if cond is True:
                    because.extend(self._cites(applied.cites, entity))
                continue
            if cond is True and not maybe:
                statuses.append(st_fired)
                fired = rule
                statuses.extend(later)
                break
            rule_missing = set(cond.missing) if cond.__class__ is Unknown else set()
            for _, v in maybe:
                rule_missing |= v.missing
            missing |= rule_missing
            status = UNKNOWN if cond.__class__ is Unknown else EXCEPTION_UNKNOWN
            exc_id = maybe[0][0].id if maybe and status == EXCEPTION_UNKNOWN else None
            statuses.append(RuleStatus(rule.id, rule.outcome, status, exc_id, tuple(sorted(rule_missing))))
            possible.append(rule)
        return conclude(decision, entity, statuses, possible, fired, missing, because, lambda cites: self._cites(cites, entity))

    def obligation(self, o: ir.Obligation, e: Entity | None) -> ObligationResult:
        cond_fn, vf, vu = self.c.obligation_fns[o.name]
        eid, path = (e.id, e.path) if e else (None, None)
        in_force = self._in_force(vf, vu) if (vf or vu) else True
        if in_force is False:
            return _obligation_result(o.name, eid, path, "not_in_force")
        v = cond_fn(self, e)
        if v is True and in_force is True:
            return _obligation_result(o.name, eid, path, "applies")
        if v is False:
            return _obligation_result(o.name, eid, path, "not_applicable")
        unknown = _u(*(x for x in (v, in_force) if x.__class__ is Unknown))
        return _obligation_result(o.name, eid, path, "possible", tuple(sorted(unknown.missing)))

    def _entities(self, input_name: str | None) -> list[Entity | None]:
        return [None] if input_name is None else list(self.assessment.entities.get(input_name, []))

    def outcomes(self) -> tuple[str | None, ...]:
        out: list[str | None] = []
        entities = self.assessment.entities
        for name, input_name, walk in self.c.known_outcome:
            for e in (None,) if input_name is None else entities.get(input_name, ()):
                found = self.decisions.get((name, e.index if e is not None else -1))
                if found is not None:
                    out.append(found.outcome if found.status == DECIDED else None)
                    continue
                out.append(walk(self, e))
        return tuple(out)

    def some(
        self, decisions: list[tuple[str, str | None]], obligations: list[tuple[str, str | None]], known: list[DecisionResult]
    ) -> tuple[list[DecisionResult], list[ObligationResult]]:
        entities = self.assessment.entities
        by_id: dict[str | None, dict[str | None, Entity | None]] = {None: {None: None}}
        for items in entities.values():
            if items:
                by_id[items[0].input_name] = {e.id: e for e in items}
        policy_decisions = self.policy.decisions
        memo = self.decisions
        for d in known:
            e = by_id[policy_decisions[d.decision].entity_input][d.entity]
            memo[(d.decision, e.index if e is not None else -1)] = d
        found = [self.decision(d, by_id[policy_decisions[d].entity_input][eid]) for d, eid in decisions]
        settled = []
        for name, eid in obligations:
            o = self.policy.obligations[name]
            settled.append(self.obligation(o, by_id[o.entity_input][eid]))
        return found, settled

    def run(self) -> Result:
        entities = self.assessment.entities
        memo = self.decisions
        decisions = []
        for name, input_name, walk in self.c.run_order:
            for e in (None,) if input_name is None else entities.get(input_name, ()):
                key = (name, e.index if e is not None else -1)
                found = memo.get(key)
                if found is None:
                    found = memo[key] = walk(self, e)
                decisions.append(found)
        obligations = []
        applied: dict[tuple[str, str | None], list[str]] = {}
        for o in self.policy.obligations.values():
            for e in self._entities(o.entity_input):
                res = self.obligation(o, e)
                obligations.append(res)
                if res.status in ("applies", "possible"):
                    for name in o.decisions:
                        applied.setdefault((name, res.entity), []).append(o.name)
        if applied:
            decisions = [_with_obligations(d, tuple(applied[(d.decision, d.entity)])) if (d.decision, d.entity) in applied else d for d in decisions]
        values = []
        for name, input_name, fn in self.c.outputs:
            for e in (None,) if input_name is None else entities.get(input_name, ()):
                v = fn(self, e)
                missing = tuple(sorted(v.missing)) if v.__class__ is Unknown else ()
                values.append(ValueResult(name, e.id if e else None, e.path if e else None, v, missing))
        params = [ParamValue(n, self.params[n], n in self.overrides) for n in self.policy.params]
        ids = {name: [e.id for e in items] for name, items in entities.items()}
        return Result(self.policy.name, self.policy.version, self.as_of, params, decisions, values, obligations, ids)


# ------------------------------------------------------------------ cache


_CACHE: dict[str, CompiledPolicy] = {}


def cache_key(policy: ir.CheckedPolicy) -> str:
    files = sorted(sha256_text(s.text) for s in policy.source_map.files())
    return sha256_text("|".join([__version__, *files]))


class Interpreted:
    """Stands in for a `CompiledPolicy` when CPython refuses the generated code, or before
    the policy has been evaluated often enough to repay compiling it (`evaluator_for`): the
    reference evaluator (the differential tests show both give the same results)."""

    def __init__(self, policy: ir.CheckedPolicy, reason: BaseException | None) -> None:
        self.policy = policy
        if reason is None:  # not compiled yet (`evaluator_for`)
            self.reason = "not yet"
            self.source = "# not compiled yet: the reference evaluator runs this policy\n"
        else:
            # the type and CPython's own words only: a SyntaxError's text also names the policy
            detail = reason.msg if isinstance(reason, SyntaxError) else ""
            self.reason = f"{type(reason).__name__}: {detail}" if _COMMENT.match(detail) else type(reason).__name__
            self.source = f"# not compiled ({self.reason}): the reference evaluator runs this policy\n"
        self.namespace: dict[str, Any] = {}
        self.walks: dict[str, list[tuple]] = {}

    def evaluate(self, assessment: Assessment, as_of: date, params: dict[str, Any] | None = None) -> Result:
        with decimal.localcontext(CONTEXT):
            return reference_evaluate(self.policy, assessment, as_of, params)

    def outcomes(self, assessment: Assessment, as_of: date, params: dict[str, Any] | None = None) -> tuple[str | None, ...]:
        return tuple(d.outcome if d.status == DECIDED else None for d in self.evaluate(assessment, as_of, params).decisions)


#: Evaluations without a trace of a policy, per process, given to the reference evaluator
#: before the compiled form is built (as `traced.TRACED_AFTER` for traces): building it costs
#: ~85 ms of CPU for the methodology (generating, then compiling ~210 kB of Python) and saves
#: ~5 ms per evaluation, so a one-shot `eval` or `report` would lose by it; a service builds
#: it at its 17th evaluation. Batches, the why-not search and `outcomes()` build it at once.
COMPILED_AFTER = 16


def evaluator_for(policy: ir.CheckedPolicy, count: bool = True) -> CompiledPolicy | Interpreted:
    """What evaluates `policy` without a trace now: the compiled form when it is built or this is
    the policy's (COMPILED_AFTER + 1)th evaluation in the process (`count`), the reference
    evaluator before (the differential tests show both give the same results)."""
    found = policy.caches.get("compiled")
    if found is not None:
        return found
    runs = policy.caches.get("untraced_runs", 0) + count
    policy.caches["untraced_runs"] = runs
    if runs <= COMPILED_AFTER:
        interpreted = policy.caches.get("interpreted")
        if interpreted is None:
            interpreted = policy.caches["interpreted"] = Interpreted(policy, None)
        return interpreted
    return compiled(policy)


def compiled(policy: ir.CheckedPolicy) -> CompiledPolicy | Interpreted:
    """The compiled form of a policy, built once per policy content and engine version."""
    # a checked policy's sources never change: remember the form on the policy itself, so that
    # later calls (two per evaluation in the service) do not hash every policy file again
    found = policy.caches.get("compiled")
    if found is not None:
        return found
    key = cache_key(policy)
    found = _CACHE.get(key)
    if found is None:
        try:
            found = CompiledPolicy(policy)
        except (SyntaxError, RecursionError, MemoryError) as error:  # CPython's limits on code it compiles
            found = Interpreted(policy, error)
        _CACHE[key] = found
    policy.caches["compiled"] = found
    return found
