"""Legal test corpus: the AI Act and GDPR classification of the reference policy,
checked case by case against the regulation's text.

The cases live in two tables next to this module, ai_act_cases.yaml and
gdpr_cases.yaml (their headers describe the format). Each case is one use case
(`id: uc`) added to a shared base assessment: the organization and maturity
below, and a neutral use case whose legal facts are all "no" / empty, so that a
case only states the facts that matter. The policy is compiled once per module
and evaluated through the Python API (stratdsl.engine).

A case marked `xfail: "POLICY BUG: …"` records a disagreement between the
policy and the law; it runs as a strict xfail, so a fix makes it XPASS (and
fail) until the marker is removed from the table.
"""

from __future__ import annotations

import copy
import functools
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from stratdsl.engine import compile_policy, parse_params, run
from stratdsl.language import ir
from stratdsl.runtime.assessment import validate
from stratdsl.runtime.result import DECIDED, UNDETERMINED, Result

HERE = Path(__file__).resolve().parent
POLICY = HERE.parent.parent / "policies" / "strategy.strat"
AI_ACT_TABLE = HERE / "ai_act_cases.yaml"
GDPR_TABLE = HERE / "gdpr_cases.yaml"
#: plain-language use cases as an SME describes them, each with its category and why (issue 15)
SME_TABLE = HERE / "sme_cases.yaml"

DEFAULT_AS_OF = date(2026, 11, 26)
#: Art. 113(a): Chapters I and II (Art. 4 AI literacy, Art. 5 prohibitions) apply from this date.
ART_4_DATE = date(2025, 2, 2)
#: Reg. (EU) 2026/1744, Art. 4: entry into force of the Omnibus (Art. 4 of the AI Act replaced).
OMNIBUS_IN_FORCE = date(2026, 7, 27)
ENTITY = "uc"
ENTITY_PATH = f"usecases[{ENTITY}]"

# ------------------------------------------------------------------ the shared base assessment

BASE_ORGANIZATION: dict[str, Any] = {
    "name": "PME de test",
    "sector": "services",
    "headcount": 40,
    "annual_revenue": 4_000_000,
    "country": "France",
    "public_body": False,
    "public_services": False,
    "ai_training_done": False,
    "dpo_appointed": False,
}

BASE_MATURITY: dict[str, Any] = {
    dimension: {"practiced": True, "documented": True, "owned": False, "measured": False, "improved": False}
    for dimension in ("data_quality", "processes", "skills", "culture", "governance")
}

#: Every legal fact answered with the neutral value: no input, inference, decision or setting the law lists,
#: every condition "no", every list empty. Cases override what matters.
BASE_USECASE: dict[str, Any] = {
    "name": "Cas d'usage de test",
    "function": "other",
    "built_by": "vendor",
    "inputs": [],
    "infers": [],
    "decides": [],
    "setting": [],
    "affected": ["customers"],
    # GDPR
    "personal_data": False,
    "special_categories": [],
    "lawful_basis": "contract",
    "profiling": False,
    "decisions_about_persons": False,
    "automated_decision": False,
    "significant_effect": False,
    "systematic_monitoring": False,
    "large_scale": False,
    "combines_datasets": False,
    "blocks_right_or_service": False,
    # AI Act: Art. 5, Annex III, Art. 6
    "influences_behaviour": False,
    "manipulative_techniques": False,
    "exploits_vulnerability": False,
    "harmful_distortion": False,
    "builds_face_database": False,
    "safety_function": False,
    "published": False,
    "generates_intimate_content": False,
    "detrimental_treatment": False,
    "solely_profiling": False,
    "supports_human_assessment": False,
    "medical_or_safety_reason": False,
    "lawful_dataset_labelling": False,
    "untargeted_scraping": False,
    "annex_i_family": "none",
    "depicts_minors": False,
    "explicit_consent_of_depicted": False,
    "foreseeable_intimate_output": False,
    "misuse_safeguards": False,
    "in_service_before_high_risk_date": False,
    "significant_design_change": False,
    "bias_detection_special_data": False,
    "automated_decision_ground": "none",
    "criminal_data": False,
    "innovative_technology": False,
    "core_activity": False,
    "residual_high_risk": False,
    "real_time": False,
    "strictly_necessary_exception": False,
    "public_authority": False,
    "travel_document_check_only": False,
    "campaign_logistics_only": False,
    "third_party_conformity": False,
    "narrow_procedural_task": False,
    "improves_human_work": False,
    "detects_patterns_only": False,
    "preparatory_task": False,
    # AI Act: Art. 50
    "interacts_with_people": False,
    "interaction_obvious": False,
    "generated_content": [],
    "assistive_editing_only": False,
    "legacy_generative_system": False,
    "deep_fake": False,
    "artistic_or_satirical": False,
    "public_interest_text": False,
    "editorial_review": False,
}

# ------------------------------------------------------------------ the tables

CASE_KEYS = {"id", "article", "description", "why", "as_of", "params", "organization", "facts", "expect", "xfail"}
EXPECT_KEYS = {"must_apply", "must_not_apply", "missing", "possible", "cites"}  # everything else is a decision


def load_table(path: Path) -> list[dict[str, Any]]:
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(cases, list), f"{path.name} must be a list of cases"
    return cases


AI_ACT_CASES = load_table(AI_ACT_TABLE)
GDPR_CASES = load_table(GDPR_TABLE)
SME_CASES = load_table(SME_TABLE)


def as_params(cases: list[dict[str, Any]]) -> list[Any]:
    """One pytest parameter per case, named by its id; POLICY BUG cases become strict xfails."""
    out = []
    for case in cases:
        marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if "xfail" in case else []
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


# ------------------------------------------------------------------ evaluation


@pytest.fixture(scope="module")
def policy() -> ir.CheckedPolicy:
    return compiled_policy()


@functools.cache
def compiled_policy() -> ir.CheckedPolicy:
    checked, diagnostics = compile_policy(POLICY)
    errors = [d for d in diagnostics if d.is_error]
    assert checked is not None and not errors, f"{POLICY} does not check: {[(d.code, d.message) for d in errors]}"
    return checked


def case_as_of(case: dict[str, Any]) -> date:
    value = case.get("as_of", DEFAULT_AS_OF)
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def case_params(policy: ir.CheckedPolicy, case: dict[str, Any]) -> dict[str, Any]:
    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    return parse_params(policy, [f"{name}={text(value)}" for name, value in (case.get("params") or {}).items()])


def assessment_data(case: dict[str, Any]) -> dict[str, Any]:
    usecase = {**copy.deepcopy(BASE_USECASE), **copy.deepcopy(case.get("facts") or {}), "id": ENTITY}
    return {
        "organization": {**BASE_ORGANIZATION, **(case.get("organization") or {})},
        "maturity": copy.deepcopy(BASE_MATURITY),
        "usecases": [usecase],
    }


def evaluate_case(policy: ir.CheckedPolicy, case: dict[str, Any]) -> Result:
    assessment = validate(policy, assessment_data(case), f"{case['id']}.yaml")
    result, _ = run(policy, assessment, case_as_of(case), case_params(policy, case))
    return result


def obligation_status(result: Result, name: str) -> str:
    found = [o.status for o in result.obligations if o.obligation == name and o.entity == ENTITY]
    assert found, f"obligation {name} was not evaluated for {ENTITY}"
    return found[0]


def check_case(policy: ir.CheckedPolicy, case: dict[str, Any], art4: bool) -> None:
    """Evaluate one case and assert every expectation; all mismatches are reported together."""
    result = evaluate_case(policy, case)
    expect = case["expect"]
    problems: list[str] = []
    undetermined: list[str] = []

    for decision, expected in expect.items():
        if decision in EXPECT_KEYS:
            continue
        d = result.find(decision, ENTITY)
        if d is None:
            problems.append(f"{decision}: not evaluated")
            continue
        if expected == UNDETERMINED:
            undetermined.append(decision)
            if d.status != UNDETERMINED:
                problems.append(f"{decision}: expected undetermined, got {d.status} {d.outcome}")
        elif d.status != DECIDED or d.outcome != expected:
            shown = d.outcome if d.status == DECIDED else f"{d.status} (possible {list(d.possible)}, missing {list(d.missing)})"
            problems.append(f"{decision}: expected {expected}, got {shown}")

    for fact in expect.get("missing", []):
        path = f"{ENTITY_PATH}.{fact}"
        for decision in undetermined:
            d = result.find(decision, ENTITY)
            if d is not None and path not in d.missing:
                problems.append(f"{decision}: missing facts {list(d.missing)} do not list {path}")

    for decision, outcomes in (expect.get("possible") or {}).items():
        d = result.find(decision, ENTITY)
        if d is not None and sorted(d.possible) != sorted(outcomes):
            problems.append(f"{decision}: possible outcomes {sorted(d.possible)}, expected {sorted(outcomes)}")

    for decision, references in (expect.get("cites") or {}).items():
        d = result.find(decision, ENTITY)
        cited = [c.text for c in d.cites] if d is not None else []
        for reference in references:
            if not any(reference in text for text in cited):
                problems.append(f"{decision}: does not cite {reference!r} (cites {cited})")

    for name in expect.get("must_apply", []):
        status = obligation_status(result, name)
        if status != "applies":
            problems.append(f"obligation {name}: expected applies, got {status}")
    for name in expect.get("must_not_apply", []):
        status = obligation_status(result, name)
        if status not in ("not_applicable", "not_in_force"):
            problems.append(f"obligation {name}: expected not to apply, got {status}")

    # Art. 4: AI literacy for every use case that is not prohibited, from 2 February 2025 — in
    # the wording of 2026/1744, Art. 1, point (5) ("measures to support", no level required) once
    # the Omnibus is in force (27 July 2026), in the 2024 wording before or under the 2024 timeline.
    risk = expect.get("risk")
    if art4 and risk not in (None, UNDETERMINED, "prohibited"):
        omnibus = (case.get("params") or {}).get("timeline", "omnibus_2026") == "omnibus_2026"
        current = "ai_literacy" if omnibus and case_as_of(case) >= OMNIBUS_IN_FORCE else "ai_literacy_2024"
        other = "ai_literacy_2024" if current == "ai_literacy" else "ai_literacy"
        wanted = "applies" if case_as_of(case) >= ART_4_DATE else "not_in_force"
        status = obligation_status(result, current)
        if status != wanted:
            problems.append(f"obligation {current} (Art. 4): expected {wanted}, got {status}")
        if obligation_status(result, other) == "applies":
            problems.append(f"obligation {other} (Art. 4) applies beside {current}")

    assert not problems, f"{case['id']} ({case['article']}): " + "; ".join(problems)


@pytest.mark.parametrize("case", as_params(AI_ACT_CASES))
def test_ai_act_case(policy: ir.CheckedPolicy, case: dict[str, Any]) -> None:
    check_case(policy, case, art4=True)


@pytest.mark.parametrize("case", as_params(GDPR_CASES))
def test_gdpr_case(policy: ir.CheckedPolicy, case: dict[str, Any]) -> None:
    check_case(policy, case, art4=False)


@pytest.mark.parametrize("case", as_params(SME_CASES))
def test_sme_case(policy: ir.CheckedPolicy, case: dict[str, Any]) -> None:
    check_case(policy, case, art4=True)


def test_sme_cases_cover_the_boundaries() -> None:
    """At least 40 plain-language cases, each with its reason, and every boundary pair of issue 15."""
    assert len(SME_CASES) >= 40
    assert all(str(c.get("why", "")).strip() for c in SME_CASES)
    ids = {c["id"] for c in SME_CASES}
    pairs = [
        ("sme03_email_sentiment_customer_service", "sme04_call_centre_voice_emotions_staff"),  # sentiment vs emotion
        ("sme05_shop_camera_customer_moods", "sme04_call_centre_voice_emotions_staff"),  # customers vs workers
        ("sme06_truck_driver_drowsiness", "sme07_driver_stress_for_safety"),  # fatigue vs emotion
        ("sme17_employee_badge_photos", "sme18_scraping_social_media_faces"),  # targeted vs untargeted
        ("sme13_card_fraud_detection", "sme14_consumer_credit_scoring"),  # fraud vs credit
        ("sme15_face_unlock_laptops", "sme16_shop_watchlist_face_identification"),  # verification vs identification
        ("sme21_spelling_correction", "sme22_marketing_texts_generation"),  # assistive editing vs generation
    ]
    for a, b in pairs:
        assert a in ids and b in ids


# ------------------------------------------------------------------ the tables themselves


@pytest.mark.parametrize("table", [AI_ACT_TABLE, GDPR_TABLE, SME_TABLE], ids=lambda p: p.name)
def test_table_is_well_formed(policy: ir.CheckedPolicy, table: Path) -> None:
    """Typos in a table would make a case pass vacuously: every name must exist in the policy."""
    cases = load_table(table)
    problems: list[str] = []
    fields = policy.inputs["usecases"].fields
    org_fields = policy.inputs["organization"].fields
    for case in cases:
        where = case.get("id", "<no id>")
        for key in ("id", "article", "description", "expect"):
            if not case.get(key):
                problems.append(f"{where}: no {key}")
        problems += [f"{where}: unknown key {k}" for k in set(case) - CASE_KEYS]
        problems += [f"{where}: unknown fact {f}" for f in (case.get("facts") or {}) if f not in fields]
        problems += [f"{where}: unknown organization field {f}" for f in (case.get("organization") or {}) if f not in org_fields]
        if "xfail" in case and not str(case["xfail"]).startswith("POLICY BUG:"):
            problems.append(f"{where}: xfail reasons start with 'POLICY BUG:'")
        case_params(policy, case)  # raises on an unknown parameter or value
        expect = case.get("expect") or {}
        for decision, expected in expect.items():
            if decision in EXPECT_KEYS:
                continue
            target = policy.decisions.get(decision)
            if target is None:
                problems.append(f"{where}: unknown decision {decision}")
            elif expected != UNDETERMINED and target.outcome(expected) is None:
                problems.append(f"{where}: {expected} is not an outcome of {decision}")
        for decision, outcomes in (expect.get("possible") or {}).items():
            target = policy.decisions.get(decision)
            problems += [
                f"{where}: {o} is not an outcome of {decision}" for o in outcomes if target is None or target.outcome(o) is None
            ]
        for decision in expect.get("cites") or {}:
            if decision not in policy.decisions:
                problems.append(f"{where}: unknown decision {decision} in cites")
        for name in [*expect.get("must_apply", []), *expect.get("must_not_apply", [])]:
            if name not in policy.obligations:
                problems.append(f"{where}: unknown obligation {name}")
        problems += [f"{where}: unknown fact {f} in missing" for f in expect.get("missing", []) if f not in fields]
        if expect.get("missing") and UNDETERMINED not in expect.values():
            problems.append(f"{where}: `missing` needs a decision expected undetermined")
    duplicates = [i for i, n in Counter(c.get("id") for c in cases).items() if n > 1]
    problems += [f"duplicate id {i}" for i in duplicates]
    assert not problems, "\n".join(problems)


def test_base_use_case_answers_every_legal_fact(policy: ir.CheckedPolicy) -> None:
    """The neutral base must answer every use-case fact that the AI Act and GDPR rules read,
    or a case could turn undetermined because of a fact it never meant to leave open."""
    legal_fields = {
        name
        for name in policy.inputs["usecases"].fields
        if name
        not in {
            "frictions",
            "hours_per_week",
            "people_involved",
            "hourly_cost",
            "error_cost_per_year",
            "expected_time_saving",
            "data_availability",
            "integration",
            "change_management",
            "vendor_solution",
            "one_off_cost",
            "recurring_cost_per_year",
            "impact_override",
            "impact_override_reason",
            "effort_override",
            "effort_override_reason",
            # strategy facts (issue 14)
            "serves",
            "current_lead_time_days",
            "measured_value",
        }
    }
    assert legal_fields <= set(BASE_USECASE), f"base use case does not answer {sorted(legal_fields - set(BASE_USECASE))}"
