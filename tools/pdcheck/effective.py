"""`pdcheck render --effective`: what each pod will run, as YAML documents."""

from __future__ import annotations

from .model import Model
from .rules._util import gpu_count, list_of


def _ports(c) -> list[str]:
    out = []
    for p in list_of(c.spec.get("ports")):
        if isinstance(p, dict) and "containerPort" in p:
            out.append(f"{p['containerPort']}/{p.get('protocol', 'TCP')}")
    return out


def effective_documents(model: Model) -> list[dict]:
    docs = []
    for wl in model.workloads:
        for pod in wl.pods:
            for c in pod.containers:
                docs.append({
                    "overlay": model.render.name,
                    "object": wl.obj.ref,
                    "role": wl.role,
                    # ranks of pods another controller numbers too (AIBrix POD_GROUP_INDEX)
                    "rank": pod.rank if wl.is_lws or getattr(getattr(wl.obj, "pods_by", None), "own_pods", False) else None,
                    "pod": pod.name,
                    "container": c.name,
                    "image": c.image,
                    "gpus": gpu_count(c),
                    "ports": _ports(c),
                    "hostNetwork": bool(pod.spec.get("hostNetwork")),
                    "argv": c.argv,
                    "env": {name: var.display for name, var in c.env.items()},
                })
    return docs
