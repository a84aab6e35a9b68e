"""Stage 7: property tests (hypothesis) over random assessments of tests/fixtures/props.strat.

Runs are derandomised (same examples every time) and keep no example database,
so the suite stays deterministic and leaves no files behind.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import fixture_policy
from stratdsl.engine import run
from stratdsl.language.diagnostics import StratError
from stratdsl.render import json_out
from stratdsl.runtime.assessment import parse_data, validate
from stratdsl.runtime.evaluator import evaluate as reference_evaluate
from stratdsl.runtime.result import DECIDED, UNDETERMINED, Result
from stratdsl.runtime.values import Unknown

PROPS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
POLICY = fixture_policy("props.strat")
DATES = st.sampled_from([date(2026, 1, 1), date(2026, 8, 1), date(2026, 8, 2), date(2027, 6, 30)])
ABSENT = object()


def maybe(values):
    """A value, or an unknown answer in one of its three spellings."""
    return st.one_of(values, st.just(None), st.just("unknown"), st.just(ABSENT))


def record(**fields) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not ABSENT})


NUMBER_0_5 = st.decimals(min_value=0, max_value=5, places=2)
USECASE = record(
    impact=maybe(NUMBER_0_5),
    effort=maybe(NUMBER_0_5),
    purpose=maybe(st.sampled_from(["recruitment", "scoring", "other"])),
    profiling=maybe(st.booleans()),
    narrow=maybe(st.booleans()),
    weight=maybe(st.integers(0, 3)),
)
ORGANIZATION = record(headcount=maybe(st.integers(0, 500)), regulated=maybe(st.booleans()))


@st.composite
def assessments(draw) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if draw(st.booleans()):
        data["organization"] = draw(ORGANIZATION)
    usecases = draw(st.lists(USECASE, max_size=5))
    ids = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_.\-]{0,6}", fullmatch=True), min_size=len(usecases), max_size=len(usecases), unique=True
        )
    )
    data["usecases"] = [{"id": ident, **uc} for ident, uc in zip(ids, usecases)]
    return data


def evaluate(data: dict[str, Any], as_of: date, params=None) -> Result:
    return run(POLICY, validate(POLICY, copy.deepcopy(data)), as_of, params)[0]


def as_json(result: Result) -> bytes:
    return json_out.dumps(json_out.result_json(POLICY, result, "en")).encode("utf-8")


def to_yaml(data: dict[str, Any]) -> str:
    """YAML text with decimals written as their digits (what a person would type)."""

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None:
            return "null"
        return str(v)

    lines = []
    if "organization" in data:
        lines.append("organization:")
        lines.extend(f"  {k}: {scalar(v)}" for k, v in data["organization"].items())
        if not data["organization"]:
            lines[-1] += " {}"
    lines.append("usecases:" + ("" if data["usecases"] else " []"))
    for uc in data["usecases"]:
        items = list(uc.items())
        lines.append(f"  - {items[0][0]}: {scalar(items[0][1])}")
        lines.extend(f"    {k}: {scalar(v)}" for k, v in items[1:])
    return "\n".join(lines) + "\n"


# ================================================================== never crash, one outcome each


@PROPS
@given(assessments(), DATES)
def test_evaluation_never_crashes_and_every_decision_is_decided_or_undetermined(data, as_of):
    result = evaluate(data, as_of)
    expected = len(data["usecases"]) * 3 + 2  # three per-use-case decisions, two global ones
    assert len(result.decisions) == expected
    for d in result.decisions:
        outcomes = {o.name for o in POLICY.decisions[d.decision].outcomes}
        assert d.status in (DECIDED, UNDETERMINED)
        if d.status == DECIDED:
            assert d.outcome in outcomes
            assert d.possible == (d.outcome,)
            assert d.missing == ()
            assert d.rule is not None and d.rule.startswith(f"{d.decision}.")
        else:
            assert d.outcome is None and d.rule is None
            assert len(d.possible) >= 2 and set(d.possible) <= outcomes  # settled would be decided
            assert d.missing, d
        fired = [s for s in d.rules if s.status == "fired"]
        assert len(fired) <= 1
    for o in result.obligations:
        assert o.status in ("applies", "possible", "not_applicable", "not_in_force")
        assert bool(o.missing) == (o.status == "possible")


@PROPS
@given(
    st.dictionaries(
        st.sampled_from(["organization", "usecases", "about", "usecase"]),
        st.one_of(
            st.none(),
            st.integers(-3, 3),
            st.text(max_size=3),
            st.lists(
                st.dictionaries(
                    st.sampled_from(["id", "impact", "weight", "purpose", "x"]),
                    st.one_of(st.integers(-9, 9), st.text(max_size=3), st.none()),
                    max_size=3,
                ),
                max_size=3,
            ),
            st.dictionaries(
                st.sampled_from(["headcount", "regulated", "x"]),
                st.one_of(st.integers(-999, 999), st.booleans(), st.text(max_size=3)),
                max_size=2,
            ),
        ),
        max_size=3,
    ),
    DATES,
)
def test_any_data_gives_a_result_or_coded_diagnostics(data, as_of):
    """Outside the schema too: validation reports located, coded problems, never an exception."""
    try:
        result = evaluate(data, as_of)
    except StratError as error:
        assert error.diagnostics
        for d in error.diagnostics:
            assert d.code in ("E302", "E306"), d
            assert d.message
    else:
        assert isinstance(result, Result)


# ================================================================== exact decimals


@PROPS
@given(st.decimals(min_value=0, max_value=5, places=3))
def test_bands_at_and_around_boundaries_are_exact(impact):
    text = f"usecases:\n  - id: u\n    impact: {impact}\n"
    data, _ = parse_data(text, "a.yaml")
    assert data["usecases"][0]["impact"] == impact  # read back exactly, through YAML
    result = run(POLICY, validate(POLICY, data), date(2026, 9, 1))[0]
    band = result.find("level", "u").outcome
    expected = "low" if impact < Decimal("2.5") else "mid" if impact < Decimal("3.5") else "high"
    assert band == expected


@PROPS
@given(st.sampled_from(["2.5", "3.5", "2.50", "3.500", "2.499", "3.499", "2.501", "0", "5", "5.00"]))
def test_band_boundary_literals(text):
    data, _ = parse_data(f"usecases:\n  - {{id: u, impact: {text}}}\n", "a.yaml")
    result = run(POLICY, validate(POLICY, data), date(2026, 9, 1))[0]
    value = Decimal(text)
    assert result.find("level", "u").outcome == ("low" if value < Decimal("2.5") else "mid" if value < Decimal("3.5") else "high")


@PROPS
@given(st.lists(NUMBER_0_5, min_size=1, max_size=5))
def test_sums_are_exact(impacts):
    data = {"usecases": [{"id": f"u{i}", "impact": v} for i, v in enumerate(impacts)]}
    result = evaluate(data, date(2026, 9, 1))
    total = next(v.value for v in result.values if v.definition == "total")
    assert total == sum(impacts, Decimal(0))
    big = next(v.value for v in result.values if v.definition == "big")
    assert big == sum(1 for v in impacts if v >= 3)


# ================================================================== determinism


@settings(PROPS, max_examples=50)
@given(assessments(), DATES)
def test_same_inputs_give_the_same_json_bytes(data, as_of):
    first = as_json(evaluate(data, as_of))
    second = as_json(evaluate(data, as_of))
    assert first == second
    yaml_data, _ = parse_data(to_yaml(data), "a.yaml")
    third = as_json(run(POLICY, validate(POLICY, yaml_data), as_of)[0])
    assert third == first  # the same facts written as YAML text
    json.loads(first)


# ================================================================== unknown facts are handled soundly


FILL = {
    "impact": [Decimal(0), Decimal("2.5"), Decimal(5)],
    "effort": [Decimal(0), Decimal(3), Decimal(5)],
    "purpose": ["recruitment", "scoring", "other"],
    "profiling": [False, True],
    "narrow": [False, True],
    "weight": [0, 2],
    "headcount": [0, 250],
    "regulated": [False, True],
}


@PROPS
@given(assessments(), DATES, st.randoms(use_true_random=False))
def test_filling_in_unknown_facts_stays_within_what_was_possible(data, as_of, rnd):
    """Three-valued logic is sound: a decided outcome survives any answer to the missing
    facts, an undetermined one becomes one of its possible outcomes, and known values stay."""
    partial = evaluate(data, as_of)
    full = copy.deepcopy(data)
    full.setdefault("organization", {})
    for rec in [full["organization"], *full["usecases"]]:
        for name, choices in FILL.items():
            if (rec is full["organization"]) == (name in ("headcount", "regulated")) and rec.get(name) in (None, "unknown"):
                rec[name] = rnd.choice(choices)
    complete = evaluate(full, as_of)
    for d, d2 in zip(partial.decisions, complete.decisions, strict=True):
        assert d2.status == DECIDED
        assert d2.outcome in d.possible, (d, d2)
    for v, v2 in zip(partial.values, complete.values, strict=True):
        if not isinstance(v.value, Unknown):
            assert v.value == v2.value, (v, v2)
    for o, o2 in zip(partial.obligations, complete.obligations, strict=True):
        assert o2.status != "possible"
        if o.status != "possible":
            assert o.status == o2.status, (o, o2)


# ================================================================== the engine agrees with the reference evaluator


@PROPS
@given(assessments(), DATES, st.sampled_from([None, {"threshold": Decimal("2.5")}, {"threshold": Decimal(4)}]))
def test_engine_and_reference_evaluator_agree(data, as_of, params):
    """`engine.run` (compiled when no trace is asked), the traced run behind `explain`, and the
    reference tree-walking evaluator give the same result."""
    facts = validate(POLICY, copy.deepcopy(data))
    plain, _ = run(POLICY, facts, as_of, params)
    traced, tracer = run(POLICY, facts, as_of, params, trace=True)
    reference = reference_evaluate(POLICY, facts, as_of, params)
    assert tracer is not None
    assert plain == reference
    assert traced == reference
