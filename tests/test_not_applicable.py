"""`not applicable "raison" en "reason"`: a value of every type that does not exist.

Syntax (with the formatter's round trip), checking (E027 where an operation on it is
visible in the text), evaluation in both evaluators (n/a propagates through
arithmetic and functions, a comparison with it is false, a truth position counts it
as false, aggregates skip it, rank puts it last, `is applicable` tests it, unknown
stays distinct), rendering (text, JSON, explanation) and the CLI end to end.
"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal

import pytest

from helpers import checked, codes, errors_of, evaluate, expr_of, stratdsl_command
from stratdsl.language import ast, ir
from stratdsl.language.fmt import format_text
from stratdsl.render.json_out import result_json
from stratdsl.render.text import render_result
from stratdsl.runtime.values import Unknown

POLICY = """
policy "p" version "1"
input co {
  gain: number
  cost: number
  flag: bool
}
input ucs: many uc { net: number  wait: number }
define payback label fr "Retour" en "Payback" =
  if co.gain > 0 then co.cost / co.gain else not applicable "pas de retour" en "no return"
define doubled label en "doubled" = round(payback * 2, 1) + 1
define has label en "has" = payback is applicable
define hasnt label en "hasnt" = payback is not applicable
define quick label en "quick" = payback <= 12
define slow label en "slow" = not (payback <= 12)
define eq label en "eq" = payback = payback
define flagged label en "flagged" = if co.flag then true else not applicable "pas de drapeau" en "no flag"
define either label en "either" = flagged or co.gain > 100
define guarded label en "guarded" = if payback is applicable then payback else 0
define uc_payback for each uc label en "uc payback" =
  if net > 0 then wait / net else not applicable "pas de retour" en "no return"
define total label en "total" = sum(uc, uc_payback)
define counted label en "counted" = count(uc where uc_payback < 100)
define average label en "average" = mean(uc, uc_payback)
define order for each uc label en "order" = rank(uc by uc_payback)
decision speed {
  fast when payback <= 12
  never when flagged
  otherwise slow
}
"""

ANSWERS_NONE = """
co: {gain: 0, cost: 10, flag: false}
ucs:
  - {id: a, net: 0, wait: 5}
  - {id: b, net: 2, wait: 4}
  - {id: c, net: 4, wait: 4}
"""


def _values(result) -> dict:
    return {(v.definition, v.entity): v.value for v in result.values}


# ------------------------------------------------------------------ syntax


def test_the_literal_reads_like_an_inline_label_and_the_test_like_a_comparison():
    literal = expr_of('not applicable "pas de retour" en "no return"')
    assert isinstance(literal, ast.NotApplicable)
    assert (literal.reason.fr, literal.reason.en) == ("pas de retour", "no return")
    english_first = expr_of('not applicable "no return" fr "pas de retour"')
    assert (english_first.reason.fr, english_first.reason.en) == ("pas de retour", "no return")
    test = expr_of("x is not applicable and y is applicable")
    assert isinstance(test, ast.And)
    assert [(i.negated, i.operand.dotted) for i in test.items] == [(True, "x"), (False, "y")]
    # `not` stays the negation, and a name may still be called `applicable`'s neighbours
    assert isinstance(expr_of("not x"), ast.Not)
    assert isinstance(expr_of("not_applicable"), ast.Path)


def test_the_formatter_writes_it_back_unchanged():
    source = (
        'policy "p" version "1"\n\ninput co {\n  gain: number\n}\n\n'
        'define payback =\n  if co.gain > 0 then 1 / co.gain else not applicable "pas de retour" en "no return"\n\n'
        "define has = payback is not applicable\n"
    )
    once = format_text(source, "t.strat")
    assert format_text(once, "t.strat") == once
    assert 'not applicable "pas de retour" en "no return"' in once
    assert "payback is not applicable" in once


# ------------------------------------------------------------------ checking


def test_it_is_a_member_of_every_type_in_an_if():
    policy = checked(POLICY)
    payback = policy.definitions["payback"].expr
    assert payback.type.describe() == "number" and payback.na
    assert policy.definitions["flagged"].expr.type.describe() == "bool"
    assert not policy.definitions["has"].expr.na
    assert not policy.definitions["quick"].expr.na
    assert policy.definitions["doubled"].expr.na
    # an enum symbol in the other branch still resolves against the expected type
    enum_policy = checked(
        """
        policy "p" version "1"
        enum level { low high }
        input co { level: level }
        decision d {
          yes when (if co.level = high then co.level else not applicable "x") = high
          otherwise no
        }
        """
    )
    assert "d" in enum_policy.decisions


@pytest.mark.parametrize(
    "body",
    [
        'not applicable "x" + 1',
        '-(not applicable "x")',
        'not applicable "x" < 3',
        'round(not applicable "x")',
        'not (not applicable "x")',
        'never + 1',
        'never = 2',
        'co.gain between never and 3',
    ],
)
def test_an_operation_on_a_value_that_is_never_applicable_is_e027(body):
    diagnostics = errors_of(
        f"""
        policy "p" version "1"
        input co {{ gain: number }}
        define never = not applicable "jamais" en "never"
        define x label en "x" = {body}
        """
    )
    assert "E027" in codes(diagnostics)
    e027 = next(d for d in diagnostics if d.code == "E027")
    assert "never applicable" in e027.message and "is applicable" in e027.hint


def test_a_condition_that_is_never_applicable_is_e027():
    diagnostics = errors_of(
        """
        policy "p" version "1"
        input co { gain: number }
        decision d {
          yes when not applicable "x"
          otherwise no
        }
        """
    )
    assert codes(diagnostics) == ["E027"]


# ------------------------------------------------------------------ evaluation


def test_no_return_is_not_applicable_in_both_evaluators():
    policy = checked(POLICY)
    result = evaluate(policy, ANSWERS_NONE)  # the helper also checks the reference evaluator agrees
    values = _values(result)
    na = values[("payback", None)]
    assert isinstance(na, ir.NotApplicable) and (na.fr, na.en) == ("pas de retour", "no return")
    assert values[("doubled", None)] == na  # propagates through arithmetic and round()
    assert values[("has", None)] is False and values[("hasnt", None)] is True
    assert values[("quick", None)] is False  # a comparison with n/a is false ...
    assert values[("slow", None)] is True  # ... so its negation is true: test `is applicable` first
    assert values[("eq", None)] is False
    assert values[("guarded", None)] == Decimal(0)
    assert isinstance(values[("flagged", None)], ir.NotApplicable)
    assert values[("either", None)] is False  # n/a counts as false in a truth position
    # aggregates skip the members whose value is n/a; rank puts them last
    assert values[("total", None)] == Decimal(3)
    assert values[("counted", None)] == Decimal(2)
    assert values[("average", None)] == Decimal("1.5")
    assert [values[("order", e)] for e in ("a", "b", "c")] == [Decimal(3), Decimal(2), Decimal(1)]
    speed = next(d for d in result.decisions if d.decision == "speed")
    assert speed.outcome == "slow"  # neither `payback <= 12` nor an n/a `flagged` fires
    assert [s.status for s in speed.rules] == ["false", "false", "fired"]


def test_an_applicable_value_is_computed_as_before():
    policy = checked(POLICY)
    result = evaluate(policy, "co: {gain: 5, cost: 10, flag: true}\nucs: []\n")
    values = _values(result)
    assert values[("payback", None)] == Decimal(2)
    assert values[("doubled", None)] == Decimal(5)
    assert values[("has", None)] is True and values[("quick", None)] is True
    assert values[("eq", None)] is True
    assert values[("total", None)] == Decimal(0)
    assert next(d for d in result.decisions if d.decision == "speed").outcome == "fast"


def test_unknown_is_not_not_applicable():
    policy = checked(POLICY)
    result = evaluate(policy, "co: {cost: 10, flag: false}\nucs: []\n")
    values = _values(result)
    assert isinstance(values[("payback", None)], Unknown)  # not answered yet
    assert isinstance(values[("has", None)], Unknown)
    speed = next(d for d in result.decisions if d.decision == "speed")
    assert speed.status == "undetermined" and "co.gain" in speed.missing


def test_an_unknown_that_may_only_be_not_applicable_settles_is_applicable():
    policy = checked(
        """
        policy "p" version "1"
        input co { gain: number  flag: bool }
        define v label en "v" = if co.flag then not applicable "a" else not applicable "a"
        define w label en "w" = if co.flag then 3 else not applicable "a"
        define v_app label en "v_app" = if co.flag then (if co.gain > 0 then 1 else 2) else 3
        define w_app label en "w_app" = w is applicable
        define w_plus label en "w_plus" = w + 1
        define w_cmp label en "w_cmp" = w > 10
        """
    )
    values = _values(evaluate(policy, "co: {gain: 1}\n"))
    assert isinstance(values[("v", None)], ir.NotApplicable)  # equal branches settle it
    assert isinstance(values[("w_app", None)], Unknown)
    assert values[("w_cmp", None)] is False  # 3 > 10 and n/a > 10 are both false
    plus = values[("w_plus", None)]
    assert isinstance(plus, Unknown) and Decimal(4) in plus.possible


# ------------------------------------------------------------------ rendering


def test_text_shows_a_dash_and_the_reason_never_zero():
    policy = checked(POLICY)
    result = evaluate(policy, ANSWERS_NONE)
    english = render_result(policy, result, "en")
    french = render_result(policy, result, "fr")
    assert "payback = — (not applicable: no return)" in english
    assert "payback = — (sans objet : pas de retour)" in french
    assert "payback = 0" not in english


def test_json_gives_null_and_the_reason_in_both_languages():
    policy = checked(POLICY)
    data = result_json(policy, evaluate(policy, ANSWERS_NONE), "en")
    payback = next(v for v in data["values"] if v["definition"] == "payback")
    assert payback["value"] is None and payback["known"] is True
    assert payback["not_applicable"] == {"fr": "pas de retour", "en": "no return"}
    has = next(v for v in data["values"] if v["definition"] == "has")
    assert "not_applicable" not in has


def test_eval_and_explain_end_to_end(tmp_path):
    policy = tmp_path / "p.strat"
    policy.write_text(POLICY.replace("\n        ", "\n"), encoding="utf-8")
    answers = tmp_path / "a.yaml"
    answers.write_text(ANSWERS_NONE, encoding="utf-8")
    text = subprocess.run([*stratdsl_command(), "eval", str(policy), str(answers), "--lang", "en"], capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    assert "payback = — (not applicable: no return)" in text.stdout
    data = subprocess.run([*stratdsl_command(), "eval", str(policy), str(answers), "--format", "json"], capture_output=True, text=True)
    payback = next(v for v in json.loads(data.stdout)["values"] if v["definition"] == "payback")
    assert payback["not_applicable"]["fr"] == "pas de retour"
    why = subprocess.run(
        [*stratdsl_command(), "explain", str(policy), str(answers), "speed", "--lang", "fr"], capture_output=True, text=True
    )
    assert why.returncode == 0, why.stderr
    assert "payback (— (sans objet : pas de retour)) <= 12" in why.stdout
