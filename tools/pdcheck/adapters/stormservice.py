"""AIBrix StormService (orchestration.aibrix.ai/v1alpha1): a RoleSet per replica, pods per role.

What the AIBrix controllers do (vllm-project/aibrix, read in the search index at these commits:
pkg/controller/roleset/utils.go @1149d3c `renderStormServicePod` and `injectContainerEnvVars`,
pkg/controller/roleset/podset_rollsyncer.go @2cd834c `createPodSetForRole`,
pkg/controller/podset/podset_controller.go @009aa45 `createPodFromTemplate`,
pkg/controller/constants/stormservice.go @0ef4165; the CRDs and the structure note are
../shared/reference/wrappers/README.md "StormService", upstream @e3e10f9):
- the StormService makes `spec.replicas` RoleSets with generateName `<ss>-roleset-` and the annotation
  roleset-index; pdcheck models RoleSet 0, named with the 5-character stand-in suffix `00000`, like the
  copies it runs the same templates (as the DisaggregatedSet adapter models slice 0);
- a role with `podGroupSize` <= 1 gets its pods from the RoleSet controller: a `stateful` role
  `<roleset>-<role>-<hash>-<i>` for i < replicas (modelled as a StatefulSet `<roleset>-<role>-<hash>`
  whose serviceName is the StormService's headless Service, so pod i is `<pod>.<ss>`), any other role
  generateName pods (modelled as a Deployment `<roleset>-<role>`); labels roleset-name, role-name,
  role-template-hash, storm-service-name (and role-replica-index for a stateful pod) are set over the
  template's (the controller wins); `subdomain` is the StormService's name;
- a role with `podGroupSize` > 1 gets one PodSet per replica, `<roleset>-<role>-<hash>-<i>`, whose
  controller creates pods `<podset>-<j>`, j < podGroupSize. pdcheck models PodSet 0 as a StatefulSet
  named after it (pods `<podset>-<j>`, serviceName `<ss>`), so its pods form one multi-node engine
  group like the pods of a StatefulSet; the PodSet's labels are inherited only where the template has
  none of that key, podset-name and pod-group-index are set over the template's;
- env, settled from `injectContainerEnvVars` and `createPodFromTemplate`: both **prepend** their
  variables and drop the container's entries of the same names, in every container (not init
  containers). The RoleSet controller writes STORM_SERVICE_NAME, ROLESET_NAME, ROLESET_INDEX,
  ROLE_NAME, ROLE_TEMPLATE_HASH and, for stateful pods and every PodSet, ROLE_REPLICA_INDEX; the PodSet
  controller then puts PODSET_NAME, POD_GROUP_INDEX and POD_GROUP_SIZE ahead of those. So a user's
  `$(POD_GROUP_INDEX)` or `$(ROLE_NAME)` resolves, and a user's own ROLE_NAME entry is dropped;
- ROLE_TEMPLATE_HASH is injected (the source settles that), but its value is `ComputeHash` of the
  role's pod template (FNV-32 of Go's object dump, SafeEncodeString'd), which pdcheck cannot
  reproduce: the variable's value is modelled as unknown at render time (`<role-template-hash>`), so
  nothing that reads it is checked. In names the hash is the 10-character stand-in `hash000000` (the
  longest a uint32 gives), so name lengths stay worst-case and addresses built from PODSET_NAME still
  compare equal;
- the StormService controller creates a headless Service `<ss>` selecting storm-service-name=<ss>
  with publishNotReadyAddresses (pkg/controller/stormservice/sync.go, per the structure note).
Not modelled: RoleSets 1.., PodSets of role replicas 1.., `utils.Shorten` of names over 63
characters, the scheduling-strategy pod-group labels and colocation affinity. A role without
`replicas` is modelled with one replica.
"""

from __future__ import annotations

from ..objects import DerivedObject, K8sObject

KIND = "StormService"
API_VERSIONS = ("orchestration.aibrix.ai/v1alpha1",)

ROLESET_NAME_LABEL = "roleset-name"
STORM_SERVICE_NAME_LABEL = "storm-service-name"
ROLE_NAME_LABEL = "role-name"
ROLE_TEMPLATE_HASH_LABEL = "role-template-hash"
ROLE_REPLICA_INDEX_LABEL = "stormservice.orchestration.aibrix.ai/role-replica-index"
PODSET_NAME_LABEL = "stormservice.orchestration.aibrix.ai/podset-name"
POD_GROUP_INDEX_LABEL = "stormservice.orchestration.aibrix.ai/pod-group-index"
ROLESET_INDEX_ANNOTATION = "stormservice.orchestration.aibrix.ai/roleset-index"
ROLE_REPLICA_INDEX_ANNOTATION = "stormservice.orchestration.aibrix.ai/role-replica-index"

ROLESET_SUFFIX_STAND_IN = "00000"  # generateName's random 5 characters
HASH_STAND_IN = "hash000000"  # ComputeHash: up to 10 characters
ROLE_TEMPLATE_HASH_VALUE = "<role-template-hash>"  # unknown at render time
MODELLED_ROLESET = 0
MODELLED_REPLICA = 0


def roleset_name(ss: str) -> str:
    return f"{ss}-roleset-{ROLESET_SUFFIX_STAND_IN}"


def podset_name(roleset: str, role: str, replica: int = MODELLED_REPLICA) -> str:
    return f"{roleset}-{role}-{HASH_STAND_IN}-{replica}"


def _mapping(value) -> dict:
    return dict(value) if isinstance(value, dict) else {}


def _roleset_env(ss: str, roleset: str, roleset_index: str, role: str, replica_index: int | None) -> dict[str, str]:
    """injectContainerEnvVars, in its order."""
    env = {"STORM_SERVICE_NAME": ss, "ROLESET_NAME": roleset, "ROLESET_INDEX": roleset_index,
           "ROLE_NAME": role, "ROLE_TEMPLATE_HASH": ROLE_TEMPLATE_HASH_VALUE}
    if replica_index is not None:
        env["ROLE_REPLICA_INDEX"] = str(replica_index)
    return env


def _template(template: dict, labels: dict, annotations: dict, ss: str, controller_wins: bool) -> dict:
    """A copy of the role's pod template with the controller's labels and annotations merged (over
    the template's, or only where the template has none: PodSet inheritance) and subdomain `<ss>`."""
    out = dict(template)
    metadata = _mapping(template.get("metadata"))
    for key, added in (("labels", labels), ("annotations", annotations)):
        own = _mapping(metadata.get(key))
        metadata[key] = {**own, **added} if controller_wins else {**added, **own}
    out["metadata"] = metadata
    out["spec"] = {**_mapping(template.get("spec")), "subdomain": ss} if ss else _mapping(template.get("spec"))
    return out


class AibrixPods:
    """The pods of one role as the AIBrix controllers name, label and wire them (DerivedObject.pods_by);
    a pod's position is its role replica index (stateful roles) or pod group index (PodSets)."""

    own_pods = True
    env_source = "aibrix"
    containers_only = True  # injectContainerEnvVars / createPodFromTemplate touch Spec.Containers only

    def __init__(self, name, labels, env, subdomain: str):
        self._name, self._labels, self._env, self._subdomain = name, labels, env, subdomain

    def pod_name(self, group: int, rank: int) -> str:
        return self._name(rank)

    def labels(self, group: int, rank: int) -> dict[str, str]:
        return self._labels(rank)

    def env(self, group: int, rank: int) -> dict[str, str]:
        return self._env(rank)

    def subdomain(self, group: int, rank: int) -> str | None:
        return self._subdomain or None


def role_object(obj: K8sObject, at: tuple, role: dict, ss: str, roleset: str, roleset_index: str) -> DerivedObject:
    """The pods the RoleSet `roleset` of StormService `ss` makes for `role` (at `at` in `obj`)."""
    role_name = role["name"]
    replicas = role.get("replicas") if isinstance(role.get("replicas"), int) else 1
    group_size = role.get("podGroupSize") if isinstance(role.get("podGroupSize"), int) else 1
    common = {ROLESET_NAME_LABEL: roleset, ROLE_NAME_LABEL: role_name, ROLE_TEMPLATE_HASH_LABEL: HASH_STAND_IN,
              STORM_SERVICE_NAME_LABEL: ss}
    metadata = {"name": f"{roleset}-{role_name}", "labels": dict(common)}
    if obj.namespace:
        metadata["namespace"] = obj.namespace
    annotations = {ROLESET_INDEX_ANNOTATION: roleset_index}
    shown_kind = ""
    if group_size > 1:
        podset = podset_name(roleset, role_name)
        podset_labels = {**common, ROLE_REPLICA_INDEX_LABEL: str(MODELLED_REPLICA)}
        template = _template(role["template"], podset_labels,
                             {**annotations, ROLE_REPLICA_INDEX_ANNOTATION: str(MODELLED_REPLICA)}, ss, controller_wins=False)
        metadata["name"] = podset
        doc = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata,
               "spec": {"replicas": group_size, "serviceName": ss, "template": template}}
        roleset_env = _roleset_env(ss, roleset, roleset_index, role_name, MODELLED_REPLICA)
        pods = AibrixPods(lambda j: f"{podset}-{j}",
                          lambda j: {PODSET_NAME_LABEL: podset, POD_GROUP_INDEX_LABEL: str(j)},
                          lambda j: {"PODSET_NAME": podset, "POD_GROUP_INDEX": str(j), "POD_GROUP_SIZE": str(group_size),
                                     **roleset_env}, ss)
        shown_kind = "PodSet"
    elif role.get("stateful") is True:
        template = _template(role["template"], common, annotations, ss, controller_wins=True)
        metadata["name"] = f"{roleset}-{role_name}-{HASH_STAND_IN}"
        doc = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata,
               "spec": {"replicas": replicas, "serviceName": ss, "template": template}}
        pods = AibrixPods(lambda j: f"{metadata['name']}-{j}", lambda j: {ROLE_REPLICA_INDEX_LABEL: str(j)},
                          lambda j: _roleset_env(ss, roleset, roleset_index, role_name, j), ss)
    else:
        template = _template(role["template"], common, annotations, ss, controller_wins=True)
        doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
               "spec": {"replicas": replicas, "template": template}}
        pods = AibrixPods(lambda j: f"{metadata['name']}-<random>", lambda j: {},
                          lambda j: _roleset_env(ss, roleset, roleset_index, role_name, None), ss)
    return DerivedObject(
        doc, obj.index, obj.origin, parent=obj, label=f"role {role_name}", pods_by=pods, shown_kind=shown_kind,
        path_map=((("spec", "template"), at + ("template",)), (("metadata", "name"), at + ("name",)), (("spec",), at), ((), at)),
    )


def _service(obj: K8sObject) -> DerivedObject:
    metadata = {"name": obj.name, "labels": {STORM_SERVICE_NAME_LABEL: obj.name}}
    if obj.namespace:
        metadata["namespace"] = obj.namespace
    doc = {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": {
        "clusterIP": "None", "publishNotReadyAddresses": True, "selector": {STORM_SERVICE_NAME_LABEL: obj.name}}}
    return DerivedObject(doc, obj.index, obj.origin, parent=obj, label="headless Service", path_map=(((), ("metadata", "name")),))


def expand(obj: K8sObject) -> list[DerivedObject]:
    """The pods of every well-formed role of RoleSet 0, and the headless Service (malformed roles are
    the schema rule's to report)."""
    spec = _mapping(obj.doc.get("spec"))
    roles = _mapping(_mapping(spec.get("template")).get("spec")).get("roles")
    out = []
    for i, role in enumerate(roles if isinstance(roles, list) else []):
        if isinstance(role, dict) and isinstance(role.get("name"), str) and isinstance(role.get("template"), dict):
            out.append(role_object(obj, ("spec", "template", "spec", "roles", i), role, obj.name, roleset_name(obj.name),
                                   str(MODELLED_ROLESET)))
    if obj.name:
        out.append(_service(obj))
    return out
