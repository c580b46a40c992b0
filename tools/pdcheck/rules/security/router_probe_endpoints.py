from ...findings import Severity
from .. import _links as L
from .._k8s import probe_budget
from .._router import (BACKOFF_RESET_S, ENGINE_DEPENDENT_PATHS, probe_path, registration_window,
                       restarting_startup_probe, uses_discovery)
from ..base import Problem, Rule

# sglang-router 0.2.4 and 0.3.2 (measured, docs/router-e2e.md): /health and /liveness answer 200 with
# no engine registered; /readiness answers 503 until a prefill and a decode (or, unsplit, any worker)
# are registered and healthy; /health_generate sends a request to the engines.
PASSES_WITHOUT_ENGINES = ("/health", "/liveness")


def _what(probe: dict) -> str:
    path = probe_path(probe)
    return f"httpGet {path}" if path else next((k for k in ("tcpSocket", "exec", "grpc") if k in probe), "probe")


def check(model, ctx):
    for wl, c in model.routers:
        readiness = c.spec.get("readinessProbe")
        if isinstance(readiness, dict):
            path = probe_path(readiness)
            if path in PASSES_WITHOUT_ENGINES or path is None and isinstance(readiness.get("tcpSocket"), dict):
                yield Problem(wl.obj, c.path + ("readinessProbe",),
                              f"router {wl.name}: readinessProbe {_what(readiness)} succeeds before any engine is registered, so "
                              "a fresh replica takes traffic it can only answer with 503",
                              "probe readiness with httpGet /readiness (503 until the engines are registered)")
        liveness = c.spec.get("livenessProbe")
        if isinstance(liveness, dict) and probe_path(liveness) in ENGINE_DEPENDENT_PATHS:
            yield Problem(wl.obj, c.path + ("livenessProbe",),
                          f"router {wl.name}: livenessProbe httpGet {probe_path(liveness)} fails while the engines are down "
                          "or loading, and the kubelet then restarts healthy routers in a loop",
                          "probe liveness with httpGet /health (the router process itself)")
        yield from _startup(wl, c)


def _startup(wl, c):
    startup = c.spec.get("startupProbe")
    fix_range = (f"probe startup with httpGet /readiness, periodSeconds x failureThreshold above {BACKOFF_RESET_S} s and "
                 "below the router's give-up (~0.9 x --worker-startup-timeout-secs; the bundle: 10 x 180 for 3900)")
    probe = restarting_startup_probe(c)
    if probe is None:
        what = f"startupProbe {_what(startup)} passes without engines" if isinstance(startup, dict) else "there is no startupProbe"
        yield Problem(wl.obj, c.path + (("startupProbe",) if isinstance(startup, dict) else ()),
                      f"router {wl.name}: {what}, so nothing restarts a router that dropped its engines at start (it "
                      "stops retrying an engine not healthy within ~0.9 x --worker-startup-timeout-secs) and it "
                      "answers 503 until the pod is deleted", fix_range)
        return
    budget = probe_budget(probe)
    if budget is None:
        return
    if budget < BACKOFF_RESET_S:
        yield Problem(wl.obj, c.path + ("startupProbe",),
                      f"router {wl.name}: startupProbe restarts the router every {budget} s while the engines load; restarts "
                      f"less than {BACKOFF_RESET_S} s apart grow the kubelet's back-off to 300 s (CrashLoopBackOff), so the "
                      "router may start routing up to 5 min after the engines are up", fix_range)
    timeout = c.flag("--worker-startup-timeout-secs").value
    # Discovered pods are added once Ready, so the window only matters for a Ready pod the router
    # cannot reach: too rare to warn about the budget of a discovery router.
    if not uses_discovery(c) and isinstance(timeout, int) and budget >= registration_window(timeout):
        window = registration_window(timeout)
        yield Problem(wl.obj, c.path + ("startupProbe",),
                      f"router {wl.name}: startupProbe restarts the router after {budget} s, but it drops engines that are "
                      f"not healthy after ~{window} s (--worker-startup-timeout-secs {timeout}): a router whose engines come "
                      f"later serves 503 for up to {budget - window} s before the restart", fix_range)


RULE = Rule(
    id="router-probe-endpoints",
    severity=Severity.WARNING,
    summary="Router probes on the wrong endpoint, or a startup probe that cannot recover a router that dropped its engines",
    doc=f"""sglang-router 0.2.4 and 0.3.2 start their HTTP server at once and register the engines in the
background. `/health` (and `/liveness`) answer 200 whatever the engines do, and requests get
`503 No prefill workers available` until engines are registered; `/readiness` answers 503 until a
prefill and a decode are registered and healthy (`readiness` and `liveness` in the gateway's
`server.rs`; measured in tests/test_router_e2e.py, docs/router-e2e.md).

- Readiness on `/health` or a TCP connect puts a router that cannot route into the Service: every
  rollout of the router, or a router restart while the engines load, serves 503s.
- Liveness on `/readiness` or `/health_generate` restarts healthy routers whenever the engines are
  down or still loading (tens of minutes for DeepSeek-R1).
- Startup: the router retries a static engine for about 0.9 x `--worker-startup-timeout-secs`
  (linear back-off 1-5 s), then drops it and never retries it; `/readiness` stays 503 while
  `/health` stays 200 (issue #13, reproduced in tests/test_router_recovery.py). A discovery router
  does the same to a Ready pod whose engine does not answer it in that window (the pod unchanged,
  no event brings it back), and one whose Kubernetes client cannot be set up logs `Continuing
  without service discovery` and stays up the same way (measured with 0.3.2). Engines that were
  registered once are kept and health-checked, so only start-up needs the kubelet: a startupProbe on
  `/readiness` restarts a router that has not registered its engines, and the new one keeps trying.
  Its budget (`periodSeconds x failureThreshold`) must stay below the router's give-up, or the router
  sits given-up until the probe fires, and above {BACKOFF_RESET_S} s: the kubelet restarts a container that
  ran longer than twice its 300 s back-off cap at once, while restarts closer together double the
  back-off up to 300 s (CrashLoopBackOff) and delay routing by up to 5 min after the engines are up.""",
    links=(
        L.GATEWAY_SERVER,
        L.GATEWAY_REGISTRATION,
        L.KUBELET_BACKOFF,
        "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts",
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
    ),
    check=check,
)
