from ...findings import Severity
from .._util import describe_pod, engine_containers
from ..base import Problem, Rule
from ._helpers import HEALTH_PATHS, probe_handler, probe_port, probes, serving_port

# /health waits for the scheduler to answer a one-token request, polling once a second
# (http_server.py health_generate: `await asyncio.sleep(1)` before the first check).
MIN_TIMEOUT_S = 2


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if not pod.is_leader:
            continue  # ranks >= 1 serve a dummy /health that answers at once
        port = serving_port(c)
        generation_off = str(c.env_value("SGLANG_ENABLE_HEALTH_ENDPOINT_GENERATION") or "").lower() in ("0", "false", "no")
        for name, probe in probes(c):
            kind, handler = probe_handler(probe)
            if kind != "httpGet" or probe_port(c, probe)[0] != port:
                continue
            path = str(handler.get("path", "/")).split("?", 1)[0].rstrip("/")
            if path not in HEALTH_PATHS or (path == "/health" and generation_off):
                continue
            timeout = probe.get("timeoutSeconds", 1)
            if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout < MIN_TIMEOUT_S:
                yield Problem(wl.obj, c.path + (name, "timeoutSeconds") if "timeoutSeconds" in probe else c.path + (name,),
                              f"{describe_pod(pod)}: {name} of {c.name!r} calls {path} with a {timeout} s timeout, but SGLang answers "
                              f"{path} only after waiting at least 1 s for a one-token generation, so the probe never succeeds",
                              f"set {name}.timeoutSeconds to 5 (or more)")


RULE = Rule(
    id="health-probe-timeout",
    severity=Severity.ERROR,
    summary="Engine /health probe with a timeout shorter than SGLang's health check takes",
    doc="""SGLang's `/health` and `/health_generate` (one handler) send a one-token generation to the
scheduler and poll for its answer once a second, sleeping 1 s before the first check, so a healthy
engine answers after 1 s at the earliest (unless `SGLANG_ENABLE_HEALTH_ENDPOINT_GENERATION` is
false, which makes `/health` answer at once). Kubernetes' default probe `timeoutSeconds` is 1: a
readiness probe with it never passes, so the leader is never Ready and the Service sends nothing; a
startup probe with it kills the container after its budget however healthy the engine is. Only the
leader matters: ranks >= 1 serve a dummy `/health` that answers immediately.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/entrypoints/http_server.py#L410-L470",
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#configure-probes",
    ),
    check=check,
)
