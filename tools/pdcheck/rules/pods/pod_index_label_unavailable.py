from ...findings import Severity
from ...model import STS_POD_INDEX_LABEL, dig
from .._k8s import oldest_k8s_version
from .._router import parse_selector
from .._util import all_containers, flag_path, list_of
from ..base import Problem, Rule

SINCE = (1, 28)
FIELD_PATH = f"metadata.labels['{STS_POD_INDEX_LABEL}']"


def _fieldref_uses(model):
    """(object, field path, container) for every downward-API reference to the pod-index label."""
    for wl, pod, c in all_containers(model):
        for j, entry in enumerate(list_of(c.spec.get("env"))):
            if dig(entry, "valueFrom", "fieldRef", "fieldPath") == FIELD_PATH:
                yield wl.obj, c.path + ("env", j, "valueFrom", "fieldRef", "fieldPath"), f"env {entry.get('name')} of container {c.name!r}"
    seen = set()
    for wl, pod, _c in all_containers(model):
        if (id(wl), pod.template_path) in seen:
            continue
        seen.add((id(wl), pod.template_path))
        for v, volume in enumerate(list_of(pod.spec.get("volumes"))):
            for i, item in enumerate(list_of(dig(volume, "downwardAPI", "items"))):
                if dig(item, "fieldRef", "fieldPath") == FIELD_PATH:
                    yield wl.obj, pod.spec_path + ("volumes", v, "downwardAPI", "items", i, "fieldRef", "fieldPath"), f"downwardAPI volume {volume.get('name')}"


def check(model, ctx):
    oldest = oldest_k8s_version(ctx)
    if oldest is None or oldest >= SINCE:
        return
    version = f"{oldest[0]}.{oldest[1]}"
    fix = (f"select or read statefulset.kubernetes.io/pod-name (set on every version) instead, or, if every cluster "
           f"runs Kubernetes >= 1.28, raise the oldest version checked (--k8s-version, k8s-versions in .pdcheck.yaml)")
    for svc in model.objects_of("Service"):
        selector = dig(svc.doc, "spec", "selector")
        if isinstance(selector, dict) and STS_POD_INDEX_LABEL in selector:
            yield Problem(svc, ("spec", "selector", STS_POD_INDEX_LABEL),
                          f"Service {svc.name} selects pods by {STS_POD_INDEX_LABEL}, which the StatefulSet controller sets only "
                          f"from Kubernetes 1.28: on {version} (the oldest version checked) it selects no pod", fix)
    for obj, path, what in _fieldref_uses(model):
        yield Problem(obj, path,
                      f"{what} reads the label {STS_POD_INDEX_LABEL}, which exists only from Kubernetes 1.28: on {version} "
                      f"(the oldest version checked) it is an empty string (e.g. --node-rank \"\" makes SGLang exit at argument parsing)", fix)
    for wl, c in model.routers:
        for role in ("prefill", "decode"):
            selector = parse_selector(c.flag(f"--{role}-selector").value) or {}
            if STS_POD_INDEX_LABEL in selector:
                yield Problem(wl.obj, flag_path(c, f"--{role}-selector"),
                              f"router --{role}-selector uses {STS_POD_INDEX_LABEL}, which exists only from Kubernetes 1.28: "
                              f"on {version} (the oldest version checked) service discovery finds no {role} pod", fix)


RULE = Rule(
    id="pod-index-label-unavailable",
    severity=Severity.WARNING,
    summary="apps.kubernetes.io/pod-index is used but the oldest Kubernetes version checked is before 1.28",
    doc="""The StatefulSet controller labels each pod with its ordinal as `apps.kubernetes.io/pod-index`
only from Kubernetes 1.28 (the PodIndexLabel feature, beta and on by default in 1.28, GA in 1.32;
LeaderWorkerSet pods get it too, as LWS runs its groups as StatefulSets). On an older cluster a
Service or router selector on that label selects nothing, and an env var or downward-API file that
reads it through `fieldRef` gets an empty string (kubelet resolves a missing label to ""). `statefulset.kubernetes.io/pod-name` exists on every
version. pdcheck checks against the Kubernetes versions given with `--k8s-version` (or
`k8s-versions` in `.pdcheck.yaml`), else its default range; this finding names the oldest.""",
    links=(
        "https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#pod-index-label",
        "https://github.com/kubernetes/kubernetes/pull/119232",
    ),
    check=check,
)
