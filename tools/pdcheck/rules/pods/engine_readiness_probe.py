from ...findings import Severity
from .._util import describe_pod, engine_containers
from ..base import Problem, Rule
from ._helpers import HEALTH_PATHS, probe_handler, probe_port, serving_port


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if not pod.is_leader:
            continue  # only rank 0 serves requests; worker probes are checked by probe-port-not-served
        port = serving_port(c)
        if port is None:
            continue
        probe = c.spec.get("readinessProbe")
        if not isinstance(probe, dict):
            yield Problem(wl.obj, c.path,
                          f"{describe_pod(pod)}: engine container {c.name!r} has no readinessProbe, so it is Ready (and gets traffic) as soon as it starts, long before the model is loaded",
                          f"add readinessProbe httpGet {{path: /health, port: {port}}} with timeoutSeconds: 5 (/health takes over 1 s)")
            continue
        kind, handler = probe_handler(probe)
        number, _ = probe_port(c, probe)
        if number != port:
            continue  # another port (probe-port-not-served) or not resolvable here
        if kind == "tcpSocket":
            yield Problem(wl.obj, c.path + ("readinessProbe", "tcpSocket"),
                          f"{describe_pod(pod)}: readinessProbe of {c.name!r} is a TCP check on port {port}, which passes as soon as the HTTP server listens, while SGLang still answers /health with 503 (server status Starting, warm-up not done)",
                          f"use httpGet {{path: /health, port: {port}}} with timeoutSeconds: 5 (/health takes over 1 s)")
        elif kind == "httpGet":
            path = str(handler.get("path", "/")).split("?", 1)[0]
            if path.rstrip("/") not in HEALTH_PATHS:
                yield Problem(wl.obj, c.path + ("readinessProbe", "httpGet", "path"),
                              f"{describe_pod(pod)}: readinessProbe of {c.name!r} checks {path!r}, which does not follow the engine's start-up state the way /health does (503 until warm-up is done)",
                              "probe /health (or /health_generate, which also runs a one-token generation)")


RULE = Rule(
    id="engine-readiness-probe",
    severity=Severity.WARNING,
    summary="Engine leader not gated on HTTP /health of its serving port",
    doc="""SGLang's HTTP server starts listening before the engine can serve: `/health` and
`/health_generate` return 503 while the server status is `Starting` (until the warm-up request
succeeds) and during shutdown. A TCP readiness check (the reference deployment uses one) or no
readiness probe marks the pod Ready earlier, so the Service and the router send requests to an
engine that fails them; a router started with `--worker-startup-timeout-secs` also waits on the
same endpoint. Checked on the pods that serve requests (the LWS leader, or the pod of a Deployment);
ranks >= 1 run only a dummy `/health` server. Probes on another port are reported by
`probe-port-not-served`.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/entrypoints/http_server.py#L410-L430",
    ),
    check=check,
)
