"""The symbolic translation is exact where it says so (`SVal.exact`, `DecisionTerm.exact`).

The evaluator settles more than Kleene logic: the possible values of an undetermined
decision or of an `if` whose condition is unknown, `not applicable`, and `known()` of
what is computed from them (runtime/values.py). The translation follows it; where it
marks a value or a decision exact, the solver, given an assessment's facts, must say
exactly what the evaluator says — settled or not, the value, n/a, the outcome and the
possible outcomes — on partial assessments too. Generated policies are the ones of
test_possible.py (unknown true/false facts giving possible sets), with `known()` of
computed values, `not applicable` branches and `is applicable` added.
Runs are derandomised and keep no example database.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stratdsl.backends import smt
from stratdsl.engine import compile_text
from stratdsl.language.diagnostics import StratError
from stratdsl.runtime.assessment import validate
from stratdsl.runtime.evaluator import evaluate
from stratdsl.runtime.values import NotApplicable, Unknown
from test_possible import AS_OF, Writer, partial_facts

EXACT = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


class KnownWriter(Writer):
    """Writer with `known()` of computed values, `not applicable` and `is applicable`."""

    def num(self, depth: int, item: bool = False) -> str:
        if depth > 0 and not self.draw(st.integers(0, 4)):
            return f'(if {self.bool(0, item)} then {super().num(depth - 1, item)} else not applicable "r{self.pick(["1", "2"])}")'
        return super().num(depth, item)

    def bool(self, depth: int, item: bool = False) -> str:
        if not item and self.nums and not self.draw(st.integers(0, 3)):
            target = self.pick(self.nums + sorted(self.decisions))
            return self.pick([f"known({target})", f"not known({target})", f"{target} is applicable" if target in self.nums else f"known({target})"])
        return super().bool(depth, item)


@st.composite
def known_policies(draw: Any) -> str:
    return KnownWriter(draw).policy()


def agree(policy: Any, data: dict[str, Any]) -> int:
    """Where the translation is exact, the solver says what the evaluator says; elsewhere
    it settles less, never something else; and its safety constraints (no division by
    zero where the evaluator divides) allow every assessment the evaluator computes. The
    number of exact values and decisions compared."""
    assessment = validate(policy, copy.deepcopy(data))
    try:
        result = evaluate(policy, assessment, AS_OF)
    except StratError:
        return 0  # an error (a division by zero): the solver's safety constraints exclude it
    with smt.question():
        try:
            t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
            terms = t.all_decisions()
            values = [(v, t.definition(v.definition, v.entity)) for v in result.values]
        except smt.Untranslatable:
            return 0
        s = smt.solver(20000)
        s.add(*t.pins(assessment), *t.safety)
        assert s.check() == z3.sat
        model = s.model()

        def true(x: Any) -> bool:
            return z3.is_true(model.evaluate(x, model_completion=True))

        compared = 0
        for d, term in zip(result.decisions, terms, strict=True):
            got = smt.read_decision(model, term)
            if not term.exact:
                if got.status == "decided":
                    assert (d.status, d.outcome) == ("decided", got.outcome), f"{d.decision}[{d.entity}] (inexact)"
                continue
            assert (got.status, got.outcome, set(got.possible)) == (d.status, d.outcome, set(d.possible)), f"{d.decision}[{d.entity}]"
            compared += 1
        for v, sv in values:
            if not sv.exact:
                if true(sv.known) and sv.kind == "num":
                    assert not isinstance(v.value, (Unknown, NotApplicable)), f"{v.definition} (inexact)"
                    assert abs(smt.decimal_of(model.evaluate(sv.value, model_completion=True)) - v.value) < Decimal("1e-20"), v.definition
                continue
            where = f"{v.definition}[{v.entity}] = {v.value!r}"
            assert true(sv.settled) == (not isinstance(v.value, Unknown)), where
            assert true(sv.is_na) == isinstance(v.value, NotApplicable), where
            if true(sv.known) and sv.kind == "num":
                # the evaluator rounds a quotient to 28 digits where the solver is exact
                assert abs(smt.decimal_of(model.evaluate(sv.value, model_completion=True)) - v.value) < Decimal("1e-20"), where
            elif true(sv.known) and sv.kind == "bool":
                assert true(sv.value) == v.value, where
            compared += 1
        return compared


@EXACT
@given(known_policies(), partial_facts())
def test_the_translation_is_exact_where_it_says_so(text: str, data: dict[str, Any]) -> None:
    policy, _ = compile_text(text, "generated.strat")
    if policy is None:
        return
    agree(policy, data)


def test_possible_outcomes_settle_a_comparison_and_known_of_a_decision_is_exact() -> None:
    """`risk in {high, limited}` is true while risk may only be high or limited, and
    `known(risk)` false — the solver says both, as the evaluator does."""
    policy, _ = compile_text(
        'policy "p" version "1"\ninput o { a: bool  b: bool }\n'
        "decision risk { high when o.a  limited when o.b  otherwise high }\n"
        "decision use { ok when risk in {high, limited} and not known(risk)  otherwise other }\n",
        "p.strat",
    )
    assert policy is not None
    assert agree(policy, {"o": {"b": True}}) == 2  # risk undetermined (high or limited); use: ok
    result = evaluate(policy, validate(policy, {"o": {"b": True}}), AS_OF)
    assert [(d.decision, d.status, d.outcome) for d in result.decisions] == [("risk", "undetermined", None), ("use", "decided", "ok")]


def test_a_value_that_may_not_apply_is_known_when_it_does_not() -> None:
    policy, _ = compile_text(
        'policy "p" version "1"\ninput o { a: bool  n: number }\n'
        'define m label en "m" = if o.a then o.n else not applicable "no"\n'
        'define twice label en "twice" = m * 2\n'
        "decision d { answered when known(twice)  otherwise open }\n",
        "p.strat",
    )
    assert policy is not None
    assert agree(policy, {"o": {"a": False}}) == 3  # n/a, known; d answered
    assert agree(policy, {"o": {"a": True}}) == 3  # n unanswered: unknown; d open
    assert agree(policy, {"o": {}}) == 3  # a unanswered, n too: unknown, no possible values


def test_a_count_over_uncertain_members_has_possible_values() -> None:
    policy, _ = compile_text(
        'policy "p" version "1"\ninput items: many item { p: bool }\n'
        'define n label en "n" = count(item where p)\n'
        "decision d { some when n >= 1  otherwise none }\n"
        "decision e { settled when known(n)  otherwise open }\n",
        "p.strat",
    )
    assert policy is not None
    data = {"items": [{"id": "a", "p": True}, {"id": "b"}]}
    assert agree(policy, data) == 3  # n is 1 or 2: `n >= 1` settled, known(n) false
    assert [d.outcome for d in evaluate(policy, validate(policy, data), AS_OF).decisions] == ["some", "open"]


def test_a_date_bound_that_does_not_apply_is_no_bound() -> None:
    """`from launch` where launch is `not applicable`: the rule is in force, as the
    evaluator says (the solver read the bound as unknown, and the rule as possible)."""
    policy, _ = compile_text(
        'policy "p" version "1"\ninput o { planned: bool  start: date }\n'
        'define launch label en "launch" = if o.planned then o.start else not applicable "aucun" en "none"\n'
        "decision d { a when o.planned = false from launch  otherwise b }\n",
        "p.strat",
    )
    assert policy is not None
    assert agree(policy, {"o": {"planned": False}}) == 2
    assert evaluate(policy, validate(policy, {"o": {"planned": False}}), AS_OF).decisions[0].outcome == "a"


def test_a_decision_not_translated_exactly_has_no_possible_outcomes_of_its_own() -> None:
    """`level` is no match for the evaluator (v may be 8 or 9, below every band); the solver,
    which does not fold a filtered sum's possible values, keeps `low` possible. Its possible
    outcomes are then not the evaluator's: `level = low` must not be settled from them."""
    policy, _ = compile_text(
        'policy "p" version "1"\ninput items: many item { p: bool  q: bool }\n'
        'define v label en "v" = sum(item, (if p then 8 else 9) where q)\n'
        "bands level on v { low from 10 }\n"
        "decision use { yes when level = low  otherwise no }\n",
        "p.strat",
    )
    assert policy is not None
    data = {"items": [{"id": "i1", "q": True}]}
    agree(policy, data)
    assert [(d.decision, d.status) for d in evaluate(policy, validate(policy, data), AS_OF).decisions] == [("level", "no_match"), ("use", "undetermined")]


def test_the_joint_test_of_between_divides_only_where_the_evaluator_does() -> None:
    """`o.v between 0 and 10 / o.d` with v = -1 and d = 0: the evaluator stops at `v >= 0`,
    false, and never divides; the solver's safety constraints allow that assessment."""
    policy, _ = compile_text(
        'policy "p" version "1"\ninput o { v: number  d: number }\n'
        "decision d { a when o.v between 0 and 10 / o.d  otherwise b }\n",
        "p.strat",
    )
    assert policy is not None
    assert agree(policy, {"o": {"v": -1, "d": 0}}) == 1
