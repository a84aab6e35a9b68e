"""The Markdown report for a director: a management view in plain words, a technical appendix, `--summary-only`,
and the first steps of an express diagnostic (issue 20 point 6, issue 14 point 9).

The express goldens are built from a frozen copy of the methodology and of
`examples/diagnostic-express-incomplet.yaml` (tests/golden/report/express/), so
that an edit of the live policies does not rewrite them;
`STRATDSL_REGEN=1 pytest tests/test_report_markdown.py` rewrites them.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import GOLDEN, REPO, compare_golden
from stratdsl import engine
from stratdsl.commands.questionnaire import next_questions
from stratdsl.commands.report_cli import report_cmd
from stratdsl.provenance import gitutil
from stratdsl.report import make_report, render_markdown
from stratdsl.runtime.relevance import hidden_facts, rank_open_questions
from stratdsl.runtime.result import DecisionResult, Result

REPORT_DIR = GOLDEN / "report"
EXPRESS_DIR = REPORT_DIR / "express"
EXPRESS_POLICY = "tests/golden/report/express/policies/strategy.strat"
EXPRESS = "tests/golden/report/express/diagnostic-express-incomplet.yaml"
OLD_POLICY = "tests/golden/report/policies/strategy.strat"
CABINET = "tests/golden/report/cabinet-comptable.yaml"
UNKNOWNS = "tests/golden/report/unknowns.yaml"
AS_OF = date(2026, 11, 26)
APPENDIX = '<a id="appendix"></a>'


@pytest.fixture(autouse=True)
def _pinned(monkeypatch):
    """Run from the repository (locations read policies/…), with a fixed git commit in the provenance."""
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(gitutil, "state", lambda files: gitutil.GitState(REPO, "0" * 40, False))


@pytest.fixture(scope="module")
def express():
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        mp.setattr(gitutil, "state", lambda files: gitutil.GitState(REPO, "0" * 40, False))
        return {lang: make_report(EXPRESS_POLICY, EXPRESS, AS_OF, lang) for lang in ("fr", "en")}


def report_cli(*args: str):
    return CliRunner().invoke(report_cmd, [*args, "--as-of", "2026-11-26"], catch_exceptions=False)


# ------------------------------------------------------------------ goldens of the summary alone


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_express_summary_golden(lang, tmp_path):
    out = tmp_path / "summary.md"
    result = report_cli(EXPRESS_POLICY, EXPRESS, "-o", str(out), "--lang", lang, "--summary-only")
    assert result.exit_code == 0, result.output
    compare_golden(REPORT_DIR / f"express.summary.{lang}.md", out.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ management view and technical appendix

RULE_ID = re.compile(r"\b[a-z_]+\.[a-z_0-9]+\b")
HEX_ID = re.compile(r"\b[0-9a-f]{12,}\b")


def management_part(md: str) -> str:
    return md[: md.index(APPENDIX)] if APPENDIX in md else md


def assert_plain(report, text: str) -> None:
    """No rule id, no file or fact path, no hex id, no code span, no link on a value."""
    assert "`" not in text and ".strat" not in text
    assert "](#" not in text.replace("](#appendix)", "").replace("](#missing)", "")
    assert not HEX_ID.search(text), HEX_ID.search(text)
    assert report.evaluation_id not in text and report.assessment_sha256[:12] not in text
    for f in report.missing_facts:
        assert f.path not in text, f.path
    rules = {d.rule for uc in report.usecases for d in uc.decisions.values() if d.rule}
    rules |= {d.rule for d in (report.maturity_level, report.ambition, report.portfolio) if d is not None and d.rule}
    assert rules, "the report has decided decisions"
    for rule in rules:
        assert rule not in text, rule


@pytest.mark.parametrize("policy,assessment,lang", [(OLD_POLICY, CABINET, "fr"), (OLD_POLICY, UNKNOWNS, "en"), (EXPRESS_POLICY, EXPRESS, "fr")])
def test_management_view_is_plain_and_the_appendix_holds_the_technical_part(policy, assessment, lang):
    report = make_report(policy, assessment, AS_OF, lang)
    md = render_markdown(report)
    assert md.count(APPENDIX) == 1
    management, appendix = management_part(md), md[md.index(APPENDIX):]
    assert_plain(report, management)
    # the appendix keeps the technical side: every explanation, every decision id, the missing paths
    assert report.evaluation_id in appendix
    for _, rid, _ in report.decision_ids:
        assert rid in appendix
    for x in report.explanations:
        assert f'<a id="{x.anchor}"></a>' in appendix
    for f in report.missing_facts:
        assert f"`{f.path}`" in appendix
    # links all land on an anchor of the document
    assert set(re.findall(r"\]\(#([^)]+)\)", md)) <= set(re.findall(r'<a id="([^"]+)"></a>', md))


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_summary_only_is_the_summary_of_the_full_report(express, lang):
    report = express[lang]
    full = render_markdown(report)
    summary = render_markdown(report, summary_only=True)
    assert_plain(report, summary)
    assert APPENDIX not in summary and "<a id=" not in summary
    # the same management summary, down to the roadmap at a glance: only the pointers to the appendix differ
    in_full = full[: full.index("\n## ", full.index("## ") + 3)]  # the header and the summary of the full report
    in_full = re.sub(r" · \[[^\]]+\]\(#missing\)| \[[^\]]+\]\(#missing\)", "", in_full)
    assert in_full.rsplit("\n[", 1)[0] == summary.rsplit("\n_", 1)[0]
    assert summary.count("\n## ") == 1  # one part: the summary


def test_summary_only_works_for_both_formats(tmp_path):
    for name in ("r.html", "r.md"):
        result = report_cli(OLD_POLICY, CABINET, "-o", str(tmp_path / name), "--summary-only")
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).exists()


# ------------------------------------------------------------------ the first steps of an express diagnostic


def test_first_steps_read_the_result(express):
    policy, _ = engine.require_policy(EXPRESS_POLICY)
    facts = engine.load_assessment(policy, EXPRESS)
    result, _ = engine.run(policy, facts, AS_OF, {})
    steps = express["en"].first_steps
    assert steps is not None
    assert steps.undetermined == sum(1 for d in result.decisions if d.status == "undetermined")
    # groundwork: the company-level obligations that certainly apply, with their months
    applies = {o.obligation for o in result.obligations if o.entity is None and o.status == "applies" and o.obligation.startswith("groundwork_")}
    assert {g.obligation.name for g in steps.groundwork} == applies == {"groundwork_governance", "groundwork_literacy", "groundwork_data"}
    assert [(g.start, g.end) for g in steps.groundwork] == [(1, 1), (1, 2), (1, 3)]
    # candidates: the use cases whose next step is decided as `candidate`
    candidates = [d.entity for d in result.decisions if d.decision == "next_step" and d.status == "decided" and d.outcome == "candidate"]
    assert [uc.id for uc, _ in steps.candidates] == candidates == ["chiffrage-devis", "reponses-demandes"]
    assert all(d.outcome_label == "High-impact candidate: complete its costs and effort" for _, d in steps.candidates)
    # questions: the top five of the ranking, with the question in the report's language
    ranked = rank_open_questions(policy, result, facts)[:5]
    assert [(q.fact.path, q.waiting) for q in steps.questions] == ranked
    assert steps.questions[0].fact.label == "Where is it used? (empty list if none of these)"
    assert express["fr"].first_steps.questions[0].fact.label.startswith("Où est-il utilisé ?")


def test_first_steps_only_when_something_is_open():
    assert make_report(OLD_POLICY, CABINET, AS_OF, "fr").first_steps is None
    report = make_report(OLD_POLICY, UNKNOWNS, AS_OF, "en")
    assert report.first_steps is not None and report.first_steps.questions
    assert "### First steps" in render_markdown(report)
    assert "Premiers pas" not in render_markdown(make_report(OLD_POLICY, CABINET, AS_OF, "fr"))


@pytest.mark.parametrize("lang,words", [("fr", ("### Premiers pas", "Fondations à lancer", "Gains rapides candidats", "trancheraient le plus")),
                                        ("en", ("### First steps", "Groundwork to start now", "Candidate quick wins", "would settle the most"))])
def test_first_steps_open_the_summary(express, lang, words):
    md = render_markdown(express[lang], summary_only=True)
    summary = md[md.index("\n## ") + 1:]
    assert summary.split("\n")[2] == words[0]  # the first thing under the summary's title
    for w in words:
        assert w in md
    assert summary.index(words[0]) < summary.index("\n- **")  # before the maturity bullets


# ------------------------------------------------------------------ the ranking of open questions


def _undetermined(decision: str, entity: str | None, missing: tuple[str, ...]) -> DecisionResult:
    return DecisionResult(decision, entity, f"usecases[{entity}]" if entity else None, "undetermined", None, None, ("a", "b"), missing, (), ())


def test_questions_are_ranked_by_the_undetermined_decisions_waiting_on_them():
    """Most waiting decisions first, then by path; decided decisions count for nothing."""
    policy, _ = engine.require_policy(EXPRESS_POLICY)
    decided = DecisionResult("portfolio", None, None, "decided", "focused", "portfolio.focused", (), (), (), ())
    result = Result(
        policy="p", version="1", as_of=AS_OF, params=[], values=[], obligations=[],
        decisions=[
            _undetermined("company_size", None, ("organization.annual_revenue",)),
            _undetermined("risk", "x", ("usecases[x].profiling", "usecases[x].infers")),
            _undetermined("selection", "x", ("usecases[x].infers", "organization.annual_revenue")),
            _undetermined("roadmap", "x", ("usecases[x].infers",)),
            _undetermined("quadrant", "x", ("usecases[x].affected",)),
            decided,
        ],
    )
    assert rank_open_questions(policy, result) == [
        ("usecases[x].infers", 3), ("organization.annual_revenue", 2), ("usecases[x].affected", 1), ("usecases[x].profiling", 1)]
    assert rank_open_questions(policy, Result("p", "1", AS_OF, [], [decided], [], [])) == []


def test_the_ranking_leaves_out_questions_not_asked_yet_and_is_the_questionnaires():
    policy, _ = engine.require_policy(EXPRESS_POLICY)
    facts = engine.load_assessment(policy, EXPRESS)
    result, _ = engine.run(policy, facts, AS_OF, {})
    ranked = rank_open_questions(policy, result, facts)
    hidden = hidden_facts(policy, facts)
    counts: dict[str, int] = {}
    for d in result.decisions:
        if d.status == "undetermined":
            for f in d.missing:
                counts[f] = counts.get(f, 0) + 1
    assert "usecases[comptes-rendus-chantier].safety_function" in counts and "usecases[comptes-rendus-chantier].safety_function" in hidden
    assert ranked == sorted(((f, n) for f, n in counts.items() if f not in hidden), key=lambda kv: (-kv[1], kv[0]))
    assert [n for _, n in ranked] == sorted((n for _, n in ranked), reverse=True)
    # the questionnaires' "answer next" reads the same ranking
    assert [(q.fact, q.settles) for q in next_questions(policy, result, "fr", assessment=facts)] == ranked[:8]


def test_first_steps_in_the_html_summary(express):
    from stratdsl.report import render_html

    html = render_html(express["fr"])
    summary = html[html.index('<section id="summary"'):html.index("</section>", html.index('<section id="summary"'))]
    block = summary[summary.index('<div id="first-steps">'):summary.index('<div class="cards">')]
    assert "<h3>Premiers pas</h3>" in block and block.count("<li data-fact=") == 5
    assert "Candidat à fort impact" in block and "M1 à M3" in block
    assert '<div id="first-steps">' not in render_html(make_report(OLD_POLICY, CABINET, AS_OF, "fr"))


FACT_PATHS = st.sampled_from(["organization.annual_revenue", "organization.headcount", "usecases[a].infers", "usecases[a].setting",
                              "usecases[b].infers", "maturity.governance.owned"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(FACT_PATHS, max_size=4, unique=True)), max_size=8))
def test_the_ranking_counts_every_undetermined_decision_once_per_fact(decisions):
    """Each missing fact of an undetermined decision counts one; decided ones count nothing; most first, then by path."""
    policy = _express_policy()
    made = [
        _undetermined(f"d{n}", None, tuple(missing)) if open_ else
        DecisionResult(f"d{n}", None, None, "decided", "x", f"d{n}.x", (), tuple(missing), (), ())
        for n, (open_, missing) in enumerate(decisions)
    ]
    ranked = rank_open_questions(policy, Result("p", "1", AS_OF, [], made, [], []))
    expected = {f: sum(1 for open_, missing in decisions if open_ and f in missing) for _, missing in decisions for f in missing}
    assert dict(ranked) == {f: n for f, n in expected.items() if n}
    assert ranked == sorted(ranked, key=lambda kv: (-kv[1], kv[0]))


_POLICY: list = []


def _express_policy():
    if not _POLICY:
        _POLICY.append(engine.require_policy(REPO / EXPRESS_POLICY)[0])
    return _POLICY[0]
