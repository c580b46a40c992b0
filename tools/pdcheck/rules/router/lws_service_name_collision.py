from ...findings import Severity
from ...model import dig
from .. import _links as L
from .._k8s import may_share_namespace, ns_of
from .._router import services
from ..base import Problem, Rule


def _replica_index(text: str) -> float:
    """The group index a Service name suffix spells as LWS writes it (no sign, no leading zeros), else inf."""
    if text.isascii() and text.isdigit() and len(text) <= 20 and (text == "0" or not text.startswith("0")):
        return int(text)
    return float("inf")


def check(model, ctx):
    for wl in model.workloads:
        if not wl.runs_on_lws:
            continue
        policy = dig(wl.obj.doc, "spec", "networkConfig", "subdomainPolicy", default="Shared")
        for svc in services(model):
            # With UniquePerReplica LWS also creates <lws>-0 .. <lws>-<replicas-1> (matched, not listed: replicas may be huge).
            per_replica = (policy == "UniquePerReplica" and svc.name.startswith(wl.name + "-")
                           and _replica_index(svc.name[len(wl.name) + 1:]) < max(wl.replicas, 1))
            if (svc.name == wl.name or per_replica) and may_share_namespace(ns_of(svc), ns_of(wl.obj)):
                yield Problem(svc, ("metadata", "name"),
                              f"Service {svc.name} has the name of the headless Service LWS creates for LeaderWorkerSet {wl.name} (subdomainPolicy {policy}), so the two fight over one object",
                              f"rename the Service (e.g. {wl.name}-leader) and select the leaders with leaderworkerset.sigs.k8s.io/name: {wl.name} and leaderworkerset.sigs.k8s.io/worker-index: \"0\"")


RULE = Rule(
    id="lws-service-name-collision", severity=Severity.ERROR,
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
