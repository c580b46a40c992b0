from ...findings import Severity
from ...sglang import SRC_0410, SRC_0523, SRC_056, at_least, dp_attention_spelling
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if not c.bool_flag("--enable-dp-lm-head"):
            continue
        lay = c.layout
        if lay.dp_ranks is None or lay.dp_attention:
            continue
        # 0.5.x resets --enable-dp-lm-head when there is a single DP rank; 0.4.10 asserts regardless.
        if at_least(c, "0.5.0") and lay.dp_ranks == 1:
            continue
        dp_text = f"--dp-size {lay.dp}" if lay.dp and lay.dp > 1 else "no DP attention"
        yield Problem(wl.obj, flag_path(c, "--enable-dp-lm-head"),
                      f"{describe_pod(pod)}: --enable-dp-lm-head with {dp_text} but DP attention off, so SGLang {c.parsed.catalog.version} exits with 'Please enable dp attention when setting enable_dp_lm_head'",
                      f"enable DP attention ({dp_attention_spelling(lay, lay.dp if lay.dp and lay.dp > 1 else 'N')}) or drop --enable-dp-lm-head")


RULE = Rule(
    id="dp-lm-head-without-dp-attention",
    severity=Severity.ERROR,
    summary="--enable-dp-lm-head without DP attention",
    doc="""`--enable-dp-lm-head` shards the vocabulary projection along the attention-DP groups, so it
only exists under DP attention: `_handle_data_parallelism` asserts it (0.4.10, 0.5.6) and 0.5.23's
`_dp_lm_head_validation` requires `--attn-dp-size > 1`. With a single DP rank 0.5.x silently resets
the flag (nothing to report), but with `--dp-size > 1` and no DP attention the server exits at
start-up. 0.4.10 asserts even with dp 1.""",
    links=(
        SRC_056 + "server_args.py",
        SRC_0523 + "arg_groups/overrides.py",
        SRC_0410 + "server_args.py",
    ),
    check=check,
)
