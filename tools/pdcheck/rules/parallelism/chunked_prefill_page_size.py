from ...findings import Severity
from ...sglang import SRC_0410, SRC_0523, SRC_056, at_least
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        # 0.5.x skips the check on decode servers; 0.4.10 checks every mode.
        if at_least(c, "0.5.0") and c.layout.role == "decode":
            continue
        if not c.flag("--chunked-prefill-size").written or not c.flag("--page-size").written:
            continue  # defaults depend on the GPU and attention backend: unknown here
        chunked, page = c.int_flag("--chunked-prefill-size"), c.int_flag("--page-size")
        lay = c.layout
        if chunked is None or page is None or page <= 0 or chunked <= 0 or lay.attn_dp is None:
            continue
        if lay.dp_attention and isinstance(lay.tp, int) and lay.tp % lay.attn_dp:
            continue  # SGLang asserts tp % dp first: tp-dp-indivisible
        per_rank = chunked // lay.attn_dp
        if per_rank % page == 0:
            continue
        split = f" // {lay.attn_dp} attention-DP groups = {per_rank}" if lay.dp_attention else ""
        step = page * lay.attn_dp
        suggestion = max(step, chunked - chunked % step)
        yield Problem(wl.obj, flag_path(c, "--chunked-prefill-size"),
                      f"{describe_pod(pod)}: --chunked-prefill-size {chunked}{split} is not a multiple of --page-size {page}, so SGLang exits with 'chunked_prefill_size must be divisible by page_size'",
                      f"use a --chunked-prefill-size that is a multiple of page size x attention-DP groups ({step}), e.g. {suggestion}")


RULE = Rule(
    id="chunked-prefill-page-size",
    severity=Severity.ERROR,
    summary="Chunked prefill size per DP rank is not a multiple of the page size",
    doc="""Prefill chunks are allocated in whole KV pages, and `check_server_args` asserts
`chunked_prefill_size % page_size == 0` on every non-decode server. Under DP attention the size is
first divided by the number of attention-DP groups (`_handle_data_parallelism`: `chunked_prefill_size
// dp_size`, 0.5.23: `// attn_dp_size`), so `--chunked-prefill-size 524288` with dp 16 and page 64
checks 32768. A value that only fits before the division still kills the prefill server at
start-up. Checked only when both flags are written (their defaults depend on the GPU and the
attention backend, which may also force its own page size); 0.4.10 also checks decode servers.""",
    links=(
        SRC_056 + "server_args.py",
        SRC_0523 + "arg_groups/validation_hook.py",
        SRC_0523 + "arg_groups/parallel_hook.py",
        SRC_0410 + "server_args.py",
    ),
    check=check,
)
