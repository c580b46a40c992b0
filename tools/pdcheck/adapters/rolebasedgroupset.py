"""SGLang RoleBasedGroupSet (workloads.x-k8s.io v1alpha1 and v1alpha2): `spec.replicas` identical
RoleBasedGroups named `<set>-<index>`, labelled `rbg.workloads.x-k8s.io/groupset-name` and
`groupset-index` (sgl-project/rbg internal/controller/workloads/rolebasedgroupset_controller.go,
api/workloads/v1alpha{1,2}/rolebasedgroupset_types.go; ../shared/reference/wrappers/README.md).
The group spec is `spec.groupTemplate.spec` (v1alpha2) or `spec.template` (v1alpha1). pdcheck
models group 0 through the RoleBasedGroup adapter (the other groups run the same templates).
"""

from __future__ import annotations

from ..objects import K8sObject
from .rolebasedgroup import API_VERSIONS, expand_group, profiles_in

KIND = "RoleBasedGroupSet"
MODELLED_GROUP = 0


def expand(obj: K8sObject) -> list[K8sObject]:
    return expand_in_render(obj, [])


def expand_in_render(obj: K8sObject, objects: list[K8sObject]) -> list[K8sObject]:
    spec = obj.doc.get("spec") if isinstance(obj.doc.get("spec"), dict) else {}
    if obj.api_version.endswith("v1alpha2"):
        template = spec.get("groupTemplate") if isinstance(spec.get("groupTemplate"), dict) else {}
        group_spec, path = template.get("spec"), ("spec", "groupTemplate", "spec")
    else:
        group_spec, path = spec.get("template"), ("spec", "template")
    return expand_group(obj, f"{obj.name}-{MODELLED_GROUP}", group_spec, path, obj.api_version, profiles_in(objects))
