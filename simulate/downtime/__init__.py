"""Zero downtime, proven: a discrete-event model of every layer of the traffic path (pods,
EndpointSlices, ingress-nginx and Envoy, the AWS load balancer's targets, requests and WebSockets)
through rollouts, drains, scale-downs and reloads.

    from simulate.downtime import SCENARIOS, check_scenario, load_topology

    topology = load_topology(run_stack("production"))       # what the stack renders
    result = check_scenario(topology, SCENARIOS["node-drain"])  # every property, every corner
    [p.name for p in result.properties if not p.holds]

:mod:`~simulate.downtime.topology` reads the stack's objects; :mod:`~simulate.downtime.model` is the
timeline (its delays are ``config.delays.DELAYS``); :mod:`~simulate.downtime.backends` and
:mod:`~simulate.downtime.strategies` are the pluggable parts; :mod:`~simulate.downtime.scenarios`
and :mod:`~simulate.downtime.properties` are what is checked; :mod:`~simulate.downtime.search` runs
both ends of every delay. The command line is ``python -m offline downtime`` (docs/downtime.md).
"""

from .model import Corner, ModelError, Sim
from .properties import PROPERTIES
from .scenarios import SCENARIOS, Scenario, new_sim
from .search import PropertyResult, ScenarioResult, check_scenario
from .topology import Topology, TopologyError, load_topology

__all__ = [
    "PROPERTIES",
    "SCENARIOS",
    "Corner",
    "ModelError",
    "PropertyResult",
    "Scenario",
    "ScenarioResult",
    "Sim",
    "Topology",
    "TopologyError",
    "check_scenario",
    "load_topology",
    "new_sim",
]
