"""The Argo Rollouts controller's rights, namespace and network, entry by entry (components/rollouts/).

Each rule of the controller's Role in the app's namespace is stated here on its own, with what the
controller (argoproj/argo-rollouts v1.9.1) does with it, so that a resource or a verb dropped from
the table, or one added, fails; the controller namespace's Pod Security labels and its
NetworkPolicies are compared whole (a peer that admits a whole namespace instead of its pods fails), and
what its release waits for as a set.
"""

from __future__ import annotations

import pytest

from offline.engine import Plan, run_stack

NS = "spywatcher"
CONTROLLER_NS = "argo-rollouts"
READ = ["get", "list", "watch"]
CONTROLLER_PODS = {"matchLabels": {"app.kubernetes.io/name": "argo-rollouts",
                                   "app.kubernetes.io/instance": "argo-rollouts",
                                   "app.kubernetes.io/component": "rollouts-controller"}}
PROMETHEUS_PEER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                   "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}

# (apiGroup, resource) -> verbs: what the controller needs for a canary with ingress-nginx traffic
# routing, a Prometheus analysis and a workloadRef to a Deployment.
RIGHTS = {
    # rollout/controller.go: reconciles the Rollout, writes its status, removes its finalizer.
    ("argoproj.io", "rollouts"): [*READ, "update", "patch"],
    ("argoproj.io", "rollouts/status"): [*READ, "update", "patch"],
    ("argoproj.io", "rollouts/finalizers"): [*READ, "update", "patch"],
    # rollout/analysis.go: each analysis step is an AnalysisRun it creates, updates and deletes.
    ("argoproj.io", "analysisruns"): ["create", *READ, "update", "patch", "delete"],
    ("argoproj.io", "analysisruns/finalizers"): ["create", *READ, "update", "patch", "delete"],
    # informers that must sync before the controller starts.
    ("argoproj.io", "analysistemplates"): READ,
    ("argoproj.io", "experiments"): READ,
    # the stable and canary ReplicaSets.
    ("apps", "replicasets"): ["create", *READ, "update", "patch", "delete"],
    # workloadRef: reads the Deployment's template, scales it to 0.
    ("apps", "deployments"): [*READ, "update"],
    # points the stable and canary Services at their ReplicaSets.
    ("", "services"): [*READ, "patch"],
    # ephemeral stable / canary labels on running pods; `get` to re-read one after a conflicting update
    # (rollout/ephemeralmetadata.go updatePodMetadataWithRetry).
    ("", "pods"): ["get", "list", "watch", "update"],
    ("", "events"): ["create", "update", "patch"],
    # the canary Ingress beside the route's.
    ("networking.k8s.io", "ingresses"): ["create", *READ, "update", "patch"],
    # the Job informer (no Job metrics are used).
    ("batch", "jobs"): ["list", "watch"],
}


@pytest.fixture(scope="module")
def production() -> Plan:
    return run_stack("production", {"rollouts": {"enabled": True}})


def _rights(rules: list[dict[str, list[str]]]) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert (group, resource) not in found, f"{group}/{resource} granted twice"
                found[(group, resource)] = sorted(rule["verbs"])
    return found


def test_the_controllers_role_grants_each_right_stated_here_and_nothing_else(production: Plan) -> None:
    role = production.k8s("Role", "argo-rollouts-controller", NS)
    assert _rights(role["rules"]) == {key: sorted(verbs) for key, verbs in RIGHTS.items()}


@pytest.mark.parametrize("key", sorted(RIGHTS), ids=[f"{g or 'core'}/{r}" for g, r in sorted(RIGHTS)])
def test_each_right_of_the_controller(production: Plan, key: tuple[str, str]) -> None:
    role = production.k8s("Role", "argo-rollouts-controller", NS)
    assert _rights(role["rules"]).get(key) == sorted(RIGHTS[key])


def test_the_controllers_namespace_is_restricted_at_the_clusters_version(production: Plan) -> None:
    labels = production.k8s("Namespace", CONTROLLER_NS)["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k.startswith("pod-security.kubernetes.io/")} == {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.34",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "v1.34",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "v1.34",
    }


def test_a_baseline_controller_namespace_still_audits_and_warns_at_restricted() -> None:
    """`controller.podSecurity: baseline` relaxes what is enforced only: audit and warn stay at
    restricted, so what the relaxed level lets through is still reported."""
    plan = run_stack("production", {"rollouts": {"enabled": True, "controller": {"podSecurity": "baseline"}}})
    labels = plan.k8s("Namespace", CONTROLLER_NS)["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k.startswith("pod-security.kubernetes.io/")} == {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": "v1.34",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "v1.34",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "v1.34",
    }


def test_the_controllers_network_policies_whole(production: Plan) -> None:
    policies = {o["metadata"]["name"]: o["spec"] for o in production.k8s_objects()
                if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == CONTROLLER_NS}
    assert policies == {
        "spywatcher-default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "spywatcher-allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        },
        "spywatcher-rollouts-egress": {
            "podSelector": CONTROLLER_PODS,
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"ipBlock": {"cidr": cidr}} for cidr in
                        ("172.20.0.1/32", "10.0.16.0/24", "10.0.17.0/24", "10.0.18.0/24")],
                 "ports": [{"protocol": "TCP", "port": 443}]},
                {"to": [PROMETHEUS_PEER], "ports": [{"protocol": "TCP", "port": 9090}]},
            ],
        },
        "spywatcher-rollouts-from-monitoring": {
            "podSelector": CONTROLLER_PODS,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [PROMETHEUS_PEER], "ports": [{"protocol": "TCP", "port": 8090}]}],
        },
    }


def test_prerequisites_name_the_crds_the_controller_needs_beyond_the_stacks_kinds(production: Plan) -> None:
    """The controller's informers watch analysis runs, cluster analysis templates and experiments too:
    their CRDs are prerequisites of its release, beside the kinds the stack writes."""
    from offline.prerequisites import prerequisites

    crds = {p.name: p.needed_by for p in prerequisites(production) if p.section == "CRD"
            and p.name.endswith(".argoproj.io")}
    assert crds == {
        "analysisruns.argoproj.io": ("argo-rollouts 2.41.0",),
        "analysistemplates.argoproj.io": ("AnalysisTemplate spywatcher-backend-canary",),
        "clusteranalysistemplates.argoproj.io": ("argo-rollouts 2.41.0",),
        "experiments.argoproj.io": ("argo-rollouts 2.41.0",),
        "rollouts.argoproj.io": ("Rollout spywatcher-backend",),
    }


def test_each_object_the_rollouts_part_adds_names_its_component(production: Plan) -> None:
    components = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]):
                  o["metadata"]["labels"]["app.kubernetes.io/component"] for o in production.k8s_objects()
                  if o["metadata"].get("labels", {}).get("app.kubernetes.io/component", "").startswith("rollouts-")}
    assert components == {
        ("Namespace", None, CONTROLLER_NS): "rollouts-controller",
        ("Role", NS, "argo-rollouts-controller"): "rollouts-controller",
        ("RoleBinding", NS, "argo-rollouts-controller"): "rollouts-controller",
        ("NetworkPolicy", CONTROLLER_NS, "spywatcher-default-deny"): "rollouts-network",
        ("NetworkPolicy", CONTROLLER_NS, "spywatcher-allow-dns"): "rollouts-network",
        ("NetworkPolicy", CONTROLLER_NS, "spywatcher-rollouts-egress"): "rollouts-network",
        ("NetworkPolicy", CONTROLLER_NS, "spywatcher-rollouts-from-monitoring"): "rollouts-network",
        ("PrometheusRule", NS, "spywatcher-rollouts"): "rollouts-alerts",
    }


def test_the_controller_release_waits_for_what_the_rollouts_part_waits_for_and_its_own_objects(
        production: Plan) -> None:
    """Pulumi does not pass a component's depends_on on to its children: the release copies it (the
    routes, the backend and the Services the Rollout names), as the part's namespace does, and waits
    for the namespace, its NetworkPolicies and the controller's RBAC too."""
    names = {r.urn: r.name for r in production.resources}
    inherited = {names[u] for u in production.get("kubernetes:core/v1:Namespace", "rollouts-namespace").depends_on}
    assert {"backend-deployment", "routes-api", "rollout-services-spywatcher-backend-stable"} <= inherited
    release = production.get("kubernetes:helm.sh/v3:Release", "rollouts-controller")
    assert {names[u] for u in release.depends_on} == inherited | {
        "rollouts-namespace", "rollouts-default-deny", "rollouts-allow-dns", "rollouts-rollouts-egress",
        "rollouts-rollouts-from-monitoring", "rollouts-role", "rollouts-rolebinding"}


def test_the_controller_treats_the_routes_ingress_class_as_nginx() -> None:
    """With an IngressClass other than `nginx`, the controller is told that class is nginx's (its
    default list holds `nginx` only), or it would not re-sync the Rollout when the stable Ingress changes."""
    overrides = {"rollouts": {"enabled": True}, "ingressController": {"ingressClass": "nginx-public"}}
    plan = run_stack("production", overrides)
    values = plan.get("kubernetes:helm.sh/v3:Release", "rollouts-controller").inputs["values"]
    assert values["controller"]["extraArgs"] == ["--namespace=spywatcher", "--nginx-ingress-classes=nginx-public"]


def test_the_rollout_waits_for_its_controller_and_its_analysis_template(production: Plan) -> None:
    """Its first analysis step names the AnalysisTemplate: created before, or the step fails at once."""
    rollout = production.get("kubernetes:argoproj.io/v1alpha1:Rollout", "rollouts-backend")
    template = production.get("kubernetes:argoproj.io/v1alpha1:AnalysisTemplate", "rollouts-analysis")
    assert template.urn in rollout.depends_on
    assert production.get("kubernetes:helm.sh/v3:Release", "rollouts-controller").urn in rollout.depends_on


def test_the_pod_template_hash_depends_on_the_template_not_on_its_key_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Rollout's template hash must not move when only the order the template's keys are built in
    does (a refactor would start a rollout of every stack)."""
    from types import SimpleNamespace

    from components.rollouts import canary

    one = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "app"}]}}
    other = {"spec": {"containers": [{"name": "app"}]}, "metadata": {"labels": {"b": "2", "a": "1"}}}
    hashes = []
    for template in (one, other, {**one, "spec": {"containers": [{"name": "web"}]}}):
        monkeypatch.setattr(canary, "build_pod_template", lambda backend, t=template: t)
        hashes.append(canary.template_hash(SimpleNamespace(backend=None)))  # type: ignore[arg-type]
    assert hashes[0] == hashes[1] != hashes[2]
