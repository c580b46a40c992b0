from ...findings import Severity
from .._util import describe_pod, flag_path
from ..base import Problem, Rule
from ._helpers import host_network, pod_ports


def _in_range(pod, lo, hi):
    """(port text, PortUse) for every port or random port range of the pod that meets lo..hi."""
    exact, ranges = pod_ports(pod)
    for use in exact:
        if lo <= use.port <= hi:
            yield str(use.port), use
    for first, last, use in ranges:
        if first <= hi and last >= lo:
            yield f"{max(first, lo)}..{min(last, hi)}", use


def check(model, ctx):
    lo, hi = ctx.config.node_port_range
    seen = set()
    for wl in model.workloads:
        for pod in wl.pods:
            if not host_network(pod):
                continue
            by_flag = {}  # one finding per flag: the DP-attention ports derived from one flag go together
            for ports, use in _in_range(pod, lo, hi):
                if (id(wl), pod.template_path, use.what) not in seen:  # ranks sharing a template: once
                    seen.add((id(wl), pod.template_path, use.what))
                    by_flag.setdefault(use.flag, []).append(f"{ports} ({use.what})")
            c = pod.engine or pod.router
            for flag, uses in by_flag.items():
                yield Problem(wl.obj, flag_path(c, flag),
                              f"{describe_pod(pod)} runs on the host network and binds {', '.join(uses)} on the node, inside the Service NodePort range {lo}-{hi}: a Service allocated such a node port takes that port's traffic on every node",
                              f"move the port out of {lo}-{hi} (e.g. below {lo}), or set service-node-port-range in .pdcheck.yaml if the cluster's kube-apiserver uses another range")


RULE = Rule(
    id="hostnetwork-port-in-nodeport-range",
    severity=Severity.WARNING,
    summary="hostNetwork engine or router binds a port inside the Service NodePort range",
    doc="""kube-apiserver allocates Service node ports from `--service-node-port-range` (default
30000-32767), and kube-proxy then sends traffic for that port on **every** node to the Service's
endpoints (iptables/nftables DNAT before the packet reaches any socket on the node). A pod on the
host network that binds a port in that range (SGLang's default `--port` is 30000) works until some
Service in the cluster is given that node port, automatically or explicitly: from then on clients,
the router and health probes that reach the node on that port talk to the other Service, and
the engine gets nothing. The cluster's allocator does not know about host-network listeners, so
nothing warns. The rule checks every port an engine or router on `hostNetwork` binds (HTTP,
bootstrap, `--dist-init-addr` and the DP-attention ports derived from it, `--nccl-port` or the
random NCCL range `--port`+100..1000) against the range, which `.pdcheck.yaml`
`service-node-port-range` overrides for clusters that changed it.""",
    links=(
        "https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport",
        "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/server_args.py",
    ),
    check=check,
)
