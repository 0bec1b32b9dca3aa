"""An autoscaling/v2 HorizontalPodAutoscaler object read into what the controller acts on.

The API server's defaulting is applied as ``pkg/apis/autoscaling/v2/defaults.go`` does it:
``minReplicas`` 1; a single CPU metric at 80 % when ``metrics`` is empty; and, only when
``behavior`` is present, every unset field of ``scaleUp`` / ``scaleDown`` is filled from
``defaultHPAScaleUpRules`` / ``defaultHPAScaleDownRules`` (``copyHPAScalingRules``). A scale-down
stabilization window left unset takes the controller's ``--horizontal-pod-autoscaler-downscale-
stabilization`` (``maybeInitScaleDownStabilizationWindow``). No ``behavior`` at all keeps
:attr:`HpaSpec.behavior` ``None``: the controller's legacy path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .quantity import milli_value, parse_quantity

SELECT_POLICIES = ("Max", "Min", "Disabled")
POLICY_TYPES = ("Pods", "Percent")
RESOURCES = ("cpu", "memory")
DEFAULT_CPU_UTILIZATION = 80  # autoscaling.DefaultCPUUtilization
_DEFAULT_METRIC = {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}


class SimulationError(ValueError):
    """Input the simulator cannot use; the message says what and where, in one line."""


@dataclass(frozen=True)
class Policy:
    """One ``HPAScalingPolicy``: ``value`` pods or percent per ``period_s`` seconds."""

    type: str
    value: int
    period_s: int


@dataclass(frozen=True)
class ScalingRules:
    """One direction of ``behavior`` after defaulting."""

    stabilization_window_s: int
    select_policy: str
    policies: tuple[Policy, ...]
    tolerance: float | None

    @property
    def longest_period_s(self) -> int:
        """``getLongestPolicyPeriod``: how long the controller keeps this direction's scale events."""
        return max(p.period_s for p in self.policies)


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


@dataclass(frozen=True)
class MetricSpec:
    """A ``Resource`` or ``Pods`` metric; ``target`` is a percentage (Utilization) or a milli-value per pod."""

    source: str
    name: str
    target_type: str
    target: int


@dataclass(frozen=True)
class HpaSpec:
    min_replicas: int
    max_replicas: int
    metrics: tuple[MetricSpec, ...]
    behavior: Behavior | None


_SCALE_UP_DEFAULTS: dict[str, Any] = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
# StabilizationWindowSeconds stays unset in the API defaults; parse_hpa fills in the controller's flag.
_SCALE_DOWN_DEFAULTS: dict[str, Any] = {
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SimulationError(f"{where} must be a mapping, not {type(value).__name__}")
    return value


def _int(value: Any, where: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"
        raise SimulationError(f"{where} must be {bound}, not {value!r}")
    return value


def _policy(raw: Any, where: str) -> Policy:
    item = _mapping(raw, where)
    kind = item.get("type")
    if kind not in POLICY_TYPES:
        raise SimulationError(f"{where}.type must be Pods or Percent, not {kind!r}")
    return Policy(
        type=kind,
        value=_int(item.get("value"), f"{where}.value", 1),
        period_s=_int(item.get("periodSeconds"), f"{where}.periodSeconds", 1, 1800),
    )


def _rules(raw: Any, defaults: Mapping[str, Any], where: str) -> ScalingRules:
    """``copyHPAScalingRules`` over the API defaults: each unset field takes its default."""
    given = {} if raw is None else _mapping(raw, where)
    merged = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    select = merged["selectPolicy"]
    if select not in SELECT_POLICIES:
        raise SimulationError(f"{where}.selectPolicy must be Max, Min or Disabled, not {select!r}")
    policies = merged["policies"]
    if not isinstance(policies, list) or not policies:
        raise SimulationError(f"{where}.policies must list at least one policy, as the API requires")
    tolerance = merged.get("tolerance")
    return ScalingRules(
        stabilization_window_s=_int(
            merged["stabilizationWindowSeconds"], f"{where}.stabilizationWindowSeconds", 0, 3600
        ),
        select_policy=select,
        policies=tuple(_policy(p, f"{where}.policies[{i}]") for i, p in enumerate(policies)),
        tolerance=None if tolerance is None else _tolerance(tolerance, f"{where}.tolerance"),
    )


def _tolerance(value: Any, where: str) -> float:
    """A behavior's tolerance: a quantity that "must be greater than or equal to zero" (kubernetes/api,
    autoscaling/v2/types.go, HPAScalingRules.Tolerance, at v0.34.0: Kubernetes 1.34)."""
    try:
        tolerance: float | None = float(parse_quantity(value))
    except ValueError:
        tolerance = None
    if tolerance is None or tolerance < 0:
        raise SimulationError(f"{where} must be a non-negative number such as 0.05, not {value!r}")
    return tolerance


def positive_milli(value: Any, where: str) -> int:
    """A positive quantity in thousandths, or a SimulationError naming ``where``."""
    try:
        milli = milli_value(value)
    except ValueError:
        raise SimulationError(f"{where} must be a Kubernetes quantity such as 1000 or 500m, not {value!r}") from None
    if milli <= 0:
        raise SimulationError(f"{where} must be greater than zero, not {value!r}")
    return milli


def _metric(raw: Any, where: str) -> MetricSpec:
    item = _mapping(raw, where)
    source = item.get("type")
    if source == "Resource":
        body = _mapping(item.get("resource"), f"{where}.resource")
        name = body.get("name")
        if name not in RESOURCES:
            raise SimulationError(f"{where}.resource.name must be cpu or memory, not {name!r}")
    elif source == "Pods":
        body = _mapping(item.get("pods"), f"{where}.pods")
        name = _mapping(body.get("metric"), f"{where}.pods.metric").get("name")
        if not isinstance(name, str) or not name or name == "time_s":
            raise SimulationError(f"{where}.pods.metric.name must be a metric name, not {name!r}")
    else:
        raise SimulationError(f"{where}.type {source!r} is not simulated (Resource and Pods metrics are)")
    target = _mapping(body.get("target"), f"{where}.target")
    kind = target.get("type")
    if kind == "Utilization" and source == "Resource":
        value = _int(target.get("averageUtilization"), f"{where}.target.averageUtilization", 1)
    elif kind == "AverageValue":
        value = positive_milli(target.get("averageValue"), f"{where}.target.averageValue")
    else:
        allowed = "Utilization or AverageValue" if source == "Resource" else "AverageValue"
        raise SimulationError(f"{where}.target.type must be {allowed}, not {kind!r}")
    return MetricSpec(source=source, name=name, target_type=kind, target=value)


def parse_hpa(obj: Mapping[str, Any], downscale_stabilization_s: int = 300) -> HpaSpec:
    """The defaulted spec of an autoscaling/v2 HPA object (a dict as in YAML, camelCase keys)."""
    hpa = _mapping(obj, "the HPA")
    if hpa.get("kind") != "HorizontalPodAutoscaler" or hpa.get("apiVersion") != "autoscaling/v2":
        raise SimulationError(
            f"expected an autoscaling/v2 HorizontalPodAutoscaler, got {hpa.get('apiVersion')}/{hpa.get('kind')}"
        )
    spec = _mapping(hpa.get("spec"), "spec")
    min_replicas = _int(spec.get("minReplicas", 1), "spec.minReplicas", 1)
    max_replicas = _int(spec.get("maxReplicas"), "spec.maxReplicas", 1)
    if max_replicas < min_replicas:
        raise SimulationError(f"spec.maxReplicas ({max_replicas}) is below spec.minReplicas ({min_replicas})")
    raw_metrics = spec.get("metrics") or [{"type": "Resource", "resource": {"name": "cpu", "target": _DEFAULT_METRIC}}]
    if not isinstance(raw_metrics, list):
        raise SimulationError("spec.metrics must be a list")
    metrics = tuple(_metric(m, f"spec.metrics[{i}]") for i, m in enumerate(raw_metrics))
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise SimulationError(f"spec.metrics names a metric twice ({', '.join(names)}); the trace has one column each")
    raw_behavior = spec.get("behavior")
    behavior = None
    if raw_behavior is not None:
        body = _mapping(raw_behavior, "spec.behavior")
        down_defaults = {**_SCALE_DOWN_DEFAULTS, "stabilizationWindowSeconds": downscale_stabilization_s}
        behavior = Behavior(
            scale_up=_rules(body.get("scaleUp"), _SCALE_UP_DEFAULTS, "spec.behavior.scaleUp"),
            scale_down=_rules(body.get("scaleDown"), down_defaults, "spec.behavior.scaleDown"),
        )
    return HpaSpec(min_replicas=min_replicas, max_replicas=max_replicas, metrics=metrics, behavior=behavior)
