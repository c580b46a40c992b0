"""Ports an SGLang/router pod binds, and whether two hostNetwork pods can land on one node.

Port use follows SGLang 0.5.6.post2 (python/sglang/srt/server_args.py PortArgs.init_new,
managers/data_parallel_controller.py, entrypoints/engine.py, managers/disagg_service.py):
- `--port`: the HTTP server on node 0; ranks >= 1 run a dummy health server on the same port;
- prefill node 0: the bootstrap server on `--disaggregation-bootstrap-port`;
- with `--dist-init-addr host:P`, node 0 hosts the torch.distributed TCP store on P; with DP
  attention node 0 also binds P+1..P+5 (tokenizer, detokenizer, rpc, metrics, scheduler input)
  and, with nnodes > 1, P+13 (DP_ATTENTION_HANDSHAKE_PORT_DELTA, not in 0.4.10);
- without `--dist-init-addr`: the NCCL/torch store port is `--nccl-port`, else a free port picked
  at random in `--port`+100..`--port`+1000; single-node DP attention uses `--port`+234..+238.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...catalog import version_key
from ...model import Flag, PodRun, Workload, as_int, dig
from .._k8s import label_selector_matches
from .._util import describe_pod, gpu_count, list_of

GPUS_PER_NODE_ANNOTATION = "pdcheck.io/gpus-per-node"
DEFAULT_GPUS_PER_NODE = 8
HOSTNAME_KEY = "kubernetes.io/hostname"


def split_addr(addr: str) -> tuple[str, int | None]:
    """'host:port' / '[v6]:port' -> (host, port)."""
    addr = str(addr).strip()
    if addr.startswith("["):
        host, _, rest = addr[1:].partition("]")
        return host, as_int(rest[1:]) if rest.startswith(":") else None
    host, sep, port = addr.rpartition(":")
    if not sep:
        return addr, None
    return host, as_int(port)


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in ("localhost", "ip6-localhost", "ip6-loopback"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class PortUse:
    port: int
    what: str  # e.g. "--port (HTTP server)"
    flag: str  # the flag it comes from, for the field path
    derived: bool = False  # picked by SGLang from another port, not written by the user


def pod_ports(pod: PodRun) -> tuple[list[PortUse], list[tuple[int, int, PortUse]]]:
    """(exact ports, random ranges (lo, hi, use)) the pod's SGLang engine or router binds."""
    exact: list[PortUse] = []
    ranges: list[tuple[int, int, PortUse]] = []
    for c in pod.containers:
        if c.program == "sglang-router":
            port = c.flag("--port").value
            if isinstance(port, int):
                exact.append(PortUse(port, "router --port", "--port"))
            if c.flag("--prometheus-port").written:
                prom = c.flag("--prometheus-port").value
                if isinstance(prom, int):
                    exact.append(PortUse(prom, "router --prometheus-port", "--prometheus-port"))
        if c.program != "sglang" or c.parsed is None:
            continue
        version = c.parsed.catalog.version
        lay = c.layout
        rank = lay.node_rank
        nnodes = lay.nnodes if isinstance(lay.nnodes, int) else 1
        port = c.flag("--port").value
        if isinstance(port, int):
            exact.append(PortUse(port, "--port (HTTP server)", "--port"))
        if pod.workload.role == "prefill" and rank == 0:
            boot = c.flag("--disaggregation-bootstrap-port").value
            if isinstance(boot, int):
                exact.append(PortUse(boot, "--disaggregation-bootstrap-port (bootstrap server)",
                                     "--disaggregation-bootstrap-port"))
        addr = c.flag("--dist-init-addr")
        if addr.state == Flag.RUNTIME:
            continue
        if addr.value is not None:
            _, p = split_addr(addr.value)
            if p is None or rank != 0:
                continue
            flag = "--dist-init-addr"
            exact.append(PortUse(p, f"--dist-init-addr port {p} (torch.distributed store)", flag))
            if lay.dp_attention:
                for k in range(1, 6):
                    exact.append(PortUse(p + k, f"--dist-init-addr port + {k} (DP-attention ZMQ port)", flag))
                if nnodes > 1 and version_key(version) >= version_key("0.5.6.post2"):
                    exact.append(PortUse(p + 13, "--dist-init-addr port + 13 (DP-attention port handshake)", flag))
            continue
        nccl = c.int_flag("--nccl-port")
        if isinstance(nccl, int):
            exact.append(PortUse(nccl, "--nccl-port (torch.distributed store)", "--nccl-port"))
        elif isinstance(port, int):
            ranges.append((port + 100, port + 1000,
                           PortUse(port + 100, f"the NCCL port SGLang picks at random in {port + 100}..{port + 1000} (--port + 100..1000)", "--port")))
        if lay.dp_attention and isinstance(port, int) and nnodes == 1:
            for k in range(1, 6):
                exact.append(PortUse(port + 233 + k, f"--port + {233 + k} (DP-attention ZMQ port)", "--port", True))
    return exact, ranges


def declared_ports(pod: PodRun) -> set[int]:
    """containerPort/hostPort of every container; with hostNetwork the API sets hostPort = containerPort."""
    out = set()
    for c in pod.containers:
        for p in list_of(c.spec.get("ports")):
            if isinstance(p, dict):
                for key in ("hostPort", "containerPort"):
                    value = as_int(p.get(key))
                    if value:
                        out.add(value)
    return out


def host_network(pod: PodRun) -> bool:
    return pod.spec.get("hostNetwork") is True


def pod_gpus(pod: PodRun) -> int:
    return sum(gpu_count(c) or 0 for c in pod.containers)


def gpus_per_node(pod: PodRun) -> int:
    for source in (pod.annotations, pod.workload.obj.annotations):
        value = as_int(source.get(GPUS_PER_NODE_ANNOTATION)) if isinstance(source, dict) else None
        if value and value > 0:
            return value
    return DEFAULT_GPUS_PER_NODE


def _anti_affinity_excludes(pod: PodRun, other: PodRun) -> bool:
    terms = dig(pod.spec, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", default=[])
    for term in terms if isinstance(terms, list) else []:
        if isinstance(term, dict) and term.get("topologyKey") == HOSTNAME_KEY and label_selector_matches(term.get("labelSelector"), other.labels):
            return True
    return False


def _node_selectors_conflict(a: PodRun, b: PodRun) -> bool:
    sa, sb = a.spec.get("nodeSelector") or {}, b.spec.get("nodeSelector") or {}
    return isinstance(sa, dict) and isinstance(sb, dict) and any(k in sb and str(sb[k]) != str(v) for k, v in sa.items())


def can_share_node(a: PodRun, b: PodRun) -> tuple[bool, str]:
    """Whether the scheduler may put both pods on one node, and the assumption behind the answer."""
    per_node = min(gpus_per_node(a), gpus_per_node(b))
    ga, gb = pod_gpus(a), pod_gpus(b)
    if ga + gb > per_node:
        return False, ""
    if _anti_affinity_excludes(a, b) or _anti_affinity_excludes(b, a):
        return False, ""
    if _node_selectors_conflict(a, b):
        return False, ""
    if declared_ports(a) & declared_ports(b):
        return False, ""  # the NodePorts filter keeps pods with a common hostPort apart
    return True, (f"{ga} + {gb} GPUs fit one node of {per_node} ({GPUS_PER_NODE_ANNOTATION}, default "
                  f"{DEFAULT_GPUS_PER_NODE}) and no required podAntiAffinity or common hostPort keeps them apart")


def copies(wl: Workload) -> int:
    return max(wl.replicas or 1, 1)


def colocatable_pairs(model):
    """(a, b, assumption) for hostNetwork pods running SGLang or the router that may share a node.

    Covers distinct modelled pods and a pod with its own copy in another LWS group / replica.
    """
    pods = [p for wl in model.workloads for p in wl.pods
            if host_network(p) and (p.engine is not None or p.router is not None)]
    for i, a in enumerate(pods):
        for b in pods[i:]:
            if a is b and copies(a.workload) < 2:
                continue
            ok, why = can_share_node(a, b)
            if ok:
                yield a, b, why


def pair_text(a: PodRun, b: PodRun) -> str:
    if a is b:
        return f"two copies of {describe_pod(a)} (replicas {a.workload.replicas})"
    return f"{describe_pod(a)} and {describe_pod(b)}"
