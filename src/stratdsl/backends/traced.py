"""Traced compiled mode: full traces from generated code instead of the tree-walker.

`explain`, `report` and every other caller that needs the value of each
sub-expression (`engine.run(..., trace=True)`) used the reference evaluator with a
`RecordingTracer`: per node a method dispatch, a call and a dict store keyed by
(scope, id). Here every expression the evaluator computes at the top (a rule's
condition, an exception, a definition, an obligation, a date, the body, filter and
weight of an aggregate, a rank key) becomes one generated Python function that
computes the whole tree as straight-line statements and stores each
sub-expression's value in a flat list indexed by expression id (one list per
scope: "" for global, the entity's path otherwise). `and`/`or` and `if` nodes are
functions of their own; the exploration of what short-circuiting skipped (the
tracer computes the remaining items of an `and`/`or` that a decisive item settled,
swallowing the errors the reference swallows) is generated too.

The decision walks are generated too (`dw_N` per decision, in the reference's
order: dates, condition, exceptions, first certain match, then the exploration of
the later rules `xd_N`; `tr_all` runs them for every entity). Memo tables,
aggregates and ranks are the reference evaluator's own code (`_TracedEvaluator`
subclasses it), so the trace holds exactly the (scope, id) pairs and values the
reference tracer holds: the differential tests (tests/test_traced.py) compare
them, and the explanation JSON, on generated policies and on the methodology's
examples. The result comes from one compiled run (`compiler._Run`, equal to the
reference's result: tests/test_compiled.py) whose memo table the walks fill with
each decision they settle plainly (a rule fired, every earlier rule false), so
the compiled form computes only the other decisions: one walk gives both.

As in compiler.py, nothing of the policy text is pasted into the generated code:
every constant, name and IR node is taken from a table (`K_n`), generated names
are numbered (`t_`, `l_`, `x_`, `c_`), and the code runs through
`compiler._run_generated` with the same restricted builtins.
"""

from __future__ import annotations

import decimal
import functools
import threading
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from ..language import ir
from ..language.diagnostics import StratError
from ..runtime.assessment import Assessment
from ..runtime.evaluator import Evaluator, division_by_zero, is_range, round_half_up, too_large
from ..runtime.evaluator import evaluate as reference_evaluate
from ..runtime.result import Result
from ..runtime.trace import RecordingTracer
from ..runtime.values import (
    CONTEXT,
    Unknown,
    arith_unknown,
    branches_unknown,
    compare_unknown,
    function_unknown,
    merge_unknown,
    negate_unknown,
    range_unknown,
    truth,
)
from .compiler import CompiledPolicy, _Run, _run_generated, compiled

_MISSING = object()


class ArrayTracer(RecordingTracer):
    """`RecordingTracer`'s interface over flat lists: one per scope, indexed by expression id."""

    def __init__(self, size: int) -> None:  # no super().__init__: `values` is a view here
        self.size = size
        self.arrays: dict[str, list[Any]] = {}

    def scope(self, scope: str) -> list[Any]:
        arr = self.arrays.get(scope)
        if arr is None:
            arr = self.arrays[scope] = [_MISSING] * self.size
        return arr

    def value(self, scope: str, node_id: int, value: Any) -> None:
        arr = self.scope(scope)
        if node_id >= len(arr):  # a node outside the generated module's reach
            arr.extend([_MISSING] * (node_id + 1 - len(arr)))
        arr[node_id] = value

    def get(self, scope: str, node_id: int, default: Any = None) -> Any:
        arr = self.arrays.get(scope)
        if arr is None or not 0 <= node_id < len(arr):
            return default
        value = arr[node_id]
        return default if value is _MISSING else value

    @property  # type: ignore[override]
    def values(self) -> dict[tuple[str, int], Any]:  # what a RecordingTracer would hold
        return {(s, i): v for s, arr in self.arrays.items() for i, v in enumerate(arr) if v is not _MISSING}


def _reads_not_applicable(e: ir.Expr) -> bool:
    """Whether a tree may meet a `not applicable` value (the checker's `na` marks) or tests one.
    The generated statements follow the reference's rules for known and unknown values only; such a
    tree is left to the reference evaluator, which traces it in the same flat arrays."""
    stack = [e]
    while stack:
        node = stack.pop()
        if node.na or isinstance(node, ir.IsApplicable) or (isinstance(node, ir.Const) and isinstance(node.value, ir.NotApplicable)):
            return True
        stack.extend(c for c in node.children() if c is not None)
    return False


def _by_reference(expr: ir.Expr, ev: Evaluator, entity: Any, _arrays: Any) -> Any:
    """A top expression left to the reference evaluator (it records into the same tracer)."""
    return Evaluator.compute(ev, expr, entity)


# ------------------------------------------------------------------ runtime helpers of the generated code


def _calc(op: str, left: Decimal, right: Decimal, span: Any, entity: Any) -> Decimal:
    """Known arithmetic, raising what the reference raises (Evaluator._arith)."""
    try:
        if op == "+":
            return CONTEXT.add(left, right)
        if op == "-":
            return CONTEXT.subtract(left, right)
        if op == "*":
            return CONTEXT.multiply(left, right)
        return CONTEXT.divide(left, right)
    except Overflow:
        raise too_large(span) from None
    except (DivisionByZero, InvalidOperation):
        raise StratError([division_by_zero(span, entity.path if entity else None)]) from None


def _call(name: str, args: list[Any], span: Any) -> Any:
    """A function on known arguments (Evaluator._func)."""
    if name == "size":
        return Decimal(len(args[0]))
    if name == "round":
        return round_half_up(args[0], int(args[1]) if len(args) > 1 else 0, span)
    if name == "abs":
        return abs(args[0])
    if name == "floor":
        return args[0].to_integral_value(rounding=ROUND_FLOOR)
    if name == "ceil":
        return args[0].to_integral_value(rounding=ROUND_CEILING)
    if name == "min":
        return min(args)
    return max(args)


#: Exceptions of one rule past which its decision keeps the Python walk (each nests a block).
MAX_EXCEPTIONS = 24

_CMP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


# ------------------------------------------------------------------ code generation


class _TracedGen:
    def __init__(self, policy: ir.CheckedPolicy) -> None:
        self.policy = policy
        self.consts: list[Any] = []
        self.const_index: dict[int, int] = {}
        self.functions: list[str] = []
        self.done: set[int] = set()  # ids of the nodes that have a function (`l_`, `c_`)
        self.roots: dict[int, str] = {}
        self.by_reference: dict[int, ir.Expr] = {}  # top expressions that may meet `not applicable`
        self.size = 0
        self.walk_all: str | None = None
        self.constants: set[str] = set()  # locals `vN` holding a constant

    def const(self, value: Any) -> str:
        """A module global `K_n`: constants, names and IR nodes by identity, never pasted."""
        key = id(value)
        if key not in self.const_index:
            self.const_index[key] = len(self.consts)
            self.consts.append(value)
        return f"K_{self.const_index[key]}"

    def either(self, unknown: str, operands: list[str], known: str) -> str:
        """`unknown if any operand is unknown else known`, without the tests of constant operands
        (`Unknown` has no subclasses: a class test, as compiler.py)."""
        tests = [f"{o}.__class__ is U" for o in operands if o not in self.constants]
        return f"{unknown} if {' or '.join(tests)} else {known}" if tests else known

    # -------------------------------------------------------- statements computing one node
    def emit(self, e: ir.Expr, out: list[str], ind: str) -> str:
        """Append statements computing `e` (storing each node's value in T) and return its local."""
        self.size = max(self.size, e.id + 1)
        v = f"v{e.id}"
        kind = type(e)
        if kind is ir.Const:
            out.append(f"{ind}T[{e.id}] = {v} = {self.const(e.value)}")
            if not isinstance(e.value, Unknown):
                self.constants.add(v)  # never unknown: no test where it is used
            return v
        if kind is ir.FieldRef:
            src = f"ev.assessment.records[{self.const(e.input_name)}]" if e.of_record else "E.values"
            out.append(f"{ind}T[{e.id}] = {v} = {src}[{self.const(e.field_name)}]")
            return v
        if kind is ir.EntityId:
            out.append(f"{ind}T[{e.id}] = {v} = E.id")
            return v
        if kind is ir.AsOf:
            out.append(f"{ind}T[{e.id}] = {v} = ev.as_of")
            return v
        if kind is ir.ParamRef:
            out.append(f"{ind}T[{e.id}] = {v} = ev.params[{self.const(e.name)}]")
            return v
        if kind is ir.MemberFieldRef:
            out.append(f"{ind}T[{e.id}] = {v} = ev._member(K_node, E)".replace("K_node", self.const(e)))
            return v
        if kind is ir.DefRef:
            if e.member is not None:
                out.append(f"{ind}T[{e.id}] = {v} = ev._def({self.const(e)}, E)")
                return v
            # Evaluator.definition's memo table read in place; a miss computes it there
            path = "E.path" if self.policy.definitions[e.name].entity_input is not None else self.const("")
            name = self.const(e.name)
            out.append(f"{ind}{v} = ev._defs.get(({name}, {path}), MISS)")
            out.append(f"{ind}if {v} is MISS:")
            out.append(f"{ind}    {v} = ev.definition({name}, E)")
            out.append(f"{ind}T[{e.id}] = {v}")
            return v
        if kind is ir.DecisionRef:
            out.append(f"{ind}T[{e.id}] = {v} = ev._decision({self.const(e)}, E)")
            return v
        if kind is ir.Aggregate:
            out.append(f"{ind}T[{e.id}] = {v} = ev._aggregate({self.const(e)}, E)")
            return v
        if kind is ir.Rank:
            out.append(f"{ind}T[{e.id}] = {v} = ev._rank({self.const(e)}, E)")
            return v
        if kind is ir.Neg:
            o = self.emit(e.operand, out, ind)
            out.append(f"{ind}T[{e.id}] = {v} = " + self.either(f"_neg_u({o})", [o], f"-{o}"))
            return v
        if kind is ir.Not:
            o = self.emit(e.operand, out, ind)
            out.append(f"{ind}T[{e.id}] = {v} = " + self.either(o, [o], f"not {o}"))
            return v
        if kind is ir.Arith:
            a = self.emit(e.left, out, ind)
            b = self.emit(e.right, out, ind)
            op = self.const(e.op)
            out.append(f"{ind}T[{e.id}] = {v} = " + self.either(f"_arith_u({op}, {a}, {b})", [a, b], f"_calc({op}, {a}, {b}, {self.const(e.span)}, E)"))
            return v
        if kind is ir.Compare:
            a = self.emit(e.left, out, ind)
            b = self.emit(e.right, out, ind)
            out.append(f"{ind}T[{e.id}] = {v} = " + self.either(f"_cmp_u({self.const(e.op)}, {a}, {b})", [a, b], f"{a} {_CMP[e.op]} {b}"))
            return v
        if kind is ir.In:
            a = self.emit(e.item, out, ind)
            b = self.emit(e.container, out, ind)
            op = "not in" if e.negated else "in"
            out.append(f"{ind}T[{e.id}] = {v} = " + self.either(f"_cmp_u({self.const(op)}, {a}, {b})", [a, b], f"{a} {op} {b}"))
            return v
        if kind is ir.SetOf:
            items = [self.emit(i, out, ind) for i in e.items]
            out.append(f"{ind}T[{e.id}] = {v} = frozenset(({''.join(i + ', ' for i in items)}))")
            return v
        if kind is ir.Func:
            args = [self.emit(a, out, ind) for a in e.args]
            if e.name == "known":
                out.append(f"{ind}T[{e.id}] = {v} = {args[0]}.__class__ is not U")
                return v
            listed = "[" + ", ".join(args) + "]"
            name = self.const(e.name)
            out.append(f"{ind}T[{e.id}] = {v} = " + self.either(f"_func_u({name}, {listed})", args, f"_call({name}, {listed}, {self.const(e.span)})"))
            return v
        if kind is ir.Logic:
            out.append(f"{ind}{v} = {self.logic(e)}(ev, E, T)")
            return v
        if kind is ir.Cond:
            out.append(f"{ind}{v} = {self.cond(e)}(ev, E, T)")
            return v
        # a node this generator does not know (yet): the reference computes it, and traces it
        out.append(f"{ind}T[{e.id}] = {v} = ev.compute({self.const(e)}, E)")
        return v

    def logic(self, e: ir.Logic) -> str:
        """`and`/`or` as a function (Evaluator._logic): stop at the decisive value, then explore the rest."""
        name = f"l_{e.id}"
        if e.id in self.done:
            return name
        self.done.add(e.id)
        decisive = "True" if e.op == "or" else "False"
        n = len(e.items)
        lines = [f"def {name}(ev, E, T):", "    u = None"]
        explore = f"x_{e.id}"
        for index, item in enumerate(e.items):
            val = self.emit(item, lines, "    ")
            lines.append(f"    if {val}.__class__ is U:")
            lines.append(f"        if u is None: u = [{val}]")
            lines.append(f"        else: u.append({val})")
            lines.append(f"    elif {val} is {decisive}:")
            if index + 1 < n:
                lines.append(f"        {explore}(ev, E, T, {index + 1})")
            lines.append(f"        T[{e.id}] = {decisive}")
            lines.append(f"        return {decisive}")
        lines.append("    if u is None:")
        lines.append(f"        T[{e.id}] = {'False' if decisive == 'True' else 'True'}")
        lines.append(f"        return {'False' if decisive == 'True' else 'True'}")
        if is_range(e):
            left = self.emit(e.items[0].left, lines, "    ")
            rights = [self.emit(item.right, lines, "    ") for item in e.items]
            ops = self.const(tuple(item.op for item in e.items))
            lines.append(f"    r = _range_u({ops}, {left}, ({''.join(r + ', ' for r in rights)}), _merge_u(u))")
        else:
            lines.append("    r = _merge_u(u)")
        lines.append(f"    T[{e.id}] = r")
        lines.append("    return r")
        self.functions.append("\n".join(lines))
        if n > 1:
            body = [f"def {explore}(ev, E, T, start):"]
            for index, item in enumerate(e.items[1:], start=1):
                body.append(f"    if start <= {index}:")
                body.append("        try:")
                self.emit(item, body, "            ")
                body.append("        except StratError:")
                body.append("            pass")
            self.functions.append("\n".join(body))
        return name

    def cond(self, e: ir.Cond) -> str:
        """`if … then … else …` as a function (Evaluator._cond and _branch)."""
        name = f"c_{e.id}"
        if e.id in self.done:
            return name
        self.done.add(e.id)
        lines = [f"def {name}(ev, E, T):"]
        c = self.emit(e.cond, lines, "    ")
        lines.append(f"    if {c} is True:")
        r = self.emit(e.then, lines, "        ")
        lines.append(f"        r = {r}")
        lines.append(f"    elif {c} is False:")
        r = self.emit(e.otherwise, lines, "        ")
        lines.append(f"        r = {r}")
        lines.append("    else:")
        for part, local in ((e.then, "a"), (e.otherwise, "b")):
            lines.append("        try:")
            r = self.emit(part, lines, "            ")
            lines.append(f"            {local} = {r}")
            lines.append("        except (StratError, Overflow):")
            lines.append(f"            {local} = U()")
        lines.append(f"        r = _branches_u({c}, a, b)")
        lines.append(f"    T[{e.id}] = r")
        lines.append("    return r")
        self.functions.append("\n".join(lines))
        return name

    def root(self, e: ir.Expr | None) -> None:
        """A function for an expression the evaluator computes at the top."""
        if e is None or e.id in self.roots:
            return
        if _reads_not_applicable(e):  # the reference computes (and traces) it: see _reads_not_applicable
            self.by_reference[e.id] = e
            return
        if isinstance(e, ir.Logic):  # already a function of (ev, E, T) storing its value
            self.roots[e.id] = self.logic(e)
            return
        if isinstance(e, ir.Cond):
            self.roots[e.id] = self.cond(e)
            return
        name = f"t_{e.id}"
        lines = [f"def {name}(ev, E, T):"]
        v = self.emit(e, lines, "    ")
        lines.append(f"    return {v}")
        self.functions.append("\n".join(lines))
        self.roots[e.id] = name

    def all_nodes(self, e: ir.Expr) -> None:
        """Aggregates and ranks compute their parts through `compute`: those parts are roots too."""
        stack = [e]
        while stack:
            node = stack.pop()
            self.size = max(self.size, node.id + 1)
            if isinstance(node, ir.Aggregate):
                for part in (node.where, node.body, node.weight):
                    self.root(part)
            elif isinstance(node, ir.Rank):
                self.root(node.where)
                for key, _desc in node.keys:
                    self.root(key)
            stack.extend(c for c in node.children() if c is not None)

    # -------------------------------------------------------- the decision walks
    def call(self, e: ir.Expr) -> str:
        """A call of the function computing top expression `e` (`R_<id>` for those left to the reference)."""
        name = self.roots.get(e.id)
        if name is not None:
            return f"{name}(ev, E, T)"
        return f"_truth(R_{e.id}(ev, E, T))"  # may be n/a: false in a truth position, as Evaluator._decide

    def decision_walk(self, decision: ir.Decision, number: int) -> str | None:
        """`_TracedEvaluator._walk` for one decision, unrolled: each rule's date, condition and
        exceptions in order, and at the first rule that certainly fires, the exploration of the
        later rules (`xd_N`, each expression on its own, swallowing StratError) and return. It
        returns the index of the rule that fired when every earlier rule was simply false (in
        force, condition false: the compiled form's plain result, `_Run.fired` with no special
        case), else None. None instead of a name (the Python walk runs) for a rule with more
        exceptions than the nesting allows."""
        rules = decision.rules
        if any(len(rule.exceptions) > MAX_EXCEPTIONS for rule in rules):
            return None
        name, explore = f"dw_{number}", f"xd_{number}"
        lines = [f"def {name}(ev, E, T):", "    p = True"]
        for index, rule in enumerate(rules):
            pad = "    "
            dated = rule.valid_from is not None or rule.valid_until is not None
            if dated:
                lines.append(f"{pad}f = ev.in_force({self.const(rule.valid_from)}, {self.const(rule.valid_until)})")
                lines.append(f"{pad}if f is False: p = False")
                lines.append(f"{pad}else:")
                pad += "    "
            lines.append(f"{pad}c = {'True' if rule.cond is None else self.call(rule.cond)}")
            if dated:
                lines.append(f"{pad}if f is not True: c = f if c is not False else False")
            lines.append(f"{pad}if c is not False:")
            pad += "    "
            body = pad
            if rule.exceptions:
                lines.append(f"{pad}m = False")
            for x in rule.exceptions:
                lines.append(f"{pad}x = {self.call(x.cond)}")
                lines.append(f"{pad}if x is not True:")
                pad += "    "
                lines.append(f"{pad}if x.__class__ is U: m = True")
            fire = "c is True and not m" if rule.exceptions else "c is True"
            lines.append(f"{pad}if {fire}:")
            if index + 1 < len(rules):
                lines.append(f"{pad}    {explore}(ev, E, T, {index + 1})")
            lines.append(f"{pad}    return {index} if p else None")
            # excepted or unknown (or, above, not in force): not the plain case
            lines.append(f"{body}p = False")
        lines.append("    return None")
        self.functions.append("\n".join(lines))
        if len(rules) > 1:
            xlines = [f"def {explore}(ev, E, T, start):"]
            for index, rule in enumerate(rules[1:], start=1):
                exprs = [e for e in (rule.cond, *(x.cond for x in rule.exceptions)) if e is not None]
                if not exprs:
                    continue
                xlines.append(f"    if start <= {index}:")
                for e in exprs:
                    xlines += ["        try:", f"            {self.call(e)}", "        except StratError:", "            pass"]
            xlines.append("    return")
            self.functions.append("\n".join(xlines))
        return name

    def walks(self) -> str | None:
        """`tr_all(ev, entities, scope, memo, fired)`: every decision's walk, for each of its
        entities in order; a plain result (the rule that fired) goes into the compiled run's memo
        table (`memo`, `fired`: `_Run.decisions`, `_Run.fired`) so the compiled form does not
        compute that decision again."""
        lines = ["def tr_all(ev, ents, scope, memo, fired):"]
        for number, decision in enumerate(self.policy.decisions.values()):
            walk = self.decision_walk(decision, number)
            if walk is None:
                return None
            name = self.const(decision.name)
            if decision.entity_input is None:
                lines += [f"    k = {walk}(ev, None, scope({self.const('')}))",
                          f"    if k is not None and memo is not None and ({name}, -1) not in memo:",
                          f"        memo[({name}, -1)] = fired({number}, k, None, None)"]
            else:
                lines += [f"    for E in ents.get({self.const(decision.entity_input)}, ()):",
                          f"        k = {walk}(ev, E, scope(E.path))",
                          f"        if k is not None and memo is not None and ({name}, E.index) not in memo:",
                          f"            memo[({name}, E.index)] = fired({number}, k, None, E)"]
        lines.append("    return")
        self.functions.append("\n".join(lines))
        return "tr_all"

    def generate(self) -> str:
        policy = self.policy
        tops: list[ir.Expr | None] = []
        for definition in policy.definitions.values():
            tops.append(definition.expr)
        for decision in policy.decisions.values():
            for rule in decision.rules:
                tops += [rule.cond, rule.valid_from, rule.valid_until, *(x.cond for x in rule.exceptions)]
        for obligation in policy.obligations.values():
            tops += [obligation.cond, obligation.valid_from, obligation.valid_until]
        for top in tops:
            if top is not None:
                self.root(top)
                self.all_nodes(top)
        self.walk_all = self.walks()
        consts = [f"K_{i} = K[{i}]" for i in range(len(self.consts))]
        return "\n".join([*consts, "", *self.functions, ""])


# ------------------------------------------------------------------ running


class TracedPolicy:
    """The traced module of one policy: a function per top expression, by expression id."""

    def __init__(self, policy: ir.CheckedPolicy) -> None:
        gen = _TracedGen(policy)
        self.source = gen.generate()
        self.size = gen.size
        self.namespace: dict[str, Any] = {
            "K": gen.consts,
            "MISS": _MISSING,
            "U": Unknown,
            "StratError": StratError,
            "Overflow": Overflow,
            "_calc": _calc,
            "_call": _call,
            "_neg_u": negate_unknown,
            "_arith_u": arith_unknown,
            "_cmp_u": compare_unknown,
            "_func_u": function_unknown,
            "_merge_u": merge_unknown,
            "_range_u": range_unknown,
            "_branches_u": branches_unknown,
            "_truth": truth,
            "__builtins__": {"isinstance": isinstance, "frozenset": frozenset},
        }
        _run_generated(self.source, f"<stratdsl traced {policy.name}>", self.namespace)
        self.roots: dict[int, Any] = {i: self.namespace[name] for i, name in gen.roots.items()}
        for i, e in gen.by_reference.items():  # computed and traced by the reference evaluator
            self.roots[i] = self.namespace[f"R_{i}"] = functools.partial(_by_reference, e)
        self.walk_all = self.namespace[gen.walk_all] if gen.walk_all else None
        self.compiled = compiled(policy)  # gives the result; compiled() hashes the policy files on each call
        # per decision, its rules as the walk needs them: dated?, dates, condition, exceptions, and
        # what the exploration computes once the rule fires (the later rules' conditions and exceptions)
        roots = self.roots
        self.plans: list[tuple[str | None, tuple]] = []
        for decision in policy.decisions.values():
            rules = decision.rules
            plan = []
            for index, rule in enumerate(rules):
                later = tuple(
                    roots[e.id] for r in rules[index + 1 :] for e in (r.cond, *(x.cond for x in r.exceptions)) if e is not None
                )
                plan.append((
                    rule.valid_from is not None or rule.valid_until is not None, rule.valid_from, rule.valid_until,
                    None if rule.cond is None else roots[rule.cond.id], tuple(roots[x.cond.id] for x in rule.exceptions), later,
                ))
            self.plans.append((decision.entity_input, tuple(plan)))


class _TracedEvaluator(Evaluator):
    """The reference evaluator's order of computation, with every top expression computed by the
    generated code. Decisions read by the policy come from the compiled run (or, when the policy
    is not compiled, from the reference's result), so the walks only compute what the reference
    computes, in its order, for the trace: no rule statuses, no results."""

    def __init__(self, traced: TracedPolicy, run: _Run | None, result: Result | None, policy: ir.CheckedPolicy,
                 assessment: Assessment, as_of: date, params: dict[str, Any] | None, tracer: RecordingTracer) -> None:
        if run is None:
            super().__init__(policy, assessment, as_of, params, tracer)
        else:  # Evaluator.__init__'s attributes, with the compiled run's parameter values (the same)
            self.policy, self.assessment, self.as_of, self.tracer = policy, assessment, as_of, tracer
            self.overrides = params or {}
            self.params = run.params
            self._defs, self._decisions, self._ranks, self._dates = {}, {}, {}, {}
        self._roots = traced.roots
        self._plans = traced.plans
        self._walk_all = traced.walk_all
        self._run = run  # the compiled run whose result this trace goes with, or
        self._result = result  # the result, when the policy is not compiled (Interpreted)
        self._decided: dict[tuple[str, str], Any] | None = None  # built when a decision is read

    def compute(self, expr: ir.Expr, entity: Any) -> Any:
        fn = self._roots.get(expr.id)
        if fn is None:
            return super().compute(expr, entity)
        return fn(self, entity, self.tracer.scope(entity.path if entity else ""))  # type: ignore[union-attr]

    def decision(self, name: str, entity: Any) -> Any:
        if self._run is not None:
            return self._run.decision(name, entity)
        scope = entity if self.policy.decisions[name].entity_input is not None else None
        decided = self._decided
        if decided is None:
            decided = self._decided = {(d.decision, d.entity_path or ""): d for d in self._result.decisions}  # type: ignore[union-attr]
        return decided[(name, scope.path if scope else "")]

    def trace(self) -> None:
        """What Evaluator.run computes, in its order: every decision's walk, the obligations, the outputs."""
        scope_of = self.tracer.scope  # type: ignore[union-attr]
        if self._walk_all is not None:  # generated: TracedPolicy.walk_all
            run = self._run
            self._walk_all(self, self.assessment.entities, scope_of, run.decisions if run else None, run.fired if run else None)
        else:
            for entity_input, plan in self._plans:
                for entity in self._scope_entities(entity_input):
                    self._walk(plan, entity, scope_of(entity.path if entity else ""))
        for obligation in self.policy.obligations.values():
            for entity in self._scope_entities(obligation.entity_input):
                if self.in_force(obligation.valid_from, obligation.valid_until) is not False:
                    self.compute(obligation.cond, entity)
        for definition in self.policy.outputs():
            for entity in self._scope_entities(definition.entity_input):
                self.definition(definition.name, entity)

    def _walk(self, plan: tuple, entity: Any, T: list[Any]) -> None:
        """Evaluator._decide's computations (first match, exceptions, exploration once a rule fires)."""
        for dated, valid_from, valid_until, cond_fn, exc_fns, later in plan:
            in_force: Any = True
            if dated:
                in_force = self.in_force(valid_from, valid_until)
                if in_force is False:
                    continue
            cond = True if cond_fn is None else truth(cond_fn(self, entity, T))  # n/a: false, as Evaluator._decide
            if in_force is not True:
                cond = in_force if cond is not False else False
            if cond is False:
                continue
            maybe = False
            for fn in exc_fns:
                value = fn(self, entity, T)
                if value is True:
                    break
                if isinstance(value, Unknown):
                    maybe = True
            else:
                if cond is True and not maybe:
                    for fn in later:
                        try:
                            fn(self, entity, T)
                        except StratError:
                            pass
                    return


_LOCK = threading.Lock()


def traced(policy: ir.CheckedPolicy) -> TracedPolicy | None:
    """The traced module of a policy, built once per checked policy; None if CPython refuses it."""
    found = policy.caches.get("traced", _MISSING)
    if found is _MISSING:
        with _LOCK:
            found = policy.caches.get("traced", _MISSING)
            if found is _MISSING:
                try:
                    found = TracedPolicy(policy)
                except (SyntaxError, RecursionError, MemoryError):  # CPython's limits on code it compiles
                    found = None
                policy.caches["traced"] = found
    return found  # type: ignore[return-value]


def _one_walk(module: TracedPolicy, form: CompiledPolicy, policy: ir.CheckedPolicy, assessment: Assessment, as_of: date,
              params: dict[str, Any] | None, array: ArrayTracer) -> Result:
    run = _Run(form, assessment, as_of, params)
    _TracedEvaluator(module, run, None, policy, assessment, as_of, params, array).trace()
    return run.run()


def evaluate_traced(
    policy: ir.CheckedPolicy, assessment: Assessment, as_of: date, params: dict[str, Any] | None = None
) -> tuple[Result, RecordingTracer]:
    """The reference evaluator's result and the trace the reference tracer would record."""
    module = traced(policy)
    if module is None:
        tracer = RecordingTracer()
        return reference_evaluate(policy, assessment, as_of, params, tracer), tracer
    form = module.compiled
    array = ArrayTracer(module.size)
    if not isinstance(form, CompiledPolicy):  # the reference evaluator gives the result
        result = form.evaluate(assessment, as_of, params)
        try:
            _TracedEvaluator(module, None, result, policy, assessment, as_of, params, array).trace()
        except Overflow:  # as runtime.evaluator.evaluate
            raise too_large() from None
        return result, array
    # One compiled run gives the result (the reference's: test_compiled.py); the traced walk
    # fills its memo table with the decisions it settled plainly, so the compiled form computes
    # only the others, the obligations and the outputs.
    try:
        if form.needs_context:
            with decimal.localcontext(CONTEXT):
                result = _one_walk(module, form, policy, assessment, as_of, params, array)
        else:
            result = _one_walk(module, form, policy, assessment, as_of, params, array)
    except (StratError, Overflow) as error:
        form.evaluate(assessment, as_of, params)  # the compiled form's error first, if it has one (as before)
        if isinstance(error, Overflow):  # as runtime.evaluator.evaluate
            raise too_large() from None
        raise
    return result, array


#: Traced evaluations of a policy, per process, given to the reference tracer before the traced
#: module is built: building it costs ~200 ms of CPU for the methodology (compiling ~430 kB of
#: generated Python), and saves ~4 ms per evaluation, so a one-shot `explain` or `report` would
#: lose by it; a service or a long run builds it on the 17th traced evaluation.
TRACED_AFTER = 16


def run_traced(
    policy: ir.CheckedPolicy, assessment: Assessment, as_of: date, params: dict[str, Any] | None = None
) -> tuple[Result, RecordingTracer]:
    """What `engine.run(trace=True)` calls: the reference tracer for a policy's first
    TRACED_AFTER traced evaluations in this process, then the traced compiled mode (the same
    trace and result, tests/test_traced.py)."""
    if "traced" not in policy.caches:
        count = policy.caches.get("traced_runs", 0) + 1
        policy.caches["traced_runs"] = count
        if count <= TRACED_AFTER:
            tracer = RecordingTracer()
            return reference_evaluate(policy, assessment, as_of, params, tracer), tracer
    return evaluate_traced(policy, assessment, as_of, params)


__all__ = ["TRACED_AFTER", "ArrayTracer", "TracedPolicy", "evaluate_traced", "run_traced", "traced"]
