"""The settings models' own rules at their edges (config/workload, lifecycle, autoscaling, resources,
schedule, network, namespace, observability, operations, gateway, routing): the value at each edge
is accepted and the one just past it refused with the exact problem; rules that only one branch of
a cross-field check reaches; and the few settings whose only trace is in a rendered object, read
back from the object the program registers.

The expected numbers are worked out by hand from the defaults named in each comment, never
recomputed with the code under test."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import DELETE, Plan, run_stack
from offline.prerequisites import prerequisites
from tests.conftest import problems

NO_QUOTA = {"namespace": {"resourceQuota": None}}

# (case, accepted at the edge, refused one step past it, the exact problem of the refused one)
EDGES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    # --- the workload ------------------------------------------------------------------------
    (
        "session affinity up to one day",
        {"backend": {"service": {"sessionAffinityTimeoutSeconds": 86400}}},
        {"backend": {"service": {"sessionAffinityTimeoutSeconds": 86401}}},
        "backend.service.sessionAffinityTimeoutSeconds: 86401 — must be at most 86400",
    ),
    (
        "containers never run as root",
        {"backend": {"securityContext": {"runAsUser": 1, "runAsGroup": 1}}},
        {"backend": {"securityContext": {"runAsUser": 0, "runAsGroup": 1}}},
        "backend.securityContext.runAsUser: 0 — must be at least 1",
    ),
    (
        "nor in the root group",
        {"backend": {"securityContext": {"runAsUser": 1, "runAsGroup": 1}}},
        {"backend": {"securityContext": {"runAsUser": 1, "runAsGroup": 0}}},
        "backend.securityContext.runAsGroup: 0 — must be at least 1",
    ),
    (
        "a mount path once",
        {"frontend": {"scratchVolumes": [{"mountPath": "/tmp"}, {"mountPath": "/tmp/a"}]}},
        {"frontend": {"scratchVolumes": [{"mountPath": "/tmp"}, {"mountPath": "/var/run"}, {"mountPath": "/tmp"}]}},
        "frontend.scratchVolumes[2].mountPath: \"/tmp\" — is mounted twice",
    ),
    (
        "an existing Secret's name up to 253 characters",
        {"backend": {"existingSecret": "s" * 253}},
        {"backend": {"existingSecret": "s" * 254}},
        f"backend.existingSecret: \"{'s' * 76}... — must be at most 253 characters long (it has 254)",
    ),
    (
        "a memory target needs a memory request",
        {"backend": {"resources": {"requests": {"memory": None}}, "autoscaling": {"memoryUtilization": None}}},
        {"backend": {"resources": {"requests": {"memory": None}}}},
        "backend.autoscaling.memoryUtilization: 80 — needs resources.requests.memory: utilization is a percentage "
        "of the request",
    ),
    (
        # without a startup probe the readiness probe's budget counts: 10 s + 5 s x 3 = 25 s
        "progress deadline beyond the readiness budget when there is no startup probe",
        {"backend": {"probes": {"startup": None}, "rollout": {"progressDeadlineSeconds": 26}}},
        {"backend": {"probes": {"startup": None}, "rollout": {"progressDeadlineSeconds": 25}}},
        "backend.rollout.progressDeadlineSeconds: 25 — must exceed the readiness probe's budget (25 s), or a slow "
        "but healthy pod fails the rollout",
    ),
    (
        # the startup probe's initial delay counts too: 20 s + 10 s x 30 = 320 s
        "progress deadline beyond a delayed startup probe",
        {"backend": {"probes": {"startup": {"initialDelaySeconds": 20}}, "rollout": {"progressDeadlineSeconds": 321}}},
        {"backend": {"probes": {"startup": {"initialDelaySeconds": 20}}, "rollout": {"progressDeadlineSeconds": 320}}},
        "backend.rollout.progressDeadlineSeconds: 320 — must exceed the startup probe's budget (320 s), or a slow "
        "but healthy pod fails the rollout",
    ),
    # --- lifecycle -------------------------------------------------------------------------------
    (
        "a surge up to 100 %",
        {**NO_QUOTA, "frontend": {"rollout": {"maxSurge": "100%"}}},
        {**NO_QUOTA, "frontend": {"rollout": {"maxSurge": "101%"}}},
        "frontend.rollout.maxSurge: \"101%\" — must be a whole number from 0 to 2147483647 or a percentage such as "
        "25%",
    ),
    (
        "a surge is a number, not a boolean",
        {"frontend": {"rollout": {"maxSurge": 1}}},
        {"frontend": {"rollout": {"maxSurge": True}}},
        "frontend.rollout.maxSurge: true — must be a whole number from 0 to 2147483647 or a percentage such as 25%",
    ),
    (
        "0 % surge is no surge",
        {"frontend": {"rollout": {"maxSurge": "1%", "maxUnavailable": 0}}},
        {"frontend": {"rollout": {"maxSurge": "0%", "maxUnavailable": 0}}},
        "frontend.rollout.maxSurge: \"0%\" — must be at least 1 when rollout.maxUnavailable is 0, or a rollout can "
        "never start",
    ),
    (
        "0 % unavailable is none unavailable",
        {"frontend": {"rollout": {"maxSurge": 0, "maxUnavailable": "1%"}}},
        {"frontend": {"rollout": {"maxSurge": 0, "maxUnavailable": "0%"}}},
        "frontend.rollout.maxSurge: 0 — must be at least 1 when rollout.maxUnavailable is 0, or a rollout can "
        "never start",
    ),
    (
        "a progress deadline up to two hours",
        {"backend": {"rollout": {"progressDeadlineSeconds": 7200}}},
        {"backend": {"rollout": {"progressDeadlineSeconds": 7201}}},
        "backend.rollout.progressDeadlineSeconds: 7201 — must be at most 7200",
    ),
    (
        "a startup probe passes on its first success",
        {"backend": {"probes": {"startup": {"successThreshold": 1}, "readiness": {"successThreshold": 2}}}},
        {"backend": {"probes": {"startup": {"successThreshold": 2}}}},
        "backend.probes.startup.successThreshold: 2 — must be 1: Kubernetes accepts no other value for a startup "
        "probe",
    ),
    # --- autoscaling -----------------------------------------------------------------------------
    (
        "a utilization target up to 100 %",
        {"backend": {"autoscaling": {"cpuUtilization": 100, "memoryUtilization": 100}}},
        {"backend": {"autoscaling": {"cpuUtilization": 100, "memoryUtilization": 101}}},
        "backend.autoscaling.memoryUtilization: 101 — must be at most 100",
    ),
    (
        "a policy period up to 30 minutes",
        {"backend": {"autoscaling": {"behavior": {"scaleUp": {"policies": [
            {"type": "Pods", "value": 1, "periodSeconds": 1800}]}}}}},
        {"backend": {"autoscaling": {"behavior": {"scaleUp": {"policies": [
            {"type": "Pods", "value": 1, "periodSeconds": 1801}]}}}}},
        "backend.autoscaling.behavior.scaleUp.policies[0].periodSeconds: 1801 — must be at most 1800",
    ),
    (
        "a stabilization window up to one hour",
        {"backend": {"autoscaling": {"behavior": {"scaleUp": {"stabilizationWindowSeconds": 3600}}}}},
        {"backend": {"autoscaling": {"behavior": {"scaleUp": {"stabilizationWindowSeconds": 3601}}}}},
        "backend.autoscaling.behavior.scaleUp.stabilizationWindowSeconds: 3601 — must be at most 3600",
    ),
    (
        "enabled custom metrics with none left is no metric",
        {"backend": {"autoscaling": {"cpuUtilization": None, "memoryUtilization": None,
                                     "customMetrics": {"enabled": True, "requestsPerSecond": None}}},
         "monitoring": {"adapter": {"enabled": True}}},
        {"backend": {"autoscaling": {"cpuUtilization": None, "memoryUtilization": None,
                                     "customMetrics": {"enabled": True, "requestsPerSecond": None,
                                                       "activeConnections": None}}},
         "monitoring": {"adapter": {"enabled": True}}},
        "backend.autoscaling.cpuUtilization: the HPA needs at least one metric: set cpuUtilization, "
        "memoryUtilization or enable customMetrics",
    ),
    (
        "disabled custom metrics are no metric",
        {"backend": {"autoscaling": {"cpuUtilization": None, "customMetrics": {"enabled": False}}}},
        {"backend": {"autoscaling": {"cpuUtilization": None, "memoryUtilization": None,
                                     "customMetrics": {"enabled": False}}}},
        "backend.autoscaling.cpuUtilization: the HPA needs at least one metric: set cpuUtilization, "
        "memoryUtilization or enable customMetrics",
    ),
    # --- resources -------------------------------------------------------------------------------
    (
        # the backend's memory limit: 1Gi = 1024Mi
        "a memory request within its limit",
        {**NO_QUOTA, "backend": {"resources": {"requests": {"memory": "1024Mi"}}}},
        {**NO_QUOTA, "backend": {"resources": {"requests": {"memory": "1025Mi"}}}},
        "backend.resources.requests.memory: \"1025Mi\" — must not exceed limits.memory (1Gi); Kubernetes rejects a "
        "container whose request is above its limit",
    ),
    # --- schedules -------------------------------------------------------------------------------
    (
        "a schedule name up to 20 characters",
        {"frontend": {"schedules": [{"name": "n" * 20, "cron": "0 8 * * *", "minReplicas": 2}]}},
        {"frontend": {"schedules": [{"name": "n" * 21, "cron": "0 8 * * *", "minReplicas": 2}]}},
        f"frontend.schedules[0].name: \"{'n' * 21}\" — must be at most 20 characters long (it has 21)",
    ),
    # --- network policy --------------------------------------------------------------------------
    (
        "a data store has a port",
        {"networkPolicy": {"dataStores": [{"name": "postgres", "cidr": "10.0.5.0/24", "ports": [5432]}]}},
        {"networkPolicy": {"dataStores": [{"name": "postgres", "cidr": "10.0.5.0/24", "ports": []}]}},
        "networkPolicy.dataStores[0].ports: [] — must have at least 1 item (it has 0)",
    ),
    (
        "the API server's addresses are named",
        {"networkPolicy": {"apiServerCidrs": ["172.20.0.1/32"]}},
        {"networkPolicy": {"apiServerCidrs": []}},
        "networkPolicy.apiServerCidrs: [] — must have at least 1 item (it has 0)",
    ),
    (
        "the control plane's subnets are named",
        {"networkPolicy": {"controlPlaneCidrs": ["10.0.16.0/24"]}},
        {"networkPolicy": {"controlPlaneCidrs": []}},
        "networkPolicy.controlPlaneCidrs: [] — must have at least 1 item (it has 0)",
    ),
    (
        "a DNS pod label value up to 63 characters",
        {"networkPolicy": {"dnsPodLabels": {"k8s-app": "v" * 63}}},
        {"networkPolicy": {"dnsPodLabels": {"k8s-app": "v" * 64}}},
        f"networkPolicy.dnsPodLabels.k8s-app: \"{'v' * 64}\" — must be at most 63 characters long (it has 64)",
    ),
    # --- the cluster -----------------------------------------------------------------------------
    (
        "Kubernetes 1.30 or later",
        {"cluster": {"kubernetesVersion": "1.30"}},
        {"cluster": {"kubernetesVersion": "1.29"}},
        "cluster.kubernetesVersion: \"1.29\" — must be a Kubernetes minor version such as \"1.34\" (1.30 or later)",
    ),
    (
        "a cluster name up to 100 characters",
        {"cluster": {"name": "c" * 100}},
        {"cluster": {"name": "c" * 101}},
        f"cluster.name: \"{'c' * 76}... — must be at most 100 characters long (it has 101)",
    ),
    (
        "a Service CIDR down to /24",
        {"cluster": {"serviceCidr": "192.168.0.0/24"}},
        {"cluster": {"serviceCidr": "192.168.0.0/25"}},
        "cluster.serviceCidr: \"192.168.0.0/25\" — must be between /12 and /24 (EKS allows no other)",
    ),
    (
        "a Service CIDR up to /12",
        {"cluster": {"serviceCidr": "172.16.0.0/12"}},
        {"cluster": {"serviceCidr": "10.32.0.0/11"}},
        "cluster.serviceCidr: \"10.32.0.0/11\" — must be between /12 and /24 (EKS allows no other)",
    ),
    (
        "a Service CIDR in 192.168.0.0/16 but not in 192.169.0.0/16",
        {"cluster": {"serviceCidr": "192.168.128.0/17"}},
        {"cluster": {"serviceCidr": "192.169.0.0/16"}},
        "cluster.serviceCidr: \"192.169.0.0/16\" — must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 "
        "(EKS allows no other)",
    ),
    (
        "an IPv6 Service CIDR is refused as a problem, not a traceback",
        {"cluster": {"serviceCidr": "10.100.0.0/16"}},
        {"cluster": {"serviceCidr": "fd00::/108"}},
        "cluster.serviceCidr: \"fd00::/108\" — must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (EKS "
        "allows no other)",
    ),
    (
        # the VPC is 10.0.0.0/16
        "a Service CIDR beside the VPC",
        {"cluster": {"serviceCidr": "10.1.0.0/16"}},
        {"cluster": {"serviceCidr": "10.0.0.0/12"}},
        "cluster.serviceCidr: \"10.0.0.0/12\" — must not overlap cluster.vpcCidr (10.0.0.0/16); EKS refuses it",
    ),
    # --- observability ---------------------------------------------------------------------------
    (
        "an alarm period is whole minutes",
        {"monitoring": {"cloudWatch": {"alarms": {"unhealthyTargets": {"periodSeconds": 120}}}}},
        {"monitoring": {"cloudWatch": {"alarms": {"unhealthyTargets": {"periodSeconds": 90}}}}},
        "monitoring.cloudWatch.alarms.unhealthyTargets.periodSeconds: 90 — must be a multiple of 60: load balancer "
        "metrics are published once a minute, and CloudWatch accepts 10, 20 or 30 s only for high-resolution "
        "metrics",
    ),
    (
        "an alarm period up to one day",
        {"monitoring": {"cloudWatch": {"alarms": {"unhealthyTargets": {
            "periodSeconds": 86400, "evaluationPeriods": 1, "datapointsToAlarm": 1}}}}},
        {"monitoring": {"cloudWatch": {"alarms": {"unhealthyTargets": {
            "periodSeconds": 86460, "evaluationPeriods": 1, "datapointsToAlarm": 1}}}}},
        "monitoring.cloudWatch.alarms.unhealthyTargets.periodSeconds: 86460 — must be at most 86400",
    ),
    (
        "an SNS topic in a twelve-digit account",
        {"monitoring": {"cloudWatch": {"snsTopicArn": "arn:aws:sns:us-east-1:111122223333:oncall"}}},
        {"monitoring": {"cloudWatch": {"snsTopicArn": "arn:aws:sns:us-east-1:11112222333:oncall"}}},
        "monitoring.cloudWatch.snsTopicArn: \"arn:aws:sns:us-east-1:11112222333:oncall\" — must be an SNS topic ARN "
        "such as arn:aws:sns:us-east-1:111122223333:oncall",
    ),
    (
        "a dashboard label value up to 63 characters",
        {"monitoring": {"dashboard": {"labelValue": "v" * 63}}},
        {"monitoring": {"dashboard": {"labelValue": "v" * 64}}},
        f"monitoring.dashboard.labelValue: \"{'v' * 64}\" — must be at most 63 characters long (it has 64)",
    ),
    # --- operations ------------------------------------------------------------------------------
    (
        "npx's short --no keeps the registry out",
        {"migration": {"command": ["npx", "--no", "prisma", "migrate", "deploy"]}},
        {"migration": {"command": ["npx", "prisma", "migrate", "deploy"]}},
        "migration.command: [\"npx\", \"prisma\", \"migrate\", \"deploy\"] — must pass `--no-install` to npx: "
        "without it npx downloads a missing package from the registry and runs it with the migration's database "
        "credential",
    ),
    (
        "a migration may run 30 s or more",
        {"migration": {"activeDeadlineSeconds": 30}},
        {"migration": {"activeDeadlineSeconds": 29}},
        "migration.activeDeadlineSeconds: 29 — must be at least 30",
    ),
    (
        "half the internet may choose the canary, not all of it",
        {"canary": {"header": "X-Canary", "headerSourceCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}},
        {"canary": {"header": "X-Canary", "headerSourceCidrs": ["0.0.0.0/1", "0.0.0.0/0"]}},
        "canary.headerSourceCidrs[1]: \"0.0.0.0/0\" — must not be every address",
    ),
    (
        "three canary source ranges (an ALB condition's values)",
        {"canary": {"header": "X-Canary", "headerSourceCidrs": ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]}},
        {"canary": {"header": "X-Canary", "headerSourceCidrs": ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16",
                                                                "10.4.0.0/16"]}},
        "canary.headerSourceCidrs: [\"10.1.0.0/16\", \"10.2.0.0/16\", \"10.3.0.0/16\", \"10.4.0.0/16\"] — must have at "
        "most 3 items (it has 4)",
    ),
    (
        "a canary needs an image only when enabled",
        {"canary": {"enabled": False}},
        {"canary": {"enabled": True}},
        "canary.image: is required when the canary is enabled",
    ),
    (
        "a schedule pod's memory is whole bytes",
        {"scheduling": {"resources": {"cpu": "100m", "memory": "1000"}}},
        {"scheduling": {"resources": {"cpu": "100m", "memory": "100m"}}},
        "scheduling.resources.memory: \"100m\" — must be a whole number of bytes: 100m is 0.1 bytes (`m` means "
        "thousandths); write Mi for mebibytes, e.g. 256Mi",
    ),
    # --- gateway ---------------------------------------------------------------------------------
    (
        "two Envoy Gateway controllers at least",
        {"gateway": {"controller": {"replicas": 2, "minAvailable": 1}}},
        {"gateway": {"controller": {"replicas": 1, "minAvailable": 1}}},
        "gateway.controller.replicas: 1 — must be at least 2",
    ),
    # --- routing ---------------------------------------------------------------------------------
    (
        "a route name once",
        {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend"},
                                {"name": "b", "host": "frontend", "workload": "frontend"}]}},
        {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend"},
                                {"name": "a", "host": "frontend", "workload": "frontend"}]}},
        "routing.routes[1].name: \"a\" — is used by another route",
    ),
    (
        "the host keys, sorted",
        {"routing": {"hosts": {"web": "example.com", "api": "api.example.com"},
                     "routes": [{"name": "a", "host": "web", "workload": "frontend"}]}},
        {"routing": {"hosts": {"web": "example.com", "api": "api.example.com"},
                     "routes": [{"name": "a", "host": "www", "workload": "frontend"}]}},
        "routing.routes[0].host: \"www\" — is not a key of routing.hosts (api, frontend, web)",
    ),
    (
        "two host keys of one hostname",
        {"routing": {"hosts": {"api2": "api2.example.com"},
                     "routes": [{"name": "a", "host": "api", "workload": "backend"},
                                {"name": "b", "host": "api2", "workload": "backend"}]}},
        {"routing": {"hosts": {"api2": "api.example.com"},
                     "routes": [{"name": "a", "host": "api", "workload": "backend"},
                                {"name": "b", "host": "api2", "workload": "backend"}]}},
        "routing.routes[1].path: \"/\" — is already routed on api.example.com by routes[0] (routes[0] uses host "
        "`api`): the controller would serve only one of them",
    ),
    (
        "EWMA and client-IP hashing",
        {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend", "affinity": "clientIp"}]}},
        {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend", "loadBalance": "ewma",
                                 "affinity": "clientIp"}]}},
        "routing.routes[0].loadBalance: \"ewma\" — cannot be combined with client-IP hashing (upstream-hash-by): "
        "ingress-nginx would silently ignore the EWMA for this route's upstream and balance by the affinity instead",
    ),
    (
        "an affinity route has a Service of its own, a shared Service one balancing",
        {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend", "loadBalance": "ewma"},
                                {"name": "b", "host": "api", "path": "/x", "workload": "backend",
                                 "affinity": "cookie"}]}},
        {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend", "loadBalance": "ewma"},
                                {"name": "b", "host": "api", "path": "/x", "workload": "backend"}]}},
        "routing.routes[1].loadBalance: differs from routes[0] on the same backend Service: ingress-nginx balances "
        "per Service port, so one of them would be ignored",
    ),
    (
        "retries without a time limit",
        {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend",
                                 "retries": {"timeoutSeconds": 0}}]}},
        {"routing": {"routes": [{"name": "a", "host": "api", "workload": "backend",
                                 "retries": {"timeoutSeconds": -1}}]}},
        "routing.routes[0].retries.timeoutSeconds: -1 — must be at least 0",
    ),
    # --- the RolloutStuck estimate (backend: readiness 10 s + 5 s per success, 30 s to start a pod; the
    # frontend's 5 x 40 s = 200 s stays below every limit here) -----------------------------------------
    (
        # 9 pods, 2 at a time: 5 batches (the last of one pod) x 45 s
        "a last, partial batch counts",
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "226s"}},
         "backend": {"autoscaling": {"maxReplicas": 9}, "rollout": {"maxSurge": 2}}},
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "225s"}},
         "backend": {"autoscaling": {"maxReplicas": 9}, "rollout": {"maxSurge": 2}}},
        "monitoring.alerts.rolloutStuckFor: \"225s\" — must exceed the 225 s a normal rollout of backend takes at its "
        "maxReplicas (5 batches of 2 pod(s) (maxReplicas 9, maxSurge + maxUnavailable 2) x 45 s per pod (30 s "
        "start + 10 s readiness initialDelaySeconds + 1 x 5 s readiness periodSeconds + 0 s minReadySeconds) = "
        "225 s), or RolloutStuck fires on an ordinary rollout at peak",
    ),
    (
        # maxUnavailable 15 % of 10 pods rounds down to 1 (Kubernetes), plus the surge of 1: 5 batches x 45 s
        "unavailable pods round down",
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "226s"}},
         "backend": {"rollout": {"maxUnavailable": "15%"}}},
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "225s"}},
         "backend": {"rollout": {"maxUnavailable": "15%"}}},
        "monitoring.alerts.rolloutStuckFor: \"225s\" — must exceed the 225 s a normal rollout of backend takes at its "
        "maxReplicas (5 batches of 2 pod(s) (maxReplicas 10, maxSurge + maxUnavailable 2) x 45 s per pod (30 s "
        "start + 10 s readiness initialDelaySeconds + 1 x 5 s readiness periodSeconds + 0 s minReadySeconds) = "
        "225 s), or RolloutStuck fires on an ordinary rollout at peak",
    ),
    (
        # no surge and 5 % of 10 pods (0.5, rounded down to 0) unavailable: Kubernetes replaces one pod at a time
        "a rollout that rounds to no pod at a time replaces one",
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "451s"}},
         "backend": {"rollout": {"maxSurge": 0, "maxUnavailable": "5%"}}},
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "450s"}},
         "backend": {"rollout": {"maxSurge": 0, "maxUnavailable": "5%"}}},
        "monitoring.alerts.rolloutStuckFor: \"450s\" — must exceed the 450 s a normal rollout of backend takes at its "
        "maxReplicas (10 batches of 1 pod(s) (maxReplicas 10, maxSurge + maxUnavailable 1) x 45 s per pod (30 s "
        "start + 10 s readiness initialDelaySeconds + 1 x 5 s readiness periodSeconds + 0 s minReadySeconds) = "
        "450 s), or RolloutStuck fires on an ordinary rollout at peak",
    ),
    (
        # 10 batches x (30 + 10 + 2 x 5 + 7) s = 570 s
        "every readiness success and minReadySeconds count",
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "571s"}},
         "backend": {"probes": {"readiness": {"successThreshold": 2}}, "rollout": {"minReadySeconds": 7}}},
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "570s"}},
         "backend": {"probes": {"readiness": {"successThreshold": 2}}, "rollout": {"minReadySeconds": 7}}},
        "monitoring.alerts.rolloutStuckFor: \"570s\" — must exceed the 570 s a normal rollout of backend takes at its "
        "maxReplicas (10 batches of 1 pod(s) (maxReplicas 10, maxSurge + maxUnavailable 1) x 57 s per pod (30 s "
        "start + 10 s readiness initialDelaySeconds + 2 x 5 s readiness periodSeconds + 7 s minReadySeconds) = "
        "570 s), or RolloutStuck fires on an ordinary rollout at peak",
    ),
    (
        # the same 570 s: an hour is 3600 s, nine minutes 540 s
        "hours and minutes",
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "1h"}},
         "backend": {"probes": {"readiness": {"successThreshold": 2}}, "rollout": {"minReadySeconds": 7}}},
        {"monitoring": {"alerts": {"enabled": True, "rolloutStuckFor": "9m"}},
         "backend": {"probes": {"readiness": {"successThreshold": 2}}, "rollout": {"minReadySeconds": 7}}},
        "monitoring.alerts.rolloutStuckFor: \"9m\" — must exceed the 570 s a normal rollout of backend takes at its "
        "maxReplicas (10 batches of 1 pod(s) (maxReplicas 10, maxSurge + maxUnavailable 1) x 57 s per pod (30 s "
        "start + 10 s readiness initialDelaySeconds + 2 x 5 s readiness periodSeconds + 7 s minReadySeconds) = "
        "570 s), or RolloutStuck fires on an ordinary rollout at peak",
    ),
]


@pytest.mark.parametrize(("accepted", "refused", "problem"), [case[1:] for case in EDGES],
                         ids=[case[0] for case in EDGES])
def test_rule_edges(accepted: dict[str, Any], refused: dict[str, Any], problem: str) -> None:
    assert problems(accepted) == []
    assert problems(refused) == [problem]


def test_up_to_twenty_scratch_volumes() -> None:
    twenty = [{"mountPath": f"/scratch/{i}"} for i in range(20)]
    assert problems({"backend": {"scratchVolumes": twenty}}) == []
    [problem] = problems({"backend": {"scratchVolumes": [*twenty, {"mountPath": "/scratch/20"}]}})
    assert problem.startswith("backend.scratchVolumes: [{\"mountPath\": \"/scratch/0\"}, ")
    assert problem.endswith(" — must have at most 20 items (it has 21)")


def test_a_scratch_volume_name_is_a_dns_label() -> None:
    """`scratch-` and the mount path's words, cut to the 63 characters of a DNS label without a dash at the
    end; the root directory is `scratch-root`."""
    long = "/" + "a" * 54 + "/bbbb"  # scratch- + 54 a + "-" is 63 characters: the dash goes
    plan = run_stack("staging", {"frontend": {"scratchVolumes": [{"mountPath": "/"}, {"mountPath": long},
                                                                 {"mountPath": "/Var/Log/"}]}})
    pod = plan.k8s("Deployment", "spywatcher-frontend")["spec"]["template"]["spec"]
    names = ["scratch-root", "scratch-" + "a" * 54, "scratch-var-log"]
    assert pod["volumes"] == [{"name": n, "emptyDir": {"sizeLimit": "64Mi"}} for n in names]
    [container] = pod["containers"]
    assert container["volumeMounts"] == [{"name": n, "mountPath": p}
                                         for n, p in zip(names, ["/", long, "/Var/Log/"], strict=True)]


@pytest.mark.parametrize(("service_cidr", "reached"), [
    (None, ["172.21.0.0/16"]),  # both blocks EKS picks from when none was given are cut out
    ("10.100.0.0/16", ["172.20.0.0/15"]),  # only the cluster's own (the two /16 are one /15)
])
def test_the_backend_never_reaches_a_cluster_ip_over_https(service_cidr: str | None, reached: list[str]) -> None:
    plan = run_stack("staging", {"cluster": {"serviceCidr": service_cidr},
                                 "networkPolicy": {"backendHttpsCidrs": ["10.100.0.0/16", "172.20.0.0/16",
                                                                         "172.21.0.0/16"]}})
    egress = plan.k8s("NetworkPolicy", "spywatcher-backend-egress")["spec"]["egress"]
    assert egress[-1] == {"to": [{"ipBlock": {"cidr": c}} for c in reached],
                          "ports": [{"port": 443, "protocol": "TCP"}]}


@pytest.mark.parametrize(("listener", "container"), [(80, 10080), (1023, 11023), (1024, 1024), (8080, 8080)])
def test_the_proxy_listens_above_1024_on_a_privileged_listener_port(listener: int, container: int) -> None:
    """Envoy Gateway shifts a listener port below 1024 by 10000 inside the proxy container
    (internal/gatewayapi/listener.go, wellKnownPortShift @ v1.9.0); the target Service and the load
    balancer's access follow the port the container really opens."""
    plan = run_stack("staging", {"gateway": {"listenerPort": listener}})
    service = plan.k8s("Service", "spywatcher-gateway-targets", "spywatcher-gateway")
    assert service["spec"]["ports"] == [{"name": "http", "port": listener, "targetPort": container, "protocol": "TCP"}]
    binding = plan.k8s("TargetGroupBinding", "spywatcher-gateway", "spywatcher-gateway")
    assert binding["spec"]["networking"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": container}]


# The API server parses a CronJob's schedule with robfig/cron's standard parser (kubernetes/kubernetes
# pkg/apis/batch/validation/validation.go validateScheduleFormat), whose getRange (parser.go,
# robfig/cron@v3.0.1) refuses a range that starts after it ends and a step of 0; its own TestRange
# accepts "5-5", "5-6/2" and "*/2". A step past the field's end is one value.
CRON_PARSER = [
    ("5-5 0 1 1 0", None),
    ("5-6/2 0 1 1 0", None),
    ("*/2 0 1 1 0", None),
    ("0 0 1 1 */7", None),
    ("6-5 0 1 1 0", "field `6-5` must not start a range after its end (6-5)"),
    ("0 1,23-22 1 1 0", "field `1,23-22` must not start a range after its end (23-22)"),
    ("*/0 0 1 1 0", "field `*/0` must not step by 0 (*/0)"),
    ("0 0 1 1-12/0 0", "field `1-12/0` must not step by 0 (1-12/0)"),
    ("0 0 1,5/0 1 0", "field `1,5/0` must not step by 0 (5/0)"),
]


@pytest.mark.parametrize(("expression", "problem"), CRON_PARSER, ids=[c[0] for c in CRON_PARSER])
def test_a_schedule_the_api_server_would_refuse_is_refused(expression: str, problem: str | None) -> None:
    schedule = {"name": "night", "cron": expression, "minReplicas": 2}
    expected = [] if problem is None else [f"frontend.schedules[0].cron: \"{expression}\" — {problem}"]
    assert problems({"frontend": {"schedules": [schedule]}}) == expected


@pytest.mark.parametrize(("first", "second", "volume"), [
    ("/var/run", "/var-run", "scratch-var-run"),
    ("/tmp", "/tmp/", "scratch-tmp"),
    ("/" + "a" * 54 + "/b", "/" + "a" * 54 + "/c", "scratch-" + "a" * 54),
])
def test_two_mounts_may_not_share_a_volume_name(first: str, second: str, volume: str) -> None:
    """Each scratch volume is named from its mount path; two paths that differ only in punctuation or
    past the name's 63 characters would give the pod two volumes of one name, which the API server
    refuses."""
    mounts = [{"mountPath": "/cache"}, {"mountPath": first}, {"mountPath": second}]
    assert problems({"frontend": {"scratchVolumes": mounts}}) == [
        f"frontend.scratchVolumes[2].mountPath: \"{second}\" — gets the volume name {volume}, as scratchVolumes[1] "
        f"({first}) does: a pod's volumes need distinct names, and the name keeps only the path's letters and digits"]


def test_a_schedule_without_a_time_zone_runs_in_utc() -> None:
    night = {"name": "night", "cron": "0 22 * * *", "minReplicas": 2}
    plan = run_stack("staging", {"frontend": {"schedules": [night]}})
    spec = plan.k8s("CronJob", "spywatcher-frontend-night")["spec"]
    assert (spec["schedule"], spec["timeZone"]) == ("0 22 * * *", "UTC")


def test_custom_metrics_default_to_the_guides_targets() -> None:
    """Guide: 'http_requests_per_second: scale at 1000 rps/pod', 'active_connections: scale at 100
    connections/pod'; enabled, they come after the CPU and memory targets."""
    plan = run_stack("staging", {"backend": {"autoscaling": {"customMetrics": {"enabled": True}}},
                                 "monitoring": {"adapter": {"enabled": True}}})
    metrics = plan.k8s("HorizontalPodAutoscaler", "spywatcher-backend-hpa")["spec"]["metrics"]
    assert metrics == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
        {"type": "Resource",
         "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}},
        {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                                  "target": {"type": "AverageValue", "averageValue": "1k"}}},
        {"type": "Pods", "pods": {"metric": {"name": "websocket_active_connections"},
                                  "target": {"type": "AverageValue", "averageValue": "100"}}},
    ]


def test_the_namespace_baseline_defaults(plans: dict[str, Plan]) -> None:
    """Production says nothing of its quota and limits: the defaults (guide: 'Set namespace quotas')."""
    plan = plans["production"]
    assert plan.k8s("ResourceQuota", "spywatcher-quota", "spywatcher")["spec"] == {"hard": {
        "requests.cpu": "10", "requests.memory": "12Gi", "limits.cpu": "20", "limits.memory": "24Gi", "pods": "40"}}
    assert plan.k8s("LimitRange", "spywatcher-limits", "spywatcher")["spec"] == {"limits": [{
        "type": "Container",
        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
        "default": {"cpu": "500m", "memory": "256Mi"},
        "max": {"cpu": "2", "memory": "2Gi"},
    }]}


FAILS_CLOSED = ("; its pod-mutating webhook fails closed (chart value `podMutatorWebhookConfig.failurePolicy: Fail`), "
                "as `cluster.loadBalancerController` declares")


@pytest.mark.parametrize(("overrides", "said"), [
    ({"cluster": {"loadBalancerController": DELETE}}, ""),  # the chart's default since v2.11: Ignore
    ({"cluster": {"loadBalancerController": {"podMutatorFailurePolicy": "Fail"}}}, FAILS_CLOSED),
])
def test_the_controllers_webhook_fails_open_unless_declared(overrides: dict[str, Any], said: str) -> None:
    [controller] = [p for p in prerequisites(run_stack("staging", overrides))
                    if p.name == "AWS Load Balancer Controller"]
    assert controller.detail == "registers the targets and injects the pod readiness gates" + said


def test_uncovered_hosts_are_reported_by_key_and_only_if_a_route_uses_them() -> None:
    """The certificate check reads the hosts some route answers on, sorted by key: `api` before
    `frontend` although the stack file names `frontend` first, and never the unused `spare`."""
    assert problems({"routing": {"hosts": {"spare": "spare.example.net"}},
                     "loadBalancer": {"certificate": {"domains": ["other.example.org"]}}}) == [
        "routing.hosts.api: \"api.example.com\" — is not covered by any certificate domain (other.example.org): "
        "browsers would reject the TLS connection",
        "routing.hosts.frontend: \"example.com\" — is not covered by any certificate domain (other.example.org): "
        "browsers would reject the TLS connection",
    ]


@pytest.mark.parametrize(("port", "valid"), [("0", False), ("1", True), ("65535", True), ("65536", False),
                                             ("70000", False)])
def test_the_analysis_prometheus_port_is_checked_on_its_key_at_both_ends(port: str, valid: bool) -> None:
    """Past 65535 too the problem is on the key (Python's URL parser would raise instead)."""
    address = f"http://prom.monitoring.svc:{port}"
    found = problems({"rollouts": {"enabled": True, "analysis": {"prometheusAddress": address}},
                      "monitoring": {"serviceMonitor": {"enabled": True}}})
    assert found == ([] if valid else [
        f'rollouts.analysis.prometheusAddress: "{address}" — must name a port from 1 to 65535'])
