import ipaddress
import re
from urllib.parse import urlsplit

from ...findings import Severity
from .._util import all_containers, describe_pod
from ..base import Problem, Rule
from ._helpers import host_network

_URL = re.compile(r"https?://[^\s,]+")


def _cluster_names(c) -> list[str]:
    """Cluster DNS names the container needs: LWS_LEADER_ADDRESS, or non-IP hosts in URLs."""
    texts = list(c.raw_argv) + [v.raw or "" for v in c.env.values() if v.source == "env"]
    names = []
    if any("$(LWS_LEADER_ADDRESS)" in t for t in texts):
        names.append("$(LWS_LEADER_ADDRESS)")
    for t in c.argv if c.program == "sglang-router" else []:
        for url in _URL.findall(t):
            host = urlsplit(url).hostname or ""
            try:
                ipaddress.ip_address(host)
            except ValueError:
                if host and "<" not in host and host != "localhost":
                    names.append(host)
    return names


def check(model, ctx):
    seen = set()
    for wl, pod, c in all_containers(model):
        spec = pod.spec
        key = (id(wl), pod.template_path)
        if not host_network(pod) or key in seen:
            continue
        policy = spec.get("dnsPolicy", "ClusterFirst")
        if policy not in ("ClusterFirst", "Default"):
            continue  # ClusterFirstWithHostNet, or None with an explicit dnsConfig
        names = _cluster_names(c)
        if not names:
            continue
        seen.add(key)
        path = pod.spec_path + (("dnsPolicy",) if "dnsPolicy" in spec else ("hostNetwork",))
        yield Problem(wl.obj, path,
                      f"{describe_pod(pod)} runs with hostNetwork and dnsPolicy {policy}, so it uses the node's resolv.conf and cannot resolve {names[0]} (a cluster DNS name) in container {c.name}",
                      "set dnsPolicy: ClusterFirstWithHostNet next to hostNetwork: true")


RULE = Rule(
    id="hostnetwork-dns-policy",
    severity=Severity.ERROR,
    summary="hostNetwork pod needs cluster DNS but lacks dnsPolicy ClusterFirstWithHostNet",
    doc="""A pod with `hostNetwork: true` and the default `dnsPolicy: ClusterFirst` falls back to the
`Default` policy: it resolves with the node's resolv.conf, not cluster DNS. `LWS_LEADER_ADDRESS`
(`<lws>-<group>.<subdomain>.<namespace>`, a name of the LWS headless Service) then does not resolve,
so `--dist-init-addr $(LWS_LEADER_ADDRESS):port` fails or hangs at distributed init, and a router on
the host network cannot resolve the Service names of its workers.""",
    links=(
        "https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-dns-policy",
        "https://github.com/kubernetes-sigs/lws/blob/v0.6.1/pkg/utils/pod/pod_utils.go",
    ),
    check=check,
)
