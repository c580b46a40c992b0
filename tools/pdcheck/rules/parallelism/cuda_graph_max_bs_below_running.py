from ...findings import Severity
from ...sglang import SRC_0523, SRC_056
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule
from ._helpers import decode_graphs


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        g = decode_graphs(c)
        if g is None or g.per_rank <= g.max_bs:
            continue
        yield Problem(wl.obj, flag_path(c, g.flag),
                      f"{describe_pod(pod)}: {g.flag} {g.max_bs} is below the {g.per_rank} running requests a decode rank may batch (--max-running-requests {g.running}{g.split_text()}), so batches above {g.max_bs} run without CUDA graphs at much lower decode throughput",
                      f"raise {g.flag} to {g.per_rank} (memory allowing) or lower --max-running-requests to {g.max_bs * g.attn_dp}")


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
