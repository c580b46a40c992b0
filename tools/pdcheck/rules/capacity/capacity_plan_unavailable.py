from ...findings import Severity
from ..base import Problem, Rule
from ._plans import plans


def check(model, ctx):
    missing = [rp for rp in plans(model, ctx) if rp.plan is None and rp.opted_in]
    if not missing:
        return
    first = missing[0]
    reasons = "; ".join(f"{rp.role} {rp.workload.name}: {', '.join(rp.reasons)}" for rp in missing)
    yield Problem(
        first.workload.obj, first.workload.worker_template_path or (),
        f"no capacity plan, so the capacity rules were not checked: {reasons}",
        "resolve what the reason names: declare a known model (pdcheck.io/model) and GPU (nvidia.com/gpu.product "
        "node selector or pdcheck.io/gpu), or plan with the model's own config.json (`pdcheck plan --model-config DIR`)")


RULE = Rule(
    id="capacity-plan-unavailable",
    severity=Severity.INFO,
    summary="The capacity plan cannot be made (unknown model or GPU), so the capacity rules did not run",
    doc="""pdcheck never guesses a model or a GPU: when a deployment names one (the
`pdcheck.io/model` annotation, the `nvidia.com/gpu.product` node selector, the `pdcheck.io/gpu`
annotation, `gpu:` in .pdcheck.yaml) but the plan still cannot be made (the other is missing or unknown, a flag value
is only known at run time, speculative decoding, a version whose default static fraction is not
modelled), this says so once per input, with the reason per role, instead of silently skipping the
capacity rules. Deployments that name neither are not planned and get no finding; `pdcheck plan`
always prints why a role has no plan.""",
    links=("https://github.com/NVIDIA/k8s-device-plugin/tree/main/docs/gpu-feature-discovery",),
    check=check,
)
