"""Container requests and limits of one workload, as Kubernetes quantities.

Part of the workload model (:mod:`config.workload`), which re-exports every name.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from .base import MemoryQuantity, Model, Problems, Quantity, parse_quantity


class ResourceAmounts(Model):
    cpu: Quantity | None = Field(None, description="CPU, e.g. `500m` or `1`.")
    memory: MemoryQuantity | None = Field(None, description="Memory, e.g. `512Mi` or `1Gi` (whole bytes).")

    def value(self, resource: str) -> Decimal | None:
        text = getattr(self, resource)
        return None if text is None else parse_quantity(text)


class Resources(Model):
    requests: ResourceAmounts = Field(
        ResourceAmounts(),
        description="Guide: 'Always set resource requests (required for HPA)'. Utilization targets "
        "are percentages of these.",
    )
    limits: ResourceAmounts = Field(
        ResourceAmounts(), description="Guide: 'Set realistic limits based on actual usage'."
    )

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        problems = Problems()
        for resource in ("cpu", "memory"):
            request, limit = self.requests.value(resource), self.limits.value(resource)
            if request is not None and limit is not None and request > limit:
                problems.add(
                    ("requests", resource),
                    getattr(self.requests, resource),
                    f"must not exceed limits.{resource} ({getattr(self.limits, resource)}); "
                    "Kubernetes rejects a container whose request is above its limit",
                )
        problems.raise_if_any("Resources")
        return self
