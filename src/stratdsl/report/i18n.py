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

from ..runtime.values import Unknown, describe_possible, normalize

LANGS = ("fr", "en")

NNBSP = "\u202f"  # narrow no-break space: French thousands separator
NBSP = "\u00a0"  # no-break space: before € and % in French
MINUS = "\u2212"

_MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
}

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "report_title": "Diagnostic IA",
        "as_of": "Évaluation au {date}",
        "policy_line": "Méthode « {name} », version {version}",
        "contents": "Sommaire",
        "summary": "Synthèse",
        "maturity": "Maturité par dimension",
        "matrix": "Matrice impact / effort",
        "roadmap": "Feuille de route à {n} mois",
        "risks": "Risques et conformité",
        "explanations": "Explications",
        "provenance": "Provenance",
        "maturity_level": "Niveau de maturité",
        "global_score": "Score global",
        "ambition": "Ce que le niveau permet",
        "portfolio": "Portefeuille",
        "weak_points": "Points faibles",
        "none": "aucun",
        "priorities": "Priorités retenues",
        "no_priorities": "Aucune priorité retenue.",
        "to_complete_usecases": "Cas d'usage dont la sélection reste à compléter",
        "key_risks": "Risques et obligations clés",
        "key_obligations": "Obligations à traiter",
        "obligation_numbers": "entre crochets : les cas d'usage ou outils concernés",
        "next_dates": "Prochaines échéances",
        "roadmap_glance": "Feuille de route à {n} mois en un coup d'œil",
        "rank": "Rang",
        "usecase": "Cas d'usage",
        "usecases": "cas d'usage",
        "tool": "Outil",
        "tools": "Outils d'IA déjà utilisés",
        "quadrant": "Quadrant",
        "impact": "Impact",
        "effort": "Effort",
        "annual_gain": "Gain annuel",
        "risk_payback": "Retour ajusté du risque",
        "roadmap_col": "Feuille de route",
        "category": "Catégorie",
        "citations": "Citations",
        "obligations": "Obligations",
        "dates": "Dates d'application",
        "dimension": "Dimension",
        "score": "Score",
        "level": "Niveau",
        "weakness": "Point faible",
        "to_complete": "à compléter",
        "missing_facts": "faits manquants",
        "assumed": "supposé",
        "answer_to_confirm": "réponse à confirmer",
        "and_more": "et {n} autre(s)",
        "n_missing": "{n} fait(s) manquant(s)",
        "missing_section": "Faits à compléter",
        "missing_notice": "Évaluation incomplète : {n} fait(s) à compléter.",
        "missing_intro": "Ces réponses manquent à l'évaluation. Tant qu'elles manquent, les décisions et les valeurs qui en dépendent sont affichées « à compléter » : elles ne sont ni devinées ni comptées pour zéro.",
        "question": "Question",
        "path": "Chemin dans l'évaluation",
        "see_list": "voir la liste",
        "possible": "issues possibles",
        "no_rule": "aucune règle ne s'applique",
        "unknown": "inconnu",
        "unknown_possible": "inconnu : {values}",
        "or": "ou",
        "possible_span": "{count} valeurs de {low} à {high}",
        "not_computed": "non évalué",
        "true": "vrai",
        "false": "faux",
        "yes": "oui",
        "no": "non",
        "months": "{n} mois",
        "month_1": "{n} mois",
        "no_payback": "pas de retour",
        "month_short": "M{n}",
        "month_axis": "Mois de la feuille de route (M1 = premier mois)",
        "phase_prerequisites": "Prérequis",
        "phase_test": "Test ciblé",
        "phase_adjustment": "Ajustement",
        "phase_deployment": "Déploiement progressif",
        "phase_standardisation": "Standardisation",
        "ongoing": "en continu",
        "beyond_horizon": "après M{n}",
        "from_month": "à partir de M{n}",
        "months_range": "M{a} à M{b}",
        "prerequisites": "Prérequis",
        "prerequisite_months": "{n} mois de prérequis",
        "no_prerequisite": "aucun prérequis",
        "in_force_from": "à partir du {date}",
        "in_force_until": "jusqu'au {date}",
        "in_force_since": "en vigueur depuis le {date}",
        "as_of_label": "Date d'évaluation",
        "applies": "s'applique",
        "possible_obligation": "peut s'appliquer",
        "not_in_force": "pas encore en vigueur",
        "explanation": "explication",
        "decided_by": "décidé par la règle {rule} ({location})",
        "rules_walked": "Règles examinées, dans l'ordre",
        "definitions_read": "Valeurs lues",
        "formula": "Formule",
        "where": "avec",
        "location": "Emplacement",
        "unless": "sauf si",
        "cites": "cite",
        "cites_decision": "les citations de « {label} »",
        "first_failure": "première condition non remplie",
        "missing": "manquant",
        "overridden_params": "Paramètres modifiés",
        "all_params_default": "tous les paramètres à leur valeur par défaut",
        "policy": "Méthode",
        "version": "Version",
        "commit": "Commit git",
        "dirty": "modifiée localement depuis ce commit",
        "not_in_git": "hors dépôt git",
        "policy_hash": "Empreinte de la méthode (sha256)",
        "assessment": "Évaluation (fichier)",
        "assessment_hash": "Empreinte de l'évaluation (sha256)",
        "engine": "Moteur",
        "evaluation_id": "Identifiant de l'évaluation",
        "decision_ids": "Identifiants des décisions (journal d'audit)",
        "decision": "Décision",
        "id": "Identifiant",
        "files": "Fichiers de la méthode",
        "provenance_note": "Chaque identifiant de décision retrouve, dans le journal d'audit (`stratdsl audit show --decision ID`), la décision, son explication et sa provenance.",
        "legend": "Légende",
        "high_impact": "Impact élevé (≥ {t})",
        "low_impact": "Impact faible (< {t})",
        "low_effort": "Effort faible (< {t})",
        "high_effort": "Effort élevé (≥ {t})",
        "not_placed": "Non placés, faute de score : {items}",
        "radar_title": "Maturité par dimension (0 à 5)",
        "radar_desc": "Graphique radar des scores de maturité par dimension, de 0 à 5 : {items}.",
        "matrix_title": "Matrice impact / effort",
        "matrix_desc": "Chaque cas d'usage est placé selon son effort (axe horizontal, de 0 à {max}) et son impact (axe vertical, de 0 à {max}) ; seuils : impact {ti}, effort {te}. {items}.",
        "gantt_title": "Feuille de route à {n} mois",
        "gantt_desc": "Diagramme de Gantt des priorités retenues, mois 1 à {n} : {items}.",
        "scale": "{value} / {max}",
        "status": "Statut",
        "other_obligations": "Autres obligations",
        "mark_fired": "appliquée",
        "mark_false": "non remplie",
        "mark_unknown": "peut s'appliquer (faits manquants)",
        "mark_excepted": "écartée par une exception",
        "mark_exception_unknown": "peut être écartée par une exception (faits manquants)",
        "mark_not_in_force": "pas en vigueur à la date d'évaluation",
        "mark_not_reached": "non examinée (une règle précédente a décidé)",
        "exc_applied": "s'applique",
        "exc_not_applied": "ne s'applique pas",
        "exc_unknown": "inconnu",
        "generated_by": "Rapport produit par {engine} ; il ne contient aucune date de production : mêmes entrées, même rapport.",
        "skip": "Aller au contenu",
        "band_on": "sur",
    },
    "en": {
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
        "exc_applied": "applied",
        "exc_not_applied": "did not apply",
        "exc_unknown": "unknown",
        "generated_by": "Report produced by {engine}; it carries no production timestamp: same inputs, same report.",
        "skip": "Skip to content",
        "band_on": "on",
    },
}

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
        """`places` None: as many decimals as the value has (2.50 → 2,5); else exactly `places`."""
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
        value = Decimal(value)
        places = 0 if value == value.to_integral_value() else 2
        digits = self.number(abs(value), places)
        sign = MINUS if value < 0 else ""
        if self.lang == "fr":
            return f"{sign}{digits}{NBSP}€"
        return f"{sign}€{digits}"

    def percent(self, value: Decimal | int) -> str:
        return f"{self.number(value)}{NBSP}%" if self.lang == "fr" else f"{self.number(value)}%"

    def months(self, value: Decimal | int) -> str:
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
        if isinstance(value, bool):
            return self.t("true") if value else self.t("false")
        from ..runtime.values import format_value

        return format_value(value)
