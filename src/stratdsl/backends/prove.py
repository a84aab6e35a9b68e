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
from . import budget, remembered, smt
from .remembered import COUNTEREXAMPLE, PROVEN, UNKNOWN


@dataclass(frozen=True)
class Proof:
    assertion: str
    status: str
    seconds: float
    entities: int  # the shape size the answer is for (the largest tried when proven)
    detail: str | None = None  # why unknown
    counterexample: dict[str, Any] | None = None  # assessment data
    entity: str | None = None  # the entity the assertion fails for
    #: a monotone assertion's counterexample is two assessments: `counterexample` (A) and
    #: this one (B), equal but for raised facts, whose target is lower than A's
    raised: dict[str, Any] | None = None
    lowered: tuple[str, str] | None = None  # the target's value in A and in B, as text


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
        # the budget counted in work, as why-not's (backends/budget.py): the same verdict on
        # every machine; the seconds shown are the wall clock's
        with smt.question(), budget.counted(timeout_ms):
            out.append(_prove_one(policy, assertion, as_of, params, max_entities, timeout_ms))
    return out


def _used_ms(origin: float) -> int:
    """Milliseconds of the budget spent since `origin` (`budget.now()`)."""
    return int((budget.now() - origin) * 1000)


#: why an assertion reading `known()` is not proven where its translation is not exact
#: (`smt.loose`): the evaluator settles values there that the solver leaves open, so an
#: assertion false for the evaluator may be unknown for the solver — only a counterexample,
#: which the evaluator confirms, is an answer
NOT_PROVABLE = "it reads whether a computed value is known, which the solver does not settle as the evaluator does: no proof"


def _reads_loose_known(t: smt.Translation, assertion: ir.Assertion) -> bool:
    """Whether the assertion reads a `known(…)` the translation `t` (which has translated
    it) does not translate exactly (`smt.reads_loose_known`)."""
    m = assertion.monotone
    if m is None:
        return smt.reads_loose_known(t, [assertion.expr])
    if m.kind == "decision":
        return smt.reads_loose_known(t, [], m.target)
    return smt.reads_loose_known(t, [t.policy.definitions[m.target].expr])


def _prove_one(policy, assertion, as_of, params, max_entities, timeout_ms) -> Proof:
    if assertion.monotone is not None:
        return _prove_monotone(policy, assertion, as_of, params, max_entities, timeout_ms)
    start = time.perf_counter()
    origin = budget.now()
    sizes = range(1 if assertion.entity_input else 0, max_entities + 1)
    last: int | None = None  # the largest size proven so far
    loose = False  # some size's translation reads a `known()` not translated exactly

    def budget_spent() -> str:
        return "unknown within the time budget" + (f" (proven for up to {last} entities per list)" if last is not None else "")
    for n in sizes:
        if timeout_ms - _used_ms(origin) <= 0:
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
            del decisions
            loose = loose or _reads_loose_known(t, assertion)
            broken = z3.Or(*[z3.And(v.known, z3.Not(v.value)) for _, v in terms]) if terms else z3.BoolVal(False)
            # (in a context of its own, as the monotone assertions: after other searches in the
            # same process, `prohibited_never_selected` on a broken copy took past two minutes)
            answer, model = _fresh_check([*t.domain, *t.safety, broken], max(timeout_ms - _used_ms(origin), 1))
            if answer == z3.unsat:
                break  # proven for this size (the grid run only follows a sat)
            if answer == z3.unknown:
                return Proof(assertion.name, UNKNOWN, time.perf_counter() - start, n, budget_spent())
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
    if loose:
        return Proof(assertion.name, UNKNOWN, time.perf_counter() - start, max_entities, NOT_PROVABLE)
    return Proof(assertion.name, PROVEN, time.perf_counter() - start, last if last is not None else max_entities)


# ------------------------------------------------------------------ monotone (relational) assertions
#
# `monotone TARGET in FACTS` speaks of two assessments at once: the translation is
# made twice over one shape (prefixes A· and B·), every fact not raised is the same in
# both (known or not, and its value), every raised fact is known in both and no lower
# in B; a counterexample is a model where TARGET is known in both and lower in B.


def _raises(m: ir.Monotone, fact: smt.Fact) -> bool:
    return any(
        r.input_name == fact.input_name and r.field_name == fact.field_name and (r.member is None or r.member == fact.entity)
        for r in m.raised
    )


def _rank_of_enum(t: smt.Translation, term: Any, values: tuple[str, ...]) -> Any:
    """An enum value's position in its declaration (the order a monotone assertion reads)."""
    out: Any = z3.IntVal(0)
    for i, v in enumerate(values):
        out = z3.If(term == t.code(v), z3.IntVal(i), out)
    return out


def _no_lower(t: smt.Translation, a: smt.Fact, b: smt.Fact) -> Any:
    from ..language.types import BoolT, EnumT

    if isinstance(a.type, BoolT):
        # the same, said to the arithmetic too: a yes/no counted as 1 or 0 (a maturity
        # score) is then no lower in B at once, where case splits over the booleans
        # would have to rediscover it for every sum (a cardinality argument)
        one, zero = z3.RealVal(1), z3.RealVal(0)
        return z3.And(z3.Implies(a.value, b.value), z3.If(a.value, one, zero) <= z3.If(b.value, one, zero))
    if isinstance(a.type, EnumT):
        return _rank_of_enum(t, a.value, a.type.values) <= _rank_of_enum(t, b.value, a.type.values)
    return a.value <= b.value


def _same(a: smt.Fact, b: smt.Fact) -> list[Any]:
    if isinstance(a.value, dict):
        return [a.known == b.known, *[z3.Implies(a.known, a.value[v] == b.value[v]) for v in a.value]]
    return [a.known == b.known, z3.Implies(a.known, a.value == b.value)]


def _target(t: smt.Translation, m: ir.Monotone, entity: str | None) -> tuple[Any, Any]:
    """(known, rank) of the monotone assertion's target for one entity."""
    if m.kind == "decision":
        term = t.decision(m.target, entity)
        rank: Any = z3.IntVal(0)
        for i, o in enumerate(t.policy.decisions[m.target].outcomes):
            rank = z3.If(term.decided[o.name], z3.IntVal(i), rank)
        return term.settled, z3.ToReal(rank)
    v = t.definition(m.target, entity)
    if v.kind == "bool":
        return v.known, z3.If(v.value, z3.RealVal(1), z3.RealVal(0))
    return v.known, v.value


def _target_value(policy: ir.CheckedPolicy, m: ir.Monotone, assessment: Assessment, entity_id: str | None, as_of: date, params: dict[str, Any]) -> tuple[Any, str] | None:
    """The target as the ordinary evaluator computes it: (rank, text), None when unknown."""
    from ..runtime.values import format_value

    evaluator = Evaluator(policy, assessment, as_of, params)
    entity = None
    if m.entity_input is not None:
        entity = next((e for e in assessment.entities.get(m.entity_input, []) if e.id == entity_id), None)
    if m.kind == "decision":
        d = evaluator.decision(m.target, entity)
        if d.status != "decided":
            return None
        names = [o.name for o in policy.decisions[m.target].outcomes]
        return names.index(d.outcome), d.outcome
    value = evaluator.definition(m.target, entity)
    if isinstance(value, Unknown):
        return None
    return (1 if value else 0) if isinstance(value, bool) else value, format_value(value)


def _linked(t: smt.Translation, m: ir.Monotone, pairs: list[tuple[smt.Fact, smt.Fact]]) -> list[Any]:
    """A's facts against B's: raised ones known in both and no lower in B, others equal."""
    out: list[Any] = []
    for fa, fb in pairs:
        out.extend([fa.known, fb.known, _no_lower(t, fa, fb)] if _raises(m, fa) else _same(fa, fb))
    return out


def _fresh_check(constraints: list[Any], budget_ms: int) -> tuple[Any, Any]:
    """Check simplified constraints in a context of their own: the solver's speed on
    these questions depends on the order in which terms were made (0.4 s or past a
    minute for the same maturity question), and a fresh context makes it the order of
    this question alone. The model comes back in the main context."""
    ctx = z3.Context()
    s = z3.Solver(ctx=ctx)
    s.add(*[z3.simplify(c.translate(ctx)) for c in constraints])
    answer = smt.check(s, budget_ms)
    if answer != z3.sat:
        return answer, None
    return answer, s.model().translate(z3.main_ctx())


def _prove_monotone(policy, assertion, as_of, params, max_entities, timeout_ms) -> Proof:
    m: ir.Monotone = assertion.monotone
    start = time.perf_counter()
    origin = budget.now()
    last: int | None = None
    loose = False  # some size's translation reads a `known()` not translated exactly

    def elapsed() -> float:
        return time.perf_counter() - start

    def budget_spent() -> str:
        return "unknown within the time budget" + (f" (proven for up to {last} entities per list)" if last is not None else "")

    for n in range(1 if assertion.entity_input else 0, max_entities + 1):
        if timeout_ms - _used_ms(origin) <= 0:
            return Proof(assertion.name, UNKNOWN, elapsed(), n, budget_spent())
        for grid in (None, 100):
            try:
                shape = smt.Shape.uniform(policy, n)
                ta = smt.Translation(policy, shape, as_of, params, grid=grid, prefix="A·")
                tb = smt.Translation(policy, shape, as_of, params, grid=grid, prefix="B·")
                assert ta.codes == tb.codes  # one policy, one order of declaration
                tb.codes = ta.codes  # outcomes met later get one code in both copies
                lowered = []
                for e in ta.scope_entities(m.entity_input):
                    ka, ra = _target(ta, m, e)
                    kb, rb = _target(tb, m, e)
                    lowered.append(z3.And(ka, kb, ra > rb))
                loose = loose or _reads_loose_known(ta, assertion)
                goal = z3.Or(*lowered) if lowered else z3.BoolVal(False)
            except smt.Untranslatable as error:
                return Proof(assertion.name, UNKNOWN, elapsed(), n, error.diagnostics[0].message)
            # The question is asked over the facts the target reads (its cone) only: the
            # others (texts among them, whose theory slows the arithmetic down) take part
            # once a counterexample is found, to complete it into two valid assessments.
            names = smt.constants(goal, *ta.safety, *tb.safety)
            # (Sound: the other facts' constraints — each fact's range, A's value against
            # B's — read no fact of the cone and can always be met.)
            cone: list[tuple[smt.Fact, smt.Fact]] = []
            rest: list[tuple[smt.Fact, smt.Fact]] = []
            for path, fa in ta.facts.items():
                fb = tb.facts[path]
                (cone if (smt.fact_names(fa) | smt.fact_names(fb)) & names else rest).append((fa, fb))

            domain = [d for d in (*ta.domain, *tb.domain) if smt.constants(d) & names]
            left = max(timeout_ms - _used_ms(origin), 1)
            answer, model = _fresh_check([*domain, *ta.safety, *tb.safety, *_linked(ta, m, cone), goal], left)
            if answer == z3.unsat:
                break
            if answer == z3.unknown:
                return Proof(assertion.name, UNKNOWN, elapsed(), n, budget_spent())
            if grid is None and not (_all_decimal(ta, model) and _all_decimal(tb, model)):
                continue
            pins = []
            for fa, fb in cone:
                for f in (fa, fb):
                    for var in [f.known, *(f.var.values() if isinstance(f.var, dict) else [f.var])]:
                        pins.append(var == model.evaluate(var, model_completion=True))
            left = max(timeout_ms - _used_ms(origin), 1)
            whole = smt.solver(left)
            whole.add(*ta.domain, *tb.domain, *ta.safety, *tb.safety, *_linked(ta, m, cone), *_linked(ta, m, rest), *pins)
            if smt.check(whole, left) != z3.sat:
                return Proof(assertion.name, UNKNOWN, elapsed(), n, "the solver's counterexample could not be completed into two assessments")
            model = whole.model()
            data_a, data_b = _data(ta, model), _data(tb, model)
            try:
                a = validate(policy, data_a, "before.yaml")
                b = validate(policy, data_b, "after.yaml")
            except StratError:
                return Proof(assertion.name, UNKNOWN, elapsed(), n, "the solver's counterexample is not a valid assessment")
            for e in ta.scope_entities(m.entity_input):
                va = _target_value(policy, m, a, e, as_of, params)
                vb = _target_value(policy, m, b, e, as_of, params)
                if va is not None and vb is not None and va[0] > vb[0]:
                    return Proof(assertion.name, COUNTEREXAMPLE, elapsed(), n, None, data_a, e, data_b, (va[1], vb[1]))
            return Proof(assertion.name, UNKNOWN, elapsed(), n, "the solver's counterexample was not confirmed by the evaluator")
        else:
            return Proof(assertion.name, UNKNOWN, elapsed(), n, "a counterexample exists only with numbers that are not decimals")
        last = n
    if loose:
        return Proof(assertion.name, UNKNOWN, elapsed(), max_entities, NOT_PROVABLE)
    return Proof(assertion.name, PROVEN, elapsed(), last if last is not None else max_entities)


def raised_facts(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The facts a monotone counterexample raises, as `path: old → new` lines."""
    out = []

    def walk(prefix: str, x: Any, y: Any) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in x.keys() | y.keys():
                if k != "id":
                    walk(f"{prefix}.{k}" if prefix else k, x.get(k), y.get(k))
        elif isinstance(x, list) and isinstance(y, list):
            for rx, ry in zip(x, y, strict=False):
                walk(f"{prefix}[{rx.get('id')}]", rx, ry)
        elif x != y:
            out.append(f"{prefix}: {_scalar(x) if x is not None else 'unknown'} → {_scalar(y) if y is not None else 'unknown'}")

    walk("", before, after)
    return sorted(out)


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
        if isinstance(value, list) and not value:
            lines.append(f"{name}: []")
        elif isinstance(value, list):
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


def prove_remembered(policy: ir.CheckedPolicy, as_of: date, max_entities: int, timeout_ms: int) -> list[Any]:
    """`remembered.prove_remembered` with this module's `prove`."""
    return remembered.prove_remembered(policy, as_of, max_entities, timeout_ms, prove)
