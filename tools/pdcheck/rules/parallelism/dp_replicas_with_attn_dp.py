from ...findings import Severity
from ...sglang import SRC_0523
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        lay = c.layout
        if not lay.new_style or not lay.dp_attention or lay.dp is None or lay.dp <= 1:
            continue
        yield Problem(wl.obj, flag_path(c, "--dp-size"),
                      f"{describe_pod(pod)}: --dp-size {lay.dp} (replicas) together with --attn-dp-size {lay.attn_dp}, which SGLang {c.parsed.catalog.version} rejects ('data-parallel replicas combined with attention data parallelism are not supported')",
                      f"drop --dp-size (in {c.parsed.catalog.version} --attn-dp-size alone sets the DP attention width; --dp-size N --enable-dp-attention was the old spelling)")


RULE = Rule(
    id="dp-replicas-with-attn-dp",
    severity=Severity.ERROR,
    summary="--dp-size replicas combined with --attn-dp-size (0.5.23+)",
    doc="""From 0.5.23 `--dp-size` counts whole engine replicas and `--attn-dp-size` the
attention-DP groups inside one TP group; `handle_data_parallelism` raises a ValueError when both are
above 1. A manifest migrated half-way (`--attn-dp-size 16` added, `--dp-size 16` kept from the old
`--dp-size 16 --enable-dp-attention` spelling) therefore fails at start-up. Older versions have no
`--attn-dp-size`, so the rule only runs for images whose catalog has it.""",
    links=(SRC_0523 + "arg_groups/parallel_hook.py",),
    check=check,
)
