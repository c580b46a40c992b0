"""Every engine flag the capacity plan reads, in one place.

The plan reads a container's flags only here, through the model's flag API (`c.flag`,
`c.int_flag`, `c.layout`), into one EngineSettings. A flag written with a value only known at run
time (<placeholders>, unresolved $(VAR)) is listed in `unresolved`: the plan says so instead of
using a default.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import ContainerRun, Flag, PodRun
from ..rules._util import gpu_count
from ..sglang import a2a_backend

MODEL_ANNOTATION = "pdcheck.io/model"
GPU_ANNOTATION = "pdcheck.io/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


@dataclass(frozen=True)
class EngineSettings:
    """What one engine rank runs with, as SGLang will resolve it (None: not known before it runs)."""

    role: str  # prefill | decode | null (plain SGLang) | unknown (only known at run time)
    sglang_version: str
    model_path: str | None
    model_annotation: str | None  # pdcheck.io/model on the pod template
    gpu_label: str | None  # the GPU the pod declares (see _gpu_label)
    gpu_label_source: str | None
    gpus_per_pod: int | None
    tp: int | None
    pp: int | None
    nnodes: int | None
    attn_dp: int | None  # attention-DP width (1 without DP attention)
    ep: int | None
    a2a_backend: str | None
    moe_dense_tp: int | None
    dp_lm_head: bool
    redundant_experts: int
    kv_cache_dtype: str | None
    page_size: int | None
    mem_fraction_static: float | None  # None: SGLang's default
    context_length: int | None  # None: the model's own
    max_running_requests: int | None  # None: derived from the pool
    chunked_prefill_size: int | None  # None: SGLang's GPU-dependent default
    max_prefill_tokens: int | None
    cuda_graph_max_bs: int | None  # None: SGLang's GPU-dependent default
    speculative_algorithm: str | None
    piecewise_cuda_graph: bool
    unresolved: tuple[str, ...] = ()  # flags written with a value only known at run time


# Flags whose value the plan uses: written but unknown at render time means no plan, not a default.
PLANNED_FLAGS = ("--disaggregation-mode", "--tp-size", "--pp-size", "--dp-size", "--ep-size", "--moe-dense-tp-size",
                 "--ep-num-redundant-experts", "--kv-cache-dtype", "--page-size", "--mem-fraction-static",
                 "--context-length", "--max-running-requests", "--chunked-prefill-size",
                 "--max-prefill-tokens", "--cuda-graph-max-bs")


def _written_int(c: ContainerRun, option: str) -> int | None:
    """The value when the flag is written, else None (the plan then uses SGLang's own default)."""
    flag = c.flag(option)
    return c.int_flag(option) if flag.state == Flag.EXPLICIT else None


def _written_float(c: ContainerRun, option: str) -> float | None:
    flag = c.flag(option)
    if flag.state != Flag.EXPLICIT or isinstance(flag.value, bool) or not isinstance(flag.value, (int, float)):
        return None
    return float(flag.value)


def _gpu_label(pod: PodRun) -> tuple[str | None, str | None]:
    """(GPU name, where it was read): GPU feature discovery's nvidia.com/gpu.product in the
    nodeSelector or in a required node-affinity term with one value (what schedules the pod), else
    the pdcheck.io/gpu annotation (a declaration without scheduling effect)."""
    spec = pod.spec
    selector = spec.get("nodeSelector")
    if isinstance(selector, dict) and selector.get(GPU_PRODUCT_LABEL):
        return str(selector[GPU_PRODUCT_LABEL]), f"nodeSelector {GPU_PRODUCT_LABEL}"
    terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") \
        if isinstance(spec.get("affinity"), dict) else None
    for term in terms if isinstance(terms, list) else []:
        for expr in (term.get("matchExpressions") or []) if isinstance(term, dict) else []:
            if isinstance(expr, dict) and expr.get("key") == GPU_PRODUCT_LABEL and expr.get("operator") == "In":
                values = expr.get("values") or []
                if isinstance(values, list) and len(values) == 1:
                    return str(values[0]), f"required node affinity on {GPU_PRODUCT_LABEL}"
    for where, notes in (("pod template", pod.annotations), ("workload", pod.workload.obj.annotations)):
        if isinstance(notes, dict) and notes.get(GPU_ANNOTATION):
            return str(notes[GPU_ANNOTATION]), f"annotation {GPU_ANNOTATION} on the {where}"
    return None, None


def engine_settings(pod: PodRun, c: ContainerRun) -> EngineSettings:
    lay = c.layout
    backend, _ = a2a_backend(c)
    annotation = pod.annotations.get(MODEL_ANNOTATION) if isinstance(pod.annotations, dict) else None
    if annotation is None:
        annotation = pod.workload.obj.annotations.get(MODEL_ANNOTATION)
    graph_bs = c.flag("--cuda-graph-bs")
    graph_max = _written_int(c, "--cuda-graph-max-bs")
    if graph_bs.state == Flag.EXPLICIT and isinstance(graph_bs.value, list) and graph_bs.value \
            and all(isinstance(b, int) for b in graph_bs.value):
        graph_max = max(graph_bs.value)  # server_args: an explicit list sets cuda_graph_max_bs
    gpu, gpu_source = _gpu_label(pod)
    speculative = c.flag("--speculative-algorithm")
    return EngineSettings(
        role=lay.role or "unknown",
        sglang_version=c.parsed.catalog.version,
        model_path=c.str_flag("--model-path"),
        model_annotation=str(annotation) if annotation else None,
        gpu_label=gpu, gpu_label_source=gpu_source,
        gpus_per_pod=gpu_count(c),
        tp=lay.tp, pp=lay.pp, nnodes=lay.nnodes,
        attn_dp=lay.attn_dp,
        ep=lay.ep,
        a2a_backend=backend,
        moe_dense_tp=c.int_flag("--moe-dense-tp-size"),
        dp_lm_head=c.bool_flag("--enable-dp-lm-head"),
        redundant_experts=c.int_flag("--ep-num-redundant-experts") or 0,
        kv_cache_dtype=c.str_flag("--kv-cache-dtype"),
        page_size=c.int_flag("--page-size"),
        mem_fraction_static=_written_float(c, "--mem-fraction-static"),
        context_length=_written_int(c, "--context-length"),
        max_running_requests=_written_int(c, "--max-running-requests"),
        chunked_prefill_size=_written_int(c, "--chunked-prefill-size"),
        max_prefill_tokens=c.int_flag("--max-prefill-tokens"),
        cuda_graph_max_bs=graph_max,
        speculative_algorithm=str(speculative.value) if speculative.state == Flag.EXPLICIT and speculative.value else None,
        piecewise_cuda_graph=c.bool_flag("--enable-piecewise-cuda-graph"),
        unresolved=tuple(o for o in PLANNED_FLAGS if c.flag(o).state == Flag.RUNTIME),
    )
