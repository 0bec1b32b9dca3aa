"""config/base.py's shared types at their edges, through the stack settings that use them: a quantity's
suffixes and sign (k8s.io/apimachinery pkg/api/resource/quantity.go @ v0.34.0: `k` is 10^3, a sign is
part of the grammar), a YAML float kept as the quantity the API would print, the int32 port range, an
image reference's tag and repository-name lengths (github.com/distribution/reference:
`[\\w][\\w.-]{0,127}` and NameTotalLengthMax 255), an HTTP path's length (1024, the ALB health-check
path's limit), an IPv6 block kept in canonical form, and whole cores written without a fraction."""

from __future__ import annotations

from typing import Any

import pytest

from config import validate_settings
from config.base import deep_merge, parse_quantity
from tests.conftest import MINIMAL_CONFIG, problems


def settings(overrides: dict[str, Any]) -> Any:
    return validate_settings(deep_merge(MINIMAL_CONFIG, overrides), set())


@pytest.mark.parametrize(
    ("text", "value"),
    [("1k", 1000), ("1M", 10**6), ("1Ki", 1024), ("1Mi", 2**20), ("1500m", "1.5"), ("1e3", 1000), ("+2", 2)],
)
def test_each_suffix_has_the_value_quantity_go_gives_it(text: str, value: int | str) -> None:
    from decimal import Decimal

    assert parse_quantity(text) == Decimal(value)


def test_k_is_a_thousand_bytes_not_a_kibibyte() -> None:
    """2000k is 2,000,000 bytes, exactly 2M: a request of 2000k fits a 2M limit, 2001k does not."""

    def memory(request: str) -> dict[str, Any]:
        return {"backend": {"resources": {"requests": {"memory": request}, "limits": {"memory": "2M"}}}}

    assert problems(memory("2000k")) == []
    assert problems(memory("2001k")) == [
        'backend.resources.requests.memory: "2001k" — must not exceed limits.memory (2M); Kubernetes rejects a '
        "container whose request is above its limit"
    ]


@pytest.mark.parametrize("text", ["0", "0m", "-1", "-500m"])
def test_a_quantity_of_zero_or_below_is_refused_as_such(text: str) -> None:
    """A signed quantity is a quantity (quantity.go's grammar); what a request cannot be is zero or less."""
    assert problems({"backend": {"resources": {"requests": {"cpu": text}}}}) == [
        f'backend.resources.requests.cpu: "{text}" — must be greater than zero'
    ]


def test_the_smallest_quantity_above_zero_is_accepted() -> None:
    assert problems({"backend": {"resources": {"requests": {"cpu": "1m"}}}}) == []


def test_a_yaml_float_is_kept_as_the_quantity_the_api_prints() -> None:
    """YAML reads `cpu: 2.0` as a float; the value is kept as "2" (what `kubectl get` shows), not "2.0",
    and messages quote it so."""
    assert settings({"backend": {"resources": {"limits": {"cpu": 2.0}}},
                     "namespace": {"resourceQuota": None}}).backend.resources.limits.cpu == "2"
    assert problems({"backend": {"resources": {"limits": {"cpu": 1.0}, "requests": {"cpu": "1001m"}}}}) == [
        'backend.resources.requests.cpu: "1001m" — must not exceed limits.cpu (1); Kubernetes rejects a container '
        "whose request is above its limit"
    ]


def test_whole_cores_written_in_millicores_are_named_as_whole_cores() -> None:
    """1000m x 17 pods is 17 cores, said "17" and "11 x 1", not "17.000"."""
    one_core = {"resources": {"requests": {"cpu": "1000m"}, "limits": {"cpu": "1000m"}}}
    assert problems({"backend": one_core, "frontend": one_core,
                     "namespace": {"resourceQuota": {"requests": {"cpu": "16"}}}}) == [
        'namespace.resourceQuota.requests.cpu: "16" — is below the 17 the stack\'s pods need at their peak, the '
        "workloads at maxReplicas plus rollout surge (backend 11 x 1, frontend 6 x 1); the HPA would silently "
        "stop short of its maximum"
    ]


def test_port_zero_is_refused_and_one_accepted() -> None:
    assert problems({"backend": {"containerPort": 0}}) == ["backend.containerPort: 0 — must be at least 1"]
    assert problems({"networkPolicy": {"dataStores": [{"name": "db", "cidr": "10.0.9.0/24", "ports": [1]}]}}) == []
    assert problems({"networkPolicy": {"dataStores": [{"name": "db", "cidr": "10.0.9.0/24", "ports": [0]}]}}) == [
        "networkPolicy.dataStores[0].ports[0]: 0 — must be at least 1"
    ]


def test_an_image_tag_of_128_characters_is_accepted_and_129_refused() -> None:
    assert problems({"backend": {"image": "b:" + "a" * 128}}) == []
    assert problems({"backend": {"image": "b:" + "a" * 129}}) == [
        'backend.image: "b:' + "a" * 74 + '... — must be a container image reference such as ghcr.io/org/app:v1.2.3, '
        "registry.example.com:5000/app:v1 or app@sha256:<64 hex digits>"
    ]


def test_a_repository_name_of_255_characters_is_accepted_and_256_refused() -> None:
    assert problems({"backend": {"image": "a" * 255 + ":1"}}) == []
    refused = problems({"backend": {"image": "a" * 256 + ":1"}})
    assert len(refused) == 1
    assert refused[0].endswith("— must have a repository name of at most 255 characters")


def test_an_http_path_of_1024_characters_is_accepted_and_1025_refused() -> None:
    def api_path(length: int) -> dict[str, Any]:
        route = {"name": "api", "host": "api", "path": "/" + "a" * (length - 1), "workload": "backend"}
        return {"routing": {"routes": [route]}}

    routes = settings(api_path(1024)).routing.routes
    assert len(routes[0].path) == 1024
    refused = problems(api_path(1025))
    assert len(refused) == 1
    assert refused[0].startswith("routing.routes[0].path: ")


@pytest.mark.parametrize("name", ["A.B", "A-B", "1A"])
def test_an_env_name_with_a_dot_dash_or_leading_digit_is_refused(name: str) -> None:
    assert problems({"backend": {"env": {name: "x"}}}) == [
        f'backend.env.{name} (key): "{name}" — must be an environment variable name: letters, digits and _, not '
        "starting with a digit"
    ]


def test_an_ipv6_block_is_kept_in_canonical_form() -> None:
    """ "2001:DB8:0::/32" is the block 2001:db8::/32; the policy must carry the form the API stores."""
    https = settings({"networkPolicy": {"backendHttpsCidrs": ["2001:DB8:0::/32"]}}).network_policy.backend_https_cidrs
    assert https == ["2001:db8::/32"]
