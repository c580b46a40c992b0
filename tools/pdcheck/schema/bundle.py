"""Access to the strict Kubernetes JSON schemas shipped by kubernetes-validate.

Layout: kubernetes_validate/kubernetes-json-schema/v1.XX.0-local-strict/ holds one file per type,
`<kind>-<group>-<version>.json` (group domain stripped), and `_definitions.json` with every type under
`$defs`. Kind files refer to it as `/api/_definitions.json#/$defs/...` relative to their `$id`
(https://kubernetes.io/api/...), i.e. `DEFINITIONS_URI`.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path

DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"

_STRICT_DIR = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")


class SchemaSetupError(Exception):
    """The validator cannot be set up: unknown Kubernetes version, unreadable or invalid CRD file."""


@lru_cache(maxsize=1)
def _strict_dirs() -> dict[str, Path]:
    """'1.26' -> the bundled strict schema directory, oldest first."""
    found = {}
    for entry in schema_root().iterdir():
        match = _STRICT_DIR.match(entry.name)
        if match:
            found[(int(match[1]), int(match[2]))] = entry
    return {f"{major}.{minor}": found[(major, minor)] for major, minor in sorted(found)}


def schema_root() -> Path:
    """kubernetes-validate's schema tree: one directory per Kubernetes version and flavour."""
    return _package_dir("kubernetes_validate") / "kubernetes-json-schema"


def _package_dir(name: str) -> Path:
    """A package's directory, without importing it (importing kubernetes_validate pulls in
    jsonschema and referencing, ~50 ms that the fast path never needs)."""
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if locations:
        return Path(locations[0])
    import importlib_resources  # a zip or namespace install: let importlib_resources find it

    return Path(str(importlib_resources.files(name)))


def bundled_k8s_versions() -> list[str]:
    """Kubernetes versions ('major.minor') with bundled strict schemas, oldest first."""
    return list(_strict_dirs())


# The default floor: the oldest minor a big managed service still runs when the newest bundled
# minor is out. Upstream ships a minor about every 4 months and Amazon EKS supports each for 26
# months (14 standard + 12 extended; docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html):
# 6 minors behind the newest.
# README "Which Kubernetes versions pdcheck checks" states the policy.
SUPPORT_WINDOW_MINORS = 6


def default_k8s_versions() -> list[str]:
    """[floor, newest bundled]: the Kubernetes versions checked when none are configured."""
    bundled = bundled_k8s_versions()
    major, minor = _as_tuple(bundled[-1])
    floor = f"{major}.{minor - SUPPORT_WINDOW_MINORS}"
    return [floor if floor in bundled else bundled[0], bundled[-1]]


def newer_versions(version: str) -> list[str]:
    """Bundled versions newer than `version`, oldest first."""
    return [v for v in bundled_k8s_versions() if _as_tuple(v) > _as_tuple(version)]


def _as_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def normalize_version(requested: str) -> str:
    """'v1.26.3' -> '1.26'. Raises SchemaSetupError for a version outside the bundled range."""
    text = str(requested).strip()
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", text)
    bundled = bundled_k8s_versions()
    if not match:
        raise SchemaSetupError(f"Kubernetes version {requested!r} is not of the form 1.NN.")
    version = f"{int(match[1])}.{int(match[2])}"
    if not _as_tuple(bundled[0]) <= _as_tuple(version) <= _as_tuple(bundled[-1]):
        raise SchemaSetupError(
            f"Kubernetes version {version} has no bundled schemas (kubernetes-validate covers "
            f"{bundled[0]} to {bundled[-1]})."
        )
    return version


def schema_dir(version: str) -> Path:
    """The directory used for a version: the newest bundled one not newer than it (as kubernetes-validate)."""
    candidates = [v for v in bundled_k8s_versions() if _as_tuple(v) <= _as_tuple(version)]
    return _strict_dirs()[candidates[-1]]


def kind_file_name(api_version: str, kind: str) -> str:
    """('rbac.authorization.k8s.io/v1', 'Role') -> 'role-rbac-v1.json', as kubernetes_validate.utils.validate."""
    stripped = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{stripped}.json"


@lru_cache(maxsize=None)
def load_definitions(version: str) -> dict:
    with open(schema_dir(version) / "_definitions.json", encoding="utf-8") as f:
        return json.load(f)


# What a kind/apiVersion can look like to name a file here (Kubernetes kinds are CamelCase words).
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,100}")
_API_VERSION = re.compile(r"(?:[a-z0-9][a-z0-9.-]{0,252}/)?v[0-9][a-z0-9]{0,20}")


@lru_cache(maxsize=None)
def load_kind_schema(version: str, api_version: str, kind: str) -> dict | None:
    """The strict schema of a top-level kind, or None when this version does not serve it.

    The file name drops the group's domain, so 'apps.example.com/v1' Deployment would find the core
    Deployment file; checking x-kubernetes-group-version-kind keeps the lookup exact (and skips
    non-kind files such as deploymentspec-apps-v1.json).
    """
    if not (_KIND.fullmatch(kind) and _API_VERSION.fullmatch(api_version)):
        return None  # names no schema file (and must not reach outside the schema directory: kind '../x')
    path = schema_dir(version) / kind_file_name(api_version, kind)
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    group, _, ver = api_version.rpartition("/")
    declared = schema.get("x-kubernetes-group-version-kind") or []
    if not any(g.get("group", "") == group and g.get("version") == ver and g.get("kind") == kind for g in declared):
        return None
    return schema
