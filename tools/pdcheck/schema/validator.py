"""Validate Kubernetes objects against strict schemas for one or more Kubernetes versions.

Where a schema comes from, first match wins:
  1. a CRD file given by the user (crd_files), for the group/version/kind it serves;
  2. a project schema in pdcheck/schemas/ (LeaderWorkerSet, DisaggregatedSet; PodMonitor and
     ServiceMonitor, converted from prometheus-operator's CRDs by tools/gen_monitoring_schemas.py);
  3. kubernetes-validate's bundled strict schemas for core kinds.

Every schema is compiled once per (apiVersion, kind, Kubernetes version), lazily, against one
referencing.Registry per Kubernetes version that holds that version's _definitions.json. Project
and CRD schemas refer to core types by the absolute definitions URI, so the same file is checked
against the pod template (and ObjectMeta) of each requested version.

Cost: most objects are valid, and the fast check (fastcheck.py, one lazily compiled checker per
Kubernetes version shared by all kinds) answers for them; jsonschema (and its imports, ~60 ms) and
the referencing.Registry are only set up when an object fails it. The registry is not crawled:
every $ref names the definitions document, which is registered as is.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from typing import TYPE_CHECKING

from . import bundle
from .crd import CrdSchema, load_crd_file
from .fastcheck import Compiler, Unsure, compile_check

if TYPE_CHECKING:
    import jsonschema
    from referencing import Registry

PROJECT_SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

# (apiVersion, kind) -> file in PROJECT_SCHEMA_DIR
PROJECT_SCHEMAS = {
    ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"): "leaderworkerset-v1.json",
    ("disaggregatedset.x-k8s.io/v1", "DisaggregatedSet"): "disaggregatedset-v1.json",
    ("workloads.x-k8s.io/v1alpha1", "RoleBasedGroup"): "rolebasedgroup-v1alpha1.json",
    ("workloads.x-k8s.io/v1alpha2", "RoleBasedGroup"): "rolebasedgroup-v1alpha2.json",
    ("workloads.x-k8s.io/v1alpha1", "RoleBasedGroupSet"): "rolebasedgroupset-v1alpha1.json",
    ("workloads.x-k8s.io/v1alpha2", "RoleBasedGroupSet"): "rolebasedgroupset-v1alpha2.json",
    ("workloads.x-k8s.io/v1alpha1", "ClusterEngineRuntimeProfile"): "clusterengineruntimeprofile-v1alpha1.json",
    ("workloads.x-k8s.io/v1alpha2", "ClusterEngineRuntimeProfile"): "clusterengineruntimeprofile-v1alpha2.json",
    ("nvidia.com/v1alpha1", "DynamoGraphDeployment"): "dynamographdeployment-v1alpha1.json",
    ("nvidia.com/v1beta1", "DynamoGraphDeployment"): "dynamographdeployment-v1beta1.json",
    ("ome.io/v1beta1", "InferenceService"): "inferenceservice-ome-v1beta1.json",
    ("ome.io/v1beta1", "ServingRuntime"): "servingruntime-ome-v1beta1.json",
    ("ome.io/v1beta1", "ClusterServingRuntime"): "clusterservingruntime-ome-v1beta1.json",
    ("orchestration.aibrix.ai/v1alpha1", "StormService"): "stormservice-v1alpha1.json",
    ("orchestration.aibrix.ai/v1alpha1", "RoleSet"): "roleset-v1alpha1.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring-v1.json",
}
# A project schema may take the $defs of others (a DisaggregatedSet role embeds a LeaderWorkerSetSpec).
INCLUDE_DEFS = "x-pdcheck-include-defs"

MAX_QUOTED_INSTANCE = 80


@dataclass(frozen=True)
class SchemaIssue:
    kind: str  # 'invalid' | 'no-schema' | 'bad-version'
    k8s_version: str  # '1.26', or '1.26,1.37' when identical across versions
    path: tuple  # JSON path into the object
    message: str
    # The first bundled Kubernetes version whose schema accepts what this issue is about (a field
    # added later), when that is newer than the versions it was found in; None otherwise.
    since: str | None = None
    # The schema that found it when that is not a Kubernetes version's: the LeaderWorkerSet (or
    # other bundled CRD) schema or a --crd file, for a field outside the core types they embed.
    schema: str | None = None


class SchemaValidator:
    def __init__(self, k8s_versions: list[str] | None = None, crd_files: list[str | Path] = ()):
        requested = k8s_versions or bundle.default_k8s_versions()
        self.k8s_versions = list(dict.fromkeys(bundle.normalize_version(v) for v in requested))
        self.crd_schemas: dict[tuple[str, str], CrdSchema] = {}
        for path in crd_files:
            for crd_schema in load_crd_file(path):
                self.crd_schemas[(crd_schema.api_version, crd_schema.kind)] = crd_schema
        self._registries: dict[str, Registry] = {}
        self._compilers: dict[str, Compiler] = {}
        # (k8s version, apiVersion, kind) -> compiled schema, or None when there is no schema
        self._validators: dict[tuple[str, str, str], _CompiledSchema | None] = {}

    # --- public -------------------------------------------------------------------------------

    def validate(self, obj: dict) -> list[SchemaIssue]:
        """All issues for the object across the requested versions, identical ones merged."""
        type_issue = _type_meta_issue(obj)
        if type_issue:
            return [SchemaIssue("invalid", ",".join(self.k8s_versions), type_issue[0], type_issue[1])]
        api_version, kind = obj["apiVersion"], obj["kind"]
        per_version = []
        for version in self.k8s_versions:
            compiled = self._validator(version, api_version, kind)
            if compiled is None:
                per_version.append(self._missing_schema_issue(version, api_version, kind))
                continue
            if compiled.quick_check_passes(obj):
                continue
            per_version.extend(self._issues(compiled, obj, version))
        merged = _merge_versions(per_version, self.k8s_versions)
        return [self._with_since(issue, obj, api_version, kind) for issue in merged]

    def _issues(self, compiled: _CompiledSchema, obj: dict, version: str) -> list[SchemaIssue]:
        issues = []
        for error in compiled.jsonschema_validator.iter_errors(obj):
            own = compiled.label is not None and not _in_core_definitions(compiled.schema, error.absolute_schema_path)
            issues.extend(replace(issue, schema=compiled.label) if own else issue
                          for issue in _issues_from_error(error, version))
        return issues

    def _with_since(self, issue: SchemaIssue, obj: dict, api_version: str, kind: str) -> SchemaIssue:
        """The issue, with `since` set when a newer bundled schema accepts the object at its path."""
        if issue.kind != "invalid" or not issue.path or issue.schema is not None:
            return issue  # (a CRD's own fields do not change with the Kubernetes version)
        newest_found = issue.k8s_version.split(",")[-1]
        candidates = bundle.newer_versions(newest_found)

        def accepts(version: str) -> bool:
            compiled = self._validator(version, api_version, kind)
            if compiled is None:
                return False
            return compiled.quick_check_passes(obj) or all(
                i.path != issue.path for i in self._issues(compiled, obj, version))

        if not candidates or not accepts(candidates[-1]):
            return issue
        low, high = 0, len(candidates) - 1  # fields are added, not removed: the first that accepts
        while low < high:
            middle = (low + high) // 2
            if accepts(candidates[middle]):
                high = middle
            else:
                low = middle + 1
        return replace(issue, since=candidates[low])

    # --- schemas ------------------------------------------------------------------------------

    def _registry(self, version: str) -> Registry:
        if version not in self._registries:
            from referencing import Registry, Resource

            definitions = Resource.from_contents(bundle.load_definitions(version))
            self._registries[version] = Registry().with_resource(bundle.DEFINITIONS_URI, definitions)
        return self._registries[version]

    def _compiler(self, version: str) -> Compiler:
        if version not in self._compilers:
            self._compilers[version] = Compiler(_Definitions(version))
        return self._compilers[version]

    def _validator(self, version: str, api_version: str, kind: str) -> _CompiledSchema | None:
        key = (version, api_version, kind)
        if key not in self._validators:
            schema, label = self._find_schema(version, api_version, kind)
            self._validators[key] = None if schema is None else _CompiledSchema(
                schema, lambda: self._registry(version), self._compiler(version), label)
        return self._validators[key]

    def _find_schema(self, version: str, api_version: str, kind: str) -> tuple[dict | None, str | None]:
        """The schema, and how messages name it when it is not a Kubernetes version's (see SchemaIssue.schema)."""
        crd_schema = self.crd_schemas.get((api_version, kind))
        if crd_schema:
            return crd_schema.schema, f"{kind} {api_version} schema of the CRD in {crd_schema.source}"
        if self._crd_defines_kind(api_version, kind):
            return None, None  # the CRD owns this group/kind but does not serve this version
        if (api_version, kind) in PROJECT_SCHEMAS:
            return _load_project_schema(PROJECT_SCHEMAS[(api_version, kind)]), f"{kind} {api_version} schema"
        return bundle.load_kind_schema(version, api_version, kind), None

    def _crd_defines_kind(self, api_version: str, kind: str) -> bool:
        return any(k == kind and _group(av) == _group(api_version) for av, k in self.crd_schemas)

    def _missing_schema_issue(self, version: str, api_version: str, kind: str) -> SchemaIssue:
        group = _group(api_version)
        crd_versions = [av for av, k in self.crd_schemas if k == kind and _group(av) == group]
        if crd_versions:
            source = self.crd_schemas[(crd_versions[0], kind)].source
            return SchemaIssue("bad-version", version, ("apiVersion",),
                               f"{kind} {api_version} is not served by the CRD in {source} "
                               f"(served: {', '.join(crd_versions)}).")
        project_versions = [av for av, k in PROJECT_SCHEMAS if k == kind and _group(av) == group]
        if project_versions:
            return SchemaIssue("bad-version", version, ("apiVersion",),
                               f"pdcheck has a schema for {kind} {', '.join(project_versions)} only, not {api_version}; "
                               f"pass its CRD with --crd to check it.")
        serving = [v for v in bundle.bundled_k8s_versions() if bundle.load_kind_schema(v, api_version, kind)]
        if serving:
            return SchemaIssue("bad-version", version, ("apiVersion",),
                               f"{kind} {api_version} is not served by Kubernetes {version} "
                               f"(bundled schemas have it in {_version_span(serving)}).")
        return SchemaIssue("no-schema", version, (),
                           f"No schema for {kind} {api_version}: not a built-in kind; pass its CRD with --crd to check it.")


def _group(api_version: str) -> str:
    """'apps/v1' -> 'apps', 'v1' -> '' (the core group)."""
    return api_version.rpartition("/")[0]


class _Definitions:
    """What the fast check needs of a registry: the definitions document of one version."""

    def __init__(self, version: str):
        self.version = version

    def contents(self, uri: str):
        if uri != bundle.DEFINITIONS_URI:
            raise LookupError(uri)
        return bundle.load_definitions(self.version)


class _CompiledSchema:
    """One schema bound to one Kubernetes version: a fast yes/no check plus jsonschema for messages."""

    def __init__(self, schema: dict, make_registry, compiler: Compiler, label: str | None = None):
        self.schema = schema
        self.label = label  # SchemaIssue.schema of issues in its own (not core) part
        self._make_registry = make_registry  # builds the referencing.Registry on first use
        self._jsonschema_validator = None
        self.fast_check = compile_check(schema, compiler)

    @property
    def jsonschema_validator(self) -> jsonschema.Draft202012Validator:
        if self._jsonschema_validator is None:
            self._jsonschema_validator = _validator_class()(self.schema, registry=self._make_registry())
        return self._jsonschema_validator

    def quick_check_passes(self, obj: dict) -> bool:
        if self.fast_check is None:
            return False
        try:
            return self.fast_check(obj)
        except Unsure:
            return False


@lru_cache(maxsize=1)
def _validator_class():
    """Draft 2020-12 with `pattern` matched by RE2 (regex.py), as the fast check does."""
    import jsonschema
    from jsonschema.validators import extend

    from .regex import pattern_keyword

    return extend(jsonschema.Draft202012Validator, {"pattern": pattern_keyword})


@lru_cache(maxsize=None)
def _load_project_schema(file_name: str) -> dict:
    with open(PROJECT_SCHEMA_DIR / file_name, encoding="utf-8") as f:
        schema = json.load(f)
    for other in schema.pop(INCLUDE_DEFS, []):
        schema["$defs"] = {**_load_project_schema(other)["$defs"], **schema.get("$defs", {})}
    return schema


def _type_meta_issue(obj) -> tuple[tuple, str] | None:
    """(path, message) when the object cannot be dispatched to a schema at all."""
    if not isinstance(obj, dict):
        return (), f"Expected a mapping (a Kubernetes object), got {type(obj).__name__}."
    for field in ("apiVersion", "kind"):
        value = obj.get(field)
        if value is None:
            return (field,), f"'{field}' is a required property."
        if not isinstance(value, str) or not value:
            return (field,), f"'{field}' must be a non-empty string, got {_short_repr(value)}."
    return None


def _version_span(versions: list[str]) -> str:
    return versions[0] if len(versions) == 1 else f"{versions[0]}–{versions[-1]}"


# --- messages ---------------------------------------------------------------------------------

def _issues_from_error(error: jsonschema.ValidationError, version: str) -> list[SchemaIssue]:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False and isinstance(error.instance, dict):
        # One issue per unknown field, pointing at the field itself (jsonschema reports the parent).
        known = list((error.schema.get("properties") or {}).keys())
        patterns = list((error.schema.get("patternProperties") or {}).keys())
        # YAML allows non-string keys (1:, true:, null:); they are matched as the API server sees them, as text.
        unknown = [name for name in error.instance
                   if name not in known and not any(re.search(p, str(name)) for p in patterns)]
        return [SchemaIssue("invalid", version, path + (name,), _unknown_field_message(name, known))
                for name in unknown]
    if error.validator in ("oneOf", "anyOf") and error.context:
        # "X is not valid under any of the given schemas" says little. If the value has the type of
        # some branch, report why that branch failed; otherwise name the accepted types.
        type_errors = [e for e in error.context if e.validator == "type" and not e.path]
        other_errors = [e for e in error.context if e not in type_errors]
        if other_errors:
            from jsonschema.exceptions import best_match

            return _issues_from_error(best_match(other_errors), version)
        accepted = sorted({t for e in type_errors
                           for t in ([e.validator_value] if isinstance(e.validator_value, str) else e.validator_value)}
                          - {"null"})
        return [SchemaIssue("invalid", version, path,
                            f"{_short_repr(error.instance)} is not of type {' or '.join(accepted)}.")]
    return [SchemaIssue("invalid", version, path, _trim_message(error))]


def _unknown_field_message(name, known: list[str]) -> str:
    message = f"Unknown field {name!r}."
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.75)
    if close:
        message = f"Unknown field {name!r} (did you mean {close[0]!r}?)."
    return message


def _short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED_INSTANCE else text[: MAX_QUOTED_INSTANCE - 3] + "..."


def _trim_message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message with the quoted instance (possibly a whole pod spec) capped in length."""
    message = error.message
    full = repr(error.instance)
    if len(full) > MAX_QUOTED_INSTANCE and full in message:
        message = message.replace(full, _short_repr(error.instance))
    return message if message.endswith(".") else message + "."


def _in_core_definitions(schema: dict, schema_path) -> bool:
    """Whether the keyword at schema_path (jsonschema's absolute_schema_path, which leaves out the
    $refs it followed) is reached through a $ref into the Kubernetes definitions document, rather
    than inside `schema` itself (a CRD's own fields)."""
    node = schema
    for part in schema_path:
        while isinstance(node, dict) and part not in node and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return True  # e.g. the core PodTemplateSpec a LeaderWorkerSet embeds
            node = _local_ref(schema, ref)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False  # (cannot follow: treated as the schema's own)
    return False


def _local_ref(schema: dict, ref: str):
    node = schema
    for part in ref[2:].split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node


def _merge_versions(issues: list[SchemaIssue], version_order: list[str]) -> list[SchemaIssue]:
    """Merge issues identical except for the version into one issue listing the versions."""
    versions_by_issue: dict[tuple, list[str]] = {}
    for issue in issues:
        versions_by_issue.setdefault((issue.kind, issue.path, issue.message, issue.schema), []).append(issue.k8s_version)
    merged = [
        SchemaIssue(kind, ",".join(sorted(set(versions), key=version_order.index)), path, message, schema=schema)
        for (kind, path, message, schema), versions in versions_by_issue.items()
    ]
    return sorted(merged, key=lambda i: (version_order.index(i.k8s_version.split(",")[0]), _path_key(i.path), i.message))


def _path_key(path: tuple) -> tuple:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in path)
