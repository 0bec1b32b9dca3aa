"""What counts as enforcing NetworkPolicies (components/cni.py) at its edges: a string `"false"`, a
version without its `v`, the version boundary, and every problem reported at once, in order."""

from __future__ import annotations

import pytest

from components.cni import enforcement_problems

ON = '{"enableNetworkPolicy": "true"}'


@pytest.mark.parametrize(("version", "enforces"), [
    ("v1.14.0", True),            # the first version with network policy support
    ("1.14.0-eksbuild.1", True),  # without the `v`
    ("v1.13.99", False),
    ("1.13.4", False),
    ("latest", False),
])
def test_the_version_boundary(version: str, enforces: bool) -> None:
    assert (enforcement_problems(version, ON) == []) is enforces


@pytest.mark.parametrize("enabled", ['"false"', "false"])  # a string, a boolean
def test_a_node_agent_turned_off_as_a_string_or_a_boolean(enabled: str) -> None:
    values = f'{{"enableNetworkPolicy": "true", "nodeAgent": {{"enabled": {enabled}}}}}'
    assert enforcement_problems("v1.20.4-eksbuild.1", values) == [
        "nodeAgent.enabled is false: no node agent runs to enforce the policies"
    ]


def test_a_node_agent_left_on_or_unset_is_no_problem() -> None:
    for values in ('{"enableNetworkPolicy": "true", "nodeAgent": {"enabled": true}}',
                   '{"enableNetworkPolicy": "true", "nodeAgent": {"image": {"tag": "v1"}}}'):
        assert enforcement_problems("v1.20.4-eksbuild.1", values) == []


def test_every_problem_is_reported_in_order() -> None:
    assert enforcement_problems("v1.12.0", '{"enableNetworkPolicy": false, "nodeAgent": {"enabled": "false"}}') == [
        'enableNetworkPolicy is false (the default is "false"); it must be "true"',
        "nodeAgent.enabled is false: no node agent runs to enforce the policies",
        "version v1.12.0 is before v1.14.0, which brought network policy support",
    ]
    assert enforcement_problems("", None) == [
        'enableNetworkPolicy is not set (the default is "false"); it must be "true"',
        "version (none) is before v1.14.0, which brought network policy support",
    ]
