"""The whole stack's rules (config/stack.py) on the inputs where a condition has two parts or a
default fills a gap: what Kubernetes fills in for a container that sets no limit or request, a rule
that applies only while another part is on, a credential named by each of its spellings. The
numbers are worked out by hand from the guide's defaults (backend 10 + 1 surge pods, frontend 5 + 1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import behind_nlb, problems

# --- What the LimitRange fills in (kubernetes/kubernetes pkg/apis/core/v1/defaults.go SetDefaults_Pod and
# SetDefaults_LimitRangeItem, plugin/pkg/admission/limitranger/admission.go @ v1.34.0) ----------------------


def _no_backend_memory_limit(quota: str) -> dict[str, Any]:
    return {"namespace": {"limitRange": {"default": {"memory": None}}, "resourceQuota": {"limits": {"memory": quota}}},
            "backend": {"resources": {"limits": {"memory": None}, "requests": {"memory": "512Mi"}}}}


def test_without_a_default_limit_a_container_gets_the_limit_range_max() -> None:
    """A LimitRange without default.memory defaults it to max.memory (2Gi), which the LimitRanger gives a
    container without a limit: 11 x 2Gi + 6 x 256Mi = 24064Mi."""
    assert problems(_no_backend_memory_limit("24064Mi")) == []
    assert problems(_no_backend_memory_limit("24063Mi")) == [
        'namespace.resourceQuota.limits.memory: "24063Mi" — is below the 24064Mi the stack\'s pods need at their '
        "peak, the workloads at maxReplicas plus rollout surge (backend 11 x 2Gi, frontend 6 x 256Mi); the HPA "
        "would silently stop short of its maximum"
    ]


def _no_backend_memory_request(quota: str) -> dict[str, Any]:
    return {"namespace": {"limitRange": {"defaultRequest": {"memory": None}, "default": {"memory": "1Gi"}},
                          "resourceQuota": {"requests": {"memory": quota}}},
            "backend": {"autoscaling": {"memoryUtilization": None},
                        "resources": {"limits": {"memory": None}, "requests": {"memory": None}}}}


def test_without_a_default_request_a_container_gets_the_default_limit_as_its_request() -> None:
    """defaultRequest.memory unset: the LimitRange defaults it to default.memory (1Gi), not to the
    128Mi other containers get: 11 x 1Gi + 6 x 128Mi = 12032Mi."""
    assert problems(_no_backend_memory_request("12032Mi")) == []
    assert problems(_no_backend_memory_request("12031Mi")) == [
        'namespace.resourceQuota.requests.memory: "12031Mi" — is below the 12032Mi the stack\'s pods need at their '
        "peak, the workloads at maxReplicas plus rollout surge (backend 11 x 1Gi, frontend 6 x 128Mi); the HPA "
        "would silently stop short of its maximum"
    ]


def _backend_left_to_the_limit_range(quota: str) -> dict[str, Any]:
    return {"namespace": {"resourceQuota": {"requests": {"memory": quota}}},
            "backend": {"autoscaling": {"memoryUtilization": None},
                        "resources": {"limits": {"memory": None}, "requests": {"memory": None}}}}


def test_a_container_without_a_limit_or_request_gets_the_default_request_not_the_default_limit() -> None:
    """The LimitRange's defaultRequest (128Mi), not its default limit (256Mi): 17 x 128Mi = 2176Mi."""
    assert problems(_backend_left_to_the_limit_range("2176Mi")) == []
    assert problems(_backend_left_to_the_limit_range("2175Mi")) == [
        'namespace.resourceQuota.requests.memory: "2175Mi" — is below the 2176Mi the stack\'s pods need at their '
        "peak, the workloads at maxReplicas plus rollout surge (backend 11 x 128Mi, frontend 6 x 128Mi); the HPA "
        "would silently stop short of its maximum"
    ]


def _backend_limit_only(quota: str) -> dict[str, Any]:
    return {"namespace": {"resourceQuota": {"requests": {"memory": quota}}},
            "backend": {"autoscaling": {"memoryUtilization": None},
                        "resources": {"limits": {"memory": "768Mi"}, "requests": {"memory": None}}}}


def test_an_explicit_limit_is_the_request_of_a_container_that_sets_none() -> None:
    """The API server copies the container's own limit (768Mi) into its missing request before the
    LimitRanger could give it the default request: 11 x 768Mi + 6 x 128Mi = 9216Mi (9Gi)."""
    assert problems(_backend_limit_only("9216Mi")) == []
    assert problems(_backend_limit_only("9215Mi")) == [
        'namespace.resourceQuota.requests.memory: "9215Mi" — is below the 9Gi the stack\'s pods need at their '
        "peak, the workloads at maxReplicas plus rollout surge (backend 11 x 768Mi, frontend 6 x 128Mi); the HPA "
        "would silently stop short of its maximum"
    ]


def test_every_schedule_runs_a_pod_of_its_own() -> None:
    """Two schedules on one workload: two pods beside the 17 of the workloads."""
    schedules = [{"name": "a", "cron": "0 8 * * *", "minReplicas": 2}, {"name": "b", "cron": "0 9 * * *",
                                                                         "minReplicas": 3}]
    assert problems({"frontend": {"schedules": schedules}, "namespace": {"resourceQuota": {"pods": 19}}}) == []
    assert problems({"frontend": {"schedules": schedules}, "namespace": {"resourceQuota": {"pods": 18}}}) == [
        "namespace.resourceQuota.pods: 18 — is below the 19 pods the stack runs at its peak, the workloads at "
        "maxReplicas plus rollout surge; the HPA would silently stop short of its maximum"
    ]


# --- Rules that apply only while another part is on ----------------------------------------------------


def test_a_subnet_of_the_other_ip_version_is_outside_the_vpc() -> None:
    assert problems({"loadBalancer": {"subnetCidrs": ["10.0.0.0/24", "2001:db8::/64"]}}) == [
        'loadBalancer.subnetCidrs[1]: "2001:db8::/64" — must lie inside cluster.vpcCidr (10.0.0.0/16): the load '
        "balancer's nodes connect from its subnets in the VPC"
    ]


MIGRATION = {"enabled": True, "dataStores": ["x"], "existingSecret": "migration-db"}


def test_the_migrations_data_stores_are_checked_only_while_network_policies_are_on() -> None:
    assert problems({"networkPolicy": {"enabled": False}, "migration": MIGRATION}) == []
    assert problems({"networkPolicy": {"dataStores": []}, "migration": MIGRATION}) == [
        'migration.dataStores[0]: "x" — is not a networkPolicy.dataStores name (none is set): the migration\'s '
        "network policy would let it reach no database"
    ]


def test_a_disabled_canarys_header_needs_no_application_load_balancer() -> None:
    canary = {"enabled": False, "header": "X-Canary", "headerSourceCidrs": ["203.0.113.0/24"]}
    assert problems(behind_nlb({"canary": canary, "loadBalancer": {"waf": {"enabled": False}}})) == []


def test_an_existing_secret_conflicts_only_with_secret_values() -> None:
    secret = frozenset({"secrets"})
    assert problems({"backend": {"existingSecret": "backend-env"}, "secrets": {"backend": {}}}, secret) == []
    assert problems({"backend": {"existingSecret": "backend-env"}, "secrets": {"backend": {"A": "b"}}}, secret) == [
        "secrets.backend: [secret] — conflicts with backend.existingSecret (backend-env): use one source of secrets "
        "per workload"
    ]


def test_a_kubeconfig_stands_in_for_the_clusters_context() -> None:
    assert problems({"cluster": {"context": None}, "kubeconfig": "apiVersion: v1"}, frozenset({"kubeconfig"})) == []
    assert problems({"cluster": {"context": None}}) == [
        "cluster.context: is required unless the secret spywatcher:kubeconfig is set: the program deploys only "
        "through an explicit provider"
    ]


# --- Credentials in plain `env` ----------------------------------------------------------------------


def _credential(key: str, named: str) -> str:
    return (
        f"backend.env.{key}: the name {key} says it holds a credential ({named}): a plain `env` value lands in a "
        "ConfigMap, the state, previews and the pull request's plan diff. Put it in the Secret instead "
        f"(backend.existingSecret, or `pulumi config set --secret --path 'spywatcher:secrets.backend.{key}' ...`) "
        f"and remove it from backend.env"
    )


@pytest.mark.parametrize(("key", "named"), [
    ("DB_PASSWORD", "PASSWORD"), ("DB_PASSWD", "PASSWD"), ("GITHUB_TOKEN", "TOKEN"), ("client_secret", "SECRET"),
    ("API_KEY", "API_KEY"), ("APIKEY", "APIKEY"), ("PRIVATE_KEY", "PRIVATE_KEY"), ("SSH_PRIVATEKEY", "PRIVATEKEY"),
    ("AWS_CREDENTIALS", "CREDENTIAL"),
])
def test_each_credential_word_in_an_env_name_is_refused(key: str, named: str) -> None:
    assert problems({"backend": {"env": {key: "x"}}}) == [_credential(key, named)]


@pytest.mark.parametrize("value", ["https://example.com/users/@me", "mailto:me@example.com", "a@b", "KEYSTONE"])
def test_an_at_sign_outside_a_urls_authority_is_no_credential(value: str) -> None:
    assert problems({"backend": {"env": {"LINK": value}}}) == []


def test_a_url_with_a_user_and_password_is_refused_without_showing_it() -> None:
    assert problems({"backend": {"env": {"DATABASE_URL": "postgres://app:hunter2@db:5432/app"}}}) == [
        "backend.env.DATABASE_URL: the value is a URL with a user and password in it (`scheme://user:password@…`): a "
        "plain `env` value lands in a ConfigMap, the state, previews and the pull request's plan diff. Put it in the "
        "Secret instead (backend.existingSecret, or `pulumi config set --secret --path "
        "'spywatcher:secrets.backend.DATABASE_URL' ...`) and remove it from backend.env"
    ]


# --- The LimitRange's own order (ValidateLimitRange, kubernetes/kubernetes
# pkg/apis/core/validation/validation.go @ v1.34.0; its test case "invalid spec defaultrequest more than max") ----


def test_a_default_request_above_max_is_refused_even_without_a_default_limit() -> None:
    """The apiserver refuses max.cpu 1 with defaultRequest.cpu 2000m and no default ("default request value 2
    is greater than max value 1"); the program must refuse it before `pulumi up` does."""
    def limit_range(request: str) -> dict[str, Any]:
        return {"namespace": {"resourceQuota": None, "limitRange": {
            "max": {"cpu": "1"}, "default": {"cpu": None}, "defaultRequest": {"cpu": request}}},
            "backend": {"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "500m"}}},
            "frontend": {"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "100m"}}}}

    assert problems(limit_range("1")) == []
    assert problems(limit_range("2000m")) == [
        'namespace.limitRange.defaultRequest.cpu: "2000m" — must not exceed max.cpu (1)'
    ]
