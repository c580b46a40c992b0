from ...adapters import ome
from ...findings import Severity
from ..base import Problem, Rule


def check(model, ctx):
    objects = model.render.objects
    for obj in objects:
        if obj.api_version not in ome.API_VERSIONS or not obj.name or not isinstance(obj.doc.get("spec"), dict):
            continue
        if obj.kind == "InferenceService":
            runtime, why = ome.resolve_runtime(obj, objects)
            if runtime is None:
                has_ref = isinstance(obj.doc["spec"].get("runtime"), dict)
                yield Problem(obj, ("spec", "runtime") if has_ref else ("spec",),
                              f"{why}, so pdcheck cannot tell what the pods of InferenceService {obj.name} run and checked none of them",
                              "check it together with its runtime (e.g. add `kubectl get clusterservingruntime <name> -o yaml` "
                              "to the input), or name the runtime in spec.runtime")
        elif obj.kind in ome.RUNTIME_KINDS and not ome.used_by_an_inferenceservice(obj, objects):
            components = [c for c in ("engine", "decoder", "router") if isinstance(obj.doc["spec"].get(f"{c}Config"), dict)]
            if components:
                yield Problem(obj, ("metadata", "name"),
                              f"no InferenceService of the input uses {obj.kind} {obj.name}: pdcheck checked it as if an "
                              f"InferenceService named {obj.name} enabled its {', '.join(components)} with no overrides",
                              "check it together with the InferenceServices that use it, whose settings win over the runtime's")


RULE = Rule(
    id="ome-runtime-not-in-render",
    severity=Severity.INFO,
    summary="An OME InferenceService whose runtime is not in the input, or a runtime checked without its InferenceService",
    doc="""The OME controller builds an InferenceService's pods from its ServingRuntime or
ClusterServingRuntime (`engineConfig`, `decoderConfig`, `routerConfig`) with the InferenceService's
`engine`, `decoder` and `router` merged over them (docs/adapters.md, tools/pdcheck/adapters/ome.py).
When the runtime is not among the checked objects, or the InferenceService names none and the
controller's auto-selection cannot be decided from them (several runtimes match, or the choice
depends on the model's size), pdcheck does not guess: the InferenceService's pods are not modelled
and this note says so. A runtime that no checked InferenceService uses is modelled as if an
InferenceService named after it enabled every component it configures, which checks a runtime
file on its own; an InferenceService that overrides its settings is checked only with it.""",
    links=(
        "https://github.com/sgl-project/ome/blob/17b77edad23bae262e0c9adb7f12039397a5d33d/pkg/controller/v1beta1/inferenceservice/utils/reconciliation.go",
        "https://github.com/sgl-project/ome/blob/17b77edad23bae262e0c9adb7f12039397a5d33d/pkg/controller/v1beta1/inferenceservice/utils/merging.go",
    ),
    check=check,
)
