from ...findings import Severity
from ..base import Problem, Rule

# sglang-router 0.3.2 (measured, docs/router-e2e.md): /health and /liveness answer 200 with no engine
# registered; /readiness answers 503 until engines are registered; /health_generate sends a request
# to the engines.
PASSES_WITHOUT_ENGINES = ("/health", "/liveness")
DEPENDS_ON_ENGINES = ("/readiness", "/health_generate")


def _path(probe: dict):
    get = probe.get("httpGet")
    if isinstance(get, dict):
        return str(get.get("path") or "/").split("?", 1)[0]
    return None


def check(model, ctx):
    for wl, c in model.routers:
        readiness = c.spec.get("readinessProbe")
        if isinstance(readiness, dict):
            path = _path(readiness)
            if path in PASSES_WITHOUT_ENGINES or path is None and isinstance(readiness.get("tcpSocket"), dict):
                what = f"httpGet {path}" if path else "tcpSocket"
                yield Problem(wl.obj, c.path + ("readinessProbe",),
                              f"router {wl.name}: readinessProbe {what} succeeds before any engine is registered, so "
                              "a fresh replica takes traffic it can only answer with 503",
                              "probe readiness with httpGet /readiness (503 until the engines are registered)")
        liveness = c.spec.get("livenessProbe")
        if isinstance(liveness, dict) and _path(liveness) in DEPENDS_ON_ENGINES:
            yield Problem(wl.obj, c.path + ("livenessProbe",),
                          f"router {wl.name}: livenessProbe httpGet {_path(liveness)} fails while the engines are down "
                          "or loading, and the kubelet then restarts healthy routers in a loop",
                          "probe liveness with httpGet /health (the router process itself)")


RULE = Rule(
    id="router-probe-endpoints",
    severity=Severity.WARNING,
    summary="Router readiness passes without engines, or liveness depends on them",
    doc="""sglang-router 0.3.2 starts its HTTP server at once and registers the engines in the
background. `/health` (and `/liveness`) then answer 200 with no engine registered, and requests get
`503 No prefill workers available`; `/readiness` answers 503 until engines are registered and 200
afterwards (measured in tests/test_router_e2e.py, docs/router-e2e.md). A readiness probe on
`/health` or a TCP connect therefore puts a router that cannot route into the Service: every
rollout of the router, or a router restart while the engines load, serves 503s. The reverse
mistake, liveness on `/readiness` or `/health_generate`, restarts healthy routers whenever the
engines are down or still loading (tens of minutes for DeepSeek-R1).""",
    links=(
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
        "https://pypi.org/project/sglang-router/0.3.2/",
    ),
    check=check,
)
