from ...findings import Severity
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        resources = c.spec.get("resources") if isinstance(c.spec.get("resources"), dict) else {}
        requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
        limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
        # a limit with no request is also the request (the API server copies it)
        missing = [r for r in ("cpu", "memory") if r not in requests and r not in limits]
        if missing:
            yield Problem(wl.obj, c.path + ("resources",),
                          f"router container {c.name} of {wl.kind} {wl.name} requests no {' or '.join(missing)}",
                          "set resources.requests cpu and memory (e.g. 2 CPU, 2Gi) and a memory limit")


RULE = Rule(
    id="router-resources-missing",
    severity=Severity.WARNING,
    summary="Router without cpu/memory requests",
    doc="""Without requests the router is scheduled as if it needed nothing and, with no requests or
limits at all, lands in the BestEffort QoS class: the first pod the kubelet evicts under node memory
pressure, and one that gets no CPU share when the node is busy (tokenisation, JSON re-serialisation
and streaming all run on the router's CPUs). On the GPU nodes, where the reference runs it, the
engines' memory use makes that pressure likely. Requests give it a guaranteed share and a
Burstable or Guaranteed class. A resource with a limit and no request is not reported: the API
server sets the request to the limit.""",
    links=(
        "https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/",
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#requests-and-limits",
    ),
    check=check,
)
