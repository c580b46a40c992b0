from ...findings import Severity
from .._k8s import privileged
from .._util import describe_pod, engine_containers
from ..base import Problem, Rule
from ._helpers import device_resources, mounts_infiniband, rdma_uses


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        uses = rdma_uses(c)
        if not uses or privileged(c) or device_resources(c):
            continue
        if mounts_infiniband(pod, c):
            what = "mounts /dev/infiniband from a hostPath in an unprivileged container, where the device cgroup refuses to open those character devices"
            path = c.path + ("volumeMounts",)
        else:
            what = "gets no /dev/infiniband (no RDMA device-plugin resource, no hostPath mount, not privileged)"
            path = c.path + ("resources",) if c.spec.get("resources") else c.path
        yield Problem(wl.obj, path,
                      f"{describe_pod(pod)} uses RDMA ({', '.join(uses)}) but container {c.name} {what}",
                      "request an RDMA device-plugin resource (e.g. rdma/hca_shared_devices_a: 1), or run privileged with a pdcheck.io/privileged-reason annotation")


RULE = Rule(
    id="rdma-devices-missing",
    severity=Severity.ERROR,
    summary="An engine that uses RDMA cannot open /dev/infiniband",
    doc="""Verbs (libibverbs) open `/dev/infiniband/uverbs*` and `rdma_cm`. Without them Mooncake's
transfer engine finds no RDMA device and the KV transfer never starts, NVSHMEM (DeepEP) aborts at
init, and NCCL silently falls back to TCP sockets. A hostPath mount of `/dev/infiniband` is not
enough in an unprivileged container: the container runtime's device cgroup allows only the devices
it was given (GPUs by the NVIDIA device plugin), so opening uverbs fails with EPERM. The devices must
come from an RDMA device plugin resource (`rdma/*`, SR-IOV), or the container must be privileged.""",
    links=(
        "https://github.com/Mellanox/k8s-rdma-shared-dev-plugin/blob/v1.5.2/README.md",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/disaggregation/mooncake/transfer_engine.py",
        "https://github.com/sgl-project/sglang/issues/12533",
    ),
    check=check,
)
