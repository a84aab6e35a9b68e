"""The report's own words in French and English, and locale formatting of numbers, money and dates.

Labels of decisions, outcomes, definitions and obligations come from the
policy; this module only holds the words of the report's frame (section
titles, column headers, status words) and the formatting rules:

- fr: "63 720 €", "9 517,50 €", "2,2", "26 novembre 2026", "1er décembre 2027";
- en: "€63,720", "€9,517.50", "2.2", "26 November 2026".

French groups digits with a narrow no-break space (U+202F) and puts a
no-break space (U+00A0) before "€" and "%", as CLDR does, so that an amount
never breaks across lines. Nothing here reads the process locale: the same
inputs give the same text on every machine.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..render.catalogue import table
from ..render.text import not_applicable_text
from ..runtime.values import NotApplicable, Unknown, describe_possible, normalize

LANGS = ("fr", "en")

NNBSP = "\u202f"  # narrow no-break space: French thousands separator
NBSP = "\u00a0"  # no-break space: before € and % in French
MINUS = "\u2212"

_MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
}

#: the English text of each word (the message ids of the catalogue, render/catalogue.py);
#: the translations are in stratdsl/locale/<lang>/LC_MESSAGES/stratdsl.po
_REPORT_EN = {
    "report_title": "AI diagnostic",
    "as_of": "Assessment as of {date}",
    "policy_line": "Methodology “{name}”, version {version}",
    "contents": "Contents",
    "summary": "Summary",
    "maturity": "Maturity by dimension",
    "matrix": "Impact / effort matrix",
    "roadmap": "{n}-month roadmap",
    "risks": "Risks and compliance",
    "explanations": "Explanations",
    "provenance": "Provenance",
    "appendix": "Technical appendix",
    "possible_obligations_more": "and {n} obligation(s) that may apply, depending on the facts still to answer:",
    "appendix_intro": "For the people who check the figures: the facts still to answer, how each figure was reached (rule, citations, values) and the identifiers that tie this report to the audit log.",
    "maturity_level": "Maturity level",
    "global_score": "Overall score",
    "ambition": "What the level allows",
    "portfolio": "Portfolio",
    "weak_points": "Weak points",
    "none": "none",
    "priorities": "Selected priorities",
    "no_priorities": "No priority selected.",
    "to_complete_usecases": "Use cases whose selection is still to be completed",
    "key_risks": "Key risks and obligations",
    "key_obligations": "Obligations to address",
    "obligation_numbers": "in brackets: the use cases or tools concerned",
    "next_dates": "Next dates",
    "roadmap_glance": "The {n}-month roadmap at a glance",
    "rank": "Rank",
    "usecase": "Use case",
    "usecases": "use cases",
    "tool": "Tool",
    "tools": "AI tools already in use",
    "quadrant": "Quadrant",
    "impact": "Impact",
    "effort": "Effort",
    "annual_gain": "Annual gain",
    "risk_payback": "Risk-adjusted payback",
    "roadmap_col": "Roadmap",
    "category": "Category",
    "citations": "Citations",
    "obligations": "Obligations",
    "dates": "Dates of application",
    "dimension": "Dimension",
    "score": "Score",
    "level": "Level",
    "weakness": "Weak point",
    "to_complete": "to be completed",
    "missing_facts": "missing facts",
    "assumed": "assumed",
    "answer_to_confirm": "answer to confirm",
    "and_more": "and {n} more",
    "n_missing": "{n} missing fact(s)",
    "missing_section": "Facts to complete",
    "missing_notice": "Incomplete assessment: {n} fact(s) to complete.",
    "missing_intro": "These answers are missing from the assessment. Until they are given, the decisions and values that depend on them are shown as “to be completed”: they are neither guessed nor counted as zero.",
    "question": "Question",
    "path": "Path in the assessment",
    "see_list": "see the list",
    "possible": "possible outcomes",
    "no_rule": "no rule applies",
    "unknown": "unknown",
    "unknown_possible": "unknown: {values}",
    "or": "or",
    "possible_span": "{count} values from {low} to {high}",
    "not_computed": "not evaluated",
    "true": "true",
    "false": "false",
    "yes": "yes",
    "no": "no",
    "months": "{n} months",
    "month_1": "{n} month",
    "no_payback": "no payback",
    "month_short": "M{n}",
    "month_axis": "Roadmap month (M1 = first month)",
    "phase_groundwork": "Groundwork",
    "phase_prerequisites": "Prerequisites",
    "phase_test": "Targeted test",
    "phase_adjustment": "Adjustment",
    "phase_deployment": "Progressive deployment",
    "phase_standardisation": "Standardisation",
    "ongoing": "ongoing",
    "beyond_horizon": "after M{n}",
    "from_month": "from M{n}",
    "months_range": "M{a} to M{b}",
    "prerequisites": "Prerequisites",
    "success_line": "Alignment: {alignment} · success measure: {measure}, target {target} · decision point {month}: {verdict}",
    "prerequisite_months": "{n} month(s) of prerequisites",
    "no_prerequisite": "no prerequisite",
    "in_force_from": "from {date}",
    "in_force_until": "until {date}",
    "in_force_since": "in force since {date}",
    "as_of_label": "As-of date",
    "applies": "applies",
    "possible_obligation": "may apply",
    "not_in_force": "not yet in force",
    "explanation": "explanation",
    "decided_by": "decided by rule {rule} ({location})",
    "rules_walked": "Rules walked, in order",
    "definitions_read": "Values read",
    "formula": "Formula",
    "where": "where",
    "location": "Location",
    "unless": "unless",
    "cites": "cites",
    "cites_decision": "the citations of “{label}”",
    "first_failure": "first failed condition",
    "missing": "missing",
    "overridden_params": "Overridden parameters",
    "all_params_default": "every parameter at its default",
    "policy": "Methodology",
    "version": "Version",
    "commit": "Git commit",
    "dirty": "changed locally since that commit",
    "not_in_git": "not in a git repository",
    "policy_hash": "Methodology fingerprint (sha256)",
    "assessment": "Assessment (file)",
    "assessment_hash": "Assessment fingerprint (sha256)",
    "engine": "Engine",
    "evaluation_id": "Evaluation id",
    "decision_ids": "Decision ids (audit log)",
    "decision": "Decision",
    "id": "Id",
    "files": "Methodology files",
    "provenance_note": "Each decision id finds, in the audit log (`stratdsl audit show --decision ID`), the decision, its explanation and its provenance.",
    "legend": "Legend",
    "high_impact": "High impact (≥ {t})",
    "low_impact": "Low impact (< {t})",
    "low_effort": "Low effort (< {t})",
    "high_effort": "High effort (≥ {t})",
    "not_placed": "Not placed, for want of a score: {items}",
    "radar_title": "Maturity by dimension (0 to 5)",
    "radar_desc": "Radar chart of the maturity score of each dimension, from 0 to 5: {items}.",
    "matrix_title": "Impact / effort matrix",
    "matrix_desc": "Each use case is placed by its effort (horizontal axis, 0 to {max}) and its impact (vertical axis, 0 to {max}); thresholds: impact {ti}, effort {te}. {items}.",
    "gantt_title": "{n}-month roadmap",
    "gantt_desc": "Gantt chart of the selected priorities, months 1 to {n}: {items}.",
    "scale": "{value} / {max}",
    "status": "Status",
    "other_obligations": "Other obligations",
    "mark_fired": "applied",
    "mark_false": "did not apply",
    "mark_unknown": "may apply (facts missing)",
    "mark_excepted": "set aside by an exception",
    "mark_exception_unknown": "may be set aside by an exception (facts missing)",
    "mark_not_in_force": "not in force on the as-of date",
    "mark_not_reached": "not reached (an earlier rule decided)",
    "mark_fired_open": "applies unless an earlier rule does",
    "mark_not_reached_open": "not reached (an earlier rule applies whatever the missing answers)",
    "exc_applied": "applied",
    "exc_not_applied": "did not apply",
    "exc_unknown": "unknown",
    "generated_by": "Report produced by {engine}; it carries no production timestamp: same inputs, same report.",
    "skip": "Skip to content",
    "band_on": "on",
    "first_steps": "First steps",
    "first_steps_intro": "The assessment is incomplete ({n} decision(s) still open): what is already certain, and what to ask next.",
    "certain_groundwork": "Groundwork to start now (certain, whatever the missing answers)",
    "candidate_quick_wins": "Candidate quick wins (to confirm once their costs and effort are known)",
    "settling_questions": "The questions that would settle the most",
    "waiting_decisions": "{n} open decision(s) wait on this answer",
    "no_certain_step": "none yet",
    "technical_appendix": "Technical appendix",
    "appendix_audience": "For the auditor: the missing answers with their paths in the assessment, the explanation of every figure (rules, conditions, values read) and the provenance that ties this report to the audit log.",
    "see_appendix": "Explanations, the list of missing answers and the provenance are in the technical appendix.",
    "summary_only_note": "Management summary only: the full report adds the detail by part, the explanation of every figure and the provenance.",
}
WORDS: dict[str, dict[str, Any]] = table("report", _REPORT_EN)

# Marks of the rules walked (characters every DejaVu font has).
MARKS = {"fired": "✓", "false": "✗", "unknown": "?", "excepted": "↷", "exception_unknown": "?", "not_in_force": "○", "not_reached": "·"}


class Locale:
    """Words and number/date formatting for one language."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGS:
            raise ValueError(f"unsupported language '{lang}' (fr or en)")
        self.lang = lang
        self.words = WORDS[lang]

    def t(self, key: str, **kwargs: Any) -> str:
        text = self.words[key]
        return text.format(**kwargs) if kwargs else text

    # ------------------------------------------------------------ numbers
    def _group(self, digits: str) -> str:
        sep = NNBSP if self.lang == "fr" else ","
        out = []
        while len(digits) > 3:
            out.insert(0, digits[-3:])
            digits = digits[:-3]
        out.insert(0, digits)
        return sep.join(out)

    def number(self, value: Decimal | int, places: int | None = None) -> str:
        """`places` None: as many decimals as the value has (2.50 → 2,5); else exactly `places`.
        A value that is not applicable reads "—" and its reason, whatever the unit (here and in
        money, percent and months): never 0."""
        if isinstance(value, NotApplicable):
            return not_applicable_text(value.fr, value.en, self.lang)
        value = Decimal(value)
        if places is None:
            value = normalize(value)
        else:
            value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        negative = value < 0
        text = format(abs(value), "f")
        whole, _, frac = text.partition(".")
        out = self._group(whole)
        if frac:
            out += ("," if self.lang == "fr" else ".") + frac
        if negative and value != 0:
            out = MINUS + out
        return out

    def money(self, value: Decimal | int) -> str:
        """Whole amounts without cents ("63 720 €"), others with two decimals ("9 517,50 €")."""
        if isinstance(value, NotApplicable):
            return self.number(value)
        value = Decimal(value)
        places = 0 if value == value.to_integral_value() else 2
        digits = self.number(abs(value), places)
        sign = MINUS if value < 0 else ""
        if self.lang == "fr":
            return f"{sign}{digits}{NBSP}€"
        return f"{sign}€{digits}"

    def percent(self, value: Decimal | int) -> str:
        if isinstance(value, NotApplicable):
            return self.number(value)
        return f"{self.number(value)}{NBSP}%" if self.lang == "fr" else f"{self.number(value)}%"

    def months(self, value: Decimal | int) -> str:
        if isinstance(value, NotApplicable):
            return self.number(value)
        n = self.number(value)
        key = "month_1" if Decimal(value) == 1 else "months"
        return self.t(key, n=n).replace(" ", NBSP)

    def date(self, value: date) -> str:
        month = _MONTHS[self.lang][value.month - 1]
        if self.lang == "fr":
            day = "1er" if value.day == 1 else str(value.day)
            return f"{day}{NBSP}{month} {value.year}"
        return f"{value.day}{NBSP}{month} {value.year}"

    def date_note(self, note: Any) -> str:
        """"from 2 December 2027" (future), "in force since 2 February 2025" (past), "until …"."""
        when = self.date(note.when)
        if note.kind == "until":
            return self.t("in_force_until", date=when)
        return self.t("in_force_from" if note.future else "in_force_since", date=when)

    def boolean(self, value: bool) -> str:
        return self.t("yes") if value else self.t("no")

    def value(self, value: Any, unit: str | None = None) -> str:
        """A value the evaluator produced, for a reader; `unit` is "money", "months", "percent" or None."""
        if value is None or isinstance(value, Unknown):
            return self.t("to_complete")
        if isinstance(value, NotApplicable):  # "—" and the reason, never 0
            return not_applicable_text(value.fr, value.en, self.lang)
        if isinstance(value, bool):
            return self.boolean(value)
        if isinstance(value, (Decimal, int)):
            if unit == "money":
                return self.money(value)
            if unit == "months":
                return self.months(value)
            if unit == "percent":
                return self.percent(value)
            return self.number(value)
        if isinstance(value, date):
            return self.date(value)
        if isinstance(value, (frozenset, set, list, tuple)):
            return ", ".join(sorted(str(v) for v in value))
        return str(value)

    def truth(self, value: Any, computed: bool = True) -> str:
        """How a sub-expression's value reads in an explanation (values stay as in the source)."""
        if not computed:
            return self.t("not_computed")
        if isinstance(value, Unknown) and value.possible is not None:  # the few values it may still take
            return self.t("unknown_possible", values=describe_possible(value, self.t("or"), self.t("possible_span")))
        if value is None or isinstance(value, Unknown):
            return self.t("unknown")
        if isinstance(value, NotApplicable):
            return not_applicable_text(value.fr, value.en, self.lang)
        if isinstance(value, bool):
            return self.t("true") if value else self.t("false")
        from ..runtime.values import format_value

        return format_value(value)
