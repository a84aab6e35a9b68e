"""The solver's search for the fewest facts when a change needs many of them.

A change of six facts (or twelve answers of an express diagnostic) is not
reached through one proof per size: past the small sizes the sizes double, the
set found is made smaller with the evaluator and the solver is asked for a
smaller one until it proves there is none (`_descend`). When the solver runs
out of time before that proof, the smallest set found is still an answer, and
the note says it is not proven the fewest. The closest values come from the
optimiser or, where it does not settle, from a bisection on the distance.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import z3

from stratdsl.backends import counterfactual, smt
from stratdsl.engine import compile_text
from stratdsl.runtime.assessment import validate
from stratdsl.runtime.evaluator import evaluate

AS_OF = date(2026, 9, 1)

MANY = """policy "Many" version "1"
input org {
  a: bool
  b: bool
  c: bool
  d: bool
  e: bool
  f: bool
  g: bool
}
decision verdict {
  all_of_them when org.a and org.b and org.c and org.d and org.e and (org.f or org.g)
  otherwise not_yet
}
"""

NEAR = """policy "Near" version "1"
input org {
  x: number 0..100
  y: number 0..100
}
decision level {
  high when org.x * 2 + org.y >= 150
  otherwise low
}
"""


def _compiled(text):
    policy, diags = compile_text(text, "p.strat")
    assert policy is not None, diags
    return policy


def _solved(policy, assessment, decision, outcome, budget_ms=30000):
    current = smt.assessment_facts(policy, assessment)
    return counterfactual._solved(policy, assessment, decision, None, outcome, AS_OF, {}, (), budget_ms, 3, current)


def _outcome(policy, assessment, changes):
    t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
    changed = counterfactual.apply_changes(policy, assessment, {c.fact: (t.facts[c.fact], c.new) for c in changes})
    return evaluate(policy, changed, AS_OF).decisions[0].outcome


def _fewest_by_brute_force(policy):
    names = "abcdefg"
    best = None
    for values in itertools.product((False, True), repeat=len(names)):
        data = {"org": dict(zip(names, values, strict=True))}
        if evaluate(policy, validate(policy, data, "x"), AS_OF).decisions[0].outcome == "all_of_them":
            n = sum(values)
            best = n if best is None else min(best, n)
    return best


def test_a_change_of_six_facts_is_found_and_proven_the_fewest(monkeypatch):
    policy = _compiled(MANY)
    assessment = validate(policy, {"org": dict.fromkeys("abcdefg", False)}, "x")
    descents = []
    real = counterfactual._descend

    def spy(*args):
        found = real(*args)
        descents.append(found)
        return found

    monkeypatch.setattr(counterfactual, "_descend", spy)
    search = _solved(policy, assessment, "verdict", "all_of_them")
    assert search.note is None, search.note  # proven the fewest: no note
    assert descents and descents[0][1] is True  # (sizes 4 and 5 skipped, then proven too small)
    assert {len(c.changes) for c in search.counterfactuals} == {_fewest_by_brute_force(policy)} == {6}
    for c in search.counterfactuals:
        assert _outcome(policy, assessment, c.changes) == "all_of_them"


def test_out_of_time_before_the_proof_the_smallest_set_found_is_shown_not_proven(monkeypatch):
    """Every solver call after the first set is found answers "unknown" (as when the time
    runs out): the set found, made smaller by the evaluator, is the answer, with the note."""
    policy = _compiled(MANY)
    assessment = validate(policy, {"org": dict.fromkeys("abcdefg", False)}, "x")
    real = smt.check
    seen = []

    def out_of_time(solver, ms):
        if seen:
            return z3.unknown
        answer = real(solver, ms)
        if answer == z3.sat:
            seen.append(answer)
        return answer

    monkeypatch.setattr(smt, "check", out_of_time)
    search = _solved(policy, assessment, "verdict", "all_of_them")
    assert len(search.counterfactuals) == 1
    (found,) = search.counterfactuals
    assert len(found.changes) == 6  # (the evaluator drops what the outcome does not need)
    assert _outcome(policy, assessment, found.changes) == "all_of_them"
    assert search.note is not None and "not proven the fewest" in search.note


def test_the_bisection_gives_the_closest_value_on_the_grid():
    # (z3's optimiser is not asked: it ignored the interrupt of its time limit in some calls)
    policy = _compiled(NEAR)
    assessment = validate(policy, {"org": {"x": 10, "y": 10}}, "x")
    search = _solved(policy, assessment, "level", "high")
    x = [c for c in search.counterfactuals if [f.fact for f in c.changes] == ["org.x"]]
    assert x and x[0].changes[0].new == 70  # 2 × 70 + 10 = 150: the boundary itself, not near it
    for c in search.counterfactuals:
        assert _outcome(policy, assessment, c.changes) == "high"


def test_the_bisection_stops_one_grid_step_from_a_strict_boundary():
    policy = _compiled(NEAR.replace(">= 150", "> 150"))
    assessment = validate(policy, {"org": {"x": 10, "y": 10}}, "x")
    search = _solved(policy, assessment, "level", "high")
    x = [c for c in search.counterfactuals if [f.fact for f in c.changes] == ["org.x"]]
    assert x and x[0].changes[0].new == Decimal("70.01")  # the nearest hundredth above 70


DEFAULTED = """policy "Defaulted" version "1"
input org {
  y: integer 0..10
  x: bool
    default false
}
decision level {
  high when org.y >= 5 and not org.x
  otherwise low
}
"""


def test_a_change_keeps_the_answers_a_default_gave():
    """The validated data holds null for a question left out; validated again, null reads as
    "answered unknown". A change is verified with the defaulted questions left out again, so
    `x` keeps its default — else `not x` is unknown and no change would ever be confirmed."""
    policy = _compiled(DEFAULTED)
    assessment = validate(policy, {"org": {"y": 1}}, "x")
    assert assessment.assumed == {"org.x": False}
    t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
    changed = counterfactual.apply_changes(policy, assessment, {"org.y": (t.facts["org.y"], 5)})
    assert changed.records["org"]["x"] is False and changed.assumed == {"org.x": False}
    search = counterfactual.why_not(policy, assessment, "level", None, "high", AS_OF, timeout_ms=20000)
    assert [(c.fact, c.new) for c in search.counterfactuals[0].changes] == [("org.y", 5)]
