"""Shared by the availability rules: how many router replicas really run."""

from __future__ import annotations

from ...model import Model, Workload, as_int, dig
from .._k8s import may_share_namespace


def effective_replicas(model: Model, wl: Workload) -> int:
    """Deployment replicas (1 when unset), or an HPA's minReplicas (default 1) when one scales it."""
    for hpa in model.objects_of("HorizontalPodAutoscaler"):
        ref = dig(hpa.doc, "spec", "scaleTargetRef", default={})
        if isinstance(ref, dict) and ref.get("kind") == wl.kind and ref.get("name") == wl.name and may_share_namespace(hpa.namespace, wl.obj.namespace):
            return as_int(dig(hpa.doc, "spec", "minReplicas"), 1) or 1
    return wl.replicas
