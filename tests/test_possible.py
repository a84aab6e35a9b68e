"""Possible values of unknowns (values.py: combine and the helpers built on it).

An unknown number, text or date may know the few values it can still take: the
branches of an `if` whose condition is unknown, the outcomes of an undetermined
decision, and whatever is computed from them. Operations try every combination
(up to values.MAX_COMBINATIONS); a comparison on which every combination agrees
is settled, and so is a band that every possible value falls in.

The property tests enumerate every completion of the missing true/false facts of
generated policies: a settled decision or value must be the one of every
completion, and the possible values or outcomes must contain each completion's.
Runs are derandomised and keep no example database.
"""

from __future__ import annotations

import copy
import itertools
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import assess, checked, evaluate
from stratdsl.backends.compiler import compiled
from stratdsl.engine import compile_text, explain
from stratdsl.language import ir
from stratdsl.language.diagnostics import StratError
from stratdsl.render.json_out import explanation_json, result_json
from stratdsl.render.text import render_explanation, render_result
from stratdsl.runtime.assessment import validate
from stratdsl.runtime.evaluator import evaluate as reference_evaluate
from stratdsl.runtime.result import DECIDED, UNDETERMINED, Result
from stratdsl.runtime.trace import RecordingTracer
from stratdsl.runtime.values import (
    MAX_COMBINATIONS,
    Unknown,
    aggregate_unknown,
    arith_unknown,
    branches_unknown,
    compare_unknown,
    describe_possible,
    function_unknown,
    negate_unknown,
    possible_json,
    range_unknown,
)

D = Decimal
AS_OF = date(2026, 9, 1)


def u(*values: Any, missing: tuple[str, ...] = ("f",)) -> Unknown:
    """An unknown that may be any of `values` (numbers unless texts are given)."""
    possible = frozenset(v if isinstance(v, str) and not v[0].isdigit() else D(v) for v in values) if values else None
    return Unknown(frozenset(missing), possible)


def any_value(*missing: str) -> Unknown:
    return Unknown(frozenset(missing or ("f",)))


# ====================================================================== the set arithmetic


def test_arithmetic_is_applied_to_every_combination():
    assert arith_unknown("+", u(3, 4), D(1)) == u(4, 5)
    assert arith_unknown("-", D(5), u(1, 2)) == u(4, 3)
    assert arith_unknown("/", u(1, 2), D(4)) == u("0.25", "0.5")
    assert negate_unknown(u(1, 2)) == u(-1, -2)
    # the missing facts of both sides; the same result from two combinations counts once
    both = arith_unknown("*", u(1, 2, missing=("a",)), u(2, 4, missing=("b",)))
    assert both == Unknown(frozenset({"a", "b"}), frozenset(map(D, (2, 4, 8))))


def test_one_possible_result_settles_the_value():
    assert arith_unknown("*", u(1, 2), D(0)) == D(0)
    assert function_unknown("max", (u(1, 2), D(5))) == D(5)
    assert function_unknown("round", (u("0.81", "0.84"), D(1))) == D("0.8")
    assert branches_unknown(any_value("c"), D(1), D(1)) == D(1)  # as before: equal branches


def test_functions():
    assert function_unknown("round", (u("2.5", "3.45"), D(1))) == u("2.5", "3.5")
    assert function_unknown("abs", (u(-2, 1),)) == u(2, 1)
    assert function_unknown("floor", (u("1.5", "2.5"),)) == u(1, 2)
    assert function_unknown("ceil", (u("1.5", "2.5"),)) == u(2, 3)
    assert function_unknown("min", (u(1, 4), u(2, 3))) == u(1, 2, 3)
    tags = Unknown(frozenset({"f"}), frozenset({frozenset({"a"}), frozenset({"a", "b"})}))
    assert function_unknown("size", (tags,)) == u(1, 2)


def test_an_if_with_an_unknown_condition_may_be_either_branch():
    c = any_value("c")
    assert branches_unknown(c, D(1), D(0)) == Unknown(frozenset({"c"}), frozenset({D(0), D(1)}))
    assert branches_unknown(c, u(1, 2, missing=("x",)), D(3)) == Unknown(frozenset({"c", "x"}), frozenset(map(D, (1, 2, 3))))
    # a branch that may be anything: anything
    assert branches_unknown(c, any_value("x"), D(3)) == any_value("c", "x")
    # texts too
    assert branches_unknown(c, "high", "low") == Unknown(frozenset({"c"}), frozenset({"high", "low"}))


def test_truth_values_keep_no_possible_set():
    """An unknown truth value may be either: {true, false} says nothing more."""
    assert branches_unknown(any_value("c"), True, False) == any_value("c")
    assert compare_unknown("<", u(1, 3), D(2)) == any_value()


def test_the_cap_on_combinations():
    cap = MAX_COMBINATIONS
    wide = Unknown(frozenset({"f"}), frozenset(D(i) for i in range(cap)))
    assert arith_unknown("+", wide, D(1)).possible == frozenset(D(i + 1) for i in range(cap))
    past = arith_unknown("+", wide, u(0, 1, missing=("g",)))  # 2 × cap combinations
    assert past == any_value("f", "g")  # still unknown, with its missing facts, no possible set
    eight, nine = u(*range(8)), u(*range(9))
    assert arith_unknown("+", eight, eight).possible is not None  # 64 combinations
    assert arith_unknown("+", eight, nine).possible is None  # 72
    # an `if` keeps at most the cap of possible values
    assert branches_unknown(any_value("c"), wide, arith_unknown("+", wide, D(cap))).possible is None
    # a comparison past the cap is unknown even if all combinations would agree
    assert compare_unknown("<", arith_unknown("+", eight, nine), D(100)) == any_value()


def test_a_combination_that_fails_leaves_the_value_unknown_without_error():
    assert arith_unknown("/", D(1), u(0, 2)) == any_value()  # division by zero in one
    assert arith_unknown("*", u("9e999999", 1), D(10)) == any_value()  # overflow in one
    assert function_unknown("round", (u("1e30", 1), D(20))) == any_value()  # more than 28 digits


def test_comparisons_are_settled_when_every_combination_agrees():
    assert compare_unknown("<", u(3, 4), D(2)) is False
    assert compare_unknown(">=", u(3, 4), D(3)) is True
    assert compare_unknown("=", u(3, 4), D(5)) is False
    assert compare_unknown("!=", u(3, 4), D(5)) is True
    assert compare_unknown("<", u(1, 2), u(3, 4)) is True  # both sides unknown
    assert compare_unknown("<=", u(1, 3), D(2)) == any_value()  # they disagree
    assert compare_unknown("<", any_value(), D(2)) == any_value()  # anything
    risk = Unknown(frozenset({"r"}), frozenset({"high", "limited"}))
    assert compare_unknown("=", risk, "minimal") is False
    assert compare_unknown("!=", "minimal", risk) is True
    assert compare_unknown("in", risk, frozenset({"high", "limited"})) is True
    assert compare_unknown("not in", risk, frozenset({"high"})) == Unknown(frozenset({"r"}))
    tags = Unknown(frozenset({"t"}), frozenset({frozenset({"a"}), frozenset({"a", "b"})}))
    assert compare_unknown("in", "a", tags) is True


def test_a_value_against_its_bounds_is_tested_jointly():
    """`x between a and b` and a band's `x >= a and x < b` read one value: 1.4 or 2.6 is in
    neither 1.5 below 2.5, although each bound alone is undecided."""
    x = u("1.4", "2.6")
    fallback = any_value()
    assert compare_unknown(">=", x, D("1.5")) == fallback and compare_unknown("<", x, D("2.5")) == fallback
    assert range_unknown((">=", "<"), x, (D("1.5"), D("2.5")), fallback) is False
    assert range_unknown((">=", "<="), x, (D(1), D(3)), fallback) is True
    assert range_unknown((">=", "<"), x, (D(2), D(3)), fallback) is fallback
    assert range_unknown((">=", "<"), x, (D(0), D(1)), False) is False  # the `and` was settled already


def test_aggregates():
    zero = Unknown(frozenset({"items (weights sum to zero)"}))
    a, b = any_value("a"), any_value("b")
    # count: each member whose `where` is unknown may count or not
    assert aggregate_unknown("count", [a, b], [True], [], zero) == Unknown(frozenset({"a", "b"}), frozenset(map(D, (1, 2, 3))))
    # sum and mean fold member by member, as the known case does
    assert aggregate_unknown("sum", [], [D(1), u(0, 1), u(0, 1)], [], zero) == u(1, 2, 3)
    assert aggregate_unknown("mean", [], [D(1), u(0, 1)], [], zero) == u("0.5", 1)
    assert aggregate_unknown("min", [], [D(2), u(1, 3)], [], zero) == u(1, 2)
    assert aggregate_unknown("max", [], [D(2), u(1, 3)], [], zero) == u(2, 3)
    # a weighted mean combines Σ(x × w) and Σw independently: a superset of the true values
    wm = aggregate_unknown("weighted_mean", [], [D(1), D(3)], [D(1), u(0, 1)], zero)
    assert {D(1), D(2)} <= wm.possible
    assert aggregate_unknown("weighted_mean", [], [D(1), D(3)], [D(0), u(0, 1)], zero) == any_value()  # Σw may be 0
    assert aggregate_unknown("weighted_mean", [], [D(1), D(3)], [D(0), D(0)], zero) is zero  # it is 0
    # a member whose `where` is unknown: its value was never computed, so only count is narrowed
    assert aggregate_unknown("sum", [a], [D(1)], [], zero) == any_value("a")
    # a sum of many members stays precise: partial sums, not combinations, are counted
    assert aggregate_unknown("sum", [], [u(0, 1)] * 30, [], zero) == u(*range(31))


def test_describe_possible():
    assert describe_possible(u("0.80", "1.0")) == "0.8 or 1"
    assert describe_possible(u(3, 1, 2)) == "1, 2 or 3"
    assert describe_possible(u(*range(12))) == "12 values from 0 to 11"
    assert describe_possible(Unknown(frozenset(), frozenset({"limited", "high"})), "ou") == "high ou limited"
    assert describe_possible(any_value()) is None and describe_possible(D(1)) is None
    assert possible_json(u("0.80", "1")) == ["0.8", "1"]
    assert possible_json(any_value()) is None


# ====================================================================== in policies

MATURITY = """
    policy "Maturity" version "1"
    enum dim { a b c }
    input m: group d over dim { s1: bool  s2: bool  s3: bool }
    define score for each d = (if s1 then 1 else 0) + (if s2 then 1 else 0) + (if s3 then 1 else 0)
    define global label en "Global score" = round(mean(d, score), 2)
    define lowest label en "Lowest score" = min(d, score)
    bands level label en "Level" on global {
      low from 0 below 1.5
      mid from 1.5 below 2.5
      high from 2.5 to 3
    }
    decision plan label en "Plan" {
      cautious when level = low
      bold when level != low
    }
    decision weakest for each d { yes when score = lowest  otherwise no }
"""


@pytest.fixture(scope="module")
def maturity():
    return checked(MATURITY)


def decision(result: Result, name: str, entity: str | None = None):
    return next(d for d in result.decisions if d.decision == name and d.entity == entity)


def value(result: Result, name: str) -> Any:
    return next(v.value for v in result.values if v.definition == name)


def test_a_band_every_possible_value_falls_in_is_decided(maturity):
    # scores 1, 1 and 1 or 2: the global score is 1 or 1.33, low either way
    result = evaluate(maturity, "m:\n  a: {s1: true, s2: false, s3: false}\n  b: {s1: true, s2: false, s3: false}\n  c: {s1: true, s2: false}\n")
    assert value(result, "global") == Unknown(frozenset({"m.c.s3"}), frozenset({D(1), D("1.33")}))
    level = decision(result, "level")
    assert (level.status, level.outcome, level.missing) == (DECIDED, "low", ())
    assert decision(result, "plan").outcome == "cautious"  # reads a settled band: known


def test_a_band_lists_only_the_bands_possible_values_fall_in(maturity):
    # scores 1, 0 to 2 and 3: the global score is 1.33, 1.67 or 2: low or mid, never high
    result = evaluate(maturity, "m:\n  a: {s1: true, s2: false, s3: false}\n  b: {s1: false}\n  c: {s1: true, s2: true, s3: true}\n")
    level = decision(result, "level")
    assert level.status == UNDETERMINED and level.possible == ("low", "mid")
    assert level.missing == ("m.b.s2", "m.b.s3")
    result = evaluate(maturity, "m:\n  a: {s1: false, s2: false, s3: false}\n  b: {s1: false, s2: false}\n  c: {s1: true, s2: true, s3: true}\n")
    # scores 0, 0 or 1 and 3: 1 or 1.33, low either way
    assert decision(result, "level").outcome == "low"


def test_bands_hit_skip_the_band_in_between():
    policy = checked(
        """
        policy "Gap" version "1"
        input o { b: bool }
        define v label en "v" = if o.b then 1 else 3
        bands lvl on v { low from 0 below 1.5  mid from 1.5 below 2.5  high from 2.5 to 5 }
        define in_mid label en "in mid" = v between 1.5 and 2.5
        """
    )
    result = evaluate(policy, "o: {}\n")
    d = decision(result, "lvl")
    assert d.status == UNDETERMINED and d.possible == ("low", "high")
    assert value(result, "in_mid") is False
    # the explanation shows why `mid` is out although each bound alone is undecided
    ((x, why),) = explain(policy, assess(policy, "o: {}\n"), "lvl", AS_OF, why_not_outcome="mid")
    text = render_explanation(policy, x, "en", why)
    assert "✗ lvl.mid → mid: did not apply" in text
    assert (
        "why not mid:\n"
        "  rule lvl.mid (t.strat:4): its condition is false\n"
        "    and → false\n"
        "      v (unknown: 1 or 3) >= 1.5 → unknown\n"
        "      v (unknown: 1 or 3) < 2.5 → unknown\n"
    ) in text
    # the solver agrees that no answer gives `mid`, and says which answer settles the band
    assert text.endswith(
        "  closest change: none found (no change of the facts that are not held gives this outcome)\n"
        "  single answers that settle it:\n"
        "    o.b = true → low\n"
        "    o.b = false → high\n"
    )


def test_min_over_members_settles_a_comparison(maturity):
    # scores 3, 0 and 1 or 2: the lowest is 0 whatever c's missing answer
    result = evaluate(maturity, "m:\n  a: {s1: true, s2: true, s3: true}\n  b: {s1: false, s2: false, s3: false}\n  c: {s1: true, s2: false}\n")
    assert value(result, "lowest") == D(0)
    assert decision(result, "weakest", "b").outcome == "yes"
    assert decision(result, "weakest", "c").outcome == "no"  # 1 or 2 is never 0


def test_explanations_show_the_possible_values(maturity):
    facts = assess(maturity, "m:\n  a: {s1: true, s2: false, s3: false}\n  b: {s1: true, s2: false, s3: false}\n  c: {s1: true, s2: false}\n")
    ((x, _),) = explain(maturity, facts, "level", AS_OF)
    text = render_explanation(maturity, x, "en")
    assert "global (unknown: 1 or 1.33) >= 0 → true" in text
    assert "global (unknown: 1 or 1.33) < 1.5 → true" in text
    assert "  global = unknown (1 or 1.33)  (t.strat:5)" in text
    data = explanation_json(maturity, x, "en")
    on_global = data["rules"][0]["condition"]["children"][0]["children"][0]
    assert (on_global["value"], on_global["possible"]) == (None, ["1", "1.33"])
    assert data["definitions"][0]["possible"] == ["1", "1.33"]
    # a value that may be anything has no `possible` key: JSON of other values is unchanged
    assert "possible" not in data["rules"][0]["condition"]["children"][0]


def test_results_show_the_possible_values(maturity):
    result = evaluate(maturity, "m:\n  a: {s1: true, s2: false, s3: false}\n  b: {s1: true, s2: false, s3: false}\n  c: {s1: true, s2: false}\n")
    assert "global = unknown (1 or 1.33)  (missing: m.c.s3)" in render_result(maturity, result, "en")
    values = {v["definition"]: v for v in json.loads(json.dumps(result_json(maturity, result, "en")))["values"]}
    assert values["global"]["value"] is None and values["global"]["known"] is False
    assert values["global"]["possible"] == ["1", "1.33"]
    assert "possible" not in values["lowest"]


# ====================================================================== every completion agrees

FACTS = ("b1", "b2", "b3", "b4")
HEADER = """policy "Completions" version "1"
input o { b1: bool  b2: bool  b3: bool  b4: bool  n: number 0..10 }
input items: many item { p: bool  x: number 0..10 }
"""


class Writer:
    """Small policies over true/false facts, where unknown ones give `if` values with
    possible sets, and what is computed from them: arithmetic, functions, aggregates,
    comparisons, `between`, bands and decisions."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.lines: list[str] = []
        self.nums: list[str] = []
        self.decisions: dict[str, list[str]] = {}

    def pick(self, options: list[Any]) -> Any:
        return self.draw(st.sampled_from(options))

    def const(self) -> str:
        return self.pick(["0", "1", "2", "2.5", "3", "0.5"])

    def num(self, depth: int, item: bool = False) -> str:
        leaves = [self.const, lambda: "o.n"] + ([lambda: self.pick(self.nums)] if self.nums and not item else [])
        if item:
            leaves.append(lambda: "x")
        if depth == 0:
            return self.pick(leaves)()
        sub = lambda: self.num(depth - 1, item)  # noqa: E731
        composite = [
            lambda: f"(if {self.bool(0, item)} then {sub()} else {sub()})",
            lambda: f"(if {self.bool(0, item)} then {sub()} else {sub()})",
            lambda: f"(if {self.bool(depth - 1, item)} then {sub()} else {sub()})",
            lambda: f"({sub()} {self.pick(['+', '-', '*'])} {sub()})",
            lambda: f"({sub()} / {self.pick(['2', '3', '0.5'])})",
            lambda: f"({sub()} / (if {self.bool(0, item)} then 0 else 2))",  # may divide by zero
            lambda: f"round({sub()} / 3, {self.pick(['0', '1', '2'])})",
            lambda: f"{self.pick(['min', 'max'])}({sub()}, {sub()})",
            lambda: f"{self.pick(['abs', 'floor', 'ceil'])}({sub()})",
            lambda: f"(-{sub()})",
        ]
        if not item:
            composite += [self.aggregate] * 2
        return self.pick(composite if self.draw(st.integers(0, 3)) else leaves)()

    def aggregate(self) -> str:
        where = f" where {self.bool(0, True)}" if self.draw(st.booleans()) else ""
        kind = self.pick(["count", "sum", "mean", "min", "max", "weighted_mean"])
        if kind == "count":
            return f"count(item{where})"
        body = self.num(1, True)
        if kind == "weighted_mean":
            return f"weighted_mean(item, {body}, {self.num(0, True)}{where})"
        return f"{kind}(item, {body}{where})"

    def bool(self, depth: int, item: bool = False) -> str:
        leaves = [lambda: f"o.{self.pick(list(FACTS))}"] + ([lambda: "p"] if item else [])
        if self.decisions and not item:
            leaves.append(self.decision_ref)
        if depth == 0:
            return self.pick(leaves)()
        composite = [
            lambda: f"{self.num(depth - 1, item)} {self.pick(['=', '!=', '<', '<=', '>', '>='])} {self.num(depth - 1, item)}",
            lambda: f"{self.num(depth - 1, item)} between {self.const()} and {self.pick(['2', '3', '5'])}",
            lambda: f"not {self.bool(depth - 1, item)}",
            lambda: f"({self.bool(depth - 1, item)} {self.pick(['and', 'or'])} {self.bool(depth - 1, item)})",
        ]
        return self.pick(composite if self.draw(st.integers(0, 2)) else leaves)()

    def decision_ref(self) -> str:
        name = self.pick(sorted(self.decisions))
        outcomes = self.decisions[name]
        if self.draw(st.booleans()):
            return f"{name} {self.pick(['=', '!='])} {self.pick(outcomes)}"
        return f"{name} in {{{', '.join(sorted(set(self.draw(st.lists(st.sampled_from(outcomes), min_size=1, max_size=2)))))}}}"

    def policy(self) -> str:
        for n in range(self.draw(st.integers(2, 6))):
            kind = self.pick(["num", "num", "decision", "bands"])
            if kind == "num" or not self.nums:
                name = f"v{n}"
                self.lines.append(f'define {name} label en "{name}" = {self.num(2)}')
                self.nums.append(name)
            elif kind == "decision":
                name = f"d{n}"
                outcomes = [self.pick(["r1", "r2", "r3"]) for _ in range(self.draw(st.integers(1, 3)))]
                rules = [f"  {outcome} when {self.bool(2)}" for outcome in outcomes]
                self.lines.append(f"decision {name} {{\n" + "\n".join(rules) + "\n  otherwise r4\n}")
                self.decisions[name] = sorted({*outcomes, "r4"})
            else:
                # bands that cover every number: a value in no band would be "no outcome"
                name = f"d{n}"
                cut1, cut2 = sorted(self.draw(st.lists(st.sampled_from(["0.5", "1", "1.5", "2", "3"]), min_size=2, max_size=2, unique=True)), key=D)
                on = f"min(max({self.pick(self.nums)}, -1000), 1000)"
                self.lines.append(f"bands {name} on {on} {{ lo from -1000 below {cut1}  mid from {cut1} below {cut2}  hi from {cut2} }}")
                self.decisions[name] = ["lo", "mid", "hi"]
        return HEADER + "\n".join(self.lines) + "\n"


@st.composite
def policies(draw: Any) -> str:
    return Writer(draw).policy()


TRUTH = st.sampled_from([None, True, False])  # None: unknown


@st.composite
def partial_facts(draw: Any) -> dict[str, Any]:
    org = {"n": draw(st.sampled_from([D(0), D(1), D("2.5"), D(4)]))}
    org.update({f: v for f in FACTS if (v := draw(TRUTH)) is not None})
    items = []
    for n in range(draw(st.integers(0, 2))):
        item = {"id": f"i{n}", "x": draw(st.sampled_from([D(0), D(1), D(3)]))}
        if (p := draw(TRUTH)) is not None:
            item["p"] = p
        items.append(item)
    return {"o": org, "items": items}


def unknown_facts(data: dict[str, Any]) -> list[tuple[dict, str]]:
    """(the dict that lacks it, the field) of every missing true/false fact."""
    out = [(data["o"], f) for f in FACTS if f not in data["o"]]
    return out + [(item, "p") for item in data["items"] if "p" not in item]


def run_both(policy: Any, data: dict[str, Any]) -> Result | None:
    """The compiled and the reference results, which must be the same; None on an error."""
    facts = validate(policy, copy.deepcopy(data))
    try:
        fast = compiled(policy).evaluate(facts, AS_OF)
    except StratError as error:
        with pytest.raises(StratError) as slow:
            reference_evaluate(policy, facts, AS_OF)
        assert [d.code for d in slow.value.diagnostics] == [d.code for d in error.diagnostics]
        return None
    assert fast == reference_evaluate(policy, facts, AS_OF)
    return fast


def completions(data: dict[str, Any]):
    """Every way of answering the missing true/false facts."""
    for answers in itertools.product([True, False], repeat=len(unknown_facts(data))):
        full = copy.deepcopy(data)
        for (record, field), answer in zip(unknown_facts(full), answers, strict=True):
            record[field] = answer
        yield full


COMPLETIONS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def check_policy(text: str) -> Any:
    policy, diagnostics = compile_text(text, "generated.strat")
    assert policy is not None, text + "\n" + "\n".join(f"{d.code} {d.message}" for d in diagnostics if d.is_error)
    return policy


@COMPLETIONS
@given(policies(), partial_facts())
def test_what_is_settled_holds_for_every_completion(text, data):
    policy = check_policy(text)
    partial = run_both(policy, data)
    if partial is None:
        return
    for full_data in completions(data):
        full = run_both(policy, full_data)
        if full is None:  # e.g. a division by zero the missing fact was guarding
            continue
        decided = {(d.decision, d.entity): d for d in full.decisions}
        for d in partial.decisions:
            # every decision has `otherwise` or bands that cover every number: no "no outcome";
            # with every fact known, only an aggregate over no item can leave one undetermined
            f = decided[(d.decision, d.entity)]
            assert f.status in (DECIDED, UNDETERMINED), (d, f, text)
            if d.status == DECIDED:
                assert (f.status, f.outcome) == (DECIDED, d.outcome), (d.key, d.outcome, f, full_data, text)
            else:
                assert set(f.possible) <= set(d.possible), (d.key, d.possible, f.possible, full_data, text)
        completed = {(v.definition, v.entity): v.value for v in full.values}
        for v in partial.values:
            w = completed[(v.definition, v.entity)]
            if not isinstance(v.value, Unknown):
                assert w == v.value, (v.definition, v.value, w, full_data, text)
            elif v.value.possible is not None and not isinstance(w, Unknown):
                assert w in v.value.possible, (v.definition, v.value.possible, w, full_data, text)


def test_the_generator_reaches_what_the_property_is_about():
    """Guard for the property: the generated policies do settle decisions and values that read
    missing facts, and keep possible values, with both evaluators."""
    seen = {"settled comparison": 0, "possible values": 0, "undetermined": 0, "error": 0}

    # 300 examples: which ones hypothesis draws past the first few varies between runs in one
    # process even when derandomised, and 60 were sometimes not enough to meet every case
    @settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(policies(), partial_facts())
    def collect(text, data):
        policy = check_policy(text)
        result = run_both(policy, data)
        if result is None:
            seen["error"] += 1
            return
        seen["possible values"] += sum(isinstance(v.value, Unknown) and v.value.possible is not None for v in result.values)
        seen["undetermined"] += sum(d.status == UNDETERMINED for d in result.decisions)
        # a comparison of an unknown operand that came out true or false
        tracer = RecordingTracer()
        reference_evaluate(policy, validate(policy, copy.deepcopy(data)), AS_OF, None, tracer)
        exprs = [d.expr for d in policy.definitions.values()] + [r.cond for d in policy.decisions.values() for r in d.rules if r.cond]
        compares = {n.id: n for e in exprs for n in ir.walk(e) if isinstance(n, ir.Compare)}
        for (scope, node_id), v in tracer.values.items():
            node = compares.get(node_id)
            if node is not None and isinstance(v, bool) and any(isinstance(tracer.get(scope, k.id), Unknown) for k in (node.left, node.right)):
                seen["settled comparison"] += 1

    collect()
    assert all(seen[k] > 0 for k in ("settled comparison", "possible values", "undetermined")), seen


def test_compiled_and_reference_agree_on_possible_values():
    """The differential check on a policy made of operations on unknowns (the generated
    tests of test_compiled.py cover the rest)."""
    policy = check_policy(
        HEADER
        + """define a label en "a" = (if o.b1 then 1 else 2) + (if o.b2 then 10 else 20)
define b label en "b" = round(a / 3, 1) * (if o.b3 then -1 else 1)
define c label en "c" = max(item, if p then x else 0)
define d label en "d" = count(item where p) + sum(item, x)
define e label en "e" = a / (if o.b4 then 0 else 2)
define f label en "f" = a between 11 and 22
bands g on b { lo from -100 below 0  mid from 0 below 5  hi from 5 }
decision h { yes when b < 0 and c >= 1  no when d = 2  otherwise maybe }
"""
    )
    for b1, b2, b3, b4, p in itertools.product([True, False, None], repeat=5):
        org = {k: v for k, v in (("b1", b1), ("b2", b2), ("b3", b3), ("b4", b4)) if v is not None}
        item = {"id": "i0", "x": 2, **({"p": p} if p is not None else {})}
        run_both(policy, {"o": {"n": 1, **org}, "items": [item, {"id": "i1", "x": 1, "p": True}]})


OUTSIDE = """
    policy "Outside" version "1"
    input o { b: bool }
    define v label en "v" = if o.b then 1.4 else 9
    bands level label en "Level" on v {
      low from 0 below 1.5
      mid from 1.5 to 5
    }
"""


@pytest.mark.parametrize("engine", ["compiled", "reference"])
def test_a_band_some_possible_value_falls_outside_of_is_not_decided(engine):
    # 1.4 is low, 9 is in no band: the band is not known (bands, unlike decisions, are
    # not proved to cover every value, so the walk must not settle on the one band left)
    policy = checked(OUTSIDE)
    facts = validate(policy, {"o": {"b": None}})
    result = compiled(policy).evaluate(facts, AS_OF) if engine == "compiled" else reference_evaluate(policy, facts, AS_OF)
    level = decision(result, "level")
    assert level.status == UNDETERMINED and level.possible == ("low",) and level.missing == ("o.b",)
    assert decision(reference_evaluate(policy, validate(policy, {"o": {"b": False}}), AS_OF), "level").outcome is None
