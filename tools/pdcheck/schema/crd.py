"""CustomResourceDefinition files -> JSON Schemas for the custom resources they define.

Each served version's `openAPIV3Schema` (OpenAPI 3.0 subset + Kubernetes extensions) becomes a
JSON Schema 2020-12 document:

- Unknown fields are reported. The API server *prunes* fields a structural schema does not declare
  (and nulls in fields not marked `nullable`) without an error; a manifest that relies on them is
  wrong, so a strict linter reports both, the same way kubernetes-validate's strict core schemas do.
  `x-kubernetes-preserve-unknown-fields: true` keeps a subtree open.
- `x-kubernetes-int-or-string` -> integer or string; `nullable: true` -> null allowed.
- `x-kubernetes-embedded-resource` -> apiVersion and kind required, metadata checked as ObjectMeta.
- OpenAPI 3.0 boolean `exclusiveMinimum`/`exclusiveMaximum` -> the numeric 2020-12 form.
- `x-kubernetes-list-type: set` -> uniqueItems. Not checked: `map` list keys, CEL
  (`x-kubernetes-validations`), formats, patterns RE2 cannot compile (patterns are matched with
  RE2, as the API server does: see regex.py).
- The root `metadata` is checked against the core ObjectMeta of the Kubernetes version being
  validated (the API server validates ObjectMeta itself; CRDs only say `type: object`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..yamlio import load_documents, read_text
from .bundle import DEFINITIONS_URI, SchemaSetupError
from .regex import HAVE_RE2, searcher

OBJECT_META_REF = DEFINITIONS_URI + "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

# Keywords whose meaning is the same in OpenAPI 3.0 schemas and JSON Schema 2020-12.
_COPIED_KEYWORDS = {
    "type", "enum", "const", "pattern", "format", "title",
    "minimum", "maximum", "multipleOf", "minLength", "maxLength",
    "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties", "required",
}


@dataclass(frozen=True)
class CrdSchema:
    api_version: str  # 'group/version'
    kind: str
    schema: dict  # JSON Schema 2020-12, referring to the core definitions by absolute URI
    source: str  # file the CRD came from, for messages


def load_crd_file(path: str | Path) -> list[CrdSchema]:
    """Schemas of every served version of every CRD in a YAML/JSON file (multi-document, or a List).

    Read with the same limits as manifests (size, alias expansion, nesting): an exported CRD is
    input like any other."""
    name = str(path)
    try:
        text = read_text(path)
    except InputError as exc:
        raise SchemaSetupError(f"Cannot read CRD file {name}: {exc.message}.") from None
    try:
        if text.lstrip().startswith("{"):
            documents = [json.loads(text)]
        else:
            documents = [doc.data for doc in load_documents(text, name)]
    except ValueError as exc:
        raise SchemaSetupError(f"CRD file {name} is not valid YAML or JSON: {str(exc).strip().splitlines()[0]}.") from None
    except InputError as exc:
        raise SchemaSetupError(f"CRD file {name} is not valid YAML or JSON: {exc.message}.") from None

    crds = [doc for doc in _flatten_lists(documents) if _is_crd(doc)]
    if not crds:
        raise SchemaSetupError(f"CRD file {name} contains no CustomResourceDefinition.")
    schemas = []
    for crd in crds:
        schemas.extend(_crd_schemas(crd, name))
    return schemas


def _flatten_lists(documents: list) -> list:
    flat = []
    for doc in documents:
        if isinstance(doc, dict) and isinstance(doc.get("items"), list) and str(doc.get("kind", "")).endswith("List"):
            flat.extend(doc["items"])
        elif doc is not None:
            flat.append(doc)
    return flat


def _is_crd(doc) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"


def _crd_schemas(crd: dict, source: str) -> list[CrdSchema]:
    crd_name = (crd.get("metadata") or {}).get("name", "<unnamed>")
    where = f"CRD {crd_name} in {source}"
    if crd.get("apiVersion") != "apiextensions.k8s.io/v1":
        raise SchemaSetupError(f"{where} uses {crd.get('apiVersion')!r}; only apiextensions.k8s.io/v1 is supported.")
    spec = crd.get("spec") or {}
    group = spec.get("group")
    kind = (spec.get("names") or {}).get("kind")
    versions = spec.get("versions")
    if not isinstance(group, str) or not isinstance(kind, str) or not isinstance(versions, list):
        raise SchemaSetupError(f"{where} lacks spec.group, spec.names.kind or spec.versions.")
    schemas = []
    for entry in versions:
        if not isinstance(entry, dict) or not entry.get("served", False):
            continue
        openapi = ((entry.get("schema") or {}).get("openAPIV3Schema"))
        if not isinstance(openapi, dict):
            raise SchemaSetupError(f"{where} has no schema.openAPIV3Schema for version {entry.get('name')!r}.")
        try:
            converted = convert_root(openapi)
        except (TypeError, ValueError, AttributeError) as exc:
            raise SchemaSetupError(f"{where} has an unusable schema for version {entry.get('name')!r}: {exc}.") from None
        converted["$comment"] = f"Converted by pdcheck from {where}, version {entry.get('name')}."
        schemas.append(CrdSchema(f"{group}/{entry['name']}", kind, converted, source))
    return schemas


def convert_root(openapi: dict) -> dict:
    schema = convert(openapi)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    properties = schema.setdefault("properties", {})
    properties["metadata"] = {"type": "object", "$ref": OBJECT_META_REF}
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    return schema


_JSON_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}


def _check_values(out: dict) -> None:
    """Catch malformed keyword values at load time (a full meta-schema check costs ~0.7 s per CRD)."""
    types = out.get("type", [])
    for name in types if isinstance(types, list) else [types]:
        if name not in _JSON_TYPES:
            raise ValueError(f"unknown type {name!r}")
    if "required" in out and not (isinstance(out["required"], list) and all(isinstance(r, str) for r in out["required"])):
        raise ValueError("'required' must be a list of strings")
    if "enum" in out and not isinstance(out["enum"], list):
        raise ValueError("'enum' must be a list")
    if "pattern" in out and (not HAVE_RE2 or searcher(out["pattern"]) is None):
        # Only RE2 is safe on a pattern from input (regex.py); one it cannot compile stays unchecked.
        del out["pattern"]


def convert(node: dict) -> dict:
    """One OpenAPI v3 (structural) schema node -> JSON Schema 2020-12."""
    if not isinstance(node, dict):
        raise TypeError(f"expected a schema object, got {type(node).__name__}")
    out = {key: value for key, value in node.items() if key in _COPIED_KEYWORDS}
    _check_values(out)

    if "properties" in node:
        out["properties"] = {name: convert(sub) for name, sub in node["properties"].items()}
    if "items" in node:
        items = node["items"]
        out["items"] = [convert(i) for i in items] if isinstance(items, list) else convert(items)
        if isinstance(items, list):  # OpenAPI tuple form -> 2020-12 prefixItems
            out["prefixItems"] = out.pop("items")
    if "additionalProperties" in node:
        extra = node["additionalProperties"]
        out["additionalProperties"] = extra if isinstance(extra, bool) else convert(extra)
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in node:
            out[combinator] = [convert(sub) for sub in node[combinator]]
    if "not" in node:
        out["not"] = convert(node["not"])

    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = node.get(bound)
        if flag is True and limit in out:
            out[bound] = out.pop(limit)
        elif isinstance(flag, (int, float)) and not isinstance(flag, bool):
            out[bound] = flag

    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
        # controller-gen adds anyOf [{type: integer}, {type: string}]; it would reject null below.
        if all(set(sub) <= {"type"} for sub in out.get("anyOf", [])):
            out.pop("anyOf", None)

    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True

    preserve_unknown = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    if node.get("x-kubernetes-embedded-resource"):
        out["type"] = "object"
        properties = out.setdefault("properties", {})
        properties["apiVersion"] = {"type": "string", "minLength": 1}
        properties["kind"] = {"type": "string", "minLength": 1}
        properties["metadata"] = {"type": "object", "$ref": OBJECT_META_REF}
        out["required"] = sorted(set(out.get("required", [])) | {"apiVersion", "kind"})

    is_object = out.get("type") == "object" or "properties" in out
    if is_object and not preserve_unknown and "additionalProperties" not in out:
        # Pruned by the API server; reported here (see module docstring).
        out["additionalProperties"] = False

    if node.get("nullable"):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
    return out
