"""Kubernetes quantities as the API server stores them: its canonical form.

The API server decodes every quantity field (`resources.requests.cpu`, a LimitRange's `max`, an
HPA target's `averageValue`, an emptyDir's `sizeLimit`, …) into a ``resource.Quantity`` and writes
it back canonical: ``0.25`` is stored as ``250m``, ``1024Mi`` as ``1Gi``, ``1000`` as ``1k``. What
the program sends is rendered canonical too (:func:`canonical`), so what it sends is what is
stored: a render, a diff and a stack policy read the value the cluster holds, and no comparison
of sent with stored can differ over spelling (offline.apiserver's second-`up` check).

A port of k8s.io/apimachinery ``pkg/api/resource`` at v0.34.10 (the clusters run Kubernetes 1.34):
``ParseQuantity`` and ``parseQuantityString`` (quantity.go), ``CanonicalizeBytes`` with
``AsCanonicalBytes``/``AsCanonicalBase1024Bytes`` and ``removeInt64Factors`` (amount.go, math.go),
and the suffix tables (suffix.go), in exact rational arithmetic where Go switches between an
int64 and an ``inf.Dec``. tests/test_quantity.py holds the package's own test tables
(quantity_test.go: TestQuantityParse, TestQuantityString, TestQuantityParseEmit).
"""

from __future__ import annotations

from fractions import Fraction

SOURCE = "kubernetes/apimachinery pkg/api/resource (quantity.go, amount.go, math.go, suffix.go) @ v0.34.10"

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

# suffix.go newSuffixer: decimal suffixes (base 10) and binary suffixes (base 2) by exponent.
DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {e: s for s, e in DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXPONENT = {e: s for s, e in BINARY_SUFFIXES.items()}
_SUFFIX_CHARS = "eEinumkKMGTP"
_DIGITS = "0123456789"
NANO = Fraction(1, 10**9)  # the smallest amount a quantity holds: values round up to it
MAX_ALLOWED = 2**63 - 1  # a BinarySI amount is capped here (quantity.go maxAllowed)
MAX_EXPONENT = 1000  # beyond what any field holds; refused rather than computed


class QuantityError(ValueError):
    """Not a quantity the API server would accept."""


def _split(text: str) -> tuple[bool, str, str, str]:
    """``parseQuantityString``: sign, numerator (leading zeros stripped), denominator, suffix."""
    positive, pos, end = True, 0, len(text)
    if pos < end and text[0] in "+-":
        positive = text[0] == "+"
        pos += 1
    while pos < end and text[pos] == "0":  # leading zeros
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(f"{text!r} is not a quantity: must match '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    return positive, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """suffix.go ``interpret``: (base, exponent, format) of a suffix."""
    if suffix in DECIMAL_SUFFIXES:
        return 10, DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in BINARY_SUFFIXES:
        return 2, BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[:1] in ("+", "-") else digits
        if body and all(c in _DIGITS for c in body):
            exponent = int(digits)
            if abs(exponent) > MAX_EXPONENT:
                raise QuantityError(f"exponent {exponent} is out of the range this model computes")
            return 10, exponent, DECIMAL_EXPONENT
    raise QuantityError(f"unable to parse quantity's suffix {suffix!r}")


def _round_up(value: Fraction) -> Fraction:
    """inf.RoundUp to nano (9 decimal places), away from zero."""
    scaled = value / NANO
    whole = scaled.numerator // scaled.denominator
    if whole != scaled:
        whole += 1
    return whole * NANO


def parse(text: str) -> tuple[Fraction, str]:
    """``ParseQuantity``: the exact value and the format (DecimalSI, BinarySI, DecimalExponent)."""
    if not isinstance(text, str) or not text:
        raise QuantityError(f"{text!r} is not a quantity")
    if text == "0":
        return Fraction(0), DECIMAL_SI
    positive, num, denom, suffix = _split(text)
    base, exponent, fmt = _interpret(suffix)
    amount = Fraction(int(num + denom), 10 ** len(denom))
    amount *= Fraction(base) ** exponent
    if amount != 0:
        amount = _round_up(amount)
    if fmt == BINARY_SI and amount > MAX_ALLOWED:
        amount = Fraction(MAX_ALLOWED)
    if fmt == BINARY_SI and 0 < amount < 1:
        fmt = DECIMAL_SI
    return (amount if positive else -amount), fmt


def _remove_factors(value: int, factor: int) -> tuple[int, int]:
    """math.go ``removeInt64Factors``: value without the factors, and how many were removed."""
    negative, result, times = value < 0, abs(value), 0
    while result >= factor and result % factor == 0:
        result //= factor
        times += 1
    return (-result if negative else result), times


def format_quantity(value: Fraction, fmt: str) -> str:
    """``Quantity.String`` of an amount: ``CanonicalizeBytes`` and its suffix."""
    if value == 0:
        return "0"
    if fmt == BINARY_SI:
        # Between -1024 and 1024, or a fraction AsScale(0) would round: written as DecimalSI.
        if -1024 < value < 1024 or value.denominator != 1:
            fmt = DECIMAL_SI
    elif fmt not in (DECIMAL_SI, DECIMAL_EXPONENT):
        fmt = DECIMAL_EXPONENT
    if fmt == BINARY_SI:
        amount, times = _remove_factors(value.numerator, 1024)
        return f"{amount}{_BINARY_BY_EXPONENT.get(times * 10, '')}"
    # A decimal mantissa and exponent: every factor of ten moved to the exponent, then the exponent
    # lowered to a multiple of three.
    exponent = 0
    while value.denominator != 1:
        value *= 10
        exponent -= 1
    mantissa, times = _remove_factors(value.numerator, 10)
    exponent += times
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    if fmt == DECIMAL_EXPONENT:
        return f"{mantissa}" if exponent == 0 else f"{mantissa}e{exponent}"
    return f"{mantissa}{_DECIMAL_BY_EXPONENT.get(exponent, '')}"


def canonical(text: str | int) -> str:
    """A quantity as the API server stores it (``ParseQuantity`` then ``String``): ``0.25`` → ``250m``,
    ``1024Mi`` → ``1Gi``, ``1000`` → ``1k``. An int (YAML ``cpu: 1``) is read as its digits."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise QuantityError(f"{text!r} is not a quantity")
    return format_quantity(*parse(str(text)))


__all__ = ["SOURCE", "QuantityError", "canonical", "format_quantity", "parse"]
