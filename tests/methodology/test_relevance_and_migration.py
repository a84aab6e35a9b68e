"""Issue 15, Part A: questions as facts, conditional relevance (`ask when`) and the migration of
older assessments (E320) — on the shipped methodology, through the installed `stratdsl` command
and the questionnaire's own functions.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_legal_cases import BASE_MATURITY, BASE_ORGANIZATION

from stratdsl.commands.questionnaire import questions, relevant_now
from stratdsl.engine import compile_policy, compile_text
from stratdsl.language.diagnostics import StratError
from stratdsl.runtime.assessment import validate
from stratdsl.runtime.relevance import irrelevant_answers

POLICY = Path(__file__).resolve().parents[2] / "policies" / "strategy.strat"

#: the detail questions a bakery's order-forecasting tool must never be asked
BORDER_AND_POLICE = {
    "travel_document_check_only",
    "strictly_necessary_exception",
    "public_authority",
    "untargeted_scraping",
    "builds_face_database",
    "real_time",
    "campaign_logistics_only",
    "solely_profiling",
    "depicts_minors",
    "explicit_consent_of_depicted",
}


@pytest.fixture(scope="module")
def policy():
    checked, diagnostics = compile_policy(POLICY)
    assert checked is not None, diagnostics
    return checked


def stratdsl(*args: Any) -> subprocess.CompletedProcess[str]:
    found = shutil.which("stratdsl")
    command = [found] if found else [sys.executable, "-m", "stratdsl"]
    env = {k: v for k, v in os.environ.items() if k != "STRATDSL_DEBUG"}
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, encoding="utf-8", env=env, timeout=120, check=False)


def company(**usecase: Any) -> dict[str, Any]:
    return {
        "organization": dict(BASE_ORGANIZATION),
        "maturity": copy.deepcopy(BASE_MATURITY),
        "usecases": [{"id": "uc", "name": "Cas", **usecase}],
    }


def asked(policy, data: dict[str, Any]) -> set[str]:
    qs = [q for q in questions(policy, "fr") if q.input_name == "usecases"]
    return {q.field for q in relevant_now(policy, data, qs, "uc")}


def test_a_bakery_never_sees_border_or_police_questions(policy) -> None:
    bakery = company(inputs=["numbers_transactions"], infers=[], decides=[], setting=[], built_by="vendor", generated_content=[])
    shown = asked(policy, bakery)
    assert not shown & BORDER_AND_POLICE
    # and the 6(3) derogation questions only concern systems that decide or infer about people
    assert not shown & {"narrow_procedural_task", "preparatory_task"}
    assert {"inputs", "infers", "decides", "setting", "influences_behaviour", "personal_data"} <= shown


def test_the_facts_make_the_detail_questions_relevant(policy) -> None:
    border = company(inputs=["face_images"], infers=["identity"], decides=["border_detection"], setting=["border_migration"])
    shown = asked(policy, border)
    assert {"travel_document_check_only", "public_authority", "real_time", "builds_face_database"} <= shown
    assert "strictly_necessary_exception" not in shown  # identity, but not for law enforcement
    scraping = company(inputs=["face_images"], builds_face_database=True)
    assert "untargeted_scraping" in asked(policy, scraping)
    assert "untargeted_scraping" not in asked(policy, company(inputs=["face_images"], builds_face_database=False))


def test_an_answer_to_an_irrelevant_question_is_kept_and_warned(policy, tmp_path: Path) -> None:
    data = company(inputs=["documents_text"], infers=[], decides=[], setting=[], travel_document_check_only=True)
    warnings = irrelevant_answers(policy, validate(policy, data, "a.yaml"))
    assert [w.code for w in warnings] == ["W110"]
    assert "usecases[uc].travel_document_check_only" in warnings[0].message
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = stratdsl("eval", POLICY, path, "--as-of", "2026-11-26", "--lang", "en")
    assert out.returncode == 0, out.stderr
    assert "warning[W110]" in out.stderr and "travel_document_check_only" in out.stderr


def test_an_older_assessment_gets_E320_with_what_to_answer_instead(tmp_path: Path) -> None:
    old = company(role="deployer", purposes=["emotion_recognition", "recruitment"], at_workplace=True)
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(old, allow_unicode=True), encoding="utf-8")
    out = stratdsl("eval", POLICY, path, "--as-of", "2026-11-26", "--lang", "en")
    assert out.returncode == 1
    assert "error[E320]" in out.stderr and "Traceback" not in out.stderr
    assert "usecases[uc].purposes: this question is no longer asked" in out.stderr
    assert "'emotion_recognition' → infers: [emotions]" in out.stderr
    assert "'recruitment' → decides: [hiring]" in out.stderr
    assert "usecases[uc].role" in out.stderr and "'deployer' → built_by: vendor" in out.stderr
    assert "usecases[uc].at_workplace" in out.stderr and "setting: [workplace]" in out.stderr


def test_every_retired_purpose_says_what_to_answer(policy) -> None:
    hint, per_value = policy.inputs["usecases"].retired["purposes"]
    assert hint
    old_values = {
        "document_processing", "content_drafting", "customer_assistance", "business_forecasting", "quality_control",
        "marketing_content", "fraud_detection", "behaviour_manipulation", "vulnerability_exploitation", "social_scoring",
        "offending_risk", "facial_scraping", "emotion_recognition", "biometric_categorisation",
        "remote_biometric_identification", "biometric_verification", "intimate_imagery", "product_safety",
        "critical_infrastructure", "education_admission", "learning_evaluation", "education_level", "exam_proctoring",
        "recruitment", "worker_management", "public_benefits", "credit_scoring", "life_health_insurance",
        "emergency_triage", "crime_victim_risk", "lie_detection", "evidence_reliability", "criminal_profiling",
        "migration_risk", "asylum_visa", "border_identification", "judicial_assistance", "election_influence", "other",
    }  # fmt: skip
    assert set(per_value) == old_values


ASK_WHEN = """
policy "t" version "1"
input organization { large: bool }
input usecases: many usecase {
  faces: bool
  scraping: bool ask when faces and organization.large
  late: bool ask when later
  number_condition: bool ask when hours
  reads_a_definition: bool ask when d
  later: bool
  hours: number
}
define d for each usecase = faces
decision x for each usecase { a when faces and scraping and late and number_condition and reads_a_definition and later and hours > 1 otherwise b }
"""


def test_ask_when_conditions_are_checked() -> None:
    checked, diagnostics = compile_text(ASK_WHEN)
    assert checked is None
    found = sorted((d.code, d.message) for d in diagnostics if d.is_error)
    assert [code for code, _ in found] == ["E050", "E050", "E051", "E052"]
    assert any("reads 'later', which is not asked before it" in m for _, m in found)
    assert any("must be true or false, not a number" in m for _, m in found)
    assert any("reads 'd', which is not an answer" in m for _, m in found)


def test_retired_questions_are_refused_with_their_hint() -> None:
    checked, diagnostics = compile_text(
        'policy "t" version "1"\ninput usecases: many usecase {\n  a: bool\n  retired old "answer a" { x "a: true" }\n}\n'
        "decision d for each usecase { y when a otherwise z }\n"
    )
    assert checked is not None, diagnostics
    with pytest.raises(StratError) as raised:
        validate(checked, {"usecases": [{"id": "u", "old": ["x", "w"]}]}, "a.yaml")
    [problem] = raised.value.diagnostics
    assert problem.code == "E320" and "usecases[u].old: this question is no longer asked — answer a" in problem.message
    assert problem.hint == "answer instead: 'x' → a: true"
