from ...findings import Severity
from .. import _links as L
from .._router import bootstrap_port, is_pd, router_engines, static_urls, url_path, uses_discovery
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c) or uses_discovery(c):
            continue
        decodes = [w for w in router_engines(model, wl, c)["decode"] if w.role == "decode"]
        for ru in static_urls(model, wl, c):
            t = ru.target
            if ru.role != "prefill" or ru.bootstrap == "unknown" or t is None or len(t.engine_workloads) != 1 or t.worker_pods:
                continue
            prefill = t.engine_workloads[0]
            if prefill.role != "prefill":
                continue
            want = bootstrap_port(prefill.leader.engine)
            if want is None:
                continue
            if isinstance(ru.bootstrap, int):
                dialled = [(ru.bootstrap, f"the router sends bootstrap_port {ru.bootstrap} (after the URL)", url_path(c, ru, 1))]
            else:
                seen = {}
                for d in decodes:
                    port = bootstrap_port(d.leader.engine)
                    if port is not None:
                        seen.setdefault(port, d.name)
                dialled = [(port, f"the router sends no bootstrap port, so decode {name} dials its own --disaggregation-bootstrap-port {port}", url_path(c, ru))
                           for port, name in seen.items()]
            for port, how, path in dialled:
                got, problem = t.target_port(port, prefill.leader)
                if problem:
                    yield Problem(wl.obj, path,
                                  f"--prefill {ru.url}: {how} at host {ru.host}, but Service {t.name} {problem}",
                                  f"expose the bootstrap port on Service {t.name} (port {port}, targetPort {want}) and pass {want} after the --prefill URL")
                elif got is not None and got != want:
                    yield Problem(wl.obj, path,
                                  f"--prefill {ru.url}: {how}, which lands on port {got} of {prefill.name}'s leader, but its bootstrap server listens on --disaggregation-bootstrap-port {want}",
                                  f"pass {want} after the --prefill URL (or set the same --disaggregation-bootstrap-port on prefill and decode)")


RULE = Rule(
    id="router-bootstrap-port", severity=Severity.ERROR,
    summary="The bootstrap port decode dials does not reach prefill's bootstrap server",
    doc="""For every request the router sends decode `bootstrap_host` = the literal host of the
`--prefill` URL and `bootstrap_port` = the number written after the URL, or null (measured with
sglang-router 0.3.2, docs/router-e2e.md; `_parse_prefill_urls` in router_args.py). On null, decode
uses its own `--disaggregation-bootstrap-port` (SGLang scheduler.py, `if recv_req.bootstrap_port is
None`) and connects to `host:port` (decode.py `bootstrap_addr`). Only prefill's leader runs the
bootstrap server, on prefill's `--disaggregation-bootstrap-port` (default 8998). So that port must
be reachable through the prefill URL's Service: listed as a Service port and mapped to prefill's
bootstrap port. Otherwise every request hangs in the KV handshake and times out (sglang#11747, #9266).""",
    links=(L.SCHEDULER, L.SG + "disaggregation/decode.py", L.ROUTER_ARGS, L.ISSUE + "11747", L.ISSUE + "9266"),
    check=check,
)
