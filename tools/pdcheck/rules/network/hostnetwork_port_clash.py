from ...findings import Severity
from .._util import flag_path
from ..base import Problem, Rule
from ._helpers import colocatable_pairs, pair_text, pod_ports


def check(model, ctx):
    seen = set()
    for a, b, why in colocatable_pairs(model):
        key = tuple(sorted([(id(a.workload), a.template_path), (id(b.workload), b.template_path)]))
        if key in seen:
            continue
        ports_a = {u.port: u for u in pod_ports(a)[0]}
        clashes = [(ports_a[u.port], u) for u in pod_ports(b)[0] if u.port in ports_a]
        if not clashes:
            continue
        seen.add(key)
        ports = sorted({ub.port for _, ub in clashes})
        ua, ub = clashes[0]
        shown = ", ".join(map(str, ports[:8])) + (", ..." if len(ports) > 8 else "")
        c = b.engine or b.router
        yield Problem(b.workload.obj, flag_path(c, ub.flag),
                      f"{pair_text(a, b)} both bind host port{'s' if len(ports) > 1 else ''} {shown} on the host network "
                      f"(e.g. {ua.port}: {ua.what} / {ub.what}), and {why}",
                      "give one of them other ports, or declare a common containerPort in both pods (the scheduler then keeps them apart), or add a required podAntiAffinity on kubernetes.io/hostname")


RULE = Rule(
    id="hostnetwork-port-clash",
    severity=Severity.ERROR,
    summary="hostNetwork pods that can share a node bind the same port",
    doc="""With `hostNetwork: true` every listener of SGLang (HTTP `--port`, bootstrap port,
`--dist-init-addr` port and the DP-attention ports derived from it) and of the router binds on the
node itself. Two such pods on one node collide: the second fails with "address already in use" or
waits in `wait_port_available` (sglang#31964). pdcheck treats pods as able to share a node unless
their GPU requests exceed a node (`pdcheck.io/gpus-per-node` annotation, default 8), a required
podAntiAffinity on `kubernetes.io/hostname` or conflicting nodeSelectors separate them, or both declare
a common containerPort (with hostNetwork it is a hostPort, and the scheduler's NodePorts filter keeps
such pods apart).""",
    links=(
        "https://github.com/sgl-project/sglang/issues/31964",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/server_args.py",
        "https://github.com/kubernetes/kubernetes/blob/v1.33.0/pkg/apis/core/v1/defaults.go",
    ),
    check=check,
)
