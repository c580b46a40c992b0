"""A fast yes/no check for the JSON Schema subset the Kubernetes schemas use.

jsonschema's iter_errors walks the schema through `descend`/`evolve` and `$ref` lookups, which costs
~1-2 ms for a Deployment and several ms for an LWS with two pod templates. Most linted objects are
valid, so each schema is also compiled into plain Python closures that only answer "valid?";
jsonschema runs (for precise paths and messages) only when that answer is no.

The closures are exact for the keywords they implement, with the same semantics as jsonschema's
Draft 2020-12 validator without a format checker (formats are not asserted). Where exactness is
not cheap (enum/const of non-strings, uniqueItems of non-strings) they raise `Unsure` and the caller
uses jsonschema. A validation keyword not implemented here also raises `Unsure` when an instance
reaches it.

Compilation is lazy: the subschema of a property, array item or additional property is compiled
the first time an instance has one, so a PodSpec costs only the fields manifests actually use (a
Kubernetes kind schema reaches thousands of definitions). One compiler per Kubernetes version can
be shared by every kind (pass `compiler`), so ObjectMeta or PodTemplateSpec are compiled once.
"""

from __future__ import annotations

import re
from typing import Callable
from urllib.parse import unquote, urldefrag, urljoin

from .regex import searcher

Check = Callable[[object], bool]


class Unsure(Exception):
    """The fast check cannot decide this instance exactly; ask jsonschema."""


class _Unsupported(Exception):
    """The schema uses a keyword the fast check does not implement."""


# Draft 2020-12 keywords that assert something and are not implemented below. jsonschema ignores
# keywords outside the vocabulary (descriptions, x-kubernetes-*), so those are ignored here too.
_UNSUPPORTED = {
    "$dynamicRef", "$recursiveRef", "multipleOf", "contains", "minContains", "maxContains",
    "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties",
}

_TYPE_TESTS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compile_check(schema: dict, compiler: "Compiler") -> Check | None:
    """A function obj -> bool (may raise Unsure), or None when the schema is outside the subset."""
    try:
        return compiler.compile_root(schema)
    except _Unsupported:
        return None


def _unsure(value) -> bool:
    raise Unsure()


class Compiler:
    def __init__(self, registry):
        self.registry = registry
        # (document uri, or id() of a document without $id; JSON pointer) -> check
        self.compiled: dict[tuple, Check] = {}

    def compile_root(self, schema: dict) -> Check:
        base_uri = schema.get("$id", "") if isinstance(schema, dict) else ""
        return self.node(schema, base_uri, schema, "")

    def node(self, node, base_uri: str, document, pointer: str) -> Check:
        """The check for `node`, found at `pointer` in `document` (whose URI is base_uri)."""
        key = (base_uri or id(document), pointer)
        if key in self.compiled:
            return self.compiled[key]
        # Placeholder first, so recursive $refs compile to a call through this cell.
        cell: list[Check] = []
        self.compiled[key] = lambda value: (cell[0] if cell else _unsure)(value)
        try:
            check = self._build(node, base_uri, document, pointer)
        except _Unsupported:
            self.compiled[key] = _unsure
            raise
        cell.append(check)
        self.compiled[key] = check
        return check

    def lazy(self, node, base_uri: str, document, pointer: str) -> Check:
        """As node(), compiled on first call; a subschema outside the subset answers Unsure."""
        key = (base_uri or id(document), pointer)
        done = self.compiled.get(key)
        if done is not None:
            return done
        cell: list[Check] = []

        def check(value):
            if not cell:
                try:
                    cell.append(self.node(node, base_uri, document, pointer))
                except Exception:  # _Unsupported, or a $ref this registry cannot resolve: ask jsonschema
                    cell.append(_unsure)
            return cell[0](value)
        return check

    def _build(self, node, base_uri: str, document, pointer: str) -> Check:
        if node is True:
            return lambda value: True
        if node is False:
            return lambda value: False
        if not isinstance(node, dict):
            raise _Unsupported()
        if _UNSUPPORTED & node.keys():
            raise _Unsupported()
        if "items" in node and isinstance(node["items"], list):
            raise _Unsupported()  # draft-4 tuple form; not 2020-12
        if "$id" in node and pointer:
            raise _Unsupported()  # embedded resources would change the base URI
        checks: list[Check] = []

        if "$ref" in node:
            checks.append(self._ref(node["$ref"], base_uri, document))
        if "type" in node:
            checks.append(_type_check(node["type"] if isinstance(node["type"], list) else [node["type"]]))
        if "enum" in node:
            checks.append(_enum_check(node["enum"]))
        if "const" in node:
            checks.append(_enum_check([node["const"]]))
        checks.extend(_number_checks(node))
        checks.extend(_string_checks(node))
        checks.extend(_array_checks(node, self, base_uri, document, pointer))
        checks.extend(_object_checks(node, self, base_uri, document, pointer))
        for combinator in ("allOf", "anyOf", "oneOf"):
            if combinator in node:
                subs = [self.node(s, base_uri, document, f"{pointer}/{combinator}/{i}")
                        for i, s in enumerate(node[combinator])]
                checks.append(_combinator_check(combinator, subs))
        if "not" in node:
            negated = self.node(node["not"], base_uri, document, pointer + "/not")
            checks.append(lambda v, negated=negated: not negated(v))

        if not checks:
            return lambda value: True
        if len(checks) == 1:
            return checks[0]
        checks_tuple = tuple(checks)
        return lambda value: all(c(value) for c in checks_tuple)

    def _ref(self, ref: str, base_uri: str, document) -> Check:
        url, fragment = urldefrag(urljoin(base_uri, ref) if base_uri else ref)
        if fragment and not fragment.startswith("/"):
            raise _Unsupported()  # $anchor references
        if url == "" or url == base_uri:
            target_document, target_uri = document, base_uri
        else:
            target_document, target_uri = self.registry.contents(url), url
        node = target_document
        for token in [t for t in unquote(fragment).split("/") if t] if fragment else []:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return self.node(node, target_uri, target_document, fragment)


_PYTHON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _type_check(names: list[str]) -> Check:
    if all(name in _PYTHON_TYPES for name in names):  # the common case: one isinstance call
        python_types = tuple(_PYTHON_TYPES[name] for name in names)
        return lambda v: isinstance(v, python_types)
    tests = tuple(_TYPE_TESTS[name] for name in names)
    return lambda v: any(t(v) for t in tests)


def _escape(token: str) -> str:
    """JSON pointer escaping, so compile-cache keys match the pointers $refs use."""
    return token.replace("~", "~0").replace("/", "~1")


def _enum_check(members: list) -> Check:
    strings = frozenset(m for m in members if isinstance(m, str))
    allows_null = any(m is None for m in members)

    def check(value):
        if isinstance(value, str):
            return value in strings
        if value is None:
            return allows_null
        raise Unsure()  # 1 == 1.0, True != 1 ...: leave number/bool/container equality to jsonschema
    return check


def _number_checks(node: dict) -> list[Check]:
    checks = []
    if "minimum" in node:
        checks.append(lambda v, m=node["minimum"]: not _is_number(v) or v >= m)
    if "maximum" in node:
        checks.append(lambda v, m=node["maximum"]: not _is_number(v) or v <= m)
    if "exclusiveMinimum" in node:
        checks.append(lambda v, m=node["exclusiveMinimum"]: not _is_number(v) or v > m)
    if "exclusiveMaximum" in node:
        checks.append(lambda v, m=node["exclusiveMaximum"]: not _is_number(v) or v < m)
    return checks


def _string_checks(node: dict) -> list[Check]:
    checks = []
    if "minLength" in node:
        checks.append(lambda v, m=node["minLength"]: not isinstance(v, str) or len(v) >= m)
    if "maxLength" in node:
        checks.append(lambda v, m=node["maxLength"]: not isinstance(v, str) or len(v) <= m)
    search = searcher(node["pattern"]) if "pattern" in node else None  # RE2; jsonschema uses it too
    if search is not None:
        checks.append(lambda v, s=search: not isinstance(v, str) or s(v))
    return checks


def _array_checks(node, compiler: Compiler, base_uri, document, pointer) -> list[Check]:
    checks = []
    if "minItems" in node:
        checks.append(lambda v, m=node["minItems"]: not isinstance(v, list) or len(v) >= m)
    if "maxItems" in node:
        checks.append(lambda v, m=node["maxItems"]: not isinstance(v, list) or len(v) <= m)
    if node.get("uniqueItems") is True:
        checks.append(_unique_items)
    prefix = [compiler.lazy(s, base_uri, document, f"{pointer}/prefixItems/{i}")
              for i, s in enumerate(node.get("prefixItems", []))]
    items = compiler.lazy(node["items"], base_uri, document, pointer + "/items") if "items" in node else None
    if prefix or items:
        def check(value, prefix=tuple(prefix), items=items):
            if not isinstance(value, list):
                return True
            for index, element in enumerate(value):
                if index < len(prefix):
                    if not prefix[index](element):
                        return False
                elif items is not None and not items(element):
                    return False
            return True
        checks.append(check)
    return checks


def _unique_items(value) -> bool:
    if not isinstance(value, list):
        return True
    if all(isinstance(v, str) for v in value):
        return len(set(value)) == len(value)
    raise Unsure()


def _object_checks(node, compiler: Compiler, base_uri, document, pointer) -> list[Check]:
    checks = []
    if "required" in node:
        required = tuple(node["required"])
        checks.append(lambda v: not isinstance(v, dict) or all(name in v for name in required))
    if "minProperties" in node:
        checks.append(lambda v, m=node["minProperties"]: not isinstance(v, dict) or len(v) >= m)
    if "maxProperties" in node:
        checks.append(lambda v, m=node["maxProperties"]: not isinstance(v, dict) or len(v) <= m)
    if not ({"properties", "patternProperties", "additionalProperties"} & node.keys()):
        return checks
    properties = {name: compiler.lazy(sub, base_uri, document, f"{pointer}/properties/{_escape(name)}")
                  for name, sub in (node.get("properties") or {}).items()}
    patterns = [(re.compile(p), compiler.lazy(sub, base_uri, document, f"{pointer}/patternProperties/{_escape(p)}"))
                for p, sub in (node.get("patternProperties") or {}).items()]
    additional = node.get("additionalProperties", True)
    additional_check = None if additional is True else compiler.lazy(
        additional, base_uri, document, pointer + "/additionalProperties")

    def check(value):
        if not isinstance(value, dict):
            return True
        for name, element in value.items():
            sub = properties.get(name)
            matched = sub is not None
            if matched and not sub(element):
                return False
            for regex, pattern_check in patterns:
                if regex.search(name):
                    matched = True
                    if not pattern_check(element):
                        return False
            if not matched and additional_check is not None and not additional_check(element):
                return False
        return True
    checks.append(check)
    return checks


def _combinator_check(combinator: str, subs: list[Check]) -> Check:
    subs_tuple = tuple(subs)
    if combinator == "allOf":
        return lambda v: all(s(v) for s in subs_tuple)
    if combinator == "anyOf":
        return lambda v: any(s(v) for s in subs_tuple)
    return lambda v: sum(1 for s in subs_tuple if s(v)) == 1
