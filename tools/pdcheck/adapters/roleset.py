"""AIBrix RoleSet (orchestration.aibrix.ai/v1alpha1) applied on its own: the pods of its roles.

A RoleSet is normally made by a StormService (tools/pdcheck/adapters/stormservice.py, which models
it); applied alone, the RoleSet controller does the same with `spec.roles[]` (pkg/controller/roleset,
same commits as stormservice.py): the RoleSet is named by its own `metadata.name`, the StormService
name it writes into STORM_SERVICE_NAME, the storm-service-name label and the pods' subdomain is the
RoleSet's `storm-service-name` label (empty when it has none), and ROLESET_INDEX is its
roleset-index annotation (empty when it has none). No Service is created: that is the StormService
controller's.
"""

from __future__ import annotations

from ..objects import DerivedObject, K8sObject
from .stormservice import ROLESET_INDEX_ANNOTATION, STORM_SERVICE_NAME_LABEL, role_object

KIND = "RoleSet"
API_VERSIONS = ("orchestration.aibrix.ai/v1alpha1",)


def expand(obj: K8sObject) -> list[DerivedObject]:
    """The pods of every well-formed role (malformed ones are the schema rule's to report)."""
    spec = obj.doc.get("spec")
    roles = spec.get("roles") if isinstance(spec, dict) else None
    ss = obj.labels.get(STORM_SERVICE_NAME_LABEL)
    index = obj.annotations.get(ROLESET_INDEX_ANNOTATION)
    return [role_object(obj, ("spec", "roles", i), role, ss if isinstance(ss, str) else "", obj.name,
                        index if isinstance(index, str) else "")
            for i, role in enumerate(roles if isinstance(roles, list) else [])
            if isinstance(role, dict) and isinstance(role.get("name"), str) and isinstance(role.get("template"), dict)]
