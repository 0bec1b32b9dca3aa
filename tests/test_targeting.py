"""The engine's `--target` rule (offline/targeting.py): the engine's own cases, then the first-deploy
command `make prerequisites` prints for every stack."""

from __future__ import annotations

import pytest

from offline.engine import Plan
from offline.prerequisites import prerequisites
from offline.targeting import (
    UNTARGETED_CREATE,
    Node,
    check_targets,
    closed_targets,
    engine_urn,
    plan_nodes,
    targeted_update,
)

STACK = "urn:pulumi:test::test::pulumi:pulumi:Stack::test"
PROVIDER = "urn:pulumi:test::test::pulumi:providers:pkgA::default"


def urn(type_: str, name: str, parent_type: str = "") -> str:
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return f"urn:pulumi:test::test::{qualified}::{name}"


def res(name: str, **links: object) -> Node:
    """A `pkgA:m:typA` custom resource of the default provider, as the engine's tests register it."""
    parent = str(links.pop("parent", ""))
    parent_type = parent.split("::")[2] if parent else ""
    return Node(urn("pkgA:m:typA", name, parent_type), "pkgA:m:typA",
                parent=parent, provider=PROVIDER, **links)  # type: ignore[arg-type]


PROVIDER_NODE = Node(PROVIDER, "pulumi:providers:pkgA")
COMPONENT = Node(urn("component", "parent"), "component")


def error(of: str, on: str) -> str:
    return UNTARGETED_CREATE.format(urn=of, dep=on)


# pulumi/pulumi v3.259.0 pkg/engine/lifecycletest/target_test.go, one case per test (or subtest):
# (the test, the program's registrations, the URNs with old state, the targets, --target-dependents,
# the steps the test expects, whether the update fails with "untargeted create").
CHILD = Node(urn("pkgA:m:typA", "child", "component"), "pkgA:m:typA", parent=COMPONENT.urn, provider=PROVIDER)
A, B = res("a"), res("b")
CASES = [
    # TestTargetUntargetedParent "target create": no state, only the child targeted.
    ("TestTargetUntargetedParent/target create", [PROVIDER_NODE, COMPONENT, CHILD], [], ["**child**"], False,
     {PROVIDER: "create", COMPONENT.urn: "skipped create", CHILD.urn: "create"}, [error(CHILD.urn, COMPONENT.urn)]),
    # ... "target update": the parent exists, so it is a same step and the child's update proceeds.
    ("TestTargetUntargetedParent/target update", [PROVIDER_NODE, COMPONENT, CHILD],
     [PROVIDER, COMPONENT.urn, CHILD.urn], ["**child**"], False,
     {PROVIDER: "update", COMPONENT.urn: "same", CHILD.urn: "update"}, []),
    # TestCreateDuringTargetedUpdate_CreateMentionedAsTarget: a new resource named as a target is created.
    ("CreateMentionedAsTarget", [PROVIDER_NODE, res("resA"), res("resB")], [PROVIDER, res("resA").urn],
     [res("resA").urn, res("resB").urn], False,
     {PROVIDER: "update", res("resA").urn: "update", res("resB").urn: "create"}, []),
    # _UntargetedCreateNotReferenced: a new untargeted resource nothing reads is skipped, no error.
    ("UntargetedCreateNotReferenced", [PROVIDER_NODE, res("resA"), res("resB")], [PROVIDER, res("resA").urn],
     [res("resA").urn], False,
     {PROVIDER: "update", res("resA").urn: "update", res("resB").urn: "skipped create"}, []),
    # _UntargetedCreateReferencedByChangedTarget / ByUnchangedTarget: b depends on a new, untargeted a.
    ("UntargetedCreateReferencedByTarget", [PROVIDER_NODE, A, res("b", dependencies=(A.urn,))],
     [PROVIDER, B.urn], ["**b**"], False,
     {PROVIDER: "update", A.urn: "skipped create", B.urn: "update"}, [error(B.urn, A.urn)]),
    # _ReferencedByTargetPropertyDependency: the same through a property dependency.
    ("UntargetedCreateReferencedByTargetPropertyDependency",
     [PROVIDER_NODE, A, res("b", property_dependencies=(A.urn,))], [PROVIDER, B.urn], ["**b**"], False,
     {PROVIDER: "update", A.urn: "skipped create", B.urn: "update"}, [error(B.urn, A.urn)]),
    # _ReferencedByTargetDeletedWith: the same through deletedWith.
    ("UntargetedCreateReferencedByTargetDeletedWith", [PROVIDER_NODE, A, res("b", deleted_with=A.urn)],
     [PROVIDER, B.urn], ["**b**"], False,
     {PROVIDER: "update", A.urn: "skipped create", B.urn: "update"}, [error(B.urn, A.urn)]),
    # _ReferencedByTargetParent: b re-parented under a new, untargeted a.
    ("UntargetedCreateReferencedByTargetParent", [PROVIDER_NODE, A, res("b", parent=A.urn)],
     [PROVIDER, res("b", parent=A.urn).urn], ["**b**"], False,
     {PROVIDER: "update", A.urn: "skipped create", res("b", parent=A.urn).urn: "update"},
     [error(res("b", parent=A.urn).urn, A.urn)]),
    # _UntargetedProviderReferencedByTarget: an explicit provider is targeted implicitly.
    ("UntargetedProviderReferencedByTarget",
     [Node(urn("pulumi:providers:pkgA", "provA"), "pulumi:providers:pkgA"),
      Node(urn("pkgA:m:typA", "resA"), "pkgA:m:typA", provider=urn("pulumi:providers:pkgA", "provA"))],
     [], [urn("pkgA:m:typA", "resA")], False,
     {urn("pulumi:providers:pkgA", "provA"): "create", urn("pkgA:m:typA", "resA"): "create"}, []),
    # _UntargetedCreateReferencedByUntargetedCreate: a skipped create may depend on a skipped create.
    ("UntargetedCreateReferencedByUntargetedCreate",
     [PROVIDER_NODE, res("resB"), res("resC", dependencies=(res("resB").urn,)), res("resA")],
     [PROVIDER, res("resA").urn], [res("resA").urn], False,
     {PROVIDER: "update", res("resB").urn: "skipped create", res("resC").urn: "skipped create",
      res("resA").urn: "update"}, []),
    # TestTargetDependents: --target-dependents creates no untargeted resource that does not depend.
    ("TestTargetDependents", [PROVIDER_NODE, res("resA"), res("resB")], [], [res("resA").urn], True,
     {PROVIDER: "create", res("resA").urn: "create", res("resB").urn: "skipped create"}, []),
    # TestTargetDependentsSiblingResources: children of a target follow it, siblings of the same
    # provider do not.
    ("TestTargetDependentsSiblingResources",
     [PROVIDER_NODE, res("implicitX"), res("implicitY"), res("implicitZ", parent=res("implicitX").urn)],
     [], [res("implicitX").urn], True,
     {PROVIDER: "create", res("implicitX").urn: "create", res("implicitY").urn: "skipped create",
      res("implicitZ", parent=res("implicitX").urn).urn: "create"}, []),
]


@pytest.mark.parametrize(("case", "nodes", "existing", "targets", "dependents", "steps", "errors"), CASES,
                         ids=[c[0] for c in CASES])
def test_the_engines_own_cases(case: str, nodes: list[Node], existing: list[str], targets: list[str],
                               dependents: bool, steps: dict[str, str], errors: list[str]) -> None:
    outcome = targeted_update(nodes, targets, existing, dependents)
    assert (outcome.steps, list(outcome.errors)) == (steps, errors)


def test_without_dependents_the_children_of_a_target_are_skipped() -> None:
    """TestTargetDependentsSiblingResources, first run: only the targets and the providers."""
    z = res("implicitZ", parent=res("implicitX").urn)
    outcome = targeted_update([PROVIDER_NODE, res("implicitX"), z], [res("implicitX").urn])
    assert outcome.steps[z.urn] == "skipped create" and outcome.errors == ()


def test_globs_follow_urn_targets() -> None:
    """`**` spans anything, `*` stops at `:` (deployment.go, UrnTargets.getMatcher)."""
    nodes = [PROVIDER_NODE, res("child")]
    assert targeted_update(nodes, ["urn:pulumi:test::test::*::child"]).steps[res("child").urn] == "skipped create"
    assert targeted_update(nodes, ["urn:pulumi:test::test::pkgA:*:typA::child"]).steps[res("child").urn] == "create"


def test_closed_targets_add_every_ancestor_and_the_parents_of_providers() -> None:
    provider = Node(urn("pulumi:providers:pkgA", "p", "component"), "pulumi:providers:pkgA", parent=COMPONENT.urn)
    child = Node(urn("pkgA:m:typA", "child", "component"), "pkgA:m:typA", parent=COMPONENT.urn,
                 provider=provider.urn, dependencies=(A.urn,))
    nodes = [COMPONENT, provider, PROVIDER_NODE, A, child]
    assert check_targets(nodes, [child.urn]) == [error(provider.urn, COMPONENT.urn), error(child.urn, COMPONENT.urn),
                                                 error(child.urn, A.urn)]
    closed = closed_targets(nodes, [child.urn])
    assert closed == [COMPONENT.urn, A.urn, child.urn]
    assert check_targets(nodes, closed) == []
    # What exists already needs no target.
    assert closed_targets(nodes, [child.urn], existing=[COMPONENT.urn, A.urn]) == [child.urn]


def first_deploy(plan: Plan, secret_name: str = "spywatcher-backend-secrets") -> list[str]:
    """The `--target` URNs `make prerequisites` prints for one of the stack's existing Secrets."""
    from tests.conftest import stack_settings

    [secret] = [p for p in prerequisites(plan, stack_settings(plan.stack).existing_objects())
                if p.section == "existing" and p.name.endswith(f"/{secret_name}")]
    command = secret.detail.split("`")[1]
    assert command.startswith("pulumi up --target '")
    return [part.split("'")[1] for part in command.split("--target ")[1:]]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_printed_first_deploy_is_accepted_by_the_engines_rule(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    targets = first_deploy(plan)
    nodes = plan_nodes(plan)
    outcome = targeted_update(nodes, targets)
    assert outcome.errors == ()
    namespace = engine_urn(plan, plan.get("kubernetes:core/v1:Namespace", "app-namespace").urn)
    assert outcome.steps[namespace] == "create"
    created = sorted(u.rsplit("::", 1)[1] for u, step in outcome.steps.items() if step == "create")
    assert created == ["app", "app-namespace", "spywatcher", "spywatcher-aws", "spywatcher-kubernetes"]
    # The command printed before this rule was modelled (the provider and the Namespace) is refused:
    # the providers and the Namespace would be created under parents the engine skips.
    head = f"urn:pulumi:{stack}::spywatcher::spywatcher:platform:Platform"
    platform = f"{head}::spywatcher"
    baseline = f"{head}$spywatcher:namespace:NamespaceBaseline::app"
    provider = f"{head}$pulumi:providers:kubernetes::spywatcher-kubernetes"
    aws = f"{head}$pulumi:providers:aws::spywatcher-aws"
    assert check_targets(nodes, [provider, namespace]) == [
        error(provider, platform), error(aws, platform), error(namespace, baseline)
    ]
    assert targets == [platform, baseline, namespace]


def test_the_rate_limits_redis_secret_gets_a_first_deploy_the_engine_accepts(plans: dict[str, Plan]) -> None:
    """Staging's gateway reads the Redis AUTH token from a Secret in a namespace it creates."""
    plan = plans["staging"]
    targets = first_deploy(plan, "ratelimit-redis-auth")
    outcome = targeted_update(plan_nodes(plan), targets)
    assert outcome.errors == ()
    namespace = engine_urn(plan, plan.get("kubernetes:core/v1:Namespace", "gateway-namespace-envoy-gateway-system").urn)
    assert outcome.steps[namespace] == "create"
    created = {u.rsplit("::", 1)[1] for u, step in outcome.steps.items() if step == "create"}
    assert {"gateway", "gateway-namespace-envoy-gateway-system", "spywatcher-kubernetes"} <= created
    assert "gateway-namespace-spywatcher-gateway" not in created  # only the namespace the Secret lives in
