"""Issue 15, B14: answers taken from a declared `default` are assumptions, shown as such.

A high-risk recruitment tool whose "already in service before the high-risk date" question was
left out takes the policy's default (`no`, Art. 111(2)); the Art. 26 duties and the DPIA of
Art. 26(9) then apply — outcomes that rest on an answer nobody gave, while the risk category does
not depend on it. Evaluation, explanation, JSON, report and the express pre-diagnosis say so
("assumed: … — answer to confirm"); the same facts answered explicitly carry no assumption.
Through the installed `stratdsl` command, on the shipped methodology.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_legal_cases import BASE_MATURITY, BASE_ORGANIZATION, BASE_USECASE

from stratdsl.commands.diagnose import render_prediagnosis
from stratdsl.engine import compile_text, run
from stratdsl.runtime.assessment import validate

POLICY = Path(__file__).resolve().parents[2] / "policies" / "strategy.strat"
PATH = "usecases[uc].in_service_before_high_risk_date"
AS_OF = "2028-01-15"


def assessment(**facts: Any) -> dict[str, Any]:
    usecase = {
        **copy.deepcopy(BASE_USECASE),
        "id": "uc",
        "decides": ["hiring"],
        "affected": ["candidates"],
        "personal_data": True,
        "lawful_basis": "legitimate_interests",
        **facts,
    }
    if "in_service_before_high_risk_date" not in facts:
        usecase.pop("in_service_before_high_risk_date", None)  # left out: the default (false) fills it
        usecase.pop("significant_design_change", None)
    return {"organization": dict(BASE_ORGANIZATION), "maturity": copy.deepcopy(BASE_MATURITY), "usecases": [usecase]}


def stratdsl_command() -> list[str]:
    found = shutil.which("stratdsl")
    return [found] if found else [sys.executable, "-m", "stratdsl"]


def stratdsl(*args: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STRATDSL_DEBUG"}
    return subprocess.run(
        [*stratdsl_command(), *map(str, args)], capture_output=True, text=True, encoding="utf-8", env=env, timeout=120, check=False
    )


@pytest.fixture()
def left_out(tmp_path: Path) -> Path:
    path = tmp_path / "left-out.yaml"
    path.write_text(yaml.safe_dump(assessment(), allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture()
def answered(tmp_path: Path) -> Path:
    path = tmp_path / "answered.yaml"
    path.write_text(yaml.safe_dump(assessment(in_service_before_high_risk_date=False), allow_unicode=True), encoding="utf-8")
    return path


def test_eval_marks_what_rests_on_a_default(left_out: Path, answered: Path) -> None:
    out = stratdsl("eval", POLICY, left_out, "--as-of", AS_OF, "--lang", "en")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    duty = next(line for line in lines if "(follow_instructions)" in line)  # label first, code in brackets
    assert f"(assumed: {PATH} = false — answer to confirm)" in duty
    risk = next(line for line in lines if line.strip().startswith("risk:"))
    assert "high" in risk and "assumed" not in risk  # the category does not depend on it
    clean = stratdsl("eval", POLICY, answered, "--as-of", AS_OF, "--lang", "en")
    assert clean.returncode == 0, clean.stderr
    assert "assumed" not in clean.stdout


def test_only_results_that_depend_on_the_default_are_marked(left_out: Path) -> None:
    out = stratdsl("eval", POLICY, left_out, "--as-of", AS_OF, "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["assumed"][PATH] is False
    decisions = {d["decision"] for d in data["decisions"] if d.get("assumed")}
    assert "dpia" in decisions  # Art. 26(9): required only while the duties apply
    assert "risk" not in decisions and "gdpr_scope" not in decisions
    obligations = {o["obligation"] for o in data["obligations"] if o.get("assumed")}
    assert {"follow_instructions", "human_oversight", "keep_logs"} <= obligations
    for item in [*data["decisions"], *data["obligations"]]:
        if item.get("assumed"):
            assert item["assumed"] == [PATH]


def test_explain_says_the_outcome_rests_on_an_assumption(left_out: Path) -> None:
    out = stratdsl("explain", POLICY, left_out, "dpia", "--for", "uc", "--as-of", AS_OF, "--lang", "en")
    assert out.returncode == 0, out.stderr
    assert f"rests on assumed answers (declared defaults, to confirm): {PATH}" in out.stdout


def test_report_shows_the_assumption(left_out: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    out = stratdsl("report", POLICY, left_out, "--as-of", AS_OF, "--lang", "en", "--format", "markdown", "-o", target)
    assert out.returncode == 0, out.stderr
    text = target.read_text(encoding="utf-8")
    assert "assumed" in text and "answer to confirm" in text and PATH in text


PREDIAGNOSIS = """
policy "t" version "1"
input usecases: many usecase {
  name: text required
  law_enforcement: bool label en "Used by or for a law enforcement authority" default false
  victim_risk: bool
}
decision risk for each usecase express 1 {
  high when victim_risk and law_enforcement
  otherwise minimal
}
"""


def test_prediagnosis_names_the_question_to_confirm() -> None:
    policy, diagnostics = compile_text(PREDIAGNOSIS)
    assert policy is not None, diagnostics
    data = {"usecases": [{"id": "uc", "name": "Victim risk", "victim_risk": True}]}
    result, _ = run(policy, validate(policy, data, "a.yaml"), date(2028, 1, 15))
    text = render_prediagnosis(policy, result, "en")
    assert "assumed: Used by or for a law enforcement authority = no — answer to confirm" in text
    data["usecases"][0]["law_enforcement"] = False
    result, _ = run(policy, validate(policy, data, "a.yaml"), date(2028, 1, 15))
    assert "assumed" not in render_prediagnosis(policy, result, "en")
