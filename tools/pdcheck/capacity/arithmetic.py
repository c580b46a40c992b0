"""The memory arithmetic of one SGLang rank, following SGLang 0.5.6.post2's own code.

Sources (python/sglang/srt/ at v0.5.6.post2; docs/capacity.md has the line numbers):
- model_executor/model_runner.py `profile_max_num_token`: the KV pool gets
  `rest = available_after_weights - total_at_start * (1 - mem_fraction_static)` bytes, divided
  by the cell size of one token (MLA: (kv_lora_rank + qk_rope_head_dim) x layers x dtype size;
  MHA/GQA: kv_heads_per_rank x head_dim x layers x 2 x dtype size), then rounded down to pages
  (`init_memory_pool`).
- server_args.py `_handle_gpu_memory_settings`: the default --mem-fraction-static.
- models/deepseek_v2.py, qwen3.py, qwen3_moe.py, llama.py, glm4_moe.py, layers/vocab_parallel_embedding.py:
  which weights each rank holds under TP, EP, DP attention, --moe-dense-tp-size and --enable-dp-lm-head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .facts import GIB, MIB, ModelFacts

BF16 = 2
FP8_BLOCK = 128 * 128  # one fp32 scale per 128x128 block of an fp8 weight
# Memory taken before SGLang measures what it starts from (`min_per_gpu_memory` after
# init_torch_distributed): the CUDA context (~1 GiB) and, per other NVLink-connected GPU of the
# node, NCCL peer and custom all-reduce buffers. Not in any config: fitted to the logs in
# docs/capacity.md (1 GPU: 0.75-1.06 GiB; 8 NVLink GPUs: 2.9-3.1 GiB, "Init torch distributed
# ends. mem usage=2.01 GB"). Without NVLink and with more than two GPUs, SGLang disables the
# custom all-reduce (custom_all_reduce.py: "not supported on more than two PCIe-only GPUs") and
# the per-GPU cost does not appear: 4 x L4 and 4 x RTX 4090 start 0.86 and 0.91 GiB below total.
STARTUP_OVERHEAD_GIB = 1.0
OVERHEAD_PER_PEER_GIB = 0.3


def startup_overhead_gib(gpus_per_node: int, nvlink: bool = True) -> float:
    peers = max(gpus_per_node - 1, 0) if nvlink or gpus_per_node <= 2 else 0
    return STARTUP_OVERHEAD_GIB + OVERHEAD_PER_PEER_GIB * peers

KV_DTYPE_BYTES = {None: None, "auto": None, "bf16": 2, "bfloat16": 2, "fp8_e4m3": 1, "fp8_e5m2": 1}


@dataclass(frozen=True)
class Layout:
    """The parallel layout of one engine (one rank = one GPU)."""

    tp: int = 1
    pp: int = 1
    attn_dp: int = 1  # attention-DP width: attention runs with tp // attn_dp ranks per group
    ep: int = 1
    deepep: bool = False  # --moe-a2a-backend deepep/mooncake: shared experts unsplit (tp_size=1)
    moe_dense_tp: int | None = None  # --moe-dense-tp-size (1: dense MLPs replicated per rank)
    dp_lm_head: bool = False
    redundant_experts: int = 0

    @property
    def attn_tp(self) -> int:
        return self.tp // self.attn_dp

    @property
    def moe_tp(self) -> int:
        return self.tp // self.ep


def _linear(params: float, model: ModelFacts) -> float:
    """Bytes of a Linear layer's weight in the released dtype (fp8: + its block scales)."""
    if model.weight_dtype == "fp8":
        return params + params / FP8_BLOCK * 4
    return params * BF16


def _kv_heads_per_rank(model: ModelFacts, attn_tp: int) -> int:
    # ModelConfig.get_num_kv_heads: max(1, total // tp); heads are replicated when tp > kv heads.
    return max(1, model.num_key_value_heads // attn_tp)


def attention_bytes(model: ModelFacts, lay: Layout) -> float:
    """One layer's attention weights on one rank."""
    h, heads, tp = model.hidden_size, model.num_attention_heads, lay.attn_tp
    if model.mla:
        qk = model.qk_nope_head_dim + model.qk_rope_head_dim
        # Replicated (ReplicatedLinear): q_a_proj / fused_qkv_a_proj_with_mqa, kv_a_proj_with_mqa.
        replicated = (h * model.q_lora_rank if model.q_lora_rank else 0) + h * (model.kv_lora_rank + model.qk_rope_head_dim)
        q = model.q_lora_rank * heads * qk if model.q_lora_rank else h * heads * qk
        kv_b = model.kv_lora_rank * heads * (model.qk_nope_head_dim + model.v_head_dim)
        o = heads * model.v_head_dim * h
        # post_load_weights keeps kv_b_proj and adds w_kc / w_vc: a second copy, dequantized to
        # bf16 on CUDA with 128x128 fp8 blocks (block_quant_dequant), split per head like kv_b_proj.
        return _linear(replicated + (q + kv_b + o) / tp, model) + kv_b / tp * BF16
    d = model.attention_head_dim
    kv = _kv_heads_per_rank(model, tp)
    params = h * heads * d / tp + 2 * h * kv * d + heads * d * h / tp
    bias = (heads * d / tp + 2 * kv * d) * BF16 if model.attention_bias else 0
    return _linear(params, model) + bias


def dense_mlp_bytes(model: ModelFacts, lay: Layout) -> float:
    """One dense (non-MoE) layer's MLP on one rank: split over the whole TP group, or whole with
    --moe-dense-tp-size 1 on a MoE model (deepseek_v2.py enable_moe_dense_fully_dp)."""
    split = 1 if (lay.moe_dense_tp == 1 and model.moe) else lay.tp
    return _linear(3 * model.hidden_size * model.intermediate_size / split, model)


def moe_bytes(model: ModelFacts, lay: Layout) -> float:
    """One MoE layer on one rank: its routed experts, shared experts and router."""
    expert = 3 * model.hidden_size * model.moe_intermediate_size
    if lay.ep > 1:
        # Physical experts (routed + redundant) spread over ep ranks, each split over moe_tp.
        routed = (model.n_routed_experts + lay.redundant_experts) / lay.ep * expert / lay.moe_tp
    else:
        routed = model.n_routed_experts * expert / lay.tp
    # Shared experts: tp_size=1 (whole on every rank) with the deepep/mooncake all-to-all, else
    # split over the TP group (or fused into the routed experts, split the same way).
    shared = model.n_shared_experts * expert / (1 if lay.deepep else lay.tp)
    router = model.hidden_size * model.n_routed_experts * BF16
    return _linear(routed + shared, model) + router


def layers_per_stage(model: ModelFacts, lay: Layout) -> int:
    return math.ceil(model.num_hidden_layers / lay.pp)


def weight_bytes_per_gpu(model: ModelFacts, lay: Layout) -> float:
    """Weights on the fullest rank (with pipeline parallelism: the first or last stage)."""
    layers = layers_per_stage(model, lay)
    # Stage 0 holds the first layers (the dense ones of a MoE model); the last stage the rest.
    def stage(first_layer: int) -> float:
        total = 0.0
        for i in range(first_layer, min(first_layer + layers, model.num_hidden_layers)):
            total += attention_bytes(model, lay)
            dense = not model.moe or i < model.first_k_dense_replace
            total += dense_mlp_bytes(model, lay) if dense else moe_bytes(model, lay)
            total += 2 * model.hidden_size * BF16  # the two RMSNorms
        return total

    vocab = model.vocab_size * model.hidden_size * BF16
    # VocabParallelEmbedding(enable_tp=not dp_attention): whole on every rank under DP attention.
    embed = vocab / (1 if lay.attn_dp > 1 else lay.tp)
    # ParallelLMHead(use_attn_tp_group=enable_dp_lm_head); tied to the embedding when pp == 1.
    head = 0.0 if (model.tie_word_embeddings and lay.pp == 1) else vocab / (lay.attn_tp if lay.dp_lm_head else lay.tp)
    if lay.pp == 1:
        return stage(0) + embed + head
    first = stage(0) + embed
    last = stage((lay.pp - 1) * layers) + head
    return max(first, last)


def kv_bytes_per_token(model: ModelFacts, lay: Layout, dtype_bytes: int) -> int:
    """profile_max_num_token's cell_size: KV bytes per token on one rank (its pipeline stage's layers)."""
    layers = layers_per_stage(model, lay)
    if model.mla:
        return (model.kv_lora_rank + model.qk_rope_head_dim) * layers * dtype_bytes
    return _kv_heads_per_rank(model, lay.attn_tp) * model.attention_head_dim * layers * 2 * dtype_bytes


def default_chunked_prefill_size(gpu_mib: int) -> int:
    """server_args.py _handle_gpu_memory_settings (CUDA branches) in 0.5.6.post2."""
    if gpu_mib < 20 * 1024:
        return 2048
    if gpu_mib < 35 * 1024:
        return 2048
    if gpu_mib < 60 * 1024:
        return 4096
    if gpu_mib < 160 * 1024:
        return 8192
    return 16384


def default_cuda_graph_max_bs(gpu_mib: int, tp: int) -> int:
    if gpu_mib < 20 * 1024:
        return 8
    if gpu_mib < 35 * 1024:
        return 24 if tp < 4 else 80
    if gpu_mib < 60 * 1024:
        return 32 if tp < 4 else 160
    if gpu_mib < 160 * 1024:
        return 256 if tp < 4 else 512
    return 512


def default_mem_fraction_056(gpu_mib: int, tp: int, pp: int, attn_dp: int, chunked_prefill_size: int,
                             max_prefill_tokens: int, cuda_graph_max_bs: int, piecewise_max_tokens: int | None = None) -> float:
    """SGLang 0.5.6.post2's default --mem-fraction-static (no speculative decoding, text-only model)."""
    reserved = 512.0
    if chunked_prefill_size > 0:
        reserved += max(chunked_prefill_size, 2048) * 1.5
    else:
        reserved += max(max_prefill_tokens, 2048) * 1.5
    reserved += cuda_graph_max_bs * 2
    reserved += tp * pp / 8 * 1024
    if attn_dp > 1:
        reserved += cuda_graph_max_bs * attn_dp * 3
        if cuda_graph_max_bs > 300:
            reserved += cuda_graph_max_bs * attn_dp * 1.5
    if gpu_mib > 60 * 1024:
        reserved = max(reserved, 10 * 1024)
    if piecewise_max_tokens:
        reserved += piecewise_max_tokens // 4
    return round((gpu_mib - reserved) / gpu_mib, 3)


@dataclass(frozen=True)
class Pool:
    start_gib: float  # what SGLang measures at start (total_gpu_memory in profile_max_num_token)
    budget_gib: float  # start x mem_fraction_static: weights + KV pool
    rest_gib: float  # budget - weights: the KV pool (negative: SGLang stops, "Not enough memory")
    tokens: int  # KV pool tokens per rank, rounded down to whole pages


def kv_pool(gpu_mib: int, mem_fraction_static: float, weights_bytes: float, cell_bytes: int, page_size: int,
            gpus_per_node: int = 1, nvlink: bool = True) -> Pool:
    start = gpu_mib * MIB / GIB - startup_overhead_gib(gpus_per_node, nvlink)
    budget = start * mem_fraction_static
    rest = budget - weights_bytes / GIB
    tokens = int(rest * GIB // cell_bytes) if rest > 0 else 0
    tokens = tokens // page_size * page_size
    return Pool(start, budget, rest, tokens)


def default_running_requests_per_rank(pool_tokens: int, context_length: int) -> int:
    """What a rank admits without --max-running-requests: tp_worker.py caps it at half the pool's
    tokens and at the request pool, whose size init_memory_pool derives from the pool and context."""
    max_num_reqs = min(max(int(pool_tokens / context_length * 512), 2048), 4096)
    return min(pool_tokens // 2, max_num_reqs)
