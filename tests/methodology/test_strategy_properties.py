"""Property tests (hypothesis) of the reference methodology's strategy half over generated companies.

Companies of every size (3 to 3 000 people) and maturity (each of the 25 ladder answers drawn), with 0 to 10
use cases whose facts are drawn — including prohibited purposes and unanswered facts — are evaluated with the
live policies/strategy.strat. The invariants are the ones issue 14 lists: phases ordered and inside months
1–12 or visibly deferred; no prohibited use case on the plan; 2 to 5 levers when enough high-impact candidates
exist, never more than 5; groundwork whenever governance or skills are weak; capacity limits hold; raising one
maturity answer never lowers the level; every decided outcome carries a citation, also when other inputs are
unknown. Runs are derandomised and keep no example database.
"""

from __future__ import annotations

import copy
import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stratdsl.engine import compile_policy, run
from stratdsl.language import ir
from stratdsl.runtime.assessment import validate
from stratdsl.runtime.result import DECIDED, Result
from stratdsl.runtime.values import NotApplicable, Unknown

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "policies" / "strategy.strat"

PROPS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
AS_OF = date(2026, 11, 26)
DIMENSIONS = ("data_quality", "processes", "skills", "culture", "governance")
STEPS = ("practiced", "documented", "owned", "measured", "improved")
LEVELS = ("exploratory", "emerging", "structured", "advanced")
OBJECTIVES = ("reduce_costs", "improve_quality", "accelerate_decisions", "secure_organisation")
PURPOSES = ("document_processing", "content_drafting", "business_forecasting", "quality_control",
            "customer_assistance", "recruitment", "worker_management", "credit_scoring", "emotion_recognition",
            "social_scoring")
#: each kind of use case as the factual questions of issue 15 describe it (docs/methodology.md §16.3)
FACTS: dict[str, dict[str, Any]] = {
    "document_processing": {"inputs": ["documents_text"]},
    "content_drafting": {"inputs": ["documents_text"]},
    "business_forecasting": {"inputs": ["numbers_transactions"]},
    "quality_control": {"inputs": ["machine_data"]},
    "customer_assistance": {"inputs": ["documents_text"]},
    "recruitment": {"inputs": ["documents_text"], "decides": ["hiring"]},
    "worker_management": {"inputs": ["numbers_transactions"], "decides": ["task_allocation"], "setting": ["workplace"]},
    "credit_scoring": {"inputs": ["numbers_transactions"], "decides": ["credit"]},
    "emotion_recognition": {"inputs": ["face_images"], "infers": ["emotions"], "setting": ["workplace"], "builds_face_database": False},
    "social_scoring": {"inputs": ["online_behaviour"], "infers": ["behaviour_score"]},
}


@pytest.fixture(scope="module")
def policy() -> ir.CheckedPolicy:
    checked, diagnostics = compile_policy(POLICY)
    assert checked is not None, [d.message for d in diagnostics if d.is_error]
    return checked


ANSWER = st.booleans()
ANSWERS = st.fixed_dictionaries({s: ANSWER for s in STEPS})


@st.composite
def ladders(draw: st.DrawFn) -> dict[str, dict[str, bool]]:
    """Each dimension climbs its ladder in order, around one company-wide level (so every level is reached)."""
    base = draw(st.integers(0, 5))
    heights = {dim: min(5, max(0, base + draw(st.integers(-1, 1)))) for dim in DIMENSIONS}
    return {dim: {s: i < heights[dim] for i, s in enumerate(STEPS)} for dim in DIMENSIONS}


# half of the companies climb the ladders in order, half answer each step at random
MATURITY = st.one_of(ladders(), st.fixed_dictionaries({dim: ANSWERS for dim in DIMENSIONS}))


@st.composite
def usecase(draw: st.DrawFn, index: int, complete: bool) -> dict[str, Any]:
    purpose = draw(st.sampled_from(PURPOSES))
    people = purpose in {"recruitment", "worker_management", "credit_scoring", "emotion_recognition", "social_scoring"}
    uc: dict[str, Any] = {
        "id": f"uc{index}",
        "name": f"Cas {index}",
        "function": draw(st.sampled_from(["finance", "hr", "customer_service", "production", "sales_marketing"])),
        "frictions": draw(st.lists(st.sampled_from(["repetitive_tasks", "rekeying", "frequent_errors",
                                                    "slow_decisions", "complex_spreadsheets"]), max_size=3, unique=True)),
        "built_by": "vendor",
        "inputs": [],
        "infers": [],
        "decides": [],
        "setting": [],
        "influences_behaviour": False,
        "hours_per_week": draw(st.integers(0, 120)),
        "people_involved": draw(st.integers(1, 60)),
        "expected_time_saving": draw(st.integers(10, 70)),
        "error_cost_per_year": draw(st.sampled_from([0, 5000, 40000, 150000])),
        "data_availability": draw(st.sampled_from(["ready", "partial", "scattered", "missing"])),
        "integration": draw(st.sampled_from(["none", "low", "medium", "high"])),
        "change_management": draw(st.sampled_from(["low", "medium", "high"])),
        "vendor_solution": draw(st.booleans()),
        "one_off_cost": draw(st.sampled_from([0, 2000, 10000, 50000, 200000])),
        "recurring_cost_per_year": draw(st.sampled_from([0, 1200, 6000, 20000])),
        "serves": draw(st.lists(st.sampled_from(OBJECTIVES), max_size=2, unique=True)),
        "affected": ["employees"] if people else draw(st.sampled_from([[], ["customers"], ["public"]])),
        "personal_data": people or draw(st.booleans()),
        "special_categories": [],
        "lawful_basis": "legitimate_interests",
        "profiling": people,
        "decisions_about_persons": people,
        "automated_decision": False,
        "significant_effect": people,
        "systematic_monitoring": purpose in {"worker_management", "emotion_recognition"},
        "large_scale": False,
        "combines_datasets": False,
        "blocks_right_or_service": purpose == "credit_scoring",
        "medical_or_safety_reason": False,
        "detrimental_treatment": True,
        "narrow_procedural_task": False,
        "improves_human_work": False,
        "detects_patterns_only": False,
        "preparatory_task": False,
        "interacts_with_people": purpose == "customer_assistance",
        "interaction_obvious": True,
        "generated_content": ["text"] if purpose in {"content_drafting", "customer_assistance"} else [],
        "assistive_editing_only": False,
        "legacy_generative_system": False,
        "deep_fake": False,
        "public_interest_text": False,
    }
    uc.update(FACTS[purpose])
    if not complete:
        # an express-style answer sheet: some facts left unanswered
        for key in draw(st.lists(st.sampled_from(["one_off_cost", "integration", "people_involved", "serves",
                                                  "data_availability", "recurring_cost_per_year"]), max_size=3)):
            uc[key] = "unknown"
    return uc


@st.composite
def company(draw: st.DrawFn, complete: bool = True) -> dict[str, Any]:
    headcount = draw(st.sampled_from([3, 9, 12, 30, 49, 50, 120, 249, 250, 400, 1200, 3000]))
    n = draw(st.integers(0, 10))
    tools = [
        {"id": f"t{i}", "name": f"Outil {i}", "personal_data": draw(st.booleans()),
         "confidential_data": draw(st.booleans()), "approved": draw(st.booleans())}
        for i in range(draw(st.integers(0, 2)))
    ]
    return {
        "organization": {
            "name": "Entreprise générée",
            "sector": draw(st.sampled_from(["industry", "services", "retail", "finance"])),
            "headcount": headcount,
            "annual_revenue": headcount * 150000,
            "ai_training_done": draw(st.booleans()) if complete else draw(st.sampled_from([True, False, "unknown"])),
            "objectives": draw(st.lists(st.sampled_from(OBJECTIVES), min_size=1, max_size=3, unique=True)),
            "main_objective": draw(st.sampled_from(OBJECTIVES)),
        },
        "maturity": draw(MATURITY),
        "tools": tools,
        "usecases": [draw(usecase(i, complete)) for i in range(n)],
    }


def evaluate(policy: ir.CheckedPolicy, data: dict[str, Any]) -> Result:
    assessment = validate(policy, copy.deepcopy(data), "generated.yaml")
    result, _ = run(policy, assessment, AS_OF)
    return result


class View:
    def __init__(self, result: Result) -> None:
        self.decisions = {(d.decision, d.entity): d for d in result.decisions}
        self.values = {(v.definition, v.entity): v.value for v in result.values}
        self.obligations = {(o.obligation, o.entity): o.status for o in result.obligations}
        self.ids = result.entities.get("usecases", [])

    def outcome(self, name: str, entity: str | None = None) -> str | None:
        d = self.decisions[(name, entity)]
        return d.outcome if d.status == DECIDED else None

    def value(self, name: str, entity: str | None = None) -> Any:
        return self.values[(name, entity)]


STEPS_IN_ORDER = ("test_start", "test_end", "adjustment_start", "adjustment_end", "deployment_start",
                  "deployment_end", "standardisation_start", "standardisation_end")
PREREQUISITES = ("data", "dpia", "fria", "oversight", "cse", "information")


@PROPS
@given(data=company())
def test_the_plan_fits_is_capacity_bound_and_never_selects_the_prohibited(policy, data):
    v = View(evaluate(policy, data))
    selected = [i for i in v.ids if v.outcome("selection", i) == "selected"]
    eligible = [i for i in v.ids if v.outcome("eligibility", i) in {"eligible", "eligible_with_compliance"}]
    # 2 to 5 levers when enough eligible high-impact candidates exist, never more than 5, never a filler
    assert len(selected) <= 5
    assert len(selected) == min(len(eligible), 5)
    planned_any = any(v.outcome("roadmap", i) == "planned" for i in selected)
    assert v.outcome("portfolio") == (("focused" if planned_any else "beyond_horizon") if len(selected) >= 2 else "groundwork_first")
    for i in selected:
        assert v.outcome("risk", i) != "prohibited"
        assert v.value("impact", i) >= 3
        assert v.outcome("roi_verdict", i) == "within_limit"
        if v.outcome("maturity_level") == "exploratory":
            assert v.outcome("quadrant", i) == "quick_win"
    planned = [i for i in selected if v.outcome("roadmap", i) == "planned"]
    gate = v.value("groundwork_gate_month")
    for i in selected:
        start, end = v.value("scheduled_test_start", i), v.value("scheduled_end", i)
        assert start > gate  # tests wait for the use policy and the training
        if i in planned:
            months = [v.value(name, i) for name in STEPS_IN_ORDER]
            assert all(a <= b for a, b in itertools.pairwise(months)), (i, months)
            assert months[0] == start and months[-1] == end
            assert 1 <= months[0] and months[-1] <= 12
            for step in PREREQUISITES:
                first, last = v.value(f"prerequisite_{step}_start", i), v.value(f"prerequisite_{step}_end", i)
                # a step not needed has no months (never 0); a needed one ends before the test
                assert (isinstance(first, NotApplicable) and isinstance(last, NotApplicable)) or 1 <= first <= last < months[0]
        else:  # never silently overflowing: deferred with its reason, and no month shown
            assert end > 12
            assert v.outcome("roadmap", i) in {"deferred_prerequisites", "deferred_capacity"}
            assert all(isinstance(v.value(name, i), NotApplicable) for name in STEPS_IN_ORDER)
    # capacity: concurrent pilots and deployments spaced
    limit, gap = v.value("max_concurrent_pilots"), v.value("deployment_gap_months")
    for month in range(1, 13):
        running = [i for i in planned if v.value("test_start", i) <= month <= v.value("adjustment_end", i)]
        assert len(running) <= limit, (month, running)
    deployments = sorted(v.value("scheduled_test_start", i) + v.value("test_months", i) + 1 for i in selected)  # + adjustment
    assert all(b - a >= gap for a, b in itertools.pairwise(deployments)), deployments
    tests = [v.value("scheduled_test_start", i) for i in selected]
    assert len(set(tests)) == len(tests)
    for i in v.ids:
        if i not in selected:
            assert v.outcome("roadmap", i) == "not_planned"
            assert isinstance(v.value("test_start", i), NotApplicable)
            assert isinstance(v.value("schedule_rank", i), NotApplicable)


@PROPS
@given(data=company())
def test_groundwork_whenever_governance_or_skills_are_weak(policy, data):
    v = View(evaluate(policy, data))
    scores = {dim: sum(data["maturity"][dim].values()) for dim in DIMENSIONS}
    critical = any(not t["approved"] and (t["personal_data"] or t["confidential_data"]) for t in data["tools"])
    governance = v.obligations[("groundwork_governance", None)]
    literacy = v.obligations[("groundwork_literacy", None)]
    assert (governance == "applies") == (scores["governance"] < 2 or critical)
    assert (literacy == "applies") == (scores["skills"] < 2 or not data["organization"]["ai_training_done"])
    assert (v.obligations[("groundwork_data", None)] == "applies") == (scores["data_quality"] < 2)
    if governance == "applies":  # present even when nothing is selected, scheduled from month 1
        assert v.value("groundwork_governance_start") == 1


@PROPS
@given(data=company(), dim=st.sampled_from(DIMENSIONS), step=st.sampled_from(STEPS))
def test_raising_one_maturity_answer_never_lowers_the_level(policy, data, dim, step):
    before = View(evaluate(policy, data)).outcome("maturity_level")
    raised = copy.deepcopy(data)
    raised["maturity"][dim][step] = True
    after = View(evaluate(policy, raised)).outcome("maturity_level")
    assert LEVELS.index(after) >= LEVELS.index(before)


@PROPS
@given(data=company(complete=False))
def test_every_decided_outcome_has_a_citation_even_with_unknown_inputs(policy, data):
    result = evaluate(policy, data)
    for decision in result.decisions:
        if decision.status == DECIDED:
            assert decision.cites, decision.key
    v = View(result)
    # the express-style sheet still yields first steps: the groundwork it settles is never undetermined
    # when its own answers are known
    if not isinstance(v.value("needs_governance_groundwork"), Unknown):
        assert v.obligations[("groundwork_governance", None)] in {"applies", "not_applicable"}
