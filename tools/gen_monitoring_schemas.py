#!/usr/bin/env python3
"""Write pdcheck's bundled PodMonitor and ServiceMonitor schemas from prometheus-operator's CRDs.

    python tools/gen_monitoring_schemas.py [CRD.yaml ...]

Default input: ../shared/reference/observability/prometheus-operator-{podmonitors,servicemonitors}.yaml
(upstream example/prometheus-operator-crd/, the commit is named in each file's first line). Each CRD's
served v1 `openAPIV3Schema` is converted exactly as `pdcheck validate --crd` converts it
(pdcheck/schema/crd.py: strict, descriptions dropped) and written to
tools/pdcheck/schemas/<kind>-monitoring-v1.json. pdcheck uses these when no --crd file defines the kind.
tests/test_observability.py checks that the bundled files equal a fresh conversion.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from pdcheck.schema.crd import load_crd_file  # noqa: E402

REFERENCE = REPO.parent / "shared" / "reference" / "observability"
DEFAULT_CRDS = [REFERENCE / "prometheus-operator-podmonitors.yaml", REFERENCE / "prometheus-operator-servicemonitors.yaml"]
SCHEMA_DIR = REPO / "tools" / "pdcheck" / "schemas"


def provenance(crd_path: Path) -> str:
    """The CRD file's first line names the upstream repository, commit and path."""
    first = crd_path.read_text(encoding="utf-8").splitlines()[0]
    return first.lstrip("# ").strip()


def bundled_schemas(crd_paths: list[Path]) -> dict[str, dict]:
    """file name in tools/pdcheck/schemas/ -> schema, for every served version of every CRD."""
    out = {}
    for path in crd_paths:
        source = provenance(path)
        for crd_schema in load_crd_file(path):
            group, _, version = crd_schema.api_version.partition("/")
            schema = dict(crd_schema.schema)
            schema["$comment"] = (
                f"{crd_schema.kind} {crd_schema.api_version}, converted by tools/gen_monitoring_schemas.py "
                f"(as pdcheck --crd converts a CRD) from prometheus-operator's CRD: {source}.")
            out[f"{crd_schema.kind.lower()}-{group.split('.')[0]}-{version}.json"] = schema
    return out


def render(schema: dict) -> str:
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or DEFAULT_CRDS
    for name, schema in bundled_schemas(paths).items():
        (SCHEMA_DIR / name).write_text(render(schema), encoding="utf-8")
        print(f"wrote {SCHEMA_DIR.relative_to(REPO) / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
