from ...findings import Severity
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule
from ...sglang import SRC_0410, SRC_056, SRC_0523, at_least
from ._helpers import captured_batch_sizes, decode_graphs

# "Far above": at least twice the graph a rank can use, so at least half of the graph buffers
# (sized by the largest captured batch) and every capture above that graph are never used.
FAR_ABOVE = 2


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        g = decode_graphs(c)
        if g is None or g.attn_dp < 2 or g.per_rank < 1:
            continue  # without DP attention SGLang caps the captures at --max-running-requests itself
        if at_least(c, "0.5.23") or c.str_flag("--speculative-algorithm") is not None:
            continue  # 0.5.23 caps them per DP rank; speculative decoding captures another list
        # With DP attention the captured sizes must be multiples of the attention-TP size (and of 2
        # with two-batch overlap: cuda_graph_runner.get_batch_sizes_to_capture); rounding up to
        # them in any case errs towards silence.
        step = max(1, (g.tp or 1) // g.attn_dp) * (2 if c.bool_flag("--enable-two-batch-overlap") else 1)
        sizes = [bs for bs in captured_batch_sizes(g.max_bs) if bs % step == 0]
        useful = next((bs for bs in sizes if bs >= g.per_rank), None)
        if useful is None or g.max_bs < FAR_ABOVE * useful:
            continue
        unused = [bs for bs in sizes if bs > useful]
        yield Problem(wl.obj, flag_path(c, g.flag),
                      f"{describe_pod(pod)}: {g.flag} {g.max_bs} captures decode CUDA graphs up to batch {g.max_bs}, but a decode rank never batches more than {g.per_rank} requests (--max-running-requests {g.running}{g.split_text()}): the {len(unused)} graphs above {useful} cost start-up time and GPU memory and are never replayed",
                      f"lower {g.flag} to {useful}, or raise --max-running-requests to {g.max_bs * g.attn_dp} if the KV cache holds that many requests")


RULE = Rule(
    id="cuda-graph-max-bs-above-running",
    severity=Severity.WARNING,
    summary="Decode CUDA graphs captured far above the per-rank running requests",
    doc="""The mirror of `cuda-graph-max-bs-below-running`. At start-up a decode engine captures one
CUDA graph per batch size up to `--cuda-graph-max-bs` (`_generate_cuda_graph_batch_sizes` in
`server_args.py`: 1, 2, 4, 8, 12, then steps of 8 to 256, 16 to 512, 32 beyond), and sizes its
graph buffers for the largest one; each capture runs the model once, and SGLang's own memory
sizing reserves GPU memory in proportion to the limit (`_handle_gpu_memory_settings`:
`cuda_graph_max_bs * 2` MB, plus `cuda_graph_max_bs * dp_size * 3` MB under DP attention).
With DP attention a rank never batches more than `--max-running-requests // dp`
(`managers/tp_worker.py`), and replay picks the graph by the largest batch over the ranks
(`CudaGraphRunner.can_run`), so graphs above that size are never replayed. SGLang 0.5.6.post2
(and 0.4.10.post2) do not cap the list at that size: `get_batch_sizes_to_capture` drops only
sizes above `req_to_token_pool.size`, which `ModelRunner.init_memory_pool` makes the engine's
whole `--max-running-requests`, not the per-rank share. 0.5.23 sizes the pool per DP worker
(`KVCacheConfigurator.resolve_max_num_reqs`) and clamps the captures itself; without DP
attention every version clamps at `--max-running-requests`. The rule warns when the limit is at
least twice the smallest captured size that holds the per-rank maximum, i.e. when at least half
of the graph buffers are unused; it is silent with speculative decoding (another size list and
tokens per request), on 0.5.23 and later, and when the limit is left to its GPU-dependent
default. Sizes are counted with 0.5.6.post2's list; 0.4.10.post2 captures the same sizes up to
160, above which its list depends on the GPU's memory.""",
    links=(
        SRC_056 + "server_args.py",
        SRC_056 + "model_executor/cuda_graph_runner.py",
        SRC_056 + "model_executor/model_runner.py",
        SRC_056 + "managers/tp_worker.py",
        SRC_0410 + "model_executor/cuda_graph_runner.py",
        SRC_0523 + "model_executor/runner/base_cuda_graph_runner.py",
        SRC_0523 + "mem_cache/kv_cache_configurator.py",
    ),
    check=check,
)
