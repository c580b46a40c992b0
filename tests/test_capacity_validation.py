"""The capacity arithmetic against SGLang start-up logs published in bug reports and PRs.

Each case is the configuration the report gives (model, GPU, layout, static fraction) and the
numbers its log prints: `Load weight end ... mem usage=<GiB>` (weights per GPU) and `KV Cache is
allocated. #tokens: <n>` (KV pool per rank). docs/capacity.md has the same table with the links
and what each case had to assume. A prediction must be within 10% of the log.

The logs come from older SGLang releases than the 0.5.6.post2 the arithmetic follows; where the
release behaves differently (a default, a fused copy, a log line it did not print yet) the case
says so and the docs explain it.
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
    nvlink: bool = True  # False: PCIe-only GPUs (no per-peer start-up buffers beyond two GPUs)
    page_size: int = 1
    # `avail mem=` of "Load weight end" (the least any rank printed): start-up memory minus weights.
    logged_free_after_weights_gib: float | None = None
    # `avail mem=` of "Memory pool end": what is left after the KV pool and the request table, for
    # releases that print no "#tokens" for MLA pools.
    logged_free_after_pool_gib: float | None = None
    context_length: int | None = None


R1_DP8 = ar.Layout(tp=8, attn_dp=8, ep=8, deepep=True, moe_dense_tp=1, dp_lm_head=True, redundant_experts=32)

CASES = {
    # Llama-3.1-8B-Instruct on one H100 (SGLang CI), default static fraction 0.88 for tp 1.
    "sglang-pr-4760": Case("https://github.com/sgl-project/sglang/pull/4760", "meta-llama/Llama-3.1-8B-Instruct",
                           ar.Layout(), 81559, 0.88, 15.11, 442750, 27.02 + 27.02,
                           logged_free_after_weights_gib=63.48),
    # Qwen3-14B on one 48 GB GPU (49140 MiB: the log's 47.24 GiB free at start), default 0.88.
    "xorbits-inference-3481": Case("https://github.com/xorbitsai/inference/issues/3481", "Qwen/Qwen3-14B",
                                   ar.Layout(), 49140, 0.88, 27.57, 91749, 7.00 + 7.00,
                                   logged_free_after_weights_gib=19.67),
    # Qwen3-235B-A22B-FP8 on 4 x H100, --tp 4 --mem-fraction-static 0.93 (weights not in the report).
    "vllm-21348": Case("https://github.com/vllm-project/vllm/issues/21348", "Qwen/Qwen3-235B-A22B-FP8",
                       ar.Layout(tp=4), 81559, 0.93, None, 367404, 8.23 + 8.23, gpus_per_node=4),
    # DeepSeek-R1 with DP attention on 8 x 141 GB GPUs. The comment shows logs, not its command:
    # the thread's large-scale EP recipe is assumed (DeepEP, 32 redundant experts,
    # --moe-dense-tp-size 1, --enable-dp-lm-head, --mem-fraction-static 0.85).
    "sglang-6017": Case("https://github.com/sgl-project/sglang/issues/6017", "deepseek-ai/DeepSeek-R1",
                        R1_DP8, 143771, 0.85, 105.59, 161488, 10.57, gpus_per_node=8,
                        logged_free_after_weights_gib=31.87),
    # DeepSeek-R1 --tp 8 --mem-fraction-static 0.7 on 8 x MI308X (KV line not in the report).
    "sglang-6001": Case("https://github.com/sgl-project/sglang/issues/6001", "deepseek-ai/DeepSeek-R1",
                        ar.Layout(tp=8), 196592, 0.7, 81.66, None, None, gpus_per_node=8),
    # Two nodes of 8 x 80 GB, DeepSeek-V3/R1 --tp 16, SGLang 0.4.5.post1 (shared-expert fusion off
    # by default there: n_share_experts_fusion=0). Fails after loading, so only weights are logged;
    # the static fraction is not in the report (0.8 stands in; no test reads it).
    "sglang-5602": Case("https://github.com/sgl-project/sglang/issues/5602", "deepseek-ai/DeepSeek-R1",
                        ar.Layout(tp=16), 81559, 0.8, 40.46, None, None, gpus_per_node=8,
                        logged_free_after_weights_gib=37.76),
    # DeepSeek-R1 on two nodes of 8 x 80 GB, --tp 16 --mem-fraction-static 0.7, SGLang 0.4.3.post2,
    # which prints no "#tokens" and no `mem usage=` for MLA: the pool is read from the free memory
    # before and after it (TP1: 36.48 -> 22.00 GiB; see tokens_from_free_memory).
    "sglang-4161": Case("https://github.com/sgl-project/sglang/issues/4161", "deepseek-ai/DeepSeek-R1",
                        ar.Layout(tp=16), 81559, 0.7, None, None, None, gpus_per_node=8,
                        logged_free_after_weights_gib=36.48, logged_free_after_pool_gib=22.00,
                        context_length=163840),
    # QwQ-32B (Qwen2 architecture, GQA) on 4 x L4 (PCIe only), --tensor-parallel-size 4, SGLang
    # 0.4.3.post4 (its Dockerfile); server_args shows mem_fraction_static=0.85 (its default).
    "llms-in-clouds-qwq-32b": Case("https://github.com/didier-durand/llms-in-clouds/blob/"
                                   "3e1df42ab328cb05c90df01ef331a1214ed6e336/docs/sglang.md", "Qwen/QwQ-32B",
                                   ar.Layout(tp=4), 23034, 0.85, 15.54, 46611, 1.42 + 1.42, gpus_per_node=4,
                                   nvlink=False, logged_free_after_weights_gib=6.09),
    # Qwen3-14B on 4 x RTX 4090 (PCIe only), --tp-size 4 --mem-fraction-static 0.80, SGLang at
    # commit ebaf86d4 (the report's environment snapshot).
    "sglang-performance-test-qwen3-14b": Case("https://github.com/ugyhybnb/sglang-performance-test/blob/"
                                              "2265f92fa63409da817f42466e7c977566fd1fdc/"
                                              "%E9%A1%B9%E7%9B%AEA-v2-%E6%9C%8D%E5%8A%A1%E5%9F%BA%E7%BA%BF.md",
                                              "Qwen/Qwen3-14B", ar.Layout(tp=4), 24564, 0.80, 7.08, 298447,
                                              5.69 + 5.69, gpus_per_node=4, nvlink=False,
                                              logged_free_after_weights_gib=16.00),
    # SGLang's own Kubernetes guide: DeepSeek-R1 (deepseek_v3_moe) on two nodes of 8 x H20 (96 GB),
    # LeaderWorkerSet, --tp 16 --mem-fraction-static 0.93 (its YAML), February 2025 (0.4.3). The
    # log shows max_running_requests=50, not the YAML's 20: it may be from a neighbouring run.
    "sglang-docs-deploy-on-k8s": Case("https://github.com/sgl-project/sglang/blob/"
                                      "e8e18dcdcca0e6d4eacccd074bea9da2ad6a3e18/docs/references/deploy_on_k8s.md",
                                      "deepseek-ai/DeepSeek-R1", ar.Layout(tp=16), 97871, 0.93, None, 712400, None,
                                      gpus_per_node=8),
}


def predict(case: Case):
    model = model_by_name(case.model)
    weights = ar.weight_bytes_per_gpu(model, case.layout)
    cell = ar.kv_bytes_per_token(model, case.layout, 2)
    pool = ar.kv_pool(case.gpu_mib, case.mem_fraction_static, weights, cell, case.page_size, case.gpus_per_node,
                      case.nvlink)
    return weights / GIB, cell, pool.tokens


def tokens_from_free_memory(case: Case, cell: int) -> int:
    """The KV pool a 0.4.3 log implies: "Load weight end" minus "Memory pool end" free memory,
    less the request-to-token table init_memory_pool allocates with it (model_runner.py in
    0.4.3.post2: (max_num_reqs + 1) x (context_length + 4) int32, max_num_reqs =
    min(max(tokens / context_length x 512, 2048), 4096)), over the bytes per token."""
    taken = (case.logged_free_after_weights_gib - case.logged_free_after_pool_gib) * GIB
    max_num_reqs = 2048
    tokens = (taken - (max_num_reqs + 1) * (case.context_length + 4) * 4) / cell
    assert tokens / case.context_length * 512 <= 2048, "the request table would be larger"
    return int(tokens)


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


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.logged_free_after_pool_gib])
def test_kv_pool_tokens_from_free_memory_within_10_percent(name):
    case = CASES[name]
    _, cell, tokens = predict(case)
    logged = tokens_from_free_memory(case, cell)
    assert abs(tokens / logged - 1) <= TOLERANCE, (tokens, logged)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.logged_free_after_weights_gib])
def test_free_memory_after_weights_within_10_percent(name):
    # Start-up memory (GPU total minus the start-up overhead) minus the weights, against what the
    # rank printed after loading: checks the overhead model on one GPU, PCIe-only nodes and across nodes.
    case = CASES[name]
    weights, _, _ = predict(case)
    start = case.gpu_mib / 1024 - ar.startup_overhead_gib(case.gpus_per_node, case.nvlink)
    assert abs((start - weights) / case.logged_free_after_weights_gib - 1) <= TOLERANCE


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


def test_pcie_only_nodes_take_no_per_gpu_startup_overhead():
    # 4 x L4 (QwQ-32B) started from 6.09 + 15.54 = 21.63 GiB of 22.49; 4 x RTX 4090 (Qwen3-14B)
    # from 16.00 + 7.08 = 23.08 GiB of 23.99: the one-GPU overhead, not the NVLink node's.
    assert abs((23034 / 1024 - ar.startup_overhead_gib(4, nvlink=False)) - 21.63) < 0.3
    assert abs((24564 / 1024 - ar.startup_overhead_gib(4, nvlink=False)) - 23.08) < 0.3
    assert ar.startup_overhead_gib(4, nvlink=True) - ar.startup_overhead_gib(4, nvlink=False) > 0.5
    # Two PCIe GPUs may still run the custom all-reduce (P2P permitting): the peer cost stays.
    assert ar.startup_overhead_gib(2, nvlink=False) == ar.startup_overhead_gib(2)
