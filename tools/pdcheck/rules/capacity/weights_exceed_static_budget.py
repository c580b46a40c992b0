import math

from ...findings import Severity
from ..base import Problem, Rule
from ._plans import DOC_LINK, SRC_056, path_of, plans, where


def check(model, ctx):
    for rp in plans(model, ctx):
        p = rp.plan
        if p is None or p.weights_fit:
            continue
        tokens = max(p.context_length, p.prefill_tokens_per_rank or 0)
        needed = (p.weights_gib_per_gpu + p.kv_bytes_per_token * tokens / (1 << 30)) / p.pool.start_gib
        if needed <= 0.9:
            fix = (f"raise --mem-fraction-static to at least {math.ceil(needed * 1000) / 1000:.3f} (weights plus one "
                   f"{tokens}-token context), or spread the weights over more GPUs (more nodes, a larger ep/tp)")
        else:
            fix = (f"spread the weights over more GPUs (more nodes, a larger ep/tp) or use GPUs with more memory: "
                   f"weights plus one {tokens}-token context need {needed:.0%} of what SGLang starts from")
        yield Problem(
            rp.workload.obj, path_of(rp, "--mem-fraction-static"),
            f"{where(rp)}: weights of about {p.weights_gib_per_gpu:.1f} GiB per GPU exceed the static budget "
            f"{p.mem_fraction_static} x {p.pool.start_gib:.1f} GiB = {p.pool.budget_gib:.1f} GiB, so no KV cache is left and "
            f"SGLang stops at start-up with 'Not enough memory' after loading the weights", fix)


RULE = Rule(
    id="weights-exceed-static-budget",
    severity=Severity.ERROR,
    summary="Model weights per GPU exceed the --mem-fraction-static budget",
    doc="""SGLang sizes the KV pool after loading the weights: `profile_max_num_token` gives it
`available_after_weights - total_at_start x (1 - mem_fraction_static)` bytes, and
`init_memory_pool` raises `RuntimeError: Not enough memory. Please try to increase
--mem-fraction-static` when that is not positive. The static fraction is therefore a budget for
weights plus KV cache: when the weights alone exceed it, every rank loads the model (minutes to an
hour for DeepSeek-R1 on 16 GPUs) and then the whole group exits. pdcheck estimates the weights
each rank holds from the model's architecture and the layout (TP, EP with redundant experts, DP
attention replicating attention/dense/shared experts/embeddings, `--moe-dense-tp-size`,
`--enable-dp-lm-head`, PP), as SGLang's model code splits them; docs/capacity.md shows the
arithmetic and how close it comes to published start-up logs. Planned only when the deployment
names its GPU (`nvidia.com/gpu.product` node selector, `pdcheck.io/gpu` annotation or `gpu:` in
.pdcheck.yaml) and the model is known (`pdcheck.io/model` annotation, or a known `--model-path`
basename).""",
    links=(DOC_LINK, SRC_056 + "server_args.py", SRC_056 + "models/deepseek_v2.py"),
    check=check,
)
