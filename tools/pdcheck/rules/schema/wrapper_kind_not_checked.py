from ...findings import Severity
from ..base import Problem, Rule

SHOWN_NAMES = 3


def check(model, ctx):
    groups: dict[tuple[str, str], list] = {}
    for obj in model.unmodelled:
        groups.setdefault((obj.api_version, obj.kind), []).append(obj)
    for (api_version, kind), objects in groups.items():
        names = ", ".join(o.name or "<unnamed>" for o in objects[:SHOWN_NAMES])
        more = f" and {len(objects) - SHOWN_NAMES} more" if len(objects) > SHOWN_NAMES else ""
        count = f"{len(objects)} {kind or '<no kind>'} object{'s' if len(objects) > 1 else ''}"
        yield Problem(objects[0], ("kind",),
                      f"SGLang containers in {count} ({names}{more}) were not checked: pdcheck cannot tell which pods "
                      f"the controller of {api_version or '<no apiVersion>'} {kind or '<no kind>'} creates from them, "
                      "so no flag, port, router or RDMA rule looked at them (schema validation, with --crd, is not that check)",
                      "check them by hand, or run pdcheck on the objects the controller creates (e.g. `kubectl get leaderworkersets "
                      "-o yaml`); docs/adapters.md shows how to teach pdcheck the kind")


RULE = Rule(
    id="wrapper-kind-not-checked",
    severity=Severity.WARNING,
    summary="SGLang launched from a kind pdcheck cannot model, so no rule checked it",
    doc="""pdcheck models what runs in LeaderWorkerSets, pod-template workloads (Deployment,
StatefulSet, Job, ...), Pods, and wrapper kinds it has an adapter for (docs/adapters.md: the LWS
DisaggregatedSet, RoleBasedGroup, OME, NVIDIA Dynamo, AIBrix StormService). SGLang is also deployed
through other operators (and through parts of those, e.g. a standalone PodSet or DynamoComponentDeployment)
whose controllers build the pods from their own objects. Without an adapter pdcheck does not know which pods, env and Services those controllers create, so
its rules never see the SGLang containers inside: a clean result would be silence, not a check.
Passing the kind's CRD with `--crd` validates the object's fields, which is not the same thing, so
this warning stays. One warning per kind, however many objects: it names the count and the first few.
Router rules that would conclude that a Service or a discovery selector reaches no pod stay silent
in a namespace holding such objects (`Model.unmodelled`): the pods may be theirs.""",
    links=(  # SGLang started from each operator's own objects
        "https://github.com/sgl-project/rbg/blob/993491fba9bfdf377d3cd18c8833da20ce0ec87b/examples/inference/pd-disagg-leader-worker.yaml",
        "https://github.com/sgl-project/ome/blob/17b77edad23bae262e0c9adb7f12039397a5d33d/config/runtimes/srt/deepseek-rdma-pd-rt.yaml",
        "https://github.com/ai-dynamo/dynamo/blob/2a6da14c83617f5412caba5777dbf0e2399e9c5f/deploy/operator/internal/dynamo/backend_sglang.go",
        "https://github.com/vllm-project/aibrix/blob/e3e10f9e4aebe9aac5e7d992fb87d2648e01628b/samples/disaggregation/sglang/tp-1p1d.yaml",
    ),
    check=check,
)
