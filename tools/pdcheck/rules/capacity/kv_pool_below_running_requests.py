from ...findings import Severity
from ..base import Problem, Rule
from ._plans import DOC_LINK, SRC_056, path_of, plans, where


def _requests(n: int) -> str:
    return f"{n} request" if n == 1 else f"{n} requests"


def check(model, ctx):
    for rp in plans(model, ctx):
        p = rp.plan
        # A prefill server of a P/D pair frees a request's KV once it is transferred: its pool holds
        # prompts in flight, not running generations (prefill-tokens-exceed-kv-pool covers it).
        if p is None or not p.weights_fit or rp.role == "prefill":
            continue
        if p.max_running_requests_source != "--max-running-requests":
            continue  # SGLang's own default is derived from the pool (tp_worker.py)
        wanted = p.running_requests_per_rank * p.context_length
        if p.kv_tokens_per_rank >= wanted:
            continue
        per_rank = " per attention-DP rank" if p.layout.attn_dp > 1 else ""
        yield Problem(
            rp.workload.obj, path_of(rp, "--max-running-requests"),
            f"{where(rp)}: the KV pool holds about {p.kv_tokens_per_rank:,} tokens{per_rank}, "
            f"{_requests(p.full_context_requests_per_rank)} at the {p.context_length}-token context, but "
            f"{p.running_requests_per_rank} requests{per_rank} may run (--max-running-requests {p.max_running_requests}"
            f"{f' / {p.layout.attn_dp}' if p.layout.attn_dp > 1 else ''}); "
            f"they fit only if they average under {p.kv_tokens_per_rank // max(p.running_requests_per_rank, 1):,} tokens",
            "lower --max-running-requests or --context-length, or give the KV cache more memory (more GPUs, "
            "--kv-cache-dtype fp8_e4m3, a higher --mem-fraction-static); if requests are known to be short, "
            "record that with pdcheck.io/ignore on the workload and a comment")


RULE = Rule(
    id="kv-pool-below-running-requests",
    severity=Severity.WARNING,
    summary="KV pool cannot hold --max-running-requests requests at the configured context length",
    doc="""A running request keeps its whole context in the KV pool. When the pool of a rank (of an
attention-DP rank under DP attention, which admits `max_running_requests // dp` requests) is
smaller than its running requests times the context length, the scheduler stops admitting new
requests or retracts running ones once long requests fill it: the configured
`--max-running-requests` is then a number the server never reaches, and long-context traffic
queues (`managers/scheduler.py` admission against `token_to_kv_pool_allocator.available_size()`;
decode's `DecodePreallocQueue` waits for free KV before it accepts a transfer). The message gives
the average request length at which the running requests still fit. The pool size follows
`profile_max_num_token` (see `weights-exceed-static-budget`); it is an estimate, within 10% of the
published logs in docs/capacity.md. Checked on decode and plain servers with an explicit
`--max-running-requests` (SGLang's own default is derived from the pool): a P/D prefill server
frees each request's KV once it is transferred.""",
    links=(DOC_LINK, SRC_056 + "managers/scheduler.py", SRC_056 + "disaggregation/decode.py"),
    check=check,
)
