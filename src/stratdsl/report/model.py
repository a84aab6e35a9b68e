"""What a report shows, gathered from an evaluation: plain data for the renderers.

`build_report` reads a `Result` (decisions, values, obligations), the
explanations built from its trace, and the decision records (ids and
provenance). It never evaluates an expression or chooses an outcome: every
outcome, value, status, date and citation below is one the evaluator
produced. What it adds is presentation: which entity has which name, which
label a missing fact has, how a month number becomes a bar of the Gantt chart
(start of a phase to the start of the next), and the anchors that link each
figure to its explanation.

Which decisions and definitions play which part (the maturity level, the
quadrant, the phases of the roadmap…) is set by a `ReportSpec`; the default
names those of the reference methodology in `policies/`. A part whose
decision or definition the policy does not declare is left out of the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .. import __version__
from ..language import ir
from ..language.urls import safe_url
from ..provenance.records import assessment_sha256, decision_records
from ..render import labels
from ..runtime.assessment import Assessment
from ..runtime.explain import DecisionExplanation, ExprNode, explain_decision, expr_tree
from ..runtime.relevance import rank_open_questions
from ..runtime.result import DECIDED, UNDETERMINED, DecisionResult, ObligationResult, Result, ValueResult
from ..runtime.trace import RecordingTracer
from ..runtime.values import Unknown, format_value
from .i18n import MARKS, Locale

# ------------------------------------------------------------------ which names play which part


@dataclass(frozen=True)
class ReportSpec:
    """The decisions, definitions, parameters and inputs each part of the report reads."""

    company_record: str = "organization"
    company_name_field: str = "name"
    entity_name_field: str = "name"
    # maturity
    maturity_level: str = "maturity_level"
    global_score: str = "global_score"
    ambition: str = "ambition"
    dimension_input: str = "maturity"
    dimension_score: str = "score"
    dimension_level: str = "dimension_level"
    weakness: str = "weakness"
    weak_outcomes: tuple[str, ...] = ("weakest", "weak")
    score_max: int = 5
    # use cases and priorities
    usecase_input: str = "usecases"
    portfolio: str = "portfolio"
    selected_count: str = "selected_count"
    selection: str = "selection"
    selected_outcome: str = "selected"
    eligibility: str = "eligibility"
    priority_rank: str = "priority_rank"
    annual_gain: str = "annual_gain"
    payback_months: str = "payback_months"
    risk_adjusted_payback_months: str = "risk_adjusted_payback_months"
    roi_verdict: str = "roi_verdict"
    # impact / effort matrix: outcome → (high impact?, high effort?)
    impact: str = "impact"
    effort: str = "effort"
    quadrant: str = "quadrant"
    impact_threshold: str = "impact_threshold"
    effort_threshold: str = "effort_threshold"
    quadrants: tuple[tuple[str, bool, bool], ...] = (
        ("quick_win", True, False),
        ("structuring", True, True),
        ("secondary", False, False),
        ("avoid", False, True),
    )
    # roadmap: (definition giving the start month, phase key); a phase lasts until the next one starts
    roadmap: str = "roadmap"
    #: `report --why-not`: (decision, wanted outcome) whose explanations give the closest changes
    why_not: tuple[tuple[str, str], ...] = (("selection", "selected"), ("portfolio", "focused"))
    horizon: str = "horizon_months"
    phases: tuple[tuple[str, str], ...] = (
        ("test_start", "test"),
        ("adjustment_start", "adjustment"),
        ("deployment_start", "deployment"),
        ("standardisation_start", "standardisation"),
    )
    prerequisite_months: str = "prerequisite_months"
    prerequisite_prefix: str = "prerequisite_"
    # a use case's own prerequisites step by step (start, end definitions); when the policy has them, the
    # prerequisites bar spans their months instead of ending just before the test
    prerequisite_steps: tuple[tuple[str, str], ...] = (
        ("prerequisite_data_start", "prerequisite_data_end"),
        ("prerequisite_dpia_start", "prerequisite_dpia_end"),
        ("prerequisite_fria_start", "prerequisite_fria_end"),
        ("prerequisite_oversight_start", "prerequisite_oversight_end"),
        ("prerequisite_cse_start", "prerequisite_cse_end"),
        ("prerequisite_information_start", "prerequisite_information_end"),
    )
    # each test's success measure and the go / adjust / stop decision point at the end of the adjustment
    alignment: str = "alignment"
    success_measure: str = "success_measure"
    success_target: str = "success_target"
    decision_point_month: str = "adjustment_end"
    test_verdict: str = "test_verdict"
    # the company-level groundwork lane: (obligation, start definition, end definition)
    groundwork: tuple[tuple[str, str, str], ...] = (
        ("groundwork_governance", "groundwork_governance_start", "groundwork_governance_end"),
        ("groundwork_literacy", "groundwork_literacy_start", "groundwork_literacy_end"),
        ("groundwork_data", "groundwork_data_start", "groundwork_data_end"),
    )
    # risks
    risk: str = "risk"
    legal_decisions: tuple[str, ...] = ("prohibited_practice", "annex_iii_point", "transparency", "dpia")
    # first steps of an express diagnostic: use cases whose next step is a candidate quick win, and how
    # many open questions (ranked by the undetermined decisions that wait on each) the summary lists
    next_step: str = "next_step"
    candidate_outcome: str = "candidate"
    first_questions: int = 5
    # tools
    tool_input: str = "tools"
    tool_decision: str = "shadow_ai"
    # values whose 0 has a meaning of its own (the policy's labels say so)
    zero_means: tuple[tuple[str, str], ...] = (
        ("payback_months", "no_payback"),
        ("risk_adjusted_payback_months", "no_payback"),
    )


DEFAULT_SPEC = ReportSpec()

# ------------------------------------------------------------------ views


@dataclass(frozen=True)
class Cite:
    text: str
    url: str | None = None


@dataclass(frozen=True)
class Fact:
    """A missing fact: its path in the assessment and the label of its field."""

    path: str
    label: str
    entity: str | None = None  # the entity's name, when the fact belongs to one


@dataclass(frozen=True)
class DecisionView:
    name: str
    entity: str | None
    label: str  # the decision's label
    status: str
    outcome: str | None
    outcome_label: str
    outcome_index: int | None  # position of the outcome among the decision's declared outcomes
    outcome_count: int  # how many outcomes the decision declares
    rule: str | None
    location: str | None
    cites: tuple[Cite, ...]
    possible: tuple[tuple[str, str], ...]  # (outcome, label)
    missing: tuple[Fact, ...]
    anchor: str
    record_id: str | None
    assumed: tuple[Fact, ...] = ()  # defaulted answers the outcome rests on (to confirm)

    @property
    def decided(self) -> bool:
        return self.status == DECIDED

    @property
    def undetermined(self) -> bool:
        return self.status == UNDETERMINED


@dataclass(frozen=True)
class ValueView:
    name: str
    entity: str | None
    label: str
    value: Any  # None when unknown
    missing: tuple[Fact, ...]
    unit: str | None  # "money", "months", "percent" or None
    anchor: str
    zero_means: str | None = None  # a word key of i18n for a 0 that means something else

    @property
    def known(self) -> bool:
        return self.value is not None

    def as_int(self) -> int | None:
        if isinstance(self.value, Decimal) and self.value == self.value.to_integral_value():
            return int(self.value)
        return None


@dataclass(frozen=True)
class ObligationView:
    name: str
    entity: str | None
    label: str
    status: str  # "applies" or "possible"
    missing: tuple[Fact, ...]
    cites: tuple[Cite, ...]
    valid_from: date | None
    valid_until: date | None
    anchor: str


@dataclass(frozen=True)
class DateNote:
    """A date at which something starts or stops applying (from the rule and obligation dates)."""

    when: date
    kind: str  # "from" or "until"
    what: str  # the outcome or obligation label
    future: bool  # after the as-of date
    anchor: str


@dataclass(frozen=True)
class Phase:
    key: str  # "prerequisites", "test", "adjustment", "deployment", "standardisation"
    start: int  # first month
    end: int  # last month (inclusive), clipped to the horizon
    ongoing: bool  # runs on past the horizon (the last phase) or was clipped
    anchor: str


@dataclass
class EntityView:
    """One entity (use case, tool, dimension): its name and what the report shows about it."""

    input_name: str
    id: str
    number: int  # 1-based, in assessment order
    name: str
    path: str
    decisions: dict[str, DecisionView] = field(default_factory=dict)
    values: dict[str, ValueView] = field(default_factory=dict)
    obligations: list[ObligationView] = field(default_factory=list)


@dataclass
class RoadmapRow:
    usecase: EntityView
    phases: list[Phase]  # empty when a start month is unknown
    starts: list[tuple[str, ValueView]]
    prerequisite_months: ValueView | None
    prerequisites: list[ObligationView]
    decision: DecisionView | None
    beyond: bool  # some phase starts after the horizon
    missing: tuple[Fact, ...]

    @property
    def deferred(self) -> bool:
        """Selected but placed after the horizon by the policy (no phase month, nothing missing):
        the chart says so with the decision's reason, never "to be completed"."""
        return not self.phases and not self.missing and self.decision is not None and self.decision.decided


@dataclass(frozen=True)
class GroundworkRow:
    """One company-level groundwork step (use policy, training, data foundations) on the roadmap."""

    obligation: ObligationView
    start: int | None  # first month; None while unknown
    end: int | None  # last month, clipped to the horizon
    missing: tuple[Fact, ...]


@dataclass(frozen=True)
class OpenQuestion:
    """A missing answer and how many undetermined decisions wait on it (runtime.relevance.rank_open_questions)."""

    fact: Fact  # its path, the question as the policy words it in the report's language, its entity
    waiting: int


@dataclass
class FirstSteps:
    """What an incomplete (express) diagnostic already says to do, and what to ask to settle the rest.

    Read from the result, never recomputed: the groundwork obligations that apply (certain, not
    "may apply"), the use cases whose next-step decision is the candidate outcome, and the missing
    answers most undetermined decisions wait on."""

    groundwork: list[GroundworkRow]
    candidates: list[tuple[EntityView, DecisionView]]  # (use case, its next-step decision)
    questions: list[OpenQuestion]
    undetermined: int  # how many decisions are undetermined in all


@dataclass
class RiskRow:
    entity: EntityView
    risk: DecisionView | None
    legal: list[DecisionView]
    obligations: list[ObligationView]
    dates: list[DateNote]  # when the classification starts or stops applying
    obligation_dates: list[DateNote] = field(default_factory=list)  # when each obligation starts or stops applying

    @property
    def future_dates(self) -> list[DateNote]:
        """Dates after the as-of date: what changes next."""
        return [n for n in [*self.dates, *self.obligation_dates] if n.future]


@dataclass
class RiskGroup:
    """Entities sharing one classification, for the summary: most severe first, undetermined ones alone."""

    kind: str  # "usecase" or "tool"
    decision: DecisionView | None  # the decision of the first row (all rows share its outcome)
    rows: list[RiskRow]


@dataclass
class ObligationGroup:
    """One obligation and every use case or tool it concerns."""

    first: ObligationView
    rows: list[tuple[RiskRow, ObligationView]]

    @property
    def only_possible(self) -> bool:
        return all(o.status != "applies" for _, o in self.rows)


def _groups(rows: list[RiskRow], kind: str) -> list[RiskGroup]:
    groups: list[RiskGroup] = []
    by_outcome: dict[str, RiskGroup] = {}
    for row in rows:
        d = row.risk
        if d is None or not d.decided:
            groups.append(RiskGroup(kind, d, [row]))
            continue
        group = by_outcome.get(d.outcome or "")
        if group is None:
            group = by_outcome[d.outcome or ""] = RiskGroup(kind, d, [])
            groups.append(group)
        group.rows.append(row)

    def key(g: RiskGroup) -> tuple:
        d = g.decision
        if d is None or not d.decided:
            return (0, 0, g.rows[0].entity.number)
        return (1, d.outcome_index if d.outcome_index is not None else 0, g.rows[0].entity.number)

    return sorted(groups, key=key)


@dataclass(frozen=True)
class Seg:
    """A piece of an explanation line: plain text, code, a link to another explanation, or strong text."""

    kind: str  # "text", "code", "strong", "link" (target: a URL), "xref" (target: an anchor of the report)
    text: str
    target: str | None = None


@dataclass
class ExplanationView:
    anchor: str
    kind: str  # "decision", "value", "obligation"
    title: str
    summary: list[Seg]
    lines: list[tuple[int, list[Seg]]]
    record_id: str | None
    order: tuple = ()
    group: str | None = None  # the entity's name, None for the company-wide ones
    counterfactuals: list[CounterfactualView] = field(default_factory=list)  # `report --why-not`: closest verified changes


@dataclass(frozen=True)
class CounterfactualView:
    """A verified change of facts that gives `outcome` (backends/counterfactual): each change
    as (fact path, label, value now, value then), in the report's language."""

    outcome: str
    outcome_label: str
    changes: tuple[tuple[str, str, str, str], ...]
    values: dict[str, Any] = field(default_factory=dict)  # fact path → the new value (as the evaluator reads it)


@dataclass
class Report:
    lang: str
    spec: ReportSpec
    title: str
    company: str | None
    policy_name: str
    policy_label: str | None
    version: str
    as_of: date
    assessment_name: str | None
    overridden: list[tuple[str, str, Any]]  # (name, label, value)
    param_count: int
    # summary
    maturity_level: DecisionView | None
    global_score: ValueView | None
    ambition: DecisionView | None
    portfolio: DecisionView | None
    selected_count: ValueView | None
    weak_dimensions: list[EntityView]
    # parts
    dimensions: list[EntityView]
    usecases: list[EntityView]
    priorities: list[EntityView]
    to_complete: list[EntityView]  # use cases whose selection is undetermined
    has_matrix: bool
    impact_threshold: Decimal | None
    effort_threshold: Decimal | None
    axis_max: int
    quadrant_outcomes: list[tuple[str, str, bool, bool]]  # (outcome, label, high impact, high effort)
    horizon: int | None
    roadmap: list[RoadmapRow]
    risks: list[RiskRow]
    tools: list[RiskRow]
    global_obligations: list[ObligationView]
    explanations: list[ExplanationView]
    missing_facts: list[Fact]  # every fact the report's undetermined decisions and unknown values wait for
    # provenance
    provenance: dict[str, Any]
    evaluation_id: str
    assessment_sha256: str
    decision_ids: list[tuple[str, str, str | None]]  # (key, record id, anchor when explained here)
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)  # the evaluation record, then one per decision
    groundwork: list[GroundworkRow] = field(default_factory=list)  # the groundwork lane of the roadmap
    first_steps: FirstSteps | None = None  # only when some decision is undetermined

    def risk_groups(self) -> list[RiskGroup]:
        return _groups(self.risks, "usecase") + _groups([t for t in self.tools if t.risk is not None], "tool")

    def obligation_groups(self) -> list[ObligationGroup]:
        groups: dict[str, ObligationGroup] = {}
        for row in [*self.risks, *self.tools]:
            for o in row.obligations:
                if o.name not in groups:
                    groups[o.name] = ObligationGroup(o, [])
                groups[o.name].rows.append((row, o))
        return list(groups.values())

    @property
    def anchors(self) -> set[str]:
        return {x.anchor for x in self.explanations}

    @property
    def engine(self) -> str:
        return self.provenance.get("engine") or f"stratdsl {__version__}"


# ------------------------------------------------------------------ building

_PATH_ENTITY = re.compile(r"^(?P<input>\w+)\[(?P<id>.+)\]\.(?P<field>\w+)$")
_PATH_MEMBER = re.compile(r"^(?P<input>\w+)\.(?P<id>\w+)\.(?P<field>\w+)$")
_PATH_RECORD = re.compile(r"^(?P<input>\w+)\.(?P<field>\w+)$")


def safe_id(raw: str) -> str:
    """Letters, digits, '-' and '_' only; any other character is written as _xx (its hex code)."""
    return "".join(c if (c.isascii() and (c.isalnum() or c in "-_")) else f"_{ord(c):x}" for c in raw)


def anchor_of(kind: str, name: str, entity_path: str | None = None) -> str:
    """An HTML id from what is explained: `d-quadrant--usecases-ocr`, `v-score--maturity-skills`.

    Letters, digits, '-' and '_' only; any other character is written as _xx (its hex code)."""
    raw = f"{kind}-{name}"
    if entity_path is not None:
        raw += "--" + entity_path.replace("[", "-").replace("]", "").replace(".", "-")
    return safe_id(raw)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _unit_of(definition: ir.Definition | None) -> str | None:
    """Money, months or percent, read from the definition's label ("(€)", "(mois", "(months", "(%)")."""
    if definition is None or definition.meta.label is None:
        return None
    text = " ".join(t for t in (definition.meta.label.fr, definition.meta.label.en) if t)
    if "€" in text:
        return "money"
    if "(%" in text or "%)" in text:
        return "percent"
    if "(mois" in text or "(month" in text:
        return "months"
    return None


class _Builder:
    def __init__(
        self,
        policy: ir.CheckedPolicy,
        assessment: Assessment,
        result: Result,
        tracer: RecordingTracer,
        lang: str,
        spec: ReportSpec,
        prov: dict[str, Any] | None,
        why_not_ms: int = 0,
    ) -> None:
        self.policy = policy
        self.why_not_ms = why_not_ms  # the solver's time per why-not question; 0: none asked
        self.assessment = assessment
        self.result = result
        self.tracer = tracer
        self.lang = lang
        self.loc = Locale(lang)
        self.spec = spec
        self.evaluation, self.records = decision_records(policy, assessment, result, tracer, lang, prov)
        self.record_ids = {(r["decision"], r["entity"]): r["id"] for r in self.records}
        self.decision_index = {(d.decision, d.entity): (i, d) for i, d in enumerate(result.decisions)}
        self.value_index = {(v.definition, v.entity): (i, v) for i, v in enumerate(result.values)}
        self.obligation_index: dict[str | None, list[tuple[int, ObligationResult]]] = {}
        for i, o in enumerate(result.obligations):
            self.obligation_index.setdefault(o.entity_path, []).append((i, o))
        self.params = {p.name: p for p in result.params}
        self.explanations: dict[str, ExplanationView] = {}
        self.missing: dict[str, Fact] = {}  # every missing fact the report mentions
        self.entity_order: dict[str | None, int] = {None: 0}
        self.entity_names: dict[str, str] = {}  # entity path → display name
        self.entity_ids: dict[str, str] = {}  # entity path → entity id
        self._explanation_cache: dict[tuple[str, str | None], DecisionExplanation] = {}
        for n, input_name in enumerate(result.entities):
            for m, entity in enumerate(assessment.entities.get(input_name, [])):
                self.entity_order[entity.path] = 1 + n * 100000 + m
                self.entity_names[entity.path] = self._entity_name(input_name, entity)
                self.entity_ids[entity.path] = entity.id

    # ------------------------------------------------------------ names and labels
    def _entity_name(self, input_name: str, entity: Any) -> str:
        declared = self.policy.inputs.get(input_name)
        if declared is not None and declared.kind == "group" and declared.member_enum:
            enum = self.policy.enums.get(declared.member_enum)
            if enum is not None:
                return labels.text(enum.labels.get(entity.id), self.lang, entity.id)
        name = entity.values.get(self.spec.entity_name_field)
        return name if isinstance(name, str) and name else entity.id

    def name_of(self, entity_path: str | None) -> str | None:
        return self.entity_names.get(entity_path) if entity_path else None

    def fact(self, path: str) -> Fact:
        """The label of a missing fact's field, and the entity it belongs to."""
        for pattern in (_PATH_ENTITY, _PATH_MEMBER, _PATH_RECORD):
            match = pattern.match(path)
            if not match:
                continue
            declared = self.policy.inputs.get(match["input"])
            field_ = declared.fields.get(match["field"]) if declared else None
            label = labels.text(field_.meta.label if field_ else None, self.lang, match["field"])
            groups = match.groupdict()
            entity = None
            if groups.get("id") is not None:
                entity_path = f"{match['input']}[{match['id']}]" if pattern is _PATH_ENTITY else f"{match['input']}.{match['id']}"
                entity = self.entity_names.get(entity_path, match["id"])
            elif declared is not None:
                entity = labels.text(declared.meta.label, self.lang, declared.name)
            return Fact(path, label, entity)
        return Fact(path, path)

    def facts(self, paths: tuple[str, ...] | frozenset[str] | list[str]) -> tuple[Fact, ...]:
        out = tuple(self.fact(p) for p in sorted(paths))
        for f in out:
            self.missing.setdefault(f.path, f)
        return out

    def _fact_order(self, f: Fact) -> tuple:
        match = _PATH_ENTITY.match(f.path)
        if match:
            entity_path = f"{match['input']}[{match['id']}]"
        else:
            match = _PATH_MEMBER.match(f.path)
            entity_path = f"{match['input']}.{match['id']}" if match else None
        return (self.entity_order.get(entity_path, 0) if entity_path else 0, f.path)

    def cite(self, c: ir.Citation) -> Cite:
        if c.decision is not None:  # `cites DECISION`: the citations of that decision's own outcome
            return Cite(self.loc.t("cites_decision", label=labels.decision_label(self.policy, c.decision, self.lang)))
        source = self.policy.sources.get(c.source)
        return Cite(c.text, safe_url(source.url) if source else None)  # http(s) only, encoded

    def cites(self, cites: tuple[ir.Citation, ...]) -> tuple[Cite, ...]:
        seen: list[Cite] = []
        for c in cites:
            item = self.cite(c)
            if item not in seen:
                seen.append(item)
        return tuple(seen)

    # ------------------------------------------------------------ decisions
    def decision(self, name: str, entity: str | None = None) -> DecisionView | None:
        found = self.decision_index.get((name, entity))
        if found is None:
            return None
        _, d = found
        declared = self.policy.decisions[name]
        outcome_names = [o.name for o in declared.outcomes]
        view = DecisionView(
            name=name,
            entity=entity,
            label=labels.decision_label(self.policy, name, self.lang),
            status=d.status,
            outcome=d.outcome,
            outcome_label=labels.outcome_label(self.policy, name, d.outcome, self.lang),
            outcome_index=outcome_names.index(d.outcome) if d.outcome in outcome_names else None,
            outcome_count=len(outcome_names),
            rule=d.rule,
            location=labels.rule_location(self.policy, name, d.rule),
            cites=self.cites(d.cites),
            possible=tuple((o, labels.outcome_label(self.policy, name, o, self.lang)) for o in d.possible),
            missing=self.facts(d.missing),
            anchor=anchor_of("d", name, d.entity_path),
            record_id=self.record_ids.get((name, entity)),
            assumed=tuple(self.fact(p) for p in d.assumed),
        )
        self._explain_decision(view, d)
        return view

    def explanation_of(self, d: DecisionResult) -> DecisionExplanation:
        key = (d.decision, d.entity_path)
        if key not in self._explanation_cache:
            self._explanation_cache[key] = explain_decision(self.policy, self.result, d, self.tracer)
        return self._explanation_cache[key]

    # ------------------------------------------------------------ values
    def value(self, name: str, entity: str | None = None) -> ValueView | None:
        found = self.value_index.get((name, entity))
        if found is None:
            return None
        _, v = found
        definition = self.policy.definitions.get(name)
        raw = None if isinstance(v.value, Unknown) else v.value
        missing = v.missing or (tuple(v.value.missing) if isinstance(v.value, Unknown) else ())
        view = ValueView(
            name=name,
            entity=entity,
            label=labels.definition_label(self.policy, name, self.lang),
            value=raw,
            missing=self.facts(missing),
            unit=_unit_of(definition),
            anchor=anchor_of("v", name, v.entity_path),
            zero_means=dict(self.spec.zero_means).get(name),
        )
        self._explain_value(view, v)
        return view

    def param(self, name: str) -> Any:
        p = self.params.get(name)
        return p.value if p is not None else None

    # ------------------------------------------------------------ obligations
    def obligations(self, entity_path: str | None, entity: str | None) -> list[ObligationView]:
        out = []
        for _, o in self.obligation_index.get(entity_path, []):
            if o.status not in ("applies", "possible"):
                continue
            declared = self.policy.obligations[o.obligation]
            view = ObligationView(
                name=o.obligation,
                entity=entity,
                label=labels.obligation_label(self.policy, o.obligation, self.lang),
                status=o.status,
                missing=self.facts(o.missing),
                cites=self.cites(declared.cites),
                valid_from=self._date(declared.valid_from),
                valid_until=self._date(declared.valid_until),
                anchor=anchor_of("o", o.obligation, entity_path),
            )
            self._explain_obligation(view, o, declared)
            out.append(view)
        return out

    def _date(self, expr: ir.Expr | None) -> date | None:
        if expr is None:
            return None
        value = self.tracer.get("", expr.id)
        return value if isinstance(value, date) else None

    # ------------------------------------------------------------ explanations (as lines of segments)
    def _order(self, entity_path: str | None, kind: int, position: int) -> tuple:
        return (self.entity_order.get(entity_path, 0), kind, position)

    def _truth(self, node: ExprNode) -> str:
        return self.loc.truth(node.value, node.computed)

    def _operand(self, node: ExprNode) -> str:
        text = _collapse(node.text)
        if node.kind == "const":
            return text if " " not in text else self.loc.truth(node.value)
        if not node.computed:
            return text
        return f"{text} ({self.loc.truth(node.value)})"

    def _expr_lines(self, node: ExprNode, depth: int) -> list[tuple[int, list[Seg]]]:
        kids = node.children
        arrow = Seg("text", f" → {self._truth(node)}")
        if node.kind in ("compare", "in") and len(kids) == 2:
            return [(depth, [Seg("code", f"{self._operand(kids[0])} {node.op} {self._operand(kids[1])}"), arrow])]
        if node.kind in ("and", "or"):
            word = {"and": {"fr": "et", "en": "and"}, "or": {"fr": "ou", "en": "or"}}[node.kind][self.lang]
            lines = [(depth, [Seg("strong", word), arrow])]
            for child in kids:
                lines.extend(self._expr_lines(child, depth + 1))
            return lines
        if node.kind == "not" and kids and kids[0].kind in ("and", "or", "compare", "in", "not"):
            word = "non" if self.lang == "fr" else "not"
            return [(depth, [Seg("strong", word), arrow]), *self._expr_lines(kids[0], depth + 1)]
        return [(depth, [Seg("code", _collapse(node.text)), arrow])]

    def _missing_segs(self, facts: tuple[Fact, ...]) -> list[Seg]:
        segs: list[Seg] = [Seg("text", f"{self.loc.t('missing_facts')} : " if self.lang == "fr" else f"{self.loc.t('missing_facts')}: ")]
        for i, f in enumerate(facts):
            if i:
                segs.append(Seg("text", " ; " if self.lang == "fr" else "; "))
            segs.append(Seg("text", f.label + (f" ({f.entity})" if f.entity else "") + " "))
            segs.append(Seg("code", f.path))
        return segs

    def _assumed_segs(self, facts: tuple[Fact, ...]) -> list[Seg]:
        """`assumed: <question> = no — answer to confirm`: the outcome rests on a declared default."""
        segs: list[Seg] = [Seg("strong", self.loc.t("assumed") + self._colon())]
        for i, f in enumerate(facts):
            if i:
                segs.append(Seg("text", " ; " if self.lang == "fr" else "; "))
            value = self.result.assumed.get(f.path)
            shown = self.loc.t("yes") if value is True else self.loc.t("no") if value is False else str(value)
            segs.append(Seg("text", f.label + (f" ({f.entity})" if f.entity else "") + f" = {shown} "))
            segs.append(Seg("code", f.path))
        segs.append(Seg("text", " — " + self.loc.t("answer_to_confirm")))
        return segs

    def _cite_segs(self, cites: tuple[Cite, ...]) -> list[Seg]:
        segs: list[Seg] = [Seg("text", self.loc.t("cites") + " ")]
        for i, c in enumerate(cites):
            if i:
                segs.append(Seg("text", " ; " if self.lang == "fr" else "; "))
            segs.append(Seg("link", c.text, c.url) if c.url else Seg("text", c.text))
        return segs

    def _colon(self) -> str:
        return " : " if self.lang == "fr" else ": "

    def _title(self, label: str, entity_path: str | None) -> str:
        name = self.name_of(entity_path)
        return f"{label} — {name}" if name else label

    def _explain_decision(self, view: DecisionView, d: DecisionResult) -> None:
        if view.anchor in self.explanations:
            return
        x = self.explanation_of(d)
        loc = self.loc
        lines: list[tuple[int, list[Seg]]] = []
        if view.decided:
            summary = [Seg("strong", view.outcome_label or (view.outcome or ""))]
            summary.append(Seg("text", " · " + loc.t("decided_by", rule=view.rule or "", location=view.location or "")))
            if view.cites:
                summary.append(Seg("text", " · "))
                summary.extend(self._cite_segs(view.cites))
        elif view.undetermined:
            summary = [Seg("strong", loc.t("to_complete")), Seg("text", " · " + loc.t("possible") + self._colon() + ", ".join(lbl for _, lbl in view.possible))]
        else:
            summary = [Seg("strong", loc.t("no_rule"))]
        if view.undetermined and view.missing:
            lines.append((0, self._missing_segs(view.missing)))
        if view.assumed:
            lines.append((0, self._assumed_segs(view.assumed)))
        if x.on is not None:
            lines.append((0, [Seg("text", loc.t("band_on") + " "), Seg("code", f"{_collapse(x.on.text)} = {self._truth(x.on)}")]))
        lines.append((0, [Seg("strong", loc.t("rules_walked"))]))
        pending_not_reached: list[str] = []
        # (an undetermined decision: the rule that holds decides only if none before it does)
        mark = (lambda status: f"mark_{status}_open" if status in ("fired", "not_reached") else f"mark_{status}") if view.undetermined else (lambda status: f"mark_{status}")

        def flush() -> None:
            if pending_not_reached:
                lines.append((1, [Seg("text", f"{MARKS['not_reached']} "), Seg("code", ", ".join(pending_not_reached)), Seg("text", f"{self._colon()}{loc.t(mark('not_reached'))}")]))
                pending_not_reached.clear()

        for r in x.rules:
            if r.status == "not_reached":
                pending_not_reached.append(r.id)
                continue
            flush()
            outcome_label = labels.outcome_label(self.policy, d.decision, r.outcome, self.lang)
            lines.append(
                (
                    1,
                    [
                        Seg("text", f"{MARKS.get(r.status, '·')} "),
                        Seg("code", r.id),
                        Seg("text", f" → {outcome_label}{self._colon()}{loc.t(mark(r.status))} ({r.location})"),
                    ],
                )
            )
            if r.cites:
                lines.append((2, self._cite_segs(self.cites(r.cites))))
            dates = []
            if isinstance(r.valid_from, date):
                dates.append(loc.t("in_force_from", date=loc.date(r.valid_from)))
            if isinstance(r.valid_until, date):
                dates.append(loc.t("in_force_until", date=loc.date(r.valid_until)))
            if dates:
                lines.append((2, [Seg("text", " ".join(dates))]))
            if r.status in ("fired", "unknown", "excepted", "exception_unknown") and r.condition is not None:
                lines.extend(self._expr_lines(r.condition, 2))
            elif r.status == "false" and r.first_failure is not None:
                lines.append((2, [Seg("text", loc.t("first_failure") + self._colon().rstrip() )]))
                lines.extend(self._expr_lines(r.first_failure, 3))
            if r.missing:
                lines.append((2, self._missing_segs(self.facts(r.missing))))
            for e in r.exceptions:
                if e.status == "not_tested":
                    continue
                segs = [Seg("text", f"{loc.t('unless')} "), Seg("code", e.id), Seg("text", f"{self._colon()}{loc.t('exc_' + e.status)}")]
                if e.cites:
                    segs.append(Seg("text", " · "))
                    segs.extend(self._cite_segs(self.cites(e.cites)))
                lines.append((2, segs))
                if e.condition is not None:
                    lines.extend(self._expr_lines(e.condition, 3))
        flush()
        if x.definitions:
            lines.append((0, [Seg("strong", loc.t("definitions_read"))]))
            for dv in x.definitions:
                shown = self._value_link(dv.name, d.entity_path)
                segs = [Seg("code", f"{dv.name} = {loc.truth(dv.value)}"), Seg("text", f" ({dv.location})")]
                if shown:
                    segs.append(Seg("xref", loc.t("explanation"), shown))
                lines.append((1, segs))
                lines.append((2, [Seg("code", "= " + _collapse(dv.expression.text))]))
        self._params_lines(lines)
        counterfactuals = self._why_not(d, lines)
        position = self.decision_index[(d.decision, d.entity)][0]
        self.explanations[view.anchor] = ExplanationView(
            view.anchor, "decision", self._title(view.label, d.entity_path), summary, lines, view.record_id, self._order(d.entity_path, 0, position),
            self.name_of(d.entity_path), counterfactuals,
        )

    def _why_not(self, d: DecisionResult, lines: list[tuple[int, list[Seg]]]) -> list[CounterfactualView]:
        """`report --why-not`: for a decision of `spec.why_not` that did not get its wanted
        outcome, the solver's closest changes — each re-evaluated before it is kept — as data
        and as lines of the explanation ("with … at 22.36 instead of 6, this becomes …")."""
        wanted = dict(self.spec.why_not).get(d.decision)
        if not self.why_not_ms or wanted is None or d.outcome == wanted or self.policy.decisions[d.decision].outcome(wanted) is None:
            return []
        from ..backends import counterfactual
        from ..render.catalogue import gettext_for
        from ..render.json_out import fact_text

        _ = gettext_for(self.lang)
        params = {p.name: p.value for p in self.result.params}
        search = counterfactual.why_not(self.policy, self.assessment, d.decision, d.entity, wanted, self.result.as_of, params, timeout_ms=self.why_not_ms)
        outcome_label = labels.outcome_label(self.policy, d.decision, wanted, self.lang)
        views = [
            CounterfactualView(
                wanted,
                outcome_label,
                tuple(
                    (f.fact, self.fact(f.fact).label, fact_text(self.policy, f.fact, f.current, self.lang), fact_text(self.policy, f.fact, f.new, self.lang))
                    for f in c.changes
                ),
                {f.fact: f.new for f in c.changes},
            )
            for c in search.counterfactuals
            if c.verified
        ]
        if views:
            if search.tried:
                lines.append((0, [Seg("strong", _("changes that give {outcome} (values tried, each checked by re-evaluating):").format(outcome=outcome_label))]))
            else:
                lines.append((0, [Seg("strong", _("closest changes that give {outcome} (solver, each checked by re-evaluating):").format(outcome=outcome_label))]))
            if search.note is not None:  # (what is not proven of them: the fewest facts, the closest values)
                note = search.note.translate(_) if hasattr(search.note, "translate") else search.note
                lines.append((0, [Seg("text", "(" + note + ")")]))
            for v in views:
                parts = [_("{fact} at {new} instead of {current}").format(fact=label, new=new, current=current) for _path, label, current, new in v.changes]
                sentence = _("with {changes}, this becomes {outcome}").format(changes=(" " + _("and") + " ").join(parts), outcome=v.outcome_label)
                lines.append((1, [Seg("text", sentence)]))
        elif search.note is not None:
            note = search.note.translate(_) if hasattr(search.note, "translate") else search.note
            lines.append((0, [Seg("text", _("closest change: none found ({note})").format(note=note))]))
        return views

    def _value_link(self, name: str, entity_path: str | None) -> str | None:
        """The anchor a labelled definition's explanation has when the report shows that value.

        Links are kept by the renderers only when their target is in the report (`Report.anchors`)."""
        definition = self.policy.definitions.get(name)
        if definition is None or definition.meta.label is None:
            return None
        if definition.entity_input is None:
            entity_path = None
        entity = self.entity_ids.get(entity_path) if entity_path is not None else None
        if (name, entity) not in self.value_index:
            return None
        return anchor_of("v", name, entity_path)

    def _params_lines(self, lines: list[tuple[int, list[Seg]]]) -> None:
        overridden = [p for p in self.result.params if p.overridden]
        if overridden:
            lines.append((0, [Seg("text", self.loc.t("overridden_params") + self._colon()), Seg("code", ", ".join(f"{p.name} = {format_value(p.value)}" for p in overridden))]))

    def _explain_value(self, view: ValueView, v: ValueResult) -> None:
        if view.anchor in self.explanations:
            return
        loc = self.loc
        definition = self.policy.definitions[v.definition]
        scope = v.entity_path or ""
        tree = expr_tree(definition.expr, self.policy, self.tracer, scope)
        shown = self._format_value(view)
        summary = [Seg("strong", shown)]
        lines: list[tuple[int, list[Seg]]] = []
        if view.missing:
            lines.append((0, self._missing_segs(view.missing)))
        lines.append((0, [Seg("text", f"{loc.t('formula')} ({definition.span.short()}){self._colon()}"), Seg("code", f"{v.definition} = {_collapse(tree.text)}")]))
        leaves = _leaves(tree)
        if leaves:
            lines.append((0, [Seg("strong", loc.t("where"))]))
            for node in leaves:
                segs = [Seg("code", f"{_collapse(node.text)} = {loc.truth(node.value)}")]
                link = self._value_link(_collapse(node.text), v.entity_path)
                if link and link != view.anchor:
                    segs.append(Seg("xref", loc.t("explanation"), link))
                lines.append((1, segs))
        self._params_lines(lines)
        position = self.value_index[(v.definition, v.entity)][0]
        self.explanations[view.anchor] = ExplanationView(
            view.anchor, "value", self._title(view.label, v.entity_path), summary, lines, None, self._order(v.entity_path, 1, position),
            self.name_of(v.entity_path),
        )

    def _format_value(self, view: ValueView) -> str:
        if not view.known:
            return self.loc.t("to_complete")
        if view.zero_means and view.value == 0:
            return self.loc.t(view.zero_means)
        return self.loc.value(view.value, view.unit)

    def _explain_obligation(self, view: ObligationView, o: ObligationResult, declared: ir.Obligation) -> None:
        if view.anchor in self.explanations:
            return
        loc = self.loc
        tree = expr_tree(declared.cond, self.policy, self.tracer, o.entity_path or "")
        status = loc.t("applies") if o.status == "applies" else loc.t("possible_obligation")
        summary: list[Seg] = [Seg("strong", status)]
        if view.cites:
            summary.append(Seg("text", " · "))
            summary.extend(self._cite_segs(view.cites))
        lines: list[tuple[int, list[Seg]]] = []
        if view.missing:
            lines.append((0, self._missing_segs(view.missing)))
        dates = []
        if view.valid_from:
            dates.append(loc.t("in_force_from", date=loc.date(view.valid_from)))
        if view.valid_until:
            dates.append(loc.t("in_force_until", date=loc.date(view.valid_until)))
        if dates:
            lines.append((0, [Seg("text", " ".join(dates))]))
        lines.append((0, [Seg("text", f"{loc.t('location')} {declared.span.short()}")]))
        lines.extend(self._expr_lines(tree, 0))
        position = next(i for i, item in self.obligation_index.get(o.entity_path, []) if item is o)
        self.explanations[view.anchor] = ExplanationView(
            view.anchor, "obligation", self._title(view.label, o.entity_path), summary, lines, None, self._order(o.entity_path, 2, position),
            self.name_of(o.entity_path),
        )

    # ------------------------------------------------------------ entities
    def entities(self, input_name: str) -> list[EntityView]:
        out = []
        for n, entity in enumerate(self.assessment.entities.get(input_name, []), start=1):
            out.append(EntityView(input_name, entity.id, n, self.entity_names[entity.path], entity.path))
        return out

    def fill(self, view: EntityView, decisions: list[str], values: list[str]) -> None:
        for name in decisions:
            d = self.decision(name, view.id)
            if d is not None:
                view.decisions[name] = d
        for name in values:
            v = self.value(name, view.id)
            if v is not None:
                view.values[name] = v

    # ------------------------------------------------------------ the report
    def build(self, assessment_name: str | None) -> Report:
        spec, loc = self.spec, self.loc
        company_record = self.assessment.records.get(spec.company_record, {})
        company = company_record.get(spec.company_name_field)
        company = company if isinstance(company, str) and company else None
        title = f"{loc.t('report_title')} — {company}" if company else loc.t("report_title")

        # maturity
        dimensions = self.entities(spec.dimension_input)
        for dim in dimensions:
            self.fill(dim, [spec.dimension_level, spec.weakness], [spec.dimension_score])
        weak = [
            d for d in dimensions if (w := d.decisions.get(spec.weakness)) is not None and w.decided and w.outcome in spec.weak_outcomes
        ]

        # use cases
        usecases = self.entities(spec.usecase_input)
        uc_decisions = [spec.quadrant, spec.selection, spec.eligibility, spec.roadmap, spec.roi_verdict, spec.risk, *spec.legal_decisions,
                        spec.success_measure, spec.test_verdict, spec.alignment, spec.next_step]
        uc_values = [
            spec.impact, spec.effort, spec.annual_gain, spec.payback_months, spec.risk_adjusted_payback_months,
            spec.priority_rank, spec.prerequisite_months, *(name for name, _ in spec.phases),
            *(name for step in spec.prerequisite_steps for name in step),
            spec.success_target, spec.decision_point_month,
        ]
        for uc in usecases:
            self.fill(uc, uc_decisions, uc_values)
            uc.obligations = self.obligations(uc.path, uc.id)

        def rank_key(uc: EntityView) -> tuple:
            rank = uc.values.get(spec.priority_rank)
            return (rank.value if rank is not None and rank.known else Decimal(10**9), uc.number)

        priorities = sorted(
            (uc for uc in usecases if (s := uc.decisions.get(spec.selection)) is not None and s.decided and s.outcome == spec.selected_outcome),
            key=rank_key,
        )
        to_complete = [uc for uc in usecases if (s := uc.decisions.get(spec.selection)) is not None and s.undetermined]

        # matrix
        quadrant_decl = self.policy.decisions.get(spec.quadrant)
        has_matrix = quadrant_decl is not None and spec.impact in self.policy.definitions and spec.effort in self.policy.definitions
        ti, te = self.param(spec.impact_threshold), self.param(spec.effort_threshold)
        observed = [
            v.value for uc in usecases for key in (spec.impact, spec.effort) if (v := uc.values.get(key)) is not None and v.known
        ]
        axis_max = spec.score_max
        for value in observed:
            if isinstance(value, Decimal) and value > axis_max:
                axis_max = int(value.to_integral_value(rounding="ROUND_CEILING"))
        quadrants = []
        if quadrant_decl is not None:
            for outcome, high_impact, high_effort in spec.quadrants:
                if quadrant_decl.outcome(outcome) is not None:
                    quadrants.append((outcome, labels.outcome_label(self.policy, spec.quadrant, outcome, self.lang), high_impact, high_effort))

        # roadmap
        horizon_value = self.param(spec.horizon)
        horizon = int(horizon_value) if isinstance(horizon_value, (int, Decimal)) else None
        roadmap_rows = [self._roadmap_row(uc, horizon) for uc in [*priorities, *to_complete]] if horizon else []

        # risks
        risks = []
        for uc in usecases:
            risk = uc.decisions.get(spec.risk)
            legal = [uc.decisions[name] for name in spec.legal_decisions if name in uc.decisions]
            risks.append(RiskRow(uc, risk, legal, uc.obligations, self._dates(uc, risk), self._obligation_dates(uc)))
        tools = []
        for tool in self.entities(spec.tool_input):
            self.fill(tool, [spec.tool_decision], [])
            tool.obligations = self.obligations(tool.path, tool.id)
            decision = tool.decisions.get(spec.tool_decision)
            tools.append(RiskRow(tool, decision, [], tool.obligations, [], self._obligation_dates(tool)))

        report = Report(
            lang=self.lang,
            spec=spec,
            title=title,
            company=company,
            policy_name=self.policy.name,
            policy_label=labels.text(self.policy.meta.label, self.lang) or None,
            version=self.policy.version,
            as_of=self.result.as_of,
            assessment_name=assessment_name,
            overridden=[(p.name, labels.text(self.policy.params[p.name].meta.label, self.lang, p.name), p.value) for p in self.result.params if p.overridden],
            param_count=len(self.result.params),
            maturity_level=self.decision(spec.maturity_level),
            global_score=self.value(spec.global_score),
            ambition=self.decision(spec.ambition),
            portfolio=self.decision(spec.portfolio),
            selected_count=self.value(spec.selected_count),
            weak_dimensions=weak,
            dimensions=dimensions,
            usecases=usecases,
            priorities=priorities,
            to_complete=to_complete,
            has_matrix=has_matrix,
            impact_threshold=ti if isinstance(ti, Decimal) else None,
            effort_threshold=te if isinstance(te, Decimal) else None,
            axis_max=axis_max,
            quadrant_outcomes=quadrants,
            horizon=horizon,
            roadmap=roadmap_rows,
            risks=risks,
            tools=tools,
            global_obligations=self.obligations(None, None),
            explanations=[],
            missing_facts=[],
            provenance=self.evaluation["provenance"],
            evaluation_id=self.evaluation["id"],
            assessment_sha256=assessment_sha256(self.assessment),
            decision_ids=[],
        )
        report.groundwork = self._groundwork(report.global_obligations, horizon) if horizon else []
        report.first_steps = self._first_steps(report.global_obligations, horizon, usecases)
        report.explanations = sorted(self.explanations.values(), key=lambda x: x.order)
        report.missing_facts = sorted(self.missing.values(), key=self._fact_order)
        report.records = [self.evaluation, *self.records]
        report.decision_ids = [
            (
                f"{r['decision']}[{r['entity']}]" if r["entity"] is not None else r["decision"],
                r["id"],
                a if (a := anchor_of("d", r["decision"], r["entity_path"])) in self.explanations else None,
            )
            for r in self.records
        ]
        return report

    def _first_steps(self, obligations: list[ObligationView], horizon: int | None, usecases: list[EntityView]) -> FirstSteps | None:
        """The first steps of a diagnostic with undetermined decisions (None when every decision is settled)."""
        undetermined = sum(1 for d in self.result.decisions if d.status == UNDETERMINED)
        if not undetermined:
            return None
        spec = self.spec
        rows = self._groundwork(obligations, horizon if horizon else 10**6)
        groundwork = [row for row in rows if row.obligation.status == "applies"]
        candidates = [
            (uc, d) for uc in usecases if (d := uc.decisions.get(spec.next_step)) is not None and d.decided and d.outcome == spec.candidate_outcome
        ]
        ranked = rank_open_questions(self.policy, self.result, self.assessment)[: spec.first_questions]
        questions = [OpenQuestion(self.facts((path,))[0], n) for path, n in ranked]
        return FirstSteps(groundwork, candidates, questions, undetermined)

    def _groundwork(self, obligations: list[ObligationView], horizon: int) -> list[GroundworkRow]:
        """The groundwork steps that apply or may apply, with their months (the policy computes them)."""
        by_name = {o.name: o for o in obligations}
        rows = []
        for name, start_def, end_def in self.spec.groundwork:
            obligation = by_name.get(name)
            if obligation is None:
                continue
            start, end = self.value(start_def), self.value(end_def)
            first = start.as_int() if start is not None else None
            last = end.as_int() if end is not None else None
            missing = tuple(dict.fromkeys((*(start.missing if start else ()), *(end.missing if end else ()))))
            if first is None or last is None or first <= 0 or first > horizon:
                rows.append(GroundworkRow(obligation, None, None, missing))
            else:
                rows.append(GroundworkRow(obligation, first, min(last, horizon), ()))
        return rows

    def _roadmap_row(self, uc: EntityView, horizon: int) -> RoadmapRow:
        spec = self.spec
        starts = [(key, uc.values[name]) for name, key in spec.phases if name in uc.values]
        prereq = uc.values.get(spec.prerequisite_months)
        prerequisites = [o for o in uc.obligations if o.name.startswith(spec.prerequisite_prefix)]
        decision = uc.decisions.get(spec.roadmap)
        months = [v.as_int() for _, v in starts]
        phases: list[Phase] = []
        missing: list[Fact] = []
        beyond = False
        if starts and all(m is not None and m > 0 for m in months):
            first = months[0]
            p_months = prereq.as_int() if prereq is not None else None
            steps = [(uc.values[a].as_int(), uc.values[b].as_int()) for a, b in spec.prerequisite_steps if a in uc.values and b in uc.values]
            if steps:  # the policy schedules each prerequisite: the bar spans them
                spans = [(a, b) for a, b in steps if a is not None and b is not None and a > 0]
                if spans and prereq is not None:
                    begin, end = min(a for a, _ in spans), max(b for _, b in spans)
                    if begin <= horizon:
                        phases.append(Phase("prerequisites", begin, min(end, horizon), False, prereq.anchor))
            elif p_months and p_months > 0:
                begin = max(1, first - p_months)
                if begin <= horizon:
                    phases.append(Phase("prerequisites", begin, min(first - 1, horizon), False, prereq.anchor))
            for i, ((key, view), start) in enumerate(zip(starts, months)):
                last = i == len(starts) - 1
                end = horizon if last else months[i + 1] - 1
                if start > horizon:
                    beyond = True
                    continue
                ongoing = last or end > horizon
                phases.append(Phase(key, start, min(end, horizon), ongoing, view.anchor))
        else:
            for _, v in starts:
                for f in v.missing:
                    if f not in missing:
                        missing.append(f)
        return RoadmapRow(uc, phases, starts, prereq, prerequisites, decision, beyond, tuple(missing))

    def _obligation_dates(self, entity: EntityView) -> list[DateNote]:
        as_of = self.result.as_of
        notes = []
        for o in entity.obligations:
            if o.valid_from:
                notes.append(DateNote(o.valid_from, "from", o.label, o.valid_from > as_of, o.anchor))
            if o.valid_until:
                notes.append(DateNote(o.valid_until, "until", o.label, o.valid_until > as_of, o.anchor))
        return notes

    def _dates(self, entity: EntityView, risk: DecisionView | None) -> list[DateNote]:
        """When the classification applies: the deciding rule's dates, and the rules with the same condition
        and exceptions that give another outcome once in force (e.g. high risk from the Annex III date)."""
        as_of = self.result.as_of
        notes: list[DateNote] = []
        if risk is not None and risk.decided:
            d = self.decision_index[(risk.name, entity.id)][1]
            x = self.explanation_of(d)
            fired = next((r for r in x.rules if r.id == risk.rule), None)
            if fired is not None:
                for when, kind in ((fired.valid_from, "from"), (fired.valid_until, "until")):
                    if isinstance(when, date):
                        notes.append(DateNote(when, kind, risk.outcome_label, when > as_of, risk.anchor))
                if fired.condition is not None:
                    same = _signature(fired)
                    for r in x.rules:
                        if r.status == "not_in_force" and r.outcome != fired.outcome and isinstance(r.valid_from, date) and _signature(r) == same:
                            label = labels.outcome_label(self.policy, risk.name, r.outcome, self.lang)
                            notes.append(DateNote(r.valid_from, "from", label, r.valid_from > as_of, risk.anchor))
        return notes


def _signature(rule: Any) -> tuple:
    """A rule's condition and exceptions as written: two rules with the same signature hold together."""
    cond = _collapse(rule.condition.text) if rule.condition is not None else None
    return (cond, tuple(_collapse(e.condition.text) for e in rule.exceptions if e.condition is not None))


def _leaves(tree: ExprNode) -> list[ExprNode]:
    """The named inputs of a formula (fields, definitions, parameters, aggregates) that were computed, once each."""
    out: list[ExprNode] = []
    seen: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop(0)
        if node.kind == "leaf" and node is not tree:
            text = _collapse(node.text)
            if node.computed and text not in seen:
                seen.add(text)
                out.append(node)
            continue
        stack[0:0] = list(node.children)
    return out


def build_report(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    result: Result,
    tracer: RecordingTracer,
    lang: str = "fr",
    assessment_name: str | None = None,
    prov: dict[str, Any] | None = None,
    spec: ReportSpec = DEFAULT_SPEC,
    why_not_seconds: float = 0,
) -> Report:
    """Gather what the report shows; `tracer` is the trace of the evaluation that gave `result`.

    `why_not_seconds` > 0: the explanations of `spec.why_not` decisions that did not get their
    wanted outcome also give the solver's closest verified changes, within that time each."""
    return _Builder(policy, assessment, result, tracer, lang, spec, prov, int(why_not_seconds * 1000)).build(assessment_name)
