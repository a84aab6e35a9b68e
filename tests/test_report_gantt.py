"""The roadmap Gantt chart's geometry: no text over a bar, names whole (wrapped on words, no
"5." prefix, nothing cut), every label inside the label column.

The SVG is parsed; each text's box is computed from its position, anchor and font size with the
chart's own DejaVu Sans metrics (svg.text_width, which overestimates), and must not meet any bar
(a phase's rectangle, plus the ▶ of an ongoing phase). The letter a bar carries (P, T, A, D, S)
is part of the bar and is checked to sit inside it instead.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from helpers import REPO
from stratdsl.report import make_report
from stratdsl.report.i18n import Locale
from stratdsl.report.svg import GANTT, gantt, text_width

NS = "{http://www.w3.org/2000/svg}"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
AS_OF = date(2026, 11, 26)
LONG = "Un assistant de rédaction des réponses aux appels d'offres publics et privés avec relecture juridique Anticonstitutionnellement"


def report_for(example, lang):
    old = os.getcwd()
    os.chdir(REPO)
    try:
        return make_report(REPO / "policies" / "strategy.strat", example, AS_OF, lang)
    finally:
        os.chdir(old)


def boxes(svg: str):
    """(bars, letters, texts): bars and texts as (x1, y1, x2, y2, what)."""
    root = ET.fromstring(svg)
    bars, letters, texts = [], [], []

    def walk(node, size, in_phase):
        size = float(node.get("font-size", size))
        tag = node.tag.removeprefix(NS)
        if tag == "g" and node.get("class") == "phase":
            in_phase = True
        if tag == "rect" and in_phase:
            x, y, w, h = (float(node.get(k)) for k in ("x", "y", "width", "height"))
            bars.append((x, y, x + w + 8, y + h, "bar"))  # + the ▶ of an ongoing phase
        if tag == "text":
            anchor = node.get("text-anchor", "start")
            x, y = float(node.get("x")), float(node.get("y"))
            spans = [c for c in node if c.tag == NS + "tspan"]
            lines = [(float(t.get("x", x)), float(t.get("dy", 0)), float(t.get("font-size", size)), t.text or "") for t in spans] or [(x, 0.0, size, node.text or "")]
            for lx, dy, lsize, text in lines:
                y += dy
                width = text_width(text, lsize)
                left = lx - width / 2 if anchor == "middle" else lx - width if anchor == "end" else lx
                (letters if in_phase else texts).append((left, y - 0.8 * lsize, left + width, y + 0.25 * lsize, text))
            return
        for child in node:
            walk(child, size, in_phase)

    walk(root, 12.0, False)
    return bars, letters, texts


def meets(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def check(report, lang):
    svg = gantt(report, Locale(lang))
    bars, letters, texts = boxes(svg)
    assert bars or not any(row.phases for row in report.roadmap)
    over = [(t[4], b) for t in texts for b in bars if meets(t, b)]
    assert over == [], over
    for letter in letters:  # a bar's letter sits inside its bar
        assert any(b[0] <= letter[0] and letter[2] <= b[2] for b in bars if meets(letter, b)), letter
    root = ET.fromstring(svg)
    labels = [t for t in root.iter(NS + "text") if t.get("class") == "row-label"]
    names = [gw.obligation.label for gw in report.groundwork] + [row.usecase.name for row in report.roadmap]
    assert len(labels) == len(names)
    for label, name in zip(labels, names):
        lines = [t.text for t in label.iter(NS + "tspan") if t.get("class") != "note"]
        assert " ".join(lines) == " ".join(name.split())  # whole: no "5." prefix, no "…", no word cut
        size = float(label.get("font-size"))
        assert all(text_width(line, size) <= GANTT["x0"] - 8 for line in lines), lines  # inside the label column
    return svg


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_no_text_over_a_bar_in_any_example(example, lang):
    check(report_for(example, lang), lang)


def test_long_names_wrap_on_words_and_rows_grow():
    report = report_for(REPO / "examples" / "eti-logistique-250.yaml", "fr")
    assert report.roadmap
    for row in report.roadmap:
        row.usecase.name = LONG
        row.beyond = True  # its note goes under the name, not over the last months
    svg = check(report, "fr")
    root = ET.fromstring(svg)
    label = next(t for t in root.iter(NS + "text") if t.get("class") == "row-label" and t.find(NS + "title").text == LONG)
    assert len([t for t in label.iter(NS + "tspan") if t.get("class") != "note"]) >= 3
    assert "…" not in svg.split("</desc>", 1)[1]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_use_case_deferred_after_m12_says_so_not_to_be_completed(lang):
    """Jardineries Morel's seasonal restocking is selected but deferred past M12 for capacity: its
    row says "after M12" with the policy's reason, in the chart and in the Markdown table."""
    from stratdsl.report.markdown import render_markdown

    report = report_for(REPO / "examples" / "jardinerie-180.yaml", lang)
    row = next(r for r in report.roadmap if r.usecase.id == "reassort-saisonnier")
    assert row.deferred and row.decision is not None and row.decision.outcome == "deferred_capacity"
    loc = Locale(lang)
    svg = check(report, lang)
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(NS + "g") if g.get("class") == "row" and g.get("data-usecase") == "reassort-saisonnier")
    deferred = group.find(NS + "g")
    assert deferred is not None and deferred.get("data-deferred") == "deferred_capacity"
    assert deferred.find(NS + "title").text == row.decision.outcome_label
    assert deferred.find(NS + "text").text == f"{loc.t('beyond_horizon', n=12)} →"
    assert loc.t("to_complete") not in "".join(group.itertext())
    table = render_markdown(report, summary_only=True)
    line = next(li for li in table.splitlines() if li.startswith(f"| {row.usecase.name} |"))  # names carry no number
    assert line.rstrip().endswith(f"_{loc.t('beyond_horizon', n=12)}_ → |"), line
    assert f"- {row.usecase.name}{' : ' if lang == 'fr' else ': '}{row.decision.outcome_label}" in table


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("example", sorted((REPO / "examples").glob("*.yaml")), ids=lambda p: p.stem)
def test_use_case_names_carry_no_number_in_the_management_view(example, lang):
    """Names are shown as written, without their position in the assessment ("2. …"): the
    priorities, Gantt and roadmap tables, in Markdown and HTML. Numbers stay only where they
    are a key (the matrix's points, the key obligations' brackets)."""
    from stratdsl.report.html import render_html
    from stratdsl.report.markdown import render_markdown

    report = report_for(example, lang)
    names = [uc.name for uc in report.usecases]
    text = render_markdown(report)
    for name in names:
        assert not re.search(rf"^\| \d+\. {re.escape(name)} \|", text, re.M), name
        assert not re.search(rf"^(- |### )\d+\\?\. {re.escape(name)}", text, re.M), name
    page = render_html(report)
    assert not re.search(r'<td class="name">\d+\. ', page)
