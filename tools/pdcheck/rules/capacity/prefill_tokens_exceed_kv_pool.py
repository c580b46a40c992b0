from ...findings import Severity
from ..base import Problem, Rule
from ._plans import DOC_LINK, SRC_056, path_of, plans, where


def check(model, ctx):
    for rp in plans(model, ctx):
        p = rp.plan
        if p is None or not p.weights_fit or p.prefill_tokens_per_rank is None:
            continue
        if p.prefill_tokens_per_rank <= p.kv_tokens_per_rank:
            continue
        per_rank = f" (per attention-DP rank: {p.prefill_tokens_flag} / {p.layout.attn_dp})" \
            if p.prefill_tokens_flag == "--chunked-prefill-size" and p.layout.attn_dp > 1 else ""
        yield Problem(
            rp.workload.obj, path_of(rp, p.prefill_tokens_flag),
            f"{where(rp)}: {p.prefill_tokens_flag} lets one prefill batch take {p.prefill_tokens_per_rank:,} tokens{per_rank}, "
            f"more than the whole KV pool of about {p.kv_tokens_per_rank:,} tokens, so such batches are never formed "
            f"and long prompts wait or are split further than configured",
            f"lower {p.prefill_tokens_flag} to at most {p.kv_tokens_per_rank:,} per rank, or give the KV cache more memory")


RULE = Rule(
    id="prefill-tokens-exceed-kv-pool",
    severity=Severity.WARNING,
    summary="Prefill batch size (--chunked-prefill-size / --max-prefill-tokens) larger than the KV pool",
    doc="""A prefill batch writes the KV cache of all its tokens before they can be transferred or
decoded. The scheduler's `PrefillAdder` admits a batch only while its tokens fit the free KV pool,
so a `--max-prefill-tokens` or chunk size (divided by the attention-DP size under DP attention,
as `server_args._handle_data_parallelism` does) larger than the entire pool of a rank is never
reached: the configured chunking is a promise the server cannot keep, usually because the static
fraction left almost no KV cache after the weights. Not checked on decode servers.""",
    links=(DOC_LINK, SRC_056 + "managers/schedule_policy.py", SRC_056 + "server_args.py"),
    check=check,
)
