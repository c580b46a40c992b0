"""LWS DisaggregatedSet (disaggregatedset.x-k8s.io/v1, LWS >= v0.9.0): one LeaderWorkerSet per role.

What the DisaggregatedSet controller does with `spec.roles[i]` (kubernetes-sigs/lws, read at
2341d10 pkg/controllers/disaggregatedset/lws_manager.go `Create`, 0006cae
pkg/utils/disaggregatedset/utils.go, 005f9f1 pkg/controllers/disaggregatedset/service_manager.go;
the CRD is ../shared/reference/lws-crd-disaggregatedsets.yaml, upstream main at 060ab4d):
- it creates a LeaderWorkerSet `<ds>-<slice>-<revision>-<role>` in the DisaggregatedSet's namespace
  whose spec is the role's `spec` (replicas: the role's, default 1), labelled with the role's
  `metadata.labels` plus the system labels below, annotated with the role's `metadata.annotations`;
- it merges the system labels `app: <ds>-<slice>-<role>`, `disaggregatedset.x-k8s.io/name`, `role`,
  `slice` and `revision` into the worker template's labels and, when there is one, the leader
  template's (system labels win); it injects no env and no args: LWS_LEADER_ADDRESS, LWS_GROUP_SIZE and
  LWS_WORKER_INDEX come from the LWS controller, as for any LWS (the model adds them);
- `<revision>` is the first 8 hex digits of a sha256 over Go's JSON encoding of every role's name and
  leaderWorkerTemplate (ComputeRevision). pdcheck cannot reproduce Go's encoding, so it writes the
  8-letter stand-in `revision`: names keep their real length (name-length rules stay exact), and a
  rollout renames every LWS anyway, so no configuration can depend on the real value;
- `spec.slices` (default 1) makes that many identical copies of every role; pdcheck models slice 0
  (the copies run the same templates);
- the LWS controller then creates the LWS's headless Service `<lws>` (per-pod DNS, LWS_LEADER_ADDRESS),
  which the router helpers resolve as for any LWS. The DisaggregatedSet controller also creates a
  headless Service `<lws>-prv` per role (service_manager.go); it is named after the revision, so no
  static configuration can name it and it is not modelled.
Placement affinity (`spec.placementPolicy`) only steers scheduling and is not modelled.
"""

from __future__ import annotations

from ..objects import DerivedObject, K8sObject

KIND = "DisaggregatedSet"
API_VERSIONS = ("disaggregatedset.x-k8s.io/v1",)

LABEL_PREFIX = "disaggregatedset.x-k8s.io/"
NAME_LABEL = LABEL_PREFIX + "name"
ROLE_LABEL = LABEL_PREFIX + "role"
SLICE_LABEL = LABEL_PREFIX + "slice"
REVISION_LABEL = LABEL_PREFIX + "revision"
REVISION_STAND_IN = "revision"  # 8 characters, like the real hash
MODELLED_SLICE = 0


def lws_name(ds_name: str, role: str, slice_index: int = MODELLED_SLICE) -> str:
    return f"{ds_name}-{slice_index}-{REVISION_STAND_IN}-{role}"


def system_labels(ds_name: str, role: str, slice_index: int = MODELLED_SLICE) -> dict[str, str]:
    return {
        "app": f"{ds_name}-{slice_index}-{role}",
        ROLE_LABEL: role,
        SLICE_LABEL: str(slice_index),
        NAME_LABEL: ds_name,
        REVISION_LABEL: REVISION_STAND_IN,
    }


def _mapping(value) -> dict:
    return dict(value) if isinstance(value, dict) else {}


def _with_labels(template, labels: dict) -> dict:
    """A copy of a pod template whose metadata.labels has `labels` merged over the user's."""
    out = dict(template)
    metadata = _mapping(template.get("metadata"))
    metadata["labels"] = {**_mapping(metadata.get("labels")), **labels}
    out["metadata"] = metadata
    return out


def expand(obj: K8sObject) -> list[DerivedObject]:
    """The LeaderWorkerSet of every well-formed role (malformed ones are the schema rule's to report)."""
    spec = obj.doc.get("spec")
    roles = spec.get("roles") if isinstance(spec, dict) else None
    out = []
    for i, role in enumerate(roles if isinstance(roles, list) else []):
        if not isinstance(role, dict) or not isinstance(role.get("name"), str) or not isinstance(role.get("spec"), dict):
            continue
        role_name = role["name"]
        labels = system_labels(obj.name, role_name)
        lws_spec = dict(role["spec"])
        template = lws_spec.get("leaderWorkerTemplate")
        if isinstance(template, dict):
            template = dict(template)
            for key in ("workerTemplate", "leaderTemplate"):
                if isinstance(template.get(key), dict):
                    template[key] = _with_labels(template[key], labels)
            lws_spec["leaderWorkerTemplate"] = template
        role_meta = _mapping(role.get("metadata"))
        metadata = {"name": lws_name(obj.name, role_name), "labels": {**_mapping(role_meta.get("labels")), **labels}}
        if obj.namespace:
            metadata["namespace"] = obj.namespace
        if isinstance(role_meta.get("annotations"), dict):
            metadata["annotations"] = dict(role_meta["annotations"])
        doc = {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "metadata": metadata, "spec": lws_spec}
        at = ("spec", "roles", i)
        out.append(DerivedObject(
            doc, obj.index, obj.origin, parent=obj, label=f"role {role_name}",
            path_map=((("spec",), at + ("spec",)), (("metadata", "name"), at + ("name",)),
                      (("metadata",), at + ("metadata",)), ((), at)),
        ))
    return out
