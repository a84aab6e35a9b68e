"""The report as one self-contained HTML page: no network, no CDN, opens offline, prints on A4.

Everything is inline: the style sheet, the charts (SVG) and a six-line script
that opens an explanation when a link points at it. A Content-Security-Policy
with the hashes of that style and script forbids any other resource, so a
report can never fetch anything. Page 1 is the summary for management; the
charts, the risk table, the explanations (each in a `<details>`) and the
provenance follow, each section starting a new printed page.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from ..language.urls import safe_url
from .i18n import Locale
from .model import (
    Cite,
    DecisionView,
    EntityView,
    ExplanationView,
    Fact,
    FirstSteps,
    ObligationView,
    Report,
    Seg,
    ValueView,
    safe_id,
)
from .svg import PHASE_COLOURS, gantt, matrix, phase_label, quadrant_colours, radar

STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
html { background: #f2f2f2; }
body { margin: 0 auto; max-width: 210mm; background: #ffffff; color: #1a1a1a;
  font: 10.5pt/1.45 "DejaVu Sans", Verdana, Arial, sans-serif; padding: 12mm 14mm; }
a { color: #1d4f91; text-decoration: underline dotted; text-underline-offset: 2px; }
a:hover { text-decoration: underline; }
a.badge, .badge a { text-decoration: none; }
td.name { width: 34%; }
td.narrow, th.narrow { width: 1%; white-space: nowrap; }
a:focus-visible, summary:focus-visible { outline: 3px solid #b36b00; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #ffffff; padding: 4px 8px; z-index: 1; }
header.cover { border-bottom: 3px solid #1d4f91; margin-bottom: 10px; padding-bottom: 6px; }
header.cover h1 { font-size: 19pt; margin: 0 0 2px; line-height: 1.2; }
header.cover p { margin: 0; color: #444444; }
nav.toc { font-size: 9.5pt; margin: 6px 0 0; }
nav.toc ol { display: flex; flex-wrap: wrap; gap: 4px 14px; list-style: none; margin: 0; padding: 0; }
h2 { font-size: 14pt; color: #1d4f91; margin: 16px 0 8px; border-bottom: 1px solid #c8c8c8; padding-bottom: 2px; }
h3 { font-size: 11pt; margin: 12px 0 5px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 8px 0 4px; }
.card { border: 1px solid #c8c8c8; border-left: 4px solid #1d4f91; border-radius: 4px; padding: 6px 8px; }
.card .k { display: block; font-size: 8.5pt; color: #444444; text-transform: uppercase; letter-spacing: .02em; }
.card .v { display: block; font-size: 12pt; font-weight: bold; line-height: 1.25; margin-top: 2px; }
.card .s { display: block; font-size: 9pt; color: #333333; margin-top: 2px; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; margin: 4px 0 8px; }
caption { text-align: left; font-weight: bold; padding: 2px 0 4px; }
th, td { border-bottom: 1px solid #d6d6d6; padding: 3px 5px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: bold; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
td.num .missing, td.num .todo { white-space: normal; text-align: left; }
tr.has-sub td { border-bottom: none; }
tr.sub td { padding-top: 0; }
table.risks { table-layout: fixed; }
table.risks col.c-name { width: 25%; } table.risks col.c-cat { width: 15%; } table.risks col.c-cites { width: 15%; }
table.risks col.c-obl { width: 30%; } table.risks col.c-dates { width: 15%; }
table.risks td { overflow-wrap: anywhere; }
tr { break-inside: avoid; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; color: #ffffff; font-weight: bold; font-size: 9pt; }
.badge a, a.badge { color: #ffffff; }
.sev-0 { background: #7a1712; } .sev-1 { background: #a4201b; } .sev-2 { background: #8a4b00; } .sev-3 { background: #176b32; }
.undetermined { background: #555555; }
.todo { font-style: italic; color: #7a3b00; font-weight: bold; }
.missing { display: block; font-size: 8.5pt; color: #444444; }
.missing code { font-size: 8pt; }
.notice { border-left: 4px solid #7a3b00; background: #fbf3ea; padding: 4px 8px; margin: 6px 0; font-size: 9pt; }
.cites { display: block; font-size: 8.5pt; color: #444444; }
.muted { color: #444444; }
.small { font-size: 8.5pt; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8.5pt; background: #f3f3f3; padding: 0 2px; border-radius: 2px; overflow-wrap: anywhere; }
figure { margin: 6px 0 10px; break-inside: avoid; }
figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 9pt; color: #333333; margin-top: 4px; }
#summary col.c-rank { width: 6%; } #summary col.c-name { width: 31%; } #summary col.c-q { width: 15%; }
#summary col.c-gain { width: 11%; } #summary col.c-pay { width: 13%; } #summary col.c-road { width: 24%; }
.two { display: grid; grid-template-columns: 1.15fr 1fr; gap: 10px; align-items: start; }
ul.plain { margin: 2px 0; padding-left: 16px; }
ul.plain li { margin: 1px 0; }
ul.obligations { margin: 0; padding-left: 14px; font-size: 9pt; }
ul.cols { columns: 2; column-gap: 18px; margin: 2px 0; padding-left: 16px; font-size: 8.5pt; line-height: 1.3; }
table.key-risks td:first-child { width: 30%; } table.key-risks td:nth-child(2) { width: 40%; }
ul.cols li { break-inside: avoid; }
.trace { font-size: 8pt; color: #444444; border-top: 1px solid #c8c8c8; margin-top: 10px; padding-top: 4px; overflow-wrap: anywhere; }
details.x { border: 1px solid #d6d6d6; border-radius: 4px; margin: 4px 0; padding: 2px 8px; font-size: 9pt; }
details.x > summary { cursor: pointer; padding: 2px 0; }
details.x > summary .t { font-weight: bold; }
details.x[open] { background: #fafafa; }
details.x:target { border-color: #1d4f91; box-shadow: 0 0 0 2px #1d4f91; }
.lines { margin: 4px 0 6px; }
.lines div { padding-left: calc(var(--d, 0) * 16px); }
.lines .d0 { --d: 0; } .lines .d1 { --d: 1; } .lines .d2 { --d: 2; } .lines .d3 { --d: 3; } .lines .d4 { --d: 4; } .lines .d5 { --d: 5; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 9pt; margin: 4px 0; }
dl.prov dt { font-weight: bold; } dl.prov dd { margin: 0; overflow-wrap: anywhere; }
table.ids { font-size: 7.5pt; }
table.ids td { padding: 1px 4px; }
table.ids code { font-size: 7pt; background: none; }
table.ids td[data-record] code { overflow-wrap: normal; white-space: nowrap; }
.legend-phase { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 3px; vertical-align: baseline; }
.ph-prerequisites { background: #5f5f5f; } .ph-test { background: #1d4f91; } .ph-adjustment { background: #6a3d9a; }
.ph-deployment { background: #176b32; } .ph-standardisation { background: #745600; }
.q-hi-lo { background: #176b32; } .q-hi-hi { background: #1d4f91; } .q-lo-lo { background: #745600; } .q-lo-hi { background: #a4201b; }
footer { margin-top: 14px; }
@page { size: A4; margin: 10mm 11mm 12mm; }
@media print {
  html { background: #ffffff; }
  body { max-width: none; padding: 0; font-size: 9pt; }
  header.cover h1 { font-size: 17pt; }
  h2 { margin: 8px 0 5px; }
  .card { padding: 4px 6px; }
  .screen-only, nav.toc, .skip, #summary .trace { display: none; }
  figure { margin: 2px 0 4px; }
  .page { break-before: page; }
  h2, h3 { break-after: avoid; }
  figure, .cards, details.x, dl.prov { break-inside: avoid; }
  #summary table { font-size: 8pt; }
  #summary th, #summary td { padding: 2px 4px; }
  #summary .badge { font-size: 7.5pt; }
  .card .v { font-size: 11pt; } .card .s { font-size: 8pt; } .card .k { font-size: 7.5pt; }
  ul.cols { font-size: 8pt; line-height: 1.25; }
  header.cover { margin-bottom: 4px; }
  #summary h3 { margin: 8px 0 3px; }
  a { text-decoration: none; }
  details.x { border: none; border-bottom: 1px solid #e0e0e0; border-radius: 0; margin: 0; padding: 1px 0; font-size: 8pt; }
}
"""

SCRIPT = (
    "(function(){function open(){var id=decodeURIComponent(location.hash.slice(1));"
    "if(!id)return;var e=document.getElementById(id);"
    "while(e){if(e.tagName==='DETAILS'){e.open=true;}e=e.parentElement;}}"
    "window.addEventListener('hashchange',open);open();})();"
)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


class _Html:
    def __init__(self, report: Report) -> None:
        self.r = report
        self.loc = Locale(report.lang)
        self.anchors = report.anchors
        self.colon = " : " if report.lang == "fr" else ": "

    # ------------------------------------------------------------ small pieces
    def link(self, anchor: str | None, inner: str, cls: str = "") -> str:
        klass = f' class="{cls}"' if cls else ""
        if anchor and anchor in self.anchors:
            return f'<a{klass} href="#{anchor}">{inner}</a>'
        return f"<span{klass}>{inner}</span>" if cls else inner

    def facts(self, facts: tuple[Fact, ...] | list[Fact], limit: int = 2) -> str:
        """The missing facts, briefly: the first `limit` by their question, then how many more (all are in #missing)."""
        if not facts:
            return ""
        shown = list(facts)[:limit]
        sep = " ; " if self.r.lang == "fr" else "; "
        parts = [f"{_e(f.label)}{' (' + _e(f.entity) + ')' if f.entity else ''}" for f in shown]
        text = sep.join(parts)
        if len(facts) > limit:
            text += f" {_e(self.loc.t('and_more', n=len(facts) - limit))}"
        return f'<span class="missing">{_e(self.loc.t("missing_facts"))}{self.colon}{text} · <a href="#missing">{_e(self.loc.t("see_list"))}</a></span>'

    def cites(self, cites: tuple[Cite, ...]) -> str:
        if not cites:
            return ""
        sep = " ; " if self.r.lang == "fr" else "; "
        return f'<span class="cites">{sep.join(_e(c.text) for c in cites)}</span>'

    def value(self, v: ValueView | None, with_missing: bool = True) -> str:
        if v is None:
            return '<span class="muted">—</span>'
        if not v.known:
            out = self.link(v.anchor, _e(self.loc.t("to_complete")), "todo")
            return out + (self.facts(v.missing) if with_missing else "")
        if v.zero_means and v.value == 0:
            return self.link(v.anchor, _e(self.loc.t(v.zero_means)))
        return self.link(v.anchor, _e(self.loc.value(v.value, v.unit)))

    def decision(self, d: DecisionView | None, badge: str | None = None, with_missing: bool = True) -> str:
        if d is None:
            return '<span class="muted">—</span>'
        if d.decided:
            inner = _e(d.outcome_label or d.outcome)
            if badge:
                return self.link(d.anchor, inner, f"badge {badge}")
            return self.link(d.anchor, inner)
        if d.undetermined:
            sep = ", "
            possible = sep.join(label for _, label in d.possible)
            out = self.link(d.anchor, _e(self.loc.t("to_complete")), "todo")
            out += f' <span class="missing">{_e(self.loc.t("possible"))}{self.colon}{_e(possible)}</span>'
            return out + (self.facts(d.missing) if with_missing else "")
        return self.link(d.anchor, _e(self.loc.t("no_rule")), "todo")

    def quadrant_badge(self, d: DecisionView | None) -> str:
        if d is None or not d.decided:
            return self.decision(d)
        for name, _, hi, he in self.r.quadrant_outcomes:
            if name == d.outcome:
                return self.decision(d, f"q-{'hi' if hi else 'lo'}-{'hi' if he else 'lo'}")
        return self.decision(d)

    def severity_badge(self, d: DecisionView | None) -> str:
        """Outcomes declared first are the most severe (prohibited, high, …, minimal): dark red to green."""
        if d is None or not d.decided or d.outcome_index is None:
            return self.decision(d)
        level = 0 if d.outcome_count <= 1 else round(d.outcome_index * 3 / (d.outcome_count - 1))
        return self.decision(d, f"sev-{level}")

    def obligations(self, items: list[ObligationView], with_cites: bool = True) -> str:
        if not items:
            return '<span class="muted">—</span>'
        out = ['<ul class="obligations">']
        for o in items:
            status = "" if o.status == "applies" else f' <span class="todo">({_e(self.loc.t("possible_obligation"))})</span>'
            dates = []
            if o.valid_from:
                dates.append(self._since(o.valid_from))
            if o.valid_until:
                dates.append(self.loc.t("in_force_until", date=self.loc.date(o.valid_until)))
            extra = f' <span class="muted small">— {_e(", ".join(dates))}</span>' if dates else ""
            cites = ""
            if with_cites and o.cites:
                sep = " ; " if self.r.lang == "fr" else "; "
                cites = f' <span class="muted small">· {sep.join(_e(c.text) for c in o.cites)}</span>'
            missing = self.facts(o.missing) if o.status != "applies" else ""
            out.append(f"<li>{self.link(o.anchor, _e(o.label))}{status}{extra}{cites}{missing}</li>")
        out.append("</ul>")
        return "".join(out)

    def _since(self, when) -> str:
        if when > self.r.as_of:
            return self.loc.t("in_force_from", date=self.loc.date(when))
        return self.loc.t("in_force_since", date=self.loc.date(when))

    def segs(self, segs: list[Seg]) -> str:
        out = []
        for s in segs:
            if s.kind == "text":
                out.append(_e(s.text))
            elif s.kind == "code":
                out.append(f"<code>{_e(s.text)}</code>")
            elif s.kind == "strong":
                out.append(f"<strong>{_e(s.text)}</strong>")
            elif s.kind == "link":
                url = safe_url(s.target)  # http(s) only, whatever built the Seg
                out.append(f'<a href="{_e(url)}" rel="noreferrer">{_e(s.text)}</a>' if url else _e(s.text))
            elif s.kind == "xref":
                if s.target in self.anchors:
                    out.append(f' · <a href="#{_e(s.target)}">{_e(s.text)}</a>')
        return "".join(out)

    # ------------------------------------------------------------ the page
    def render(self) -> str:
        r, loc = self.r, self.loc
        style = STYLE.strip() + "\n" + self.page_footer()
        csp = (
            "default-src 'none'; "
            f"style-src {_csp_hash(style)}; script-src {_csp_hash(SCRIPT)}; "
            "img-src data:; base-uri 'none'; form-action 'none'"
        )
        title = f"{r.title} — {loc.t('as_of', date=loc.date(r.as_of))}"
        parts = [
            "<!DOCTYPE html>",
            f'<html lang="{r.lang}">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="{_e(r.engine)}">',
            f"<title>{_e(title)}</title>",
            f"<style>{style}</style>",
            "</head>",
            "<body>",
            f'<a class="skip" href="#summary">{_e(loc.t("skip"))}</a>',
            self.cover(),
            "<main>",
            self.summary(),
            self.maturity(),
            self.matrix(),
            self.roadmap(),
            self.risks(),
            self.missing(),
            self.explanations(),
            "</main>",
            self.provenance(),
            f"<script>{SCRIPT}</script>",
            "</body>",
            "</html>",
        ]
        return "\n".join(p for p in parts if p) + "\n"

    def page_footer(self) -> str:
        """Every printed page names the evaluation it comes from, so a loose page leads back to the audit log."""
        r, loc = self.r, self.loc
        text = f"{r.policy_name} {r.version} · {loc.t('evaluation_id')} {r.evaluation_id} · {loc.date(r.as_of)}"
        # a CSS string: escape backslashes and quotes, and '<' so that no text can close the <style> element
        css = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ")
        page = "page "
        return (
            "@page { @bottom-left { content: \"" + css + "\"; font: 7pt \"DejaVu Sans\", sans-serif; color: #444444; } "
            "@bottom-right { content: \"" + page + "\" counter(page) \" / \" counter(pages); font: 7pt \"DejaVu Sans\", sans-serif; color: #444444; } }"
        )

    def cover(self) -> str:
        r, loc = self.r, self.loc
        sections = [("summary", loc.t("summary"))]
        if r.dimensions:
            sections.append(("maturity", loc.t("maturity")))
        if r.has_matrix:
            sections.append(("matrix", loc.t("matrix")))
        if r.horizon:
            sections.append(("roadmap", loc.t("roadmap", n=r.horizon)))
        sections.append(("risks", loc.t("risks")))
        if r.missing_facts:
            sections.append(("missing", loc.t("missing_section")))
        sections += [("explanations", loc.t("explanations")), ("provenance", loc.t("provenance"))]
        toc = "".join(f'<li><a href="#{k}">{_e(v)}</a></li>' for k, v in sections)
        lines = [
            '<header class="cover">',
            f"<h1>{_e(r.title)}</h1>",
            f"<p>{_e(r.policy_label or r.policy_name)}</p>",
            f'<p><strong>{_e(loc.t("as_of", date=loc.date(r.as_of)))}</strong> · {_e(loc.t("policy_line", name=r.policy_name, version=r.version))}</p>',
            f'<nav class="toc" aria-label="{_e(loc.t("contents"))}"><ol>{toc}</ol></nav>',
            "</header>",
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------ summary (page 1)
    def summary(self) -> str:
        r, loc = self.r, self.loc
        spec = r.spec
        out = ['<section id="summary" aria-labelledby="h-summary">', f'<h2 id="h-summary">{_e(loc.t("summary"))}</h2>']
        if r.first_steps is not None:
            out.append(self.first_steps(r.first_steps))
        out.append('<div class="cards">')
        # maturity
        level = self.decision(r.maturity_level, with_missing=False)
        score = ""
        if r.global_score is not None:
            score = f'<span class="s">{_e(loc.t("global_score"))}{self.colon}{self._score(r.global_score)}</span>'
        out.append(f'<div class="card"><span class="k">{_e(loc.t("maturity_level"))}</span><span class="v">{level}</span>{score}</div>')
        out.append(f'<div class="card"><span class="k">{_e(loc.t("ambition"))}</span><span class="s">{self.decision(r.ambition, with_missing=False)}</span></div>')
        count = ""
        if r.selected_count is not None:
            count = f'<span class="s">{self.value(r.selected_count, with_missing=False)} · {_e(r.selected_count.label)}</span>'
        out.append(f'<div class="card"><span class="k">{_e(loc.t("portfolio"))}</span><span class="s">{self.decision(r.portfolio, with_missing=False)}</span>{count}</div>')
        weak_items = []
        for d in r.weak_dimensions:
            s = d.values.get(spec.dimension_score)
            weak_items.append(f"{self.link(s.anchor if s else None, _e(d.name))} ({self._score(s)})" if s else _e(d.name))
        undetermined_weak = [d for d in r.dimensions if (w := d.decisions.get(spec.weakness)) is not None and w.undetermined]
        parts = [", ".join(weak_items)] if weak_items else []
        if undetermined_weak:
            parts.append(f'<span class="todo">{_e(loc.t("to_complete"))}</span>{self.colon}{_e(", ".join(d.name for d in undetermined_weak))}')
        weak_text = " · ".join(parts) if parts else _e(loc.t("none"))
        out.append(f'<div class="card"><span class="k">{_e(loc.t("weak_points"))}</span><span class="s">{weak_text}</span></div>')
        out.append("</div>")
        if r.missing_facts:
            out.append(f'<p class="notice"><strong>{_e(loc.t("missing_notice", n=len(r.missing_facts)))}</strong> <a href="#missing">{_e(loc.t("see_list"))}</a></p>')

        # priorities
        out.append(f'<h3 id="priorities">{_e(loc.t("priorities"))}</h3>')
        if r.priorities:
            out.append('<table class="priorities"><colgroup><col class="c-rank"><col class="c-name"><col class="c-q"><col class="c-gain">'
                       '<col class="c-pay"><col class="c-road"></colgroup><thead><tr>')
            out.append(f'<th scope="col" class="num">{_e(loc.t("rank"))}</th><th scope="col">{_e(loc.t("usecase"))}</th>'
                       f'<th scope="col">{_e(loc.t("quadrant"))}</th><th scope="col" class="num">{_e(loc.t("annual_gain"))}</th>'
                       f'<th scope="col" class="num">{_e(loc.t("risk_payback"))}</th><th scope="col">{_e(loc.t("roadmap_col"))}</th>')
            out.append("</tr></thead><tbody>")
            for uc in r.priorities:
                out.append(
                    f'<tr data-usecase="{_e(uc.id)}"><td class="num">{self.value(uc.values.get(spec.priority_rank))}</td>'
                    f'<td class="name">{uc.number}. {_e(uc.name)}</td>'
                    f"<td>{self.quadrant_badge(uc.decisions.get(spec.quadrant))}</td>"
                    f'<td class="num">{self.value(uc.values.get(spec.annual_gain))}</td>'
                    f'<td class="num">{self.value(uc.values.get(spec.risk_adjusted_payback_months))}</td>'
                    f"<td>{self.decision(uc.decisions.get(spec.roadmap))}</td></tr>"
                )
            out.append("</tbody></table>")
        else:
            out.append(f"<p>{_e(loc.t('no_priorities'))}</p>")
        if r.to_complete:
            out.append(f'<p class="small"><strong>{_e(loc.t("to_complete_usecases"))}</strong></p><ul class="plain small">')
            for uc in r.to_complete:
                out.append(f"<li>{uc.number}. {_e(uc.name)} — {self.decision(uc.decisions.get(spec.selection))}</li>")
            out.append("</ul>")

        # roadmap at a glance
        if r.horizon:
            out.append(f'<h3 id="roadmap-glance">{_e(loc.t("roadmap_glance", n=r.horizon))}</h3>')
            out.append(f"<figure>{gantt(r, loc)}</figure>")
        # key risks and obligations
        out.append(f'<h3 id="key-risks">{_e(loc.t("key_risks"))}</h3>')
        out.append(self.key_risks())

        out.append(self.trace_line())
        out.append("</section>")
        return "\n".join(out)

    def first_steps(self, steps: FirstSteps) -> str:
        """What an incomplete diagnostic already says (the same lists as the Markdown's, model.FirstSteps)."""
        loc = self.loc

        def items(rows: list[str]) -> str:
            return "".join(f"<li>{row}</li>" for row in rows) or f"<li>{_e(loc.t('no_certain_step'))}</li>"

        def months(a: int | None, b: int | None) -> str:
            return "" if a is None or b is None else " — " + _e(loc.t("month_short", n=a) if a == b else loc.t("months_range", a=a, b=b))

        out = ['<div id="first-steps">', f"<h3>{_e(loc.t('first_steps'))}</h3>", f"<p>{_e(loc.t('first_steps_intro', n=steps.undetermined))}</p>"]
        out.append(f"<p class=\"small\"><strong>{_e(loc.t('certain_groundwork'))}</strong></p><ul class=\"plain small\">")
        out.append(items([_e(g.obligation.label) + months(g.start, g.end) for g in steps.groundwork]) + "</ul>")
        out.append(f"<p class=\"small\"><strong>{_e(loc.t('candidate_quick_wins'))}</strong></p><ul class=\"plain small\">")
        out.append(items([f"{uc.number}. {_e(uc.name)} — {_e(d.outcome_label)}" for uc, d in steps.candidates]) + "</ul>")
        if steps.questions:
            out.append(f"<p class=\"small\"><strong>{_e(loc.t('settling_questions'))}</strong></p><ol class=\"small\">")
            for q in steps.questions:
                who = f"{_e(q.fact.entity)}{self.colon}" if q.fact.entity else ""
                out.append(f'<li data-fact="{_e(q.fact.path)}">{who}{_e(q.fact.label)} — {_e(loc.t("waiting_decisions", n=q.waiting))}</li>')
            out.append("</ol>")
        return "\n".join([*out, "</div>"])

    def _score(self, v: ValueView | None) -> str:
        if v is None:
            return "—"
        if not v.known:
            return self.value(v, with_missing=False)
        return self.link(v.anchor, _e(self.loc.t("scale", value=self.loc.number(v.value), max=self.r.spec.score_max)))

    def key_risks(self) -> str:
        """One row per classification (most severe first): the use cases or tools that have it, and what changes next."""
        r, loc = self.r, self.loc
        out = ['<table class="key-risks"><thead><tr>',
               f'<th scope="col">{_e(loc.t("category"))}</th><th scope="col">{_e(loc.t("usecase"))} / {_e(loc.t("tool"))}</th>'
               f'<th scope="col">{_e(loc.t("next_dates"))}</th>',
               "</tr></thead><tbody>"]
        for group in r.risk_groups():
            badge = self.severity_badge(group.decision) if group.kind == "usecase" else self.decision(group.decision)
            names = []
            for row in group.rows:
                prefix = f"{row.entity.number}. " if group.kind == "usecase" else f"{_e(loc.t('tool'))}{self.colon}"
                target = safe_id(f"risk-{row.entity.id}" if group.kind == "usecase" else f"tool-{row.entity.id}")
                names.append(f'<a href="#{_e(target)}" data-{group.kind}="{_e(row.entity.id)}">{prefix}{_e(row.entity.name)}</a>')
            seen: list[str] = []
            for row in group.rows:
                for n in row.future_dates:
                    who = f"{row.entity.number}. " if len(group.rows) > 1 and group.kind == "usecase" else ""
                    text = who + self._date_note(n)
                    if text not in seen:
                        seen.append(text)
            dates = "<br>".join(seen) if seen else '<span class="muted">—</span>'
            out.append(f"<tr><td>{badge}</td><td>{' · '.join(names)}</td><td class=\"small\">{dates}</td></tr>")
        out.append("</tbody></table>")
        groups = r.obligation_groups()
        if groups:
            out.append(f'<p class="small"><strong>{_e(loc.t("key_obligations"))}</strong> <span class="muted">({_e(loc.t("obligation_numbers"))})</span></p><ul class="cols">')
            for g in groups:
                names = ", ".join(str(row.entity.number) if row in r.risks else row.entity.name for row, _ in g.rows)
                note = f' <span class="todo">({_e(loc.t("possible_obligation"))})</span>' if g.only_possible else ""
                out.append(f'<li>{self.link(g.first.anchor, _e(g.first.label))}{note} <span class="muted">[{_e(names)}]</span></li>')
            out.append("</ul>")
        return "\n".join(out)

    def _date_note(self, n) -> str:
        return f"{self.link(n.anchor, _e(n.what))} {_e(self.loc.date_note(n))}"

    def trace_line(self) -> str:
        r, loc = self.r, self.loc
        git = r.provenance.get("git") or {}
        commit = f"{loc.t('commit')} {git['commit'][:12]}" + (f" ({loc.t('dirty')})" if git.get("dirty") else "") if git else loc.t("not_in_git")
        return (
            f'<p class="trace">{_e(loc.t("evaluation_id"))} <code>{_e(r.evaluation_id)}</code> · '
            f"{_e(r.policy_name)} {_e(r.version)} · {_e(commit)} · "
            f'{_e(loc.t("assessment_hash"))} <code>{_e(r.assessment_sha256[:16])}…</code> · '
            f'<a href="#provenance">{_e(loc.t("provenance"))}</a></p>'
        )

    # ------------------------------------------------------------ maturity
    def maturity(self) -> str:
        r, loc = self.r, self.loc
        spec = r.spec
        if not r.dimensions:
            return ""
        out = ['<section id="maturity" class="page" aria-labelledby="h-maturity">', f'<h2 id="h-maturity">{_e(loc.t("maturity"))}</h2>']
        head = []
        if r.maturity_level is not None:
            head.append(f"{_e(loc.t('maturity_level'))}{self.colon}<strong>{self.decision(r.maturity_level)}</strong>")
        if r.global_score is not None:
            head.append(f"{_e(loc.t('global_score'))}{self.colon}{self._score(r.global_score)}")
        if head:
            out.append(f"<p>{' · '.join(head)}</p>")
        out.append('<div class="two">')
        out.append(f"<figure>{radar(r, loc)}</figure>")
        out.append("<table><thead><tr>"
                   f'<th scope="col">{_e(loc.t("dimension"))}</th><th scope="col" class="num">{_e(loc.t("score"))}</th>'
                   f'<th scope="col">{_e(loc.t("level"))}</th><th scope="col">{_e(loc.t("weakness"))}</th></tr></thead><tbody>')
        for d in r.dimensions:
            out.append(
                f'<tr data-dimension="{_e(d.id)}"><th scope="row">{_e(d.name)}</th><td class="num">{self._score(d.values.get(spec.dimension_score))}'
                f"{self.facts(d.values[spec.dimension_score].missing) if spec.dimension_score in d.values and not d.values[spec.dimension_score].known else ''}</td>"
                f"<td>{self.decision(d.decisions.get(spec.dimension_level), with_missing=False)}</td>"
                f"<td>{self.decision(d.decisions.get(spec.weakness), with_missing=False)}</td></tr>"
            )
        out.append("</tbody></table></div>")
        out.append("</section>")
        return "\n".join(out)

    # ------------------------------------------------------------ matrix
    def matrix(self) -> str:
        r, loc = self.r, self.loc
        spec = r.spec
        if not r.has_matrix:
            return ""
        out = ['<section id="matrix" aria-labelledby="h-matrix">', f'<h2 id="h-matrix">{_e(loc.t("matrix"))}</h2>']
        out.append(f"<figure>{matrix(r, loc)}")
        captions = []
        if r.impact_threshold is not None and r.effort_threshold is not None:
            captions.append(f"{_e(loc.t('high_impact', t=loc.number(r.impact_threshold)))} · {_e(loc.t('high_effort', t=loc.number(r.effort_threshold)))}")
        unplaced = [uc for uc in r.usecases if not all((v := uc.values.get(k)) is not None and v.known for k in (spec.impact, spec.effort))]
        if unplaced:
            captions.append(f'<span class="todo">{_e(loc.t("not_placed", items=", ".join(f"{uc.number}. {uc.name}" for uc in unplaced)))}</span>')
        if captions:
            out.append(f"<figcaption>{'<br>'.join(captions)}</figcaption>")
        out.append("</figure>")
        out.append("<table><thead><tr>"
                   f'<th scope="col" class="num">#</th><th scope="col">{_e(loc.t("usecase"))}</th>'
                   f'<th scope="col" class="num">{_e(loc.t("impact"))}</th><th scope="col" class="num">{_e(loc.t("effort"))}</th>'
                   f'<th scope="col">{_e(loc.t("quadrant"))}</th><th scope="col" class="num">{_e(loc.t("annual_gain"))}</th>'
                   f'<th scope="col" class="num">{_e(loc.t("risk_payback"))}</th><th scope="col">{_e(self._decision_label(spec.selection))}</th></tr></thead><tbody>')
        for uc in r.usecases:
            out.append(
                f'<tr data-usecase="{_e(uc.id)}"><td class="num">{uc.number}</td><td class="name">{_e(uc.name)}</td>'
                f'<td class="num">{self.value(uc.values.get(spec.impact))}</td><td class="num">{self.value(uc.values.get(spec.effort))}</td>'
                f"<td>{self.quadrant_badge(uc.decisions.get(spec.quadrant))}</td>"
                f'<td class="num">{self.value(uc.values.get(spec.annual_gain))}</td>'
                f'<td class="num">{self.value(uc.values.get(spec.risk_adjusted_payback_months))}</td>'
                f"<td>{self.decision(uc.decisions.get(spec.selection), with_missing=False)}"
                f"{self._eligibility(uc)}</td></tr>"
            )
        out.append("</tbody></table>")
        out.append("</section>")
        return "\n".join(out)

    def _eligibility(self, uc: EntityView) -> str:
        e = uc.decisions.get(self.r.spec.eligibility)
        s = uc.decisions.get(self.r.spec.selection)
        if e is None or (s is not None and s.decided and s.outcome == self.r.spec.selected_outcome):
            return ""
        return f'<span class="cites">{self.decision(e, with_missing=False)}</span>'

    def _decision_label(self, name: str) -> str:
        for uc in self.r.usecases:
            if name in uc.decisions:
                return uc.decisions[name].label
        return name

    # ------------------------------------------------------------ roadmap
    def roadmap(self) -> str:
        r, loc = self.r, self.loc
        spec = r.spec
        if not r.horizon:
            return ""
        out = ['<section id="roadmap" aria-labelledby="h-roadmap">', f'<h2 id="h-roadmap">{_e(loc.t("roadmap", n=r.horizon))}</h2>']
        out.append(f'<figure>{gantt(r, loc, "chart-gantt-detail")}</figure>')
        if not r.roadmap:
            out.append(f"<p>{_e(loc.t('no_priorities'))}</p>")
        else:
            heads = "".join(
                f'<th scope="col"><span class="legend-phase ph-{key}" aria-hidden="true"></span>{_e(phase_label(loc, key))}</th>'
                for _, key in spec.phases
            )
            out.append("<table><thead><tr>"
                       f'<th scope="col">{_e(loc.t("usecase"))}</th>'
                       f'<th scope="col"><span class="legend-phase ph-prerequisites" aria-hidden="true"></span>{_e(loc.t("prerequisites"))}</th>'
                       f'{heads}<th scope="col">{_e(loc.t("roadmap_col"))}</th></tr></thead><tbody>')
            for row in r.roadmap:
                cells = []
                for _, v in row.starts:
                    cells.append(f"<td>{self._month(v)}</td>")
                prereq = self._month_count(row.prerequisite_months)
                sub = bool(row.prerequisites)
                klass = ' class="has-sub"' if sub else ""
                out.append(
                    f'<tr data-usecase="{_e(row.usecase.id)}"{klass}><td class="name">{row.usecase.number}. {_e(row.usecase.name)}</td><td>{prereq}</td>'
                    f"{''.join(cells)}<td>{self.decision(row.decision)}</td></tr>"
                )
                if sub:
                    sep = " ; " if r.lang == "fr" else "; "
                    items = sep.join(self.link(o.anchor, _e(o.label)) for o in row.prerequisites)
                    out.append(f'<tr class="sub"><td></td><td colspan="{len(cells) + 2}" class="small">↳ {items}</td></tr>')
                uc = row.usecase
                if spec.success_measure in uc.decisions:
                    line = loc.t(
                        "success_line",
                        alignment=self.decision(uc.decisions.get(spec.alignment), with_missing=False),
                        measure=self.decision(uc.decisions.get(spec.success_measure), with_missing=False),
                        target=self.value(uc.values.get(spec.success_target)),
                        month=self._month(uc.values.get(spec.decision_point_month)),
                        verdict=self.decision(uc.decisions.get(spec.test_verdict), with_missing=False),
                    )
                    out.append(f'<tr class="sub success"><td></td><td colspan="{len(cells) + 2}" class="small">◎ {line}</td></tr>')
            out.append("</tbody></table>")
        out.append("</section>")
        return "\n".join(out)

    def _month(self, v: ValueView | None) -> str:
        if v is None:
            return "—"
        if not v.known:
            return self.value(v)
        n = v.as_int()
        text = self.loc.t("month_short", n=n) if n is not None else self.loc.number(v.value)
        if n is not None and self.r.horizon and n > self.r.horizon:
            text += f" ({self.loc.t('beyond_horizon', n=self.r.horizon)})"
        return self.link(v.anchor, _e(text))

    def _month_count(self, v: ValueView | None) -> str:
        if v is None:
            return ""
        if not v.known:
            return self.value(v)
        if v.value == 0:
            return self.link(v.anchor, _e(self.loc.t("no_prerequisite")))
        return self.link(v.anchor, _e(self.loc.months(v.value)))

    # ------------------------------------------------------------ risks
    def risks(self) -> str:
        r, loc = self.r, self.loc
        out = ['<section id="risks" class="page" aria-labelledby="h-risks">', f'<h2 id="h-risks">{_e(loc.t("risks"))}</h2>']
        out.append('<table class="risks"><colgroup><col class="c-name"><col class="c-cat"><col class="c-cites"><col class="c-obl"><col class="c-dates"></colgroup>'
                   "<thead><tr>"
                   f'<th scope="col">{_e(loc.t("usecase"))}</th><th scope="col">{_e(loc.t("category"))}</th>'
                   f'<th scope="col">{_e(loc.t("citations"))}</th><th scope="col">{_e(loc.t("obligations"))}</th>'
                   f'<th scope="col">{_e(loc.t("dates"))}</th></tr></thead><tbody>')
        for row in r.risks:
            legal = "".join(
                f'<span class="cites">{_e(d.label)}{self.colon}{self.decision(d, with_missing=False)}</span>' for d in row.legal
            )
            cites = self.cites(row.risk.cites) if row.risk is not None else ""
            dates = "<br>".join(self._date_note(n) for n in row.dates) if row.dates else '<span class="muted">—</span>'
            out.append(
                f'<tr id="{safe_id("risk-" + row.entity.id)}" data-usecase="{_e(row.entity.id)}"><td>{row.entity.number}. {_e(row.entity.name)}{legal}</td>'
                f"<td>{self.severity_badge(row.risk)}</td><td>{cites or '—'}</td>"
                f'<td>{self.obligations(row.obligations, with_cites=False)}</td><td class="small">{dates}</td></tr>'
            )
        out.append("</tbody></table>")
        if r.tools:
            out.append(f'<h3>{_e(loc.t("tools"))}</h3>')
            out.append("<table><thead><tr>"
                       f'<th scope="col">{_e(loc.t("tool"))}</th><th scope="col">{_e(loc.t("status"))}</th>'
                       f'<th scope="col">{_e(loc.t("obligations"))}</th></tr></thead><tbody>')
            for row in r.tools:
                status = self.decision(row.risk) + (self.cites(row.risk.cites) if row.risk is not None else "")
                out.append(
                    f'<tr id="{safe_id("tool-" + row.entity.id)}" data-tool="{_e(row.entity.id)}"><td>{_e(row.entity.name)}</td>'
                    f"<td>{status}</td><td>{self.obligations(row.obligations)}</td></tr>"
                )
            out.append("</tbody></table>")
        if r.global_obligations:
            out.append(f'<h3>{_e(loc.t("other_obligations"))}</h3>')
            out.append(self.obligations(r.global_obligations))
        out.append("</section>")
        return "\n".join(out)

    # ------------------------------------------------------------ missing facts
    def missing(self) -> str:
        r, loc = self.r, self.loc
        if not r.missing_facts:
            return ""
        out = ['<section id="missing" aria-labelledby="h-missing">', f'<h2 id="h-missing">{_e(loc.t("missing_section"))} ({len(r.missing_facts)})</h2>',
               f'<p class="small">{_e(loc.t("missing_intro"))}</p>',
               f'<table class="missing-facts"><thead><tr><th scope="col">{_e(loc.t("usecase"))} / {_e(loc.t("tool"))}</th>'
               f'<th scope="col">{_e(loc.t("question"))}</th><th scope="col">{_e(loc.t("path"))}</th></tr></thead><tbody>']
        for f in r.missing_facts:
            out.append(f'<tr data-fact="{_e(f.path)}"><td>{_e(f.entity or "")}</td><td>{_e(f.label)}</td><td><code>{_e(f.path)}</code></td></tr>')
        out.append("</tbody></table></section>")
        return "\n".join(out)

    # ------------------------------------------------------------ explanations
    def explanations(self) -> str:
        r, loc = self.r, self.loc
        out = ['<section id="explanations" class="page" aria-labelledby="h-explanations">', f'<h2 id="h-explanations">{_e(loc.t("explanations"))}</h2>']
        group: object = object()
        for x in r.explanations:
            if x.group != group:
                group = x.group
                out.append(f"<h3>{_e(x.group or r.company or r.policy_name)}</h3>")
            out.append(self.explanation(x))
        out.append("</section>")
        return "\n".join(out)

    def explanation(self, x: ExplanationView) -> str:
        lines = "".join(f'<div class="d{min(depth, 5)}">{self.segs(segs)}</div>' for depth, segs in x.lines)
        record = f' <code class="small">{_e(x.record_id)}</code>' if x.record_id else ""
        return (
            f'<details class="x" id="{x.anchor}" data-kind="{x.kind}"><summary><span class="t">{_e(x.title)}</span>{self.colon}'
            f"{self.segs(x.summary)}{record}</summary><div class=\"lines\">{lines}</div></details>"
        )

    # ------------------------------------------------------------ provenance
    def provenance(self) -> str:
        r, loc = self.r, self.loc
        prov = r.provenance
        git = prov.get("git") or {}
        rows = [
            (loc.t("policy"), f"{_e(r.policy_name)}" + (f" — {_e(r.policy_label)}" if r.policy_label else "")),
            (loc.t("version"), _e(r.version)),
            (loc.t("commit"), (f"<code>{_e(git['commit'])}</code>" + (f" ({_e(loc.t('dirty'))})" if git.get("dirty") else "")
                               + (f" · <code>{_e(git.get('policy_path', ''))}</code>" if git.get("policy_path") else "")) if git else _e(loc.t("not_in_git"))),
            (loc.t("policy_hash"), f"<code>{_e(prov.get('policy_sha256', ''))}</code>"),
            (loc.t("assessment"), _e(r.assessment_name or "—")),
            (loc.t("assessment_hash"), f"<code>{_e(r.assessment_sha256)}</code>"),
            (loc.t("as_of_label"), f"{_e(loc.date(r.as_of))} (<code>{r.as_of.isoformat()}</code>)"),
            (loc.t("overridden_params"), ", ".join(f"<code>{_e(n)} = {_e(loc.truth(v))}</code> ({_e(lbl)})" for n, lbl, v in r.overridden)
             if r.overridden else _e(loc.t("all_params_default"))),
            (loc.t("engine"), _e(r.engine)),
            (loc.t("evaluation_id"), f"<code>{_e(r.evaluation_id)}</code>"),
        ]
        out = ['<footer id="provenance" class="page" aria-labelledby="h-provenance">', f'<h2 id="h-provenance">{_e(loc.t("provenance"))}</h2>', '<dl class="prov">']
        for k, v in rows:
            out.append(f"<dt>{_e(k)}</dt><dd>{v}</dd>")
        out.append("</dl>")
        files = prov.get("files") or []
        if files:
            out.append(f'<details class="x"><summary><span class="t">{_e(loc.t("files"))}</span> ({len(files)})</summary><div class="lines">')
            for f in files:
                out.append(f"<div><code>{_e(f['path'])}</code> <code>{_e(f['sha256'])}</code></div>")
            out.append("</div></details>")
        out.append(f'<h3>{_e(loc.t("decision_ids"))}</h3>')
        note = "".join(f"<code>{_e(part)}</code>" if i % 2 else _e(part) for i, part in enumerate(loc.t("provenance_note").split("`")))
        out.append(f'<p class="small">{note}</p>')
        out.append(f'<table class="ids"><thead><tr><th scope="col">{_e(loc.t("decision"))}</th><th scope="col">{_e(loc.t("id"))}</th>'
                   f'<th scope="col">{_e(loc.t("decision"))}</th><th scope="col">{_e(loc.t("id"))}</th></tr></thead><tbody>')
        ids = r.decision_ids
        half = (len(ids) + 1) // 2
        for i in range(half):
            cells = []
            pair = [ids[i]] + ([ids[i + half]] if i + half < len(ids) else [])
            for key, rid, anchor in pair:
                cells.append(f'<td>{self.link(anchor, f"<code>{_e(key)}</code>")}</td><td data-record="{_e(rid)}"><code>{_e(rid)}</code></td>')
            out.append(f"<tr>{''.join(cells)}</tr>")
        out.append("</tbody></table>")
        out.append(f'<p class="small muted">{_e(loc.t("generated_by", engine=r.engine))}</p>')
        out.append("</footer>")
        return "\n".join(out)


def render_html(report: Report) -> str:
    return _Html(report).render()


__all__ = ["PHASE_COLOURS", "quadrant_colours", "render_html"]
