from ...findings import Severity
from .._k8s import probe_budget
from .._util import describe_pod, engine_containers
from ..base import Problem, Rule
from ._helpers import BUDGET_ANNOTATION, budget_text, startup_threshold


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        probe = c.spec.get("livenessProbe")
        if not isinstance(probe, dict) or isinstance(c.spec.get("startupProbe"), dict):
            continue
        budget = probe_budget(probe)
        threshold, source = startup_threshold(wl, pod, c)
        if budget is None or threshold is None or budget >= threshold:
            continue
        yield Problem(wl.obj, c.path + ("livenessProbe",),
                      f"{describe_pod(pod)}: engine container {c.name!r} has a livenessProbe but no startupProbe, so liveness runs during the model load and kills it after {budget_text(probe)} (a load may take {threshold} s, {source})",
                      f"add a startupProbe (httpGet /health on the serving port) with a budget of at least {threshold} s, or set {BUDGET_ANNOTATION}")


RULE = Rule(
    id="liveness-without-startup",
    severity=Severity.ERROR,
    summary="Engine livenessProbe without a startupProbe kills the container mid-load",
    doc="""Without a startupProbe, kubelet runs the livenessProbe from container start (after
`initialDelaySeconds`). SGLang does not answer on its port until the model is loaded on every rank,
so the probe fails and kubelet kills the container after
`initialDelaySeconds + periodSeconds x failureThreshold`, typically well under the minutes a large
model takes: the pod never gets past loading (CrashLoopBackOff, and with LWS
`RecreateGroupOnPodRestart` the whole group restarts each time). kserve#5063 fixed exactly this in its
LLM templates by adding a startupProbe; a long `initialDelaySeconds` also works but delays every
start. Reported when the liveness budget is below the start-up threshold (see
`startup-probe-budget`).""",
    links=(
        "https://github.com/kserve/kserve/pull/5063",
        "https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/#startup-probe",
    ),
    check=check,
)
