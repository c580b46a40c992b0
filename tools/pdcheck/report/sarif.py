"""SARIF 2.1.0 for code-scanning UIs: one run, rules from the registry, results with locations."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from ..errors import INPUT_ERROR_ID
from ..findings import Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
RULES_DOC = "https://github.com/sglang-pd/pdcheck/blob/main/docs/rules.md"
STDIN = "<stdin>"  # Finding.file of standard input


def _uri(file: str) -> str:
    """A valid URI reference (SARIF 3.10.2): absolute paths as file: URIs, relative ones
    percent-encoded and left relative (code scanning resolves them against the checkout)."""
    path = Path(file)
    if path.is_absolute():
        return path.as_uri()
    return quote(path.as_posix(), safe="/")


def _invocation(result) -> dict:
    """Inputs that could not be checked, as tool execution notifications (SARIF 3.20.21): the run
    did not succeed, but its results for the other inputs stand."""
    notifications = []
    for err in result.input_errors:
        item = {"level": "error", "message": {"text": err.message}, "descriptor": {"id": INPUT_ERROR_ID}}
        if err.file and err.file != STDIN:
            item["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": _uri(err.file)}}}]
        notifications.append(item)
    return {"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}


def _related(f) -> list[dict]:
    """The finding's provenance steps (where the value was set, copied, used; folded findings) as
    related locations (SARIF 3.27.22), so a viewer links each of them."""
    out = []
    for role, file, line, text in f.provenance:
        if not file or file == STDIN:
            continue
        physical = {"artifactLocation": {"uri": _uri(file)}}
        if line:
            physical["region"] = {"startLine": line}
        out.append({"id": len(out), "physicalLocation": physical, "message": {"text": f"{role}: {text}"}})
    return out


def report(result, stream, color: bool = False) -> None:
    rules = sorted({r.id: r for r in result.rules}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    results = []
    for f in result.findings:
        item = {
            "ruleId": f.rule,
            "level": _LEVEL[f.severity],
            "message": {"text": f.message + (f" Fix: {f.fix}" if f.fix else "")},
            "locations": [{
                "logicalLocations": [{"fullyQualifiedName": f"{f.object}:{f.path_text}" if f.path_text else f.object or f.overlay or "", "kind": "resource"}],
            }],
            "properties": {"overlay": f.overlay, "object": f.object, "path": f.path_text},
        }
        if f.rule in index:
            item["ruleIndex"] = index[f.rule]
        if f.file and f.file != STDIN:  # standard input has no artifact to point at
            physical = {"artifactLocation": {"uri": _uri(f.file)}}
            if f.line:
                physical["region"] = {"startLine": f.line}
            item["locations"][0]["physicalLocation"] = physical
        related = _related(f)
        if related:
            item["relatedLocations"] = related
        results.append(item)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pdcheck",
                "version": result.version,
                "informationUri": RULES_DOC,
                "rules": [{
                    "id": r.id,
                    "name": r.id,
                    "shortDescription": {"text": r.summary},
                    "fullDescription": {"text": " ".join(r.doc.split())},
                    "helpUri": f"{RULES_DOC}#{r.id}",
                    "defaultConfiguration": {"level": _LEVEL[r.severity]},
                    "properties": {"category": r.category},
                } for r in rules],
            }},
            "results": results,
            "invocations": [_invocation(result)],
        }],
    }
    json.dump(log, stream, indent=2)
    stream.write("\n")
