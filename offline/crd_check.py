"""Checks custom resources against CustomResourceDefinitions read from YAML files, as the API server
would: the ``openAPIV3Schema`` of the version the object names, which the CRD must serve, and the
CRD's scope.

``render --check --crds DIR`` uses it, so a user can check a render against the CRDs of their own
cluster (``kubectl get crd -o yaml > DIR/crds.yaml``) or the upstream releases' CRD files.

The structural schema is turned into a JSON Schema the way the API server reads it:

- unknown fields are errors (the API server would prune them silently; ``kubectl --validate=strict``
  rejects them), except under ``x-kubernetes-preserve-unknown-fields``;
- ``nullable`` admits null, ``x-kubernetes-int-or-string`` an integer or a string;
- ``metadata`` is checked for a name (and a namespace exactly when the CRD is namespaced).

Not evaluated: the CEL rules (``x-kubernetes-validations``) and ``format`` (both counted in the
summary so nothing is silently called valid), defaults and conversion webhooks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .schema import SchemaProblem

_KEEP = {
    "type", "enum", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
    "uniqueItems", "minProperties", "maxProperties", "multipleOf", "required", "description",
}
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

REPOSITORY = Path(__file__).resolve().parent.parent
# Where the real upstream CRDs are when this checkout has them beside it (a `shared/upstream`
# folder, see its SOURCES.md): this variable, else `../shared/upstream` of the repository, else two
# levels up (a git worktree under a folder beside `shared/`).
UPSTREAM_VARIABLE = "SPYWATCHER_UPSTREAM"


def upstream_folder() -> Path | None:
    """The upstream artifacts folder (its ``crds/`` holds the CRD files), or None when there is none."""
    override = os.environ.get(UPSTREAM_VARIABLE)
    candidates = (
        [Path(override)] if override else [REPOSITORY.parent / "shared" / "upstream",
                                           REPOSITORY.parent.parent / "shared" / "upstream"]
    )
    return next((c for c in candidates if (c / "crds").is_dir()), None)


class CrdError(Exception):
    """A CRD folder that cannot be read."""


@dataclass
class ServedVersion:
    schema: dict[str, Any]
    cel_rules: int
    formats: int


@dataclass
class Crd:
    group: str
    kind: str
    namespaced: bool
    source: str
    versions: dict[str, ServedVersion] = field(default_factory=dict)  # served versions only


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same documents, ~10x faster


def _documents(path: Path) -> Iterator[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        docs = list(yaml.load_all(text, Loader=_LOADER)) if path.suffix != ".json" else [json.loads(text)]
    except (yaml.YAMLError, ValueError) as exc:
        raise CrdError(f"{path}: not valid YAML/JSON: {exc}") from None
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List":  # `kubectl get crd -o yaml`
            yield from (item for item in doc.get("items") or [] if isinstance(item, dict))
        elif isinstance(doc, dict):
            yield doc


def _convert(node: Any, counts: list[int]) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of one structural-schema node, strict about unknown fields."""
    if not isinstance(node, dict):
        return {}
    counts[0] += len(node.get("x-kubernetes-validations") or [])
    counts[1] += 1 if "format" in node else 0
    out: dict[str, Any] = {k: v for k, v in node.items() if k in _KEEP}
    if node.get("exclusiveMinimum") is True and "minimum" in out:
        out["exclusiveMinimum"] = out.pop("minimum")
    if node.get("exclusiveMaximum") is True and "maximum" in out:
        out["exclusiveMaximum"] = out.pop("maximum")
    if node.get("x-kubernetes-int-or-string"):  # with no `type` (a structural schema's rule)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            # In a structural schema these only add value checks; their nodes carry no types.
            out.setdefault("allOf", []).append({key: [_convert(n, counts) for n in node[key]]})
    if "not" in node:
        out["not"] = _convert(node["not"], counts)
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    if "properties" in node:
        out["properties"] = {k: _convert(v, counts) for k, v in node["properties"].items()}
    if "items" in node:
        out["items"] = _convert(node["items"], counts)
    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = _convert(additional, counts)
    elif additional is False or (node.get("type") == "object" and "properties" in node and not preserve):
        out["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "anyOf" in out:  # an int-or-string
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out


def _object_schema(crd: Crd, version: str, body: dict[str, Any], counts: list[int]) -> dict[str, Any]:
    schema = _convert(body, counts)
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"const": f"{crd.group}/{version}"}
    properties["kind"] = {"const": crd.kind}
    meta: dict[str, Any] = {
        "type": "object",
        "required": ["name", "namespace"] if crd.namespaced else ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
            "namespace": {"type": "string", "maxLength": 63, "pattern": _DNS_LABEL},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    properties["metadata"] = meta
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    schema.pop("additionalProperties", None)
    schema["additionalProperties"] = False
    return schema


def load_crds(folder: Path) -> dict[tuple[str, str], Crd]:
    """Every CRD in the YAML/JSON files of ``folder``, by (group, kind)."""
    if not folder.is_dir():
        raise CrdError(f"{folder}: no such folder")
    crds: dict[tuple[str, str], Crd] = {}
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    for path in files:
        for doc in _documents(path):
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc.get("spec") or {}
            group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
            if not group or not kind:
                raise CrdError(f"{path}: a CustomResourceDefinition without spec.group or spec.names.kind")
            crd = Crd(group, kind, spec.get("scope", "Namespaced") == "Namespaced", path.name)
            for version in spec.get("versions") or []:
                if not version.get("served"):
                    continue
                body = ((version.get("schema") or {}).get("openAPIV3Schema")) or {"type": "object"}
                counts = [0, 0]
                schema = _object_schema(crd, version["name"], body, counts)
                crd.versions[version["name"]] = ServedVersion(schema, counts[0], counts[1])
            crds[(group, kind)] = crd
    if not crds:
        raise CrdError(f"{folder}: no CustomResourceDefinition in its .yaml/.yml/.json files")
    return crds


class CrdChecker:
    """Validates custom resources against the CRDs of one folder.

    ``fills_gaps``: the folder was found, not given (the upstream CRDs beside the repository); it
    checks only the kinds that have no schema in ``offline/crds/``, and is read on first use. A
    folder given with ``--crds`` checks every custom resource, read at once (so a bad folder is a
    usage error before anything renders)."""

    def __init__(self, folder: Path, fills_gaps: bool = False):
        self.folder = folder
        self.fills_gaps = fills_gaps
        self._crds = None if fills_gaps else load_crds(folder)
        self._validators: dict[tuple[str, str, str], Any] = {}
        self.checked = 0
        self.cel_rules = 0

    @property
    def crds(self) -> dict[tuple[str, str], Crd]:
        if self._crds is None:
            self._crds = load_crds(self.folder)
        return self._crds

    def check(self, obj: dict[str, Any]) -> list[SchemaProblem]:
        meta = obj.get("metadata") or {}
        kind, name, namespace = str(obj.get("kind")), str(meta.get("name")), str(meta.get("namespace") or "")
        group, _, version = str(obj.get("apiVersion")).rpartition("/")
        crd = self.crds.get((group, kind))
        if crd is None:
            return [SchemaProblem(kind, name, namespace, "", f"no CRD for {group or '(core)'} {kind} in {self.folder}")]
        served = crd.versions.get(version)
        if served is None:
            versions = ", ".join(sorted(crd.versions)) or "none"
            return [
                SchemaProblem(
                    kind, name, namespace, "apiVersion",
                    f"{group}/{version} is not served by the CRD in {crd.source} (served: {versions})",
                )
            ]
        if not crd.namespaced and namespace:
            return [
                SchemaProblem(
                    kind, name, namespace, "metadata.namespace",
                    f"{kind} is cluster-scoped (CRD in {crd.source}): it has no namespace",
                )
            ]
        key = (group, kind, version)
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft202012Validator(served.schema)
        self.checked += 1
        self.cel_rules += served.cel_rules
        return [
            SchemaProblem(kind, name, namespace, ".".join(str(p) for p in error.absolute_path), error.message)
            for error in sorted(self._validators[key].iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
        ]
