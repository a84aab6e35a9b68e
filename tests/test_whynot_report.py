"""Counterfactuals in the report's explanations (`stratdsl report --why-not SECONDS`).

The report's model asks the solver, for each use case not selected (and a short
portfolio), for the closest changes that would select it; each is verified by the
reference evaluator before the model keeps it, and shown in the report's language.
Off by default. The budget is counted in work, not on the clock (backends/budget.py): the
same report on every machine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from stratdsl.backends import counterfactual, smt
from stratdsl.engine import compile_policy, load_assessment, run
from stratdsl.report import build_report, render_markdown
from stratdsl.runtime.evaluator import evaluate

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 9, 1)


def _report(lang: str, seconds: float):
    policy, _ = compile_policy(REPO / "policies" / "strategy.strat")
    assessment = load_assessment(policy, REPO / "examples" / "cabinet-comptable.yaml")
    result, tracer = run(policy, assessment, AS_OF, trace=True)
    return policy, assessment, build_report(policy, assessment, result, tracer, lang, "cabinet-comptable.yaml", None, why_not_seconds=seconds)


def test_off_by_default():
    _policy, _assessment, report = _report("fr", 0)
    assert all(not x.counterfactuals for x in report.explanations)
    assert "ceci devient" not in render_markdown(report)


def test_closest_changes_in_the_explanations_are_verified_and_in_french():
    policy, assessment, report = _report("fr", 5)
    by_anchor = {x.anchor: x for x in report.explanations}
    x = by_anchor["d-selection--usecases-tri-cv"]
    assert x.counterfactuals, "no change found within the default 5 s"
    t = smt.Translation(policy, smt.Shape.of(assessment), AS_OF)
    for c in x.counterfactuals:
        assert c.outcome == "selected" and c.outcome_label == "Priorité retenue"
        changed = counterfactual.apply_changes(policy, assessment, {path: (t.facts[path], value) for path, value in c.values.items()})
        outcomes = {(d.decision, d.entity): d.outcome for d in evaluate(policy, changed, AS_OF).decisions}
        assert outcomes[("selection", "tri-cv")] == "selected"
    text = render_markdown(report)
    # the solver's refinement bettered the values tried within its share of the 5 s (a budget
    # counted in work: the same heading on every machine, busy or idle)
    assert "changements les plus proches qui donnent Priorité retenue (solveur" in text
    assert "(valeurs essayées" not in text
    assert ", ceci devient : Priorité retenue" in text
    # a selected use case is not asked about
    assert not by_anchor["d-selection--usecases-saisie-factures"].counterfactuals



def test_the_explain_text_says_which_facts_were_searched_in_both_languages():
    """The closest changes as sentences, and the slice they were found in."""
    from stratdsl.render.text import _counterfactual_lines

    why = {
        "outcome": "selected",
        "search_scope": "usecases[tri-cv]",
        "counterfactuals": [
            {
                "outcome": "selected",
                "outcome_label": "Priorité retenue",
                "changes": [
                    {"fact": "usecases[tri-cv].hours_per_week", "label": "Heures par semaine", "current_text": "6", "new_text": "9"},
                    {"fact": "usecases[tri-cv].hourly_cost", "label": "usecases[tri-cv].hourly_cost", "current_text": "55", "new_text": "72"},
                ],
            }
        ],
    }
    assert _counterfactual_lines(why, "fr") == [
        "  changements les plus proches qui donnent selected (solveur, chacun vérifié par une nouvelle évaluation) :",
        "  (recherche d'abord parmi les faits de usecases[tri-cv] : ceux des autres entités sont restés inchangés)",
        "    1. avec Heures par semaine (usecases[tri-cv].hours_per_week) à 9 au lieu de 6\n"
        "       et usecases[tri-cv].hourly_cost à 72 au lieu de 55, ceci devient : Priorité retenue",
    ]
    assert _counterfactual_lines({**why, "counterfactuals": [{**why["counterfactuals"][0], "outcome_label": "Selected priority"}]}, "en") == [
        "  closest changes that give selected (solver, each checked by re-evaluating):",
        "  (searched among the facts of usecases[tri-cv] first: the other entities' facts were held)",
        "    1. with Heures par semaine (usecases[tri-cv].hours_per_week) at 9 instead of 6\n"
        "       and usecases[tri-cv].hourly_cost at 72 instead of 55, this becomes Selected priority",
    ]
    none = {"outcome": "selected", "counterfactuals": [], "search_note": "inconnu dans le temps imparti"}
    assert _counterfactual_lines(none, "fr") == ["  changement le plus proche : aucun trouvé (inconnu dans le temps imparti)"]
