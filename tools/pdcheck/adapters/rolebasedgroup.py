"""SGLang RoleBasedGroup (workloads.x-k8s.io v1alpha1 and v1alpha2): the workload of every role.

What the RBG controller does with `spec.roles[i]` (sgl-project/rbg, read at 07076724
pkg/reconciler/roleinstanceset_reconciler.go, 07616da pkg/discovery/env_builder.go, 088a13a
pkg/reconciler/pod_reconciler.go, 0393388 pkg/reconciler/roleinstance/utils/instance_utils.go,
0d5af63 api/workloads/constants/label.go; the CRDs are ../shared/reference/wrappers/rbg-*.yaml at
993491f, whose README notes the rest with sources):
- the role's pod template is `standalonePattern.template` / `leaderWorkerPattern.template` (v1alpha2)
  or `template` (v1alpha1), or the `spec.roleTemplates[]` entry `templateRef.name` names, patched with
  `templateRef.patch` (v1alpha2) / `templatePatch` (v1alpha1); a leader-worker role's leader and
  worker templates are that template strategic-merge-patched with `leaderTemplatePatch` /
  `workerTemplatePatch` (v1alpha2) or `leaderWorkerSet.patchLeaderTemplate` / `patchWorkerTemplate`
  (v1alpha1);
- the workload is `<rbg>-<role>` of the type the role annotation
  `rbg.workloads.x-k8s.io/role-workload-type` names (v1alpha2; default RoleInstanceSet) or
  `spec.roles[].workload` (v1alpha1; default apps/v1 StatefulSet);
- every pod template gets the labels `rbg.workloads.x-k8s.io/group-name`, `role-name` and `group-uid`
  (applied last: they win), and every container the env RBG_GROUP_NAME, RBG_ROLE_NAME, plus
  RBG_ROLE_INDEX for stateful roles (StatefulSet, LeaderWorkerSet, RoleInstanceSet), first;
- RoleInstanceSet (what v1alpha2 roles run on unless annotated otherwise): instance `i` is
  `<rbg>-<role>-<i>`; a standalone instance is one pod named like the instance, a leader-worker
  instance the leader `<instance>-0` and workers `<instance>-1..`; pods carry role-instance-name/-index
  and component-name/-id/-index/-size labels and the env RBG_ROLE_INSTANCE_NAME,
  RBG_COMPONENT_NAME, RBG_COMPONENT_INDEX and, for leader-worker roles, RBG_LWP_LEADER_ADDRESS
  (`<instance>-0.<svc>.<ns>`), RBG_LWP_WORKER_INDEX and RBG_LWP_GROUP_SIZE, RBG's replacement for
  LWS_*; standalone pods and leaders (not workers) get `hostname: <pod>`, `subdomain: <svc>`;
- RoleInstanceSet and StatefulSet roles get the headless Service `s-<rbg>-<role>` selecting
  group-name and role-name, and also `component-name: leader` for a RoleInstanceSet leader-worker
  role unless `sharedServiceSelection: All`; LeaderWorkerSet roles get the LWS's own Service
  (`<rbg>-<role>`), Deployment roles none.

How pdcheck models it: a LeaderWorkerSet role as that LeaderWorkerSet, a StatefulSet or Deployment
role as that object, a RoleInstanceSet role as a LeaderWorkerSet (leader-worker) or a StatefulSet
(standalone) whose pods RBG names, labels and wires (DerivedObject.pods_by), and the Service as a
derived Service. Not modelled, said here and in docs/adapters.md:
- `customComponentsPattern` / v1alpha1 `components` and the v1alpha1 `InstanceSet` workload: no
  pods (the role is listed as unmodelled, so router rules stay silent about it);
- `engineRuntimes` whose ClusterEngineRuntimeProfile is not in the render: the containers it would
  inject into leader/standalone pods (a sidecar such as patio-runtime) are not added (the profile is
  cluster-scoped and usually applied apart). A profile in the render is injected as the controller
  does (`with_runtimes`) and validated against its bundled schema;
- the legacy Service name `<rbg>-<role>`, which the controller keeps using only where such a
  Service already exists; the ConfigMap `/etc/rbg/config.yaml`; exclusive-topology affinity;
- `group-uid` is a hash of the group: the label value is `<group-uid>` (only known in the cluster);
- the strategic merge patch follows Kubernetes' merge keys for the pod fields that carry them
  (containers, env, ports, volumes, volumeMounts, ...); a finding about a field a patch set points
  at the patch, any other at the base template.
"""

from __future__ import annotations

import copy

from ..objects import DerivedObject, K8sObject

KIND = "RoleBasedGroup"
GROUP = "workloads.x-k8s.io"
API_VERSIONS = (f"{GROUP}/v1alpha1", f"{GROUP}/v1alpha2")

PREFIX = "rbg.workloads.x-k8s.io/"
GROUP_NAME_LABEL = PREFIX + "group-name"
ROLE_NAME_LABEL = PREFIX + "role-name"
GROUP_UID_LABEL = PREFIX + "group-uid"
INSTANCE_NAME_LABEL = PREFIX + "role-instance-name"
INSTANCE_INDEX_LABEL = PREFIX + "role-instance-index"
COMPONENT_NAME_LABEL = PREFIX + "component-name"
COMPONENT_ID_LABEL = PREFIX + "component-id"
COMPONENT_INDEX_LABEL = PREFIX + "component-index"
COMPONENT_SIZE_LABEL = PREFIX + "component-size"
WORKLOAD_TYPE_ANNOTATION = PREFIX + "role-workload-type"
# Before v0.7 (v1alpha1 only) the controller labelled pods and injected env under other names
# (sgl-project/rbg docs: the v1alpha1 -> v1alpha2 label and env tables): a v1alpha1 object may run
# under either, so its pods get both and selectors or $(VAR)s written for either resolve.
LEGACY_LABELS = ("rolebasedgroup.workloads.x-k8s.io/name", "rolebasedgroup.workloads.x-k8s.io/role")
LEGACY_ENV = ("GROUP_NAME", "ROLE_NAME", "ROLE_INDEX")
INSTANCE_PATTERN_ANNOTATION = PREFIX + "role-instance-pattern"

ROLE_INSTANCE_SET = "workloads.x-k8s.io/v1alpha2/RoleInstanceSet"
STATEFUL_SET = "apps/v1/StatefulSet"
DEPLOYMENT = "apps/v1/Deployment"
LEADER_WORKER_SET = "leaderworkerset.x-k8s.io/v1/LeaderWorkerSet"

# Kubernetes' strategic-merge keys of the pod fields a template patch usually touches.
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "ports": "containerPort",
    "imagePullSecrets": "name", "hostAliases": "ip", "tolerations": None, "args": None, "command": None,
}


def workload_name(group: str, role: str) -> str:
    return f"{group}-{role}"


def service_name(group: str, role: str) -> str:
    return f"s-{group}-{role}"


def common_labels(group: str, role: str) -> dict[str, str]:
    return {GROUP_NAME_LABEL: group, ROLE_NAME_LABEL: role, GROUP_UID_LABEL: "<group-uid>"}


def _mapping(value) -> dict:
    return dict(value) if isinstance(value, dict) else {}


def strategic_merge(base, patch):
    """`patch` merged into `base` like kubectl's strategic merge patch for pod templates: maps
    recursively, lists with a merge key item by item, other lists replaced; `$patch: delete` drops."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return patch if patch is not None else base
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    out = dict(base)
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and isinstance(out.get(key), list) and MERGE_KEYS.get(key):
            out[key] = _merge_list(out[key], value, MERGE_KEYS[key])
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = strategic_merge(out[key], value)
        else:
            out[key] = value
    return out


def _merge_list(base: list, patch: list, key: str) -> list:
    out = list(base)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            out.append(item)
            continue
        at = next((i for i, b in enumerate(out) if isinstance(b, dict) and b.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                del out[at]
        elif at is None:
            out.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            out[at] = strategic_merge(out[at], item)
    return out


def patched_paths(before, after, patch, here: tuple, there: tuple) -> list[tuple[tuple, tuple]]:
    """(path in the patched template `after`, the same place in the patch) for what the patch wrote:
    a field or list item the template did not have `before` wholly, a field it had only where the
    patch replaced a value; so a finding about a patched field points at the patch that wrote it."""
    out: list[tuple[tuple, tuple]] = []
    if not isinstance(patch, dict) or not isinstance(after, dict):
        return out
    before = before if isinstance(before, dict) else {}
    for key, value in patch.items():
        if key.startswith("$") or key not in after:
            continue
        merge_key = MERGE_KEYS.get(key)
        if key not in before:
            out.append((here + (key,), there + (key,)))
        elif isinstance(value, list) and merge_key and isinstance(after[key], list):
            old = before[key] if isinstance(before[key], list) else []
            for j, item in enumerate(value):
                if not isinstance(item, dict) or merge_key not in item:
                    continue
                at = _index_of(after[key], merge_key, item[merge_key])
                was = _index_of(old, merge_key, item[merge_key])
                if at is None:
                    continue
                if was is None:
                    out.append((here + (key, at), there + (key, j)))
                else:
                    out.extend(patched_paths(old[was], after[key][at], item, here + (key, at), there + (key, j)))
        elif isinstance(value, dict):
            out.extend(patched_paths(before[key], after[key], value, here + (key,), there + (key,)))
        else:
            out.append((here + (key,), there + (key,)))
    return out


def _index_of(items: list, key: str, value):
    return next((i for i, m in enumerate(items) if isinstance(m, dict) and m.get(key) == value), None)


class Role:
    """One role of either version, read into what the controller uses."""

    def __init__(self, group: str, namespace: str | None, spec: dict, spec_path: tuple, index: int, version: str):
        self.group, self.namespace, self.spec_path, self.index = group, namespace, spec_path, index
        self.path = spec_path + ("roles", index)
        role = spec["roles"][index]
        self.raw = role
        self.name = role["name"]
        self.legacy = version.endswith("v1alpha1")
        self.replicas = role.get("replicas", 1) if isinstance(role.get("replicas"), int) else 1
        self.annotations = _mapping(role.get("annotations"))
        self.labels = _mapping(role.get("labels"))
        templates = {t.get("name"): (i, t) for i, t in enumerate(spec.get("roleTemplates") or [])
                     if isinstance(t, dict)}
        self.size = 1
        self.leader_patch = self.worker_patch = None
        self.leader_only = False
        self.template = self.template_path = None
        self.layers: list[tuple[dict, tuple]] = []  # (patch, where it is written), in the order applied
        if version.endswith("v1alpha2"):
            self.workload = self.annotations.get(WORKLOAD_TYPE_ANNOTATION) or ROLE_INSTANCE_SET
            for pattern in ("standalonePattern", "leaderWorkerPattern"):
                body = role.get(pattern)
                if isinstance(body, dict):
                    self.pattern = pattern
                    self._resolve(body, self.path + (pattern,), body.get("templateRef"), "patch", templates)
                    if pattern == "leaderWorkerPattern":
                        self.size = body.get("size", 1) if isinstance(body.get("size"), int) else 1
                        self.leader_patch, self.worker_patch = body.get("leaderTemplatePatch"), body.get("workerTemplatePatch")
                        self.leader_patch_path = self.path + (pattern, "leaderTemplatePatch")
                        self.worker_patch_path = self.path + (pattern, "workerTemplatePatch")
                        selection = body.get("sharedServiceSelection")
                        self.leader_only = self.workload == ROLE_INSTANCE_SET and selection != "All"
                    break
            else:
                self.pattern = "customComponentsPattern" if "customComponentsPattern" in role else None
        else:
            workload = _mapping(role.get("workload"))
            self.workload = (f"{workload.get('apiVersion', 'apps/v1')}/{workload.get('kind', 'StatefulSet')}"
                             if workload else STATEFUL_SET)
            self._resolve(role, self.path, role.get("templateRef"), None, templates)
            lws = role.get("leaderWorkerSet")
            self.pattern = "standalonePattern"
            if isinstance(lws, dict):
                self.pattern = "leaderWorkerPattern"
                self.size = lws.get("size", 1) if isinstance(lws.get("size"), int) else 1
                self.leader_patch, self.worker_patch = lws.get("patchLeaderTemplate"), lws.get("patchWorkerTemplate")
                self.leader_patch_path = self.path + ("leaderWorkerSet", "patchLeaderTemplate")
                self.worker_patch_path = self.path + ("leaderWorkerSet", "patchWorkerTemplate")
            if "components" in role or workload.get("kind") == "InstanceSet":
                self.pattern = "customComponentsPattern"

    def _resolve(self, body: dict, body_path: tuple, ref, patch_key, templates) -> None:
        """The role's pod template and where it is written: inline, or the named roleTemplate patched."""
        if isinstance(body.get("template"), dict):
            self.template, self.template_path = body["template"], body_path + ("template",)
            self.base_template = self.template
        elif isinstance(ref, dict) and ref.get("name") in templates:
            i, entry = templates[ref["name"]]
            patch = ref.get(patch_key) if patch_key else self.raw.get("templatePatch")
            patch_path = body_path + ("templateRef", patch_key) if patch_key else self.path + ("templatePatch",)
            if isinstance(entry.get("template"), dict):
                self.base_template = entry["template"]
                self.template = strategic_merge(entry["template"], patch) if isinstance(patch, dict) else entry["template"]
                self.template_path = self.spec_path + ("roleTemplates", i, "template")
                if isinstance(patch, dict):
                    self.layers.append((patch, patch_path))

    def template_paths(self, child_prefix: tuple, last: tuple = ()) -> tuple:
        """path_map entries for a pod template of the child: what each patch wrote (the last applied
        first), then the base template."""
        out = []
        template = self.base_template
        for patch, at in self.layers + ([last] if last else []):
            merged = strategic_merge(template, patch)
            out[:0] = sorted(patched_paths(template, merged, patch, child_prefix, at), key=lambda pair: -len(pair[0]))
            template = merged
        return tuple(out) + ((child_prefix, self.template_path),)

    @property
    def pod_labels(self) -> dict[str, str]:
        labels = common_labels(self.group, self.name)
        if self.legacy:
            labels.update(dict(zip(LEGACY_LABELS, (self.group, self.name))))
        return labels

    @property
    def runs_on_role_instance_set(self) -> bool:
        return self.workload == ROLE_INSTANCE_SET

    @property
    def stateful(self) -> bool:
        if self.runs_on_role_instance_set:
            return self.annotations.get(INSTANCE_PATTERN_ANNOTATION) != "Stateless"
        return self.workload in (STATEFUL_SET, LEADER_WORKER_SET)

    def instance(self, group: int) -> str:
        return f"{workload_name(self.group, self.name)}-{group}"


class RbgEnv:
    """What RBG adds to the pods of a role run by another workload's controller (LWS, StatefulSet,
    Deployment): the common RBG_* env, RBG_ROLE_INDEX from the pod-index label the kind sets."""

    own_pods = False
    env_source = "rbg"

    def __init__(self, role: Role):
        self.role = role

    def env(self, group: int, rank: int) -> dict[str, str]:
        env = {"RBG_GROUP_NAME": self.role.group, "RBG_ROLE_NAME": self.role.name}
        if self.role.stateful:
            # LWS: the leader StatefulSet's ordinal is the group, a worker's its rank (model.py)
            env["RBG_ROLE_INDEX"] = str(group if rank == 0 else rank)
        if self.role.legacy:
            env.update({new: env[old] for new, old in zip(LEGACY_ENV, ("RBG_GROUP_NAME", "RBG_ROLE_NAME", "RBG_ROLE_INDEX"))
                        if old in env})
        return env


class RoleInstancePods(RbgEnv):
    """Pods of a RoleInstanceSet role: named, labelled and wired by RBG itself."""

    own_pods = True
    group_env = {"leader_address": "RBG_LWP_LEADER_ADDRESS", "group_size": "RBG_LWP_GROUP_SIZE",
                 "worker_index": "RBG_LWP_WORKER_INDEX"}

    def pod_name(self, group: int, rank: int) -> str:
        if self.role.pattern == "leaderWorkerPattern":
            return f"{self.role.instance(group)}-{rank}"
        return self.role.instance(rank)  # standalone: modelled as a StatefulSet, one pod per instance

    def _instance_of(self, group: int, rank: int) -> int:
        return group if self.role.pattern == "leaderWorkerPattern" else rank

    def labels(self, group: int, rank: int) -> dict[str, str]:
        i = self._instance_of(group, rank)
        labels = {**common_labels(self.role.group, self.role.name),
                  INSTANCE_NAME_LABEL: self.role.instance(i), INSTANCE_INDEX_LABEL: str(i)}
        if self.role.pattern == "leaderWorkerPattern":
            labels.update({COMPONENT_NAME_LABEL: "leader" if rank == 0 else "worker",
                           COMPONENT_ID_LABEL: str(max(rank - 1, 0)), COMPONENT_INDEX_LABEL: str(rank),
                           COMPONENT_SIZE_LABEL: str(self.role.size)})
        else:
            labels.update({COMPONENT_NAME_LABEL: self.role.name, COMPONENT_ID_LABEL: "0", COMPONENT_SIZE_LABEL: "1"})
        return labels

    def subdomain(self, group: int, rank: int) -> str | None:
        if self.role.pattern == "leaderWorkerPattern" and rank != 0:
            return None  # the worker component has no serviceName: no hostname/subdomain
        return service_name(self.role.group, self.role.name)

    def env(self, group: int, rank: int) -> dict[str, str]:
        i = self._instance_of(group, rank)
        labels = self.labels(group, rank)
        env = {"RBG_GROUP_NAME": self.role.group, "RBG_ROLE_NAME": self.role.name}
        if self.role.stateful:
            env["RBG_ROLE_INDEX"] = str(i)
        env.update({"RBG_ROLE_INSTANCE_NAME": self.role.instance(i), "RBG_COMPONENT_NAME": labels[COMPONENT_NAME_LABEL],
                    "RBG_COMPONENT_INDEX": labels[COMPONENT_ID_LABEL]})
        if self.role.pattern == "leaderWorkerPattern":
            namespace = self.role.namespace or "default"
            env.update({
                "RBG_LWP_LEADER_ADDRESS": f"{self.role.instance(i)}-0.{service_name(self.role.group, self.role.name)}.{namespace}",
                "RBG_LWP_WORKER_INDEX": str(rank),
                "RBG_LWP_GROUP_SIZE": str(self.role.size),
            })
        return env


def _with_labels(template: dict, labels: dict) -> dict:
    out = dict(template)
    metadata = _mapping(template.get("metadata"))
    metadata["labels"] = {**_mapping(metadata.get("labels")), **labels}
    out["metadata"] = metadata
    return out


def _derived(obj: K8sObject, role: Role, doc: dict, path_map: tuple, pods_by=None) -> DerivedObject:
    return DerivedObject(doc, obj.index, obj.origin, parent=obj, label=f"role {role.name}",
                         path_map=path_map + ((("metadata", "name"), role.path + ("name",)), ((), role.path)),
                         pods_by=pods_by, shown_kind="RoleInstanceSet" if getattr(pods_by, "own_pods", False) else "")


def _metadata(role: Role, name: str, extra: dict | None = None) -> dict:
    metadata = {"name": name, "labels": {**role.labels, **common_labels(role.group, role.name)}}
    if role.namespace:
        metadata["namespace"] = role.namespace
    annotations = {**role.annotations, **(extra or {})}
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def _service(obj: K8sObject, role: Role) -> DerivedObject:
    selector = {GROUP_NAME_LABEL: role.group, ROLE_NAME_LABEL: role.name}
    if role.leader_only:
        selector[COMPONENT_NAME_LABEL] = "leader"
    doc = {"apiVersion": "v1", "kind": "Service",
           "metadata": _metadata(role, service_name(role.group, role.name)),
           "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": selector}}
    return _derived(obj, role, doc, ())


PROFILE_KIND = "ClusterEngineRuntimeProfile"


def profiles_in(objects) -> dict[str, dict]:
    """The ClusterEngineRuntimeProfiles of the render: name -> spec."""
    return {o.name: o.doc["spec"] for o in objects
            if o.kind == PROFILE_KIND and o.api_version in API_VERSIONS and isinstance(o.doc.get("spec"), dict)}


def with_runtimes(template: dict, role: Role, profiles: dict, prefix: tuple) -> tuple[dict, tuple]:
    """The template with what `engineRuntimes` injects (sidecar_builder.go): each named profile's
    initContainers, containers and volumes appended unless one of the same name exists, then the
    entry's `containers[].args`/`env` appended to the injected container of that name; and the
    path_map entries pointing the injected containers at their engineRuntimes entry. Profiles not in
    the render inject nothing here (the docstring says so)."""
    runtimes = role.raw.get("engineRuntimes")
    if not isinstance(runtimes, list) or not profiles:
        return template, ()
    spec = dict(template.get("spec")) if isinstance(template.get("spec"), dict) else {}
    entries = []
    for r, runtime in enumerate(runtimes):
        profile = profiles.get(runtime.get("profileName")) if isinstance(runtime, dict) else None
        if profile is None:
            continue
        injected = []
        for key in ("initContainers", "containers", "volumes"):
            items = list(spec.get(key)) if isinstance(spec.get(key), list) else []
            names = {i.get("name") for i in items if isinstance(i, dict)}
            for item in profile.get(key) if isinstance(profile.get(key), list) else []:
                if isinstance(item, dict) and item.get("name") not in names:
                    items.append(copy.deepcopy(item))
                    entries.append((prefix + ("spec", key, len(items) - 1), role.path + ("engineRuntimes", r)))
                    if key != "volumes":
                        injected.append(items[-1])
            spec[key] = items
        for extra in runtime.get("containers") if isinstance(runtime.get("containers"), list) else []:
            target = next((c for c in injected if isinstance(extra, dict) and c.get("name") == extra.get("name")), None)
            for field in ("args", "env"):
                if target is not None and isinstance(extra.get(field), list):
                    target[field] = list(target.get(field) or []) + list(extra[field])
    return {**template, "spec": spec}, tuple(entries)


def _role_children(obj: K8sObject, role: Role, profiles: dict) -> list[DerivedObject]:
    name = workload_name(role.group, role.name)
    labels = role.pod_labels
    if role.pattern == "leaderWorkerPattern" and role.workload in (ROLE_INSTANCE_SET, LEADER_WORKER_SET):
        leader = strategic_merge(role.template, role.leader_patch) if isinstance(role.leader_patch, dict) else role.template
        worker = strategic_merge(role.template, role.worker_patch) if isinstance(role.worker_patch, dict) else role.template
        leader, leader_runtimes = with_runtimes(leader, role, profiles, ("spec", "leaderWorkerTemplate", "leaderTemplate"))
        own = role.runs_on_role_instance_set
        lwt = {"size": role.size, "workerTemplate": worker if own else _with_labels(worker, labels)}
        if leader is not worker:
            lwt["leaderTemplate"] = leader if own else _with_labels(leader, labels)
        size_at = role.path + (("leaderWorkerPattern", "size") if role.raw.get("leaderWorkerPattern") else ("leaderWorkerSet", "size"))
        doc = {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "metadata": _metadata(role, name),
               "spec": {"replicas": role.replicas, "leaderWorkerTemplate": lwt}}
        worker_extra = (role.worker_patch, role.worker_patch_path) if isinstance(role.worker_patch, dict) else ()
        leader_extra = (role.leader_patch, role.leader_patch_path) if isinstance(role.leader_patch, dict) else ()
        path_map = (leader_runtimes + role.template_paths(("spec", "leaderWorkerTemplate", "workerTemplate"), worker_extra)
                    + role.template_paths(("spec", "leaderWorkerTemplate", "leaderTemplate"), leader_extra)
                    + ((("spec", "leaderWorkerTemplate", "size"), size_at), (("spec", "replicas"), role.path + ("replicas",))))
        children = [_derived(obj, role, doc, path_map, RoleInstancePods(role) if own else RbgEnv(role))]
        return children + ([_service(obj, role)] if own else [])
    if role.pattern != "standalonePattern":
        return []
    kind = {ROLE_INSTANCE_SET: "StatefulSet", STATEFUL_SET: "StatefulSet", DEPLOYMENT: "Deployment"}.get(role.workload)
    if kind is None:
        return []
    own = role.runs_on_role_instance_set
    template, runtimes = with_runtimes(role.template, role, profiles, ("spec", "template"))
    spec = {"replicas": role.replicas, "selector": {"matchLabels": dict(labels)},
            "template": template if own else _with_labels(template, labels)}
    if role.workload == STATEFUL_SET:
        spec["serviceName"] = service_name(role.group, role.name)
    doc = {"apiVersion": "apps/v1", "kind": kind, "metadata": _metadata(role, name), "spec": spec}
    path_map = runtimes + role.template_paths(("spec", "template")) + ((("spec", "replicas"), role.path + ("replicas",)),)
    children = [_derived(obj, role, doc, path_map, RoleInstancePods(role) if own else RbgEnv(role))]
    return children + ([_service(obj, role)] if kind == "StatefulSet" else [])


def expand_group(obj: K8sObject, group: str, spec, spec_path: tuple, version: str, profiles: dict) -> list[K8sObject]:
    """The children of a RoleBasedGroup named `group` whose spec sits at `spec_path` in `obj`;
    roles pdcheck cannot model are returned as `obj` itself, so the model lists it as unmodelled."""
    roles = spec.get("roles") if isinstance(spec, dict) else None
    out: list[K8sObject] = []
    unmodelled = False
    for i, raw in enumerate(roles if isinstance(roles, list) else []):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue
        role = Role(group, obj.namespace, spec, spec_path, i, version)
        children = _role_children(obj, role, profiles) if isinstance(role.template, dict) else []
        if not children:
            from ..model import SGLANG_LAUNCH, _strings  # the model imports the adapters

            unmodelled = unmodelled or any(SGLANG_LAUNCH.search(text) for text in _strings(raw))
        out.extend(children)
    return out + ([obj] if unmodelled else [])


def expand(obj: K8sObject) -> list[K8sObject]:
    """The workloads and Services of every well-formed role (malformed ones are the schema rule's)."""
    return expand_group(obj, obj.name, obj.doc.get("spec"), ("spec",), obj.api_version, {})


def expand_in_render(obj: K8sObject, objects: list[K8sObject]) -> list[K8sObject]:
    """`expand`, with the containers the render's ClusterEngineRuntimeProfiles inject."""
    return expand_group(obj, obj.name, obj.doc.get("spec"), ("spec",), obj.api_version, profiles_in(objects))
