"""What an evaluation produces: decisions, values and obligations, as plain data.

The decision itself always lists the status of every rule it walked (which
fired, which were false, unknown, excepted, not in force), so audit records,
coverage and the short "why" need no trace; the full per-expression trace is
recorded only when asked (`trace.RecordingTracer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..language.ir import Citation

FIRED = "fired"
FALSE = "false"
UNKNOWN = "unknown"
EXCEPTED = "excepted"  # the condition held but an `unless` exception applied
EXCEPTION_UNKNOWN = "exception_unknown"  # the condition held, an exception may apply
NOT_IN_FORCE = "not_in_force"
NOT_REACHED = "not_reached"

DECIDED = "decided"
UNDETERMINED = "undetermined"
NO_MATCH = "no_match"


@dataclass(frozen=True)
class RuleStatus:
    rule: str
    outcome: str
    status: str
    exception: str | None = None  # the exception that applied, or may apply
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecisionResult:
    decision: str
    entity: str | None  # entity id for per-entity decisions
    entity_path: str | None  # "usecases[ocr]"
    status: str
    outcome: str | None
    rule: str | None
    possible: tuple[str, ...]
    missing: tuple[str, ...]
    rules: tuple[RuleStatus, ...]
    cites: tuple[Citation, ...]
    obligations: tuple[str, ...] = ()
    #: defaulted facts (answers left out, filled by a declared `default`) without which this
    #: outcome would not be settled: the decision rests on an assumption
    assumed: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.decision}[{self.entity}]" if self.entity is not None else self.decision


@dataclass(frozen=True)
class ValueResult:
    definition: str
    entity: str | None
    entity_path: str | None
    value: Any
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObligationResult:
    obligation: str
    entity: str | None
    entity_path: str | None
    status: str  # "applies", "possible", "not_applicable", "not_in_force"
    missing: tuple[str, ...] = ()
    assumed: tuple[str, ...] = ()  # as for DecisionResult


@dataclass(frozen=True)
class ParamValue:
    name: str
    value: Any
    overridden: bool


@dataclass
class Result:
    policy: str
    version: str
    as_of: date
    params: list[ParamValue]
    decisions: list[DecisionResult]
    values: list[ValueResult]
    obligations: list[ObligationResult]
    entities: dict[str, list[str]] = field(default_factory=dict)  # input → entity ids in order
    #: every fact filled by a declared default, path → the value assumed
    assumed: dict[str, Any] = field(default_factory=dict)

    def find(self, decision: str, entity: str | None = None) -> DecisionResult | None:
        for d in self.decisions:
            if d.decision == decision and (entity is None or d.entity == entity):
                return d
        return None
