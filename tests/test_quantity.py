"""Quantities rendered as the API server stores them (components.quantity), held to the tables
of k8s.io/apimachinery's own tests: pkg/api/resource/quantity_test.go at v0.34.10 (the clusters'
Kubernetes 1.34). Each table below is transcribed from the named test function, row for row;
`decQuantity(v, s, f)` there is `(v, s, f)` here, the value v × 10^s in format f."""

from __future__ import annotations

from fractions import Fraction

import pytest

from components.quantity import QuantityError, canonical, format_quantity, parse

DecimalSI, BinarySI, DecimalExponent = "DecimalSI", "BinarySI", "DecimalExponent"
MAX_ALLOWED = 2**63 - 1

# TestQuantityParse: input -> expected amount and format.
PARSE = [
    ("0", 0, 0, DecimalSI),
    ("0n", 0, 0, DecimalSI),
    ("0u", 0, 0, DecimalSI),
    ("0m", 0, 0, DecimalSI),
    ("0Ki", 0, 0, BinarySI),
    ("0k", 0, 0, DecimalSI),
    ("0Mi", 0, 0, BinarySI),
    ("0M", 0, 0, DecimalSI),
    ("0Gi", 0, 0, BinarySI),
    ("0G", 0, 0, DecimalSI),
    ("0Ti", 0, 0, BinarySI),
    ("0T", 0, 0, DecimalSI),

    # Quantity less numbers are allowed
    ("1", 1, 0, DecimalSI),

    # Binary suffixes
    ("1Ki", 1024, 0, BinarySI),
    ("8Ki", 8 * 1024, 0, BinarySI),
    ("7Mi", 7 * 1024 * 1024, 0, BinarySI),
    ("6Gi", 6 * 1024 * 1024 * 1024, 0, BinarySI),
    ("5Ti", 5 * 1024 * 1024 * 1024 * 1024, 0, BinarySI),
    ("4Pi", 4 * 1024 * 1024 * 1024 * 1024 * 1024, 0, BinarySI),
    ("3Ei", 3 * 1024 * 1024 * 1024 * 1024 * 1024 * 1024, 0, BinarySI),

    ("10Ti", 10 * 1024 * 1024 * 1024 * 1024, 0, BinarySI),
    ("100Ti", 100 * 1024 * 1024 * 1024 * 1024, 0, BinarySI),

    # Decimal suffixes
    ("5n", 5, -9, DecimalSI),
    ("4u", 4, -6, DecimalSI),
    ("3m", 3, -3, DecimalSI),
    ("9", 9, 0, DecimalSI),
    ("8k", 8, 3, DecimalSI),
    ("50k", 5, 4, DecimalSI),
    ("7M", 7, 6, DecimalSI),
    ("6G", 6, 9, DecimalSI),
    ("5T", 5, 12, DecimalSI),
    ("40T", 4, 13, DecimalSI),
    ("300T", 3, 14, DecimalSI),
    ("2P", 2, 15, DecimalSI),
    ("1E", 1, 18, DecimalSI),

    # Decimal exponents
    ("1E-3", 1, -3, DecimalExponent),
    ("1e3", 1, 3, DecimalExponent),
    ("1E6", 1, 6, DecimalExponent),
    ("1e9", 1, 9, DecimalExponent),
    ("1E12", 1, 12, DecimalExponent),
    ("1e15", 1, 15, DecimalExponent),
    ("1E18", 1, 18, DecimalExponent),

    # Nonstandard but still parsable
    ("1e14", 1, 14, DecimalExponent),
    ("1e13", 1, 13, DecimalExponent),
    ("1e3", 1, 3, DecimalExponent),
    ("100.035k", 100035, 0, DecimalSI),

    # Things that look like floating point
    ("0.001", 1, -3, DecimalSI),
    ("0.0005k", 5, -1, DecimalSI),
    ("0.005", 5, -3, DecimalSI),
    ("0.05", 5, -2, DecimalSI),
    ("0.5", 5, -1, DecimalSI),
    ("0.00050k", 5, -1, DecimalSI),
    ("0.00500", 5, -3, DecimalSI),
    ("0.05000", 5, -2, DecimalSI),
    ("0.50000", 5, -1, DecimalSI),
    ("0.5e0", 5, -1, DecimalExponent),
    ("0.5e-1", 5, -2, DecimalExponent),
    ("0.5e-2", 5, -3, DecimalExponent),
    ("0.5e0", 5, -1, DecimalExponent),
    ("10.035M", 10035, 3, DecimalSI),

    ("1.2e3", 12, 2, DecimalExponent),
    ("1.3E+6", 13, 5, DecimalExponent),
    ("1.40e9", 14, 8, DecimalExponent),
    ("1.53E12", 153, 10, DecimalExponent),
    ("1.6e15", 16, 14, DecimalExponent),
    ("1.7E18", 17, 17, DecimalExponent),

    ("9.01", 901, -2, DecimalSI),
    ("8.1k", 81, 2, DecimalSI),
    ("7.123456M", 7123456, 0, DecimalSI),
    ("6.987654321G", 6987654321, 0, DecimalSI),
    ("5.444T", 5444, 9, DecimalSI),
    ("40.1T", 401, 11, DecimalSI),
    ("300.2T", 3002, 11, DecimalSI),
    ("2.5P", 25, 14, DecimalSI),
    ("1.01E", 101, 16, DecimalSI),

    # Things that saturate/round
    ("3.001n", 4, -9, DecimalSI),
    ("1.1E-9", 2, -9, DecimalExponent),
    ("0.0000000001", 1, -9, DecimalSI),
    ("0.0000000005", 1, -9, DecimalSI),
    ("0.00000000050", 1, -9, DecimalSI),
    ("0.5e-9", 1, -9, DecimalExponent),
    ("0.9n", 1, -9, DecimalSI),
    ("0.00000012345", 124, -9, DecimalSI),
    ("0.00000012354", 124, -9, DecimalSI),
    ("9Ei", MAX_ALLOWED, 0, BinarySI),
    ("9223372036854775807Ki", MAX_ALLOWED, 0, BinarySI),
    ("12E", 12, 18, DecimalSI),

    # We'll accept fractional binary stuff, too.
    ("100.035Ki", 10243584, -2, BinarySI),
    ("0.5Mi", 512  *  1024, 0, BinarySI),
    ("0.05Gi", 536870912, -1, BinarySI),
    ("0.025Ti", 274877906944, -1, BinarySI),

    # Things written by trolls
    ("0.000000000001Ki", 2, -9, DecimalSI),
    (".001", 1, -3, DecimalSI),
    (".0001k", 100, -3, DecimalSI),
    ("1.", 1, 0, DecimalSI),
    ("1.G", 1, 9, DecimalSI),
]


def _amount(value: int | float, scale: int) -> Fraction:
    return Fraction(value) * Fraction(10) ** scale


@pytest.mark.parametrize(("text", "value", "scale", "fmt"), PARSE, ids=[row[0] for row in PARSE])
def test_parse_reads_the_amount_and_format_apimachinery_reads(text: str, value: int, scale: int, fmt: str) -> None:
    assert parse(text) == (_amount(value, scale), fmt)


@pytest.mark.parametrize(("text", "value", "scale", "fmt"), PARSE, ids=[row[0] for row in PARSE])
def test_a_sign_negates_the_amount_and_keeps_the_format(text: str, value: int, scale: int, fmt: str) -> None:
    """TestQuantityParse's second and third loops: "-" + input negates, "+" + input is the same."""
    assert parse("-" + text) == (-_amount(value, scale), fmt)
    assert parse("+" + text) == (_amount(value, scale), fmt)


# TestQuantityParse: inputs that must not parse.
INVALID = ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1", "1 ", ""]


@pytest.mark.parametrize("text", INVALID)
def test_what_apimachinery_refuses_is_refused(text: str) -> None:
    with pytest.raises(QuantityError):
        parse(text)


# TestQuantityString: (amount, its canonical string, an alternate spelling that parses to it).
STRING = [
    ((1024 * 1024 * 1024, 0, BinarySI), "1Gi", "1024Mi"),
    ((300 * 1024 * 1024, 0, BinarySI), "300Mi", "307200Ki"),
    ((6 * 1024, 0, BinarySI), "6Ki", ""),
    ((1001 * 1024 * 1024 * 1024, 0, BinarySI), "1001Gi", "1025024Mi"),
    ((1024 * 1024 * 1024 * 1024, 0, BinarySI), "1Ti", "1024Gi"),
    ((5, 0, BinarySI), "5", "5000m"),
    ((500, -3, BinarySI), "500m", "0.5"),
    ((1, 9, DecimalSI), "1G", "1000M"),
    ((1000, 6, DecimalSI), "1G", "0.001T"),
    ((1000000, 3, DecimalSI), "1G", ""),
    ((1000000000, 0, DecimalSI), "1G", ""),
    ((1, -3, DecimalSI), "1m", "1000u"),
    ((80, -3, DecimalSI), "80m", ""),
    ((1080, -3, DecimalSI), "1080m", "1.08"),
    ((108, -2, DecimalSI), "1080m", "1080000000n"),
    ((10800, -4, DecimalSI), "1080m", ""),
    ((300, 6, DecimalSI), "300M", ""),
    ((1, 12, DecimalSI), "1T", ""),
    ((1234567, 6, DecimalSI), "1234567M", ""),
    ((1234567, -3, BinarySI), "1234567m", ""),
    ((3, 3, DecimalSI), "3k", ""),
    ((1025, 0, BinarySI), "1025", ""),
    ((0, 0, DecimalSI), "0", ""),
    ((0, 0, BinarySI), "0", ""),
    ((1, 9, DecimalExponent), "1e9", ".001e12"),
    ((1, -3, DecimalExponent), "1e-3", "0.001e0"),
    ((1, -9, DecimalExponent), "1e-9", "1000e-12"),
    ((80, -3, DecimalExponent), "80e-3", ""),
    ((300, 6, DecimalExponent), "300e6", ""),
    ((1, 12, DecimalExponent), "1e12", ""),
    ((1, 3, DecimalExponent), "1e3", ""),
    ((3, 3, DecimalExponent), "3e3", ""),
    ((3, 3, DecimalSI), "3k", ""),
    ((0, 0, DecimalExponent), "0", "00"),
    ((1, -9, DecimalSI), "1n", ""),
    ((80, -9, DecimalSI), "80n", ""),
    ((1080, -9, DecimalSI), "1080n", ""),
    ((108, -8, DecimalSI), "1080n", ""),
    ((10800, -10, DecimalSI), "1080n", ""),
    ((1, -6, DecimalSI), "1u", ""),
    ((80, -6, DecimalSI), "80u", ""),
    ((1080, -6, DecimalSI), "1080u", ""),
]


@pytest.mark.parametrize(("amount", "expect", "alternate"), STRING, ids=[row[1] + "|" + row[2] for row in STRING])
def test_an_amount_is_written_in_its_canonical_form(amount: tuple[int, int, str], expect: str, alternate: str) -> None:
    value, scale, fmt = amount
    assert format_quantity(_amount(value, scale), fmt) == expect
    assert canonical(expect) == expect  # the canonical form parses back to itself
    if alternate:
        assert canonical(alternate) == expect
    if value:
        assert format_quantity(-_amount(value, scale), fmt) == "-" + expect


# TestQuantityParseEmit: input -> String().
EMIT = [
    ("1Ki", "1Ki"),
    ("1Mi", "1Mi"),
    ("1Gi", "1Gi"),
    ("1024Mi", "1Gi"),
    ("1000M", "1G"),
    (".001Ki", "1024m"),
    (".000001Ki", "1024u"),
    (".000000001Ki", "1024n"),
    (".000000000001Ki", "2n"),
]


@pytest.mark.parametrize(("text", "expect"), EMIT)
def test_parse_then_emit(text: str, expect: str) -> None:
    assert canonical(text) == expect
    assert canonical("-" + text) == "-" + expect


def test_the_spellings_the_program_could_send_are_stored_canonical() -> None:
    """The three spellings of a perpetual diff: a fraction of a core, whole mebibytes that make a
    gibibyte, and a plain thousand (an HPA target); a YAML integer reads as its digits."""
    assert [canonical(v) for v in ("0.25", "1024Mi", "1000", 1, "500m", "1.5Gi")] == [
        "250m", "1Gi", "1k", "1", "500m", "1536Mi"]


@pytest.mark.parametrize("value", [True, 1.5, None, ["1"]])
def test_only_text_and_integers_are_quantities(value: object) -> None:
    with pytest.raises(QuantityError):
        canonical(value)  # type: ignore[arg-type]


def test_the_program_sends_every_quantity_as_the_api_server_stores_it() -> None:
    """Each place a stack file's quantity reaches an object, given a non-canonical spelling: what is
    registered is the stored form, so a second `pulumi up` compares equal spellings."""
    from offline.engine import run_stack

    plan = run_stack("all-options", {
        "backend": {"resources": {"requests": {"cpu": "0.25", "memory": "1024Mi"},
                                  "limits": {"cpu": "0.5", "memory": "2048Mi"}},
                    "scratchVolumes": [{"mountPath": "/tmp", "sizeLimit": "65536Ki"}]},
        "namespace": {"resourceQuota": {"requests": {"cpu": "16000m", "memory": "24576Mi"}},
                      "limitRange": {"max": {"cpu": "4000m", "memory": "4096Mi"}}},
        "scheduling": {"resources": {"cpu": "0.05", "memory": "65536Ki"}},
    })
    deployment = plan.k8s("Deployment", "spywatcher-backend")["spec"]["template"]["spec"]
    assert deployment["containers"][0]["resources"] == {"requests": {"cpu": "250m", "memory": "1Gi"},
                                                        "limits": {"cpu": "500m", "memory": "2Gi"}}
    assert deployment["volumes"] == [{"name": "scratch-tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    quota = plan.k8s("ResourceQuota", "spywatcher-all-quota")["spec"]["hard"]
    assert (quota["requests.cpu"], quota["requests.memory"]) == ("16", "24Gi")
    [limits] = plan.k8s("LimitRange", "spywatcher-all-limits")["spec"]["limits"]
    assert limits["max"] == {"cpu": "4", "memory": "4Gi"}
    cron = plan.k8s("CronJob", "spywatcher-backend-weekday-peak")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert cron["containers"][0]["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"},
                                                  "limits": {"cpu": "50m", "memory": "64Mi"}}
    hpa = plan.k8s("HorizontalPodAutoscaler", "spywatcher-backend-hpa")["spec"]["metrics"]
    assert [m["pods"]["target"]["averageValue"] for m in hpa if m["type"] == "Pods"] == ["1k", "100"]
