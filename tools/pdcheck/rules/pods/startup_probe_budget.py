from ...findings import Severity
from ...model import as_int
from .._k8s import probe_budget
from .._util import describe_pod, engine_containers
from ..base import Problem, Rule
from ._helpers import BUDGET_ANNOTATION, budget_text, startup_threshold


def _needed(probe: dict, threshold: int) -> int:
    delay = as_int(probe.get("initialDelaySeconds", 0)) or 0
    period = max(as_int(probe.get("periodSeconds", 10)) or 10, 1)
    return -(-max(threshold - delay, 0) // period)


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        probe = c.spec.get("startupProbe")
        if not isinstance(probe, dict):
            continue
        budget = probe_budget(probe)
        threshold, source = startup_threshold(wl, pod, c)
        if budget is None or threshold is None or budget >= threshold:
            continue
        yield Problem(wl.obj, c.path + ("startupProbe",),
                      f"{describe_pod(pod)}: startupProbe of {c.name!r} allows {budget_text(probe)}, below the {threshold} s a model load may take ({source}), so kubelet restarts the engine mid-load",
                      f"raise failureThreshold to at least {_needed(probe, threshold)}, or set {BUDGET_ANNOTATION} if loads are known to be faster")


RULE = Rule(
    id="startup-probe-budget",
    severity=Severity.WARNING,
    summary="Engine startupProbe gives up before a model load can finish",
    doc="""A startupProbe that fails `failureThreshold` times in a row makes kubelet restart the
container; its budget is `initialDelaySeconds + periodSeconds x failureThreshold`. SGLang opens its
port only after every rank loaded its weights, joined NCCL (and DeepEP/NVSHMEM), captured CUDA graphs
and JIT-compiled kernels, and `/health` answers 200 only after warm-up. A budget below that restarts
the engine mid-load forever; with `RecreateGroupOnPodRestart` the whole LWS group is recreated each
time. The threshold is the pod template's or the workload's `pdcheck.io/startup-budget-seconds`
annotation, else 1800 s for multi-node engines and 600 s for single-node ones: kserve#5063 chose
600 s (60 x 10 s) for its single-node vLLM templates, and a multi-node DeepSeek-class engine loads
several hundred GB and waits for all ranks (the shipped bundle allows 3600 s).""",
    links=(
        "https://github.com/kserve/kserve/pull/5063",
        "https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/",
    ),
    check=check,
)
