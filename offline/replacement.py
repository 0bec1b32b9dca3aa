"""What a change does to each resource as a real `pulumi up` would decide it: update in place,
replace (create-before-delete or delete-before-replace), or refuse — from the rules of the engine and
the providers, kept as data with their sources in offline/forcenew/ (kubernetes.yaml, aws.yaml,
helm.yaml).

- **Providers** (which changed input forces a new resource): pulumi-kubernetes' `forceNew` paths and
  object identity, its ConfigMap/Secret rule under `enableConfigMapMutable`/`enableSecretMutable`,
  and its delete-first rule for a named object; the Terraform AWS provider's ForceNew attributes
  (and the conditional ones of its CustomizeDiff/ModifyPlan) under their Pulumi names; a Helm
  release's name and namespace; a Kubernetes provider whose cluster changes.
- **The engine** (pulumi/pulumi pkg/resource/deploy/step_generator.go, read at 1b594989 of
  2026-08-21, v3.260.0): `replaceOnChanges` turns a change at or below a path into a replacement
  (applyReplaceOnChanges, PropertyPath.Contains); a resource whose old and new state are both
  protected is not replaced ("unable to replace resource … as it is currently marked for
  protection"), nor deleted; the `deleteBeforeReplace` option, when set, overrides the provider's
  choice; a replaced resource's outputs are unknown until it exists, so a dependent whose input that
  reads them forces a new resource is replaced with it; a replaced provider replaces what it manages.
- **What the cloud refuses** (the refusals beside protect): a physical name taken by the old
  resource during a create-before-delete replacement (:data:`NAME_LIMITS`), an immutable field that
  reads a replaced resource without replaceOnChanges (:data:`IMMUTABLE_FIELDS`), and a
  Helm release installed anew while the old one still owns its chart's cluster-wide objects.

Works on two renders (:class:`~offline.snapshot.Snapshot`): the new side's `reads` (which input
path reads which resource) and `deleteBeforeReplaceSet` come from its summary; a render written
before they existed still compares, without the propagation through reads.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .paths import PathT, dotted, parse_path
from .rules import IMMUTABLE_FIELDS, NAME_LIMITS, POD_SPECS, REPLACING_DOC, pod_references
from .snapshot import Resource, Snapshot

TABLES = Path(__file__).with_name("forcenew")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_PROVIDER = "pulumi:providers:kubernetes"
HELM_MOVE_DOC = "docs/traffic.md#moving-a-helm-release-to-another-namespace"
NAMESPACE_MOVE_DOC = "docs/traffic.md#moving-the-app-to-another-namespace"

# Where the engine's rules in this module were read (the docstring lists them). `checked_for` is
# requirements.txt's pin of the SDK and CLI: tests/test_replacement_tables.py fails when the pin
# moves until they are read again.
ENGINE = {
    "repository": "pulumi/pulumi",
    "path": "pkg/resource/deploy/step_generator.go",
    "read_at": "1b5949891b3cefcb9974752b24a5ecef0acc86c8",  # master of 2026-08-21 (sdk/.version 3.260.0)
    "checked_for": "3.272.0",
}



@functools.cache
def table(name: str) -> dict[str, Any]:
    """One rules table of offline/forcenew/ (``kubernetes``, ``aws``, ``helm``)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, Any] = yaml.load((TABLES / f"{name}.yaml").read_text(encoding="utf-8"), Loader=loader)
    return data


# --- Paths -------------------------------------------------------------------------------------

class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def leaf_changes(old: Any, new: Any, path: PathT = ()) -> Iterator[tuple[PathT, Any]]:
    """Every point where ``new`` differs from ``old``, with the new value there (MISSING when it
    is gone). Maps by key, lists by index, as the Kubernetes provider compares a merge patch."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from leaf_changes(old.get(key, MISSING), new.get(key, MISSING), (*path, key))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from leaf_changes(old[index] if index < len(old) else MISSING,
                                    new[index] if index < len(new) else MISSING, (*path, index))
    elif old != new or type(old) is not type(new):
        yield path, new


def _found(pattern: PathT, value: Any) -> bool:
    """Whether the rest of a JSONPath pattern exists within ``value``."""
    if not pattern:
        return True
    step, rest = pattern[0], pattern[1:]
    if step == "*":
        return isinstance(value, list) and any(_found(rest, item) for item in value)
    if isinstance(step, str) and isinstance(value, dict) and step in value:
        return _found(rest, value[step])
    return False


def matches(pattern: PathT, path: PathT, new: Any = MISSING) -> bool:
    """Whether a change at ``path`` (new value ``new``) is at or below ``pattern``: the provider
    looks the pattern up in a patch holding only that change (openapi.PatchPropertiesChanged)."""
    for index, step in enumerate(pattern):
        if index == len(path):
            return _found(pattern[index:], new)  # MISSING is no dict or list: not found
        here = path[index]
        if not (step == here or (step == "*" and isinstance(here, int))):
            return False
    return True


def contains(prefix: PathT, path: PathT) -> bool:
    """The engine's PropertyPath.Contains: ``path`` is ``prefix`` or below it (``*`` any key or item)."""
    return len(prefix) <= len(path) and all(p == "*" or p == q for p, q in zip(prefix, path, strict=False))


# --- Resources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One resource of a render, as the rules need it."""

    id: str
    type: str
    inputs: Any
    options: Mapping[str, Any]
    reads: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # input path -> resource ids
    delete_before_replace_set: bool = False

    @property
    def protect(self) -> bool:
        return bool(self.options.get("protect"))

    @property
    def kind(self) -> str | None:
        """The Kubernetes kind of a Kubernetes object, else None."""
        inputs = self.inputs
        if self.type.startswith("kubernetes:") and isinstance(inputs, dict) and "kind" in inputs:
            return str(inputs["kind"])
        return None

    def metadata(self, key: str) -> Any:
        meta = self.inputs.get("metadata") if isinstance(self.inputs, dict) else None
        return meta.get(key) if isinstance(meta, dict) else None


@dataclass(frozen=True)
class Cause:
    """A changed input that forces the replacement, and the rule that says so."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"`{self.path}` forces it ({self.rule})" if self.path != "(provider)" else self.rule


@dataclass(frozen=True)
class Refusal:
    """A step `pulumi up` (or the cloud behind it) refuses, and what to do instead."""

    reason: str
    what_to_do: str


@dataclass(frozen=True)
class Step:
    """What `pulumi up` does to one resource present on both sides."""

    id: str
    replaced: bool
    causes: tuple[Cause, ...] = ()
    delete_first: bool = False
    order: str = ""  # why create-before-delete or delete-before-replace
    refusals: tuple[Refusal, ...] = ()
    unknown: tuple[tuple[str, str], ...] = ()  # (input path, replaced resource it reads)


# --- Provider rules ----------------------------------------------------------------------------


def _group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def kubernetes_force_new(node: Node, provider: Mapping[str, Any]) -> list[tuple[PathT, str]]:
    """diff.go ``forceNewProperties`` for a Kubernetes object under ``provider``'s settings."""
    rules = table("kubernetes")
    found = [(parse_path(p), "pulumi-kubernetes: identity") for p in rules["every_object"]["paths"]]
    group, version = _group_version(str(node.inputs.get("apiVersion", "")))
    group = "core" if group == "" else group
    known = [k for k in rules["kinds"] if k["group"] == group]
    if not any(version in k["versions"] for k in known):
        return found  # a group or version diff.go does not list: identity only
    kind, immutable = node.kind, node.inputs.get("immutable") is True
    toggles = {t["kind"]: t for t in rules["mutable_unless_configured"]}
    toggle = toggles.get(kind or "")
    if kind == "Secret" and toggle and (not provider.get(toggle["setting"]) or immutable):
        return found + [(parse_path(p), f"pulumi-kubernetes: {toggle['setting']} is off") for p in toggle["paths"]]
    entry = next((k for k in known if k["kind"] == kind and version in k["versions"]), None)
    if entry is not None:
        return found + [(parse_path(p), f"pulumi-kubernetes: {entry['from']}") for p in entry["paths"]]
    if kind == "ConfigMap" and toggle and (not provider.get(toggle["setting"]) or immutable):
        reason = "immutable: true" if immutable else f"{toggle['setting']} is off"
        return found + [(parse_path(p), f"pulumi-kubernetes: {reason}") for p in toggle["paths"]]
    return found


def _lb_type(inputs: Mapping[str, Any]) -> str:
    return str(inputs.get("loadBalancerType") or "application")


def _rule_source(inputs: Mapping[str, Any]) -> str | None:
    return next((k for k in ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId") if inputs.get(k)),
                None)


def aws_condition(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """The conditional ForceNew rules of aws.yaml's ``force_new_when``, by name."""
    if name == "nlb-subnets-not-only-added":  # customizeDiffLoadBalancerNLB: deltaN <= 0
        return _lb_type(new) == "network" and len(new.get("subnets") or []) <= len(old.get("subnets") or [])
    if name == "nlb-security-groups-added-or-all-removed":
        before, after = bool(old.get("securityGroups")), bool(new.get("securityGroups"))
        return _lb_type(new) == "network" and before != after
    if name == "protocol-is-http-or-https":
        return str(new.get("protocol", "")) in ("HTTP", "HTTPS")  # the enum, case-sensitive
    if name == "rule-source-kind-changes":
        return _rule_source(old) != _rule_source(new)
    raise KeyError(f"offline/forcenew/aws.yaml names an unknown condition {name!r}")


def aws_force_new(node: Node) -> dict[str, tuple[str, str | None]]:
    """Input -> (rule, condition or None) for an AWS resource type (empty when not in the table)."""
    entry = table("aws")["resources"].get(node.type)
    if entry is None:
        return {}
    rule = f"terraform-provider-aws {entry['path']}"
    result: dict[str, tuple[str, str | None]] = {
        item["input"]: (f"ForceNew `{item['terraform']}`, {rule}", None) for item in entry.get("force_new", [])
    }
    for item in entry.get("force_new_when", []):
        result[item["input"]] = (f"ForceNew `{item['terraform']}` when {item['when']}, {rule} ({item['from']})",
                                 item["when"])
    return result


# --- Classifying one resource ------------------------------------------------------------------


def _changes(node: Node, old: Node) -> list[tuple[PathT, Any]]:
    ignored = [parse_path(p) for p in node.options.get("ignoreChanges") or []]
    return [(p, v) for p, v in leaf_changes(old.inputs, node.inputs) if not any(contains(i, p) for i in ignored)]


def _provider_settings(node: Node, after: Mapping[str, Node]) -> Mapping[str, Any]:
    provider = after.get(str(node.options.get("provider") or ""))
    return provider.inputs if provider is not None and isinstance(provider.inputs, dict) else {}


def _field(path: PathT) -> PathT:
    """A changed path without its trailing list indices: a list such as a command is one input."""
    while path and isinstance(path[-1], int):
        path = path[:-1]
    return path


def direct_causes(node: Node, old: Node, after: Mapping[str, Node]) -> list[Cause]:
    """What in ``node``'s own change forces its replacement (each input once: a list's items as the list)."""
    found = _direct_causes(node, old, after)
    first: dict[str, Cause] = {}
    for cause in found:  # the provider's rule before replaceOnChanges
        first.setdefault(cause.path, cause)
    return list(first.values())


def _direct_causes(node: Node, old: Node, after: Mapping[str, Node]) -> list[Cause]:
    changes = _changes(node, old)
    if not changes:
        return []
    causes: list[Cause] = []
    if node.kind is not None:
        rules = kubernetes_force_new(node, _provider_settings(node, after))
        for path, new in changes:
            rule = next((r for pattern, r in rules if matches(pattern, path, new)), None)
            if rule is not None:
                causes.append(Cause(dotted(_field(path)), rule))
    elif node.type == HELM_RELEASE:
        for key in table("helm")["force_new"]:
            top = key.lstrip(".")
            if any(p[:1] == (top,) for p, _ in changes):
                causes.append(Cause(top, "pulumi-kubernetes helm_release.go: forceNewFields"))
    elif node.type == K8S_PROVIDER:
        for key in table("kubernetes")["provider_replaced_by"]["settings"]:
            if any(p[:1] == (key,) for p, _ in changes):
                causes.append(Cause(key, "pulumi-kubernetes provider.go DiffConfig: the cluster changes"))
    else:
        by_input = aws_force_new(node)
        changed = sorted({str(p[0]) for p, _ in changes if p})
        for key in changed:
            rule, condition = by_input.get(key, (None, None))
            if rule is not None and (condition is None or aws_condition(condition, old.inputs, node.inputs)):
                causes.append(Cause(key, rule))
    for option in node.options.get("replaceOnChanges") or []:
        prefix = parse_path(option)
        for path, _ in changes:
            if contains(prefix, path):
                causes.append(Cause(dotted(_field(path)), f"replaceOnChanges [{option}]"))
    return causes


def _forced_by_read(node: Node, path: PathT) -> str | None:
    """The rule under which an input at ``path`` becoming unknown forces a new ``node``."""
    for option in node.options.get("replaceOnChanges") or []:
        if contains(parse_path(option), path) or contains(path, parse_path(option)):
            return f"replaceOnChanges [{option}]"
    if node.kind is not None:
        return next((r for pattern, r in kubernetes_force_new(node, {}) if matches(pattern, path)), None)
    rule, condition = aws_force_new(node).get(str(path[0]) if path else "", (None, None))
    return rule if condition is None else None  # a conditional rule does not fire on an unknown value


def provider_delete_first(node: Node) -> tuple[bool, str]:
    """The order of a replacement the engine makes because the resource's provider is replaced: its
    own deleteBeforeReplace option, else create-before-delete (providerChanged's DiffResult asks for
    no delete first), the new one through the new provider and the old one deleted through the old."""
    if node.delete_before_replace_set or node.options.get("deleteBeforeReplace"):
        value = bool(node.options.get("deleteBeforeReplace"))
        return value, f"the resource option deleteBeforeReplace is {'true' if value else 'false'}"
    return False, ("the engine creates it through the new provider before deleting the old one through the old "
                   "provider")


def delete_first(node: Node, old: Node) -> tuple[bool, str]:
    """Whether a replacement deletes the old resource first, and why."""
    if node.delete_before_replace_set or node.options.get("deleteBeforeReplace"):
        value = bool(node.options.get("deleteBeforeReplace"))
        return value, f"the resource option deleteBeforeReplace is {'true' if value else 'false'}"
    if node.kind is not None:
        named = bool(node.metadata("name"))
        same = named and node.metadata("name") == old.metadata("name") and \
            (node.metadata("namespace") or "") == (old.metadata("namespace") or "")
        if same:
            return True, "pulumi-kubernetes deletes a named object first: the new one has the same name"
        return False, "the new object has another name or namespace, so it is created first"
    if node.type == HELM_RELEASE:
        return False, "pulumi-kubernetes installs a moved Helm release before uninstalling the old one"
    return False, "Pulumi creates the new resource before deleting the old one"


# --- A whole change ----------------------------------------------------------------------------


def _chart(node: Node) -> str:
    return str(node.inputs.get("chart", "")).rsplit("/", 1)[-1]


def _protected(node: Node, old: Node) -> list[Refusal]:
    """The engine's protect rule: both the old and the new state protected (step_generator.go)."""
    if not (old.protect and node.protect):
        return []
    return [Refusal(
        "it is protected (`protect`): `pulumi up` refuses to replace it (\"unable to replace resource … as it "
        "is currently marked for protection\")",
        f"lift the guard for this change only, as {REPLACING_DOC} describes (`protect: false` in its own commit, "
        "or `pulumi state unprotect`), then put it back")]


# What a refused delete does to `pulumi up`, by the step that deletes.
REFUSED_DELETE = {
    "create-before-delete": "so `pulumi up` fails after creating the new one and leaves the old one pending deletion",
    "delete-before-replace": "so `pulumi up` fails at that delete, before the new one is created",
    "delete": "so `pulumi up` fails there",
}


def cloud_refuses_delete(old: Node, step: str) -> list[Refusal]:
    """aws.yaml's ``delete_refused_when``: the cloud refuses to delete the old resource while one of
    its inputs (as last applied) holds the value, e.g. a load balancer's deletion protection.
    ``step``: a key of :data:`REFUSED_DELETE`."""
    entry = table("aws")["resources"].get(old.type) or {}
    inputs = old.inputs if isinstance(old.inputs, dict) else {}
    then = REFUSED_DELETE[step]
    return [Refusal(f"`{item['input']}` is {json.dumps(item['value'])} on the one that exists: AWS refuses to "
                    f"delete it ({item['error']}), {then}",
                    f"{item['what_to_do']} in a change of its own first, as {REPLACING_DOC} describes")
            for item in entry.get("delete_refused_when", []) if inputs.get(item["input"]) == item["value"]]


def _refusals(node: Node, old: Node, delete_old_first: bool) -> list[Refusal]:
    step = "delete-before-replace" if delete_old_first else "create-before-delete"
    found = [*_protected(node, old), *cloud_refuses_delete(old, step)]
    name = node.inputs.get("name") if isinstance(node.inputs, dict) else None
    if node.type in NAME_LIMITS and name is not None and name == old.inputs.get("name") and not delete_old_first:
        found.append(Refusal(
            f"its fixed name {name!r} is still taken by the old one when the new one is created",
            "let Pulumi name it (drop `name`), or set deleteBeforeReplace and accept the gap"))
    if node.type == HELM_RELEASE and not delete_old_first:
        scoped = table("helm")["cluster_scoped"].get(_chart(node))
        if scoped and scoped["kinds"]:
            kinds = ", ".join(scoped["kinds"])
            found.append(Refusal(
                f"Helm installs release {node.inputs.get('name')} in {node.inputs.get('namespace')} while the old "
                f"release in {old.inputs.get('namespace')} still owns the chart's cluster-wide objects ({kinds}): "
                "the install fails (\"exists and cannot be imported into the current release: invalid ownership "
                "metadata\")",
                f"follow {HELM_MOVE_DOC}: uninstall the old release first, with the downtime it states"))
    return found


def _moved_without_what_it_reads(node: Node, old: Node, after: Mapping[str, Node]) -> list[Refusal]:
    """A workload moved to another namespace whose pods read an object nothing creates there (an
    `existingSecret`): its pods never start, and `pulumi up` waits on them until it fails."""
    namespace = node.metadata("namespace")
    path = POD_SPECS.get(node.type)
    if not path or namespace == old.metadata("namespace") or not isinstance(node.inputs, dict):
        return []
    pod: Any = node.inputs
    for key in path:
        pod = pod.get(key) if isinstance(pod, dict) else None
    if not isinstance(pod, dict):
        return []
    created = {(n.kind, n.metadata("namespace"), n.metadata("name")) for n in after.values() if n.kind}
    missing = sorted({f"{r.kind} {r.name}" for r in pod_references(pod)
                      if not r.optional and (r.kind, namespace, r.name) not in created})
    if not missing:
        return []
    return [Refusal(f"its pods in {namespace} read {', '.join(missing)}, which this program does not create there "
                    "(declared as existing): they never start, and `pulumi up` fails waiting for them",
                    f"create {' and '.join(missing)} in {namespace} before `pulumi up`, as {NAMESPACE_MOVE_DOC} "
                    "describes")]


def analyse(before: Mapping[str, Node], after: Mapping[str, Node]) -> dict[str, Step]:
    """Every resource present on both sides: updated or replaced, in which order, and what refuses.
    Resources with no change and no replaced dependency are left out."""
    common = [rid for rid in after if rid in before and after[rid].inputs is not None]
    causes: dict[str, list[Cause]] = {rid: direct_causes(after[rid], before[rid], after) for rid in common}
    replaced = {rid for rid, found in causes.items() if found}
    # Providers replaced: every resource they manage is replaced, and the engine decides so without
    # asking the resource's provider (providerChanged): its own force-new rules do not apply.
    by_provider = set()
    for rid in common:
        provider = str(after[rid].options.get("provider") or "")
        if provider in replaced:
            causes[rid] = [Cause("(provider)", f"its provider {provider} is replaced")]
            replaced.add(rid)
            by_provider.add(rid)
    # Outputs of a replaced resource are unknown until it exists: follow the reads to a fixpoint.
    unknown: dict[str, list[tuple[str, str]]] = {}
    refused_updates: dict[str, Refusal] = {}
    changed = True
    while changed:
        changed = False
        for rid in common:
            node = after[rid]
            for text, sources in node.reads.items():
                hit = [s for s in sources if s in replaced]
                if not hit:
                    continue
                pair = (text, hit[0])
                if pair not in unknown.setdefault(rid, []):
                    unknown[rid].append(pair)
                if rid in replaced:
                    continue
                path = parse_path(text)
                rule = _forced_by_read(node, path)
                if rule is None:
                    immutable = [f for f in IMMUTABLE_FIELDS.get(node.kind or "", ())
                                 if contains(path, parse_path(f)) or contains(parse_path(f), path)]
                    if immutable:  # updated in place, which the API server (its webhook) refuses
                        refused_updates[rid] = Refusal(
                            f"`{immutable[0]}` cannot change once created, and it reads {hit[0]}, which is replaced: "
                            "the update is refused",
                            f"give it replaceOnChanges [{immutable[0]}] with deleteBeforeReplace")
                    continue
                causes[rid].append(Cause(text, f"{rule}; it reads {hit[0]}, which is replaced"))
                replaced.add(rid)
                changed = True
    steps = {}
    for rid in common:
        node, old = after[rid], before[rid]
        found = tuple(causes[rid])
        if rid not in replaced:
            if rid in unknown:
                refusal = (refused_updates[rid],) if rid in refused_updates else ()
                steps[rid] = Step(rid, False, refusals=refusal, unknown=tuple(unknown[rid]))
            continue
        if rid in by_provider:
            first, order = provider_delete_first(node)
            refusals = _protected(node, old)
        else:
            first, order = delete_first(node, old)
            refusals = [*_refusals(node, old, first), *_moved_without_what_it_reads(node, old, after)]
        steps[rid] = Step(rid, True, found, first, order, tuple(refusals), tuple(unknown.get(rid, ())))
    return steps


def deletion_refusals(old: Node) -> list[Refusal]:
    """A resource the change removes: the engine refuses to delete a protected one, and the cloud
    one whose inputs say so (:func:`cloud_refuses_delete`)."""
    found = []
    if old.protect:
        found.append(Refusal("it is protected (`protect`): `pulumi up` refuses to delete it",
                             f"turn protect off in a change of its own first ({REPLACING_DOC})"))
    found += cloud_refuses_delete(old, "delete")
    return found


# --- Building nodes ----------------------------------------------------------------------------


def _type_of(resource: Resource) -> str:
    return resource.type or resource.id.rsplit("::", 1)[0].rsplit("$", 1)[-1]


def node_of(resource: Resource) -> Node:
    """One resource of a render as a :class:`Node`."""
    return Node(resource.id, _type_of(resource), resource.inputs, resource.options,
                {k: tuple(v) for k, v in (resource.hints.get("reads") or {}).items()},
                bool(resource.hints.get("deleteBeforeReplaceSet")))


def nodes(snapshot: Snapshot | None) -> dict[str, Node]:
    """The resources of a render as :class:`Node` objects, by id."""
    return {rid: node_of(r) for rid, r in snapshot.resources.items()} if snapshot is not None else {}
