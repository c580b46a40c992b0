from ...findings import Severity
from .. import _links as L
from .._router import engine_port, is_pd, static_urls, url_path, uses_discovery
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c) or uses_discovery(c):
            continue
        for ru in static_urls(model, wl, c):
            t = ru.target
            if t is None or len(t.engine_workloads) != 1 or t.worker_pods:
                continue
            engine_wl = t.engine_workloads[0]
            leader = engine_wl.leader
            want = engine_port(leader.engine)
            if want is None:
                continue
            got, problem = t.target_port(ru.port, leader)
            if problem:
                yield Problem(wl.obj, url_path(c, ru),
                              f"--{ru.role} URL {ru.url}: Service {t.name} {problem}, so the router cannot reach {engine_wl.name}'s --port {want}",
                              f"use port {want} in the URL and expose it in the Service (port {want}, targetPort {want} or the containerPort's name)")
            elif got is not None and got != want:
                via = "" if t.service is None else f" through Service {t.name}"
                yield Problem(wl.obj, url_path(c, ru),
                              f"--{ru.role} URL {ru.url} lands on port {got} of {engine_wl.name}'s leader{via}, but the engine listens on --port {want}",
                              f"make the URL port map to {want} (URL port {want}, or Service targetPort {want})")


RULE = Rule(
    id="router-url-port", severity=Severity.ERROR,
    summary="Static router URL port does not reach the engine's --port",
    doc="""The router health-checks and forwards to `URL:port`; a Service maps that `port` to its
`targetPort` (a number, the name of a containerPort of the selected pod, or the port itself when
omitted). If the result is not the engine's `--port` (default 30000), the router's `/health` calls
fail, the worker is never registered and every request gets 503. A Service that does not list the
URL's port at all refuses the connection. Named targetPorts are resolved against the containerPort
names of the selected leader pod, as kube-proxy does.""",
    links=(L.K8S_SERVICE, L.SERVER_ARGS),
    check=check,
)
