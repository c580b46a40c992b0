from ...findings import Severity
from .._k8s import privileged
from .._util import describe_pod, engine_containers, flag_path
from ..base import Problem, Rule
from ._helpers import deepep_ibgda, deepep_low_latency


def check(model, ctx):
    for wl, pod, c in engine_containers(model):
        if not deepep_ibgda(c) or privileged(c):
            continue
        mode = c.flag("--deepep-mode").value
        why = f"--deepep-mode {mode} builds low-latency buffers" if deepep_low_latency(c) else "its EP group spans nodes"
        yield Problem(wl.obj, flag_path(c, "--deepep-mode" if c.flag("--deepep-mode").written else "--moe-a2a-backend"),
                      f"{describe_pod(pod)} runs DeepEP with NVSHMEM IBGDA ({why}) in container {c.name}, which is not privileged",
                      "run the engine container privileged with a pdcheck.io/privileged-reason annotation, after enabling IBGDA in the node's NVIDIA driver (PeerMappingOverride=1)")


RULE = Rule(
    id="deepep-ibgda-unprivileged",
    severity=Severity.WARNING,
    summary="DeepEP with NVSHMEM IBGDA in an unprivileged container",
    doc="""DeepEP turns on NVSHMEM's IBGDA transport (GPU-initiated RDMA) when its group spans nodes or
its buffer is in low-latency mode (`if num_rdma_ranks > 1 or low_latency_mode:` in deep_ep/buffer.py);
SGLang builds low-latency buffers for `--deepep-mode auto` (the default) and `low_latency`
(`DeepEPMode.enable_low_latency`). IBGDA allocates mlx5 DEVX UARs and maps NIC doorbells for the GPU; in an
unprivileged container this failed with `cannot allocate mlx5dv_devx_uar` / `cuMemCreate` errors
and NVSHMEM aborted, while the same container worked with `--privileged` (sglang#12533). The host also
needs the NVIDIA driver's PeerMappingOverride setting; whether a narrower setup suffices depends on
the node, hence a warning.""",
    links=(
        "https://github.com/sgl-project/sglang/issues/12533",
        "https://github.com/sgl-project/sglang/blob/v0.5.6.post2/python/sglang/srt/layers/moe/token_dispatcher/deepep.py",
        "https://github.com/deepseek-ai/DeepEP/blob/v1.2.1/deep_ep/buffer.py",
    ),
    check=check,
)
