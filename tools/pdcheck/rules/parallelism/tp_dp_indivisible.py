from ...findings import Severity
from ...sglang import SRC_0523, SRC_056
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


MAX_LISTED_TP = 4096


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        lay = c.layout
        if not lay.dp_attention or not isinstance(lay.tp, int) or lay.tp <= 0:
            continue
        if lay.tp % lay.attn_dp:
            flag = "--attn-dp-size" if lay.new_style and c.flag("--attn-dp-size").written else "--dp-size"
            # Listed only for plausible sizes: a typo'd tp of 10**9 must not be factored by trial division.
            divisors = [d for d in range(2, lay.tp + 1) if lay.tp % d == 0] if lay.tp <= MAX_LISTED_TP else []
            valid = f"; valid: {', '.join(map(str, divisors))}" if divisors else ""
            yield Problem(wl.obj, flag_path(c, flag),
                          f"{describe_pod(pod)}: DP attention with {lay.attn_dp} attention-DP groups does not divide tp {lay.tp}, so SGLang's assertion tp_size % dp_size == 0 fails at start-up",
                          f"set {flag} to a divisor of {lay.tp} (e.g. {lay.tp}, one attention-DP group per GPU{valid})")


RULE = Rule(
    id="tp-dp-indivisible",
    severity=Severity.ERROR,
    summary="DP attention width does not divide tp",
    doc="""With DP attention the TP group is cut into attention-DP groups of `tp / dp` GPUs each
(attention TP size); `_handle_data_parallelism` asserts `tp_size % dp_size == 0` (0.4.10, 0.5.6)
and `tp_size % attn_dp_size == 0` (0.5.23, where `--attn-dp-size` or the deprecated
`--dp-size N --enable-dp-attention` sets the width). An uneven split fails before any weight loads.
With dp 1 0.5.6 silently turns DP attention off, so nothing is checked then.""",
    links=(
        SRC_056 + "server_args.py",
        SRC_0523 + "arg_groups/parallel_hook.py",
    ),
    check=check,
)
