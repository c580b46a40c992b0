from ...findings import Severity
from .._util import describe_pod, engine_containers
from ..base import Problem, Rule
from ._helpers import compare_lists, device_lists

SEVERITY = "warning"


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        grouped = {}
        for level, a, b, text in compare_lists(device_lists(c)):
            if level == SEVERITY:
                grouped.setdefault(id(b), (b, []))[1].append(text)
        for b, texts in grouped.values():
            yield Problem(wl.obj, b.path, f"{describe_pod(pod)}: {'; '.join(texts)}",
                          "name the same RDMA devices in --disaggregation-ib-device, NCCL_IB_HCA and NVSHMEM_HCA_LIST (derive them from one value, e.g. a ConfigMap key)")


RULE = Rule(
    id="rdma-device-sets-differ",
    category="rdma",
    severity=Severity.WARNING,
    summary="NCCL, NVSHMEM and Mooncake are given different RDMA device sets",
    doc="""Mooncake (`--disaggregation-ib-device`), NCCL (`NCCL_IB_HCA`) and NVSHMEM
(`NVSHMEM_HCA_LIST`/`NVSHMEM_HCA_PE_MAPPING`) choose their NICs independently. Lists that overlap
but differ usually mean one was edited and the others were not: some rails carry two libraries'
traffic while others idle, and the GPU-NIC affinity each library assumes no longer holds (NIC
affinity problems: sglang#8324, Mooncake#549). Deliberate splits exist, hence a warning.""",
    links=(
        "https://docs.nvidia.com/deeplearning/nccl/user-guide/docs/env.html#nccl-ib-hca",
        "https://docs.nvidia.com/nvshmem/api/gen/env.html",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/disaggregation/mooncake/transfer_engine.py",
        "https://github.com/sgl-project/sglang/issues/8324",
        "https://github.com/kvcache-ai/Mooncake/issues/549",
    ),
    check=check,
)
