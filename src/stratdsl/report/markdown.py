"""The report as Markdown: the same content as the HTML page, in text form, fit for a git repository.

Two halves. The management view (the summary — opening with the first steps when
decisions are still open —, then maturity, matrix, roadmap, risks) reads as plain
text for a director: labels and formatted values, no rule ids, no file or fact
paths, no hex ids, no links on values. The technical appendix holds what an
auditor needs: the missing answers with their paths, the explanation of every
figure, the provenance and the decision ids. `summary_only` writes the header
and the summary alone.

Charts become tables: the radar a table of scores with a text bar, the
impact/effort matrix a two-by-two table of the quadrants (filled from the
quadrant decision of each use case) plus the table of scores, the Gantt chart
a month-by-month table with one letter per phase. Links point at anchors
(`<a id="…"></a>`) placed before each explanation; GitHub and most renderers
follow them.
"""

from __future__ import annotations

from ..language.urls import safe_url
from .i18n import Locale
from .model import Cite, DecisionView, ExplanationView, Fact, FirstSteps, ObligationView, Report, Seg, ValueView
from .svg import PHASE_LETTERS, phase_label

_SPECIAL = set("\\`*_[]<>|")


def md(text: object) -> str:
    """Escape Markdown's inline specials (also `|`, so that text is safe in tables)."""
    return "".join("\\" + c if c in _SPECIAL else c for c in str(text)).replace("\n", " ")


def code(text: str) -> str:
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class _Md:
    def __init__(self, report: Report, summary_only: bool = False) -> None:
        self.r = report
        self.summary_only = summary_only
        self.plain = False  # in the management view: values as plain text, no links to the appendix
        self.loc = Locale(report.lang)
        self.anchors = report.anchors
        self.colon = " : " if report.lang == "fr" else ": "
        self.sep = " ; " if report.lang == "fr" else "; "

    # ------------------------------------------------------------ small pieces
    def link(self, anchor: str | None, text: str) -> str:
        """`text` is already Markdown."""
        if anchor and anchor in self.anchors and not self.plain:
            return f"[{text}](#{anchor})"
        return text

    def facts(self, facts: tuple[Fact, ...] | list[Fact], limit: int = 2) -> str:
        """The missing facts, briefly: the first `limit` by their question, then how many more (all are in #missing)."""
        if not facts:
            return ""
        shown = list(facts)[:limit]
        text = self.sep.join(f"{md(f.label)}{' (' + md(f.entity) + ')' if f.entity else ''}" for f in shown)
        if len(facts) > limit:
            text += f" {md(self.loc.t('and_more', n=len(facts) - limit))}"
        see = "" if self.summary_only else f" · [{md(self.loc.t('see_list'))}](#missing)"
        return f" ({md(self.loc.t('missing_facts'))}{self.colon}{text}{see})"

    def cites(self, cites: tuple[Cite, ...]) -> str:
        return self.sep.join(md(c.text) for c in cites)

    def value(self, v: ValueView | None, with_missing: bool = True) -> str:
        if v is None:
            return "—"
        if not v.known:
            return self.link(v.anchor, f"_{md(self.loc.t('to_complete'))}_") + (self.facts(v.missing) if with_missing else "")
        if v.zero_means and v.value == 0:
            return self.link(v.anchor, md(self.loc.t(v.zero_means)))
        return self.link(v.anchor, md(self.loc.value(v.value, v.unit)))

    def score(self, v: ValueView | None) -> str:
        if v is None:
            return "—"
        if not v.known:
            return self.value(v, with_missing=False)
        return self.link(v.anchor, md(self.loc.t("scale", value=self.loc.number(v.value), max=self.r.spec.score_max)))

    def decision(self, d: DecisionView | None, with_missing: bool = True) -> str:
        if d is None:
            return "—"
        if d.decided:
            return self.link(d.anchor, md(d.outcome_label or d.outcome))
        if d.undetermined:
            possible = ", ".join(label for _, label in d.possible)
            out = self.link(d.anchor, f"_{md(self.loc.t('to_complete'))}_") + f" ({md(self.loc.t('possible'))}{self.colon}{md(possible)})"
            return out + (self.facts(d.missing) if with_missing else "")
        return self.link(d.anchor, f"_{md(self.loc.t('no_rule'))}_")

    def obligation(self, o: ObligationView) -> str:
        status = "" if o.status == "applies" else f" _({md(self.loc.t('possible_obligation'))})_"
        cites = f" — {self.cites(o.cites)}" if o.cites else ""
        missing = self.facts(o.missing) if o.status != "applies" else ""
        return f"{self.link(o.anchor, md(o.label))}{status}{cites}{missing}"

    def date_note(self, n) -> str:
        return f"{self.link(n.anchor, md(n.what))} {md(self.loc.date_note(n))}"

    def segs(self, segs: list[Seg]) -> str:
        out = []
        for s in segs:
            if s.kind == "text":
                out.append(md(s.text))
            elif s.kind == "code":
                out.append(code(s.text))
            elif s.kind == "strong":
                out.append(f"**{md(s.text)}**")
            elif s.kind == "link":
                url = safe_url(s.target)  # again here: a Seg may come from elsewhere than model.cite
                out.append(f"[{md(s.text)}]({url})" if url else md(s.text))
            elif s.kind == "xref" and s.target in self.anchors:
                out.append(f" · [{md(s.text)}](#{s.target})")
        return "".join(out)

    @staticmethod
    def table(head: list[str], rows: list[list[str]], align: list[str] | None = None) -> list[str]:
        align = align or ["l"] * len(head)
        marks = {"l": "---", "r": "---:", "c": ":-:"}
        out = ["| " + " | ".join(head) + " |", "| " + " | ".join(marks[a] for a in align) + " |"]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        return out

    # ------------------------------------------------------------ the document
    def render(self) -> str:
        r, loc = self.r, self.loc
        out = [f"# {md(r.title)}", ""]
        if r.policy_label:
            out += [md(r.policy_label), ""]
        out += [f"**{md(loc.t('as_of', date=loc.date(r.as_of)))}** · {md(loc.t('policy_line', name=r.policy_name, version=r.version))}", ""]
        self.plain = True  # the management view
        out += self.summary()
        if not self.summary_only:
            for part in (self.maturity(), self.matrix(), self.roadmap(), self.risks()):
                out += part
            self.plain = False  # the technical appendix
            out += ['<a id="appendix"></a>', "", f"## {md(loc.t('technical_appendix'))}", "", md(loc.t("appendix_audience")), ""]
            for part in (self.missing(), self.explanations(), self.provenance()):
                out += part
        while out and out[-1] == "":
            out.pop()
        return "\n".join(out) + "\n"

    def summary(self) -> list[str]:
        r, loc = self.r, self.loc
        spec = r.spec
        out = [f"## {md(loc.t('summary'))}", ""]
        if r.first_steps is not None:
            out += self.first_steps(r.first_steps)
        level = self.decision(r.maturity_level, False)
        if r.global_score is not None:
            level += f" — {md(loc.t('global_score'))} {self.score(r.global_score)}"
        out.append(f"- **{md(loc.t('maturity_level'))}**{self.colon}{level}")
        out.append(f"- **{md(loc.t('ambition'))}**{self.colon}{self.decision(r.ambition, False)}")
        portfolio = self.decision(r.portfolio, False)
        if r.selected_count is not None:
            portfolio += f" ({md(r.selected_count.label)}{self.colon}{self.value(r.selected_count, False)})"
        out.append(f"- **{md(loc.t('portfolio'))}**{self.colon}{portfolio}")
        weak = [f"{self.link(s.anchor, md(d.name))} ({self.score(s)})" if (s := d.values.get(spec.dimension_score)) else md(d.name) for d in r.weak_dimensions]
        undetermined = [d.name for d in r.dimensions if (w := d.decisions.get(spec.weakness)) is not None and w.undetermined]
        parts = [", ".join(weak)] if weak else []
        if undetermined:
            parts.append(f"_{md(loc.t('to_complete'))}_{self.colon}{md(', '.join(undetermined))}")
        text = " · ".join(parts) if parts else md(loc.t("none"))
        out.append(f"- **{md(loc.t('weak_points'))}**{self.colon}{text}")
        out.append("")
        if r.missing_facts:
            see = "" if self.summary_only else f" [{md(loc.t('see_list'))}](#missing)"
            out += [f"> **{md(loc.t('missing_notice', n=len(r.missing_facts)))}**{see}", ""]

        out += [f"### {md(loc.t('priorities'))}", ""]
        if r.priorities:
            rows = [
                [
                    self.value(uc.values.get(spec.priority_rank)),
                    md(uc.name),
                    self.decision(uc.decisions.get(spec.quadrant)),
                    self.value(uc.values.get(spec.annual_gain)),
                    self.value(uc.values.get(spec.risk_adjusted_payback_months)),
                    self.decision(uc.decisions.get(spec.roadmap)),
                ]
                for uc in r.priorities
            ]
            out += self.table(
                [md(loc.t(k)) for k in ("rank", "usecase", "quadrant", "annual_gain", "risk_payback", "roadmap_col")], rows, ["r", "l", "l", "r", "r", "l"]
            )
        else:
            out.append(md(loc.t("no_priorities")))
        out.append("")
        if r.to_complete:
            out += [f"**{md(loc.t('to_complete_usecases'))}**", ""]
            out += [f"- {md(uc.name)} — {self.decision(uc.decisions.get(spec.selection))}" for uc in r.to_complete]
            out.append("")

        out += [f"### {md(loc.t('key_risks'))}", ""]
        rows = []
        for group in r.risk_groups():
            names = []
            for row in group.rows:
                prefix = f"{row.entity.number}. " if group.kind == "usecase" else f"{md(loc.t('tool'))}{self.colon}"
                names.append(prefix + md(row.entity.name))
            seen: list[str] = []
            for row in group.rows:
                for n in row.future_dates:
                    who = f"{row.entity.number}. " if len(group.rows) > 1 and group.kind == "usecase" else ""
                    text = who + self.date_note(n)
                    if text not in seen:
                        seen.append(text)
            rows.append([self.decision(group.decision), "<br>".join(names), self.sep.join(seen) if seen else "—"])
        out += self.table([md(loc.t("category")), f"{md(loc.t('usecase'))} / {md(loc.t('tool'))}", md(loc.t("next_dates"))], rows)
        out.append("")
        groups = r.obligation_groups()
        if groups:
            out += [f"**{md(loc.t('key_obligations'))}** ({md(loc.t('obligation_numbers'))})", ""]
            for g in groups:
                names = ", ".join(str(row.entity.number) if row in r.risks else row.entity.name for row, _ in g.rows)
                note = f" _({md(loc.t('possible_obligation'))})_" if g.only_possible else ""
                out.append(f"- {self.link(g.first.anchor, md(g.first.label))}{note} \\[{md(names)}\\]")
            out.append("")

        if r.horizon:
            out += [f"### {md(loc.t('roadmap_glance', n=r.horizon))}", ""]
            out += self.gantt_table()
            out.append("")
        if self.summary_only:
            out.append(f"_{md(loc.t('summary_only_note'))}_")
        else:
            out.append(f"[{md(loc.t('see_appendix'))}](#appendix)")
        out.append("")
        return out

    def first_steps(self, steps: FirstSteps) -> list[str]:
        """What is already certain and what to ask next, at the top of the summary (plain text)."""
        loc = self.loc
        none = f"_{md(loc.t('no_certain_step'))}_"
        out = [f"### {md(loc.t('first_steps'))}", "", md(loc.t("first_steps_intro", n=steps.undetermined)), ""]
        out += [f"**{md(loc.t('certain_groundwork'))}**", ""]
        for gw in steps.groundwork:
            when = ""
            if gw.start is not None and gw.end is not None:
                months = loc.t("month_short", n=gw.start) if gw.start == gw.end else loc.t("months_range", a=gw.start, b=gw.end)
                when = f" — {md(months)}"
            out.append(f"- {md(gw.obligation.label)}{when}")
        out += ([] if steps.groundwork else [f"- {none}"]) + [""]
        out += [f"**{md(loc.t('candidate_quick_wins'))}**", ""]
        out += [f"- {md(uc.name)} — {md(d.outcome_label)}" for uc, d in steps.candidates]
        out += ([] if steps.candidates else [f"- {none}"]) + [""]
        if steps.questions:
            out += [f"**{md(loc.t('settling_questions'))}**", ""]
            for n, q in enumerate(steps.questions, start=1):
                who = f"{md(q.fact.entity)}{self.colon}" if q.fact.entity else ""
                out.append(f"{n}. {who}{md(q.fact.label)} — {md(loc.t('waiting_decisions', n=q.waiting))}")
            out.append("")
        return out

    def gantt_table(self) -> list[str]:
        r, loc = self.r, self.loc
        horizon = r.horizon or 12
        letters = PHASE_LETTERS[r.lang]
        if not r.roadmap and not r.groundwork:
            return [md(loc.t("no_priorities"))]
        rows = []
        for gw in r.groundwork:  # the groundwork lane: done once, at the start
            cells = [""] * horizon
            if gw.start is not None and gw.end is not None:
                for m in range(gw.start, gw.end + 1):
                    cells[m - 1] = letters["groundwork"]
            else:
                cells[0] = f"_{md(loc.t('to_complete'))}_"
            rows.append([md(gw.obligation.label), *cells])
        for row in r.roadmap:
            cells = [""] * horizon
            for p in row.phases:
                for m in range(p.start, p.end + 1):
                    cells[m - 1] = letters[p.key]
                if p.ongoing:
                    cells[p.end - 1] = letters[p.key] + "→"
            name = md(row.usecase.name)
            if row.deferred:
                cells = [""] * horizon
                cells[-1] = f"_{md(loc.t('beyond_horizon', n=horizon))}_ →"
            elif not row.phases:
                cells = [""] * horizon
                cells[0] = f"_{md(loc.t('to_complete'))}_"
            elif row.beyond:
                cells[-1] = (cells[-1] + " " if cells[-1] else "") + md(loc.t("beyond_horizon", n=horizon))
            rows.append([name, *cells])
        out = self.table([md(loc.t("usecase")), *(md(loc.t("month_short", n=m)) for m in range(1, horizon + 1))], rows, ["l", *["c"] * horizon])
        keys = (*(("groundwork",) if r.groundwork else ()), "prerequisites", "test", "adjustment", "deployment", "standardisation")
        legend = " · ".join(f"{letters[k]} = {md(phase_label(loc, k))}" for k in keys)
        out += ["", f"{md(loc.t('legend'))}{self.colon}{legend} · → {md(loc.t('ongoing'))} · {md(loc.t('month_axis'))}"]
        for row in r.roadmap:
            if row.deferred and row.decision:
                out.append(f"- {md(row.usecase.name)}{self.colon}{md(row.decision.outcome_label)}")
            elif not row.phases and row.missing:
                out.append(f"- {md(row.usecase.name)}{self.colon}_{md(loc.t('to_complete'))}_{self.facts(row.missing)}")
        return out

    def maturity(self) -> list[str]:
        r, loc = self.r, self.loc
        spec = r.spec
        if not r.dimensions:
            return []
        out = [f"## {md(loc.t('maturity'))}", ""]
        head = []
        if r.maturity_level is not None:
            head.append(f"{md(loc.t('maturity_level'))}{self.colon}**{self.decision(r.maturity_level)}**")
        if r.global_score is not None:
            head.append(f"{md(loc.t('global_score'))}{self.colon}{self.score(r.global_score)}")
        if head:
            out += [" · ".join(head), ""]
        rows = []
        for d in r.dimensions:
            s = d.values.get(spec.dimension_score)
            bar = ""
            if s is not None and s.known:
                filled = max(0, min(spec.score_max, int(s.value)))
                bar = "▰" * filled + "▱" * (spec.score_max - filled)
            score = self.score(s) + (self.facts(s.missing) if s is not None and not s.known else "")
            rows.append([md(d.name), score, bar, self.decision(d.decisions.get(spec.dimension_level), False), self.decision(d.decisions.get(spec.weakness), False)])
        out += self.table([md(loc.t(k)) for k in ("dimension", "score")] + [""] + [md(loc.t(k)) for k in ("level", "weakness")], rows, ["l", "r", "l", "l", "l"])
        out.append("")
        return out

    def matrix(self) -> list[str]:
        r, loc = self.r, self.loc
        spec = r.spec
        if not r.has_matrix:
            return []
        out = [f"## {md(loc.t('matrix'))}", ""]
        if r.impact_threshold is not None and r.effort_threshold is not None and r.quadrant_outcomes:
            cells: dict[tuple[bool, bool], str] = {}
            for outcome, label, hi, he in r.quadrant_outcomes:
                members = [
                    str(uc.number) for uc in r.usecases
                    if (q := uc.decisions.get(spec.quadrant)) is not None and q.decided and q.outcome == outcome
                ]
                cells[(hi, he)] = f"**{md(label)}**{self.colon}{', '.join(members) if members else '—'}"
            ti, te = loc.number(r.impact_threshold), loc.number(r.effort_threshold)
            out += self.table(
                ["", md(loc.t("low_effort", t=te)), md(loc.t("high_effort", t=te))],
                [
                    [f"**{md(loc.t('high_impact', t=ti))}**", cells.get((True, False), "—"), cells.get((True, True), "—")],
                    [f"**{md(loc.t('low_impact', t=ti))}**", cells.get((False, False), "—"), cells.get((False, True), "—")],
                ],
            )
            out.append("")
        unplaced = [uc for uc in r.usecases if (q := uc.decisions.get(spec.quadrant)) is None or not q.decided]
        if unplaced:
            out += [f"_{md(loc.t('not_placed', items=', '.join(f'{uc.number}. {uc.name}' for uc in unplaced)))}_", ""]
        rows = []
        for uc in r.usecases:
            selection = self.decision(uc.decisions.get(spec.selection), False)
            e = uc.decisions.get(spec.eligibility)
            s = uc.decisions.get(spec.selection)
            if e is not None and not (s is not None and s.decided and s.outcome == spec.selected_outcome):
                selection += f" — {self.decision(e, False)}"
            rows.append([
                str(uc.number), md(uc.name), self.value(uc.values.get(spec.impact)), self.value(uc.values.get(spec.effort)),
                self.decision(uc.decisions.get(spec.quadrant), False), self.value(uc.values.get(spec.annual_gain)),
                self.value(uc.values.get(spec.risk_adjusted_payback_months)), selection,
            ])
        selection_label = next((uc.decisions[spec.selection].label for uc in r.usecases if spec.selection in uc.decisions), spec.selection)
        out += self.table(
            ["#", md(loc.t("usecase")), md(loc.t("impact")), md(loc.t("effort")), md(loc.t("quadrant")), md(loc.t("annual_gain")),
             md(loc.t("risk_payback")), md(selection_label)],
            rows, ["r", "l", "r", "r", "l", "r", "r", "l"],
        )
        out.append("")
        return out

    def roadmap(self) -> list[str]:
        r, loc = self.r, self.loc
        spec = r.spec
        if not r.horizon:
            return []
        out = [f"## {md(loc.t('roadmap', n=r.horizon))}", ""]
        if not r.roadmap:
            return out + [md(loc.t("no_priorities")), ""]
        rows = []
        for row in r.roadmap:
            prereq = self._month_count(row.prerequisite_months)
            if row.prerequisites:
                prereq += self.colon + self.sep.join(self.link(o.anchor, md(o.label)) for o in row.prerequisites)
            rows.append([md(row.usecase.name), prereq, *(self._month(v) for _, v in row.starts), self.decision(row.decision)])
        out += self.table(
            [md(loc.t("usecase")), md(loc.t("prerequisites")), *(md(phase_label(loc, key)) for _, key in spec.phases), md(loc.t("roadmap_col"))],
            rows,
        )
        measured = [row for row in r.roadmap if spec.success_measure in row.usecase.decisions]
        if measured:
            out.append("")
        for row in measured:
            uc = row.usecase
            line = loc.t(
                "success_line",
                alignment=self.decision(uc.decisions.get(spec.alignment), with_missing=False),
                measure=self.decision(uc.decisions.get(spec.success_measure), with_missing=False),
                target=self.value(uc.values.get(spec.success_target), with_missing=False),
                month=self._month(uc.values.get(spec.decision_point_month)),
                verdict=self.decision(uc.decisions.get(spec.test_verdict), with_missing=False),
            )
            out.append(f"- {md(uc.name)}{self.colon}{line}")
        out.append("")
        return out

    def _month(self, v: ValueView | None) -> str:
        if v is None:
            return "—"
        if not v.known:
            return self.value(v, with_missing=False)
        n = v.as_int()
        text = self.loc.t("month_short", n=n) if n is not None else self.loc.number(v.value)
        if n is not None and self.r.horizon and n > self.r.horizon:
            text += f" ({self.loc.t('beyond_horizon', n=self.r.horizon)})"
        return self.link(v.anchor, md(text))

    def _month_count(self, v: ValueView | None) -> str:
        if v is None:
            return ""
        if not v.known:
            return self.value(v, with_missing=False)
        if v.value == 0:
            return self.link(v.anchor, md(self.loc.t("no_prerequisite")))
        return self.link(v.anchor, md(self.loc.months(v.value)))

    def risks(self) -> list[str]:
        r, loc = self.r, self.loc
        out = [f"## {md(loc.t('risks'))}", ""]
        for row in r.risks:
            out += [f"### {md(row.entity.name)}", ""]
            out.append(f"- **{md(loc.t('category'))}**{self.colon}{self.decision(row.risk)}")
            if row.risk is not None and row.risk.cites:
                out.append(f"- **{md(loc.t('citations'))}**{self.colon}{self.cites(row.risk.cites)}")
            for d in row.legal:
                out.append(f"- {md(d.label)}{self.colon}{self.decision(d, False)}")
            if row.dates:
                out.append(f"- **{md(loc.t('dates'))}**{self.colon}{self.sep.join(self.date_note(n) for n in row.dates)}")
            out.append(f"- **{md(loc.t('obligations'))}**{self.colon}" + ("" if row.obligations else "—"))
            out += [f"  - {self.obligation(o)}" for o in row.obligations]
            out.append("")
        if r.tools:
            out += [f"### {md(loc.t('tools'))}", ""]
            for row in r.tools:
                cites = f" — {self.cites(row.risk.cites)}" if row.risk is not None and row.risk.cites else ""
                out.append(f"- **{md(row.entity.name)}**{self.colon}{self.decision(row.risk)}{cites}")
                out += [f"  - {self.obligation(o)}" for o in row.obligations]
            out.append("")
        if r.global_obligations:
            out += [f"### {md(loc.t('other_obligations'))}", ""]
            out += [f"- {self.obligation(o)}" for o in r.global_obligations]
            out.append("")
        return out

    def missing(self) -> list[str]:
        r, loc = self.r, self.loc
        if not r.missing_facts:
            return []
        out = ['<a id="missing"></a>', "", f"### {md(loc.t('missing_section'))} ({len(r.missing_facts)})", "", md(loc.t("missing_intro")), ""]
        rows = [[md(f.entity or ""), md(f.label), code(f.path)] for f in r.missing_facts]
        out += self.table([f"{md(loc.t('usecase'))} / {md(loc.t('tool'))}", md(loc.t("question")), md(loc.t("path"))], rows)
        out.append("")
        return out

    def explanations(self) -> list[str]:
        r, loc = self.r, self.loc
        out = [f"### {md(loc.t('explanations'))}", ""]
        group: object = object()
        for x in r.explanations:
            if x.group != group:
                group = x.group
                out += [f"#### {md(x.group or r.company or r.policy_name)}", ""]
            out += self.explanation(x)
        return out

    def explanation(self, x: ExplanationView) -> list[str]:
        record = f" {code(x.record_id)}" if x.record_id else ""
        out = [f'<a id="{x.anchor}"></a>', f"**{md(x.title)}**{self.colon}{self.segs(x.summary)}{record}", ""]
        out += ["  " * depth + "- " + self.segs(segs) for depth, segs in x.lines]
        out.append("")
        return out

    def provenance(self) -> list[str]:
        r, loc = self.r, self.loc
        prov = r.provenance
        git = prov.get("git") or {}
        out = ['<a id="provenance"></a>', "", f"### {md(loc.t('provenance'))}", ""]
        commit = (code(git["commit"]) + (f" ({md(loc.t('dirty'))})" if git.get("dirty") else "")
                  + (f" · {code(git['policy_path'])}" if git.get("policy_path") else "")) if git else md(loc.t("not_in_git"))
        params = (
            ", ".join(f"{code(f'{n} = {loc.truth(v)}')} ({md(lbl)})" for n, lbl, v in r.overridden) if r.overridden else md(loc.t("all_params_default"))
        )
        items = [
            (loc.t("policy"), md(r.policy_name) + (f" — {md(r.policy_label)}" if r.policy_label else "")),
            (loc.t("version"), md(r.version)),
            (loc.t("commit"), commit),
            (loc.t("policy_hash"), code(prov.get("policy_sha256", ""))),
            (loc.t("assessment"), md(r.assessment_name or "—")),
            (loc.t("assessment_hash"), code(r.assessment_sha256)),
            (loc.t("as_of_label"), f"{md(loc.date(r.as_of))} ({code(r.as_of.isoformat())})"),
            (loc.t("overridden_params"), params),
            (loc.t("engine"), md(r.engine)),
            (loc.t("evaluation_id"), code(r.evaluation_id)),
        ]
        out += [f"- **{md(k)}**{self.colon}{v}" for k, v in items]
        files = prov.get("files") or []
        if files:
            out.append(f"- **{md(loc.t('files'))}**{self.colon}")
            out += [f"  - {code(f['path'])} {code(f['sha256'])}" for f in files]
        out += ["", f"#### {md(loc.t('decision_ids'))}", "", md(loc.t("provenance_note")).replace("\\`", "`"), ""]
        rows = [[self.link(anchor, code(key)), code(rid)] for key, rid, anchor in r.decision_ids]
        out += self.table([md(loc.t("decision")), md(loc.t("id"))], rows)
        out += ["", f"_{md(loc.t('generated_by', engine=r.engine))}_", ""]
        return out


def render_markdown(report: Report, summary_only: bool = False) -> str:
    """The whole report (management view, then technical appendix), or with `summary_only` the summary alone."""
    return _Md(report, summary_only).render()


__all__ = ["render_markdown"]
