from ...findings import Severity
from .. import _links as L
from .._router import discovered_pods, engine_port, is_pd, uses_discovery
from .._util import flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c) or not uses_discovery(c):
            continue
        port = c.flag("--service-discovery-port").value
        explicit = c.flag("--service-discovery-port").written
        if not isinstance(port, int):
            continue
        engines = {}
        for role in ("prefill", "decode"):
            found = discovered_pods(model, wl, c, role)
            for p in (found[1] if found else []):
                if p.rank == 0 and p.engine is not None and engine_port(p.engine) is not None:
                    engines.setdefault(engine_port(p.engine), p.workload.name)
        if not explicit:
            want = next(iter(engines), 30000)
            yield Problem(wl.obj, flag_path(c, "--service-discovery"),
                          f"router {wl.name} uses --service-discovery without --service-discovery-port, so it registers discovered pods as http://<podIP>:{port}, where no SGLang engine listens",
                          f"add --service-discovery-port {want} (the engines' --port)")
            continue
        for want, name in engines.items():
            if want != port:
                yield Problem(wl.obj, flag_path(c, "--service-discovery-port"),
                              f"--service-discovery-port is {port}, but the discovered engine {name} listens on --port {want}",
                              f"set --service-discovery-port {want}, or the same --port on every engine")


RULE = Rule(
    id="router-sd-port", severity=Severity.ERROR,
    summary="Service-discovery port is not the engines' --port",
    doc="""Discovered pods are registered as `http://<podIP>:<--service-discovery-port>`
(service_discovery.rs `worker_url`); no Service is involved, so the port must be the engine's own
`--port` (SGLang default 30000). The router's default is 80 (router_args.py,
`service_discovery_port: int = 80`), where SGLang never listens: every discovered worker fails its
health check and is never added. With prefill and decode on different ports one discovery router
cannot reach both.""",
    links=(L.SERVICE_DISCOVERY, L.ROUTER_ARGS),
    check=check,
)
