import posixpath

from ...findings import Severity
from .._util import describe_pod, distinct_pods
from ..base import Problem, Rule

# Host directories a writable mount must never expose, even when they look like caches.
SYSTEM_DIRS = ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc", "/root", "/run",
               "/sbin", "/srv", "/sys", "/usr", "/var", "/var/cache", "/var/lib", "/var/log", "/var/run", "/tmp")
SYSTEM_TREES = ("/etc/", "/proc/", "/sys/", "/boot/", "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/",
                "/var/lib/kubelet", "/var/lib/containerd", "/var/lib/docker", "/var/run/", "/run/", "/var/log/")


def exemption(host_path: str, init_container: bool = False) -> str | None:
    """Why a writable mount of this host path is accepted, or None."""
    path = posixpath.normpath(host_path) if host_path else ""
    if path.startswith("/dev/") and path not in ("/dev/shm",):
        return "device"
    if path in SYSTEM_DIRS or any(path == t.rstrip("/") or path.startswith(t.rstrip("/") + "/") for t in SYSTEM_TREES):
        return None
    if init_container:
        return "init container"  # it fills the directory (a model download) before the engine starts
    if any("cache" in part.lower() for part in path.split("/")):
        return "cache"
    return None


def check(model, ctx):
    for wl in model.workloads:
        for pod in distinct_pods(wl):
            volumes = pod.spec.get("volumes") if isinstance(pod.spec.get("volumes"), list) else []
            host_paths = {}
            for v in volumes:
                if isinstance(v, dict) and isinstance(v.get("hostPath"), dict) and isinstance(v.get("name"), str):
                    host_paths[v.get("name")] = str(v["hostPath"].get("path", ""))
            if not host_paths:
                continue
            # Init containers that run to completion; a native sidecar (restartPolicy: Always) runs beside the engine.
            init_names = {c.name for c in pod.init_containers if c.spec.get("restartPolicy") != "Always"}
            for c in pod.init_containers + pod.containers:
                mounts = c.spec.get("volumeMounts") if isinstance(c.spec.get("volumeMounts"), list) else []
                for j, m in enumerate(mounts):
                    if not isinstance(m, dict) or not isinstance(m.get("name"), str) or m["name"] not in host_paths \
                            or m.get("readOnly") is True:
                        continue
                    host_path = host_paths[m["name"]]
                    if exemption(host_path, c.name in init_names):
                        continue
                    yield Problem(wl.obj, c.path + ("volumeMounts", j),
                                  f"{describe_pod(pod)}: container {c.name} mounts hostPath {host_path} at "
                                  f"{m.get('mountPath')} writable (readOnly not set)",
                                  "set readOnly: true on the mount (model weights, drivers and libraries are only read); "
                                  "keep writable host directories to a dedicated cache directory")


RULE = Rule(
    id="hostpath-writable",
    severity=Severity.WARNING,
    summary="hostPath volume mounted writable",
    doc="""A writable hostPath lets the container change files on the node: a compromised engine can
replace the model weights every later pod loads (weights with `--trust-remote-code` carry Python
code), or write into a host directory another service trusts. Model weights are only read: mount
them `readOnly: true`.

Accepted writable: device paths under `/dev/` (e.g. `/dev/infiniband`; `readOnly` would protect
nothing there: opening a file for writing takes the mount's write access only for non-special
files (`do_dentry_open` in fs/open.c), so device nodes stay writable through a read-only mount;
what guards them is the device cgroup, i.e. not running privileged),
and cache directories (a path component containing `cache`, e.g. `/var/cache/sglang`,
`/data1/sgl_cache`, outside system trees such as `/etc`, `/var/lib/kubelet`, `/var/log`): the
DeepGEMM/FlashInfer/Triton JIT caches must be written, and keeping them on the node saves tens of
minutes per restart. Such a cache is still shared code (compiled kernels every engine on the node
loads): give it a directory of its own. Also accepted: an init container's writable mount of a
non-system host directory. Downloading the weights in an init container into the hostPath the
engine then reads (AIBrix's `aibrix_download` samples) needs write access, and the init container
ends before the engine starts (a native sidecar, `restartPolicy: Always`, does not, and is
reported). The engine's own mount of that directory is still reported.""",
    links=(
        "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",
        "https://github.com/torvalds/linux/blob/master/fs/open.c",
    ),
    check=check,
)
