"""Router wiring, resolved once: router URL -> Service -> pods of which workload -> which engine port.

Shared by the router and pairing rules. Everything here follows what Kubernetes does with the
objects of the render: a Service's selector picks pods by label equality in its namespace, a port
maps `port` -> `targetPort` (a number, a containerPort name, or the port itself when omitted), and
LWS creates a headless Service named like the LWS (selector `leaderworkerset.sigs.k8s.io/name`,
all ranks) whose per-pod DNS names `<lws>-<group>.<lws>` reach one leader pod directly.
Values not known at lint time (`<placeholders>`) make the helpers return None: rules stay silent.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..model import LWS_NAME_LABEL, LWS_WORKER_LABEL, STS_POD_NAME_LABEL, ContainerRun, Model, PodRun, Workload, as_int, dig, Flag, known_at_render
from ._k8s import map_selector_match, map_selector_matches, may_share_namespace, ns_of
from ._util import list_of

BOOTSTRAP_ANNOTATION = "sglang.ai/bootstrap-port"


def engine_port(c: ContainerRun) -> int | None:
    return c.int_flag("--port")


def bootstrap_port(c: ContainerRun) -> int | None:
    return c.int_flag("--disaggregation-bootstrap-port")


def is_worker_rank(pod: PodRun) -> bool:
    return pod.workload.is_lws and pod.rank != 0


def leader_engine(wl: Workload) -> ContainerRun | None:
    return wl.leader.engine if wl.leader else None


# ---------------------------------------------------------------------------------------------
# Services and the pods they select
# ---------------------------------------------------------------------------------------------


@dataclass
class Target:
    """What a host name reaches: a Service of the render, or an LWS's own headless Service/pod DNS."""

    name: str  # how to call it in messages
    namespace: str | None
    service: object | None  # K8sObject of a Service in the render, None for LWS-created ones
    selector: dict
    headless: bool
    pods: list[PodRun] = field(default_factory=list)  # the modelled pods it surely selects
    # True when more pods may match, depending on label values only the cluster knows (a
    # Deployment's pod-template-hash): "selects no pod" is then not known
    maybe_more: bool = False

    @property
    def workloads(self) -> list[Workload]:
        out = []
        for p in self.pods:
            if p.workload not in out:
                out.append(p.workload)
        return out

    @property
    def engine_workloads(self) -> list[Workload]:
        return [w for w in self.workloads if leader_engine(w) is not None]

    @property
    def worker_pods(self) -> list[PodRun]:
        return [p for p in self.pods if is_worker_rank(p)]

    def port_entry(self, port: int) -> dict | None:
        for entry in self.ports:
            if as_int(entry.get("port")) == port:
                return entry
        return None

    @property
    def ports(self) -> list[dict]:
        if self.service is None:
            return []
        ports = dig(self.service.doc, "spec", "ports", default=[])
        return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []

    @property
    def port_list(self) -> str:
        return ", ".join(str(p.get("port")) for p in self.ports) or "none"

    def target_port(self, port: int, pod: PodRun) -> tuple[int | None, str | None]:
        """(container port the dialled `port` lands on in `pod`, problem) — (None, None) if unknown.

        Headless Services without ports (and LWS-created ones) pass the port through unchanged."""
        if self.headless and (self.service is None or not self.ports):
            return port, None
        entry = self.port_entry(port)
        if entry is None:
            return None, f"exposes no port {port} (ports: {self.port_list})"
        target = entry.get("targetPort", entry.get("port"))
        if isinstance(target, int):
            return target, None
        if isinstance(target, str):
            if target.isdigit():  # '²' is a digit to isdigit() but not to int()
                return as_int(target), None
            if not known_at_render(target):
                return None, None
            for c in pod.containers:
                for cp in list_of(c.spec.get("ports")):
                    if isinstance(cp, dict) and cp.get("name") == target:
                        number = as_int(cp.get("containerPort"))
                        return (number, None) if number is not None else (None, None)
            return None, f"maps port {port} to targetPort {target!r}, a name no container of {pod.name} declares"
        return None, None


def services(model: Model):
    return [o for o in model.objects_of("Service") if o.name]


def pods_selected(model: Model, selector: dict, namespace: str | None) -> list[PodRun]:
    """The modelled pods a map selector surely selects (labels controllers add included)."""
    return [p for w in model.workloads if may_share_namespace(ns_of(w.obj), namespace)
            for p in w.pods if map_selector_matches(selector, p.labels)]


def pods_maybe_selected(model: Model, selector: dict, namespace: str | None) -> bool:
    """True when a selector may match pods through label values only known in the cluster."""
    return any(map_selector_match(selector, p.labels) is None for w in model.workloads
               if may_share_namespace(ns_of(w.obj), namespace) for p in w.pods)


def service_target(model: Model, svc) -> Target:
    selector = dig(svc.doc, "spec", "selector", default={}) or {}
    selector = selector if isinstance(selector, dict) else {}
    headless = dig(svc.doc, "spec", "clusterIP") == "None"
    return Target(svc.name, ns_of(svc), svc, selector, headless, pods_selected(model, selector, ns_of(svc)),
                  pods_maybe_selected(model, selector, ns_of(svc)))


def split_host(host: str, default_ns: str | None) -> tuple[list[str], str | None]:
    """DNS labels before `.<ns>[.svc[.cluster.local]]`, and the namespace the name is looked up in."""
    labels = host.lower().rstrip(".").split(".")
    if "svc" in labels:
        i = labels.index("svc")
        labels = labels[:i]
        if len(labels) >= 2:
            return labels[:-1], labels[-1]
        return labels, default_ns
    if len(labels) == 1:
        return labels, default_ns
    # name.ns (Kubernetes search path) or pod.subdomain.ns
    return labels[:-1], labels[-1]


def resolve_host(model: Model, host: str, client_ns: str | None) -> Target | None:
    """The Service (or LWS-created headless Service / pod) a host name reaches, None if not in the render."""
    if not known_at_render(host):
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.lower().rstrip(".").split(".")
    candidates = [split_host(host, client_ns)]
    if len(labels) == 2:  # also <pod>.<subdomain> in the client's namespace
        candidates.append((labels, client_ns))
    for names, ns in candidates:
        if len(names) == 1:
            name = names[0]
            for svc in services(model):
                if svc.name == name and may_share_namespace(ns_of(svc), ns):
                    return service_target(model, svc)
            lws = _lws_named(model, name, ns)
            if lws is not None:
                selector = {LWS_NAME_LABEL: lws.name}
                return Target(f"{lws.name} (headless Service created by LWS)", ns_of(lws.obj), None, selector, True,
                              pods_selected(model, selector, ns_of(lws.obj)))
        elif len(names) == 2:  # <pod>.<subdomain>: one LWS or StatefulSet pod through a headless Service
            pod_name, subdomain = names
            sts_pod = _statefulset_pod(model, pod_name, subdomain, ns)
            if sts_pod is not None:
                return Target(f"pod {pod_name} of StatefulSet {sts_pod.workload.name}", ns_of(sts_pod.workload.obj),
                              None, {STS_POD_NAME_LABEL: pod_name}, True, [sts_pod])
            pod = _pod_by_dns(model, pod_name, subdomain, ns)
            if pod is not None:
                return Target(f"pod {pod_name} of {pod.workload.name}", ns_of(pod.workload.obj), None, {}, True, [pod])
            lws = _lws_named(model, subdomain, ns)
            if lws is not None:
                m = re.fullmatch(re.escape(lws.name) + r"-(\d{1,18})(?:-(\d{1,18}))?", pod_name)
                if m:
                    rank = int(m.group(2) or 0)
                    pods = [p for p in lws.pods if p.rank == rank] or [p for p in lws.pods if p.rank == 0]
                    selector = {LWS_NAME_LABEL: lws.name, LWS_WORKER_LABEL: str(rank)}
                    return Target(f"pod {pod_name} of {lws.name}", ns_of(lws.obj), None, selector, True, pods[:1])
    return None


def _statefulset_pod(model: Model, pod_name: str, service: str, ns: str | None) -> PodRun | None:
    """The modelled pod `<sts>-<ordinal>` of a StatefulSet whose spec.serviceName is `service`
    (its pods' DNS names are <pod>.<serviceName>)."""
    for w in model.workloads:
        if (w.kind == "StatefulSet" and dig(w.obj.doc, "spec", "serviceName") == service
                and may_share_namespace(ns_of(w.obj), ns)):
            pod = next((p for p in w.pods if p.name == pod_name), None)
            if pod is not None:
                return pod
    return None


def _pod_by_dns(model: Model, pod_name: str, subdomain: str, ns: str | None) -> PodRun | None:
    """A modelled pod whose DNS name is `<pod_name>.<subdomain>` (hostname = pod name) when another
    controller than LWS/StatefulSet runs it (docs/adapters.md: pods_by), e.g. an RBG leader."""
    for w in model.workloads:
        pods_by = getattr(w.obj, "pods_by", None)
        if pods_by is None or not pods_by.own_pods or not may_share_namespace(ns_of(w.obj), ns):
            continue
        for p in w.pods:
            if p.name == pod_name and p.subdomain == subdomain:
                return p
    return None


def _lws_named(model: Model, name: str, ns: str | None) -> Workload | None:
    for w in model.workloads:
        if w.runs_on_lws and w.name == name and may_share_namespace(ns_of(w.obj), ns):
            return w
    return None


# ---------------------------------------------------------------------------------------------
# Routers
# ---------------------------------------------------------------------------------------------


@dataclass
class RouterUrl:
    role: str  # 'prefill' | 'decode'
    url: str
    host: str
    port: int
    arg_index: int  # argv index of the flag occurrence (for field paths)
    bootstrap: object = None  # prefill only: int, None (omitted/'none'), or 'unknown'
    target: Target | None = None

    def engine_workloads(self) -> list[Workload]:
        return self.target.engine_workloads if self.target else []


def is_pd(c: ContainerRun) -> bool:
    return c.bool_flag("--pd-disaggregation")


def uses_discovery(c: ContainerRun) -> bool:
    return c.bool_flag("--service-discovery")


def router_ns(wl: Workload) -> str | None:
    return ns_of(wl.obj)


def parse_url(url: str) -> tuple[str, int] | None:
    if not known_at_render(url):
        return None
    text = url if "://" in url else "http://" + url
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return parts.hostname, port


def static_urls(model: Model, wl: Workload, c: ContainerRun) -> list[RouterUrl]:
    """Every --prefill / --decode URL of a PD router with its resolved target (None: not in the render)."""
    out = []
    if c.parsed is None:
        return out
    for flag, role in (("--prefill", "prefill"), ("--decode", "decode")):
        for occ in c.parsed.occurrences(flag):
            if not occ.values:
                continue
            parsed = parse_url(occ.values[0])
            if parsed is None:
                continue
            host, port = parsed
            bootstrap = None
            if role == "prefill" and len(occ.values) > 1:
                token = occ.values[1]
                if token.lower() == "none":
                    bootstrap = None
                elif token.isdigit() and as_int(token) is not None:
                    bootstrap = as_int(token)
                else:
                    bootstrap = "unknown"
            ru = RouterUrl(role, occ.values[0], host, port, occ.index, bootstrap)
            ru.target = resolve_host(model, host, router_ns(wl))
            out.append(ru)
    return out


def url_path(c: ContainerRun, ru: RouterUrl, value: int = 0) -> tuple:
    return c.flag_path(ru.arg_index + 1 + value)


def parse_selector(value) -> dict | None:
    """The router's _parse_selector: `k=v` items, or one item 'k=v k2=v2'."""
    if value is None:
        return None
    if isinstance(value, dict):
        return dict(value)
    items = list(value) if isinstance(value, list) else [value]
    if len(items) == 1 and isinstance(items[0], str) and " " in items[0]:
        items = items[0].split(" ")
    out = {}
    for item in items:
        if isinstance(item, str) and "=" in item:
            k, v = item.split("=", 1)
            out[k] = v
    return out


def discovery_namespace(wl: Workload, c: ContainerRun) -> str | None:
    """The namespace discovery watches: the flag, else None (all namespaces)."""
    value = c.str_flag("--service-discovery-namespace")
    return value if isinstance(value, str) and value else None


def discovered_pods(model: Model, wl: Workload, c: ContainerRun, role: str) -> tuple[dict, list[PodRun]] | None:
    """(selector, pods it selects) for the prefill/decode selector of a discovery router.

    The router's PodInfo::from_pod tries the prefill selector first: a pod both match is prefill."""
    selector = parse_selector(c.flag(f"--{role}-selector").value)
    if not selector or not all(known_at_render(v) for v in selector.values()):
        return None
    if c.flag("--service-discovery-namespace").state == Flag.RUNTIME:
        return None
    ns = discovery_namespace(wl, c)
    pods = pods_selected(model, selector, ns)
    if role == "decode":
        other = parse_selector(c.flag("--prefill-selector").value) or {}
        pods = [p for p in pods if not map_selector_matches(other, p.labels)]
    return selector, pods


def router_engines(model: Model, wl: Workload, c: ContainerRun) -> dict[str, list[Workload]] | None:
    """{'prefill': [...], 'decode': [...]} engine workloads each side of a PD router reaches, by the
    side the router puts them on (static URL flag or discovery selector). None when not PD."""
    if not is_pd(c):
        return None
    sides: dict[str, list[Workload]] = {"prefill": [], "decode": []}
    if uses_discovery(c):
        for role in ("prefill", "decode"):
            found = discovered_pods(model, wl, c, role)
            for p in (found[1] if found else []):
                if p.workload.leader and p.workload.leader.engine and p.workload not in sides[role]:
                    sides[role].append(p.workload)
        return sides
    for ru in static_urls(model, wl, c):
        for w in ru.engine_workloads():
            if w not in sides[ru.role]:
                sides[ru.role].append(w)
    return sides


def multi_replica_urls(model: Model, role: str):
    """(router workload, container, RouterUrl, engine workload) for static URLs whose Service spreads
    over the leaders of several replicas (LWS groups or Deployment replicas) of one engine."""
    from ..model import LWS_GROUP_LABEL

    for wl, c in model.routers:
        if not is_pd(c) or uses_discovery(c):
            continue
        for ru in static_urls(model, wl, c):
            t = ru.target
            if ru.role != role or t is None or len(t.engine_workloads) != 1:
                continue
            engine = t.engine_workloads[0]
            if engine.replicas > 1 and LWS_GROUP_LABEL not in t.selector and not t.name.startswith("pod "):
                yield wl, c, ru, engine


# ---------------------------------------------------------------------------------------------
# Start-up: how long the router keeps trying a static worker, and the probe that restarts it
# ---------------------------------------------------------------------------------------------
# Twice the kubelet's 300 s restart back-off cap: a container that ran longer than this since its
# last restart is restarted at once and its back-off starts again from 10 s (kuberuntime doBackOff,
# client-go flowcontrol.Backoff).
BACKOFF_RESET_S = 600
ENGINE_DEPENDENT_PATHS = ("/readiness", "/health_generate")  # fail while no engine is registered


def registration_window(timeout_secs: int) -> int:
    """Seconds sglang-router 0.2.x/0.3.x retries a worker before dropping it for good: the retry
    delays of the detect_connection_mode step (attempts from 0.9 x --worker-startup-timeout-secs,
    linear back-off 1 s up to 5 s; measured in tests/test_router_recovery.py)."""
    effective = timeout_secs * 0.9
    attempts = 3 if effective <= 10 else max(5 + math.ceil((effective - 10) / 5), 3)
    return sum(min(i, 5) for i in range(1, attempts))


def probe_path(probe) -> str | None:
    get = probe.get("httpGet") if isinstance(probe, dict) else None
    return str(get.get("path") or "/").split("?", 1)[0] if isinstance(get, dict) else None


def restarting_startup_probe(c: ContainerRun) -> dict | None:
    """The router's startupProbe when it fails until engines are registered (so the kubelet restarts
    a router that dropped them), else None."""
    probe = c.spec.get("startupProbe")
    return probe if probe_path(probe) in ENGINE_DEPENDENT_PATHS else None
