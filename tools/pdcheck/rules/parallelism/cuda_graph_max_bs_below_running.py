from ...findings import Severity
from ...sglang import SRC_0523, SRC_056, a2a_backend
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


def _graph_max_bs(c):
    """(flag, largest captured decode batch) or (None, None) when unknown or graphs are off."""
    if c.flag("--cuda-graph-max-bs-decode").exists:  # 0.5.23+: per-phase flags
        if c.bool_flag("--disable-cuda-graph") or c.bool_flag("--disable-decode-cuda-graph"):
            return None, None
        if c.str_flag("--cuda-graph-backend-decode") == "disabled" or c.flag("--cuda-graph-bs-decode").written \
                or c.flag("--cuda-graph-config").written:
            return None, None
        flag = "--cuda-graph-max-bs-decode"
    else:
        if c.bool_flag("--disable-cuda-graph") or c.flag("--cuda-graph-bs").written:
            return None, None
        backend, _ = a2a_backend(c)
        if backend == "deepep" and c.str_flag("--deepep-mode") == "normal":
            return None, None  # 0.5.6: deepep normal mode disables CUDA graphs
        flag = "--cuda-graph-max-bs"
    if not c.flag(flag).written:
        return None, None  # the default depends on the GPU
    return flag, c.int_flag(flag)


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if c.layout.role != "decode":
            continue
        flag, max_bs = _graph_max_bs(c)
        mrr = c.int_flag("--max-running-requests")
        lay = c.layout
        if max_bs is None or mrr is None or lay.attn_dp is None or max_bs <= 0:
            continue
        if lay.dp and lay.dp > 1 and lay.nnodes and lay.nnodes > 1:
            continue  # does not start at all: multinode-dp-without-dp-attention
        per_rank = mrr // lay.attn_dp
        if per_rank <= max_bs:
            continue
        split = f" // {lay.attn_dp} attention-DP groups" if lay.dp_attention else ""
        yield Problem(wl.obj, flag_path(c, flag),
                      f"{describe_pod(pod)}: {flag} {max_bs} is below the {per_rank} running requests a decode rank may batch (--max-running-requests {mrr}{split}), so batches above {max_bs} run without CUDA graphs at much lower decode throughput",
                      f"raise {flag} to {per_rank} (memory allowing) or lower --max-running-requests to {max_bs * max(lay.attn_dp, 1)}")


RULE = Rule(
    id="cuda-graph-max-bs-below-running",
    severity=Severity.WARNING,
    summary="Decode CUDA-graph batch limit below the per-rank running requests",
    doc="""Decode steps replay captured CUDA graphs only for batches up to the largest captured
size: `CudaGraphRunner.can_run` falls back to eager execution when the batch (under DP attention,
the largest batch over all DP ranks) exceeds `cuda_graph_max_bs`. A decode rank batches up to
`max_running_requests // dp` requests (`managers/tp_worker.py`), so a lower graph limit makes the
busiest periods the slowest: kernel-launch overhead returns exactly when load is highest. The
reference decode runs `--max-running-requests 2048` over 16 DP ranks = 128 per rank with
`--cuda-graph-max-bs 64`. 0.5.23 splits the flag into `--cuda-graph-max-bs-decode` /
`-prefill` (plain `--cuda-graph-max-bs` is an ambiguous prefix there, see `flag-ambiguous`); the
rule reads the decode flag of the image's version and is silent when graphs are off or the limit
is left to its GPU-dependent default.""",
    links=(
        SRC_056 + "model_executor/cuda_graph_runner.py",
        SRC_056 + "managers/tp_worker.py",
        SRC_0523 + "arg_groups/cuda_graph_hook.py",
    ),
    check=check,
)
