"""The SQL back end: a checked policy → one canonical SQL query (DuckDB dialect).

Input: `ir.CheckedPolicy`, the as-of date and the parameter values. Output:
`SqlPolicy`, a chain of CTEs and a final SELECT giving one row per decision
and entity — assessment, decision, entity, status, outcome, rule — which
`stratdsl sql` transpiles to other dialects with sqlglot and `batch --engine
duckdb` runs (backends/sql_duckdb.py).

Mapping (docs/sql.md has the full table): each input is a table bound by the
caller (`assessment`, `id` for many/group inputs, one column per field, NULL
for an unknown fact); each scope (the assessment, each entity kind) is a chain
of CTEs, one per definition, decision or aggregate, added in dependency order;
aggregates are GROUP BY assessment, `rank` a window; parameters and the as-of
date are literals; decisions are the first-match walk over per-rule states
(rule ∧ in force ∧ ¬ any exception, in Kleene logic).

The bridge between SQL's NULL and the language's unknowns: SQL's three-valued
AND/OR/NOT are Kleene's; every other place where SQL ignores or swallows NULL
(CASE conditions, SUM/MIN/MAX/COUNT/BOOL_OR, COALESCE) is compiled so that a
NULL that could change the result gives NULL. The reference evaluator knows
more than NULL does (the possible values of an unknown), so a SQL value is
only ever *less* settled, never different: a decision is `decided` in SQL only
when its first rule that is not false is certainly true; anything else is
`undetermined` here and completed by the Python evaluator. Division is the
one inexact operation (the language rounds quotients to 28 digits): quotients
are computed as DOUBLE, and a comparison, `round`, `floor` or `ceil` of such a
value is settled only when it is farther than a safety margin from the
boundary, else NULL. A division whose divisor is zero flags the assessment
(`hazards`) so that Python reports E201 exactly as it would. A construct with
no faithful SQL form is a compile-time error (E851–E859) naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ..language import ir
from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg
from ..language.types import BoolT, DateT, EnumT, ListT, NotApplicableT, NumberT, TextT, Type

#: Decimals places kept for input numbers; an input with more goes to Python.
INPUT_SCALE = 6
#: Relative safety margin of a comparison or rounding of a DOUBLE quotient.
MARGIN = "1e-9"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

NUM, APPROX, BOOL, TEXT, DATE, LIST = "num", "approx", "bool", "text", "date", "list"


def unsupported(what: Msg, span: Any = None, hint: str | None = None) -> StratError:
    message = Msg(N_("the SQL back end cannot express {what}"), what=what)
    return StratError([Diagnostic("E851", message, span, hint=hint or Msg(N_("evaluate this policy with the Python engine (--engine local)")))])


def ident(name: str) -> str:
    """A checked identifier as a SQL identifier, always quoted (checked names match [A-Za-z_][A-Za-z0-9_]*)."""
    if not _NAME.match(name):
        raise StratError([Diagnostic("E852", Msg(N_("'{name}' cannot be used as a SQL name"), name=name))])
    return f'"{name}"'


def text_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def number_literal(value: Decimal) -> str:
    value = Decimal(value)
    text = format(value, "f")
    scale = max(0, -value.as_tuple().exponent) if isinstance(value.as_tuple().exponent, int) else 0
    digits = len(text.replace("-", "").replace(".", ""))
    return f"CAST({text} AS DECIMAL({max(digits, scale + 1, 18) if digits <= 38 else 38}, {scale}))"


def sql_type(t: Type) -> str:
    if isinstance(t, NumberT):
        return f"DECIMAL(38, {INPUT_SCALE})"
    if isinstance(t, BoolT):
        return "BOOLEAN"
    if isinstance(t, DateT):
        return "DATE"
    if isinstance(t, ListT):
        return "VARCHAR[]"
    return "VARCHAR"


def kind_of(t: Type) -> str:
    if isinstance(t, NumberT):
        return NUM
    if isinstance(t, BoolT):
        return BOOL
    if isinstance(t, DateT):
        return DATE
    if isinstance(t, ListT):
        return LIST
    if isinstance(t, (EnumT, TextT)):
        return TEXT
    return TEXT


def literal(value: Any, t: Type | None = None) -> tuple[str, str]:
    if value is None:
        return "NULL", kind_of(t) if t is not None else TEXT
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), BOOL
    if isinstance(value, Decimal):
        return number_literal(value), NUM
    if isinstance(value, int):
        return number_literal(Decimal(value)), NUM
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'", DATE
    if isinstance(value, str):
        return text_literal(value), TEXT
    if isinstance(value, (frozenset, set, tuple, list)):
        items = sorted(str(v) for v in value)
        return "CAST([" + ", ".join(text_literal(v) for v in items) + "] AS VARCHAR[])", LIST
    raise unsupported(Msg(N_("the constant {value}"), value=repr(value)))


@dataclass
class _Scope:
    """One chain of CTEs: the assessment scope (name None) or one entity input."""

    key: str  # "" for the assessment, else the input name
    current: str
    columns: set[str] = field(default_factory=set)


@dataclass
class SqlPolicy:
    """The canonical form: CTEs in order, the SELECT of decisions, the SELECT of flagged assessments."""

    policy: str
    version: str
    as_of: date
    ctes: list[tuple[str, str]]
    decisions: str  # SELECT assessment, decision, entity, ord, d_index, status, outcome, rule
    hazards: str  # SELECT assessment (assessments whose evaluation met a zero divisor)
    inputs: dict[str, ir.Input]
    decision_names: list[str]

    def query(self, final: str | None = None) -> str:
        """The whole query: WITH … SELECT (the decisions unless `final` is given)."""
        body = ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in self.ctes)
        return f"WITH {body}\n{final or self.decisions}"


class SqlCompiler:
    def __init__(self, policy: ir.CheckedPolicy, as_of: date, params: dict[str, Any] | None = None, defaults: bool = True) -> None:
        self.policy = policy
        self.defaults = defaults
        self.as_of = as_of
        overrides = params or {}
        self.params = {name: overrides.get(name, p.default) for name, p in policy.params.items()}
        self.ctes: list[tuple[str, str]] = []
        self.scopes: dict[str, _Scope] = {}
        self.done: dict[tuple[str, str], str] = {}  # (scope, item) → column
        self.kinds: dict[str, str] = {}  # column → kind
        self.busy: set[tuple[str, str]] = set()
        self.hazards: list[tuple[str, str]] = []  # (scope, boolean SQL over the scope's current CTE)
        self.hazard_columns: dict[str, list[str]] = {}
        self.counter = 0

    # ------------------------------------------------------------ scopes
    def _fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def _add_cte(self, prefix: str, sql: str) -> str:
        name = self._fresh(prefix)
        self.ctes.append((name, sql))
        return name

    def _base(self) -> None:
        inputs = self.policy.inputs
        keys = [f"SELECT assessment FROM {ident(i.name)}" for i in inputs.values()]
        if not keys:
            raise unsupported(Msg(N_("a policy with no inputs")))
        union = " UNION ".join(keys)
        joins = ""
        columns = ["k.assessment"]
        for item in inputs.values():
            if item.kind == "record":
                alias = ident("r_" + item.name)
                joins += f"\n  LEFT JOIN {ident(item.name)} AS {alias} ON {alias}.assessment = k.assessment"
                for fname, f in item.fields.items():
                    col = f"{item.name}__{fname}"
                    columns.append(f"{self._typed(f'{alias}.{ident(fname)}', f)} AS {ident(col)}")
                    self.kinds[col] = kind_of(f.type)
        name = self._add_cte("s", f"SELECT {', '.join(columns)}\n  FROM ({union}) AS k{joins}")
        self.scopes[""] = _Scope("", name, set(columns))
        for item in inputs.values():
            if item.kind == "record":
                continue
            cols = ["e.assessment", "e.id", "e.ord"]
            for fname, f in item.fields.items():
                col = f"f__{fname}"
                cols.append(f"{self._typed(f'e.{ident(fname)}', f)} AS {ident(col)}")
                self.kinds[f"{item.name}:{col}"] = kind_of(f.type)
            name = self._add_cte("e", f"SELECT {', '.join(cols)}\n  FROM {ident(item.name)} AS e")
            self.scopes[item.name] = _Scope(item.name, name)

    def _typed(self, column: str, f: ir.Field) -> str:
        """A bound column, with the policy's default for a NULL (an unanswered question)."""
        sql = f"CAST({column} AS {sql_type(f.type)})"
        if f.default is not None and self.defaults:
            default, _ = literal(f.default, f.type)
            sql = f"COALESCE({sql}, {default})"
        return sql

    def _stage(self, scope: str, columns: list[tuple[str, str]]) -> None:
        """Add columns (name, SQL over the scope's current CTE) as a new CTE of the scope."""
        s = self.scopes[scope]
        extra = ", ".join(f"{sql} AS {ident(name)}" for name, sql in columns)
        s.current = self._add_cte("s" if scope == "" else "e", f"SELECT *, {extra}\n  FROM {s.current}")

    def _flush_hazards(self) -> None:
        pending, self.hazards = self.hazards, []
        for scope, sql in pending:
            col = self._fresh("hz")
            self._stage(scope, [(col, f"COALESCE({sql}, FALSE)")])
            self.hazard_columns.setdefault(scope, []).append(col)

    def _import_global(self, scope: str, column: str) -> str:
        """A column of the assessment scope, joined into an entity scope."""
        key = (scope, "global:" + column)
        if key in self.done:
            return self.done[key]
        s = self.scopes[scope]
        g = self.scopes[""]
        local = "g__" + column
        s.current = self._add_cte(
            "e", f"SELECT x.*, y.{ident(column)} AS {ident(local)}\n  FROM {s.current} AS x LEFT JOIN {g.current} AS y ON y.assessment = x.assessment"
        )
        self.done[key] = local
        self.kinds[f"{scope}:{local}"] = self.kinds[f":{column}"] if f":{column}" in self.kinds else self.kinds.get(column, TEXT)
        return local

    def _kind(self, scope: str, column: str) -> str:
        return self.kinds.get(f"{scope}:{column}", self.kinds.get(column, TEXT))

    # ------------------------------------------------------------ items
    def definition(self, name: str, scope: str) -> str:
        d = self.policy.definitions[name]
        own = d.entity_input or ""
        column = self._item(own, "def:" + name, lambda: self.expr(d.expr, own))
        return column if own == scope else self._import_global(scope, column)

    def decision_value(self, name: str, scope: str) -> str:
        """The outcome column of a decision: its outcome when decided, else NULL."""
        d = self.policy.decisions[name]
        own = d.entity_input or ""
        key = (own, "dec:" + name)
        if key not in self.done:
            self._decision(d)
        column = self.done[key]
        return column if own == scope else self._import_global(scope, column)

    def _item(self, scope: str, key: str, build) -> str:
        k = (scope, key)
        if k in self.done:
            return self.done[k]
        if k in self.busy:
            raise unsupported(Msg(N_("the cycle through {key}"), key=key))
        self.busy.add(k)
        sql, kind = build()
        column = self._fresh("c")
        self._flush_hazards()
        self._stage(scope, [(column, sql)])
        self.kinds[f"{scope}:{column}"] = kind
        self.done[k] = column
        self.busy.discard(k)
        return column

    def _decision(self, d: ir.Decision) -> None:
        scope = d.entity_input or ""
        states = []
        for rule in d.rules:
            parts = []
            in_force = self._in_force(rule.valid_from, rule.valid_until, scope)
            if in_force is False:
                states.append("FALSE")
                continue
            if in_force is not True:
                parts.append(in_force)
            if rule.cond is not None:
                parts.append(self.cond(rule.cond, scope))
            for exc in rule.exceptions:
                parts.append(f"NOT ({self.cond(exc.cond, scope)})")
            states.append(" AND ".join(f"({p})" for p in parts) if parts else "TRUE")
        self._flush_hazards()
        cols = [(self._fresh("r"), s) for s in states]
        self._stage(scope, cols)
        # first-match: decided when the first rule that is not false is true
        walk = " ".join(
            f"WHEN {ident(c)} IS NULL THEN 'undetermined' WHEN {ident(c)} THEN 'decided'" for c, _ in cols
        )
        which = " ".join(f"WHEN {ident(c)} IS NOT FALSE THEN {text_literal(r.id)}" for (c, _), r in zip(cols, d.rules, strict=True))
        outcome = " ".join(
            f"WHEN {ident(c)} IS NOT FALSE THEN {text_literal(r.outcome)}" for (c, _), r in zip(cols, d.rules, strict=True)
        )
        status, rule, out = self._fresh("st"), self._fresh("ru"), self._fresh("ou")
        self._stage(
            scope,
            [
                (status, f"CASE {walk} ELSE 'no_match' END"),
                (rule, f"CASE {which} END"),
                (out, f"CASE {outcome} END"),
            ],
        )
        value = self._fresh("dv")
        self._stage(scope, [(value, f"CASE WHEN {ident(status)} = 'decided' THEN {ident(out)} END")])
        self.kinds[f"{scope}:{value}"] = TEXT
        self.done[(scope, "dec:" + d.name)] = value
        self.done[(scope, "decision:" + d.name)] = f"{status}|{rule}|{out}"

    def _in_force(self, valid_from: ir.Expr | None, valid_until: ir.Expr | None, scope: str) -> Any:
        """True, False, or a SQL condition: the date bounds are global expressions."""
        conds = []
        for bound, op in ((valid_from, "<="), (valid_until, ">")):
            if bound is None:
                continue
            if isinstance(bound, ir.Const) and isinstance(bound.value, date):
                holds = bound.value <= self.as_of if op == "<=" else bound.value > self.as_of
                if not holds:
                    return False
                continue
            sql, kind = self.expr(bound, scope)
            if kind != DATE:
                raise unsupported(Msg(N_("a validity bound that is not a date")), bound.span)
            asof = f"DATE '{self.as_of.isoformat()}'"
            conds.append(f"({sql} <= {asof})" if op == "<=" else f"({sql} > {asof})")
        return True if not conds else " AND ".join(conds)

    # ------------------------------------------------------------ expressions
    def cond(self, e: ir.Expr, scope: str) -> str:
        sql, kind = self.expr(e, scope)
        if kind != BOOL:
            raise unsupported(Msg(N_("a condition that is not a truth value")), e.span)
        return sql

    def expr(self, e: ir.Expr, scope: str) -> tuple[str, str]:
        method = getattr(self, "_" + type(e).__name__.lower(), None)
        if method is None:
            raise unsupported(Msg(N_("the expression {kind}"), kind=type(e).__name__), e.span)
        return method(e, scope)

    def _const(self, e: ir.Const, scope: str) -> tuple[str, str]:
        if isinstance(e.value, ir.NotApplicable):  # outside a branch of `if`: no type to give it
            raise unsupported(Msg(N_("a value that is never applicable")), e.span)
        return literal(e.value, e.type)

    def _fieldref(self, e: ir.FieldRef, scope: str) -> tuple[str, str]:
        if e.of_record:
            column = f"{e.input_name}__{e.field_name}"
            if scope != "":
                local = self._import_global(scope, column)
                return ident(local), self.kinds[column]
            return ident(column), self.kinds[column]
        if scope != e.input_name:
            raise unsupported(Msg(N_("the field {field} read outside its entity"), field=e.field_name), e.span)
        column = f"f__{e.field_name}"
        return ident(column), self.kinds[f"{scope}:{column}"]

    def _memberfieldref(self, e: ir.MemberFieldRef, scope: str) -> tuple[str, str]:
        source = self.scopes[e.input_name]
        column = f"f__{e.field_name}"
        kind = self.kinds[f"{e.input_name}:{column}"]
        return self._member(scope, e.input_name, e.member, column, kind, f"member:{e.member}.{e.field_name}", source)

    def _member(self, scope: str, input_name: str, member: str, column: str, kind: str, key: str, source: _Scope) -> tuple[str, str]:
        """One member's value as a column of the assessment scope (one row per member and assessment)."""
        def build() -> tuple[str, str]:
            name = self._add_cte(
                "m", f"SELECT assessment, {ident(column)} AS v FROM {source.current} WHERE id = {text_literal(member)}"
            )
            g = self.scopes[""]
            col = self._fresh("c")
            g.current = self._add_cte(
                "s", f"SELECT x.*, y.v AS {ident(col)}\n  FROM {g.current} AS x LEFT JOIN {name} AS y ON y.assessment = x.assessment"
            )
            self.kinds[f":{col}"] = kind
            return col

        k = ("", key + "@" + input_name)
        if k not in self.done:
            self.done[k] = build()
        col = self.done[k]
        if scope != "":
            return ident(self._import_global(scope, col)), kind
        return ident(col), kind

    def _entityid(self, e: ir.EntityId, scope: str) -> tuple[str, str]:
        return "id", TEXT

    def _asof(self, e: ir.AsOf, scope: str) -> tuple[str, str]:
        return f"DATE '{self.as_of.isoformat()}'", DATE

    def _defref(self, e: ir.DefRef, scope: str) -> tuple[str, str]:
        if e.member is not None:
            column = self.definition(e.name, e.input_name)
            kind = self._kind(e.input_name, column)
            return self._member(scope, e.input_name, e.member, column, kind, f"def:{e.member}.{e.name}", self.scopes[e.input_name])
        column = self.definition(e.name, scope)
        return ident(column), self._kind(scope, column)

    def _decisionref(self, e: ir.DecisionRef, scope: str) -> tuple[str, str]:
        if e.member is not None:
            column = self.decision_value(e.name, e.input_name)
            return self._member(scope, e.input_name, e.member, column, TEXT, f"dec:{e.member}.{e.name}", self.scopes[e.input_name])
        return ident(self.decision_value(e.name, scope)), TEXT

    def _paramref(self, e: ir.ParamRef, scope: str) -> tuple[str, str]:
        return literal(self.params[e.name], e.type)

    def _neg(self, e: ir.Neg, scope: str) -> tuple[str, str]:
        sql, kind = self.expr(e.operand, scope)
        return f"(-{sql})", kind

    def _not(self, e: ir.Not, scope: str) -> tuple[str, str]:
        return f"(NOT {self.cond(e.operand, scope)})", BOOL

    def _arith(self, e: ir.Arith, scope: str) -> tuple[str, str]:
        left, lk = self.expr(e.left, scope)
        right, rk = self.expr(e.right, scope)
        if lk not in (NUM, APPROX) or rk not in (NUM, APPROX):
            raise unsupported(Msg(N_("'{op}' on values that are not numbers"), op=e.op), e.span)
        if e.op == "/":
            if isinstance(e.right, ir.Const) and isinstance(e.right.value, Decimal) and _power_of_ten(e.right.value):
                # x / 100 is x * 0.01 exactly, as the language computes it (28 digits suffice)
                inverse = number_literal(Decimal(1).scaleb(-_exponent10(e.right.value)))
                return f"({left} * {inverse})", lk
            if not (isinstance(e.right, ir.Const) and e.right.value != 0):
                self.hazards.append((scope, f"{right} = 0"))
            return f"(CAST({left} AS DOUBLE) / NULLIF(CAST({right} AS DOUBLE), 0))", APPROX
        if APPROX in (lk, rk):
            return f"(CAST({left} AS DOUBLE) {e.op} CAST({right} AS DOUBLE))", APPROX
        return f"({left} {e.op} {right})", NUM

    def _compare(self, e: ir.Compare, scope: str) -> tuple[str, str]:
        left, lk = self.expr(e.left, scope)
        right, rk = self.expr(e.right, scope)
        op = "<>" if e.op == "!=" else e.op
        if APPROX in (lk, rk):
            return _guarded_compare(op, left, right), BOOL
        if lk == LIST or rk == LIST:
            if op not in ("=", "<>"):
                raise unsupported(Msg(N_("an order comparison of lists")), e.span)
            return f"({'' if op == '=' else 'NOT '}(list_sort({left}) = list_sort({right})))", BOOL
        return f"({left} {op} {right})", BOOL

    def _in(self, e: ir.In, scope: str) -> tuple[str, str]:
        item, ik = self.expr(e.item, scope)
        if ik == LIST:
            raise unsupported(Msg(N_("'in' with a list on its left")), e.span)
        if ik == APPROX:
            raise unsupported(Msg(N_("'in' on a quotient (an inexact number)")), e.span)
        if isinstance(e.container, ir.SetOf):
            items = [self.expr(i, scope) for i in e.container.items]
            if any(k == APPROX for _, k in items):
                raise unsupported(Msg(N_("a set of quotients")), e.span)
            inside = f"({item} IN ({', '.join(s for s, _ in items)}))"
        else:
            container, ck = self.expr(e.container, scope)
            if ck != LIST:
                raise unsupported(Msg(N_("'in' on a value that is not a list")), e.span)
            inside = f"(CASE WHEN {item} IS NULL OR {container} IS NULL THEN NULL ELSE list_contains({container}, {item}) END)"
        return (f"(NOT {inside})" if e.negated else inside), BOOL

    def _setof(self, e: ir.SetOf, scope: str) -> tuple[str, str]:
        items = [self.expr(i, scope) for i in e.items]
        if any(k != TEXT for _, k in items):
            raise unsupported(Msg(N_("a set of values that are not enum values")), e.span)
        # NULL if any item is unknown, as the language does
        parts = ", ".join(s for s, _ in items)
        nulls = " OR ".join(f"{s} IS NULL" for s, _ in items) or "FALSE"
        return f"(CASE WHEN {nulls} THEN NULL ELSE list_sort(list_distinct([{parts}])) END)", LIST

    def _logic(self, e: ir.Logic, scope: str) -> tuple[str, str]:
        parts = [self.cond(i, scope) for i in e.items]
        return "(" + f" {e.op.upper()} ".join(parts) + ")", BOOL

    def _branch(self, e: ir.Expr, type_: Any, scope: str) -> tuple[str, str]:
        """A branch of `if`: `not applicable` is NULL (see _isapplicable); a branch that is never
        applicable (the literal, an `if` of two, a definition that is only that) takes the `if`'s type."""
        if isinstance(e.type, NotApplicableT):
            return f"CAST(NULL AS {sql_type(type_)})", kind_of(type_)
        return self.expr(e, scope)

    def _isapplicable(self, e: ir.IsApplicable, scope: str) -> tuple[str, str]:
        # n/a is NULL, as an unknown is: a NULL that could change a result gives NULL, so a
        # value is only less settled than the language's, and the row goes to Python
        sql, _ = self.expr(e.operand, scope)
        return f"(CASE WHEN {sql} IS NOT NULL THEN {'FALSE' if e.negated else 'TRUE'} END)", BOOL

    def _cond(self, e: ir.Cond, scope: str) -> tuple[str, str]:
        c = self.cond(e.cond, scope)
        then, tk = self._branch(e.then, e.type, scope)
        other, ok = self._branch(e.otherwise, e.type, scope)
        kind = tk if tk == ok else (APPROX if {tk, ok} == {NUM, APPROX} else None)
        if kind is None:
            raise unsupported(Msg(N_("an 'if' whose branches have different types")), e.span)
        if kind == APPROX:
            then, other = f"CAST({then} AS DOUBLE)", f"CAST({other} AS DOUBLE)"
        # an unknown condition leaves the value unknown (CASE alone would take the ELSE)
        return f"(CASE WHEN {c} THEN {then} WHEN NOT ({c}) THEN {other} END)", kind

    def _func(self, e: ir.Func, scope: str) -> tuple[str, str]:
        name = e.name
        if name == "known":
            arg = e.args[0]
            sql, _ = self.expr(arg, scope)
            if isinstance(arg, (ir.FieldRef, ir.MemberFieldRef)):
                return f"({sql} IS NOT NULL)", BOOL
            # Anything else SQL may leave NULL where the language knows the value (an `if`
            # whose branches agree, a decision settled by agreeing possible outcomes): a
            # value SQL knows is known, a NULL only means "maybe", so the row goes to Python.
            return f"(CASE WHEN {sql} IS NOT NULL THEN TRUE END)", BOOL
        args = [self.expr(a, scope) for a in e.args]
        if name == "size":
            sql, kind = args[0]
            if kind != LIST:
                raise unsupported(Msg(N_("size() of a value that is not a list")), e.span)
            return f"(CASE WHEN {sql} IS NULL THEN NULL ELSE CAST(coalesce(array_length({sql}), 0) AS DECIMAL(38, 0)) END)", NUM
        sql, kind = args[0]
        if name == "round":
            places = e.args[1] if len(e.args) > 1 else None
            if places is not None and not (isinstance(places, ir.Const) and isinstance(places.value, Decimal)):
                raise unsupported(Msg(N_("round() to a number of places that is not a constant")), e.span)
            k = int(places.value) if places is not None else 0
            if not 0 <= k <= 18:
                raise unsupported(Msg(N_("round() to {places} places"), places=k), e.span)
            if kind == APPROX:
                return _guarded_round(sql, k), NUM
            return f"CAST(round({sql}, {k}) AS DECIMAL(38, {k}))", NUM
        if name in ("floor", "ceil"):
            if kind == APPROX:
                return _guarded_integral(name, sql), NUM
            return f"CAST({name}({sql}) AS DECIMAL(38, 0))", NUM
        if name == "abs":
            return f"abs({sql})", kind
        if name in ("min", "max"):
            kinds = {k for _, k in args}
            cast = kinds == {NUM, APPROX}
            items = [f"CAST({s} AS DOUBLE)" if cast else s for s, _ in args]
            nulls = " OR ".join(f"{s} IS NULL" for s, _ in args)
            fn = "least" if name == "min" else "greatest"  # both skip NULLs in some engines: guard
            return f"(CASE WHEN {nulls} THEN NULL ELSE {fn}({', '.join(items)}) END)", (APPROX if APPROX in kinds else kinds.pop())
        raise unsupported(Msg(N_("the function {name}()"), name=name), e.span)

    def _aggregate(self, e: ir.Aggregate, scope: str) -> tuple[str, str]:
        source = e.input_name
        if source not in self.scopes:
            raise unsupported(Msg(N_("an aggregate over '{source}'"), source=source), e.span)
        where = self.cond(e.where, source) if e.where is not None else "TRUE"
        body, bk = self.expr(e.body, source) if e.body is not None else ("TRUE", BOOL)
        weight, _ = self.expr(e.weight, source) if e.weight is not None else ("NULL", NUM)
        self._flush_hazards()
        s = self.scopes[source]
        wcol, bcol, gcol = self._fresh("w"), self._fresh("b"), self._fresh("wt")
        self._stage(source, [(wcol, where), (bcol, body), (gcol, weight)])
        w, b, g = ident(wcol), ident(bcol), ident(gcol)
        uncertain = f"bool_or({w} IS NULL)"
        kind = e.kind
        if kind in ("any", "all"):
            if bk != BOOL:
                raise unsupported(Msg(N_("{kind}() of a value that is not a truth value"), kind=kind), e.span)
            if kind == "any":
                score = f"CASE WHEN {w} IS FALSE THEN 0 WHEN {w} IS NULL THEN 1 WHEN {b} THEN 2 WHEN NOT {b} THEN 0 ELSE 1 END"
                value = f"CASE coalesce(max({score}), 0) WHEN 2 THEN TRUE WHEN 1 THEN NULL ELSE FALSE END"
            else:
                score = f"CASE WHEN {w} IS FALSE THEN 2 WHEN {w} IS NULL THEN 1 WHEN {b} THEN 2 WHEN NOT {b} THEN 0 ELSE 1 END"
                value = f"CASE coalesce(min({score}), 2) WHEN 0 THEN FALSE WHEN 1 THEN NULL ELSE TRUE END"
            out_kind = BOOL
        else:
            keep = f"{w} IS TRUE"
            pending = f"({uncertain} OR bool_or({keep} AND {b} IS NULL))"
            if kind == "count":
                value = f"CAST(count(*) FILTER (WHERE {keep}) AS DECIMAL(38, 0))"
                out_kind = NUM
                pending = f"coalesce({uncertain}, FALSE)"
            elif kind == "sum":
                if bk not in (NUM, APPROX):
                    raise unsupported(Msg(N_("sum() of a value that is not a number")), e.span)
                value = f"coalesce(sum({b}) FILTER (WHERE {keep}), 0)"
                out_kind = bk
            elif kind in ("min", "max"):
                value = f"{kind}({b}) FILTER (WHERE {keep})"
                out_kind = bk
            elif kind == "mean":
                value = f"avg(CAST({b} AS DOUBLE)) FILTER (WHERE {keep})"
                out_kind = APPROX
            elif kind == "weighted_mean":
                pending = f"({pending} OR bool_or({keep} AND {g} IS NULL))"
                total = f"sum(CAST({g} AS DOUBLE)) FILTER (WHERE {keep})"
                value = f"(sum(CAST({b} AS DOUBLE) * CAST({g} AS DOUBLE)) FILTER (WHERE {keep}) / NULLIF({total}, 0))"
                out_kind = APPROX
            else:
                raise unsupported(Msg(N_("the aggregate {kind}()"), kind=kind), e.span)
            value = f"CASE WHEN coalesce({pending}, FALSE) THEN NULL ELSE {value} END"
        agg = self._add_cte("a", f"SELECT assessment, {value} AS v\n  FROM {s.current}\n  GROUP BY assessment")
        g_scope = self.scopes[""]
        col = self._fresh("c")
        empty = {"count": "CAST(0 AS DECIMAL(38, 0))", "sum": "CAST(0 AS DECIMAL(38, 6))", "any": "FALSE", "all": "TRUE"}.get(kind, "NULL")
        g_scope.current = self._add_cte(
            "s",
            f"SELECT x.*, CASE WHEN y.assessment IS NULL THEN {empty} ELSE y.v END AS {ident(col)}\n"
            f"  FROM {g_scope.current} AS x LEFT JOIN {agg} AS y ON y.assessment = x.assessment",
        )
        self.kinds[f":{col}"] = out_kind
        if scope != "":
            return ident(self._import_global(scope, col)), out_kind
        return ident(col), out_kind

    def _rank(self, e: ir.Rank, scope: str) -> tuple[str, str]:
        if scope != e.input_name:
            raise unsupported(Msg(N_("rank() outside its own entities")), e.span)
        where = self.cond(e.where, scope) if e.where is not None else "TRUE"
        keys = []
        for key, descending in e.keys:
            sql, kind = self.expr(key, scope)
            if kind == APPROX:
                raise unsupported(Msg(N_("rank() by a quotient (an inexact number)")), key.span)
            keys.append((sql, descending))
        self._flush_hazards()
        wcol = self._fresh("w")
        kcols = [(self._fresh("k"), sql) for sql, _ in keys]
        self._stage(scope, [(wcol, where), *kcols])
        w = ident(wcol)
        blocked = " OR ".join([f"{w} IS NULL"] + [f"({w} AND {ident(c)} IS NULL)" for c, _ in kcols])
        order = ", ".join(
            f"{ident(c)} {'DESC' if desc else 'ASC'}" for (c, _), (_, desc) in zip(kcols, keys, strict=True)
        )
        order = (order + ", " if order else "") + "id ASC"
        col = self._fresh("c")
        self._stage(
            scope,
            [
                (
                    col,
                    f"CASE WHEN {w} IS FALSE THEN CAST(0 AS DECIMAL(38, 0)) "
                    f"WHEN bool_or({blocked}) OVER (PARTITION BY assessment) THEN NULL "
                    f"ELSE CAST(row_number() OVER (PARTITION BY assessment, {w} ORDER BY {order}) AS DECIMAL(38, 0)) END",
                )
            ],
        )
        self.kinds[f"{scope}:{col}"] = NUM
        return ident(col), NUM

    # ------------------------------------------------------------ the whole policy
    def compile(self) -> SqlPolicy:
        self._base()
        for d in self.policy.decisions.values():
            self.decision_value(d.name, d.entity_input or "")
        self._flush_hazards()
        selects = []
        for index, d in enumerate(self.policy.decisions.values()):
            scope = d.entity_input or ""
            status, rule, out = self.done[(scope, "decision:" + d.name)].split("|")
            entity = "id" if scope else "CAST(NULL AS VARCHAR)"
            ord_ = "ord" if scope else "CAST(0 AS BIGINT)"
            selects.append(
                f"SELECT assessment, {text_literal(d.name)} AS decision, {entity} AS entity, {ord_} AS ord, {index} AS d_index, "
                f"{ident(status)} AS status, CASE WHEN {ident(status)} = 'decided' THEN {ident(out)} END AS outcome, "
                f"CASE WHEN {ident(status)} = 'decided' THEN {ident(rule)} END AS rule FROM {self.scopes[scope].current}"
            )
        hazards = []
        for scope, cols in self.hazard_columns.items():
            if cols:
                hazards.append(
                    f"SELECT DISTINCT assessment FROM {self.scopes[scope].current} WHERE {' OR '.join(ident(c) for c in cols)}"
                )
        hazard_sql = " UNION ".join(hazards) if hazards else "SELECT CAST(NULL AS VARCHAR) AS assessment WHERE FALSE"
        return SqlPolicy(
            self.policy.name,
            self.policy.version,
            self.as_of,
            self.ctes,
            "\nUNION ALL\n".join(selects) if selects else "SELECT NULL WHERE FALSE",
            hazard_sql,
            dict(self.policy.inputs),
            [d.name for d in self.policy.decisions.values()],
        )


def _power_of_ten(value: Decimal) -> bool:
    return value > 0 and value == Decimal(1).scaleb(_exponent10(value))


def _exponent10(value: Decimal) -> int:
    return value.normalize().adjusted()


def _margin(*values: str) -> str:
    return f"({MARGIN} * greatest(1.0, {', '.join(f'abs(CAST({v} AS DOUBLE))' for v in values)}))"


def _guarded_compare(op: str, left: str, right: str) -> str:
    """A comparison of DOUBLE approximations: settled only when clear of the margin."""
    diff = f"(CAST({left} AS DOUBLE) - CAST({right} AS DOUBLE))"
    m = _margin(left, right)
    if op in ("<", "<="):
        return f"(CASE WHEN {diff} < -{m} THEN TRUE WHEN {diff} > {m} THEN FALSE END)"
    if op in (">", ">="):
        return f"(CASE WHEN {diff} > {m} THEN TRUE WHEN {diff} < -{m} THEN FALSE END)"
    if op == "=":
        return f"(CASE WHEN abs({diff}) > {m} THEN FALSE END)"
    return f"(CASE WHEN abs({diff}) > {m} THEN TRUE END)"


def _guarded_round(sql: str, places: int) -> str:
    """round(q, k) of a DOUBLE: exact unless q is within the margin of a half-way point."""
    scaled = f"(CAST({sql} AS DOUBLE) * 1e{places})"
    frac = f"({scaled} - floor({scaled}))"
    return (
        f"(CASE WHEN abs({frac} - 0.5) > {_margin(scaled)} "
        f"THEN CAST(round(CAST({sql} AS DOUBLE), {places}) AS DECIMAL(38, {places})) END)"
    )


def _guarded_integral(name: str, sql: str) -> str:
    """floor/ceil of a DOUBLE: exact unless q is within the margin of an integer."""
    value = f"CAST({sql} AS DOUBLE)"
    return f"(CASE WHEN abs({value} - round({value})) > {_margin(value)} THEN CAST({name}({value}) AS DECIMAL(38, 0)) END)"


def compile_sql(policy: ir.CheckedPolicy, as_of: date, params: dict[str, Any] | None = None, defaults: bool = True) -> SqlPolicy:
    """The canonical SQL form of a checked policy (raises StratError E851/E852 for what SQL cannot say).
    `defaults`: a NULL in a field with a default takes it (False when the tables already hold them)."""
    return SqlCompiler(policy, as_of, params, defaults).compile()
