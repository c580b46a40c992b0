from ...findings import Severity
from ..base import Rule
from ._helpers import device_list_problems


def check(model, ctx):
    return device_list_problems(model, "error")


RULE = Rule(
    id="rdma-device-excluded",
    severity=Severity.ERROR,
    summary="An RDMA device used by one library is excluded by, or unknown to, another",
    doc="""Mooncake (KV transfer, `--disaggregation-ib-device`), NCCL (`NCCL_IB_HCA`) and NVSHMEM
(DeepEP, `NVSHMEM_HCA_LIST`/`NVSHMEM_HCA_PE_MAPPING` with `NVSHMEM_ENABLE_NIC_PE_MAPPING=1`) pick
their NICs independently. When one list excludes a device another uses (`NCCL_IB_HCA=^=...`
copied from another node type), or two lists share no device at all, one of them names NICs that are
not the fabric rails of this node: traffic goes over the wrong NIC or none (Mooncake "No available
RNIC", NCCL falling back to sockets, NVSHMEM init failure; sglang#8324, Mooncake#549). NCCL matches
names as prefixes unless the list starts with `=` (after an optional `^`).""",
    links=(
        "https://docs.nvidia.com/deeplearning/nccl/user-guide/docs/env.html#nccl-ib-hca",
        "https://docs.nvidia.com/nvshmem/api/gen/env.html",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/disaggregation/mooncake/transfer_engine.py",
        "https://github.com/sgl-project/sglang/issues/8324",
        "https://github.com/kvcache-ai/Mooncake/issues/549",
    ),
    check=check,
)
