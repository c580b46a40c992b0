from ...findings import Severity
from .. import _links as L
from .._k8s import mounted_source
from .._ranks import describe_rank, rank_groups
from .._util import flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for group in rank_groups(model):
        wl, leader = group.workload, group.leader
        path = leader.engine.str_flag("--model-path")
        lead_source = mounted_source(leader, leader.engine, path)
        if lead_source is None:
            continue  # a hub id, or a path only known at run time
        seen = set()
        for pod in group.others:
            c = pod.engine
            if pod.template_path in seen or c.str_flag("--model-path") != path:
                continue  # a different --model-path is rank-flag-drift's
            source = mounted_source(pod, c, path)
            if source is None or source == lead_source:
                continue
            seen.add(pod.template_path)
            same_name = source.leaf == lead_source.leaf
            yield Problem(wl.obj, flag_path(c, "--model-path"),
                          f"{describe_rank(pod)} reads --model-path {path} from {source.text}, the leader from "
                          f"{lead_source.text}" + (" (same directory name: make sure both hold the same checkpoint)" if same_name
                                                   else ": the ranks may load different checkpoints"),
                          "mount the same volume at the model path on every rank (one pod template, or the same volumes and "
                          "volumeMounts in leaderTemplate and workerTemplate)")


RULE = Rule(
    id="rank-model-source-drift",
    severity=Severity.WARNING,
    summary="Ranks of one multi-node engine read the model path from different volumes",
    doc="""Each node of a multi-node SGLang engine loads its own shard of the weights from
`--model-path` and builds the model config from the files there; every rank must read the same
checkpoint, or the shards do not fit together (shape errors at load, or a model that silently
mixes two checkpoints). The same `--model-path` string does not guarantee it: pdcheck follows the
path through the container's `volumeMounts` (the deepest mount, with `subPath`) to the volume
(hostPath path, PVC claim, image volume, NFS export, ...) and compares what the leader and each
worker read. Different host paths or claims can hold copies of one checkpoint, hence a warning;
the message says when even the directory names differ. A different `--model-path` string is
`rank-flag-drift`.""",
    links=(L.SG + "model_loader/loader.py", "https://kubernetes.io/docs/concepts/storage/volumes/#using-subpath"),
    check=check,
)
