"""`python -m offline render`: a stack's desired state as files, for review and for `offline diff`.

One folder per stack (``<out>/<stack>/``, default ``build/render/<stack>/``):

- ``kubernetes/<namespace or _cluster>/<kind>-<name>.yaml``: each Kubernetes object as the API
  server would receive it;
- ``helm/<namespace>/<release>.yaml``: each Helm release with its chart, version and values;
- ``aws/<module>.<Resource>/<name>.yaml`` (any other package likewise): each cloud resource's
  arguments, and ``providers/<package>-<name>.yaml``: each provider's settings;
- ``summary.yaml``: the stack, its Kubernetes version, its outputs and every resource (components
  included) with its file and the resource options a reviewer cares about (parent, provider,
  protect, dependsOn, customTimeouts, deleteBeforeReplace, ignoreChanges, retainOnDelete;
  replaceOnChanges where set).

Resources are referred to as ``<type>::<name>``. Secret values are masked (``[secret]``). Output is
deterministic: sorted keys, integers as integers, stable file names, so two renders of one commit
are byte-identical and a plain ``diff -r`` of two renders is meaningful too.

``--check`` also validates every Kubernetes object against the official schemas of the stack's
Kubernetes version (kubernetes-validate, strict) and reports each problem with its file, object and
field, and checks the plan against what a real `pulumi up` would meet (:mod:`offline.rules`:
creation order of pods and what they read, replacements that would collide, immutable fields).
Exit codes: 0 rendered (and valid), 1 invalid stack config, schema or `pulumi up` problems, 2 bad
usage or unknown stack.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from config.stackfile import ROOT, StackFileError, fixture_names, stack_names

from .engine import Plan, Registration, mask, plan_settings, run_stack, stack_settings
from .snapshot import SUMMARY

DEFAULT_OUT = ROOT / "build" / "render"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER_PREFIX = "pulumi:providers:"
HEADER = "# Rendered by `python -m offline render` (secrets masked). Do not edit.\n"


class RenderError(Exception):
    """The plan cannot be written as a render (e.g. two resources would share one file)."""


@dataclass(frozen=True)
class Rendered:
    """One stack's render: file contents by path relative to the stack's folder."""

    kubernetes_version: str
    files: dict[str, str]
    kubernetes_files: dict[str, dict[str, Any]]  # path -> the object, for --check
    # What a real `pulumi up` would refuse that the mocks accept (offline.rules), for --check.
    deploy_problems: tuple[str, ...] = ()


# --- Naming ------------------------------------------------------------------------------------


def urn_tail(urn: str) -> tuple[str, str]:
    """The stack-neutral qualified type and the name of a URN (`urn:pulumi:S::P::qualtype::name`)."""
    parts = urn.split("::", 3)
    if len(parts) != 4:
        raise RenderError(f"not a resource URN: {urn!r}")
    return parts[2], parts[3]


def resource_ids(plan: Plan) -> dict[str, str]:
    """URN -> the id resources are shown by: ``<type>::<name>``, or the qualified type when two
    resources share a type and name under different parents."""
    plain = {r.urn: f"{r.type}::{r.name}" for r in plan.resources}
    counts = Counter(plain.values())
    return {
        urn: text if counts[text] == 1 else "{}::{}".format(*urn_tail(urn)) for urn, text in plain.items()
    }


def _reference(urn: str, ids: Mapping[str, str]) -> str:
    """A URN (or a provider reference `urn::id`) as a resource id; the stack resource as `stack`."""
    if not urn:
        return ""
    if urn in ids:
        return ids[urn]
    base = urn.rsplit("::", 1)[0]
    if base in ids:
        return ids[base]
    qualified, name = urn_tail(urn if urn.count("::") == 3 else base)
    type_ = qualified.rsplit("$", 1)[-1]
    return "stack" if type_ == "pulumi:pulumi:Stack" else f"{type_}::{name}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text) or "_"


def file_for(resource: Registration) -> str | None:
    """Where a resource is written, relative to the stack folder; components have no file."""
    inputs = resource.inputs
    if resource.is_kubernetes_object:
        meta = inputs.get("metadata") or {}
        folder = _slug(str(meta.get("namespace") or "_cluster"))
        name = _slug(str(meta.get("name") or resource.name))  # an auto-named object: its logical name
        return f"kubernetes/{folder}/{_slug(str(inputs['kind']).lower())}-{name}.yaml"
    if not resource.custom:
        return None
    if resource.type == HELM_RELEASE:
        namespace = _slug(str(inputs.get("namespace") or "default"))
        return f"helm/{namespace}/{_slug(str(inputs.get('name') or resource.name))}.yaml"
    if resource.type.startswith(PROVIDER_PREFIX):
        return f"providers/{_slug(resource.type[len(PROVIDER_PREFIX):])}-{_slug(resource.name)}.yaml"
    package, module, cls = [*resource.type.split(":", 2), "", ""][:3]
    return f"{_slug(package)}/{_slug(module.split('/', 1)[0])}.{_slug(cls)}/{_slug(resource.name)}.yaml"


# --- Rendering ---------------------------------------------------------------------------------


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: same text, faster


def dump(data: Any) -> str:
    """Deterministic YAML: sorted keys, block style, no line wrapping."""
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=True, default_flow_style=False, allow_unicode=True,
                     width=100_000)


def _provider_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Provider settings as written: Pulumi sends a provider's non-text settings JSON-encoded."""
    return {key: _decoded(value) for key, value in inputs.items()}


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and (value in ("true", "false") or value[:1] in ("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def options_of(resource: Registration, ids: Mapping[str, str]) -> dict[str, Any]:
    """The resource options a reviewer looks for, with resources as ids."""
    options = {
        "parent": _reference(resource.parent, ids),
        "provider": _reference(resource.provider, ids),
        "protect": resource.protect,
        "dependsOn": sorted(_reference(urn, ids) for urn in resource.depends_on),
        "customTimeouts": dict(resource.custom_timeouts),
        "deleteBeforeReplace": resource.delete_before_replace,
        "ignoreChanges": sorted(resource.ignore_changes),
        "retainOnDelete": resource.retain_on_delete,
    }
    if resource.replace_on_changes:  # only where set: renders made before it existed stay comparable
        options["replaceOnChanges"] = sorted(resource.replace_on_changes)
    return options


def _strings(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str, str]]:
    """Every string leaf of a value with its path (``spec.ports[0].name``)."""
    from .paths import dotted

    if isinstance(value, dict):
        for key in sorted(value, key=str):
            yield from _strings(value[key], (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
    elif isinstance(value, str):
        yield dotted(path), value


def reads_of(resource: Registration, by_urn: Mapping[str, Registration],
             ids: Mapping[str, str]) -> dict[str, list[str]]:
    """Input path -> the resources whose outputs it reads. The SDK names the top-level inputs that
    read another resource (propertyDependencies); the path within one is where that resource's
    output (as the mocks compute it: ARN, id, name, DNS name) appears, else the top-level input."""
    from .mock_outputs import computed_outputs

    reads: dict[str, set[str]] = {}
    for top, urns in resource.property_dependencies.items():
        for urn in urns:
            source = by_urn.get(urn)
            if source is None or not source.custom:
                continue
            outputs = computed_outputs(source.type, source.name, source.inputs)
            values = [v for v in (*outputs.values(), f"{source.name}-id") if isinstance(v, str) and len(v) >= 6]
            paths = [p for p, text in _strings(resource.inputs.get(top), (top,)) if any(v in text for v in values)]
            for path in paths or [top]:
                reads.setdefault(path, set()).add(ids[urn])
    return {path: sorted(found) for path, found in sorted(reads.items())}


def _entry(resource: Registration, ids: Mapping[str, str], file: str | None,
           by_urn: Mapping[str, Registration]) -> dict[str, Any]:
    qualified, _ = urn_tail(resource.urn)
    entry: dict[str, Any] = {
        "id": ids[resource.urn],
        "type": resource.type,
        "name": resource.name,
        "urn": f"{qualified}::{resource.name}",
        "options": options_of(resource, ids),
    }
    if file:
        entry["file"] = file
    # For offline.replacement, outside `options` so that a diff never shows them.
    reads = reads_of(resource, by_urn, ids) if resource.custom else {}
    if reads:
        entry["reads"] = reads
    if resource.delete_before_replace_set:
        entry["deleteBeforeReplaceSet"] = True
    return entry


def render_plan(plan: Plan, version: str) -> Rendered:
    """Every file of the plan's render (pure: nothing is written)."""
    ids = resource_ids(plan)
    by_urn = {r.urn: r for r in plan.resources}
    files: dict[str, str] = {}
    objects: dict[str, dict[str, Any]] = {}
    entries = []
    for resource in sorted(plan.resources, key=lambda r: ids[r.urn]):
        file = file_for(resource)
        entries.append(_entry(resource, ids, file, by_urn))
        if file is None:
            continue
        if file in files:
            raise RenderError(f"two resources render to {file}: Kubernetes would see one object")
        inputs = resource.inputs
        body = mask(_provider_inputs(inputs) if resource.type.startswith(PROVIDER_PREFIX) else inputs)
        files[file] = f"# {ids[resource.urn]}\n{dump(body)}"
        if resource.is_kubernetes_object:
            objects[file] = body
    summary = {
        "stack": plan.stack,
        "kubernetesVersion": version,
        "outputs": mask(plan.outputs),
        "resources": entries,
    }
    files[SUMMARY] = HEADER + dump(summary)
    return Rendered(version, dict(sorted(files.items())), objects)


def kubernetes_version(stack: str) -> str:
    """The stack's `cluster.kubernetesVersion`."""
    return str(stack_settings(stack).cluster.kubernetes_version)


def program_failure(exc: BaseException) -> str:
    """A crash of the program in a few lines: the exception and the innermost frames."""
    frames = "".join(traceback.format_exception(exc, limit=-3)).rstrip()
    return f"the program failed:\n{frames}"


def render_stack(stack: str) -> Rendered:
    """Run the program for ``stack`` and render it (raises StackFileError or ConfigError), with the
    deploy rules' problems (:mod:`offline.rules`) attached for --check."""
    from .rules import check_plan

    plan = run_stack(stack)
    settings = plan_settings(plan)
    rendered = render_plan(plan, settings.cluster.kubernetes_version)
    problems = tuple(check_plan(plan, settings.existing_objects()))
    return Rendered(rendered.kubernetes_version, rendered.files, rendered.kubernetes_files, problems)


def write(rendered: Rendered, folder: Path) -> None:
    """Replace ``folder`` with the render. Refuses to delete a folder that is not a render."""
    if folder.exists():
        if any(folder.iterdir()) and not (folder / SUMMARY).is_file():
            raise RenderError(f"{folder} exists and is not a render (no {SUMMARY}); not overwriting it")
        shutil.rmtree(folder)
    for relative, text in rendered.files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def check(rendered: Rendered, crds: Any = None) -> list[str]:
    """Every schema problem of the render's Kubernetes objects (checked against the schemas of its
    Kubernetes version; custom resources against the CRDs of ``crds``, an
    ``offline.crd_check.CrdChecker``, when given), and every `pulumi.com/waitFor` annotation the
    provider would refuse (:mod:`offline.await_rules`), as `<file>: <problem>` lines."""
    from .await_rules import problems as wait_for_problems
    from .schema import check_object

    return [
        f"{file}: {problem}"
        for file, obj in rendered.kubernetes_files.items()
        for problem in (*check_object(obj, rendered.kubernetes_version, crds), *wait_for_problems(obj))
    ]


# --- Command line ------------------------------------------------------------------------------


def _counts(rendered: Rendered) -> str:
    kinds = Counter(path.split("/", 1)[0] for path in rendered.files if path != SUMMARY)
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))


def render_one(stack: str, out: Path, run_check: bool, stdout: TextIO, stderr: TextIO, crds: Any = None) -> int:
    """Render (and check) one stack into ``out/<stack>``; the exit code for it."""
    from config import ConfigError

    try:
        rendered = render_stack(stack)
        folder = out / stack
        write(rendered, folder)
    except StackFileError as exc:
        print(f"error: {exc}", file=stderr)
        return exc.exit_code
    except ConfigError as exc:
        from config.stackfile import located

        print(f"error: stack {stack}: {located(stack, exc)}", file=stderr)
        return 1
    except RenderError as exc:
        print(f"error: stack {stack}: {exc}", file=stderr)
        return 1
    except OSError as exc:  # the output cannot be written: a full disk, a read-only or special file system
        print(f"error: stack {stack}: cannot write {exc.filename or out / stack}: {exc.strerror or exc}", file=stderr)
        return 1
    except Exception as exc:  # a bug in the program: say which stack, keep rendering the others
        print(f"error: stack {stack}: {program_failure(exc)}", file=stderr)
        return 1
    print(f"rendered {stack}: {_counts(rendered)} files -> {folder}", file=stdout)
    if not run_check:
        return 0
    from .crd_check import CrdError

    before = (crds.checked, crds.cel_rules) if crds is not None else (0, 0)
    try:
        problems = check(rendered, crds)
    except CrdError as exc:  # the CRD folder found beside the repository cannot be read
        print(f"error: stack {stack}: {exc}", file=stderr)
        return 1
    for problem in problems:
        print(f"error: stack {stack}: {folder / problem}", file=stderr)
    from .schema import unchecked_crds

    missing = unchecked_crds(list(rendered.kubernetes_files.values()), rendered.kubernetes_version, crds)
    if missing:
        print(f"error: stack {stack}: no schema here for {len(missing)} custom resource kind"
              f"{'s' if len(missing) != 1 else ''}: pass {'their CRDs' if len(missing) != 1 else 'its CRD'} "
              f"with `make check CRDS=DIR` (--crds DIR), DIR holding {', '.join(missing)} "
              "(`kubectl get crd NAME… -o yaml > DIR/crds.yaml`, or the upstream release's CRD files)", file=stderr)
    objects = len(rendered.kubernetes_files)
    verdict = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}" if problems else "valid"
    against = f"the Kubernetes {rendered.kubernetes_version} schemas (strict)"
    custom, cel = (crds.checked - before[0], crds.cel_rules - before[1]) if crds is not None else (0, 0)
    if crds is not None and (custom or not crds.fills_gaps):
        found = "upstream CRDs found beside the repository, in" if crds.fills_gaps else "CRDs in"
        against += (f", {custom} custom resources against the {found} {crds.folder} "
                    f"({cel} CEL rules in their schemas not evaluated)")
    print(f"checked {stack}: {objects} Kubernetes objects against {against}: {verdict}", file=stdout)
    for problem in rendered.deploy_problems:
        print(f"error: stack {stack}: pulumi up: {problem}", file=stderr)
    deploy = len(rendered.deploy_problems)
    print(f"checked {stack}: creation order, namespaces, selectors, fixed names and immutable references as "
          f"`pulumi up` would meet them (what a change replaces or refuses: make diff): "
          f"{f'{deploy} problem' + ('s' if deploy != 1 else '') if deploy else 'ok'}", file=stdout)
    from .second_up import problems as second_up

    again = second_up(rendered.files)
    for line in again:
        print(f"error: stack {stack}: a second pulumi up would change: {line}", file=stderr)
    print(f"checked {stack}: a second `pulumi up` with no change: "
          f"{'changes nothing' if not again else 'a perpetual diff, listed above'}", file=stdout)
    return 1 if problems or deploy or again else 0


def _stacks(requested: Iterable[str], every: bool) -> list[str]:
    names = list(dict.fromkeys(requested))
    if every:
        names += [s for s in stack_names() + fixture_names() if s not in names]
    return names or ["staging"]


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from config import stackfile

    from .cli import Parser, UsageError, output_folder, summary

    parser = Parser(prog="python -m offline render", description=summary(__doc__))
    parser.add_argument("--stack", action="append", default=[], help="stack to render (repeatable; default staging)")
    parser.add_argument("--all", action="store_true",
                        help="render every stack (Pulumi.<stack>.yaml) and test stack (tests/stacks/)")
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help="parent folder: each stack goes to OUT/<stack>/ (default build/render)")
    parser.add_argument("--check", action="store_true",
                        help="validate every Kubernetes object against the official schemas (strict)")
    parser.add_argument("--crds", type=Path, metavar="DIR",
                        help="with --check: validate custom resources against the CRDs in DIR's YAML files "
                             "(e.g. `kubectl get crd -o yaml`)")
    checker = None
    try:
        args = parser.parse_args(argv)
        stacks = _stacks(args.stack, args.all)
        unknown = [s for s in stacks if not stackfile.stack_file(s).is_file()]
        if unknown:
            known = ", ".join(stack_names()) or "none"
            raise UsageError(f"no stack file {stackfile.stack_file(unknown[0]).name} (stacks here: {known})")
        folder = output_folder(args.out, "--out", default=DEFAULT_OUT)
        from .crd_check import CrdChecker, CrdError, upstream_folder

        if args.crds is not None:
            if not args.check:
                raise UsageError("--crds needs --check")
            try:
                checker = CrdChecker(args.crds)
            except CrdError as exc:
                raise UsageError(f"--crds: {exc}") from None
        elif args.check and (upstream := upstream_folder()) is not None:
            # The kinds offline/crds/ has no schema of are checked against the real upstream CRDs.
            checker = CrdChecker(upstream / "crds", fills_gaps=True)
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return 2
    codes = [render_one(stack, folder, args.check, out, err, checker) for stack in stacks]
    return max(codes)
