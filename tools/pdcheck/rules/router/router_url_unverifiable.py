from ...findings import Severity
from .. import _links as L
from .._router import is_pd, static_urls, url_path, uses_discovery
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c) or uses_discovery(c):
            continue
        for ru in static_urls(model, wl, c):
            if ru.target is None:
                yield Problem(wl.obj, url_path(c, ru),
                              f"--{ru.role} URL {ru.url}: host {ru.host} is no Service (nor LWS headless Service) in this render, so pdcheck cannot verify which pods, port and bootstrap port it reaches",
                              "point the URL at a Service of the render (name, name.namespace or name.namespace.svc.cluster.local), or render that Service together with the router")


RULE = Rule(
    id="router-url-unverifiable", severity=Severity.WARNING,
    summary="Static router URL names a host that is no Service in the render",
    doc="""Every check of the router's wiring (which pods the URL reaches, whether they are LWS
leaders of the right role, whether the engine `--port` and the prefill bootstrap port are reachable
through the Service) needs the Service behind the URL's host. The router sends the literal host
as `bootstrap_host` to decode (docs/router-e2e.md), so a host that only resolves from the router's
own network (an IP of one node, an external name) also breaks the KV bootstrap. pdcheck cannot
verify hosts that are not in the render and says so instead of staying silent.""",
    links=(L.K8S_SERVICE, L.ISSUE + "11747"),
    check=check,
)
