"""The capacity plan of a model, made once however many capacity rules ask."""

from __future__ import annotations

from ...capacity.plan import PlanOptions, RolePlan, plan_model
from ...sglang import SRC_056
from .._util import flag_path

DOC_LINK = SRC_056 + "model_executor/model_runner.py"

_cache: dict[tuple, tuple[object, list[RolePlan]]] = {}


def plans(model, ctx) -> list[RolePlan]:
    """Role plans of this model with the configuration's GPU (`gpu:` in .pdcheck.yaml) if any."""
    gpu = getattr(ctx.config, "gpu", None)
    key = (id(model), gpu)
    entry = _cache.get(key)
    if entry is None or entry[0] is not model:
        options = PlanOptions(gpu=gpu, gpu_source=f"gpu in {ctx.config.path}") if gpu else PlanOptions()
        _cache.clear()  # one model at a time: keep memory flat over many renders
        entry = _cache[key] = (model, plan_model(model, options))
    return entry[1]


def path_of(rp: RolePlan, flag: str) -> tuple:
    """Field path of a flag of the engine the plan was made from (its leader template)."""
    return flag_path(rp.workload.leader.engine, flag)


def where(rp: RolePlan) -> str:
    p = rp.plan
    return f"{rp.role} {rp.workload.name} ({p.model.name} on {p.gpu.name}, tp {p.layout.tp}, attention-DP {p.layout.attn_dp}, ep {p.layout.ep})"
