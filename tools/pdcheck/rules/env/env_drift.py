from ...findings import Severity
from ...model import LWS_INJECTED
from .._ranks import rank_groups
from ..base import Problem, Rule

# Env a controller injects per rank (LWS_*, RBG_* of a RoleBasedGroup): differs by design.
CONTROLLER_SOURCES = ("lws", "rbg")


def _key(var):
    """What makes two definitions the same, ignoring what LWS makes differ per rank."""
    if var.source.startswith("fieldRef:"):
        return var.source  # same fieldPath: same meaning on every rank (pod name, labels)
    if var.source == "env" and var.raw is not None and "$(" in var.raw:
        return ("raw", var.raw)  # e.g. $(LWS_WORKER_INDEX): differs per rank by design
    return var.value if var.value is not None else var.source


def _show(var) -> str:
    return repr(var.raw if var.source == "env" and var.raw is not None and "$(" in var.raw else var.display)


def check(model, ctx):
    for group in rank_groups(model):
        if not group.split_templates:
            continue  # one template: ranks differ only in what LWS / the controller injects
        wl, leader = group.workload, group.leader
        worker = next(p for p in group.others if p.template_path != leader.template_path)
        le, we = leader.engine, worker.engine
        if le.opaque_env or we.opaque_env:
            continue  # keys of a Secret / missing ConfigMap are unknown: stay silent
        lnames = {n for n, v in le.env.items() if n not in LWS_INJECTED and v.source not in CONTROLLER_SOURCES}
        wnames = {n for n, v in we.env.items() if n not in LWS_INJECTED and v.source not in CONTROLLER_SOURCES}
        only_leader = sorted(lnames - wnames)
        only_workers = sorted(wnames - lnames)
        differ = sorted(n for n in lnames & wnames if _key(le.env[n]) != _key(we.env[n]))
        if not (only_leader or only_workers or differ):
            continue
        parts = []
        if only_leader:
            parts.append("only on the leader: " + ", ".join(only_leader))
        if only_workers:
            parts.append("only on the workers: " + ", ".join(only_workers))
        if differ:
            parts.append("different values: " + ", ".join(
                f"{n} (leader {_show(le.env[n])}, workers {_show(we.env[n])})" for n in differ))
        yield Problem(wl.obj, le.path + ("env",),
                      f"the engine containers of {wl.name} get different environments on leader and workers ({'; '.join(parts)})",
                      "define the engine env once (a shared ConfigMap via envFrom, or the same env list in both templates) so every rank runs with the same settings")


RULE = Rule(
    id="env-drift",
    severity=Severity.WARNING,
    summary="Leader and worker engine containers of one LWS get different env",
    doc="""The ranks of one SGLang engine are a single tensor/expert-parallel program split over pods:
NCCL, NVSHMEM/DeepEP, Mooncake and SGLang settings must agree on every rank, or collectives pick
different algorithms/transports, kernels are tuned differently per node, or one node simply runs
without a setting. With a separate `leaderTemplate` the env list is written twice and drifts: the
reference deployment sets `MC_TE_METRIC=false` on the leader and `true` on the workers, and the
`SGLANG_HACK_DEEPEP_*` and `SGLANG_MOONCAKE_TRANS_THREAD` variables only on the workers. Variables
LWS injects (`LWS_LEADER_ADDRESS`, `LWS_GROUP_SIZE`, `LWS_WORKER_INDEX`) and values built from them
with `$(VAR)` or `fieldRef` are compared as written, since they differ per rank by design. Skipped when
an env source cannot be read (a Secret or a ConfigMap outside the render).""",
    links=(
        "https://github.com/kubernetes-sigs/lws/blob/v0.7.0/pkg/utils/pod/pod_utils.go",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/docs/references/multi_node_deployment/lws_pd/lws_pd_deploy.md",
    ),
    check=check,
)
