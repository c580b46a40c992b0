from ...findings import Severity
from .._util import describe_pod, engine_containers, list_of
from ..base import Problem, Rule


def _shm_ok(pod, c) -> bool | None:
    """True when /dev/shm is memory-backed and large; None when it cannot be told here."""
    spec = pod.spec
    if spec.get("hostIPC") is True:
        return True  # the host's /dev/shm
    volumes = {v["name"]: v for v in list_of(spec.get("volumes")) if isinstance(v, dict) and isinstance(v.get("name"), str)}
    for m in list_of(c.spec.get("volumeMounts")):
        if not isinstance(m, dict) or str(m.get("mountPath", "")).rstrip("/") != "/dev/shm":
            continue
        vol = volumes.get(m.get("name")) if isinstance(m.get("name"), str) else None
        if vol is None:
            return None  # another rule reports a mount without a volume
        if isinstance(vol.get("emptyDir"), dict):
            return vol["emptyDir"].get("medium") == "Memory"
        if isinstance(vol.get("hostPath"), dict):
            return str(vol["hostPath"].get("path", "")).rstrip("/") == "/dev/shm"
        return None  # other volume types: not judged
    return False


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        tp, pp, nnodes = c.layout.tp, c.layout.pp, c.layout.nnodes
        if not all(isinstance(v, int) and v > 0 for v in (tp, pp)):
            continue
        local = tp * pp // nnodes if isinstance(nnodes, int) and nnodes > 0 else tp
        if local <= 1:
            continue
        ok = _shm_ok(pod, c)
        if ok is None or ok:
            continue
        mounted = any(isinstance(m, dict) and str(m.get("mountPath", "")).rstrip("/") == "/dev/shm"
                      for m in list_of(c.spec.get("volumeMounts")))
        what = "mounts /dev/shm from a volume that is not memory-backed" if mounted else "has no /dev/shm volume, so it gets the runtime's 64 MiB default"
        yield Problem(wl.obj, c.path + ("volumeMounts",),
                      f"{describe_pod(pod)}: engine container {c.name!r} runs {local} GPU ranks in the pod (tp {tp}) but {what}",
                      "mount an emptyDir with medium: Memory at /dev/shm (e.g. volume dshm: emptyDir {medium: Memory, sizeLimit: 64Gi})")


RULE = Rule(
    id="dev-shm-missing",
    severity=Severity.ERROR,
    summary="Multi-GPU engine pod without a memory-backed /dev/shm",
    doc="""NCCL moves data between GPUs of one node through shared-memory segments in `/dev/shm`
(and torch multiprocessing shares tensors there). Container runtimes give a pod a 64 MiB
`/dev/shm`; with several GPU ranks in the pod NCCL fails at communicator set-up with
`Error while creating shared memory segment /dev/shm/nccl-... (size 9637888)` or crashes later under
load (sglang#4259; llm-d#352). Mount an `emptyDir` with `medium: Memory` at `/dev/shm` on every engine
pod template (leader and workers), or use `hostIPC: true`. Reported when the pod runs more than one
rank (`tp x pp / nnodes > 1`). How big to make it (`sizeLimit`) is a separate concern.""",
    links=(
        "https://github.com/sgl-project/sglang/issues/4259",
        "https://github.com/llm-d/llm-d/issues/352",
    ),
    check=check,
)
