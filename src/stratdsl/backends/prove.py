"""Assertions proven for all inputs: `assert` declarations checked by the solver.

Input: a checked policy with `assert` declarations, the as-of date, the
parameters (fixed at their values), the largest number of entities per `many`
input to consider, a time budget per assertion. Output: per assertion,
*proven* (no assessment with 0…N entities makes it false), *counterexample*
(an assessment that makes it false — re-evaluated by the ordinary evaluator
before it is reported — as ready-to-run YAML), or *unknown* (within the
budget, or a construct not translated), with the time each took.

An assertion whose value is unknown (it reads a missing fact that Kleene logic
does not settle) is not a counterexample: only *false* is.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import z3

from ..language import ir
from ..language.diagnostics import StratError
from ..language.types import NumberT
from ..runtime.assessment import Assessment, validate
from ..runtime.evaluator import Evaluator
from ..runtime.values import Unknown, normalize
from . import smt

PROVEN = "proven"
COUNTEREXAMPLE = "counterexample"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Proof:
    assertion: str
    status: str
    seconds: float
    entities: int  # the shape size the answer is for (the largest tried when proven)
    detail: str | None = None  # why unknown
    counterexample: dict[str, Any] | None = None  # assessment data
    entity: str | None = None  # the entity the assertion fails for


def _data(t: smt.Translation, model: Any) -> dict[str, Any]:
    """The assessment a model describes (facts not known are left out)."""
    out: dict[str, Any] = {}
    for item in t.policy.inputs.values():
        if item.kind == "many":
            out[item.name] = [{"id": e} for e in t.shape.entities.get(item.name, ())]
        elif item.kind == "group":
            out[item.name] = {m: {} for m in item.members}
        else:
            out[item.name] = {}
    rows = {(name, row["id"]): row for name, items in out.items() if isinstance(items, list) for row in items}
    for fact in t.facts.values():
        value = smt.model_value(model, fact, t.codes)
        if isinstance(value, Unknown):
            continue
        item = t.policy.inputs[fact.input_name]
        if item.kind == "record":
            target = out[item.name]
        elif item.kind == "many":
            target = rows[(item.name, fact.entity)]
        else:
            target = out[item.name][fact.entity]
        if isinstance(fact.type, NumberT):
            value = int(value) if value == value.to_integral_value() else value
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, frozenset):
            value = sorted(value)
        target[fact.field_name] = value
    return out


def _all_decimal(t: smt.Translation, model: Any) -> bool:
    for fact in t.facts.values():
        if isinstance(fact.type, NumberT) and z3.is_true(model.evaluate(fact.known, model_completion=True)):
            if not smt.is_decimal_numeral(model.evaluate(fact.value, model_completion=True)):
                return False
    return True


def _fails(policy: ir.CheckedPolicy, assertion: ir.Assertion, assessment: Assessment, as_of: date, params: dict[str, Any]) -> str | None:
    """The entity (or "") for which the evaluator finds the assertion false, else None."""
    evaluator = Evaluator(policy, assessment, as_of, params)
    scope = assessment.entities.get(assertion.entity_input, []) if assertion.entity_input else [None]
    for entity in scope:
        try:
            value = evaluator.compute(assertion.expr, entity)
        except StratError:
            continue
        if value is False:
            return entity.id if entity else ""
    return None


def prove(
    policy: ir.CheckedPolicy,
    as_of: date,
    params: dict[str, Any] | None = None,
    max_entities: int = 2,
    timeout_ms: int = 10000,
    only: tuple[str, ...] = (),
) -> list[Proof]:
    params = params or {}
    out = []
    for assertion in policy.assertions.values():
        if only and assertion.name not in only:
            continue
        out.append(_prove_one(policy, assertion, as_of, params, max_entities, timeout_ms))
    return out


def _prove_one(policy, assertion, as_of, params, max_entities, timeout_ms) -> Proof:
    start = time.perf_counter()
    sizes = range(1 if assertion.entity_input else 0, max_entities + 1)
    last: int | None = None  # the largest size proven so far

    def budget_spent() -> str:
        return "unknown within the time budget" + (f" (proven for up to {last} entities per list)" if last is not None else "")
    for n in sizes:
        left = timeout_ms - int((time.perf_counter() - start) * 1000)
        if left <= 0:
            return Proof(assertion.name, UNKNOWN, time.perf_counter() - start, n, budget_spent())
        found = None
        for grid in (None, 100):
            try:
                t = smt.Translation(policy, smt.Shape.uniform(policy, n), as_of, params, grid=grid)
                scope = t.scope_entities(assertion.entity_input)
                terms = [(e, t.expr(assertion.expr, (assertion.entity_input, e) if e else None, z3.BoolVal(True))) for e in scope]
                decisions = [d.settled for d in t.all_decisions()]  # every decision is evaluated: its divisions count
            except smt.Untranslatable as error:
                return Proof(assertion.name, UNKNOWN, time.perf_counter() - start, n, error.diagnostics[0].message)
            s = smt.solver(left)
            s.add(*t.domain, *t.safety)
            del decisions
            s.add(z3.Or(*[z3.And(v.known, z3.Not(v.value)) for _, v in terms]) if terms else z3.BoolVal(False))
            answer = smt.check(s, max(timeout_ms - int((time.perf_counter() - start) * 1000), 1))
            if answer == z3.unsat:
                break  # proven for this size (the grid run only follows a sat)
            if answer == z3.unknown:
                return Proof(assertion.name, UNKNOWN, time.perf_counter() - start, n, budget_spent())
            model = s.model()
            if grid is None and not _all_decimal(t, model):
                continue  # look again on hundredths, for values a person can type
            data = _data(t, model)
            try:
                assessment = validate(policy, data, "counterexample.yaml")
            except StratError:
                return Proof(assertion.name, UNKNOWN, time.perf_counter() - start, n, "the solver's counterexample is not a valid assessment")
            entity = _fails(policy, assertion, assessment, as_of, params)
            if entity is None:
                return Proof(assertion.name, UNKNOWN, time.perf_counter() - start, n, "the solver's counterexample was not confirmed by the evaluator")
            found = Proof(assertion.name, COUNTEREXAMPLE, time.perf_counter() - start, n, None, data, entity or None)
            break
        else:
            return Proof(assertion.name, UNKNOWN, time.perf_counter() - start, n, "a counterexample exists only with numbers that are not decimals")
        if found is not None:
            return found
        last = n
    return Proof(assertion.name, PROVEN, time.perf_counter() - start, last if last is not None else max_entities)


# ------------------------------------------------------------------ rendering of a counterexample


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(normalize(value), "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def assessment_yaml(data: dict[str, Any]) -> str:
    """A counterexample as an assessment file (block style at the top, exact numbers)."""
    lines = []
    for name, value in data.items():
        if isinstance(value, list):
            lines.append(f"{name}:")
            for row in value:
                lines.append("  - {" + ", ".join(f"{k}: {_scalar(v)}" for k, v in row.items()) + "}")
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            lines.append(f"{name}:")
            for member, row in value.items():
                lines.append(f"  {member}: {{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in row.items()) + "}")
        else:
            lines.append(f"{name}: {{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}")
    return "\n".join(lines) + "\n"


def test_stub(policy_path: str, proof: Proof, as_of: date) -> str:
    """A policy test case (`stratdsl test`) that pins the counterexample, to be completed."""
    indented = "\n".join("  " + line for line in assessment_yaml(proof.counterexample or {}).splitlines())
    return (
        f"# counterexample to assertion '{proof.assertion}'"
        + (f" (for {proof.entity})" if proof.entity else "")
        + ": fix the policy, then write what it should decide\n"
        f"policy: {policy_path}\n"
        f"as_of: {as_of.isoformat()}\n"
        "assessment:\n"
        f"{indented}\n"
        "cases:\n"
        f"  - name: {proof.assertion} holds\n"
        "    expect: {}\n"
    )
