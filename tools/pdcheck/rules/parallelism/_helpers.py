"""The parallel layout SGLang will resolve from a container's flags, per catalog version.

Two spellings of DP attention exist:
- up to 0.5.x (0.4.10.post2, 0.5.6.post2): `--dp-size N --enable-dp-attention` makes N attention-DP
  groups inside the TP group (python/sglang/srt/server_args.py `_handle_data_parallelism`; 0.5.6
  turns DP attention off again when dp == 1);
- 0.5.23 (catalogs with `--attn-dp-size`): `--attn-dp-size N` is the attention-DP width and
  `--dp-size` counts whole replicas (world = dp x tp x pp). The deprecated `--enable-dp-attention`
  still works: with `--attn-dp-size` left at 1 it moves `--dp-size` into `attn_dp_size` and sets
  dp_size = 1 (sglang/srt/arg_groups/parallel_hook.py `handle_deprecated_dp_attention`).

Values only known at run time (<placeholders>, unresolved $(VAR)) come back as None: rules stay
silent on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...catalog import version_key
from ...model import ContainerRun, as_int
from .._util import catalog_value, flag_value, has_flag, known

SRC_056 = "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/"
SRC_0523 = "https://github.com/sgl-project/sglang/blob/v0.5.23/python/sglang/srt/"
SRC_0410 = "https://github.com/sgl-project/sglang/blob/v0.4.10.post2/python/sglang/srt/"

NUM_EXPERTS_ANNOTATION = "pdcheck.io/num-experts"


def catalog_version(c: ContainerRun) -> str:
    return c.parsed.catalog.version


def at_least(c: ContainerRun, version: str) -> bool:
    return version_key(catalog_version(c)) >= version_key(version)


def knows(c: ContainerRun, flag: str) -> bool:
    """True when this version's parser has exactly one option for `flag`."""
    try:
        c.parsed.dest_of(flag)
        return True
    except KeyError:
        return False


def int_flag(c: ContainerRun, flag: str):
    """The int SGLang stores for `flag` (its default when absent); None when unknown or not an int."""
    value = catalog_value(c, flag)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def bool_flag(c: ContainerRun, flag: str) -> bool:
    return bool(flag_value(c, flag, False))


def str_flag(c: ContainerRun, flag: str):
    value = catalog_value(c, flag)
    return None if isinstance(value, str) and not known(value) else value


def mode(c: ContainerRun) -> str:
    value = str_flag(c, "--disaggregation-mode")
    return value if isinstance(value, str) else "null"


@dataclass
class Layout:
    tp: int | None
    pp: int | None
    nnodes: int | None
    dp: int | None  # data-parallel workers that are NOT attention-DP groups (0.5.23: replicas)
    attn_dp: int | None  # attention-DP width (1 when DP attention is off)
    new_style: bool  # the catalog has --attn-dp-size (0.5.23 semantics)
    dp_attention_flag: bool  # --enable-dp-attention written

    @property
    def dp_attention(self) -> bool:
        return self.attn_dp is not None and self.attn_dp > 1

    @property
    def dp_ranks(self) -> int | None:
        if self.dp is None or self.attn_dp is None:
            return None
        return self.dp * self.attn_dp


def layout(c: ContainerRun) -> Layout:
    tp, pp, nnodes = int_flag(c, "--tp-size"), int_flag(c, "--pp-size"), int_flag(c, "--nnodes")
    dp_flag = int_flag(c, "--dp-size")
    enable = bool_flag(c, "--enable-dp-attention")
    new_style = knows(c, "--attn-dp-size")
    if new_style:
        attn_flag = int_flag(c, "--attn-dp-size")
        if enable and attn_flag == 1:
            dp, attn_dp = 1, dp_flag
        else:
            dp, attn_dp = dp_flag, attn_flag
    else:
        if dp_flag is None:
            dp = attn_dp = None
        elif enable and dp_flag > 1:
            dp, attn_dp = 1, dp_flag
        else:
            dp, attn_dp = dp_flag, 1
    return Layout(tp, pp, nnodes, dp, attn_dp, new_style, enable)


def dp_attention_spelling(lay: Layout, n) -> str:
    """How to turn on DP attention of width n in this version."""
    if lay.new_style:
        return f"--attn-dp-size {n} (and --dp-size 1)"
    return f"--enable-dp-attention with --dp-size {n}"


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
    path = str_flag(c, "--model-path")
    if not isinstance(path, str) or "<" in path or "$(" in path:
        return None, ""
    name = path.rstrip("/").rsplit("/", 1)[-1].lower().replace("_", "-")
    for pattern, n in KNOWN_EXPERTS:
        if pattern.search(name):
            return n, f"model {path.rstrip('/').rsplit('/', 1)[-1]}"
    return None, ""


# --- expert parallelism ---------------------------------------------------------------------

# --moe-a2a-backend values that make SGLang set ep_size = tp_size, per version:
# 0.4.10.post2 server_args.py (deepep), 0.5.6.post2 `_handle_a2a_moe` (deepep, mooncake,
# ascend_fuseep), 0.5.23 arg_groups/overrides.py `_A2A_EP_SPANNING_BACKENDS`.
_EP_SPANNING = (
    ("0.5.23", frozenset({"megamoe", "deepep", "deepep_v2", "mooncake", "nixl", "ascend_fuseep",
                          "flashinfer", "flashinfer_megamoe", "mori", "pplx"})),
    ("0.5.0", frozenset({"deepep", "mooncake", "ascend_fuseep"})),
    ("0.0", frozenset({"deepep"})),
)


def a2a_backend(c: ContainerRun):
    """(backend, True when it forces ep = tp) for the container's --moe-a2a-backend."""
    backend = str_flag(c, "--moe-a2a-backend")
    if backend is None and bool_flag(c, "--enable-deepep-moe"):  # deprecated 0.4.x spelling
        backend = "deepep"
    for version, names in _EP_SPANNING:
        if at_least(c, version):
            return backend, backend in names
    return backend, False


def ep_size(c: ContainerRun, lay: Layout):
    """The expert-parallel size SGLang will use, or None when unknown."""
    _, forced = a2a_backend(c)
    if forced:
        return lay.tp
    return int_flag(c, "--ep-size")


# --- decode CUDA graphs against running requests ----------------------------------------------


def graph_max_bs(c: ContainerRun):
    """(flag, largest captured decode batch) or (None, None) when unknown or graphs are off."""
    if knows(c, "--cuda-graph-max-bs-decode"):  # 0.5.23+: per-phase flags
        if bool_flag(c, "--disable-cuda-graph") or bool_flag(c, "--disable-decode-cuda-graph"):
            return None, None
        if str_flag(c, "--cuda-graph-backend-decode") == "disabled" or has_flag(c, "--cuda-graph-bs-decode") \
                or has_flag(c, "--cuda-graph-config"):
            return None, None
        flag = "--cuda-graph-max-bs-decode"
    else:
        if bool_flag(c, "--disable-cuda-graph") or has_flag(c, "--cuda-graph-bs"):
            return None, None
        backend, _ = a2a_backend(c)
        if backend == "deepep" and str_flag(c, "--deepep-mode") == "normal":
            return None, None  # 0.5.6: deepep normal mode disables CUDA graphs
        flag = "--cuda-graph-max-bs"
    if not has_flag(c, flag):
        return None, None  # the default depends on the GPU
    return flag, int_flag(c, flag)


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
    if mode(c) != "decode":
        return None
    flag, max_bs = graph_max_bs(c)
    running = int_flag(c, "--max-running-requests")
    lay = layout(c)
    if max_bs is None or running is None or lay.attn_dp is None or lay.attn_dp < 1 or max_bs <= 0:
        return None
    if lay.dp and lay.dp > 1 and lay.nnodes and lay.nnodes > 1:
        return None  # does not start at all: multinode-dp-without-dp-attention
    return DecodeGraphs(flag, max_bs, running, lay.attn_dp, lay.tp)


def captured_batch_sizes(limit: int) -> list[int]:
    """The decode batch sizes SGLang 0.5.6.post2 captures up to `limit` without speculative
    decoding (server_args.py `_generate_cuda_graph_batch_sizes`): a batch runs in the graph of the
    smallest size that holds it."""
    sizes = [1, 2, 4, 8, 12] + list(range(16, 257, 8)) + list(range(272, 512, 16)) + list(range(512, limit + 1, 32))
    return [bs for bs in sizes if bs <= limit]
