"""What each routing backend does when its view of the app pods changes, when one of its replicas is
told to stop, and on a configuration change: ingress-nginx and Envoy Gateway.

A new backend plugs in as one more :class:`~simulate.downtime.model.Backend` in :data:`BACKENDS`, keyed like the target
groups (``topology.NGINX``, ``topology.ENVOY``).

**ingress-nginx** (kubernetes/ingress-nginx @ controller-v1.15.1):

- an EndpointSlice change reaches nginx after the controller's rate-limited sync (``nginx.sync``,
  pkg/flags/flags.go ``--sync-rate-limit``) and each worker's poll of the new backends
  (``nginx.worker_pickup``, rootfs/etc/nginx/lua/balancer.lua ``BACKENDS_SYNC_INTERVAL``);
- stopping: the chart's preStop ``/wait-shutdown`` signals the controller at once; from then the
  controller drops every update (internal/ingress/controller/nginx.go: ``if n.isShuttingDown``)
  and sleeps ``--shutdown-grace-period``; then ``nginx -s quit``: the listeners close, the workers
  finish what they hold for at most ``worker-shutdown-timeout``, then the controller waits
  ``--post-shutdown-grace-period`` (10 s) and exits (cmd/waitshutdown, internal/ingress/controller/nginx.go Stop);
- a reload (docs/how-it-works.md: an Ingress added or removed, a path changed, a Secret updated)
  starts new workers; the old ones take no new connection and close what is left after
  ``worker-shutdown-timeout``.

**Envoy Gateway** (envoyproxy/gateway @ v1.9.0):

- EDS follows the EndpointSlice within ``envoy.xds``; a terminating endpoint is DRAINING and gets
  no new request (internal/gatewayapi/route.go, internal/xds/translator/cluster.go);
- stopping: the shutdown manager's preStop fails the health check and drains the listeners at once
  (internal/cmd/envoy/shutdown_manager.go); Envoy keeps serving until ``minDrainDuration`` has passed
  and its connections are gone, or ``drainTimeout``; route changes are xDS updates, not reloads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..pods import NEVER
from .topology import ENVOY, NGINX

if TYPE_CHECKING:
    from .model import Backend, Proxy, Sim, Target


def held(sim: Sim, proxy: Proxy, last_request_end: float) -> float:
    """Until when a stopping proxy's connections stay open, given when its last request ends: the load
    balancer closes them at the end of its drain (an ALB; an NLB with connection termination); an NLB
    that leaves them open lets the proxy close them itself, idle ones at once, but its WebSockets only
    at its own timeout."""
    target = sim.targets[proxy.pod.name]
    if sim.group(target.backend).closes_at_drain_end:
        return max(target.drain_end, last_request_end)
    return NEVER if sim.carries_sockets(target.backend) else last_request_end


class IngressNginx:
    name = NGINX
    reloads_close_connections = True

    def sync_lag(self, sim: Sim) -> float:
        return sim.delay("nginx.sync") + sim.delay("nginx.worker_pickup")

    def stop(self, sim: Sim, proxy: Proxy, deleted: float) -> None:
        fleet = proxy.fleet
        proxy.frozen = proxy.pod.sigterm  # /wait-shutdown signals the controller when the hook starts
        proxy.drain_start = proxy.frozen
        proxy.quit = proxy.frozen + fleet.shutdown_delay_s
        proxy.cut = proxy.quit + fleet.drain_s
        sim.log(proxy.frozen, "controller told to stop: upstreams frozen, nginx still serving", proxy.pod.name)
        sim.log(proxy.quit, "nginx -s quit: listeners closed", proxy.pod.name)
        # The load balancer's health check reaches nginx itself: it fails once nginx has quit.
        sim.stop_answering(sim.targets[proxy.pod.name], proxy.quit)

    def accepts_until(self, sim: Sim, proxy: Proxy, target: Target) -> float:
        if sim.topology.load_balancer == "network":
            # Behind an NLB clients keep their connections to the pod, and send new requests on them
            # until nginx quits (or the NLB closes them at the end of its drain).
            return min(proxy.quit, sim.lb_cut(target))
        return min(target.stop_new, proxy.quit)

    def exit(self, sim: Sim, proxy: Proxy, last_request_end: float) -> float:
        return proxy.quit + min(proxy.fleet.drain_s, max(0.0, held(sim, proxy, last_request_end) - proxy.quit)) + (
            proxy.fleet.post_shutdown_s
        )


class EnvoyGateway:
    name = ENVOY
    reloads_close_connections = False

    def sync_lag(self, sim: Sim) -> float:
        return sim.delay("envoy.xds")

    def stop(self, sim: Sim, proxy: Proxy, deleted: float) -> None:
        proxy.drain_start = proxy.pod.sigterm  # the shutdown manager's preStop starts the drain at once
        proxy.cut = proxy.drain_start + proxy.fleet.drain_s
        proxy.quit = proxy.cut  # refined by exit() once the load balancer's drain is known
        sim.log(proxy.drain_start, "shutdown manager: health check fails, listeners draining", proxy.pod.name)
        sim.stop_answering(sim.targets[proxy.pod.name], proxy.drain_start)

    def accepts_until(self, sim: Sim, proxy: Proxy, target: Target) -> float:
        exit_at = self.exit(sim, proxy, target.drain_end)
        if sim.topology.load_balancer == "network":
            # Draining adds `Connection: close`: a kept connection carries one more request at most.
            return min(max(target.stop_new, proxy.drain_start), exit_at)
        return min(target.stop_new, exit_at)

    def exit(self, sim: Sim, proxy: Proxy, last_request_end: float) -> float:
        earliest = proxy.drain_start + proxy.fleet.shutdown_delay_s
        return min(proxy.cut, max(earliest, held(sim, proxy, last_request_end)))


BACKENDS: dict[str, Backend] = {NGINX: IngressNginx(), ENVOY: EnvoyGateway()}
