"""Machine output, stable across releases (docs/output.md):

{"version": "...", "findings": [{"rule", "severity", "message", "fix", "object", "path", "file",
 "line", "overlay"}], "summary": {"errors", "warnings", "infos", "suppressed", "overlays", "inputs"}}
"""

from __future__ import annotations

import json

from ..findings import Severity
from .escape import defuse_json


def summary(result) -> dict:
    return {
        "errors": result.count(Severity.ERROR),
        "warnings": result.count(Severity.WARNING),
        "infos": result.count(Severity.INFO),
        "suppressed": result.suppressed,
        "overlays": len(result.inputs),
        "inputs": result.inputs,
    }


def report(result, stream) -> None:
    data = {"version": result.version, "findings": [f.to_dict() for f in result.findings], "summary": summary(result)}
    stream.write(defuse_json(json.dumps(data, indent=2)) + "\n")
