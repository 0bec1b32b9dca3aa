"""The plan checks' models at their edges (offline/targeting.py, offline/selectors.py,
offline/namespaces.py): what each reads off the program's registrations, stated exactly."""

from __future__ import annotations

from offline.engine import Plan
from offline.targeting import UNTARGETED_CREATE, Node, plan_nodes, targeted_update

PLATFORM = "urn:pulumi:production::spywatcher::spywatcher:platform:Platform"


def test_a_resource_links_to_its_providers_urn_not_to_the_reference_with_its_id(plans: dict[str, Plan]) -> None:
    """A provider reference is `<URN>::<id>`; the engine links a step to the provider's URN, which must
    be a registration of the plan, or an untargeted provider's create would go unseen."""
    nodes = plan_nodes(plans["production"])
    by_urn = {n.urn: n for n in nodes}
    namespace = next(n for n in nodes if n.urn.endswith("::app-namespace"))
    assert namespace.provider == f"{PLATFORM}$pulumi:providers:kubernetes::spywatcher-kubernetes"
    assert by_urn[namespace.provider].type == "pulumi:providers:kubernetes"
    assert {n.provider for n in nodes if n.provider} == {
        f"{PLATFORM}$pulumi:providers:aws::spywatcher-aws",
        f"{PLATFORM}$pulumi:providers:kubernetes::spywatcher-kubernetes",
    }


def test_the_root_stack_and_providers_are_targeted_whatever_the_targets_say() -> None:
    """step_generator.go: the root stack and every provider are part of every operation, so a
    targeted child of the stack creates both and is accepted; an untargeted component is not."""
    stack = "urn:pulumi:test::test::pulumi:pulumi:Stack::test"
    provider = "urn:pulumi:test::test::pulumi:providers:pkgA::default"
    child = "urn:pulumi:test::test::pkgA:m:typA::child"
    nodes = [Node(stack, "pulumi:pulumi:Stack"), Node(provider, "pulumi:providers:pkgA", parent=stack),
             Node(child, "pkgA:m:typA", parent=stack, provider=provider)]
    outcome = targeted_update(nodes, [child])
    assert (outcome.steps, outcome.errors) == ({stack: "create", provider: "create", child: "create"}, ())
    component = "urn:pulumi:test::test::component::parent"
    nested = "urn:pulumi:test::test::component$pkgA:m:typA::child"
    nodes = [Node(stack, "pulumi:pulumi:Stack"), Node(component, "component", parent=stack),
             Node(nested, "pkgA:m:typA", parent=component)]
    outcome = targeted_update(nodes, [nested])
    assert outcome.steps == {stack: "create", component: "skipped create", nested: "create"}
    assert outcome.errors == (UNTARGETED_CREATE.format(urn=nested, dep=component),)
