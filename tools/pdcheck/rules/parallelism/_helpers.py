"""Shared by the parallelism rules: the routed experts of a model and a decode engine's CUDA graphs
(SGLang's layout is ContainerRun.layout)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...model import ContainerRun, as_int, known_at_render
from ...sglang import a2a_backend

NUM_EXPERTS_ANNOTATION = "pdcheck.io/num-experts"


# --- routed experts -------------------------------------------------------------------------

# Routed (not shared) experts of well-known checkpoints, matched on the last component of
# --model-path (case-insensitive, '_' read as '-'). From the Hugging Face configs:
# DeepSeek-V3/R1 `n_routed_experts: 256`, Qwen3-30B-A3B and Qwen3-235B-A22B `num_experts: 128`.
# SGLang reads exactly these keys (models/deepseek_v2.py, models/qwen3_moe.py
# get_model_config_for_expert_location).
KNOWN_EXPERTS = (
    (re.compile(r"deepseek-(r1|v3)(?!.*distill)"), 256),
    (re.compile(r"qwen3-30b-a3b"), 128),
    (re.compile(r"qwen3-235b-a22b"), 128),
)


def routed_experts(wl, pod, c: ContainerRun) -> tuple[int | None, str]:
    """(routed experts, where the number comes from), or (None, '') when unknown."""
    for where, notes in (("pod template", pod.annotations), ("workload", wl.obj.annotations)):
        if isinstance(notes, dict) and NUM_EXPERTS_ANNOTATION in notes:
            n = as_int(notes[NUM_EXPERTS_ANNOTATION])
            return (n, f"annotation {NUM_EXPERTS_ANNOTATION} on the {where}") if n and n > 0 else (None, "")
    path = c.str_flag("--model-path")
    if not isinstance(path, str) or not known_at_render(path):
        return None, ""
    name = path.rstrip("/").rsplit("/", 1)[-1].lower().replace("_", "-")
    for pattern, n in KNOWN_EXPERTS:
        if pattern.search(name):
            return n, f"model {path.rstrip('/').rsplit('/', 1)[-1]}"
    return None, ""


# --- decode CUDA graphs against running requests ----------------------------------------------


def graph_max_bs(c: ContainerRun):
    """(flag, largest captured decode batch) or (None, None) when unknown or graphs are off."""
    if c.flag("--cuda-graph-max-bs-decode").exists:  # 0.5.23+: per-phase flags
        if c.bool_flag("--disable-cuda-graph") or c.bool_flag("--disable-decode-cuda-graph"):
            return None, None
        if c.str_flag("--cuda-graph-backend-decode") == "disabled" or c.flag("--cuda-graph-bs-decode").written \
                or c.flag("--cuda-graph-config").written:
            return None, None
        flag = "--cuda-graph-max-bs-decode"
    else:
        if c.bool_flag("--disable-cuda-graph") or c.flag("--cuda-graph-bs").written:
            return None, None
        backend, _ = a2a_backend(c)
        if backend == "deepep" and c.str_flag("--deepep-mode") == "normal":
            return None, None  # 0.5.6: deepep normal mode disables CUDA graphs
        flag = "--cuda-graph-max-bs"
    if not c.flag(flag).written:
        return None, None  # the default depends on the GPU
    return flag, c.int_flag(flag)


@dataclass
class DecodeGraphs:
    """A decode engine's largest CUDA-graph batch and the requests one of its ranks may batch."""

    flag: str  # the option that sets the largest captured batch
    max_bs: int
    running: int  # --max-running-requests, for the whole engine
    attn_dp: int  # attention-DP groups the running requests are split over (1 without DP attention)
    tp: int | None

    @property
    def per_rank(self) -> int:
        """The largest batch one decode rank runs (managers/tp_worker.py: max_running_requests // dp)."""
        return self.running // self.attn_dp

    def split_text(self) -> str:
        return f" // {self.attn_dp} attention-DP groups" if self.attn_dp > 1 else ""


def decode_graphs(c: ContainerRun) -> DecodeGraphs | None:
    """The CUDA-graph limit and running requests of a decode engine, or None when either is not
    known at render time (limit left to its GPU-dependent default, graphs off, unresolved values)."""
    lay = c.layout
    if lay is None or lay.role != "decode":
        return None
    flag, max_bs = graph_max_bs(c)
    running = c.int_flag("--max-running-requests")
    if max_bs is None or running is None or lay.attn_dp is None or lay.attn_dp < 1 or max_bs <= 0:
        return None
    if lay.dp and lay.dp > 1 and lay.nnodes and lay.nnodes > 1:
        return None  # does not start at all: multinode-dp-without-dp-attention
    return DecodeGraphs(flag, max_bs, running, lay.attn_dp, lay.tp)


MAX_CAPTURED_BS = 1 << 20  # far above any decode batch a GPU holds


def captured_batch_sizes(limit: int) -> list[int]:
    """The decode batch sizes SGLang 0.5.6.post2 captures up to `limit` without speculative
    decoding (server_args.py `_generate_cuda_graph_batch_sizes`): a batch runs in the graph of the
    smallest size that holds it."""
    limit = min(limit, MAX_CAPTURED_BS)  # a 400-digit limit must not become a list (OverflowError, memory)
    sizes = [1, 2, 4, 8, 12] + list(range(16, 257, 8)) + list(range(272, 512, 16)) + list(range(512, limit + 1, 32))
    return [bs for bs in sizes if bs <= limit]
