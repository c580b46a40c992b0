"""NVIDIA Dynamo DynamoGraphDeployment (nvidia.com/v1alpha1, v1beta1): a Deployment or LeaderWorkerSet per service.

What the Dynamo operator does with `spec.services.<name>` (ai-dynamo/dynamo deploy/operator, read in
the fork wxsms/dynamo @3057af0: internal/dynamo/backend_sglang.go, component_common.go,
component_worker.go, component_frontend.go, utils.go `injectFlagsIntoContainerCommand`; lws.go,
the shared-memory code and ComputeDynamoNamespace as found in the search index; structure note and
CRD: ../shared/reference/wrappers/README.md "DynamoGraphDeployment", upstream @2a6da14):
- each service becomes a DynamoComponentDeployment `<dgd>-<lower(name)>`, rendered as a Deployment
  of that name (`replicas`, default 1) or, with `multinode.nodeCount` > 1 and the LWS provider, as a
  LeaderWorkerSet `<dcd>-0` with `size = nodeCount` (Grove runs the same containers as PodCliques
  `<name>-ldr`/`-wkr` with GROVE_* env; pdcheck models the LWS provider);
- the pod is `extraPodSpec`; its container `main` is the operator's default (component_common.go:
  command `/bin/sh -c`, env DYN_NAMESPACE, DYN_COMPONENT (the componentType), DYN_PARENT_DGD_K8S_NAME
  and _NAMESPACE, POD_NAME, POD_NAMESPACE, POD_UID, DYN_DISCOVERY_BACKEND; a frontend runs
  `python3 -m dynamo.frontend` on port 8000; a worker type gets the `system` port 9090, liveness,
  readiness and startup probes on it and DYN_SYSTEM_* env, component_worker.go) overridden by
  `extraPodSpec.mainContainer` (user fields win, env merges by name); graph `spec.envs` then service
  `envs` are merged into its env, `envFromSecret` becomes an envFrom secretRef, the service's
  `resources` (cpu, memory, gpu as `gpuType` or nvidia.com/gpu, `custom`) are merged into the
  container's (its own keys win), and the service's `volumeMounts` ({name, mountPoint}) mount the
  PVC of that name;
- a Memory emptyDir `shared-memory` of `sharedMemory.size` (default 8Gi) is mounted at /dev/shm
  unless `sharedMemory.disabled`;
- pod labels: nvidia.com/selector=<dcd>, nvidia.com/dynamo-graph-deployment-name,
  nvidia.com/dynamo-component, nvidia.com/dynamo-component-type, nvidia.com/dynamo-sub-component-type
  and nvidia.com/dynamo-namespace, over the user's `labels` and `extraPodMetadata.labels`. The Dynamo
  namespace (DYN_NAMESPACE and that label) is `<namespace>-<dgd>`, or `dynamo` with
  `globalDynamoNamespace` (the v1alpha1 `dynamoNamespace` field is not read); pdcheck pairs prefill
  and decode workers only within one;
- SGLang multinode (backendFramework sglang, or a main container that runs dynamo.sglang): the leader
  gets `--dist-init-addr $(LWS_LEADER_ADDRESS):29500 --nnodes <n> --node-rank 0`, the workers
  `--node-rank $(LWS_WORKER_INDEX)`, appended to args when the command is python, else inserted right
  after the first `python ... sglang` word of the shell script; worker probes are removed.
The frontend is modelled as a Deployment running `dynamo.frontend`, which is not sglang_router: Dynamo
pairs prefill and decode workers through its own runtime (discovery, request plane), so no router rule
applies. Not modelled: the per-component Services (no configuration names them: workers are found by
discovery), Grove's PodCliques, the planner's scaling.
v1beta1 (`spec.components[]`, the storage version) is read as the v1alpha1 service it converts to:
`type` is the componentType, `podTemplate` the pod with its `main` container, `sharedMemorySize`
("0" turns it off) the shared memory, `spec.env` the graph env.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..objects import DerivedObject, K8sObject

KIND = "DynamoGraphDeployment"
API_VERSIONS = ("nvidia.com/v1alpha1", "nvidia.com/v1beta1")

LABEL_PREFIX = "nvidia.com/"
SGLANG_DIST_PORT = "29500"  # backend_sglang.go SglangPort
DEFAULT_SHARED_MEMORY = "8Gi"  # consts.DefaultSharedMemorySize
MAIN = "main"
GLOBAL_DYNAMO_NAMESPACE = "dynamo"
_PYTHON = re.compile(r"^(.*/)?(python\d*(\.\d+)*)$")  # backend_sglang.go isPythonCommand
# utils.go injectFlagsIntoPythonCommand, with framework "sglang"
_SGLANG_IN_SCRIPT = re.compile(r"(python[0-9.]*\s+[^|&;]*sglang[^|&;]*?)(\s|$|[|&;])")


def component_name(dgd: str, service: str) -> str:
    return f"{dgd}-{service.lower()}"


def dynamo_namespace(obj: K8sObject, service: dict) -> str:
    """ComputeDynamoNamespace: `<namespace>-<dgd>`, or `dynamo` with `globalDynamoNamespace` (the
    v1alpha1 `dynamoNamespace` field is not read). An object without a namespace lands in the
    namespace of the apply, written `default` here as elsewhere in pdcheck."""
    if service.get("globalDynamoNamespace") is True:
        return GLOBAL_DYNAMO_NAMESPACE
    return f"{obj.namespace or 'default'}-{obj.name}"


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


def _main_container(obj: K8sObject, name: str, service: dict, graph_env) -> dict:
    user = _mapping(_mapping(service.get("extraPodSpec")).get("mainContainer"))
    namespace_env = (_field_env("DYN_PARENT_DGD_K8S_NAMESPACE", "metadata.namespace") if obj.namespace is None
                     else {"name": "DYN_PARENT_DGD_K8S_NAMESPACE", "value": obj.namespace})
    defaults = [
        {"name": "DYN_NAMESPACE", "value": dynamo_namespace(obj, service)},
        {"name": "DYN_COMPONENT", "value": str(service.get("componentType") or "")},
        {"name": "DYN_PARENT_DGD_K8S_NAME", "value": obj.name},
        namespace_env,
        _field_env("POD_NAME", "metadata.name"), _field_env("POD_NAMESPACE", "metadata.namespace"),
        _field_env("POD_UID", "metadata.uid"),
        {"name": "DYN_DISCOVERY_BACKEND", "value": "kubernetes"},  # unless the operator is configured for etcd
    ]
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
    main["env"] = _merge_env(defaults, graph_env, service.get("envs"), user.get("env"))
    if isinstance(service.get("envFromSecret"), str) and service["envFromSecret"]:  # every key of the Secret as env
        main["envFrom"] = _list(user.get("envFrom")) + [{"secretRef": {"name": service["envFromSecret"]}}]
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


def _pod_template(service: dict, labels: dict, main: dict) -> dict:
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


def system_labels(obj: K8sObject, name: str, service: dict) -> dict[str, str]:
    labels = {
        LABEL_PREFIX + "selector": component_name(obj.name, name),
        LABEL_PREFIX + "dynamo-graph-deployment-name": obj.name,
        LABEL_PREFIX + "dynamo-component": name,
        LABEL_PREFIX + "dynamo-namespace": dynamo_namespace(obj, service),
    }
    for key, field in (("dynamo-component-type", "componentType"), ("dynamo-sub-component-type", "subComponentType")):
        if isinstance(service.get(field), str):
            labels[LABEL_PREFIX + key] = service[field]
    return labels


@dataclass(frozen=True)
class _Where:
    """Where the parts of one service sit in the DynamoGraphDeployment."""

    service: tuple
    main: tuple
    sidecars: tuple  # the wrapper path of each sidecar, in the order the pod lists them
    pod_spec: tuple
    pod_metadata: tuple


def _path_map(template_paths: list[tuple], where: _Where) -> tuple:
    pairs = []
    for template in template_paths:
        containers = template + ("spec", "containers")
        pairs.append((containers + (0,), where.main))
        pairs += [(containers + (k + 1,), sidecar) for k, sidecar in enumerate(where.sidecars)]
        pairs.append((template + ("spec",), where.pod_spec))
        pairs.append((template + ("metadata",), where.pod_metadata))
    return tuple(pairs) + ((("spec",), where.service), ((), where.service))


def _v1alpha1_services(obj: K8sObject):
    """(name, service, where) of every `spec.services` entry."""
    services = _mapping(obj.doc.get("spec")).get("services")
    for name, service in (services.items() if isinstance(services, dict) else ()):
        if not isinstance(name, str) or not isinstance(service, dict):
            continue
        extra = service.get("extraPodSpec")
        if extra is not None and not isinstance(extra, dict):
            continue
        at = ("spec", "services", name)
        sidecars = tuple(at + ("extraPodSpec", "containers", j) for j, c in enumerate(_list(_mapping(extra).get("containers")))
                         if not (isinstance(c, dict) and c.get("name") == MAIN))
        yield name, service, _Where(at, at + ("extraPodSpec", "mainContainer"), sidecars, at + ("extraPodSpec",),
                                    at + ("extraPodMetadata",))


def _v1beta1_services(obj: K8sObject):
    """(name, service, where) of every `spec.components[]` item, written as the v1alpha1 service the
    operator's conversion makes of it (type -> componentType, podTemplate -> extraPodSpec with its
    `main` container as mainContainer, sharedMemorySize "0" -> shared memory disabled)."""
    components = _mapping(obj.doc.get("spec")).get("components")
    for i, component in enumerate(components if isinstance(components, list) else []):
        if not isinstance(component, dict) or not isinstance(component.get("name"), str):
            continue
        template = component.get("podTemplate", {})
        if not isinstance(template, dict) or not isinstance(template.get("spec", {}), dict):
            continue
        pod_spec = _mapping(template.get("spec"))
        at = ("spec", "components", i)
        containers = list(enumerate(_list(pod_spec.get("containers"))))
        main_index = next((j for j, c in containers if isinstance(c, dict) and c.get("name") == MAIN), None)
        service = {key: component[key] for key in ("replicas", "multinode", "globalDynamoNamespace") if key in component}
        if isinstance(component.get("type"), str):
            service["componentType"] = component["type"]
        size = component.get("sharedMemorySize")
        if size is not None:
            service["sharedMemory"] = {"disabled": True} if str(size) == "0" else {"size": size}
        service["extraPodSpec"] = {**{k: v for k, v in pod_spec.items() if k != "containers"},
                                   "containers": [c for j, c in containers if j != main_index]}
        if main_index is not None:
            service["extraPodSpec"]["mainContainer"] = containers[main_index][1]
        if isinstance(template.get("metadata"), dict):
            service["extraPodMetadata"] = template["metadata"]
        pt = at + ("podTemplate",)
        main_at = pt + ("spec", "containers", main_index) if main_index is not None else pt + ("spec",)
        sidecars = tuple(pt + ("spec", "containers", j) for j, _ in containers if j != main_index)
        yield component["name"], service, _Where(at, main_at, sidecars, pt + ("spec",), pt + ("metadata",))


def expand(obj: K8sObject) -> list[DerivedObject]:
    """The Deployment or LeaderWorkerSet of every well-formed service (malformed ones are the schema rule's)."""
    spec = _mapping(obj.doc.get("spec"))
    if obj.api_version == "nvidia.com/v1beta1":
        services, graph_env = _v1beta1_services(obj), spec.get("env")
    else:
        services, graph_env = _v1alpha1_services(obj), spec.get("envs")
    return [_expand_service(obj, name, service, graph_env, where) for name, service, where in services]


def _expand_service(obj: K8sObject, name: str, service: dict, graph_env, where: _Where) -> DerivedObject:
    dcd = component_name(obj.name, name)
    labels = system_labels(obj, name, service)
    main = _main_container(obj, name, service, graph_env)
    replicas = service.get("replicas") if isinstance(service.get("replicas"), int) else 1
    node_count = _mapping(service.get("multinode")).get("nodeCount")
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
                "leaderTemplate": _pod_template(service, {**labels, "role": "leader"}, leader_main),
                "workerTemplate": _pod_template(service, {**labels, "role": "worker"}, worker_main),
            }}}
        templates = [("spec", "leaderWorkerTemplate", "leaderTemplate"), ("spec", "leaderWorkerTemplate", "workerTemplate")]
    else:
        doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": {
            "replicas": replicas, "selector": {"matchLabels": {LABEL_PREFIX + "selector": dcd}},
            "template": _pod_template(service, labels, main)}}
        templates = [("spec", "template")]
    return DerivedObject(doc, obj.index, obj.origin, parent=obj, label=f"service {name}", path_map=_path_map(templates, where))
