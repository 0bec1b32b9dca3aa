"""Bad config stops the program before any resource is registered, naming the key, value and rule."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, validate_settings
from offline.engine import DELETE, run_stack
from tests.conftest import MINIMAL_CONFIG, behind_nlb, config_error, problem_for, stack_settings

# (overrides of the staging stack file, key path that must be named, the exact problem reported for it)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "unknown key",
        {"backend": {"autoscaling": {"maxReplicaz": 3}}},
        "backend.autoscaling.maxReplicaz",
        ("backend.autoscaling.maxReplicaz: 3 — unknown key; did you mean `maxReplicas`? allowed keys: behavior, "
         "cpuUtilization, customMetrics, maxReplicas, memoryUtilization, minReplicas"),
    ),
    ("unknown top-level key", {"spywatcher:bakend": {"image": "x:1"}}, "bakend",
     ("bakend: {\"image\": \"x:1\"} — unknown key; did you mean `backend`? allowed keys: backend, canary, cluster, "
      "frontend, gateway, ingressController, kubeconfig, loadBalancer, migration, monitoring, namespace, "
      "networkPolicy, rollouts, routing, scheduling, secrets")),
    (
        "wrong type",
        {"backend": {"autoscaling": {"minReplicas": "two"}}},
        "backend.autoscaling.minReplicas",
        "backend.autoscaling.minReplicas: \"two\" — must be a whole number",
    ),
    (
        "replicas >= 1",
        {"frontend": {"autoscaling": {"minReplicas": 0}}},
        "frontend.autoscaling.minReplicas",
        "frontend.autoscaling.minReplicas: 0 — must be at least 1",
    ),
    (
        "utilization <= 100",
        {"backend": {"autoscaling": {"cpuUtilization": 101}}},
        "backend.autoscaling.cpuUtilization",
        "backend.autoscaling.cpuUtilization: 101 — must be at most 100",
    ),
    (
        "utilization >= 1",
        {"backend": {"autoscaling": {"memoryUtilization": 0}}},
        "backend.autoscaling.memoryUtilization",
        "backend.autoscaling.memoryUtilization: 0 — must be at least 1",
    ),
    (
        "policy period <= 1800",
        {
            "backend": {
                "autoscaling": {
                    "behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 1801}]}}
                }
            }
        },
        "backend.autoscaling.behavior.scaleUp.policies[0].periodSeconds",
        "backend.autoscaling.behavior.scaleUp.policies[0].periodSeconds: 1801 — must be at most 1800",
    ),
    (
        "policy period >= 1",
        {
            "frontend": {
                "autoscaling": {
                    "behavior": {"scaleDown": {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 0}]}}
                }
            }
        },
        "frontend.autoscaling.behavior.scaleDown.policies[0].periodSeconds",
        "frontend.autoscaling.behavior.scaleDown.policies[0].periodSeconds: 0 — must be at least 1",
    ),
    (
        "stabilization <= 3600",
        {"backend": {"autoscaling": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 3601}}}}},
        "backend.autoscaling.behavior.scaleDown.stabilizationWindowSeconds",
        "backend.autoscaling.behavior.scaleDown.stabilizationWindowSeconds: 3601 — must be at most 3600",
    ),
    (
        "stabilization >= 0",
        {"backend": {"autoscaling": {"behavior": {"scaleUp": {"stabilizationWindowSeconds": -1}}}}},
        "backend.autoscaling.behavior.scaleUp.stabilizationWindowSeconds",
        "backend.autoscaling.behavior.scaleUp.stabilizationWindowSeconds: -1 — must be at least 0",
    ),
    (
        "policy type",
        {
            "backend": {
                "autoscaling": {
                    "behavior": {"scaleUp": {"policies": [{"type": "Percentage", "value": 100, "periodSeconds": 30}]}}
                }
            }
        },
        "backend.autoscaling.behavior.scaleUp.policies[0].type",
        "backend.autoscaling.behavior.scaleUp.policies[0].type: \"Percentage\" — must be Percent or Pods",
    ),
    (
        "at least one policy",
        {"backend": {"autoscaling": {"behavior": {"scaleUp": {"policies": []}}}}},
        "backend.autoscaling.behavior.scaleUp.policies",
        "backend.autoscaling.behavior.scaleUp.policies: [] — must have at least 1 item (it has 0)",
    ),
    (
        "probe period >= 1",
        {"backend": {"probes": {"readiness": {"periodSeconds": 0}}}},
        "backend.probes.readiness.periodSeconds",
        "backend.probes.readiness.periodSeconds: 0 — must be at least 1",
    ),
    (
        "probe timeout >= 1",
        {"backend": {"probes": {"liveness": {"timeoutSeconds": 0}}}},
        "backend.probes.liveness.timeoutSeconds",
        "backend.probes.liveness.timeoutSeconds: 0 — must be at least 1",
    ),
    (
        "probe failures >= 1",
        {"frontend": {"probes": {"liveness": {"failureThreshold": 0}}}},
        "frontend.probes.liveness.failureThreshold",
        "frontend.probes.liveness.failureThreshold: 0 — must be at least 1",
    ),
    (
        "liveness success threshold is 1",
        {"backend": {"probes": {"liveness": {"successThreshold": 2}}}},
        "backend.probes.liveness.successThreshold",
        ("backend.probes.liveness.successThreshold: 2 — must be 1: Kubernetes accepts no other value for a "
         "liveness probe"),
    ),
    (
        "min <= max",
        {"backend": {"autoscaling": {"minReplicas": 5, "maxReplicas": 4}}},
        "backend.autoscaling.minReplicas",
        "backend.autoscaling.minReplicas: 5 — must not exceed autoscaling.maxReplicas (4)",
    ),
    (
        "cpu target needs a cpu request",
        {"backend": {"resources": {"requests": {"cpu": None}}}},
        "backend.autoscaling.cpuUtilization",
        ("backend.autoscaling.cpuUtilization: 70 — needs resources.requests.cpu: utilization is a percentage of "
         "the request"),
    ),
    (
        "memory target needs a memory request",
        {"frontend": {"resources": {"requests": {"memory": None}}}},
        "frontend.autoscaling.memoryUtilization",
        ("frontend.autoscaling.memoryUtilization: 80 — needs resources.requests.memory: utilization is a "
         "percentage of the request"),
    ),
    (
        "pdb leaves room for a drain",
        {"backend": {"disruptionBudget": {"minAvailable": 2}}},
        "backend.disruptionBudget.minAvailable",
        ("backend.disruptionBudget.minAvailable: 2 — must be less than autoscaling.minReplicas (2), or a node "
         "drain can never evict a pod at minimum scale"),
    ),
    (
        "surge when nothing may be unavailable",
        {"frontend": {"rollout": {"maxSurge": 0, "maxUnavailable": 0}}},
        "frontend.rollout.maxSurge",
        ("frontend.rollout.maxSurge: 0 — must be at least 1 when rollout.maxUnavailable is 0, or a rollout can "
         "never start"),
    ),
    (
        "surge as 0%",
        {"frontend": {"rollout": {"maxSurge": "0%", "maxUnavailable": "0%"}}},
        "frontend.rollout.maxSurge",
        ("frontend.rollout.maxSurge: \"0%\" — must be at least 1 when rollout.maxUnavailable is 0, or a rollout can "
         "never start"),
    ),
    (
        "surge format",
        {"frontend": {"rollout": {"maxSurge": "lots"}}},
        "frontend.rollout.maxSurge",
        ("frontend.rollout.maxSurge: \"lots\" — must be a whole number from 0 to 2147483647 or a percentage such as "
         "25%"),
    ),
    (
        "Envoy serves through the ALB's deregistration latency",
        {"gateway": {"shutdown": {"marginSeconds": 5}}},
        "gateway.shutdown.marginSeconds",
        ("gateway.shutdown.marginSeconds: 5 — must be at least 13: behind an application load balancer an Envoy "
         "proxy pod still gets new requests up to 13 s after it is deleted (EndpointSlice, the AWS Load Balancer "
         "Controller's DeregisterTargets, the load balancer's own propagation), and the load balancer drains it for "
         "loadBalancer.deregistrationDelaySeconds (60 s) from then; Envoy must keep serving until that drain has "
         "ended (minDrainDuration = delay + margin)"),
    ),
    (
        "a route's own timeouts within the grace period",
        {"routing": {"routes": [{"name": "api", "host": "api", "workload": "backend",
                                 "timeouts": {"readSeconds": 60, "sendSeconds": 15}}]}},
        "routing.routes[0].timeouts.readSeconds",
        ("routing.routes[0].timeouts.readSeconds: 60 — must not exceed the 15 s backend pods serve after SIGTERM "
         "(backend.shutdown.terminationGracePeriodSeconds 30 - preStopSleepSeconds 15; route `api`): a request "
         "admitted just before SIGTERM would be killed mid-flight"),
    ),
    (
        "an NLB with the ALB's budget",
        behind_nlb({"loadBalancer": {"weights": DELETE}, "gateway": DELETE,
                    "ingressController": {"shutdownMarginSeconds": 15}}),
        "ingressController.shutdownMarginSeconds",
        ("ingressController.shutdownMarginSeconds: 15 — must be at least 63: behind a network load balancer a "
         "controller pod still gets new connections up to 123 s after it is deleted (EndpointSlice, the AWS Load "
         "Balancer Controller's DeregisterTargets, the load balancer's own propagation of about 120 s whatever "
         "loadBalancer.deregistrationDelaySeconds says, aws-load-balancer-controller #2366 and #3270); nginx must "
         "keep serving that long (--shutdown-grace-period = delay + margin, 60 s + margin)"),
    ),
    (
        "behind an NLB, app pods outlive the clients' connections to a drained controller",
        behind_nlb({"loadBalancer": {"weights": DELETE}, "gateway": DELETE,
                    "frontend": {"shutdown": {"preStopSleepSeconds": 60}}}),
        "frontend.shutdown.preStopSleepSeconds",
        ("frontend.shutdown.preStopSleepSeconds: 60 — must be at least 185: a new request can reach the pod up "
         "to 185 s after its deletion, and it must still be serving then: a controller pod evicted with it (a "
         "node drain) stops updating its upstreams when told to stop, and an NLB's clients keep sending that "
         "controller requests on their connections until nginx quits"),
    ),
    (
        "grace period exceeds preStop",
        {"backend": {"shutdown": {"terminationGracePeriodSeconds": 10}}},
        "backend.shutdown.terminationGracePeriodSeconds",
        ("backend.shutdown.terminationGracePeriodSeconds: 10 — must exceed shutdown.preStopSleepSeconds (15), or "
         "the kubelet kills the container before it has had any time to shut down"),
    ),
    (
        "quota fits every workload at max plus surge (cpu)",
        {"backend": {"autoscaling": {"maxReplicas": 8}}},
        "namespace.resourceQuota.requests.cpu",
        ("namespace.resourceQuota.requests.cpu: \"2\" — is below the 2700m the stack's pods need at their peak, the "
         "workloads at maxReplicas plus rollout surge (backend 9 x 250m, frontend 4 x 50m, migration 1 x 250m); "
         "the HPA would silently stop short of its maximum"),
    ),
    (
        "quota fits (pods)",
        {"namespace": {"resourceQuota": {"pods": 8}}},
        "namespace.resourceQuota.pods",
        ("namespace.resourceQuota.pods: 8 — is below the 10 pods the stack runs at its peak, the workloads at "
         "maxReplicas plus rollout surge; the HPA would silently stop short of its maximum"),
    ),
    (
        "quota fits (memory limits)",
        {"frontend": {"resources": {"limits": {"memory": "1Gi"}}}},
        "namespace.resourceQuota.limits.memory",
        ("namespace.resourceQuota.limits.memory: \"6Gi\" — is below the 7Gi the stack's pods need at their peak, the"
         " workloads at maxReplicas plus rollout surge (backend 5 x 512Mi, frontend 4 x 1Gi, migration 1 x 512Mi);"
         " the HPA would silently stop short of its maximum"),
    ),
    (
        "limits within the LimitRange",
        {"backend": {"resources": {"limits": {"memory": "4Gi"}}}},
        "backend.resources.limits.memory",
        ("backend.resources.limits.memory: \"4Gi\" — exceeds namespace.limitRange.max.memory (2Gi); admission would "
         "reject the pods"),
    ),
    (
        "request within limit",
        {"frontend": {"resources": {"requests": {"cpu": "1"}}}},
        "frontend.resources.requests.cpu",
        ("frontend.resources.requests.cpu: \"1\" — must not exceed limits.cpu (250m); Kubernetes rejects a container"
         " whose request is above its limit"),
    ),
    (
        "quantity format",
        {"backend": {"resources": {"requests": {"memory": "lots"}}}},
        "backend.resources.requests.memory",
        "backend.resources.requests.memory: \"lots\" — must be a Kubernetes quantity such as 500m, 1, 512Mi or 2Gi",
    ),
    ("image required", {"frontend": {"image": DELETE}}, "frontend.image", "frontend.image: is required"),
    (
        "image pinned",
        {"frontend": {"image": "ghcr.io/subculture-collective/spywatcher-frontend"}},
        "frontend.image",
        ("frontend.image: \"ghcr.io/subculture-collective/spywatcher-frontend\" — must be pinned with a tag other "
         "than `latest` (it moves under a running Deployment), or a digest"),
    ),
    (
        "image not latest",
        {"backend": {"image": "ghcr.io/subculture-collective/spywatcher-backend:latest"}},
        "backend.image",
        ("backend.image: \"ghcr.io/subculture-collective/spywatcher-backend:latest\" — must be pinned with a tag "
         "other than `latest` (it moves under a running Deployment), or a digest"),
    ),
    (
        "progress deadline covers startup",
        {"backend": {"rollout": {"progressDeadlineSeconds": 300}}},
        "backend.rollout.progressDeadlineSeconds",
        ("backend.rollout.progressDeadlineSeconds: 300 — must exceed the startup probe's budget (300 s), or a slow"
         " but healthy pod fails the rollout"),
    ),
    ("explicit provider", {"cluster": {"context": None}}, "cluster.context",
     ("cluster.context: is required unless the secret spywatcher:kubeconfig is set: the program deploys only "
      "through an explicit provider")),
    ("namespace name", {"namespace": {"name": "Spy_Watcher"}}, "namespace.name",
     "namespace.name: \"Spy_Watcher\" — must be a DNS label: lowercase letters, digits and inner hyphens, such as "
     "my-app"),
    ("kubernetes version", {"cluster": {"kubernetesVersion": "1.29"}}, "cluster.kubernetesVersion",
     "cluster.kubernetesVersion: \"1.29\" — must be a Kubernetes minor version such as \"1.34\" (1.30 or later)"),
    ("env name", {"backend": {"env": {"bad-name": "x"}}}, "backend.env.bad-name (key)",
     ("backend.env.bad-name (key): \"bad-name\" — must be an environment variable name: letters, digits and _, not "
      "starting with a digit")),
    (
        "the controller's budget leaves room for a drain",
        {"ingressController": {"minAvailable": 2}},
        "ingressController.minAvailable",
        ("ingressController.minAvailable: 2 — must be below autoscaling.minReplicas (2), or a node drain can never "
         "evict a controller pod"),
    ),
    (
        "the ALB's drain outlasts a request",
        {"loadBalancer": {"deregistrationDelaySeconds": 10}},
        "loadBalancer.deregistrationDelaySeconds",
        ("loadBalancer.deregistrationDelaySeconds: 10 — must be at least the 15 s a request may take (route "
         "`frontend` through ingress-nginx: ingressController.timeouts.readSeconds): the ALB sends a draining target "
         "no new request, but cuts the ones in flight when this delay ends"),
    ),
    (
        "the ALB waits for a slow response",
        {"loadBalancer": {"idleTimeoutSeconds": 5}},
        "loadBalancer.idleTimeoutSeconds",
        ("loadBalancer.idleTimeoutSeconds: 5 — must be at least the 15 s a request may take (route `frontend` "
         "through ingress-nginx: ingressController.timeouts.readSeconds): the ALB closes a connection that carried "
         "no byte for this long and answers 504 to a request still waiting"),
    ),
    (
        "the ALB closes idle connections before nginx does",
        {"loadBalancer": {"idleTimeoutSeconds": 75}},
        "loadBalancer.idleTimeoutSeconds",
        ("loadBalancer.idleTimeoutSeconds: 75 — must be below ingress-nginx's keep-alive (75 s): otherwise nginx may "
         "close an idle connection just as the ALB sends a request on it, and the ALB answers 502"),
    ),
    (
        "Envoy's request timeout within the grace period",
        {"ingressController": {"retries": {"timeoutSeconds": 60}}},
        "ingressController.retries.timeoutSeconds",
        ("ingressController.retries.timeoutSeconds: 60 — must not exceed the 15 s frontend pods serve after SIGTERM "
         "(frontend.shutdown.terminationGracePeriodSeconds 30 - preStopSleepSeconds 15): it is Envoy's request "
         "timeout on route `frontend` (the retries' time bound), and a request admitted just before SIGTERM would be "
         "killed mid-flight"),
    ),
    (
        "Envoy's default route timeout within the grace period",
        {"frontend": {"shutdown": {"preStopSleepSeconds": 20}},
         "ingressController": {"timeouts": {"readSeconds": 5, "sendSeconds": 5}, "retries": {"on": ["off"]}}},
        "frontend.shutdown.terminationGracePeriodSeconds",
        ("frontend.shutdown.terminationGracePeriodSeconds: 30 — must leave the 15 s Envoy lets a request on route "
         "`frontend` run (its default route timeout: the route has no retries to bound it) after the preStop sleep "
         "(20 s), but leaves 10 s: a request admitted just before SIGTERM would be killed mid-flight"),
    ),
    (
        "behind an NLB, Envoy keeps a socket for its budget",
        behind_nlb({"loadBalancer": {"weights": DELETE}, "ingressController": {"enabled": False},
                    "gateway": {"shutdown": {"marginSeconds": 63}}}),
        "gateway.shutdown.drainSeconds",
        ("gateway.shutdown.drainSeconds: 30 — must be at least the 3600 s a WebSocket route allows a socket "
         "(routing.routes[2] `socketio`): behind a network load balancer a stopping proxy's sockets stay open until "
         "Envoy closes them itself, when its drain times out"),
    ),
    ("an HPA without a metric", {"backend": {"autoscaling": {"cpuUtilization": None, "memoryUtilization": None}}},
     "backend.autoscaling.cpuUtilization",
     "backend.autoscaling.cpuUtilization: the HPA needs at least one metric: set cpuUtilization, memoryUtilization "
     "or enable customMetrics"),
]


@pytest.mark.parametrize(("overrides", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_is_refused_before_any_resource(overrides: dict[str, Any], path: str, message: str) -> None:
    assert problem_for(config_error("staging", overrides), path) == message


def test_every_problem_is_reported_at_once() -> None:
    error = config_error(
        "production",
        {
            "backend": {"autoscaling": {"minReplicas": 0}},
            "frontend": {"shutdown": {"terminationGracePeriodSeconds": 5}, "autoscaling": {"cpuUtilization": 200}},
        },
    )
    paths = sorted(p.path for p in error.problems)
    assert paths == [
        "backend.autoscaling.minReplicas",
        "frontend.autoscaling.cpuUtilization",
        "frontend.shutdown.terminationGracePeriodSeconds",
    ]
    assert str(error).startswith("invalid stack configuration (3 problems")
    assert "backend.autoscaling.minReplicas: 0 — must be at least 1" in str(error)


def test_secrets_in_plain_text_are_refused() -> None:
    error = config_error("staging", {"kubeconfig": "apiVersion: v1", "secrets": {"frontend": {"TOKEN": "t0ps3cret"}}})
    for key in ("kubeconfig", "secrets"):
        assert problem_for(error, key) == (
            f"{key}: must be stored as a secret: `pulumi config set --secret spywatcher:{key} ...` (or `--secret "
            "--path` for one entry); plain text would land in the stack file and state")
    assert "t0ps3cret" not in str(error)


def test_secret_values_never_appear_in_messages() -> None:
    error = config_error("staging", secrets={"secrets": {"backend": {"API_KEY": "s3cr3t-value"}}})
    assert "s3cr3t-value" not in str(error)
    assert problem_for(error, "secrets.backend") == (
        "secrets.backend: [secret] — conflicts with backend.existingSecret (spywatcher-backend-secrets): use one "
        "source of secrets per workload")
    error = config_error("staging", secrets={"secrets": {"backend": {"bad key": "s3cr3t-value", "N": 5}}})
    assert "s3cr3t-value" not in str(error)
    assert problem_for(error, "secrets.backend.bad key (key)") == (
        "secrets.backend.bad key (key): [secret] — must be an environment variable name: letters, digits and _, "
        "not starting with a digit")
    assert problem_for(error, "secrets.backend.N") == (
        "secrets.backend.N: [secret] — must be text, not a number: write it in quotes so YAML keeps it text "
        "(unquoted, YAML reads a number and drops what a number does not need, such as trailing zeros)")


def test_secret_for_an_unknown_workload() -> None:
    error = config_error("staging", secrets={"secrets": {"worker": {"A": "b"}}})
    assert problem_for(error, "secrets.worker (key)") == "secrets.worker (key): [secret] — must be backend or frontend"


def test_secret_and_env_must_not_share_a_name() -> None:
    error = config_error(
        "staging",
        {"frontend": {"env": {"API_URL": "https://x"}}},
        secrets={"secrets": {"frontend": {"API_URL": "https://y"}}},
    )
    assert problem_for(error, "secrets.frontend.API_URL") == (
        "secrets.frontend.API_URL: [secret] — is also set in frontend.env; one variable must have one source")


def test_the_stack_files_are_valid() -> None:
    """Both keep the guide's minimum of 2 replicas (zero downtime); staging caps the maximum lower."""
    for stack, maximum in (("staging", (4, 3)), ("production", (10, 5))):
        settings = stack_settings(stack)
        backend, frontend = settings.backend.autoscaling, settings.frontend.autoscaling
        assert (backend.min_replicas, frontend.min_replicas) == (2, 2)
        assert (backend.max_replicas, frontend.max_replicas) == maximum


def test_defaults_are_the_guide_values() -> None:
    settings = validate_settings(MINIMAL_CONFIG, set(), "qa")
    backend, frontend = settings.backend, settings.frontend
    assert (backend.autoscaling.min_replicas, backend.autoscaling.max_replicas) == (2, 10)
    assert (frontend.autoscaling.min_replicas, frontend.autoscaling.max_replicas) == (2, 5)
    assert (backend.autoscaling.cpu_utilization, backend.autoscaling.memory_utilization) == (70, 80)
    assert backend.container_port == 3001 and frontend.container_port == 80
    assert backend.disruption_budget.min_available == 1
    assert (backend.rollout.max_surge, backend.rollout.max_unavailable) == (1, 0)
    assert backend.rollout.revision_history_limit == 10
    assert backend.shutdown.termination_grace_period_seconds == 30
    assert backend.service.session_affinity_timeout_seconds == 10800
    assert settings.namespace.name == "spywatcher"
    assert backend.autoscaling.custom_metrics.enabled is False
    lb, check, controller = settings.load_balancer, settings.load_balancer.health_check, settings.ingress_controller
    assert (lb.type, lb.name, lb.deletion_protection, lb.protect) == ("application", None, True, True)
    assert (check.path, check.interval_seconds, check.timeout_seconds) == ("/health/live", 30, 5)
    assert (check.healthy_threshold, check.unhealthy_threshold) == (2, 3)
    assert lb.deregistration_delay_seconds == 60
    assert (lb.cross_zone, lb.enable_http2, lb.idle_timeout_seconds) == (True, True, 60)
    assert controller.chart_version == "4.15.1" and controller.load_balance == "ewma"
    assert (
        controller.upstream_keepalive_connections,
        controller.upstream_keepalive_timeout_seconds,
        controller.upstream_keepalive_requests,
    ) == (100, 60, 100)
    assert (controller.retries.conditions(), controller.retries.tries, controller.retries.timeout_seconds) == (
        "error timeout http_502 http_503 http_504",
        3,
        10,
    )
    socketio = next(r for r in settings.routing.routes if r.name == "socketio")
    assert socketio.affinity == "cookie" and socketio.cookie.max_age_seconds == 10800


def test_config_error_is_a_pulumi_run_error() -> None:
    """Pulumi prints a RunError's message without a stack trace."""
    import pulumi

    with pytest.raises(ConfigError) as caught:
        run_stack("staging", {"backend": {"autoscaling": {"minReplicas": 0}}})
    assert isinstance(caught.value, pulumi.RunError)
