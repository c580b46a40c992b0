"""`pdcheck plan`: render and model the inputs with the checker's own pipeline, then plan each engine."""

from __future__ import annotations

from ..checker import Options, build_models, load_run_config
from ..errors import InputError
from .facts import gpu_by_name, known_gpus, model_from_config
from .plan import PlanOptions, RolePlan, plan_model


def run_plan(options: Options, gpu: str | None, model_config: str | None) -> tuple[list[tuple[str, list[RolePlan]]], int]:
    """(overlay name, role plans) per input and the exit status: 1 when some role's weights do not
    fit its static budget, 2 when no role at all could be planned, else 0."""
    if gpu and gpu_by_name(gpu) is None:
        raise InputError(None, f"--gpu {gpu}: not a GPU pdcheck knows (known: {', '.join(known_gpus())})")
    model_facts = model_from_config(model_config) if model_config else None
    config = load_run_config(options)
    models = build_models(options, config)
    if gpu:
        plan_options = PlanOptions(gpu=gpu, gpu_source="--gpu", model=model_facts)
    elif config.gpu:
        plan_options = PlanOptions(gpu=config.gpu, gpu_source=f"gpu in {config.path}", model=model_facts)
    else:
        plan_options = PlanOptions(model=model_facts)
    results = [(m.render.name, plan_model(m, plan_options)) for m in models]
    plans = [rp for _, roles in results for rp in roles]
    if any(rp.plan is not None and not rp.plan.weights_fit for rp in plans):
        return results, 1
    if not any(rp.plan is not None for rp in plans):
        return results, 2
    return results, 0
