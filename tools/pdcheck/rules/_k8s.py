"""Kubernetes semantics shared by rules of several categories: namespaces, selectors, probes,
privileges. (Router wiring is in _router.py, SGLang semantics in pdcheck/sglang.py.)"""

from __future__ import annotations

from ..model import as_int, dig
from ._util import list_of


def ns_of(obj) -> str | None:
    """The object's namespace as written, None when unset."""
    return obj.namespace or None


def may_share_namespace(a: str | None, b: str | None) -> bool:
    """False only when both namespaces are set and differ: an object without one lands in the
    namespace it is applied to, which may be the other's. Use it where a match silences a finding
    (a PDB or HPA that may cover a workload) or where a wrong guess only costs a missed warning."""
    return not a or not b or a == b


def surely_share_namespace(a: str | None, b: str | None) -> bool:
    """True when both are set and equal, or both unset (applied together, they land in one
    namespace). Use it where a match raises a finding (a Service exposing a workload's pods)."""
    return (a or None) == (b or None)


def label_selector_matches(selector, labels: dict) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions) against pod labels. An empty
    selector matches everything (as for a PodDisruptionBudget in policy/v1); a malformed one nothing."""
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        return False
    if any(k not in labels or str(labels[k]) != str(v) for k, v in match_labels.items()):
        return False
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        return False
    for expr in expressions:
        if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
            return False
        key, op = expr.get("key"), expr.get("operator")
        values = [str(v) for v in list_of(expr.get("values"))]
        present = key in labels
        value = str(labels.get(key)) if present else None
        if op == "In" and not (present and value in values):
            return False
        if op == "NotIn" and present and value in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def map_selector_matches(selector, labels: dict) -> bool:
    """A plain map selector (a Service's, a router's --*-selector) against pod labels. An empty or
    missing one selects no pods (such a Service has manually managed endpoints)."""
    if not isinstance(selector, dict) or not selector:
        return False
    return all(k in labels and str(labels[k]) == str(v) for k, v in selector.items())


def privileged(c) -> bool:
    return dig(c.spec, "securityContext", "privileged") is True


PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "failureThreshold": 3}


def probe_budget(probe: dict) -> int | None:
    values = {}
    for key, default in PROBE_DEFAULTS.items():
        value = probe.get(key, default)
        values[key] = as_int(value)
        if values[key] is None:
            return None
    return values["initialDelaySeconds"] + values["periodSeconds"] * values["failureThreshold"]
