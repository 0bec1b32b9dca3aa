"""Every cross-field rule at its edge, from both sides: the last accepted value passes, one step
past it is refused with the exact problem. A rule tested only on clear violations stays green when
its `<` becomes `<=` (mutation testing found several); these tests do not.

The expected numbers are worked out by hand from the guide's defaults (see each comment), never
recomputed with the code under test."""

from __future__ import annotations

from typing import Any

import pytest

from config.schedule import cron_problem
from tests.conftest import behind_nlb, problems

NO_QUOTA = {"namespace": {"resourceQuota": None}}

# (case, accepted at the edge, refused one step past it, the exact problem of the refused one)
EDGES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        # backend 10 + maxSurge 1, frontend 5 + 1: 17 pods at the peak
        "quota pods",
        {"namespace": {"resourceQuota": {"pods": 17}}},
        {"namespace": {"resourceQuota": {"pods": 16}}},
        "namespace.resourceQuota.pods: 16 — is below the 17 pods the stack runs at its peak, the workloads at "
        "maxReplicas plus rollout surge; the HPA would silently stop short of its maximum",
    ),
    (
        # maxSurge 25 % rounds up, as Kubernetes does: backend 10 + ceil(2.5) = 13, frontend 5 + ceil(1.25) = 7
        "surge rounds up",
        {"namespace": {"resourceQuota": {"pods": 20}}, "backend": {"rollout": {"maxSurge": "25%"}},
         "frontend": {"rollout": {"maxSurge": "25%"}}},
        {"namespace": {"resourceQuota": {"pods": 19}}, "backend": {"rollout": {"maxSurge": "25%"}},
         "frontend": {"rollout": {"maxSurge": "25%"}}},
        "namespace.resourceQuota.pods: 19 — is below the 20 pods the stack runs at its peak, the workloads at "
        "maxReplicas plus rollout surge; the HPA would silently stop short of its maximum",
    ),
    (
        # requests.cpu: 11 x 500m + 6 x 100m = 6.1 cores
        "quota requests.cpu",
        {"namespace": {"resourceQuota": {"requests": {"cpu": "6100m"}}}},
        {"namespace": {"resourceQuota": {"requests": {"cpu": "6099m"}}}},
        "namespace.resourceQuota.requests.cpu: \"6099m\" — is below the 6100m the stack's pods need at their peak, "
        "the workloads at maxReplicas plus rollout surge (backend 11 x 500m, frontend 6 x 100m); the HPA would "
        "silently stop short of its maximum",
    ),
    (
        # limits.memory: 11 x 1Gi + 6 x 256Mi = 12800Mi
        "quota limits.memory",
        {"namespace": {"resourceQuota": {"limits": {"memory": "12800Mi"}}}},
        {"namespace": {"resourceQuota": {"limits": {"memory": "12799Mi"}}}},
        "namespace.resourceQuota.limits.memory: \"12799Mi\" — is below the 12800Mi the stack's pods need at their "
        "peak, the workloads at maxReplicas plus rollout surge (backend 11 x 1Gi, frontend 6 x 256Mi); the HPA "
        "would silently stop short of its maximum",
    ),
    (
        "a workload's limit against the LimitRange max",
        {**NO_QUOTA, "backend": {"resources": {"limits": {"cpu": "2"}}}},
        {**NO_QUOTA, "backend": {"resources": {"limits": {"cpu": "2001m"}}}},
        "backend.resources.limits.cpu: \"2001m\" — exceeds namespace.limitRange.max.cpu (2); admission would reject "
        "the pods",
    ),
    (
        "LimitRange default within max",
        {"namespace": {"limitRange": {"default": {"cpu": "2"}}}},
        {"namespace": {"limitRange": {"default": {"cpu": "2001m"}}}},
        "namespace.limitRange.default.cpu: \"2001m\" — must not exceed max.cpu (2)",
    ),
    (
        "LimitRange defaultRequest within default",
        {"namespace": {"limitRange": {"defaultRequest": {"memory": "256Mi"}}}},
        {"namespace": {"limitRange": {"defaultRequest": {"memory": "257Mi"}}}},
        "namespace.limitRange.defaultRequest.memory: \"257Mi\" — must not exceed default.memory (256Mi)",
    ),
    (
        "a request within its limit",
        {**NO_QUOTA, "backend": {"resources": {"requests": {"cpu": "1"}}}},
        {**NO_QUOTA, "backend": {"resources": {"requests": {"cpu": "1001m"}}}},
        "backend.resources.requests.cpu: \"1001m\" — must not exceed limits.cpu (1); Kubernetes rejects a container "
        "whose request is above its limit",
    ),
    (
        # deregistration 60 s + margin 15 s + nginx drain 3600 s + exit 10 s = 3685 s
        "controller grace period covers the drain",
        {"ingressController": {"terminationGracePeriodSeconds": 3685}},
        {"ingressController": {"terminationGracePeriodSeconds": 3684}},
        "ingressController.terminationGracePeriodSeconds: 3684 — must cover the load balancer's deregistration "
        "delay plus the controller's drain: 60 s (loadBalancer.deregistrationDelaySeconds) + 15 s margin + 3600 s "
        "nginx drain + 10 s exit = 3685 s, or the kubelet kills pods that still hold connections",
    ),
    (
        # EndpointSlice 1 s + DeregisterTargets 2 s + the ALB's propagation 10 s (config/delays.py)
        "the margin covers the ALB's deregistration latency",
        {"ingressController": {"shutdownMarginSeconds": 13}},
        {"ingressController": {"shutdownMarginSeconds": 12}},
        "ingressController.shutdownMarginSeconds: 12 — must be at least 13: behind an application load balancer "
        "a controller pod still gets new requests up to 13 s after it is deleted (EndpointSlice, the AWS Load "
        "Balancer Controller's DeregisterTargets, the load balancer's own propagation), and the load balancer "
        "drains it for loadBalancer.deregistrationDelaySeconds (60 s) from then; nginx must keep serving until "
        "that drain has ended (--shutdown-grace-period = delay + margin)",
    ),
    (
        # The longest request: ingress-nginx's 15 s read timeout (the controller's, every route's).
        "the ALB's drain outlasts a request",
        {"loadBalancer": {"deregistrationDelaySeconds": 15}},
        {"loadBalancer": {"deregistrationDelaySeconds": 14}},
        "loadBalancer.deregistrationDelaySeconds: 14 — must be at least the 15 s a request may take (route "
        "`frontend` through ingress-nginx: ingressController.timeouts.readSeconds): the ALB sends a draining target "
        "no new request, but cuts the ones in flight when this delay ends",
    ),
    (
        "the ALB waits for a slow response",
        {"loadBalancer": {"idleTimeoutSeconds": 15}},
        {"loadBalancer": {"idleTimeoutSeconds": 14}},
        "loadBalancer.idleTimeoutSeconds: 14 — must be at least the 15 s a request may take (route `frontend` "
        "through ingress-nginx: ingressController.timeouts.readSeconds): the ALB closes a connection that carried "
        "no byte for this long and answers 504 to a request still waiting",
    ),
    (
        # ingress-nginx's keep-alive: 75 s (ConfigMap default, config/delays.py)
        "the ALB closes idle connections before nginx does",
        {"loadBalancer": {"idleTimeoutSeconds": 74}},
        {"loadBalancer": {"idleTimeoutSeconds": 75}},
        "loadBalancer.idleTimeoutSeconds: 75 — must be below ingress-nginx's keep-alive (75 s): otherwise nginx may "
        "close an idle connection just as the ALB sends a request on it, and the ALB answers 502",
    ),
    (
        "the controller's budget leaves room for a drain",
        {"ingressController": {"minAvailable": 2, "autoscaling": {"minReplicas": 3}}},
        {"ingressController": {"minAvailable": 3, "autoscaling": {"minReplicas": 3}}},
        "ingressController.minAvailable: 3 — must be below autoscaling.minReplicas (3), or a node drain can never "
        "evict a controller pod",
    ),
    (
        # ... and the NLB's 120 s whatever the delay (aws-load-balancer-controller #2366, #3270): 60 s + 63 s
        "an NLB needs more than the ALB's budget",
        behind_nlb({"ingressController": {"shutdownMarginSeconds": 63}, "loadBalancer": {"waf": {"enabled": False}}}),
        behind_nlb({"ingressController": {"shutdownMarginSeconds": 62}, "loadBalancer": {"waf": {"enabled": False}}}),
        "ingressController.shutdownMarginSeconds: 62 — must be at least 63: behind a network load balancer a "
        "controller pod still gets new connections up to 123 s after it is deleted (EndpointSlice, the AWS Load "
        "Balancer Controller's DeregisterTargets, the load balancer's own propagation of about 120 s whatever "
        "loadBalancer.deregistrationDelaySeconds says, aws-load-balancer-controller #2366 and #3270); nginx must "
        "keep serving that long (--shutdown-grace-period = delay + margin, 60 s + margin)",
    ),
    (
        "the reload budget covers the socket routes'",
        {"ingressController": {"workerShutdownTimeoutSeconds": 3600}},
        {"ingressController": {"workerShutdownTimeoutSeconds": 3599}},
        "ingressController.workerShutdownTimeoutSeconds: 3599 — must be at least the 3600 s a WebSocket route "
        "allows a socket (routing.routes[2] `socketio`): every nginx reload (an Ingress added or changed, the "
        "canary turned on) leaves the open sockets on the old workers, which close them all at once when this "
        "timeout ends (ingress-nginx #2461, #7115)",
    ),
    (
        # grace 30 s - preStop 15 s
        "route timeouts within the grace period",
        {"ingressController": {"timeouts": {"readSeconds": 15, "sendSeconds": 15}}},
        {"ingressController": {"timeouts": {"readSeconds": 16, "sendSeconds": 15}}},
        "ingressController.timeouts.readSeconds: 16 — must not exceed the 15 s backend pods serve after SIGTERM "
        "(backend.shutdown.terminationGracePeriodSeconds 30 - preStopSleepSeconds 15; route `api`): a request "
        "admitted just before SIGTERM would be killed mid-flight",
    ),
    (
        # the same 13 s: a controller pod drained with the app pod still gets requests, its upstreams frozen
        "preStop outlasts the requests that can still arrive",
        {"backend": {"shutdown": {"preStopSleepSeconds": 13}}},
        {"backend": {"shutdown": {"preStopSleepSeconds": 12}}},
        "backend.shutdown.preStopSleepSeconds: 12 — must be at least 13: a new request can reach the pod up to "
        "13 s after its deletion, and it must still be serving then: a controller pod evicted with it (a node "
        "drain) stops updating its upstreams when told to stop, and the ALB still sends that controller new "
        "requests",
    ),
    (
        "minReplicas up to maxReplicas",
        {"frontend": {"autoscaling": {"minReplicas": 5}}},
        {"frontend": {"autoscaling": {"minReplicas": 6}}},
        "frontend.autoscaling.minReplicas: 6 — must not exceed autoscaling.maxReplicas (5)",
    ),
    (
        "PDB minAvailable below minReplicas",
        {"backend": {"autoscaling": {"minReplicas": 3}, "disruptionBudget": {"minAvailable": 2}}},
        {"backend": {"autoscaling": {"minReplicas": 3}, "disruptionBudget": {"minAvailable": 3}}},
        "backend.disruptionBudget.minAvailable: 3 — must be less than autoscaling.minReplicas (3), or a node "
        "drain can never evict a pod at minimum scale",
    ),
    (
        # the backend's startup probe: 0 s + 10 s x 30 = 300 s
        "progress deadline beyond the startup budget",
        {"backend": {"rollout": {"progressDeadlineSeconds": 301}}},
        {"backend": {"rollout": {"progressDeadlineSeconds": 300}}},
        "backend.rollout.progressDeadlineSeconds: 300 — must exceed the startup probe's budget (300 s), or a "
        "slow but healthy pod fails the rollout",
    ),
    (
        "progress deadline beyond minReadySeconds",
        {"backend": {"rollout": {"progressDeadlineSeconds": 401, "minReadySeconds": 400}}},
        {"backend": {"rollout": {"progressDeadlineSeconds": 400, "minReadySeconds": 400}}},
        "backend.rollout.progressDeadlineSeconds: 400 — must exceed rollout.minReadySeconds (400)",
    ),
    (
        # requests limited to the second left after the preStop sleep, so only this rule is at its edge
        "grace period beyond the preStop sleep",
        {"backend": {"shutdown": {"terminationGracePeriodSeconds": 16, "preStopSleepSeconds": 15}},
         "ingressController": {"timeouts": {"readSeconds": 1, "sendSeconds": 1}}},
        {"backend": {"shutdown": {"terminationGracePeriodSeconds": 15, "preStopSleepSeconds": 15}}},
        "backend.shutdown.terminationGracePeriodSeconds: 15 — must exceed shutdown.preStopSleepSeconds (15), or "
        "the kubelet kills the container before it has had any time to shut down",
    ),
    (
        "a schedule's minimum up to maxReplicas",
        {"frontend": {"schedules": [{"name": "peak", "cron": "0 8 * * *", "minReplicas": 5}]}},
        {"frontend": {"schedules": [{"name": "peak", "cron": "0 8 * * *", "minReplicas": 6}]}},
        "frontend.schedules[0].minReplicas: 6 — must not exceed autoscaling.maxReplicas (5)",
    ),
    (
        "a schedule's minimum above the PDB's minAvailable",
        {"frontend": {"schedules": [{"name": "night", "cron": "0 22 * * *", "minReplicas": 2}]}},
        {"frontend": {"schedules": [{"name": "night", "cron": "0 22 * * *", "minReplicas": 1}]}},
        "frontend.schedules[0].minReplicas: 1 — must exceed disruptionBudget.minAvailable (1), or a node drain "
        "can never evict a pod while the schedule holds",
    ),
    (
        # the controller's HPA: maxReplicas 6
        "the controller's minReplicas up to its maxReplicas",
        {"ingressController": {"autoscaling": {"minReplicas": 6}}},
        {"ingressController": {"autoscaling": {"minReplicas": 7}}},
        "ingressController.autoscaling.minReplicas: 7 — must not exceed maxReplicas (6)",
    ),
    (
        # the interval is 30 s
        "health check timeout below the interval",
        {"loadBalancer": {"healthCheck": {"timeoutSeconds": 29}}},
        {"loadBalancer": {"healthCheck": {"timeoutSeconds": 30}}},
        "loadBalancer.healthCheck.timeoutSeconds: 30 — must be shorter than healthCheck.intervalSeconds (30); AWS "
        "rejects it otherwise",
    ),
    (
        "an alarm's datapoints up to its evaluation periods",
        {"monitoring": {"cloudWatch": {"alarms": {"unhealthyTargets": {"evaluationPeriods": 4,
                                                                         "datapointsToAlarm": 4}}}}},
        {"monitoring": {"cloudWatch": {"alarms": {"unhealthyTargets": {"evaluationPeriods": 4,
                                                                         "datapointsToAlarm": 5}}}}},
        "monitoring.cloudWatch.alarms.unhealthyTargets.datapointsToAlarm: 5 — must not exceed evaluationPeriods (4) "
        "(CloudWatch rejects the alarm)",
    ),
    (
        # 300 s x 288 = 86400 s, CloudWatch's one day
        "an alarm's lookback up to one day",
        {"monitoring": {"cloudWatch": {"alarms": {"unhealthyTargets": {"periodSeconds": 300,
                                                                         "evaluationPeriods": 288}}}}},
        {"monitoring": {"cloudWatch": {"alarms": {"unhealthyTargets": {"periodSeconds": 300,
                                                                         "evaluationPeriods": 289}}}}},
        "monitoring.cloudWatch.alarms.unhealthyTargets.evaluationPeriods: 289 — x periodSeconds (300) = 86700 s "
        "exceeds the one day (86400 s) CloudWatch lets an alarm evaluate",
    ),
    (
        "Envoy Gateway's controller budget below its replicas",
        {"gateway": {"controller": {"replicas": 3, "minAvailable": 2}}},
        {"gateway": {"controller": {"replicas": 3, "minAvailable": 3}}},
        "gateway.controller.minAvailable: 3 — must be below replicas (3), or a node drain can never evict a "
        "controller pod",
    ),
    (
        "Envoy proxies' budget below their minReplicas",
        {"gateway": {"autoscaling": {"minReplicas": 3}, "minAvailable": 2}},
        {"gateway": {"autoscaling": {"minReplicas": 3}, "minAvailable": 3}},
        "gateway.minAvailable: 3 — must be below autoscaling.minReplicas (3), or a node drain can never evict a "
        "proxy pod",
    ),
]


@pytest.mark.parametrize(("accepted", "refused", "problem"), [case[1:] for case in EDGES],
                         ids=[case[0] for case in EDGES])
def test_rule_edges(accepted: dict[str, Any], refused: dict[str, Any], problem: str) -> None:
    assert problems(accepted) == []
    assert problems(refused) == [problem]


def test_the_edge_table_is_not_empty() -> None:
    assert len(EDGES) == 31


# cron fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12, day of week 0-6 (robfig/cron@v3.0.1
# spec.go, the parser the API server validates a CronJob's schedule with: Sunday is 0, never 7)
CRON_EDGES = [
    ("0 0 1 1 0", None),
    ("59 23 31 12 6", None),
    ("*/15 0-23 1,15,31 1-12 1-5", None),
    ("60 0 1 1 0", "field `60` must stay within 0-59"),
    ("0 24 1 1 0", "field `24` must stay within 0-23"),
    ("0 0 0 1 0", "field `0` must stay within 1-31"),
    ("0 0 32 1 0", "field `32` must stay within 1-31"),
    ("0 0 1 0 0", "field `0` must stay within 1-12"),
    ("0 0 1 13 0", "field `13` must stay within 1-12"),
    ("0 0 1 1 7", "field `7` must stay within 0-6"),
    ("0 0 1-32 1 0", "field `1-32` must stay within 1-31"),
    ("*/60 0 1 1 0", None),  # a step is not a value of the field
    ("0 22 * * 1-5 *", "must be a five-field cron expression such as `0 22 * * 1-5`"),
    ("0 22 * *", "must be a five-field cron expression such as `0 22 * * 1-5`"),
    ("0 22 * * MON", "must be a five-field cron expression such as `0 22 * * 1-5`"),
]


@pytest.mark.parametrize(("expression", "problem"), CRON_EDGES, ids=[c[0] for c in CRON_EDGES])
def test_cron_field_ranges_at_both_ends(expression: str, problem: str | None) -> None:
    assert cron_problem(expression) == problem


def test_a_bad_cron_is_reported_on_its_key() -> None:
    schedules = {"frontend": {"schedules": [{"name": "night", "cron": "0 24 * * *", "minReplicas": 2}]}}
    assert problems(schedules) == ["frontend.schedules[0].cron: \"0 24 * * *\" — field `24` must stay within 0-23"]


def test_a_limit_range_may_leave_a_resource_unset() -> None:
    """Only resources set on both sides are compared: a LimitRange without a cpu default request is valid."""
    from config.namespace import LimitRange
    from config.workload import ResourceAmounts

    partial = LimitRange(default_request=ResourceAmounts(memory="128Mi"), default=ResourceAmounts(cpu="3"),
                         max=ResourceAmounts(memory="2Gi"))
    assert (partial.default_request.cpu, partial.default.memory, partial.max.cpu) == (None, None, None)
    assert problems({"namespace": {"limitRange": {"defaultRequest": {"cpu": None}, "max": {"memory": None}}}}) == []
