"""Kubernetes semantics shared by rules of several categories: namespaces, selectors, probes,
privileges, the Kubernetes versions checked, and which volume a container path is read from.
(Router wiring is in _router.py, SGLang semantics in pdcheck/sglang.py.)"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass

from ..model import as_int, dig, known_at_render
from ._util import list_of


def ns_of(obj) -> str | None:
    """The object's namespace as written, None when unset."""
    return obj.namespace or None


def may_share_namespace(a: str | None, b: str | None) -> bool:
    """False only when both namespaces are set and differ: an object without one lands in the
    namespace it is applied to, which may be the other's. Use it where a match silences a finding
    (a PDB or HPA that may cover a workload) or where a wrong guess only costs a missed warning."""
    return not a or not b or a == b


def surely_share_namespace(a: str | None, b: str | None) -> bool:
    """True when both are set and equal, or both unset (applied together, they land in one
    namespace). Use it where a match raises a finding (a Service exposing a workload's pods)."""
    return (a or None) == (b or None)


def label_selector_matches(selector, labels: dict) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions) against pod labels. An empty
    selector matches everything (as for a PodDisruptionBudget in policy/v1); a malformed one nothing."""
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        return False
    if any(k not in labels or str(labels[k]) != str(v) for k, v in match_labels.items()):
        return False
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        return False
    for expr in expressions:
        if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
            return False
        key, op = expr.get("key"), expr.get("operator")
        values = [str(v) for v in list_of(expr.get("values"))]
        present = key in labels
        value = str(labels.get(key)) if present else None
        if op == "In" and not (present and value in values):
            return False
        if op == "NotIn" and present and value in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def map_selector_match(selector, labels: dict) -> bool | None:
    """A plain map selector (a Service's, a router's --*-selector) against pod labels: True, False,
    or None when it only depends on labels whose values are known in the cluster alone (a
    controller's template hash: `<pod-template-hash>`). An empty or missing selector selects no
    pods (such a Service has manually managed endpoints)."""
    if not isinstance(selector, dict) or not selector:
        return False
    unsure = False
    for k, v in selector.items():
        if k not in labels:
            return False
        if not known_at_render(labels[k]) or not known_at_render(v):
            unsure = True
        elif str(labels[k]) != str(v):
            return False
    return None if unsure else True


def map_selector_matches(selector, labels: dict) -> bool:
    """True when the map selector surely matches the labels (see map_selector_match)."""
    return map_selector_match(selector, labels) is True


def privileged(c) -> bool:
    return dig(c.spec, "securityContext", "privileged") is True


PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "failureThreshold": 3}


def probe_budget(probe: dict) -> int | None:
    values = {}
    for key, default in PROBE_DEFAULTS.items():
        value = probe.get(key, default)
        values[key] = as_int(value)
        if values[key] is None:
            return None
    return values["initialDelaySeconds"] + values["periodSeconds"] * values["failureThreshold"]


def oldest_k8s_version(ctx) -> tuple[int, int] | None:
    """The oldest Kubernetes version checked (--k8s-version / .pdcheck.yaml k8s-versions, else
    pdcheck's default floor), as (major, minor)."""
    versions = []
    for text in getattr(ctx.schema, "k8s_versions", None) or []:
        parts = str(text).split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            versions.append((int(parts[0]), int(parts[1])))
    return min(versions) if versions else None


# ---------------------------------------------------------------------------------------------
# Files a container reads: a path through volumeMounts to the volume that holds it
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MountedSource:
    """Where a file path of a container comes from: `kind` is 'container-image' (no volume is
    mounted there: the container image's own file system) or the volume type ('hostPath',
    'persistentVolumeClaim', 'image', 'nfs', 'emptyDir', ...); `volume` identifies that volume
    (claim name, image reference, ...; the container's image for 'container-image', '' for a host
    path) and `path` is the file's path inside it (the full host path for 'hostPath')."""

    kind: str
    volume: str
    path: str

    @property
    def text(self) -> str:
        if self.kind == "container-image":
            return f"{self.path} inside the container image {self.volume}"
        if self.kind == "hostPath":
            return f"host path {self.path}"
        where = f"{self.kind} {self.volume}"
        return where + (f" at {self.path}" if self.path not in ("", "/") else "")

    @property
    def leaf(self) -> str:
        """The last component of the file's full location (the model's directory name), lower-case
        (a claim named after a checkpoint is a lower-case DNS name)."""
        full = self.path if self.kind in ("hostPath", "container-image") and self.path.strip("/") else f"{self.volume}/{self.path}"
        return (posixpath.basename(full.rstrip("/")) or full).lower()


# Volume fields that name the volume, per type (the rest, e.g. `type: Directory`, does not change
# what is read).
_VOLUME_IDENTITY = {
    "hostPath": ("path",),
    "persistentVolumeClaim": ("claimName",),
    "image": ("reference",),
    "nfs": ("server", "path"),
    "configMap": ("name",),
    "secret": ("secretName",),
}


def mounted_source(pod, c, path) -> MountedSource | None:
    """The volume (or the image) an absolute `path` of container `c` is read from, following the
    deepest volumeMount that holds it (mountPath, subPath); None when the path is not an absolute
    path known at render time, or the mount or volume cannot be resolved here."""
    if not isinstance(path, str) or not path.startswith("/") or not known_at_render(path):
        return None
    path = posixpath.normpath(path)
    best = None
    for m in list_of(c.spec.get("volumeMounts")):
        mount_path = m.get("mountPath") if isinstance(m, dict) else None
        if not isinstance(mount_path, str) or not mount_path.startswith("/"):
            continue
        mount_path = posixpath.normpath(mount_path)
        inside = path == mount_path or path.startswith(mount_path.rstrip("/") + "/")
        if inside and (best is None or len(mount_path) > len(best[1])):
            best = (m, mount_path)
    if best is None:
        return MountedSource("container-image", c.image, path)
    mount, mount_path = best
    if "subPathExpr" in mount:
        return None  # expanded per pod by kubelet
    rest = posixpath.relpath(path, mount_path)
    sub = mount.get("subPath") if isinstance(mount.get("subPath"), str) else ""
    inner = posixpath.normpath(posixpath.join(sub, "" if rest == "." else rest))
    inner = "" if inner == "." else inner
    volume = next((v for v in list_of(pod.spec.get("volumes"))
                   if isinstance(v, dict) and v.get("name") == mount.get("name")), None)
    if volume is None:
        claims = list_of(dig(pod.workload.obj.doc, "spec", "volumeClaimTemplates"))
        if any(dig(t, "metadata", "name") == mount.get("name") for t in claims if isinstance(t, dict)):
            # a StatefulSet's per-pod claim: every pod its own copy, created from one template
            return MountedSource("volumeClaimTemplate", str(mount.get("name")), inner)
        return None
    kind = next((k for k in volume if k != "name"), None)
    if kind is None or not isinstance(volume.get(kind), dict):
        return None
    source = volume[kind]
    fields = _VOLUME_IDENTITY.get(kind)
    if fields:
        ident = " ".join(str(source.get(f, "")) for f in fields)
    else:
        ident = json.dumps(source, sort_keys=True, default=str)
    if not known_at_render(ident):
        return None
    if kind == "hostPath":
        return MountedSource(kind, "", posixpath.normpath(posixpath.join(str(source.get("path", "/")), inner)))
    if kind == "emptyDir":
        ident = str(volume.get("name"))  # each pod's own, filled at start: the same by name
    return MountedSource(kind, ident, inner)
