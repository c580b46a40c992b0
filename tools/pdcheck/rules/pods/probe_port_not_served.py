from ...findings import Severity
from .._util import describe_pod, engine_containers
from ..base import Problem, Rule
from ._helpers import probe_handler, probe_port, probes, served_ports


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        ports = served_ports(pod, c)
        for kind, probe in probes(c):
            handler_kind, _ = probe_handler(probe)
            number, problem = probe_port(c, probe)
            path = c.path + (kind, handler_kind or "")
            if problem:
                yield Problem(wl.obj, path + ("port",),
                              f"{describe_pod(pod)}: {kind} of {c.name!r} {problem}, so kubelet cannot run it and the probe always fails",
                              "use the port number, or a name from the container's ports")
            elif number is not None and ports is not None and number not in ports:
                served = ", ".join(str(p) for p in sorted(ports))
                yield Problem(wl.obj, path + ("port",),
                              f"{describe_pod(pod)}: {kind} of {c.name!r} targets port {number}, but the engine listens on {served}, so the probe never succeeds",
                              f"point the probe at the --port value ({min(ports) if len(ports) == 1 else served})")


RULE = Rule(
    id="probe-port-not-served",
    severity=Severity.ERROR,
    summary="Engine probe on a port SGLang does not listen on",
    doc="""SGLang serves HTTP (and `/health`) on `--port` (default 30000): the API server on node 0,
a dummy `/health` server on every other node (`launch_dummy_health_check_server`, all releases
0.4.10.post2 to 0.5.23); a prefill engine's node 0 also runs the bootstrap server on
`--disaggregation-bootstrap-port`. A probe on any other port, or on a port name the container does
not declare, never succeeds: a readiness probe keeps the pod out of its Service forever (and with
`startupPolicy: LeaderReady` the workers are never created), a startup or liveness probe restarts
the container in a loop.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/entrypoints/engine.py#L868-L885",
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
    ),
    check=check,
)
