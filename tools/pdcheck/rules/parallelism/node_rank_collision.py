from ...findings import Severity
from .. import _links as L
from .._ranks import describe_rank, node_rank, rank_fix, rank_groups
from .._util import flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for group in rank_groups(model):
        wl = group.workload
        nnodes = group.leader.engine.layout.nnodes
        if not isinstance(nnodes, int) or nnodes < 2:
            continue
        owner: dict[int, object] = {}
        for pod in group.pods:
            rank = node_rank(pod)
            if rank is None:
                continue  # only known at run time
            first = owner.setdefault(rank, pod)
            if first is pod:
                continue
            c = pod.engine
            written = c.flag("--node-rank").written
            how = f"--node-rank {rank}" if written else f"no --node-rank (SGLang's default {rank})"
            yield Problem(wl.obj, flag_path(c, "--node-rank"),
                          f"{describe_rank(pod)} runs with {how}, the same node rank as {describe_rank(first)}: "
                          f"two nodes claim rank {rank}, so torch.distributed init fails or hangs",
                          f"give every rank its own node rank: {rank_fix(wl)}")
            break  # one finding per group


RULE = Rule(
    id="node-rank-collision",
    severity=Severity.ERROR,
    summary="Two ranks of one multi-node engine resolve to the same --node-rank",
    doc="""Every node of a multi-node SGLang engine needs its own `--node-rank` in 0..nnodes-1: it
selects the TP/PP ranks and GPUs the node runs (`entrypoints/engine.py` `_launch_subprocesses`,
`tp_rank_range` from `node_rank`) and node 0 alone serves the API and hosts the torch.distributed
store. Two pods with the same node rank register the same global ranks, so init fails or hangs and
some rank never joins. The usual causes: a literal `--node-rank 0` (or 1) in the worker template of
an LWS, whose workers then all claim it and collide with the leader, and a StatefulSet whose pods
omit `--node-rank` (SGLang's default is 0 on every pod). Values only known when the pod runs
(`$(LWS_WORKER_INDEX)`, a fieldRef, a shell computation) are not judged.""",
    links=(L.SG + "entrypoints/engine.py", L.SERVER_ARGS),
    check=check,
)
