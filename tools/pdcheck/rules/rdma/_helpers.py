"""RDMA device lists of NCCL, NVSHMEM and Mooncake, and what an engine container uses RDMA for.

Syntax (checked against the sources linked from the rules):
- NCCL_IB_HCA: comma list of `name[:port]`; a leading `^` makes it an exclude list, a following `=`
  makes names exact (else each is a prefix: `mlx5_1` also matches `mlx5_10`). `^=mlx5_0,mlx5_5`
  excludes exactly those two.
- NVSHMEM_HCA_LIST: `name:port` entries, a leading `^` excludes; NVSHMEM_HCA_PE_MAPPING:
  `name:port:count`. Both only act with NVSHMEM_ENABLE_NIC_PE_MAPPING=1 (nvshmem env_defs.h).
- SGLang's `--disaggregation-ib-device` (Mooncake KV transfer): comma list, or a JSON object
  {gpu: "dev,dev"}; a `.json` path is read at run time (unknown here). Mooncake's own env vars
  (MC_GID_INDEX, MC_IB_PORT, ...) do not select devices for it: SGLang passes the list as device_name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ...model import dig, known_at_render
from .._util import describe_pod, engine_containers, flag_path, list_of
from ..base import Problem

TRUTHY = ("1", "true", "t", "yes", "y", "on")


@dataclass
class DeviceList:
    label: str  # e.g. "NCCL_IB_HCA=^=mlx5_0"
    names: list[str]
    path: tuple
    exclude: bool = False
    exact: bool = True
    ports: dict = field(default_factory=dict)

    def matches(self, device: str) -> bool:
        return any(device == n if self.exact else device.startswith(n) for n in self.names)

    @property
    def explicit(self) -> bool:
        """A list of exact device names the library will use."""
        return not self.exclude and self.exact


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_nccl_hca(value: str, path: tuple) -> DeviceList | None:
    text = value.strip()
    exclude = text.startswith("^")
    text = text[1:] if exclude else text
    exact = text.startswith("=")
    text = text[1:] if exact else text
    names = [t.split(":")[0] for t in _split(text)]
    return DeviceList(f"NCCL_IB_HCA={value}", names, path, exclude, exact) if names else None


def parse_nvshmem(name: str, value: str, path: tuple) -> DeviceList | None:
    text = value.strip()
    exclude = text.startswith("^")
    text = text[1:] if exclude else text
    names = [t.split(":")[0] for t in _split(text)]
    return DeviceList(f"{name}={value}", names, path, exclude, True) if names else None


def parse_ib_device_flag(flag: str, value: str, path: tuple) -> DeviceList | None:
    text = value.strip()
    if text.endswith(".json"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        names = list(dict.fromkeys(n for v in data.values() if isinstance(v, str) for n in _split(v)))
    else:
        names = _split(text)
    return DeviceList(f"{flag} {value}", names, path, False, True) if names else None


def env_path(c, name):
    var = c.env.get(name)
    return var.path if var and var.path else c.path + ("env",)


def env_known(c, name) -> str | None:
    value = c.env_value(name)
    return value if known_at_render(value) and str(value).strip() else None


def uses_mooncake_kv(c) -> bool:
    return c.layout.role in ("prefill", "decode") and c.flag("--disaggregation-transfer-backend").value == "mooncake"


def uses_deepep(c) -> bool:
    return c.str_flag("--moe-a2a-backend") in ("deepep", "deepep_v2") or c.bool_flag("--enable-deepep-moe")


def deepep_low_latency(c) -> bool:
    """DeepEP buffers are built with low_latency_mode for --deepep-mode auto|low_latency
    (sglang DeepEPMode.enable_low_latency)."""
    return uses_deepep(c) and c.flag("--deepep-mode").value in ("auto", "low_latency")


def deepep_ibgda(c) -> bool:
    """DeepEP turns on NVSHMEM IBGDA when `num_rdma_ranks > 1 or low_latency_mode` (deep_ep/buffer.py)."""
    nnodes = c.layout.nnodes
    return deepep_low_latency(c) or (uses_deepep(c) and (not isinstance(nnodes, int) or nnodes > 1))


def device_lists(c) -> list[DeviceList]:
    out = []
    if uses_mooncake_kv(c):
        value = c.flag("--disaggregation-ib-device").value
        if known_at_render(value):
            parsed = parse_ib_device_flag("--disaggregation-ib-device", str(value), flag_path(c, "--disaggregation-ib-device"))
            out.append(parsed) if parsed else None
    if c.str_flag("--moe-a2a-backend") == "mooncake" and c.flag("--mooncake-ib-device").written:
        value = c.flag("--mooncake-ib-device").value
        if known_at_render(value):
            parsed = parse_ib_device_flag("--mooncake-ib-device", str(value), flag_path(c, "--mooncake-ib-device"))
            out.append(parsed) if parsed else None
    nccl = env_known(c, "NCCL_IB_HCA")
    if nccl and (env_known(c, "NCCL_IB_DISABLE") or "0") not in TRUTHY:
        parsed = parse_nccl_hca(nccl, env_path(c, "NCCL_IB_HCA"))
        out.append(parsed) if parsed else None
    if uses_deepep(c) and (env_known(c, "NVSHMEM_ENABLE_NIC_PE_MAPPING") or "0").lower() in TRUTHY:
        for name in ("NVSHMEM_HCA_LIST", "NVSHMEM_HCA_PE_MAPPING"):
            value = env_known(c, name)
            if value:
                parsed = parse_nvshmem(name, value, env_path(c, name))
                out.append(parsed) if parsed else None
    return out


def rdma_uses(c) -> list[str]:
    """What this engine container needs RDMA verbs for (empty: none detected)."""
    uses = []
    nnodes = c.layout.nnodes
    multi = not isinstance(nnodes, int) or nnodes > 1
    if uses_mooncake_kv(c) and (env_known(c, "MC_FORCE_TCP") or "").lower() not in TRUTHY:
        uses.append("Mooncake KV transfer")
    if deepep_ibgda(c):
        uses.append("DeepEP over NVSHMEM")
    if c.str_flag("--moe-a2a-backend") == "mooncake":
        uses.append("Mooncake EP")
    if multi and env_known(c, "NCCL_IB_HCA") and (env_known(c, "NCCL_IB_DISABLE") or "0") not in TRUTHY:
        uses.append("NCCL over IB (NCCL_IB_HCA)")
    return uses


def capabilities(c) -> set[str]:
    caps = dig(c.spec, "securityContext", "capabilities", "add", default=[]) or []
    return {str(x).upper().removeprefix("CAP_") for x in caps if isinstance(x, str)}


_NOT_DEVICES = ("cpu", "memory", "ephemeral-storage", "nvidia.com/gpu", "amd.com/gpu")


def device_resources(c) -> list[str]:
    """Extended resources other than GPUs (RDMA shared device plugin `rdma/*`, SR-IOV VFs, ...)."""
    resources = c.spec.get("resources") if isinstance(c.spec.get("resources"), dict) else {}
    names = []
    for section in ("limits", "requests"):
        values = resources.get(section) if isinstance(resources.get(section), dict) else {}
        names += [n for n in values if isinstance(n, str) and "/" in n and n not in _NOT_DEVICES and not n.startswith("hugepages-")]
    return names


def mounts_infiniband(pod, c) -> bool:
    volumes = {v["name"]: v for v in list_of(pod.spec.get("volumes")) if isinstance(v, dict) and isinstance(v.get("name"), str)}
    for m in list_of(c.spec.get("volumeMounts")):
        if not isinstance(m, dict) or not isinstance(m.get("name"), str):
            continue
        host = dig(volumes.get(m.get("name"), {}), "hostPath", "path")
        if isinstance(host, str) and host.rstrip("/") in ("/dev/infiniband", "/dev"):
            return True
    return False


def compare_lists(lists: list[DeviceList]):
    """Yield ('error'|'warning', a, b, text) for each pair of device lists of one container.

    a is a list of exact names a library uses; b another library's filter or list.
    error: b excludes a device a uses, or a and b share no device; warning: they differ.
    """
    done = set()
    for a in lists:
        if not a.explicit:
            continue
        for b in lists:
            if b is a or (id(b), id(a)) in done:
                continue
            done.add((id(a), id(b)))
            if b.exclude:
                hit = [d for d in a.names if b.matches(d)]
                if hit:
                    yield "error", a, b, f"{a.label} uses {', '.join(hit)}, which {b.label} excludes"
                continue
            used = [d for d in a.names if b.matches(d)]
            if not used:
                yield "error", a, b, f"{a.label} and {b.label} share no device"
                continue
            only_a = [d for d in a.names if not b.matches(d)]
            only_b = [n for n in b.names if not any((d == n if b.exact else d.startswith(n)) for d in a.names)]
            if only_a or only_b:
                parts = []
                if only_a:
                    parts.append(f"only {a.label.split('=')[0].split(' ')[0]} has {', '.join(only_a)}")
                if only_b:
                    parts.append(f"only {b.label.split('=')[0].split(' ')[0]} has {', '.join(only_b)}")
                yield "warning", a, b, f"{a.label} and {b.label} differ ({'; '.join(parts)})"


DEVICE_FIX = ("name the same RDMA devices in --disaggregation-ib-device, NCCL_IB_HCA and NVSHMEM_HCA_LIST "
              "(derive them from one value, e.g. a ConfigMap key)")


def device_list_problems(model, level: str):
    """Problems of one level ('error' or 'warning') from comparing an engine's device lists."""
    for wl, pod, c in engine_containers(model):
        grouped = {}
        for found_level, _a, b, text in compare_lists(device_lists(c)):
            if found_level == level:
                grouped.setdefault(id(b), (b, []))[1].append(text)
        for b, texts in grouped.values():
            yield Problem(wl.obj, b.path, f"{describe_pod(pod)}: {'; '.join(texts)}", DEVICE_FIX)
