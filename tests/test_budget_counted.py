"""Every solver budget is counted in work (backends/budget.py), and the work is charged
where it is done: the static checks (`check --exact`, `unique` overlaps, `diff
--symbolic`) call the solver inside a counted budget, and an evaluation with unanswered
questions is charged for what its unknown values and undetermined decisions cost."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stratdsl.backends import budget, compiler, exact, overlap, smt, symdiff
from stratdsl.engine import compile_policy, compile_text, load_assessment
from test_prove import UNIQUE
from test_smt import EXACT, QUADRANT, QUADRANT_NEW

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 9, 1)


@pytest.fixture
def meters(monkeypatch):
    """The meter active at each solver call (None: a call limited by the clock)."""
    seen: list[budget.Meter | None] = []
    check = smt.check

    def recorded(s, budget_ms, *assumptions):
        seen.append(budget.active())
        return check(s, budget_ms, *assumptions)

    monkeypatch.setattr(smt, "check", recorded)
    return seen


def test_exact_checks_count_their_budget_in_work(meters):
    policy, diags = compile_text(EXACT, "c.strat")
    found = {(d.code, d.message.split("'")[1]) for d in exact.exact_checks(policy, AS_OF, 20000, diags)}
    assert found == {("W131", "v.odd"), ("W132", "v.mid.unless1")}
    assert meters and all(m is not None and m.budget_ms == 20000 for m in meters)
    assert len({id(m) for m in meters}) == len(meters)  # (each question its own budget)


def test_unique_overlaps_count_their_budget_in_work(meters):
    policy, _ = compile_text(UNIQUE, "u.strat")
    found = overlap.unique_overlaps(policy, AS_OF, 30000)
    assert [d.code for d in found] == ["E073"]
    assert meters and all(m is not None and m.budget_ms == 30000 for m in meters)


def test_symbolic_diff_counts_its_budget_in_work(meters):
    old, _ = compile_text(QUADRANT, "old.strat")
    new, _ = compile_text(QUADRANT_NEW, "new.strat")
    diffs = {d.decision: d for d in symdiff.symbolic_diff(old, new, AS_OF, timeout_ms=30000)}
    assert diffs["quadrant"].pairs[0].region == "usecases[e1].effort below 3 and usecases[e1].impact from 2.5 and below 3"
    # one budget per decision and entity, shared by its pairs and regions
    assert meters and all(m is not None and m.budget_ms == 30000 for m in meters)
    assert len({id(m) for m in meters}) == len(diffs)


def test_a_tiny_budget_of_work_gives_unknown_not_a_wrong_answer():
    old, _ = compile_text(QUADRANT, "old.strat")
    new, _ = compile_text(QUADRANT_NEW, "new.strat")
    statuses = {d.decision: d.status for d in symdiff.symbolic_diff(old, new, AS_OF, timeout_ms=0)}
    assert set(statuses.values()) <= {"unknown", "unchanged", "changed"}
    assert statuses["quadrant"] in ("unknown", "changed")


def _work(example: str) -> list[tuple[int, int, int]]:
    policy, _ = compile_policy(REPO / "policies" / "strategy.strat")
    assessment = load_assessment(policy, REPO / "examples" / example)
    evaluator = compiler.compiled(policy)
    work: list[tuple[int, int, int]] = []
    uses = assessment.entities["usecases"]
    evaluator.some(assessment, AS_OF, None, [("roadmap", uses[0].id)], [], work=work)
    return work


def test_unknown_values_and_undetermined_decisions_are_charged_more():
    (complete,) = _work("cabinet-comptable.yaml")
    (express,) = _work("diagnostic-express-incomplet.yaml")
    assert complete[1:] == (0, 0)  # every question answered: nothing unknown
    computed, unknown, undetermined = express
    assert unknown > 0 and undetermined > 0 and unknown + undetermined <= computed
    assert budget.compiled_ms(*express) > budget.COMPILED_STEP_MS * computed
    assert budget.compiled_ms(*complete) == budget.COMPILED_STEP_MS * complete[0]
