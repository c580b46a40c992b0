from ...findings import Severity
from ...sglang import SRC_0523, SRC_056, at_least
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if at_least(c, "0.5.23"):
            continue  # 0.5.23 clamps the per-rank share to at least 1 (pool_configurator.py)
        lay = c.layout
        mrr = c.int_flag("--max-running-requests")
        if mrr is None or mrr < 1 or not lay.dp_attention:
            continue  # below 1 fails on every rank: flag-value-out-of-range
        if mrr // lay.attn_dp >= 1:
            continue
        yield Problem(wl.obj, flag_path(c, "--max-running-requests"),
                      f"{describe_pod(pod)}: --max-running-requests {mrr} // {lay.attn_dp} attention-DP groups = 0 requests per DP rank, so every rank fails with 'max_running_request is zero'",
                      f"set --max-running-requests to at least {lay.attn_dp} (a multiple of {lay.attn_dp}; it is the total over all DP ranks)")


RULE = Rule(
    id="max-running-requests-below-dp",
    severity=Severity.ERROR,
    summary="--max-running-requests leaves a DP rank with no request slot",
    doc="""Under DP attention `--max-running-requests` is the total over all attention-DP groups:
each scheduler gets `max_running_requests // dp_size` (integer division, `managers/tp_worker.py`)
and asserts it is above zero ('max_running_request is zero'). A total smaller than the DP size
therefore kills every rank after the model has loaded. 0.5.23 clamps the share to at least one
request (`max(1, max_running_requests // attn_dp_size)`), so the rule is silent there. The total is
also the knob that bounds per-rank decode batches (see `cuda-graph-max-bs-below-running`).""",
    links=(
        SRC_056 + "managers/tp_worker.py",
        SRC_0523 + "model_executor/pool_configurator.py",
    ),
    check=check,
)
