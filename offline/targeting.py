"""The engine's rule for `pulumi up --target`, as data, and the first-deploy target set it accepts.

Read from pulumi/pulumi at tag v3.259.0 (the newest release tag of the snapshot read; the program
pins the SDK at 3.272.0, whose engine is the CLI's own — the rule below has not changed between
them in the paths named):

- `pkg/resource/deploy/step_generator.go`: `isIncludedInOperation` / `isTargetedForUpdate` (what
  is targeted, `--target-dependents` included), `generateSteps` (providers and the root stack are
  targeted implicitly; an untargeted resource with no old state becomes a *skipped create*), and
  `validateSteps`: for every step but a skipped create, any of the resource's provider, parent,
  dependencies, property dependencies, deleted-with and replace-with resources that is a skipped
  create is the error 2013 of `sdk/go/common/diag/errors.go` ("Resource '…' depends on '…' which
  was was not specified in --target list.", sic), and `pulumi up` bails with "untargeted create"
  (a preview reports them all and carries on).
- `pkg/resource/state.go`, `GetAllDependencies`: which links count (parent, dependency,
  property-dependency, deleted-with, replace-with; the provider reference beside them).
- `pkg/resource/deploy/deployment.go`, `UrnTargets`: a target with `*` is a glob (`**` any
  characters, `*` any but `:`), anything else a literal URN.
- The engine's own cases are `pkg/engine/lifecycletest/target_test.go` (`TestTargetUntargetedParent`
  "target create", `TestCreateDuringTargetedUpdate_*`, `TestTargetDependents*`); tests/test_targeting.py
  replays them on this model.

On a stack with no state every resource the targets leave out is a skipped create, so a targeted
first deploy must name every ancestor and dependency of what it creates — and of every provider,
which is created whatever the targets say. :func:`closed_targets` computes that set;
:func:`check_targets` says what the engine would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .engine import Plan

SOURCE = ("pulumi/pulumi", "pkg/resource/deploy/step_generator.go", "v3.259.0")
STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"
UNTARGETED_CREATE = "Resource '{urn}' depends on '{dep}' which was was not specified in --target list."


@dataclass(frozen=True)
class Node:
    """One resource registration as the engine sees it (URNs are the engine's)."""

    urn: str
    type: str
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    property_dependencies: tuple[str, ...] = ()
    deleted_with: str = ""
    replace_with: tuple[str, ...] = ()
    provider: str = ""  # the provider's URN (the reference without its `::<id>`)

    def links(self) -> list[str]:
        """`GetAllDependencies` and the provider: everything whose skipped create fails this step."""
        found = [self.parent, *self.dependencies, *self.property_dependencies, self.deleted_with, *self.replace_with]
        return [u for u in (*found, self.provider) if u]


def implicitly_targeted(node: Node) -> bool:
    """Providers (default and explicit) and the root stack are always part of the operation."""
    return node.type.startswith(PROVIDER_PREFIX) or node.type == STACK_TYPE


class Targets:
    """`UrnTargets`: literal URNs and globs."""

    def __init__(self, targets: Iterable[str]):
        self.literals: set[str] = set()
        self.globs: list[re.Pattern[str]] = []
        for target in targets:
            if "*" in target:
                segments = ["[^:]*".join(re.escape(p) for p in s.split("*")) for s in target.split("**")]
                self.globs.append(re.compile("^" + ".*".join(segments) + "$"))
            else:
                self.literals.add(target)

    def contains(self, urn: str) -> bool:
        return urn in self.literals or any(g.match(urn) for g in self.globs)


@dataclass(frozen=True)
class Outcome:
    """What a targeted `pulumi up` does with each resource, and the errors that stop it."""

    steps: dict[str, str]  # URN -> "create", "update", "same" or "skipped create"
    errors: tuple[str, ...]


def targeted_update(
    nodes: Sequence[Node], targets: Iterable[str], existing: Iterable[str] = (), target_dependents: bool = False
) -> Outcome:
    """The engine's steps for ``nodes`` (in registration order) under ``--target targets``, with
    ``existing`` the URNs that have old state (none on a first deploy)."""
    wanted, old = Targets(targets), set(existing)
    actual: set[str] = set()  # targetsActual: explicitly targeted, or through --target-dependents
    steps: dict[str, str] = {}
    errors: list[str] = []
    for node in nodes:
        explicit = wanted.contains(node.urn) or (
            target_dependents and any(link in actual for link in node.links())
        )
        targeted = implicitly_targeted(node) or explicit
        if explicit:
            actual.add(node.urn)
        if not targeted:
            steps[node.urn] = "same" if node.urn in old else "skipped create"
            continue  # an untargeted same keeps its old (existing) dependencies
        steps[node.urn] = "update" if node.urn in old else "create"
        errors += [
            UNTARGETED_CREATE.format(urn=node.urn, dep=link)
            for link in node.links()
            if steps.get(link) == "skipped create"
        ]
    return Outcome(steps, tuple(errors))


def closed_targets(nodes: Sequence[Node], wanted: Iterable[str], existing: Iterable[str] = ()) -> list[str]:
    """The smallest target list that creates ``wanted`` and that the engine accepts: ``wanted`` with
    every ancestor and dependency (transitively) of it and of every provider the update creates,
    less what is targeted implicitly or already exists. In registration order."""
    by_urn = {n.urn: n for n in nodes}
    old = set(existing)
    todo = [*wanted, *(n.urn for n in nodes if implicitly_targeted(n) and n.urn not in old)]
    closed: set[str] = set()
    while todo:
        urn = todo.pop()
        if urn in closed or urn in old or urn not in by_urn:
            continue
        closed.add(urn)
        todo += by_urn[urn].links()
    return [n.urn for n in nodes if n.urn in closed and not implicitly_targeted(n)]


def check_targets(
    nodes: Sequence[Node], targets: Iterable[str], existing: Iterable[str] = (), target_dependents: bool = False
) -> list[str]:
    """The engine's untargeted-create errors for this command (none: it is accepted)."""
    return list(targeted_update(nodes, targets, existing, target_dependents).errors)


# --- The program's plan as the engine sees it -----------------------------------------------------


def engine_urn(plan: Plan, urn: str) -> str:
    """The URN the real engine gives a resource: its type qualified by *every* ancestor's type (the
    SDK's mocks keep only the parent's), the stack resource excluded."""
    by_urn = {r.urn: r for r in plan.resources}
    resource = by_urn.get(urn)
    if resource is None:
        return urn  # the root stack, or a resource of another program
    types = [resource.type]
    parent = by_urn.get(resource.parent)
    while parent is not None:
        types.insert(0, parent.type)
        parent = by_urn.get(parent.parent)
    head = urn.split("::", 2)
    return f"{head[0]}::{head[1]}::{'$'.join(types)}::{resource.name}"


def plan_nodes(plan: Plan) -> list[Node]:
    """Every registration of ``plan`` as a :class:`Node` with the engine's URNs."""
    urn = {r.urn: engine_urn(plan, r.urn) for r in plan.resources}

    def real(u: str) -> str:
        return urn.get(u, u)

    return [
        Node(
            urn=urn[r.urn],
            type=r.type,
            parent=urn.get(r.parent, ""),  # a parent that is no registration is the root stack
            dependencies=tuple(real(u) for u in r.depends_on),
            property_dependencies=tuple(real(u) for deps in r.property_dependencies.values() for u in deps),
            deleted_with=real(r.deleted_with) if r.deleted_with else "",
            replace_with=tuple(real(u) for u in r.replace_with),
            provider=real(r.provider.rsplit("::", 1)[0]) if r.provider else "",
        )
        for r in plan.resources
    ]
