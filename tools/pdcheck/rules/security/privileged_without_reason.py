from ...findings import Severity
from .._k8s import privileged
from .._util import describe_pod, distinct_pods
from ..base import Problem, Rule
from ._common import PRIVILEGED_REASON_ANNOTATION


def check(model, ctx):
    for wl in model.workloads:
        for pod in distinct_pods(wl):
            reason = pod.annotations.get(PRIVILEGED_REASON_ANNOTATION)
            if isinstance(reason, str) and reason.strip():
                continue
            for c in pod.init_containers + pod.containers:
                if privileged(c):
                    yield Problem(wl.obj, c.path + ("securityContext", "privileged"),
                                  f"{describe_pod(pod)}: container {c.name} is privileged and the pod template has no "
                                  f"{PRIVILEGED_REASON_ANNOTATION} annotation",
                                  f"say why in the pod template annotation {PRIVILEGED_REASON_ANNOTATION} (DeepEP's NVSHMEM IBGDA and "
                                  "hostPath /dev/infiniband need privileged), or drop privileged where an RDMA device plugin "
                                  "provides the devices and IPC_LOCK covers memory registration")


RULE = Rule(
    id="privileged-without-reason",
    severity=Severity.WARNING,
    summary="Privileged container without a pdcheck.io/privileged-reason annotation",
    doc="""A privileged container has every capability and every host device, and AppArmor/seccomp
are off for it: whoever controls the process (a bug in request parsing, a malicious model file
loaded with `--trust-remote-code`, a poisoned JIT cache) controls the node. It is sometimes needed
here: the RDMA character devices under a hostPath `/dev/infiniband` open only in a privileged
container unless an RDMA device plugin hands them out, and DeepEP's NVSHMEM IBGDA transport fails
to initialise without it (`mlx5dv_devx_uar` allocation, sglang#12533). Those reasons belong next to
the setting, in the pod template annotation `pdcheck.io/privileged-reason`, so that a reviewer can
tell a needed privilege from a copied one. Without DeepEP and with an RDMA device plugin, `IPC_LOCK`
(for memory registration) is enough.

A warning, not an error: the annotation is pdcheck's own convention, so a manifest written without
pdcheck in mind cannot have it, and privilege is often needed. Make it an error for your own
manifests with `rules: {privileged-without-reason: error}` in `.pdcheck.yaml`.""",
    links=(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        "https://github.com/sgl-project/sglang/issues/12533",
    ),
    check=check,
)
