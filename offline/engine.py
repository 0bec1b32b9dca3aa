"""Runs the very program `pulumi up` runs (`__main__.py`) under the Pulumi SDK's mocks.

No CLI, no provider plugins, no cluster, no cloud: the mocks answer every registration and the
recorder keeps what the program asked for — type, name, inputs and resource options — as a
:class:`Plan`. Tests, `offline preview`, `render` and `diff` all read plans.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import pickle
import runpy
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi import resource as sdk_resource
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from config.stackfile import ROOT, encode, project_name, read_stack_config

PROGRAM = ROOT / "__main__.py"
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Secret:
    """A value the program passed as a Pulumi secret."""

    value: Any

    def __repr__(self) -> str:
        return "Secret([masked])"


def normalize(value: Any) -> Any:
    """Wire values made readable: whole floats back to ints, secret envelopes to :class:`Secret`, a
    text asset to `{"stringAsset": text}`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, pulumi.StringAsset):
        return {"stringAsset": value.text}
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return Secret(normalize(value.get("value")))
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


MASK = "[secret]"


def mask(value: Any) -> Any:
    """The value with every :class:`Secret` masked; a secret mapping keeps its keys."""
    if isinstance(value, Secret):
        inner = value.value
        if isinstance(inner, dict):
            return {k: MASK for k in inner}
        return MASK
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def reveal(value: Any) -> Any:
    """The value with every :class:`Secret` unwrapped (for assertions only)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


@dataclass
class Registration:
    """One resource the program registered, with the options Pulumi would act on."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    provider: str = ""
    protect: bool = False
    depends_on: tuple[str, ...] = ()
    delete_before_replace: bool = False
    delete_before_replace_set: bool = False  # the option was given (true or false), overriding the provider
    ignore_changes: tuple[str, ...] = ()
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    retain_on_delete: bool = False
    replace_on_changes: tuple[str, ...] = ()
    # Top-level input -> the URNs whose Outputs it reads (what the engine passes to the provider).
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deleted_with: str = ""
    replace_with: tuple[str, ...] = ()

    @property
    def is_kubernetes_object(self) -> bool:
        """A custom resource that becomes one Kubernetes object (not a provider or Helm release)."""
        return (
            self.custom
            and self.type.startswith("kubernetes:")
            and "kind" in self.inputs
            and "apiVersion" in self.inputs
        )

    def k8s_object(self) -> dict[str, Any]:
        """The Kubernetes object as the API server would receive it, secret values masked."""
        return mask(self.inputs)


@dataclass
class Plan:
    """What one run of the program registered."""

    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    logs: list[str]
    # The validated settings the program ran with (its module-level `settings`), if it got that far.
    settings: Any = None
    # The invokes (data sources) the program called, in order: (token, arguments). A real preview
    # calls them too, with the preview role's credentials (offline/iam.py PREVIEW_ACTIONS).
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # URN of a component -> the outputs it registered (`register_outputs`), which Pulumi keeps in the
    # stack's state with the component.
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Registration]:
        return iter(self.resources)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def get(self, type_: str, name: str) -> Registration:
        matches = [r for r in self.resources if r.type == type_ and r.name == name]
        if len(matches) != 1:
            known = sorted(r.name for r in self.of_type(type_))
            raise KeyError(f"{len(matches)} resources of type {type_} named {name!r} (known: {known})")
        return matches[0]

    def by_urn(self, urn: str) -> Registration:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def k8s_objects(self) -> list[dict[str, Any]]:
        return [r.k8s_object() for r in self.resources if r.is_kubernetes_object]

    def k8s(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """The one Kubernetes object of ``kind`` named ``name`` (in ``namespace``, if given)."""
        found = [
            o
            for o in self.k8s_objects()
            if o["kind"] == kind
            and o["metadata"]["name"] == name
            and (namespace is None or o["metadata"].get("namespace") == namespace)
        ]
        if len(found) != 1:
            known = sorted(o["metadata"]["name"] for o in self.k8s_objects() if o["kind"] == kind)
            raise KeyError(f"{len(found)} {kind} objects named {name!r} (known: {known})")
        return found[0]


class _Mocks(pulumi.runtime.Mocks):
    """Answers registrations with the inputs plus what a provider would compute, and invokes with
    :func:`offline.mock_outputs.call_result`, or with ``calls``: per invoke token, outputs that replace
    the usual ones, or the text of the provider's error."""

    def __init__(self, calls: Mapping[str, Mapping[str, Any] | str] | None = None):
        self.calls = dict(calls or {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        from .mock_outputs import computed_outputs

        computed = computed_outputs(args.typ, args.name, args.inputs)
        return str(computed.pop("id", f"{args.name}-id")), {**args.inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        from .mock_outputs import call_result

        answer = self.calls.get(args.token, {})
        if isinstance(answer, str):
            return {}, [("", answer)]
        return {**call_result(args.token, args.args), **answer}, []


class _Recorder(MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.invokes: list[tuple[str, dict[str, Any]]] = []
        self.stack_outputs: dict[str, Any] = {}
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        # (type, name) -> when the program constructed it. The SDK sends registrations from a pool
        # of threads, so their arrival order varies from run to run; the plan lists them in the
        # program's order (the same type and name under two parents: by URN).
        self.constructed: dict[tuple[str, str], int] = {}

    def in_program_order(self) -> list[Registration]:
        last = len(self.constructed)
        return sorted(self.registrations, key=lambda r: (self.constructed.get((r.type, r.name), last), r.urn))

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        timeouts = request.customTimeouts
        record = Registration(
            type=request.type,
            name=request.name,
            urn=response.urn,
            parent=request.parent,
            custom=bool(request.custom),
            inputs=normalize(rpc.deserialize_properties(request.object)),
            provider=request.provider,
            protect=bool(request.protect),
            depends_on=tuple(request.dependencies),
            delete_before_replace=bool(request.deleteBeforeReplace),
            delete_before_replace_set=bool(request.deleteBeforeReplaceDefined),
            ignore_changes=tuple(request.ignoreChanges),
            custom_timeouts={k: v for k in ("create", "update", "delete") if (v := getattr(timeouts, k, ""))},
            retain_on_delete=bool(request.retainOnDelete),
            replace_on_changes=tuple(request.replaceOnChanges),
            property_dependencies={
                key: tuple(deps.urns) for key, deps in request.propertyDependencies.items() if deps.urns
            },
            deleted_with=request.deletedWith,
            replace_with=tuple(request.replace_with),
        )
        with self._lock:
            self.registrations.append(record)
        return response

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        with self._lock:
            self.invokes.append((request.tok, normalize(rpc.deserialize_properties(request.args))))
        return super().Invoke(request)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        outputs = normalize(rpc.deserialize_properties(request.outputs))
        if f"::{STACK_TYPE}::" in request.urn:
            self.stack_outputs = outputs
        else:
            with self._lock:
                self.component_outputs[request.urn] = outputs
        return super().RegisterResourceOutputs(request)


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname.lower()}: {record.getMessage()}")


_RUN_LOCK = threading.Lock()


def _run_file(program: Path, namespace: dict[str, Any]) -> None:
    namespace.update(runpy.run_path(str(program), run_name="__main__"))


def _no_stack_trace() -> Any:
    return runtime_resource.source_pb2.StackTrace()


@contextmanager
def _offline_runtime(monitor: _Recorder) -> Iterator[None]:
    """The SDK as a run under the mocks needs it, for the duration of the run:

    - every resource's construction is numbered (:meth:`_Recorder.in_program_order`);
    - no stack trace is extracted per registration (it gives the engine source positions, which
      the mock monitor drops);
    - the cyclic garbage collector is off: a run makes little garbage, but each collection walks
      every object the provider packages loaded, hundreds of thousands.
    """
    register = sdk_resource.register_resource

    def numbered(res: Any, ty: str, name: str, *args: Any, **kwargs: Any) -> None:
        monitor.constructed.setdefault((ty, name), len(monitor.constructed))
        register(res, ty, name, *args, **kwargs)

    collecting = gc.isenabled()
    gc.disable()
    get_stack_trace = runtime_resource._get_stack_trace
    sdk_resource.register_resource = numbered
    runtime_resource._get_stack_trace = _no_stack_trace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = get_stack_trace
        sdk_resource.register_resource = register
        if collecting:
            gc.enable()


# Plans of runs already made, by their inputs, while :func:`remembered_runs` is on. The program reads
# nothing but its config and the repository's files, so the same inputs give the same plan; a
# process that runs a stack many times (`make docs` runs production seven times, the test suite
# hundreds) runs it once. Kept pickled: each caller gets its own copy to change.
_remembered: dict[str, bytes] | None = None


@contextmanager
def _runs_kept_in(store: dict[str, bytes] | None) -> Iterator[None]:
    global _remembered
    outer = _remembered
    _remembered = store
    try:
        yield
    finally:
        _remembered = outer


def remembered_runs(store: dict[str, bytes] | None = None) -> contextlib.AbstractContextManager[None]:
    """Within it, a run with the inputs of a run made earlier within it (or kept in ``store``, which
    it fills) returns a copy of that run's plan. Inside another, the outer one's plans serve."""
    return _runs_kept_in(_remembered if _remembered is not None else ({} if store is None else store))


def fresh_runs() -> contextlib.AbstractContextManager[None]:
    """Within it, every run runs the program, even inside :func:`remembered_runs` (for a caller that
    changes what the program does, e.g. by patching it)."""
    return _runs_kept_in(None)


def _run_key(stack: str, config: Mapping[str, Any], secret_keys: set[str] | frozenset[str], program: Path,
             calls: Mapping[str, Mapping[str, Any] | str] | None) -> str | None:
    """The inputs of a run as text, or None when they are not plain data (then it is not kept)."""
    try:
        return json.dumps([stack, config, sorted(secret_keys), str(program), calls])
    except (TypeError, ValueError):
        return None


def run_program(stack: str, config: Mapping[str, Any], secret_keys: set[str] | frozenset[str] = frozenset(),
                program: Path = PROGRAM, calls: Mapping[str, Mapping[str, Any] | str] | None = None) -> Plan:
    """Run ``program`` as stack ``stack`` with ``config`` (`{"project:key": value}`) under mocks
    (``calls``: invoke answers, see :class:`_Mocks`).

    Raises whatever the program raises (a config error arrives as ``config.ConfigError``), with
    the registrations made before the failure attached as ``exc.plan``.
    """
    store = _remembered
    key = _run_key(stack, config, secret_keys, program, calls) if store is not None else None
    if store is not None and key is not None and key in store:
        kept: Plan = pickle.loads(store[key])
        return kept
    plan = _run_program(stack, config, secret_keys, program, calls)
    if store is not None and key is not None:
        store[key] = pickle.dumps(plan)
    return plan


def _run_program(stack: str, config: Mapping[str, Any], secret_keys: set[str] | frozenset[str],
                 program: Path, calls: Mapping[str, Mapping[str, Any] | str] | None) -> Plan:
    root = str(program.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    with _RUN_LOCK:
        mocks = _Mocks(calls)
        monitor = _Recorder(mocks)
        collector = _LogCollector()
        logger = logging.getLogger(f"spywatcher.offline.{stack}")
        logger.propagate = False
        logger.handlers = [collector]
        logger.setLevel(logging.DEBUG)
        pulumi.runtime.set_mocks(
            mocks, project=project_name(program.parent), stack=stack, preview=True, logger=logger, monitor=monitor
        )
        set_root_resource(None)  # type: ignore[arg-type]  # run_in_stack creates the stack resource, as the real host does
        pulumi.runtime.set_all_config({k: encode(v) for k, v in config.items()}, sorted(secret_keys))
        namespace: dict[str, Any] = {}
        try:
            with _offline_runtime(monitor):
                _sync_await(run_in_stack(lambda: _run_file(program, namespace)))
        except BaseException as exc:
            # What was registered before the failure, for callers that check "nothing registered".
            exc.plan = Plan(stack, monitor.in_program_order(), {}, list(collector.lines),  # type: ignore[attr-defined]
                            invokes=list(monitor.invokes))
            raise
        finally:
            set_root_resource(None)  # type: ignore[arg-type]
    return Plan(stack, monitor.in_program_order(), dict(monitor.stack_outputs), list(collector.lines),
                namespace.get("settings"), list(monitor.invokes), dict(monitor.component_outputs))


def run_stack(stack: str, overrides: Mapping[str, Any] | None = None,
              secrets: Mapping[str, Any] | None = None,
              calls: Mapping[str, Mapping[str, Any] | str] | None = None) -> Plan:
    """Run the program with the stack file's config.

    ``overrides`` are deep-merged into the stack file's values (`{"backend": {...}}`; the project
    prefix is optional; a value of :data:`DELETE` removes a key). ``secrets`` set keys as Pulumi
    secrets, as `pulumi config set --secret` would. ``calls`` answer invokes (see :class:`_Mocks`).
    """
    config, secret_keys = read_stack_config(stack)
    project = project_name()
    for source, is_secret in ((overrides or {}, False), (secrets or {}, True)):
        for key, value in source.items():
            full_key = key if ":" in key else f"{project}:{key}"
            merged = _merge(config.get(full_key), value) if not is_secret else value
            if merged is DELETE:
                config.pop(full_key, None)
                secret_keys.discard(full_key)
                continue
            config[full_key] = merged
            if is_secret:
                secret_keys.add(full_key)
    return run_program(stack, config, secret_keys, calls=calls)


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()
"""Marks a key to remove in :func:`run_stack` overrides."""


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if value is DELETE:
                merged.pop(key, None)
            else:
                merged[key] = _merge(merged.get(key), value)
        return merged
    return override


def stack_settings(stack: str) -> Any:
    """The stack's validated settings (so the models' defaults apply)."""
    from config.loader import project_config, validate_settings

    return validate_settings(*project_config(*read_stack_config(stack)), stack)


def plan_settings(plan: Plan) -> Any:
    """The validated settings ``plan`` was run with: the program's own, else the stack file's."""
    return plan.settings if plan.settings is not None else stack_settings(plan.stack)
