from ...findings import Severity
from .._ranks import describe_rank, rank_groups
from ..base import Problem, Rule
from ._helpers import device_lists


def _by_library(c) -> dict:
    """{'NCCL_IB_HCA': DeviceList, '--disaggregation-ib-device': ...} for one engine container."""
    return {d.label.split("=")[0].split(" ")[0]: d for d in device_lists(c)}


def _same(a, b) -> bool:
    return (a.exclude, a.exact, sorted(a.names)) == (b.exclude, b.exact, sorted(b.names))


def check(model, ctx):
    for group in rank_groups(model):
        wl = group.workload
        lead = _by_library(group.leader.engine)
        seen = set()
        for pod in group.others:
            if pod.template_path in seen:
                continue
            mine = _by_library(pod.engine)
            differ = [(name, lead[name], mine[name]) for name in lead if name in mine and not _same(lead[name], mine[name])]
            missing = [name for name in lead if name not in mine] + [name for name in mine if name not in lead]
            if not differ and not missing:
                continue
            seen.add(pod.template_path)
            parts = [f"{b.label} (leader: {a.label})" for _name, a, b in differ]
            parts += [f"{name} set on {'the leader' if name in lead else 'the worker'} only" for name in missing]
            where = differ[0][2].path if differ else (mine[missing[0]].path if missing[0] in mine else pod.engine.path)
            yield Problem(wl.obj, where,
                          f"{describe_rank(pod)} uses other RDMA devices than the leader: {'; '.join(parts)}",
                          "name the same devices on every rank (one pod template, or one ConfigMap key both templates read); "
                          "if the nodes differ in hardware, keep leader and workers on one node type instead")


RULE = Rule(
    id="rdma-devices-rank-drift",
    severity=Severity.WARNING,
    summary="Ranks of one multi-node engine name different RDMA devices",
    doc="""NCCL (`NCCL_IB_HCA`), NVSHMEM/DeepEP (`NVSHMEM_HCA_LIST`) and Mooncake
(`--disaggregation-ib-device`) build their connections between the ranks of one engine from the
device lists each rank is given. A group whose leader and workers name different NICs (usually a
separate `leaderTemplate` edited on one side) either runs its collectives and KV transfers over
other rails than planned, or, when a named device does not exist on that node, fails at init (NIC
problems of this kind: sglang#8324, Mooncake#549). Nodes of different hardware may need different
names, hence a warning.""",
    links=(
        "https://docs.nvidia.com/deeplearning/nccl/user-guide/docs/env.html#nccl-ib-hca",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/disaggregation/mooncake/transfer_engine.py",
        "https://github.com/sgl-project/sglang/issues/8324",
    ),
    check=check,
)
