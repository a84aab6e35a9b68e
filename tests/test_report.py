"""The management report (src/stratdsl/report): structure of the HTML, golden Markdown, determinism, honesty.

The report is built from a frozen copy of the reference methodology
(tests/golden/report/policies/) and of an example assessment:
`cabinet-comptable.yaml` (every fact given) and `unknowns.yaml` (some left out),
so that methodology edits do not rewrite these tests; `test_live_examples`
renders the live policies/ with every example of examples/.
Golden Markdown files are `NAME.LANG.md` next to them; `STRATDSL_REGEN=1 pytest
tests/test_report.py` rewrites them. The git commit of the provenance is
pinned to 000…0 so that goldens do not change with every commit.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import GOLDEN, REPO, compare_golden
from stratdsl import engine
from stratdsl.commands.report_cli import report_cmd
from stratdsl.provenance import gitutil
from stratdsl.report import build_report, format_for, make_report, render_html, render_markdown
from stratdsl.report.i18n import NBSP, NNBSP, Locale
from stratdsl.report.model import DEFAULT_SPEC, anchor_of
from stratdsl.report.svg import matrix_geometry

REPORT_DIR = GOLDEN / "report"
POLICY = "tests/golden/report/policies/strategy.strat"
LIVE_POLICY = "policies/strategy.strat"
CABINET = "tests/golden/report/cabinet-comptable.yaml"
UNKNOWNS = "tests/golden/report/unknowns.yaml"
AS_OF = date(2026, 11, 26)
SECTIONS = ("summary", "maturity", "matrix", "roadmap", "risks", "explanations", "provenance")


@pytest.fixture(autouse=True)
def _pinned(monkeypatch):
    """Run from the repository (locations read policies/…), with a fixed git commit in the provenance."""
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(gitutil, "state", lambda files: gitutil.GitState(REPO, "0" * 40, False))


def evaluate(assessment: str, params: dict | None = None, as_of: date = AS_OF):
    policy, _ = engine.require_policy(POLICY)
    facts = engine.load_assessment(policy, assessment)
    result, tracer = engine.run(policy, facts, as_of, params or {}, trace=True)
    return policy, facts, result, tracer


def report_of(assessment: str = CABINET, lang: str = "fr", **kwargs):
    return make_report(POLICY, assessment, AS_OF, lang, **kwargs)


def spaces(text: str) -> str:
    """Locale spaces (no-break, narrow no-break) as plain spaces, for readable assertions."""
    return text.replace(NNBSP, " ").replace(NBSP, " ")


# ------------------------------------------------------------------ a small DOM from html.parser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclasses.dataclass
class Node:
    tag: str
    attrs: dict
    parent: Node | None = None
    children: list = dataclasses.field(default_factory=list)
    text: list = dataclasses.field(default_factory=list)

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs):
        for node in self.iter():
            if (tag is None or node.tag == tag) and all(node.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                yield node

    def find(self, tag: str | None = None, **attrs):
        return next(self.find_all(tag, **attrs), None)

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.current.tag != tag:
            self.errors.append(f"</{tag}> closes <{self.current.tag}> at {self.getpos()}")
            node = self.current
            while node is not None and node.tag != tag:
                node = node.parent
            if node is None:
                return
            self.current = node
        self.current = self.current.parent or self.root

    def handle_data(self, data):
        self.current.text.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert not builder.errors, builder.errors[:5]
    assert builder.current is builder.root, f"unclosed <{builder.current.tag}>"
    return builder.root


# ------------------------------------------------------------------ structure of the HTML


@pytest.fixture(scope="module")
def cabinet_html():
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        mp.setattr(gitutil, "state", lambda files: gitutil.GitState(REPO, "0" * 40, False))
        report = make_report(POLICY, CABINET, AS_OF, "fr")
        return report, render_html(report)


def test_html_document_frame(cabinet_html):
    _, html = cabinet_html
    assert html.startswith("<!DOCTYPE html>\n")
    dom = parse(html)
    root = dom.find("html")
    assert root.attrs["lang"] == "fr"
    title = dom.find("title").all_text()
    assert "Cabinet Durand & Associés" in title and "26 novembre 2026" in spaces(title)
    csp = dom.find("meta", http_equiv="Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp.attrs["content"]
    for section in SECTIONS:
        node = dom.find(id=section)
        assert node is not None, f"missing section #{section}"
        heading = dom.find(id=f"h-{section}")
        assert heading is not None and heading.tag == "h2" and heading.all_text().strip()
        assert node.attrs.get("aria-labelledby") == f"h-{section}"


def test_html_every_use_case_in_every_part(cabinet_html):
    report, html = cabinet_html
    dom = parse(html)
    ids = [uc.id for uc in report.usecases]
    assert ids == ["saisie-factures", "revue-ecritures", "tri-cv", "assistant-clients"]
    matrix = dom.find(id="matrix")
    risks = dom.find(id="risks")
    for uc in report.usecases:
        assert matrix.find("g", data_usecase=uc.id) is not None, f"{uc.id} not in the matrix chart"
        assert matrix.find("tr", data_usecase=uc.id) is not None, f"{uc.id} not in the matrix table"
        assert risks.find("tr", id=f"risk-{uc.id}") is not None, f"{uc.id} not in the risk table"
        assert dom.find(id="summary").find("a", data_usecase=uc.id) is not None, f"{uc.id} not among the key risks"
    # the priorities are the selected use cases, by rank; the roadmap has one row each
    summary = dom.find(id="summary")
    rows = [tr.attrs["data-usecase"] for tr in summary.find("table", **{"class": "priorities"}).find_all("tr") if "data-usecase" in tr.attrs]
    assert rows == ["saisie-factures", "revue-ecritures"]
    gantt = summary.find("svg", id="chart-gantt")
    assert [g.attrs["data-usecase"] for g in gantt.find_all("g", **{"class": "row"})] == rows
    phases = [g.attrs["data-phase"] for g in gantt.find("g", data_usecase="saisie-factures").find_all("g", **{"class": "phase"})]
    assert phases == ["prerequisites", "test", "adjustment", "deployment", "standardisation"]
    for dim in report.dimensions:
        assert dom.find(id="maturity").find("g", data_dimension=dim.id) is not None


def test_html_points_sit_in_the_quadrant_their_scores_give(cabinet_html):
    report, html = cabinet_html
    dom = parse(html)
    plot = dom.find("g", id="chart-matrix-plot")
    x0, y0 = float(plot.attrs["data-x0"]), float(plot.attrs["data-y0"])
    w, h, top = float(plot.attrs["data-width"]), float(plot.attrs["data-height"]), float(plot.attrs["data-max"])
    ti, te = Decimal(plot.attrs["data-impact-threshold"]), Decimal(plot.attrs["data-effort-threshold"])
    assert (ti, te) == (Decimal(3), Decimal(3))  # the policy's parameters
    assert matrix_geometry(report) == {"x0": x0, "y0": y0, "w": w, "h": h, "max": top}
    x_threshold = x0 + w * float(te) / top
    y_threshold = y0 + h - h * float(ti) / top
    lines = {line.attrs["data-axis"]: line for line in plot.find_all("line", **{"class": "threshold"})}
    assert float(lines["effort"].attrs["x1"]) == pytest.approx(x_threshold, abs=0.05)
    assert float(lines["impact"].attrs["y1"]) == pytest.approx(y_threshold, abs=0.05)
    _, _, result, _ = evaluate(CABINET)
    points = list(plot.find_all("g", **{"class": "point"}))
    assert len(points) == len(report.usecases)
    high_side = {name: (hi, he) for name, hi, he in DEFAULT_SPEC.quadrants}
    for point in points:
        uc = point.attrs["data-usecase"]
        impact, effort = Decimal(point.attrs["data-impact"]), Decimal(point.attrs["data-effort"])
        # the scores drawn are the evaluator's values, and the quadrant is its decision
        values = {v.definition: v.value for v in result.values if v.entity == uc}
        assert (impact, effort) == (values["impact"], values["effort"])
        outcome = result.find("quadrant", uc).outcome
        assert point.attrs["data-quadrant"] == outcome
        circle = point.find("circle")
        cx, cy = float(circle.attrs["cx"]), float(circle.attrs["cy"])
        assert (cx, cy) == (float(point.attrs["data-cx"]), float(point.attrs["data-cy"]))
        # the point is on the side of each threshold its scores say (thresholds are inclusive: >= is high)
        assert (cx > x_threshold) == (effort >= te), f"{uc}: effort {effort} drawn at x={cx}, threshold at {x_threshold}"
        assert (cy < y_threshold) == (impact >= ti), f"{uc}: impact {impact} drawn at y={cy}, threshold at {y_threshold}"
        assert high_side[outcome] == (impact >= ti, effort >= te)
        # and close to its exact position (moved a few pixels at most, off a threshold line)
        assert abs(cx - (x0 + w * float(effort) / top)) <= 4 and abs(cy - (y0 + h - h * float(impact) / top)) <= 4
        # its link leads to the quadrant decision's explanation
        link = next(a for a in point.ancestors() if a.tag == "a")
        assert link.attrs["href"] == "#" + anchor_of("d", "quadrant", f"usecases[{uc}]")


def test_html_charts_are_accessible_and_offline(cabinet_html):
    _, html = cabinet_html
    dom = parse(html)
    charts = list(dom.find_all("svg"))
    assert {c.attrs["id"] for c in charts} == {"chart-radar", "chart-matrix", "chart-gantt", "chart-gantt-detail"}
    for svg in charts:
        assert svg.attrs["role"] == "img"
        title_id, desc_id = svg.attrs["aria-labelledby"].split()
        title, desc = svg.find("title", id=title_id), svg.find("desc", id=desc_id)
        assert title is not None and title.parent is svg and title.all_text().strip()
        assert desc is not None and desc.parent is svg and len(desc.all_text()) > 40
    # nothing is fetched: no src, no <link>, no url(), external links only as plain hyperlinks
    for node in dom.iter():
        assert "src" not in node.attrs, node.tag
        assert node.tag not in ("link", "iframe", "img", "object", "embed")
        href = node.attrs.get("href")
        if href is not None and not href.startswith("#"):
            assert node.tag == "a" and href.startswith("https://"), href
    assert "url(" not in html and "@import" not in html


def test_html_links_resolve_and_ids_are_unique(cabinet_html):
    report, html = cabinet_html
    dom = parse(html)
    ids = [n.attrs["id"] for n in dom.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    targets = {n.attrs["href"][1:] for n in dom.iter() if n.attrs.get("href", "").startswith("#")}
    assert targets - set(ids) == set()
    # every explanation is a <details> with a <summary>, and the summary says what it explains
    details = list(dom.find(id="explanations").find_all("details", **{"class": "x"}))
    assert len(details) == len(report.explanations)
    for d in details:
        assert d.children[0].tag == "summary" and d.children[0].all_text().strip()
    # every figure of the summary links to an explanation
    for a in dom.find(id="summary").find_all("a"):
        href = a.attrs["href"]
        assert href.startswith("#")


def test_html_explanations_say_rule_citation_and_values(cabinet_html):
    report, html = cabinet_html
    dom = parse(html)
    quadrant = dom.find("details", id=anchor_of("d", "quadrant", "usecases[saisie-factures]"))
    text = spaces(quadrant.all_text())
    assert "Priorité immédiate" in text
    assert "quadrant.quick_win" in text and "tests/golden/report/policies/impact-effort.strat" in text
    assert "Méthode Pilier 4 : Impact élevé / effort faible → Priorité immédiate" in text
    assert "impact (5) >= impact_threshold (3) → vrai" in text
    record = next(rid for key, rid, _ in report.decision_ids if key == "quadrant[saisie-factures]")
    assert record in quadrant.find("summary").all_text()
    gain = dom.find("details", id=anchor_of("v", "annual_gain", "usecases[saisie-factures]"))
    assert "63 720 €" in spaces(gain.find("summary").all_text())
    assert "hours_saved_per_year = 1410" in gain.all_text()


def test_html_provenance_ties_the_report_to_the_audit_log(cabinet_html):
    _, html = cabinet_html
    policy, facts, result, tracer = evaluate(CABINET)
    from stratdsl.provenance.records import assessment_sha256, decision_records

    evaluation, records = decision_records(policy, facts, result, tracer, "fr")
    footer = parse(html).find(id="provenance")
    text = footer.all_text()
    assert "0" * 40 in text and "Stratégie IA PME/ETI" in text and "2026.11" in text
    assert assessment_sha256(facts) in text and evaluation["id"] in text and "2026-11-26" in text
    shown = {td.attrs["data-record"] for td in footer.find_all("td") if "data-record" in td.attrs}
    assert shown == {r["id"] for r in records}
    assert len(shown) == len(result.decisions)
    # the id of every printed page's footer
    assert evaluation["id"] in html.split("</style>")[0]


def test_html_locale_formatting():
    fr = spaces(render_html(report_of(lang="fr")))
    en = spaces(render_html(report_of(lang="en")))
    assert "63 720 €" in fr and "9 517,50 €" in fr and "26 novembre 2026" in fr and "2,2 / 5" in fr
    assert "€63,720" in en and "€9,517.50" in en and "26 November 2026" in en and "2.2 / 5" in en
    assert '<html lang="en">' in en
    # labels come from the policy in the chosen language
    assert "Priorité immédiate" in fr and "Quick win" in en and "Quick win" not in fr
    assert "Test ciblé" in fr and "Targeted test" in en


# ------------------------------------------------------------------ honesty: unknown is never zero


def test_unknown_values_and_undetermined_decisions_are_shown_as_such():
    report = report_of(UNKNOWNS)
    html = render_html(report)
    dom = parse(html)
    md = render_markdown(report)
    # the maturity level waits for a fact: not a level, not zero
    assert report.maturity_level.undetermined and report.global_score.value is None
    card = dom.find(id="summary").find("div", **{"class": "cards"})
    assert "à compléter" in card.all_text()
    # the use case without its weekly hours: no gain, no point in the matrix, no "0 €"
    uc = next(u for u in report.usecases if u.id == "assistant-clients")
    assert uc.values["annual_gain"].value is None and uc.decisions["quadrant"].undetermined
    row = dom.find(id="matrix").find("tr", data_usecase="assistant-clients")
    cells = [td.all_text() for td in row.find_all("td")]
    assert "à compléter" in cells[2] and "à compléter" in cells[5]
    assert not any(re.search(r"(^|\D)0(\s| )?€", spaces(c)) for c in cells)
    assert dom.find(id="matrix").find("g", data_usecase="assistant-clients") is None
    assert "Non placés, faute de score" in dom.find(id="matrix").all_text()
    # the radar marks the unknown dimension with a question mark instead of drawing a zero
    governance = dom.find(id="chart-radar").find("g", data_dimension="governance")
    assert "?" in governance.all_text() and "à compléter" in governance.all_text()
    assert dom.find(id="chart-radar").find("polygon", **{"class": "scores"}) is None
    # every missing fact is listed with its question and its path, in both formats
    missing = {tr.attrs["data-fact"] for tr in dom.find(id="missing").find_all("tr") if "data-fact" in tr.attrs}
    assert {"maturity.governance.documented", "usecases[assistant-clients].hours_per_week", "usecases[tri-cv].profiling"} <= missing
    assert {f.path for f in report.missing_facts} == missing
    for path in missing:
        assert f"`{path}`" in md
    assert "Évaluation incomplète" in md and "Évaluation incomplète" in html


def test_the_report_reads_outcomes_it_never_recomputes():
    """Change an outcome in the Result by hand: the report shows the changed one, so it only reads."""
    policy, facts, result, tracer = evaluate(CABINET)
    index = next(i for i, d in enumerate(result.decisions) if d.decision == "quadrant" and d.entity == "tri-cv")
    assert result.decisions[index].outcome == "secondary"
    result.decisions[index] = dataclasses.replace(result.decisions[index], outcome="structuring")
    report = build_report(policy, facts, result, tracer, "fr", "x.yaml")
    dom = parse(render_html(report))
    point = dom.find(id="chart-matrix").find("g", data_usecase="tri-cv")
    assert point.attrs["data-quadrant"] == "structuring"
    assert "Projet structurant" in dom.find(id="matrix").find("tr", data_usecase="tri-cv").all_text()


# ------------------------------------------------------------------ the live methodology, every example

EXAMPLES = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "examples").glob("*.yaml"))


def check_structure(report, html: str) -> None:
    """What holds for any report: unique ids, links that resolve, every use case in each part, points on the right side."""
    dom = parse(html)
    ids = [n.attrs["id"] for n in dom.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids))
    targets = {n.attrs["href"][1:] for n in dom.iter() if n.attrs.get("href", "").startswith("#")}
    assert targets <= set(ids)
    for section in SECTIONS:
        assert dom.find(id=section) is not None
    matrix = dom.find(id="matrix")
    plot = matrix.find("g", id="chart-matrix-plot")
    x0, y0, w, h, top = (float(plot.attrs[k]) for k in ("data-x0", "data-y0", "data-width", "data-height", "data-max"))
    ti, te = Decimal(plot.attrs["data-impact-threshold"]), Decimal(plot.attrs["data-effort-threshold"])
    for uc in report.usecases:
        assert dom.find(id="risks").find("tr", data_usecase=uc.id) is not None
        assert matrix.find("tr", data_usecase=uc.id) is not None
        point = matrix.find("g", data_usecase=uc.id)
        impact, effort = uc.values["impact"], uc.values["effort"]
        if not (impact.known and effort.known):
            assert point is None and uc.name in matrix.all_text()
            continue
        cx, cy = float(point.attrs["data-cx"]), float(point.attrs["data-cy"])
        assert (cx > x0 + w * float(te) / top) == (effort.value >= te)
        assert (cy < y0 + h - h * float(ti) / top) == (impact.value >= ti)
        assert point.attrs["data-quadrant"] == uc.decisions["quadrant"].outcome


@pytest.mark.parametrize("example", EXAMPLES)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_live_examples(example, lang):
    report = make_report(LIVE_POLICY, example, AS_OF, lang)
    check_structure(report, render_html(report))
    md = render_markdown(report)
    assert md.startswith("# ") and all(uc.name in md for uc in report.usecases)


# ------------------------------------------------------------------ golden Markdown and determinism

GOLDENS = {
    "cabinet-comptable.fr": (CABINET, "fr"),
    "unknowns.en": (UNKNOWNS, "en"),
}


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_markdown_golden(name, tmp_path):
    assessment, lang = GOLDENS[name]
    out = tmp_path / "report.md"
    result = CliRunner().invoke(report_cmd, [POLICY, assessment, "-o", str(out), "--lang", lang, "--as-of", "2026-11-26"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    compare_golden(REPORT_DIR / f"{name}.md", out.read_text(encoding="utf-8"))


def test_markdown_carries_the_same_content_as_html():
    report = report_of()
    md = render_markdown(report)
    html = render_html(report)
    for x in report.explanations:
        assert f'<a id="{x.anchor}"></a>' in md and f'id="{x.anchor}"' in html
    for uc in report.usecases:
        assert uc.name in md
    for _, rid, _ in report.decision_ids:
        assert rid in md and rid in html
    links = set(re.findall(r"\]\(#([^)]+)\)", md))
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', md))
    assert links <= anchors


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_same_inputs_same_bytes(fmt, tmp_path):
    outputs = []
    for n in range(2):
        out = tmp_path / f"r{n}.{fmt}"
        args = [POLICY, UNKNOWNS, "-o", str(out), "--as-of", "2026-11-26", "--param", "stagger_months=2"]
        assert CliRunner().invoke(report_cmd, args, catch_exceptions=False).exit_code == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert b"\r\n" not in outputs[0]


# ------------------------------------------------------------------ the command


def run(args):
    return CliRunner().invoke(report_cmd, args, catch_exceptions=False)


def test_cli_format_from_extension_and_stdout(tmp_path):
    assert format_for("a.HTML") == "html" and format_for("b.md") == "markdown" and format_for("c.txt") is None
    result = run([POLICY, CABINET, "-o", str(tmp_path / "r.txt"), "--as-of", "2026-11-26"])
    assert result.exit_code == 2 and "--format" in result.output
    result = run([POLICY, CABINET, "-o", "-", "--format", "markdown", "--as-of", "2026-11-26"])
    assert result.exit_code == 0 and result.stdout.startswith("# Diagnostic IA — Cabinet Durand & Associés\n")
    result = CliRunner().invoke(report_cmd, [POLICY, CABINET, "-o", str(tmp_path / "r.html"), "--as-of", "26/11/2026", "--lang", "en"])
    assert result.exit_code == 1 and "error[E342]" in result.output


def test_cli_params_change_the_report_and_are_recorded(tmp_path):
    out = tmp_path / "r.md"
    result = run([POLICY, CABINET, "-o", str(out), "--as-of", "2026-11-26", "--param", "effort_threshold=2"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "`effort_threshold = 2`" in text
    assert "Effort élevé (≥ 2)" in text
    result = run([POLICY, CABINET, "-o", str(out), "--force", "--param", "no_such_param=1"])
    assert result.exit_code == 1 and "E304" in result.output


def test_cli_bad_inputs_exit_1_with_diagnostics(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("organization: {name: X, headcount: -3}\n", encoding="utf-8")
    out = tmp_path / "r.html"
    result = run([POLICY, str(bad), "-o", str(out), "--as-of", "2026-11-26"])
    assert result.exit_code == 1 and "E302" in result.output
    assert not out.exists()
    broken = tmp_path / "broken.strat"
    broken.write_text('policy "x" version "1"\ndecision d { a when }\n', encoding="utf-8")
    result = run([str(broken), CABINET, "-o", str(out)])
    assert result.exit_code == 1 and "error[" in result.output
    result = run([POLICY, CABINET, "-o", str(tmp_path / "no" / "such" / "dir.html"), "--as-of", "2026-11-26"])
    assert result.exit_code == 1 and "cannot write" in result.output


# ------------------------------------------------------------------ locale formatting


def test_locale_numbers_money_dates():
    fr, en = Locale("fr"), Locale("en")
    assert spaces(fr.money(Decimal("63720"))) == "63 720 €"
    assert spaces(fr.money(Decimal("9517.5"))) == "9 517,50 €"
    assert spaces(fr.money(Decimal("-596"))) == "−596 €"
    assert en.money(Decimal("63720")) == "€63,720" and en.money(Decimal("9517.5")) == "€9,517.50"
    assert spaces(fr.number(Decimal("1234567.25"))) == "1 234 567,25" and en.number(Decimal("1234567.25")) == "1,234,567.25"
    assert fr.number(Decimal("2.20")) == "2,2" and en.number(Decimal("0.5")) == "0.5"
    assert spaces(fr.date(date(2026, 11, 26))) == "26 novembre 2026" and spaces(fr.date(date(2027, 12, 1))) == "1er décembre 2027"
    assert spaces(en.date(date(2026, 11, 26))) == "26 November 2026"
    assert spaces(fr.months(Decimal(1))) == "1 mois" and spaces(en.months(Decimal(1))) == "1 month" and spaces(en.months(Decimal(10))) == "10 months"
    assert fr.value(None) == "à compléter" and en.value(None) == "to be completed"
    assert NNBSP in fr.money(Decimal(1000)) and NBSP in fr.money(Decimal(1000))
    with pytest.raises(ValueError):
        Locale("de")


def test_anchor_ids_are_safe():
    assert anchor_of("d", "quadrant", "usecases[ocr]") == "d-quadrant--usecases-ocr"
    assert anchor_of("v", "score", "maturity.skills") == "v-score--maturity-skills"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", anchor_of("d", "risk", "usecases[é x/\"<>]"))


def test_output_is_written_whole(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("old", encoding="utf-8")
    refused = run([POLICY, CABINET, "-o", str(out), "--as-of", "2026-11-26", "--lang", "en"])
    assert refused.exit_code == 2 and "error[E702]" in refused.output  # replaced only with --force
    assert out.read_text(encoding="utf-8") == "old"
    assert run([POLICY, CABINET, "-o", str(out), "--as-of", "2026-11-26", "--force"]).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert Path(out).stat().st_size > 10000


def test_audit_log_holds_the_decisions_the_report_cites(tmp_path):
    """`--audit-log` logs the same records `eval --audit-log` would: the report's ids find them."""
    from stratdsl.provenance import audit

    log = tmp_path / "audit.jsonl"
    out = tmp_path / "r.html"
    result = run([POLICY, CABINET, "-o", str(out), "--as-of", "2026-11-26", "--audit-log", str(log)])
    assert result.exit_code == 0, result.output
    count, problem = audit.verify(log)
    report = report_of()
    # the log's header, the evaluation, its decisions and the commit entry closing the unit (format 2)
    assert problem is None and count == 1 + len(report.records) + 1 == len(report.decision_ids) + 3
    entries = audit.read(log)
    logged = {e["entry"]["id"] for e in entries if e["entry"]["kind"] == "decision"}
    assert logged == {rid for _, rid, _ in report.decision_ids}
    html = out.read_text(encoding="utf-8")
    for _, rid, _ in report.decision_ids:
        assert audit.find_decision(entries, rid)["entry"]["id"] == rid
        assert rid in html


def test_hostile_text_is_escaped(tmp_path):
    """Names from the assessment cannot inject markup, close the style sheet, or break ids and links."""
    text = (REPO / CABINET).read_text(encoding="utf-8")
    text = text.replace('name: "Cabinet Durand & Associés"', 'name: "</style><script>alert(1)</script> & \\"Co\\""')
    text = text.replace("id: saisie-factures", 'id: "saisie.factures_2"')
    text = text.replace('name: "Saisie automatique des factures fournisseurs des clients"', 'name: "<b>Saisie</b> | *gras* [lien](http://x)"')
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(text, encoding="utf-8")
    report = make_report(POLICY, hostile, AS_OF, "fr")
    assert report.company.startswith("</style>") and report.usecases[0].id == "saisie.factures_2"
    html = render_html(report)
    dom = parse(html)
    assert [n.tag for n in dom.iter()].count("script") == 1 and dom.find("b") is None
    assert dom.find("title").all_text().startswith("Diagnostic IA — </style><script>")
    check_structure(report, html)
    md = render_markdown(report)
    assert "\\<b\\>Saisie\\</b\\> \\| \\*gras\\* \\[lien\\](http://x)" in md
    assert "<script>" not in md.replace('<a id="', "")


def test_both_languages_have_every_word():
    from stratdsl.report.i18n import WORDS

    assert WORDS["fr"].keys() == WORDS["en"].keys()
    for lang in ("fr", "en"):
        for key, text in WORDS[lang].items():
            assert text.strip(), f"{lang}.{key} is empty"


# ------------------------------------------------------------------ the groundwork lane (issue 14)


def test_groundwork_lane_comes_first_on_the_roadmap():
    """A 10-person studio at the exploratory level: use policy M1, training M1–M2, data foundations M1–M3, drawn
    once above the use cases, whose tests start after the training (M3)."""
    report = make_report(LIVE_POLICY, REPO / "examples" / "studio-conseil-10.yaml", AS_OF, "fr")
    assert [(g.obligation.name, g.start, g.end) for g in report.groundwork] == [
        ("groundwork_governance", 1, 1), ("groundwork_literacy", 1, 2), ("groundwork_data", 1, 3)]
    html = render_html(report)
    lanes = re.findall(r'data-phase="groundwork" data-start="(\d+)" data-end="(\d+)"', html)
    assert ("1", "3") in lanes and ("1", "2") in lanes
    md = render_markdown(report)
    table = md[md.index("| Cas d'usage | M1 |"):]
    first_rows = table.splitlines()[2:5]
    assert all(row.startswith("| Fondations") for row in first_rows), first_rows
    assert "F = Fondations" in md
    # every planned test carries its success measure, target and decision point (end of the adjustment)
    assert "mesure de succès : Heures économisées par semaine" in md
    assert "Alignement : Sert l'objectif prioritaire" in md
    assert 'class="sub success"' in html and "point de décision" in html


def test_groundwork_lane_even_without_a_selected_use_case(tmp_path):
    """Weak governance and no lever: the roadmap still shows the groundwork."""
    source = (REPO / "examples" / "studio-conseil-10.yaml").read_text(encoding="utf-8")
    lean = tmp_path / "lean.yaml"
    lean.write_text(source[: source.index("usecases:")] + "usecases: []\n", encoding="utf-8")
    report = make_report(LIVE_POLICY, lean, AS_OF, "en")
    assert not report.roadmap and len(report.groundwork) == 3
    assert 'data-phase="groundwork"' in render_html(report)
    assert "Groundwork: write the AI use policy" in render_markdown(report)


def test_output_that_is_a_folder_is_a_coded_error(tmp_path):
    result = run([POLICY, CABINET, "-o", str(tmp_path), "--as-of", "2026-11-26", "--lang", "en"])
    assert result.exit_code == 2 and f"error[E701]: '{tmp_path}' is a folder" in result.output
    assert "internal error" not in result.output and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ issue 16, point 12: source urls

HOSTILE_URLS = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https://",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_source_url_that_is_not_http_is_refused_by_check(url):
    policy, diagnostics = engine.compile_text(f'policy "p" version "1"\nsource s "S" url "{url}"\n')
    assert policy is None
    (d,) = diagnostics
    assert d.code == "E062" and "is refused" in d.message


@pytest.mark.parametrize(
    "url",
    [*HOSTILE_URLS, 'https://x.example/a")<script>alert(1)</script>', "https://x.example/a)[evil](javascript:alert(1)", "https://x.example/<b>\"'"],
)
def test_source_urls_are_http_only_and_escaped_in_both_formats(url):
    """Even when the checker is bypassed (a hand-built IR), neither renderer writes a link that is
    not http(s), nor a character that could end the link and start markup."""
    policy, facts, result, tracer = evaluate(CABINET)
    gdpr = policy.sources["gdpr"].url
    policy.sources["gdpr"] = dataclasses.replace(policy.sources["gdpr"], url=url)
    report = build_report(policy, facts, result, tracer, "fr", "x.yaml")
    html, md = render_html(report), render_markdown(report)
    for text in (html, md):
        if not url.startswith("https://x.example/"):  # there, "javascript:" is harmless text inside an https path
            assert "javascript:" not in text.lower() and "vbscript:" not in text and "data:text/html" not in text
        assert "<script>alert" not in text and "[evil]" not in text
    hrefs = set(re.findall(r'<a href="([^"]*)" rel="noreferrer">', html))
    links = set(re.findall(r"\]\((https?:[^)\s]*)\)", md))
    assert gdpr not in hrefs | links
    ours = {h for h in hrefs | links if "x.example" in h}
    assert all(h.startswith("https://") for h in hrefs | links)
    if url.startswith("https://x.example/"):
        assert ours and all(not set(h) & set("<>\"'()[] ") for h in ours)
    else:
        assert ours == set()


def test_safe_url_keeps_ordinary_addresses():
    from stratdsl.language.urls import safe_url

    assert safe_url("https://eur-lex.europa.eu/eli/reg/2016/679/oj") == "https://eur-lex.europa.eu/eli/reg/2016/679/oj"
    assert safe_url("http://a.example/p?q=1&r=%C3%A9#x") == "http://a.example/p?q=1&r=%C3%A9#x"
    assert safe_url("https://a.example/é (1)") == "https://a.example/%C3%A9%20%281%29" or safe_url("https://a.example/é (1)") is None
    assert safe_url("ftp://a.example/") is None and safe_url(None) is None
