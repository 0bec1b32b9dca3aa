"""Each HPA metric bound to its trace column and to the pods' requests.

Trace columns hold the *total* demand across the pods: ``cpu`` in millicores, ``memory`` in MiB,
a Pods metric (or a Resource metric with an ``AverageValue`` target) in the metric's own unit.
The controller works in milli-units (``Quantity.MilliValue()``); a total is converted once,
rounded to a whole milli-unit, and then divided among the pods with the controller's integer
arithmetic (:func:`~simulate.controller.utilization_ratio`,
:func:`~simulate.controller.usage_ratio`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .controller import usage_ratio, utilization_ratio
from .hpa import HpaSpec, MetricSpec, SimulationError, positive_milli

# Milli-units per trace unit: millicores are already milli-cores, MiB are 2**20 bytes.
_MILLI_PER_UNIT = {"cpu": 1, "memory": 2**20 * 1000}
_UNITS = {"cpu": "millicores", "memory": "MiB"}


@dataclass(frozen=True)
class Gauge:
    """One metric of the HPA, ready to turn a trace total into the controller's ratio."""

    spec: MetricSpec
    milli_per_unit: int
    request_milli: int | None

    @property
    def column(self) -> str:
        """The trace column: ``cpu``, ``memory`` or the Pods metric's name."""
        return self.spec.name

    @property
    def unit(self) -> str:
        """The trace column's unit; a Pods metric is in its own unit (empty here)."""
        return _UNITS[self.spec.name] if self.spec.source == "Resource" else ""

    @property
    def timeline_column(self) -> str:
        """``cpu_utilization_pct`` for a Utilization target, ``<name>_per_pod`` for an AverageValue one."""
        if self.spec.target_type == "Utilization":
            return f"{self.spec.name}_utilization_pct"
        return f"{self.spec.name}_per_pod"

    @property
    def target_per_pod(self) -> float:
        """What one pod may carry at the target, in trace units (e.g. 350 millicores for 70 % of 500m)."""
        if self.request_milli is not None:
            return self.request_milli * self.spec.target / 100 / self.milli_per_unit
        return self.spec.target / self.milli_per_unit

    def total_milli(self, demand: float) -> int:
        """A trace total in the controller's milli-units."""
        return round(demand * self.milli_per_unit)

    def ratio(self, total_milli: int, pods: int) -> float:
        """The usage ratio to the target with ``total_milli`` spread over ``pods`` pods."""
        if self.request_milli is not None:
            return utilization_ratio(total_milli, pods, self.request_milli, self.spec.target)[0]
        return usage_ratio(total_milli, pods, self.spec.target)[0]

    def reading(self, total_milli: int, ready: int) -> float:
        """What ``kubectl get hpa`` would show: the utilization in %, or the value per ready pod in trace units."""
        if self.request_milli is not None:
            return utilization_ratio(total_milli, ready, self.request_milli, self.spec.target)[1]
        return usage_ratio(total_milli, ready, self.spec.target)[1] / self.milli_per_unit


def parse_requests(text: str) -> dict[str, str]:
    """``cpu=500m,memory=512Mi`` as a mapping, each quantity checked."""
    requests: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",") if part.strip()):
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in _MILLI_PER_UNIT:
            raise SimulationError(f"--requests: {item!r} must be cpu=QUANTITY or memory=QUANTITY")
        positive_milli(value, f"{name} request")
        requests[name] = value
    return requests


def bind_gauges(spec: HpaSpec, requests: Mapping[str, str]) -> tuple[Gauge, ...]:
    """One :class:`Gauge` per metric; a Utilization target needs that resource's request (``calculateRequests``)."""
    gauges = []
    for metric in spec.metrics:
        request = None
        if metric.target_type == "Utilization":
            if metric.name not in requests:
                raise SimulationError(
                    f"the HPA targets {metric.name} utilization but no {metric.name} request was given "
                    f"(e.g. --requests {metric.name}={'500m' if metric.name == 'cpu' else '512Mi'})"
                )
            request = positive_milli(requests[metric.name], f"{metric.name} request")
        per_unit = _MILLI_PER_UNIT[metric.name] if metric.source == "Resource" else 1000
        gauges.append(Gauge(spec=metric, milli_per_unit=per_unit, request_milli=request))
    return tuple(gauges)
