from ...findings import Severity
from .. import _links as L
from .._router import discovered_pods, is_pd, static_urls, url_path, uses_discovery
from .._util import flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c):
            continue
        if uses_discovery(c):
            for side in ("prefill", "decode"):
                found = discovered_pods(model, wl, c, side)
                wrong = sorted({f"{p.workload.name} ({p.workload.role})" for p in (found[1] if found else [])
                                if p.engine is not None and p.workload.role not in (side, None)})
                if wrong:
                    yield Problem(wl.obj, flag_path(c, f"--{side}-selector"),
                                  f"--{side}-selector of router {wl.name} selects engines of another --disaggregation-mode: {', '.join(wrong)}",
                                  f"add a label only the {side} pods carry (e.g. app.kubernetes.io/component={side}) to --{side}-selector")
            continue
        for ru in static_urls(model, wl, c):
            for engine in ru.engine_workloads():
                if engine.role not in (ru.role, None):
                    yield Problem(wl.obj, url_path(c, ru),
                                  f"--{ru.role} {ru.url} reaches {engine.name}, which runs --disaggregation-mode {engine.role}",
                                  f"point --{ru.role} at the leader Service of the {ru.role} LWS")


RULE = Rule(
    id="pd-role-mismatch", severity=Severity.ERROR,
    summary="A router's prefill or decode side reaches an engine of another mode",
    doc="""The router sends a request to one `--prefill` and one `--decode` worker and returns
decode's answer. If a prefill URL reaches a decode engine (or both URLs point at prefill, or at a
non-disaggregated `null` engine), the "prefill" never runs a bootstrap server or the "decode" never
fetches KV: requests hang until the bootstrap timeout or fail outright. SGLang's scheduler picks
its event loop from `--disaggregation-mode` alone and never checks what the router thinks it is.""",
    links=(L.ROUTER_ARGS, L.SERVICE_DISCOVERY, L.SG + "managers/scheduler.py"),
    check=check,
)
