"""NVIDIA Dynamo DynamoGraphDeployment (nvidia.com/v1alpha1): one Deployment or LeaderWorkerSet per service.

What the Dynamo operator does with `spec.services.<name>` (ai-dynamo/dynamo deploy/operator, read in
the fork wxsms/dynamo @3057af0 internal/dynamo/backend_sglang.go, component_common.go,
component_worker.go, component_frontend.go, utils.go
`injectFlagsIntoContainerCommand`, and the constants/shared-memory code found in the search index;
structure note and CRD: ../shared/reference/wrappers/README.md "DynamoGraphDeployment", upstream @2a6da14):
- each service becomes a DynamoComponentDeployment `<dgd>-<lower(name)>`, which renders to a
  Deployment of that name (`replicas`, default 1) or, with `multinode.nodeCount` > 1 and the LWS
  provider, to a LeaderWorkerSet `<dcd>-0` with `size = nodeCount`; pdcheck models the LWS
  provider (Grove renders the same pods as PodCliques `<name>-ldr`/`-wkr`; not modelled separately);
- the pod is `extraPodSpec` with the container `main` built from the operator's default
  (component_common.go: command `/bin/sh -c`, env DYN_NAMESPACE, DYN_COMPONENT (the componentType),
  DYN_PARENT_DGD_K8S_NAME/_NAMESPACE, POD_NAME, POD_NAMESPACE, POD_UID, DYN_DISCOVERY_BACKEND; the
  frontend's `python3 -m dynamo.frontend` on port 8000, component_frontend.go; for worker types also the `system` port 9090, liveness/readiness/startup
  probes on it and DYN_SYSTEM_* env, component_worker.go) overridden by `extraPodSpec.mainContainer` (user fields win, env merges
  by name); graph `spec.envs` then service `envs` are merged into its env; the service's
  `resources` (cpu, memory, gpu -> `gpuType` or nvidia.com/gpu, `custom`) are merged into the container's (its own keys win);
- the service's `volumeMounts` ({name, mountPoint}) mount the PVC of that name in main;
- a Memory emptyDir `shared-memory` of `sharedMemory.size` (default 8Gi) is mounted at /dev/shm
  unless `sharedMemory.disabled`;
- pod labels: nvidia.com/selector=<dcd>, nvidia.com/dynamo-graph-deployment-name,
  nvidia.com/dynamo-component, nvidia.com/dynamo-component-type, nvidia.com/dynamo-sub-component-type,
  nvidia.com/dynamo-namespace (over the user's `labels` and `extraPodMetadata.labels`);
- SGLang multinode (backendFramework sglang, or a main container that runs dynamo.sglang): the leader
  gets `--dist-init-addr $(LWS_LEADER_ADDRESS):29500 --nnodes <n> --node-rank 0`, the workers
  `--node-rank $(LWS_WORKER_INDEX)`: appended to args when the command is python, else inserted
  right after the first `python ... sglang` word of the shell script; worker probes are removed.
The frontend is modelled as a Deployment running `dynamo.frontend`, which is not sglang_router: Dynamo
pairs prefill and decode workers through its own runtime (discovery, request plane), so no router rule
applies. Not modelled: the per-component Services (no configuration names them: workers are found by
discovery), Grove's PodCliques, the planner's scaling, `envFromSecret`, and v1beta1 (`spec.components[]`,
which still gets the grouped not-checked notice).
"""

from __future__ import annotations

import re

from ..objects import DerivedObject, K8sObject

KIND = "DynamoGraphDeployment"
API_VERSIONS = ("nvidia.com/v1alpha1",)

LABEL_PREFIX = "nvidia.com/"
SGLANG_DIST_PORT = "29500"  # backend_sglang.go SglangPort
DEFAULT_SHARED_MEMORY = "8Gi"  # consts.DefaultSharedMemorySize
MAIN = "main"
_PYTHON = re.compile(r"^(.*/)?(python\d*(\.\d+)*)$")  # backend_sglang.go isPythonCommand
# utils.go injectFlagsIntoPythonCommand, with framework "sglang"
_SGLANG_IN_SCRIPT = re.compile(r"(python[0-9.]*\s+[^|&;]*sglang[^|&;]*?)(\s|$|[|&;])")


def component_name(dgd: str, service: str) -> str:
    return f"{dgd}-{service.lower()}"


def _mapping(value) -> dict:
    return dict(value) if isinstance(value, dict) else {}


def _list(value) -> list:
    return list(value) if isinstance(value, list) else []


def _merge_env(*lists) -> list:
    """Env lists merged by name, later lists winning, in first-seen order."""
    merged: dict = {}
    for entries in lists:
        for entry in _list(entries):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                merged[entry["name"]] = entry
    return list(merged.values())


def _field_env(name: str, path: str) -> dict:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def _resources(service_resources) -> dict:
    """A Dynamo `resources` block ({requests, limits}: cpu, memory, gpu of `gpuType` (default
    nvidia.com/gpu), `custom` names) as Kubernetes resources."""
    out = {}
    for key in ("requests", "limits"):
        block = _mapping(_mapping(service_resources).get(key))
        gpu_type = block.get("gpuType") if isinstance(block.get("gpuType"), str) and block.get("gpuType") else "nvidia.com/gpu"
        converted = {(gpu_type if name == "gpu" else name): value
                     for name, value in block.items() if name in ("cpu", "memory", "gpu") and value not in (None, "")}
        converted.update({name: value for name, value in _mapping(block.get("custom")).items() if isinstance(name, str)})
        if converted:
            out[key] = converted
    return out


WORKER_TYPES = ("worker", "prefill", "decode")
SYSTEM_PORT = 9090  # consts.DynamoSystemPort, named "system"
FRONTEND_PORT = 8000  # consts.DynamoServicePort, named "http"


def _worker_defaults() -> dict:
    """What component_worker.go `GetBaseContainer` adds to a worker's main container."""
    def probe(path, period, timeout, failures):
        return {"httpGet": {"path": path, "port": "system"}, "periodSeconds": period, "timeoutSeconds": timeout,
                "failureThreshold": failures}
    return {
        "ports": [{"name": "system", "containerPort": SYSTEM_PORT, "protocol": "TCP"}],
        "livenessProbe": probe("/live", 5, 4, 1),
        "readinessProbe": probe("/health", 10, 4, 3),
        "startupProbe": probe("/live", 10, 5, 720),
        "env": [{"name": "DYN_SYSTEM_ENABLED", "value": "true"},
                {"name": "DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS", "value": '["generate"]'},
                {"name": "DYN_SYSTEM_PORT", "value": str(SYSTEM_PORT)},
                {"name": "DYN_HEALTH_CHECK_ENABLED", "value": "false"}],
    }


def _main_container(obj: K8sObject, name: str, service: dict) -> dict:
    user = _mapping(_mapping(service.get("extraPodSpec")).get("mainContainer"))
    namespace_env = (_field_env("DYN_PARENT_DGD_K8S_NAMESPACE", "metadata.namespace") if obj.namespace is None
                     else {"name": "DYN_PARENT_DGD_K8S_NAMESPACE", "value": obj.namespace})
    defaults = [
        {"name": "DYN_NAMESPACE", "value": str(service.get("dynamoNamespace") or "dynamo")},
        {"name": "DYN_COMPONENT", "value": str(service.get("componentType") or "")},
        {"name": "DYN_PARENT_DGD_K8S_NAME", "value": obj.name},
        namespace_env,
        _field_env("POD_NAME", "metadata.name"), _field_env("POD_NAMESPACE", "metadata.namespace"),
        _field_env("POD_UID", "metadata.uid"),
        {"name": "DYN_DISCOVERY_BACKEND", "value": "kubernetes"},  # unless the operator is configured for etcd
    ]
    spec = _mapping(obj.doc.get("spec"))
    base = {"name": MAIN, "command": ["/bin/sh", "-c"]}
    if service.get("componentType") in WORKER_TYPES:
        base.update(_worker_defaults())
        defaults += base.pop("env")
    elif service.get("componentType") == "frontend":  # component_frontend.go (probes not modelled)
        base.update(command=["python3"], args=["-m", "dynamo.frontend"],
                    ports=[{"name": "http", "containerPort": FRONTEND_PORT, "protocol": "TCP"}])
        defaults += [{"name": "DYNAMO_PORT", "value": str(FRONTEND_PORT)}, {"name": "DYN_HTTP_PORT", "value": str(FRONTEND_PORT)}]
    main = {**base, **user}
    main["name"] = MAIN
    main["env"] = _merge_env(defaults, spec.get("envs"), service.get("envs"), user.get("env"))
    service_resources = _resources(service.get("resources"))
    if service_resources:  # merged like mergo.WithOverride: the main container's own keys win
        own = _mapping(user.get("resources"))
        main["resources"] = {**own, **{key: {**values, **_mapping(own.get(key))} for key, values in service_resources.items()}}
    mounts = _list(user.get("volumeMounts")) + [{"name": m["name"], "mountPath": m["mountPoint"]} for m in _pvc_mounts(service)]
    shared = _mapping(service.get("sharedMemory"))
    if not shared.get("disabled"):
        mounts = [m for m in mounts if not (isinstance(m, dict) and m.get("mountPath") == "/dev/shm")]
        mounts.append({"name": "shared-memory", "mountPath": "/dev/shm"})
    if mounts:
        main["volumeMounts"] = mounts
    return main


def _pvc_mounts(service: dict) -> list[dict]:
    """The service's `volumeMounts` ({name, mountPoint}): PVCs of `spec.pvcs` mounted in main."""
    return [m for m in _list(service.get("volumeMounts"))
            if isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("mountPoint"), str)]


def _runs_sglang(obj: K8sObject, container: dict) -> bool:
    if _mapping(obj.doc.get("spec")).get("backendFramework") == "sglang":
        return True
    words = [w for w in _list(container.get("command")) + _list(container.get("args")) if isinstance(w, str)]
    return any("dynamo.sglang" in w for w in words)


def _inject_flags(container: dict, flags: list[str]) -> dict:
    """The main container with the multinode flags written in where the operator writes them."""
    out = dict(container)
    command, args = _list(out.get("command")), _list(out.get("args"))
    if command and isinstance(command[0], str) and _PYTHON.match(command[0]):
        out["args"] = args + flags
        return out
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            continue
        injected = _SGLANG_IN_SCRIPT.sub(lambda m: m.group(1) + " " + " ".join(flags) + m.group(2), arg)
        if injected != arg:
            out["args"] = args[:i] + [injected] + args[i + 1:]
            break
    return out


def _pod_template(obj: K8sObject, name: str, service: dict, labels: dict, main: dict) -> dict:
    pod_spec = {k: v for k, v in _mapping(service.get("extraPodSpec")).items() if k != "mainContainer"}
    sidecars = [c for c in _list(pod_spec.get("containers")) if not (isinstance(c, dict) and c.get("name") == MAIN)]
    pod_spec["containers"] = [main] + sidecars
    volumes = _list(pod_spec.get("volumes")) + [{"name": m["name"], "persistentVolumeClaim": {"claimName": m["name"]}}
                                                for m in _pvc_mounts(service)]
    shared = _mapping(service.get("sharedMemory"))
    if not shared.get("disabled"):
        volumes = [v for v in volumes if not (isinstance(v, dict) and v.get("name") == "shared-memory")]
        volumes.append({"name": "shared-memory", "emptyDir": {"medium": "Memory", "sizeLimit": shared.get("size") or DEFAULT_SHARED_MEMORY}})
    if volumes:
        pod_spec["volumes"] = volumes
    pod_meta = _mapping(service.get("extraPodMetadata"))
    metadata = {"labels": {**_mapping(service.get("labels")), **_mapping(pod_meta.get("labels")), **labels}}
    if isinstance(pod_meta.get("annotations"), dict):
        metadata["annotations"] = dict(pod_meta["annotations"])
    return {"metadata": metadata, "spec": pod_spec}


def system_labels(dgd: str, name: str, service: dict) -> dict[str, str]:
    labels = {
        LABEL_PREFIX + "selector": component_name(dgd, name),
        LABEL_PREFIX + "dynamo-graph-deployment-name": dgd,
        LABEL_PREFIX + "dynamo-component": name,
        LABEL_PREFIX + "dynamo-namespace": str(service.get("dynamoNamespace") or "dynamo"),
    }
    for key, field in (("dynamo-component-type", "componentType"), ("dynamo-sub-component-type", "subComponentType")):
        if isinstance(service.get(field), str):
            labels[LABEL_PREFIX + key] = service[field]
    return labels


def _path_map(template_paths: list[tuple], at: tuple, sidecar_indexes: list[int]) -> tuple:
    pairs = []
    for template in template_paths:
        containers = template + ("spec", "containers")
        pairs.append((containers + (0,), at + ("extraPodSpec", "mainContainer")))
        pairs += [(containers + (k + 1,), at + ("extraPodSpec", "containers", j)) for k, j in enumerate(sidecar_indexes)]
        pairs.append((template + ("spec",), at + ("extraPodSpec",)))
        pairs.append((template + ("metadata",), at + ("extraPodMetadata",)))
    return tuple(pairs) + ((("spec",), at), ((), at))


def expand(obj: K8sObject) -> list[DerivedObject]:
    """The Deployment or LeaderWorkerSet of every well-formed service (malformed ones are the schema rule's)."""
    spec = obj.doc.get("spec")
    services = spec.get("services") if isinstance(spec, dict) else None
    out = []
    for name, service in (services.items() if isinstance(services, dict) else ()):
        if not isinstance(name, str) or not isinstance(service, dict):
            continue
        extra = service.get("extraPodSpec")
        if extra is not None and not isinstance(extra, dict):
            continue
        dcd = component_name(obj.name, name)
        labels = system_labels(obj.name, name, service)
        main = _main_container(obj, name, service)
        replicas = service.get("replicas") if isinstance(service.get("replicas"), int) else 1
        node_count = _mapping(service.get("multinode")).get("nodeCount")
        at = ("spec", "services", name)
        sidecar_indexes = [j for j, c in enumerate(_list(_mapping(extra).get("containers")))
                           if not (isinstance(c, dict) and c.get("name") == MAIN)]
        metadata = {"name": dcd, "labels": dict(labels)}
        if obj.namespace:
            metadata["namespace"] = obj.namespace
        if isinstance(node_count, int) and node_count > 1:
            leader_main, worker_main = main, main
            if _runs_sglang(obj, main):
                common = ["--dist-init-addr", f"$(LWS_LEADER_ADDRESS):{SGLANG_DIST_PORT}", "--nnodes", str(node_count)]
                leader_main = _inject_flags(main, common + ["--node-rank", "0"])
                worker_main = _inject_flags(main, common + ["--node-rank", "$(LWS_WORKER_INDEX)"])
                worker_main = {k: v for k, v in worker_main.items() if k not in ("livenessProbe", "readinessProbe", "startupProbe")}
            metadata["name"] = f"{dcd}-0"
            doc = {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "metadata": metadata, "spec": {
                "replicas": replicas, "startupPolicy": "LeaderCreated",
                "leaderWorkerTemplate": {
                    "size": node_count,
                    "leaderTemplate": _pod_template(obj, name, service, {**labels, "role": "leader"}, leader_main),
                    "workerTemplate": _pod_template(obj, name, service, {**labels, "role": "worker"}, worker_main),
                }}}
            templates = [("spec", "leaderWorkerTemplate", "leaderTemplate"), ("spec", "leaderWorkerTemplate", "workerTemplate")]
        else:
            doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": {
                "replicas": replicas, "selector": {"matchLabels": {LABEL_PREFIX + "selector": dcd}},
                "template": _pod_template(obj, name, service, labels, main)}}
            templates = [("spec", "template")]
        out.append(DerivedObject(doc, obj.index, obj.origin, parent=obj, label=f"service {name}",
                                 path_map=_path_map(templates, at, sidecar_indexes)))
    return out
