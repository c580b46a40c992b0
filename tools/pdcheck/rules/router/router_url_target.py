from ...findings import Severity
from .. import _links as L
from .._k8s import may_share_namespace, ns_of
from .._router import is_pd, static_urls, url_path, uses_discovery
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c) or uses_discovery(c):
            continue
        for ru in static_urls(model, wl, c):
            t = ru.target
            if t is None or (t.service is not None and not t.selector):
                continue  # not in the render / endpoints managed by hand: router-url-unverifiable's domain
            where = f"--{ru.role} URL {ru.url} reaches Service {t.name}"
            if not t.pods:
                if t.maybe_more:
                    continue  # it may select pods by a label value only the cluster knows
                if any(may_share_namespace(ns_of(o), t.namespace) for o in model.unmodelled):
                    continue  # the pods may come from a kind pdcheck cannot model (wrapper-kind-not-checked)
                yield Problem(wl.obj, url_path(c, ru),
                              f"{where}, whose selector {t.selector} matches no pod of the render",
                              f"make the Service select the leader pods of the {ru.role} LWS (leaderworkerset.sigs.k8s.io/name=<lws> and leaderworkerset.sigs.k8s.io/worker-index=0)")
            elif t.worker_pods:
                names = sorted({p.workload.name for p in t.worker_pods})
                yield Problem(wl.obj, url_path(c, ru),
                              f"{where}, whose selector {t.selector} also selects the worker pods (rank > 0) of {', '.join(names)}, which serve no HTTP API",
                              "select only the leaders: add leaderworkerset.sigs.k8s.io/worker-index: \"0\" to the Service selector (do not use the headless Service LWS creates with the LWS's name)")
            elif len(t.workloads) > 1:
                yield Problem(wl.obj, url_path(c, ru),
                              f"{where}, whose selector {t.selector} selects pods of several workloads ({', '.join(w.name for w in t.workloads)})",
                              "select the leaders of exactly one LWS (add leaderworkerset.sigs.k8s.io/name=<lws> to the selector)")
            elif not t.engine_workloads and not any(w.leader and w.leader.launch_unknown for w in t.workloads):
                yield Problem(wl.obj, url_path(c, ru),
                              f"{where}, which selects {t.workloads[0].kind} {t.workloads[0].name}, no SGLang engine",
                              f"point the URL at the leader Service of the {ru.role} LWS")


RULE = Rule(
    id="router-url-target", severity=Severity.ERROR,
    summary="Static router URL does not reach exactly the leader pods of one engine LWS",
    doc="""Only the leader (rank 0) of an SGLang multi-node group runs the HTTP server and the
tokenizer manager; worker ranks run schedulers only. A Service whose selector also matches worker
pods (for example the headless Service LWS creates with the LWS's own name, which selects
`leaderworkerset.sigs.k8s.io/name=<lws>` on every rank) load-balances the router's connections onto
pods that refuse them: health checks flap and requests fail (sglang#9568). A selector matching no
pod, or pods of several workloads, leaves the router without a worker or mixes engines.""",
    links=(L.ISSUE + "9568", L.LWS_HEADLESS, L.K8S_SERVICE),
    check=check,
)
