"""The public entry points that tie the stages together: compile, load, evaluate, explain.

The CLI, the tests, and later the service and batch runner call these; none
of them re-implements a stage.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .language import ir
from .language.checker import check
from .language.diagnostics import Diagnostic, StratError, did_you_mean
from .language.loader import Program, load_policy, load_text
from .language.messages import N_, Msg
from .language.reads import fields_read
from .language.types import BoolT, DateT, EnumT, NumberT, TextT, number_problem

if TYPE_CHECKING:
    from .runtime.assessment import Assessment
    from .runtime.explain import DecisionExplanation
    from .runtime.result import DecisionResult, Result
    from .runtime.trace import RecordingTracer
    from .runtime.whynot import WhyNot

# The runtime (pydantic, the evaluators, the compiler) is imported by the functions
# that evaluate: `stratdsl check` and `--version` never pay for it (docs/performance.md).


def compile_program(program: Program) -> tuple[ir.CheckedPolicy | None, list[Diagnostic]]:
    return check(program)


def compile_policy(path: str | Path, display: Callable[[Path], str] | None = None) -> tuple[ir.CheckedPolicy | None, list[Diagnostic]]:
    """Load and check a policy; (None, diagnostics) when it has errors. Never raises for bad input."""
    try:
        program = load_policy(path, display)
    except StratError as error:
        return None, error.diagnostics
    return check(program)


def compile_text(text: str, name: str = "<policy>") -> tuple[ir.CheckedPolicy | None, list[Diagnostic]]:
    try:
        program = load_text(text, name)
    except StratError as error:
        return None, error.diagnostics
    return check(program)


def require_policy(path: str | Path, display: Callable[[Path], str] | None = None) -> tuple[ir.CheckedPolicy, list[Diagnostic]]:
    policy, diagnostics = compile_policy(path, display)
    if policy is None:
        raise StratError(diagnostics)
    return policy, diagnostics


def parse_param(policy: ir.CheckedPolicy, text: str) -> tuple[str, Any]:
    """`name=value` from the command line, converted to the parameter's declared type."""
    if "=" not in text:
        raise StratError([Diagnostic("E304", Msg(N_("--param '{text}' must be written name=value"), text=text))])
    name, raw = (part.strip() for part in text.split("=", 1))
    param = policy.params.get(name)
    if param is None:
        raise StratError(
            [
                Diagnostic(
                    "E304",
                    Msg(N_("unknown parameter '{name}'"), name=name),
                    hint=did_you_mean(name, list(policy.params))
                    or Msg(N_("parameters: {names}"), names=", ".join(policy.params) or Msg(N_("none"))),
                )
            ]
        )
    type_ = param.type
    try:
        if isinstance(type_, NumberT):
            value: Any = Decimal(raw)
            if not value.is_finite() or (type_.integer and value != value.to_integral_value()):
                raise InvalidOperation
            problem = number_problem(value)
            if problem is not None:
                message = Msg(N_("--param {name}: {raw} is not a reasonable number: {problem}"), name=name, raw=raw[:40], problem=problem)
                raise StratError([Diagnostic("E304", message)])
            if (type_.low is not None and value < type_.low) or (type_.high is not None and value > type_.high):
                message = Msg(N_("--param {name}: {raw} is outside {low}..{high}"), name=name, raw=raw, low=type_.low, high=type_.high)
                raise StratError([Diagnostic("E304", message)])
        elif isinstance(type_, BoolT):
            if raw.lower() not in ("true", "false"):
                raise ValueError
            value = raw.lower() == "true"
        elif isinstance(type_, DateT):
            value = date.fromisoformat(raw)
        elif isinstance(type_, EnumT):
            if raw not in type_.values:
                raise StratError(
                    [
                        Diagnostic(
                            "E304",
                            Msg(N_("--param {name}: '{raw}' is not one of: {values}"), name=name, raw=raw, values=", ".join(type_.values)),
                            hint=did_you_mean(raw, list(type_.values)),
                        )
                    ]
                )
            value = raw
        elif isinstance(type_, TextT):
            value = unicodedata.normalize("NFC", raw)  # compared like the policy's texts
        else:
            raise ValueError
    except (InvalidOperation, ValueError):
        message = Msg(N_("--param {name}: '{raw}' is not a {type}"), name=name, raw=raw, type=type_.describe())
        raise StratError([Diagnostic("E304", message)]) from None
    return name, value


def parse_params(policy: ir.CheckedPolicy, items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    return dict(parse_param(policy, item) for item in items)


def run(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    as_of: date,
    params: dict[str, Any] | None = None,
    trace: bool = False,
) -> tuple[Result, RecordingTracer | None]:
    with _stack_guard():
        if trace:
            # the reference tracer, then (from a policy's 17th traced evaluation in the process) the
            # traced compiled mode, which records the same trace (backends/traced.py)
            from .backends.traced import run_traced

            result, tracer = run_traced(policy, assessment, as_of, params)
            return mark_assumptions(policy, assessment, as_of, params, result), tracer
        # without a trace, the compiled form decides (the differential tests prove it gives the
        # reference evaluator's results), once a policy has been evaluated often enough in this
        # process to repay building it (compiler.COMPILED_AFTER); the reference evaluator before
        from .backends.compiler import evaluator_for

        return mark_assumptions(policy, assessment, as_of, params, evaluator_for(policy).evaluate(assessment, as_of, params)), None


def mark_assumptions(
    policy: ir.CheckedPolicy, assessment: Assessment, as_of: date, params: dict[str, Any] | None, result: Result
) -> Result:
    """Say which settled results rest on an assumption. A fact filled by a declared `default` is an
    answer the company did not give; evaluating again with those facts unknown shows which settled
    decisions, obligations and values would no longer be settled, and on which of them they wait —
    exactly the defaulted facts the result rests on (three-valued logic, no guess).

    Only the decisions and obligations that read a defaulted field, directly or through the
    definitions and decisions they read (`language.reads.fields_read`), are evaluated again: every other one
    reads the same facts in both runs, so its result is the same and nothing rests on a default."""
    from .backends.compiler import CompiledPolicy, evaluator_for
    from .runtime.result import DECIDED

    result.assumed = dict(assessment.assumed)
    if not assessment.assumed:
        return result
    assumed = set(assessment.assumed)
    form = evaluator_for(policy, count=False)  # the form that gave `result`
    bare_facts = assessment.without_assumptions()
    if not isinstance(form, CompiledPolicy):  # the reference evaluator stands in: evaluate it all
        bare = form.evaluate(bare_facts, as_of, params)
        decisions = [(i, d) for i, d in enumerate(result.decisions) if d.status == DECIDED]
        obligations = list(enumerate(result.obligations))
        by_decision = {(d.decision, d.entity): d for d in bare.decisions}
        by_obligation = {(o.obligation, o.entity): o for o in bare.obligations}
        others = [by_decision.get((d.decision, d.entity)) for _, d in decisions]
        other_obligations = [by_obligation.get((o.obligation, o.entity)) for _, o in obligations]
    else:
        # a path is `<input or entity path>.<field>`: its last segment is the field's name
        fields = {path.rsplit(".", 1)[1] for path in assumed}
        decision_reads, obligation_reads, _ = fields_read(policy)
        decisions = [
            (i, d) for i, d in enumerate(result.decisions) if d.status == DECIDED and not decision_reads[d.decision].isdisjoint(fields)
        ]
        obligations = [(i, o) for i, o in enumerate(result.obligations) if not obligation_reads[o.obligation].isdisjoint(fields)]
        if not decisions and not obligations:
            return result
        # the decisions that read no defaulted field are the same in both runs: taken as they are
        same = [d for d in result.decisions if decision_reads[d.decision].isdisjoint(fields)]
        others, other_obligations = form.some(
            bare_facts,
            as_of,
            params,
            [(d.decision, d.entity) for _, d in decisions],
            [(o.obligation, o.entity) for _, o in obligations],
            same,
        )
    for (i, d), other in zip(decisions, others, strict=True):
        if other is not None and (other.status != DECIDED or other.outcome != d.outcome):
            rests = tuple(sorted(assumed & set(other.missing))) or tuple(sorted(assumed))
            result.decisions[i] = replace(d, assumed=rests)
    for (i, o), other in zip(obligations, other_obligations, strict=True):
        if other is not None and other.status != o.status:
            rests = tuple(sorted(assumed & set(other.missing))) or tuple(sorted(assumed))
            result.obligations[i] = replace(o, assumed=rests)
    return result


def outcomes(
    policy: ir.CheckedPolicy, assessment: Assessment, as_of: date, params: dict[str, Any] | None = None
) -> list[tuple[str, str | None, str | None]]:
    """(decision, entity id, outcome) for every decision, in the order of `run(...).decisions`;
    the outcome is None where the decision is undetermined or no rule applies. No result objects
    are built (the compiled form's outcome walks)."""
    from .backends.compiler import compiled

    with _stack_guard():
        found = compiled(policy).outcomes(assessment, as_of, params)
    keys = [
        (d.name, e.id if e is not None else None)
        for d in policy.decisions.values()
        for e in ((None,) if d.entity_input is None else assessment.entities.get(d.entity_input, ()))
    ]
    return [(name, entity, outcome) for (name, entity), outcome in zip(keys, found, strict=True)]


@contextlib.contextmanager
def _stack_guard() -> Iterator[None]:
    """The checker bounds nesting (E009, E031) so that evaluation fits Python's stack; should a
    caller's own stack leave too little room, this is a coded error, not a crash."""
    try:
        yield
    except RecursionError:
        raise StratError(
            [
                Diagnostic(
                    "E203",
                    Msg(N_("the policy nests its definitions and decisions too deeply to be evaluated here")),
                    hint=Msg(N_("compute some values directly from the facts, so that fewer definitions read one another")),
                )
            ]
        ) from None


def explain(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    decision: str,
    as_of: date,
    params: dict[str, Any] | None = None,
    entity: str | None = None,
    why_not_outcome: str | None = None,
    keep: tuple[str, ...] = (),
    symbolic: bool = True,
    budget_ms: int = 5000,
) -> list[tuple[DecisionExplanation, WhyNot | None]]:
    """Explain one decision (for one entity, or every entity); optionally why an outcome was not chosen."""
    if decision not in policy.decisions:
        raise StratError(
            [
                Diagnostic(
                    "E305",
                    Msg(N_("unknown decision '{name}'"), name=decision),
                    hint=did_you_mean(decision, list(policy.decisions)) or Msg(N_("decisions: {names}"), names=", ".join(policy.decisions)),
                )
            ]
        )
    target = policy.decisions[decision]
    if why_not_outcome is not None and target.outcome(why_not_outcome) is None:
        raise StratError(
            [
                Diagnostic(
                    "E305",
                    Msg(N_("'{outcome}' is not an outcome of '{decision}'"), outcome=why_not_outcome, decision=decision),
                    hint=did_you_mean(why_not_outcome, [o.name for o in target.outcomes])
                    or Msg(N_("outcomes: {names}"), names=", ".join(o.name for o in target.outcomes)),
                )
            ]
        )
    result, tracer = run(policy, assessment, as_of, params, trace=True)
    assert tracer is not None
    chosen = [d for d in result.decisions if d.decision == decision]
    if entity is not None:
        if target.entity_input is None:
            message = Msg(N_("decision '{decision}' is not made for each entity: drop --for"), decision=decision)
            raise StratError([Diagnostic("E303", message)])
        chosen = [d for d in chosen if d.entity == entity]
        if not chosen:
            ids = result.entities.get(target.entity_input, [])
            raise StratError(
                [
                    Diagnostic(
                        "E303",
                        Msg(N_("no {entity} with id '{id}'"), entity=policy.inputs[target.entity_input].entity, id=entity),
                        hint=did_you_mean(entity, ids) or Msg(N_("ids: {ids}"), ids=", ".join(ids)),
                    )
                ]
            )
    from .runtime.explain import explain_decision
    from .runtime.whynot import why_not

    out = []
    with _stack_guard():
        for d in chosen:
            x = explain_decision(policy, result, d, tracer)
            why = why_not(x, why_not_outcome, policy, result, tracer) if why_not_outcome else None
            if why is not None and symbolic:
                why = _symbolic_why_not(policy, assessment, d, why, as_of, params, keep, budget_ms)
            out.append((x, why))
    return out


def load_assessment(policy: ir.CheckedPolicy, path: str | Path, name: str | None = None) -> Assessment:
    """Read and validate an assessment file against the policy's inputs (runtime.assessment)."""
    from .runtime.assessment import load_assessment as load

    return load(policy, path, name)


def _symbolic_why_not(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    decided: DecisionResult,
    why: WhyNot,
    as_of: date,
    params: dict[str, Any] | None,
    keep: tuple[str, ...],
    budget_ms: int,
) -> WhyNot:
    """The blockers of `why_not`, plus the solver's closest verified changes (and, for an
    undetermined decision, the single answers that settle it)."""
    import dataclasses

    from .backends import counterfactual

    settlers: tuple = ()
    if decided.status == "undetermined":
        settlers = counterfactual.settlers(policy, assessment, decided.decision, decided.entity, decided.missing, as_of, params, budget_ms)
    if why.chosen:
        return dataclasses.replace(why, settlers=settlers, searched=True)
    search = counterfactual.why_not(policy, assessment, decided.decision, decided.entity, why.outcome, as_of, params, keep, budget_ms)
    return dataclasses.replace(
        why, counterfactuals=search.counterfactuals, search_note=search.note, settlers=settlers, searched=True, search_scope=search.scope,
        search_tried=search.tried,
    )


__all__ = [
    "compile_policy",
    "compile_text",
    "explain",
    "load_assessment",
    "outcomes",
    "parse_params",
    "require_policy",
    "run",
]
