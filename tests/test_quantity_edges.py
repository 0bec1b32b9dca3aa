"""components/quantity.py at its edges: the BinarySI-to-DecimalSI switch below 1 (quantity.go
ParseQuantity: `amount < 1 && amount > 0`, so exactly 1 stays BinarySI), and the exponent range the
model computes (refused past 1000 either way, the edge itself computed)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from components.quantity import QuantityError, canonical, parse


def test_a_binary_amount_below_one_is_read_as_decimal_and_exactly_one_stays_binary() -> None:
    assert parse("0.00048828125Ki") == (Fraction(1, 2), "DecimalSI")  # 0.5
    assert parse("0.0009765625Ki") == (Fraction(1), "BinarySI")  # 1
    assert parse("1Ki") == (Fraction(1024), "BinarySI")


def test_the_exponent_edge_is_computed_and_one_past_it_refused() -> None:
    assert canonical("1e1000") == "10e999"
    assert canonical("1e-1000") == "1e-9"  # rounded up to the nano a quantity holds
    for text, exponent in (("1e1001", 1001), ("1e-1001", -1001)):
        with pytest.raises(QuantityError) as caught:
            canonical(text)
        assert str(caught.value) == f"exponent {exponent} is out of the range this model computes"


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_no_quantity_even_though_python_counts_it_an_int(value: bool) -> None:
    with pytest.raises(QuantityError) as caught:
        canonical(value)
    assert str(caught.value) == f"{value!r} is not a quantity"


@pytest.mark.parametrize("text", ["1e3x", "1e33x", "2Mi3x"])
def test_anything_after_the_exponent_digits_is_refused(text: str) -> None:
    """parseQuantityString stops at the first character past the exponent's digits: one left is an error."""
    with pytest.raises(QuantityError) as caught:
        parse(text)
    assert str(caught.value) == (
        f"{text!r} is not a quantity: must match '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
