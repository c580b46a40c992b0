import ipaddress
import re

from ...findings import Severity
from ...model import known_at_render
from .. import _links as L
from .._router import is_pd, parse_url, resolve_host, router_engines, static_urls, uses_discovery
from .._util import all_containers, describe_pod
from ..base import Problem, Rule
from ._helpers import host_network, split_addr

def _leader_ref(name: str) -> re.Pattern:
    """$(NAME) for kubelet, $NAME / ${NAME...} for a shell: NAME is the leader-address env var the
    group's controller injects (LWS_LEADER_ADDRESS, RBG_LWP_LEADER_ADDRESS)."""
    return re.compile(rf"\$\({name}\)|\$\{{?{name}\b")


def is_cluster_name(model, host: str, namespace) -> bool:
    """True for a host name only cluster DNS answers: a Service, LWS or StatefulSet pod name of the
    render, or any name under `.svc` / `.cluster.local`. IP literals, localhost and other names
    (a node's or an external host's, resolvable from the node) are not."""
    if not host or not known_at_render(host) or host.lower() in ("localhost", "localhost.localdomain"):
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return False
    except ValueError:
        pass
    labels = host.lower().rstrip(".").split(".")
    if "svc" in labels[1:] or host.lower().rstrip(".").endswith(".cluster.local"):
        return True
    return resolve_host(model, host, namespace) is not None


def _bootstrap_hosts(model):
    """{id(decode workload): [(host, router name)]}: the prefill URL hosts each static PD router
    hands to the decode engines it reaches as `bootstrap_host` (sglang-router sends the URL's
    host as written; decode fetches http://<bootstrap_host>:<port>/route from prefill)."""
    hosts: dict[int, list[tuple[str, str]]] = {}
    for wl, c in model.routers:
        if not is_pd(c) or uses_discovery(c):
            continue  # discovery registers pod IPs
        sides = router_engines(model, wl, c) or {}
        prefill_hosts = [ru.host for ru in static_urls(model, wl, c) if ru.role == "prefill"]
        for d in sides.get("decode", []):
            hosts.setdefault(id(d), []).extend((h, wl.name) for h in prefill_hosts)
    return hosts


def _needed_names(model, wl, c, bootstrap_hosts):
    """(name, what needs it) for every name this container must resolve through cluster DNS."""
    ns = wl.obj.namespace or None
    texts = list(c.raw_argv) + [v.raw or "" for v in c.env.values() if v.source == "env"]
    leader_var = wl.group_env["leader_address"]
    if c.env_value(leader_var) and any(_leader_ref(leader_var).search(t) for t in texts):
        yield c.env_value(leader_var), leader_var
    if c.program == "sglang":
        addr = c.flag("--dist-init-addr")
        if addr.known and isinstance(addr.value, str):
            host, _ = split_addr(addr.value)
            yield host, "--dist-init-addr"
        if c.layout is not None and c.layout.role == "decode":
            for host, router in bootstrap_hosts.get(id(wl), []):
                yield host, f"the prefill bootstrap host router {router} sends it"
    if c.program == "sglang-router" and c.parsed is not None:
        for ru in static_urls(model, wl, c):
            yield ru.host, f"--{ru.role} {ru.url}"
        for occ in c.parsed.occurrences("--worker-urls"):
            for url in occ.values:
                parsed = parse_url(url)
                if parsed:
                    yield parsed[0], f"--worker-urls {url}"


def check(model, ctx):
    seen = set()
    bootstrap_hosts = _bootstrap_hosts(model)
    for wl, pod, c in all_containers(model):
        spec = pod.spec
        key = (id(wl), pod.template_path)
        if not host_network(pod) or key in seen:
            continue
        policy = spec.get("dnsPolicy", "ClusterFirst")
        if policy not in ("ClusterFirst", "Default"):
            continue  # ClusterFirstWithHostNet, or None with an explicit dnsConfig
        ns = wl.obj.namespace or None
        needed = [(name, why) for name, why in _needed_names(model, wl, c, bootstrap_hosts)
                  if is_cluster_name(model, name, ns)]
        if not needed:
            continue
        seen.add(key)
        name, why = needed[0]
        more = f" (and {len(needed) - 1} more)" if len(needed) > 1 else ""
        path = pod.spec_path + (("dnsPolicy",) if "dnsPolicy" in spec else ("hostNetwork",))
        yield Problem(wl.obj, path,
                      f"{describe_pod(pod)} runs with hostNetwork and dnsPolicy {policy}, so it uses the node's resolv.conf and "
                      f"cannot resolve the cluster DNS name {name} ({why}) in container {c.name}{more}",
                      "set dnsPolicy: ClusterFirstWithHostNet next to hostNetwork: true")


RULE = Rule(
    id="hostnetwork-dns-policy",
    severity=Severity.ERROR,
    summary="hostNetwork pod needs cluster DNS but lacks dnsPolicy ClusterFirstWithHostNet",
    doc="""A pod with `hostNetwork: true` and the default `dnsPolicy: ClusterFirst` falls back to the
`Default` policy: it resolves with the node's resolv.conf, not cluster DNS. Every cluster name the
pod must resolve then fails: `LWS_LEADER_ADDRESS` (`<lws>-<group>.<subdomain>.<namespace>`) and any
other `--dist-init-addr` host (torch.distributed init fails or hangs), a router's `--prefill` /
`--decode` / `--worker-urls` Service names, and, on a decode engine, the prefill host a static PD
router passes as `bootstrap_host` (decode fetches `http://<bootstrap_host>:<port>/route` from
prefill: `disaggregation/decode.py`, `disaggregation/common/conn.py`). Names count as cluster names
when they are a Service, LWS or StatefulSet pod of the render or lie under `.svc` / `.cluster.local`;
IP literals and other names (resolvable from the node) need nothing.""",
    links=(
        "https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-dns-policy",
        "https://github.com/kubernetes-sigs/lws/blob/v0.6.1/pkg/utils/pod/pod_utils.go",
        L.SG + "disaggregation/common/conn.py",
        L.SG + "disaggregation/decode.py",
    ),
    check=check,
)
