from ...findings import Severity
from .._util import flag_path
from ..base import Problem, Rule
from ._helpers import colocatable_pairs, pair_text, pod_ports


def _overlaps(range_pod, fixed_pod):
    _, ranges = pod_ports(range_pod)
    exact, _ = pod_ports(fixed_pod)
    for lo, hi, use in ranges:
        for fixed in exact:
            if lo <= fixed.port <= hi and not (fixed.derived and range_pod is fixed_pod):
                yield use, fixed


def check(model, ctx):
    seen = set()
    pairs = [(p, p, "") for wl in model.workloads for p in wl.pods]  # within one pod
    pairs += [(a, b, why) for a, b, why in colocatable_pairs(model) if a is not b]
    for a, b, why in pairs:
        for x, y in ((a, b), (b, a)) if a is not b else ((a, a),):
            for use, fixed in _overlaps(x, y):
                key = (id(x.workload), x.template_path, id(y.workload), y.template_path, fixed.port)
                if key in seen:
                    continue
                seen.add(key)
                where = "" if x is y else f" ({pair_text(x, y)} can share a node: {why})"
                c = x.engine or x.router
                yield Problem(x.workload.obj, flag_path(c, use.flag),
                              f"{use.what} includes port {fixed.port}, which {fixed.what} binds{where}",
                              "pass --nccl-port with a fixed free port, or move the fixed port out of --port + 100..1000")


RULE = Rule(
    id="nccl-port-range-overlap",
    severity=Severity.WARNING,
    summary="The random NCCL port range overlaps a fixed port",
    doc="""Without `--dist-init-addr`, SGLang picks the torch.distributed/NCCL port as `--port` + a random
100..1000 (the first free one, stepping by 42; PortArgs.init_new) and binds it. If a fixed port of the
same pod, or of a hostNetwork pod that can share the node, lies in that range, whoever starts second
fails to bind: a random, intermittent start failure. Fix the NCCL port with `--nccl-port` or keep fixed
ports out of the range.""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/server_args.py",
        "https://github.com/sgl-project/sglang/issues/31964",
    ),
    check=check,
)
