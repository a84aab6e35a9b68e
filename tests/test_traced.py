"""Differential tests: the traced compiled mode (backends/traced.py) against the reference tracer.

On every generated policy and assessment of tests/test_compiled.py (unknowns,
possible-value sets, exceptions, dated rules, bands, groups, aggregates, ranks,
decision references, divisions that fail) and on the methodology's examples, the
traced mode must give the reference's result, the very same trace (every
(scope, expression id) pair with an equal value, no more, no fewer) and explanation
JSON identical byte for byte for every decision, or fail with the same error.
No timing is asserted.
"""

from __future__ import annotations

import copy
import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stratdsl.backends import traced as traced_mod
from stratdsl.backends.traced import ArrayTracer, TracedPolicy, evaluate_traced, traced
from stratdsl.engine import compile_policy, compile_text, run
from stratdsl.language.diagnostics import StratError
from stratdsl.render.json_out import dumps, explanation_json
from stratdsl.runtime.assessment import read_data, validate
from stratdsl.runtime.evaluator import evaluate as reference_evaluate
from stratdsl.runtime.explain import explain_decision
from stratdsl.runtime.trace import RecordingTracer
from stratdsl.runtime.whynot import why_not
from test_compiled import AS_OF, DIFF, EXAMPLES, METHOD_DATES, SMALL, STRATEGY, assessments, policies


def _reference(policy: Any, facts: Any, as_of: date, params: Any = None) -> tuple[str, Any]:
    tracer = RecordingTracer()
    try:
        return "ok", (reference_evaluate(policy, facts, as_of, params, tracer), tracer)
    except StratError as error:
        return "error", [(d.code, d.message) for d in error.diagnostics]


def _traced(policy: Any, facts: Any, as_of: date, params: Any = None) -> tuple[str, Any]:
    try:
        return "ok", evaluate_traced(policy, facts, as_of, params)
    except StratError as error:
        return "error", [(d.code, d.message) for d in error.diagnostics]


def _explanations(policy: Any, result: Any, tracer: Any) -> list[str]:
    out = []
    for d in result.decisions:
        x = explain_decision(policy, result, d, tracer)
        whys = [why_not(x, o.name, policy, result, tracer) for o in policy.decisions[d.decision].outcomes if o.name != d.outcome]
        out.append(dumps(explanation_json(policy, x, "en", whys[0] if whys else None)))
    return out


def assert_same_trace(policy: Any, facts: Any, as_of: date, params: Any = None) -> None:
    slow = _reference(policy, facts, as_of, params)
    fast = _traced(policy, facts, as_of, params)
    assert fast[0] == slow[0], (fast, slow)
    if slow[0] == "error":
        assert fast[1] == slow[1]
        return
    (result, tracer), (ref_result, ref_tracer) = fast[1], slow[1]
    assert result == ref_result
    assert isinstance(tracer, ArrayTracer)
    mine, theirs = tracer.values, ref_tracer.values
    assert set(mine) == set(theirs), (set(mine) ^ set(theirs))
    for key, value in theirs.items():
        assert type(mine[key]) is type(value) and mine[key] == value, key
    assert _explanations(policy, result, tracer) == _explanations(policy, ref_result, ref_tracer)


@DIFF
@given(policies(), assessments(), st.sampled_from(AS_OF), st.sampled_from([None, {"t": Decimal("2.5")}, {"t": Decimal(0)}]))
def test_traced_mode_and_reference_tracer_agree_on_generated_policies(text, data, as_of, params):
    policy, _ = compile_text(text, "generated.strat")
    assert policy is not None, text
    assert isinstance(traced(policy), TracedPolicy), "the generated policy must get a traced module"
    facts = validate(policy, copy.deepcopy(data))
    assert_same_trace(policy, facts, as_of, params)


@pytest.fixture(scope="module")
def methodology():
    policy, diagnostics = compile_policy(STRATEGY)
    assert policy is not None, [f"{d.code} {d.message}" for d in diagnostics if d.is_error]
    return policy


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_traced_mode_agrees_on_the_methodology_examples(methodology, example):
    data, spans = read_data(example, example.name)
    facts = validate(methodology, data, example.name, spans)
    for as_of in METHOD_DATES[::2]:
        assert_same_trace(methodology, facts, as_of)


def test_engine_traces_come_from_the_traced_module_after_a_few_runs():
    """A one-shot `explain` keeps the reference tracer (building the traced module costs more than
    it saves once); from the policy's TRACED_AFTER + 1st traced evaluation on, the traced module."""
    policy = _checked(SMALL + 'define z label en "z" = o.x + 1\n')
    facts = validate(policy, {"o": {"x": 2}})
    kinds = [type(run(policy, facts, date(2026, 9, 1), trace=True)[1]) for _ in range(traced_mod.TRACED_AFTER + 2)]
    assert kinds == [RecordingTracer] * traced_mod.TRACED_AFTER + [ArrayTracer] * 2
    assert run(policy, facts, date(2026, 9, 1), trace=True)[0] == run(policy, facts, date(2026, 9, 1))[0]


def _checked(text: str) -> Any:
    policy, diagnostics = compile_text(text, "p.strat")
    assert policy is not None, [(d.code, d.message) for d in diagnostics if d.is_error]
    return policy


SHORT_CIRCUITS = [
    "o.b and o.x / o.y > 1",  # the exploration meets a division by zero: swallowed, partial trace
    "o.b or o.x / o.y > 1",
    "if o.b then o.x / o.y else o.x",  # a failing branch under an unknown condition
    "if o.b and o.c then round(o.x * 2 + o.y, 1) else if o.c then max(o.x, o.y, 3) else -o.x",
    "o.x between 1 and 3 and not o.c",
    "(o.b or o.c) and (o.x > 1 or o.y < 2) and known(o.x)",
]


@pytest.mark.parametrize("body", SHORT_CIRCUITS)
def test_short_circuits_and_failing_branches_trace_like_the_reference(body):
    policy = _checked(SMALL + f'define z label en "z" = {body}\n')
    for b, c, x, y in itertools.product([True, False, None], [True, False, None], [Decimal(0), Decimal(2), None], [Decimal(0), Decimal(3)]):
        data = {"o": {k: v for k, v in {"b": b, "c": c, "x": x, "y": y}.items() if v is not None}}
        assert_same_trace(policy, validate(policy, data), date(2026, 9, 1))


def test_code_cpython_refuses_falls_back_to_the_reference_tracer(monkeypatch):
    policy = _checked(SMALL + 'define z label en "z" = o.x + 1\n')

    def refuse(*args: Any) -> None:
        raise SyntaxError("too deep")

    monkeypatch.setattr(traced_mod, "_run_generated", refuse)
    assert traced(policy) is None
    result, tracer = evaluate_traced(policy, validate(policy, {"o": {"x": 2}}), date(2026, 9, 1))
    assert type(tracer) is RecordingTracer and result.values[0].value == Decimal(3)


def test_one_walk_gives_trace_and_result_for_plain_decisions():
    """A decision whose traced walk ends at a rule that certainly fires, every earlier rule being
    simply false, goes into the compiled run's memo table: the compiled form does not walk it again.
    The others (an exception applied, an unknown) are left to the compiled form. Same result and
    trace as the reference either way."""
    policy = _checked(SMALL + "input us: many u { s: number }\n"
                      "decision d for each u { hi when s > 2 unless s > 4  lo when s <= 2  otherwise mid }\n"
                      "decision g { yes when o.b  otherwise no }\n")
    form = traced(policy).compiled
    walked: list[str] = []
    original = form.run_order
    def counted(fn: Any, name: str) -> Any:
        return lambda X, e: walked.append(name) or fn(X, e)

    form.run_order = [(name, entity_input, counted(fn, name)) for name, entity_input, fn in original]
    try:
        facts = validate(policy, {"o": {"b": True}, "us": [{"id": "a", "s": 1}, {"id": "b", "s": 3}, {"id": "c", "s": 5}, {"id": "d"}]})
        assert_same_trace(policy, facts, date(2026, 9, 1))
        # a (lo, rule 2 after a false rule) and b (hi) and g: plain; c (hi excepted → mid), d (unknown): compiled
        assert walked == ["d", "d"]
    finally:
        form.run_order = original
