"""The HTML report's two parts: the management view reads as plain text for a director (no rule
names, no paths, no hexadecimal ids, figures not linked one by one), the technical appendix holds
the facts to complete, the explanations, the provenance and the ids."""

from __future__ import annotations

import os
import re
from datetime import date

import pytest

from helpers import REPO
from stratdsl.report import make_report, render_html

POLICY = "tests/golden/report/policies/strategy.strat"
AS_OF = date(2026, 11, 26)


@pytest.fixture(scope="module", params=["cabinet-comptable", "unknowns"])
def rendered(request):
    old = os.getcwd()
    os.chdir(REPO)
    try:
        report = make_report(POLICY, f"tests/golden/report/{request.param}.yaml", AS_OF, "fr")
    finally:
        os.chdir(old)
    return report, render_html(report)


def parts(html: str) -> tuple[str, str]:
    body = html.split("<main>", 1)[1]
    management, appendix = body.split('<div id="appendix"', 1)
    return management, appendix


def test_the_management_view_has_no_ids_paths_or_rule_names(rendered):
    report, html = rendered
    management, appendix = parts(html)
    text = re.sub(r"<svg.*?</svg>", "", management, flags=re.S)
    assert "<code" not in text and ".strat" not in text
    assert re.findall(r"\b[0-9a-f]{12,}\b", text) == []
    assert report.evaluation_id not in management and report.evaluation_id in appendix
    # figures are plain text: no link to an explanation outside the charts
    linked = set(re.findall(r'href="#([^"]+)"', text)) & report.anchors
    assert linked == set()
    for rule in ("quadrant.quick_win",):
        assert rule not in management and rule in appendix


def test_the_appendix_holds_explanations_provenance_and_every_id(rendered):
    report, html = rendered
    _, appendix = parts(html)
    assert '<h2 id="h-appendix">Annexe technique</h2>' in appendix
    assert 'id="explanations"' in appendix and 'id="provenance"' in appendix
    for _, rid, _ in report.decision_ids:
        assert rid in appendix
    if report.missing_facts:
        assert 'id="missing"' in appendix
    # the appendix keeps the links from each figure's explanation to the others
    assert set(re.findall(r'href="#([^"]+)"', appendix)) & report.anchors


def test_summary_only_is_the_start_of_the_full_report(rendered):
    report, html = rendered
    summary = render_html(report, summary_only=True)
    assert 'id="appendix"' not in summary and 'id="maturity"' not in summary and "<nav" not in summary
    ids = set(re.findall(r' id="([^"]+)"', summary))
    assert set(re.findall(r'href="#([^"]+)"', summary)) <= ids  # nothing points at a part it does not have
    start = html.split('<section id="summary"', 1)[1].split("</section>", 1)[0]
    assert start.count("<tr") == summary.split('<section id="summary"', 1)[1].split("</section>", 1)[0].count("<tr")
