"""Shared by the pod rules: serving ports, probe targets and budgets, the start-up threshold."""

from __future__ import annotations

from ...model import DYNAMO_WORKER, ContainerRun, PodRun, Workload, as_int
from .._k8s import PROBE_DEFAULTS, probe_budget
from .._router import bootstrap_port, engine_port
from .._util import list_of

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
HEALTH_PATHS = ("/health", "/health_generate")
BUDGET_ANNOTATION = "pdcheck.io/startup-budget-seconds"
# Default start-up budgets (seconds). kserve#5063 settled on 600 s (startupProbe 60 x 10 s) for its
# single-node vLLM templates; a multi-node engine also waits for every rank to join NCCL/DeepEP,
# loads a model too big for one node (DeepSeek-R1 FP8: ~690 GB) and captures CUDA graphs and JIT
# kernels on every rank, so it gets three times that.
DEFAULT_BUDGET_SINGLE = 600
DEFAULT_BUDGET_MULTI = 1800
def serving_port(c: ContainerRun) -> int | None:
    """The HTTP port SGLang serves (/health, the API; a dummy /health server on ranks >= 1). None in
    gRPC mode and for Dynamo's worker, which runs SGLang's engine in-process and no SGLang HTTP
    server (its probes go to Dynamo's own system server, whose /health is not SGLang's)."""
    if c.parsed is None or c.launcher == DYNAMO_WORKER or _grpc_mode(c):
        return None
    return engine_port(c)


def _grpc_mode(c: ContainerRun) -> bool:
    """`--grpc-mode` (0.5.6.post2), `--smg-grpc-mode` or the deprecated `--grpc-mode` folded into it
    (0.5.23): sglang/launch_server.py `run_server` starts the gRPC server instead of the HTTP one, so
    there is no HTTP /health on --port."""
    return any(c.flag(option).value is True for option in ("--grpc-mode", "--smg-grpc-mode"))


def served_ports(pod: PodRun, c: ContainerRun) -> set[int] | None:
    """Every port the engine listens on that a probe may target, or None when not known."""
    port = serving_port(c)
    if port is None:
        return None
    ports = {port}
    if pod.is_leader and c.layout.role == "prefill":
        bootstrap = bootstrap_port(c)
        if bootstrap is None:
            return None
        ports.add(bootstrap)  # the bootstrap server runs on node 0 of a prefill engine
    return ports


def probe_handler(probe: dict) -> tuple[str | None, dict]:
    for kind in ("httpGet", "tcpSocket", "grpc", "exec"):
        if isinstance(probe.get(kind), dict):
            return kind, probe[kind]
    return None, {}


def probe_port(c: ContainerRun, probe: dict) -> tuple[int | None, str | None]:
    """(port number, problem) of an httpGet/tcpSocket/grpc probe; (None, None) when not resolvable here."""
    kind, handler = probe_handler(probe)
    if kind not in ("httpGet", "tcpSocket", "grpc"):
        return None, None
    port = handler.get("port")
    if isinstance(port, bool):
        return None, None
    if isinstance(port, int):
        return port, None
    if isinstance(port, str):
        if port.isdigit():  # '²' is a digit to isdigit() but not to int()
            return as_int(port), None
        for p in list_of(c.spec.get("ports")):
            if isinstance(p, dict) and p.get("name") == port:
                number = as_int(p.get("containerPort"))
                return number, None
        return None, f"names port {port!r}, which container {c.name!r} does not declare in ports"
    return None, None


def budget_text(probe: dict) -> str:
    d = {k: probe.get(k, v) for k, v in PROBE_DEFAULTS.items()}
    return f"{d['initialDelaySeconds']} + {d['periodSeconds']} x {d['failureThreshold']} = {probe_budget(probe)} s"


def multi_node(wl: Workload, c: ContainerRun) -> bool:
    nnodes = c.layout.nnodes
    return wl.size > 1 or (isinstance(nnodes, int) and nnodes > 1)


def startup_threshold(wl: Workload, pod: PodRun, c: ContainerRun) -> tuple[int | None, str]:
    """(seconds, where it comes from). None when the annotation is present but unreadable."""
    for source, where in ((pod.annotations, "pod template"), (wl.obj.annotations, wl.kind)):
        if BUDGET_ANNOTATION in source:
            value = as_int(source[BUDGET_ANNOTATION])
            return (value if value is not None and value > 0 else None), f"{BUDGET_ANNOTATION} on the {where}"
    if multi_node(wl, c):
        return DEFAULT_BUDGET_MULTI, "the default for multi-node engines"
    return DEFAULT_BUDGET_SINGLE, "the default for single-node engines"


def probes(c: ContainerRun):
    for kind in PROBES:
        probe = c.spec.get(kind)
        if isinstance(probe, dict):
            yield kind, probe
