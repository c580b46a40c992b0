from ...findings import Severity
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule
from ._helpers import device_lists, env_known, uses_deepep

FABRIC_ANNOTATION = "pdcheck.io/fabric"


def _fabric(wl, pod) -> str | None:
    for source in (pod.annotations, wl.obj.annotations):
        if isinstance(source, dict) and source.get(FABRIC_ANNOTATION):
            return str(source[FABRIC_ANNOTATION]).lower()
    return None


def roce_evidence(wl, pod, c) -> str | None:
    fabric = _fabric(wl, pod)
    if fabric is not None:
        return f"annotation {FABRIC_ANNOTATION}: {fabric}" if fabric == "roce" else None
    for lst in device_lists(c):
        named = [n for n in lst.names if "bond" in n or "roce" in n]
        if named and not lst.exclude:
            return f"device {named[0]} ({lst.label.split('=')[0].split(' ')[0]})"
    for name in ("NVSHMEM_IB_TRAFFIC_CLASS", "NCCL_IB_TC"):
        if env_known(c, name):
            return f"{name} is set"
    return None


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if not uses_deepep(c) or "NVSHMEM_IB_GID_INDEX" in c.env:
            continue
        evidence = roce_evidence(wl, pod, c)
        if evidence is None:
            continue
        yield Problem(wl.obj, flag_path(c, "--moe-a2a-backend"),
                      f"{describe_pod(pod)} runs DeepEP (NVSHMEM) on what looks like RoCE ({evidence}) without NVSHMEM_IB_GID_INDEX, so NVSHMEM uses GID index 0 (usually the link-local RoCE v1 GID)",
                      "set NVSHMEM_IB_GID_INDEX to the RoCE v2 GID index of the rails (often 3; check `show_gids`), from the same value as NCCL_IB_GID_INDEX / MC_GID_INDEX")


RULE = Rule(
    id="roce-gid-index-missing",
    severity=Severity.WARNING,
    summary="DeepEP on RoCE without NVSHMEM_IB_GID_INDEX",
    doc="""On RoCE every queue pair needs a routable source GID. NVSHMEM (used by DeepEP) does not
pick one: `NVSHMEM_IB_GID_INDEX` defaults to 0, on most RoCE NICs the link-local RoCE v1 GID, and
DeepEP dispatch then times out or NVSHMEM fails to connect (DeepEP RoCE reports; NVSHMEM env_defs:
`IB_GID_INDEX, int, 0`). NCCL (`NCCL_IB_GID_INDEX` defaults to -1: automatic since 2.21) and newer
Mooncake (`MC_GID_INDEX`, falling back to `NCCL_IB_GID_INDEX`, else auto-selected) find one
themselves, so only NVSHMEM is required here. RoCE is recognised from the `pdcheck.io/fabric: roce`
annotation, bond/roce device names, or NCCL_IB_TC / NVSHMEM_IB_TRAFFIC_CLASS.""",
    links=(
        "https://docs.nvidia.com/nvshmem/api/gen/env.html",
        "https://raw.githubusercontent.com/NVIDIA/nccl/v2.31.2-1/src/transport/net_ib/connect.cc",
        "https://github.com/kvcache-ai/Mooncake/blob/main/mooncake-transfer-engine/src/config.cpp",
        "https://github.com/deepseek-ai/DeepEP/issues/38",
    ),
    check=check,
)
