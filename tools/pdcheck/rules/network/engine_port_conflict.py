from ...findings import Severity
from .._util import describe_pod, flag_path
from ..base import Problem, Rule
from ._helpers import pod_ports


def check(model, ctx):
    seen = set()
    for wl in model.workloads:
        for pod in wl.pods:
            exact, _ = pod_ports(pod)
            by_port = {}
            for use in exact:
                by_port.setdefault(use.port, []).append(use)
            for port, uses in sorted(by_port.items()):
                whats = list(dict.fromkeys(u.what for u in uses))
                key = (id(wl), pod.template_path, port)
                if len(whats) < 2 or key in seen:
                    continue
                seen.add(key)
                c = pod.engine or pod.router
                yield Problem(wl.obj, flag_path(c, uses[-1].flag),
                              f"{describe_pod(pod)} binds port {port} twice: {' and '.join(whats)}",
                              "move one of them to a free port (keep --dist-init-addr port .. port+13 clear of --port and the bootstrap port)")


RULE = Rule(
    id="engine-port-conflict",
    severity=Severity.ERROR,
    summary="Two listeners of one SGLang pod use the same port",
    doc="""Inside one pod every listener needs its own port: the HTTP server (`--port`, also the
dummy health server on ranks >= 1), the prefill bootstrap server (`--disaggregation-bootstrap-port`,
node 0), the torch.distributed store on the `--dist-init-addr` port and, with DP attention, the ZMQ
ports SGLang derives from it (port+1..port+5, and port+13 for the multi-node handshake;
PortArgs.init_new and data_parallel_controller.py). A clash fails at start with "address already in
use" or, worse, `wait_port_available` blocks until it times out.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/server_args.py",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/managers/data_parallel_controller.py",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/entrypoints/engine.py",
    ),
    check=check,
)
