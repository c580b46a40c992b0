from ...findings import Severity
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        missing = [p for p in ("readinessProbe", "livenessProbe") if not isinstance(c.spec.get(p), dict)]
        if missing:
            yield Problem(wl.obj, c.path,
                          f"router container {c.name} of {wl.kind} {wl.name} has no {' and no '.join(missing)}",
                          "add readinessProbe httpGet /readiness and livenessProbe httpGet /health on the router port")


RULE = Rule(
    id="router-probes-missing",
    severity=Severity.WARNING,
    summary="Router without a readiness or liveness probe",
    doc="""Without a readiness probe a router pod receives traffic from the moment its container starts,
before it has registered any engine: clients get `503 No prefill workers available` from the new
replica during every rollout. Without a liveness probe a hung router (deadlocked, out of file
descriptors) stays in the Service forever. sglang-router 0.3.2 serves `/readiness` (503 until
engines are registered) and `/health` (200 while the process serves); see `router-probe-endpoints`
for which goes where. Engine probes are checked by the `pods` rules.""",
    links=(
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
        "https://pypi.org/project/sglang-router/0.3.2/",
    ),
    check=check,
)
