from ...findings import Severity
from .._util import describe_pod, engine_containers, flag_path, gpu_count
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        gpus = gpu_count(c)
        tp, pp, nnodes = c.layout.tp, c.layout.pp, c.layout.nnodes
        if not all(isinstance(v, int) and v > 0 for v in (tp, pp, nnodes)) or gpus is None or gpus <= 0:
            continue
        if (tp * pp) % nnodes:
            continue  # tp-nnodes-indivisible reports it
        if tp * pp != nnodes * gpus:
            pp_text = f" x pp {pp}" if pp != 1 else ""
            yield Problem(wl.obj, flag_path(c, "--tp-size"),
                          f"{describe_pod(pod)}: tp {tp}{pp_text} = {tp * pp} GPUs, but nnodes {nnodes} x {gpus} GPUs per pod = {nnodes * gpus}",
                          f"make --tp-size x --pp-size equal --nnodes x the nvidia.com/gpu limit (e.g. --tp-size {nnodes * gpus // pp if (nnodes * gpus) % pp == 0 else nnodes * gpus})")


RULE = Rule(
    id="tp-gpu-mismatch",
    severity=Severity.ERROR,
    summary="tp x pp differs from nnodes x GPUs per pod",
    doc="""SGLang places `tp_size * pp_size / nnodes` ranks on every node and binds each to a local
GPU (`gpu_id = tp_rank % (tp_size * pp_size // nnodes)` plus `--base-gpu-id`). With more ranks than
the pod's GPUs, ranks fail with an invalid device ordinal or stack on the same GPU and run out of
memory; with fewer, GPUs you pay for sit idle. `nnodes` must also be the LWS group size (see
`lws-size-nnodes`).""",
    links=(
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/entrypoints/engine.py",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/server_args.py",
    ),
    check=check,
)
