"""Shared pieces of the settings models: the base model, rule reporting and Kubernetes quantities.

Every model is frozen, rejects unknown keys and reads camelCase keys, so a stack file reads like
Kubernetes and Pulumi config. A rule that spans fields is written as an ``after`` model validator
that collects every problem it finds with :class:`Problems` and reports them together, each with
the key path relative to the model; pydantic prefixes the path of the enclosing models.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

Loc = tuple[str | int, ...]


class Model(BaseModel):
    """Base of every settings model: frozen, strict about keys, camelCase in YAML."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
        use_attribute_docstrings=False,
        # No value is coerced across types: `true` is not 1, 3.0 is not 3, "3" is not 3 and 3 is
        # not "3". The API servers are as strict; a coercion here would deploy what nobody wrote.
        strict=True,
    )


class Problems:
    """Collects rule violations inside a model validator and raises them as one ValidationError.

    ``loc`` is relative to the model being validated and uses the YAML (camelCase) key names.
    """

    def __init__(self) -> None:
        self._items: list[InitErrorDetails] = []

    def add(self, loc: Loc, value: Any, message: str) -> None:
        # No context is passed, so pydantic substitutes nothing: braces in the message stay as written
        # (a YAML mapping such as {ingressNginx: 100} must reach the user as one).
        self._items.append(InitErrorDetails(type=PydanticCustomError("rule", message), loc=loc, input=value))

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self, title: str) -> None:
        if self._items:
            raise ValidationError.from_exception_data(title, self._items)


def deep_merge(base: Any, override: Any) -> Any:
    """Merge ``override`` into ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


# --- Kubernetes quantities -------------------------------------------------------------------

_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^(?P<num>[+-]?(\d+(\.\d*)?|\.\d+))(?P<suffix>[eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")


def parse_quantity(text: str | int | float) -> Decimal:
    """Value of a Kubernetes quantity ("500m", "1", "512Mi", "1e3") as a Decimal; YAML numbers too."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    match = _QUANTITY.match(text if isinstance(text, str) else format(text, "f"))
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    try:
        number = Decimal(match["num"])
        suffix = match["suffix"] or ""
        if suffix[:1] in ("e", "E"):
            return number * (Decimal(10) ** int(suffix[1:]))
        return number * _SUFFIX[suffix]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from exc


def _to_text(value: Any) -> Any:
    # YAML reads `cpu: 1` as an int; Kubernetes wants the quantity as a string.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return format(value, "g") if isinstance(value, float) else str(value)
    return value


def _check_quantity(text: str) -> str:
    try:
        value = parse_quantity(text)
    except ValueError:
        raise PydanticCustomError(
            "quantity",
            "must be a Kubernetes quantity such as 500m, 1, 512Mi or 2Gi",
        ) from None
    if value <= 0:
        raise PydanticCustomError("quantity", "must be greater than zero")
    return text


Quantity = Annotated[str, BeforeValidator(_to_text), AfterValidator(_check_quantity)]
"""A positive Kubernetes quantity, kept as written (``500m``, ``1Gi``). YAML numbers are read as
quantities too (``cpu: 1``), as the Kubernetes API reads them."""


def memory_problem(text: str) -> str | None:
    """Why a (valid) quantity is not a memory size in whole bytes, or None."""
    value = parse_quantity(text)
    if value == value.to_integral_value():
        return None
    return (
        f"must be a whole number of bytes: {text} is {value.normalize():f} bytes (`m` means thousandths); "
        "write Mi for mebibytes, e.g. 256Mi"
    )


def _check_bytes(text: str) -> str:
    if (reason := memory_problem(text)) is not None:
        raise PydanticCustomError("quantity_bytes", reason)
    return text


MemoryQuantity = Annotated[Quantity, AfterValidator(_check_bytes)]
"""A positive memory size in whole bytes (``512Mi``, ``1Gi``; not ``256m``, which is millibytes)."""


def cpu_text(cores: Decimal) -> str:
    """Format a CPU amount for a message: whole cores, else millicores."""
    if cores == cores.to_integral_value():
        return f"{int(cores)}"
    return f"{(cores * 1000).normalize():f}m"


def memory_text(size: Decimal) -> str:
    """Format a memory amount for a message, in the largest binary unit that divides it."""
    for unit in ("Gi", "Mi", "Ki"):
        scaled = size / _SUFFIX[unit]
        if scaled >= 1 and scaled == scaled.to_integral_value():
            return f"{int(scaled)}{unit}"
    return f"{size.normalize():f}"


def amount_text(resource: str, value: Decimal) -> str:
    if resource == "cpu":
        return cpu_text(value)
    if resource == "memory":
        return memory_text(value)
    return f"{value.normalize():f}"


# --- Strict, bounded scalars ---------------------------------------------------------------

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
"""Kubernetes `integer` fields (replicas, ports, seconds, thresholds) are int32."""

PATTERN_TEXT: dict[str, str] = {}
"""Every pattern a settings model checks, with the words a message uses for it (see :func:`matching`)."""


def int32(ge: int = INT32_MIN, le: int = INT32_MAX, **kwargs: Any) -> Any:
    """Field metadata of a strict int32 within ``ge``..``le``: use as ``Annotated[int, int32(ge=1)]``.

    Strict: a YAML boolean, a float or a numeric string is refused, never converted. Both bounds
    are clamped to int32, the type of every Kubernetes integer field.
    """
    return Field(strict=True, ge=max(ge, INT32_MIN), le=min(le, INT32_MAX), **kwargs)


def matching(pattern: str, described: str, **kwargs: Any) -> Any:
    """Field metadata of a string matching ``pattern``; messages call it ``described`` (for example
    "a DNS hostname such as api.example.com"), never the regular expression."""
    known = PATTERN_TEXT.setdefault(pattern, described)
    if known != described:
        raise ValueError(f"pattern {pattern!r} is described both as {known!r} and {described!r}")
    return Field(strict=True, pattern=pattern, **kwargs)


StrictInt32 = Annotated[int, int32()]
"""Any int32, refused when YAML read something else (a boolean, a float, a string)."""
PositiveInt = Annotated[int, int32(ge=1)]
Port = Annotated[int, int32(ge=1, le=65535)]
StrictBool = Annotated[bool, Field(strict=True)]
StrictText = Annotated[str, Field(strict=True)]


def cidr_text(value: str) -> str:
    """A CIDR block in canonical form; host bits must be zero."""
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PydanticCustomError("cidr", "must be a CIDR block such as 10.0.0.0/16") from None
    raise PydanticCustomError(
        "cidr_host_bits",
        "must be a CIDR block whose host bits are zero: did you mean {network}?",
        {"network": str(network)},
    )


Cidr = Annotated[str, Field(strict=True), AfterValidator(cidr_text)]

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DnsLabel = Annotated[
    str,
    matching(
        DNS_LABEL,
        "a DNS label: lowercase letters, digits and inner hyphens, such as my-app",
        min_length=1,
        max_length=63,
    ),
]
"""An RFC 1123 label: a Kubernetes namespace or Service name."""


# --- Container images ------------------------------------------------------------------------
# The grammar of github.com/distribution/reference: [host[:port]/]path[:tag][@digest].

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])"
)
_IMAGE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN}(?::[0-9]+)?)/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}))?$"
)


def _image(value: str) -> str:
    match = _IMAGE.match(value)
    if match is None:
        raise PydanticCustomError(
            "image",
            "must be a container image reference such as ghcr.io/org/app:v1.2.3, "
            "registry.example.com:5000/app:v1 or app@sha256:<64 hex digits>",
        )
    name = f"{match['domain']}/{match['path']}" if match["domain"] else match["path"]
    if len(name) > 255:
        raise PydanticCustomError("image", "must have a repository name of at most 255 characters")
    if match["digest"] is None and match["tag"] in (None, "latest"):
        raise PydanticCustomError(
            "image_not_pinned",
            "must be pinned with a tag other than `latest` (it moves under a running Deployment), or a digest",
        )
    return value


Image = Annotated[str, Field(strict=True, min_length=1, max_length=512), AfterValidator(_image)]
"""A container image reference pinned by a tag that is not `latest`, or by a digest; the registry
may carry a port (``registry.example.com:5000/app:v1``) and the path may be nested."""


def _digest_image(value: str) -> str:
    if _IMAGE.match(value)["digest"] is None:  # type: ignore[index]  # _image matched it already
        raise PydanticCustomError(
            "image_not_digest", "must be pinned by digest (`repo:tag@sha256:<64 hex digits>`): a tag can be re-pushed"
        )
    return value


DigestImage = Annotated[Image, AfterValidator(_digest_image)]
"""A container image reference pinned by digest (``repo:tag@sha256:…``): what runs cannot change
under the same name."""


ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
EnvName = Annotated[
    str, matching(ENV_NAME, "an environment variable name: letters, digits and _, not starting with a digit")
]
HttpPath = Annotated[str, matching(r"^/[^\s]*$", "an HTTP path starting with / and without spaces", max_length=1024)]
SelectPolicy = Literal["Max", "Min", "Disabled"]
