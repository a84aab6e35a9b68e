"""Why-not's first two stages (backends/probe.py, backends/counterfactual.py): values tried
with the compiled evaluator before the solver, and proofs of "none" over ranks and counts
abstracted.

Properties (hypothesis, derandomised, small budgets): every change the values-tried stage
returns is confirmed by the reference evaluator on the changed assessment; a change of
several facts needs each of them; a proof of "none" is never contradicted by brute force.
End to end: `stratdsl explain` on a shipped example gives a concrete, verified change for a
roadmap and a portfolio question at the default budget, and proves the `beyond_limit`
outcome out of reach where there are fewer use cases than slots.
"""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import time
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import REPO
from stratdsl.backends import budget, counterfactual, probe, smt
from stratdsl.engine import compile_policy, compile_text, load_assessment
from stratdsl.language.diagnostics import StratError
from stratdsl.render.catalogue import gettext_for
from stratdsl.runtime.assessment import validate
from stratdsl.runtime.evaluator import evaluate
from stratdsl.runtime.values import Unknown

AS_OF = date(2026, 9, 1)
PROPS = settings(max_examples=20, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])

SMALL = """policy "Small" version "1"
enum level { low mid high }
input org {
  size: integer 0..3 fixed
  a: integer 0..3
  b: integer 0..3
  ok: bool
  lvl: level
}
define score = org.a + 2 * org.b
decision verdict {
  top when score >= 7 and org.ok unless org.lvl = low
  middle when score between 3 and 6 or org.size = 3
  otherwise bottom
}
"""


def _small():
    policy, diags = compile_text(SMALL, "small.strat")
    assert policy is not None, diags
    return policy


def _outcome(policy, assessment, decision, entity):
    return next(d for d in evaluate(policy, assessment, AS_OF).decisions if d.decision == decision and d.entity == entity)


def _confirmed(policy, assessment, search, decision, entity, outcome):
    """Each counterfactual, applied to the assessment and validated again, gives `outcome`
    by the reference evaluator (not the compiled one the stage used)."""
    t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
    for c in search.counterfactuals:
        assert c.verified and c.outcome == outcome
        changed = counterfactual.apply_changes(policy, assessment, {f.fact: (t.facts[f.fact], f.new) for f in c.changes})
        d = _outcome(policy, changed, decision, entity)
        assert d.status == "decided" and d.outcome == outcome
    return True


def _brute_force_any(policy, assessment, outcome) -> bool:
    for a, b, ok, lvl in itertools.product(range(4), range(4), (True, False), ("low", "mid", "high")):
        data = {"org": {"size": int(assessment.records["org"]["size"]), "a": a, "b": b, "ok": ok, "lvl": lvl}}
        if evaluate(policy, validate(policy, data, "x"), AS_OF).decisions[0].outcome == outcome:
            return True
    return False


@PROPS
@given(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.booleans(), st.sampled_from(["low", "mid", "high"]), st.sampled_from(["top", "middle", "bottom"]))
def test_values_tried_are_verified_and_proofs_of_none_hold_on_a_small_policy(size, a, b, ok, lvl, outcome):
    policy = _small()
    assessment = validate(policy, {"org": {"size": size, "a": a, "b": b, "ok": ok, "lvl": lvl}}, "x")
    if evaluate(policy, assessment, AS_OF).decisions[0].outcome == outcome:
        return
    current = smt.assessment_facts(policy, assessment)
    tried = counterfactual._tried(policy, assessment, "verdict", None, outcome, AS_OF, {}, (), current, 3, time.perf_counter() + 5)
    if tried is not None:
        assert tried.tried
        if any(len(c.changes) > 1 for c in tried.counterfactuals):  # never claims the fewest facts
            assert "not proven the fewest facts" in tried.note
        assert _confirmed(policy, assessment, tried, "verdict", None, outcome)
        assert all("org.size" not in {f.fact for f in c.changes} for c in tried.counterfactuals)  # declared fixed
        for c in tried.counterfactuals:  # a change of several facts needs each of them
            if len(c.changes) > 1:
                for dropped in c.changes:
                    rest = [f for f in c.changes if f is not dropped]
                    t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
                    changed = counterfactual.apply_changes(policy, assessment, {f.fact: (t.facts[f.fact], f.new) for f in rest})
                    assert evaluate(policy, changed, AS_OF).decisions[0].outcome != outcome
    proven = counterfactual._proven_none(policy, assessment, "verdict", None, outcome, AS_OF, {}, (), current, time.perf_counter() + 5)
    if proven:
        assert not _brute_force_any(policy, assessment, outcome)
    if tried is not None:
        assert not proven


@pytest.fixture(scope="module")
def methodology():
    policy, _ = compile_policy(REPO / "policies" / "strategy.strat")
    return policy


@settings(PROPS, max_examples=8)
@given(
    st.sampled_from(["cabinet-comptable.yaml", "studio-conseil-10.yaml"]),
    st.integers(0, 3),
    st.sampled_from(["hours_per_week", "hourly_cost", "one_off_cost", "people_involved"]),
    st.sampled_from([Decimal("0.5"), Decimal(2), Decimal(10)]),
    st.sampled_from([("selection", "selected"), ("selection", "not_eligible"), ("roadmap", "planned"), ("roadmap", "not_planned")]),
)
def test_values_tried_on_the_methodology_are_verified(methodology, example, n, field, factor, question):
    """Assessments near the shipped ones (one use case's figure scaled): every change the
    values-tried stage shows is confirmed by the reference evaluator."""
    policy = methodology
    assessment = load_assessment(policy, REPO / "examples" / example)
    data = copy.deepcopy(assessment.data)
    usecases = data["usecases"]
    item = usecases[n % len(usecases)]
    value = item.get(field)
    if value is not None:
        scaled = Decimal(str(value)) * factor
        item[field] = int(scaled) if field == "people_involved" else scaled.quantize(Decimal("0.01"))
    try:
        assessment = validate(policy, data, example)
    except StratError:  # a scaled figure out of its declared range: nothing to ask
        return
    decision, outcome = question
    entity = assessment.entities["usecases"][n % len(usecases)].id
    if _outcome(policy, assessment, decision, entity).outcome == outcome:
        return
    current = smt.assessment_facts(policy, assessment)
    tried = counterfactual._tried(policy, assessment, decision, entity, outcome, AS_OF, {}, (), current, 3, time.perf_counter() + 3)
    if tried is not None:
        assert _confirmed(policy, assessment, tried, decision, entity, outcome)
        for c in tried.counterfactuals:
            assert all(not isinstance(f.new, Unknown) for f in c.changes)  # a change gives a value


def _explain_json(*args):
    out = subprocess.run(
        ["stratdsl", "explain", str(REPO / "policies" / "strategy.strat"), str(REPO / "examples" / "cabinet-comptable.yaml"), *args,
         "--as-of", "2026-09-01", "--format", "json", "--lang", "en"],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)["why_not"]


@pytest.mark.parametrize(
    ("args", "outcome"),
    [(["roadmap", "--for", "tri-cv"], "planned"), (["portfolio"], "groundwork_first")],
)
def test_explain_gives_a_concrete_change_for_deep_decisions_at_the_default_budget(methodology, args, outcome):
    why = _explain_json(*args, "--why-not", outcome)
    assert why["counterfactuals"], why["search_note"]
    policy = methodology
    assessment = load_assessment(policy, REPO / "examples" / "cabinet-comptable.yaml")
    t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
    entity = args[2] if len(args) > 2 else None
    for c in why["counterfactuals"]:
        assert c["verified"] and c["outcome"] == outcome
        values = {}
        for f in c["changes"]:
            fact = t.facts[f["fact"]]
            new = f["new"]
            values[f["fact"]] = (fact, Decimal(str(new)) if isinstance(new, (int, float, str)) and fact.type.__class__.__name__ == "NumberT" else new)
        changed = counterfactual.apply_changes(policy, assessment, values)
        assert _outcome(policy, changed, args[0], entity).outcome == outcome


def test_beyond_limit_with_fewer_use_cases_than_slots_is_proven_out_of_reach(methodology):
    """Four use cases, five slots: no change of the facts gives `beyond_limit`; the proof over
    the rank abstracted says so (the search over every fact ran out of time before)."""
    policy = methodology
    assessment = load_assessment(policy, REPO / "examples" / "cabinet-comptable.yaml")
    current = smt.assessment_facts(policy, assessment)
    assert counterfactual._proven_none(policy, assessment, "selection", "saisie-factures", "beyond_limit", AS_OF, {}, (), current, time.perf_counter() + 10)
    # and an outcome that a change does give is never "proven" out of reach
    assert not counterfactual._proven_none(policy, assessment, "selection", "tri-cv", "selected", AS_OF, {}, (), current, time.perf_counter() + 10)


def test_an_outcome_the_evaluator_gives_only_while_questions_are_open_is_never_proven_out_of_reach(methodology):
    """The express diagnostic's `planning-poseurs` becomes a `candidate` with its hours a
    week answered (4.77), yet the proofs over the solver's "decided" said no change gives
    it: the solver never makes `not known(selection)` true. They are over what it leaves
    possible now (`counterfactual.reachable_goal`)."""
    from stratdsl.runtime.evaluator import evaluate

    policy = methodology
    assessment = load_assessment(policy, REPO / "examples" / "diagnostic-express-incomplet.yaml")
    path = "usecases[planning-poseurs].hours_per_week"
    where = probe.facts(assessment)[path]
    fact = counterfactual._fact_view(assessment, where, policy.inputs[where.input_name].fields[where.field_name].type)
    changed = counterfactual.apply_changes(policy, assessment, {path: (fact, Decimal("4.77"))})
    assert {(d.decision, d.entity): d.outcome for d in evaluate(policy, changed, AS_OF).decisions}[("next_step", "planning-poseurs")] == "candidate"
    current = smt.assessment_facts(policy, assessment)
    with smt.question():
        assert not counterfactual._proven_none(policy, assessment, "next_step", "planning-poseurs", "candidate", AS_OF, {}, (), current, budget.now() + 10)
        context = counterfactual._context(policy, assessment, "next_step", "planning-poseurs", "candidate", AS_OF, {}, (), 1, current)
        assert not counterfactual._unreachable(context, 5000)


def test_the_untranslatable_note_is_in_french():
    policy, _ = compile_text(
        'policy "p" version "1"\ninput usecases: many usecase { name: text }\n'
        "define r for each usecase = rank(usecase by name)\n"
        "decision d for each usecase { first when r = 1  otherwise other }\n",
        "p.strat",
    )
    assessment = validate(policy, {"usecases": [{"id": "a", "name": "x"}]}, "a.yaml")
    search = counterfactual.why_not(policy, assessment, "d", "a", "other", AS_OF, timeout_ms=2000)
    assert not search.counterfactuals
    assert search.note == "E801: the symbolic analysis cannot translate rank by a text"
    assert search.note.translate(gettext_for("fr")) == "E801 : l'analyse symbolique ne sait pas traduire un rang selon un texte"


# ---------------------------------------------------------------- several facts: plateaus, other entities, counts

PLATEAU = """policy "Plateau" version "1"
input org {
  profiling: bool
  large_scale: bool
  sensitive: bool
  months: integer 0..12
}
define criteria = (if org.profiling then 1 else 0) + (if org.large_scale then 1 else 0) + (if org.sensitive then 1 else 0)
define assessment_needed = criteria >= 2
define prerequisite_months = org.months + (if assessment_needed then 2 else 0)
decision plan {
  deferred when prerequisite_months > 10
  otherwise planned
}
"""


def test_two_facts_that_only_move_a_count_of_criteria_together_are_found():
    """No one fact brings `prerequisite_months > 10` nearer: each criterion alone only moves
    the count (a plateau). The several-facts stage pairs two that move it, and the month."""
    policy, diags = compile_text(PLATEAU, "plateau.strat")
    assert policy is not None, diags
    assessment = validate(policy, {"org": {"profiling": False, "large_scale": False, "sensitive": False, "months": 9}}, "x")
    current = smt.assessment_facts(policy, assessment)
    tried = counterfactual._tried(policy, assessment, "plan", None, "deferred", AS_OF, {}, (), current, 3, time.perf_counter() + 20)
    assert tried is not None and tried.counterfactuals
    assert _confirmed(policy, assessment, tried, "plan", None, "deferred")
    # months 9 → 11 alone would do: one fact, found first; with the months held, two criteria
    held = counterfactual._tried(policy, assessment, "plan", None, "deferred", AS_OF, {}, ("org.months",), current, 3, time.perf_counter() + 20)
    assert held is not None and held.counterfactuals
    assert _confirmed(policy, assessment, held, "plan", None, "deferred")
    (c,) = held.counterfactuals
    assert len(c.changes) == 2 and {f.fact for f in c.changes} < {"org.profiling", "org.large_scale", "org.sensitive"}


@pytest.mark.parametrize(
    ("entity", "outcome"),
    # its own prerequisites past M12: five facts, two of them DPIA criteria that only count together
    # the capacity: its cycle longer and the use case launched before it (another entity's fact)
    [("revue-ecritures", "deferred_prerequisites"), ("revue-ecritures", "deferred_capacity")],
)
def test_roadmap_deferrals_are_found_by_the_several_facts_stage(methodology, entity, outcome):
    policy = methodology
    assessment = load_assessment(policy, REPO / "examples" / "cabinet-comptable.yaml")
    current = smt.assessment_facts(policy, assessment)
    tried = counterfactual._tried(policy, assessment, "roadmap", entity, outcome, AS_OF, {}, (), current, 3, time.perf_counter() + 60)
    assert tried is not None and tried.counterfactuals, outcome
    assert "not proven the fewest facts" in tried.note
    assert _confirmed(policy, assessment, tried, "roadmap", entity, outcome)
    for c in tried.counterfactuals:  # each fact is needed
        for dropped in c.changes:
            rest = [f for f in c.changes if f is not dropped]
            t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
            changed = counterfactual.apply_changes(policy, assessment, {f.fact: (t.facts[f.fact], f.new) for f in rest})
            assert _outcome(policy, changed, "roadmap", entity).outcome != outcome


@settings(PROPS, max_examples=10)
@given(st.sampled_from(["cabinet-comptable.yaml", "enseigne-retail.yaml", "diagnostic-express-incomplet.yaml"]), st.randoms(use_true_random=False))
def test_an_evaluation_started_from_a_base_computes_what_a_fresh_one_does(methodology, example, rnd):
    """The several-facts stage starts each evaluation with the memoised values of the state it
    extends that read no changed field (probe.Prober._evaluator): every condition of every
    decision of the entity has the same value as in an evaluation from scratch."""
    from stratdsl.backends import probe
    from stratdsl.runtime.evaluator import Evaluator
    from stratdsl.runtime.values import truth

    policy = methodology
    assessment = load_assessment(policy, REPO / "examples" / example)
    entity = assessment.entities["usecases"][0].id
    p = probe.Prober(policy, assessment, "roadmap", entity, AS_OF, {})
    fields, consts = probe.cone(policy, "roadmap")
    where = probe.facts(assessment)
    current = smt.assessment_facts(policy, assessment)
    paths = sorted(q for q, w in where.items() if (w.input_name, w.field_name) in fields and q in current)
    types = {q: policy.inputs[where[q].input_name].fields[where[q].field_name].type for q in paths}
    conditions = [r.cond for name in ("selection", "roadmap", "portfolio") for r in policy.decisions[name].rules if r.cond is not None]
    state: dict = {}
    for _ in range(3):
        p.truths(state, [(e, True) for e in conditions])  # a base, its memo tables filled
        for q in rnd.sample(paths, 6):
            tried = probe.candidates(types[q], current[q], consts.get((where[q].input_name, where[q].field_name), set()))
            if not tried:
                continue
            changes = {**state, q: rnd.choice(tried)}
            seeded, target = p._evaluator(changes)
            fresh_assessment = p.changed(changes)
            fresh = Evaluator(policy, fresh_assessment, AS_OF, {})
            fresh_target = fresh_assessment.entities["usecases"][p.index]
            for e in conditions:
                assert truth(seeded.compute(e, target)) == truth(fresh.compute(e, fresh_target))
        q = rnd.choice(paths)
        tried = probe.candidates(types[q], current[q], set())
        if tried:
            state[q] = rnd.choice(tried)


def test_beyond_limit_with_more_use_cases_than_slots_is_found(methodology):
    """Seven use cases, five slots: `beyond_limit` needs this one down the ranking *and*
    another one eligible above it — two facts, one of another use case (the distance of a
    rank wanted past the last slot counts from the last slot, not from rank 1)."""
    entity = "chatbot-service-client"
    tried = _tried_on_example(methodology, "enseigne-retail.yaml", "selection", entity, "beyond_limit")
    (c,) = tried.counterfactuals
    assert any(not f.fact.startswith(f"usecases[{entity}]") for f in c.changes)


def test_three_facts_that_only_count_together_are_found_by_the_solver_step():
    """Three criteria before the assessment adds its months: neither one fact nor a pair of
    them brings the condition nearer; the solver, asked for that one condition, gives the
    three (counterfactual._condition_step), and the result is re-evaluated as always."""
    policy, diags = compile_text(PLATEAU.replace("criteria >= 2", "criteria >= 3"), "plateau.strat")
    assert policy is not None, diags
    assessment = validate(policy, {"org": {"profiling": False, "large_scale": False, "sensitive": False, "months": 9}}, "x")
    current = smt.assessment_facts(policy, assessment)
    held = counterfactual._tried(policy, assessment, "plan", None, "deferred", AS_OF, {}, ("org.months",), current, 3, time.perf_counter() + 20)
    assert held is not None and held.counterfactuals
    assert _confirmed(policy, assessment, held, "plan", None, "deferred")
    (c,) = held.counterfactuals
    assert {f.fact for f in c.changes} == {"org.profiling", "org.large_scale", "org.sensitive"}


def test_a_deferral_that_needs_a_dpia_and_a_fria_is_found(methodology):
    """atelier-usinage-50, chiffrage-devis → deferred_prerequisites: the trying of values
    stalls a month short (the DPIA and FRIA months need several answers at once); the
    solver's step over the use case's own facts and the company's finds them."""
    _tried_on_example(methodology, "atelier-usinage-50.yaml", "roadmap", "chiffrage-devis", "deferred_prerequisites")


def _tried_on_example(policy, example, decision, entity, outcome):
    """The values-tried stage (with its solver steps) on a shipped example, a generous
    deadline: a change found, each confirmed by the reference evaluator."""
    assessment = load_assessment(policy, REPO / "examples" / example)
    current = smt.assessment_facts(policy, assessment)
    tried = counterfactual._tried(policy, assessment, decision, entity, outcome, AS_OF, {}, (), current, 3, time.perf_counter() + 60)
    assert tried is not None and tried.counterfactuals, (example, decision, entity, outcome)
    assert _confirmed(policy, assessment, tried, decision, entity, outcome)
    return tried
