"""What a change between two plans replaces: offline.replacement's rules applied to their renders, as
`offline diff` sees them. For tests and tools that hold :class:`~offline.engine.Plan` objects."""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Plan
from .render import render_plan, resource_ids
from .replacement import Node, analyse, nodes
from .rules import describe
from .snapshot import snapshot_from_files


def plan_nodes(plan: Plan) -> dict[str, Node]:
    """The resources of a plan as :class:`Node` objects: through its render, as `offline diff` sees them."""
    return nodes(snapshot_from_files(render_plan(plan, "").files))


@dataclass(frozen=True)
class Replacement:
    """One resource a change between two plans replaces (or refuses to update), why, and what stops it."""

    resource: str
    changed: tuple[str, ...]
    delete_first: bool
    blocked: tuple[str, ...]


def replacements(before: Plan, after: Plan) -> list[Replacement]:
    """What the engine replaces going from ``before`` to ``after`` (resources matched by id), and
    what would stop each replacement: `protect`, a fixed name taken by the old resource, or a
    dependent with an immutable reference that is not replaced with it (refused as an update).
    The same rules `offline diff` reports, for two plans, sorted by resource."""
    ids = {rid: urn for urn, rid in resource_ids(after).items()}
    by_urn = {r.urn: r for r in after.resources}
    result = []
    for rid, step in analyse(plan_nodes(before), plan_nodes(after)).items():
        if not step.replaced and not step.refusals:
            continue
        result.append(Replacement(describe(by_urn[ids[rid]]), tuple(c.path for c in step.causes), step.delete_first,
                                  tuple(f"{f.reason}; {f.what_to_do}" for f in step.refusals)))
    return sorted(result, key=lambda x: x.resource)
