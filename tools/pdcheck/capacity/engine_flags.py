"""Every engine flag the capacity plan reads, in one place.

The plan reads a container's flags only through `engine_settings()`, so a change in how the model
exposes flags (one `flag` accessor, a precomputed layout) is a change here and nowhere else.
Values only known at run time (<placeholders>, unresolved $(VAR)) come back as None.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import ContainerRun, PodRun
from ..rules._util import catalog_value, flag_value, gpu_count, has_flag, known
from ..rules.parallelism._helpers import a2a_backend, ep_size, layout, mode

MODEL_ANNOTATION = "pdcheck.io/model"
GPU_ANNOTATION = "pdcheck.io/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


@dataclass(frozen=True)
class EngineSettings:
    """What one engine rank runs with, as SGLang will resolve it (None: not known before it runs)."""

    role: str  # prefill | decode | null
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


def _int(c: ContainerRun, flag: str, explicit_only: bool = False):
    value = flag_value(c, flag, None) if explicit_only else catalog_value(c, flag)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _float(c: ContainerRun, flag: str):
    value = flag_value(c, flag, None)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _str(c: ContainerRun, flag: str, explicit_only: bool = False):
    value = flag_value(c, flag, None) if explicit_only else catalog_value(c, flag)
    return value if isinstance(value, str) and known(value) else None


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


# Flags whose value the plan uses: written but unknown at render time means no plan, not a default.
PLANNED_FLAGS = ("--tp-size", "--pp-size", "--dp-size", "--ep-size", "--moe-dense-tp-size",
                 "--ep-num-redundant-experts", "--kv-cache-dtype", "--page-size", "--mem-fraction-static",
                 "--context-length", "--max-running-requests", "--chunked-prefill-size",
                 "--max-prefill-tokens", "--cuda-graph-max-bs")


def _unresolved(c: ContainerRun) -> tuple[str, ...]:
    out = []
    for flag in PLANNED_FLAGS:
        if has_flag(c, flag) and flag_value(c, flag, None) is None:
            out.append(flag)
        elif has_flag(c, flag) and isinstance(flag_value(c, flag, None), str) and not known(flag_value(c, flag, None)):
            out.append(flag)
    return tuple(out)


def engine_settings(pod: PodRun, c: ContainerRun) -> EngineSettings:
    lay = layout(c)
    backend, _ = a2a_backend(c)
    annotation = pod.annotations.get(MODEL_ANNOTATION) if isinstance(pod.annotations, dict) else None
    if annotation is None:
        annotation = pod.workload.obj.annotations.get(MODEL_ANNOTATION)
    graph_bs = flag_value(c, "--cuda-graph-bs", None)
    graph_max = _int(c, "--cuda-graph-max-bs", explicit_only=True)
    if isinstance(graph_bs, list) and graph_bs and all(isinstance(b, int) for b in graph_bs):
        graph_max = max(graph_bs)  # server_args: an explicit list sets cuda_graph_max_bs
    gpu, gpu_source = _gpu_label(pod)
    return EngineSettings(
        role=mode(c),
        sglang_version=c.parsed.catalog.version,
        model_path=_str(c, "--model-path"),
        model_annotation=str(annotation) if annotation else None,
        gpu_label=gpu, gpu_label_source=gpu_source,
        gpus_per_pod=gpu_count(c),
        tp=lay.tp, pp=lay.pp, nnodes=lay.nnodes,
        attn_dp=lay.attn_dp,
        ep=ep_size(c, lay),
        a2a_backend=backend,
        moe_dense_tp=_int(c, "--moe-dense-tp-size"),
        dp_lm_head=bool(flag_value(c, "--enable-dp-lm-head", False)),
        redundant_experts=_int(c, "--ep-num-redundant-experts") or 0,
        kv_cache_dtype=_str(c, "--kv-cache-dtype"),
        page_size=_int(c, "--page-size"),
        mem_fraction_static=_float(c, "--mem-fraction-static"),
        context_length=_int(c, "--context-length", explicit_only=True),
        max_running_requests=_int(c, "--max-running-requests", explicit_only=True),
        chunked_prefill_size=_int(c, "--chunked-prefill-size", explicit_only=True),
        max_prefill_tokens=_int(c, "--max-prefill-tokens"),
        cuda_graph_max_bs=graph_max,
        speculative_algorithm=_str(c, "--speculative-algorithm", explicit_only=True),
        piecewise_cuda_graph=bool(flag_value(c, "--enable-piecewise-cuda-graph", False)),
        unresolved=_unresolved(c),
    )
