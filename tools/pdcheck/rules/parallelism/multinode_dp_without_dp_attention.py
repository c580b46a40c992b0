from ...findings import Severity
from ...sglang import SRC_0523, SRC_056
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        lay = c.layout
        if lay.dp is None or lay.nnodes is None or lay.dp <= 1 or lay.nnodes <= 1:
            continue
        if lay.new_style:
            if lay.dp_attention:
                continue  # replicas next to attention DP: dp-replicas-with-attn-dp
            what = (f"--dp-size {lay.dp} asks for {lay.dp} data-parallel replicas, which SGLang {c.parsed.catalog.version} "
                    "rejects across nodes ('multi-node data-parallel replicas are not supported')")
            fix = f"replace --dp-size {lay.dp} by --attn-dp-size {lay.dp} (attention DP inside the TP group), or run one engine per node"
        else:
            what = f"--dp-size {lay.dp} without --enable-dp-attention, which SGLang {c.parsed.catalog.version} rejects ('multi-node data parallel is not supported unless dp attention')"
            fix = f"add --enable-dp-attention (DP attention across the {lay.nnodes} nodes) or set --dp-size 1"
        yield Problem(wl.obj, flag_path(c, "--dp-size"),
                      f"{describe_pod(pod)}: nnodes {lay.nnodes} with {what}",
                      fix)


RULE = Rule(
    id="multinode-dp-without-dp-attention",
    severity=Severity.ERROR,
    summary="Data parallelism across nodes without DP attention",
    doc="""SGLang only spreads data parallelism over several nodes as DP attention (attention-DP
groups inside one TP group). `check_server_args` asserts `not (dp_size > 1 and nnodes != 1 and not
enable_dp_attention)` in 0.4.10 and 0.5.6, so every rank exits at start-up. 0.5.23 changes the
spelling: `--attn-dp-size N` is the attention-DP width, `--dp-size` counts whole replicas and
`dp_size > 1 and nnodes != 1` is rejected outright ('use attention DP (--attn-dp-size) across
nodes'); the deprecated `--dp-size N --enable-dp-attention` is still translated into
`--attn-dp-size N` (`handle_deprecated_dp_attention`). The rule follows the catalog version of the
image.""",
    links=(
        SRC_056 + "server_args.py",
        SRC_0523 + "arg_groups/validation_hook.py",
        SRC_0523 + "arg_groups/parallel_hook.py",
    ),
    check=check,
)
