"""The CRD check's own rules (offline/crd_check.py), on small CRDs written here: what metadata each
scope requires, which versions count, how each structural-schema keyword is read, and what a
folder that is not a set of CRDs gets. Each rule is the API server's (k8s.io/apiextensions-apiserver
pkg/apiserver/schema, pkg/registry/customresource/validator.go; metadata names per
k8s.io/apimachinery pkg/api/validation ValidateObjectMeta), checked at its edge and just past it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.crd_check import CrdChecker, CrdError, load_crds

GROUP = "example.spywatcher.io"

# One property per structural-schema keyword the check keeps, with a value at its edge (valid) and
# one just past it (invalid), and the whole message jsonschema gives for the invalid one.
KEYWORDS: dict[str, tuple[dict[str, Any], Any, Any, str]] = {
    "type": ({"type": "integer"}, 3, "3", "'3' is not of type 'integer'"),
    "enum": ({"type": "string", "enum": ["a", "b"]}, "b", "c", "'c' is not one of ['a', 'b']"),
    "pattern": ({"type": "string", "pattern": "^[a-z]+$"}, "abc", "abc1", "'abc1' does not match '^[a-z]+$'"),
    "minimum": ({"type": "integer", "minimum": 2}, 2, 1, "1 is less than the minimum of 2"),
    "maximum": ({"type": "integer", "maximum": 5}, 5, 6, "6 is greater than the maximum of 5"),
    "minLength": ({"type": "string", "minLength": 2}, "ab", "a", "'a' is too short"),
    "maxLength": ({"type": "string", "maxLength": 2}, "ab", "abc", "'abc' is too long"),
    "minItems": ({"type": "array", "items": {"type": "integer"}, "minItems": 1}, [1], [], "[] should be non-empty"),
    "maxItems": ({"type": "array", "items": {"type": "integer"}, "maxItems": 1}, [1], [1, 2], "[1, 2] is too long"),
    "uniqueItems": ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, [1, 2], [1, 1],
                    "[1, 1] has non-unique elements"),
    "minProperties": ({"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1},
                      {"a": "x"}, {}, "{} should be non-empty"),
    "maxProperties": ({"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1},
                      {"a": "x"}, {"a": "x", "b": "y"}, "{'a': 'x', 'b': 'y'} has too many properties"),
    "multipleOf": ({"type": "integer", "multipleOf": 5}, 10, 12, "12 is not a multiple of 5"),
    "required": ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, {"a": "x"}, {},
                 "'a' is a required property"),
}


def crd(kind: str = "Widget", scope: str | None = "Namespaced", versions: list[dict[str, Any]] | None = None,
        spec_schema: dict[str, Any] | None = None) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"spec": spec_schema or {"type": "object", "properties": {}}}}
    spec: dict[str, Any] = {
        "group": GROUP,
        "names": {"kind": kind, "plural": kind.lower() + "s"},
        "versions": versions if versions is not None else [
            {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}],
    }
    if scope is not None:
        spec["scope"] = scope
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{kind.lower()}s.{GROUP}"}, "spec": spec}


def checker(tmp_path: Path, *crds: dict[str, Any]) -> CrdChecker:
    (tmp_path / "crds.yaml").write_text(yaml.safe_dump_all(crds))
    return CrdChecker(tmp_path)


def widget(spec: Any = None, kind: str = "Widget", version: str = "v1", **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{version}", "kind": kind,
            "metadata": {"name": "w", "namespace": "apps", **metadata}, "spec": {} if spec is None else spec}


def problems(check: CrdChecker, obj: dict[str, Any]) -> list[str]:
    return [str(p) for p in check.check(obj)]


# --- Scope: what metadata each kind requires ------------------------------------------------------


def test_a_namespaced_kind_needs_a_name_and_a_namespace(tmp_path: Path) -> None:
    check = checker(tmp_path, crd())
    assert problems(check, widget()) == []
    no_namespace = widget()
    del no_namespace["metadata"]["namespace"]
    assert problems(check, no_namespace) == ["Widget w: metadata: 'namespace' is a required property"]
    no_name = widget()
    del no_name["metadata"]["name"]
    assert problems(check, no_name) == ["Widget apps/None: metadata: 'name' is a required property"]


def test_a_crd_without_a_scope_is_namespaced(tmp_path: Path) -> None:
    """`spec.scope` is required by the API server; a CRD file without it is read as the common case."""
    check = checker(tmp_path, crd(scope=None))
    no_namespace = widget()
    del no_namespace["metadata"]["namespace"]
    assert problems(check, no_namespace) == ["Widget w: metadata: 'namespace' is a required property"]


def test_a_cluster_scoped_kind_needs_a_name_and_has_no_namespace(tmp_path: Path) -> None:
    check = checker(tmp_path, crd(scope="Cluster"))
    cluster_wide = widget()
    del cluster_wide["metadata"]["namespace"]
    assert problems(check, cluster_wide) == []
    assert check.checked == 1
    assert problems(check, widget()) == [
        "Widget apps/w: metadata.namespace: Widget is cluster-scoped (CRD in crds.yaml): it has no namespace"]
    assert check.checked == 1  # refused before the schema


@pytest.mark.parametrize(("name", "valid"), [
    ("a", True),
    ("a.b-c.d0", True),
    ("a" * 253, True),
    ("a" * 254, False),
    ("A", False),
    ("-a", False),
    ("a-", False),
    ("a..b", False),
    ("a_b", False),
])
def test_names_are_dns_subdomains(tmp_path: Path, name: str, valid: bool) -> None:
    found = problems(checker(tmp_path, crd()), widget(name=name))
    assert (found == []) is valid, found


@pytest.mark.parametrize(("namespace", "valid"), [
    ("a", True),
    ("a" * 63, True),
    ("a" * 64, False),
    ("a.b", False),
    ("Apps", False),
    ("apps-", False),
])
def test_namespaces_are_dns_labels(tmp_path: Path, namespace: str, valid: bool) -> None:
    found = problems(checker(tmp_path, crd()), widget(namespace=namespace))
    assert (found == []) is valid, found


def test_labels_and_annotations_are_maps_of_strings(tmp_path: Path) -> None:
    check = checker(tmp_path, crd())
    assert problems(check, widget(labels={"a": "1"}, annotations={"b": "x"})) == []
    assert problems(check, widget(labels={"a": 1})) == ["Widget apps/w: metadata.labels.a: 1 is not of type 'string'"]
    assert problems(check, widget(annotations={"b": True})) == [
        "Widget apps/w: metadata.annotations.b: True is not of type 'string'"]
    # Not a map at all.
    assert problems(check, widget(labels=["a"])) == ["Widget apps/w: metadata.labels: ['a'] is not of type 'object'"]
    assert problems(check, widget(annotations="b")) == [
        "Widget apps/w: metadata.annotations: 'b' is not of type 'object'"]


# --- Versions, kinds, the object's own fields -----------------------------------------------------


def test_only_served_versions_are_checked_and_named(tmp_path: Path) -> None:
    versions = [
        {"name": "v1alpha1", "served": False, "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
        {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}},
        {"name": "v2", "served": True, "storage": False},  # no schema: an object of the top-level fields
    ]
    check = checker(tmp_path, crd(versions=versions))
    assert problems(check, widget(version="v1alpha1")) == [
        f"Widget apps/w: apiVersion: {GROUP}/v1alpha1 is not served by the CRD in crds.yaml (served: v1, v2)"]
    bare = widget(version="v2")
    del bare["spec"]
    assert problems(check, bare) == []
    assert check.checked == 1


def test_a_crd_serving_nothing_says_none(tmp_path: Path) -> None:
    # `served` is required in a CRD; one without it is not read as served
    check = checker(tmp_path, crd(versions=[{"name": "v1", "served": False, "storage": True}, {"name": "v2"}]))
    assert problems(check, widget()) == [
        f"Widget apps/w: apiVersion: {GROUP}/v1 is not served by the CRD in crds.yaml (served: none)"]


def test_versions_are_named_in_order_and_the_group_is_what_precedes_the_last_slash(tmp_path: Path) -> None:
    versions = [{"name": n, "served": True, "storage": n == "v1"} for n in ("v2", "v1")]
    check = checker(tmp_path, crd(versions=versions))
    assert problems(check, widget(version="v3")) == [
        f"Widget apps/w: apiVersion: {GROUP}/v3 is not served by the CRD in crds.yaml (served: v1, v2)"]
    core = {**widget(), "apiVersion": "v1"}
    assert problems(check, core) == [f"Widget apps/w: (object): no CRD for (core) Widget in {tmp_path}"]


def test_an_object_without_metadata_is_refused_before_its_fields(tmp_path: Path) -> None:
    check = checker(tmp_path, crd(spec_schema={"type": "object", "properties": {"size": {"type": "integer"}}}))
    bare = {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "spec": {"size": "big"}}
    assert problems(check, bare) == [
        "Widget None: (object): 'metadata' is a required property",
        "Widget None: spec.size: 'big' is not of type 'integer'",
    ]


def test_the_upstream_folder_is_one_that_holds_crds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from offline.crd_check import UPSTREAM_VARIABLE, upstream_folder

    monkeypatch.setenv(UPSTREAM_VARIABLE, str(tmp_path))
    assert upstream_folder() is None
    (tmp_path / "crds").mkdir()
    assert upstream_folder() == tmp_path


def test_a_kind_without_a_crd_is_a_problem(tmp_path: Path) -> None:
    check = checker(tmp_path, crd())
    assert problems(check, widget(kind="Gadget")) == [
        f"Gadget apps/w: (object): no CRD for {GROUP} Gadget in {tmp_path}"]
    other_group = {**widget(), "apiVersion": "other.io/v1"}
    assert problems(check, other_group) == [f"Widget apps/w: (object): no CRD for other.io Widget in {tmp_path}"]


def test_unknown_top_level_fields_are_refused(tmp_path: Path) -> None:
    check = checker(tmp_path, crd())
    assert problems(check, {**widget(), "status": {}}) == [
        "Widget apps/w: (object): Additional properties are not allowed ('status' was unexpected)"]


# --- The structural schema, keyword by keyword -----------------------------------------------------


@pytest.mark.parametrize("keyword", sorted(KEYWORDS))
def test_each_kept_keyword_is_enforced_at_its_edge(tmp_path: Path, keyword: str) -> None:
    schema, edge, past, message = KEYWORDS[keyword]
    check = checker(tmp_path, crd(spec_schema={"type": "object", "properties": {"f": schema}}))
    assert problems(check, widget({"f": edge})) == []
    assert problems(check, widget({"f": past})) == [f"Widget apps/w: spec.f: {message}"]


@pytest.mark.parametrize(("bound", "edge", "inside"), [("Minimum", 0, 1), ("Maximum", 10, 9)])
def test_an_exclusive_bound_refuses_the_edge_itself(tmp_path: Path, bound: str, edge: int, inside: int) -> None:
    key = bound.lower()
    exclusive = {"type": "integer", key: edge, f"exclusive{bound}": True}
    inclusive = {"type": "integer", key: edge}
    check = checker(tmp_path, crd(spec_schema={"type": "object", "properties": {"x": exclusive, "i": inclusive}}))
    assert problems(check, widget({"x": inside, "i": edge})) == []
    side = "less than or equal to the minimum" if key == "minimum" else "greater than or equal to the maximum"
    assert problems(check, widget({"x": edge})) == [f"Widget apps/w: spec.x: {edge} is {side} of {edge}"]


def test_an_exclusive_flag_without_its_bound_adds_nothing(tmp_path: Path) -> None:
    schema = {"type": "integer", "exclusiveMinimum": True, "exclusiveMaximum": True}
    check = checker(tmp_path, crd(spec_schema={"type": "object", "properties": {"x": schema}}))
    assert problems(check, widget({"x": 0})) == []


def test_unknown_fields_are_refused_except_where_preserved(tmp_path: Path) -> None:
    spec = {"type": "object", "properties": {
        "strict": {"type": "object", "properties": {"a": {"type": "string"}}},
        "open": {"type": "object", "properties": {"a": {"type": "string"}},
                 "x-kubernetes-preserve-unknown-fields": True},
        "free": {"type": "object"},  # no properties: nothing to be unknown against
        "closed": {"type": "object", "additionalProperties": False},
    }}
    check = checker(tmp_path, crd(spec_schema=spec))
    assert problems(check, widget({"strict": {"a": "x"}, "open": {"b": 1}, "free": {"c": 2}, "closed": {}})) == []
    assert problems(check, widget({"strict": {"b": 1}})) == [
        "Widget apps/w: spec.strict: Additional properties are not allowed ('b' was unexpected)"]
    assert problems(check, widget({"closed": {"b": 1}})) == [
        "Widget apps/w: spec.closed: Additional properties are not allowed ('b' was unexpected)"]


def test_map_values_follow_their_schema(tmp_path: Path) -> None:
    spec = {"type": "object", "properties": {"m": {"type": "object", "additionalProperties": {"type": "integer"}}}}
    check = checker(tmp_path, crd(spec_schema=spec))
    assert problems(check, widget({"m": {"a": 1}})) == []
    assert problems(check, widget({"m": {"a": "1"}})) == ["Widget apps/w: spec.m.a: '1' is not of type 'integer'"]


def test_array_items_are_strict_too(tmp_path: Path) -> None:
    item = {"type": "object", "properties": {"a": {"type": "string"}}}
    spec = {"type": "object", "properties": {"l": {"type": "array", "items": item}}}
    check = checker(tmp_path, crd(spec_schema=spec))
    assert problems(check, widget({"l": [{"a": "x"}]})) == []
    assert problems(check, widget({"l": [{"a": "x"}, {"b": "y"}]})) == [
        "Widget apps/w: spec.l.1: Additional properties are not allowed ('b' was unexpected)"]


def test_nullable_admits_null_and_only_then(tmp_path: Path) -> None:
    spec = {"type": "object", "properties": {"n": {"type": "string", "nullable": True}, "s": {"type": "string"}}}
    check = checker(tmp_path, crd(spec_schema=spec))
    assert problems(check, widget({"n": None, "s": "x"})) == []
    assert problems(check, widget({"s": None})) == ["Widget apps/w: spec.s: None is not of type 'string'"]


@pytest.mark.parametrize(("value", "message"), [
    (8080, None),
    ("http", None),
    (1.5, "1.5 is not valid under any of the given schemas"),
    (True, "True is not valid under any of the given schemas"),
])
def test_int_or_string_admits_exactly_those(tmp_path: Path, value: Any, message: str | None) -> None:
    spec = {"type": "object", "properties": {"port": {"x-kubernetes-int-or-string": True}}}
    found = problems(checker(tmp_path, crd(spec_schema=spec)), widget({"port": value}))
    assert found == ([] if message is None else [f"Widget apps/w: spec.port: {message}"])


def test_a_nullable_int_or_string_admits_null_too(tmp_path: Path) -> None:
    spec = {"type": "object", "properties": {"port": {"x-kubernetes-int-or-string": True, "nullable": True}}}
    check = checker(tmp_path, crd(spec_schema=spec))
    assert [problems(check, widget({"port": v})) for v in (None, 1, "a")] == [[], [], []]
    assert problems(check, widget({"port": 1.5})) == [
        "Widget apps/w: spec.port: 1.5 is not valid under any of the given schemas"]


def test_any_of_one_of_all_of_and_not_add_value_checks(tmp_path: Path) -> None:
    spec = {"type": "object", "properties": {
        "any": {"type": "integer", "anyOf": [{"minimum": 10}, {"maximum": 0}]},
        "one": {"type": "string", "oneOf": [{"enum": ["a"]}, {"enum": ["b"]}]},
        "all": {"type": "string", "allOf": [{"minLength": 2}, {"maxLength": 3}]},
        "neg": {"type": "string", "not": {"enum": ["x"]}},
    }}
    check = checker(tmp_path, crd(spec_schema=spec))
    assert problems(check, widget({"any": 11, "one": "a", "all": "ab", "neg": "y"})) == []
    none = "is not valid under any of the given schemas"
    assert problems(check, widget({"any": 5})) == [f"Widget apps/w: spec.any: 5 {none}"]
    assert problems(check, widget({"one": "c"})) == [f"Widget apps/w: spec.one: 'c' {none}"]
    assert problems(check, widget({"all": "abcd"})) == ["Widget apps/w: spec.all: 'abcd' is too long"]
    assert problems(check, widget({"neg": "x"})) == [
        "Widget apps/w: spec.neg: 'x' should not be valid under {'enum': ['x']}"]


def test_every_problem_is_reported_in_path_order(tmp_path: Path) -> None:
    spec = {"type": "object", "properties": {"b": {"type": "integer"}, "a": {"type": "integer"}}}
    check = checker(tmp_path, crd(spec_schema=spec))
    assert problems(check, widget({"b": "x", "a": "y"})) == [
        "Widget apps/w: spec.a: 'y' is not of type 'integer'", "Widget apps/w: spec.b: 'x' is not of type 'integer'"]


def test_cel_rules_are_counted_not_evaluated(tmp_path: Path) -> None:
    rule = {"rule": "self.a == 'never'", "message": "never"}
    spec = {"type": "object", "x-kubernetes-validations": [rule, rule],
            "properties": {"a": {"type": "string", "format": "hostname", "x-kubernetes-validations": [rule]}}}
    check = checker(tmp_path, crd(spec_schema=spec))
    served = check.crds[(GROUP, "Widget")].versions["v1"]
    assert (served.cel_rules, served.formats) == (3, 1)
    assert problems(check, widget({"a": "not a hostname!"})) == []
    assert problems(check, widget({"a": "x"})) == []
    assert (check.checked, check.cel_rules) == (2, 6)


# --- Reading the folder -----------------------------------------------------------------------------


def test_lists_json_and_every_yaml_suffix_are_read_and_other_files_ignored(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"kind": "List", "items": [crd("A"), "not a mapping"]}))
    (tmp_path / "b.yml").write_text(yaml.safe_dump_all([crd("B"), {"kind": "ConfigMap"}, None]))
    (tmp_path / "c.json").write_text(json.dumps(crd("C")))
    (tmp_path / "d.txt").write_text(yaml.safe_dump(crd("D")))
    (tmp_path / "e.yaml").mkdir()
    assert sorted(load_crds(tmp_path)) == [(GROUP, "A"), (GROUP, "B"), (GROUP, "C")]
    assert load_crds(tmp_path)[(GROUP, "C")].source == "c.json"


@pytest.mark.parametrize(("files", "message"), [
    ({}, "{folder}: no CustomResourceDefinition in its .yaml/.yml/.json files"),
    ({"a.yaml": "kind: ConfigMap\n"}, "{folder}: no CustomResourceDefinition in its .yaml/.yml/.json files"),
    ({"a.yaml": "a: [\n"}, None),
    ({"a.json": "{"}, None),
    ({"a.yaml": yaml.safe_dump({**crd(), "spec": {"names": {"kind": "Widget"}}})},
     "{folder}/a.yaml: a CustomResourceDefinition without spec.group or spec.names.kind"),
    ({"a.yaml": yaml.safe_dump({**crd(), "spec": {"group": GROUP}})},
     "{folder}/a.yaml: a CustomResourceDefinition without spec.group or spec.names.kind"),
])
def test_a_folder_that_is_not_a_set_of_crds_is_an_error(tmp_path: Path, files: dict[str, str],
                                                         message: str | None) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(CrdError) as caught:
        load_crds(tmp_path)
    if message is None:
        [name] = files
        assert str(caught.value).startswith(f"{tmp_path / name}: not valid YAML/JSON: ")
    else:
        assert str(caught.value) == message.format(folder=tmp_path)


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CrdError) as caught:
        CrdChecker(tmp_path / "nope")
    assert str(caught.value) == f"{tmp_path / 'nope'}: no such folder"
