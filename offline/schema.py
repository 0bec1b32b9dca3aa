"""Checks Kubernetes objects against the official OpenAPI schemas (kubernetes-validate, strict).

Strict schemas reject unknown fields, so a misspelt or misplaced key is caught here rather than
silently dropped by the API server. Every problem is reported, not just the first, with the
object and the field path. Custom resources are checked against the CRD schemas vendored in
``offline/crds/`` (one JSON schema per ``<kind>-<group>-<version>.json``), and the kinds without one
against real CRD files (``offline.crd_check``: the upstream CRDs beside the repository, or a folder
given with ``--crds``). A kind with neither is a problem that names the CRD to pass.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

CRD_DIR = Path(__file__).resolve().parent / "crds"


@dataclass(frozen=True)
class SchemaProblem:
    kind: str
    name: str
    namespace: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}: {self.path or '(object)'}: {self.message}"


@cache
def schema_version(kubernetes_version: str) -> str:
    """The newest schema set kubernetes-validate has that is not newer than the cluster (kept: listing
    the package's schema folders took half of a stack's check)."""
    wanted = kv.major_minor(kubernetes_version.lstrip("v"))
    versions = [v for v in kv.all_versions() if kv.major_minor(v) <= wanted]
    if not versions:
        raise kv.VersionNotSupportedError(wanted)
    return versions[-1]


@cache
def _definitions(version: str) -> Registry:
    defs = kv.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)
    return Resource.from_contents(defs) @ Registry()


@cache
def _official(version: str, kind: str, api_version: str) -> dict[str, Any] | None:
    """The official strict schema of a built-in kind; None for a custom resource."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    name = f"{kind.lower()}-{group_version}.json"
    try:
        schema: dict[str, Any] = kv.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/{name}", version)
    except FileNotFoundError:
        return None
    return schema


def is_builtin(obj: dict[str, Any], kubernetes_version: str) -> bool:
    """Whether Kubernetes itself serves the object's kind (else a CRD must)."""
    version = schema_version(kubernetes_version)
    return _official(version, str(obj.get("kind")), str(obj.get("apiVersion"))) is not None


def _vendored(kind: str, api_version: str) -> Path:
    return CRD_DIR / f"{kind.lower()}-{api_version.replace('/', '-')}.json"


def has_vendored_schema(obj: dict[str, Any]) -> bool:
    """Whether ``offline/crds/`` has a strict schema of the object's kind and version."""
    return _vendored(str(obj.get("kind")), str(obj.get("apiVersion"))).is_file()


def crd_name(obj: dict[str, Any]) -> str:
    """The name of the CRD that serves the object's kind (`<plural>.<group>`), as the
    prerequisites list it; for a kind this program does not know, `<kind> (<group>)`."""
    from .prerequisites import CRDS

    group, kind = str(obj.get("apiVersion")).rpartition("/")[0], str(obj.get("kind"))
    known = CRDS.get((group, kind))
    return known[0] if known is not None else f"the CRD of {kind} ({group})"


NO_SCHEMA = "no schema for"


def missing_schema(obj: dict[str, Any]) -> str:
    return (
        f"{NO_SCHEMA} {obj.get('apiVersion')} {obj.get('kind')}: offline/crds/ has none and no CRD folder was "
        f"found; pass its CRD, {crd_name(obj)}, with --crds DIR (make check CRDS=DIR)"
    )


@cache
def _validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    schema = _official(version, kind, api_version)
    if schema is not None:
        registry = Resource.from_contents(schema) @ _definitions(version)
    else:
        crd = _vendored(kind, api_version)
        if not crd.is_file():
            return None
        schema = json.loads(crd.read_text())
        registry = Registry()
    return jsonschema.Draft202012Validator(schema, registry=registry)


def check_object(obj: dict[str, Any], kubernetes_version: str, crds: Any = None) -> list[SchemaProblem]:
    """Every schema violation of one object (empty when it is valid). ``crds`` (an
    ``offline.crd_check.CrdChecker``) checks custom resources against CRD files: all of them, or,
    when it only fills gaps, those without a schema in ``offline/crds/``."""
    meta = obj.get("metadata") or {}
    kind, name, namespace = str(obj.get("kind")), str(meta.get("name")), str(meta.get("namespace") or "")
    if (
        crds is not None
        and not is_builtin(obj, kubernetes_version)
        and not (crds.fills_gaps and has_vendored_schema(obj))
    ):
        problems: list[SchemaProblem] = crds.check(obj)
        return problems
    validator = _validator(schema_version(kubernetes_version), kind, str(obj.get("apiVersion")))
    if validator is None:
        return [SchemaProblem(kind, name, namespace, "", missing_schema(obj))]
    return [
        SchemaProblem(kind, name, namespace, ".".join(str(p) for p in error.absolute_path), error.message)
        for error in sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    ]


def check_objects(objects: list[dict[str, Any]], kubernetes_version: str, crds: Any = None) -> list[SchemaProblem]:
    return [problem for obj in objects for problem in check_object(obj, kubernetes_version, crds)]


def unchecked_crds(objects: list[dict[str, Any]], kubernetes_version: str, crds: Any = None) -> list[str]:
    """The CRDs (sorted names) of the custom resources that no schema here checks, with no CRD
    folder: what a user must pass with ``--crds``."""
    if crds is not None:
        return []
    return sorted({
        crd_name(obj) for obj in objects if not is_builtin(obj, kubernetes_version) and not has_vendored_schema(obj)
    })
