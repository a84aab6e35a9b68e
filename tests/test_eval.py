"""Stage 5: evaluation (evaluator.py): first match, exceptions, dates, params, bands,
exact decimals, three-valued logic, aggregates, rank and obligations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from helpers import AS_OF, assess, checked, evaluate, fixture_policy, stage_error
from stratdsl.engine import parse_params, run
from stratdsl.runtime.result import DECIDED, UNDETERMINED
from stratdsl.runtime.values import Unknown


@pytest.fixture(scope="module")
def policy():
    return fixture_policy("eval.strat")


def decision(result, name, entity=None):
    found = result.find(name, entity)
    assert found is not None, (name, entity)
    return found


def value(result, name, entity=None):
    return next(v for v in result.values if v.definition == name and v.entity == entity).value


def obligation(result, name, entity=None):
    return next(o for o in result.obligations if o.obligation == name and o.entity == entity)


def one(policy, fields: str, as_of: date = AS_OF, params=None, org: str = ""):
    """Evaluate for a single use case `u` written as a YAML flow mapping body."""
    return evaluate(policy, f"{org}usecases:\n  - {{id: u, {fields}}}\n", as_of, params)


# ================================================================== first match


def test_first_matching_rule_decides(policy):
    result = one(policy, "impact: 4, effort: 2")
    d = decision(result, "quadrant", "u")
    assert (d.status, d.outcome, d.rule) == (DECIDED, "quick_win", "quadrant.quick_win")
    assert [(s.rule, s.status) for s in d.rules] == [
        ("quadrant.quick_win", "fired"),
        ("quadrant.structuring", "not_reached"),
        ("quadrant.secondary", "not_reached"),
        ("quadrant.avoid", "not_reached"),
    ]
    assert [c.text for c in d.cites] == ["Law Art. 1"]


def test_later_rules_decide_when_earlier_ones_are_false(policy):
    d = decision(one(policy, "impact: 1, effort: 2"), "quadrant", "u")
    assert (d.outcome, d.rule) == ("secondary", "quadrant.secondary")
    assert [s.status for s in d.rules] == ["false", "false", "fired", "not_reached"]
    d = decision(one(policy, "impact: 1, effort: 4"), "quadrant", "u")
    assert (d.outcome, d.rule) == ("avoid", "quadrant.avoid")  # otherwise
    assert d.cites == ()


def test_overlapping_rules_first_wins(policy):
    # impact 4 and effort 2 matches quick_win, structuring and secondary: the first one decides
    d = decision(one(policy, "impact: 4, effort: 2"), "quadrant", "u")
    assert d.outcome == "quick_win"


def test_global_decision(policy):
    result = evaluate(policy, "")
    d = decision(result, "gate")
    assert (d.entity, d.entity_path, d.outcome) == (None, None, "strict_mode")


def test_every_entity_gets_its_decisions_in_order(policy):
    result = evaluate(policy, "usecases:\n  - {id: b, impact: 1}\n  - {id: a, impact: 2}\n")
    assert [d.entity for d in result.decisions if d.decision == "quadrant"] == ["b", "a"]
    assert result.entities["usecases"] == ["b", "a"]


# ================================================================== exceptions


def test_exception_sets_the_rule_aside_and_the_walk_goes_on(policy):
    d = decision(one(policy, "purpose: recruitment, narrow: true, profiling: false"), "risk", "u")
    assert (d.status, d.outcome, d.rule) == (DECIDED, "limited", "risk.limited")
    high = d.rules[0]
    assert (high.rule, high.status, high.exception) == ("risk.high", "excepted", "risk.high.unless1")
    # the exception's citation explains why the stricter rule did not apply
    assert [c.text for c in d.cites] == ["Law Art. 6(3)"]


def test_exception_not_applying(policy):
    d = decision(one(policy, "purpose: recruitment, narrow: true, profiling: true"), "risk", "u")
    assert (d.outcome, d.rule) == ("high", "risk.high")
    assert [c.text for c in d.cites] == ["Law Annex III"]


def test_unknown_exception_keeps_both_outcomes_possible(policy):
    d = decision(one(policy, "purpose: recruitment, narrow: true"), "risk", "u")
    assert d.status == UNDETERMINED
    assert d.possible == ("high", "limited")
    assert d.missing == ("usecases[u].profiling",)
    assert (d.rules[0].status, d.rules[0].exception) == ("exception_unknown", "risk.high.unless1")


def test_exception_that_is_false_because_of_a_known_part(policy):
    # `narrow and not profiling` is false as soon as narrow is false, whatever profiling is
    d = decision(one(policy, "purpose: recruitment, narrow: false"), "risk", "u")
    assert (d.status, d.outcome) == (DECIDED, "high")


# ================================================================== effective dating


@pytest.mark.parametrize(
    ("as_of", "outcome", "status"),
    [
        (date(2026, 8, 1), "limited", "not_in_force"),  # the day before `from`
        (date(2026, 8, 2), "high", "fired"),  # `from` is inclusive
        (date(2026, 12, 31), "high", "fired"),
        (date(2027, 1, 1), "limited", "not_in_force"),  # `until` is exclusive
        (date(2030, 1, 1), "limited", "not_in_force"),
    ],
)
def test_rules_are_in_force_from_inclusive_until_exclusive(policy, as_of, outcome, status):
    result = one(policy, "purpose: recruitment, narrow: false", as_of=as_of)
    d = decision(result, "risk", "u")
    assert d.outcome == outcome
    assert d.rules[0].status == status
    assert result.as_of == as_of


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        (date(2026, 8, 1), "not_in_force"),
        (date(2026, 8, 2), "applies"),
        (date(2026, 12, 31), "applies"),
        (date(2027, 1, 1), "not_in_force"),
    ],
)
def test_obligations_are_dated_too(policy, as_of, status):
    result = evaluate(policy, "organization: {headcount: 50, regulated: true}\n", as_of)
    assert obligation(result, "register").status == status


def test_date_parameters_move_the_dates(policy):
    params = parse_params(policy, ["start=2026-01-01"])
    assert params == {"start": date(2026, 1, 1)}
    d = decision(one(policy, "purpose: recruitment, narrow: false", as_of=date(2026, 3, 1), params=params), "risk", "u")
    assert d.outcome == "high"


# ================================================================== parameters


def test_parameter_defaults_and_overrides(policy):
    result = one(policy, "impact: 4, effort: 2")
    assert decision(result, "quadrant", "u").outcome == "quick_win"
    assert [(p.name, p.value, p.overridden) for p in result.params] == [
        ("threshold", Decimal(3), False),
        ("start", date(2026, 8, 2), False),
        ("end", date(2027, 1, 1), False),
        ("mode", "strict", False),
    ]
    overridden = one(policy, "impact: 4, effort: 2", params=parse_params(policy, ["threshold=4.5", "mode=lax"]))
    assert decision(overridden, "quadrant", "u").outcome == "secondary"
    assert decision(overridden, "gate").outcome == "lax_mode"
    assert [(p.name, p.overridden) for p in overridden.params if p.overridden] == [("threshold", True), ("mode", True)]
    assert next(p.value for p in overridden.params if p.name == "threshold") == Decimal("4.5")


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("threshold", "--param 'threshold' must be written name=value", None),
        ("thresold=4", "unknown parameter 'thresold'", "did you mean 'threshold'?"),
        ("threshold=abc", "--param threshold: 'abc' is not a number", None),
        ("threshold=NaN", "--param threshold: 'NaN' is not a number", None),
        ("start=2026-02-30", "--param start: '2026-02-30' is not a date", None),
        ("mode=strikt", "--param mode: 'strikt' is not one of: strict, lax", "did you mean 'strict'?"),
    ],
)
def test_bad_parameter_overrides(policy, text, message, hint):
    (d,) = stage_error(parse_params, policy, [text])
    assert (d.code, d.message, d.hint) == ("E304", message, hint)


# ================================================================== bands


@pytest.mark.parametrize(
    ("impact", "band"),
    [
        ("0", "low"),
        ("2.49", "low"),
        ("2.4999999", "low"),
        ("2.5", "mid"),  # 2.5 is in [2.5, 3.5)
        ("2.50", "mid"),
        ("3.4999", "mid"),
        ("3.5", "high"),
        ("5", "high"),  # `to 5` includes 5
    ],
)
def test_bands_at_exact_boundaries(policy, impact, band):
    d = decision(one(policy, f"impact: {impact}"), "level", "u")
    assert (d.status, d.outcome, d.rule) == (DECIDED, band, f"level.{band}")


def test_unknown_band_value_is_undetermined(policy):
    d = decision(one(policy, "effort: 1"), "level", "u")
    assert d.status == UNDETERMINED
    assert d.possible == ("low", "mid", "high")
    assert d.missing == ("usecases[u].impact",)


# ================================================================== exact decimals


def test_point_one_plus_point_two_is_point_three(policy):
    result = one(policy, "a: 0.1, b: 0.2")
    assert value(result, "total", "u") == Decimal("0.3")
    # with binary floats 0.1 + 0.2 > 0.3 and this rule would not apply
    assert decision(result, "exact", "u").outcome == "yes"
    assert decision(one(policy, "a: 0.1, b: 0.21"), "exact", "u").outcome == "no"


EXPR_POLICY = """
policy "expr" version "1"
input usecases: many usecase {{ x: number  y: number  p: bool  q: bool  t: list of enum {{a, b}} }}
define v for each usecase label en "v" = {expr}
"""


def expr_value(expr: str, fields: str = ""):
    policy = checked(EXPR_POLICY.format(expr=expr))
    return value(evaluate(policy, f"usecases:\n  - {{id: u, {fields}}}\n"), "v", "u")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("0.1 + 0.2", "0.3"),
        ("x + y", "0.3"),
        ("x * 3", "0.3"),
        ("1 / 4", "0.25"),
        ("10 / 4", "2.5"),
        ("2 / 3", "0.6666666666666666666666666667"),  # 28 significant digits, half-even
        ("round(2.5)", "3"),  # round() is half-up
        ("round(3.5)", "4"),
        ("round(-2.5)", "-3"),
        ("round(0.125, 2)", "0.13"),
        ("round(1.005, 2)", "1.01"),
        ("floor(-1.5)", "-2"),
        ("ceil(1.1)", "2"),
        ("abs(-0.1)", "0.1"),
        ("min(x, y, 0.15)", "0.1"),
        ("max(x, y, 0.15)", "0.2"),
        ("-x", "-0.1"),
        ("size(t)", "2"),
    ],
)
def test_arithmetic_is_exact(expr, expected):
    assert expr_value(expr, "x: 0.1, y: 0.2, t: [a, b]") == Decimal(expected)


def test_decimal_comparisons_ignore_trailing_zeros():
    assert expr_value("x = 2.5", "x: 2.50") is True
    assert expr_value("x between 2.5 and 3", "x: 2.5") is True
    assert expr_value("x between 2.5 and 3", "x: 3.0") is True
    assert expr_value("x between 2.5 and 3", "x: 3.01") is False


def test_division_by_zero_is_e201():
    policy = checked(EXPR_POLICY.format(expr="x / y"))
    (d,) = stage_error(evaluate, policy, "usecases:\n  - {id: u, x: 1, y: 0}\n")
    assert d.code == "E201"
    assert d.message == "division by zero for usecases[u]"
    assert (d.span.line, d.span.column) == (3, 42)
    assert d.hint == "guard the division in the policy: if DIVISOR > 0 then … else …"


def test_guarded_division_and_unknown_divisor():
    assert expr_value("if y > 0 then x / y else 0", "x: 1, y: 0") == Decimal(0)
    assert expr_value("y > 0 and x / y > 1", "x: 1, y: 0") is False  # `and` stops at the first false
    assert isinstance(expr_value("x / y", "x: 1"), Unknown)


# ================================================================== three-valued logic


@pytest.mark.parametrize(
    ("expr", "fields", "expected"),
    [
        ("p and q", "p: false", False),  # false and unknown = false
        ("q and p", "p: false", False),
        ("p and q", "p: true", None),  # true and unknown = unknown
        ("p or q", "p: true", True),  # true or unknown = true
        ("q or p", "p: true", True),
        ("p or q", "p: false", None),  # false or unknown = unknown
        ("not q", "", None),
        ("not p", "p: false", True),
        ("x > 1 and p", "x: 0", False),
        ("x > 1 or p", "x: 2", True),
        ("x in {1, 2} or p", "", None),
        ("a in t", "", None),
        ("a not in t", "t: [b]", True),
        ("known(x)", "", False),  # known() is always true or false
        ("known(x)", "x: 1", True),
        ("if p then 1 else 1", "", Decimal(1)),  # both branches agree: the condition does not matter
        ("if p then 1 else 2", "", None),
        ("x = y", "x: 1", None),
    ],
)
def test_kleene_logic(expr, fields, expected):
    result = expr_value(expr, fields)
    if expected is None:
        assert isinstance(result, Unknown)
    else:
        assert result == expected and type(result) is type(expected)


def test_unknown_remembers_the_missing_facts():
    result = expr_value("(x + y > 1) and p", "")
    assert result == Unknown(frozenset({"usecases[u].x", "usecases[u].y", "usecases[u].p"}))


# ================================================================== undetermined and settled


def test_undetermined_lists_possible_outcomes_and_missing_facts(policy):
    d = decision(one(policy, "effort: 2"), "quadrant", "u")
    assert d.status == UNDETERMINED
    assert (d.outcome, d.rule) == (None, None)
    assert d.possible == ("quick_win", "structuring", "secondary")
    assert d.missing == ("usecases[u].impact",)
    assert [s.status for s in d.rules] == ["unknown", "unknown", "fired", "not_reached"]
    assert d.rules[0].missing == ("usecases[u].impact",)


def test_only_the_facts_that_matter_are_missing(policy):
    # impact < 3 makes both impact rules false; what is left to know is effort
    d = decision(one(policy, "impact: 1"), "quadrant", "u")
    assert d.status == UNDETERMINED
    assert d.possible == ("secondary", "avoid")
    assert d.missing == ("usecases[u].effort",)
    d = decision(one(policy, "impact: 4, effort: 1"), "quadrant", "u")
    assert d.status == DECIDED


def test_settled_when_every_possible_outcome_agrees(policy):
    d = decision(one(policy, "flag: true"), "settle", "u")  # impact unknown: rule 1 may fire, rule 2 fires: both high
    assert (d.status, d.outcome, d.rule) == (DECIDED, "high", "settle.high_2")
    assert [s.status for s in d.rules] == ["unknown", "fired", "not_reached"]
    d = decision(one(policy, ""), "split", "u")  # no rule certainly fires, but both give `big`
    assert (d.status, d.outcome) == (DECIDED, "big")
    d = decision(one(policy, "flag: false"), "settle", "u")
    assert (d.status, d.possible) == (UNDETERMINED, ("high", "low"))


def test_an_undetermined_decision_is_unknown_where_it_is_read(policy):
    result = one(policy, "purpose: recruitment, narrow: true")  # risk is undetermined
    o = obligation(result, "oversight", "u")
    assert o.status == "possible"
    assert o.missing == ("usecases[u].profiling",)


# ================================================================== aggregates


THREE = """
usecases:
  - {id: u1, impact: 4, effort: 1, weight: 1, flag: true, purpose: recruitment}
  - {id: u2, impact: 2.5, effort: 2, weight: 3, flag: false, purpose: other}
  - {id: u3, impact: 3.5, effort: 4, weight: 0, flag: false, purpose: scoring}
"""


def test_aggregates_over_known_facts(policy):
    result = evaluate(policy, THREE)
    assert value(result, "n") == Decimal(3)
    assert value(result, "n_big") == Decimal(2)
    assert value(result, "s") == Decimal(10)
    assert value(result, "s_big_effort") == Decimal(5)
    assert value(result, "avg") == Decimal(10) / Decimal(3)
    assert value(result, "wavg") == Decimal("2.875")  # (4×1 + 2.5×3 + 3.5×0) / 4
    assert value(result, "lo") == Decimal("2.5")
    assert value(result, "hi") == Decimal(4)
    assert value(result, "any_flag") is True
    assert value(result, "all_flag") is False
    assert value(result, "any_rec_flag") is True


def test_aggregates_over_no_entity(policy):
    result = evaluate(policy, "usecases: []\n")
    assert value(result, "n") == Decimal(0)
    assert value(result, "s") == Decimal(0)
    assert value(result, "any_flag") is False
    assert value(result, "all_flag") is True
    assert isinstance(value(result, "avg"), Unknown)  # no mean of nothing
    assert isinstance(value(result, "lo"), Unknown)


def test_unknown_only_when_it_matters(policy):
    result = evaluate(
        policy,
        """
        usecases:
          - {id: u1, impact: 4, effort: 1, flag: true}
          - {id: u2, impact: 1}
        """,
    )
    assert value(result, "any_flag") is True  # one true is enough
    assert isinstance(value(result, "all_flag"), Unknown)
    assert value(result, "n") == Decimal(2)
    assert value(result, "n_big") == Decimal(1)
    assert value(result, "s_big_effort") == Decimal(1)  # u2's unknown effort is filtered out by where
    assert value(result, "s") == Decimal(5)
    result = evaluate(policy, "usecases:\n  - {id: u1, flag: false}\n  - {id: u2}\n")
    assert value(result, "all_flag") is False  # one false is enough
    assert isinstance(value(result, "any_flag"), Unknown)
    n_big = value(result, "n_big")
    # both `where impact >= 3` are unknown: the count is 0, 1 or 2 (every completion of the two
    # impacts gives one of them), still unknown with the same missing facts
    assert n_big == Unknown(frozenset({"usecases[u1].impact", "usecases[u2].impact"}), frozenset(map(Decimal, (0, 1, 2))))
    assert isinstance(value(result, "s"), Unknown)


def test_where_with_an_unknown_condition(policy):
    # purpose unknown: u2 may or may not count in any(… where purpose = recruitment)
    result = evaluate(policy, "usecases:\n  - {id: u1, purpose: other, flag: true}\n  - {id: u2, flag: true}\n")
    assert isinstance(value(result, "any_rec_flag"), Unknown)
    result = evaluate(policy, "usecases:\n  - {id: u1, purpose: recruitment, flag: true}\n  - {id: u2, flag: true}\n")
    assert value(result, "any_rec_flag") is True


def test_weighted_mean_with_zero_weights_is_unknown(policy):
    result = evaluate(policy, "usecases:\n  - {id: u1, impact: 1, weight: 0}\n")
    assert isinstance(value(result, "wavg"), Unknown)


# ================================================================== rank


def test_rank_orders_and_breaks_ties_by_id(policy):
    result = evaluate(
        policy,
        """
        usecases:
          - {id: b, impact: 3, effort: 1}
          - {id: a, impact: 3, effort: 2}
          - {id: c, impact: 5, effort: 3}
          - {id: d, impact: 1, effort: 0}
        """,
    )
    assert [value(result, "pos", e) for e in "abcd"] == [Decimal(2), Decimal(3), Decimal(1), Decimal(4)]
    # second key effort asc decides a/b; d fails `where impact >= 2` and gets 0
    assert [value(result, "pos2", e) for e in "abcd"] == [Decimal(3), Decimal(2), Decimal(1), Decimal(0)]


def test_rank_ties_on_every_key_use_the_id(policy):
    result = evaluate(policy, "usecases:\n  - {id: z, impact: 3, effort: 1}\n  - {id: m, impact: 3, effort: 1}\n")
    assert (value(result, "pos2", "m"), value(result, "pos2", "z")) == (Decimal(1), Decimal(2))


def test_rank_with_an_unknown_key_is_unknown(policy):
    result = evaluate(policy, "usecases:\n  - {id: a, impact: 3}\n  - {id: b}\n")
    assert isinstance(value(result, "pos", "a"), Unknown)
    assert isinstance(value(result, "pos", "b"), Unknown)


# ================================================================== obligations


def test_obligation_statuses(policy):
    result = evaluate(
        policy,
        """
        usecases:
          - {id: applies, purpose: recruitment, narrow: false}
          - {id: not_applicable, purpose: other}
          - {id: possible, purpose: recruitment, narrow: true}
        """,
    )
    assert [(o.entity, o.status) for o in result.obligations if o.obligation == "oversight"] == [
        ("applies", "applies"),
        ("not_applicable", "not_applicable"),
        ("possible", "possible"),
    ]
    assert obligation(result, "oversight", "possible").missing == ("usecases[possible].profiling",)
    # the decisions an obligation reads are told about it when it applies or may apply
    assert decision(result, "risk", "applies").obligations == ("oversight",)
    assert decision(result, "risk", "possible").obligations == ("oversight",)
    assert decision(result, "risk", "not_applicable").obligations == ()
    early = evaluate(policy, "usecases:\n  - {id: x, purpose: recruitment, narrow: false}\n", date(2026, 1, 1))
    assert obligation(early, "oversight", "x").status == "not_in_force"


def test_global_obligation_with_unknown_facts(policy):
    result = evaluate(policy, "organization: {headcount: 10}\n")
    assert obligation(result, "register").status == "not_applicable"  # headcount < 50 settles it
    result = evaluate(policy, "organization: {headcount: 60}\n")
    o = obligation(result, "register")
    assert (o.status, o.missing) == ("possible", ("organization.regulated",))


# ================================================================== determinism


def test_evaluation_is_repeatable(policy):
    facts = assess(policy, THREE)
    first, _ = run(policy, facts, AS_OF)
    second, _ = run(policy, facts, AS_OF)
    assert first == second


def test_reading_an_undetermined_decision_uses_its_possible_outcomes():
    policy = checked(
        """
        policy "p" version "1"
        input usecases: many usecase { p: bool  q: bool }
        decision risk for each usecase {
          high when p
          limited when q
          otherwise minimal
        }
        define not_minimal for each usecase label en "n" = risk != minimal
        define minimal_ for each usecase label en "m" = risk = minimal
        """
    )
    result = evaluate(policy, "usecases:\n  - {id: u, q: true}\n")
    assert decision(result, "risk", "u").possible == ("high", "limited")
    assert value(result, "not_minimal", "u") is True
    assert value(result, "minimal_", "u") is False
