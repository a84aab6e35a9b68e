"""Why-not through a decision read: a rule that says only `D = X` (`plan when selection =
selected`) is asked of D first (why does D not give X?), a smaller question, and its
answers are kept where this decision gives the outcome with them (an earlier rule may
fire first). A proof that no change makes D give X is one for this outcome too.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from stratdsl.backends import budget, counterfactual, smt
from stratdsl.engine import compile_policy, compile_text
from stratdsl.runtime.assessment import validate

AS_OF = date(2026, 9, 1)
REPO = Path(__file__).resolve().parents[1]

THROUGH = """policy "Through" version "1"
input org {
  x: number 0..100
  y: number 0..100
  held: number 0..100 fixed
}
decision gate {
  yes when org.x >= 50 or org.y >= 50
  otherwise no
}
decision locked {
  yes when org.held >= 50
  otherwise no
}
decision verdict {
  early when org.x >= 50
  plan when gate = yes
  open when locked = yes
  otherwise wait
}
"""


def _setup():
    policy, diags = compile_text(THROUGH, "through.strat")
    assert policy is not None, diags
    return policy, validate(policy, {"org": {"x": 10, "y": 10, "held": 10}}, "through.yaml")


def test_the_rule_read_is_recognised():
    policy, _ = _setup()
    assert counterfactual._read_decision(policy, "verdict", None, "plan") == ("gate", None, "yes", True)
    assert counterfactual._read_decision(policy, "verdict", None, "early") is None  # (not a decision read)
    assert counterfactual._read_decision(policy, "verdict", None, "wait") is None  # (`otherwise`)
    methodology, _ = compile_policy(REPO / "policies" / "strategy.strat")
    assert counterfactual._read_decision(methodology, "next_step", "ocr", "plan") == ("selection", "ocr", "selected", True)
    # (`portfolio = groundwork_first and study_rank …`: not one decision's outcome alone)
    assert counterfactual._read_decision(methodology, "next_step", "ocr", "study") is None
    # an earlier rule that must not fire: `not_planned when roadmap != planned`
    assert counterfactual._read_decision(methodology, "test_verdict", "ocr", "stop") == ("roadmap", "ocr", "planned", False)
    # through `not` and a definition: `not_planned when not is_selected`, `is_selected = selection = selected`
    assert counterfactual._read_decision(methodology, "roadmap", "ocr", "planned") == ("selection", "ocr", "selected", False)


def _verdict(rules: str) -> str:
    return THROUGH.split("decision verdict {")[0] + "decision verdict {\n" + rules + "\n}\n"


def test_only_a_decision_every_change_needs_is_asked_first():
    # another rule gives the outcome too, or the earlier rule is dated or has an exception
    # (it may not apply): a change need not make the gate open
    for rules in (
        "plan when gate = yes\n  plan when org.held >= 5\n  otherwise wait",
        "early when gate != yes until 2020-01-01\n  done when org.x >= 50\n  otherwise wait",
        "early when gate != yes unless org.y >= 50\n  done when org.x >= 50\n  otherwise wait",
    ):
        policy, diags = compile_text(_verdict(rules), "variant.strat")
        assert policy is not None, diags
        outcome = "plan" if "plan" in rules else "done"
        assert counterfactual._read_decision(policy, "verdict", None, outcome) is None, rules


def test_the_answers_of_the_decision_read_that_fire_an_earlier_rule_are_dropped():
    # `gate = yes` with one fact: x or y at 50; x at 50 makes the verdict `early` first
    policy, assessment = _setup()
    search = counterfactual.why_not(policy, assessment, "verdict", None, "plan", AS_OF, timeout_ms=20000)
    assert [{c.fact: c.new for c in cf.changes} for cf in search.counterfactuals] == [{"org.y": Decimal(50)}]
    assert all(cf.outcome == "plan" for cf in search.counterfactuals)
    # (a closer change that gives `plan` may exist past those the gate's search kept: x at
    # 55.01 when `early` stops at 55 — so not proven the closest)
    assert "not proven the fewest facts nor the closest values" in search.note


def test_a_proof_for_the_decision_read_is_one_for_the_outcome():
    # `locked = yes` needs the held fact changed: no change gives it, nor `open`
    policy, assessment = _setup()
    search = counterfactual.why_not(policy, assessment, "verdict", None, "open", AS_OF, timeout_ms=20000)
    assert not search.counterfactuals
    assert search.note == counterfactual.NO_CHANGE


def test_a_decision_that_reads_only_held_facts_is_proven_out_of_reach():
    # (every fact it reads held: the solver's bound on changed facts is over none — it
    # raised a z3 error before 2026-12-07)
    policy, assessment = _setup()
    search = counterfactual.why_not(policy, assessment, "locked", None, "yes", AS_OF, timeout_ms=20000)
    assert not search.counterfactuals and search.note == counterfactual.NO_CHANGE


MORE = """policy "More" version "1"
input org {
  x: number 0..100
  m: number 0..10
}
decision gate {
  yes when org.x >= 50
  otherwise no
}
decision verdict {
  not_ready when gate != yes
  done when org.m >= 5
  otherwise waiting
}
"""


def test_from_the_answer_of_the_decision_read_one_more_fact():
    # `done` needs the gate open (an earlier rule that must not fire), then `m`: the gate's
    # answer (x at 50) gives `waiting`, and one more fact from there gives `done`
    policy, diags = compile_text(MORE, "more.strat")
    assert policy is not None, diags
    assessment = validate(policy, {"org": {"x": 10, "m": 0}}, "more.yaml")
    assert counterfactual._read_decision(policy, "verdict", None, "done") == ("gate", None, "yes", False)
    search = counterfactual.why_not(policy, assessment, "verdict", None, "done", AS_OF, timeout_ms=20000)
    assert [{c.fact: c.new for c in cf.changes} for cf in search.counterfactuals] == [{"org.x": Decimal(50), "org.m": Decimal(5)}]
    assert search.note.template.startswith("found by making {decision} give {outcome}, then one more fact")


def test_an_undetermined_decision_is_left_to_the_walk_when_an_earlier_rule_needs_d():
    # the gate's question, then one more fact, is not asked for a verdict undetermined now
    # (x unanswered) whose need of the gate comes from an earlier rule: the walk through the
    # open questions, guided by what the rule needs of the gate, answers such a question
    policy, _ = compile_text(MORE, "more.strat")
    assessment = validate(policy, {"org": {"x": "unknown", "m": 0}}, "more.yaml")
    read = counterfactual._read_decision(policy, "verdict", None, "done")
    with smt.question(), budget.counted(20000):
        assert counterfactual._through_read(policy, assessment, "verdict", None, "done", AS_OF, {}, (), 20000, 3, read) is None
    search = counterfactual.why_not(policy, assessment, "verdict", None, "done", AS_OF, timeout_ms=20000)
    assert {c.fact: c.new for c in search.counterfactuals[0].changes} == {"org.x": Decimal(50), "org.m": Decimal(5)}
