"""Both ends of every delay: each scenario runs once per corner of the delays it reads, and each
property is checked on every run.

A scenario first runs with nothing set, which tells which delays it reads (:class:`Corner` records
them); it then runs at every combination of their low and high ends. A delay's interior is not
searched here: most event times are sums of delays along one chain of controllers and each
property compares two such times, so a comparison is extreme at an end; why each delay's worst case
lies at one end is stated with the delay (``config.delays.DELAYS``), and the suite samples the
interior where a maximum of two chains could put it inside (docs/downtime.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from config.delays import DELAYS

from .model import Corner, ModelError, Sim
from .properties import PROPERTIES, Violation, ready_endpoints_within_budget
from .scenarios import Scenario, new_sim
from .topology import Topology

MAX_DELAYS = 12
"""Most delays one scenario may read: 2^12 runs."""


@dataclass(frozen=True)
class PropertyResult:
    name: str
    holds: bool
    detail: str
    instant: float | None = None


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    runs: int
    delays: tuple[str, ...]
    properties: tuple[PropertyResult, ...]
    example: Sim | None = None
    """The run at the first failing corner, or at the high ends when everything holds (for the picture)."""


def discover(topology: Topology, scenario: Scenario, case: str) -> tuple[str, ...]:
    """The delays a scenario reads, found by running it at the low ends, then at the high ends of
    what it read, until no new delay turns up."""
    known: set[str] = set()
    for _ in range(MAX_DELAYS + 1):
        found = set()
        for end in ("low", "high"):
            corner = Corner({n: getattr(DELAYS[n], end) for n in known})
            _check(new_sim(topology, scenario, corner, case), scenario)
            found |= corner.read
        if found <= known:
            return tuple(sorted(known))
        known |= found
    raise ModelError(f"scenario {scenario.name} reads more than {MAX_DELAYS} delays")


def _check(sim: Sim, scenario: Scenario) -> dict[str, list[Violation]]:
    """Every property on one run."""
    found = {}
    for name, check in PROPERTIES.items():
        if name == "ready-endpoints-within-budget" and scenario.name == "hpa-scale-down":
            found[name] = ready_endpoints_within_budget(sim, scale_down=True)
        else:
            found[name] = check(sim)
    return found


CHAINS: tuple[tuple[str, ...], ...] = (
    ("pod.start", "probe.phase"),
    ("nginx.sync", "nginx.worker_pickup"),
)
"""Delays the model only ever adds together, one after the other on one chain: their sum's ends are
the sum of their ends, so they move as one (both low, or both high)."""


def corners(names: tuple[str, ...]) -> list[dict[str, float]]:
    """Every combination of low and high ends of ``names`` (a chain's delays move together)."""
    groups: list[tuple[str, ...]] = []
    for chain in CHAINS:
        if any(n in names for n in chain):
            groups.append(tuple(n for n in chain if n in names))
    chained = {n for g in groups for n in g}
    groups += [(n,) for n in names if n not in chained]
    if len(groups) > MAX_DELAYS:
        raise ModelError(f"{len(groups)} delays to combine: more than {MAX_DELAYS}")
    options = [
        [{n: DELAYS[n].low for n in group}, {n: DELAYS[n].high for n in group}]
        if any(DELAYS[n].low != DELAYS[n].high for n in group)
        else [{n: DELAYS[n].low for n in group}]
        for group in groups
    ]
    result = []
    for choice in itertools.product(*options):
        values: dict[str, float] = {}
        for part in choice:
            values.update(part)
        result.append(dict(sorted(values.items())))
    return result


def check_scenario(topology: Topology, scenario: Scenario) -> ScenarioResult:
    """Every property of ``scenario`` on ``topology``, over both ends of every delay it reads."""
    failures: dict[str, list[tuple[Violation, Corner, str]]] = {name: [] for name in PROPERTIES}
    runs, read, example = 0, set[str](), None
    for case in scenario.cases(topology):
        names = discover(topology, scenario, case)
        read |= set(names)
        for values in corners(names):
            corner = Corner(values)
            sim = new_sim(topology, scenario, corner, case)
            runs += 1
            checked = _check(sim, scenario)
            if corner.missing:
                raise ModelError(f"scenario {scenario.name} read {sorted(corner.missing)} only at some corners")
            failed = False
            for name, violations in checked.items():
                if violations:
                    failed = True
                    failures[name].append((min(violations, key=lambda v: v.t), corner, case))
            if example is None and (failed or all(v == DELAYS[n].high for n, v in values.items())):
                example = sim
    results = []
    for name in PROPERTIES:
        failed_at = failures[name]
        if not failed_at:
            results.append(PropertyResult(name, True, _holds(name, scenario, runs)))
            continue
        violation, corner, case = failed_at[0]
        where = f" [{case}]" if case else ""
        results.append(PropertyResult(
            name, False,
            f"{violation.text}{where}; at {len(failed_at)} of {runs} corners, first at {corner.describe()}",
            violation.t,
        ))
    return ScenarioResult(scenario.name, runs, tuple(sorted(read)), tuple(results), example)


def _holds(name: str, scenario: Scenario, runs: int) -> str:
    if name == "ready-endpoints-within-budget" and scenario.name == "hpa-scale-down":
        return (
            f"holds at all {runs} corners (against the HPA's target: the PodDisruptionBudget does not apply "
            "to a scale-down)"
        )
    return f"holds at all {runs} corners"
