"""SGLang semantics per catalog version: the parallel layout an engine resolves from its flags.

Rules read `ContainerRun.layout` (computed here once per container) instead of re-deriving it.

DP attention has two spellings:
- up to 0.5.x (0.4.10.post2, 0.5.6.post2): `--dp-size N --enable-dp-attention` makes N attention-DP
  groups inside the TP group. With `--dp-size 1` DP attention is off: 0.5.6 turns
  `enable_dp_attention` off again (server_args.py `_handle_data_parallelism`: `if self.dp_size == 1:
  self.enable_dp_attention = False`), 0.4.10 refuses to start (`assert self.dp_size > 1`);
- 0.5.23 (catalogs with `--attn-dp-size`): `--attn-dp-size N` is the attention-DP width and
  `--dp-size` counts whole replicas (world = dp x tp x pp). The deprecated `--enable-dp-attention`
  still works: with `--attn-dp-size` left at 1 it moves `--dp-size` into `attn_dp_size` and sets
  dp_size = 1 (sglang/srt/arg_groups/parallel_hook.py `handle_deprecated_dp_attention`).

Values only known at run time (<placeholders>, unresolved $(VAR)) come back as None: rules stay
silent on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import version_key
from .model import ContainerRun

SRC_056 = "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/"
SRC_0523 = "https://github.com/sgl-project/sglang/blob/v0.5.23/python/sglang/srt/"
SRC_0410 = "https://github.com/sgl-project/sglang/blob/v0.4.10.post2/python/sglang/srt/"


def at_least(c: ContainerRun, version: str) -> bool:
    """True when the container's catalog version is `version` or newer."""
    return version_key(c.parsed.catalog.version) >= version_key(version)


# --moe-a2a-backend values that make SGLang set ep_size = tp_size, per version:
# 0.4.10.post2 server_args.py (deepep), 0.5.6.post2 `_handle_a2a_moe` (deepep, mooncake,
# ascend_fuseep), 0.5.23 arg_groups/overrides.py `_A2A_EP_SPANNING_BACKENDS`.
_EP_SPANNING = (
    ("0.5.23", frozenset({"megamoe", "deepep", "deepep_v2", "mooncake", "nixl", "ascend_fuseep",
                          "flashinfer", "flashinfer_megamoe", "mori", "pplx"})),
    ("0.5.0", frozenset({"deepep", "mooncake", "ascend_fuseep"})),
    ("0.0", frozenset({"deepep"})),
)


def a2a_backend(c: ContainerRun) -> tuple[str | None, bool]:
    """(backend, True when it forces ep = tp) for the container's --moe-a2a-backend."""
    backend = c.str_flag("--moe-a2a-backend")
    if backend is None and c.bool_flag("--enable-deepep-moe"):  # deprecated 0.4.x spelling
        backend = "deepep"
    for version, names in _EP_SPANNING:
        if at_least(c, version):
            return backend, backend in names
    return backend, False


@dataclass(frozen=True)
class Layout:
    """How an SGLang engine container splits its work. None in a field: not known at render time."""

    tp: int | None
    pp: int | None
    nnodes: int | None
    node_rank: int  # --node-rank, else the pod's LWS worker index
    dp: int | None  # data-parallel workers that are NOT attention-DP groups (0.5.23: replicas)
    attn_dp: int | None  # attention-DP width (1 when DP attention is off)
    ep: int | None  # expert-parallel size (tp when the --moe-a2a-backend forces it)
    role: str | None  # --disaggregation-mode: 'prefill' | 'decode' | 'null'
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
    tp, pp, nnodes = c.int_flag("--tp-size"), c.int_flag("--pp-size"), c.int_flag("--nnodes")
    dp_flag = c.int_flag("--dp-size")
    enable = c.bool_flag("--enable-dp-attention")
    new_style = c.flag("--attn-dp-size").exists
    if new_style:
        attn_flag = c.int_flag("--attn-dp-size")
        if enable and attn_flag == 1:
            dp, attn_dp = 1, dp_flag
        else:
            dp, attn_dp = dp_flag, attn_flag
    elif dp_flag is None:
        dp = attn_dp = None
    elif enable and dp_flag > 1:
        dp, attn_dp = 1, dp_flag
    else:
        dp, attn_dp = dp_flag, 1
    _, forced = a2a_backend(c)
    ep = tp if forced else c.int_flag("--ep-size")
    node_rank = c.int_flag("--node-rank") if c.flag("--node-rank").written else None
    node_rank = c.rank if node_rank is None else node_rank
    mode = c.flag("--disaggregation-mode")
    role = "null" if not mode.exists else (str(mode.value) if mode.known and mode.value is not None else None)
    return Layout(tp, pp, nnodes, node_rank, dp, attn_dp, ep, role, new_style, enable)


def dp_attention_spelling(lay: Layout, n) -> str:
    """How to turn on DP attention of width n in this version."""
    if lay.new_style:
        return f"--attn-dp-size {n} (and --dp-size 1)"
    return f"--enable-dp-attention with --dp-size {n}"
