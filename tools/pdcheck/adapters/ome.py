"""OME (ome.io/v1beta1): an InferenceService merged with its ServingRuntime / ClusterServingRuntime
becomes the LeaderWorkerSets, Deployments, Services and router RBAC the OME controller creates.

What the OME controller does (sgl-project/ome; read in the search index at these commits, paths
under pkg/controller/v1beta1/inferenceservice/: 291ce9c utils/merging.go, 60580cc
reconcilers/common/podspec_reconciler.go, 01bcab5 components/engine.go, 0b063e0 components/base.go,
00ba46d components/router.go, 5d52bb3 reconcilers/lws/lws_reconciler.go, 16ed895
reconcilers/multinode/multinode_reconciler.go, 0074cb4 reconcilers/service/service_reconciler.go,
529c7a8 reconcilers/rbac/rbac_reconciler.go, utils GetServingRuntime; the pod webhook's RDMA
profiles at af88aee pkg/webhook/admission/pod/rdma_injector.go; pkg/constants at 01bcab5; the CRDs
are ../shared/reference/wrappers/ome-*.yaml, upstream 17b77ed). Where releases differ the newer
behaviour is modelled: the multi-node Service selects `app` and `ray.io/node-type` (older releases
select `ray.io/node-type: head` alone, i.e. every leader of the namespace). The LWS is named
`lws-<isvc>-<component>`, keeping the last 50 characters of `<isvc>-<component>` (a newer release
truncates to 35 instead: the same name for the short names of the fixtures and samples).
- runtime: `spec.runtime.name` is looked up as a ServingRuntime in the InferenceService's namespace,
  then as a ClusterServingRuntime (`GetServingRuntime`); `spec.runtime.kind` narrows it to that kind.
  With no `spec.runtime` the controller auto-selects one from the model: pdcheck does so only when
  the render decides it (one enabled runtime of the render with an `autoSelect` format matching the
  model's format and architecture, or the single highest `priority`); otherwise, and when the named
  runtime is not in the render, the InferenceService is not modelled and `ome-runtime-not-in-render`
  says so (guessing the runtime would check containers that will not run);
- merge: `spec.engine|decoder|router` exist only when the InferenceService names them; each is a
  strategic merge patch of the InferenceService's part over the runtime's `engineConfig|decoderConfig|
  routerConfig` (`MergeEngineSpec`, ...): the InferenceService wins, containers/env/volumes/... merge
  by their keys, plain lists (args, command, tolerations) are replaced;
- mode: a `leader` or `worker` makes a multi-node component (a LeaderWorkerSet `lws-<isvc>-<component>`
  of size `worker.size + 1`, replicas `minReplicas` (default 1), LeaderCreated, shared subdomain); the
  leader pod is `leader` + `leader.runner` (the component's own pod spec only when `leader` is
  absent), the worker pod `worker` + `worker.runner`. Otherwise a Deployment `<isvc>-<component>`;
- runner: merged into the pod container of the same name (or appended), by strategic merge except
  that args are concatenated (container args, then runner args; `MergeRuntimeContainers`). Before
  that the controller edits the runner: `MODEL_PATH` (the BaseModel / ClusterBaseModel's
  `storage.path`, appended when missing, with a read-only hostPath mount of it named after the
  model; a model not in the render gives a value known only on the cluster) and `PARALLELISM_SIZE` = GPUs of the runner x (1 + worker.size) (set or replaced) when no
  AcceleratorClass applies (accelerator classes are cluster objects: not modelled). `{{.Name}}` and
  `{{.Namespace}}` in the container are replaced by the InferenceService's (`ReplacePlaceholders`);
- labels: the InferenceService's and the component's `labels`, then `ome.io/inferenceservice`,
  `component`, `serving-runtime`, `fine-tuned-serving` and, with a model, `base-model-name`,
  `base-model-size`, `base-model-type`, `base-model-vendor` (these win); Deployment pods and LWS
  leaders add `app=<isvc>-<component>`, LWS leaders `ray.io/node-type=head`;
- Services `<isvc>-<component>`: selector `app` (Deployment) or `app` + `ray.io/node-type=head`
  (LWS), a port per port of the first container of the (leader) pod, else port 80 -> 8080;
- the OME pod webhook: a pod annotated `rdma.ome.io/auto-inject: "true"` (the component's
  `annotations` reach the pod templates) gets the RDMA profile's env, /dev/shm and /dev/infiniband
  volumes, IPC_LOCK and CAP_SYS_ADMIN and privileged (when unset) in its `rdma.ome.io/container-name`
  container (default `ome-container`);
- router: a Deployment `<isvc>-router` whose pod runs as ServiceAccount `<isvc>-router`, bound by a
  Role/RoleBinding `<isvc>-router` to get/list/watch pods; each `config` entry becomes an env var.
A runtime that no InferenceService of the render uses is modelled as if an InferenceService named
after it enabled every component the runtime configures, so a runtime file checked alone is checked
(`ome-runtime-not-in-render` notes it). Not modelled: `spec.predictor` (deprecated), Knative
(`minReplicas: 0`), fine-tuned weights, accelerator classes, ingress, HPA/KEDA.

A child's parts come from two objects: each `OmeDerived` records, for every node of its document,
the object and path it was merged from, so a finding points at the runtime's line when the value
is the runtime's and at the InferenceService's when the InferenceService set it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from ..objects import DerivedObject, K8sObject

KIND = "InferenceService"
KINDS = ("InferenceService", "ServingRuntime", "ClusterServingRuntime")
API_VERSIONS = ("ome.io/v1beta1",)

ISVC_LABEL = "ome.io/inferenceservice"
COMPONENT_LABEL = "component"
RUNTIME_LABEL = "serving-runtime"
HEAD_LABEL = "ray.io/node-type"
ENGINE_COMPONENTS = ("engine", "decoder")
RUNTIME_KINDS = ("ServingRuntime", "ClusterServingRuntime")
GPU = "nvidia.com/gpu"
MODEL_PATH_UNKNOWN = "<storage.path of the BaseModel or ClusterBaseModel>"

# Strategic-merge keys of the PodSpec / Container lists (k8s.io/api core/v1 patchMergeKey tags)
MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
              "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "ports": "containerPort",
              "imagePullSecrets": "name", "hostAliases": "ip", "resourceClaims": "name"}
POD_SPEC_FIELDS = frozenset((
    "activeDeadlineSeconds affinity automountServiceAccountToken containers dnsConfig dnsPolicy enableServiceLinks "
    "ephemeralContainers hostAliases hostIPC hostNetwork hostPID hostUsers hostname hostnameOverride imagePullSecrets "
    "initContainers nodeName nodeSelector os overhead preemptionPolicy priority priorityClassName readinessGates "
    "resourceClaims resources restartPolicy runtimeClassName schedulerName schedulingGates securityContext "
    "serviceAccount serviceAccountName setHostnameAsFQDN shareProcessNamespace subdomain terminationGracePeriodSeconds "
    "tolerations topologySpreadConstraints volumes").split())
PLACEHOLDER = re.compile(r"\{\{-?\s*\.(Name|Namespace)\s*-?\}\}")

_ABSENT = object()
Source = tuple  # (K8sObject, path in it), or (K8sObject, path, INJECTED) for what the controller added


INJECTED = "injected"


def _injected(src: Source) -> Source:
    return (src[0], src[1], INJECTED)


@dataclass
class OmeDerived(DerivedObject):
    """A child of an InferenceService: every node of `doc` remembers the object and path it came from."""

    provenance: dict = field(default_factory=dict, repr=False)  # path in doc -> (object, path)
    fallback: Source | None = None

    def source(self, path: tuple) -> tuple[K8sObject, tuple]:
        path = tuple(path)
        for n in range(len(path), -1, -1):
            hit = self.provenance.get(path[:n])
            if hit is not None:  # what the controller injected points at what made it do so, whole
                return (hit[0], hit[1]) if len(hit) > 2 else (hit[0], hit[1] + path[n:])
        return self.fallback if self.fallback is not None else (self.parent, ())


# --- strategic merge, remembering where each part came from ------------------------------------
# A "side" is (provenance, path): `provenance` maps paths to (object, path in it) for some value,
# `path` is where the value being merged sits among those paths.

def provenance_of(value, obj: K8sObject, path: tuple) -> dict:
    """The provenance of a value read from `obj` at `path`: every node maps to its own place."""
    out: dict = {}

    def walk(v, here):
        out[here] = (obj, path + here)
        if isinstance(v, dict):
            for k, item in v.items():
                walk(item, here + (k,))
        elif isinstance(v, list):
            for i, item in enumerate(v):
                walk(item, here + (i,))

    walk(value, ())
    return out


def _take(side, here: tuple, out: dict) -> None:
    """Record in `out`, under `here`, the sources of the side's value and everything below it."""
    if side is None:
        return
    prov, at = side
    for path, src in prov.items():
        if path[: len(at)] == at:
            out[here + path[len(at):]] = src


def _down(side, key):
    return None if side is None else (side[0], side[1] + (key,))


def merge(base, patch, base_side, patch_side, here: tuple, out: dict, list_field=None):
    """`patch` strategically merged over `base` (either may be _ABSENT) as a new value; `out` gets the
    source of every node of the result, keyed by its path under `here`."""
    if patch is _ABSENT:
        _take(base_side, here, out)
        return copy.deepcopy(base)
    both_dicts = isinstance(base, dict) and isinstance(patch, dict)
    keyed_lists = isinstance(base, list) and isinstance(patch, list) and list_field in MERGE_KEYS
    if not (both_dicts or keyed_lists):
        _take(patch_side, here, out)
        return copy.deepcopy(patch)
    if patch_side is not None and patch_side[1] in patch_side[0]:
        out[here] = patch_side[0][patch_side[1]]
    if both_dicts:
        merged = {}
        for k in [*base, *(k for k in patch if k not in base)]:
            if k in patch and patch[k] is None:  # null deletes, as in a merge patch
                continue
            merged[k] = merge(base.get(k, _ABSENT), patch.get(k, _ABSENT), _down(base_side, k), _down(patch_side, k),
                              here + (k,), out, k)
        return merged
    key = MERGE_KEYS[list_field]
    patch_index = {item[key]: j for j, item in enumerate(patch) if isinstance(item, dict) and key in item}
    merged, used = [], set()
    for i, item in enumerate(base):
        j = patch_index.get(item.get(key)) if isinstance(item, dict) else None
        if j is not None:
            used.add(j)
        merged.append(merge(item, patch[j] if j is not None else _ABSENT, _down(base_side, i),
                            _down(patch_side, j) if j is not None else None, here + (len(merged),), out))
    for j, item in enumerate(patch):
        if j not in used:
            merged.append(merge(_ABSENT, item, None, _down(patch_side, j), here + (len(merged),), out))
    return merged


# --- lookups in the render ------------------------------------------------------------------------

def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _ome(objects, kinds) -> list[K8sObject]:
    return [o for o in objects if o.api_version in API_VERSIONS and o.kind in kinds and o.name]


def _same_namespace(obj: K8sObject, isvc: K8sObject) -> bool:
    return obj.namespace == isvc.namespace or obj.namespace is None or isvc.namespace is None


def find_model(isvc: K8sObject, objects) -> K8sObject | None:
    ref = _dict(_dict(isvc.doc.get("spec")).get("model"))
    name, kind = ref.get("name"), ref.get("kind") or "ClusterBaseModel"
    if not isinstance(name, str):
        return None
    for obj in _ome(objects, (kind,)):
        if obj.name == name and (kind == "ClusterBaseModel" or _same_namespace(obj, isvc)):
            return obj
    return None


def _formats_match(fmt: dict, model: K8sObject | None) -> bool:
    if model is None:
        return True
    mspec = _dict(model.doc.get("spec"))
    wanted = _dict(mspec.get("modelFormat")).get("name")
    have = _dict(fmt.get("modelFormat")).get("name")
    if wanted and have and wanted != have:
        return False
    arch_w, arch_h = mspec.get("modelArchitecture"), fmt.get("modelArchitecture")
    return not (arch_w and arch_h and arch_w != arch_h)


def resolve_runtime(isvc: K8sObject, objects) -> tuple[K8sObject | None, str]:
    """The runtime the controller would use for `isvc`, and (when None) why it cannot be told."""
    spec = _dict(isvc.doc.get("spec"))
    ref = spec.get("runtime")
    if isinstance(ref, dict) and isinstance(ref.get("name"), str):
        name, kind = ref["name"], ref.get("kind")
        kinds = (kind,) if kind in RUNTIME_KINDS else RUNTIME_KINDS  # namespaced first, as GetServingRuntime
        for k in kinds:
            for obj in _ome(objects, (k,)):
                if obj.name == name and (k == "ClusterServingRuntime" or _same_namespace(obj, isvc)):
                    return obj, ""
        return None, f"its runtime {name} ({kind or 'ServingRuntime or ClusterServingRuntime'}) is not in the input"
    model = find_model(isvc, objects)
    candidates = []
    for obj in _ome(objects, RUNTIME_KINDS):
        rspec = _dict(obj.doc.get("spec"))
        if rspec.get("disabled") is True or (obj.kind == "ServingRuntime" and not _same_namespace(obj, isvc)):
            continue
        formats = [f for f in _list(rspec.get("supportedModelFormats")) if isinstance(f, dict)]
        priorities = [f.get("priority") if isinstance(f.get("priority"), int) else 0
                      for f in formats if f.get("autoSelect") is True and _formats_match(f, model)]
        if priorities:
            candidates.append((max(priorities), obj))
    if not candidates:
        return None, "it names no runtime and no runtime of the input can be auto-selected for it"
    best = max(p for p, _ in candidates)
    top = [o for p, o in candidates if p == best]
    if len(top) > 1:
        names = ", ".join(o.name for o in top)
        return None, f"it names no runtime, and the controller's choice among {names} depends on the model's size and the cluster"
    return top[0], ""


# --- building the children ----------------------------------------------------------------------

@dataclass
class _Ctx:
    isvc_name: str
    namespace: str | None
    parent: K8sObject
    runtime: K8sObject | None
    model: K8sObject | None
    meta_labels: dict
    meta_annotations: dict
    fallback_of: dict  # component -> (object, path)


def _gpus(container: dict) -> int:
    res = _dict(container.get("resources"))
    for part in ("limits", "requests"):
        value = _dict(res.get(part)).get(GPU)
        try:
            return int(str(value))
        except (TypeError, ValueError):
            continue
    return 0


def _set_env(container: dict, name: str, value: str, replace: bool, prov: dict, src: Source) -> None:
    """Append env `name` (UpdateEnvVars with `replace`, else AppendEnvVarsIfNotExist); `prov` is the
    container's provenance."""
    env = container.setdefault("env", [])
    if not isinstance(env, list):
        return
    for i, item in enumerate(env):
        if isinstance(item, dict) and item.get("name") == name:
            if replace:
                env[i] = {"name": name, "value": value}
                prov.update({("env", i): src, ("env", i, "name"): src, ("env", i, "value"): src})
            return
    env.append({"name": name, "value": value})
    i = len(env) - 1
    prov.update({("env", i): src, ("env", i, "name"): src, ("env", i, "value"): src})


def _model_path(ctx: _Ctx) -> str | None:
    if ctx.model is None:
        return None
    path = _dict(_dict(ctx.model.doc.get("spec")).get("storage")).get("path")
    return path if isinstance(path, str) and path else None


def _edit_runner(runner: dict, prov: dict, ctx: _Ctx, worker_size: int, src: Source) -> None:
    """What the controller writes into an engine/decoder runner before merging it into the pod
    (UpdateEnvVariables, UpdateVolumeMounts, setParallelismEnvVarForEngine)."""
    path = _model_path(ctx)
    # A model outside the render (or a runtime checked alone): its path is only known on the cluster
    _set_env(runner, "MODEL_PATH", path or MODEL_PATH_UNKNOWN, False, prov, src)
    if path:
        mounts = runner.setdefault("volumeMounts", [])
        if isinstance(mounts, list):
            mounts.append({"name": ctx.model.name, "mountPath": path, "readOnly": True})
            prov[("volumeMounts", len(mounts) - 1)] = src
    gpus = _gpus(runner)
    if gpus > 0:
        _set_env(runner, "PARALLELISM_SIZE", str(gpus * (1 + worker_size)), True, prov, src)


def _replace_placeholders(value, ctx: _Ctx):
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: ctx.isvc_name if m.group(1) == "Name" else (ctx.namespace or ""), value)
    if isinstance(value, list):
        return [_replace_placeholders(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _replace_placeholders(v, ctx) for k, v in value.items()}
    return value


def _sub_provenance(prov: dict, at: tuple) -> dict:
    out: dict = {}
    _take((prov, at), (), out)
    return out


def _pod_spec(part: dict, at: tuple, prov: dict, ctx: _Ctx, edit=None, model_src: Source | None = None) -> tuple[dict | None, dict]:
    """The pod spec the controller builds from the part of a merged component at `at` (the component
    itself, its `leader` or its `worker`), and the pod spec's provenance. None when it has no container."""
    pod = {k: v for k, v in part.items() if k in POD_SPEC_FIELDS}
    pod_prov = {path: src for path, src in _sub_provenance(prov, at).items() if path and path[0] in POD_SPEC_FIELDS}
    containers = list(pod.get("containers")) if isinstance(pod.get("containers"), list) else []
    runner = part.get("runner")
    if not isinstance(runner, dict):
        return (pod, pod_prov) if containers else (None, pod_prov)
    runner = copy.deepcopy(runner)
    runner_prov = _sub_provenance(prov, at + ("runner",))
    if edit is not None:
        edit(runner, runner_prov)
    index = next((i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("name") == runner.get("name")), None)
    if index is None:
        containers.append({})
        index = len(containers) - 1
    base = containers[index] if isinstance(containers[index], dict) else {}
    container_prov: dict = {}
    container = merge(base, runner, (pod_prov, ("containers", index)), (runner_prov, ()), (), container_prov)
    # MergeRuntimeContainers: the container's args, then the runner's (not replaced)
    base_args = base.get("args") if isinstance(base.get("args"), list) else []
    runner_args = runner.get("args") if isinstance(runner.get("args"), list) else []
    if base_args and runner_args:
        container["args"] = [*base_args, *runner_args]
        container_prov = {p: s for p, s in container_prov.items() if p[:1] != ("args",)}
        _take((pod_prov, ("containers", index, "args")), ("args",), container_prov)
        for i in range(len(runner_args)):
            _take((runner_prov, ("args", i)), ("args", len(base_args) + i), container_prov)
    if not container.get("name") and base.get("name"):
        container["name"] = base["name"]
    containers[index] = _replace_placeholders(container, ctx)
    pod["containers"] = containers
    pod_prov = {p: s for p, s in pod_prov.items() if p[:2] != ("containers", index)}
    pod_prov.update({("containers", index) + p: s for p, s in container_prov.items()})
    path = _model_path(ctx)
    if model_src is not None and path:  # UpdatePodSpecVolumes: the model's hostPath
        volumes = pod["volumes"] = list(_list(pod.get("volumes")))
        volumes.append({"name": ctx.model.name, "hostPath": {"path": path}})
        pod_prov[("volumes", len(volumes) - 1)] = model_src
    return pod, pod_prov


# The OME pod webhook's RDMA profiles (af88aee pkg/webhook/admission/pod/rdma_injector.go `RDMAProfiles`)
RDMA_PROFILES = {
    "oci-roce": {
        "env": {"NCCL_NET_PLUGIN": "none", "NCCL_DEBUG": "INFO", "NCCL_CROSS_NIC": "2", "NCCL_SOCKET_NTHREADS": "16",
                "NCCL_CUMEM_ENABLE": "0", "NCCL_IB_SPLIT_DATA_ON_QPS": "0", "NCCL_IB_QPS_PER_CONNECTION": "16",
                "NCCL_IB_GID_INDEX": "3",
                "NCCL_IB_HCA": "=mlx5_0,mlx5_1,mlx5_3,mlx5_4,mlx5_5,mlx5_6,mlx5_7,mlx5_8,mlx5_9,mlx5_10,mlx5_12,mlx5_13,"
                               "mlx5_14,mlx5_15,mlx5_16,mlx5_17",
                "NCCL_IB_TC": "41", "NCCL_IB_SL": "0", "NCCL_IB_TIMEOUT": "22", "HCOLL_ENABLE_MCAST_ALL": "0",
                "coll_hcoll_enable": "0", "UCX_TLS": "tcp", "UCX_NET_DEVICES": "eth0", "RX_QUEUE_LEN": "8192",
                "IB_RX_QUEUE_LEN": "8192", "NCCL_SOCKET_IFNAME": "eth0", "NCCL_IGNORE_CPU_AFFINITY": "1",
                "GLOO_SOCKET_IFNAME": "eth0"},
        "mounts": [{"name": "dshm", "mountPath": "/dev/shm"}, {"name": "devinf", "mountPath": "/dev/infiniband"}],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}},
                    {"name": "devinf", "hostPath": {"path": "/dev/infiniband"}}],
        "capabilities": ["IPC_LOCK", "CAP_SYS_ADMIN"],
    },
}
RDMA_INJECT = "rdma.ome.io/auto-inject"


def _inject_rdma(pod: dict, pod_prov: dict, annotations: dict, src: Source) -> None:
    """What OME's pod webhook does to a pod annotated rdma.ome.io/auto-inject: "true" (InjectRDMA): the
    profile's volumes (when missing) and, in the target container, its env (appended), mounts (when
    missing), capabilities and privileged (when unset)."""
    if annotations.get(RDMA_INJECT) != "true":
        return
    profile = RDMA_PROFILES.get(annotations.get("rdma.ome.io/profile") or "oci-roce")
    target = annotations.get("rdma.ome.io/container-name") or "ome-container"
    containers = pod.get("containers") if isinstance(pod.get("containers"), list) else []
    index = next((i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("name") == target), None)
    if profile is None or index is None:  # an unknown profile fails admission; no target: the webhook skips the pod
        return
    volumes = pod["volumes"] = list(_list(pod.get("volumes")))
    for volume in profile["volumes"]:
        if not any(isinstance(v, dict) and v.get("name") == volume["name"] for v in volumes):
            volumes.append(copy.deepcopy(volume))
            pod_prov[("volumes", len(volumes) - 1)] = src
    container = containers[index] = copy.deepcopy(containers[index])
    at = ("containers", index)
    env = container["env"] = list(_list(container.get("env")))
    for name in sorted(profile["env"]):
        env.append({"name": name, "value": profile["env"][name]})
        pod_prov[at + ("env", len(env) - 1)] = src
    mounts = container["volumeMounts"] = list(_list(container.get("volumeMounts")))
    for mount in profile["mounts"]:
        if not any(isinstance(m, dict) and m.get("name") == mount["name"] for m in mounts):
            mounts.append(dict(mount))
            pod_prov[at + ("volumeMounts", len(mounts) - 1)] = src
    security = container["securityContext"] = dict(_dict(container.get("securityContext")))
    capabilities = security["capabilities"] = dict(_dict(security.get("capabilities")))
    add = capabilities["add"] = list(_list(capabilities.get("add")))
    add.extend(c for c in profile["capabilities"] if c not in add)
    security.setdefault("privileged", True)
    pod_prov.setdefault(at + ("securityContext",), src)


def _labels(ctx: _Ctx, component: str, merged: dict) -> dict:
    labels = {**ctx.meta_labels, **{k: v for k, v in _dict(merged.get("labels")).items() if isinstance(v, str)}}
    labels.update({ISVC_LABEL: ctx.isvc_name, COMPONENT_LABEL: component,
                   RUNTIME_LABEL: ctx.runtime.name if ctx.runtime is not None else "", "fine-tuned-serving": "false"})
    if ctx.model is not None:
        labels.update({"base-model-name": ctx.model.name, "base-model-type": "Serving",
                       "base-model-size": ctx.model.annotations.get("models.ome.io/category", "SMALL")})
        vendor = _dict(ctx.model.doc.get("spec")).get("vendor")
        if isinstance(vendor, str):
            labels["base-model-vendor"] = vendor
    return labels


def _annotations(ctx: _Ctx, merged: dict) -> dict:
    out = {**ctx.meta_annotations, **{k: v for k, v in _dict(merged.get("annotations")).items() if isinstance(v, str)}}
    out.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return out


def _metadata(name: str, ctx: _Ctx, labels: dict, annotations: dict | None = None) -> dict:
    meta = {"name": name, "labels": dict(labels)}
    if ctx.namespace:
        meta["namespace"] = ctx.namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _replicas(merged: dict) -> int:
    value = merged.get("minReplicas")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


def _service(name: str, ctx: _Ctx, labels: dict, selector: dict, pod: dict) -> dict:
    containers = _list(pod.get("containers"))
    first = containers[0] if containers and isinstance(containers[0], dict) else {}
    ports = [{**({"name": p["name"]} if isinstance(p.get("name"), str) else {}), "port": p["containerPort"],
              "targetPort": p["containerPort"], "protocol": "TCP"}
             for p in _list(first.get("ports")) if isinstance(p, dict) and isinstance(p.get("containerPort"), int)]
    if not ports:
        ports = [{"name": name, "port": 80, "targetPort": 8080, "protocol": "TCP"}]
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(name, ctx, labels),
            "spec": {"selector": selector, "ports": ports}}


def _child(doc: dict, ctx: _Ctx, component: str, prov: dict, label: str) -> OmeDerived:
    parent = ctx.parent
    return OmeDerived(doc, parent.index, parent.origin, parent=parent, label=label, provenance=prov,
                      fallback=ctx.fallback_of.get(component, (parent, ())))


def _deployment(name: str, ctx: _Ctx, labels: dict, annotations: dict, replicas: int, pod: dict) -> dict:
    pod_labels = {**labels, "app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _metadata(name, ctx, labels, annotations),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": pod_labels, **({"annotations": annotations} if annotations else {})},
                                  "spec": pod}}}


def _engine_children(component: str, merged: dict, prov: dict, ctx: _Ctx) -> list[OmeDerived]:
    name = f"{ctx.isvc_name}-{component}"
    labels, annotations = _labels(ctx, component, merged), _annotations(ctx, merged)
    fallback = ctx.fallback_of[component]
    worker = merged.get("worker")
    leader = merged.get("leader")
    multinode = isinstance(worker, dict) or isinstance(leader, dict)
    size = _dict(worker).get("size")
    worker_size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else 0

    def edit(runner, runner_prov):
        _edit_runner(runner, runner_prov, ctx, worker_size, _injected(fallback))

    if isinstance(leader, dict):
        head, head_prov = _pod_spec(leader, ("leader",), prov, ctx, edit, _injected(fallback))
    else:
        head, head_prov = _pod_spec(merged, (), prov, ctx, edit, _injected(fallback))
    if head is None:
        return []
    rdma_src = _injected(prov.get(("annotations", RDMA_INJECT), fallback))
    _inject_rdma(head, head_prov, annotations, rdma_src)
    out = []
    if not multinode:
        doc = _deployment(name, ctx, labels, annotations, _replicas(merged), head)
        out_prov = {("spec", "template", "spec") + p: s for p, s in head_prov.items()}
        out.append(_child(doc, ctx, component, out_prov, component))
        selector = {"app": name}
    else:
        work, work_prov = (_pod_spec(worker, ("worker",), prov, ctx, edit, _injected(fallback)) if isinstance(worker, dict)
                           else (None, {}))
        if work is None:  # the controller fails on a worker without containers; a leader alone is a group of one
            work, work_prov = copy.deepcopy(head), dict(head_prov)
        else:
            _inject_rdma(work, work_prov, annotations, rdma_src)
        lws = f"lws-{name[-50:]}"
        leader_labels = {**labels, "app": name[:63], HEAD_LABEL: "head"}
        template_meta = {"annotations": annotations} if annotations else {}
        doc = {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
               "metadata": _metadata(lws, ctx, labels, annotations),
               "spec": {"replicas": _replicas(merged), "startupPolicy": "LeaderCreated",
                        "networkConfig": {"subdomainPolicy": "Shared"},
                        "rolloutStrategy": {"type": "RollingUpdate",
                                            "rollingUpdateConfiguration": {"maxUnavailable": 1, "maxSurge": 1}},
                        "leaderWorkerTemplate": {
                            "size": worker_size + 1, "restartPolicy": "RecreateGroupOnPodRestart",
                            "leaderTemplate": {"metadata": {"labels": leader_labels, **template_meta}, "spec": head},
                            "workerTemplate": {"metadata": {"labels": dict(labels), **template_meta}, "spec": work}}}}
        lwt = ("spec", "leaderWorkerTemplate")
        out_prov = {lwt + ("leaderTemplate", "spec") + p: s for p, s in head_prov.items()}
        out_prov.update({lwt + ("workerTemplate", "spec") + p: s for p, s in work_prov.items()})
        if isinstance(worker, dict) and ("worker", "size") in prov:
            out_prov[lwt + ("size",)] = prov[("worker", "size")]
        out.append(_child(doc, ctx, component, out_prov, component))
        selector = {HEAD_LABEL: "head", "app": name[:63]}
    out.append(_child(_service(name, ctx, labels, selector, head), ctx, component, {}, f"{component} Service"))
    return out


def _router_children(merged: dict, prov: dict, ctx: _Ctx) -> list[OmeDerived]:
    name = f"{ctx.isvc_name}-router"
    labels, annotations = _labels(ctx, "router", merged), _annotations(ctx, merged)
    fallback = ctx.fallback_of["router"]
    config = {k: v for k, v in _dict(merged.get("config")).items() if isinstance(v, str)}

    def edit(runner, runner_prov):
        env = runner.setdefault("env", [])
        if isinstance(env, list):
            for k, v in config.items():
                env.append({"name": k, "value": v})
                runner_prov[("env", len(env) - 1)] = _injected(prov.get(("config", k), fallback))

    pod, pod_prov = _pod_spec(merged, (), prov, ctx, edit)
    if pod is None:
        return []
    pod["serviceAccountName"] = name
    doc = _deployment(name, ctx, labels, annotations, _replicas(merged), pod)
    out_prov = {("spec", "template", "spec") + p: s for p, s in pod_prov.items()}
    rbac = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(name, ctx, labels)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _metadata(name, ctx, labels),
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _metadata(name, ctx, labels),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, **({"namespace": ctx.namespace} if ctx.namespace else {})}]},
    ]
    return [_child(doc, ctx, "router", out_prov, "router"),
            _child(_service(name, ctx, labels, {"app": name}, pod), ctx, "router", {}, "router Service"),
            *(_child(d, ctx, "router", {}, f"router {d['kind']}") for d in rbac)]


def _children(parent: K8sObject, isvc_parts: dict, runtime: K8sObject | None, model: K8sObject | None,
              isvc_name: str, namespace: str | None, meta: dict) -> list[OmeDerived]:
    """The objects the controller creates for the components named in `isvc_parts` (component ->
    (value, object, path)), each merged over the runtime's config for it."""
    runtime_spec = _dict(runtime.doc.get("spec")) if runtime is not None else {}
    ctx = _Ctx(isvc_name, namespace, parent, runtime, model, _dict(meta.get("labels")),
               {k: v for k, v in _dict(meta.get("annotations")).items() if isinstance(v, str)}, {})
    out = []
    for component in (*ENGINE_COMPONENTS, "router"):
        if component not in isvc_parts:
            continue
        value, obj, path = isvc_parts[component]
        ctx.fallback_of[component] = (obj, path)
        config = runtime_spec.get(f"{component}Config")
        config_side = (provenance_of(config, runtime, ("spec", f"{component}Config")), ()) if isinstance(config, dict) else None
        prov: dict = {}
        merged = merge(config if isinstance(config, dict) else _ABSENT, value, config_side,
                       (provenance_of(value, obj, path), ()), (), prov)
        if not isinstance(merged, dict):
            continue
        if component == "router":
            out.extend(_router_children(merged, prov, ctx))
        else:
            out.extend(_engine_children(component, merged, prov, ctx))
    return out


def expand_in_render(obj: K8sObject, objects: list[K8sObject]) -> list[K8sObject]:
    """The objects the OME controller creates from `obj` (an InferenceService, or a runtime no
    InferenceService of the render uses); [] for what cannot be told from the render."""
    spec = obj.doc.get("spec")
    if not isinstance(spec, dict) or not obj.name:
        return []
    if obj.kind == "InferenceService":
        runtime, _ = resolve_runtime(obj, objects)
        if runtime is None:
            return []
        parts = {c: (spec[c], obj, ("spec", c)) for c in (*ENGINE_COMPONENTS, "router") if isinstance(spec.get(c), dict)}
        return _children(obj, parts, runtime, find_model(obj, objects), obj.name, obj.namespace, obj.metadata)
    if obj.kind in RUNTIME_KINDS and not used_by_an_inferenceservice(obj, objects):
        parts = {c: ({}, obj, ("spec", f"{c}Config")) for c in (*ENGINE_COMPONENTS, "router")
                 if isinstance(spec.get(f"{c}Config"), dict)}
        return _children(obj, parts, obj, None, obj.name, obj.namespace, {})
    return []


def used_by_an_inferenceservice(runtime: K8sObject, objects) -> bool:
    return any(resolve_runtime(isvc, objects)[0] is runtime for isvc in _ome(objects, ("InferenceService",)))


def expand(obj: K8sObject) -> list[K8sObject]:
    """`obj` alone, without the rest of its render (use expand_in_render)."""
    return expand_in_render(obj, [obj])
