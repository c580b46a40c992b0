from ...findings import Severity
from ..base import Problem, Rule
from ._helpers import effective_replicas


def check(model, ctx):
    for wl, c in model.routers:
        if wl.kind not in ("Deployment", "StatefulSet", "ReplicaSet"):
            continue
        replicas = effective_replicas(model, wl)
        if replicas < 2:
            yield Problem(wl.obj, ("spec", "replicas"),
                          f"{wl.kind} {wl.name} runs {replicas} router replica: every request goes through it, so a "
                          "node drain, an eviction or a crash stops all serving",
                          "run at least 2 replicas (spread over nodes with a preferred pod anti-affinity) and cover "
                          "them with a PodDisruptionBudget")


RULE = Rule(
    id="router-single-replica",
    severity=Severity.WARNING,
    summary="Router runs a single replica",
    doc="""The router is the only way in: with one replica a node drain, a kernel upgrade, an
eviction under memory pressure or a router crash takes the whole deployment offline although every
GPU is still serving. The router holds no state that two replicas must share (each registers the
engines itself, and PD requests carry their own bootstrap room), so two replicas behind the Service
cost a few CPUs. An HPA's `minReplicas` counts as the replica count.""",
    links=(
        "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
        "https://kubernetes.io/docs/tasks/run-application/configure-pdb/",
    ),
    check=check,
)
