from ...findings import Severity
from .._util import describe_pod, distinct_pods
from ..base import Problem, Rule


def check(model, ctx):
    for wl in model.workloads:
        for pod in distinct_pods(wl):
            volumes = pod.spec.get("volumes") if isinstance(pod.spec.get("volumes"), list) else []
            by_name = {v["name"]: (i, v) for i, v in enumerate(volumes) if isinstance(v, dict) and isinstance(v.get("name"), str)}
            reported = set()
            for c in pod.init_containers + pod.containers:
                mounts = c.spec.get("volumeMounts") if isinstance(c.spec.get("volumeMounts"), list) else []
                for m in mounts:
                    if not isinstance(m, dict) or str(m.get("mountPath", "")).rstrip("/") != "/dev/shm":
                        continue
                    name = m.get("name")
                    if not isinstance(name, str) or name in reported or name not in by_name:
                        continue
                    i, vol = by_name[name]
                    empty_dir = vol.get("emptyDir")
                    if not isinstance(empty_dir, dict) or empty_dir.get("sizeLimit"):
                        continue
                    reported.add(name)
                    yield Problem(wl.obj, pod.spec_path + ("volumes", i, "emptyDir"),
                                  f"{describe_pod(pod)}: /dev/shm is emptyDir {name} without sizeLimit",
                                  "set emptyDir.sizeLimit (e.g. 64Gi for an 8-GPU engine) and count it in the pod's "
                                  "memory budget")


RULE = Rule(
    id="shm-without-size-limit",
    severity=Severity.WARNING,
    summary="/dev/shm emptyDir without sizeLimit",
    doc="""`/dev/shm` as an emptyDir with `medium: Memory` is a tmpfs whose pages count as the pod's
memory. Without `sizeLimit` the tmpfs may grow up to the node's allocatable memory (or the
container limit): a leak in NCCL's or SGLang's shared-memory segments, or a process writing there,
pushes the node into memory pressure, and the kubelet evicts pods, possibly other tenants' or a
rank of another group (which, with RecreateGroupOnPodRestart, restarts that whole group). With
`sizeLimit` the kubelet evicts only this pod when it exceeds the limit, and the limit documents the
budget. A disk-backed emptyDir at /dev/shm is reported too: it fills the node's disk the same way.""",
    links=(
        "https://kubernetes.io/docs/concepts/storage/volumes/#emptydir",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/",
    ),
    check=check,
)
