"""The capacity plan of every engine role of a model: memory per GPU, KV pool per rank, what it holds.

`plan_model(model, options)` returns one RolePlan per engine workload (prefill, decode or plain
SGLang). A role whose plan cannot be made (unknown model or GPU, a value only known at run time, a
version whose default is not modelled) gets `plan=None` and the reason, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..model import Model, Workload
from ..rules._util import distinct_pods
from . import arithmetic as ar
from .engine_flags import GPU_ANNOTATION, GPU_PRODUCT_LABEL, MODEL_ANNOTATION, EngineSettings, engine_settings
from .facts import GIB, GpuFacts, ModelFacts, gpu_by_name, model_by_name

# The version whose default --mem-fraction-static and pool sizing this module follows.
MODELLED_VERSION = "0.5.6.post2"


@dataclass
class PlanOptions:
    gpu: str | None = None  # --gpu or .pdcheck.yaml `gpu`: wins over the pod's node selector
    gpu_source: str = "--gpu"
    model: ModelFacts | None = None  # --model-config DIR: wins over the annotation and the path


@dataclass
class Plan:
    gpu: GpuFacts
    gpu_source: str
    model: ModelFacts
    model_source: str
    layout: ar.Layout
    mem_fraction_static: float
    mem_fraction_source: str  # "--mem-fraction-static" or how SGLang's default was computed
    kv_dtype_bytes: int
    page_size: int
    context_length: int
    weights_gib_per_gpu: float
    kv_bytes_per_token: int
    pool: ar.Pool
    max_running_requests: int  # configured, or SGLang's derived default
    max_running_requests_source: str
    running_requests_per_rank: int
    prefill_tokens_per_rank: int | None  # the larger of chunked prefill per DP rank and --max-prefill-tokens
    prefill_tokens_flag: str | None

    @property
    def kv_tokens_per_rank(self) -> int:
        return self.pool.tokens

    @property
    def kv_pool_gib(self) -> float:
        return max(self.pool.rest_gib, 0.0)

    @property
    def headroom_gib(self) -> float:
        """Memory SGLang starts from that is outside the static budget: activations, CUDA graphs, buffers."""
        return self.pool.start_gib - self.pool.budget_gib

    @property
    def full_context_requests_per_rank(self) -> int:
        return self.pool.tokens // self.context_length if self.context_length else 0

    @property
    def weights_fit(self) -> bool:
        return self.pool.rest_gib > 0


@dataclass
class RolePlan:
    workload: Workload
    role: str
    settings: EngineSettings | None
    plan: Plan | None = None
    reasons: list[str] = field(default_factory=list)  # why there is no plan
    opted_in: bool = False  # the input names a model or GPU (pdcheck.io/model, gpu.product, --gpu/config)


def _model_for(settings: EngineSettings, options: PlanOptions) -> tuple[ModelFacts | None, str, str | None]:
    """(facts, where they come from, why unknown)."""
    if options.model is not None:
        return options.model, f"--model-config {options.model.source}", None
    if settings.model_annotation:
        facts = model_by_name(settings.model_annotation)
        if facts is None:
            return None, "", f"model {settings.model_annotation!r} (annotation {MODEL_ANNOTATION}) is not in pdcheck's model facts; give its config.json with --model-config DIR"
        return facts, f"annotation {MODEL_ANNOTATION}", None
    if settings.model_path:
        name = PurePosixPath(settings.model_path.rstrip("/")).name
        facts = model_by_name(name) if name else None
        if facts is not None:
            return facts, f"--model-path basename {name!r}", None
        return None, "", f"--model-path {settings.model_path} names no known model; annotate the pod template with {MODEL_ANNOTATION}: <hf-id> or give --model-config DIR"
    return None, "", "the model is unknown (no --model-path)"


def _gpu_for(settings: EngineSettings, options: PlanOptions) -> tuple[GpuFacts | None, str, str | None]:
    name, source = (options.gpu, options.gpu_source) if options.gpu else (settings.gpu_label, settings.gpu_label_source)
    if not name:
        return None, "", (f"the GPU is unknown: select nodes by {GPU_PRODUCT_LABEL}, annotate the pod template with "
                          f"{GPU_ANNOTATION}, or set `gpu:` in .pdcheck.yaml or --gpu")
    gpu = gpu_by_name(name)
    if gpu is None:
        return None, "", f"GPU {name!r} ({source}) is not in pdcheck's GPU facts"
    return gpu, f"{source} {name}", None


def _layout(s: EngineSettings, model: ModelFacts, reasons: list[str]) -> ar.Layout | None:
    if s.tp is None or s.pp is None or s.attn_dp is None:
        reasons.append("the tensor/pipeline/attention-DP sizes are only known at run time")
        return None
    if s.tp % s.attn_dp:
        reasons.append(f"--tp-size {s.tp} is not a multiple of the attention-DP size {s.attn_dp} (SGLang refuses it)")
        return None
    ep = s.ep or 1
    if model.moe and (s.tp % ep or (model.n_routed_experts + s.redundant_experts) % ep):
        reasons.append(f"ep {ep} does not divide tp {s.tp} or the {model.n_routed_experts} + {s.redundant_experts} experts")
        return None
    return ar.Layout(tp=s.tp, pp=s.pp, attn_dp=s.attn_dp, ep=ep,
                     deepep=s.a2a_backend in ("deepep", "mooncake"), moe_dense_tp=s.moe_dense_tp,
                     dp_lm_head=s.dp_lm_head and s.attn_dp > 1,
                     redundant_experts=s.redundant_experts if ep > 1 else 0)


def _mem_fraction(s: EngineSettings, gpu: GpuFacts, lay: ar.Layout, reasons: list[str]) -> tuple[float | None, str]:
    if s.mem_fraction_static is not None:
        return s.mem_fraction_static, "--mem-fraction-static"
    if s.sglang_version != MODELLED_VERSION:
        reasons.append(f"SGLang {s.sglang_version}'s default --mem-fraction-static is not modelled (only {MODELLED_VERSION}'s): set the flag")
        return None, ""
    chunked = s.chunked_prefill_size if s.chunked_prefill_size is not None else ar.default_chunked_prefill_size(gpu.memory_mib)
    graph = s.cuda_graph_max_bs if s.cuda_graph_max_bs is not None else ar.default_cuda_graph_max_bs(gpu.memory_mib, lay.tp)
    fraction = ar.default_mem_fraction_056(gpu.memory_mib, lay.tp, lay.pp, lay.attn_dp, chunked,
                                           s.max_prefill_tokens or 16384, graph)
    return fraction, f"SGLang {MODELLED_VERSION} default for {gpu.memory_mib} MiB (chunked prefill {chunked}, CUDA-graph bs {graph})"


def _gpus_per_node(s: EngineSettings, lay: ar.Layout) -> int:
    """GPUs of one rank's node: the pod's GPU request, else the ranks per node the layout implies."""
    ranks = lay.tp * lay.pp
    if s.gpus_per_pod:
        return min(s.gpus_per_pod, ranks)
    return min(ranks // (s.nnodes or 1) or 1, 8)


def plan_engine(wl: Workload, settings: EngineSettings, options: PlanOptions) -> RolePlan:
    rp = RolePlan(wl, settings.role, settings)
    rp.opted_in = bool(options.gpu or options.model or settings.model_annotation or settings.gpu_label)
    reasons = rp.reasons
    model, model_source, why = _model_for(settings, options)
    if why:
        reasons.append(why)
    gpu, gpu_source, why = _gpu_for(settings, options)
    if why:
        reasons.append(why)
    if settings.unresolved:
        reasons.append(f"{', '.join(settings.unresolved)} only known at run time")
    if settings.speculative_algorithm:
        reasons.append(f"speculative decoding ({settings.speculative_algorithm}) adds draft-model weights and KV that are not modelled")
    if model is None or gpu is None or reasons:
        return rp
    lay = _layout(settings, model, reasons)
    dtype = ar.KV_DTYPE_BYTES.get(settings.kv_cache_dtype, "unknown")
    if dtype == "unknown":
        reasons.append(f"--kv-cache-dtype {settings.kv_cache_dtype} is not modelled")
    if lay is None or reasons:
        return rp
    fraction, fraction_source = _mem_fraction(settings, gpu, lay, reasons)
    if fraction is None:
        return rp
    dtype_bytes = dtype or 2  # auto: the model dtype (bf16); fp8 checkpoints keep a bf16 KV cache
    page = settings.page_size or 1
    context = settings.context_length or model.max_position_embeddings
    if not context:
        reasons.append("the context length is unknown (no --context-length, no max_position_embeddings)")
        return rp
    weights = ar.weight_bytes_per_gpu(model, lay)
    cell = ar.kv_bytes_per_token(model, lay, dtype_bytes)
    pool = ar.kv_pool(gpu.memory_mib, fraction, weights, cell, page, _gpus_per_node(settings, lay), gpu.nvlink)
    if settings.max_running_requests is not None:
        mrr, mrr_source = settings.max_running_requests, "--max-running-requests"
        # tp_worker.py: each attention-DP worker admits its share.
        per_rank = mrr // lay.attn_dp if lay.attn_dp > 1 else mrr
    else:
        per_rank = ar.default_running_requests_per_rank(pool.tokens, context)
        mrr, mrr_source = per_rank * lay.attn_dp, "SGLang's default from the pool"
    prefill_tokens, prefill_flag = None, None
    if settings.role != "decode":
        chunked = settings.chunked_prefill_size
        candidates = []
        if chunked is not None and chunked > 0:
            candidates.append((chunked // lay.attn_dp if lay.attn_dp > 1 else chunked, "--chunked-prefill-size"))
        if settings.max_prefill_tokens is not None:
            candidates.append((settings.max_prefill_tokens, "--max-prefill-tokens"))
        if candidates:
            prefill_tokens, prefill_flag = max(candidates)
    rp.plan = Plan(gpu, gpu_source, model, model_source, lay, fraction, fraction_source, dtype_bytes, page,
                   context, weights / GIB, cell, pool, mrr, mrr_source, per_rank, prefill_tokens, prefill_flag)
    return rp


def plan_model(model: Model, options: PlanOptions | None = None) -> list[RolePlan]:
    """One RolePlan per engine workload (its leader template stands for every rank)."""
    options = options or PlanOptions()
    plans = []
    for wl in model.workloads:
        pod = next((p for p in distinct_pods(wl) if p.engine is not None and p.engine.parsed is not None), None)
        if pod is None:
            continue
        plans.append(plan_engine(wl, engine_settings(pod, pod.engine), options))
    return plans
