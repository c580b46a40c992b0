from ...findings import Severity
from ..base import Rule
from ._helpers import device_list_problems


def check(model, ctx):
    return device_list_problems(model, "warning")


RULE = Rule(
    id="rdma-device-sets-differ",
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
