from ...findings import Severity
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if not wl.is_lws:
            continue
        nnodes = c.int_flag("--nnodes")
        if nnodes is None or nnodes == wl.size:
            continue
        yield Problem(wl.obj, flag_path(c, "--nnodes"),
                      f"{describe_pod(pod)}: --nnodes is {nnodes} but the LeaderWorkerSet group has size {wl.size}, so "
                      + ("ranks wait at torch.distributed init for nodes that never come" if nnodes > wl.size
                         else "the extra pods start ranks SGLang does not expect"),
                      f"pass --nnodes $({wl.group_env['group_size']}) (injected with the group size) or make the group size --nnodes")


RULE = Rule(
    id="lws-size-nnodes",
    severity=Severity.ERROR,
    summary="--nnodes differs from the LeaderWorkerSet group size",
    doc="""An LWS group runs `leaderWorkerTemplate.size` pods, one SGLang node each; SGLang's
torch.distributed world is `tp x pp` ranks over `--nnodes` nodes, rendezvousing at
`--dist-init-addr`. With `--nnodes` above the group size the group hangs at NCCL/torch init until
the timeout (no pod ever claims the missing node ranks); below it, pods with `--node-rank >= nnodes`
fail. LWS injects `LWS_GROUP_SIZE` into every container, so `--nnodes $(LWS_GROUP_SIZE)` can never
drift; a literal is checked here.""",
    links=(
        "https://github.com/kubernetes-sigs/lws/blob/v0.6.1/pkg/utils/pod/pod_utils.go",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/server_args.py",
    ),
    check=check,
)
