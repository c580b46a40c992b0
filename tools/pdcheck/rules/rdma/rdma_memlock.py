from ...findings import Severity
from .._k8s import privileged
from .._util import describe_pod, engine_containers
from ..base import Problem, Rule
from ._helpers import capabilities, rdma_uses


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        uses = rdma_uses(c)
        if not uses or privileged(c) or "IPC_LOCK" in capabilities(c):
            continue
        yield Problem(wl.obj, c.path + ("securityContext",) if c.spec.get("securityContext") else c.path,
                      f"{describe_pod(pod)} registers RDMA memory ({', '.join(uses)}) but container {c.name} has neither the IPC_LOCK capability nor privileged: true",
                      "add securityContext.capabilities.add: [IPC_LOCK]")


RULE = Rule(
    id="rdma-memlock",
    severity=Severity.WARNING,
    summary="An engine that uses RDMA lacks IPC_LOCK",
    doc="""RDMA memory registration (`ibv_reg_mr`) pins pages and is limited by RLIMIT_MEMLOCK
unless the process has CAP_IPC_LOCK. Mooncake registers the whole KV cache and NVSHMEM its symmetric
heap, tens of GiB: with the container's memlock limit this fails ("Failed to register memory",
"cannot allocate memory") unless the runtime sets memlock to unlimited, which depends on the node.
A warning, because some runtimes do raise the limit.""",
    links=(
        "https://github.com/kvcache-ai/Mooncake/blob/main/doc/en/transfer-engine.md",
        "https://man7.org/linux/man-pages/man2/mlock.2.html",
    ),
    check=check,
)
