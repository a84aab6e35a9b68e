"""Runtime values: canonical forms of decimals (values.normalize) and the limits of `round`.

Numbers hold 28 significant digits (values.CONTEXT), yet an unbounded field or a
division may give an integral value of more digits (10^30, 1 / 10^-999999): its
canonical form is still the plain integer, never an exponent and never an error (B12).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from stratdsl.engine import compile_text
from stratdsl.runtime.values import canonical_json, format_value, normalize, to_json_value


@pytest.mark.parametrize(
    "value, text",
    [
        ("2.50", "2.5"),
        ("7.000", "7"),
        ("0E+5", "0"),
        ("1E+27", "1" + "0" * 27),
        ("9999999999999999999999999999", "9" * 28),
        ("1E+28", "1" + "0" * 28),
        ("1.0E+30", "1" + "0" * 30),
        ("-1E+30", "-1" + "0" * 30),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
        ("0.000001", "0.000001"),
    ],
)
def test_normalize_writes_plain_digits(value, text):
    assert format(normalize(Decimal(value)), "f") == text
    assert format_value(Decimal(value)) == text
    assert to_json_value(Decimal(value)) == text


def test_the_largest_number_has_a_canonical_form():
    text = to_json_value(Decimal("1E+999999"))
    assert len(text) == 1_000_000 and text.startswith("10")
    assert canonical_json({"x": Decimal("1.0E+30")}) == '{"x":"1' + "0" * 30 + '"}'


@pytest.mark.parametrize("places, ok", [("0", True), ("2", True), ("20", True), ("21", False), ("40", False), ("-1", False)])
def test_round_takes_0_to_20_places(places, ok):
    policy, diagnostics = compile_text(f'policy "p" version "1"\ninput o {{ x: number }}\ndefine y label en "y" = round(o.x, {places})\n')
    errors = [d for d in diagnostics if d.is_error]
    assert (policy is not None) == ok, errors
    if not ok:
        assert [d.code for d in errors] == ["E024"]
        assert "0 to 20 decimal places" in errors[0].message
