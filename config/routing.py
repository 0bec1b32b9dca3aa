"""Settings of the routing intent: hosts, routes and each route's own choices (balancing, affinity,
retries, timeouts, per-client limits).

One intent, rendered by every enabled backend: ingress-nginx as one Ingress per route with its
annotations (``components/routes.py``), Envoy Gateway as HTTPRoutes and policies
(``components/gateway/routes.py``). The controller-wide defaults a route falls back to live with
the controller (:mod:`config.traffic`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import DnsLabel, HttpPath, Model, Problems, int32, matching

Hostname = Annotated[
    str,
    matching(
        r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$",
        "a DNS hostname in lowercase such as api.example.com",
        max_length=253,
    ),
]


# --- Retries and timeouts ------------------------------------------------------------------

RetryCondition = Literal[
    "error",
    "timeout",
    "invalid_header",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_403",
    "http_404",
    "http_429",
    "non_idempotent",
    "off",
]


class Retries(Model):
    on: list[RetryCondition] = Field(
        ["error", "timeout", "http_502", "http_503", "http_504"],
        min_length=1,
        description="Guide: \"proxy-next-upstream: 'error timeout http_502 http_503 http_504'\".",
    )
    tries: Annotated[int, int32(ge=1, le=10)] = Field(3, description="Guide: 'Maximum 3 attempts'.")
    timeout_seconds: Annotated[int, int32(ge=0, le=600)] = Field(
        10, description="Guide: '10-second timeout for retries' (0: no limit)."
    )

    def conditions(self) -> str:
        return " ".join(self.on)


# --- Routes ----------------------------------------------------------------------------------


class Cookie(Model):
    name: Annotated[str, matching(r"^[A-Za-z0-9_-]{1,64}$", "a cookie name: letters, digits, - and _")] = Field(
        "SPYWATCHER_AFFINITY", description="Cookie name."
    )
    max_age_seconds: Annotated[int, int32(ge=1, le=31_536_000)] = Field(
        10800, description="Guide: '3-hour timeout for backend sessions'."
    )
    same_site: Literal["Strict", "Lax", "None"] = Field("Lax", description="SameSite attribute.")
    secure: bool = Field(True, description="Cookie only sent over HTTPS.")


class Timeouts(Model):
    read_seconds: Annotated[int, int32(ge=1, le=86400)] = Field(60, description="`proxy-read-timeout`.")
    send_seconds: Annotated[int, int32(ge=1, le=86400)] = Field(60, description="`proxy-send-timeout`.")


class ClientLimits(Model):
    """Per-client limits on one route, counted per client address (the real one, from the load
    balancer) by each controller replica: ingress-nginx `limit-connections` and `limit-rps`."""

    connections: Annotated[int, int32(ge=1, le=100_000)] | None = Field(
        50,
        description="Concurrent connections one client address may hold to the route (`limit-connections`; "
        "each WebSocket is one). More get 503. `null`: no limit.",
    )
    requests_per_second: Annotated[int, int32(ge=1, le=100_000)] | None = Field(
        50,
        description="Requests per second one client address may send to the route (`limit-rps`; bursts of "
        "five times as many are delayed, not refused). More get 503. `null`: no limit.",
    )


class Route(Model):
    name: DnsLabel = Field(description="Route name: the Ingress is `spywatcher-<name>`.")
    host: DnsLabel = Field(description="Key of `routing.hosts` this route answers on.")
    path: HttpPath = Field("/", description="Path prefix.")
    path_type: Literal["Prefix", "Exact"] = Field("Prefix", description="Ingress pathType.")
    workload: Literal["backend", "frontend"] = Field(description="Workload whose Service receives the traffic.")
    load_balance: Literal["ewma", "round_robin"] | None = Field(
        None, description="Per-route `load-balance`; `null` keeps the controller default."
    )
    affinity: Literal["none", "cookie", "clientIp"] = Field(
        "none",
        description="`cookie`: sticky sessions (guide: 'Sticky sessions for WebSocket connections'); "
        "`clientIp`: hash on the client address (guide: 'Hash-based routing using client IP').",
    )
    cookie: Cookie = Field(Cookie(), description="Cookie settings when `affinity` is `cookie`.")
    retries: Retries | None = Field(None, description="Per-route retries; `null` keeps the controller default.")
    timeouts: Timeouts | None = Field(
        None,
        description="Per-route proxy timeouts; `null`: the controller's (`ingressController.timeouts`). Outside "
        "a WebSocket route, a request may run this long, so it must fit in the workload's grace period after "
        "its preStop sleep.",
    )
    websocket: bool = Field(
        False,
        description="The route carries WebSockets (Socket.IO): its `timeouts` are each socket's budget, which "
        "every drain and reload must honour (ingress-nginx's `workerShutdownTimeoutSeconds` at least); Envoy "
        "Gateway upgrades its connections and sets no request timeout.",
    )
    client_limits: ClientLimits = Field(
        ClientLimits(),
        description="Per-client connection and request-rate limits, so unauthenticated clients cannot hold "
        "the backend at its maximum; the ALB's web ACL limits the rate in front of them.",
    )

    @model_validator(mode="after")
    def _ewma_needs_no_affinity(self) -> Route:
        problems = Problems()
        if self.load_balance == "ewma" and self.affinity != "none":
            kind = "cookie affinity" if self.affinity == "cookie" else "client-IP hashing (upstream-hash-by)"
            problems.add(
                ("loadBalance",),
                self.load_balance,
                f"cannot be combined with {kind}: ingress-nginx would silently ignore the EWMA for "
                "this route's upstream and balance by the affinity instead",
            )
        problems.raise_if_any("Route")
        return self

    @property
    def dedicated_service(self) -> bool:
        """An affinity route gets a Service of its own: ingress-nginx balances per Service port, so
        sharing one with an EWMA route would let the affinity override the EWMA there too."""
        return self.affinity != "none"


DEFAULT_ROUTES = [
    {"name": "frontend", "host": "frontend", "path": "/", "workload": "frontend"},
    {"name": "api", "host": "api", "path": "/", "workload": "backend", "loadBalance": "ewma", "retries": {}},
    {
        "name": "socketio",
        "host": "api",
        "path": "/socket.io",
        "workload": "backend",
        "affinity": "cookie",
        "cookie": {"name": "SPYWATCHER_SIO"},
        "timeouts": {"readSeconds": 3600, "sendSeconds": 3600},
        "websocket": True,
    },
]


class RoutingSettings(Model):
    hosts: dict[DnsLabel, Hostname] = Field(
        description="Host names by key, e.g. `frontend: spywatcher.example.com`, `api: api.spywatcher.example.com`."
    )
    routes: list[Route] = Field(
        [Route.model_validate(r) for r in DEFAULT_ROUTES],
        min_length=1,
        description="One Ingress each (class nginx). Default: frontend host `/` → frontend; API host `/` "
        "→ backend with EWMA and retries; API host `/socket.io` → backend with 3-hour cookie affinity, "
        "WebSockets and one-hour read/send timeouts (each socket's budget).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> RoutingSettings:
        problems = Problems()
        names: set[str] = set()
        seen: dict[tuple[str, str], int] = {}
        shared: dict[str, tuple[int, str | None]] = {}
        for index, route in enumerate(self.routes):
            if route.name in names:
                problems.add(("routes", index, "name"), route.name, "is used by another route")
            names.add(route.name)
            if route.host not in self.hosts:
                problems.add(
                    ("routes", index, "host"),
                    route.host,
                    f"is not a key of routing.hosts ({', '.join(sorted(self.hosts))})",
                )
            # Two host keys may name one hostname: the controller sees hostnames, not keys.
            key = (self.hosts.get(route.host, f"<{route.host}>"), route.path)
            if key in seen:
                other = self.routes[seen[key]]
                via = "" if other.host == route.host else f" (routes[{seen[key]}] uses host `{other.host}`)"
                problems.add(
                    ("routes", index, "path"),
                    route.path,
                    f"is already routed on {key[0]} by routes[{seen[key]}]{via}: the controller would serve "
                    "only one of them",
                )
            seen.setdefault(key, index)
            if not route.dedicated_service:
                first = shared.setdefault(route.workload, (index, route.load_balance))
                if first[1] != route.load_balance:
                    problems.add(
                        ("routes", index, "loadBalance"),
                        route.load_balance,
                        f"differs from routes[{first[0]}] on the same {route.workload} Service: "
                        "ingress-nginx balances per Service port, so one of them would be ignored",
                    )
        problems.raise_if_any("RoutingSettings")
        return self

    def host(self, route: Route) -> str:
        return self.hosts[route.host]

    def used_hosts(self) -> dict[str, str]:
        """The hosts some route answers on, by key (unused keys are left out)."""
        keys = {r.host for r in self.routes}
        return {k: v for k, v in sorted(self.hosts.items()) if k in keys}
