"""Issue 15, B14: answers taken from a declared `default` are assumptions, shown as such.

A use case whose law-enforcement question was left out takes the policy's default (`no`); the
Annex III 6(a) point then does not apply and the system is minimal risk — an outcome that rests
on an answer nobody gave. Evaluation, explanation, JSON, report and the express pre-diagnosis say
so ("assumed: … — answer to confirm"); the same facts answered explicitly carry no assumption.
All through the installed `stratdsl` command, on the shipped methodology.
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
from stratdsl.engine import compile_policy, run
from stratdsl.runtime.assessment import validate

POLICY = Path(__file__).resolve().parents[2] / "policies" / "strategy.strat"
PATH = "usecases[uc].law_enforcement"


def assessment(**facts: Any) -> dict[str, Any]:
    usecase = {**copy.deepcopy(BASE_USECASE), "id": "uc", "purposes": ["crime_victim_risk"], "affected": ["public"], **facts}
    usecase.pop("law_enforcement", None)  # left out: the declared default (false) fills it
    usecase.update({k: v for k, v in facts.items() if k == "law_enforcement"})
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
    path.write_text(yaml.safe_dump(assessment(law_enforcement=False), allow_unicode=True), encoding="utf-8")
    return path


def test_eval_marks_the_decisions_resting_on_a_default(left_out: Path, answered: Path) -> None:
    out = stratdsl("eval", POLICY, left_out, "--as-of", "2028-01-15", "--lang", "en")
    assert out.returncode == 0, out.stderr
    risk = next(line for line in out.stdout.splitlines() if line.strip().startswith("risk:"))
    assert "minimal" in risk
    assert f"(assumed: {PATH} = false — answer to confirm)" in risk
    clean = stratdsl("eval", POLICY, answered, "--as-of", "2028-01-15", "--lang", "en")
    assert clean.returncode == 0, clean.stderr
    assert "assumed" not in clean.stdout


def test_only_decisions_that_depend_on_the_default_are_marked(left_out: Path) -> None:
    out = stratdsl("eval", POLICY, left_out, "--as-of", "2028-01-15", "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["assumed"][PATH] is False
    marked = {d["decision"] for d in data["decisions"] if d.get("assumed")}
    assert {"annex_iii_point", "risk"} <= marked
    # the GDPR scope does not read the law-enforcement answer
    assert "gdpr_scope" not in marked
    for d in data["decisions"]:
        if d.get("assumed"):
            assert d["assumed"] == [PATH]


def test_explain_says_the_outcome_rests_on_an_assumption(left_out: Path) -> None:
    out = stratdsl("explain", POLICY, left_out, "risk", "--for", "uc", "--as-of", "2028-01-15")
    assert out.returncode == 0, out.stderr
    assert f"rests on assumed answers (declared defaults, to confirm): {PATH}" in out.stdout


def test_report_shows_the_assumption(left_out: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    out = stratdsl("report", POLICY, left_out, "--as-of", "2028-01-15", "--lang", "en", "--format", "markdown", "-o", target)
    assert out.returncode == 0, out.stderr
    text = target.read_text(encoding="utf-8")
    assert "assumed" in text and "answer to confirm" in text and PATH in text


def test_prediagnosis_names_the_question_to_confirm() -> None:
    policy, diagnostics = compile_policy(POLICY)
    assert policy is not None, diagnostics
    result, _ = run(policy, validate(policy, assessment(), "a.yaml"), date(2028, 1, 15))
    text = render_prediagnosis(policy, result, "en")
    assert "assumed: Used by or for a law enforcement authority = no — answer to confirm" in text
