from ...findings import Severity
from ...model import dig
from ..base import Problem, Rule
from . import _links as L
from ._helpers import ns_of, same_ns, services


def check(model, ctx):
    for wl in model.workloads:
        if not wl.is_lws:
            continue
        policy = dig(wl.obj.doc, "spec", "networkConfig", "subdomainPolicy", default="Shared")
        names = {wl.name}
        if policy == "UniquePerReplica":
            names |= {f"{wl.name}-{i}" for i in range(max(wl.replicas, 1))}
        for svc in services(model):
            if svc.name in names and same_ns(ns_of(svc), ns_of(wl.obj)):
                yield Problem(svc, ("metadata", "name"),
                              f"Service {svc.name} has the name of the headless Service LWS creates for LeaderWorkerSet {wl.name} (subdomainPolicy {policy}), so the two fight over one object",
                              f"rename the Service (e.g. {wl.name}-leader) and select the leaders with leaderworkerset.sigs.k8s.io/name: {wl.name} and leaderworkerset.sigs.k8s.io/worker-index: \"0\"")


RULE = Rule(
    id="lws-service-name-collision", category="router", severity=Severity.ERROR,
    summary="Service named like the headless Service of a LeaderWorkerSet",
    doc="""LWS creates a headless Service named exactly like the LWS (one per group, `<lws>-<i>`,
with `subdomainPolicy: UniquePerReplica`) and every pod's `LWS_LEADER_ADDRESS`
(`<lws>-<group>.<lws>.<namespace>`) is a per-pod DNS name that only a headless Service with that
name provides. CreateHeadlessServiceIfNotExists skips creation when a Service of that name already
exists: if yours is applied first it is a ClusterIP Service, the per-pod DNS names never exist and
workers cannot reach `--dist-init-addr`; if LWS wins, your apply rewrites its selector and ports.
Either way the result depends on apply order. The reference deployment does this.""",
    links=(L.LWS_HEADLESS, "https://github.com/kubernetes-sigs/lws/issues/746"),
    check=check,
)
