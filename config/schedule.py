"""Schedule-based scaling: cron entries that raise or lower an HPA's minimum off-peak."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, model_validator

from .base import Model, PositiveInt, Problems, matching

_CRON_FIELD = r"(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*"
_CRON = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")
# The fields' bounds in robfig/cron@v3.0.1 spec.go (minutes, hours, dom, months, dow), the parser the API
# server checks a CronJob's schedule with: the day of the week is 0-6, Sunday 0 (it knows no 7).
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def cron_problem(expression: str) -> str | None:
    """Why a five-field cron expression is invalid, or None.

    The API server validates a CronJob's schedule with robfig/cron's standard parser
    (pkg/apis/batch/validation/validation.go, kubernetes/kubernetes@v1.34.0), whose ``getRange``
    (parser.go, robfig/cron@v3.0.1) refuses a value outside the field, a range that starts after it
    ends and a step of 0; a step larger than the field is one value."""
    if not _CRON.match(expression):
        return "must be a five-field cron expression such as `0 22 * * 1-5`"
    for text, (low, high) in zip(expression.split(" "), _CRON_RANGES, strict=True):
        for number in re.findall(r"\d+", re.sub(r"/\d+", "", text)):
            if not low <= int(number) <= high:
                return f"field `{text}` must stay within {low}-{high}"
        for part in text.split(","):
            span, _, step = part.partition("/")
            start, _, end = span.partition("-")
            if end and int(start) > int(end):
                return f"field `{text}` must not start a range after its end ({span})"
            if step and int(step) == 0:
                return f"field `{text}` must not step by 0 ({part})"
    return None


class Schedule(Model):
    name: Annotated[
        str,
        matching(
            r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "a DNS label: lowercase letters, digits and inner hyphens, such as my-app",
            max_length=20,
        ),
    ] = Field(description="Schedule name (CronJob `spywatcher-<workload>-<name>`).")
    cron: str = Field(description="When, as a cron expression in `timeZone`.")
    time_zone: Annotated[
        str, matching(r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", "an IANA time zone such as UTC or Europe/Berlin")
    ] = Field("UTC", description="IANA time zone of `cron`.")
    min_replicas: PositiveInt = Field(
        description="HPA minimum from then on. Guide: 'Reduce replicas during off-peak hours'. Must stay "
        "within the HPA's bounds and above the PDB's minAvailable."
    )

    @model_validator(mode="after")
    def _cron(self) -> Schedule:
        problems = Problems()
        if (reason := cron_problem(self.cron)) is not None:
            problems.add(("cron",), self.cron, reason)
        problems.raise_if_any("Schedule")
        return self
