from ...findings import Severity
from .. import _links as L
from .._k8s import probe_budget
from .._router import is_pd, registration_window, restarting_startup_probe, router_engines, uses_discovery
from .._util import flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c) or uses_discovery(c):
            continue  # discovery only adds pods once they are Ready
        timeout = c.flag("--worker-startup-timeout-secs").value
        if not isinstance(timeout, int):
            continue
        restart = restarting_startup_probe(c)
        restart_after = probe_budget(restart) if restart else None
        if restart_after is not None and restart_after < registration_window(timeout):
            continue  # the kubelet restarts the router before it gives up on late engines
        worst = None
        for side in router_engines(model, wl, c).values():
            for engine in side:
                probe = engine.leader.engine.spec.get("startupProbe")
                budget = probe_budget(probe) if isinstance(probe, dict) else None
                if budget is not None and (worst is None or budget > worst[0]):
                    worst = (budget, engine.name)
        if worst and timeout < worst[0]:
            given = "" if c.flag("--worker-startup-timeout-secs").written else f" (the default of sglang-router {c.parsed.catalog.version})"
            yield Problem(wl.obj, flag_path(c, "--worker-startup-timeout-secs"),
                          f"--worker-startup-timeout-secs is {timeout}{given}, but {worst[1]}'s leader may take up to {worst[0]} s to start (startupProbe initialDelaySeconds + periodSeconds x failureThreshold), and no router startupProbe on /readiness restarts the router before it drops the engine for good",
                          f"set --worker-startup-timeout-secs to at least {worst[0]}, or probe the router's startup on /readiness with a budget below ~0.9 x the timeout (router-probe-endpoints)")


RULE = Rule(
    id="router-startup-timeout", severity=Severity.ERROR,
    summary="Router gives up on static workers before the engines may finish starting",
    doc="""A router with static URLs health-checks each worker until `--worker-startup-timeout-secs`
(default 300 in sglang-router 0.1.8, 1800 from 0.2.x) runs out; 0.2.4 and 0.3.2 retry for about
0.9 x the timeout (attempts from the timeout, linear back-off 1-5 s). Large models take longer to
load than that, and kubelet is told so by the engine's startupProbe. Measured with sglang-router
0.2.4 and 0.3.2: when the window closes the registration workflow fails (`Workflow failed ...
detect_connection_mode`, `Failed job: type=AddWorker`), the worker is never retried, `/readiness`
stays 503 `insufficient healthy workers` while `/health` stays 200, so the router serves 503 until
restarted (issue #13). The rule stays silent when the router's startupProbe on `/readiness` restarts
it before that window closes: the new router keeps trying (tests/test_router_recovery.py).""",
    links=(L.ROUTER_ARGS, L.GATEWAY_REGISTRATION, L.ROUTER_E2E),
    check=check,
)
