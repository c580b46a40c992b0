"""The capacity arithmetic against SGLang start-up logs published in bug reports and PRs.

Each case is the configuration the report gives (model, GPU, layout, static fraction) and the
numbers its log prints: `Load weight end ... mem usage=<GiB>` (weights per GPU) and `KV Cache is
allocated. #tokens: <n>` (KV pool per rank). docs/capacity.md has the same table with the links
and what each case had to assume. A prediction must be within 10% of the log.

The logs come from older SGLang releases than the 0.5.6.post2 the arithmetic follows; where the
release behaves differently (a default, a fused copy) the case says so and the docs explain it.
"""

from dataclasses import dataclass

import pytest

from pdcheck.capacity import arithmetic as ar
from pdcheck.capacity.facts import GIB, model_by_name

TOLERANCE = 0.10


@dataclass
class Case:
    link: str
    model: str
    layout: ar.Layout
    gpu_mib: int
    mem_fraction_static: float
    logged_weights_gib: float | None  # `mem usage=` of "Load weight end"
    logged_tokens: int | None  # "KV Cache is allocated. #tokens"
    logged_kv_gib: float | None  # "K size" + "V size", or "KV size"
    gpus_per_node: int = 1
    page_size: int = 1


R1_DP8 = ar.Layout(tp=8, attn_dp=8, ep=8, deepep=True, moe_dense_tp=1, dp_lm_head=True, redundant_experts=32)

CASES = {
    # Llama-3.1-8B-Instruct on one H100 (SGLang CI), default static fraction 0.88 for tp 1.
    "sglang-pr-4760": Case("https://github.com/sgl-project/sglang/pull/4760", "meta-llama/Llama-3.1-8B-Instruct",
                           ar.Layout(), 81559, 0.88, 15.11, 442750, 27.02 + 27.02),
    # Qwen3-14B on one 48 GB GPU (49140 MiB: the log's 47.24 GiB free at start), default 0.88.
    "xorbits-inference-3481": Case("https://github.com/xorbitsai/inference/issues/3481", "Qwen/Qwen3-14B",
                                   ar.Layout(), 49140, 0.88, 27.57, 91749, 7.00 + 7.00),
    # Qwen3-235B-A22B-FP8 on 4 x H100, --tp 4 --mem-fraction-static 0.93 (weights not in the report).
    "vllm-21348": Case("https://github.com/vllm-project/vllm/issues/21348", "Qwen/Qwen3-235B-A22B-FP8",
                       ar.Layout(tp=4), 81559, 0.93, None, 367404, 8.23 + 8.23, gpus_per_node=4),
    # DeepSeek-R1 with DP attention on 8 x 141 GB GPUs. The comment shows logs, not its command:
    # the thread's large-scale EP recipe is assumed (DeepEP, 32 redundant experts,
    # --moe-dense-tp-size 1, --enable-dp-lm-head, --mem-fraction-static 0.85).
    "sglang-6017": Case("https://github.com/sgl-project/sglang/issues/6017", "deepseek-ai/DeepSeek-R1",
                        R1_DP8, 143771, 0.85, 105.59, 161488, 10.57, gpus_per_node=8),
    # DeepSeek-R1 --tp 8 --mem-fraction-static 0.7 on 8 x MI308X (KV line not in the report).
    "sglang-6001": Case("https://github.com/sgl-project/sglang/issues/6001", "deepseek-ai/DeepSeek-R1",
                        ar.Layout(tp=8), 196592, 0.7, 81.66, None, None, gpus_per_node=8),
}


def predict(case: Case):
    model = model_by_name(case.model)
    weights = ar.weight_bytes_per_gpu(model, case.layout)
    cell = ar.kv_bytes_per_token(model, case.layout, 2)
    pool = ar.kv_pool(case.gpu_mib, case.mem_fraction_static, weights, cell, case.page_size, case.gpus_per_node)
    return weights / GIB, cell, pool.tokens


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.logged_weights_gib])
def test_weights_per_gpu_within_10_percent(name):
    case = CASES[name]
    weights, _, _ = predict(case)
    assert abs(weights / case.logged_weights_gib - 1) <= TOLERANCE, (weights, case.logged_weights_gib)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.logged_tokens])
def test_kv_pool_tokens_within_10_percent(name):
    case = CASES[name]
    _, _, tokens = predict(case)
    assert abs(tokens / case.logged_tokens - 1) <= TOLERANCE, (tokens, case.logged_tokens)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.logged_kv_gib])
def test_kv_bytes_per_token_match_the_logged_pool_size(name):
    # "K size + V size" (or "KV size") over "#tokens" is exactly SGLang's cell size.
    case = CASES[name]
    _, cell, _ = predict(case)
    logged_cell = case.logged_kv_gib * GIB / case.logged_tokens
    assert abs(cell / logged_cell - 1) < 0.01, (cell, logged_cell)


def test_startup_overhead_matches_the_logged_free_memory():
    # sglang#6017 started from 31.87 + 105.59 = 137.46 GiB of a 140.4 GiB GPU with 8 GPUs per node;
    # sglang#4760 from 63.48 + 15.11 = 78.59 GiB of 79.65 GiB alone.
    assert abs((143771 / 1024 - ar.startup_overhead_gib(8)) - 137.46) < 0.3
    assert abs((81559 / 1024 - ar.startup_overhead_gib(1)) - 78.59) < 0.3
