from ...findings import Severity
from .. import _links as L
from .._k8s import may_share_namespace, ns_of
from .._router import discovered_pods, discovery_namespace, is_pd, is_worker_rank, uses_discovery
from .._util import flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c) or not uses_discovery(c):
            continue
        ns = discovery_namespace(wl, c)
        for role in ("prefill", "decode"):
            found = discovered_pods(model, wl, c, role)
            if found is None:
                continue
            selector, pods = found
            flag = f"--{role}-selector"
            text = " ".join(f"{k}={v}" for k, v in selector.items())
            workers = sorted({p.workload.name for p in pods if is_worker_rank(p)})
            engines = [p for p in pods if p.engine is not None]
            if workers:
                yield Problem(wl.obj, flag_path(c, flag),
                              f"{flag} {text} also selects the worker pods (rank > 0) of {', '.join(workers)}, which the router would register as {role} workers although they serve no HTTP API",
                              f"add leaderworkerset.sigs.k8s.io/worker-index=0 to {flag}")
            elif (not engines
                  and any(w.leader and w.leader.engine and may_share_namespace(ns_of(w.obj), ns) for w in model.workloads)
                  # pods of a kind pdcheck cannot model may match (wrapper-kind-not-checked)
                  and not any(may_share_namespace(ns_of(o), ns) for o in model.unmodelled)):
                yield Problem(wl.obj, flag_path(c, flag),
                              f"{flag} {text} selects no SGLang engine pod of the render, so the router never discovers a {role} worker",
                              f"use labels the {role} LWS's leader pods carry (e.g. app.kubernetes.io/component={role} leaderworkerset.sigs.k8s.io/worker-index=0)")


RULE = Rule(
    id="router-sd-selector", severity=Severity.ERROR,
    summary="Service-discovery selector selects LWS worker pods or no engine",
    doc="""With `--service-discovery` the router watches pods and registers every Ready, Running pod
whose labels contain all `key=value` pairs of `--prefill-selector` (else `--decode-selector`) as
`http://<podIP>:<--service-discovery-port>` (service_discovery.rs, `matches_selector`,
`handle_pod_event`). LWS worker ranks carry the same template labels as the leader but only the
leader serves HTTP, so a selector without `leaderworkerset.sigs.k8s.io/worker-index=0` (or another
leader-only label) registers workers that fail health checks and requests (sglang#9568). A selector
matching no engine pod leaves that side empty: every request gets 503.""",
    links=(L.SERVICE_DISCOVERY, L.ISSUE + "9568"),
    check=check,
)
