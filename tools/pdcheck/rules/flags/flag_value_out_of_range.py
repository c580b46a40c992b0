from dataclasses import dataclass
from typing import Callable

from ...findings import Severity
from ...model import Flag, version_guess_note
from ...sglang import SRC_056, SRC_0523, a2a_backend
from .._util import engine_containers, flag_path
from ..base import Problem, Rule
from ._helpers import at_most, program_text, where


V056, V0523 = "0.5.6.post2", "0.5.23"


@dataclass(frozen=True)
class Range:
    option: str
    cannot_work: Callable[[float, object], bool]  # (value, container) -> True when it cannot work
    allowed: str
    why: str  # what SGLang does with the value, from its source (0.5.6.post2)
    versions: tuple = (V056, V0523)  # catalog versions whose source shows it (others: not judged)


def aiter_factor(c) -> float:
    """0.85 where SGLang may scale the memory fraction down: the aiter attention backend (AMD; the
    automatic choice there) with a context over 8192 tokens multiplies it by 0.85 (server_args.py
    _handle_attention_backend_compatibility); else 1."""
    backend = c.flag("--attention-backend")
    amd = "rocm" in c.image.lower() or "amd.com/gpu" in str(c.spec.get("resources"))
    return 0.85 if backend.value == "aiter" or (not backend.written and amd) else 1.0


def overridden_graph_sizes(c) -> bool:
    """--cuda-graph-bs (its max replaces --cuda-graph-max-bs) or diffusion LLM inference (which
    captures batch size 1 only): server_args.py __post_init__ and _handle_dllm_inference."""
    return c.flag("--cuda-graph-bs").written or c.flag("--dllm-algorithm").written


# Values SGLang replaces are not judged: --page-size (the flashmla, cutlass_mla, trtllm_*, fa4 and
# intel_xpu attention backends, some picked automatically per GPU, and DeepSeek NSA models set their
# own: server_args.py _handle_attention_backend_compatibility), --ep-size under an all-to-all
# backend that spans the TP group, --pp-size under --dllm-algorithm.
# Sentinels stay unjudged: an unset flag (None: SGLang picks a value) and --chunked-prefill-size
# <= 0, which disables chunked prefill (managers/scheduler.py: `if self.chunked_prefill_size <= 0:
# # -1 means disable`).
RANGES = (
    Range("--mem-fraction-static", lambda v, c: v <= 0 or v * aiter_factor(c) >= 1, "strictly between 0 and 1",
          "the KV cache gets `free memory - total memory x (1 - fraction)` (model_runner.py profile_max_num_token): "
          "0 or less leaves it nothing and SGLang raises 'Not enough memory', 1 or more leaves no memory for "
          "activations and CUDA graphs"),
    Range("--max-running-requests", lambda v, c: v < 1, "at least 1",
          "tp_worker.py asserts max_running_requests > 0 ('max_running_request is zero')", (V056,)),
    Range("--max-queued-requests", lambda v, c: v < 1, "at least 1",
          "tp_worker.py asserts max_queued_requests >= 1 when it is set", (V056,)),
    Range("--max-total-tokens", lambda v, c: v < 1, "at least 1",
          "the KV pool is capped at it, and a pool of 0 tokens or less raises 'Not enough memory' (model_runner.py)", (V056,)),
    Range("--context-length", lambda v, c: v < 1, "at least 1",
          "model_runner.py sizes the request pool as max_total_num_tokens / context_len * 512 (a division by "
          "zero at 0) and rejects every request longer than the context"),
    Range("--tp-size", lambda v, c: v < 1, "at least 1",
          "entrypoints/engine.py starts tp_size // nnodes scheduler processes per node (none) and then reads "
          "the first one's info"),
    Range("--pp-size", lambda v, c: v < 1 and not c.flag("--dllm-algorithm").written, "at least 1",
          "entrypoints/engine.py divides nnodes by pp_size"),
    Range("--dp-size", lambda v, c: v < 1, "at least 1",
          "managers/data_parallel_controller.py starts dp_size workers (none) and then reads the first one's info", (V056,)),
    Range("--nnodes", lambda v, c: v < 1, "at least 1",
          "check_server_args computes (tp_size * pp_size) % nnodes"),
    # an all-to-all backend that spans the TP group overwrites ep_size with tp_size (_handle_a2a_moe)
    Range("--ep-size", lambda v, c: v < 1 and not a2a_backend(c)[1], "at least 1",
          "entrypoints/engine.py computes each rank's expert-parallel rank as tp_rank // (tp_size // ep_size)"),
    Range("--cuda-graph-max-bs", lambda v, c: v < 1 and not (c.bool_flag("--disable-cuda-graph") or overridden_graph_sizes(c)),
          "at least 1 (or --disable-cuda-graph)",
          "server_args.py keeps only the CUDA-graph batch sizes <= cuda_graph_max_bs, and cuda_graph_runner.py "
          "asserts that at least one is left", (V056,)),
)


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        for r in RANGES:
            flag = c.flag(r.option)
            value = flag.value
            if flag.state != Flag.EXPLICIT or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if c.parsed.catalog.version not in r.versions:
                continue  # not verified in this release's source
            if r.cannot_work(value, c):
                yield Problem(wl.obj, flag_path(c, r.option),
                              f"{where(wl, pod, c)}: {r.option} {value} passes argument parsing but cannot work "
                              f"({r.why}; read in SGLang {c.parsed.catalog.version}'s source)" + version_guess_note(c),
                              f"set {r.option} to a value {r.allowed}, or drop it to let {program_text(c)} choose",
                              at_most=at_most(c))


RULE = Rule(
    id="flag-value-out-of-range",
    severity=Severity.ERROR,
    summary="Flag value SGLang accepts at parsing but that cannot work (a zero size, a fraction outside (0, 1))",
    doc="""argparse checks only a value's type: `--mem-fraction-static 1.5`, `--max-running-requests 0`
or `--context-length 0` pass it, and SGLang fails later, at start or at the first request, after the
weights are loaded. Each range here comes from what SGLang does with the value in 0.5.6.post2, and
is applied to another release only where its source shows the same (0.5.23: the memory fraction,
context length and the tp/pp/ep/nnodes sizes; it clamps the per-rank running-request
limit to at least 1 and reads `--max-total-tokens 0` as unset, so those and the others are not
judged there; 0.4.10.post2 is not judged):
`--mem-fraction-static` strictly between 0 and 1 (`model_runner.py` `profile_max_num_token`);
`--max-running-requests`, `--max-queued-requests`, `--max-total-tokens`, `--context-length`,
`--tp-size`, `--pp-size`, `--dp-size`, `--nnodes`, `--ep-size` at least 1 (`tp_worker.py`,
`model_runner.py`, `entrypoints/engine.py`, `data_parallel_controller.py`, `check_server_args`);
`--cuda-graph-max-bs` at least 1 unless CUDA graphs are disabled (`cuda_graph_runner.py`
`get_batch_sizes_to_capture`). Values SGLang replaces before use are not judged: `--page-size`
(several attention backends, some chosen automatically per GPU, and DeepSeek NSA models set their
own page size), `--ep-size` under DeepEP/Mooncake all-to-all (ep = tp), `--pp-size` and
`--cuda-graph-max-bs` under `--dllm-algorithm` or `--cuda-graph-bs`; on AMD (the aiter backend) a
fraction is judged after the 0.85 scaling aiter applies for long contexts. Sentinels are not judged: an
unset flag lets SGLang choose, and `--chunked-prefill-size` 0 or -1 disables chunked prefill
(`scheduler.py`). Values only known when the pod runs are not judged.""",
    links=(
        SRC_056 + "model_executor/model_runner.py",
        SRC_056 + "managers/tp_worker.py",
        SRC_056 + "entrypoints/engine.py",
        SRC_056 + "managers/data_parallel_controller.py",
        SRC_056 + "model_executor/cuda_graph_runner.py",
        SRC_056 + "managers/scheduler.py",
        SRC_0523 + "managers/tp_worker.py",
    ),
    check=check,
)
