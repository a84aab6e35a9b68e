"""Differential tests: the compiled evaluator (generated Python) against the reference tree-walker.

Hypothesis writes small policies — definitions over fields, parameters and
earlier definitions, aggregates and ranks over a `many` input and a `group`,
decisions with first-match rules, `unless` exceptions and dated rules, bands,
obligations, references between decisions — and assessments that leave any
fact unknown (absent, null or `unknown`). Both evaluators must give the same
decisions (with every rule status, missing fact and citation), values and
obligations, or fail with the same error. The shipped methodology is checked
the same way on every example at several dates.

Runs are derandomised and keep no example database: the same examples every
time, no files left behind. No timing is asserted anywhere.
"""

from __future__ import annotations

import ast as pyast
import copy
import itertools
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import REPO
from stratdsl.backends import compiler
from stratdsl.backends.compiler import CompiledPolicy, Interpreted, compiled
from stratdsl.engine import compile_policy, compile_text, mark_assumptions, run
from stratdsl.language import types as types_mod
from stratdsl.language.diagnostics import StratError
from stratdsl.runtime.assessment import read_data, validate
from stratdsl.runtime.evaluator import evaluate as reference_evaluate
from stratdsl.runtime.result import Result
from stratdsl.runtime.trace import RecordingTracer

DIFF = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

KINDS = ("a", "b", "c")
DATES = ("2026-01-01", "2026-08-02", "2027-01-01")
AS_OF = [date(2025, 12, 31), date(2026, 8, 1), date(2026, 8, 2), date(2026, 12, 31), date(2027, 1, 1)]
HEADER = """policy "Generated" version "1"
source law "Law"
enum kind { a b c }
enum dim { d1 d2 }
input org { size: integer 0..100  flag: bool  level: kind }
input items: many item {
  x: number 0..10
  y: number 0..10
  k: kind
  p: bool
  q: bool
  tags: list of kind
}
input levels: group level over dim { v: number 0..5  ok: bool }
param t: number = 3
param start: date = 2026-08-02
"""


# ====================================================================== generated policies


class PolicyWriter:
    """Draws one well-typed policy; every name refers only to what was declared before it."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.lines: list[str] = []
        # name → scope ("item", "level" or "global") of numeric / boolean definitions
        self.num_defs: dict[str, str] = {}
        self.bool_defs: dict[str, str] = {}
        self.decisions: dict[str, tuple[str, list[str]]] = {}  # name → (scope, outcomes)
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def pick(self, options: list[Any]) -> Any:
        return self.draw(st.sampled_from(options))

    def chance(self, p: float) -> bool:
        return self.draw(st.integers(0, 99)) < int(p * 100)

    def const(self) -> str:
        return self.pick(["0", "1", "1.5", "2.5", "3", "4.75", "10", "0.1"])

    # ------------------------------------------------------------------ expressions
    def visible(self, table: dict[str, Any], scope: str) -> list[str]:
        return [n for n, s in table.items() if (s if isinstance(s, str) else s[0]) in (scope, "global")]

    def num(self, scope: str, depth: int, aggregates: bool = True) -> str:
        leaves = [self.const, lambda: "t", lambda: "org.size", lambda: "levels.d1.v"]
        if scope == "item":
            leaves += [lambda: "x", lambda: "y", lambda: "size(tags)"]
        if scope == "level":
            leaves += [lambda: "v"]
        names = self.visible(self.num_defs, scope)
        if names:
            leaves.append(lambda: self.pick(names))
        composite = []
        if depth > 0:
            composite = [
                lambda: (
                    f"({self.num(scope, depth - 1, aggregates)} {self.pick(['+', '-', '*'])} {self.num(scope, depth - 1, aggregates)})"
                ),
                lambda: f"({self.num(scope, depth - 1, aggregates)} / {self.num(scope, depth - 1, aggregates)})",
                lambda: f"round({self.num(scope, depth - 1, aggregates)}, {self.pick(['0', '1', '2'])})",
                lambda: f"{self.pick(['abs', 'floor', 'ceil'])}({self.num(scope, depth - 1, aggregates)})",
                lambda: (
                    f"{self.pick(['min', 'max'])}({self.num(scope, depth - 1, aggregates)}, {self.num(scope, depth - 1, aggregates)})"
                ),
                lambda: (
                    f"(if {self.bool(scope, depth - 1, aggregates)} then {self.num(scope, depth - 1, aggregates)} else {self.num(scope, depth - 1, aggregates)})"
                ),
                lambda: f"(-{self.num(scope, depth - 1, aggregates)})",
                # not applicable: propagates through arithmetic, skipped by aggregates, last in rank
                lambda: f'(if {self.bool(scope, depth - 1, aggregates)} then {self.num(scope, depth - 1, aggregates)} else not applicable "r")',
            ]
            if scope == "global" and aggregates:
                composite += [self.aggregate_num] * 6
            if scope == "item" and aggregates:
                composite.append(self.rank)
        return self.pick(leaves + composite)()

    def aggregate_num(self) -> str:
        entity, scope = self.pick([("item", "item"), ("item", "item"), ("level", "level")])
        where = f" where {self.bool(scope, 1, False)}" if self.chance(0.5) else ""
        kind = self.pick(["count", "count", "sum", "mean", "min", "max", "weighted_mean"])
        if kind == "count":
            return f"count({entity}{where})"
        body = self.num(scope, 1, False)
        if kind == "weighted_mean":
            return f"weighted_mean({entity}, {body}, {self.num(scope, 0, False)}{where})"
        return f"{kind}({entity}, {body}{where})"

    def rank(self) -> str:
        keys = ", ".join(
            f"{self.num('item', 1, False)} {self.pick(['asc', 'desc', ''])}".rstrip() for _ in range(self.draw(st.integers(1, 2)))
        )
        where = f" where {self.bool('item', 1, False)}" if self.chance(0.5) else ""
        return f"rank(item by {keys}{where})"

    def bool(self, scope: str, depth: int, aggregates: bool = True) -> str:
        leaves = [
            lambda: "org.flag",
            lambda: "levels.d2.ok",
            lambda: "known(org.size)",
            lambda: f"org.level = {self.pick(KINDS)}",
            lambda: f"as_of >= {self.pick(DATES)}",
            lambda: self.pick(["true", "false"]),
        ]
        if scope == "item":
            leaves += [
                lambda: "p",
                lambda: "q",
                lambda: f"known({self.pick(['x', 'y', 'k', 'p', 'tags'])})",
                lambda: f"k = {self.pick(KINDS)}",
                lambda: (
                    f"k {self.pick(['in', 'not in'])} {{{', '.join(sorted(set(self.draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3)))))}}}"
                ),
                lambda: f"k {self.pick(['in', 'not in'])} tags",
            ]
        if scope == "level":
            leaves += [lambda: "ok", lambda: "known(v)"]
        names = self.visible(self.bool_defs, scope)
        if names:
            leaves.append(lambda: self.pick(names))
        decisions = [n for n, (s, _) in self.decisions.items() if s in (scope, "global")]
        if decisions:
            leaves.append(lambda: self.decision_ref(decisions))
        composite = []
        if depth > 0:
            composite = [
                lambda: f"not {self.bool(scope, depth - 1, aggregates)}",
                lambda: (
                    f"({self.bool(scope, depth - 1, aggregates)} {self.pick(['and', 'or'])} {self.bool(scope, depth - 1, aggregates)})"
                ),
                lambda: (
                    f"({self.bool(scope, depth - 1, aggregates)} and {self.bool(scope, depth - 1, aggregates)} or {self.bool(scope, depth - 1, aggregates)})"
                ),
                lambda: (
                    f"{self.num(scope, depth - 1, aggregates)} {self.pick(['=', '!=', '<', '<=', '>', '>='])} {self.num(scope, depth - 1, aggregates)}"
                ),
                lambda: f"{self.num(scope, depth - 1, aggregates)} {self.pick(['<', '>='])} {self.const()}",
                lambda: f"{self.num(scope, depth - 1, aggregates)} between {self.const()} and {self.const()}",
                lambda: f"{self.num(scope, depth - 1, aggregates)} is {self.pick(['', 'not '])}applicable",
                # an n/a truth value counts as false
                lambda: f'(if {self.bool(scope, depth - 1, aggregates)} then {self.bool(scope, depth - 1, aggregates)} else not applicable "r")',
                lambda: (
                    f"(if {self.bool(scope, depth - 1, aggregates)} then {self.bool(scope, depth - 1, aggregates)} else {self.bool(scope, depth - 1, aggregates)})"
                ),
            ]
            if scope == "global" and aggregates:
                composite += [self.aggregate_bool] * 3
        return self.pick(leaves + composite)()

    def aggregate_bool(self) -> str:
        entity, scope = self.pick([("item", "item"), ("item", "item"), ("level", "level")])
        where = f" where {self.bool(scope, 1, False)}" if self.chance(0.4) else ""
        return f"{self.pick(['any', 'all'])}({entity}, {self.bool(scope, 1, False)}{where})"

    def decision_ref(self, names: list[str]) -> str:
        name = self.pick(names)
        outcomes = self.decisions[name][1]
        return f"{name} {self.pick(['=', '!='])} {self.pick(outcomes)}"

    # ------------------------------------------------------------------ declarations
    def scope_clause(self, scope: str) -> str:
        return {"item": " for each item", "level": " for each level", "global": ""}[scope]

    def definition(self) -> None:
        scope = self.pick(["item", "item", "global", "global", "level"])
        name = self.name("n" if self.chance(0.7) else "b")
        label = f' label en "{name}"' if self.chance(0.8) else ""
        if name.startswith("n"):
            self.lines.append(f"define {name}{self.scope_clause(scope)}{label} = {self.num(scope, 2)}")
            self.num_defs[name] = scope
        else:
            self.lines.append(f"define {name}{self.scope_clause(scope)}{label} = {self.bool(scope, 2)}")
            self.bool_defs[name] = scope

    def dating(self) -> str:
        out = ""
        if self.chance(0.25):
            out += f" from {self.pick(['start', *DATES])}"
        if self.chance(0.15):
            out += f" until {self.pick(DATES[1:])}"
        return out

    def decision(self) -> None:
        scope = self.pick(["item", "item", "global", "global", "level"])
        name = self.name("dec")
        rules = []
        used: list[str] = []
        for index in range(self.draw(st.integers(1, 4))):
            outcome = self.pick(["o1", "o2", "o3"])
            used.append(outcome)
            prefix = f"rule r{index}: " if self.chance(0.3) else ""
            cites = ' cites law "Art. 1"' if self.chance(0.3) else ""
            text = f"  {prefix}{outcome} when {self.bool(scope, 2)}{cites}{self.dating()}"
            for _ in range(self.draw(st.integers(0, 2))):
                text += f" unless {self.bool(scope, 1)}"
                if self.chance(0.3):
                    text += ' cites law "Art. 2"'
            rules.append(text)
        fallback = self.pick(["o1", "o2", "o3", "o4"])
        used.append(fallback)
        self.lines.append(f"decision {name}{self.scope_clause(scope)} {{\n" + "\n".join(rules) + f"\n  otherwise {fallback}\n}}")
        self.decisions[name] = (scope, sorted(set(used)))

    def bands(self) -> None:
        scope = self.pick(["item", "level"])
        name = self.name("band")
        on = self.pick(["x", "y"]) if scope == "item" else "v"
        top = "10" if scope == "item" else "5"
        cut1, cut2 = sorted(
            self.draw(st.lists(st.sampled_from(["1", "1.5", "2.5", "3", "4"]), min_size=2, max_size=2, unique=True)), key=Decimal
        )
        self.lines.append(
            f"bands {name}{self.scope_clause(scope)} on {on} {{ low from 0 below {cut1}  mid from {cut1} below {cut2}  high from {cut2} to {top} }}"
        )
        self.decisions[name] = (scope, ["low", "mid", "high"])

    def obligation(self) -> None:
        scope = self.pick(["item", "global"])
        name = self.name("ob")
        self.lines.append(
            f'obligation {name}{self.scope_clause(scope)} when {self.bool(scope, 2)} cites law "Art. 3"{self.dating()}'
        )

    def policy(self) -> str:
        for _ in range(self.draw(st.integers(2, 9))):
            kind = self.pick(["definition", "definition", "decision", "decision", "bands", "obligation"])
            getattr(self, kind)()
        if not self.decisions:
            self.decision()
        return HEADER + "\n".join(self.lines) + "\n"


@st.composite
def policies(draw: Any) -> str:
    return PolicyWriter(draw).policy()


# ====================================================================== generated assessments

ABSENT = object()


def maybe(values: st.SearchStrategy) -> st.SearchStrategy:
    """A value (four times in five), or an unknown answer in one of its three spellings."""
    unknown = st.sampled_from([None, "unknown", ABSENT])
    return st.tuples(st.integers(0, 9), values, unknown).map(lambda t: t[1] if t[0] < 8 else t[2])


def record(**fields: st.SearchStrategy) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not ABSENT})


NUMBER = st.sampled_from(
    [Decimal(0), Decimal(1), Decimal("1.5"), Decimal("2.5"), Decimal(3), Decimal("4.75"), Decimal(10)]
) | st.decimals(0, 10, places=1)
ITEM = record(
    x=maybe(NUMBER),
    y=maybe(NUMBER),
    k=maybe(st.sampled_from(KINDS)),
    p=maybe(st.booleans()),
    q=maybe(st.booleans()),
    tags=maybe(st.lists(st.sampled_from(KINDS), max_size=3, unique=True)),
)
LEVEL = record(v=maybe(st.decimals(0, 5, places=1)), ok=maybe(st.booleans()))


@st.composite
def assessments(draw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if draw(st.integers(0, 9)) < 8:
        data["org"] = draw(
            record(size=maybe(st.integers(0, 100)), flag=maybe(st.booleans()), level=maybe(st.sampled_from(KINDS)))
        )
    items = draw(st.lists(ITEM, max_size=4))
    data["items"] = [{"id": f"i{n}", **item} for n, item in enumerate(items)]
    if draw(st.booleans()):
        data["levels"] = {member: draw(LEVEL) for member in ("d1", "d2") if draw(st.booleans())}
    return data


# ====================================================================== comparison


def outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except StratError as error:
        return "error", [(d.code, d.message) for d in error.diagnostics]


def assert_same(compiled_result: Result, reference: Result) -> None:
    """Field by field first, so that a failure names what differs."""
    assert compiled_result.decisions == reference.decisions
    assert compiled_result.values == reference.values
    assert compiled_result.obligations == reference.obligations
    assert compiled_result == reference


@DIFF
@given(policies(), assessments(), st.sampled_from(AS_OF), st.sampled_from([None, {"t": Decimal("2.5")}, {"t": Decimal(0)}]))
def test_compiled_and_reference_agree_on_generated_policies(text, data, as_of, params):
    policy, diagnostics = compile_text(text, "generated.strat")
    errors = [d for d in diagnostics if d.is_error]
    assert policy is not None, (
        "the generator wrote a policy that does not check:\n" + text + "\n" + "\n".join(f"{d.code} {d.message}" for d in errors)
    )
    facts = validate(policy, copy.deepcopy(data))
    assert isinstance(compiled(policy), CompiledPolicy), compiled(policy).source  # not the reference standing in
    fast = outcome(lambda: compiled(policy).evaluate(facts, as_of, params))
    slow = outcome(lambda: reference_evaluate(policy, facts, as_of, params))
    assert fast[0] == slow[0], f"compiled: {fast}\nreference: {slow}\npolicy:\n{text}"
    if fast[0] == "error":
        assert fast[1] == slow[1]
        return
    assert_same(fast[1], slow[1])
    # the outcome-only path (no result objects) gives the same outcomes
    assert compiled(policy).outcomes(facts, as_of, params) == tuple(d.outcome if d.status == "decided" else None for d in slow[1].decisions)


def test_the_known_path_decides_without_the_generic_walk(monkeypatch):
    """With every fact known, decisions come from the generated known-path walks: the generic
    walk (compiler._Run._walk) is not called, for results or for outcomes."""
    policy, _ = compile_policy(REPO / "benchmarks" / "three.strat")
    row = {"id": "u1", "impact": 4, "effort": Decimal("2.5"), "recruitment": True, "narrow_task": True, "profiling": False, "score": Decimal("1.5")}
    facts = validate(policy, {"usecases": [row]})
    reference = reference_evaluate(policy, facts, date(2026, 1, 1))

    def refuse(*args):
        raise AssertionError("the generic walk ran")

    monkeypatch.setattr(compiler._Run, "_walk", refuse)
    assert compiled(policy).evaluate(facts, date(2026, 1, 1)) == reference
    assert compiled(policy).outcomes(facts, date(2026, 1, 1)) == ("quick_win", "minimal", "emerging")
    assert [s.status for s in reference.decisions[1].rules] == ["excepted", "fired"]  # the exception applied, then otherwise


KNOWN_ANY_ALL = """policy "P" version "1"
input items: many item { x: number 0..10  y: number 0..10  p: bool }
define g label en "g" = any(item, x / y > 1 where p)
decision d { yes when g  otherwise no }
"""


def test_any_all_body_under_an_unknown_where():
    """Minimal example found while writing the generator: the reference evaluator computes the body of
    any/all for a member whose `where` is unknown (evaluator._aggregate), the compiled form skips it; a body
    that divides by zero then fails in one and gives `unknown` in the other."""
    policy, _ = compile_text(KNOWN_ANY_ALL, "p.strat")
    assert policy is not None
    facts = validate(policy, {"items": [{"id": "i1", "x": 1, "y": 0}]})  # p unknown, y = 0
    fast = outcome(lambda: compiled(policy).evaluate(facts, date(2026, 1, 1)))
    slow = outcome(lambda: reference_evaluate(policy, facts, date(2026, 1, 1)))
    assert fast == slow


def test_generator_writes_varied_policies():
    """Guard for the generator itself: over many draws it uses every kind of construct the test is about."""
    kinds = {
        "exception": ("unless",),
        "dated rule": ("from ", "until "),
        "bands": ("bands ",),
        "obligation": ("obligation ",),
        "numeric aggregate": ("count(", "sum(", "mean(", "min(item", "max(item", "min(level", "max(level"),
        "any/all": ("any(", "all("),
        "rank": ("rank(",),
        "division": (" / ",),
        "group member": ("levels.d1.v", "levels.d2.ok"),
        "known()": ("known(",),
        "decision reference": tuple(f"dec{n} {op} " for n in range(1, 15) for op in ("=", "!=")),
    }
    seen: set[str] = set()

    @settings(max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(policies())
    def collect(text):
        policy, _ = compile_text(text, "generated.strat")
        assert policy is not None
        seen.update(kind for kind, words in kinds.items() if any(word in text for word in words))

    collect()
    assert set(kinds) <= seen, set(kinds) - seen


# ====================================================================== the shipped methodology


STRATEGY = REPO / "policies" / "strategy.strat"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
METHOD_DATES = [
    date(2024, 8, 1),
    date(2025, 2, 2),
    date(2026, 8, 1),
    date(2026, 8, 2),
    date(2026, 11, 26),
    date(2027, 12, 2),
    date(2030, 1, 1),
]


@pytest.fixture(scope="module")
def methodology():
    policy, diagnostics = compile_policy(STRATEGY)
    assert policy is not None, [f"{d.code} {d.message}" for d in diagnostics if d.is_error]
    return policy


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_methodology_compiled_and_reference_agree_on_examples(methodology, example):
    data, spans = read_data(example, example.name)
    facts = validate(methodology, data, example.name, spans)
    for as_of in METHOD_DATES:
        fast = compiled(methodology).evaluate(facts, as_of)
        reference = reference_evaluate(methodology, facts, as_of)
        traced = reference_evaluate(methodology, facts, as_of, None, RecordingTracer())
        assert_same(fast, reference)
        assert compiled(methodology).outcomes(facts, as_of) == tuple(d.outcome if d.status == "decided" else None for d in reference.decisions)
        assert traced == reference
        # the engine's default path is the compiled one, with the answers it assumed marked
        assert run(methodology, facts, as_of)[0] == mark_assumptions(methodology, facts, as_of, None, copy.deepcopy(reference))


def test_methodology_agrees_with_parameters_overridden(methodology):
    example = EXAMPLES[0]
    data, spans = read_data(example, example.name)
    facts = validate(methodology, data, example.name, spans)
    numeric = [name for name, p in methodology.params.items() if isinstance(p.default, Decimal)]
    assert numeric
    for factor in (Decimal(0), Decimal("0.5"), Decimal(2)):
        params = {name: methodology.params[name].default * factor for name in numeric}
        fast = outcome(lambda params=params: compiled(methodology).evaluate(facts, date(2026, 11, 26), params))
        slow = outcome(lambda params=params: reference_evaluate(methodology, facts, date(2026, 11, 26), params))
        assert fast[0] == slow[0]
        if fast[0] == "ok":
            assert_same(fast[1], slow[1])
        else:
            assert fast[1] == slow[1]


# ====================================================================== the shape of the generated code (B8, B9, B10, B12)


SMALL = 'policy "p" version "1"\ninput o { b: bool  c: bool  x: number  y: number }\n'
MEMBERS = "input us: many u { x: number }\n"


def _defined(source: str) -> list[str]:
    return [n.name for n in pyast.walk(pyast.parse(source)) if isinstance(n, pyast.FunctionDef)]


def _nesting(source: str) -> int:
    deepest = depth = 0
    for ch in source:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def _agree(policy: Any, data: dict) -> None:
    facts = validate(policy, copy.deepcopy(data))
    fast = outcome(lambda: compiled(policy).evaluate(facts, date(2026, 9, 1)))
    slow = outcome(lambda: reference_evaluate(policy, facts, date(2026, 9, 1)))
    assert fast == slow


def _checked(text: str) -> Any:
    policy, diagnostics = compile_text(text, "p.strat")
    assert policy is not None, [(d.code, d.message) for d in diagnostics if d.is_error]
    return policy


@pytest.mark.parametrize(
    "text",
    [
        # rule `risk` of decision `o` and obligation `risk` were both c_o_risk
        "decision o for each u { risk when x > 3  otherwise low }\nobligation risk for each u when x < 1\n",
        # decision d_x rule y and decision d rule x_y were both c_d_x_y
        "decision d_x for each u { y when x > 3  otherwise low }\ndecision d for each u { x_y when x < 1  otherwise hi }\n",
        # rule y__from replaced the start date of rule y
        "decision d for each u {\n  y when x > 3 from 2020-01-01\n  rule y__from: z when x < 1\n  otherwise hi\n}\n",
        "decision d for each u {\n  y when x > 3 until 2030-01-01 unless x > 8\n  rule y__until: z when x < 1 unless x < 0\n  otherwise hi\n}\n",
    ],
    ids=["obligation-and-rule", "underscores", "rule-named-from", "rule-named-until"],
)
def test_ids_that_mangle_alike_keep_their_own_functions(text):
    """B10: generated functions are numbered; the rule → function map is kept in Python."""
    policy = _checked('policy "p" version "1"\n' + MEMBERS + text)
    names = _defined(compiled(policy).source)
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"c_\d+", n) for n in names if n.startswith("c_"))
    _agree(policy, {"us": [{"id": "a", "x": 5}, {"id": "b", "x": 0}, {"id": "c", "x": 9}, {"id": "d"}]})


def test_a_name_defined_twice_is_refused():
    from stratdsl.backends.compiler import _Gen

    gen = _Gen(_checked(SMALL))
    gen.define("c_0", ["def c_0(X, e):", "    return True"])
    with pytest.raises(AssertionError):
        gen.define("c_0", ["def c_0(X, e):", "    return False"])


@pytest.mark.parametrize(
    "shape",
    [
        lambda n: "if o.b then 1 else " * n + "0",
        lambda n: "if o.b then " * n + "1" + " else 0" * n,
        lambda n: "if o.b then o.x / o.y else " * n + "0",
        lambda n: "if o.b and o.x > 1 then round(o.x * 2 + o.y, 1) else if o.c then max(o.x, o.y, 3) else " * n + "0",
    ],
    ids=["else-if", "then-if", "division", "wider"],
)
def test_if_chains_compile_to_code_linear_in_their_length(shape):
    """B9: each branch is written once (a function) unless it is short."""
    sizes = {}
    for n in (10, 20, 40):
        text = SMALL + f'define z label en "z" = {shape(n)}\n'
        sizes[n] = len(compiled(_checked(text)).source)
        assert sizes[n] < 40 * len(text) + 5_000
    assert sizes[40] - sizes[20] < 3 * (sizes[20] - sizes[10]) + 2_000


def test_if_chains_agree_with_the_reference_on_every_kind_of_condition():
    text = SMALL + 'define z label en "z" = ' + "if o.b then o.x / o.y else if o.c then o.y / o.x else " * 6 + "o.x\n"
    policy = _checked(text)
    for b, c, x, y in itertools.product([True, False, None], [True, False, None], [0, 2, None], [0, 3]):
        _agree(policy, {"o": {k: v for k, v in {"b": b, "c": c, "x": x, "y": y}.items() if v is not None}})


DEEP = {
    "sum-99": " + ".join(["o.x"] * 99),
    "product-and-sum": " + ".join(["o.x * o.y"] * 60),
    "not-100": "not " * 100 + "o.b",
    "neg-100": "-(" * 100 + "o.x" + ")" * 100,
    "abs-100": "abs(" * 100 + "o.x" + ")" * 100,
    "or-300": " or ".join(["o.b", "o.c", "o.x > 1"] * 100),
    "and-of-nots": " and ".join([("not " * 30) + "o.b"] * 20),
    "nested-logic": "(" * 40 + " and ".join(["o.b"] * 10) + (" or o.c)" * 40),
    "round-min-if": "round(" * 30 + "min(if o.b then o.x else o.y, " * 30 + "o.x" + ", 1)" * 30 + ", 2)" * 30,
}


@pytest.mark.parametrize("body", list(DEEP.values()), ids=list(DEEP))
def test_deep_and_long_expressions_compile_within_cpython_limits(body):
    """B8: deep sub-expressions and long and/or chains move into functions of their own
    (CPython refuses more than 200 nested brackets); the result is the reference's."""
    policy = _checked(SMALL + f'define z label en "z" = {body}\n')
    code = compiled(policy)
    assert isinstance(code, CompiledPolicy)
    assert _nesting(code.source) < 100
    for b, x in itertools.product([True, False, None], [Decimal(2), None]):
        _agree(policy, {"o": {k: v for k, v in {"b": b, "c": False, "x": x, "y": 3}.items() if v is not None}})


def test_ordinary_expressions_are_not_hoisted():
    """The common case keeps one expression per definition: no extra calls."""
    policy = _checked(SMALL + 'define z label en "z" = if o.b and o.c then o.x * 2 + o.y else round(o.y / 3, 2)\n')
    assert _defined(compiled(policy).source) == ["d_z"]


def test_code_cpython_refuses_is_evaluated_by_the_reference_evaluator(monkeypatch):
    """B8 safety net: SyntaxError/RecursionError/MemoryError from compile → the reference evaluator."""
    monkeypatch.setattr(compiler, "MAX_NESTING", 10**9)  # no hoisting: 3 brackets per `+`
    monkeypatch.setattr(compiler, "_CACHE", {})
    policy = _checked(SMALL + 'define z label en "z" = ' + " + ".join(["o.x"] * 99) + "\n")
    code = compiled(policy)
    assert isinstance(code, Interpreted)
    assert code.source.startswith("# not compiled (SyntaxError")
    facts = validate(policy, {"o": {"x": 2}})
    assert run(policy, facts, date(2026, 9, 1))[0] == reference_evaluate(policy, facts, date(2026, 9, 1))
    assert compiled(policy) is code  # cached like a compiled policy


@pytest.mark.parametrize(
    "define, data",
    [
        ("round(o.x, 20)", {"o": {"x": 10**10}}),
        ("if o.b then round(o.x, 20) else 1", {"o": {"x": 10**10}}),
        ("if o.b then o.x * o.x else 1", {"o": {"x": Decimal("9e999999")}}),
        ("round(o.x, 20) + o.y", {"o": {"x": Decimal("1.5"), "y": 1}}),
        ("o.x", {"o": {"x": Decimal("1e30")}}),
    ],
    ids=["round-too-precise", "under-unknown-condition", "overflow-under-unknown", "round-20-fits", "echo-1e30"],
)
def test_decimal_limits_are_coded_errors_in_both_evaluators(define, data, monkeypatch):
    """B12: quantize's InvalidOperation is E202 (same message in both); a failing branch
    under an unknown condition only makes the value unknown. Given numbers are bounded
    (types.MAX_MAGNITUDE, issue 16); a program embedding stratdsl may raise the bound, and
    the evaluators must stay safe then: the test raises it."""
    monkeypatch.setattr(types_mod, "MAX_MAGNITUDE", 10**7)
    policy = _checked(SMALL + f'define z label en "z" = {define}\n')
    _agree(policy, data)


def test_overflow_in_an_aggregate_is_e202_in_both_evaluators(monkeypatch):
    monkeypatch.setattr(types_mod, "MAX_MAGNITUDE", 10**7)  # as above: an embedder's raised bound
    policy = _checked('policy "p" version "1"\n' + MEMBERS + 'define total label en "t" = sum(u, x)\ndefine m label en "m" = mean(u, x)\n')
    data = {"us": [{"id": "a", "x": Decimal("9e999999")}, {"id": "b", "x": Decimal("9e999999")}]}
    _agree(policy, data)
    facts = validate(policy, data)
    with pytest.raises(StratError) as error:
        reference_evaluate(policy, facts, date(2026, 9, 1), tracer=RecordingTracer())
    assert [d.code for d in error.value.diagnostics] == ["E202"]


def test_run_uses_the_reference_evaluator_until_compiling_repays(monkeypatch):
    """`engine.run` without a trace: the first COMPILED_AFTER evaluations of a policy in the
    process go to the reference evaluator (a one-shot `eval` does not pay ~85 ms to compile),
    the next builds the compiled form; the results and their JSON are the same either way."""
    from stratdsl.render.json_out import dumps, result_json
    from stratdsl.runtime.assessment import load_assessment

    monkeypatch.setattr(compiler, "COMPILED_AFTER", 2)
    policy, _ = compile_policy(STRATEGY)
    policy.caches.clear()
    assessment = load_assessment(policy, EXAMPLES[0])
    answers = []
    for n in range(4):
        result, _ = run(policy, assessment, date(2026, 9, 1))
        answers.append(dumps(result_json(policy, result, "en")))
        assert ("compiled" in policy.caches) == (n >= 2)
    assert len(set(answers)) == 1
