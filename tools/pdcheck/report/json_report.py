"""Machine output, stable across releases (docs/output.md):

{"version": "...", "findings": [{"rule", "severity", "message", "fix", "object", "path", "file",
 "line", "overlay"}], "inputErrors": [{"file", "message"}],
 "summary": {"errors", "warnings", "infos", "suppressed", "overlays", "inputs", "inputErrors"}}
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
        "inputErrors": len(result.input_errors),
    }


def input_error_dict(err) -> dict:
    return {"file": err.file, "message": err.message}


def report(result, stream, color: bool = False) -> None:
    data = {"version": result.version, "findings": [f.to_dict() for f in result.findings],
            "inputErrors": [input_error_dict(e) for e in result.input_errors], "summary": summary(result)}
    stream.write(defuse_json(json.dumps(data, indent=2)) + "\n")
