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

from stratdsl.backends import counterfactual, probe, smt
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
