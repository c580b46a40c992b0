"""The ranks of one multi-node engine group, shared by the rules that compare them (env, flags,
model source, RDMA devices, node ranks).

A group is the pods that together run one SGLang engine: the ranks of an LWS group (leader first;
group 0 is modelled, the other groups are copies), or the pods of a StatefulSet whose engine spans
several nodes (`--nnodes` > 1; ordinal order). Pods whose engine says `--nnodes 1` each run their
own engine: they are independent replicas, not a group.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Flag, Model, PodRun, Workload


@dataclass
class RankGroup:
    workload: Workload
    pods: list[PodRun]  # the modelled ranks, rank 0 first

    @property
    def leader(self) -> PodRun:
        return self.pods[0]

    @property
    def others(self) -> list[PodRun]:
        return self.pods[1:]

    @property
    def split_templates(self) -> bool:
        """True when the leader has its own pod template (LWS leaderTemplate)."""
        return len({p.template_path for p in self.pods}) > 1


def rank_groups(model: Model) -> list[RankGroup]:
    """Every multi-rank engine group of the render whose ranks all run an SGLang engine."""
    groups = []
    for wl in model.workloads:
        if len(wl.pods) < 2 or any(p.engine is None for p in wl.pods):
            continue
        nnodes = wl.pods[0].engine.layout.nnodes
        if wl.is_lws and wl.size >= 2 and nnodes != 1:  # nnodes 1: each pod its own engine
            groups.append(RankGroup(wl, list(wl.pods)))
        elif wl.kind == "StatefulSet" and isinstance(nnodes, int) and nnodes > 1:
            groups.append(RankGroup(wl, list(wl.pods)))
    return groups


def describe_rank(pod: PodRun) -> str:
    """'the leader of x' / 'worker 2 of x' / 'pod x-1 of StatefulSet x', for messages naming one rank."""
    wl = pod.workload
    if wl.is_lws:
        return f"the leader of {wl.name}" if pod.rank == 0 else f"worker {pod.rank} of {wl.name}"
    return f"pod {pod.name} of {wl.kind} {wl.name}"


def rank_fix(wl: Workload) -> str:
    """How to give each rank of this kind of workload its own --node-rank."""
    if wl.is_lws:
        return f"--node-rank $({wl.group_env['worker_index']}) (injected with each pod's worker index)"
    return ("--node-rank from the pod's index (an env var with fieldRef metadata.labels['apps.kubernetes.io/pod-index'], "
            "Kubernetes >= 1.28, or the ordinal at the end of the pod name)")


def node_rank(pod: PodRun) -> int | None:
    """The --node-rank the pod's engine runs with (SGLang's default 0 when not written); None when
    only known at run time or not an int."""
    c = pod.engine
    flag = c.flag("--node-rank") if c is not None else None
    if flag is None or flag.state in (Flag.RUNTIME, Flag.NO_OPTION):
        return None
    return flag.value if isinstance(flag.value, int) and not isinstance(flag.value, bool) else None
