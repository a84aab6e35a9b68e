"""Why-not for a decision undetermined now: its open questions answered one at a time.

`verdict` is undetermined while `a` and `b` are unanswered; `go` needs both answered
yes, then a measured value — behind `pending when not known(measured)`, which the
evaluator's "possible outcomes" cannot see (an unanswered question makes `known(…)`
false, not unknown). The walk answers the questions holding the decision back, each so
as to keep the outcomes of earlier rules from firing, until it is settled (`pending`),
then tries one more fact from there (`measured`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from stratdsl.backends import budget, counterfactual, probe, smt
from stratdsl.engine import compile_text
from stratdsl.runtime.assessment import validate
from stratdsl.runtime.evaluator import evaluate

AS_OF = date(2026, 9, 1)

OPEN = """policy "Open" version "1"
input org {
  a: bool
  b: bool
  measured: number 0..100
}
decision ready {
  yes when org.a and org.b
  otherwise no
}
decision verdict {
  not_ready when ready != yes
  pending when not known(org.measured)
  go when org.measured >= 50
  otherwise stop
}
"""

DATA = {"org": {"a": "unknown", "b": "unknown", "measured": "unknown"}}


def _setup():
    policy, diags = compile_text(OPEN, "open.strat")
    assert policy is not None, diags
    return policy, validate(policy, DATA, "open.yaml")


def test_the_walk_answers_the_questions_until_the_decision_is_settled():
    policy, assessment = _setup()
    (verdict,) = [d for d in evaluate(policy, assessment, AS_OF).decisions if d.decision == "verdict"]
    assert verdict.status == "undetermined" and "go" not in verdict.possible  # (behind `known(…)`)
    p = probe.Prober(policy, assessment, "verdict", None, AS_OF, {})
    types = {path: policy.inputs["org"].fields[path.split(".")[1]].type for path in ("org.a", "org.b", "org.measured")}
    walked = probe.answers(p, types, {}, "go", set(), float("inf"))
    assert walked == ({"org.a": True, "org.b": True}, False)  # settled on `pending`: one more fact next


def test_why_not_answers_then_changes_one_more_fact():
    policy, assessment = _setup()
    search = counterfactual.why_not(policy, assessment, "verdict", None, "go", AS_OF, timeout_ms=20000)
    assert search.counterfactuals
    (cf, *_) = search.counterfactuals
    assert {c.fact: c.new for c in cf.changes} == {"org.a": True, "org.b": True, "org.measured": Decimal(50)}
    t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
    changed = counterfactual.apply_changes(policy, assessment, {c.fact: (t.facts[c.fact], c.new) for c in cf.changes})
    (after,) = [d for d in evaluate(policy, changed, AS_OF).decisions if d.decision == "verdict"]
    assert after.outcome == "go"


# `closed` unless the gate is `ok`, which needs `people * rate > 10`. Answered in path order,
# `people = 0` leaves every outcome possible (0 times an unanswered rate is not known to be
# 0), so it is as good as any other answer — and then every rate gives `closed`. The walk
# steps back: another answer for `people`, with a rate that keeps the gate open.
BACK = """policy "Back" version "1"
input org {
  people: integer 0..100
  rate: number 0..100
  m: number 0..10
}
decision gate {
  ok when org.people * org.rate > 10
  otherwise no
}
decision verdict {
  closed when gate != ok
  done when org.m >= 5
  otherwise waiting
}
"""


def test_the_gates_are_the_outcomes_the_rule_needs_of_the_decisions_it_reads():
    policy, diags = compile_text(BACK, "back.strat")
    assert policy is not None, diags
    verdict = policy.decisions["verdict"]
    assert probe._gates(policy, verdict, 1, None) == {("gate", None): frozenset({"ok"})}
    policy, _ = compile_text(OPEN, "open.strat")
    assert probe._gates(policy, policy.decisions["verdict"], 2, None) == {("ready", None): frozenset({"yes"})}


def test_the_walk_steps_back_when_every_answer_closes_the_gate(monkeypatch):
    policy, diags = compile_text(BACK, "back.strat")
    assert policy is not None, diags
    assessment = validate(policy, {"org": {"people": "unknown", "rate": "unknown", "m": 6}}, "back.yaml")
    types = {path: policy.inputs["org"].fields[path.split(".")[1]].type for path in ("org.people", "org.rate", "org.m")}

    def walk():
        return probe.answers(probe.Prober(policy, assessment, "verdict", None, AS_OF, {}), types, {}, "done", set(), float("inf"))

    state, settled = walk()
    assert settled and state["org.people"] * state["org.rate"] > 10
    monkeypatch.setattr(probe, "MOST_BACKS", 0)
    state, settled = walk()  # (without the step back: people 0, then every rate closes it)
    assert not settled and state["org.people"] == 0


def test_one_condition_at_a_time_a_fact_may_change_again():
    # `pending when not known(measured)` wants it answered (0, the first value tried), then
    # `go when measured >= 50` wants it higher: the same fact, changed again
    policy, _ = compile_text(OPEN, "open.strat")
    assessment = validate(policy, {"org": {"a": True, "b": True, "measured": "unknown"}}, "open.yaml")
    p = probe.Prober(policy, assessment, "verdict", None, AS_OF, {})
    paths = ["org.a", "org.b", "org.measured"]
    types = {path: policy.inputs["org"].fields[path.split(".")[1]].type for path in paths}
    current = smt.assessment_facts(policy, assessment)
    field_of = {path: ("org", path.split(".")[1]) for path in paths}
    goals = probe._goals(policy.decisions["verdict"], 2)  # (in the rules' order: `known` first)
    found = probe._greedy(p, paths, types, {}, field_of, "go", goals, "org.", float("inf"), 12, current)
    assert found == {"org.measured": Decimal(50)}


def test_conditions_on_decisions_read_are_followed_into_their_rules():
    policy, _ = compile_text(OPEN, "open.strat")
    verdict = policy.decisions["verdict"]
    goals = probe._goals(verdict, 2)
    expanded = probe._expanded(policy, None, goals)
    # `ready != yes` false: ready's `yes` rule (`org.a and org.b`, its two parts) first,
    # then the goals as they were
    assert expanded[2:] == goals
    assert [(type(e).__name__, e.field_name, want) for e, want in expanded[:2]] == [("FieldRef", "a", True), ("FieldRef", "b", True)]


WINDOW = """policy "Window" version "1"
input org {
  measured: number 0..1000
  target: number 0..100
}
define achievement = org.measured * 100 / org.target
decision verdict {
  stop when achievement < 40
  adjust when achievement < 80
  otherwise go
}
"""


def test_a_number_between_two_tried_values_that_give_other_outcomes():
    # measured unknown, target 3: `adjust` needs measured in [1.2, 2.4) — no value tried
    # (0, 1, 10, the bounds…) gives it, 1 gives `stop` and the next one `go`: the interval
    # between them is searched, and its lowest value that gives `adjust` kept
    policy, diags = compile_text(WINDOW, "window.strat")
    assert policy is not None, diags
    assessment = validate(policy, {"org": {"measured": "unknown", "target": 3}}, "window.yaml")
    p = probe.Prober(policy, assessment, "verdict", None, AS_OF, {})
    types = {"org.measured": policy.inputs["org"].fields["measured"].type}
    current = smt.assessment_facts(policy, assessment)
    found, _complete = probe.single_changes(p, ["org.measured"], types, {}, "adjust", current, float("inf"))
    assert found == {"org.measured": Decimal("1.2")}


# `ready` needs both questions answered yes; then `go` needs both numbers raised: settled
# on `low` by the walk, no one more fact does it. The solver searches from the assessment
# the walk answered (each answered question pinned, so the term is small).
TWO = """policy "Two" version "1"
input org {
  a: bool
  b: bool
  x: number 0..100
  y: number 0..100
}
decision ready {
  yes when org.a and org.b
  otherwise no
}
decision verdict {
  not_ready when ready != yes
  go when org.x >= 50 and org.y >= 50
  otherwise low
}
"""


def test_after_the_walk_the_solver_changes_several_facts(monkeypatch):
    policy, diags = compile_text(TWO, "two.strat")
    assert policy is not None, diags
    assessment = validate(policy, {"org": {"a": "unknown", "b": "unknown", "x": 10, "y": 20}}, "two.yaml")
    monkeypatch.setattr(probe, "several_changes", lambda *a, **k: None)  # (the stage after it: not reached)
    search = counterfactual.why_not(policy, assessment, "verdict", None, "go", AS_OF, timeout_ms=20000)
    assert search.counterfactuals, search.note
    (cf, *_) = search.counterfactuals
    assert {c.fact: c.new for c in cf.changes} == {"org.a": True, "org.b": True, "org.x": Decimal(50), "org.y": Decimal(50)}


def test_the_solver_after_the_walk_starts_from_the_answers_as_validated():
    # the walk's answers reach the solver through the data (validated again), not only the
    # evaluator's values: each change it proposes is checked against the answered assessment
    policy, _ = compile_text(TWO, "two.strat")
    assessment = validate(policy, {"org": {"a": "unknown", "b": "unknown", "x": 10, "y": 20}}, "two.yaml")
    t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
    answers = {"org.a": (t.facts["org.a"], True), "org.b": (t.facts["org.b"], True)}
    with smt.question(), budget.counted(20000):
        found = counterfactual._solved_after(policy, assessment, answers, "verdict", None, "go", AS_OF, {}, (), budget.now() + 20)
    assert found == {"org.a": True, "org.b": True, "org.x": Decimal(50), "org.y": Decimal(50)}
