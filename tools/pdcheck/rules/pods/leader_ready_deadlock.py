from ...findings import Severity
from ...model import dig
from .._util import describe_pod
from ..base import Problem, Rule
from ._helpers import probe_handler, probe_port, serving_port


def check(model, ctx):
    for wl in model.workloads:
        if not wl.is_lws or wl.size < 2 or not wl.pods:
            continue
        if dig(wl.obj.doc, "spec", "startupPolicy") != "LeaderReady":
            continue
        leader = wl.pods[0]
        c = leader.engine
        if c is None:
            continue
        port = serving_port(c)
        for kind in ("readinessProbe", "startupProbe"):
            probe = c.spec.get(kind)
            if not isinstance(probe, dict):
                continue
            handler, _ = probe_handler(probe)
            number, _ = probe_port(c, probe)
            if handler not in ("httpGet", "tcpSocket") or port is None or number != port:
                continue
            yield Problem(wl.obj, ("spec", "startupPolicy"),
                          f"{wl.name} uses startupPolicy LeaderReady, but the {describe_pod(leader)} only becomes Ready when its engine serves port {port} ({kind}), which needs all {wl.size} ranks to join, and LeaderReady creates the workers only after the leader is Ready: the group never starts",
                          "use startupPolicy: LeaderCreated (the default)")
            break


RULE = Rule(
    id="leader-ready-deadlock",
    severity=Severity.ERROR,
    summary="startupPolicy LeaderReady with a leader whose readiness waits for the workers",
    doc="""With `startupPolicy: LeaderReady` the LWS pod controller does not create the worker
StatefulSet of a group until the leader pod is Ready (`defer the creation of the worker statefulset
because leader pod is not ready`). A multi-node SGLang leader opens `--port` only after its
schedulers finished loading, which includes `torch.distributed` initialisation with every rank
(`--nnodes`); a readiness or startup probe on that port (HTTP `/health` or even TCP) therefore never
succeeds before the workers exist. The leader waits for the workers, LWS waits for the leader: the
group hangs at start (and a startupProbe eventually restarts the leader in a loop). LeaderReady is
only usable when the leader's readiness does not depend on the workers.""",
    links=(
        "https://github.com/kubernetes-sigs/lws/blob/v0.7.0/pkg/controllers/pod_controller.go",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/entrypoints/engine.py#L868-L885",
    ),
    check=check,
)
