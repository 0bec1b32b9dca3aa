"""The guide's workload numbers, asserted on the objects each stack's program registers."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Plan, Secret, reveal, run_stack

NAMESPACE = {"production": "spywatcher", "staging": "spywatcher-staging"}

# What each stack must register: the guide's numbers for production, the smaller staging ones.
EXPECTED: dict[str, dict[str, dict[str, Any]]] = {
    "production": {
        "backend": {"max": 10, "requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "frontend": {"max": 5, "requests": {"cpu": "100m", "memory": "128Mi"},
                     "limits": {"cpu": "500m", "memory": "256Mi"}},
    },
    "staging": {
        "backend": {"max": 4, "requests": {"cpu": "250m", "memory": "256Mi"},
                    "limits": {"cpu": "500m", "memory": "512Mi"}},
        "frontend": {"max": 3, "requests": {"cpu": "50m", "memory": "64Mi"},
                     "limits": {"cpu": "250m", "memory": "128Mi"}},
    },
}
WORKLOADS = ("backend", "frontend")
PORTS = {"backend": 3001, "frontend": 80}


def _deployment(plan: Plan, workload: str) -> dict[str, Any]:
    return plan.k8s("Deployment", f"spywatcher-{workload}", NAMESPACE[plan.stack])


def _container(plan: Plan, workload: str) -> dict[str, Any]:
    containers = _deployment(plan, workload)["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == [workload]
    return containers[0]


@pytest.mark.parametrize("workload", WORKLOADS)
def test_hpa_replicas_targets_and_behavior(plan: Plan, workload: str) -> None:
    hpa = plan.k8s("HorizontalPodAutoscaler", f"spywatcher-{workload}-hpa", NAMESPACE[plan.stack])
    spec = hpa["spec"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"spywatcher-{workload}"}
    assert spec["minReplicas"] == 2
    assert spec["maxReplicas"] == EXPECTED[plan.stack][workload]["max"]
    assert spec["metrics"] == [
        {"type": "Resource",
         "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
        {"type": "Resource",
         "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}},
    ]
    assert spec["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 30},
                {"type": "Pods", "value": 2, "periodSeconds": 30},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "selectPolicy": "Min",
            "policies": [
                {"type": "Percent", "value": 50, "periodSeconds": 60},
                {"type": "Pods", "value": 1, "periodSeconds": 60},
            ],
        },
    }


@pytest.mark.parametrize("workload", WORKLOADS)
def test_deployment_rollout_is_zero_downtime(plan: Plan, workload: str) -> None:
    deployment = _deployment(plan, workload)
    spec = deployment["spec"]
    assert "replicas" not in spec, "an HPA-managed Deployment must leave spec.replicas to the HPA"
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30
    container = _container(plan, workload)
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 15}}}
    assert container["lifecycle"]["preStop"]["sleep"]["seconds"] < pod["terminationGracePeriodSeconds"]
    # Pulumi waits for the rollout longer than the Deployment's own progress deadline.
    registration = plan.get("kubernetes:apps/v1:Deployment", f"{workload}-deployment")
    assert registration.custom_timeouts == {"create": "900s", "update": "900s"}


def test_backend_probes_match_the_guide(plan: Plan) -> None:
    container = _container(plan, "backend")
    http = {"port": "http", "scheme": "HTTP"}
    assert container["ports"] == [
        {"name": "http", "containerPort": 3001, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9464, "protocol": "TCP"},  # no route reaches it
    ]
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/health/live", **http}, "initialDelaySeconds": 30, "periodSeconds": 10,
        "timeoutSeconds": 5, "successThreshold": 1, "failureThreshold": 3,
    }
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/health/ready", **http}, "initialDelaySeconds": 10, "periodSeconds": 5,
        "timeoutSeconds": 3, "successThreshold": 1, "failureThreshold": 3,
    }
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == "/health/live"
    assert (startup["periodSeconds"], startup["failureThreshold"]) == (10, 30)
    assert startup["periodSeconds"] * startup["failureThreshold"] == 300  # "5 minutes total"


def test_frontend_probes_on_root(plan: Plan) -> None:
    container = _container(plan, "frontend")
    assert container["ports"] == [{"name": "http", "containerPort": 80, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"]["path"] == "/"
    assert container["readinessProbe"]["httpGet"]["path"] == "/"
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == "/"
    assert startup["periodSeconds"] * startup["failureThreshold"] == 60
    # Port 80 as non-root with no capabilities needs the unprivileged-port sysctl.
    sysctls = _deployment(plan, "frontend")["spec"]["template"]["spec"]["securityContext"]["sysctls"]
    assert sysctls == [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}]


@pytest.mark.parametrize("workload", WORKLOADS)
def test_requests_and_limits(plan: Plan, workload: str) -> None:
    resources = _container(plan, workload)["resources"]
    assert resources == {
        "requests": EXPECTED[plan.stack][workload]["requests"],
        "limits": EXPECTED[plan.stack][workload]["limits"],
    }


# Non-root ids of the images (node: 1000, nginx-unprivileged: 101) and the writable scratch dirs
# of a read-only root filesystem.
USER = {"backend": (1000, 1000), "frontend": (101, 101)}
SCRATCH = {
    "backend": {"scratch-tmp": "/tmp"},
    "frontend": {"scratch-tmp": "/tmp", "scratch-var-cache-nginx": "/var/cache/nginx", "scratch-var-run": "/var/run"},
}


@pytest.mark.parametrize("workload", WORKLOADS)
def test_pod_security_and_spread(plan: Plan, workload: str) -> None:
    pod = _deployment(plan, workload)["spec"]["template"]["spec"]
    container = _container(plan, workload)
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert (security["runAsUser"], security["runAsGroup"]) == USER[workload]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == SCRATCH[workload]
    assert pod["volumes"] == [{"name": name, "emptyDir": {"sizeLimit": "64Mi"}} for name in SCRATCH[workload]]
    spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    selector = _deployment(plan, workload)["spec"]["selector"]["matchLabels"]
    assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "ScheduleAnyway"
    for constraint in spread.values():
        assert constraint["maxSkew"] == 1
        assert constraint["labelSelector"] == {"matchLabels": selector}
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]


@pytest.mark.parametrize("workload", WORKLOADS)
def test_service_and_pdb(plan: Plan, workload: str) -> None:
    namespace = NAMESPACE[plan.stack]
    service = plan.k8s("Service", f"spywatcher-{workload}", namespace)["spec"]
    pdb = plan.k8s("PodDisruptionBudget", f"spywatcher-{workload}-pdb", namespace)
    selector = _deployment(plan, workload)["spec"]["selector"]["matchLabels"]
    assert service["type"] == "ClusterIP"
    metrics = [{"name": "metrics", "port": 9464, "targetPort": "metrics", "protocol": "TCP"}]
    assert service["ports"] == [
        {"name": "http", "port": PORTS[workload], "targetPort": "http", "protocol": "TCP"},
        *(metrics if workload == "backend" else []),
    ]
    assert service["selector"] == selector
    if workload == "backend":
        assert service["sessionAffinity"] == "ClientIP"
        assert service["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    else:
        assert service["sessionAffinity"] == "None"
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"] == {"matchLabels": selector}


@pytest.mark.parametrize("workload", WORKLOADS)
def test_recommended_labels_and_selector(plan: Plan, workload: str) -> None:
    deployment = _deployment(plan, workload)
    labels = deployment["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "spywatcher"
    assert labels["app.kubernetes.io/component"] == workload
    assert labels["app.kubernetes.io/instance"] == f"spywatcher-{plan.stack}"
    assert labels["app.kubernetes.io/managed-by"] == "pulumi"
    assert labels["app.kubernetes.io/version"] == "v2.0.0"
    # The selector is immutable: it must not carry the version.
    assert "app.kubernetes.io/version" not in deployment["spec"]["selector"]["matchLabels"]
    assert deployment["spec"]["template"]["metadata"]["labels"] == labels


def test_every_object_is_namespaced_and_uses_the_stack_provider(plan: Plan) -> None:
    providers = plan.of_type("pulumi:providers:kubernetes")
    assert len(providers) == 1
    provider_ref = f"{providers[0].urn}::{providers[0].name}-id"
    for r in plan:
        if r.is_kubernetes_object:
            assert r.provider == provider_ref, f"{r.name} does not use the stack's provider"
            kind = r.inputs["kind"]
            if kind in ("ClusterRole", "ClusterRoleBinding", "GatewayClass"):
                # Only the controller's read access to IngressClasses and the GatewayClass are cluster-wide.
                assert r.name.startswith("ingress-clusterrole") or r.name == "gateway-class", r.name
                assert "namespace" not in r.inputs["metadata"], r.name
            elif r.name.startswith("gateway-") and kind not in ("Namespace", "HTTPRoute", "BackendTrafficPolicy"):
                # Envoy Gateway's own objects live in the proxies' namespace, except the network
                # policies of the controller's namespace (named after it).
                controller_side = r.name.startswith("gateway-envoy-gateway-system-")
                expected = "envoy-gateway-system" if controller_side else "spywatcher-gateway"
                assert r.inputs["metadata"]["namespace"] == expected, r.name
            elif kind != "Namespace":
                # App objects live in the stack's namespace; the controller's binding and network
                # policies in its own.
                controller_policy = r.name.startswith("ingress-") and kind in ("NetworkPolicy", "Service")
                in_controller = kind == "TargetGroupBinding" or controller_policy
                expected = "ingress-nginx" if in_controller else NAMESPACE[plan.stack]
                if r.name == "dashboard-configmap":  # where the Grafana sidecar looks (monitoring.dashboard)
                    expected = "monitoring"
                # Each data plane's scrape lives with the data plane it scrapes.
                expected = {"monitoring-ingress-nginx": "ingress-nginx", "monitoring-envoy": "spywatcher-gateway",
                            "monitoring-envoy-metrics": "spywatcher-gateway"}.get(r.name, expected)
                assert r.inputs["metadata"]["namespace"] == expected, r.name


def test_provider_from_context(plan: Plan) -> None:
    provider = plan.of_type("pulumi:providers:kubernetes")[0]
    assert provider.inputs["context"] == f"arn:aws:eks:us-east-1:111122223333:cluster/spywatcher-{plan.stack}"
    assert "kubeconfig" not in provider.inputs


def test_namespace_baseline(plan: Plan) -> None:
    name = NAMESPACE[plan.stack]
    namespace = plan.k8s("Namespace", name)
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.34"
    quota = plan.k8s("ResourceQuota", f"{name}-quota", name)["spec"]["hard"]
    limits = plan.k8s("LimitRange", f"{name}-limits", name)["spec"]["limits"]
    expected_quota = {
        "production": {"requests.cpu": "10", "requests.memory": "12Gi", "limits.cpu": "20",
                       "limits.memory": "24Gi", "pods": "40"},
        "staging": {"requests.cpu": "2", "requests.memory": "3Gi", "limits.cpu": "5",
                    "limits.memory": "6Gi", "pods": "20"},
    }
    assert quota == expected_quota[plan.stack]
    assert limits == [{
        "type": "Container",
        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
        "default": {"cpu": "500m", "memory": "256Mi"},
        "max": {"cpu": "2", "memory": "2Gi"},
    }]
    # Every namespaced object waits for the namespace.
    namespace_urn = plan.get("kubernetes:core/v1:Namespace", "app-namespace").urn
    waiting = [r for r in plan if r.is_kubernetes_object and r.inputs["kind"] in ("Deployment", "ResourceQuota",
                                                                                   "LimitRange")]
    assert sorted(r.name for r in waiting) == ["app-limits", "app-quota", "backend-deployment", "frontend-deployment"]
    for r in waiting:
        assert namespace_urn in r.depends_on, f"{r.name} does not wait for the namespace"


def test_the_namespace_baseline_outputs_its_namespaces_name(plan: Plan) -> None:
    """The component's one output (kept with it in the stack's state) is the namespace it registered."""
    namespace = plan.get("kubernetes:core/v1:Namespace", "app-namespace")
    assert namespace.inputs["metadata"]["name"] == NAMESPACE[plan.stack]
    assert plan.component_outputs[namespace.parent] == {"name": NAMESPACE[plan.stack]}


def test_app_settings_in_a_configmap(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    config_map = plan.k8s("ConfigMap", "spywatcher-backend-config", "spywatcher")
    assert config_map["data"] == {"LOG_LEVEL": "info", "NODE_ENV": "production", "PORT": "3001"}
    container = _container(plan, "backend")
    assert container["envFrom"] == [
        {"configMapRef": {"name": "spywatcher-backend-config"}},
        {"secretRef": {"name": "spywatcher-backend-secrets"}},  # the stack names an existing Secret
    ]
    annotations = _deployment(plan, "backend")["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations["checksum/config"]) == 64
    deployment = plan.get("kubernetes:apps/v1:Deployment", "backend-deployment")
    assert plan.get("kubernetes:core/v1:ConfigMap", "backend-config").urn in deployment.depends_on


def test_config_change_rolls_the_pods() -> None:
    before = run_stack("staging")
    after = run_stack("staging", {"backend": {"env": {"LOG_LEVEL": "warn"}}})
    checksum = [
        p.k8s("Deployment", "spywatcher-backend")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        for p in (before, after)
    ]
    assert checksum[0] != checksum[1]


def test_app_secrets_become_a_secret_output() -> None:
    values = {"DATABASE_URL": "postgres://user:s3cr3t@db/spy", "JWT_SECRET": "hunter2-hunter2"}
    plan = run_stack(
        "staging",
        overrides={"backend": {"existingSecret": None}},
        secrets={"secrets": {"backend": values}, "kubeconfig": "apiVersion: v1\nkind: Config\n"},
    )
    secret = plan.get("kubernetes:core/v1:Secret", "backend-secrets")
    assert isinstance(secret.inputs["stringData"], Secret), "secret values must reach Pulumi as a secret Output"
    assert reveal(secret.inputs["stringData"]) == values
    assert secret.inputs["metadata"]["name"] == "spywatcher-backend-secrets"
    provider = plan.of_type("pulumi:providers:kubernetes")[0]
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    # No value appears outside a Secret wrapper: not in any other input, output or log line.
    plain = repr([r.k8s_object() for r in plan if r.is_kubernetes_object]) + repr(plan.outputs) + "\n".join(plan.logs)
    for value in values.values():
        assert value not in plain
    deployment = plan.get("kubernetes:apps/v1:Deployment", "backend-deployment")
    assert secret.urn in deployment.depends_on
