from ...findings import Severity
from ...model import dig
from .._k8s import label_selector_matches
from .._k8s import may_share_namespace
from ..base import Problem, Rule


def check(model, ctx):
    pdbs = model.objects_of("PodDisruptionBudget")
    for wl, c in model.routers:
        covered = any(may_share_namespace(p.namespace, wl.obj.namespace) and label_selector_matches(dig(p.doc, "spec", "selector"), wl.leader.labels)
                      for p in pdbs)
        if not covered:
            yield Problem(wl.obj, ("metadata", "name"),
                          f"no PodDisruptionBudget selects the router pods of {wl.kind} {wl.name}: a node drain may "
                          "evict every replica at once",
                          "add a PodDisruptionBudget with minAvailable: 1 (and unhealthyPodEvictionPolicy: AlwaysAllow) "
                          "selecting the router pod labels")


RULE = Rule(
    id="router-no-pdb",
    severity=Severity.WARNING,
    summary="No PodDisruptionBudget covers the router",
    doc="""Replicas alone do not survive voluntary disruptions: `kubectl drain` and cluster upgrades
evict pods through the eviction API, which respects only PodDisruptionBudgets. Without one, draining
the nodes that host both router replicas (likely when the router is pinned to a few nodes, as the
reference pins it to the GPU nodes) leaves no router until the new pods are scheduled and ready.
`minAvailable: 1` keeps one serving; `unhealthyPodEvictionPolicy: AlwaysAllow` lets drains evict
routers that are not ready anyway (e.g. while the engines are down), instead of blocking.""",
    links=(
        "https://kubernetes.io/docs/tasks/run-application/configure-pdb/",
        "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/#pod-disruption-budgets",
    ),
    check=check,
)
