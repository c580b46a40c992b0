from ...findings import Severity
from .. import _links as L
from .._util import engine_containers, flag_path
from ..base import Problem, Rule


def _asserts(c) -> bool:
    """Releases with --prefill-round-robin-balance (0.5.2-0.5.6) assert it; 0.5.23 dropped both."""
    return c.parsed is not None and c.parsed.catalog.resolve("--prefill-round-robin-balance") is not None


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if not pod.is_leader or not _asserts(c):
            continue
        mode, dp = c.layout.role, c.int_flag("--dp-size")
        if dp is None or dp <= 1:
            continue
        if mode == "decode" and not c.flag("--prefill-round-robin-balance").written:
            yield Problem(wl.obj, flag_path(c, "--dp-size"),
                          f"decode {wl.name} runs --dp-size {dp} without --prefill-round-robin-balance, which sglang {c.parsed.catalog.version} asserts at start-up",
                          "add --prefill-round-robin-balance to decode (and keep prefill on --load-balance-method round_robin)")
        elif mode == "prefill" and c.str_flag("--load-balance-method") == "shortest_queue":
            yield Problem(wl.obj, flag_path(c, "--load-balance-method"),
                          f"prefill {wl.name} runs --dp-size {dp} with --load-balance-method shortest_queue, but decode expects each request on DP rank bootstrap_room % {dp}",
                          "use --load-balance-method round_robin on prefill")


RULE = Rule(
    id="pd-dp-round-robin", severity=Severity.ERROR,
    summary="DP prefill/decode without the round-robin balance sglang 0.5.2-0.5.6 requires",
    doc="""In sglang 0.5.6.post2 `ServerArgs._handle_disaggregation` (server_args.py, lines 1901-1906)
asserts `prefill_round_robin_balance` on a decode server with `dp_size > 1`: without
`--prefill-round-robin-balance` decode exits at start-up. The message also asks for prefill's
`--load-balance-method round_robin`, which is not asserted: it is the default, and in PD mode the
round-robin scheduler sends each request to DP rank `bootstrap_room % dp` (data_parallel_controller.py)
which is where decode looks for it (conn.py, `bootstrap_room % prefill_dp_size`); `shortest_queue`
breaks that silently (`minimum_tokens` falls back to round robin). 0.5.23 has neither flag nor
assert: prefill defaults to `follow_bootstrap_room` and decode otherwise asks prefill for the rank.
Applied to releases whose catalog has `--prefill-round-robin-balance`.""",
    links=(L.SERVER_ARGS, L.DP_CONTROLLER, L.CONN, L.SG23 + "disaggregation/decode.py"),
    check=check,
)
