"""Stage 6: explanations (explain.py, whynot.py, render/text.py, render/json_out.py).

Golden explanations: each case below is the output of
`stratdsl explain policy.strat assessment.yaml …` run inside tests/golden/explain/
and must equal `NAME.txt` (or `NAME.json`). `STRATDSL_REGEN=1 pytest tests/test_explain.py`
rewrites them.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from helpers import GOLDEN, compare_golden, stage_error
from stratdsl.commands.cli import main
from stratdsl.engine import explain, load_assessment, require_policy

EXPLAIN_DIR = GOLDEN / "explain"
AS_OF = "2026-09-01"

CASES = {
    # a numeric smallest change: effort 3.2 → below 3
    "quadrant_why_not_quick_win": ["quadrant", "--for", "ocr", "--why-not", "quick_win"],
    # an `unless` exception that applied
    "risk_exception_applied": ["risk", "--for", "ocr"],
    # unknown facts: several possible outcomes and the missing fact
    "risk_undetermined": ["risk", "--for", "chat"],
    # a rule not in force on the as-of date, and why not its outcome
    "risk_not_in_force_why_not_high": ["risk", "--for", "cv", "--why-not", "high", "--as-of", "2026-07-01"],
    # why not an outcome that was chosen
    "risk_why_not_chosen": ["risk", "--for", "cv", "--why-not", "high"],
    # linear changes through a definition, and an integer input
    "priority_why_not_top": ["priority", "--for", "ocr", "--why-not", "top"],
    # a non-linear definition: reported as the definition to change
    "priority_why_not_heavy": ["priority", "--for", "cv", "--why-not", "heavy"],
    # English labels, two failed parts
    "quadrant_en_why_not_structuring": ["quadrant", "--for", "chat", "--lang", "en", "--why-not", "structuring"],
    # every entity when --for is left out
    "quadrant_all": ["quadrant"],
    # bands: the value read and each bound
    "level_bands": ["level", "--for", "ocr"],
    # the same explanations with every frame word in English (the others are in French)
    "en_quadrant_why_not_quick_win": ["quadrant", "--for", "ocr", "--why-not", "quick_win", "--lang", "en"],
    "en_risk_undetermined": ["risk", "--for", "chat", "--lang", "en"],
    "en_risk_not_in_force_why_not_high": ["risk", "--for", "cv", "--why-not", "high", "--as-of", "2026-07-01", "--lang", "en"],
    # undetermined: the single answers that settle it, and the closest change, in both languages
    "risk_undetermined_why_not_high": ["risk", "--for", "chat", "--why-not", "high"],
    "en_risk_undetermined_why_not_high": ["risk", "--for", "chat", "--why-not", "high", "--lang", "en"],
}
JSON_CASES = {
    "quadrant_why_not_quick_win": ["quadrant", "--for", "ocr", "--why-not", "quick_win"],
}


def run_explain(monkeypatch, args: list[str]):
    monkeypatch.chdir(EXPLAIN_DIR)
    if "--as-of" not in args:
        args = [*args, "--as-of", AS_OF]
    if "--lang" not in args:  # the golden policy has no label: pin the language, not the environment's
        args = [*args, "--lang", "fr"]
    return CliRunner().invoke(main, ["explain", "policy.strat", "assessment.yaml", *args], catch_exceptions=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_explain_golden(name, monkeypatch):
    result = run_explain(monkeypatch, CASES[name])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    compare_golden(EXPLAIN_DIR / f"{name}.txt", result.stdout)


@pytest.mark.parametrize("name", sorted(JSON_CASES))
def test_explain_json_golden(name, monkeypatch):
    result = run_explain(monkeypatch, [*JSON_CASES[name], "--format", "json"])
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)
    compare_golden(EXPLAIN_DIR / f"{name}.json", result.stdout)


def test_golden_files_have_cases():
    names = {p.stem for p in EXPLAIN_DIR.glob("*.txt")}
    assert names <= set(CASES), f"golden files without a case: {sorted(names - set(CASES))}"


# ================================================================== structured explanations


@pytest.fixture(scope="module")
def policy():
    return require_policy(EXPLAIN_DIR / "policy.strat")[0]


@pytest.fixture(scope="module")
def facts(policy):
    return load_assessment(policy, EXPLAIN_DIR / "assessment.yaml")


def explain_one(policy, facts, decision, entity, why_not=None, as_of=date(2026, 9, 1)):
    ((x, why),) = explain(policy, facts, decision, as_of, None, entity, why_not)
    return x, why


def test_smallest_numeric_change(policy, facts):
    x, why = explain_one(policy, facts, "quadrant", "ocr", "quick_win")
    assert x.result.outcome == "structuring"
    assert why.outcome == "quick_win" and not why.chosen
    (blocker,) = why.blockers
    assert (blocker.rule, blocker.kind, blocker.detail) == ("quadrant.quick_win", "condition", "its condition is false")
    (change,) = blocker.changes
    assert (change.fact, change.current, change.needed, change.exact) == ("usecases[ocr].effort", Decimal("3.2"), "below 3", True)
    (failed,) = blocker.failed
    assert (failed.text, failed.value) == ("effort < 3", False)


def test_changes_through_a_linear_definition(policy, facts):
    _x, why = explain_one(policy, facts, "priority", "ocr", "top")
    (blocker,) = why.blockers
    assert [(c.fact, c.current, c.needed, c.exact) for c in blocker.changes] == [
        ("usecases[ocr].effort", Decimal("3.2"), "3 or less", True),  # 2×4 − e ≥ 5
        ("usecases[ocr].impact", Decimal(4), "4.1 or more", True),  # 2×i − 3.2 ≥ 5
        ("usecases[ocr].hours", Decimal(20), "9 or less", True),  # an integer: < 10 is 9 or less
    ]


def test_non_linear_definition_is_not_turned_into_an_input_change(policy, facts):
    _x, why = explain_one(policy, facts, "priority", "cv", "heavy")
    (blocker,) = why.blockers
    (change,) = blocker.changes
    assert (change.fact, change.current, change.needed, change.exact) == ("load", Decimal(24), "above 40", False)
    assert "not linear" in change.note


def test_exception_explanation(policy, facts):
    x, why = explain_one(policy, facts, "risk", "ocr", "high")
    high = x.rules[0]
    assert (high.id, high.status) == ("risk.high", "excepted")
    (exc,) = high.exceptions
    assert (exc.id, exc.status) == ("risk.high.unless1", "applied")
    assert [c.text for c in exc.cites] == ["AI Act Art. 6(3)(a)"]
    (blocker,) = why.blockers
    assert blocker.kind == "exception"
    assert blocker.detail == "its condition held, but the exception 'risk.high.unless1' applied"


def test_undetermined_explanation(policy, facts):
    x, why = explain_one(policy, facts, "risk", "chat", "minimal")
    assert x.result.status == "undetermined"
    assert x.result.possible == ("high", "limited", "minimal")
    assert x.result.missing == ("usecases[chat].profiling",)
    assert [(r.id, r.status, r.missing) for r in x.rules] == [
        ("risk.high", "exception_unknown", ("usecases[chat].profiling",)),
        ("risk.limited", "unknown", ("usecases[chat].profiling",)),
        ("risk.minimal", "fired", ()),
    ]
    (blocker,) = why.blockers  # (it holds, but the rules before it may apply: not "it gave the outcome")
    assert blocker.kind == "earlier_rule"
    assert blocker.detail == (
        "its condition holds, but the rules before it may apply (risk.high, risk.limited): it gives the outcome only if none of them does"
    )


def test_not_in_force(policy, facts):
    x, why = explain_one(policy, facts, "risk", "cv", "high", as_of=date(2026, 7, 1))
    assert x.rules[0].status == "not_in_force"
    assert x.rules[0].valid_from == date(2026, 8, 2)
    (blocker,) = why.blockers
    assert blocker.kind == "not_in_force"
    assert blocker.detail == "not in force on 2026-07-01 (in force from 2026-08-02)"


def test_earlier_rule_decided_first(policy, facts):
    _x, why = explain_one(policy, facts, "quadrant", "cv", "avoid")
    (blocker,) = why.blockers
    assert blocker.kind == "earlier_rule"
    assert blocker.detail == "rule 'quadrant.quick_win' applied first and decided 'quick_win'"


def test_first_failure_and_definitions_read(policy, facts):
    x, _ = explain_one(policy, facts, "priority", "cv")
    top = x.rules[0]
    assert top.status == "false"
    assert (top.first_failure.text, top.first_failure.value) == ("hours < 10", False)
    assert [(d.name, d.value) for d in x.definitions] == [("score", Decimal(5)), ("load", Decimal(24))]


def test_sub_conditions_skipped_by_short_circuit_still_get_values(policy, facts):
    x, _ = explain_one(policy, facts, "quadrant", "chat")
    quick_win = x.rules[0].condition
    assert quick_win.kind == "and"
    assert [(c.text, c.value, c.computed) for c in quick_win.children] == [
        ("impact >= threshold", False, True),
        ("effort < 3", True, True),
    ]


def test_bad_explain_requests(policy, facts):
    (d,) = stage_error(explain, policy, facts, "quadrnt", date(2026, 9, 1))
    assert (d.code, d.message, d.hint) == ("E305", "unknown decision 'quadrnt'", "did you mean 'quadrant'?")
    (d,) = stage_error(explain, policy, facts, "quadrant", date(2026, 9, 1), None, None, "quikc_win")
    assert (d.code, d.message, d.hint) == ("E305", "'quikc_win' is not an outcome of 'quadrant'", "did you mean 'quick_win'?")
    (d,) = stage_error(explain, policy, facts, "quadrant", date(2026, 9, 1), None, "nope")
    assert (d.code, d.message, d.hint) == ("E303", "no usecase with id 'nope'", "ids: ocr, chat, cv")


def test_band_explanation_shows_the_bounds(monkeypatch):
    result = run_explain(monkeypatch, ["level", "--for", "ocr", "--lang", "en"])
    assert result.exit_code == 0, result.stderr
    assert "score (4.8) < 2 → false" in result.stdout
    assert "score (4.8) >= 2 → true" in result.stdout
    assert "score (4.8) < 5 → true" in result.stdout


def test_undetermined_rules_after_the_one_that_holds(tmp_path):
    # `a` may apply, `b` holds: the decision is a or b, `c` is passed over whatever the
    # missing answer — never "rule 'None' applied first", and the text says `b` applies
    # only unless `a` does
    (tmp_path / "p.strat").write_text(
        'policy "Open" version "1"\ninput company {\n  x: number\n  y: number\n}\n'
        "decision d {\n  a when company.x > 1\n  b when company.y > 1\n  c when company.y > 0\n  otherwise e\n}\n"
    )
    (tmp_path / "f.yaml").write_text("company:\n  y: 2\n")
    policy = require_policy(tmp_path / "p.strat")[0]
    x, why = explain_one(policy, load_assessment(policy, tmp_path / "f.yaml"), "d", None, "c")
    assert x.result.status == "undetermined"
    (blocker,) = why.blockers
    assert blocker.kind == "earlier_rule"
    assert blocker.detail == "the rules before it may apply (d.a, d.b), and one of them applies whatever the missing answers; its own condition holds"
    result = CliRunner().invoke(main, ["explain", str(tmp_path / "p.strat"), str(tmp_path / "f.yaml"), "d", "--lang", "en", "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    assert "d.b → b: applies unless an earlier rule does" in result.stdout
    assert "d.c → c: not reached (an earlier rule applies whatever the missing answers)" in result.stdout
